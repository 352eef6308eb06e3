//! What the CLI tests share: a lab with known contents, built through the Lab API, and (in
//! `process`) the processes they start.
#![allow(dead_code)]

pub mod process;

use std::path::Path;

use anyhow::Result;
use facenet_lab::lab::{
    metric, CodeVersion, DatasetRecord, Hyperparams, Lab, Machine, MemberRecord, MetricPoint,
    NewCheckpoint, NewRun, RunId, RunStatus, RunSummaryUpdate, SplitRecord,
};

/// `run resnet18` on 4 synthetic people × 8 images at 16×16, batch 8: a run of seconds.
pub const TINY_RUN: [&str; 8] = [
    "run",
    "resnet18",
    "--data",
    "synthetic:4:8",
    "--image-size",
    "16",
    "--batch",
    "8",
];

pub fn dataset() -> DatasetRecord {
    let member = |id: &str, f: &str| MemberRecord {
        identity: id.into(),
        file: f.into(),
        sha256: format!("sha-{f}"),
    };
    DatasetRecord {
        kind: "synthetic".into(),
        source: "synthetic".into(),
        min_images: 2,
        max_images: 4,
        split_seed: Some(0),
        n_identities: 2,
        n_images: 4,
        content_hash: "content".into(),
        splits: vec![
            SplitRecord {
                name: "train".into(),
                hash: "t".into(),
                members: vec![member("A", "A_1.jpg"), member("B", "B_1.jpg")],
            },
            SplitRecord {
                name: "dev".into(),
                hash: "d".into(),
                members: vec![member("A", "A_2.jpg")],
            },
            SplitRecord {
                name: "test".into(),
                hash: "e".into(),
                members: vec![member("B", "B_2.jpg")],
            },
        ],
    }
}

/// A dataset of its own (its content and splits unlike [`dataset`]'s), read from `source`,
/// of `people` people and `images` images.
pub fn other_dataset(source: &str, people: i64, images: i64) -> DatasetRecord {
    let mut d = dataset();
    d.kind = "dir".into();
    d.source = source.into();
    d.n_identities = people;
    d.n_images = images;
    d.content_hash = format!("content of {source}");
    for s in &mut d.splits {
        s.hash = format!("{} of {source}", s.hash);
        for m in &mut s.members {
            m.sha256 = format!("{} of {source}", m.sha256);
        }
    }
    d
}

/// Records [`other_dataset`] of `source` in the lab at `db` and moves the run named `run` onto
/// it, as if it had trained there: the dataset's id.
pub fn move_to_other_dataset(
    db: &Path,
    run: &str,
    source: &str,
    people: i64,
    images: i64,
) -> Result<i64> {
    let lab = facenet_lab::lab::Lab::open(db)?;
    let id = lab.ensure_dataset(&other_dataset(source, people, images))?;
    let moved = lab.conn().execute(
        "UPDATE runs SET dataset_id = ?1 WHERE name = ?2",
        rusqlite::params![id.0, run],
    )?;
    anyhow::ensure!(moved == 1, "no run named '{run}' to move");
    Ok(id.0)
}

pub fn new_run(name: &str, model: &str, seed: i64, tags: &[&str]) -> NewRun {
    NewRun {
        name: name.into(),
        hyper: Hyperparams {
            model: model.into(),
            batch_size: 32,
            embedding_dim: 128,
            lr: 1e-4,
            weight_decay: 0.0,
            lr_schedule: "constant".into(),
            warmup_epochs: 0,
            epochs: 5,
            margin: 0.2,
            image_size: 224,
            crop: 1.0,
            mining: "all".into(),
            sampler: "random".into(),
            pk_k: None,
            normalize: false,
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
            checkpoint_every: Some(2),
            seed,
        },
        dataset_id: None,
        device: "cuda".into(),
        gpu_name: Some("NVIDIA H100 80GB HBM3".into()),
        config_json: format!(r#"{{"model":"{model}","seed":{seed}}}"#),
        code: CodeVersion::current(),
        hostname: "gpu-box".into(),
        machine: Machine {
            cpu_model: Some("Intel(R) Xeon(R) Platinum 8480+".into()),
            cpu_threads: Some(26),
            cpu_simd: Some("avx512f".into()),
            cpu_cache: Some("L1d 48K 12-way, L2 2048K 16-way, L3 107520K 15-way".into()),
            os: Some("linux 6.8.0-45-generic x86_64".into()),
        },
        command_line: format!("facenet-lab run {model}"),
        log_path: None,
        notes: "fixture, with a comma".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        like_run: None,
    }
}

/// Iterations per epoch of the fixture runs.
pub const ITERS: i64 = 10;
pub const EPOCHS: i64 = 5;

/// The fixed synthetic curves: loss decays, accuracies climb by epoch, offset by `shift`.
pub fn loss_at(i: i64, shift: f64) -> f64 {
    0.2 * (-(i as f64) / 20.0).exp() + shift
}
pub fn train_acc_at(epoch: i64, shift: f64) -> f64 {
    0.5 + 0.08 * epoch as f64 + shift
}
pub fn dev_acc_at(epoch: i64, shift: f64) -> f64 {
    0.45 + 0.05 * epoch as f64 + shift
}

/// Records a complete run with the synthetic curves, a checkpoint every 2 epochs, and (when
/// `test_acc` is given) a test accuracy.
pub fn record_run(lab: &Lab, new: &NewRun, shift: f64, test_acc: Option<f64>) -> Result<RunId> {
    let id = lab.create_run(new)?;
    lab.mark_running(id, ITERS, 4242)?;
    for epoch in 1..=EPOCHS {
        let mut points = Vec::new();
        for j in 1..=ITERS {
            let i = (epoch - 1) * ITERS + j;
            let mut p = MetricPoint::new(i, epoch, metric::TRAIN_LOSS, loss_at(i, shift));
            p.wall_time = 1_700_000_000.0 + i as f64;
            points.push(p);
        }
        let it = epoch * ITERS;
        let (t, d) = (train_acc_at(epoch, shift), dev_acc_at(epoch, shift));
        points.push(MetricPoint::new(it, epoch, metric::TRAIN_ACC, t));
        points.push(MetricPoint::new(it, epoch, metric::DEV_ACC, d));
        let summary = RunSummaryUpdate {
            last_iteration: Some(it),
            last_epoch: Some(epoch),
            last_loss: Some(loss_at(it, shift)),
            images_per_sec: Some(123.5),
            evaluation: Some((t, d, epoch)),
        };
        lab.record(id, &points, &summary)?;
        if epoch % 2 == 0 {
            lab.add_checkpoint(&NewCheckpoint {
                run: id,
                iteration: it,
                epoch,
                kind: "periodic".into(),
                path: format!("checkpoints/{id}/epoch-{epoch}.safetensors"),
                sha256: format!("{:064}", it),
            })?;
        }
    }
    if let Some(acc) = test_acc {
        lab.record(
            id,
            &[MetricPoint::new(EPOCHS * ITERS, EPOCHS, "test_acc", acc)],
            &RunSummaryUpdate::default(),
        )?;
        lab.add_evaluation(&facenet_lab::lab::NewEvaluation {
            run: id,
            checkpoint_id: None,
            checkpoint_iteration: Some(EPOCHS * ITERS),
            // The last weights', as a checkpoint of them would record them.
            checkpoint_sha256: Some(format!("{:064}", EPOCHS * ITERS)),
            protocol: facenet_lab::lab::Protocol::TestSplit,
            data_source: "fixture".into(),
            options: serde_json::json!({}),
            metrics: vec![facenet_lab::lab::EvalMetric::new("top1_seed_gallery", acc)],
            code: facenet_lab::lab::CodeVersion::current(),
            ran_on: facenet_lab::lab::RanOn::here("cpu"),
        })?;
    }
    lab.finish_run(id, RunStatus::Completed, None)?;
    Ok(id)
}

/// A lab with three completed runs: two seeds of resnet18 32/128 (tag `seed-table`) and one
/// alexnet 32/128 (tags `seed-table`, `alex`) with a test accuracy.
pub fn fixture_lab(path: &Path) -> Result<Vec<RunId>> {
    let lab = Lab::open(path)?;
    let ds = lab.ensure_dataset(&dataset())?;
    let mut ids = Vec::new();
    for (name, model, seed, shift, tags, test) in [
        ("r18-s1", "resnet18", 1, 0.0, vec!["seed-table"], None),
        ("r18-s2", "resnet18", 2, 0.02, vec!["seed-table"], None),
        (
            "alex",
            "alexnet",
            1,
            -0.1,
            vec!["seed-table", "alex"],
            Some(0.41),
        ),
    ] {
        let mut new = new_run(name, model, seed, &tags);
        new.dataset_id = Some(ds);
        ids.push(record_run(&lab, &new, shift, test)?);
    }
    Ok(ids)
}

/// `facenet-lab --db DB`, to add a command and its arguments to.
pub fn facenet(db: &Path) -> Result<assert_cmd::Command> {
    let mut cmd = assert_cmd::Command::cargo_bin("facenet-lab")?;
    cmd.arg("--db").arg(db);
    Ok(cmd)
}

/// Runs `cmd` and checks that it succeeded without a panic, the stderr shown if not; returns its
/// stdout and stderr as text.
pub fn succeeds(cmd: &mut assert_cmd::Command) -> (String, String) {
    let out = cmd.output().expect("the command starts");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), err)
}

/// Runs `cmd` and checks that it failed as a command should: exit 1, one `error: ` message that
/// holds each of `needles`, and no panic.
pub fn fails_with(cmd: &mut assert_cmd::Command, needles: &[&str]) {
    let assert = cmd.assert().failure().code(1);
    let out = assert.get_output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}
