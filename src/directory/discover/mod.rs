//! Which domain controllers to try, in which order: an explicit list, or DNS SRV records
//! (`_ldap._tcp[.<site>._sites].dc._msdcs.<domain>`) ordered per RFC 2782.

pub mod dns;

use crate::directory::error::DirectoryError;
use dns::{Answer, SrvRecord};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout, timeout_at};

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
pub fn check_host_name(host: &str) -> Result<(), DirectoryError> {
    if host.parse::<IpAddr>().is_ok()
        || host.starts_with('[')
        || host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(DirectoryError::BadOption(format!(
            "server {host:?} is an IP address; give the DC's DNS host name (Kerberos needs \
             ldap/<host name>)"
        )));
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
        Err(DirectoryError::BadOption(format!(
            "server {host:?} is not a valid DNS host name"
        )))
    }
}

/// An AD site name as it appears in DNS: one label.
pub fn check_site(site: &str) -> Result<(), DirectoryError> {
    let ok = !site.is_empty()
        && site.len() <= 63
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DirectoryError::BadOption(format!(
            "site {site:?} is not a DNS label (letters, digits, '-', '_')"
        )))
    }
}

/// `host` or `host:port` from the configuration.
pub fn parse_server(spec: &str, default_port: u16) -> Result<Candidate, DirectoryError> {
    let spec = spec.trim();
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port = p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
                DirectoryError::BadOption(format!("server {spec:?}: {p:?} is not a port number"))
            })?;
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

/// The SRV names to ask, most specific first.
pub fn srv_names(domain: &str, site: Option<&str>) -> Vec<String> {
    let domain = domain.trim_end_matches('.');
    let mut names = Vec::new();
    if let Some(site) = site.filter(|s| !s.is_empty()) {
        names.push(format!("_ldap._tcp.{site}._sites.dc._msdcs.{domain}"));
    }
    names.push(format!("_ldap._tcp.dc._msdcs.{domain}"));
    names
}

/// RFC 2782 order: ascending priority; within a priority, repeated weighted random choice, with
/// zero-weight records first in the running sum so they are picked only rarely when others have
/// weight. `random_upto(n)` must return a uniform value in `0..=n`. Records whose target is "."
/// (service not offered) and duplicates are dropped.
pub fn order_srv(records: &[SrvRecord], random_upto: &mut dyn FnMut(u64) -> u64) -> Vec<SrvRecord> {
    let mut pending: Vec<SrvRecord> = Vec::new();
    for r in records {
        let dup = pending
            .iter()
            .any(|p| p.target.eq_ignore_ascii_case(&r.target) && p.port == r.port);
        if !r.target.is_empty() && !dup {
            pending.push(r.clone());
        }
    }
    pending.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(pending.len());
    while let Some(first) = pending.first() {
        let priority = first.priority;
        let mut group: Vec<SrvRecord> = Vec::new();
        while pending.first().is_some_and(|r| r.priority == priority) {
            group.push(pending.remove(0));
        }
        while !group.is_empty() {
            let total: u64 = group.iter().map(|r| u64::from(r.weight)).sum();
            let pick = random_upto(total).min(total);
            let mut running = 0u64;
            let mut chosen = group.len() - 1;
            for (i, r) in group.iter().enumerate() {
                running += u64::from(r.weight);
                if running >= pick {
                    chosen = i;
                    break;
                }
            }
            out.push(group.remove(chosen));
        }
    }
    out
}

/// Uniform in `0..=n` from the OS generator (rejection sampling; no modulo bias).
pub fn os_random_upto(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let span = n.saturating_add(1);
    let zone = if span == 0 {
        u64::MAX
    } else {
        u64::MAX - (u64::MAX % span)
    };
    for _ in 0..64 {
        let mut b = [0u8; 8];
        if getrandom::fill(&mut b).is_err() {
            break;
        }
        let v = u64::from_ne_bytes(b);
        if v < zone {
            return if span == 0 { v } else { v % span };
        }
    }
    // No randomness: fall back to the first record, which is still a valid RFC 2782 order.
    0
}

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

/// Looks up the SRV records of `name`. `Ok(None)` means the name has no records (NXDOMAIN or
/// an empty answer); errors mean no server gave a usable answer before `deadline`.
pub async fn query_srv(
    conf: &ResolvConf,
    name: &str,
    deadline: Instant,
) -> Result<Option<Vec<SrvRecord>>, DirectoryError> {
    let dns_err = |detail: String| DirectoryError::Dns {
        name: name.to_string(),
        detail,
    };
    let mut failures: Vec<String> = Vec::new();
    for _attempt in 0..conf.attempts {
        for server in &conf.nameservers {
            if Instant::now() >= deadline {
                failures.push("overall time limit reached".into());
                return Err(dns_err(failures.join("; ")));
            }
            let try_deadline = (Instant::now() + conf.timeout).min(deadline);
            match ask_one(*server, name, try_deadline).await {
                Ok(answer) if answer.rcode == 0 => {
                    return Ok(Some(answer.records).filter(|r| !r.is_empty()));
                }
                Ok(answer) if answer.rcode == dns::RCODE_NXDOMAIN => return Ok(None),
                Ok(answer) => failures.push(format!("{server}: {}", rcode_text(answer.rcode))),
                Err(e) => failures.push(format!("{server}: {e}")),
            }
        }
    }
    failures.dedup();
    Err(dns_err(failures.join("; ")))
}

fn rcode_text(rcode: u8) -> String {
    match rcode {
        2 => "server failure (SERVFAIL)".into(),
        4 => "not implemented (NOTIMP)".into(),
        5 => "refused (REFUSED)".into(),
        n => format!("error code {n}"),
    }
}

/// A random query id: with the question check and connect(), it is what stops an off-path
/// forger. Without randomness the query is not sent (a fixed id 0 would be trivial to spoof).
fn new_id() -> Result<u16, String> {
    let mut b = [0u8; 2];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness for the DNS query id: {e}"))?;
    Ok(u16::from_ne_bytes(b))
}

/// One question to one server over UDP, again over TCP if the answer was truncated.
async fn ask_one(server: SocketAddr, name: &str, deadline: Instant) -> Result<Answer, String> {
    let id = new_id()?;
    let query = dns::build_query(id, name).map_err(|e| e.to_string())?;
    let bind: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    // connect(): the kernel drops datagrams from any other address or port.
    sock.connect(server).await.map_err(|e| e.to_string())?;
    sock.send(&query).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 65535];
    let answer = loop {
        let n = match timeout_at(deadline, sock.recv(&mut buf)).await {
            Err(_) => return Err("no answer (timeout)".into()),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(n)) => n,
        };
        match dns::parse_answer(&buf[..n], id, name) {
            // A stray or forged datagram: keep waiting for ours.
            Err(dns::DnsError::IdMismatch { .. }) | Err(dns::DnsError::WrongQuestion) => continue,
            Err(e) => return Err(e.to_string()),
            Ok(a) => break a,
        }
    };
    if !answer.truncated {
        return Ok(answer);
    }
    ask_tcp(server, name, deadline).await
}

async fn ask_tcp(server: SocketAddr, name: &str, deadline: Instant) -> Result<Answer, String> {
    let id = new_id()?;
    let query = dns::build_query(id, name).map_err(|e| e.to_string())?;
    let exchange = async {
        let mut tcp = TcpStream::connect(server).await?;
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&query);
        tcp.write_all(&framed).await?;
        let mut len = [0u8; 2];
        tcp.read_exact(&mut len).await?;
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        tcp.read_exact(&mut msg).await?;
        Ok::<_, std::io::Error>(msg)
    };
    let msg = match timeout_at(deadline, exchange).await {
        Err(_) => return Err("no answer over TCP (timeout)".into()),
        Ok(Err(e)) => return Err(format!("over TCP: {e}")),
        Ok(Ok(m)) => m,
    };
    let answer = dns::parse_answer(&msg, id, name).map_err(|e| format!("over TCP: {e}"))?;
    if answer.truncated {
        return Err("answer truncated even over TCP".into());
    }
    Ok(answer)
}

/// This host's resolver settings (`/etc/resolv.conf`; unreadable: the defaults).
pub fn system_resolv_conf() -> ResolvConf {
    match std::fs::read_to_string("/etc/resolv.conf") {
        Ok(text) => parse_resolv_conf(&text),
        Err(_) => parse_resolv_conf(""),
    }
}

/// The DCs to try for `domain`: the site's DCs first (if a site is given), then the rest of the
/// domain's DCs as fallbacks; each set in RFC 2782 order.
pub async fn discover(
    domain: &str,
    site: Option<&str>,
    limit: Duration,
    port_override: Option<u16>,
) -> Result<Vec<Candidate>, DirectoryError> {
    let conf = system_resolv_conf();
    let names = srv_names(domain, site);
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut last_error: Option<DirectoryError> = None;
    for name in &names {
        let deadline = Instant::now() + limit;
        match timeout(limit, query_srv(&conf, name, deadline)).await {
            Ok(Ok(Some(records))) => {
                let ordered = order_srv(&records, &mut os_random_upto);
                append_candidates(&mut candidates, ordered, port_override);
            }
            // A definite "no records" for the domain-wide name outweighs a failed site lookup.
            Ok(Ok(None)) => last_error = None,
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => {
                last_error = Some(DirectoryError::Dns {
                    name: name.clone(),
                    detail: "no answer in time".into(),
                })
            }
        }
    }
    if !candidates.is_empty() {
        return Ok(candidates);
    }
    Err(last_error.unwrap_or(DirectoryError::NoDcRecords { names }))
}

/// Adds SRV targets that are usable host names and not listed yet (site DCs reappear in the
/// domain-wide records).
pub fn append_candidates(
    list: &mut Vec<Candidate>,
    ordered: Vec<SrvRecord>,
    port_override: Option<u16>,
) {
    for r in ordered {
        let port = port_override.unwrap_or(r.port);
        let known = list
            .iter()
            .any(|c| c.port == port && c.host.eq_ignore_ascii_case(&r.target));
        if !known && check_host_name(&r.target).is_ok() {
            list.push(Candidate {
                host: r.target,
                port,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port: 389,
            target: target.into(),
        }
    }

    fn targets(v: &[SrvRecord]) -> Vec<&str> {
        v.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn priority_orders_groups() {
        let recs = [rec(20, 0, "c"), rec(0, 0, "a"), rec(10, 0, "b")];
        let out = order_srv(&recs, &mut |_| 0);
        assert_eq!(targets(&out), ["a", "b", "c"]);
    }

    #[test]
    fn weight_selection_follows_running_sum() {
        // zero weight first, then a (w 10), b (w 30): sums 0, 10, 40.
        let recs = [rec(0, 10, "a"), rec(0, 0, "z"), rec(0, 30, "b")];
        // pick 0 -> z (running sum 0 >= 0)
        assert_eq!(targets(&order_srv(&recs, &mut |_| 0))[0], "z");
        // pick 5 -> a; then remaining z(0), b(30): pick 5 -> b; then z
        assert_eq!(targets(&order_srv(&recs, &mut |_| 5)), ["a", "b", "z"]);
        // pick = total -> the last one with weight
        assert_eq!(targets(&order_srv(&recs, &mut |n| n))[0], "b");
        // a generator that overshoots is clamped
        assert_eq!(targets(&order_srv(&recs, &mut |_| u64::MAX))[0], "b");
    }

    #[test]
    fn weights_share_the_load_roughly() {
        // Deterministic xorshift so the test is reproducible.
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rng = move |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % (n + 1)
        };
        let recs = [
            rec(0, 75, "heavy"),
            rec(0, 25, "light"),
            rec(1, 100, "backup"),
        ];
        let mut heavy_first = 0;
        for _ in 0..4000 {
            let out = order_srv(&recs, &mut rng);
            assert_eq!(out[2].target, "backup");
            if out[0].target == "heavy" {
                heavy_first += 1;
            }
        }
        assert!((2800..3200).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn dot_targets_and_duplicates_are_dropped() {
        let recs = [rec(0, 0, ""), rec(0, 0, "dc1"), rec(0, 5, "DC1")];
        assert_eq!(targets(&order_srv(&recs, &mut |_| 0)), ["dc1"]);
        assert!(order_srv(&[], &mut |_| 0).is_empty());
    }

    #[test]
    fn os_random_stays_in_range() {
        for n in [0u64, 1, 2, 7, 100, u64::MAX] {
            for _ in 0..50 {
                assert!(os_random_upto(n) <= n);
            }
        }
    }

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

    /// An answer to `query` (whose question we echo) with the TC bit or one SRV record.
    fn fake_answer(query: &[u8], truncated: bool) -> Vec<u8> {
        let question_end = query.len() - 11; // our query ends with an 11-byte OPT record
        let mut m = query[..question_end].to_vec();
        m[2] = if truncated { 0x83 } else { 0x81 };
        m[3] = 0x80;
        m[10] = 0;
        m[11] = 0; // no additional records
        if !truncated {
            m[7] = 1; // one answer
            m.extend_from_slice(&[0xC0, 12, 0, 33, 0, 1, 0, 0, 2, 88, 0, 24]);
            m.extend_from_slice(&[0, 0, 0, 100, 1, 133]);
            m.extend_from_slice(b"\x03dc1\x07example\x04test\x00");
        }
        m
    }

    #[test]
    fn udp_then_tcp_on_truncation_ignoring_strays() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = tcp.local_addr().unwrap();
            let udp = UdpSocket::bind(addr).await.unwrap();
            let server = tokio::spawn(async move {
                let mut buf = vec![0u8; 512];
                let (n, peer) = udp.recv_from(&mut buf).await.unwrap();
                // A forged answer with another id first: must be ignored.
                let mut stray = fake_answer(&buf[..n], false);
                stray[0] ^= 0xFF;
                udp.send_to(&stray, peer).await.unwrap();
                udp.send_to(&fake_answer(&buf[..n], true), peer)
                    .await
                    .unwrap();
                let (mut s, _) = tcp.accept().await.unwrap();
                let mut len = [0u8; 2];
                s.read_exact(&mut len).await.unwrap();
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut q).await.unwrap();
                let a = fake_answer(&q, false);
                s.write_all(&(a.len() as u16).to_be_bytes()).await.unwrap();
                s.write_all(&a).await.unwrap();
            });
            let conf = ResolvConf {
                nameservers: vec![addr],
                timeout: Duration::from_secs(2),
                attempts: 1,
            };
            let deadline = Instant::now() + Duration::from_secs(5);
            let got = query_srv(&conf, "_ldap._tcp.dc._msdcs.example.test", deadline)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                got,
                vec![SrvRecord {
                    priority: 0,
                    weight: 100,
                    port: 389,
                    target: "dc1.example.test".into()
                }]
            );
            server.await.unwrap();
        });
    }

    #[test]
    fn silent_servers_time_out_within_the_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mute = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let conf = ResolvConf {
                nameservers: vec![mute.local_addr().unwrap()],
                timeout: Duration::from_secs(5),
                attempts: 3,
            };
            let start = Instant::now();
            let err = query_srv(
                &conf,
                "_ldap._tcp.dc._msdcs.example.test",
                start + Duration::from_millis(300),
            )
            .await
            .unwrap_err();
            assert!(start.elapsed() < Duration::from_secs(2));
            assert!(matches!(err, DirectoryError::Dns { .. }), "{err}");
        });
    }

    #[test]
    fn site_dcs_first_then_the_rest_once() {
        let mut list = Vec::new();
        append_candidates(&mut list, vec![rec(0, 0, "dc2.example.test")], None);
        append_candidates(
            &mut list,
            vec![
                rec(0, 0, "dc1.example.test"),
                rec(0, 0, "DC2.example.test"),
                rec(0, 0, "127.0.0.1"),
            ],
            None,
        );
        let hosts: Vec<&str> = list.iter().map(|c| c.host.as_str()).collect();
        assert_eq!(hosts, ["dc2.example.test", "dc1.example.test"]);
        let mut tls = Vec::new();
        append_candidates(&mut tls, vec![rec(0, 0, "dc1.example.test")], Some(636));
        assert_eq!(tls[0].port, 636);
    }

    #[test]
    fn site_names() {
        assert!(check_site("Default-First-Site-Name").is_ok());
        for bad in ["", "a.b", "a b", &"x".repeat(64)] {
            assert!(check_site(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn srv_names_with_and_without_site() {
        assert_eq!(
            srv_names("example.test.", None),
            ["_ldap._tcp.dc._msdcs.example.test"]
        );
        assert_eq!(
            srv_names("example.test", Some("Paris")),
            [
                "_ldap._tcp.Paris._sites.dc._msdcs.example.test",
                "_ldap._tcp.dc._msdcs.example.test"
            ]
        );
    }
}
