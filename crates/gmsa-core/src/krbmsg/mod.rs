//! The few Kerberos messages this tool reads and writes itself (RFC 4120), pure: no I/O.
//!
//! - [`salt_probe_request`]: an AS-REQ *without* pre-authentication for the gMSA. The KDC answers
//!   KDC_ERR_PREAUTH_REQUIRED with the salt and enctypes it holds for the account (PA-ETYPE-INFO2
//!   in the error's METHOD-DATA). No key is tried, so no bad-password count moves; it is the
//!   first message of every `kinit`.
//! - [`parse_probe_reply`]: that KRB-ERROR, or an AS-REP (an account that needs no
//!   pre-authentication), down to its ETYPE-INFO2 entries.
//! - [`parse_ticket`]: a Ticket's server name and enc-part (etype, kvno, cipher), to decrypt with
//!   the keys about to be written.
//!
//! Everything read comes from the network: every parser is bounded by its input and returns an
//! error, never panics (fuzz target `krb_reply`).

pub mod der;

use der::{DerError, Reader};

/// Message types (RFC 4120 §7.5.7).
const AS_REQ: i64 = 10;
const AS_REP: i32 = 11;
const KRB_ERROR: i32 = 30;
/// Padata types (RFC 4120 §7.5.2).
const PA_ETYPE_INFO: i32 = 11;
const PA_ETYPE_INFO2: i32 = 19;
/// Name types.
const NT_PRINCIPAL: i64 = 1;
const NT_SRV_INST: i64 = 2;
/// KDC_ERR_PREAUTH_REQUIRED.
pub const ERR_PREAUTH_REQUIRED: i32 = 25;
/// Entries of an ETYPE-INFO2 accepted; a KDC sends one per enctype it holds.
const MAX_ENTRIES: usize = 32;

/// One ETYPE-INFO2 entry: an enctype the KDC holds a key of, and that key's salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtypeInfo {
    pub etype: i32,
    /// None: the default salt (realm ‖ name components, RFC 4120 §4).
    pub salt: Option<Vec<u8>>,
    pub s2kparams: Option<Vec<u8>>,
}

/// What the KDC said to the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeReply {
    /// KDC_ERR_PREAUTH_REQUIRED (or another error that carries ETYPE-INFO2) with its entries.
    EtypeInfo {
        error_code: i32,
        entries: Vec<EtypeInfo>,
    },
    /// An AS-REP (the account needs no pre-authentication): its ETYPE-INFO2 entries, if any,
    /// and the enctype of its enc-part, which is encrypted in the account's key.
    AsRep {
        entries: Vec<EtypeInfo>,
        enc_etype: i32,
    },
    /// Any other KRB-ERROR: the code and the KDC's text.
    Error { code: i32, text: Option<String> },
}

/// The enc-part of a ticket, and whose ticket it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPart {
    pub realm: String,
    pub sname: Vec<String>,
    pub etype: i32,
    /// AD always sends it; absent means "unspecified".
    pub kvno: Option<u32>,
    pub cipher: Vec<u8>,
}

/// Why a reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Kerberos reply: {0}")]
pub struct ParseError(#[from] pub DerError);

fn principal_name(name_type: i64, components: &[&str]) -> Vec<u8> {
    let strings: Vec<Vec<u8>> = components
        .iter()
        .map(|c| der::tlv(der::GENERAL_STRING, c.as_bytes()))
        .collect();
    der::sequence(&[
        der::field(0, &der::integer(name_type)),
        der::field(1, &der::sequence(&strings)),
    ])
}

/// An AS-REQ without pre-authentication data for `name@realm` (one component, e.g.
/// `svc_web$`), service `krbtgt/realm`, asking for `etypes` in that order. `nonce` should be
/// random (the reply is not decrypted, but a KDC may log it).
pub fn salt_probe_request(realm: &str, name: &str, etypes: &[i32], nonce: u32) -> Vec<u8> {
    let etype_list: Vec<Vec<u8>> = etypes.iter().map(|e| der::integer(i64::from(*e))).collect();
    let body = der::sequence(&[
        // kdc-options: none.
        der::field(0, &der::tlv(der::BIT_STRING, &[0, 0, 0, 0, 0])),
        der::field(1, &principal_name(NT_PRINCIPAL, &[name])),
        der::field(2, &der::tlv(der::GENERAL_STRING, realm.as_bytes())),
        der::field(3, &principal_name(NT_SRV_INST, &["krbtgt", realm])),
        // till: the conventional "no preference" time; the KDC clamps it, and no ticket results
        // for an account that needs pre-authentication anyway.
        der::field(5, &der::tlv(der::GENERALIZED_TIME, b"20370913024805Z")),
        // MIT and AD both treat the nonce as 31 bits.
        der::field(7, &der::integer(i64::from(nonce & 0x7fff_ffff))),
        der::field(8, &der::sequence(&etype_list)),
    ]);
    let req = der::sequence(&[
        der::field(1, &der::integer(5)),
        der::field(2, &der::integer(AS_REQ)),
        der::field(4, &body),
    ]);
    der::tlv(der::app(10), &req)
}

/// METHOD-DATA (a SEQUENCE OF PA-DATA) → the ETYPE-INFO2 entries, else the older ETYPE-INFO
/// ones, else none.
fn etype_info_from_padata(padata: Reader<'_>) -> Result<Vec<EtypeInfo>, DerError> {
    let mut seq = padata;
    let mut list = seq.expect(der::SEQUENCE)?;
    let mut info2 = None;
    let mut info = None;
    while !list.is_empty() {
        let mut pa = list.expect(der::SEQUENCE)?;
        let kind = pa.required(1, "PA-DATA without padata-type")?.int32()?;
        let value = pa.required(2, "PA-DATA without padata-value")?.octets()?;
        match kind {
            PA_ETYPE_INFO2 if info2.is_none() => info2 = Some(etype_info2(value)?),
            PA_ETYPE_INFO if info.is_none() => info = Some(etype_info(value)?),
            _ => {}
        }
    }
    Ok(info2.or(info).unwrap_or_default())
}

/// ETYPE-INFO2 ::= SEQUENCE OF { etype [0] Int32, salt [1] KerberosString OPTIONAL,
/// s2kparams [2] OCTET STRING OPTIONAL }.
fn etype_info2(value: &[u8]) -> Result<Vec<EtypeInfo>, DerError> {
    let mut r = Reader::new(value);
    let mut list = r.expect(der::SEQUENCE)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        if out.len() == MAX_ENTRIES {
            return Err(DerError::Invalid("too many ETYPE-INFO2 entries"));
        }
        let mut e = list.expect(der::SEQUENCE)?;
        let etype = e.required(0, "ETYPE-INFO2 entry without etype")?.int32()?;
        let salt = match e.field(1)? {
            Some(mut s) => Some(s.general_string()?.to_vec()),
            None => None,
        };
        let s2kparams = match e.field(2)? {
            Some(mut p) => Some(p.octets()?.to_vec()),
            None => None,
        };
        out.push(EtypeInfo {
            etype,
            salt,
            s2kparams,
        });
    }
    Ok(out)
}

/// ETYPE-INFO ::= SEQUENCE OF { etype [0] Int32, salt [1] OCTET STRING OPTIONAL }.
fn etype_info(value: &[u8]) -> Result<Vec<EtypeInfo>, DerError> {
    let mut r = Reader::new(value);
    let mut list = r.expect(der::SEQUENCE)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        if out.len() == MAX_ENTRIES {
            return Err(DerError::Invalid("too many ETYPE-INFO entries"));
        }
        let mut e = list.expect(der::SEQUENCE)?;
        let etype = e.required(0, "ETYPE-INFO entry without etype")?.int32()?;
        let salt = match e.field(1)? {
            Some(mut s) => Some(s.octets()?.to_vec()),
            None => None,
        };
        out.push(EtypeInfo {
            etype,
            salt,
            s2kparams: None,
        });
    }
    Ok(out)
}

/// Reads the KDC's answer to [`salt_probe_request`].
pub fn parse_probe_reply(reply: &[u8]) -> Result<ProbeReply, ParseError> {
    let mut r = Reader::new(reply);
    match r.peek_tag() {
        Some(t) if t == der::app(KRB_ERROR as u8) => {
            let mut outer = r.expect(t)?;
            let mut e = outer.expect(der::SEQUENCE)?;
            let msg_type = e.required(1, "KRB-ERROR without msg-type")?.int32()?;
            if msg_type != KRB_ERROR {
                return Err(DerError::Invalid("KRB-ERROR with another msg-type").into());
            }
            let code = e.required(6, "KRB-ERROR without error-code")?.int32()?;
            let text = match e.field(11)? {
                Some(mut t) => Some(String::from_utf8_lossy(t.general_string()?).into_owned()),
                None => None,
            };
            let entries = match e.field(12)? {
                // e-data is an OCTET STRING holding METHOD-DATA (for PREAUTH_REQUIRED); other
                // errors may carry other things there, which are not ours to read.
                Some(mut d) => {
                    let data = d.octets()?;
                    match etype_info_from_padata(Reader::new(data)) {
                        Ok(v) => v,
                        Err(err) if code == ERR_PREAUTH_REQUIRED => return Err(err.into()),
                        Err(_) => Vec::new(),
                    }
                }
                None => Vec::new(),
            };
            if entries.is_empty() {
                Ok(ProbeReply::Error { code, text })
            } else {
                Ok(ProbeReply::EtypeInfo {
                    error_code: code,
                    entries,
                })
            }
        }
        Some(t) if t == der::app(AS_REP as u8) => {
            let mut outer = r.expect(t)?;
            let mut rep = outer.expect(der::SEQUENCE)?;
            let msg_type = rep.required(1, "AS-REP without msg-type")?.int32()?;
            if msg_type != AS_REP {
                return Err(DerError::Invalid("AS-REP with another msg-type").into());
            }
            let entries = match rep.field(2)? {
                Some(p) => etype_info_from_padata(p)?,
                None => Vec::new(),
            };
            let mut enc = rep.required(6, "AS-REP without enc-part")?;
            let mut enc = enc.expect(der::SEQUENCE)?;
            let enc_etype = enc.required(0, "EncryptedData without etype")?.int32()?;
            Ok(ProbeReply::AsRep { entries, enc_etype })
        }
        Some(found) => Err(DerError::Tag {
            expected: der::app(KRB_ERROR as u8),
            found,
            at: 0,
        }
        .into()),
        None => Err(DerError::Truncated(0).into()),
    }
}

/// Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] }.
pub fn parse_ticket(ticket: &[u8]) -> Result<TicketPart, ParseError> {
    let mut r = Reader::new(ticket);
    let mut outer = r.expect(der::app(1))?;
    let mut t = outer.expect(der::SEQUENCE)?;
    if t.required(0, "Ticket without tkt-vno")?.integer()? != 5 {
        return Err(DerError::Invalid("ticket version is not 5").into());
    }
    let realm = String::from_utf8_lossy(t.required(1, "Ticket without realm")?.general_string()?)
        .into_owned();
    let mut sname = t.required(2, "Ticket without sname")?;
    let mut sname = sname.expect(der::SEQUENCE)?;
    sname
        .required(0, "PrincipalName without name-type")?
        .int32()?;
    let mut strings = sname.required(1, "PrincipalName without name-string")?;
    let mut strings = strings.expect(der::SEQUENCE)?;
    let mut components = Vec::new();
    while !strings.is_empty() {
        if components.len() == MAX_ENTRIES {
            return Err(DerError::Invalid("too many name components").into());
        }
        components.push(String::from_utf8_lossy(strings.general_string()?).into_owned());
    }
    let mut enc = t.required(3, "Ticket without enc-part")?;
    let mut enc = enc.expect(der::SEQUENCE)?;
    let etype = enc.required(0, "EncryptedData without etype")?.int32()?;
    let kvno = match enc.field(1)? {
        Some(mut k) => Some(k.uint32()?),
        None => None,
    };
    let cipher = enc
        .required(2, "EncryptedData without cipher")?
        .octets()?
        .to_vec();
    Ok(TicketPart {
        realm,
        sname: components,
        etype,
        kvno,
        cipher,
    })
}

#[cfg(test)]
mod tests;
