//! The `run` command as a person uses it: bad input is refused before anything is recorded,
//! and Ctrl-C leaves an interrupted run with a checkpoint.

mod common;
mod data_support;

use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use candle_core::Device;
use common::process::{output_within, poll, signal};
use common::TINY_RUN;
use facenet_lab::lab::{Lab, RunId, RunStatus};
use facenet_lab::train::checkpoint;

/// Runs `args`, expects failure with `want` in the message, and no run recorded.
fn refused(args: &[&str], want: &str) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let out = common::facenet(&db)?.args(args).output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(err.contains(want), "{args:?}: expected '{want}' in:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    if db.exists() {
        assert!(
            Lab::open(&db)?.list_runs()?.is_empty(),
            "{args:?} recorded a run"
        );
    }
    Ok(())
}

/// Without `--data`, `run` reads the archive `data fetch` put in place: where there is none it
/// says how to get one or name another (not `data inspect`, another command's way), and one of
/// another size than the official file (left there when its replacement failed) is warned of.
#[test]
fn run_without_data_names_the_fetched_archive_and_warns_of_an_unofficial_one() -> Result<()> {
    let home = tempfile::tempdir()?;
    let share = home.path().join("share");
    let db = home.path().join("lab.db");
    let run = || -> Result<std::process::Output> {
        Ok(common::facenet(&db)?
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", &share)
            .args(["run", "resnet18", "--image-size", "16", "--device", "cpu"])
            .output()?)
    };
    let out = run()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("no dataset found")
            && err.contains("facenet-lab data fetch")
            && err.contains("`--data PATH`")
            && !err.contains("data inspect"),
        "{err}"
    );
    let tgz = share.join("facenet-lab/lfw.tgz");
    std::fs::create_dir_all(share.join("facenet-lab"))?;
    std::fs::write(&tgz, "not the archive")?;
    let out = run()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let warning = format!(
        "warning: {} has 15 bytes, not the 180566744 of the official lfw.tgz",
        tgz.display()
    );
    assert_eq!(err.matches(&warning).count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    Ok(())
}

#[test]
fn bad_settings_are_refused_before_anything_is_recorded() -> Result<()> {
    let syn = [
        "--data",
        "synthetic:4:8",
        "--image-size",
        "16",
        "--device",
        "cpu",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["run", "resnet18"];
        v.extend_from_slice(&syn);
        v.extend_from_slice(extra);
        v
    };
    refused(&["run", "vgg16"], "vgg16")?;
    refused(&with(&["--dim", "1"]), "--dim must be at least 2")?;
    refused(&with(&["--batch", "2"]), "--batch must be at least 3")?;
    refused(&with(&["--lr", "0"]), "--lr must be a positive number")?;
    refused(&with(&["--lr", "-0.1"]), "--lr must be a positive number")?;
    refused(&with(&["--epochs", "0"]), "--epochs must be at least 1")?;
    refused(
        &with(&["--tag", "a;b"]),
        "--tag: tag 'a;b' holds a comma, semicolon or space",
    )?;
    refused(
        &with(&["--augment", "false"]),
        "hint: write --augment=false (a switch takes its value after '=')",
    )?;
    refused(
        &with(&["--lr", "0", "--epochs", "0"]),
        "2 problems with the settings:\n  --lr must be a positive number, got 0\n  --epochs must be at least 1",
    )?;
    refused(
        &with(&["--time-limit", "0s"]),
        "--time-limit must be longer than 0s",
    )?;
    refused(&with(&["--name", "2-4"]), "read that as a range of run ids")?;
    refused(
        &["run", "resnet18", "--data", "/no/such/lfw"],
        "does not exist",
    )?;
    refused(&with(&["--tf32"]), "--tf32 is for CUDA's tensor cores")?;
    if !cfg!(feature = "cuda") {
        // `gpu` is another name for it.
        for device in ["cuda", "gpu"] {
            refused(
                &["run", "resnet18", "--data", "synthetic", "--device", device],
                "--device cuda or gpu: this facenet-lab was built without CUDA",
            )?;
        }
        // The default device can only be the CPU, which has no TF32.
        refused(
            &[&TINY_RUN[..], &["--tf32"]].concat(),
            "--tf32 is for CUDA's tensor cores, and this facenet-lab was built without CUDA",
        )?;
    }
    // The lab does not exist: resuming never starts one.
    refused(&["run", "--resume", "42"], "no lab database at")?;
    Ok(())
}

/// A run whose data is refused leaves no lab behind that it created, and leaves alone one
/// that was there.
#[test]
fn a_run_refused_on_its_data_leaves_no_new_lab() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let empty = dir.path().join("faces");
    std::fs::create_dir(&empty)?;
    let db = dir.path().join("new.db");
    let out = common::facenet(&db)?
        .args(["run", "resnet18", "--data"])
        .arg(&empty)
        .output()?;
    assert!(!out.status.success());
    let left: Vec<String> = std::fs::read_dir(dir.path())?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    assert_eq!(left, ["faces"], "{}", String::from_utf8_lossy(&out.stderr));
    // A lab that was there stays, whatever the run.
    Lab::open(&db)?;
    let out = common::facenet(&db)?
        .args(["run", "resnet18", "--data"])
        .arg(&empty)
        .output()?;
    assert!(!out.status.success());
    assert!(db.exists());
    Ok(())
}

#[test]
fn bad_config_files_are_refused_with_the_key_named() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // (command, the file's text, what is said). A key a letter or two from a setting is taken
    // for it; a sweep spec without its tag says what the tag is.
    for (command, text, said) in [
        (
            "run",
            "model = \"resnet18\"\nlearning_rate = 0.1\n",
            "unknown field `learning_rate`",
        ),
        (
            "run",
            "model = \"resnet18\"\nimage_sise = 32\n",
            "`image_sise` is no setting: did you mean `image_size`?",
        ),
        (
            "sweep",
            "[base]\nmodel = \"resnet18\"\n",
            "a sweep spec starts with `tag = \"NAME\"`",
        ),
        (
            "run",
            "model = \"resnet18\"\nbatch = \"thirty-two\"\n",
            "invalid type",
        ),
        (
            "run",
            "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n",
            "is an experiment file of several runs, not one run's config: start it with \
             `facenet-lab sweep",
        ),
    ] {
        let file = dir.path().join("settings.toml");
        std::fs::write(&file, text)?;
        let path = file.to_str().context("path")?;
        let args = match command {
            "run" => vec!["run", "--config", path],
            _ => vec!["sweep", path, "--dry-run"],
        };
        refused(&args, said)?;
    }
    Ok(())
}

/// `--like RUN` starts a new run with the settings another recorded, its model included, but
/// its name, note and tags; the flags change what they give.
#[test]
fn a_run_like_another_takes_its_settings_and_the_flags_change_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let (_, err) = common::succeeds(common::facenet(&db)?.args(TINY_RUN).args([
        "--epochs", "1", "--lr", "3e-4", "--margin", "0.3", "--crop", "0.75", "--seed", "3",
        "--mining", "semihard", "--name", "first", "--note", "a note", "--tag", "x", "--quiet",
    ]));
    // The first run says it started the lab, where a mistyped --db would otherwise hide it.
    let new_lab = format!("recorded in a new lab, '{}'", db.display());
    assert!(err.contains(&new_lab), "{err}");
    // By name, without a model: the first run's settings but the seed, under a new name.
    let (_, err) = common::succeeds(common::facenet(&db)?.args([
        "run", "--like", "first", "--seed", "4", "--tag", "y", "--quiet",
    ]));
    assert!(!err.contains("new lab"), "{err}");
    let lab = Lab::open_read_only(&db)?;
    let settings = |id: i64| -> Result<serde_json::Value> {
        let run = lab.run(RunId(id))?.context("run")?;
        Ok(serde_json::from_str(&run.config_json)?)
    };
    let (first, second) = (settings(1)?, settings(2)?);
    let keys = first.as_object().context("settings")?.keys();
    let differ: Vec<&str> = keys
        .map(String::as_str)
        .filter(|&k| first[k] != second[k])
        .collect();
    assert_eq!(differ, ["name", "note", "seed", "tags"], "{err}");
    assert_eq!(second["seed"], 4);
    assert_eq!(second["tags"], serde_json::json!(["y"]));
    assert_eq!(second["note"], "");
    let second_run = lab.run(RunId(2))?.context("run 2")?;
    assert_ne!(second_run.name, "first");
    assert_eq!(
        second_run.like_run,
        Some(RunId(1)),
        "the record says which run"
    );
    assert_eq!(lab.run(RunId(1))?.context("run 1")?.like_run, None);
    assert!(!err.contains("are not those run"), "the same images: {err}");
    assert_eq!(second_run.hyper.lr, 3e-4);
    // A model named on the command line replaces the other run's, at the other's image size
    // (which AlexNet refuses); a run that is not there is named; --like does not mix with
    // --resume.
    common::fails_with(
        common::facenet(&db)?.args(["run", "alexnet", "--like", "1"]),
        &["--image-size 16 is too small for alexnet"],
    );
    common::fails_with(
        common::facenet(&db)?.args(["run", "--like", "9"]),
        &["no run '9' in lab"],
    );
    // A run that chose CUDA, liked by a build without it: the choice is said to be that
    // run's, before anything starts.
    if !cfg!(feature = "cuda") {
        // Copied by SQLite: a copy by std::fs would drop this process's locks on the lab.
        let copy = dir.path().join("cuda.db");
        lab.conn()
            .execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
        Lab::open(&copy)?.conn().execute_batch(
            "UPDATE runs SET config_json = json_set(config_json, '$.device', 'cuda') WHERE id = 1",
        )?;
        common::fails_with(
            common::facenet(&copy)?.args(["run", "--like", "1"]),
            &[
                "run 1 chose --device cuda, which this facenet-lab was built without: give \
               --device cpu (or auto)",
            ],
        );
    }
    // Other images are said to be other: their dev accuracies do not compare.
    let (_, err) = common::succeeds(common::facenet(&db)?.args([
        "run",
        "--like",
        "1",
        "--data",
        "synthetic:5:8",
        "--quiet",
    ]));
    assert!(
        err.contains("note: these images or their split are not those run 1 trained on"),
        "{err}"
    );
    // A run like one that started from a file finds that file by its sha256: replaced, it is
    // refused, unless --init names it again.
    let file_of = |id: i64| -> Result<std::path::PathBuf> {
        let ck = lab.checkpoints(RunId(id))?.pop().context("a checkpoint")?;
        Ok(lab.resolve(&ck.path))
    };
    let start = file_of(1)?;
    common::succeeds(
        common::facenet(&db)?
            .args(TINY_RUN)
            .args([
                "--epochs",
                "1",
                "--lr",
                "1e-12",
                "--fresh-embedding",
                "--quiet",
            ])
            .arg("--init")
            .arg(&start),
    );
    std::fs::copy(file_of(2)?, &start)?;
    common::fails_with(
        common::facenet(&db)?.args(["run", "--like", "4"]),
        &["run 4 started from --init", "and the file there now has"],
    );
    common::succeeds(
        common::facenet(&db)?
            .args(["run", "--like", "4", "--quiet", "--init"])
            .arg(&start),
    );
    // `--init none` drops the file for the seed's random draw.
    common::succeeds(
        common::facenet(&db)?.args(["run", "--like", "4", "--init", "none", "--quiet"]),
    );
    let last = lab.list_runs()?.pop().context("the last run")?;
    assert_eq!((last.hyper.init, last.like_run), (None, Some(RunId(4))));
    assert!(
        last.config_json.contains("\"fresh_embedding\":false"),
        "--init none drops the layer choice that came with the file: {}",
        last.config_json
    );
    // Gone, the file is asked for.
    std::fs::remove_file(&start)?;
    common::fails_with(
        common::facenet(&db)?.args(["run", "--like", "4"]),
        &[
            "run 4 started from --init",
            "pass --init PATH naming that file where it is now",
        ],
    );
    common::facenet(&db)?
        .args(["run", "--like", "1", "--resume", "1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("cannot be used with"));
    Ok(())
}

/// A run like one whose images were given by a relative path, started from another folder,
/// finds them where the lab recorded them (their canonical path); gone from there, they are
/// asked for. A `--config` file goes over the other run's settings, and the flags over both.
#[test]
fn a_run_like_another_finds_its_images_through_the_lab_and_takes_a_config_over_them() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    std::fs::create_dir_all(&second)?;
    let faces = [("Ann_Lee", 10), ("Bo_Chan", 10), ("Cy_Dorr", 10)];
    data_support::write_lfw(&first.join("faces"), &faces, false)?;
    common::succeeds(common::facenet(&db)?.current_dir(&first).args([
        "run",
        "resnet18",
        "--data",
        "faces",
        "--min-images",
        "10",
        "--image-size",
        "16",
        "--batch",
        "6",
        "--epochs",
        "1",
        "--margin",
        "0.3",
        "--quiet",
    ]));
    let config = second.join("lower-lr.toml");
    std::fs::write(&config, "lr = 1e-3\nseed = 5\n")?;
    let (_, err) = common::succeeds(common::facenet(&db)?.current_dir(&second).args([
        "run",
        "--like",
        "1",
        "--config",
        "lower-lr.toml",
        "--seed",
        "9",
        "--quiet",
    ]));
    let lab = Lab::open_read_only(&db)?;
    let [run1, run2] = [1, 2].map(|id| lab.run(RunId(id)).ok().flatten());
    let (run1, run2) = (run1.context("run 1")?, run2.context("run 2")?);
    assert_eq!(run2.dataset_id, run1.dataset_id, "the same images: {err}");
    assert!(!err.contains("are not those run"), "{err}");
    assert_eq!(
        (run2.hyper.lr, run2.hyper.seed, run2.hyper.margin),
        (1e-3, 9, 0.3),
        "the file's lr, the flag's seed over the file's, the other run's margin"
    );
    assert_eq!(run2.like_run, Some(RunId(1)));

    std::fs::rename(first.join("faces"), dir.path().join("moved"))?;
    common::fails_with(
        common::facenet(&db)?
            .current_dir(&second)
            .args(["run", "--like", "1"]),
        &[
            "starting a run like run 1: --data PATH names its images where they are now",
            // Recorded absolute: the path it was given, `faces`, from `first`.
            "first/faces', which does not exist here",
        ],
    );
    Ok(())
}

#[test]
fn a_completed_run_is_not_resumed_and_flags_do_not_mix_with_resume() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::facenet(&db)?
        .args(TINY_RUN)
        .args(["--epochs", "1", "--zero-init-residual", "--quiet"])
        .assert()
        .success();
    // The blocks' last BatchNorm weights started at 0, not 1: after 4 Adam steps at 1e-4 they
    // are still within 1e-3 of it.
    let lab = Lab::open(&db)?;
    let run = lab.find_run("1")?;
    assert!(run.hyper.zero_init_residual);
    let last = lab.checkpoints(run.id)?.pop().context("a checkpoint")?;
    let ck = checkpoint::load(&lab.resolve(&last.path), Some(&last.sha256), &Device::Cpu)?;
    let final_path = lab.resolve(&last.path);
    for (name, gate) in [
        ("layer1.0.bn2.weight", true),
        ("layer1.0.bn1.weight", false),
    ] {
        let w = ck.tensors.get(name).context("weight")?;
        let max = w.abs()?.max(0)?.to_scalar::<f32>()?;
        assert_eq!(max < 1e-3, gate, "{name}: max |w| {max}");
    }
    drop(lab);
    let out = common::facenet(&db)?
        .args(["run", "--resume", "1"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "already completed; start a new run like it instead: `facenet-lab --db {} run \
             --like 1`",
            db.display()
        )),
        "{err}"
    );
    // And how to go on from its weights: the final checkpoint, where the lab keeps it.
    assert_eq!(last.kind, "final");
    assert!(
        err.contains(&format!(
            "to train it further, add `--init {}` to start from its final weights",
            final_path.display()
        )),
        "{err}"
    );
    let out = common::facenet(&db)?
        .args(["run", "--resume", "1", "--lr", "0.1"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("recorded settings: drop --lr (only --device"),
        "{err}"
    );
    let runs = Lab::open(&db)?.list_runs()?;
    assert_eq!((runs.len(), runs[0].status), (1, RunStatus::Completed));
    // A run recorded in TF32 (on a GPU) resumes on a GPU alone, and says why. (Without its
    // final checkpoint: with it, nothing is left to train, and the run is only closed.)
    Lab::open(&db)?.conn().execute_batch(
        "UPDATE runs SET status = 'interrupted', tf32 = 1,
                config_json = json_set(config_json, '$.tf32', json('true'));
         DELETE FROM checkpoints WHERE kind = 'final';",
    )?;
    let out = common::facenet(&db)?
        .args(["run", "--resume", "1", "--device", "cpu"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("run 1 multiplied its matrices in TF32 (--tf32), which only CUDA does"),
        "{err}"
    );
    Lab::open(&db)?.conn().execute_batch(
        "UPDATE runs SET status = 'completed', tf32 = 0,
                config_json = json_set(config_json, '$.tf32', json('false'));",
    )?;
    // A mistyped lab is refused, not started empty.
    let typo = dir.path().join("lb.db");
    let out = common::facenet(&typo)?
        .args(["run", "--resume", "1"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no lab database at"), "{err}");
    assert!(!typo.exists(), "resume started a lab at {}", typo.display());

    // A run that crashed before its first checkpoint starts over, and says so.
    Lab::open(&db)?
        .conn()
        .execute_batch("UPDATE runs SET status = 'crashed'; DELETE FROM checkpoints;")?;
    let (_, err) =
        common::succeeds(common::facenet(&db)?.args(["run", "--resume", "1", "--quiet"]));
    assert!(
        err.contains(
            "note: run 1 has no checkpoint to resume from (it stopped before writing one)"
        ) && err.contains("it starts over from step 0, and its 3 steps recorded are dropped")
            && !err.contains("replay"),
        "{err}"
    );
    Ok(())
}

/// `facenet-lab --db DB ARGS...` as a trainer in the background: stdout discarded, stderr
/// piped for the test to read.
fn trainer(db: &Path, args: &[&str]) -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("facenet-lab"));
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Starts `cmd` and returns it once the lab's first run has recorded more than `steps` steps;
/// one that does not get there is killed, its stderr in the error.
fn started(mut cmd: StdCommand, db: &Path, steps: i64) -> Result<std::process::Child> {
    let mut child = cmd.spawn()?;
    match steps_past(db, steps, &mut child) {
        Ok(()) => Ok(child),
        Err(e) => {
            // No long trainer is left behind by a failing test.
            let _ = child.kill();
            let out = child.wait_with_output()?;
            Err(e.context(String::from_utf8_lossy(&out.stderr).into_owned()))
        }
    }
}

/// A long tiny run in the background, started with `prepare` run in the child before exec;
/// returned once it has recorded some steps.
fn training(db: &Path, prepare: fn() -> std::io::Result<()>) -> Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let mut cmd = trainer(db, &[&TINY_RUN[..], &["--epochs", "500"]].concat());
    // SAFETY: `prepare` only changes signal dispositions, which is async-signal-safe.
    unsafe { cmd.pre_exec(prepare) };
    started(cmd, db, 2)
}

/// Waits (two minutes at most) until the lab's first run has recorded more than `steps` steps,
/// while `child` keeps running.
fn steps_past(db: &Path, steps: i64, child: &mut std::process::Child) -> Result<()> {
    let what = format!("the run did not get past step {steps}");
    poll(Duration::from_secs(120), &what, || {
        anyhow::ensure!(child.try_wait()?.is_none(), "the trainer exited");
        Ok((last_iteration(db) > steps).then_some(()))
    })
}

/// The first run's last recorded step, or 0 before there is one.
fn last_iteration(db: &Path) -> i64 {
    (db.exists().then(|| Lab::open_read_only(db).ok()).flatten())
        .and_then(|l| l.list_runs().ok())
        .and_then(|r| r.first().map(|r| r.last_iteration))
        .unwrap_or(0)
}

/// Settings that do less than they say are warned of before the run: a batch larger than the
/// training split, and checkpoints or evaluations every N epochs in a run of no more.
#[test]
fn settings_that_do_less_than_they_say_are_warned_of() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    // TINY_RUN but its batch.
    let (_, err) = common::succeeds(common::facenet(&db)?.args(&TINY_RUN[..6]).args([
        "--batch",
        "64",
        "--epochs",
        "2",
        "--checkpoint-every",
        "2",
        "--eval-every",
        "3",
        "--patience",
        "3",
        "--quiet",
    ]));
    for said in [
        "warning: --patience 3 can never stop a run of 2 epochs early: it runs out 3 epochs \
         after the best, at epoch 6 at the soonest",
        "warning: --checkpoint-every 2 writes no checkpoint of its own in a run of 2 epochs",
        "warning: --eval-every 3 evaluates only the last of the run's 2 epochs",
        "24 train / 4 dev / 4 test images of 4 identities",
        "warning: --batch 64 is more than the 24 training images: each epoch is one step",
    ] {
        assert!(err.contains(said), "{said}:\n{err}");
    }
    let (_, err) = common::succeeds(common::facenet(&db)?.args(TINY_RUN).args([
        "--epochs",
        "3",
        "--checkpoint-every",
        "2",
        "--patience",
        "1",
        "--quiet",
    ]));
    assert!(!err.contains("warning"), "{err}");
    Ok(())
}

/// The images-per-person filter picks LFW's people; synthetic data has none to pick, and says
/// so rather than record a filter that did nothing unremarked.
#[test]
fn an_images_per_person_filter_on_synthetic_data_is_warned_of() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let (_, err) = common::succeeds(common::facenet(&db)?.args(TINY_RUN).args([
        "--epochs",
        "1",
        "--min-images",
        "30",
    ]));
    assert!(
        err.contains("warning: --min-images and --max-images (min_images, max_images) have no effect on synthetic data"),
        "{err}"
    );
    let plain = common::facenet(&db)?
        .args(TINY_RUN)
        .args(["--epochs", "1"])
        .output()?;
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("warning"));
    Ok(())
}

/// A run whose output is piped into a reader that leaves (`run ... 2>&1 | head -2`) trains on,
/// completes and keeps its checkpoints: its messages go nowhere, and nothing panics.
#[test]
fn a_run_whose_reader_leaves_trains_on_and_completes() -> Result<()> {
    use std::io::BufRead;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    // Seconds of training after the reader leaves, each epoch with its line.
    let mut child = trainer(&db, &[&TINY_RUN[..], &["--epochs", "10"]].concat()).spawn()?;
    let stderr = child.stderr.take().context("stderr")?;
    let mut first = String::new();
    std::io::BufReader::new(stderr).read_line(&mut first)?;
    assert!(first.starts_with("run 1 "), "{first}");
    // The reader is gone: every later message meets a closed pipe.
    let status = common::process::exits_within(&mut child, Duration::from_secs(120))?;
    assert!(status.success(), "{status}");
    let lab = Lab::open_read_only(&db)?;
    let run = lab.list_runs()?.remove(0);
    assert_eq!(run.status, RunStatus::Completed, "{:?}", run.error);
    assert!(
        lab.checkpoints(run.id)?.iter().any(|c| c.kind == "final"),
        "no final checkpoint"
    );
    Ok(())
}

/// Started under `nohup` (SIGHUP ignored), a run goes on when its terminal hangs up.
#[test]
fn a_run_started_with_sighup_ignored_survives_a_hangup() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let mut child = training(&db, || {
        // SAFETY: SIG_IGN runs no code.
        unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
        Ok(())
    })?;
    signal(&child, libc::SIGHUP)?;
    // Two steps after the hangup, it is still training (a run that took the hangup as Ctrl-C
    // would have stopped after its current step).
    let hung_up_at = last_iteration(&db);
    let still = steps_past(&db, hung_up_at + 2, &mut child);
    signal(&child, libc::SIGINT)?;
    let (code, err) = output_within(child, Duration::from_secs(120))?;
    still.with_context(|| err.clone())?;
    assert_eq!(code, Some(130), "{err}");
    let run = Lab::open(&db)?.list_runs()?.remove(0);
    assert_eq!(run.status, RunStatus::Interrupted);
    Ok(())
}

/// `git checkout lab.db` (or a stash) while a run trains into it: the run stops at once and
/// says why, instead of recording the rest of its training into the old file, unseen, and the
/// lab put in its place stays whole.
#[test]
fn a_run_whose_lab_file_is_replaced_stops_and_says_so() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let child = training(&db, || Ok(()))?;
    let copy = dir.path().join("copy.db");
    Lab::open_read_only(&db)?
        .conn()
        .execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
    let copied = Lab::open_read_only(&copy)?.list_runs()?.remove(0);
    std::fs::rename(&copy, &db)?;
    let (code, err) = output_within(child, Duration::from_secs(60))?;
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the lab file '{}' was replaced or removed",
            db.display()
        )),
        "{err}"
    );
    let lab = Lab::open_read_only(&db)?;
    let check: String = lab
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(check, "ok");
    let run = lab.list_runs()?.remove(0);
    assert_eq!(
        (run.status, run.last_iteration),
        (copied.status, copied.last_iteration),
        "the lab put in place is as it was copied"
    );
    Ok(())
}

#[test]
fn sigint_leaves_an_interrupted_run_with_a_checkpoint() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let child = training(&db, || Ok(()))?;
    // Twice in quick succession, as a scheduler that signals a whole job reaches a sweep's run
    // directly and through the sweep: one request to stop, not a second Ctrl-C to quit.
    signal(&child, libc::SIGINT)?;
    signal(&child, libc::SIGINT)?;
    let (code, err) = output_within(child, Duration::from_secs(120))?;
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains(&format!(
            "continue with: facenet-lab --db {} run --resume 1",
            db.display()
        )),
        "{err}"
    );

    let lab = Lab::open(&db)?;
    let run = lab.run(facenet_lab::lab::RunId(1))?.context("run")?;
    assert_eq!(run.status, RunStatus::Interrupted);
    let cks = lab.checkpoints(run.id)?;
    let ck = cks
        .iter()
        .find(|c| c.kind == "interrupt")
        .context("interrupt checkpoint")?;
    assert!(ck.iteration >= 3 && dir.path().join(&ck.path).is_file());
    Ok(())
}

/// A run killed outright (SIGKILL, the OOM killer) cannot say it stopped; on its own host its
/// process is found gone, so it reads as crashed and resumes at once, where elsewhere its
/// heartbeat must first go stale.
#[test]
fn a_run_killed_outright_is_crashed_at_once_on_its_host_and_resumes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let mut child = training(&db, || Ok(()))?;
    child.kill()?;
    child.wait()?;
    let status = || -> Result<String> {
        let (out, _) = common::succeeds(common::facenet(&db)?.args(["runs", "--json"]));
        let runs: serde_json::Value = serde_json::from_str(&out)?;
        Ok(runs[0]["effective_status"]
            .as_str()
            .unwrap_or("?")
            .to_string())
    };
    assert_eq!(status()?, "crashed");
    // The record itself still says running, its heartbeat fresh.
    let run = Lab::open_read_only(&db)?.run(RunId(1))?.context("run")?;
    assert_eq!(run.status, RunStatus::Running);
    assert!(facenet_lab::lab::now() - run.heartbeat_at.context("heartbeat")? < 30.0);
    let out = common::facenet(&db)?
        .args(["run", "--resume", "1", "--time-limit", "1s"])
        .output()?;
    let said = String::from_utf8_lossy(&out.stderr);
    // Stopped by its time limit: resumable, not completed, which its exit status says.
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert_eq!(status()?, "interrupted", "{said}");
    Ok(())
}

/// SIGTERM (`kill`, a job scheduler) and SIGHUP (the terminal closed) stop a run as Ctrl-C
/// does: after its step, with its checkpoint.
#[test]
fn sigterm_and_sighup_stop_a_run_as_ctrl_c_does() -> Result<()> {
    for (signal_number, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("lab.db");
        // As from a terminal, even where the tests themselves run under `nohup`.
        let child = training(&db, || {
            // SAFETY: restores the default disposition; no code runs.
            unsafe { libc::signal(libc::SIGHUP, libc::SIG_DFL) };
            Ok(())
        })?;
        signal(&child, signal_number)?;
        let (code, err) = output_within(child, Duration::from_secs(120))?;
        assert_eq!(code, Some(130), "{name}: {err}");
        let lab = Lab::open(&db)?;
        let run = lab.list_runs()?.remove(0);
        assert_eq!(run.status, RunStatus::Interrupted, "{name}");
        assert!(
            lab.checkpoints(run.id)?
                .iter()
                .any(|c| c.kind == "interrupt"),
            "{name}: no interrupt checkpoint"
        );
    }
    Ok(())
}

/// ResNet152 on the CPU, so that a step and the checkpoint after it (700 MB with Adam's state,
/// and its sha256) outlast a pause of more than half a second between two signals.
const SLOW_CHECKPOINT_RUN: [&str; 14] = [
    "run",
    "resnet152",
    "--data",
    "synthetic:4:8",
    "--image-size",
    "64",
    "--batch",
    "16",
    "--dim",
    "64",
    "--epochs",
    "500",
    "--device",
    "cpu",
];

/// SIGUSR1, a sweep's stop, stops a run as Ctrl-C does; sent again, or after a Ctrl-C, it asks
/// nothing more: the run that the dashboard stopped alone, a moment before its sweep, still
/// writes its checkpoint (a second SIGINT would make it quit without one).
#[test]
fn a_sweeps_stop_after_a_ctrl_c_lets_the_checkpoint_be_written() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let child = training(&db, || Ok(()))?;
    signal(&child, facenet_lab::signals::STOP_ONCE)?;
    let (code, err) = output_within(child, Duration::from_secs(120))?;
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains(
            "asked to stop (by the dashboard, a sweep or `kill -USR1`): stopping after \
                      this step to write a checkpoint"
        ) && !err.contains("Ctrl-C again"),
        "no Ctrl-C to press where the dashboard or a sweep started it: {err}"
    );

    let db = dir.path().join("second.db");
    let mut child = started(trainer(&db, &SLOW_CHECKPOINT_RUN), &db, 1)?;
    signal(&child, libc::SIGINT)?;
    std::thread::sleep(facenet_lab::signals::SAME_REQUEST + Duration::from_millis(100));
    assert!(
        child.try_wait()?.is_none(),
        "stopped before the sweep's stop"
    );
    signal(&child, facenet_lab::signals::STOP_ONCE)?;
    let (code, err) = output_within(child, Duration::from_secs(120))?;
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("stopping now"), "{err}");
    let lab = Lab::open(&db)?;
    let kinds: Vec<String> = lab
        .checkpoints(RunId(1))?
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert!(kinds.iter().any(|k| k == "interrupt"), "{kinds:?}: {err}");
    assert_eq!(
        lab.run(RunId(1))?.context("run")?.status,
        RunStatus::Interrupted
    );
    Ok(())
}

/// A second Ctrl-C quits at once, mid-step or mid-checkpoint: the run is recorded interrupted
/// at once (not left running until its heartbeat goes stale), the checkpoint half written is
/// removed, and `--resume` takes the run in its own folder.
#[test]
fn a_second_ctrl_c_quits_at_once_and_leaves_the_run_resumable() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let child = started(trainer(&db, &SLOW_CHECKPOINT_RUN), &db, 1)?;
    signal(&child, libc::SIGINT)?;
    // Past the half second in which a signal repeats the first request.
    std::thread::sleep(facenet_lab::signals::SAME_REQUEST + Duration::from_millis(100));
    signal(&child, libc::SIGINT)?;
    let (code, err) = output_within(child, Duration::from_secs(120))?;
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("stopping now"), "{err}");
    assert!(
        err.contains("run 1 is interrupted without a checkpoint of its last steps"),
        "{err}"
    );
    let lab = Lab::open(&db)?;
    let run = lab.run(RunId(1))?.context("run")?;
    assert_eq!(run.status, RunStatus::Interrupted);
    let kinds: Vec<String> = lab
        .checkpoints(run.id)?
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert!(!kinds.iter().any(|k| k == "interrupt"), "{kinds:?}");
    let folder = dir.path().join("checkpoints/run-1");
    let files = || -> Result<Vec<String>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(&folder)? {
            names.push(e?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    };
    let half_written = |names: &[String]| {
        names
            .iter()
            .any(|n| n.starts_with(".tmp") || n.ends_with(".partial"))
    };
    assert!(!half_written(&files()?), "{:?}", files()?);
    // Resumed at once, in its own folder: a step, then the time limit stops it, and says so.
    let out = common::facenet(&db)?
        .args(["run", "--resume", "1", "--time-limit", "1s"])
        .output()?;
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        said.contains(": its --time-limit of 1s ran out\n"),
        "{said}"
    );
    assert!(
        files()?.iter().any(|n| n.starts_with("interrupt")),
        "{:?}",
        files()?
    );
    assert!(!dir.path().join("checkpoints/run-1-2").exists(), "{said}");
    Ok(())
}

/// The value of `name` in the safetensors file at `path`, flattened.
fn weights_in(path: &Path, name: &str) -> Result<Vec<f32>> {
    let t = candle_core::safetensors::load(path, &Device::Cpu)?;
    Ok(t.get(name)
        .with_context(|| format!("{name} in {}", path.display()))?
        .flatten_all()?
        .to_vec1()?)
}

#[test]
fn a_run_starts_from_the_weights_of_another_and_records_the_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::facenet(&db)?
        .args(TINY_RUN)
        .args(["--epochs", "1", "--dim", "16", "--seed", "1", "--quiet"])
        .assert()
        .success();
    let lab = Lab::open(&db)?;
    let ck = lab
        .checkpoints(lab.find_run("1")?.id)?
        .pop()
        .context("a checkpoint")?;
    let init = dir.path().join("start.safetensors");
    std::fs::copy(lab.resolve(&ck.path), &init)?;
    drop(lab);
    let init_arg = init.to_str().context("path")?;

    // Another embedding width, the file named relative to the working directory: everything
    // but the embedding comes from the file. At a learning rate of 1e-12 the weights stay
    // where they started.
    let (_, err) = common::succeeds(
        common::facenet(&db)?
            .current_dir(dir.path())
            .args(TINY_RUN)
            .args([
                "--epochs",
                "1",
                "--dim",
                "8",
                "--lr",
                "1e-12",
                "--init",
                "start.safetensors",
                "--quiet",
            ]),
    );
    assert!(
        err.contains(&format!("weights from '{}' (sha256 {}…): ", init.display(), &ck.sha256[..12]))
            && err.contains("fc.bias, fc.weight keep the seed's random draw (the file's fc.bias is [16], this --dim needs [8])"),
        "{err}"
    );
    let lab = Lab::open(&db)?;
    let run = lab.find_run("2")?;
    assert_eq!(
        run.hyper.init.as_deref(),
        Some(init_arg),
        "recorded absolute"
    );
    assert_eq!(run.hyper.init_sha256.as_deref(), Some(ck.sha256.as_str()));
    drop(lab);
    let started_from_file = |db: &Path| -> Result<f32> {
        let lab = Lab::open(db)?;
        let last = lab.checkpoints(RunId(2))?.pop().context("a checkpoint")?;
        let name = "layer1.0.conv1.weight";
        let (start, end) = (
            weights_in(&init, name)?,
            weights_in(&lab.resolve(&last.path), name)?,
        );
        Ok(start
            .iter()
            .zip(&end)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max))
    };
    let moved = started_from_file(&db)?;
    assert!(moved < 1e-6, "the weights moved {moved} from the file's");

    // Started over from step 0 (no checkpoint survived), the run reads the file again.
    let restart = |db: &Path, extra: &[&str]| -> Result<(bool, String)> {
        Lab::open(db)?.conn().execute_batch(
            "UPDATE runs SET status = 'crashed' WHERE id = 2; DELETE FROM checkpoints WHERE run_id = 2;",
        )?;
        let out = common::facenet(db)?
            .args(["run", "--resume", "2", "--quiet"])
            .args(extra)
            .output()?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    };
    let (ok, err) = restart(&db, &[])?;
    assert!(ok && err.contains("weights from '"), "{err}");
    let moved = started_from_file(&db)?;
    assert!(
        moved < 1e-6,
        "the restart moved {moved} from the file's weights"
    );
    // A refused restart leaves the run as it was: crashed, with no new resume.
    let unchanged = |db: &Path, resumes: usize| -> Result<()> {
        let lab = Lab::open(db)?;
        assert_eq!(lab.find_run("2")?.status, RunStatus::Crashed);
        assert_eq!(lab.resumes(RunId(2))?.len(), resumes);
        Ok(())
    };
    let resumes = Lab::open(&db)?.resumes(RunId(2))?.len();
    // The file moved: named again with --init, and checked to be the same bytes.
    let elsewhere = dir.path().join("moved.safetensors");
    std::fs::rename(&init, &elsewhere)?;
    let (ok, err) = restart(&db, &[])?;
    assert!(
        !ok && err.contains(&format!(
            "run 2 started from --init '{init_arg}', which it reads again to start over: pass \
             --resume 2 --init PATH"
        )),
        "{err}"
    );
    unchanged(&db, resumes)?;
    let moved_arg = elsewhere.to_str().context("path")?;
    let (ok, err) = restart(&db, &["--init", moved_arg])?;
    assert!(
        ok && err.contains(&format!("weights from '{moved_arg}'")),
        "{err}"
    );
    std::fs::rename(&elsewhere, &init)?;
    let elsewhere_copy = dir.path().join("original.safetensors");
    std::fs::copy(&init, &elsewhere_copy)?;
    // A file that changed is refused.
    let mut changed = candle_core::safetensors::load(&init, &Device::Cpu)?;
    let w = changed.get("conv1.weight").context("conv1.weight")?;
    changed.insert("conv1.weight".into(), (w * 2.0)?);
    candle_core::safetensors::save(&changed, &init)?;
    let resumes = Lab::open(&db)?.resumes(RunId(2))?.len();
    let (ok, err) = restart(&db, &[])?;
    assert!(
        !ok && err.contains(&format!(
            "run 2 started from --init '{init_arg}' with sha256 {}",
            ck.sha256
        )),
        "{err}"
    );
    unchanged(&db, resumes)?;
    // A run that started at random has no file to take.
    Lab::open(&db)?
        .conn()
        .execute_batch("UPDATE runs SET status = 'crashed' WHERE id = 1;")?;
    let out = common::facenet(&db)?
        .args(["run", "--resume", "1", "--init", init_arg])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("run 1 started from its seed's random draw, not from an --init file"),
        "{err}"
    );
    let lab = Lab::open(&db)?;
    assert_eq!(lab.find_run("1")?.status, RunStatus::Crashed);
    assert!(lab.resumes(RunId(1))?.is_empty());
    drop(lab);
    // A run resumed from its checkpoint does not read the file, and says so.
    std::fs::copy(&elsewhere_copy, &init)?;
    Lab::open(&db)?
        .conn()
        .execute_batch("UPDATE runs SET status = 'completed' WHERE id = 1;")?;
    let out = common::facenet(&db)?
        .args(TINY_RUN)
        .args([
            "--epochs",
            "2",
            "--init",
            init_arg,
            "--stop-after-epoch",
            "1",
            "--quiet",
        ])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(130)
            && err.contains("interrupted in ")
            && err.contains(": --stop-after-epoch stopped it after epoch 1\n"),
        "{err}"
    );
    let third = Lab::open(&db)?
        .list_runs()?
        .last()
        .context("run")?
        .id
        .to_string();
    let out = common::facenet(&db)?
        .args(["run", "--resume", &third, "--init", init_arg, "--quiet"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            && err.contains(&format!(
                "note: --init is not read: run {third} resumes from its checkpoint"
            )),
        "{err}"
    );

    // Files that cannot start the network are refused before anything is recorded.
    refused(
        &[&TINY_RUN[..], &["--init", "/no/such/weights.pth"]].concat(),
        "--init '/no/such/weights.pth': no such file",
    )?;
    refused(
        &[
            "run",
            "alexnet",
            "--data",
            "synthetic:4:8",
            "--init",
            init_arg,
        ],
        "has no 'classifier.1.bias': it holds torchvision's resnet18, not alexnet: start a run \
         of resnet18 from it (`run resnet18 --init ...`)",
    )?;
    refused(
        &[&TINY_RUN[..], &["--zero-init-residual", "--init", init_arg]].concat(),
        "--zero-init-residual and --init both set the starting weights",
    )?;
    Ok(())
}

#[test]
fn alexnet_records_the_dropout_it_trained_with() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let out = common::facenet(&db)?
        .args([
            "run",
            "alexnet",
            "--data",
            "synthetic:4:4",
            "--image-size",
            "64",
        ])
        .args(["--batch", "8", "--epochs", "1", "--dropout", "0", "--quiet"])
        .output()?;
    // --quiet drops only the progress bars: the run's id and its summary still come.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("run 1 (alexnet-b8-d128-all) on cpu") && err.contains("run 1 completed in"),
        "{err}"
    );
    let run = Lab::open(&db)?.find_run("1")?;
    assert_eq!(run.hyper.dropout, Some(0.0));
    assert!(
        run.config_json.contains("\"dropout\":0.0"),
        "{}",
        run.config_json
    );
    Ok(())
}

/// `--patience` ends a run that stopped learning, completed: the summary says after which
/// epoch, the lab records the patience and the epochs it trained, and `runs` and `export` say
/// so. A learning rate too small to move an f32 weight keeps the network as it was drawn, so
/// its first evaluation is its best; one under --eval-every is refused before anything runs.
#[test]
fn patience_stops_a_run_that_no_longer_improves() -> Result<()> {
    let every_2 = [&TINY_RUN[..], &["--patience", "1", "--eval-every", "2"]].concat();
    refused(&every_2, "--patience (1) is under --eval-every (2)")?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let (_, err) = common::succeeds(
        common::facenet(&db)?
            .args([
                "run",
                "alexnet",
                "--data",
                "synthetic:4:6",
                "--image-size",
                "64",
            ])
            .args([
                "--batch", "8", "--dim", "16", "--lr", "1e-12", "--epochs", "6",
            ])
            .args(["--patience", "2", "--quiet"]),
    );
    assert!(
        err.contains("run 1 completed in")
            && err.contains(
                ": --patience stopped it after epoch 3 of 6, 2 epochs after its best dev \
                 accuracy\n  best dev accuracy"
            )
            && err.contains("at epoch 1 (checkpoint")
            && err.contains("final (epoch 3)"),
        "{err}"
    );
    let lab = Lab::open(&db)?;
    let run = lab.find_run("1")?;
    assert_eq!(
        (run.status, run.hyper.patience, run.epochs_done()),
        (RunStatus::Completed, Some(2), 3)
    );
    let kinds: Vec<(String, i64)> = lab
        .checkpoints(run.id)?
        .into_iter()
        .map(|c| (c.kind, c.epoch))
        .collect();
    assert_eq!(kinds, [("best".to_string(), 1), ("final".to_string(), 3)]);
    let (runs, _) = common::succeeds(common::facenet(&db)?.args(["runs"]));
    assert!(runs.contains(" 3/6 "), "{runs}");
    let (csv, _) = common::succeeds(common::facenet(&db)?.args(["export", "--format", "runs-csv"]));
    let header: Vec<&str> = csv.lines().next().unwrap_or_default().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap_or_default().split(',').collect();
    let cell = |name: &str| header.iter().position(|h| *h == name).map(|i| row[i]);
    assert_eq!(
        (cell("patience"), cell("epochs_done")),
        (Some("2"), Some("3"))
    );
    Ok(())
}

/// `--imagenet-norm` is recorded, and said where the starting weights learned on the other
/// scale (`eval` builds the run's network with it: src/eval/net.rs's tests).
#[test]
fn imagenet_norm_is_recorded_and_a_start_on_the_other_scale_noted() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::facenet(&db)?
        .args(TINY_RUN)
        .args(["--epochs", "1", "--dim", "8", "--quiet"])
        .assert()
        .success();
    let lab = Lab::open(&db)?;
    let ck = lab.checkpoints(RunId(1))?.pop().context("a checkpoint")?;
    let init = lab.resolve(&ck.path);
    drop(lab);
    let (_, err) = common::succeeds(
        common::facenet(&db)?
            .args(TINY_RUN)
            .args(["--epochs", "1", "--dim", "8", "--imagenet-norm", "--quiet"])
            .args(["--init", init.to_str().context("path")?]),
    );
    assert!(
        err.contains(
            "note: run 1's weights learned from images in [-1, 1], and this run gives them \
             images normalised by ImageNet's mean and deviation (--imagenet-norm)"
        ),
        "{err}"
    );
    let run = Lab::open(&db)?.find_run("2")?;
    assert!(run.hyper.imagenet_norm);
    assert!(!Lab::open(&db)?.find_run("1")?.hyper.imagenet_norm);
    assert!(run.config_json.contains("\"imagenet_norm\":true"));
    // Started over from step 0 (no checkpoint survived), it reads the file again and says so
    // again.
    Lab::open(&db)?.conn().execute_batch(
        "UPDATE runs SET status = 'crashed' WHERE id = 2; DELETE FROM checkpoints WHERE run_id = 2;",
    )?;
    let (_, err) =
        common::succeeds(common::facenet(&db)?.args(["run", "--resume", "2", "--quiet"]));
    assert!(
        err.contains("note: run 1's weights learned from images in [-1, 1]"),
        "{err}"
    );
    Ok(())
}

/// `--fresh-embedding` draws the embedding layer from the seed though the file's fits, says so
/// and is recorded; the rest still comes from the file.
#[test]
fn a_fresh_embedding_keeps_the_seeds_draw_though_the_files_fits() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let tiny = |extra: &[&str]| -> Result<String> {
        let (_, err) = common::succeeds(
            common::facenet(&db)?
                .args(TINY_RUN)
                .args(["--epochs", "1", "--dim", "8", "--lr", "1e-12", "--quiet"])
                .args(extra),
        );
        Ok(err)
    };
    tiny(&["--seed", "1"])?;
    let lab = Lab::open(&db)?;
    let ck = lab.checkpoints(RunId(1))?.pop().context("a checkpoint")?;
    let init = lab.resolve(&ck.path);
    drop(lab);
    let init_arg = init.to_str().context("path")?;
    let taken = tiny(&["--init", init_arg])?;
    assert!(!taken.contains("keep the seed's random draw"), "{taken}");
    let fresh = tiny(&["--init", init_arg, "--fresh-embedding"])?;
    assert!(
        fresh.contains("fc.bias, fc.weight keep the seed's random draw (--fresh-embedding)"),
        "{fresh}"
    );
    let lab = Lab::open(&db)?;
    assert!(!lab.find_run("2")?.hyper.fresh_embedding);
    assert!(lab.find_run("3")?.hyper.fresh_embedding);
    // At a learning rate of 1e-12 each run's final weights are where it started.
    let final_weights = |run: i64, name: &str| -> Result<Vec<f32>> {
        let ck = lab.checkpoints(RunId(run))?.pop().context("a checkpoint")?;
        weights_in(&lab.resolve(&ck.path), name)
    };
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    let file_fc = weights_in(&init, "fc.weight")?;
    assert!(close(&final_weights(2, "fc.weight")?, &file_fc));
    assert!(!close(&final_weights(3, "fc.weight")?, &file_fc));
    assert!(close(
        &final_weights(3, "conv1.weight")?,
        &weights_in(&init, "conv1.weight")?
    ));
    Ok(())
}

#[test]
fn two_labs_in_one_folder_keep_their_checkpoints_apart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let train = |db: &str, seed: &str| -> Result<()> {
        common::facenet(&dir.path().join(db))?
            .current_dir(dir.path())
            .args(TINY_RUN)
            .args(["--epochs", "1", "--seed", seed, "--quiet"])
            .assert()
            .success();
        Ok(())
    };
    train("a.db", "0")?;
    train("b.db", "1")?;
    // Both labs' run 1: each checkpoint is where its lab says, with the bytes it recorded.
    let mut folders = Vec::new();
    for db in ["a.db", "b.db"] {
        let lab = Lab::open(&dir.path().join(db))?;
        let cks = lab.checkpoints(facenet_lab::lab::RunId(1))?;
        assert!(!cks.is_empty(), "{db}: no checkpoint");
        for c in &cks {
            checkpoint::load(&lab.resolve(&c.path), Some(&c.sha256), &Device::Cpu)
                .with_context(|| format!("{db}: {}", c.path))?;
        }
        folders.push(
            Path::new(&cks[0].path)
                .parent()
                .context("folder")?
                .to_owned(),
        );
    }
    assert_eq!(
        folders,
        [
            Path::new("checkpoints/a-run-1"),
            Path::new("checkpoints/b-run-1")
        ]
    );
    Ok(())
}
