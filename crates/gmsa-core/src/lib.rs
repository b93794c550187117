//! gmsa-keytab's pure core: everything that turns bytes into bytes and instants into decisions.
//!
//! - [`blob`], [`blobfile`]: the `msDS-ManagedPassword` blob and the ways users hand it over;
//! - [`crypto`], [`enctype`]: RFC 3961/3962 key derivation and the encryption types;
//! - [`keytab`]: the keytab file format (parse and serialize, not the file);
//! - [`krbmsg`], [`confirm`]: the few Kerberos messages the key check reads and writes (the salt
//!   probe, its reply, a ticket), and what they say about the keys (the decryption passed in);
//!   [`kdc_time`]: the KDC's clock as a KRB-ERROR states it;
//! - [`account`], [`plan`]: principals for an account and the keytab a sync should leave;
//!   [`client_identity`]: which principal of the host keytab this host authenticates as;
//! - [`schedule`], [`timefmt`]: when to ask a DC again, and time as text;
//! - [`secret`]: zeroizing holders for key material;
//! - [`config`], [`defaults`], [`options`], [`dc_name`]: the configuration file's text and
//!   meaning, every default once, how the directory is reached, DC host names;
//! - [`dns`]: finding the DCs: the SRV query and answer, RFC 2782 order, `resolv.conf`;
//! - [`state`], [`health`]: the state file's model and rules (due, backoff, what a keytab
//!   lacks), and whether an account is ok, worth a warning or stale;
//! - [`exit`]: the exit code of each class of failure.
//!
//! No file, network, process, environment or clock access (clippy.toml beside Cargo.toml lists
//! the forbidden calls; `tests/core-lint.sh` proves the list bites) and no `unsafe`
//! (`[workspace.lints]` forbids it). Every instant is a parameter.
#![forbid(unsafe_code)]

pub mod account;
pub mod blob;
pub mod blobfile;
pub mod client_identity;
pub mod config;
pub mod confirm;
pub mod crypto;
pub mod dc_name;
pub mod defaults;
pub mod dns;
pub mod enctype;
pub mod exit;
pub mod health;
pub mod kdc_time;
pub mod keytab;
pub mod krbmsg;
pub mod options;
pub mod plan;
pub mod schedule;
pub mod secret;
pub mod state;
pub mod timefmt;

#[cfg(test)]
mod testdata;
