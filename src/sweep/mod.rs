//! Sweeps: many runs from one spec file, each trained by its own `facenet-lab run --config`
//! child process and recorded as its own run, grouped under the spec's tag.

mod config;
pub mod plan;
mod schedule;
mod spec;
mod summary;

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicUsize;

use anyhow::{Context, Result};

use crate::lab::{Lab, Run, RunId};

pub use config::{problems, RunConfig};
pub use plan::Plan;
pub use schedule::{run_jobs, Event, JobOutcome, EXIT_STOPPED};
pub use spec::{expand_grid, SweepSpec};
pub use summary::{summarize, RunEnd, Summary, Verdict};

/// Whether a TOML file is a sweep spec (a `tag` with `[base]`, `[[runs]]` or `[grid]`) rather
/// than a single run's `--config` file.
pub fn is_spec_file(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|t| ["runs", "grid", "base"].iter().any(|k| t.contains_key(*k)))
}

/// Names the program a sweep spawns instead of this executable: tests put a fake trainer
/// there, and it lets a sweep drive a differently built binary (e.g. one with CUDA).
pub const SWEEP_EXE_ENV: &str = "FACENET_LAB_SWEEP_EXE";

/// How long a sweep stays silent before it says how its runs are going: runs of hours would
/// otherwise leave its terminal quiet between their starts and ends.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The name of the copy of its spec a sweep keeps in its folder, beside its runs' configs
/// (`1-NAME.toml`, ...) and logs.
pub const SPEC_COPY: &str = "spec.toml";

/// The program each run is trained by.
pub fn child_program() -> Result<PathBuf> {
    match std::env::var_os(SWEEP_EXE_ENV) {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => std::env::current_exe().context(
            "finding this program's path to start the runs; set FACENET_LAB_SWEEP_EXE to it",
        ),
    }
}

/// The name of a run's configuration (also its file name stem).
pub fn run_name(config: &RunConfig) -> &str {
    config.get("name").and_then(|v| v.as_str()).unwrap_or("run")
}

/// What the lab at `db` already holds of the sweep's runs, by name and the sweep's tag, or by
/// their settings, as `--resume` finds them ([`plan::lab_runs`]): `name (2/3): run 27
/// (interrupted)` lines, so that a sweep started again says it trains them anew; none where
/// there is no lab.
pub fn already_run(db: &Path, spec: &SweepSpec) -> Vec<String> {
    let Ok(runs) = Lab::open_read_only(db).and_then(|lab| lab.list_runs()) else {
        return Vec::new();
    };
    spec.configs
        .iter()
        .zip(plan::lab_runs(spec, &runs))
        .enumerate()
        .filter_map(|(i, (config, found))| {
            let name = run_name(config);
            let mut ids: Vec<String> = runs
                .iter()
                .filter(|r| r.name == name && r.tags.contains(&spec.tag))
                .map(|r| format!("{} ({})", r.id, r.status))
                .collect();
            // Found by its settings under the name an earlier spec gave it.
            if let Some(r) = found.filter(|r| r.name != name) {
                ids.push(format!("{} ({}, named {})", r.id, r.status, r.name));
            }
            (!ids.is_empty()).then(|| {
                format!(
                    "{name} ({}/{}): run {}",
                    i + 1,
                    spec.configs.len(),
                    ids.join(", ")
                )
            })
        })
        .collect()
}

/// The runs whose data is not on this machine, one line each (`run 2 (name): ...`), checked as
/// `run` checks its own before it starts: a relative path from the current directory, which the
/// runs inherit, and no `data` at all as the archive `data fetch` downloads.
pub fn data_problems(spec: &SweepSpec) -> (usize, Vec<String>) {
    // The runs each problem stops, in order: one data path missing for all says so once.
    let mut problems: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, config) in spec.configs.iter().enumerate() {
        let data = config.get("data").and_then(|v| v.as_str()).unwrap_or("");
        if let Err(e) = crate::train::session::resolve_data(data) {
            let e = format!("{e:#}");
            match problems.iter_mut().find(|(said, _)| *said == e) {
                Some((_, runs)) => runs.push(i),
                None => problems.push((e, vec![i])),
            }
        }
    }
    let stopped = problems.iter().map(|(_, runs)| runs.len()).sum();
    let lines = problems
        .into_iter()
        .map(|(e, runs)| match runs.as_slice() {
            [one] => format!("run {} ({}): {e}", one + 1, run_name(&spec.configs[*one])),
            all if all.len() == spec.configs.len() => format!("every run: {e}"),
            some => {
                let ids: Vec<String> = some.iter().map(|i| (i + 1).to_string()).collect();
                format!("runs {}: {e}", ids.join(", "))
            }
        })
        .collect();
    (stopped, lines)
}

/// Why the sweep of spec `source` cannot start for want of its runs' data, as `sweep` refuses
/// it, from what [`data_problems`] found (`stopped` runs, the `missing` lines); none where
/// every run's data is here.
pub fn data_refusal(source: &str, stopped: usize, missing: &[String]) -> Option<String> {
    (!missing.is_empty()).then(|| {
        format!(
            "{} of sweep spec '{source}' cannot find {} data; nothing was started:\n{}",
            crate::format::count(stopped as u64, "run", "runs"),
            if stopped == 1 { "its" } else { "their" },
            missing.join("\n")
        )
    })
}

/// Why the sweep of spec `source` cannot start from its runs' `--init` files, as `sweep`
/// refuses it, from what [`init_problems`] found (`unfit`, which reads the files); none where
/// every file fits its run.
pub fn init_refusal(source: &str, unfit: &[String]) -> Option<String> {
    (!unfit.is_empty()).then(|| {
        format!(
            "{} of sweep spec '{source}' cannot start from {} --init file; nothing was \
             started:\n{}",
            crate::format::count(unfit.len() as u64, "run", "runs"),
            if unfit.len() == 1 { "its" } else { "their" },
            unfit.join("\n")
        )
    })
}

/// The runs whose `init` file cannot start their network, one line each (`run 2 (name):
/// ...`), checked as `run` checks its own before it starts. Each file is read once, for every
/// run that starts from it.
pub fn init_problems(spec: &SweepSpec) -> Vec<String> {
    use crate::train::config::TrainConfig;
    use crate::train::pretrained::InitWeights;
    // (run index, config) of the runs that start from each file; the configs are valid (the
    // spec was checked when it was parsed).
    let mut by_file: std::collections::BTreeMap<String, Vec<(usize, TrainConfig)>> =
        Default::default();
    for (i, config) in spec.configs.iter().enumerate() {
        let Ok(cfg) = config::train_config(config) else {
            continue;
        };
        if let Some(path) = cfg.init.clone() {
            by_file.entry(path).or_default().push((i, cfg));
        }
    }
    let mut found = Vec::new();
    for (path, runs) in by_file {
        let weights = InitWeights::read(Path::new(&path));
        // Checked once per network (a grid's runs share most), each check building one.
        let mut checked = std::collections::HashMap::new();
        for (i, cfg) in runs {
            let problem = checked
                .entry((cfg.model, cfg.dim, cfg.fresh_embedding))
                .or_insert_with(|| match &weights {
                    Ok(w) => w
                        .check(cfg.model, cfg.dim, cfg.fresh_embedding)
                        .err()
                        .map(|e| format!("{e:#}")),
                    Err(e) => Some(format!("{e:#}")),
                });
            if let Some(e) = problem {
                found.push((
                    i,
                    format!("run {} ({}): {e}", i + 1, run_name(&spec.configs[i])),
                ));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, line)| line).collect()
}

/// The configuration file of run `index`, as TOML.
pub fn config_toml(config: &RunConfig) -> Result<String> {
    toml::to_string(config).context("writing a run configuration as TOML")
}

/// Where each run's files go: its generated configuration and its log.
#[derive(Clone, Debug)]
pub struct RunFiles {
    pub config: PathBuf,
    pub log: PathBuf,
}

/// Writes every run's configuration into `work_dir` (nothing is started yet).
pub fn write_configs(spec: &SweepSpec, work_dir: &Path) -> Result<Vec<RunFiles>> {
    std::fs::create_dir_all(work_dir)
        .with_context(|| format!("creating sweep folder '{}'", work_dir.display()))?;
    let width = spec.configs.len().to_string().len();
    spec.configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let stem = format!("{:0width$}-{}", i + 1, sanitize(run_name(c)));
            let files = RunFiles {
                config: work_dir.join(format!("{stem}.toml")),
                log: work_dir.join(format!("{stem}.log")),
            };
            std::fs::write(&files.config, config_toml(c)?)
                .with_context(|| format!("writing '{}'", files.config.display()))?;
            Ok(files)
        })
        .collect()
}

/// The `run` arguments of the sweep's run `i` as `plan` has it, before its `--log-path`:
/// `--config FILE`, or `--resume ID` (with the sweep's `--data`), and the spec's time limit.
/// `None` for a run that is done.
pub fn run_args(
    spec: &SweepSpec,
    files: &[RunFiles],
    plan: Plan,
    i: usize,
) -> Option<Vec<OsString>> {
    let mut args: Vec<OsString> = match plan {
        Plan::Start => vec!["--config".into(), files[i].config.clone().into()],
        Plan::Resume(id) => {
            let mut args = vec!["--resume".into(), id.to_string().into()];
            if let Some(data) = &spec.data {
                args.extend(["--data".into(), data.into()]);
            }
            args
        }
        Plan::Done(_) => return None,
    };
    if let Some(limit) = &spec.time_limit {
        args.extend(["--time-limit".into(), limit.into()]);
    }
    Some(args)
}

/// Runs the sweep, `parallel` runs at a time, writing one line per start and end to `out`,
/// until every run has ended or, once `stop` is set, the running ones have stopped (see
/// [`run_jobs`]); each run as `plans` says (none for a run that is done). Each run records
/// its log file, so the dashboard shows its tail. Returns how each run ended: a done one as
/// finished.
#[allow(clippy::too_many_arguments)]
pub fn run_sweep(
    db: &Path,
    spec: &SweepSpec,
    files: &[RunFiles],
    plans: &[Plan],
    parallel: usize,
    program: &Path,
    stop: &AtomicUsize,
    out: &mut impl Write,
) -> Result<Vec<JobOutcome>> {
    // The runs to train, by their index in the spec.
    let todo: Vec<(usize, Vec<OsString>)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, &plan)| Some((i, run_args(spec, files, plan, i)?)))
        .collect();
    let launch = |job: usize| -> Result<Child> {
        let (i, args) = &todo[job];
        let path = std::path::absolute(&files[*i].log)
            .with_context(|| format!("resolving '{}'", files[*i].log.display()))?;
        let log =
            File::create(&path).with_context(|| format!("creating log '{}'", path.display()))?;
        let mut why = log.try_clone()?;
        // The lab as the sweep was given it (a relative path names the same file: the run works
        // in the sweep's folder), so that the command a stopped run gives to continue it
        // (`facenet-lab run --resume 16` for the default lab.db, see `crate::lab::db_flag`) is
        // the one the sweep's summary gives.
        trainer_command(program, db, args, &path, log)?
            .spawn()
            .with_context(|| format!("starting '{}'", program.display()))
            // The summary sends the user to the log to see why the run failed.
            .inspect_err(|e| {
                let _ = writeln!(why, "error: {e:#}");
            })
    };
    let mut write_error = None;
    let index: Vec<usize> = todo.iter().map(|(i, _)| *i).collect();
    let ended = run_jobs(
        todo.len(),
        parallel,
        stop,
        Some(PROGRESS_EVERY),
        launch,
        |event| {
            let line = status_line(&event.renumbered(&index), spec, files, plans, db);
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                write_error.get_or_insert(e);
            }
        },
    )?;
    if let Some(e) = write_error {
        // The terminal may be gone (SIGHUP): the runs ended as recorded all the same.
        crate::say!("warning: printing the sweep's progress failed: {e}");
    }
    let mut outcomes = vec![JobOutcome::Finished; plans.len()];
    for (&i, outcome) in index.iter().zip(ended) {
        outcomes[i] = outcome;
    }
    Ok(outcomes)
}

/// A sweep that dies without stopping its runs (SIGKILL, the OOM killer) leaves none training
/// on unseen, out of reach of its terminal's Ctrl-C: each gets the sweep's stop (Linux's
/// parent-death signal), and stops as the sweep would have stopped it, with a checkpoint. Run
/// in the child before it becomes the trainer; `sweep` is the parent's pid. Linux signals when
/// the thread that started the child ends: the sweep starts its runs from the thread that
/// waits for them.
fn stop_when_the_sweep_dies(sweep: u32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid(2) touch only this process; raise(3) sends
    // it a signal, which stays pending (blocked above) until the run's handler takes it.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, crate::signals::STOP_ONCE) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The sweep died before the request was made: nothing would come.
        if libc::getppid() as u32 != sweep {
            libc::raise(crate::signals::STOP_ONCE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = sweep;
    Ok(())
}

/// The command that trains one run of a sweep: `program --db DB run ARGS --log-path LOG_PATH`
/// (ARGS from [`run_args`]: `--config CONFIG`, or `--resume ID`), its output into `log` (the
/// file at `log_path`), in a process group of its own and with SIGINT and
/// [`crate::signals::STOP_ONCE`] blocked until the run has its handlers.
pub fn trainer_command(
    program: &Path,
    db: &Path,
    args: &[OsString],
    log_path: &Path,
    log: File,
) -> Result<Command> {
    let err = log.try_clone()?;
    let mut cmd = Command::new(program);
    // A stop waits until the run has its handler (it unblocks the signal then): one that
    // comes as it starts would otherwise kill it before it can checkpoint.
    // SAFETY: the closure only changes the signal mask and asks for a signal on the parent's
    // death (prctl, getppid and raise are async-signal-safe).
    let sweep = std::process::id();
    unsafe {
        cmd.pre_exec(move || {
            crate::signals::set_blocked(&[libc::SIGINT, crate::signals::STOP_ONCE], true)?;
            stop_when_the_sweep_dies(sweep)
        })
    };
    cmd.arg("--db")
        .arg(db)
        .arg("run")
        .args(args)
        .arg("--log-path")
        .arg(log_path)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        // Its own process group: a terminal's Ctrl-C (or `timeout`'s SIGTERM to the group)
        // then reaches only the sweep, which passes one request on at a time (STOP_ONCE, then
        // SIGINT): the trainer takes a second as "quit now, without a checkpoint".
        .process_group(0);
    Ok(cmd)
}

/// The run the lab at `db` recorded for each of `files`, found by its log, where there is one;
/// None when the lab cannot be read (the summary names logs instead).
pub fn recorded_runs(db: &Path, files: &[RunFiles]) -> Option<Vec<Option<RunId>>> {
    let logs: Vec<&Path> = files.iter().map(|f| f.log.as_path()).collect();
    let runs = logged_runs(db, &logs)?;
    Some(runs.into_iter().map(|r| r.map(|r| r.id)).collect())
}

/// The run the lab at `db` recorded for each of `logs`, found by its log, in one read of the
/// lab; None when it cannot be read.
fn logged_runs(db: &Path, logs: &[&Path]) -> Option<Vec<Option<Run>>> {
    let lab = Lab::open_read_only(db).ok()?;
    let runs = lab.list_runs().ok()?;
    Some(
        logs.iter()
            .map(|log| {
                let log = lab.relative(log);
                runs.iter()
                    .find(|r| r.log_path.as_deref() == Some(log.as_str()))
                    .cloned()
            })
            .collect(),
    )
}

/// What the lab at `db` recorded of the runs that write `logs`, each as `say` puts it; empty
/// where it recorded none.
fn recorded(db: &Path, logs: &[&Path], say: fn(&Run) -> String) -> Vec<String> {
    match logged_runs(db, logs) {
        Some(runs) => runs
            .iter()
            .map(|r| r.as_ref().map(say).unwrap_or_default())
            .collect(),
        None => vec![String::new(); logs.len()],
    }
}

/// ` (run 12, best dev 0.645)` for `r`.
fn outcome(r: &Run) -> String {
    format!(
        " (run {}, best dev {})",
        r.id,
        crate::format::opt(r.best_dev_acc, 3)
    )
}

/// `: run 12, epoch 12/100, best dev 0.312` for `r`.
fn progress(r: &Run) -> String {
    let best = r
        .best_dev_acc
        .map(|b| format!(", best dev {b:.3}"))
        .unwrap_or_default();
    format!(
        ": run {}, epoch {}/{}{best}",
        r.id,
        r.epochs_done(),
        r.hyper.epochs
    )
}

fn status_line(
    event: &Event,
    spec: &SweepSpec,
    files: &[RunFiles],
    plans: &[Plan],
    db: &Path,
) -> String {
    let total = spec.configs.len();
    let name = |index: usize| run_name(&spec.configs[index]);
    let names = |running: &[usize]| {
        let names: Vec<&str> = running.iter().map(|&i| name(i)).collect();
        names.join(", ")
    };
    match event {
        Event::Started { index } => match plans.get(*index) {
            Some(Plan::Resume(id)) => format!(
                "[{}/{total}] resumed  {} (run {id}; log: {})",
                index + 1,
                name(*index),
                files[*index].log.display()
            ),
            _ => format!(
                "[{}/{total}] started  {} (log: {})",
                index + 1,
                name(*index),
                files[*index].log.display()
            ),
        },
        Event::Progress { running } => {
            let logs: Vec<&Path> = running
                .iter()
                .map(|&(i, _)| files[i].log.as_path())
                .collect();
            running
                .iter()
                .zip(recorded(db, &logs, progress))
                .map(|(&(index, elapsed), so_far)| {
                    format!(
                        "[{}/{total}] training {} for {}{so_far}",
                        index + 1,
                        name(index),
                        crate::format::duration(elapsed.as_secs_f64()),
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Event::QuittingNow { running } => format!(
            "asked again: {} quit now, without a checkpoint",
            names(running)
        ),
        Event::Stopping { running } if running.is_empty() => {
            "stopping as asked: no other run starts".to_string()
        }
        Event::Stopping { running } => format!(
            "stopping as asked: waiting for {} to checkpoint; no other run starts",
            names(running)
        ),
        Event::Finished {
            index,
            result,
            elapsed,
        } => {
            let name = name(*index);
            let took = crate::format::duration(elapsed.as_secs_f64());
            match result {
                Ok(s) => match JobOutcome::of(*s) {
                    JobOutcome::Finished => format!(
                        "[{}/{total}] finished {name} in {took}{}",
                        index + 1,
                        recorded(db, &[&files[*index].log], outcome).concat()
                    ),
                    // The trainer's last line says how to continue the run.
                    JobOutcome::Stopped => format!(
                        "[{}/{total}] stopped  {name} after {took}: {}",
                        index + 1,
                        last_line(&files[*index].log)
                    ),
                    // `of` never says NotStarted: this run ran.
                    JobOutcome::Failed | JobOutcome::NotStarted => format!(
                        "[{}/{total}] FAILED   {name} ({s}) after {took}: {}",
                        index + 1,
                        last_line(&files[*index].log)
                    ),
                },
                Err(e) => format!("[{}/{total}] FAILED   {name}: {e}", index + 1),
            }
        }
    }
}

/// The last non-empty line of a log: usually the error, or how to continue a stopped run.
fn last_line(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(l) => l.trim().to_string(),
        None => format!("see {}", log.display()),
    }
}

/// File-name-safe: letters, digits, `-`, `_`, `.`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_says_the_epoch_and_best_dev_so_far() {
        let mut r = crate::lab::fixtures::run(12, "r", "resnet18");
        (
            r.status,
            r.hyper.epochs,
            r.iters_per_epoch,
            r.last_iteration,
        ) = (crate::lab::RunStatus::Running, 100, Some(10), 125);
        assert_eq!(progress(&r), ": run 12, epoch 12/100");
        r.best_dev_acc = Some(0.3124);
        assert_eq!(progress(&r), ": run 12, epoch 12/100, best dev 0.312");
    }

    /// A terminal that has gone away: every write fails.
    struct Gone;

    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A progress names each running run with what the lab recorded of it, found by its log
    /// in one read of the lab; a run the lab has no row of yet gets its name and time alone.
    #[test]
    fn a_progress_line_reads_each_running_run_from_the_lab() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let spec = SweepSpec::parse(
            "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n[grid]\nseed = [1, 2]\n",
            "t.toml",
        )?;
        let files = write_configs(&spec, dir.path())?;
        let db = dir.path().join("lab.db");
        let lab = Lab::open(&db)?;
        let mut new = crate::lab::fixtures::new_run("t-2-seed2");
        new.log_path = Some(lab.relative(&files[1].log));
        let id = lab.create_run(&new)?;
        lab.mark_running(id, 10, std::process::id())?;
        let line = status_line(
            &Event::Progress {
                running: vec![
                    (0, std::time::Duration::from_secs(60)),
                    (1, std::time::Duration::from_secs(120)),
                ],
            },
            &spec,
            &files,
            &plan::fresh(&spec),
            &db,
        );
        assert_eq!(
            line,
            format!(
                "[1/2] training t-1-seed1 for 1m00s\n[2/2] training t-2-seed2 for 2m00s: run {id}, \
                 epoch 0/{}",
                new.hyper.epochs
            )
        );
        Ok(())
    }

    #[test]
    fn each_run_is_started_resumed_or_skipped_as_planned() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let spec = SweepSpec::parse_onto(
            "tag = \"t\"\ntime_limit = \"2h\"\n[base]\nmodel = \"resnet18\"\n\
             [grid]\nseed = [1, 2, 3]\n",
            "t.toml",
            Some("faces"),
        )?;
        let files = write_configs(&spec, dir.path())?;
        let plans = [Plan::Start, Plan::Done(RunId(8)), Plan::Resume(RunId(9))];
        let args = |i: usize| -> Option<Vec<String>> {
            let args = run_args(&spec, &files, plans[i], i)?;
            Some(
                args.iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
            )
        };
        assert_eq!(
            args(0),
            Some(vec![
                "--config".to_string(),
                files[0].config.display().to_string(),
                "--time-limit".into(),
                "2h".into()
            ])
        );
        assert_eq!(args(1), None, "a done run is not trained");
        assert_eq!(
            args(2),
            Some(
                ["--resume", "9", "--data", "faces", "--time-limit", "2h"]
                    .map(String::from)
                    .to_vec()
            )
        );
        // The runs left to train are named by their place in the sweep, not in the list.
        let mut out = Vec::new();
        let ended = run_sweep(
            &dir.path().join("lab.db"),
            &spec,
            &files,
            &plans,
            1,
            Path::new("true"),
            &AtomicUsize::new(0),
            &mut out,
        )?;
        assert_eq!(ended, [JobOutcome::Finished; 3]);
        let said = String::from_utf8(out)?;
        assert!(said.contains("[1/3] started  t-1-seed1"), "{said}");
        assert!(said.contains("[3/3] resumed  t-3-seed3 (run 9;"), "{said}");
        assert!(said.contains("[3/3] finished t-3-seed3"), "{said}");
        assert!(!said.contains("[2/3]"), "{said}");
        Ok(())
    }

    #[test]
    fn the_outcomes_survive_progress_that_cannot_be_printed() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let spec = SweepSpec::parse(
            "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n[grid]\nseed = [1, 2, 3]\n",
            "t.toml",
        )?;
        let files = write_configs(&spec, dir.path())?;
        let ended = run_sweep(
            &dir.path().join("lab.db"),
            &spec,
            &files,
            &plan::fresh(&spec),
            2,
            Path::new("true"),
            &AtomicUsize::new(0),
            &mut Gone,
        )?;
        assert_eq!(ended, [JobOutcome::Finished; 3]);
        Ok(())
    }
}
