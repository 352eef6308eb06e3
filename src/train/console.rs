//! What a person sees while a run trains: a progress bar on a terminal, plain log lines
//! otherwise, and a summary at the end.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::data::progress::LOG_EVERY;
use crate::format;
use crate::train::events::{CheckpointKind, EvalStats, Event, Observer, Outcome, StepStats, Stop};

pub struct Console {
    bar: Option<ProgressBar>,
    epochs: usize,
    total: u64,
    started: Instant,
    start_iteration: u64,
    last_line: Instant,
    last_eval: Option<EvalStats>,
    /// The resumed run's newest dev accuracy, shown with each step until this session has one.
    prior_dev: Option<f64>,
    best: Option<(f64, usize)>,
    /// Where this session wrote its newest best checkpoint.
    best_path: Option<std::path::PathBuf>,
    /// Training time of the run's earlier sessions, when it was resumed.
    prior_seconds: f64,
    outcome: Option<Outcome>,
    /// Why an interrupted run stopped.
    stopped: Option<Stop>,
    /// The epoch training ended after.
    ended_after: Option<usize>,
    /// The run's batches so far and those that held no triplet (no loss, no update), as the
    /// latest step counts them over all its sessions.
    batches: (u64, u64),
    /// The images per second of this session's latest trained step: a skipped batch, which
    /// trains nothing and says 0, leaves it as it was.
    speed: Option<f64>,
}

/// The progress line's template for a terminal `width` columns wide and a run of `steps`
/// steps: the bar takes what the step's numbers leave (up to 30 columns), and goes where they
/// leave too little, so that the line never wraps (nor fills the last column). What follows the
/// bar is at most 63 columns and twice the digits of `steps` (`12345/12345 epoch 100/100 loss
/// skipped dev 0.123 12345 img/s · ETA 59m59s`, 73 for 5 digits).
fn bar_template(width: Option<u16>, steps: u64) -> String {
    let digits = steps.max(1).ilog10() as u16 + 1;
    let rest = 63 + 2 * digits;
    const NUMBERS: &str = "{pos}/{len} {msg} · ETA {eta}";
    match width.map_or(30, |w| w.saturating_sub(rest + 2).min(30)) {
        n if n < 5 => NUMBERS.to_string(),
        n => format!("{{bar:{n}.cyan/blue}} {NUMBERS}"),
    }
}

/// What the progress line says of a step after its position: `epoch 3/90 loss 0.1234 dev
/// 0.613 192 img/s` (`skipped` for a batch without a triplet, `-` before the first evaluation,
/// and `-` img/s before the first trained step).
fn step_message(
    epoch: usize,
    epochs: usize,
    loss: Option<f64>,
    dev: Option<f64>,
    images_per_sec: Option<f64>,
) -> String {
    let loss = loss.map_or("skipped".to_string(), |l| format!("{l:.4}"));
    let dev = dev.map_or("-".to_string(), |d| format!("{d:.3}"));
    let speed = images_per_sec.map_or("-".to_string(), |s| format!("{s:.0}"));
    format!("epoch {epoch}/{epochs} loss {loss} dev {dev} {speed} img/s")
}

/// The bar's style for [`bar_template`].
fn bar_style(steps: u64) -> ProgressStyle {
    let width = ratatui::crossterm::terminal::size().ok().map(|(w, _)| w);
    ProgressStyle::with_template(&bar_template(width, steps))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("━╸ ")
}

impl Console {
    /// A progress bar when stderr is a terminal (and `quiet` is off), plain lines otherwise.
    pub fn new(epochs: usize, quiet: bool) -> Console {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(bar_style(1));
            bar
        });
        Console {
            bar,
            epochs,
            total: 0,
            started: Instant::now(),
            start_iteration: 0,
            last_line: Instant::now(),
            last_eval: None,
            prior_dev: None,
            best: None,
            best_path: None,
            prior_seconds: 0.0,
            outcome: None,
            stopped: None,
            ended_after: None,
            batches: (0, 0),
            speed: None,
        }
    }

    /// For a resumed run: what its earlier sessions reached, so that the progress line and the
    /// summary speak of the whole run (as the lab does), not of this session alone.
    pub fn resuming(
        mut self,
        best: Option<(f64, usize)>,
        last_dev: Option<f64>,
        prior_seconds: f64,
    ) -> Console {
        self.best = best;
        self.prior_dev = last_dev;
        self.prior_seconds = prior_seconds;
        self
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => crate::say!("{text}"),
        }
    }

    /// The progress line's words for step `s` ([`step_message`]), taking its speed where it
    /// trained: a skipped batch did no work to time, and shows the latest trained step's speed
    /// rather than a 0 that reads as a stalled run.
    fn step_text(&mut self, s: &StepStats) -> String {
        if s.loss.is_some() {
            self.speed = Some(s.images_per_sec);
        }
        let last_dev = self
            .last_eval
            .as_ref()
            .map(|e| e.dev_acc)
            .or(self.prior_dev);
        step_message(s.epoch, self.epochs, s.loss, last_dev, self.speed)
    }

    /// Best dev accuracy and the epoch it came at.
    pub fn best(&self) -> Option<(f64, usize)> {
        self.best
    }

    /// The closing summary.
    pub fn summary(&self, run: &str, recording_overhead: f64) -> String {
        let took = format::duration(self.started.elapsed().as_secs_f64());
        let status = match self.outcome {
            Some(Outcome::Completed) => "completed",
            Some(Outcome::Interrupted) => "interrupted",
            None => "stopped",
        };
        let mut s = format!("run {run} {status} in {took}");
        if self.prior_seconds > 0.0 {
            let total = self.prior_seconds + self.started.elapsed().as_secs_f64();
            s.push_str(&format!(
                " ({} of training in all its sessions)",
                format::duration(total)
            ));
        }
        // What the user may not know stopped it: not their own Ctrl-C.
        match self.stopped {
            Some(Stop::TimeLimit(t)) => s.push_str(&format!(
                ": its --time-limit of {} ran out",
                format::duration(t.as_secs_f64())
            )),
            Some(Stop::AfterEpoch(e)) => {
                s.push_str(&format!(": --stop-after-epoch stopped it after epoch {e}"))
            }
            Some(Stop::Asked | Stop::AtStep) | None => {}
        }
        let early = self.ended_after.filter(|&e| e < self.epochs);
        if let (Some(Outcome::Completed), Some(e)) = (self.outcome, early) {
            let since = self.best.map_or(String::new(), |(_, b)| {
                format!(
                    ", {} after its best dev accuracy",
                    format::count(e.saturating_sub(b) as u64, "epoch", "epochs")
                )
            });
            s.push_str(&format!(
                ": --patience stopped it after epoch {e} of {}{since}",
                self.epochs
            ));
        }
        if let Some((acc, epoch)) = self.best {
            s.push_str(&format!("\n  best dev accuracy {acc:.3} at epoch {epoch}"));
            if let Some(p) = &self.best_path {
                s.push_str(&format!(" (checkpoint {})", p.display()));
            }
        }
        if let Some(e) = &self.last_eval {
            let which = match self.outcome {
                Some(Outcome::Completed) => "final",
                _ => "last evaluation",
            };
            s.push_str(&format!(
                "\n  {which} (epoch {}): train accuracy {:.3}, dev accuracy {:.3}, dev centroid accuracy {:.3}",
                e.epoch, e.train_acc, e.dev_acc, e.dev_acc_centroid
            ));
        }
        let (steps, skipped) = self.batches;
        if let Some(line) = skipped_line(skipped, steps) {
            s.push_str(&format!("\n  {line}"));
        }
        s.push_str(&format!(
            "\n  recording took {:.3}% of step time",
            100.0 * recording_overhead
        ));
        s
    }
}

/// What the summary says of `skipped` batches of `steps` that held no triplet: nothing where
/// every batch had one, a warning where none did.
fn skipped_line(skipped: u64, steps: u64) -> Option<String> {
    match skipped {
        0 => None,
        n if n == steps => Some(format!(
            "warning: none of its {} held a triplet (two images of one person and one of \
             another), so nothing was learned: larger batches, or --sampler pk, give it some",
            format::count(steps, "batch", "batches")
        )),
        n => Some(format!(
            "{n} of its {steps} batches ({:.0}%) held no triplet and {} skipped",
            100.0 * n as f64 / steps as f64,
            if n == 1 { "was" } else { "were" }
        )),
    }
}

impl Observer for Console {
    fn on_event(&mut self, event: &Event) -> anyhow::Result<()> {
        match event {
            Event::Started {
                total_iterations,
                iters_per_epoch,
                start,
                device,
            } => {
                self.total = *total_iterations;
                self.start_iteration = start.iteration;
                self.started = Instant::now();
                let from = if start.iteration > 0 {
                    format!(", resuming after step {}", start.iteration)
                } else {
                    String::new()
                };
                self.line(&format!(
                    "training on {device}: {} × {}{from}",
                    format::count(self.epochs as u64, "epoch", "epochs"),
                    format::count(*iters_per_epoch as u64, "step", "steps")
                ));
                if let Some(bar) = &self.bar {
                    // Sized to the run's step count and the terminal's width now.
                    bar.set_style(bar_style(*total_iterations));
                    bar.set_length(*total_iterations);
                    bar.set_position(start.iteration);
                    bar.reset_eta();
                }
            }
            Event::Step(s) => {
                self.batches = (s.iteration, s.skipped_batches);
                let msg = self.step_text(s);
                match &self.bar {
                    Some(bar) => {
                        bar.set_position(s.iteration);
                        bar.set_message(msg);
                    }
                    None if self.last_line.elapsed() >= LOG_EVERY => {
                        let done = (s.iteration - self.start_iteration) as f64;
                        let left = self.total.saturating_sub(s.iteration) as f64;
                        let eta = self.started.elapsed().as_secs_f64() / done.max(1.0) * left;
                        crate::say!(
                            "step {}/{} {msg} eta {}",
                            s.iteration,
                            self.total,
                            format::duration(eta)
                        );
                        self.last_line = Instant::now();
                    }
                    None => {}
                }
            }
            Event::Eval(e) => {
                if self.best.is_none_or(|(b, _)| e.dev_acc > b) {
                    self.best = Some((e.dev_acc, e.epoch));
                }
                self.line(&format!(
                    "epoch {}/{}: train acc {:.3}  dev acc {:.3}  dev centroid acc {:.3}",
                    e.epoch, self.epochs, e.train_acc, e.dev_acc, e.dev_acc_centroid
                ));
                self.last_eval = Some((*e).clone());
            }
            Event::Checkpoint { kind, path, .. } => {
                // A best checkpoint comes with every new best: the summary names the last.
                if *kind == CheckpointKind::Best {
                    self.best_path = Some(path.to_path_buf());
                } else {
                    self.line(&format!("{} checkpoint: {}", kind.as_str(), path.display()));
                }
            }
            Event::Warning(w) => self.line(w),
            Event::Finished {
                outcome,
                stopped,
                epoch,
                ..
            } => {
                self.outcome = Some(*outcome);
                self.stopped = *stopped;
                self.ended_after = Some(*epoch);
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_skipped_batches_and_warns_when_all_were() {
        assert_eq!(skipped_line(0, 120), None);
        assert_eq!(
            skipped_line(45, 120).as_deref(),
            Some("45 of its 120 batches (38%) held no triplet and were skipped")
        );
        assert_eq!(
            skipped_line(1, 74).as_deref(),
            Some("1 of its 74 batches (1%) held no triplet and was skipped")
        );
        let all = skipped_line(120, 120).unwrap_or_default();
        assert!(
            all.starts_with("warning: none of its 120 batches held a triplet"),
            "{all}"
        );
    }

    fn eval(epoch: usize, dev_acc: f64) -> EvalStats {
        EvalStats {
            iteration: 10 * epoch as u64,
            epoch,
            train_acc: 0.5,
            dev_acc,
            dev_acc_centroid: 0.4,
        }
    }

    fn finish(console: &mut Console, outcome: Outcome) -> anyhow::Result<()> {
        console.on_event(&Event::Finished {
            outcome,
            stopped: None,
            iteration: 30,
            epoch: 3,
        })
    }

    #[test]
    fn the_progress_line_fits_the_terminal() {
        let with_bar =
            |n: u16| format!("{{bar:{n}.cyan/blue}} {{pos}}/{{len}} {{msg}} · ETA {{eta}}");
        assert_eq!(bar_template(Some(200), 1710), with_bar(30));
        assert_eq!(bar_template(None, 1710), with_bar(30));
        assert_eq!(bar_template(Some(80), 1710), with_bar(7));
        assert_eq!(bar_template(Some(80), 12345), with_bar(5));
        // Too narrow for a bar of 5: the numbers alone.
        assert_eq!(
            bar_template(Some(80), 123_456),
            "{pos}/{len} {msg} · ETA {eta}"
        );
        assert_eq!(bar_template(Some(60), 10), "{pos}/{len} {msg} · ETA {eta}");
        // What follows the bar at its widest (a skipped batch after an evaluation), with
        // 5-digit step counts, is the 63 + 2 × 5 columns the template leaves it.
        let widest = [Some(0.1234), None]
            .into_iter()
            .flat_map(|loss| [Some(0.123), None].map(|dev| (loss, dev)))
            .map(|(loss, dev)| step_message(100, 100, loss, dev, Some(12_345.0)).len())
            .max()
            .unwrap_or(0);
        let rest = "12345/12345 ".len() + widest + " · ETA 59m59s".chars().count();
        assert_eq!(rest, 63 + 2 * 5);
    }

    fn step(iteration: u64, loss: Option<f64>, images_per_sec: f64) -> StepStats {
        StepStats {
            iteration,
            epoch: 1,
            loss,
            lr: 1e-3,
            active_fraction: 0.5,
            mean_ap: 0.5,
            mean_an: 1.0,
            images_per_sec,
            skipped_batches: 0,
            step_secs: 0.0,
        }
    }

    /// A batch without a triplet trains nothing, and its step says 0 images per second: the
    /// progress line keeps the latest trained step's speed instead of reading as a stalled run.
    #[test]
    fn a_skipped_batch_keeps_the_speed_of_the_last_trained_step() -> anyhow::Result<()> {
        let mut console = Console::new(5, true);
        // Nothing trained yet: no speed to show.
        assert_eq!(
            console.step_text(&step(1, None, 0.0)),
            "epoch 1/5 loss skipped dev - - img/s"
        );
        assert_eq!(
            console.step_text(&step(2, Some(0.25), 191.6)),
            "epoch 1/5 loss 0.2500 dev - 192 img/s"
        );
        assert_eq!(
            console.step_text(&step(3, None, 0.0)),
            "epoch 1/5 loss skipped dev - 192 img/s"
        );
        assert_eq!(
            console.step_text(&step(4, Some(0.2), 240.0)),
            "epoch 1/5 loss 0.2000 dev - 240 img/s"
        );
        // The step event keeps it too, for the bar and a log's plain lines alike.
        console.on_event(&Event::Step(&step(5, None, 0.0)))?;
        assert_eq!(console.speed, Some(240.0));
        Ok(())
    }

    /// A resumed session whose evaluations stay below the run's earlier best reports that best,
    /// as the lab does, and the training time of all the run's sessions.
    #[test]
    fn a_resumed_run_keeps_its_earlier_best() -> anyhow::Result<()> {
        let mut console = Console::new(3, true).resuming(Some((0.065, 1)), Some(0.048), 16.0);
        console.on_event(&Event::Eval(&eval(2, 0.032)))?;
        finish(&mut console, Outcome::Completed)?;
        let s = console.summary("1", 0.0);
        assert!(s.contains("best dev accuracy 0.065 at epoch 1"), "{s}");
        assert!(s.contains("of training in all its sessions"), "{s}");
        assert!(s.contains("final (epoch 2)"), "{s}");
        assert_eq!(console.best(), Some((0.065, 1)));
        // A better evaluation still takes over, and its checkpoint is named.
        console.on_event(&Event::Eval(&eval(3, 0.1)))?;
        assert_eq!(console.best(), Some((0.1, 3)));
        console.on_event(&Event::Checkpoint {
            iteration: 30,
            epoch: 3,
            kind: CheckpointKind::Best,
            path: std::path::Path::new("checkpoints/run-1/best-00000030.safetensors"),
            sha256: "0",
        })?;
        let s = console.summary("1", 0.0);
        assert!(
            s.contains("best dev accuracy 0.100 at epoch 3 (checkpoint checkpoints/run-1/best-00000030.safetensors)"),
            "{s}"
        );
        Ok(())
    }

    /// A run that ended before its last epoch, completed, was stopped by its patience: the
    /// summary says after which epoch, and how long after its best; one that trained every
    /// epoch says nothing of it.
    #[test]
    fn a_run_its_patience_ended_says_so() -> anyhow::Result<()> {
        let mut console = Console::new(10, true);
        console.on_event(&Event::Eval(&eval(1, 0.3)))?;
        console.on_event(&Event::Eval(&eval(2, 0.2)))?;
        console.on_event(&Event::Eval(&eval(3, 0.25)))?;
        finish(&mut console, Outcome::Completed)?;
        let s = console.summary("7", 0.0);
        assert!(
            s.starts_with("run 7 completed in ")
                && s.contains(": --patience stopped it after epoch 3 of 10, 2 epochs after its best dev accuracy\n"),
            "{s}"
        );
        assert!(s.contains("final (epoch 3)"), "{s}");
        let mut whole = Console::new(3, true);
        whole.on_event(&Event::Eval(&eval(3, 0.25)))?;
        finish(&mut whole, Outcome::Completed)?;
        assert!(!whole.summary("8", 0.0).contains("patience"));
        Ok(())
    }

    /// An interrupted run's newest evaluation is not its final one, and a fresh run says nothing
    /// of earlier sessions.
    #[test]
    fn an_interrupted_run_names_its_last_evaluation() -> anyhow::Result<()> {
        let mut console = Console::new(3, true);
        console.on_event(&Event::Eval(&eval(1, 0.2)))?;
        finish(&mut console, Outcome::Interrupted)?;
        let s = console.summary("4", 0.0);
        assert!(
            s.contains("last evaluation (epoch 1)") && !s.contains("final"),
            "{s}"
        );
        assert!(!s.contains("sessions"), "{s}");
        Ok(())
    }
}
