//! On-change hooks: argv lists (no shell) run after an account's keytab content changed, with a
//! time limit. A failing hook is logged; it never undoes the keytab.
//!
//! A hook runs in its own process group, so the time limit kills everything it started (a
//! `sh -c 'x & y'` included), with an environment of only `PATH` (a fixed, root-safe list) and
//! the `GMSA_KEYTAB_*` variables, no stdin, and no inherited descriptor (all are close-on-exec,
//! see [`crate::sys::cloexec_inherited`]).

use crate::log;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The only `PATH` a hook sees (sudo's `secure_path` default), whatever ours was.
pub const HOOK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How a hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    Exited(i32),
    Signalled,
    TimedOut,
    NotStarted(String),
}

/// Runs one hook. It gets the account, keytab and kvno in its environment (its own, not
/// ours) and no stdin; its output goes to our stderr, i.e. the journal.
pub fn run_one(
    argv: &[String],
    account: &str,
    keytab: &Path,
    kvno: u32,
    limit: Duration,
) -> HookOutcome {
    let Some((prog, args)) = argv.split_first() else {
        return HookOutcome::NotStarted("empty command".into());
    };
    let mut child = match Command::new(prog)
        .args(args)
        .env_clear()
        .env("PATH", HOOK_PATH)
        .env("GMSA_KEYTAB_ACCOUNT", account)
        .env("GMSA_KEYTAB_PATH", keytab)
        .env("GMSA_KEYTAB_KVNO", kvno.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return HookOutcome::NotStarted(e.to_string()),
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match status.code() {
                    Some(c) => HookOutcome::Exited(c),
                    None => HookOutcome::Signalled,
                };
            }
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                // The whole group: the hook's own children die with it. The group id is the
                // child's pid, and it cannot be reused before the child is reaped below.
                let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
                let _ = child.kill();
                let _ = child.wait();
                return HookOutcome::TimedOut;
            }
        }
    }
}

/// Runs an account's hooks in order and logs each result.
pub fn run_all(hooks: &[Vec<String>], account: &str, keytab: &Path, kvno: u32, limit: Duration) {
    for argv in hooks {
        let start = Instant::now();
        let outcome = run_one(argv, account, keytab, kvno, limit);
        let command = argv.join(" ");
        let ms = start.elapsed().as_millis();
        match outcome {
            HookOutcome::Exited(0) => log::info(
                "hook ran",
                &[
                    ("account", &account),
                    ("command", &command),
                    ("exit", &0),
                    ("ms", &ms),
                ],
            ),
            HookOutcome::Exited(c) => log::warn(
                "hook failed; the keytab stays updated",
                &[
                    ("account", &account),
                    ("command", &command),
                    ("exit", &c),
                    ("ms", &ms),
                ],
            ),
            HookOutcome::Signalled => log::warn(
                "hook killed by a signal; the keytab stays updated",
                &[("account", &account), ("command", &command), ("ms", &ms)],
            ),
            HookOutcome::TimedOut => log::warn(
                "hook timed out and was killed; the keytab stays updated",
                &[
                    ("account", &account),
                    ("command", &command),
                    ("limit_s", &limit.as_secs()),
                ],
            ),
            HookOutcome::NotStarted(e) => log::warn(
                "hook could not be started; the keytab stays updated",
                &[("account", &account), ("command", &command), ("error", &e)],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exit_codes_timeouts_and_missing_programs() {
        let t = Duration::from_secs(5);
        let k = Path::new("/k");
        assert_eq!(
            run_one(&argv(&["true"]), "a$", k, 3, t),
            HookOutcome::Exited(0)
        );
        assert_eq!(
            run_one(&argv(&["false"]), "a$", k, 3, t),
            HookOutcome::Exited(1)
        );
        let start = Instant::now();
        let slow = run_one(
            &argv(&["sleep", "5"]),
            "a$",
            k,
            3,
            Duration::from_millis(200),
        );
        assert_eq!(slow, HookOutcome::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(3));
        assert!(matches!(
            run_one(&argv(&["/nonexistent/hook"]), "a$", k, 3, t),
            HookOutcome::NotStarted(_)
        ));
        assert!(matches!(
            run_one(&[], "a$", k, 3, t),
            HookOutcome::NotStarted(_)
        ));
    }

    #[test]
    fn timeout_kills_the_hooks_children_too() {
        let d = tempfile::tempdir().unwrap();
        let pidfile = d.path().join("pid");
        // The hook starts a grandchild that would outlive a plain kill of the hook.
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let r = run_one(
            &argv(&["sh", "-c", &script]),
            "a$",
            Path::new("/k"),
            1,
            Duration::from_millis(500),
        );
        assert_eq!(r, HookOutcome::TimedOut);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed (a zombie until init reaps it, or gone): not sleeping any more.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit(')').next().map(|r| r.trim().to_string()))
                .and_then(|r| r.chars().next());
            if matches!(state, None | Some('Z') | Some('X')) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "grandchild {pid} survived the timeout"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn environment_is_path_and_gmsa_keytab_only_and_no_fd_leaks() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("env");
        // An inherited descriptor without close-on-exec, as a careless parent would leave one.
        let leaked = std::fs::File::open("/dev/null").unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&leaked);
        nix::fcntl::fcntl(
            &leaked,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .unwrap();
        crate::sys::cloexec_inherited();
        let script = format!(
            "env > {o}; ls /proc/self/fd > {o}.fds; [ -e /proc/self/fd/{raw} ] && echo leaked >> {o}.fds; true",
            o = out.display()
        );
        let r = run_one(
            &argv(&["sh", "-c", &script]),
            "svc_web$",
            Path::new("/etc/w.keytab"),
            7,
            Duration::from_secs(5),
        );
        assert_eq!(r, HookOutcome::Exited(0));
        let env = std::fs::read_to_string(&out).unwrap();
        for line in env.lines() {
            let key = line.split('=').next().unwrap();
            assert!(
                key == "PATH"
                    || key.starts_with("GMSA_KEYTAB_")
                    || key == "PWD"
                    || key == "SHLVL"
                    || key == "_",
                "unexpected variable in the hook's environment: {line}"
            );
        }
        assert!(env.contains(&format!("PATH={HOOK_PATH}")), "{env}");
        let fds = std::fs::read_to_string(format!("{}.fds", out.display())).unwrap();
        assert!(!fds.contains("leaked"), "{fds}");
        drop(leaked);
    }

    #[test]
    fn hook_sees_account_keytab_and_kvno() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("env");
        let script = format!(
            "printf '%s %s %s' \"$GMSA_KEYTAB_ACCOUNT\" \"$GMSA_KEYTAB_PATH\" \"$GMSA_KEYTAB_KVNO\" > {}",
            out.display()
        );
        let r = run_one(
            &argv(&["sh", "-c", &script]),
            "svc_web$",
            Path::new("/etc/w.keytab"),
            7,
            Duration::from_secs(5),
        );
        assert_eq!(r, HookOutcome::Exited(0));
        assert_eq!(
            std::fs::read_to_string(out).unwrap(),
            "svc_web$ /etc/w.keytab 7"
        );
    }
}
