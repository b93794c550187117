//! Command line: argument definitions (clap) and dispatch. Each command lives in its own file.

mod check_config;
mod derive;
mod doctor;
mod show;
mod status;
mod sync;

use crate::error::Error;
use crate::exit::Class;
use crate::log;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The keytab mode and owner rules are the configuration's (`gmsa_core::config`).
pub use crate::config::{parse_id, parse_mode};
pub use derive::DeriveArgs;
pub use show::ShowArgs;

/// Keeps Kerberos keytabs for Active Directory group Managed Service Accounts (gMSA).
///
/// Exit status: 0 success; 64 usage; 65 malformed blob; 66 missing input; 67 no such gMSA;
/// 70 internal error; 73 cannot write output; 75 temporary failure (retry later);
/// 76 protocol/confidentiality problem; 77 permission denied; 78 configuration error;
/// 79 an existing keytab is corrupt (left untouched).
#[derive(Debug, Parser)]
#[command(name = "gmsa-keytab", version, max_term_width = 100)]
pub struct Cli {
    /// Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<log::Level>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Derive keys from a managed-password blob you already have and merge them into a keytab.
    ///
    /// Offline: no directory access. The current password gets kvno K, the previous one (when
    /// the blob has it) K-1. Entries of other principals in the keytab are kept byte for byte.
    Derive(DeriveArgs),
    /// Read each configured gMSA's password from a domain controller and update its keytab.
    ///
    /// Authenticates as the host's computer account from its keytab (into a private in-memory
    /// credential cache), over sealed SASL GSSAPI LDAP by default. Configuration form:
    /// `sync [--config FILE]`; ad-hoc form: `sync --account NAME --keytab PATH [...]`.
    Sync(sync::SyncArgs),
    /// Show each account's keytab kvnos, last success, next planned query and last error.
    ///
    /// Reads the state file and the keytabs only (no network). Exit status, for Nagios-style
    /// checks: 0 all fine, 1 a last attempt failed, 2 an account is stale (its next query is
    /// overdue by more than `stale-minutes`), was never synced, or its keytab on disk is missing
    /// or lacks the current kvno, 3 no account is configured.
    Status(status::StatusArgs),
    /// List a keytab's entries: principal, name type, kvno, enctype, timestamp. Never keys.
    Show(ShowArgs),
    /// Validate a configuration file without touching the network, and print it resolved.
    CheckConfig(check_config::CheckConfigArgs),
    /// Check everything a sync needs, in order, and print each problem with its fix.
    ///
    /// Files (configuration, host keytab), the clock against the DC, DNS SRV, each DC's ports
    /// and the sealed bind, then per account: exists and is a gMSA, this host may read its
    /// password, its enctypes, whether the keytab holds the current keys, the keytab directory
    /// inside the service's sandbox, owner and group; then the timer, state file and metrics.
    /// Reads like a sync but never writes a keytab. Exit status: 0 all passed, 1 warnings,
    /// 2 failures.
    Doctor(doctor::DoctorArgs),
}

/// Keeps secrets in the process: no core dump (`RLIMIT_CORE` 0, hard limit too, so nothing in
/// this process can raise it again) and not dumpable (`PR_SET_DUMPABLE` 0: no core even when
/// `fs.suid_dumpable` or a crash handler would take one, and no ptrace attach by the same
/// non-root user). Done first, before any secret exists. Returns what could not be set.
pub fn harden_process() -> Vec<String> {
    use nix::sys::resource::{Resource, setrlimit};
    let mut failed = Vec::new();
    if let Err(e) = setrlimit(Resource::RLIMIT_CORE, 0, 0) {
        failed.push(format!("RLIMIT_CORE 0: {e}"));
    }
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        failed.push(format!("PR_SET_DUMPABLE 0: {e}"));
    }
    // Hooks get no descriptor we inherited (see hooks.rs).
    crate::sys::cloexec_inherited();
    failed
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let hardening_failed = harden_process();
    log::detect_journal();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(Class::Usage.code()),
            };
        }
    };
    let level = cli.log_level.or_else(|| {
        std::env::var("RUST_LOG")
            .ok()
            .and_then(|v| log::level_from_rust_log(&v))
    });
    if let Some(level) = level {
        log::set_level(level);
    }
    for f in &hardening_failed {
        log::warn("cannot keep secrets out of core dumps", &[("setting", f)]);
    }
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let class = e.class();
            log::error(&e.to_string(), &[("exit", &class.code())]);
            ExitCode::from(class.code())
        }
    }
}

fn run(command: Command) -> Result<u8, Error> {
    match command {
        Command::Derive(a) => derive::run(a).map(|()| 0),
        Command::Show(a) => show::run(a).map(|()| 0),
        Command::Sync(a) => sync::run(a).map(|()| 0),
        Command::Status(a) => status::run(a),
        Command::CheckConfig(a) => check_config::run(a).map(|()| 0),
        Command::Doctor(a) => doctor::run(a),
    }
}

/// Owner, group and mode of a keytab written from the command line (derive, ad-hoc sync).
/// They require --account: with sync's configuration form they would be silently ignored.
#[derive(Debug, Clone, clap::Args)]
pub struct FileArgs {
    /// Owner of the keytab (name or uid). Default: keep the existing owner.
    #[arg(long, value_name = "USER", value_parser = parse_id, requires = "account")]
    pub owner: Option<String>,
    /// Group of the keytab (name or gid). Default: keep the existing group.
    #[arg(long, value_name = "GROUP", value_parser = parse_id, requires = "account")]
    pub group: Option<String>,
    /// Mode of the keytab, octal: 0400, 0440, 0600 or 0640 (read for owner and group, write
    /// only for the owner; everything else is refused).
    #[arg(long, default_value = crate::defaults::KEYTAB_MODE_TEXT, value_parser = parse_mode, requires = "account")]
    pub mode: u32,
}

/// Parses a number in decimal or `0x` hex.
pub fn parse_u32(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("{s:?} is not a number (decimal, or hex with 0x)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn protection_names_are_the_configuration_s() {
        use crate::options::Protection;
        let parse = |extra: &[&str]| {
            let mut args = vec!["gmsa-keytab", "sync", "--account", "a", "--keytab", "/k"];
            args.extend_from_slice(extra);
            match Cli::try_parse_from(args).map(|c| c.command) {
                Ok(Command::Sync(a)) => Ok(a.protection),
                Ok(_) => unreachable!("sync parses as sync"),
                Err(e) => Err(e.kind()),
            }
        };
        assert_eq!(parse(&[]), Ok(crate::defaults::PROTECTION));
        for p in Protection::ALL {
            assert_eq!(parse(&["--protection", p.as_str()]), Ok(p));
        }
        assert_eq!(
            parse(&["--protection", "tls"]),
            Err(clap::error::ErrorKind::InvalidValue)
        );
    }

    #[test]
    fn hardening_disables_core_dumps() {
        use nix::sys::resource::{Resource, getrlimit};
        assert!(harden_process().is_empty());
        assert_eq!(getrlimit(Resource::RLIMIT_CORE).unwrap(), (0, 0));
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
    }

    #[test]
    fn modes_and_numbers() {
        assert_eq!(parse_mode("0640"), Ok(0o640));
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0400"), Ok(0o400));
        assert_eq!(parse_mode("0o440"), Ok(0o440));
        assert!(parse_mode("0999").is_err());
        assert!(parse_mode("77777").is_err());
        for bad in [
            "7777", "4600", "2640", "1600", "0700", "0660", "0644", "0666", "0604", "0000", "0200",
            "0610", "0641",
        ] {
            let e = parse_mode(bad).unwrap_err();
            assert!(e.contains("0400, 0440, 0600 or 0640"), "{bad}: {e}");
        }
        assert!(parse_id("4294967295").is_err());
        assert!(parse_id("99999999999").is_err());
        assert!(parse_id("").is_err());
        assert!(parse_id("a\nb").is_err());
        assert_eq!(parse_id("0").as_deref(), Ok("0"));
        assert_eq!(parse_id("www-data").as_deref(), Ok("www-data"));
        assert_eq!(parse_u32("0x1c"), Ok(28));
        assert_eq!(parse_u32("28"), Ok(28));
        assert!(parse_u32("x").is_err());
    }
}
