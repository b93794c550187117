//! The real binary, offline: `derive` and `show`, and what a bad input must never cost.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test: this build's, or the one GMSA_KEYTAB_BIN names
/// (packaging/arm64-test.sh runs these tests against the arm64 build under qemu-user).
fn bin() -> std::ffi::OsString {
    std::env::var_os("GMSA_KEYTAB_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_gmsa-keytab").into())
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn derive(blob: &Path, keytab: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "derive",
        "--blob",
        blob.to_str().unwrap(),
        "--account",
        "svc_web$",
        "--realm",
        "EXAMPLE.TEST",
        "--kvno",
        "3",
        "--keytab",
        keytab.to_str().unwrap(),
        "--principal",
        "HTTP/web.example.test",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn show_json(keytab: &Path) -> Vec<serde_json::Value> {
    let o = run(&["show", "--json", keytab.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn derive_blob_b_writes_twelve_entries() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("web.keytab");
    let o = derive(&data("blob-b.bin"), &kt, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("outcome=created"), "{}", stderr(&o));
    let entries = show_json(&kt);
    assert_eq!(entries.len(), 12);
    let summary: Vec<(String, u64, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["principal"].as_str().unwrap().to_string(),
                e["kvno"].as_u64().unwrap(),
                e["enctype"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary[0], ("svc_web$@EXAMPLE.TEST".into(), 3, 18));
    assert_eq!(
        summary[5],
        ("HTTP/web.example.test@EXAMPLE.TEST".into(), 3, 23)
    );
    assert_eq!(
        summary[11],
        ("HTTP/web.example.test@EXAMPLE.TEST".into(), 2, 23)
    );
    assert_eq!(fs::metadata(&kt).unwrap().mode() & 0o777, 0o600);
    // `show` never prints key material.
    let text = run(&["show", kt.to_str().unwrap()]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), 12);
    assert!(!text.to_lowercase().contains("f162bd42"), "{text}");
}

#[test]
fn base64_and_stdin_inputs_give_the_same_keytab() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a");
    let b = d.path().join("b");
    assert!(derive(&data("blob-b.bin"), &a, &[]).status.success());
    assert!(derive(&data("blob-b.b64"), &b, &[]).status.success());
    let key_view = |p: &Path| -> Vec<serde_json::Value> {
        show_json(p)
            .into_iter()
            .map(|mut e| {
                e.as_object_mut().unwrap().remove("timestamp");
                e.as_object_mut().unwrap().remove("time");
                e
            })
            .collect()
    };
    assert_eq!(key_view(&a), key_view(&b));
    // stdin, as an LDIF line the way ldapsearch prints it.
    let b64 = fs::read_to_string(data("blob-b.b64")).unwrap();
    let ldif = format!("dn: CN=svc_web,DC=example,DC=test\nmsDS-ManagedPassword:: {b64}");
    let c = d.path().join("c");
    let mut child = Command::new(bin())
        .args([
            "derive",
            "--blob",
            "-",
            "--account",
            "svc_web$",
            "--realm",
            "EXAMPLE.TEST",
        ])
        .args([
            "--kvno",
            "3",
            "--keytab",
            c.to_str().unwrap(),
            "--principal",
        ])
        .arg("HTTP/web.example.test")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ldif.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(key_view(&a), key_view(&c));
}

#[test]
fn rerun_leaves_inode_and_mtime() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    assert!(derive(&data("blob-b.bin"), &kt, &[]).status.success());
    let before = fs::metadata(&kt).unwrap();
    let bytes = fs::read(&kt).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = derive(&data("blob-b.bin"), &kt, &[]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("outcome=unchanged"), "{}", stderr(&o));
    let after = fs::metadata(&kt).unwrap();
    assert_eq!(
        (before.ino(), before.mtime(), before.mtime_nsec()),
        (after.ino(), after.mtime(), after.mtime_nsec())
    );
    assert_eq!(fs::read(&kt).unwrap(), bytes);
}

#[test]
fn rotation_replaces_k_minus_2_and_keeps_foreign_entries() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    // A foreign principal written first (by us here; the MIT interop test uses ktutil).
    let o = run(&[
        "derive",
        "--blob",
        data("blob-a.bin").to_str().unwrap(),
        "--account",
        "other$",
        "--realm",
        "EXAMPLE.TEST",
        "--kvno",
        "9",
        "--keytab",
        kt.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let foreign_before: Vec<serde_json::Value> = show_json(&kt);
    assert!(derive(&data("blob-b.bin"), &kt, &[]).status.success());
    // Now "rotate": kvno 4 with the same blob shape.
    let o = run(&[
        "derive",
        "--blob",
        data("blob-b.bin").to_str().unwrap(),
        "--account",
        "svc_web$",
        "--realm",
        "EXAMPLE.TEST",
        "--kvno",
        "4",
        "--keytab",
        kt.to_str().unwrap(),
        "--principal",
        "HTTP/web.example.test",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all = show_json(&kt);
    let web_kvnos: Vec<u64> = all
        .iter()
        .filter(|e| !e["principal"].as_str().unwrap().starts_with("other$"))
        .map(|e| e["kvno"].as_u64().unwrap())
        .collect();
    assert_eq!(web_kvnos.len(), 12);
    assert!(
        web_kvnos.iter().all(|k| *k == 4 || *k == 3),
        "{web_kvnos:?}"
    );
    let foreign_after: Vec<serde_json::Value> = all
        .into_iter()
        .filter(|e| e["principal"].as_str().unwrap().starts_with("other$"))
        .collect();
    assert_eq!(foreign_after, foreign_before);
}

fn assert_fails_untouched(kt: &Path, o: &Output, code: i32, needle: &str, before: &[u8]) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert!(
        stderr(o).contains(needle),
        "want {needle:?} in: {}",
        stderr(o)
    );
    assert_eq!(
        fs::read(kt).unwrap(),
        before,
        "target must stay byte-identical"
    );
}

#[test]
fn malformed_blob_fails_with_65_and_keeps_keytab() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    assert!(derive(&data("blob-b.bin"), &kt, &[]).status.success());
    let before = fs::read(&kt).unwrap();
    let mut blob = fs::read(data("blob-b.bin")).unwrap();
    blob.pop();
    let bad = d.path().join("bad.bin");
    fs::write(&bad, &blob).unwrap();
    let o = derive(&bad, &kt, &[]);
    assert_fails_untouched(&kt, &o, 65, "Length", &before);
    fs::write(&bad, b"this is not a blob\n").unwrap();
    let o = derive(&bad, &kt, &[]);
    assert_fails_untouched(&kt, &o, 65, "base64", &before);
    fs::write(&bad, b"").unwrap();
    let o = derive(&bad, &kt, &[]);
    assert_fails_untouched(&kt, &o, 65, "empty", &before);
    let o = derive(&d.path().join("missing.bin"), &kt, &[]);
    assert_fails_untouched(&kt, &o, 66, "missing.bin", &before);
}

#[test]
fn corrupt_keytab_fails_with_79_and_stays_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    for garbage in [
        &b"\x05\x02\x00\x00\x00\x40short"[..],
        b"\x05\x01",
        b"plain text file\n",
    ] {
        fs::write(&kt, garbage).unwrap();
        fs::set_permissions(&kt, fs::Permissions::from_mode(0o644)).unwrap();
        let ino = fs::metadata(&kt).unwrap().ino();
        let o = derive(&data("blob-b.bin"), &kt, &[]);
        assert_fails_untouched(&kt, &o, 79, "left untouched", garbage);
        let m = fs::metadata(&kt).unwrap();
        assert_eq!(
            (m.ino(), m.mode() & 0o777),
            (ino, 0o644),
            "not even metadata changes"
        );
        let o = run(&["show", kt.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(79), "{}", stderr(&o));
    }
}

#[test]
fn mode_never_looser_than_asked() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    assert!(
        derive(&data("blob-b.bin"), &kt, &["--mode", "0640"])
            .status
            .success()
    );
    assert_eq!(fs::metadata(&kt).unwrap().mode() & 0o7777, 0o640);
    // Someone loosened it: the next run tightens it, without rewriting the content.
    fs::set_permissions(&kt, fs::Permissions::from_mode(0o666)).unwrap();
    let ino = fs::metadata(&kt).unwrap().ino();
    let o = derive(&data("blob-b.bin"), &kt, &["--mode", "0640"]);
    assert!(
        stderr(&o).contains("outcome=metadatafixed"),
        "{}",
        stderr(&o)
    );
    let m = fs::metadata(&kt).unwrap();
    assert_eq!((m.ino(), m.mode() & 0o7777), (ino, 0o640));
    // Default mode is 0600 even if the file was looser before.
    fs::set_permissions(&kt, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(derive(&data("blob-b.bin"), &kt, &[]).status.success());
    assert_eq!(fs::metadata(&kt).unwrap().mode() & 0o7777, 0o600);
}

#[test]
fn enctype_selection_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    // RC4 only (0x4): AES256 and AES128 as well, which the KDC pre-authenticates the account with.
    let o = derive(&data("blob-b.bin"), &kt, &["--supported-enctypes", "0x4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ets: Vec<u64> = show_json(&kt)
        .iter()
        .map(|e| e["enctype"].as_u64().unwrap())
        .collect();
    assert_eq!(ets, [18, 17, 23, 18, 17, 23, 18, 17, 23, 18, 17, 23]);
    let o = derive(&data("blob-b.bin"), &kt, &["--supported-enctypes", "0x18"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(show_json(&kt).iter().all(|e| e["enctype"] != 23));
    let o = derive(
        &data("blob-b.bin"),
        &kt,
        &["--enctypes", "aes256,des-cbc-md5"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ets: Vec<u64> = show_json(&kt)
        .iter()
        .map(|e| e["enctype"].as_u64().unwrap())
        .collect();
    assert_eq!(ets, [18, 3, 18, 3, 18, 3, 18, 3]);
    let before = fs::read(&kt).unwrap();
    let o = derive(
        &data("blob-b.bin"),
        &kt,
        &["--supported-enctypes", "0x18", "--enctypes", "rc4"],
    );
    assert_fails_untouched(&kt, &o, 64, "no enctype left", &before);
    let o = derive(&data("blob-b.bin"), &kt, &["--enctypes", "aes512"]);
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
}

#[test]
fn lower_case_realm_is_written_upper_case() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    let o = run(&[
        "derive",
        "--blob",
        data("blob-b.bin").to_str().unwrap(),
        "--account",
        "svc_web$",
        "--realm",
        "example.test",
        "--kvno",
        "3",
        "--keytab",
        kt.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        show_json(&kt)
            .iter()
            .all(|e| e["principal"].as_str().unwrap().ends_with("@EXAMPLE.TEST"))
    );
}

#[test]
fn help_and_version() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("derive") && text.contains("show") && text.contains("Exit status"));
    let o = run(&["derive", "--help"]);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("--supported-enctypes")
    );
    assert!(run(&["--version"]).status.success());
    assert_eq!(run(&["derive"]).status.code(), Some(64));
}
