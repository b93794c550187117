//! `sync`: its arguments, the ad-hoc form's configuration, and dispatch to the scheduled run
//! ([`crate::run::scheduled`]) or a one-off sync ([`crate::run::sync`]).

use super::{FileArgs, parse_u32};
use crate::config::{Account, Config, DirectoryOptions, Protection, Spns};
use crate::defaults;
use crate::enctype::Enctype;
use crate::error::Error;
use crate::run::scheduled::{lingering, outcome, report};
use crate::run::sync;
use crate::run::{keytab_time, unix_now};
use crate::schedule;
use crate::store::ids::ConfigIds;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Query the directory for every account now, whatever the schedule says.
    #[arg(long)]
    pub force: bool,
    /// The configuration file. The remaining options belong to the ad-hoc form (--account
    /// --keytab) and are a usage error without it.
    #[arg(long, value_name = "FILE", conflicts_with = "account")]
    pub config: Option<PathBuf>,
    /// After the run, stay while the next planned query or retry of an account falls within
    /// MINUTES of the start, run it then, and repeat; exit when nothing is due within them.
    /// The shipped unit passes 130 (the timer's longest gap between ticks plus a margin), so
    /// the read in the last five minutes of an epoch happens whatever the timer's phase.
    /// Ignored when systemd started the run without a timer ($INVOCATION_ID set,
    /// $TRIGGER_UNIT unset), so `systemctl start` returns after one pass.
    #[arg(long, value_name = "MINUTES", default_value = "0", value_parser = parse_u32, conflicts_with = "account")]
    pub linger: u32,

    /// Ad-hoc form, no configuration file: the gMSA's sAMAccountName (e.g. 'svc_web$').
    #[arg(long, value_name = "NAME", requires = "keytab")]
    pub account: Option<String>,
    /// Ad-hoc form: the keytab to write.
    #[arg(long, value_name = "PATH", requires = "account")]
    pub keytab: Option<PathBuf>,
    /// A domain controller to use (repeatable, tried in order). Default: DNS SRV discovery.
    #[arg(long = "server", value_name = "HOST", requires = "account")]
    pub servers: Vec<String>,
    /// The realm. Default: from the directory.
    #[arg(long, requires = "account")]
    pub realm: Option<String>,
    /// The DNS domain for SRV discovery. Default: the client principal's realm.
    #[arg(long, requires = "account")]
    pub domain: Option<String>,
    /// AD site for SRV discovery.
    #[arg(long, requires = "account")]
    pub site: Option<String>,
    /// The host keytab to authenticate with.
    #[arg(long, value_name = "PATH", default_value = defaults::CLIENT_KEYTAB, requires = "account")]
    pub client_keytab: PathBuf,
    /// The client principal. Default: the NAME$@REALM entry of the client keytab.
    #[arg(long, value_name = "PRINCIPAL", requires = "account")]
    pub client_principal: Option<String>,
    /// seal (SASL confidentiality, 389), ldaps (636) or starttls.
    #[arg(long, default_value = defaults::PROTECTION.as_str(), value_parser = protection(), requires = "account")]
    pub protection: Protection,
    /// CA certificates for ldaps/starttls.
    #[arg(long, value_name = "FILE", requires = "account")]
    pub ca_file: Option<PathBuf>,
    /// Per-attempt and per-operation timeout.
    #[arg(long, value_name = "SECONDS", default_value_t = defaults::TIMEOUT_SECONDS, value_parser = parse_u32, requires = "account")]
    pub timeout_seconds: u32,
    /// Enctypes to write (comma-separated). Default: what the account supports, minus DES.
    #[arg(long, value_delimiter = ',', value_name = "LIST", requires = "account")]
    pub enctypes: Option<Vec<Enctype>>,
    /// SPNs to write (repeatable). Default: every servicePrincipalName of the account.
    #[arg(long = "spn", value_name = "SPN", requires = "account")]
    pub spns: Vec<String>,
    /// Do not ask the KDC for the account's salt; derive AES keys with the salt computed from
    /// its name. The KDC's ticket still checks the keys (config: salt-probe = false).
    #[arg(long, requires = "account")]
    pub no_salt_probe: bool,
    #[command(flatten)]
    pub file: FileArgs,
}

/// `--protection`: the names the configuration's `protection` takes, listed in the help and
/// the completions.
fn protection() -> impl clap::builder::TypedValueParser<Value = Protection> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Protection::ALL.map(Protection::as_str))
        .try_map(|s| s.parse::<Protection>())
}

fn ad_hoc(a: &SyncArgs, name: &str, keytab: &std::path::Path) -> Result<Config, Error> {
    // `/`, `..`, `.` and `dir/..` name no file, whether absolute or relative (this once read
    // `!is_absolute() && …`, which let `/` through to a later check).
    if keytab.file_name().is_none() {
        return Err(Error::Usage(format!(
            "--keytab {}: not a file path",
            keytab.display()
        )));
    }
    let name = crate::account::account_name(name)?;
    if let Some(r) = &a.realm {
        crate::account::realm(r)?;
    }
    for s in &a.spns {
        crate::account::spn(s)?;
    }
    crate::store::fsio::check_target_name(keytab)?;
    Ok(Config {
        path: PathBuf::from("(command line)"),
        directory: DirectoryOptions {
            client_keytab: a.client_keytab.clone(),
            client_principal: a.client_principal.clone(),
            servers: a.servers.clone(),
            domain: a.domain.clone(),
            site: a.site.clone(),
            protection: a.protection,
            ca_file: a.ca_file.clone(),
            timeout: Duration::from_secs(u64::from(a.timeout_seconds.max(1))),
        },
        realm: a.realm.as_ref().map(|r| r.to_ascii_uppercase()),
        state_dir: defaults::STATE_DIR.into(),
        metrics_file: None,
        recheck: defaults::RECHECK,
        retry_max: defaults::RETRY_MAX,
        stale_after: defaults::STALE_AFTER,
        hook_timeout: defaults::HOOK_TIMEOUT,
        salt_probe: !a.no_salt_probe,
        accounts: vec![Account {
            name,
            keytab: keytab.to_path_buf(),
            owner: a.file.owner.clone(),
            group: a.file.group.clone(),
            mode: a.file.mode,
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
    let now = unix_now();
    match (&a.account, &a.keytab) {
        // Ad-hoc runs are manual: always query, and leave the scheduled state alone.
        (Some(name), Some(keytab)) => {
            let cfg = ad_hoc(&a, name, keytab)?;
            cfg.resolve_ids()?;
            let accounts: Vec<&Account> = cfg.accounts.iter().collect();
            let summary = sync::run(&cfg, &accounts, keytab_time(now));
            report(&summary, &[], now);
            outcome(&summary)
        }
        _ => {
            let path = a
                .config
                .clone()
                .unwrap_or_else(|| defaults::CONFIG_PATH.into());
            let allowed = schedule::linger_allowed(
                std::env::var_os("INVOCATION_ID").is_some(),
                std::env::var_os("TRIGGER_UNIT").is_some(),
            );
            let linger = if allowed {
                Duration::from_secs(u64::from(a.linger) * 60)
            } else {
                Duration::ZERO
            };
            lingering(&path, a.force, now, linger)
        }
    }
}
