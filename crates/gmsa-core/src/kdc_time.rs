//! The KDC's clock, as it states it in a KRB-ERROR (RFC 4120 §5.9.1: `stime`, required in
//! every error). An AD KDC answers the first AS-REQ of every login with such an error
//! (pre-authentication required), so each login learns the offset between this host's clock
//! and the KDC's before anything can fail on it. Pure: parsing and arithmetic, no clock read.

use crate::krbmsg::der::{self, Reader};

/// Largest offset Kerberos tolerates by default (AD's MaxClockSkew, MIT's `clockskew`): past
/// it, services on this host reject tickets, and a failure of the login is the clock's fault.
pub const MAX_SKEW_SECS: i64 = 300;

/// What a KRB-ERROR says about the KDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdcError {
    /// The KDC's time, seconds since the epoch.
    pub stime: i64,
    /// The RFC 4120 error code (e.g. 25 pre-authentication required, 37 clock skew).
    pub error_code: i32,
}

/// Parses a KDC reply that is a KRB-ERROR (`[APPLICATION 30]`); anything else (an AS-REP, a
/// TGS-REP, garbage) gives `None`. Never panics on any input. Reads with the DER reader of
/// [`crate::krbmsg`], the same one the salt probe and the ticket check use.
pub fn parse_krb_error(reply: &[u8]) -> Option<KdcError> {
    let mut seq = Reader::new(reply)
        .expect(der::app(30))
        .ok()?
        .expect(der::SEQUENCE)
        .ok()?;
    let (mut stime, mut error_code, mut msg_type) = (None, None, None);
    while !seq.is_empty() {
        let (tag, mut field) = seq.any().ok()?;
        // Each field holds exactly one element.
        let value = |f: &mut Reader<'_>| f.integer().ok().filter(|_| f.is_empty());
        match tag {
            t if t == der::ctx(1) => msg_type = value(&mut field),
            t if t == der::ctx(4) => stime = generalized_time(&mut field),
            t if t == der::ctx(6) => error_code = value(&mut field),
            _ => {}
        }
    }
    if msg_type != Some(30) {
        return None;
    }
    Some(KdcError {
        stime: stime?,
        error_code: i32::try_from(error_code?).ok()?,
    })
}

/// `[n] KerberosTime` content: GeneralizedTime `YYYYMMDDHHMMSSZ`, UTC.
fn generalized_time(field: &mut Reader<'_>) -> Option<i64> {
    let t = field.expect(der::GENERALIZED_TIME).ok()?.rest();
    if !field.is_empty() || t.len() != 15 || t[14] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = std::str::from_utf8(t.get(range)?).ok()?;
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(8..10)?, num(10..12)?, num(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // mo and d are within 1..=12 and 1..=31 here.
    Some(crate::timefmt::days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + s)
}

/// This host's clock minus the KDC's, in seconds, from the KDC's `stime` and this host's
/// clock `local_now` when the reply arrived. Positive: this host is ahead.
pub fn offset(stime: i64, local_now: i64) -> i64 {
    local_now - stime
}

/// The offset for people: `11 h 0 min 3 s ahead of`, `4 min 10 s behind`, `in step with`.
pub fn describe_offset(offset: i64) -> String {
    if offset == 0 {
        return "in step with".to_string();
    }
    let a = offset.unsigned_abs();
    let (d, h, m, s) = (a / 86_400, a % 86_400 / 3600, a % 3600 / 60, a % 60);
    let amount = if d > 0 {
        format!("{d} d {h} h {m} min")
    } else if h > 0 {
        format!("{h} h {m} min {s} s")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    };
    let side = if offset > 0 { "ahead of" } else { "behind" };
    format!("{amount} {side}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A KRB-ERROR as Samba sends it for "pre-authentication required" (fields 0-6, 9, 10
    /// and e-data), with the given stime text and error code.
    fn krb_error(stime: &[u8; 15], code: u8) -> Vec<u8> {
        let ctx = |n: u8, inner: Vec<u8>| {
            let mut v = vec![0xa0 + n, inner.len() as u8];
            v.extend(inner);
            v
        };
        let int = |v: u8| vec![0x02, 0x01, v];
        let time = |t: &[u8]| {
            let mut v = vec![0x18, 15];
            v.extend_from_slice(t);
            v
        };
        let gs = |s: &[u8]| {
            let mut v = vec![0x1b, s.len() as u8];
            v.extend_from_slice(s);
            v
        };
        let mut fields = Vec::new();
        fields.extend(ctx(0, int(5)));
        fields.extend(ctx(1, int(30)));
        fields.extend(ctx(4, time(stime)));
        fields.extend(ctx(5, vec![0x02, 0x03, 0x01, 0x86, 0x9f]));
        fields.extend(ctx(6, int(code)));
        fields.extend(ctx(9, gs(b"EXAMPLE.TEST")));
        fields.extend(ctx(10, vec![0x30, 0x00]));
        // A long-form length: e-data of 200 bytes.
        let mut edata = vec![0xac, 0x81, 203, 0x04, 0x81, 200];
        edata.extend([0u8; 200]);
        fields.extend(edata);
        let mut seq = vec![0x30, 0x82];
        seq.extend((fields.len() as u16).to_be_bytes());
        seq.extend(fields);
        let mut out = vec![0x7e, 0x82];
        out.extend((seq.len() as u16).to_be_bytes());
        out.extend(seq);
        out
    }

    #[test]
    fn reads_stime_and_code_of_a_krb_error() {
        let e = parse_krb_error(&krb_error(b"20261129123456Z", 25)).unwrap();
        assert_eq!(e.error_code, 25);
        assert_eq!(crate::timefmt::rfc3339(e.stime), "2026-11-29T12:34:56Z");
        let e = parse_krb_error(&krb_error(b"20000229000000Z", 37)).unwrap();
        assert_eq!(e.stime, 951_782_400);
        assert_eq!(e.error_code, 37);
    }

    #[test]
    fn reads_a_real_samba_reply() {
        // Samba 4.22's answer to an AS-REQ without pre-authentication (lab capture).
        let reply = include_bytes!("../../../fuzz/seeds/krb_error/samba_preauth_required");
        let e = parse_krb_error(reply).unwrap();
        assert_eq!(e.error_code, 25);
        assert_eq!(crate::timefmt::rfc3339(e.stime), "2026-11-29T13:12:11Z");
    }

    #[test]
    fn anything_else_is_none() {
        let good = krb_error(b"20261129123456Z", 25);
        // An AS-REP is [APPLICATION 11].
        let mut rep = good.clone();
        rep[0] = 0x6b;
        assert_eq!(parse_krb_error(&rep), None);
        for bad_time in [b"2026112912345xZ", b"20261329123456Z", b"20261129123456+"] {
            assert_eq!(parse_krb_error(&krb_error(bad_time, 25)), None);
        }
        // Every truncation and a few corruptions: no panic, and no result from a torn reply.
        for n in 0..good.len() {
            assert_eq!(parse_krb_error(&good[..n]), None, "{n}");
        }
        for i in 0..good.len() {
            let mut v = good.clone();
            v[i] ^= 0xff;
            let _ = parse_krb_error(&v);
        }
        assert_eq!(parse_krb_error(&[]), None);
        assert_eq!(parse_krb_error(&[0x7e, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn offsets_read_as_ahead_or_behind() {
        assert_eq!(offset(1000, 40_603), 39_603);
        assert_eq!(describe_offset(39_603), "11 h 0 min 3 s ahead of");
        assert_eq!(describe_offset(-250), "4 min 10 s behind");
        assert_eq!(describe_offset(-7), "7 s behind");
        assert_eq!(describe_offset(0), "in step with");
        assert_eq!(
            describe_offset(3 * 86_400 + 7200 + 60),
            "3 d 2 h 1 min ahead of"
        );
        assert!(describe_offset(i64::MIN).ends_with("behind"));
    }
}
