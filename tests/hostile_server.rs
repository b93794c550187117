//! A hostile directory server (issue 9), no root needed: a TCP peer on loopback that answers the
//! client's LDAP with malformed BER, oversized length prefixes, absurd nesting, messages split
//! byte by byte, a slow drip, an early close, or garbage after a successful bind. The client is
//! the real stack: ldap3 as patched in vendor/ldap3 and this crate's rootDSE read with its
//! error classification. Every case must end in a classified error within the time limit,
//! with no panic in ldap3's connection task (checked through its join handle) and no stack
//! overflow (which would abort this test process), having read only a bounded number of
//! bytes.

use gmsa_keytab::directory::DirectoryError;
use gmsa_keytab::directory::ldap::search::{read_naming_context, read_naming_context_via};
use gmsa_keytab::exit::Class;
use ldap3::{LdapConnAsync, LdapConnSettings};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The client's per-operation limit in these tests.
const LIMIT: Duration = Duration::from_secs(2);

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 128 {
        v.push(n as u8);
    } else {
        let b = (n as u32).to_be_bytes();
        let skip = b.iter().take_while(|x| **x == 0).count();
        v.push(0x80 | (4 - skip) as u8);
        v.extend_from_slice(&b[skip..]);
    }
    v.extend_from_slice(body);
    v
}

fn message(id: u8, op: Vec<u8>) -> Vec<u8> {
    let mut body = tlv(0x02, &[id]);
    body.extend(op);
    tlv(0x30, &body)
}

fn ldap_result(app_tag: u8) -> Vec<u8> {
    let mut r = tlv(0x0a, &[0]);
    r.extend(tlv(0x04, b""));
    r.extend(tlv(0x04, b""));
    tlv(app_tag, &r)
}

fn bind_ok(id: u8) -> Vec<u8> {
    message(id, ldap_result(0x61))
}

/// A valid rootDSE answer (entry + done) for message `id`.
fn root_dse(id: u8) -> Vec<u8> {
    let vals = tlv(0x31, &tlv(0x04, b"DC=example,DC=test"));
    let mut attr = tlv(0x04, b"defaultNamingContext");
    attr.extend(vals);
    let mut entry = tlv(0x04, b"");
    entry.extend(tlv(0x30, &tlv(0x30, &attr)));
    let mut out = message(id, tlv(0x64, &entry));
    out.extend(message(id, ldap_result(0x65)));
    out
}

/// Reads one whole LDAP request (the client's messages are small and well-formed).
fn read_request(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).ok()?;
    let len = if head[1] < 0x80 {
        head[1] as usize
    } else {
        let mut b = vec![0u8; (head[1] & 0x7f) as usize];
        s.read_exact(&mut b).ok()?;
        b.iter().fold(0usize, |a, x| (a << 8) | *x as usize)
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    // body: 02 01 <id> <op>...
    let id = *body.get(2)?;
    let op = *body.get(3)?;
    Some((id, vec![op]))
}

/// What the hostile server does after accepting. It returns how many bytes it wrote.
type Behaviour = fn(&mut TcpStream) -> usize;

/// Writes until the client goes away (or `cap` bytes), in `chunk`-byte writes.
fn flood(s: &mut TcpStream, first: &[u8], chunk: &[u8], cap: usize) -> usize {
    let mut sent = 0;
    if s.write_all(first).is_err() {
        return 0;
    }
    sent += first.len();
    while sent < cap {
        if s.write_all(chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    sent
}

struct Case {
    name: &'static str,
    /// Bind (simple, anonymous) before the rootDSE read.
    bind: bool,
    behaviour: Behaviour,
    /// Exit classes the error may have.
    classes: &'static [Class],
    /// The error text must contain one of these.
    needles: &'static [&'static str],
}

fn answer_search(s: &mut TcpStream, bind: bool) -> Option<u8> {
    if bind {
        let (id, _) = read_request(s)?;
        s.write_all(&bind_ok(id)).ok()?;
    }
    read_request(s).map(|(id, _)| id)
}

const CASES: &[Case] = &[
    Case {
        name: "malformed BER (a SEQUENCE holding a truncated element)",
        bind: false,
        behaviour: |s| {
            let _ = answer_search(s, false);
            let bad = [0x30, 0x05, 0x02, 0x01, 0x01, 0x64, 0x10];
            let _ = s.write_all(&bad);
            std::thread::sleep(Duration::from_secs(3));
            bad.len()
        },
        classes: &[Class::TempFail],
        needles: &["overruns its parent", "decoding error"],
    },
    Case {
        name: "empty SEQUENCE (ldap3 0.12.1 panicked: tags.pop().expect)",
        bind: false,
        behaviour: |s| {
            let _ = answer_search(s, false);
            let _ = s.write_all(&[0x30, 0x00]);
            std::thread::sleep(Duration::from_secs(3));
            2
        },
        classes: &[Class::TempFail],
        needles: &["decoding error"],
    },
    Case {
        name: "message id not an INTEGER (ldap3 0.12.1 panicked: expect(\"message id\"))",
        bind: false,
        behaviour: |s| {
            let id = answer_search(s, false).unwrap_or(1);
            let mut body = tlv(0x04, &[id]);
            body.extend(ldap_result(0x65));
            let _ = s.write_all(&tlv(0x30, &body));
            std::thread::sleep(Duration::from_secs(3));
            0
        },
        classes: &[Class::TempFail],
        needles: &["decoding error"],
    },
    Case {
        name: "malformed LDAPResult in SearchResultDone (ldap3 0.12.1 panicked in From<Tag>)",
        bind: false,
        behaviour: |s| {
            let id = answer_search(s, false).unwrap_or(1);
            let _ = s.write_all(&message(id, tlv(0x65, &tlv(0x04, b"x"))));
            std::thread::sleep(Duration::from_secs(3));
            0
        },
        classes: &[Class::TempFail],
        needles: &["malformed LDAPResult"],
    },
    Case {
        name: "unknown operation inside a search (ldap3 0.12.1: panic!(\"unrecognized op id\"))",
        bind: false,
        behaviour: |s| {
            let id = answer_search(s, false).unwrap_or(1);
            let _ = s.write_all(&message(id, tlv(0x63, b"")));
            std::thread::sleep(Duration::from_secs(3));
            0
        },
        classes: &[Class::TempFail],
        needles: &["unexpected LDAP operation"],
    },
    Case {
        name: "oversized length prefix (4 GiB declared), then a flood",
        bind: false,
        behaviour: |s| {
            let _ = answer_search(s, false);
            flood(
                s,
                &[0x30, 0x84, 0xff, 0xff, 0xff, 0xf0],
                &[0u8; 65536],
                1 << 30,
            )
        },
        classes: &[Class::TempFail],
        needles: &["over the 1048576-byte limit"],
    },
    Case {
        name: "2 MiB message (just over the limit), sent whole",
        bind: false,
        behaviour: |s| {
            let id = answer_search(s, false).unwrap_or(1);
            let mut op = tlv(0x04, &vec![b'x'; 2 << 20]);
            op.extend(tlv(0x30, b""));
            flood(s, &message(id, tlv(0x64, &op)), &[], 0)
        },
        classes: &[Class::TempFail],
        needles: &["over the 1048576-byte limit"],
    },
    Case {
        name: "nesting 100,000 levels deep (lber recursed into a stack overflow)",
        bind: false,
        behaviour: |s| {
            let _ = answer_search(s, false);
            // 30 83 xx xx xx repeated: each level's length covers the rest.
            let levels = 100_000usize;
            let mut out = Vec::with_capacity(levels * 5);
            for i in 0..levels {
                let rest = (levels - i - 1) * 5;
                out.push(0x30);
                out.push(0x83);
                out.extend_from_slice(&(rest as u32).to_be_bytes()[1..]);
            }
            flood(s, &out, &[], 0)
        },
        classes: &[Class::TempFail],
        needles: &["nesting deeper than 32"],
    },
    Case {
        name: "valid answer split byte by byte",
        bind: true,
        behaviour: |s| {
            let Some(id) = answer_search(s, true) else {
                return 0;
            };
            let mut out = Vec::new();
            for b in root_dse(id) {
                if s.write_all(&[b]).is_err() {
                    break;
                }
                let _ = s.flush();
                std::thread::sleep(Duration::from_millis(1));
                out.push(b);
            }
            out.len()
        },
        classes: &[],
        needles: &[],
    },
    Case {
        name: "slow drip: one byte every 500 ms",
        bind: false,
        behaviour: |s| {
            let Some(id) = answer_search(s, false) else {
                return 0;
            };
            let mut n = 0;
            for b in root_dse(id) {
                if s.write_all(&[b]).is_err() {
                    break;
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            n
        },
        classes: &[Class::TempFail],
        needles: &["did not answer", "timed out", "within"],
    },
    Case {
        name: "early close: half a message, then FIN",
        bind: false,
        behaviour: |s| {
            let Some(id) = answer_search(s, false) else {
                return 0;
            };
            let out = root_dse(id);
            let half = &out[..out.len() / 2];
            let _ = s.write_all(half);
            let _ = s.shutdown(std::net::Shutdown::Both);
            half.len()
        },
        classes: &[Class::TempFail],
        needles: &["rootDSE read"],
    },
    Case {
        name: "early close: nothing at all",
        bind: false,
        behaviour: |s| {
            let _ = s.shutdown(std::net::Shutdown::Both);
            0
        },
        classes: &[Class::TempFail],
        needles: &["rootDSE read"],
    },
    Case {
        name: "garbage after a successful bind",
        bind: true,
        behaviour: |s| {
            let _ = answer_search(s, true);
            let g = b"\xde\xad\xbe\xef garbage after the bind \x00\x01\x02";
            let _ = s.write_all(g);
            std::thread::sleep(Duration::from_secs(3));
            g.len()
        },
        classes: &[Class::TempFail],
        needles: &["BER length of", "BER high tag", "must be a SEQUENCE"],
    },
    Case {
        name: "a high-tag-number / indefinite-length header",
        bind: false,
        behaviour: |s| {
            let _ = answer_search(s, false);
            let _ = s.write_all(&[0x30, 0x80, 0x00, 0x00]);
            std::thread::sleep(Duration::from_secs(3));
            4
        },
        classes: &[Class::TempFail],
        needles: &["indefinite length"],
    },
];

/// Runs one case: the server in a thread, the client on a current-thread runtime.
/// The rootDSE read's result, its duration, the bytes the server wrote, and how ldap3's
/// connection task ended (its error names the decoder's finding; the pending operation only
/// sees the connection go away).
fn run_case(case: &Case) -> (Result<String, DirectoryError>, Duration, usize, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicUsize::new(0));
    let sent2 = sent.clone();
    let behaviour = case.behaviour;
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
            sent2.store(behaviour(&mut s), Ordering::SeqCst);
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bind = case.bind;
    let start = Instant::now();
    let result = rt.block_on(async move {
        let settings = LdapConnSettings::new().set_conn_timeout(LIMIT);
        let (conn, mut ldap) =
            LdapConnAsync::with_settings(settings, &format!("ldap://127.0.0.1:{port}"))
                .await
                .unwrap();
        let driver = tokio::spawn(async move { conn.drive().await });
        if bind {
            let r = tokio::time::timeout(LIMIT, ldap.simple_bind("", "")).await;
            assert!(matches!(r, Ok(Ok(ref b)) if b.rc == 0), "bind: {r:?}");
        }
        let r = read_naming_context(&mut ldap, "hostile", LIMIT).await;
        drop(ldap);
        // ldap3's connection task must end without a panic.
        let ended = match tokio::time::timeout(Duration::from_secs(5), driver).await {
            Ok(Err(join)) => {
                assert!(!join.is_panic(), "ldap3's connection task panicked");
                "cancelled".to_string()
            }
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Ok(Ok(()))) => "closed".to_string(),
            Err(_) => "still running".to_string(),
        };
        (r, ended)
    });
    let (result, ended) = result;
    let took = start.elapsed();
    drop(rt);
    let _ = server.join();
    (result, took, sent.load(Ordering::SeqCst), ended)
}

/// One case as the daemon runs its connections: ldap3's task under `ldap::driver`, which keeps
/// why the connection ended, and the read through `read_naming_context_via`.
fn run_case_with_driver(case: &Case) -> Result<String, DirectoryError> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let behaviour = case.behaviour;
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
            behaviour(&mut s);
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bind = case.bind;
    let result = rt.block_on(async move {
        let settings = LdapConnSettings::new().set_conn_timeout(LIMIT);
        let (conn, mut ldap) =
            LdapConnAsync::with_settings(settings, &format!("ldap://127.0.0.1:{port}"))
                .await
                .unwrap();
        let driver = gmsa_keytab::directory::ldap::driver::spawn(conn);
        if bind {
            let r = tokio::time::timeout(LIMIT, ldap.simple_bind("", "")).await;
            assert!(matches!(r, Ok(Ok(ref b)) if b.rc == 0), "bind: {r:?}");
        }
        read_naming_context_via(&mut ldap, &driver, "hostile", LIMIT).await
    });
    drop(rt);
    // Not joined: the server thread ends on its own once its sleep is over or the socket gone.
    drop(server);
    result
}

/// Most causes only ldap3's connection task knows: the request itself learns only that its
/// stream ended. The error the operator reads must name the cause (where the test above finds
/// it in the task's result), not just "premature end of search stream".
#[test]
fn the_error_names_why_the_connection_ended() {
    for case in CASES.iter().filter(|c| !c.classes.is_empty()) {
        let e = run_case_with_driver(case).expect_err(case.name);
        assert!(case.classes.contains(&e.class()), "{}: {e}", case.name);
        let text = e.to_string();
        assert!(
            case.needles.iter().any(|n| text.contains(n)),
            "{}: {text}",
            case.name
        );
    }
}

#[test]
fn every_hostile_case_ends_in_a_classified_error_in_time() {
    let mut table = Vec::new();
    for case in CASES {
        let (result, took, sent, ended) = run_case(case);
        match (&result, case.classes.is_empty()) {
            (Ok(dn), true) => assert_eq!(dn, "DC=example,DC=test", "{}", case.name),
            (Ok(dn), false) => panic!("{}: expected an error, got {dn:?}", case.name),
            (Err(e), true) => panic!("{}: expected success, got {e}", case.name),
            (Err(e), false) => {
                assert!(
                    case.classes.contains(&e.class()),
                    "{}: class {:?} for {e}",
                    case.name,
                    e.class()
                );
                let text = format!("{e} / connection task: {ended}");
                assert!(
                    case.needles.iter().any(|n| text.contains(n)),
                    "{}: {text}",
                    case.name
                );
            }
        }
        // Within the operation limit (plus slack for a loaded machine).
        assert!(
            took < LIMIT + Duration::from_secs(3),
            "{}: {took:?}",
            case.name
        );
        // Bounded: a flooding server gets its connection closed after at most a few MiB
        // (socket buffers and one read), not after the gigabyte it offered.
        assert!(
            sent < 16 << 20,
            "{}: the client read {sent} bytes",
            case.name
        );
        table.push(format!(
            "{:<70} {:>4} {:>6} ms  {}",
            case.name,
            result.as_ref().err().map_or(0, |e| e.class().code() as i32),
            took.as_millis(),
            result
                .as_ref()
                .err()
                .map_or("ok".into(), |e| format!("{e} / connection task: {ended}"))
        ));
    }
    for row in table {
        eprintln!("{row}");
    }
}

/// The Kerberos side, through the real binary: `gmsa-keytab sync` against a hostile DC
/// (tests/hostile/kdc_peer.py) whose KDC on TCP port 88 closes early, declares a 2 GiB reply,
/// sends garbage, drips, splits a reply byte by byte or floods. Both run in a private network
/// namespace (`unshare -rn`: no root needed where unprivileged user namespaces are allowed, and
/// no real port is touched). Each case must end in its exit code within the timeout, leave the
/// existing keytab byte-identical, and stay under 16 MiB peak RSS (/usr/bin/time -v).
#[test]
fn a_hostile_kdc_ends_in_a_classified_error_in_time() {
    use std::path::Path;
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_gmsa-keytab");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let probe = Command::new("unshare")
        .args(["-rn", "true"])
        .stderr(Stdio::null())
        .status();
    if !matches!(probe, Ok(s) if s.success()) || !Path::new("/usr/bin/time").exists() {
        eprintln!("skipped: needs unshare -rn and /usr/bin/time (tests/lab/install-deps.sh)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    // A host keytab for host1$ (any keys: the hostile KDC never gets that far) and an existing
    // service keytab that must stay byte-identical.
    let host_kt = d.path().join("host.keytab");
    let kt = d.path().join("web.keytab");
    for (account, path) in [("host1$", &host_kt), ("svc_web$", &kt)] {
        let o = Command::new(bin)
            .args(["derive", "--blob"])
            .arg(root.join("tests/data/blob-b.bin"))
            .args([
                "--account",
                account,
                "--realm",
                "EXAMPLE.TEST",
                "--kvno",
                "2",
            ])
            .arg("--keytab")
            .arg(path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let before = std::fs::read(&kt).unwrap();
    let script = root.join("tests/hostile/kdc_peer.py");
    let mut table = Vec::new();
    for (case, code, needle) in [
        ("close", 75, "KDC"),
        ("huge", 75, "KDC"),
        ("garbage", 76, "ASN.1"),
        ("drip", 75, "no answer within 2s"),
        ("split", 76, "ASN.1"),
        ("flood", 76, "Invalid message type"),
    ] {
        let ready = d.path().join(format!("ready-{case}"));
        let inner = format!(
            "ip link set lo up || exit 90; python3 {script} {case} {ready} >/dev/null 2>&1 & \
             peer=$!; for i in $(seq 100); do [ -e {ready} ] && break; sleep 0.05; done; \
             /usr/bin/time -v {bin} sync --account svc_web --keytab {kt} \
             --server localhost --realm EXAMPLE.TEST --client-keytab {host} \
             --client-principal 'host1$@EXAMPLE.TEST' --timeout-seconds 2; rc=$?; \
             kill $peer; exit $rc",
            script = script.display(),
            ready = ready.display(),
            kt = kt.display(),
            host = host_kt.display(),
        );
        let start = Instant::now();
        let o = Command::new("unshare")
            .args(["-rn", "sh", "-c", &inner])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let took = start.elapsed();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{case}: {err}");
        assert!(err.contains(needle), "{case}: {err}");
        assert!(!err.contains("panicked"), "{case}: {err}");
        assert!(took < Duration::from_secs(15), "{case}: {took:?}");
        let kb: u64 = err
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{case}: no RSS figure: {err}"));
        assert!(kb < 16 * 1024, "{case}: peak RSS {kb} KiB");
        assert_eq!(
            std::fs::read(&kt).unwrap(),
            before,
            "{case}: keytab changed"
        );
        let line = err
            .lines()
            .find(|l| l.contains("level=error"))
            .unwrap_or("")
            .to_string();
        // The binary's own wall time (python's start-up is in `took`, not in this).
        let wall = err
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Elapsed (wall clock) time (h:mm:ss or m:ss): ")
            })
            .unwrap_or("?")
            .to_string();
        table.push(format!(
            "kdc {case:<8} exit {code} wall {wall} {kb:>6} KiB  {line}"
        ));
    }
    for row in table {
        eprintln!("{row}");
    }
}
