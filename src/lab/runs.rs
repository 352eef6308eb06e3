//! Runs: what was trained, with which hyperparameters, on which code and machine, and how it went.

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{now, DatasetId, Lab, Machine, STALE_HEARTBEAT_SECS};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Interrupted,
    Crashed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 6] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Interrupted,
        RunStatus::Crashed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Crashed => "crashed",
        }
    }

    /// Whether a run in this state can be continued with `--resume`.
    pub fn is_resumable(self) -> bool {
        matches!(
            self,
            RunStatus::Interrupted | RunStatus::Crashed | RunStatus::Failed
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunStatus {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .with_context(|| format!("unknown run status '{s}'"))
    }
}

/// Every hyperparameter of a run, each stored in its own typed column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyperparams {
    pub model: String,
    pub batch_size: i64,
    pub embedding_dim: i64,
    pub lr: f64,
    /// Adam's L2 penalty.
    pub weight_decay: f64,
    /// `constant` or `cosine`.
    pub lr_schedule: String,
    pub warmup_epochs: i64,
    pub epochs: i64,
    pub margin: f64,
    pub image_size: i64,
    /// The central fraction of each image's side kept before resizing (1 = whole image).
    pub crop: f64,
    pub mining: String,
    pub sampler: String,
    /// Images per identity in a P×K batch (`sampler = "pk"`).
    pub pk_k: Option<i64>,
    pub normalize: bool,
    pub augment: bool,
    /// Each residual block's last BatchNorm weight started at zero (ResNets only).
    pub zero_init_residual: bool,
    /// The file the weights started from (`--init`), absolute; `None` for the seed's random
    /// draw. Absent from exports written before it existed: those runs started at random.
    #[serde(default)]
    pub init: Option<String>,
    /// The sha256 of the `--init` file.
    #[serde(default)]
    pub init_sha256: Option<String>,
    /// With `init`, the embedding layer kept the seed's draw even where the file's fit
    /// (`--fresh-embedding`). Absent from exports written before it existed: false.
    #[serde(default)]
    pub fresh_embedding: bool,
    /// The network normalised its input by ImageNet's per-channel mean and deviation
    /// (`--imagenet-norm`) instead of taking it in [-1, 1]. Absent from exports written before
    /// it existed: those runs took [-1, 1].
    #[serde(default)]
    pub imagenet_norm: bool,
    /// AlexNet's classifier dropout probability; `None` for networks without dropout.
    pub dropout: Option<f64>,
    /// cuBLAS multiplied f32 matrices in TF32 on the tensor cores (`--tf32`, CUDA only).
    /// Absent from exports written before it existed: those runs multiplied in strict f32.
    #[serde(default)]
    pub tf32: bool,
    pub eval_every: i64,
    /// Epochs without a better dev accuracy after which the run stopped early (`--patience`);
    /// `None` trained every epoch. Absent from exports written before it existed: none.
    #[serde(default)]
    pub patience: Option<i64>,
    pub checkpoint_every: Option<i64>,
    pub seed: i64,
}

/// The code a run was produced by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeVersion {
    pub git_commit: String,
    pub git_dirty: bool,
    /// What the uncommitted changes of a dirty tree were: the git blob id of its diff against
    /// the commit. None for a clean tree, and for code recorded before the lab kept it.
    #[serde(default)]
    pub git_diff: Option<String>,
    pub crate_version: String,
}

impl CodeVersion {
    /// The version of this binary.
    pub fn current() -> CodeVersion {
        CodeVersion {
            git_commit: crate::version::GIT_COMMIT.to_string(),
            git_dirty: crate::version::GIT_DIRTY,
            git_diff: Some(crate::version::GIT_DIFF.to_string()).filter(|d| !d.is_empty()),
            crate_version: crate::version::CRATE_VERSION.to_string(),
        }
    }

    /// The version a row of runs, resumes or evaluations records in its `git_commit`,
    /// `git_dirty`, `git_diff` and `crate_version` columns.
    pub(super) fn from_row(row: &Row) -> rusqlite::Result<CodeVersion> {
        Ok(CodeVersion {
            git_commit: row.get("git_commit")?,
            git_dirty: row.get("git_dirty")?,
            git_diff: row.get("git_diff")?,
            crate_version: row.get("crate_version")?,
        })
    }
}

/// What is known about a run when it is registered.
#[derive(Clone, Debug)]
pub struct NewRun {
    pub name: String,
    pub hyper: Hyperparams,
    pub dataset_id: Option<DatasetId>,
    pub device: String,
    pub gpu_name: Option<String>,
    /// The full resolved configuration, as the trainer saw it.
    pub config_json: String,
    pub code: CodeVersion,
    pub hostname: String,
    pub machine: Machine,
    pub command_line: String,
    pub log_path: Option<String>,
    pub notes: String,
    pub tags: Vec<String>,
    /// The run whose settings it starts with (`run --like`).
    pub like_run: Option<RunId>,
}

/// A recorded run, as read back from the lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub name: String,
    pub hyper: Hyperparams,
    pub dataset_id: Option<DatasetId>,
    /// The run of this lab whose checkpoint its `--init` file was, as found when it started.
    #[serde(default)]
    pub init_run: Option<RunId>,
    /// The run whose settings it started with (`run --like`).
    #[serde(default)]
    pub like_run: Option<RunId>,
    pub device: String,
    pub gpu_name: Option<String>,
    pub config_json: String,
    pub status: RunStatus,
    pub error: Option<String>,
    pub created_at: f64,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub heartbeat_at: Option<f64>,
    /// When the current (or last) span of training began, if the run was resumed; the time
    /// between an interruption and its resume is not training.
    pub resumed_at: Option<f64>,
    /// Seconds trained in the spans before `resumed_at`.
    pub prior_seconds: f64,
    pub code: CodeVersion,
    pub hostname: String,
    pub machine: Machine,
    pub command_line: String,
    pub pid: Option<i64>,
    pub log_path: Option<String>,
    pub notes: String,
    pub tags: Vec<String>,
    pub iters_per_epoch: Option<i64>,
    pub last_iteration: i64,
    pub last_epoch: i64,
    /// The mean loss of the trained steps of its latest epoch (so far, while it trains), each
    /// step counted once: not the last batch's, an epoch's remainder, often 0 or a spike
    /// ([`super::metrics::epoch_losses`]).
    pub last_loss: Option<f64>,
    /// Training speed: the median of the last [`super::metrics::RECENT_SPEED_STEPS`] steps while it
    /// runs (and after a crash, or a resume), of all its steps once it has ended.
    pub images_per_sec: Option<f64>,
    /// The dev accuracy of the weights in the run's `best` checkpoint, and the epoch they
    /// were evaluated at (see [`Lab::rewind`] for a resumed run).
    pub best_dev_acc: Option<f64>,
    pub best_dev_epoch: Option<i64>,
    pub final_train_acc: Option<f64>,
    pub final_dev_acc: Option<f64>,
    /// Test-split accuracy (the seed's gallery) of the best checkpoint's
    /// [`super::table_evaluation`], as the results table shows it; None until `eval` measures it.
    #[serde(default)]
    pub test_acc: Option<f64>,
    /// LFW View 2 10-fold verification accuracy, mean and std, likewise.
    #[serde(default)]
    pub lfw_acc: Option<f64>,
    #[serde(default)]
    pub lfw_acc_std: Option<f64>,
    /// Whether that LFW evaluation read grayscale images only (a grayscale copy of LFW, where
    /// the official archive's are in colour); false where it read colour ones or did not say.
    #[serde(default)]
    pub lfw_grayscale: bool,
    /// What its own host saw of the process recorded as training it ([`Lab::look`]); never
    /// stored, unknown as read by [`Lab::run`] and [`Lab::list_runs`].
    #[serde(skip)]
    pub process: super::Process,
}

/// The latest state of a run, written with each batch of metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSummaryUpdate {
    pub last_iteration: Option<i64>,
    pub last_epoch: Option<i64>,
    pub last_loss: Option<f64>,
    pub images_per_sec: Option<f64>,
    /// A new evaluation: (train accuracy, dev accuracy, epoch). The best dev accuracy is kept.
    pub evaluation: Option<(f64, f64, i64)>,
}

impl Run {
    /// Whole epochs trained: all of them for a completed run (those before its early stop, for
    /// one `--patience` ended: [`Run::stopped_early`]); else its steps over the steps in an
    /// epoch, the epoch in progress not counted (a run that failed at step 2 of its one epoch
    /// has done 0, not 1 of 1), or the epoch of its last step where it recorded no epoch
    /// length.
    pub fn epochs_done(&self) -> i64 {
        if self.status == RunStatus::Completed {
            return self.stopped_early().unwrap_or(self.hyper.epochs);
        }
        match self.iters_per_epoch {
            Some(n) if n > 0 => self.last_iteration / n,
            _ => self.last_epoch,
        }
    }

    /// The epoch a completed run stopped after where `--patience` ended it before its last:
    /// the epoch of its last step.
    pub fn stopped_early(&self) -> Option<i64> {
        let early = self.status == RunStatus::Completed
            && self.hyper.patience.is_some()
            && self.last_epoch < self.hyper.epochs;
        early.then_some(self.last_epoch)
    }

    /// `100` for a completed run of 100 epochs, `43/100 (stopped early)` for one that
    /// `--patience` stopped after epoch 43, else `37/100 (crashed)`: the epochs done, of those
    /// planned, and `status` (the recorded one, or what [`Run::effective_status`] makes of it).
    pub fn epochs_label(&self, status: RunStatus) -> String {
        let planned = self.hyper.epochs;
        match (status, self.stopped_early()) {
            (RunStatus::Completed, Some(e)) => format!("{e}/{planned} (stopped early)"),
            (RunStatus::Completed, None) => planned.to_string(),
            (status, _) => format!("{}/{planned} ({status})", self.epochs_done()),
        }
    }

    /// The share of its planned training done, counted in steps where the epoch length is
    /// known.
    pub fn progress(&self) -> f64 {
        let planned = self.hyper.epochs as f64;
        if self.status == RunStatus::Completed {
            return 1.0;
        }
        if planned <= 0.0 {
            return 0.0;
        }
        match self.iters_per_epoch {
            Some(n) if n > 0 => self.last_iteration as f64 / (n as f64 * planned),
            _ => self.last_epoch as f64 / planned,
        }
    }

    /// The status to show: a "running" run whose process was found gone, or, where its process
    /// was not seen ([`Run::process`]), whose heartbeat went stale, has crashed.
    pub fn effective_status(&self, now: f64) -> RunStatus {
        match (self.status, self.heartbeat_at) {
            (RunStatus::Running, _) if self.process == super::Process::Ended => RunStatus::Crashed,
            (RunStatus::Running, _) if self.process == super::Process::Alive => RunStatus::Running,
            (RunStatus::Running, Some(hb)) if now - hb > STALE_HEARTBEAT_SECS => RunStatus::Crashed,
            (RunStatus::Running, None) => match self.started_at {
                Some(t) if now - t > STALE_HEARTBEAT_SECS => RunStatus::Crashed,
                _ => RunStatus::Running,
            },
            (s, _) => s,
        }
    }

    /// Whether a trainer may still be writing the run: it is running as
    /// [`Run::effective_status`] sees it, or it is queued and its trainer may still be loading:
    /// its process is seen there ([`Run::process`]), or, where it was not seen, the run was
    /// registered less than [`STALE_HEARTBEAT_SECS`] ago. A run queued longer, or whose
    /// process was seen gone, was left so by a trainer killed before its first step.
    pub fn is_live(&self, now: f64) -> bool {
        match self.effective_status(now) {
            RunStatus::Running => true,
            RunStatus::Queued => match self.process {
                super::Process::Alive => true,
                super::Process::Ended => false,
                super::Process::Unknown => now - self.created_at < STALE_HEARTBEAT_SECS,
            },
            _ => false,
        }
    }

    /// Seconds spent training: from start to finish (or to the last heartbeat, or to `now`
    /// while running), less the pauses between an interruption and its resume.
    pub fn duration(&self, now: f64) -> Option<f64> {
        match self.effective_status(now) {
            RunStatus::Running => self.trained_until(now),
            _ => self.recorded_duration(),
        }
    }

    /// [`Run::duration`] as recorded: to the finish or the last heartbeat, never to "now", so
    /// that a report written twice says the same.
    pub fn recorded_duration(&self) -> Option<f64> {
        self.trained_until(self.finished_at.or(self.heartbeat_at).or(self.started_at)?)
    }

    fn trained_until(&self, end: f64) -> Option<f64> {
        let span_start = self.resumed_at.or(self.started_at)?;
        Some(self.prior_seconds + (end - span_start).max(0.0))
    }

    pub(super) fn from_row(row: &Row) -> rusqlite::Result<Run> {
        let status: String = row.get("status")?;
        let status = status.parse::<RunStatus>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })?;
        Ok(Run {
            id: RunId(row.get("id")?),
            name: row.get("name")?,
            hyper: Hyperparams {
                model: row.get("model")?,
                batch_size: row.get("batch_size")?,
                embedding_dim: row.get("embedding_dim")?,
                lr: row.get("lr")?,
                weight_decay: row.get("weight_decay")?,
                lr_schedule: row.get("lr_schedule")?,
                warmup_epochs: row.get("warmup_epochs")?,
                epochs: row.get("epochs")?,
                margin: row.get("margin")?,
                image_size: row.get("image_size")?,
                crop: row.get("crop")?,
                mining: row.get("mining")?,
                sampler: row.get("sampler")?,
                pk_k: row.get("pk_k")?,
                normalize: row.get("normalize")?,
                augment: row.get("augment")?,
                zero_init_residual: row.get("zero_init_residual")?,
                init: row.get("init")?,
                init_sha256: row.get("init_sha256")?,
                imagenet_norm: row.get("imagenet_norm")?,
                fresh_embedding: row.get("fresh_embedding")?,
                dropout: row.get("dropout")?,
                tf32: row.get("tf32")?,
                eval_every: row.get("eval_every")?,
                patience: row.get("patience")?,
                checkpoint_every: row.get("checkpoint_every")?,
                seed: row.get("seed")?,
            },
            dataset_id: row.get::<_, Option<i64>>("dataset_id")?.map(DatasetId),
            init_run: row.get::<_, Option<i64>>("init_run_id")?.map(RunId),
            like_run: row.get::<_, Option<i64>>("like_run_id")?.map(RunId),
            device: row.get("device")?,
            gpu_name: row.get("gpu_name")?,
            config_json: row.get("config_json")?,
            status,
            error: row.get("error")?,
            created_at: row.get("created_at")?,
            started_at: row.get("started_at")?,
            finished_at: row.get("finished_at")?,
            heartbeat_at: row.get("heartbeat_at")?,
            resumed_at: row.get("resumed_at")?,
            prior_seconds: row.get("prior_seconds")?,
            code: CodeVersion::from_row(row)?,
            hostname: row.get("hostname")?,
            machine: Machine::from_row(row)?,
            command_line: row.get("command_line")?,
            pid: row.get("pid")?,
            log_path: row.get("log_path")?,
            notes: row.get("notes")?,
            tags: Vec::new(),
            iters_per_epoch: row.get("iters_per_epoch")?,
            last_iteration: row.get("last_iteration")?,
            last_epoch: row.get("last_epoch")?,
            last_loss: row.get("last_loss")?,
            images_per_sec: row.get("images_per_sec")?,
            best_dev_acc: row.get("best_dev_acc")?,
            best_dev_epoch: row.get("best_dev_epoch")?,
            final_train_acc: row.get("final_train_acc")?,
            final_dev_acc: row.get("final_dev_acc")?,
            // From the evaluations ([`Lab::fill_headlines`]).
            test_acc: None,
            lfw_acc: None,
            lfw_acc_std: None,
            lfw_grayscale: false,
            process: super::Process::Unknown,
        })
    }
}

impl Lab {
    pub(crate) fn write_tx(&self) -> rusqlite::Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
    }

    /// Registers a run as queued, under an id no run of this lab ever had ([`next_run_id`]), by
    /// this process: its trainer, whose pid tells, while it loads, whether it is still there.
    pub fn create_run(&self, run: &NewRun) -> Result<RunId> {
        let tx = self.write_tx()?;
        let h = &run.hyper;
        let id = next_run_id(&tx)?;
        tx.execute(
            "INSERT INTO runs (id, name, model, dataset_id, batch_size, embedding_dim, lr, epochs, margin,
                image_size, mining, sampler, pk_k, normalize, augment, eval_every, checkpoint_every,
                seed, device, config_json, status, created_at, git_commit, git_dirty, crate_version,
                hostname, gpu_name, command_line, log_path, notes, weight_decay, lr_schedule,
                warmup_epochs, crop, zero_init_residual, cpu_model, cpu_threads, cpu_simd, cpu_cache,
                os, dropout, tf32, init, init_sha256, imagenet_norm,
                fresh_embedding, like_run_id, git_diff, pid, patience)
             VALUES (?47, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, 'queued', ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31,
                ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?48, ?49)",
            params![
                run.name,
                h.model,
                run.dataset_id.map(|d| d.0),
                h.batch_size,
                h.embedding_dim,
                h.lr,
                h.epochs,
                h.margin,
                h.image_size,
                h.mining,
                h.sampler,
                h.pk_k,
                h.normalize,
                h.augment,
                h.eval_every,
                h.checkpoint_every,
                h.seed,
                run.device,
                run.config_json,
                now(),
                run.code.git_commit,
                run.code.git_dirty,
                run.code.crate_version,
                run.hostname,
                run.gpu_name,
                run.command_line,
                run.log_path,
                run.notes,
                h.weight_decay,
                h.lr_schedule,
                h.warmup_epochs,
                h.crop,
                h.zero_init_residual,
                run.machine.cpu_model,
                run.machine.cpu_threads,
                run.machine.cpu_simd,
                run.machine.cpu_cache,
                run.machine.os,
                h.dropout,
                h.tf32,
                h.init,
                h.init_sha256,
                h.imagenet_norm,
                h.fresh_embedding,
                run.like_run.map(|r| r.0),
                run.code.git_diff,
                id,
                std::process::id(),
                h.patience,
            ],
        )?;
        let id = RunId(id);
        // Where its weights came from, while the checkpoint's row is there to say.
        if let Some(sha) = &h.init_sha256 {
            let path = h
                .init
                .as_deref()
                .map(|p| self.relative(std::path::Path::new(p)));
            let parent = super::checkpoints::run_with_sha256(&tx, sha, path.as_deref())?;
            tx.execute(
                "UPDATE runs SET init_run_id = ?2 WHERE id = ?1",
                params![id.0, parent],
            )?;
        }
        let at = now();
        if !run.notes.is_empty() {
            tx.execute(
                "UPDATE runs SET notes_at = ?2 WHERE id = ?1",
                params![id.0, at],
            )?;
        }
        for tag in &run.tags {
            tx.execute(
                "INSERT OR IGNORE INTO run_tags (run_id, tag, added_at) VALUES (?1, ?2, ?3)",
                params![id.0, tag, at],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Marks a run as running in process `pid` (again, when it is resumed), and returns the
    /// heartbeat it had before: how far the lab knew it had gone, which a resume records.
    /// Refused while another process is running it (its heartbeat is fresh and its process not
    /// seen gone, or its process is seen there), so two resumes cannot race.
    pub fn mark_running(&self, id: RunId, iters_per_epoch: i64, pid: u32) -> Result<Option<f64>> {
        // Looked at before the write reads the run (see [`super::Processes`]).
        let processes = self.look()?;
        let ended = processes.pid_seen(id, super::Process::Ended);
        let alive = processes.pid_seen(id, super::Process::Alive);
        let t = now();
        let tx = self.write_tx()?;
        let before: Option<f64> = tx
            .query_row("SELECT heartbeat_at FROM runs WHERE id = ?1", [id.0], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        let n = tx.execute(
            &format!("UPDATE runs SET status = 'running', started_at = ifnull(started_at, ?2), heartbeat_at = ?2,
                 finished_at = NULL, error = NULL, iters_per_epoch = ?3, pid = ?4,
                 -- A resume closes the span that ended at the finish (or the last heartbeat).
                 prior_seconds = prior_seconds + CASE WHEN started_at IS NULL THEN 0 ELSE max(0,
                     coalesce(finished_at, heartbeat_at, resumed_at, started_at)
                     - coalesce(resumed_at, started_at)) END,
                 resumed_at = CASE WHEN started_at IS NULL THEN NULL ELSE ?2 END
             WHERE id = ?1 AND NOT (status = 'running'
                 AND (ifnull(heartbeat_at, 0) > ?2 - ?5 OR (?8 IS NOT NULL AND {on} = ?6 AND pid = ?8))
                 AND NOT (?7 IS NOT NULL AND {on} = ?6 AND pid = ?7))",
                on = super::liveness::TRAINS_ON
            ),
            params![
                id.0,
                t,
                iters_per_epoch,
                pid,
                STALE_HEARTBEAT_SECS,
                super::this_host(),
                ended,
                alive
            ],
        )?;
        tx.commit()?;
        if n == 0 && self.run(id)?.is_some() {
            // Said where the heartbeat alone would have let the resume through.
            let stale = match (alive, before) {
                (Some(pid), Some(beat)) if t - beat > STALE_HEARTBEAT_SECS => {
                    format!(" (process {pid} of this host, its heartbeat stale: paused, or busy)")
                }
                _ => String::new(),
            };
            bail!("run {id} is already running in another process{stale}: stop it first (Ctrl-C there, or X in the dashboard)");
        }
        ensure_one(n, id)?;
        Ok(before)
    }

    /// Ends a run with a final status and, for failures, the error message. Its images/s
    /// becomes the median of all its steps' (while it trains, that of its last
    /// [`super::metrics::RECENT_SPEED_STEPS`]).
    pub fn finish_run(&self, id: RunId, status: RunStatus, error: Option<&str>) -> Result<()> {
        let n = self.finish(id, status, error, false)?;
        ensure_one(n, id)
    }

    /// Marks a run that has not ended interrupted: one still running, or one recorded but not
    /// yet at its first step (queued); false when it had ended meanwhile (a quit at once that
    /// came as its trainer finished it leaves it as the trainer recorded).
    pub fn interrupt_unless_ended(&self, id: RunId) -> Result<bool> {
        Ok(self.finish(id, RunStatus::Interrupted, None, true)? == 1)
    }

    /// Ends run `id` with `status` (only if it has not ended, with `unless_ended`), and returns
    /// how many runs that changed.
    fn finish(
        &self,
        id: RunId,
        status: RunStatus,
        error: Option<&str>,
        unless_ended: bool,
    ) -> Result<usize> {
        let t = now();
        let tx = self.write_tx()?;
        let speed = super::metrics::median_speed(&tx, id.0, None)?;
        let n = tx.execute(
            "UPDATE runs SET status = ?2, error = ?3, finished_at = ?4, heartbeat_at = ?4,
                images_per_sec = ifnull(?5, images_per_sec)
             WHERE id = ?1 AND (NOT ?6 OR status IN ('queued', 'running'))",
            params![id.0, status.as_str(), error, t, speed, unless_ended],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Says the run's process is alive.
    pub fn heartbeat(&self, id: RunId) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1",
            params![id.0, now()],
        )?;
        ensure_one(n, id)
    }

    /// Records where the run's output now goes (a resumed run writes a log of its own).
    pub fn set_log_path(&self, id: RunId, path: &str) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE runs SET log_path = ?2 WHERE id = ?1",
            params![id.0, path],
        )?;
        ensure_one(n, id)
    }

    pub fn run(&self, id: RunId) -> Result<Option<Run>> {
        let run = self
            .conn
            .query_row("SELECT * FROM runs WHERE id = ?1", [id.0], Run::from_row)
            .optional()?;
        match run {
            Some(mut r) => {
                r.tags = self.tags(id)?;
                self.fill_headlines(std::slice::from_mut(&mut r), Some(id))?;
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// Finds a run by id or by exact name. A name that several runs share is refused with
    /// their ids: picking one of them silently would evaluate or resume the wrong run.
    pub fn find_run(&self, key: &str) -> Result<Run> {
        let by_id = match key.parse::<i64>() {
            Ok(id) => self.run(RunId(id))?,
            Err(_) => None,
        };
        if let Some(r) = by_id {
            return Ok(r);
        }
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id FROM runs WHERE name = ?1 ORDER BY id")?;
            let rows = stmt.query_map([key], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        match ids.as_slice() {
            [id] => self
                .run(RunId(*id))?
                .context("run vanished while reading it"),
            [] => {
                let listed = format!(
                    "`facenet-lab runs{}` lists the runs with their ids",
                    super::db_flag(&self.path)
                );
                // An id that was a run's: said as `lab delete` says it, not as one never seen.
                let gone = match key.parse::<i64>() {
                    Ok(id) => self.tombstone(RunId(id))?,
                    Err(_) => None,
                };
                match gone {
                    Some((name, at)) => bail!(
                        "run {key} ({name}) was deleted from lab '{}' on {} UTC: {listed}",
                        self.path.display(),
                        crate::format::timestamp(at)
                    ),
                    None => bail!("no run '{key}' in lab '{}': {listed}", self.path.display()),
                }
            }
            many => bail!(
                "{} runs are named '{key}' (runs {}): name the one you mean by its id",
                many.len(),
                many.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// All runs, oldest first, with their tags.
    pub fn list_runs(&self) -> Result<Vec<Run>> {
        let mut stmt = self.conn.prepare_cached("SELECT * FROM runs ORDER BY id")?;
        let mut runs = stmt
            .query_map([], Run::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut tags = self
            .conn
            .prepare_cached("SELECT run_id, tag FROM run_tags ORDER BY run_id, tag")?;
        let pairs = tags
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (run_id, tag) in pairs {
            if let Ok(i) = runs.binary_search_by_key(&run_id, |r| r.id.0) {
                runs[i].tags.push(tag);
            }
        }
        self.fill_headlines(&mut runs, None)?;
        Ok(runs)
    }

    pub(super) fn tags(&self, id: RunId) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT tag FROM run_tags WHERE run_id = ?1 ORDER BY tag")?;
        let tags = stmt
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(tags)
    }
}

/// The id the next run registered takes: past every run's and every deleted run's
/// ([`Lab::delete_runs`]). SQLite alone would give the newest run's id again once that run is
/// deleted, and an id written down (a note, a figure's name, the README) would come to name
/// another run. Read in the transaction that inserts the run.
pub(super) fn next_run_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT max(ifnull((SELECT max(id) FROM runs), 0),
                    ifnull((SELECT max(id) FROM deleted_runs), 0)) + 1",
        [],
        |r| r.get(0),
    )
}

pub(super) fn ensure_one(changed: usize, id: RunId) -> Result<()> {
    if changed == 0 {
        bail!("no run with id {id} in this lab");
    }
    Ok(())
}

impl Lab {
    /// Takes a run back to `iteration`, its resume point, in one transaction: the metrics and
    /// checkpoints recorded after it are dropped and the summary columns recomputed from what
    /// remains, so no reader sees the one without the other. Returns the recorded paths of the
    /// checkpoint files no row names any more.
    pub fn rewind(&self, run: RunId, iteration: i64) -> Result<Vec<String>> {
        self.rewind_recording(run, iteration, None)
    }

    /// [`Lab::rewind`] for a resume, recorded with it in the same transaction: a resume that
    /// could not rewind leaves no record.
    pub fn rewind_for_resume(&self, run: RunId, resume: &super::Resume) -> Result<Vec<String>> {
        self.rewind_recording(run, resume.from_iteration, Some(resume))
    }

    fn rewind_recording(
        &self,
        run: RunId,
        iteration: i64,
        resume: Option<&super::Resume>,
    ) -> Result<Vec<String>> {
        let tx = self.write_tx()?;
        super::metrics::truncate_after(&tx, run, iteration)?;
        let orphans = super::checkpoints::truncate_after(&tx, run, iteration)?;
        rebuild_summary(&tx, run)?;
        if let Some(r) = resume {
            super::resumes::insert(&tx, run, r)?;
            if iteration == 0 {
                // Started over: no step of the sessions before is kept, so neither is their time
                // (the resume keeps how far they had gone).
                tx.execute("UPDATE runs SET prior_seconds = 0 WHERE id = ?1", [run.0])?;
            }
        }
        tx.commit()?;
        Ok(orphans)
    }
}

/// Recomputes a run's summary columns from its remaining metrics and checkpoints (after a
/// resume dropped the steps past its checkpoint).
///
/// The best dev accuracy and its epoch are those of the remaining `best` checkpoint, not the
/// highest remaining `dev_acc`: when the run had found a better model after the resume point,
/// that model replaced the best checkpoint (its row and its file) and the replay drops its row,
/// so the weights of the earlier evaluations are gone. Then there is no best until the replay's
/// next evaluation writes one, whatever its accuracy.
fn rebuild_summary(conn: &Connection, id: RunId) -> Result<()> {
    let speed = super::metrics::median_speed(conn, id.0, Some(super::RECENT_SPEED_STEPS))?;
    let loss = super::metrics::epoch_loss(conn, id.0)?;
    let n = conn.execute(
        "UPDATE runs SET
            images_per_sec = ?2,
            last_iteration = ifnull((SELECT max(iteration) FROM metrics WHERE run_id = ?1), 0),
            last_epoch = ifnull((SELECT max(epoch) FROM metrics WHERE run_id = ?1), 0),
            last_loss = ?3,
            (best_dev_acc, best_dev_epoch) = (
                SELECT m.value, m.epoch FROM checkpoints c JOIN metrics m
                    ON m.run_id = c.run_id AND m.iteration = c.iteration AND m.name = 'dev_acc'
                WHERE c.run_id = ?1 AND c.kind = 'best'
                ORDER BY c.iteration DESC, m.id DESC LIMIT 1),
            final_train_acc = (SELECT value FROM metrics WHERE run_id = ?1 AND name = 'train_acc'
                               ORDER BY iteration DESC LIMIT 1),
            final_dev_acc = (SELECT value FROM metrics WHERE run_id = ?1 AND name = 'dev_acc'
                             ORDER BY iteration DESC LIMIT 1)
         WHERE id = ?1",
        params![id.0, speed, loss],
    )?;
    ensure_one(n, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{record_speeds, run, sample_run};

    /// A dirty build names its changes, and a clean one has none to name: the build script's
    /// two answers agree, and a run records them as the binary has them.
    #[test]
    fn the_code_version_names_a_dirty_tree_s_changes() -> Result<()> {
        let code = CodeVersion::current();
        // (A checkout without a commit has nothing to diff against.)
        let expected = code.git_dirty && !code.git_commit.is_empty();
        assert_eq!(code.git_diff.is_some(), expected, "{code:?}");
        if let Some(diff) = &code.git_diff {
            assert!(
                diff.len() >= 40 && diff.chars().all(|c| c.is_ascii_hexdigit()),
                "a git object id: {diff}"
            );
        }
        let lab = Lab::open_in_memory()?;
        let mut new = sample_run("r");
        new.code.git_dirty = true;
        new.code.git_diff = Some("3f2a9c0d41e7".into());
        let id = lab.create_run(&new)?;
        assert_eq!(lab.run(id)?.context("run")?.code, new.code);
        Ok(())
    }

    /// A run that failed at step 2 of its one epoch has done none of it; one interrupted in
    /// its fifth epoch has done four.
    #[test]
    fn epochs_done_count_whole_epochs_of_steps() {
        let mut r = run(1, "r", "resnet18");
        r.status = RunStatus::Failed;
        r.hyper.epochs = 1;
        r.iters_per_epoch = Some(30);
        (r.last_iteration, r.last_epoch) = (2, 1);
        assert_eq!(r.epochs_done(), 0);
        assert!((r.progress() - 2.0 / 30.0).abs() < 1e-12);
        r.hyper.epochs = 30;
        (r.last_iteration, r.last_epoch) = (4 * 30 + 7, 5);
        assert_eq!(r.epochs_done(), 4);
        (r.last_iteration, r.last_epoch) = (30 * 30, 30);
        assert_eq!((r.epochs_done(), r.progress()), (30, 1.0));
        // No epoch length recorded: the epoch of the last step.
        r.iters_per_epoch = None;
        (r.last_iteration, r.last_epoch) = (127, 5);
        assert_eq!(r.epochs_done(), 5);
        assert!((r.progress() - 5.0 / 30.0).abs() < 1e-12);
        // A completed run did all its epochs, whatever its steps say.
        r.status = RunStatus::Completed;
        assert_eq!((r.epochs_done(), r.progress()), (30, 1.0));
    }

    #[test]
    fn a_run_round_trips_with_its_lifecycle() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let new = sample_run("r18");
        let id = lab.create_run(&new)?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(r.status, RunStatus::Queued);
        assert_eq!(r.hyper, new.hyper);
        assert_eq!(
            r.tags,
            vec!["baseline".to_string(), "seed-table".to_string()]
        );
        assert_eq!(r.code, CodeVersion::current());
        assert_eq!((&r.hostname, &r.machine), (&new.hostname, &new.machine));
        assert!(r.machine.cpu_model.is_some());

        lab.mark_running(id, 19, 4242)?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(r.status, RunStatus::Running);
        assert_eq!((r.iters_per_epoch, r.pid), (Some(19), Some(4242)));
        let started = r.started_at.context("started")?;

        lab.finish_run(id, RunStatus::Failed, Some("out of memory"))?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(
            (r.status, r.error.as_deref()),
            (RunStatus::Failed, Some("out of memory"))
        );
        assert!(r.finished_at.context("finished")? >= started);

        // Resuming keeps the original start time and clears the error.
        lab.mark_running(id, 19, 4343)?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(
            (r.started_at, r.error, r.finished_at),
            (Some(started), None, None)
        );
        Ok(())
    }

    #[test]
    fn a_live_run_cannot_be_marked_running_twice_but_a_crashed_one_can() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        lab.mark_running(id, 10, 1)?;
        let err = lab.mark_running(id, 10, 2).unwrap_err().to_string();
        assert!(err.contains("already running"), "{err}");
        // Its process died long ago: the heartbeat is stale, so it may be resumed.
        lab.conn().execute(
            "UPDATE runs SET heartbeat_at = heartbeat_at - 3600 WHERE id = ?1",
            [id.0],
        )?;
        lab.mark_running(id, 10, 3)?;
        assert_eq!(lab.run(id)?.context("run")?.pid, Some(3));
        Ok(())
    }

    /// A quit at once marks a running run interrupted, but not one its trainer completed as
    /// the quit came.
    #[test]
    fn only_a_run_that_has_not_ended_is_interrupted_by_a_quit() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let (queued, running, done) = (
            lab.create_run(&sample_run("queued"))?,
            lab.create_run(&sample_run("running"))?,
            lab.create_run(&sample_run("done"))?,
        );
        for id in [running, done] {
            lab.mark_running(id, 10, 1)?;
        }
        lab.finish_run(done, RunStatus::Completed, None)?;
        assert!(lab.interrupt_unless_ended(queued)?);
        assert!(lab.interrupt_unless_ended(running)?);
        assert!(!lab.interrupt_unless_ended(done)?);
        let status = |id| -> Result<RunStatus> { Ok(lab.run(id)?.context("run")?.status) };
        assert_eq!(
            (status(queued)?, status(running)?, status(done)?),
            (
                RunStatus::Interrupted,
                RunStatus::Interrupted,
                RunStatus::Completed
            )
        );
        Ok(())
    }

    #[test]
    fn a_resumed_run_counts_the_time_it_trained_not_the_pause() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let set = |sql: &str| lab.conn().execute(sql, [id.0]);
        lab.mark_running(id, 10, 1)?;
        // 100 s of training, interrupted an hour ago.
        set(
            "UPDATE runs SET started_at = 1000, heartbeat_at = 1100, finished_at = 1100,
                 status = 'interrupted' WHERE id = ?1",
        )?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(
            (r.recorded_duration(), r.duration(5000.0)),
            (Some(100.0), Some(100.0))
        );

        lab.mark_running(id, 10, 2)?;
        let r = lab.run(id)?.context("run")?;
        let resumed = r.resumed_at.context("resumed_at")?;
        assert_eq!((r.started_at, r.prior_seconds), (Some(1000.0), 100.0));
        assert_eq!(
            r.duration(resumed + 30.0),
            Some(130.0),
            "live: 100 s before, 30 s since"
        );

        // 50 s more, then it dies without finishing: the second span ends at its heartbeat...
        set("UPDATE runs SET heartbeat_at = resumed_at + 50 WHERE id = ?1")?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(r.duration(resumed + 1e6), Some(150.0), "crashed");
        // ...and a second resume adds it to the spans before.
        set(
            "UPDATE runs SET heartbeat_at = heartbeat_at - 3600, resumed_at = resumed_at - 3600
             WHERE id = ?1",
        )?;
        let before = crate::lab::now();
        lab.mark_running(id, 10, 3)?;
        lab.finish_run(id, RunStatus::Completed, None)?;
        let took = crate::lab::now() - before;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(r.prior_seconds, 150.0);
        // The spans before, and this one: as long as the two calls took at most.
        let d = r.recorded_duration().context("duration")?;
        assert!((150.0..=150.0 + took + 1e-3).contains(&d), "{d}, {took}");
        Ok(())
    }

    /// A resume that starts over from step 0 keeps nothing of the sessions before, so their
    /// time is not the run's either; one from a checkpoint counts the sessions before it.
    #[test]
    fn a_run_started_over_counts_only_the_time_since() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let resume_at = |id: RunId, from_iteration: i64| -> Result<f64> {
            lab.conn().execute(
                "UPDATE runs SET started_at = 1000, heartbeat_at = 1100, status = 'interrupted'
                 WHERE id = ?1",
                [id.0],
            )?;
            lab.mark_running(id, 10, 2)?;
            let resume = crate::lab::fixtures::resume(1200.0, from_iteration, "here");
            lab.rewind_for_resume(id, &resume)?;
            Ok(lab.run(id)?.context("run")?.prior_seconds)
        };
        let over = lab.create_run(&sample_run("over"))?;
        assert_eq!(resume_at(over, 0)?, 0.0, "started over");
        let on = lab.create_run(&sample_run("on"))?;
        assert_eq!(resume_at(on, 5)?, 100.0, "from a checkpoint");
        Ok(())
    }

    #[test]
    fn an_ended_run_reports_its_median_step_speed_a_live_one_its_recent_steps() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        lab.mark_running(id, 10, 1)?;
        // 30 steps at 70 images/s, then 25 sharing the CPU with a build at 16.
        let mut speeds = vec![70.0; 30];
        speeds.extend([16.0; 25]);
        record_speeds(&lab, id, &speeds)?;
        let speed =
            |lab: &Lab| -> Result<Option<f64>> { Ok(lab.run(id)?.context("run")?.images_per_sec) };
        assert_eq!(speed(&lab)?, Some(16.0));
        // A resume keeps the median of the 25 steps up to its checkpoint.
        lab.rewind(id, 50)?;
        assert_eq!(speed(&lab)?, Some(16.0), "steps 26-50: 5 at 70, 20 at 16");
        lab.rewind(id, 40)?;
        assert_eq!(speed(&lab)?, Some(70.0), "steps 16-40: 15 at 70, 10 at 16");
        lab.finish_run(id, RunStatus::Interrupted, None)?;
        assert_eq!(speed(&lab)?, Some(70.0), "all 40 steps: 30 at 70");

        // A run that never stepped keeps what it had (nothing).
        let empty = lab.create_run(&sample_run("empty"))?;
        lab.finish_run(empty, RunStatus::Failed, Some("no data"))?;
        assert_eq!(lab.run(empty)?.context("run")?.images_per_sec, None);
        Ok(())
    }

    #[test]
    fn a_stale_heartbeat_reads_as_crashed() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        lab.mark_running(id, 10, 1)?;
        let r = lab.run(id)?.context("run")?;
        let hb = r.heartbeat_at.context("hb")?;
        assert_eq!(r.effective_status(hb + 1.0), RunStatus::Running);
        assert_eq!(
            r.effective_status(hb + STALE_HEARTBEAT_SECS + 1.0),
            RunStatus::Crashed
        );
        lab.finish_run(id, RunStatus::Completed, None)?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(r.effective_status(hb + 1e6), RunStatus::Completed);
        Ok(())
    }

    #[test]
    fn find_by_id_or_name_and_edit_notes_and_tags() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let a = lab.create_run(&sample_run("alpha"))?;
        let b = lab.create_run(&sample_run("beta"))?;
        assert_eq!(lab.find_run("beta")?.id, b);
        assert_eq!(lab.find_run(&a.to_string())?.id, a);
        let err = lab.find_run("gamma").unwrap_err().to_string();
        assert!(err.contains("no run 'gamma'"), "{err}");
        // A name two runs share names neither: the ids are asked for.
        let b2 = lab.create_run(&sample_run("beta"))?;
        let err = lab.find_run("beta").unwrap_err().to_string();
        assert!(err.contains(&format!("(runs {b}, {b2})")), "{err}");
        assert_eq!(lab.find_run(&b2.to_string())?.id, b2);
        lab.set_notes(a, "lr too high")?;
        lab.set_tags(a, &["x".to_string()])?;
        let runs = lab.list_runs()?;
        assert_eq!(runs.len(), 3);
        assert_eq!(
            (runs[0].notes.as_str(), runs[0].tags.clone()),
            ("lr too high", vec!["x".to_string()])
        );
        assert_eq!(runs[1].tags.len(), 2);
        assert!(lab.set_notes(RunId(99), "x").is_err());
        // A deleted run's id says what became of it, as `lab delete` does; a name is gone.
        lab.finish_run(b2, RunStatus::Failed, Some("x"))?;
        lab.delete_runs(&lab.plan_deletion(&[b2])?)?;
        let err = lab.find_run(&b2.to_string()).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "run {b2} (beta) was deleted from lab ':memory:' on 20"
            )) && err.contains(" UTC: `facenet-lab runs"),
            "{err}"
        );
        let err = lab.find_run("99").unwrap_err().to_string();
        assert!(err.starts_with("no run '99' in lab"), "{err}");
        Ok(())
    }
}
