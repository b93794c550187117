//! The resolver: the only part of discovery that touches the network, the file system or the
//! OS random generator. It asks the nameservers of `/etc/resolv.conf` for SRV records over UDP
//! (TCP when truncated) with the wire format of [`super::dns`], and orders the answers with
//! [`super::srv`].

use super::dns::{self, Answer, SrvRecord};
use super::names::Candidate;
use super::resolv_conf::{ResolvConf, parse_resolv_conf};
use super::srv::{append_candidates, order_srv, srv_names};
use crate::directory::error::DirectoryError;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout, timeout_at};

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
                Ok(answer) => failures.push(format!("{server}: {}", dns::rcode_text(answer.rcode))),
                Err(e) => failures.push(format!("{server}: {e}")),
            }
        }
    }
    failures.dedup();
    Err(dns_err(failures.join("; ")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_stays_in_range() {
        for n in [0u64, 1, 2, 7, 100, u64::MAX] {
            for _ in 0..50 {
                assert!(os_random_upto(n) <= n);
            }
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
}
