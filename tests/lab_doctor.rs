//! `gmsa-keytab doctor` against the real Samba AD DC of tests/lab, healthy and broken: each
//! test asserts the verdict of the check that must catch the problem and its fix line. Needs
//! root (network namespace); run by tests/run-all.sh with `--ignored`.

mod common;
use common::*;
use std::fs;
use std::path::Path;

const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

fn account(name: &str, keytab: &Path) -> String {
    common::account(name, keytab, "")
}

/// A unit directory holding the shipped unit plus a drop-in that lets the service write the
/// scratch directory (it lives under /tmp, which the unit's PrivateTmp would hide).
fn unit_dir(s: &Scratch, extra_drop_in: &str) -> String {
    let d = s.path("units");
    fs::create_dir_all(d.join("gmsa-keytab.service.d")).unwrap();
    fs::copy(
        root().join("systemd/gmsa-keytab.service"),
        d.join("gmsa-keytab.service"),
    )
    .unwrap();
    fs::write(
        d.join("gmsa-keytab.service.d/scratch.conf"),
        format!(
            "[Service]\nPrivateTmp=no\nReadWritePaths=-{}\n{extra_drop_in}",
            s.dir.path().display()
        ),
    )
    .unwrap();
    d.to_str().unwrap().to_string()
}

/// `doctor --json` parsed, and the text form, from the same setup.
fn doctor(s: &Scratch, cfg: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec!["doctor", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    let text = s.gmsa(&args);
    args.push("--json");
    let json = s.gmsa(&args);
    assert_eq!(
        text.status.code(),
        json.status.code(),
        "{}",
        common::text(&text)
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::text(&json)));
    (
        text.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&text.stdout).into_owned(),
    )
}

/// The one check named `check` (in `section`): (verdict, detail, fix).
fn check(v: &serde_json::Value, section: &str, check: &str) -> (String, String, String) {
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["section"] == section && c["check"] == check)
        .unwrap_or_else(|| panic!("no check {section}/{check} in {v:#}"));
    let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
    (s("verdict"), s("detail"), s("fix"))
}

fn verdicts(v: &serde_json::Value) -> Vec<(String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "warn" || c["verdict"] == "fail")
        .map(|c| {
            (
                c["check"].as_str().unwrap().into(),
                c["detail"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn healthy_setup_passes_everything_and_writes_nothing() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("aes.keytab");
    let cfg = s.config("", &account("svc_aes$", &kt));
    let units = unit_dir(&s, "");
    // Before the first sync: the keytab is missing (a warning), and doctor does not create it.
    let (code, v, _) = doctor(&s, &cfg, &["--unit-dir", &units]);
    assert_eq!(code, 1, "{v:#}");
    let (verdict, _, fix) = check(&v, "svc_aes$", "keytab holds the current keys");
    assert_eq!(verdict, "warn");
    assert!(fix.contains("gmsa-keytab sync --force"), "{fix}");
    assert!(!kt.exists(), "doctor wrote a keytab");
    assert!(
        !s.path("state/state.json").exists(),
        "doctor wrote the state file"
    );

    let o = s.gmsa(&["sync", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let before = fs::read(&kt).unwrap();
    let (code, v, out) = doctor(&s, &cfg, &["--unit-dir", &units]);
    assert_eq!(code, 0, "{out}\n{:?}", verdicts(&v));
    assert_eq!(v["schema"], 1);
    assert_eq!(check(&v, "domain controllers", "DNS SRV").0, "pass");
    assert_eq!(
        check(&v, "domain controllers", "dc1.example.test bind (seal)").0,
        "pass"
    );
    assert_eq!(check(&v, "time", "clock offset").0, "pass");
    assert_eq!(check(&v, "svc_aes$", "enctypes").0, "pass");
    assert_eq!(check(&v, "svc_aes$", "KDC salt").0, "pass");
    let (verdict, detail, _) = check(&v, "svc_aes$", "keys confirmed by the KDC");
    assert_eq!(verdict, "pass", "{detail}");
    assert!(detail.contains("decrypts with the derived key"), "{detail}");
    assert_eq!(
        check(&v, "svc_aes$", "keytab holds the current keys").0,
        "pass"
    );
    assert_eq!(
        check(&v, "svc_aes$", "keytab directory in the sandbox").0,
        "pass"
    );
    assert!(out.ends_with("0 warnings, 0 failed, 1 skipped\n"), "{out}");
    assert_eq!(fs::read(&kt).unwrap(), before, "doctor changed the keytab");

    // A keytab that holds other keys (another account's file copied over it) is caught.
    let other = s.path("web.keytab");
    let cfg_web = s.config("", &account("svc_web$", &other));
    let o = s.gmsa(&["sync", "--config", cfg_web.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    fs::copy(&other, &kt).unwrap();
    let cfg = s.config("", &account("svc_aes$", &kt));
    let (code, v, _) = doctor(&s, &cfg, &["--unit-dir", &units]);
    assert_eq!(code, 1, "{v:#}");
    let (verdict, detail, _) = check(&v, "svc_aes$", "keytab holds the current keys");
    assert_eq!(verdict, "warn");
    assert!(detail.contains("lacks the keys of kvno"), "{detail}");
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn keys_the_kdc_refutes_fail_with_the_cause() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("ren.keytab");
    // svc_renold$ renamed to svc_ren$: the KDC still salts with the old name. With the probe,
    // doctor reads that salt and the KDC's ticket confirms the keys.
    let cfg = s.config(SERVER, &account("svc_ren$", &kt));
    let (_, v, _) = doctor(&s, &cfg, &[]);
    let (verdict, detail, _) = check(&v, "svc_ren$", "KDC salt");
    assert_eq!(verdict, "pass");
    assert!(detail.contains("svc_renold"), "{detail}");
    let (verdict, detail, _) = check(&v, "svc_ren$", "keys confirmed by the KDC");
    assert_eq!(verdict, "pass", "{detail}");
    // Without it, the salt computed from the new name gives keys the ticket refutes: a
    // failure that names kvno, enctype and salt, with the cause and the fix.
    let cfg = s.config(
        &format!("{SERVER}\nsalt-probe = false"),
        &account("svc_ren$", &kt),
    );
    let (code, v, out) = doctor(&s, &cfg, &[]);
    assert_eq!(code, 2, "{out}");
    let (verdict, detail, fix) = check(&v, "svc_ren$", "keys confirmed by the KDC");
    assert_eq!(verdict, "fail", "{detail}");
    assert!(detail.contains("kvno 1"), "{detail}");
    assert!(detail.contains("aes256"), "{detail}");
    assert!(detail.contains("svc_ren"), "{detail}");
    assert!(fix.contains("renamed"), "{fix}");
    assert!(fix.contains("salt-probe = true"), "{fix}");
    assert!(!kt.exists(), "doctor wrote a keytab");
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn account_problems_name_the_fix() {
    lab_up();
    let s = Scratch::new();
    let tables = [
        account("svc_denied$", &s.path("denied.keytab")),
        account("svc_web", &s.path("web.keytab")),
        account("svc_missing$", &s.path("missing.keytab")),
        format!(
            "{}owner = \"no-such-user-gmsa\"\n",
            account("svc_aes$", &s.path("aes.keytab"))
        ),
    ]
    .concat();
    let cfg = s.config(SERVER, &tables);
    let units = unit_dir(&s, "");
    let (code, v, out) = doctor(&s, &cfg, &["--unit-dir", &units]);
    assert_eq!(code, 2, "{out}");

    // The host may not read svc_denied$'s password: which principal to add, both tools.
    assert_eq!(check(&v, "svc_denied$", "exists and is a gMSA").0, "pass");
    let (verdict, detail, fix) = check(&v, "svc_denied$", "password readable by this host");
    assert_eq!(verdict, "fail");
    assert!(
        detail.contains("host1$@EXAMPLE.TEST is not in svc_denied$'s"),
        "{detail}"
    );
    assert!(
        fix.contains("samba-tool service-account group-msa-membership add --name='svc_denied$' --principal='host1$'"),
        "{fix}"
    );
    assert!(
        fix.contains(
            "Set-ADServiceAccount -Identity svc_denied -PrincipalsAllowedToRetrieveManagedPassword"
        ),
        "{fix}"
    );
    assert!(
        out.contains("        fix: allow host1$ to read the password"),
        "{out}"
    );

    // svc_web$ (named without its $): msDS-SupportedEncryptionTypes absent → RC4 tickets.
    let (verdict, detail, fix) = check(&v, "svc_web$", "enctypes");
    assert_eq!(verdict, "warn");
    assert!(detail.contains("RC4 service tickets"), "{detail}");
    assert!(
        fix.contains(
            "Set-ADServiceAccount -Identity svc_web -KerberosEncryptionType AES128,AES256"
        ),
        "{fix}"
    );
    assert!(fix.contains("msDS-SupportedEncryptionTypes: 24"), "{fix}");

    let (verdict, detail, fix) = check(&v, "svc_missing$", "exists and is a gMSA");
    assert_eq!(verdict, "fail");
    assert!(detail.contains("no account svc_missing$"), "{detail}");
    assert!(
        fix.contains("New-ADServiceAccount -Name svc_missing"),
        "{fix}"
    );

    let (verdict, detail, _) = check(&v, "svc_aes$", "owner and group");
    assert_eq!(verdict, "fail");
    assert!(detail.contains("no-such-user-gmsa"), "{detail}");

    // --account narrows the run to one account; an unconfigured one is a usage error.
    let (code, v, _) = doctor(&s, &cfg, &["--unit-dir", &units, "--account", "svc_web"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["section"] != "svc_denied$")
    );
    let o = s.gmsa(&[
        "doctor",
        "--config",
        cfg.to_str().unwrap(),
        "--account",
        "svc_other",
    ]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn keytab_directory_outside_the_sandbox() {
    lab_up();
    let s = Scratch::new();
    // The shipped unit as is: ProtectSystem=strict, ReadWritePaths=/etc/gmsa-keytab only, and
    // PrivateTmp hides the scratch directory under /tmp.
    let d = s.path("units");
    fs::create_dir_all(&d).unwrap();
    fs::copy(
        root().join("systemd/gmsa-keytab.service"),
        d.join("gmsa-keytab.service"),
    )
    .unwrap();
    let kt = s.path("aes.keytab");
    let cfg = s.config(SERVER, &account("svc_aes$", &kt));
    let (code, v, out) = doctor(&s, &cfg, &["--unit-dir", d.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    let (verdict, detail, fix) = check(&v, "svc_aes$", "keytab directory in the sandbox");
    assert_eq!(verdict, "fail");
    assert!(detail.contains("PrivateTmp=yes"), "{detail}");
    let dir = s.dir.path().display().to_string();
    assert!(fix.contains(&format!("ReadWritePaths=-{dir}")), "{fix}");
    assert!(fix.contains("systemctl edit gmsa-keytab.service"), "{fix}");
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn stopped_dc_fails_dns_and_ports() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("aes.keytab");
    let units = unit_dir(&s, "");
    let listed = s.config(SERVER, &account("svc_aes$", &kt));
    fs::rename(&listed, s.path("listed.toml")).unwrap();
    let listed = s.path("listed.toml");
    let srv = s.config("timeout-seconds = 2", &account("svc_aes$", &kt));
    let _stopped = DcStopped::new();

    let (code, v, out) = doctor(&s, &listed, &["--unit-dir", &units]);
    assert_eq!(code, 2, "{out}");
    let (verdict, detail, fix) = check(&v, "domain controllers", "dc1.example.test TCP 88 and 389");
    assert_eq!(verdict, "fail");
    assert!(detail.contains("port 88"), "{detail}");
    assert!(
        fix.contains("this host must reach the DC on TCP 88 (Kerberos) and 389"),
        "{fix}"
    );
    assert_eq!(check(&v, "svc_aes$", "directory").0, "skip");

    // Without servers: Samba is also the domain's DNS server, so SRV discovery fails first.
    let (code, v, out) = doctor(&s, &srv, &["--unit-dir", &units]);
    assert_eq!(code, 2, "{out}");
    let (verdict, _, fix) = check(&v, "domain controllers", "DNS SRV");
    assert_eq!(verdict, "fail");
    assert!(fix.contains("/etc/resolv.conf"), "{fix}");
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn skewed_client_clock() {
    lab_up();
    let s = Scratch::new();
    let kt = s.path("aes.keytab");
    let cfg = s.config(SERVER, &account("svc_aes$", &kt));
    let bin_args = [
        "env",
        &format!("LD_PRELOAD={FAKETIME_LIB}"),
        "FAKETIME=+1h",
        "FAKETIME_DONT_RESET=1",
        BIN,
        "doctor",
        "--json",
        "--config",
        cfg.to_str().unwrap(),
    ]
    .map(|a| a.to_string());
    let args: Vec<&str> = bin_args.iter().map(|a| a.as_str()).collect();
    let o = s.exec(&args, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (verdict, detail, fix) = check(&v, "time", "clock offset");
    assert_eq!(verdict, "fail");
    // The DC answered in the same second or the next: about 3600 s.
    assert!(
        detail.contains("is 3600 s ahead of")
            || detail.contains("is 3599 s ahead of")
            || detail.contains("is 3601 s ahead of"),
        "{detail}"
    );
    assert!(fix.contains("timedatectl set-ntp true"), "{fix}");
}

#[test]
#[ignore = "needs the Samba lab (root); run by tests/run-all.sh"]
fn host_key_the_kdc_rejects() {
    lab_up();
    let s = Scratch::new();
    // host1$'s name with a key from an unrelated password: the KDC refuses pre-authentication.
    let wrong = s.path("wrong-host.keytab");
    let o = std::process::Command::new(BIN)
        .args(["derive", "--blob"])
        .arg(root().join("tests/data/blob-a.bin"))
        .args([
            "--account",
            "host1$",
            "--realm",
            "EXAMPLE.TEST",
            "--kvno",
            "2",
            "--keytab",
        ])
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let kt = s.path("aes.keytab");
    let cfg = s.path("wrong.toml");
    fs::write(
        &cfg,
        format!(
            "version = 1\nclient-keytab = \"{}\"\nstate-dir = \"{}\"\n{SERVER}\n{}",
            wrong.display(),
            s.path("state").display(),
            account("svc_aes$", &kt)
        ),
    )
    .unwrap();
    let (code, v, out) = doctor(&s, &cfg, &[]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(check(&v, "files", "host keytab").0, "pass");
    let (verdict, _, fix) = check(&v, "domain controllers", "host key accepted by the KDC");
    assert_eq!(verdict, "fail");
    assert!(fix.contains("re-join the host"), "{fix}");
}
