//! MSDS-MANAGEDPASSWORD_BLOB parser ([MS-ADTS] 2.2.19; reference §1). Pure: bytes in, passwords
//! and intervals out. Fields are located by their offsets only, because Windows blobs are not
//! padded the way the spec diagram shows; every offset is checked before use, so no input can
//! make the parser panic.

use crate::secret::SecretBytes;
use std::fmt;
use std::time::Duration;

/// Size of the fixed header: six u16 plus one u32.
pub const HEADER_LEN: usize = 16;
/// Password bytes a DC generates (128 UTF-16 code units), terminator excluded.
pub const GMSA_PASSWORD_LEN: usize = 256;
/// Both intervals are u64.
const INTERVAL_LEN: usize = 8;
/// The UTF-16 NUL that ends each password.
const TERMINATOR_LEN: usize = 2;

/// A password from the blob: the raw UTF-16LE bytes, terminator excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Password(pub SecretBytes);

impl Password {
    /// The password as UTF-16 code units (a trailing odd byte, impossible from [`parse`], is
    /// ignored). Yields units one at a time so no copy of the password is left behind.
    pub fn utf16_units(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.expose().chunks_exact(2).map(|pair| match pair {
            [lo, hi] => u16::from_le_bytes([*lo, *hi]),
            _ => 0, // chunks_exact(2) yields only pairs
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPassword {
    pub current: Password,
    pub previous: Option<Password>,
    /// Time until the current password epoch ends: fetch again before it runs out.
    pub query_interval: Duration,
    /// Time during which another query is guaranteed to return the same current password.
    pub unchanged_interval: Duration,
}

/// A blob field, for error messages; named as in [MS-ADTS] 2.2.19 so operators can look them up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobField {
    CurrentPassword,
    PreviousPassword,
    QueryPasswordInterval,
    UnchangedPasswordInterval,
}

impl fmt::Display for BlobField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlobField::CurrentPassword => "CurrentPassword",
            BlobField::PreviousPassword => "PreviousPassword",
            BlobField::QueryPasswordInterval => "QueryPasswordInterval",
            BlobField::UnchangedPasswordInterval => "UnchangedPasswordInterval",
        })
    }
}

/// Why a `msDS-ManagedPassword` value was rejected. Messages never contain password bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("blob is {len} bytes, shorter than its 16-byte header")]
    TooShort { len: usize },
    #[error("blob Version is {0}, expected 1 (unknown blob format)")]
    BadVersion(u16),
    #[error("blob Reserved field is {0:#06x}, expected 0")]
    BadReserved(u16),
    #[error(
        "blob Length field says {declared} bytes but {received} were received (value truncated?)"
    )]
    Truncated { declared: u32, received: usize },
    #[error(
        "blob Length field says {declared} bytes but {received} were received \
         (unexpected trailing bytes)"
    )]
    TrailingBytes { declared: u32, received: usize },
    #[error("blob CurrentPasswordOffset is 0: the blob carries no current password")]
    NoCurrentPassword,
    #[error("blob {field}Offset is {offset}, inside the 16-byte header")]
    OffsetInHeader { field: BlobField, offset: u16 },
    #[error("blob {field}Offset is {offset}, past the end of the {length}-byte blob")]
    OffsetPastEnd {
        field: BlobField,
        offset: u16,
        length: u32,
    },
    #[error(
        "blob {field}Offset is {offset}, but the 8-byte interval there would end past the \
         {length}-byte blob"
    )]
    IntervalPastEnd {
        field: BlobField,
        offset: u16,
        length: u32,
    },
    #[error("blob {field}Offset is {offset}, which is odd; UTF-16 passwords start on even offsets")]
    OddPasswordOffset { field: BlobField, offset: u16 },
    #[error(
        "blob {field} starting at offset {offset} has no UTF-16 NUL terminator before offset \
         {limit}, where the next field or the blob ends"
    )]
    MissingTerminator {
        field: BlobField,
        offset: u16,
        limit: usize,
    },
    #[error("blob {field} at offset {offset} is empty (terminator straight away)")]
    EmptyPassword { field: BlobField, offset: u16 },
    #[error(
        "blob fields overlap: {first} occupies bytes {first_start}..{first_end} and {second} \
         occupies bytes {second_start}..{second_end}"
    )]
    Overlap {
        first: BlobField,
        first_start: usize,
        first_end: usize,
        second: BlobField,
        second_start: usize,
        second_end: usize,
    },
    #[error(
        "blob {field} is {len} bytes; a domain controller generates exactly 256 \
         (use lenient parsing to accept other lengths)"
    )]
    WrongPasswordLength { field: BlobField, len: usize },
}

/// Parses a blob strictly: both passwords must be exactly [`GMSA_PASSWORD_LEN`] bytes, as every
/// DC produces them.
pub fn parse(bytes: &[u8]) -> Result<ManagedPassword, BlobError> {
    parse_with(bytes, Mode::Strict).map(|(blob, _)| blob)
}

/// Like [`parse`], but accepts any even, non-zero password length; each non-standard length
/// yields one warning (for test DCs and hand-made blobs).
pub fn parse_lenient(bytes: &[u8]) -> Result<(ManagedPassword, Vec<String>), BlobError> {
    parse_with(bytes, Mode::Lenient)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    Lenient,
}

/// The four offsets from the header, already checked against the blob's length.
struct Offsets {
    current: u16,
    previous: Option<u16>,
    query: u16,
    unchanged: u16,
}

fn parse_with(bytes: &[u8], mode: Mode) -> Result<(ManagedPassword, Vec<String>), BlobError> {
    let offsets = check_header(bytes)?;
    // A password may run up to where the next field (in blob order) starts, or the blob ends.
    let starts = [
        Some(offsets.current),
        offsets.previous,
        Some(offsets.query),
        Some(offsets.unchanged),
    ];
    let limit_after = |offset: u16| {
        starts
            .into_iter()
            .flatten()
            .filter(|s| *s > offset)
            .map(usize::from)
            .min()
            .unwrap_or(bytes.len())
    };

    let current = password_bytes(
        bytes,
        BlobField::CurrentPassword,
        offsets.current,
        &limit_after,
    )?;
    let previous = match offsets.previous {
        Some(off) => Some(password_bytes(
            bytes,
            BlobField::PreviousPassword,
            off,
            &limit_after,
        )?),
        None => None,
    };

    let mut extents = vec![extent(
        BlobField::CurrentPassword,
        offsets.current,
        current.len() + TERMINATOR_LEN,
    )];
    if let (Some(off), Some(pw)) = (offsets.previous, previous) {
        extents.push(extent(
            BlobField::PreviousPassword,
            off,
            pw.len() + TERMINATOR_LEN,
        ));
    }
    extents.push(extent(
        BlobField::QueryPasswordInterval,
        offsets.query,
        INTERVAL_LEN,
    ));
    extents.push(extent(
        BlobField::UnchangedPasswordInterval,
        offsets.unchanged,
        INTERVAL_LEN,
    ));
    check_no_overlap(&extents)?;

    let mut warnings = Vec::new();
    check_password_len(
        BlobField::CurrentPassword,
        current.len(),
        mode,
        &mut warnings,
    )?;
    if let Some(pw) = previous {
        check_password_len(BlobField::PreviousPassword, pw.len(), mode, &mut warnings)?;
    }

    let blob = ManagedPassword {
        current: Password(SecretBytes::from_slice(current)),
        previous: previous.map(|pw| Password(SecretBytes::from_slice(pw))),
        query_interval: interval(bytes, offsets.query),
        unchanged_interval: interval(bytes, offsets.unchanged),
    };
    Ok((blob, warnings))
}

/// Validation steps 1–4 of reference §1: header fields, Length, and each offset on its own.
fn check_header(bytes: &[u8]) -> Result<Offsets, BlobError> {
    let too_short = || BlobError::TooShort { len: bytes.len() };
    let u16_at = |at: usize| le_u16(bytes, at).ok_or_else(too_short);
    if bytes.len() < HEADER_LEN {
        return Err(too_short());
    }
    let version = u16_at(0)?;
    if version != 1 {
        return Err(BlobError::BadVersion(version));
    }
    let reserved = u16_at(2)?;
    if reserved != 0 {
        return Err(BlobError::BadReserved(reserved));
    }
    let declared = bytes
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(too_short)?;
    let received = bytes.len();
    match usize::try_from(declared) {
        Ok(d) if d == received => {}
        Ok(d) if d < received => return Err(BlobError::TrailingBytes { declared, received }),
        _ => return Err(BlobError::Truncated { declared, received }),
    }

    let current = u16_at(8)?;
    if current == 0 {
        return Err(BlobError::NoCurrentPassword);
    }
    let previous = Some(u16_at(10)?).filter(|off| *off != 0);
    let query = u16_at(12)?;
    let unchanged = u16_at(14)?;

    let in_blob = |field: BlobField, offset: u16| {
        if usize::from(offset) < HEADER_LEN {
            Err(BlobError::OffsetInHeader { field, offset })
        } else if usize::from(offset) >= received {
            Err(BlobError::OffsetPastEnd {
                field,
                offset,
                length: declared,
            })
        } else {
            Ok(())
        }
    };
    let password_field = |field: BlobField, offset: u16| {
        in_blob(field, offset)?;
        if offset % 2 != 0 {
            return Err(BlobError::OddPasswordOffset { field, offset });
        }
        Ok(())
    };
    let interval_field = |field: BlobField, offset: u16| {
        in_blob(field, offset)?;
        if usize::from(offset) + INTERVAL_LEN > received {
            return Err(BlobError::IntervalPastEnd {
                field,
                offset,
                length: declared,
            });
        }
        Ok(())
    };
    password_field(BlobField::CurrentPassword, current)?;
    if let Some(off) = previous {
        password_field(BlobField::PreviousPassword, off)?;
    }
    // Interval offsets need no 8-byte alignment: Windows puts them at 274 and 282.
    interval_field(BlobField::QueryPasswordInterval, query)?;
    interval_field(BlobField::UnchangedPasswordInterval, unchanged)?;
    Ok(Offsets {
        current,
        previous,
        query,
        unchanged,
    })
}

/// The bytes before the first 0x0000 unit at `offset`, scanning no further than the next field.
/// Using the terminator (not "next offset minus 2", as some tools do) keeps any padding out.
fn password_bytes<'a>(
    bytes: &'a [u8],
    field: BlobField,
    offset: u16,
    limit_after: &impl Fn(u16) -> usize,
) -> Result<&'a [u8], BlobError> {
    let start = usize::from(offset);
    let limit = limit_after(offset).min(bytes.len());
    let region = bytes.get(start..limit).unwrap_or_default();
    match region.chunks_exact(2).position(|unit| unit == [0, 0]) {
        Some(0) => Err(BlobError::EmptyPassword { field, offset }),
        Some(units) => Ok(region.get(..units * 2).unwrap_or_default()),
        None => Err(BlobError::MissingTerminator {
            field,
            offset,
            limit,
        }),
    }
}

struct Extent {
    field: BlobField,
    start: usize,
    end: usize,
}

fn extent(field: BlobField, offset: u16, len: usize) -> Extent {
    let start = usize::from(offset);
    Extent {
        field,
        start,
        end: start + len,
    }
}

/// The scan stops at the next field's start, so only a field that starts earlier and reaches
/// into a later one (an interval, or two fields at one offset) can overlap.
fn check_no_overlap(extents: &[Extent]) -> Result<(), BlobError> {
    for (i, a) in extents.iter().enumerate() {
        for b in extents.iter().skip(i + 1) {
            if a.start < b.end && b.start < a.end {
                let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
                return Err(BlobError::Overlap {
                    first: first.field,
                    first_start: first.start,
                    first_end: first.end,
                    second: second.field,
                    second_start: second.start,
                    second_end: second.end,
                });
            }
        }
    }
    Ok(())
}

fn check_password_len(
    field: BlobField,
    len: usize,
    mode: Mode,
    warnings: &mut Vec<String>,
) -> Result<(), BlobError> {
    if len == GMSA_PASSWORD_LEN {
        return Ok(());
    }
    match mode {
        Mode::Strict => Err(BlobError::WrongPasswordLength { field, len }),
        Mode::Lenient => {
            warnings.push(format!(
                "{field} is {len} bytes, not the {GMSA_PASSWORD_LEN} a domain controller \
                 generates; using it anyway"
            ));
            Ok(())
        }
    }
}

/// A u64 count of 100 ns units. Split into seconds and remainder so no value can overflow.
fn interval(bytes: &[u8], offset: u16) -> Duration {
    const TICKS_PER_SEC: u64 = 10_000_000;
    let ticks = le_u64(bytes, usize::from(offset)).unwrap_or(0);
    // The remainder is < 10^7 ticks, i.e. < 10^9 ns, so Duration::new cannot carry or panic.
    Duration::new(
        ticks / TICKS_PER_SEC,
        ((ticks % TICKS_PER_SEC) * 100) as u32,
    )
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

#[cfg(test)]
mod tests;
