//! Thin commands: parse arguments into library calls and print results.
mod bench;
mod data;
mod eval;
mod export;
mod lab;
mod report;
mod run;
pub(crate) mod runs;
mod sweep;

use anyhow::Result;

use crate::cli::{Cli, Command, LabCommand};
use crate::lab::Lab;

pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Runs(args)) => runs::execute(&Lab::open_existing(&cli.db)?, &args),
        Some(Command::Data(args)) => data::run(args),
        Some(Command::Run(args)) => run::execute(&cli.db, &args),
        Some(Command::Bench(args)) => bench::execute(&args),
        Some(Command::Eval(args)) => eval::execute(&Lab::open_existing(&cli.db)?, &args),
        Some(Command::Report(args)) => report::execute(&Lab::open_read_only(&cli.db)?, &args),
        Some(Command::Export(args)) => export::execute(&Lab::open_read_only(&cli.db)?, &args),
        Some(Command::Sweep(args)) => sweep::execute(&cli.db, &args),
        Some(Command::Lab(LabCommand::Merge(args))) => lab::merge(&cli.db, &args),
        Some(Command::Lab(LabCommand::Tag(args))) => lab::tag(&cli.db, &args),
        Some(Command::Lab(LabCommand::Note(args))) => lab::note(&cli.db, &args),
        Some(Command::Lab(LabCommand::Delete(args))) => lab::delete(&cli.db, &args),
        None => crate::tui::main(&cli.db),
    }
}
