//! Real data from the lab (tests/data/krb/, compiled in): the salt probe's replies for svc_ren$ (renamed
//! from svc_renold$) and for an account the KDC does not know. The checks of tickets, which need
//! MIT's own krb5_c_decrypt, are in the daemon (tests/confirm_mit.rs).

use super::*;
use crate::krbmsg::parse_probe_reply;
use crate::testdata::data;

#[test]
fn the_kdc_salt_of_a_renamed_account_is_the_old_name() {
    let reply = parse_probe_reply(&data("probe-ren.der")).unwrap();
    assert_eq!(
        salt_from_reply(&reply, "EXAMPLE.TEST", "svc_ren$").unwrap(),
        "EXAMPLE.TESThostsvc_renold.example.test"
    );
    let e = salt_from_reply(
        &parse_probe_reply(&data("probe-nosuch.der")).unwrap(),
        "EXAMPLE.TEST",
        "svc_nosuch$",
    )
    .unwrap_err();
    assert_eq!(e, SaltUnknown::UnknownAccount);
    assert!(e.to_string().contains("does not know the account"), "{e}");
}

#[test]
fn salt_rules_for_other_answers() {
    let entry = |etype, salt: Option<&str>, p: Option<Vec<u8>>| EtypeInfo {
        etype,
        salt: salt.map(|s| s.as_bytes().to_vec()),
        s2kparams: p,
    };
    let with = |entries| ProbeReply::EtypeInfo {
        error_code: ERR_PREAUTH_REQUIRED,
        entries,
    };
    // AES128 alone will do; no salt means the RFC 4120 default salt.
    let r = with(vec![entry(23, None, None), entry(17, None, None)]);
    assert_eq!(salt_from_reply(&r, "R.T", "svc$").unwrap(), "R.Tsvc$");
    // RC4 only: no AES salt to be had.
    let e = salt_from_reply(&with(vec![entry(23, None, None)]), "R", "n").unwrap_err();
    assert_eq!(e, SaltUnknown::NoAesKey { offered: vec![23] });
    assert_eq!(
        e.to_string(),
        "the KDC offers no AES key for the account (enctypes 23)"
    );
    // Another iteration count than AD's: we would derive other keys, so no.
    let r = with(vec![entry(18, Some("S"), Some(vec![0, 0, 0x20, 0]))]);
    assert!(
        salt_from_reply(&r, "R", "n")
            .unwrap_err()
            .to_string()
            .contains("4096")
    );
    let r = ProbeReply::AsRep {
        entries: vec![entry(18, Some("S"), None)],
        enc_etype: 18,
    };
    assert_eq!(salt_from_reply(&r, "R", "n").unwrap(), "S");
    let r = ProbeReply::Error {
        code: 18,
        text: Some("revoked".into()),
    };
    assert_eq!(
        salt_from_reply(&r, "R", "n").unwrap_err().to_string(),
        "the KDC answered error 18 (revoked)"
    );
}
