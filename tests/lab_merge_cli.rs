//! `facenet-lab lab merge OTHER.db` end to end.

mod common;

use std::path::Path;

use anyhow::{Context, Result};
use assert_cmd::Command;
use facenet_lab::lab::{
    metric, CodeVersion, DatasetRecord, EvalMetric, Lab, Machine, MetricPoint, NewCheckpoint,
    NewEvaluation, Protocol, Resume, Run, RunId, RunStatus, RunSummaryUpdate, SCHEMA_VERSION,
};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

/// `facenet-lab --db OURS lab merge OTHER`, run.
fn merge(ours: &Path, other: &Path) -> Result<assert_cmd::assert::Assert> {
    Ok(common::facenet(ours)?
        .args(["lab", "merge"])
        .arg(other)
        .assert())
}

/// A run's recorded content, without what a merge legitimately changes (ids).
fn content(lab: &Lab, run: &Run) -> Result<String> {
    let mut r = run.clone();
    r.id = RunId(0);
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
    let resumes = lab.resumes(run.id)?;
    Ok(format!(
        "{r:?}\n{dataset:?}\n{metrics:?}\n{checkpoints:?}\n{resumes:?}"
    ))
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
    // A column added by a later schema (v4's crop) must arrive too, and a resume.
    let there = Lab::open(&theirs)?;
    there
        .conn()
        .execute("UPDATE runs SET crop = 0.5 WHERE name = 'alex'", [])?;
    there.add_resume(there.find_run("alex")?.id, &resume(30))?;
    drop(there);
    let ours = dir.path().join("lab.db");
    {
        // This lab already has a run of its own and the same dataset.
        let lab = Lab::open(&ours)?;
        let ds = lab.ensure_dataset(&common::dataset())?;
        let mut new = common::new_run("local", "resnet152", 9, &["mine"]);
        new.dataset_id = Some(ds);
        common::record_run(&lab, &new, 0.05, None)?;
    }

    // Each run's folder there, paired with its own folder here.
    let pair = format!(
        "{} → {}",
        dir.path().join("checkpoints/1").display(),
        dir.path().join("checkpoints/run-2").display()
    );
    merge(&ours, &theirs)?
        .success()
        .stderr(contains(pair))
        .stdout(contains("added run 2 'r18-s1' (run 1 there)"))
        .stdout(contains("3 runs added, 0 updated, 0 already here; 0 datasets added, 1 already here; 181 metric points, 6 checkpoints, 1 evaluation and 1 resume copied"))
        .stderr(contains(
            "note: the lab records checkpoints, not their weights: 6 checkpoint files of the \
             merged runs are not where the lab records them",
        ));
    // Reading it left none of SQLite's files beside the other lab.
    for beside in ["gpu.db-wal", "gpu.db-shm"] {
        assert!(!dir.path().join(beside).exists(), "{beside} left behind");
    }

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
    let tables = [
        "runs",
        "metrics",
        "checkpoints",
        "run_tags",
        "run_resumes",
        "evaluations",
        "evaluation_metrics",
        "datasets",
        "splits",
        "split_members",
    ];
    let counts = |lab: &Lab| -> Result<Vec<i64>> { tables.iter().map(|t| count(lab, t)).collect() };
    let before = counts(&b)?;
    assert_eq!((before[4], before[5]), (1, 1), "a resume and an evaluation");
    drop(b);

    merge(&ours, &theirs)?
        .success()
        .stdout(contains("0 runs added, 0 updated, 3 already here"))
        .stderr(contains("note:").not());
    let after = counts(&Lab::open_read_only(&ours)?)?;
    assert_eq!(
        before, after,
        "merging twice duplicates nothing ({tables:?})"
    );
    Ok(())
}

/// A resume from `iteration` on a GPU machine.
fn resume(iteration: i64) -> Resume {
    Resume {
        at: 1.7e9 + iteration as f64,
        from_iteration: iteration,
        device: "cuda".into(),
        gpu_name: Some("NVIDIA H200".into()),
        hostname: "gpu-box".into(),
        machine: Machine::current(),
        code: CodeVersion::current(),
        command_line: "facenet-lab run --resume 1".into(),
        heartbeat_before: None,
        log_before: None,
    }
}

fn checkpoint(run: RunId, iteration: i64, kind: &str, sha256: &str) -> NewCheckpoint {
    NewCheckpoint {
        run,
        iteration,
        epoch: iteration,
        kind: kind.into(),
        path: format!("checkpoints/run-{run}/{kind}-{iteration}.safetensors"),
        sha256: sha256.into(),
    }
}

/// A test-split evaluation of checkpoint `ck` (at `iteration`) of `run`.
fn evaluate(lab: &Lab, run: RunId, ck: i64, iteration: i64) -> Result<()> {
    lab.add_evaluation(&NewEvaluation {
        run,
        checkpoint_id: Some(ck),
        checkpoint_iteration: Some(iteration),
        checkpoint_sha256: None,
        protocol: Protocol::TestSplit,
        data_source: format!("checkpoint at {iteration}"),
        options: serde_json::json!({}),
        metrics: vec![EvalMetric::new("top1_seed_gallery", 0.5)],
        code: CodeVersion::current(),
        ran_on: facenet_lab::lab::RanOn::here("cpu"),
    })?;
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
    remote.add_checkpoint(&checkpoint(id, 1, "periodic", "p1"))?;
    remote.replace_checkpoints(&checkpoint(id, 1, "best", "b1"))?;
    remote.add_resume(id, &resume(0))?;
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

    // Here, meanwhile: notes, a tag, and evaluations of both checkpoints (as
    // bench/import-gpu.sh evaluates a run right after merging it).
    let run = here.list_runs()?[0].id;
    here.set_notes(run, "promising: watch dev acc")?;
    here.set_tags(run, &["t".into(), "keep".into()])?;
    for ck in here.checkpoints(run)? {
        evaluate(&here, run, ck.id, ck.iteration)?;
    }

    // There, the run goes on: a new checkpoint, a better "best" in place of the first.
    remote.record(
        id,
        &[MetricPoint::new(2, 1, metric::TRAIN_LOSS, 0.2)],
        &RunSummaryUpdate::default(),
    )?;
    remote.add_checkpoint(&checkpoint(id, 2, "periodic", "p2"))?;
    remote.replace_checkpoints(&checkpoint(id, 2, "best", "b2"))?;
    // Resumed there after the first merge, as a resume records it: now, after the heartbeat
    // that the copy here holds too.
    let resumed = Resume {
        at: facenet_lab::lab::now(),
        heartbeat_before: remote.run(id)?.context("run")?.heartbeat_at,
        log_before: None,
        ..resume(1)
    };
    remote.add_resume(id, &resumed)?;
    remote.finish_run(id, RunStatus::Completed, None)?;
    let s = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!((s.added.len(), s.updated.len(), s.metrics), (0, 1, 2));
    let runs = here.list_runs()?;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Completed);
    assert_eq!(here.series(run, metric::TRAIN_LOSS)?.len(), 2);
    assert_eq!(
        here.resumes(run)?,
        [resume(0), resumed],
        "the resumes there, each once"
    );
    assert_eq!(
        runs[0].notes, "promising: watch dev acc",
        "notes made here stay"
    );
    assert_eq!(runs[0].tags, ["keep", "t"]);

    let checkpoints = here.checkpoints(run)?;
    let kinds: Vec<(i64, &str)> = checkpoints
        .iter()
        .map(|c| (c.iteration, c.kind.as_str()))
        .collect();
    assert_eq!(kinds, [(1, "periodic"), (2, "periodic"), (2, "best")]);
    let links: Vec<(Option<i64>, Option<i64>)> = here
        .evaluations(run)?
        .iter()
        .map(|e| (e.checkpoint_id, e.checkpoint_iteration))
        .collect();
    assert_eq!(
        links,
        [
            // The periodic checkpoint is still there: linked to its refreshed row.
            (Some(checkpoints[0].id), Some(1)),
            // The first "best" is gone there too: the iteration says which weights they were.
            (None, Some(1)),
        ]
    );

    let s = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!((s.updated.len(), s.unchanged, s.evaluations), (0, 1, 0));
    assert_eq!(here.evaluations(run)?.len(), 2);
    Ok(())
}

/// A run resumed in one lab while it trained on in the other has two histories: whichever copy
/// is newer, the merge keeps this lab's as it is, and says so.
#[test]
fn copies_of_a_run_that_parted_are_not_merged() -> Result<()> {
    let step = |lab: &Lab, run: RunId, it: i64, loss: f64| {
        let update = RunSummaryUpdate {
            last_iteration: Some(it),
            ..Default::default()
        };
        lab.record(
            run,
            &[MetricPoint::new(it, 1, metric::TRAIN_LOSS, loss)],
            &update,
        )
    };
    // Resumed long ago (before the other copy trained on), or (`late`) after it did, from a
    // copy of the lab taken before.
    for (resumed_here, late) in [(true, false), (false, false), (true, true), (false, true)] {
        let dir = tempfile::tempdir()?;
        let (theirs, ours) = (dir.path().join("gpu.db"), dir.path().join("lab.db"));
        let remote = Lab::open(&theirs)?;
        let id = remote.create_run(&common::new_run("long", "resnet18", 1, &[]))?;
        remote.mark_running(id, 10, 7)?;
        step(&remote, id, 1, 0.3)?;
        let here = Lab::open(&ours)?;
        here.merge_from(&Lab::open_read_only(&theirs)?)?;
        let run = here.list_runs()?[0].id;
        // The other copy trains on to step 3; then this one is resumed from step 1 (as the
        // resume fixture says, long ago) and trains to step 2, which makes it the newer.
        let (resumed, other) = if resumed_here {
            ((&here, run), (&remote, id))
        } else {
            ((&remote, id), (&here, run))
        };
        for it in 2..=3 {
            step(other.0, other.1, it, 0.2)?;
        }
        let resume = match late {
            false => resume(1),
            true => Resume {
                at: facenet_lab::lab::now(),
                heartbeat_before: resumed.0.run(resumed.1)?.context("run")?.heartbeat_at,
                log_before: None,
                ..resume(1)
            },
        };
        resumed.0.add_resume(resumed.1, &resume)?;
        step(resumed.0, resumed.1, 2, 0.25)?;
        let before = content(&here, &here.list_runs()?[0])?;
        drop((here, remote));

        merge(&ours, &theirs)?
            .success()
            .stdout(contains(
                "kept run 1 'long' as it is here: run 1 there is a copy of it that parted from it",
            ))
            .stdout(contains("0 runs added, 0 updated, 0 already here"));
        let here = Lab::open_read_only(&ours)?;
        assert_eq!(
            content(&here, &here.list_runs()?[0])?,
            before,
            "resumed here: {resumed_here}, late: {late}"
        );
    }
    Ok(())
}

/// Notes and tags are merged edit by edit, the later winning, whether or not the run trained
/// on: a tag removed here stays removed, one added or removed there later arrives, and two
/// labs merged into each other agree.
#[test]
fn notes_and_tags_merge_edit_by_edit_the_later_winning() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (theirs, ours) = (dir.path().join("gpu.db"), dir.path().join("lab.db"));
    let remote = Lab::open(&theirs)?;
    let id = remote.create_run(&common::new_run("r", "resnet18", 1, &["a", "b"]))?;
    let here = Lab::open(&ours)?;
    here.merge_from(&Lab::open_read_only(&theirs)?)?;
    let run = here.find_run("r")?.id;
    let tags =
        |lab: &Lab, run: RunId| -> Result<Vec<String>> { Ok(lab.run(run)?.context("run")?.tags) };
    assert_eq!(tags(&here, run)?, ["a", "b"]);

    // Edits in both labs, in this order: b goes here; c comes there and a goes; a note there,
    // then a later one here.
    here.set_tags(run, &["a".into()])?;
    remote.set_tags(id, &["b".into(), "c".into()])?;
    remote.set_notes(id, "written there")?;
    here.set_notes(run, "written here, last")?;

    let s = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!((s.unchanged, s.annotated), (1, 1), "{s:?}");
    assert!(s
        .to_string()
        .contains("brought the notes or tags written there later of 1 run"));
    let merged = here.run(run)?.context("run")?;
    assert_eq!(
        merged.tags,
        ["c"],
        "b stays removed, a is removed, c arrives"
    );
    assert_eq!(merged.notes, "written here, last");
    let again = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!(again.annotated, 0, "merged twice, nothing comes back");
    assert_eq!(tags(&here, run)?, ["c"]);

    // The other way round, the other lab comes to the same.
    drop(here);
    remote.merge_from(&Lab::open_read_only(&ours)?)?;
    let there = remote.run(id)?.context("run")?;
    assert_eq!(there.tags, ["c"]);
    assert_eq!(there.notes, "written here, last");

    // A note written there later arrives on a run that went no further.
    remote.set_notes(id, "revised there")?;
    drop(remote);
    let here = Lab::open(&ours)?;
    let s = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!((s.updated.len(), s.annotated), (0, 1), "{s:?}");
    assert_eq!(here.run(run)?.context("run")?.notes, "revised there");
    Ok(())
}

#[test]
fn paths_arrive_naming_the_same_files_from_a_lab_in_another_directory() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("labs"))?;
    // Below this lab's directory, and beside it.
    for (other, expected) in [
        (
            "labs/incoming",
            Some("incoming/checkpoints/run-1/best-3.safetensors"),
        ),
        ("back", None),
    ] {
        let there = dir.path().join(other);
        std::fs::create_dir_all(there.join("checkpoints/run-1"))?;
        std::fs::create_dir_all(there.join("logs"))?;
        {
            let lab = Lab::open(&there.join("gpu.db"))?;
            let mut new = common::new_run(other, "resnet18", 1, &[]);
            new.log_path = Some("logs/run-1.log".into());
            let run = lab.create_run(&new)?;
            let ck = checkpoint(run, 3, "best", "ff");
            std::fs::write(there.join(&ck.path), format!("weights of {other}"))?;
            std::fs::write(there.join("logs/run-1.log"), format!("log of {other}"))?;
            lab.add_checkpoint(&ck)?;
            // Resumed there with a log of its own, which kept the first.
            std::fs::write(
                there.join("logs/run-0.log"),
                format!("first log of {other}"),
            )?;
            let resumed = Resume {
                log_before: Some("logs/run-0.log".into()),
                ..resume(3)
            };
            lab.add_resume(run, &resumed)?;
        }
        // Both labs named relative to the working directory, as a user types them.
        Command::cargo_bin("facenet-lab")?
            .current_dir(dir.path())
            .args(["--db", "labs/lab.db", "lab", "merge"])
            .arg(format!("{other}/gpu.db"))
            .assert()
            .success();

        let lab = Lab::open_read_only(&dir.path().join("labs/lab.db"))?;
        let run = lab.find_run(other)?;
        let ck = &lab.checkpoints(run.id)?[0];
        if let Some(expected) = expected {
            assert_eq!(
                ck.path, expected,
                "relative to this lab, as it lies below it"
            );
        }
        assert_eq!(
            std::fs::read_to_string(lab.resolve(&ck.path))?,
            format!("weights of {other}")
        );
        let log = run.log_path.context("log path")?;
        assert_eq!(
            std::fs::read_to_string(lab.resolve(&log))?,
            format!("log of {other}")
        );
        let resumes = lab.resumes(run.id)?;
        let before = resumes[0].log_before.as_deref().context("log before")?;
        assert_eq!(
            std::fs::read_to_string(lab.resolve(before))?,
            format!("first log of {other}")
        );
    }
    Ok(())
}

#[test]
fn the_same_images_at_another_path_there_are_this_lab_s_dataset() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let at = |source: &str| facenet_lab::lab::DatasetRecord {
        kind: "dir".into(),
        source: source.into(),
        ..common::dataset()
    };
    let ours = dir.path().join("lab.db");
    let local = {
        let lab = Lab::open(&ours)?;
        let ds = lab.ensure_dataset(&at("/home/me/data/lfw-20-30"))?;
        let mut new = common::new_run("local", "resnet18", 1, &[]);
        new.dataset_id = Some(ds);
        lab.create_run(&new)?;
        ds
    };
    let theirs = dir.path().join("gpu.db");
    {
        let lab = Lab::open(&theirs)?;
        let mut new = common::new_run("on-gpu", "resnet18", 2, &[]);
        new.dataset_id = Some(lab.ensure_dataset(&at("/gpu-box/.device/lfw-20-30"))?);
        lab.create_run(&new)?;
    }
    merge(&ours, &theirs)?
        .success()
        .stdout(contains("0 datasets added, 1 already here"));
    let lab = Lab::open_read_only(&ours)?;
    assert_eq!(count(&lab, "datasets")?, 1);
    assert_eq!(lab.find_run("on-gpu")?.dataset_id, Some(local));
    assert_eq!(
        lab.dataset(local)?.context("dataset")?.source,
        "/home/me/data/lfw-20-30",
        "this machine's path"
    );
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
        .stderr(contains("not a facenet-lab database"))
        .stderr(contains("--db").not());

    let newer = dir.path().join("newer.db");
    drop(Lab::open(&newer)?);
    rusqlite::Connection::open(&newer)?.pragma_update(None, "user_version", SCHEMA_VERSION + 1)?;
    merge(&ours, &newer)?
        .failure()
        .stderr(contains("newer facenet-lab"));

    merge(&ours, &ours)?
        .failure()
        .stderr(contains("is this lab itself"));

    let typo = dir.path().join("gpu.dbb");
    merge(&ours, &typo)?
        .failure()
        .stderr(contains(format!(
            "no file '{}' to merge: name the lab file that came back",
            typo.display()
        )))
        .stderr(contains("--db").not());
    assert!(!typo.exists(), "a mistyped lab is not created");
    let fresh = dir.path().join("fresh.db");
    merge(&fresh, &typo)?.failure();
    assert!(!fresh.exists(), "a failed merge starts no lab");
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
    let err = format!("{err:#}");
    assert!(
        err.contains("different dev split hash")
            && err.contains(&format!(
                "the runs of '{}' cannot join this lab's",
                theirs.display()
            )),
        "{err}"
    );
    assert_eq!(here.list_runs()?.len(), 0, "all or nothing");
    drop(here);

    // The same conflict in a dataset that no run there trained on: it stays out, the rest
    // arrives.
    let spare = DatasetRecord {
        source: "/there/spare".into(),
        content_hash: "spare".into(),
        ..common::dataset()
    };
    Lab::open(&theirs)?.ensure_dataset(&spare)?;
    let fresh = dir.path().join("fresh.db");
    let mut split_otherwise = spare.clone();
    split_otherwise.splits[1].hash = "other rule".into();
    Lab::open(&fresh)?.ensure_dataset(&split_otherwise)?;
    merge(&fresh, &theirs)?.success().stdout(contains(
        "left out dataset 2 ('/there/spare') there, which no run there trained on: the same \
         images are recorded as dataset 1 ('/there/spare') with a different dev split hash",
    ));
    let here = Lab::open_read_only(&fresh)?;
    assert_eq!(here.list_runs()?.len(), 3);
    assert_eq!(
        count(&here, "datasets")?,
        2,
        "its own and the runs' dataset"
    );

    // The other lab holds the runs' images split two ways (a lab from before datasets were
    // told apart by content alone), the way no run used first: it is what stays out, whichever
    // comes first there.
    let two_ways = dir.path().join("two-ways.db");
    {
        let lab = Lab::open(&two_ways)?;
        let mut unused = common::dataset();
        unused.splits[1].hash = "older rule".into();
        let first = lab.ensure_dataset(&unused)?;
        // Kept apart from the next while it is recorded, as two labs merged before v21 were.
        let set_content = |hash: &str| {
            lab.conn().execute(
                "UPDATE datasets SET content_hash = ?1 WHERE id = ?2",
                rusqlite::params![hash, first.0],
            )
        };
        set_content("apart")?;
        let mut new = common::new_run("r", "resnet18", 1, &[]);
        new.dataset_id = Some(lab.ensure_dataset(&common::dataset())?);
        lab.create_run(&new)?;
        set_content(&common::dataset().content_hash)?;
    }
    let empty = dir.path().join("empty.db");
    Lab::open(&empty)?;
    merge(&empty, &two_ways)?
        .success()
        .stdout(contains("left out dataset 1 ('synthetic') there"))
        .stdout(contains("1 run added"));
    Ok(())
}

/// A merge that fails at its last run leaves nothing of the runs before it: one transaction.
#[test]
fn a_merge_that_fails_halfway_leaves_this_lab_as_it_was() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let theirs = dir.path().join("gpu.db");
    let runs = common::fixture_lab(&theirs)?;
    assert!(runs.len() > 1);
    let last = runs.last().context("a run")?;
    Lab::open(&theirs)?.conn().execute_batch(&format!(
        "PRAGMA foreign_keys = OFF; UPDATE runs SET dataset_id = 999 WHERE id = {}",
        last.0
    ))?;
    let here = Lab::open(&dir.path().join("lab.db"))?;
    let err = here
        .merge_from(&Lab::open_read_only(&theirs)?)
        .err()
        .context("must fail")?;
    assert!(
        format!("{err:#}").contains(&format!(
            "run {} names dataset 999, which is missing",
            last.0
        )),
        "{err:#}"
    );
    for table in [
        "runs",
        "metrics",
        "checkpoints",
        "evaluations",
        "datasets",
        "run_tags",
    ] {
        assert_eq!(count(&here, table)?, 0, "{table}");
    }
    Ok(())
}

#[test]
fn evaluations_arrive_linked_to_the_copied_checkpoints() -> Result<()> {
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
                    checkpoint_sha256: None,
                    protocol: Protocol::LfwPairs,
                    data_source: "pairs.txt + lfw.tgz".into(),
                    options: serde_json::json!({ "flip": true }),
                    metrics: vec![
                        EvalMetric::new("roc_auc", 0.91),
                        EvalMetric::new("eer", 0.17),
                    ],
                    code: CodeVersion::current(),
                    ran_on: facenet_lab::lab::RanOn::here("cpu"),
                })?;
            }
        }
    }
    let ours = dir.path().join("lab.db");
    Lab::open(&ours)?.create_run(&common::new_run("local", "resnet152", 9, &[]))?;
    merge(&ours, &theirs)?
        .success()
        .stdout(contains("1 evaluation and 0 resumes copied"));
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
            checkpoint_sha256: None,
            protocol: Protocol::TestSplit,
            data_source: format!("split {acc}"),
            options: serde_json::json!({}),
            metrics: vec![EvalMetric::new("top1_seed_gallery", acc)],
            code: CodeVersion::current(),
            ran_on: facenet_lab::lab::RanOn::here("cpu"),
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
        .stdout(contains("1 evaluation and 0 resumes copied"));
    let evals = lab.evaluations(run.id)?;
    let sources: Vec<&str> = evals.iter().map(|e| e.data_source.as_str()).collect();
    assert_eq!(
        sources,
        vec!["pairs.txt + lfw.tgz", "split 0.5", "split 0.6"]
    );
    assert!(evals.iter().all(|e| e.checkpoint_id == Some(ck[0].id)));

    // The checkpoint's row gone here (as a replay drops it): the evaluations keep the sha256
    // of the weights they measured, and the other lab's copy of them, brought by a refresh,
    // takes them back.
    lab.conn()
        .execute("DELETE FROM checkpoints WHERE run_id = ?1", [run.id.0])?;
    assert!(lab
        .evaluations(run.id)?
        .iter()
        .all(|e| e.checkpoint_id.is_none()));
    {
        let there = Lab::open(&theirs)?;
        let r = there.find_run("evaluated")?;
        there.heartbeat(r.id)?;
    }
    merge(&ours, &theirs)?
        .success()
        .stdout(contains("updated run"));
    let ck = lab.checkpoints(run.id)?;
    let evals = lab.evaluations(run.id)?;
    assert_eq!(evals.len(), 3);
    assert!(
        evals.iter().all(|e| e.checkpoint_id == Some(ck[0].id)),
        "{evals:?}"
    );
    Ok(())
}

#[test]
fn a_run_started_from_a_checkpoint_stays_linked_to_its_run_across_a_merge() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let theirs = dir.path().join("gpu.db");
    let ours = dir.path().join("lab.db");
    let started_from = |name: &str, seed: i64, file: &str, sha: &str| {
        let mut r = common::new_run(name, "resnet18", seed, &[]);
        r.hyper.init = Some(format!("/x/{file}"));
        r.hyper.init_sha256 = Some(sha.into());
        r
    };
    // Here, a run of its own first (so that ids differ), whose checkpoint was carried there.
    let here = Lab::open(&ours)?;
    let local = here.create_run(&common::new_run("local", "resnet18", 0, &[]))?;
    here.add_checkpoint(&checkpoint(local, 5, "final", "cafe"))?;
    // There, a parent whose best starts a child, and is replaced by a better one after.
    let remote = Lab::open(&theirs)?;
    let parent = remote.create_run(&common::new_run("parent", "resnet18", 1, &[]))?;
    remote.add_checkpoint(&checkpoint(parent, 3, "best", "beef"))?;
    let child = remote.create_run(&started_from("child", 2, "best.safetensors", "beef"))?;
    remote.replace_checkpoints(&checkpoint(parent, 6, "best", "f00d"))?;
    // Started like the child, too (`run --like`).
    let carried = remote.create_run(&facenet_lab::lab::NewRun {
        like_run: Some(child),
        ..started_from("carried", 3, "final.safetensors", "cafe")
    })?;
    assert_eq!(remote.run(child)?.context("child")?.init_run, Some(parent));

    here.merge_from(&Lab::open_read_only(&theirs)?)?;
    let (parent_here, child_here) = (here.find_run("parent")?, here.find_run("child")?);
    assert_ne!(parent_here.id, parent, "ids differ between the labs");
    assert_eq!(child_here.init_run, Some(parent_here.id));
    assert_eq!(here.find_run("carried")?.init_run, Some(local));
    assert_eq!(here.find_run("carried")?.like_run, Some(child_here.id));
    assert_eq!(child_here.like_run, None);
    let lineage = here.lineage(&child_here)?;
    let ancestors: Vec<RunId> = lineage.ancestors.iter().map(|o| o.run.id).collect();
    assert_eq!((ancestors, lineage.outside), (vec![parent_here.id], None));

    // The local run's checkpoint goes here (no file of that sha256 left to find the parent by)
    // while the carried run trains on there, with a note written there: merged again, the run
    // keeps where it started from, and the note, where this lab wrote none, arrives.
    here.conn()
        .execute("DELETE FROM checkpoints WHERE run_id = ?1", [local.0])?;
    here.set_notes(here.find_run("carried")?.id, "")?;
    remote.mark_running(carried, 10, 7)?;
    remote.record(
        carried,
        &[MetricPoint::new(1, 1, metric::TRAIN_LOSS, 0.3)],
        &RunSummaryUpdate::default(),
    )?;
    remote.set_notes(carried, "written there")?;
    drop(remote);
    let s = here.merge_from(&Lab::open_read_only(&theirs)?)?;
    assert_eq!(s.updated.len(), 1, "{s:?}");
    let carried_here = here.find_run("carried")?;
    assert_eq!(
        (carried_here.init_run, carried_here.like_run),
        (Some(local), Some(child_here.id))
    );
    assert_eq!(carried_here.notes, "written there");
    Ok(())
}
