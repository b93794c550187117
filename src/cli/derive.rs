//! `derive`: blob file in, keytab out, no directory involved.

use super::{FileArgs, parse_u32};
use crate::account;
use crate::blob;
use crate::blobfile;
use crate::crypto::gmsa_salt;
use crate::enctype::{self, Enctype};
use crate::error::Error;
use crate::exit::Class;
use crate::log;
use crate::run::{keytab_time, unix_now};
use crate::store::fsio::bounded;
use crate::store::fsio::{self, Ownership};
use crate::store::keytab_file::{self, Change};
use clap::Args;
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// The msDS-ManagedPassword value: raw bytes, or the base64 text ldapsearch prints
    /// (bare or as an LDIF line). `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub blob: PathBuf,
    /// The gMSA's sAMAccountName, e.g. 'svc_web$' (the salt is built from it); the trailing $
    /// may be left out, as everywhere.
    #[arg(long, value_name = "NAME")]
    pub account: String,
    /// The AD realm (the DNS domain, upper-cased in principals), e.g. EXAMPLE.TEST.
    #[arg(long)]
    pub realm: String,
    /// The account's msDS-KeyVersionNumber: kvno of the current password.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub kvno: u32,
    /// The keytab to create or update.
    #[arg(long, value_name = "PATH")]
    pub keytab: PathBuf,
    /// Enctypes to write (comma-separated): aes256, aes128, rc4, des-cbc-md5, des-cbc-crc.
    /// DES is written only when listed here. Default: what the account supports, minus DES.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub enctypes: Option<Vec<Enctype>>,
    /// The account's msDS-SupportedEncryptionTypes (e.g. 0x1c). AES256 and AES128 are always
    /// written; RC4 when bit 0x4 is set or the value is absent or 0.
    #[arg(long, value_name = "BITS", value_parser = parse_u32)]
    pub supported_enctypes: Option<u32>,
    /// An SPN to write keys for as well (repeatable), e.g. HTTP/web.example.test. The realm is
    /// appended when absent.
    #[arg(long = "principal", value_name = "SPN")]
    pub principals: Vec<String>,
    #[command(flatten)]
    pub file: FileArgs,
    /// Accept passwords of a length other than the 256 bytes DCs generate.
    #[arg(long)]
    pub lenient: bool,
}

/// The blob input, bounded in size, and in time when it is a stream: an idle or endless
/// standard input ends in an error, not a hang or a memory blow-up.
fn read_input(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    let res = if path.as_os_str() == "-" {
        bounded::read_stream(
            std::io::stdin().lock(),
            bounded::MAX_BLOB_INPUT,
            bounded::STREAM_IDLE,
        )
    } else {
        bounded::read_file_or_stream(path, bounded::MAX_BLOB_INPUT, bounded::STREAM_IDLE)
    };
    res.map_err(|problem| Error::Read {
        what: "the blob",
        path: if path.as_os_str() == "-" {
            PathBuf::from("standard input")
        } else {
            path.to_path_buf()
        },
        problem,
        too_large: Class::BadBlob,
    })
}

pub fn run(a: DeriveArgs) -> Result<(), Error> {
    let source_name = a.blob.display().to_string();
    // Everything that can be wrong with the arguments is checked before reading secrets.
    let enctypes = enctype::select(a.supported_enctypes, a.enctypes.as_deref())?;
    // `svc_web` and `svc_web$` name the same gMSA, as in sync and the configuration; the rules
    // refuse what no sAMAccountName can be.
    let name = account::account_name(&a.account)?;
    account::realm(&a.realm)?;
    for p in &a.principals {
        account::spn(p)?;
    }
    fsio::check_target_name(&a.keytab)?;
    let principals = account::principals(&name, &a.realm, &a.principals)?;
    let own = Ownership {
        uid: a
            .file
            .owner
            .as_deref()
            .map(|u| crate::store::ids::resolve_user(u, &a.keytab))
            .transpose()?,
        gid: a
            .file
            .group
            .as_deref()
            .map(|g| crate::store::ids::resolve_group(g, &a.keytab))
            .transpose()?,
        mode: a.file.mode,
    };

    let input = read_input(&a.blob)?;
    let raw = blobfile::decode(&input).map_err(|error| Error::BlobInput {
        source_name: source_name.clone(),
        error,
    })?;
    let password = if a.lenient {
        let (p, warnings) = blob::parse_lenient(&raw).map_err(|error| Error::Blob {
            source_name: source_name.clone(),
            error,
        })?;
        for w in warnings {
            log::warn(&w, &[("blob", &source_name)]);
        }
        p
    } else {
        blob::parse(&raw).map_err(|error| Error::Blob {
            source_name: source_name.clone(),
            error,
        })?
    };

    let salt = gmsa_salt(&a.realm, &name);
    let keysets = account::keysets(&password, a.kvno, &salt, &enctypes);
    let now = keytab_time(unix_now());
    let kvnos: Vec<String> = keysets.iter().map(|k| k.kvno.to_string()).collect();
    let report = keytab_file::apply(
        &a.keytab,
        &own,
        &[Change {
            principals,
            keysets,
        }],
        now,
    )?;
    let names: Vec<&str> = enctypes.iter().map(|e| e.name()).collect();
    log::info(
        "keytab derived",
        &[
            ("keytab", &a.keytab.display()),
            ("account", &name),
            ("kvno", &kvnos.join(",")),
            ("enctypes", &names.join(",")),
            ("outcome", &format!("{:?}", report.outcome).to_lowercase()),
            ("added", &report.added),
            ("removed", &report.removed),
            ("entries", &report.entries),
        ],
    );
    Ok(())
}
