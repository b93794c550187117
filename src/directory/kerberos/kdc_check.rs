//! What the session's DC's KDC holds for an account: the salt probe (an AS-REQ without
//! pre-authentication) and a service ticket for the account, to decrypt with the keys about to
//! be written. Both go to the KDC of the DC this session is bound to (TCP, port 88), the one
//! whose directory the blob and kvno came from.

use super::kdc;
use crate::directory::{NO_LINK, Session};
use crate::enctype::Enctype;
use crate::krbmsg::{self, ProbeReply, TicketPart};
use crate::sys::KEY_USAGE_TICKET;

/// Why the session's KDC gave no answer to a key-check question (the salt probe, a service
/// ticket for the account). The check then cannot run: a warning, not an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KdcAskError {
    #[error("{NO_LINK}")]
    NoLink,
    #[error("no randomness for the nonce: {0}")]
    NoRandomness(String),
    /// No reply from the DC's port 88 (connect, send, the reply's framing, the time limit).
    #[error("{server} ({kdc}): {detail}")]
    Unreachable {
        server: String,
        kdc: std::net::SocketAddr,
        detail: String,
    },
    #[error("{server}: {error}")]
    Malformed {
        server: String,
        error: krbmsg::ParseError,
    },
    /// libkrb5 refused the exchange or the KDC answered with an error (its text).
    #[error("{0}")]
    Refused(String),
}

/// Enctypes the probe asks for, strongest first: the reply describes the KDC's key for the
/// first one it holds (AD: always AES256).
const PROBE_ETYPES: [i32; 3] = [18, 17, 23];

impl Session {
    /// The KDC's answer to an AS-REQ without pre-authentication for `name@realm`. No key is
    /// tried, so it has no bad-password side effects. Errors are one line for a warning.
    pub fn probe_salt(&mut self, name: &str, realm: &str) -> Result<ProbeReply, KdcAskError> {
        let mut nonce = [0u8; 4];
        getrandom::fill(&mut nonce).map_err(|e| KdcAskError::NoRandomness(e.to_string()))?;
        let request =
            krbmsg::salt_probe_request(realm, name, &PROBE_ETYPES, u32::from_ne_bytes(nonce));
        let link = self.link.as_ref().ok_or(KdcAskError::NoLink)?;
        let reply = self
            .runtime
            .block_on(kdc::send(link.kdc, &request, self.timeout))
            .map_err(|detail| KdcAskError::Unreachable {
                server: link.host.clone(),
                kdc: link.kdc,
                detail,
            })?;
        krbmsg::parse_probe_reply(&reply).map_err(|error| KdcAskError::Malformed {
            server: link.host.clone(),
            error,
        })
    }

    /// A service ticket for `principal` (e.g. `svc_web$@EXAMPLE.TEST`) from this DC's KDC,
    /// with the host's own TGT; the ccache does not keep it.
    pub fn service_ticket(&mut self, principal: &str) -> Result<TicketPart, KdcAskError> {
        let realm = self.client_realm().to_string();
        let link = self.link.as_ref().ok_or(KdcAskError::NoLink)?;
        let bytes = self
            .runtime
            .block_on(kdc::fetch_ticket(
                &link.login,
                principal,
                link.kdc,
                &realm,
                self.timeout,
            ))
            .map_err(|f| KdcAskError::Refused(f.describe()))?;
        krbmsg::parse_ticket(&bytes).map_err(|error| KdcAskError::Malformed {
            server: link.host.clone(),
            error,
        })
    }

    /// Whether `key` of `enctype` decrypts a ticket's enc-part (libkrb5 checks its integrity).
    pub fn decrypts_ticket(&self, enctype: Enctype, key: &[u8], cipher: &[u8]) -> bool {
        self.link.as_ref().is_some_and(|link| {
            link.login
                .decrypt(i32::from(enctype.number()), key, KEY_USAGE_TICKET, cipher)
                .is_ok()
        })
    }

    /// The realm of the client principal, where its TGT is from.
    fn client_realm(&self) -> &str {
        self.client_principal
            .rsplit_once('@')
            .map_or(self.realm.as_str(), |(_, r)| r)
    }
}
