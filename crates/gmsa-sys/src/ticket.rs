//! Proving derived keys against the KDC: a service ticket for the gMSA, handed back instead of
//! stored, and MIT's own decryption of its enc-part.
//!
//! Decryption goes through libkrb5 (`krb5_c_decrypt`) rather than a Rust implementation of
//! AES-CTS-HMAC-SHA1 and RC4-HMAC: it is the code every MIT acceptor (`kvno -k`, GSSAPI
//! services) runs on these very tickets, so "MIT decrypts it" is the property we want, and it
//! adds no cipher code of our own to get wrong.

use super::{Exchange, Kind, KrbError, Login, krb5};
use std::ffi::{c_char, c_uint};
use std::ptr;
use zeroize::Zeroizing;

/// Key usage of a ticket's enc-part (RFC 4120 §7.5.1: "AS-REP Ticket and TGS-REP Ticket").
pub const KEY_USAGE_TICKET: i32 = 2;

impl Login {
    /// Starts a TGS exchange for `service` whose ticket [`Exchange::ticket`] returns and the
    /// ccache never holds.
    pub fn ticket_exchange(&self, service: &str) -> Result<Exchange<'_>, KrbError> {
        self.tgs_exchange(service, krb5::GC_NO_STORE)
    }

    /// Decrypts `cipher` with `key` of `enctype` for `usage`, checking its integrity. The
    /// plaintext (a ticket's session key and PAC) is wiped on drop.
    pub fn decrypt(
        &self,
        enctype: i32,
        key: &[u8],
        usage: i32,
        cipher: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KrbError> {
        let too_large = || KrbError {
            call: "krb5_c_decrypt",
            code: 0,
            message: "input too large".into(),
        };
        let key_len = c_uint::try_from(key.len()).map_err(|_| too_large())?;
        let cipher_len = c_uint::try_from(cipher.len()).map_err(|_| too_large())?;
        let keyblock = keyblock(enctype, key, key_len);
        let input = krb5::krb5_enc_data {
            magic: 0,
            enctype,
            kvno: 0,
            ciphertext: krb5::krb5_data {
                magic: 0,
                length: cipher_len,
                data: cipher.as_ptr() as *mut c_char,
            },
        };
        // MIT wants an output buffer as long as the ciphertext and trims its length.
        let mut plain = Zeroizing::new(vec![0u8; cipher.len().max(1)]);
        let mut output = krb5::krb5_data {
            magic: 0,
            length: cipher_len,
            data: plain.as_mut_ptr() as *mut c_char,
        };
        // SAFETY: live context; `keyblock` and `input` point at `key` and `cipher`, which
        // outlive the call and which MIT only reads (const parameters); `output.data` points at
        // `plain`, at least `output.length` writable bytes that MIT fills and whose length it
        // lowers; a NULL cipher state means "none".
        let code = unsafe {
            krb5::krb5_c_decrypt(self.ctx, &keyblock, usage, ptr::null(), &input, &mut output)
        };
        if code != 0 {
            return Err(self.error("krb5_c_decrypt", code));
        }
        let n = (output.length as usize).min(plain.len());
        plain.truncate(n);
        Ok(plain)
    }

    /// Encrypts `plain` with `key` of `enctype` for `usage` (a random confounder, MIT's own
    /// integrity check): what a KDC does to a ticket's enc-part. The daemon never encrypts;
    /// the tests' recorded domain issues tickets with it, so [`Login::decrypt`] is judged on
    /// MIT's output rather than on a cipher of our own.
    pub fn encrypt(
        &self,
        enctype: i32,
        key: &[u8],
        usage: i32,
        plain: &[u8],
    ) -> Result<Vec<u8>, KrbError> {
        let too_large = || KrbError {
            call: "krb5_c_encrypt",
            code: 0,
            message: "input too large".into(),
        };
        let key_len = c_uint::try_from(key.len()).map_err(|_| too_large())?;
        let plain_len = c_uint::try_from(plain.len()).map_err(|_| too_large())?;
        let mut needed = 0usize;
        // SAFETY: live context; `needed` is a valid, writable usize for the call.
        let code =
            unsafe { krb5::krb5_c_encrypt_length(self.ctx, enctype, plain.len(), &mut needed) };
        if code != 0 {
            return Err(self.error("krb5_c_encrypt_length", code));
        }
        let mut cipher = vec![0u8; needed];
        let keyblock = keyblock(enctype, key, key_len);
        let input = krb5::krb5_data {
            magic: 0,
            length: plain_len,
            data: plain.as_ptr() as *mut c_char,
        };
        let mut output = krb5::krb5_enc_data {
            magic: 0,
            enctype,
            kvno: 0,
            ciphertext: krb5::krb5_data {
                magic: 0,
                length: c_uint::try_from(needed).map_err(|_| too_large())?,
                data: cipher.as_mut_ptr() as *mut c_char,
            },
        };
        // SAFETY: live context; `keyblock` and `input` point at `key` and `plain`, which outlive
        // the call and which MIT only reads (const parameters); `output.ciphertext` points at
        // `cipher`, exactly the `needed` writable bytes krb5_c_encrypt_length asked for, which
        // MIT fills and whose length it sets; a NULL cipher state means "none".
        let code = unsafe {
            krb5::krb5_c_encrypt(self.ctx, &keyblock, usage, ptr::null(), &input, &mut output)
        };
        if code != 0 {
            return Err(self.error("krb5_c_encrypt", code));
        }
        let n = (output.ciphertext.length as usize).min(cipher.len());
        cipher.truncate(n);
        Ok(cipher)
    }
}

/// A keyblock that borrows `key` (MIT only reads it through the const parameters it is
/// passed to); `len` is `key.len()`, already checked to fit.
fn keyblock(enctype: i32, key: &[u8], len: c_uint) -> krb5::krb5_keyblock {
    krb5::krb5_keyblock {
        magic: 0,
        enctype,
        length: len,
        contents: key.as_ptr() as *mut u8,
    }
}

impl Exchange<'_> {
    /// After [`super::Step::Done`] of a [`Login::ticket_exchange`]: the encoded Ticket.
    pub fn ticket(self) -> Result<Vec<u8>, KrbError> {
        let login = self.login;
        let Kind::Service { tctx, .. } = &self.kind else {
            return Err(KrbError {
                call: "krb5_tkt_creds_get_creds",
                code: 0,
                message: "not a service-ticket exchange".into(),
            });
        };
        let mut creds = krb5::krb5_creds::zeroed();
        // SAFETY: `tctx` is the live TGS context of this exchange, made with `login.ctx`, and
        // has completed; `creds` is a zeroed krb5_creds (layout checked in krb5.rs) that MIT
        // fills with copies we own.
        let code = unsafe { krb5::krb5_tkt_creds_get_creds(login.ctx, *tctx, &mut creds) };
        if code != 0 {
            return Err(login.error("krb5_tkt_creds_get_creds", code));
        }
        // SAFETY: on success `creds.ticket` holds `length` bytes at `data` (or is empty);
        // copied before the free below.
        let ticket = unsafe { super::data_bytes(&creds.ticket) };
        // SAFETY: `creds` holds only what krb5_tkt_creds_get_creds allocated; freed once (MIT
        // wipes the session key).
        unsafe { krb5::krb5_free_cred_contents(login.ctx, &mut creds) };
        Ok(ticket)
    }
}
