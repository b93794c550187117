//! Trust in the configuration when running as root: the file holds argv lists that root runs,
//! so whoever can change it, or a hook program, owns the host. As sudo does for sudoers and
//! OpenSSH for its files, the configuration file, every hook program and every directory on
//! their paths must belong to root and must not be writable by group or others.
//!
//! One exception, as in OpenSSH's `safe_path`: a directory with the sticky bit (such as `/tmp`)
//! may be world-writable, because others cannot rename or remove the root-owned entry inside it
//! (that entry is checked in turn). A file others could have planted there would not belong to
//! root, and is refused.

use super::{Config, ConfigError};
use crate::run::hooks::HOOK_PATH;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Checks one path whose content root will trust: the file (after symlinks) and every
/// directory on the way to it, for the given path and for its resolved one.
pub fn check_path(path: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut chain: Vec<PathBuf> = real.ancestors().map(Path::to_path_buf).collect();
    // The directories of the path as written (a symlink there is replaced by whoever can
    // write its directory).
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(real_parent) = std::fs::canonicalize(parent)
    {
        chain.extend(real_parent.ancestors().map(Path::to_path_buf));
    }
    for p in chain {
        let m = std::fs::metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mode = m.mode() & 0o7777;
        if m.uid() != 0 {
            return Err(format!(
                "{} belongs to uid {}, not root; run `chown root {}` (or move the file to a \
                 root-owned directory)",
                p.display(),
                m.uid(),
                p.display()
            ));
        }
        let sticky_dir = m.is_dir() && mode & 0o1000 != 0;
        if mode & 0o022 != 0 && !sticky_dir {
            return Err(format!(
                "{} is writable by {} (mode {mode:04o}); run `chmod go-w {}`",
                p.display(),
                if mode & 0o002 != 0 {
                    "everyone"
                } else {
                    "its group"
                },
                p.display()
            ));
        }
    }
    Ok(())
}

/// Where a hook's program is found: as written when it has a `/`, else the first match in
/// the `PATH` hooks run with. `None`: not found (the hook fails to start and is logged).
pub fn hook_program(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Some(PathBuf::from(prog));
    }
    HOOK_PATH
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

/// The trust checks for a loaded configuration (call only when running as root).
pub fn check(cfg: &Config) -> Result<(), ConfigError> {
    let fail = |key: &str, message: String| ConfigError {
        path: cfg.path.clone(),
        line: None,
        key: key.into(),
        message,
    };
    check_path(&cfg.path).map_err(|m| {
        fail(
            "trust",
            format!("the configuration is not safe to run as root: {m}"),
        )
    })?;
    for acc in &cfg.accounts {
        for argv in &acc.on_change {
            let Some(prog) = argv.first().and_then(|p| hook_program(p)) else {
                continue;
            };
            if !prog.exists() {
                continue;
            }
            check_path(&prog).map_err(|m| {
                fail(
                    "on-change",
                    format!(
                        "account {}: hook program {} is not safe to run as root: {m}",
                        acc.name,
                        prog.display()
                    ),
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    #[test]
    fn system_programs_are_trusted() {
        assert!(check_path(Path::new("/usr/bin/env")).is_ok());
        assert_eq!(hook_program("sh").map(|p| p.is_file()), Some(true));
        assert_eq!(hook_program("no-such-program-gmsa"), None);
    }

    #[test]
    fn writable_files_and_directories_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config.toml");
        fs::write(&f, "x").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        if !is_root() {
            // Not root-owned at all: refused with the chown fix.
            assert!(check_path(&f).unwrap_err().contains("chown root"));
            return;
        }
        // A tempdir is root 0700 inside the sticky /tmp: accepted.
        assert!(check_path(&f).is_ok(), "{:?}", check_path(&f));
        fs::set_permissions(&f, fs::Permissions::from_mode(0o664)).unwrap();
        let e = check_path(&f).unwrap_err();
        assert!(e.contains("its group") && e.contains("chmod go-w"), "{e}");
        fs::set_permissions(&f, fs::Permissions::from_mode(0o646)).unwrap();
        assert!(check_path(&f).unwrap_err().contains("everyone"));
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        // A world-writable directory without the sticky bit.
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_path(&f).unwrap_err().contains("everyone"));
        // With the sticky bit it is accepted, as /tmp is.
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(check_path(&f).is_ok());
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
        // Not owned by root.
        nix::unistd::chown(&f, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        assert!(check_path(&f).unwrap_err().contains("uid 65534"));
        // A symlink to an untrusted file is judged by its target.
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(check_path(&link).is_err());
    }
}
