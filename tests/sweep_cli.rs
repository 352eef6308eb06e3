//! `facenet-lab sweep`: spec parsing, grid expansion, validation, tags, and the N-at-a-time
//! scheduler driving a fake trainer (FACENET_LAB_SWEEP_EXE) that records its arguments.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use assert_cmd::Command;
use common::process::{self, exits_within, is_alive, kill, poll, KillOnDrop};
use facenet_lab::lab::{Lab, Run, RunStatus};
use facenet_lab::sweep::{SweepSpec, SWEEP_EXE_ENV};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use toml::Value;

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn get<'a>(config: &'a toml::Table, key: &str) -> &'a Value {
    config.get(key).unwrap_or(&Value::Boolean(false))
}

fn tags(config: &toml::Table) -> Vec<String> {
    match config.get("tags") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_shipped_specs_parse_to_the_intended_runs() -> Result<()> {
    let seed = SweepSpec::parse(
        &std::fs::read_to_string(repo_file("experiments/seed-table.toml"))?,
        "seed-table.toml",
    )?;
    assert_eq!(seed.tag, "seed-table");
    let rows: Vec<String> = seed
        .configs
        .iter()
        .map(|c| format!("{} {}/{}", get(c, "model"), get(c, "batch"), get(c, "dim")))
        .collect();
    assert_eq!(
        rows,
        [
            "\"resnet18\" 32/128",
            "\"resnet18\" 64/128",
            "\"alexnet\" 32/128",
            "\"resnet152\" 32/128",
            "\"resnet152\" 32/64",
            "\"resnet152\" 8/64",
        ]
    );
    for c in &seed.configs {
        assert_eq!(get(c, "lr"), &Value::Float(1e-4));
        assert_eq!(get(c, "epochs"), &Value::Integer(100));
        assert_eq!(get(c, "mining").as_str(), Some("all"));
        assert_eq!(tags(c), ["seed-table"]);
    }
    assert_eq!(
        get(&seed.configs[2], "name").as_str(),
        Some("seed-table-3-alexnet-32-128")
    );

    let best = SweepSpec::parse(
        &std::fs::read_to_string(repo_file("experiments/best-recipe.toml"))?,
        "best-recipe.toml",
    )?;
    assert_eq!(best.configs.len(), 3);
    let c = &best.configs[0];
    assert_eq!(
        (get(c, "sampler").as_str(), get(c, "pk_k")),
        (Some("pk"), &Value::Integer(4))
    );
    assert_eq!(
        (get(c, "mining").as_str(), get(c, "lr"), get(c, "crop")),
        (Some("semihard"), &Value::Float(5e-4), &Value::Float(0.5))
    );

    let smoke = SweepSpec::parse(
        &std::fs::read_to_string(repo_file("experiments/smoke.toml"))?,
        "smoke.toml",
    )?;
    assert_eq!(smoke.configs.len(), 2);
    assert_eq!(get(&smoke.configs[1], "data").as_str(), Some("synthetic"));
    Ok(())
}

#[test]
fn runs_then_grid_over_base_with_tags_added() -> Result<()> {
    let spec = SweepSpec::parse(
        r#"
        tag = "g"
        [base]
        model = "resnet18"
        epochs = 3
        [[runs]]
        epochs = 7
        tags = ["keep"]
        name = "first"
        [grid]
        model = ["resnet18", "alexnet"]
        batch = [32, 64]
        "#,
        "spec.toml",
    )?;
    let got: Vec<String> = spec
        .configs
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {:?}",
                get(c, "name"),
                get(c, "model"),
                get(c, "epochs"),
                tags(c)
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            r#""first" "resnet18" 7 ["keep", "g"]"#,
            // Keys in name order, the last varying fastest: batch, then model.
            r#""g-2-resnet18-32" "resnet18" 3 ["g"]"#,
            r#""g-3-alexnet-32" "alexnet" 3 ["g"]"#,
            r#""g-4-resnet18-64" "resnet18" 3 ["g"]"#,
            r#""g-5-alexnet-64" "alexnet" 3 ["g"]"#,
        ]
    );
    Ok(())
}

#[test]
fn every_invalid_run_is_reported_and_nothing_starts() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("bad.toml");
    std::fs::write(
        &spec,
        r#"
        tag = "bad"
        [base]
        model = "resnet18"
        [[runs]]
        batch = 32
        [[runs]]
        bach = 32
        [[runs]]
        model = "vgg"
        mining = "easy"
        "#,
    )?;
    let (mut sweep, marker) = sweep_of(dir.path(), &spec)?;
    sweep
        .assert()
        .failure()
        .stderr(contains("has 3 problems; nothing was started"))
        // Each run is labelled by the keys that vary among the runs.
        .stderr(contains("run 2 (model = \"resnet18\", bach = 32):"))
        .stderr(contains("unknown field `bach`"))
        .stderr(contains("run 3 (model = \"vgg\", mining = \"easy\"):"))
        .stderr(contains(
            "mining = \"easy\" is not one of `all`, `semihard`, `hard`\n",
        ))
        .stderr(contains(
            "model = \"vgg\" is not one of `alexnet`, `resnet18`, `resnet152`\n",
        ));
    assert!(!marker.exists(), "the trainer was never started");

    for (text, want) in [
        ("tag = \"t\"\n", "defines no runs"),
        (
            "tag = \"t\"\n[grid]\nbatch = 32\n",
            "[grid] batch = 32 must be a non-empty list",
        ),
        (
            "tag = \"t\"\ntypo = 1\n[[runs]]\nmodel = \"alexnet\"\n",
            "unknown field `typo`",
        ),
        (
            "tag = \"a b\"\n[[runs]]\nmodel = \"alexnet\"\n",
            "must be a non-empty word",
        ),
        (
            "tag = \"t\"\n[base]\nname = \"same\"\nmodel = \"alexnet\"\n[grid]\nseed = [1, 2]\n",
            "runs 1 and 2 are both named \"same\"",
        ),
    ] {
        let err = SweepSpec::parse(text, "t.toml").err().context(want)?;
        assert!(format!("{err:#}").contains(want), "{want}: {err:#}");
    }
    Ok(())
}

/// A bad [base] key hides none of the spec's other mistakes: a misspelt table, a run's bad
/// value, a second bad [base] key are all said in the one refusal, and nothing starts.
#[test]
fn a_bad_base_key_is_said_with_every_other_mistake_of_the_spec() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("walk.toml");
    std::fs::write(
        &spec,
        "tag = \"walk\"\n[base]\nmodel = \"resnet18\"\nbach = 32\nepochs = \"ten\"\n\
         [[runs]]\nmining = \"easy\"\n[grd]\nseed = [1, 2]\n",
    )?;
    let (mut sweep, marker) = sweep_of(dir.path(), &spec)?;
    sweep
        .arg("--dry-run")
        .assert()
        .failure()
        .stderr(contains("has 4 problems; nothing was started"))
        .stderr(contains("`grd` is no setting: did you mean `grid`?"))
        .stderr(contains("8 | [grd]"))
        // A bad key inside [base] or a [[runs]] entry is said with its line and a caret, as
        // `run --config` says it, indented under its heading: each on a line of its own (the
        // next starts after the caret and toml's words), its line and caret below it.
        .stderr(contains(
            "[base]:\n  `bach` is no setting: did you mean `batch`?\n    TOML parse error at \
             line 4, column 1\n      |\n    4 | bach = 32\n      | ^^^^\n    unknown field \
             `bach`\n  the value must be a whole number, not negative, without quotes (e.g. 64)\n",
        ))
        .stderr(contains(
            "    5 | epochs = \"ten\"\n      |          ^^^^^\n    invalid type: string \
             \"ten\", expected usize\n",
        ))
        .stderr(contains(
            "run 1 (model = \"resnet18\"):\n  mining = \"easy\" is not one of `all`, \
             `semihard`, `hard`\n    TOML parse error at line 7, column 10\n      |\n    \
             7 | mining = \"easy\"\n      |          ^^^^^^\n    unknown variant `easy`",
        ));
    assert!(!marker.exists(), "the trainer was never started");
    Ok(())
}

/// Each mistake of a spec is said once, where it is: a rule [base] breaks for [base], not
/// for every run; a bad grid value for `[grid] KEY = VALUE`, not for every combination; a
/// misspelt key with the setting meant; two [[runs]] of one name told to part them there.
#[test]
fn each_mistake_of_a_spec_is_said_once_where_it_is() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("walk.toml");
    std::fs::write(
        &spec,
        "tag = \"walk\"\n[base]\nmodel = \"resnet18\"\ncrop = 2.0\n\
         [[runs]]\nname = \"x\"\nimagesize = 64\n[[runs]]\nname = \"x\"\n\
         [grid]\nmining = [\"all\", \"hardest\"]\nlr = [1e-3, -1.0]\nseed = [1, 2]\n",
    )?;
    let (mut sweep, marker) = sweep_of(dir.path(), &spec)?;
    let out = sweep.arg("--dry-run").output()?;
    assert!(!out.status.success() && !marker.exists());
    let err = String::from_utf8(out.stderr)?;
    for said in [
        "has 5 problems; nothing was started",
        "[base]:\n  --crop must be a fraction in (0, 1] of the image's side, got 2\n",
        "[grid] lr = -1.0:\n  --lr must be a positive number, got -1\n",
        "[grid] mining = \"hardest\":\n  mining = \"hardest\" is not one of `all`, `semihard`, \
         `hard`\n    TOML parse error at line 11, column 18\n       |\n    \
         11 | mining = [\"all\", \"hardest\"]\n       |                  ^^^^^^^^^\n    \
         unknown variant `hardest`",
        "run 1 (imagesize = 64):\n  `imagesize` is no setting: did you mean \
         `image_size`?\n    TOML parse error at line 7, column 1\n      |\n    7 | imagesize = 64\n",
        "runs 1 and 2 are both named \"x\" in their [[runs]] entries",
    ] {
        assert!(err.contains(said), "{said}: {err}");
    }
    assert_eq!(err.matches("--crop").count(), 1, "{err}");
    assert_eq!(err.matches("--lr must be").count(), 1, "{err}");
    assert_eq!(err.matches("`hardest`").count(), 1, "{err}");
    assert!(!err.contains("leave name out of [base]"), "{err}");
    assert!(!dir.path().join("logs").exists(), "nothing was started");
    Ok(())
}

/// A stand-in trainer: records its arguments and start/end, says it is training (on stdout,
/// into its log), runs `body`, takes 0.3 s.
/// `facenet-lab --db DIR/lab.db sweep SPEC`, its runs given to a fake trainer that touches the
/// file returned: there once any run started.
fn sweep_of(dir: &Path, spec: &Path) -> Result<(Command, PathBuf)> {
    let marker = dir.join("started");
    let fake = fake_trainer(dir, &format!("touch '{}'", marker.display()))?;
    let mut sweep = Command::cargo_bin("facenet-lab")?;
    sweep
        .arg("--db")
        .arg(dir.join("lab.db"))
        .arg("sweep")
        .arg(spec)
        .env(SWEEP_EXE_ENV, &fake);
    Ok((sweep, marker))
}

fn fake_trainer(dir: &Path, body: &str) -> Result<PathBuf> {
    let path = dir.join("fake-trainer.sh");
    let log = dir.join("argv");
    let events = dir.join("events");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\necho start >> '{1}'\necho \"fake trainer: training\"\nsleep 0.3\necho end >> '{1}'\n{body}\n",
            log.display(),
            events.display()
        ),
    )?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

#[test]
fn runs_n_at_a_time_with_one_status_line_each_and_reports_failures() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("four.toml");
    std::fs::write(
        &spec,
        "tag = \"four\"\ndescription = \"one recipe, four seeds\"\n[base]\nmodel = \"resnet18\"\n\
         data = \"synthetic\"\n[grid]\nseed = [1, 2, 3, 4]\n",
    )?;
    // Run 2 fails the way a trainer would: a message on stderr and a non-zero exit.
    let fake = fake_trainer(
        dir.path(),
        "case \"$5\" in *2-four-2-*) echo 'error: out of memory' >&2; exit 3;; esac",
    )?;
    let db = dir.path().join("lab.db");
    // The sweep's folder of configs and logs goes beside the lab, not into the system's
    // temporary folder.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp)?;
    let logs = dir.path().join("logs");
    let assert = Command::cargo_bin("facenet-lab")?
        .arg("--db")
        .arg(&db)
        .args(["sweep", "--parallel", "2"])
        .arg(&spec)
        .env(SWEEP_EXE_ENV, &fake)
        .env("TMPDIR", &tmp)
        .assert()
        .failure()
        .stderr(contains("3 of 4 runs finished and 1 failed"));
    let stdout = String::from_utf8(assert.get_output().stdout.clone())?;
    assert!(stdout.contains("[2/4] FAILED   four-2-seed2"), "{stdout}");
    assert!(stdout.contains("error: out of memory"), "{stdout}");
    for i in [1, 3, 4] {
        assert!(
            stdout.contains(&format!("[{i}/4] finished four-{i}-seed{i}")),
            "{stdout}"
        );
    }
    assert_eq!(stdout.matches("started").count(), 4, "{stdout}");
    assert!(
        stdout.starts_with("sweep 'four': one recipe, four seeds\n"),
        "{stdout}"
    );

    let argv = std::fs::read_to_string(dir.path().join("argv"))?;
    let mut configs = Vec::new();
    for line in argv.lines() {
        let args: Vec<&str> = line.split(' ').collect();
        assert_eq!(args.len(), 7, "{line}");
        assert_eq!(
            (args[0], args[2], args[3], args[5]),
            ("--db", "run", "--config", "--log-path"),
            "{line}"
        );
        // The lab as the sweep was given it, so that what a run says of it is what the
        // sweep says.
        assert_eq!(Path::new(args[1]), db, "{line}");
        let config: toml::Table = toml::from_str(&std::fs::read_to_string(args[4])?)?;
        configs.push(config);
        // The log the run records is the file its output went to, named by an absolute path.
        let log = Path::new(args[6]);
        assert!(log.is_absolute() && log.starts_with(&logs), "{line}");
        let folder = log
            .parent()
            .context("sweep folder")?
            .file_name()
            .context("name")?;
        assert!(folder.to_string_lossy().ends_with("-sweep-four"), "{line}");
        // The spec is kept beside the runs' configs as it was given, description and all.
        let kept = log.with_file_name(facenet_lab::sweep::SPEC_COPY);
        assert_eq!(
            std::fs::read_to_string(&kept)?,
            std::fs::read_to_string(&spec)?
        );
        assert_eq!(log.with_extension("toml"), Path::new(args[4]), "{line}");
        assert!(
            stdout.contains(&format!("(log: {})", log.display())),
            "{stdout}"
        );
        let text = std::fs::read_to_string(log)?;
        assert!(text.contains("fake trainer: training"), "{line}: {text}");
    }
    let mut seeds: Vec<i64> = configs
        .iter()
        .filter_map(|c| get(c, "seed").as_integer())
        .collect();
    seeds.sort();
    assert_eq!(seeds, [1, 2, 3, 4]);
    assert!(configs.iter().all(|c| tags(c) == ["four"]));
    assert_eq!(std::fs::read_dir(&tmp)?.count(), 0, "nothing in TMPDIR");

    // Two runs out at once and never three, by the sweep's own lines (the trainers' log cannot
    // show the two: on a loaded machine the first may end before the second writes its start)
    // ...
    let (mut out, mut peak) = (0, 0);
    for line in stdout.lines().filter(|l| l.starts_with('[')) {
        out += if line.contains("] started ") { 1 } else { -1 };
        peak = peak.max(out);
    }
    assert_eq!(peak, 2, "two at a time: {stdout}");
    // ... and no three trainers ever ran together.
    let (mut now, mut most) = (0, 0);
    for line in std::fs::read_to_string(dir.path().join("events"))?.lines() {
        now += if line == "start" { 1 } else { -1 };
        most = most.max(now);
    }
    assert!((1..=2).contains(&most), "{most} ran together");
    Ok(())
}

/// A run stopped on purpose (`X` in the dashboard: the trainer checkpoints, is recorded as
/// interrupted and exits 130) is not a failure: the sweep says so, goes on with the others,
/// and exits 130 as `run` does, or 1 when another run failed.
#[test]
fn a_stopped_run_is_reported_as_stopped_not_failed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("three.toml");
    std::fs::write(
        &spec,
        "tag = \"three\"\n[base]\nmodel = \"resnet18\"\ndata = \"synthetic\"\n[grid]\nseed = [1, 2, 3]\n",
    )?;
    let sweep = |body: &str| -> Result<std::process::Output> {
        let fake = fake_trainer(dir.path(), body)?;
        Ok(Command::cargo_bin("facenet-lab")?
            .arg("--db")
            .arg(dir.path().join("lab.db"))
            .arg("sweep")
            .arg(&spec)
            .env(SWEEP_EXE_ENV, &fake)
            .output()?)
    };
    let stop_2 = "case \"$5\" in *2-three-2-*) echo '  continue with: facenet-lab run --resume 2' >&2; exit 130;; esac";
    let out = sweep(stop_2)?;
    let (stdout, stderr) = (
        String::from_utf8(out.stdout)?,
        String::from_utf8(out.stderr)?,
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");
    assert!(
        stdout.contains("[2/3] stopped  three-2-seed2 after ")
            && stdout.contains(": continue with: facenet-lab run --resume 2"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
    for i in [1, 3] {
        assert!(
            stdout.contains(&format!("[{i}/3] finished three-{i}-seed{i}")),
            "the sweep goes on: {stdout}"
        );
    }
    assert!(
        stderr.contains("2 of 3 runs finished and 1 stopped")
            && stderr.contains("stopped: three-2-seed2 before the lab recorded it: `facenet-lab"),
        "{stderr}"
    );
    assert!(!stderr.contains("failed"), "{stderr}");

    // With a failure too, the sweep failed, and says what was stopped.
    let out = sweep(&format!(
        "{stop_2}\ncase \"$5\" in *3-three-3-*) echo 'error: out of memory' >&2; exit 3;; esac"
    ))?;
    let stderr = String::from_utf8(out.stderr)?;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 of 3 runs finished, 1 failed and 1 stopped"),
        "{stderr}"
    );
    Ok(())
}

/// With the real trainer: every run of a sweep records its log, the file its output went to,
/// so the dashboard can show its tail.
#[test]
fn sweep_runs_record_their_logs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("logs.toml");
    std::fs::write(
        &spec,
        "tag = \"logs\"\n[base]\nmodel = \"resnet18\"\ndata = \"synthetic:4:8\"\nimage_size = 16\nbatch = 8\nepochs = 1\n[grid]\nseed = [1, 2]\n",
    )?;
    let db = dir.path().join("lab.db");
    Command::from_std(real_sweep(dir.path(), &spec))
        .assert()
        .success()
        .stdout(contains("all 2 runs finished"))
        // Each finished line names the run it recorded and what it reached.
        .stdout(predicates::str::is_match(
            r"\[1/2\] finished logs-1-seed1 in \d+s \(run [12], best dev (0|1)\.\d{3}\)",
        )?);
    let lab = facenet_lab::lab::Lab::open_read_only(&db)?;
    let runs = lab.list_runs()?;
    assert_eq!(runs.len(), 2);
    for run in runs {
        // Stored relative to the lab, like every path it records.
        let recorded = run.log_path.clone().context("no log recorded")?;
        assert!(PathBuf::from(&recorded).is_relative(), "{recorded}");
        let log = lab.resolve(&recorded);
        assert!(log.starts_with(dir.path()), "{log:?}");
        let text = std::fs::read_to_string(&log)?;
        assert!(
            text.contains(&format!("run {} ({})", run.id, run.name)),
            "{log:?} is run {}'s output:\n{text}",
            run.id
        );
    }
    // Started again, the spec says its runs are in the lab already, and trains new ones.
    let mut again = real_sweep(dir.path(), &spec);
    again.arg("--dry-run");
    Command::from_std(again)
        .assert()
        .success()
        .stderr(contains(format!(
            "note: lab '{}' already has runs of 2 of these names; a sweep would train new runs \
             beside them (--resume finishes those instead):",
            db.display()
        )))
        .stderr(predicates::str::is_match(
            r"logs-1-seed1 \(1/2\): run [12] \(completed\)",
        )?);
    // With --resume, a completed sweep has nothing left to train, and no folder to keep.
    let sweeps = || -> Result<usize> { Ok(std::fs::read_dir(dir.path().join("logs"))?.count()) };
    let before = sweeps()?;
    let mut resumed = real_sweep(dir.path(), &spec);
    resumed.arg("--resume");
    Command::from_std(resumed)
        .assert()
        .success()
        .stderr(contains(
            "sweep 'logs' resumes 0 runs, starts 0; 2 completed already (runs 1, 2)",
        ))
        .stdout(contains(
            "sweep 'logs': nothing left to train: all 2 runs completed",
        ));
    assert_eq!(sweeps()?, before, "no sweep folder made");
    assert_eq!(
        facenet_lab::lab::Lab::open_read_only(&db)?
            .list_runs()?
            .len(),
        2
    );
    Ok(())
}

/// A sweep whose runs its time limit stopped is finished by `sweep --resume`: the stopped runs
/// go on where they stopped, as themselves, and the one never started starts.
#[test]
fn a_sweep_cut_off_by_its_time_limit_is_finished_by_resume() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("cut.toml");
    let body = "[base]\nmodel = \"resnet18\"\ndata = \"synthetic:4:8\"\nimage_size = 16\n\
                batch = 8\nepochs = 2\n[grid]\nseed = [1, 2]\n";
    // A limit no step fits in: each run stops after its first step, with a checkpoint.
    std::fs::write(
        &spec,
        format!("tag = \"cut\"\ntime_limit = \"0.001s\"\n{body}"),
    )?;
    let db = dir.path().join("lab.db");
    let out = real_sweep(dir.path(), &spec).output()?;
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        said.contains("0 of 2 runs finished and 2 stopped")
            && said.contains("cut.toml --resume` takes them all on from here"),
        "{said}"
    );
    let lab = Lab::open(&db)?;
    let first_log = lab
        .run(facenet_lab::lab::RunId(1))?
        .context("run 1")?
        .log_path
        .context("a log")?;
    let statuses = || -> Result<Vec<(i64, String)>> {
        Ok(lab
            .list_runs()?
            .into_iter()
            .map(|r| (r.id.0, r.status.as_str().to_string()))
            .collect())
    };
    assert_eq!(
        statuses()?,
        [(1, "interrupted".into()), (2, "interrupted".into())]
    );
    // Run 2 is left to start again: the lab holds no run of its name.
    lab.conn().execute("DELETE FROM runs WHERE id = 2", [])?;
    // Without its limit, the spec resumes run 1 and starts the other.
    std::fs::write(&spec, format!("tag = \"cut\"\n{body}"))?;
    let mut again = real_sweep(dir.path(), &spec);
    again.arg("--resume");
    let out = again.output()?;
    let (told, said) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{told}\n{said}");
    assert!(
        said.contains("sweep 'cut' resumes 1 run, starts 1"),
        "{said}"
    );
    assert!(
        told.contains("resumed  cut-1-seed1 (run 1;") && told.contains("started  cut-2-seed2"),
        "{told}"
    );
    assert_eq!(
        statuses()?,
        [(1, "completed".into()), (2, "completed".into())]
    );
    let resumes = lab.resumes(facenet_lab::lab::RunId(1))?;
    assert_eq!(resumes.len(), 1, "run 1 went on as itself");
    assert!(resumes[0].from_iteration > 0, "from its checkpoint");
    // Its log is now the resumed sweep's, which the dashboard shows the tail of.
    let run = lab.run(facenet_lab::lab::RunId(1))?.context("run 1")?;
    let log = lab.resolve(run.log_path.as_deref().context("a log")?);
    let text = std::fs::read_to_string(&log)?;
    assert!(text.contains("run 1 (cut-1-seed1) resumes on"), "{text}");
    // The first sweep's log is kept by the resume that took its place.
    assert_ne!(run.log_path.as_deref(), Some(first_log.as_str()));
    assert_eq!(resumes[0].log_before.as_deref(), Some(first_log.as_str()));
    let text = std::fs::read_to_string(lab.resolve(&first_log))?;
    assert!(text.contains("run 1 (cut-1-seed1)"), "{text}");
    Ok(())
}

/// `facenet-lab --db DIR/lab.db sweep SPEC` in `dir`, its runs trained by this build's real
/// trainer.
fn real_sweep(dir: &Path, spec: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("facenet-lab"));
    c.current_dir(dir)
        .arg("--db")
        .arg(dir.join("lab.db"))
        .arg("sweep")
        .arg(spec)
        .env_remove(SWEEP_EXE_ENV);
    c
}

/// `facenet-lab sweep SPEC` in `dir`, of its default lab (`dir/lab.db`, no `--db` nor
/// FACENET_LAB_DB), its runs trained by this build's real trainer.
fn real_sweep_of_the_default_lab(dir: &Path, spec: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("facenet-lab"));
    c.current_dir(dir)
        .arg("sweep")
        .arg(spec)
        .env_remove(SWEEP_EXE_ENV)
        .env_remove("FACENET_LAB_DB");
    c
}

/// A tiny run that trains until it is stopped, as a run's (or a sweep's `[base]`) keys.
const ENDLESS_RUN: &str = "model = \"resnet18\"\ndata = \"synthetic:4:8\"\nimage_size = 16\nbatch = 8\ndim = 16\nepochs = 100000\ndevice = \"cpu\"\n";

/// The first run of the lab at `db` once it is recorded running.
fn wait_for_running(db: &Path, within: Duration) -> Result<Run> {
    let what = "no run was recorded running";
    poll(within, what, || {
        Ok(Lab::open_read_only(db)
            .and_then(|lab| lab.list_runs())
            .ok()
            .and_then(|runs| runs.into_iter().find(|r| r.status == RunStatus::Running)))
    })
}

/// Starts a sweep of three tiny runs with the real trainer in a process group of its own,
/// signals it through `signal(pid)` once its first run trains, and checks that the run was
/// stopped as Ctrl-C stops it (once: checkpointed, recorded interrupted), that nothing more
/// started, that no trainer is left behind, and that the sweep said what to do next and
/// exited 130.
fn sweep_stopped_by(signal: impl FnOnce(i64, i64) -> Result<()>) -> Result<()> {
    stopped_sweep(real_sweep, signal)
}

/// [`sweep_stopped_by`] of the sweep that `sweep(dir, spec)` starts, in the lab `dir/lab.db`.
fn stopped_sweep(
    sweep: fn(&Path, &Path) -> std::process::Command,
    signal: impl FnOnce(i64, i64) -> Result<()>,
) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("tiny.toml");
    std::fs::write(
        &spec,
        format!("tag = \"tiny\"\n[base]\n{ENDLESS_RUN}[grid]\nlr = [1e-3, 1e-4, 1e-5]\n"),
    )?;
    let db = dir.path().join("lab.db");
    let mut command = sweep(dir.path(), Path::new("tiny.toml"));
    // The `--db` the sweep's commands give: none for the default lab, as the sweep had none.
    let db_flag = if command.get_args().any(|a| a == "--db") {
        format!(" --db {}", db.display())
    } else {
        String::new()
    };
    let sweep = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let sweep_pid = i64::from(sweep.id());
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(sweep.wait_with_output()));

    let run = wait_for_running(&db, Duration::from_secs(120))?;
    let trainer = KillOnDrop(run.pid.context("a running run records its pid")?);
    // The trainer leads a process group of its own: a terminal's Ctrl-C to the sweep's group
    // does not reach it directly (the "once" below could also come from the run's own
    // same-request window; this shows the isolation by itself).
    let trainer_pid = libc::pid_t::try_from(trainer.0)?;
    // SAFETY: getpgid(2) only reads a process's group id.
    assert_eq!(unsafe { libc::getpgid(trainer_pid) }, trainer_pid);
    // The dashboard finds the sweep behind the run (to offer stopping it), and none behind
    // the sweep, which this test started.
    assert_eq!(
        facenet_lab::tui::process::sweep_of(trainer.0),
        Some(sweep_pid)
    );
    assert_eq!(facenet_lab::tui::process::sweep_of(sweep_pid), None);
    signal(sweep_pid, trainer.0).context("signalling the sweep")?;
    let out = match ended.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out?,
        Err(e) => {
            // The sweep is not reaped yet: the pid is still its own.
            let _ = kill(sweep_pid, libc::SIGKILL);
            anyhow::bail!("the sweep did not end after the signal: {e}");
        }
    };
    let (stdout, stderr) = (
        String::from_utf8(out.stdout)?,
        String::from_utf8(out.stderr)?,
    );
    let said = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        !is_alive(trainer.0),
        "the trainer (pid {}) is still running",
        trainer.0
    );
    // The sweep reaped it: its pid may be another's by the time the test ends.
    trainer.disarm();

    let lab = Lab::open_read_only(&db)?;
    let runs = lab.list_runs()?;
    assert_eq!(runs.len(), 1, "nothing more started: {said}");
    assert_eq!(runs[0].status, RunStatus::Interrupted, "{said}");
    let log = lab.resolve(runs[0].log_path.as_deref().context("log")?);
    let trained = std::fs::read_to_string(log)?;
    assert_eq!(
        trained.matches("stopping after this step").count(),
        1,
        "asked once, never a second time (quit without a checkpoint): {trained}"
    );
    assert!(
        stdout.contains("[1/3] stopped  tiny-1-lr1e-3 after ") && !said.contains("asked again"),
        "{said}"
    );
    assert!(!stdout.contains("started  tiny-2"), "{stdout}");
    // The run's own line and the sweep's summary give one command to continue it.
    let resume = format!("facenet-lab{db_flag} run --resume 1");
    assert!(
        stdout.contains(&format!(": continue with: {resume}\n")),
        "{said}"
    );
    for want in [
        "0 of 3 runs finished, 1 stopped and 2 not started",
        &format!("stopped: tiny-1-lr1e-3 (run 1): `{resume}` continues it"),
        &format!("not started: tiny-2-lr1e-4: `facenet-lab{db_flag} run --config "),
        &format!("not started: tiny-3-lr1e-5: `facenet-lab{db_flag} run --config "),
        &format!("`facenet-lab{db_flag} sweep tiny.toml --resume` takes them all on from here"),
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
    Ok(())
}

/// A sweep of the default lab, stopped: the stopped run's own line gives no `--db`, as the
/// sweep's summary gives none (a run given the lab by its absolute path said `--db PATH`, and
/// the two commands disagreed).
#[test]
fn a_stopped_sweep_of_the_default_lab_gives_one_command_to_continue_its_run() -> Result<()> {
    stopped_sweep(real_sweep_of_the_default_lab, |pid, _| {
        kill(pid, libc::SIGTERM)
    })
}

/// A stop that reaches a run as it starts, before its handler is in place, still stops it as
/// Ctrl-C does (one step, a checkpoint, recorded interrupted, exit 130): the sweep's command
/// holds SIGINT back until the run can take it. Without that, SIGINT's default kills it. The
/// run is frozen before it starts while the SIGINT is sent, so that it arrives before the
/// handler whatever the machine's speed, and the test shows it was held back.
#[test]
fn a_sigint_as_a_sweep_run_starts_waits_for_its_handler() -> Result<()> {
    a_stop_as_a_sweep_run_starts_waits_for_its_handler(libc::SIGINT)
}

/// The same of the sweep's own stop, SIGUSR1, whose default action kills as well.
#[test]
fn a_sweeps_stop_as_its_run_starts_waits_for_its_handler() -> Result<()> {
    a_stop_as_a_sweep_run_starts_waits_for_its_handler(facenet_lab::signals::STOP_ONCE)
}

fn a_stop_as_a_sweep_run_starts_waits_for_its_handler(signal: libc::c_int) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("r.toml");
    std::fs::write(&config, ENDLESS_RUN)?;
    let (db, log_path) = (dir.path().join("lab.db"), dir.path().join("r.log"));
    let log = std::fs::File::create(&log_path)?;
    // The sweep's command, through a shell that stops itself before it becomes the trainer:
    // frozen before the trainer's first instruction, whatever the machine's load.
    let program = dir.path().join("stopped-trainer");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\nkill -STOP $$\nexec '{}' \"$@\"\n",
            assert_cmd::cargo::cargo_bin("facenet-lab").display()
        ),
    )?;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))?;
    let mut child = facenet_lab::sweep::trainer_command(
        &program,
        &db,
        &["--config".into(), config.clone().into()],
        &log_path,
        log,
    )?
    .spawn()?;
    let trainer = KillOnDrop(i64::from(child.id()));
    // SIGINT and the sweep's stop are blocked in it, and the signal sent now waits.
    process::stopped(&child)?;
    let bit = |signal: libc::c_int| 1u64 << (signal - 1);
    let both = bit(libc::SIGINT) | bit(facenet_lab::signals::STOP_ONCE);
    let blocked = process::signal_mask(child.id(), "SigBlk")?;
    assert_eq!(
        blocked & both,
        both,
        "SIGINT and SIGUSR1 are not blocked as the run starts"
    );
    process::signal(&child, signal)?;
    let pending = process::signal_mask(child.id(), "ShdPnd")?;
    assert_ne!(pending & bit(signal), 0, "signal {signal} is not held back");
    process::signal(&child, libc::SIGCONT)?;
    // One step and a checkpoint: seconds. A trainer that ignored the stop would go on for
    // its 100,000 epochs, and is killed after two minutes.
    let waited = exits_within(&mut child, Duration::from_secs(120));
    // Reaped either way: its pid is no longer its own to kill.
    trainer.disarm();
    let status = waited.context("the trainer did not stop after the signal")?;
    let said = std::fs::read_to_string(&log_path)?;
    assert_eq!(status.code(), Some(130), "{status}: {said}");
    let runs = Lab::open_read_only(&db)?.list_runs()?;
    assert_eq!(runs.len(), 1, "{said}");
    assert_eq!(runs[0].status, RunStatus::Interrupted, "{said}");
    Ok(())
}

/// A sweep killed outright (SIGKILL, the OOM killer) leaves no run training unseen: its run
/// gets the sweep's stop and ends as a stop ends it, checkpointed and recorded interrupted.
#[test]
fn a_killed_sweeps_run_stops_with_a_checkpoint() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("tiny.toml");
    std::fs::write(
        &spec,
        format!("tag = \"tiny\"\n[base]\n{ENDLESS_RUN}[grid]\nlr = [1e-3, 1e-4]\n"),
    )?;
    let db = dir.path().join("lab.db");
    let mut sweep = real_sweep(dir.path(), &spec)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let run = wait_for_running(&db, Duration::from_secs(120));
    sweep.kill()?;
    sweep.wait()?;
    let run = run?;
    let trainer = KillOnDrop(run.pid.context("a running run records its pid")?);
    let lab = Lab::open_read_only(&db)?;
    let ended = poll(Duration::from_secs(120), "the run is still running", || {
        Ok(lab.run(run.id)?.filter(|r| r.status != RunStatus::Running))
    })?;
    trainer.disarm();
    assert_eq!(ended.status, RunStatus::Interrupted);
    assert!(lab
        .checkpoints(run.id)?
        .iter()
        .any(|c| c.kind == "interrupt"));
    Ok(())
}

/// SIGTERM to the sweep alone, as `kill`, `timeout` or a job scheduler sends it.
#[test]
fn a_terminated_sweep_stops_its_run_and_names_the_runs_not_started() -> Result<()> {
    sweep_stopped_by(|pid, _| kill(pid, libc::SIGTERM))
}

/// The dashboard's stop, twice, more than the half second apart in which a signal repeats the
/// first request: the second asks nothing more (a second request would pass "quit now" on, and
/// the sweep would say it asked again), and the run still stops with its checkpoint. The run is
/// frozen meanwhile, so that the sweep is still waiting for it when the second comes.
#[test]
fn a_sweep_asked_twice_as_the_dashboard_asks_stops_its_run_once() -> Result<()> {
    sweep_stopped_by(|pid, trainer| {
        kill(trainer, libc::SIGSTOP)?;
        kill(pid, facenet_lab::signals::STOP_ONCE)?;
        std::thread::sleep(facenet_lab::signals::SAME_REQUEST + Duration::from_millis(100));
        kill(pid, facenet_lab::signals::STOP_ONCE)?;
        // The sweep looks for requests every 50 ms.
        std::thread::sleep(Duration::from_millis(300));
        kill(trainer, libc::SIGCONT)
    })
}

/// SIGINT to the sweep's whole process group, as Ctrl-C in its terminal sends it: the trainer
/// must still see a single SIGINT.
#[test]
fn ctrl_c_stops_the_sweep_and_its_run_once() -> Result<()> {
    // A negative pid names the process group.
    sweep_stopped_by(|pid, _| kill(-pid, libc::SIGINT))
}

/// `timeout -s INT` signals the sweep, then its whole group: one request, heard twice.
#[test]
fn one_stop_signalled_twice_is_one_request() -> Result<()> {
    sweep_stopped_by(|pid, _| {
        let (sweep, group) = (kill(pid, libc::SIGINT), kill(-pid, libc::SIGINT));
        sweep.and(group)
    })
}

#[test]
fn a_run_that_cannot_start_says_why_in_its_log() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("one.toml");
    std::fs::write(
        &spec,
        "tag = \"one\"\n[[runs]]\nmodel = \"resnet18\"\ndata = \"synthetic\"\n",
    )?;
    let missing = dir.path().join("no-such-trainer");
    let assert = Command::cargo_bin("facenet-lab")?
        .arg("--db")
        .arg(dir.path().join("lab.db"))
        .arg("sweep")
        .arg(&spec)
        .env(SWEEP_EXE_ENV, &missing)
        .assert()
        .failure()
        .stderr(contains("0 of 1 run finished and 1 failed"));
    let stderr = String::from_utf8(assert.get_output().stderr.clone())?;
    let log = stderr
        .lines()
        .find_map(|l| {
            l.split_once("its log says why: ")
                .map(|(_, log)| log.trim())
        })
        .with_context(|| format!("no log named in:\n{stderr}"))?;
    let text = std::fs::read_to_string(log)?;
    assert!(
        text.contains(&format!("starting '{}'", missing.display())),
        "{log}: {text:?}"
    );
    Ok(())
}

#[test]
fn a_lab_path_in_a_missing_folder_is_refused_and_nothing_is_created() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("one.toml");
    std::fs::write(
        &spec,
        "tag = \"one\"\n[[runs]]\nmodel = \"resnet18\"\ndata = \"synthetic\"\n",
    )?;
    let missing = dir.path().join("no-such-folder");
    Command::cargo_bin("facenet-lab")?
        .arg("--db")
        .arg(missing.join("lab.db"))
        .arg("sweep")
        .arg(&spec)
        .env(SWEEP_EXE_ENV, "/nonexistent")
        .assert()
        .failure()
        .stderr(contains("cannot start a lab at"));
    assert!(!missing.exists(), "the sweep created {}", missing.display());
    Ok(())
}

#[test]
fn a_run_whose_init_file_does_not_fit_stops_the_sweep_before_any_run_starts() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // A ResNet-18's weights: they start the resnet18 run, not the alexnet one.
    let weights = dir.path().join("r18.safetensors");
    let params = facenet_lab::train::params::Params::new(0);
    facenet_lab::model::EmbeddingNet::new(
        facenet_lab::model::Arch::Resnet18,
        8,
        params.builder(&candle_core::Device::Cpu),
    )?;
    params.var_map().save(&weights)?;
    let spec = dir.path().join("grid.toml");
    std::fs::write(
        &spec,
        format!(
            "tag = \"grid\"\n[base]\ndata = \"synthetic\"\ndim = 8\ninit = \"{}\"\n\
             [grid]\nmodel = [\"resnet18\", \"alexnet\"]\n",
            weights.display()
        ),
    )?;
    let lab = dir.path().join("lab.db");
    let sweep = || -> Result<Command> {
        let mut c = Command::cargo_bin("facenet-lab")?;
        c.arg("--db").arg(&lab).arg("sweep").arg(&spec);
        c.env(SWEEP_EXE_ENV, "/nonexistent");
        Ok(c)
    };
    sweep()?
        .assert()
        .failure()
        .stderr(contains("1 run of sweep spec"))
        .stderr(contains(
            "cannot start from its --init file; nothing was started",
        ))
        .stderr(contains("run 2 (grid-2-alexnet-8): --init '"))
        .stderr(contains("it holds torchvision's resnet18, not alexnet"))
        .stderr(contains("run 1 (").not());
    assert!(
        !lab.exists(),
        "no lab is started for a sweep that cannot run"
    );
    sweep()?
        .arg("--dry-run")
        .assert()
        .success()
        .stderr(contains(
            "warning: here, 1 run would not start from its --init file",
        ));
    Ok(())
}

#[test]
fn a_run_whose_data_is_missing_stops_the_sweep_before_any_run_starts() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("two.toml");
    let gone = dir.path().join("no-such-lfw");
    std::fs::write(
        &spec,
        format!(
            "tag = \"two\"\n[base]\nmodel = \"resnet18\"\n[[runs]]\nname = \"good\"\n\
             data = \"synthetic\"\n[[runs]]\nname = \"bad\"\ndata = \"{}\"\n",
            gone.display()
        ),
    )?;
    let lab = dir.path().join("lab.db");
    Command::cargo_bin("facenet-lab")?
        .arg("--db")
        .arg(&lab)
        .arg("sweep")
        .arg(&spec)
        .env(SWEEP_EXE_ENV, "/nonexistent")
        .assert()
        .failure()
        .stderr(contains("1 run of sweep spec"))
        .stderr(contains("nothing was started"))
        .stderr(contains(format!(
            "run 2 (bad): --data '{}' does not exist",
            gone.display()
        )));
    assert!(
        !lab.exists(),
        "no lab is started for a sweep that cannot run"
    );
    // A dry run lists the runs and warns.
    Command::cargo_bin("facenet-lab")?
        .arg("--db")
        .arg(&lab)
        .arg("sweep")
        .arg(&spec)
        .arg("--dry-run")
        .assert()
        .success()
        .stdout(contains("# run 2/2: bad"))
        .stderr(contains(
            "warning: here, 1 run would not start, for want of data",
        ))
        .stderr(contains("run 2 (bad)"))
        .stderr(contains(
            "`sweep SPEC --data PATH` trains every run on your copy",
        ));
    // --data gives every run those images: nothing is missing then.
    Command::cargo_bin("facenet-lab")?
        .arg("--db")
        .arg(&lab)
        .arg("sweep")
        .arg(&spec)
        .args(["--dry-run", "--data", "synthetic"])
        .assert()
        .success()
        .stdout(contains("data = \"synthetic\"").count(2))
        .stderr(contains("would not start").not());
    // --data that is not there stops every run, said once, without the hint to give --data.
    Command::cargo_bin("facenet-lab")?
        .arg("--db")
        .arg(&lab)
        .arg("sweep")
        .arg(&spec)
        .args(["--dry-run", "--data"])
        .arg(&gone)
        .assert()
        .success()
        .stderr(contains("here, 2 runs would not start, for want of data"))
        .stderr(
            contains(format!(
                "every run: --data '{}' does not exist",
                gone.display()
            ))
            .count(1),
        )
        .stderr(contains("run 1 (").not())
        .stderr(contains("`sweep SPEC --data PATH`").not());
    Ok(())
}

#[test]
fn dry_run_prints_the_generated_configs() -> Result<()> {
    Command::cargo_bin("facenet-lab")?
        .arg("sweep")
        .arg(repo_file("experiments/seed-table.toml"))
        .arg("--dry-run")
        .env(SWEEP_EXE_ENV, "/nonexistent")
        .assert()
        .success()
        .stdout(contains(
            "# sweep 'seed-table': 6 runs (dry run, nothing started)\n\
             # The seed repository's six rows (batch/dim): ResNet18 32/128",
        ))
        .stdout(contains("# run 6/6: seed-table-6-resnet152-8-64"))
        .stdout(contains("tags = [\"seed-table\"]"));
    Ok(())
}

/// A dry run piped into a reader that leaves (`| head`) ends as other Unix tools do, with exit
/// 141 and nothing said, where `println!` panicked; one that cannot be written fails.
#[test]
fn a_dry_run_whose_reader_leaves_ends_quietly_and_one_into_a_full_disk_fails() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("big.toml");
    // 400 runs of some 20 lines each: far more than a pipe holds.
    std::fs::write(
        &spec,
        "tag = \"big\"\n[base]\nmodel = \"resnet18\"\n[grid]\nseed = [\n".to_string()
            + &(1..=400).map(|s| format!("{s},")).collect::<String>()
            + "]\n",
    )?;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("facenet-lab"))
        .arg("sweep")
        .arg(&spec)
        .arg("--dry-run")
        .env(SWEEP_EXE_ENV, "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    drop(child.stdout.take());
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // Into a full disk, it fails and says so, where a plan cut short would look whole.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("facenet-lab"))
        .arg("sweep")
        .arg(&spec)
        .arg("--dry-run")
        .env(SWEEP_EXE_ENV, "/nonexistent")
        .stdout(std::fs::File::options().write(true).open("/dev/full")?)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: writing the output failed: No space left on device"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn experiment_files_are_told_apart_from_single_run_configs() -> Result<()> {
    use facenet_lab::sweep::is_spec_file;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    for spec in ["seed-table.toml", "best-recipe.toml", "smoke.toml"] {
        assert!(is_spec_file(&root.join(spec)), "{spec} is a sweep spec");
    }
    assert!(!is_spec_file(&root.join("resnet18-cpu-64.toml")));
    let cfg = facenet_lab::train::config::Overrides::from_file(&root.join("resnet18-cpu-64.toml"))?;
    assert_eq!(
        (cfg.model, cfg.image_size),
        (Some(facenet_lab::model::Arch::Resnet18), Some(64))
    );
    Ok(())
}

#[test]
fn every_shipped_experiment_file_is_a_valid_sweep_or_run_config() -> Result<()> {
    use facenet_lab::train::config::{Overrides, TrainConfig};
    let mut seen = 0;
    for entry in std::fs::read_dir(repo_file("experiments"))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let table: toml::Table = toml::from_str(&text)?;
        let name = path.display().to_string();
        if table.contains_key("base") || table.contains_key("runs") || table.contains_key("grid") {
            let spec = SweepSpec::parse(&text, &name).with_context(|| name.clone())?;
            assert!(!spec.configs.is_empty(), "{name} expands to no runs");
        } else {
            let o = Overrides::from_file(&path)?;
            TrainConfig::resolve(Some(&o), &Overrides::default()).with_context(|| name.clone())?;
        }
        seen += 1;
    }
    assert!(seen >= 5, "found only {seen} experiment files");
    Ok(())
}
