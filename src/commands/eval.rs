//! `facenet-lab eval RUN`: evaluate a run's checkpoint and record the result in the lab.
//!
//! Three protocols: the run's own test split (identification), LFW View 2 pairs
//! (verification), and any folder of identities (open-set verification and identification).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::Device;

use crate::cli::EvalArgs;
use crate::data::{self, DataSpec, ImageRef};
use crate::eval::embeddings::{euclidean, Embeddings};
use crate::eval::folder::{folder_pairs, DEFAULT_PAIRS_PER_CLASS};
use crate::eval::identification::{self, centroid_gallery, identify, seed_gallery};
use crate::eval::net::Net;
use crate::eval::pairs::{exclude_identities, PairsFile};
use crate::eval::verification::{self, Scores, VerificationReport};
use crate::lab::{
    CodeVersion, DatasetRecord, EvalMetric, EvaluationId, Lab, NewEvaluation, Protocol, Run, RunId,
};
use crate::report::{roc_chart, write_chart, FigureFormat};

/// FAR at which VAL is reported, as in the FaceNet paper and the LFW literature.
const FAR_TARGET: f64 = 1e-3;

/// Seed of the folder protocol's pair sampling: fixed, so two runs see the same pairs.
const FOLDER_PAIRS_SEED: u64 = 0x001f_0a1d;

pub fn execute(lab: &Lab, args: &EvalArgs) -> Result<()> {
    let run = lab.find_run(&args.run)?;
    let checkpoints = lab.checkpoints(run.id)?;
    let checkpoint = args.checkpoint.pick(&run.id.to_string(), &checkpoints)?;
    let device = Device::cuda_if_available(0)?;
    let dataset = match run.dataset_id {
        Some(id) => lab.dataset(id)?,
        None => None,
    };
    let net = Net::load(lab, &run, checkpoint, &device)?;
    let embed_all = |spec: &DataSpec, items: &[ImageRef]| -> Result<Embeddings> {
        let vectors = net.embed(spec, items, args.flip, args.batch_size)?;
        Embeddings::new(items.iter().map(|i| i.identity.clone()).collect(), vectors)
    };
    // A path, or `synthetic:IDS:PER:SEED` (generated faces, as `run --data` takes them).
    let data_spec = args
        .data
        .as_ref()
        .map(|d| d.to_string_lossy().parse::<DataSpec>())
        .transpose()?;
    let mut options = serde_json::json!({ "flip": args.flip });
    // A verification protocol's ROC and what it was measured on, drawn once the evaluation
    // has its id, which names the files.
    let mut roc: Option<(VerificationReport, String)> = None;

    let (protocol, source, metrics) = match (&args.pairs, &data_spec) {
        (None, None) => {
            let d = dataset.as_ref().with_context(|| {
                format!("run {} has no recorded dataset, so it has no test split to evaluate on: pass --data DIR", run.id)
            })?;
            let spec = crate::data::recorded::source(d, args.split_data.as_deref(), run.id)
                .with_context(|| format!("evaluating run {} on its test split", run.id))?;
            let train = embed_all(&spec, &split_items(d, "train")?)?;
            let test = embed_all(&spec, &split_items(d, "test")?)?;
            (
                Protocol::TestSplit,
                d.source.clone(),
                test_split_metrics(&train, &test)?,
            )
        }
        (Some(pairs_path), Some(spec)) => {
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
            let mut images: Vec<_> = pairs
                .iter()
                .flat_map(|p| [p.a.clone(), p.b.clone()])
                .collect();
            images.sort();
            images.dedup();
            let items: Vec<ImageRef> = images
                .iter()
                .map(|i| ImageRef::lfw(&i.identity, i.number))
                .collect();
            check_images_exist(spec, &items)?;
            let emb = embed_all(spec, &items)?;
            let index: HashMap<_, _> = images.iter().enumerate().map(|(k, i)| (i, k)).collect();
            let indexed: Vec<_> = pairs
                .iter()
                .map(|p| (index[&p.a], index[&p.b], p.same, p.fold))
                .collect();
            let report = verify(&emb, &indexed)?;
            options["far_target"] = FAR_TARGET.into();
            options["pairs"] = pairs.len().into();
            let source = format!("{} + {}", pairs_path.display(), spec);
            let metrics = to_metrics(report.metrics());
            roc = Some((report, "LFW View 2".to_string()));
            (Protocol::LfwPairs, source, metrics)
        }
        (None, Some(spec)) => {
            let mut items = data::list_images(spec)?;
            if items.is_empty() {
                bail!("no images in '{spec}': expected one folder per identity holding its .jpg files (LFW layout)");
            }
            // People are matched by name, which only means the same person within real photos,
            // or within generated faces of one seed.
            let shared = may_share_people(spec, dataset.as_ref());
            if args.exclude_train_identities {
                let mut train = train_identities(&run, dataset.as_ref())?;
                if !shared {
                    train.clear();
                }
                let before = items.len();
                items.retain(|i| !train.contains(&i.identity));
                if items.is_empty() {
                    bail!(
                        "all {before} images in '{spec}' are of people run {} trained on: \
                         nothing is left for an open-set evaluation; point --data at other people",
                        run.id
                    );
                }
                println!(
                    "--exclude-train-identities: dropped {} of {before} images",
                    before - items.len()
                );
                options["exclude_train_identities"] = true.into();
                options["dropped_images"] = (before - items.len()).into();
            } else if let Some(train) = shared
                .then(|| train_identities(&run, dataset.as_ref()).ok())
                .flatten()
            {
                let seen: HashSet<&str> = items
                    .iter()
                    .map(|i| i.identity.as_str())
                    .filter(|id| train.contains(*id))
                    .collect();
                if !seen.is_empty() {
                    let people: HashSet<&str> = items.iter().map(|i| i.identity.as_str()).collect();
                    eprintln!(
                        "warning: {} of the {} people in '{spec}' are people run {} trained on, so \
                         these numbers are not open-set; --exclude-train-identities leaves them out",
                        seen.len(),
                        people.len(),
                        run.id
                    );
                    options["train_identities_present"] = seen.len().into();
                }
            }
            let people: Vec<String> = items.iter().map(|i| i.identity.clone()).collect();
            let pairs = folder_pairs(&people, DEFAULT_PAIRS_PER_CLASS, FOLDER_PAIRS_SEED);
            if pairs.is_empty() {
                let distinct: HashSet<&String> = people.iter().collect();
                if distinct.len() < 2 {
                    bail!(
                        "'{spec}' holds {} (after any exclusion), so there is no \
                         different-person pair to verify: the folder protocol needs two people \
                         or more",
                        crate::format::count(distinct.len() as u64, "person", "people")
                    );
                }
                bail!(
                    "no person in '{spec}' has two images, so there is no same-person pair to \
                     verify: the folder protocol needs people with at least two photos each"
                );
            }
            let emb = embed_all(spec, &items)?;
            let indexed: Vec<_> = pairs.iter().map(|p| (p.a, p.b, p.same, p.fold)).collect();
            let report = verify(&emb, &indexed)?;
            let (gallery, queries) = identification::gallery_and_queries(&emb)?;
            let id = identify(&gallery, &queries)?;
            let mut metrics = to_metrics(report.metrics());
            metrics.push(EvalMetric::new("top1_one_per_identity", id.top_k(1)));
            metrics.push(EvalMetric::new("top5_one_per_identity", id.top_k(5)));
            options["far_target"] = FAR_TARGET.into();
            options["pairs_per_class"] = DEFAULT_PAIRS_PER_CLASS.into();
            options["pairs_seed"] = FOLDER_PAIRS_SEED.into();
            roc = Some((report, spec.to_string()));
            (Protocol::Folder, spec.to_string(), metrics)
        }
        (Some(_), None) => {
            bail!("--pairs needs --data pointing at the LFW images (a directory or lfw.tgz)")
        }
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
        "evaluation {id}: run {} checkpoint '{}' at iteration {}, {protocol}",
        run.id, checkpoint.kind, checkpoint.iteration
    );
    for m in &metrics {
        println!("  {:<28} {}", m.name, metric_value(&m.name, m.value));
    }
    if let Some((report, on)) = roc {
        let name = roc_name(run.id, id);
        let flip = if args.flip { ", flipped" } else { "" };
        let title = format!(
            "Run {} at iteration {}{flip}: ROC on {on}",
            run.id, checkpoint.iteration
        );
        write_roc(&report, &args.out, &name, &title)
            .with_context(|| format!("evaluation {id} is recorded, but its ROC is not"))?;
    }
    Ok(())
}

/// The file stem of an evaluation's ROC: one per evaluation, so evaluating a run again (another
/// checkpoint, `--flip`, other pairs) never overwrites an earlier figure.
fn roc_name(run: RunId, evaluation: EvaluationId) -> String {
    format!("roc-run-{run}-eval-{evaluation}")
}

/// A metric as printed: counts (`n_...`) as whole numbers, rates to 4 decimals.
fn metric_value(name: &str, value: f64) -> String {
    if name.starts_with("n_") && value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.4}")
    }
}

/// Verification over `(a, b, same, fold)` pairs of embedding indices.
fn verify(emb: &Embeddings, pairs: &[(usize, usize, bool, usize)]) -> Result<VerificationReport> {
    let v = emb.vectors();
    let scores = Scores::new(
        pairs
            .iter()
            .map(|&(a, b, _, _)| euclidean(&v[a], &v[b]))
            .collect(),
        pairs.iter().map(|p| p.2).collect(),
        pairs.iter().map(|p| p.3).collect(),
    )?;
    let report = verification::evaluate(&scores, FAR_TARGET)?;
    println!("verification {}", report.summary());
    Ok(report)
}

/// The run's test-split identification metrics against both galleries.
fn test_split_metrics(train: &Embeddings, test: &Embeddings) -> Result<Vec<EvalMetric>> {
    use identification::metric::*;
    let seed = identify(&seed_gallery(train)?, test)?;
    let centroid = identify(&centroid_gallery(train)?, test)?;
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

/// A split's members in the order the data pipeline gave them to training: by identity, and
/// within one by file name, or, with a split seed, in that seed's shuffled order. The seed's
/// gallery takes each identity's first training image, so the order matters.
fn split_items(d: &DatasetRecord, name: &str) -> Result<Vec<ImageRef>> {
    let split = d
        .splits
        .iter()
        .find(|s| s.name == name)
        .with_context(|| format!("dataset '{}' has no {name} split", d.source))?;
    let mut items: Vec<ImageRef> = split
        .members
        .iter()
        .map(|m| ImageRef {
            identity: m.identity.clone(),
            file: m.file.clone(),
        })
        .collect();
    if let Some(seed) = d.split_seed {
        // Replay the pipeline: each identity's files, sorted, then shuffled with the seed.
        let mut position: HashMap<(String, String), usize> = HashMap::new();
        let mut by_identity: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for m in d.splits.iter().flat_map(|s| &s.members) {
            by_identity.entry(&m.identity).or_default().push(&m.file);
        }
        for (identity, mut files) in by_identity {
            files.sort_unstable();
            crate::data::split::shuffle(&mut files, seed as u64, identity);
            for (k, f) in files.into_iter().enumerate() {
                position.insert((identity.to_string(), f.to_string()), k);
            }
        }
        items.sort_by_key(|i| {
            (
                i.identity.clone(),
                position.get(&(i.identity.clone(), i.file.clone())).copied(),
            )
        });
    }
    Ok(items)
}

/// Whether the people of `eval` can be people the run trained on, given that people are
/// matched by name: real photos (any paths) can, generated faces only when drawn from the same
/// seed (`id03` of another seed is another face), and never one kind with the other.
fn may_share_people(eval: &DataSpec, trained: Option<&DatasetRecord>) -> bool {
    let trained = trained.and_then(|d| d.source.parse::<DataSpec>().ok());
    match (eval, trained) {
        (DataSpec::Path(_), Some(DataSpec::Path(_))) => true,
        (DataSpec::Synthetic { seed: a, .. }, Some(DataSpec::Synthetic { seed: b, .. })) => *a == b,
        _ => false,
    }
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

fn check_images_exist(spec: &DataSpec, items: &[ImageRef]) -> Result<()> {
    let present: HashSet<(String, String)> = data::list_images(spec)?
        .into_iter()
        .map(|i| (i.identity, i.file))
        .collect();
    let missing: Vec<String> = items
        .iter()
        .filter(|i| !present.contains(&(i.identity.clone(), i.file.clone())))
        .map(|i| format!("{}/{}", i.identity, i.file))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} of the {} images the pairs name are missing from '{spec}' (first: {}): \
             pass --data with the full LFW (lfw.tgz, or the folder holding Name/Name_0001.jpg)",
            missing.len(),
            items.len(),
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

/// The ROC as `DIR/NAME.csv` (every point) and `DIR/NAME.png`.
fn write_roc(report: &VerificationReport, dir: &Path, name: &str, title: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating '{}'", dir.display()))?;
    let csv = dir.join(format!("{name}.csv"));
    std::fs::write(&csv, report.roc.to_csv())
        .with_context(|| format!("writing ROC to '{}'", csv.display()))?;
    let png = write_chart(
        dir,
        name,
        &roc_chart(title, &report.roc, report.auc, report.far_target),
        FigureFormat::Png,
    )?;
    println!(
        "ROC written to {} and {}",
        csv.display(),
        png.path.display()
    );
    Ok(())
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
    fn counts_print_whole_and_rates_to_four_decimals() {
        assert_eq!(metric_value("n_pairs", 6000.0), "6000");
        assert_eq!(metric_value("n_queries", 70.0), "70");
        assert_eq!(metric_value("top1_seed_gallery", 1.0), "1.0000");
        assert_eq!(metric_value("auc", 0.83912), "0.8391");
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
    fn train_members_come_back_in_the_order_training_saw_them() -> Result<()> {
        for split_seed in [None, Some(5)] {
            let opts = crate::data::ImportOptions {
                split_seed,
                image_size: 16,
                ..Default::default()
            };
            let manifest = crate::data::inspect(&"synthetic:5:9".parse()?, &opts)?;
            // Through the lab, which keeps members sorted by name.
            let lab = Lab::open_in_memory()?;
            let id = lab.ensure_dataset(&crate::data::recorded::record(&manifest))?;
            let record = lab.dataset(id)?.context("dataset")?;
            let trained: Vec<(String, String)> = manifest
                .train
                .members
                .iter()
                .map(|m| (m.identity.clone(), m.file.clone()))
                .collect();
            let replayed: Vec<(String, String)> = split_items(&record, "train")?
                .into_iter()
                .map(|i| (i.identity, i.file))
                .collect();
            assert_eq!(replayed, trained, "split seed {split_seed:?}");
        }
        Ok(())
    }

    #[test]
    fn missing_pair_images_are_named() -> Result<()> {
        let dir = tempfile::tempdir()?;
        for (who, n) in [("Bob", 2), ("Ann", 1)] {
            std::fs::create_dir(dir.path().join(who))?;
            for k in 1..=n {
                std::fs::write(dir.path().join(who).join(format!("{who}_{k:04}.jpg")), b"")?;
            }
        }
        let spec = DataSpec::Path(dir.path().to_path_buf());
        let mut wanted = vec![ImageRef::lfw("Ann", 1), ImageRef::lfw("Bob", 2)];
        check_images_exist(&spec, &wanted)?;
        wanted.push(ImageRef::lfw("Cy", 1));
        let err = check_images_exist(&spec, &wanted).unwrap_err().to_string();
        assert!(
            err.contains("1 of the 3 images") && err.contains("Cy/Cy_0001.jpg"),
            "{err}"
        );
        Ok(())
    }
}
