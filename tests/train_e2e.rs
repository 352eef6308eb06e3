//! End-to-end training on synthetic faces, on the CPU: it learns, it records everything, and a
//! run stopped after 2 epochs and resumed ends where an uninterrupted run ends.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use facenet_lab::lab::{
    metric, Lab, Machine, MetricPoint, NewCheckpoint, RunStatus, RunSummaryUpdate,
};
use facenet_lab::model::Arch;
use facenet_lab::train::checkpoint;
use facenet_lab::train::config::{DeviceChoice, Sampler, TrainConfig};
use facenet_lab::train::events::Outcome;
use facenet_lab::train::schedule::LrSchedule;
use facenet_lab::train::session::{self, Launch};
use facenet_lab::train::triplet::Mining;

fn tiny(data: &str, image_size: usize, epochs: usize, batch: usize) -> TrainConfig {
    TrainConfig {
        model: Arch::Resnet18,
        data: data.into(),
        image_size,
        epochs,
        batch,
        device: DeviceChoice::Cpu,
        seed: 3,
        ..TrainConfig::default()
    }
}

/// Resumes `run` of the lab at `db` as `run --resume RUN` does: data and device as recorded.
fn resume(db: &std::path::Path, run: facenet_lab::lab::RunId) -> Result<session::Finished> {
    session::resume(
        db,
        &run.to_string(),
        None,
        None,
        None,
        &quiet(),
        &AtomicBool::new(false),
    )
}

/// A completed one-epoch run on four generated people.
fn completed_run(db: &std::path::Path) -> Result<session::Finished> {
    let never = AtomicBool::new(false);
    session::start(db, tiny("synthetic:4:8", 16, 1, 8), None, &quiet(), &never)
}

fn quiet() -> Launch {
    Launch {
        command_line: "test".into(),
        quiet: true,
        ..Launch::default()
    }
}

#[test]
fn resnet18_learns_synthetic_faces_and_records_everything() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    // 8 identities of 12 images: 72 train, 8 dev images. Chance on dev is 1/8.
    let cfg = TrainConfig {
        lr: 1e-3,
        eval_every: 2,
        ..tiny("synthetic:8:12", 32, 6, 16)
    };
    let done = session::start(&db, cfg, None, &quiet(), &AtomicBool::new(false))?;
    assert_eq!(done.outcome, Outcome::Completed);

    let lab = Lab::open(&db)?;
    let run = lab.run(done.run)?.context("run")?;
    assert_eq!(run.status, RunStatus::Completed);
    let best = run.best_dev_acc.context("best dev accuracy")?;
    assert!(
        best >= 0.5,
        "dev accuracy {best} is not well above chance (0.125)"
    );
    assert_eq!((run.iters_per_epoch, run.last_epoch), (Some(5), 6));

    // Every step has its loss, active fraction, distances and speed; evaluations every 2 epochs.
    let loss = lab.series(run.id, metric::TRAIN_LOSS)?;
    assert_eq!(loss.len(), 30);
    assert_eq!(
        loss.iter().map(|p| p.iteration).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
    for name in [
        metric::ACTIVE_TRIPLETS,
        metric::DIST_AP,
        metric::DIST_AN,
        metric::IMAGES_PER_SEC,
    ] {
        assert_eq!(lab.series(run.id, name)?.len(), 30, "{name}");
    }
    // The rate of every step: the seed's constant one.
    let lr = lab.series(run.id, metric::LR)?;
    assert_eq!(lr.len(), 30);
    assert!(lr.iter().all(|p| p.value == 1e-3));
    let dev = lab.series(run.id, metric::DEV_ACC)?;
    assert_eq!(
        dev.iter().map(|p| p.epoch).collect::<Vec<_>>(),
        vec![2, 4, 6]
    );
    assert_eq!(lab.series(run.id, metric::DEV_ACC_CENTROID)?.len(), 3);

    // The dataset, its split hashes, the config, code version and machine are on record.
    let ds = lab
        .dataset(run.dataset_id.context("dataset")?)?
        .context("dataset row")?;
    assert_eq!(ds.kind, "synthetic");
    assert_eq!(ds.splits.iter().map(|s| s.members.len()).sum::<usize>(), 96);
    assert!(ds.splits.iter().all(|s| s.hash.len() == 64));
    let recorded: TrainConfig = serde_json::from_str(&run.config_json)?;
    assert_eq!((recorded.lr, recorded.epochs), (1e-3, 6));
    assert_eq!(run.code.crate_version, env!("CARGO_PKG_VERSION"));
    assert!(!run.hostname.is_empty());
    assert_eq!(run.machine, Machine::current());
    assert!(run.machine.cpu_threads.is_some_and(|t| t >= 1));

    // A final and a best checkpoint, whose recorded sha256 matches the file.
    let cks = lab.checkpoints(run.id)?;
    let kinds: Vec<_> = cks.iter().map(|c| c.kind.as_str()).collect();
    assert!(
        kinds.contains(&"final") && kinds.contains(&"best"),
        "{kinds:?}"
    );
    for c in &cks {
        assert_eq!(
            checkpoint::sha256_file(&dir.path().join(&c.path))?,
            c.sha256
        );
    }
    // Every file in the run's checkpoint folder is one the lab names: a best replaced by a
    // better one was deleted.
    let folder = dir.path().join(&cks[0].path);
    let folder = folder.parent().context("checkpoint folder")?;
    let mut on_disk: Vec<_> = std::fs::read_dir(folder)?
        .map(|e| {
            Ok(e?
                .path()
                .strip_prefix(dir.path())?
                .to_string_lossy()
                .into_owned())
        })
        .collect::<Result<_>>()?;
    let mut named: Vec<_> = cks.iter().map(|c| c.path.clone()).collect();
    on_disk.sort();
    named.sort();
    assert_eq!(on_disk, named);
    Ok(())
}

fn final_weights(
    dir: &std::path::Path,
    lab: &Lab,
    run: facenet_lab::lab::RunId,
) -> Result<HashMap<String, Tensor>> {
    let ck = lab
        .checkpoints(run)?
        .into_iter()
        .find(|c| c.kind == "final")
        .context("final checkpoint")?;
    Ok(checkpoint::load(&dir.join(&ck.path), Some(&ck.sha256), &Device::Cpu)?.tensors)
}

/// The sha256 of run `run`'s final checkpoint.
fn final_sha(lab: &Lab, run: facenet_lab::lab::RunId) -> Result<String> {
    Ok(lab
        .checkpoints(run)?
        .into_iter()
        .find(|c| c.kind == "final")
        .context("final checkpoint")?
        .sha256)
}

/// How a run is stopped before it is resumed.
enum Stop {
    /// `--stop-after-epoch N`.
    AfterEpoch(usize),
    /// As Ctrl-C stops it, after step N.
    AfterStep(u64),
}

/// What [`resumed_run_equals_straight_run`] leaves to look at.
struct Resumed {
    lab: Lab,
    straight: facenet_lab::lab::RunId,
    halted: facenet_lab::lab::RunId,
    /// The stopped run's record before it was resumed.
    halted_run: facenet_lab::lab::Run,
}

/// `cfg` trained straight through and, in the same lab, stopped as `stop` says and resumed:
/// both end with the same bytes in their final checkpoints, the same value of every metric at
/// every step (but the speed), and the resume recorded; returns the lab and both runs.
fn resumed_run_equals_straight_run(
    dir: &std::path::Path,
    cfg: TrainConfig,
    stop: Stop,
) -> Result<Resumed> {
    let db = dir.join("lab.db");
    let never = AtomicBool::new(false);
    let straight = session::start(&db, cfg.clone(), None, &quiet(), &never)?;
    let halted = match stop {
        Stop::AfterEpoch(epoch) => {
            let launch = Launch {
                stop_after_epoch: Some(epoch),
                ..quiet()
            };
            session::start(&db, cfg, None, &launch, &never)?
        }
        Stop::AfterStep(step) => {
            let launch = Launch {
                stop_after_step: Some(step),
                ..quiet()
            };
            session::start(&db, cfg, None, &launch, &never)?
        }
    };
    assert_eq!(halted.outcome, Outcome::Interrupted);
    let lab = Lab::open(&db)?;
    let halted_run = lab.run(halted.run)?.context("run")?;
    assert_eq!(halted_run.status, RunStatus::Interrupted);
    let resumed = resume(&db, halted.run)?;
    assert_eq!(
        (resumed.run, resumed.outcome),
        (halted.run, Outcome::Completed)
    );
    // The resume is on record with what it ran on, from the checkpoint's iteration.
    let resumes = lab.resumes(halted.run)?;
    assert_eq!(resumes.len(), 1);
    assert_eq!(
        (resumes[0].from_iteration, resumes[0].device.as_str()),
        (halted_run.last_iteration, "cpu")
    );
    assert_eq!(resumes[0].hostname, halted_run.hostname);

    assert_eq!(
        final_sha(&lab, straight.run)?,
        final_sha(&lab, halted.run)?,
        "the final checkpoints' bytes"
    );
    let names = lab.metric_names(straight.run)?;
    assert_eq!(names, lab.metric_names(halted.run)?);
    for name in names.iter().filter(|n| *n != metric::IMAGES_PER_SEC) {
        let points = |run| -> Result<Vec<(i64, i64, u64)>> {
            Ok(lab
                .series(run, name)?
                .iter()
                .map(|p| (p.iteration, p.epoch, p.value.to_bits()))
                .collect())
        };
        assert_eq!(points(straight.run)?, points(halted.run)?, "{name}");
    }
    Ok(Resumed {
        lab,
        straight: straight.run,
        halted: halted.run,
        halted_run,
    })
}

#[test]
fn two_epochs_then_resume_equals_four_epochs_in_one_go() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = TrainConfig {
        augment: true,
        lr_schedule: LrSchedule::Cosine,
        warmup_epochs: 1,
        // Resuming must reload the images with the same crop.
        crop: 0.6,
        ..tiny("synthetic:4:8", 16, 4, 8)
    };
    let Resumed {
        lab,
        straight,
        halted,
        halted_run,
    } = resumed_run_equals_straight_run(dir.path(), cfg, Stop::AfterEpoch(2))?;
    let done = lab.run(halted)?.context("run")?;
    assert_eq!(done.hyper.crop, 0.6);
    // The run's time is its two spans: the first, up to the interruption, is on record apart.
    let first_span = halted_run.recorded_duration().context("first span")?;
    assert_eq!(done.prior_seconds, first_span);
    assert!(done.resumed_at.context("resumed_at")? >= halted_run.finished_at.context("end")?);
    assert!(lab.resumes(halted)?[0].at >= done.resumed_at.context("resumed_at")?);
    // The final checkpoints hold the weights and BatchNorm statistics, not Adam's moments: no
    // step follows them. The checkpoint the run was resumed from has moments, each of a weight.
    let a = final_weights(dir.path(), &lab, straight)?;
    assert!(a.len() > 100, "{} tensors", a.len());
    assert!(!a.keys().any(|k| k.starts_with("adam.")));
    let from = lab
        .checkpoints(halted)?
        .into_iter()
        .find(|c| c.kind == "interrupt")
        .context("the checkpoint resumed from")?;
    let from = checkpoint::load(
        &dir.path().join(&from.path),
        Some(&from.sha256),
        &Device::Cpu,
    )?;
    let moments: Vec<&str> = (from.tensors.keys())
        .filter_map(|k| k.strip_prefix("adam.m."))
        .collect();
    assert!(!moments.is_empty() && moments.iter().all(|k| a.contains_key(*k)));
    // The schedule continues where it stopped: warm-up, then a cosine down to zero.
    let lr: Vec<f64> = lab
        .series(halted, metric::LR)?
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(lr.iter().copied().fold(0.0, f64::max), 1e-4);
    assert_eq!(lr.last(), Some(&0.0));
    Ok(())
}

/// Stopped in the middle of an epoch, the resumed run replays the rest of that epoch's batches
/// (P×K, drawn again from the seed) with the same augmentation and dropout: AlexNet with
/// semi-hard mining ends bit for bit where the straight run ends.
#[test]
fn a_run_stopped_mid_epoch_resumes_exactly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = TrainConfig {
        model: Arch::Alexnet,
        sampler: Sampler::Pk,
        pk_k: 4,
        mining: Mining::Semihard,
        augment: true,
        normalize: true,
        ..tiny("synthetic:6:10", 64, 2, 8)
    };
    let Resumed { lab, halted, .. } =
        resumed_run_equals_straight_run(dir.path(), cfg, Stop::AfterStep(8))?;
    let run = lab.run(halted)?.context("run")?;
    assert_eq!(
        (lab.resumes(halted)?[0].from_iteration, run.iters_per_epoch),
        (8, Some(6)),
        "step 2 of epoch 2"
    );
    Ok(())
}

#[test]
fn a_run_that_died_after_a_best_and_resumes_before_it_ends_with_a_best() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    // At lr 1e-30 the weights cannot move, so the replay never beats epoch 1, as a replay that
    // is not bit-identical may fail to.
    let cfg = TrainConfig {
        lr: 1e-30,
        ..tiny("synthetic:4:8", 16, 3, 8)
    };
    let never = AtomicBool::new(false);
    let stop_after_1 = Launch {
        stop_after_epoch: Some(1),
        ..quiet()
    };
    let run = session::start(&db, cfg, None, &stop_after_1, &never)?.run;
    let lab = Lab::open(&db)?;
    let cks = lab.checkpoints(run)?;
    let interrupt = cks
        .iter()
        .find(|c| c.kind == "interrupt")
        .context("interrupt")?;
    let best = cks
        .iter()
        .find(|c| c.kind == "best")
        .context("epoch 1's best")?;

    // What the process recorded next, before it died without another resumable checkpoint:
    // epoch 2's evaluation as the new best, whose weights replaced epoch 1's in the file.
    let j = 2 * interrupt.iteration;
    let best_file = dir.path().join(&best.path);
    std::fs::write(&best_file, "epoch 2's weights")?;
    let evaluation = RunSummaryUpdate {
        evaluation: Some((1.0, 1.0, 2)),
        ..RunSummaryUpdate::default()
    };
    lab.record(
        run,
        &[MetricPoint::new(j, 2, metric::DEV_ACC, 1.0)],
        &evaluation,
    )?;
    lab.replace_checkpoints(&NewCheckpoint {
        run,
        iteration: j,
        epoch: 2,
        kind: "best".into(),
        path: best.path.clone(),
        sha256: checkpoint::sha256_file(&best_file)?,
    })?;

    let resumed = resume(&db, run)?;
    assert_eq!(resumed.outcome, Outcome::Completed);
    let dev = lab.series(run, metric::DEV_ACC)?;
    assert_eq!(dev.iter().map(|p| p.epoch).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(
        dev.iter().all(|p| p.value <= dev[0].value),
        "the scenario needs a replay that never beats epoch 1: {dev:?}"
    );
    // The replay's evaluations start the best afresh: the best checkpoint holds the first of
    // their highest, and the summary describes those weights.
    let top = dev[2..]
        .iter()
        .fold(&dev[1], |top, p| if p.value > top.value { p } else { top });
    let best = lab
        .checkpoints(run)?
        .into_iter()
        .find(|c| c.kind == "best")
        .context("no best checkpoint after the resume")?;
    assert_eq!((best.iteration, best.epoch), (top.iteration, top.epoch));
    assert!(best.iteration >= j);
    let best_file = dir.path().join(&best.path);
    assert_eq!(checkpoint::sha256_file(&best_file)?, best.sha256);
    let r = lab.run(run)?.context("run")?;
    assert_eq!(
        (r.best_dev_acc, r.best_dev_epoch),
        (Some(top.value), Some(top.epoch))
    );
    Ok(())
}

/// A run that died (killed, out of memory) after an automatic checkpoint resumes from it, and
/// ends as the run that never stopped does. The automatic one is the stop's checkpoint made
/// one: the same file, written where a stop could be, with Adam's state and the step.
#[test]
fn a_crashed_run_resumes_from_its_automatic_checkpoint() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let cfg = tiny("synthetic:4:8", 16, 2, 8);
    let never = AtomicBool::new(false);
    let straight = session::start(&db, cfg.clone(), None, &quiet(), &never)?.run;
    let halted = Launch {
        stop_after_step: Some(3),
        ..quiet()
    };
    let died = session::start(&db, cfg, None, &halted, &never)?.run;
    let lab = Lab::open(&db)?;
    // Its process gone without a word an hour ago, its checkpoint an automatic one.
    let changed = lab.conn().execute(
        "UPDATE checkpoints SET kind = 'auto' WHERE run_id = ?1 AND kind = 'interrupt'",
        [died.0],
    )?;
    assert_eq!(changed, 1);
    lab.conn().execute(
        "UPDATE runs SET status = 'running', finished_at = NULL, pid = NULL,
             heartbeat_at = heartbeat_at - 3600 WHERE id = ?1",
        [died.0],
    )?;
    assert_eq!(
        lab.run(died)?
            .context("run")?
            .effective_status(facenet_lab::lab::now()),
        RunStatus::Crashed
    );
    assert_eq!(resume(&db, died)?.outcome, Outcome::Completed);
    assert_eq!(lab.resumes(died)?[0].from_iteration, 3);
    assert_eq!(final_sha(&lab, straight)?, final_sha(&lab, died)?);
    // The final checkpoint took the automatic one's place.
    let kinds: Vec<String> = lab.checkpoints(died)?.into_iter().map(|c| c.kind).collect();
    assert!(!kinds.iter().any(|k| k == "auto"), "{kinds:?}");
    Ok(())
}

#[test]
fn a_time_limit_stops_like_an_interrupt_and_the_run_resumes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let never = AtomicBool::new(false);
    // A limit already reached: the first step finishes, then the run stops with a checkpoint.
    let limited = Launch {
        time_limit: Some(std::time::Duration::ZERO),
        ..quiet()
    };
    let halted = session::start(&db, tiny("synthetic:4:8", 16, 2, 8), None, &limited, &never)?;
    assert_eq!(halted.outcome, Outcome::Interrupted);
    let lab = Lab::open(&db)?;
    let run = lab.run(halted.run)?.context("run")?;
    assert_eq!(
        (run.status, run.last_iteration),
        (RunStatus::Interrupted, 1)
    );
    assert!(lab
        .checkpoints(run.id)?
        .iter()
        .any(|c| c.kind == "interrupt" && c.iteration == 1));
    // Without a limit the same run completes from there.
    let stopped_at = run.heartbeat_at.context("heartbeat")?;
    let resumed = resume(&db, run.id)?;
    assert_eq!(resumed.outcome, Outcome::Completed);
    let run = lab.run(run.id)?.context("run")?;
    assert_eq!((run.status, run.last_iteration), (RunStatus::Completed, 6));
    let resumes = lab.resumes(run.id)?;
    assert_eq!(
        resumes
            .iter()
            .map(|r| r.heartbeat_before)
            .collect::<Vec<_>>(),
        [Some(stopped_at)],
        "the resume records how far the run had gone, for a merge to compare"
    );
    assert!(resumes[0].at > stopped_at);
    Ok(())
}

/// A run quit at once after the lab recorded it but before its first step (a sweep's second
/// Ctrl-C while it loads) is left as `abandon` leaves it, interrupted as a running one is;
/// resumed, it trains from step 0 to the very weights of the same run trained straight through.
/// (That `start` hands the run to `abandon` that early is not driven here: the window between
/// the run's record and its first step is too short to hit from a test.)
#[test]
fn a_run_quit_before_its_first_step_resumes_from_the_start() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let straight = completed_run(&db)?;
    let lab = Lab::open(&db)?;
    let r = lab.run(straight.run)?.context("run")?;
    // The run as the lab records it before its first step: queued, its trainer not yet built.
    let queued = lab.create_run(&facenet_lab::lab::NewRun {
        name: r.name,
        hyper: r.hyper,
        dataset_id: r.dataset_id,
        device: r.device,
        gpu_name: r.gpu_name,
        config_json: r.config_json,
        code: r.code,
        hostname: r.hostname,
        machine: r.machine,
        command_line: r.command_line,
        log_path: None,
        notes: String::new(),
        tags: Vec::new(),
        like_run: None,
    })?;
    assert!(
        lab.interrupt_unless_ended(queued)?,
        "what a quit at once does"
    );
    let resumed = resume(&db, queued)?;
    assert_eq!(resumed.outcome, Outcome::Completed);
    assert_eq!(final_sha(&lab, queued)?, final_sha(&lab, straight.run)?);
    Ok(())
}

#[test]
fn a_completed_run_cannot_be_resumed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let done = completed_run(&db)?;
    let err = resume(&db, done.run).unwrap_err();
    assert!(err.to_string().contains("already completed"), "{err}");
    Ok(())
}

/// A run killed after its final checkpoint was recorded but before the run was closed shows as
/// crashed; resumed, it is closed as completed with its checkpoints as they were.
#[test]
fn a_run_resumed_from_its_final_checkpoint_keeps_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let done = completed_run(&db)?;
    let lab = Lab::open(&db)?;
    lab.conn().execute(
        "UPDATE runs SET status = 'running', finished_at = NULL,
                         heartbeat_at = heartbeat_at - 3600 WHERE id = ?1",
        [done.run.0],
    )?;
    let before = lab.checkpoints(done.run)?;
    let resumed = resume(&db, done.run)?;
    assert_eq!(resumed.outcome, Outcome::Completed);
    assert!(
        resumed.summary.contains("nothing was left to train"),
        "{}",
        resumed.summary
    );
    // Its checkpoints as they were: the final one not written again (a final that held Adam's
    // state, as they once did, would have changed its bytes and lost its evaluations).
    assert_eq!(lab.checkpoints(done.run)?, before);
    assert_eq!(before.iter().filter(|c| c.kind == "final").count(), 1);
    assert_eq!(
        lab.run(done.run)?.context("run")?.status,
        RunStatus::Completed
    );
    // A final checkpoint before the planned end, where --patience stopped the run, is its end
    // too: the run is closed, not restored from a file without Adam's state.
    lab.conn().execute_batch(&format!(
        "UPDATE runs SET status = 'crashed', finished_at = NULL WHERE id = {0};
         UPDATE checkpoints SET iteration = iteration - 1 WHERE run_id = {0} AND kind = 'final';",
        done.run.0
    ))?;
    let resumed = resume(&db, done.run)?;
    assert!(
        resumed.outcome == Outcome::Completed
            && resumed.summary.contains("nothing was left to train"),
        "{}",
        resumed.summary
    );
    Ok(())
}

#[test]
fn keep_checkpoints_leaves_the_newest_periodic_ones_on_disk_and_on_record() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let cfg = TrainConfig {
        checkpoint_every: Some(1),
        keep_checkpoints: Some(2),
        ..tiny("synthetic:4:8", 16, 4, 8)
    };
    let done = session::start(&db, cfg, None, &quiet(), &AtomicBool::new(false))?;
    assert_eq!(done.outcome, Outcome::Completed);
    let lab = Lab::open(&db)?;
    let cks = lab.checkpoints(done.run)?;
    // Epochs 1, 2 and 3 wrote periodic checkpoints (the last epoch writes the final one).
    let periodic: Vec<i64> = cks
        .iter()
        .filter(|c| c.kind == "periodic")
        .map(|c| c.epoch)
        .collect();
    assert_eq!(periodic, [2, 3]);
    assert!(cks.iter().any(|c| c.kind == "final"));
    assert!(cks.iter().any(|c| c.kind == "best"));
    // The folder holds exactly the files the lab names.
    let folder = dir.path().join(format!("checkpoints/run-{}", done.run));
    let mut on_disk: Vec<String> = std::fs::read_dir(&folder)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    on_disk.sort();
    let mut named: Vec<String> = cks
        .iter()
        .map(|c| c.path.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    named.sort();
    assert_eq!(on_disk, named);
    assert!(on_disk.contains(&"epoch-0002.safetensors".to_string()));
    Ok(())
}

/// Counts the events it sees, and asks for a stop on one chosen step.
struct StopAt<'a> {
    iteration: u64,
    stop: &'a std::sync::atomic::AtomicBool,
    evals: Vec<usize>,
    finished: Option<Outcome>,
}

impl facenet_lab::train::events::Observer for StopAt<'_> {
    fn on_event(&mut self, e: &facenet_lab::train::events::Event) -> Result<()> {
        use facenet_lab::train::events::Event;
        match e {
            Event::Step(s) if s.iteration == self.iteration => {
                self.stop.store(true, std::sync::atomic::Ordering::SeqCst)
            }
            Event::Eval(ev) => self.evals.push(ev.epoch),
            Event::Finished { outcome, .. } => self.finished = Some(*outcome),
            _ => {}
        }
        Ok(())
    }
}

#[test]
fn a_stop_on_an_epochs_last_step_still_evaluates_that_epoch() -> Result<()> {
    use facenet_lab::data::{self, ImportOptions};
    use facenet_lab::train::trainer::{Control, Trainer};
    let cfg = tiny("synthetic:4:8", 16, 4, 8);
    let opts = ImportOptions {
        min_images: 3,
        max_images: 100,
        image_size: 16,
        ..ImportOptions::default()
    };
    let ds = data::load(&"synthetic:4:8".parse()?, &opts)?;
    let dir = tempfile::tempdir()?;
    let mut t = Trainer::new(
        cfg,
        Device::Cpu,
        "cpu".into(),
        &ds.train,
        &ds.dev,
        dir.path().to_path_buf(),
    )?;
    let ipe = t.iters_per_epoch() as u64;
    let stop = AtomicBool::new(false);
    for (at, want_evals) in [(ipe, vec![1]), (ipe + 1, vec![])] {
        stop.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut obs = StopAt {
            iteration: at,
            stop: &stop,
            evals: vec![],
            finished: None,
        };
        let outcome = t.train(
            &mut [&mut obs],
            &Control {
                stop: &stop,
                stop_after_epoch: None,
                deadline: None,
                stop_after_step: None,
                resume_point_every: None,
            },
        )?;
        assert_eq!(
            (outcome, obs.finished),
            (Outcome::Interrupted, Some(Outcome::Interrupted))
        );
        assert_eq!(obs.evals, want_evals, "stopped at step {at}");
        assert_eq!(t.position.iteration, at);
    }
    Ok(())
}

/// The same command twice on one machine is the same run, bit for bit: every recorded value
/// but the speed, and the best weights (the README's and `lab::Machine`'s promise; across
/// machines with other caches or SIMD the last bits may part).
#[test]
fn the_same_command_twice_on_one_machine_records_the_same_run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    // The best recipe's paths: P×K batches, semi-hard mining, normalised, augmented, cropped,
    // cosine with warm-up, zero-initialised residual gates.
    let cfg = TrainConfig {
        sampler: Sampler::Pk,
        pk_k: 4,
        mining: Mining::Semihard,
        normalize: true,
        augment: true,
        crop: 0.5,
        lr: 1e-3,
        lr_schedule: LrSchedule::Cosine,
        warmup_epochs: 1,
        zero_init_residual: true,
        ..tiny("synthetic:4:8", 32, 3, 16)
    };
    let never = AtomicBool::new(false);
    let a = session::start(&db, cfg.clone(), None, &quiet(), &never)?.run;
    let b = session::start(&db, cfg, None, &quiet(), &never)?.run;
    let lab = Lab::open(&db)?;
    let names = lab.metric_names(a)?;
    for recorded in [
        metric::TRAIN_LOSS,
        metric::DEV_ACC,
        metric::LR,
        metric::DIST_AP,
    ] {
        assert!(names.iter().any(|n| n == recorded), "{recorded}: {names:?}");
    }
    assert_eq!(names, lab.metric_names(b)?);
    for name in names.iter().filter(|n| *n != metric::IMAGES_PER_SEC) {
        let bits = |run| -> Result<Vec<(i64, u64)>> {
            Ok(lab
                .series(run, name)?
                .iter()
                .map(|p| (p.iteration, p.value.to_bits()))
                .collect())
        };
        assert_eq!(bits(a)?, bits(b)?, "{name}");
    }
    let best = |run| -> Result<String> {
        let cks = lab.checkpoints(run)?;
        let best = cks.iter().find(|c| c.kind == "best").context("best")?;
        Ok(best.sha256.clone())
    };
    assert_eq!(best(a)?, best(b)?);
    Ok(())
}
