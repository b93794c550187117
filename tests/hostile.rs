//! Hostile hosts and hostile files, through the real binary (issue 9): every case ends in its
//! exit code, fast, in bounded memory, and leaves the files on disk byte-identical where nothing
//! may change. The hostile directory server cases are in tests/hostile_server.rs.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gmsa-keytab");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run_with(args: &[&std::ffi::OsStr], stdin: Stdio) -> (Output, Duration) {
    let start = Instant::now();
    let o = Command::new(BIN).args(args).stdin(stdin).output().unwrap();
    (o, start.elapsed())
}

fn run(args: &[&str]) -> (Output, Duration) {
    let a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    run_with(&a, Stdio::null())
}

fn derive_args<'a>(blob: &'a str, keytab: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "derive",
        "--blob",
        blob,
        "--account",
        "svc_web$",
        "--realm",
        "EXAMPLE.TEST",
        "--kvno",
        "3",
        "--keytab",
        keytab,
    ];
    v.extend_from_slice(extra);
    v
}

/// A directory holding a valid keytab `web.keytab`; returns (dir, keytab path, its bytes).
fn with_keytab() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("web.keytab");
    let blob = data("blob-b.bin");
    let (o, _) = run(&derive_args(
        blob.to_str().unwrap(),
        kt.to_str().unwrap(),
        &[],
    ));
    assert!(o.status.success(), "{}", text(&o));
    let bytes = fs::read(&kt).unwrap();
    (d, kt, bytes)
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn assert_code(o: &Output, code: i32, needle: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
}

#[test]
fn modes_outside_the_policy_are_usage_errors_and_create_nothing() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k.keytab");
    let blob = data("blob-b.bin");
    for mode in ["7777", "0644", "0666", "4600", "0700", "0660"] {
        let (o, _) = run(&derive_args(
            blob.to_str().unwrap(),
            kt.to_str().unwrap(),
            &["--mode", mode],
        ));
        assert_code(&o, 64, "0400, 0440, 0600 or 0640");
    }
    for id in ["--owner", "--group"] {
        let (o, _) = run(&derive_args(
            blob.to_str().unwrap(),
            kt.to_str().unwrap(),
            &[id, "4294967295"],
        ));
        assert_code(&o, 64, "(uid_t)-1");
    }
    assert!(listing(d.path()).is_empty(), "{:?}", listing(d.path()));
}

#[test]
fn a_fifo_at_the_lock_fails_in_milliseconds_and_keeps_the_keytab() {
    let (d, kt, before) = with_keytab();
    let lock = d.path().join("web.keytab.lock");
    fs::remove_file(&lock).unwrap();
    nix::unistd::mkfifo(&lock, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let blob = data("blob-a.bin");
    let (o, took) = run(&derive_args(
        blob.to_str().unwrap(),
        kt.to_str().unwrap(),
        &[],
    ));
    assert_code(&o, 73, "FIFO");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(fs::read(&kt).unwrap(), before);
}

#[test]
fn special_files_at_the_target_fail_fast_and_create_no_lock() {
    let d = tempfile::tempdir().unwrap();
    let blob = data("blob-b.bin");
    // A device: /dev/null must not gain a /dev/null.lock.
    assert!(!Path::new("/dev/null.lock").exists());
    let (o, took) = run(&derive_args(blob.to_str().unwrap(), "/dev/null", &[]));
    assert_code(&o, 73, "character device");
    assert!(took < Duration::from_secs(3));
    assert!(!Path::new("/dev/null.lock").exists());
    // A FIFO and a socket at the target.
    let fifo = d.path().join("fifo.keytab");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let sock = d.path().join("sock.keytab");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    for (target, kind) in [(&fifo, "FIFO"), (&sock, "socket")] {
        let (o, took) = run(&derive_args(
            blob.to_str().unwrap(),
            target.to_str().unwrap(),
            &[],
        ));
        assert_code(&o, 73, kind);
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
    assert_eq!(listing(d.path()), ["fifo.keytab", "sock.keytab"]);
    // A directory path is a usage error.
    let dir_arg = format!("{}/", d.path().display());
    let (o, _) = run(&derive_args(blob.to_str().unwrap(), &dir_arg, &[]));
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
}

#[test]
fn huge_and_endless_blob_inputs_are_refused_in_bounded_memory() {
    let (d, kt, before) = with_keytab();
    // A sparse 1 GiB file: refused from its size, before a byte is read.
    let big = d.path().join("big.blob");
    fs::File::create(&big).unwrap().set_len(1 << 30).unwrap();
    let (o, took) = run(&derive_args(
        big.to_str().unwrap(),
        kt.to_str().unwrap(),
        &[],
    ));
    assert_code(&o, 65, "64 KiB limit");
    assert!(took < Duration::from_secs(5));
    // An endless stream: standard input from /dev/zero, and /dev/zero as the file.
    let zero = fs::File::open("/dev/zero").unwrap();
    let args = derive_args("-", kt.to_str().unwrap(), &[]);
    let a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let (o, took) = run_with(&a, Stdio::from(zero));
    assert_code(&o, 65, "64 KiB limit");
    assert!(took < Duration::from_secs(5));
    let (o, _) = run(&derive_args("/dev/zero", kt.to_str().unwrap(), &[]));
    assert_code(&o, 65, "64 KiB limit");
    assert_eq!(fs::read(&kt).unwrap(), before);
}

#[test]
fn an_idle_stdin_times_out() {
    let (_d, kt, before) = with_keytab();
    // A pipe whose writer stays open and silent.
    let mut child = Command::new("sleep")
        .arg("30")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let silent = child.stdout.take().unwrap();
    let args = derive_args("-", kt.to_str().unwrap(), &[]);
    let a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let (o, took) = run_with(&a, Stdio::from(silent));
    let _ = child.kill();
    let _ = child.wait();
    assert_code(&o, 66, "no data arrived for 10s");
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_eq!(fs::read(&kt).unwrap(), before);
}

#[test]
fn a_huge_existing_keytab_is_refused_untouched() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("big.keytab");
    let f = fs::File::create(&kt).unwrap();
    f.set_len(1 << 30).unwrap();
    let meta = fs::metadata(&kt).unwrap();
    let blob = data("blob-b.bin");
    let (o, took) = run(&derive_args(
        blob.to_str().unwrap(),
        kt.to_str().unwrap(),
        &[],
    ));
    assert_code(&o, 79, "16 MiB");
    assert!(took < Duration::from_secs(5));
    let (o, _) = run(&["show", kt.to_str().unwrap()]);
    assert_code(&o, 79, "16 MiB limit");
    let after = fs::metadata(&kt).unwrap();
    assert_eq!(
        (after.ino(), after.len(), after.mtime(), after.mtime_nsec()),
        (meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec())
    );
    // show on a FIFO does not hang either.
    let fifo = d.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (o, took) = run(&["show", fifo.to_str().unwrap()]);
    assert_code(&o, 66, "FIFO");
    assert!(took < Duration::from_secs(3));
}

#[test]
fn bad_names_are_usage_errors_before_any_lock() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k.keytab");
    let kts = kt.to_str().unwrap();
    let blob = data("blob-b.bin");
    let blob = blob.to_str().unwrap();
    let long = "a".repeat(70_000);
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "derive",
            "--blob",
            blob,
            "--account",
            &long,
            "--realm",
            "EXAMPLE.TEST",
        ],
        vec![
            "derive",
            "--blob",
            blob,
            "--account",
            "svc\nweb$",
            "--realm",
            "EXAMPLE.TEST",
        ],
        vec![
            "derive",
            "--blob",
            blob,
            "--account",
            "svc\tweb",
            "--realm",
            "EXAMPLE.TEST",
        ],
        vec![
            "derive",
            "--blob",
            blob,
            "--account",
            "a@b",
            "--realm",
            "EXAMPLE.TEST",
        ],
        vec![
            "derive",
            "--blob",
            blob,
            "--account",
            "svc_web",
            "--realm",
            "EXAMPLE TEST",
        ],
        vec![
            "derive",
            "--blob",
            blob,
            "--account",
            "svc_web",
            "--realm",
            "EX\nAMPLE",
        ],
        vec![
            "derive",
            "--blob",
            blob,
            "--account",
            "svc_web",
            "--realm",
            "EXAMPLE.TEST",
            "--principal",
            "HTTP/web\n.example.test",
        ],
    ];
    for mut args in cases {
        args.extend_from_slice(&["--kvno", "3", "--keytab", kts]);
        let (o, _) = run(&args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.len() < 2000,
            "the message repeats a huge name: {} bytes",
            err.len()
        );
        assert!(
            !err.contains("\nweb"),
            "a raw newline reached the log: {err}"
        );
    }
    assert!(listing(d.path()).is_empty(), "{:?}", listing(d.path()));
    // Ad-hoc sync: the same rules, before any network or lock.
    let (o, _) = run(&["sync", "--account", "svc\nweb", "--keytab", kts]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
    // A keytab path that names no file, absolute or relative.
    for bad in ["/", "..", ".", "/tmp/..", "/tmp/"] {
        let (o, _) = run(&["sync", "--account", "svc_web$", "--keytab", bad]);
        assert_eq!(o.status.code(), Some(64), "{bad}: {}", text(&o));
        assert!(text(&o).contains("not a file path"), "{bad}: {}", text(&o));
    }
    let (o, _) = run(&[
        "sync",
        "--account",
        "svc_web",
        "--keytab",
        kts,
        "--mode",
        "0644",
    ]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
    assert!(listing(d.path()).is_empty());
}

#[test]
fn a_non_utf8_keytab_path_works() {
    let d = tempfile::tempdir().unwrap();
    let mut name = b"web-".to_vec();
    name.extend_from_slice(&[0xff, 0xfe]);
    name.extend_from_slice(b".keytab");
    let kt = d.path().join(std::ffi::OsStr::from_bytes(&name));
    let blob = data("blob-b.bin");
    let fixed = [
        "derive",
        "--blob",
        blob.to_str().unwrap(),
        "--account",
        "svc_web$",
        "--realm",
        "EXAMPLE.TEST",
        "--kvno",
        "3",
        "--keytab",
    ];
    let args: Vec<&std::ffi::OsStr> = fixed
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([kt.as_os_str()])
        .collect();
    let (o, _) = run_with(&args, Stdio::null());
    assert!(o.status.success(), "{}", text(&o));
    assert!(fs::metadata(&kt).unwrap().len() > 100);
    let (o, _) = run_with(
        &[std::ffi::OsStr::new("show"), kt.as_os_str()],
        Stdio::null(),
    );
    assert!(o.status.success(), "{}", text(&o));
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn write_config(dir: &Path, hook: Option<&Path>) -> PathBuf {
    let cfg = dir.join("config.toml");
    let hook = hook
        .map(|h| format!("on-change = [[\"{}\"]]\n", h.display()))
        .unwrap_or_default();
    fs::write(
        &cfg,
        format!(
            "version = 1\nclient-keytab = \"{}\"\nstate-dir = \"{}\"\n[[account]]\nname = \"svc_web\"\nkeytab = \"{}\"\n{hook}",
            dir.join("missing-host.keytab").display(),
            dir.join("state").display(),
            dir.join("web.keytab").display()
        ),
    )
    .unwrap();
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o600)).unwrap();
    cfg
}

#[test]
fn an_untrusted_config_or_hook_is_refused_as_root() {
    if !is_root() {
        eprintln!("skipped: the trust checks apply to root only (tests/run-all.sh runs as root)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path(), None);
    let c = cfg.to_str().unwrap();
    let (o, _) = run(&["check-config", c]);
    assert!(o.status.success(), "{}", text(&o));
    // Group-writable, world-writable, not owned by root.
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o620)).unwrap();
    let (o, _) = run(&["check-config", c]);
    assert_code(&o, 78, "chmod go-w");
    let (o, _) = run(&["sync", "--config", c]);
    assert_code(&o, 78, "not safe to run as root");
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o600)).unwrap();
    nix::unistd::chown(&cfg, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let (o, _) = run(&["check-config", c]);
    assert_code(&o, 78, "chown root");
    nix::unistd::chown(&cfg, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    // Its directory writable by everyone (no sticky bit).
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let (o, _) = run(&["check-config", c]);
    assert_code(&o, 78, "writable by everyone");
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
    // A hook program others may change.
    let hook = d.path().join("hook.sh");
    fs::write(&hook, "#!/bin/sh\ntrue\n").unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o775)).unwrap();
    let cfg = write_config(d.path(), Some(&hook));
    let (o, _) = run(&["check-config", cfg.to_str().unwrap()]);
    assert_code(&o, 78, "hook program");
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let (o, _) = run(&["check-config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // Nothing was written by the refused runs.
    assert_eq!(listing(d.path()), ["config.toml", "hook.sh"]);
}

#[test]
fn config_modes_and_sizes() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path(), None);
    let mut text_cfg = fs::read_to_string(&cfg).unwrap();
    text_cfg.push_str("mode = \"0644\"\n");
    fs::write(&cfg, &text_cfg).unwrap();
    let (o, _) = run(&["check-config", cfg.to_str().unwrap()]);
    assert_code(&o, 78, "0400, 0440, 0600 or 0640");
    // A 2 MiB configuration is refused from its size.
    fs::File::create(&cfg).unwrap().set_len(2 << 20).unwrap();
    let (o, _) = run(&["check-config", cfg.to_str().unwrap()]);
    assert_code(&o, 78, "1 MiB limit");
    // A FIFO as the configuration: an error, not a hang.
    let fifo = d.path().join("fifo.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (o, took) = run(&["check-config", fifo.to_str().unwrap()]);
    assert_code(&o, 78, "FIFO");
    assert!(took < Duration::from_secs(3));
}

/// Peak RSS of every child this test binary has reaped so far (RUSAGE_CHILDREN keeps the
/// largest), after the large-input cases: the bound is 16 MiB for any input.
#[test]
fn peak_rss_stays_under_16_mib_for_large_inputs() {
    let d = tempfile::tempdir().unwrap();
    let kt = d.path().join("k.keytab");
    let big = d.path().join("big");
    fs::File::create(&big)
        .unwrap()
        .set_len(100_000_000)
        .unwrap();
    let blob_stream = fs::File::open("/dev/zero").unwrap();
    let args = derive_args("-", kt.to_str().unwrap(), &[]);
    let a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    // Each child is measured on its own: /usr/bin/time -v reports its peak RSS.
    for (what, mut cmd) in [
        ("blob file 100 MB", {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-v").arg(BIN).args(derive_args(
                big.to_str().unwrap(),
                kt.to_str().unwrap(),
                &[],
            ));
            c.stdin(Stdio::null());
            c
        }),
        ("blob stream /dev/zero", {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-v").arg(BIN).args(&a);
            c.stdin(Stdio::from(blob_stream));
            c
        }),
        ("show of a 100 MB file", {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-v").arg(BIN).args(["show", big.to_str().unwrap()]);
            c.stdin(Stdio::null());
            c
        }),
    ] {
        if !Path::new("/usr/bin/time").exists() {
            eprintln!("skipped: /usr/bin/time is missing (tests/lab/install-deps.sh installs it)");
            return;
        }
        let o = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let kb: u64 = err
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no RSS figure for {what}: {err}"));
        assert!(kb < 16 * 1024, "{what}: peak RSS {kb} KiB");
    }
}

/// Restores the kernel's core dump settings when the test ends, even by a panic.
struct CoreSettings {
    pattern: String,
    suid_dumpable: String,
}

impl CoreSettings {
    const PATTERN: &'static str = "/proc/sys/kernel/core_pattern";
    const SUID: &'static str = "/proc/sys/fs/suid_dumpable";

    /// Cores of every crashing process go to `dir` for the few seconds of the test, and the
    /// kernel would dump even non-dumpable processes (suid_dumpable 2), so only this process's
    /// own RLIMIT_CORE 0 can keep it from dumping.
    fn redirect(dir: &Path) -> CoreSettings {
        let saved = CoreSettings {
            pattern: fs::read_to_string(Self::PATTERN).unwrap(),
            suid_dumpable: fs::read_to_string(Self::SUID).unwrap(),
        };
        fs::write(Self::SUID, "2\n").unwrap();
        fs::write(Self::PATTERN, format!("{}/core.%e.%p\n", dir.display())).unwrap();
        saved
    }
}

impl Drop for CoreSettings {
    fn drop(&mut self) {
        let _ = fs::write(Self::PATTERN, &self.pattern);
        let _ = fs::write(Self::SUID, &self.suid_dumpable);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Kills `pid` with SIGABRT, as a crash would.
fn abort(child: &mut std::process::Child) -> std::process::ExitStatus {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGABRT,
    )
    .unwrap();
    child.wait().unwrap()
}

#[test]
fn an_abort_mid_run_leaves_no_core_and_no_key_on_disk() {
    use std::os::unix::process::ExitStatusExt;
    if !is_root() {
        eprintln!("skipped: changing core_pattern needs root (tests/run-all.sh runs as root)");
        return;
    }
    let cores = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kt = work.path().join("web.keytab");
    // The secrets to look for: the current password and its AES256 key.
    let raw = fs::read(data("blob-b.bin")).unwrap();
    let pw = gmsa_keytab::blob::parse(&raw).unwrap();
    let salt = gmsa_keytab::crypto::gmsa_salt("EXAMPLE.TEST", "svc_web$");
    let keys = gmsa_keytab::crypto::derive_keys(
        &pw.current,
        &salt,
        &[gmsa_keytab::enctype::Enctype::Aes256CtsHmacSha196],
    );
    let secrets: Vec<Vec<u8>> = vec![
        pw.current.0.expose()[..32].to_vec(),
        keys[0].1.expose().to_vec(),
    ];
    // Another writer holds the lock, so derive waits with the keys in memory.
    let lock = fs::File::create(work.path().join("web.keytab.lock")).unwrap();
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();

    let settings = CoreSettings::redirect(cores.path());
    // Control: an ordinary process aborted the same way does leave a core here.
    let mut control = Command::new("sh")
        .args(["-c", "ulimit -c unlimited; exec sleep 30"])
        .current_dir(work.path())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = abort(&mut control);
    assert_eq!(status.signal(), Some(6));
    assert!(
        status.core_dumped(),
        "the control did not dump: the test cannot judge"
    );

    let script = format!(
        "ulimit -c unlimited; exec {BIN} derive --blob {} --account 'svc_web$' --realm EXAMPLE.TEST \
         --kvno 3 --keytab {}",
        data("blob-b.bin").display(),
        kt.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .current_dir(work.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has the lock file open: the keys are derived by then.
    let fd_dir = format!("/proc/{}/fd", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting = fs::read_dir(&fd_dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                fs::read_link(e.path())
                    .map(|t| t.ends_with("web.keytab.lock"))
                    .unwrap_or(false)
            });
        if waiting {
            break;
        }
        assert!(Instant::now() < deadline, "derive never reached the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = abort(&mut child);
    drop(settings);
    assert_eq!(status.signal(), Some(6), "{status:?}");
    assert!(!status.core_dumped(), "gmsa-keytab dumped core");

    let mut files: Vec<PathBuf> = fs::read_dir(cores.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.extend(
        fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("core.sleep.")),
        "no control core: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("core.gmsa")),
        "a gmsa-keytab core: {names:?}"
    );
    for f in files.iter().filter(|f| f.is_file()) {
        let bytes = fs::read(f).unwrap();
        for s in &secrets {
            assert!(!contains(&bytes, s), "{} holds key material", f.display());
        }
    }
}
