//! Bounded reads of outside input: every file or stream this tool reads whole has a size limit,
//! and a stream that stays silent has a time limit. Nothing here blocks on a FIFO, a socket or a
//! device opened by mistake, and nothing grows past its limit plus one read.

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Largest blob input: the real attribute is about 1 KB (548 bytes raw, ~740 as base64), and
/// a whole LDIF entry around it stays far below this.
pub const MAX_BLOB_INPUT: u64 = 64 * 1024;
/// Largest keytab read: a keytab of 16 MiB would hold over 100,000 entries.
pub const MAX_KEYTAB: u64 = 16 * 1024 * 1024;
/// Largest configuration file.
pub const MAX_CONFIG: u64 = 1024 * 1024;
/// How long a stream (standard input, a pipe) may stay silent before the read gives up.
pub const STREAM_IDLE: Duration = Duration::from_secs(10);

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("it is a {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than the {} limit", human(*limit))]
    TooLarge { limit: u64 },
    #[error("no data arrived for {}s; pass the input as a file, or pipe it in", .0.as_secs())]
    Idle(Duration),
}

impl ReadError {
    /// A missing file, as opposed to one that exists but is unusable.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }

    pub fn is_permission(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::PermissionDenied)
    }
}

fn human(n: u64) -> String {
    if n >= 1024 * 1024 && n % (1024 * 1024) == 0 {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n % 1024 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n}-byte")
    }
}

/// What a non-regular file is, for messages.
pub fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO (named pipe)"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// Opens without blocking: a FIFO with no writer, or a device, must not stall the open.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY).bits())
        .open(path)
}

/// Reads a regular file of at most `limit` bytes. Anything else (FIFO, socket, device,
/// directory) is refused before a byte is read.
pub fn read_file(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    read_to_limit(file, limit, meta.len() as usize)
}

/// Reads at most `limit` bytes (one more proves the input too long). The file may grow while
/// it is read; the limit holds anyway.
fn read_to_limit(file: File, limit: u64, hint: usize) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let mut buf = Zeroizing::new(Vec::with_capacity(hint.min(limit as usize) + 1));
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(buf)
}

/// Reads a file that may also be a pipe or a character device (`<(command)`, `/dev/stdin`):
/// regular files as [`read_file`], streams as [`read_stream`]. Directories and sockets are
/// refused.
pub fn read_file_or_stream(
    path: &Path,
    limit: u64,
    idle: Duration,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    let ft = meta.file_type();
    if ft.is_file() {
        if meta.len() > limit {
            return Err(ReadError::TooLarge { limit });
        }
        return read_to_limit(file, limit, meta.len() as usize);
    }
    if ft.is_fifo() || ft.is_char_device() {
        return read_stream(file, limit, idle);
    }
    Err(ReadError::NotRegular(kind_of(ft)))
}

/// Reads a stream to its end, at most `limit` bytes, giving up when no byte arrives for `idle`.
/// Works on blocking descriptors (standard input is shared with the parent and is not switched
/// to non-blocking) as well as non-blocking ones: every read follows a poll that said readable.
pub fn read_stream<R: Read + AsFd>(
    mut input: R,
    limit: u64,
    idle: Duration,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let mut buf = Zeroizing::new(Vec::new());
    let mut chunk = Zeroizing::new([0u8; 8192]);
    let mut last = Instant::now();
    loop {
        let left = idle.saturating_sub(last.elapsed());
        if left.is_zero() {
            return Err(ReadError::Idle(idle));
        }
        let ms = PollTimeout::try_from(left.as_millis().clamp(1, 60_000) as u32)
            .unwrap_or(PollTimeout::MAX);
        let ready = {
            let mut fds = [PollFd::new(input.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, ms) {
                Ok(n) => n > 0,
                Err(nix::errno::Errno::EINTR) => false,
                Err(e) => return Err(ReadError::Io(e.into())),
            }
        };
        if !ready {
            continue;
        }
        match input.read(&mut chunk[..]) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                if buf.len() as u64 + n as u64 > limit {
                    return Err(ReadError::TooLarge { limit });
                }
                buf.extend_from_slice(&chunk[..n]);
                last = Instant::now();
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pipe() -> (File, File) {
        let (r, w) = nix::unistd::pipe().unwrap();
        (File::from(r), File::from(w))
    }

    #[test]
    fn files_within_and_over_the_limit() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, vec![7u8; 100]).unwrap();
        assert_eq!(read_file(&p, 100).unwrap().len(), 100);
        assert!(matches!(
            read_file(&p, 99),
            Err(ReadError::TooLarge { limit: 99 })
        ));
        assert!(
            read_file(&d.path().join("none"), 10)
                .unwrap_err()
                .is_not_found()
        );
        assert!(matches!(
            read_file(d.path(), 10),
            Err(ReadError::NotRegular("directory"))
        ));
        assert!(matches!(
            read_file(Path::new("/dev/zero"), 10),
            Err(ReadError::NotRegular("character device"))
        ));
        // A stream-capable read of /dev/zero stops at the limit.
        assert!(matches!(
            read_file_or_stream(Path::new("/dev/zero"), 1000, STREAM_IDLE),
            Err(ReadError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_fifo_without_writer_is_refused_or_times_out() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let start = Instant::now();
        assert!(matches!(
            read_file(&p, 10),
            Err(ReadError::NotRegular("FIFO (named pipe)"))
        ));
        // As a stream: the open does not block, and with no writer the idle limit ends it.
        assert!(matches!(
            read_file_or_stream(&p, 10, Duration::from_millis(300)),
            Err(ReadError::Idle(_))
        ));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_silent_stream_times_out_and_a_long_one_is_cut() {
        let (r, mut w) = pipe();
        let start = Instant::now();
        assert!(matches!(
            read_stream(r, 10, Duration::from_millis(200)),
            Err(ReadError::Idle(_))
        ));
        assert!(start.elapsed() < Duration::from_secs(2));
        w.write_all(b"x").ok();

        let (r, mut w) = pipe();
        let t = std::thread::spawn(move || {
            let _ = w.write_all(&[1u8; 5000]);
        });
        assert!(matches!(
            read_stream(r, 4096, Duration::from_secs(5)),
            Err(ReadError::TooLarge { limit: 4096 })
        ));
        t.join().unwrap();

        let (r, mut w) = pipe();
        w.write_all(b"hello").unwrap();
        drop(w);
        assert_eq!(
            read_stream(r, 10, Duration::from_secs(5))
                .unwrap()
                .as_slice(),
            b"hello"
        );
    }
}
