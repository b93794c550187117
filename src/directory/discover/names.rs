//! DC names as the configuration and DNS give them: host names, AD site names, `host[:port]`.
//! The rules are the core's ([`crate::dc_name`], pure, shared with the configuration parser);
//! here their reasons become [`DirectoryError::BadOption`].

use crate::dc_name;
use crate::directory::error::DirectoryError;

pub use dc_name::Candidate;

/// A DC host name: letters, digits, '-', '_' and dots, no IP literal.
pub fn check_host_name(host: &str) -> Result<(), DirectoryError> {
    dc_name::check_host_name(host).map_err(DirectoryError::BadOption)
}

/// An AD site name as it appears in DNS: one label.
pub fn check_site(site: &str) -> Result<(), DirectoryError> {
    dc_name::check_site(site).map_err(DirectoryError::BadOption)
}

/// `host` or `host:port` from the configuration.
pub fn parse_server(spec: &str, default_port: u16) -> Result<Candidate, DirectoryError> {
    dc_name::parse_server(spec, default_port).map_err(DirectoryError::BadOption)
}
