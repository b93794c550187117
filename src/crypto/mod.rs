//! Kerberos string-to-key for gMSA passwords (reference §3, §4). STUB: being implemented.

use crate::blob::Password;
use crate::enctype::Enctype;
use crate::secret::SecretBytes;

pub fn gmsa_salt(realm: &str, sam_account_name: &str) -> String {
    let _ = (realm, sam_account_name);
    String::new()
}

pub fn derive_key(enctype: Enctype, password: &Password, salt: &str) -> SecretBytes {
    let _ = (enctype, password, salt);
    SecretBytes::new(vec![0; enctype.key_len()])
}
