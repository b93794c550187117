use super::*;
use crate::keytab::{NT_PRINCIPAL, NT_SRV_HST};
use Enctype::*;

fn key(tag: u8, len: usize) -> SecretBytes {
    SecretBytes::new(vec![tag; len])
}

fn set(kvno: u32, tag: u8) -> KeySet {
    KeySet {
        kvno,
        keys: vec![
            (Aes256CtsHmacSha196, key(tag, 32)),
            (Aes128CtsHmacSha196, key(tag + 1, 16)),
            (Rc4Hmac, key(tag + 2, 16)),
        ],
    }
}

fn managed() -> Vec<Principal> {
    vec![
        Principal::parse("svc_web$@EXAMPLE.TEST", None, NT_PRINCIPAL).unwrap(),
        Principal::parse("HTTP/web.example.test@EXAMPLE.TEST", None, NT_SRV_HST).unwrap(),
    ]
}

/// A keytab as another tool left it: a foreign principal with odd record padding, written
/// before and after the managed ones.
fn with_foreign(managed_entries: &Keytab) -> Vec<u8> {
    let foreign = Entry::new(
        Principal::parse("host/host1.example.test@EXAMPLE.TEST", None, 3).unwrap(),
        42,
        7,
        18,
        key(0xee, 32),
    );
    let rec = foreign.record_bytes().unwrap();
    let mut bytes = vec![5, 2];
    // Foreign record with 5 bytes of fill inside it.
    bytes.extend(((rec.len() + 5) as i32).to_be_bytes());
    bytes.extend(rec.iter());
    bytes.extend([0; 5]);
    bytes.extend(&managed_entries.to_bytes().unwrap()[2..]);
    bytes.extend((rec.len() as i32).to_be_bytes());
    bytes.extend(rec.iter());
    bytes
}

fn foreign_records(kt: &Keytab) -> Vec<Vec<u8>> {
    kt.entries
        .iter()
        .filter(|e| e.principal.components[0] == b"host")
        .map(|e| e.record_bytes().unwrap().to_vec())
        .collect()
}

#[test]
fn fresh_keytab_gets_k_and_k_minus_1_in_order() {
    let p = plan(
        &Keytab::default(),
        &managed(),
        &[set(3, 10), set(2, 20)],
        1000,
    );
    assert!(p.changed);
    assert_eq!((p.added, p.removed), (12, 0));
    let got: Vec<(String, u32, u16)> = p
        .keytab
        .entries
        .iter()
        .map(|e| (e.principal.to_string(), e.kvno, e.enctype))
        .collect();
    let mut want = Vec::new();
    for kvno in [3, 2] {
        for name in [
            "svc_web$@EXAMPLE.TEST",
            "HTTP/web.example.test@EXAMPLE.TEST",
        ] {
            for et in [18, 17, 23] {
                want.push((name.to_string(), kvno, et));
            }
        }
    }
    assert_eq!(got, want);
    assert!(p.keytab.entries.iter().all(|e| e.timestamp == 1000));
}

#[test]
fn foreign_principals_survive_byte_identical() {
    let first = plan(
        &Keytab::default(),
        &managed(),
        &[set(3, 10), set(2, 20)],
        1000,
    );
    let bytes = with_foreign(&first.keytab);
    let existing = Keytab::parse(&bytes).unwrap();
    let before = foreign_records(&existing);
    assert_eq!(before.len(), 2);
    // A rotation: kvno 4 current, 3 previous.
    let p = plan(&existing, &managed(), &[set(4, 30), set(3, 10)], 2000);
    assert!(p.changed);
    assert_eq!(foreign_records(&p.keytab), before);
    // And in the written file the foreign records appear verbatim, fill included.
    let out = p.keytab.to_bytes().unwrap();
    let first_foreign = &bytes[2..2 + 4 + before[0].len()];
    assert_eq!(&out[2..2 + first_foreign.len()], first_foreign);
}

#[test]
fn rotation_drops_k_minus_2() {
    let first = plan(
        &Keytab::default(),
        &managed(),
        &[set(3, 10), set(2, 20)],
        1000,
    );
    let p = plan(&first.keytab, &managed(), &[set(4, 30), set(3, 10)], 2000);
    assert!(p.changed);
    let kvnos: Vec<u32> = p.keytab.entries.iter().map(|e| e.kvno).collect();
    assert!(!kvnos.contains(&2), "K-2 must be gone: {kvnos:?}");
    assert_eq!(kvnos.iter().filter(|k| **k == 4).count(), 6);
    assert_eq!(kvnos.iter().filter(|k| **k == 3).count(), 6);
    assert_eq!((p.added, p.removed), (6, 6));
}

#[test]
fn identical_second_run_changes_nothing() {
    let first = plan(
        &Keytab::default(),
        &managed(),
        &[set(3, 10), set(2, 20)],
        1000,
    );
    let bytes = first.keytab.to_bytes().unwrap();
    let reread = Keytab::parse(&bytes).unwrap();
    // A later time alone is not a change.
    let p = plan(&reread, &managed(), &[set(3, 10), set(2, 20)], 9999);
    assert!(!p.changed);
    assert_eq!(p.keytab.to_bytes().unwrap().as_slice(), bytes.as_slice());
}

#[test]
fn order_alone_is_not_a_change_but_any_key_is() {
    let first = plan(
        &Keytab::default(),
        &managed(),
        &[set(3, 10), set(2, 20)],
        1000,
    );
    let mut shuffled = first.keytab.clone();
    shuffled.entries.reverse();
    assert!(!plan(&shuffled, &managed(), &[set(3, 10), set(2, 20)], 5).changed);
    // Same kvno, different key (e.g. an earlier tool wrote a wrong RC4 key): rewritten.
    let p = plan(&first.keytab, &managed(), &[set(3, 11), set(2, 20)], 5);
    assert!(p.changed);
    assert_eq!((p.added, p.removed), (6, 6));
}

#[test]
fn narrower_enctypes_remove_entries() {
    let first = plan(&Keytab::default(), &managed(), &[set(3, 10)], 1);
    let mut aes_only = set(3, 10);
    aes_only.keys.retain(|(e, _)| *e != Rc4Hmac);
    let p = plan(&first.keytab, &managed(), &[aes_only], 2);
    assert!(p.changed);
    assert_eq!((p.added, p.removed), (0, 2));
    assert!(p.keytab.entries.iter().all(|e| e.enctype != 23));
}

#[test]
fn name_type_or_duplicates_force_a_rewrite() {
    let first = plan(&Keytab::default(), &managed(), &[set(3, 10)], 1);
    let mut retyped = first.keytab.clone();
    retyped.entries[0].principal.name_type = 1;
    retyped.entries[3].principal.name_type = 1;
    assert!(plan(&retyped, &managed(), &[set(3, 10)], 1).changed);
    let mut dup = first.keytab.clone();
    dup.entries.push(first.keytab.entries[0].clone());
    let p = plan(&dup, &managed(), &[set(3, 10)], 1);
    assert!(p.changed);
    assert_eq!(p.keytab.entries.len(), 6);
}

#[test]
fn duplicate_principals_and_keysets_are_merged() {
    let mut m = managed();
    m.push(m[0].clone());
    let p = plan(&Keytab::default(), &m, &[set(3, 10), set(3, 10)], 1);
    assert_eq!(p.keytab.entries.len(), 6);
}

#[test]
fn two_accounts_share_one_keytab() {
    let web = managed();
    let db = vec![Principal::parse("svc_db$@EXAMPLE.TEST", None, NT_PRINCIPAL).unwrap()];
    let a = plan(&Keytab::default(), &web, &[set(3, 10)], 1);
    let b = plan(&a.keytab, &db, &[set(5, 50)], 1);
    assert!(b.changed);
    assert_eq!(b.keytab.entries.len(), 9);
    // Re-syncing the first account leaves the second's entries alone and changes nothing.
    let again = plan(&b.keytab, &web, &[set(3, 10)], 2);
    assert!(!again.changed);
}

#[test]
fn previous_keys_survive_when_the_blob_has_no_previous_password() {
    // kvno 1 written while current; then the first rollover: the DC sends only the new
    // password (kvno 2), no previous one. The kvno 1 keys must stay for tickets still out.
    let first = plan(&Keytab::default(), &managed(), &[set(1, 10)], 1);
    let p = plan(&first.keytab, &managed(), &[set(2, 30)], 2);
    assert!(p.changed);
    let kvnos: Vec<u32> = p.keytab.entries.iter().map(|e| e.kvno).collect();
    assert_eq!(kvnos.iter().filter(|k| **k == 2).count(), 6);
    assert_eq!(kvnos.iter().filter(|k| **k == 1).count(), 6);
    // The kept entries are the old ones, byte for byte (their timestamp too).
    let old: Vec<_> = first
        .keytab
        .entries
        .iter()
        .map(|e| e.record_bytes().unwrap().to_vec())
        .collect();
    let kept: Vec<_> = p
        .keytab
        .entries
        .iter()
        .filter(|e| e.kvno == 1)
        .map(|e| e.record_bytes().unwrap().to_vec())
        .collect();
    assert_eq!(kept, old);
    // Running again with the same answer changes nothing.
    assert!(!plan(&p.keytab, &managed(), &[set(2, 30)], 3).changed);
    // The next rotation drops kvno 1 (K-2), keeping kvno 2 as the previous.
    let q = plan(&p.keytab, &managed(), &[set(3, 50)], 4);
    let kvnos: Vec<u32> = q.keytab.entries.iter().map(|e| e.kvno).collect();
    assert!(
        !kvnos.contains(&1) && kvnos.contains(&2) && kvnos.contains(&3),
        "{kvnos:?}"
    );
    // Narrowed enctypes are not brought back through the kept entries.
    let mut aes = set(4, 70);
    aes.keys.retain(|(e, _)| *e == Aes256CtsHmacSha196);
    let r = plan(&q.keytab, &managed(), &[aes], 5);
    assert!(
        r.keytab.entries.iter().all(|e| e.enctype == 18),
        "{:?}",
        r.keytab.entries
    );
}

fn records(kt: &Keytab, kvno: u32) -> Vec<Vec<u8>> {
    kt.entries
        .iter()
        .filter(|e| e.kvno == kvno)
        .map(|e| e.record_bytes().unwrap().to_vec())
        .collect()
}

#[test]
fn a_dc_that_is_behind_never_takes_a_kvno_back() {
    // The host holds kvno 2 (current) and 1 (previous) from an up-to-date DC.
    let held = plan(
        &Keytab::default(),
        &managed(),
        &[set(2, 30), set(1, 10)],
        100,
    );
    assert_eq!(held.kept_newer, None);

    // A DC restored from before the rotation: kvno 1 with the old password, no previous.
    let behind = plan(&held.keytab, &managed(), &[set(1, 10)], 200);
    assert_eq!(behind.kept_newer, Some(2));
    assert!(
        !behind.changed,
        "nothing to write: the keytab already has both"
    );
    assert_eq!(records(&behind.keytab, 2), records(&held.keytab, 2));

    // Behind with a previous password (kvno 0 is never written) or with keys of its own for
    // the older kvno: the newer entries stay byte for byte, first in the file.
    let other = plan(&held.keytab, &managed(), &[set(1, 90)], 300);
    assert_eq!(other.kept_newer, Some(2));
    assert!(other.changed);
    assert_eq!(records(&other.keytab, 2), records(&held.keytab, 2));
    assert!(other.keytab.entries[..6].iter().all(|e| e.kvno == 2));

    // Two behind: kvnos 3 and 2 stay, 1 comes from the DC.
    let three = plan(&held.keytab, &managed(), &[set(3, 50), set(2, 30)], 400);
    let two_behind = plan(&three.keytab, &managed(), &[set(1, 10)], 500);
    assert_eq!(two_behind.kept_newer, Some(3));
    let mut kvnos: Vec<u32> = two_behind.keytab.entries.iter().map(|e| e.kvno).collect();
    kvnos.dedup();
    assert_eq!(kvnos, [3, 2, 1]);

    // A DC that caught up resolves it the normal way: K and K-1, nothing kept above them.
    let caught_up = plan(
        &two_behind.keytab,
        &managed(),
        &[set(3, 50), set(2, 30)],
        600,
    );
    assert_eq!(caught_up.kept_newer, None);
    let mut kvnos: Vec<u32> = caught_up.keytab.entries.iter().map(|e| e.kvno).collect();
    kvnos.dedup();
    assert_eq!(kvnos, [3, 2]);

    // Only the managed principals count: a foreign principal at a higher kvno is not "newer".
    let foreign = Keytab::parse(&with_foreign(&held.keytab)).unwrap();
    let p = plan(&foreign, &managed(), &[set(2, 30), set(1, 10)], 700);
    assert_eq!(p.kept_newer, None);
}

#[test]
fn held_keys_of_the_same_password_are_taken_and_another_passwords_are_not() {
    let password = Password(SecretBytes::new(vec![0x41; 256]));
    let rc4 = crate::crypto::derive_key(Rc4Hmac, &password, "");
    // Derived with the salt the caller knows now (tag 50); the keytab holds AES256 under the
    // salt the KDC used then (tag 10) and the password's RC4 key, no AES128.
    let derived = || {
        let mut s = set(1, 50);
        s.keys[2].1 = rc4.clone();
        s
    };
    let held = vec![(Aes256CtsHmacSha196, key(10, 32)), (Rc4Hmac, rc4.clone())];
    let mut s = derived();
    assert!(reuse_held(&mut s, &held, &password));
    let tags: Vec<u8> = s.keys.iter().map(|(_, k)| k.expose()[0]).collect();
    assert_eq!(
        tags,
        [10, 51, rc4.expose()[0]],
        "AES256 held, AES128 derived"
    );
    // An RC4 key of another password: nothing is taken.
    let other = vec![(Aes256CtsHmacSha196, key(10, 32)), (Rc4Hmac, key(9, 16))];
    let mut s = derived();
    assert!(!reuse_held(&mut s, &other, &password));
    assert_eq!(s.keys[0].1, key(50, 32));
    // No RC4 held (an AES-only keytab): the AES keys are taken as they are.
    let mut s = derived();
    assert!(reuse_held(&mut s, &held[..1], &password));
    assert_eq!(s.keys[0].1, key(10, 32));
    // Nothing held: nothing taken.
    let mut s = derived();
    assert!(!reuse_held(&mut s, &[], &password));
    assert_eq!(s.keys[0].1, key(50, 32));
}
