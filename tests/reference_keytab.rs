//! Reference §6.6: the whole 12-entry keytab for blob B, byte for byte (SHA-256 given there).

use gmsa_keytab::{account, blob, crypto, enctype, keytab::Keytab, plan};
use sha2::{Digest, Sha256};

#[test]
fn blob_b_keytab_matches_reference_sha256() {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/blob-b.bin"
    ))
    .unwrap();
    let password = blob::parse(&raw).unwrap();
    let enctypes = enctype::select(None, None).unwrap();
    let salt = crypto::gmsa_salt("EXAMPLE.TEST", "svc_web$");
    let keysets = account::keysets(&password, 3, &salt, &enctypes);
    let principals = account::principals(
        "svc_web$",
        "EXAMPLE.TEST",
        &["HTTP/web.example.test".into()],
    )
    .unwrap();
    let p = plan::plan(&Keytab::default(), &principals, &keysets, 1_700_000_000);
    let bytes = p.keytab.to_bytes().unwrap();
    assert_eq!(bytes.len(), 906);
    assert_eq!(
        hex::encode(Sha256::digest(bytes.as_slice())),
        "341eb2dc59ad9e7d93e62a38ecb9477b558b7771cdcb722d4b68cc0f4bbdcdb6"
    );
}
