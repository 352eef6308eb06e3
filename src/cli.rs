//! Command-line definitions. Commands live in [`crate::commands`]; this file only parses.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "facenet-lab", version = crate::version::CRATE_VERSION, about, long_about = None)]
pub struct Cli {
    /// The lab database.
    #[arg(long, global = true, env = "FACENET_LAB_DB", default_value = "lab.db")]
    pub db: PathBuf,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the recorded runs.
    Runs(RunsArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}
