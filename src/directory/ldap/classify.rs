//! What a failure of the LDAP side means for the operator: the GSSAPI bind's krb5 code, a bind
//! or search result, an error while opening the connection. Pure: an error in, a
//! [`DirectoryError`] out; never by the words of MIT's messages where a code exists.

use super::connect::Plan;
use crate::directory::error::DirectoryError;
use crate::directory::kerberos::kdc;
use ldap3::{LdapError, LdapResult};
use std::time::Duration;

/// Classifies a GSSAPI failure of the bind (via ldap3 / cross-krb5) by the krb5 error code
/// in its minor status, as [`kdc::classify_code`] does for the KDC exchanges: never by the
/// words of MIT's message (an SPN or principal containing "client" or "skew" must not change
/// the verdict). Without a code (ldap3's own protocol checks) it is a Kerberos failure of
/// this DC.
pub(crate) fn gss_error(
    plan: &Plan<'_>,
    host: &str,
    text: String,
    minor: Option<u32>,
) -> DirectoryError {
    match minor {
        // The minor status of the krb5 mechanism is a krb5_error_code (an i32) as OM_uint32.
        Some(code) if code != 0 => kdc::classify_code(
            kdc::Stage::Service,
            code as i32,
            &text,
            host,
            plan.client_principal,
            plan.client_realm,
            plan.client_keytab,
        ),
        _ => DirectoryError::Kerberos {
            server: host.into(),
            detail: text,
        },
    }
}

/// [`gss_error`] for the GSSAPI errors of ldap3: the patched `GssapiFailure` carries the minor
/// status, `GssapiOperationError` (ldap3's own protocol checks) none.
pub(crate) fn gss_failure(plan: &Plan<'_>, host: &str, e: LdapError) -> DirectoryError {
    let (text, minor) = match e {
        LdapError::GssapiFailure { text, minor } => (text, minor),
        LdapError::GssapiOperationError(text) => (text, None),
        other => (other.to_string(), None),
    };
    gss_error(plan, host, text, minor)
}

/// Classifies a failed bind result.
pub(crate) fn bind_error(host: &str, r: &LdapResult) -> DirectoryError {
    let text = r.text.trim().to_string();
    let upper = text.to_ascii_uppercase();
    if upper.contains("80090346") {
        DirectoryError::ChannelBindingRequired {
            server: host.into(),
            text,
        }
    } else if upper.contains("SKEW")
        || upper.contains("80090324")
        || upper.contains("TIME_DIFFERENCE")
    {
        DirectoryError::ClockSkew {
            detail: format!("{host}: {text}"),
            offset: None,
        }
    } else if r.rc == 8 {
        DirectoryError::StrongerAuthRequired {
            server: host.into(),
            text,
        }
    } else {
        DirectoryError::BindRejected {
            server: host.into(),
            rc: r.rc,
            text,
        }
    }
}

/// Classifies a failure to open the LDAP connection (TCP already up): TLS, StartTLS, time.
pub(crate) fn ldap_open_error(
    host: &str,
    what: &'static str,
    limit: Duration,
    e: LdapError,
) -> DirectoryError {
    match e {
        LdapError::Timeout { .. } => DirectoryError::Timeout {
            server: host.into(),
            what,
            after: limit,
        },
        LdapError::NativeTLS { source } => DirectoryError::Tls {
            server: host.into(),
            detail: source.to_string(),
        },
        LdapError::LdapResult { result } => DirectoryError::Tls {
            server: host.into(),
            detail: format!(
                "StartTLS refused (LDAP result {}: {})",
                result.rc,
                result.text.trim()
            ),
        },
        other => DirectoryError::Connection {
            server: host.into(),
            detail: other.to_string(),
        },
    }
}

/// Classifies a failed search result.
pub(crate) fn result_error(server: &str, op: &'static str, r: &LdapResult) -> DirectoryError {
    let text = r.text.trim().to_string();
    let upper = text.to_ascii_uppercase();
    if r.rc == 8 {
        DirectoryError::StrongerAuthRequired {
            server: server.into(),
            text,
        }
    } else if upper.contains("202D") || upper.contains("CONFIDENTIAL") {
        DirectoryError::NotConfidential {
            server: server.into(),
            detail: format!("the DC says so (LDAP result {}: {text})", r.rc),
        }
    } else {
        DirectoryError::Ldap {
            server: server.into(),
            op,
            rc: r.rc,
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Protection;

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: text.into(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    #[test]
    fn bind_results_are_classified() {
        let cb = bind_error(
            "dc1",
            &result(
                49,
                "80090346: LdapErr: DSID-0C090591, comment: AcceptSecurityContext error, data 80090346, v4563",
            ),
        );
        assert!(matches!(cb, DirectoryError::ChannelBindingRequired { .. }));
        let sa = bind_error(
            "dc1",
            &result(
                8,
                "Strong(er) authentication required: Sign or Seal are required",
            ),
        );
        assert!(matches!(sa, DirectoryError::StrongerAuthRequired { .. }));
        let sk = bind_error("dc1", &result(49, "KRB_AP_ERR_SKEW"));
        assert!(matches!(sk, DirectoryError::ClockSkew { .. }));
        assert!(matches!(
            bind_error("dc1", &result(49, "nope")),
            DirectoryError::BindRejected { .. }
        ));
    }

    #[test]
    fn gss_failures_are_classified_by_code_not_words() {
        use crate::sys::krb5_codes as code;
        let keytab = std::path::PathBuf::from("/etc/krb5.keytab");
        let plan = Plan {
            protection: Protection::Seal,
            tls: None,
            timeout: Duration::from_secs(1),
            client_keytab: &keytab,
            client_principal: "HOST1$@EXAMPLE.TEST",
            client_realm: "EXAMPLE.TEST",
        };
        let g = |t: &str, c: i32| gss_error(&plan, "dc1", t.into(), Some(c as u32));
        assert!(matches!(
            g("Unspecified GSS failure", code::AP_ERR_SKEW),
            DirectoryError::ClockSkew { .. }
        ));
        let e = g("...", code::KDC_UNREACH);
        assert!(matches!(e, DirectoryError::KdcUnreachable { .. }));
        assert_eq!(e.class(), crate::exit::Class::TempFail);
        assert!(matches!(
            g("...", code::KDC_ERR_S_PRINCIPAL_UNKNOWN),
            DirectoryError::ServicePrincipalUnknown { .. }
        ));
        assert!(matches!(
            g("...", code::KDC_ERR_C_PRINCIPAL_UNKNOWN),
            DirectoryError::ClientRejected { .. }
        ));
        // The words do not decide: an unknown server whose name says "client", and a message
        // that says "skew" under another code.
        assert!(matches!(
            g(
                "Server ldap/client1.example.test@EXAMPLE.TEST not found in Kerberos database",
                code::KDC_ERR_S_PRINCIPAL_UNKNOWN
            ),
            DirectoryError::ServicePrincipalUnknown { .. }
        ));
        assert!(matches!(
            g(
                "ldap/skew.example.test: Decrypt integrity check failed",
                code::AP_ERR_BAD_INTEGRITY
            ),
            DirectoryError::Kerberos { .. }
        ));
        // No code (ldap3's own checks): a Kerberos failure of this DC, whatever the text.
        assert!(matches!(
            gss_error(&plan, "dc1", "Clock skew too great".into(), None),
            DirectoryError::Kerberos { .. }
        ));
    }
}
