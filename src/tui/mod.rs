//! The terminal dashboard: `facenet-lab` with no subcommand.
//!
//! Threads: one reads keys, one ([`store`]) watches the lab and reads what changed; the main
//! loop only applies [`app::Action`]s, draws, and carries out the [`app::Effect`]s.

pub mod app;
pub mod compare;
pub mod datasets;
pub mod filter;
pub mod keys;
pub mod process;
pub mod series;
pub mod start_form;
pub mod store;
pub mod text;
pub mod ui;

#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event as TermEvent};

use crate::lab::{now, Lab};
use app::{Action, App, Effect, StartOverAsk, SweepAsk};
use keys::{key_action, paste_action};
use start_form::StartForm;
use store::{Request, Update};

/// How often the screen redraws with nothing happening: turns the live marker, ages heartbeats.
const TICK: Duration = Duration::from_millis(250);

#[derive(Debug)]
enum Event {
    Key(event::KeyEvent),
    /// Text pasted in one go (the terminal's bracketed paste).
    Paste(String),
    Redraw,
    Data(Update),
    /// What became of work done off the screen's thread (a run started or refused).
    Answer(Action),
}

/// Opens the dashboard, or prints the runs table when stdout is not a terminal.
pub fn main(db: &Path) -> Result<()> {
    // A lab named with --db (or FACENET_LAB_DB) must exist: a mistyped name would open an empty
    // new lab. The default lab.db is made on first use, for `r` to start a run into.
    if db != Path::new(crate::lab::DEFAULT_DB) {
        Lab::require_lab(db)?;
    }
    if !std::io::stdout().is_terminal() {
        let (runs, datasets) = if db.exists() {
            let lab = Lab::open_read_only(db)?;
            let runs = lab.list_runs_seen()?;
            let datasets = crate::commands::runs::dataset_names(&lab, &runs)?;
            (runs, datasets)
        } else {
            Default::default()
        };
        let table = crate::commands::runs::table(&runs, now(), db, &[], &datasets);
        crate::out!("{table}");
        crate::say!(
            "facenet-lab: stdout is not a terminal, so this is the runs table instead of the live \
             dashboard. Run `facenet-lab` in a terminal for the dashboard, or `facenet-lab runs --json` for scripts."
        );
        return Ok(());
    }
    // Creates or migrates the lab, so that the collector can read it read-only; also the one
    // connection notes and tags are written through.
    let writer = Lab::open(db)?;
    let (tx, rx) = mpsc::channel::<Event>();
    let data_tx = tx.clone();
    let requests = store::spawn(db, move |u| data_tx.send(Event::Data(u)).is_ok())?;
    let answers = tx.clone();
    spawn_input(tx)?;

    // Installs a panic hook that restores the terminal before the message is printed.
    let mut terminal = ratatui::init();
    keep_the_screen_on_caught_panics();
    // A paste arrives whole, not as keys: its line breaks must not press Enter, nor its letters
    // run commands.
    let _ = ratatui::crossterm::execute!(std::io::stdout(), event::EnableBracketedPaste);
    let host = crate::lab::this_host();
    let mut app = App::new(now(), &host);
    app.db_flag = crate::lab::db_flag(db);
    app.lab_dir = writer.dir();
    app.sweep_of = process::sweep_of;
    let ctx = Runtime {
        db: db.to_path_buf(),
        writer,
        requests,
        answers,
        starts: Default::default(),
    };
    let result = (|| -> Result<()> {
        while !app.quit {
            let area = terminal.draw(|f| f.render_widget(&app, f.area()))?.area;
            let width = area.width;
            let first = match rx.recv_timeout(TICK) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            // Apply everything pending before drawing again: a burst of rows is one redraw.
            // Each key is read in the state the keys before it left: `/` and a pasted filter
            // type the filter, and its `q` does not quit.
            let events: Vec<Event> = first.into_iter().chain(rx.try_iter()).collect();
            ctx.apply(
                &mut app,
                vec![Action::Tick(now()), Action::Resize(area.width, area.height)],
            );
            ctx.handle(&mut app, events, width);
        }
        Ok(())
    })();
    let _ = ratatui::crossterm::execute!(std::io::stdout(), event::DisableBracketedPaste);
    ratatui::restore();
    for said in ctx.finish_starts(&rx) {
        crate::say!("{said}");
    }
    result
}

fn spawn_input(tx: Sender<Event>) -> Result<()> {
    std::thread::Builder::new()
        .name("keys".into())
        .spawn(move || loop {
            let ev = match event::read() {
                Ok(TermEvent::Key(k)) => Event::Key(k),
                Ok(TermEvent::Resize(..)) => Event::Redraw,
                Ok(TermEvent::Paste(text)) => Event::Paste(text),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(ev).is_err() {
                return;
            }
        })
        .context("starting the key reader thread")?;
    Ok(())
}

/// What effects need: the lab path, a writable connection, the collector's request channel,
/// and the way back to the screen's loop for work done on a thread of its own.
struct Runtime {
    db: PathBuf,
    writer: Lab,
    requests: Sender<Request>,
    answers: Sender<Event>,
    /// The threads starting runs ([`start`]).
    starts: std::cell::RefCell<Vec<std::thread::JoinHandle<()>>>,
}

impl Runtime {
    /// Waits, once the screen is closed, for the runs still being started, and returns what
    /// became of those the screen did not show, to be said: a `q` typed while a run was being
    /// checked neither loses the run nor hides its refusal.
    fn finish_starts(&self, events: &mpsc::Receiver<Event>) -> Vec<String> {
        let starts = self.starts.take();
        if starts.iter().any(|s| !s.is_finished()) {
            crate::say!("waiting for the run being started…");
        }
        for s in starts {
            let _ = s.join();
        }
        events
            .try_iter()
            .filter_map(|e| match e {
                Event::Answer(Action::Status(text, _) | Action::FormRefused(_, text)) => Some(text),
                Event::Answer(Action::RunStarted { pid, log }) => {
                    Some(app::started_text(None, pid, &log))
                }
                Event::Answer(Action::AskSweep(ask)) => Some(format!(
                    "sweep {} was not started: the lab has runs of {} of its {}; `facenet-lab{} \
                     sweep {0} --resume` finishes them, without --resume it trains new ones",
                    ask.file.display(),
                    ask.have.len(),
                    crate::format::count(ask.total as u64, "run", "runs"),
                    crate::lab::db_flag(&self.db),
                )),
                _ => None,
            })
            .collect()
    }

    /// Applies `events` in order, each key read in the state the keys before it left.
    fn handle(&self, app: &mut App, events: Vec<Event>, width: u16) {
        for e in events {
            // Keys after a `q` are not for this dashboard.
            if app.quit {
                return;
            }
            let actions = match e {
                Event::Key(k) => key_action(app, k, width).into_iter().collect(),
                Event::Data(u) => vec![Action::Data(u)],
                Event::Answer(a) => vec![a],
                Event::Paste(text) => paste_action(app, &text).into_iter().collect(),
                Event::Redraw => Vec::new(),
            };
            self.apply(app, actions);
        }
    }

    /// Applies `actions` in order, and what their effects answer after each.
    fn apply(&self, app: &mut App, actions: Vec<Action>) {
        let mut actions = std::collections::VecDeque::from(actions);
        while let Some(a) = actions.pop_front() {
            for effect in app.update(a) {
                actions.extend(self.perform(effect));
            }
        }
    }

    /// Carries out one effect; what the person should hear about it comes back as an action.
    fn perform(&self, effect: Effect) -> Option<Action> {
        let result: Result<Option<Action>> = (|| match effect {
            Effect::Watch(ids) => {
                let _ = self.requests.send(Request::Watch(ids));
                Ok(None)
            }
            Effect::SetNotes(id, notes) => {
                self.writer.set_notes(id, &notes)?;
                let _ = self.requests.send(Request::Wake);
                Ok(Some(Action::Status(
                    format!("note of run #{id} saved"),
                    false,
                )))
            }
            Effect::SetTags(id, tags) => {
                self.writer.set_tags(id, &tags)?;
                let _ = self.requests.send(Request::Wake);
                Ok(Some(Action::Status(
                    format!("tags of run #{id} saved"),
                    false,
                )))
            }
            Effect::Interrupt { run, pid } => {
                interrupt(pid, &self.db).with_context(|| format!("stopping run #{run}"))?;
                Ok(None)
            }
            Effect::InterruptSweep { run, pid, sweep } => {
                let stop = || {
                    trains_here(pid, &self.db)?;
                    // Still the run's sweep: a pid that was reused since is not signalled.
                    anyhow::ensure!(
                        process::sweep_of(pid) == Some(sweep),
                        "pid {sweep} is no longer the sweep that runs it (it ended, or the run did)"
                    );
                    ask_to_stop(sweep)
                };
                stop().with_context(|| format!("stopping the sweep of run #{run}"))?;
                Ok(None)
            }
            Effect::Spawn { args, label, form } => {
                // An experiment file may hold a whole sweep rather than one run's settings.
                if let [flag, file] = args.as_slice() {
                    if flag == "--config" && crate::sweep::is_spec_file(Path::new(file)) {
                        let file = PathBuf::from(file);
                        return self.off_screen("sweep", move |db, answers| {
                            start_sweep(db, &file, &label, SweepStart::Ask, answers)
                        });
                    }
                }
                let command: Vec<String> = std::iter::once("run".to_string()).chain(args).collect();
                self.off_screen("run", move |db, answers| {
                    start(db, &command, &label, form, answers)
                })
            }
            Effect::Resume {
                run,
                label,
                start_over,
            } => self.off_screen("run", move |db, answers| {
                start_resume(db, run, &label, start_over, answers)
            }),
            Effect::StartSweep {
                file,
                label,
                resume,
            } => {
                let how = if resume {
                    SweepStart::Resume
                } else {
                    SweepStart::New
                };
                self.off_screen("sweep", move |db, answers| {
                    start_sweep(db, &file, &label, how, answers)
                })
            }
            Effect::PlanDeletion(run) => {
                let plan = self.writer.plan_deletion(&[run])?;
                Ok(Some(match plan.refusal() {
                    Some(refusal) => Action::Status(refusal, true),
                    None => Action::AskDelete(plan),
                }))
            }
            Effect::DeleteRuns(plan) => {
                let deleted = self.writer.delete_runs(&plan)?;
                let _ = self.requests.send(Request::Wake);
                let mut said = deleted.lines();
                said.extend(deleted.warnings.iter().map(|w| format!("warning: {w}")));
                Ok(Some(Action::RunsDeleted {
                    runs: plan.ids(),
                    said: said.join("\n"),
                    warned: !deleted.warnings.is_empty(),
                }))
            }
            Effect::ListExperiments => Ok(Some(Action::Experiments(
                experiment_files(&experiment_dirs(&self.db))
                    .into_iter()
                    .map(|file| app::Experiment {
                        summary: experiment_summary(&file),
                        file,
                    })
                    .collect(),
            ))),
        })();
        result.unwrap_or_else(|e| Some(Action::Status(format!("{e:#}"), true)))
    }

    /// Starts the `what` (a run or a sweep) off the screen's thread, where `work` checks it and
    /// starts it, its answer sent back as an action; the status says meanwhile what it waits
    /// for. Off the screen's thread: a --like run's check hashes the other run's --init file,
    /// a sweep's reads its runs' --init files, seconds for a large checkpoint.
    fn off_screen(
        &self,
        what: &str,
        work: impl FnOnce(&Path, Sender<Event>) -> Action + Send + 'static,
    ) -> Result<Option<Action>> {
        let (db, answers) = (self.db.clone(), self.answers.clone());
        let thread = std::thread::Builder::new()
            .name("start".into())
            .spawn(move || {
                let answer = answer_of(|| work(&db, answers.clone()));
                let _ = answers.send(Event::Answer(answer));
            })
            .with_context(|| format!("starting the thread that starts the {what}"))?;
        let mut starts = self.starts.borrow_mut();
        starts.retain(|s| !s.is_finished());
        starts.push(thread);
        Ok(Some(Action::Status(format!("starting the {what}…"), false)))
    }
}

/// How a sweep spec picked with `e` is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SweepStart {
    /// As `sweep FILE`, unless the lab has runs of it: then the person is asked.
    Ask,
    /// New runs beside those the lab has: `sweep FILE`.
    New,
    /// `sweep FILE --resume`.
    Resume,
}

/// What a sweep spec's check found: the command to start, or a question to ask first.
enum SweepChecked {
    Start(Vec<String>),
    Ask(SweepAsk),
}

/// Starts the sweep of spec `file` as `how` says, once [`check_sweep`] passes it; what it
/// refuses is said on the status line, its lines run together, and nothing starts.
fn start_sweep(
    db: &Path,
    file: &Path,
    label: &str,
    how: SweepStart,
    answers: Sender<Event>,
) -> Action {
    match check_sweep(db, file, label, how) {
        Ok(SweepChecked::Start(command)) => start(db, &command, label, None, answers),
        Ok(SweepChecked::Ask(ask)) => Action::AskSweep(ask),
        // Line by line, as a run's refusal is said; a list, which the footer may cut (it
        // shows a few rows), names the command that prints it whole.
        Err(e) => {
            let mut said = format!("{e:#}");
            if said.lines().count() > 2 {
                said = said.replacen(
                    '\n',
                    &format!(
                        " (all of it: `facenet-lab{} sweep {} --dry-run`)\n",
                        crate::lab::db_flag(db),
                        crate::format::shell_quote(&file.to_string_lossy())
                    ),
                    1,
                );
            }
            Action::Status(said, true)
        }
    }
}

/// The sweep of spec `file` checked as `sweep` checks it before it starts anything (the spec,
/// its runs' data and --init files), so that a problem is said here, not in a log after a
/// failure that hides it; with `--resume`, whether the lab's runs of it can be resumed. Asked
/// to ([`SweepStart::Ask`]), a spec the lab already has runs of is a question rather than new
/// runs trained beside them unsaid.
fn check_sweep(db: &Path, file: &Path, label: &str, how: SweepStart) -> Result<SweepChecked> {
    use crate::format::count;
    use crate::sweep;
    let source = file.display().to_string();
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading sweep spec '{source}'"))?;
    let spec = sweep::SweepSpec::parse_onto(&text, &source, None)?;
    let (stopped, missing) = sweep::data_problems(&spec);
    if let Some(refusal) = sweep::data_refusal(&source, stopped, &missing) {
        anyhow::bail!(refusal);
    }
    if let Some(refusal) = sweep::init_refusal(&source, &sweep::init_problems(&spec)) {
        anyhow::bail!(refusal);
    }
    let mut command = vec!["sweep".to_string(), source.clone()];
    match how {
        SweepStart::Ask => {
            let have = sweep::already_run(db, &spec);
            if !have.is_empty() {
                let resume = match sweep::plan::resuming(db, &spec) {
                    // Nothing left to train: r would start a sweep that does nothing.
                    Ok(plans) if plans.iter().all(|p| matches!(p, sweep::Plan::Done(_))) => {
                        Err(format!(
                            "sweep {source} is complete: its {} completed, nothing to resume",
                            count(plans.len() as u64, "run", "runs")
                        ))
                    }
                    Ok(plans) => Ok(sweep::plan::describe(&plans)),
                    Err(e) => Err(text::one_line(&format!("{e:#}"))),
                };
                return Ok(SweepChecked::Ask(SweepAsk {
                    file: file.to_path_buf(),
                    label: label.to_string(),
                    have,
                    total: spec.configs.len(),
                    resume,
                }));
            }
        }
        SweepStart::New => {}
        SweepStart::Resume => {
            sweep::plan::resuming(db, &spec)?;
            command.push("--resume".into());
        }
    }
    Ok(SweepChecked::Start(command))
}

thread_local! {
    /// Whether this thread runs in [`caught`], and where its last panic happened.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PANICKED_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Leaves the terminal as the screen has it when a thread panics in [`caught`] (starting a
/// run, collecting the lab): ratatui's hook would restore it under the screen, which goes on.
/// The hook keeps where it happened for [`caught`] to tell.
fn keep_the_screen_on_caught_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CATCHING.get() {
            PANICKED_AT.set(info.location().map(|l| l.to_string()));
        } else {
            // ratatui's hook restores the rest of the terminal.
            let _ = ratatui::crossterm::execute!(std::io::stdout(), event::DisableBracketedPaste);
            previous(info);
        }
    }));
}

/// Runs `f`, or tells its panic: the message, and where it happened when the hook saw it.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let outer = CATCHING.replace(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.set(outer);
    result.map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        match PANICKED_AT.take() {
            Some(at) => format!("{why} (at {at})"),
            None => why,
        }
    })
}

/// What `start` answers, or its panic as an error in the status line.
fn answer_of(start: impl FnOnce() -> Action) -> Action {
    caught(start).unwrap_or_else(|why| {
        Action::Status(
            format!("starting the run failed on a bug, please report it: {why}"),
            true,
        )
    })
}

/// Starts `command` (`run …` or `sweep FILE`) in the background, unless [`check_run`] refuses
/// it: a refused start form comes back with the reason. Its log is named after the name a new
/// run will record (`--name X` typed into more flags, a `--config` file's, or `run`'s default
/// name), else after `label`.
fn start(
    db: &Path,
    command: &[String],
    label: &str,
    form: Option<StartForm>,
    answers: Sender<Event>,
) -> Action {
    let name = match check_run(db, command) {
        Ok(name) => name,
        Err(e) => {
            let text = format!("{e:#}");
            return match form {
                Some(form) => Action::FormRefused(form, text),
                None => Action::Status(text, true),
            };
        }
    };
    let label = name.as_deref().unwrap_or(label);
    let what = command[0].clone();
    let lab = db.to_path_buf();
    let ended = move |pid, status, log: &Path| {
        // A sweep's pid trained no run of its own.
        let run = what == "run";
        let who = match run.then(|| trained_by(&lab, pid)).flatten() {
            Some(run) => format!("run #{run} (pid {pid})"),
            None => format!("the {what} started as pid {pid}"),
        };
        let said = match ended_badly(&who, run, status, log) {
            Some(bad) => Some((bad, true)),
            None => ended_well(&who, status).map(|good| (good, false)),
        };
        if let Some((said, error)) = said {
            let _ = answers.send(Event::Answer(Action::Status(said, error)));
        }
    };
    match start_run(db, command, label, ended) {
        Ok((pid, log)) => {
            let what = match command {
                [run, flag, id, ..] if run == "run" && flag == "--resume" => {
                    format!("resuming run #{id}")
                }
                // A new run: its id is said once the lab records it.
                [run, ..] if run == "run" => {
                    return Action::RunStarted {
                        pid: i64::from(pid),
                        log: log.display().to_string(),
                    }
                }
                _ => format!("started {}", command[0]),
            };
            Action::Status(format!("{what} (pid {pid}), log: {}", log.display()), false)
        }
        Err(e) => Action::Status(format!("{e:#}"), true),
    }
}

/// Resumes run `run` (`run --resume RUN`) once [`check_resume`] passes it: what it refuses is
/// said on the status line, and a run with no checkpoint to resume from is asked about (it
/// would start over from step 0, dropping what it recorded) unless `start_over` says the person
/// agreed to that.
fn start_resume(
    db: &Path,
    run: crate::lab::RunId,
    label: &str,
    start_over: bool,
    answers: Sender<Event>,
) -> Action {
    match check_resume(db, run) {
        Err(e) => Action::Status(format!("{e:#}"), true),
        Ok(Some(ask)) if !start_over => Action::AskStartOver(StartOverAsk {
            label: label.to_string(),
            ..ask
        }),
        Ok(_) => {
            let command = ["run", "--resume", &run.to_string()].map(String::from);
            start(db, &command, label, None, answers)
        }
    }
}

/// Run `run` checked as `run --resume` reads it, from the lab (read only) and the files it
/// needs, before anything starts: refused here, it does not start only to fail in its log, as
/// `R` and `e` refuse a new run ([`check_run`]). Refused where it cannot resume here: its
/// device not in this build, its images not found, or (with no checkpoint to resume from) the
/// `--init` file it starts over from gone or changed. A run that would start over from step 0,
/// dropping steps it recorded, comes back as the question to ask ([`StartOverAsk`], its label
/// left empty), as the trainer finds it: no checkpoint of a kind it resumes from.
fn check_resume(db: &Path, run: crate::lab::RunId) -> Result<Option<StartOverAsk>> {
    use crate::train::events::CheckpointKind;
    let checked = || -> Result<Option<StartOverAsk>> {
        let lab = Lab::open_read_only(db)?;
        let run = lab.find_run_seen(&run.to_string())?;
        let cfg = crate::train::config::TrainConfig::recorded(&run)?;
        crate::train::device::check(cfg.device)?;
        crate::train::device::check_tf32(cfg.tf32).context("it multiplied its matrices in TF32")?;
        let recorded = lab.run_dataset(&run)?;
        let source = recorded.as_ref().map(|d| d.source.as_str());
        crate::train::session::resume_data(&cfg.data, None, source).with_context(|| {
            format!(
                "C resumes without --data; in a shell, `facenet-lab run --resume {} --data \
                 PATH` can",
                run.id
            )
        })?;
        let checkpoints = lab.checkpoints(run.id)?;
        if checkpoints
            .iter()
            .any(|c| CheckpointKind::resumable(&c.kind))
        {
            return Ok(None);
        }
        if let Some(init) = &cfg.init {
            let sha256 = run.hyper.init_sha256.as_deref();
            crate::train::session::init_again(run.id, init, None, sha256)?;
        }
        if run.last_iteration <= 0 {
            return Ok(None);
        }
        // As the trainer says it when it starts over.
        let why = match checkpoints.len() as u64 {
            0 => "it stopped before writing one".to_string(),
            n => format!(
                "its {} cannot be resumed from",
                crate::format::count(n, "best checkpoint", "best checkpoints")
            ),
        };
        Ok(Some(StartOverAsk {
            run: run.id,
            label: String::new(),
            why,
            steps: run.last_iteration,
            checkpoints: checkpoints.len(),
        }))
    };
    checked().with_context(|| format!("run #{run} was not resumed"))
}

/// A new run's settings checked as `run` will read them: a `run --like RUN` command's from the
/// other run's record in this lab (the start form checks the rest without the lab), a `run
/// --config FILE` command's (an experiment file `e` picked) from the file, with its images, and
/// either's --init file. Refused here, the run does not start only to fail in its log.
/// Passed, a new run's name as `run` will record it ([`TrainConfig::run_name`]: its `--name`,
/// else the file's, else the default made of its settings), which names its log; none for
/// another command (`--resume`, a sweep) or one clap refuses (it fails in its log).
///
/// [`TrainConfig::run_name`]: crate::train::config::TrainConfig::run_name
fn check_run(db: &Path, command: &[String]) -> Result<Option<String>> {
    let cli = std::iter::once("facenet-lab").chain(command.iter().map(String::as_str));
    let Ok(cli) = <crate::cli::Cli as clap::Parser>::try_parse_from(cli) else {
        return Ok(None);
    };
    if let Some(crate::cli::Command::Run(run)) = &cli.command {
        if let Some(key) = &run.like {
            let checked = || -> Result<String> {
                let like = crate::train::session::settings_like(
                    db,
                    key,
                    run.config.as_deref(),
                    &run.overrides,
                )?;
                // The trainer compares the file it reads; here, before it starts, the file's
                // sha256 alone (this waits for the hash of a large checkpoint).
                match (&like.cfg.init, &like.cfg.init_sha256) {
                    (Some(path), Some(sha)) => {
                        let now = crate::data::hash::sha256_file(Path::new(path));
                        crate::train::session::like_init_unchanged(
                            like.run,
                            path,
                            sha,
                            now.as_deref(),
                        )?;
                    }
                    // Given anew, or recorded without its sha256: read as the trainer reads it.
                    (Some(path), None) => init_readable(path)?,
                    (None, _) => {}
                }
                Ok(like.cfg.run_name())
            };
            return checked().context("the run was not started").map(Some);
        } else if run.resume.is_none() {
            let checked = || -> Result<String> {
                let (_, cfg) = crate::train::config::TrainConfig::resolve_from(
                    run.config.as_deref(),
                    &run.overrides,
                )?;
                cfg.validate()?;
                crate::train::session::resolve_data(&cfg.data)?;
                if let Some(path) = &cfg.init {
                    init_readable(path)?;
                }
                Ok(cfg.run_name())
            };
            return checked().context("the run was not started").map(Some);
        }
    }
    Ok(None)
}

/// The `--init` file at `path` read as the trainer reads it when a new run starts: one that is
/// gone, or no weights file, is refused with its words ("--init 'PATH': no such file").
fn init_readable(path: &str) -> Result<()> {
    crate::train::pretrained::InitWeights::read(Path::new(path))?;
    Ok(())
}

/// The trainer finishes its step, checkpoints and marks the run interrupted. Only to a process
/// that has the lab `db` open: a copy of a lab records the pid of the run training into the
/// original, and that run is not this lab's to stop.
fn interrupt(pid: i64, db: &Path) -> Result<()> {
    trains_here(pid, db)?;
    ask_to_stop(pid)
}

/// Refuses a run's process that does not have this lab `db` open: it trains into another copy
/// of the lab, or its pid is another process's now.
fn trains_here(pid: i64, db: &Path) -> Result<()> {
    let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
    if has_open(pid, db) == Some(false) {
        anyhow::bail!(
            "pid {pid} does not have '{}' open: the run trains into another copy of this lab, or \
             its process is gone and the pid is another's; stop it from the lab it writes to",
            db.display()
        );
    }
    Ok(())
}

/// Asks process `pid` (a run or a sweep) to stop as a first Ctrl-C does. Where it runs this
/// very executable, with [`crate::signals::STOP_ONCE`], which asks nothing more of one that is
/// stopping already: a run stopped twice, or alone and then with its sweep, still writes its
/// checkpoint, where a second SIGINT would make it quit without. Elsewhere (another build,
/// which may not take that signal, whose default kills) with SIGINT.
fn ask_to_stop(pid: i64) -> Result<()> {
    let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
    anyhow::ensure!(pid > 0, "refusing to signal pid {pid}");
    let (signal, name) = if process::runs_this_executable(i64::from(pid)) {
        (crate::signals::STOP_ONCE, "SIGUSR1")
    } else {
        (libc::SIGINT, "SIGINT")
    };
    // SAFETY: kill(2) has no memory effects; a bad pid is reported through errno.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        anyhow::bail!("sending {name} to pid {pid}: {e} (the process may have exited already)");
    }
    Ok(())
}

/// Whether process `pid` has the file `path` open; `None` where the system does not say (no
/// `/proc`, or another user's process).
fn has_open(pid: libc::pid_t, path: &Path) -> Option<bool> {
    let want = path.canonicalize().ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .any(|target| target == want),
    )
}

/// Where `e` looks for experiment files: `experiments/` in the working directory, and beside
/// the lab `db` when that is elsewhere.
fn experiment_dirs(db: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("experiments")];
    let beside = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join("experiments"));
    if let Some(beside) = beside {
        let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
        if beside.is_dir() && !same(&beside, &dirs[0]) {
            dirs.push(beside);
        }
    }
    dirs
}

/// The TOML experiment specs in `dirs`, sorted within each.
pub fn experiment_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        all.extend(files);
    }
    all
}

/// What the experiment file `file` starts, in a line for `e`'s list, as `sweep` and `run
/// --config` read it: `sweep: 6 runs · resnet18, resnet152, alexnet · 100 epochs`, or `run:
/// resnet18 · 90 epochs · 64 px` (`run`'s defaults where the file sets none); what is wrong
/// where it cannot be read (Enter says it whole).
pub fn experiment_summary(file: &Path) -> String {
    use crate::train::config::{Overrides, TrainConfig};
    let defaults = TrainConfig::default();
    if crate::sweep::is_spec_file(file) {
        let source = file.display().to_string();
        let spec = std::fs::read_to_string(file)
            .map_err(anyhow::Error::from)
            .and_then(|text| crate::sweep::SweepSpec::parse_onto(&text, &source, None));
        let spec = match spec {
            Ok(spec) => spec,
            Err(_) => return "sweep that does not read: Enter says why".into(),
        };
        let mut models: Vec<String> = Vec::new();
        let mut epochs: Vec<i64> = Vec::new();
        for config in &spec.configs {
            let model = config.get("model").and_then(|v| v.as_str());
            let model = model.map_or(defaults.model.to_string(), str::to_string);
            if !models.contains(&model) {
                models.push(model);
            }
            let e = config.get("epochs").and_then(|v| v.as_integer());
            epochs.push(e.unwrap_or(defaults.epochs as i64));
        }
        let (least, most) = (epochs.iter().min(), epochs.iter().max());
        let epochs = match (least, most) {
            (Some(&a), Some(&b)) if a == b => {
                format!(
                    " · {}",
                    crate::format::count(a.max(0) as u64, "epoch", "epochs")
                )
            }
            (Some(a), Some(b)) => format!(" · {a}–{b} epochs"),
            _ => String::new(),
        };
        let runs = crate::format::count(spec.configs.len() as u64, "run", "runs");
        return format!("sweep: {runs} · {}{epochs}", models.join(", "));
    }
    match Overrides::from_file(file) {
        Ok(o) => format!(
            "run: {} · {} · {} px",
            o.model.unwrap_or(defaults.model),
            crate::format::count(
                o.epochs.unwrap_or(defaults.epochs) as u64,
                "epoch",
                "epochs"
            ),
            o.image_size.unwrap_or(defaults.image_size)
        ),
        Err(_) => "run config that does not read: Enter says why".into(),
    }
}

/// Starts `facenet-lab --db DB ARGS…` (a `run`, given `--log-path LOG`, or a `sweep`) in its own session,
/// stdin closed, stdout and stderr to LOG: it outlives the dashboard and never writes on its screen.
/// `ended` hears how it ended (its pid, exit status and log), if it ends while the dashboard is
/// open.
fn start_run(
    db: &Path,
    args: &[String],
    label: &str,
    ended: impl FnOnce(u32, ExitStatus, &Path) + Send + 'static,
) -> Result<(u32, PathBuf)> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("finding the facenet-lab executable")?;
    let (log, out) = crate::lab::logs::create_log(db, label, now()).with_context(|| {
        let where_ = crate::lab::logs::log_path(db, label, now());
        format!("creating a log file like '{}'", where_.display())
    })?;
    let err = out.try_clone()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--db").arg(db).args(args);
    if args.first().is_some_and(|a| a == "run") {
        cmd.arg("--log-path").arg(&log);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: setsid(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting `facenet-lab {}`", args.join(" ")))?;
    let pid = child.id();
    watch(child, log.clone(), ended);
    Ok((pid, log))
}

/// Reaps `child` when it ends, so that it does not linger as a zombie while the dashboard is
/// open, and tells `ended` how it ended.
fn watch(
    mut child: std::process::Child,
    log: PathBuf,
    ended: impl FnOnce(u32, ExitStatus, &Path) + Send + 'static,
) {
    std::thread::spawn(move || {
        if let Ok(status) = child.wait() {
            ended(child.id(), status, &log);
        }
    });
}

/// The run of the lab at `db` that process `pid` of this host trained last, if any.
fn trained_by(db: &Path, pid: u32) -> Option<crate::lab::RunId> {
    let lab = Lab::open_read_only(db).ok()?;
    lab.conn()
        .query_row(
            &format!(
                "SELECT id FROM runs WHERE pid = ?1 AND {} = ?2 ORDER BY id DESC LIMIT 1",
                crate::lab::TRAINS_ON
            ),
            rusqlite::params![pid, crate::lab::this_host()],
            |r| r.get(0),
        )
        .ok()
        .map(crate::lab::RunId)
}

/// What to say of one the dashboard started that ended well: `run #3 (pid 42) finished`, or
/// stopped before its end (resumable); nothing for any other end ([`ended_badly`]'s).
fn ended_well(who: &str, status: ExitStatus) -> Option<String> {
    match status.code() {
        Some(0) => Some(format!("{who} finished")),
        Some(crate::sweep::EXIT_STOPPED) => {
            Some(format!("{who} stopped before its end; it can be resumed"))
        }
        _ => None,
    }
}

/// What to say of a run or sweep the dashboard started (`who`: `run #3 (pid 42)`, or `the run
/// started as pid 42` where the lab has no row of it) that has ended: nothing when it finished
/// or stopped before its end ([`crate::sweep::EXIT_STOPPED`]; [`ended_well`] says those); else
/// how it ended and the error its log ends with. A run refused before the lab recorded it (its
/// data missing) leaves no row to say so, and one killed shows only as crashed.
fn ended_badly(who: &str, run: bool, status: ExitStatus, log: &Path) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (Some(0 | crate::sweep::EXIT_STOPPED), _) => return None,
        (Some(code), _) => {
            // What it said last, `error: …` as main prints it.
            let error = store::tail(log, 16 * 1024).ok().and_then(|text| {
                let last = text.lines().rev().find_map(|l| l.strip_prefix("error: "));
                last.map(|e| format!(": {e}"))
            });
            format!("failed (exit status {code}){}", error.unwrap_or_default())
        }
        (None, Some(signal)) if run => {
            format!("was killed (signal {signal}) before it could close its run, now crashed")
        }
        // Its runs get the sweep's stop as it dies, and stop with a checkpoint.
        (None, Some(signal)) => format!("was killed (signal {signal}); its runs stop as asked"),
        (None, None) => return None,
    };
    Some(format!("{who} {how}; log: {}", log.display()))
}
