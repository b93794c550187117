//! `/etc/resolv.conf` as glibc reads it: the nameservers and the `timeout`/`attempts` options.
//! Pure: the text is a parameter (the daemon's `directory::discover::resolver` reads the file).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What /etc/resolv.conf says about where and how to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<SocketAddr>,
    pub timeout: Duration,
    pub attempts: u32,
}

/// Reads the `nameserver` lines (at most 3, as glibc) and `options timeout:N attempts:N`.
/// No nameserver means the local one, as glibc assumes.
pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut conf = ResolvConf {
        nameservers: Vec::new(),
        timeout: Duration::from_secs(5),
        attempts: 2,
    };
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                // Link-local IPv6 with a %scope is skipped: it needs an interface index.
                if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok())
                    && conf.nameservers.len() < 3
                {
                    conf.nameservers.push(SocketAddr::new(ip, 53));
                }
            }
            Some("options") => {
                for opt in words {
                    if let Some(v) = opt
                        .strip_prefix("timeout:")
                        .and_then(|v| v.parse::<u64>().ok())
                    {
                        conf.timeout = Duration::from_secs(v.clamp(1, 30));
                    } else if let Some(v) = opt
                        .strip_prefix("attempts:")
                        .and_then(|v| v.parse::<u32>().ok())
                    {
                        conf.attempts = v.clamp(1, 5);
                    }
                }
            }
            _ => {}
        }
    }
    if conf.nameservers.is_empty() {
        conf.nameservers
            .push(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 53));
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_parsing() {
        let c = parse_resolv_conf(
            "# comment\nsearch example.test\nnameserver 127.0.0.10\nnameserver ::1 \n\
             nameserver fe80::1%eth0\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n\
             options ndots:1 timeout:2 attempts:3 rotate\n",
        );
        assert_eq!(
            c.nameservers,
            vec![
                "127.0.0.10:53".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "10.0.0.1:53".parse().unwrap()
            ]
        );
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.attempts, 3);
        let d = parse_resolv_conf("");
        assert_eq!(d.nameservers, vec!["127.0.0.1:53".parse().unwrap()]);
        assert_eq!((d.timeout, d.attempts), (Duration::from_secs(5), 2));
    }
}
