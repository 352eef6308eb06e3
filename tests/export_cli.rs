//! `facenet-lab export` end to end: what is written reads back to what the lab holds.

mod common;

use anyhow::{bail, Context, Result};
use facenet_lab::export::{Export, CSV_HEADER, EXPORT_FORMAT, RUNS_CSV_HEADER};
use facenet_lab::lab::{CodeVersion, Lab, Machine, NewCheckpoint, Resume, RunStatus};

/// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted || !field.is_empty() || !row.is_empty() {
        bail!("CSV does not end with a complete line");
    }
    Ok(rows)
}

#[test]
fn csv_reads_back_to_the_recorded_values() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    {
        let lab = Lab::open(&db)?;
        // A name that needs quoting.
        lab.conn()
            .execute("UPDATE runs SET name = 'r18, \"seed\" 1' WHERE id = 1", [])?;
        // A scheduled rate with weight decay.
        lab.conn().execute(
            "UPDATE runs SET lr_schedule = 'cosine', warmup_epochs = 2, weight_decay = 0.0005
             WHERE id = 1",
            [],
        )?;
    }
    let out = dir.path().join("metrics.csv");
    common::facenet(&db)?
        .args(["export", "--format", "csv", "--out"])
        .arg(&out)
        .assert()
        .success();
    let rows = parse_csv(&std::fs::read_to_string(&out)?)?;
    let header: Vec<&str> = CSV_HEADER.split(',').collect();
    assert_eq!(rows[0], header);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .context(name.to_string())
    };
    let (run_id, metric, iteration, value, tags, gpu) = (
        col("run_id")?,
        col("metric")?,
        col("iteration")?,
        col("value")?,
        col("tags")?,
        col("gpu_name")?,
    );

    let lab = Lab::open_read_only(&db)?;
    let mut expected = Vec::new();
    for run in lab.list_runs()? {
        for name in lab.metric_names(run.id)? {
            for p in lab.series(run.id, &name)? {
                expected.push((run.id.0, name.clone(), p.iteration, p.value));
            }
        }
    }
    let got: Vec<(i64, String, i64, f64)> = rows[1..]
        .iter()
        .map(|r| -> Result<_> {
            Ok((
                r[run_id].parse()?,
                r[metric].clone(),
                r[iteration].parse()?,
                r[value].parse()?,
            ))
        })
        .collect::<Result<_>>()?;
    assert_eq!(got, expected, "every point, exactly");
    assert_eq!(rows[1][tags], "seed-table");
    assert_eq!(rows[1][col("run_name")?], "r18, \"seed\" 1");
    assert_eq!(rows[1][gpu], "NVIDIA H100 80GB HBM3");
    let optimiser = ["lr", "lr_schedule", "warmup_epochs", "weight_decay"]
        .map(|c| col(c).map(|i| rows[1][i].as_str()));
    assert_eq!(
        optimiser.into_iter().collect::<Result<Vec<_>>>()?,
        ["0.0001", "cosine", "2", "0.0005"]
    );
    assert!(rows.iter().all(|r| r.len() == header.len()));

    // --tag selects, whatever its case (as the runs filter matches a tag), and standard
    // output is the default.
    let assert = common::facenet(&db)?
        .args(["export", "--format", "csv", "--tag", "Alex"])
        .assert()
        .success();
    let rows = parse_csv(&String::from_utf8(assert.get_output().stdout.clone())?)?;
    assert_eq!(rows.len(), 1 + 61, "header + the alexnet run's 61 points");
    assert!(rows[1..].iter().all(|r| r[run_id] == "3"));

    // --metric keeps the points of the metrics named, every one of them.
    let some = ["dev_acc", "train_acc"];
    let assert = common::facenet(&db)?
        .args(["export", "--format", "csv", "--metric", &some.join(",")])
        .assert()
        .success();
    let rows = parse_csv(&String::from_utf8(assert.get_output().stdout.clone())?)?;
    let kept: Vec<_> = expected
        .iter()
        .filter(|(_, name, _, _)| some.contains(&name.as_str()))
        .map(|(run, name, iteration, _)| (run.to_string(), name.clone(), iteration.to_string()))
        .collect();
    assert!(kept.len() > 2 && kept.len() < expected.len(), "{kept:?}");
    let got: Vec<_> = rows[1..]
        .iter()
        .map(|r| (r[run_id].clone(), r[metric].clone(), r[iteration].clone()))
        .collect();
    assert_eq!(got, kept);
    // A misspelt one is refused with the names there are; other formats have no points.
    common::facenet(&db)?
        .args(["export", "--format", "csv", "--metric", "dev_acc,dev_ac"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "--metric dev_ac: no run exported recorded it; they recorded ",
        ))
        .stderr(predicates::str::contains("dev_acc, "));
    common::facenet(&db)?
        .args(["export", "--format", "json", "--metric", "dev_acc"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "--metric picks points of --format csv",
        ));
    Ok(())
}

/// One row per run, with the numbers `runs --json` gives for it.
#[test]
fn runs_csv_has_a_row_per_run_with_what_runs_shows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    let out = common::facenet(&db)?
        .args(["export", "--format", "runs-csv"])
        .output()?;
    assert!(out.status.success());
    let rows = parse_csv(&String::from_utf8(out.stdout)?)?;
    assert_eq!(rows[0].join(","), RUNS_CSV_HEADER);
    let json = common::facenet(&db)?.args(["runs", "--json"]).output()?;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    let runs = json.as_array().context("an array")?;
    assert_eq!(rows.len(), 1 + runs.len());
    let col = |name: &str| {
        rows[0]
            .iter()
            .position(|c| c == name)
            .context(name.to_string())
    };
    for (row, run) in rows[1..].iter().zip(runs) {
        assert_eq!(row.len(), rows[0].len());
        assert_eq!(row[col("run_id")?], run["id"].to_string());
        assert_eq!(row[col("epochs_done")?], run["epochs_done"].to_string());
        // Where it came from, as recorded.
        assert_eq!(
            row[col("git_commit")?],
            run["code"]["git_commit"].as_str().unwrap_or("")
        );
        assert_eq!(
            row[col("hostname")?],
            run["hostname"].as_str().unwrap_or("-")
        );
        assert_eq!(
            row[col("command_line")?],
            run["command_line"].as_str().unwrap_or("-")
        );
        assert_eq!(row[col("notes")?], run["notes"].as_str().unwrap_or("-"));
        assert_eq!(row[col("git_dirty")?], run["code"]["git_dirty"].to_string());
        let text_or_empty = |v: &serde_json::Value| match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(
            row[col("git_diff")?],
            text_or_empty(&run["code"]["git_diff"])
        );
        let threads = &run["machine"]["cpu_threads"];
        assert_eq!(row[col("cpu_threads")?], text_or_empty(threads));
        assert_eq!(
            row[col("eval_every")?],
            run["hyper"]["eval_every"].to_string()
        );
        for key in ["best_dev_acc", "test_acc", "images_per_sec"] {
            let cell = &row[col(key)?];
            match run[key].as_f64() {
                Some(v) => assert_eq!(cell.parse::<f64>()?, v, "{key}"),
                None => assert!(cell.is_empty(), "{key}: {cell}"),
            }
        }
    }
    Ok(())
}

#[test]
fn json_reads_back_to_the_recorded_runs_and_series() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    {
        let lab = Lab::open(&db)?;
        let alex = lab.find_run("alex")?.id;
        lab.add_resume(
            alex,
            &Resume {
                at: 1.8e9,
                from_iteration: 40,
                device: "cuda".into(),
                gpu_name: Some("NVIDIA H200".into()),
                hostname: "gpu-box".into(),
                machine: Machine::current(),
                code: CodeVersion::current(),
                command_line: "facenet-lab run --resume alex --device cuda".into(),
                heartbeat_before: None,
                log_before: None,
            },
        )?;
        // Its test-split evaluation is of its last weights: made its best, the run shows it.
        let last = common::EPOCHS * common::ITERS;
        lab.add_checkpoint(&NewCheckpoint {
            run: alex,
            iteration: last,
            epoch: common::EPOCHS,
            kind: "best".into(),
            path: format!("checkpoints/{alex}/best-{last}.safetensors"),
            sha256: format!("{last:064}"),
        })?;
    }
    let assert = common::facenet(&db)?
        .args(["export", "--format", "json", "--runs", "alex,1"])
        .assert()
        .success();
    let export: Export = serde_json::from_slice(&assert.get_output().stdout)?;
    assert_eq!(export.format, EXPORT_FORMAT);
    let lab = Lab::open_read_only(&db)?;
    let names: Vec<&str> = export.runs.iter().map(|r| r.run.name.as_str()).collect();
    assert_eq!(names, ["alex", "r18-s1"]);
    for exported in &export.runs {
        let run = lab.find_run(&exported.run.name)?;
        assert_eq!(exported.run, run, "every run field");
        assert_eq!(exported.config["model"], run.hyper.model.as_str());
        let names: Vec<String> = exported.metrics.keys().cloned().collect();
        assert_eq!(names, lab.metric_names(run.id)?);
        for (name, series) in &exported.metrics {
            assert_eq!(*series, lab.series(run.id, name)?, "{name}");
        }
        assert_eq!(exported.checkpoints, lab.checkpoints(run.id)?);
        assert_eq!(exported.evaluations, lab.evaluations(run.id)?);
        assert_eq!(exported.resumes, lab.resumes(run.id)?);
        assert_eq!(
            exported.resumes.len(),
            usize::from(exported.run.name == "alex")
        );
    }
    assert_eq!(export.runs[0].metrics["test_acc"][0].value, 0.41);
    assert_eq!(
        (export.runs[0].run.test_acc, export.runs[1].run.test_acc),
        (Some(0.41), None)
    );
    // Each run's dataset, whole, once.
    for exported in &export.runs {
        if let Some(id) = exported.run.dataset_id {
            assert_eq!(
                export.datasets.get(&id.0),
                lab.dataset(id)?.as_ref(),
                "dataset {}",
                id.0
            );
        }
    }
    let distinct: std::collections::BTreeSet<i64> = export
        .runs
        .iter()
        .filter_map(|r| r.run.dataset_id.map(|d| d.0))
        .collect();
    assert_eq!((export.datasets.len(), distinct.len()), (1, 1));
    // The headline numbers travel with the run: alex's test-split evaluation.
    let evals = &export.runs[0].evaluations;
    assert_eq!(evals.len(), 1);
    assert_eq!(evals[0].metric("top1_seed_gallery"), Some(0.41));
    assert!(export.runs[1].evaluations.is_empty());
    Ok(())
}

#[test]
fn a_run_whose_process_died_is_exported_as_crashed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    {
        // Run 1 still says "running", but its heartbeat stopped an hour ago.
        let lab = Lab::open(&db)?;
        lab.conn().execute(
            "UPDATE runs SET status = 'running', finished_at = NULL,
                heartbeat_at = heartbeat_at - 3600 WHERE id = 1",
            [],
        )?;
    }
    let assert = common::facenet(&db)?
        .args(["export", "--format", "csv", "--runs", "1,2"])
        .assert()
        .success();
    let rows = parse_csv(&String::from_utf8(assert.get_output().stdout.clone())?)?;
    let header: Vec<&str> = CSV_HEADER.split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .context(name.to_string())
    };
    let (run_id, status, effective) = (col("run_id")?, col("status")?, col("effective_status")?);
    let mut statuses: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| {
            (
                r[run_id].as_str(),
                r[status].as_str(),
                r[effective].as_str(),
            )
        })
        .collect();
    statuses.dedup();
    assert_eq!(
        statuses,
        [("1", "running", "crashed"), ("2", "completed", "completed")]
    );

    let assert = common::facenet(&db)?
        .args(["export", "--format", "json", "--runs", "1"])
        .assert()
        .success();
    let export: Export = serde_json::from_slice(&assert.get_output().stdout)?;
    let run = &export.runs[0];
    assert_eq!(
        (run.run.status, run.effective_status),
        (RunStatus::Running, RunStatus::Crashed)
    );
    Ok(())
}

#[test]
fn a_reader_that_stops_early_ends_the_export_quietly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    // `facenet-lab export | head`, the reader gone before anything is written: the writer
    // ends as a SIGPIPE-killed process does (or succeeds), with no error message or panic.
    for cmd in [&["export", "--format", "csv"][..], &["runs", "--json"][..]] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("facenet-lab"))
            .arg("--db")
            .arg(&db)
            .args(cmd)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        drop(child.stdout.take());
        let out = child.wait_with_output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.is_empty(), "{cmd:?}: {err}");
        assert!(
            matches!(out.status.code(), Some(0) | Some(141)),
            "{cmd:?}: {:?}",
            out.status
        );
    }
    Ok(())
}

/// A lab of no runs exports as one: each format's empty document, said on stderr; a selection
/// that finds no run is still refused.
#[test]
fn a_lab_of_no_runs_exports_an_empty_document() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    Lab::open(&db)?;
    for (format, want) in [
        ("csv", format!("{CSV_HEADER}\n")),
        ("runs-csv", format!("{RUNS_CSV_HEADER}\n")),
    ] {
        let (out, err) =
            common::succeeds(common::facenet(&db)?.args(["export", "--format", format]));
        assert_eq!(out, want, "{format}");
        assert!(
            err.contains("has no runs yet: the export holds none"),
            "{err}"
        );
    }
    let (out, _) = common::succeeds(common::facenet(&db)?.args(["export", "--format", "json"]));
    let export: Export = serde_json::from_str(&out)?;
    assert!(export.runs.is_empty(), "{out}");
    common::fails_with(
        common::facenet(&db)?.args(["export", "--format", "csv", "--tag", "best"]),
        &["no run in lab"],
    );
    Ok(())
}

/// `export --help` names the parts of a JSON run by their keys in the document.
#[test]
fn the_help_names_the_json_keys() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    let help = common::facenet(&db)?.args(["export", "--help"]).output()?;
    let help = String::from_utf8(help.stdout)?;
    // The json value's text, with the lines it wraps onto.
    let lines: Vec<&str> = help.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("- json:"))
        .context("no json value in the help")?;
    let json_help = lines[start..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !l.trim_start().starts_with("- "))
        .map(|(_, l)| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let out = common::facenet(&db)?
        .args(["export", "--format", "json", "--runs", "1"])
        .output()?;
    let export: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    for key in ["config", "metrics", "checkpoints", "evaluations"] {
        assert!(json_help.contains(key), "{key} missing from {json_help:?}");
        assert!(
            export["runs"][0].get(key).is_some(),
            "no {key} in the export"
        );
    }
    assert!(!help.contains("series"), "{help}");
    Ok(())
}

/// An LFW View 2 evaluation of run `name`'s best checkpoint (made at its last step), as the
/// table shows it: `acc` ± 0.019, on grayscale images or not.
fn score_on_lfw(lab: &Lab, name: &str, acc: f64, grayscale: bool) -> Result<()> {
    use facenet_lab::lab::{EvalMetric, NewEvaluation, Protocol};
    let run = lab.find_run(name)?.id;
    let last = common::EPOCHS * common::ITERS;
    let best = lab.add_checkpoint(&NewCheckpoint {
        run,
        iteration: last,
        epoch: common::EPOCHS,
        kind: "best".into(),
        path: format!("checkpoints/{name}/best-{last}.safetensors"),
        sha256: format!("{:064}", run.0),
    })?;
    let colour = if grayscale { "grayscale" } else { "colour" };
    lab.add_evaluation(&NewEvaluation {
        run,
        checkpoint_id: Some(best),
        checkpoint_iteration: Some(last),
        checkpoint_sha256: None,
        protocol: Protocol::LfwPairs,
        data_source: "fixture".into(),
        options: serde_json::json!({"flip": false, "images_colour": colour}),
        metrics: vec![
            EvalMetric::new("verification_accuracy_mean", acc),
            EvalMetric::new("verification_accuracy_std", 0.019),
        ],
        code: CodeVersion::current(),
        ran_on: facenet_lab::lab::RanOn::here("cpu"),
    })?;
    Ok(())
}

/// A CSV's column `name`, by its header, a cell per row.
fn column(rows: &[Vec<String>], name: &str) -> Result<Vec<String>> {
    let i = rows[0]
        .iter()
        .position(|c| c == name)
        .context(name.to_string())?;
    Ok(rows[1..].iter().map(|r| r[i].clone()).collect())
}

/// Both CSVs name each run's dataset (not only its id), with its size, and the runs CSV says
/// which LFW scores were measured on grayscale images, as `runs` and the results table do.
#[test]
fn csvs_name_the_dataset_and_mark_lfw_on_grayscale_images() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    common::move_to_other_dataset(&db, "alex", "/data/lfw-20-30", 30, 713)?;
    {
        let lab = Lab::open(&db)?;
        score_on_lfw(&lab, "r18-s1", 0.598, true)?;
        score_on_lfw(&lab, "r18-s2", 0.757, false)?;
    }
    let out = common::facenet(&db)?
        .args(["export", "--format", "runs-csv"])
        .output()?;
    assert!(out.status.success(), "{out:?}");
    let rows = parse_csv(&String::from_utf8(out.stdout)?)?;
    let cells = |name: &str| column(&rows, name);
    assert_eq!(cells("run_name")?, ["r18-s1", "r18-s2", "alex"]);
    assert_eq!(cells("dataset_id")?, ["1", "1", "2"]);
    assert_eq!(cells("dataset")?, ["synthetic", "synthetic", "lfw-20-30"]);
    assert_eq!(cells("dataset_people")?, ["2", "2", "30"]);
    assert_eq!(cells("dataset_images")?, ["4", "4", "713"]);
    assert_eq!(cells("lfw_acc")?, ["0.598", "0.757", ""]);
    assert_eq!(cells("lfw_acc_std")?, ["0.019", "0.019", ""]);
    // No LFW score, nothing to say of its images.
    assert_eq!(cells("lfw_grayscale")?, ["true", "false", ""]);
    // As `runs --json` has it.
    let json = common::facenet(&db)?.args(["runs", "--json"]).output()?;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(json[0]["lfw_grayscale"], true);

    // The long form: each point's run's dataset.
    let out = common::facenet(&db)?
        .args(["export", "--format", "csv"])
        .output()?;
    let rows = parse_csv(&String::from_utf8(out.stdout)?)?;
    let pairs: std::collections::BTreeSet<(String, String)> = column(&rows, "run_name")?
        .into_iter()
        .zip(column(&rows, "dataset")?)
        .collect();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(r, d)| (r.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("alex", "lfw-20-30"),
            ("r18-s1", "synthetic"),
            ("r18-s2", "synthetic")
        ]
    );
    Ok(())
}

/// `elapsed_s` is seconds of training at each point, the pause between a stop and its resume
/// left out, where `wall_time` stays the Unix time it was recorded at; a run's last point comes
/// to its duration.
#[test]
fn csv_elapsed_time_leaves_out_the_pause_before_a_resume() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    {
        // r18-s1 started at 1000 and trained to its checkpoint at step 20 (one step a second);
        // it went on to step 30, stopped at 1030 (its steps past 20 dropped by the resume),
        // and was resumed from step 20 at 4990, to finish at 5020: 60 s of training, as its
        // duration says.
        let lab = Lab::open(&db)?;
        lab.conn().execute_batch(
            "UPDATE metrics SET wall_time = CASE WHEN iteration <= 20 THEN 1000 + iteration
                 ELSE 4990 + iteration - 20 END WHERE run_id = 1;
             UPDATE runs SET started_at = 1000, prior_seconds = 30, resumed_at = 4990,
                 finished_at = 5020, heartbeat_at = 5020 WHERE id = 1;
             UPDATE metrics SET wall_time = 2000 + iteration WHERE run_id = 2;
             UPDATE runs SET started_at = 2000 WHERE id = 2;",
        )?;
        lab.add_resume(
            facenet_lab::lab::RunId(1),
            &Resume {
                at: 4990.0,
                from_iteration: 20,
                device: "cpu".into(),
                gpu_name: None,
                hostname: "gpu-box".into(),
                machine: Machine::current(),
                code: CodeVersion::current(),
                command_line: "facenet-lab run --resume 1".into(),
                heartbeat_before: Some(1030.0),
                log_before: None,
            },
        )?;
    }
    let out = common::facenet(&db)?
        .args(["export", "--format", "csv", "--runs", "1,2"])
        .output()?;
    assert!(out.status.success(), "{out:?}");
    let rows = parse_csv(&String::from_utf8(out.stdout)?)?;
    let number = |name: &str| -> Result<Vec<f64>> {
        column(&rows, name)?
            .iter()
            .map(|c| Ok(c.parse::<f64>()?))
            .collect()
    };
    let (runs, iterations) = (number("run_id")?, number("iteration")?);
    let (walls, elapsed) = (number("wall_time")?, number("elapsed_s")?);
    assert_eq!(walls.len(), elapsed.len());
    for (((run, it), wall), elapsed) in runs.iter().zip(&iterations).zip(&walls).zip(&elapsed) {
        let (want_wall, want_elapsed) = match (*run as i64, *it) {
            (1, it) if it <= 20.0 => (1000.0 + it, it),
            // The 10 s from its checkpoint to its stop were spent; the 3960 s after were not.
            (1, it) => (4970.0 + it, it + 10.0),
            (_, it) => (2000.0 + it, it),
        };
        assert_eq!(
            (*wall, *elapsed),
            (want_wall, want_elapsed),
            "run {run}, step {it}"
        );
    }

    let out = common::facenet(&db)?
        .args(["export", "--format", "runs-csv", "--runs", "1"])
        .output()?;
    let runs_rows = parse_csv(&String::from_utf8(out.stdout)?)?;
    assert_eq!(column(&runs_rows, "duration_s")?, ["60"]);
    assert_eq!(column(&runs_rows, "started_at")?, ["1000"]);
    let last = runs
        .iter()
        .zip(&elapsed)
        .filter(|(r, _)| **r == 1.0)
        .map(|(_, e)| *e)
        .fold(0.0, f64::max);
    assert_eq!(last, 60.0);
    Ok(())
}

/// The JSON export gives each run's duration as `runs --json` and the runs CSV do.
#[test]
fn json_runs_carry_their_duration_as_runs_gives_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    {
        // Run 3 was interrupted after 400 s and resumed for another 100.
        let lab = Lab::open(&db)?;
        lab.conn().execute_batch(
            "UPDATE runs SET started_at = 1000, prior_seconds = 400, resumed_at = 9000,
                 finished_at = 9100, heartbeat_at = 9100 WHERE id = 3;",
        )?;
    }
    let out = common::facenet(&db)?
        .args(["export", "--format", "json"])
        .output()?;
    let export: Export = serde_json::from_slice(&out.stdout)?;
    let runs = common::facenet(&db)?.args(["runs", "--json"]).output()?;
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout)?;
    let from_runs: Vec<Option<f64>> = runs
        .as_array()
        .context("an array")?
        .iter()
        .map(|r| r["duration_secs"].as_f64())
        .collect();
    let exported: Vec<Option<f64>> = export.runs.iter().map(|r| r.duration_secs).collect();
    assert_eq!(exported, from_runs);
    assert_eq!(exported[2], Some(500.0));
    assert!(exported.iter().all(|d| d.is_some_and(|d| d >= 0.0)));
    // In the document as `runs --json` names it.
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(raw["runs"][2]["duration_secs"], 500.0);
    let out = common::facenet(&db)?
        .args(["export", "--format", "runs-csv"])
        .output()?;
    let rows = parse_csv(&String::from_utf8(out.stdout)?)?;
    let csv: Vec<Option<f64>> = column(&rows, "duration_s")?
        .iter()
        .map(|c| c.parse().ok())
        .collect();
    assert_eq!(csv, exported);
    Ok(())
}

/// `export -h` stays short; `--help` gives the CSVs' columns with their units: `wall_time` in
/// seconds since the Unix epoch.
#[test]
fn the_short_help_stays_short_and_the_long_one_gives_units() -> Result<()> {
    // Help opens no lab.
    let db = std::path::Path::new("no-such-lab.db");
    let help = |flag: &str| -> Result<String> {
        let out = common::facenet(db)?.args(["export", flag]).output()?;
        assert!(out.status.success(), "export {flag}: {out:?}");
        Ok(String::from_utf8(out.stdout)?)
    };
    let short = help("-h")?;
    assert!(!short.contains("dataset_people"), "{short}");
    let long = help("--help")?;
    let text = long.split_whitespace().collect::<Vec<_>>().join(" ");
    // The first sentence of the units, wherever the help wraps it.
    let units = text
        .split_once("Units:")
        .and_then(|(_, units)| units.split(". ").next())
        .unwrap_or_else(|| panic!("no units in {long}"));
    assert!(
        units.contains("wall_time") && units.contains("seconds since the Unix epoch"),
        "{units}"
    );
    Ok(())
}
