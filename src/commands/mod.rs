//! Thin commands: parse arguments into library calls and print results.
use anyhow::Result;

mod data;

use crate::cli::{Cli, Command};

pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Runs(_args)) => Ok(()),
        Some(Command::Data(args)) => data::run(args),
        None => Ok(()),
    }
}
