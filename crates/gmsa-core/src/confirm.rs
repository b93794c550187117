//! Keys the KDC confirms, the pure part: which salt the KDC holds (from the salt probe's
//! reply) and whether a ticket it issued decrypts with the keys about to be written. The
//! network and libkrb5 calls are in the daemon (`directory::kerberos::kdc_check`, `run::sync`);
//! the decryption is passed in (MIT's `krb5_c_decrypt` there, tests/confirm_mit.rs).

use crate::blob::Password;
use crate::crypto;
use crate::enctype::Enctype;
use crate::krbmsg::{ERR_PREAUTH_REQUIRED, EtypeInfo, ProbeReply, TicketPart};
use crate::plan::KeySet;

/// The PBKDF2 iteration count AD uses (s2kparams `00 00 10 00`), the only one we derive with.
const AD_S2K_PARAMS: [u8; 4] = [0, 0, 0x10, 0];

/// Why the KDC's answer to the salt probe does not say which salt it holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaltUnknown {
    #[error(
        "the KDC does not know the account (KDC_ERR_C_PRINCIPAL_UNKNOWN; not replicated to this \
         DC yet?)"
    )]
    UnknownAccount,
    /// A KRB-ERROR other than "pre-authentication required", with the KDC's text if any.
    #[error("the KDC answered error {code}{}", text.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())]
    KdcError { code: i32, text: Option<String> },
    #[error(
        "the KDC offers no AES key for the account (enctypes {})",
        list(offered)
    )]
    NoAesKey { offered: Vec<i32> },
    #[error("the KDC uses string-to-key parameters {params:02x?}, not AD's 4096 iterations")]
    OtherIterations { params: Vec<u8> },
    #[error("the KDC's salt is not UTF-8")]
    NotUtf8,
}

fn list(etypes: &[i32]) -> String {
    let v: Vec<String> = etypes.iter().map(i32::to_string).collect();
    v.join(",")
}

/// The AES salt of the account's current keys, from the KDC's answer to the salt probe, or
/// why the answer does not say (the caller then falls back to the computed salt).
pub fn salt_from_reply(reply: &ProbeReply, realm: &str, name: &str) -> Result<String, SaltUnknown> {
    let entries: &[EtypeInfo] = match reply {
        ProbeReply::EtypeInfo {
            error_code: ERR_PREAUTH_REQUIRED,
            entries,
        }
        | ProbeReply::AsRep { entries, .. } => entries,
        ProbeReply::EtypeInfo { error_code, .. } => {
            return Err(SaltUnknown::KdcError {
                code: *error_code,
                text: None,
            });
        }
        ProbeReply::Error { code: 6, .. } => return Err(SaltUnknown::UnknownAccount),
        ProbeReply::Error { code, text } => {
            return Err(SaltUnknown::KdcError {
                code: *code,
                text: text.clone(),
            });
        }
    };
    // AES256 first; AD salts every key of an account alike, so either AES entry will do.
    let aes = [Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196]
        .iter()
        .find_map(|e| entries.iter().find(|i| i.etype == i32::from(e.number())))
        .ok_or_else(|| SaltUnknown::NoAesKey {
            offered: entries.iter().map(|e| e.etype).collect(),
        })?;
    if let Some(p) = &aes.s2kparams
        && p[..] != AD_S2K_PARAMS
    {
        return Err(SaltUnknown::OtherIterations { params: p.clone() });
    }
    match &aes.salt {
        Some(bytes) => String::from_utf8(bytes.clone()).map_err(|_| SaltUnknown::NotUtf8),
        // RFC 4120 §4: absent means the default salt, the realm and the name's components.
        None => Ok(format!("{realm}{name}")),
    }
}

/// What a ticket from the KDC says about the keys about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The key of the ticket's kvno and enctype decrypts it.
    Confirmed { kvno: u32, enctype: Enctype },
    /// The KDC uses a kvno we do not write.
    UnknownKvno {
        kvno: Option<u32>,
        written: Vec<u32>,
    },
    /// Our key of that kvno and enctype does not decrypt the ticket.
    WrongKey { kvno: u32, enctype: Enctype },
    /// Nothing to check against: neither confirmed nor refuted.
    Unverifiable(Unverifiable),
}

/// Why a ticket can neither confirm nor refute the keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverifiable {
    #[error("the ticket is encrypted with enctype {0}, which this tool does not derive")]
    Enctype(i32),
}

/// `decrypt(enctype, key, cipher)`: whether `key` decrypts `cipher` (integrity checked).
pub type Decrypt<'a> = dyn FnMut(Enctype, &[u8], &[u8]) -> bool + 'a;

/// One kvno about to be written, with the password and salt its keys come from.
pub struct Candidate<'a> {
    pub kvno: u32,
    pub password: &'a Password,
    pub salt: &'a str,
    /// The keys already derived for it (reused when the ticket's enctype is among them).
    pub keys: Option<&'a KeySet>,
}

/// Decrypts the ticket's enc-part with the candidate key of its kvno and enctype, deriving that
/// key when it is not among those being written (an `enctypes` list may leave it out).
/// `decrypt(enctype, key, cipher)` says whether the integrity check passed.
pub fn check_ticket(
    ticket: &TicketPart,
    candidates: &[Candidate<'_>],
    decrypt: &mut Decrypt<'_>,
) -> Verdict {
    let written: Vec<u32> = candidates.iter().map(|c| c.kvno).collect();
    let Some(c) = candidates.iter().find(|c| Some(c.kvno) == ticket.kvno) else {
        return Verdict::UnknownKvno {
            kvno: ticket.kvno,
            written,
        };
    };
    let Some(enctype) = u16::try_from(ticket.etype)
        .ok()
        .and_then(Enctype::from_number)
        .filter(|e| !e.is_des())
    else {
        return Verdict::Unverifiable(Unverifiable::Enctype(ticket.etype));
    };
    let key = match c
        .keys
        .and_then(|k| k.keys.iter().find(|(e, _)| *e == enctype))
    {
        Some((_, k)) => k.clone(),
        None => crypto::derive_key(enctype, c.password, c.salt),
    };
    if decrypt(enctype, key.expose(), &ticket.cipher) {
        Verdict::Confirmed {
            kvno: c.kvno,
            enctype,
        }
    } else {
        Verdict::WrongKey {
            kvno: c.kvno,
            enctype,
        }
    }
}

#[cfg(test)]
mod tests;
