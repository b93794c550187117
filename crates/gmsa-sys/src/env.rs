//! The one process-environment change gmsa-keytab makes, for the span of one call.

use std::ffi::OsString;
use std::path::Path;

const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Runs `f` with `SSL_CERT_FILE` set to `file`, then puts back what was there before.
///
/// Why: native-tls 0.2 (OpenSSL backend) builds every connector by loading the system CA bundle
/// twice, once through OpenSSL's default verify paths and once through openssl-probe's result,
/// even when the caller then replaces the trust store with its own CAs. With OpenSSL 3 each load
/// of Debian's 150-certificate bundle costs tens of milliseconds of CPU, more than a whole sealed
/// sync. Both honour `SSL_CERT_FILE`: pointed at the `ca-file`, they read that small file
/// instead, and the system bundle is never opened.
///
/// Must be called while the process runs no other thread (see the SAFETY comments): the
/// directory client calls it before it builds its runtime, and gmsa-keytab starts no thread.
pub fn with_ssl_cert_file<T>(file: &Path, f: impl FnOnce() -> T) -> T {
    let before: Option<OsString> = std::env::var_os(SSL_CERT_FILE);
    // SAFETY: set_var is unsafe only because another thread could read or write the
    // environment at the same time. The caller (Session::connect, before the tokio runtime
    // exists) runs on the only thread of the process: gmsa-keytab spawns no thread, MIT krb5
    // and OpenSSL start none, and hooks run as child processes later.
    unsafe { std::env::set_var(SSL_CERT_FILE, file) };
    let out = f();
    match before {
        // SAFETY: as above, still on the only thread; restores the caller's environment so
        // that hooks and children inherit it unchanged.
        Some(v) => unsafe { std::env::set_var(SSL_CERT_FILE, v) },
        // SAFETY: as above.
        None => unsafe { std::env::remove_var(SSL_CERT_FILE) },
    }
    out
}
