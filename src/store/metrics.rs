//! Prometheus text-format metrics for the node_exporter textfile collector. Rendering is pure;
//! the file is written atomically (mode 0644: metrics are not secret, and the collector runs as
//! another user).

use crate::config::Config;
use crate::store::fsio::{self, Ownership};
use crate::store::state::{OnDisk, State, read_on_disk};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics for every configured account, from the state after a run at `now` and what
/// each keytab on disk holds (`disk`, by account name; missing = nothing).
pub fn render(cfg: &Config, state: &State, disk: &BTreeMap<String, OnDisk>, now: u64) -> String {
    let mut out = String::new();
    let nothing = OnDisk::default();
    let metrics: [(&str, &str, &str); 11] = [
        (
            "gmsa_keytab_last_success_timestamp_seconds",
            "gauge",
            "When the account's keys were last read from a DC.",
        ),
        (
            "gmsa_keytab_kvno",
            "gauge",
            "Highest key version number of the account's keys in the keytab on disk.",
        ),
        (
            "gmsa_keytab_keytab_present",
            "gauge",
            "1 when the keytab on disk holds keys of the account.",
        ),
        (
            "gmsa_keytab_keytab_current",
            "gauge",
            "1 when the keytab on disk holds the kvno of the last successful read.",
        ),
        (
            "gmsa_keytab_next_rotation_timestamp_seconds",
            "gauge",
            "When the DC said the current password epoch ends.",
        ),
        (
            "gmsa_keytab_next_query_timestamp_seconds",
            "gauge",
            "When the next DC query is planned.",
        ),
        (
            "gmsa_keytab_consecutive_failures",
            "gauge",
            "Failed attempts since the last success.",
        ),
        (
            "gmsa_keytab_errors_total",
            "counter",
            "Failed attempts, all time.",
        ),
        (
            "gmsa_keytab_dc_behind",
            "gauge",
            "1 when the DCs asked report an older kvno than the keytab holds (newer keys kept).",
        ),
        (
            "gmsa_keytab_dc_kvno",
            "gauge",
            "Key version number the DC asked last reported for the account.",
        ),
        (
            "gmsa_keytab_up",
            "gauge",
            "1 when the last attempt for the account succeeded.",
        ),
    ];
    for (name, kind, help) in metrics {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for acc in &cfg.accounts {
            let d = disk.get(&acc.name).unwrap_or(&nothing);
            let Some(s) = state.accounts.get(&acc.name) else {
                // Never synced: only presence is known (no keys yet is worth an alert).
                if name == "gmsa_keytab_keytab_present" {
                    sample(
                        &mut out,
                        name,
                        &acc.name,
                        &acc.keytab,
                        u64::from(d.present()),
                    );
                }
                continue;
            };
            let value = match name {
                "gmsa_keytab_last_success_timestamp_seconds" => s.last_success,
                "gmsa_keytab_kvno" => d.kvnos.first().copied().map(u64::from),
                "gmsa_keytab_keytab_present" => Some(u64::from(d.present())),
                "gmsa_keytab_keytab_current" => s.kvno.map(|k| u64::from(d.kvnos.contains(&k))),
                "gmsa_keytab_next_rotation_timestamp_seconds" => s.epoch_end,
                "gmsa_keytab_next_query_timestamp_seconds" => Some(s.next_query),
                "gmsa_keytab_consecutive_failures" => Some(u64::from(s.consecutive_failures)),
                "gmsa_keytab_errors_total" => Some(s.errors_total),
                "gmsa_keytab_dc_behind" => Some(u64::from(s.behind.is_some())),
                "gmsa_keytab_dc_kvno" => s
                    .behind
                    .as_ref()
                    .map(|b| b.dc_kvno)
                    .or(s.kvno)
                    .map(u64::from),
                _ => Some(u64::from(
                    s.consecutive_failures == 0 && s.last_success.is_some(),
                )),
            };
            if let Some(v) = value {
                sample(&mut out, name, &acc.name, &acc.keytab, v);
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP gmsa_keytab_last_run_timestamp_seconds When gmsa-keytab sync last ran.\n\
         # TYPE gmsa_keytab_last_run_timestamp_seconds gauge\n\
         gmsa_keytab_last_run_timestamp_seconds {now}"
    );
    out
}

fn sample(out: &mut String, name: &str, account: &str, keytab: &Path, v: u64) {
    let _ = writeln!(
        out,
        "{name}{{account=\"{}\",keytab=\"{}\"}} {v}",
        label(account),
        label(&keytab.to_string_lossy())
    );
}

/// What every configured account's keytab holds now (local reads only).
pub fn on_disk(cfg: &Config, state: &State) -> BTreeMap<String, OnDisk> {
    cfg.accounts
        .iter()
        .map(|a| (a.name.clone(), read_on_disk(a, state.accounts.get(&a.name))))
        .collect()
}

pub fn write(path: &Path, text: &str) -> Result<(), fsio::FsError> {
    let own = Ownership {
        uid: None,
        gid: None,
        mode: 0o644,
    };
    fsio::lock(path, crate::store::keytab_file::LOCK_WAIT)?.store(text.as_bytes(), &own)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::AccountState;

    #[test]
    fn the_shipped_alert_rules_use_only_metrics_we_write() {
        let rules = include_str!("../../packaging/prometheus/gmsa-keytab.rules.yml");
        let declared = render(
            &crate::config::parse(Path::new("/c"), "version = 1\n").unwrap(),
            &State::default(),
            &BTreeMap::new(),
            0,
        );
        let mut used = 0;
        for (i, _) in rules.match_indices("gmsa_keytab_") {
            let name: String = rules[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // the rules file names itself (gmsa-keytab.rules...) only with dashes
            assert!(
                declared.contains(&format!("# TYPE {name} ")),
                "{name} is used by the alert rules but never written"
            );
            used += 1;
        }
        assert!(used >= 6, "{used}");
    }

    #[test]
    fn renders_each_account_with_labels() {
        let cfg = crate::config::parse(
            Path::new("/c"),
            "version = 1\n[[account]]\nname = \"svc_web\"\nkeytab = \"/k/w\"\n[[account]]\nname = \"svc_new\"\nkeytab = \"/k/n\"\n",
        )
        .unwrap();
        let mut st = State::default();
        st.accounts.insert(
            "svc_web$".into(),
            AccountState {
                next_query: 2000,
                last_success: Some(1000),
                kvno: Some(3),
                epoch_end: Some(5000),
                errors_total: 2,
                ..AccountState::default()
            },
        );
        // The keytab on disk holds kvno 4 and 3 (e.g. replaced by hand): kvno comes from it.
        let mut disk = BTreeMap::new();
        disk.insert("svc_web$".to_string(), OnDisk { kvnos: vec![4, 3] });
        let text = render(&cfg, &st, &disk, 1234);
        assert!(
            text.contains("gmsa_keytab_kvno{account=\"svc_web$\",keytab=\"/k/w\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains("gmsa_keytab_keytab_present{account=\"svc_web$\",keytab=\"/k/w\"} 1\n")
        );
        assert!(
            text.contains("gmsa_keytab_keytab_current{account=\"svc_web$\",keytab=\"/k/w\"} 1\n")
        );
        // Never synced: presence only.
        assert!(
            text.contains("gmsa_keytab_keytab_present{account=\"svc_new$\",keytab=\"/k/n\"} 0\n")
        );
        // Deleted keytab: not present, not current, no kvno sample.
        let gone = render(&cfg, &st, &BTreeMap::new(), 1234);
        assert!(
            gone.contains("gmsa_keytab_keytab_present{account=\"svc_web$\",keytab=\"/k/w\"} 0\n")
        );
        assert!(
            gone.contains("gmsa_keytab_keytab_current{account=\"svc_web$\",keytab=\"/k/w\"} 0\n")
        );
        assert!(!gone.contains("gmsa_keytab_kvno{"));
        assert!(text.contains("gmsa_keytab_last_success_timestamp_seconds{account=\"svc_web$\",keytab=\"/k/w\"} 1000\n"));
        assert!(text.contains("gmsa_keytab_next_rotation_timestamp_seconds{account=\"svc_web$\",keytab=\"/k/w\"} 5000\n"));
        assert!(
            text.contains("gmsa_keytab_errors_total{account=\"svc_web$\",keytab=\"/k/w\"} 2\n")
        );
        assert!(text.contains("gmsa_keytab_up{account=\"svc_web$\",keytab=\"/k/w\"} 1\n"));
        assert!(text.contains("gmsa_keytab_last_run_timestamp_seconds 1234\n"));
        // An account never synced has no other samples yet, but the metric families are declared.
        assert_eq!(text.matches("svc_new").count(), 1);
        assert_eq!(text.matches("# TYPE").count(), 12);
        assert!(text.contains("gmsa_keytab_dc_behind{account=\"svc_web$\",keytab=\"/k/w\"} 0\n"));
        st.accounts.get_mut("svc_web$").unwrap().behind = Some(crate::store::state::BehindState {
            server: "dc2.example.test".into(),
            dc_kvno: 2,
            keytab_kvno: 3,
            ..Default::default()
        });
        let text = render(&cfg, &st, &disk, 1234);
        assert!(text.contains("gmsa_keytab_dc_behind{account=\"svc_web$\",keytab=\"/k/w\"} 1\n"));
        assert!(text.contains("gmsa_keytab_dc_kvno{account=\"svc_web$\",keytab=\"/k/w\"} 2\n"));
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
