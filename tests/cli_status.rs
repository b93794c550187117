//! `status` through the real binary, one test per state it reports: OK, WARNING (last attempt
//! failed), CRITICAL (never synced, overdue, keytab deleted, keytab without the current kvno)
//! and the JSON document. The state file is written here; the keytabs come from `derive`.

use std::fs;
use std::path::{Path, PathBuf};

mod offline;
use offline::{run, text};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let s = Setup {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir(s.path("state")).unwrap();
        fs::write(
            s.path("config.toml"),
            format!(
                "version = 1\nstate-dir = \"{}\"\n[[account]]\nname = \"svc_web\"\nkeytab = \"{}\"\n",
                s.path("state").display(),
                s.keytab().display()
            ),
        )
        .unwrap();
        s
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn keytab(&self) -> PathBuf {
        self.path("web.keytab")
    }
    fn config(&self) -> String {
        self.path("config.toml").to_str().unwrap().to_string()
    }
    /// A keytab holding svc_web$@EXAMPLE.TEST at `kvno` (the test blob's current password).
    fn write_keytab(&self, kvno: u32) {
        let blob = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/blob-a.bin");
        let o = run(&[
            "derive",
            "--blob",
            blob.to_str().unwrap(),
            "--account",
            "svc_web$",
            "--realm",
            "EXAMPLE.TEST",
            "--kvno",
            &kvno.to_string(),
            "--keytab",
            self.keytab().to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    /// The state a successful sync of kvno 3 leaves, with the given overrides (JSON fields).
    fn write_state(&self, extra: serde_json::Value) {
        let mut entry = serde_json::json!({
            "keytab": self.keytab(),
            "fingerprint": "f",
            "next_query": now() + 3600,
            "last_attempt": now() - 60,
            "last_success": now() - 60,
            "principal": "svc_web$@EXAMPLE.TEST",
            "kvno": 3,
            "kvnos": [3],
            "epoch_end": now() + 86_400,
            "consecutive_failures": 0,
            "errors_total": 0,
        });
        for (k, v) in extra.as_object().unwrap() {
            entry[k] = v.clone();
        }
        let doc = serde_json::json!({ "version": 1, "accounts": { "svc_web$": entry } });
        fs::write(self.path("state/state.json"), doc.to_string()).unwrap();
    }
    fn status(&self) -> (i32, String, serde_json::Value) {
        let t = run(&["status", "--config", &self.config()]);
        let j = run(&["status", "--json", "--config", &self.config()]);
        assert_eq!(t.status.code(), j.status.code(), "{}", text(&j));
        let v: serde_json::Value =
            serde_json::from_slice(&j.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&j)));
        (
            t.status.code().unwrap(),
            String::from_utf8_lossy(&t.stdout).into_owned(),
            v,
        )
    }
}

#[test]
fn ok_when_the_keytab_holds_the_current_kvno() {
    let s = Setup::new();
    s.write_keytab(3);
    s.write_state(serde_json::json!({}));
    let (code, out, v) = s.status();
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK svc_web$\n"), "{out}");
    assert!(out.contains("(kvnos 3)"), "{out}");
    assert_eq!(v["schema"], 1);
    assert_eq!(v["status"], "ok");
    let a = &v["accounts"][0];
    assert_eq!(a["keytab_present"], true);
    assert_eq!(a["kvnos_in_keytab"], serde_json::json!([3]));
    assert!(a["keytab_problem"].is_null());
}

#[test]
fn a_deleted_keytab_is_critical() {
    let s = Setup::new();
    s.write_state(serde_json::json!({}));
    let (code, out, v) = s.status();
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("CRITICAL svc_web$\n"), "{out}");
    assert!(out.contains("(kvnos none)"), "{out}");
    assert!(out.contains("  problem: the keytab "), "{out}");
    assert!(
        out.contains("web.keytab is missing or holds no key of the account; run gmsa-keytab sync"),
        "{out}"
    );
    assert_eq!(v["status"], "critical");
    assert_eq!(v["accounts"][0]["keytab_present"], false);
}

#[test]
fn a_keytab_without_the_current_kvno_is_critical() {
    let s = Setup::new();
    s.write_keytab(2);
    s.write_state(serde_json::json!({}));
    let (code, out, v) = s.status();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("problem: the keytab lacks the current kvno 3 (it holds 2"),
        "{out}"
    );
    assert_eq!(v["accounts"][0]["status"], "critical");
}

#[test]
fn a_failed_last_attempt_is_a_warning() {
    let s = Setup::new();
    s.write_keytab(3);
    s.write_state(serde_json::json!({
        "consecutive_failures": 1,
        "errors_total": 1,
        "last_error": "no domain controller could be used",
    }));
    let (code, out, v) = s.status();
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("WARNING svc_web$\n"), "{out}");
    assert!(
        out.contains("last error: no domain controller could be used"),
        "{out}"
    );
    assert_eq!(v["status"], "warning");
}

#[test]
fn overdue_or_never_synced_is_critical() {
    let s = Setup::new();
    s.write_keytab(3);
    // The next query is 2 h overdue (stale-minutes: 60).
    s.write_state(serde_json::json!({ "next_query": now() - 7200 }));
    let (code, out, v) = s.status();
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("STALE svc_web$\n"), "{out}");
    assert_eq!(v["status"], "critical");

    fs::remove_file(s.path("state/state.json")).unwrap();
    let (code, out, v) = s.status();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("last success never"), "{out}");
    assert_eq!(v["accounts"][0]["status"], "stale");
}
