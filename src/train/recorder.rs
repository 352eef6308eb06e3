//! Writes the training events into the lab: metrics in batched transactions, the run's summary
//! columns, checkpoints, and a heartbeat from a thread of its own.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::lab::{metric, Lab, MetricPoint, NewCheckpoint, RunId, RunSummaryUpdate};
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
    last_skipped: u64,
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
        }
    }

    pub fn flush(&mut self) -> Result<()> {
        let t = Instant::now();
        self.lab.record(self.run, &self.buf, &self.summary)?;
        self.buf.clear();
        self.summary = RunSummaryUpdate::default();
        self.last_flush = Instant::now();
        self.write_secs += t.elapsed().as_secs_f64();
        Ok(())
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
            Event::Started { .. } => {}
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
                    self.summary.last_loss = Some(loss);
                    self.summary.images_per_sec = Some(s.images_per_sec);
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
                    self.flush()?;
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
                self.flush()?;
            }
            Event::Checkpoint {
                iteration,
                epoch,
                kind,
                path,
                sha256,
            } => {
                self.flush()?;
                let c = NewCheckpoint {
                    run: self.run,
                    iteration: *iteration as i64,
                    epoch: *epoch as i64,
                    kind: kind.as_str().to_string(),
                    path: self.lab.relative(path),
                    sha256: sha256.to_string(),
                };
                if *kind == CheckpointKind::Best {
                    self.lab.replace_checkpoints(&c)?;
                } else {
                    self.lab.add_checkpoint(&c)?;
                }
            }
            Event::Finished { .. } => self.flush()?,
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
