//! `check-config`: validate offline and print the resolved configuration.

use crate::config;
use crate::error::Error;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The configuration file.
    #[arg(default_value = config::DEFAULT_PATH)]
    pub file: PathBuf,
}

pub fn run(a: CheckConfigArgs) -> Result<(), Error> {
    let cfg = config::load(&a.file)?;
    // Owners and groups must exist here; that is a local lookup, not the network.
    cfg.resolve_ids()?;
    let _ = std::io::stdout().lock().write_all(cfg.render().as_bytes());
    Ok(())
}
