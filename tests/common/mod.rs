//! Shared helpers for the lab tests: the Samba AD DC in network namespace `gmsalab`
//! (tests/lab/lab.sh), the real gmsa-keytab binary run inside it, and MIT tools as judges.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;

pub const BIN: &str = env!("CARGO_BIN_EXE_gmsa-keytab");
pub const REALM: &str = "EXAMPLE.TEST";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run_dir() -> PathBuf {
    root().join("tests/lab/run")
}

pub fn host_keytab() -> PathBuf {
    run_dir().join("host1.keytab")
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `lab.sh ARGS`, panicking on failure.
pub fn lab(args: &[&str]) -> Output {
    let o = Command::new("bash")
        .arg(root().join("tests/lab/lab.sh"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    assert!(o.status.success(), "lab.sh {args:?} failed:\n{}", text(&o));
    o
}

static UP: Once = Once::new();

/// Brings the lab up on the real clock (once per test binary). A lab left on a shifted clock
/// by an earlier test is restarted on the real one.
pub fn lab_up() {
    UP.call_once(|| {
        // An earlier test binary may have left the lab on a shifted clock.
        let shifted = fs::read_to_string(run_dir().join("faketime"))
            .map(|s| !s.trim().is_empty())
            .unwrap_or(false);
        if shifted {
            lab(&["down"]);
        }
        lab(&["up"]);
    });
}

/// A scratch directory for one test, with its own ccache path.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::Builder::new()
                .prefix("gmsa-lab-")
                .tempdir()
                .unwrap(),
        }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn ccache(&self) -> String {
        format!("FILE:{}", self.path("ccache").display())
    }
    /// Runs CMD inside the lab namespace with this scratch's ccache and extra env.
    pub fn exec(&self, cmd: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new("bash");
        c.arg(root().join("tests/lab/lab.sh"))
            .arg("exec")
            .args(cmd)
            .env("GMSALAB_CCACHE", self.ccache())
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("lab.sh exec")
    }
    /// The real binary, inside the lab.
    pub fn gmsa(&self, args: &[&str]) -> Output {
        let mut cmd = vec![BIN];
        cmd.extend_from_slice(args);
        self.exec(&cmd, &[])
    }
    /// Writes a config file with the lab's client settings and the given account tables.
    pub fn config(&self, servers: &str, accounts: &str) -> PathBuf {
        let p = self.path("config.toml");
        fs::write(
            &p,
            format!(
                "version = 1\nclient-keytab = \"{}\"\nstate-dir = \"{}\"\n{servers}\n{accounts}",
                host_keytab().display(),
                self.path("state").display()
            ),
        )
        .unwrap();
        p
    }
    /// A krb5.conf like the lab's, restricted to one enctype for ticket requests.
    pub fn krb5_conf_only(&self, enctype: &str) -> PathBuf {
        let base = fs::read_to_string(run_dir().join("krb5.conf")).unwrap();
        let restricted = base.replacen(
            "[libdefaults]",
            &format!(
                "[libdefaults]\n default_tkt_enctypes = {enctype}\n default_tgs_enctypes = {enctype}\n permitted_enctypes = {enctype}"
            ),
            1,
        );
        let p = self.path(&format!("krb5-{enctype}.conf"));
        fs::write(&p, restricted).unwrap();
        p
    }
    /// `kinit -k` as `principal` from `keytab`, asking the KDC for `enctype` only.
    pub fn kinit_k(&self, keytab: &Path, principal: &str, enctype: &str) -> Output {
        let conf = self.krb5_conf_only(enctype);
        self.exec(
            &["kinit", "-k", "-t", keytab.to_str().unwrap(), principal],
            &[("GMSALAB_KRB5_CONFIG", conf.to_str().unwrap())],
        )
    }
    /// `kinit -k` as host1$ from the lab's host keytab into this scratch's ccache.
    pub fn kinit_host(&self) {
        let k = self.exec(
            &[
                "kinit",
                "-k",
                "-t",
                host_keytab().to_str().unwrap(),
                "host1$@EXAMPLE.TEST",
            ],
            &[],
        );
        assert!(k.status.success(), "kinit host1$: {}", text(&k));
    }
    /// As host1$, gets a service ticket for `spn` and has MIT validate it with `keytab`.
    pub fn kvno_k(&self, keytab: &Path, spn: &str) -> Output {
        self.kinit_host();
        self.exec(&["kvno", "-k", keytab.to_str().unwrap(), spn], &[])
    }
}

/// Stops the lab DC until dropped (then starts it again, even if the test failed).
pub struct DcStopped;

impl DcStopped {
    pub fn new() -> DcStopped {
        lab(&["stop-dc"]);
        DcStopped
    }
}

impl Drop for DcStopped {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("tests/lab/lab.sh"))
            .arg("start-dc")
            .stdin(Stdio::null())
            .output();
    }
}

/// `show --json` of a keytab: (principal, kvno, enctype) rows.
pub fn entries(keytab: &Path) -> Vec<(String, u64, u64)> {
    let o = Command::new(BIN)
        .args(["show", "--json"])
        .arg(keytab)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    v.iter()
        .map(|e| {
            (
                e["principal"].as_str().unwrap().to_string(),
                e["kvno"].as_u64().unwrap(),
                e["enctype"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The configuration line naming the lab's DC directly (no DNS SRV lookup).
pub const SERVER: &str = "servers = [\"dc1.example.test\"]";

/// One `[[account]]` table, with `extra` lines (e.g. `enctypes = [...]`) appended.
pub fn account(name: &str, keytab: &Path, extra: &str) -> String {
    format!(
        "[[account]]\nname = \"{name}\"\nkeytab = \"{}\"\n{extra}\n",
        keytab.display()
    )
}

/// The number in the log field `key=NUMBER` (the first such field), e.g. `kvno=2` or
/// `offset_s=-39600`.
pub fn log_field<T>(log: &str, key: &str) -> T
where
    T: std::str::FromStr,
    T::Err: std::fmt::Debug,
{
    let pat = format!(" {key}=");
    let at = log
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {log}"))
        + pat.len();
    log[at..]
        .split(|c: char| c != '-' && !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{key}: {e:?} in {log}"))
}
