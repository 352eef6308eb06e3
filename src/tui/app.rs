//! The dashboard's state and its one mutator, [`App::update`]. Side effects (writing notes,
//! spawning or stopping a trainer, asking the collector for series) are returned as
//! [`Effect`]s for the event loop to carry out: decisions as data.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use ratatui::layout::Rect;

use super::datasets::Datasets;
use super::filter::{Column, Filter};
use super::series::{Series, Timeline, XAxis};
use super::start_form::StartForm;
use super::store::{RunDetails, Update};
use super::text::CutsApart;
use super::ui::{CompareView, DetailView, RunsTable};
use crate::lab::{metric, DeletionPlan, Run, RunId, RunStatus, SeriesPoint};

/// TensorBoard's default smoothing weight.
pub const SMOOTHING_WEIGHT: f64 = 0.6;

/// The metrics the compare view can overlay, cycled with `m`.
pub const COMPARE_METRICS: [&str; 9] = [
    metric::TRAIN_LOSS,
    metric::DEV_ACC,
    metric::DEV_ACC_CENTROID,
    metric::TRAIN_ACC,
    metric::ACTIVE_TRIPLETS,
    metric::DIST_AP,
    metric::DIST_AN,
    metric::IMAGES_PER_SEC,
    metric::LR,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Runs,
    Detail(RunId),
    Compare,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DetailTab {
    #[default]
    Charts,
    Info,
}

/// A scroll position moved by `delta` lines within `0..=max`, from the position shown: drawing
/// limits a scroll that the text (or a taller terminal) has left beyond the end.
fn scrolled(scroll: u16, delta: i32, max: u16) -> u16 {
    (i32::from(scroll.min(max)) + delta).clamp(0, i32::from(max)) as u16
}

#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    /// The keys, scrolled down by `scroll` lines where the terminal is too short for them.
    Help {
        scroll: u16,
    },
    Filter,
    ConfirmStop {
        run: RunId,
        pid: i64,
        name: String,
        /// The pid of the sweep that started the run, which would start its next run once
        /// this one stops; `a` stops the sweep instead.
        sweep: Option<i64>,
    },
    /// `C` on a run that stopped before its end: resume it, or leave it as it is.
    ConfirmResume(ResumeAsk),
    EditNotes {
        run: RunId,
        input: String,
    },
    EditTags {
        run: RunId,
        input: String,
    },
    StartForm(StartForm),
    PickExperiment {
        files: Vec<Experiment>,
        selected: usize,
    },
    /// A sweep spec picked with `e` that the lab already has runs of: resume the sweep, start
    /// new runs beside them, or neither.
    ConfirmSweep(SweepAsk),
    /// A run `C` resumes that has no checkpoint to resume from: start it over from step 0,
    /// dropping what it recorded, or leave it as it is.
    ConfirmStartOver(StartOverAsk),
    /// `D` on a run: what deleting it takes away ([`crate::lab::Lab::plan_deletion`]); `y`
    /// deletes it, any other key keeps it.
    ConfirmDelete(DeletionPlan),
}

/// An experiment file `e` offers, with what it starts said in a line (`run: resnet18 · 90
/// epochs · 64 px`, `sweep: 6 runs · …`): Enter starts it, and a sweep can train for hours.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    pub file: PathBuf,
    pub summary: String,
}

/// What the dashboard asks before it starts a sweep the lab already has runs of: started
/// again, it would train new runs beside them unsaid.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepAsk {
    pub file: PathBuf,
    /// Names the sweep's log.
    pub label: String,
    /// What the lab holds of the sweep's runs, a line each (`name (2/3): run 27
    /// (interrupted)`), as [`crate::sweep::already_run`] says it.
    pub have: Vec<String>,
    /// How many runs the sweep has.
    pub total: usize,
    /// What `sweep FILE --resume` would do ([`crate::sweep::plan::describe`]), or why it
    /// refuses (runs still training, settings the spec changed).
    pub resume: Result<String, String>,
}

/// What the dashboard asks before `C` resumes a run with no checkpoint to resume from: the
/// trainer would start it over from step 0 and drop its recorded steps and checkpoints, which
/// a key meant to go on where it stopped must not do unasked.
#[derive(Clone, Debug, PartialEq)]
pub struct StartOverAsk {
    pub run: RunId,
    /// Names the run's log.
    pub label: String,
    /// Why it has none: `it stopped before writing one`, or its best checkpoints cannot be
    /// resumed from.
    pub why: String,
    /// The steps it recorded, dropped when it starts over.
    pub steps: i64,
    /// The checkpoints it recorded (best ones, which cannot be resumed from), dropped too.
    pub checkpoints: usize,
}

/// What the dashboard asks before `C` resumes a run, as `X` asks before it stops one: a stray
/// `C` must not start a trainer.
#[derive(Clone, Debug, PartialEq)]
pub struct ResumeAsk {
    pub run: RunId,
    pub name: String,
    pub status: RunStatus,
    /// The epochs it trained, of those it was to train.
    pub done: i64,
    pub epochs: i64,
}

impl ResumeAsk {
    /// `Resume run #3 stopped (interrupted after epoch 4 of 10)?`: the epochs it finished, not
    /// those it will train, which its latest checkpoint decides (a crashed run may have none
    /// past its start, and is then asked about starting over).
    pub fn question(&self) -> String {
        format!(
            "Resume run #{} {} ({} after epoch {} of {})?",
            self.run, self.name, self.status, self.done, self.epochs,
        )
    }
}

impl StartOverAsk {
    /// `run #16 has no checkpoint to resume from (it stopped before writing one): start it over
    /// from step 0, dropping its 136 steps and 1 checkpoint?`
    pub fn question(&self) -> String {
        use crate::format::count;
        let checkpoints = match self.checkpoints {
            0 => String::new(),
            n => format!(" and {}", count(n as u64, "checkpoint", "checkpoints")),
        };
        format!(
            "run #{} has no checkpoint to resume from ({}): start it over from step 0, dropping \
             its {}{checkpoints}?",
            self.run,
            self.why,
            count(self.steps.max(0) as u64, "step", "steps"),
        )
    }
}

impl Overlay {
    /// Whether keys are text for this overlay rather than commands: the overlays of
    /// [`Overlay::text_mut`], and the filter.
    pub(super) fn takes_text(&self) -> bool {
        matches!(
            self,
            Overlay::Filter
                | Overlay::EditNotes { .. }
                | Overlay::EditTags { .. }
                | Overlay::StartForm(_)
        )
    }

    /// The text this overlay's editing keys change: the note, the tags, or the start form's
    /// focused field. The filter's text lives in the app, beside the filter in use.
    fn text_mut(&mut self) -> Option<&mut String> {
        match self {
            Overlay::EditNotes { input, .. } | Overlay::EditTags { input, .. } => Some(input),
            Overlay::StartForm(form) => form.fields.get_mut(form.focus).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Applies an editing key (a character typed, Backspace, Delete, Ctrl-U, a cursor move) to
/// `text`, whose cursor is `back` characters from its end; false when `action` is not one.
/// Every text field edits through here.
fn edit_text(text: &mut String, back: &mut usize, action: &Action) -> bool {
    let len = text.chars().count();
    *back = (*back).min(len);
    let at = len - *back;
    // The byte where character `k` starts.
    let byte = |text: &str, k: usize| text.char_indices().nth(k).map_or(text.len(), |(i, _)| i);
    match action {
        Action::Input(c) => text.insert(byte(text, at), *c),
        Action::InputText(t) => text.insert_str(byte(text, at), t),
        Action::Backspace if at > 0 => {
            text.remove(byte(text, at - 1));
        }
        Action::Delete if *back > 0 => {
            text.remove(byte(text, at));
            *back -= 1;
        }
        Action::Backspace | Action::Delete => {}
        Action::ClearInput => {
            text.clear();
            *back = 0;
        }
        Action::CursorLeft => *back = (*back + 1).min(len),
        Action::CursorRight => *back = back.saturating_sub(1),
        Action::CursorHome => *back = len,
        Action::CursorEnd => *back = 0,
        _ => return false,
    }
    true
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Quit,
    /// The clock moved (animates the live marker, ages heartbeats).
    Tick(f64),
    /// The terminal is this size (columns, rows).
    Resize(u16, u16),
    Data(Update),
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    CycleSort,
    ReverseSort,
    SortBy(Column),
    ToggleMark,
    ClearMarks,
    Open,
    Compare,
    Back,
    StartFilter,
    ToggleSmoothing,
    CycleXAxis,
    CycleCompareMetric,
    SwitchTab,
    Help,
    AskStop,
    /// Resume the focused run where it stopped (interrupted, crashed or failed).
    Resume,
    EditNotes,
    EditTags,
    StartForm,
    /// The start form filled in from the highlighted run, with `--like` it.
    StartLike,
    PickExperiment,
    Experiments(Vec<Experiment>),
    Input(char),
    /// Text pasted in one go: edited and (in the filter) parsed once, whatever its length.
    InputText(String),
    Backspace,
    /// Ctrl-U: empties the text being edited.
    ClearInput,
    NextField,
    PrevField,
    /// Delete the character under the cursor.
    Delete,
    CursorLeft,
    CursorRight,
    CursorHome,
    CursorEnd,
    Submit,
    Cancel,
    /// A message for the status line: (text, is it an error).
    Status(String, bool),
    /// A new run was started (`r`, `R`, `e`) as process `pid`, its output to `log`: its id
    /// comes once the lab records it.
    RunStarted {
        pid: i64,
        log: String,
    },
    /// The run the start form asked for was refused before it started (a `--like` run checked
    /// against the lab): the form comes back as it was, with the reason.
    FormRefused(StartForm, String),
    /// The sweep spec picked has runs in the lab already: ask before starting it.
    AskSweep(SweepAsk),
    /// The run `C` resumes has no checkpoint to resume from: ask before it starts over.
    AskStartOver(StartOverAsk),
    /// `D`: delete the focused run, once the lab's plan of it is read and the person agrees.
    DeleteRun,
    /// What deleting a run takes away, as the lab planned it: ask before deleting it.
    AskDelete(DeletionPlan),
    /// Runs were deleted from the lab: `said` says what went (and, `warned`, what files
    /// stayed); they leave the screen at once, before the collector's next read.
    RunsDeleted {
        runs: Vec<RunId>,
        said: String,
        warned: bool,
    },
}

impl Action {
    /// Whether a key pressed means it, rather than the clock, the terminal, the lab or work done
    /// off the screen: those say nothing of the person moving on.
    fn is_key(&self) -> bool {
        !matches!(
            self,
            Action::Tick(_)
                | Action::Resize(..)
                | Action::Data(_)
                | Action::Status(..)
                | Action::RunStarted { .. }
                | Action::FormRefused(..)
                | Action::AskSweep(_)
                | Action::AskStartOver(_)
                | Action::AskDelete(_)
                | Action::RunsDeleted { .. }
                | Action::Experiments(_)
        )
    }
}

/// What the event loop must do after an update.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Keep exactly these runs' series loaded and current.
    Watch(Vec<RunId>),
    SetNotes(RunId, String),
    SetTags(RunId, Vec<String>),
    /// Ask a trainer to stop: it checkpoints and marks the run interrupted.
    Interrupt {
        run: RunId,
        pid: i64,
    },
    /// Ask the sweep `sweep` that started run `run` (pid `pid`) to stop: it stops its running
    /// runs as above and starts no other.
    InterruptSweep {
        run: RunId,
        pid: i64,
        sweep: i64,
    },
    /// Start `facenet-lab run ARGS…` detached, its output to a log named after the name the run
    /// will record (a `--name` among the ARGS, else its settings'), or after `label` where that
    /// is not known (a sweep's file); the start form that asked for it, if one did, comes back if
    /// the run is refused.
    Spawn {
        args: Vec<String>,
        label: String,
        form: Option<StartForm>,
    },
    ListExperiments,
    /// Resume run `run` (`facenet-lab run --resume RUN`) detached, its output to a log named
    /// after `label`, once it is checked: one with no checkpoint to resume from is asked about
    /// ([`Action::AskStartOver`]) unless `start_over` says the person agreed to that.
    Resume {
        run: RunId,
        label: String,
        start_over: bool,
    },
    /// Start `facenet-lab sweep FILE` (with `--resume` if `resume`) detached, its output to a
    /// log named after `label`: the answer to [`Overlay::ConfirmSweep`].
    StartSweep {
        file: PathBuf,
        label: String,
        resume: bool,
    },
    /// Read what deleting run `RunId` would take away, or why it may not go
    /// ([`crate::lab::Lab::plan_deletion`]): answered with [`Action::AskDelete`], or the refusal.
    PlanDeletion(RunId),
    /// Delete the runs of the plan the person agreed to ([`crate::lab::Lab::delete_runs`]).
    DeleteRuns(DeletionPlan),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatusLine {
    pub text: String,
    pub error: bool,
    /// When it was set (the app's clock): it clears [`STATUS_SECONDS`] later.
    pub at: f64,
    /// The keys pressed since it was set: it clears with the [`STATUS_KEYS`]th.
    pub keys: u8,
}

/// How long a status message stays: long enough to read, not so long that it stands for a
/// state that has passed. It also goes when the person moves on: when the screen changes, a
/// dialog opens or closes (unless that key said it), or [`STATUS_KEYS`] keys later.
pub const STATUS_SECONDS: f64 = 8.0;

/// The key that clears a status message, counted from the one after it was set: a message of a
/// form left with esc, or of a stop cancelled, is not said on under what came next.
pub const STATUS_KEYS: u8 = 3;

pub struct App {
    pub runs: Vec<Run>,
    /// Indices into `runs` of the rows shown, filtered and sorted.
    pub view: Vec<usize>,
    /// Position in `view` of the highlighted row.
    pub selected: usize,
    pub marked: BTreeSet<RunId>,
    pub sort: Column,
    pub descending: bool,
    /// The filter editor's text; it may not parse while the person types.
    pub filter_input: String,
    /// The filter in use when the editor opened, for Esc to restore.
    filter_before: Filter,
    /// The filter in use: the last text that parsed.
    pub filter: Filter,
    /// Why the editor's text does not parse.
    pub filter_error: Option<String>,
    pub screen: Screen,
    pub tab: DetailTab,
    pub overlay: Option<Overlay>,
    pub smoothing: bool,
    pub x_axis: XAxis,
    pub compare_metric: usize,
    /// Rows of the compare table scrolled past (j/k), where the screen hides some.
    pub compare_scroll: u16,
    /// Where the cursor is in the text being edited: how many characters from its end.
    pub cursor_back: usize,
    /// How far the run's record (the detail view's info) is scrolled down.
    pub info_scroll: u16,
    /// The terminal's size at the last draw: how far the record can scroll depends on it.
    pub size: Rect,
    /// Series of the watched runs only: memory stays bounded whatever the lab's size.
    pub series: HashMap<RunId, BTreeMap<String, Series>>,
    pub details: HashMap<RunId, RunDetails>,
    pub logs: HashMap<RunId, String>,
    pub status: Option<StatusLine>,
    pub now: f64,
    pub frame: u64,
    pub loaded: bool,
    pub quit: bool,
    /// This machine: a pid means nothing on another host.
    pub hostname: String,
    /// ` --db PATH` for commands the screen suggests ([`crate::lab::db_flag`]); empty for the
    /// default lab.
    pub db_flag: String,
    /// The folder of the lab, which paths the lab records are relative to.
    pub lab_dir: PathBuf,
    /// The datasets of the lab's runs, by id.
    pub datasets: Datasets,
    /// The runs table's names as last cut to its width.
    pub name_cuts: RefCell<CutsApart>,
    /// The runs table as last drawn: the first row shown, and how many rows fit. The next
    /// draw scrolls from there, so a highlight moved back up stays where it is on the screen.
    pub table_rows: std::cell::Cell<(usize, usize)>,
    /// Whether the collector stopped: the title says so for as long as the screen is open.
    pub stopped: bool,
    watched: Vec<RunId>,
    /// The pid of the sweep that started the run of pid `pid`, if one did: none in a new App,
    /// [`super::process::sweep_of`] in the dashboard (tests stand in).
    pub sweep_of: fn(i64) -> Option<i64>,
    /// The runs `C` asked to resume, and when: a second `C` while the first one's trainer
    /// loads would start another, which the lab refuses only once the first marks the run
    /// running.
    resuming: HashMap<RunId, f64>,
    /// The runs started from here that the lab has not recorded yet.
    started: Vec<Started>,
    /// When the question about a sweep opened: its answers are keys of the runs table too
    /// (`n` notes, `r` the start form), so that keys typed before it showed are not answers.
    asked_at: f64,
}

/// How long the question about a sweep takes no answer after it opens: a key meant for the
/// table, typed as the question came, starts no sweep.
pub const ASK_SETTLE_SECONDS: f64 = 0.5;

/// A run started from the dashboard, until the lab records it: then its id is said, and it is
/// highlighted.
#[derive(Clone, Debug, PartialEq)]
struct Started {
    pid: i64,
    log: String,
    /// When it started: a run of this pid recorded before is another process's.
    at: f64,
    /// The run highlighted when it started: the new one is highlighted only where the person
    /// has not moved since, so that a key meant for the run they moved to acts on that one.
    highlighted: Option<RunId>,
}

/// How long a run started from here is looked for in the lab, to say its id.
const STARTED_SECONDS: f64 = 1800.0;

/// What is said of a new run started from here as process `pid`, its output to `log`: `started
/// run (pid 42), log: logs/r.log` until the lab records it, then, given its id and a note on
/// it (empty, or ` (the filter hides it)`), `started run #7 (pid 42), log: logs/r.log` with
/// the note after the id. The status line says it, and so does the shell for a run still being
/// started when the screen closed: one wording.
pub fn started_text(recorded: Option<(RunId, &str)>, pid: i64, log: &str) -> String {
    let id = recorded
        .map(|(id, note)| format!(" #{id}{note}"))
        .unwrap_or_default();
    format!("started run{id} (pid {pid}), log: {log}")
}

/// How long a run `C` resumed is taken to be starting: a `C` on it meanwhile starts nothing.
pub const RESUME_STARTING_SECONDS: f64 = 10.0;

impl App {
    pub fn new(now: f64, hostname: &str) -> App {
        App {
            runs: Vec::new(),
            view: Vec::new(),
            selected: 0,
            marked: BTreeSet::new(),
            sort: Column::Id,
            descending: true,
            filter_input: String::new(),
            filter_before: Filter::default(),
            filter: Filter::default(),
            filter_error: None,
            screen: Screen::Runs,
            tab: DetailTab::Charts,
            overlay: None,
            smoothing: true,
            x_axis: XAxis::Iteration,
            compare_metric: 0,
            compare_scroll: 0,
            cursor_back: 0,
            info_scroll: 0,
            size: Rect::new(0, 0, 80, 24),
            series: HashMap::new(),
            details: HashMap::new(),
            logs: HashMap::new(),
            status: None,
            now,
            frame: 0,
            loaded: false,
            quit: false,
            hostname: hostname.to_string(),
            db_flag: String::new(),
            lab_dir: PathBuf::from("."),
            datasets: Datasets::new(),
            name_cuts: RefCell::default(),
            table_rows: Default::default(),
            stopped: false,
            watched: Vec::new(),
            // The system's answer is set where the dashboard runs: an App of the tests asks
            // no real process.
            sweep_of: |_| None,
            resuming: HashMap::new(),
            started: Vec::new(),
            asked_at: f64::NEG_INFINITY,
        }
    }

    /// Types `text` into whatever takes text now, a key at a time, as a person would.
    #[cfg(test)]
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.update(Action::Input(c));
        }
    }

    /// What the x axes need of `run`: when it was resumed, oldest first, as its record lists
    /// them, or (before the lab kept each, or before its record came) its latest resume; and
    /// its training images, once its record came.
    pub fn timeline<'a>(&'a self, run: &'a Run) -> Timeline<'a> {
        let details = self.details.get(&run.id);
        let resumed_at = match details {
            Some(d) if !d.resumed_at.is_empty() => &d.resumed_at,
            _ => run.resumed_at.as_slice(),
        };
        let train_images = details
            .and_then(|d| d.splits.iter().find(|s| s.name == "train"))
            .map(|s| s.n_images);
        Timeline {
            resumed_at,
            train_images,
        }
    }

    pub fn run(&self, id: RunId) -> Option<&Run> {
        self.runs.iter().find(|r| r.id == id)
    }

    pub fn selected_run(&self) -> Option<&Run> {
        self.view.get(self.selected).and_then(|&i| self.runs.get(i))
    }

    /// The runs the compare view shows: the marked ones, in id order.
    pub fn compared(&self) -> Vec<&Run> {
        self.runs
            .iter()
            .filter(|r| self.marked.contains(&r.id))
            .collect()
    }

    /// The run the current screen is about, for notes, tags, stop and resume. The compare
    /// screen shows several runs and highlights none, so it has none.
    pub fn focused_run(&self) -> Option<&Run> {
        match self.screen {
            Screen::Detail(id) => self.run(id),
            Screen::Runs => self.selected_run(),
            Screen::Compare => None,
        }
    }

    pub fn smoothing_weight(&self) -> Option<f64> {
        self.smoothing.then_some(SMOOTHING_WEIGHT)
    }

    /// The effect that resumes run `run` (or starts it over) once its question was answered
    /// `y`, noting when it was asked for, so that the table shows it starting.
    fn resume_effect(&mut self, run: RunId, label: String, start_over: bool) -> Effect {
        self.resuming.insert(run, self.now);
        Effect::Resume {
            run,
            label,
            start_over,
        }
    }

    fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(StatusLine {
            text: text.into(),
            error,
            at: self.now,
            keys: 0,
        });
    }

    /// Re-filters and re-sorts, keeping the highlight on the same run.
    fn refresh_view(&mut self) {
        let keep = self.selected_run().map(|r| r.id);
        let now = self.now;
        let mut view: Vec<usize> = (0..self.runs.len())
            .filter(|&i| self.filter.matches(&self.runs[i], now))
            .collect();
        let (col, desc) = (self.sort, self.descending);
        let datasets = &self.datasets;
        view.sort_by(|&a, &b| {
            col.order_as_shown(&self.runs[a], &self.runs[b], now, desc, datasets)
        });
        self.view = view;
        self.selected = keep
            .and_then(|id| self.view.iter().position(|&i| self.runs[i].id == id))
            .unwrap_or(self.selected)
            .min(self.view.len().saturating_sub(1));
    }

    fn wanted(&self) -> Vec<RunId> {
        match self.screen {
            Screen::Runs => Vec::new(),
            Screen::Detail(id) => vec![id],
            Screen::Compare => self.marked.iter().copied().collect(),
        }
    }

    /// Tells the collector which series to keep, and drops the others here.
    fn rewatch(&mut self, effects: &mut Vec<Effect>) {
        let want = self.wanted();
        if want == self.watched {
            return;
        }
        self.series.retain(|id, _| want.contains(id));
        self.details.retain(|id, _| want.contains(id));
        self.logs.retain(|id, _| want.contains(id));
        self.watched = want.clone();
        effects.push(Effect::Watch(want));
    }

    fn in_detail(&self) -> bool {
        matches!(self.screen, Screen::Detail(_))
    }

    /// Scrolls the run's record by `delta` lines, within what the screen leaves hidden.
    fn scroll_info_by(&mut self, delta: i32) {
        let max = DetailView::info_scroll_limits(self).map_or(0, |(max, _)| max);
        self.info_scroll = scrolled(self.info_scroll, delta, max);
    }

    /// Scrolls the compare table by `delta` rows, within what the screen leaves hidden.
    fn scroll_compare_by(&mut self, delta: i32) {
        let max = CompareView::scroll_limits(self).map_or(0, |(max, _)| max);
        self.compare_scroll = scrolled(self.compare_scroll, delta, max);
    }

    fn scroll_compare_pages(&mut self, pages: i32) {
        let page = CompareView::scroll_limits(self).map_or(1, |(_, page)| page);
        self.scroll_compare_by(pages * i32::from(page));
    }

    fn scroll_info_pages(&mut self, pages: i32) {
        let page = DetailView::info_scroll_limits(self).map_or(1, |(_, page)| page);
        self.scroll_info_by(pages * i32::from(page));
    }

    /// How far PgUp and PgDn move in the runs table: the rows it last showed, less one to
    /// keep in sight.
    fn page(&self) -> isize {
        (self.table_rows.get().1.saturating_sub(1)).max(1) as isize
    }

    fn move_by(&mut self, delta: isize) {
        if self.view.is_empty() {
            self.selected = 0;
            return;
        }
        let last = self.view.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        // The filter being edited hides the status: its keys do not age what was not seen.
        let filtering = self.overlay == Some(Overlay::Filter);
        if action.is_key() && !filtering {
            self.count_key();
        }
        let (said, dialog) = (self.status.clone(), self.overlay.is_some());
        let mut fx = Vec::new();
        if let Some(overlay) = self.overlay.take() {
            if let Some(unhandled) = self.update_overlay(overlay, action, &mut fx) {
                self.update_screen(unhandled, &mut fx);
            }
        } else {
            self.update_screen(action, &mut fx);
            // A text opened now is edited from its end.
            if self.overlay.is_some() {
                self.cursor_back = 0;
            }
        }
        // A dialog opened over a message takes the footer for its keys; one closed takes its
        // messages with it (a form's error). What this very action said stays, and so does a
        // message that waited, unseen, under the filter.
        if self.overlay.is_some() != dialog && !filtering && self.status == said {
            self.status = None;
        }
        fx
    }

    /// Counts a key pressed against the status message: it goes with the [`STATUS_KEYS`]th.
    fn count_key(&mut self) {
        if let Some(s) = &mut self.status {
            s.keys = s.keys.saturating_add(1);
            if s.keys >= STATUS_KEYS {
                self.status = None;
            }
        }
    }

    /// Handles an action while an overlay is open; returns the action if the overlay leaves it
    /// to the screen (data, ticks).
    fn update_overlay(
        &mut self,
        mut overlay: Overlay,
        action: Action,
        fx: &mut Vec<Effect>,
    ) -> Option<Action> {
        // What is not a key goes past the overlay, as it goes past a status message.
        if !action.is_key() {
            self.overlay = Some(overlay);
            return Some(action);
        }
        if action == Action::Quit {
            self.quit = true;
            return None;
        }
        let back = &mut self.cursor_back;
        let edited = match &mut overlay {
            Overlay::Filter => edit_text(&mut self.filter_input, back, &action),
            other => other
                .text_mut()
                .is_some_and(|t| edit_text(t, back, &action)),
        };
        if edited {
            if overlay == Overlay::Filter {
                self.apply_filter();
            }
            self.overlay = Some(overlay);
            return None;
        }
        match (overlay, action) {
            // Text that does not parse stays in the editor with its error: closing would leave
            // a filter on screen that is not the one in use.
            (Overlay::Filter, Action::Submit) if self.filter_error.is_some() => {
                self.overlay = Some(Overlay::Filter);
            }
            // Enter takes the text as typed: a last word waiting for its operator becomes a
            // text term.
            (Overlay::Filter, Action::Submit) => match Filter::parse(&self.filter_input) {
                Ok(f) => {
                    self.filter = f;
                    self.refresh_view();
                }
                Err(e) => {
                    self.filter_error = Some(e);
                    self.overlay = Some(Overlay::Filter);
                }
            },
            (Overlay::Filter, Action::Cancel) => {
                self.filter = std::mem::take(&mut self.filter_before);
                self.filter_input = self.filter.text().to_string();
                self.filter_error = None;
                self.refresh_view();
            }
            (
                Overlay::ConfirmStop {
                    run,
                    pid,
                    sweep: Some(sweep),
                    ..
                },
                Action::Input('a'),
            ) => {
                fx.push(Effect::InterruptSweep { run, pid, sweep });
                self.set_status(
                    format!(
                        "asked the sweep of run #{run} (pid {sweep}) to stop: it stops its runs \
                         and starts no other"
                    ),
                    false,
                );
            }
            // Only `y`: a stray Enter (as to open a run) must not stop one training.
            (Overlay::ConfirmStop { run, pid, name, .. }, Action::Input('y')) => {
                fx.push(Effect::Interrupt { run, pid });
                self.set_status(
                    format!("asked run #{run} {name} (pid {pid}) to stop"),
                    false,
                );
            }
            (Overlay::ConfirmStop { .. }, Action::Cancel | Action::Input('n')) => {
                self.set_status("stop cancelled", false);
            }
            // Only `y`, as for a stop: a stray Enter starts no trainer.
            (Overlay::ConfirmResume(ask), Action::Input('y')) => {
                fx.push(self.resume_effect(ask.run, ask.name, false));
            }
            (Overlay::ConfirmResume(ask), Action::Cancel | Action::Input('n')) => {
                self.set_status(format!("run #{} not resumed", ask.run), false);
            }
            // Only `y`, as for a stop: what the run recorded goes.
            (Overlay::ConfirmStartOver(ask), Action::Input('y')) => {
                fx.push(self.resume_effect(ask.run, ask.label, true));
            }
            (Overlay::ConfirmStartOver(ask), Action::Cancel | Action::Input('n')) => {
                self.set_status(
                    format!(
                        "run #{} not resumed: its steps and checkpoints are kept",
                        ask.run
                    ),
                    false,
                );
            }
            // Only `y`: any other key, Enter among them, keeps the run.
            (Overlay::ConfirmDelete(plan), Action::Input('y')) => {
                fx.push(Effect::DeleteRuns(plan));
            }
            (Overlay::ConfirmDelete(plan), _) => {
                let ids: Vec<String> = plan.ids().iter().map(|id| format!("#{id}")).collect();
                self.set_status(
                    format!("run {} not deleted: nothing changed", ids.join(", ")),
                    false,
                );
            }
            (Overlay::EditNotes { run, input }, Action::Submit) => {
                fx.push(Effect::SetNotes(run, input));
            }
            (Overlay::EditTags { run, input }, Action::Submit) => {
                let tags: Vec<String> = input
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect();
                // A tag the lab refuses keeps the editor open on what was typed; the run's own
                // tags, in any order, are nothing to write.
                let set = |t: &[String]| -> std::collections::BTreeSet<String> {
                    t.iter().cloned().collect()
                };
                let unchanged = self.run(run).is_some_and(|r| set(&r.tags) == set(&tags));
                match tags.iter().find_map(|t| crate::lab::tag_problem(t)) {
                    Some(why) => {
                        self.set_status(why, true);
                        self.overlay = Some(Overlay::EditTags { run, input });
                    }
                    None if unchanged => {
                        self.set_status(format!("tags of run #{run} unchanged"), false);
                    }
                    None => fx.push(Effect::SetTags(run, tags)),
                }
            }
            // Esc leaves the run's note or tags as they were: nothing is written.
            (Overlay::EditNotes { run, .. }, Action::Cancel) => {
                self.set_status(format!("note of run #{run} unchanged"), false);
            }
            (Overlay::EditTags { run, .. }, Action::Cancel) => {
                self.set_status(format!("tags of run #{run} unchanged"), false);
            }
            (Overlay::StartForm(mut form), action) => match action {
                Action::NextField | Action::Down => {
                    self.cursor_back = 0;
                    form.focus = (form.focus + 1) % form.fields.len();
                    self.overlay = Some(Overlay::StartForm(form));
                }
                Action::PrevField | Action::Up => {
                    self.cursor_back = 0;
                    form.focus = (form.focus + form.fields.len() - 1) % form.fields.len();
                    self.overlay = Some(Overlay::StartForm(form));
                }
                Action::Submit => match form.args() {
                    Ok(args) => {
                        let label = args.first().cloned().unwrap_or_default();
                        fx.push(Effect::Spawn {
                            args,
                            label,
                            form: Some(form),
                        });
                    }
                    Err(e) => {
                        self.set_status(e, true);
                        self.overlay = Some(Overlay::StartForm(form));
                    }
                },
                Action::Cancel => {}
                _ => self.overlay = Some(Overlay::StartForm(form)),
            },
            (Overlay::PickExperiment { files, selected }, action) => match action {
                // Stopping at the ends, as the runs table does: a wrap from the last to the
                // first lands on a file one did not aim at, and Enter starts it.
                Action::Down | Action::Up => {
                    let selected = if action == Action::Down {
                        (selected + 1).min(files.len().saturating_sub(1))
                    } else {
                        selected.saturating_sub(1)
                    };
                    self.overlay = Some(Overlay::PickExperiment { files, selected });
                }
                Action::Submit | Action::Open => {
                    if let Some(Experiment { file: f, .. }) = files.get(selected) {
                        let label = f
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        fx.push(Effect::Spawn {
                            args: vec!["--config".into(), f.display().to_string()],
                            label,
                            form: None,
                        });
                    }
                }
                Action::Cancel | Action::Back => {}
                _ => self.overlay = Some(Overlay::PickExperiment { files, selected }),
            },
            // Only `r` or `n`, once the question has been seen: a stray Enter (as the one that
            // picked the file), or a key for the table typed as the question came, starts
            // nothing.
            (Overlay::ConfirmSweep(ask), Action::Input('r' | 'n'))
                if self.now - self.asked_at < ASK_SETTLE_SECONDS =>
            {
                self.overlay = Some(Overlay::ConfirmSweep(ask));
            }
            (Overlay::ConfirmSweep(ask), Action::Input('r')) => match &ask.resume {
                Ok(_) => fx.push(Effect::StartSweep {
                    file: ask.file,
                    label: ask.label,
                    resume: true,
                }),
                // The question stays: n or esc still answer it.
                Err(why) => {
                    self.set_status(why.clone(), true);
                    self.overlay = Some(Overlay::ConfirmSweep(ask));
                }
            },
            (Overlay::ConfirmSweep(ask), Action::Input('n')) => fx.push(Effect::StartSweep {
                file: ask.file,
                label: ask.label,
                resume: false,
            }),
            (Overlay::ConfirmSweep(ask), Action::Cancel) => {
                self.set_status(format!("sweep {} not started", ask.file.display()), false);
            }
            (Overlay::Help { .. }, Action::Help | Action::Cancel | Action::Back) => {}
            (
                Overlay::Help { scroll },
                a @ (Action::Up | Action::Down | Action::PageUp | Action::PageDown),
            ) => {
                let delta = match a {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -10,
                    _ => 10,
                };
                let scroll = scrolled(scroll, delta, super::ui::help_overflow(self));
                self.overlay = Some(Overlay::Help { scroll })
            }
            // Any other key leaves a read-only overlay open, and a text field unchanged.
            (overlay, _) => self.overlay = Some(overlay),
        }
        None
    }

    fn apply_filter(&mut self) {
        match Filter::parse_typing(&self.filter_input) {
            Ok(f) => {
                self.filter = f;
                self.filter_error = None;
                self.refresh_view();
            }
            // The words before the one in error, where they parse: `model=resnet18 dev_acc>`
            // keeps `model=resnet18` while its last term is typed, and `foo=bar` filters
            // nothing, not by the `foo` it was on its way. Where an earlier word is wrong, the
            // filter of before the editor opened, as Esc would bring back.
            Err(e) => {
                let text = self.filter_input.trim_end();
                let before = text.rfind(char::is_whitespace).map_or("", |i| &text[..i]);
                self.filter = Filter::parse(before).unwrap_or_else(|_| self.filter_before.clone());
                self.filter_error = Some(e);
                self.refresh_view();
            }
        }
    }

    fn update_screen(&mut self, action: Action, fx: &mut Vec<Effect>) {
        match action {
            Action::Quit => self.quit = true,
            Action::Tick(now) => {
                self.now = now;
                self.frame = self.frame.wrapping_add(1);
                // The filter being edited takes the footer: a status (an error that came
                // meanwhile) waits to be shown, and its time starts then.
                if self.overlay == Some(Overlay::Filter) {
                    if let Some(s) = &mut self.status {
                        s.at = now;
                    }
                }
                if self
                    .status
                    .as_ref()
                    .is_some_and(|s| now - s.at >= STATUS_SECONDS)
                {
                    self.status = None;
                }
            }
            // Sent every pass of the loop: the record's scroll is re-limited (which lays the
            // record out) only when the size really changed.
            Action::Resize(w, h) => {
                let size = Rect::new(0, 0, w, h);
                if size != self.size {
                    self.size = size;
                    self.scroll_info_by(0);
                }
            }
            Action::Data(u) => self.apply(u),
            Action::Status(text, error) => self.set_status(text, error),
            Action::RunStarted { pid, log } => {
                self.set_status(started_text(None, pid, &log), false);
                self.started.push(Started {
                    pid,
                    log,
                    at: self.now,
                    highlighted: self.selected_run().map(|r| r.id),
                });
            }
            // The form comes back as it was typed, unless the person opened something else
            // while the run was being checked.
            Action::FormRefused(form, text) => {
                if self.overlay.is_none() {
                    self.overlay = Some(Overlay::StartForm(form));
                }
                self.set_status(text, true);
            }
            // So is the question about a sweep; under another dialog, it is said instead.
            Action::AskSweep(ask) => {
                if self.overlay.is_none() {
                    self.status = None;
                    self.asked_at = self.now;
                    self.overlay = Some(Overlay::ConfirmSweep(ask));
                } else {
                    self.set_status(
                        format!(
                            "sweep {} not started: the lab has runs of it; e and pick it again \
                             to choose between resuming it and new runs",
                            ask.file.display()
                        ),
                        true,
                    );
                }
            }
            // Asked as the sweep's question is; under another dialog, said instead. Either way
            // nothing started: a `C` now checks the run again.
            Action::AskStartOver(ask) => {
                self.resuming.remove(&ask.run);
                if self.overlay.is_none() {
                    self.status = None;
                    self.overlay = Some(Overlay::ConfirmStartOver(ask));
                } else {
                    self.set_status(
                        format!(
                            "run #{} not resumed: it has no checkpoint to resume from; C again to \
                             choose whether it starts over from step 0",
                            ask.run
                        ),
                        true,
                    );
                }
            }
            // Asked as the other questions are; under another dialog, said instead.
            Action::AskDelete(plan) => {
                if self.overlay.is_none() {
                    self.status = None;
                    self.overlay = Some(Overlay::ConfirmDelete(plan));
                } else {
                    let ids: Vec<String> = plan.ids().iter().map(|id| format!("#{id}")).collect();
                    self.set_status(
                        format!(
                            "run {} not deleted: another dialog was open; D again to delete it",
                            ids.join(", ")
                        ),
                        true,
                    );
                }
            }
            Action::RunsDeleted { runs, said, warned } => {
                self.runs.retain(|r| !runs.contains(&r.id));
                self.marked.retain(|id| !runs.contains(id));
                if matches!(self.screen, Screen::Detail(id) if runs.contains(&id)) {
                    self.screen = Screen::Runs;
                }
                self.refresh_view();
                self.set_status(said, warned);
            }
            // In a run's detail the moving keys scroll its record; the table stays as it was.
            Action::Up if self.in_detail() => self.scroll_info_by(-1),
            Action::Down if self.in_detail() => self.scroll_info_by(1),
            Action::PageUp if self.in_detail() => self.scroll_info_pages(-1),
            Action::PageDown if self.in_detail() => self.scroll_info_pages(1),
            Action::Top if self.in_detail() => self.info_scroll = 0,
            Action::Bottom if self.in_detail() => self.scroll_info_by(i32::from(u16::MAX)),
            // In compare, they scroll its table.
            Action::Up if self.screen == Screen::Compare => self.scroll_compare_by(-1),
            Action::Down if self.screen == Screen::Compare => self.scroll_compare_by(1),
            Action::PageUp if self.screen == Screen::Compare => self.scroll_compare_pages(-1),
            Action::PageDown if self.screen == Screen::Compare => self.scroll_compare_pages(1),
            Action::Top if self.screen == Screen::Compare => self.compare_scroll = 0,
            Action::Bottom if self.screen == Screen::Compare => {
                self.scroll_compare_by(i32::from(u16::MAX))
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-self.page()),
            Action::PageDown => self.move_by(self.page()),
            Action::Top => self.selected = 0,
            Action::Bottom => self.move_by(isize::MAX / 2),
            // Through the columns on screen: one the terminal hides would sort by what no one
            // sees.
            Action::CycleSort => {
                let shown = RunsTable::columns_on_screen(self.size.width, self);
                let mut next = self.sort.next();
                while !shown.contains(&next) && next != self.sort {
                    next = next.next();
                }
                self.sort = next;
                self.refresh_view();
            }
            Action::ReverseSort => {
                self.descending = !self.descending;
                self.refresh_view();
            }
            Action::SortBy(c) => {
                if self.sort == c {
                    self.descending = !self.descending;
                } else {
                    self.sort = c;
                }
                self.refresh_view();
            }
            Action::ToggleMark => {
                if let Some(id) = self.selected_run().map(|r| r.id) {
                    if !self.marked.remove(&id) {
                        self.marked.insert(id);
                    }
                    self.move_by(1);
                }
            }
            Action::ClearMarks => self.marked.clear(),
            Action::Open => {
                if let Some(id) = self.selected_run().map(|r| r.id) {
                    self.screen = Screen::Detail(id);
                    self.info_scroll = 0;
                    self.status = None;
                }
            }
            Action::Compare => {
                if self.marked.is_empty() {
                    self.set_status(
                        "mark runs with space first, then press c to compare them",
                        true,
                    );
                } else {
                    self.screen = Screen::Compare;
                    self.compare_scroll = 0;
                    self.status = None;
                }
            }
            Action::Back | Action::Cancel => {
                self.status = None;
                self.screen = Screen::Runs;
            }
            Action::StartFilter => {
                self.filter_before = self.filter.clone();
                self.filter_input = self.filter.text().to_string();
                self.filter_error = None;
                self.overlay = Some(Overlay::Filter);
            }
            Action::ToggleSmoothing => self.smoothing = !self.smoothing,
            Action::CycleXAxis => self.x_axis = self.x_axis.next(),
            Action::CycleCompareMetric => {
                self.compare_metric = (self.compare_metric + 1) % COMPARE_METRICS.len();
            }
            Action::SwitchTab => {
                self.tab = match self.tab {
                    DetailTab::Charts => DetailTab::Info,
                    DetailTab::Info => DetailTab::Charts,
                }
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            // The runs table's highlighted row is hidden behind the compare screen: acting on
            // it would change a run the person cannot see.
            Action::AskStop
            | Action::Resume
            | Action::EditNotes
            | Action::EditTags
            | Action::StartLike
            | Action::DeleteRun
                if self.screen == Screen::Compare =>
            {
                self.set_status(
                    "n, t, R, X, C and D act on one run: esc back to the table, or open the run \
                     with enter",
                    true,
                );
            }
            Action::AskStop => self.ask_stop(),
            // The lab says what it takes away, or why it may not go: one plan for the dashboard
            // and `lab delete`.
            Action::DeleteRun => match self.focused_run() {
                Some(r) => fx.push(Effect::PlanDeletion(r.id)),
                None => self.say_no_run(),
            },
            Action::Resume => self.resume(),
            Action::EditNotes => match self.focused_run() {
                Some(r) => {
                    self.overlay = Some(Overlay::EditNotes {
                        run: r.id,
                        input: r.notes.clone(),
                    })
                }
                None => self.say_no_run(),
            },
            // The run's tags end with a separator, so that what is typed starts a new tag
            // rather than lengthening the last one.
            Action::EditTags => match self.focused_run() {
                Some(r) => {
                    self.overlay = Some(Overlay::EditTags {
                        run: r.id,
                        input: r.tags.iter().map(|t| format!("{t}, ")).collect(),
                    })
                }
                None => self.say_no_run(),
            },
            Action::StartForm => {
                self.overlay = Some(Overlay::StartForm(StartForm::for_lab(
                    &self.runs,
                    &self.datasets,
                    &self.lab_dir,
                )))
            }
            Action::StartLike => {
                if self.focused_run().is_none() {
                    self.say_no_run();
                }
                if let Some(r) = self.focused_run() {
                    let id = r.id;
                    self.overlay = Some(Overlay::StartForm(StartForm::like(r)));
                    self.set_status(
                        format!(
                            "a run like #{id}: --like {id} brings its other settings, and an empty \
                             data field its images"
                        ),
                        false,
                    );
                }
            }
            Action::PickExperiment => fx.push(Effect::ListExperiments),
            Action::Experiments(files) => {
                if files.is_empty() {
                    self.set_status(
                        "no experiment files: put TOML specs in experiments/, here or beside the lab (see `facenet-lab run --config`)",
                        true,
                    );
                } else {
                    // A message of before (none were there) no longer holds.
                    self.status = None;
                    self.overlay = Some(Overlay::PickExperiment { files, selected: 0 });
                }
            }
            Action::Input(_)
            | Action::InputText(_)
            | Action::Backspace
            | Action::ClearInput
            | Action::NextField
            | Action::PrevField
            | Action::Delete
            | Action::CursorLeft
            | Action::CursorRight
            | Action::CursorHome
            | Action::CursorEnd
            | Action::Submit => {}
        }
        self.rewatch(fx);
    }

    /// Says that a key acting on one run has none to act on: the lab has none yet, or the
    /// filter hides them all.
    fn say_no_run(&mut self) {
        let why = if self.runs.is_empty() {
            "the lab has no runs yet (r starts one)"
        } else if self.view.is_empty() {
            "the filter shows none (/ changes it)"
        } else {
            "the run is no longer in the lab"
        };
        self.set_status(format!("no run highlighted: {why}"), true);
    }

    fn ask_stop(&mut self) {
        let Some(r) = self.focused_run() else {
            return self.say_no_run();
        };
        let (id, name, status, pid) = (r.id, r.name.clone(), r.effective_status(self.now), r.pid);
        let host = r.hostname.clone();
        // A queued run whose trainer is seen here, loading, stops after its first step.
        let loading = status == RunStatus::Queued && r.process == crate::lab::Process::Alive;
        if status != RunStatus::Running && !loading {
            // A stopped run goes on where it stopped; say how.
            let next = if status.is_resumable() {
                format!(
                    " (C resumes it, as `facenet-lab{} run --resume {id}` does)",
                    self.db_flag
                )
            } else {
                String::new()
            };
            self.set_status(
                format!("run #{id} is {status}, not running: nothing to stop{next}"),
                true,
            );
        } else if host != self.hostname {
            self.set_status(
                format!("run #{id} trains on host '{host}': stop it there"),
                true,
            );
        } else if let Some(pid) = pid {
            let sweep = (self.sweep_of)(pid);
            self.overlay = Some(Overlay::ConfirmStop {
                run: id,
                pid,
                name,
                sweep,
            });
        } else {
            self.set_status(
                format!("run #{id} recorded no pid: cannot stop it from here"),
                true,
            );
        }
    }

    /// Asks whether to start `run --resume` of the focused run where it stopped (interrupted,
    /// crashed or failed); on any other run, says why not. A run trained on another host resumes here as
    /// `run --resume` allows: its checkpoints are in this lab's folder.
    fn resume(&mut self) {
        let Some(r) = self.focused_run() else {
            return self.say_no_run();
        };
        let (id, name, status) = (r.id, r.name.clone(), r.effective_status(self.now));
        let (done, epochs) = (r.epochs_done(), r.hyper.epochs);
        let since = self.resuming.get(&id).map(|&at| self.now - at);
        if let Some(ago) = since.filter(|&s| status.is_resumable() && s < RESUME_STARTING_SECONDS) {
            self.set_status(
                format!(
                    "run #{id} is being resumed (C {}s ago): its trainer is starting",
                    ago.max(0.0) as u64
                ),
                false,
            );
            return;
        }
        if status.is_resumable() {
            self.overlay = Some(Overlay::ConfirmResume(ResumeAsk {
                run: id,
                name,
                status,
                done,
                epochs,
            }));
            return;
        }
        let why = match status {
            RunStatus::Running => "it is training now (X stops it)",
            RunStatus::Completed => "it completed (R starts a run like it)",
            _ => "it has not started training yet",
        };
        self.set_status(
            format!("run #{id} is {status}: nothing to resume, {why}"),
            true,
        );
    }

    /// Says the id of each run started from here that the lab now records, and highlights it
    /// where the highlight has not moved since it started.
    fn find_started(&mut self) {
        let started = std::mem::take(&mut self.started);
        for s in started {
            // One that never recorded a run (refused, or killed first) is forgotten in time:
            // its end was said.
            if self.now - s.at > STARTED_SECONDS {
                continue;
            }
            // Its process, on this host, recorded since it started (a second of slack for
            // the clock's rounding).
            let found = self.runs.iter().find(|r| {
                r.pid == Some(s.pid) && r.hostname == self.hostname && r.created_at >= s.at - 1.0
            });
            let Some(id) = found.map(|r| r.id) else {
                self.started.push(s);
                continue;
            };
            let at = self.view.iter().position(|&i| self.runs[i].id == id);
            let still = self.selected_run().map(|r| r.id) == s.highlighted;
            let hidden = match at {
                Some(at) if still => {
                    self.selected = at;
                    ""
                }
                Some(_) => "",
                None => " (the filter hides it)",
            };
            self.set_status(started_text(Some((id, hidden)), s.pid, &s.log), false);
        }
    }

    fn apply(&mut self, u: Update) {
        match u {
            Update::Runs(runs) => {
                self.runs = runs;
                self.loaded = true;
                let ids: BTreeSet<RunId> = self.runs.iter().map(|r| r.id).collect();
                self.marked.retain(|id| ids.contains(id));
                self.refresh_view();
                self.find_started();
            }
            // The data column sorts by their names, which may come after the runs.
            Update::Datasets(datasets) => {
                self.datasets = datasets;
                self.refresh_view();
            }
            Update::SeriesLoaded { run, series } => {
                if self.watched.contains(&run) {
                    let s = series
                        .into_iter()
                        .map(|(name, pts)| (name, Series::new(pts)))
                        .collect();
                    self.series.insert(run, s);
                }
            }
            Update::Appended(rows) => {
                for row in rows {
                    if let Some(s) = self.series.get_mut(&row.run_id) {
                        s.entry(row.name).or_default().push(SeriesPoint {
                            iteration: row.iteration,
                            epoch: row.epoch,
                            value: row.value,
                            wall_time: row.wall_time,
                        });
                    }
                }
            }
            Update::Details { run, details } => {
                if self.watched.contains(&run) {
                    self.details.insert(run, details);
                }
            }
            Update::LogTail { run, text } => {
                if self.watched.contains(&run) {
                    self.logs.insert(run, text);
                }
            }
            Update::Error(e) => self.set_status(e, true),
            Update::Stopped(e) => {
                self.stopped = true;
                self.set_status(e, true);
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::lab::fixtures::{point, run, NOW};
    use crate::lab::MetricRow;
    use crate::tui::keys::key_action;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    /// Run `id`, training on this host as process 4242, its heartbeat a second old.
    fn live_run(id: i64, name: &str) -> Run {
        let mut live = run(id, name, "resnet18");
        live.status = RunStatus::Running;
        live.heartbeat_at = Some(NOW - 1.0);
        live.pid = Some(4242);
        live
    }

    /// An app on the tests' clock, with `runs` loaded. Shared with the key tests
    /// ([`crate::tui::keys`]).
    pub(in crate::tui) fn app_with(runs: Vec<Run>) -> App {
        // The test's pids are made up: App::new asks no real process of a sweep.
        let mut app = App::new(NOW, "testhost");
        app.update(Action::Data(Update::Runs(runs)));
        app
    }

    /// Runs 1 alpha (resnet18, best dev 0.3), 2 beta (alexnet, 0.5) and 3 gamma (resnet18, 0.4).
    pub(in crate::tui) fn three() -> App {
        let mut a = run(1, "alpha", "resnet18");
        a.best_dev_acc = Some(0.3);
        let mut b = run(2, "beta", "alexnet");
        b.best_dev_acc = Some(0.5);
        let mut c = run(3, "gamma", "resnet18");
        c.best_dev_acc = Some(0.4);
        app_with(vec![a, b, c])
    }

    /// The ids of the rows shown, top to bottom.
    pub(in crate::tui) fn ids(app: &App) -> Vec<i64> {
        app.view.iter().map(|&i| app.runs[i].id.0).collect()
    }

    /// Key `c` pressed alone.
    pub(in crate::tui) fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn newest_first_and_moving_is_clamped() {
        let mut app = three();
        assert_eq!(ids(&app), vec![3, 2, 1]);
        app.update(Action::Down);
        assert_eq!(app.selected_run().map(|r| r.id.0), Some(2));
        app.update(Action::Bottom);
        app.update(Action::Down);
        assert_eq!(app.selected, 2);
        app.update(Action::Top);
        app.update(Action::Up);
        assert_eq!(app.selected, 0);
    }

    #[test]
    fn sorting_keeps_the_highlighted_run() {
        let mut app = three();
        app.update(Action::Down); // beta
        app.update(Action::SortBy(Column::BestDev));
        assert_eq!(ids(&app), vec![2, 3, 1], "descending best dev");
        assert_eq!(app.selected_run().map(|r| r.name.as_str()), Some("beta"));
        app.update(Action::ReverseSort);
        assert_eq!(ids(&app), vec![1, 3, 2]);
        // `s` goes through the columns on screen: 80 wide hides test and lfw.
        app.update(Action::CycleSort);
        assert_eq!(app.sort, Column::LastLoss);
        app.update(Action::Resize(200, 40));
        app.update(Action::SortBy(Column::BestDev));
        app.update(Action::CycleSort);
        assert_eq!(app.sort, Column::Test);
    }

    /// The experiment picker stops at its ends, and opens without the message that there were
    /// none, once there are.
    #[test]
    fn the_experiment_picker_stops_at_its_ends() {
        let mut app = three();
        app.update(Action::Experiments(Vec::new()));
        assert!(app.status.as_ref().is_some_and(|s| s.error));
        let files: Vec<Experiment> = ["a.toml", "b.toml"]
            .map(|f| Experiment {
                file: PathBuf::from(f),
                summary: String::new(),
            })
            .to_vec();
        app.update(Action::Experiments(files));
        assert_eq!(app.status, None);
        let selected = |app: &App| match &app.overlay {
            Some(Overlay::PickExperiment { selected, .. }) => *selected,
            other => panic!("{other:?}"),
        };
        app.update(Action::Up);
        assert_eq!(selected(&app), 0);
        for _ in 0..3 {
            app.update(Action::Down);
        }
        assert_eq!(selected(&app), 1, "no wrap to the first");
        app.update(Action::Up);
        assert_eq!(selected(&app), 0);
    }

    /// A sweep the lab has runs of is asked about: r resumes it, n starts new runs beside
    /// them, Esc and Enter start nothing; where it cannot resume, r says why and the question
    /// stays. Under another dialog the question is said, not opened over it.
    #[test]
    fn a_sweep_the_lab_has_runs_of_is_resumed_or_run_anew_as_answered() {
        let ask = SweepAsk {
            file: PathBuf::from("experiments/t.toml"),
            label: "t".into(),
            have: vec!["t-1 (1/3): run 4 (completed)".into()],
            total: 3,
            resume: Ok("resumes 0 runs, starts 2; 1 completed already (run 4)".into()),
        };
        let start = |resume| {
            vec![Effect::StartSweep {
                file: PathBuf::from("experiments/t.toml"),
                label: "t".into(),
                resume,
            }]
        };
        let mut app = three();
        // Asked, and seen: the keys that follow are answers.
        let ask_and_wait = |app: &mut App, ask: &SweepAsk| {
            app.update(Action::AskSweep(ask.clone()));
            app.update(Action::Tick(app.now + ASK_SETTLE_SECONDS));
        };
        app.update(Action::AskSweep(ask.clone()));
        assert_eq!(app.overlay, Some(Overlay::ConfirmSweep(ask.clone())));
        // A key typed as the question came is no answer.
        assert_eq!(app.update(Action::Input('n')), vec![]);
        assert_eq!(app.overlay, Some(Overlay::ConfirmSweep(ask.clone())));
        app.update(Action::Tick(app.now + ASK_SETTLE_SECONDS));
        assert_eq!(key_action(&app, press('r'), 100), Some(Action::Input('r')));
        assert_eq!(app.update(Action::Submit), vec![], "Enter is no answer");
        assert_eq!(app.update(Action::Input('r')), start(true));
        assert_eq!(app.overlay, None);
        ask_and_wait(&mut app, &ask);
        assert_eq!(app.update(Action::Input('n')), start(false));
        ask_and_wait(&mut app, &ask);
        assert_eq!(app.update(Action::Cancel), vec![]);
        assert_eq!(app.overlay, None);
        // It cannot resume: r says why, and n or esc still answer.
        let busy = SweepAsk {
            resume: Err("1 run of sweep 't' is still training".into()),
            ..ask.clone()
        };
        ask_and_wait(&mut app, &busy);
        assert_eq!(app.update(Action::Input('r')), vec![]);
        assert_eq!(app.overlay, Some(Overlay::ConfirmSweep(busy)));
        assert!(app
            .status
            .as_ref()
            .is_some_and(|s| s.error && s.text.contains("still training")));
        assert_eq!(app.update(Action::Input('n')), start(false));
        // Answered while the help is open: said, and the help stays.
        app.update(Action::Help);
        app.update(Action::AskSweep(ask));
        assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
        assert!(app
            .status
            .as_ref()
            .is_some_and(|s| s.error && s.text.contains("pick it again")));
    }

    /// Runs without a value (never evaluated) stay below those with one, whichever way the
    /// column is sorted.
    #[test]
    fn runs_without_a_value_sort_last_either_way() {
        let mut app = three();
        let mut d = run(4, "delta", "resnet18");
        d.best_dev_acc = None;
        let mut runs = app.runs.clone();
        runs.push(d);
        app = app_with(runs);
        app.update(Action::SortBy(Column::BestDev));
        assert_eq!(ids(&app), vec![2, 3, 1, 4]);
        app.update(Action::ReverseSort);
        assert_eq!(ids(&app), vec![1, 3, 2, 4]);
    }

    /// The data column sorts by the dataset names it shows, not by the datasets' ids: names
    /// that come after the runs re-sort them, two datasets of one name are parted by id, runs
    /// of one dataset by theirs, a dataset the lab does not name (`#4`) comes before the named
    /// ones ascending and after them descending, and runs of none stay last either way.
    #[test]
    fn the_data_column_sorts_by_the_dataset_names_it_shows() {
        use super::super::datasets::Dataset;
        use crate::lab::DatasetId;
        let on = |id: i64, dataset: Option<i64>| {
            let mut r = run(id, &format!("r{id}"), "resnet18");
            r.dataset_id = dataset.map(DatasetId);
            r
        };
        let mut app = app_with(vec![
            on(1, Some(1)),
            on(2, Some(2)),
            on(3, Some(1)),
            on(4, None),
            on(5, Some(3)),
            on(6, Some(4)),
        ]);
        app.update(Action::SortBy(Column::Data));
        app.update(Action::ReverseSort);
        assert!(!app.descending);
        // Before the names come, by id.
        assert_eq!(ids(&app), vec![1, 3, 2, 5, 6, 4]);
        let named = |name: &str| Dataset {
            name: name.into(),
            source: String::new(),
        };
        let datasets: Datasets = [
            (1, named("synthetic:12:24:0")),
            (2, named("lfw-20-30")),
            (3, named("lfw-20-30")),
        ]
        .into();
        app.update(Action::Data(Update::Datasets(datasets)));
        assert_eq!(
            ids(&app),
            vec![6, 2, 5, 1, 3, 4],
            "#4 unnamed, lfw-20-30 (#2, #3), synthetic, none"
        );
        app.update(Action::ReverseSort);
        assert_eq!(
            ids(&app),
            vec![3, 1, 5, 2, 6, 4],
            "descending: the unnamed after the named, no dataset still last"
        );
    }

    #[test]
    fn filter_typing_applies_live_and_escape_restores() {
        let mut app = three();
        app.update(Action::StartFilter);
        app.type_text("model=resnet18");
        assert_eq!(ids(&app), vec![3, 1]);
        app.type_text(" dev_acc>");
        assert!(app.filter_error.is_some(), "half-typed term is an error");
        app.update(Action::Input('0'));
        app.update(Action::Input('.'));
        app.update(Action::Input('3'));
        app.update(Action::Input('5'));
        assert_eq!(ids(&app), vec![3]);
        app.update(Action::Submit);
        assert_eq!(app.overlay, None);
        app.update(Action::StartFilter);
        app.update(Action::Input('x'));
        app.update(Action::Cancel);
        assert_eq!(app.filter_input, "model=resnet18 dev_acc>0.35");
        assert_eq!(app.filter.text(), "model=resnet18 dev_acc>0.35");
        assert_eq!(ids(&app), vec![3]);
    }

    #[test]
    fn enter_on_a_filter_that_does_not_parse_keeps_the_editor_open() {
        let mut app = three();
        app.update(Action::StartFilter);
        app.type_text("model=resnet18 dev_acc>");
        app.update(Action::Submit);
        assert_eq!(app.overlay, Some(Overlay::Filter), "still editing");
        assert!(app.filter_error.is_some(), "the error is still shown");
        // While typing, the last text that parsed is in use, a field name waiting for its
        // operator left out.
        assert_eq!(app.filter.text(), "model=resnet18", "what is in use");
        assert_eq!(ids(&app), vec![3, 1]);
        // Esc goes back to the filter in use before the editor opened, text included.
        app.update(Action::Cancel);
        assert_eq!(app.overlay, None);
        assert_eq!(app.filter.text(), "");
        assert_eq!(app.filter_error, None);
        assert_eq!(ids(&app), vec![3, 2, 1]);
        app.update(Action::StartFilter);
        assert_eq!(app.filter_input, "", "the broken text does not come back");
        // Fixing the text and pressing Enter keeps it.
        app.type_text("dev_acc>0.35");
        app.update(Action::Submit);
        assert_eq!(app.overlay, None);
        assert_eq!(app.filter.text(), "dev_acc>0.35");
        assert_eq!(ids(&app), vec![3, 2]);
    }

    /// A text in error filters by its words before the one in error, never by a part of that
    /// word typed on the way (`foo` of `foo=bar`), and the filter in use says so; where an
    /// earlier word is wrong, by the filter of before the editor opened.
    #[test]
    fn a_filter_in_error_keeps_no_part_of_the_word_in_error() {
        let mut app = three();
        app.update(Action::StartFilter);
        app.type_text("foo");
        assert_eq!(app.filter.text(), "foo", "a word, searched for as typed");
        assert_eq!(ids(&app), Vec::<i64>::new());
        app.type_text("=bar");
        assert!(app.filter_error.as_ref().is_some_and(|e| e.contains("foo")));
        assert_eq!(app.filter.text(), "", "not the 'foo' on the way");
        assert_eq!(ids(&app), vec![3, 2, 1]);
        app.update(Action::Submit);
        assert_eq!(app.overlay, Some(Overlay::Filter), "still editing");
        assert_eq!(app.filter.text(), "");
        app.update(Action::Cancel);
        // Words before the one in error stay in use.
        app.update(Action::StartFilter);
        app.type_text("model=resnet18 foo=bar");
        assert_eq!(app.filter.text(), "model=resnet18");
        assert_eq!(ids(&app), vec![3, 1]);
        app.update(Action::Submit);
        app.update(Action::Cancel);
        // An earlier word in error: the filter of before the editor opened.
        app.update(Action::StartFilter);
        app.type_text("model=alexnet");
        app.update(Action::Submit);
        app.update(Action::StartFilter);
        app.update(Action::CursorHome);
        app.type_text("foo=bar ");
        assert_eq!(app.filter_input, "foo=bar model=alexnet");
        assert!(app.filter_error.is_some());
        assert_eq!(app.filter.text(), "model=alexnet");
        assert_eq!(ids(&app), vec![2]);
    }

    #[test]
    fn screens_watch_only_the_runs_they_show() {
        let mut app = three();
        let fx = app.update(Action::Open);
        assert_eq!(app.screen, Screen::Detail(RunId(3)));
        assert_eq!(fx, vec![Effect::Watch(vec![RunId(3)])]);
        app.update(Action::Data(Update::SeriesLoaded {
            run: RunId(3),
            series: [(metric::TRAIN_LOSS.to_string(), vec![point(1, 0.9)])].into(),
        }));
        app.update(Action::Data(Update::Appended(vec![
            MetricRow {
                id: 10,
                run_id: RunId(3),
                iteration: 2,
                epoch: 1,
                name: metric::TRAIN_LOSS.into(),
                value: 0.8,
                wall_time: NOW,
            },
            MetricRow {
                id: 11,
                run_id: RunId(1),
                iteration: 2,
                epoch: 1,
                name: metric::TRAIN_LOSS.into(),
                value: 0.8,
                wall_time: NOW,
            },
        ])));
        assert_eq!(app.series[&RunId(3)][metric::TRAIN_LOSS].points.len(), 2);
        assert!(
            !app.series.contains_key(&RunId(1)),
            "unwatched rows are ignored"
        );
        let fx = app.update(Action::Back);
        assert_eq!(fx, vec![Effect::Watch(vec![])]);
        assert!(app.series.is_empty(), "leaving the detail frees its series");
    }

    #[test]
    fn compare_needs_marks_and_watches_them() {
        let mut app = three();
        app.update(Action::Compare);
        assert_eq!(app.screen, Screen::Runs);
        assert!(app.status.as_ref().is_some_and(|s| s.error));
        app.update(Action::ToggleMark); // 3, moves to 2
        app.update(Action::ToggleMark); // 2
        let fx = app.update(Action::Compare);
        assert_eq!(app.screen, Screen::Compare);
        assert_eq!(fx, vec![Effect::Watch(vec![RunId(2), RunId(3)])]);
        assert_eq!(
            app.compared().iter().map(|r| r.id.0).collect::<Vec<_>>(),
            vec![2, 3]
        );
        app.update(Action::CycleCompareMetric);
        assert_eq!(COMPARE_METRICS[app.compare_metric], metric::DEV_ACC);
        let mut seen = Vec::new();
        for _ in 0..COMPARE_METRICS.len() {
            seen.push(COMPARE_METRICS[app.compare_metric]);
            app.update(Action::CycleCompareMetric);
        }
        for m in [metric::LR, metric::DEV_ACC_CENTROID, metric::TRAIN_LOSS] {
            assert!(seen.contains(&m), "m reaches {m}: {seen:?}");
        }
    }

    #[test]
    fn stopping_asks_first_and_only_for_live_local_runs() {
        let live = live_run(1, "live");
        let mut stale = live.clone();
        stale.id = RunId(2);
        stale.heartbeat_at = Some(NOW - 3600.0);
        let mut app = app_with(vec![live, stale]);
        // Newest first: the stale run (now crashed) is highlighted.
        app.update(Action::AskStop);
        assert_eq!(app.overlay, None);
        assert!(app.status.as_ref().is_some_and(|s| s.text
            == "run #2 is crashed, not running: nothing to stop \
                (C resumes it, as `facenet-lab run --resume 2` does)"));
        app.update(Action::Down);
        app.update(Action::AskStop);
        assert!(matches!(
            app.overlay,
            Some(Overlay::ConfirmStop { pid: 4242, .. })
        ));
        assert_eq!(app.update(Action::Input('n')), vec![]);
        app.update(Action::AskStop);
        assert_eq!(app.update(Action::Submit), vec![], "Enter is no answer");
        assert_eq!(
            app.update(Action::Input('y')),
            vec![Effect::Interrupt {
                run: RunId(1),
                pid: 4242
            }]
        );
        // Without a sweep behind the run, `a` stops nothing.
        app.update(Action::AskStop);
        assert_eq!(app.update(Action::Input('a')), vec![]);

        // Queued, its trainer loading: stopped as a running one is where its process is seen
        // there, and not where nothing was seen of it.
        let mut loading = live_run(3, "loading");
        (loading.status, loading.pid, loading.heartbeat_at) = (RunStatus::Queued, Some(77), None);
        let mut unseen = loading.clone();
        unseen.id = RunId(4);
        loading.process = crate::lab::Process::Alive;
        let mut app = app_with(vec![loading, unseen]);
        app.update(Action::AskStop);
        assert_eq!(app.overlay, None);
        assert!(app
            .status
            .as_ref()
            .is_some_and(|s| s.text == "run #4 is queued, not running: nothing to stop"));
        app.update(Action::Down);
        app.update(Action::AskStop);
        assert_eq!(
            app.update(Action::Input('y')),
            vec![Effect::Interrupt {
                run: RunId(3),
                pid: 77
            }]
        );
    }

    /// C resumes the focused run where it stopped (interrupted, crashed, failed; trained here
    /// or on another host), as `run --resume N` does, once `y` answers its question (as X asks
    /// before it stops one: a stray C starts no trainer); on a run training, completed or
    /// queued it starts nothing and says why.
    #[test]
    fn c_resumes_a_stopped_run_and_says_why_not_otherwise() {
        let live = live_run(1, "live");
        let mut crashed = live_run(2, "died");
        crashed.heartbeat_at = Some(NOW - 3600.0);
        crashed.last_iteration = 250;
        let mut interrupted = run(3, "stopped", "resnet18");
        interrupted.status = RunStatus::Interrupted;
        interrupted.last_iteration = 400;
        let mut failed = run(4, "failed-elsewhere", "resnet18");
        failed.status = RunStatus::Failed;
        failed.last_iteration = 900;
        failed.hostname = "gpu-box".into();
        let mut queued = run(5, "queued", "resnet18");
        queued.status = RunStatus::Queued;
        let done = run(6, "done", "resnet18");
        let mut app = app_with(vec![live, crashed, interrupted, failed, queued, done]);
        assert_eq!(key_action(&app, press('C'), 100), Some(Action::Resume));
        // Newest first: 6 done, 5 queued, 4 failed, 3 interrupted, 2 crashed, 1 live.
        let mut said = Vec::new();
        let mut asked = Vec::new();
        for id in (1..=6).rev() {
            assert_eq!(app.selected_run().map(|r| r.id), Some(RunId(id)));
            app.status = None;
            let mut fx = app.update(Action::Resume);
            if let Some(Overlay::ConfirmResume(ask)) = &app.overlay {
                asked.push(ask.question());
                assert_eq!(fx, vec![], "nothing starts before the answer");
                fx = app.update(Action::Input('y'));
            }
            said.push((fx, app.status.as_ref().map(|s| (s.text.clone(), s.error))));
            app.update(Action::Down);
        }
        // Which run, and how much of it is left.
        assert_eq!(
            asked,
            [
                "Resume run #4 failed-elsewhere (failed after epoch 9 of 10)?",
                "Resume run #3 stopped (interrupted after epoch 4 of 10)?",
                "Resume run #2 died (crashed after epoch 2 of 10)?",
            ]
        );
        let resumes = |id: i64, name: &str| {
            vec![Effect::Resume {
                run: RunId(id),
                label: name.into(),
                start_over: false,
            }]
        };
        let refused = |text: &str| (vec![], Some((text.to_string(), true)));
        assert_eq!(
            said,
            vec![
                refused(
                    "run #6 is completed: nothing to resume, it completed (R starts a run like it)"
                ),
                refused("run #5 is queued: nothing to resume, it has not started training yet"),
                (resumes(4, "failed-elsewhere"), None),
                (resumes(3, "stopped"), None),
                (resumes(2, "died"), None),
                refused("run #1 is running: nothing to resume, it is training now (X stops it)"),
            ]
        );
        // In a run's detail, C acts on that run; pressed again while its trainer starts, it
        // starts no other.
        app.update(Action::Top);
        app.update(Action::Down);
        app.update(Action::Down);
        app.update(Action::Open);
        assert_eq!(app.screen, Screen::Detail(RunId(4)));
        assert_eq!(app.update(Action::Resume), vec![]);
        let said = app.status.as_ref().map(|s| s.text.as_str());
        assert_eq!(
            said,
            Some("run #4 is being resumed (C 0s ago): its trainer is starting")
        );
        app.update(Action::Tick(app.now + RESUME_STARTING_SECONDS));
        assert_eq!(app.update(Action::Resume), vec![]);
        assert_eq!(app.update(Action::Submit), vec![], "Enter is no answer");
        assert_eq!(app.update(Action::Input('n')), vec![]);
        assert_eq!(
            app.status.as_ref().map(|s| s.text.as_str()),
            Some("run #4 not resumed")
        );
        app.update(Action::Resume);
        assert_eq!(
            app.update(Action::Input('y')),
            resumes(4, "failed-elsewhere")
        );
    }

    /// A run started from here is said by its id once the lab records it (its process's pid,
    /// on this host, since it started), and highlighted where the highlight has not moved since.
    #[test]
    fn a_started_run_is_named_and_highlighted_once_recorded() {
        let mut app = three();
        let highlighted = app.selected_run().map(|r| r.id);
        app.update(Action::RunStarted {
            pid: 5151,
            log: "logs/r.log".into(),
        });
        assert_eq!(
            app.status.as_ref().map(|s| s.text.as_str()),
            Some("started run (pid 5151), log: logs/r.log")
        );
        // An older run of that pid is another process's.
        let mut runs = app.runs.clone();
        let mut old = live_run(4, "old");
        old.pid = Some(5151);
        old.created_at = app.now - 3600.0;
        runs.push(old);
        app.update(Action::Data(Update::Runs(runs.clone())));
        assert_eq!(app.selected_run().map(|r| r.id), highlighted);
        let mut new = live_run(5, "new");
        new.pid = Some(5151);
        new.created_at = app.now + 3.0;
        runs.push(new);
        app.update(Action::Data(Update::Runs(runs.clone())));
        assert_eq!(
            app.status.as_ref().map(|s| s.text.as_str()),
            Some("started run #5 (pid 5151), log: logs/r.log")
        );
        assert_eq!(app.selected_run().map(|r| r.id), Some(RunId(5)));
        // Moved meanwhile, the highlight stays where the person put it.
        app.update(Action::RunStarted {
            pid: 6161,
            log: "logs/s.log".into(),
        });
        app.update(Action::Down);
        let moved = app.selected_run().map(|r| r.id);
        let mut other = live_run(6, "other");
        other.pid = Some(6161);
        other.created_at = app.now + 1.0;
        runs.push(other);
        app.update(Action::Data(Update::Runs(runs)));
        assert_eq!(app.selected_run().map(|r| r.id), moved);
        assert!(app
            .status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("started run #6 (pid 6161)")));
    }

    /// A run a sweep started can be stopped alone (the sweep starts its next run) or with its
    /// sweep, which then starts no other.
    #[test]
    fn a_sweeps_run_stops_alone_or_with_its_sweep() {
        let live = live_run(1, "tiny-1-seed1");
        let mut app = app_with(vec![live]);
        app.sweep_of = |pid| (pid == 4242).then_some(4200);
        app.update(Action::AskStop);
        assert!(matches!(
            app.overlay,
            Some(Overlay::ConfirmStop {
                sweep: Some(4200),
                ..
            })
        ));
        // As the key reaches it.
        let a = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(key_action(&app, a, 80), Some(Action::Input('a')));
        assert_eq!(
            app.update(Action::Input('a')),
            vec![Effect::InterruptSweep {
                run: RunId(1),
                pid: 4242,
                sweep: 4200
            }]
        );
        assert!(app
            .status
            .as_ref()
            .is_some_and(|s| s.text.contains("starts no other")));
        app.update(Action::AskStop);
        assert_eq!(
            app.update(Action::Input('y')),
            vec![Effect::Interrupt {
                run: RunId(1),
                pid: 4242
            }]
        );
    }

    #[test]
    fn notes_tags_and_start_form_become_effects() {
        let mut app = three();
        app.update(Action::EditNotes);
        app.update(Action::Backspace);
        app.type_text("x!");
        assert_eq!(
            app.update(Action::Submit),
            vec![Effect::SetNotes(RunId(3), "x!".into())]
        );
        app.update(Action::EditTags);
        app.type_text("a, b c");
        assert_eq!(
            app.update(Action::Submit),
            vec![Effect::SetTags(
                RunId(3),
                vec!["a".into(), "b".into(), "c".into()]
            )]
        );
        app.update(Action::StartForm);
        app.update(Action::NextField); // dim
        app.update(Action::Backspace);
        app.update(Action::Backspace);
        app.update(Action::Backspace);
        app.update(Action::Submit);
        assert!(app.status.as_ref().is_some_and(|s| s.text.contains("dim")));
        app.update(Action::Input('6'));
        app.update(Action::Input('4'));
        let fx = app.update(Action::Submit);
        let Some(Effect::Spawn { args, label, .. }) = fx.first() else {
            panic!("{fx:?}")
        };
        assert_eq!(label, "resnet18");
        // The fetched LFW where there is one, else generated faces.
        let data = StartForm::default().fields[7].1.clone();
        assert_eq!(
            args.join(" "),
            format!("resnet18 --dim 64 --batch 32 --mining semihard --sampler pk --epochs 10 --image-size 64 --data {data}")
        );
    }

    /// R opens the form filled in from the highlighted run, with `--like` it and no data of
    /// its own: what is changed in the form (here the seed) is all that differs.
    #[test]
    fn r_starts_a_run_like_the_highlighted_one() {
        let mut app = three();
        app.update(Action::Down);
        let run = app.focused_run().cloned().expect("a run");
        assert_eq!(key_action(&app, press('R'), 100), Some(Action::StartLike));
        app.update(Action::StartLike);
        assert!(app
            .status
            .as_ref()
            .is_some_and(|s| s.text.starts_with(&format!("a run like #{}", run.id))));
        for _ in 0..8 {
            app.update(Action::NextField);
        }
        app.type_text(" --seed 5");
        let fx = app.update(Action::Submit);
        let Some(Effect::Spawn { args, form, .. }) = fx.first() else {
            panic!("{fx:?}")
        };
        let h = &run.hyper;
        assert_eq!(
            args.join(" "),
            format!(
                "{} --dim {} --batch {} --mining {} --sampler {} --epochs {} --image-size {} \
                 --like {} --seed 5",
                h.model,
                h.embedding_dim,
                h.batch_size,
                h.mining,
                h.sampler,
                h.epochs,
                h.image_size,
                run.id
            )
        );
        // Refused against the lab, the form comes back as it was typed, with the reason; but
        // not over what the person opened while it was checked.
        assert_eq!(app.overlay, None);
        let form = form.clone().expect("the form that asked");
        app.update(Action::Help);
        app.update(Action::FormRefused(form.clone(), "refused".into()));
        assert!(
            matches!(app.overlay, Some(Overlay::Help { .. })),
            "{:?}",
            app.overlay
        );
        assert!(app.status.as_ref().is_some_and(|s| s.error));
        app.update(Action::Cancel);
        app.update(Action::FormRefused(
            form,
            "the run was not started: …".into(),
        ));
        let Some(Overlay::StartForm(form)) = &app.overlay else {
            panic!("{:?}", app.overlay)
        };
        assert!(form.fields[8].1.ends_with("--seed 5"), "{form:?}");
        assert!(app.status.as_ref().is_some_and(|s| s.error));
    }

    #[test]
    fn escape_discards_a_note_or_tags_edit() {
        let mut app = three();
        app.update(Action::EditNotes);
        app.type_text("half a thought");
        assert_eq!(app.update(Action::Cancel), vec![], "nothing is written");
        assert_eq!(app.overlay, None, "the editor closed");
        // Later keys are commands again, and Enter saves nothing.
        assert_eq!(key_action(&app, press('q'), 100), Some(Action::Quit));
        assert_eq!(app.update(Action::Submit), vec![]);
        app.update(Action::EditTags);
        app.update(Action::Input('x'));
        assert_eq!(app.update(Action::Cancel), vec![]);
        assert_eq!(app.overlay, None);
        // Reopened, the editor starts again from the run's note, not the discarded text.
        app.update(Action::EditNotes);
        assert!(matches!(&app.overlay, Some(Overlay::EditNotes { input, .. }) if input.is_empty()));
    }

    /// Keys `text` as typed into the open editor: each character through the key map.
    fn keyed(app: &mut App, text: &str) {
        for c in text.chars() {
            let action = key_action(app, press(c), 100).expect("a key for each character");
            app.update(action);
        }
    }

    /// The tags editor opens on the run's tags followed by a separator: what is typed is new
    /// tags, the old ones stay as they were, and Enter on the tags as they opened writes
    /// nothing.
    #[test]
    fn typing_in_the_tags_editor_adds_tags_beside_the_old_ones() {
        let mut walk = run(1, "walk-sweep", "resnet18");
        walk.tags = vec!["walk".into()];
        let mut app = app_with(vec![walk]);
        let open = |app: &mut App| {
            let action = key_action(app, press('t'), 100);
            assert_eq!(action, Some(Action::EditTags));
            app.update(Action::EditTags);
        };
        open(&mut app);
        assert_eq!(edited(&app).as_deref(), Some("walk, "));
        keyed(&mut app, "good pk");
        assert_eq!(
            app.update(Action::Submit),
            vec![Effect::SetTags(
                RunId(1),
                vec!["walk".into(), "good".into(), "pk".into()]
            )]
        );
        // Saved as opened, trailing separator and all, the tags are left alone.
        open(&mut app);
        assert_eq!(app.update(Action::Submit), vec![]);
        assert_eq!(app.overlay, None, "the editor closed");
        assert!(app
            .status
            .as_ref()
            .is_some_and(|s| s.text == "tags of run #1 unchanged" && !s.error));
        // A run without tags opens on an empty field, and Enter there writes nothing either.
        let mut app = app_with(vec![run(2, "bare", "resnet18")]);
        open(&mut app);
        assert_eq!(edited(&app).as_deref(), Some(""));
        assert_eq!(app.update(Action::Submit), vec![]);
    }

    /// The text being edited in whichever field is open.
    fn edited(app: &App) -> Option<String> {
        match &app.overlay {
            Some(Overlay::Filter) => Some(app.filter_input.clone()),
            Some(Overlay::EditNotes { input, .. } | Overlay::EditTags { input, .. }) => {
                Some(input.clone())
            }
            Some(Overlay::StartForm(f)) => f.fields.get(f.focus).map(|(_, v)| v.clone()),
            _ => None,
        }
    }

    #[test]
    fn every_text_field_edits_alike() {
        let opens = [
            Action::StartFilter,
            Action::EditNotes,
            Action::EditTags,
            Action::StartForm,
        ];
        for open in opens {
            let mut app = three();
            app.update(open.clone());
            app.update(Action::ClearInput);
            assert_eq!(edited(&app).as_deref(), Some(""), "{open:?}: ctrl-u");
            for a in [
                Action::Input('a'),
                Action::Input('b'),
                Action::Backspace,
                Action::Input('c'),
            ] {
                app.update(a);
            }
            assert_eq!(edited(&app).as_deref(), Some("ac"), "{open:?}: typed");
            app.update(Action::ClearInput);
            app.update(Action::Backspace);
            app.update(Action::Input('d'));
            assert_eq!(edited(&app).as_deref(), Some("d"), "{open:?}: cleared");
        }
    }

    /// A message speaks of a moment: it goes after a few seconds, and when the screen changes
    /// (the error that asked for marks goes once the marks make a comparison).
    #[test]
    fn status_messages_clear_with_time_and_a_change_of_screen() {
        let mut app = app_with(vec![run(1, "a", "resnet18"), run(2, "b", "alexnet")]);
        app.update(Action::Compare);
        assert!(app.status.as_ref().is_some_and(|s| s.error));
        app.update(Action::Tick(NOW + STATUS_SECONDS - 1.0));
        assert!(app.status.is_some(), "gone too soon");
        app.update(Action::Tick(NOW + STATUS_SECONDS));
        assert_eq!(app.status, None);

        app.update(Action::Compare);
        assert!(app.status.is_some());
        app.update(Action::ToggleMark);
        app.update(Action::ToggleMark);
        app.update(Action::Compare);
        assert_eq!(app.screen, Screen::Compare);
        assert_eq!(app.status, None);
    }

    /// A message goes when the person moves on: with the third key after it, when a dialog
    /// opens over it (the dialog's keys take the footer), or when the dialog it was said in
    /// closes (the start form's error, left with esc). What the key itself said stays.
    #[test]
    fn status_messages_go_when_the_person_moves_on() {
        let mut app = app_with(vec![live_run(1, "live"), live_run(2, "other")]);
        let status = |app: &App| app.status.as_ref().map(|s| s.text.clone());
        // A stop cancelled is not said over the next stop's question.
        app.update(Action::AskStop);
        app.update(Action::Cancel);
        assert_eq!(status(&app).as_deref(), Some("stop cancelled"));
        app.update(Action::AskStop);
        assert!(matches!(app.overlay, Some(Overlay::ConfirmStop { .. })));
        assert_eq!(status(&app), None);
        app.update(Action::Cancel);
        // Two keys on, it is there; the third takes it.
        app.update(Action::Down);
        app.update(Action::Up);
        assert_eq!(status(&app).as_deref(), Some("stop cancelled"));
        app.update(Action::Down);
        assert_eq!(status(&app), None);
        // The start form's error goes with the form; the table's keys do not carry it on.
        app.update(Action::StartForm);
        app.update(Action::ClearInput);
        app.update(Action::Submit);
        assert!(app.status.as_ref().is_some_and(|s| s.error));
        app.update(Action::Cancel);
        assert_eq!(app.overlay, None);
        assert_eq!(status(&app), None);
        // A message the key opening a dialog says is shown with it.
        app.update(Action::StartLike);
        assert!(status(&app).is_some_and(|s| s.starts_with("a run like #1")));
        // Data, ticks and answers are no keys.
        app.update(Action::Cancel);
        app.update(Action::Status("note of run #1 saved".into(), false));
        for _ in 0..5 {
            app.update(Action::Tick(NOW + 1.0));
            app.update(Action::Data(Update::Runs(app.runs.clone())));
        }
        assert_eq!(status(&app).as_deref(), Some("note of run #1 saved"));
    }

    /// A status that came while the filter was being edited (which takes the footer) waits,
    /// and is shown its few seconds once the filter closes.
    #[test]
    fn a_status_hidden_by_the_filter_editor_waits_to_be_shown() {
        let mut app = app_with(vec![run(1, "a", "resnet18")]);
        app.update(Action::StartFilter);
        app.update(Action::Status(
            "reading the lab: disk I/O error".into(),
            true,
        ));
        app.update(Action::Tick(NOW + 3.0 * STATUS_SECONDS));
        assert!(app.status.is_some(), "gone unseen");
        app.update(Action::Cancel);
        app.update(Action::Tick(NOW + 4.0 * STATUS_SECONDS - 1.0));
        assert!(app.status.is_some(), "gone too soon");
        app.update(Action::Tick(NOW + 4.0 * STATUS_SECONDS));
        assert_eq!(app.status, None);
    }

    /// The keys that act on one run say so when there is none: an empty lab, or a filter
    /// that shows none.
    #[test]
    fn keys_for_one_run_say_when_there_is_none() {
        let acting = [
            Action::AskStop,
            Action::Resume,
            Action::EditNotes,
            Action::EditTags,
            Action::StartLike,
        ];
        let mut empty = app_with(Vec::new());
        let mut filtered = three();
        filtered.update(Action::StartFilter);
        filtered.type_text("nothing-named-so");
        filtered.update(Action::Submit);
        assert!(filtered.view.is_empty());
        for (app, why) in [
            (&mut empty, "the lab has no runs yet (r starts one)"),
            (&mut filtered, "the filter shows none (/ changes it)"),
        ] {
            for action in acting.clone() {
                app.status = None;
                assert_eq!(app.update(action.clone()), vec![], "{action:?}");
                assert_eq!(app.overlay, None, "{action:?}");
                assert_eq!(
                    app.status.as_ref().map(|s| (s.text.as_str(), s.error)),
                    Some((format!("no run highlighted: {why}").as_str(), true)),
                    "{action:?}"
                );
            }
        }
    }

    #[test]
    fn notes_tags_and_stop_do_nothing_behind_the_compare_screen() {
        let live = live_run(1, "live");
        let mut app = app_with(vec![live, run(2, "other", "alexnet")]);
        app.update(Action::ToggleMark); // run 2; the highlight moves to run 1, live

        app.update(Action::Compare);
        assert_eq!(app.screen, Screen::Compare);
        assert_eq!(app.selected_run().map(|r| r.id), Some(RunId(1)));
        for action in [
            Action::EditNotes,
            Action::EditTags,
            Action::AskStop,
            Action::StartLike,
            Action::Resume,
        ] {
            app.status = None;
            assert_eq!(app.update(action.clone()), vec![], "{action:?}");
            assert_eq!(app.overlay, None, "{action:?} opened nothing");
            assert!(
                app.status
                    .as_ref()
                    .is_some_and(|s| s.error && s.text.contains("act on one run")),
                "{action:?}: {:?}",
                app.status
            );
        }
        // Back on the table they act on the highlighted run again.
        app.update(Action::Back);
        app.update(Action::EditNotes);
        assert!(matches!(
            app.overlay,
            Some(Overlay::EditNotes { run: RunId(1), .. })
        ));
    }
}
