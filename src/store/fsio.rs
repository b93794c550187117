//! Durable, atomic keytab replacement.
//!
//! A keytab is never written in place: the new content goes to a temp file in the same
//! directory, created `O_EXCL` with mode 0600, given its owner, group and mode before any key
//! byte lands, fsynced, renamed over the target, and the directory is fsynced. A crash leaves
//! either the old file or the new one, never a torn one. Writers of one keytab are serialized
//! by `flock` on `<keytab>.lock`.

use nix::fcntl::{Flock, FlockArg};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

use crate::exit::Class;

pub mod bounded;

/// Owner, group and mode wanted for a keytab. `None` keeps the existing file's owner/group
/// (or, for a new file, what the kernel gives it: the caller's uid and the directory's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: u32,
}

impl Default for Ownership {
    fn default() -> Self {
        Ownership {
            uid: None,
            gid: None,
            mode: 0o600,
        }
    }
}

/// What a store did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Replaced,
    /// Same content: not written. Owner/group/mode were already right.
    Unchanged,
    /// Same content: not written, but owner, group or mode were corrected in place.
    MetadataFixed,
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error(
        "{}: refusing to write through a symbolic link; point the configuration at the real file",
        path.display()
    )]
    Symlink { path: PathBuf },
    #[error(
        "{}: exists but is a {kind}, not a regular file; remove it or choose another path",
        path.display()
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{}: not a file path (it names no file)", path.display())]
    NoFileName { path: PathBuf },
    #[error(
        "{}: {size} bytes is over the {} MiB a keytab may have; it was left untouched. Inspect it \
         with `klist -k`, then move it aside",
        path.display(), bounded::MAX_KEYTAB / (1024 * 1024)
    )]
    TooLarge { path: PathBuf, size: u64 },
    #[error(
        "{}: the new keytab is already in place (renamed over the old one), but the fsync of \
         its directory {} failed: {source}. Services see the new keys now, but after a crash or \
         power loss the directory may still show the old file: check the file system and \
         its storage (dmesg, df), then run again (an unchanged keytab is not rewritten)",
        path.display(), dir.display()
    )]
    DirSyncAfterRename {
        path: PathBuf,
        dir: PathBuf,
        source: io::Error,
    },
    #[error("{path}: the directory does not exist; create it (e.g. install -d -m 0755 DIR) first")]
    NoDirectory { path: PathBuf },
    #[error("{path}: permission denied while {doing}: {source}")]
    Permission {
        path: PathBuf,
        doing: &'static str,
        source: io::Error,
    },
    #[error("{path}: {doing} failed: {source}")]
    Io {
        path: PathBuf,
        doing: &'static str,
        source: io::Error,
    },
    #[error(
        "{path}: another process has held the lock {lock} for {waited:?}; is another gmsa-keytab stuck?"
    )]
    LockTimeout {
        path: PathBuf,
        lock: PathBuf,
        waited: Duration,
    },
    #[error("{path}: {what} {name:?} is unknown on this host")]
    UnknownId {
        path: PathBuf,
        what: &'static str,
        name: String,
    },
}

impl FsError {
    pub fn class(&self) -> Class {
        match self {
            FsError::Permission { .. } => Class::NoPerm,
            FsError::LockTimeout { .. } => Class::TempFail,
            FsError::UnknownId { .. } => Class::Config,
            FsError::NoFileName { .. } => Class::Usage,
            FsError::TooLarge { .. } => Class::BadKeytab,
            _ => Class::CantCreate,
        }
    }
}

fn io_err<'a>(path: &'a Path, doing: &'static str) -> impl FnOnce(io::Error) -> FsError + 'a {
    move |source| {
        if source.kind() == io::ErrorKind::PermissionDenied {
            FsError::Permission {
                path: path.to_path_buf(),
                doing,
                source,
            }
        } else {
            FsError::Io {
                path: path.to_path_buf(),
                doing,
                source,
            }
        }
    }
}

/// The current state of the target file, read under the lock.
struct Existing {
    bytes: Zeroizing<Vec<u8>>,
    file: File,
    uid: u32,
    gid: u32,
    mode: u32,
}

/// An exclusive hold on one keytab path: the lock, and the content it had when taken.
pub struct Locked {
    path: PathBuf,
    dir: PathBuf,
    name: OsString,
    existing: Option<Existing>,
    _lock: Flock<File>,
}

/// Directory and file name of a keytab path. Names need not be UTF-8.
fn split(path: &Path) -> Result<(PathBuf, OsString), FsError> {
    let name = path
        .file_name()
        .ok_or_else(|| FsError::NoFileName {
            path: path.to_path_buf(),
        })?
        .to_os_string();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// Checks, before anything runs, that a keytab path names a file (`/`, `..` and `dir/` do not).
pub fn check_target_name(path: &Path) -> Result<(), FsError> {
    let ends_in_slash = path.as_os_str().as_bytes().ends_with(b"/");
    if ends_in_slash || path.file_name().is_none() {
        return Err(FsError::NoFileName {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn with_suffix(name: &OsStr, prefix: &str, suffix: &str) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(name);
    s.push(suffix);
    s
}

fn temp_prefix(name: &OsStr) -> OsString {
    with_suffix(name, ".", ".gmsa-keytab-tmp.")
}

/// The target may be missing or a regular file; a symlink, FIFO, socket, device or directory
/// there is refused before anything (the lock file included) is created.
fn check_target(path: &Path) -> Result<(), FsError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, "inspecting the keytab")(e)),
        Ok(m) if m.file_type().is_symlink() => Err(FsError::Symlink {
            path: path.to_path_buf(),
        }),
        Ok(m) if !m.file_type().is_file() => Err(FsError::NotRegular {
            path: path.to_path_buf(),
            kind: bounded::kind_of(m.file_type()),
        }),
        Ok(_) => Ok(()),
    }
}

/// Opens (creating if needed) the lock file. `O_NONBLOCK`: a FIFO there fails at once
/// (ENXIO, no reader) instead of blocking the open; `O_NOFOLLOW`: a symlink is refused; the
/// opened file must be a regular file.
fn open_lock(lock_path: &Path) -> Result<File, FsError> {
    if let Ok(m) = fs::symlink_metadata(lock_path)
        && !m.file_type().is_file()
    {
        return Err(FsError::NotRegular {
            path: lock_path.to_path_buf(),
            kind: bounded::kind_of(m.file_type()),
        });
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(
            libc_flags::O_NOFOLLOW
                | libc_flags::O_CLOEXEC
                | libc_flags::O_NONBLOCK
                | libc_flags::O_NOCTTY,
        )
        .open(lock_path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc_flags::ELOOP) => FsError::Symlink {
                path: lock_path.to_path_buf(),
            },
            Some(libc_flags::ENXIO) => FsError::NotRegular {
                path: lock_path.to_path_buf(),
                kind: "FIFO (named pipe)",
            },
            _ => io_err(lock_path, "opening the lock file")(e),
        })?;
    let meta = file
        .metadata()
        .map_err(io_err(lock_path, "inspecting the lock file"))?;
    if !meta.file_type().is_file() {
        return Err(FsError::NotRegular {
            path: lock_path.to_path_buf(),
            kind: bounded::kind_of(meta.file_type()),
        });
    }
    Ok(file)
}

/// Takes the writer lock for `path` (waiting up to `wait`), removes temp files a crashed
/// writer left, and reads the current content without following a symlink. The target is
/// checked first, so nothing is created next to a path that cannot be a keytab.
pub fn lock(path: &Path, wait: Duration) -> Result<Locked, FsError> {
    let (dir, name) = split(path)?;
    if !dir.is_dir() {
        return Err(FsError::NoDirectory { path: dir });
    }
    check_target(path)?;
    let lock_path = dir.join(with_suffix(&name, "", ".lock"));
    let lock_file = open_lock(&lock_path)?;
    let start = Instant::now();
    let mut file = lock_file;
    let lock = loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => break l,
            Err((f, nix::errno::Errno::EWOULDBLOCK)) if start.elapsed() < wait => {
                file = f;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(FsError::LockTimeout {
                    path: path.to_path_buf(),
                    lock: lock_path,
                    waited: start.elapsed(),
                });
            }
            Err((_, e)) => {
                return Err(io_err(&lock_path, "locking")(io::Error::from(e)));
            }
        }
    };
    remove_stale_temps(&dir, &name);
    let existing = read_existing(path)?;
    Ok(Locked {
        path: path.to_path_buf(),
        dir,
        name,
        existing,
        _lock: lock,
    })
}

/// Temp files of this keytab can only be left by a writer that died: we hold the lock.
fn remove_stale_temps(dir: &Path, name: &OsStr) {
    let prefix = temp_prefix(name);
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name().as_bytes().starts_with(prefix.as_bytes()) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

fn read_existing(path: &Path) -> Result<Option<Existing>, FsError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, "inspecting the keytab")(e)),
        Ok(m) if m.file_type().is_symlink() => {
            return Err(FsError::Symlink {
                path: path.to_path_buf(),
            });
        }
        Ok(m) if !m.file_type().is_file() => {
            return Err(FsError::NotRegular {
                path: path.to_path_buf(),
                kind: bounded::kind_of(m.file_type()),
            });
        }
        Ok(_) => {}
    }
    // O_NOFOLLOW closes the window between the check above and the open; O_NONBLOCK keeps a
    // FIFO swapped in meanwhile from blocking the open (fstat below refuses it).
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_CLOEXEC | libc_flags::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc_flags::ELOOP) => FsError::Symlink {
                path: path.to_path_buf(),
            },
            _ => io_err(path, "opening the keytab")(e),
        })?;
    let meta = file
        .metadata()
        .map_err(io_err(path, "inspecting the keytab"))?;
    if !meta.file_type().is_file() {
        return Err(FsError::NotRegular {
            path: path.to_path_buf(),
            kind: bounded::kind_of(meta.file_type()),
        });
    }
    if meta.len() > bounded::MAX_KEYTAB {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    // The file may grow after the fstat: the limit holds anyway.
    (&file)
        .take(bounded::MAX_KEYTAB + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(path, "reading the keytab"))?;
    if bytes.len() as u64 > bounded::MAX_KEYTAB {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
        });
    }
    Ok(Some(Existing {
        bytes,
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
        file,
    }))
}

impl Locked {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The target's content when the lock was taken; `None` if it did not exist.
    pub fn existing(&self) -> Option<&[u8]> {
        self.existing.as_ref().map(|e| e.bytes.as_slice())
    }

    /// Makes the target hold `content` with `own`. Identical content is never rewritten: the
    /// inode and mtime stay, and only wrong owner/group/mode are corrected in place.
    pub fn store(&mut self, content: &[u8], own: &Ownership) -> Result<Outcome, FsError> {
        if let Some(ex) = &self.existing
            && ex.bytes.as_slice() == content
        {
            return self.fix_metadata(own);
        }
        let uid = own.uid.or(self.existing.as_ref().map(|e| e.uid));
        let gid = own.gid.or(self.existing.as_ref().map(|e| e.gid));
        let (tmp_path, mut tmp) = self.create_temp()?;
        let result = (|| {
            // Owner and mode first: no key byte ever sits in a file others may open.
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::fchown(&tmp, uid, gid)
                    .map_err(io_err(&tmp_path, "setting owner and group"))?;
            }
            tmp.set_permissions(fs::Permissions::from_mode(own.mode))
                .map_err(io_err(&tmp_path, "setting the mode"))?;
            tmp.write_all(content)
                .map_err(io_err(&tmp_path, "writing"))?;
            tmp.sync_all().map_err(io_err(&tmp_path, "fsync"))?;
            fs::rename(&tmp_path, &self.path).map_err(io_err(&self.path, "renaming into place"))?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp_path);
            return Err(e);
        }
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| FsError::DirSyncAfterRename {
                path: self.path.clone(),
                dir: self.dir.clone(),
                source,
            })?;
        let created = self.existing.is_none();
        let meta = tmp.metadata().map_err(io_err(&self.path, "inspecting"))?;
        self.existing = Some(Existing {
            bytes: Zeroizing::new(content.to_vec()),
            file: tmp,
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
        });
        Ok(if created {
            Outcome::Created
        } else {
            Outcome::Replaced
        })
    }

    fn create_temp(&self) -> Result<(PathBuf, File), FsError> {
        let prefix = temp_prefix(&self.name);
        for attempt in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let mut leaf = prefix.clone();
            leaf.push(format!("{}.{nanos:x}{attempt}", std::process::id()));
            let p = self.dir.join(leaf);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_CLOEXEC)
                .open(&p)
            {
                Ok(f) => return Ok((p, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&self.dir, "creating a temp file")(e)),
            }
        }
        Err(FsError::Io {
            path: self.dir.clone(),
            doing: "creating a temp file",
            source: io::Error::from(io::ErrorKind::AlreadyExists),
        })
    }

    fn fix_metadata(&mut self, own: &Ownership) -> Result<Outcome, FsError> {
        let Some(ex) = self.existing.as_mut() else {
            return Ok(Outcome::Unchanged);
        };
        let mut fixed = false;
        let want_uid = own.uid.filter(|u| *u != ex.uid);
        let want_gid = own.gid.filter(|g| *g != ex.gid);
        if want_uid.is_some() || want_gid.is_some() {
            std::os::unix::fs::fchown(&ex.file, want_uid, want_gid)
                .map_err(io_err(&self.path, "setting owner and group"))?;
            fixed = true;
        }
        // chown may clear set-id bits, so the mode is checked after it.
        let mode = ex
            .file
            .metadata()
            .map_err(io_err(&self.path, "inspecting"))?
            .mode()
            & 0o7777;
        if mode != own.mode {
            ex.file
                .set_permissions(fs::Permissions::from_mode(own.mode))
                .map_err(io_err(&self.path, "setting the mode"))?;
            fixed = true;
        }
        if fixed {
            let meta = ex
                .file
                .metadata()
                .map_err(io_err(&self.path, "inspecting"))?;
            (ex.uid, ex.gid, ex.mode) = (meta.uid(), meta.gid(), meta.mode() & 0o7777);
            ex.file.sync_all().map_err(io_err(&self.path, "fsync"))?;
            return Ok(Outcome::MetadataFixed);
        }
        Ok(Outcome::Unchanged)
    }
}

/// The few libc constants needed, via nix so no direct libc dependency is added.
mod libc_flags {
    pub const O_NOFOLLOW: i32 = nix::fcntl::OFlag::O_NOFOLLOW.bits();
    pub const O_CLOEXEC: i32 = nix::fcntl::OFlag::O_CLOEXEC.bits();
    pub const O_NONBLOCK: i32 = nix::fcntl::OFlag::O_NONBLOCK.bits();
    pub const O_NOCTTY: i32 = nix::fcntl::OFlag::O_NOCTTY.bits();
    pub const ELOOP: i32 = nix::errno::Errno::ELOOP as i32;
    pub const ENXIO: i32 = nix::errno::Errno::ENXIO as i32;
}

#[cfg(test)]
mod tests;
