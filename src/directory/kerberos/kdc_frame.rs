//! The KDC's TCP framing (RFC 4120 §7.2.2): a 4-byte big-endian length, then the message. Pure:
//! the request is framed and the reply's length field judged here; `kdc::send` moves the bytes.

/// Largest KDC reply accepted. AD replies carry a PAC and are a few kilobytes; a ticket for an
/// account in thousands of groups stays well under this.
pub(crate) const MAX_REPLY: usize = 1 << 22;

/// `request` with its length field in front.
pub(crate) fn frame(request: &[u8]) -> Result<Vec<u8>, &'static str> {
    let length = u32::try_from(request.len())
        .ok()
        .filter(|n| n & 0x8000_0000 == 0)
        .ok_or("request too large")?;
    let mut framed = Vec::with_capacity(4 + request.len());
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(request);
    Ok(framed)
}

/// The length of the reply that follows `header`, if it is one a KDC would send.
pub(crate) fn reply_length(header: [u8; 4]) -> Result<usize, String> {
    let n = u32::from_be_bytes(header);
    // The high bit is reserved (RFC 4120 §7.2.2); a KDC that sets it speaks another dialect.
    if n & 0x8000_0000 != 0 || n as usize > MAX_REPLY || n == 0 {
        return Err(format!("not a Kerberos reply (length field {n:#010x})"));
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_frame_and_are_judged() {
        assert_eq!(frame(b"abc").unwrap(), [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(reply_length([0, 0, 1, 0]), Ok(256));
        assert_eq!(reply_length([0, 0x40, 0, 0]), Ok(MAX_REPLY));
        for bad in [[0, 0, 0, 0], [0x80, 0, 0, 5], [0, 0x40, 0, 1], *b"HTTP"] {
            assert!(reply_length(bad).is_err(), "{bad:?}");
        }
    }
}
