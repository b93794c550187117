//! GSSAPI: the initiator credential over a private ccache, and status texts.

use super::*;

/// An initiator credential for `principal` over the ccache `ccache` (a `MEMORY:` name), with
/// `client_keytab` in the store so that MIT may refresh the initial ticket from it.
pub(super) fn acquire_cred_from(
    principal: &str,
    client_keytab: &Path,
    ccache: &CStr,
) -> Result<Cred, GssError> {
    let local = |what: &str| GssError {
        call: "gss_acquire_cred_from",
        major: 0,
        minor: 0,
        message: what.to_string(),
    };
    let keytab = CString::new(client_keytab.as_os_str().as_bytes())
        .map_err(|_| local("the client keytab path contains a NUL byte"))?;
    let mut principal_bytes = principal.as_bytes().to_vec();

    let mut mech_oid = ffi::gss_OID_desc {
        length: KRB5_MECH_OID.len() as u32,
        elements: KRB5_MECH_OID.as_ptr() as *mut c_void,
    };
    let mut mechs = ffi::gss_OID_set_desc {
        count: 1,
        elements: &mut mech_oid,
    };
    let mut name_type = ffi::gss_OID_desc {
        length: KRB5_NT_PRINCIPAL_OID.len() as u32,
        elements: KRB5_NT_PRINCIPAL_OID.as_ptr() as *mut c_void,
    };
    let mut store_elements = [
        ffi::gss_key_value_element_desc {
            key: c"client_keytab".as_ptr(),
            value: keytab.as_ptr(),
        },
        ffi::gss_key_value_element_desc {
            key: c"ccache".as_ptr(),
            value: ccache.as_ptr(),
        },
    ];
    let store = ffi::gss_key_value_set_desc {
        count: store_elements.len() as u32,
        elements: store_elements.as_mut_ptr(),
    };

    let mut name_buf = ffi::gss_buffer_desc {
        length: principal_bytes.len(),
        value: principal_bytes.as_mut_ptr() as *mut c_void,
    };
    let mut minor: u32 = 0;
    let mut name: ffi::gss_name_t = ptr::null_mut();
    // SAFETY: `name_buf` points at `principal_bytes`, alive and unmoved for the whole call;
    // `name_type` is a valid OID descriptor on the stack whose elements point at a static array;
    // `minor` and `name` are valid out-pointers. gss_import_name copies what it needs.
    let major =
        unsafe { ffi::gss_import_name(&mut minor, &mut name_buf, &mut name_type, &mut name) };
    if major != 0 {
        return Err(status_error("gss_import_name", major, minor));
    }

    let mut cred: ffi::gss_cred_id_t = ptr::null_mut();
    // SAFETY: every pointer refers to a live local: `name` was produced by gss_import_name above;
    // `mechs` points at `mech_oid` (static OID bytes); `store` points at `store_elements`, whose
    // strings are owned by `keytab`, `ccache` (borrowed from the caller for the call) and C
    // string literals; `cred` is a valid out-pointer; actual_mechs and time_rec may be NULL per
    // RFC 2744 / MIT.
    let major = unsafe {
        ffi::gss_acquire_cred_from(
            &mut minor,
            name,
            ffi::_GSS_C_INDEFINITE,
            &mut mechs,
            ffi::GSS_C_INITIATE as ffi::gss_cred_usage_t,
            &store,
            &mut cred,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    let acquire_minor = minor;
    let mut release_minor: u32 = 0;
    // SAFETY: `name` came from a successful gss_import_name and is released exactly once here;
    // gss_release_name sets it to GSS_C_NO_NAME.
    unsafe { ffi::gss_release_name(&mut release_minor, &mut name) };
    if major != 0 {
        if !cred.is_null() {
            // SAFETY: a non-null handle returned by the failed call is ours to release, once.
            unsafe { ffi::gss_release_cred(&mut release_minor, &mut cred) };
        }
        return Err(status_error("gss_acquire_cred_from", major, acquire_minor));
    }
    if cred.is_null() {
        return Err(local("returned success but no credential"));
    }
    // `Cred` takes ownership of the handle and releases it on drop.
    Ok(Cred::from(cred))
}

/// `MEMORY:gmsa-keytab-<pid>-<random>`: unique per process and per call, never on disk.
pub(super) fn memory_ccache_name() -> Result<String, String> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness for the ccache name: {e}"))?;
    Ok(format!(
        "MEMORY:gmsa-keytab-{}-{:016x}",
        std::process::id(),
        u64::from_ne_bytes(random)
    ))
}

fn status_error(call: &'static str, major: u32, minor: u32) -> GssError {
    let mut message = display_status(major, ffi::GSS_C_GSS_CODE as i32);
    if minor != 0 {
        let mech = display_status(minor, ffi::GSS_C_MECH_CODE as i32);
        if !mech.is_empty() {
            message.push_str(": ");
            message.push_str(&mech);
        }
    }
    GssError {
        call,
        major,
        minor,
        message,
    }
}

/// All messages `gss_display_status` has for one status code, joined with "; ".
pub fn display_status(code: u32, code_type: c_int) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut context: u32 = 0;
    let mut mech_oid = ffi::gss_OID_desc {
        length: KRB5_MECH_OID.len() as u32,
        elements: KRB5_MECH_OID.as_ptr() as *mut c_void,
    };
    // MIT returns one message per call and a non-zero context while more remain; bound the
    // loop anyway so a misbehaving library cannot spin us.
    for _ in 0..8 {
        let mut minor: u32 = 0;
        let mut buf = ffi::gss_buffer_desc {
            length: 0,
            value: ptr::null_mut(),
        };
        // SAFETY: `minor`, `context` and `buf` are valid out-pointers; `mech_oid` is a valid OID
        // descriptor pointing at static bytes. On success `buf` holds memory owned by GSSAPI.
        let major = unsafe {
            ffi::gss_display_status(
                &mut minor,
                code,
                code_type,
                &mut mech_oid,
                &mut context,
                &mut buf,
            )
        };
        if major != 0 {
            break;
        }
        if !buf.value.is_null() && buf.length > 0 {
            // SAFETY: on success gss_display_status filled `buf` with `length` readable bytes at
            // `value`; we copy them out before releasing the buffer below.
            let bytes = unsafe { std::slice::from_raw_parts(buf.value as *const u8, buf.length) };
            parts.push(String::from_utf8_lossy(bytes).into_owned());
        }
        // SAFETY: `buf` was filled by gss_display_status (or is empty); it is released once.
        unsafe { ffi::gss_release_buffer(&mut minor, &mut buf) };
        if context == 0 {
            break;
        }
    }
    if parts.is_empty() {
        format!("unknown GSSAPI status {code:#x}")
    } else {
        parts.join("; ")
    }
}
