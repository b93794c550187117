//! Blob input as users hand it over: raw bytes, or the base64 text `ldapsearch` prints
//! (bare, or as an LDIF `msDS-ManagedPassword:: ...` line, possibly folded). Pure.

use base64::Engine;
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobInputError {
    #[error("the blob input is empty")]
    Empty,
    #[error(
        "the blob input is neither a raw blob (starting 01 00) nor base64 text: {0}; \
         pass the raw attribute value or the base64 that ldapsearch prints"
    )]
    NotBase64(String),
    #[error("the LDIF holds no msDS-ManagedPassword:: value")]
    NoAttribute,
}

/// Decodes blob input. A raw blob starts with Version 1 (`01 00`), which no base64 text can:
/// `0x01` is not a base64 character, so the two forms never overlap.
pub fn decode(input: &[u8]) -> Result<Zeroizing<Vec<u8>>, BlobInputError> {
    if input.is_empty() {
        return Err(BlobInputError::Empty);
    }
    if input.first() == Some(&0x01) {
        return Ok(Zeroizing::new(input.to_vec()));
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| BlobInputError::NotBase64("it is not text".into()))?;
    let b64 = base64_payload(text)?;
    if b64.is_empty() {
        return Err(BlobInputError::Empty);
    }
    let mut out = Zeroizing::new(Vec::new());
    base64::engine::general_purpose::STANDARD
        .decode_vec(b64.as_bytes(), &mut out)
        .map_err(|e| BlobInputError::NotBase64(e.to_string()))?;
    Ok(out)
}

/// The base64 characters of the input: the `msDS-ManagedPassword::` value if it is LDIF
/// (continuation lines begin with one space), else the whole text, whitespace removed.
fn base64_payload(text: &str) -> Result<Zeroizing<String>, BlobInputError> {
    const ATTR: &str = "msds-managedpassword::";
    let is_ldif = text.lines().any(|l| l.contains(':'));
    let mut out = Zeroizing::new(String::new());
    if !is_ldif {
        out.extend(text.chars().filter(|c| !c.is_whitespace()));
        return Ok(out);
    }
    let mut in_value = false;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if in_value {
            if let Some(cont) = line.strip_prefix(' ') {
                out.push_str(cont.trim());
                continue;
            }
            break;
        }
        // `get` rather than indexing: the cut may fall inside a multi-byte character.
        if let (Some(name), Some(value)) = (line.get(..ATTR.len()), line.get(ATTR.len()..))
            && name.eq_ignore_ascii_case(ATTR)
        {
            out.push_str(value.trim());
            in_value = true;
        }
    }
    if !in_value {
        return Err(BlobInputError::NoAttribute);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = &[1, 0, 0, 0, 0x10, 0, 0, 0, 0xff, 0xfe, 0, 1];

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn raw_passes_through() {
        assert_eq!(decode(RAW).unwrap().as_slice(), RAW);
    }

    #[test]
    fn bare_base64_with_newlines() {
        let t = format!("{}\n", b64(RAW));
        assert_eq!(decode(t.as_bytes()).unwrap().as_slice(), RAW);
        let (a, b) = t.split_at(5);
        let wrapped = format!("{a}\n{b}");
        assert_eq!(decode(wrapped.as_bytes()).unwrap().as_slice(), RAW);
    }

    #[test]
    fn ldif_with_folding() {
        let v = b64(RAW);
        let (a, b) = v.split_at(6);
        let ldif = format!(
            "dn: CN=svc_web,CN=Managed Service Accounts,DC=example,DC=test\n\
             msDS-ManagedPassword:: {a}\r\n {b}\nsAMAccountName: svc_web$\n"
        );
        assert_eq!(decode(ldif.as_bytes()).unwrap().as_slice(), RAW);
        assert_eq!(
            decode(b"dn: x\nname: y\n").unwrap_err(),
            BlobInputError::NoAttribute
        );
    }

    #[test]
    fn multibyte_text_at_the_attribute_cut_is_not_a_panic() {
        // Found by fuzzing: byte 22 of this line falls inside 'ð'.
        let line = "AQfpPqkjDonVoaAgmYjc:ð";
        assert!(!line.is_char_boundary(22));
        assert!(decode(line.as_bytes()).is_err());
        assert!(decode("msDS-ManagedPassword::ð\n".as_bytes()).is_err());
    }

    #[test]
    fn garbage_is_named() {
        assert_eq!(decode(b"").unwrap_err(), BlobInputError::Empty);
        assert_eq!(decode(b"  \n").unwrap_err(), BlobInputError::Empty);
        assert!(matches!(
            decode(b"not base64!"),
            Err(BlobInputError::NotBase64(_))
        ));
        assert!(matches!(
            decode(&[0xff, 0xfe]),
            Err(BlobInputError::NotBase64(_))
        ));
    }
}
