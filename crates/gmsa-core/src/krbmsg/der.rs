//! The slice of DER that Kerberos messages need: definite lengths, single-byte tags, nested
//! reads that never leave their element. Every read is bounded by the input; nothing panics.

/// Why bytes are not the message we expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("truncated at byte {0}")]
    Truncated(usize),
    #[error("unexpected tag {found:#04x} at byte {at} (expected {expected:#04x})")]
    Tag { expected: u8, found: u8, at: usize },
    #[error("unsupported length form at byte {0}")]
    Length(usize),
    #[error("{0}")]
    Invalid(&'static str),
}

pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const SEQUENCE: u8 = 0x30;
pub const GENERAL_STRING: u8 = 0x1b;
pub const GENERALIZED_TIME: u8 = 0x18;

/// `[n]` EXPLICIT, constructed context tag.
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// `[APPLICATION n]`, constructed.
pub const fn app(n: u8) -> u8 {
    0x60 | n
}

/// A cursor over one element's contents. `base` is the offset of `data` in the whole message,
/// for error positions.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            base: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    /// The next element's tag, without consuming it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// The next element: its tag and a reader over its contents.
    pub fn any(&mut self) -> Result<(u8, Reader<'a>), DerError> {
        let start = self.at();
        let tag = *self.data.get(self.pos).ok_or(DerError::Truncated(start))?;
        // High tag numbers (0x1f) never occur in the messages read here.
        if tag & 0x1f == 0x1f {
            return Err(DerError::Invalid("multi-byte tag"));
        }
        let mut p = self.pos + 1;
        let first = *self.data.get(p).ok_or(DerError::Truncated(self.base + p))?;
        p += 1;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            // 0x80 is BER's indefinite form; more than 4 length bytes is more than we accept.
            if n == 0 || n > 4 {
                return Err(DerError::Length(self.base + p - 1));
            }
            let bytes = self
                .data
                .get(p..p + n)
                .ok_or(DerError::Truncated(self.base + p))?;
            p += n;
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize)
        };
        let end = p
            .checked_add(len)
            .filter(|e| *e <= self.data.len())
            .ok_or(DerError::Truncated(self.base + p))?;
        let inner = Reader {
            data: &self.data[p..end],
            pos: 0,
            base: self.base + p,
        };
        self.pos = end;
        Ok((tag, inner))
    }

    /// The next element, which must have tag `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Reader<'a>, DerError> {
        let at = self.at();
        let (found, inner) = self.any()?;
        if found != tag {
            return Err(DerError::Tag {
                expected: tag,
                found,
                at,
            });
        }
        Ok(inner)
    }

    /// If the next element has tag `tag`, reads it.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Reader<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Skips elements until one with context tag `[n]` (tags of a SEQUENCE ascend, so a later
    /// field is never before an earlier one; unknown extensions are skipped), and reads it.
    pub fn field(&mut self, n: u8) -> Result<Option<Reader<'a>>, DerError> {
        while let Some(tag) = self.peek_tag() {
            if tag == ctx(n) {
                return self.expect(tag).map(Some);
            }
            if tag & 0xe0 == 0xa0 && tag & 0x1f > n {
                return Ok(None);
            }
            self.any()?;
        }
        Ok(None)
    }

    /// Like [`Reader::field`], for a field that must be present.
    pub fn required(&mut self, n: u8, what: &'static str) -> Result<Reader<'a>, DerError> {
        self.field(n)?.ok_or(DerError::Invalid(what))
    }

    /// All remaining bytes of this element.
    pub fn rest(&mut self) -> &'a [u8] {
        let r = self.data.get(self.pos..).unwrap_or(&[]);
        self.pos = self.data.len();
        r
    }

    /// An INTEGER that fits in an i64.
    pub fn integer(&mut self) -> Result<i64, DerError> {
        let bytes = self.expect(INTEGER)?.rest();
        if bytes.is_empty() || bytes.len() > 8 {
            return Err(DerError::Invalid("integer of unsupported size"));
        }
        let negative = bytes[0] & 0x80 != 0;
        let init: i64 = if negative { -1 } else { 0 };
        Ok(bytes.iter().fold(init, |acc, b| (acc << 8) | i64::from(*b)))
    }

    /// A Kerberos Int32.
    pub fn int32(&mut self) -> Result<i32, DerError> {
        i32::try_from(self.integer()?).map_err(|_| DerError::Invalid("integer out of Int32 range"))
    }

    /// A Kerberos UInt32. Some KDCs (AD RODCs, older Heimdal) encode large values as a negative
    /// Int32; those are taken modulo 2^32, as MIT does.
    pub fn uint32(&mut self) -> Result<u32, DerError> {
        let v = self.integer()?;
        if let Ok(u) = u32::try_from(v) {
            Ok(u)
        } else if let Ok(i) = i32::try_from(v) {
            Ok(i as u32)
        } else {
            Err(DerError::Invalid("integer out of UInt32 range"))
        }
    }

    pub fn octets(&mut self) -> Result<&'a [u8], DerError> {
        Ok(self.expect(OCTET_STRING)?.rest())
    }

    /// A KerberosString (GeneralString, IA5 in practice): raw bytes.
    pub fn general_string(&mut self) -> Result<&'a [u8], DerError> {
        Ok(self.expect(GENERAL_STRING)?.rest())
    }
}

/// Appends a tag-length-value.
pub fn put(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = (n as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(content.len() + 6);
    put(&mut v, tag, content);
    v
}

/// A minimal two's-complement INTEGER.
pub fn integer(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut i = 0;
    while i < 7 {
        let (b, next) = (bytes[i], bytes[i + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            i += 1;
        } else {
            break;
        }
    }
    tlv(INTEGER, &bytes[i..])
}

/// `[n] content` (content already encoded).
pub fn field(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(ctx(n), content)
}

pub fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_minimally() {
        for v in [
            0i64,
            1,
            5,
            127,
            128,
            255,
            256,
            -1,
            -128,
            -129,
            0x7fff_ffff,
            -0x8000_0000,
            4096,
        ] {
            let enc = integer(v);
            assert_eq!(Reader::new(&enc).integer().unwrap(), v, "{v}");
        }
        assert_eq!(integer(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(-128), [0x02, 0x01, 0x80]);
        assert_eq!(integer(18), [0x02, 0x01, 0x12]);
        // A negative Int32 kvno reads as the UInt32 MIT would use.
        assert_eq!(Reader::new(&integer(-2)).uint32().unwrap(), 0xffff_fffe);
    }

    #[test]
    fn long_lengths_round_trip() {
        for n in [0usize, 127, 128, 255, 256, 70_000] {
            let enc = tlv(OCTET_STRING, &vec![7u8; n]);
            assert_eq!(Reader::new(&enc).octets().unwrap().len(), n);
        }
    }

    #[test]
    fn bad_lengths_and_truncation_are_errors() {
        // Indefinite length, 5 length bytes, a length past the end, an empty input.
        for bad in [
            &[0x30, 0x80, 0, 0][..],
            &[0x04, 0x85, 0, 0, 0, 0, 1, 0],
            &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0],
            &[0x04, 0x05, 1, 2],
            &[],
            &[0x04],
            &[0x1f, 0x01, 0x00],
        ] {
            assert!(Reader::new(bad).any().is_err(), "{bad:02x?}");
        }
        assert!(Reader::new(&[0x02, 0x00]).integer().is_err());
        assert!(
            Reader::new(&[0x02, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9])
                .integer()
                .is_err()
        );
    }

    #[test]
    fn fields_skip_unknown_and_stop_at_later_tags() {
        let seq = sequence(&[
            field(0, &integer(1)),
            field(2, &integer(2)),
            field(5, &integer(3)),
        ]);
        let mut r = Reader::new(&seq);
        let mut s = r.expect(SEQUENCE).unwrap();
        assert_eq!(s.required(0, "0").unwrap().integer().unwrap(), 1);
        assert!(s.field(1).unwrap().is_none());
        assert_eq!(s.required(2, "2").unwrap().integer().unwrap(), 2);
        assert_eq!(s.required(5, "5").unwrap().integer().unwrap(), 3);
        assert!(s.field(6).unwrap().is_none());
    }
}
