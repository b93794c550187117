//! The schedule and the linger decision simulated against the shipped timer, at every instant:
//! a host whose timer ticks at any phase, with any fixed delay and any jitter, holds the next
//! keys (a read inside the last five minutes) before the epoch ends. Pure: time is a number.

use super::*;

const DAY: u64 = 86_400;
const EPOCH: u64 = 30 * DAY;
const WINDOW: u64 = 300;
/// An epoch end well inside u64 and 2026.
const END: u64 = 1_800_000_000;

/// The shipped timer (OnUnitActiveSec=2h): ticks `INTERVAL + delay` after the previous run
/// started (the delay is fixed per host), or at once when that run lasted longer; `accuracy`
/// late at worst.
const INTERVAL: u64 = 7200;

#[derive(Clone, Copy)]
struct Host {
    delay: u64,
    accuracy: u64,
    jitter: f64,
    linger: Duration,
}

/// Time until the epoch that is running at `t` ends (the DC's QueryPasswordInterval). Epochs
/// end at END + k * EPOCH.
fn query_interval(t: u64) -> Duration {
    let k = (t + EPOCH - END) / EPOCH; // the epoch whose end is the first one after t
    Duration::from_secs(END + k * EPOCH - t)
}

struct Run {
    started: u64,
    exited: u64,
    reads: Vec<u64>,
}

/// One activation of the service at `t`: a pass, then the linger loop. `next_query` is the
/// state file's.
fn activation(h: &Host, t: u64, next_query: &mut u64) -> Run {
    let p = Policy::default();
    let mut reads = Vec::new();
    let mut now = t;
    loop {
        if *next_query <= now {
            reads.push(now);
            *next_query = next_after_success(now, query_interval(now), h.jitter, &p);
        }
        match stay_until(t, now, Some(*next_query), h.linger) {
            Some(at) => now = at,
            None => break,
        }
    }
    Run {
        started: t,
        exited: now,
        reads,
    }
}

/// Every read a host makes from its first tick `first` until `until`, the longest run, and the
/// runs' count. `next_query` starts as planned by an earlier read.
fn simulate(h: &Host, first: u64, until: u64, mut next_query: u64) -> (Vec<u64>, u64, usize) {
    let (mut t, mut reads, mut longest, mut runs) = (first, Vec::new(), 0, 0);
    while t < until {
        let r = activation(h, t, &mut next_query);
        longest = longest.max(r.exited - r.started);
        runs += 1;
        reads.extend(r.reads);
        t = (r.started + INTERVAL + h.delay).max(r.exited) + h.accuracy;
    }
    (reads, longest, runs)
}

fn holds_next_keys(reads: &[u64], end: u64) -> bool {
    reads.iter().any(|&r| r >= end - WINDOW && r < end)
}

fn hosts() -> Vec<Host> {
    let mut v = Vec::new();
    for delay in [0, 1, 150, 299] {
        for accuracy in [0, 60] {
            for jitter in [0.0, 0.37, 0.999] {
                v.push(Host {
                    delay,
                    accuracy,
                    jitter,
                    linger: DEFAULT_LINGER,
                });
            }
        }
    }
    v
}

#[test]
fn every_timer_phase_holds_the_next_keys_before_the_epoch_ends() {
    // The host's last read was two days before the end; its ticks then fall at every phase
    // (every second of the longest period) relative to the epoch end.
    for h in hosts() {
        let period = INTERVAL + h.delay + h.accuracy;
        let start = END - 2 * DAY;
        let planned =
            next_after_success(start, query_interval(start), h.jitter, &Policy::default());
        for phase in 0..period {
            let (reads, longest, _) = simulate(&h, start + phase, END + 3600, planned);
            assert!(
                holds_next_keys(&reads, END),
                "delay {} accuracy {} jitter {} phase {phase}: reads at {:?} s from the end",
                h.delay,
                h.accuracy,
                h.jitter,
                reads
                    .iter()
                    .map(|&r| r as i64 - END as i64)
                    .collect::<Vec<_>>()
            );
            // A run never lasts much beyond the linger (plus the post-rollover check).
            assert!(
                longest <= secs(DEFAULT_LINGER),
                "phase {phase}: {longest} s"
            );
        }
    }
}

#[test]
fn a_host_booted_at_any_instant_of_the_epoch_holds_the_next_keys() {
    // First tick (no state: a read at once) at every 10 minutes of the epoch, and at every
    // second of its last half hour.
    let instants = (END - EPOCH + 1..END - 1800)
        .step_by(600)
        .chain(END - 1800..END - WINDOW);
    for boot in instants {
        for h in [hosts()[0], hosts()[23]] {
            let (reads, _, _) = simulate(&h, boot, END + 600, boot);
            assert!(
                holds_next_keys(&reads, END),
                "boot {} s before the end",
                END - boot
            );
        }
    }
}

#[test]
fn without_linger_most_phases_miss_the_window() {
    // The control: the shipped timer alone (no linger) leaves the gap the linger closes.
    let mut missed = 0;
    let h = Host {
        linger: Duration::ZERO,
        ..hosts()[0]
    };
    let start = END - 2 * DAY;
    let planned = next_after_success(start, query_interval(start), h.jitter, &Policy::default());
    for phase in 0..INTERVAL {
        let (reads, _, _) = simulate(&h, start + phase, END + 3600, planned);
        missed += usize::from(!holds_next_keys(&reads, END));
    }
    assert!(missed > INTERVAL as usize / 2, "{missed} of {INTERVAL}");
}

#[test]
fn a_host_off_through_the_window_catches_up_at_its_first_tick() {
    let h = hosts()[5];
    let start = END - 2 * DAY;
    let mut next = next_after_success(start, query_interval(start), h.jitter, &Policy::default());
    // Its last run before going off planned the read inside the window ...
    let r = activation(&h, END - 6 * 3600, &mut next);
    assert!(r.exited == r.started && (END - WINDOW..END).contains(&next));
    // ... it boots an hour after the end: the first tick reads.
    let boot_tick = END + 3600 + 60 + h.delay;
    let r = activation(&h, boot_tick, &mut next);
    assert_eq!(r.reads, [boot_tick]);
}

#[test]
// A test's own report of its figures (shown with --nocapture), not output of the core.
#[allow(clippy::disallowed_macros)]
fn dc_queries_per_day_over_a_whole_epoch() {
    // One read at the start of an epoch, then the shipped timer for the 30 days up to the
    // next end and the day after it. Reads per day on average and in the worst 24 hours.
    for h in hosts() {
        let start = END - EPOCH;
        let planned =
            next_after_success(start, query_interval(start), h.jitter, &Policy::default());
        let (reads, _, runs) = simulate(&h, start + 1, END + DAY, planned);
        let days = (END + DAY - start) as f64 / DAY as f64;
        let avg = reads.len() as f64 / days;
        let worst = reads
            .iter()
            .map(|&r| reads.iter().filter(|&&x| x >= r && x < r + DAY).count())
            .max()
            .unwrap();
        eprintln!(
            "delay {} accuracy {} jitter {}: {avg:.2} reads/day, worst 24 h {worst}, {:.1} activations/day",
            h.delay,
            h.accuracy,
            h.jitter,
            runs as f64 / days
        );
        assert!(avg <= 2.6, "{avg}");
        assert!(worst <= 4, "{worst}");
        // Activations per day: the timer's, the lingering runs do not add any.
        assert!(runs as f64 / days <= 12.1, "{}", runs as f64 / days);
    }
}

#[test]
fn stay_until_decides_by_the_start_of_the_run() {
    let l = DEFAULT_LINGER;
    let t = END;
    assert_eq!(stay_until(t, t, None, l), None);
    assert_eq!(stay_until(t, t, Some(t + 60), l), Some(t + 60));
    assert_eq!(stay_until(t, t, Some(t + 7799), l), Some(t + 7799));
    assert_eq!(stay_until(t, t, Some(t + 7800), l), None);
    // Overdue: at once (the pass runs immediately).
    assert_eq!(stay_until(t, t + 100, Some(t + 50), l), Some(t + 100));
    // Later in the run the horizon does not move: a run lasts about `linger` at most.
    assert_eq!(stay_until(t, t + 7700, Some(t + 7900), l), None);
    assert_eq!(stay_until(t, t, Some(t + 10), Duration::ZERO), None);
    assert_eq!(sleep_chunk(t, t + 3), Duration::from_secs(3));
    assert_eq!(sleep_chunk(t, t + 3000), SLEEP_CHUNK);
    assert_eq!(sleep_chunk(t + 5, t), Duration::ZERO);
    assert!(linger_allowed(true, true));
    assert!(linger_allowed(false, false));
    assert!(!linger_allowed(true, false));
    assert!(secs(TIMER_MAX_GAP) < secs(DEFAULT_LINGER));
}
