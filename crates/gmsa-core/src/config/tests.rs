use super::*;

fn p(src: &str) -> Result<Config, ConfigError> {
    parse(Path::new("/etc/gmsa-keytab/config.toml"), src)
}

const MINIMAL: &str = r#"
version = 1

[[account]]
name = "svc_web"
keytab = "/etc/gmsa/web.keytab"
"#;

#[test]
fn minimal_gets_defaults() {
    let c = p(MINIMAL).unwrap();
    assert_eq!(c.directory.client_keytab, PathBuf::from("/etc/krb5.keytab"));
    assert!(c.directory.servers.is_empty());
    assert_eq!(c.directory.protection, Protection::Seal);
    assert_eq!(c.directory.timeout, defaults::TIMEOUT);
    assert_eq!(c.state_dir, PathBuf::from("/var/lib/gmsa-keytab"));
    assert_eq!(c.recheck, Duration::from_secs(12 * 3600));
    assert_eq!(c.retry_max, Duration::from_secs(15 * 60));
    let a = &c.accounts[0];
    assert_eq!(a.name, "svc_web$");
    assert_eq!((a.mode, &a.spns, &a.enctypes), (0o600, &Spns::Auto, &None));
}

/// A commented line of the example that is a setting or a table header (not prose).
fn is_example(rest: &str) -> bool {
    let key = rest.split(['=', ' ']).next().unwrap_or("");
    rest == "[[account]]"
        || (rest.contains(" = ")
            && !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
}

#[test]
fn full_example_parses() {
    let src = include_str!("../../../../packaging/config.example.toml");
    // As shipped: no live account, only commented examples.
    let c = p(src).unwrap();
    assert!(c.accounts.is_empty());
    // Every commented example line, uncommented, is a valid configuration.
    let live: String = src
        .lines()
        .map(|l| l.strip_prefix("# ").filter(|r| is_example(r)).unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let c = p(&live).unwrap_or_else(|e| panic!("{e}\n{live}"));
    assert_eq!(c.accounts.len(), 1);
    assert_eq!(c.accounts[0].name, "svc_web$");
    assert_eq!(c.accounts[0].on_change.len(), 1);
    // The rendered form is itself a valid configuration that resolves to the same thing.
    let again = p(&c.render()).unwrap();
    assert_eq!(again, c);
}

#[test]
fn everything_set() {
    let c = p(r#"
version = 1
client-keytab = "/etc/krb5.keytab"
client-principal = "HOST1$@EXAMPLE.TEST"
servers = ["dc1.example.test", "dc2.example.test:389"]
domain = "example.test"
site = "Berlin"
realm = "example.test"
protection = "ldaps"
ca-file = "/etc/ssl/certs/ad-ca.pem"
timeout-seconds = 3
state-dir = "/var/lib/gmsa-keytab"
metrics-file = "/var/lib/node_exporter/gmsa.prom"
recheck-hours = 6
retry-max-minutes = 30
stale-minutes = 120
hook-timeout-seconds = 20

[[account]]
name = "svc_web$"
keytab = "/etc/gmsa/web.keytab"
owner = "root"
group = "root"
mode = "0640"
spns = ["HTTP/web.example.test"]
enctypes = ["aes256", "aes128"]
on-change = [["systemctl", "reload", "nginx"], ["/usr/local/bin/notify", "x"]]

[[account]]
name = "svc_db$"
keytab = "/etc/gmsa/web.keytab"
owner = "root"
group = "root"
mode = "0640"
spns = "auto"
"#)
    .unwrap();
    assert_eq!(c.realm.as_deref(), Some("EXAMPLE.TEST"));
    assert_eq!(c.directory.protection, Protection::Ldaps);
    assert_eq!(c.directory.timeout, Duration::from_secs(3));
    assert_eq!(c.recheck, Duration::from_secs(6 * 3600));
    assert_eq!(c.retry_max, Duration::from_secs(30 * 60));
    assert_eq!(c.stale_after, Duration::from_secs(120 * 60));
    assert_eq!(c.hook_timeout, Duration::from_secs(20));
    assert_eq!(
        c.accounts[0].enctypes,
        Some(vec![
            Enctype::Aes256CtsHmacSha196,
            Enctype::Aes128CtsHmacSha196
        ])
    );
    assert_eq!(c.accounts[0].on_change.len(), 2);
    assert_eq!(c.accounts[1].spns, Spns::Auto);
    assert_eq!(p(&c.render()).unwrap(), c);
}

fn err(src: &str) -> ConfigError {
    p(src).unwrap_err()
}

#[test]
fn errors_name_key_and_line() {
    let e = err("version = 1\nclient-keytab = \"/k\"\nfrobnicate = true\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("frobnicate"), "{e}");
    assert_eq!(e.class(), Class::Config);

    let e = err(&format!("{MINIMAL}mode = 640\n"));
    assert_eq!((e.key.as_str(), e.line), ("mode", Some(7)), "{e}");
    assert!(
        e.to_string()
            .contains("/etc/gmsa-keytab/config.toml:7: mode:"),
        "{e}"
    );

    for bad in ["0666", "0644", "7777", "0660", "0700", "4600"] {
        let e = err(&format!("{MINIMAL}mode = \"{bad}\"\n"));
        assert_eq!((e.key.as_str(), e.line), ("mode", Some(7)), "{e}");
        assert!(e.message.contains("0400, 0440, 0600 or 0640"), "{e}");
    }
    for ok in ["0400", "0440", "0600", "0640"] {
        assert!(p(&format!("{MINIMAL}mode = \"{ok}\"\n")).is_ok(), "{ok}");
    }
    for (key, bad) in [
        ("owner", "4294967295"),
        ("group", "4294967295"),
        ("owner", " "),
    ] {
        let e = err(&format!("{MINIMAL}{key} = \"{bad}\"\n"));
        assert_eq!((e.key.as_str(), e.line), (key, Some(7)), "{e}");
    }
    let e = err("version = 1\n[[account]]\nname=\"a\\nb\"\nkeytab=\"/k\"\n");
    assert_eq!((e.key.as_str(), e.line), ("name", Some(3)), "{e}");
    let e = err(&format!(
        "version = 1\n[[account]]\nname=\"{}\"\nkeytab=\"/k\"\n",
        "x".repeat(70_000)
    ));
    assert!(e.message.len() < 400, "{e}");
    let e = err("version = 1\nrealm = \"EX AMPLE\"\n[[account]]\nname=\"a\"\nkeytab=\"/k\"\n");
    assert_eq!((e.key.as_str(), e.line), ("realm", Some(2)), "{e}");
    let e = err(&format!("{MINIMAL}spns = [\"HTTP/a\\tb\"]\n"));
    assert_eq!(e.key, "spns", "{e}");

    let e = err(&format!("{MINIMAL}enctypes = [\"aes256\", \"aes512\"]\n"));
    assert_eq!((e.key.as_str(), e.line), ("enctypes", Some(7)), "{e}");

    let e = err(&format!("{MINIMAL}spns = \"all\"\n"));
    assert_eq!(e.key, "spns");

    let e = err(&format!("{MINIMAL}colour = \"red\"\n"));
    assert_eq!(e.line, Some(7), "{e}");

    let e = err("version = 2\n[[account]]\nname=\"a\"\nkeytab=\"/k\"\n");
    assert_eq!((e.key.as_str(), e.line), ("version", Some(1)));

    // No account at all is valid (the shipped file): sync and status say "not configured".
    let c = p("version = 1\n").unwrap();
    assert!(c.accounts.is_empty());
    assert_eq!(p(&c.render()).unwrap(), c);

    let e = err("[[account]]\nname=\"a\"\nkeytab=\"/k\"\n");
    assert!(e.message.contains("version"), "{e}");

    let e = err("version = 1\n[[account]]\nname=\"a\"\nkeytab=\"relative.keytab\"\n");
    assert_eq!((e.key.as_str(), e.line), ("keytab", Some(4)));

    let e = err(
        "version = 1\n[[account]]\nname=\"a\"\nkeytab=\"/k\"\n[[account]]\nname=\"A$\"\nkeytab=\"/j\"\n",
    );
    assert!(e.message.contains("twice"), "{e}");

    let e = err(
        "version = 1\n[[account]]\nname=\"a\"\nkeytab=\"/k\"\n[[account]]\nname=\"b\"\nkeytab=\"/k\"\nmode=\"0640\"\n",
    );
    assert!(e.message.contains("shared"), "{e}");

    let e = err("version = 1\ntimeout-seconds = 0\n[[account]]\nname=\"a\"\nkeytab=\"/k\"\n");
    assert_eq!(e.key, "timeout-seconds");

    let e =
        err("version = 1\nservers = [\"ldap://dc1\"]\n[[account]]\nname=\"a\"\nkeytab=\"/k\"\n");
    assert_eq!((e.key.as_str(), e.line), ("servers", Some(2)));

    let e = err(&format!("{MINIMAL}on-change = [[]]\n"));
    assert_eq!(e.key, "on-change");

    let e = err("version = 1\n[[account]]\nname=\"a/b\"\nkeytab=\"/k\"\n");
    assert_eq!(e.key, "name");

    let e = err("version = = 1");
    assert_eq!((e.key.as_str(), e.line), ("syntax", Some(1)));
}
