use super::*;
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).unwrap()
}

const AES256_CURRENT: &str = "f162bd42746f2862d889de284ff8320b386099d3268c7bba82d5751452997d42";

fn reference_entry() -> Entry {
    Entry::new(
        Principal::parse("svc_web$@EXAMPLE.TEST", None, NT_PRINCIPAL).unwrap(),
        1_700_000_000,
        3,
        18,
        SecretBytes::new(unhex(AES256_CURRENT)),
    )
}

/// Reference §6.6: one AES256 record for svc_web$@EXAMPLE.TEST, kvno 3.
const REFERENCE_RECORD: &str =
    "0000004b 0001 000c 4558414d504c452e54455354 0008 7376635f77656224 00000001
    6553f100 03 0012 0020 f162bd42746f2862d889de284ff8320b386099d3268c7bba82d5751452997d42
    00000003";

#[test]
fn writes_reference_record_byte_exact() {
    let kt = Keytab {
        entries: vec![reference_entry()],
    };
    let mut want = vec![5, 2];
    want.extend(unhex(REFERENCE_RECORD));
    assert_eq!(kt.to_bytes().unwrap().as_slice(), want.as_slice());
}

#[test]
fn reads_reference_record() {
    let mut bytes = vec![5, 2];
    bytes.extend(unhex(REFERENCE_RECORD));
    let kt = Keytab::parse(&bytes).unwrap();
    assert_eq!(kt.entries.len(), 1);
    let e = &kt.entries[0];
    assert_eq!(e.principal.to_string(), "svc_web$@EXAMPLE.TEST");
    assert_eq!(e.principal.name_type, 1);
    assert_eq!((e.kvno, e.enctype, e.timestamp), (3, 18, 1_700_000_000));
    assert_eq!(e.key.expose(), unhex(AES256_CURRENT).as_slice());
}

#[test]
fn kvno_above_255_uses_32_bit_field() {
    let mut e = reference_entry();
    e.kvno = 300;
    let bytes = Keytab { entries: vec![e] }.to_bytes().unwrap();
    // kvno8 = 300 mod 256 = 0x2c, kvno32 = 0x12c, as MIT ktutil writes it.
    let rec = &bytes[6..];
    assert_eq!(rec[2 + 14 + 10 + 8], 0x2c);
    assert_eq!(&rec[rec.len() - 4..], &[0, 0, 1, 0x2c]);
    assert_eq!(Keytab::parse(&bytes).unwrap().entries[0].kvno, 300);
}

#[test]
fn zero_or_missing_kvno32_falls_back_to_kvno8() {
    let mut bytes = vec![5, 2];
    bytes.extend(unhex(REFERENCE_RECORD));
    // kvno32 = 0: the 8-bit field (3) rules.
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&[0, 0, 0, 0]);
    assert_eq!(Keytab::parse(&bytes).unwrap().entries[0].kvno, 3);
    // An old-style record without the kvno32 field at all (size 71).
    let mut old = vec![5, 2, 0, 0, 0, 0x47];
    old.extend(&bytes[6..n - 4]);
    let kt = Keytab::parse(&old).unwrap();
    assert_eq!(kt.entries[0].kvno, 3);
    // Written back unchanged, byte for byte.
    assert_eq!(kt.to_bytes().unwrap().as_slice(), old.as_slice());
}

#[test]
fn holes_are_skipped_and_zero_fill_tolerated() {
    let rec = unhex(REFERENCE_RECORD);
    let mut bytes = vec![5, 2];
    // A hole of 10 bytes (size -10), then the record, then zero fill.
    bytes.extend((-10i32).to_be_bytes());
    bytes.extend([0xaa; 10]);
    bytes.extend(&rec);
    bytes.extend([0; 7]);
    let kt = Keytab::parse(&bytes).unwrap();
    assert_eq!(kt.entries.len(), 1);
    assert_eq!(kt.entries[0].kvno, 3);
    // A size-0 record ends the data.
    let mut end = vec![5, 2];
    end.extend(&rec);
    end.extend([0, 0, 0, 0, 0, 0]);
    assert_eq!(Keytab::parse(&end).unwrap().entries.len(), 1);
    // Non-zero bytes after the end marker are damage, not fill.
    end.push(1);
    assert!(matches!(
        Keytab::parse(&end),
        Err(KeytabError::Trailing { .. })
    ));
}

#[test]
fn record_internal_fill_is_preserved_on_rewrite() {
    // Records may be longer than their fields (a reused hole); keep them verbatim.
    let mut rec = unhex(REFERENCE_RECORD);
    rec[3] += 8;
    rec.extend([0; 8]);
    let mut bytes = vec![5, 2];
    bytes.extend(&rec);
    let kt = Keytab::parse(&bytes).unwrap();
    assert_eq!(kt.entries[0].kvno, 3);
    assert_eq!(kt.to_bytes().unwrap().as_slice(), bytes.as_slice());
}

#[test]
fn malformed_inputs_are_named_errors() {
    assert!(Keytab::parse(&[]).unwrap().entries.is_empty());
    assert!(matches!(Keytab::parse(&[5]), Err(KeytabError::TooShort(1))));
    assert!(matches!(
        Keytab::parse(&[5, 1]),
        Err(KeytabError::Version(0x0501))
    ));
    assert!(matches!(
        Keytab::parse(b"hello"),
        Err(KeytabError::Version(_))
    ));
    let rec = unhex(REFERENCE_RECORD);
    let mut cut = vec![5, 2];
    cut.extend(&rec[..40]);
    assert!(matches!(
        Keytab::parse(&cut),
        Err(KeytabError::RecordTruncated { .. })
    ));
    // A record whose key length runs past its end.
    let mut bad = vec![5, 2];
    let mut r = rec.clone();
    r[4 + 2 + 14 + 10 + 4 + 4 + 1 + 2 + 1] = 0xff;
    bad.extend(&r);
    let err = Keytab::parse(&bad).unwrap_err();
    assert!(err.to_string().contains("the key"), "{err}");
    // No components.
    let mut none = vec![5, 2, 0, 0, 0, 4, 0, 0, 0, 0];
    assert!(matches!(
        Keytab::parse(&none),
        Err(KeytabError::NoComponents { .. })
    ));
    none.truncate(2);
    none.extend([0, 0]);
    assert!(Keytab::parse(&none).unwrap().entries.is_empty());
    // i32::MIN as a size must not overflow.
    let min = [5, 2, 0x80, 0, 0, 0];
    assert!(matches!(
        Keytab::parse(&min),
        Err(KeytabError::RecordTruncated { .. })
    ));
}

#[test]
fn principal_parsing_and_display() {
    let p = Principal::parse("HTTP/web.example.test", Some("example.test"), NT_SRV_HST).unwrap();
    assert_eq!(p.to_string(), "HTTP/web.example.test@EXAMPLE.TEST");
    assert_eq!(
        p.components,
        vec![b"HTTP".to_vec(), b"web.example.test".to_vec()]
    );
    let p = Principal::parse("a\\/b/c@R", None, 1).unwrap();
    assert_eq!(p.components, vec![b"a/b".to_vec(), b"c".to_vec()]);
    assert_eq!(p.to_string(), "a\\/b/c@R");
    let p3 = Principal::parse("ldap/dc1.example.test/example.test@EXAMPLE.TEST", None, 2).unwrap();
    assert_eq!(p3.components.len(), 3);
    let port = Principal::parse("MSSQLSvc/db.example.test:1433", Some("EXAMPLE.TEST"), 3).unwrap();
    assert_eq!(port.components[1], b"db.example.test:1433");
    assert!(Principal::parse("x", None, 1).is_err());
    assert!(Principal::parse("a//b@R", None, 1).is_err());
    assert!(Principal::parse("a@R@S", None, 1).is_err());
    assert!(Principal::parse("a\\", Some("R"), 1).is_err());
    let t1 = Principal::parse("a@R", None, 1).unwrap();
    let t3 = Principal::parse("a@R", None, 3).unwrap();
    assert!(t1.same_name(&t3));
}

fn arb_principal() -> impl Strategy<Value = Principal> {
    (
        proptest::collection::vec(any::<u8>(), 1..20),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..30), 1..4),
        any::<u32>(),
    )
        .prop_map(|(realm, components, name_type)| Principal {
            realm,
            components,
            name_type,
        })
}

fn arb_entry() -> impl Strategy<Value = Entry> {
    (
        arb_principal(),
        any::<u32>(),
        1u32..,
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(p, ts, kvno, et, key)| Entry::new(p, ts, kvno, et, SecretBytes::new(key)))
}

proptest! {
    #[test]
    fn round_trip(entries in proptest::collection::vec(arb_entry(), 0..12)) {
        let kt = Keytab { entries };
        let bytes = kt.to_bytes().unwrap();
        let back = Keytab::parse(&bytes).unwrap();
        prop_assert_eq!(back.entries.len(), kt.entries.len());
        for (a, b) in kt.entries.iter().zip(&back.entries) {
            prop_assert_eq!(&a.principal, &b.principal);
            prop_assert_eq!(a.principal.name_type, b.principal.name_type);
            prop_assert_eq!((a.timestamp, a.kvno, a.enctype), (b.timestamp, b.kvno, b.enctype));
            prop_assert_eq!(a.key.expose(), b.key.expose());
        }
        // A parsed keytab re-serializes to the same bytes.
        let again = back.to_bytes().unwrap();
        prop_assert_eq!(again.as_slice(), bytes.as_slice());
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Keytab::parse(&bytes);
        let mut v = vec![5, 2];
        v.extend(&bytes);
        let _ = Keytab::parse(&v);
    }

    #[test]
    fn mutated_valid_keytab_never_panics(
        entries in proptest::collection::vec(arb_entry(), 1..4),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut bytes = Keytab { entries }.to_bytes().unwrap().to_vec();
        for (i, b) in flips {
            let n = bytes.len();
            bytes[i % n] = b;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = Keytab::parse(&bytes);
    }
}
