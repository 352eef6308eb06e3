//! `facenet-lab lab merge OTHER.db`: import another lab's runs; `lab tag` and `lab note`:
//! annotate runs as the dashboard does.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::{MergeArgs, NoteArgs, TagArgs};
use crate::lab::{Lab, MergeSummary, RunId};

/// `lab tag RUNS TAG... [--remove]`: each run's tags with `args.tags` added (or removed), said
/// per run. Every run is found before any is changed.
pub fn tag(db: &Path, args: &TagArgs) -> Result<()> {
    let lab = Lab::open_existing(db)?;
    let runs = crate::report::select_runs(&lab, Some(&args.runs), None)?;
    for run in &runs {
        let mut tags = run.tags.clone();
        // Tags it had already, or, removing, did not have: said, as nothing changed for them.
        let mut unchanged = Vec::new();
        for t in &args.tags {
            let had = tags.iter().position(|x| x == t);
            match (args.remove, had) {
                (false, None) => tags.push(t.clone()),
                (true, Some(i)) => {
                    tags.remove(i);
                }
                _ => unchanged.push(t.as_str()),
            }
        }
        if args.remove {
            lab.remove_tags(run.id, &args.tags)?;
        } else {
            lab.set_tags(run.id, &tags)?;
        }
        let now = if tags.is_empty() {
            "no tags".to_string()
        } else {
            format!("tags {}", tags.join(", "))
        };
        let aside = match (unchanged.is_empty(), args.remove) {
            (true, _) => String::new(),
            (false, true) => format!(" (it had no tag {})", unchanged.join(", ")),
            (false, false) => format!(" (it had tag {} already)", unchanged.join(", ")),
        };
        crate::outln!("run {} ({}): {now}{aside}", run.id, run.name);
    }
    Ok(())
}

/// `lab note RUN TEXT`: the run's note replaced by `args.text`.
pub fn note(db: &Path, args: &NoteArgs) -> Result<()> {
    let lab = Lab::open_existing(db)?;
    let run = lab.find_run(&args.run)?;
    lab.set_notes(run.id, &args.text)?;
    let what = if args.text.is_empty() {
        "note cleared"
    } else {
        "note set"
    };
    crate::outln!("run {} ({}): {what}", run.id, run.name);
    Ok(())
}

pub fn merge(db: &Path, args: &MergeArgs) -> Result<()> {
    // Before this lab is opened, so that a mistyped file starts no lab.
    if !args.other.exists() {
        bail!(
            "no file '{}' to merge: name the lab file that came back from the other machine \
             (e.g. gpu-lab.db)",
            args.other.display()
        );
    }
    // Declared first, so dropped last: after the reading connection has closed.
    let _tidy = Sidecars::absent(&args.other);
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
    crate::out!("{summary}");
    let missing = missing_checkpoint_files(&lab, &summary)?;
    if !missing.is_empty() {
        let files: Vec<PathBuf> = missing.iter().map(|(_, f)| f.clone()).collect();
        let runs: std::collections::BTreeSet<RunId> = missing.iter().map(|&(r, _)| r).collect();
        let dirs: Vec<PathBuf> = runs.iter().map(|&r| lab.brought_dir(r)).collect();
        crate::say!(
            "note: the lab records checkpoints, not their weights: {} of the merged runs {} not \
             where the lab records {} ({}); `eval` and `--resume` need them: copy each run's \
             checkpoint files from where it trained into its own folder here ({}), where they \
             are found by name and sha256",
            crate::format::count(files.len() as u64, "checkpoint file", "checkpoint files"),
            if files.len() == 1 { "is" } else { "are" },
            if files.len() == 1 { "it" } else { "them" },
            folders(&files),
            listed(dirs.iter().map(PathBuf::as_path)),
        );
    }
    Ok(())
}

/// Reading a lab in WAL mode makes SQLite's `-wal` and `-shm` files beside it, and a read-only
/// connection leaves them behind. Where the lab had none before, this takes them away when it
/// is dropped (on every path out, once the reading connection has closed), as SQLite does: the
/// last connection to close removes them, only where no other process has the lab open. A lab
/// this process cannot write keeps them.
struct Sidecars(Option<PathBuf>);

impl Sidecars {
    fn absent(db: &Path) -> Sidecars {
        let beside = |suffix: &str| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        };
        let none = !beside("-wal").exists() && !beside("-shm").exists();
        Sidecars(none.then(|| db.to_path_buf()))
    }
}

impl Drop for Sidecars {
    fn drop(&mut self) {
        if let Some(db) = &self.0 {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE;
            if let Ok(conn) = rusqlite::Connection::open_with_flags(db, flags) {
                // Opened lazily: a read makes it a connection of the lab's, whose close
                // checkpoints and removes the files.
                let _ = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
                let _ = conn.close();
            }
        }
    }
}

/// The checkpoint files of the runs a merge added or refreshed that this lab cannot find, each
/// with its run here.
fn missing_checkpoint_files(lab: &Lab, summary: &MergeSummary) -> Result<Vec<(RunId, PathBuf)>> {
    let mut missing = Vec::new();
    for &(_, id, _) in summary.added.iter().chain(&summary.updated) {
        missing.extend(
            lab.checkpoints(id)?
                .iter()
                .filter_map(|ck| lab.missing_checkpoint(ck))
                .map(|f| (id, f)),
        );
    }
    Ok(missing)
}

/// The distinct folders of `files`, for a message: the first three and how many more.
fn folders(files: &[PathBuf]) -> String {
    listed(files.iter().filter_map(|f| f.parent()))
}

/// The distinct `dirs`, sorted: the first three and how many more.
fn listed<'a>(dirs: impl Iterator<Item = &'a Path>) -> String {
    let dirs: std::collections::BTreeSet<&Path> = dirs.collect();
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
