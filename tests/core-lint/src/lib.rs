//! Each line ending in a `bites:` comment must be reported by clippy under
//! crates/gmsa-core/clippy.toml (tests/core-lint.sh). Never run: it only has to compile.
#![allow(dead_code, unused_must_use, clippy::unused_io_amount)]

use std::io::{Read, Write};

fn file() {
    let _ = std::fs::read("/etc/passwd"); // bites: std::fs::read
    let _ = std::fs::write("/tmp/x", b"x"); // bites: std::fs::write
    let _ = std::fs::File::open("/etc/passwd"); // bites: std::fs::File
    let _ = std::path::Path::new("/").exists(); // bites: Path::exists
}

fn net() {
    let _ = std::net::TcpStream::connect("127.0.0.1:1"); // bites: TcpStream
    let _ = std::net::UdpSocket::bind("127.0.0.1:0"); // bites: UdpSocket
    use std::net::ToSocketAddrs;
    let _ = "localhost:1".to_socket_addrs(); // bites: to_socket_addrs
}

fn process() {
    let _ = std::process::Command::new("true"); // bites: Command
    let _ = std::env::var("HOME"); // bites: env::var
}

fn clock() -> u64 {
    let _ = std::time::Instant::now(); // bites: Instant::now
    std::time::SystemTime::now() // bites: SystemTime::now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn terminal() {
    println!("x"); // bites: println
    eprintln!("x"); // bites: eprintln
    std::io::stdout().write(b"x"); // bites: stdout
    std::io::stdin().read(&mut [0u8; 1]); // bites: stdin
}
