//! AES128/AES256-CTS-HMAC-SHA1-96 string-to-key (enctypes 17/18; RFC 3962 §4):
//! `tkey = PBKDF2-HMAC-SHA1(password, salt, iterations)`, then `key = DK(tkey, "kerberos")`.

use crate::secret::SecretBytes;
use aes::cipher::consts::U16;
use aes::cipher::{BlockCipherEncrypt, BlockSizeUser, KeyInit};
use aes::{Aes128, Aes256};
use sha1::Sha1;
use zeroize::Zeroizing;

/// RFC 3962 §4: the count when the KDC sends no s2kparams, and what AD uses.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// n-fold("kerberos", 128 bits), the DK constant (reference §3.3); a test re-derives it.
const KERBEROS_FOLD: [u8; 16] = [
    0x6b, 0x65, 0x72, 0x62, 0x65, 0x72, 0x6f, 0x73, 0x7b, 0x9b, 0x5b, 0x2b, 0x93, 0x13, 0x2b, 0x93,
];

/// PBKDF2 output for AES256; AES128's is its first 16 bytes (PBKDF2 blocks are independent).
pub(crate) type TKey = Zeroizing<[u8; 32]>;

/// AES string-to-key with an explicit iteration count (tests and non-default s2kparams).
///
/// # Panics
/// If `key_len` is not 16 (AES128) or 32 (AES256): a programming error, not an input error.
pub fn string_to_key_aes(
    password_utf8: &[u8],
    salt: &[u8],
    iterations: u32,
    key_len: usize,
) -> SecretBytes {
    assert!(
        key_len == 16 || key_len == 32,
        "AES keys are 16 or 32 bytes, not {key_len}"
    );
    let tkey = pbkdf2_tkey(password_utf8, salt, iterations, key_len);
    if key_len == 16 {
        dk_aes128(&tkey)
    } else {
        dk_aes256(&tkey)
    }
}

/// The first `len` (16 or 32) bytes of PBKDF2-HMAC-SHA1; the rest stays zero. 16 bytes need
/// one PBKDF2 block, 32 need two, so callers ask for 16 when AES256 is not wanted.
pub(crate) fn pbkdf2_tkey(password_utf8: &[u8], salt: &[u8], iterations: u32, len: usize) -> TKey {
    let mut tkey = Zeroizing::new([0u8; 32]);
    let out = tkey.get_mut(..len.min(32)).unwrap_or_default();
    pbkdf2::pbkdf2_hmac::<Sha1>(password_utf8, salt, iterations, out);
    tkey
}

/// AES128 key from the first 16 bytes of `tkey`.
pub(crate) fn dk_aes128(tkey: &TKey) -> SecretBytes {
    let mut half = Zeroizing::new([0u8; 16]);
    for (h, t) in half.iter_mut().zip(tkey.iter()) {
        *h = *t;
    }
    dk(&Aes128::new((&*half).into()), 16)
}

pub(crate) fn dk_aes256(tkey: &TKey) -> SecretBytes {
    dk(&Aes256::new((&**tkey).into()), 32)
}

/// DK(tkey, "kerberos") (RFC 3961 §5.1): encrypt the folded constant, chaining each output
/// block into the next, until `len` bytes exist. For one block, CBC-CTS with a zero IV is ECB.
fn dk<C: BlockCipherEncrypt + BlockSizeUser<BlockSize = U16>>(
    cipher: &C,
    len: usize,
) -> SecretBytes {
    let mut block = Zeroizing::new(KERBEROS_FOLD);
    // Fixed capacity: the key is never reallocated, so no unwiped copy is left behind.
    let mut out = Vec::with_capacity(32);
    while out.len() < len {
        cipher.encrypt_block((&mut *block).into());
        out.extend_from_slice(&*block);
    }
    out.truncate(len);
    SecretBytes::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::nfold;

    const RAEBURN: &[u8] = b"ATHENA.MIT.EDUraeburn";

    #[test]
    fn kerberos_constant_is_its_nfold() {
        assert_eq!(nfold(b"kerberos", 16), KERBEROS_FOLD);
    }

    fn check(password: &[u8], salt: &[u8], iterations: u32, aes128: &str, aes256: &str) {
        let k128 = string_to_key_aes(password, salt, iterations, 16);
        let k256 = string_to_key_aes(password, salt, iterations, 32);
        assert_eq!(
            hex::encode(k128.expose()),
            aes128,
            "AES128, {iterations} iterations"
        );
        assert_eq!(
            hex::encode(k256.expose()),
            aes256,
            "AES256, {iterations} iterations"
        );
    }

    /// RFC 3962 Appendix B (reference §6.1).
    #[test]
    fn rfc3962_iterations_1_2_1200() {
        check(
            b"password",
            RAEBURN,
            1,
            "42263c6e89f4fc28b8df68ee09799f15",
            "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161",
        );
        check(
            b"password",
            RAEBURN,
            2,
            "c651bf29e2300ac27fa469d693bdda13",
            "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff",
        );
        check(
            b"password",
            RAEBURN,
            1200,
            "4c01cd46d632d01e6dbe230a01ed642a",
            "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a",
        );
    }

    #[test]
    fn rfc3962_binary_salt() {
        check(
            b"password",
            &[0x12, 0x34, 0x56, 0x78, 0x78, 0x56, 0x34, 0x12],
            5,
            "e9b23d52273747dd5c35cb55be619d8e",
            "97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31",
        );
    }

    #[test]
    fn rfc3962_password_at_and_over_hmac_block_size() {
        check(
            &[b'X'; 64],
            b"pass phrase equals block size",
            1200,
            "59d1bb789a828b1aa54ef9c2883f69ed",
            "89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34",
        );
        check(
            &[b'X'; 65],
            b"pass phrase exceeds block size",
            1200,
            "cb8005dc5f90179a7f02104c0018751d",
            "d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b",
        );
    }

    #[test]
    fn rfc3962_non_bmp_password() {
        check(
            "\u{1D11E}".as_bytes(),
            b"EXAMPLE.COMpianist",
            50,
            "f149c1f2e154a73452d43e7fe62a56e5",
            "4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e",
        );
    }

    /// Checked against MIT `krb5_c_string_to_key` (reference §6.1).
    #[test]
    fn default_iterations() {
        check(
            b"password",
            RAEBURN,
            DEFAULT_ITERATIONS,
            "fca822951813fb252154c883f5ee1cf4",
            "01b897121d933ab44b47eb5494db15e50eb74530dbdae9b634d65020ff5d88c1",
        );
    }

    #[test]
    fn aes128_tkey_is_prefix_of_aes256_tkey() {
        let t16 = pbkdf2_tkey(b"password", RAEBURN, 2, 16);
        let t32 = pbkdf2_tkey(b"password", RAEBURN, 2, 32);
        assert_eq!(t16[..16], t32[..16]);
        assert_eq!(t16[16..], [0; 16]);
        assert_eq!(dk_aes128(&t16), dk_aes128(&t32));
    }

    #[test]
    #[should_panic(expected = "AES keys are 16 or 32 bytes")]
    fn other_key_lengths_are_a_programming_error() {
        string_to_key_aes(b"p", b"s", 1, 24);
    }
}
