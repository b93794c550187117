//! From one account's facts (name, realm, SPNs, blob, kvno, enctypes) to the keytab principals
//! and key sets it needs. Pure.

use crate::blob::ManagedPassword;
use crate::crypto;
use crate::enctype::Enctype;
use crate::keytab::{NT_PRINCIPAL, NT_SRV_HST, NT_SRV_INST, Principal, PrincipalError};
use crate::plan::KeySet;

/// Longest account name accepted, not counting the trailing `$`: the SAM limit on
/// sAMAccountName is 20 characters (gMSAs are advised to stay within 15).
pub const MAX_ACCOUNT_CHARS: usize = 20;
/// Longest realm: a DNS domain name.
pub const MAX_REALM_LEN: usize = 253;
/// Longest SPN accepted (AD's servicePrincipalName values are far shorter in practice).
pub const MAX_SPN_LEN: usize = 1024;
/// Characters AD never allows in a sAMAccountName (MS-ADTS / "User Naming Attributes").
const FORBIDDEN_IN_ACCOUNT: &str = "\"/\\[]:;|=,+*?<>@";

/// A name that breaks the rules for account names, realms or SPNs. The text says what is
/// wrong and what a valid name looks like; names are quoted with `{:?}` so control characters
/// show as escapes and a huge name is cut.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "account {0}: not a sAMAccountName: 1 to {MAX_ACCOUNT_CHARS} characters before an \
         optional trailing '$', no control characters and none of \" / \\ [ ] : ; | = , + * ? \
         < > @ (e.g. svc_web$)"
    )]
    Account(String),
    #[error(
        "realm {0}: not a realm: the AD DNS domain, dot-separated labels of letters, digits, \
         '-' and '_' (e.g. EXAMPLE.TEST)"
    )]
    Realm(String),
    #[error("SPN {0}: {1}")]
    Spn(String, &'static str),
}

/// A name as it may appear in an error message: debug-quoted, and cut after 80 characters.
pub fn quoted(name: &str) -> String {
    let mut cut: String = name.chars().take(80).collect();
    if cut.len() < name.len() {
        cut.push_str("...");
        return format!("{cut:?} ({} bytes)", name.len());
    }
    format!("{cut:?}")
}

/// `svc_web$` → `svc_web`: a sAMAccountName without its one trailing `$` (the computer-class
/// marker). The one place this rule is written: the salt, the name PowerShell's `-Identity`
/// and samba-tool's `--name` take, and [`account_name`] all use it.
pub fn base_name(sam_account_name: &str) -> &str {
    sam_account_name
        .strip_suffix('$')
        .unwrap_or(sam_account_name)
}

/// Checks a sAMAccountName and returns it with its trailing `$` (added when absent).
/// Surrounding ASCII spaces are ignored.
pub fn account_name(input: &str) -> Result<String, NameError> {
    let name = input.trim_matches(' ');
    let base = base_name(name);
    if base.is_empty()
        || base.chars().count() > MAX_ACCOUNT_CHARS
        || base
            .chars()
            .any(|c| c.is_control() || c == '$' || FORBIDDEN_IN_ACCOUNT.contains(c))
    {
        return Err(NameError::Account(quoted(input)));
    }
    Ok(format!("{base}$"))
}

/// Checks realm syntax (any case; principals use it upper-cased).
pub fn realm(input: &str) -> Result<(), NameError> {
    let ok = !input.is_empty()
        && input.len() <= MAX_REALM_LEN
        && input.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(NameError::Realm(quoted(input)))
    }
}

/// Sanity of an SPN as text: bounded, no control characters, no whitespace.
pub fn spn(input: &str) -> Result<(), NameError> {
    if input.is_empty() || input.len() > MAX_SPN_LEN {
        return Err(NameError::Spn(
            quoted(input),
            "empty or longer than 1024 bytes",
        ));
    }
    if input.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NameError::Spn(
            quoted(input),
            "contains a control or white-space character",
        ));
    }
    Ok(())
}

/// The principals one gMSA is known by: `sam$@REALM` first, then each SPN (realm appended when
/// absent, realm upper-cased). Duplicates are dropped, first occurrence wins.
pub fn principals(
    sam_account_name: &str,
    realm: &str,
    spns: &[String],
) -> Result<Vec<Principal>, PrincipalError> {
    let realm = realm.to_ascii_uppercase();
    let mut out = vec![Principal::parse(
        &escape_component(sam_account_name),
        Some(&realm),
        NT_PRINCIPAL,
    )?];
    for spn in spns {
        let mut p = Principal::parse(spn, Some(&realm), NT_SRV_HST)?;
        // service/host is a host-based name; other shapes are plain instances.
        p.name_type = match p.components.len() {
            2 => NT_SRV_HST,
            1 => NT_PRINCIPAL,
            _ => NT_SRV_INST,
        };
        if !out.iter().any(|q| q.same_name(&p)) {
            out.push(p);
        }
    }
    Ok(out)
}

/// A sAMAccountName is one component: `/` and `@` in it are literal.
fn escape_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '/' | '@' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Key sets for the blob's passwords: current at `kvno`, previous (when present) at `kvno - 1`.
/// A previous password at kvno 0 would be meaningless (kvnos start at 1), so it is skipped.
pub fn keysets(
    password: &ManagedPassword,
    kvno: u32,
    salt: &str,
    enctypes: &[Enctype],
) -> Vec<KeySet> {
    keysets_salted(password, kvno, salt, salt, enctypes)
}

/// As [`keysets`], with the current and the previous password's AES/DES keys salted apart (a
/// renamed account's KDC holds its active key under the old name's salt, while the password
/// that replaces it is salted with the new name).
pub fn keysets_salted(
    password: &ManagedPassword,
    kvno: u32,
    current_salt: &str,
    previous_salt: &str,
    enctypes: &[Enctype],
) -> Vec<KeySet> {
    let mut sets = vec![KeySet {
        kvno,
        keys: crypto::derive_keys(&password.current, current_salt, enctypes),
    }];
    if let Some(prev) = &password.previous
        && kvno > 1
    {
        sets.push(KeySet {
            kvno: kvno - 1,
            keys: crypto::derive_keys(prev, previous_salt, enctypes),
        });
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_then_spns_with_upper_realm() {
        let spns = vec![
            "HTTP/web.example.test".to_string(),
            "HTTP/web.example.test@example.test".to_string(),
            "MSSQLSvc/db.example.test:1433".to_string(),
            "ldap/dc1.example.test/example.test".to_string(),
        ];
        let p = principals("svc_web$", "example.test", &spns).unwrap();
        let names: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            names,
            [
                "svc_web$@EXAMPLE.TEST",
                "HTTP/web.example.test@EXAMPLE.TEST",
                "MSSQLSvc/db.example.test:1433@EXAMPLE.TEST",
                "ldap/dc1.example.test/example.test@EXAMPLE.TEST",
            ]
        );
        let types: Vec<u32> = p.iter().map(|p| p.name_type).collect();
        assert_eq!(types, [1, 3, 3, 2]);
    }

    #[test]
    fn base_name_drops_one_trailing_dollar() {
        assert_eq!(base_name("svc_web$"), "svc_web");
        assert_eq!(base_name("svc_web"), "svc_web");
        assert_eq!(base_name("a$$"), "a$");
        assert_eq!(base_name("$"), "");
        // What account_name returns always maps back to the name it was given.
        for name in ["svc_web", "a(b", "x"] {
            assert_eq!(base_name(&account_name(name).unwrap()), name);
        }
    }

    #[test]
    fn account_name_rules() {
        assert_eq!(account_name("svc_web").unwrap(), "svc_web$");
        assert_eq!(account_name(" svc_web$ ").unwrap(), "svc_web$");
        assert_eq!(account_name("a(b").unwrap(), "a(b$");
        assert_eq!(account_name(&"a".repeat(20)).unwrap().len(), 21);
        for bad in [
            "", "$", "a/b", "a@b", "a\\b", "a[b", "a]b", "a:b", "a;b", "a|b", "a=b", "a,b", "a+b",
            "a*b", "a?b", "a<b", "a>b", "a\"b", "a\nb", "a\tb", "a\u{7f}b", "a$b$", "a$$",
        ] {
            assert!(account_name(bad).is_err(), "{bad:?}");
        }
        assert!(account_name(&"a".repeat(21)).is_err());
        let long = "x".repeat(70_000);
        let e = account_name(&long).unwrap_err().to_string();
        assert!(e.len() < 400 && e.contains("70000 bytes"), "{e}");
    }

    #[test]
    fn realm_and_spn_rules() {
        assert!(realm("EXAMPLE.TEST").is_ok());
        assert!(realm("ad-1.example_x.test").is_ok());
        for bad in [
            "",
            ".",
            "A..B",
            "A B",
            "A\nB",
            "A@B",
            "A/B",
            &"a".repeat(64),
        ] {
            assert!(realm(bad).is_err(), "{bad:?}");
        }
        assert!(spn("HTTP/web.example.test").is_ok());
        assert!(spn("HTTP/web\n.example.test").is_err());
        assert!(spn("HTTP/web example").is_err());
        assert!(principals("svc$", "R", &["HTTP/a\tb".into()]).is_err());
    }

    #[test]
    fn odd_account_names_stay_one_component() {
        let p = principals("we/ird$", "EXAMPLE.TEST", &[]).unwrap();
        assert_eq!(p[0].components, vec![b"we/ird$".to_vec()]);
        assert!(principals("svc$", "R", &["bad//spn".into()]).is_err());
    }
}
