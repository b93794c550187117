//! Search result entries decoded from ldap3's BER tree. Pure, and never panics on what the DC
//! sends (ldap3's `SearchEntry::construct` would): values are moved out of the tree, the
//! password blob straight into a zeroizing buffer.

use ldap3::asn1::{PL, StructureTag, TagClass};
use zeroize::Zeroizing;

/// A decoded search result entry. Values are wiped when dropped.
pub(crate) struct Entry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Zeroizing<Vec<u8>>>)>,
}

impl Entry {
    /// Values of `name`, matched case-insensitively, ignoring options such as `;binary`.
    pub(crate) fn take(&mut self, name: &str) -> Result<Vec<Zeroizing<Vec<u8>>>, String> {
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

    pub(crate) fn take_strings(&mut self, name: &str) -> Result<Vec<String>, String> {
        self.take(name)?
            .into_iter()
            .map(|mut v| {
                String::from_utf8(std::mem::take(&mut *v))
                    .map_err(|_| format!("{name} is not UTF-8"))
            })
            .collect()
    }

    pub(crate) fn take_single_string(&mut self, name: &str) -> Result<Option<String>, String> {
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

#[cfg(test)]
mod tests {
    use super::super::search::{ATTR_ENCTYPES, ATTR_PASSWORD, ATTR_SPN};
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
