//! Keytab files on disk may have been written by any tool, or damaged: parsing must never
//! panic, and whatever parses must re-serialize to bytes that parse to the same entries.
#![no_main]

use gmsa_keytab::keytab::Keytab;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kt) = Keytab::parse(data) {
        let bytes = kt.to_bytes().expect("a parsed keytab re-serializes");
        let again = Keytab::parse(&bytes).expect("our own output parses");
        assert_eq!(again.entries.len(), kt.entries.len());
        for (a, b) in kt.entries.iter().zip(&again.entries) {
            assert_eq!(a.principal, b.principal);
            assert_eq!((a.kvno, a.enctype, a.timestamp), (b.kvno, b.enctype, b.timestamp));
            assert_eq!(a.key.expose(), b.key.expose());
        }
    }
});
