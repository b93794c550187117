//! The host's identity: which principal of the client keytab to authenticate as. Pure: the
//! parsed keytab in, the principal or the reason out (the daemon reads the file and adds its
//! path to the reason).

use crate::keytab::{Keytab, NT_PRINCIPAL, Principal};

/// The principal this host authenticates as, checked against its keytab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// In MIT syntax, e.g. `HOST1$@EXAMPLE.TEST`.
    pub principal: String,
    /// Its realm, e.g. `EXAMPLE.TEST`.
    pub realm: String,
}

/// Why [`choose`] found no principal; the caller adds the keytab path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoiceError {
    None {
        found: Vec<String>,
    },
    Several {
        candidates: Vec<String>,
    },
    Missing {
        principal: String,
        found: Vec<String>,
    },
    Unparsable(String),
}

/// Picks the principal: `wanted` if given (it must have a key in the keytab), else the
/// keytab's machine account entry (`NAME$@REALM`).
pub fn choose(keytab: &Keytab, wanted: Option<&str>) -> Result<ClientIdentity, ChoiceError> {
    // Distinct principals that have a key, in file order.
    let mut usable: Vec<&Principal> = Vec::new();
    for e in &keytab.entries {
        if !e.key.is_empty() && !usable.iter().any(|p| p.same_name(&e.principal)) {
            usable.push(&e.principal);
        }
    }
    let found: Vec<String> = usable.iter().map(|p| p.to_string()).collect();
    let identity = |p: &Principal| ClientIdentity {
        principal: p.to_string(),
        realm: String::from_utf8_lossy(&p.realm).into_owned(),
    };

    if let Some(text) = wanted {
        // A realm-less name takes the keytab's realm when the keytab has only one.
        let mut realms: Vec<&[u8]> = usable.iter().map(|p| p.realm.as_slice()).collect();
        realms.dedup();
        let default_realm = match realms.as_slice() {
            [only] => std::str::from_utf8(only).ok(),
            _ => None,
        };
        let p = Principal::parse(text, default_realm, NT_PRINCIPAL)
            .map_err(|e| ChoiceError::Unparsable(format!("client-principal: {e}")))?;
        return match usable.iter().find(|u| u.same_name(&p)) {
            Some(u) => Ok(identity(u)),
            None => Err(ChoiceError::Missing {
                principal: p.to_string(),
                found,
            }),
        };
    }

    let machine: Vec<&&Principal> = usable
        .iter()
        .filter(|p| {
            p.components.len() == 1
                && p.components[0].len() > 1
                && p.components[0].ends_with(b"$")
                && !p.realm.is_empty()
                && std::str::from_utf8(&p.components[0]).is_ok()
                && std::str::from_utf8(&p.realm).is_ok()
        })
        .collect();
    match machine.as_slice() {
        [] => Err(ChoiceError::None { found }),
        [only] => Ok(identity(only)),
        several => Err(ChoiceError::Several {
            candidates: several.iter().map(|p| p.to_string()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keytab::Entry;
    use crate::secret::SecretBytes;

    fn entry(name: &str, key: &[u8]) -> Entry {
        Entry::new(
            Principal::parse(name, None, NT_PRINCIPAL).unwrap(),
            0,
            2,
            18,
            SecretBytes::from_slice(key),
        )
    }

    fn adcli_keytab() -> Keytab {
        Keytab {
            entries: vec![
                entry("host/host1.example.test@EXAMPLE.TEST", &[1; 32]),
                entry("HOST1$@EXAMPLE.TEST", &[1; 32]),
                entry("HOST1$@EXAMPLE.TEST", &[2; 16]),
                entry("RestrictedKrbHost/HOST1@EXAMPLE.TEST", &[1; 32]),
            ],
        }
    }

    #[test]
    fn machine_account_is_the_default() {
        let id = choose(&adcli_keytab(), None).unwrap();
        assert_eq!(id.principal, "HOST1$@EXAMPLE.TEST");
        assert_eq!(id.realm, "EXAMPLE.TEST");
    }

    #[test]
    fn override_must_be_in_the_keytab() {
        let kt = adcli_keytab();
        assert_eq!(
            choose(&kt, Some("host/host1.example.test"))
                .unwrap()
                .principal,
            "host/host1.example.test@EXAMPLE.TEST"
        );
        assert!(matches!(
            choose(&kt, Some("other$@EXAMPLE.TEST")),
            Err(ChoiceError::Missing { .. })
        ));
        // realm case does not matter in what the operator types: realms are upper-case
        assert!(choose(&kt, Some("HOST1$@example.test")).is_ok());
        assert!(matches!(
            choose(&kt, Some("a@b@c")),
            Err(ChoiceError::Unparsable(_))
        ));
    }

    #[test]
    fn none_or_several_machine_accounts() {
        let kt = Keytab {
            entries: vec![entry("HTTP/web.example.test@EXAMPLE.TEST", &[1; 32])],
        };
        match choose(&kt, None) {
            Err(ChoiceError::None { found }) => {
                assert_eq!(found, ["HTTP/web.example.test@EXAMPLE.TEST"])
            }
            other => panic!("{other:?}"),
        }
        let kt = Keytab {
            entries: vec![
                entry("A$@EXAMPLE.TEST", &[1]),
                entry("B$@EXAMPLE.TEST", &[1]),
            ],
        };
        assert!(matches!(
            choose(&kt, None),
            Err(ChoiceError::Several { .. })
        ));
        assert!(matches!(
            choose(&Keytab::default(), None),
            Err(ChoiceError::None { .. })
        ));
        // an entry without key material is not usable
        let kt = Keytab {
            entries: vec![entry("A$@EXAMPLE.TEST", &[])],
        };
        assert!(matches!(choose(&kt, None), Err(ChoiceError::None { .. })));
    }
}
