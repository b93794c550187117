//! The scheduled run (`run::scheduled::pass`, what `gmsa-keytab sync` does from the
//! configuration) through the `Directory` seam, against a recorded domain (tests/recorded/):
//! which accounts are due, the state transitions and backoff after each answer, and a farm of
//! hosts under the shipped timer's cadence through several rotations, never behind the KDC.
//! No DC, no root.

mod recorded;

use gmsa_keytab::config::Config;
use gmsa_keytab::exit::Class;
use gmsa_keytab::health::Health;
use gmsa_keytab::run::scheduled::{Pass, World, lingering_in, pass};
use gmsa_keytab::store::state::{self, AccountState};
use recorded::{Domain, Fault, Gmsa, Host};
use std::time::Duration;

const T0: u64 = 1_790_000_000;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

fn run(domain: &Domain, cfg: &Config, force: bool, now: u64, host: &[u8]) -> Pass {
    domain.now.set(now);
    pass(cfg, force, now, host, |o| domain.connect(o)).expect("a pass")
}

fn entry(cfg: &Config, account: &str) -> AccountState {
    let (st, warning) = state::load(&state::path(cfg));
    assert_eq!(warning, None);
    st.accounts.get(account).cloned().expect("a state entry")
}

/// Each configured account's health at `now`, as `status` judges it.
fn health(cfg: &Config, now: u64) -> Vec<Health> {
    let (st, _) = state::load(&state::path(cfg));
    cfg.accounts
        .iter()
        .map(|a| state::judge(cfg, &st, a, now).health)
        .collect()
}

/// One DC, svc_a$ and svc_b$ (30-day epochs from T0), their keytabs `a` and `b` on one host.
fn two_accounts() -> (Domain, Host, Config) {
    let domain = Domain::two_gmsas(&["dc1"], T0);
    let host = Host::new();
    let cfg = host.config(&["dc1"], &[("svc_a$", "a"), ("svc_b$", "b")], "");
    (domain, host, cfg)
}

fn classes(p: &Pass) -> Vec<Option<Class>> {
    p.results.iter().map(|r| r.1).collect()
}

#[test]
fn only_due_accounts_are_queried_and_a_pass_with_none_due_touches_no_dc() {
    let (domain, host, cfg) = two_accounts();
    let now = T0 + DAY;
    assert_eq!(
        health(&cfg, now),
        [Health::Stale, Health::Stale],
        "never synced"
    );
    let p = run(&domain, &cfg, false, now, b"h1");
    assert_eq!(classes(&p), [None, None]);
    assert_eq!(health(&cfg, now), [Health::Ok, Health::Ok]);
    let a = entry(&cfg, "svc_a$");
    assert_eq!((a.kvno, a.kvnos.clone()), (Some(1), vec![1]));
    assert_eq!(a.last_success, Some(now));
    assert_eq!(a.server.as_deref(), Some("dc1"));
    assert_eq!(a.epoch_end, Some(T0 + 30 * DAY));
    // The safety re-check: within the last 20 % of the default 12 hours.
    assert!(
        (now + 12 * HOUR * 8 / 10..=now + 12 * HOUR).contains(&a.next_query),
        "{}",
        a.next_query - now
    );
    assert_eq!(
        p.next_due,
        Some(a.next_query.min(entry(&cfg, "svc_b$").next_query))
    );
    domain.take_journal();

    // An hour later nothing is due: no connection at all.
    let p = run(&domain, &cfg, false, now + HOUR, b"h1");
    assert!(p.results.is_empty());
    assert!(domain.take_journal().is_empty());

    // No run for a long time: stale once the next query is overdue by more than
    // stale-minutes, not before.
    let stale_at = a.next_query + gmsa_keytab::defaults::STALE_AFTER.as_secs();
    assert_eq!(health(&cfg, stale_at)[0], Health::Ok);
    assert_eq!(health(&cfg, stale_at + 1)[0], Health::Stale);

    // A deleted keytab is stale at once, and due at once, alone.
    std::fs::remove_file(host.path("b")).unwrap();
    assert_eq!(health(&cfg, now + 2 * HOUR), [Health::Ok, Health::Stale]);
    let p = run(&domain, &cfg, false, now + 2 * HOUR, b"h1");
    assert_eq!(p.results, [("svc_b$".to_string(), None)]);
    assert_eq!(domain.count("fetch"), 1);
    assert_eq!(host.assert_kdc_keys("b", domain.gmsa("svc_b$")), [1]);
    assert_eq!(health(&cfg, now + 2 * HOUR), [Health::Ok, Health::Ok]);

    // A changed configuration (here the salt probe, which decides the AES keys of a renamed
    // account) makes its accounts due; --force makes every account due.
    let changed = host.config(
        &["dc1"],
        &[("svc_a$", "a"), ("svc_b$", "b")],
        "salt-probe = false",
    );
    domain.take_journal();
    let p = run(&domain, &changed, false, now + 3 * HOUR, b"h1");
    assert_eq!(p.results.len(), 2);
    let p = run(&domain, &changed, true, now + 3 * HOUR + 1, b"h1");
    assert_eq!(p.results.len(), 2);
    assert_eq!(domain.count("connect"), 2);
}

#[test]
fn a_refused_host_key_backs_off_long_and_host_wide_a_dc_outage_briefly() {
    let (domain, host, cfg) = two_accounts();
    let mut now = T0 + DAY;
    run(&domain, &cfg, false, now, b"h1");
    let synced = std::fs::read(host.path("a")).unwrap();

    // The host key is refused (exit 77): one retry instant for every account, an hour or
    // more away, growing; each retry would be a failed logon.
    domain.dc("dc1").fault.set(Fault::RefusesHost);
    now = entry(&cfg, "svc_a$").next_query;
    let p = run(&domain, &cfg, true, now, b"h1");
    assert_eq!(classes(&p), [Some(Class::NoPerm), Some(Class::NoPerm)]);
    let (a, b) = (entry(&cfg, "svc_a$"), entry(&cfg, "svc_b$"));
    assert_eq!((a.consecutive_failures, a.last_exit), (1, Some(77)));
    assert_eq!(a.next_query, b.next_query, "host-wide");
    assert!(a.next_query >= now + HOUR, "{}", a.next_query - now);
    assert!(
        a.last_error
            .as_deref()
            .unwrap()
            .contains("re-join the host")
    );
    assert_eq!(
        std::fs::read(host.path("a")).unwrap(),
        synced,
        "keytab untouched"
    );
    let first_gap = a.next_query - now;

    // Not due before then, even with the keytab gone (stale): no failed logon per tick.
    std::fs::remove_file(host.path("b")).unwrap();
    assert_eq!(health(&cfg, now), [Health::Warning, Health::Stale]);
    domain.take_journal();
    let p = run(&domain, &cfg, false, a.next_query - 1, b"h1");
    assert!(p.results.is_empty());
    assert_eq!(domain.count("connect"), 0);
    now = a.next_query;
    run(&domain, &cfg, false, now, b"h1");
    let a = entry(&cfg, "svc_a$");
    assert_eq!(a.consecutive_failures, 2);
    assert!(a.next_query - now > first_gap, "the backoff grows");

    // Fixed, and a DC outage instead: a transient backoff, a minute first.
    domain.dc("dc1").fault.set(Fault::Unreachable);
    now = a.next_query;
    let p = run(&domain, &cfg, false, now, b"h1");
    assert_eq!(classes(&p), [Some(Class::TempFail), Some(Class::TempFail)]);
    let a = entry(&cfg, "svc_a$");
    assert_eq!((a.consecutive_failures, a.last_exit), (3, Some(75)));
    assert!(a.next_query - now <= 15 * 60, "{}", a.next_query - now);

    // The DC is back: success resets the failures and writes the missing keytab.
    domain.dc("dc1").fault.set(Fault::None);
    now = a.next_query.max(entry(&cfg, "svc_b$").next_query);
    let p = run(&domain, &cfg, false, now, b"h1");
    assert_eq!(classes(&p), [None, None]);
    let b = entry(&cfg, "svc_b$");
    assert_eq!(
        (b.consecutive_failures, b.last_error, b.last_exit),
        (0, None, None)
    );
    assert_eq!(b.errors_total, 3);
    assert_eq!(host.assert_kdc_keys("b", domain.gmsa("svc_b$")), [1]);
    assert_eq!(health(&cfg, now), [Health::Ok, Health::Ok]);
}

#[test]
fn a_denied_account_fails_alone_and_the_others_keep_their_schedule() {
    let (domain, host, cfg) = two_accounts();
    domain.gmsa("svc_b$").readable.set(false);
    let now = T0 + DAY;
    let p = run(&domain, &cfg, false, now, b"h1");
    assert_eq!(classes(&p), [None, Some(Class::NoPerm)]);
    let (a, b) = (entry(&cfg, "svc_a$"), entry(&cfg, "svc_b$"));
    assert_eq!(a.consecutive_failures, 0);
    assert_eq!(b.consecutive_failures, 1);
    assert!(
        b.last_error
            .as_deref()
            .unwrap()
            .contains("PrincipalsAllowedToRetrieveManagedPassword")
    );
    assert!(host.path("a").exists() && !host.path("b").exists());
    // Never synced: stale (status exits 2), while the other is fine.
    assert_eq!(health(&cfg, now), [Health::Ok, Health::Stale]);
    // The admin grants access; the next run after the backoff writes it.
    domain.gmsa("svc_b$").readable.set(true);
    let p = run(&domain, &cfg, false, b.next_query, b"h1");
    assert_eq!(p.results, [("svc_b$".to_string(), None)]);
    assert_eq!(host.assert_kdc_keys("b", domain.gmsa("svc_b$")), [1]);
}

#[test]
fn a_dc_behind_is_asked_again_soon_and_the_state_keeps_the_newer_kvno() {
    let domain = Domain::new(&["dc1"], vec![Gmsa::new("svc_a$", T0, 30 * DAY, 1)], T0);
    let host = Host::new();
    let cfg = host.config(&["dc1"], &[("svc_a$", "a")], "");
    let now = T0 + 31 * DAY;
    run(&domain, &cfg, false, now, b"h1");
    assert_eq!(entry(&cfg, "svc_a$").kvno, Some(2));
    // The only DC is restored from a backup of before the rollover.
    domain.dc("dc1").lag.set(2 * DAY);
    let p = run(&domain, &cfg, true, now + 60, b"h1");
    assert_eq!(classes(&p), [None]);
    let e = entry(&cfg, "svc_a$");
    let behind = e.behind.clone().expect("behind");
    assert_eq!((behind.dc_kvno, behind.keytab_kvno, behind.runs), (1, 2, 1));
    assert_eq!(e.kvno, Some(2), "the state names the keytab's kvno");
    assert_eq!(
        health(&cfg, now + 60),
        [Health::Warning],
        "a DC behind is a warning"
    );
    let mut kvnos = e.kvnos.clone();
    kvnos.sort_unstable();
    assert_eq!(kvnos, [1, 2]);
    // Asked again within minutes, not at the 12-hour re-check.
    assert!(e.next_query <= now + 60 + 10 * 60, "{}", e.next_query - now);
    let p = run(&domain, &cfg, false, e.next_query, b"h1");
    assert_eq!(classes(&p), [None]);
    let e2 = entry(&cfg, "svc_a$");
    assert_eq!(e2.behind.as_ref().map(|b| b.runs), Some(2));
    assert!(
        e2.next_query - e.next_query > e.next_query - (now + 60),
        "it backs off"
    );
    // Caught up: the behind state clears.
    domain.dc("dc1").lag.set(0);
    run(&domain, &cfg, false, e2.next_query, b"h1");
    assert_eq!(entry(&cfg, "svc_a$").behind, None);
    assert_eq!(health(&cfg, e2.next_query), [Health::Ok]);
    assert_eq!(host.assert_kdc_keys("a", domain.gmsa("svc_a$")), [1, 2]);
}

/// The shipped timer (a tick every two hours, OnUnitActiveSec=2h, with a fixed per-host
/// delay) starting `gmsa-keytab sync --linger 130`: the real lingering run, on a simulated
/// clock. Whenever the clock moves (the run sleeps, or no run is active) the keytab cannot
/// change, so it must hold the KDC's active kvno at both ends of that stretch. `off`: (host,
/// from, until) when a host is powered off (its ticks are lost). Returns each host's DC reads.
fn farm_run(
    domain: &Domain,
    hosts: &[(Host, std::path::PathBuf, Vec<u8>, u64)],
    from: u64,
    until: u64,
    off: &[(usize, u64, u64)],
) -> Vec<usize> {
    let mut reads = vec![0; hosts.len()];
    for (h, (host, cfg, id, delay)) in hosts.iter().enumerate() {
        domain.take_journal();
        let holds_active = |a: u64, b: u64| {
            for g in &domain.accounts {
                let kvnos = host.kvnos(&g.sam, &format!("{}@EXAMPLE.TEST", g.sam));
                for t in [a, b.saturating_sub(1).max(a)] {
                    assert!(
                        kvnos.contains(&g.kvno_at(t)),
                        "host {h} {} at {t}: keytab {kvnos:?}, KDC kvno {}",
                        g.sam,
                        g.kvno_at(t)
                    );
                }
            }
        };
        let now = || domain.now.get();
        let sleep = |d: Duration| {
            let t = domain.now.get();
            holds_active(t, t + d.as_secs());
            domain.now.set(t + d.as_secs());
        };
        let connect = |o: &gmsa_keytab::directory::ClientOptions| domain.connect(o);
        let world = World {
            now: &now,
            sleep: &sleep,
            connect: &connect,
            host: id,
        };
        let mut tick = from + delay;
        let mut last_end: Option<u64> = None;
        while tick < until {
            if off
                .iter()
                .any(|(i, a, b)| *i == h && (*a..*b).contains(&tick))
            {
                last_end = None;
                tick += 2 * HOUR;
                continue;
            }
            if let Some(end) = last_end {
                holds_active(end, tick);
            }
            domain.now.set(tick);
            lingering_in(cfg, false, tick, Duration::from_secs(130 * 60), &world)
                .expect("every pass succeeds");
            for g in &domain.accounts {
                host.assert_kdc_keys(&g.sam, g);
            }
            let end = domain.now.get();
            let loaded = gmsa_keytab::config::load(cfg).unwrap();
            assert!(
                health(&loaded, end).iter().all(|h| *h == Health::Ok),
                "host {h} at {end}"
            );
            last_end = Some(end);
            // A tick while the run still lingers starts nothing; the next one after it does.
            tick = (tick + 2 * HOUR).max(end + 1);
        }
        reads[h] = domain.count("fetch");
    }
    reads
}

#[test]
fn a_farm_under_the_shipped_timer_never_falls_behind_the_kdc() {
    // Two gMSAs with 2-day epochs (four rotations each in the run), three always-on hosts
    // and a fourth that is off through the first rotation.
    let domain = Domain::new(
        &["dc1"],
        vec![
            Gmsa::new("svc_web$", T0, 2 * DAY, 1),
            Gmsa::new("svc_db$", T0 - 7 * HOUR - 13, 2 * DAY, 2),
        ],
        T0,
    );
    let accounts = [("svc_web$", "svc_web$"), ("svc_db$", "svc_db$")];
    let hosts: Vec<(Host, std::path::PathBuf, Vec<u8>, u64)> = (0..4)
        .map(|i| {
            let host = Host::new();
            let path = host.config_file(&["dc1"], &accounts, "");
            (
                host,
                path,
                format!("host{i}").into_bytes(),
                37 * i as u64 + 11,
            )
        })
        .collect();
    let from = T0 + HOUR;
    let until = T0 + 8 * DAY;
    let first_rollover = T0 + 2 * DAY;
    let off = [(3, first_rollover - 3 * HOUR, first_rollover + 3 * HOUR)];
    let reads = farm_run(&domain, &hosts, from, until, &off);
    let days = (until - from) as f64 / DAY as f64;
    for (h, r) in reads.iter().enumerate() {
        let per_day = *r as f64 / days / 2.0;
        eprintln!("host {h}: {r} DC reads, {per_day:.2} per gMSA per day");
        // The re-check every 12 h, the read in each rotation window, the confirmation after
        // each rollover: about 3-4 per day with a rotation every other day.
        assert!(
            per_day <= 4.5,
            "host {h}: {per_day:.2} reads per gMSA per day"
        );
    }
    // At the end (the last minutes of svc_web$'s fourth epoch) each host holds the active
    // kvno, and the next one when the DC already hands it out.
    for (host, path, _, _) in &hosts {
        let cfg = gmsa_keytab::config::load(path).unwrap();
        let cfg = &cfg;
        for g in &domain.accounts {
            let active = g.kvno_at(until - 1);
            let kvnos = host.assert_kdc_keys(&g.sam, g);
            assert!(kvnos.contains(&active), "{kvnos:?}");
            let said = entry(cfg, &g.sam).kvno.unwrap();
            assert!(said == active || said == active + 1, "{said} {active}");
            assert_eq!(kvnos.last(), Some(&said));
        }
    }
}

#[test]
fn hooks_run_only_when_an_accounts_keys_change_and_metrics_follow_each_pass() {
    let (domain, host, _) = two_accounts();
    let log = host.path("hooks.log");
    let metrics = host.path("metrics.prom");
    let hook = format!(
        "on-change = [[\"/bin/sh\", \"-c\", \"echo $GMSA_KEYTAB_ACCOUNT $GMSA_KEYTAB_KVNO >> {}\"]]",
        log.display()
    );
    let cfg = host.config_tables(
        &["dc1"],
        &format!("metrics-file = {:?}", metrics.display().to_string()),
        &format!(
            "[[account]]\nname = \"svc_a$\"\nkeytab = {:?}\n{hook}\n\
             [[account]]\nname = \"svc_b$\"\nkeytab = {:?}\n",
            host.path("a").display().to_string(),
            host.path("b").display().to_string()
        ),
    );
    let hooks = || std::fs::read_to_string(&log).unwrap_or_default();
    let metric = |line: &str| std::fs::read_to_string(&metrics).unwrap().contains(line);
    let now = T0 + DAY;
    run(&domain, &cfg, false, now, b"h1");
    assert_eq!(hooks(), "svc_a$ 1\n");
    let key = |a: &str| {
        format!(
            "{{account=\"{a}\",keytab=\"{}\"}}",
            host.path(&a[4..5]).display()
        )
    };
    assert!(metric(&format!("gmsa_keytab_kvno{} 1\n", key("svc_a$"))));
    assert!(metric(&format!("gmsa_keytab_up{} 1\n", key("svc_b$"))));

    // Forced again: the same keys, no hook.
    run(&domain, &cfg, true, now + HOUR, b"h1");
    assert_eq!(hooks(), "svc_a$ 1\n");

    // svc_b$ denied: its metrics say so, svc_a$'s do not change; still no hook.
    domain.gmsa("svc_b$").readable.set(false);
    run(&domain, &cfg, true, now + 2 * HOUR, b"h1");
    assert!(metric(&format!("gmsa_keytab_up{} 0\n", key("svc_b$"))));
    assert!(metric(&format!(
        "gmsa_keytab_consecutive_failures{} 1\n",
        key("svc_b$")
    )));
    assert!(metric(&format!("gmsa_keytab_up{} 1\n", key("svc_a$"))));
    assert_eq!(hooks(), "svc_a$ 1\n");

    // In the last minutes of the epoch the next password arrives: the hook runs with kvno 2.
    let window = domain.gmsa("svc_a$").end_of(1) - 120;
    run(&domain, &cfg, false, window, b"h1");
    assert_eq!(hooks(), "svc_a$ 1\nsvc_a$ 2\n");
    assert!(metric(&format!("gmsa_keytab_kvno{} 2\n", key("svc_a$"))));
}
