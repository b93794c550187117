//! Configuration text: parsing and validation must never panic, and a valid configuration's
//! rendered form must parse back to the same configuration.
#![no_main]

use gmsa_keytab::config;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("/fuzz/config.toml");
    if let Ok(cfg) = config::parse(path, text) {
        let again = config::parse(path, &cfg.render()).expect("rendered config parses");
        assert_eq!(again, cfg);
    }
});
