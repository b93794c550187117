//! The one error a command ends with. Its `Display` is what the operator reads; its class
//! decides the exit code.

use crate::blob::BlobError;
use crate::blobfile::BlobInputError;
use crate::config::ConfigError;
use crate::enctype::{EmptySelection, UnknownEnctype};
use crate::exit::Class;
use crate::keytab::{KeytabError, PrincipalError};
use crate::store::fsio::FsError;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the managed-password blob from {source_name} is malformed: {error}")]
    Blob {
        source_name: String,
        error: BlobError,
    },
    #[error("cannot read the blob from {source_name}: {error}")]
    BlobInput {
        source_name: String,
        error: BlobInputError,
    },
    #[error(
        "{path} is not a valid keytab ({error}); it was left untouched. Inspect it with \
         `klist -k {path}`, then repair or move it aside"
    )]
    Keytab { path: PathBuf, error: KeytabError },
    #[error("cannot read {path}: {error}")]
    Input {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A bounded read of outside input failed (missing, not a file, too large, silent).
    #[error("cannot read {what} {}: {problem}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        problem: crate::store::fsio::bounded::ReadError,
        /// The class when the input is over its size limit (65 blob, 78 config, 79 keytab).
        too_large: Class,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("{0}")]
    Name(#[from] crate::account::NameError),
    #[error("invalid principal: {0}")]
    Principal(#[from] PrincipalError),
    #[error(transparent)]
    Enctypes(#[from] EmptySelection),
    #[error(transparent)]
    UnknownEnctype(#[from] UnknownEnctype),
    #[error("{0}")]
    Usage(String),
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Directory(#[from] crate::directory::DirectoryError),
    /// The KDC's ticket for the account does not decrypt with the keys about to be written.
    #[error(transparent)]
    KeyMismatch(Box<crate::run::sync::KeyRefuted>),
    /// No domain controller could be reached for the run: reported for each account.
    #[error(transparent)]
    NoDirectory(Arc<crate::directory::DirectoryError>),
    /// The DC in use failed mid-run and no other one was left: reported for each account
    /// not yet read.
    #[error("the domain controller in use failed: {0}")]
    DcLost(Arc<crate::directory::DirectoryError>),
    /// A keytab file could not be written: reported for each account it holds.
    #[error(transparent)]
    KeytabBatch(Arc<Error>),
    /// Some accounts of a run failed (each was reported on its own); the class is the first
    /// failure's.
    #[error("{failed} of {total} account(s) failed")]
    AccountsFailed {
        failed: usize,
        total: usize,
        class: Class,
    },
}

impl Error {
    pub fn class(&self) -> Class {
        match self {
            Error::Blob { .. } | Error::BlobInput { .. } => Class::BadBlob,
            Error::Keytab { .. } => Class::BadKeytab,
            Error::Input { error, .. } if error.kind() == std::io::ErrorKind::PermissionDenied => {
                Class::NoPerm
            }
            Error::Input { .. } => Class::NoInput,
            Error::Read { problem, .. } if problem.is_permission() => Class::NoPerm,
            Error::Read {
                problem: crate::store::fsio::bounded::ReadError::TooLarge { .. },
                too_large,
                ..
            } => *too_large,
            Error::Read { .. } => Class::NoInput,
            Error::Fs(e) => e.class(),
            Error::Config(e) => e.class(),
            Error::Directory(e) => e.class(),
            Error::NoDirectory(e) | Error::DcLost(e) => e.class(),
            Error::KeytabBatch(e) => e.class(),
            Error::AccountsFailed { class, .. } => *class,
            Error::KeyMismatch(_) => Class::KeyMismatch,
            Error::Principal(_)
            | Error::Name(_)
            | Error::Enctypes(_)
            | Error::UnknownEnctype(_)
            | Error::Usage(_) => Class::Usage,
        }
    }
}
