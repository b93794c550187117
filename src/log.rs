//! One line per event on stderr, `key=value` fields, for journald and people alike.
//! Secrets have no way in: values are `Display` of plain facts (names, paths, numbers).
//!
//! When stderr is the journal (systemd's `JOURNAL_STREAM` names stderr's device and inode),
//! each line starts with a syslog priority prefix (`<3>` for errors ... `<7>` for debug), so
//! journald stores the real priority: `journalctl -p err` finds errors, and the unit's
//! `LogLevelMax=notice` drops the routine lines while keeping changes, warnings and errors.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 1,
    Warn = 2,
    /// Normal but significant: a keytab changed. Kept under the unit's `LogLevelMax=notice`.
    Notice = 3,
    Info = 4,
    Debug = 5,
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "notice" => Ok(Level::Notice),
            "info" => Ok(Level::Info),
            "debug" | "trace" => Ok(Level::Debug),
            other => Err(format!(
                "unknown log level {other:?}: use error, warn, notice, info or debug"
            )),
        }
    }
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// The syslog priority (syslog(3)): err 3, warning 4, notice 5, info 6, debug 7.
    pub fn syslog_priority(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Notice => 5,
            Level::Info => 6,
            Level::Debug => 7,
        }
    }
}

/// Whether `JOURNAL_STREAM` (`"<device>:<inode>"`, decimal, set by systemd for a unit whose
/// stdout or stderr is the journal) names the file that stderr is, given stderr's device and
/// inode. Pure. A redirected stderr (`2>file` in ExecStart, a pipe to a hook) keeps the
/// variable but is another file, so it gets no prefixes.
pub fn is_journal_stream(journal_stream: Option<&str>, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = journal_stream.and_then(|v| v.trim().split_once(':')) else {
        return false;
    };
    d.parse::<u64>() == Ok(dev) && i.parse::<u64>() == Ok(ino)
}

static PREFIX: AtomicBool = AtomicBool::new(false);

/// Turns the priority prefixes on when stderr is the journal. Call once, at start.
pub fn detect_journal() {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let var = std::env::var("JOURNAL_STREAM").ok();
    if var.is_none() {
        return;
    }
    // fstat of a duplicate of fd 2: no unsafe, and the original stays untouched.
    let meta = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata());
    if let Ok(m) = meta {
        PREFIX.store(
            is_journal_stream(var.as_deref(), m.dev(), m.ino()),
            Ordering::Relaxed,
        );
    }
}

/// The level a `RUST_LOG` value asks for: `debug`, or the directive for this crate in an
/// env_logger-style list (`warn,gmsa_keytab=debug`), else its bare default level.
pub fn level_from_rust_log(value: &str) -> Option<Level> {
    let mut bare = None;
    for directive in value.split(',').map(str::trim) {
        match directive.split_once('=') {
            Some((target, level))
                if target.trim() == "gmsa_keytab" || target.trim() == "gmsa-keytab" =>
            {
                return level.parse().ok();
            }
            Some(_) => {}
            None => bare = directive.parse().ok().or(bare),
        }
    }
    bare
}

static MAX: AtomicU8 = AtomicU8::new(Level::Info as u8);

pub fn set_level(level: Level) {
    MAX.store(level as u8, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= MAX.load(Ordering::Relaxed)
}

/// Quotes a value when it holds spaces, quotes, `=` or control characters.
fn quoted(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c.is_control())
    {
        return v.to_string();
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c if c.is_control() => s.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Formats one event line (without the newline).
pub fn format_line(level: Level, msg: &str, fields: &[(&str, &dyn Display)]) -> String {
    let mut line = format!("level={} msg={}", level.name(), quoted(msg));
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&quoted(&v.to_string()));
    }
    line
}

/// One line as written: with the `<N>` priority prefix when `prefix` (stderr is the journal).
pub fn render(prefix: bool, level: Level, msg: &str, fields: &[(&str, &dyn Display)]) -> String {
    let line = format_line(level, msg, fields);
    if prefix {
        format!("<{}>{line}", level.syslog_priority())
    } else {
        line
    }
}

pub fn event(level: Level, msg: &str, fields: &[(&str, &dyn Display)]) {
    if enabled(level) {
        let line = render(PREFIX.load(Ordering::Relaxed), level, msg, fields);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

pub fn notice(msg: &str, fields: &[(&str, &dyn Display)]) {
    event(Level::Notice, msg, fields)
}

pub fn info(msg: &str, fields: &[(&str, &dyn Display)]) {
    event(Level::Info, msg, fields)
}

pub fn warn(msg: &str, fields: &[(&str, &dyn Display)]) {
    event(Level::Warn, msg, fields)
}

pub fn debug(msg: &str, fields: &[(&str, &dyn Display)]) {
    event(Level::Debug, msg, fields)
}

pub fn error(msg: &str, fields: &[(&str, &dyn Display)]) {
    event(Level::Error, msg, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_key_value_and_quoted() {
        let l = format_line(
            Level::Warn,
            "keytab updated",
            &[("path", &"/etc/a b.keytab"), ("kvno", &3), ("x", &"q\"\n")],
        );
        assert_eq!(
            l,
            "level=warn msg=\"keytab updated\" path=\"/etc/a b.keytab\" kvno=3 x=\"q\\\"\\n\""
        );
        assert_eq!("DEBUG".parse::<Level>().unwrap(), Level::Debug);
        assert!("loud".parse::<Level>().is_err());
    }

    #[test]
    fn priority_prefix_only_for_the_journal() {
        let l = render(true, Level::Error, "bad", &[("exit", &75)]);
        assert_eq!(l, "<3>level=error msg=bad exit=75");
        let prios: Vec<String> = [
            Level::Error,
            Level::Warn,
            Level::Notice,
            Level::Info,
            Level::Debug,
        ]
        .iter()
        .map(|&l| render(true, l, "m", &[]))
        .map(|l| l[..3].to_string())
        .collect();
        assert_eq!(prios, ["<3>", "<4>", "<5>", "<6>", "<7>"]);
        assert_eq!(render(false, Level::Notice, "m", &[]), "level=notice msg=m");
        assert_eq!("notice".parse::<Level>().unwrap(), Level::Notice);
        // The levels order the way syslog priorities do.
        assert!(Level::Notice < Level::Info && Level::Warn < Level::Notice);
    }

    #[test]
    fn journal_stream_must_name_stderr() {
        assert!(is_journal_stream(Some("8:12345"), 8, 12345));
        assert!(!is_journal_stream(Some("8:12345"), 8, 12346));
        assert!(!is_journal_stream(Some("9:12345"), 8, 12345));
        assert!(!is_journal_stream(None, 8, 12345));
        assert!(!is_journal_stream(Some(""), 0, 0));
        assert!(!is_journal_stream(Some("8"), 8, 0));
        assert!(!is_journal_stream(Some("x:y"), 0, 0));
    }

    #[test]
    fn rust_log_values() {
        assert_eq!(level_from_rust_log("debug"), Some(Level::Debug));
        assert_eq!(
            level_from_rust_log("warn,gmsa_keytab=debug"),
            Some(Level::Debug)
        );
        assert_eq!(level_from_rust_log("error,ldap3=trace"), Some(Level::Error));
        assert_eq!(level_from_rust_log("ldap3=trace"), None);
        assert_eq!(level_from_rust_log(""), None);
    }
}
