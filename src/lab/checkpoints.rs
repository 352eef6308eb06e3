//! Checkpoints registered with their run: where the file is and the sha256 of its bytes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::{now, Lab, Run, RunId};

#[derive(Clone, Debug, PartialEq)]
pub struct NewCheckpoint {
    pub run: RunId,
    pub iteration: i64,
    pub epoch: i64,
    /// Why it was written: "periodic", "best", "final", "interrupt" or "auto".
    pub kind: String,
    pub path: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: i64,
    pub run: RunId,
    pub iteration: i64,
    pub epoch: i64,
    pub kind: String,
    pub path: String,
    pub sha256: String,
    pub created_at: f64,
}

/// The run whose checkpoint has the file `sha256`, if any: where weights read from that file
/// came from. Runs repeat exactly, so two runs' checkpoints can share a hash: the one recorded
/// at `path` (relative to the lab, as checkpoints are) is taken first, then the oldest.
pub(super) fn run_with_sha256(
    conn: &Connection,
    sha256: &str,
    path: Option<&str>,
) -> rusqlite::Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT run_id FROM checkpoints WHERE sha256 = ?1
         ORDER BY path IS NOT ?2, id LIMIT 1",
        rusqlite::params![sha256, path],
        |r| r.get(0),
    )
    .optional()
}

/// The columns [`from_row`] reads, before a `WHERE`.
pub(super) const SELECT: &str =
    "SELECT id, run_id, iteration, epoch, kind, path, sha256, created_at FROM checkpoints";

/// A row of [`SELECT`].
pub(super) fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        id: r.get(0)?,
        run: RunId(r.get(1)?),
        iteration: r.get(2)?,
        epoch: r.get(3)?,
        kind: r.get(4)?,
        path: r.get(5)?,
        sha256: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Links each evaluation of `run` that lost its checkpoint's row to a checkpoint of the run
/// with the same iteration and bytes, where there is one (the newest).
pub(super) fn relink_lost(conn: &rusqlite::Connection, run: i64) -> Result<()> {
    conn.execute(
        "UPDATE evaluations SET checkpoint_id = (
             SELECT c.id FROM checkpoints c
              WHERE c.run_id = evaluations.run_id
                AND c.iteration = evaluations.checkpoint_iteration
                AND c.sha256 = evaluations.checkpoint_sha256
              ORDER BY c.id DESC LIMIT 1)
         WHERE run_id = ?1 AND checkpoint_id IS NULL AND checkpoint_sha256 IS NOT NULL",
        [run],
    )?;
    Ok(())
}

/// Records checkpoint `c`, and links to it the run's evaluations that lost their checkpoint's
/// row but measured these very weights (a resume replays a run, writing again what it wrote).
fn insert(conn: &rusqlite::Connection, c: &NewCheckpoint) -> Result<i64> {
    conn.execute(
        "INSERT INTO checkpoints (run_id, iteration, epoch, kind, path, sha256, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            c.run.0,
            c.iteration,
            c.epoch,
            c.kind,
            c.path,
            c.sha256,
            now()
        ],
    )?;
    let id = conn.last_insert_rowid();
    relink_lost(conn, c.run.0)?;
    Ok(id)
}

impl Lab {
    /// Where checkpoint `ck`'s file should be on this machine, when it is not there (a lab
    /// copied or merged without its checkpoints). An unreadable folder counts as present.
    pub fn missing_checkpoint(&self, ck: &Checkpoint) -> Option<PathBuf> {
        self.find_checkpoint(ck).err()
    }

    /// Where checkpoint `ck`'s file is: where the lab records it (an unreadable folder counts
    /// as present), else brought into the run's own folder here ([`Lab::brought_dir`]); the
    /// recorded place when it is in neither. Where another run's checkpoint of other contents
    /// is recorded at the same path (a lab merged from one beside this, its folders named
    /// alike), the file there is `ck`'s only if its sha256 says so.
    pub(super) fn find_checkpoint(&self, ck: &Checkpoint) -> std::result::Result<PathBuf, PathBuf> {
        let recorded = self.resolve(&ck.path);
        if recorded.try_exists().unwrap_or(true) && self.is_at_recorded_path(ck, &recorded) {
            return Ok(recorded);
        }
        self.brought_beside(ck).ok_or(recorded)
    }

    /// Whether the file at `recorded`, which exists, is `ck`'s: it is, unless another run's
    /// checkpoint with another sha256 is recorded at that path too, and then only when its
    /// sha256 is `ck`'s (a file that cannot be read counts as `ck`'s).
    fn is_at_recorded_path(&self, ck: &Checkpoint, recorded: &Path) -> bool {
        let shared = self
            .conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM checkpoints
                                 WHERE path = ?1 AND run_id != ?2 AND sha256 != ?3)",
                params![ck.path, ck.run.0, ck.sha256],
                |r| r.get::<_, bool>(0),
            )
            .unwrap_or(false);
        !shared
            || crate::data::hash::sha256_file(recorded)
                .map_or(true, |h| h.eq_ignore_ascii_case(&ck.sha256))
    }

    /// The checkpoints folder beside this lab.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.dir().join("checkpoints")
    }

    /// The name of a run's own checkpoint folder in [`Lab::checkpoints_dir`]: `run-N` for a
    /// lab file whose stem is `lab` (`lab.db`), `<stem>-run-N` for any other, so that two labs
    /// in one folder keep apart.
    pub fn run_folder_name(&self, run: RunId) -> String {
        match self.path().file_stem().and_then(|s| s.to_str()) {
            Some(stem) if stem != "lab" => format!("{stem}-run-{run}"),
            _ => format!("run-{run}"),
        }
    }

    /// Whether `dir` is one of run `run`'s own checkpoint folders, which this lab made for it
    /// and whose files are its to write and delete: [`Lab::run_folder_name`] in
    /// [`Lab::checkpoints_dir`], or that name with `-2`, `-3`… (taken where the name was). A
    /// folder another lab's checkpoints came in is not.
    pub fn is_own_checkpoint_folder(&self, run: RunId, dir: &Path) -> bool {
        let name = self.run_folder_name(run);
        let own_name = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            n == name
                || n.strip_prefix(&name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        });
        own_name && dir.parent() == Some(self.checkpoints_dir().as_path())
    }

    /// Where the files of a run whose checkpoints are not where the lab records them (a run
    /// merged from a lab on another machine) can be brought: the run's own folder here.
    pub fn brought_dir(&self, run: RunId) -> PathBuf {
        self.checkpoints_dir().join(self.run_folder_name(run))
    }

    /// Checkpoint `ck`'s file found in [`Lab::brought_dir`] under its recorded file name, and
    /// with its recorded sha256: a file of that name left there by anything else is not it.
    fn brought_beside(&self, ck: &Checkpoint) -> Option<PathBuf> {
        let name = Path::new(&ck.path).file_name()?;
        let path = self.brought_dir(ck.run).join(name);
        let same = path.is_file()
            && crate::data::hash::sha256_file(&path)
                .is_ok_and(|h| h.eq_ignore_ascii_case(&ck.sha256));
        same.then_some(path)
    }

    /// Where checkpoint `ck` of `run` is on this machine: where the lab records it, or brought
    /// into the run's own folder here ([`Lab::brought_dir`]); a clear error naming the folder to
    /// bring over when its file is in neither (a lab copied without its checkpoints).
    pub fn checkpoint_file(&self, run: &Run, ck: &Checkpoint) -> Result<PathBuf> {
        let path = match self.find_checkpoint(ck) {
            Ok(found) => return Ok(found),
            Err(recorded) => recorded,
        };
        let folder = path.parent().unwrap_or(Path::new("."));
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        let recorded = if Path::new(&ck.path).is_relative() {
            let lab_dir = std::path::absolute(self.dir()).unwrap_or_else(|_| self.dir());
            format!(
                "'{}', relative to the lab's folder {}",
                ck.path,
                lab_dir.display()
            )
        } else {
            format!("'{}'", ck.path)
        };
        // Where the folder is on that host is not known here (a merge rewrites the paths to
        // name them from this lab), so only where it belongs is named.
        let beside = std::path::absolute(self.brought_dir(run.id))
            .unwrap_or_else(|_| self.brought_dir(run.id));
        let or_beside = if folder == beside {
            String::new()
        } else {
            format!(", or its files into {}", beside.display())
        };
        let state = if path.is_file() {
            "the file there is another run's (a checkpoint of another run is recorded at that \
             path)"
        } else {
            "that file is missing"
        };
        bail!(
            "run {}'s {} checkpoint (iteration {}, epoch {}) is recorded as {recorded}, and \
             {state}. The lab keeps checkpoints' sha256, not their weights: copy \
             run {}'s checkpoint folder from host '{}', where it trained, to {} here{or_beside}",
            run.id,
            ck.kind,
            ck.iteration,
            ck.epoch,
            run.id,
            run.hostname,
            folder.display()
        );
    }

    /// Records checkpoint `c` (and the relinking [`insert`] does) in one transaction: a busy
    /// lab leaves neither half, so a try again adds no second row.
    pub fn add_checkpoint(&self, c: &NewCheckpoint) -> Result<i64> {
        let tx = self.write_tx()?;
        let id = insert(&tx, c)?;
        tx.commit()?;
        Ok(id)
    }

    /// A run's checkpoints in the order they were written.
    pub fn checkpoints(&self, run: RunId) -> Result<Vec<Checkpoint>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SELECT} WHERE run_id = ?1 ORDER BY iteration, id"
        ))?;
        let rows = stmt
            .query_map([run.0], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

impl Lab {
    /// Registers `c` in place of the run's checkpoints of the same kind (the previous "best",
    /// when a better one comes), in one transaction. Evaluations of a replaced row with the
    /// same step and bytes (a final written again by a resume) are linked to the new one
    /// ([`insert`]).
    /// Returns the recorded paths of the files that no checkpoint names any more, for the
    /// caller to delete once the lab no longer points at them.
    pub fn replace_checkpoints(&self, c: &NewCheckpoint) -> Result<(i64, Vec<String>)> {
        let tx = self.write_tx()?;
        let old = paths(
            &tx,
            &format!("SELECT path FROM checkpoints WHERE run_id = ?1 AND kind = ?2 AND {UNPINNED}"),
            params![c.run.0, c.kind],
        )?;
        tx.execute(
            "DELETE FROM checkpoints WHERE run_id = ?1 AND kind = ?2",
            params![c.run.0, c.kind],
        )?;
        let id = insert(&tx, c)?;
        let mut old = old;
        if c.kind == "final" {
            old.extend(drop_autos_before(&tx, c, id)?);
        }
        let orphans = unreferenced(&tx, old)?;
        tx.commit()?;
        Ok((id, orphans))
    }
}

/// Forgets the run's automatic checkpoints ("auto") up to `c`'s step but `c` itself (row `id`),
/// which `c` makes needless, and returns their paths. One another run started from stays.
fn drop_autos_before(conn: &Connection, c: &NewCheckpoint, id: i64) -> Result<Vec<String>> {
    let autos = format!(
        "FROM checkpoints WHERE run_id = ?1 AND kind = 'auto' AND iteration <= ?2 AND id != ?3
         AND {UNPINNED}"
    );
    let p = params![c.run.0, c.iteration, id];
    let old = paths(conn, &format!("SELECT path {autos}"), p)?;
    conn.execute(&format!("DELETE {autos}"), p)?;
    Ok(old)
}

impl Lab {
    /// Records checkpoint `c`, a periodic, stop or automatic one, and forgets all but the
    /// newest `keep` of the run's checkpoints of those kinds (`--keep-checkpoints`; `None` keeps
    /// them all) and, whatever `keep`, the automatic ones it comes after, in one transaction: a
    /// busy lab leaves neither half, so a try again adds no second row. A checkpoint another run
    /// started from (`--init`, by its sha256) stays: that run's `--like` and resume read it
    /// again.
    /// Returns the recorded paths of the files that no checkpoint names any more, for the
    /// caller to delete.
    pub fn add_checkpoint_keeping(
        &self,
        c: &NewCheckpoint,
        keep: Option<usize>,
    ) -> Result<Vec<String>> {
        let older = format!(
            "FROM checkpoints WHERE run_id = ?1
             AND kind IN ('periodic', 'interrupt', 'auto')
             AND {UNPINNED}
             AND id NOT IN (
                 SELECT id FROM checkpoints WHERE run_id = ?1
                 AND kind IN ('periodic', 'interrupt', 'auto')
                 ORDER BY iteration DESC, id DESC LIMIT ?2)"
        );
        let tx = self.write_tx()?;
        let id = insert(&tx, c)?;
        let mut old = drop_autos_before(&tx, c, id)?;
        if let Some(keep) = keep {
            let p = params![c.run.0, keep as i64];
            old.extend(paths(&tx, &format!("SELECT path {older}"), p)?);
            tx.execute(&format!("DELETE {older}"), p)?;
        }
        let orphans = unreferenced(&tx, old)?;
        tx.commit()?;
        Ok(orphans)
    }
}

impl Lab {
    /// Whether a run of this lab started from the file of this sha256 (`--init`).
    pub fn started_from(&self, sha256: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE init_sha256 = ?1)",
            [sha256],
            |r| r.get(0),
        )?)
    }
}

/// Forgets the checkpoints a run wrote after `iteration` (a resumed run replays those steps;
/// [`Lab::rewind`]). Returns the recorded paths of the files that no checkpoint names any more.
pub(super) fn truncate_after(conn: &Connection, run: RunId, iteration: i64) -> Result<Vec<String>> {
    let old = paths(
        conn,
        &format!(
            "SELECT path FROM checkpoints WHERE run_id = ?1 AND iteration > ?2 AND {UNPINNED}"
        ),
        params![run.0, iteration],
    )?;
    conn.execute(
        "DELETE FROM checkpoints WHERE run_id = ?1 AND iteration > ?2",
        params![run.0, iteration],
    )?;
    unreferenced(conn, old)
}

impl Lab {
    /// Deletes checkpoint files the lab gave up (recorded paths, as [`Lab::replace_checkpoints`]
    /// returns them) that lie in the run's checkpoint folder `dir`. Others stay: a run merged
    /// from another lab names that lab's files, which are not this lab's to delete. A file
    /// already gone is fine.
    pub fn delete_checkpoint_files(&self, recorded: &[String], dir: &Path) -> Result<()> {
        let dir = self.resolve(&self.relative(dir));
        for p in recorded {
            let path = self.resolve(p);
            if path.parent() != Some(dir.as_path()) {
                continue;
            }
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| {
                        format!("deleting the replaced checkpoint '{}'", path.display())
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A checkpoint row no run started from (`--init`, matched by sha256): its file may go when the
/// row does. The file of one another run started from stays on disk whatever becomes of its
/// row (a better best replacing it, a resume replaying the steps past it, pruning): that run's
/// `--like` and resume read it again, by the path and sha256 it recorded.
const UNPINNED: &str = "sha256 NOT IN (SELECT init_sha256 FROM runs WHERE init_sha256 IS NOT NULL)";

fn paths<P: rusqlite::Params>(conn: &Connection, sql: &str, p: P) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Those of `paths` no checkpoint row names (runs recorded before best checkpoints had one file
/// per iteration wrote every best to the same file).
fn unreferenced(conn: &Connection, mut paths: Vec<String>) -> Result<Vec<String>> {
    paths.sort();
    paths.dedup();
    let mut stmt = conn.prepare_cached("SELECT count(*) FROM checkpoints WHERE path = ?1")?;
    let mut out = Vec::new();
    for p in paths {
        if stmt.query_row([&p], |r| r.get::<_, i64>(0))? == 0 {
            out.push(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{checkpoint_kinds, sample_run};

    #[test]
    fn checkpoints_are_listed_in_iteration_order() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        for (it, kind) in [(40, "final"), (20, "periodic")] {
            lab.add_checkpoint(&NewCheckpoint {
                run: id,
                iteration: it,
                epoch: it / 10,
                kind: kind.into(),
                path: format!("ck/{it}.safetensors"),
                sha256: "ab".repeat(32),
            })?;
        }
        let cks = lab.checkpoints(id)?;
        assert_eq!(
            cks.iter()
                .map(|c| (c.iteration, c.kind.as_str()))
                .collect::<Vec<_>>(),
            vec![(20, "periodic"), (40, "final")]
        );
        let bad = NewCheckpoint {
            run: RunId(77),
            iteration: 1,
            epoch: 1,
            kind: "final".into(),
            path: "x".into(),
            sha256: "y".into(),
        };
        assert!(
            lab.add_checkpoint(&bad).is_err(),
            "foreign key to runs is enforced"
        );
        Ok(())
    }

    /// Run `run`'s checkpoint of `kind` at step `it`, in `KIND-IT.safetensors`, whose sha256
    /// is `it`'s digits.
    fn checkpoint(run: RunId, it: i64, kind: &str) -> NewCheckpoint {
        NewCheckpoint {
            run,
            iteration: it,
            epoch: it / 10,
            kind: kind.into(),
            path: format!("{kind}-{it}.safetensors"),
            sha256: format!("{it:064}"),
        }
    }

    #[test]
    fn best_is_replaced_and_resume_forgets_later_checkpoints() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let ck = |it: i64, kind: &str| checkpoint(id, it, kind);
        lab.add_checkpoint(&ck(10, "periodic"))?;
        assert_eq!(
            lab.replace_checkpoints(&ck(10, "best"))?.1,
            Vec::<String>::new()
        );
        // The file of the best it replaces is named by no checkpoint any more.
        assert_eq!(
            lab.replace_checkpoints(&ck(30, "best"))?.1,
            ["best-10.safetensors"]
        );
        lab.add_checkpoint(&ck(40, "interrupt"))?;
        assert_eq!(
            checkpoint_kinds(&lab, id)?,
            vec![
                (10, "periodic".into()),
                (30, "best".into()),
                (40, "interrupt".into())
            ]
        );
        assert_eq!(
            lab.rewind(id, 20)?,
            ["best-30.safetensors", "interrupt-40.safetensors"]
        );
        assert_eq!(checkpoint_kinds(&lab, id)?, vec![(10, "periodic".into())]);
        Ok(())
    }

    /// The file of a checkpoint another run started from (`--init`) stays on disk when its row
    /// goes: replaced by a better best, or dropped by a resume that replays the steps past it.
    #[test]
    fn a_checkpoint_another_run_started_from_keeps_its_file() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let ck = |it: i64, kind: &str| checkpoint(id, it, kind);
        let started_from = |it: i64| -> Result<()> {
            let mut child = sample_run(&format!("from-{it}"));
            child.hyper.init_sha256 = Some(format!("{it:064}"));
            lab.create_run(&child)?;
            Ok(())
        };
        lab.replace_checkpoints(&ck(10, "best"))?;
        started_from(10)?;
        let (_, gone) = lab.replace_checkpoints(&ck(20, "best"))?;
        assert!(gone.is_empty(), "best-10 is another run's start: {gone:?}");
        let (_, gone) = lab.replace_checkpoints(&ck(30, "best"))?;
        assert_eq!(gone, ["best-20.safetensors"], "no run started from best-20");
        lab.add_checkpoint(&ck(40, "periodic"))?;
        started_from(40)?;
        lab.add_checkpoint(&ck(50, "interrupt"))?;
        // A resume from step 25 drops every row past it, and the files of all but periodic-40.
        assert_eq!(
            lab.rewind(id, 25)?,
            ["best-30.safetensors", "interrupt-50.safetensors"]
        );
        assert!(lab.checkpoints(id)?.is_empty());
        assert!(lab.started_from(&format!("{:064}", 40))?);
        assert!(!lab.started_from(&format!("{:064}", 30))?);
        Ok(())
    }

    #[test]
    fn a_final_written_again_keeps_its_evaluations_and_a_new_best_does_not() -> Result<()> {
        use crate::lab::{EvalMetric, NewEvaluation, Protocol};
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let ck = |it: i64, kind: &str, sha: &str| NewCheckpoint {
            run: id,
            iteration: it,
            epoch: it / 10,
            kind: kind.into(),
            path: format!("{kind}-{it}.safetensors"),
            sha256: sha.into(),
        };
        let evaluate = |ck: i64| {
            lab.add_evaluation(&NewEvaluation {
                run: id,
                checkpoint_id: Some(ck),
                checkpoint_iteration: None,
                checkpoint_sha256: None,
                protocol: Protocol::TestSplit,
                data_source: "synthetic".into(),
                options: serde_json::json!({}),
                code: crate::lab::CodeVersion::current(),
                ran_on: crate::lab::RanOn::here("cpu"),
                metrics: vec![EvalMetric::new("top1", 0.5)],
            })
        };
        let linked = || -> Result<Vec<Option<i64>>> {
            Ok(lab
                .evaluations(id)?
                .iter()
                .map(|e| e.checkpoint_id)
                .collect())
        };
        let (best, _) = lab.replace_checkpoints(&ck(10, "best", "aa"))?;
        let (first, _) = lab.replace_checkpoints(&ck(20, "final", "bb"))?;
        evaluate(best)?;
        evaluate(first)?;
        // A resume of the run that ended without being closed writes the same final again.
        let (again, gone) = lab.replace_checkpoints(&ck(20, "final", "bb"))?;
        assert!(gone.is_empty(), "the file is named again: {gone:?}");
        assert_eq!(linked()?, [Some(best), Some(again)]);
        // A better best holds other weights: its predecessor's evaluation keeps only its step.
        lab.replace_checkpoints(&ck(10, "best", "cc"))?;
        assert_eq!(linked()?, [None, Some(again)]);
        Ok(())
    }

    #[test]
    fn a_file_still_named_by_a_checkpoint_is_not_given_up() -> Result<()> {
        // Runs recorded before best checkpoints had one file per iteration: every best was
        // written to one file, which the replacing row names again.
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let ck = |it: i64| NewCheckpoint {
            run: id,
            iteration: it,
            epoch: it / 10,
            kind: "best".into(),
            path: "best.safetensors".into(),
            sha256: format!("{it:064}"),
        };
        lab.replace_checkpoints(&ck(10))?;
        assert_eq!(lab.replace_checkpoints(&ck(20))?.1, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn after_a_resume_the_best_columns_describe_the_best_checkpoint() -> Result<()> {
        use crate::lab::{metric, MetricPoint, RunSummaryUpdate};
        use anyhow::Context;
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        // One evaluation per 10 steps, recorded as the recorder records them.
        let eval = |it: i64, acc: f64| {
            let point = MetricPoint::new(it, it / 10, metric::DEV_ACC, acc);
            let summary = RunSummaryUpdate {
                evaluation: Some((0.0, acc, it / 10)),
                ..RunSummaryUpdate::default()
            };
            lab.record(id, &[point], &summary)
        };
        let ck = |it: i64, kind: &str| NewCheckpoint {
            run: id,
            iteration: it,
            epoch: it / 10,
            kind: kind.into(),
            path: format!("{kind}.safetensors"),
            sha256: format!("{it:064}"),
        };
        let resume_from = |it: i64| -> Result<()> { lab.rewind(id, it).map(drop) };
        let best = || -> Result<(Option<f64>, Option<i64>)> {
            let r = lab.run(id)?.context("run")?;
            Ok((r.best_dev_acc, r.best_dev_epoch))
        };
        // Epoch 1 is a best, epoch 2 is not but leaves a periodic checkpoint, epoch 3 is a
        // better best (its weights replace epoch 1's in the file); then the process dies.
        eval(10, 0.6)?;
        lab.replace_checkpoints(&ck(10, "best"))?;
        eval(20, 0.55)?;
        lab.add_checkpoint(&ck(20, "periodic"))?;
        eval(30, 0.7)?;
        lab.replace_checkpoints(&ck(30, "best"))?;
        assert_eq!(best()?, (Some(0.7), Some(3)));

        // Resumed from step 20: epoch 1's 0.6 is on record, but no file holds its weights.
        resume_from(20)?;
        assert_eq!(best()?, (None, None));
        // The replay's epoch 3 is worse than epoch 1, and still the best there is.
        eval(30, 0.5)?;
        lab.replace_checkpoints(&ck(30, "best"))?;
        eval(40, 0.45)?;
        lab.add_checkpoint(&ck(40, "periodic"))?;
        assert_eq!(best()?, (Some(0.5), Some(3)));

        // Resumed again from step 40: the best checkpoint survives, and so does its summary.
        resume_from(40)?;
        assert_eq!(best()?, (Some(0.5), Some(3)));
        Ok(())
    }

    /// Run `run`'s checkpoint of `kind` at step `it`: its file named so, its sha256 the step's.
    fn ck(run: RunId, it: i64, kind: &str) -> NewCheckpoint {
        NewCheckpoint {
            run,
            iteration: it,
            epoch: it / 10,
            kind: kind.into(),
            path: format!("{run}-{kind}-{it}.safetensors"),
            sha256: format!("{it:064}"),
        }
    }

    #[test]
    fn only_the_newest_resumable_checkpoints_are_kept() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let other = lab.create_run(&sample_run("o"))?;
        for (it, kind) in [
            (10, "periodic"),
            (15, "interrupt"),
            (20, "best"),
            (20, "periodic"),
            (40, "final"),
        ] {
            lab.add_checkpoint(&ck(id, it, kind))?;
        }
        lab.add_checkpoint(&ck(other, 10, "periodic"))?;

        let gone = lab.add_checkpoint_keeping(&ck(id, 30, "periodic"), Some(2))?;
        assert_eq!(
            gone,
            ["1-interrupt-15.safetensors", "1-periodic-10.safetensors"]
        );
        assert_eq!(
            checkpoint_kinds(&lab, id)?,
            [
                (20, "best".into()),
                (20, "periodic".into()),
                (30, "periodic".into()),
                (40, "final".into())
            ]
        );
        assert_eq!(
            checkpoint_kinds(&lab, other)?,
            [(10, "periodic".into())],
            "another run's stay"
        );
        // The newest are kept by iteration, whatever order they came in.
        let gone = lab.add_checkpoint_keeping(&ck(id, 25, "interrupt"), Some(2))?;
        assert_eq!(gone, ["1-periodic-20.safetensors"]);
        let gone = lab.add_checkpoint_keeping(&ck(id, 50, "periodic"), None)?;
        assert!(gone.is_empty(), "None keeps them all");
        assert_eq!(lab.checkpoints(id)?.len(), 5);
        // A checkpoint another run started from stays.
        let mut child = sample_run("child");
        child.hyper.init_sha256 = Some(format!("{:064}", 25));
        lab.create_run(&child)?;
        let gone = lab.add_checkpoint_keeping(&ck(id, 60, "periodic"), Some(1))?;
        assert_eq!(
            gone,
            ["1-periodic-30.safetensors", "1-periodic-50.safetensors"]
        );
        let resumable: Vec<i64> = lab
            .checkpoints(id)?
            .iter()
            .filter(|c| c.kind == "periodic" || c.kind == "interrupt")
            .map(|c| c.iteration)
            .collect();
        assert_eq!(resumable, [25, 60]);
        Ok(())
    }

    /// An automatic checkpoint lasts until the next checkpoint a resume could start from (one
    /// of any kind but a best), whatever --keep-checkpoints says, and counts among those that
    /// it keeps; one another run started from stays.
    #[test]
    fn an_automatic_checkpoint_lasts_until_the_next_to_resume_from() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let other = lab.create_run(&sample_run("o"))?;
        lab.add_checkpoint_keeping(&ck(other, 5, "auto"), None)?;
        lab.add_checkpoint_keeping(&ck(id, 5, "interrupt"), None)?;
        assert!(lab
            .add_checkpoint_keeping(&ck(id, 10, "auto"), None)?
            .is_empty());
        let gone = lab.add_checkpoint_keeping(&ck(id, 20, "auto"), None)?;
        assert_eq!(gone, ["1-auto-10.safetensors"]);
        // A best leaves it; a periodic or stop one takes its place, the older ones kept.
        lab.replace_checkpoints(&ck(id, 25, "best"))?;
        let gone = lab.add_checkpoint_keeping(&ck(id, 30, "periodic"), None)?;
        assert_eq!(gone, ["1-auto-20.safetensors"]);
        assert_eq!(
            checkpoint_kinds(&lab, id)?,
            [
                (5, "interrupt".into()),
                (25, "best".into()),
                (30, "periodic".into())
            ]
        );
        // Kept as one of the newest N, and gone with the final.
        lab.add_checkpoint_keeping(&ck(id, 40, "auto"), None)?;
        let gone = lab.add_checkpoint_keeping(&ck(id, 50, "auto"), Some(2))?;
        assert_eq!(gone, ["1-auto-40.safetensors", "1-interrupt-5.safetensors"]);
        let mut child = sample_run("child");
        child.hyper.init_sha256 = Some(ck(id, 50, "auto").sha256);
        lab.create_run(&child)?;
        lab.add_checkpoint_keeping(&ck(id, 55, "auto"), None)?;
        let (_, gone) = lab.replace_checkpoints(&ck(id, 60, "final"))?;
        assert_eq!(gone, ["1-auto-55.safetensors"]);
        assert_eq!(
            checkpoint_kinds(&lab, id)?,
            [
                (25, "best".into()),
                (30, "periodic".into()),
                (50, "auto".into()),
                (60, "final".into())
            ],
            "the one started from stays"
        );
        assert_eq!(
            checkpoint_kinds(&lab, other)?,
            [(5, "auto".into())],
            "another run's stay"
        );
        Ok(())
    }

    #[test]
    fn only_files_in_the_runs_folder_are_deleted() -> Result<()> {
        let root = tempfile::tempdir()?;
        std::fs::create_dir(root.path().join("lab"))?;
        let lab = Lab::open(&root.path().join("lab/lab.db"))?;
        let run_dir = root.path().join("lab/checkpoints/run-1");
        let elsewhere = root.path().join("other/checkpoints/run-4");
        for d in [&run_dir, &elsewhere] {
            std::fs::create_dir_all(d)?;
            std::fs::write(d.join("best-10.safetensors"), "w")?;
        }
        // As recorded: relative to the lab's folder, or, for a merged run's files, another lab's.
        let recorded = [
            "checkpoints/run-1/best-10.safetensors".to_string(),
            "checkpoints/run-1/gone.safetensors".to_string(),
            "../other/checkpoints/run-4/best-10.safetensors".to_string(),
        ];
        lab.delete_checkpoint_files(&recorded, &run_dir)?;
        assert!(!run_dir.join("best-10.safetensors").exists());
        assert!(
            elsewhere.join("best-10.safetensors").exists(),
            "not this run's file"
        );
        Ok(())
    }

    /// A checkpoint recorded by absolute path (one written outside the lab's folder) is named
    /// as recorded, with the folder to bring back.
    #[test]
    fn a_missing_checkpoint_by_absolute_path_names_its_folder() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let id = lab.create_run(&crate::lab::fixtures::new_run("r"))?;
        let elsewhere = dir.path().join("elsewhere/run-1/best.safetensors");
        lab.add_checkpoint(&NewCheckpoint {
            run: id,
            iteration: 40,
            epoch: 2,
            kind: "best".into(),
            path: elsewhere.to_string_lossy().into_owned(),
            sha256: "0".repeat(64),
        })?;
        let run = lab.run(id)?.expect("run");
        let ck = &lab.checkpoints(id)?[0];
        let err = lab.checkpoint_file(&run, ck).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "run 1's best checkpoint (iteration 40, epoch 2) is recorded as '{}', and that \
                 file is missing",
                elsewhere.display()
            )) && !err.contains("relative to")
                && err.contains(&format!(
                    "copy run 1's checkpoint folder from host 'testhost', where it trained, to {} \
                     here",
                    elsewhere.parent().unwrap().display()
                ))
                && err.contains(&format!(
                    ", or its files into {}",
                    dir.path().join("checkpoints/run-1").display()
                )),
            "{err}"
        );
        // Brought into the run's own folder here, the file is found there; another file of
        // that name (another lab's run 1 had the same folder name) is not taken for it.
        let brought = dir.path().join("checkpoints/run-1/best.safetensors");
        std::fs::create_dir_all(brought.parent().unwrap())?;
        std::fs::write(&brought, b"another run's weights")?;
        assert!(lab.missing_checkpoint(ck).is_some());
        assert!(lab.checkpoint_file(&run, ck).is_err());
        std::fs::write(&brought, b"weights")?;
        lab.conn().execute(
            "UPDATE checkpoints SET sha256 = ?1",
            [crate::data::hash::sha256_hex(b"weights")],
        )?;
        let ck = &lab.checkpoints(id)?[0];
        assert_eq!(lab.missing_checkpoint(ck), None);
        assert_eq!(lab.checkpoint_file(&run, ck)?, brought);
        Ok(())
    }

    /// Two labs in one folder whose runs' folders are named alike, one merged into the other:
    /// a merged run's checkpoint recorded at the path of a run here is not taken for the file
    /// there, which is the run here's, but found where it was brought.
    #[test]
    fn a_checkpoint_recorded_at_another_runs_path_is_told_apart_by_its_sha256() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let (here, merged) = (
            lab.create_run(&crate::lab::fixtures::new_run("here"))?,
            lab.create_run(&crate::lab::fixtures::new_run("merged"))?,
        );
        let path = "checkpoints/shared/best.safetensors";
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap())?;
        std::fs::write(&file, b"the weights of the run here")?;
        for (run, bytes) in [
            (here, &b"the weights of the run here"[..]),
            (merged, b"the merged run's weights"),
        ] {
            lab.add_checkpoint(&NewCheckpoint {
                run,
                iteration: 40,
                epoch: 2,
                kind: "best".into(),
                path: path.into(),
                sha256: crate::data::hash::sha256_hex(bytes),
            })?;
        }
        let (run_here, run_merged) = (lab.run(here)?.expect("run"), lab.run(merged)?.expect("run"));
        let (ck_here, ck_merged) = (&lab.checkpoints(here)?[0], &lab.checkpoints(merged)?[0]);
        assert_eq!(lab.checkpoint_file(&run_here, ck_here)?, file);
        assert_eq!(lab.missing_checkpoint(ck_merged), Some(file.clone()));
        let err = lab.checkpoint_file(&run_merged, ck_merged).unwrap_err();
        assert!(
            err.to_string()
                .contains("and the file there is another run's"),
            "{err}"
        );
        let brought = lab.brought_dir(merged).join("best.safetensors");
        std::fs::create_dir_all(brought.parent().unwrap())?;
        std::fs::write(&brought, b"the merged run's weights")?;
        assert_eq!(lab.checkpoint_file(&run_merged, ck_merged)?, brought);
        assert_eq!(lab.checkpoint_file(&run_here, ck_here)?, file);
        Ok(())
    }
}
