//! Real data from the lab (tests/data/krb/): the blobs of svc_ren$ (renamed from svc_renold$,
//! 0x18) and svc_rc4$ (0x4), and a service ticket the KDC issued for each, decrypted by MIT's
//! own krb5_c_decrypt as `gmsa-keytab sync` does.

use super::*;
use crate::blob;
use crate::crypto::gmsa_salt;
use crate::krbmsg::{parse_probe_reply, parse_ticket};
use crate::secret::SecretBytes;
use crate::sys::{KEY_USAGE_TICKET, Login};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/krb/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn mit_decrypt(login: &Login) -> impl FnMut(Enctype, &[u8], &[u8]) -> bool + '_ {
    |e, key, cipher| {
        login
            .decrypt(i32::from(e.number()), key, KEY_USAGE_TICKET, cipher)
            .is_ok()
    }
}

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
    assert!(e.contains("does not know the account"), "{e}");
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
    assert!(salt_from_reply(&with(vec![entry(23, None, None)]), "R", "n").is_err());
    // Another iteration count than AD's: we would derive other keys, so no.
    let r = with(vec![entry(18, Some("S"), Some(vec![0, 0, 0x20, 0]))]);
    assert!(salt_from_reply(&r, "R", "n").unwrap_err().contains("4096"));
    let r = ProbeReply::AsRep {
        entries: vec![entry(18, Some("S"), None)],
        enc_etype: 18,
    };
    assert_eq!(salt_from_reply(&r, "R", "n").unwrap(), "S");
    let r = ProbeReply::Error {
        code: 18,
        text: Some("revoked".into()),
    };
    assert!(
        salt_from_reply(&r, "R", "n")
            .unwrap_err()
            .contains("revoked")
    );
}

#[test]
fn the_kdc_ticket_confirms_only_the_kdc_salt() {
    let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
    let password = blob::parse(&data("ren.blob")).unwrap();
    let ticket = parse_ticket(&data("ren.ticket")).unwrap();
    assert_eq!(ticket.sname, ["svc_ren$"]);
    assert_eq!((ticket.etype, ticket.kvno), (18, Some(1)));
    let check = |salt: &str, kvno: u32| {
        let c = [Candidate {
            kvno,
            password: &password.current,
            salt,
            keys: None,
        }];
        check_ticket(&ticket, &c, &mut mit_decrypt(&login))
    };
    assert_eq!(
        check("EXAMPLE.TESThostsvc_renold.example.test", 1),
        Verdict::Confirmed {
            kvno: 1,
            enctype: Enctype::Aes256CtsHmacSha196
        }
    );
    // The salt computed from the new name: the key is wrong, and MIT says so.
    assert_eq!(
        check(&gmsa_salt("EXAMPLE.TEST", "svc_ren$"), 1),
        Verdict::WrongKey {
            kvno: 1,
            enctype: Enctype::Aes256CtsHmacSha196
        }
    );
    // A kvno we do not write.
    assert_eq!(
        check("EXAMPLE.TESThostsvc_renold.example.test", 2),
        Verdict::UnknownKvno {
            kvno: Some(1),
            written: vec![2]
        }
    );
}

#[test]
fn rc4_tickets_are_checked_with_a_key_derived_on_the_spot() {
    let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
    let password = blob::parse(&data("rc4.blob")).unwrap();
    let ticket = parse_ticket(&data("rc4.ticket")).unwrap();
    assert_eq!(ticket.etype, 23);
    // The keys being written hold no RC4 (enctypes = ["aes256"]): derived for the check.
    let aes_only = KeySet {
        kvno: 1,
        keys: vec![(Enctype::Aes256CtsHmacSha196, SecretBytes::new(vec![0; 32]))],
    };
    let c = [Candidate {
        kvno: 1,
        password: &password.current,
        salt: "unused for rc4",
        keys: Some(&aes_only),
    }];
    assert_eq!(
        check_ticket(&ticket, &c, &mut mit_decrypt(&login)),
        Verdict::Confirmed {
            kvno: 1,
            enctype: Enctype::Rc4Hmac
        }
    );
    // A key that is being written is used as it is: a wrong one is caught.
    let wrong = KeySet {
        kvno: 1,
        keys: vec![(Enctype::Rc4Hmac, SecretBytes::new(vec![7; 16]))],
    };
    let c = [Candidate {
        kvno: 1,
        password: &password.current,
        salt: "",
        keys: Some(&wrong),
    }];
    assert_eq!(
        check_ticket(&ticket, &c, &mut mit_decrypt(&login)),
        Verdict::WrongKey {
            kvno: 1,
            enctype: Enctype::Rc4Hmac
        }
    );
    // A flipped bit in the ciphertext fails MIT's integrity check even with the right key.
    let mut bad = ticket.clone();
    let mid = bad.cipher.len() / 2;
    bad.cipher[mid] ^= 1;
    let c = [Candidate {
        kvno: 1,
        password: &password.current,
        salt: "",
        keys: None,
    }];
    assert!(matches!(
        check_ticket(&bad, &c, &mut mit_decrypt(&login)),
        Verdict::WrongKey { .. }
    ));
    // An enctype we do not derive is neither confirmed nor refuted.
    let mut other = ticket;
    other.etype = 20;
    assert!(matches!(
        check_ticket(&other, &c, &mut mit_decrypt(&login)),
        Verdict::Unverifiable(_)
    ));
}
