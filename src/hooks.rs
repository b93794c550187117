//! On-change hooks: argv lists (no shell) run after an account's keytab content changed, with a
//! time limit. A failing hook is logged; it never undoes the keytab.

use crate::log;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
        .env("GMSA_KEYTAB_ACCOUNT", account)
        .env("GMSA_KEYTAB_PATH", keytab)
        .env("GMSA_KEYTAB_KVNO", kvno.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
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
