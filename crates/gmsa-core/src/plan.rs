//! The update plan: given what a keytab holds and the keys an account should have, decide the
//! new keytab content. Pure: no I/O, and the timestamp is an argument.

use crate::blob::Password;
use crate::crypto;
use crate::enctype::Enctype;
use crate::keytab::{Entry, Keytab, Principal};
use crate::secret::SecretBytes;

/// The keys of one password version.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub kvno: u32,
    pub keys: Vec<(Enctype, SecretBytes)>,
}

/// The result of planning: the keytab to hold afterwards, and what changed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub keytab: Keytab,
    /// False when the managed entries already match: the caller must not write at all.
    pub changed: bool,
    /// Managed entries dropped (old kvnos, old keys, enctypes no longer wanted).
    pub removed: usize,
    /// Entries written that were not there before.
    pub added: usize,
    /// The highest kvno the keytab held above every kvno of the key sets: those entries were
    /// kept (the DC that was asked is behind), `None` when there were none.
    pub kept_newer: Option<u32>,
}

/// Replaces every entry of the `managed` principals with exactly the entries in `keysets`
/// (for each key set, for each principal, for each key, in that order), keeping every entry of
/// any other principal byte-identical and in its place. When the key sets hold the current kvno
/// K but no K-1, existing K-1 entries of the managed principals are kept (see below). Entries
/// of the managed principals with a kvno above every kvno of the key sets are kept as they are
/// and reported in [`Plan::kept_newer`]: a kvno never goes back.
///
/// The managed entries already present are compared on name, name type, kvno, enctype and key,
/// not timestamp and not order: when they are the same set, nothing changed and the existing
/// keytab is returned as it is.
pub fn plan(existing: &Keytab, managed: &[Principal], keysets: &[KeySet], timestamp: u32) -> Plan {
    let mut principals: Vec<&Principal> = Vec::new();
    for p in managed {
        if !principals.iter().any(|q| q.same_name(p)) {
            principals.push(p);
        }
    }
    let is_managed = |e: &Entry| principals.iter().any(|p| p.same_name(&e.principal));

    let mut desired: Vec<Entry> = Vec::new();
    for set in keysets {
        for p in &principals {
            for (enctype, key) in &set.keys {
                let e = Entry::new(
                    (*p).clone(),
                    timestamp,
                    set.kvno,
                    enctype.number(),
                    key.clone(),
                );
                // The same kvno twice (e.g. a caller bug) must not produce duplicate entries.
                if !desired.iter().any(|d| same_entry(d, &e)) {
                    desired.push(e);
                }
            }
        }
    }
    // Right after an account's first rollover the DC may omit the previous password (Samba
    // sends it only once the account is older than one full interval), yet tickets under K-1
    // stay valid for hours. When the key sets carry no K-1, the K-1 entries already in the
    // keytab (written by us when they were current) are kept, in the enctypes still wanted.
    if let Some(current) = keysets.first()
        && current.kvno > 1
        && !keysets.iter().any(|k| k.kvno == current.kvno - 1)
    {
        let wanted: Vec<u16> = current.keys.iter().map(|(e, _)| e.number()).collect();
        for e in existing
            .entries
            .iter()
            .filter(|e| is_managed(e) && e.kvno == current.kvno - 1 && wanted.contains(&e.enctype))
        {
            if !desired.iter().any(|d| same_entry(d, e)) {
                desired.push(e.clone());
            }
        }
    }

    // A DC that is behind (replication lag, restored from a backup) reports an older kvno than
    // the keytab holds. Newer keys came from a DC that knew better, and the KDCs that are up to
    // date issue tickets under them: they stay, byte for byte and first, so a kvno never goes
    // back. A DC that has caught up later replaces them the normal way.
    let mut kept_newer = None;
    if let Some(top) = keysets.iter().map(|k| k.kvno).max() {
        let newer: Vec<Entry> = existing
            .entries
            .iter()
            .filter(|e| is_managed(e) && e.kvno > top)
            .cloned()
            .collect();
        kept_newer = newer.iter().map(|e| e.kvno).max();
        if !newer.is_empty() {
            let rest = std::mem::take(&mut desired);
            for e in newer.into_iter().chain(rest) {
                if !desired.iter().any(|d| same_entry(d, &e)) {
                    desired.push(e);
                }
            }
        }
    }

    let current: Vec<&Entry> = existing.entries.iter().filter(|e| is_managed(e)).collect();
    let kept = current
        .iter()
        .filter(|e| desired.iter().any(|d| same_entry(d, e)))
        .count();
    let unique_current = current
        .iter()
        .enumerate()
        .filter(|(i, e)| !current[..*i].iter().any(|o| same_entry(o, e)))
        .count();
    let removed = current.len() - kept;
    let added = desired
        .iter()
        .filter(|d| !current.iter().any(|e| same_entry(d, e)))
        .count();
    let changed = removed > 0 || added > 0 || unique_current != current.len();

    if !changed {
        return Plan {
            keytab: existing.clone(),
            changed: false,
            removed: 0,
            added: 0,
            kept_newer,
        };
    }
    let mut entries: Vec<Entry> = existing
        .entries
        .iter()
        .filter(|e| !is_managed(e))
        .cloned()
        .collect();
    entries.extend(desired);
    Plan {
        keytab: Keytab { entries },
        changed: true,
        removed,
        added,
        kept_newer,
    }
}

/// Takes, for a password version, the keys a keytab already holds for it instead of the ones
/// just derived (`held`: the account principal's (enctype, key) entries of `set.kvno`), when
/// they are that same password's. Returns whether any was taken.
///
/// Why: a kvno's key never changes once the KDC has set it, and the caller may not know its
/// salt. After a rollover the previous password's keys (K-1) carry the salt the KDC used when
/// it set that password; the KDC now describes only K's. For a gMSA renamed during K-1's epoch
/// the two differ (K-1 under the old name, K under the new), and re-deriving K-1 with K's salt
/// turns away every ticket issued under K-1 in the hours before the rollover (shown on Samba
/// by tests/lab_trust.rs). The held keys were written while K-1 was the active key.
///
/// The RC4 key has no salt, so it tells whose password the held keys are: when the keytab
/// holds one and it is not `password`'s, they are another password's (an account re-created
/// under the same name, a keytab another tool wrote) and the derived keys stay.
pub fn reuse_held(set: &mut KeySet, held: &[(Enctype, SecretBytes)], password: &Password) -> bool {
    if let Some((_, rc4)) = held.iter().find(|(e, _)| *e == Enctype::Rc4Hmac)
        && *rc4 != crypto::derive_key(Enctype::Rc4Hmac, password, "")
    {
        return false;
    }
    let mut taken = false;
    for (enctype, key) in &mut set.keys {
        if let Some((_, h)) = held.iter().find(|(e, _)| e == enctype) {
            *key = h.clone();
            taken = true;
        }
    }
    taken
}

/// Equal for planning purposes: everything but the timestamp.
fn same_entry(a: &Entry, b: &Entry) -> bool {
    a.principal.same_name(&b.principal)
        && a.principal.name_type == b.principal.name_type
        && a.kvno == b.kvno
        && a.enctype == b.enctype
        && a.key == b.key
}

#[cfg(test)]
mod tests;
