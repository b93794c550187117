//! The seal guard reads SASL buffers and GSS wrap-token headers straight from the DC's socket
//! before anything else sees them: splitting and checking must never panic or over-read.
#![no_main]

use gmsa_keytab::directory::seal::guard::{MAX_FROM_SERVER, check_wrap_token, split_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(len)) = split_frame(rest, MAX_FROM_SERVER) {
        assert!(len > 4 && len <= rest.len());
        let _ = check_wrap_token(&rest[4..len], true);
        let _ = check_wrap_token(&rest[4..len], false);
        rest = &rest[len..];
    }
    let _ = check_wrap_token(data, true);
});
