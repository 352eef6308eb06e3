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
    /// Get and examine the LFW data: download it, or show its identities, splits and hashes.
    Data(DataArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download LFW (lfw.tgz and pairs.txt), verify size and sha256, and keep it for later runs.
    ///
    /// Files already present and verified are not downloaded again. Set FACENET_LAB_MIRROR to a
    /// URL prefix to download <prefix>/lfw.tgz and <prefix>/pairs.txt instead of the official
    /// URLs.
    Fetch {
        /// Directory to download into [default: the user data directory, e.g.
        /// ~/.local/share/facenet-lab].
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
    /// Show the identities, split sizes, split hashes and content hash of a dataset, and the
    /// images excluded as corrupt.
    Inspect {
        /// An LFW directory (<Name>/<Name>_NNNN.jpg, optionally under lfw/), lfw.tgz, or
        /// `synthetic[:IDS:PER[:SEED]]` [default: lfw.tgz in the user data directory].
        path: Option<PathBuf>,
        /// Keep identities with at least this many images.
        #[arg(long, value_name = "N", default_value_t = 20)]
        min_images: usize,
        /// Keep identities with at most this many images.
        #[arg(long, value_name = "N", default_value_t = 30)]
        max_images: usize,
        /// Shuffle each identity's images with this seed before splitting [default: split by
        /// sorted file name].
        #[arg(long, value_name = "N")]
        split_seed: Option<u64>,
    },
}
