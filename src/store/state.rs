//! The state file (`<state-dir>/state.json`) on disk: reading, writing, and what the keytabs it
//! names hold. The model and its rules are the core's (`gmsa_core::state`, re-exported here).
//! A missing or unreadable state file means "query now", never an error.

pub use crate::state::{
    AccountState, BehindState, Decode, FILE_NAME, OnDisk, State, due_reason, fingerprint,
    keytab_problem, rejected_backoff,
};

use crate::config::{Account, Config};
use crate::store::fsio::{self, Ownership};
use std::path::{Path, PathBuf};

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
        Ok(bytes) => match State::from_json(&bytes) {
            Ok(s) => (s, None),
            Err(Decode::Version(version)) => (
                State::default(),
                Some(format!(
                    "{}: unknown state version {}; starting afresh",
                    path.display(),
                    version
                )),
            ),
            Err(Decode::Damaged(e)) => (
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
    // Never an empty file in place of the state: a failure to serialise is an error.
    let text = state.to_json().map_err(|e| fsio::FsError::Io {
        path: path.to_path_buf(),
        doing: "serialising the state",
        source: std::io::Error::other(e),
    })?;
    fsio::lock(path, crate::store::keytab_file::LOCK_WAIT)?
        .store(text.as_bytes(), &Ownership::default())?;
    Ok(())
}

/// Whether the keytab still holds the current kvno for the principal last written. Local I/O
/// only: a deleted or replaced keytab is noticed without asking the directory.
pub fn keytab_current(entry: Option<&AccountState>) -> bool {
    crate::state::keytab_current(entry, kvnos_in)
}

/// What `acc`'s keytab holds for the principal last written (local I/O only).
pub fn read_on_disk(acc: &Account, entry: Option<&AccountState>) -> OnDisk {
    let kvnos = entry
        .and_then(|e| e.principal.as_deref())
        .and_then(|p| kvnos_in(&acc.keytab, p))
        .unwrap_or_default();
    OnDisk { kvnos }
}

/// One account as `status` reports it at `now`: its health, what its keytab on disk holds,
/// and what is wrong with that keytab.
#[derive(Debug)]
pub struct Judged {
    pub health: crate::health::Health,
    pub disk: OnDisk,
    pub problem: Option<String>,
}

/// Judges `acc` at `now` from its state entry and its keytab on disk (the disk, not the state
/// file, says whether the account is usable), with the core's health rule.
pub fn judge(cfg: &Config, st: &State, acc: &Account, now: u64) -> Judged {
    let e = st.accounts.get(&acc.name);
    let disk = read_on_disk(acc, e);
    let problem = keytab_problem(e, &disk);
    let health = crate::health::judge(e, problem.is_some(), cfg.stale_after, now);
    Judged {
        health,
        disk,
        problem,
    }
}

/// The kvnos a keytab holds for a principal, for `status`.
pub fn kvnos_in(keytab: &Path, principal: &str) -> Option<Vec<u32>> {
    let mut k: Vec<u32> = crate::store::keytab_file::entries_for(keytab, principal)?
        .iter()
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
