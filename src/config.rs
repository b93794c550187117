//! The configuration file: reading and trusting it. What it says, and its parsing, rendering
//! and defaults, are the core's (`gmsa_core::config`, re-exported here); resolving its user and
//! group names is `store::ids`.

pub use gmsa_core::config::{
    Account, Config, ConfigError, DirectoryOptions, Protection, Spns, parse, parse_id, parse_mode,
};
use std::path::Path;

pub mod trust;

/// Reads and validates a configuration file. Run as root, the file and its hook programs must
/// also be trusted ([`trust`]): root-owned and not writable by group or others.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let cfg = load_untrusted(path)?;
    if nix::unistd::geteuid().is_root() {
        trust::check(&cfg)?;
    }
    Ok(cfg)
}

/// Reads and validates a configuration file, without the ownership checks.
pub fn load_untrusted(path: &Path) -> Result<Config, ConfigError> {
    use crate::store::fsio::bounded::{self, ReadError};
    let bytes = bounded::read_file(path, bounded::MAX_CONFIG).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        // "file" (66) when it cannot be read; a file that is there but unusable is 78.
        key: match e {
            ReadError::Io(_) => "file",
            _ => "size",
        }
        .into(),
        message: format!("cannot read it: {e}"),
    })?;
    let src = std::str::from_utf8(&bytes).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        key: "syntax".into(),
        message: format!("not UTF-8 text: {e}"),
    })?;
    parse(path, src)
}

#[cfg(test)]
mod tests;
