//! Data collection: a thread that owns a read-only lab connection, wakes when the database or
//! its WAL changes (or on a slow tick), and sends the main loop only what changed.
//!
//! The runs table comes from `list_runs` (summary columns, cheap to re-list). Metric series are
//! loaded only for the runs being viewed, then appended to from `metrics_after`: the lab is never
//! read whole again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{EventKind, RecursiveMode, Watcher};
use rusqlite::params;

use crate::lab::{Checkpoint, Lab, MetricRow, Run, RunId, SeriesPoint, SplitSummary};

/// If the file watcher misses a write (network filesystems), the screen still catches up.
pub const FALLBACK_TICK: Duration = Duration::from_secs(2);
/// The extra poll after a file event, for a commit that was still in flight.
const FOLLOW_UP: Duration = Duration::from_millis(250);
/// How much of a run's log the detail view shows.
const LOG_TAIL_BYTES: u64 = 8 * 1024;
/// Rows read per incremental query; a burst from many trainers is read in several.
const BATCH_ROWS: usize = 50_000;

/// Everything about a run beyond its table row, for the detail view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunDetails {
    pub checkpoints: Vec<Checkpoint>,
    /// Kind, source and size of the dataset, one line.
    pub dataset: Option<String>,
    pub splits: Vec<SplitSummary>,
    /// One line per `eval`, newest last: protocol, checkpoint and headline numbers.
    pub evaluations: Vec<String>,
    /// One line per resume, oldest first: when, from which iteration, and on what.
    pub resumes: Vec<String>,
    /// When each resume happened, oldest first: the wall-time axis leaves out the pauses.
    pub resumed_at: Vec<f64>,
    /// The iteration the latest resume continued from, where the run was resumed: the steps of
    /// its current span of training are those after it (the ETA goes by their speed).
    pub resumed_from: Option<i64>,
    /// Where its starting weights came from (`--init`), nearest first: the runs of this lab
    /// whose checkpoints they descend from, then a file from outside it; empty for a run that
    /// started at random.
    pub started_from: Vec<String>,
}

/// What the collector tells the app.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Runs(Vec<Run>),
    /// The datasets of the runs listed, by id; sent when they change, after the runs.
    Datasets(super::datasets::Datasets),
    /// A watched run's series as of the collector's cursor; later rows arrive as `Appended`.
    SeriesLoaded {
        run: RunId,
        series: BTreeMap<String, Vec<SeriesPoint>>,
    },
    /// New metric rows of watched runs, in id order.
    Appended(Vec<MetricRow>),
    Details {
        run: RunId,
        details: RunDetails,
    },
    LogTail {
        run: RunId,
        text: String,
    },
    Error(String),
    /// The collector stopped (on a bug): nothing the screen shows is updated any more.
    Stopped(String),
}

/// What the app asks of the collector.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Keep these runs' series (and details) loaded and current; forget the others.
    Watch(Vec<RunId>),
    /// Something changed on disk, or the app wants a refresh now.
    Wake,
}

/// Reads the lab incrementally. Synchronous, so it can be tested without threads.
pub struct Collector {
    lab: Lab,
    /// The highest metric row id already accounted for.
    cursor: i64,
    watched: BTreeSet<RunId>,
    /// Log paths and the size last read, so an unchanged log is not read again.
    logs: BTreeMap<RunId, (PathBuf, u64)>,
    /// The datasets last sent: they seldom change, and are sent again only when they do.
    datasets: super::datasets::Datasets,
}

impl Collector {
    pub fn open(path: &Path) -> Result<Collector> {
        let lab = Lab::open_read_only(path)?;
        Self::new(lab)
    }

    pub fn new(lab: Lab) -> Result<Collector> {
        let cursor: i64 =
            lab.conn()
                .query_row("SELECT ifnull(max(id), 0) FROM metrics", [], |r| r.get(0))?;
        Ok(Collector {
            lab,
            cursor,
            watched: BTreeSet::new(),
            logs: BTreeMap::new(),
            datasets: Default::default(),
        })
    }

    /// Changes the watched runs, loading the series of those newly watched.
    pub fn watch(&mut self, runs: &[RunId]) -> Result<Vec<Update>> {
        let wanted: BTreeSet<RunId> = runs.iter().copied().collect();
        self.logs.retain(|id, _| wanted.contains(id));
        let mut out = Vec::new();
        for &run in wanted.difference(&self.watched) {
            out.push(Update::SeriesLoaded {
                run,
                series: self.load_series(run)?,
            });
        }
        self.watched = wanted;
        let runs = self.lab.list_runs()?;
        out.extend(self.details(&runs)?);
        Ok(out)
    }

    /// The watch lists of a burst of requests, as one: the last list is watched, and a run the
    /// screen dropped on the way (Esc, then Enter on the same run) is read again, series and
    /// log, since the screen dropped them with it. `None` when the burst asks for no list.
    fn watch_burst(
        &mut self,
        requests: impl Iterator<Item = Request>,
    ) -> Option<Result<Vec<Update>>> {
        let mut last = None;
        for request in requests {
            if let Request::Watch(ids) = request {
                self.watched.retain(|id| ids.contains(id));
                self.logs.retain(|id, _| ids.contains(id));
                last = Some(ids);
            }
        }
        last.map(|ids| self.watch(&ids))
    }

    /// Everything that changed since the last poll.
    pub fn poll(&mut self) -> Result<Vec<Update>> {
        // Looked at before the snapshot is taken, so that the snapshot finds the runs still
        // running as the look saw them (see `Processes`).
        let processes = self.lab.look()?;
        // One read transaction: the runs table and the new metric rows come from the same
        // snapshot, so a run's summary is never older than the points already shown.
        self.lab.conn().execute_batch("BEGIN")?;
        let out = self.poll_snapshot(&processes);
        self.lab.conn().execute_batch("COMMIT")?;
        out
    }

    fn poll_snapshot(&mut self, processes: &crate::lab::Processes) -> Result<Vec<Update>> {
        let mut runs = self.lab.list_runs()?;
        processes.mark(&mut runs);
        let mut new_rows = Vec::new();
        loop {
            let rows = self.lab.metrics_after(self.cursor, BATCH_ROWS)?;
            let n = rows.len();
            if let Some(last) = rows.last() {
                self.cursor = last.id;
            }
            new_rows.extend(
                rows.into_iter()
                    .filter(|r| self.watched.contains(&r.run_id)),
            );
            if n < BATCH_ROWS {
                break;
            }
        }
        for r in &runs {
            if let (true, Some(p)) = (self.watched.contains(&r.id), &r.log_path) {
                // Recorded relative to the lab; a resumed run records a log of its own.
                let path = self.lab.resolve(p);
                if self.logs.get(&r.id).is_none_or(|(known, _)| *known != path) {
                    self.logs.insert(r.id, (path, u64::MAX));
                }
            }
        }
        let details = self.details(&runs)?;
        let datasets = super::datasets::of_runs(&self.lab, &runs)?;
        let mut out = vec![Update::Runs(runs)];
        if datasets != self.datasets {
            self.datasets = datasets.clone();
            out.push(Update::Datasets(datasets));
        }
        if !new_rows.is_empty() {
            out.push(Update::Appended(new_rows));
        }
        out.extend(details);
        Ok(out)
    }

    /// One run's series up to the cursor, so that the rows after it, read by `poll`, are
    /// neither lost nor counted twice.
    fn load_series(&self, run: RunId) -> Result<BTreeMap<String, Vec<SeriesPoint>>> {
        let mut stmt = self.lab.conn().prepare_cached(
            "SELECT name, iteration, epoch, value, wall_time FROM metrics
             WHERE run_id = ?1 AND id <= ?2 ORDER BY name, iteration, id",
        )?;
        let mut out: BTreeMap<String, Vec<SeriesPoint>> = BTreeMap::new();
        let mut rows = stmt.query(params![run.0, self.cursor])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(0)?;
            out.entry(name).or_default().push(SeriesPoint {
                iteration: r.get(1)?,
                epoch: r.get(2)?,
                value: r.get(3)?,
                wall_time: r.get(4)?,
            });
        }
        Ok(out)
    }

    /// Checkpoints, dataset and log tail of the watched runs.
    fn details(&mut self, runs: &[Run]) -> Result<Vec<Update>> {
        let mut out = Vec::new();
        for &run in &self.watched {
            let checkpoints = self.lab.checkpoints(run)?;
            let dataset_id: Option<i64> = self
                .lab
                .conn()
                .query_row("SELECT dataset_id FROM runs WHERE id = ?1", [run.0], |r| {
                    r.get(0)
                })
                .ok()
                .flatten();
            let (dataset, splits) = match dataset_id {
                Some(id) => {
                    let line = self
                        .lab
                        .conn()
                        .query_row(
                            "SELECT kind, source, n_identities, n_images, content_hash FROM datasets WHERE id = ?1",
                            [id],
                            |r| {
                                Ok(format!(
                                    "#{id} {} {} ({} identities, {} images, content {})",
                                    r.get::<_, String>(0)?,
                                    r.get::<_, String>(1)?,
                                    r.get::<_, i64>(2)?,
                                    r.get::<_, i64>(3)?,
                                    short_hash(&r.get::<_, String>(4)?),
                                ))
                            },
                        )
                        .ok();
                    (line, self.lab.splits(crate::lab::DatasetId(id))?)
                }
                None => (None, Vec::new()),
            };
            let iters_per_epoch = runs
                .iter()
                .find(|r| r.id == run)
                .and_then(|r| r.iters_per_epoch);
            let evaluations = self
                .lab
                .evaluations(run)?
                .iter()
                .map(|e| evaluation_line(e, evaluated_epoch(e, &checkpoints, iters_per_epoch)))
                .collect();
            let recorded = self.lab.resumes(run)?;
            let resumes = recorded.iter().map(resume_line).collect();
            let resumed_at = recorded.iter().map(|r| r.at).collect();
            let resumed_from = recorded.last().map(|r| r.from_iteration);
            // From the runs just listed: a run that started at random asks nothing more.
            let started_from = match runs.iter().find(|r| r.id == run) {
                Some(r) if r.hyper.init.is_some() => origin_lines(&self.lab.lineage(r)?),
                _ => Vec::new(),
            };
            out.push(Update::Details {
                run,
                details: RunDetails {
                    checkpoints,
                    dataset,
                    splits,
                    evaluations,
                    resumes,
                    resumed_at,
                    resumed_from,
                    started_from,
                },
            });
        }
        for (&run, (path, seen)) in &mut self.logs {
            let Ok(meta) = std::fs::metadata(&*path) else {
                continue;
            };
            if meta.len() == *seen {
                continue;
            }
            *seen = meta.len();
            out.push(Update::LogTail {
                run,
                text: tail(path, LOG_TAIL_BYTES).unwrap_or_else(|e| format!("{e:#}")),
            });
        }
        Ok(out)
    }
}

pub use crate::format::short_hash;

/// A run's commit as the dashboard shows it: "0123456789ab", or "0123456789ab-dirty", with the
/// start of its changes' id where the lab has it ("0123456789ab-dirty-3f2a9c0d").
pub fn short_commit(code: &crate::lab::CodeVersion) -> String {
    let dirty = match (code.git_dirty, &code.git_diff) {
        (false, _) => String::new(),
        (true, Some(diff)) => format!("-dirty-{}", diff.get(..8).unwrap_or(diff)),
        (true, None) => "-dirty".into(),
    };
    format!("{}{dirty}", short_hash(&code.git_commit))
}

/// The last `bytes` of a file, from the first whole line.
pub(super) fn tail(path: &Path, bytes: u64) -> Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f =
        std::fs::File::open(path).with_context(|| format!("reading log '{}'", path.display()))?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(bytes);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok(match (start > 0, text.find('\n')) {
        (true, Some(i)) => text[i + 1..].to_string(),
        _ => text,
    })
}

/// `run 51 pretrain-r18: ep 20 it 2340 final f33f93d18afb` (as the checkpoint list has them)
/// for each run the weights descend from, then `/w/resnet18-f37072fd.pth, from outside this
/// lab`.
fn origin_lines(lineage: &crate::lab::Lineage) -> Vec<String> {
    let mut lines: Vec<String> = lineage
        .ancestors
        .iter()
        .map(|o| {
            let which = match &o.checkpoint {
                Some(c) => format!(
                    "ep {} it {} {} {}",
                    c.epoch,
                    c.iteration,
                    c.kind,
                    short_hash(&c.sha256)
                ),
                None => "a checkpoint it no longer records".to_string(),
            };
            format!("run {} {}: {which}", o.run.id, o.run.name)
        })
        .collect();
    lines.extend(
        lineage
            .outside
            .as_ref()
            .map(|file| format!("{file}, from outside this lab")),
    );
    lines
}

/// `2026-11-29 16:20 from it 380 · gpu-box · cuda · NVIDIA H200 · 0123456789ab`.
fn resume_line(r: &crate::lab::Resume) -> String {
    format!(
        "{} from it {} · {} · {} · {} · {}",
        crate::format::timestamp(r.at),
        r.from_iteration,
        r.hostname,
        r.device,
        r.gpu_name.as_deref().unwrap_or("no gpu"),
        short_commit(&r.code)
    )
}

/// The epoch of the checkpoint evaluation `e` measured: the one its checkpoint's row among
/// `checkpoints` records, as the checkpoint list shows it (`ep 8 it 143` for a run stopped 10
/// steps into epoch 8); where that row is gone (a run still training replaces its best), the
/// one the trainer records at its iteration in a run of `iters_per_epoch` (the epoch it ends,
/// or the one it is partway through); None where neither is known.
fn evaluated_epoch(
    e: &crate::lab::Evaluation,
    checkpoints: &[Checkpoint],
    iters_per_epoch: Option<i64>,
) -> Option<i64> {
    let linked = e
        .checkpoint_id
        .and_then(|id| checkpoints.iter().find(|c| c.id == id));
    match linked {
        Some(c) => Some(c.epoch),
        None => {
            let per = iters_per_epoch.filter(|&n| n > 0)?;
            // Rounded up: partway through an epoch is in it.
            let iteration = e.checkpoint_iteration?.max(0);
            Some((iteration + per - 1) / per)
        }
    }
}

/// `#18 lfw-pairs @ep 63 it 1200: acc 0.912 ± 0.011 · auc 0.960 · eer 0.090`, the checkpoint at
/// its `epoch` ([`evaluated_epoch`]) and iteration as the checkpoint list places it (`@it 1200`
/// where the epoch is not known), and what sets it apart from the run's other evaluations of
/// that checkpoint: `(flip)`, `(4661 pairs, people of runs 59, 57 left out)` (not where none
/// were), `(own pairs file)`, a folder's name.
fn evaluation_line(e: &crate::lab::Evaluation, epoch: Option<i64>) -> String {
    let at = match (epoch, e.checkpoint_iteration) {
        (Some(ep), Some(it)) => format!(" @ep {ep} it {it}"),
        (None, Some(it)) => format!(" @it {it}"),
        (_, None) => String::new(),
    };
    let option = |name: &str| e.options.get(name);
    let mut how = Vec::new();
    if e.protocol == crate::lab::Protocol::Folder {
        let folder = std::path::Path::new(&e.data_source)
            .file_name()
            .map_or(e.data_source.clone(), |n| n.to_string_lossy().into_owned());
        how.push(folder);
    }
    if !e.official_pairs() {
        how.push("own pairs file".to_string());
    }
    if e.left_out() {
        let pairs = option("pairs").and_then(|v| v.as_u64());
        let runs: Vec<String> = option("excluded_runs")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_i64())
                    .map(|r| r.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let whose = match runs.len() {
            0 => "trained people left out".to_string(),
            1 => format!("people of run {} left out", runs[0]),
            _ => format!("people of runs {} left out", runs.join(", ")),
        };
        how.push(match pairs {
            Some(n) => format!("{n} pairs, {whose}"),
            None => whose,
        });
    }
    if option("flip").and_then(|v| v.as_bool()) == Some(true) {
        how.push("flip".to_string());
    }
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(" ({})", how.join("; "))
    };
    let num = |name: &str| {
        e.metric(name)
            .map_or("-".to_string(), |v| format!("{v:.3}"))
    };
    let numbers = match e.protocol {
        crate::lab::Protocol::TestSplit => format!(
            "top1 {} · centroid {} · top5 {}",
            num("top1_seed_gallery"),
            num("top1_centroid_gallery"),
            num("top5_seed_gallery")
        ),
        _ => format!(
            "acc {} ± {} · auc {} · eer {}",
            num("verification_accuracy_mean"),
            num("verification_accuracy_std"),
            num("roc_auc"),
            num("eer")
        ),
    };
    format!("#{} {}{at}{how}: {numbers}", e.id.0, e.protocol)
}

/// Runs the collector on its own thread. Updates go out through `send` (which returns false
/// once the app is gone); the returned sender takes requests.
pub fn spawn<F>(path: &Path, send: F) -> Result<Sender<Request>>
where
    F: Fn(Update) -> bool + Send + 'static,
{
    spawn_with_tick(path, FALLBACK_TICK, send)
}

/// [`spawn`] with another fallback tick (tests use a very long one, so that only the file
/// watcher can deliver updates).
pub fn spawn_with_tick<F>(path: &Path, tick: Duration, send: F) -> Result<Sender<Request>>
where
    F: Fn(Update) -> bool + Send + 'static,
{
    let mut collector = Collector::open(path)?;
    let (tx, rx) = mpsc::channel::<Request>();
    let watcher = watch_files(path, tx.clone())?;
    std::thread::Builder::new()
        .name("lab-collector".into())
        .spawn(move || {
            // Held here: dropping the watcher stops the notifications.
            let _watcher = watcher;
            if let Err(why) = super::caught(|| collect(&mut collector, &rx, tick, &send)) {
                send(Update::Stopped(format!(
                    "reading the lab stopped on a bug, please report it: {why}; the screen no \
                     longer updates: quit and open the dashboard again"
                )));
            }
        })
        .context("starting the lab collector thread")?;
    Ok(tx)
}

fn collect<F: Fn(Update) -> bool>(
    c: &mut Collector,
    rx: &Receiver<Request>,
    tick: Duration,
    send: &F,
) {
    let emit = |r: Result<Vec<Update>>| -> bool {
        match r {
            Ok(updates) => updates.into_iter().all(send),
            Err(e) => send(Update::Error(format!("reading the lab: {e:#}"))),
        }
    };
    if !emit(c.poll()) {
        return;
    }
    // A file event can come before the commit that caused it is visible (SQLite updates its
    // WAL index through shared memory, which raises no event), so every woken poll is followed
    // by one more shortly after.
    let mut follow_up = false;
    loop {
        let wait = if follow_up { FOLLOW_UP.min(tick) } else { tick };
        let first = match rx.recv_timeout(wait) {
            Ok(r) => {
                follow_up = true;
                r
            }
            Err(RecvTimeoutError::Timeout) => {
                follow_up = false;
                Request::Wake
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Coalesce a burst of notifications into one read.
        if let Some(watched) = c.watch_burst(std::iter::once(first).chain(rx.try_iter())) {
            if !emit(watched) {
                return;
            }
        }
        if !emit(c.poll()) {
            return;
        }
    }
}

/// Watches the lab's directory and wakes the collector when the database or its WAL changes.
/// The directory, not the files: the WAL is created and removed as connections come and go.
fn watch_files(path: &Path, tx: Sender<Request>) -> Result<notify::RecommendedWatcher> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let wal = format!("{name}-wal");
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let Ok(ev) = ev else { return };
        if !matches!(ev.kind, EventKind::Modify(_) | EventKind::Create(_)) {
            return;
        }
        let ours = ev.paths.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy() == name || n.to_string_lossy() == wal)
        });
        if ours {
            let _ = tx.send(Request::Wake);
        }
    })
    .context("starting the file watcher")?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching '{}' for changes", dir.display()))?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::new_run;
    use crate::lab::{metric, MetricPoint};

    /// Evaluations of one checkpoint read apart: by their number, the people left out, a flip,
    /// and the folder a folder evaluation read; the checkpoint by its epoch and iteration, or
    /// its iteration alone where the epoch is not known.
    #[test]
    fn evaluation_lines_say_what_sets_each_apart() {
        use crate::lab::{EvalMetric, Evaluation, EvaluationId, Protocol};
        let eval =
            |id: i64, protocol: Protocol, source: &str, options: serde_json::Value| Evaluation {
                id: EvaluationId(id),
                run: RunId(59),
                checkpoint_id: None,
                checkpoint_iteration: Some(1710),
                checkpoint_sha256: None,
                protocol,
                data_source: source.into(),
                options,
                metrics: vec![EvalMetric {
                    name: "roc_auc".into(),
                    value: 0.785,
                }],
                code: crate::lab::fixtures::run(1, "r", "resnet18").code,
                ran_on: None,
                created_at: 0.0,
            };
        let lfw = "pairs.txt + lfw.tgz";
        let plain = eval(
            18,
            Protocol::LfwPairs,
            lfw,
            serde_json::json!({"flip": false}),
        );
        assert_eq!(
            evaluation_line(&plain, Some(90)),
            "#18 lfw-pairs @ep 90 it 1710: acc - ± - · auc 0.785 · eer -"
        );
        let out = serde_json::json!({"exclude_train_identities": true, "excluded_runs": [59, 57],
            "pairs": 4661, "flip": true});
        assert_eq!(
            evaluation_line(&eval(114, Protocol::LfwPairs, lfw, out), None),
            "#114 lfw-pairs @it 1710 (4661 pairs, people of runs 59, 57 left out; flip): acc - ± - \
             · auc 0.785 · eer -"
        );
        let older = serde_json::json!({"exclude_train_identities": true, "pairs": 5864});
        assert!(
            evaluation_line(&eval(19, Protocol::LfwPairs, lfw, older), None)
                .starts_with("#19 lfw-pairs @it 1710 (5864 pairs, trained people left out): ")
        );
        let folder = eval(
            113,
            Protocol::Folder,
            "/tmp/lfw-unseen",
            serde_json::json!({}),
        );
        assert!(evaluation_line(&folder, None).starts_with("#113 folder @it 1710 (lfw-unseen): "));
        // A pairs file of one's own is told; an exclusion that left no one out is not.
        let own = serde_json::json!({"exclude_train_identities": true, "dropped_pairs": 0,
            "pairs": 6000, "pairs_sha256": "0".repeat(64)});
        assert!(
            evaluation_line(&eval(20, Protocol::LfwPairs, lfw, own), None)
                .starts_with("#20 lfw-pairs @it 1710 (own pairs file): ")
        );
        let official = serde_json::json!({"pairs_sha256": crate::eval::pairs::VIEW2_SHA256});
        assert!(
            evaluation_line(&eval(21, Protocol::LfwPairs, lfw, official), None)
                .starts_with("#21 lfw-pairs @it 1710: ")
        );
    }

    /// An evaluation's checkpoint is in the epoch its row records, as the checkpoint list
    /// shows it: run 9's interrupt checkpoint, 10 steps into epoch 8 (iteration 143 of 19 an
    /// epoch), is in epoch 8, not the 7 whole epochs before it. Its row gone, the epoch is the
    /// one the trainer records at that iteration; with no epoch length, none.
    #[test]
    fn an_evaluations_checkpoint_is_in_the_epoch_its_row_records() {
        use crate::lab::{Evaluation, EvaluationId, Protocol};
        let ck = |id: i64, iteration: i64, epoch: i64| Checkpoint {
            id,
            ..crate::lab::fixtures::checkpoint(RunId(9), "interrupt", iteration, epoch)
        };
        let checkpoints = [ck(1, 76, 4), ck(2, 143, 8)];
        let of = |checkpoint_id: Option<i64>, iteration: i64| Evaluation {
            id: EvaluationId(1),
            run: RunId(9),
            checkpoint_id,
            checkpoint_iteration: Some(iteration),
            checkpoint_sha256: None,
            protocol: Protocol::LfwPairs,
            data_source: "pairs.txt + lfw.tgz".into(),
            options: serde_json::json!({}),
            metrics: Vec::new(),
            code: crate::lab::fixtures::run(1, "r", "resnet18").code,
            ran_on: None,
            created_at: 0.0,
        };
        let e = of(Some(2), 143);
        assert_eq!(evaluated_epoch(&e, &checkpoints, Some(19)), Some(8));
        assert!(evaluation_line(&e, Some(8)).starts_with("#1 lfw-pairs @ep 8 it 143: "));
        // Its row replaced (or the link never made): at 19 an epoch, iteration 143 is in
        // epoch 8, and iteration 152 ends it.
        assert_eq!(
            evaluated_epoch(&of(None, 143), &checkpoints, Some(19)),
            Some(8)
        );
        assert_eq!(
            evaluated_epoch(&of(Some(7), 152), &checkpoints, Some(19)),
            Some(8)
        );
        assert_eq!(evaluated_epoch(&of(None, 143), &checkpoints, None), None);
        assert_eq!(
            evaluated_epoch(&e, &checkpoints, None),
            Some(8),
            "its row says"
        );
    }

    #[test]
    fn series_load_lazily_and_grow_without_duplicates() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        let lab = Lab::open(&path)?;
        let a = lab.create_run(&new_run("a"))?;
        let b = lab.create_run(&new_run("b"))?;
        let pts = |from: i64, to: i64| -> Vec<MetricPoint> {
            (from..=to)
                .map(|i| MetricPoint::new(i, 1, metric::TRAIN_LOSS, 1.0 / i as f64))
                .collect()
        };
        lab.record(a, &pts(1, 5), &Default::default())?;
        lab.record(b, &pts(1, 3), &Default::default())?;

        let mut c = Collector::open(&path)?;
        let first = c.poll()?;
        assert!(matches!(&first[0], Update::Runs(r) if r.len() == 2));
        assert_eq!(first.len(), 1, "no series are read before a run is viewed");

        // Written between opening and watching: must come exactly once.
        lab.record(a, &pts(6, 7), &Default::default())?;
        let loaded = c.watch(&[a])?;
        let Some(Update::SeriesLoaded { series, .. }) = loaded.first() else {
            panic!("{loaded:?}")
        };
        let n_loaded = series[metric::TRAIN_LOSS].len();
        lab.record(a, &pts(8, 9), &Default::default())?;
        lab.record(b, &pts(4, 9), &Default::default())?;
        let polled = c.poll()?;
        let appended: Vec<&MetricRow> = polled
            .iter()
            .filter_map(|u| match u {
                Update::Appended(rows) => Some(rows.iter()),
                _ => None,
            })
            .flatten()
            .collect();
        assert!(appended.iter().all(|r| r.run_id == a), "b is not watched");
        let mut its: Vec<i64> = series[metric::TRAIN_LOSS]
            .iter()
            .map(|p| p.iteration)
            .collect();
        its.extend(appended.iter().map(|r| r.iteration));
        assert_eq!(its, (1..=9).collect::<Vec<_>>(), "{n_loaded} loaded");
        Ok(())
    }

    /// Esc, then Enter on the same run, quicker than the collector: the screen dropped the
    /// run's series and asks for them again, and they come.
    #[test]
    fn a_run_dropped_and_watched_again_in_one_burst_is_read_again() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        let lab = Lab::open(&path)?;
        let a = lab.create_run(&new_run("a"))?;
        lab.record(
            a,
            &[MetricPoint::new(1, 1, metric::TRAIN_LOSS, 0.5)],
            &Default::default(),
        )?;
        let mut c = Collector::open(&path)?;
        let loaded = |updates: Vec<Update>| {
            updates
                .iter()
                .filter(|u| matches!(u, Update::SeriesLoaded { run, .. } if *run == a))
                .count()
        };
        assert_eq!(loaded(c.watch(&[a])?), 1);
        let burst = [
            Request::Wake,
            Request::Watch(vec![]),
            Request::Watch(vec![a]),
        ];
        let again = c.watch_burst(burst.into_iter()).context("a watch list")??;
        assert_eq!(loaded(again), 1);
        // Asked for again without being dropped, it is not read twice.
        let same = c.watch_burst([Request::Watch(vec![a])].into_iter());
        assert_eq!(loaded(same.context("a watch list")??), 0);
        assert!(c.watch_burst([Request::Wake].into_iter()).is_none());
        Ok(())
    }

    /// The runs' datasets come named as `runs` names them, once, and again when they change.
    #[test]
    fn the_runs_datasets_come_named_when_they_change() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        let lab = Lab::open(&path)?;
        let record = |source: &str| crate::lab::DatasetRecord {
            kind: "dir".into(),
            source: source.into(),
            min_images: 20,
            max_images: 30,
            split_seed: None,
            n_identities: 30,
            n_images: 713,
            content_hash: source.into(),
            splits: Vec::new(),
        };
        let mut on = new_run("a");
        on.dataset_id = Some(lab.ensure_dataset(&record("/data/lfw-20-30"))?);
        lab.create_run(&on)?;
        let datasets = |updates: Vec<Update>| -> Vec<Vec<(i64, String)>> {
            updates
                .into_iter()
                .filter_map(|u| match u {
                    Update::Datasets(d) => {
                        Some(d.into_iter().map(|(id, d)| (id, d.name)).collect())
                    }
                    _ => None,
                })
                .collect()
        };
        let mut c = Collector::open(&path)?;
        assert_eq!(datasets(c.poll()?), [[(1, "lfw-20-30".to_string())]]);
        assert!(datasets(c.poll()?).is_empty(), "unchanged, not sent again");
        on.dataset_id = Some(lab.ensure_dataset(&record("/tmp/lfw-disjoint"))?);
        lab.create_run(&on)?;
        assert_eq!(
            datasets(c.poll()?),
            [[
                (1, "lfw-20-30".to_string()),
                (2, "lfw-disjoint".to_string())
            ]]
        );
        Ok(())
    }

    #[test]
    fn a_log_is_read_relative_to_the_lab_and_follows_a_resume() -> Result<()> {
        // The lab is not in the working directory, as with `--db elsewhere/lab.db`.
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        let lab = Lab::open(&path)?;
        let mut new = new_run("a");
        new.log_path = Some("logs/first.log".into());
        let a = lab.create_run(&new)?;
        std::fs::create_dir(dir.path().join("logs"))?;
        std::fs::write(dir.path().join("logs/first.log"), "epoch 1\n")?;
        std::fs::write(dir.path().join("logs/second.log"), "resumed\n")?;
        let tails = |updates: Vec<Update>| -> Vec<String> {
            updates
                .into_iter()
                .filter_map(|u| match u {
                    Update::LogTail { text, .. } => Some(text),
                    _ => None,
                })
                .collect()
        };
        let mut c = Collector::open(&path)?;
        c.watch(&[a])?;
        assert_eq!(tails(c.poll()?), ["epoch 1\n"]);
        lab.set_log_path(a, "logs/second.log")?;
        assert_eq!(tails(c.poll()?), ["resumed\n"]);
        Ok(())
    }

    #[test]
    fn a_watched_run_says_where_its_weights_came_from() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        let lab = Lab::open(&path)?;
        let mut first = new_run("pretrain");
        first.hyper.init = Some("/w/resnet18-f37072fd.pth".into());
        first.hyper.init_sha256 = Some("f37072fd".repeat(8));
        let parent = lab.create_run(&first)?;
        lab.add_checkpoint(&crate::lab::NewCheckpoint {
            run: parent,
            iteration: 40,
            epoch: 2,
            kind: "final".into(),
            path: "checkpoints/run-1/final.safetensors".into(),
            sha256: "ab".repeat(32),
        })?;
        let mut second = new_run("tuned");
        second.hyper.init = Some("/lab/checkpoints/run-1/final.safetensors".into());
        second.hyper.init_sha256 = Some("ab".repeat(32));
        let child = lab.create_run(&second)?;
        let random = lab.create_run(&new_run("random"))?;
        let started_from = |updates: Vec<Update>, of: RunId| -> Vec<String> {
            updates
                .into_iter()
                .find_map(|u| match u {
                    Update::Details { run, details } if run == of => Some(details.started_from),
                    _ => None,
                })
                .expect("details of the watched run")
        };
        let mut c = Collector::open(&path)?;
        assert_eq!(
            started_from(c.watch(&[child, random])?, child),
            [
                format!("run {parent} pretrain: ep 2 it 40 final {}", "ab".repeat(6)),
                "/w/resnet18-f37072fd.pth, from outside this lab".to_string(),
            ]
        );
        assert!(started_from(c.poll()?, random).is_empty());
        Ok(())
    }

    #[test]
    fn log_tail_starts_at_a_whole_line() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("x.log");
        std::fs::write(&p, "first line\nsecond line\nthird\n")?;
        assert_eq!(tail(&p, 14)?, "third\n");
        assert_eq!(tail(&p, 1000)?, "first line\nsecond line\nthird\n");
        Ok(())
    }
}
