//! `status`: what each account's keytab holds and when it was last and will next be synced,
//! from the state file and the keytabs. No network. Exit status in the Nagios way: 0 OK,
//! 1 WARNING (the last attempt failed, not yet stale, or the DC is behind the keytab),
//! 2 CRITICAL (stale, never synced, or the keytab on disk is missing or lacks the current
//! kvno), 3 UNKNOWN (no account configured).

use crate::config;
use crate::error::Error;
use crate::health::Health;
use crate::store::state;
use crate::timefmt::rfc3339;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE", default_value = crate::defaults::CONFIG_PATH)]
    pub config: PathBuf,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Version of the `--json` document; raised when a field changes meaning or disappears.
pub const JSON_SCHEMA: u32 = 1;

/// Nagios UNKNOWN: no account is configured, so there is nothing to judge (a fresh install).
pub const EXIT_NOT_CONFIGURED: u8 = 3;

/// Returns the process exit code (0, 1, 2 or 3) on success.
pub fn run(a: StatusArgs) -> Result<u8, Error> {
    let cfg = config::load(&a.config)?;
    let now = crate::run::unix_now();
    if cfg.accounts.is_empty() {
        return Ok(not_configured(&cfg, a.json, now));
    }
    let (st, warning) = state::load(&state::path(&cfg));
    let mut worst = Health::Ok;
    let mut rows = Vec::new();
    for acc in &cfg.accounts {
        let e = st.accounts.get(&acc.name);
        let state::Judged {
            health,
            disk,
            problem,
        } = state::judge(&cfg, &st, acc, now);
        worst = worst.max(health);
        let kvnos = disk.present().then_some(&disk.kvnos);
        rows.push(serde_json::json!({
            "account": acc.name,
            "keytab": acc.keytab,
            "principal": e.and_then(|e| e.principal.clone()),
            "kvnos_in_keytab": kvnos,
            "kvno": e.and_then(|e| e.kvno),
            "last_success": e.and_then(|e| e.last_success),
            "last_attempt": e.and_then(|e| e.last_attempt),
            "next_query": e.map(|e| e.next_query),
            "next_rotation": e.and_then(|e| e.epoch_end),
            "consecutive_failures": e.map_or(0, |e| e.consecutive_failures),
            "last_error": e.and_then(|e| e.last_error.clone()),
            "last_exit": e.and_then(|e| e.last_exit),
            "server": e.and_then(|e| e.server.clone()),
            "dc_behind": e.and_then(|e| e.behind.as_ref()).map(|b| serde_json::json!({
                "server": b.server,
                "asked": b.asked,
                "dc_kvno": b.dc_kvno,
                "keytab_kvno": b.keytab_kvno,
                "since": b.since,
                "runs": b.runs,
            })),
            "keytab_present": disk.present(),
            "keytab_problem": problem,
            "status": match health {
                _ if problem.is_some() => "critical",
                Health::Ok => "ok",
                Health::Warning => "warning",
                Health::Stale => "stale",
            },
        }));
    }
    let mut out = String::new();
    if a.json {
        let doc = serde_json::json!({
            "schema": JSON_SCHEMA,
            "status": match worst { Health::Ok => "ok", Health::Warning => "warning", Health::Stale => "critical" },
            "now": now,
            "state_warning": warning,
            "accounts": rows,
        });
        out.push_str(&doc.to_string());
        out.push('\n');
    } else {
        if let Some(w) = &warning {
            out.push_str(&format!("warning: {w}\n"));
        }
        let t = |v: &serde_json::Value| {
            v.as_u64()
                .map_or("never".to_string(), |s| rfc3339(s as i64))
        };
        for r in &rows {
            let kvnos = r["kvnos_in_keytab"]
                .as_array()
                .map_or("none".to_string(), |k| {
                    k.iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                });
            out.push_str(&format!(
                "{} {}\n  keytab {} (kvnos {})\n  last success {}, next query {}, next rotation {}\n",
                r["status"].as_str().unwrap_or("?").to_uppercase(),
                r["account"].as_str().unwrap_or("?"),
                r["keytab"].as_str().unwrap_or("?"),
                kvnos,
                t(&r["last_success"]),
                t(&r["next_query"]),
                t(&r["next_rotation"]),
            ));
            if let Some(p) = r["keytab_problem"].as_str() {
                out.push_str(&format!("  problem: {p}; run gmsa-keytab sync\n"));
            }
            if let Some(b) = r["dc_behind"].as_object() {
                out.push_str(&format!(
                    "  DC behind since {}: {} reports kvno {}, the keytab keeps kvno {} (asked: {})\n",
                    t(&b["since"]),
                    b["server"].as_str().unwrap_or("?"),
                    b["dc_kvno"],
                    b["keytab_kvno"],
                    b["asked"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                ));
            }
            if let Some(err) = r["last_error"].as_str() {
                let code = r["last_exit"]
                    .as_u64()
                    .map_or(String::new(), |c| format!(" (exit {c})"));
                out.push_str(&format!("  last error{code}: {err}\n"));
            }
        }
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(match worst {
        Health::Ok => 0,
        Health::Warning => 1,
        Health::Stale => 2,
    })
}

/// The report for a configuration without accounts (what the package ships).
fn not_configured(cfg: &config::Config, json: bool, now: u64) -> u8 {
    let out = if json {
        let doc = serde_json::json!({
            "schema": JSON_SCHEMA,
            "status": "not configured",
            "now": now,
            "state_warning": null,
            "accounts": [],
        });
        format!("{doc}\n")
    } else {
        format!(
            "NOT CONFIGURED: no [[account]] table in {}; add one per gMSA\n",
            cfg.path.display()
        )
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    EXIT_NOT_CONFIGURED
}
