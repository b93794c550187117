//! gmsa-keytab: keeps Kerberos keytabs for Active Directory group Managed Service Accounts.
//!
//! Pure layers (no I/O, time passed in): [`blob`], [`crypto`], [`enctype`], [`keytab`], [`plan`].
//! I/O layers: [`fsio`] (durable atomic keytab writes), [`directory`] (LDAP + Kerberos).
#![deny(unsafe_code)]

pub mod blob;
pub mod crypto;
pub mod enctype;
pub mod exit;
pub mod fsio;
pub mod keytab;
pub mod plan;
pub mod secret;
