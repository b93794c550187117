//! `check-config` catches what would fail at run time, offline, through the real binary: each
//! case gets its exit status and a message naming the key and the fix.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod offline;
use offline::{BIN, text};

/// A scratch directory with a unit directory holding the shipped unit (ProtectSystem=strict,
/// ReadWritePaths=/etc/gmsa-keytab), so no test depends on what this machine has installed.
struct T {
    dir: tempfile::TempDir,
}

impl T {
    fn new() -> T {
        let t = T {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir(t.dir.path().join("units")).unwrap();
        fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/gmsa-keytab.service"),
            t.dir.path().join("units/gmsa-keytab.service"),
        )
        .unwrap();
        t
    }
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
    /// check-config on `top` (top-level keys) and one account table with `account` extra keys.
    fn check(&self, top: &str, keytab: &str, account: &str) -> Output {
        let cfg = self.p("config.toml");
        fs::write(
            &cfg,
            format!(
                "version = 1\nstate-dir = \"/var/lib/gmsa-keytab\"\n{top}\n[[account]]\nname = \"svc_web\"\nkeytab = \"{keytab}\"\n{account}"
            ),
        )
        .unwrap();
        self.raw(&cfg)
    }
    fn raw(&self, cfg: &str) -> Output {
        Command::new(BIN)
            .args(["check-config", "--unit-dir", &self.p("units"), cfg])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

const KT: &str = "/etc/gmsa-keytab/svc_web.keytab";

fn assert_78(o: &Output, want: &[&str]) {
    assert_eq!(o.status.code(), Some(78), "{}", text(o));
    for w in want {
        assert!(text(o).contains(w), "{w:?} not in:\n{}", text(o));
    }
}

#[test]
fn a_valid_file_passes() {
    let t = T::new();
    let o = t.check(
        "",
        KT,
        "on-change = [[\"systemctl\", \"reload\", \"nginx\"], [\"/bin/sh\", \"-c\", \"true\"]]\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn an_ip_address_in_servers() {
    let t = T::new();
    let o = t.check("servers = [\"dc1.example.com\", \"10.0.0.1\"]", KT, "");
    assert_78(
        &o,
        &[
            "config.toml:3: servers",
            "10.0.0.1\\\" is an IP address; give the DC's DNS host name",
        ],
    );
    let o = t.check("servers = [\"10.0.0.1:389\"]", KT, "");
    assert_78(&o, &["is an IP address"]);
}

#[test]
fn a_missing_ca_file() {
    let t = T::new();
    let ca = t.p("ca.pem");
    let o = t.check(
        &format!("protection = \"ldaps\"\nca-file = \"{ca}\""),
        KT,
        "",
    );
    assert_78(&o, &["ca-file: cannot read", "ca.pem"]);
    fs::write(&ca, "x").unwrap();
    let o = t.check(
        &format!("protection = \"ldaps\"\nca-file = \"{ca}\""),
        KT,
        "",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn relative_paths() {
    let t = T::new();
    for (key, line) in [("client-keytab", 3), ("metrics-file", 3), ("ca-file", 3)] {
        let o = t.check(&format!("{key} = \"relative/x\""), KT, "");
        assert_78(
            &o,
            &[&format!(
                "config.toml:{line}: {key}: relative/x must be an absolute path"
            )],
        );
    }
    // state-dir is line 2 of the test file.
    let cfg = t.p("state.toml");
    fs::write(
        &cfg,
        format!(
            "version = 1\nstate-dir = \"state\"\n[[account]]\nname = \"a\"\nkeytab = \"{KT}\"\n"
        ),
    )
    .unwrap();
    assert_78(
        &t.raw(&cfg),
        &["state.toml:2: state-dir: state must be an absolute path"],
    );
}

#[test]
fn a_keytab_path_that_is_a_directory() {
    let t = T::new();
    let o = t.check("", &t.p("units"), "");
    assert_78(
        &o,
        &[
            "keytab: account svc_web$:",
            "is a directory; name a file in it",
        ],
    );
}

#[test]
fn a_hook_program_that_does_not_exist() {
    let t = T::new();
    let o = t.check("", KT, "on-change = [[\"/usr/bin/no-such-gmsa-hook\"]]\n");
    assert_78(
        &o,
        &["/usr/bin/no-such-gmsa-hook\\\" is not an executable file"],
    );
    let o = t.check("", KT, "on-change = [[\"no-such-gmsa-hook\", \"x\"]]\n");
    assert_78(
        &o,
        &["no-such-gmsa-hook\\\" is not an executable file in the service's PATH"],
    );
    // a file that is not executable
    let f = t.p("hook.sh");
    fs::write(&f, "#!/bin/sh\n").unwrap();
    let o = t.check("", KT, &format!("on-change = [[\"{f}\"]]\n"));
    assert_78(&o, &["hook.sh\\\" is not an executable file"]);
}

#[test]
fn keytab_directory_outside_the_sandbox_is_a_warning_with_the_drop_in() {
    let t = T::new();
    let kt = t.p("web.keytab");
    let o = t.check("", &kt, "");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("level=warn"), "{err}");
    assert!(
        err.contains(&format!(
            "the service cannot write {}",
            t.dir.path().display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("ReadWritePaths=-{}", t.dir.path().display())),
        "{err}"
    );
    // With that drop-in, no warning.
    let d = t.dir.path().join("units/gmsa-keytab.service.d");
    fs::create_dir(&d).unwrap();
    fs::write(
        d.join("keytabs.conf"),
        format!(
            "[Service]\nPrivateTmp=no\nReadWritePaths=-{}\n",
            t.dir.path().display()
        ),
    )
    .unwrap();
    let o = t.check("", &kt, "");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("cannot write"), "{}", text(&o));
}

#[test]
fn common_toml_mistakes_get_the_corrected_line() {
    let t = T::new();
    let cases = [
        ("mode = 0640", "write: mode = \"0640\""),
        (
            "on-change = \"systemctl reload nginx\"",
            "write: on-change = [[\"systemctl\", \"reload\", \"nginx\"]]",
        ),
        (
            "on-change = [\"systemctl\", \"reload\", \"nginx\"]",
            "write: on-change = [[\"systemctl\", \"reload\", \"nginx\"]]",
        ),
    ];
    for (line, want) in cases {
        let o = t.check("", KT, &format!("{line}\n"));
        assert_78(&o, &["config.toml:7: syntax", &want.replace('"', "\\\"")]);
    }
    let o = t.check("timeout-seconds = \"10\"", KT, "");
    assert_78(
        &o,
        &["config.toml:3: syntax", "write: timeout-seconds = 10"],
    );
    let cfg = t.p("table.toml");
    fs::write(
        &cfg,
        format!("version = 1\n[account]\nname = \"a\"\nkeytab = \"{KT}\"\n"),
    )
    .unwrap();
    assert_78(
        &t.raw(&cfg),
        &["table.toml:2: syntax", "write: [[account]]"],
    );
}
