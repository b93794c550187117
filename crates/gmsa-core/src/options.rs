//! How the daemon reaches the directory: which DCs, as whom, and how the LDAP connection is
//! kept confidential. One type, [`DirectoryOptions`], is both what the configuration file's
//! top-level keys resolve to (`Config::directory`) and what the directory client connects with.

use crate::defaults;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryOptions {
    /// The host keytab to authenticate from (`client-keytab`).
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

impl Default for DirectoryOptions {
    fn default() -> Self {
        DirectoryOptions {
            client_keytab: PathBuf::from(defaults::CLIENT_KEYTAB),
            client_principal: None,
            servers: Vec::new(),
            domain: None,
            site: None,
            protection: defaults::PROTECTION,
            ca_file: None,
            timeout: defaults::TIMEOUT,
        }
    }
}

/// How the LDAP connection is kept confidential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// SASL GSSAPI with the confidentiality (sealing) layer, port 389.
    Seal,
    /// TLS from the start (port 636), GSSAPI bind with tls-server-end-point channel binding.
    Ldaps,
    /// StartTLS on port 389, then as `Ldaps`.
    StartTls,
}

impl Default for Protection {
    fn default() -> Self {
        defaults::PROTECTION
    }
}

impl Protection {
    /// Every protection, in the order the help text lists them.
    pub const ALL: [Protection; 3] = [Protection::Seal, Protection::Ldaps, Protection::StartTls];

    /// The LDAP port a DC named without one is asked on.
    pub const fn default_port(self) -> u16 {
        match self {
            Protection::Ldaps => defaults::LDAPS_PORT,
            Protection::Seal | Protection::StartTls => defaults::LDAP_PORT,
        }
    }

    /// The name in the configuration (`protection = "seal"`) and on the command line.
    pub const fn as_str(self) -> &'static str {
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
