//! UTF-16 → UTF-8 for the AES and DES string-to-key (reference §3.2). gMSA passwords are random
//! code units, usually with unpaired surrogates; Windows turns each into U+FFFD, as Rust's
//! `String::from_utf16_lossy` does, so the keys match the KDC's.

use crate::blob::Password;
use zeroize::{Zeroize, Zeroizing};

/// The password as the UTF-8 bytes Windows feeds to PBKDF2 / DES string-to-key.
///
/// The [`Password`] already excludes the terminator. U+0000 is mapped to U+0001 (Samba's rule;
/// a DC never emits it) so no NUL can reach the key derivation.
pub fn password_utf8(password: &Password) -> Zeroizing<Vec<u8>> {
    utf16_to_utf8_lossy(password.utf16_units(), password.0.len() / 2)
}

/// `String::from_utf16_lossy` semantics, without the intermediate `Vec<u16>` or `String` that
/// would leave an unwiped copy of the password on the heap.
fn utf16_to_utf8_lossy(units: impl Iterator<Item = u16>, unit_count: usize) -> Zeroizing<Vec<u8>> {
    // A unit becomes at most 3 bytes (a surrogate pair: 4 bytes for 2 units). Reserving the
    // worst case up front means the buffer never reallocates and leaves no copy behind.
    let mut out = Zeroizing::new(Vec::with_capacity(unit_count.saturating_mul(3)));
    let mut buf = [0u8; 4];
    let nul_mapped = units.map(|u| if u == 0 { 1 } else { u });
    for ch in char::decode_utf16(nul_mapped) {
        let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    buf.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretBytes;
    use proptest::prelude::*;

    fn pw(units: &[u16]) -> Password {
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        Password(SecretBytes::new(bytes))
    }

    /// The edge cases reference §3.2 checked against Samba's CH_UTF16MUNGED and Python.
    #[test]
    fn surrogate_edge_cases() {
        let cases: [(&[u16], &str); 7] = [
            (&[0xD800], "\u{FFFD}"),
            (&[0xDC00], "\u{FFFD}"),
            // Only the unpaired high unit is consumed; the following pair still decodes.
            (&[0xD800, 0xD800, 0xDC00], "\u{FFFD}\u{10000}"),
            (&[0xDC00, 0xD800], "\u{FFFD}\u{FFFD}"),
            (&[0x0041, 0xDBFF], "A\u{FFFD}"),
            (&[0xD800, 0x0041], "\u{FFFD}A"),
            (&[0xD83D, 0xDE00], "\u{1F600}"),
        ];
        for (units, want) in cases {
            assert_eq!(&*password_utf8(&pw(units)), want.as_bytes(), "{units:04x?}");
        }
    }

    #[test]
    fn nul_becomes_u0001() {
        assert_eq!(&*password_utf8(&pw(&[0x41, 0, 0x42])), b"A\x01B");
    }

    #[test]
    fn empty_password() {
        assert!(password_utf8(&pw(&[])).is_empty());
    }

    #[test]
    fn buffer_never_reallocates() {
        // Worst case: every unit is a replacement character (3 bytes).
        let units = vec![0xDC00u16; 128];
        let out = password_utf8(&pw(&units));
        assert_eq!(out.len(), 384);
        assert_eq!(out.capacity(), 384);
    }

    proptest! {
        /// Same bytes as std's lossy decoder on surrogate-heavy input (reference §3.2 [V]).
        #[test]
        fn matches_std_from_utf16_lossy(
            units in prop::collection::vec(
                prop_oneof![0xD800u16..0xE000, 1u16..0x80, 1u16..=0xFFFF], 0..64)
        ) {
            let want = String::from_utf16_lossy(&units);
            prop_assert_eq!(&*password_utf8(&pw(&units)), want.as_bytes());
        }
    }
}
