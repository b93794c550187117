//! The state file (`<state-dir>/state.json`): per account, when the directory must be asked
//! next and what the last run found. No secrets are stored. A missing or unreadable state file
//! means "query now", never an error.

use crate::config::{Account, Config};
use crate::keytab::Keytab;
use crate::store::fsio::{self, Ownership};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "state.json";

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

pub fn path(cfg: &Config) -> PathBuf {
    cfg.state_dir.join(FILE_NAME)
}

/// Loads the state; a missing file is an empty state, a damaged one too (with a warning text).
pub fn load(path: &Path) -> (State, Option<String>) {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (State::default(), None),
        Err(e) => (
            State::default(),
            Some(format!(
                "cannot read {}: {e}; every account is queried now",
                path.display()
            )),
        ),
        Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
            Ok(s) if s.version == 1 => (s, None),
            Ok(s) => (
                State::default(),
                Some(format!(
                    "{}: unknown state version {}; starting afresh",
                    path.display(),
                    s.version
                )),
            ),
            Err(e) => (
                State::default(),
                Some(format!(
                    "{} is damaged ({e}); every account is queried now",
                    path.display()
                )),
            ),
        },
    }
}

/// Writes the state atomically (mode 0600), creating the state directory (0700) if needed.
pub fn save(path: &Path, state: &State) -> Result<(), fsio::FsError> {
    if let Some(dir) = path.parent()
        && !dir.exists()
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| fsio::FsError::Io {
                path: dir.to_path_buf(),
                doing: "creating the state directory",
                source,
            })?;
    }
    let mut s = state.clone();
    s.version = 1;
    // Never an empty file in place of the state: a failure to serialise is an error.
    let mut text = serde_json::to_string_pretty(&s).map_err(|e| fsio::FsError::Io {
        path: path.to_path_buf(),
        doing: "serialising the state",
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    fsio::lock(path, crate::store::keytab_file::LOCK_WAIT)?
        .store(text.as_bytes(), &Ownership::default())?;
    Ok(())
}

/// Fingerprint of what decides an account's keytab content, besides the directory's answer.
pub fn fingerprint(cfg: &Config, acc: &Account) -> String {
    let canonical = format!(
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

/// Whether the keytab still holds the current kvno for the principal last written. Local I/O
/// only: a deleted or replaced keytab is noticed without asking the directory.
pub fn keytab_current(entry: Option<&AccountState>) -> bool {
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
    /// Reads `acc`'s keytab for the principal last written (local I/O only).
    pub fn read(acc: &Account, entry: Option<&AccountState>) -> OnDisk {
        let kvnos = entry
            .and_then(|e| e.principal.as_deref())
            .and_then(|p| kvnos_in(&acc.keytab, p))
            .unwrap_or_default();
        OnDisk { kvnos }
    }

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

/// The kvnos a keytab holds for a principal, for `status`.
pub fn kvnos_in(keytab: &Path, principal: &str) -> Option<Vec<u32>> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(keytab).ok()?);
    let kt = Keytab::parse(&bytes).ok()?;
    let mut k: Vec<u32> = kt
        .entries
        .iter()
        .filter(|e| e.principal.to_string() == principal)
        .map(|e| e.kvno)
        .collect();
    k.sort_unstable_by(|a, b| b.cmp(a));
    k.dedup();
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn missing_and_corrupt_state_mean_query_now() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        let (s, w) = load(&p);
        assert!(s.accounts.is_empty() && w.is_none());
        std::fs::write(&p, b"{ not json").unwrap();
        let (s, w) = load(&p);
        assert!(s.accounts.is_empty());
        assert!(w.unwrap().contains("damaged"));
        std::fs::write(&p, b"{\"version\": 7, \"accounts\": {}}").unwrap();
        assert!(load(&p).1.unwrap().contains("version 7"));
    }

    #[test]
    fn save_then_load_round_trips_with_private_modes() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/state.json");
        let mut s = State::default();
        s.accounts.insert("svc_web$".into(), entry());
        save(&p, &s).unwrap();
        let (back, w) = load(&p);
        assert!(w.is_none());
        assert_eq!(back.accounts, s.accounts);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(p.parent().unwrap()), 0o700);
    }
}
