//! The seam in front of the directory: what a sync asks of the domain controllers. The daemon's
//! [`Session`] is the real one; tests put a recorded domain behind the same trait, so the
//! batching, the failover, the key check, the state transitions and the status rules are tested
//! without a DC (`tests/seam_sync.rs`, `tests/seam_schedule.rs`).

use super::{AccountRecord, DirectoryError, KdcAskError, Session};
use crate::enctype::Enctype;
use crate::krbmsg::{ProbeReply, TicketPart};

/// One connection to the directory, for all the accounts of a run; it may move from DC to DC.
pub trait Directory {
    /// The realm, upper-case, from the DC's defaultNamingContext.
    fn realm(&self) -> &str;
    /// The DC in use (`-` once none is left).
    fn server(&self) -> &str;
    /// Whether another DC is left to try after the one in use.
    fn has_more_servers(&self) -> bool;
    /// Reads one gMSA (`svc_web` or `svc_web$`): its blob and attributes, then its kvno.
    fn fetch(&mut self, account: &str) -> Result<AccountRecord, DirectoryError>;
    /// Moves to the next DC that works: because the one in use failed with `why`, or (`None`)
    /// to ask another one.
    fn failover(&mut self, why: Option<DirectoryError>) -> Result<(), DirectoryError>;
    /// The KDC's answer to an AS-REQ without pre-authentication for `name@realm`.
    fn probe_salt(&mut self, name: &str, realm: &str) -> Result<ProbeReply, KdcAskError>;
    /// A service ticket for `principal` from the DC's own KDC.
    fn service_ticket(&mut self, principal: &str) -> Result<TicketPart, KdcAskError>;
    /// Whether `key` of `enctype` decrypts a ticket's enc-part (integrity checked).
    fn decrypts_ticket(&self, enctype: Enctype, key: &[u8], cipher: &[u8]) -> bool;
}

impl Directory for Session {
    fn realm(&self) -> &str {
        Session::realm(self)
    }
    fn server(&self) -> &str {
        Session::server(self)
    }
    fn has_more_servers(&self) -> bool {
        Session::has_more_servers(self)
    }
    fn fetch(&mut self, account: &str) -> Result<AccountRecord, DirectoryError> {
        Session::fetch(self, account)
    }
    fn failover(&mut self, why: Option<DirectoryError>) -> Result<(), DirectoryError> {
        Session::failover(self, why)
    }
    fn probe_salt(&mut self, name: &str, realm: &str) -> Result<ProbeReply, KdcAskError> {
        Session::probe_salt(self, name, realm)
    }
    fn service_ticket(&mut self, principal: &str) -> Result<TicketPart, KdcAskError> {
        Session::service_ticket(self, principal)
    }
    fn decrypts_ticket(&self, enctype: Enctype, key: &[u8], cipher: &[u8]) -> bool {
        Session::decrypts_ticket(self, enctype, key, cipher)
    }
}
