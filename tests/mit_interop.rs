//! MIT krb5 judges our keytabs: `klist` and `ktutil` read what `derive` writes, and `show` and
//! `derive` handle what `ktutil` writes. Needs krb5-user (installed by the README's test
//! command); a missing tool fails the test rather than skipping it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

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

fn tool(name: &str) -> Command {
    let found = ["/usr/bin", "/usr/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(name).exists());
    assert!(
        found,
        "{name} is missing: install krb5-user (tests/lab/install-deps.sh)"
    );
    let mut c = Command::new(name);
    // Never read the machine's krb5.conf or ccache.
    c.env("KRB5_CONFIG", "/dev/null")
        .env("KRB5CCNAME", "MEMORY:x");
    c
}

fn derive_b(keytab: &Path) {
    let o = Command::new(bin())
        .args(["derive", "--blob", data("blob-b.bin").to_str().unwrap()])
        .args([
            "--account",
            "svc_web$",
            "--realm",
            "EXAMPLE.TEST",
            "--kvno",
            "3",
        ])
        .args([
            "--keytab",
            keytab.to_str().unwrap(),
            "--principal",
            "HTTP/web.example.test",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// (kvno, principal, enctype text, key hex) from `klist -kte -K`.
fn klist(keytab: &Path) -> Vec<(u32, String, String, String)> {
    let o = tool("klist").arg("-kteK").arg(keytab).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let kvno = f.first()?.parse().ok()?;
            let enctype = f.get(4)?.trim_matches(|c| c == '(' || c == ')').to_string();
            let key = f
                .get(5)?
                .trim_matches(|c| c == '(' || c == ')')
                .trim_start_matches("0x");
            Some((kvno, f.get(3)?.to_string(), enctype, key.to_string()))
        })
        .collect()
}

const CUR: [&str; 3] = [
    "f162bd42746f2862d889de284ff8320b386099d3268c7bba82d5751452997d42",
    "5e1ecc5d1fbe1dbce26a2e4e73dac909",
    "b45ebf36bffe0314b17d44e49896849c",
];
const PREV: [&str; 3] = [
    "4820f9218b50f077a9ef01153b991915d8656b83625105261818e68c05b595ba",
    "87534d110c4466a1709cc170d7dc3c46",
    "810911d03b28c21da6fc2459560056dd",
];

#[test]
fn klist_shows_reference_keys_for_blob_b() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    derive_b(&kt);
    let rows = klist(&kt);
    assert_eq!(rows.len(), 12, "{rows:?}");
    let mut i = 0;
    for (kvno, keys) in [(3, CUR), (2, PREV)] {
        for princ in [
            "svc_web$@EXAMPLE.TEST",
            "HTTP/web.example.test@EXAMPLE.TEST",
        ] {
            for (n, etype) in [
                "aes256-cts-hmac-sha1-96",
                "aes128-cts-hmac-sha1-96",
                "arcfour-hmac",
            ]
            .iter()
            .enumerate()
            {
                let (k, p, e, key) = &rows[i];
                assert_eq!((*k, p.as_str()), (kvno, princ), "row {i}");
                assert!(e.ends_with(etype), "row {i}: {e}");
                assert_eq!(key, keys[n], "row {i}");
                i += 1;
            }
        }
    }
}

/// Runs ktutil on a pty (it reads keys from the terminal), one line at a time.
fn ktutil_tty(lines: &[&str]) {
    let mut child = tool("script")
        .args(["-qec", "ktutil", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        std::thread::sleep(Duration::from_millis(250));
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

fn ktutil_written(path: &Path) {
    let wkt = format!("wkt {}", path.display());
    for _ in 0..3 {
        ktutil_tty(&[
            "addent -key -p nfs/files.example.test@EXAMPLE.TEST -k 300 -e aes256-cts-hmac-sha1-96",
            CUR[0],
            "addent -key -p nfs/files.example.test@EXAMPLE.TEST -k 300 -e arcfour-hmac",
            CUR[2],
            &wkt,
            "quit",
        ]);
        if path.exists() {
            return;
        }
    }
    panic!("ktutil did not write {}", path.display());
}

#[test]
fn ktutil_reads_what_derive_writes() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k");
    derive_b(&kt);
    let o = tool("ktutil")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            writeln!(
                c.stdin.take().unwrap(),
                "rkt {}\nlist -e\nquit",
                kt.display()
            )?;
            c.wait_with_output()
        })
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let slots = out.lines().filter(|l| l.contains("@EXAMPLE.TEST")).count();
    assert_eq!(slots, 12, "{out}");
}

#[test]
fn show_reads_ktutil_keytab_and_derive_merges_it_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("mixed.keytab");
    ktutil_written(&kt);
    let original = fs::read(&kt).unwrap();
    let o = Command::new(bin())
        .args(["show", "--json"])
        .arg(&kt)
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["principal"], "nfs/files.example.test@EXAMPLE.TEST");
    assert_eq!(v[0]["kvno"], 300);
    assert_eq!(v[1]["enctype"], 23);

    derive_b(&kt);
    let merged = fs::read(&kt).unwrap();
    // ktutil's two records come first, unchanged to the byte, then ours.
    assert_eq!(&merged[..original.len()], &original[..]);
    let rows = klist(&kt);
    assert_eq!(rows.len(), 14);
    assert_eq!(
        (rows[0].0, rows[0].1.as_str()),
        (300, "nfs/files.example.test@EXAMPLE.TEST")
    );
    assert_eq!(rows[0].3, CUR[0]);
}
