//! The directory client: finds a domain controller, binds to it as this host over an encrypted
//! LDAP connection and reads gMSA managed passwords.
//!
//! - [`discover`]: DC list from the options or DNS SRV (RFC 2782 order), with
//!   [`discover::dns`] the wire format;
//! - [`kerberos`]: which principal of the host keytab to use ([`kerberos::client`]), and
//!   Kerberos with the chosen DC's own KDC;
//! - [`ldap`]: TCP, TLS, SASL GSSAPI bind ([`ldap`]`::connect`), the searches
//!   ([`ldap::search`]: rootDSE, the gMSA and its kvno);
//! - [`seal`]: the confidentiality proof ([`seal::guard`]) over the sealed connection;
//! - [`seam`]: the [`Directory`] trait a sync talks to, which [`Session`] implements;
//! - [`probe`]: single diagnostic steps for `doctor` (a DNS SRV name, a TCP port, a DC's clock).
//!
//! Credentials come from [`crate::sys`]: for each DC tried, a private in-memory ccache filled from
//! the host keytab by that DC's own KDC (TCP port 88 on the address LDAP connected to, no KDC
//! DNS lookups), holding the initial ticket and the `ldap/<dc>` ticket; it is destroyed with the
//! session. No environment variable is set and no default ccache is read or written.

pub mod discover;
pub mod error;
pub mod kerberos;
pub mod ldap;
pub mod probe;
pub mod seal;
pub mod seam;

/// A configuration concept, defined in the core (`gmsa_core::options`).
pub use crate::options::{DirectoryOptions, Protection};
pub use error::{Attempt, DirectoryError};
pub use kerberos::KdcAskError;
pub use ldap::search::AccountRecord;
pub use seam::Directory;

use kerberos::client;
use ldap::{connect, search};
use seal::guard;

use crate::defaults;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The options type is the core's, shared with the configuration (`Config::directory`).
pub type ClientOptions = crate::options::DirectoryOptions;

/// After a failover found no DC left, the session has no link to ask.
pub(crate) const NO_LINK: &str = "no domain controller left in this session";

/// One bound, confidential connection to one DC at a time, used for all the accounts of a
/// run. When that DC fails mid-run, [`Session::failover`] moves to the next candidate.
pub struct Session {
    runtime: Runtime,
    /// `None` once the DC in use failed and no other one could be reached.
    link: Option<connect::Link>,
    dial: Dial,
    realm: String,
    client_principal: String,
    timeout: Duration,
    connect_time: Duration,
}

/// What connecting to the next candidate needs, kept for failover.
struct Dial {
    candidates: Vec<discover::Candidate>,
    /// The index of the next candidate to try.
    next: usize,
    protection: Protection,
    tls: Option<native_tls::TlsConnector>,
    timeout: Duration,
    client_keytab: PathBuf,
    client_principal: String,
    client_realm: String,
}

impl Dial {
    /// Tries the candidates from `next` on, until one gives this host its tickets, binds and is
    /// proven confidential. A failure of the host's own credentials stops at once (every DC
    /// would say the same); any other failure is recorded and the next DC is tried.
    fn connect_next(
        &mut self,
        runtime: &Runtime,
        attempts: &mut Vec<Attempt>,
    ) -> Result<(connect::Link, String), DirectoryError> {
        let plan = connect::Plan {
            protection: self.protection,
            tls: self.tls.as_ref(),
            timeout: self.timeout,
            client_keytab: &self.client_keytab,
            client_principal: &self.client_principal,
            client_realm: &self.client_realm,
        };
        while let Some(candidate) = self.candidates.get(self.next) {
            self.next += 1;
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
                Ok(pair) => return Ok(pair),
                Err(e) if e.is_local() => return Err(e),
                Err(error) => attempts.push(Attempt {
                    server: candidate.to_string(),
                    error,
                }),
            }
        }
        Err(DirectoryError::AllServersFailed {
            attempts: std::mem::take(attempts),
        })
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server())
            .field("realm", &self.realm)
            .field("client_principal", &self.client_principal)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Checks the client keytab, then tries each DC in turn until one gives this host its
    /// tickets, binds and is proven confidential. Failures of the host's own credentials (a
    /// wrong key, an unknown or disabled account) stop the failover: every DC would say the same.
    pub fn connect(opts: &DirectoryOptions) -> Result<Session, DirectoryError> {
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
            let port = (opts.protection == Protection::Ldaps).then_some(defaults::LDAPS_PORT);
            runtime.block_on(discover::discover(
                &domain,
                opts.site.as_deref(),
                opts.timeout,
                port,
            ))?
        } else {
            explicit
        };

        let mut dial = Dial {
            candidates,
            next: 0,
            protection: opts.protection,
            tls,
            timeout: opts.timeout,
            client_keytab: opts.client_keytab.clone(),
            client_principal: identity.principal.clone(),
            client_realm: identity.realm.clone(),
        };
        let (link, realm) = dial.connect_next(&runtime, &mut Vec::new())?;
        Ok(Session {
            runtime,
            link: Some(link),
            dial,
            realm,
            client_principal: identity.principal,
            timeout: opts.timeout,
            connect_time: started.elapsed(),
        })
    }

    /// Leaves the DC in use for the next candidate of the list (or of the DNS answer) that
    /// works: because it failed with `why`, or (`None`) to ask another DC. The DC left costs
    /// nothing more: no unbind is sent to it. When no candidate is left, or the host's own
    /// credentials fail, the session has no DC any more and every later [`Session::fetch`]
    /// fails at once.
    pub fn failover(&mut self, why: Option<DirectoryError>) -> Result<(), DirectoryError> {
        let mut attempts = Vec::new();
        if let Some(link) = self.link.take() {
            if let Some(error) = why {
                attempts.push(Attempt {
                    server: link.host.clone(),
                    error,
                });
            }
            // Dropped without an unbind: the DC may not answer.
            drop(link);
        }
        let (link, realm) = self.dial.connect_next(&self.runtime, &mut attempts)?;
        if !realm.eq_ignore_ascii_case(&self.realm) {
            return Err(DirectoryError::BadReply {
                server: link.host.clone(),
                detail: format!(
                    "it serves realm {realm}, not {} like the DC used before",
                    self.realm
                ),
            });
        }
        self.link = Some(link);
        Ok(())
    }

    /// Whether another DC is left to try after the one in use.
    pub fn has_more_servers(&self) -> bool {
        self.dial.next < self.dial.candidates.len()
    }

    /// The realm, upper-case, from the DC's defaultNamingContext.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The DC host name in use (the last one used, after a failed failover: `-`).
    pub fn server(&self) -> &str {
        self.link.as_ref().map_or("-", |l| l.host.as_str())
    }

    /// The search base: the DC's defaultNamingContext.
    pub fn base_dn(&self) -> &str {
        self.link.as_ref().map_or("", |l| l.base_dn.as_str())
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
        let Some(link) = self.link.as_mut() else {
            return Err(DirectoryError::Internal(NO_LINK.into()));
        };
        let guard = link.guard.clone();
        let driver = link.driver.clone();
        let host = link.host.clone();
        let transport = move |detail: String| {
            connect::Link::transport_error(guard.as_ref(), &host, driver.explain(detail))
        };
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
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let ldap = &mut link.ldap;
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(limit, ldap.unbind()).await });
    }
}
