//! Developer tool: connect once, fetch gMSAs, print what came back (never the password) with
//! timings. The real command is `gmsa-keytab sync`; this exercises the directory client alone.
//!
//!   cargo run --example fetch -- [--server HOST[:PORT]]... [--protection seal|ldaps|starttls]
//!       [--ca-file PEM] [--client-keytab PATH] [--client-principal P] [--domain D] [--site S]
//!       [--timeout SECS] [--repeat N] ACCOUNT...
//!
//! Exit status: 0, or the exit code of the first failure's class.

use gmsa_keytab::directory::{ClientOptions, Session};
use std::process::ExitCode;

/// println! that does not panic when the reader went away (`| head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let mut opts = ClientOptions::default();
    let mut accounts = Vec::new();
    let mut repeat = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| match args.next() {
            Some(v) => v,
            None => {
                eprintln!("{name} needs a value");
                std::process::exit(64);
            }
        };
        match arg.as_str() {
            "--server" => opts.servers.push(value("--server")),
            "--protection" => match value("--protection").parse() {
                Ok(p) => opts.protection = p,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(64);
                }
            },
            "--ca-file" => opts.ca_file = Some(value("--ca-file").into()),
            "--client-keytab" => opts.client_keytab = value("--client-keytab").into(),
            "--client-principal" => opts.client_principal = Some(value("--client-principal")),
            "--domain" => opts.domain = Some(value("--domain")),
            "--site" => opts.site = Some(value("--site")),
            "--timeout" => match value("--timeout").parse::<f64>() {
                Ok(s) if s > 0.0 => opts.timeout = Duration::from_secs_f64(s),
                _ => return ExitCode::from(64),
            },
            "--repeat" => repeat = value("--repeat").parse().unwrap_or(1),
            a if a.starts_with("--") => {
                eprintln!("unknown option {a}");
                return ExitCode::from(64);
            }
            _ => accounts.push(arg),
        }
    }

    let t0 = Instant::now();
    let mut session = match Session::connect(&opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("class: {:?} (exit {})", e.class(), e.class().code());
            return ExitCode::from(e.class().code());
        }
    };
    out!(
        "connected: server={} realm={} base={} client={} protection={} connect_ms={:.2}",
        session.server(),
        session.realm(),
        session.base_dn(),
        session.client_principal(),
        opts.protection,
        t0.elapsed().as_secs_f64() * 1000.0
    );

    let mut status = ExitCode::SUCCESS;
    let mut failed = false;
    let mut times = Vec::new();
    for round in 0..repeat {
        for account in &accounts {
            let t = Instant::now();
            match session.fetch(account) {
                Ok(rec) => {
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    times.push(ms);
                    let parsed = gmsa_keytab::blob::parse(rec.blob.expose());
                    let blob_state = match &parsed {
                        Ok(p) => format!("valid(previous={})", p.previous.is_some()),
                        Err(e) => format!("INVALID({e})"),
                    };
                    if parsed.is_err() && !failed {
                        failed = true;
                        status = ExitCode::from(65);
                    }
                    if repeat == 1 || round == 0 {
                        out!(
                            "account: sam={} kvno={} enctypes={} spns=[{}] blob_len={} blob={} \
                             dn={:?} fetch_ms={ms:.2}",
                            rec.sam_account_name,
                            rec.kvno,
                            rec.supported_enctypes
                                .map(|v| format!("{v:#x}"))
                                .unwrap_or_else(|| "absent".into()),
                            rec.spns.join(" "),
                            rec.blob.len(),
                            blob_state,
                            rec.dn,
                        );
                    } else if parsed.is_err() {
                        out!("round {round}: {account}: blob {blob_state}");
                    }
                }
                Err(e) => {
                    out!(
                        "account-error: {account}: class={:?} exit={}: {e}",
                        e.class(),
                        e.class().code()
                    );
                    if !failed {
                        failed = true;
                        status = ExitCode::from(e.class().code());
                    }
                }
            }
        }
    }
    if !times.is_empty() {
        times.sort_by(f64::total_cmp);
        let sum: f64 = times.iter().sum();
        out!(
            "fetches: n={} mean_ms={:.3} median_ms={:.3} max_ms={:.3}",
            times.len(),
            sum / times.len() as f64,
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    let t_close = Instant::now();
    drop(session);
    out!(
        "total_ms={:.2} close_ms={:.2}",
        t0.elapsed().as_secs_f64() * 1000.0,
        t_close.elapsed().as_secs_f64() * 1000.0
    );
    status
}
