//! DNS SRV answers come from the network (any host that can reach our UDP port and guess the
//! query id): the parser must never panic, and whatever it accepts must be usable as DC names.
#![no_main]

use gmsa_keytab::directory::discover::{check_host_name, order_srv};
use gmsa_keytab::directory::discover::dns::parse_answer;
use libfuzzer_sys::fuzz_target;

const QNAME: &str = "_ldap._tcp.dc._msdcs.example.test";

fuzz_target!(|data: &[u8]| {
    // Use the message's own id so the parser goes past the id check.
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    if let Ok(answer) = parse_answer(data, id, QNAME) {
        for r in &answer.records {
            assert!(r.target.len() <= 255);
            assert!(r.target.is_ascii());
            if !r.target.is_empty() {
                // Accepted names are plain host names or get refused later; never a panic.
                let _ = check_host_name(&r.target);
            }
        }
        let mut n = 0u64;
        let ordered = order_srv(&answer.records, &mut |max| {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if max == 0 { 0 } else { n % (max + 1) }
        });
        assert!(ordered.len() <= answer.records.len());
        assert!(ordered.windows(2).all(|w| w[0].priority <= w[1].priority));
    }
});
