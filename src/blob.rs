//! MSDS-MANAGEDPASSWORD_BLOB parser (reference §1). STUB: being implemented.

use crate::secret::SecretBytes;
use std::time::Duration;

/// A password from the blob: the raw UTF-16LE bytes, terminator excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Password(pub SecretBytes);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPassword {
    pub current: Password,
    pub previous: Option<Password>,
    pub query_interval: Duration,
    pub unchanged_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("stub")]
    Stub,
}

pub fn parse(_bytes: &[u8]) -> Result<ManagedPassword, BlobError> {
    Err(BlobError::Stub)
}
