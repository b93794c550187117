use std::io;
#[cfg(feature = "gssapi")]
use std::sync::RwLock;
#[cfg(feature = "gssapi")]
use std::sync::{Arc, Mutex};

use crate::RequestId;
use crate::controls::{Control, RawControl};
use crate::controls_impl::{build_tag, try_parse_controls};
use crate::search::SearchItem;

use lber::common::TagClass;
use lber::parse::parse_uint;
use lber::structure::{PL, StructureTag};
use lber::structures::{ASNTag, Integer, Sequence, Tag};
use lber::universal::Types;
use lber::write;

use bytes::{Buf, BytesMut};
#[cfg(feature = "gssapi")]
use cross_krb5::{ClientCtx, K5Ctx};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Decoder, Encoder};

pub(crate) struct LdapCodec {
    /// gmsa-keytab patch: plaintext unwrapped from SASL buffers and not yet decoded. One SASL
    /// buffer may hold several LDAP messages and one message may span buffers; the original
    /// `has_decoded_data` flag lost messages when a read brought several buffers at once.
    #[cfg(feature = "gssapi")]
    pub(crate) plain: BytesMut,
    #[cfg(feature = "gssapi")]
    pub(crate) sasl_param: Arc<RwLock<(bool, u32)>>, // sasl_wrap, sasl_max_send
    #[cfg(feature = "gssapi")]
    pub(crate) client_ctx: Arc<Mutex<Option<ClientCtx>>>,
}

pub(crate) type MaybeControls = Option<Vec<RawControl>>;
pub(crate) type ItemSender = mpsc::UnboundedSender<(SearchItem, Vec<Control>)>;
pub(crate) type ResultSender = oneshot::Sender<(Tag, Vec<Control>)>;

#[derive(Debug)]
pub enum MiscSender {
    #[cfg(any(feature = "tls-native", feature = "tls-rustls"))]
    Cert(oneshot::Sender<Option<Vec<u8>>>),
}

#[derive(Debug)]
pub enum LdapOp {
    Single,
    Search(ItemSender),
    Abandon(RequestId),
    Unbind,
}

/// gmsa-keytab patch: largest LDAP message accepted from the server. The messages this
/// client reads (bind responses, rootDSE, one account's attributes) are a few kilobytes; a
/// bound keeps a hostile length prefix from growing the read buffer without limit.
pub const MAX_MESSAGE: usize = 1 << 20;
/// gmsa-keytab patch: largest SASL buffer accepted (a message plus the wrap token's overhead).
pub const MAX_SASL_BUFFER: usize = MAX_MESSAGE + 64 * 1024;
/// gmsa-keytab patch: deepest nesting of constructed elements accepted. lber's parser recurses
/// once per level; LDAP responses nest fewer than 10 levels.
pub const MAX_DEPTH: usize = 32;

fn invalid(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// One BER header at `pos`: (constructed, header length, content length). `Ok(None)`: more
/// bytes needed. Only what lber parses is accepted: low tag numbers, definite lengths of at
/// most 4 bytes.
fn ber_header(buf: &[u8], pos: usize) -> Result<Option<(bool, usize, usize)>, io::Error> {
    let Some(&tag) = buf.get(pos) else {
        return Ok(None);
    };
    if tag & 0x1f == 0x1f {
        return Err(invalid("BER high tag numbers are not used by LDAP"));
    }
    let Some(&first) = buf.get(pos + 1) else {
        return Ok(None);
    };
    if first < 0x80 {
        return Ok(Some((tag & 0x20 != 0, 2, first as usize)));
    }
    let n = (first & 0x7f) as usize;
    if n == 0 {
        return Err(invalid("BER indefinite length"));
    }
    if n > 4 {
        return Err(invalid(format!("BER length of {n} bytes")));
    }
    let Some(bytes) = buf.get(pos + 2..pos + 2 + n) else {
        return Ok(None);
    };
    let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
    Ok(Some((tag & 0x20 != 0, 2 + n, len)))
}

/// gmsa-keytab patch: checks the first BER element of `buf` without recursion: its declared
/// size is within [`MAX_MESSAGE`] (refused as soon as the header says otherwise, not after
/// buffering it), it is complete, every nested element fits in its parent, and nesting stays
/// within [`MAX_DEPTH`]. Returns the element's total length, or `None` if more bytes are needed.
pub fn check_message(buf: &[u8]) -> Result<Option<usize>, io::Error> {
    let Some((constructed, hlen, clen)) = ber_header(buf, 0)? else {
        return Ok(None);
    };
    if !constructed || buf[0] != 0x30 {
        return Err(invalid("an LDAP message must be a SEQUENCE"));
    }
    let total = hlen
        .checked_add(clen)
        .filter(|t| *t <= MAX_MESSAGE)
        .ok_or_else(|| {
            invalid(format!(
                "a {clen}-byte LDAP message is over the {MAX_MESSAGE}-byte limit"
            ))
        })?;
    if buf.len() < total {
        return Ok(None);
    }
    // Ends of the open constructed elements.
    let mut ends: Vec<usize> = vec![total];
    let mut pos = hlen;
    while let Some(&end) = ends.last() {
        if pos == end {
            ends.pop();
            continue;
        }
        let (constructed, hlen, clen) = match ber_header(&buf[..end], pos)? {
            Some(h) => h,
            None => return Err(invalid("a BER element overruns its parent")),
        };
        let child_end = pos
            .checked_add(hlen)
            .and_then(|p| p.checked_add(clen))
            .filter(|e| *e <= end)
            .ok_or_else(|| invalid("a BER element overruns its parent"))?;
        if constructed {
            if ends.len() >= MAX_DEPTH {
                return Err(invalid(format!(
                    "BER nesting deeper than {MAX_DEPTH} levels"
                )));
            }
            ends.push(child_end);
            pos += hlen;
        } else {
            pos = child_end;
        }
    }
    Ok(Some(total))
}

#[allow(clippy::type_complexity)]
fn decode_inner(buf: &mut BytesMut) -> Result<Option<(RequestId, (Tag, Vec<Control>))>, io::Error> {
    let decoding_error = || io::Error::new(io::ErrorKind::Other, "decoding error");
    // gmsa-keytab patch: bounded, non-recursive validation first, then lber on exactly one
    // complete message; every `expect` below became an error.
    let Some(total) = check_message(buf)? else {
        return Ok(None);
    };
    let message = buf.split_to(total);
    let mut parser = lber::Parser::new();
    let tag = match parser.parse(&message) {
        Ok((rest, tag)) if rest.is_empty() => tag,
        _ => return Err(decoding_error()),
    };
    let mut tags = match tag
        .match_id(Types::Sequence as u64)
        .and_then(|t| t.expect_constructed())
    {
        Some(tags) => tags,
        None => return Err(decoding_error()),
    };
    let mut maybe_controls = tags.pop().ok_or_else(decoding_error)?;
    let has_controls = match maybe_controls {
        StructureTag {
            id,
            class,
            ref payload,
        } if class == TagClass::Context && id == 0 => match *payload {
            PL::C(_) => true,
            PL::P(_) => return Err(decoding_error()),
        },
        StructureTag { id, class, .. } if class == TagClass::Context && id == 10 => {
            // Active Directory bug workaround
            //
            // AD incorrectly encodes Notice of Disconnection messages. The OID of the
            // Unsolicited Notification should be part of the ExtendedResponse sequence
            // but AD puts it outside, where the optional controls belong. This confuses
            // our parser, which doesn't expect the extra sequence element at the end
            // and crashes. This match arm thus ignores the element.
            maybe_controls = tags.pop().ok_or_else(decoding_error)?;
            false
        }
        _ => false,
    };
    let (protoop, controls) = if has_controls {
        (tags.pop().ok_or_else(decoding_error)?, Some(maybe_controls))
    } else {
        (maybe_controls, None)
    };
    let controls = match controls {
        Some(controls) => try_parse_controls(controls).ok_or_else(decoding_error)?,
        None => vec![],
    };
    if tags.len() != 1 {
        return Err(decoding_error());
    }
    let msgid_bytes = tags
        .pop()
        .and_then(|t| t.match_class(TagClass::Universal))
        .and_then(|t| t.match_id(Types::Integer as u64))
        .and_then(|t| t.expect_primitive())
        .ok_or_else(decoding_error)?;
    if msgid_bytes.is_empty() || msgid_bytes.len() > 4 {
        return Err(decoding_error());
    }
    let msgid = match parse_uint(msgid_bytes.as_slice()) {
        Ok((_, id)) => i32::try_from(id).map_err(|_| decoding_error())?,
        _ => return Err(decoding_error()),
    };
    // Responses whose body is an LDAPResult must parse as one, so that converting them later
    // (which the caller does) cannot fail: BindResponse, SearchResultDone, Modify/Add/Delete/
    // ModDN/Compare responses, ExtendedResponse.
    if protoop.class == TagClass::Application
        && matches!(protoop.id, 1 | 5 | 7 | 9 | 11 | 13 | 15 | 24)
        && crate::result::parse_result(protoop.clone()).is_none()
    {
        return Err(invalid(format!(
            "malformed LDAPResult in operation {}",
            protoop.id
        )));
    }
    Ok(Some((msgid, (Tag::StructureTag(protoop), controls))))
}

/// gmsa-keytab patch: runs the message decoder over `data` as if the server had sent it
/// (unsealed), converting every result the way callers do. For fuzzing: it must never panic.
/// Returns how many messages decoded.
#[doc(hidden)]
pub fn decode_for_fuzzing(data: &[u8]) -> usize {
    let mut buf = BytesMut::from(data);
    let mut n = 0;
    while let Ok(Some((_, (tag, _)))) = decode_inner(&mut buf) {
        if let Tag::StructureTag(ref t) = tag {
            if t.id == 19 {
                let _ = crate::search::parse_refs(t.clone());
            }
        }
        let _ = crate::result::LdapResultExt::from(tag);
        n += 1;
    }
    n
}

impl Decoder for LdapCodec {
    type Item = (RequestId, (Tag, Vec<Control>));
    type Error = io::Error;

    #[cfg(not(feature = "gssapi"))]
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        decode_inner(buf)
    }

    #[cfg(feature = "gssapi")]
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        const U32_SIZE: usize = std::mem::size_of::<u32>();

        let sasl_wrap = {
            self.sasl_param
                .read()
                .map_err(|_| invalid("SASL state poisoned"))?
                .0
        };
        if !sasl_wrap {
            return decode_inner(buf);
        }
        // gmsa-keytab patch: unwrap SASL buffers one at a time into `plain`, and decode
        // messages from `plain` until it holds no complete one. A partial SASL header is just
        // "need more bytes", never an error.
        loop {
            if !self.plain.is_empty() {
                if let Some(item) = decode_inner(&mut self.plain)? {
                    return Ok(Some(item));
                }
            }
            if buf.len() < U32_SIZE {
                return Ok(None);
            }
            let sasl_len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if sasl_len == 0 || sasl_len > MAX_SASL_BUFFER {
                return Err(invalid(format!(
                    "a {sasl_len}-byte SASL buffer (limit {MAX_SASL_BUFFER})"
                )));
            }
            if buf.len() - U32_SIZE < sasl_len {
                return Ok(None);
            }
            buf.advance(U32_SIZE);
            let decoded = {
                let mut client_opt = self
                    .client_ctx
                    .lock()
                    .map_err(|_| invalid("GSSAPI state poisoned"))?;
                let client_ctx = client_opt
                    .as_mut()
                    .ok_or_else(|| invalid("sealed data before the GSSAPI context exists"))?;
                client_ctx.unwrap_iov(sasl_len, buf).map_err(|e| {
                    io::Error::new(io::ErrorKind::Other, format!("gss_unwrap error: {:#}", e))
                })?
            };
            if self.plain.len() + decoded.len() > MAX_MESSAGE + MAX_SASL_BUFFER {
                return Err(invalid("unwrapped LDAP data over the limit"));
            }
            self.plain.extend_from_slice(&decoded);
        }
    }
}

#[cfg(not(feature = "gssapi"))]
#[inline]
fn maybe_wrap(
    _codec: &mut LdapCodec,
    outstruct: StructureTag,
    into: &mut BytesMut,
) -> io::Result<()> {
    write::encode_into(into, outstruct)?;
    Ok(())
}

#[cfg(feature = "gssapi")]
fn maybe_wrap(
    codec: &mut LdapCodec,
    outstruct: StructureTag,
    into: &mut BytesMut,
) -> io::Result<()> {
    let mut out_buf = BytesMut::new();
    write::encode_into(&mut out_buf, outstruct)?;
    let (sasl_wrap, sasl_send_max) = {
        let sasl_param = codec
            .sasl_param
            .read()
            .map_err(|_| invalid("SASL state poisoned"))?;
        (sasl_param.0, sasl_param.1)
    };
    if sasl_wrap {
        let mut client_guard = codec
            .client_ctx
            .lock()
            .map_err(|_| invalid("GSSAPI state poisoned"))?;
        let client_ctx = client_guard
            .as_mut()
            .ok_or_else(|| invalid("sealing before the GSSAPI context exists"))?;
        if sasl_send_max > 0 && out_buf.len() > sasl_send_max as usize {
            return Err(io::Error::new(
                io::ErrorKind::Other,
                format!(
                    "buffer too large for GSSAPI: {} > {}",
                    out_buf.len(),
                    sasl_send_max
                ),
            ));
        }
        let sasl_buf = client_ctx.wrap(true, &out_buf).map_err(|e| {
            io::Error::new(io::ErrorKind::Other, format!("gss_wrap error: {:#}", e))
        })?;
        let sasl_len = (sasl_buf.len() as u32).to_be_bytes();
        into.extend(&sasl_len);
        into.extend(&*sasl_buf);
    } else {
        into.extend(&out_buf);
    }
    Ok(())
}

impl Encoder<(RequestId, Tag, MaybeControls)> for LdapCodec {
    type Error = io::Error;

    fn encode(
        &mut self,
        msg: (RequestId, Tag, MaybeControls),
        into: &mut BytesMut,
    ) -> io::Result<()> {
        let (id, tag, controls) = msg;
        let outstruct = {
            let mut msg = vec![
                Tag::Integer(Integer {
                    inner: id as i64,
                    ..Default::default()
                }),
                tag,
            ];
            if let Some(controls) = controls {
                msg.push(Tag::StructureTag(StructureTag {
                    id: 0,
                    class: TagClass::Context,
                    payload: PL::C(controls.into_iter().map(build_tag).collect()),
                }));
            }
            Tag::Sequence(Sequence {
                inner: msg,
                ..Default::default()
            })
            .into_structure()
        };
        maybe_wrap(self, outstruct, into)?;
        Ok(())
    }
}
