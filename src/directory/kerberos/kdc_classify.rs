//! What a failed Kerberos exchange with the DC's KDC means for the operator, by its krb5 error
//! code (never by the words of MIT's message), and with the KDC's clock when a KRB-ERROR stated
//! it. Pure: a code, a message and names in, a [`DirectoryError`] out.

use super::kdc::Target;
use super::kdc_time;
use crate::directory::error::DirectoryError;
use crate::sys::{KrbError, krb5_codes as code};
use std::path::Path;

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

    pub(crate) fn into_error(self, stage: Stage, t: &Target<'_>) -> DirectoryError {
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
}
