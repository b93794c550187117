//! LDAP with the chosen DC: the connection (TCP, TLS or the sealed relay, SASL GSSAPI bind and
//! the confidentiality proof: `connect`) and the searches ([`search`]: rootDSE, the gMSA and its
//! kvno).

pub(super) mod connect;
pub mod search;
