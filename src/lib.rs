//! gmsa-keytab: keeps Kerberos keytabs for Active Directory group Managed Service Accounts.
//!
//! The daemon. The pure layers (no I/O, time passed in) live in the `gmsa-core` crate and the
//! FFI in `gmsa-sys`; both are re-exported here under their old paths (`gmsa_keytab::blob`,
//! `crate::sys`, ...) so callers, tests and fuzz targets did not change. The daemon's layers
//! follow the data path: [`directory`] (DC discovery, Kerberos, LDAP, the seal), [`store`] (the
//! files it keeps), [`run`] (the sync, the scheduled run, hooks), [`cli`] (arguments and
//! dispatch). See ARCHITECTURE.md.
#![forbid(unsafe_code)]

pub use gmsa_core::{
    account, blob, blobfile, confirm, crypto, dc_name, defaults, enctype, exit, health, keytab,
    krbmsg, options, plan, schedule, secret, state, timefmt,
};
pub use gmsa_sys as sys;

pub mod cli;
pub mod config;
pub mod directory;
pub mod doctor;
pub mod error;
pub mod log;
pub mod run;
pub mod store;
