//! The SASL GSSAPI security layer's guard ([`guard`]): a relay between ldap3 and the socket that
//! checks every message after the bind is sealed (RFC 4752 confidentiality), and closes the
//! link otherwise.

pub mod guard;
