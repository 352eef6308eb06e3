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
    /// Draw figures and the results table from the lab (optionally into a README).
    Report(ReportArgs),
    /// Write runs and their metrics as CSV or JSON for other tools.
    Export(ExportArgs),
    /// Run a list or grid of configurations from a spec file, each as its own run.
    Sweep(SweepArgs),
    /// Manage lab files.
    #[command(subcommand)]
    Lab(LabCommand),
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The folder the figures and results.md go to.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Runs to report, by id or name, comma-separated (default: all).
    #[arg(long, conflicts_with = "tag")]
    pub runs: Option<String>,
    /// Report only the runs with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Replace the results section of this README (between `<!-- results:start -->` and
    /// `<!-- results:end -->`).
    #[arg(long)]
    pub readme: Option<PathBuf>,
    /// Figure format.
    #[arg(long, value_enum, default_value = "png")]
    pub format: crate::report::FigureFormat,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: crate::export::ExportFormat,
    /// Runs to export, by id or name, comma-separated (default: all).
    #[arg(long, conflicts_with = "tag")]
    pub runs: Option<String>,
    /// Export only the runs with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// The file to write, or `-` for standard output.
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The sweep spec (TOML), e.g. experiments/seed-table.toml.
    pub spec: PathBuf,
    /// How many runs train at the same time.
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Print the generated run configurations without running them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Import every run of another lab file (e.g. one brought back from a GPU machine).
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The lab file to import from; it is opened read-only.
    pub other: PathBuf,
}
