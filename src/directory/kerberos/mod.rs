//! Kerberos with the chosen DC, as this host: which principal of the host keytab to use
//! ([`client`]), the AS and TGS exchanges carried to that DC's own KDC ([`kdc`], libkrb5 via
//! `crate::sys`), the KDC's clock as a KRB-ERROR states it ([`kdc_time`], gmsa-core's), and the salt
//! probe and ticket check of the key confirmation (`kdc_check`). `kdc` and `kdc_check` do the
//! I/O; `kdc_classify` (what a failure means) and `kdc_frame` (the TCP framing) are their pure
//! halves, beside the core's [`kdc_time`].

pub mod client;
pub(super) mod kdc;
pub(super) mod kdc_check;
pub(super) mod kdc_classify;
pub(super) mod kdc_frame;
pub use gmsa_core::kdc_time;
pub use kdc_check::KdcAskError;
