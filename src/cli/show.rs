//! `show`: list a keytab without its keys.

use crate::enctype::enctype_name;
use crate::error::Error;
use crate::exit::Class;
use crate::keytab::Keytab;
use crate::store::fsio::bounded;
use crate::timefmt::rfc3339;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The keytab file.
    pub keytab: PathBuf,
    /// One JSON array of entries instead of text lines.
    #[arg(long)]
    pub json: bool,
}

fn name_type_name(t: u32) -> &'static str {
    match t {
        0 => "unknown",
        1 => "principal",
        2 => "srv-inst",
        3 => "srv-hst",
        4 => "srv-xhst",
        5 => "uid",
        10 => "enterprise",
        _ => "other",
    }
}

pub fn run(a: ShowArgs) -> Result<(), Error> {
    let bytes =
        bounded::read_file(&a.keytab, bounded::MAX_KEYTAB).map_err(|problem| Error::Read {
            what: "the keytab",
            path: a.keytab.clone(),
            problem,
            too_large: Class::BadKeytab,
        })?;
    let kt = Keytab::parse(&bytes).map_err(|error| Error::Keytab {
        path: a.keytab.clone(),
        error,
    })?;
    let out = render(&kt, a.json);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let _ = stdout.write_all(out.as_bytes());
    Ok(())
}

/// Text: one line per entry. JSON: an array of objects. Keys never appear in either.
pub fn render(kt: &Keytab, json: bool) -> String {
    if json {
        let v: Vec<serde_json::Value> = kt
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "principal": e.principal.to_string(),
                    "name_type": e.principal.name_type,
                    "kvno": e.kvno,
                    "enctype": e.enctype,
                    "enctype_name": enctype_name(e.enctype),
                    "timestamp": e.timestamp,
                    "time": rfc3339(i64::from(e.timestamp)),
                })
            })
            .collect();
        return serde_json::Value::Array(v).to_string() + "\n";
    }
    let mut s = String::new();
    for e in &kt.entries {
        s.push_str(&format!(
            "{:>4}  {}  {:<26} {} ({}:{})\n",
            e.kvno,
            rfc3339(i64::from(e.timestamp)),
            enctype_name(e.enctype),
            e.principal,
            e.principal.name_type,
            name_type_name(e.principal.name_type),
        ));
    }
    s
}
