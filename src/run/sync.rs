//! The main job: for every configured gMSA, read its blob from a DC and bring its keytab up to
//! date. One DC connection per run, for all accounts; one write per keytab file.

use crate::account;
use crate::blob::{self, ManagedPassword};
use crate::config::{Account, Config, Spns};
use crate::crypto::gmsa_salt;
use crate::directory::{AccountRecord, ClientOptions, Directory, DirectoryError, Session};
use crate::enctype;
use crate::error::Error;
use crate::exit::Class;
use crate::log;
use crate::store::fsio::Outcome;
use crate::store::ids::AccountIds;
use crate::store::keytab_file::{self, Change};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod refuted;
mod trust;

pub use refuted::{KeyRefuted, Refutation, SaltSource};

pub use trust::probe_salt as kdc_salt;
pub use trust::{Checked, NoKdcSalt, Unverified, check as check_keys};

/// Within this long of the epoch's end the DC already hands out the *next* password as
/// "current" (MS-ADTS MaxClockSkew, 5 minutes; reference §1 and §7).
const FUTURE_KEY_WINDOW: Duration = Duration::from_secs(300);

/// What happened to one account.
#[derive(Debug)]
pub struct AccountResult {
    pub name: String,
    pub keytab: PathBuf,
    /// The DC that answered for this account (after a failover, not the first one).
    pub server: Option<String>,
    pub result: Result<Synced, Error>,
    /// Set when every DC asked reported an older kvno than the keytab holds.
    pub behind: Option<Behind>,
}

/// A DC behind the keytab: it reported `dc_kvno`, the keytab holds `keytab_kvno` (higher),
/// whose entries were kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behind {
    /// The DC whose answer was used (the most recent of those asked).
    pub server: String,
    /// Every DC asked for this account in this run, in order.
    pub asked: Vec<String>,
    pub dc_kvno: u32,
    pub keytab_kvno: u32,
}

/// A successful sync of one account.
#[derive(Debug, Clone)]
pub struct Synced {
    /// The account principal written, e.g. `svc_web$@EXAMPLE.TEST`.
    pub principal: String,
    pub kvno: u32,
    pub kvnos: Vec<u32>,
    pub principals: usize,
    pub enctypes: Vec<&'static str>,
    pub outcome: Outcome,
    /// This account's own entries changed (its hooks should run).
    pub changed: bool,
    pub query_interval: Duration,
    pub unchanged_interval: Duration,
    /// The KDC's ticket confirmed the keys (false: the check could not run, and they were
    /// written with a warning).
    pub confirmed: bool,
}

/// The result of one run over all accounts.
#[derive(Debug)]
pub struct Summary {
    pub server: Option<String>,
    pub accounts: Vec<AccountResult>,
}

impl Summary {
    /// The exit class of the run: the first failure's, or `None` when every account synced.
    pub fn failure(&self) -> Option<Class> {
        self.accounts
            .iter()
            .find_map(|a| a.result.as_ref().err().map(|e| e.class()))
    }
}

/// The kvno of the blob's current password, and the salts of its keys and of the previous
/// password's. `kdc_salt` is the salt the KDC holds for the account's active key (the salt
/// probe), None when the probe failed or is turned off. Pure.
///
/// The KDC salts a new password with the account's name at the time of the change, and keeps
/// that salt while the name changes (a renamed gMSA): so the key the KDC holds now takes the
/// KDC's salt, and the password that is about to replace it (the blob's current in the last
/// minutes of an epoch, labelled K+1) the salt of the current name (seen on Samba 4.22 after
/// a rollover of the lab's renamed account).
pub fn key_salts(
    rec: &AccountRecord,
    password: &ManagedPassword,
    realm: &str,
    kdc_salt: Option<&str>,
) -> (u32, String, String) {
    let computed = gmsa_salt(realm, &rec.sam_account_name);
    let held = kdc_salt.map_or_else(|| computed.clone(), str::to_string);
    // In the last minutes of an epoch the blob's "current" is the password that becomes
    // current at the rollover, while msDS-KeyVersionNumber still names the active key: the
    // active key is then the blob's "previous" (shown by the lab's window test). Should a DC
    // send no previous password then (a young account), the plan keeps the K entries already
    // in the keytab, so labelling the next password K+1 never loses the active key.
    if password.query_interval <= FUTURE_KEY_WINDOW {
        (rec.kvno.saturating_add(1), computed, held)
    } else {
        (rec.kvno, held.clone(), held)
    }
}

/// The keys one account needs, from what the directory said (and the KDC's salt, see
/// [`key_salts`]). Pure.
pub fn plan_account(
    acc: &Account,
    rec: &AccountRecord,
    password: &ManagedPassword,
    realm: &str,
    kdc_salt: Option<&str>,
) -> Result<(Change, Synced), Error> {
    let enctypes = enctype::select(rec.supported_enctypes, acc.enctypes.as_deref())?;
    let spns: Vec<String> = match &acc.spns {
        Spns::Auto => rec.spns.clone(),
        Spns::List(list) => {
            for spn in list {
                if !rec.spns.iter().any(|r| r.eq_ignore_ascii_case(spn)) {
                    log::warn(
                        "configured SPN is not registered on the account; the KDC issues no tickets for it",
                        &[("account", &rec.sam_account_name), ("spn", spn)],
                    );
                }
            }
            list.clone()
        }
    };
    let principals = account::principals(&rec.sam_account_name, realm, &spns)?;
    let (kvno, current_salt, previous_salt) = key_salts(rec, password, realm, kdc_salt);
    let keysets = account::keysets_salted(password, kvno, &current_salt, &previous_salt, &enctypes);
    let synced = Synced {
        principal: principals
            .first()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        kvno: keysets.first().map_or(rec.kvno, |k| k.kvno),
        kvnos: keysets.iter().map(|k| k.kvno).collect(),
        principals: principals.len(),
        enctypes: enctypes.iter().map(|e| e.name()).collect(),
        outcome: Outcome::Unchanged,
        changed: false,
        query_interval: password.query_interval,
        unchanged_interval: password.unchanged_interval,
        confirmed: false,
    };
    Ok((
        Change {
            principals,
            keysets,
        },
        synced,
    ))
}

/// Outside the last minutes of an epoch the blob's previous password is K-1, no longer
/// active: the KDC's salt is K's, and K-1's keys already in the keytab (written while K-1 was
/// active) are taken instead of re-derived ([`crate::plan::reuse_held`]). Before the key check,
/// so that it judges the bytes about to be written.
pub fn reuse_previous(
    change: &mut Change,
    keytab: &std::path::Path,
    principal: &str,
    rec: &AccountRecord,
    password: &ManagedPassword,
) {
    let (Some(prev), Some(set)) = (
        &password.previous,
        change.keysets.iter_mut().find(|k| k.kvno + 1 == rec.kvno),
    ) else {
        return;
    };
    let held = keytab_file::held_keys(keytab, principal, set.kvno);
    crate::plan::reuse_held(set, &held, prev);
}

fn fetch_one(
    session: &mut dyn Directory,
    cfg: &Config,
    acc: &Account,
    realm: &str,
) -> Result<(Change, Synced), Error> {
    let rec = session.fetch(&acc.name)?;
    let password = blob::parse(rec.blob.expose()).map_err(|error| Error::Blob {
        source_name: format!("{} on {}", rec.sam_account_name, session.server()),
        error,
    })?;
    let probe = if cfg.salt_probe {
        trust::probe_salt(session, &rec.sam_account_name, realm)
    } else {
        Err(trust::NoKdcSalt::Off)
    };
    if let Err(why) = &probe
        && cfg.salt_probe
    {
        log::warn(
            "cannot read the account's salt from the KDC; using the salt computed from its name \
             (the ticket check below still tests it)",
            &[
                ("account", &rec.sam_account_name),
                ("server", &session.server()),
                ("reason", why),
            ],
        );
    }
    let kdc_salt = probe.as_ref().ok().map(String::as_str);
    let (mut change, mut synced) = plan_account(acc, &rec, &password, realm, kdc_salt)?;
    reuse_previous(&mut change, &acc.keytab, &synced.principal, &rec, &password);
    synced.confirmed = trust::confirm(session, &rec, &password, realm, &change, &probe)?;
    Ok((change, synced))
}

/// The highest kvno `keytab` holds for `principal` (unlocked read: a hint for asking another
/// DC; the plan decides under the lock).
fn held_kvno(keytab: &std::path::Path, principal: &str) -> Option<u32> {
    crate::store::state::kvnos_in(keytab, principal).and_then(|k| k.into_iter().max())
}

/// One account's answer so far.
struct Fetched {
    result: Result<(Change, Synced), Error>,
    server: Option<String>,
    /// DCs asked for this account.
    asked: Vec<String>,
}

/// Fetches one account; when the DC in use stops serving, moves the session to the next DC
/// and asks there, so a frozen DC costs one timeout for the whole run. `lost` is set once no
/// DC is left: later accounts then fail at once.
fn fetch_with_failover(
    session: &mut dyn Directory,
    cfg: &Config,
    acc: &Account,
    realm: &str,
    lost: &mut Option<Arc<DirectoryError>>,
    asked: &mut Vec<String>,
) -> (Result<(Change, Synced), Error>, Option<String>) {
    loop {
        if let Some(all) = lost {
            return (Err(Error::DcLost(all.clone())), None);
        }
        let server = session.server().to_string();
        asked.push(server.clone());
        match fetch_one(session, cfg, acc, realm) {
            Err(Error::Directory(e)) if e.is_dc_failure() => {
                log::warn(
                    "domain controller failed; moving to the next one",
                    &[("server", &server), ("account", &acc.name), ("error", &e)],
                );
                match session.failover(Some(e)) {
                    Ok(()) => log::info(
                        "failed over",
                        &[("from", &server), ("server", &session.server())],
                    ),
                    Err(all) => *lost = Some(Arc::new(all)),
                }
            }
            other => return (other, Some(server)),
        }
    }
}

/// Syncs `accounts` (a subset of `cfg.accounts`) with the domain controllers and returns
/// per-account results. `now` stamps new keytab entries.
pub fn run(cfg: &Config, accounts: &[&Account], now: u32) -> Summary {
    run_with(cfg, accounts, now, Session::connect)
}

/// [`run`], with the directory `connect` gives (tests pass a recorded one).
pub fn run_with<D: Directory>(
    cfg: &Config,
    accounts: &[&Account],
    now: u32,
    connect: impl FnOnce(&ClientOptions) -> Result<D, DirectoryError>,
) -> Summary {
    let fail_all = |e: &dyn Fn() -> Error| Summary {
        server: None,
        accounts: accounts
            .iter()
            .map(|a| AccountResult {
                name: a.name.clone(),
                keytab: a.keytab.clone(),
                server: None,
                result: Err(e()),
                behind: None,
            })
            .collect(),
    };
    let mut connected = match connect(&cfg.directory) {
        Ok(s) => s,
        Err(e) => {
            let e = Arc::new(e);
            return fail_all(&|| Error::NoDirectory(e.clone()));
        }
    };
    let session: &mut dyn Directory = &mut connected;
    let realm = cfg
        .realm
        .clone()
        .unwrap_or_else(|| session.realm().to_string());
    let server = session.server().to_string();
    log::debug("connected", &[("server", &server), ("realm", &realm)]);

    // Fetch everything first (one connection, moving on when a DC fails), then write each
    // keytab once.
    let mut lost: Option<Arc<DirectoryError>> = None;
    let mut fetched: Vec<Fetched> = Vec::with_capacity(accounts.len());
    for acc in accounts {
        let mut asked = Vec::new();
        let (result, server) =
            fetch_with_failover(session, cfg, acc, &realm, &mut lost, &mut asked);
        fetched.push(Fetched {
            result,
            server,
            asked,
        });
    }

    // A DC that reports an older kvno than the keytab holds is behind (replication lag, a
    // restore from backup), and a DC whose KDC refutes the keys its directory gave is
    // mid-replication: ask the other DCs for those accounts, and keep the newest answer.
    let ask_elsewhere = |f: &Fetched, acc: &Account| match &f.result {
        Ok((_, s)) => held_kvno(&acc.keytab, &s.principal).is_some_and(|held| held > s.kvno),
        Err(Error::KeyMismatch(k)) => k.another_dc_may_agree(),
        Err(_) => false,
    };
    // The DC in use first, for the accounts another DC answered (a failover mid-run), then
    // the next DCs, until every such account has asked each DC left.
    while lost.is_none() {
        let pending: Vec<usize> = (0..accounts.len())
            .filter(|i| ask_elsewhere(&fetched[*i], accounts[*i]))
            .collect();
        if pending.is_empty() {
            break;
        }
        let here = session.server().to_string();
        let fresh: Vec<usize> = pending
            .into_iter()
            .filter(|i| !fetched[*i].asked.contains(&here))
            .collect();
        if fresh.is_empty() {
            if !session.has_more_servers() {
                break;
            }
            if let Err(e) = session.failover(None) {
                log::warn(
                    "no other domain controller to ask about the accounts the one asked is \
                     behind on or whose keys its KDC refuted",
                    &[("server", &here), ("error", &e)],
                );
                break;
            }
            continue;
        }
        log::info(
            "asking another domain controller: the one asked is behind the keytab, or its KDC \
             refuted the keys its directory gave",
            &[("server", &here), ("accounts", &fresh.len())],
        );
        for i in fresh {
            let f = &mut fetched[i];
            let (result, server) =
                fetch_with_failover(session, cfg, accounts[i], &realm, &mut lost, &mut f.asked);
            let better = match (&result, &f.result) {
                (Ok((_, new)), Ok((_, old))) => new.kvno > old.kvno,
                // Keys another KDC confirmed, for keys this one refuted.
                (Ok((_, new)), Err(Error::KeyMismatch(_))) => new.confirmed,
                _ => false,
            };
            if better {
                f.result = result;
                f.server = server;
            }
        }
    }
    drop(connected);

    let mut changes: Vec<Option<Change>> = Vec::with_capacity(accounts.len());
    let mut results: Vec<Result<Synced, Error>> = Vec::with_capacity(accounts.len());
    let mut servers = Vec::with_capacity(accounts.len());
    let mut asked = Vec::with_capacity(accounts.len());
    for f in fetched {
        match f.result {
            Ok((change, synced)) => {
                changes.push(Some(change));
                results.push(Ok(synced));
            }
            Err(e) => {
                changes.push(None);
                results.push(Err(e));
            }
        }
        servers.push(f.server);
        asked.push(f.asked);
    }
    let mut behinds: Vec<Option<Behind>> = vec![None; accounts.len()];

    let mut keytabs: Vec<&PathBuf> = Vec::new();
    for a in accounts {
        if !keytabs.contains(&&a.keytab) {
            keytabs.push(&a.keytab);
        }
    }
    for path in keytabs {
        let members: Vec<usize> = (0..accounts.len())
            .filter(|i| &accounts[*i].keytab == path && changes[*i].is_some())
            .collect();
        let batch: Vec<Change> = members.iter().filter_map(|i| changes[*i].take()).collect();
        if batch.is_empty() {
            continue;
        }
        // Accounts sharing a keytab share its ownership (config validation enforces it).
        let applied = accounts[members[0]]
            .ownership()
            .map_err(Error::from)
            .and_then(|own| keytab_file::apply(path, &own, &batch, now));
        match applied {
            Ok(report) => {
                for (n, i) in members.iter().enumerate() {
                    let Ok(s) = &mut results[*i] else { continue };
                    let c = report.per_change.get(n);
                    s.outcome = report.outcome;
                    s.changed = c.is_some_and(|c| c.changed);
                    if let Some(held) = c.and_then(|c| c.kept_newer) {
                        let b = Behind {
                            server: servers[*i].clone().unwrap_or_else(|| "-".into()),
                            asked: asked[*i].clone(),
                            dc_kvno: s.kvno,
                            keytab_kvno: held,
                        };
                        log::warn(
                            "domain controller is behind: it reports an older kvno than the \
                             keytab holds; the newer keys were kept",
                            &[
                                ("account", &accounts[*i].name),
                                ("server", &b.server),
                                ("dc_kvno", &b.dc_kvno),
                                ("keytab_kvno", &b.keytab_kvno),
                                ("asked", &b.asked.join(",")),
                            ],
                        );
                        behinds[*i] = Some(b);
                    }
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for i in members {
                    results[i] = Err(Error::KeytabBatch(e.clone()));
                }
            }
        }
    }
    Summary {
        server: Some(server),
        accounts: accounts
            .iter()
            .zip(results)
            .zip(servers)
            .zip(behinds)
            .map(|(((a, result), server), behind)| AccountResult {
                name: a.name.clone(),
                keytab: a.keytab.clone(),
                server,
                result,
                behind,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::enctype::Enctype;
    use std::path::Path;

    fn account(extra: &str) -> Account {
        let c = config::parse(
            Path::new("/c"),
            &format!("version = 1\n[[account]]\nname = \"svc_web\"\nkeytab = \"/k\"\n{extra}\n"),
        )
        .unwrap();
        c.accounts[0].clone()
    }

    fn record(supported: Option<u32>) -> AccountRecord {
        AccountRecord {
            sam_account_name: "svc_web$".into(),
            dn: "CN=svc_web,DC=example,DC=test".into(),
            blob: crate::secret::SecretBytes::new(Vec::new()),
            spns: vec!["HTTP/web.example.test".into(), "HTTP/web".into()],
            supported_enctypes: supported,
            kvno: 4,
        }
    }

    fn password(query_secs: u64, previous: bool) -> ManagedPassword {
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/blob-b.bin"
        ))
        .unwrap();
        let mut p = blob::parse(&raw).unwrap();
        p.query_interval = Duration::from_secs(query_secs);
        if !previous {
            p.previous = None;
        }
        p
    }

    #[test]
    fn current_is_k_and_previous_k_minus_1() {
        let (change, synced) = plan_account(
            &account(""),
            &record(None),
            &password(86_400, true),
            "EXAMPLE.TEST",
            None,
        )
        .unwrap();
        assert_eq!(synced.kvnos, [4, 3]);
        assert_eq!(synced.principal, "svc_web$@EXAMPLE.TEST");
        assert_eq!(change.principals.len(), 3);
        assert_eq!(
            synced.enctypes,
            [
                "aes256-cts-hmac-sha1-96",
                "aes128-cts-hmac-sha1-96",
                "rc4-hmac"
            ]
        );
    }

    #[test]
    fn in_the_last_five_minutes_current_is_the_next_key() {
        for previous in [true, false] {
            let (_, synced) = plan_account(
                &account(""),
                &record(None),
                &password(299, previous),
                "EXAMPLE.TEST",
                None,
            )
            .unwrap();
            assert_eq!(synced.kvno, 5);
            assert_eq!(synced.kvnos[0], 5);
        }
        let (_, synced) = plan_account(
            &account(""),
            &record(None),
            &password(301, true),
            "EXAMPLE.TEST",
            None,
        )
        .unwrap();
        assert_eq!(synced.kvno, 4);
    }

    #[test]
    fn the_kdc_salt_goes_to_the_active_key_the_name_to_the_next() {
        let held = "EXAMPLE.TESThostsvc_old.example.test";
        let kdc = Some(held);
        let computed = "EXAMPLE.TESThostsvc_web.example.test";
        let (k, cur, prev) = key_salts(&record(None), &password(86_400, true), "EXAMPLE.TEST", kdc);
        assert_eq!((k, cur.as_str(), prev.as_str()), (4, held, held));
        // Last five minutes: the blob's current is K+1, salted as the KDC will salt a new
        // password (the current name); the active key K keeps the KDC's salt.
        let (k, cur, prev) = key_salts(&record(None), &password(299, true), "EXAMPLE.TEST", kdc);
        assert_eq!((k, cur.as_str(), prev.as_str()), (5, computed, held));
        // No probe: the computed salt everywhere.
        let (_, cur, prev) =
            key_salts(&record(None), &password(86_400, true), "EXAMPLE.TEST", None);
        assert_eq!((cur.as_str(), prev.as_str()), (computed, computed));
        // And the keys follow: a KDC salt changes the AES keys, not the RC4 ones.
        let plan = |salt| {
            plan_account(
                &account(""),
                &record(None),
                &password(86_400, true),
                "EXAMPLE.TEST",
                salt,
            )
            .unwrap()
            .0
        };
        let (a, b) = (plan(None), plan(kdc));
        let key = |c: &Change, e| {
            c.keysets[0]
                .keys
                .iter()
                .find(|(x, _)| *x == e)
                .unwrap()
                .1
                .clone()
        };
        assert_ne!(
            key(&a, Enctype::Aes256CtsHmacSha196),
            key(&b, Enctype::Aes256CtsHmacSha196)
        );
        assert_eq!(key(&a, Enctype::Rc4Hmac), key(&b, Enctype::Rc4Hmac));
    }

    #[test]
    fn enctypes_and_spns_follow_account_and_config() {
        let (change, synced) = plan_account(
            &account("spns = [\"HTTP/web.example.test\"]\nenctypes = [\"aes256\", \"rc4\"]"),
            &record(Some(0x18)),
            &password(86_400, false),
            "EXAMPLE.TEST",
            None,
        )
        .unwrap();
        assert_eq!(synced.enctypes, ["aes256-cts-hmac-sha1-96"]);
        assert_eq!(change.principals.len(), 2);
        assert!(
            plan_account(
                &account("enctypes = [\"rc4\"]"),
                &record(Some(0x18)),
                &password(86_400, false),
                "EXAMPLE.TEST",
                None
            )
            .is_err()
        );
    }
}
