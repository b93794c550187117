//! Descriptors this process inherited: marked close-on-exec, so a hook never receives an open
//! file (a keytab, a socket, a lock) that whoever started gmsa-keytab left open. Every
//! descriptor Rust's standard library and this crate open is close-on-exec already.

use std::os::fd::RawFd;

/// Sets `FD_CLOEXEC` on every open descriptor from 3 up. Returns how many were changed.
/// Call at start, before any other thread exists, so no descriptor can be closed meanwhile.
pub fn cloexec_inherited() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let fds: Vec<RawFd> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .filter(|fd| *fd > 2)
        .collect();
    let mut changed = 0;
    for fd in fds {
        // SAFETY: fcntl(F_GETFD) on an integer descriptor reads flags only; on a descriptor
        // that is not open (the directory's own, closed by now) it fails with EBADF.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 || flags & libc::FD_CLOEXEC != 0 {
            continue;
        }
        // SAFETY: as above; F_SETFD changes only the close-on-exec flag of that descriptor.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } == 0 {
            changed += 1;
        }
    }
    changed
}
