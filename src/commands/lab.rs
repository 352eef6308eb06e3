//! `facenet-lab lab merge OTHER.db`: import another lab's runs; `lab tag` and `lab note`:
//! annotate runs as the dashboard does; `lab delete`: delete runs, as `D` there does.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::{DeleteArgs, MergeArgs, NoteArgs, TagArgs};
use crate::lab::{Lab, MergeSummary, RunId};

/// `lab delete RUN... [--yes]`: says what each run takes with it, asks (or takes `--yes`), then
/// deletes them all in one transaction ([`Lab::delete_runs`]) and says what went. Runs that may
/// not go are refused, each problem said, before anything is asked.
pub fn delete(db: &Path, args: &DeleteArgs) -> Result<()> {
    let lab = Lab::open_existing(db)?;
    let plan = lab.plan_deletion(&args.runs)?;
    if let Some(refusal) = plan.refusal() {
        bail!(refusal);
    }
    for line in plan.lines() {
        crate::outln!("{line}");
    }
    if !args.yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            let ids: Vec<String> = plan.ids().iter().map(RunId::to_string).collect();
            bail!(
                "nothing was deleted: stdin is not a terminal to ask on; pass --yes to delete \
                 {} (`facenet-lab{} lab delete {} --yes`)",
                if ids.len() == 1 { "it" } else { "them" },
                crate::lab::db_flag(db),
                ids.join(" ")
            );
        }
        if !confirmed(&plan.question(), &mut stdin.lock(), &mut std::io::stderr())? {
            crate::say!("nothing was deleted");
            return Ok(());
        }
    }
    let deleted = lab.delete_runs(&plan)?;
    for line in deleted.lines() {
        crate::outln!("{line}");
    }
    for warning in &deleted.warnings {
        crate::say!("warning: {warning}");
    }
    Ok(())
}

/// Asks `question [y/N] ` on `to` and reads the answer from `from`: `y` or `yes` (any case)
/// agrees; anything else, an empty line or the end of the input declines.
fn confirmed(question: &str, from: &mut impl BufRead, to: &mut impl Write) -> Result<bool> {
    write!(to, "{question} [y/N] ")?;
    to.flush()?;
    let mut answer = String::new();
    from.read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `lab tag RUNS TAG... [--remove]`: each run's tags with `args.tags` added (or removed), said
/// per run. Every run is found before any is changed.
pub fn tag(db: &Path, args: &TagArgs) -> Result<()> {
    let lab = Lab::open_existing(db)?;
    let runs = crate::report::select_runs(&lab, Some(&args.runs), None)?;
    for run in &runs {
        let mut tags = run.tags.clone();
        // The tags added (or removed), and those it had already, or, removing, did not have:
        // said apart, as nothing changed for the latter.
        let (mut changed, mut unchanged) = (Vec::new(), Vec::new());
        for t in &args.tags {
            let had = tags.iter().position(|x| x == t);
            match (args.remove, had) {
                (false, None) => {
                    tags.push(t.clone());
                    changed.push(t.as_str());
                }
                (true, Some(i)) => {
                    tags.remove(i);
                    changed.push(t.as_str());
                }
                _ => unchanged.push(t.as_str()),
            }
        }
        if args.remove {
            lab.remove_tags(run.id, &args.tags)?;
        } else {
            lab.set_tags(run.id, &tags)?;
        }
        crate::outln!(
            "run {} ({}): {}",
            run.id,
            run.name,
            tag_change(args.remove, &changed, &unchanged, &tags)
        );
    }
    Ok(())
}

/// What `lab tag` did to one run, and the tags it has now: `added best; tags now a, best`,
/// `removed smoke; tags now all5`, `nothing changed; no tags now (it had no tag smoke)`.
fn tag_change(remove: bool, changed: &[&str], unchanged: &[&str], now: &[String]) -> String {
    let done = match (changed.is_empty(), remove) {
        (true, _) => "nothing changed".to_string(),
        (false, true) => format!("removed {}", changed.join(", ")),
        (false, false) => format!("added {}", changed.join(", ")),
    };
    let now = if now.is_empty() {
        "no tags now".to_string()
    } else {
        format!("tags now {}", now.join(", "))
    };
    let aside = match (unchanged.is_empty(), remove) {
        (true, _) => String::new(),
        (false, true) => format!(" (it had no tag {})", unchanged.join(", ")),
        (false, false) => format!(" (it had tag {} already)", unchanged.join(", ")),
    };
    format!("{done}; {now}{aside}")
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
        let moves: Vec<(PathBuf, PathBuf)> = missing
            .iter()
            .map(|(run, file)| {
                let from = file.parent().unwrap_or(Path::new("."));
                (tidy(from), tidy(&lab.brought_dir(*run)))
            })
            .collect();
        crate::say!(
            "note: the lab records checkpoints, not their weights: {} of the merged runs {} not \
             where the lab records {}; `eval` and `--resume` need them: copy each run's \
             checkpoint files from where it trained into its own folder here, where they are \
             found by name and sha256 ({})",
            crate::format::count(missing.len() as u64, "checkpoint file", "checkpoint files"),
            if missing.len() == 1 { "is" } else { "are" },
            if missing.len() == 1 { "it" } else { "them" },
            moves_said(&moves),
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

/// `path` without its `.` components, as a message shows it: `checkpoints/run-1` for the
/// `./checkpoints/run-1` a lab in `.` resolves.
fn tidy(path: &Path) -> PathBuf {
    let tidied: PathBuf = path
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if tidied.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        tidied
    }
}

/// Each distinct `from → to` of `moves` (a run's folder as the lab records it, and its folder
/// here), in the order given: the first three and how many more.
fn moves_said(moves: &[(PathBuf, PathBuf)]) -> String {
    let mut distinct: Vec<&(PathBuf, PathBuf)> = Vec::new();
    for m in moves {
        if !distinct.contains(&m) {
            distinct.push(m);
        }
    }
    let shown: Vec<String> = distinct
        .iter()
        .take(3)
        .map(|(from, to)| format!("{} → {}", from.display(), to.display()))
        .collect();
    match distinct.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only `y` or `yes` deletes: Enter, `n`, anything else and the end of the input do not.
    #[test]
    fn a_deletion_is_confirmed_by_y_alone() -> Result<()> {
        let ask = |input: &str| -> Result<(bool, String)> {
            let mut said = Vec::new();
            let yes = confirmed("delete 2 runs?", &mut input.as_bytes(), &mut said)?;
            Ok((yes, String::from_utf8(said)?))
        };
        assert_eq!(ask("y\n")?, (true, "delete 2 runs? [y/N] ".to_string()));
        for yes in ["Y\n", " yes \n", "YES"] {
            assert!(ask(yes)?.0, "{yes:?}");
        }
        for no in ["\n", "n\n", "no\n", "yy\n", "", "delete\n"] {
            assert!(!ask(no)?.0, "{no:?}");
        }
        Ok(())
    }

    /// A removal says what it removed and what remains: `tags all5` alone read as if it added.
    #[test]
    fn a_tag_change_says_what_changed_and_what_remains() {
        let all5 = ["all5".to_string()];
        assert_eq!(
            tag_change(true, &["smoke"], &[], &all5),
            "removed smoke; tags now all5"
        );
        assert_eq!(
            tag_change(false, &["best"], &["all5"], &["all5".into(), "best".into()]),
            "added best; tags now all5, best (it had tag all5 already)"
        );
        assert_eq!(
            tag_change(true, &[], &["smoke"], &[]),
            "nothing changed; no tags now (it had no tag smoke)"
        );
    }

    /// Each run's folder is paired with its own folder here, once, without `./`: two sorted
    /// lists side by side did not correspond.
    #[test]
    fn moves_pair_each_folder_with_its_own_once_and_at_most_three() {
        let pair = |run: u32| {
            (
                tidy(&Path::new(".").join(format!("./checkpoints/run-{run}"))),
                tidy(Path::new(&format!("./checkpoints/gpu-run-{}", run + 9))),
            )
        };
        let two = [pair(1), pair(1), pair(10)];
        assert_eq!(
            moves_said(&two),
            "checkpoints/run-1 → checkpoints/gpu-run-10, \
             checkpoints/run-10 → checkpoints/gpu-run-19"
        );
        let five: Vec<_> = (1..=5).map(pair).collect();
        assert_eq!(
            moves_said(&five),
            "checkpoints/run-1 → checkpoints/gpu-run-10, \
             checkpoints/run-2 → checkpoints/gpu-run-11, \
             checkpoints/run-3 → checkpoints/gpu-run-12 and 2 more"
        );
        assert_eq!(tidy(Path::new("./.")), Path::new("."));
        assert_eq!(tidy(Path::new("/a/./b")), Path::new("/a/b"));
    }
}
