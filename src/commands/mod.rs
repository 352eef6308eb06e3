//! Thin commands: parse arguments into library calls and print results.
mod export;
mod lab;
mod report;
mod runs;
mod sweep;

use anyhow::Result;

use crate::cli::{Cli, Command, LabCommand};
use crate::lab::Lab;

pub fn dispatch(cli: Cli) -> Result<()> {
    match &cli.command {
        Some(Command::Runs(args)) => runs::execute(&Lab::open(&cli.db)?, args),
        Some(Command::Report(args)) => report::execute(&Lab::open_read_only(&cli.db)?, args),
        Some(Command::Export(args)) => export::execute(&Lab::open_read_only(&cli.db)?, args),
        Some(Command::Sweep(args)) => sweep::execute(&cli.db, args),
        Some(Command::Lab(LabCommand::Merge(args))) => lab::merge(&Lab::open(&cli.db)?, args),
        None => {
            print!(
                "{}",
                runs::table(&Lab::open(&cli.db)?.list_runs()?, crate::lab::now())
            );
            Ok(())
        }
    }
}
