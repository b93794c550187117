//! One CLI, one set of rules: options of sync's ad-hoc form are a usage error (64) with the
//! configuration form instead of being ignored, and derive names an account as sync does.

use std::path::Path;

mod offline;
use offline::run;

#[test]
fn ad_hoc_options_with_the_configuration_form_are_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("config.toml");
    std::fs::write(&cfg, "version = 1\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    // Without them the file is used (no accounts: exit 0).
    assert_eq!(run(&["sync", "--config", cfg]).status.code(), Some(0));
    for extra in [
        &["--server", "dc1.example.test"][..],
        &["--protection", "ldaps"],
        &["--owner", "root"],
        &["--group", "root"],
        &["--mode", "0640"],
        &["--realm", "EXAMPLE.TEST"],
        &["--domain", "example.test"],
        &["--site", "Default-First-Site-Name"],
        &["--client-keytab", "/etc/krb5.keytab"],
        &["--client-principal", "HOST1$"],
        &["--ca-file", "/etc/ssl/certs/ca-certificates.crt"],
        &["--timeout-seconds", "5"],
        &["--enctypes", "aes256"],
        &["--spn", "HTTP/web.example.test"],
        // The configuration form says `salt-probe = false` instead.
        &["--no-salt-probe"],
    ] {
        let mut args = vec!["sync", "--config", cfg];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(64), "{extra:?}: {o:?}");
        // The same without --config (the default file) too.
        let mut args = vec!["sync"];
        args.extend_from_slice(extra);
        assert_eq!(run(&args).status.code(), Some(64), "{extra:?} alone");
    }
    // --config with --account is a usage error as well.
    let o = run(&[
        "sync",
        "--config",
        cfg,
        "--account",
        "a$",
        "--keytab",
        "/tmp/k",
    ]);
    assert_eq!(o.status.code(), Some(64));
}

#[test]
fn derive_adds_the_dollar_like_sync() {
    let d = tempfile::tempdir().unwrap();
    let blob = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/blob-a.bin");
    let mut principals = Vec::new();
    for name in ["svc_web", "svc_web$", " svc_web$ "] {
        let kt = d.path().join(format!("{}.keytab", principals.len()));
        let o = run(&[
            "derive",
            "--blob",
            blob.to_str().unwrap(),
            "--account",
            name,
            "--realm",
            "example.test",
            "--kvno",
            "2",
            "--keytab",
            kt.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{o:?}");
        let o = run(&["show", "--json", kt.to_str().unwrap()]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        principals.push(v[0]["principal"].as_str().unwrap().to_string());
        let bytes: Vec<u8> = std::fs::read(&kt).unwrap();
        principals.push(format!("{}", bytes.len()));
    }
    assert_eq!(principals[0], "svc_web$@EXAMPLE.TEST");
    assert_eq!(principals[0], principals[2]);
    assert_eq!(principals[0], principals[4]);
}
