//! MIT keytab file format, version 0x0502 (reference §5): reader and writer. Pure: bytes in,
//! bytes out.
//!
//! Entries read from a file keep their exact record bytes, so writing a keytab back reproduces
//! every entry this tool does not manage byte for byte.

use crate::secret::SecretBytes;
use std::fmt;
use zeroize::Zeroizing;

/// KRB5_NT_PRINCIPAL.
pub const NT_PRINCIPAL: u32 = 1;
/// KRB5_NT_SRV_INST.
pub const NT_SRV_INST: u32 = 2;
/// KRB5_NT_SRV_HST.
pub const NT_SRV_HST: u32 = 3;

const VERSION_2: [u8; 2] = [0x05, 0x02];

/// A principal name as stored in a keytab: raw bytes, compared byte-exactly as MIT does.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub realm: Vec<u8>,
    pub components: Vec<Vec<u8>>,
    pub name_type: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    #[error("principal {0:?} is empty or has an empty component")]
    Empty(String),
    #[error("principal {0:?} has no realm and no default realm is known")]
    NoRealm(String),
    #[error("principal {0:?} ends with a lone backslash")]
    BadEscape(String),
    #[error("principal {0:?} has more than one '@'")]
    TwoRealms(String),
    #[error(
        "principal {0:?} contains a control or white-space character, or is longer than 1024 bytes"
    )]
    BadCharacter(String),
}

impl Principal {
    /// Parses `comp/comp@REALM` (MIT syntax, `\` escapes `/`, `@` and `\`). A missing realm is
    /// taken from `default_realm`. Realms are upper-cased: AD realms are the upper-case DNS
    /// domain, and MIT compares them case-sensitively, so a lower-case realm never matches.
    pub fn parse(
        text: &str,
        default_realm: Option<&str>,
        name_type: u32,
    ) -> Result<Principal, PrincipalError> {
        // Control characters would land in keytabs and log lines; no real principal has them.
        if text.len() > 1024 || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            let shown: String = text.chars().take(80).collect();
            return Err(PrincipalError::BadCharacter(shown));
        }
        let mut components: Vec<Vec<u8>> = vec![Vec::new()];
        let mut realm: Option<Vec<u8>> = None;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let literal = match c {
                '\\' => chars
                    .next()
                    .ok_or_else(|| PrincipalError::BadEscape(text.into()))?,
                '@' if realm.is_some() => return Err(PrincipalError::TwoRealms(text.into())),
                '@' => {
                    realm = Some(Vec::new());
                    continue;
                }
                '/' if realm.is_none() => {
                    components.push(Vec::new());
                    continue;
                }
                c => c,
            };
            let target = match (&mut realm, components.last_mut()) {
                (Some(r), _) => r,
                (None, Some(last)) => last,
                (None, None) => continue, // unreachable: components starts non-empty
            };
            let mut buf = [0u8; 4];
            target.extend_from_slice(literal.encode_utf8(&mut buf).as_bytes());
        }
        let realm = match realm {
            Some(r) => r,
            None => default_realm
                .ok_or_else(|| PrincipalError::NoRealm(text.into()))?
                .as_bytes()
                .to_vec(),
        };
        if realm.is_empty() || components.iter().any(|c| c.is_empty()) {
            return Err(PrincipalError::Empty(text.into()));
        }
        Ok(Principal {
            realm: realm.to_ascii_uppercase(),
            components,
            name_type,
        })
    }

    /// Same name as MIT compares names: realm and components, byte-exact; the type is ignored.
    pub fn same_name(&self, other: &Principal) -> bool {
        self.realm == other.realm && self.components == other.components
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8], specials: &[char]) -> fmt::Result {
            for c in String::from_utf8_lossy(bytes).chars() {
                if specials.contains(&c) {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            Ok(())
        }
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            escaped(f, c, &['/', '@', '\\'])?;
        }
        f.write_str("@")?;
        escaped(f, &self.realm, &['@', '\\'])
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Principal({self}, type {})", self.name_type)
    }
}

/// One keytab entry. `Debug` never shows the key.
#[derive(Clone, Debug)]
pub struct Entry {
    pub principal: Principal,
    pub timestamp: u32,
    /// The effective kvno: the 32-bit field when present and non-zero, else the 8-bit one.
    pub kvno: u32,
    pub enctype: u16,
    pub key: SecretBytes,
    /// The record exactly as read (the bytes after the size field), when read from a file.
    raw: Option<SecretBytes>,
}

impl Entry {
    pub fn new(
        principal: Principal,
        timestamp: u32,
        kvno: u32,
        enctype: u16,
        key: SecretBytes,
    ) -> Entry {
        Entry {
            principal,
            timestamp,
            kvno,
            enctype,
            key,
            raw: None,
        }
    }

    /// The record bytes this entry is written as: the original ones if it was read from a file.
    pub fn record_bytes(&self) -> Result<Zeroizing<Vec<u8>>, KeytabError> {
        if let Some(raw) = &self.raw {
            return Ok(Zeroizing::new(raw.expose().to_vec()));
        }
        encode_entry(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeytabError {
    #[error("file is too short to be a keytab ({0} byte)")]
    TooShort(usize),
    #[error(
        "keytab format version {0:#06x} is not supported: only MIT version 2 (0x0502) is; \
         convert it with ktutil (rkt, then wkt)"
    )]
    Version(u16),
    #[error("record at byte {offset} is cut short: it claims {claimed} bytes, {left} remain")]
    RecordTruncated {
        offset: usize,
        claimed: usize,
        left: usize,
    },
    #[error("record at byte {offset}: {what} runs past the end of the record")]
    FieldOverrun { offset: usize, what: &'static str },
    #[error("record at byte {offset} has no name components")]
    NoComponents { offset: usize },
    #[error("{trailing} stray non-zero byte(s) after the last record at byte {offset}")]
    Trailing { offset: usize, trailing: usize },
    #[error("cannot encode entry for {principal}: {what} is longer than 65535 bytes")]
    TooLong {
        principal: String,
        what: &'static str,
    },
}

/// A parsed keytab: its live entries in file order (holes are dropped).
#[derive(Clone, Debug, Default)]
pub struct Keytab {
    pub entries: Vec<Entry>,
}

impl Keytab {
    /// Parses a keytab file. An empty file is an empty keytab, as MIT treats it.
    pub fn parse(bytes: &[u8]) -> Result<Keytab, KeytabError> {
        if bytes.is_empty() {
            return Ok(Keytab::default());
        }
        if bytes.len() < 2 {
            return Err(KeytabError::TooShort(bytes.len()));
        }
        if bytes[..2] != VERSION_2 {
            return Err(KeytabError::Version(u16::from_be_bytes([
                bytes[0], bytes[1],
            ])));
        }
        let mut entries = Vec::new();
        let mut pos = 2;
        loop {
            let left = bytes.len() - pos;
            if left == 0 {
                break;
            }
            if left < 4 {
                // Zero fill shorter than a size field is tolerated; anything else is damage.
                return trailing_check(bytes, pos).map(|()| Keytab { entries });
            }
            let size =
                i32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
            let start = pos + 4;
            if size == 0 {
                // MIT stops at a zero size: the rest is fill (or space reserved by a writer).
                trailing_check(bytes, start)?;
                break;
            }
            let len = size.unsigned_abs() as usize;
            if len > bytes.len() - start {
                return Err(KeytabError::RecordTruncated {
                    offset: pos,
                    claimed: len,
                    left: bytes.len() - start,
                });
            }
            let record = &bytes[start..start + len];
            if size > 0 {
                entries.push(decode_entry(record, pos)?);
            }
            pos = start + len;
        }
        Ok(Keytab { entries })
    }

    /// Serializes as version 0x0502, entries in order.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, KeytabError> {
        let mut out = Zeroizing::new(VERSION_2.to_vec());
        for e in &self.entries {
            let record = e.record_bytes()?;
            let size = i32::try_from(record.len()).map_err(|_| KeytabError::TooLong {
                principal: e.principal.to_string(),
                what: "the record",
            })?;
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(&record);
        }
        Ok(out)
    }
}

fn trailing_check(bytes: &[u8], from: usize) -> Result<(), KeytabError> {
    let stray = bytes[from..].iter().filter(|b| **b != 0).count();
    if stray > 0 {
        return Err(KeytabError::Trailing {
            offset: from,
            trailing: stray,
        });
    }
    Ok(())
}

/// A bounds-checked big-endian reader over one record.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], KeytabError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or(KeytabError::FieldOverrun {
            offset: self.offset,
            what,
        })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, KeytabError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, KeytabError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, KeytabError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn data(&mut self, what: &'static str) -> Result<&'a [u8], KeytabError> {
        let n = self.u16(what)? as usize;
        self.take(n, what)
    }
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }
}

fn decode_entry(record: &[u8], offset: usize) -> Result<Entry, KeytabError> {
    let mut r = Reader {
        buf: record,
        pos: 0,
        offset,
    };
    let count = r.u16("the component count")?;
    if count == 0 {
        return Err(KeytabError::NoComponents { offset });
    }
    let realm = r.data("the realm")?.to_vec();
    let mut components = Vec::with_capacity(count.min(16) as usize);
    for _ in 0..count {
        components.push(r.data("a name component")?.to_vec());
    }
    let name_type = r.u32("the name type")?;
    let timestamp = r.u32("the timestamp")?;
    let kvno8 = r.u8("the kvno")?;
    let enctype = r.u16("the enctype")?;
    let key = SecretBytes::from_slice(r.data("the key")?);
    // The 32-bit kvno follows when at least 4 bytes remain; 0 means "use the 8-bit one".
    let kvno = match r.left() {
        n if n >= 4 => match r.u32("the 32-bit kvno")? {
            0 => u32::from(kvno8),
            k => k,
        },
        _ => u32::from(kvno8),
    };
    Ok(Entry {
        principal: Principal {
            realm,
            components,
            name_type,
        },
        timestamp,
        kvno,
        enctype,
        key,
        raw: Some(SecretBytes::from_slice(record)),
    })
}

fn encode_entry(e: &Entry) -> Result<Zeroizing<Vec<u8>>, KeytabError> {
    let too_long = |what| KeytabError::TooLong {
        principal: e.principal.to_string(),
        what,
    };
    let mut out = Zeroizing::new(Vec::with_capacity(128));
    let data = |out: &mut Vec<u8>, bytes: &[u8], what| -> Result<(), KeytabError> {
        let n = u16::try_from(bytes.len()).map_err(|_| too_long(what))?;
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(bytes);
        Ok(())
    };
    let count = u16::try_from(e.principal.components.len()).map_err(|_| too_long("the name"))?;
    out.extend_from_slice(&count.to_be_bytes());
    data(&mut out, &e.principal.realm, "the realm")?;
    for c in &e.principal.components {
        data(&mut out, c, "a name component")?;
    }
    out.extend_from_slice(&e.principal.name_type.to_be_bytes());
    out.extend_from_slice(&e.timestamp.to_be_bytes());
    // kvno8 is the low byte; kvno32 carries the full value (MIT >= 1.14 always writes it).
    out.push((e.kvno & 0xff) as u8);
    out.extend_from_slice(&e.enctype.to_be_bytes());
    data(&mut out, e.key.expose(), "the key")?;
    out.extend_from_slice(&e.kvno.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests;
