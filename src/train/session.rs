//! A run from start to finish: resolve the data, register the run in the lab, train with the
//! recorder and console attached, and close the run as completed, interrupted or failed.

use std::io::IsTerminal;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};

use crate::data::{self, DataSpec, Dataset, ImportOptions, Manifest};
use crate::lab::{
    CodeVersion, DatasetRecord, Lab, Machine, MemberRecord, NewRun, RunId, RunStatus, SplitRecord,
};
use crate::train::checkpoint;
use crate::train::config::{DeviceChoice, TrainConfig};
use crate::train::console::Console;
use crate::train::device;
use crate::train::events::{CheckpointKind, Outcome};
use crate::train::recorder::{Heartbeat, Recorder};
use crate::train::trainer::{Control, Trainer};

/// How a run is started, beyond its configuration.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    pub command_line: String,
    /// Where this process's output goes, as given (relative to the working directory); the
    /// lab records it relative to itself.
    pub log_path: Option<PathBuf>,
    pub stop_after_epoch: Option<usize>,
    /// Stop after this much training time, as `stop_after_epoch` does.
    pub time_limit: Option<std::time::Duration>,
    /// No progress bar and no summary on stderr.
    pub quiet: bool,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub run: RunId,
    pub outcome: Outcome,
    pub summary: String,
}

/// The dataset record the lab keeps for a manifest.
pub fn dataset_record(m: &Manifest) -> DatasetRecord {
    DatasetRecord {
        kind: m.kind.as_str().to_string(),
        source: m.source.clone(),
        min_images: m.min_images as i64,
        max_images: m.max_images as i64,
        split_seed: m.split_seed.map(|s| s as i64),
        n_identities: m.identities.len() as i64,
        n_images: m.n_images() as i64,
        content_hash: m.content_hash.clone(),
        splits: m
            .splits()
            .iter()
            .map(|s| SplitRecord {
                name: s.name.as_str().to_string(),
                hash: s.hash.clone(),
                members: s
                    .members
                    .iter()
                    .map(|mm| MemberRecord {
                        identity: mm.identity.clone(),
                        file: mm.file.clone(),
                        sha256: mm.sha256.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The `data` setting made concrete: a path, `synthetic…`, or the `data fetch` location.
pub fn resolve_data(data: &str) -> Result<String> {
    if data.is_empty() {
        return Ok(data::default_dataset_path()?.to_string_lossy().into_owned());
    }
    if !data.starts_with("synthetic") && !Path::new(data).exists() {
        bail!("--data '{data}' does not exist: give an LFW directory or lfw.tgz, `synthetic`, or run `facenet-lab data fetch`");
    }
    Ok(data.to_string())
}

fn load_dataset(cfg: &TrainConfig, quiet: bool) -> Result<Dataset> {
    let spec: DataSpec = cfg.data.parse()?;
    let opts = ImportOptions {
        min_images: cfg.min_images,
        max_images: cfg.max_images,
        split_seed: cfg.split_seed,
        image_size: cfg.image_size,
        crop: cfg.crop,
        progress: !quiet && std::io::stderr().is_terminal(),
    };
    data::load(&spec, &opts).with_context(|| format!("loading data from '{}'", cfg.data))
}

fn checkpoint_dir(lab: &Lab, run: RunId) -> PathBuf {
    lab.dir().join("checkpoints").join(format!("run-{run}"))
}

/// Starts a new run.
pub fn start(
    db: &Path,
    mut cfg: TrainConfig,
    launch: &Launch,
    stop: &AtomicBool,
) -> Result<Finished> {
    cfg.validate()?;
    let (device, device_name) = device::select(cfg.device)?;
    cfg.data = resolve_data(&cfg.data)?;
    let lab = Lab::open(db)?;
    let dataset = load_dataset(&cfg, launch.quiet)?;
    let dataset_id = lab.ensure_dataset(&dataset_record(&dataset.manifest))?;
    let run = lab.create_run(&NewRun {
        name: cfg.run_name(),
        hyper: cfg.hyperparams(),
        dataset_id: Some(dataset_id),
        device: device_name.clone(),
        gpu_name: device::gpu_name(&device),
        config_json: serde_json::to_string(&cfg)?,
        code: CodeVersion::current(),
        hostname: gethostname::gethostname().to_string_lossy().into_owned(),
        machine: Machine::current(),
        command_line: launch.command_line.clone(),
        log_path: launch.log_path.as_deref().map(|p| lab.relative(p)),
        notes: cfg.note.clone(),
        tags: cfg.tags.clone(),
    })?;
    if !launch.quiet {
        eprintln!(
            "run {run} ({}) on {device_name}{}: {} train / {} dev images of {} identities",
            cfg.run_name(),
            device::gpu_name(&device)
                .map(|g| format!(" ({g})"))
                .unwrap_or_default(),
            dataset.train.len(),
            dataset.dev.len(),
            dataset.manifest.identities.len()
        );
    }
    let dir = checkpoint_dir(&lab, run);
    let trainer = match Trainer::new(cfg, device, device_name, &dataset.train, &dataset.dev, dir) {
        Ok(t) => t,
        Err(e) => {
            // Registered but never started: say so, or it would stay queued forever.
            lab.finish_run(run, RunStatus::Failed, Some(&format!("{e:#}")))?;
            return Err(e.context(format!("run {run} failed before its first step")));
        }
    };
    lab.mark_running(run, trainer.iters_per_epoch() as i64, std::process::id())?;
    drive(&lab, run, trainer, launch, stop)
}

/// Continues an interrupted, crashed or failed run from its latest resumable checkpoint.
pub fn resume(
    db: &Path,
    key: &str,
    device: Option<DeviceChoice>,
    launch: &Launch,
    stop: &AtomicBool,
) -> Result<Finished> {
    let lab = Lab::open(db)?;
    let run = lab.find_run(key)?;
    let status = run.effective_status(crate::lab::now());
    if status == RunStatus::Completed {
        bail!(
            "run {} ({}) is already completed; start a new run instead",
            run.id,
            run.name
        );
    }
    if !status.is_resumable() {
        bail!(
            "run {} ({}) is {status}{}: only interrupted, crashed or failed runs can be resumed",
            run.id,
            run.name,
            run.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
        );
    }
    let mut cfg: TrainConfig = serde_json::from_str(&run.config_json)
        .with_context(|| format!("reading the recorded config of run {}", run.id))?;
    if let Some(d) = device {
        cfg.device = d;
    }
    let (dev, device_name) = device::select(cfg.device)?;
    let dataset = load_dataset(&cfg, launch.quiet)?;
    if let Some(ds) = run.dataset_id {
        let recorded = lab.splits(ds)?;
        for split in dataset.manifest.splits() {
            let same = recorded
                .iter()
                .any(|r| r.name == split.name.as_str() && r.hash == split.hash);
            if !same {
                bail!(
                    "the {} split of '{}' no longer matches what run {} trained on (its hash changed): \
                     the data was modified, so the run cannot be continued faithfully",
                    split.name.as_str(),
                    cfg.data,
                    run.id
                );
            }
        }
    }
    let ck = lab
        .checkpoints(run.id)?
        .into_iter()
        .rfind(|c| CheckpointKind::resumable(&c.kind));
    let mut trainer = Trainer::new(
        cfg,
        dev,
        device_name,
        &dataset.train,
        &dataset.dev,
        checkpoint_dir(&lab, run.id),
    )?;
    // Everything recorded after the checkpoint belongs to a timeline that is replayed now.
    let resume_at = match ck {
        Some(ck) => {
            let path = lab.resolve(&ck.path);
            let loaded = checkpoint::load(&path, Some(&ck.sha256), &trainer.device)?;
            trainer.restore(&loaded)?;
            ck.iteration
        }
        None => 0,
    };
    // Claimed before anything is dropped: a second resume of the run, or a live trainer whose
    // heartbeat only looked stale, is refused here instead of losing its newest checkpoints.
    lab.mark_running(run.id, trainer.iters_per_epoch() as i64, std::process::id())?;
    if let Some(log) = &launch.log_path {
        lab.set_log_path(run.id, &lab.relative(log))?;
    }
    lab.truncate_metrics_after(run.id, resume_at)?;
    let dropped = lab.truncate_checkpoints_after(run.id, resume_at)?;
    if let Err(e) = lab.delete_checkpoint_files(&dropped, &checkpoint_dir(&lab, run.id)) {
        eprintln!("warning: {e:#}");
    }
    lab.rebuild_summary(run.id)?;
    // The accuracy of the weights in the best checkpoint that survived the truncation; none
    // when a later best (now dropped) had replaced it, so the next evaluation writes a best.
    trainer.best_dev = lab.run(run.id)?.and_then(|r| r.best_dev_acc);
    drive(&lab, run.id, trainer, launch, stop)
}

/// Trains the run (which the caller marked running) with the lab recorder and the console
/// attached, then closes it.
fn drive(
    lab: &Lab,
    run: RunId,
    mut trainer: Trainer,
    launch: &Launch,
    stop: &AtomicBool,
) -> Result<Finished> {
    let _heartbeat = Heartbeat::start(lab.path(), run)?;
    let mut recorder = Recorder::new(lab, run);
    let mut console = Console::new(trainer.cfg.epochs, launch.quiet);
    let ctl = Control {
        stop,
        stop_after_epoch: launch.stop_after_epoch,
        // A limit too far to represent is no limit.
        deadline: launch
            .time_limit
            .and_then(|t| std::time::Instant::now().checked_add(t)),
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        trainer.train(&mut [&mut recorder, &mut console], &ctl)
    }));
    let result = match result {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow::anyhow!("training panicked: {msg}"))
        }
    };
    match result {
        Ok(outcome) => {
            let status = match outcome {
                Outcome::Completed => RunStatus::Completed,
                Outcome::Interrupted => RunStatus::Interrupted,
            };
            lab.finish_run(run, status, None)?;
            let mut summary = console.summary(&run.to_string(), recorder.overhead());
            if outcome == Outcome::Interrupted {
                summary.push_str(&format!(
                    "\n  continue with: facenet-lab run --resume {run}"
                ));
            }
            if !launch.quiet {
                eprintln!("{summary}");
            }
            Ok(Finished {
                run,
                outcome,
                summary,
            })
        }
        Err(e) => {
            let msg = format!("{e:#}");
            recorder.drop_non_finite();
            let _ = recorder.flush();
            lab.finish_run(run, RunStatus::Failed, Some(&msg))?;
            Err(e.context(format!("run {run} failed")))
        }
    }
}
