//! DC names as the configuration and DNS give them: host names, AD site names, `host[:port]`.
//! Pure: text in, a [`Candidate`] or the reason out (the daemon's `directory::discover` wraps
//! the reason in its `BadOption` error; the configuration parser names the key with it).

use std::net::IpAddr;

/// A DC to try: its DNS host name (for the `ldap/<host>` principal and TLS) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// A DC host name: letters, digits, '-', '_' and dots, no IP literal. The Kerberos service
/// principal is `ldap/<host name>`; an IP address has no such principal.
pub fn check_host_name(host: &str) -> Result<(), String> {
    if host.parse::<IpAddr>().is_ok()
        || host.starts_with('[')
        || host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "server {host:?} is an IP address; give the DC's DNS host name (Kerberos needs \
             ldap/<host name>)"
        ));
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("server {host:?} is not a valid DNS host name"))
    }
}

/// An AD site name as it appears in DNS: one label.
pub fn check_site(site: &str) -> Result<(), String> {
    let ok = !site.is_empty()
        && site.len() <= 63
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "site {site:?} is not a DNS label (letters, digits, '-', '_')"
        ))
    }
}

/// `host` or `host:port` from the configuration.
pub fn parse_server(spec: &str, default_port: u16) -> Result<Candidate, String> {
    let spec = spec.trim();
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port = p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("server {spec:?}: {p:?} is not a port number"))?;
            (h, port)
        }
        _ => (spec, default_port),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    check_host_name(host)?;
    Ok(Candidate {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_specs() {
        assert_eq!(
            parse_server("dc1.example.test", 389).unwrap(),
            Candidate {
                host: "dc1.example.test".into(),
                port: 389
            }
        );
        assert_eq!(
            parse_server("dc1.example.test.:636", 389).unwrap().port,
            636
        );
        for bad in [
            "127.0.0.10",
            "[::1]:389",
            "::1",
            "dc1:0",
            "dc1:x",
            "",
            "a b",
            "-dc",
        ] {
            assert!(parse_server(bad, 389).is_err(), "{bad}");
        }
    }

    #[test]
    fn site_names() {
        assert!(check_site("Default-First-Site-Name").is_ok());
        for bad in ["", "a.b", "a b", &"x".repeat(64)] {
            assert!(check_site(bad).is_err(), "{bad}");
        }
    }
}
