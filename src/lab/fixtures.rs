//! Fixed runs and points for deterministic tests and snapshots, shared by the lab's, the
//! trainer's, the report's and the dashboard's tests.

use crate::lab::{
    metric, Checkpoint, CodeVersion, DatasetRecord, Hyperparams, Lab, Machine, MetricPoint,
    NewCheckpoint, NewRun, Resume, Run, RunId, RunStatus, RunSummaryUpdate, SeriesPoint,
};

/// 2026-11-28 07:13 UTC: every test's "now".
pub const NOW: f64 = 1_795_849_980.0;

pub fn hyper(model: &str) -> Hyperparams {
    Hyperparams {
        model: model.into(),
        batch_size: 32,
        embedding_dim: 128,
        lr: 1e-3,
        weight_decay: 0.0,
        lr_schedule: "constant".into(),
        warmup_epochs: 0,
        epochs: 10,
        margin: 0.2,
        image_size: 64,
        crop: 1.0,
        mining: "semihard".into(),
        sampler: "pk".into(),
        pk_k: Some(4),
        normalize: true,
        augment: false,
        zero_init_residual: false,
        init: None,
        init_sha256: None,
        fresh_embedding: false,
        imagenet_norm: false,
        dropout: None,
        tf32: false,
        eval_every: 1,
        patience: None,
        checkpoint_every: None,
        seed: 7,
    }
}

/// The machine every fixture ran on.
pub fn machine() -> Machine {
    Machine {
        cpu_model: Some("Test CPU 9000".into()),
        cpu_threads: Some(2),
        cpu_simd: Some("avx2+fma".into()),
        cpu_cache: Some("L1d 32K 8-way, L2 512K 8-way".into()),
        os: Some("linux 6.1.0 x86_64".into()),
    }
}

/// A resume at `at` on this machine's CPU, from `from_iteration`, on host `hostname`.
pub fn resume(at: f64, from_iteration: i64, hostname: &str) -> Resume {
    Resume {
        at,
        from_iteration,
        device: "cpu".into(),
        gpu_name: None,
        hostname: hostname.into(),
        machine: machine(),
        code: CodeVersion::current(),
        command_line: "facenet-lab run --resume 1".into(),
        heartbeat_before: None,
        log_before: None,
    }
}

/// A completed run that started an hour before [`NOW`].
pub fn run(id: i64, name: &str, model: &str) -> Run {
    Run {
        id: RunId(id),
        name: name.into(),
        hyper: hyper(model),
        dataset_id: None,
        init_run: None,
        like_run: None,
        device: "cpu".into(),
        gpu_name: None,
        config_json: r#"{"model":"resnet18","batch":32}"#.into(),
        status: RunStatus::Completed,
        error: None,
        created_at: NOW - 3600.0,
        started_at: Some(NOW - 3600.0),
        finished_at: Some(NOW - 600.0),
        heartbeat_at: Some(NOW - 600.0),
        resumed_at: None,
        prior_seconds: 0.0,
        code: CodeVersion {
            git_commit: "0123456789abcdef".into(),
            git_dirty: false,
            git_diff: None,
            crate_version: "0.1.0".into(),
        },
        hostname: "testhost".into(),
        machine: machine(),
        command_line: format!("facenet-lab run {model}"),
        pid: None,
        log_path: None,
        notes: String::new(),
        tags: Vec::new(),
        iters_per_epoch: Some(100),
        last_iteration: 1000,
        last_epoch: 10,
        last_loss: Some(0.05),
        images_per_sec: Some(850.0),
        best_dev_acc: None,
        best_dev_epoch: None,
        final_train_acc: None,
        final_dev_acc: None,
        test_acc: None,
        lfw_acc: None,
        lfw_acc_std: None,
        lfw_grayscale: false,
        process: super::Process::Unknown,
    }
}

/// A folder of 30 people's 713 images at `source`, as its head reads ([`Lab::dataset_head`]:
/// without splits).
pub fn dataset(source: &str) -> DatasetRecord {
    DatasetRecord {
        kind: "dir".into(),
        source: source.into(),
        min_images: 20,
        max_images: 30,
        split_seed: Some(0),
        n_identities: 30,
        n_images: 713,
        content_hash: "c".into(),
        splits: Vec::new(),
    }
}

/// Records one images/s point per step (iterations 1, 2, …) and, as the trainer does, the
/// median of the last [`super::metrics::RECENT_SPEED_STEPS`] as the run's summary.
pub fn record_speeds(lab: &Lab, id: RunId, speeds: &[f64]) -> anyhow::Result<()> {
    let points: Vec<MetricPoint> = speeds
        .iter()
        .enumerate()
        .map(|(i, &v)| MetricPoint::new(i as i64 + 1, 1, metric::IMAGES_PER_SEC, v))
        .collect();
    let recent = &speeds[speeds
        .len()
        .saturating_sub(super::metrics::RECENT_SPEED_STEPS)..];
    let latest = RunSummaryUpdate {
        images_per_sec: super::median(recent),
        ..Default::default()
    };
    lab.record(id, &points, &latest)
}

/// Checkpoint 1 of `run`, of `kind`, written at `iteration` in `epoch` (as the trainer records
/// it: the epoch it ends, or the one a stop interrupted).
pub fn checkpoint(run: RunId, kind: &str, iteration: i64, epoch: i64) -> Checkpoint {
    Checkpoint {
        id: 1,
        run,
        iteration,
        epoch,
        kind: kind.into(),
        path: format!("checkpoints/{kind}.safetensors"),
        sha256: "0".repeat(64),
        created_at: 0.0,
    }
}

/// A checkpoint of `run` to record, of `kind`, written at `iteration` in epoch 1, at `path`
/// (as the lab records it) with `sha256`.
pub fn new_checkpoint(
    run: RunId,
    kind: &str,
    iteration: i64,
    path: impl Into<String>,
    sha256: impl Into<String>,
) -> NewCheckpoint {
    NewCheckpoint {
        run,
        iteration,
        epoch: 1,
        kind: kind.into(),
        path: path.into(),
        sha256: sha256.into(),
    }
}

pub fn point(iteration: i64, value: f64) -> SeriesPoint {
    SeriesPoint {
        iteration,
        epoch: 1 + iteration / 100,
        value,
        wall_time: NOW - 3600.0 + iteration as f64,
    }
}

pub fn new_run(name: &str) -> NewRun {
    NewRun {
        name: name.into(),
        hyper: hyper("resnet18"),
        dataset_id: None,
        device: "cpu".into(),
        gpu_name: None,
        config_json: "{}".into(),
        code: CodeVersion::current(),
        hostname: "testhost".into(),
        machine: machine(),
        command_line: "facenet-lab run resnet18".into(),
        log_path: None,
        notes: String::new(),
        tags: Vec::new(),
        like_run: None,
    }
}

/// A run as `facenet-lab run resnet18` registers it with the seed's defaults, with notes and
/// tags.
pub fn sample_run(name: &str) -> NewRun {
    NewRun {
        hyper: Hyperparams {
            lr: 1e-4,
            epochs: 100,
            image_size: 224,
            mining: "all".into(),
            sampler: "random".into(),
            pk_k: None,
            normalize: false,
            ..hyper("resnet18")
        },
        notes: "first try".into(),
        tags: vec!["seed-table".into(), "baseline".into()],
        like_run: None,
        ..new_run(name)
    }
}

/// `n` runs' names as a sweep gives them: a shared middle, then what varies (model, mining,
/// batch, seed and the sweep's round), as the dashboard bench names them.
pub fn sweep_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|r| {
            format!(
                "{}-64px-crop0.5-lr1e-4-{}-b{}-s{}-v{}",
                ["resnet18", "alexnet"][r % 2],
                ["all", "semihard", "hard"][r % 3],
                [16, 32, 64][r % 3],
                r % 5,
                r / 30
            )
        })
        .collect()
}

/// The step and kind of each checkpoint run `run` of `lab` has, as [`Lab::checkpoints`] lists
/// them.
pub fn checkpoint_kinds(lab: &Lab, run: RunId) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(lab
        .checkpoints(run)?
        .into_iter()
        .map(|c| (c.iteration, c.kind))
        .collect())
}
