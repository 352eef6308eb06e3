//! `facenet-lab report`: figures and the results table from the lab.

use anyhow::Result;

use crate::cli::ReportArgs;
use crate::lab::Lab;
use crate::report::{self, ReportOptions};

pub fn execute(lab: &Lab, args: &ReportArgs) -> Result<()> {
    let runs = report::select_runs(lab, args.runs.as_deref(), args.tag.as_deref())?;
    let opts = ReportOptions {
        out_dir: args.out.clone(),
        format: args.format,
        readme: args.readme.clone(),
    };
    let written = report::generate(lab, &runs, &opts)?;
    for w in &written {
        let what = if w.changed { "wrote" } else { "unchanged" };
        println!("{what} {}", w.path.display());
    }
    let changed = written.iter().filter(|w| w.changed).count();
    println!(
        "report of {} runs: {changed} files written, {} unchanged",
        runs.len(),
        written.len() - changed
    );
    Ok(())
}
