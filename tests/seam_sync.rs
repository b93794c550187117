//! `run::sync` through the `Directory` seam, against a recorded domain (tests/recorded/): the
//! kvno and salt of every key at every instant of an epoch, the key check, the fan-out of
//! partial failures across accounts, failover, and a DC behind the keytab. No DC, no root.

mod recorded;

use gmsa_keytab::error::Error;
use gmsa_keytab::exit::Class;
use gmsa_keytab::run::sync::{NoKdcSalt, Refutation, SaltSource, Summary, run_with};
use recorded::{Domain, EARLY, Fault, Gmsa, Host};

const T0: u64 = 1_790_000_000;
const DAY: u64 = 86_400;

fn sync(_host: &Host, domain: &Domain, cfg: &gmsa_keytab::config::Config, now: u64) -> Summary {
    domain.now.set(now);
    let accounts: Vec<_> = cfg.accounts.iter().collect();
    run_with(cfg, &accounts, now as u32, |o| domain.connect(o))
}

/// The DC that answered for each account.
fn servers(s: &Summary) -> Vec<String> {
    s.accounts
        .iter()
        .map(|a| a.server.clone().expect("a DC answered"))
        .collect()
}

fn ok(s: &Summary) {
    for a in &s.accounts {
        if let Err(e) = &a.result {
            panic!("{}: {e}", a.name);
        }
    }
}

/// The instants of an epoch where the labelling can go wrong, for epochs 1..=3.
fn instants(g: &Gmsa) -> Vec<u64> {
    let mut t = vec![g.created, g.created + 1];
    for k in 1..=3 {
        let end = g.end_of(k);
        t.extend([
            end - g.interval / 2,
            end - EARLY - 1,
            end - EARLY,
            end - EARLY + 1,
            end - 60,
            end - 1,
            end,
            end + 1,
            end + EARLY,
        ]);
    }
    t.sort_unstable();
    t.dedup();
    t
}

#[test]
fn every_key_is_the_kdcs_at_every_instant_of_an_epoch() {
    for (label, gmsa, from) in [
        ("plain", Gmsa::new("svc_web$", T0, 30 * DAY, 1), T0),
        // Renamed a day into kvno 2's epoch: the KDC salts 1 and 2 with the old name, 3 on
        // with the new one. The host syncs from the rename on.
        (
            "renamed",
            Gmsa::new("svc_ren$", T0, 30 * DAY, 2).renamed_from("svc_renold$", 2),
            T0 + 31 * DAY,
        ),
    ] {
        let domain = Domain::new(&["dc1"], vec![gmsa], T0);
        let g = &domain.accounts[0];
        let host = Host::new();
        let cfg = host.config(&["dc1"], &[(&g.sam, "k")], "");
        let principal = format!("{}@EXAMPLE.TEST", g.sam);
        for t in instants(g).into_iter().filter(|t| *t >= from) {
            let s = sync(&host, &domain, &cfg, t);
            ok(&s);
            let active = g.kvno_at(t);
            let bad = host.kdc_mismatches("k", g);
            assert!(bad.is_empty(), "{label} at {t}: {bad:?}");
            let kvnos = host.assert_kdc_keys("k", g);
            // An acceptor on this host takes tickets under the active kvno now, and in the
            // last minutes of the epoch under the next one too.
            assert!(
                kvnos.contains(&active),
                "{label} at {t}: {kvnos:?}, active {active}"
            );
            let early = g.end_of(active) - t <= EARLY;
            if early {
                assert!(kvnos.contains(&(active + 1)), "{label} at {t}: {kvnos:?}");
            }
            let synced = s.accounts[0].result.as_ref().unwrap();
            assert_eq!(synced.kvno, if early { active + 1 } else { active });
            assert_eq!(host.kvnos("k", &principal), kvnos, "{label} at {t}");
            // The KDC's ticket was asked for and confirmed the keys (a refuted key fails the
            // account, and ok() above would have said so).
            assert_eq!(domain.count("ticket dc1"), 1, "{label} at {t}");
            domain.take_journal();
        }
    }
}

#[test]
fn without_the_salt_probe_a_renamed_accounts_keys_are_refuted_and_not_written() {
    let domain = Domain::new(
        &["dc1", "dc2"],
        vec![Gmsa::new("svc_ren$", T0, 30 * DAY, 2).renamed_from("svc_renold$", 1)],
        T0,
    );
    let host = Host::new();
    let cfg = host.config(&["dc1", "dc2"], &[("svc_ren$", "k")], "salt-probe = false");
    let s = sync(&host, &domain, &cfg, T0 + DAY);
    let e = s.accounts[0].result.as_ref().unwrap_err();
    assert_eq!(e.class(), Class::KeyMismatch, "{e}");
    assert_eq!(
        domain.count("connect"),
        1,
        "every DC's KDC salts alike: no other asked"
    );
    let Error::KeyMismatch(k) = e else {
        panic!("{e:?}")
    };
    assert_eq!(k.server, "dc1");
    match &k.refutation {
        Refutation::WrongKey {
            kvno: 1,
            salt,
            source: SaltSource::Computed {
                why: NoKdcSalt::Off,
            },
            kdc_salt_known: false,
            ..
        } => assert_eq!(salt, "EXAMPLE.TESThostsvc_ren.example.test"),
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("renamed") && text.contains("salt-probe = true"),
        "{text}"
    );
    assert!(!host.path("k").exists(), "nothing written");
    // After the next password change the KDC salts with the new name: the same
    // configuration then writes kvno 2 as the KDC holds it and its ticket confirms it.
    let s = sync(&host, &domain, &cfg, T0 + 31 * DAY);
    ok(&s);
    // The known limit: a host with no kvno 1 entries of its own cannot know that kvno 1 was
    // salted with the old name (the KDC now describes kvno 2 only); its kvno 1 keys take the
    // new name's salt. A host that synced during kvno 1 keeps its checked entries instead
    // (every_key_is_the_kdcs_at_every_instant_of_an_epoch).
    let bad = host.kdc_mismatches("k", &domain.accounts[0]);
    assert!(
        !bad.is_empty() && bad.iter().all(|(k, e)| *k == 1 && e.number() != 23),
        "{bad:?}"
    );
    assert_eq!(host.kvnos("k", "svc_ren$@EXAMPLE.TEST"), [1, 2]);
}

#[test]
fn a_frozen_dc_costs_one_failover_for_the_whole_run() {
    let accounts = (0..4)
        .map(|i| Gmsa::new(&format!("svc_{i}$"), T0, 30 * DAY, 10 + i))
        .collect();
    let domain = Domain::new(&["dc1", "dc2", "dc3"], accounts, T0);
    domain.dc("dc1").fault.set(Fault::FreezeAfter(1));
    let host = Host::new();
    let names: Vec<(String, String)> = (0..4)
        .map(|i| (format!("svc_{i}$"), format!("k{i}")))
        .collect();
    let list: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, k)| (a.as_str(), k.as_str()))
        .collect();
    let cfg = host.config(&["dc1", "dc2", "dc3"], &list, "");
    let s = sync(&host, &domain, &cfg, T0 + DAY);
    ok(&s);
    let servers = servers(&s);
    assert_eq!(servers, ["dc1", "dc2", "dc2", "dc2"]);
    assert_eq!(domain.count("failover"), 1);
    assert_eq!(
        domain.count("connect dc3"),
        0,
        "dc2 kept for the rest of the run"
    );
    for (i, g) in domain.accounts.iter().enumerate() {
        assert_eq!(host.assert_kdc_keys(&format!("k{i}"), g), [1]);
    }
}

#[test]
fn partial_failures_stay_with_their_accounts() {
    let mut accounts = vec![
        Gmsa::new("svc_ok$", T0, 30 * DAY, 1),
        Gmsa::new("svc_denied$", T0, 30 * DAY, 2),
        Gmsa::new("svc_late$", T0 + 10 * DAY, 30 * DAY, 3),
        Gmsa::new("svc_rc4$", T0, 30 * DAY, 4),
    ];
    accounts[3].enctypes = Some(0x4);
    let domain = Domain::new(&["dc1"], accounts, T0);
    domain.gmsa("svc_denied$").readable.set(false);
    let host = Host::new();
    let cfg = host.config(
        &["dc1"],
        &[
            ("svc_ok$", "ok"),
            ("svc_denied$", "denied"),
            // Not replicated yet / not created yet.
            ("svc_late$", "late"),
            ("svc_rc4$", "rc4"),
        ],
        "",
    );
    let s = sync(&host, &domain, &cfg, T0 + DAY);
    let classes: Vec<Option<Class>> = s
        .accounts
        .iter()
        .map(|a| a.result.as_ref().err().map(Error::class))
        .collect();
    assert_eq!(
        classes,
        [None, Some(Class::NoPerm), Some(Class::NoAccount), None]
    );
    // The run's class is the first failure's.
    assert_eq!(s.failure(), Some(Class::NoPerm));
    let denied = s.accounts[1].result.as_ref().unwrap_err().to_string();
    assert!(
        denied.contains("PrincipalsAllowedToRetrieveManagedPassword"),
        "{denied}"
    );
    assert_eq!(host.assert_kdc_keys("ok", domain.gmsa("svc_ok$")), [1]);
    assert_eq!(host.assert_kdc_keys("rc4", domain.gmsa("svc_rc4$")), [1]);
    // RC4 for the service tickets, AES too: the KDC pre-authenticates the account with AES
    // whatever msDS-SupportedEncryptionTypes says (samba-lab.md).
    let kinds: Vec<u16> = host.entries("rc4").iter().map(|e| e.2.number()).collect();
    assert!(kinds.contains(&23) && kinds.contains(&18), "{kinds:?}");
    assert!(!host.path("denied").exists() && !host.path("late").exists());
}

#[test]
fn no_dc_reached_fails_every_account_with_the_dcs_own_errors() {
    let domain = Domain::two_gmsas(&["dc1", "dc2"], T0);
    for dc in &domain.dcs {
        dc.fault.set(Fault::Unreachable);
    }
    let host = Host::new();
    let cfg = host.config(&["dc1", "dc2"], &[("svc_a$", "k"), ("svc_b$", "k")], "");
    let s = sync(&host, &domain, &cfg, T0 + DAY);
    assert_eq!(s.server, None);
    for a in &s.accounts {
        let e = a.result.as_ref().unwrap_err();
        assert!(matches!(e, Error::NoDirectory(_)), "{e:?}");
        assert_eq!(e.class(), Class::TempFail);
        let text = e.to_string();
        assert!(text.contains("dc1") && text.contains("dc2"), "{text}");
    }
    assert!(!host.path("k").exists());
    // A refused host key stops at the first DC: every DC would say the same.
    domain.dc("dc1").fault.set(Fault::RefusesHost);
    domain.dc("dc2").fault.set(Fault::None);
    domain.take_journal();
    let s = sync(&host, &domain, &cfg, T0 + DAY);
    assert_eq!(s.failure(), Some(Class::NoPerm));
    assert_eq!(domain.count("connect dc2"), 0);
}

#[test]
fn when_every_dc_fails_mid_run_the_rest_fail_at_once() {
    let domain = Domain::new(
        &["dc1", "dc2"],
        (0..3)
            .map(|i| Gmsa::new(&format!("svc_{i}$"), T0, 30 * DAY, i))
            .collect(),
        T0,
    );
    domain.dc("dc1").fault.set(Fault::FreezeAfter(1));
    domain.dc("dc2").fault.set(Fault::Unreachable);
    let host = Host::new();
    let cfg = host.config(
        &["dc1", "dc2"],
        &[("svc_0$", "k0"), ("svc_1$", "k1"), ("svc_2$", "k2")],
        "",
    );
    let s = sync(&host, &domain, &cfg, T0 + DAY);
    assert!(s.accounts[0].result.is_ok());
    for a in &s.accounts[1..] {
        let e = a.result.as_ref().unwrap_err();
        assert!(matches!(e, Error::DcLost(_)), "{e:?}");
        assert_eq!(e.class(), Class::TempFail);
        assert!(
            e.to_string()
                .starts_with("the domain controller in use failed"),
            "{e}"
        );
    }
    // One timeout for the run: the third account was not asked of a dead DC.
    assert_eq!(domain.count("fetch dc1 svc_2"), 0);
    assert!(host.path("k0").exists() && !host.path("k1").exists());
}

#[test]
fn a_keytab_that_cannot_be_written_fails_each_of_its_accounts_alike() {
    let domain = Domain::new(
        &["dc1"],
        vec![
            Gmsa::new("svc_a$", T0, 30 * DAY, 1),
            Gmsa::new("svc_b$", T0, 30 * DAY, 2),
            Gmsa::new("svc_c$", T0, 30 * DAY, 3),
        ],
        T0,
    );
    let host = Host::new();
    // "blocked" is a file, so "blocked/k" cannot be created.
    std::fs::write(host.path("blocked"), b"not a directory").unwrap();
    let cfg = host.config(
        &["dc1"],
        &[
            ("svc_a$", "blocked/k"),
            ("svc_b$", "blocked/k"),
            ("svc_c$", "fine"),
        ],
        "",
    );
    let s = sync(&host, &domain, &cfg, T0 + DAY);
    let (a, b) = (
        s.accounts[0].result.as_ref().unwrap_err(),
        s.accounts[1].result.as_ref().unwrap_err(),
    );
    assert!(matches!(a, Error::KeytabBatch(_)), "{a:?}");
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(a.class(), b.class());
    assert!(a.to_string().contains("blocked"), "{a}");
    assert!(s.accounts[2].result.is_ok());
    assert_eq!(
        std::fs::read(host.path("blocked")).unwrap(),
        b"not a directory"
    );
}

#[test]
fn a_dc_behind_the_keytab_does_not_take_the_kvno_back() {
    let domain = Domain::new(
        &["dc1", "dc2"],
        vec![Gmsa::new("svc_web$", T0, 30 * DAY, 1)],
        T0,
    );
    let g = &domain.accounts[0];
    let host = Host::new();
    let cfg = host.config(&["dc1", "dc2"], &[("svc_web$", "k")], "");
    let principal = "svc_web$@EXAMPLE.TEST";
    // After the rollover to kvno 2, from an up-to-date dc1.
    ok(&sync(&host, &domain, &cfg, T0 + 31 * DAY));
    assert_eq!(host.kvnos("k", principal), [1, 2]);
    let before = std::fs::read(host.path("k")).unwrap();

    // dc1 restored from a backup of two days before the rollover: it says kvno 1. The sync
    // asks dc2, which is current, and keeps its answer.
    domain.dc("dc1").lag.set(3 * DAY);
    domain.take_journal();
    let s = sync(&host, &domain, &cfg, T0 + 31 * DAY + 60);
    ok(&s);
    let a = &s.accounts[0];
    assert_eq!(a.server.as_deref(), Some("dc2"));
    assert_eq!(a.behind, None);
    assert_eq!(a.result.as_ref().unwrap().kvno, 2);
    assert_eq!(host.assert_kdc_keys("k", g), [1, 2]);
    assert_eq!(domain.count("fetch dc2"), 1);

    // Every DC behind: the keytab keeps kvno 2 and the run says who is behind.
    domain.dc("dc2").lag.set(3 * DAY);
    let s = sync(&host, &domain, &cfg, T0 + 31 * DAY + 120);
    let a = &s.accounts[0];
    let behind = a.behind.as_ref().expect("reported behind");
    assert_eq!((behind.dc_kvno, behind.keytab_kvno), (1, 2));
    assert_eq!(behind.asked, ["dc1", "dc2"]);
    assert_eq!(host.kvnos("k", principal), [1, 2]);
    assert_eq!(
        std::fs::read(host.path("k")).unwrap(),
        before,
        "byte-identical"
    );
}

#[test]
fn a_kdc_ahead_of_its_directory_refutes_the_kvno_and_another_dc_is_asked() {
    let domain = Domain::new(
        &["dc1", "dc2"],
        vec![Gmsa::new("svc_web$", T0, 30 * DAY, 1)],
        T0,
    );
    let host = Host::new();
    let cfg = host.config(&["dc1", "dc2"], &[("svc_web$", "k")], "");
    ok(&sync(&host, &domain, &cfg, T0 + 20 * DAY));
    let before = std::fs::read(host.path("k")).unwrap();
    // dc1's KDC already has kvno 2 while its directory still says 1 (outside the last
    // minutes): the keys about to be written are kvno 1. dc2 agrees with itself: its answer
    // is used.
    domain.dc("dc1").kdc_ahead.set(15 * DAY);
    domain.take_journal();
    let s = sync(&host, &domain, &cfg, T0 + 20 * DAY + 60);
    ok(&s);
    assert_eq!(s.accounts[0].server.as_deref(), Some("dc2"));
    assert_eq!(domain.count("fetch dc2"), 1);
    assert_eq!(
        std::fs::read(host.path("k")).unwrap(),
        before,
        "nothing to change"
    );

    // dc2's KDC issues no ticket: its keys are not confirmed, so they do not replace keys
    // dc1's KDC refuted. The account fails with dc1's refutation, nothing is written.
    domain.dc("dc2").no_tickets.set(true);
    domain.take_journal();
    let s = sync(&host, &domain, &cfg, T0 + 20 * DAY + 90);
    assert_eq!(domain.count("fetch dc2"), 1, "dc2 was asked");
    assert!(s.accounts[0].result.is_err());
    assert_eq!(
        std::fs::read(host.path("k")).unwrap(),
        before,
        "byte-identical"
    );
    domain.dc("dc2").no_tickets.set(false);

    // Both DCs mid-replication: dc2 is asked and refutes too; the account fails with the
    // first refutation (dc1's), nothing is written.
    domain.dc("dc2").kdc_ahead.set(15 * DAY);
    domain.take_journal();
    let s = sync(&host, &domain, &cfg, T0 + 20 * DAY + 120);
    assert_eq!(domain.count("fetch dc2"), 1, "dc2 was asked");
    let e = s.accounts[0].result.as_ref().unwrap_err();
    let Error::KeyMismatch(k) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        k.server, "dc1",
        "the first answer is kept when no other is better"
    );
    assert_eq!(
        k.refutation,
        Refutation::UnknownKvno {
            kdc_kvno: Some(2),
            written: vec![1],
            directory_kvno: 1
        }
    );
    assert!(
        k.hint().contains("directory and its KDC disagree"),
        "{}",
        k.hint()
    );
    let text = e.to_string();
    assert!(
        text.starts_with("svc_web$: the KDC on dc1 issues tickets under kvno 2")
            && text.contains("The keytab was left untouched."),
        "{text}"
    );
    assert_eq!(
        std::fs::read(host.path("k")).unwrap(),
        before,
        "byte-identical"
    );
    // A refuted salt (the probe off, a renamed account) is the same on every DC: not asked.
}

#[test]
fn keys_the_kdc_gives_no_ticket_for_are_written_unconfirmed() {
    let domain = Domain::new(&["dc1"], vec![Gmsa::new("svc_web$", T0, 30 * DAY, 1)], T0);
    domain.gmsa("svc_web$").no_tickets.set(true);
    let host = Host::new();
    let cfg = host.config(&["dc1"], &[("svc_web$", "k")], "");
    ok(&sync(&host, &domain, &cfg, T0 + 31 * DAY));
    // Asked for the account principal, then for its first SPN, then written with a warning.
    assert_eq!(domain.count("ticket dc1"), 2);
    assert_eq!(host.assert_kdc_keys("k", domain.gmsa("svc_web$")), [1, 2]);
}

#[test]
fn an_account_refuted_before_a_failover_is_asked_of_the_dc_failed_over_to() {
    // dc1's KDC is ahead of its directory (svc_a$ is refuted there), then dc1 freezes while
    // svc_b$ is read: the run moves to dc2, and svc_a$ is asked there too.
    let domain = Domain::two_gmsas(&["dc1", "dc2"], T0);
    domain.dc("dc1").kdc_ahead.set(15 * DAY);
    domain.dc("dc1").fault.set(Fault::FreezeAfter(1));
    let host = Host::new();
    let cfg = host.config(&["dc1", "dc2"], &[("svc_a$", "a"), ("svc_b$", "b")], "");
    let s = sync(&host, &domain, &cfg, T0 + 20 * DAY);
    ok(&s);
    let servers = servers(&s);
    assert_eq!(servers, ["dc2", "dc2"]);
    assert_eq!(domain.count("failover"), 1);
    assert_eq!(host.assert_kdc_keys("a", domain.gmsa("svc_a$")), [1]);
}

#[test]
fn a_fifo_at_a_keytab_path_fails_that_account_at_once_and_is_left_alone() {
    // The unlocked reads before the write (a DC behind? the previous keys held?) are bounded
    // and refuse anything but a regular file: a FIFO there would otherwise block the run.
    let (tx, rx) = std::sync::mpsc::channel();
    let host = Host::new();
    let fifo = host.path("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let dir = host.dir.path().to_path_buf();
    std::thread::spawn(move || {
        let domain = Domain::two_gmsas(&["dc1"], T0);
        let host = Host {
            dir: tempfile::TempDir::new_in(&dir).unwrap(),
        };
        let cfg = host.config(&["dc1"], &[("svc_a$", "../fifo"), ("svc_b$", "b")], "");
        // kvno 2 with the previous password: both unlocked reads happen.
        let s = sync(&host, &domain, &cfg, T0 + 31 * DAY);
        let classes: Vec<Option<Class>> = s
            .accounts
            .iter()
            .map(|a| a.result.as_ref().err().map(Error::class))
            .collect();
        let kvnos = host.assert_kdc_keys("b", domain.gmsa("svc_b$"));
        tx.send((classes, kvnos)).unwrap();
    });
    let (classes, kvnos) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the run ends instead of blocking on the FIFO");
    assert!(classes[0].is_some(), "{classes:?}");
    assert_eq!(classes[1], None);
    assert_eq!(kvnos, [1, 2]);
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "left as it was"
    );
}
