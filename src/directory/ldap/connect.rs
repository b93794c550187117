//! One DC: TCP, optional TLS, SASL GSSAPI bind, and the proof of confidentiality. The I/O
//! half; what its failures mean is [`super::classify`], the certificate check
//! [`super::channel_binding`].

use super::channel_binding::channel_binding_available;
use super::classify::{bind_error, gss_failure, ldap_open_error};
use super::driver::{self, Driver};
use super::search::{self, Ctx};
use crate::directory::Protection;
use crate::directory::discover::Candidate;
use crate::directory::error::DirectoryError;
use crate::directory::kerberos::kdc;
use crate::directory::seal::guard::{self, Guard};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, StdStream};
use native_tls::TlsConnector;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Everything a connection attempt needs besides the DC.
pub(crate) struct Plan<'a> {
    pub protection: Protection,
    pub tls: Option<&'a TlsConnector>,
    pub timeout: Duration,
    /// The host keytab the client principal's keys come from.
    pub client_keytab: &'a Path,
    pub client_principal: &'a str,
    /// Realm of the client principal; the `ldap/<host>` principal is asked for in it, so
    /// krb5.conf's default_realm does not matter.
    pub client_realm: &'a str,
}

/// A bound, verified connection.
pub(crate) struct Link {
    pub ldap: Ldap,
    pub guard: Option<Guard>,
    /// ldap3's connection task: why the connection ended, for the messages of failed requests.
    pub driver: Driver,
    pub host: String,
    pub base_dn: String,
    /// This DC's KDC (port 88 on the address LDAP reached), for the salt probe and the key
    /// confirmation.
    pub kdc: SocketAddr,
    /// The Kerberos login (private ccache) with this DC; declared last so it is dropped after
    /// the LDAP handle, and dropping it destroys the ccache.
    pub login: crate::sys::Login,
}

impl Link {
    /// How a transport failure on this link reads: the guard's verdict if it cut the link.
    pub fn transport_error(guard: Option<&Guard>, server: &str, detail: String) -> DirectoryError {
        match guard.and_then(Guard::violation) {
            Some(why) => DirectoryError::NotConfidential {
                server: server.into(),
                detail: why,
            },
            None => DirectoryError::Connection {
                server: server.into(),
                detail,
            },
        }
    }
}

/// The TLS client settings: TLS 1.2 or later; with a CA file, only that file's CAs are trusted
/// and only that file is read (the system bundle is never opened).
pub(crate) fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, DirectoryError> {
    let mut builder = TlsConnector::builder();
    builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
    if let Some(path) = ca_file {
        let ca_err = |detail: String, source: Option<std::io::Error>| DirectoryError::CaFile {
            path: path.to_path_buf(),
            detail,
            source,
        };
        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string(), Some(e)))?;
        let certs = openssl::x509::X509::stack_from_pem(&pem)
            .map_err(|e| ca_err(format!("not PEM certificates: {e}"), None))?;
        if certs.is_empty() {
            return Err(ca_err("it holds no certificate".into(), None));
        }
        for cert in certs {
            let der = cert.to_der().map_err(|e| ca_err(e.to_string(), None))?;
            let cert =
                native_tls::Certificate::from_der(&der).map_err(|e| ca_err(e.to_string(), None))?;
            builder.add_root_certificate(cert);
        }
        builder.disable_built_in_roots(true);
        // The connector would otherwise read the whole system bundle twice, only to discard it
        // (see with_ssl_cert_file): with a CA file, that file is the only one read.
        return crate::sys::with_ssl_cert_file(path, || builder.build())
            .map_err(|e| DirectoryError::Internal(format!("TLS setup: {e}")));
    }
    builder
        .build()
        .map_err(|e| DirectoryError::Internal(format!("TLS setup: {e}")))
}

pub(crate) async fn tcp_connect(
    c: &Candidate,
    limit: Duration,
) -> Result<TcpStream, DirectoryError> {
    let server = c.to_string();
    let addrs: Vec<SocketAddr> =
        match timeout(limit, tokio::net::lookup_host((c.host.as_str(), c.port))).await {
            Err(_) => {
                return Err(DirectoryError::Timeout {
                    server,
                    what: "name resolution",
                    after: limit,
                });
            }
            Ok(Err(e)) => {
                return Err(DirectoryError::Unreachable {
                    server,
                    detail: format!("cannot resolve {}: {e}", c.host),
                });
            }
            Ok(Ok(a)) => a.collect(),
        };
    let mut failures = Vec::new();
    for addr in &addrs {
        match timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                // Small request/response exchanges: do not wait for Nagle.
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => failures.push(format!("{addr}: {e}")),
            Err(_) => failures.push(format!("{addr}: no answer within {}s", limit.as_secs_f32())),
        }
    }
    if failures.is_empty() {
        failures.push(format!("{} has no address", c.host));
    }
    Err(DirectoryError::Unreachable {
        server,
        detail: failures.join("; "),
    })
}

/// Connects to one DC, binds as the host and proves the connection confidential.
pub(crate) async fn connect_one(c: &Candidate, plan: &Plan<'_>) -> Result<Link, DirectoryError> {
    let limit = plan.timeout;
    let host = c.host.clone();
    let tcp = tcp_connect(c, limit).await?;

    // Kerberos with this very DC, on the address the LDAP connection reached: the initial
    // ticket and the ldap/<host> ticket land in a private ccache before the bind needs them.
    let peer = tcp.peer_addr().map_err(|e| DirectoryError::Connection {
        server: host.clone(),
        detail: format!("socket: {e}"),
    })?;
    let kdc_addr = SocketAddr::new(peer.ip(), kdc::KDC_PORT);
    let (login, gss_cred, clock) = kdc::login(&kdc::Target {
        host: &host,
        kdc: kdc_addr,
        client_principal: plan.client_principal,
        client_realm: plan.client_realm,
        client_keytab: plan.client_keytab,
        timeout: limit,
    })
    .await?;
    if let Some(offset) =
        clock.filter(|o| o.abs() > crate::directory::kerberos::kdc_time::MAX_SKEW_SECS)
    {
        // MIT carries on with the KDC's time, but the services that use these keytabs check
        // tickets against this host's clock and reject them from 5 minutes off.
        crate::log::warn(
            &format!(
                "this host's clock is {} the KDC's; services on this host reject Kerberos \
                 tickets when their clock is more than 5 minutes off: synchronize it \
                 (chrony/ntpd against the domain controllers)",
                crate::directory::kerberos::kdc_time::describe_offset(offset)
            ),
            &[("server", &host), ("offset_s", &offset)],
        );
    }

    let (settings, url, guard) = match plan.protection {
        Protection::Seal => {
            let (sock, guard) = guard::start(tcp)
                .map_err(|e| DirectoryError::Internal(format!("socket pair: {e}")))?;
            // ldap3 talks to the relay over a Unix socket; "ldapi" only selects that stream type.
            let settings = LdapConnSettings::new().set_std_stream(StdStream::Unix(sock));
            (settings, "ldapi:///".to_string(), Some(guard))
        }
        Protection::Ldaps | Protection::StartTls => {
            let std_tcp = tcp
                .into_std()
                .map_err(|e| DirectoryError::Internal(format!("socket: {e}")))?;
            let tls = plan
                .tls
                .cloned()
                .ok_or_else(|| DirectoryError::Internal("TLS connector missing".into()))?;
            let starttls = plan.protection == Protection::StartTls;
            let settings = LdapConnSettings::new()
                .set_conn_timeout(limit)
                .set_std_stream(StdStream::Tcp(std_tcp))
                .set_connector(tls)
                .set_starttls(starttls);
            let scheme = if starttls { "ldap" } else { "ldaps" };
            (settings, format!("{scheme}://{}:{}", c.host, c.port), None)
        }
    };
    let what = match plan.protection {
        Protection::Seal => "the LDAP connection",
        Protection::Ldaps => "the TLS handshake",
        Protection::StartTls => "StartTLS",
    };
    let (conn, mut ldap) = match timeout(limit, LdapConnAsync::with_settings(settings, &url)).await
    {
        Err(_) => {
            return Err(DirectoryError::Timeout {
                server: host,
                what,
                after: limit,
            });
        }
        Ok(Err(e)) => return Err(ldap_open_error(&host, what, limit, e)),
        Ok(Ok(pair)) => pair,
    };
    // The connection ends when the last handle is dropped; its error, if any, is kept for the
    // message of the operation that fails with it.
    let driver = driver::spawn(conn);

    if plan.protection != Protection::Seal {
        let cert = match timeout(limit, ldap.get_peer_certificate()).await {
            Ok(Ok(Some(der))) => der,
            Ok(Ok(None)) => {
                return Err(DirectoryError::NotConfidential {
                    server: host,
                    detail: "no TLS session (no peer certificate)".into(),
                });
            }
            Ok(Err(e)) => {
                return Err(DirectoryError::Connection {
                    server: host,
                    detail: format!("reading the TLS certificate: {e}"),
                });
            }
            Err(_) => {
                return Err(DirectoryError::Timeout {
                    server: host,
                    what: "the TLS certificate",
                    after: limit,
                });
            }
        };
        channel_binding_available(&cert).map_err(|detail| DirectoryError::NoChannelBinding {
            server: host.clone(),
            detail,
        })?;
    }

    // ldap3 builds the target as "ldap/" + this string.
    let target = format!("{}@{}", c.host, plan.client_realm);
    let cred = cross_krb5::Cred::from(gss_cred);
    let transport =
        |detail: String| Link::transport_error(guard.as_ref(), &host, driver.explain(detail));
    match timeout(limit, ldap.sasl_gssapi_cred_bind(cred, &target)).await {
        Err(_) => {
            return Err(DirectoryError::Timeout {
                server: host,
                what: "the bind",
                after: limit,
            });
        }
        Ok(Err(e @ (LdapError::GssapiFailure { .. } | LdapError::GssapiOperationError(_)))) => {
            return Err(kdc::with_clock(gss_failure(plan, &host, e), clock));
        }
        Ok(Err(LdapError::Timeout { .. })) => {
            return Err(DirectoryError::Timeout {
                server: host,
                what: "the bind",
                after: limit,
            });
        }
        Ok(Err(e)) => return Err(transport(format!("bind: {e}"))),
        Ok(Ok(r)) if r.rc != 0 => return Err(kdc::with_clock(bind_error(&host, &r), clock)),
        Ok(Ok(_)) => {}
    }
    if let Some(g) = &guard {
        g.arm();
    }

    // First request after the bind, and a check of the seal before any password is asked for.
    let base_dn = {
        let mut ctx = Ctx {
            ldap: &mut ldap,
            server: &host,
            timeout: limit,
            on_transport: &transport,
        };
        search::default_naming_context(&mut ctx).await?
    };
    if let Some(g) = &guard {
        if let Some(why) = g.violation() {
            return Err(DirectoryError::NotConfidential {
                server: host,
                detail: why,
            });
        }
        let (from_dc, to_dc) = g.sealed_counts();
        if from_dc == 0 || to_dc == 0 {
            return Err(DirectoryError::NotConfidential {
                server: host,
                detail: format!(
                    "no sealed exchange after the bind ({to_dc} sent, {from_dc} received)"
                ),
            });
        }
    }
    Ok(Link {
        ldap,
        guard,
        driver,
        host,
        base_dn,
        kdc: kdc_addr,
        login,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem");
        assert_eq!(
            tls_connector(Some(&missing)).unwrap_err().class(),
            crate::exit::Class::NoInput
        );
        std::fs::write(&missing, b"not pem").unwrap();
        assert_eq!(
            tls_connector(Some(&missing)).unwrap_err().class(),
            crate::exit::Class::Config
        );
        assert!(tls_connector(None).is_ok());
    }
}
