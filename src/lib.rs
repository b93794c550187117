//! gmsa-keytab: keeps Kerberos keytabs for Active Directory group Managed Service Accounts.
//!
//! Pure layers (no I/O, time passed in): [`blob`], [`crypto`], [`enctype`], [`keytab`], [`plan`].
//! I/O layers: [`fsio`] (durable atomic keytab writes), [`directory`] (LDAP + Kerberos).
#![deny(unsafe_code)]

pub mod account;
pub mod blob;
pub mod blobfile;
pub mod cli;
pub mod config;
pub mod confirm;
pub mod crypto;
pub mod directory;
pub mod doctor;
pub mod enctype;
pub mod error;
pub mod exit;
pub mod fsio;
pub mod hooks;
pub mod keytab;
pub mod krbmsg;
pub mod log;
pub mod metrics;
pub mod notify;
pub mod plan;
pub mod schedule;
pub mod secret;
pub mod state;
pub mod sync;
pub mod sys;
pub mod timefmt;
pub mod update;
