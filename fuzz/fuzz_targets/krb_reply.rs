//! The KDC's reply to the salt probe and the tickets it issues come from the network: the
//! parsers must never panic, and what they accept stays within the bounds they promise.
#![no_main]

use gmsa_keytab::krbmsg::{ProbeReply, parse_probe_reply, parse_ticket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_probe_reply(data) {
        Ok(ProbeReply::EtypeInfo { entries, .. }) | Ok(ProbeReply::AsRep { entries, .. }) => {
            assert!(entries.len() <= 32);
            for e in &entries {
                assert!(e.salt.as_ref().map_or(0, |s| s.len()) <= data.len());
            }
        }
        Ok(ProbeReply::Error { .. }) | Err(_) => {}
    }
    if let Ok(t) = parse_ticket(data) {
        assert!(t.cipher.len() <= data.len());
        assert!(t.sname.len() <= 32);
    }
});
