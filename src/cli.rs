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

/// `facenet-lab eval`. Not yet a subcommand: `Command::Eval(EvalArgs)` is added when embedding
/// from checkpoints is wired (see `commands::eval`).
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The run to evaluate: its id or name.
    pub run: String,

    /// Which checkpoint: `best`, `last`, or an iteration number.
    #[arg(long, default_value = "best")]
    pub checkpoint: crate::eval::checkpoint_choice::CheckpointChoice,

    /// LFW View 2 pairs file (pairs.txt): 10-fold verification on its 6,000 pairs. Needs --data
    /// pointing at the LFW images.
    #[arg(long, requires = "data")]
    pub pairs: Option<PathBuf>,

    /// Images in LFW layout (Name/Name_0001.jpg). With --pairs, the LFW images; alone, open-set
    /// verification and identification on this folder.
    #[arg(long)]
    pub data: Option<PathBuf>,

    /// Leave out pairs (or images, with --data alone) of people the run trained on, and say how
    /// many were dropped.
    #[arg(long, requires = "data")]
    pub exclude_train_identities: bool,

    /// Average each embedding with that of the mirrored image.
    #[arg(long)]
    pub flip: bool,

    /// Images per forward pass.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
}
