//! `facenet-lab report`: figures and the results table from the lab.

use anyhow::{Context, Result};
use candle_core::Device;

use crate::cli::ReportArgs;
use crate::data::ImageRef;
use crate::eval::checkpoint_choice::CheckpointChoice;
use crate::eval::net::Net;
use crate::eval::pca::pca_2d;
use crate::lab::Lab;
use crate::report::{self, pca_chart, write_chart, ReportOptions};

pub fn execute(lab: &Lab, args: &ReportArgs) -> Result<()> {
    if let Some(key) = &args.embeddings {
        return embeddings(lab, key, args);
    }
    let runs = report::select_runs(lab, args.runs.as_deref(), args.tag.as_deref())?;
    // Some runs' figures and table go to a folder of their own, so that the whole lab's (which
    // the README links to) stay as they are.
    let subset = match (&args.runs, &args.tag) {
        (Some(runs), _) => Some(format!("runs-{}", folder_name(&list_once(runs)))),
        (None, Some(tag)) => Some(format!("tag-{}", folder_name(tag))),
        (None, None) => None,
    };
    let default_out = match subset {
        Some(folder) => lab.reports_dir().join(folder),
        None => lab.reports_dir(),
    };
    let opts = ReportOptions {
        out_dir: args.out.clone().unwrap_or(default_out),
        format: args.format,
        readme: args.readme.clone(),
    };
    let written = report::generate(lab, &runs, &opts)?;
    for w in &written {
        let what = if w.changed { "wrote" } else { "unchanged" };
        crate::outln!("{what} {}", w.path.display());
    }
    let changed = written.iter().filter(|w| w.changed).count();
    crate::outln!(
        "report of {}: {} written, {} unchanged",
        crate::format::count(runs.len() as u64, "run", "runs"),
        crate::format::count(changed as u64, "file", "files"),
        written.len() - changed
    );
    Ok(())
}

/// `60,61` for `60,61`: letters, digits, `-`, `_`, `,` and `.` kept, anything else a `-`, at
/// most 60 of them; where that changed the key, the start of its sha256 after it, so that two
/// keys never share a folder (`a b` and `a/b`).
fn folder_name(key: &str) -> String {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | ',' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    let name = name.trim_matches('.');
    if name == key {
        name.to_string()
    } else {
        let hash = crate::data::hash::sha256_hex(key.as_bytes());
        format!("{name}-{}", &hash[..8])
    }
}

/// A `--runs` list with each entry once, in the order given, without spaces or empty entries:
/// `3,3` and `3, 5,` report the runs `3` and `3,5` do, into the same folders.
fn list_once(list: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for key in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen.join(",")
}

/// `report --embeddings RUN`: the dev and test images embedded by the run's chosen checkpoint
/// (`--checkpoint`, the best by default), projected on their first two principal components.
fn embeddings(lab: &Lab, key: &str, args: &ReportArgs) -> Result<()> {
    let run = lab.find_run(key)?;
    let checkpoints = lab.checkpoints(run.id)?;
    let ck = args.checkpoint.pick(&run.id.to_string(), &checkpoints)?;
    let dataset_id = run
        .dataset_id
        .with_context(|| format!("run {} has no recorded dataset", run.id))?;
    let dataset = lab
        .dataset(dataset_id)?
        .with_context(|| format!("dataset {} is missing from the lab", dataset_id.0))?;
    let spec = crate::data::recorded::source(&dataset, args.split_data.as_deref(), run.id)?;
    let (items, is_test): (Vec<ImageRef>, Vec<bool>) = dataset
        .splits
        .iter()
        .filter(|s| s.name == "dev" || s.name == "test")
        .flat_map(|s| s.members.iter().map(move |m| (m, s.name == "test")))
        .map(|(m, test)| (ImageRef::from(m), test))
        .unzip();
    let net = Net::load(lab, &run, ck, &Device::cuda_if_available(0)?)?;
    let vectors = net.embed(&spec, &items, false, 256)?;
    let points = pca_2d(&vectors)?;
    let labels: Vec<String> = items.into_iter().map(|i| i.identity).collect();
    let n_ids = labels
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let title = embeddings_title(&run, ck, labels.len(), n_ids);
    let chart = pca_chart(&title, &vectors, &points, &labels, &is_test);
    // The best checkpoint's figure keeps its name; another checkpoint's does not replace it.
    let name = match args.checkpoint {
        CheckpointChoice::Best => format!("embeddings-run-{}", run.id),
        _ => format!("embeddings-run-{}-iter-{}", run.id, ck.iteration),
    };
    let out = args.out.clone().unwrap_or_else(|| lab.reports_dir());
    let w = write_chart(&out, &name, &chart, args.format)?;
    crate::outln!(
        "{} {}",
        if w.changed { "wrote" } else { "unchanged" },
        w.path.display()
    );
    Ok(())
}

/// The embeddings figure's title: `Run 24 (best checkpoint, epoch 26): PCA of 132 dev + test
/// embeddings, 30 identities`, the checkpoint placed by [`report::training_position`] as the
/// run's other figures and the results table count.
fn embeddings_title(
    run: &crate::lab::Run,
    ck: &crate::lab::Checkpoint,
    n_images: usize,
    n_ids: usize,
) -> String {
    format!(
        "Run {} ({} checkpoint, {}): PCA of {n_images} dev + test embeddings, {n_ids} identities",
        run.id,
        ck.kind,
        report::training_position(run, ck),
    )
}

#[cfg(test)]
mod tests {
    /// The title places the checkpoint by the epoch it records where the run records an
    /// epoch's length (19 iterations): at its end, or partway through it for a run stopped
    /// there; by iteration where the run records none.
    #[test]
    fn the_embeddings_title_names_the_checkpoint_by_epoch() {
        let mut run = crate::lab::fixtures::run(24, "best-recipe-64px", "resnet18");
        run.iters_per_epoch = Some(19);
        let mut ck = crate::lab::fixtures::checkpoint(run.id, "best", 494, 26);
        assert_eq!(
            super::embeddings_title(&run, &ck, 132, 30),
            "Run 24 (best checkpoint, epoch 26): PCA of 132 dev + test embeddings, 30 identities"
        );
        // Stopped 6 steps into epoch 27: the epoch recorded, not the 26 whole ones before it.
        (ck.iteration, ck.epoch, ck.kind) = (500, 27, "interrupt".into());
        assert!(
            super::embeddings_title(&run, &ck, 132, 30)
                .starts_with("Run 24 (interrupt checkpoint, 6 iterations into epoch 27):"),
            "{}",
            super::embeddings_title(&run, &ck, 132, 30)
        );
        run.iters_per_epoch = None;
        assert!(super::embeddings_title(&run, &ck, 132, 30)
            .starts_with("Run 24 (interrupt checkpoint, iteration 500):"));
    }

    #[test]
    fn subset_folders_are_named_by_their_key_and_never_shared() {
        use super::{folder_name, list_once};
        assert_eq!(folder_name("60,61"), "60,61");
        assert_eq!(list_once("3,3"), "3");
        assert_eq!(list_once(" 5, 3,,5 ,3"), "5,3");
        assert_eq!(list_once("recipe-32,3,recipe-32"), "recipe-32,3");
        assert_eq!(folder_name("baseline"), "baseline");
        let (space, slash) = (folder_name("a b"), folder_name("a/b"));
        assert!(
            space.starts_with("a-b-") && slash.starts_with("a-b-"),
            "{space} {slash}"
        );
        assert_ne!(space, slash);
        assert!(!folder_name("../..").contains('/'));
        let long = (1..=40)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert_ne!(folder_name(&long), folder_name(&format!("{long},41")));
    }
}
