//! The consumers of a keytab on a Linux farm, against keytabs that the real binary wrote from
//! the real Samba AD DC: a Java acceptor (JAAS Krb5LoginModule + GSSContext, as Tomcat, Kafka
//! and Hadoop run one), a python-gssapi acceptor, and Heimdal's `ktutil list --keys` and
//! `kinit -k`. The initiator is MIT krb5 (python-gssapi on MIT) signed in as host1$: it asks
//! the lab KDC for a real service ticket and hands the AP-REQ token to the acceptor.
//! Needs root (network namespace) and tests/lab/install-deps.sh (default-jdk-headless,
//! python3-gssapi, the unpacked Heimdal under /opt/gmsa-heimdal); run by tests/run-all.sh.

mod common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PY: &str = "/usr/bin/python3";
/// Where tests/lab/install-deps.sh unpacks Heimdal's client tools (they conflict with MIT's
/// packages on Debian, so they are not installed).
const HEIMDAL: &str = "/opt/gmsa-heimdal";

fn gss_py() -> String {
    root().join("tests/consumers/gss.py").display().to_string()
}

/// Syncs svc_aes$ (AES only: aes256 tickets) and svc_web$ (no enctype attribute: rc4 tickets)
/// into the scratch directory; returns (aes keytab, web keytab).
fn sync_two(s: &Scratch) -> (PathBuf, PathBuf) {
    let aes = s.path("aes.keytab");
    let web = s.path("web.keytab");
    let cfg = s.config(
        "servers = [\"dc1.example.test\"]",
        &format!(
            "[[account]]\nname = \"svc_aes$\"\nkeytab = \"{}\"\n\n[[account]]\nname = \"svc_web$\"\nkeytab = \"{}\"\n",
            aes.display(),
            web.display()
        ),
    );
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    (aes, web)
}

/// As host1$ (MIT kinit -k), gets a service ticket for `target` through python-gssapi and
/// returns the file holding the base64 AP-REQ token, and the ticket's enctype as `klist -e`
/// shows it.
fn token_for(s: &Scratch, target: &str) -> (PathBuf, String) {
    s.kinit_host();
    let file = s.path(&format!("token-{}", target.replace(['/', '$'], "_")));
    let o = s.exec(
        &[PY, &gss_py(), "initiate", target, file.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "initiate {target}: {}", text(&o));
    let l = s.exec(&["klist", "-e"], &[]);
    let out = String::from_utf8_lossy(&l.stdout).to_string();
    let mut lines = out.lines();
    let want = format!("{target}@{REALM}");
    let etype = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("no {want} in klist:\n{out}"));
        if line.split_whitespace().any(|w| w == want) {
            let next = lines.next().unwrap();
            break next.rsplit(", ").next().unwrap().trim().to_string();
        }
    };
    (file, etype)
}

/// A krb5.conf like a farm host's: the lab's, without `allow_weak_crypto`.
fn strict_krb5_conf(s: &Scratch) -> PathBuf {
    let base = fs::read_to_string(run_dir().join("krb5.conf")).unwrap();
    let strict: String = base
        .lines()
        .filter(|l| !l.contains("allow_weak_crypto"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!strict.contains("allow_weak"));
    let p = s.path("krb5-strict.conf");
    fs::write(&p, strict).unwrap();
    p
}

fn java_accept(conf: &Path, keytab: &Path, principal: &str, token: &Path) -> Output {
    Command::new("java")
        .arg(format!("-Djava.security.krb5.conf={}", conf.display()))
        .arg(root().join("tests/consumers/Acceptor.java"))
        .args([keytab.to_str().unwrap(), principal, token.to_str().unwrap()])
        .output()
        .expect("java (default-jdk-headless, tests/lab/install-deps.sh)")
}

fn py_accept(keytab: &Path, principal: &str, token: &Path) -> Output {
    Command::new(PY)
        .args([&gss_py(), "accept", keytab.to_str().unwrap(), principal])
        .arg(token)
        .output()
        .expect("python3")
}

fn assert_accepted(o: &Output, acceptor: &str) {
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success()
            && out.starts_with(&format!(
                "accepted initiator=host1$@EXAMPLE.TEST acceptor={acceptor}"
            )),
        "{}",
        text(o)
    );
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn java_accepts_aes_tickets_for_the_account_and_its_spn() {
    lab_up();
    let s = Scratch::new();
    let (aes, web) = sync_two(&s);
    let strict = strict_krb5_conf(&s);
    for target in ["HTTP/aes.example.test", "svc_aes$"] {
        let (token, etype) = token_for(&s, target);
        assert_eq!(etype, "aes256-cts-hmac-sha1-96", "{target}");
        let principal = format!("{target}@{REALM}");
        let o = java_accept(&strict, &aes, &principal, &token);
        assert_accepted(&o, &principal);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("session-enctype=18"),
            "{}",
            text(&o)
        );
        // The same token against a keytab without that principal's keys is refused: the
        // acceptor really decrypts the ticket with our key.
        let o = java_accept(&strict, &web, &principal, &token);
        assert!(!o.status.success(), "{}", text(&o));
    }
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn java_takes_rc4_tickets_only_with_allow_weak_crypto() {
    lab_up();
    let s = Scratch::new();
    let (_, web) = sync_two(&s);
    // svc_web$ has no msDS-SupportedEncryptionTypes: the KDC issues an RC4 ticket.
    let (token, etype) = token_for(&s, "HTTP/web.example.test");
    assert!(etype.contains("arcfour-hmac"), "{etype}");
    let principal = format!("HTTP/web.example.test@{REALM}");
    let o = java_accept(&strict_krb5_conf(&s), &web, &principal, &token);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("RC4 with HMAC is not supported/enabled"),
        "{}",
        text(&o)
    );
    let o = java_accept(&run_dir().join("krb5.conf"), &web, &principal, &token);
    assert_accepted(&o, &principal);
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn python_gssapi_accepts_aes_and_rc4_tickets() {
    lab_up();
    let s = Scratch::new();
    let (aes, web) = sync_two(&s);
    for (target, keytab, etype) in [
        ("HTTP/aes.example.test", &aes, "aes256-cts-hmac-sha1-96"),
        ("svc_aes$", &aes, "aes256-cts-hmac-sha1-96"),
        ("HTTP/web.example.test", &web, "DEPRECATED:arcfour-hmac"),
        ("HTTP/web", &web, "DEPRECATED:arcfour-hmac"),
    ] {
        let (token, got) = token_for(&s, target);
        assert_eq!(got, etype, "{target}");
        let principal = format!("{target}@{REALM}");
        assert_accepted(&py_accept(keytab, &principal, &token), &principal);
        let other = if keytab == &aes { &web } else { &aes };
        let o = py_accept(other, &principal, &token);
        assert!(!o.status.success(), "{}", text(&o));
    }
}

fn heimdal(tool: &str) -> (String, String) {
    let bin = format!("{HEIMDAL}/usr/bin/{tool}.heimdal");
    assert!(
        Path::new(&bin).exists(),
        "{bin} is missing: run tests/lab/install-deps.sh (it unpacks Heimdal there)"
    );
    (bin, format!("{HEIMDAL}/usr/lib/x86_64-linux-gnu"))
}

/// (principal, kvno, enctype name, key hex) rows of a keytab, from Heimdal's `ktutil list
/// --keys` or MIT's `klist -kKe`, in the order the file holds them.
fn heimdal_keys(keytab: &Path) -> Vec<(String, String, String, String)> {
    let (bin, lib) = heimdal("ktutil");
    let o = Command::new(&bin)
        .env("LD_LIBRARY_PATH", &lib)
        .args(["-k", keytab.to_str().unwrap(), "list", "--keys"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 4 && w[0].parse::<u32>().is_ok()).then(|| {
                (
                    w[2].to_string(),
                    w[0].to_string(),
                    w[1].to_string(),
                    w[3].to_string(),
                )
            })
        })
        .collect()
}

fn mit_keys(keytab: &Path) -> Vec<(String, String, String, String)> {
    let o = Command::new("klist")
        .args(["-kKe", keytab.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            // "   1 svc_web$@EXAMPLE.TEST (aes256-cts-hmac-sha1-96)  (0x3d5a...)"
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 4 && w[0].parse::<u32>().is_ok()).then(|| {
                let et = w[2].trim_matches(['(', ')']).replace("DEPRECATED:", "");
                // Heimdal names RC4 arcfour-hmac-md5, MIT arcfour-hmac.
                let et = if et == "arcfour-hmac" {
                    "arcfour-hmac-md5".to_string()
                } else {
                    et
                };
                (
                    w[1].to_string(),
                    w[0].to_string(),
                    et,
                    w[3].trim_matches(['(', ')'])
                        .trim_start_matches("0x")
                        .to_string(),
                )
            })
        })
        .collect()
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn heimdal_reads_the_keys_and_kinits_with_each() {
    lab_up();
    let s = Scratch::new();
    let (aes, web) = sync_two(&s);
    for kt in [&aes, &web] {
        let h = heimdal_keys(kt);
        assert!(!h.is_empty());
        assert_eq!(
            h,
            mit_keys(kt),
            "Heimdal and MIT read {} differently",
            kt.display()
        );
    }
    assert_eq!(heimdal_keys(&web).len(), 9);
    let (kinit, lib) = heimdal("kinit");
    let base = fs::read_to_string(run_dir().join("krb5.conf")).unwrap();
    for (kt, sam, etypes) in [
        (
            &aes,
            "svc_aes$",
            &["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"][..],
        ),
        (
            &web,
            "svc_web$",
            &[
                "aes256-cts-hmac-sha1-96",
                "aes128-cts-hmac-sha1-96",
                "arcfour-hmac-md5",
            ][..],
        ),
    ] {
        for e in etypes {
            // Heimdal reads the same krb5.conf format; default_etypes limits the AS request to
            // one enctype, so the reply is encrypted in that key of ours.
            let conf = s.path(&format!("heimdal-{e}.conf"));
            fs::write(
                &conf,
                base.replacen(
                    "[libdefaults]",
                    &format!("[libdefaults]\n\tdefault_etypes = {e}"),
                    1,
                ),
            )
            .unwrap();
            let principal = format!("{sam}@{REALM}");
            let lp = format!("LD_LIBRARY_PATH={lib}");
            let o = s.exec(
                &[
                    "env",
                    &lp,
                    &kinit,
                    "-k",
                    "-t",
                    kt.to_str().unwrap(),
                    &principal,
                ],
                &[("GMSALAB_KRB5_CONFIG", conf.to_str().unwrap())],
            );
            assert!(
                o.status.success(),
                "Heimdal kinit -k {principal} {e}: {}",
                text(&o)
            );
            // And with the wrong account's keytab it fails (the test can fail).
            let other = if kt == &aes { &web } else { &aes };
            let o = s.exec(
                &[
                    "env",
                    &lp,
                    &kinit,
                    "-k",
                    "-t",
                    other.to_str().unwrap(),
                    &principal,
                ],
                &[("GMSALAB_KRB5_CONFIG", conf.to_str().unwrap())],
            );
            assert!(!o.status.success(), "{}", text(&o));
        }
    }
}
