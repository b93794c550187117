//! `sync`, `status` and `check-config` through the real binary, for everything decided before
//! any network traffic: configuration errors, a missing host keytab, status without state.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

mod offline;
use offline::{BIN, run, text};

fn config(dir: &Path, client_keytab: &Path, extra: &str) -> String {
    let p = dir.join("config.toml");
    fs::write(
        &p,
        format!(
            "version = 1\nclient-keytab = \"{}\"\nservers = [\"dc1.example.test\"]\nstate-dir = \"{}\"\n\
             [[account]]\nname = \"svc_web\"\nkeytab = \"{}\"\n{extra}",
            client_keytab.display(),
            dir.join("state").display(),
            dir.join("web.keytab").display()
        ),
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn missing_or_invalid_config() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&[
        "sync",
        "--config",
        d.path().join("none.toml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(66), "{}", text(&o));
    let bad = d.path().join("bad.toml");
    fs::write(
        &bad,
        "version = 1\n[[account]]\nname = \"a\"\nkeytab = \"/k\"\nmode = \"0666\"\n",
    )
    .unwrap();
    let o = run(&["sync", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78), "{}", text(&o));
    assert!(text(&o).contains("bad.toml:5: mode"), "{}", text(&o));
    let o = run(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78), "{}", text(&o));
}

#[test]
fn missing_host_keytab_is_66_and_recorded() {
    let d = tempfile::tempdir().unwrap();
    let cfg = config(d.path(), &d.path().join("no-such.keytab"), "");
    let o = run(&["sync", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(66), "{}", text(&o));
    assert!(text(&o).contains("no-such.keytab"), "{}", text(&o));
    assert!(!d.path().join("web.keytab").exists());
    // The failure is in the state: status reports it (never synced: critical).
    let o = run(&["status", "--json", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = &v["accounts"][0];
    assert_eq!(a["status"], "stale");
    assert_eq!(a["consecutive_failures"], 1);
    assert!(
        a["last_error"].as_str().unwrap().contains("no-such.keytab"),
        "{a}"
    );
    // The retry is scheduled a minute or so ahead, not at once.
    assert!(
        a["next_query"].as_u64().unwrap() >= v["now"].as_u64().unwrap() + 59,
        "{a}"
    );
}

#[test]
fn check_config_prints_the_resolved_configuration() {
    let d = tempfile::tempdir().unwrap();
    let cfg = config(d.path(), Path::new("/etc/krb5.keytab"), "mode = \"0640\"\n");
    let o = run(&["check-config", &cfg]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    for want in [
        "name = \"svc_web$\"",
        "mode = \"0640\"",
        "protection = \"seal\"",
        "recheck-hours = 12",
    ] {
        assert!(out.contains(want), "{want} in:\n{out}");
    }
    // What it prints is itself a valid configuration.
    let again = d.path().join("again.toml");
    fs::write(&again, &out).unwrap();
    assert!(
        run(&["check-config", again.to_str().unwrap()])
            .status
            .success()
    );
}

#[test]
fn ad_hoc_sync_needs_account_and_keytab_together() {
    let o = run(&["sync", "--account", "svc_web$"]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
    let o = run(&["sync", "--keytab", "/tmp/x.keytab"]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
}

/// Runs `sync` with stderr going to a file, and `JOURNAL_STREAM` naming that file (as systemd
/// does for a unit logging to the journal) or another one.
fn sync_into_file(cfg: &str, dir: &Path, journal_stream_matches: bool) -> String {
    use std::os::unix::fs::MetadataExt;
    let log = dir.join("stderr.log");
    let f = fs::File::create(&log).unwrap();
    let m = f.metadata().unwrap();
    let ino = if journal_stream_matches {
        m.ino()
    } else {
        m.ino() + 1
    };
    let o = Command::new(BIN)
        .args(["sync", "--config", cfg])
        .env_remove("RUST_LOG")
        .env("JOURNAL_STREAM", format!("{}:{ino}", m.dev()))
        .stdin(Stdio::null())
        .stderr(f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(66));
    fs::read_to_string(&log).unwrap()
}

#[test]
fn syslog_priority_prefixes_only_when_stderr_is_the_journal() {
    let d = tempfile::tempdir().unwrap();
    let cfg = config(d.path(), &d.path().join("no-such.keytab"), "");
    let journal = sync_into_file(&cfg, d.path(), true);
    let lines: Vec<&str> = journal.lines().collect();
    assert!(!lines.is_empty(), "{journal}");
    for l in &lines {
        assert!(
            l.starts_with("<3>level=error ") || l.starts_with("<4>level=warn "),
            "{journal}"
        );
    }
    assert!(journal.contains("<3>level=error msg="), "{journal}");
    // Another file than the one JOURNAL_STREAM names: no prefixes.
    fs::remove_dir_all(d.path().join("state")).ok();
    let plain = sync_into_file(&cfg, d.path(), false);
    assert!(plain.starts_with("level=error "), "{plain}");
    assert!(!plain.contains('<'), "{plain}");
}

/// `sync --linger` with a failing account: its retry is due about a minute later, inside the
/// linger. Returns whether the process was still running after two seconds, and its stderr.
fn linger_run(cfg: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["sync", "--linger", "5", "--config", cfg])
        .env_remove("RUST_LOG")
        .env_remove("INVOCATION_ID")
        .env_remove("TRIGGER_UNIT")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let t0 = std::time::Instant::now();
    let mut stayed = true;
    while t0.elapsed() < std::time::Duration::from_secs(2) {
        if child.try_wait().unwrap().is_some() {
            stayed = false;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if stayed {
        child.kill().unwrap();
    }
    let o = child.wait_with_output().unwrap();
    if !stayed {
        assert_eq!(o.status.code(), Some(66));
    }
    (stayed, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn linger_stays_for_a_due_retry_unless_systemd_started_the_run_by_hand() {
    let d = tempfile::tempdir().unwrap();
    let cfg = config(d.path(), &d.path().join("no-such.keytab"), "");
    let fresh = || {
        fs::remove_dir_all(d.path().join("state")).ok();
    };
    // Outside systemd: stays for the retry a minute later.
    let (stayed, log) = linger_run(&cfg, &[]);
    assert!(stayed, "{log}");
    assert!(log.contains("msg=\"staying for the next query\""), "{log}");
    let in_s: u64 = log
        .split("in_s=")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!((55..=70).contains(&in_s), "{log}");
    // Started by a timer: the same.
    fresh();
    let timer = [
        ("INVOCATION_ID", "0123"),
        ("TRIGGER_UNIT", "gmsa-keytab.timer"),
    ];
    assert!(linger_run(&cfg, &timer).0);
    // Started by `systemctl start` (no TRIGGER_UNIT): one pass, exit 66 at once.
    fresh();
    let (stayed, log) = linger_run(&cfg, &[("INVOCATION_ID", "0123")]);
    assert!(!stayed && !log.contains("staying"), "{log}");
    // Without --linger nothing changes: the plain run exits at once.
    fresh();
    let o = run(&["sync", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(66), "{}", text(&o));
    assert!(!text(&o).contains("staying"));
}
