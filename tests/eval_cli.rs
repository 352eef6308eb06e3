//! `facenet-lab eval` end to end: a tiny trained run evaluated on its test split, on a
//! pairs file over an LFW-layout folder and tarball, and on the folder alone; each result is
//! recorded in the lab.

mod common;
mod data_support;

use std::path::Path;

use anyhow::{Context, Result};
use assert_cmd::Command;
use facenet_lab::lab::{Lab, Protocol, RunId};

fn cmd(dir: &Path) -> Result<Command> {
    let mut c = Command::cargo_bin("facenet-lab")?;
    c.current_dir(dir).args(["--db", "lab.db"]);
    Ok(c)
}

fn stdout(c: &mut Command) -> Result<String> {
    let out = c.output()?;
    let text = String::from_utf8(out.stdout)?;
    anyhow::ensure!(
        out.status.success(),
        "failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(text)
}

#[test]
fn eval_reports_and_records_all_three_protocols() -> Result<()> {
    let dir = tempfile::tempdir()?;
    cmd(dir.path())?
        .args(common::TINY_RUN)
        .args(["--epochs", "2", "--quiet"])
        .assert()
        .success();

    // The run's own test split: 8 images per identity split 6/1/1, so 4 test images.
    let text = stdout(cmd(dir.path())?.args(["eval", "1"]))?;
    assert!(
        text.contains("test-split")
            && text.contains("top1_seed_gallery")
            && text.contains("top1_centroid_gallery"),
        "{text}"
    );

    // A folder of 3 people in LFW layout, and pairs over it in 2 folds of 1 matched + 1 mismatched.
    let faces = dir.path().join("faces");
    data_support::write_lfw(
        &faces,
        &[("Ann_Lee", 3), ("Bo_Chan", 3), ("Cy_Dorr", 2)],
        true,
    )?;
    let pairs = dir.path().join("pairs.txt");
    std::fs::write(
        &pairs,
        "2\t1\nAnn_Lee\t1\t2\nAnn_Lee\t3\tBo_Chan\t1\nBo_Chan\t2\t3\nCy_Dorr\t1\tAnn_Lee\t2\n",
    )?;
    // The pairs protocol on the last checkpoint, over `data`, with `extra` flags.
    let pairs_eval = |data: &str, extra: &[&str]| {
        let args = ["eval", "1", "--checkpoint", "last", "--pairs", "pairs.txt"];
        stdout(
            cmd(dir.path())?
                .args(args)
                .args(["--data", data])
                .args(extra),
        )
    };
    let text = pairs_eval("faces", &[])?;
    assert!(
        text.contains("'pairs.txt' is not LFW View 2's official pairs.txt (its sha256 is ")
            && text.contains("the runs table's LFW column shows only the official file's")
            && !text.contains("pairs fill")
            && !text.contains("grayscale"),
        "{text}"
    );
    assert!(
        text.contains("lfw-pairs")
            && text.contains("verification_accuracy_mean")
            && text.contains("roc_auc"),
        "{text}"
    );
    // Evaluation 2 (the test split was 1) names its ROC.
    assert!(text.contains("evaluation 2: run 1"), "{text}");
    assert!(dir.path().join("reports/roc-run-1-eval-2.csv").is_file());
    let roc = image::open(dir.path().join("reports/roc-run-1-eval-2.png"))?;
    // A figure's width, and its height or more: a ROC whose plot has no corner clear of its
    // curves for the legend has the legend below it.
    assert_eq!(roc.width(), facenet_lab::report::WIDTH);
    assert!(
        roc.height() >= facenet_lab::report::HEIGHT,
        "{}",
        roc.height()
    );

    // The same pairs straight from a tarball give the same numbers.
    let tgz = dir.path().join("faces.tgz");
    data_support::write_tgz(&faces, &tgz, "lfw")?;
    let from_tgz = pairs_eval("faces.tgz", &[])?;
    let metrics = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("  "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(metrics(&text), metrics(&from_tgz));
    // Evaluating again, with other results (--flip), leaves the first evaluation's ROC as it was.
    let roc_csv = |e: u32| {
        std::fs::read_to_string(dir.path().join(format!("reports/roc-run-1-eval-{e}.csv")))
    };
    let first = roc_csv(2)?;
    let flipped = pairs_eval("faces", &["--flip"])?;
    // The checkpoint placed by epoch, as the results table and the ROC's title count (the
    // final one is the end of the second), and by the iteration `--checkpoint` takes.
    let last = Lab::open_read_only(&dir.path().join("lab.db"))?
        .checkpoints(RunId(1))?
        .iter()
        .find(|c| c.kind == "final")
        .map(|c| c.iteration)
        .context("a final checkpoint")?;
    assert!(
        flipped.contains(&format!(
            "evaluation 4: run 1 checkpoint 'final' at epoch 2 (iteration {last}), lfw-pairs"
        )) && flipped.contains(", with flipped images averaged in"),
        "{flipped}"
    );
    assert!(!text.contains("flipped"), "{text}");
    assert_eq!(roc_csv(2)?, first);
    assert_ne!(roc_csv(4)?, first);

    let text =
        stdout(cmd(dir.path())?.args(["eval", "1", "--data", "faces", "--flip", "--out", "figs"]))?;
    assert!(
        text.contains("folder") && text.contains("top1_one_per_identity"),
        "{text}"
    );
    // 7 pairs of each kind fill 7 of the 10 folds, which is said and recorded.
    assert!(
        text.contains("the 14 pairs fill 7 of the 10 folds"),
        "{text}"
    );
    assert!(dir.path().join("figs/roc-run-1-eval-5.png").is_file());

    let lab = Lab::open(&dir.path().join("lab.db"))?;
    let evals = lab.evaluations(RunId(1))?;
    let protocols: Vec<Protocol> = evals.iter().map(|e| e.protocol).collect();
    assert_eq!(
        protocols,
        vec![
            Protocol::TestSplit,
            Protocol::LfwPairs,
            Protocol::LfwPairs,
            Protocol::LfwPairs,
            Protocol::Folder
        ]
    );
    let n = evals[0].metric("n_queries").context("n_queries")?;
    assert_eq!(n, 4.0);
    // The folder's 3 + 3 + 1 same-person pairs against as many of its 21 different-person ones.
    let folder = &evals[4];
    assert_eq!(
        (
            folder.metric("n_same_pairs"),
            folder.metric("n_different_pairs")
        ),
        (Some(7.0), Some(7.0))
    );
    assert!(evals.iter().all(|e| e.checkpoint_id.is_some()));
    // Where each ran, and the command that asked for it.
    for e in &evals {
        let ran = e.ran_on.as_ref().context("where it ran")?;
        assert_eq!(
            (ran.hostname.as_str(), ran.device.as_str()),
            (facenet_lab::lab::this_host().as_str(), "cpu")
        );
        assert!(ran.command_line.contains(" eval 1"), "{ran:?}");
    }
    assert!(evals[3]
        .ran_on
        .as_ref()
        .is_some_and(|r| r.command_line.ends_with(" --flip")));
    assert_eq!(folder.options["folds"], 7);
    // Which images it ran on: their count, people and bytes, hashed as a split's members.
    assert_eq!(
        (&folder.options["n_images"], &folder.options["n_people"]),
        (&serde_json::json!(8), &serde_json::json!(3))
    );
    let mut members = Vec::new();
    for person in std::fs::read_dir(&faces)? {
        let person = person?;
        for file in std::fs::read_dir(person.path())? {
            let file = file?;
            members.push(facenet_lab::data::Member {
                identity: person.file_name().to_string_lossy().into_owned(),
                file: file.file_name().to_string_lossy().into_owned(),
                sha256: facenet_lab::data::hash::sha256_file(&file.path())?,
            });
        }
    }
    assert_eq!(
        folder.options["images_sha256"],
        facenet_lab::data::hash::members_hash(&members).as_str()
    );
    // The pairs file is recorded by its sha256, and its 2 folds.
    let own_pairs = facenet_lab::data::hash::sha256_file(&pairs)?;
    assert_eq!(evals[1].options["pairs_sha256"], own_pairs.as_str());
    assert_eq!(evals[1].options["folds"], 2);
    // And the images its pairs read, by their bytes: the same from the folder and the tarball.
    let pair_images = evals[1].options["images_sha256"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(pair_images.len(), 64, "{:?}", evals[1].options);
    assert_eq!(evals[2].options["images_sha256"], pair_images);
    // And their colours: these faces are in colour (nothing was said of it).
    assert_eq!(evals[1].options["images_colour"], "colour");
    // The same pairs over grayscale copies of the faces are said and recorded to be so.
    let gray = dir.path().join("faces-gray");
    data_support::write_lfw(
        &gray,
        &[("Ann_Lee", 3), ("Bo_Chan", 3), ("Cy_Dorr", 2)],
        false,
    )?;
    let text = pairs_eval("faces-gray", &[])?;
    assert!(
        text.contains("the 7 images are all grayscale JPEGs")
            && text.contains("mark this score (gray)"),
        "{text}"
    );
    let evals = lab.evaluations(RunId(1))?;
    assert_eq!(evals[5].options["images_colour"], "grayscale");
    // Both files by absolute path: the lab may be read from elsewhere.
    assert_eq!(
        evals[1].data_source,
        format!("{} + {}", pairs.display(), faces.display())
    );

    // A 2-D projection of the dev and test embeddings.
    let text = stdout(cmd(dir.path())?.args(["report", "--embeddings", "1"]))?;
    assert!(text.contains("reports/embeddings-run-1.png"), "{text}");
    let png = image::open(dir.path().join("reports/embeddings-run-1.png"))?.to_rgb8();
    let coloured = png
        .pixels()
        .filter(|p| p.0[0].abs_diff(p.0[1]) > 60 || p.0[1].abs_diff(p.0[2]) > 60)
        .count();
    assert!(coloured > 50, "the identities' dots are drawn in colour");
    // Any checkpoint, as `eval` takes it; and the flag belongs to --embeddings.
    let last = facenet_lab::eval::checkpoint_choice::CheckpointChoice::Last
        .pick("1", &lab.checkpoints(RunId(1))?)?
        .iteration;
    let text =
        stdout(cmd(dir.path())?.args(["report", "--embeddings", "1", "--checkpoint", "last"]))?;
    assert!(
        text.contains(&format!("wrote reports/embeddings-run-1-iter-{last}.png")),
        "{text}"
    );
    common::fails_with(
        cmd(dir.path())?.args(["report", "--embeddings", "1", "--checkpoint", "999"]),
        &["no checkpoint at iteration 999", "--checkpoint last"],
    );
    cmd(dir.path())?
        .args(["report", "--checkpoint", "last"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "required arguments were not provided",
        ))
        .stderr(predicates::str::contains("--embeddings"));

    // A pairs file that is not there is said first, before the images are looked for.
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--pairs", "nope.txt"]),
        &["--pairs 'nope.txt' does not exist", "data fetch"],
    );

    // Pairs naming images that are not there are a clear error.
    std::fs::write(
        &pairs,
        "2\t1\nAnn_Lee\t1\t9\nAnn_Lee\t3\tBo_Chan\t1\nBo_Chan\t2\t3\nCy_Dorr\t1\tAnn_Lee\t2\n",
    )?;
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--pairs", "pairs.txt", "--data", "faces"]),
        &["Ann_Lee/Ann_Lee_0009.jpg"],
    );

    // Generated faces, as `run --data` takes them, with no folder at all. Those of another
    // seed are other people, whatever their names (id00, id01, ...).
    let (text, err) =
        common::succeeds(cmd(dir.path())?.args(["eval", "1", "--data", "synthetic:6:5:9"]));
    assert!(text.contains("top1_one_per_identity"), "{text}");
    assert!(!err.contains("warning"), "{err}");
    // One person gives no different-person pair, which is said as such.
    data_support::write_lfw(&dir.path().join("one"), &[("Ann_Lee", 3)], false)?;
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--data", "one"]),
        &["holds 1 person"],
    );
    // Two images of one person and one of another give one pair of each kind: too few to
    // hold a fold out, which is said as such.
    data_support::write_lfw(
        &dir.path().join("two"),
        &[("Ann_Lee", 2), ("Bo_Chan", 1)],
        false,
    )?;
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--data", "two"]),
        &[
            "gives one same-person and one different-person pair",
            "needs two of each",
        ],
    );
    // Those of the run's own seed include the 4 people it trained on: the numbers come with a
    // warning, and leaving those people out of its own data leaves nothing, which is said.
    let (_, err) =
        common::succeeds(cmd(dir.path())?.args(["eval", "1", "--data", "synthetic:6:5"]));
    assert!(
        err.contains("warning: 4 of the 6 people in 'synthetic:6:5:0' are people run 1 trained on"),
        "{err}"
    );
    // Leaving them out of a larger folder says how many went, on the evaluation's line too.
    let text = stdout(cmd(dir.path())?.args([
        "eval",
        "1",
        "--data",
        "synthetic:6:5",
        "--exclude-train-identities",
    ]))?;
    assert!(
        text.contains("folder, without the 20 images of its training identities"),
        "{text}"
    );
    // Photos are never the generated people it trained on: nothing to leave out, and said so.
    let text = stdout(cmd(dir.path())?.args([
        "eval",
        "1",
        "--data",
        "faces",
        "--exclude-train-identities",
    ]))?;
    assert!(
        text.contains("folder, with every image (none of its training identities)"),
        "{text}"
    );
    common::fails_with(
        cmd(dir.path())?.args([
            "eval",
            "1",
            "--data",
            "synthetic:4:8",
            "--exclude-train-identities",
        ]),
        &["all 32 images in 'synthetic:4:8:0' are of people run 1 trained on"],
    );
    // Generated faces are made again: there is no folder to find them in.
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--split-data", "faces"]),
        &[
            "run 1 trained on generated faces ('synthetic:",
            "leave out --split-data",
        ],
    );

    // --pairs alone reads the LFW that `data fetch` downloads, where it is; without it, says so.
    let share = dir.path().join("share");
    std::fs::write(
        dir.path().join("pairs-2.txt"),
        "2\t1\nAnn_Lee\t1\t2\nAnn_Lee\t3\tBo_Chan\t1\nBo_Chan\t2\t3\nCy_Dorr\t1\tAnn_Lee\t2\n",
    )?;
    let pairs_alone = || -> Result<Command> {
        let mut c = cmd(dir.path())?;
        c.env("XDG_DATA_HOME", &share).args([
            "eval",
            "1",
            "--checkpoint",
            "last",
            "--pairs",
            "pairs-2.txt",
        ]);
        Ok(c)
    };
    common::fails_with(
        &mut pairs_alone()?,
        &[
            "--pairs without --data reads the LFW images `facenet-lab data fetch` downloads",
            "run `facenet-lab data fetch`",
        ],
    );
    std::fs::create_dir_all(share.join("facenet-lab"))?;
    std::fs::copy(&tgz, share.join("facenet-lab/lfw.tgz"))?;
    assert_eq!(metrics(&stdout(&mut pairs_alone()?)?), metrics(&from_tgz));
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--exclude-train-identities"]),
        &["--exclude-train-identities leaves out people of --pairs or --data"],
    );

    // A checkpoint the lab records but whose file is elsewhere (a lab copied off its machine).
    let best = lab
        .checkpoints(RunId(1))?
        .into_iter()
        .find(|c| c.kind == "best")
        .context("best checkpoint")?;
    std::fs::remove_file(dir.path().join(&best.path))?;
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1"]),
        &[
            &format!(
                "run 1's best checkpoint (iteration {}, epoch {}) is recorded",
                best.iteration, best.epoch
            ),
            "is missing",
            &format!(
                "'{}', relative to the lab's folder {}",
                best.path,
                dir.path().display()
            ),
            &format!(
                "copy run 1's checkpoint folder from host '{}', where it trained, to {} here",
                lab.run(RunId(1))?.context("run 1")?.hostname,
                dir.path()
                    .join(&best.path)
                    .parent()
                    .context("folder")?
                    .display()
            ),
        ],
    );
    Ok(())
}

/// A lab whose dataset moved (copied from another machine): the test split is evaluated from
/// where the images are now, once their splits hash as recorded; other images are refused.
#[test]
fn the_test_split_is_found_where_the_images_moved() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let people = [
        ("Ann_Lee", 4),
        ("Bo_Chan", 4),
        ("Cy_Dorr", 4),
        ("Di_Eve", 4),
    ];
    data_support::write_lfw(&dir.path().join("faces"), &people, true)?;
    cmd(dir.path())?
        .args(["run", "resnet18", "--data", "faces", "--min-images", "3"])
        .args([
            "--image-size",
            "16",
            "--batch",
            "8",
            "--epochs",
            "1",
            "--quiet",
        ])
        .assert()
        .success();
    std::fs::rename(dir.path().join("faces"), dir.path().join("moved"))?;

    common::fails_with(cmd(dir.path())?.args(["eval", "1"]), &["--split-data"]);
    let text = stdout(cmd(dir.path())?.args(["eval", "1", "--split-data", "moved"]))?;
    assert!(
        text.contains("test-split") && text.contains("n_queries"),
        "{text}"
    );

    // Other people under the same names are other images.
    let other = [
        ("Ann_Lee", 4),
        ("Bo_Chan", 4),
        ("Cy_Dorr", 4),
        ("Di_Eve", 5),
    ];
    data_support::write_lfw(&dir.path().join("other"), &other, true)?;
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--split-data", "other"]),
        &["is not the one run 1 trained on"],
    );

    // Other files under the same names where the lab recorded the images (a copy replaced,
    // as `data fetch` replaces a grayscale lfw.tgz with the colour one): refused there too;
    // the run's own images with another person added beside them are still the run's.
    data_support::write_lfw(&dir.path().join("faces"), &people, false)?;
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1"]),
        &[
            "16 of run 1's 16 images at",
            "are not the ones it trained on (first: ",
            "--split-data PATH names the images it trained on",
        ],
    );
    // A folder `name` of two people, in colour or not, evaluated: what eval says on stderr.
    let eval_folder = |name: &str, people: [(&str, u32); 2], colour: bool| -> Result<String> {
        data_support::write_lfw(&dir.path().join(name), &people, colour)?;
        Ok(common::succeeds(cmd(dir.path())?.args(["eval", "1", "--data", name])).1)
    };
    // Nor are those other files' colours the run's: a colour folder evaluated meanwhile is not
    // said to differ from a grayscale training it never had.
    let err = eval_folder("colourful", [("Jo_Kay", 3), ("Kim_Lo", 3)], true)?;
    assert!(!err.contains("trained on grayscale"), "{err}");
    std::fs::remove_dir_all(dir.path().join("faces"))?;
    std::fs::rename(dir.path().join("moved"), dir.path().join("faces"))?;
    data_support::write_lfw(&dir.path().join("faces"), &[("Ed_Fox", 4)], true)?;
    let text = stdout(cmd(dir.path())?.args(["eval", "1"]))?;
    assert!(text.contains("n_queries"), "{text}");

    // Grayscale faces, for a run that trained on colour ones: measured, with a warning, and
    // recorded; colour faces are not warned of.
    let err = eval_folder("gray", [("Hal_Ives", 3), ("Ida_Jo", 3)], false)?;
    assert!(
        err.contains("warning: run 1 trained on colour images (all ")
            && err.contains(" looked at, spread over its ")
            && err.contains("and 6 of the 6 looked at of these 6 are grayscale"),
        "{err}"
    );
    let lab = Lab::open(&dir.path().join("lab.db"))?;
    let last = lab.evaluations(RunId(1))?.pop().context("an evaluation")?;
    assert_eq!(
        last.options["colour_mismatch"],
        "trained on colour, evaluated grayscale"
    );
    let err = eval_folder("colour", [("Hal_Ives", 3), ("Ida_Jo", 3)], true)?;
    assert!(!err.contains("trained on colour"), "{err}");

    // The same-person pairs are of people the run trained on: leaving them out leaves one
    // kind of pair, which is said before anything is embedded.
    std::fs::write(
        dir.path().join("pairs.txt"),
        "2\t1\nAnn_Lee\t1\t2\nEd_Fox\t1\tFay_Gee\t1\nBo_Chan\t1\t2\nEd_Fox\t3\tGus_Ho\t1\n",
    )?;
    common::fails_with(
        cmd(dir.path())?
            .args(["eval", "1", "--pairs", "pairs.txt", "--data", "faces"])
            .arg("--exclude-train-identities"),
        &[
            "2 of the 4 pairs touch people run 1 trained on",
            "leaves 0 same-person and 2 different-person pairs",
        ],
    );
    // A pairs file of one fold leaves none to hold out.
    std::fs::write(
        dir.path().join("pairs.txt"),
        "1\t1\nEd_Fox\t1\t2\nEd_Fox\t1\tGus_Ho\t1\n",
    )?;
    common::fails_with(
        cmd(dir.path())?.args(["eval", "1", "--pairs", "pairs.txt", "--data", "faces"]),
        &["the pairs to verify lie in 1 fold", "needs two at least"],
    );
    Ok(())
}

/// `eval`'s way to an accuracy (the checkpoint loaded, the split's images decoded and embedded
/// apart from training, the seed's gallery) gives, on the dev split, the dev accuracy the
/// trainer recorded at that checkpoint's step: the two paths agree on the images' order, size,
/// crop and normalisation, and on the protocol. Over two split seeds, so that the members come
/// in a shuffled order too, and with L2-normalised embeddings once.
#[test]
fn eval_reproduces_the_dev_accuracy_the_trainer_recorded() -> Result<()> {
    use facenet_lab::eval::{embeddings::Embeddings, identification, net::Net, protocol};
    for extra in [
        &["--split-seed", "3"][..],
        &["--split-seed", "8", "--normalize"][..],
    ] {
        let dir = tempfile::tempdir()?;
        cmd(dir.path())?
            .args([
                "run",
                "resnet18",
                "--data",
                "synthetic:8:10",
                "--image-size",
                "16",
                "--batch",
                "8",
                "--epochs",
                "3",
                "--crop",
                "0.75",
                "--quiet",
            ])
            .args(extra)
            .assert()
            .success();
        let lab = Lab::open_read_only(&dir.path().join("lab.db"))?;
        let run = lab.run(RunId(1))?.context("run 1")?;
        let d = lab.run_dataset(&run)?.context("its dataset")?;
        let spec = facenet_lab::data::recorded::source(&d, None, run.id)?;
        let dev_acc = lab.series(run.id, facenet_lab::lab::metric::DEV_ACC)?;
        let checkpoints = lab.checkpoints(run.id)?;
        assert!(!checkpoints.is_empty(), "{extra:?}: no checkpoint");
        for ck in &checkpoints {
            let net = Net::load(&lab, &run, ck, &candle_core::Device::Cpu)?;
            let embedded = |name: &str| -> Result<Embeddings> {
                let items = protocol::split_items(&d, name)?;
                let labels = items.iter().map(|i| i.identity.clone()).collect();
                Embeddings::new(labels, net.embed(&spec, &items, false, 64)?)
            };
            let gallery = identification::seed_gallery(&embedded("train")?)?;
            let measured = identification::identify(&gallery, &embedded("dev")?)?.top_k(1);
            let recorded = dev_acc
                .iter()
                .find(|p| p.iteration == ck.iteration)
                .with_context(|| format!("no dev_acc at step {}", ck.iteration))?;
            assert_eq!(
                measured, recorded.value,
                "{extra:?}: checkpoint {} at step {}",
                ck.kind, ck.iteration
            );
        }
    }
    Ok(())
}
