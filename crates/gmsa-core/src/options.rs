//! How the daemon reaches the directory: the confidentiality of the LDAP connection
//! ([`Protection`]).

use crate::defaults;
use std::str::FromStr;

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
