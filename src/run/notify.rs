//! systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram with
//! `KEY=value` lines to the socket named by `$NOTIFY_SOCKET` (a path, or `@name` for an
//! abstract socket). Outside a `Type=notify` unit the variable is unset and nothing is sent.

use std::os::unix::net::UnixDatagram;

/// `READY=1`: the start job is done (the first pass ran); `systemctl start` returns.
pub const READY: &str = "READY=1";

/// Sends `state` (e.g. [`READY`], or `STATUS=...`) when systemd asked for notifications.
/// Returns whether a message was sent; a failure is not an error for the caller (systemd then
/// reports the unit itself).
pub fn notify(state: &str) -> bool {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return false;
    };
    send(&sock, target.as_encoded_bytes(), state.as_bytes()).is_ok()
}

fn send(sock: &UnixDatagram, target: &[u8], msg: &[u8]) -> std::io::Result<usize> {
    match target.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(msg, &addr)
        }
        None => {
            use std::os::unix::ffi::OsStrExt;
            sock.send_to(msg, std::ffi::OsStr::from_bytes(target))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_and_to_an_abstract_socket() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        let tx = UnixDatagram::unbound().unwrap();
        use std::os::unix::ffi::OsStrExt;
        send(&tx, path.as_os_str().as_bytes(), READY.as_bytes()).unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("gmsa-keytab-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        send(&tx, format!("@{name}").as_bytes(), b"STATUS=x").unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STATUS=x");
        // No listener: an error, not a panic.
        assert!(send(&tx, b"@gmsa-keytab-nobody-listens", b"READY=1").is_err());
    }
}
