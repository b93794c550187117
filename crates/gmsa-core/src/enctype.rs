//! Kerberos encryption types this tool can derive keys for, and the selection rules
//! (`msDS-SupportedEncryptionTypes`, reference §2).

use std::fmt;
use std::str::FromStr;

/// An enctype we derive keys for. Discriminants are the IANA/RFC 3961 numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Enctype {
    DesCbcCrc = 1,
    DesCbcMd5 = 3,
    Aes128CtsHmacSha196 = 17,
    Aes256CtsHmacSha196 = 18,
    Rc4Hmac = 23,
}

/// Preference order, strongest first; the order keytab entries are written in.
pub const PREFERENCE: [Enctype; 5] = [
    Enctype::Aes256CtsHmacSha196,
    Enctype::Aes128CtsHmacSha196,
    Enctype::Rc4Hmac,
    Enctype::DesCbcMd5,
    Enctype::DesCbcCrc,
];

impl Enctype {
    pub fn number(self) -> u16 {
        self as u16
    }

    pub fn from_number(n: u16) -> Option<Enctype> {
        PREFERENCE.into_iter().find(|e| e.number() == n)
    }

    /// The MIT name, as `klist -e` and krb5.conf spell it.
    pub fn name(self) -> &'static str {
        match self {
            Enctype::DesCbcCrc => "des-cbc-crc",
            Enctype::DesCbcMd5 => "des-cbc-md5",
            Enctype::Aes128CtsHmacSha196 => "aes128-cts-hmac-sha1-96",
            Enctype::Aes256CtsHmacSha196 => "aes256-cts-hmac-sha1-96",
            Enctype::Rc4Hmac => "rc4-hmac",
        }
    }

    /// The `msDS-SupportedEncryptionTypes` bit for this enctype (MS-KILE 2.2.7).
    pub fn supported_bit(self) -> u32 {
        match self {
            Enctype::DesCbcCrc => 0x1,
            Enctype::DesCbcMd5 => 0x2,
            Enctype::Rc4Hmac => 0x4,
            Enctype::Aes128CtsHmacSha196 => 0x8,
            Enctype::Aes256CtsHmacSha196 => 0x10,
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            Enctype::DesCbcCrc | Enctype::DesCbcMd5 => 8,
            Enctype::Rc4Hmac | Enctype::Aes128CtsHmacSha196 => 16,
            Enctype::Aes256CtsHmacSha196 => 32,
        }
    }

    pub fn is_des(self) -> bool {
        matches!(self, Enctype::DesCbcCrc | Enctype::DesCbcMd5)
    }
}

/// Name of any enctype number, for `show` on keytabs written by other tools.
pub fn enctype_name(n: u16) -> String {
    match n {
        2 => "des-cbc-md4".into(),
        16 => "des3-cbc-sha1".into(),
        19 => "aes128-cts-hmac-sha256-128".into(),
        20 => "aes256-cts-hmac-sha384-192".into(),
        24 => "rc4-hmac-exp".into(),
        25 => "camellia128-cts-cmac".into(),
        26 => "camellia256-cts-cmac".into(),
        _ => match Enctype::from_number(n) {
            Some(e) => e.name().into(),
            None => format!("enctype-{n}"),
        },
    }
}

impl fmt::Display for Enctype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown enctype {0:?}: use aes256 (aes256-cts-hmac-sha1-96), aes128 (aes128-cts-hmac-sha1-96), \
     rc4 (rc4-hmac, arcfour-hmac), des-cbc-md5 or des-cbc-crc"
)]
pub struct UnknownEnctype(pub String);

impl FromStr for Enctype {
    type Err = UnknownEnctype;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let e = match s.trim().to_ascii_lowercase().as_str() {
            "aes256" | "aes256-cts" | "aes256-cts-hmac-sha1-96" | "18" => {
                Enctype::Aes256CtsHmacSha196
            }
            "aes128" | "aes128-cts" | "aes128-cts-hmac-sha1-96" | "17" => {
                Enctype::Aes128CtsHmacSha196
            }
            "rc4" | "rc4-hmac" | "arcfour-hmac" | "arcfour-hmac-md5" | "23" => Enctype::Rc4Hmac,
            "des-cbc-md5" | "3" => Enctype::DesCbcMd5,
            "des-cbc-crc" | "1" => Enctype::DesCbcCrc,
            _ => return Err(UnknownEnctype(s.to_string())),
        };
        Ok(e)
    }
}

/// Written for every gMSA whatever its `msDS-SupportedEncryptionTypes`: the KDC holds AES keys
/// for every account and pre-authenticates the account itself with AES even when the attribute
/// says RC4 only (0x4; samba-lab.md "More observed behaviour"), so `kinit -k` as the account
/// needs them. The attribute only governs which key encrypts *service tickets*.
pub const ALWAYS: [Enctype; 2] = [Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no enctype left to write: the account allows {supported} (msDS-SupportedEncryptionTypes \
     {bits}) and the requested list is {requested}; widen --enctypes/`enctypes` or fix the account"
)]
pub struct EmptySelection {
    pub supported: String,
    pub bits: String,
    pub requested: String,
}

/// Chooses the enctypes to write keys for, in [`PREFERENCE`] order.
///
/// * AES256 and AES128 always ([`ALWAYS`]).
/// * RC4 when `supported` (the account's `msDS-SupportedEncryptionTypes`) has bit 0x4, or is
///   absent or 0: the KDC then issues RC4 service tickets (Windows' and Samba's default domain
///   enctypes), so acceptors need that key.
/// * DES only when `requested` lists it, and the bits allow it (0x1/0x2, or absent/0).
/// * `requested`, an explicit list, narrows all of the above.
pub fn select(
    supported: Option<u32>,
    requested: Option<&[Enctype]>,
) -> Result<Vec<Enctype>, EmptySelection> {
    let bits = supported.filter(|b| *b != 0);
    let account_allows = |e: Enctype| {
        ALWAYS.contains(&e)
            || match bits {
                Some(b) => b & e.supported_bit() != 0,
                None => true,
            }
    };
    let chosen: Vec<Enctype> = PREFERENCE
        .into_iter()
        .filter(|e| account_allows(*e))
        .filter(|e| match requested {
            Some(list) => list.contains(e),
            None => !e.is_des(),
        })
        .collect();
    if chosen.is_empty() {
        let names = |it: &mut dyn Iterator<Item = Enctype>| {
            let v: Vec<&str> = it.map(|e| e.name()).collect();
            if v.is_empty() {
                "nothing".to_string()
            } else {
                v.join(",")
            }
        };
        return Err(EmptySelection {
            supported: names(&mut PREFERENCE.into_iter().filter(|e| account_allows(*e))),
            bits: match supported {
                Some(b) => format!("{b:#x}"),
                None => "absent".into(),
            },
            requested: match requested {
                Some(list) => names(&mut list.iter().copied()),
                None => "the default".into(),
            },
        });
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Enctype::*;

    const AES: [Enctype; 2] = [Aes256CtsHmacSha196, Aes128CtsHmacSha196];
    const AES_RC4: [Enctype; 3] = [Aes256CtsHmacSha196, Aes128CtsHmacSha196, Rc4Hmac];

    #[test]
    fn absent_or_zero_gives_aes_and_rc4() {
        assert_eq!(select(None, None).unwrap(), AES_RC4);
        assert_eq!(select(Some(0), None).unwrap(), AES_RC4);
    }

    #[test]
    fn aes_always_rc4_only_when_allowed() {
        // RC4 only (0x4): the KDC still pre-authenticates the account with AES.
        assert_eq!(select(Some(0x4), None).unwrap(), AES_RC4);
        assert_eq!(select(Some(0x18), None).unwrap(), AES);
        assert_eq!(select(Some(0x1c), None).unwrap(), AES_RC4);
        assert_eq!(select(Some(0x8), None).unwrap(), AES);
        assert_eq!(select(Some(0x10), None).unwrap(), AES);
        // DES bits alone add no DES unless asked for.
        assert_eq!(select(Some(0x3), None).unwrap(), AES);
    }

    #[test]
    fn only_low_five_bits_map_and_others_are_ignored() {
        // 0x20 (AES-SK), FAST, compound identity, claims, and unknown high bits carry no key.
        assert_eq!(
            select(
                Some(0x18 | 0x20 | 0x10000 | 0x20000 | 0x80000 | 0x8000_0000),
                None
            )
            .unwrap(),
            AES
        );
        assert_eq!(select(Some(0x4 | 0x20), None).unwrap(), AES_RC4);
        // Only policy bits: no RC4, AES as always.
        assert_eq!(select(Some(0x20), None).unwrap(), AES);
    }

    #[test]
    fn des_only_when_explicitly_requested() {
        assert_eq!(select(Some(0x1f), None).unwrap().len(), 3);
        let req = [DesCbcMd5, Aes256CtsHmacSha196];
        assert_eq!(
            select(Some(0x1f), Some(&req)).unwrap(),
            vec![Aes256CtsHmacSha196, DesCbcMd5]
        );
        assert_eq!(select(None, Some(&[DesCbcCrc])).unwrap(), vec![DesCbcCrc]);
        // The account's bits exclude DES: an explicit request cannot add it.
        assert_eq!(
            select(Some(0x18), Some(&req)).unwrap(),
            vec![Aes256CtsHmacSha196]
        );
        assert!(select(Some(0x18), Some(&[DesCbcMd5])).is_err());
    }

    #[test]
    fn explicit_list_narrows() {
        assert_eq!(select(None, Some(&[Rc4Hmac])).unwrap(), vec![Rc4Hmac]);
        assert_eq!(
            select(Some(0x4), Some(&[Aes256CtsHmacSha196])).unwrap(),
            vec![Aes256CtsHmacSha196]
        );
        let e = select(Some(0x18), Some(&[Rc4Hmac])).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("0x18") && m.contains("aes256-cts-hmac-sha1-96"),
            "{m}"
        );
    }

    #[test]
    fn names_parse_and_round_trip() {
        for e in PREFERENCE {
            assert_eq!(e.name().parse::<Enctype>().unwrap(), e);
            assert_eq!(Enctype::from_number(e.number()), Some(e));
        }
        assert_eq!("AES256".parse::<Enctype>().unwrap(), Aes256CtsHmacSha196);
        assert_eq!("arcfour-hmac".parse::<Enctype>().unwrap(), Rc4Hmac);
        assert!("aes512".parse::<Enctype>().is_err());
        assert_eq!(enctype_name(20), "aes256-cts-hmac-sha384-192");
        assert_eq!(enctype_name(99), "enctype-99");
    }
}
