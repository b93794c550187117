//! Applying planned changes to one keytab file: lock, read, plan, store. The one place where
//! the pure plan meets the disk.

use crate::error::Error;
use crate::keytab::{Keytab, Principal};
use crate::plan::{self, KeySet};
use crate::store::fsio::{self, Outcome, Ownership, bounded};
use std::path::Path;
use std::time::Duration;

/// How long to wait for another writer of the same keytab.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// One account's desired state in a keytab.
#[derive(Debug, Clone)]
pub struct Change {
    pub principals: Vec<Principal>,
    pub keysets: Vec<KeySet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub outcome: Outcome,
    pub added: usize,
    pub removed: usize,
    pub entries: usize,
    /// For each change, in order: what it did.
    pub per_change: Vec<ChangeReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeReport {
    pub changed: bool,
    pub added: usize,
    pub removed: usize,
    /// The keytab held this kvno, above every kvno of the change; those entries were kept.
    pub kept_newer: Option<u32>,
}

/// Brings `path` to hold `changes` (applied in order), with `own`. An existing file that does
/// not parse is an error and stays byte-identical. `now` stamps new entries.
pub fn apply(path: &Path, own: &Ownership, changes: &[Change], now: u32) -> Result<Report, Error> {
    let mut locked = fsio::lock(path, LOCK_WAIT)?;
    let mut keytab = match locked.existing() {
        None => Keytab::default(),
        Some(bytes) => Keytab::parse(bytes).map_err(|error| Error::Keytab {
            path: path.to_path_buf(),
            error,
        })?,
    };
    let (mut added, mut removed, mut changed) = (0, 0, false);
    let mut per_change = Vec::with_capacity(changes.len());
    for c in changes {
        let p = plan::plan(&keytab, &c.principals, &c.keysets, now);
        added += p.added;
        removed += p.removed;
        changed |= p.changed;
        per_change.push(ChangeReport {
            changed: p.changed,
            added: p.added,
            removed: p.removed,
            kept_newer: p.kept_newer,
        });
        keytab = p.keytab;
    }
    let outcome = match locked.existing() {
        // Unchanged: hand back the very bytes read, so holes and fill do not count as change.
        Some(bytes) if !changed => {
            let bytes = zeroize::Zeroizing::new(bytes.to_vec());
            locked.store(&bytes, own)?
        }
        _ => {
            let bytes = keytab.to_bytes().map_err(|error| Error::Keytab {
                path: path.to_path_buf(),
                error,
            })?;
            locked.store(&bytes, own)?
        }
    };
    Ok(Report {
        outcome,
        added,
        removed,
        entries: keytab.entries.len(),
        per_change,
    })
}

/// The entries `keytab` holds for `principal`: an unlocked read (a hint; the locked write
/// decides), bounded like every keytab read. A keytab that is missing, not a regular file (a
/// FIFO would block a plain read), over [`bounded::MAX_KEYTAB`] or malformed gives `None`, and
/// the locked write reports it.
pub fn entries_for(keytab: &Path, principal: &str) -> Option<Vec<crate::keytab::Entry>> {
    let bytes = bounded::read_file(keytab, bounded::MAX_KEYTAB).ok()?;
    let kt = crate::keytab::Keytab::parse(&bytes).ok()?;
    Some(
        kt.entries
            .into_iter()
            .filter(|e| e.principal.to_string() == principal)
            .collect(),
    )
}

/// The (enctype, key) entries `keytab` holds for `principal` at `kvno` (see [`entries_for`]).
pub fn held_keys(
    keytab: &Path,
    principal: &str,
    kvno: u32,
) -> Vec<(crate::enctype::Enctype, crate::secret::SecretBytes)> {
    entries_for(keytab, principal)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.kvno == kvno)
        .filter_map(|e| crate::enctype::Enctype::from_number(e.enctype).map(|t| (t, e.key)))
        .collect()
}
