//! Which domain controllers to try, in which order: an explicit list, or DNS SRV records
//! (`_ldap._tcp[.<site>._sites].dc._msdcs.<domain>`) ordered per RFC 2782.
//!
//! The pure rules are gmsa-core's, each one concern, tested without a network: [`dns`] (the wire
//! format), [`srv`] (the SRV names and their RFC 2782 order, randomness passed in) and
//! [`resolv_conf`] (the resolver settings, text passed in), re-exported here; [`names`] gives
//! the core's DC-name rules this module's error. The [`resolver`] alone does I/O: sockets,
//! `/etc/resolv.conf`, the OS random generator.

pub use gmsa_core::dns;
pub use gmsa_core::dns::{resolv_conf, srv};
pub mod names;
pub mod resolver;

pub use names::{Candidate, check_host_name, check_site, parse_server};
pub use resolv_conf::{ResolvConf, parse_resolv_conf};
pub use resolver::{discover, os_random_upto, query_srv, system_resolv_conf};
pub use srv::{append_candidates, order_srv, srv_names};
