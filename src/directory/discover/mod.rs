//! Which domain controllers to try, in which order: an explicit list, or DNS SRV records
//! (`_ldap._tcp[.<site>._sites].dc._msdcs.<domain>`) ordered per RFC 2782.
//!
//! Pure submodules, each one concern, tested without a network: [`names`] (host and site names,
//! `host[:port]`), [`srv`] (the SRV names and their RFC 2782 order, randomness passed in),
//! [`resolv_conf`] (the resolver settings, text passed in) and [`dns`] (the wire format). The
//! [`resolver`] alone does I/O: sockets, `/etc/resolv.conf`, the OS random generator.

pub mod dns;
pub mod names;
pub mod resolv_conf;
pub mod resolver;
pub mod srv;

pub use names::{Candidate, check_host_name, check_site, parse_server};
pub use resolv_conf::{ResolvConf, parse_resolv_conf};
pub use resolver::{discover, os_random_upto, query_srv, system_resolv_conf};
pub use srv::{append_candidates, order_srv, srv_names};
