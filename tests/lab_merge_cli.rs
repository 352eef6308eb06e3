//! `facenet-lab lab merge OTHER.db` end to end.

mod common;

use std::path::Path;

use anyhow::{Context, Result};
use assert_cmd::Command;
use facenet_lab::lab::{
    metric, Lab, MetricPoint, Run, RunStatus, RunSummaryUpdate, SCHEMA_VERSION,
};
use predicates::str::contains;

fn facenet(db: &Path) -> Result<Command> {
    let mut cmd = Command::cargo_bin("facenet-lab")?;
    cmd.arg("--db").arg(db);
    Ok(cmd)
}

/// A run's recorded content, without what a merge legitimately changes (ids).
/// `facenet-lab --db OURS lab merge OTHER`, run.
fn merge(ours: &Path, other: &Path) -> Result<assert_cmd::assert::Assert> {
    Ok(facenet(ours)?.args(["lab", "merge"]).arg(other).assert())
}

fn content(lab: &Lab, run: &Run) -> Result<String> {
    let mut r = run.clone();
    r.id = facenet_lab::lab::RunId(0);
    r.dataset_id = None;
    let dataset = match run.dataset_id {
        Some(d) => Some(lab.dataset(d)?.context("dataset")?),
        None => None,
    };
    let mut metrics = Vec::new();
    for name in lab.metric_names(run.id)? {
        metrics.push((name.clone(), lab.series(run.id, &name)?));
    }
    let checkpoints: Vec<_> = lab
        .checkpoints(run.id)?
        .into_iter()
        .map(|c| (c.iteration, c.epoch, c.kind, c.path, c.sha256, c.created_at))
        .collect();
    Ok(format!("{r:?}\n{dataset:?}\n{metrics:?}\n{checkpoints:?}"))
}

fn count(lab: &Lab, table: &str) -> Result<i64> {
    Ok(lab
        .conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
}

#[test]
fn merge_brings_everything_and_twice_adds_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let theirs = dir.path().join("gpu.db");
    common::fixture_lab(&theirs)?;
    // A column added by a later schema (v4's crop) must arrive too.
    Lab::open(&theirs)?
        .conn()
        .execute("UPDATE runs SET crop = 0.5 WHERE name = 'alex'", [])?;
    let ours = dir.path().join("lab.db");
    {
        // This lab already has a run of its own and the same dataset.
        let lab = Lab::open(&ours)?;
        let ds = lab.ensure_dataset(&common::dataset())?;
        let mut new = common::new_run("local", "resnet152", 9, &["mine"]);
        new.dataset_id = Some(ds);
        common::record_run(&lab, &new, 0.05, None)?;
    }

    merge(&ours, &theirs)?
        .success()
        .stdout(contains("added run 2 'r18-s1' (run 1 there)"))
        .stdout(contains("3 runs added, 0 updated, 0 already here; 0 datasets added, 1 already here; 181 metric points, 6 checkpoints and 1 evaluations copied"));

    let (a, b) = (Lab::open_read_only(&theirs)?, Lab::open_read_only(&ours)?);
    let (their_runs, our_runs) = (a.list_runs()?, b.list_runs()?);
    assert_eq!(our_runs.len(), 4);
    assert_eq!(our_runs[0].name, "local");
    let crops: Vec<f64> = our_runs.iter().map(|r| r.hyper.crop).collect();
    assert_eq!(crops, [1.0, 1.0, 1.0, 0.5]);
    for (t, o) in their_runs.iter().zip(&our_runs[1..]) {
        assert_eq!(
            content(&a, t)?,
            content(&b, o)?,
            "run {} arrived whole",
            t.name
        );
        assert_eq!(o.tags, t.tags);
    }
    assert_eq!(
        count(&b, "datasets")?,
        1,
        "the shared dataset is stored once"
    );
    assert_eq!(count(&b, "split_members")?, 4);
    assert_eq!(
        count(&b, "metrics")?,
        count(&a, "metrics")? + 60,
        "60 points of the local run"
    );
    let before = (
        count(&b, "runs")?,
        count(&b, "metrics")?,
        count(&b, "checkpoints")?,
        count(&b, "run_tags")?,
    );
    drop(b);

    merge(&ours, &theirs)?
        .success()
        .stdout(contains("0 runs added, 0 updated, 3 already here"));
    let b = Lab::open_read_only(&ours)?;
    let after = (
        count(&b, "runs")?,
        count(&b, "metrics")?,
        count(&b, "checkpoints")?,
        count(&b, "run_tags")?,
    );
    assert_eq!(before, after, "merging twice duplicates nothing");
    Ok(())
}

#[test]
fn a_run_merged_mid_training_is_refreshed_by_a_later_merge() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let theirs = dir.path().join("gpu.db");
    let ours = dir.path().join("lab.db");
    let remote = Lab::open(&theirs)?;
    let mut new = common::new_run("long", "resnet18", 1, &["t"]);
    new.dataset_id = Some(remote.ensure_dataset(&common::dataset())?);
    let id = remote.create_run(&new)?;
    remote.mark_running(id, 10, 7)?;
    remote.record(
        id,
        &[MetricPoint::new(1, 1, metric::TRAIN_LOSS, 0.3)],
        &RunSummaryUpdate::default(),
    )?;
    let here = Lab::open(&ours)?;
    let s = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!((s.added.len(), s.metrics, s.datasets_added), (1, 1, 1));
    let ds = here.list_runs()?[0]
        .dataset_id
        .context("dataset remapped")?;
    assert_eq!(
        here.dataset(ds)?.context("dataset")?,
        common::dataset(),
        "members included"
    );
    let created = |lab: &Lab| -> Result<f64> {
        Ok(lab
            .conn()
            .query_row("SELECT created_at FROM datasets", [], |r| r.get(0))?)
    };
    assert_eq!(created(&here)?, created(&remote)?, "import time kept");

    remote.record(
        id,
        &[MetricPoint::new(2, 1, metric::TRAIN_LOSS, 0.2)],
        &RunSummaryUpdate::default(),
    )?;
    remote.finish_run(id, RunStatus::Completed, None)?;
    let s = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!((s.added.len(), s.updated.len(), s.metrics), (0, 1, 2));
    let runs = here.list_runs()?;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Completed);
    assert_eq!(here.series(runs[0].id, metric::TRAIN_LOSS)?.len(), 2);
    Ok(())
}

#[test]
fn non_labs_and_newer_labs_are_refused_without_changes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ours = dir.path().join("lab.db");
    common::fixture_lab(&ours)?;
    let notes = dir.path().join("notes.db");
    std::fs::write(&notes, "not a database")?;
    merge(&ours, &notes)?
        .failure()
        .stderr(contains("not a facenet-lab database"));

    let newer = dir.path().join("newer.db");
    drop(Lab::open(&newer)?);
    rusqlite::Connection::open(&newer)?.pragma_update(None, "user_version", SCHEMA_VERSION + 1)?;
    merge(&ours, &newer)?
        .failure()
        .stderr(contains("newer facenet-lab"));

    merge(&ours, &ours)?
        .failure()
        .stderr(contains("is this lab itself"));
    assert_eq!(Lab::open_read_only(&ours)?.list_runs()?.len(), 3);
    Ok(())
}

#[test]
fn a_conflicting_dataset_aborts_the_whole_merge() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let theirs = dir.path().join("gpu.db");
    common::fixture_lab(&theirs)?;
    let ours = dir.path().join("lab.db");
    let here = Lab::open(&ours)?;
    let mut changed = common::dataset();
    changed.splits[1].hash = "other rule".into();
    here.ensure_dataset(&changed)?;
    let err = here
        .merge_from(&Lab::open_read_only(&theirs)?)
        .err()
        .context("must fail")?;
    assert!(
        format!("{err:#}").contains("different dev split hash"),
        "{err:#}"
    );
    assert_eq!(here.list_runs()?.len(), 0, "all or nothing");
    Ok(())
}

#[test]
fn evaluations_arrive_linked_to_the_copied_checkpoints() -> Result<()> {
    use facenet_lab::lab::{CodeVersion, EvalMetric, NewCheckpoint, NewEvaluation, Protocol};
    let dir = tempfile::tempdir()?;
    let theirs = dir.path().join("gpu.db");
    {
        let lab = Lab::open(&theirs)?;
        // A checkpoint of another run first, so checkpoint ids differ between the labs.
        let other = common::record_run(
            &lab,
            &common::new_run("other", "alexnet", 1, &[]),
            0.0,
            None,
        )?;
        let run = common::record_run(
            &lab,
            &common::new_run("evaluated", "resnet18", 2, &[]),
            0.0,
            None,
        )?;
        for r in [other, run] {
            let ck = NewCheckpoint {
                run: r,
                iteration: 10,
                epoch: 1,
                kind: "best".into(),
                path: "ck".into(),
                sha256: "00".into(),
            };
            let ck_id = lab.add_checkpoint(&ck)?;
            if r == run {
                lab.add_evaluation(&NewEvaluation {
                    run,
                    checkpoint_id: Some(ck_id),
                    checkpoint_iteration: Some(10),
                    protocol: Protocol::LfwPairs,
                    data_source: "pairs.txt + lfw.tgz".into(),
                    options: serde_json::json!({ "flip": true }),
                    metrics: vec![
                        EvalMetric::new("roc_auc", 0.91),
                        EvalMetric::new("eer", 0.17),
                    ],
                    code: CodeVersion::current(),
                })?;
            }
        }
    }
    let ours = dir.path().join("lab.db");
    Lab::open(&ours)?.create_run(&common::new_run("local", "resnet152", 9, &[]))?;
    merge(&ours, &theirs)?
        .success()
        .stdout(contains("1 evaluations copied"));
    let lab = Lab::open(&ours)?;
    let run = lab.find_run("evaluated")?;
    let evals = lab.evaluations(run.id)?;
    assert_eq!(evals.len(), 1);
    assert_eq!(
        (evals[0].metric("roc_auc"), evals[0].metric("eer")),
        (Some(0.91), Some(0.17))
    );
    let ck = lab.checkpoints(run.id)?;
    assert_eq!(
        evals[0].checkpoint_id,
        Some(ck[0].id),
        "points at this lab's copy of the checkpoint"
    );

    // An evaluation made here, and a later one made there, both survive a second merge.
    let eval = |lab: &Lab, run, ck, acc| {
        lab.add_evaluation(&NewEvaluation {
            run,
            checkpoint_id: Some(ck),
            checkpoint_iteration: Some(10),
            protocol: Protocol::TestSplit,
            data_source: format!("split {acc}"),
            options: serde_json::json!({}),
            metrics: vec![EvalMetric::new("top1_seed_gallery", acc)],
            code: CodeVersion::current(),
        })
    };
    eval(&lab, run.id, ck[0].id, 0.5)?;
    {
        let there = Lab::open(&theirs)?;
        let r = there.find_run("evaluated")?;
        let c = there.checkpoints(r.id)?;
        eval(&there, r.id, c[0].id, 0.6)?;
    }
    merge(&ours, &theirs)?
        .success()
        .stdout(contains("1 evaluations copied"));
    let evals = lab.evaluations(run.id)?;
    let sources: Vec<&str> = evals.iter().map(|e| e.data_source.as_str()).collect();
    assert_eq!(
        sources,
        vec!["pairs.txt + lfw.tgz", "split 0.5", "split 0.6"]
    );
    assert!(evals.iter().all(|e| e.checkpoint_id == Some(ck[0].id)));
    Ok(())
}
