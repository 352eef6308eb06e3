//! Writes the training events into the lab: metrics in batched transactions, the run's summary
//! columns, checkpoints, and a heartbeat from a thread of its own.
//!
//! Another writer may hold the lab past the busy timeout (a `lab merge` of a large lab, say).
//! The run goes on: its points and checkpoint rows wait, in order, for the next write the lab
//! takes, tried on each beat. Only the run's end must land when it happens: [`Recorder::finish`]
//! tries a few times.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::lab::{
    is_busy, median, metric, Lab, MetricPoint, NewCheckpoint, RunId, RunSummaryUpdate,
    RECENT_SPEED_STEPS,
};
use crate::train::events::{CheckpointKind, Event, Observer};

/// A second of metrics per transaction keeps recording far below 1% of step time, and the
/// dashboard, which refreshes once a second, never waits long for new points.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub struct Recorder<'a> {
    lab: &'a Lab,
    run: RunId,
    buf: Vec<MetricPoint>,
    summary: RunSummaryUpdate,
    last_flush: Instant,
    /// Seconds spent writing to the lab, and spent in training steps: the recording overhead.
    pub write_secs: f64,
    pub step_secs: f64,
    /// The skipped-batch count last recorded; a point is written when it changes.
    last_skipped: u64,
    /// The speeds of the last [`RECENT_SPEED_STEPS`] steps, oldest first.
    recent_speeds: VecDeque<f64>,
    /// Checkpoints written to disk whose rows wait for the points before them, in order.
    checkpoints: Vec<(NewCheckpoint, CheckpointKind, PathBuf)>,
    /// The losses of the latest epoch that has any: that epoch, their sum and count, whose
    /// mean is the run's `last_loss` ([`crate::lab::Lab::epoch_losses`]).
    epoch_losses: Option<(i64, f64, u64)>,
    /// Whether points wait because the lab was busy at their beat.
    held_back: bool,
    /// How many periodic, stop and automatic checkpoints to keep, the newest
    /// (`--keep-checkpoints`); `None` keeps them all (but an automatic one, which the next
    /// checkpoint to resume from replaces).
    keep: Option<usize>,
}

impl<'a> Recorder<'a> {
    pub fn new(lab: &'a Lab, run: RunId) -> Recorder<'a> {
        Recorder {
            lab,
            run,
            buf: Vec::with_capacity(1024),
            summary: RunSummaryUpdate::default(),
            last_flush: Instant::now(),
            write_secs: 0.0,
            step_secs: 0.0,
            last_skipped: 0,
            recent_speeds: VecDeque::with_capacity(RECENT_SPEED_STEPS),
            checkpoints: Vec::new(),
            epoch_losses: None,
            held_back: false,
            keep: None,
        }
    }

    /// Keeps only the newest `keep` periodic, stop and automatic checkpoints, deleting the
    /// older ones' rows and files as new ones are recorded (`None`: all, but the automatic
    /// ones each next one replaces).
    pub fn keeping(mut self, keep: Option<usize>) -> Recorder<'a> {
        self.keep = keep;
        self
    }

    /// Writes the points, the summary and the checkpoint rows that wait, in that order.
    pub fn flush(&mut self) -> Result<()> {
        let t = Instant::now();
        let written = self.write();
        self.last_flush = Instant::now();
        self.write_secs += t.elapsed().as_secs_f64();
        written?;
        if self.held_back {
            crate::say!("the lab took the run's held-back metrics and checkpoints");
            self.held_back = false;
            self.lab.wait_briefly(false)?;
        }
        Ok(())
    }

    fn write(&mut self) -> Result<()> {
        // The run's speed: the median of its recent steps (none yet after a resume: unchanged).
        self.summary.images_per_sec = median(self.recent_speeds.make_contiguous());
        self.lab.record(self.run, &self.buf, &self.summary)?;
        self.buf.clear();
        self.summary = RunSummaryUpdate::default();
        while let Some((row, kind, path)) = self.checkpoints.first() {
            self.add_checkpoint(row, *kind, path)?;
            self.checkpoints.remove(0);
        }
        Ok(())
    }

    /// A flush on the beat: where another writer holds the lab past the busy timeout, what
    /// waits goes on waiting for the next beat instead of failing the run, and the next tries
    /// wait only briefly.
    fn flush_on_beat(&mut self) -> Result<()> {
        match self.flush() {
            Err(e) if is_busy(&e) => {
                if !self.held_back {
                    crate::say!(
                        "warning: {e:#}; the run goes on, and its {} metric points and {} wait \
                         for the lab",
                        self.buf.len(),
                        crate::format::count(
                            self.checkpoints.len() as u64,
                            "checkpoint row",
                            "checkpoint rows"
                        )
                    );
                    self.held_back = true;
                    self.lab.wait_briefly(true)?;
                }
                Ok(())
            }
            done => done,
        }
    }

    /// The run's end, however it ended: what waits must land now ([`Lab::landing`]), with
    /// the whole busy timeout again.
    pub fn finish(&mut self) -> Result<()> {
        let lab = self.lab;
        lab.landing("the run's last metrics and checkpoints", || self.flush())
    }

    /// Records checkpoint `row`, written to `path`. A run has one best and one final: a final
    /// written again (by a run that ended but was not closed, resumed from it) takes the place
    /// of the first's row. Periodic and stop checkpoints beyond the newest [`Self::keeping`]
    /// go.
    fn add_checkpoint(&self, row: &NewCheckpoint, kind: CheckpointKind, path: &Path) -> Result<()> {
        // A file that goes, goes only once the lab no longer names it: a crash in between
        // leaves a spare file, never a row naming the wrong bytes.
        let gone = if matches!(kind, CheckpointKind::Best | CheckpointKind::Final) {
            self.lab.replace_checkpoints(row)?.1
        } else {
            self.lab.add_checkpoint_keeping(row, self.keep)?
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Err(e) = self.lab.delete_checkpoint_files(&gone, dir) {
            crate::say!("warning: {e:#}");
        }
        Ok(())
    }

    /// Forgets the buffered points the lab refuses (NaN, infinities), so that a failing run
    /// can still record the finite ones; the error that failed it names what was dropped.
    pub fn drop_non_finite(&mut self) {
        self.buf.retain(|p| p.value.is_finite());
    }

    /// Recording time as a share of training-step time.
    pub fn overhead(&self) -> f64 {
        if self.step_secs > 0.0 {
            self.write_secs / self.step_secs
        } else {
            0.0
        }
    }
}

impl Observer for Recorder<'_> {
    fn on_event(&mut self, event: &Event) -> Result<()> {
        match event {
            // A resumed run's count goes on from its checkpoint's: only a change is a point.
            Event::Started { start, .. } => {
                self.last_skipped = start.skipped_batches;
                // A run resumed inside an epoch goes on with the losses recorded of it.
                self.epoch_losses = self.lab.epoch_losses(self.run)?;
            }
            Event::Step(s) => {
                let (it, ep) = (s.iteration as i64, s.epoch as i64);
                if let Some(loss) = s.loss {
                    self.buf
                        .push(MetricPoint::new(it, ep, metric::TRAIN_LOSS, loss));
                    self.buf.push(MetricPoint::new(it, ep, metric::LR, s.lr));
                    self.buf.push(MetricPoint::new(
                        it,
                        ep,
                        metric::ACTIVE_TRIPLETS,
                        s.active_fraction,
                    ));
                    self.buf
                        .push(MetricPoint::new(it, ep, metric::DIST_AP, s.mean_ap));
                    self.buf
                        .push(MetricPoint::new(it, ep, metric::DIST_AN, s.mean_an));
                    self.buf.push(MetricPoint::new(
                        it,
                        ep,
                        metric::IMAGES_PER_SEC,
                        s.images_per_sec,
                    ));
                    let (sum, n) = match self.epoch_losses {
                        Some((e, sum, n)) if e == ep => (sum + loss, n + 1),
                        _ => (loss, 1),
                    };
                    self.epoch_losses = Some((ep, sum, n));
                    self.summary.last_loss = Some(sum / n as f64);
                    if self.recent_speeds.len() == RECENT_SPEED_STEPS {
                        self.recent_speeds.pop_front();
                    }
                    self.recent_speeds.push_back(s.images_per_sec);
                }
                if s.skipped_batches != self.last_skipped {
                    self.buf.push(MetricPoint::new(
                        it,
                        ep,
                        metric::SKIPPED_BATCHES,
                        s.skipped_batches as f64,
                    ));
                    self.last_skipped = s.skipped_batches;
                }
                self.summary.last_iteration = Some(it);
                self.summary.last_epoch = Some(ep);
                self.step_secs += s.step_secs;
                if self.last_flush.elapsed() >= FLUSH_EVERY {
                    self.flush_on_beat()?;
                }
            }
            Event::Eval(e) => {
                let (it, ep) = (e.iteration as i64, e.epoch as i64);
                self.buf
                    .push(MetricPoint::new(it, ep, metric::TRAIN_ACC, e.train_acc));
                self.buf
                    .push(MetricPoint::new(it, ep, metric::DEV_ACC, e.dev_acc));
                self.buf.push(MetricPoint::new(
                    it,
                    ep,
                    metric::DEV_ACC_CENTROID,
                    e.dev_acc_centroid,
                ));
                self.summary.evaluation = Some((e.train_acc, e.dev_acc, ep));
                self.flush_on_beat()?;
            }
            Event::Checkpoint {
                iteration,
                epoch,
                kind,
                path,
                sha256,
            } => {
                let row = NewCheckpoint {
                    run: self.run,
                    iteration: *iteration as i64,
                    epoch: *epoch as i64,
                    kind: kind.as_str().to_string(),
                    path: self.lab.relative(path),
                    sha256: sha256.to_string(),
                };
                self.checkpoints.push((row, *kind, path.to_path_buf()));
                self.flush_on_beat()?;
            }
            // The rest lands when the run is closed ([`Self::finish`]).
            Event::Finished { .. } => self.flush_on_beat()?,
            Event::Warning(_) => {}
        }
        Ok(())
    }
}

/// Beats the run's heartbeat every few seconds from its own thread and connection, so a long
/// evaluation never makes a live run look crashed, and a dead process stops beating at once.
pub struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    pub const EVERY: Duration = Duration::from_secs(5);

    pub fn start(db: &Path, run: RunId) -> Result<Heartbeat> {
        let lab = Lab::open(db)?;
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Self::EVERY) {
                    // A busy lab only delays one beat; the next one retries.
                    let _ = lab.heartbeat(run);
                }
            })?;
        Ok(Heartbeat {
            stop: Some(tx),
            handle: Some(handle),
        })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{checkpoint_kinds, new_run};
    use crate::train::checkpoint::Position;
    use crate::train::events::{EvalStats, StepStats};

    fn step(iteration: u64, skipped_batches: u64, loss: Option<f64>, mean_ap: f64) -> StepStats {
        StepStats {
            iteration,
            epoch: 1,
            loss,
            lr: 1e-4,
            active_fraction: 0.5,
            mean_ap,
            mean_an: 2.0,
            images_per_sec: 10.0,
            skipped_batches,
            step_secs: 0.1,
        }
    }

    #[test]
    fn skipped_batches_are_recorded_when_the_count_changes_even_after_a_resume() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&new_run("r"))?;
        let mut rec = Recorder::new(&lab, run);
        // Resumed at step 10 with 3 batches skipped before it.
        rec.on_event(&Event::Started {
            total_iterations: 20,
            iters_per_epoch: 5,
            start: Position {
                iteration: 10,
                skipped_batches: 3,
            },
            device: "cpu",
        })?;
        for s in [
            step(11, 3, Some(0.5), 1.0),
            step(12, 4, None, 1.0),
            step(13, 4, Some(0.4), 1.0),
        ] {
            rec.on_event(&Event::Step(&s))?;
        }
        rec.flush()?;
        let points: Vec<(i64, f64)> = lab
            .series(run, metric::SKIPPED_BATCHES)?
            .iter()
            .map(|p| (p.iteration, p.value))
            .collect();
        assert_eq!(points, vec![(12, 4.0)]);
        assert_eq!(lab.series(run, metric::TRAIN_LOSS)?.len(), 2);
        Ok(())
    }

    /// A run's loss is the mean of its latest epoch's trained steps, not its last batch's (an
    /// epoch's remainder, whose loss is often 0 or a spike): a batch without a triplet counts
    /// for nothing, a new epoch starts a new mean, and a run resumed inside an epoch goes on
    /// with the losses its lab holds of it, as the resume's rebuilt summary has them.
    #[test]
    fn the_runs_loss_is_its_latest_epochs_mean() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&new_run("r"))?;
        let started = |rec: &mut Recorder, iteration: u64| {
            rec.on_event(&Event::Started {
                total_iterations: 12,
                iters_per_epoch: 4,
                start: Position {
                    iteration,
                    skipped_batches: 0,
                },
                device: "cpu",
            })
        };
        let loss_after = |rec: &mut Recorder, it: u64, loss: Option<f64>| -> Result<Option<f64>> {
            let s = StepStats {
                epoch: (it as usize - 1) / 4 + 1,
                ..step(it, 0, loss, 1.0)
            };
            rec.on_event(&Event::Step(&s))?;
            rec.flush()?;
            Ok(lab.run(run)?.and_then(|r| r.last_loss))
        };
        let mut rec = Recorder::new(&lab, run);
        started(&mut rec, 0)?;
        assert_eq!(loss_after(&mut rec, 1, Some(1.0))?, Some(1.0));
        assert_eq!(loss_after(&mut rec, 2, Some(3.0))?, Some(2.0));
        assert_eq!(loss_after(&mut rec, 3, None)?, Some(2.0));
        assert_eq!(loss_after(&mut rec, 4, Some(0.0))?, Some(4.0 / 3.0));
        assert_eq!(loss_after(&mut rec, 5, Some(0.5))?, Some(0.5));
        assert_eq!(loss_after(&mut rec, 6, Some(1.5))?, Some(1.0));
        // Resumed from a checkpoint at step 5: step 6 is dropped, and replayed.
        lab.rewind(run, 5)?;
        assert_eq!(lab.run(run)?.and_then(|r| r.last_loss), Some(0.5));
        let mut rec = Recorder::new(&lab, run);
        started(&mut rec, 5)?;
        assert_eq!(loss_after(&mut rec, 6, Some(2.5))?, Some(1.5));
        Ok(())
    }

    #[test]
    fn a_running_run_shows_the_median_speed_of_its_recent_steps() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&new_run("r"))?;
        let mut rec = Recorder::new(&lab, run);
        let speed = |rec: &mut Recorder, it: u64, v: f64| -> Result<Option<f64>> {
            let s = StepStats {
                images_per_sec: v,
                ..step(it, 0, Some(0.5), 1.0)
            };
            rec.on_event(&Event::Step(&s))?;
            rec.flush()?;
            Ok(lab.run(run)?.and_then(|r| r.images_per_sec))
        };
        for it in 1..=3 {
            assert_eq!(speed(&mut rec, it, 100.0)?, Some(100.0));
        }
        // A step slowed by an evaluation does not show...
        assert_eq!(speed(&mut rec, 4, 5.0)?, Some(100.0));
        // ...and a lasting change shows within RECENT_SPEED_STEPS steps.
        let mut last = None;
        for it in 5..5 + RECENT_SPEED_STEPS as u64 {
            last = speed(&mut rec, it, 50.0)?;
        }
        assert_eq!(last, Some(50.0));
        Ok(())
    }

    #[test]
    fn a_diverged_step_fails_clearly_and_the_finite_points_are_kept() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&new_run("r"))?;
        let mut recorder = Recorder::new(&lab, run);
        recorder.on_event(&Event::Step(&step(1, 0, Some(0.1), 0.4)))?;
        recorder.on_event(&Event::Step(&step(2, 0, Some(0.1), f64::NAN)))?;
        let eval = EvalStats {
            iteration: 2,
            epoch: 1,
            train_acc: 0.5,
            dev_acc: 0.4,
            dev_acc_centroid: 0.45,
        };
        let err = recorder
            .on_event(&Event::Eval(&eval))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'dist_ap'") && err.contains("NaN at iteration 2"),
            "{err}"
        );
        // What the trainer does before marking the run failed with that error.
        recorder.drop_non_finite();
        recorder.flush()?;
        let its = |name| -> Result<Vec<i64>> {
            Ok(lab.series(run, name)?.iter().map(|p| p.iteration).collect())
        };
        assert_eq!(its(metric::TRAIN_LOSS)?, [1, 2]);
        assert_eq!(its(metric::DIST_AP)?, [1]);
        assert_eq!(its(metric::DEV_ACC)?, [2]);
        Ok(())
    }

    /// What the trainer sends while another writer holds the lab past the busy timeout: the
    /// run goes on, and its points and checkpoint rows arrive in order once the lab is free.
    #[test]
    fn a_lab_held_by_another_writer_delays_the_records_and_loses_no_best() -> Result<()> {
        // Waiting no time for the other writer stands for waiting out the busy timeout.
        crate::lab::with_busy_timeout(Duration::ZERO, || {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("lab.db");
            let lab = Lab::open(&path)?;
            let run = lab.create_run(&new_run("r"))?;
            let mut rec = Recorder::new(&lab, run);
            let ck = dir.path().join("checkpoints");
            let epoch = |rec: &mut Recorder, epoch: usize, dev_acc: f64, kind| -> Result<()> {
                let it = epoch as u64 * 10;
                rec.on_event(&Event::Step(&step(it, 0, Some(0.5), 1.0)))?;
                rec.on_event(&Event::Eval(&EvalStats {
                    iteration: it,
                    epoch,
                    train_acc: 0.9,
                    dev_acc,
                    dev_acc_centroid: dev_acc,
                }))?;
                if let Some(kind) = kind {
                    rec.on_event(&Event::Checkpoint {
                        iteration: it,
                        epoch,
                        kind,
                        path: &ck.join(format!("{it}.safetensors")),
                        sha256: "ab",
                    })?;
                }
                Ok(())
            };
            let merge = rusqlite::Connection::open(&path)?;
            merge.execute_batch("BEGIN IMMEDIATE")?;
            epoch(&mut rec, 1, 0.5, Some(CheckpointKind::Best))?;
            epoch(&mut rec, 2, 0.3, Some(CheckpointKind::Periodic))?;
            assert!(lab.series(run, metric::DEV_ACC)?.is_empty());
            assert!(lab.checkpoints(run)?.is_empty());
            // The end must land: after its tries, it fails, saying why.
            rec.on_event(&Event::Finished {
                outcome: crate::train::events::Outcome::Completed,
                stopped: None,
                iteration: 20,
                epoch: 2,
            })?;
            let end = rec.finish().unwrap_err();
            assert!(is_busy(&end), "{end:#}");

            merge.execute_batch("COMMIT")?;
            rec.finish()?;
            assert_eq!(
                lab.series(run, metric::DEV_ACC)?.len(),
                2,
                "landed at the close"
            );
            assert_eq!(lab.checkpoints(run)?.len(), 2);
            epoch(&mut rec, 3, 0.4, None)?;
            let devs: Vec<(i64, f64)> = lab
                .series(run, metric::DEV_ACC)?
                .iter()
                .map(|p| (p.epoch, p.value))
                .collect();
            assert_eq!(devs, [(1, 0.5), (2, 0.3), (3, 0.4)]);
            assert_eq!(lab.series(run, metric::TRAIN_LOSS)?.len(), 3);
            let r = lab.run(run)?.expect("the run");
            assert_eq!((r.best_dev_acc, r.best_dev_epoch), (Some(0.5), Some(1)));
            assert_eq!((r.final_dev_acc, r.last_iteration), (Some(0.4), 30));
            // In the order they were written (ids count up).
            let mut cks = lab.checkpoints(run)?;
            cks.sort_by_key(|c| c.id);
            let cks: Vec<(i64, String)> = cks.into_iter().map(|c| (c.iteration, c.kind)).collect();
            assert_eq!(cks, [(10, "best".into()), (20, "periodic".into())]);
            Ok(())
        })
    }

    /// Writes a checkpoint file of `kind` at step `it` in `dir` and tells `rec` of it.
    fn checkpoint(
        rec: &mut Recorder,
        dir: &Path,
        it: u64,
        kind: CheckpointKind,
    ) -> Result<std::path::PathBuf> {
        let path = dir.join(format!("{}-{it:08}.safetensors", kind.as_str()));
        std::fs::write(&path, it.to_string())?;
        rec.on_event(&Event::Checkpoint {
            iteration: it,
            epoch: it as usize,
            kind,
            path: &path,
            sha256: "ab",
        })?;
        Ok(path)
    }

    /// [`checkpoint`]s written and recorded in turn, then flushed to the lab: their files.
    fn recorded(
        rec: &mut Recorder,
        dir: &Path,
        written: &[(u64, CheckpointKind)],
    ) -> Result<Vec<std::path::PathBuf>> {
        let files = written
            .iter()
            .map(|&(it, kind)| checkpoint(rec, dir, it, kind))
            .collect::<Result<_>>()?;
        rec.flush()?;
        Ok(files)
    }

    /// Whether each of `files` is still on disk.
    fn on_disk(files: &[std::path::PathBuf]) -> Vec<bool> {
        files.iter().map(|f| f.exists()).collect()
    }

    #[test]
    fn a_best_checkpoint_replaces_the_previous_best_file_once_the_lab_names_it() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let run = lab.create_run(&new_run("r"))?;
        let mut rec = Recorder::new(&lab, run);
        let ck = dir.path().join("checkpoints");
        std::fs::create_dir(&ck)?;
        let first = checkpoint(&mut rec, &ck, 10, CheckpointKind::Best)?;
        assert!(first.exists());
        let second = checkpoint(&mut rec, &ck, 20, CheckpointKind::Best)?;
        assert!(!first.exists(), "the replaced best is deleted");
        assert!(second.exists());
        let cks = lab.checkpoints(run)?;
        assert_eq!(cks.len(), 1);
        assert_eq!(lab.resolve(&cks[0].path), second);
        Ok(())
    }

    #[test]
    fn only_the_newest_periodic_and_stop_checkpoints_are_kept() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let run = lab.create_run(&new_run("r"))?;
        let mut rec = Recorder::new(&lab, run).keeping(Some(2));
        let ck = dir.path().join("checkpoints");
        std::fs::create_dir(&ck)?;
        use CheckpointKind::*;
        let written = [(10, Periodic), (15, Interrupt), (20, Best), (30, Periodic)];
        let files = recorded(&mut rec, &ck, &written)?;
        assert_eq!(on_disk(&files), [false, true, true, true]);
        assert_eq!(
            checkpoint_kinds(&lab, run)?,
            [
                (15, "interrupt".into()),
                (20, "best".into()),
                (30, "periodic".into())
            ]
        );
        Ok(())
    }

    /// Whatever --keep-checkpoints says (here: all), an automatic checkpoint's row and file go
    /// as the next checkpoint to resume from is recorded; a best leaves it.
    #[test]
    fn an_automatic_checkpoint_goes_with_the_next_to_resume_from() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let run = lab.create_run(&new_run("r"))?;
        let mut rec = Recorder::new(&lab, run);
        let ck = dir.path().join("checkpoints");
        std::fs::create_dir(&ck)?;
        use CheckpointKind::*;
        let written = [(5, Interrupt), (10, Auto), (20, Auto), (25, Best)];
        let mut files = recorded(&mut rec, &ck, &written)?;
        assert_eq!(on_disk(&files), [true, false, true, true]);
        files.extend(recorded(&mut rec, &ck, &[(30, Final)])?);
        assert_eq!(on_disk(&files), [true, false, false, true, true]);
        assert_eq!(
            checkpoint_kinds(&lab, run)?,
            [
                (5, "interrupt".into()),
                (25, "best".into()),
                (30, "final".into())
            ]
        );
        Ok(())
    }
}
