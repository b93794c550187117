//! The scheduled run `gmsa-keytab sync` does from the configuration file: which accounts are
//! due, the state transitions and backoff after each answer, the state file and metrics, hooks,
//! the report, and lingering for the next planned query. `cli::sync` parses the arguments and
//! calls [`lingering`], or [`crate::run::sync::run`] then [`report`] and [`outcome`] for the
//! ad-hoc form.

use crate::config::{self, Account, Config};
use crate::directory::{ClientOptions, Directory, DirectoryError, Session};
use crate::error::Error;
use crate::exit::Class;
use crate::log;
use crate::run::hooks;
use crate::run::notify;
use crate::run::sync;
use crate::run::{keytab_time, unix_now};
use crate::schedule::{
    self, Backoff, Policy, jitter_fraction, next_after_failure, next_after_success,
    next_while_behind, stay_until,
};
use crate::store::ids::ConfigIds;
use crate::store::metrics;
use crate::store::state;
use crate::timefmt::rfc3339;
use std::time::Duration;

/// One scheduled pass, then (with `linger`) more passes at the due instants that fall within
/// `linger` of the start. The configuration and the state are read again for every pass (an
/// admin may have changed them, a manual sync may have run), and a changed configuration file
/// ends a wait early. The exit status reports each account's latest attempt in this process.
///
/// Under `Type=notify` the first pass ends the start job (`READY=1`): `systemctl start`
/// returns then, with that pass's result when it does not linger (a failure exits before
/// READY, so the start fails); a lingering run stays "active" until it exits.
pub fn lingering(
    path: &std::path::Path,
    force: bool,
    started: u64,
    linger: Duration,
) -> Result<(), Error> {
    let host = host_id();
    let world = World {
        now: &unix_now,
        sleep: &std::thread::sleep,
        connect: &Session::connect,
        host: &host,
    };
    lingering_in(path, force, started, linger, &world)
}

/// What the scheduled run takes from outside the process: the clock, sleeping, the directory
/// and the host's identity (for the jitter). [`lingering`] passes the real ones; tests pass a
/// recorded domain and a simulated clock.
pub struct World<'a, D> {
    /// Seconds since the epoch.
    pub now: &'a dyn Fn() -> u64,
    pub sleep: &'a dyn Fn(Duration),
    pub connect: &'a dyn Fn(&ClientOptions) -> Result<D, DirectoryError>,
    pub host: &'a [u8],
}

/// [`lingering`] in `world`.
pub fn lingering_in<D: Directory>(
    path: &std::path::Path,
    force: bool,
    started: u64,
    linger: Duration,
    world: &World<'_, D>,
) -> Result<(), Error> {
    let mut latest: Vec<(String, Option<Class>)> = Vec::new();
    let cfg = config::load(path)?;
    if cfg.accounts.is_empty() {
        // The shipped configuration: a fresh install runs its timer without failing.
        log::notice(
            &format!(
                "no accounts configured; edit {} to add an [[account]] table",
                path.display()
            ),
            &[],
        );
        notify::notify(notify::READY);
        return Ok(());
    }
    let mut merge = |results: Vec<(String, Option<Class>)>| {
        for (name, result) in results {
            match latest.iter_mut().find(|(n, _)| *n == name) {
                Some(entry) => entry.1 = result,
                None => latest.push((name, result)),
            }
        }
        latest
            .iter()
            .filter_map(|(_, r)| *r)
            .collect::<Vec<Class>>()
    };
    let first = pass(&cfg, force, started, world.host, world.connect)?;
    let mut next_due = first.next_due;
    let mut failed = merge(first.results);
    if failed.is_empty() || !linger.is_zero() {
        notify::notify(notify::READY);
    }
    loop {
        let mut now = (world.now)();
        let Some(at) = stay_until(started, now, next_due, linger) else {
            break;
        };
        log::info(
            "staying for the next query",
            &[
                ("at", &rfc3339(at as i64)),
                ("in_s", &at.saturating_sub(now)),
            ],
        );
        notify::notify(&format!("STATUS=next query at {}", rfc3339(at as i64)));
        // Wall-clock based, in bounded chunks: a suspend or a clock step is noticed within
        // one chunk instead of oversleeping the due instant.
        let seen = modified(path);
        while now < at {
            (world.sleep)(schedule::sleep_chunk(now, at));
            now = (world.now)();
            if modified(path) != seen {
                log::info("configuration file changed; running now", &[]);
                break;
            }
        }
        let done = pass(&config::load(path)?, false, now, world.host, world.connect)?;
        next_due = done.next_due;
        failed = merge(done.results);
    }
    match failed.first() {
        None => Ok(()),
        Some(&class) => Err(Error::AccountsFailed {
            failed: failed.len(),
            total: latest.len(),
            class,
        }),
    }
}

fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What one pass did: each queried account's result (`None`: success), and the earliest
/// instant any configured account is due again.
#[derive(Debug)]
pub struct Pass {
    pub results: Vec<(String, Option<Class>)>,
    pub next_due: Option<u64>,
}

/// The host's identity for the per-host jitter: the machine id, else the host name.
fn host_id() -> Vec<u8> {
    std::fs::read("/etc/machine-id")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| std::fs::read("/proc/sys/kernel/hostname").ok())
        .unwrap_or_default()
}

/// One pass of the configuration form at `now`: only accounts that are due are queried (from
/// the directory `connect` gives), and a pass with none due does no network I/O at all. `host`
/// seeds the per-host jitter. It reads and saves the state file, writes the keytabs and the
/// metrics file, and runs the hooks.
pub fn pass<D: Directory>(
    cfg: &Config,
    force: bool,
    now: u64,
    host: &[u8],
    connect: impl FnOnce(&ClientOptions) -> Result<D, DirectoryError>,
) -> Result<Pass, Error> {
    // Local problems surface before any network traffic.
    cfg.resolve_ids()?;
    let state_path = state::path(cfg);
    let (mut st, warning) = state::load(&state_path);
    if let Some(w) = warning {
        log::warn(&w, &[]);
    }
    let policy = Policy {
        recheck: cfg.recheck,
        retry_max: cfg.retry_max,
    };
    let mut due: Vec<&Account> = Vec::new();
    for acc in &cfg.accounts {
        let entry = st.accounts.get(&acc.name);
        let fp = state::fingerprint(cfg, acc);
        let reason = if force {
            Some("forced")
        } else {
            state::due_reason(entry, &fp, state::keytab_current(entry), now)
        };
        match reason {
            Some(r) => {
                log::debug("account due", &[("account", &acc.name), ("reason", &r)]);
                due.push(acc);
            }
            None => {
                let next = rfc3339(entry.map_or(0, |e| e.next_query) as i64);
                let fields: &[(&str, &dyn std::fmt::Display)] =
                    &[("account", &acc.name), ("next_query", &next)];
                if entry.is_some_and(|e| state::rejected_backoff(e, now)) {
                    log::notice(
                        "account backing off after its key or access was rejected; fix the \
                         cause, then run `gmsa-keytab sync --force` to retry at once",
                        fields,
                    );
                } else {
                    log::debug("account not due", fields);
                }
            }
        }
    }
    if due.is_empty() {
        let next = st
            .accounts
            .values()
            .map(|e| e.next_query)
            .min()
            .unwrap_or(now);
        log::info("nothing due", &[("next_query", &rfc3339(next as i64))]);
        write_metrics(cfg, &st, now);
        return Ok(Pass {
            results: Vec::new(),
            next_due: next_due(cfg, &st, now),
        });
    }

    let summary = sync::run_with(cfg, &due, keytab_time(now), connect);
    let planned: Vec<Option<u64>> = due
        .iter()
        .zip(&summary.accounts)
        .map(|(acc, r)| {
            let jitter = jitter_fraction(host, &acc.name);
            r.result.as_ref().ok().map(|s| {
                let next = next_after_success(now, s.query_interval, jitter, &policy);
                // A DC behind the keytab: ask again soon (the runs so far, plus this one).
                match &r.behind {
                    Some(_) => {
                        next_while_behind(now, behind_runs(&st, &acc.name) + 1, jitter, next)
                    }
                    None => next,
                }
            })
        })
        .collect();
    report(&summary, &planned, now);
    for ((acc, r), planned) in due.iter().zip(&summary.accounts).zip(&planned) {
        let jitter = jitter_fraction(host, &acc.name);
        let e = st.accounts.entry(acc.name.clone()).or_default();
        e.keytab = acc.keytab.clone();
        e.last_attempt = Some(now);
        e.server = r.server.clone().or_else(|| summary.server.clone());
        // The configuration this attempt ran with, failed or not: a failure backs off until
        // the configuration changes again (not at every tick, each a failed logon when the
        // host key is wrong).
        e.fingerprint = state::fingerprint(cfg, acc);
        match &r.result {
            Ok(s) => {
                e.last_success = Some(now);
                e.principal = Some(s.principal.clone());
                e.kvno = Some(s.kvno);
                e.kvnos = s.kvnos.clone();
                e.epoch_end = Some(now + s.query_interval.as_secs());
                e.consecutive_failures = 0;
                e.last_error = None;
                e.last_exit = None;
                e.next_query = planned.unwrap_or(now);
                // A DC behind the keytab: the keytab keeps (and the state names) the newer
                // kvno; the plan above asks again soon.
                e.behind = r.behind.as_ref().map(|b| {
                    let (since, runs) = e
                        .behind
                        .as_ref()
                        .map_or((now, 0), |old| (old.since, old.runs));
                    state::BehindState {
                        server: b.server.clone(),
                        asked: b.asked.clone(),
                        dc_kvno: b.dc_kvno,
                        keytab_kvno: b.keytab_kvno,
                        since,
                        runs: runs.saturating_add(1),
                    }
                });
                if let Some(b) = &e.behind {
                    e.kvno = Some(b.keytab_kvno);
                    if let Some(k) = state::kvnos_in(&acc.keytab, &s.principal) {
                        e.kvnos = k;
                    }
                }
                log::debug(
                    "next query planned",
                    &[
                        ("account", &acc.name),
                        ("at", &rfc3339(e.next_query as i64)),
                    ],
                );
                if s.changed && !acc.on_change.is_empty() {
                    hooks::run_all(
                        &acc.on_change,
                        &acc.name,
                        &acc.keytab,
                        s.kvno,
                        cfg.hook_timeout,
                    );
                }
            }
            Err(err) => {
                e.consecutive_failures = e.consecutive_failures.saturating_add(1);
                e.errors_total = e.errors_total.saturating_add(1);
                e.last_error = Some(err.to_string());
                e.last_exit = Some(err.class().code());
                // A refused host key or access fails every account alike: one retry instant
                // for all of them (a host-wide jitter), so each retry costs one failed logon.
                let (backoff, jitter) = match err.class() {
                    Class::NoPerm => (Backoff::Rejected, jitter_fraction(host, "")),
                    _ => (Backoff::Transient, jitter),
                };
                e.next_query =
                    next_after_failure(now, e.consecutive_failures, jitter, &policy, backoff);
            }
        }
    }
    if let Err(e) = state::save(&state_path, &st) {
        log::error(
            &format!("cannot save the state: {e}; the next run queries the directory again"),
            &[],
        );
    }
    write_metrics(cfg, &st, now);
    Ok(Pass {
        results: summary
            .accounts
            .iter()
            .map(|r| (r.name.clone(), r.result.as_ref().err().map(Error::class)))
            .collect(),
        next_due: next_due(cfg, &st, now),
    })
}

/// How many runs in a row found the DC behind for `account`.
fn behind_runs(st: &state::State, account: &str) -> u32 {
    st.accounts
        .get(account)
        .and_then(|e| e.behind.as_ref())
        .map_or(0, |b| b.runs)
}

/// The earliest planned query or retry of a configured account; an account the state does not
/// know is due now.
fn next_due(cfg: &Config, st: &state::State, now: u64) -> Option<u64> {
    cfg.accounts
        .iter()
        .map(|a| st.accounts.get(&a.name).map_or(now, |e| e.next_query))
        .min()
}

fn write_metrics(cfg: &Config, st: &state::State, now: u64) {
    if let Some(path) = &cfg.metrics_file
        && let Err(e) = metrics::write(
            path,
            &metrics::render(cfg, st, &metrics::on_disk(cfg, st), now),
        )
    {
        log::warn(&format!("cannot write the metrics file: {e}"), &[]);
    }
}

/// One line per account. `planned[i]`: the next query the schedule planned for account i (the
/// ad-hoc form plans none).
pub fn report(summary: &sync::Summary, planned: &[Option<u64>], now: u64) {
    let server = summary.server.clone().unwrap_or_else(|| "-".into());
    for (i, r) in summary.accounts.iter().enumerate() {
        match &r.result {
            Ok(s) => {
                let rotation = now + s.query_interval.as_secs();
                let next = planned.get(i).copied().flatten();
                let next_at = next.map_or("-".to_string(), |t| rfc3339(t as i64));
                let next_in = next.map_or("-".to_string(), |t| t.saturating_sub(now).to_string());
                let kvnos: Vec<String> = s.kvnos.iter().map(|k| k.to_string()).collect();
                // A changed keytab is the event an admin looks for: notice, which the unit's
                // LogLevelMax=notice keeps; an unchanged one is routine (info).
                let level = if s.changed {
                    log::Level::Notice
                } else {
                    log::Level::Info
                };
                log::event(
                    level,
                    "account synced",
                    &[
                        ("account", &r.name),
                        ("keytab", &r.keytab.display()),
                        ("server", &r.server.as_deref().unwrap_or(&server)),
                        ("kvno", &kvnos.join(",")),
                        ("principals", &s.principals),
                        ("enctypes", &s.enctypes.join(",")),
                        ("outcome", &format!("{:?}", s.outcome).to_lowercase()),
                        ("changed", &s.changed),
                        ("next_query", &next_at),
                        ("next_query_in_s", &next_in),
                        ("rotation", &rfc3339(rotation as i64)),
                        ("rotation_in_s", &s.query_interval.as_secs()),
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
}

pub fn outcome(summary: &sync::Summary) -> Result<(), Error> {
    let failed = summary
        .accounts
        .iter()
        .filter(|r| r.result.is_err())
        .count();
    match summary.failure() {
        None => Ok(()),
        Some(class) => Err(Error::AccountsFailed {
            failed,
            total: summary.accounts.len(),
            class,
        }),
    }
}
