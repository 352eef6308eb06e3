//! `facenet-lab report` end to end: figures, results.md and the README splice.

mod common;

use std::path::Path;

use anyhow::{Context, Result};
use predicates::str::contains;

/// `facenet-lab --db DB report ARGS --out OUT`, which must succeed: its stdout and stderr.
fn report_into(db: &Path, out: &Path, args: &[&str]) -> (String, String) {
    let mut cmd = common::facenet(db).expect("the facenet-lab binary");
    common::succeeds(cmd.arg("report").args(args).arg("--out").arg(out))
}

fn files_in(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    names.sort();
    Ok(names)
}

/// Gives the alexnet run (3) of the fixture a best checkpoint at epoch 4 and evaluations of it and
/// of the last weights, the last one newest, and a per-step speed whose last step is slow.
fn add_best_checkpoint_evaluations_and_speeds(db: &Path) -> Result<()> {
    use facenet_lab::lab::{
        metric, CodeVersion, EvalMetric, Lab, MetricPoint, NewCheckpoint, NewEvaluation, Protocol,
        RunId, RunSummaryUpdate,
    };
    let lab = Lab::open(db)?;
    let run = RunId(3);
    let best = lab.add_checkpoint(&NewCheckpoint {
        run,
        iteration: 40,
        epoch: 4,
        kind: "best".into(),
        path: "checkpoints/3/best.safetensors".into(),
        sha256: format!("{:064}", 40),
    })?;
    for (iteration, checkpoint_id, acc) in [(40, Some(best), 0.39), (50, None, 0.45)] {
        lab.add_evaluation(&NewEvaluation {
            run,
            checkpoint_id,
            checkpoint_iteration: Some(iteration),
            checkpoint_sha256: None,
            protocol: Protocol::TestSplit,
            data_source: "fixture".into(),
            options: serde_json::json!({"flip": false}),
            metrics: vec![EvalMetric::new("top1_seed_gallery", acc)],
            code: CodeVersion::current(),
            ran_on: facenet_lab::lab::RanOn::here("cpu"),
        })?;
    }
    let speeds: Vec<MetricPoint> = [100.0, 120.0, 110.0, 130.0, 5.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| MetricPoint::new(46 + i as i64, 5, metric::IMAGES_PER_SEC, v))
        .collect();
    let summary = RunSummaryUpdate {
        images_per_sec: Some(5.0),
        ..Default::default()
    };
    lab.record(run, &speeds, &summary)?;
    Ok(())
}

#[test]
fn png_report_is_valid_and_byte_identical_across_calls() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    add_best_checkpoint_evaluations_and_speeds(&db)?;
    let out = dir.path().join("reports");

    common::facenet(&db)?
        .arg("report")
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("wrote"))
        .stdout(contains("run-1-accuracy.png"));
    let names = files_in(&out)?;
    assert_eq!(
        names,
        [
            "compare-dev-accuracy.png",
            "results.md",
            "run-1-accuracy.png",
            "run-1-loss.png",
            "run-2-accuracy.png",
            "run-2-loss.png",
            "run-3-accuracy.png",
            "run-3-loss.png",
        ]
    );
    let first: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(out.join(n)))
        .collect::<std::io::Result<_>>()?;
    for (name, bytes) in names.iter().zip(&first) {
        if name.ends_with(".png") {
            let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
                .with_context(|| format!("decoding {name}"))?;
            assert_eq!((img.width(), img.height()), (900, 540), "{name}");
            // Not a blank canvas: curves and text put non-white pixels down.
            let rgb = img.to_rgb8();
            let inked = rgb.pixels().filter(|p| p.0 != [255, 255, 255]).count();
            assert!(inked > 5_000, "{name} has only {inked} non-white pixels");
        }
    }

    common::facenet(&db)?
        .arg("report")
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("0 files written, 8 unchanged"));
    let second: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(out.join(n)))
        .collect::<std::io::Result<_>>()?;
    assert!(
        first == second,
        "a second report of the same lab is byte-identical"
    );

    // Regenerating from scratch (not just "skip unchanged") gives the same bytes too.
    let fresh = dir.path().join("fresh");
    report_into(&db, &fresh, &[]);
    for (name, bytes) in names.iter().zip(&first) {
        assert!(std::fs::read(fresh.join(name))? == *bytes, "{name} differs");
    }

    let results = std::fs::read_to_string(out.join("results.md"))?;
    // The best checkpoint's evaluation, not the newer one of the last weights; the median step
    // speed, not the last step's.
    // Its seed (1) follows the learning rate: the fixture's runs have two.
    assert!(results.contains("| 3 alex | alexnet | 224px | 32 | 128 | all | random | 0.0001 | 1 | 5 | 0.600 (5) | 0.800 | 0.390 | - | 110.0 | cuda (NVIDIA H100 80GB HBM3) |"), "{results}");
    assert!(
        results.contains("| test acc (best ckpt) | LFW pairs acc (best ckpt) | median images/s |"),
        "{results}"
    );
    assert!(results.contains("newest evaluation of the run's best checkpoint"));
    assert!(results.contains("| 1 r18-s1 | resnet18 |"), "{results}");
    assert!(results.contains("[accuracy](run-1-accuracy.png) [loss](run-1-loss.png)"));
    // One dataset: no data column, and a line that names it, as the lab records it.
    assert!(!results.contains("| data |"), "{results}");
    assert!(
        results.contains(
            "\nAll runs: synthetic (2 people, 4 images), split into 2 train, 1 dev and 1 test \
             images.\n"
        ),
        "{results}"
    );
    // What LFW's ± is.
    assert!(
        results.contains("the population std, dividing by 10"),
        "{results}"
    );
    // The comparison figure, with what it shows and the dataset's chance.
    assert!(
        results.contains(
            "Dev accuracy on synthetic (2 people, 1 dev image), where guessing among the 2 \
             identities scores 0.500.\n\n![Dev accuracy on synthetic (2 people, 1 dev \
             image)](compare-dev-accuracy.png)"
        ),
        "{results}"
    );
    Ok(())
}

/// Runs of another dataset (pretraining on other people, scored on their own dev split) get a
/// comparison figure of their own, named by their dataset, instead of sharing an axis with the
/// others.
#[test]
fn runs_of_another_dataset_are_compared_apart() -> Result<()> {
    use facenet_lab::lab::{DatasetRecord, Lab, MemberRecord, SplitRecord};
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    {
        let lab = Lab::open(&db)?;
        let member = |id: &str, f: &str| MemberRecord {
            identity: id.into(),
            file: f.into(),
            sha256: format!("sha-{f}"),
        };
        let split = |name: &str, members: Vec<MemberRecord>| SplitRecord {
            name: name.into(),
            hash: format!("other-{name}"),
            members,
        };
        let other = lab.ensure_dataset(&DatasetRecord {
            kind: "dir".into(),
            source: "/data/lfw-disjoint".into(),
            min_images: 2,
            max_images: 4,
            split_seed: None,
            n_identities: 4,
            n_images: 8,
            content_hash: "other-content".into(),
            splits: vec![
                split(
                    "train",
                    vec![
                        member("P", "P_1"),
                        member("Q", "Q_1"),
                        member("R", "R_1"),
                        member("S", "S_1"),
                    ],
                ),
                split("dev", vec![member("P", "P_2"), member("Q", "Q_2")]),
                split("test", vec![member("R", "R_2"), member("S", "S_2")]),
            ],
        })?;
        let mut new = common::new_run("pretrain", "resnet18", 9, &[]);
        new.dataset_id = Some(other);
        common::record_run(&lab, &new, -0.3, None)?;
    }
    let out = dir.path().join("reports");
    report_into(&db, &out, &[]);
    let names = files_in(&out)?;
    assert!(
        names.contains(&"compare-dev-accuracy.png".to_string())
            && names.contains(&"compare-dev-accuracy-lfw-disjoint.png".to_string()),
        "{names:?}"
    );
    let results = std::fs::read_to_string(out.join("results.md"))?;
    // Two datasets: the data column says which each run had, and no line claims one for all.
    assert!(results.contains("| data |"), "{results}");
    assert!(!results.contains("All runs:"), "{results}");
    let first = results
        .find("![Dev accuracy on synthetic (2 people, 1 dev image)](compare-dev-accuracy.png)")
        .context("the three runs' figure")?;
    let second = results
        .find(
            "![Dev accuracy on lfw-disjoint (4 people, 2 dev images)]\
             (compare-dev-accuracy-lfw-disjoint.png)",
        )
        .context("the pretraining run's figure")?;
    assert!(first < second, "the dataset most runs used first");
    assert!(
        results.contains(
            "Dev accuracy on lfw-disjoint (4 people, 2 dev images), where guessing among the 4 \
             identities scores 0.250, a dev set of its own: not comparable with the figure above."
        ),
        "{results}"
    );
    // The pretraining run's figure holds it alone, with its own chance; the first holds none
    // of it. Its chance line is 1 in 4 where the others' is 1 in 2.
    report_into(&db, &dir.path().join("svg"), &["--format", "svg"]);
    let svg = |name: &str| std::fs::read_to_string(dir.path().join("svg").join(name));
    let main = svg("compare-dev-accuracy.svg")?;
    let apart = svg("compare-dev-accuracy-lfw-disjoint.svg")?;
    assert!(main.contains("dev chance (1 in 2 identities)"), "{main}");
    assert!(!main.contains("pretrain"), "{main}");
    assert!(apart.contains("#4 pretrain"), "{apart}");
    assert!(apart.contains("dev chance (1 in 4 identities)"), "{apart}");
    Ok(())
}

#[test]
fn svg_report_and_selection_by_tag() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    let out = dir.path().join("svg");
    report_into(&db, &out, &["--format", "svg", "--tag", "alex"]);
    assert_eq!(
        files_in(&out)?,
        [
            "compare-dev-accuracy.svg",
            "results.md",
            "run-3-accuracy.svg",
            "run-3-loss.svg"
        ]
    );
    let svg = std::fs::read_to_string(out.join("run-3-accuracy.svg"))?;
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    assert!(svg.contains("width=\"900\"") && svg.contains("height=\"540\""));
    assert!(svg.contains("Run #3 alex: accuracy"));
    let results = std::fs::read_to_string(out.join("results.md"))?;
    assert!(
        results.contains("| 3 alex |") && !results.contains("r18-s1"),
        "{results}"
    );

    report_into(&db, &dir.path().join("two"), &["--runs", "2,r18-s1"]);
    let results = std::fs::read_to_string(dir.path().join("two/results.md"))?;
    let r2 = results.find("| 2 r18-s2 |").context("run 2 row")?;
    let r1 = results.find("| 1 r18-s1 |").context("run 1 row")?;
    assert!(r2 < r1, "--runs keeps the order given");

    // A range takes the runs the lab has in it, each once.
    report_into(&db, &dir.path().join("range"), &["--runs", "2-9,3,r18-s2"]);
    let results = std::fs::read_to_string(dir.path().join("range/results.md"))?;
    let rows: Vec<&str> = results.lines().filter(|l| l.starts_with("| ")).collect();
    assert!(results.contains("| 2 r18-s2 |") && results.contains("| 3 alex |"));
    assert!(!results.contains("r18-s1"), "{results}");
    assert_eq!(
        rows.iter().filter(|l| l.contains("r18-s2")).count(),
        1,
        "{results}"
    );
    common::facenet(&db)?
        .args(["report", "--runs", "7-9"])
        .assert()
        .failure()
        .stderr(contains("--runs 7-9: lab '"))
        .stderr(contains("has no run from 7 to 9"));

    common::facenet(&db)?
        .args(["report", "--tag", "nope"])
        .assert()
        .failure()
        .stderr(contains("no run in lab"))
        .stderr(contains("has the tag 'nope'; its tags: alex ("));
    // Flags that would be ignored, or would cut the README's table down to a few runs, are
    // refused before anything is written.
    for args in [
        &["--runs", "2", "--checkpoint", "last"][..],
        &["--tag", "alex", "--split-data", "/x"],
        &["--tag", "alex", "--readme", "README.md"],
        &["--runs", "2", "--readme", "README.md"],
    ] {
        common::facenet(&db)?
            .arg("report")
            .args(args)
            .arg("--out")
            .arg(dir.path().join("refused"))
            .assert()
            .code(2)
            .stderr(contains("cannot be used with"));
    }
    assert!(!dir.path().join("refused").exists());
    Ok(())
}

#[test]
fn readme_splice_keeps_every_other_byte() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    let readme = dir.path().join("README.md");
    let head = "# facenet-lab\r\n\nSome *prose*  with trailing spaces  \n\n<!-- results:start -->";
    let tail = "<!-- results:end -->\n\nAfter the table.\n\n\n";
    std::fs::write(&readme, format!("{head}\nold table\n{tail}"))?;

    common::facenet(&db)?
        .current_dir(dir.path())
        .args(["report", "--readme", "README.md"])
        .assert()
        .success()
        .stdout(contains("wrote README.md"));
    let text = std::fs::read_to_string(&readme)?;
    assert!(text.starts_with(head), "{text}");
    assert!(text.ends_with(tail), "{text}");
    assert!(!text.contains("old table"));
    assert!(
        text.contains("[accuracy](reports/run-1-accuracy.png)"),
        "{text}"
    );
    assert!(text.contains(
        "![Dev accuracy on synthetic (2 people, 1 dev image)](reports/compare-dev-accuracy.png)"
    ));
    assert!(dir.path().join("reports/run-1-accuracy.png").exists());

    common::facenet(&db)?
        .current_dir(dir.path())
        .args(["report", "--readme", "README.md"])
        .assert()
        .success()
        .stdout(contains("unchanged README.md"));
    assert_eq!(std::fs::read_to_string(&readme)?, text);
    Ok(())
}

/// A report overwrote `compare-dev-accuracy.png` but left an earlier report's figure of another
/// dataset (`compare-dev-accuracy-lfw-disjoint.png`) beside it, reading as current.
#[test]
fn an_earlier_reports_comparison_figures_are_removed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    let out = dir.path().join("reports");
    std::fs::create_dir_all(out.join("tag-x"))?;
    let stale = [
        "compare-dev-accuracy-lfw-disjoint.png",
        "compare-dev-accuracy-lfw-disjoint.svg",
        "compare-dev-accuracy.svg",
    ];
    // Not comparison figures, or not this folder's: left alone.
    let kept = [
        "compare-dev-accuracy-notes.md",
        "my-compare-dev-accuracy.png",
        "tag-x/compare-dev-accuracy-old.png",
    ];
    for name in stale.iter().chain(&kept) {
        std::fs::write(out.join(name), "old")?;
    }
    std::fs::write(out.join("compare-dev-accuracy.png"), "old")?;
    let (_, said) = report_into(&db, &out, &[]);
    for name in stale {
        assert!(!out.join(name).exists(), "{name} is still there");
        let removed = format!("removed {}: an earlier report's", out.join(name).display());
        assert!(said.contains(&removed), "{name} not said: {said}");
    }
    for name in kept {
        assert_eq!(std::fs::read_to_string(out.join(name))?, "old", "{name}");
    }
    // The one this report drew is there, and drawn anew.
    let png = std::fs::read(out.join("compare-dev-accuracy.png"))?;
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    Ok(())
}

/// A run deleted from the lab (`lab delete`) takes its files in the report folder with it at
/// the next report: its figures, its ROCs and its embeddings. Runs only left out of this
/// report keep theirs, as do files named otherwise and those of subfolders.
#[test]
fn a_deleted_runs_files_go_at_the_next_report_and_filtered_runs_keep_theirs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    let out = dir.path().join("reports");
    report_into(&db, &out, &[]);
    for name in ["run-3-accuracy.png", "run-3-loss.png", "run-2-accuracy.png"] {
        assert!(out.join(name).is_file(), "{name} drawn");
    }
    std::fs::create_dir_all(out.join("tag-alex"))?;
    let of_run_3 = [
        "run-3-accuracy.png",
        "run-3-loss.png",
        "run-3-loss.svg",
        "roc-run-3-eval-1.csv",
        "roc-run-3-eval-1.png",
        "embeddings-run-3.png",
        "embeddings-run-3-iter-40.svg",
    ];
    // Another name, another run's (30, not 3), another folder's: left alone.
    let kept = [
        "run-3-notes.md",
        "run-3-accuracy.png.bak",
        "roc-run-3-eval-x.png",
        "run-30-accuracy.png",
        "tag-alex/run-3-accuracy.png",
    ];
    for name in of_run_3.iter().skip(2).chain(&kept) {
        std::fs::write(out.join(name), "old")?;
    }
    let (said, _) = common::succeeds(common::facenet(&db)?.args(["lab", "delete", "3", "--yes"]));
    assert!(said.contains("deleted run 3 (alex)"), "{said}");

    // Runs 1 and 2 only: run 2 is left out of this report, not deleted.
    let (_, said) = report_into(&db, &out, &["--runs", "1"]);
    for name in of_run_3 {
        assert!(!out.join(name).exists(), "{name} is still there");
        let removed = format!(
            "removed {}: run 3 was deleted from the lab",
            out.join(name).display()
        );
        assert!(said.contains(&removed), "{name} not said: {said}");
    }
    for name in kept {
        assert_eq!(std::fs::read_to_string(out.join(name))?, "old", "{name}");
    }
    for name in ["run-2-accuracy.png", "run-2-loss.png"] {
        assert!(
            out.join(name).is_file(),
            "{name} of a run filtered out stays"
        );
    }
    Ok(())
}

/// Without --out the figures go beside the lab, as its logs and checkpoints do, wherever the
/// command runs from.
#[test]
fn reports_go_beside_the_lab_by_default() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("labs"))?;
    let db = dir.path().join("labs/lab.db");
    common::fixture_lab(&db)?;
    common::facenet(&db)?
        .current_dir(dir.path())
        .arg("report")
        .assert()
        .success()
        .stdout(contains(format!(
            "wrote {}",
            dir.path().join("labs/reports/results.md").display()
        )));
    assert!(dir.path().join("labs/reports/run-1-accuracy.png").exists());
    assert!(!dir.path().join("reports").exists());
    Ok(())
}

/// Two labs in one folder keep their reports apart, as they keep their checkpoints: the one
/// named lab.db writes reports/, another reports/STEM/, so neither overwrites the other's table
/// and figures.
#[test]
fn two_labs_in_one_folder_keep_their_reports_apart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for name in ["lab.db", "gpu-lab.db"] {
        let db = dir.path().join(name);
        common::fixture_lab(&db)?;
        common::facenet(&db)?.arg("report").assert().success();
    }
    let table = |path: &str| std::fs::read_to_string(dir.path().join(path));
    assert!(table("reports/results.md")?.contains("`lab.db`"));
    assert!(table("reports/gpu-lab/results.md")?.contains("`gpu-lab.db`"));
    assert!(dir
        .path()
        .join("reports/gpu-lab/run-1-accuracy.png")
        .is_file());
    Ok(())
}

/// Some runs' report goes to a folder of its own: the whole lab's figures and table, which the
/// README links to, stay as they are.
#[test]
fn a_report_of_some_runs_leaves_the_whole_lab_s_alone() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    common::facenet(&db)?.arg("report").assert().success();
    let whole = std::fs::read(dir.path().join("reports/results.md"))?;
    for (args, folder) in [
        (["--runs", "1,r18-s1"], "reports/runs-1,r18-s1"),
        (["--tag", "alex"], "reports/tag-alex"),
    ] {
        common::facenet(&db)?
            .arg("report")
            .args(args)
            .assert()
            .success()
            .stdout(contains(format!("{folder}/results.md")));
        assert!(dir.path().join(folder).join("results.md").exists());
    }
    assert_eq!(std::fs::read(dir.path().join("reports/results.md"))?, whole);
    Ok(())
}

#[test]
fn bad_readme_markers_are_refused_and_nothing_is_written() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lab.db");
    common::fixture_lab(&db)?;
    let cases = [
        ("# no markers\n", "has no results markers"),
        ("<!-- results:end -->\n", "but no `<!-- results:start -->`"),
        ("<!-- results:start -->\n", "but no `<!-- results:end -->`"),
        (
            "<!-- results:end -->\n<!-- results:start -->\n",
            "before `<!-- results:start -->`",
        ),
        (
            "<!-- results:start -->\n<!-- results:end -->\n<!-- results:start -->\n",
            "needs exactly one of each",
        ),
    ];
    for (text, want) in cases {
        let readme = dir.path().join("README.md");
        std::fs::write(&readme, text)?;
        let out = dir.path().join("reports");
        common::facenet(&db)?
            .arg("report")
            .arg("--out")
            .arg(&out)
            .arg("--readme")
            .arg(&readme)
            .assert()
            .failure()
            .stderr(contains(want));
        assert_eq!(std::fs::read_to_string(&readme)?, text, "README untouched");
        assert!(
            !out.exists(),
            "no figure is written when the README is refused"
        );
    }
    Ok(())
}
