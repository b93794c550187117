//! Prometheus text-format metrics for the node_exporter textfile collector. Rendering is pure;
//! the file is written atomically (mode 0644: metrics are not secret, and the collector runs as
//! another user).

use crate::config::Config;
use crate::fsio::{self, Ownership};
use crate::state::State;
use std::fmt::Write;
use std::path::Path;

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics for every configured account, from the state after a run at `now`.
pub fn render(cfg: &Config, state: &State, now: u64) -> String {
    let mut out = String::new();
    let metrics: [(&str, &str, &str); 7] = [
        (
            "gmsa_keytab_last_success_timestamp_seconds",
            "gauge",
            "When the account's keys were last read from a DC.",
        ),
        (
            "gmsa_keytab_kvno",
            "gauge",
            "Key version number of the current key in the keytab.",
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
            "gmsa_keytab_up",
            "gauge",
            "1 when the last attempt for the account succeeded.",
        ),
    ];
    for (name, kind, help) in metrics {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for acc in &cfg.accounts {
            let Some(s) = state.accounts.get(&acc.name) else {
                continue;
            };
            let value = match name {
                "gmsa_keytab_last_success_timestamp_seconds" => s.last_success,
                "gmsa_keytab_kvno" => s.kvno.map(u64::from),
                "gmsa_keytab_next_rotation_timestamp_seconds" => s.epoch_end,
                "gmsa_keytab_next_query_timestamp_seconds" => Some(s.next_query),
                "gmsa_keytab_consecutive_failures" => Some(u64::from(s.consecutive_failures)),
                "gmsa_keytab_errors_total" => Some(s.errors_total),
                _ => Some(u64::from(
                    s.consecutive_failures == 0 && s.last_success.is_some(),
                )),
            };
            if let Some(v) = value {
                let _ = writeln!(
                    out,
                    "{name}{{account=\"{}\",keytab=\"{}\"}} {v}",
                    label(&acc.name),
                    label(&acc.keytab.to_string_lossy())
                );
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

pub fn write(path: &Path, text: &str) -> Result<(), fsio::FsError> {
    let own = Ownership {
        uid: None,
        gid: None,
        mode: 0o644,
    };
    fsio::lock(path, crate::update::LOCK_WAIT)?.store(text.as_bytes(), &own)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::AccountState;

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
        let text = render(&cfg, &st, 1234);
        assert!(
            text.contains("gmsa_keytab_kvno{account=\"svc_web$\",keytab=\"/k/w\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("gmsa_keytab_last_success_timestamp_seconds{account=\"svc_web$\",keytab=\"/k/w\"} 1000\n"));
        assert!(text.contains("gmsa_keytab_next_rotation_timestamp_seconds{account=\"svc_web$\",keytab=\"/k/w\"} 5000\n"));
        assert!(
            text.contains("gmsa_keytab_errors_total{account=\"svc_web$\",keytab=\"/k/w\"} 2\n")
        );
        assert!(text.contains("gmsa_keytab_up{account=\"svc_web$\",keytab=\"/k/w\"} 1\n"));
        assert!(text.contains("gmsa_keytab_last_run_timestamp_seconds 1234\n"));
        // An account never synced has no samples yet, but the metric families are declared.
        assert!(!text.contains("svc_new"));
        assert_eq!(text.matches("# TYPE").count(), 8);
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
