//! Kerberos with the chosen DC, as this host: which principal of the host keytab to use
//! ([`client`]), the AS and TGS exchanges carried to that DC's own KDC ([`kdc`], libkrb5 via
//! `crate::sys`), the KDC's clock as a KRB-ERROR states it ([`kdc_time`], pure), and the salt
//! probe and ticket check of the key confirmation (`kdc_check`).

pub mod client;
pub(super) mod kdc;
pub(super) mod kdc_check;
pub mod kdc_time;
