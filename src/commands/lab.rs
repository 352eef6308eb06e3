//! `facenet-lab lab merge OTHER.db`: import another lab's runs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

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
            "note: the lab records checkpoints, not their weights: {} of the merged runs {} not \
             where the lab records {} ({}) nor in {}, where {} would be found \
             (`eval` and `--resume` need them); copy the folders from where they trained",
            crate::format::count(missing.len() as u64, "checkpoint file", "checkpoint files"),
            if missing.len() == 1 { "is" } else { "are" },
            if missing.len() == 1 { "it" } else { "them" },
            folders(&missing),
            lab.checkpoints_dir().display(),
            if missing.len() == 1 {
                "its folder"
            } else {
                "their folders"
            },
        );
    }
    Ok(())
}

/// The checkpoint files of the runs a merge added or refreshed that this lab cannot find.
fn missing_checkpoint_files(lab: &Lab, summary: &MergeSummary) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    for (_, id, _) in summary.added.iter().chain(&summary.updated) {
        missing.extend(
            lab.checkpoints(*id)?
                .iter()
                .filter_map(|ck| lab.missing_checkpoint(ck)),
        );
    }
    Ok(missing)
}

/// The distinct folders of `files`, for a message: the first three and how many more.
fn folders(files: &[PathBuf]) -> String {
    let dirs: std::collections::BTreeSet<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    let shown: Vec<String> = dirs
        .iter()
        .take(3)
        .map(|d| d.display().to_string())
        .collect();
    match dirs.len() {
        n if n > 3 => format!("{} and {} more folders", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_named_once_and_at_most_three() {
        let files = |dirs: &[&str]| -> Vec<PathBuf> {
            dirs.iter()
                .flat_map(|d| [Path::new(d).join("a"), Path::new(d).join("b")])
                .collect()
        };
        assert_eq!(folders(&files(&["c/run-2", "c/run-1"])), "c/run-1, c/run-2");
        assert_eq!(
            folders(&files(&[
                "c/run-1", "c/run-2", "c/run-3", "c/run-4", "c/run-5"
            ])),
            "c/run-1, c/run-2, c/run-3 and 2 more folders"
        );
    }
}
