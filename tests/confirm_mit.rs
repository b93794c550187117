//! Tickets the lab's KDC issued, checked against the keys of the blob as `gmsa-keytab sync`
//! does, with MIT's own krb5_c_decrypt (gmsa-sys's Login) as the decryption. The pure half of
//! the check (gmsa-core's confirm) is passed that decryption; its salt tests need no MIT and
//! are in gmsa-core (crates/gmsa-core/src/confirm/tests.rs).
//!
//! Real data from the lab (tests/data/krb/): the blobs of svc_ren$ (renamed from svc_renold$,
//! 0x18) and svc_rc4$ (0x4), and a service ticket the KDC issued for each.

use gmsa_keytab::blob;
use gmsa_keytab::confirm::{Candidate, Verdict, check_ticket};
use gmsa_keytab::crypto::gmsa_salt;
use gmsa_keytab::enctype::Enctype;
use gmsa_keytab::krbmsg::parse_ticket;
use gmsa_keytab::plan::KeySet;
use gmsa_keytab::secret::SecretBytes;
use gmsa_keytab::sys::{KEY_USAGE_TICKET, Login};

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
