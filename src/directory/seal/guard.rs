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
//!
//! This file moves the bytes; the decisions are pure and beside it: [`super::token`] (where a
//! buffer ends, whether its token is sealed) and `direction` (one direction's state machine).

use super::direction::Direction;
pub use super::token::{MAX_FROM_SERVER, MAX_TO_SERVER, check_wrap_token, split_frame};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::watch;

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
    let counter = if from_server {
        &state.sealed_from_server
    } else {
        &state.sealed_to_server
    };
    let mut direction = Direction::new(from_server);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
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
        let step = direction.read(&buf[..n], state.armed.load(Ordering::SeqCst));
        counter.fetch_add(step.sealed, Ordering::SeqCst);
        if !step.forward.is_empty() && to.write_all(&step.forward).await.is_err() {
            break;
        }
        if let Some(why) = step.violation {
            state.fail(why);
            return;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::super::token::tests::cfx;
    use super::*;

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
