//! The SASL GSSAPI security layer's guard ([`guard`]): a relay between ldap3 and the socket that
//! checks every message after the bind is sealed (RFC 4752 confidentiality), and closes the
//! link otherwise. `guard` does the I/O; [`token`] (SASL buffers, wrap tokens) and `direction`
//! (one direction's state machine) are its pure halves.

pub(super) mod direction;
pub mod guard;
pub mod token;
