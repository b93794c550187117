//! KDC replies come from the network: the KRB-ERROR reader (the KDC's clock, for clock-skew
//! messages) must never panic, and any time it accepts must be one it could print.
#![no_main]

use gmsa_keytab::directory::kerberos::kdc_time::{describe_offset, offset, parse_krb_error};
use gmsa_keytab::timefmt::rfc3339;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(e) = parse_krb_error(data) {
        let _ = rfc3339(e.stime);
        let _ = describe_offset(offset(e.stime, 1_800_000_000));
    }
});
