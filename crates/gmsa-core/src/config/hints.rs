//! The corrected line for the TOML mistakes people make most in this file: an unquoted mode,
//! `[account]` for `[[account]]`, a hook written as a string or a flat list, a quoted number.
//! Pure: the offending line and the parser's message in, a suggestion out.

/// A corrected version of `line` (the line the parser stopped at), if the mistake is a known one.
pub fn corrected_line(line: &str, message: &str) -> Option<String> {
    let t = line.trim();
    if t == "[account]" {
        return Some("[[account]]  (one array table per gMSA)".into());
    }
    let (key, value) = t.split_once('=')?;
    let (key, value) = (key.trim(), strip_comment(value.trim()));
    match key {
        "mode" if !value.starts_with('"') && value.bytes().all(|b| b.is_ascii_digit()) => {
            let digits = value.trim_start_matches('0');
            Some(format!("mode = \"{:0>4}\"  (an octal string)", digits))
        }
        "on-change" => {
            let argvs = hook_argv(value)?;
            Some(format!(
                "on-change = {argvs}  (a list of argv lists; no shell)"
            ))
        }
        _ if message.contains("expected i64") || message.contains("expected an integer") => {
            let inner = value.strip_prefix('"')?.strip_suffix('"')?;
            inner.parse::<i64>().ok()?;
            Some(format!("{key} = {inner}  (a number, unquoted)"))
        }
        _ => None,
    }
}

/// A value without a trailing `# comment` (outside strings, roughly: the last `#` after the
/// closing quote or bracket).
fn strip_comment(value: &str) -> &str {
    let mut in_string = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return value[..i].trim_end(),
            _ => {}
        }
    }
    value
}

/// `"systemctl reload nginx"` or `["systemctl", "reload", "nginx"]` as `[["systemctl", ...]]`.
fn hook_argv(value: &str) -> Option<String> {
    let words: Vec<String> = if let Some(s) = value.strip_prefix('"') {
        s.strip_suffix('"')?
            .split_whitespace()
            .map(str::to_string)
            .collect()
    } else if let Some(inner) = value.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?.trim();
        if inner.starts_with('[') {
            return None;
        }
        inner
            .split(',')
            .map(|w| w.trim().trim_matches('"').to_string())
            .filter(|w| !w.is_empty())
            .collect()
    } else {
        return None;
    };
    if words.is_empty() {
        return None;
    }
    let quoted: Vec<String> = words
        .iter()
        .map(|w| toml::Value::String(w.clone()).to_string())
        .collect();
    Some(format!("[[{}]]", quoted.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_mistakes_get_their_corrected_line() {
        let c = |l: &str, m: &str| corrected_line(l, m).unwrap_or_default();
        assert_eq!(
            c("mode = 0640", "unexpected leading zero"),
            "mode = \"0640\"  (an octal string)"
        );
        assert_eq!(
            c("mode = 640 # www", "x"),
            "mode = \"0640\"  (an octal string)"
        );
        assert_eq!(
            c("[account]", "invalid type: map, expected a sequence"),
            "[[account]]  (one array table per gMSA)"
        );
        assert_eq!(
            c(
                "on-change = \"systemctl reload nginx\"",
                "expected a sequence"
            ),
            "on-change = [[\"systemctl\", \"reload\", \"nginx\"]]  (a list of argv lists; no shell)"
        );
        assert_eq!(
            c(
                "on-change = [\"systemctl\", \"reload\", \"nginx\"]",
                "expected a sequence"
            ),
            "on-change = [[\"systemctl\", \"reload\", \"nginx\"]]  (a list of argv lists; no shell)"
        );
        assert_eq!(
            c(
                "timeout-seconds = \"10\"",
                "invalid type: string \"10\", expected i64"
            ),
            "timeout-seconds = 10  (a number, unquoted)"
        );
        assert_eq!(
            c(
                "version = \"1\"",
                "invalid type: string \"1\", expected i64"
            ),
            "version = 1  (a number, unquoted)"
        );
        // nothing to suggest
        for (l, m) in [
            ("name = \"svc\"", "expected i64"),
            ("on-change = [[\"a\"]]", "x"),
            ("timeout-seconds = \"ten\"", "expected i64"),
            ("garbage", "x"),
            ("mode = \"0640\"", "x"),
        ] {
            assert_eq!(corrected_line(l, m), None, "{l}");
        }
    }
}
