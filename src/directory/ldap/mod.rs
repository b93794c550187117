//! LDAP with the chosen DC: the connection (TCP, TLS or the sealed relay, SASL GSSAPI bind and
//! the confidentiality proof: `connect`) and the searches ([`search`]: rootDSE, the gMSA and its
//! kvno). Those two do the I/O; their pure halves sit beside them: `classify` (what a failure
//! means), `channel_binding` (the certificate check), `entry` (search entries from BER) and
//! [`syntax`] (filter escaping, account names, realms, AD integers). [`driver`] runs ldap3's
//! connection task and keeps why it ended, for the message of the request that failed with it.

pub(super) mod channel_binding;
pub(super) mod classify;
pub(super) mod connect;
pub mod driver;
pub(super) mod entry;
pub mod search;
pub mod syntax;
