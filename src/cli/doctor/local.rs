//! The checks that need no network: the host keytab, each account's files and sandbox, and
//! the schedule (timer, state file, metrics).

use super::FILES;
use crate::config::{Account, Config};
use crate::directory::kerberos::client::{self, ClientIdentity};
use crate::doctor::sandbox::{self, SERVICE, Sandbox, TIMER};
use crate::doctor::{Report, Verdict};
use crate::store::ids::AccountIds;
use crate::store::state;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCHEDULE: &str = "schedule";

/// The host keytab is readable and has the machine account's key.
pub fn host_keytab(r: &mut Report, cfg: &Config) -> Option<ClientIdentity> {
    let what = "host keytab";
    match client::resolve(
        &cfg.directory.client_keytab,
        cfg.directory.client_principal.as_deref(),
    ) {
        Ok(id) => {
            r.pass(
                FILES,
                what,
                format!(
                    "{} has a key for {}",
                    cfg.directory.client_keytab.display(),
                    id.principal
                ),
            );
            Some(id)
        }
        Err(e) => {
            r.fail(
                FILES,
                what,
                e.to_string(),
                "join the host to the domain (realm join DOMAIN, or adcli join) so the host \
                 keytab holds NAME$@REALM; run doctor as root (the host keytab is root-only); \
                 or set client-keytab / client-principal"
                    .into(),
            );
            None
        }
    }
}

/// Where the service's sandbox lets it write, and where that came from.
pub enum SandboxSource {
    Found(Sandbox, String),
    /// No unit installed: nothing confines a sync started by hand or by another scheduler.
    NoUnit,
}

fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Reads the service's file-system settings: from `unit_dir` if given, else from systemd when
/// it runs (effective values, drop-ins included), else from the unit files on disk.
pub fn sandbox(unit_dir: Option<&Path>) -> SandboxSource {
    if unit_dir.is_none() && systemd_running() {
        let out = Command::new("systemctl")
            .args([
                "show",
                "-p",
                "LoadState",
                "-p",
                "ReadWritePaths",
                "-p",
                "StateDirectory",
                "-p",
                "ProtectSystem",
                "-p",
                "ProtectHome",
                "-p",
                "PrivateTmp",
                SERVICE,
            ])
            .output();
        if let Ok(o) = out
            && o.status.success()
        {
            let text = String::from_utf8_lossy(&o.stdout);
            if text.lines().any(|l| l == "LoadState=loaded") {
                return SandboxSource::Found(
                    Sandbox::from_systemctl_show(&text),
                    format!("systemctl show {SERVICE}"),
                );
            }
            return SandboxSource::NoUnit;
        }
    }
    let dirs: Vec<PathBuf> = match unit_dir {
        Some(d) => vec![d.to_path_buf()],
        None => [
            "/etc/systemd/system",
            "/run/systemd/system",
            "/usr/local/lib/systemd/system",
            "/usr/lib/systemd/system",
            "/lib/systemd/system",
        ]
        .iter()
        .map(PathBuf::from)
        .collect(),
    };
    let Some(unit) = dirs.iter().map(|d| d.join(SERVICE)).find(|p| p.is_file()) else {
        return SandboxSource::NoUnit;
    };
    let mut s = Sandbox::default();
    let mut files = vec![unit.clone()];
    s.apply_unit_file(&std::fs::read_to_string(&unit).unwrap_or_default());
    // Drop-ins of every directory, ordered by file name; a name in an earlier (higher
    // priority) directory hides the same name further down, as in systemd.
    let mut drop_ins: Vec<(String, PathBuf)> = Vec::new();
    for d in &dirs {
        let Ok(rd) = std::fs::read_dir(d.join(format!("{SERVICE}.d"))) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".conf") && !drop_ins.iter().any(|(n, _)| *n == name) {
                drop_ins.push((name, e.path()));
            }
        }
    }
    drop_ins.sort();
    for (_, p) in drop_ins {
        s.apply_unit_file(&std::fs::read_to_string(&p).unwrap_or_default());
        files.push(p);
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    SandboxSource::Found(s, names.join(", "))
}

/// Whether the service may write in `dir`, as a check.
fn sandbox_check(r: &mut Report, section: &str, what: &str, dir: &Path, sb: &SandboxSource) {
    match sb {
        SandboxSource::NoUnit => r.skip(
            section,
            what,
            format!("{SERVICE} is not installed; nothing confines where a sync writes"),
        ),
        SandboxSource::Found(s, from) => match s.writable(dir) {
            Ok(why) => r.pass(
                section,
                what,
                format!("the service may write {}: {why}", dir.display()),
            ),
            Err(why) => r.fail(
                section,
                what,
                format!(
                    "the service cannot write {}: {why} (read from {from})",
                    dir.display()
                ),
                sandbox::drop_in_fix(&[dir]),
            ),
        },
    }
}

/// An account's files: the keytab's directory, its sandbox, owner and group.
pub fn account_files(r: &mut Report, acc: &Account, sb: &SandboxSource) {
    let section = acc.name.as_str();
    let dir = acc.keytab.parent().unwrap_or(Path::new("/"));
    if acc.keytab.is_dir() {
        r.fail(
            section,
            "keytab path",
            format!("{} is a directory", acc.keytab.display()),
            "set keytab to a file path inside that directory, e.g. <dir>/service.keytab".into(),
        );
    } else if !dir.is_dir() {
        r.fail(
            section,
            "keytab directory",
            format!("{} does not exist", dir.display()),
            format!(
                "create it: install -d -m 0755 -o root -g root {}",
                dir.display()
            ),
        );
    } else {
        r.pass(
            section,
            "keytab directory",
            format!("{} exists", dir.display()),
        );
    }
    sandbox_check(r, section, "keytab directory in the sandbox", dir, sb);
    match acc.ownership() {
        Ok(_) => r.pass(
            section,
            "owner and group",
            format!(
                "owner {}, group {}, mode {:04o}",
                acc.owner.as_deref().unwrap_or("(kept)"),
                acc.group.as_deref().unwrap_or("(kept)"),
                acc.mode
            ),
        ),
        Err(e) => r.fail(
            section,
            "owner and group",
            e.to_string(),
            "create the user or group (e.g. useradd --system NAME), or correct owner / group \
             in the account's table"
                .into(),
        ),
    }
}

fn systemctl_show(unit: &str, props: &[&str]) -> Option<Vec<(String, String)>> {
    let mut cmd = Command::new("systemctl");
    cmd.arg("show");
    for p in props {
        cmd.args(["-p", p]);
    }
    let o = cmd.arg(unit).output().ok()?;
    if !o.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The timer, the state file and the metrics file.
pub fn schedule(r: &mut Report, cfg: &Config, sb: &SandboxSource, unit_dir_given: bool) {
    if unit_dir_given || !systemd_running() {
        r.skip(
            SCHEDULE,
            "timer",
            "systemd is not running here (or --unit-dir was given)",
        );
    } else {
        timer(r);
    }
    let path = state::path(cfg);
    let (st, warning) = state::load(&path);
    match warning {
        Some(w) => r.warn(
            SCHEDULE,
            "state file",
            w,
            format!(
                "harmless once: the next run queries every account and rewrites it; if it \
                 recurs, check the permissions of {}",
                cfg.state_dir.display()
            ),
        ),
        None if !path.exists() => r.pass(
            SCHEDULE,
            "state file",
            format!(
                "{} not written yet: the first run queries every account",
                path.display()
            ),
        ),
        None => r.pass(
            SCHEDULE,
            "state file",
            format!(
                "{} records {} account(s)",
                path.display(),
                st.accounts.len()
            ),
        ),
    }
    sandbox_check(
        r,
        SCHEDULE,
        "state directory in the sandbox",
        &cfg.state_dir,
        sb,
    );
    match &cfg.metrics_file {
        None => r.pass(
            SCHEDULE,
            "metrics file",
            "metrics-file is not set (no Prometheus metrics)",
        ),
        Some(m) => {
            let dir = m.parent().unwrap_or(Path::new("/"));
            if !dir.is_dir() {
                r.fail(
                    SCHEDULE,
                    "metrics file",
                    format!("the directory {} does not exist", dir.display()),
                    format!(
                        "create it, or point metrics-file at the node_exporter textfile \
                         directory (--collector.textfile.directory): install -d {}",
                        dir.display()
                    ),
                );
            } else {
                r.pass(
                    SCHEDULE,
                    "metrics file",
                    format!(
                        "{} ({})",
                        m.display(),
                        if m.exists() {
                            "present"
                        } else {
                            "written by the next run"
                        }
                    ),
                );
            }
            sandbox_check(r, SCHEDULE, "metrics directory in the sandbox", dir, sb);
        }
    }
}

fn timer(r: &mut Report) {
    let what = "timer";
    let Some(props) = systemctl_show(
        TIMER,
        &[
            "LoadState",
            "UnitFileState",
            "ActiveState",
            "NextElapseUSecRealtime",
            "LastTriggerUSec",
        ],
    ) else {
        r.warn(
            SCHEDULE,
            what,
            "systemctl show failed",
            "check systemctl status".into(),
        );
        return;
    };
    let get = |k: &str| {
        props
            .iter()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if get("LoadState") != "loaded" {
        r.fail(
            SCHEDULE,
            what,
            format!("{TIMER} is not installed ({})", get("LoadState")),
            "install the package, which ships and enables the timer".into(),
        );
        return;
    }
    let next = list_timers_next().unwrap_or_else(|| get("NextElapseUSecRealtime").to_string());
    let detail = format!(
        "{TIMER} is {} and {}; next run {}; last run {}",
        get("UnitFileState"),
        get("ActiveState"),
        if next.is_empty() {
            "not planned"
        } else {
            &next
        },
        match get("LastTriggerUSec") {
            "" | "n/a" => "never",
            t => t,
        }
    );
    if get("UnitFileState") != "enabled" || get("ActiveState") != "active" {
        r.add(
            SCHEDULE,
            what,
            Verdict::Fail,
            detail,
            Some(format!("systemctl enable --now {TIMER}")),
        );
    } else {
        r.pass(SCHEDULE, what, detail);
    }
}

/// The NEXT column of `systemctl list-timers` for the timer (monotonic timers have no
/// realtime property to show).
fn list_timers_next() -> Option<String> {
    let o = Command::new("systemctl")
        .args(["list-timers", "--all", "--no-legend", "--no-pager", TIMER])
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()?
        .to_string();
    // "Sun 2026-11-29 13:00:00 UTC 14min left Sun ... gmsa-keytab.timer gmsa-keytab.service"
    let end = line.find(" left").map(|i| i + 5)?;
    Some(line[..end].trim().to_string())
}
