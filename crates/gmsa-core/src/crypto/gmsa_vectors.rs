//! Reference §6.5: keys for the synthetic gMSA blobs, and the wrong answers common mistakes
//! give. Each wrong answer is recomputed here, so these tests prove they can fail.

use super::*;
use crate::blob::{self, ManagedPassword};
use sha2::Digest as _;

const BLOB_A: &[u8] = include_bytes!("../../../../tests/data/blob-a.bin");
const BLOB_B: &[u8] = include_bytes!("../../../../tests/data/blob-b.bin");
const REALM: &str = "EXAMPLE.TEST";
const SAM: &str = "svc_web$";
const SALT: &str = "EXAMPLE.TESThostsvc_web.example.test";

/// Expected values for one password (reference §6.5 table, one column).
struct Expected {
    utf8_len: usize,
    replacements: usize,
    utf8_sha256: &'static str,
    utf8_prefix: &'static str,
    rc4: &'static str,
    pbkdf2: &'static str,
    aes128: &'static str,
    aes256: &'static str,
    des: &'static str,
}

const CURRENT: Expected = Expected {
    utf8_len: 367,
    replacements: 7,
    utf8_sha256: "d5f5e147aa07753f33077f129755ee94390e0a578b4f3d99cf0fd4d2860ccaae",
    utf8_prefix: "e2a792e6b89be794b8efbfbd41e581b442efbfbd",
    rc4: "b45ebf36bffe0314b17d44e49896849c",
    pbkdf2: "d37c70fcde85252febddfaf257ddeb4097ab7b2b480915591c8601570eb22029",
    aes128: "5e1ecc5d1fbe1dbce26a2e4e73dac909",
    aes256: "f162bd42746f2862d889de284ff8320b386099d3268c7bba82d5751452997d42",
    des: "e69b207fb5457f6d",
};

const PREVIOUS: Expected = Expected {
    utf8_len: 380,
    replacements: 7,
    utf8_sha256: "469aa57765a4ee44365e039af556b1db540864500032e15bafc452aece526770",
    utf8_prefix: "eba3a7e7848fe49db7e3b8acef8a84ea",
    rc4: "810911d03b28c21da6fc2459560056dd",
    pbkdf2: "0726a6a68a9aa7947b81b743c92f10241b84484a903cdcfa26247110bd8a1730",
    aes128: "87534d110c4466a1709cc170d7dc3c46",
    aes256: "4820f9218b50f077a9ef01153b991915d8656b83625105261818e68c05b595ba",
    des: "0d1a7a8c8070767c",
};

fn blob_b() -> ManagedPassword {
    blob::parse(BLOB_B).expect("blob B parses strictly")
}

fn hex_key(k: &SecretBytes) -> String {
    hex::encode(k.expose())
}

/// The right keys, computed here by the correct path (not read from a constant), so that each
/// wrong-path test compares two computed values and fails if the paths ever agree.
fn right_aes256() -> String {
    aes256(&password_utf8(&blob_b().current), SALT)
}

fn right_rc4() -> String {
    hex_key(&nt_hash(blob_b().current.0.expose()))
}

fn aes256(password_utf8: &[u8], salt: &str) -> String {
    hex_key(&string_to_key_aes(
        password_utf8,
        salt.as_bytes(),
        DEFAULT_ITERATIONS,
        32,
    ))
}

#[test]
fn salt_string_bytes() {
    let salt = gmsa_salt(REALM, SAM);
    assert_eq!(salt, SALT);
    assert_eq!(
        hex::encode(salt.as_bytes()),
        "4558414d504c452e54455354686f73747376635f7765622e6578616d706c652e74657374"
    );
}

fn check_password(password: &Password, want: &Expected, label: &str) {
    let utf8 = password_utf8(password);
    let text = std::str::from_utf8(&utf8).expect("lossy conversion yields valid UTF-8");
    assert_eq!(utf8.len(), want.utf8_len, "{label}: UTF-8 length");
    assert_eq!(
        text.matches('\u{FFFD}').count(),
        want.replacements,
        "{label}: U+FFFD count"
    );
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&*utf8)),
        want.utf8_sha256,
        "{label}: SHA-256"
    );
    assert!(
        hex::encode(&*utf8).starts_with(want.utf8_prefix),
        "{label}: UTF-8 prefix"
    );

    let tkey = aes_s2k::pbkdf2_tkey(&utf8, SALT.as_bytes(), DEFAULT_ITERATIONS, 32);
    assert_eq!(hex::encode(*tkey), want.pbkdf2, "{label}: PBKDF2 output");

    let single = |e| hex_key(&derive_key(e, password, SALT));
    assert_eq!(single(Enctype::Rc4Hmac), want.rc4, "{label}: RC4");
    assert_eq!(
        single(Enctype::Aes128CtsHmacSha196),
        want.aes128,
        "{label}: AES128"
    );
    assert_eq!(
        single(Enctype::Aes256CtsHmacSha196),
        want.aes256,
        "{label}: AES256"
    );
    assert_eq!(single(Enctype::DesCbcCrc), want.des, "{label}: DES-CBC-CRC");
    assert_eq!(single(Enctype::DesCbcMd5), want.des, "{label}: DES-CBC-MD5");

    // The batched path must give the same keys, in the order asked for.
    let order = [
        Enctype::DesCbcMd5,
        Enctype::Aes128CtsHmacSha196,
        Enctype::Rc4Hmac,
        Enctype::Aes256CtsHmacSha196,
        Enctype::DesCbcCrc,
    ];
    let keys: Vec<(Enctype, String)> = derive_keys(password, SALT, &order)
        .iter()
        .map(|(e, k)| (*e, hex_key(k)))
        .collect();
    let want_keys: Vec<(Enctype, String)> =
        [want.des, want.aes128, want.rc4, want.aes256, want.des]
            .iter()
            .zip(order)
            .map(|(k, e)| (e, k.to_string()))
            .collect();
    assert_eq!(keys, want_keys, "{label}: derive_keys");
}

#[test]
fn blob_b_current_password() {
    check_password(&blob_b().current, &CURRENT, "current");
}

#[test]
fn blob_b_previous_password() {
    let previous = blob_b().previous.expect("blob B has a previous password");
    check_password(&previous, &PREVIOUS, "previous");
}

#[test]
fn blob_a_current_is_blob_b_current() {
    let a = blob::parse(BLOB_A).expect("blob A parses strictly");
    assert!(a.previous.is_none());
    assert_eq!(a.current, blob_b().current);
    let keys = derive_keys(&a.current, SALT, &[Enctype::Aes128CtsHmacSha196]);
    assert_eq!(
        hex_key(&keys[0].1),
        CURRENT.aes128,
        "AES128 alone (one PBKDF2 block)"
    );
}

#[test]
fn derive_keys_with_nothing_asked_is_empty() {
    assert!(derive_keys(&blob_b().current, SALT, &[]).is_empty());
}

/// WTF-8 / Python `surrogatepass`: lone surrogates encoded as 3-byte sequences.
fn wtf8(password: &Password) -> Vec<u8> {
    let mut out = Vec::new();
    for unit in char::decode_utf16(password.utf16_units()) {
        match unit {
            Ok(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            Err(e) => {
                let u = e.unpaired_surrogate();
                out.extend([
                    0xE0 | (u >> 12) as u8,
                    0x80 | ((u >> 6) & 0x3f) as u8,
                    0x80 | (u & 0x3f) as u8,
                ]);
            }
        }
    }
    out
}

#[test]
fn wrong_lossless_wtf8_conversion() {
    let current = blob_b().current;
    let wrong = aes256(&wtf8(&current), SALT);
    assert_eq!(
        wrong,
        "ecda107d3e4205110bf9234617d79a2dfb7c70c7969b51f75232bf3d2665d51f"
    );
    assert_ne!(wrong, right_aes256());
}

#[test]
fn wrong_utf8_with_terminator() {
    let mut utf8 = password_utf8(&blob_b().current).to_vec();
    utf8.push(0);
    let wrong = aes256(&utf8, SALT);
    assert_eq!(
        wrong,
        "b03cefbf6f3b90731c524a17d2ceaa055d3e5cfb40edd7962e2b09cfc7a011ce"
    );
    assert_ne!(wrong, right_aes256());
}

#[test]
fn wrong_rc4_over_terminator() {
    let mut raw = blob_b().current.0.expose().to_vec();
    raw.extend([0, 0]);
    assert_eq!(raw.len(), 258);
    let wrong = hex_key(&nt_hash(&raw));
    assert_eq!(wrong, "8dfad94d5a057dee7584e26a0ff2bad4");
    assert_ne!(wrong, right_rc4());
}

#[test]
fn wrong_rc4_over_reencoded_utf8() {
    let utf8 = password_utf8(&blob_b().current);
    let text = std::str::from_utf8(&utf8).expect("valid UTF-8");
    let reencoded: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let wrong = hex_key(&nt_hash(&reencoded));
    assert_eq!(wrong, "84dc9f8a4ca7a082b3ae4013bba0a3c3");
    assert_ne!(wrong, right_rc4());
}

#[test]
fn wrong_salts() {
    let utf8 = password_utf8(&blob_b().current);
    let cases = [
        (
            "EXAMPLE.TESThostsvc_web$.example.test",
            "c15565f890e3ffd8aa2e05236287eacbec5aa56152c32324efde7fbd4507cdf1",
        ),
        (
            "EXAMPLE.TESTsvc_web$",
            "0178f084828db8752a82ab8901bc3939cb4e7e83120d94ea55512b893657a925",
        ),
        (
            "EXAMPLEhostsvc_web.example.test",
            "3f5eab6361034d318f4b1f3a4d3a08dedf3f8c16b9bb273a12a50b418d49f466",
        ),
    ];
    for (salt, want_wrong) in cases {
        let wrong = aes256(&utf8, salt);
        assert_eq!(wrong, want_wrong, "salt {salt}");
        assert_ne!(wrong, right_aes256(), "salt {salt}");
    }
}
