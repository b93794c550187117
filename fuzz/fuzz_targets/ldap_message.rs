//! The LDAP message path: bytes from the server (after the seal guard and unwrapping) go
//! through ldap3's bounded message check, lber and the result conversions callers make
//! (vendor/ldap3). None of it may panic, overflow the stack or allocate past the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(len)) = ldap3::check_message(data) {
        assert!(len <= data.len() && len <= ldap3::MAX_MESSAGE);
    }
    let _ = ldap3::decode_for_fuzzing(data);
});
