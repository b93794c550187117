//! Single diagnostic steps for `doctor`, each bounded by one timeout: the SRV records of one
//! DNS name, one TCP port of one DC, and a DC's clock. [`crate::directory::Session`] does the
//! real work (credentials, sealed bind, searches); these only say where it would fail.

use super::discover::dns::SrvRecord;
use super::discover::{self, Candidate};
use super::error::DirectoryError;
use super::ldap::search::{self, Ctx};
use ldap3::{LdapConnAsync, LdapConnSettings, StdStream};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::time::timeout;

pub use crate::timefmt::parse_generalized_time;

/// The LDAP port, where the rootDSE (and its `currentTime`) is readable without a bind.
pub const LDAP_PORT: u16 = crate::defaults::LDAP_PORT;

/// A small runtime for one diagnostic step at a time.
pub struct Probe {
    runtime: Runtime,
    timeout: Duration,
}

impl Probe {
    pub fn new(timeout: Duration) -> Result<Probe, DirectoryError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| DirectoryError::Internal(format!("async runtime: {e}")))?;
        Ok(Probe { runtime, timeout })
    }

    /// The SRV records of `name` through this host's resolver (`Ok(None)`: the name has none).
    pub fn srv(&self, name: &str) -> Result<Option<Vec<SrvRecord>>, DirectoryError> {
        let conf = discover::system_resolv_conf();
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.runtime.block_on(async {
            match timeout(self.timeout, discover::query_srv(&conf, name, deadline)).await {
                Ok(r) => r,
                Err(_) => Err(DirectoryError::Dns {
                    name: name.to_string(),
                    detail: "no answer in time".into(),
                }),
            }
        })
    }

    /// Opens (and closes) a TCP connection to `host:port`; returns how long the connect took.
    pub fn tcp(&self, host: &str, port: u16) -> Result<Duration, DirectoryError> {
        let c = Candidate {
            host: host.to_string(),
            port,
        };
        let started = Instant::now();
        self.runtime
            .block_on(super::ldap::connect::tcp_connect(&c, self.timeout))
            .map(|_| started.elapsed())
    }

    /// The DC's clock in seconds since the epoch: its rootDSE `currentTime`, read without a
    /// bind over plain LDAP (the time is public; nothing else is sent). The DC is also the KDC
    /// this tool uses, so this is the clock Kerberos compares with.
    pub fn server_time(&self, host: &str) -> Result<i64, DirectoryError> {
        let c = Candidate {
            host: host.to_string(),
            port: LDAP_PORT,
        };
        let limit = self.timeout;
        let text = self.runtime.block_on(async {
            let tcp = super::ldap::connect::tcp_connect(&c, limit).await?;
            let std_tcp = tcp
                .into_std()
                .map_err(|e| DirectoryError::Internal(format!("socket: {e}")))?;
            let settings = LdapConnSettings::new()
                .set_conn_timeout(limit)
                .set_std_stream(StdStream::Tcp(std_tcp));
            let url = format!("ldap://{}:{}", c.host, c.port);
            let (conn, mut ldap) =
                match timeout(limit, LdapConnAsync::with_settings(settings, &url)).await {
                    Err(_) => {
                        return Err(DirectoryError::Timeout {
                            server: c.to_string(),
                            what: "the LDAP connection",
                            after: limit,
                        });
                    }
                    Ok(Err(e)) => {
                        return Err(DirectoryError::Connection {
                            server: c.to_string(),
                            detail: e.to_string(),
                        });
                    }
                    Ok(Ok(pair)) => pair,
                };
            let driver = super::ldap::driver::spawn(conn);
            let server = c.to_string();
            let transport = |detail: String| DirectoryError::Connection {
                server: server.clone(),
                detail: driver.explain(detail),
            };
            let mut ctx = Ctx {
                ldap: &mut ldap,
                server: &server,
                timeout: limit,
                on_transport: &transport,
            };
            let t = search::current_time(&mut ctx).await;
            let _ = timeout(limit.min(Duration::from_secs(1)), ldap.unbind()).await;
            t
        })?;
        parse_generalized_time(&text).ok_or_else(|| DirectoryError::BadReply {
            server: c.to_string(),
            detail: format!("currentTime {text:?} is not a GeneralizedTime"),
        })
    }
}
