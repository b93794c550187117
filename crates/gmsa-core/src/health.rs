//! The health rule: whether an account is fine, worth a look, or stale, from its state entry,
//! whether its keytab on disk lacks the current keys, and `stale-minutes`. `status` (its exit
//! code and each account's line) judges with it. Pure: `now` is a parameter.

use crate::state::AccountState;
use std::time::Duration;

/// Health of one account, worst last (so the worst of several is their `max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Ok,
    /// The last attempt failed (not yet stale), or the DCs asked are behind the keytab.
    Warning,
    /// Never synced, the keytab on disk is missing or lacks the current kvno, or the next
    /// query is overdue by more than `stale_after`.
    Stale,
}

/// The health of an account at `now`: `entry` is its state (`None`: never synced),
/// `keytab_problem` whether its keytab on disk is missing or lacks the current kvno
/// (`state::keytab_problem`).
pub fn judge(
    entry: Option<&AccountState>,
    keytab_problem: bool,
    stale_after: Duration,
    now: u64,
) -> Health {
    match entry {
        _ if keytab_problem => Health::Stale,
        None => Health::Stale,
        Some(e) if e.last_success.is_none() => Health::Stale,
        Some(e) if now > e.next_query.saturating_add(stale_after.as_secs()) => Health::Stale,
        Some(e) if e.consecutive_failures > 0 || e.behind.is_some() => Health::Warning,
        Some(_) => Health::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::BehindState;

    const STALE: Duration = Duration::from_secs(3600);

    fn synced() -> AccountState {
        AccountState {
            next_query: 10_000,
            last_success: Some(5_000),
            ..AccountState::default()
        }
    }

    #[test]
    fn stale_only_after_next_query_plus_stale_after() {
        let e = synced();
        let edge = 10_000 + 3600;
        assert_eq!(judge(Some(&e), false, STALE, 0), Health::Ok);
        assert_eq!(judge(Some(&e), false, STALE, 10_000), Health::Ok);
        // Exactly next_query + stale_after is still within the allowance; a second later is not.
        assert_eq!(judge(Some(&e), false, STALE, edge), Health::Ok);
        assert_eq!(judge(Some(&e), false, STALE, edge + 1), Health::Stale);
        // A failing account goes from warning to stale at the same instant.
        let failing = AccountState {
            consecutive_failures: 3,
            ..e.clone()
        };
        assert_eq!(judge(Some(&failing), false, STALE, edge), Health::Warning);
        assert_eq!(judge(Some(&failing), false, STALE, edge + 1), Health::Stale);
        // No overflow at the end of time.
        let far = AccountState {
            next_query: u64::MAX,
            ..e
        };
        assert_eq!(judge(Some(&far), false, STALE, u64::MAX), Health::Ok);
    }

    #[test]
    fn failures_and_a_dc_behind_are_warnings() {
        let failing = AccountState {
            consecutive_failures: 1,
            ..synced()
        };
        assert_eq!(judge(Some(&failing), false, STALE, 0), Health::Warning);
        let behind = AccountState {
            behind: Some(BehindState::default()),
            ..synced()
        };
        assert_eq!(judge(Some(&behind), false, STALE, 0), Health::Warning);
    }

    #[test]
    fn never_succeeded_or_a_keytab_problem_is_stale() {
        assert_eq!(judge(None, false, STALE, 0), Health::Stale);
        let never = AccountState {
            last_success: None,
            ..synced()
        };
        assert_eq!(judge(Some(&never), false, STALE, 0), Health::Stale);
        // The keytab on disk decides even when the state file says all is well.
        assert_eq!(judge(Some(&synced()), true, STALE, 0), Health::Stale);
        assert_eq!(judge(None, true, STALE, 0), Health::Stale);
    }

    #[test]
    fn the_worst_is_the_max() {
        assert!(Health::Ok < Health::Warning && Health::Warning < Health::Stale);
        let all = [Health::Warning, Health::Ok, Health::Stale, Health::Ok];
        assert_eq!(all.into_iter().max(), Some(Health::Stale));
    }
}
