//! Faults against the real Samba AD DC: a DC restored to an older kvno, a DC that freezes in
//! the middle of a run (a TCP proxy in front of the DC, tests/lab/freeze_proxy.py), a client
//! clock hours off (libfaketime on the client only) and a wrong host key. Keys are judged by
//! MIT `kvno -k`. Needs root; run by tests/run-all.sh.

mod common;
use common::*;
use gmsa_keytab::keytab::{Entry, Keytab};
use gmsa_keytab::secret::SecretBytes;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
/// The frozen "DC": the proxy's address and name inside the lab namespace.
const PROXY_IP: &str = "127.0.0.11";
const PROXY_DC: &str = "dcproxy.example.test";

fn namespace() -> String {
    std::env::var("GMSALAB_NETNS").unwrap_or_else(|_| "gmsalab".into())
}

/// The lab on the real clock, whatever an earlier test left.
fn real_clock_lab() {
    let shifted = fs::read_to_string(run_dir().join("faketime"))
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    if shifted {
        lab(&["down"]);
    }
    lab(&["up"]);
}

fn field(log: &str, key: &str) -> i64 {
    log_field(log, key)
}

fn status_json(s: &Scratch, cfg: &Path) -> (Option<i32>, serde_json::Value) {
    let o = s.gmsa(&["status", "--json", "--config", cfg.to_str().unwrap()]);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    (o.status.code(), v)
}

fn kvno_line(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `samba-tool` against the live lab database (offline tool, inside the namespace).
fn samba_tool(args: &[&str]) -> std::process::Output {
    let dc = run_dir().join("dc");
    let conf = dc.join("etc/smb.conf");
    let sam = dc.join("private/sam.ldb");
    let mut cmd = vec!["samba-tool"];
    cmd.extend_from_slice(args);
    cmd.extend_from_slice(&["-s", conf.to_str().unwrap(), "-H", sam.to_str().unwrap()]);
    Scratch::new().exec(&cmd, &[])
}

/// Swaps the live DC database (`run/dc`) for `from`, keeping the old one at `keep` if given.
fn swap_dc_database(from: &Path, keep: Option<&Path>) {
    lab(&["stop-dc"]);
    let dc = run_dir().join("dc");
    if let Some(keep) = keep {
        let st = Command::new("cp")
            .args(["-a"])
            .arg(&dc)
            .arg(keep)
            .status()
            .unwrap();
        assert!(st.success());
    }
    fs::remove_dir_all(&dc).unwrap();
    let st = Command::new("cp")
        .args(["-a"])
        .arg(from)
        .arg(&dc)
        .status()
        .unwrap();
    assert!(st.success());
    fs::write(dc.join(".complete"), b"").unwrap();
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn a_dc_restored_to_an_older_kvno_never_takes_the_keytab_back() {
    // A pristine domain: svc_web$ at kvno 1.
    lab(&["down"]);
    lab(&["up"]);
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    let metrics = s.path("metrics.prom");
    // Two names for the DC: the second is asked when the first is behind.
    let cfg = s.config(
        &format!(
            "servers = [\"dc1.example.test\", \"dc1\"]\nmetrics-file = \"{}\"",
            metrics.display()
        ),
        &format!(
            "[[account]]\nname = \"svc_web$\"\nkeytab = \"{}\"\n",
            kt.display()
        ),
    );
    let sync = |extra: &[&str]| {
        let mut args = vec!["sync", "--config", cfg.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = s.gmsa(&args);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    let log = sync(&[]);
    assert_eq!(field(&log, "kvno"), 1, "{log}");
    let until_rollover = field(&log, "rotation_in_s");

    // After the rotation: kvno 2 (current) and 1 (previous).
    let after = format!("+{}", until_rollover + 3600);
    lab(&["restart", "--faketime", &after]);
    let log = sync(&[]);
    assert_eq!(field(&log, "kvno"), 2, "{log}");
    let held = fs::read(&kt).unwrap();
    let o = Scratch::new().kvno_k(&kt, "HTTP/web.example.test");
    assert!(
        kvno_line(&o).contains("kvno = 2, keytab entry valid"),
        "{}",
        text(&o)
    );

    // The DC is restored from the backup taken before the rotation (the golden copy the lab
    // started from) and runs on a clock before the rollover: Samba recomputes the rollover on
    // every read, so only such a DC answers with kvno 1 and the old password, as a restored
    // DC does in production. The up-to-date database is kept for later.
    let caught_up = s.path("dc-caught-up");
    swap_dc_database(&run_dir().join("golden/dc"), Some(&caught_up));
    let before = format!("+{}", until_rollover - 7200);
    lab(&["restart", "--faketime", &before]);

    let log = sync(&["--force"]);
    assert!(log.contains("domain controller is behind"), "{log}");
    assert!(
        log.contains("asked=dc1.example.test,dc1"),
        "the other DC was tried: {log}"
    );
    assert_eq!(field(&log, "dc_kvno"), 1, "{log}");
    assert_eq!(field(&log, "keytab_kvno"), 2, "{log}");
    // The kvno 2 keys are kept: the keytab is byte-identical.
    assert_eq!(fs::read(&kt).unwrap(), held, "the keytab changed");
    // Tickets from the restored KDC (kvno 1) validate with the keys the keytab kept.
    let o = Scratch::new().kvno_k(&kt, "HTTP/web.example.test");
    assert!(
        kvno_line(&o).contains("kvno = 1, keytab entry valid"),
        "{}",
        text(&o)
    );

    // Visible: status WARNING (exit 1) naming the DC, in text and JSON; metrics.
    let (code, v) = status_json(&s, &cfg);
    assert_eq!(code, Some(1), "{v}");
    let a = &v["accounts"][0];
    assert_eq!(a["status"], "warning", "{v}");
    assert_eq!(a["kvno"], 2, "{v}");
    assert_eq!(a["dc_behind"]["dc_kvno"], 1, "{v}");
    assert_eq!(a["dc_behind"]["keytab_kvno"], 2, "{v}");
    assert_eq!(a["dc_behind"]["server"], "dc1.example.test", "{v}");
    // Asked again within minutes, not at the next safety re-check.
    let wait = a["next_query"].as_u64().unwrap() - v["now"].as_u64().unwrap();
    assert!((1..=330).contains(&wait), "next query in {wait} s");
    let o = s.gmsa(&["status", "--config", cfg.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("DC behind") && out.contains("dc1.example.test reports kvno 1"),
        "{out}"
    );
    let m = fs::read_to_string(&metrics).unwrap();
    let sample = |name: &str| {
        m.lines()
            .find(|l| l.starts_with(&format!("{name}{{account=\"svc_web$\"")))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_string)
    };
    assert_eq!(sample("gmsa_keytab_dc_behind").as_deref(), Some("1"), "{m}");
    assert_eq!(sample("gmsa_keytab_dc_kvno").as_deref(), Some("1"), "{m}");
    assert_eq!(sample("gmsa_keytab_kvno").as_deref(), Some("2"), "{m}");

    // Control: what the tool did before (the DC's kvno 1 keys only) rejects kvno 2 tickets.
    let mut old_way = Keytab::parse(&held).unwrap();
    old_way.entries.retain(|e| e.kvno == 1);
    let kt1 = s.path("kvno1-only.keytab");
    fs::write(&kt1, old_way.to_bytes().unwrap().as_slice()).unwrap();

    // The DC catches up (its database after the rotation, the clock after the rollover).
    swap_dc_database(&caught_up, None);
    lab(&["restart", "--faketime", &after]);
    let o = Scratch::new().kvno_k(&kt1, "HTTP/web.example.test");
    assert!(
        !o.status.success(),
        "a kvno 2 ticket validated without kvno 2 keys: {}",
        text(&o)
    );
    // The next scheduled run (no --force) resolves it the normal way.
    let log = sync(&[]);
    assert!(!log.contains("behind"), "{log}");
    assert_eq!(field(&log, "kvno"), 2, "{log}");
    let (code, v) = status_json(&s, &cfg);
    assert_eq!(code, Some(0), "{v}");
    assert!(v["accounts"][0]["dc_behind"].is_null(), "{v}");
    let o = Scratch::new().kvno_k(&kt, "HTTP/web.example.test");
    assert!(
        kvno_line(&o).contains("kvno = 2, keytab entry valid"),
        "{}",
        text(&o)
    );

    lab(&["down"]);
}

/// The freezing proxy, killed on drop.
struct Proxy(Child);

impl Proxy {
    /// A second "DC" at PROXY_DC that forwards to the lab DC and freezes after `after` sealed
    /// LDAP replies (-1: never).
    fn start(after: i32) -> Proxy {
        // The name, the address (any 127/8 address is local on lo) and an ldap/ SPN on the DC
        // account so the KDC issues the ticket the bind needs.
        let hosts = PathBuf::from(format!("/etc/netns/{}/hosts", namespace()));
        let h = fs::read_to_string(&hosts).unwrap();
        if !h.contains(PROXY_DC) {
            fs::write(&hosts, format!("{h}{PROXY_IP}\t{PROXY_DC}\n")).unwrap();
        }
        let spn = format!("ldap/{PROXY_DC}");
        let o = samba_tool(&["spn", "add", &spn, "DC1$"]);
        assert!(
            o.status.success() || text(&o).contains("already"),
            "{}",
            text(&o)
        );
        let mut child = Command::new("bash")
            .arg(root().join("tests/lab/lab.sh"))
            .args(["exec", "/usr/bin/python3"])
            .arg(root().join("tests/lab/freeze_proxy.py"))
            .args([PROXY_IP, "127.0.0.10", &after.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Proxy(child)
    }
}

impl Proxy {
    /// Stops the proxy; when it froze, the instant it did (seconds since the epoch).
    fn frozen_at(mut self) -> Option<f64> {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let mut err = String::new();
        use std::io::Read;
        self.0.stderr.take()?.read_to_string(&mut err).ok()?;
        err.lines()
            .find_map(|l| l.rsplit_once(" at ").filter(|_| l.starts_with("frozen")))
            .and_then(|(_, t)| t.trim().parse().ok())
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bulk_config(s: &Scratch, servers: &str, timeout: u32, n: usize) -> (PathBuf, PathBuf) {
    let kt = s.path("bulk.keytab");
    let mut accounts = String::new();
    for i in 1..=n {
        accounts.push_str(&format!(
            "[[account]]\nname = \"svc_bulk{i:02}$\"\nkeytab = \"{}\"\n",
            kt.display()
        ));
    }
    let cfg = s.config(
        &format!("servers = [{servers}]\ntimeout-seconds = {timeout}"),
        &accounts,
    );
    (cfg, kt)
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn a_dc_frozen_mid_run_costs_one_timeout() {
    real_clock_lab();
    const TIMEOUT: u64 = 5;
    const ACCOUNTS: usize = 20;
    const SLACK: f64 = 5.0;

    // The frozen DC first, the real one second: the accounts left move to dc1.
    {
        let proxy = Proxy::start(12);
        let s = Scratch::new();
        let (cfg, kt) = bulk_config(
            &s,
            &format!("\"{PROXY_DC}\", \"dc1.example.test\""),
            TIMEOUT as u32,
            ACCOUNTS,
        );
        let t0 = Instant::now();
        let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
        let (took, ended) = (t0.elapsed(), unix_now());
        let after_freeze = ended - proxy.frozen_at().expect("the proxy froze");
        let log = text(&o);
        assert!(o.status.success(), "{log}");
        assert_eq!(
            log.matches("domain controller failed; moving to the next one")
                .count(),
            1,
            "{log}"
        );
        let by_proxy = log.matches(&format!("server={PROXY_DC} kvno=")).count();
        let by_dc1 = log.matches("server=dc1.example.test kvno=").count();
        assert!(by_proxy >= 1 && by_dc1 >= 1, "{log}");
        assert_eq!(by_proxy + by_dc1, ACCOUNTS, "{log}");
        // One timeout for the freeze, not one per remaining account (which would be at least
        // (ACCOUNTS - by_proxy) × TIMEOUT = 75 s): the run ends about one TIMEOUT after the
        // freeze plus the work on dc1 (release build: ~5.3 s). The bound leaves room for a
        // loaded machine and a debug build (key derivation) and still tells the two apart.
        assert!(
            after_freeze < SLACK + (2 * TIMEOUT) as f64,
            "ended {after_freeze:.1} s after the freeze: {log}"
        );
        eprintln!(
            "frozen DC, then dc1: run {took:?}, ended {after_freeze:.2} s after the freeze, \
             {ACCOUNTS} accounts ({by_proxy} before the freeze)"
        );
        // Keys from both DCs validate.
        for spn in ["HTTP/bulk01.example.test", "HTTP/bulk20.example.test"] {
            let o = Scratch::new().kvno_k(&kt, spn);
            assert!(kvno_line(&o).contains("keytab entry valid"), "{}", text(&o));
        }
    }

    // The frozen DC is the only one: the accounts left fail at once, exit 75.
    {
        let proxy = Proxy::start(12);
        let s = Scratch::new();
        let (cfg, kt) = bulk_config(&s, &format!("\"{PROXY_DC}\""), TIMEOUT as u32, ACCOUNTS);
        let t0 = Instant::now();
        let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
        let (took, ended) = (t0.elapsed(), unix_now());
        let after_freeze = ended - proxy.frozen_at().expect("the proxy froze");
        let log = text(&o);
        assert_eq!(o.status.code(), Some(75), "{log}");
        let synced = log.matches("msg=\"account synced\"").count();
        let failed = log.matches("the domain controller in use failed").count();
        assert!(synced >= 1, "{log}");
        assert_eq!(synced + failed, ACCOUNTS, "{log}");
        assert!(
            after_freeze < SLACK + (2 * TIMEOUT) as f64,
            "ended {after_freeze:.1} s after the freeze: {log}"
        );
        eprintln!(
            "frozen DC alone: run {took:?}, ended {after_freeze:.2} s after the freeze, \
             {synced} synced, {failed} failed"
        );
        // What was synced before the freeze is on disk and valid.
        let o = Scratch::new().kvno_k(&kt, "HTTP/bulk01.example.test");
        assert!(kvno_line(&o).contains("keytab entry valid"), "{}", text(&o));
    }
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn a_client_clock_hours_off_exits_75_and_names_the_offset() {
    real_clock_lab();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    let cfg = s.config(
        "servers = [\"dc1.example.test\"]",
        &format!(
            "[[account]]\nname = \"svc_web$\"\nkeytab = \"{}\"\n",
            kt.display()
        ),
    );
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let before = fs::read(&kt).unwrap();

    // Only this client's clock is shifted (the DC keeps the real one).
    let skewed = |offset: &str| {
        s.exec(
            &[
                "env",
                &format!("LD_PRELOAD={FAKETIME_LIB}"),
                &format!("FAKETIME={offset}"),
                "FAKETIME_DONT_RESET=1",
                BIN,
                "sync",
                "--force",
                "--config",
                cfg.to_str().unwrap(),
            ],
            &[],
        )
    };
    // 11 hours ahead: the tickets the KDC issues are already expired by this host's clock.
    let o = skewed("+11h");
    let log = text(&o);
    assert_eq!(o.status.code(), Some(75), "{log}");
    assert!(log.contains("clock skew"), "{log}");
    assert!(log.contains("ahead of the KDC's"), "{log}");
    let offset = field(&log, "offset_s");
    assert!((39_590..=39_610).contains(&offset), "{log}");
    assert!(
        log.contains("this host's clock is 11 h 0 min") || log.contains("10 h 59 min"),
        "{log}"
    );
    assert_eq!(fs::read(&kt).unwrap(), before, "the keytab changed");
    let (_, v) = status_json(&s, &cfg);
    assert_eq!(v["accounts"][0]["last_exit"], 75, "{v}");

    // 11 hours behind: MIT works with the KDC's time, the sync succeeds, and the offset is
    // still reported (the services using the keytab would reject tickets).
    let o = skewed("-11h");
    let log = text(&o);
    assert!(o.status.success(), "{log}");
    assert!(log.contains("behind the KDC's"), "{log}");
    assert!(
        (-39_610..=-39_590).contains(&field(&log, "offset_s")),
        "{log}"
    );
}

/// The host keytab with every key changed: the KDC refuses its pre-authentication.
fn wrong_host_keytab(s: &Scratch) -> PathBuf {
    let kt = Keytab::parse(&fs::read(host_keytab()).unwrap()).unwrap();
    let entries = kt
        .entries
        .iter()
        .map(|e| {
            let key: Vec<u8> = e.key.expose().iter().map(|b| b ^ 0x5a).collect();
            Entry::new(
                e.principal.clone(),
                e.timestamp,
                e.kvno,
                e.enctype,
                SecretBytes::new(key),
            )
        })
        .collect();
    let p = s.path("wrong.keytab");
    fs::write(&p, Keytab { entries }.to_bytes().unwrap().as_slice()).unwrap();
    p
}

fn bad_pwd_count() -> u64 {
    let sam = run_dir().join("dc/private/sam.ldb");
    let o = Scratch::new().exec(
        &[
            "ldbsearch",
            "-H",
            sam.to_str().unwrap(),
            "(sAMAccountName=host1$)",
            "badPwdCount",
        ],
        &[],
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("badPwdCount: "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn a_wrong_host_key_backs_off_an_hour() {
    real_clock_lab();
    let s = Scratch::new();
    let wrong = wrong_host_keytab(&s);
    let kt = s.path("web.keytab");
    let cfg = s.path("wrong.toml");
    fs::write(
        &cfg,
        format!(
            "version = 1\nclient-keytab = \"{}\"\nstate-dir = \"{}\"\nservers = [\"dc1.example.test\"]\n\
             [[account]]\nname = \"svc_web$\"\nkeytab = \"{}\"\n\
             [[account]]\nname = \"svc_aes$\"\nkeytab = \"{}\"\n",
            wrong.display(),
            s.path("state").display(),
            kt.display(),
            s.path("aes.keytab").display()
        ),
    )
    .unwrap();

    // Samba counts failed logons only under a lockout policy (it locks out users, not
    // machine accounts).
    let o = samba_tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--account-lockout-threshold=5",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bad_before = bad_pwd_count();
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    let log = text(&o);
    assert_eq!(o.status.code(), Some(77), "{log}");
    assert!(log.contains("the KDC refused host1$@EXAMPLE.TEST"), "{log}");
    let per_run = bad_pwd_count() - bad_before;
    eprintln!("failed pre-authentications per run with a wrong host key: {per_run}");
    assert!(per_run >= 1, "badPwdCount did not move");
    assert!(!kt.exists());

    // Both accounts retry together, at least an hour later; status shows it.
    let (code, v) = status_json(&s, &cfg);
    assert_eq!(code, Some(2), "never synced: critical {v}");
    let now = v["now"].as_u64().unwrap();
    let next: Vec<u64> = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["next_query"].as_u64().unwrap())
        .collect();
    assert!(next.iter().all(|n| *n >= now + 3590), "{v}");
    assert!(next.iter().all(|n| *n <= now + 3600 + 360), "{v}");
    assert_eq!(next[0], next[1], "one retry instant for the host: {v}");
    for a in v["accounts"].as_array().unwrap() {
        assert_eq!(a["last_exit"], 77, "{v}");
    }
    let o = s.gmsa(&["status", "--config", cfg.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("last error (exit 77)"),
        "{}",
        text(&o)
    );

    // The next timer ticks do not try again (no failed logon), even though the keytabs are
    // missing and the accounts were never synced.
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("nothing due"), "{}", text(&o));
    assert!(text(&o).contains("sync --force"), "{}", text(&o));
    assert_eq!(bad_pwd_count() - bad_before, per_run);
    let o = samba_tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--account-lockout-threshold=0",
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // A permission denial (host1$ may not read svc_denied$) backs off the same way.
    let cfg2 = s.config(
        "servers = [\"dc1.example.test\"]",
        &format!(
            "[[account]]\nname = \"svc_denied$\"\nkeytab = \"{}\"\n",
            s.path("denied.keytab").display()
        ),
    );
    let o = s.gmsa(&["sync", "--config", cfg2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(77), "{}", text(&o));
    let (_, v) = status_json(&s, &cfg2);
    let a = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == "svc_denied$")
        .unwrap();
    assert!(
        a["next_query"].as_u64().unwrap() >= v["now"].as_u64().unwrap() + 3590,
        "{v}"
    );
}
