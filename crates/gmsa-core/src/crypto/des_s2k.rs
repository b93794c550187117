//! DES string-to-key shared by des-cbc-crc and des-cbc-md5 (RFC 3961 §6.2,
//! `mit_des_string_to_key`; reference §3.5). Only for legacy acceptors: written on opt-in.

use crate::secret::SecretBytes;
use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};
use zeroize::Zeroizing;

type DesKey = Zeroizing<[u8; 8]>;

/// The 16 DES weak and semi-weak keys, with odd parity (reference §3.5).
const WEAK_KEYS: [[u8; 8]; 16] = [
    [0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01],
    [0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE],
    [0xE0, 0xE0, 0xE0, 0xE0, 0xF1, 0xF1, 0xF1, 0xF1],
    [0x1F, 0x1F, 0x1F, 0x1F, 0x0E, 0x0E, 0x0E, 0x0E],
    [0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE],
    [0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01],
    [0x1F, 0xE0, 0x1F, 0xE0, 0x0E, 0xF1, 0x0E, 0xF1],
    [0xE0, 0x1F, 0xE0, 0x1F, 0xF1, 0x0E, 0xF1, 0x0E],
    [0x01, 0xE0, 0x01, 0xE0, 0x01, 0xF1, 0x01, 0xF1],
    [0xE0, 0x01, 0xE0, 0x01, 0xF1, 0x01, 0xF1, 0x01],
    [0x1F, 0xFE, 0x1F, 0xFE, 0x0E, 0xFE, 0x0E, 0xFE],
    [0xFE, 0x1F, 0xFE, 0x1F, 0xFE, 0x0E, 0xFE, 0x0E],
    [0x01, 0x1F, 0x01, 0x1F, 0x01, 0x0E, 0x01, 0x0E],
    [0x1F, 0x01, 0x1F, 0x01, 0x0E, 0x01, 0x0E, 0x01],
    [0xE0, 0xFE, 0xE0, 0xFE, 0xF1, 0xFE, 0xF1, 0xFE],
    [0xFE, 0xE0, 0xFE, 0xE0, 0xFE, 0xF1, 0xFE, 0xF1],
];

/// The 8-byte DES key for enctypes 1 and 3.
pub fn des_string_to_key(password_utf8: &[u8], salt: &[u8]) -> SecretBytes {
    let s = padded(password_utf8, salt);
    let mut key = fan_fold(&s);
    correct_key(&mut key);
    let mut out = cbc_last_block(&key, &s);
    correct_key(&mut out);
    SecretBytes::from_slice(&*out)
}

/// `password ‖ salt`, zero-padded to a multiple of 8 bytes.
fn padded(password_utf8: &[u8], salt: &[u8]) -> Zeroizing<Vec<u8>> {
    let len = (password_utf8.len() + salt.len()).div_ceil(8) * 8;
    let mut s = Zeroizing::new(Vec::with_capacity(len));
    s.extend_from_slice(password_utf8);
    s.extend_from_slice(salt);
    s.resize(len, 0);
    s
}

/// XORs the low 7 bits of each byte of every 8-byte block into a 56-bit accumulator, reversing
/// odd-numbered blocks bitwise, then spreads it back over 8 bytes (low bit left for parity).
fn fan_fold(s: &[u8]) -> DesKey {
    let mut acc = Zeroizing::new(0u64);
    for (i, block) in s.chunks(8).enumerate() {
        let mut bits = Zeroizing::new(
            block
                .iter()
                .fold(0u64, |v, b| (v << 7) | u64::from(b & 0x7f)),
        );
        if i % 2 == 1 {
            // Reverse the 56-bit string: reverse all 64 bits, then drop the 8 empty ones.
            *bits = bits.reverse_bits() >> 8;
        }
        *acc ^= *bits;
    }
    let mut key = Zeroizing::new([0u8; 8]);
    for (j, byte) in key.iter_mut().enumerate() {
        *byte = (((*acc >> (49 - 7 * j)) & 0x7f) << 1) as u8;
    }
    key
}

/// Odd parity in bit 0 of each byte, then the weak-key fix (XOR the last byte with 0xF0).
fn correct_key(key: &mut [u8; 8]) {
    for byte in key.iter_mut() {
        let high_ones = (*byte >> 1).count_ones();
        *byte = (*byte & 0xfe) | u8::from(high_ones % 2 == 0);
    }
    if WEAK_KEYS.contains(key) {
        key[7] ^= 0xf0;
    }
}

/// DES-CBC over `s` with key = IV = `key`; returns the last ciphertext block (the IV itself
/// when `s` is empty, which only happens for an empty password and salt).
fn cbc_last_block(key: &[u8; 8], s: &[u8]) -> DesKey {
    let cipher = Des::new(key.into());
    let mut chain = Zeroizing::new(*key);
    for block in s.chunks_exact(8) {
        for (c, b) in chain.iter_mut().zip(block) {
            *c ^= b;
        }
        cipher.encrypt_block((&mut *chain).into());
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Password, salt, fan-fold, intermediate key (after correction), DES key.
    type Vector = (
        &'static [u8],
        &'static [u8],
        &'static str,
        &'static str,
        &'static str,
    );

    /// RFC 3961 A.2 (reference §6.2).
    const VECTORS: [Vector; 6] = [
        (
            b"password",
            b"ATHENA.MIT.EDUraeburn",
            "c01e38688ac86c2e",
            "c11f38688ac86d2f",
            "cbc22fae235298e3",
        ),
        (
            b"potatoe",
            b"WHITEHOUSE.GOVdanny",
            "a028944ee63c0416",
            "a129944fe63d0416",
            "df3d32a74fd92a01",
        ),
        (
            b"\xf0\x9d\x84\x9e",
            b"EXAMPLE.COMpianist",
            "3c4a262c18fab090",
            "3d4a262c19fbb091",
            "4ffb26bab0cd9413",
        ),
        (
            b"\xc3\x9f",
            b"ATHENA.MIT.EDUJuri\xc5\xa1i\xc4\x87",
            "b8f6c40e305afc9e",
            "b9f7c40e315bfd9e",
            "62c81a5232b5e69d",
        ),
        // Vectors 5 and 6 exercise the weak-key fix (impacket gets them wrong).
        (
            b"11119999",
            b"AAAAAAAA",
            "e0e0e0e0f0f0f0f0",
            "e0e0e0e0f1f1f101",
            "984054d0f1a73e31",
        ),
        (
            b"NNNN6666",
            b"FFFFAAAA",
            "1e1e1e1e0e0e0e0e",
            "1f1f1f1f0e0e0efe",
            "c4bf6b25adf7a4f8",
        ),
    ];

    #[test]
    fn rfc3961_fan_fold_intermediate_and_key() {
        for (password, salt, fold, intermediate, want) in VECTORS {
            let s = padded(password, salt);
            let mut key = fan_fold(&s);
            assert_eq!(hex::encode(*key), fold, "fan-fold, salt {salt:x?}");
            correct_key(&mut key);
            assert_eq!(
                hex::encode(*key),
                intermediate,
                "intermediate, salt {salt:x?}"
            );
            let got = des_string_to_key(password, salt);
            assert_eq!(hex::encode(got.expose()), want, "key, salt {salt:x?}");
        }
    }

    /// impacket skips the weak-key fix; prove the vectors would catch that mistake.
    #[test]
    fn skipping_weak_key_fix_gives_impackets_wrong_keys() {
        for (i, wrong) in [(4, "262c94e34c8fbc04"), (5, "f71fc802192a0dd5")] {
            let (password, salt, _, _, right) = VECTORS[i];
            let s = padded(password, salt);
            let mut key = fan_fold(&s);
            set_parity_only(&mut key);
            let mut out = cbc_last_block(&key, &s);
            set_parity_only(&mut out);
            assert_eq!(hex::encode(*out), wrong);
            // The correct path, computed, differs from the wrong one and gives the vector.
            let computed = hex::encode(des_string_to_key(password, salt).expose());
            assert_eq!(computed, right);
            assert_ne!(hex::encode(*out), computed);
        }
    }

    fn set_parity_only(key: &mut [u8; 8]) {
        for byte in key.iter_mut() {
            *byte = (*byte & 0xfe) | u8::from((*byte >> 1).count_ones() % 2 == 0);
        }
    }

    #[test]
    fn every_weak_key_is_corrected_and_has_odd_parity() {
        for weak in WEAK_KEYS {
            assert!(weak.iter().all(|b| b.count_ones() % 2 == 1), "{weak:02x?}");
            let mut k = weak;
            correct_key(&mut k);
            assert_ne!(k, weak);
            assert!(!WEAK_KEYS.contains(&k));
        }
    }

    #[test]
    fn empty_input_does_not_panic() {
        assert_eq!(des_string_to_key(b"", b"").len(), 8);
    }
}
