//! `facenet-lab sweep SPEC`: train every run of a spec file, N at a time.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};

use crate::cli::SweepArgs;
use crate::sweep::{self, RunEnd, SweepSpec, Verdict};

/// Where a sweep's runs lack their data.
const DATA_HINT: &str =
    "`sweep SPEC --data PATH` trains every run on your copy (an LFW directory or lfw.tgz)";

pub fn execute(db: &Path, args: &SweepArgs) -> Result<()> {
    if args.parallel == 0 {
        bail!("--parallel must be at least 1");
    }
    let text = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("reading sweep spec '{}'", args.spec.display()))?;
    let spec = SweepSpec::parse_onto(
        &text,
        &args.spec.display().to_string(),
        args.data.as_deref(),
    )?;
    let n = spec.configs.len();
    let (stopped, missing) = sweep::data_problems(&spec);
    // Where --data gave the images, the hint to give them says nothing new.
    let hint = if args.data.is_some() {
        String::new()
    } else {
        format!("\n{DATA_HINT}")
    };
    let source = args.spec.display().to_string();
    if let Some(refusal) = sweep::data_refusal(&source, stopped, &missing) {
        if !args.dry_run {
            bail!("{refusal}{hint}");
        }
    }
    // A spec started again trains its runs anew, as runs of their own: said, not refused;
    // with --resume, it finishes them.
    let mut beside_earlier = false;
    let plans = if args.resume {
        let plans = sweep::plan::resuming(db, &spec)?;
        crate::say!("sweep '{}' {}", spec.tag, sweep::plan::describe(&plans));
        plans
    } else {
        let again = sweep::already_run(db, &spec);
        beside_earlier = !again.is_empty();
        if beside_earlier {
            crate::say!(
                "note: lab '{}' already has runs of {} of these names; {} new runs beside them \
                 (--resume finishes those instead):\n{}",
                db.display(),
                again.len(),
                if args.dry_run {
                    "a sweep would train"
                } else {
                    "this trains"
                },
                again.join("\n")
            );
        }
        sweep::plan::fresh(&spec)
    };
    let unfit = sweep::init_problems(&spec);
    if let Some(refusal) = sweep::init_refusal(&source, &unfit) {
        if !args.dry_run {
            bail!("{refusal}");
        }
    }
    if args.dry_run {
        crate::outln!(
            "# sweep '{}': {} (dry run, nothing started)",
            spec.tag,
            crate::format::count(n as u64, "run", "runs")
        );
        // Every line a comment, as the rest of a dry run's head is.
        for line in spec.description.lines() {
            crate::outln!("# {line}");
        }
        if let Some(limit) = &spec.time_limit {
            crate::outln!("# each run stops after {limit} of training (time_limit)");
        }
        for (i, (config, plan)) in spec.configs.iter().zip(&plans).enumerate() {
            let name = sweep::run_name(config);
            match plan {
                sweep::Plan::Start => {
                    crate::outln!("\n# run {}/{n}: {name}", i + 1);
                    crate::out!("{}", sweep::config_toml(config)?);
                }
                sweep::Plan::Resume(id) => crate::outln!(
                    "\n# run {}/{n}: {name}: resumes run {id} with its recorded settings",
                    i + 1
                ),
                sweep::Plan::Done(id) => {
                    crate::outln!("\n# run {}/{n}: {name}: run {id} completed", i + 1)
                }
            }
        }
        if !missing.is_empty() {
            crate::say!(
                "\nwarning: here, {} would not start, for want of data:\n{}{hint}",
                crate::format::count(stopped as u64, "run", "runs"),
                missing.join("\n")
            );
        }
        if !unfit.is_empty() {
            crate::say!(
                "\nwarning: here, {} would not start from {} --init file:\n{}",
                crate::format::count(unfit.len() as u64, "run", "runs"),
                if unfit.len() == 1 { "its" } else { "their" },
                unfit.join("\n")
            );
        }
        return Ok(());
    }
    if plans.iter().all(|p| matches!(p, sweep::Plan::Done(_))) {
        // Resumed with every run completed: no folder for a sweep that trains nothing.
        crate::outln!(
            "sweep '{}': nothing left to train: all {} completed",
            spec.tag,
            crate::format::count(n as u64, "run", "runs")
        );
        return Ok(());
    }
    let program = sweep::child_program()?;
    // Start (or check) the lab before anything is written beside it: a mistyped --db whose
    // folder does not exist is refused, as `run` refuses it, instead of being created.
    crate::lab::Lab::open(db)?;
    let work_dir = crate::lab::logs::create_sweep_dir(db, &spec.tag, crate::lab::now())
        .with_context(|| format!("creating the sweep's folder beside '{}'", db.display()))?;
    let files = sweep::write_configs(&spec, &work_dir)?;
    // The spec as it was when the sweep started, its description and comments with it: the
    // file given may change or go before anyone asks what the runs were for.
    let kept = work_dir.join(sweep::SPEC_COPY);
    std::fs::write(&kept, &text).with_context(|| format!("writing '{}'", kept.display()))?;
    // The runs it trains: a resumed sweep leaves its completed ones be.
    let to_train = plans
        .iter()
        .filter(|p| !matches!(p, sweep::Plan::Done(_)))
        .count();
    let of = if to_train == n {
        String::new()
    } else {
        format!(" of {n}")
    };
    if !spec.description.is_empty() {
        crate::outln!("sweep '{}': {}", spec.tag, spec.description);
    }
    crate::outln!(
        "sweep '{}': {}{of}, {} at a time, into lab '{}'; its spec, configs and logs in {}",
        spec.tag,
        crate::format::count(to_train as u64, "run", "runs"),
        args.parallel.min(to_train.max(1)),
        db.display(),
        work_dir.display()
    );
    install_stop_handlers()?;
    let ended = sweep::run_sweep(
        db,
        &spec,
        &files,
        &plans,
        args.parallel,
        &program,
        &STOP,
        &mut std::io::stdout(),
    )?;
    let recorded = sweep::recorded_runs(db, &files);
    let runs: Vec<RunEnd> = (0..n)
        .map(|i| RunEnd {
            name: sweep::run_name(&spec.configs[i]),
            outcome: ended[i],
            config: &files[i].config,
            log: &files[i].log,
            recorded: recorded.as_ref().and_then(|r| r[i]),
            resumes: match plans[i] {
                sweep::Plan::Resume(id) => Some(id),
                _ => None,
            },
            lab_read: recorded.is_some(),
        })
        .collect();
    let summary = sweep::summarize(
        &args.spec,
        &spec.tag,
        &crate::lab::db_flag(db),
        &runs,
        beside_earlier,
    );
    match summary.verdict {
        Verdict::AllFinished => crate::outln!("{}", summary.text),
        Verdict::Failed => bail!("{}", summary.text),
        // Stopping runs on purpose is not a failure, but the sweep is not complete either:
        // the status `run` itself exits with when stopped.
        Verdict::Incomplete => {
            // After SIGHUP the terminal may be gone; the runs are stopped and recorded anyway.
            crate::say!("{}", summary.text);
            std::process::exit(sweep::EXIT_STOPPED);
        }
    }
    Ok(())
}

/// Stop requests so far: the first stops the sweep, a second makes its runs quit at once.
static STOP: AtomicUsize = AtomicUsize::new(0);

/// Ctrl-C, SIGTERM or SIGHUP: the running runs stop as Ctrl-C stops them (checkpointed,
/// recorded interrupted; a run stopping already goes on as it was), no other starts, and the
/// sweep sums up what became of each; a second request passes a Ctrl-C on, which makes them
/// quit without their checkpoint (one request signalled twice, as `timeout` does, is one).
/// [`crate::signals::STOP_ONCE`], the dashboard's stop, is the first request, or nothing new
/// once the sweep is stopping.
fn install_stop_handlers() -> Result<()> {
    crate::signals::on_requests(|_, _| {
        STOP.fetch_add(1, Ordering::SeqCst);
    })
}
