//! LDAP and AD value syntax the searches need: filter escaping (RFC 4515), the sAMAccountName
//! of a configured name, the realm of a `DC=` naming context, AD's signed integers. Pure.

use crate::directory::error::DirectoryError;

/// RFC 4515 escaping of an assertion value.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// The sAMAccountName for a configured account name: `svc_web` and `svc_web$` both give
/// `svc_web$`. Characters AD forbids in sAMAccountName are refused.
pub fn sam_account_name(account: &str) -> Result<String, DirectoryError> {
    crate::account::account_name(account).map_err(|e| DirectoryError::BadOption(e.to_string()))
}

/// `DC=example,DC=test` → `EXAMPLE.TEST`. Only pure DC= naming contexts map to a realm.
pub fn realm_from_dn(dn: &str) -> Option<String> {
    let mut labels = Vec::new();
    for rdn in dn.split(',') {
        let (attr, value) = rdn.trim().split_once('=')?;
        let value = value.trim();
        if !attr.trim().eq_ignore_ascii_case("dc")
            || value.is_empty()
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        labels.push(value.to_ascii_uppercase());
    }
    if labels.is_empty() {
        None
    } else {
        Some(labels.join("."))
    }
}

/// AD integer syntax is a signed 32-bit decimal; flag words with bit 31 set come back negative.
pub fn parse_ad_u32(text: &str) -> Option<u32> {
    let v: i64 = text.trim().parse().ok()?;
    if (i64::from(i32::MIN)..0).contains(&v) {
        Some(v as i32 as u32)
    } else {
        u32::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_escaping() {
        assert_eq!(escape_filter_value("svc_web$"), "svc_web$");
        assert_eq!(escape_filter_value("a*(b)\\c\0"), "a\\2a\\28b\\29\\5cc\\00");
        assert_eq!(escape_filter_value("é"), "é");
    }

    #[test]
    fn account_names() {
        assert_eq!(sam_account_name("svc_web").unwrap(), "svc_web$");
        assert_eq!(sam_account_name(" svc_web$ ").unwrap(), "svc_web$");
        // '(' is legal in AD names; the filter escaping handles it.
        assert_eq!(sam_account_name("a(b").unwrap(), "a(b$");
        for bad in ["", "$", "svc$$", "a*", "x@EXAMPLE.TEST", "a\nb", "a/b"] {
            assert!(sam_account_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn realms_from_naming_contexts() {
        assert_eq!(
            realm_from_dn("DC=example,DC=test").as_deref(),
            Some("EXAMPLE.TEST")
        );
        assert_eq!(
            realm_from_dn("dc=Corp, dc=Example ,DC=com").as_deref(),
            Some("CORP.EXAMPLE.COM")
        );
        assert_eq!(realm_from_dn("OU=x,DC=example,DC=test"), None);
        assert_eq!(realm_from_dn(""), None);
        assert_eq!(realm_from_dn("DC=a\\,b,DC=test"), None);
    }

    #[test]
    fn ad_integers() {
        assert_eq!(parse_ad_u32("24"), Some(24));
        assert_eq!(parse_ad_u32("-2147483648"), Some(0x8000_0000));
        assert_eq!(parse_ad_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_ad_u32("4294967296"), None);
        assert_eq!(parse_ad_u32("x"), None);
    }
}
