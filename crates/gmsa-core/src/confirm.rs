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

/// The AES salt of the account's current keys, from the KDC's answer to the salt probe, or
/// why the answer does not say (the caller then falls back to the computed salt).
pub fn salt_from_reply(reply: &ProbeReply, realm: &str, name: &str) -> Result<String, String> {
    let entries: &[EtypeInfo] = match reply {
        ProbeReply::EtypeInfo {
            error_code: ERR_PREAUTH_REQUIRED,
            entries,
        }
        | ProbeReply::AsRep { entries, .. } => entries,
        ProbeReply::EtypeInfo { error_code, .. } => {
            return Err(format!("the KDC answered error {error_code}"));
        }
        ProbeReply::Error { code, text } => {
            return Err(match (code, text) {
                (6, _) => "the KDC does not know the account (KDC_ERR_C_PRINCIPAL_UNKNOWN; \
                           not replicated to this DC yet?)"
                    .to_string(),
                (c, Some(t)) => format!("the KDC answered error {c} ({t})"),
                (c, None) => format!("the KDC answered error {c}"),
            });
        }
    };
    // AES256 first; AD salts every key of an account alike, so either AES entry will do.
    let aes = [Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196]
        .iter()
        .find_map(|e| entries.iter().find(|i| i.etype == i32::from(e.number())))
        .ok_or_else(|| {
            let offered: Vec<String> = entries.iter().map(|e| e.etype.to_string()).collect();
            format!(
                "the KDC offers no AES key for the account (enctypes {})",
                offered.join(",")
            )
        })?;
    if let Some(p) = &aes.s2kparams
        && p[..] != AD_S2K_PARAMS
    {
        return Err(format!(
            "the KDC uses string-to-key parameters {p:02x?}, not AD's 4096 iterations"
        ));
    }
    match &aes.salt {
        Some(bytes) => {
            String::from_utf8(bytes.clone()).map_err(|_| "the KDC's salt is not UTF-8".to_string())
        }
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
    /// Nothing to check against (an enctype we do not derive, a kvno whose password the blob
    /// no longer has): neither confirmed nor refuted.
    Unverifiable(String),
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
        return Verdict::Unverifiable(format!(
            "the ticket is encrypted with enctype {}, which this tool does not derive",
            ticket.etype
        ));
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
