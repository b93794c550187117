//! `doctor`'s report: every check with its verdict and, for each problem, the fix. Pure: the
//! checks are gathered by `cli::doctor`; this module only orders, counts and renders them.
//!
//! - [`advice`]: verdicts and fix texts for directory findings (enctypes, clock, readers);
//! - [`sandbox`]: which paths the service unit lets the sync write.

pub mod advice;
pub mod sandbox;

use serde::Serialize;

/// Version of the `--json` document; raised when a field changes meaning or disappears.
pub const JSON_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Not checked: a check it depends on failed, or it does not apply here.
    Skip,
    Warn,
    Fail,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Skip => "SKIP",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The group it belongs to: files, time, dcs, an account name, schedule.
    pub section: String,
    /// What was checked, short: "host keytab", "TCP 88 and 389".
    pub check: String,
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it (WARN and FAIL; a PASS may carry advice too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The checks in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn add(
        &mut self,
        section: &str,
        check: &str,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.checks.push(Check {
            section: section.to_string(),
            check: check.to_string(),
            verdict,
            detail: detail.into(),
            fix,
        });
    }

    pub fn pass(&mut self, section: &str, check: &str, detail: impl Into<String>) {
        self.add(section, check, Verdict::Pass, detail, None);
    }

    pub fn skip(&mut self, section: &str, check: &str, detail: impl Into<String>) {
        self.add(section, check, Verdict::Skip, detail, None);
    }

    pub fn warn(&mut self, section: &str, check: &str, detail: impl Into<String>, fix: String) {
        self.add(section, check, Verdict::Warn, detail, Some(fix));
    }

    pub fn fail(&mut self, section: &str, check: &str, detail: impl Into<String>, fix: String) {
        self.add(section, check, Verdict::Fail, detail, Some(fix));
    }

    pub fn count(&self, v: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == v).count()
    }

    /// 0 when nothing is wrong, 1 with warnings, 2 with failures.
    pub fn exit_code(&self) -> u8 {
        match self.checks.iter().map(|c| c.verdict).max() {
            Some(Verdict::Fail) => 2,
            Some(Verdict::Warn) => 1,
            _ => 0,
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} passed, {} warnings, {} failed, {} skipped",
            self.count(Verdict::Pass),
            self.count(Verdict::Warn),
            self.count(Verdict::Fail),
            self.count(Verdict::Skip)
        )
    }

    /// Section names in the order they first appear.
    fn sections(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.checks {
            if !out.contains(&c.section.as_str()) {
                out.push(&c.section);
            }
        }
        out
    }

    /// For a person: each section's checks under its heading (sections in the order they first
    /// ran, checks in run order), one line each, the fix indented below.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for (i, section) in self.sections().into_iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(section);
            out.push('\n');
            for c in self.checks.iter().filter(|c| c.section == section) {
                self.render_check(&mut out, c);
            }
        }
        out.push_str(&format!("\ndoctor: {}\n", self.summary()));
        out
    }

    fn render_check(&self, out: &mut String, c: &Check) {
        out.push_str(&format!(
            "  {}  {}: {}\n",
            c.verdict.label(),
            c.check,
            c.detail
        ));
        if let Some(fix) = &c.fix {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix: " } else { "     " };
                out.push_str(&format!("        {lead}{line}\n"));
            }
        }
    }

    /// For programs: `{"schema": 1, "exit": N, "summary": {...}, "checks": [...]}`.
    pub fn render_json(&self) -> String {
        let doc = serde_json::json!({
            "schema": JSON_SCHEMA,
            "exit": self.exit_code(),
            "summary": {
                "pass": self.count(Verdict::Pass),
                "warn": self.count(Verdict::Warn),
                "fail": self.count(Verdict::Fail),
                "skip": self.count(Verdict::Skip),
            },
            "checks": self.checks,
        });
        format!("{doc}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_is_the_worst_verdict() {
        let mut r = Report::default();
        assert_eq!(r.exit_code(), 0);
        r.pass("files", "config", "ok");
        r.skip("schedule", "timer", "no systemd");
        assert_eq!(r.exit_code(), 0);
        r.warn("svc_web$", "enctypes", "rc4", "set 0x18".into());
        assert_eq!(r.exit_code(), 1);
        r.fail("dcs", "bind", "refused", "re-join".into());
        assert_eq!(r.exit_code(), 2);
    }

    #[test]
    fn text_groups_sections_and_indents_fixes() {
        let mut r = Report::default();
        r.pass("files", "config", "/etc/gmsa-keytab/config.toml: 1 account");
        r.fail(
            "files",
            "host keytab",
            "cannot read /etc/krb5.keytab",
            "join the host\nor set client-keytab".into(),
        );
        r.pass("time", "clock offset", "0 s");
        r.pass("files", "late", "grouped with its section");
        let text = r.render_text();
        assert_eq!(
            text,
            "files\n  PASS  config: /etc/gmsa-keytab/config.toml: 1 account\n  FAIL  host keytab: \
             cannot read /etc/krb5.keytab\n        fix: join the host\n             or set \
             client-keytab\n  PASS  late: grouped with its section\n\ntime\n  PASS  clock offset: \
             0 s\n\ndoctor: 3 passed, 0 warnings, 1 failed, 0 skipped\n"
        );
        let json: serde_json::Value = serde_json::from_str(&r.render_json()).unwrap();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["exit"], 2);
        assert_eq!(json["checks"][1]["verdict"], "fail");
        assert_eq!(
            json["checks"][1]["fix"],
            "join the host\nor set client-keytab"
        );
        assert!(json["checks"][0].get("fix").is_none());
    }
}
