//! Writes runs into a lab through the `Lab` API, as a trainer would: the dashboard's tmux test
//! uses it in place of the real trainer.
//!
//! `feed_lab finished`            one completed run (alexnet, batch 64, hard mining), full curves
//! `feed_lab running [SECONDS]`   one running run (resnet18, batch 16) that records a step every
//!                                200 ms for SECONDS (default 30), then completes
//!
//! The lab is `$FACENET_LAB_DB` (default `lab.db`), like facenet-lab's own `--db`.

use std::time::Duration;

use anyhow::{bail, Result};
use facenet_lab::lab::{
    metric, CodeVersion, Hyperparams, Lab, Machine, MetricPoint, NewRun, RunId, RunStatus,
    RunSummaryUpdate,
};

const ITERS_PER_EPOCH: i64 = 20;

fn new_run(name: &str, model: &str, batch: i64, mining: &str, epochs: i64) -> NewRun {
    let hyper = Hyperparams {
        model: model.into(),
        batch_size: batch,
        embedding_dim: 128,
        lr: 1e-3,
        weight_decay: 0.0,
        lr_schedule: "constant".into(),
        warmup_epochs: 0,
        epochs,
        margin: 0.2,
        image_size: 32,
        crop: 1.0,
        mining: mining.into(),
        sampler: "pk".into(),
        pk_k: Some(4),
        normalize: true,
        augment: false,
        zero_init_residual: false,
        init: None,
        init_sha256: None,
        fresh_embedding: false,
        imagenet_norm: false,
        // AlexNet's classifier dropout, as the trainer records it.
        dropout: (model == "alexnet").then_some(0.5),
        tf32: false,
        eval_every: 1,
        patience: None,
        checkpoint_every: None,
        seed: 7,
    };
    NewRun {
        name: name.into(),
        config_json: serde_json::to_string(&hyper).unwrap_or_default(),
        hyper,
        dataset_id: None,
        device: "cpu".into(),
        gpu_name: None,
        code: CodeVersion::current(),
        hostname: gethostname::gethostname().to_string_lossy().into_owned(),
        machine: Machine::current(),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        log_path: None,
        notes: String::new(),
        tags: vec!["feeder".into()],
        like_run: None,
    }
}

/// One step's metrics; an evaluation at each epoch's end.
fn step(lab: &Lab, id: RunId, i: i64, scale: f64) -> Result<()> {
    let epoch = 1 + (i - 1) / ITERS_PER_EPOCH;
    let x = i as f64;
    let loss = 0.2 / (1.0 + x / (30.0 * scale)) + 0.01 * (x * 0.9).sin();
    let mut pts = vec![
        MetricPoint::new(i, epoch, metric::TRAIN_LOSS, loss),
        MetricPoint::new(i, epoch, metric::ACTIVE_TRIPLETS, 0.9 * (-x / 400.0).exp()),
        MetricPoint::new(
            i,
            epoch,
            metric::DIST_AP,
            1.0 - 0.3 * (1.0 - (-x / 200.0).exp()),
        ),
        MetricPoint::new(
            i,
            epoch,
            metric::DIST_AN,
            1.0 + 0.3 * (1.0 - (-x / 200.0).exp()),
        ),
        MetricPoint::new(i, epoch, metric::IMAGES_PER_SEC, 800.0 + 20.0 * x.sin()),
    ];
    let mut summary = RunSummaryUpdate {
        last_iteration: Some(i),
        last_epoch: Some(epoch),
        last_loss: Some(loss),
        images_per_sec: Some(800.0),
        ..RunSummaryUpdate::default()
    };
    if i % ITERS_PER_EPOCH == 0 {
        let (train, dev) = (
            0.1 + 0.05 * epoch as f64,
            0.08 + 0.04 * epoch as f64 * scale,
        );
        pts.push(MetricPoint::new(i, epoch, metric::TRAIN_ACC, train));
        pts.push(MetricPoint::new(i, epoch, metric::DEV_ACC, dev));
        summary.evaluation = Some((train, dev, epoch));
    }
    lab.record(id, &pts, &summary)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = std::env::var("FACENET_LAB_DB").unwrap_or_else(|_| "lab.db".into());
    let lab = Lab::open(std::path::Path::new(&db))?;
    match args.first().map(String::as_str) {
        Some("finished") => {
            // Inputs as ImageNet's weights expect, of the face's middle: settings the
            // dashboard test's compare view must list as differing from the live run's.
            let mut run = new_run("alex-finished", "alexnet", 64, "hard", 5);
            run.hyper.crop = 0.5;
            run.hyper.imagenet_norm = true;
            run.config_json = serde_json::to_string(&run.hyper)?;
            let id = lab.create_run(&run)?;
            lab.mark_running(id, ITERS_PER_EPOCH, std::process::id())?;
            for i in 1..=5 * ITERS_PER_EPOCH {
                step(&lab, id, i, 0.7)?;
            }
            lab.finish_run(id, RunStatus::Completed, None)?;
            println!("finished run {id}");
        }
        Some("running") => {
            let seconds: f64 = args.get(1).map_or(Ok(30.0), |s| s.parse())?;
            let steps = (seconds / 0.2) as i64;
            let epochs = (steps + ITERS_PER_EPOCH - 1) / ITERS_PER_EPOCH;
            let id = lab.create_run(&new_run("r18-live", "resnet18", 16, "semihard", epochs))?;
            lab.mark_running(id, ITERS_PER_EPOCH, std::process::id())?;
            println!("running run {id} for {seconds} s");
            for i in 1..=steps {
                step(&lab, id, i, 1.0)?;
                std::thread::sleep(Duration::from_millis(200));
            }
            lab.finish_run(id, RunStatus::Completed, None)?;
        }
        _ => bail!("usage: feed_lab finished | feed_lab running [SECONDS]  (lab: $FACENET_LAB_DB)"),
    }
    Ok(())
}
