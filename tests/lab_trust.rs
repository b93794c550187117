//! Keys that work in both directions, judged by MIT `kinit -k` (the account logging in) and
//! `kvno -k` (tickets for its SPNs), against the Samba AD DC of tests/lab. Needs root; run by
//! tests/run-all.sh with `--ignored`.

mod common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};

const SERVER: &str = "servers = [\"dc1.example.test\"]";

fn account(name: &str, keytab: &Path, extra: &str) -> String {
    format!(
        "[[account]]\nname = \"{name}\"\nkeytab = \"{}\"\n{extra}\n",
        keytab.display()
    )
}

/// The lab's krb5.conf with nothing about enctypes: MIT's defaults decide what is asked for
/// and accepted, as on a host nobody tuned.
fn default_krb5_conf(s: &Scratch) -> PathBuf {
    let base = fs::read_to_string(run_dir().join("krb5.conf")).unwrap();
    let plain: String = base
        .lines()
        .filter(|l| !l.contains("allow_weak_crypto") && !l.contains("enctypes"))
        .map(|l| format!("{l}\n"))
        .collect();
    let p = s.path("krb5-default.conf");
    fs::write(&p, plain).unwrap();
    p
}

/// `kinit -k` as the account and `kvno -k` for each SPN, both with the default krb5.conf.
fn assert_both_directions(s: &Scratch, keytab: &Path, sam: &str, spns: &[&str]) {
    let conf = default_krb5_conf(s);
    let env = [("GMSALAB_KRB5_CONFIG", conf.to_str().unwrap())];
    let principal = format!("{sam}@{REALM}");
    let o = s.exec(
        &["kinit", "-k", "-t", keytab.to_str().unwrap(), &principal],
        &env,
    );
    assert!(o.status.success(), "kinit -k {sam}: {}", text(&o));
    let o = s.exec(
        &[
            "kinit",
            "-k",
            "-t",
            host_keytab().to_str().unwrap(),
            "host1$@EXAMPLE.TEST",
        ],
        &env,
    );
    assert!(o.status.success(), "kinit host1$: {}", text(&o));
    for spn in spns {
        let o = s.exec(&["kvno", "-k", keytab.to_str().unwrap(), spn], &env);
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("keytab entry valid"),
            "kvno -k {spn}: {}",
            text(&o)
        );
    }
}

fn enctypes_of(keytab: &Path) -> Vec<u64> {
    let mut ets: Vec<u64> = entries(keytab).iter().map(|r| r.2).collect();
    ets.sort();
    ets.dedup();
    ets
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn every_enctype_setting_works_both_ways_with_a_default_krb5_conf() {
    lab_up();
    let s = Scratch::new();
    // (account, msDS-SupportedEncryptionTypes, its SPNs, enctypes written)
    let cases: [(&str, &str, &[&str], &[u64]); 4] = [
        ("svc_rc4$", "0x4", &["HTTP/rc4.example.test"], &[17, 18, 23]),
        ("svc_aes$", "0x18", &["HTTP/aes.example.test"], &[17, 18]),
        (
            "svc_all$",
            "0x1c",
            &["HTTP/all.example.test"],
            &[17, 18, 23],
        ),
        (
            "svc_none$",
            "absent",
            &["HTTP/none.example.test"],
            &[17, 18, 23],
        ),
    ];
    let mut tables = String::new();
    for (name, ..) in &cases {
        tables.push_str(&account(name, &s.path(&format!("{name}.keytab")), ""));
    }
    let cfg = s.config(SERVER, &tables);
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for (name, bits, spns, want) in cases {
        let kt = s.path(&format!("{name}.keytab"));
        assert_eq!(enctypes_of(&kt), want, "{name} ({bits})");
        assert_both_directions(&s, &kt, name, spns);
    }
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn rc4_only_account_logs_in_with_our_keytab() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("rc4.keytab");
    let cfg = s.config(SERVER, &account("svc_rc4$", &kt, ""));
    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // The KDC picks AES for the account's own pre-authentication, even for 0x4: an RC4-only
    // keytab fails here with "No key table entry found".
    let conf = default_krb5_conf(&s);
    let o = s.exec(
        &[
            "env",
            "KRB5_TRACE=/dev/stdout",
            "kinit",
            "-k",
            "-t",
            kt.to_str().unwrap(),
            "svc_rc4$@EXAMPLE.TEST",
        ],
        &[("GMSALAB_KRB5_CONFIG", conf.to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("etype aes256-cts"),
        "the KDC no longer selects AES for an RC4-only account's pre-authentication: {}",
        text(&o)
    );
    // An explicit list still restricts: rc4 only is what the operator gets.
    let kt2 = s.path("rc4-only.keytab");
    let s2 = Scratch::new();
    let cfg = s2.config(SERVER, &account("svc_rc4$", &kt2, "enctypes = [\"rc4\"]"));
    let o = s2.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(enctypes_of(&kt2), [23]);
}
