//! Which runs a report or export covers: `--runs 3,5,baseline`, `--tag T`, or every run.

use anyhow::{bail, Result};

use crate::lab::{Lab, Run};

/// The runs named by `runs` (ids or names, comma-separated, in the order given) or carrying
/// `tag` (oldest first), or all runs. An empty selection is an error: a report of nothing is
/// always a mistake in the arguments.
pub fn select_runs(lab: &Lab, runs: Option<&str>, tag: Option<&str>) -> Result<Vec<Run>> {
    if runs.is_some() && tag.is_some() {
        bail!("give either --runs or --tag, not both");
    }
    if let Some(list) = runs {
        let mut out: Vec<Run> = Vec::new();
        for key in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let run = lab.find_run_seen(key)?;
            if !out.iter().any(|r| r.id == run.id) {
                out.push(run);
            }
        }
        if out.is_empty() {
            bail!("--runs is empty: give run ids or names separated by commas, e.g. --runs 3,5");
        }
        return Ok(out);
    }
    let all = lab.list_runs_seen()?;
    if let Some(tag) = tag {
        let tagged: Vec<Run> = all
            .into_iter()
            // As the runs filter matches a tag: whatever its case.
            .filter(|r| {
                r.tags
                    .iter()
                    .any(|t| t.to_lowercase() == tag.to_lowercase())
            })
            .collect();
        if tagged.is_empty() {
            bail!(
                "no run in lab '{}' has the tag '{tag}': `facenet-lab runs{} --json` shows each run's tags",
                lab.path().display(),
                crate::lab::db_flag(lab.path())
            );
        }
        return Ok(tagged);
    }
    if all.is_empty() {
        bail!(
            "lab '{}' has no runs yet: record one with `facenet-lab run ...` or pass --db PATH",
            lab.path().display()
        );
    }
    Ok(all)
}
