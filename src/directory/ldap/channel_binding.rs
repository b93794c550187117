//! Whether the DC's certificate allows a tls-server-end-point channel binding. Pure: the
//! certificate's DER bytes in, the verdict out.

/// Whether a tls-server-end-point channel binding (RFC 5929) exists for this certificate.
/// This mirrors native-tls's `tls_server_end_point` (OpenSSL backend), which ldap3 uses to
/// build the binding: the hash of the certificate's signature algorithm, SHA-256 for MD5 and
/// SHA-1. When it has none, ldap3 binds silently without channel binding; we refuse instead.
pub(crate) fn channel_binding_available(der: &[u8]) -> Result<(), String> {
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    let cert =
        openssl::x509::X509::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
    let nid = cert.signature_algorithm().object().nid();
    let algs = nid
        .signature_algorithms()
        .ok_or_else(|| format!("certificate signature algorithm {nid:?} has no digest"))?;
    match algs.digest {
        Nid::MD5 | Nid::SHA1 => Ok(()),
        digest => MessageDigest::from_nid(digest)
            .map(|_| ())
            .ok_or_else(|| format!("no hash for digest {digest:?}")),
    }
}
