//! Directory errors: each message says what happened and what the operator can do about it.

use crate::exit::Class;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// One failed try at one domain controller.
#[derive(Debug)]
pub struct Attempt {
    /// `host:port` as tried.
    pub server: String,
    pub error: DirectoryError,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    // --- the host's own credentials -------------------------------------------------------
    #[error("cannot read the client keytab {}: {source}", path.display())]
    ClientKeytabUnreadable { path: PathBuf, source: io::Error },

    #[error(
        "the client keytab {} is not a usable MIT keytab: {detail}; point client-keytab at the \
         host keytab (default {})",
        path.display(), crate::defaults::CLIENT_KEYTAB
    )]
    ClientKeytabInvalid { path: PathBuf, detail: String },

    #[error(
        "the client keytab {} has no machine account entry (NAME$@REALM){}; join the host to \
         the domain (realm join / adcli join) or set client-principal",
        path.display(), found_list(found)
    )]
    NoClientPrincipal { path: PathBuf, found: Vec<String> },

    #[error(
        "the client keytab {} holds several machine accounts ({}); set client-principal to \
         the one to use",
        path.display(), candidates.join(", ")
    )]
    AmbiguousClientPrincipal {
        path: PathBuf,
        candidates: Vec<String>,
    },

    #[error(
        "the client keytab {} has no key for {principal}{}; fix client-principal or \
         re-export the keytab",
        path.display(), found_list(found)
    )]
    ClientPrincipalNotInKeytab {
        path: PathBuf,
        principal: String,
        found: Vec<String>,
    },

    #[error("cannot get Kerberos credentials for {principal} from {}: {detail}", path.display())]
    Credential {
        principal: String,
        path: PathBuf,
        detail: String,
    },

    #[error(
        "the KDC refused {principal}: {detail}; the host keytab is probably out of date \
         (machine password changed or account disabled): re-join the host or re-export its keytab"
    )]
    ClientRejected { principal: String, detail: String },

    #[error(
        "clock skew between this host and the domain is too large{} ({detail}); synchronize the \
         clock (chrony/ntpd against the domain controllers) and retry",
        skew_text(offset)
    )]
    ClockSkew {
        detail: String,
        /// This host's clock minus the KDC's, in seconds, when a KDC reply stated its time.
        offset: Option<i64>,
    },

    #[error(
        "no KDC reachable for realm {realm} ({detail}); tickets come from the KDC of the domain \
         controller in use, so it must accept Kerberos on TCP port 88 from this host: check \
         firewalls and the DC's Kerberos service, then retry"
    )]
    KdcUnreachable { realm: String, detail: String },

    #[error(
        "the KDC does not know {spn} ({detail}); use the domain controller's DNS host name as \
         registered in Active Directory, not an IP address or an alias"
    )]
    ServicePrincipalUnknown { spn: String, detail: String },

    #[error("Kerberos authentication to {server} failed: {detail}")]
    Kerberos { server: String, detail: String },

    // --- options ------------------------------------------------------------------------------
    #[error("invalid option: {0}")]
    BadOption(String),

    #[error("cannot use the CA file {}: {detail}", path.display())]
    CaFile {
        path: PathBuf,
        detail: String,
        source: Option<io::Error>,
    },

    // --- finding and reaching a DC ------------------------------------------------------------
    #[error("DNS lookup of {name} failed: {detail}; check /etc/resolv.conf or set servers")]
    Dns { name: String, detail: String },

    #[error(
        "DNS has no domain controller records ({}); check the domain name, or list the DCs in \
         servers",
        names.join(", ")
    )]
    NoDcRecords { names: Vec<String> },

    #[error("cannot reach {server}: {detail}")]
    Unreachable { server: String, detail: String },

    #[error("{server} did not answer {what} within {}s", after.as_secs_f32())]
    Timeout {
        server: String,
        what: &'static str,
        after: Duration,
    },

    #[error(
        "TLS with {server} failed: {detail}; if the DC certificate comes from a private CA, set \
         ca-file"
    )]
    Tls { server: String, detail: String },

    // --- confidentiality ----------------------------------------------------------------------
    #[error(
        "{server} requires LDAP channel binding and rejected the bind ({text}); use the default \
         sealed LDAP (protection = seal) or make sure the DC certificate's signature algorithm \
         allows a tls-server-end-point binding"
    )]
    ChannelBindingRequired { server: String, text: String },

    #[error(
        "cannot bind TLS channel binding for {server}: {detail}; the DC would see a bind \
         without channel binding, so this tool refuses; use protection = seal"
    )]
    NoChannelBinding { server: String, detail: String },

    #[error(
        "{server} requires stronger authentication ({text}); use protection = seal, ldaps or starttls"
    )]
    StrongerAuthRequired { server: String, text: String },

    #[error(
        "the connection to {server} is not confidential: {detail}; refusing to ask for a \
         password over it"
    )]
    NotConfidential { server: String, detail: String },

    #[error("{server} rejected the bind (LDAP result {rc}: {text})")]
    BindRejected {
        server: String,
        rc: u32,
        text: String,
    },

    #[error("no domain controller could be used ({} tried):{}", attempts.len(), attempt_list(attempts))]
    AllServersFailed { attempts: Vec<Attempt> },

    // --- the accounts -----------------------------------------------------------------------
    #[error(
        "no account {account} under {base} on {server}; check the name (the sAMAccountName of \
         the gMSA, e.g. svc_web$)"
    )]
    NotFound {
        account: String,
        base: String,
        server: String,
    },

    #[error(
        "{account} ({dn}) is not a group managed service account (objectClass {}); only \
         gMSAs have a managed password",
        classes.join(", ")
    )]
    NotAGmsa {
        account: String,
        dn: String,
        classes: Vec<String>,
    },

    #[error(
        "{client} may not read the managed password of {account} ({dn}): add it to the \
         account's PrincipalsAllowedToRetrieveManagedPassword (msDS-GroupMSAMembership), e.g. \
         Set-ADServiceAccount -Identity {} -PrincipalsAllowedToRetrieveManagedPassword \
         <hosts or group>, or samba-tool service-account group-msa-membership add \
         --name='{account}' --principal='{}'; a new group membership is seen on the next run",
        crate::account::base_name(account), client.split('@').next().unwrap_or(client)
    )]
    NotAllowed {
        account: String,
        dn: String,
        client: String,
    },

    #[error(
        "the search for {account} matched {count} entries on {server}; sAMAccountName must be unique"
    )]
    Ambiguous {
        account: String,
        count: usize,
        server: String,
    },

    #[error("LDAP {op} on {server} failed (result {rc}: {text})")]
    Ldap {
        server: String,
        op: &'static str,
        rc: u32,
        text: String,
    },

    #[error("the connection to {server} failed: {detail}")]
    Connection { server: String, detail: String },

    #[error("{server} sent an answer this tool cannot use: {detail}")]
    BadReply { server: String, detail: String },

    #[error("internal error: {0}")]
    Internal(String),
}

fn skew_text(offset: &Option<i64>) -> String {
    match offset {
        Some(o) => format!(
            ": this host's clock is {} the KDC's",
            super::kerberos::kdc_time::describe_offset(*o)
        ),
        None => String::new(),
    }
}

fn found_list(found: &[String]) -> String {
    if found.is_empty() {
        " (it has no entries)".to_string()
    } else {
        format!(" (it has: {})", found.join(", "))
    }
}

fn attempt_list(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| {
            let message = a.error.to_string();
            let host = a
                .server
                .rsplit_once(':')
                .map_or(a.server.as_str(), |(h, _)| h);
            if message.contains(host) {
                format!("\n  - {message}")
            } else {
                format!("\n  - {}: {message}", a.server)
            }
        })
        .collect()
}

impl DirectoryError {
    /// The exit-code class of this failure.
    pub fn class(&self) -> Class {
        use DirectoryError::*;
        match self {
            ClientKeytabUnreadable { source, .. } => {
                if source.kind() == io::ErrorKind::PermissionDenied {
                    Class::NoPerm
                } else {
                    Class::NoInput
                }
            }
            ClientKeytabInvalid { .. }
            | NoClientPrincipal { .. }
            | AmbiguousClientPrincipal { .. }
            | ClientPrincipalNotInKeytab { .. }
            | Credential { .. } => Class::NoInput,
            ClientRejected { .. } => Class::NoPerm,
            ClockSkew { .. } | KdcUnreachable { .. } => Class::TempFail,
            ServicePrincipalUnknown { .. } => Class::Config,
            Kerberos { .. } => Class::Protocol,
            BadOption(_) => Class::Config,
            CaFile { source, .. } => match source {
                Some(e) if e.kind() == io::ErrorKind::PermissionDenied => Class::NoPerm,
                Some(_) => Class::NoInput,
                None => Class::Config,
            },
            Dns { .. } => Class::TempFail,
            NoDcRecords { .. } => Class::Config,
            Unreachable { .. } | Timeout { .. } | Connection { .. } => Class::TempFail,
            Tls { .. }
            | ChannelBindingRequired { .. }
            | NoChannelBinding { .. }
            | StrongerAuthRequired { .. }
            | NotConfidential { .. }
            | BindRejected { .. }
            | Ambiguous { .. }
            | Ldap { .. }
            | BadReply { .. } => Class::Protocol,
            AllServersFailed { attempts } => {
                // One cause everywhere (say, clock skew, or channel binding on every DC) keeps its
                // own class; a mix is "try again later".
                let mut classes = attempts.iter().map(|a| a.error.class());
                match classes.next() {
                    Some(first) if classes.all(|c| c == first) => first,
                    _ => Class::TempFail,
                }
            }
            NotFound { .. } | NotAGmsa { .. } => Class::NoAccount,
            NotAllowed { .. } => Class::NoPerm,
            Internal(_) => Class::Software,
        }
    }

    /// Whether this failure of a search means the DC in use stopped serving: it froze (a
    /// timeout), dropped or reset the connection, or said it is busy (51) or unavailable (52).
    /// The remaining accounts then move to another DC instead of waiting for this one once
    /// each.
    pub fn is_dc_failure(&self) -> bool {
        use DirectoryError::*;
        matches!(
            self,
            Timeout { .. } | Connection { .. } | Unreachable { .. } | Ldap { rc: 51 | 52, .. }
        )
    }

    /// Whether trying another DC could help. Problems of this host's own credentials or options
    /// are the same everywhere, so failover stops on them.
    pub(crate) fn is_local(&self) -> bool {
        use DirectoryError::*;
        matches!(
            self,
            ClientKeytabUnreadable { .. }
                | ClientKeytabInvalid { .. }
                | NoClientPrincipal { .. }
                | AmbiguousClientPrincipal { .. }
                | ClientPrincipalNotInKeytab { .. }
                | Credential { .. }
                | ClientRejected { .. }
                | BadOption(_)
                | CaFile { .. }
                | Internal(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_allowed_names_host_account_and_fix() {
        let e = DirectoryError::NotAllowed {
            account: "svc_denied$".into(),
            dn: "CN=svc_denied,CN=Managed Service Accounts,DC=example,DC=test".into(),
            client: "host1$@EXAMPLE.TEST".into(),
        };
        let m = e.to_string();
        assert!(m.contains("host1$@EXAMPLE.TEST"), "{m}");
        assert!(m.contains("svc_denied$"), "{m}");
        assert!(
            m.contains("PrincipalsAllowedToRetrieveManagedPassword"),
            "{m}"
        );
        assert!(m.contains("--principal='host1$'"), "{m}");
        assert!(m.contains("-Identity svc_denied "), "{m}");
        assert_eq!(e.class(), Class::NoPerm);
    }

    #[test]
    fn all_failed_lists_each_attempt_and_keeps_a_common_class() {
        let skew = |s: &str| Attempt {
            server: s.into(),
            error: DirectoryError::ClockSkew {
                detail: "Clock skew too great".into(),
                offset: Some(-39_600),
            },
        };
        let e = DirectoryError::AllServersFailed {
            attempts: vec![skew("dc1:389"), skew("dc2:389")],
        };
        let m = e.to_string();
        assert!(m.contains("dc1:389") && m.contains("dc2:389"), "{m}");
        assert!(m.contains("clock skew"), "{m}");
        assert!(
            m.contains("this host's clock is 11 h 0 min 0 s behind the KDC's"),
            "{m}"
        );
        assert_eq!(e.class(), Class::TempFail);

        let mixed = DirectoryError::AllServersFailed {
            attempts: vec![
                Attempt {
                    server: "dc1:389".into(),
                    error: DirectoryError::ChannelBindingRequired {
                        server: "dc1".into(),
                        text: "80090346".into(),
                    },
                },
                Attempt {
                    server: "dc2:389".into(),
                    error: DirectoryError::ChannelBindingRequired {
                        server: "dc2".into(),
                        text: "80090346".into(),
                    },
                },
            ],
        };
        assert_eq!(mixed.class(), Class::Protocol);
    }

    #[test]
    fn keytab_permission_is_noperm_missing_is_noinput() {
        let e = DirectoryError::ClientKeytabUnreadable {
            path: "/etc/krb5.keytab".into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(e.class(), Class::NoPerm);
        let e = DirectoryError::ClientKeytabUnreadable {
            path: "/etc/krb5.keytab".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(e.class(), Class::NoInput);
    }
}
