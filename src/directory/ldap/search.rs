//! The searches: rootDSE, the gMSA with its managed password, then its kvno. The I/O half:
//! entries are decoded by [`super::entry`], values checked by [`super::syntax`] and failed
//! results classified by [`super::classify`], all pure.

use super::classify::result_error;
use super::driver::Driver;
use super::entry::{Entry, decode_entry};
use crate::directory::error::DirectoryError;
use crate::secret::SecretBytes;
use ldap3::{Ldap, LdapError, Scope};
use std::time::Duration;
use tokio::time::timeout;

pub use super::syntax::{escape_filter_value, parse_ad_u32, realm_from_dn, sam_account_name};

pub const ATTR_PASSWORD: &str = "msDS-ManagedPassword";
pub const ATTR_SAM: &str = "sAMAccountName";
pub const ATTR_SPN: &str = "servicePrincipalName";
pub const ATTR_ENCTYPES: &str = "msDS-SupportedEncryptionTypes";
pub const ATTR_KVNO: &str = "msDS-KeyVersionNumber";
pub const GMSA_CLASS: &str = "msDS-GroupManagedServiceAccount";

/// What one gMSA looks like in the directory, with its current managed password blob.
#[derive(Debug)]
pub struct AccountRecord {
    /// As stored in the directory, e.g. `svc_web$`.
    pub sam_account_name: String,
    pub dn: String,
    /// The raw `msDS-ManagedPassword` blob (MS-ADTS 2.2.19).
    pub blob: SecretBytes,
    pub spns: Vec<String>,
    /// `msDS-SupportedEncryptionTypes`, absent if the attribute is not set.
    pub supported_enctypes: Option<u32>,
    /// `msDS-KeyVersionNumber`, read after the blob.
    pub kvno: u32,
}

/// A connection-level view for the searches: handle, names for messages, time limit.
pub(crate) struct Ctx<'a> {
    pub ldap: &'a mut Ldap,
    pub server: &'a str,
    pub timeout: Duration,
    /// Turns a transport failure into the right error (the seal guard may explain it).
    pub on_transport: &'a dyn Fn(String) -> DirectoryError,
}

/// One search, all entries decoded; referrals skipped.
async fn search(
    ctx: &mut Ctx<'_>,
    op: &'static str,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
) -> Result<Vec<Entry>, DirectoryError> {
    let limit = ctx.timeout;
    let fut = ctx
        .ldap
        .with_timeout(limit)
        .search(base, scope, filter, attrs.to_vec());
    let result = match timeout(limit, fut).await {
        Err(_) | Ok(Err(LdapError::Timeout { .. })) => {
            return Err(DirectoryError::Timeout {
                server: ctx.server.into(),
                what: op,
                after: limit,
            });
        }
        Ok(Err(e)) => {
            // ldap3's connection task, when it failed, records why in the same poll that ends
            // this request's stream; one yield lets it finish on any runtime.
            tokio::task::yield_now().await;
            return Err((ctx.on_transport)(format!("{op}: {e}")));
        }
        Ok(Ok(r)) => r,
    };
    if result.1.rc != 0 {
        return Err(result_error(ctx.server, op, &result.1));
    }
    let mut entries = Vec::new();
    for re in result.0 {
        match decode_entry(re.0) {
            Ok(Some(e)) => entries.push(e),
            Ok(None) => {}
            Err(detail) => {
                return Err(DirectoryError::BadReply {
                    server: ctx.server.into(),
                    detail,
                });
            }
        }
    }
    Ok(entries)
}

/// The rootDSE read on a connection that needs no further setup (anonymous, or bound), with
/// this module's error classification. For a plain connection; the sealed path goes through
/// the session, whose transport errors the seal guard explains.
pub async fn read_naming_context(
    ldap: &mut Ldap,
    server: &str,
    limit: Duration,
) -> Result<String, DirectoryError> {
    // A driver that never ran adds nothing to a message.
    read_naming_context_via(ldap, &Driver::default(), server, limit).await
}

/// [`read_naming_context`] on a connection whose task runs under a [`Driver`]: a transport
/// failure's message names the cause the connection ended with.
pub async fn read_naming_context_via(
    ldap: &mut Ldap,
    driver: &Driver,
    server: &str,
    limit: Duration,
) -> Result<String, DirectoryError> {
    let transport = |detail: String| DirectoryError::Connection {
        server: server.into(),
        detail: driver.explain(detail),
    };
    let mut ctx = Ctx {
        ldap,
        server,
        timeout: limit,
        on_transport: &transport,
    };
    default_naming_context(&mut ctx).await
}

/// rootDSE `defaultNamingContext`.
pub(crate) async fn default_naming_context(ctx: &mut Ctx<'_>) -> Result<String, DirectoryError> {
    root_dse_attribute(ctx, "defaultNamingContext").await
}

/// rootDSE `currentTime` (GeneralizedTime text), the DC's own clock. Readable anonymously.
pub(crate) async fn current_time(ctx: &mut Ctx<'_>) -> Result<String, DirectoryError> {
    root_dse_attribute(ctx, "currentTime").await
}

/// One single-valued, non-empty attribute of the rootDSE.
async fn root_dse_attribute(ctx: &mut Ctx<'_>, attr: &str) -> Result<String, DirectoryError> {
    let entries = search(
        ctx,
        "rootDSE read",
        "",
        Scope::Base,
        "(objectClass=*)",
        &[attr],
    )
    .await?;
    let bad = |detail: &str| DirectoryError::BadReply {
        server: ctx.server.into(),
        detail: detail.into(),
    };
    let mut entry = entries
        .into_iter()
        .next()
        .ok_or_else(|| bad("the rootDSE was not returned"))?;
    entry
        .take_single_string(attr)
        .map_err(|e| bad(&e))?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(&format!("the rootDSE has no {attr}")))
}

/// Reads one gMSA: the blob and attributes, then (second search, after the blob) its kvno.
pub(crate) async fn fetch(
    ctx: &mut Ctx<'_>,
    base: &str,
    sam: &str,
    client_principal: &str,
) -> Result<AccountRecord, DirectoryError> {
    let server = ctx.server.to_string();
    let bad = |detail: String| DirectoryError::BadReply {
        server: server.clone(),
        detail,
    };
    let escaped = escape_filter_value(sam);
    let filter = format!("(&(objectClass={GMSA_CLASS})(sAMAccountName={escaped}))");
    let mut found = search(
        ctx,
        "gMSA search",
        base,
        Scope::Subtree,
        &filter,
        &[ATTR_PASSWORD, ATTR_SAM, ATTR_SPN, ATTR_ENCTYPES],
    )
    .await?;
    let mut entry = match found.len() {
        1 => found.remove(0),
        0 => return Err(not_found(ctx, base, sam, &escaped).await),
        count => {
            return Err(DirectoryError::Ambiguous {
                account: sam.into(),
                count,
                server,
            });
        }
    };

    let mut blobs = entry.take(ATTR_PASSWORD).map_err(&bad)?;
    let blob = match blobs.len() {
        0 => {
            return Err(DirectoryError::NotAllowed {
                account: sam.into(),
                dn: entry.dn,
                client: client_principal.into(),
            });
        }
        1 => SecretBytes::new(std::mem::take(&mut *blobs[0])),
        n => return Err(bad(format!("{ATTR_PASSWORD} has {n} values"))),
    };
    let sam_account_name = entry
        .take_single_string(ATTR_SAM)
        .map_err(&bad)?
        .ok_or_else(|| bad(format!("{ATTR_SAM} missing from the entry")))?;
    let spns = entry.take_strings(ATTR_SPN).map_err(&bad)?;
    let supported_enctypes = match entry.take_single_string(ATTR_ENCTYPES).map_err(&bad)? {
        None => None,
        Some(text) => {
            Some(parse_ad_u32(&text).ok_or_else(|| bad(format!("{ATTR_ENCTYPES} is {text:?}")))?)
        }
    };
    let dn = entry.dn;

    // The kvno comes after the blob: the blob read itself can roll the password over.
    let mut kv = search(
        ctx,
        "kvno read",
        &dn,
        Scope::Base,
        "(objectClass=*)",
        &[ATTR_KVNO],
    )
    .await?;
    let mut kv_entry = match kv.len() {
        1 => kv.remove(0),
        n => return Err(bad(format!("the kvno read of {dn} returned {n} entries"))),
    };
    let kvno_text = kv_entry
        .take_single_string(ATTR_KVNO)
        .map_err(&bad)?
        .ok_or_else(|| bad(format!("{ATTR_KVNO} missing for {dn}")))?;
    let kvno = kvno_text
        .trim()
        .parse::<u32>()
        .map_err(|_| bad(format!("{ATTR_KVNO} is {kvno_text:?}")))?;

    Ok(AccountRecord {
        sam_account_name,
        dn,
        blob,
        spns,
        supported_enctypes,
        kvno,
    })
}

/// Not found as a gMSA: is it there with another class, or not there at all?
async fn not_found(ctx: &mut Ctx<'_>, base: &str, sam: &str, escaped: &str) -> DirectoryError {
    let filter = format!("(sAMAccountName={escaped})");
    match search(
        ctx,
        "account search",
        base,
        Scope::Subtree,
        &filter,
        &["objectClass"],
    )
    .await
    {
        Ok(mut entries) if !entries.is_empty() => {
            let mut e = entries.remove(0);
            let classes = e.take_strings("objectClass").unwrap_or_default();
            DirectoryError::NotAGmsa {
                account: sam.into(),
                dn: e.dn,
                classes,
            }
        }
        Ok(_) => DirectoryError::NotFound {
            account: sam.into(),
            base: base.into(),
            server: ctx.server.into(),
        },
        Err(e) => e,
    }
}
