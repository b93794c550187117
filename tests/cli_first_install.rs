//! A fresh install: the shipped configuration has no live account, so check-config passes,
//! a sync (the timer's) logs one line and exits 0, status says NOT CONFIGURED, and doctor
//! warns with the fix. All offline, through the real binary.

use std::fs;

mod offline;
use offline::{run, text};

const SHIPPED: &str = include_str!("../packaging/config.example.toml");

/// The shipped file, with its state directory moved into `dir` (as it would be in a test
/// chroot); nothing else changed.
fn shipped(dir: &tempfile::TempDir) -> String {
    let p = dir.path().join("config.toml");
    let src = SHIPPED.replace(
        "# state-dir = \"/var/lib/gmsa-keytab\"",
        &format!("state-dir = \"{}\"", dir.path().join("state").display()),
    );
    assert_ne!(src, SHIPPED, "the example no longer has the state-dir line");
    fs::write(&p, src).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn check_config_passes_on_the_shipped_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["check-config", &shipped(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("# no [[account]] table: sync does nothing until one is added"),
        "{}",
        text(&o)
    );
}

#[test]
fn sync_logs_one_line_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = shipped(&dir);
    let o = run(&["sync", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("no accounts configured; edit {cfg}")),
        "{err}"
    );
    // Nothing was written: no state, no keytab.
    assert!(!dir.path().join("state").exists());
}

#[test]
fn status_says_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = shipped(&dir);
    let o = run(&["status", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("NOT CONFIGURED: no [[account]] table"),
        "{}",
        text(&o)
    );
    let o = run(&["status", "--json", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["status"], "not configured");
    assert_eq!(v["accounts"], serde_json::json!([]));
}

#[test]
fn doctor_warns_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = shipped(&dir);
    // No host keytab here and no servers: nothing goes on the network.
    let o = run(&["doctor", "--json", "--config", &cfg]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let accounts = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "accounts")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(accounts["verdict"], "warn");
    assert!(
        accounts["fix"]
            .as_str()
            .unwrap()
            .contains("add one [[account]] table per gMSA"),
        "{accounts}"
    );
    assert_eq!(o.status.code(), v["exit"].as_i64().map(|c| c as i32));
}
