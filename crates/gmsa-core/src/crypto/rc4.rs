//! RC4-HMAC key (enctype 23; RFC 4757 §2): MD4 over the raw UTF-16LE password bytes. Never
//! re-encode: the UTF-8 form loses unpaired surrogates, and the KDC hashes the raw buffer.

use crate::secret::SecretBytes;
use md4::{Digest, Md4};
use zeroize::Zeroize;

/// The NT hash of `utf16le` (terminator excluded), which is the RC4-HMAC key.
pub fn nt_hash(utf16le: &[u8]) -> SecretBytes {
    let mut digest = Md4::digest(utf16le);
    let key = SecretBytes::from_slice(&digest);
    digest.as_mut_slice().zeroize();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference §6.3.
    #[test]
    fn nt_hash_vectors() {
        let password: Vec<u8> = "password"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            hex::encode(nt_hash(&password).expose()),
            "8846f7eaee8fb117ad06bdd830b7586c"
        );
        assert_eq!(
            hex::encode(nt_hash(b"").expose()),
            "31d6cfe0d16ae931b73c59d7e0c089c0"
        );
    }
}
