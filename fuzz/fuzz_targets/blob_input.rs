//! Blob input as users hand it over (raw, base64, LDIF): decoding must never panic, and a
//! decoded value goes on to the blob parser.
#![no_main]

use gmsa_keytab::{blob, blobfile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = blobfile::decode(data) {
        let _ = blob::parse_lenient(&raw);
    }
});
