//! `facenet-lab lab merge OTHER.db`: import another lab's runs.

use anyhow::{bail, Context, Result};

use std::path::{Path, PathBuf};

use crate::cli::MergeArgs;
use crate::lab::{Lab, MergeSummary};

pub fn merge(db: &Path, args: &MergeArgs) -> Result<()> {
    // Before this lab is opened, so that a mistyped file starts no lab.
    if !args.other.exists() {
        bail!(
            "no file '{}' to merge: name the lab file that came back from the other machine \
             (e.g. gpu-lab.db)",
            args.other.display()
        );
    }
    let other = Lab::open_read_only(&args.other)
        .with_context(|| format!("opening '{}' to merge it", args.other.display()))?;
    let lab = Lab::open(db)?;
    let summary = lab.merge_from(&other).with_context(|| {
        format!(
            "merging '{}' into '{}' (nothing was changed)",
            args.other.display(),
            lab.path().display()
        )
    })?;
    print!("{summary}");
    let missing = missing_checkpoint_files(&lab, &summary)?;
    if !missing.is_empty() {
        eprintln!(
            "note: the lab records checkpoints, not their weights: {} of the merged runs are \
             not beside this lab yet (`eval` and `--resume` need them); they belong in {}",
            crate::format::count(missing.len() as u64, "checkpoint file", "checkpoint files"),
            folders(&missing)
        );
    }
    Ok(())
}

/// The checkpoint files of the runs a merge added or refreshed that this lab cannot find.
fn missing_checkpoint_files(lab: &Lab, summary: &MergeSummary) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    for (_, id, _) in summary.added.iter().chain(&summary.updated) {
        for ck in lab.checkpoints(*id)? {
            let path = lab.resolve(&ck.path);
            if !path.try_exists().unwrap_or(true) {
                missing.push(path);
            }
        }
    }
    Ok(missing)
}

/// The distinct folders of `files`, for a message.
fn folders(files: &[PathBuf]) -> String {
    let dirs: std::collections::BTreeSet<_> = files
        .iter()
        .filter_map(|f| f.parent())
        .map(Path::display)
        .map(|d| d.to_string())
        .collect();
    dirs.into_iter().collect::<Vec<_>>().join(", ")
}
