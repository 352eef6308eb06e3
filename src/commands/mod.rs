//! Thin commands: parse arguments into library calls and print results.
// Not dispatched yet: see the module's doc.
pub mod eval;
mod runs;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::lab::Lab;

pub fn dispatch(cli: Cli) -> Result<()> {
    match &cli.command {
        Some(Command::Runs(args)) => runs::execute(&Lab::open(&cli.db)?, args),
        None => {
            print!(
                "{}",
                runs::table(&Lab::open(&cli.db)?.list_runs()?, crate::lab::now())
            );
            Ok(())
        }
    }
}
