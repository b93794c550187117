//! Exit codes: one per class of failure, so scripts and monitoring can tell them apart.
//! Values follow sysexits(3) where a class exists there.

/// The class of a failure, which decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Command-line misuse (clap also exits 2).
    Usage,
    /// The managed-password blob is malformed.
    BadBlob,
    /// An existing keytab (target or client) does not parse; it was left untouched.
    BadKeytab,
    /// A named input file is missing or unreadable.
    NoInput,
    /// The account does not exist in the directory or is not a gMSA.
    NoAccount,
    /// No DC could be reached, or a temporary failure: try again later.
    TempFail,
    /// The directory answered something this tool cannot use (protocol error, no confidentiality).
    Protocol,
    /// Access denied: not allowed to read the password, or file permissions.
    NoPerm,
    /// The configuration is invalid.
    Config,
    /// Writing the output failed.
    CantCreate,
    /// A bug or an unexpected local failure.
    Software,
}

impl Class {
    pub fn code(self) -> u8 {
        match self {
            Class::Usage => 64,
            Class::BadBlob => 65,
            Class::NoInput => 66,
            Class::NoAccount => 67,
            Class::Software => 70,
            Class::CantCreate => 73,
            Class::TempFail => 75,
            Class::Protocol => 76,
            Class::NoPerm => 77,
            Class::Config => 78,
            // Outside sysexits: a corrupt keytab on disk is neither bad input data we were
            // handed (65) nor an I/O failure; it needs its own code so the operator looks at it.
            Class::BadKeytab => 79,
        }
    }

    /// All classes, for documentation and tests.
    pub const ALL: [Class; 11] = [
        Class::Usage,
        Class::BadBlob,
        Class::BadKeytab,
        Class::NoInput,
        Class::NoAccount,
        Class::TempFail,
        Class::Protocol,
        Class::NoPerm,
        Class::Config,
        Class::CantCreate,
        Class::Software,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_nonzero() {
        let mut codes: Vec<u8> = Class::ALL.iter().map(|c| c.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Class::ALL.len());
        assert!(!codes.contains(&0) && !codes.contains(&1) && !codes.contains(&2));
    }
}
