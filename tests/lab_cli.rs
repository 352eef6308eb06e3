//! The lab from the command line: `runs` as a table and as JSON, filtered and sorted, and the
//! refusals.

mod common;

use anyhow::Result;
use assert_cmd::Command;
use facenet_lab::lab::{
    CodeVersion, EvalMetric, Lab, NewCheckpoint, NewEvaluation, NewRun, Protocol, RunStatus,
    SCHEMA_VERSION,
};
use facenet_lab::model::Arch;
use facenet_lab::train::config::TrainConfig;

fn new_run(name: &str) -> NewRun {
    NewRun {
        // The seed's settings, with ResNet152 at dim 64, on the CPU.
        hyper: TrainConfig {
            model: Arch::Resnet152,
            dim: 64,
            ..TrainConfig::default()
        }
        .hyperparams(),
        device: "cpu".into(),
        gpu_name: None,
        command_line: "facenet-lab run resnet152 --dim 64".into(),
        ..common::new_run(name, "resnet152", 0, &[])
    }
}

#[test]
fn runs_lists_the_lab_as_a_table_and_as_json() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    {
        let lab = Lab::open(&db)?;
        let id = lab.create_run(&new_run("r152-d64"))?;
        lab.mark_running(id, 19, 1)?;
        lab.finish_run(id, RunStatus::Completed, None)?;
    }
    let out = common::facenet(&db)?.arg("runs").output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(out.status.success());
    assert!(
        text.lines()
            .next()
            .is_some_and(|h| h.contains("best dev") && h.contains("status")),
        "{text}"
    );
    assert!(
        text.contains("r152-d64") && text.contains("resnet152") && text.contains("completed"),
        "{text}"
    );

    let out = Command::cargo_bin("facenet-lab")?
        .env("FACENET_LAB_DB", &db)
        .args(["runs", "--json"])
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(json[0]["name"], "r152-d64");
    assert_eq!(json[0]["hyper"]["embedding_dim"], 64);
    assert_eq!(json[0]["effective_status"], "completed");
    assert_eq!(json[0]["epochs_done"], json[0]["hyper"]["epochs"]);
    assert!(json[0]["duration_secs"].as_f64().is_some_and(|d| d > 0.0));
    assert!(json[0]["config"].is_object(), "the config, parsed");
    Ok(())
}

/// The name column of `runs`' table, in order.
fn names(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .collect()
}

#[test]
fn runs_filters_and_sorts_as_the_dashboard_does() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    // r18-s1 and r18-s2 (best dev 0.70 and 0.72), alex (0.60, tags seed-table and alex), and
    // a ResNet152 that is still in its first epoch, with no dev accuracy yet.
    common::fixture_lab(&db)?;
    {
        let lab = Lab::open(&db)?;
        let id = lab.create_run(&new_run("r152-new"))?;
        lab.mark_running(id, 19, std::process::id())?;
    }
    let runs = |args: &[&str]| -> Result<std::process::Output> {
        Ok(common::facenet(&db)?.arg("runs").args(args).output()?)
    };

    let out = runs(&[])?;
    assert_eq!(names(&out.stdout), ["r18-s1", "r18-s2", "alex", "r152-new"]);
    // Runs without a value come last, either way.
    let out = runs(&["--sort", "dev"])?;
    assert_eq!(names(&out.stdout), ["alex", "r18-s1", "r18-s2", "r152-new"]);
    let out = runs(&["--sort", "dev", "--desc"])?;
    assert_eq!(names(&out.stdout), ["r18-s2", "r18-s1", "alex", "r152-new"]);
    let out = runs(&["model=resnet18", "dev_acc>0.71"])?;
    assert_eq!(names(&out.stdout), ["r18-s2"]);
    // One argument holding several terms, as a shell passes a quoted filter.
    let out = runs(&["tag=seed-table model!=alexnet", "--sort", "name", "--desc"])?;
    assert_eq!(names(&out.stdout), ["r18-s2", "r18-s1"]);

    let out = runs(&["ALEX", "--json"])?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json[0]["name"], "alex");

    // No match is an answer, not an error, in JSON too.
    let out = runs(&["model=resnet152", "dev_acc>0.5"])?;
    assert!(out.status.success() && out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no run of the 4") && err.contains("model=resnet152"),
        "{err}"
    );
    let out = runs(&["model=resnet152", "dev_acc>0.5", "--json"])?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout)?,
        serde_json::json!([])
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run of the 4"));
    // What a shell leaves of an unquoted `dev_acc>0.5`: the field's name alone.
    let out = runs(&["dev_acc"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("quote the term"),
        "{err}"
    );

    // Bad terms and columns are usage errors, named with the choices.
    for (args, needle) in [
        (&["dev_acc>high"][..], "dev_acc needs a number"),
        (&["model=vgg"][..], "alexnet, resnet18, resnet152"),
        (&["--sort", "accuracy"][..], "best_dev"),
    ] {
        let out = runs(args)?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }

    // What `eval` measured on the best checkpoint: r18-s2 on the test split and LFW, r18-s1 on
    // LFW only. Shown, sorted on and filtered by, as the results table has them.
    {
        let lab = Lab::open(&db)?;
        for (name, test, lfw) in [("r18-s2", Some(0.686), 0.757), ("r18-s1", None, 0.749)] {
            let run = lab.find_run(name)?.id;
            let best = lab.add_checkpoint(&NewCheckpoint {
                run,
                iteration: 40,
                epoch: 4,
                kind: "best".into(),
                path: format!("checkpoints/{name}/best-40.safetensors"),
                sha256: format!("{:064}", run.0),
            })?;
            let mut protocols = vec![(Protocol::LfwPairs, lfw)];
            protocols.extend(test.map(|t| (Protocol::TestSplit, t)));
            for (protocol, value) in protocols {
                let metrics = match protocol {
                    Protocol::TestSplit => vec![EvalMetric::new("top1_seed_gallery", value)],
                    _ => vec![
                        EvalMetric::new("verification_accuracy_mean", value),
                        EvalMetric::new("verification_accuracy_std", 0.02),
                    ],
                };
                lab.add_evaluation(&NewEvaluation {
                    run,
                    checkpoint_id: Some(best),
                    checkpoint_iteration: Some(40),
                    checkpoint_sha256: None,
                    protocol,
                    data_source: "fixture".into(),
                    options: serde_json::json!({"flip": false}),
                    metrics,
                    code: CodeVersion::current(),
                    ran_on: facenet_lab::lab::RanOn::here("cpu"),
                })?;
            }
        }
        let r = lab.find_run("r18-s2")?;
        assert_eq!((r.test_acc, r.lfw_acc), (Some(0.686), Some(0.757)));
    }
    let out = runs(&["--sort", "lfw", "--desc"])?;
    assert_eq!(
        names(&out.stdout),
        ["r18-s2", "r18-s1", "r152-new", "alex"],
        "runs without a value last"
    );
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().next().unwrap_or_default();
    for column in ["input", "lr", "best dev", "test", "lfw", "img/s"] {
        assert!(header.contains(column), "{header}");
    }
    // The seed's settings: 224 px whole images, a constant 1e-4.
    let r152 = table
        .lines()
        .find(|l| l.contains("r152-new"))
        .unwrap_or_default();
    assert!(r152.contains(" 224 ") && r152.contains(" 1e-4 "), "{table}");
    let r18_s2 = table
        .lines()
        .find(|l| l.contains("r18-s2"))
        .unwrap_or_default();
    assert!(
        r18_s2.contains("0.686") && r18_s2.contains("0.757"),
        "{table}"
    );
    // alex's test-split evaluation (0.41) is not of a best checkpoint: not the table's.
    let out = runs(&["test_acc>0.4"])?;
    assert_eq!(names(&out.stdout), ["r18-s2"]);
    let out = runs(&["lfw>0.745", "--json"])?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(json[1]["name"], "r18-s2");
    assert_eq!(
        (
            json[1]["test_acc"].as_f64(),
            json[1]["lfw_acc_std"].as_f64()
        ),
        (Some(0.686), Some(0.02))
    );
    assert_eq!(json[0].get("test_acc"), Some(&serde_json::Value::Null));
    Ok(())
}

#[test]
fn a_file_that_is_not_a_lab_is_refused_and_untouched() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("thesis.txt");
    std::fs::write(&db, "chapter one\n".repeat(50))?;
    let before = std::fs::read(&db)?;
    let out = common::facenet(&db)?.arg("runs").output()?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a facenet-lab database") && err.contains("left untouched"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db)?, before);
    Ok(())
}

#[test]
fn a_lab_from_a_newer_version_is_refused_and_untouched() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    drop(Lab::open(&db)?);
    rusqlite::Connection::open(&db)?.pragma_update(None, "user_version", SCHEMA_VERSION + 5)?;
    let before = std::fs::read(&db)?;
    let out = common::facenet(&db)?.arg("runs").output()?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("newer facenet-lab") && err.contains("upgrade"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db)?, before);
    Ok(())
}

/// The hint of an empty lab starts the run in that lab, not in ./lab.db.
#[test]
fn an_empty_lab_suggests_a_run_in_itself() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("empty lab.db");
    drop(Lab::open(&db)?);
    Command::cargo_bin("facenet-lab")?
        .env_remove("FACENET_LAB_DB")
        .arg("--db")
        .arg(&db)
        .arg("runs")
        .assert()
        .success()
        .stdout(format!(
            "no runs recorded yet: start one with `facenet-lab --db '{}' run resnet18 --data PATH \
             --image-size 64 --epochs 3` (minutes on a CPU)\n",
            db.display()
        ));
    Ok(())
}

#[test]
fn commands_that_read_a_lab_refuse_a_missing_one_instead_of_creating_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let typo = dir.path().join("lab.dbb");
    drop(Lab::open(&dir.path().join("lab.db"))?);
    // Files named .db that hold no lab are not offered as one.
    std::fs::write(dir.path().join("notes.db"), "not a database")?;
    std::fs::write(dir.path().join("empty.db"), "")?;
    rusqlite::Connection::open(dir.path().join("other.db"))?
        .execute_batch("CREATE TABLE t (x INTEGER)")?;
    for args in [
        // The dashboard, which stdout not being a terminal makes a table.
        &[][..],
        &["runs"],
        &["export", "--format", "json"],
        &["report"],
        &["eval", "1"],
    ] {
        let out = Command::cargo_bin("facenet-lab")?
            .current_dir(dir.path())
            .arg("--db")
            .arg(&typo)
            .args(args)
            .output()?;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("no lab database at '{}'", typo.display())),
            "{args:?}: {err}"
        );
        assert!(
            err.trim_end().ends_with("labs in that folder: lab.db"),
            "{args:?}: {err}"
        );
        assert!(!typo.exists(), "{args:?} created the lab");
        // Looking for the labs left none of SQLite's files beside them.
        let left: Vec<String> = std::fs::read_dir(dir.path())?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with("-wal") || n.ends_with("-shm"))
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
    Ok(())
}

/// `--log-path` records where a run's output goes; it writes nothing there itself, so a run
/// whose output goes elsewhere is warned, and one sent there (as the dashboard and sweeps send
/// theirs) is not.
#[test]
fn a_log_path_is_recorded_relative_to_the_lab_not_the_working_directory() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("labs/logs"))?;
    let run = || {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("facenet-lab"));
        cmd.current_dir(dir.path())
            .args(["--db", "labs/lab.db", "run", "resnet18"])
            .args([
                "--data",
                "synthetic:6:10",
                "--image-size",
                "32",
                "--epochs",
                "1",
            ])
            .args([
                "--device",
                "cpu",
                "--quiet",
                "--log-path",
                "labs/logs/run.log",
            ]);
        cmd
    };
    let warning = "warning: --log-path records labs/logs/run.log as the run's log, but writes \
                   nothing there itself, and this run's output goes elsewhere: send it there \
                   (`> labs/logs/run.log 2>&1`), or leave --log-path out";
    let out = run().output()?;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains(warning), "{said}");
    let log = std::fs::File::create(dir.path().join("labs/logs/run.log"))?;
    assert!(run().stderr(log).status()?.success());
    let logged = std::fs::read_to_string(dir.path().join("labs/logs/run.log"))?;
    assert!(
        logged.contains("run 2") && !logged.contains("warning"),
        "{logged}"
    );
    let lab = Lab::open_read_only(&dir.path().join("labs/lab.db"))?;
    for run in lab.list_runs()? {
        assert_eq!(run.log_path.as_deref(), Some("logs/run.log"));
    }
    assert_eq!(
        lab.resolve("logs/run.log"),
        dir.path().join("labs/logs/run.log")
    );
    Ok(())
}

/// A trainer holds two connections (its loop and its heartbeat) while dashboards and `runs`
/// come and go in other processes. Once, opening the second connection read the file with
/// std::fs, which dropped the process's POSIX locks; the next process to close then deleted
/// the WAL under the trainer, and every later write was lost.
#[test]
fn other_processes_never_lose_a_live_writers_rows() -> Result<()> {
    use facenet_lab::lab::{metric, MetricPoint};
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let writer = Lab::open(&db)?;
    let run = writer.create_run(&new_run("live"))?;
    let _heartbeat_connection = Lab::open(&db)?;
    writer.record(
        run,
        &[MetricPoint::new(1, 1, metric::TRAIN_LOSS, 1.0)],
        &Default::default(),
    )?;
    common::facenet(&db)?.arg("runs").assert().success();
    writer.record(
        run,
        &[MetricPoint::new(2, 1, metric::TRAIN_LOSS, 0.5)],
        &Default::default(),
    )?;
    let fresh = rusqlite::Connection::open(&db)?;
    let n: i64 = fresh.query_row("SELECT count(*) FROM metrics", [], |r| r.get(0))?;
    assert_eq!(
        n, 2,
        "a write after another process closed the lab was lost"
    );
    Ok(())
}

/// The commands an error suggests name the lab it was about: `--db` is left out only when the
/// default `lab.db` was meant and FACENET_LAB_DB, which would pick another lab, is not set.
#[test]
fn suggested_commands_name_the_lab_unless_it_is_the_default() -> Result<()> {
    let dir = tempfile::tempdir()?;
    Lab::open(&dir.path().join("lab.db"))?;
    let suggestion = |env: Option<&str>, db: Option<&str>| -> Result<String> {
        let mut c = Command::cargo_bin("facenet-lab")?;
        c.current_dir(dir.path()).env_remove("FACENET_LAB_DB");
        if let Some(v) = env {
            c.env("FACENET_LAB_DB", v);
        }
        if let Some(db) = db {
            c.args(["--db", db]);
        }
        let out = c.args(["eval", "no-such-run"]).output()?;
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr)?;
        let start = err.find("`facenet-lab").map_or(err.len(), |k| k);
        Ok(err[start..]
            .split('`')
            .nth(1)
            .unwrap_or_default()
            .to_string())
    };
    assert_eq!(suggestion(None, None)?, "facenet-lab runs");
    assert_eq!(
        suggestion(Some("lab.db"), None)?,
        "facenet-lab runs --db lab.db"
    );
    assert_eq!(
        suggestion(None, Some("./lab.db"))?,
        "facenet-lab runs --db ./lab.db"
    );
    Ok(())
}

/// An empty FACENET_LAB_DB is no choice of lab: the default lab.db is used, as when it is unset.
#[test]
fn an_empty_db_variable_means_the_default_lab() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let lab = Lab::open(&dir.path().join("lab.db"))?;
    lab.create_run(&new_run("in-the-default-lab"))?;
    let (text, _) = common::succeeds(
        Command::cargo_bin("facenet-lab")?
            .current_dir(dir.path())
            .env("FACENET_LAB_DB", "")
            .arg("runs"),
    );
    assert!(text.contains("in-the-default-lab"), "{text}");
    Ok(())
}

/// `bench` refuses a size some model cannot take before it prints or measures anything, and
/// says that it records nothing in the lab (--db is global, not a bench option).
#[test]
fn bench_checks_its_settings_first_and_leaves_the_lab_alone() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::cargo_bin("facenet-lab")?
        .current_dir(dir.path())
        .args([
            "bench",
            "--models",
            "resnet18,alexnet",
            "--image-size",
            "32",
        ])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr)?,
        "error: --image-size 32 is too small for alexnet: it needs at least 63\n"
    );
    // Models given with spaces, as `--help` shows the default, and each bad value named.
    for (args, want) in [
        (
            &["--image-size", "8"][..],
            "2 problems with the settings:\n  --image-size 8 is too small for resnet18: it \
             needs at least 16\n  --image-size 8 is too small for alexnet: it needs at least 63",
        ),
        (
            &["--batch", "2"][..],
            "--batch must be at least 4 for bench (the timed step needs triplets), got 2",
        ),
        (&["--dim", "1"][..], "--dim must be at least 2, got 1"),
        (&["--steps", "0"][..], "--steps must be at least 1"),
    ] {
        let out = Command::cargo_bin("facenet-lab")?
            .current_dir(dir.path())
            .args(["bench", "--models", "resnet18", "alexnet"])
            .args(args)
            .output()?;
        assert_eq!(String::from_utf8(out.stderr)?, format!("error: {want}\n"));
    }
    // --parity names the file it cannot replay.
    let out = Command::cargo_bin("facenet-lab")?
        .current_dir(dir.path())
        .args(["bench", "--parity", "parity-resnet18.safetensors"])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr)?;
    assert!(
        err.contains("error: replaying parity-resnet18.safetensors: No such file"),
        "{err}"
    );
    // ... and says what it wants of a file that is not one.
    std::fs::write(dir.path().join("notes.txt"), "not safetensors")?;
    let out = Command::cargo_bin("facenet-lab")?
        .current_dir(dir.path())
        .args(["bench", "--parity", "notes.txt"])
        .output()?;
    let err = String::from_utf8(out.stderr)?;
    assert!(
        err.contains("error: replaying notes.txt: not a safetensors file: give the files bench/torch_parity.py wrote"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("notes.txt"))?;
    let help = Command::cargo_bin("facenet-lab")?
        .args(["bench", "--help"])
        .output()?;
    let help = String::from_utf8(help.stdout)?;
    assert!(
        help.contains("records nothing: the lab (--db) is not used"),
        "{help}"
    );
    assert!(
        std::fs::read_dir(dir.path())?.next().is_none(),
        "no lab.db created"
    );
    Ok(())
}

#[test]
fn lab_tag_and_note_annotate_runs_as_the_dashboard_does() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let ids = common::fixture_lab(&db)?;
    let (a, b) = (ids[0], ids[1]);
    let lab = || Lab::open_read_only(&db);
    let tags = |id| -> Result<Vec<String>> { Ok(lab()?.run(id)?.expect("run").tags) };
    let before = tags(a)?;

    let (out, _) =
        common::succeeds(common::facenet(&db)?.args(["lab", "tag", &format!("{a},{b}"), "picked"]));
    assert!(out.contains(&format!("run {a} (")), "{out}");
    assert!(out.contains("): added picked; tags now "), "{out}");
    let mut want = [before.clone(), vec!["picked".to_string()]].concat();
    want.sort();
    assert_eq!(tags(a)?, want);
    assert!(tags(b)?.contains(&"picked".to_string()));
    // Tagged so, the runs are a report's.
    let (out, _) = common::succeeds(common::facenet(&db)?.args(["report", "--tag", "picked"]));
    assert!(out.contains("report of 2 runs"), "{out}");
    let remove = |tag: &str| -> Result<(String, String)> {
        let args = ["lab", "tag", &a.to_string(), tag, "--remove"];
        Ok(common::succeeds(common::facenet(&db)?.args(args)))
    };
    let (out, _) = remove("picked")?;
    assert!(!out.contains("it had"), "{out}");
    assert_eq!(tags(a)?, before);
    // What it removed and what remains, which the tags left alone read as an addition.
    let remains = if before.is_empty() {
        "no tags now".to_string()
    } else {
        format!("tags now {}", before.join(", "))
    };
    assert!(
        out.contains(&format!("): removed picked; {remains}\n")),
        "{out}"
    );
    // A tag it does not have, removed, or one it has, added: said, as nothing changed.
    let (out, _) = remove("picked")?;
    assert!(out.trim_end().ends_with("(it had no tag picked)"), "{out}");
    let (out, _) =
        common::succeeds(common::facenet(&db)?.args(["lab", "tag", &b.to_string(), "picked"]));
    assert!(
        out.trim_end().ends_with("(it had tag picked already)"),
        "{out}"
    );

    // A run that is not there changes none; a tag with a space is refused.
    common::fails_with(
        common::facenet(&db)?.args(["lab", "tag", &format!("{b},999"), "x"]),
        &["999"],
    );
    assert!(!tags(b)?.contains(&"x".to_string()));
    common::fails_with(
        common::facenet(&db)?.args(["lab", "tag", &b.to_string(), "two words"]),
        &["two words"],
    );

    common::succeeds(common::facenet(&db)?.args(["lab", "note", &a.to_string(), "the good one"]));
    assert_eq!(lab()?.run(a)?.expect("run").notes, "the good one");
    common::succeeds(common::facenet(&db)?.args(["lab", "note", &a.to_string(), ""]));
    assert_eq!(lab()?.run(a)?.expect("run").notes, "");
    Ok(())
}

/// `lab delete` says what each run takes with it, deletes nothing it was not told to (a run
/// still training, an id the lab lacks, no `--yes` where there is no terminal to ask on), and
/// then deletes the run, its checkpoint file and folder and its log; the id goes to no later
/// run. A run another started like (`--like`) goes, and the plan says so.
#[test]
fn lab_delete_says_what_goes_refuses_what_may_not_and_deletes_the_rest() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    let ids = common::fixture_lab(&db)?;
    let (training, like, typo) = {
        let lab = Lab::open(&db)?;
        let training = lab.create_run(&common::new_run("training", "resnet18", 0, &[]))?;
        lab.mark_running(training, 10, 1)?;
        let like = lab.create_run(&NewRun {
            like_run: Some(ids[0]),
            ..common::new_run("like-r18-s1", "resnet18", 3, &[])
        })?;
        let typo = lab.create_run(&common::new_run("typo", "resnet18", 0, &[]))?;
        for id in [like, typo] {
            lab.finish_run(id, RunStatus::Failed, Some("a typo in its flags"))?;
        }
        let file = dir
            .path()
            .join(format!("checkpoints/run-{typo}/best.safetensors"));
        std::fs::create_dir_all(file.parent().expect("a folder"))?;
        std::fs::write(&file, vec![0u8; 45_200])?;
        lab.add_checkpoint(&NewCheckpoint {
            run: typo,
            iteration: 3,
            epoch: 1,
            kind: "best".into(),
            path: format!("checkpoints/run-{typo}/best.safetensors"),
            sha256: "0".repeat(64),
        })?;
        std::fs::create_dir_all(dir.path().join("logs"))?;
        std::fs::write(dir.path().join("logs/typo.log"), "error: a typo\n")?;
        lab.set_log_path(typo, "logs/typo.log")?;
        (training, like, typo)
    };
    let checkpoint = dir
        .path()
        .join(format!("checkpoints/run-{typo}/best.safetensors"));
    let delete = |args: &[&str]| -> Result<assert_cmd::Command> {
        let mut cmd = common::facenet(&db)?;
        cmd.args(["lab", "delete"]).args(args);
        Ok(cmd)
    };
    let still_there = || -> Result<bool> {
        let lab = Lab::open_read_only(&db)?;
        Ok(lab.run(typo)?.is_some() && checkpoint.is_file())
    };

    // Every problem is said, and none of the runs goes.
    common::fails_with(
        &mut delete(&[&typo.to_string(), &training.to_string(), "99"])?,
        &[
            "error: nothing was deleted:\n",
            "  no run 99 in lab '",
            &format!(
                "  run {training} (training) is running on host 'gpu-box': stop it first \
                 (Ctrl-C where it trains, or X in the dashboard)"
            ),
        ],
    );
    assert!(still_there()?);

    // Without a terminal to ask on, --yes says it; a `y` piped in does not.
    let out = delete(&[&typo.to_string()])?.write_stdin("y\n").output()?;
    let (stdout, stderr) = (
        String::from_utf8(out.stdout)?,
        String::from_utf8(out.stderr)?,
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "run {typo} (typo): failed, 0/5 epochs; 0 metric points, 1 checkpoint (45.2 kB on \
             disk), 0 evaluations\n  its log: logs/typo.log\n"
        )
    );
    assert!(
        stderr.contains(&format!(
            "error: nothing was deleted: stdin is not a terminal to ask on; pass --yes to delete \
             it (`facenet-lab --db {} lab delete {typo} --yes`)",
            db.display()
        )),
        "{stderr}"
    );
    assert!(still_there()?);
    delete(&[&format!("{typo},six")])?
        .assert()
        .failure()
        .stderr(predicates::str::contains("not a run id"));

    let (stdout, _) = common::succeeds(&mut delete(&[&typo.to_string(), "--yes"])?);
    assert!(
        stdout.ends_with(&format!(
            "deleted run {typo} (typo): 0 metric points, 1 checkpoint (45.2 kB), its log \
             removed\n"
        )),
        "{stdout}"
    );
    assert!(!checkpoint.exists());
    assert!(!dir.path().join(format!("checkpoints/run-{typo}")).exists());
    assert!(!dir.path().join("logs/typo.log").exists());
    let (runs, _) = common::succeeds(common::facenet(&db)?.arg("runs"));
    assert!(!runs.contains("typo"), "{runs}");
    // Deleted again: it is no run of the lab any more.
    common::fails_with(
        &mut delete(&[&typo.to_string(), "--yes"])?,
        &[&format!("run {typo} (typo) was deleted already, on ")],
    );
    // A run another took only the settings of goes, saying that the other stops naming it.
    let (stdout, _) = common::succeeds(&mut delete(&[&ids[0].to_string(), "--yes"])?);
    assert!(
        stdout.contains(&format!(
            "\n  run {like} (like-r18-s1) took its settings (--like): it keeps them, and its \
             record stops naming run {}\n",
            ids[0]
        )),
        "{stdout}"
    );
    let lab = Lab::open(&db)?;
    assert_eq!(lab.run(like)?.expect("the run like it").like_run, None);
    let next = lab.create_run(&new_run("next"))?;
    assert_eq!(next.0, typo.0 + 1, "the newest run's id went with it");
    Ok(())
}

/// The cells of `table`'s column `title`, a row each: from where its title starts to where
/// the next column's does.
fn cells(table: &str, title: &str, next: &str) -> Vec<String> {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let (Some(start), Some(end)) = (header.find(title), header.find(next)) else {
        return Vec::new();
    };
    lines
        .map(|l| {
            l.get(start..end.min(l.len()))
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .collect()
}

/// Where the runs listed trained on more than one dataset, a data column says on which each
/// did: a dev accuracy on generated faces is no rival to one on LFW. `--show dataset` names
/// the dataset beside the id that `dataset=` filters by.
#[test]
fn runs_names_the_dataset_where_the_runs_listed_trained_on_more_than_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    // r18-s1 and r18-s2 (best dev 0.70 and 0.72) and alex (0.60), all on dataset 1, the
    // fixture's synthetic one; r18-s2 moves to an LFW folder.
    common::fixture_lab(&db)?;
    let lfw = common::move_to_other_dataset(&db, "r18-s2", "/data/lfw-20-30", 30, 713)?;
    assert_eq!(lfw, 2);
    let runs = |args: &[&str]| -> Result<String> {
        let out = common::facenet(&db)?.arg("runs").args(args).output()?;
        assert!(out.status.success(), "{args:?}: {out:?}");
        Ok(String::from_utf8(out.stdout)?)
    };
    let header = |t: &str| -> Vec<String> {
        let line = t.lines().next().unwrap_or_default();
        line.split_whitespace().map(String::from).collect()
    };

    let table = runs(&["--sort", "dev", "--desc"])?;
    assert_eq!(names(table.as_bytes()), ["r18-s2", "r18-s1", "alex"]);
    let head = header(&table);
    let input = head.iter().position(|w| w == "input");
    assert_eq!(input.map(|i| head[i + 1].as_str()), Some("data"), "{table}");
    assert_eq!(
        cells(&table, "data", "batch"),
        ["lfw-20-30", "synthetic", "synthetic"],
        "{table}"
    );

    // The dashboard off a terminal prints the runs table as `runs` does, data column and all.
    let bare = common::facenet(&db)?.output()?;
    assert!(bare.status.success(), "{bare:?}");
    assert_eq!(String::from_utf8(bare.stdout)?, runs(&[])?);
    assert!(
        String::from_utf8(bare.stderr)?.contains("stdout is not a terminal"),
        "the table says why it is not the dashboard"
    );

    // One dataset among the runs listed: nothing to tell apart.
    for args in [
        &["model=resnet18", "dataset=1"][..],
        &["dataset=2"],
        &["alex"],
    ] {
        let table = runs(args)?;
        assert!(
            !header(&table).contains(&"data".to_string()),
            "{args:?}: {table}"
        );
    }
    assert_eq!(names(runs(&["dataset=2"])?.as_bytes()), ["r18-s2"]);
    assert_eq!(names(runs(&["dataset!=2"])?.as_bytes()), ["r18-s1", "alex"]);

    // --show dataset: the id, which dataset= takes, and the name; no data column besides.
    let table = runs(&["--show", "dataset"])?;
    let head = header(&table);
    assert_eq!(head.last().map(String::as_str), Some("dataset"), "{table}");
    assert!(!head.contains(&"data".to_string()), "{table}");
    let last_two = |l: &str| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words[words.len() - 2..].join(" ")
    };
    let shown: Vec<String> = table.lines().skip(1).map(last_two).collect();
    assert_eq!(
        shown,
        ["1 synthetic", "2 lfw-20-30", "1 synthetic"],
        "{table}"
    );
    // Sorted by it, it is shown the same.
    let table = runs(&["--sort", "dataset", "--desc"])?;
    assert_eq!(names(table.as_bytes()), ["r18-s2", "r18-s1", "alex"]);
    assert!(table.contains(" 2 lfw-20-30"), "{table}");

    // Two datasets of one name (one folder filtered two ways) are told apart by their ids.
    common::move_to_other_dataset(&db, "alex", "/elsewhere/lfw-20-30", 25, 600)?;
    let table = runs(&[])?;
    assert_eq!(
        cells(&table, "data", "batch"),
        ["synthetic", "#2 lfw-20-30", "#3 lfw-20-30"],
        "{table}"
    );
    Ok(())
}
