//! The state file's model (`<state-dir>/state.json`): per account, when the directory must be
//! asked next and what the last run found, and the rules that read it (due or not, backing off,
//! what the keytab on disk lacks). No secrets are stored. Pure: JSON text in and out, the keytab's
//! kvnos and every instant passed in; reading and writing the file is the daemon's
//! (`store::state`).

use crate::config::{Account, Config};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "state.json";

/// The one state file version known.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountState {
    pub keytab: PathBuf,
    /// Fingerprint of the account's configuration when last synced; a change means query now.
    pub fingerprint: String,
    /// Seconds since the epoch.
    pub next_query: u64,
    pub last_attempt: Option<u64>,
    pub last_success: Option<u64>,
    /// The account principal as written, e.g. `svc_web$@EXAMPLE.TEST`.
    pub principal: Option<String>,
    /// The kvno of the current key, and every kvno written.
    pub kvno: Option<u32>,
    pub kvnos: Vec<u32>,
    /// When the DC said the current password epoch ends (the next rotation).
    pub epoch_end: Option<u64>,
    pub consecutive_failures: u32,
    pub errors_total: u64,
    pub last_error: Option<String>,
    pub last_exit: Option<u8>,
    pub server: Option<String>,
    /// Set while the DCs asked report an older kvno than the keytab holds (the newer entries
    /// are kept); cleared by the first answer that is not behind.
    pub behind: Option<BehindState>,
}

/// A DC behind the keytab, as last seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BehindState {
    /// The DC whose answer was used, and every DC asked in that run.
    pub server: String,
    pub asked: Vec<String>,
    /// The kvno that DC reports, and the higher one the keytab holds.
    pub dc_kvno: u32,
    pub keytab_kvno: u32,
    /// When it was first seen, and how many runs in a row saw it.
    pub since: u64,
    pub runs: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub accounts: BTreeMap<String, AccountState>,
}

/// Why state file text was not used.
#[derive(Debug)]
pub enum Decode {
    /// Not the JSON of a state.
    Damaged(serde_json::Error),
    /// A state of another version.
    Version(u32),
}

impl State {
    /// The state a file's bytes hold.
    pub fn from_json(bytes: &[u8]) -> Result<State, Decode> {
        match serde_json::from_slice::<State>(bytes) {
            Ok(s) if s.version == VERSION => Ok(s),
            Ok(s) => Err(Decode::Version(s.version)),
            Err(e) => Err(Decode::Damaged(e)),
        }
    }

    /// The file's text (this version, one trailing newline). An error, never an empty text:
    /// the caller must not put nothing in place of the state.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = self.clone();
        s.version = VERSION;
        let mut text = serde_json::to_string_pretty(&s)?;
        text.push('\n');
        Ok(text)
    }
}

/// Fingerprint of what decides an account's keytab content, besides the directory's answer.
pub fn fingerprint(cfg: &Config, acc: &Account) -> String {
    let mut canonical = format!(
        "{}|{}|{:?}|{:?}|{:o}|{:?}|{:?}|{:?}",
        acc.name,
        acc.keytab.display(),
        acc.owner,
        acc.group,
        acc.mode,
        acc.spns,
        acc.enctypes,
        cfg.realm
    );
    // The salt probe decides the AES keys of a renamed account. Only its non-default value is
    // added, so the fingerprints of existing state files stay as they were.
    if !cfg.salt_probe {
        canonical.push_str("|no-salt-probe");
    }
    format!("{:016x}", crate::schedule::fnv1a(canonical.bytes()))
}

/// Why an account must be queried now, or `None` when its next query is still ahead. Pure.
pub fn due_reason(
    entry: Option<&AccountState>,
    fingerprint: &str,
    keytab_current: bool,
    now: u64,
) -> Option<&'static str> {
    let Some(e) = entry else {
        return Some("never synced");
    };
    if e.fingerprint != fingerprint {
        return Some("configuration changed");
    }
    // While a rejected key or a denial backs off, nothing but a configuration change (or
    // `--force`) brings the retry forward: with a rejected host key each attempt is a failed
    // logon. Other failures (a DC down, a network fault) cost nothing to retry, so a missing
    // keytab stays due at once, as an operator who just fixed the DC expects.
    if rejected_backoff(e, now) {
        return None;
    }
    if e.last_success.is_none() {
        return Some("no successful sync yet");
    }
    if !keytab_current {
        return Some("keytab missing or without the current keys");
    }
    if now >= e.next_query {
        return Some(if e.consecutive_failures > 0 {
            "retry"
        } else {
            "scheduled"
        });
    }
    None
}

/// Whether `e` is waiting out the long backoff of a rejected host key or an access denial
/// (exit 77) at `now`.
pub fn rejected_backoff(e: &AccountState, now: u64) -> bool {
    e.consecutive_failures > 0
        && now < e.next_query
        && e.last_exit == Some(crate::exit::Class::NoPerm.code())
}

/// Whether the keytab still holds the current kvno for the principal last written, given what
/// `kvnos_in(keytab, principal)` finds in it (the daemon reads the file).
pub fn keytab_current(
    entry: Option<&AccountState>,
    kvnos_in: impl FnOnce(&Path, &str) -> Option<Vec<u32>>,
) -> bool {
    let Some(e) = entry else { return false };
    match (&e.principal, e.kvno) {
        (Some(principal), Some(kvno)) => {
            kvnos_in(&e.keytab, principal).is_some_and(|k| k.contains(&kvno))
        }
        _ => false,
    }
}

/// What an account's keytab on disk holds: `status` and the metrics report this, not what the
/// state file remembers writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnDisk {
    /// The kvnos of the account's principal in the keytab, highest first; empty when the file
    /// is missing, unreadable or holds no key of the account (or its principal is not known
    /// yet: never synced).
    pub kvnos: Vec<u32>,
}

impl OnDisk {
    pub fn present(&self) -> bool {
        !self.kvnos.is_empty()
    }
}

/// Why an account that was synced is not usable now, judged from its keytab on disk: missing,
/// or without the kvno of the last successful read. `None` when fine or never synced. Pure.
pub fn keytab_problem(entry: Option<&AccountState>, disk: &OnDisk) -> Option<String> {
    let e = entry?;
    e.last_success?;
    let kvno = e.kvno?;
    if !disk.present() {
        return Some(format!(
            "the keytab {} is missing or holds no key of the account",
            e.keytab.display()
        ));
    }
    if !disk.kvnos.contains(&kvno) {
        let held: Vec<String> = disk.kvnos.iter().map(|k| k.to_string()).collect();
        return Some(format!(
            "the keytab lacks the current kvno {kvno} (it holds {})",
            held.join(",")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_of_existing_state_files_stay_and_the_salt_probe_counts() {
        let cfg = |extra: &str| {
            crate::config::parse(
                std::path::Path::new("/c"),
                &format!(
                    "version = 1\n{extra}\n[[account]]\nname = \"svc_web\"\nkeytab = \"/k\"\n"
                ),
            )
            .unwrap()
        };
        let (a, b) = (cfg(""), cfg("salt-probe = false"));
        // The value this configuration had before the salt probe counted: a state file
        // written then does not make every account due after an upgrade.
        assert_eq!(fingerprint(&a, &a.accounts[0]), "207fe284246ff4db");
        assert_ne!(
            fingerprint(&a, &a.accounts[0]),
            fingerprint(&b, &b.accounts[0])
        );
    }

    fn entry() -> AccountState {
        AccountState {
            fingerprint: "f".into(),
            next_query: 1000,
            last_success: Some(500),
            ..AccountState::default()
        }
    }

    #[test]
    fn keytab_problems_come_from_the_disk() {
        let mut e = entry();
        e.keytab = "/k".into();
        e.kvno = Some(3);
        let disk = |k: &[u32]| OnDisk { kvnos: k.to_vec() };
        assert_eq!(keytab_problem(Some(&e), &disk(&[3, 2])), None);
        assert!(
            keytab_problem(Some(&e), &disk(&[]))
                .unwrap()
                .contains("/k is missing")
        );
        assert!(
            keytab_problem(Some(&e), &disk(&[2, 1]))
                .unwrap()
                .contains("lacks the current kvno 3 (it holds 2,1)")
        );
        // never synced: nothing to compare with (status says stale for that)
        assert_eq!(keytab_problem(None, &disk(&[])), None);
        e.last_success = None;
        assert_eq!(keytab_problem(Some(&e), &disk(&[])), None);
    }

    #[test]
    fn due_reasons() {
        assert_eq!(due_reason(None, "f", true, 0), Some("never synced"));
        let e = entry();
        assert_eq!(
            due_reason(Some(&e), "g", true, 0),
            Some("configuration changed")
        );
        assert_eq!(
            due_reason(Some(&e), "f", false, 0),
            Some("keytab missing or without the current keys")
        );
        assert_eq!(due_reason(Some(&e), "f", true, 999), None);
        assert_eq!(due_reason(Some(&e), "f", true, 1000), Some("scheduled"));
        let failed = AccountState {
            consecutive_failures: 2,
            ..e.clone()
        };
        assert_eq!(due_reason(Some(&failed), "f", true, 1000), Some("retry"));
        // A transient failure: a missing keytab is due at once.
        assert_eq!(
            due_reason(Some(&failed), "f", false, 999),
            Some("keytab missing or without the current keys")
        );
        // Backing off after a rejection: not due before the retry, even with the keytab gone
        // or never synced.
        let rejected = AccountState {
            last_exit: Some(77),
            ..failed.clone()
        };
        assert!(rejected_backoff(&rejected, 999));
        assert!(!rejected_backoff(&rejected, 1000));
        assert_eq!(due_reason(Some(&rejected), "f", false, 999), None);
        let never_ok = AccountState {
            last_success: None,
            ..rejected.clone()
        };
        assert_eq!(due_reason(Some(&never_ok), "f", false, 999), None);
        assert_eq!(
            due_reason(Some(&never_ok), "f", false, 1000),
            Some("no successful sync yet")
        );
        assert_eq!(
            due_reason(Some(&never_ok), "g", false, 999),
            Some("configuration changed")
        );
        let never = AccountState {
            last_success: None,
            ..e
        };
        assert_eq!(
            due_reason(Some(&never), "f", true, 0),
            Some("no successful sync yet")
        );
    }

    #[test]
    fn keytab_current_wants_the_kvno_last_written() {
        let mut e = entry();
        assert!(!keytab_current(None, |_, _| Some(vec![3])));
        // Never written: nothing to look for.
        assert!(!keytab_current(Some(&e), |_, _| Some(vec![3])));
        e.keytab = "/k".into();
        e.principal = Some("svc_web$@EXAMPLE.TEST".into());
        e.kvno = Some(3);
        let read = |k: &[u32]| {
            let k = k.to_vec();
            move |path: &Path, principal: &str| {
                assert_eq!(
                    (path, principal),
                    (Path::new("/k"), "svc_web$@EXAMPLE.TEST")
                );
                Some(k)
            }
        };
        assert!(keytab_current(Some(&e), read(&[3, 2])));
        assert!(!keytab_current(Some(&e), read(&[2, 1])));
        assert!(!keytab_current(Some(&e), |_, _| None));
    }

    #[test]
    fn json_round_trips_and_refuses_other_versions() {
        let mut s = State::default();
        s.accounts.insert("svc_web$".into(), entry());
        let text = s.to_json().unwrap();
        assert!(text.ends_with("}\n"));
        let back = State::from_json(text.as_bytes()).unwrap();
        assert_eq!((back.version, &back.accounts), (VERSION, &s.accounts));
        assert!(matches!(
            State::from_json(b"{\"version\": 7, \"accounts\": {}}"),
            Err(Decode::Version(7))
        ));
        assert!(matches!(
            State::from_json(b"{ not json"),
            Err(Decode::Damaged(_))
        ));
    }
}
