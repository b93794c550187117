//! Every default, once. The configuration parser, the directory client's options, the command
//! line (clap's `default_value`s, so the man pages and completions generated from it), the
//! schedule's policy and `check-config`'s rendering all read these; the tests below hold the
//! shipped example configuration and the README to the same values.

use crate::options::Protection;
use std::time::Duration;

/// The configuration file (`--config`).
pub const CONFIG_PATH: &str = "/etc/gmsa-keytab/config.toml";
/// `client-keytab`: the host keytab the host authenticates from.
pub const CLIENT_KEYTAB: &str = "/etc/krb5.keytab";
/// `state-dir`: where `state.json` lives.
pub const STATE_DIR: &str = "/var/lib/gmsa-keytab";

/// `timeout-seconds` / `--timeout-seconds`: each network step's limit.
pub const TIMEOUT_SECONDS: u32 = 10;
pub const TIMEOUT: Duration = Duration::from_secs(TIMEOUT_SECONDS as u64);
/// `recheck-hours`: query at least this often.
pub const RECHECK_HOURS: u64 = 12;
pub const RECHECK: Duration = Duration::from_secs(RECHECK_HOURS * 3600);
/// `retry-max-minutes`: the backoff cap after failures.
pub const RETRY_MAX_MINUTES: u64 = 15;
pub const RETRY_MAX: Duration = Duration::from_secs(RETRY_MAX_MINUTES * 60);
/// `stale-minutes`: how far past its next query an account may be before `status` calls it
/// stale.
pub const STALE_MINUTES: u64 = 60;
pub const STALE_AFTER: Duration = Duration::from_secs(STALE_MINUTES * 60);
/// `hook-timeout-seconds`: each on-change command's limit.
pub const HOOK_TIMEOUT_SECONDS: u64 = 60;
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(HOOK_TIMEOUT_SECONDS);
/// `salt-probe`: ask the KDC for each account's salt.
pub const SALT_PROBE: bool = true;

/// `protection` / `--protection`.
pub const PROTECTION: Protection = Protection::Seal;
/// The LDAP port (sealed SASL and StartTLS) and the LDAPS port, for a DC named without one.
pub const LDAP_PORT: u16 = 389;
pub const LDAPS_PORT: u16 = 636;

/// An account's keytab `mode` / `--mode`, and the same as written in the configuration.
pub const KEYTAB_MODE: u32 = 0o600;
pub const KEYTAB_MODE_TEXT: &str = "0600";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_text_is_the_mode() {
        assert_eq!(u32::from_str_radix(KEYTAB_MODE_TEXT, 8), Ok(KEYTAB_MODE));
        assert_eq!(format!("{KEYTAB_MODE:04o}"), KEYTAB_MODE_TEXT);
    }

    /// Text with every run of whitespace made one space, so a claim may wrap.
    fn flat(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The shipped example shows each default in a comment ("the value shown in a comment is
    /// the default"); they must be these.
    #[test]
    fn the_example_configuration_shows_these_defaults() {
        let example = flat(include_str!("../../../packaging/config.example.toml"));
        for claim in [
            format!("configuration: {CONFIG_PATH}"),
            format!("# client-keytab = \"{CLIENT_KEYTAB}\""),
            format!("# protection = \"{PROTECTION}\""),
            format!("# timeout-seconds = {TIMEOUT_SECONDS} "),
            format!("# state-dir = \"{STATE_DIR}\""),
            format!("# recheck-hours = {RECHECK_HOURS} "),
            format!("# retry-max-minutes = {RETRY_MAX_MINUTES} "),
            format!("# stale-minutes = {STALE_MINUTES} "),
            format!("# hook-timeout-seconds = {HOOK_TIMEOUT_SECONDS} "),
            format!("# salt-probe = {SALT_PROBE} "),
            format!("default \"{KEYTAB_MODE_TEXT}\""),
            format!("port {LDAP_PORT}"),
            format!("TLS on {LDAPS_PORT}"),
        ] {
            assert!(
                example.contains(&claim),
                "config.example.toml lacks {claim:?}"
            );
        }
    }

    /// The README states the defaults in prose; it must state these.
    #[test]
    fn the_readme_states_these_defaults() {
        let readme = flat(include_str!("../../../README.md"));
        for claim in [
            format!("--config {CONFIG_PATH}"),
            format!("--client-keytab {CLIENT_KEYTAB}"),
            format!("default `{STATE_DIR}`"),
            format!("`recheck-hours` (default {RECHECK_HOURS})"),
            format!("`retry-max-minutes` (default {RETRY_MAX_MINUTES})"),
            format!("`hook-timeout-seconds`, default {HOOK_TIMEOUT_SECONDS})"),
            format!("`salt-probe` (default `{SALT_PROBE}`"),
        ] {
            assert!(readme.contains(&claim), "README.md lacks {claim:?}");
        }
    }

    /// The packages and the unit create and open up these paths; they must be the defaults.
    #[test]
    fn the_packages_and_the_unit_use_these_paths() {
        let config_dir = CONFIG_PATH.rsplit_once('/').map_or("", |(d, _)| d);
        let state_name = STATE_DIR.strip_prefix("/var/lib/").unwrap_or("");
        for (file, text, claims) in [
            (
                "systemd/gmsa-keytab.service",
                include_str!("../../../systemd/gmsa-keytab.service"),
                vec![
                    format!("\nStateDirectory={state_name}\n"),
                    format!("\nReadWritePaths={config_dir}\n"),
                ],
            ),
            (
                "packaging/rpm/gmsa-keytab.spec",
                include_str!("../../../packaging/rpm/gmsa-keytab.spec"),
                vec![
                    format!("%{{buildroot}}{CONFIG_PATH}\n"),
                    format!("%{{buildroot}}{STATE_DIR}\n"),
                ],
            ),
            (
                "packaging/debian/postinst",
                include_str!("../../../packaging/debian/postinst"),
                vec![format!("install -d -m 0700 -o root -g root {STATE_DIR}\n")],
            ),
            (
                "Cargo.toml (deb assets)",
                include_str!("../../../Cargo.toml"),
                vec![format!("\"{}\", \"644\"]", &CONFIG_PATH[1..])],
            ),
        ] {
            for claim in claims {
                assert!(text.contains(&claim), "{file} lacks {claim:?}");
            }
        }
    }

    /// The package descriptions and the man page state the shipped timer's period.
    #[test]
    fn the_descriptions_state_the_timer_s_period() {
        let timer = include_str!("../../../systemd/gmsa-keytab.timer");
        assert!(
            timer.contains("\nOnUnitActiveSec=2h\n")
                && timer.contains("\nRandomizedDelaySec=5min\n")
        );
        for (file, text) in [
            ("Cargo.toml", include_str!("../../../Cargo.toml")),
            (
                "packaging/rpm/gmsa-keytab.spec",
                include_str!("../../../packaging/rpm/gmsa-keytab.spec"),
            ),
            (
                "packaging/generated/man/gmsa-keytab.8",
                include_str!("../../../packaging/generated/man/gmsa-keytab.8"),
            ),
        ] {
            let text = flat(text);
            assert!(
                text.contains("every 2 hours"),
                "{file} does not say every 2 hours"
            );
            assert!(
                !text.contains("every 15 minutes"),
                "{file} still says every 15 minutes"
            );
        }
    }
}
