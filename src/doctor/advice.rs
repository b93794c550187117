//! Verdicts and fix texts for what the directory, the clock and the file system say. Pure.

use super::Verdict;

/// Kerberos refuses messages whose timestamps are further apart than this (MIT and AD
/// default `clockskew`: 5 minutes).
pub const MAX_SKEW_SECS: i64 = 300;
/// Beyond this the clock is drifting and should be looked at before it reaches the limit.
pub const WARN_SKEW_SECS: i64 = 60;

/// The clock check: offset = DC time - local time, in seconds.
pub fn clock(offset: i64) -> (Verdict, String, Option<String>) {
    let detail = format!(
        "this host is {} s {} the domain controller",
        offset.unsigned_abs(),
        if offset > 0 { "behind" } else { "ahead of" }
    );
    let fix = "synchronise the clock with the domain controllers: timedatectl set-ntp true \
               (systemd-timesyncd) or chronyc makestep with the DCs as NTP servers";
    // MIT's own requests survive a skew (it adopts the KDC's time from the skew error), but
    // services on this host accepting tickets with these keytabs compare the client's
    // authenticator with the local clock and refuse beyond the limit (KRB_AP_ERR_SKEW).
    if offset.abs() >= MAX_SKEW_SECS {
        (
            Verdict::Fail,
            format!(
                "{detail}; services here that accept Kerberos tickets refuse clients more \
                 than {MAX_SKEW_SECS} s off (KRB_AP_ERR_SKEW)"
            ),
            Some(fix.into()),
        )
    } else if offset.abs() >= WARN_SKEW_SECS {
        (
            Verdict::Warn,
            format!(
                "{detail}; Kerberos acceptors refuse more than {MAX_SKEW_SECS} s, so the \
                 clock is drifting towards failure"
            ),
            Some(fix.into()),
        )
    } else {
        let detail = if offset == 0 {
            "in step with the domain controller (within 1 s)".to_string()
        } else {
            detail
        };
        (Verdict::Pass, detail, None)
    }
}

/// `svc_web$` → `svc_web`: how PowerShell's `-Identity` names a gMSA.
fn ps_identity(account: &str) -> &str {
    crate::account::base_name(account)
}

/// Names of the enctype bits of msDS-SupportedEncryptionTypes that carry keys.
fn enctype_names(bits: u32) -> Vec<&'static str> {
    [
        (0x1, "des-cbc-crc"),
        (0x2, "des-cbc-md5"),
        (0x4, "rc4"),
        (0x8, "aes128"),
        (0x10, "aes256"),
    ]
    .iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, n)| *n)
    .collect()
}

/// The commands that make an account AES-only (0x18).
pub fn aes_only_fix(account: &str, dn: &str) -> String {
    format!(
        "make it AES-only (0x18 = AES128 + AES256), then run gmsa-keytab sync --force:\n\
         PowerShell: Set-ADServiceAccount -Identity {} -KerberosEncryptionType AES128,AES256\n\
         Samba: printf 'dn: {dn}\\nchangetype: modify\\nreplace: msDS-SupportedEncryptionTypes\\n\
         msDS-SupportedEncryptionTypes: 24\\n' | ldbmodify -H /var/lib/samba/private/sam.ldb",
        ps_identity(account)
    )
}

/// The account's `msDS-SupportedEncryptionTypes`, with advice.
pub fn enctypes(
    account: &str,
    dn: &str,
    supported: Option<u32>,
) -> (Verdict, String, Option<String>) {
    let keyed = supported.unwrap_or(0) & 0x1f;
    if keyed == 0 {
        let what = match supported {
            None => "msDS-SupportedEncryptionTypes is not set".to_string(),
            Some(v) => format!("msDS-SupportedEncryptionTypes is {v:#x} (no enctype bits)"),
        };
        return (
            Verdict::Warn,
            format!(
                "{what}: the KDC issues RC4 service tickets for it, which Java acceptors \
                 (and any with RC4 disabled) refuse by default; the keytab gets aes256, aes128 \
                 and rc4 keys"
            ),
            Some(aes_only_fix(account, dn)),
        );
    }
    let names = enctype_names(keyed).join(", ");
    let detail = format!("msDS-SupportedEncryptionTypes {keyed:#x}: {names}");
    if keyed & 0x3 != 0 {
        return (
            Verdict::Warn,
            format!("{detail}; DES is broken and off by default in every current Kerberos"),
            Some(aes_only_fix(account, dn)),
        );
    }
    if keyed & 0x18 == 0 {
        return (
            Verdict::Warn,
            format!("{detail}; without AES the KDC issues RC4 tickets only"),
            Some(aes_only_fix(account, dn)),
        );
    }
    (Verdict::Pass, detail, None)
}

/// The fix when `client` (e.g. `HOST1$@EXAMPLE.TEST`) may not read `account`'s password.
pub fn reader_fix(account: &str, client: &str) -> String {
    let host = client.split('@').next().unwrap_or(client);
    format!(
        "allow {host} to read the password, then run gmsa-keytab sync --force:\n\
         PowerShell (the list is replaced, so name everyone who keeps access, or add {host} to a \
         group that is already listed with Add-ADGroupMember):\n  \
         Set-ADServiceAccount -Identity {} -PrincipalsAllowedToRetrieveManagedPassword <current principals>,'{host}'\n\
         Samba: samba-tool service-account group-msa-membership add --name='{account}' --principal='{host}'\n\
         A new group membership counts only after the host's next ticket (a new run gets one).",
        ps_identity(account)
    )
}

/// Ownership and mode of the configuration file: root-owned, not writable by others (it names
/// the commands that run as root and where keys go).
pub fn config_trust(uid: u32, mode: u32) -> (Verdict, String, Option<String>) {
    let detail = format!("owner uid {uid}, mode {:04o}", mode & 0o7777);
    if uid != 0 {
        return (
            Verdict::Fail,
            format!("{detail}: a user other than root can change what runs as root"),
            Some("chown root: the configuration file".into()),
        );
    }
    if mode & 0o022 != 0 {
        return (
            Verdict::Fail,
            format!("{detail}: group or others may write it"),
            Some("chmod go-w the configuration file (0644 or 0640)".into()),
        );
    }
    (Verdict::Pass, detail, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_verdicts() {
        assert_eq!(clock(0).0, Verdict::Pass);
        assert_eq!(clock(-59).0, Verdict::Pass);
        assert_eq!(clock(60).0, Verdict::Warn);
        assert_eq!(clock(-299).0, Verdict::Warn);
        let (v, detail, fix) = clock(3600);
        assert_eq!(v, Verdict::Fail);
        assert!(detail.contains("3600 s behind"), "{detail}");
        assert!(fix.unwrap().contains("timedatectl set-ntp true"));
        assert!(clock(-3600).1.contains("ahead of"));
    }

    #[test]
    fn enctype_advice() {
        let dn = "CN=svc_web,CN=Managed Service Accounts,DC=example,DC=test";
        let (v, detail, fix) = enctypes("svc_web$", dn, None);
        assert_eq!(v, Verdict::Warn);
        assert!(detail.contains("RC4 service tickets"), "{detail}");
        let fix = fix.unwrap();
        assert!(fix.contains(
            "Set-ADServiceAccount -Identity svc_web -KerberosEncryptionType AES128,AES256"
        ));
        assert!(fix.contains(&format!("dn: {dn}")));
        assert!(fix.contains("msDS-SupportedEncryptionTypes: 24"));
        assert_eq!(enctypes("a$", dn, Some(0)).0, Verdict::Warn);
        assert_eq!(enctypes("a$", dn, Some(0x4)).0, Verdict::Warn);
        assert_eq!(enctypes("a$", dn, Some(0x1f)).0, Verdict::Warn);
        let (v, detail, fix) = enctypes("a$", dn, Some(0x18));
        assert_eq!((v, fix), (Verdict::Pass, None));
        assert_eq!(detail, "msDS-SupportedEncryptionTypes 0x18: aes128, aes256");
        assert_eq!(enctypes("a$", dn, Some(0x1c)).0, Verdict::Pass);
        // bits beyond the key-carrying ones (e.g. 0x20 AES session keys) are ignored
        assert_eq!(enctypes("a$", dn, Some(0x38)).0, Verdict::Pass);
    }

    #[test]
    fn reader_fix_names_the_host_and_both_tools() {
        let f = reader_fix("svc_denied$", "HOST1$@EXAMPLE.TEST");
        assert!(f.contains(
            "Set-ADServiceAccount -Identity svc_denied -PrincipalsAllowedToRetrieveManagedPassword <current principals>,'HOST1$'"
        ));
        assert!(f.contains(
            "samba-tool service-account group-msa-membership add --name='svc_denied$' --principal='HOST1$'"
        ));
    }

    #[test]
    fn config_file_trust() {
        assert_eq!(config_trust(0, 0o100644).0, Verdict::Pass);
        assert_eq!(config_trust(0, 0o640).0, Verdict::Pass);
        assert_eq!(config_trust(1000, 0o644).0, Verdict::Fail);
        assert_eq!(config_trust(0, 0o664).0, Verdict::Fail);
        assert_eq!(config_trust(0, 0o646).0, Verdict::Fail);
    }
}
