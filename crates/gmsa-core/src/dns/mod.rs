//! DNS for one job, finding the domain controllers: an SRV query and its answer (RFC 1035,
//! RFC 2782, RFC 6891), here; which names to ask and in which order to try the answers
//! ([`srv`]); the resolver settings of `/etc/resolv.conf` ([`resolv_conf`]). Pure: bytes and
//! text in, records out; the daemon's `directory::discover::resolver` does the asking. The
//! answer is outside input, so parsing never panics, bounds every index and follows compression
//! pointers only backwards, a bounded number of times (fuzz target `dns`).

pub mod resolv_conf;
pub mod srv;

pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_OPT: u16 = 41;
pub const CLASS_IN: u16 = 1;
pub const RCODE_NXDOMAIN: u8 = 3;
/// EDNS0 UDP payload size we advertise (the DNS flag day 2020 value: no IP fragmentation).
pub const EDNS_UDP_SIZE: u16 = 1232;

const HEADER_LEN: usize = 12;
const MAX_NAME_LEN: usize = 255;
const MAX_POINTER_HOPS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("name {0:?} is not a valid DNS name")]
    BadQueryName(String),
    #[error("answer is too short")]
    Short,
    #[error("answer id {got:#06x} does not match the query id {want:#06x}")]
    IdMismatch { got: u16, want: u16 },
    #[error("message is not an answer to a standard query")]
    NotAnswer,
    #[error("answer is for another question")]
    WrongQuestion,
    #[error("malformed name at offset {0}")]
    BadName(usize),
    #[error("record at offset {0} runs past the end of the message")]
    Truncated(usize),
    #[error("malformed SRV record at offset {0}")]
    BadSrv(usize),
}

/// One SRV record (RFC 2782). `target` has no trailing dot; "." (no service) is `""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rcode: u8,
    /// TC bit: the answer did not fit, ask again over TCP.
    pub truncated: bool,
    pub records: Vec<SrvRecord>,
}

/// An error rcode as the operator reads it.
pub fn rcode_text(rcode: u8) -> String {
    match rcode {
        2 => "server failure (SERVFAIL)".into(),
        4 => "not implemented (NOTIMP)".into(),
        5 => "refused (REFUSED)".into(),
        n => format!("error code {n}"),
    }
}

/// A recursive SRV query for `qname` with an EDNS0 OPT record.
pub fn build_query(id: u16, qname: &str) -> Result<Vec<u8>, DnsError> {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    msg.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    msg.extend_from_slice(&0u16.to_be_bytes()); // ANCOUNT
    msg.extend_from_slice(&0u16.to_be_bytes()); // NSCOUNT
    msg.extend_from_slice(&1u16.to_be_bytes()); // ARCOUNT: OPT
    encode_name(qname, &mut msg)?;
    msg.extend_from_slice(&TYPE_SRV.to_be_bytes());
    msg.extend_from_slice(&CLASS_IN.to_be_bytes());
    // OPT pseudo-record: root owner, CLASS = UDP payload size, TTL = 0 (no DO bit), no options.
    msg.push(0);
    msg.extend_from_slice(&TYPE_OPT.to_be_bytes());
    msg.extend_from_slice(&EDNS_UDP_SIZE.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    msg.extend_from_slice(&0u16.to_be_bytes());
    Ok(msg)
}

fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), DnsError> {
    let bad = || DnsError::BadQueryName(name.to_string());
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() || trimmed.len() + 2 > MAX_NAME_LEN {
        return Err(bad());
    }
    for label in trimmed.split('.') {
        if label.is_empty() || label.len() > 63 || !label.bytes().all(is_name_byte) {
            return Err(bad());
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// Bytes accepted in a label: host-name characters plus '_' (service labels). Anything else
/// (dots inside labels, spaces, controls, non-ASCII) is refused, since these names end up in
/// Kerberos principals and URLs.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn be16(msg: &[u8], pos: usize) -> Option<u16> {
    let b = msg.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Reads a possibly compressed name at `pos`. Returns the dotted name (no trailing dot, "" for
/// the root) and the offset just after the name as written at `pos`.
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let mut name = String::new();
    let mut pos = start;
    let mut end: Option<usize> = None;
    let mut hops = 0;
    let mut wire_len = 1; // the final root label
    loop {
        let len = *msg.get(pos).ok_or(DnsError::BadName(start))? as usize;
        match len & 0xC0 {
            0x00 => {
                if len == 0 {
                    return Ok((name, end.unwrap_or(pos + 1)));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(DnsError::BadName(start))?;
                wire_len += len + 1;
                if wire_len > MAX_NAME_LEN || !label.iter().all(|&b| is_name_byte(b)) {
                    return Err(DnsError::BadName(start));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                // is_name_byte admits ASCII only, so this is lossless.
                name.extend(label.iter().map(|&b| b as char));
                pos += 1 + len;
            }
            0xC0 => {
                let target = (be16(msg, pos).ok_or(DnsError::BadName(start))? & 0x3FFF) as usize;
                // Only backwards: a pointer to itself or ahead could loop.
                if target >= pos || hops >= MAX_POINTER_HOPS {
                    return Err(DnsError::BadName(start));
                }
                hops += 1;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                pos = target;
            }
            _ => return Err(DnsError::BadName(start)), // 0x40/0x80: extended label types
        }
    }
}

/// Parses an answer to [`build_query`]`(id, qname)`: checks it answers that question and returns
/// the SRV records for `qname` (following CNAMEs in the answer section).
pub fn parse_answer(msg: &[u8], id: u16, qname: &str) -> Result<Answer, DnsError> {
    if msg.len() < HEADER_LEN {
        return Err(DnsError::Short);
    }
    let got = be16(msg, 0).ok_or(DnsError::Short)?;
    if got != id {
        return Err(DnsError::IdMismatch { got, want: id });
    }
    let flags = be16(msg, 2).ok_or(DnsError::Short)?;
    let is_response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xF;
    if !is_response || opcode != 0 {
        return Err(DnsError::NotAnswer);
    }
    let truncated = flags & 0x0200 != 0;
    let rcode = (flags & 0x000F) as u8;
    let qdcount = be16(msg, 4).ok_or(DnsError::Short)?;
    let ancount = be16(msg, 6).ok_or(DnsError::Short)?;

    let want = qname.strip_suffix('.').unwrap_or(qname);
    if qdcount != 1 {
        return Err(DnsError::WrongQuestion);
    }
    let (question, pos) = read_name(msg, HEADER_LEN)?;
    let qtype = be16(msg, pos).ok_or(DnsError::Truncated(pos))?;
    let qclass = be16(msg, pos + 2).ok_or(DnsError::Truncated(pos))?;
    if !question.eq_ignore_ascii_case(want) || qtype != TYPE_SRV || qclass != CLASS_IN {
        return Err(DnsError::WrongQuestion);
    }
    let mut pos = pos + 4;

    let mut answer = Answer {
        rcode,
        truncated,
        records: Vec::new(),
    };
    if truncated || rcode != 0 {
        return Ok(answer);
    }

    // Names that stand for the question: the name itself and any CNAME target reached from it.
    let mut aliases: Vec<String> = vec![want.to_ascii_lowercase()];
    for _ in 0..ancount {
        let rr_start = pos;
        let (owner, after) = read_name(msg, pos)?;
        let rtype = be16(msg, after).ok_or(DnsError::Truncated(rr_start))?;
        let rclass = be16(msg, after + 2).ok_or(DnsError::Truncated(rr_start))?;
        let rdlen = be16(msg, after + 8).ok_or(DnsError::Truncated(rr_start))? as usize;
        let rdata = after + 10;
        let rdata_end = rdata + rdlen;
        if rdata_end > msg.len() {
            return Err(DnsError::Truncated(rr_start));
        }
        pos = rdata_end;
        if rclass != CLASS_IN || !aliases.contains(&owner.to_ascii_lowercase()) {
            continue;
        }
        match rtype {
            TYPE_CNAME => {
                let (target, target_end) = read_name(msg, rdata)?;
                if target_end != rdata_end {
                    return Err(DnsError::BadName(rdata));
                }
                let target = target.to_ascii_lowercase();
                if !aliases.contains(&target) && aliases.len() < 16 {
                    aliases.push(target);
                }
            }
            TYPE_SRV => {
                if rdlen < 7 {
                    return Err(DnsError::BadSrv(rr_start));
                }
                let field = |off: usize| be16(msg, rdata + off).ok_or(DnsError::BadSrv(rr_start));
                let (priority, weight, port) = (field(0)?, field(2)?, field(4)?);
                let (target, target_end) = read_name(msg, rdata + 6)?;
                if target_end != rdata_end {
                    return Err(DnsError::BadSrv(rr_start));
                }
                answer.records.push(SrvRecord {
                    priority,
                    weight,
                    port,
                    target,
                });
            }
            _ => {}
        }
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "_ldap._tcp.dc._msdcs.example.test";

    /// An answer to `build_query(id, Q)` with the given answer records appended.
    fn answer_with(id: u16, flags: u16, ancount: u16, records: &[u8]) -> Vec<u8> {
        let mut m = build_query(id, Q).unwrap();
        m[2..4].copy_from_slice(&flags.to_be_bytes());
        m[6..8].copy_from_slice(&ancount.to_be_bytes());
        m[10..12].copy_from_slice(&0u16.to_be_bytes());
        // drop the OPT record we sent: 11 bytes at the end
        m.truncate(m.len() - 11);
        m.extend_from_slice(records);
        m
    }

    fn srv_rr(owner: &[u8], prio: u16, weight: u16, port: u16, target: &[u8]) -> Vec<u8> {
        let mut r = owner.to_vec();
        r.extend_from_slice(&TYPE_SRV.to_be_bytes());
        r.extend_from_slice(&CLASS_IN.to_be_bytes());
        r.extend_from_slice(&600u32.to_be_bytes());
        r.extend_from_slice(&((6 + target.len()) as u16).to_be_bytes());
        r.extend_from_slice(&prio.to_be_bytes());
        r.extend_from_slice(&weight.to_be_bytes());
        r.extend_from_slice(&port.to_be_bytes());
        r.extend_from_slice(target);
        r
    }

    const QNAME_PTR: [u8; 2] = [0xC0, 12];

    #[test]
    fn query_layout() {
        let q = build_query(0xBEEF, Q).unwrap();
        assert_eq!(&q[..12], &[0xBE, 0xEF, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&q[12..18], b"\x05_ldap");
        let tail = &q[q.len() - 15..];
        assert_eq!(&tail[..4], &[0, 33, 0, 1]);
        assert_eq!(&tail[4..], &[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]);
        assert!(build_query(1, "bad name.test").is_err());
        assert!(build_query(1, "a..b").is_err());
        assert!(build_query(1, "").is_err());
        assert!(build_query(1, &"a".repeat(64)).is_err());
    }

    #[test]
    fn parses_compressed_srv_records() {
        let mut recs = srv_rr(&QNAME_PTR, 0, 100, 389, b"\x03dc1\x07example\x04test\x00");
        // second target compresses "example.test" against the first target
        let first_target_example = 12 + Q.len() + 2 + 4 + 2 + 10 + 6 + 4;
        let mut t2 = b"\x03dc2".to_vec();
        t2.extend_from_slice(&[0xC0, first_target_example as u8]);
        recs.extend(srv_rr(&QNAME_PTR, 10, 0, 3268, &t2));
        let msg = answer_with(7, 0x8180, 2, &recs);
        let a = parse_answer(&msg, 7, Q).unwrap();
        assert_eq!(a.rcode, 0);
        assert_eq!(
            a.records,
            vec![
                SrvRecord {
                    priority: 0,
                    weight: 100,
                    port: 389,
                    target: "dc1.example.test".into()
                },
                SrvRecord {
                    priority: 10,
                    weight: 0,
                    port: 3268,
                    target: "dc2.example.test".into()
                },
            ]
        );
    }

    #[test]
    fn refuses_foreign_answers() {
        let msg = answer_with(7, 0x8180, 0, &[]);
        assert_eq!(
            parse_answer(&msg, 8, Q),
            Err(DnsError::IdMismatch { got: 7, want: 8 })
        );
        assert_eq!(
            parse_answer(&msg, 7, "_ldap._tcp.other.test"),
            Err(DnsError::WrongQuestion)
        );
        let query = build_query(7, Q).unwrap();
        assert_eq!(parse_answer(&query, 7, Q), Err(DnsError::NotAnswer));
        // case-insensitive question echo (0x20 bit randomisation by resolvers)
        let mut upper = msg.clone();
        upper[13] = b'_';
        upper[14] = b'L';
        assert!(parse_answer(&upper, 7, Q).is_ok());
    }

    #[test]
    fn nxdomain_and_truncation_are_reported() {
        let a = parse_answer(&answer_with(1, 0x8183, 0, &[]), 1, Q).unwrap();
        assert_eq!(a.rcode, RCODE_NXDOMAIN);
        let a = parse_answer(&answer_with(1, 0x8380, 0, &[]), 1, Q).unwrap();
        assert!(a.truncated);
    }

    #[test]
    fn other_owners_are_ignored_and_cnames_followed() {
        let mut recs = srv_rr(b"\x05other\x04test\x00", 0, 0, 389, b"\x04evil\x04test\x00");
        // CNAME qname -> alias.test, then SRV under alias.test
        let mut cname = QNAME_PTR.to_vec();
        cname.extend_from_slice(&TYPE_CNAME.to_be_bytes());
        cname.extend_from_slice(&CLASS_IN.to_be_bytes());
        cname.extend_from_slice(&60u32.to_be_bytes());
        cname.extend_from_slice(&12u16.to_be_bytes());
        cname.extend_from_slice(b"\x05alias\x04test\x00");
        recs.extend(cname);
        recs.extend(srv_rr(
            b"\x05ALIAS\x04test\x00",
            0,
            0,
            389,
            b"\x03dc3\x04test\x00",
        ));
        let a = parse_answer(&answer_with(1, 0x8180, 3, &recs), 1, Q).unwrap();
        assert_eq!(a.records.len(), 1);
        assert_eq!(a.records[0].target, "dc3.test");
    }

    #[test]
    fn pointer_loops_and_overruns_fail_cleanly() {
        // SRV whose target points at itself
        let mut recs = srv_rr(&QNAME_PTR, 0, 0, 389, &[0xC0, 0]);
        let n = recs.len();
        let self_off = (12 + Q.len() + 2 + 4 + n - 2) as u8;
        recs[n - 1] = self_off;
        let msg = answer_with(1, 0x8180, 1, &recs);
        assert!(matches!(
            parse_answer(&msg, 1, Q),
            Err(DnsError::BadName(_))
        ));
        // rdlength past the end
        let mut recs = srv_rr(&QNAME_PTR, 0, 0, 389, b"\x02dc\x00");
        let n = recs.len();
        recs.truncate(n - 2);
        let msg = answer_with(1, 0x8180, 1, &recs);
        assert!(matches!(
            parse_answer(&msg, 1, Q),
            Err(DnsError::Truncated(_))
        ));
        // more answers announced than present
        let msg = answer_with(1, 0x8180, 5, &[]);
        assert!(parse_answer(&msg, 1, Q).is_err());
        // every prefix of a valid answer fails or parses without panicking
        let good = answer_with(1, 0x8180, 1, &srv_rr(&QNAME_PTR, 0, 0, 389, b"\x02dc\x00"));
        for cut in 0..good.len() {
            let _ = parse_answer(&good[..cut], 1, Q);
        }
    }

    #[test]
    fn odd_characters_in_targets_are_refused() {
        let recs = srv_rr(&QNAME_PTR, 0, 0, 389, b"\x04d/c1\x04test\x00");
        assert!(parse_answer(&answer_with(1, 0x8180, 1, &recs), 1, Q).is_err());
        let recs = srv_rr(&QNAME_PTR, 0, 0, 389, b"\x00");
        let a = parse_answer(&answer_with(1, 0x8180, 1, &recs), 1, Q).unwrap();
        assert_eq!(a.records[0].target, "");
    }
}
