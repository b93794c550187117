//! Keys the KDC confirms before they are installed: the salt the KDC holds (salt probe), and
//! a ticket it issues for the account, decrypted with the keys about to be written.

use super::key_salts;
use super::refuted::{KeyRefuted, Refutation, SaltSource};
use crate::blob::ManagedPassword;
use crate::confirm::{self, Candidate, SaltUnknown, Unverifiable, Verdict};
use crate::directory::{AccountRecord, Directory, KdcAskError};
use crate::enctype::Enctype;
use crate::error::Error;
use crate::log;
use crate::store::keytab_file::Change;

/// Why the salt the KDC holds for the account is not known: the salt probe is off, the KDC
/// gave no answer, or its answer does not say. The salt computed from the name is used then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoKdcSalt {
    #[error("the salt probe is turned off (salt-probe = false)")]
    Off,
    #[error(transparent)]
    NoAnswer(#[from] KdcAskError),
    #[error(transparent)]
    Unknown(#[from] SaltUnknown),
}

/// Why the keys could not be checked against the KDC's ticket (they are written with a
/// warning).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    #[error("no service ticket for the account: {0}")]
    NoTicket(KdcAskError),
    #[error(transparent)]
    Ticket(#[from] Unverifiable),
}

/// The salt of the account's active keys, as the session's KDC says, or why it cannot say.
pub fn probe_salt(
    session: &mut dyn Directory,
    sam: &str,
    realm: &str,
) -> Result<String, NoKdcSalt> {
    let reply = session.probe_salt(sam, realm)?;
    Ok(confirm::salt_from_reply(&reply, realm, sam)?)
}

/// What the KDC's own ticket says of the keys about to be written, when they are not refuted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The key of the ticket's kvno and enctype decrypts it.
    Confirmed { kvno: u32, enctype: Enctype },
    /// The KDC's kvno is the active key kept from the keytab (a young account in the last
    /// minutes of its epoch, whose blob has only the next password): nothing to confirm.
    KeptActive { kvno: u32 },
    /// The check could not run (the KDC refused a ticket, an enctype we do not derive).
    Unverified(Unverified),
}

/// Gets a ticket for the account and checks its key and kvno (see [`check`]), logging the
/// outcome: a check that cannot run is a warning, and the keys are written unconfirmed.
/// Returns whether the KDC's ticket confirmed them.
pub(super) fn confirm(
    session: &mut dyn Directory,
    rec: &AccountRecord,
    password: &ManagedPassword,
    realm: &str,
    change: &Change,
    probe: &Result<String, NoKdcSalt>,
) -> Result<bool, Error> {
    let sam = &rec.sam_account_name;
    let checked = check(session, rec, password, realm, change, probe)?;
    match &checked {
        Checked::Confirmed { kvno, enctype } => log::debug(
            "keys confirmed by the KDC",
            &[
                ("account", sam),
                ("kvno", &kvno.to_string()),
                ("enctype", &enctype.name()),
            ],
        ),
        Checked::KeptActive { kvno } => log::debug(
            "the KDC's kvno is the active key kept from the keytab; nothing to confirm",
            &[("account", sam), ("kvno", &kvno.to_string())],
        ),
        Checked::Unverified(why) => log::warn(
            "cannot confirm the keys with the KDC; writing them unconfirmed",
            &[
                ("account", sam),
                ("server", &session.server()),
                ("reason", why),
            ],
        ),
    }
    Ok(!matches!(checked, Checked::Unverified(_)))
}

/// Gets a ticket for the account from the session's KDC and checks that the key of its kvno
/// and enctype decrypts it. A key that does not, or a kvno we do not write, is an error (the
/// keytab is left as it is); a check that cannot run is [`Checked::Unverified`].
pub fn check(
    session: &mut dyn Directory,
    rec: &AccountRecord,
    password: &ManagedPassword,
    realm: &str,
    change: &Change,
    probe: &Result<String, NoKdcSalt>,
) -> Result<Checked, Error> {
    let sam = &rec.sam_account_name;
    let server = session.server().to_string();
    // The account principal first; should the KDC refuse tickets to it, one of its SPNs
    // (their tickets use the same key).
    let mut ticket = Err(KdcAskError::Refused(
        "no principal to ask a ticket for".into(),
    ));
    for principal in change.principals.iter().take(2) {
        let name = principal.to_string();
        ticket = session.service_ticket(&name);
        match &ticket {
            Ok(_) => break,
            Err(e) => log::debug(
                "the KDC gave no ticket for the key check",
                &[("account", sam), ("principal", &name), ("reason", e)],
            ),
        }
    }
    let ticket = match ticket {
        Ok(t) => t,
        Err(why) => {
            return Ok(Checked::Unverified(Unverified::NoTicket(why)));
        }
    };

    let (kvno, current_salt, previous_salt) = key_salts(
        rec,
        password,
        realm,
        probe.as_ref().ok().map(String::as_str),
    );
    let mut candidates = vec![Candidate {
        kvno,
        password: &password.current,
        salt: &current_salt,
        keys: change.keysets.iter().find(|k| k.kvno == kvno),
    }];
    if let Some(prev) = &password.previous
        && kvno > 1
    {
        candidates.push(Candidate {
            kvno: kvno - 1,
            password: prev,
            salt: &previous_salt,
            keys: change.keysets.iter().find(|k| k.kvno == kvno - 1),
        });
    }
    let verdict = confirm::check_ticket(&ticket, &candidates, &mut |e, key, cipher| {
        session.decrypts_ticket(e, key, cipher)
    });
    let salt_of = |k: u32| {
        if k == kvno {
            &current_salt
        } else {
            &previous_salt
        }
    };
    let source = |k: u32| match (probe, k > rec.kvno) {
        (_, true) => SaltSource::NewName,
        (Ok(_), false) => SaltSource::Kdc,
        (Err(why), false) => SaltSource::Computed { why: why.clone() },
    };
    let refuted = |refutation| {
        Error::KeyMismatch(Box::new(KeyRefuted {
            account: sam.clone(),
            server: server.clone(),
            refutation,
        }))
    };
    match verdict {
        Verdict::Confirmed { kvno, enctype } => Ok(Checked::Confirmed { kvno, enctype }),
        Verdict::Unverifiable(why) => Ok(Checked::Unverified(why.into())),
        // A young account in the last minutes of its epoch: the blob has only the next
        // password, and the plan keeps the active key's entries already in the keytab.
        Verdict::UnknownKvno { kvno: Some(k), .. }
            if k == rec.kvno && password.previous.is_none() =>
        {
            Ok(Checked::KeptActive { kvno: k })
        }
        Verdict::UnknownKvno { kvno: k, written } => Err(refuted(Refutation::UnknownKvno {
            kdc_kvno: k,
            written,
            directory_kvno: rec.kvno,
        })),
        Verdict::WrongKey { kvno: k, enctype } => Err(refuted(Refutation::WrongKey {
            kvno: k,
            enctype,
            salt: salt_of(k).clone(),
            source: source(k),
            kdc_salt_known: probe.is_ok(),
        })),
    }
}
