//! When to ask a DC again. Pure: every instant is a parameter (seconds since the epoch).
//!
//! A gMSA password changes only at the end of its epoch, and in the last five minutes of an
//! epoch the DC already hands out the next password (reference §1, §7). So after a successful
//! read the next query is planned inside that window, to hold the next keys before the KDC
//! starts issuing tickets under them, or earlier for the periodic safety re-check. Failures back
//! off exponentially (transient ones up to `retry_max`, a rejected host key or access up to
//! `recheck`). A per-host jitter spreads a farm's queries so the DCs are not hit all at once.

use std::time::Duration;

/// The DC hands out the next password this long before the epoch ends (MS-ADTS MaxClockSkew).
pub const ROLLOVER_WINDOW: Duration = Duration::from_secs(300);

/// First retry delay after a failure; doubled per consecutive failure.
pub const FIRST_RETRY: Duration = Duration::from_secs(60);

/// First retry delay after the KDC rejected this host's own key or the DC denied access: an
/// hour, doubled per consecutive failure up to `recheck`. Each attempt with a wrong host key is
/// one failed pre-authentication on the account; retried every few minutes it would lock out a
/// user principal used as the client (machine accounts only count `badPwdCount`).
pub const REJECTED_RETRY: Duration = Duration::from_secs(3600);

/// Which backoff a failure gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Network, DC or local trouble that may pass by itself: from [`FIRST_RETRY`] up to
    /// `retry_max`.
    Transient,
    /// The KDC rejected the host's key or account, or the DC denied access (exit 77): from
    /// [`REJECTED_RETRY`] up to `recheck`. Nothing changes until an operator acts, and
    /// retrying costs failed logons.
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Query at least this often even when the password cannot have changed (a manual reset,
    /// a changed SPN or enctype on the account).
    pub recheck: Duration,
    /// Backoff cap after failures (a lingering run retries within it).
    pub retry_max: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            recheck: crate::defaults::RECHECK,
            retry_max: crate::defaults::RETRY_MAX,
        }
    }
}

/// FNV-1a, 64 bit: a stable, dependency-free hash for jitter seeds and fingerprints (not for
/// anything an attacker chooses to collide).
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A stable fraction in [0, 1) for this host and account: the same every run, different across
/// hosts (FNV-1a over the host identity and the account name).
pub fn jitter_fraction(host_id: &[u8], account: &str) -> f64 {
    let seed = host_id.iter().copied().chain([0u8]).chain(account.bytes());
    let mut h = fnv1a(seed);
    // Finalizer (splitmix64) so that similar inputs spread over the whole range.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// The next query after a successful read at `now` that returned `query_interval` (time until
/// the epoch ends). `jitter` is [`jitter_fraction`].
pub fn next_after_success(now: u64, query_interval: Duration, jitter: f64, policy: &Policy) -> u64 {
    let jitter = jitter.clamp(0.0, 1.0);
    let window = secs(ROLLOVER_WINDOW);
    let epoch_end = now.saturating_add(secs(query_interval));
    // Safety re-check: somewhere in the last 20 % of the recheck interval.
    let recheck = secs(policy.recheck);
    let safety = now + recheck - (recheck as f64 * 0.2 * jitter) as u64;
    let rotation = if secs(query_interval) > window {
        // Inside the window, from 4.5 to 1.5 minutes before the end: the DC already serves
        // the next password, and the farm's hosts do not all ask in the same second.
        epoch_end - window + 30 + (180.0 * jitter) as u64
    } else {
        // Already in the window: the next keys are held. Confirm after the rollover.
        epoch_end + 60 + (120.0 * jitter) as u64
    };
    safety.min(rotation).max(now + 1)
}

/// First re-query after a DC reported an older kvno than the keytab holds; doubled per run
/// that still finds it behind, up to [`BEHIND_RETRY_MAX`]. Replication lag usually ends within
/// minutes; a DC restored from a backup may take longer, and the keytab stays valid meanwhile.
pub const BEHIND_RETRY: Duration = Duration::from_secs(300);
/// Longest wait between queries while a DC is behind.
pub const BEHIND_RETRY_MAX: Duration = Duration::from_secs(3600);

/// The next query after the `runs`-th run in a row (1 for the first) that found the DC behind
/// the keytab, when the normal plan after that read is `planned`: whichever comes first.
pub fn next_while_behind(now: u64, runs: u32, jitter: f64, planned: u64) -> u64 {
    let first = secs(BEHIND_RETRY);
    let cap = secs(BEHIND_RETRY_MAX);
    let exp = runs.saturating_sub(1).min(30);
    let delay = first.saturating_mul(1u64 << exp).min(cap);
    let delay = (delay + (delay as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as u64).min(cap);
    planned.min(now + delay).max(now + 1)
}

/// The next attempt after `failures` consecutive failures (1 for the first) of kind `backoff`.
pub fn next_after_failure(
    now: u64,
    failures: u32,
    jitter: f64,
    policy: &Policy,
    backoff: Backoff,
) -> u64 {
    let (first, cap) = match backoff {
        Backoff::Transient => (secs(FIRST_RETRY), secs(policy.retry_max).max(1)),
        // At least an hour, at most the recheck interval (never below the hour).
        Backoff::Rejected => {
            let first = secs(REJECTED_RETRY);
            (first, secs(policy.recheck).max(first))
        }
    };
    let exp = failures.saturating_sub(1).min(30);
    let delay = first.saturating_mul(1u64 << exp).min(cap);
    // Up to 10 % jitter, still never past the cap.
    let delay = (delay + (delay as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as u64).min(cap);
    now + delay.max(1)
}

/// The shipped timer's longest gap between two ticks: `OnUnitActiveSec=2h` plus the fixed
/// `RandomizedDelaySec=5min` plus `AccuracySec=1min` (systemd/gmsa-keytab.timer).
pub const TIMER_MAX_GAP: Duration = Duration::from_secs((120 + 5 + 1) * 60);

/// `sync --linger` for the shipped units: the timer's longest gap plus a margin of four
/// minutes for a slow pass and a late start.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(130 * 60);

/// Longest single sleep while lingering: the wall clock is read again after each, so a
/// suspend or a clock step never makes a run sleep past its due instant by more than this.
pub const SLEEP_CHUNK: Duration = Duration::from_secs(20);

/// Whether a run that started at `started` stays for its next due instant `next_due` (the
/// earliest planned query or retry of any configured account), and until when. It stays when
/// that instant falls before `started + linger`: the timer's next tick cannot be relied on
/// before then (the unit is busy while the run lasts, and the tick after it comes at most
/// [`TIMER_MAX_GAP`] after the start). Later instants are left to a later tick, whose run
/// decides the same way, so every instant is covered while `linger` >= the timer's longest
/// gap, and one run never lasts much longer than `linger`. `None`: exit now.
pub fn stay_until(started: u64, now: u64, next_due: Option<u64>, linger: Duration) -> Option<u64> {
    let due = next_due?;
    (due < started.saturating_add(secs(linger))).then_some(due.max(now))
}

/// How long to sleep before reading the clock again while waiting for `until`.
pub fn sleep_chunk(now: u64, until: u64) -> Duration {
    Duration::from_secs(until.saturating_sub(now)).min(SLEEP_CHUNK)
}

/// Whether this run may linger: not when systemd started it without a timer
/// (`INVOCATION_ID` set, `TRIGGER_UNIT` unset): `systemctl start` by hand or from Ansible then
/// returns after one pass, with that pass's result. Outside systemd (cron, a shell) `--linger`
/// applies as given.
pub fn linger_allowed(invocation_id: bool, trigger_unit: bool) -> bool {
    trigger_unit || !invocation_id
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    const NOW: u64 = 1_800_000_000;

    #[test]
    fn far_from_rotation_the_safety_recheck_rules() {
        let p = Policy::default();
        for j in [0.0, 0.5, 0.999] {
            let next = next_after_success(NOW, Duration::from_secs(20 * DAY), j, &p);
            assert!(
                next > NOW + 9 * 3600 && next <= NOW + 12 * 3600,
                "{j}: {}",
                next - NOW
            );
        }
        // About 2 queries a day.
        let next = next_after_success(NOW, Duration::from_secs(20 * DAY), 0.5, &p);
        assert_eq!(DAY / (next - NOW), 2);
    }

    #[test]
    fn near_rotation_the_query_lands_in_the_last_five_minutes() {
        let p = Policy::default();
        let q = Duration::from_secs(3 * 3600);
        for j in [0.0, 0.3, 0.999] {
            let next = next_after_success(NOW, q, j, &p);
            let end = NOW + 3 * 3600;
            assert!(
                next > end - 300 && next < end,
                "{j}: {} s before the end",
                end - next
            );
        }
    }

    #[test]
    fn inside_the_window_the_next_check_follows_the_rollover() {
        let p = Policy::default();
        let next = next_after_success(NOW, Duration::from_secs(120), 0.5, &p);
        assert!(next > NOW + 120 && next <= NOW + 120 + 180);
        // And a zero interval (exactly at the end) still moves forward.
        assert!(next_after_success(NOW, Duration::ZERO, 0.0, &p) > NOW);
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_timer_interval() {
        let p = Policy::default();
        let d: Vec<u64> = (1..=8)
            .map(|n| next_after_failure(NOW, n, 0.0, &p, Backoff::Transient) - NOW)
            .collect();
        assert_eq!(d, [60, 120, 240, 480, 900, 900, 900, 900]);
        assert!(next_after_failure(NOW, u32::MAX, 0.99, &p, Backoff::Transient) - NOW <= 900);
        let j = next_after_failure(NOW, 1, 0.99, &p, Backoff::Transient) - NOW;
        assert!((60..=66).contains(&j));
    }

    #[test]
    fn rejected_keys_back_off_from_an_hour_to_the_recheck_interval() {
        let p = Policy::default();
        let d: Vec<u64> = (1..=6)
            .map(|n| next_after_failure(NOW, n, 0.0, &p, Backoff::Rejected) - NOW)
            .collect();
        assert_eq!(d, [3600, 7200, 14_400, 28_800, 43_200, 43_200]);
        for n in [1, 2, 9, u32::MAX] {
            for j in [0.0, 0.5, 0.999] {
                let d = next_after_failure(NOW, n, j, &p, Backoff::Rejected) - NOW;
                assert!((3600..=43_200).contains(&d), "{n} {j}: {d}");
            }
        }
        // recheck-hours = 1: an hour, never less.
        let short = Policy {
            recheck: Duration::from_secs(3600),
            ..p
        };
        assert_eq!(
            next_after_failure(NOW, 5, 0.9, &short, Backoff::Rejected) - NOW,
            3600
        );
        // Failed logons per day from a host whose key is wrong, with every retry on time:
        // 0, 1, 3, 7 and 15 h on the first day, then every 12 h.
        let (mut t, mut n, mut first_day) = (NOW, 0u32, 0);
        while t < NOW + DAY {
            first_day += 1;
            n += 1;
            t = next_after_failure(t, n, 0.0, &p, Backoff::Rejected);
        }
        assert_eq!(first_day, 5);
    }

    #[test]
    fn a_dc_that_is_behind_is_asked_again_within_the_hour() {
        let far = NOW + 10 * DAY;
        let d: Vec<u64> = (1..=6)
            .map(|n| next_while_behind(NOW, n, 0.0, far) - NOW)
            .collect();
        assert_eq!(d, [300, 600, 1200, 2400, 3600, 3600]);
        assert!(next_while_behind(NOW, u32::MAX, 0.99, far) - NOW <= 3600);
        // Never later than the normal plan (e.g. the rotation window).
        assert_eq!(next_while_behind(NOW, 1, 0.0, NOW + 100), NOW + 100);
        assert_eq!(next_while_behind(NOW, 1, 0.0, NOW), NOW + 1);
        // Queries on a day the DC stays behind: 5 in the first 75 minutes, then hourly.
        let (mut t, mut n, mut count) = (NOW, 0u32, 0);
        while t < NOW + DAY {
            count += 1;
            n += 1;
            t = next_while_behind(t, n, 0.0, far);
        }
        assert_eq!(count, 27);
    }

    #[test]
    fn jitter_is_stable_per_host_and_spread_across_hosts() {
        let a = jitter_fraction(b"host-a", "svc_web$");
        assert_eq!(a, jitter_fraction(b"host-a", "svc_web$"));
        assert_ne!(a, jitter_fraction(b"host-b", "svc_web$"));
        assert_ne!(a, jitter_fraction(b"host-a", "svc_db$"));
        // 1000 hosts cover the range evenly enough: every tenth gets some.
        let mut buckets = [0u32; 10];
        for i in 0..1000 {
            let f = jitter_fraction(format!("host{i}").as_bytes(), "svc_web$");
            assert!((0.0..1.0).contains(&f));
            buckets[(f * 10.0) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|b| (50..=150).contains(b)),
            "{buckets:?}"
        );
    }
}

#[cfg(test)]
#[path = "schedule_sim.rs"]
mod sim;
