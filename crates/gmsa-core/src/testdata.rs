//! The lab's captured Kerberos messages (tests/data/krb/ at the workspace root), compiled into
//! the tests: gmsa-core reads no files, not even in its tests (clippy.toml).

macro_rules! krb {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/data/krb/",
                $name
            ))
            .as_slice(),
        )
    };
}

const KRB: &[(&str, &[u8])] = &[
    krb!("probe-web.der"),
    krb!("probe-rc4.der"),
    krb!("probe-ren.der"),
    krb!("probe-nosuch.der"),
];

/// The bytes of `tests/data/krb/<name>`.
pub(crate) fn data(name: &str) -> Vec<u8> {
    match KRB.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) => bytes.to_vec(),
        None => panic!("{name} is not among the compiled-in files of testdata.rs"),
    }
}
