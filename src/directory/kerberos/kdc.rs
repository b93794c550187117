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

use super::kdc_time;
use crate::directory::error::DirectoryError;
use crate::sys::{Exchange, KrbError, Login, Step, krb5_codes as code};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The Kerberos port of an AD domain controller.
pub(crate) const KDC_PORT: u16 = 88;
/// Largest KDC reply accepted. AD replies carry a PAC and are a few kilobytes; a ticket for an
/// account in thousands of groups stays well under this.
pub(crate) const MAX_REPLY: usize = 1 << 22;
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

/// A Kerberos failure with the KDC's clock known: clock-skew errors get the offset, and an
/// unclassified Kerberos failure while the clocks are further apart than Kerberos tolerates
/// is the clock's (MIT says "Ticket expired", "not yet valid" or something else entirely).
pub(crate) fn with_clock(e: DirectoryError, clock: Option<i64>) -> DirectoryError {
    match e {
        DirectoryError::ClockSkew { detail, offset } => DirectoryError::ClockSkew {
            detail,
            offset: offset.or(clock),
        },
        DirectoryError::Kerberos { server, detail }
            if clock.is_some_and(|o| o.abs() > kdc_time::MAX_SKEW_SECS) =>
        {
            DirectoryError::ClockSkew {
                detail: format!("{server}: {detail}"),
                offset: clock,
            }
        }
        other => other,
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

/// `ldap/<host>@<REALM>`: what ldap3 asks GSSAPI for, so the cached ticket matches it exactly.
pub(crate) fn service_principal(host: &str, realm: &str) -> String {
    format!("ldap/{host}@{realm}")
}

/// Which exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// AS: the host's own keys and account.
    Initial,
    /// TGS: the `ldap/<dc>` ticket.
    Service,
}

/// Why an exchange did not complete.
#[derive(Debug)]
pub(crate) enum Failure {
    /// libkrb5 refused a reply (a KDC error, a wrong key, clock skew, …).
    Krb(KrbError),
    /// The KDC did not answer, or not in the TCP framing.
    Transport(String),
    /// The KDC referred the request to another realm, whose KDC this client does not locate.
    OtherRealm(String),
}

impl Failure {
    /// One line for a log message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Failure::Krb(e) => e.message.clone(),
            Failure::Transport(d) => format!("KDC unreachable: {d}"),
            Failure::OtherRealm(r) => format!("referred to realm {r:?}"),
        }
    }

    fn into_error(self, stage: Stage, t: &Target<'_>) -> DirectoryError {
        match self {
            Failure::Krb(e) => classify(stage, t, &e),
            Failure::Transport(detail) => DirectoryError::KdcUnreachable {
                realm: t.client_realm.into(),
                detail: format!("{} ({}): {detail}", t.host, t.kdc),
            },
            Failure::OtherRealm(realm) => DirectoryError::Kerberos {
                server: t.host.into(),
                detail: format!(
                    "the KDC referred the {} request to realm {realm:?}; only the realm of \
                     {} ({}) is supported",
                    match stage {
                        Stage::Initial => "initial ticket",
                        Stage::Service => "service ticket",
                    },
                    t.client_principal,
                    t.client_realm
                ),
            },
        }
    }
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
    let length = u32::try_from(request.len())
        .ok()
        .filter(|n| n & 0x8000_0000 == 0)
        .ok_or("request too large")?;
    let exchange = async {
        let mut tcp = TcpStream::connect(kdc)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let mut framed = Vec::with_capacity(4 + request.len());
        framed.extend_from_slice(&length.to_be_bytes());
        framed.extend_from_slice(request);
        tcp.write_all(&framed)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let mut header = [0u8; 4];
        tcp.read_exact(&mut header)
            .await
            .map_err(|e| format!("no reply: {e}"))?;
        let n = u32::from_be_bytes(header);
        // The high bit is reserved (RFC 4120 §7.2.2); a KDC that sets it speaks another dialect.
        if n & 0x8000_0000 != 0 || n as usize > MAX_REPLY || n == 0 {
            return Err(format!("not a Kerberos reply (length field {n:#010x})"));
        }
        let mut reply = vec![0u8; n as usize];
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

/// What a libkrb5 failure means for the operator.
pub(crate) fn classify(stage: Stage, t: &Target<'_>, e: &KrbError) -> DirectoryError {
    classify_code(
        stage,
        e.code,
        &e.message,
        t.host,
        t.client_principal,
        t.client_realm,
        t.client_keytab,
    )
}

/// The pure part of [`classify`].
pub(crate) fn classify_code(
    stage: Stage,
    krb_code: i32,
    message: &str,
    host: &str,
    principal: &str,
    realm: &str,
    keytab: &Path,
) -> DirectoryError {
    let detail = format!("{host}: {message}");
    match krb_code {
        // The clock in every form: skew proper, and tickets this host's clock finds expired
        // or not yet valid right after the KDC issued them.
        code::AP_ERR_SKEW
        | code::KDCREP_SKEW
        | code::AP_ERR_TKT_EXPIRED
        | code::AP_ERR_TKT_NYV
        | code::KDC_ERR_NEVER_VALID => DirectoryError::ClockSkew {
            detail,
            offset: None,
        },
        code::KDC_UNREACH => DirectoryError::KdcUnreachable {
            realm: realm.into(),
            detail,
        },
        code::KDC_ERR_PREAUTH_FAILED | code::PREAUTH_FAILED | code::AP_ERR_BAD_INTEGRITY
            if stage == Stage::Initial =>
        {
            DirectoryError::ClientRejected {
                principal: principal.into(),
                detail: format!(
                    "{detail} (the keys in {} do not match the account's password)",
                    keytab.display()
                ),
            }
        }
        code::KDC_ERR_C_PRINCIPAL_UNKNOWN
        | code::KDC_ERR_CLIENT_REVOKED
        | code::KDC_ERR_KEY_EXP
        | code::KDC_ERR_CLIENT_NOTYET
        | code::KDC_ERR_POLICY => DirectoryError::ClientRejected {
            principal: principal.into(),
            detail,
        },
        code::KT_NOTFOUND | code::KT_KVNONOTFOUND if stage == Stage::Initial => {
            DirectoryError::ClientRejected {
                principal: principal.into(),
                detail: format!(
                    "{detail} ({} has no key of a type the KDC accepts for this account)",
                    keytab.display()
                ),
            }
        }
        code::KT_BADNAME | code::KT_UNKNOWN_TYPE => DirectoryError::Credential {
            principal: principal.into(),
            path: keytab.to_path_buf(),
            detail: message.into(),
        },
        // OS errors (errno values) while reading the keytab. Only small positive codes are
        // errno values: com_err tables such as asn1's (ASN1_OVERRUN = 1859794437, a garbage
        // KDC reply) are positive too, and are the KDC's fault, not the keytab's.
        errno if (1..4096).contains(&errno) && stage == Stage::Initial => {
            DirectoryError::Credential {
                principal: principal.into(),
                path: keytab.to_path_buf(),
                detail: message.into(),
            }
        }
        code::KDC_ERR_S_PRINCIPAL_UNKNOWN if stage == Stage::Service => {
            DirectoryError::ServicePrincipalUnknown {
                spn: service_principal(host, realm),
                detail,
            }
        }
        _ => DirectoryError::Kerberos {
            server: host.into(),
            detail: message.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Class;

    fn c(stage: Stage, krb_code: i32) -> DirectoryError {
        classify_code(
            stage,
            krb_code,
            "text from MIT",
            "dc1.example.test",
            "HOST1$@EXAMPLE.TEST",
            "EXAMPLE.TEST",
            Path::new("/etc/krb5.keytab"),
        )
    }

    #[test]
    fn codes_map_to_operator_errors() {
        let e = c(Stage::Initial, code::KDC_ERR_PREAUTH_FAILED);
        assert!(matches!(e, DirectoryError::ClientRejected { .. }), "{e}");
        assert_eq!(e.class(), Class::NoPerm);
        assert!(e.is_local());
        let m = e.to_string();
        assert!(
            m.contains("/etc/krb5.keytab") && m.contains("dc1.example.test"),
            "{m}"
        );

        for skew in [code::AP_ERR_SKEW, code::KDCREP_SKEW] {
            let e = c(Stage::Initial, skew);
            assert!(matches!(e, DirectoryError::ClockSkew { .. }), "{e}");
            assert_eq!(e.class(), Class::TempFail);
        }
        for expired in [
            code::AP_ERR_TKT_EXPIRED,
            code::AP_ERR_TKT_NYV,
            code::KDC_ERR_NEVER_VALID,
        ] {
            let e = c(Stage::Service, expired);
            assert!(matches!(e, DirectoryError::ClockSkew { .. }), "{e}");
            assert_eq!(e.class(), Class::TempFail);
        }
        // The KDC's clock known: the offset goes into the message, and a Kerberos failure of
        // no particular kind with clocks 11 h apart is the clock's.
        let e = with_clock(c(Stage::Initial, code::AP_ERR_SKEW), Some(39_600));
        assert!(
            e.to_string()
                .contains("this host's clock is 11 h 0 min 0 s ahead of the KDC's"),
            "{e}"
        );
        let e = with_clock(c(Stage::Initial, code::KDC_ERR_ETYPE_NOSUPP), Some(-39_600));
        assert!(matches!(e, DirectoryError::ClockSkew { .. }), "{e}");
        assert!(e.to_string().contains("behind the KDC's"), "{e}");
        let e = with_clock(c(Stage::Initial, code::KDC_ERR_ETYPE_NOSUPP), Some(100));
        assert!(matches!(e, DirectoryError::Kerberos { .. }), "{e}");
        let e = with_clock(
            c(Stage::Initial, code::KDC_ERR_PREAUTH_FAILED),
            Some(39_600),
        );
        assert!(matches!(e, DirectoryError::ClientRejected { .. }), "{e}");
        let e = c(Stage::Initial, code::KDC_ERR_C_PRINCIPAL_UNKNOWN);
        assert!(matches!(e, DirectoryError::ClientRejected { .. }), "{e}");
        let e = c(Stage::Service, code::KDC_ERR_CLIENT_REVOKED);
        assert!(matches!(e, DirectoryError::ClientRejected { .. }), "{e}");
        let e = c(Stage::Service, code::KDC_ERR_S_PRINCIPAL_UNKNOWN);
        match &e {
            DirectoryError::ServicePrincipalUnknown { spn, .. } => {
                assert_eq!(spn, "ldap/dc1.example.test@EXAMPLE.TEST")
            }
            other => panic!("{other}"),
        }
        assert_eq!(e.class(), Class::Config);
        let e = c(Stage::Initial, code::KT_NOTFOUND);
        assert!(matches!(e, DirectoryError::ClientRejected { .. }), "{e}");
        let e = c(Stage::Initial, 2); // ENOENT from the keytab
        assert!(matches!(e, DirectoryError::Credential { .. }), "{e}");
        assert_eq!(e.class(), Class::NoInput);
        let e = c(Stage::Initial, code::KDC_ERR_ETYPE_NOSUPP);
        assert!(matches!(e, DirectoryError::Kerberos { .. }), "{e}");
        assert!(!e.is_local());
        // ASN1_OVERRUN (a garbage KDC reply, found by tests/hostile_server.rs): the KDC's
        // fault, not a missing keytab.
        let e = c(Stage::Initial, 1859794437);
        assert!(matches!(e, DirectoryError::Kerberos { .. }), "{e}");
    }

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
