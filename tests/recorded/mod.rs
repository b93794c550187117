//! A domain in memory behind the `Directory` seam: the answers a Samba 4.22 / AD domain gives a
//! sync (samba-lab.md; the lab's recorded replies in tests/data/krb/ have the same shape),
//! computed for any instant of any epoch, so the sync and the scheduled run are tested without
//! a DC.
//!
//! What it models, per gMSA, with AD's rules (gmsa-reference.md §1, §7):
//! - kvno k is the active key from `created + (k-1)·interval` on; msDS-KeyVersionNumber says k;
//! - the blob's current password is k's, except in the last 5 minutes of the epoch, when it
//!   is k+1's and the previous is k's (the DC hands out the next password early);
//! - the KDC issues tickets under kvno k, encrypted by MIT's libk5crypto in the key derived
//!   from k's password with the salt the KDC holds for it (a renamed account keeps the old
//!   name's salt until its next password change);
//! - the salt probe's ETYPE-INFO2 names that salt.
//!
//! It is a model, not a capture: its blobs are encoded here and its keys derived with the
//! crate's own string-to-key, so it judges which password, kvno and salt each entry gets and
//! what the run does with each answer, not the derivation itself (the published vectors in
//! gmsa-core and the lab's `kinit -k`/`kvno -k` judge that). The tickets are MIT's: encrypted
//! by libk5crypto and decrypted by it, as the daemon's session does.
//!
//! Per DC: how far its replica lags (it answers as the domain was `lag` seconds ago), and a
//! fault (unreachable, frozen after some reads, refusing this host's key). Every call is
//! journalled, so tests can count DC reads.

#![allow(dead_code)]

use gmsa_keytab::blob::Password;
use gmsa_keytab::crypto::{derive_key, gmsa_salt};
use gmsa_keytab::directory::{
    AccountRecord, ClientOptions, Directory, DirectoryError, KdcAskError,
};
use gmsa_keytab::enctype::Enctype;
use gmsa_keytab::krbmsg::{ERR_PREAUTH_REQUIRED, EtypeInfo, ProbeReply, TicketPart};
use gmsa_keytab::secret::SecretBytes;
use gmsa_keytab::sys::{KEY_USAGE_TICKET, Login};
use std::cell::{Cell, RefCell};
use std::time::Duration;

pub const REALM: &str = "EXAMPLE.TEST";
/// MS-ADTS MaxClockSkew: the DC hands out the next password this long before the rollover.
pub const EARLY: u64 = 300;

/// What goes wrong with one DC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// No TCP answer: connecting to it fails, and the next DC is tried.
    Unreachable,
    /// Answers for `n` accounts (their reads, salt probes and tickets), then stops answering:
    /// the next read and every later call time out.
    FreezeAfter(usize),
    /// Its KDC refuses the host's key (a re-joined host with an old keytab).
    RefusesHost,
}

pub struct Dc {
    pub name: String,
    /// Its replica answers as the domain was this many seconds ago.
    pub lag: Cell<u64>,
    /// Its KDC answers as the domain will be this many seconds later than its directory
    /// (a directory and a KDC that disagree: replication in progress).
    pub kdc_ahead: Cell<u64>,
    /// Its KDC issues no service tickets (the key check cannot run there).
    pub no_tickets: Cell<bool>,
    pub fault: Cell<Fault>,
}

/// A key the KDC holds: (kvno, enctype) and the key.
type DerivedKey = ((u32, Enctype), Vec<u8>);

pub struct Gmsa {
    /// sAMAccountName, e.g. `svc_web$`.
    pub sam: String,
    pub spns: Vec<String>,
    /// msDS-SupportedEncryptionTypes.
    pub enctypes: Option<u32>,
    /// When kvno 1 became active, and the password lifetime.
    pub created: u64,
    pub interval: u64,
    /// Distinguishes its passwords from other accounts'.
    pub seed: u8,
    /// The host may read its password (PrincipalsAllowedToRetrieveManagedPassword).
    pub readable: Cell<bool>,
    /// Renamed from this sAMAccountName after the password of this kvno was set: the KDC
    /// salts that kvno and older with the old name.
    pub renamed: Option<(String, u32)>,
    /// The KDC refuses to issue tickets for it (the check then cannot run).
    pub no_tickets: Cell<bool>,
    /// Keys derived so far (PBKDF2 is slow in a debug build).
    keys: RefCell<Vec<DerivedKey>>,
}

impl Gmsa {
    pub fn new(sam: &str, created: u64, interval: u64, seed: u8) -> Gmsa {
        let base = sam.trim_end_matches('$');
        Gmsa {
            sam: sam.into(),
            spns: vec![format!("HTTP/{base}.example.test"), format!("HTTP/{base}")],
            enctypes: Some(0x1c),
            created,
            interval,
            seed,
            readable: Cell::new(true),
            renamed: None,
            no_tickets: Cell::new(false),
            keys: RefCell::new(Vec::new()),
        }
    }

    /// Renamed from `old` after the password of kvno `last` was set.
    pub fn renamed_from(mut self, old: &str, last: u32) -> Gmsa {
        self.renamed = Some((old.into(), last));
        self
    }

    /// The active kvno at `t` (1 before the account existed, as the DC would not answer).
    pub fn kvno_at(&self, t: u64) -> u32 {
        1 + (t.saturating_sub(self.created) / self.interval) as u32
    }

    /// When kvno `k` stops being the active key.
    pub fn end_of(&self, k: u32) -> u64 {
        self.created + u64::from(k) * self.interval
    }

    /// The 256-byte password of kvno `k`: UTF-16 units, distinct per account and kvno.
    pub fn password(&self, k: u32) -> Password {
        let mut x = u32::from(self.seed) << 24 ^ k.wrapping_mul(0x9e37_79b9) ^ 0x5bd1_e995;
        let bytes = (0..256)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 8) as u8
            })
            .collect();
        Password(SecretBytes::new(bytes))
    }

    /// The salt the KDC holds for kvno `k`.
    pub fn salt(&self, k: u32) -> String {
        match &self.renamed {
            Some((old, last)) if k <= *last => gmsa_salt(REALM, old),
            _ => gmsa_salt(REALM, &self.sam),
        }
    }

    /// The key the KDC holds for kvno `k`.
    pub fn key(&self, k: u32, e: Enctype) -> Vec<u8> {
        if let Some((_, key)) = self.keys.borrow().iter().find(|(at, _)| *at == (k, e)) {
            return key.clone();
        }
        let key = derive_key(e, &self.password(k), &self.salt(k))
            .expose()
            .to_vec();
        self.keys.borrow_mut().push(((k, e), key.clone()));
        key
    }

    /// msDS-ManagedPassword as a DC encodes it at `t` (MS-ADTS 2.2.19, Samba's padded layout).
    pub fn blob_at(&self, t: u64) -> Vec<u8> {
        let k = self.kvno_at(t);
        let left = self.end_of(k) - t;
        let (current, previous) = if left <= EARLY {
            (k + 1, Some(k))
        } else {
            (k, (k > 1).then(|| k - 1))
        };
        encode_blob(
            &self.password(current),
            previous.map(|p| self.password(p)).as_ref(),
            Duration::from_secs(left),
            Duration::from_secs(left.saturating_sub(EARLY)),
        )
    }
}

/// Encodes a managed-password blob: header, passwords (NUL-terminated UTF-16), the two
/// intervals (100 ns units), 8-byte aligned as Samba writes it.
pub fn encode_blob(
    current: &Password,
    previous: Option<&Password>,
    query: Duration,
    unchanged: Duration,
) -> Vec<u8> {
    let mut body = vec![0u8; 16];
    let put_password = |body: &mut Vec<u8>, p: &Password| {
        let at = body.len() as u16;
        body.extend_from_slice(p.0.expose());
        body.extend_from_slice(&[0, 0]);
        at
    };
    let cur = put_password(&mut body, current);
    let prev = previous.map_or(0, |p| put_password(&mut body, p));
    while body.len() % 8 != 0 {
        body.push(0);
    }
    let ticks = |d: Duration| (d.as_nanos() / 100) as u64;
    let q = body.len() as u16;
    body.extend_from_slice(&ticks(query).to_le_bytes());
    let u = body.len() as u16;
    body.extend_from_slice(&ticks(unchanged).to_le_bytes());
    let len = body.len() as u32;
    body[0..2].copy_from_slice(&1u16.to_le_bytes());
    body[4..8].copy_from_slice(&len.to_le_bytes());
    for (i, v) in [cur, prev, q, u].into_iter().enumerate() {
        body[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    body
}

/// The domain: its DCs, its gMSAs, its clock, and what the sync asked.
pub struct Domain {
    pub dcs: Vec<Dc>,
    pub accounts: Vec<Gmsa>,
    pub now: Cell<u64>,
    pub journal: RefCell<Vec<String>>,
    /// MIT's libk5crypto, for the KDC's side of tickets.
    login: Login,
}

impl Domain {
    pub fn new(dcs: &[&str], accounts: Vec<Gmsa>, now: u64) -> Domain {
        Domain {
            dcs: dcs
                .iter()
                .map(|n| Dc {
                    name: n.to_string(),
                    lag: Cell::new(0),
                    kdc_ahead: Cell::new(0),
                    no_tickets: Cell::new(false),
                    fault: Cell::new(Fault::None),
                })
                .collect(),
            accounts,
            now: Cell::new(now),
            journal: RefCell::new(Vec::new()),
            login: Login::new("kdc-side$@EXAMPLE.TEST").expect("a krb5 context"),
        }
    }

    /// `dcs` and two gMSAs, svc_a$ and svc_b$, with 30-day epochs from `created`.
    pub fn two_gmsas(dcs: &[&str], created: u64) -> Domain {
        Domain::new(
            dcs,
            vec![
                Gmsa::new("svc_a$", created, 30 * 86_400, 1),
                Gmsa::new("svc_b$", created, 30 * 86_400, 2),
            ],
            created,
        )
    }

    pub fn dc(&self, name: &str) -> &Dc {
        self.dcs.iter().find(|d| d.name == name).expect("a DC")
    }

    pub fn gmsa(&self, sam: &str) -> &Gmsa {
        self.accounts.iter().find(|a| a.sam == sam).expect("a gMSA")
    }

    fn note(&self, line: String) {
        self.journal.borrow_mut().push(line);
    }

    /// Journal lines starting with `prefix` (e.g. `"fetch "`).
    pub fn count(&self, prefix: &str) -> usize {
        self.journal
            .borrow()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }

    pub fn take_journal(&self) -> Vec<String> {
        std::mem::take(&mut self.journal.borrow_mut())
    }

    /// What `Session::connect` does: the DCs of the options in order (all of them when the
    /// options name none, as DNS SRV would), the first that binds.
    pub fn connect(&self, opts: &ClientOptions) -> Result<Bound<'_>, DirectoryError> {
        let order: Vec<usize> = if opts.servers.is_empty() {
            (0..self.dcs.len()).collect()
        } else {
            opts.servers
                .iter()
                .map(|s| {
                    self.dcs
                        .iter()
                        .position(|d| d.name == *s)
                        .expect("a configured DC the domain has")
                })
                .collect()
        };
        let mut bound = Bound {
            domain: self,
            order,
            next: 0,
            at: None,
            reads: 0,
        };
        bound.connect_next(Vec::new())?;
        Ok(bound)
    }
}

/// A session bound to one DC of the domain at a time.
pub struct Bound<'d> {
    domain: &'d Domain,
    order: Vec<usize>,
    next: usize,
    at: Option<usize>,
    /// Account reads the DC in use answered.
    reads: usize,
}

impl Bound<'_> {
    fn connect_next(
        &mut self,
        mut attempts: Vec<gmsa_keytab::directory::Attempt>,
    ) -> Result<(), DirectoryError> {
        while let Some(&i) = self.order.get(self.next) {
            self.next += 1;
            let dc = &self.domain.dcs[i];
            self.domain.note(format!("connect {}", dc.name));
            match dc.fault.get() {
                Fault::Unreachable => attempts.push(gmsa_keytab::directory::Attempt {
                    server: format!("{}:389", dc.name),
                    error: DirectoryError::Unreachable {
                        server: dc.name.clone(),
                        detail: "connection timed out".into(),
                    },
                }),
                Fault::RefusesHost => {
                    return Err(DirectoryError::ClientRejected {
                        principal: "HOST1$@EXAMPLE.TEST".into(),
                        detail: "Preauthentication failed".into(),
                    });
                }
                Fault::None | Fault::FreezeAfter(_) => {
                    self.at = Some(i);
                    self.reads = 0;
                    return Ok(());
                }
            }
        }
        self.at = None;
        Err(DirectoryError::AllServersFailed { attempts })
    }

    fn dc(&self) -> Option<&Dc> {
        self.at.map(|i| &self.domain.dcs[i])
    }

    /// The instant the DC in use answers as of.
    fn seen(&self) -> u64 {
        let lag = self.dc().map_or(0, |d| d.lag.get());
        self.domain.now.get().saturating_sub(lag)
    }

    /// The instant the DC's KDC answers as of.
    fn kdc_seen(&self) -> u64 {
        self.seen() + self.dc().map_or(0, |d| d.kdc_ahead.get())
    }

    /// The timeout of a frozen DC for the next account read (`kdc`: false), or for a KDC
    /// request about the account just read (`kdc`: true).
    fn frozen(&self, kdc: bool) -> Option<DirectoryError> {
        let dc = self.dc()?;
        match dc.fault.get() {
            Fault::FreezeAfter(n) if self.reads > n || (!kdc && self.reads == n) => {
                Some(DirectoryError::Timeout {
                    server: dc.name.clone(),
                    what: "search",
                    after: Duration::from_secs(10),
                })
            }
            _ => None,
        }
    }

    /// A frozen DC's port 88 does not answer either.
    fn unreachable(&self, e: DirectoryError) -> KdcAskError {
        KdcAskError::Unreachable {
            server: self.server().to_string(),
            kdc: "192.0.2.1:88".parse().unwrap(),
            detail: e.to_string(),
        }
    }

    fn account(&self, name: &str) -> Option<&Gmsa> {
        let sam = if name.ends_with('$') {
            name.to_string()
        } else {
            format!("{name}$")
        };
        self.domain
            .accounts
            .iter()
            .find(|a| a.sam.eq_ignore_ascii_case(&sam))
    }
}

impl Directory for Bound<'_> {
    fn realm(&self) -> &str {
        REALM
    }

    fn server(&self) -> &str {
        self.dc().map_or("-", |d| d.name.as_str())
    }

    fn has_more_servers(&self) -> bool {
        self.next < self.order.len()
    }

    fn fetch(&mut self, account: &str) -> Result<AccountRecord, DirectoryError> {
        let server = self.server().to_string();
        self.domain.note(format!("fetch {server} {account}"));
        if let Some(e) = self.frozen(false) {
            return Err(e);
        }
        if self.at.is_none() {
            return Err(DirectoryError::Internal("no DC".into()));
        }
        self.reads += 1;
        let t = self.seen();
        let Some(a) = self.account(account).filter(|a| a.created <= t) else {
            return Err(DirectoryError::NotFound {
                account: account.into(),
                base: "DC=example,DC=test".into(),
                server,
            });
        };
        let dn = format!(
            "CN={},CN=Managed Service Accounts,DC=example,DC=test",
            a.sam
        );
        if !a.readable.get() {
            return Err(DirectoryError::NotAllowed {
                account: a.sam.clone(),
                dn,
                client: "HOST1$@EXAMPLE.TEST".into(),
            });
        }
        Ok(AccountRecord {
            sam_account_name: a.sam.clone(),
            dn,
            blob: SecretBytes::new(a.blob_at(t)),
            spns: a.spns.clone(),
            supported_enctypes: a.enctypes,
            kvno: a.kvno_at(t),
        })
    }

    fn failover(&mut self, why: Option<DirectoryError>) -> Result<(), DirectoryError> {
        let mut attempts = Vec::new();
        if let (Some(dc), Some(error)) = (self.dc(), why) {
            attempts.push(gmsa_keytab::directory::Attempt {
                server: dc.name.clone(),
                error,
            });
        }
        self.domain.note(format!("failover {}", self.server()));
        self.connect_next(attempts)
    }

    fn probe_salt(&mut self, name: &str, realm: &str) -> Result<ProbeReply, KdcAskError> {
        self.domain
            .note(format!("probe {} {name}@{realm}", self.server()));
        if let Some(e) = self.frozen(true) {
            return Err(self.unreachable(e));
        }
        let t = self.kdc_seen();
        let Some(a) = self.account(name) else {
            return Ok(ProbeReply::Error {
                code: 6,
                text: None,
            });
        };
        let salt = a.salt(a.kvno_at(t)).into_bytes();
        let entry = |etype| EtypeInfo {
            etype,
            salt: Some(salt.clone()),
            s2kparams: None,
        };
        Ok(ProbeReply::EtypeInfo {
            error_code: ERR_PREAUTH_REQUIRED,
            entries: vec![
                entry(18),
                entry(17),
                EtypeInfo {
                    etype: 23,
                    salt: None,
                    s2kparams: None,
                },
            ],
        })
    }

    fn service_ticket(&mut self, principal: &str) -> Result<TicketPart, KdcAskError> {
        self.domain
            .note(format!("ticket {} {principal}", self.server()));
        if let Some(e) = self.frozen(true) {
            return Err(self.unreachable(e));
        }
        let t = self.kdc_seen();
        let name = principal.split('@').next().unwrap_or(principal);
        let a = self
            .domain
            .accounts
            .iter()
            .find(|a| a.sam.eq_ignore_ascii_case(name) || a.spns.iter().any(|s| s == name))
            .ok_or_else(|| {
                KdcAskError::Refused(format!("Server {principal} not found in Kerberos database"))
            })?;
        if a.no_tickets.get() || self.dc().is_some_and(|d| d.no_tickets.get()) {
            return Err(KdcAskError::Refused("KDC policy rejects request".into()));
        }
        // The KDC encrypts in the strongest key it holds of the enctypes the account supports.
        let k = a.kvno_at(t);
        let e = if a.enctypes.is_some_and(|m| m & 0x10 == 0) {
            Enctype::Rc4Hmac
        } else {
            Enctype::Aes256CtsHmacSha196
        };
        let cipher = self
            .domain
            .login
            .encrypt(
                i32::from(e.number()),
                &a.key(k, e),
                KEY_USAGE_TICKET,
                b"EncTicketPart: flags, session key, client, times, PAC",
            )
            .map_err(|e| KdcAskError::Refused(e.to_string()))?;
        Ok(TicketPart {
            realm: REALM.into(),
            sname: name.split('/').map(String::from).collect(),
            etype: i32::from(e.number()),
            kvno: Some(k),
            cipher,
        })
    }

    fn decrypts_ticket(&self, enctype: Enctype, key: &[u8], cipher: &[u8]) -> bool {
        // MIT's own decryption, as the daemon's session does it.
        self.domain
            .login
            .decrypt(i32::from(enctype.number()), key, KEY_USAGE_TICKET, cipher)
            .is_ok()
    }
}

/// A host of the farm: a scratch directory for its keytabs, state and configuration.
pub struct Host {
    pub dir: tempfile::TempDir,
}

impl Host {
    pub fn new() -> Host {
        Host {
            dir: tempfile::Builder::new()
                .prefix("gmsa-seam-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// [`Host::config`], written to `config.toml` (mode 0600) for the commands that read it.
    pub fn config_file(
        &self,
        servers: &[&str],
        accounts: &[(&str, &str)],
        extra: &str,
    ) -> std::path::PathBuf {
        use std::os::unix::fs::OpenOptionsExt;
        let text = self.config_text(servers, accounts, extra);
        let path = self.path("config.toml");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        path
    }

    /// A configuration for `accounts` (name, keytab file name), with `servers` and `extra`
    /// top-level keys; the state lives in the scratch directory.
    pub fn config(
        &self,
        servers: &[&str],
        accounts: &[(&str, &str)],
        extra: &str,
    ) -> gmsa_keytab::config::Config {
        let text = self.config_text(servers, accounts, extra);
        let path = self.path("config.toml");
        gmsa_keytab::config::parse(&path, &text).expect("a valid configuration")
    }

    /// A configuration from `tables` (its `[[account]]` tables, keytab paths as given) after
    /// the servers and state directory, and `extra` top-level keys.
    pub fn config_tables(
        &self,
        servers: &[&str],
        extra: &str,
        tables: &str,
    ) -> gmsa_keytab::config::Config {
        let text = format!("{}{tables}", self.config_text(servers, &[], extra));
        gmsa_keytab::config::parse(&self.path("config.toml"), &text).expect("a valid configuration")
    }

    fn config_text(&self, servers: &[&str], accounts: &[(&str, &str)], extra: &str) -> String {
        let mut text = format!(
            "version = 1\nservers = [{}]\nstate-dir = {:?}\n{extra}\n",
            servers
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.path("state").display().to_string(),
        );
        for (name, keytab) in accounts {
            text.push_str(&format!(
                "[[account]]\nname = {name:?}\nkeytab = {:?}\n",
                self.path(keytab).display().to_string()
            ));
        }
        text
    }

    /// The keytab's entries: (principal, kvno, enctype, key).
    pub fn entries(&self, keytab: &str) -> Vec<(String, u32, Enctype, Vec<u8>)> {
        let Ok(bytes) = std::fs::read(self.path(keytab)) else {
            return Vec::new();
        };
        gmsa_keytab::keytab::Keytab::parse(&bytes)
            .expect("a keytab the sync wrote parses")
            .entries
            .iter()
            .map(|e| {
                (
                    e.principal.to_string(),
                    e.kvno,
                    Enctype::from_number(e.enctype).expect("a known enctype"),
                    e.key.expose().to_vec(),
                )
            })
            .collect()
    }

    /// The kvnos `keytab` holds for `principal`, ascending.
    pub fn kvnos(&self, keytab: &str, principal: &str) -> Vec<u32> {
        let mut k: Vec<u32> = self
            .entries(keytab)
            .into_iter()
            .filter(|e| e.0 == principal)
            .map(|e| e.1)
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    }

    /// The (kvno, enctype) of every entry of `keytab` for `gmsa` (its account principal and
    /// SPNs) whose key is not the one the KDC holds for that kvno and enctype.
    pub fn kdc_mismatches(&self, keytab: &str, gmsa: &Gmsa) -> Vec<(u32, Enctype)> {
        let names = principals_of(gmsa);
        let mut bad: Vec<(u32, Enctype)> = self
            .entries(keytab)
            .into_iter()
            .filter(|(p, kvno, e, key)| names.contains(p) && *key != gmsa.key(*kvno, *e))
            .map(|(_, kvno, e, _)| (kvno, e))
            .collect();
        bad.sort_unstable_by_key(|(k, e)| (*k, e.number()));
        bad.dedup();
        bad
    }

    /// Every entry of `keytab` for `gmsa` holds the key the KDC holds for that kvno and
    /// enctype; returns the kvnos seen.
    pub fn assert_kdc_keys(&self, keytab: &str, gmsa: &Gmsa) -> Vec<u32> {
        let bad = self.kdc_mismatches(keytab, gmsa);
        assert!(bad.is_empty(), "not the keys the KDC holds: {bad:?}");
        let names = principals_of(gmsa);
        let mut kvnos: Vec<u32> = self
            .entries(keytab)
            .into_iter()
            .filter(|e| names.contains(&e.0))
            .map(|e| e.1)
            .collect();
        kvnos.sort_unstable();
        kvnos.dedup();
        kvnos
    }
}

fn principals_of(gmsa: &Gmsa) -> Vec<String> {
    std::iter::once(format!("{}@{REALM}", gmsa.sam))
        .chain(gmsa.spns.iter().map(|s| format!("{s}@{REALM}")))
        .collect()
}
