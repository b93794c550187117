//! `check-config`: validate offline and print the resolved configuration.
//!
//! Beyond parsing, it checks what would fail at run time on this host without the network:
//! owners and groups, the CA file, keytab paths that are directories, hook programs that do not
//! exist (errors, exit 78); a missing host keytab or keytab directory, and directories the
//! service's sandbox does not let it write (warnings, with the fix).

use super::doctor::local::{SandboxSource, sandbox};
use crate::config::{self, Config, ConfigError};
use crate::doctor::sandbox::drop_in_fix;
use crate::error::Error;
use crate::log;
use crate::store::ids::ConfigIds;
use clap::Args;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The configuration file.
    #[arg(default_value = crate::defaults::CONFIG_PATH)]
    pub file: PathBuf,
    /// Read gmsa-keytab.service and its drop-ins from DIR (DIR/gmsa-keytab.service.d/*.conf)
    /// instead of asking systemd or searching the unit directories.
    #[arg(long, value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
}

/// Where the service looks for bare hook program names (systemd's default PATH).
const SERVICE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn run(a: CheckConfigArgs) -> Result<(), Error> {
    let cfg = config::load(&a.file)?;
    // Owners and groups must exist here; that is a local lookup, not the network.
    cfg.resolve_ids()?;
    let (errors, warnings) = host_checks(&cfg, &sandbox(a.unit_dir.as_deref()));
    for w in &warnings {
        log::warn(w, &[]);
    }
    if let Some(first) = errors.into_iter().next() {
        return Err(first.into());
    }
    let _ = std::io::stdout().lock().write_all(cfg.render().as_bytes());
    Ok(())
}

fn error(cfg: &Config, key: &str, message: String) -> ConfigError {
    ConfigError {
        path: cfg.path.clone(),
        line: None,
        key: key.into(),
        message,
    }
}

/// Whether `prog` (an absolute path, or a bare name looked up in the service's PATH) names an
/// executable file.
fn program_exists(prog: &str) -> bool {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if prog.starts_with('/') {
        return executable(Path::new(prog));
    }
    SERVICE_PATH
        .split(':')
        .any(|d| executable(&Path::new(d).join(prog)))
}

/// Errors (would fail every run) and warnings (would fail until the host is set up).
pub fn host_checks(cfg: &Config, sb: &SandboxSource) -> (Vec<ConfigError>, Vec<String>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    if let Some(ca) = &cfg.directory.ca_file
        && let Err(e) = std::fs::File::open(ca)
    {
        errors.push(error(
            cfg,
            "ca-file",
            format!("cannot read {}: {e}", ca.display()),
        ));
    }
    if !cfg.accounts.is_empty() && !cfg.directory.client_keytab.exists() {
        warnings.push(format!(
            "client-keytab {} does not exist: every sync fails until the host is joined (realm \
             join DOMAIN, or adcli join)",
            cfg.directory.client_keytab.display()
        ));
    }
    let mut outside: Vec<&Path> = Vec::new();
    for acc in &cfg.accounts {
        let dir = acc.keytab.parent().unwrap_or(Path::new("/"));
        if acc.keytab.is_dir() {
            errors.push(error(
                cfg,
                "keytab",
                format!(
                    "account {}: {} is a directory; name a file in it, e.g. {}",
                    acc.name,
                    acc.keytab.display(),
                    acc.keytab.join("service.keytab").display()
                ),
            ));
        } else if !dir.is_dir() {
            warnings.push(format!(
                "account {}: the keytab directory {} does not exist; create it (install -d -m \
                 0755 {})",
                acc.name,
                dir.display(),
                dir.display()
            ));
        }
        for hook in &acc.on_change {
            if let Some(prog) = hook.first()
                && !program_exists(prog)
            {
                errors.push(error(
                    cfg,
                    "on-change",
                    format!(
                        "account {}: hook program {prog:?} is not an executable file{}",
                        acc.name,
                        if prog.starts_with('/') {
                            String::new()
                        } else {
                            format!(" in the service's PATH ({SERVICE_PATH})")
                        }
                    ),
                ));
            }
        }
        if let SandboxSource::Found(s, _) = sb
            && s.writable(dir).is_err()
            && !outside.contains(&dir)
        {
            outside.push(dir);
        }
    }
    if let SandboxSource::Found(s, from) = sb {
        let mut more: Vec<&Path> = Vec::new();
        if let Some(m) = &cfg.metrics_file {
            more.push(m.parent().unwrap_or(Path::new("/")));
        }
        more.push(&cfg.state_dir);
        for d in more {
            if s.writable(d).is_err() && !outside.contains(&d) {
                outside.push(d);
            }
        }
        if !outside.is_empty() {
            let list: Vec<String> = outside.iter().map(|d| d.display().to_string()).collect();
            warnings.push(format!(
                "the service cannot write {} (its sandbox, read from {from}); {}",
                list.join(", "),
                drop_in_fix(&outside).replace('\n', " ")
            ));
        }
    }
    (errors, warnings)
}
