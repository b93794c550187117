//! Keys the KDC refutes: what its ticket said, kept as fields, and the one text an operator
//! reads (the error's Display; `doctor` shows the detail and the hint apart).

use crate::enctype::Enctype;
use std::fmt;

/// Where the salt of a refuted key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaltSource {
    /// The KDC's salt probe.
    Kdc,
    /// The account's current name: the salt the KDC gives a new password (the next key).
    NewName,
    /// Computed from the account's name, because the KDC's salt could not be read.
    Computed { why: super::trust::NoKdcSalt },
}

/// What the KDC's ticket refuted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refutation {
    /// The KDC issues tickets under a kvno that is not about to be written.
    UnknownKvno {
        kdc_kvno: Option<u32>,
        written: Vec<u32>,
        directory_kvno: u32,
    },
    /// The key of the ticket's kvno and enctype does not decrypt it.
    WrongKey {
        kvno: u32,
        enctype: Enctype,
        salt: String,
        source: SaltSource,
        /// Whether the salt probe said which salt the KDC holds.
        kdc_salt_known: bool,
    },
}

/// The keys about to be written for `account` are not the KDC's; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{account}: {}. The keytab was left untouched. {}", self.detail(), self.hint())]
pub struct KeyRefuted {
    pub account: String,
    /// The DC whose KDC issued the ticket.
    pub server: String,
    pub refutation: Refutation,
}

impl KeyRefuted {
    /// What the KDC's ticket showed.
    pub fn detail(&self) -> String {
        let server = &self.server;
        match &self.refutation {
            Refutation::UnknownKvno {
                kdc_kvno,
                written,
                directory_kvno,
            } => {
                let written: Vec<String> = written.iter().map(u32::to_string).collect();
                format!(
                    "the KDC on {server} issues tickets under kvno {}, but the keys about to be \
                     written are kvno {} (msDS-KeyVersionNumber {directory_kvno})",
                    kdc_kvno.map_or_else(|| "(none)".to_string(), |k| k.to_string()),
                    written.join(" and "),
                )
            }
            Refutation::WrongKey {
                kvno,
                enctype,
                salt,
                source,
                ..
            } => format!(
                "a ticket from the KDC on {server} (kvno {kvno}, {}) does not decrypt with the key \
                 derived from the blob's password with salt {salt:?} ({})",
                enctype.name(),
                Words(source)
            ),
        }
    }

    /// Whether another DC could answer with keys its KDC confirms: not when the salt is the
    /// question (every DC's KDC salts alike), yes when this DC's directory and KDC disagree.
    pub fn another_dc_may_agree(&self) -> bool {
        !matches!(
            self.refutation,
            Refutation::WrongKey {
                kdc_salt_known: false,
                ..
            }
        )
    }

    /// The likely cause and what to do.
    pub fn hint(&self) -> &'static str {
        match &self.refutation {
            Refutation::WrongKey {
                kdc_salt_known: false,
                ..
            } => {
                "Likely cause: the account was renamed (sAMAccountName) after its password was \
                 set, and the KDC still salts its keys with the old name; its keys follow the new \
                 name after the next password change. Let the salt probe through (salt-probe = \
                 true; an AS-REQ without pre-authentication to the DC's port 88) so the KDC's salt \
                 is used, or wait for the next rotation."
            }
            Refutation::WrongKey { .. } => {
                "Likely cause: this DC's KDC holds another password than its directory hands out \
                 (replication in progress, a DC that is behind, or a password change between the \
                 reads). Run again later, or list another DC in `servers`."
            }
            Refutation::UnknownKvno { .. } => {
                "Likely cause: this DC's directory and its KDC disagree (replication in progress, \
                 or a DC that is behind). Run again later, or list another DC in `servers`."
            }
        }
    }
}

struct Words<'a>(&'a SaltSource);

impl fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SaltSource::Kdc => f.write_str("as the KDC said"),
            SaltSource::NewName => {
                f.write_str("from the account's current name: the KDC salts a new password so")
            }
            SaltSource::Computed { why } => write!(
                f,
                "computed from the account's name, because the KDC's salt could not be read: {why}"
            ),
        }
    }
}
