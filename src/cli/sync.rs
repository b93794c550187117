//! `sync`: the main job, from the configuration file or from ad-hoc arguments.

use super::{parse_mode, parse_u32};
use crate::config::{self, Account, Config, Protection, Spns};
use crate::enctype::Enctype;
use crate::error::Error;
use crate::log;
use crate::sync;
use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The configuration file (ignored with --account).
    #[arg(long, value_name = "FILE", conflicts_with = "account")]
    pub config: Option<PathBuf>,

    /// Ad-hoc form, no configuration file: the gMSA's sAMAccountName (e.g. 'svc_web$').
    #[arg(long, value_name = "NAME", requires = "keytab")]
    pub account: Option<String>,
    /// Ad-hoc form: the keytab to write.
    #[arg(long, value_name = "PATH", requires = "account")]
    pub keytab: Option<PathBuf>,
    /// A domain controller to use (repeatable, tried in order). Default: DNS SRV discovery.
    #[arg(long = "server", value_name = "HOST")]
    pub servers: Vec<String>,
    /// The realm. Default: from the directory.
    #[arg(long)]
    pub realm: Option<String>,
    /// The DNS domain for SRV discovery. Default: the client principal's realm.
    #[arg(long)]
    pub domain: Option<String>,
    /// AD site for SRV discovery.
    #[arg(long)]
    pub site: Option<String>,
    /// The host keytab to authenticate with.
    #[arg(long, value_name = "PATH", default_value = config::DEFAULT_CLIENT_KEYTAB)]
    pub client_keytab: PathBuf,
    /// The client principal. Default: the NAME$@REALM entry of the client keytab.
    #[arg(long, value_name = "PRINCIPAL")]
    pub client_principal: Option<String>,
    /// seal (SASL confidentiality, 389), ldaps (636) or starttls.
    #[arg(long, value_enum, default_value = "seal")]
    pub protection: ProtectionArg,
    /// CA certificates for ldaps/starttls.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Per-attempt and per-operation timeout.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_u32)]
    pub timeout_seconds: u32,
    /// Enctypes to write (comma-separated). Default: what the account supports, minus DES.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub enctypes: Option<Vec<Enctype>>,
    /// SPNs to write (repeatable). Default: every servicePrincipalName of the account.
    #[arg(long = "spn", value_name = "SPN")]
    pub spns: Vec<String>,
    /// Owner of the keytab (name or uid).
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,
    /// Group of the keytab (name or gid).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Mode of the keytab, octal.
    #[arg(long, default_value = "0600", value_parser = parse_mode)]
    pub mode: u32,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProtectionArg {
    Seal,
    Ldaps,
    Starttls,
}

fn ad_hoc(a: &SyncArgs, name: &str, keytab: &std::path::Path) -> Result<Config, Error> {
    if !keytab.is_absolute() && keytab.file_name().is_none() {
        return Err(Error::Usage(format!(
            "--keytab {}: not a file path",
            keytab.display()
        )));
    }
    let name = if name.ends_with('$') {
        name.to_string()
    } else {
        format!("{name}$")
    };
    Ok(Config {
        path: PathBuf::from("(command line)"),
        client_keytab: a.client_keytab.clone(),
        client_principal: a.client_principal.clone(),
        servers: a.servers.clone(),
        domain: a.domain.clone(),
        site: a.site.clone(),
        realm: a.realm.as_ref().map(|r| r.to_ascii_uppercase()),
        protection: match a.protection {
            ProtectionArg::Seal => Protection::Seal,
            ProtectionArg::Ldaps => Protection::Ldaps,
            ProtectionArg::Starttls => Protection::StartTls,
        },
        ca_file: a.ca_file.clone(),
        timeout: Duration::from_secs(u64::from(a.timeout_seconds.max(1))),
        state_dir: config::DEFAULT_STATE_DIR.into(),
        metrics_file: None,
        accounts: vec![Account {
            name,
            keytab: keytab.to_path_buf(),
            owner: a.owner.clone(),
            group: a.group.clone(),
            mode: a.mode,
            spns: if a.spns.is_empty() {
                Spns::Auto
            } else {
                Spns::List(a.spns.clone())
            },
            enctypes: a.enctypes.clone(),
            on_change: Vec::new(),
        }],
    })
}

pub fn run(a: SyncArgs) -> Result<(), Error> {
    let cfg = match (&a.account, &a.keytab) {
        (Some(name), Some(keytab)) => ad_hoc(&a, name, keytab)?,
        _ => config::load(a.config.as_deref().unwrap_or(config::DEFAULT_PATH.as_ref()))?,
    };
    // Local problems surface before any network traffic.
    cfg.resolve_ids()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0);
    let accounts: Vec<&Account> = cfg.accounts.iter().collect();
    let summary = sync::run(&cfg, &accounts, now);
    let server = summary.server.clone().unwrap_or_else(|| "-".into());
    for r in &summary.accounts {
        match &r.result {
            Ok(s) => {
                let kvnos: Vec<String> = s.kvnos.iter().map(|k| k.to_string()).collect();
                log::info(
                    "account synced",
                    &[
                        ("account", &r.name),
                        ("keytab", &r.keytab.display()),
                        ("server", &server),
                        ("kvno", &kvnos.join(",")),
                        ("principals", &s.principals),
                        ("enctypes", &s.enctypes.join(",")),
                        ("outcome", &format!("{:?}", s.outcome).to_lowercase()),
                        ("changed", &s.changed),
                        ("next_query_in_s", &s.query_interval.as_secs()),
                    ],
                );
            }
            Err(e) => log::error(
                &e.to_string(),
                &[
                    ("account", &r.name),
                    ("keytab", &r.keytab.display()),
                    ("exit", &e.class().code()),
                ],
            ),
        }
    }
    match summary
        .accounts
        .iter()
        .find_map(|r| r.result.as_ref().err())
    {
        None => Ok(()),
        Some(_) => {
            let failed = summary
                .accounts
                .iter()
                .filter(|r| r.result.is_err())
                .count();
            let class = summary.failure().unwrap_or(crate::exit::Class::Software);
            Err(Error::Shared(
                format!("{failed} of {} account(s) failed", summary.accounts.len()),
                class,
            ))
        }
    }
}
