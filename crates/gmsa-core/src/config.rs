//! The configuration file (`/etc/gmsa-keytab/config.toml`): TOML, kebab-case keys, unknown
//! keys rejected. Pure: text in, [`Config`] out, and [`Config::render`] back. Reading the file,
//! trusting it and resolving user and group names are the daemon's (`config::load`,
//! `store::ids`).

use crate::defaults;
use crate::enctype::Enctype;
use crate::exit::Class;
use crate::keytab::{NT_SRV_HST, Principal};
pub use crate::options::{DirectoryOptions, Protection};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// A configuration error, pointing at the file, line and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {key}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn class(&self) -> Class {
        if self.key == "file" && self.line.is_none() {
            Class::NoInput
        } else {
            Class::Config
        }
    }
}

/// Which SPNs get keytab entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spns {
    /// Every `servicePrincipalName` of the account, as the directory lists them.
    Auto,
    /// Exactly these (each must be registered on the account, or the KDC never issues tickets).
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// sAMAccountName, always with its trailing `$`.
    pub name: String,
    pub keytab: PathBuf,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub mode: u32,
    pub spns: Spns,
    /// `None`: what the account supports (minus DES).
    pub enctypes: Option<Vec<Enctype>>,
    /// Commands (argv, no shell) run after this account's keytab content changed.
    pub on_change: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    /// Which DCs, as whom, how: `client-keytab`, `client-principal`, `servers` (empty: DNS
    /// SRV), `domain`, `site`, `protection`, `ca-file`, `timeout-seconds`. What the directory
    /// client connects with, as it is.
    pub directory: DirectoryOptions,
    pub realm: Option<String>,
    pub state_dir: PathBuf,
    pub metrics_file: Option<PathBuf>,
    /// Query at least this often, even when the password cannot have changed.
    pub recheck: Duration,
    /// Backoff cap after failures.
    pub retry_max: Duration,
    /// `status` calls an account stale when its next query is overdue by more than this.
    pub stale_after: Duration,
    /// Limit for each on-change hook.
    pub hook_timeout: Duration,
    /// Ask the KDC for each account's salt (an AS-REQ without pre-authentication).
    pub salt_probe: bool,
    pub accounts: Vec<Account>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    version: Spanned<i64>,
    client_keytab: Option<PathBuf>,
    client_principal: Option<Spanned<String>>,
    #[serde(default)]
    servers: Vec<Spanned<String>>,
    domain: Option<String>,
    site: Option<String>,
    realm: Option<Spanned<String>>,
    protection: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    timeout_seconds: Option<Spanned<i64>>,
    state_dir: Option<PathBuf>,
    metrics_file: Option<PathBuf>,
    recheck_hours: Option<Spanned<i64>>,
    retry_max_minutes: Option<Spanned<i64>>,
    stale_minutes: Option<Spanned<i64>>,
    hook_timeout_seconds: Option<Spanned<i64>>,
    salt_probe: Option<bool>,
    #[serde(default, rename = "account")]
    accounts: Vec<Spanned<RawAccount>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAccount {
    name: Spanned<String>,
    keytab: Spanned<PathBuf>,
    owner: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    mode: Option<Spanned<toml::Value>>,
    spns: Option<Spanned<toml::Value>>,
    enctypes: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    on_change: Vec<Spanned<Vec<String>>>,
}

/// 1-based line of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset).map_or(1, |s| s.matches('\n').count() + 1)
}

/// The line of a top-level `key = ...` (for values parsed without a span).
fn line_of_key(src: &str, key: &str) -> Option<usize> {
    src.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

struct Ctx<'a> {
    path: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: String,
    ) -> Result<T, ConfigError> {
        Err(ConfigError {
            path: self.path.to_path_buf(),
            line: Some(line_of(self.src, span.start)),
            key: key.to_string(),
            message,
        })
    }
}

/// Parses and validates configuration text. Pure.
pub fn parse(path: &Path, src: &str) -> Result<Config, ConfigError> {
    let cx = Ctx { path, src };
    let raw: Raw = toml::from_str(src).map_err(|e| {
        let line = e.span().map(|s| line_of(src, s.start));
        let mut message = e.message().trim().to_string();
        let text = line.and_then(|l| src.lines().nth(l - 1)).unwrap_or("");
        if let Some(fix) = hints::corrected_line(text, &message) {
            message.push_str(&format!("; write: {fix}"));
        }
        ConfigError {
            path: path.to_path_buf(),
            line,
            key: "syntax".into(),
            message,
        }
    })?;
    if *raw.version.get_ref() != 1 {
        return cx.err(
            raw.version.span(),
            "version",
            "only version = 1 is known".into(),
        );
    }
    if let Some(p) = &raw.client_principal
        && Principal::parse(p.get_ref(), Some("X"), 1).is_err()
    {
        return cx.err(
            p.span(),
            "client-principal",
            format!("{:?} is not a principal", p.get_ref()),
        );
    }
    for s in &raw.servers {
        let host = s.get_ref();
        if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
            return cx.err(
                s.span(),
                "servers",
                format!("{host:?} is not a host name (write dc1.example.com, optionally :port)"),
            );
        }
        // An IP address has no ldap/<host> principal: the same check sync makes.
        if let Err(why) = crate::dc_name::parse_server(host, defaults::LDAP_PORT) {
            return cx.err(s.span(), "servers", why);
        }
    }
    for (key, value) in [
        ("client-keytab", &raw.client_keytab),
        ("state-dir", &raw.state_dir),
        ("metrics-file", &raw.metrics_file),
        ("ca-file", &raw.ca_file),
    ] {
        if let Some(p) = value
            && !p.is_absolute()
        {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: line_of_key(src, key),
                key: key.into(),
                message: format!(
                    "{} must be an absolute path (the service runs with / as its working directory)",
                    p.display()
                ),
            });
        }
    }
    if let Some(r) = &raw.realm
        && let Err(e) = crate::account::realm(r.get_ref())
    {
        return cx.err(r.span(), "realm", e.to_string());
    }
    let protection = match &raw.protection {
        None => Protection::default(),
        Some(p) => match p.get_ref().parse::<Protection>() {
            Ok(v) => v,
            Err(e) => return cx.err(p.span(), "protection", e),
        },
    };
    let timeout = match &raw.timeout_seconds {
        None => defaults::TIMEOUT,
        Some(t) if (1..=600).contains(t.get_ref()) => Duration::from_secs(*t.get_ref() as u64),
        Some(t) => {
            return cx.err(
                t.span(),
                "timeout-seconds",
                "must be between 1 and 600".into(),
            );
        }
    };
    let bounded =
        |v: &Option<Spanned<i64>>, key: &str, unit: u64, lo: i64, hi: i64, default: u64| match v {
            None => Ok(Duration::from_secs(default * unit)),
            Some(t) if (lo..=hi).contains(t.get_ref()) => {
                Ok(Duration::from_secs(*t.get_ref() as u64 * unit))
            }
            Some(t) => cx.err(t.span(), key, format!("must be between {lo} and {hi}")),
        };
    let recheck = bounded(
        &raw.recheck_hours,
        "recheck-hours",
        3600,
        1,
        24,
        defaults::RECHECK_HOURS,
    )?;
    let retry_max = bounded(
        &raw.retry_max_minutes,
        "retry-max-minutes",
        60,
        1,
        1440,
        defaults::RETRY_MAX_MINUTES,
    )?;
    let stale_after = bounded(
        &raw.stale_minutes,
        "stale-minutes",
        60,
        1,
        10080,
        defaults::STALE_MINUTES,
    )?;
    let hook_timeout = bounded(
        &raw.hook_timeout_seconds,
        "hook-timeout-seconds",
        1,
        1,
        3600,
        defaults::HOOK_TIMEOUT_SECONDS,
    )?;
    // No [[account]] table is a valid, inert configuration: what the package ships, so a fresh
    // install neither fails nor syncs a placeholder. sync and status say "not configured".
    let mut accounts: Vec<Account> = Vec::new();
    for a in &raw.accounts {
        let acc = account(&cx, a.get_ref())?;
        if accounts
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&acc.name))
        {
            return cx.err(
                a.get_ref().name.span(),
                "name",
                format!("account {} is listed twice", acc.name),
            );
        }
        // Accounts sharing a keytab share one file: its owner, group and mode must agree.
        if let Some(o) = accounts.iter().find(|o| o.keytab == acc.keytab)
            && (o.owner != acc.owner || o.group != acc.group || o.mode != acc.mode)
        {
            return cx.err(
                a.get_ref().keytab.span(),
                "keytab",
                format!(
                    "{} is shared with account {} but owner, group or mode differ; make them equal",
                    acc.keytab.display(),
                    o.name
                ),
            );
        }
        accounts.push(acc);
    }
    Ok(Config {
        path: path.to_path_buf(),
        directory: DirectoryOptions {
            client_keytab: raw
                .client_keytab
                .unwrap_or_else(|| defaults::CLIENT_KEYTAB.into()),
            client_principal: raw.client_principal.map(|p| p.into_inner()),
            servers: raw.servers.into_iter().map(|s| s.into_inner()).collect(),
            domain: raw.domain,
            site: raw.site,
            protection,
            ca_file: raw.ca_file,
            timeout,
        },
        realm: raw.realm.map(|r| r.into_inner().to_ascii_uppercase()),
        state_dir: raw.state_dir.unwrap_or_else(|| defaults::STATE_DIR.into()),
        metrics_file: raw.metrics_file,
        recheck,
        retry_max,
        stale_after,
        hook_timeout,
        salt_probe: raw.salt_probe.unwrap_or(defaults::SALT_PROBE),
        accounts,
    })
}

fn account(cx: &Ctx<'_>, a: &RawAccount) -> Result<Account, ConfigError> {
    let name = match crate::account::account_name(a.name.get_ref()) {
        Ok(n) => n,
        Err(e) => return cx.err(a.name.span(), "name", e.to_string()),
    };
    let keytab = a.keytab.get_ref();
    if !keytab.is_absolute() || keytab.file_name().is_none() {
        return cx.err(
            a.keytab.span(),
            "keytab",
            format!("{} must be an absolute file path", keytab.display()),
        );
    }
    let mode = match &a.mode {
        None => defaults::KEYTAB_MODE,
        Some(m) => match m.get_ref() {
            toml::Value::String(s) => match parse_mode(s) {
                Ok(v) => v,
                Err(e) => return cx.err(m.span(), "mode", e),
            },
            _ => {
                return cx.err(
                    m.span(),
                    "mode",
                    "write the mode as an octal string, e.g. mode = \"0640\"".into(),
                );
            }
        },
    };
    let spns = match &a.spns {
        None => Spns::Auto,
        Some(s) => match s.get_ref() {
            toml::Value::String(v) if v == "auto" => Spns::Auto,
            toml::Value::Array(items) => {
                let mut list = Vec::new();
                for i in items {
                    match i.as_str() {
                        Some(spn) if Principal::parse(spn, Some("X"), NT_SRV_HST).is_ok() => {
                            list.push(spn.to_string())
                        }
                        _ => {
                            return cx.err(
                                s.span(),
                                "spns",
                                format!("{i} is not an SPN such as \"HTTP/web.example.com\""),
                            );
                        }
                    }
                }
                Spns::List(list)
            }
            _ => return cx.err(s.span(), "spns", "use \"auto\" or a list of SPNs".into()),
        },
    };
    let enctypes = match &a.enctypes {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for e in list.get_ref() {
                match e.parse::<Enctype>() {
                    Ok(v) => out.push(v),
                    Err(err) => return cx.err(list.span(), "enctypes", err.to_string()),
                }
            }
            if out.is_empty() {
                return cx.err(
                    list.span(),
                    "enctypes",
                    "an empty list writes no keys; remove the key to use the account's enctypes"
                        .into(),
                );
            }
            Some(out)
        }
    };
    let mut on_change = Vec::new();
    for cmd in &a.on_change {
        match cmd.get_ref().first() {
            Some(prog) if Path::new(prog).is_absolute() || !prog.contains('/') => {
                on_change.push(cmd.get_ref().clone())
            }
            _ => return cx.err(
                cmd.span(),
                "on-change",
                "each hook is a non-empty argv list, e.g. [\"systemctl\", \"reload\", \"nginx\"]"
                    .into(),
            ),
        }
    }
    let owner = a.owner.as_ref().map(|o| o.get_ref().clone());
    let group = a.group.as_ref().map(|g| g.get_ref().clone());
    for (key, v) in [("owner", &a.owner), ("group", &a.group)] {
        if let Some(v) = v
            && let Err(e) = parse_id(v.get_ref())
        {
            return cx.err(v.span(), key, e);
        }
    }
    Ok(Account {
        name,
        keytab: keytab.clone(),
        owner,
        group,
        mode,
        spns,
        enctypes,
        on_change,
    })
}

impl Config {
    /// The resolved configuration, defaults filled in, as TOML.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let q = |v: &str| toml::Value::String(v.to_string()).to_string();
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|x| q(x)).collect::<Vec<_>>().join(", ")
            )
        };
        s.push_str(&format!(
            "# resolved from {}\nversion = 1\n",
            self.path.display()
        ));
        s.push_str(&format!(
            "client-keytab = {}\n",
            q(&self.directory.client_keytab.to_string_lossy())
        ));
        match &self.directory.client_principal {
            Some(p) => s.push_str(&format!("client-principal = {}\n", q(p))),
            None => s.push_str("# client-principal: the NAME$@REALM entry of client-keytab\n"),
        }
        if self.directory.servers.is_empty() {
            s.push_str("servers = []  # DNS SRV _ldap._tcp.dc._msdcs.<domain>\n");
        } else {
            s.push_str(&format!("servers = {}\n", list(&self.directory.servers)));
        }
        for (k, v, default) in [
            (
                "domain",
                &self.directory.domain,
                "the client principal's realm, lower-cased",
            ),
            (
                "site",
                &self.directory.site,
                "none (domain-wide DC records)",
            ),
            (
                "realm",
                &self.realm,
                "from the directory's defaultNamingContext",
            ),
        ] {
            match v {
                Some(v) => s.push_str(&format!("{k} = {}\n", q(v))),
                None => s.push_str(&format!("# {k}: {default}\n")),
            }
        }
        s.push_str(&format!(
            "protection = {}\n",
            q(self.directory.protection.as_str())
        ));
        if let Some(ca) = &self.directory.ca_file {
            s.push_str(&format!("ca-file = {}\n", q(&ca.to_string_lossy())));
        }
        s.push_str(&format!(
            "timeout-seconds = {}\n",
            self.directory.timeout.as_secs()
        ));
        s.push_str(&format!(
            "state-dir = {}\n",
            q(&self.state_dir.to_string_lossy())
        ));
        if let Some(m) = &self.metrics_file {
            s.push_str(&format!("metrics-file = {}\n", q(&m.to_string_lossy())));
        }
        s.push_str(&format!(
            "recheck-hours = {}\n",
            self.recheck.as_secs() / 3600
        ));
        s.push_str(&format!(
            "retry-max-minutes = {}\n",
            self.retry_max.as_secs() / 60
        ));
        s.push_str(&format!(
            "stale-minutes = {}\n",
            self.stale_after.as_secs() / 60
        ));
        s.push_str(&format!(
            "hook-timeout-seconds = {}\n",
            self.hook_timeout.as_secs()
        ));
        s.push_str(&format!("salt-probe = {}\n", self.salt_probe));
        if self.accounts.is_empty() {
            s.push_str("\n# no [[account]] table: sync does nothing until one is added\n");
        }
        for a in &self.accounts {
            s.push_str(&format!(
                "\n[[account]]\nname = {}\nkeytab = {}\n",
                q(&a.name),
                q(&a.keytab.to_string_lossy())
            ));
            for (k, v) in [("owner", &a.owner), ("group", &a.group)] {
                match v {
                    Some(v) => s.push_str(&format!("{k} = {}\n", q(v))),
                    None => s.push_str(&format!(
                        "# {k}: kept as it is (a new file: the running user's)\n"
                    )),
                }
            }
            s.push_str(&format!("mode = {}\n", q(&format!("{:04o}", a.mode))));
            match &a.spns {
                Spns::Auto => s.push_str("spns = \"auto\"\n"),
                Spns::List(l) => s.push_str(&format!("spns = {}\n", list(l))),
            }
            match &a.enctypes {
                None => s.push_str("# enctypes: aes256, aes128, and rc4 if msDS-SupportedEncryptionTypes allows it\n"),
                Some(e) => {
                    let names: Vec<String> = e.iter().map(|e| e.name().to_string()).collect();
                    s.push_str(&format!("enctypes = {}\n", list(&names)));
                }
            }
            if !a.on_change.is_empty() {
                let hooks: Vec<String> = a.on_change.iter().map(|h| list(h)).collect();
                s.push_str(&format!("on-change = [{}]\n", hooks.join(", ")));
            }
        }
        s
    }
}

/// The keytab modes allowed: read for the owner and the group, write only for the owner.
pub const ALLOWED_MODES: [u32; 4] = [0o400, 0o440, 0o600, 0o640];

/// Parses an octal keytab mode such as `0640` or `640`, and applies the mode policy: setuid,
/// setgid, sticky, execute, group write and any bit for others are refused.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    let policy = "keytab modes grant read to the owner and the group and write only to the \
                  owner: use 0400, 0440, 0600 or 0640";
    match u32::from_str_radix(digits, 8) {
        Ok(m) if ALLOWED_MODES.contains(&m) => Ok(m),
        Ok(m) if m <= 0o7777 => Err(format!("{s:?} ({m:04o}) is refused: {policy}")),
        _ => Err(format!("{s:?} is not an octal file mode; {policy}")),
    }
}

/// Checks a user or group given as a name or a number. `4294967295` is `(uid_t)-1`, which
/// chown(2) reads as "no change": refused rather than silently ignored.
pub fn parse_id(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().any(char::is_control) || s.len() > 256 {
        return Err(format!(
            "{} is not a user or group name",
            crate::account::quoted(s)
        ));
    }
    if let Ok(n) = s.parse::<u64>()
        && n >= u64::from(u32::MAX)
    {
        return Err(format!(
            "{s} is not a valid id: 4294967295 is (uid_t)-1, which chown reads as \"no change\""
        ));
    }
    Ok(s.to_string())
}

mod hints;
#[cfg(test)]
mod tests;
