//! Running from a timer: the schedule (a tick before the next planned query does no DC query),
//! `--force`, on-change hooks, `status` and the metrics file, against the lab DC. Needs root;
//! run by tests/run-all.sh with `--ignored`.

mod common;
use common::*;
use std::fs;

fn cfg_with(s: &Scratch, extra_top: &str, accounts: &str) -> std::path::PathBuf {
    s.config(
        &format!("servers = [\"dc1.example.test\"]\n{extra_top}"),
        accounts,
    )
}

fn table(name: &str, keytab: &std::path::Path, extra: &str) -> String {
    format!(
        "[[account]]\nname = \"{name}\"\nkeytab = \"{}\"\n{extra}\n",
        keytab.display()
    )
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn second_run_is_offline_and_force_queries() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    let cfg = cfg_with(&s, "", &table("svc_web$", &kt, ""));
    let c = cfg.to_str().unwrap();
    let o = s.gmsa(&["sync", "--config", c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("account synced"), "{}", text(&o));
    let bytes = fs::read(&kt).unwrap();
    {
        // With the DC down, the next tick still succeeds: nothing is due, nothing is asked.
        let _dc = DcStopped::new();
        let o = s.gmsa(&["sync", "--config", c]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("nothing due"), "{}", text(&o));
        assert!(!text(&o).contains("account synced"), "{}", text(&o));
        // --force does ask, and fails because the DC is down: a temporary failure.
        let o = s.gmsa(&["sync", "--force", "--config", c]);
        assert_eq!(o.status.code(), Some(75), "{}", text(&o));
        assert_eq!(
            fs::read(&kt).unwrap(),
            bytes,
            "a failed run leaves the keytab alone"
        );
    }
    // The failure put the account on a retry schedule; --force with the DC back succeeds.
    let o = s.gmsa(&["sync", "--force", "--config", c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("account synced") && text(&o).contains("outcome=unchanged"),
        "{}",
        text(&o)
    );
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn a_deleted_keytab_or_changed_config_is_due_at_once() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    let cfg = cfg_with(&s, "", &table("svc_web$", &kt, ""));
    let c = cfg.to_str().unwrap();
    assert!(s.gmsa(&["sync", "--config", c]).status.success());
    fs::remove_file(&kt).unwrap();
    let o = s.gmsa(&["sync", "--config", c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("outcome=created"), "{}", text(&o));
    // Narrowing the enctypes is a configuration change: applied on the next tick.
    let cfg = cfg_with(&s, "", &table("svc_web$", &kt, "enctypes = [\"aes256\"]"));
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(text(&o).contains("outcome=replaced"), "{}", text(&o));
    assert!(entries(&kt).iter().all(|e| e.2 == 18));
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn hook_runs_exactly_once_per_change() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    let log = s.path("hook.log");
    let hook = format!(
        "on-change = [[\"sh\", \"-c\", \"echo $GMSA_KEYTAB_ACCOUNT $GMSA_KEYTAB_KVNO >> {}\"], [\"false\"]]",
        log.display()
    );
    let cfg = cfg_with(&s, "", &table("svc_web$", &kt, &hook));
    let c = cfg.to_str().unwrap();
    let lines = || {
        fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let o = s.gmsa(&["sync", "--config", c]);
    // The second hook fails: logged, and the run and the keytab are still good.
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("hook failed"), "{}", text(&o));
    assert_eq!(lines(), 1);
    assert_eq!(fs::read_to_string(&log).unwrap().trim(), "svc_web$ 1");
    // Unchanged content: no hook, whether the run was due or forced.
    assert!(s.gmsa(&["sync", "--config", c]).status.success());
    assert!(s.gmsa(&["sync", "--force", "--config", c]).status.success());
    assert_eq!(lines(), 1);
    // A change (the keytab was lost and is rewritten): the hook runs once more.
    fs::remove_file(&kt).unwrap();
    assert!(s.gmsa(&["sync", "--config", c]).status.success());
    assert_eq!(lines(), 2);
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn status_and_metrics_report_each_account_and_stale_fails() {
    lab_up();
    let s = Scratch::new();
    let metrics = s.path("gmsa.prom");
    let cfg = cfg_with(
        &s,
        &format!(
            "metrics-file = \"{}\"\nstale-minutes = 30",
            metrics.display()
        ),
        &(table("svc_web$", &s.path("web.keytab"), "")
            + &table("svc_aes$", &s.path("aes.keytab"), "")),
    );
    let c = cfg.to_str().unwrap();
    // Before any sync: never synced is critical.
    let o = s.gmsa(&["status", "--config", c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(s.gmsa(&["sync", "--config", c]).status.success());

    let o = s.gmsa(&["status", "--json", "--config", c]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let now = v["now"].as_u64().unwrap();
    for a in v["accounts"].as_array().unwrap() {
        assert_eq!(a["status"], "ok", "{a}");
        assert_eq!(a["kvno"], 1, "{a}");
        assert_eq!(a["kvnos_in_keytab"], serde_json::json!([1]), "{a}");
        assert!(a["last_success"].as_u64().unwrap() <= now);
        assert!(a["next_query"].as_u64().unwrap() > now);
        assert!(a["next_rotation"].as_u64().unwrap() > now);
    }
    let m = fs::read_to_string(&metrics).unwrap();
    for acc in ["svc_web$", "svc_aes$"] {
        for name in [
            "gmsa_keytab_kvno",
            "gmsa_keytab_last_success_timestamp_seconds",
            "gmsa_keytab_next_query_timestamp_seconds",
            "gmsa_keytab_next_rotation_timestamp_seconds",
        ] {
            assert!(
                m.contains(&format!("{name}{{account=\"{acc}\"")),
                "{name} {acc}:\n{m}"
            );
        }
    }
    assert!(m.contains("gmsa_keytab_kvno{account=\"svc_web$\""), "{m}");

    // Make one account's next query overdue by more than stale-minutes: status goes critical.
    let state_path = s.path("state/state.json");
    let mut st: serde_json::Value =
        serde_json::from_slice(&fs::read(&state_path).unwrap()).unwrap();
    st["accounts"]["svc_aes$"]["next_query"] = serde_json::json!(now - 3600);
    fs::write(&state_path, serde_json::to_vec(&st).unwrap()).unwrap();
    let o = s.gmsa(&["status", "--config", c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("STALE svc_aes$"),
        "{}",
        text(&o)
    );
    // The next tick queries it (it is due) and status is fine again.
    assert!(s.gmsa(&["sync", "--config", c]).status.success());
    assert_eq!(s.gmsa(&["status", "--config", c]).status.code(), Some(0));
    // A corrupt state file means "query now", not a failure.
    fs::write(&state_path, b"garbage").unwrap();
    let o = s.gmsa(&["sync", "--config", c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("damaged") && text(&o).contains("account synced"),
        "{}",
        text(&o)
    );
}
