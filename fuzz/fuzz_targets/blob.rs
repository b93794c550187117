//! The msDS-ManagedPassword parser sees bytes straight from LDAP: it must never panic, and its
//! two modes must agree.
#![no_main]

use gmsa_keytab::blob::{parse, parse_lenient};
use gmsa_keytab::crypto::password_utf8;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lenient = parse_lenient(data);
    if let Ok(blob) = parse(data) {
        // Anything strict accepts, lenient accepts unchanged and without warnings.
        assert_eq!(lenient, Ok((blob, Vec::new())));
    }
    if let Ok((blob, _)) = &lenient {
        // The UTF-16 -> UTF-8 step runs on every parsed password; it must yield UTF-8.
        for password in std::iter::once(&blob.current).chain(blob.previous.as_ref()) {
            assert!(std::str::from_utf8(&password_utf8(password)).is_ok());
        }
    }
});
