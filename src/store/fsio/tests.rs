use super::*;
use std::os::unix::fs::MetadataExt;

const WAIT: Duration = Duration::from_secs(5);

fn store(path: &Path, content: &[u8], own: Ownership) -> Result<Outcome, FsError> {
    lock(path, WAIT)?.store(content, &own)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn creates_with_requested_mode() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.keytab");
    assert_eq!(
        store(&p, b"abc", Ownership::default()).unwrap(),
        Outcome::Created
    );
    let m = fs::metadata(&p).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o600);
    assert_eq!(fs::read(&p).unwrap(), b"abc");
    let own = Ownership {
        mode: 0o640,
        ..Ownership::default()
    };
    assert_eq!(store(&p, b"abcd", own).unwrap(), Outcome::Replaced);
    assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o640);
}

#[test]
fn identical_content_keeps_inode_and_mtime() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k");
    store(&p, b"same", Ownership::default()).unwrap();
    let before = fs::metadata(&p).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        store(&p, b"same", Ownership::default()).unwrap(),
        Outcome::Unchanged
    );
    let after = fs::metadata(&p).unwrap();
    assert_eq!(before.ino(), after.ino());
    assert_eq!(before.mtime_nsec(), after.mtime_nsec());
    assert_eq!(before.mtime(), after.mtime());
    // Different content: a new inode (rename), never an in-place write.
    store(&p, b"diff", Ownership::default()).unwrap();
    assert_ne!(fs::metadata(&p).unwrap().ino(), before.ino());
}

#[test]
fn loose_mode_is_tightened_without_rewrite() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k");
    store(&p, b"x", Ownership::default()).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    let ino = fs::metadata(&p).unwrap().ino();
    assert_eq!(
        store(&p, b"x", Ownership::default()).unwrap(),
        Outcome::MetadataFixed
    );
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.ino(), m.mode() & 0o7777), (ino, 0o600));
}

#[test]
fn refuses_symlink_target_and_leaves_it_alone() {
    let d = tempfile::tempdir().unwrap();
    let real = d.path().join("real");
    fs::write(&real, b"precious").unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = store(&link, b"new", Ownership::default()).unwrap_err();
    assert!(matches!(err, FsError::Symlink { .. }), "{err}");
    assert_eq!(fs::read(&real).unwrap(), b"precious");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A dangling link too: never created through.
    let dangling = d.path().join("dangling");
    std::os::unix::fs::symlink(d.path().join("nowhere"), &dangling).unwrap();
    assert!(matches!(
        store(&dangling, b"new", Ownership::default()),
        Err(FsError::Symlink { .. })
    ));
    assert!(!d.path().join("nowhere").exists());
}

#[test]
fn missing_directory_and_non_regular_target_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let err = store(&d.path().join("no/such/k"), b"x", Ownership::default()).unwrap_err();
    assert!(matches!(err, FsError::NoDirectory { .. }), "{err}");
    let sub = d.path().join("sub");
    fs::create_dir(&sub).unwrap();
    assert!(matches!(
        store(&sub, b"x", Ownership::default()),
        Err(FsError::NotRegular { .. })
    ));
}

#[test]
fn stale_temp_files_are_removed_and_none_left_behind() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k");
    let stale = d.path().join(".k.gmsa-keytab-tmp.999.dead");
    fs::write(&stale, b"secret from a crashed run").unwrap();
    let other = d.path().join(".other.gmsa-keytab-tmp.1.x");
    fs::write(&other, b"another keytab's").unwrap();
    store(&p, b"x", Ownership::default()).unwrap();
    assert!(!stale.exists());
    assert!(
        other.exists(),
        "only this keytab's temps are ours to remove"
    );
    let names: Vec<String> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".k.gmsa-keytab-tmp")),
        "{names:?}"
    );
}

#[test]
fn second_writer_waits_then_times_out() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k");
    let held = lock(&p, WAIT).unwrap();
    let err = match lock(&p, Duration::from_millis(100)) {
        Err(e) => e,
        Ok(_) => panic!("lock taken twice"),
    };
    assert!(matches!(err, FsError::LockTimeout { .. }), "{err}");
    assert_eq!(err.class(), Class::TempFail);
    drop(held);
    assert!(lock(&p, Duration::from_millis(100)).is_ok());
}

#[test]
fn existing_content_is_read_under_the_lock() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k");
    assert!(lock(&p, WAIT).unwrap().existing().is_none());
    fs::write(&p, b"old").unwrap();
    assert_eq!(lock(&p, WAIT).unwrap().existing(), Some(&b"old"[..]));
}

#[test]
#[ignore = "needs root to chown; tests/run-all.sh runs it as root"]
fn owner_and_group_are_applied() {
    assert!(
        is_root(),
        "run as root: chown to another user needs CAP_CHOWN"
    );
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k");
    let own = Ownership {
        uid: Some(65534),
        gid: Some(65534),
        mode: 0o640,
    };
    store(&p, b"x", own).unwrap();
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (65534, 65534, 0o640));
    // Unspecified owner keeps the existing one on rewrite.
    store(
        &p,
        b"y",
        Ownership {
            uid: None,
            gid: None,
            mode: 0o640,
        },
    )
    .unwrap();
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534));
    // Ownership drift is fixed in place.
    std::os::unix::fs::chown(&p, Some(0), Some(0)).unwrap();
    assert_eq!(store(&p, b"y", own).unwrap(), Outcome::MetadataFixed);
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534));
}
