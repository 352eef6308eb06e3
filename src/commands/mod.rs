//! Thin commands: parse arguments into library calls and print results.
pub(crate) mod runs;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::lab::Lab;

pub fn dispatch(cli: Cli) -> Result<()> {
    match &cli.command {
        Some(Command::Runs(args)) => runs::execute(&Lab::open(&cli.db)?, args),
        None => crate::tui::main(&cli.db),
    }
}
