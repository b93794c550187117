//! The one crate allowed to call C directly (and so to use `unsafe`): MIT Kerberos (libkrb5) and GSSAPI.
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
//! needs no KDC traffic of its own. No environment variable is set for Kerberos (the one TLS
//! setting, [`with_ssl_cert_file`], lasts one call and is put back), nothing is written
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
mod krb5;

/// Kerberos error codes (com_err table `krb5`, `<krb5/krb5.h>`; a protocol error code n is
/// -1765328384 + n) the directory client tells apart.
pub mod krb5_codes {
    pub const KDC_ERR_C_PRINCIPAL_UNKNOWN: i32 = -1765328378;
    pub const KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = -1765328377;
    /// KDC_ERR_NEVER_VALID (11): requested start time is later than the end time.
    pub const KDC_ERR_NEVER_VALID: i32 = -1765328373;
    pub const KDC_ERR_POLICY: i32 = -1765328372;
    pub const KDC_ERR_ETYPE_NOSUPP: i32 = -1765328370;
    pub const KDC_ERR_CLIENT_REVOKED: i32 = -1765328366;
    pub const KDC_ERR_CLIENT_NOTYET: i32 = -1765328363;
    pub const KDC_ERR_KEY_EXP: i32 = -1765328361;
    pub const KDC_ERR_PREAUTH_FAILED: i32 = -1765328360;
    pub const AP_ERR_BAD_INTEGRITY: i32 = -1765328353;
    /// KRB_AP_ERR_TKT_EXPIRED (32).
    pub const AP_ERR_TKT_EXPIRED: i32 = -1765328352;
    /// KRB_AP_ERR_TKT_NYV (33): ticket not yet valid.
    pub const AP_ERR_TKT_NYV: i32 = -1765328351;
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
        self.tgs_exchange(service, 0)
    }

    /// A TGS exchange with `krb5_tkt_creds_init` options (0: look in the ccache first, then
    /// ask the TGS, and store the result).
    fn tgs_exchange(&self, service: &str, options: i32) -> Result<Exchange<'_>, KrbError> {
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
        // `options` are KRB5_GC_* flags, which only change what MIT does with the result.
        let code = unsafe {
            krb5::krb5_tkt_creds_init(self.ctx, self.ccache, &mut in_creds, options, &mut tctx)
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

mod env;
pub use env::with_ssl_cert_file;
mod fds;
pub use fds::cloexec_inherited;
mod gss;
mod ticket;
pub use gss::display_status;
use gss::{acquire_cred_from, memory_ccache_name};
pub use ticket::KEY_USAGE_TICKET;

#[cfg(test)]
mod tests;
