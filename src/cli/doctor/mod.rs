//! `doctor`: every check from the configuration to the keytab, in order, each with its verdict
//! and the fix. It reads the host keytab, asks DNS and the DCs, and reads each account's
//! password like a sync does, but never writes a keytab, the state file or the metrics.
//! Exit status: 0 all passed, 1 warnings, 2 failures.

pub(super) mod local;
mod remote;

use crate::config::{self, Config};
use crate::doctor::{Report, advice};
use crate::error::Error;
use clap::Args;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE", default_value = crate::defaults::CONFIG_PATH)]
    pub config: PathBuf,
    /// Check only this account (its sAMAccountName; the trailing $ may be left out).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// One JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Read gmsa-keytab.service and its drop-ins (DIR/gmsa-keytab.service.d/*.conf) from DIR
    /// instead of asking systemd or searching the unit directories.
    #[arg(long, value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
}

pub const FILES: &str = "files";

/// Returns the exit code: 0, 1 or 2.
pub fn run(a: DoctorArgs) -> Result<u8, Error> {
    let mut r = Report::default();
    let cfg = check_config(&mut r, &a);
    if let Some(cfg) = &cfg {
        if cfg.accounts.is_empty() {
            r.warn(
                FILES,
                "accounts",
                "no [[account]] table: sync does nothing",
                format!(
                    "add one [[account]] table per gMSA to {} (the commented example in it \
                     shows every key)",
                    cfg.path.display()
                ),
            );
        }
        let accounts: Vec<&config::Account> = match &a.account {
            None => cfg.accounts.iter().collect(),
            Some(name) => {
                let name = crate::account::account_name(name)
                    .map_err(|e| Error::Usage(format!("--account: {e}")))?;
                let found: Vec<_> = cfg
                    .accounts
                    .iter()
                    .filter(|x| x.name.eq_ignore_ascii_case(&name))
                    .collect();
                if found.is_empty() {
                    return Err(Error::Usage(format!(
                        "account {name} is not in {}; doctor checks configured accounts only",
                        cfg.path.display()
                    )));
                }
                found
            }
        };
        let identity = local::host_keytab(&mut r, cfg);
        let sandbox = local::sandbox(a.unit_dir.as_deref());
        remote::check(&mut r, cfg, identity.as_ref(), &accounts, &sandbox);
        local::schedule(&mut r, cfg, &sandbox, a.unit_dir.is_some());
    }
    let out = if a.json {
        r.render_json()
    } else {
        r.render_text()
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(r.exit_code())
}

/// The configuration parses and only root can change it.
fn check_config(r: &mut Report, a: &DoctorArgs) -> Option<Config> {
    let what = "configuration";
    let cfg = match config::load(&a.config) {
        Ok(c) => c,
        Err(e) => {
            r.fail(
                FILES,
                what,
                e.to_string(),
                format!(
                    "correct the file (gmsa-keytab check-config {} shows the same error); \
                     packaging/config.example.toml in the documentation has every key",
                    a.config.display()
                ),
            );
            return None;
        }
    };
    r.pass(
        FILES,
        what,
        format!(
            "{} parses: {} account(s), protection {}",
            cfg.path.display(),
            cfg.accounts.len(),
            cfg.directory.protection
        ),
    );
    if let Ok(md) = std::fs::metadata(&cfg.path) {
        let (v, detail, fix) = advice::config_trust(md.uid(), md.mode());
        let fix = fix.map(|f| f.replace("the configuration file", &cfg.path.display().to_string()));
        r.add(FILES, "configuration owner and mode", v, detail, fix);
    }
    Some(cfg)
}
