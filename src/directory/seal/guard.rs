//! The seal guard: proof, on the wire, that sealed LDAP is really sealed.
//!
//! ldap3 0.12.1 never checks the security layers the server offers (its test
//! `buf[0] | needed_layer == 0` cannot be true), it unwraps with a NULL `conf_state`, so an
//! integrity-only reply would be accepted, and it exposes neither the negotiated layer nor the
//! GSS context. So the TCP connection to the DC does not go to ldap3 directly: ldap3 gets one
//! end of a Unix socket pair, and this relay copies bytes between the other end and the DC.
//! Until the bind succeeds the bytes pass through untouched. Once [`Guard::arm`] is called,
//! every PDU in both directions must be an RFC 4422 SASL buffer (4-byte length + GSS wrap
//! token) whose token is *sealed*: the Sealed flag of an RFC 4121 token, or a SEAL_ALG other
//! than "none" in an RFC 1964/4757 token. A PDU is forwarded only after its check passes; the
//! first one that fails closes both sides, so a request is never sent and a reply never
//! reaches ldap3 over a connection that is not encrypted.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::watch;

/// Largest SASL buffer the DC may send: the receive maximum our ldap3 announces in the bind
/// (1 MiB + 64 KiB; see vendor/ldap3), which its decoder enforces too.
pub const MAX_FROM_SERVER: usize = ldap3::MAX_SASL_BUFFER;
/// Largest SASL buffer we let out; our requests are a few hundred bytes.
pub const MAX_TO_SERVER: usize = 1 << 20;

const KRB5_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// Length of the complete SASL buffer at the start of `buf` (4-byte header included), or
/// `None` if more bytes are needed.
pub fn split_frame(buf: &[u8], max: usize) -> Result<Option<usize>, String> {
    let Some(header) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len == 0 || len > max {
        return Err(format!(
            "a {len}-byte SASL buffer is not a sealed LDAP message (plain LDAP on a sealed \
             connection?)"
        ));
    }
    Ok(if buf.len() - 4 >= len {
        Some(4 + len)
    } else {
        None
    })
}

/// Checks that `token` is a GSS-API Kerberos wrap token with confidentiality.
/// `from_acceptor`: the token must come from the server (RFC 4121 SentByAcceptor flag).
pub fn check_wrap_token(token: &[u8], from_acceptor: bool) -> Result<(), String> {
    match token {
        // RFC 4121 §4.2.6.2: TOK_ID 05 04, Flags, Filler FF, EC, RRC, SND_SEQ.
        [0x05, 0x04, flags, 0xFF, ..] if token.len() >= 16 => {
            if (flags & 0x01 != 0) != from_acceptor {
                return Err("wrap token has the wrong direction flag".into());
            }
            if flags & 0x02 == 0 {
                return Err("wrap token is integrity-protected only, not sealed".into());
            }
            Ok(())
        }
        // RFC 1964 §1.2.2 / RFC 4757 §7.3, inside the RFC 2743 framing:
        // 60 <len> 06 09 <krb5 OID> 02 01 SGN_ALG(2) SEAL_ALG(2) FF FF ...
        [0x60, ..] => {
            let (body_len, header) = der_length(&token[1..]).ok_or("malformed token framing")?;
            let body = token.get(1 + header..).ok_or("malformed token framing")?;
            if body.len() != body_len || body.len() < 2 + KRB5_OID.len() + 8 {
                return Err("malformed token framing".into());
            }
            if body[..2] != [0x06, 0x09] || body[2..11] != KRB5_OID {
                return Err("token is not a Kerberos v5 token".into());
            }
            let inner = &body[11..];
            if inner[..2] != [0x02, 0x01] {
                return Err("token is not a wrap token".into());
            }
            if inner[4..6] == [0xFF, 0xFF] {
                return Err("wrap token has SEAL_ALG none: not sealed".into());
            }
            Ok(())
        }
        _ => Err("not a GSS-API Kerberos wrap token".into()),
    }
}

/// DER definite length at the start of `b`: (length, bytes used).
fn der_length(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for &byte in b.get(1..1 + n)? {
        len = (len << 8) | byte as usize;
    }
    Some((len, 1 + n))
}

struct State {
    armed: AtomicBool,
    stop: watch::Sender<bool>,
    violation: Mutex<Option<String>>,
    sealed_from_server: AtomicU64,
    sealed_to_server: AtomicU64,
}

impl State {
    fn fail(&self, why: String) {
        if let Ok(mut v) = self.violation.lock()
            && v.is_none()
        {
            *v = Some(why);
        }
        let _ = self.stop.send(true);
    }
}

/// Handle on a running relay.
#[derive(Clone)]
pub(crate) struct Guard {
    state: Arc<State>,
}

impl Guard {
    /// From now on, only sealed SASL buffers pass. Call right after a successful bind, before
    /// any other request: LDAP is request/response, so no post-bind byte is in flight yet.
    pub fn arm(&self) {
        self.state.armed.store(true, Ordering::SeqCst);
    }

    /// Why the relay closed the connection, if it did.
    pub fn violation(&self) -> Option<String> {
        self.state.violation.lock().ok().and_then(|v| v.clone())
    }

    /// Sealed buffers seen since arming: (from the server, to the server).
    pub fn sealed_counts(&self) -> (u64, u64) {
        (
            self.state.sealed_from_server.load(Ordering::SeqCst),
            self.state.sealed_to_server.load(Ordering::SeqCst),
        )
    }
}

/// Starts the relay for `tcp` on the current runtime. Returns the socket to hand to ldap3.
pub(crate) fn start(tcp: TcpStream) -> io::Result<(std::os::unix::net::UnixStream, Guard)> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    let ours = UnixStream::from_std(ours)?;
    let (stop, _) = watch::channel(false);
    let state = Arc::new(State {
        armed: AtomicBool::new(false),
        stop,
        violation: Mutex::new(None),
        sealed_from_server: AtomicU64::new(0),
        sealed_to_server: AtomicU64::new(0),
    });
    let (tcp_read, tcp_write) = tcp.into_split();
    let (local_read, local_write) = ours.into_split();
    tokio::spawn(pump(local_read, tcp_write, state.clone(), false));
    tokio::spawn(pump(tcp_read, local_write, state.clone(), true));
    Ok((theirs, Guard { state }))
}

async fn pump<R, W>(mut from: R, mut to: W, state: Arc<State>, from_server: bool)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut stop = state.stop.subscribe();
    let (max, side, counter) = if from_server {
        (MAX_FROM_SERVER, "from the DC", &state.sealed_from_server)
    } else {
        (MAX_TO_SERVER, "to the DC", &state.sealed_to_server)
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    'outer: loop {
        if *stop.borrow() {
            break;
        }
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = stop.changed() => break,
        };
        if !state.armed.load(Ordering::SeqCst) {
            if to.write_all(&buf[..n]).await.is_err() {
                break;
            }
            continue;
        }
        pending.extend_from_slice(&buf[..n]);
        loop {
            match split_frame(&pending, max) {
                Ok(None) => break,
                Ok(Some(len)) => {
                    if let Err(why) = check_wrap_token(&pending[4..len], from_server) {
                        state.fail(format!("{side}: {why}"));
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    if to.write_all(&pending[..len]).await.is_err() {
                        break 'outer;
                    }
                    pending.drain(..len);
                }
                Err(why) => {
                    state.fail(format!("{side}: {why}"));
                    return;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfx(flags: u8) -> Vec<u8> {
        let mut t = vec![0x05, 0x04, flags, 0xFF, 0, 0x10, 0, 0x1c];
        t.extend_from_slice(&[0; 8]);
        t.extend_from_slice(&[0xAA; 40]);
        t
    }

    fn rfc1964(seal_alg: [u8; 2]) -> Vec<u8> {
        let mut inner = vec![0x06, 0x09];
        inner.extend_from_slice(&KRB5_OID);
        inner.extend_from_slice(&[0x02, 0x01, 0x11, 0x00]);
        inner.extend_from_slice(&seal_alg);
        inner.extend_from_slice(&[0xFF, 0xFF]);
        inner.extend_from_slice(&[0x55; 40]);
        let mut t = vec![0x60, inner.len() as u8];
        t.extend(inner);
        t
    }

    #[test]
    fn cfx_tokens() {
        assert!(check_wrap_token(&cfx(0x03), true).is_ok()); // acceptor, sealed
        assert!(check_wrap_token(&cfx(0x07), true).is_ok()); // + acceptor subkey
        assert!(check_wrap_token(&cfx(0x02), false).is_ok()); // initiator, sealed
        assert!(
            check_wrap_token(&cfx(0x01), true)
                .unwrap_err()
                .contains("not sealed")
        );
        assert!(check_wrap_token(&cfx(0x02), true).is_err()); // wrong direction
        assert!(check_wrap_token(&cfx(0x03)[..15], true).is_err());
    }

    #[test]
    fn rfc1964_tokens() {
        assert!(check_wrap_token(&rfc1964([0x10, 0x00]), true).is_ok()); // RC4
        assert!(check_wrap_token(&rfc1964([0x00, 0x00]), false).is_ok()); // DES
        assert!(
            check_wrap_token(&rfc1964([0xFF, 0xFF]), true)
                .unwrap_err()
                .contains("none")
        );
        let mut t = rfc1964([0x10, 0x00]);
        t.push(0); // length mismatch
        assert!(check_wrap_token(&t, true).is_err());
        let mut t = rfc1964([0x10, 0x00]);
        t[12] = 0x03; // not the krb5 OID
        assert!(check_wrap_token(&t, true).is_err());
    }

    #[test]
    fn plain_ldap_is_not_a_token() {
        // An LDAP SearchRequest starts with a SEQUENCE.
        assert!(check_wrap_token(&[0x30, 0x25, 0x02, 0x01, 0x02], false).is_err());
        assert!(split_frame(&[0x30, 0x84, 0, 0, 0, 0x25], MAX_TO_SERVER).is_err());
    }

    #[test]
    fn frames_split_on_their_length() {
        assert_eq!(split_frame(&[0, 0], 100), Ok(None));
        assert_eq!(split_frame(&[0, 0, 0, 3, 1, 2], 100), Ok(None));
        assert_eq!(split_frame(&[0, 0, 0, 2, 1, 2, 9], 100), Ok(Some(6)));
        assert!(split_frame(&[0, 0, 0, 0], 100).is_err());
        assert!(split_frame(&[0, 0, 1, 0], 100).is_err());
    }

    #[test]
    fn prefixes_never_panic() {
        for t in [cfx(3), rfc1964([0x10, 0])] {
            for cut in 0..t.len() {
                let _ = check_wrap_token(&t[..cut], true);
            }
        }
        let _ = der_length(&[0x84, 0xff, 0xff, 0xff, 0xff]);
        let _ = check_wrap_token(&[0x60, 0x84, 0xff, 0xff, 0xff, 0xff], true);
    }

    #[test]
    fn relay_forwards_then_enforces() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let (local, guard) = start(client).unwrap();
            local.set_nonblocking(true).unwrap();
            let mut local = UnixStream::from_std(local).unwrap();

            // Unarmed: anything passes.
            local.write_all(b"plain bind").await.unwrap();
            let mut got = [0u8; 10];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"plain bind");

            guard.arm();
            // A sealed buffer passes, in two pieces.
            let tok = cfx(0x03);
            let mut frame = (tok.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&tok);
            server.write_all(&frame[..7]).await.unwrap();
            server.flush().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            server.write_all(&frame[7..]).await.unwrap();
            let mut got = vec![0u8; frame.len()];
            local.read_exact(&mut got).await.unwrap();
            assert_eq!(got, frame);
            assert_eq!(guard.sealed_counts(), (1, 0));

            // Plain LDAP towards the DC is stopped before it leaves.
            local
                .write_all(&[0x30, 0x84, 0, 0, 0, 0x25, 2, 1, 2])
                .await
                .unwrap();
            let mut rest = Vec::new();
            let n = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                server.read_to_end(&mut rest),
            )
            .await
            .unwrap()
            .unwrap();
            assert_eq!(n, 0, "nothing reached the server");
            assert!(guard.violation().is_some());
            // And ldap3's side is closed too.
            let mut buf = [0u8; 8];
            let n = tokio::time::timeout(std::time::Duration::from_secs(2), local.read(&mut buf))
                .await
                .unwrap()
                .unwrap_or(0);
            assert_eq!(n, 0);
        });
    }
}
