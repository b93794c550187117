//! What the seal guard checks, pure: where a SASL buffer (RFC 4422: a 4-byte length, then a GSS
//! wrap token) ends, and whether its token is a Kerberos wrap token *with confidentiality*: the
//! Sealed flag of an RFC 4121 token, or a SEAL_ALG other than "none" in an RFC 1964/4757 token.
//! Bytes in, a verdict out; every read bounded (fuzz target `sasl_guard`).

/// Largest SASL buffer the DC may send: the receive maximum our ldap3 announces in the bind
/// (1 MiB + 64 KiB; see vendor/ldap3), which its decoder enforces too.
pub const MAX_FROM_SERVER: usize = ldap3::MAX_SASL_BUFFER;
/// Largest SASL buffer we let out; our requests are a few hundred bytes.
pub const MAX_TO_SERVER: usize = 1 << 20;

const KRB5_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// Length of the complete SASL buffer at the start of `buf` (4-byte header included), or
/// `None` if more bytes are needed.
pub fn split_frame(buf: &[u8], max: usize) -> Result<Option<usize>, String> {
    let Some(header) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len == 0 || len > max {
        return Err(format!(
            "a {len}-byte SASL buffer is not a sealed LDAP message (plain LDAP on a sealed \
             connection?)"
        ));
    }
    Ok(if buf.len() - 4 >= len {
        Some(4 + len)
    } else {
        None
    })
}

/// Checks that `token` is a GSS-API Kerberos wrap token with confidentiality.
/// `from_acceptor`: the token must come from the server (RFC 4121 SentByAcceptor flag).
pub fn check_wrap_token(token: &[u8], from_acceptor: bool) -> Result<(), String> {
    match token {
        // RFC 4121 §4.2.6.2: TOK_ID 05 04, Flags, Filler FF, EC, RRC, SND_SEQ.
        [0x05, 0x04, flags, 0xFF, ..] if token.len() >= 16 => {
            if (flags & 0x01 != 0) != from_acceptor {
                return Err("wrap token has the wrong direction flag".into());
            }
            if flags & 0x02 == 0 {
                return Err("wrap token is integrity-protected only, not sealed".into());
            }
            Ok(())
        }
        // RFC 1964 §1.2.2 / RFC 4757 §7.3, inside the RFC 2743 framing:
        // 60 <len> 06 09 <krb5 OID> 02 01 SGN_ALG(2) SEAL_ALG(2) FF FF ...
        [0x60, ..] => {
            let (body_len, header) = der_length(&token[1..]).ok_or("malformed token framing")?;
            let body = token.get(1 + header..).ok_or("malformed token framing")?;
            if body.len() != body_len || body.len() < 2 + KRB5_OID.len() + 8 {
                return Err("malformed token framing".into());
            }
            if body[..2] != [0x06, 0x09] || body[2..11] != KRB5_OID {
                return Err("token is not a Kerberos v5 token".into());
            }
            let inner = &body[11..];
            if inner[..2] != [0x02, 0x01] {
                return Err("token is not a wrap token".into());
            }
            if inner[4..6] == [0xFF, 0xFF] {
                return Err("wrap token has SEAL_ALG none: not sealed".into());
            }
            Ok(())
        }
        _ => Err("not a GSS-API Kerberos wrap token".into()),
    }
}

/// DER definite length at the start of `b`: (length, bytes used).
fn der_length(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for &byte in b.get(1..1 + n)? {
        len = (len << 8) | byte as usize;
    }
    Some((len, 1 + n))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn cfx(flags: u8) -> Vec<u8> {
        let mut t = vec![0x05, 0x04, flags, 0xFF, 0, 0x10, 0, 0x1c];
        t.extend_from_slice(&[0; 8]);
        t.extend_from_slice(&[0xAA; 40]);
        t
    }

    pub(crate) fn rfc1964(seal_alg: [u8; 2]) -> Vec<u8> {
        let mut inner = vec![0x06, 0x09];
        inner.extend_from_slice(&KRB5_OID);
        inner.extend_from_slice(&[0x02, 0x01, 0x11, 0x00]);
        inner.extend_from_slice(&seal_alg);
        inner.extend_from_slice(&[0xFF, 0xFF]);
        inner.extend_from_slice(&[0x55; 40]);
        let mut t = vec![0x60, inner.len() as u8];
        t.extend(inner);
        t
    }

    #[test]
    fn cfx_tokens() {
        assert!(check_wrap_token(&cfx(0x03), true).is_ok()); // acceptor, sealed
        assert!(check_wrap_token(&cfx(0x07), true).is_ok()); // + acceptor subkey
        assert!(check_wrap_token(&cfx(0x02), false).is_ok()); // initiator, sealed
        assert!(
            check_wrap_token(&cfx(0x01), true)
                .unwrap_err()
                .contains("not sealed")
        );
        assert!(check_wrap_token(&cfx(0x02), true).is_err()); // wrong direction
        assert!(check_wrap_token(&cfx(0x03)[..15], true).is_err());
    }

    #[test]
    fn rfc1964_tokens() {
        assert!(check_wrap_token(&rfc1964([0x10, 0x00]), true).is_ok()); // RC4
        assert!(check_wrap_token(&rfc1964([0x00, 0x00]), false).is_ok()); // DES
        assert!(
            check_wrap_token(&rfc1964([0xFF, 0xFF]), true)
                .unwrap_err()
                .contains("none")
        );
        let mut t = rfc1964([0x10, 0x00]);
        t.push(0); // length mismatch
        assert!(check_wrap_token(&t, true).is_err());
        let mut t = rfc1964([0x10, 0x00]);
        t[12] = 0x03; // not the krb5 OID
        assert!(check_wrap_token(&t, true).is_err());
    }

    #[test]
    fn plain_ldap_is_not_a_token() {
        // An LDAP SearchRequest starts with a SEQUENCE.
        assert!(check_wrap_token(&[0x30, 0x25, 0x02, 0x01, 0x02], false).is_err());
        assert!(split_frame(&[0x30, 0x84, 0, 0, 0, 0x25], MAX_TO_SERVER).is_err());
    }

    #[test]
    fn frames_split_on_their_length() {
        assert_eq!(split_frame(&[0, 0], 100), Ok(None));
        assert_eq!(split_frame(&[0, 0, 0, 3, 1, 2], 100), Ok(None));
        assert_eq!(split_frame(&[0, 0, 0, 2, 1, 2, 9], 100), Ok(Some(6)));
        assert!(split_frame(&[0, 0, 0, 0], 100).is_err());
        assert!(split_frame(&[0, 0, 1, 0], 100).is_err());
    }

    #[test]
    fn prefixes_never_panic() {
        for t in [cfx(3), rfc1964([0x10, 0])] {
            for cut in 0..t.len() {
                let _ = check_wrap_token(&t[..cut], true);
            }
        }
        let _ = der_length(&[0x84, 0xff, 0xff, 0xff, 0xff]);
        let _ = check_wrap_token(&[0x60, 0x84, 0xff, 0xff, 0xff, 0xff], true);
    }
}
