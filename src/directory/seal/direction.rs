//! One direction of the seal guard's relay as a state machine: the bytes of one read in, the
//! bytes that may go on and the verdict that closes the link out. Pure: no socket, no clock;
//! `guard` moves the bytes and shares the verdict.

use super::token::{MAX_FROM_SERVER, MAX_TO_SERVER, check_wrap_token, split_frame};

/// The state of one direction: which way it goes, and the start of a SASL buffer whose end has
/// not been read yet.
pub(crate) struct Direction {
    from_server: bool,
    max: usize,
    pending: Vec<u8>,
}

/// What to do after one read.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Step {
    /// The bytes to pass on now: before arming, all of them; after, the whole buffers whose
    /// token is sealed, up to the first one that is not.
    pub forward: Vec<u8>,
    /// Sealed buffers in `forward`.
    pub sealed: u64,
    /// Why the link must close, once `forward` is passed on.
    pub violation: Option<String>,
}

impl Direction {
    /// `from_server`: the DC's replies (larger buffers allowed, tokens from the acceptor).
    pub(crate) fn new(from_server: bool) -> Direction {
        Direction {
            from_server,
            max: if from_server {
                MAX_FROM_SERVER
            } else {
                MAX_TO_SERVER
            },
            pending: Vec::new(),
        }
    }

    fn side(&self) -> &'static str {
        if self.from_server {
            "from the DC"
        } else {
            "to the DC"
        }
    }

    /// Takes the bytes of one read. Until `armed` (the bind succeeded) they pass untouched;
    /// after it, only whole SASL buffers with a sealed token do, and the first buffer that is
    /// not one is the verdict.
    pub(crate) fn read(&mut self, data: &[u8], armed: bool) -> Step {
        if !armed {
            return Step {
                forward: data.to_vec(),
                ..Step::default()
            };
        }
        self.pending.extend_from_slice(data);
        let mut step = Step::default();
        let mut used = 0;
        loop {
            let rest = &self.pending[used..];
            match split_frame(rest, self.max) {
                Ok(None) => break,
                Ok(Some(len)) => {
                    if let Err(why) = check_wrap_token(&rest[4..len], self.from_server) {
                        step.violation = Some(format!("{}: {why}", self.side()));
                        break;
                    }
                    step.forward.extend_from_slice(&rest[..len]);
                    step.sealed += 1;
                    used += len;
                }
                Err(why) => {
                    step.violation = Some(format!("{}: {why}", self.side()));
                    break;
                }
            }
        }
        self.pending.drain(..used);
        step
    }
}

#[cfg(test)]
mod tests {
    use super::super::token::tests::cfx;
    use super::*;

    fn sasl(token: &[u8]) -> Vec<u8> {
        let mut frame = (token.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(token);
        frame
    }

    #[test]
    fn forwards_until_armed_then_only_whole_sealed_buffers() {
        let mut up = Direction::new(false);
        assert_eq!(up.read(b"plain bind", false).forward, b"plain bind");

        let mut down = Direction::new(true);
        let frame = sasl(&cfx(0x03));
        // A buffer in two reads: nothing until its end, then all of it.
        assert_eq!(down.read(&frame[..7], true), Step::default());
        let step = down.read(&frame[7..], true);
        assert_eq!(
            (step.forward, step.sealed, step.violation),
            (frame.clone(), 1, None)
        );

        // Two buffers and the start of a third in one read.
        let mut two = [frame.clone(), frame.clone(), frame[..3].to_vec()].concat();
        let step = down.read(&two, true);
        assert_eq!((step.forward.len(), step.sealed), (2 * frame.len(), 2));
        two = frame[3..].to_vec();
        assert_eq!(down.read(&two, true).sealed, 1);

        // A sealed buffer, then an integrity-only one: the first passes, the second is the
        // verdict, and nothing of it goes on.
        let bad = [frame.clone(), sasl(&cfx(0x01))].concat();
        let step = down.read(&bad, true);
        assert_eq!((step.forward, step.sealed), (frame, 1));
        let why = step.violation.unwrap();
        assert!(
            why.starts_with("from the DC: ") && why.contains("not sealed"),
            "{why}"
        );

        // Plain LDAP after the bind.
        let why = up
            .read(&[0x30, 0x84, 0, 0, 0, 0x25], true)
            .violation
            .unwrap();
        assert!(why.starts_with("to the DC: "), "{why}");
    }
}
