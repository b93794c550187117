//! Developer tasks for gmsa-keytab.
//!
//! `cargo xtask gen` writes the man pages and shell completions in `packaging/generated/` from
//! the clap definitions (`gmsa_keytab::cli::Cli`) and the exit codes (`gmsa_keytab::exit`).
//! `cargo xtask check` (also `gen --check`) writes nothing and fails when the committed files
//! differ from what `gen` would write, so CI catches a CLI change without regenerated docs.

mod man;

use clap::CommandFactory;
use clap_complete::Shell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::{fs, io};

/// Where the generated files live, relative to the workspace root.
const OUT_DIR: &str = "packaging/generated";
const BIN: &str = "gmsa-keytab";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["gen"] => generate(),
        ["check"] | ["gen", "--check"] => check(),
        _ => {
            eprintln!(
                "usage: cargo xtask gen            write {OUT_DIR}/ (man pages, completions)\n       \
                 cargo xtask check          fail when {OUT_DIR}/ is out of date"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root. `cargo run` sets CARGO_MANIFEST_DIR at run time too; that one names the
/// checkout being worked on even when a target directory shared by several checkouts holds a
/// binary built in another (the compile-time value is only the fallback).
fn root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask/ lives in the workspace root")
        .to_path_buf()
}

/// Every generated file: path relative to `OUT_DIR`, and its content.
fn files() -> io::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for (name, page) in man::pages()? {
        out.insert(Path::new("man").join(name), page);
    }
    for (shell, name) in [
        (Shell::Bash, format!("{BIN}.bash")),
        (Shell::Zsh, format!("_{BIN}")),
        (Shell::Fish, format!("{BIN}.fish")),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut gmsa_keytab::cli::Cli::command(), BIN, &mut buf);
        out.insert(Path::new("completions").join(name), buf);
    }
    Ok(out)
}

/// Files under `dir`, relative to it.
fn existing(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                found.push(rel.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn generate() -> io::Result<ExitCode> {
    let dir = root().join(OUT_DIR);
    let want = files()?;
    for stale in existing(&dir)?
        .into_iter()
        .filter(|p| !want.contains_key(p))
    {
        fs::remove_file(dir.join(&stale))?;
        println!("removed {OUT_DIR}/{}", stale.display());
    }
    for (rel, content) in &want {
        let path = dir.join(rel);
        if fs::read(&path).ok().as_deref() == Some(content.as_slice()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, content)?;
        println!("wrote {OUT_DIR}/{}", rel.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn check() -> io::Result<ExitCode> {
    let dir = root().join(OUT_DIR);
    let want = files()?;
    let mut drift = Vec::new();
    for (rel, content) in &want {
        match fs::read(dir.join(rel)) {
            Ok(have) if have == *content => {}
            Ok(_) => drift.push(format!("{OUT_DIR}/{} differs", rel.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                drift.push(format!("{OUT_DIR}/{} is missing", rel.display()))
            }
            Err(e) => return Err(e),
        }
    }
    for stale in existing(&dir)?
        .into_iter()
        .filter(|p| !want.contains_key(p))
    {
        drift.push(format!(
            "{OUT_DIR}/{} is not generated any more",
            stale.display()
        ));
    }
    if drift.is_empty() {
        println!("{OUT_DIR}: {} files up to date", want.len());
        return Ok(ExitCode::SUCCESS);
    }
    for d in &drift {
        eprintln!("xtask: {d}");
    }
    eprintln!("xtask: the CLI changed; run `cargo xtask gen` and commit {OUT_DIR}/");
    Ok(ExitCode::FAILURE)
}
