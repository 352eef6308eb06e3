//! `facenet-lab eval RUN`: evaluate a run's checkpoint and record the result in the lab.
//!
//! Not dispatched yet: [`embed`] needs the trainer's checkpoint loading and the data module's
//! decoding. Everything around it (choosing the checkpoint, the images, the pairs, the metrics,
//! recording) is here and tested in `crate::eval`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;

use crate::cli::EvalArgs;
use crate::eval::embeddings::{euclidean, Embeddings};
use crate::eval::folder::{folder_pairs, DEFAULT_PAIRS_PER_CLASS};
use crate::eval::identification::{self, centroid_gallery, identify, seed_gallery};
use crate::eval::pairs::{exclude_identities, PairsFile};
use crate::eval::verification::{self, Scores, VerificationReport};
use crate::lab::{
    Checkpoint, CodeVersion, DatasetRecord, EvalMetric, Lab, NewEvaluation, Protocol, Run,
};

/// FAR at which VAL is reported, as in the FaceNet paper and the LFW literature.
const FAR_TARGET: f64 = 1e-3;

/// Seed of the folder protocol's pair sampling: fixed, so two runs see the same pairs.
const FOLDER_PAIRS_SEED: u64 = 0x001f_0a1d;

/// One image to embed: its identity and its path relative to the image root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageItem {
    pub identity: String,
    pub path: PathBuf,
}

/// Where the images live.
#[derive(Clone, Copy, Debug)]
pub enum ImageRoot<'a> {
    /// A folder in LFW layout.
    Folder(&'a Path),
    /// The run's recorded dataset (a folder or a tgz).
    Dataset(&'a DatasetRecord),
}

pub fn execute(lab: &Lab, args: &EvalArgs) -> Result<()> {
    let run = lab.find_run(&args.run)?;
    let checkpoints = lab.checkpoints(run.id)?;
    let checkpoint = args.checkpoint.pick(&run.id.to_string(), &checkpoints)?;
    let device = Device::cuda_if_available(0)?;
    let dataset = match run.dataset_id {
        Some(id) => lab.dataset(id)?,
        None => None,
    };
    let embed_all = |root: ImageRoot, items: &[ImageItem]| -> Result<Embeddings> {
        let vectors = embed(
            lab,
            &run,
            checkpoint,
            root,
            items,
            args.flip,
            args.batch_size,
            &device,
        )?;
        Embeddings::new(items.iter().map(|i| i.identity.clone()).collect(), vectors)
    };
    let mut options = serde_json::json!({ "flip": args.flip });

    let (protocol, source, metrics) = match (&args.pairs, &args.data) {
        (None, None) => {
            let d = dataset.as_ref().with_context(|| {
                format!("run {} has no recorded dataset, so it has no test split to evaluate on: pass --data DIR", run.id)
            })?;
            let train = embed_all(ImageRoot::Dataset(d), &split_items(d, "train")?)?;
            let test = embed_all(ImageRoot::Dataset(d), &split_items(d, "test")?)?;
            (
                Protocol::TestSplit,
                d.source.clone(),
                test_split_metrics(&train, &test, &device)?,
            )
        }
        (Some(pairs_path), Some(root)) => {
            let file = PairsFile::read(pairs_path)?;
            let mut pairs = file.pairs.clone();
            if args.exclude_train_identities {
                let (kept, dropped) =
                    exclude_identities(&pairs, &train_identities(&run, dataset.as_ref())?);
                println!(
                    "--exclude-train-identities: dropped {dropped} of {} pairs",
                    pairs.len()
                );
                options["exclude_train_identities"] = true.into();
                options["dropped_pairs"] = dropped.into();
                pairs = kept;
            }
            let images: Vec<_> = {
                let mut set: Vec<_> = pairs
                    .iter()
                    .flat_map(|p| [p.a.clone(), p.b.clone()])
                    .collect();
                set.sort();
                set.dedup();
                set
            };
            let items: Vec<ImageItem> = images
                .iter()
                .map(|i| ImageItem {
                    identity: i.identity.clone(),
                    path: i.relative_path(),
                })
                .collect();
            check_files_exist(root, &items)?;
            let emb = embed_all(ImageRoot::Folder(root), &items)?;
            let index: HashMap<_, _> = images.iter().enumerate().map(|(k, i)| (i, k)).collect();
            let mut d = Vec::with_capacity(pairs.len());
            for p in &pairs {
                d.push(euclidean(
                    &emb.vectors()[index[&p.a]],
                    &emb.vectors()[index[&p.b]],
                ));
            }
            let scores = Scores::new(
                d,
                pairs.iter().map(|p| p.same).collect(),
                pairs.iter().map(|p| p.fold).collect(),
            )?;
            let report = verification::evaluate(&scores, FAR_TARGET)?;
            write_roc(&report, &format!("roc-run-{}.csv", run.id))?;
            options["far_target"] = FAR_TARGET.into();
            let source = format!("{} + {}", pairs_path.display(), root.display());
            (Protocol::LfwPairs, source, to_metrics(report.metrics()))
        }
        (None, Some(root)) => {
            let mut items = list_folder(root)?;
            if args.exclude_train_identities {
                let train = train_identities(&run, dataset.as_ref())?;
                let before = items.len();
                items.retain(|i| !train.contains(&i.identity));
                options["exclude_train_identities"] = true.into();
                options["dropped_images"] = (before - items.len()).into();
            }
            let emb = embed_all(ImageRoot::Folder(root), &items)?;
            let pairs = folder_pairs(emb.labels(), DEFAULT_PAIRS_PER_CLASS, FOLDER_PAIRS_SEED);
            let scores = Scores::new(
                pairs
                    .iter()
                    .map(|p| euclidean(&emb.vectors()[p.a], &emb.vectors()[p.b]))
                    .collect(),
                pairs.iter().map(|p| p.same).collect(),
                pairs.iter().map(|p| p.fold).collect(),
            )?;
            let report = verification::evaluate(&scores, FAR_TARGET)?;
            write_roc(&report, &format!("roc-run-{}-folder.csv", run.id))?;
            let (gallery, queries) = identification::gallery_and_queries(&emb)?;
            let id = identify(&gallery, &queries, &device)?;
            let mut metrics = to_metrics(report.metrics());
            metrics.push(EvalMetric::new("top1_one_per_identity", id.top_k(1)));
            metrics.push(EvalMetric::new("top5_one_per_identity", id.top_k(5)));
            options["far_target"] = FAR_TARGET.into();
            options["pairs_per_class"] = DEFAULT_PAIRS_PER_CLASS.into();
            options["pairs_seed"] = FOLDER_PAIRS_SEED.into();
            (Protocol::Folder, root.display().to_string(), metrics)
        }
        (Some(_), None) => bail!("--pairs needs --data pointing at the LFW images"),
    };

    let id = lab.add_evaluation(&NewEvaluation {
        run: run.id,
        checkpoint_id: Some(checkpoint.id),
        checkpoint_iteration: Some(checkpoint.iteration),
        protocol,
        data_source: source,
        options,
        metrics: metrics.clone(),
        code: CodeVersion::current(),
    })?;
    println!(
        "evaluation {id}: run {} checkpoint at iteration {}, {protocol}",
        run.id, checkpoint.iteration
    );
    for m in &metrics {
        println!("  {:<28} {:.4}", m.name, m.value);
    }
    Ok(())
}

/// The run's test-split identification metrics against both galleries.
fn test_split_metrics(
    train: &Embeddings,
    test: &Embeddings,
    device: &Device,
) -> Result<Vec<EvalMetric>> {
    use identification::metric::*;
    let seed = identify(&seed_gallery(train)?, test, device)?;
    let centroid = identify(&centroid_gallery(train)?, test, device)?;
    Ok(vec![
        EvalMetric::new(TOP1_SEED_GALLERY, seed.top_k(1)),
        EvalMetric::new(TOP5_SEED_GALLERY, seed.top_k(5)),
        EvalMetric::new(TOP1_CENTROID_GALLERY, centroid.top_k(1)),
        EvalMetric::new(TOP5_CENTROID_GALLERY, centroid.top_k(5)),
        EvalMetric::new(N_QUERIES, test.len() as f64),
    ])
}

fn to_metrics(pairs: Vec<(&'static str, f64)>) -> Vec<EvalMetric> {
    pairs
        .into_iter()
        .map(|(n, v)| EvalMetric::new(n, v))
        .collect()
}

fn split_items(d: &DatasetRecord, name: &str) -> Result<Vec<ImageItem>> {
    let split = d
        .splits
        .iter()
        .find(|s| s.name == name)
        .with_context(|| format!("dataset '{}' has no {name} split", d.source))?;
    Ok(split
        .members
        .iter()
        .map(|m| ImageItem {
            identity: m.identity.clone(),
            path: PathBuf::from(&m.file),
        })
        .collect())
}

fn train_identities(run: &Run, dataset: Option<&DatasetRecord>) -> Result<HashSet<String>> {
    let d = dataset.with_context(|| {
        format!("run {} has no recorded dataset, so its training identities are unknown: drop --exclude-train-identities", run.id)
    })?;
    Ok(split_items(d, "train")?
        .into_iter()
        .map(|i| i.identity)
        .collect())
}

/// Every `Name/*.jpg` (or png) under `root`, sorted by identity then file.
fn list_folder(root: &Path) -> Result<Vec<ImageItem>> {
    let mut items = Vec::new();
    let entries = std::fs::read_dir(root)
        .with_context(|| format!("reading image folder '{}'", root.display()))?;
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let identity = entry.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(entry.path())? {
            let name = f?.file_name().to_string_lossy().into_owned();
            let lower = name.to_ascii_lowercase();
            if lower.ends_with(".jpg") || lower.ends_with(".jpeg") || lower.ends_with(".png") {
                items.push(ImageItem {
                    identity: identity.clone(),
                    path: Path::new(&identity).join(name),
                });
            }
        }
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    if items.is_empty() {
        bail!(
            "no images under '{}': expected one folder per identity holding its .jpg files (LFW layout)",
            root.display()
        );
    }
    Ok(items)
}

fn check_files_exist(root: &Path, items: &[ImageItem]) -> Result<()> {
    let missing: Vec<String> = items
        .iter()
        .filter(|i| !root.join(&i.path).is_file())
        .map(|i| i.path.display().to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} of the {} images the pairs name are missing under '{}' (first: {}): \
             pass --data with the extracted LFW folder (the one holding Name/Name_0001.jpg)",
            missing.len(),
            items.len(),
            root.display(),
            missing
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

fn write_roc(report: &VerificationReport, file_name: &str) -> Result<()> {
    let dir = Path::new("reports");
    std::fs::create_dir_all(dir).context("creating reports/")?;
    let path = dir.join(file_name);
    std::fs::write(&path, report.roc.to_csv())
        .with_context(|| format!("writing ROC to '{}'", path.display()))?;
    println!("ROC written to {}", path.display());
    Ok(())
}

/// The embeddings of `items`, in order, from `checkpoint`'s model on `device`, with `flip`
/// averaging each image's embedding with its mirror image's.
///
/// TODO(trainer wiring): load the model with the trainer's checkpoint API, decode the images
/// with `crate::data` at the run's `image_size` (and normalisation), then call
/// `crate::eval::batches::embed_in_batches(items.len(), batch_size, flip, load, forward)`.
#[allow(clippy::too_many_arguments)]
fn embed(
    _lab: &Lab,
    run: &Run,
    checkpoint: &Checkpoint,
    _root: ImageRoot,
    _items: &[ImageItem],
    _flip: bool,
    _batch_size: usize,
    _device: &Device,
) -> Result<Vec<Vec<f32>>> {
    bail!(
        "cannot embed images with run {}'s checkpoint at iteration {} yet: checkpoint loading is not \
         wired into `eval`",
        run.id,
        checkpoint.iteration
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::checkpoint_choice::CheckpointChoice;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: EvalArgs,
    }

    #[test]
    fn arguments_parse_and_pairs_need_data() -> Result<()> {
        let w = Wrapper::try_parse_from(["eval", "7"])?;
        assert_eq!(w.args.checkpoint, CheckpointChoice::Best);
        assert_eq!((w.args.flip, w.args.batch_size), (false, 256));
        let w = Wrapper::try_parse_from([
            "eval",
            "r",
            "--checkpoint",
            "1200",
            "--pairs",
            "p.txt",
            "--data",
            "lfw",
            "--flip",
            "--exclude-train-identities",
        ])?;
        assert_eq!(w.args.checkpoint, CheckpointChoice::Iteration(1200));
        assert!(w.args.flip && w.args.exclude_train_identities);
        assert!(Wrapper::try_parse_from(["eval", "r", "--pairs", "p.txt"]).is_err());
        assert!(Wrapper::try_parse_from(["eval", "r", "--checkpoint", "newest"]).is_err());
        Ok(())
    }

    #[test]
    fn folders_are_listed_in_lfw_layout_and_missing_pair_images_named() -> Result<()> {
        let dir = tempfile::tempdir()?;
        for (who, n) in [("Bob", 2), ("Ann", 1)] {
            std::fs::create_dir(dir.path().join(who))?;
            for k in 1..=n {
                std::fs::write(dir.path().join(who).join(format!("{who}_{k:04}.jpg")), b"")?;
            }
        }
        std::fs::write(dir.path().join("README.txt"), b"not an identity")?;
        let items = list_folder(dir.path())?;
        assert_eq!(
            items
                .iter()
                .map(|i| i.path.display().to_string())
                .collect::<Vec<_>>(),
            ["Ann/Ann_0001.jpg", "Bob/Bob_0001.jpg", "Bob/Bob_0002.jpg"]
        );
        let mut wanted = items.clone();
        wanted.push(ImageItem {
            identity: "Cy".into(),
            path: "Cy/Cy_0001.jpg".into(),
        });
        let err = check_files_exist(dir.path(), &wanted)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1 of the 4 images") && err.contains("Cy/Cy_0001.jpg"),
            "{err}"
        );
        Ok(())
    }
}
