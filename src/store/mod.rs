//! What the daemon keeps on disk. Each file is written atomically and durably by [`fsio`]
//! (temp file, fsync, rename, directory fsync), with the owner and group [`ids`] resolves:
//!
//! - [`keytab_file`]: one keytab file: lock, read, plan (gmsa-core), store;
//! - [`state`]: the state file (`state.json`): when to ask next and what the last run found;
//! - [`metrics`]: the Prometheus textfile.

pub mod fsio;
pub mod ids;
pub mod keytab_file;
pub mod metrics;
pub mod state;
