//! Kerberos with the DC itself: the host's initial ticket and the `ldap/<dc>` service ticket,
//! from the KDC on the domain controller this connection goes to, over TCP.
//!
//! libkrb5 builds and checks every message ([`crate::sys::Exchange`]); this module carries them
//! to `<the DC's address>:88` (RFC 4120 §7.2.2: a 4-byte length, then the message), one TCP
//! connection per request, each bounded by the session timeout. So:
//! - the KDC is the same DC as the LDAP server, on the address LDAP connected to; with DC
//!   failover the next DC gets its own login;
//! - no DNS lookup for the KDC (krb5.conf's `[realms]` and `dns_lookup_kdc` are not consulted for
//!   it), no UDP attempt that an AD reply would overflow (KRB5KRB_ERR_RESPONSE_TOO_BIG), and no
//!   retry against a "primary" KDC;
//! - the service ticket is in the private ccache before GSSAPI needs it, so the bind makes no
//!   KDC request of its own.
//!
//! The I/O half: what a failure means is `kdc_classify`, the TCP framing `kdc_frame`, the KDC's
//! clock [`super::kdc_time`], all pure.

use super::{kdc_frame, kdc_time};
use crate::directory::error::DirectoryError;
use crate::sys::{Exchange, KrbError, Login, Step};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

pub(crate) use super::kdc_classify::{
    Failure, Stage, classify, classify_code, service_principal, with_clock,
};

/// The Kerberos port of an AD domain controller.
pub(crate) const KDC_PORT: u16 = 88;
/// Round trips allowed for one exchange; MIT needs two for an AS exchange with pre-auth (three
/// with a clock-skew retry) and one for a TGS exchange.
const MAX_ROUNDS: usize = 8;

/// Who logs in, to which DC.
pub(crate) struct Target<'a> {
    /// DC host name, for the `ldap/<host>` principal and the messages.
    pub host: &'a str,
    /// The DC's KDC: the address the LDAP connection went to, port 88.
    pub kdc: SocketAddr,
    pub client_principal: &'a str,
    pub client_realm: &'a str,
    pub client_keytab: &'a Path,
    pub timeout: Duration,
}

/// Gets the initial ticket and the `ldap/<host>@<realm>` ticket into a fresh private ccache, and
/// a GSSAPI credential over it. The [`Login`] must outlive every use of the credential: dropping
/// it destroys the ccache.
/// The third value is this host's clock minus the KDC's (seconds), when a KDC error stated
/// its time (an AD KDC always does, asking for pre-authentication).
pub(crate) async fn login(
    t: &Target<'_>,
) -> Result<(Login, libgssapi::credential::Cred, Option<i64>), DirectoryError> {
    let mut clock = None;
    let result = login_inner(t, &mut clock).await;
    match result {
        Ok((login, cred)) => Ok((login, cred, clock)),
        Err(e) => Err(with_clock(e, clock)),
    }
}

async fn login_inner(
    t: &Target<'_>,
    clock: &mut Option<i64>,
) -> Result<(Login, libgssapi::credential::Cred), DirectoryError> {
    let credential = |detail: String| DirectoryError::Credential {
        principal: t.client_principal.into(),
        path: t.client_keytab.to_path_buf(),
        detail,
    };
    let login = Login::new(t.client_principal).map_err(|e| credential(e.to_string()))?;

    let exchange = login
        .initial_exchange(t.client_keytab)
        .map_err(|e| classify(Stage::Initial, t, &e))?;
    drive(exchange, t, clock)
        .await
        .map_err(|f| f.into_error(Stage::Initial, t))?;

    let spn = service_principal(t.host, t.client_realm);
    let exchange = login
        .service_exchange(&spn)
        .map_err(|e| classify(Stage::Service, t, &e))?;
    drive(exchange, t, clock)
        .await
        .map_err(|f| f.into_error(Stage::Service, t))?;

    let cred = login
        .gss_cred(t.client_keytab)
        .map_err(|e| credential(e.to_string()))?;
    Ok((login, cred))
}

/// Runs one exchange to completion against `t.kdc`, then stores its ticket in the ccache.
/// Every KRB-ERROR on the way updates `clock` (this host's clock minus the KDC's).
async fn drive(
    mut exchange: Exchange<'_>,
    t: &Target<'_>,
    clock: &mut Option<i64>,
) -> Result<(), Failure> {
    complete(&mut exchange, t.kdc, t.client_realm, t.timeout, clock).await?;
    exchange.finish().map_err(Failure::Krb)
}

/// A service ticket for `service` (not stored in the ccache), from the KDC at `kdc`.
pub(crate) async fn fetch_ticket(
    login: &Login,
    service: &str,
    kdc: SocketAddr,
    realm: &str,
    limit: Duration,
) -> Result<Vec<u8>, Failure> {
    let mut exchange = login.ticket_exchange(service).map_err(Failure::Krb)?;
    // The login already measured the clock; a TGS exchange has nothing to add to it.
    let mut clock = None;
    complete(&mut exchange, kdc, realm, limit, &mut clock).await?;
    exchange.ticket().map_err(Failure::Krb)
}

/// Steps an exchange until libkrb5 says it is done, carrying each request to `kdc`.
/// Every KRB-ERROR on the way updates `clock`.
async fn complete(
    exchange: &mut Exchange<'_>,
    kdc: SocketAddr,
    client_realm: &str,
    limit: Duration,
    clock: &mut Option<i64>,
) -> Result<(), Failure> {
    let mut reply: Option<Vec<u8>> = None;
    for _ in 0..MAX_ROUNDS {
        match exchange.step(reply.as_deref()).map_err(Failure::Krb)? {
            Step::Done => return Ok(()),
            Step::Send { request, realm } => {
                if realm != client_realm {
                    return Err(Failure::OtherRealm(realm));
                }
                let bytes = send(kdc, &request, limit)
                    .await
                    .map_err(Failure::Transport)?;
                if let Some(e) = kdc_time::parse_krb_error(&bytes) {
                    *clock = Some(kdc_time::offset(e.stime, local_now()));
                }
                reply = Some(bytes);
            }
        }
    }
    Err(Failure::Krb(KrbError {
        call: "krb5 exchange",
        code: 0,
        message: format!("no ticket after {MAX_ROUNDS} round trips with the KDC"),
    }))
}

/// This host's clock, seconds since the epoch.
fn local_now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// One request and its reply over a new TCP connection, within `limit`.
pub(crate) async fn send(
    kdc: SocketAddr,
    request: &[u8],
    limit: Duration,
) -> Result<Vec<u8>, String> {
    let framed = kdc_frame::frame(request)?;
    let exchange = async {
        let mut tcp = TcpStream::connect(kdc)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        tcp.write_all(&framed)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let mut header = [0u8; 4];
        tcp.read_exact(&mut header)
            .await
            .map_err(|e| format!("no reply: {e}"))?;
        let mut reply = vec![0u8; kdc_frame::reply_length(header)?];
        tcp.read_exact(&mut reply)
            .await
            .map_err(|e| format!("truncated reply: {e}"))?;
        Ok(reply)
    };
    match timeout(limit, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}s", limit.as_secs_f32())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Class;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn sessions_stay_send() {
        // A Session (which now owns a Login) can still move to another thread.
        fn assert_send<T: Send>() {}
        assert_send::<crate::directory::Session>();
        assert_send::<Login>();
    }

    #[test]
    fn framing_round_trip() {
        rt().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut len = [0u8; 4];
                s.read_exact(&mut len).await.unwrap();
                let mut req = vec![0u8; u32::from_be_bytes(len) as usize];
                s.read_exact(&mut req).await.unwrap();
                assert_eq!(req, b"request");
                s.write_all(&5u32.to_be_bytes()).await.unwrap();
                s.write_all(b"reply").await.unwrap();
            });
            let reply = send(addr, b"request", Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(reply, b"reply");
            server.await.unwrap();
        });
    }

    #[test]
    fn dead_silent_and_odd_kdcs_are_transport_failures() {
        rt().block_on(async {
            // Nothing listening.
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let e = send(closed, b"x", Duration::from_secs(2))
                .await
                .unwrap_err();
            assert!(e.contains("cannot connect"), "{e}");

            // Accepts and never answers: bounded by the limit.
            let mute = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = mute.local_addr().unwrap();
            let hold = tokio::spawn(async move {
                let (s, _) = mute.accept().await.unwrap();
                tokio::time::sleep(Duration::from_secs(5)).await;
                drop(s);
            });
            let start = std::time::Instant::now();
            let e = send(addr, b"x", Duration::from_millis(200))
                .await
                .unwrap_err();
            assert!(e.contains("no answer"), "{e}");
            assert!(start.elapsed() < Duration::from_secs(2));
            hold.abort();

            // Answers with a length that is not Kerberos framing.
            let odd = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = odd.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = odd.accept().await.unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(b"HTTP/1.1 400 Bad Request\r\n").await.unwrap();
            });
            let e = send(addr, b"x", Duration::from_secs(2)).await.unwrap_err();
            assert!(e.contains("not a Kerberos reply"), "{e}");
            server.await.unwrap();
        });
    }

    #[test]
    fn login_against_a_dead_kdc_is_kdc_unreachable() {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let t = Target {
            host: "dc1.example.test",
            kdc: closed,
            client_principal: "HOST1$@EXAMPLE.TEST",
            client_realm: "EXAMPLE.TEST",
            client_keytab: Path::new("/etc/krb5.keytab"),
            timeout: Duration::from_secs(2),
        };
        let e = rt().block_on(login(&t)).map(|_| ()).unwrap_err();
        match &e {
            DirectoryError::KdcUnreachable { realm, detail } => {
                assert_eq!(realm, "EXAMPLE.TEST");
                assert!(detail.contains("dc1.example.test"), "{detail}");
                assert!(detail.contains(&closed.to_string()), "{detail}");
            }
            other => panic!("{other}"),
        }
        assert_eq!(e.class(), Class::TempFail);
        assert!(!e.is_local(), "the next DC may answer");
    }
}
