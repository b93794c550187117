//! The host's identity: which principal of the client keytab to authenticate as. This file
//! reads the keytab; the choice is gmsa-core's ([`choose`]).

use crate::directory::error::DirectoryError;
use crate::keytab::Keytab;
use std::path::Path;
use zeroize::Zeroizing;

pub use gmsa_core::client_identity::{ChoiceError, ClientIdentity, choose};

/// Reads the client keytab and picks the principal: `wanted` if given (it must have a key
/// there), else the keytab's machine account entry (`NAME$@REALM`).
pub fn resolve(path: &Path, wanted: Option<&str>) -> Result<ClientIdentity, DirectoryError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| {
        DirectoryError::ClientKeytabUnreadable {
            path: path.to_path_buf(),
            source,
        }
    })?);
    let keytab = Keytab::parse(&bytes).map_err(|e| DirectoryError::ClientKeytabInvalid {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    choose(&keytab, wanted).map_err(|e| with_path(e, path))
}

/// A [`ChoiceError`] with the keytab it is about.
fn with_path(e: ChoiceError, path: &Path) -> DirectoryError {
    let path = path.to_path_buf();
    match e {
        ChoiceError::None { found } => DirectoryError::NoClientPrincipal { path, found },
        ChoiceError::Several { candidates } => {
            DirectoryError::AmbiguousClientPrincipal { path, candidates }
        }
        ChoiceError::Missing { principal, found } => DirectoryError::ClientPrincipalNotInKeytab {
            path,
            principal,
            found,
        },
        ChoiceError::Unparsable(msg) => DirectoryError::BadOption(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_and_invalid_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.keytab");
        let e = resolve(&missing, None).unwrap_err();
        assert_eq!(e.class(), crate::exit::Class::NoInput);
        let bad = dir.path().join("bad.keytab");
        std::fs::write(&bad, b"\x05\x01garbage").unwrap();
        let e = resolve(&bad, None).unwrap_err();
        assert!(
            matches!(e, DirectoryError::ClientKeytabInvalid { .. }),
            "{e}"
        );
    }
}
