//! Real replies from the lab's Samba 4.22 KDC (tests/data/krb/, compiled in; captured by sending
//! `salt_probe_request` to port 88), plus hand-built messages for the forms Samba did not send.

use super::der::{self, field, integer, sequence, tlv};
use super::*;

use crate::testdata::data;

fn aes256(salt: &str) -> EtypeInfo {
    EtypeInfo {
        etype: 18,
        salt: Some(salt.as_bytes().to_vec()),
        s2kparams: Some(vec![0, 0, 0x10, 0]),
    }
}

#[test]
fn samba_preauth_required_carries_the_salt() {
    let r = parse_probe_reply(&data("probe-web.der")).unwrap();
    assert_eq!(
        r,
        ProbeReply::EtypeInfo {
            error_code: ERR_PREAUTH_REQUIRED,
            entries: vec![aes256("EXAMPLE.TESThostsvc_web.example.test")]
        }
    );
    // RC4 only (0x4): the KDC still offers AES256 for the account's own pre-authentication.
    let r = parse_probe_reply(&data("probe-rc4.der")).unwrap();
    assert_eq!(
        r,
        ProbeReply::EtypeInfo {
            error_code: ERR_PREAUTH_REQUIRED,
            entries: vec![aes256("EXAMPLE.TESThostsvc_rc4.example.test")]
        }
    );
}

#[test]
fn renamed_account_keeps_its_old_salt() {
    // svc_renold$ renamed to svc_ren$ after its keys were made.
    let r = parse_probe_reply(&data("probe-ren.der")).unwrap();
    assert_eq!(
        r,
        ProbeReply::EtypeInfo {
            error_code: ERR_PREAUTH_REQUIRED,
            entries: vec![aes256("EXAMPLE.TESThostsvc_renold.example.test")]
        }
    );
}

#[test]
fn unknown_client_is_an_error_reply() {
    let r = parse_probe_reply(&data("probe-nosuch.der")).unwrap();
    assert_eq!(
        r,
        ProbeReply::Error {
            code: 6,
            text: None
        }
    );
}

#[test]
fn request_encodes_as_expected() {
    let req = salt_probe_request("EXAMPLE.TEST", "svc_web$", &[18, 17, 23], 0x8765_4321);
    let mut r = der::Reader::new(&req);
    let mut outer = r.expect(der::app(10)).unwrap();
    assert!(r.is_empty());
    let mut seq = outer.expect(der::SEQUENCE).unwrap();
    assert_eq!(seq.required(1, "pvno").unwrap().integer().unwrap(), 5);
    assert_eq!(seq.required(2, "type").unwrap().integer().unwrap(), 10);
    assert!(
        seq.field(3).unwrap().is_none(),
        "no padata: no pre-authentication"
    );
    let mut body = seq.required(4, "body").unwrap();
    let mut body = body.expect(der::SEQUENCE).unwrap();
    let mut cname = body.required(1, "cname").unwrap();
    let mut cname = cname.expect(der::SEQUENCE).unwrap();
    assert_eq!(cname.required(0, "nt").unwrap().integer().unwrap(), 1);
    let mut names = cname.required(1, "ns").unwrap();
    let mut names = names.expect(der::SEQUENCE).unwrap();
    assert_eq!(names.general_string().unwrap(), b"svc_web$");
    assert_eq!(
        body.required(2, "realm").unwrap().general_string().unwrap(),
        b"EXAMPLE.TEST"
    );
    // 31-bit nonce.
    assert_eq!(
        body.required(7, "nonce").unwrap().integer().unwrap(),
        0x0765_4321
    );
    let mut et = body.required(8, "etype").unwrap();
    let mut et = et.expect(der::SEQUENCE).unwrap();
    let mut got = Vec::new();
    while !et.is_empty() {
        got.push(et.int32().unwrap());
    }
    assert_eq!(got, [18, 17, 23]);
}

fn padata(kind: i32, value: &[u8]) -> Vec<u8> {
    sequence(&[
        field(1, &integer(i64::from(kind))),
        field(2, &tlv(der::OCTET_STRING, value)),
    ])
}

#[test]
fn as_rep_padata_and_older_etype_info() {
    // An AS-REP for an account without pre-authentication, with PA-ETYPE-INFO (11) only.
    let info = sequence(&[sequence(&[
        field(0, &integer(17)),
        field(1, &tlv(der::OCTET_STRING, b"SALT")),
    ])]);
    let rep = sequence(&[
        field(0, &integer(5)),
        field(1, &integer(11)),
        field(2, &sequence(&[padata(3, b"x"), padata(11, &info)])),
        field(3, &tlv(der::GENERAL_STRING, b"EXAMPLE.TEST")),
        field(
            6,
            &sequence(&[
                field(0, &integer(18)),
                field(2, &tlv(der::OCTET_STRING, b"cipher")),
            ]),
        ),
    ]);
    let r = parse_probe_reply(&tlv(der::app(11), &rep)).unwrap();
    assert_eq!(
        r,
        ProbeReply::AsRep {
            entries: vec![EtypeInfo {
                etype: 17,
                salt: Some(b"SALT".to_vec()),
                s2kparams: None
            }],
            enc_etype: 18
        }
    );
}

#[test]
fn ticket_enc_part_is_read() {
    let t = sequence(&[
        field(0, &integer(5)),
        field(1, &tlv(der::GENERAL_STRING, b"EXAMPLE.TEST")),
        field(
            2,
            &sequence(&[
                field(0, &integer(1)),
                field(1, &sequence(&[tlv(der::GENERAL_STRING, b"svc_web$")])),
            ]),
        ),
        field(
            3,
            &sequence(&[
                field(0, &integer(23)),
                field(1, &integer(2)),
                field(2, &tlv(der::OCTET_STRING, &[9; 300])),
            ]),
        ),
    ]);
    let p = parse_ticket(&tlv(der::app(1), &t)).unwrap();
    assert_eq!(p.realm, "EXAMPLE.TEST");
    assert_eq!(p.sname, ["svc_web$"]);
    assert_eq!((p.etype, p.kvno, p.cipher.len()), (23, Some(2), 300));
}

#[test]
fn every_truncation_and_bit_flip_is_an_error_or_a_value_never_a_panic() {
    for file in ["probe-web.der", "probe-ren.der", "probe-nosuch.der"] {
        let b = data(file);
        for n in 0..b.len() {
            assert!(parse_probe_reply(&b[..n]).is_err(), "{file} cut at {n}");
            let _ = parse_ticket(&b[..n]);
        }
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut m = b.clone();
                m[i] ^= 1 << bit;
                let _ = parse_probe_reply(&m);
                let _ = parse_ticket(&m);
            }
        }
    }
    assert!(parse_probe_reply(b"HTTP/1.1 400").is_err());
    assert!(parse_ticket(&[]).is_err());
}
