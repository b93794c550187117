//! User and group names to ids, on this host (NSS through nix): the one lookup a
//! configuration's `owner` and `group` need. A number is taken as the id itself.

use super::fsio::FsError;
use std::path::Path;

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
