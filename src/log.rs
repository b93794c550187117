//! One line per event on stderr, `key=value` fields, for journald and people alike.
//! Secrets have no way in: values are `Display` of plain facts (names, paths, numbers).

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" | "trace" => Ok(Level::Debug),
            other => Err(format!(
                "unknown log level {other:?}: use error, warn, info or debug"
            )),
        }
    }
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
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

pub fn event(level: Level, msg: &str, fields: &[(&str, &dyn Display)]) {
    if enabled(level) {
        let line = format_line(level, msg, fields);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
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
