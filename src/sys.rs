//! The one module allowed to call C directly: MIT Kerberos (libkrb5) and GSSAPI.
//!
//! [`Login`] is one host login against one domain controller: its own krb5 context and a private
//! `MEMORY:` ccache. The initial ticket (AS) and the `ldap/<dc>` service ticket (TGS) are obtained
//! with MIT's step API (`krb5_init_creds_step`, `krb5_tkt_creds_step`): libkrb5 builds and checks
//! every message, and the caller carries the bytes to the KDC it has chosen. MIT's own KDC
//! location (krb5.conf `[realms]`, DNS SRV/URI lookups, locator plugins, UDP first) is never
//! used, so the KDC is exactly the DC the caller talks LDAP to.
//!
//! [`Login::gss_cred`] then gives GSSAPI an initiator credential over that same ccache with
//! `gss_acquire_cred_from`, so `gss_init_sec_context` finds the service ticket in the cache and
//! needs no KDC traffic of its own. No process environment variable is set, nothing is written
//! to disk, and the default ccache of the user (or of root) is never read, created or
//! overwritten. Dropping the [`Login`] destroys the ccache, so no ticket lingers in memory.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use libgssapi::credential::Cred;
use libgssapi_sys as ffi;
use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

/// DER body of the Kerberos v5 mechanism OID, 1.2.840.113554.1.2.2 (RFC 1964).
const KRB5_MECH_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// DER body of GSS_KRB5_NT_PRINCIPAL_NAME, 1.2.840.113554.1.2.2.1: the name is parsed exactly
/// as `krb5_parse_name` does, with no host name canonicalization.
const KRB5_NT_PRINCIPAL_OID: [u8; 10] =
    [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01];

/// The slice of libkrb5 (MIT 1.20, `<krb5/krb5.h>`) this module uses. Handles are opaque; the
/// only structures laid out here are `krb5_data` and `krb5_creds`, checked against the C
/// layout below.
#[allow(non_camel_case_types)]
mod krb5 {
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

    // The C layout on LP64 targets (offsetof/sizeof from <krb5/krb5.h>, MIT 1.20).
    #[cfg(target_pointer_width = "64")]
    const _: () = {
        use std::mem::{offset_of, size_of};
        assert!(size_of::<krb5_data>() == 16);
        assert!(offset_of!(krb5_data, length) == 4);
        assert!(offset_of!(krb5_data, data) == 8);
        assert!(size_of::<krb5_keyblock>() == 24);
        assert!(offset_of!(krb5_keyblock, contents) == 16);
        assert!(size_of::<krb5_ticket_times>() == 16);
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
        pub fn krb5_get_error_message(
            context: *mut Context,
            code: krb5_error_code,
        ) -> *const c_char;
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

        pub fn krb5_free_cred_contents(context: *mut Context, creds: *mut krb5_creds);
        pub fn krb5_free_data_contents(context: *mut Context, data: *mut krb5_data);
    }
}

/// Kerberos error codes (com_err table `krb5`, `<krb5/krb5.h>`) the directory client tells apart.
pub mod krb5_codes {
    pub const KDC_ERR_C_PRINCIPAL_UNKNOWN: i32 = -1765328378;
    pub const KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = -1765328377;
    pub const KDC_ERR_POLICY: i32 = -1765328372;
    pub const KDC_ERR_ETYPE_NOSUPP: i32 = -1765328370;
    pub const KDC_ERR_CLIENT_REVOKED: i32 = -1765328366;
    pub const KDC_ERR_CLIENT_NOTYET: i32 = -1765328363;
    pub const KDC_ERR_KEY_EXP: i32 = -1765328361;
    pub const KDC_ERR_PREAUTH_FAILED: i32 = -1765328360;
    pub const AP_ERR_BAD_INTEGRITY: i32 = -1765328353;
    pub const AP_ERR_SKEW: i32 = -1765328347;
    pub const KDCREP_SKEW: i32 = -1765328236;
    pub const KDC_UNREACH: i32 = -1765328228;
    pub const KT_BADNAME: i32 = -1765328205;
    pub const KT_UNKNOWN_TYPE: i32 = -1765328204;
    pub const KT_NOTFOUND: i32 = -1765328203;
    pub const PREAUTH_FAILED: i32 = -1765328174;
    pub const KT_KVNONOTFOUND: i32 = -1765328154;
}

/// A failed libkrb5 call, with MIT's (possibly extended) message for the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call}: {message}")]
pub struct KrbError {
    pub call: &'static str,
    /// The com_err code (`krb5_error_code`), or 0 for a failure found on this side.
    pub code: i32,
    /// `krb5_get_error_message` text.
    pub message: String,
}

/// A failed GSSAPI call, with MIT's own text for both status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call}: {message}")]
pub struct GssError {
    pub call: &'static str,
    pub major: u32,
    pub minor: u32,
    /// `gss_display_status` text for the major code, then the mechanism's text for the minor one.
    pub message: String,
}

/// What a Kerberos exchange wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send `request` to a KDC of `realm` and feed its reply to the next step.
    Send { request: Vec<u8>, realm: String },
    /// The exchange is complete; [`Exchange::finish`] puts its ticket in the ccache.
    Done,
}

/// One host login: a krb5 context of its own and a private `MEMORY:` ccache, destroyed (tickets
/// and keys wiped by libkrb5) on drop.
pub struct Login {
    ctx: *mut krb5::Context,
    client: *mut krb5::Principal,
    ccache: *mut krb5::Ccache,
    ccache_name: CString,
    principal: String,
}

// SAFETY: a Login exclusively owns its krb5 context, principal and ccache handle; none of them is
// shared with another Login or reachable from elsewhere. MIT permits a krb5_context (and the
// objects made with it) to be used from any thread as long as it is used by one thread at a
// time; moving the owner between threads preserves that, and Login is not Sync.
unsafe impl Send for Login {}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("principal", &self.principal)
            .field("ccache", &self.ccache_name)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// A fresh context (reading the krb5 profile as usual, e.g. `KRB5_CONFIG`, for enctypes,
    /// clock-skew and KDC time-sync settings) and an empty private ccache for `principal`.
    pub fn new(principal: &str) -> Result<Login, KrbError> {
        let local = |call, message: &str| KrbError {
            call,
            code: 0,
            message: message.to_string(),
        };
        let principal_c = CString::new(principal)
            .map_err(|_| local("krb5_parse_name", "the principal contains a NUL byte"))?;
        let ccache_name =
            CString::new(memory_ccache_name().map_err(|e| local("krb5_cc_resolve", &e))?)
                .map_err(|_| local("krb5_cc_resolve", "ccache name contains a NUL byte"))?;

        let mut ctx: *mut krb5::Context = ptr::null_mut();
        // SAFETY: `ctx` is a valid out-pointer; on failure MIT leaves it NULL (or a context we
        // must not use), on success it is ours to free with krb5_free_context.
        let code = unsafe { krb5::krb5_init_context(&mut ctx) };
        if code != 0 {
            // A NULL context is allowed here: MIT then gives the plain com_err text.
            return Err(error_from(ptr::null_mut(), "krb5_init_context", code));
        }
        // From here on, Drop frees whatever is non-NULL.
        let mut login = Login {
            ctx,
            client: ptr::null_mut(),
            ccache: ptr::null_mut(),
            ccache_name,
            principal: principal.to_string(),
        };
        let mut client: *mut krb5::Principal = ptr::null_mut();
        // SAFETY: `login.ctx` is a live context; `principal_c` is a NUL-terminated string alive
        // for the call; `client` is a valid out-pointer, owned by us on success.
        let code = unsafe { krb5::krb5_parse_name(login.ctx, principal_c.as_ptr(), &mut client) };
        if code != 0 {
            return Err(login.error("krb5_parse_name", code));
        }
        login.client = client;
        let mut ccache: *mut krb5::Ccache = ptr::null_mut();
        // SAFETY: as above; `ccache_name` is NUL-terminated and alive; the handle returned is
        // ours and is destroyed (which also closes it) in Drop.
        let code =
            unsafe { krb5::krb5_cc_resolve(login.ctx, login.ccache_name.as_ptr(), &mut ccache) };
        if code != 0 {
            return Err(login.error("krb5_cc_resolve", code));
        }
        login.ccache = ccache;
        Ok(login)
    }

    /// The ccache name, `MEMORY:gmsa-keytab-<pid>-<random>`.
    pub fn ccache_name(&self) -> &str {
        // Built from a Rust String in `new`, so always UTF-8.
        self.ccache_name.to_str().unwrap_or("MEMORY:?")
    }

    /// The client principal, as given to [`Login::new`].
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// Starts the AS exchange for the client principal with its keys from `client_keytab`.
    pub fn initial_exchange(&self, client_keytab: &Path) -> Result<Exchange<'_>, KrbError> {
        let name = keytab_name(client_keytab).ok_or_else(|| KrbError {
            call: "krb5_kt_resolve",
            code: 0,
            message: "the client keytab path contains a NUL byte".into(),
        })?;
        let mut keytab: *mut krb5::Keytab = ptr::null_mut();
        // SAFETY: live context, NUL-terminated name alive for the call, valid out-pointer; the
        // handle is ours on success and is owned (closed on drop) by the Exchange built below
        // on every path.
        let code = unsafe { krb5::krb5_kt_resolve(self.ctx, name.as_ptr(), &mut keytab) };
        if code != 0 {
            return Err(self.error("krb5_kt_resolve", code));
        }
        let mut ictx: *mut krb5::InitCredsContext = ptr::null_mut();
        // SAFETY: live context and client principal (copied by MIT); NULL prompter, prompter
        // data and options are documented as "none"/"defaults"; `ictx` is a valid out-pointer.
        let code = unsafe {
            krb5::krb5_init_creds_init(
                self.ctx,
                self.client,
                None,
                ptr::null_mut(),
                0,
                ptr::null_mut(),
                &mut ictx,
            )
        };
        // The Exchange owns both handles from here (Drop frees what is non-NULL).
        let exchange = Exchange {
            login: self,
            kind: Kind::Initial { ictx, keytab },
        };
        if code != 0 {
            let err = self.error("krb5_init_creds_init", code);
            drop(exchange);
            return Err(err);
        }
        // SAFETY: `ictx` was created with this context above; `keytab` is a live handle that
        // MIT keeps a pointer to (not a copy): the Exchange closes it only after freeing `ictx`.
        let code = unsafe { krb5::krb5_init_creds_set_keytab(self.ctx, ictx, keytab) };
        if code != 0 {
            let err = self.error("krb5_init_creds_set_keytab", code);
            drop(exchange);
            return Err(err);
        }
        Ok(exchange)
    }

    /// Starts the TGS exchange for `service` (e.g. `ldap/dc1.example.test@EXAMPLE.TEST`) with
    /// the initial ticket in the ccache. The ticket obtained is stored in the ccache by libkrb5.
    pub fn service_exchange(&self, service: &str) -> Result<Exchange<'_>, KrbError> {
        let name = CString::new(service).map_err(|_| KrbError {
            call: "krb5_parse_name",
            code: 0,
            message: "the service principal contains a NUL byte".into(),
        })?;
        let mut server: *mut krb5::Principal = ptr::null_mut();
        // SAFETY: live context, NUL-terminated name alive for the call, valid out-pointer; the
        // principal is ours and is freed by the Exchange's Drop (after the TGS context).
        let code = unsafe { krb5::krb5_parse_name(self.ctx, name.as_ptr(), &mut server) };
        if code != 0 {
            return Err(self.error("krb5_parse_name", code));
        }
        let mut exchange = Exchange {
            login: self,
            kind: Kind::Service {
                tctx: ptr::null_mut(),
                server,
            },
        };
        let mut in_creds = krb5::krb5_creds::zeroed();
        in_creds.client = self.client;
        in_creds.server = server;
        let mut tctx: *mut krb5::TktCredsContext = ptr::null_mut();
        // SAFETY: live context and ccache; `in_creds` is a zeroed krb5_creds (layout checked
        // above) whose client and server point at live principals; MIT copies what it keeps.
        // Options 0: look in the ccache first, then ask the TGS, and store the result.
        let code = unsafe {
            krb5::krb5_tkt_creds_init(self.ctx, self.ccache, &mut in_creds, 0, &mut tctx)
        };
        if let Kind::Service { tctx: slot, .. } = &mut exchange.kind {
            *slot = tctx;
        }
        if code != 0 {
            let err = self.error("krb5_tkt_creds_init", code);
            drop(exchange);
            return Err(err);
        }
        Ok(exchange)
    }

    /// A GSSAPI initiator credential over this login's ccache. `client_keytab` is named in the
    /// credential store as well, so MIT can renew the initial ticket itself should it expire.
    pub fn gss_cred(&self, client_keytab: &Path) -> Result<Cred, GssError> {
        acquire_cred_from(&self.principal, client_keytab, &self.ccache_name)
    }

    /// The message MIT recorded on this context for the failure `code` of `call`.
    fn error(&self, call: &'static str, code: i32) -> KrbError {
        error_from(self.ctx, call, code)
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        if !self.ccache.is_null() {
            // SAFETY: `ccache` is our live handle, made with `ctx`; krb5_cc_destroy empties the
            // MEMORY cache (freeing tickets and wiping keys), removes it from the process table
            // and closes the handle, whatever it returns. It is not used again.
            unsafe { krb5::krb5_cc_destroy(self.ctx, self.ccache) };
            self.ccache = ptr::null_mut();
        }
        if !self.client.is_null() {
            // SAFETY: `client` came from krb5_parse_name with `ctx` and is freed once.
            unsafe { krb5::krb5_free_principal(self.ctx, self.client) };
            self.client = ptr::null_mut();
        }
        if !self.ctx.is_null() {
            // SAFETY: every object made with `ctx` (Exchanges borrow the Login, so they are gone)
            // has been freed above; the context is freed once.
            unsafe { krb5::krb5_free_context(self.ctx) };
            self.ctx = ptr::null_mut();
        }
    }
}

enum Kind {
    Initial {
        ictx: *mut krb5::InitCredsContext,
        keytab: *mut krb5::Keytab,
    },
    Service {
        tctx: *mut krb5::TktCredsContext,
        server: *mut krb5::Principal,
    },
}

/// One AS or TGS exchange of a [`Login`], driven by the caller with [`Exchange::step`].
pub struct Exchange<'a> {
    login: &'a Login,
    kind: Kind,
}

impl Exchange<'_> {
    /// Feeds the KDC's `reply` to the previous request (None on the first call) and says what
    /// to send next. Errors are the exchange's failure (KDC error, wrong key, skew, …).
    pub fn step(&mut self, reply: Option<&[u8]>) -> Result<Step, KrbError> {
        let reply = reply.unwrap_or(&[]);
        let length = c_uint::try_from(reply.len()).map_err(|_| KrbError {
            call: "krb5_init_creds_step",
            code: 0,
            message: "KDC reply too large".into(),
        })?;
        let mut input = krb5::krb5_data {
            magic: 0,
            length,
            data: if reply.is_empty() {
                ptr::null_mut()
            } else {
                reply.as_ptr() as *mut c_char
            },
        };
        let mut out = krb5::krb5_data::empty();
        let mut realm = krb5::krb5_data::empty();
        let mut flags: c_uint = 0;
        let ctx = self.login.ctx;
        let (call, code) = match &self.kind {
            Kind::Initial { ictx, .. } => (
                "krb5_init_creds_step",
                // SAFETY: `ictx` is live and belongs to `ctx`; `input` points at `reply`, which
                // MIT only reads (the parameter is not const in the C prototype, but the step
                // decodes it into new structures); `out`, `realm` and `flags` are valid
                // out-pointers whose contents we free below.
                unsafe {
                    krb5::krb5_init_creds_step(
                        ctx, *ictx, &mut input, &mut out, &mut realm, &mut flags,
                    )
                },
            ),
            Kind::Service { tctx, .. } => (
                "krb5_tkt_creds_step",
                // SAFETY: as above, with the TGS context `tctx` made with `ctx`.
                unsafe {
                    krb5::krb5_tkt_creds_step(
                        ctx, *tctx, &mut input, &mut out, &mut realm, &mut flags,
                    )
                },
            ),
        };
        // Copy out before freeing, on every path.
        let result = if code != 0 {
            Err(self.login.error(call, code))
        } else if flags & krb5::STEP_FLAG_CONTINUE != 0 {
            // SAFETY: on success MIT filled `out` and `realm` with `length` bytes each at `data`
            // (or left them empty); `data_bytes` copies them before they are freed.
            let (request, realm_bytes) = unsafe { (data_bytes(&out), data_bytes(&realm)) };
            Ok(Step::Send {
                request,
                realm: String::from_utf8_lossy(&realm_bytes).into_owned(),
            })
        } else {
            Ok(Step::Done)
        };
        // SAFETY: `out` and `realm` are either empty (NULL data; a no-op) or were allocated by
        // libkrb5 for us; each is freed once and not used again.
        unsafe {
            krb5::krb5_free_data_contents(ctx, &mut out);
            krb5::krb5_free_data_contents(ctx, &mut realm);
        }
        result
    }

    /// After [`Step::Done`]: puts the result in the ccache. For the initial exchange the ccache
    /// is (re)initialized for the client first; the service ticket was stored by libkrb5 when
    /// the exchange completed.
    pub fn finish(self) -> Result<(), KrbError> {
        let login = self.login;
        let Kind::Initial { ictx, .. } = &self.kind else {
            return Ok(());
        };
        let mut creds = krb5::krb5_creds::zeroed();
        // SAFETY: `ictx` is live; `creds` is a zeroed krb5_creds (layout checked above) that MIT
        // fills with copies we own and free below.
        let code = unsafe { krb5::krb5_init_creds_get_creds(login.ctx, *ictx, &mut creds) };
        if code != 0 {
            return Err(login.error("krb5_init_creds_get_creds", code));
        }
        // SAFETY: live context and ccache; `creds.client` is the client principal MIT just
        // copied into `creds`. krb5_cc_initialize also records the KDC time offset (if the
        // context learned one) in the MEMORY cache, where GSSAPI's own context picks it up.
        let mut code = unsafe { krb5::krb5_cc_initialize(login.ctx, login.ccache, creds.client) };
        let mut call = "krb5_cc_initialize";
        if code == 0 {
            // SAFETY: live context and ccache; `creds` is a complete credential; the MEMORY
            // cache stores its own copy.
            code = unsafe { krb5::krb5_cc_store_cred(login.ctx, login.ccache, &mut creds) };
            call = "krb5_cc_store_cred";
        }
        let result = if code != 0 {
            Err(login.error(call, code))
        } else {
            Ok(())
        };
        // SAFETY: `creds` holds only what krb5_init_creds_get_creds allocated; freed once (MIT
        // wipes the session key).
        unsafe { krb5::krb5_free_cred_contents(login.ctx, &mut creds) };
        result
    }
}

impl Drop for Exchange<'_> {
    fn drop(&mut self) {
        let ctx = self.login.ctx;
        match &mut self.kind {
            Kind::Initial { ictx, keytab } => {
                if !ictx.is_null() {
                    // SAFETY: `ictx` was made with `ctx` and is freed once, before the keytab
                    // it points at.
                    unsafe { krb5::krb5_init_creds_free(ctx, *ictx) };
                    *ictx = ptr::null_mut();
                }
                if !keytab.is_null() {
                    // SAFETY: `keytab` came from krb5_kt_resolve with `ctx`; no init-creds
                    // context refers to it any more; closed once.
                    unsafe { krb5::krb5_kt_close(ctx, *keytab) };
                    *keytab = ptr::null_mut();
                }
            }
            Kind::Service { tctx, server } => {
                if !tctx.is_null() {
                    // SAFETY: `tctx` was made with `ctx` and is freed once.
                    unsafe { krb5::krb5_tkt_creds_free(ctx, *tctx) };
                    *tctx = ptr::null_mut();
                }
                if !server.is_null() {
                    // SAFETY: `server` came from krb5_parse_name with `ctx`; the TGS context
                    // that was given it is freed above; freed once.
                    unsafe { krb5::krb5_free_principal(ctx, *server) };
                    *server = ptr::null_mut();
                }
            }
        }
    }
}

/// Copies the bytes of a `krb5_data`.
///
/// # Safety
/// `d.data` must be NULL or point at `d.length` readable bytes.
unsafe fn data_bytes(d: &krb5::krb5_data) -> Vec<u8> {
    if d.data.is_null() || d.length == 0 {
        return Vec::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(d.data as *const u8, d.length as usize) }.to_vec()
}

/// `krb5_get_error_message` for `code` on `ctx` (which may be NULL), freed after copying.
fn error_from(ctx: *mut krb5::Context, call: &'static str, code: i32) -> KrbError {
    // SAFETY: `ctx` is NULL or a live context; MIT documents that the result is never NULL.
    let msg = unsafe { krb5::krb5_get_error_message(ctx, code) };
    let message = if msg.is_null() {
        format!("Kerberos error {code}")
    } else {
        // SAFETY: a non-NULL result is a NUL-terminated string owned by libkrb5 until freed
        // below; it is copied first.
        let text = unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: `msg` came from krb5_get_error_message with this same `ctx`; freed once.
        unsafe { krb5::krb5_free_error_message(ctx, msg) };
        text
    };
    KrbError {
        call,
        code,
        message,
    }
}

/// The keytab name for `krb5_kt_resolve`: `FILE:<path>`, so a path with a colon is not taken
/// for a `TYPE:residual` name.
fn keytab_name(path: &Path) -> Option<CString> {
    let mut bytes = b"FILE:".to_vec();
    bytes.extend_from_slice(path.as_os_str().as_bytes());
    CString::new(bytes).ok()
}

/// An initiator credential for `principal` over the ccache `ccache` (a `MEMORY:` name), with
/// `client_keytab` in the store so that MIT may refresh the initial ticket from it.
fn acquire_cred_from(
    principal: &str,
    client_keytab: &Path,
    ccache: &CStr,
) -> Result<Cred, GssError> {
    let local = |what: &str| GssError {
        call: "gss_acquire_cred_from",
        major: 0,
        minor: 0,
        message: what.to_string(),
    };
    let keytab = CString::new(client_keytab.as_os_str().as_bytes())
        .map_err(|_| local("the client keytab path contains a NUL byte"))?;
    let mut principal_bytes = principal.as_bytes().to_vec();

    let mut mech_oid = ffi::gss_OID_desc {
        length: KRB5_MECH_OID.len() as u32,
        elements: KRB5_MECH_OID.as_ptr() as *mut c_void,
    };
    let mut mechs = ffi::gss_OID_set_desc {
        count: 1,
        elements: &mut mech_oid,
    };
    let mut name_type = ffi::gss_OID_desc {
        length: KRB5_NT_PRINCIPAL_OID.len() as u32,
        elements: KRB5_NT_PRINCIPAL_OID.as_ptr() as *mut c_void,
    };
    let mut store_elements = [
        ffi::gss_key_value_element_desc {
            key: c"client_keytab".as_ptr(),
            value: keytab.as_ptr(),
        },
        ffi::gss_key_value_element_desc {
            key: c"ccache".as_ptr(),
            value: ccache.as_ptr(),
        },
    ];
    let store = ffi::gss_key_value_set_desc {
        count: store_elements.len() as u32,
        elements: store_elements.as_mut_ptr(),
    };

    let mut name_buf = ffi::gss_buffer_desc {
        length: principal_bytes.len(),
        value: principal_bytes.as_mut_ptr() as *mut c_void,
    };
    let mut minor: u32 = 0;
    let mut name: ffi::gss_name_t = ptr::null_mut();
    // SAFETY: `name_buf` points at `principal_bytes`, alive and unmoved for the whole call;
    // `name_type` is a valid OID descriptor on the stack whose elements point at a static array;
    // `minor` and `name` are valid out-pointers. gss_import_name copies what it needs.
    let major =
        unsafe { ffi::gss_import_name(&mut minor, &mut name_buf, &mut name_type, &mut name) };
    if major != 0 {
        return Err(status_error("gss_import_name", major, minor));
    }

    let mut cred: ffi::gss_cred_id_t = ptr::null_mut();
    // SAFETY: every pointer refers to a live local: `name` was produced by gss_import_name above;
    // `mechs` points at `mech_oid` (static OID bytes); `store` points at `store_elements`, whose
    // strings are owned by `keytab`, `ccache` (borrowed from the caller for the call) and C
    // string literals; `cred` is a valid out-pointer; actual_mechs and time_rec may be NULL per
    // RFC 2744 / MIT.
    let major = unsafe {
        ffi::gss_acquire_cred_from(
            &mut minor,
            name,
            ffi::_GSS_C_INDEFINITE,
            &mut mechs,
            ffi::GSS_C_INITIATE as ffi::gss_cred_usage_t,
            &store,
            &mut cred,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    let acquire_minor = minor;
    let mut release_minor: u32 = 0;
    // SAFETY: `name` came from a successful gss_import_name and is released exactly once here;
    // gss_release_name sets it to GSS_C_NO_NAME.
    unsafe { ffi::gss_release_name(&mut release_minor, &mut name) };
    if major != 0 {
        if !cred.is_null() {
            // SAFETY: a non-null handle returned by the failed call is ours to release, once.
            unsafe { ffi::gss_release_cred(&mut release_minor, &mut cred) };
        }
        return Err(status_error("gss_acquire_cred_from", major, acquire_minor));
    }
    if cred.is_null() {
        return Err(local("returned success but no credential"));
    }
    // `Cred` takes ownership of the handle and releases it on drop.
    Ok(Cred::from(cred))
}

/// `MEMORY:gmsa-keytab-<pid>-<random>`: unique per process and per call, never on disk.
fn memory_ccache_name() -> Result<String, String> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness for the ccache name: {e}"))?;
    Ok(format!(
        "MEMORY:gmsa-keytab-{}-{:016x}",
        std::process::id(),
        u64::from_ne_bytes(random)
    ))
}

fn status_error(call: &'static str, major: u32, minor: u32) -> GssError {
    let mut message = display_status(major, ffi::GSS_C_GSS_CODE as i32);
    if minor != 0 {
        let mech = display_status(minor, ffi::GSS_C_MECH_CODE as i32);
        if !mech.is_empty() {
            message.push_str(": ");
            message.push_str(&mech);
        }
    }
    GssError {
        call,
        major,
        minor,
        message,
    }
}

/// All messages `gss_display_status` has for one status code, joined with "; ".
pub fn display_status(code: u32, code_type: c_int) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut context: u32 = 0;
    let mut mech_oid = ffi::gss_OID_desc {
        length: KRB5_MECH_OID.len() as u32,
        elements: KRB5_MECH_OID.as_ptr() as *mut c_void,
    };
    // MIT returns one message per call and a non-zero context while more remain; bound the
    // loop anyway so a misbehaving library cannot spin us.
    for _ in 0..8 {
        let mut minor: u32 = 0;
        let mut buf = ffi::gss_buffer_desc {
            length: 0,
            value: ptr::null_mut(),
        };
        // SAFETY: `minor`, `context` and `buf` are valid out-pointers; `mech_oid` is a valid OID
        // descriptor pointing at static bytes. On success `buf` holds memory owned by GSSAPI.
        let major = unsafe {
            ffi::gss_display_status(
                &mut minor,
                code,
                code_type,
                &mut mech_oid,
                &mut context,
                &mut buf,
            )
        };
        if major != 0 {
            break;
        }
        if !buf.value.is_null() && buf.length > 0 {
            // SAFETY: on success gss_display_status filled `buf` with `length` readable bytes at
            // `value`; we copy them out before releasing the buffer below.
            let bytes = unsafe { std::slice::from_raw_parts(buf.value as *const u8, buf.length) };
            parts.push(String::from_utf8_lossy(bytes).into_owned());
        }
        // SAFETY: `buf` was filled by gss_display_status (or is empty); it is released once.
        unsafe { ffi::gss_release_buffer(&mut minor, &mut buf) };
        if context == 0 {
            break;
        }
    }
    if parts.is_empty() {
        format!("unknown GSSAPI status {code:#x}")
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ccache_names_are_private_and_unique() {
        let a = memory_ccache_name().unwrap();
        let b = memory_ccache_name().unwrap();
        assert!(a.starts_with(&format!("MEMORY:gmsa-keytab-{}-", std::process::id())));
        assert_ne!(a, b);
        let la = Login::new("host1$@EXAMPLE.TEST").unwrap();
        let lb = Login::new("host1$@EXAMPLE.TEST").unwrap();
        assert!(la.ccache_name().starts_with("MEMORY:gmsa-keytab-"));
        assert_ne!(la.ccache_name(), lb.ccache_name());
        assert_eq!(la.principal(), "host1$@EXAMPLE.TEST");
    }

    #[link(name = "krb5")]
    unsafe extern "C" {
        fn krb5_cc_get_principal(
            context: *mut krb5::Context,
            cache: *mut krb5::Ccache,
            principal: *mut *mut krb5::Principal,
        ) -> krb5::krb5_error_code;
        fn krb5_cc_close(context: *mut krb5::Context, cache: *mut krb5::Ccache) -> i32;
    }

    /// Whether the MEMORY ccache `name` holds a principal, seen through a separate context
    /// and handle (as GSSAPI sees it).
    fn ccache_has_principal(name: &CStr) -> bool {
        let mut ctx: *mut krb5::Context = ptr::null_mut();
        // SAFETY: test helper; valid out-pointers, every object freed before returning.
        unsafe {
            assert_eq!(krb5::krb5_init_context(&mut ctx), 0);
            let mut cc: *mut krb5::Ccache = ptr::null_mut();
            assert_eq!(krb5::krb5_cc_resolve(ctx, name.as_ptr(), &mut cc), 0);
            let mut p: *mut krb5::Principal = ptr::null_mut();
            let found = krb5_cc_get_principal(ctx, cc, &mut p) == 0;
            if found {
                krb5::krb5_free_principal(ctx, p);
            }
            // Only close: destroying would empty the cache for the Login too. (Resolving a
            // name that is gone leaves an empty cache behind; harmless in a test.)
            krb5_cc_close(ctx, cc);
            krb5::krb5_free_context(ctx);
            found
        }
    }

    #[test]
    fn dropping_the_login_destroys_its_ccache() {
        let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
        let name = login.ccache_name.clone();
        // SAFETY: live context, ccache and principal of `login`.
        let code = unsafe { krb5::krb5_cc_initialize(login.ctx, login.ccache, login.client) };
        assert_eq!(code, 0);
        assert!(ccache_has_principal(&name), "initialized cache not visible");
        // Still there while the Login lives (GSSAPI uses it by name)...
        assert!(ccache_has_principal(&name));
        drop(login);
        // ...and gone (emptied and unlinked from the process table) once it is dropped.
        assert!(!ccache_has_principal(&name));
    }

    #[test]
    fn status_codes_have_text() {
        // GSS_S_NO_CRED (7 << 16) is a routine error every implementation names.
        let text = display_status(7 << 16, ffi::GSS_C_GSS_CODE as i32);
        assert!(!text.is_empty());
        assert!(!text.starts_with("unknown"), "{text}");
    }

    #[test]
    fn krb5_error_codes_have_mit_text() {
        let e = error_from(ptr::null_mut(), "x", krb5_codes::KDC_ERR_PREAUTH_FAILED);
        assert_eq!(e.message, "Preauthentication failed");
        let e = error_from(ptr::null_mut(), "x", krb5_codes::AP_ERR_SKEW);
        assert_eq!(e.message, "Clock skew too great");
        let e = error_from(
            ptr::null_mut(),
            "x",
            krb5_codes::KDC_ERR_C_PRINCIPAL_UNKNOWN,
        );
        assert!(e.message.contains("not found in Kerberos database"), "{e}");
    }

    #[test]
    fn bad_principals_are_errors() {
        assert!(Login::new("a@b@c").is_err());
        assert!(Login::new("nul\0byte").is_err());
    }

    #[test]
    fn initial_exchange_starts_offline_and_drops_cleanly() {
        // The first step needs no KDC and no keytab contents: it only builds the AS-REQ (the
        // keytab is read once the KDC has said which enctype and salt it wants).
        let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
        let mut ex = login
            .initial_exchange(Path::new("/nonexistent/krb5.keytab"))
            .unwrap();
        match ex.step(None) {
            Ok(Step::Send { request, realm }) => {
                assert_eq!(realm, "EXAMPLE.TEST");
                // An AS-REQ: [APPLICATION 10].
                assert_eq!(request.first(), Some(&0x6a), "{request:02x?}");
            }
            other => panic!("{other:?}"),
        }
        // A reply that is not Kerberos is an error, not a crash.
        let garbage = ex.step(Some(b"\x00\x01garbage"));
        assert!(matches!(&garbage, Err(e) if e.code != 0), "{garbage:?}");
        drop(ex);
        drop(login);
    }

    #[test]
    fn service_exchange_without_a_ticket_fails_cleanly() {
        // An empty ccache has no TGT: the TGS exchange cannot start, and nothing leaks.
        let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
        match login.service_exchange("ldap/dc1.example.test@EXAMPLE.TEST") {
            Err(e) => assert_ne!(e.code, 0, "{e}"),
            Ok(mut ex) => assert!(ex.step(None).is_err()),
        }
    }
}
