//! n-fold (RFC 3961 §5.1): stretches or shrinks a constant to a cipher's block size. Here it
//! only folds the public label "kerberos", so it makes no effort to be constant-time.

/// Folds `input` to `out_len_bytes` bytes. Degenerate sizes (empty input or output) give an
/// all-zero result instead of panicking.
pub fn nfold(input: &[u8], out_len_bytes: usize) -> Vec<u8> {
    let (m, n) = (input.len(), out_len_bytes);
    let mut out = vec![0u8; n];
    if m == 0 || n == 0 {
        return out;
    }
    let total = lcm(m, n);
    let bits = m * 8;
    // Byte b of the L-byte string: copy k = b / m of X, rotated right by 13·k bits.
    let byte_at = |b: usize| {
        let rot = 13 * (b / m) % bits;
        (0..8).fold(0u8, |acc, i| {
            // Rotating right by `rot` moves source bit s to s + rot, so read from idx − rot.
            let dst = (b % m) * 8 + i;
            let src = (dst + bits - rot) % bits;
            let bit = input
                .get(src / 8)
                .map_or(0, |byte| (byte >> (7 - src % 8)) & 1);
            (acc << 1) | bit
        })
    };
    let mut chunk = vec![0u8; n];
    for start in (0..total).step_by(n) {
        for (j, c) in chunk.iter_mut().enumerate() {
            *c = byte_at(start + j);
        }
        ones_complement_add(&mut out, &chunk);
    }
    out
}

/// `acc += x` as n-byte big-endian numbers with end-around carry.
fn ones_complement_add(acc: &mut [u8], x: &[u8]) {
    let mut carry = 0u16;
    for (a, b) in acc.iter_mut().rev().zip(x.iter().rev()) {
        let sum = u16::from(*a) + u16::from(*b) + carry;
        *a = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    // Feeding the carry back in can overflow at most once more (and then leaves all zeros + 1).
    while carry != 0 {
        for a in acc.iter_mut().rev() {
            let sum = u16::from(*a) + carry;
            *a = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
    }
}

fn lcm(a: usize, b: usize) -> usize {
    let gcd = {
        let (mut x, mut y) = (a, b);
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    a / gcd * b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3961 A.1 (reference §6.4).
    #[test]
    fn rfc3961_vectors() {
        let cases: [(&[u8], usize, &str); 11] = [
            (b"012345", 64, "be072631276b1955"),
            (b"password", 56, "78a07b6caf85fa"),
            (b"Rough Consensus, and Running Code", 64, "bb6ed30870b7f0e0"),
            (
                b"password",
                168,
                "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e",
            ),
            (
                b"MASSACHVSETTS INSTITVTE OF TECHNOLOGY",
                192,
                "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b",
            ),
            (b"Q", 168, "518a54a215a8452a518a54a215a8452a518a54a215"),
            (b"ba", 168, "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"),
            (b"kerberos", 64, "6b65726265726f73"),
            (b"kerberos", 128, "6b65726265726f737b9b5b2b93132b93"),
            (
                b"kerberos",
                168,
                "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4",
            ),
            (
                b"kerberos",
                256,
                "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4",
            ),
        ];
        for (input, bits, want) in cases {
            assert_eq!(
                hex::encode(nfold(input, bits / 8)),
                want,
                "{}-fold of {:?}",
                bits,
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        assert_eq!(nfold(b"", 16), vec![0; 16]);
        assert!(nfold(b"abc", 0).is_empty());
        // Same length: the only copy is unrotated, so n-fold is the identity.
        assert_eq!(nfold(b"abcdefgh", 8), b"abcdefgh");
    }
}
