//! A DC's rootDSE `currentTime` (doctor's clock check) is text from the network: the parser must
//! never panic, and what it accepts must be the instant RFC 3339 formatting gives back.
#![no_main]

use gmsa_keytab::directory::probe::parse_generalized_time;
use gmsa_keytab::timefmt::rfc3339;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(secs) = parse_generalized_time(text) {
        let iso = rfc3339(secs);
        // YYYY-MM-DDTHH:MM:SSZ against the first 14 digits (a leap second 60 rolls over).
        let digits: String = iso.chars().filter(|c| c.is_ascii_digit()).collect();
        if !text.get(12..14).is_some_and(|s| s == "60") {
            assert_eq!(&digits, &text[..14], "{text} -> {iso}");
        }
    }
});
