//! `facenet-lab export`: runs and metrics as CSV or JSON.

use std::io::Write;

use anyhow::{Context, Result};

use crate::cli::ExportArgs;
use crate::export;
use crate::lab::Lab;
use crate::report::{select_runs, write_atomic};

pub fn execute(lab: &Lab, args: &ExportArgs) -> Result<()> {
    // One read transaction, one snapshot: a run training (or resuming, which drops its points
    // past the checkpoint) meanwhile cannot give a record behind its own series.
    let snapshot = lab
        .conn()
        .unchecked_transaction()
        .context("reading the lab")?;
    let runs = match (&args.runs, &args.tag) {
        // A lab of no runs exports as one: the csv's header, or JSON's empty list, which a
        // script reads as it reads any other export. A selection that finds none is a mistake.
        (None, None) => lab.list_runs_seen()?,
        _ => select_runs(lab, args.runs.as_deref(), args.tag.as_deref())?,
    };
    if runs.is_empty() {
        crate::say!(
            "note: lab '{}' has no runs yet: the export holds none",
            lab.path().display()
        );
    }
    let bytes = export::export(lab, &runs, args.format, &args.metric)?;
    drop(snapshot);
    if args.out.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&bytes)
            .context("writing the export to standard output")?;
        stdout.flush()?;
    } else {
        write_atomic(&args.out, &bytes)
            .with_context(|| format!("writing export to '{}'", args.out.display()))?;
        crate::say!(
            "wrote {} to {}",
            crate::format::count(runs.len() as u64, "run", "runs"),
            args.out.display()
        );
    }
    Ok(())
}
