use super::*;

#[test]
fn ccache_names_are_private_and_unique() {
    let a = memory_ccache_name().unwrap();
    let b = memory_ccache_name().unwrap();
    assert!(a.starts_with(&format!("MEMORY:gmsa-keytab-{}-", std::process::id())));
    assert_ne!(a, b);
    let la = Login::new("host1$@EXAMPLE.TEST").unwrap();
    let lb = Login::new("host1$@EXAMPLE.TEST").unwrap();
    assert!(la.ccache_name().starts_with("MEMORY:gmsa-keytab-"));
    assert_ne!(la.ccache_name(), lb.ccache_name());
    assert_eq!(la.principal(), "host1$@EXAMPLE.TEST");
}

#[link(name = "krb5")]
unsafe extern "C" {
    fn krb5_cc_get_principal(
        context: *mut krb5::Context,
        cache: *mut krb5::Ccache,
        principal: *mut *mut krb5::Principal,
    ) -> krb5::krb5_error_code;
    fn krb5_cc_close(context: *mut krb5::Context, cache: *mut krb5::Ccache) -> i32;
}

/// Whether the MEMORY ccache `name` holds a principal, seen through a separate context
/// and handle (as GSSAPI sees it).
fn ccache_has_principal(name: &CStr) -> bool {
    let mut ctx: *mut krb5::Context = ptr::null_mut();
    // SAFETY: test helper; valid out-pointers, every object freed before returning.
    unsafe {
        assert_eq!(krb5::krb5_init_context(&mut ctx), 0);
        let mut cc: *mut krb5::Ccache = ptr::null_mut();
        assert_eq!(krb5::krb5_cc_resolve(ctx, name.as_ptr(), &mut cc), 0);
        let mut p: *mut krb5::Principal = ptr::null_mut();
        let found = krb5_cc_get_principal(ctx, cc, &mut p) == 0;
        if found {
            krb5::krb5_free_principal(ctx, p);
        }
        // Only close: destroying would empty the cache for the Login too. (Resolving a
        // name that is gone leaves an empty cache behind; harmless in a test.)
        krb5_cc_close(ctx, cc);
        krb5::krb5_free_context(ctx);
        found
    }
}

#[test]
fn dropping_the_login_destroys_its_ccache() {
    let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
    let name = login.ccache_name.clone();
    // SAFETY: live context, ccache and principal of `login`.
    let code = unsafe { krb5::krb5_cc_initialize(login.ctx, login.ccache, login.client) };
    assert_eq!(code, 0);
    assert!(ccache_has_principal(&name), "initialized cache not visible");
    // Still there while the Login lives (GSSAPI uses it by name)...
    assert!(ccache_has_principal(&name));
    drop(login);
    // ...and gone (emptied and unlinked from the process table) once it is dropped.
    assert!(!ccache_has_principal(&name));
}

#[test]
fn status_codes_have_text() {
    // GSS_S_NO_CRED (7 << 16) is a routine error every implementation names.
    let text = display_status(7 << 16, ffi::GSS_C_GSS_CODE as i32);
    assert!(!text.is_empty());
    assert!(!text.starts_with("unknown"), "{text}");
}

#[test]
fn krb5_error_codes_have_mit_text() {
    let e = error_from(ptr::null_mut(), "x", krb5_codes::KDC_ERR_PREAUTH_FAILED);
    assert_eq!(e.message, "Preauthentication failed");
    let e = error_from(ptr::null_mut(), "x", krb5_codes::AP_ERR_SKEW);
    assert_eq!(e.message, "Clock skew too great");
    let e = error_from(
        ptr::null_mut(),
        "x",
        krb5_codes::KDC_ERR_C_PRINCIPAL_UNKNOWN,
    );
    assert!(e.message.contains("not found in Kerberos database"), "{e}");
}

#[test]
fn bad_principals_are_errors() {
    assert!(Login::new("a@b@c").is_err());
    assert!(Login::new("nul\0byte").is_err());
}

#[test]
fn initial_exchange_starts_offline_and_drops_cleanly() {
    // The first step needs no KDC and no keytab contents: it only builds the AS-REQ (the
    // keytab is read once the KDC has said which enctype and salt it wants).
    let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
    let mut ex = login
        .initial_exchange(Path::new("/nonexistent/krb5.keytab"))
        .unwrap();
    match ex.step(None) {
        Ok(Step::Send { request, realm }) => {
            assert_eq!(realm, "EXAMPLE.TEST");
            // An AS-REQ: [APPLICATION 10].
            assert_eq!(request.first(), Some(&0x6a), "{request:02x?}");
        }
        other => panic!("{other:?}"),
    }
    // A reply that is not Kerberos is an error, not a crash.
    let garbage = ex.step(Some(b"\x00\x01garbage"));
    assert!(matches!(&garbage, Err(e) if e.code != 0), "{garbage:?}");
    drop(ex);
    drop(login);
}

#[test]
fn service_exchange_without_a_ticket_fails_cleanly() {
    // An empty ccache has no TGT: the TGS exchange cannot start, and nothing leaks.
    let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
    match login.service_exchange("ldap/dc1.example.test@EXAMPLE.TEST") {
        Err(e) => assert_ne!(e.code, 0, "{e}"),
        Ok(mut ex) => assert!(ex.step(None).is_err()),
    }
}

#[test]
fn what_mit_encrypts_only_the_same_key_decrypts() {
    let login = Login::new("host1$@EXAMPLE.TEST").unwrap();
    for (enctype, len) in [(18, 32), (17, 16), (23, 16)] {
        let key = vec![0x5a; len];
        let plain = b"an EncTicketPart, as far as the integrity check cares";
        let cipher = login
            .encrypt(enctype, &key, KEY_USAGE_TICKET, plain)
            .unwrap();
        assert_ne!(&cipher[..], &plain[..]);
        let back = login
            .decrypt(enctype, &key, KEY_USAGE_TICKET, &cipher)
            .unwrap();
        assert_eq!(&back[..], &plain[..], "enctype {enctype}");
        let mut other = key.clone();
        other[0] ^= 1;
        assert!(
            login
                .decrypt(enctype, &other, KEY_USAGE_TICKET, &cipher)
                .is_err()
        );
        // Another key usage is another key, too.
        assert!(login.decrypt(enctype, &key, 3, &cipher).is_err());
    }
}
