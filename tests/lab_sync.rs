//! `gmsa-keytab sync` against the real Samba AD DC of tests/lab, judged by MIT `kinit -k` and
//! `kvno -k`. Needs root (network namespace); run by tests/run-all.sh with `--ignored`.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;

type Case<'a> = (&'a str, &'a [&'a str], &'a [u64], &'a [&'a str]);

/// Every enctype in `enctypes` passes `kinit -k` as the gMSA, and every SPN passes `kvno -k`.
fn assert_keytab_works(
    s: &Scratch,
    keytab: &std::path::Path,
    sam: &str,
    spns: &[&str],
    enctypes: &[&str],
) {
    for e in enctypes {
        let o = s.kinit_k(keytab, &format!("{sam}@{REALM}"), e);
        assert!(o.status.success(), "kinit -k {sam} with {e}: {}", text(&o));
    }
    for spn in spns {
        let o = s.kvno_k(keytab, spn);
        assert!(o.status.success(), "kvno -k {spn}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("keytab entry valid"),
            "{}",
            text(&o)
        );
    }
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn web_account_with_two_spns() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    let cfg = s.config(SERVER, &account("svc_web$", &kt, "mode = \"0640\""));
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = entries(&kt);
    // Attribute absent: AES256 + AES128 + RC4, for the account and both SPNs, at one kvno
    // (a fresh gMSA has no previous password yet).
    let principals: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert!(principals.contains(&"svc_web$@EXAMPLE.TEST"));
    assert!(principals.contains(&"HTTP/web.example.test@EXAMPLE.TEST"));
    assert!(principals.contains(&"HTTP/web@EXAMPLE.TEST"));
    let mut ets: Vec<u64> = rows.iter().map(|r| r.2).collect();
    ets.sort();
    ets.dedup();
    assert_eq!(ets, [17, 18, 23]);
    assert_eq!(fs::metadata(&kt).unwrap().mode() & 0o7777, 0o640);
    assert_keytab_works(
        &s,
        &kt,
        "svc_web$",
        &["HTTP/web.example.test", "HTTP/web"],
        &[
            "aes256-cts-hmac-sha1-96",
            "aes128-cts-hmac-sha1-96",
            "rc4-hmac",
        ],
    );
    // A second run (forced past the schedule, so it really reads the DC again) changes
    // nothing: same inode, same mtime.
    let before = fs::metadata(&kt).unwrap();
    let o = s.gmsa(&["sync", "--force", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("outcome=unchanged"), "{}", text(&o));
    let after = fs::metadata(&kt).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn enctype_variants_follow_the_account() {
    lab_up();
    let s = Scratch::new();
    // (account, SPNs, enctypes in the keytab, enctypes kinit must succeed with)
    let cases: [Case; 4] = [
        // RC4 only: AES too, which the KDC pre-authenticates the account with.
        (
            "svc_rc4$",
            &["HTTP/rc4.example.test"],
            &[17, 18, 23],
            &[
                "aes256-cts-hmac-sha1-96",
                "aes128-cts-hmac-sha1-96",
                "rc4-hmac",
            ],
        ),
        (
            "svc_aes$",
            &["HTTP/aes.example.test"],
            &[17, 18],
            &["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"],
        ),
        (
            "svc_aes128$",
            &["HTTP/aes128.example.test", "MSSQLSvc/db.example.test:1433"],
            &[17, 18],
            &["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"],
        ),
        (
            "svc_none$",
            &["HTTP/none.example.test"],
            &[17, 18, 23],
            &[
                "aes256-cts-hmac-sha1-96",
                "aes128-cts-hmac-sha1-96",
                "rc4-hmac",
            ],
        ),
    ];
    let mut tables = String::new();
    for (name, _, _, _) in &cases {
        tables.push_str(&account(name, &s.path(&format!("{name}.keytab")), ""));
    }
    let cfg = s.config(SERVER, &tables);
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for (name, spns, want, kinit_etypes) in cases {
        let kt = s.path(&format!("{name}.keytab"));
        let mut ets: Vec<u64> = entries(&kt).iter().map(|r| r.2).collect();
        ets.sort();
        ets.dedup();
        assert_eq!(ets, want, "{name}");
        assert_keytab_works(&s, &kt, name, spns, kinit_etypes);
    }
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn unreadable_account_is_77_and_keytab_untouched() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("denied.keytab");
    fs::write(&kt, b"\x05\x02").unwrap();
    let before = fs::read(&kt).unwrap();
    let ino = fs::metadata(&kt).unwrap().ino();
    let cfg = s.config(SERVER, &account("svc_denied$", &kt, ""));
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(77), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("svc_denied$"), "{t}");
    assert!(
        t.contains("PrincipalsAllowedToRetrieveManagedPassword")
            || t.contains("msDS-GroupMSAMembership"),
        "{t}"
    );
    assert_eq!(fs::read(&kt).unwrap(), before);
    assert_eq!(fs::metadata(&kt).unwrap().ino(), ino);
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn missing_account_is_67_and_other_accounts_still_sync() {
    lab_up();
    let s = Scratch::new();
    let missing = s.path("missing.keytab");
    let good = s.path("good.keytab");
    let cfg = s.config(
        SERVER,
        &(account("svc_nosuch$", &missing, "") + &account("svc_rc4$", &good, "")),
    );
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(67), "{}", text(&o));
    assert!(text(&o).contains("svc_nosuch$"), "{}", text(&o));
    assert!(!missing.exists());
    assert!(
        !entries(&good).is_empty(),
        "the readable account is still written"
    );
    // A computer that is not a gMSA is reported the same way.
    let o = s.gmsa(&[
        "sync",
        "--server",
        "dc1.example.test",
        "--client-keytab",
        host_keytab().to_str().unwrap(),
        "--account",
        "host2$",
        "--keytab",
        s.path("h2.keytab").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(67), "{}", text(&o));
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn dns_srv_discovery_and_failover() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    // No servers: _ldap._tcp.dc._msdcs.example.test from the lab's DNS.
    let cfg = s.config("", &account("svc_web", &kt, ""));
    let o = s.gmsa(&[
        "sync",
        "--config",
        cfg.to_str().unwrap(),
        "--log-level",
        "debug",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("dc1.example.test"), "{}", text(&o));
    // A dead DC first in the list: the next one is used.
    let kt2 = s.path("web2.keytab");
    let cfg = s.config(
        "servers = [\"nodc.example.test\", \"dc1.example.test\"]",
        &account("svc_web", &kt2, ""),
    );
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(entries(&kt).len(), entries(&kt2).len());
    // Only dead DCs: a temporary failure (75) naming each attempt.
    let kt3 = s.path("web3.keytab");
    let cfg = s.config(
        "servers = [\"nodc.example.test\", \"nodc2.example.test\"]",
        &account("svc_web", &kt3, ""),
    );
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(75), "{}", text(&o));
    assert!(text(&o).contains("nodc2.example.test"), "{}", text(&o));
    assert!(!kt3.exists());
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn ad_hoc_form_with_join_style_keytab() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("adhoc.keytab");
    // host1-join.keytab starts with host/ and HOST/ entries: the NAME$ entry must be chosen.
    let join = run_dir().join("host1-join.keytab");
    let o = s.gmsa(&[
        "sync",
        "--account",
        "svc_aes",
        "--keytab",
        kt.to_str().unwrap(),
        "--server",
        "dc1.example.test",
        "--client-keytab",
        join.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_keytab_works(
        &s,
        &kt,
        "svc_aes$",
        &["HTTP/aes.example.test"],
        &["aes256-cts-hmac-sha1-96"],
    );
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn fifty_accounts_in_one_run_all_valid() {
    lab_up();
    let s = Scratch::new();
    let mut tables = String::new();
    for i in 1..=50 {
        // Half share one keytab, half get their own: both layouts in one run.
        let kt = if i % 2 == 0 {
            s.path("shared.keytab")
        } else {
            s.path(&format!("bulk{i:02}.keytab"))
        };
        tables.push_str(&account(&format!("svc_bulk{i:02}$"), &kt, ""));
    }
    let cfg = s.config(SERVER, &tables);
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        text(&o).matches("msg=\"account synced\"").count(),
        50,
        "{}",
        text(&o)
    );
    let shared = entries(&s.path("shared.keytab"));
    assert_eq!(
        shared.len(),
        25 * 2 * 3,
        "25 accounts x (account + SPN) x 3 enctypes"
    );
    for i in 1..=50 {
        let kt = if i % 2 == 0 {
            s.path("shared.keytab")
        } else {
            s.path(&format!("bulk{i:02}.keytab"))
        };
        let o = s.kvno_k(&kt, &format!("HTTP/bulk{i:02}.example.test"));
        assert!(o.status.success(), "bulk{i:02}: {}", text(&o));
    }
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn no_subprocess_and_default_ccache_untouched() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    let cfg = s.config(SERVER, &account("svc_web", &kt, ""));
    let trace = s.path("trace");
    let default_cc = s.path("default-ccache");
    // KRB5CCNAME points at a file that must never appear: the run uses a private MEMORY cache.
    let o = s.exec(
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=execve",
            "-o",
            trace.to_str().unwrap(),
            "env",
            &format!("KRB5CCNAME=FILE:{}", default_cc.display()),
            BIN,
            "sync",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!entries(&kt).is_empty());
    let t = fs::read_to_string(&trace).unwrap();
    let execs: Vec<&str> = t
        .lines()
        .filter(|l| l.contains("execve(") && !l.contains("ENOENT"))
        .collect();
    // env, then gmsa-keytab: nothing else (no kinit, ldapsearch or shell).
    assert_eq!(execs.len(), 2, "{t}");
    assert!(execs[1].contains("gmsa-keytab"), "{t}");
    assert!(!default_cc.exists(), "the KRB5CCNAME ccache was created");
    // And with no KRB5CCNAME at all, the default cache of root stays as it was.
    let state = || {
        fs::metadata("/tmp/krb5cc_0")
            .ok()
            .map(|m| (m.ino(), m.mtime(), m.mtime_nsec(), m.len()))
    };
    let before = state();
    let o = s.exec(
        &[
            "env",
            "-u",
            "KRB5CCNAME",
            BIN,
            "sync",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        state(),
        before,
        "/tmp/krb5cc_0 must not be created or touched"
    );
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn kerberos_goes_to_the_ldap_dc_over_tcp_with_no_kdc_lookup() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("web.keytab");
    // No servers: the DC comes from DNS SRV; the KDC must then be that same DC.
    let cfg = s.config("", &account("svc_web", &kt, ""));
    let trace = s.path("trace");
    let o = s.exec(
        &[
            "strace",
            "-f",
            "-qq",
            "-s",
            "256",
            "-e",
            "trace=socket,connect,sendto,sendmsg",
            "-o",
            trace.to_str().unwrap(),
            BIN,
            "sync",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = fs::read_to_string(&trace).unwrap();
    let kdc: Vec<&str> = t
        .lines()
        .filter(|l| l.contains("connect(") && l.contains("htons(88)"))
        .collect();
    // AS, AS with pre-authentication, TGS for ldap/dc1, then per account the salt probe (AS
    // without pre-authentication) and the TGS for the key check: all to the DC's address.
    assert_eq!(kdc.len(), 5, "{t}");
    assert!(kdc.iter().all(|l| l.contains("127.0.0.10")), "{t}");
    // Over TCP: no datagram socket is ever sent to port 88, and DNS never hears of _kerberos.
    assert!(
        !t.lines()
            .any(|l| l.contains("sendto(") && l.contains("htons(88)")),
        "{t}"
    );
    assert!(!t.contains("_kerberos"), "{t}");
    assert!(t.contains("_ldap"), "SRV discovery was used: {t}");
}
