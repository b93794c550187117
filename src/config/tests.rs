use super::*;
use crate::exit::Class;
use crate::store::ids::ConfigIds;

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
fn missing_file_is_no_input() {
    let e = load(Path::new("/nonexistent/gmsa.toml")).unwrap_err();
    assert_eq!(e.class(), Class::NoInput);
    assert!(e.to_string().contains("/nonexistent/gmsa.toml"));
}

#[test]
fn unknown_owner_is_reported_by_resolve() {
    let c = p(&format!("{MINIMAL}owner = \"no-such-user-gmsa\"\n")).unwrap();
    let e = c.resolve_ids().unwrap_err();
    assert!(e.to_string().contains("no-such-user-gmsa"));
}
