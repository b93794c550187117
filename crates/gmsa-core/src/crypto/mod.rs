//! Kerberos long-term keys for a gMSA password (reference §3, §4). Pure: no I/O.
//!
//! * RC4-HMAC: MD4 over the raw UTF-16LE bytes ([`nt_hash`]).
//! * AES / DES: over the password converted to UTF-8 the way Windows does ([`password_utf8`]),
//!   salted with [`gmsa_salt`].

mod aes_s2k;
mod des_s2k;
mod nfold;
mod rc4;
mod utf8;

#[cfg(test)]
mod gmsa_vectors;

pub use aes_s2k::{DEFAULT_ITERATIONS, string_to_key_aes};
pub use des_s2k::des_string_to_key;
pub use nfold::nfold;
pub use rc4::nt_hash;
pub use utf8::password_utf8;

use crate::blob::Password;
use crate::enctype::Enctype;
use crate::secret::SecretBytes;
use aes_s2k::TKey;
use zeroize::Zeroizing;

/// The salt AD uses for a computer-class account such as a gMSA (MS-KILE 3.1.1.2):
/// `UPPER(realm) ‖ "host" ‖ lower(sAMAccountName minus one trailing '$') ‖ "." ‖ lower(realm)`.
///
/// `realm` is the AD DNS domain (from `defaultNamingContext`), never the NetBIOS name.
pub fn gmsa_salt(realm: &str, sam_account_name: &str) -> String {
    let name = crate::account::base_name(sam_account_name);
    format!(
        "{}host{}.{}",
        realm.to_uppercase(),
        name.to_lowercase(),
        realm.to_lowercase()
    )
}

/// One key. To derive several for the same password, use [`derive_keys`], which shares the
/// expensive PBKDF2 between AES128 and AES256.
pub fn derive_key(enctype: Enctype, password: &Password, salt: &str) -> SecretBytes {
    Deriver::new(password, salt, &[enctype]).key(enctype)
}

/// Keys for `enctypes`, in the order given. PBKDF2 runs at most once (two SHA-1 blocks when
/// AES256 is wanted, one for AES128 alone) and the UTF-8 conversion at most once.
pub fn derive_keys(
    password: &Password,
    salt: &str,
    enctypes: &[Enctype],
) -> Vec<(Enctype, SecretBytes)> {
    let mut deriver = Deriver::new(password, salt, enctypes);
    enctypes.iter().map(|&e| (e, deriver.key(e))).collect()
}

/// Caches the intermediates shared between enctypes; all of them are wiped on drop.
struct Deriver<'a> {
    password: &'a Password,
    salt: &'a str,
    tkey_len: usize,
    utf8: Option<Zeroizing<Vec<u8>>>,
    tkey: Option<TKey>,
}

impl<'a> Deriver<'a> {
    fn new(password: &'a Password, salt: &'a str, enctypes: &[Enctype]) -> Self {
        // AES128 needs only the first PBKDF2 block; compute the second only for AES256.
        let tkey_len = if enctypes.contains(&Enctype::Aes256CtsHmacSha196) {
            32
        } else {
            16
        };
        Deriver {
            password,
            salt,
            tkey_len,
            utf8: None,
            tkey: None,
        }
    }

    fn utf8(&mut self) -> &[u8] {
        self.utf8
            .get_or_insert_with(|| password_utf8(self.password))
    }

    fn tkey(&mut self) -> &TKey {
        let (salt, len) = (self.salt, self.tkey_len);
        let utf8 = self
            .utf8
            .get_or_insert_with(|| password_utf8(self.password));
        self.tkey.get_or_insert_with(|| {
            aes_s2k::pbkdf2_tkey(utf8, salt.as_bytes(), DEFAULT_ITERATIONS, len)
        })
    }

    fn key(&mut self, enctype: Enctype) -> SecretBytes {
        match enctype {
            Enctype::Rc4Hmac => nt_hash(self.password.0.expose()),
            Enctype::Aes128CtsHmacSha196 => aes_s2k::dk_aes128(self.tkey()),
            Enctype::Aes256CtsHmacSha196 => {
                // `new` saw AES256 in the list, so the cached tkey has both PBKDF2 blocks.
                debug_assert_eq!(self.tkey_len, 32);
                aes_s2k::dk_aes256(self.tkey())
            }
            Enctype::DesCbcCrc | Enctype::DesCbcMd5 => {
                let salt = self.salt;
                des_string_to_key(self.utf8(), salt.as_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salt_examples() {
        assert_eq!(
            gmsa_salt("EXAMPLE.TEST", "svc_web$"),
            "EXAMPLE.TESThostsvc_web.example.test"
        );
        // Case is normalised on both halves; the realm may arrive lower-case.
        assert_eq!(
            gmsa_salt("example.test", "SVC_Web$"),
            "EXAMPLE.TESThostsvc_web.example.test"
        );
        // Exactly one '$' is stripped (impacket's rstrip would strip both).
        assert_eq!(gmsa_salt("A.B", "odd$$"), "A.Bhostodd$.a.b");
        // No '$' at all: nothing to strip.
        assert_eq!(gmsa_salt("A.B", "name"), "A.Bhostname.a.b");
    }
}
