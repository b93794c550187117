//! `status`, the metrics and the "account synced" log line tell the truth after real syncs
//! against the Samba lab DC: the planned next query and the rotation apart, and kvno and
//! presence from the keytab on disk (deleted keytab: CRITICAL, present 0). Needs root; run by
//! tests/run-all.sh with `--ignored`.

mod common;
use common::*;
use std::fs;

fn field(log: &str, key: &str) -> u64 {
    log_field(log, key)
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn log_status_and_metrics_follow_the_disk() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("aes.keytab");
    let prom = s.path("gmsa.prom");
    let cfg = s.config(
        &format!(
            "servers = [\"dc1.example.test\"]\nmetrics-file = \"{}\"",
            prom.display()
        ),
        &format!(
            "[[account]]\nname = \"svc_aes$\"\nkeytab = \"{}\"\n",
            kt.display()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    let o = s.gmsa(&["sync", "--log-level", "info", "--config", cfg]);
    assert!(o.status.success(), "{}", text(&o));
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    // The planned next query (the safety re-check, at most recheck-hours = 12 h) and the
    // rotation (~30 days for a fresh lab gMSA) are two different fields.
    let next = field(&log, "next_query_in_s");
    let rotation = field(&log, "rotation_in_s");
    assert!(next <= 12 * 3600 && next > 0, "{log}");
    assert!(rotation > 24 * 3600, "{log}");
    assert!(log.contains(" next_query=20"), "{log}");
    assert!(log.contains(" rotation=20"), "{log}");

    let metrics = fs::read_to_string(&prom).unwrap();
    let label = format!("{{account=\"svc_aes$\",keytab=\"{}\"}}", kt.display());
    assert!(
        metrics.contains(&format!("gmsa_keytab_keytab_present{label} 1\n")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("gmsa_keytab_keytab_current{label} 1\n")),
        "{metrics}"
    );
    let o = s.gmsa(&["status", "--config", cfg]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The keytab disappears: status is CRITICAL at once (no DC needed), and the next tick's
    // metrics (nothing due, no DC query) say so too.
    fs::remove_file(&kt).unwrap();
    let o = s.gmsa(&["status", "--config", cfg]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("CRITICAL svc_aes$"), "{}", text(&o));
    assert!(
        text(&o).contains("is missing or holds no key"),
        "{}",
        text(&o)
    );
    {
        let _stopped = DcStopped::new();
        // A deleted keytab makes the account due, so this tick tries the (stopped) DC and
        // fails; the metrics still come from the disk.
        let o = s.gmsa(&["sync", "--config", cfg]);
        assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    }
    let metrics = fs::read_to_string(&prom).unwrap();
    assert!(
        metrics.contains(&format!("gmsa_keytab_keytab_present{label} 0\n")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("gmsa_keytab_keytab_current{label} 0\n")),
        "{metrics}"
    );
    assert!(!metrics.contains("gmsa_keytab_kvno{"), "{metrics}");
    // A sync puts it back.
    let o = s.gmsa(&["sync", "--config", cfg]);
    assert!(o.status.success(), "{}", text(&o));
    let o = s.gmsa(&["status", "--config", cfg]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
