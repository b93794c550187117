//! The searches: rootDSE, the gMSA with its managed password, then its kvno.
//!
//! Entries are decoded here rather than with ldap3's `SearchEntry::construct`, which panics
//! on malformed input and copies every value; here values are moved out of the BER tree, the
//! password blob straight into a zeroizing buffer.

use crate::directory::error::DirectoryError;
use crate::secret::SecretBytes;
use ldap3::asn1::{PL, StructureTag, TagClass};
use ldap3::{Ldap, LdapError, LdapResult, Scope};
use std::time::Duration;
use tokio::time::timeout;
use zeroize::Zeroizing;

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

/// RFC 4515 escaping of an assertion value.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// The sAMAccountName for a configured account name: `svc_web` and `svc_web$` both give
/// `svc_web$`. Characters AD forbids in sAMAccountName are refused.
pub fn sam_account_name(account: &str) -> Result<String, DirectoryError> {
    crate::account::account_name(account).map_err(|e| DirectoryError::BadOption(e.to_string()))
}

/// `DC=example,DC=test` → `EXAMPLE.TEST`. Only pure DC= naming contexts map to a realm.
pub fn realm_from_dn(dn: &str) -> Option<String> {
    let mut labels = Vec::new();
    for rdn in dn.split(',') {
        let (attr, value) = rdn.trim().split_once('=')?;
        let value = value.trim();
        if !attr.trim().eq_ignore_ascii_case("dc")
            || value.is_empty()
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        labels.push(value.to_ascii_uppercase());
    }
    if labels.is_empty() {
        None
    } else {
        Some(labels.join("."))
    }
}

/// A decoded search result entry. Values are wiped when dropped.
pub(crate) struct Entry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Zeroizing<Vec<u8>>>)>,
}

impl Entry {
    /// Values of `name`, matched case-insensitively, ignoring options such as `;binary`.
    fn take(&mut self, name: &str) -> Result<Vec<Zeroizing<Vec<u8>>>, String> {
        let mut out = Vec::new();
        for (attr, values) in &mut self.attrs {
            let mut parts = attr.split(';');
            if !parts.next().is_some_and(|a| a.eq_ignore_ascii_case(name)) {
                continue;
            }
            // AD splits attributes with many values ("range=0-1499"); we read them whole.
            if parts.any(|o| o.to_ascii_lowercase().starts_with("range=") && !o.ends_with("-*")) {
                return Err(format!("{name} has too many values to be returned at once"));
            }
            out.append(values);
        }
        Ok(out)
    }

    fn take_strings(&mut self, name: &str) -> Result<Vec<String>, String> {
        self.take(name)?
            .into_iter()
            .map(|mut v| {
                String::from_utf8(std::mem::take(&mut *v))
                    .map_err(|_| format!("{name} is not UTF-8"))
            })
            .collect()
    }

    fn take_single_string(&mut self, name: &str) -> Result<Option<String>, String> {
        let mut values = self.take_strings(name)?;
        match values.len() {
            0 => Ok(None),
            1 => Ok(values.pop()),
            n => Err(format!("{name} has {n} values, expected one")),
        }
    }
}

fn primitive(tag: StructureTag) -> Option<Vec<u8>> {
    match tag.payload {
        PL::P(bytes) => Some(bytes),
        PL::C(_) => None,
    }
}

fn constructed(tag: StructureTag) -> Option<Vec<StructureTag>> {
    match tag.payload {
        PL::C(tags) => Some(tags),
        PL::P(_) => None,
    }
}

/// SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName, attributes }. References
/// ([APPLICATION 19]) and anything else give `None`.
pub(crate) fn decode_entry(tag: StructureTag) -> Result<Option<Entry>, String> {
    if tag.class != TagClass::Application || tag.id != 4 {
        return Ok(None);
    }
    let bad = |what: &str| format!("malformed search entry: {what}");
    let mut parts = constructed(tag)
        .ok_or_else(|| bad("not constructed"))?
        .into_iter();
    let dn = parts
        .next()
        .and_then(primitive)
        .ok_or_else(|| bad("no DN"))?;
    let dn = String::from_utf8(dn).map_err(|_| bad("DN is not UTF-8"))?;
    let list = parts
        .next()
        .and_then(constructed)
        .ok_or_else(|| bad("no attribute list"))?;
    let mut attrs = Vec::with_capacity(list.len());
    for attribute in list {
        let mut pair = constructed(attribute)
            .ok_or_else(|| bad("attribute not constructed"))?
            .into_iter();
        let name = pair
            .next()
            .and_then(primitive)
            .ok_or_else(|| bad("attribute name"))?;
        let name = String::from_utf8(name).map_err(|_| bad("attribute name is not UTF-8"))?;
        let set = pair
            .next()
            .and_then(constructed)
            .ok_or_else(|| bad("attribute values"))?;
        let mut values = Vec::with_capacity(set.len());
        for v in set {
            values.push(Zeroizing::new(
                primitive(v).ok_or_else(|| bad("attribute value"))?,
            ));
        }
        attrs.push((name, values));
    }
    Ok(Some(Entry { dn, attrs }))
}

/// A connection-level view for the searches: handle, names for messages, time limit.
pub(crate) struct Ctx<'a> {
    pub ldap: &'a mut Ldap,
    pub server: &'a str,
    pub timeout: Duration,
    /// Turns a transport failure into the right error (the seal guard may explain it).
    pub on_transport: &'a dyn Fn(String) -> DirectoryError,
}

fn result_error(server: &str, op: &'static str, r: &LdapResult) -> DirectoryError {
    let text = r.text.trim().to_string();
    let upper = text.to_ascii_uppercase();
    if r.rc == 8 {
        DirectoryError::StrongerAuthRequired {
            server: server.into(),
            text,
        }
    } else if upper.contains("202D") || upper.contains("CONFIDENTIAL") {
        DirectoryError::NotConfidential {
            server: server.into(),
            detail: format!("the DC says so (LDAP result {}: {text})", r.rc),
        }
    } else {
        DirectoryError::Ldap {
            server: server.into(),
            op,
            rc: r.rc,
            text,
        }
    }
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
        Ok(Err(e)) => return Err((ctx.on_transport)(format!("{op}: {e}"))),
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
    let transport = |detail: String| DirectoryError::Connection {
        server: server.into(),
        detail,
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

/// AD integer syntax is a signed 32-bit decimal; flag words with bit 31 set come back negative.
pub fn parse_ad_u32(text: &str) -> Option<u32> {
    let v: i64 = text.trim().parse().ok()?;
    if (i64::from(i32::MIN)..0).contains(&v) {
        Some(v as i32 as u32)
    } else {
        u32::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prim(id: u64, bytes: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id,
            payload: PL::P(bytes.to_vec()),
        }
    }

    fn cons(class: TagClass, id: u64, inner: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class,
            id,
            payload: PL::C(inner),
        }
    }

    fn attr(name: &str, values: &[&[u8]]) -> StructureTag {
        cons(
            TagClass::Universal,
            16,
            vec![
                prim(4, name.as_bytes()),
                cons(
                    TagClass::Universal,
                    17,
                    values.iter().map(|v| prim(4, v)).collect(),
                ),
            ],
        )
    }

    fn entry(dn: &str, attrs: Vec<StructureTag>) -> StructureTag {
        cons(
            TagClass::Application,
            4,
            vec![prim(4, dn.as_bytes()), cons(TagClass::Universal, 16, attrs)],
        )
    }

    #[test]
    fn filter_escaping() {
        assert_eq!(escape_filter_value("svc_web$"), "svc_web$");
        assert_eq!(escape_filter_value("a*(b)\\c\0"), "a\\2a\\28b\\29\\5cc\\00");
        assert_eq!(escape_filter_value("é"), "é");
    }

    #[test]
    fn account_names() {
        assert_eq!(sam_account_name("svc_web").unwrap(), "svc_web$");
        assert_eq!(sam_account_name(" svc_web$ ").unwrap(), "svc_web$");
        // '(' is legal in AD names; the filter escaping handles it.
        assert_eq!(sam_account_name("a(b").unwrap(), "a(b$");
        for bad in ["", "$", "svc$$", "a*", "x@EXAMPLE.TEST", "a\nb", "a/b"] {
            assert!(sam_account_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn realms_from_naming_contexts() {
        assert_eq!(
            realm_from_dn("DC=example,DC=test").as_deref(),
            Some("EXAMPLE.TEST")
        );
        assert_eq!(
            realm_from_dn("dc=Corp, dc=Example ,DC=com").as_deref(),
            Some("CORP.EXAMPLE.COM")
        );
        assert_eq!(realm_from_dn("OU=x,DC=example,DC=test"), None);
        assert_eq!(realm_from_dn(""), None);
        assert_eq!(realm_from_dn("DC=a\\,b,DC=test"), None);
    }

    #[test]
    fn ad_integers() {
        assert_eq!(parse_ad_u32("24"), Some(24));
        assert_eq!(parse_ad_u32("-2147483648"), Some(0x8000_0000));
        assert_eq!(parse_ad_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_ad_u32("4294967296"), None);
        assert_eq!(parse_ad_u32("x"), None);
    }

    #[test]
    fn entries_decode_and_values_move() {
        let blob: &[u8] = &[1, 0, 0, 0, 0xff, 0xfe];
        let tag = entry(
            "CN=svc_web,CN=Managed Service Accounts,DC=example,DC=test",
            vec![
                attr("msDS-ManagedPassword", &[blob]),
                attr("sAMAccountName", &[b"svc_web$"]),
                attr(
                    "servicePrincipalName;range=0-*",
                    &[b"HTTP/web.example.test", b"HTTP/web"],
                ),
            ],
        );
        let mut e = decode_entry(tag).unwrap().unwrap();
        assert_eq!(e.take(ATTR_PASSWORD).unwrap()[0].as_slice(), blob);
        assert_eq!(
            e.take_single_string("samaccountname").unwrap().as_deref(),
            Some("svc_web$")
        );
        assert_eq!(e.take_strings(ATTR_SPN).unwrap().len(), 2);
        assert_eq!(e.take_single_string(ATTR_ENCTYPES).unwrap(), None);
    }

    #[test]
    fn partial_ranges_are_refused() {
        let tag = entry(
            "CN=x",
            vec![attr("servicePrincipalName;range=0-1499", &[b"a"])],
        );
        let mut e = decode_entry(tag).unwrap().unwrap();
        assert!(e.take_strings(ATTR_SPN).is_err());
    }

    #[test]
    fn malformed_entries_are_errors_not_panics() {
        let refs = cons(TagClass::Application, 19, vec![prim(4, b"ldap://x")]);
        assert!(decode_entry(refs).unwrap().is_none());
        let prim_entry = StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::P(vec![1, 2]),
        };
        assert!(decode_entry(prim_entry).is_err());
        assert!(decode_entry(cons(TagClass::Application, 4, vec![])).is_err());
        let no_values = entry(
            "CN=x",
            vec![cons(TagClass::Universal, 16, vec![prim(4, b"a")])],
        );
        assert!(decode_entry(no_values).is_err());
        let bad_dn = cons(
            TagClass::Application,
            4,
            vec![prim(4, &[0xff]), cons(TagClass::Universal, 16, vec![])],
        );
        assert!(decode_entry(bad_dn).is_err());
    }
}
