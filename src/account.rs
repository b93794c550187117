//! From one account's facts (name, realm, SPNs, blob, kvno, enctypes) to the keytab principals
//! and key sets it needs. Pure.

use crate::blob::ManagedPassword;
use crate::crypto;
use crate::enctype::Enctype;
use crate::keytab::{NT_PRINCIPAL, NT_SRV_HST, NT_SRV_INST, Principal, PrincipalError};
use crate::plan::KeySet;

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
    fn odd_account_names_stay_one_component() {
        let p = principals("we/ird$", "EXAMPLE.TEST", &[]).unwrap();
        assert_eq!(p[0].components, vec![b"we/ird$".to_vec()]);
        assert!(principals("svc$", "R", &["bad//spn".into()]).is_err());
    }
}
