//! The directory client: finds a domain controller, binds to it as this host over an encrypted
//! LDAP connection and reads gMSA managed passwords.
//!
//! - [`client`]: which principal of the host keytab to use;
//! - [`discover`]: DC list from the options or DNS SRV (RFC 2782 order), with [`dns`] the wire
//!   format;
//! - [`connect`]: TCP, Kerberos with that DC ([`kdc`]), TLS, SASL GSSAPI bind, and the
//!   confidentiality proof ([`guard`]);
//! - [`search`]: rootDSE, the gMSA and its kvno;
//! - [`probe`]: single diagnostic steps for `doctor` (a DNS SRV name, a TCP port, a DC's clock).
//!
//! Credentials come from [`crate::sys`]: for each DC tried, a private in-memory ccache filled from
//! the host keytab by that DC's own KDC (TCP port 88 on the address LDAP connected to, no KDC
//! DNS lookups), holding the initial ticket and the `ldap/<dc>` ticket; it is destroyed with the
//! session. No environment variable is set and no default ccache is read or written.

pub mod client;
mod connect;
pub mod discover;
pub mod dns;
pub mod error;
pub mod guard;
mod kdc;
mod kdc_check;
pub mod probe;
pub mod search;

pub use error::{Attempt, DirectoryError};
pub use search::AccountRecord;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// How the LDAP connection is kept confidential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protection {
    /// SASL GSSAPI with the confidentiality (sealing) layer, port 389.
    #[default]
    Seal,
    /// TLS from the start (port 636), GSSAPI bind with tls-server-end-point channel binding.
    Ldaps,
    /// StartTLS on port 389, then as `Ldaps`.
    StartTls,
}

impl Protection {
    fn default_port(self) -> u16 {
        match self {
            Protection::Ldaps => 636,
            Protection::Seal | Protection::StartTls => 389,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protection::Seal => "seal",
            Protection::Ldaps => "ldaps",
            Protection::StartTls => "starttls",
        }
    }
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "seal" => Ok(Protection::Seal),
            "ldaps" => Ok(Protection::Ldaps),
            "starttls" => Ok(Protection::StartTls),
            other => Err(format!(
                "unknown protection {other:?}: expected seal, ldaps or starttls"
            )),
        }
    }
}

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// The host keytab to authenticate from.
    pub client_keytab: PathBuf,
    /// Default: the keytab's `NAME$@REALM` entry.
    pub client_principal: Option<String>,
    /// DC host names (`host` or `host:port`), tried in order; empty = DNS SRV discovery.
    pub servers: Vec<String>,
    /// DNS domain for SRV discovery; default: the client principal's realm, lower-cased.
    pub domain: Option<String>,
    /// AD site for SRV discovery; its DCs are tried first, the domain's if it has none.
    pub site: Option<String>,
    pub protection: Protection,
    /// PEM CA certificates for LDAPS/StartTLS; when set, only these are trusted.
    pub ca_file: Option<PathBuf>,
    /// Limit for each network step: DNS, TCP connect, each KDC exchange, TLS, bind, each search.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            client_keytab: PathBuf::from("/etc/krb5.keytab"),
            client_principal: None,
            servers: Vec::new(),
            domain: None,
            site: None,
            protection: Protection::Seal,
            ca_file: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// One bound, confidential connection to one DC, used for all the accounts of a run.
pub struct Session {
    runtime: Runtime,
    link: connect::Link,
    realm: String,
    client_principal: String,
    timeout: Duration,
    connect_time: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.link.host)
            .field("realm", &self.realm)
            .field("client_principal", &self.client_principal)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Checks the client keytab, then tries each DC in turn until one gives this host its
    /// tickets, binds and is proven confidential. Failures of the host's own credentials (a
    /// wrong key, an unknown or disabled account) stop the failover: every DC would say the same.
    pub fn connect(opts: &ClientOptions) -> Result<Session, DirectoryError> {
        let started = Instant::now();
        if opts.timeout.is_zero() {
            return Err(DirectoryError::BadOption(
                "timeout must be more than zero".into(),
            ));
        }
        let identity = client::resolve(&opts.client_keytab, opts.client_principal.as_deref())?;

        // Options are checked before anything goes on the network.
        let explicit = opts
            .servers
            .iter()
            .map(|s| discover::parse_server(s, opts.protection.default_port()))
            .collect::<Result<Vec<_>, _>>()?;
        let domain = match &opts.domain {
            Some(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            None => identity.realm.to_ascii_lowercase(),
        };
        if explicit.is_empty() {
            discover::check_host_name(&domain).map_err(|_| {
                DirectoryError::BadOption(format!("domain {domain:?} is not a DNS name"))
            })?;
            if let Some(site) = &opts.site {
                discover::check_site(site)?;
            }
        }
        let tls = match opts.protection {
            Protection::Seal => None,
            Protection::Ldaps | Protection::StartTls => {
                Some(connect::tls_connector(opts.ca_file.as_deref())?)
            }
        };

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| DirectoryError::Internal(format!("async runtime: {e}")))?;

        let candidates = if explicit.is_empty() {
            let port = (opts.protection == Protection::Ldaps).then_some(636);
            runtime.block_on(discover::discover(
                &domain,
                opts.site.as_deref(),
                opts.timeout,
                port,
            ))?
        } else {
            explicit
        };

        let plan = connect::Plan {
            protection: opts.protection,
            tls: tls.as_ref(),
            timeout: opts.timeout,
            client_keytab: &opts.client_keytab,
            client_principal: &identity.principal,
            client_realm: &identity.realm,
        };
        let mut attempts = Vec::new();
        for candidate in &candidates {
            let outcome = runtime
                .block_on(connect::connect_one(candidate, &plan))
                .and_then(|link| match search::realm_from_dn(&link.base_dn) {
                    Some(realm) => Ok((link, realm)),
                    None => Err(DirectoryError::BadReply {
                        server: link.host.clone(),
                        detail: format!(
                            "defaultNamingContext {:?} is not a DC=… domain name",
                            link.base_dn
                        ),
                    }),
                });
            match outcome {
                Ok((link, realm)) => {
                    return Ok(Session {
                        runtime,
                        link,
                        realm,
                        client_principal: identity.principal,
                        timeout: opts.timeout,
                        connect_time: started.elapsed(),
                    });
                }
                Err(e) if e.is_local() => return Err(e),
                Err(error) => attempts.push(Attempt {
                    server: candidate.to_string(),
                    error,
                }),
            }
        }
        Err(DirectoryError::AllServersFailed { attempts })
    }

    /// The realm, upper-case, from the DC's defaultNamingContext.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The DC host name in use.
    pub fn server(&self) -> &str {
        &self.link.host
    }

    /// The search base: the DC's defaultNamingContext.
    pub fn base_dn(&self) -> &str {
        &self.link.base_dn
    }

    /// The principal this host authenticated as.
    pub fn client_principal(&self) -> &str {
        &self.client_principal
    }

    /// Wall time `connect` took (keytab check, credentials, discovery, connect, bind, checks).
    pub fn connect_time(&self) -> Duration {
        self.connect_time
    }

    /// Reads one gMSA (`svc_web` or `svc_web$`): its blob and attributes, then its kvno.
    pub fn fetch(&mut self, account: &str) -> Result<AccountRecord, DirectoryError> {
        let sam = search::sam_account_name(account)?;
        let link = &mut self.link;
        let guard = link.guard.clone();
        let host = link.host.clone();
        let transport =
            move |detail: String| connect::Link::transport_error(guard.as_ref(), &host, detail);
        let mut ctx = search::Ctx {
            ldap: &mut link.ldap,
            server: &link.host,
            timeout: self.timeout,
            on_transport: &transport,
        };
        let record = self.runtime.block_on(search::fetch(
            &mut ctx,
            &link.base_dn,
            &sam,
            &self.client_principal,
        ))?;
        // The guard must still be satisfied after the exchange (it closes the link otherwise,
        // so this is a belt over the braces).
        if let Some(why) = link.guard.as_ref().and_then(guard::Guard::violation) {
            return Err(DirectoryError::NotConfidential {
                server: link.host.clone(),
                detail: why,
            });
        }
        Ok(record)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A polite unbind, bounded; the socket closes with the runtime either way.
        let limit = self.timeout.min(Duration::from_secs(1));
        let ldap = &mut self.link.ldap;
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(limit, ldap.unbind()).await });
    }
}
