//! `facenet-lab sweep SPEC`: train every run of a spec file, N at a time.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::SweepArgs;
use crate::sweep::{self, JobOutcome, SweepSpec};

pub fn execute(db: &Path, args: &SweepArgs) -> Result<()> {
    if args.parallel == 0 {
        bail!("--parallel must be at least 1");
    }
    let text = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("reading sweep spec '{}'", args.spec.display()))?;
    let spec = SweepSpec::parse(&text, &args.spec.display().to_string())?;
    let n = spec.configs.len();
    if args.dry_run {
        println!(
            "# sweep '{}': {n} runs (dry run, nothing started)",
            spec.tag
        );
        for (i, config) in spec.configs.iter().enumerate() {
            println!("\n# run {}/{n}: {}", i + 1, sweep::run_name(config));
            print!("{}", sweep::config_toml(config)?);
        }
        return Ok(());
    }
    let program = sweep::child_program()?;
    let work_dir = crate::lab::logs::create_sweep_dir(db, &spec.tag, crate::lab::now())
        .with_context(|| format!("creating the sweep's folder beside '{}'", db.display()))?;
    let files = sweep::write_configs(&spec, &work_dir)?;
    println!(
        "sweep '{}': {n} runs, {} at a time, into lab '{}'; configs and logs in {}",
        spec.tag,
        args.parallel.min(n),
        db.display(),
        work_dir.display()
    );
    let ended = sweep::run_sweep(
        db,
        &spec,
        &files,
        args.parallel,
        &program,
        &mut std::io::stdout(),
    )?;
    let count = |o: JobOutcome| ended.iter().filter(|e| **e == o).count();
    let (failed, stopped) = (count(JobOutcome::Failed), count(JobOutcome::Stopped));
    if failed > 0 {
        let also = match stopped {
            0 => String::new(),
            s => format!(" and {s} stopped"),
        };
        bail!(
            "{failed} of {n} runs failed{also} (their logs are in {}); `facenet-lab runs{}` shows what was recorded",
            work_dir.display(),
            crate::lab::db_flag(db)
        );
    }
    if stopped > 0 {
        // Stopping a run on purpose is not a failure, but the sweep is not complete either:
        // the status `run` itself exits with when stopped.
        eprintln!(
            "{stopped} of {n} runs stopped before the end, recorded as interrupted: `facenet-lab{} run --resume RUN` continues one (its line above names it); the other {} finished",
            crate::lab::db_flag(db),
            n - stopped
        );
        std::process::exit(sweep::EXIT_STOPPED);
    }
    println!(
        "all {n} runs finished: `facenet-lab{} report --tag {}` draws them",
        crate::lab::db_flag(db),
        spec.tag
    );
    Ok(())
}
