//! The slice of libkrb5 this crate calls: declarations and the two structure layouts.

use std::ffi::{c_char, c_uint, c_void};

pub type krb5_error_code = i32;

macro_rules! opaque {
    ($($name:ident),*) => {$(
        #[repr(C)]
        pub struct $name {
            _private: [u8; 0],
            _not_send_sync: core::marker::PhantomData<*mut u8>,
        }
    )*};
}
opaque!(
    Context,
    Principal,
    Ccache,
    Keytab,
    InitCredsContext,
    TktCredsContext,
    GetInitCredsOpt
);

/// `krb5_data`.
#[repr(C)]
pub struct krb5_data {
    pub magic: i32,
    pub length: c_uint,
    pub data: *mut c_char,
}

impl krb5_data {
    pub fn empty() -> krb5_data {
        krb5_data {
            magic: 0,
            length: 0,
            data: std::ptr::null_mut(),
        }
    }
}

/// `krb5_keyblock`.
#[repr(C)]
pub struct krb5_keyblock {
    pub magic: i32,
    pub enctype: i32,
    pub length: c_uint,
    pub contents: *mut u8,
}

/// `krb5_enc_data`.
#[repr(C)]
pub struct krb5_enc_data {
    pub magic: i32,
    pub enctype: i32,
    pub kvno: c_uint,
    pub ciphertext: krb5_data,
}

/// `KRB5_GC_NO_STORE`: hand the service ticket back without storing it in the ccache.
pub const GC_NO_STORE: i32 = 8;

/// `krb5_ticket_times`.
#[repr(C)]
pub struct krb5_ticket_times {
    pub authtime: i32,
    pub starttime: i32,
    pub endtime: i32,
    pub renew_till: i32,
}

/// `krb5_creds`.
#[repr(C)]
pub struct krb5_creds {
    pub magic: i32,
    pub client: *mut Principal,
    pub server: *mut Principal,
    pub keyblock: krb5_keyblock,
    pub times: krb5_ticket_times,
    pub is_skey: c_uint,
    pub ticket_flags: i32,
    pub addresses: *mut *mut c_void,
    pub ticket: krb5_data,
    pub second_ticket: krb5_data,
    pub authdata: *mut *mut c_void,
}

impl krb5_creds {
    /// All fields zero / NULL, as MIT expects of an input or output structure.
    pub fn zeroed() -> krb5_creds {
        krb5_creds {
            magic: 0,
            client: std::ptr::null_mut(),
            server: std::ptr::null_mut(),
            keyblock: krb5_keyblock {
                magic: 0,
                enctype: 0,
                length: 0,
                contents: std::ptr::null_mut(),
            },
            times: krb5_ticket_times {
                authtime: 0,
                starttime: 0,
                endtime: 0,
                renew_till: 0,
            },
            is_skey: 0,
            ticket_flags: 0,
            addresses: std::ptr::null_mut(),
            ticket: krb5_data::empty(),
            second_ticket: krb5_data::empty(),
            authdata: std::ptr::null_mut(),
        }
    }
}

/// The same structures as `<krb5/krb5.h>` lays them out for the target being built, generated
/// by build.rs with bindgen. Only their layout is used, by the checks below.
#[allow(dead_code, non_snake_case, non_upper_case_globals, clippy::all)]
mod c {
    include!(concat!(env!("OUT_DIR"), "/krb5_layout.rs"));
}

/// Asserts at compile time that a hand-written structure has the size and alignment of its C
/// twin and each named field the same offset, on whatever target is being built.
macro_rules! same_layout {
    ($ours:ident, $($field:ident),+) => {
        const _: () = {
            use std::mem::{align_of, offset_of, size_of};
            assert!(size_of::<$ours>() == size_of::<c::$ours>());
            assert!(align_of::<$ours>() == align_of::<c::$ours>());
            $(assert!(offset_of!($ours, $field) == offset_of!(c::$ours, $field));)+
        };
    };
}
same_layout!(krb5_data, magic, length, data);
same_layout!(krb5_keyblock, magic, enctype, length, contents);
same_layout!(krb5_ticket_times, authtime, starttime, endtime, renew_till);
same_layout!(
    krb5_creds,
    magic,
    client,
    server,
    keyblock,
    times,
    is_skey,
    ticket_flags,
    addresses,
    ticket,
    second_ticket,
    authdata
);

// The figures on LP64 (x86_64, aarch64), as a reader checking the header by hand finds them.
#[cfg(target_pointer_width = "64")]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<krb5_data>() == 16);
    assert!(offset_of!(krb5_data, length) == 4);
    assert!(offset_of!(krb5_data, data) == 8);
    assert!(size_of::<krb5_keyblock>() == 24);
    assert!(offset_of!(krb5_keyblock, contents) == 16);
    assert!(size_of::<krb5_ticket_times>() == 16);
    assert!(size_of::<krb5_enc_data>() == 32);
    assert!(offset_of!(krb5_enc_data, kvno) == 8);
    assert!(offset_of!(krb5_enc_data, ciphertext) == 16);
    assert!(size_of::<krb5_creds>() == 120);
    assert!(offset_of!(krb5_creds, client) == 8);
    assert!(offset_of!(krb5_creds, server) == 16);
    assert!(offset_of!(krb5_creds, keyblock) == 24);
    assert!(offset_of!(krb5_creds, times) == 48);
    assert!(offset_of!(krb5_creds, is_skey) == 64);
    assert!(offset_of!(krb5_creds, ticket_flags) == 68);
    assert!(offset_of!(krb5_creds, addresses) == 72);
    assert!(offset_of!(krb5_creds, ticket) == 80);
    assert!(offset_of!(krb5_creds, second_ticket) == 96);
    assert!(offset_of!(krb5_creds, authdata) == 112);
};

/// `KRB5_INIT_CREDS_STEP_FLAG_CONTINUE` and `KRB5_TKT_CREDS_STEP_FLAG_CONTINUE`.
pub const STEP_FLAG_CONTINUE: c_uint = 0x1;

/// A prompter callback; never used (keytab logins do not prompt), always passed as NULL.
pub type krb5_prompter_fct = Option<unsafe extern "C" fn()>;

#[link(name = "krb5")]
unsafe extern "C" {
    pub fn krb5_init_context(context: *mut *mut Context) -> krb5_error_code;
    pub fn krb5_free_context(context: *mut Context);
    pub fn krb5_get_error_message(context: *mut Context, code: krb5_error_code) -> *const c_char;
    pub fn krb5_free_error_message(context: *mut Context, msg: *const c_char);

    pub fn krb5_parse_name(
        context: *mut Context,
        name: *const c_char,
        principal: *mut *mut Principal,
    ) -> krb5_error_code;
    pub fn krb5_free_principal(context: *mut Context, principal: *mut Principal);

    pub fn krb5_cc_resolve(
        context: *mut Context,
        name: *const c_char,
        cache: *mut *mut Ccache,
    ) -> krb5_error_code;
    pub fn krb5_cc_initialize(
        context: *mut Context,
        cache: *mut Ccache,
        principal: *mut Principal,
    ) -> krb5_error_code;
    pub fn krb5_cc_store_cred(
        context: *mut Context,
        cache: *mut Ccache,
        creds: *mut krb5_creds,
    ) -> krb5_error_code;
    pub fn krb5_cc_destroy(context: *mut Context, cache: *mut Ccache) -> krb5_error_code;

    pub fn krb5_kt_resolve(
        context: *mut Context,
        name: *const c_char,
        keytab: *mut *mut Keytab,
    ) -> krb5_error_code;
    pub fn krb5_kt_close(context: *mut Context, keytab: *mut Keytab) -> krb5_error_code;

    pub fn krb5_init_creds_init(
        context: *mut Context,
        client: *mut Principal,
        prompter: krb5_prompter_fct,
        data: *mut c_void,
        start_time: i32,
        options: *mut GetInitCredsOpt,
        ctx: *mut *mut InitCredsContext,
    ) -> krb5_error_code;
    pub fn krb5_init_creds_set_keytab(
        context: *mut Context,
        ctx: *mut InitCredsContext,
        keytab: *mut Keytab,
    ) -> krb5_error_code;
    pub fn krb5_init_creds_step(
        context: *mut Context,
        ctx: *mut InitCredsContext,
        input: *mut krb5_data,
        out: *mut krb5_data,
        realm: *mut krb5_data,
        flags: *mut c_uint,
    ) -> krb5_error_code;
    pub fn krb5_init_creds_get_creds(
        context: *mut Context,
        ctx: *mut InitCredsContext,
        creds: *mut krb5_creds,
    ) -> krb5_error_code;
    pub fn krb5_init_creds_free(context: *mut Context, ctx: *mut InitCredsContext);

    pub fn krb5_tkt_creds_init(
        context: *mut Context,
        ccache: *mut Ccache,
        creds: *mut krb5_creds,
        options: i32,
        ctx: *mut *mut TktCredsContext,
    ) -> krb5_error_code;
    pub fn krb5_tkt_creds_step(
        context: *mut Context,
        ctx: *mut TktCredsContext,
        input: *mut krb5_data,
        out: *mut krb5_data,
        realm: *mut krb5_data,
        flags: *mut c_uint,
    ) -> krb5_error_code;
    pub fn krb5_tkt_creds_free(context: *mut Context, ctx: *mut TktCredsContext);

    pub fn krb5_tkt_creds_get_creds(
        context: *mut Context,
        ctx: *mut TktCredsContext,
        creds: *mut krb5_creds,
    ) -> krb5_error_code;

    pub fn krb5_free_cred_contents(context: *mut Context, creds: *mut krb5_creds);
    pub fn krb5_free_data_contents(context: *mut Context, data: *mut krb5_data);
}

// The crypto half of MIT krb5 (libk5crypto, a dependency of libkrb5 in every distribution).
#[link(name = "k5crypto")]
unsafe extern "C" {
    pub fn krb5_c_encrypt_length(
        context: *mut Context,
        enctype: i32,
        inputlen: usize,
        length: *mut usize,
    ) -> krb5_error_code;
    pub fn krb5_c_encrypt(
        context: *mut Context,
        key: *const krb5_keyblock,
        usage: i32,
        cipher_state: *const krb5_data,
        input: *const krb5_data,
        output: *mut krb5_enc_data,
    ) -> krb5_error_code;
    pub fn krb5_c_decrypt(
        context: *mut Context,
        key: *const krb5_keyblock,
        usage: i32,
        cipher_state: *const krb5_data,
        input: *const krb5_enc_data,
        output: *mut krb5_data,
    ) -> krb5_error_code;
}
