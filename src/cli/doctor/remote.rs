//! The checks that talk to the domain: DNS SRV, each DC's ports, the clock, the sealed bind,
//! and per account what the directory says (exists, readable, enctypes, keytab current).

use super::local::{self, SandboxSource};
use crate::blob;
use crate::config::{Account, Config, Protection};
use crate::directory::discover::{self, Candidate};
use crate::directory::kerberos::client::ClientIdentity;
use crate::directory::probe::{LDAP_PORT, Probe};
use crate::directory::{ClientOptions, DirectoryError, Session};
use crate::doctor::{Report, advice};
use crate::error::Error;
use crate::keytab::Keytab;
use crate::run::sync::{Checked, NoKdcSalt, check_keys, kdc_salt, plan_account, reuse_previous};

const TIME: &str = "time";
const DCS: &str = "domain controllers";
/// At most this many DCs are probed one by one (SRV lists of big domains are long).
const MAX_DCS: usize = 6;

pub fn check(
    r: &mut Report,
    cfg: &Config,
    identity: Option<&ClientIdentity>,
    accounts: &[&Account],
    sb: &SandboxSource,
) {
    let probe = match Probe::new(cfg.directory.timeout) {
        Ok(p) => p,
        Err(e) => {
            r.fail(DCS, "runtime", e.to_string(), "report this as a bug".into());
            return;
        }
    };
    let candidates = dc_list(r, cfg, identity, &probe);
    let reachable = ports(r, cfg, &candidates, &probe);
    clock(r, cfg, &reachable, &probe);
    let mut session = binds(r, &cfg.directory, identity, &reachable);
    for acc in accounts {
        account(r, cfg, acc, session.as_mut());
        local::account_files(r, acc, sb);
    }
    drop(session);
}

/// The DCs to check: the configured list, or DNS SRV (site first).
fn dc_list(
    r: &mut Report,
    cfg: &Config,
    identity: Option<&ClientIdentity>,
    probe: &Probe,
) -> Vec<Candidate> {
    let port = cfg.directory.protection.default_port();
    if !cfg.directory.servers.is_empty() {
        let mut out = Vec::new();
        for s in &cfg.directory.servers {
            match discover::parse_server(s, port) {
                Ok(c) => out.push(c),
                Err(e) => r.fail(
                    DCS,
                    "servers",
                    e.to_string(),
                    "list each DC by its DNS host name, as registered in Active Directory".into(),
                ),
            }
        }
        r.skip(
            DCS,
            "DNS SRV",
            "servers is set in the configuration, so DNS is not asked",
        );
        return out;
    }
    let domain = match (&cfg.directory.domain, identity) {
        (Some(d), _) => d.trim_end_matches('.').to_ascii_lowercase(),
        (None, Some(id)) => id.realm.to_ascii_lowercase(),
        (None, None) => {
            r.skip(
                DCS,
                "DNS SRV",
                "no domain: set domain, or fix the host keytab (its realm names the domain)",
            );
            return Vec::new();
        }
    };
    let port_override =
        (cfg.directory.protection == Protection::Ldaps).then_some(crate::defaults::LDAPS_PORT);
    let mut out: Vec<Candidate> = Vec::new();
    for name in discover::srv_names(&domain, cfg.directory.site.as_deref()) {
        let is_site = name.contains("._sites.");
        let what = if is_site { "DNS SRV (site)" } else { "DNS SRV" };
        match probe.srv(&name) {
            Ok(Some(records)) => {
                let list: Vec<String> = records
                    .iter()
                    .map(|x| format!("{}:{}", x.target, x.port))
                    .collect();
                r.pass(DCS, what, format!("{name}: {}", list.join(", ")));
                let ordered = discover::order_srv(&records, &mut discover::os_random_upto);
                discover::append_candidates(&mut out, ordered, port_override);
            }
            Ok(None) if is_site => r.warn(
                DCS,
                what,
                format!("{name} has no records; the domain's DCs are used instead"),
                "check the site name (Get-ADDomainController -Discover -SiteName NAME, or \
                 samba-tool sites list), or remove site"
                    .into(),
            ),
            Ok(None) => r.fail(
                DCS,
                what,
                format!("{name} has no records"),
                "point /etc/resolv.conf at the domain's DNS servers (the DCs), check domain, \
                 or list the DCs in servers"
                    .into(),
            ),
            Err(e) => r.fail(
                DCS,
                what,
                e.to_string(),
                "point /etc/resolv.conf at the domain's DNS servers (the DCs), or list the \
                 DCs in servers"
                    .into(),
            ),
        }
    }
    out
}

/// Each DC answers on the KDC port and the LDAP port in use. Returns the DCs that do.
fn ports(r: &mut Report, cfg: &Config, dcs: &[Candidate], probe: &Probe) -> Vec<Candidate> {
    let mut ok = Vec::new();
    for c in dcs.iter().take(MAX_DCS) {
        let what = format!("{} TCP 88 and {}", c.host, c.port);
        let results: Vec<(u16, Result<std::time::Duration, DirectoryError>)> = [88, c.port]
            .iter()
            .map(|p| (*p, probe.tcp(&c.host, *p)))
            .collect();
        let failed: Vec<String> = results
            .iter()
            .filter_map(|(p, res)| res.as_ref().err().map(|e| format!("port {p}: {e}")))
            .collect();
        if failed.is_empty() {
            let ms: Vec<String> = results
                .iter()
                .filter_map(|(p, res)| {
                    res.as_ref()
                        .ok()
                        .map(|d| format!("{p} in {:.1} ms", d.as_secs_f64() * 1000.0))
                })
                .collect();
            r.pass(DCS, &what, format!("open ({})", ms.join(", ")));
            ok.push(c.clone());
        } else {
            r.fail(
                DCS,
                &what,
                failed.join("; "),
                format!(
                    "this host must reach the DC on TCP 88 (Kerberos) and {} ({}): check the DC \
                     is running and firewalls between them",
                    c.port, cfg.directory.protection
                ),
            );
        }
    }
    if dcs.len() > MAX_DCS {
        r.skip(
            DCS,
            "more DCs",
            format!("{} further DCs not probed", dcs.len() - MAX_DCS),
        );
    }
    ok
}

/// The offset between this host's clock and the first reachable DC's.
fn clock(r: &mut Report, cfg: &Config, dcs: &[Candidate], probe: &Probe) {
    let what = "clock offset";
    let Some(dc) = dcs.first() else {
        r.skip(TIME, what, "no domain controller reachable");
        return;
    };
    let before = crate::run::unix_now() as i64;
    match probe.server_time(&dc.host) {
        Ok(dc_time) => {
            let after = crate::run::unix_now() as i64;
            // The DC read its clock between our two readings; it sends whole seconds.
            let offset = dc_time - (before + after) / 2;
            let (v, detail, fix) = advice::clock(offset);
            r.add(
                TIME,
                what,
                v,
                format!("{} ({}): {detail}", dc.host, "rootDSE currentTime"),
                fix,
            );
        }
        Err(e) if cfg.directory.protection == Protection::Ldaps => r.skip(
            TIME,
            what,
            format!("cannot read the DC's time over plain LDAP port {LDAP_PORT}: {e}"),
        ),
        Err(e) => r.warn(
            TIME,
            what,
            format!("cannot read {}'s time: {e}", dc.host),
            "allow anonymous rootDSE reads (the AD default) or compare the clocks by hand: \
             date -u here and on the DC"
                .into(),
        ),
    }
}

/// The sealed (or TLS) bind as this host, to each reachable DC; the first session is kept
/// for the account checks. Also judges the host key: the KDC accepted it if any bind worked.
fn binds(
    r: &mut Report,
    opts: &ClientOptions,
    identity: Option<&ClientIdentity>,
    dcs: &[Candidate],
) -> Option<Session> {
    let Some(id) = identity else {
        r.skip(DCS, "bind", "no usable host keytab");
        return None;
    };
    let mut first: Option<Session> = None;
    let mut rejected: Option<String> = None;
    for c in dcs {
        let what = format!("{} bind ({})", c.host, opts.protection);
        let one = ClientOptions {
            servers: vec![c.to_string()],
            ..opts.clone()
        };
        match Session::connect(&one) {
            Ok(s) => {
                r.pass(
                    DCS,
                    &what,
                    format!(
                        "bound as {} and every message sealed; realm {} ({:.0} ms)",
                        s.client_principal(),
                        s.realm(),
                        s.connect_time().as_secs_f64() * 1000.0
                    ),
                );
                if first.is_none() {
                    first = Some(s);
                }
            }
            Err(e) => {
                let e = match e {
                    DirectoryError::AllServersFailed { mut attempts } if attempts.len() == 1 => {
                        attempts.remove(0).error
                    }
                    e => e,
                };
                if matches!(e, DirectoryError::ClientRejected { .. }) {
                    rejected = Some(e.to_string());
                }
                let fix = bind_fix(&e);
                r.fail(DCS, &what, e.to_string(), fix);
            }
        }
    }
    let what = "host key accepted by the KDC";
    match (&first, rejected) {
        (Some(_), _) => r.pass(DCS, what, format!("{} got its tickets", id.principal)),
        (None, Some(detail)) => r.fail(
            DCS,
            what,
            detail,
            "the host keytab is out of date or the computer account is disabled: re-join the \
             host (realm leave; realm join DOMAIN) or re-export its keytab"
                .into(),
        ),
        (None, None) => r.skip(DCS, what, "no domain controller answered"),
    }
    first
}

fn bind_fix(e: &DirectoryError) -> String {
    use DirectoryError::*;
    match e {
        ClockSkew { .. } => {
            "synchronise this host's clock with the DCs (see the time check)".into()
        }
        ClientRejected { .. } => {
            "re-join the host (realm join DOMAIN or adcli join) or re-export its keytab".into()
        }
        KdcUnreachable { .. } => "open TCP 88 from this host to the DC".into(),
        ServicePrincipalUnknown { .. } => {
            "use the DC's DNS host name as registered in Active Directory in servers".into()
        }
        ChannelBindingRequired { .. } | NoChannelBinding { .. } | StrongerAuthRequired { .. } => {
            "use protection = \"seal\" (the default)".into()
        }
        Tls { .. } | CaFile { .. } => {
            "set ca-file to the CA bundle that signed the DC's certificate".into()
        }
        _ => "see the message; gmsa-keytab sync --log-level debug shows each step".into(),
    }
}

/// What the directory says about one account, and whether its keytab holds the current keys.
fn account(r: &mut Report, cfg: &Config, acc: &Account, session: Option<&mut Session>) {
    let section = acc.name.as_str();
    let Some(session) = session else {
        r.skip(
            section,
            "directory",
            "no domain controller bound; fix the checks above first",
        );
        return;
    };
    let rec = match session.fetch(&acc.name) {
        Ok(rec) => rec,
        Err(e @ (DirectoryError::NotFound { .. } | DirectoryError::NotAGmsa { .. })) => {
            r.fail(
                section,
                "exists and is a gMSA",
                e.to_string(),
                format!(
                    "check the name in the configuration, or create the gMSA: PowerShell \
                     New-ADServiceAccount -Name {} -DNSHostName <name>.<domain> \
                     -PrincipalsAllowedToRetrieveManagedPassword <hosts>; Samba: samba-tool \
                     service-account create --name={} --dns-host-name=<name>.<domain>",
                    crate::account::base_name(&acc.name),
                    crate::account::base_name(&acc.name)
                ),
            );
            return;
        }
        Err(DirectoryError::NotAllowed {
            account,
            dn,
            client,
        }) => {
            r.pass(section, "exists and is a gMSA", dn.clone());
            r.fail(
                section,
                "password readable by this host",
                format!("{client} is not in {account}'s msDS-GroupMSAMembership"),
                advice::reader_fix(&account, &client),
            );
            return;
        }
        Err(e) => {
            r.fail(section, "directory read", e.to_string(), bind_fix(&e));
            return;
        }
    };
    r.pass(section, "exists and is a gMSA", rec.dn.clone());
    let password = match blob::parse(rec.blob.expose()) {
        Ok(p) => p,
        Err(e) => {
            r.fail(
                section,
                "password readable by this host",
                format!("the managed-password blob is malformed: {e}"),
                "report this with the DC's version; gmsa-keytab cannot use this blob".into(),
            );
            return;
        }
    };
    r.pass(
        section,
        "password readable by this host",
        format!(
            "{} may read it; kvno {}, next rotation in {}",
            session.client_principal(),
            rec.kvno,
            crate::timefmt::duration(password.query_interval)
        ),
    );
    let (v, detail, fix) = advice::enctypes(&acc.name, &rec.dn, rec.supported_enctypes);
    r.add(section, "enctypes", v, detail, fix);
    let realm = cfg
        .realm
        .clone()
        .unwrap_or_else(|| session.realm().to_string());
    // The salt the KDC holds, as sync uses it (a renamed account keeps its old one).
    let probe = if cfg.salt_probe {
        let probe = kdc_salt(session, &rec.sam_account_name, &realm);
        match &probe {
            Ok(s) => r.pass(section, "KDC salt", s.clone()),
            Err(why) => r.warn(
                section,
                "KDC salt",
                format!("the KDC's salt cannot be read ({why}); sync falls back to the salt computed from the name"),
                "let AS-REQs reach the DC's port 88; a renamed account needs the KDC's salt".into(),
            ),
        }
        probe
    } else {
        Err(NoKdcSalt::Off)
    };
    let (mut change, synced) =
        match plan_account(acc, &rec, &password, &realm, probe.as_deref().ok()) {
            Ok(planned) => planned,
            Err(e) => {
                r.fail(
                    section,
                    "keys",
                    e.to_string(),
                    "correct enctypes in the account's table, or the account's \
                 msDS-SupportedEncryptionTypes"
                        .into(),
                );
                return;
            }
        };
    reuse_previous(&mut change, &acc.keytab, &synced.principal, &rec, &password);
    // The KDC's own ticket judges the keys, exactly as sync does before it writes.
    let what = "keys confirmed by the KDC";
    match check_keys(session, &rec, &password, &realm, &change, &probe) {
        Ok(Checked::Confirmed { kvno, enctype }) => r.pass(
            section,
            what,
            format!(
                "a ticket under kvno {kvno} ({}) decrypts with the derived key",
                enctype.name()
            ),
        ),
        Ok(Checked::KeptActive { kvno }) => r.pass(
            section,
            what,
            format!("the KDC uses kvno {kvno}, the active key the keytab keeps"),
        ),
        Ok(Checked::Unverified(why)) => r.warn(
            section,
            what,
            format!("the keys cannot be checked: {why}"),
            "let this host get service tickets for the account from the DC's KDC (port 88)".into(),
        ),
        Err(Error::KeyMismatch(k)) => r.fail(section, what, k.detail(), k.hint().into()),
        Err(e) => r.fail(
            section,
            what,
            e.to_string(),
            "run gmsa-keytab sync for the full error".into(),
        ),
    }
    keytab_current(r, acc, &change, synced.kvno);
}

/// Whether the keytab on disk already holds exactly the keys a sync would write now.
fn keytab_current(
    r: &mut Report,
    acc: &Account,
    change: &crate::store::keytab_file::Change,
    kvno: u32,
) {
    let section = acc.name.as_str();
    let what = "keytab holds the current keys";
    let sync_fix =
        || "run gmsa-keytab sync --force (or systemctl start gmsa-keytab.service)".to_string();
    let bytes = match std::fs::read(&acc.keytab) {
        Ok(b) => zeroize::Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            r.warn(
                section,
                what,
                format!("{} does not exist yet", acc.keytab.display()),
                sync_fix(),
            );
            return;
        }
        Err(e) => {
            r.fail(
                section,
                what,
                format!("cannot read {}: {e}", acc.keytab.display()),
                "run doctor as root".into(),
            );
            return;
        }
    };
    let keytab = match Keytab::parse(&bytes) {
        Ok(k) => k,
        Err(e) => {
            r.fail(
                section,
                what,
                format!(
                    "{} is not a valid keytab ({e}); sync leaves it untouched",
                    acc.keytab.display()
                ),
                format!(
                    "inspect it (klist -k {}), then move it aside and sync",
                    acc.keytab.display()
                ),
            );
            return;
        }
    };
    let plan = crate::plan::plan(&keytab, &change.principals, &change.keysets, 0);
    if plan.changed {
        r.warn(
            section,
            what,
            format!(
                "{} lacks the keys of kvno {kvno} that the directory holds now, or has stale ones",
                acc.keytab.display()
            ),
            sync_fix(),
        );
    } else {
        r.pass(
            section,
            what,
            format!(
                "{}: kvno {kvno}, {} principal(s), same keys as the directory's password",
                acc.keytab.display(),
                change.principals.len()
            ),
        );
    }
}
