//! User and group names to ids, on this host (NSS through nix): the one lookup a
//! configuration's `owner` and `group` need. A number is taken as the id itself.

use super::fsio::{FsError, Ownership};
use crate::config::{Account, Config};
use std::path::Path;

/// An account's owner and group as ids on this host (the configuration, in the core, holds
/// names; the lookup is I/O).
pub trait AccountIds {
    /// Owner and group resolved to ids on this host.
    fn ownership(&self) -> Result<Ownership, FsError>;
}

impl AccountIds for Account {
    fn ownership(&self) -> Result<Ownership, FsError> {
        Ok(Ownership {
            uid: self
                .owner
                .as_deref()
                .map(|u| resolve_user(u, &self.keytab))
                .transpose()?,
            gid: self
                .group
                .as_deref()
                .map(|g| resolve_group(g, &self.keytab))
                .transpose()?,
            mode: self.mode,
        })
    }
}

/// Every owner and group of a configuration, checked on this host.
pub trait ConfigIds {
    /// Checks that every owner and group exists on this host.
    fn resolve_ids(&self) -> Result<(), FsError>;
}

impl ConfigIds for Config {
    fn resolve_ids(&self) -> Result<(), FsError> {
        self.accounts
            .iter()
            .try_for_each(|a| a.ownership().map(|_| ()))
    }
}

/// Resolves a user name or numeric uid.
pub fn resolve_user(spec: &str, path: &Path) -> Result<u32, FsError> {
    // u32::MAX is (uid_t)-1: chown's "no change". Never a real user.
    if let Ok(n) = spec.parse::<u32>()
        && n != u32::MAX
    {
        return Ok(n);
    }
    match nix::unistd::User::from_name(spec) {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        _ => Err(FsError::UnknownId {
            path: path.to_path_buf(),
            what: "user",
            name: spec.to_string(),
        }),
    }
}

/// Resolves a group name or numeric gid.
pub fn resolve_group(spec: &str, path: &Path) -> Result<u32, FsError> {
    if let Ok(n) = spec.parse::<u32>()
        && n != u32::MAX
    {
        return Ok(n);
    }
    match nix::unistd::Group::from_name(spec) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(FsError::UnknownId {
            path: path.to_path_buf(),
            what: "group",
            name: spec.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Class;

    #[test]
    fn names_resolve() {
        let p = Path::new("/x");
        assert_eq!(resolve_user("root", p).unwrap(), 0);
        assert_eq!(resolve_user("123", p).unwrap(), 123);
        assert_eq!(resolve_group("root", p).unwrap(), 0);
        let e = resolve_user("no-such-user-gmsa", p).unwrap_err();
        assert_eq!(e.class(), Class::Config);
    }
}
