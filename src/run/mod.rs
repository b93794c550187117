//! Running the job:
//!
//! - [`sync`]: one sync over a set of accounts: read each from a DC, derive and plan the keys,
//!   write each keytab once;
//! - [`scheduled`]: the scheduled run `gmsa-keytab sync` does from the configuration: which
//!   accounts are due, state transitions and backoff, metrics, lingering for the next query;
//! - [`hooks`]: the on-change hooks; [`notify`]: systemd readiness.

pub mod hooks;
pub mod notify;
pub mod scheduled;
pub mod sync;

/// Seconds since the epoch: the one clock reading of a command, passed down as a parameter.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the epoch as a keytab entry timestamp (a u32 until 2106).
pub fn keytab_time(now: u64) -> u32 {
    u32::try_from(now).unwrap_or(u32::MAX)
}
