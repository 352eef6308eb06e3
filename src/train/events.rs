//! What the training loop tells the world. The loop never draws or writes the lab itself:
//! observers (the lab recorder, the console) consume these events.

use std::path::Path;

use crate::train::checkpoint::Position;

#[derive(Clone, Debug, PartialEq)]
pub struct StepStats {
    pub iteration: u64,
    pub epoch: usize,
    /// `None` when the batch held no valid triplet and was skipped.
    pub loss: Option<f64>,
    /// The learning rate of this step (unused when the batch was skipped).
    pub lr: f64,
    pub active_fraction: f64,
    pub mean_ap: f64,
    pub mean_an: f64,
    pub images_per_sec: f64,
    pub skipped_batches: u64,
    pub step_secs: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EvalStats {
    pub iteration: u64,
    pub epoch: usize,
    pub train_acc: f64,
    pub dev_acc: f64,
    pub dev_acc_centroid: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// Every `--checkpoint-every` epochs, with optimiser state.
    Periodic,
    /// The weights at the best dev accuracy so far (no optimiser state); replaces the previous best.
    Best,
    /// At the end of training, with optimiser state.
    Final,
    /// On Ctrl-C or `--stop-after-epoch`, with optimiser state, to resume from.
    Interrupt,
    /// After a stretch of training with no checkpoint to resume from
    /// ([`crate::train::trainer::Control::resume_point_every`]), with optimiser state, so that
    /// a crash loses no more; the next checkpoint but a best replaces it.
    Auto,
}

impl CheckpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Periodic => "periodic",
            CheckpointKind::Best => "best",
            CheckpointKind::Final => "final",
            CheckpointKind::Interrupt => "interrupt",
            CheckpointKind::Auto => "auto",
        }
    }

    /// Whether a run can be resumed from a checkpoint of this kind.
    pub fn resumable(kind: &str) -> bool {
        matches!(kind, "periodic" | "final" | "interrupt" | "auto")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Interrupted,
}

/// Why a run stopped before its last epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C, a signal, or a sweep's or the dashboard's stop.
    Asked,
    /// `--time-limit`, this long, ran out.
    TimeLimit(std::time::Duration),
    /// `--stop-after-epoch`, after this epoch.
    AfterEpoch(usize),
    /// The step asked for (a mid-epoch interruption, reproduced).
    AtStep,
}

pub enum Event<'a> {
    Started {
        total_iterations: u64,
        iters_per_epoch: usize,
        start: Position,
        device: &'a str,
    },
    Step(&'a StepStats),
    Eval(&'a EvalStats),
    Checkpoint {
        iteration: u64,
        epoch: usize,
        kind: CheckpointKind,
        path: &'a Path,
        sha256: &'a str,
    },
    Finished {
        outcome: Outcome,
        /// Why it stopped, where it was interrupted.
        stopped: Option<Stop>,
        iteration: u64,
        epoch: usize,
    },
    /// Something that went wrong without stopping the training, for a person to read.
    Warning(&'a str),
}

pub trait Observer {
    fn on_event(&mut self, event: &Event) -> anyhow::Result<()>;
}
