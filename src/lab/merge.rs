//! Merging another lab into this one: runs trained on other machines come back as their own lab
//! files, and `facenet-lab lab merge OTHER.db` brings them home.
//!
//! Rows are copied column by column as SQLite values (both labs are at this build's schema
//! version, so their columns agree): every column arrives, including ones added by later
//! migrations, without this file listing them. Ids are new; dataset ids are remapped through
//! [`Lab::match_dataset`], which finds a dataset by its content, so the same images read
//! from another path (a GPU machine's copy of the folder, or the archive they came in) are this
//! lab's dataset, under this lab's source. The same images split by another rule refuse the
//! merge when a run there trained on them; a dataset no run there used is left out, and said.
//! Paths the other lab records relative to its directory (checkpoints, logs) are rewritten to
//! name the same files from this lab's directory.
//!
//! The other lab is read in one read transaction, so a trainer still writing there cannot make
//! the merge see half of a step; everything but the metric points is read before this lab's
//! write lock is taken.
//!
//! A run is recognised across labs by (created_at, hostname, name, config_json): created_at has
//! sub-millisecond resolution and is set once, when the run is registered, so merging the same
//! file twice adds nothing. A run already here is refreshed when the other lab's copy has gone
//! further (a later heartbeat), e.g. when a lab was merged mid-run and again at the end: its
//! columns, metrics, checkpoints and resumes become the other lab's, but the run its weights or
//! settings came from stays once it was found here, and evaluations made here follow their
//! checkpoint to its refreshed row. A run deleted here (`lab delete`) is left out, and said: its
//! tombstone keeps its created_at, hostname and name.
//! Two copies that parted (resumed in one lab and not the other) are not merged: this lab's
//! stays as it is, and the summary says so. That includes a lab copied while its run trained
//! and resumed there later, after the original trained on: each resume records the run's
//! heartbeat before it, so the copy's later heartbeat does not pass it off as the newer history.
//! Notes and tags are people's, not the trainer's: whatever became of the history, each run's
//! are merged edit by edit, the later of the two labs' winning ([`super::annotations`]), so a
//! tag removed here does not come back, and a note written there on a run that went no further
//! arrives.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use rusqlite::types::Value;
use rusqlite::{
    params, params_from_iter, Connection, OptionalExtension, Transaction, TransactionBehavior,
};

use super::annotations::Annotations;
use super::datasets::Match;
use super::{DatasetId, DatasetRecord, Lab, RunId};

/// What one merge did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergeSummary {
    /// (id in the other lab, id here, name) of each run added.
    pub added: Vec<(RunId, RunId, String)>,
    /// Runs already here that the other lab had further along, refreshed from it.
    pub updated: Vec<(RunId, RunId, String)>,
    /// Runs already here, identical or newer here.
    pub unchanged: usize,
    /// Runs already here whose notes or tags the other lab had written later.
    pub annotated: usize,
    /// (id there, id here, name) of runs whose two copies parted: one was resumed where the
    /// other was not, or one went back without a resume to say why. This lab's copy is kept
    /// as it is, and the other's history is not merged.
    pub parted: Vec<(RunId, RunId, String)>,
    /// (id there, id it had here, name) of runs deleted here (`lab delete`): left out, so that
    /// a deleted run does not come back with the next merge of a lab that still has it.
    pub deleted: Vec<(RunId, RunId, String)>,
    /// (id here, name, flag, id it had here) of runs added that started from (`--init`) or
    /// like (`--like`) a run deleted here: their lineage here ends with them, so that `eval
    /// --exclude-train-identities` cannot leave out the deleted run's training people.
    pub cut: Vec<(RunId, String, &'static str, RunId)>,
    pub datasets_added: usize,
    pub datasets_reused: usize,
    /// (id there, source there, why) of datasets no run there trained on that this lab holds
    /// split by another rule: left out, where a dataset a run there trained on refuses the merge.
    pub datasets_left_out: Vec<(i64, String, String)>,
    pub metrics: usize,
    pub checkpoints: usize,
    pub evaluations: usize,
    pub resumes: usize,
}

impl std::fmt::Display for MergeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (from, to, name) in &self.added {
            writeln!(f, "added run {to} '{name}' (run {from} there)")?;
        }
        for (from, to, name) in &self.updated {
            writeln!(f, "updated run {to} '{name}' from run {from} there")?;
        }
        for (from, to, name) in &self.parted {
            writeln!(
                f,
                "kept run {to} '{name}' as it is here: run {from} there is a copy of it that \
                 parted from it (each copy holds steps the other lacks), and its history and evaluations were not merged (its notes and tags were)"
            )?;
        }
        for (from, was, name) in &self.deleted {
            writeln!(
                f,
                "left out run {from} '{name}' there: it is run {was}, deleted from this lab"
            )?;
        }
        for (run, name, flag, was) in &self.cut {
            writeln!(
                f,
                "warning: run {run} '{name}' started from run {was} ({flag}), deleted from this \
                 lab: its lineage here ends with it, so `eval --exclude-train-identities` on it \
                 cannot leave out run {was}'s training people"
            )?;
        }
        for (id, source, why) in &self.datasets_left_out {
            writeln!(
                f,
                "left out dataset {id} ('{source}') there, which no run there trained on: {why}"
            )?;
        }
        if self.annotated > 0 {
            writeln!(
                f,
                "brought the notes or tags written there later of {}",
                crate::format::count(self.annotated as u64, "run", "runs")
            )?;
        }
        use crate::format::count;
        let n = |k: usize| k as u64;
        writeln!(
            f,
            "{} added, {} updated, {} already here; {} added, {} already here; \
             {}, {}, {} and {} copied",
            count(n(self.added.len()), "run", "runs"),
            self.updated.len(),
            self.unchanged,
            count(n(self.datasets_added), "dataset", "datasets"),
            self.datasets_reused,
            count(n(self.metrics), "metric point", "metric points"),
            count(n(self.checkpoints), "checkpoint", "checkpoints"),
            count(n(self.evaluations), "evaluation", "evaluations"),
            count(n(self.resumes), "resume", "resumes"),
        )
    }
}

/// One row as column name → value.
type Row = BTreeMap<String, Value>;

/// A dataset of the other lab, as read from its snapshot.
struct TheirDataset {
    id: i64,
    record: DatasetRecord,
    created_at: Value,
}

/// A run of the other lab with everything that hangs off it except its metric points, which are
/// read (from the same snapshot) only when they are copied.
struct TheirRun {
    id: i64,
    name: String,
    /// Every column but `id`.
    row: Row,
    annotations: Annotations,
    checkpoints: Vec<Row>,
    /// Each with its metrics.
    evaluations: Vec<(Row, Vec<Row>)>,
    resumes: Vec<Row>,
}

/// Everything read from the other lab before this lab is locked.
struct Theirs {
    datasets: Vec<TheirDataset>,
    runs: Vec<TheirRun>,
}

impl Theirs {
    fn read(other: &Lab) -> Result<Theirs> {
        let mut datasets = Vec::new();
        for row in read_rows(
            &other.conn,
            "SELECT id, created_at FROM datasets ORDER BY id",
            [],
        )? {
            let id = int(&row, "id")?;
            let record = other
                .dataset(DatasetId(id))?
                .with_context(|| format!("dataset {id} is missing"))?;
            let created_at = row.get("created_at").cloned().unwrap_or(Value::Null);
            datasets.push(TheirDataset {
                id,
                record,
                created_at,
            });
        }
        let mut runs = Vec::new();
        for mut row in read_rows(&other.conn, "SELECT * FROM runs ORDER BY id", [])? {
            let id = int(&row, "id")?;
            row.remove("id");
            let name = match row.get("name") {
                Some(Value::Text(t)) => t.clone(),
                _ => String::new(),
            };
            let mut evaluations = Vec::new();
            for e in read_rows(
                &other.conn,
                "SELECT * FROM evaluations WHERE run_id = ?1 ORDER BY id",
                [id],
            )? {
                let metrics = read_rows(
                    &other.conn,
                    "SELECT name, value FROM evaluation_metrics WHERE evaluation_id = ?1
                     ORDER BY name",
                    [int(&e, "id")?],
                )?;
                evaluations.push((e, metrics));
            }
            runs.push(TheirRun {
                id,
                name,
                row,
                annotations: Annotations::read(&other.conn, id)?,
                checkpoints: read_rows(
                    &other.conn,
                    "SELECT * FROM checkpoints WHERE run_id = ?1 ORDER BY id",
                    [id],
                )?,
                evaluations,
                resumes: read_rows(
                    &other.conn,
                    "SELECT * FROM run_resumes WHERE run_id = ?1 ORDER BY id",
                    [id],
                )?,
            });
        }
        Ok(Theirs { datasets, runs })
    }
}

impl Lab {
    /// Imports every dataset and run of `other` (opened read-only) in one transaction: all of
    /// it arrives, or nothing does.
    pub fn merge_from(&self, other: &Lab) -> Result<MergeSummary> {
        if let (Ok(a), Ok(b)) = (self.path.canonicalize(), other.path.canonicalize()) {
            if a == b {
                bail!(
                    "'{}' is this lab itself: pass another lab file to merge",
                    other.path.display()
                );
            }
        }
        // Rolled back (it only read) when dropped, after this lab's transaction ends.
        let _snapshot = Transaction::new_unchecked(&other.conn, TransactionBehavior::Deferred)?;
        let theirs = Theirs::read(other)?;
        let relocate = Relocation::new(self, other);
        let mut summary = MergeSummary::default();
        let tx = self.write_tx()?;
        let dataset_ids = merge_datasets(&tx, other, &theirs, &mut summary)?;
        // Run ids there → here, as far as merged: a run comes after the run its weights
        // started from, which is older.
        let mut run_ids = BTreeMap::new();
        for theirs_run in &theirs.runs {
            merge_run(
                &tx,
                other,
                theirs_run,
                &dataset_ids,
                &mut run_ids,
                &relocate,
                &mut summary,
            )?;
        }
        tx.commit()?;
        Ok(summary)
    }
}

/// Finds or adds each of the other lab's datasets here; returns (id there → id here). One that
/// no run there trained on and that cannot join this lab's is left out.
fn merge_datasets(
    tx: &Connection,
    other: &Lab,
    theirs: &Theirs,
    summary: &mut MergeSummary,
) -> Result<BTreeMap<i64, i64>> {
    let used: BTreeSet<i64> = theirs
        .runs
        .iter()
        .filter_map(|r| match r.row.get("dataset_id") {
            Some(Value::Integer(d)) => Some(*d),
            _ => None,
        })
        .collect();
    let on_conflict = format!(
        "the runs of '{0}' cannot join this lab's: keep it as a lab of its own, read with \
         `facenet-lab --db '{0}' runs`",
        other.path.display()
    );
    let mut dataset_ids: BTreeMap<i64, i64> = BTreeMap::new();
    // The runs' datasets first: one no run used, added before them, could be what theirs then
    // conflicts with, and refuse the merge it was to be left out of.
    let mut ordered: Vec<&TheirDataset> = theirs.datasets.iter().collect();
    ordered.sort_by_key(|d| !used.contains(&d.id));
    for d in ordered {
        let merging = || format!("merging dataset {} ('{}')", d.id, d.record.source);
        let ours = match Lab::match_dataset(tx, &d.record)? {
            Match::Found(id) => {
                summary.datasets_reused += 1;
                id
            }
            Match::SplitOtherwise(why) if !used.contains(&d.id) => {
                summary
                    .datasets_left_out
                    .push((d.id, d.record.source.clone(), why));
                continue;
            }
            Match::SplitOtherwise(why) => {
                return Err(anyhow!("{why}: {on_conflict}")).with_context(merging);
            }
            Match::Absent => {
                let id = Lab::insert_dataset(tx, &d.record).with_context(merging)?;
                // Keep when it was first imported, not when it was merged.
                tx.execute(
                    "UPDATE datasets SET created_at = ?2 WHERE id = ?1",
                    params![id.0, d.created_at],
                )?;
                summary.datasets_added += 1;
                id
            }
        };
        dataset_ids.insert(d.id, ours.0);
    }
    Ok(dataset_ids)
}

/// Adds one of the other lab's runs here, refreshes this lab's copy of it when theirs has gone
/// further, or (when it has not) brings only its tags and evaluations.
fn merge_run(
    tx: &Connection,
    other: &Lab,
    theirs_run: &TheirRun,
    dataset_ids: &BTreeMap<i64, i64>,
    run_ids: &mut BTreeMap<i64, i64>,
    relocate: &Relocation,
    summary: &mut MergeSummary,
) -> Result<()> {
    let their_id = theirs_run.id;
    let mut run = theirs_run.row.clone();
    relocate.apply(&mut run, "log_path");
    if let Some(Value::Integer(d)) = run.get("dataset_id") {
        let ours = dataset_ids
            .get(d)
            .with_context(|| format!("run {their_id} names dataset {d}, which is missing"))?;
        run.insert("dataset_id".into(), Value::Integer(*ours));
    }
    // The run its weights started from: as merged, or (trained here, its checkpoint carried
    // there) found here by the file's sha256.
    // A run named by its id there, as merged here (runs merge in the order of their ids, so it
    // came first); one that is not merged is no run of this lab.
    let merged = |column: &str| match run.get(column) {
        Some(Value::Integer(id)) => run_ids.get(id).copied(),
        _ => None,
    };
    let parent = match (merged("init_run_id"), run.get("init_sha256")) {
        (Some(p), _) => Some(p),
        // Its path was the other machine's: the hash alone says.
        (None, Some(Value::Text(sha))) => super::checkpoints::run_with_sha256(tx, sha, None)?,
        _ => None,
    };
    // The run it started like.
    let like = merged("like_run_id");
    // A link to a run deleted here, which no run here stands in for.
    let deleted_here = |column: &str| match run.get(column) {
        Some(Value::Integer(id)) => summary
            .deleted
            .iter()
            .find(|(there, _, _)| there.0 == *id)
            .map(|&(_, was, _)| was),
        _ => None,
    };
    let cut: Vec<(&'static str, RunId)> = [
        (
            "--init",
            parent.is_none().then(|| deleted_here("init_run_id")),
        ),
        (
            "--like",
            like.is_none().then(|| deleted_here("like_run_id")),
        ),
    ]
    .into_iter()
    .filter_map(|(flag, was)| Some((flag, was.flatten()?)))
    .collect();
    run.insert(
        "init_run_id".into(),
        parent.map_or(Value::Null, Value::Integer),
    );
    run.insert(
        "like_run_id".into(),
        like.map_or(Value::Null, Value::Integer),
    );
    let existing: Option<(i64, Option<f64>)> = tx
        .query_row(
            "SELECT id, heartbeat_at FROM runs WHERE created_at = ?1 AND hostname = ?2
               AND name = ?3 AND config_json = ?4",
            params![
                run.get("created_at"),
                run.get("hostname"),
                run.get("name"),
                run.get("config_json")
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let mut checkpoints = theirs_run.checkpoints.clone();
    for c in &mut checkpoints {
        relocate.apply(c, "path");
    }
    if let Some((ours, _)) = existing {
        run_ids.insert(their_id, ours);
    }
    if existing.is_none() {
        // Deleted here: it stays deleted, and its id stays its own.
        let deleted: Option<i64> = tx
            .query_row(
                "SELECT id FROM deleted_runs WHERE created_at = ?1 AND hostname = ?2 AND name = ?3",
                params![run.get("created_at"), run.get("hostname"), run.get("name")],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(here) = deleted {
            summary
                .deleted
                .push((RunId(their_id), RunId(here), theirs_run.name.clone()));
            return Ok(());
        }
    }
    let (ours, links) = match existing {
        None => {
            // Past every id this lab gave, deleted runs' too.
            run.insert("id".into(), Value::Integer(super::runs::next_run_id(tx)?));
            let ours = insert_row(tx, "runs", &run)?;
            run_ids.insert(their_id, ours);
            Annotations::read(tx, ours)?.merge_into(tx, ours, &theirs_run.annotations)?;
            summary
                .added
                .push((RunId(their_id), RunId(ours), theirs_run.name.clone()));
            for (flag, was) in cut {
                summary
                    .cut
                    .push((RunId(ours), theirs_run.name.clone(), flag, was));
            }
            (ours, Vec::new())
        }
        Some((ours, our_heartbeat)) => {
            // Whatever became of the history.
            if Annotations::read(tx, ours)?.merge_into(tx, ours, &theirs_run.annotations)? {
                summary.annotated += 1;
            }
            let their_heartbeat = real(&run, "heartbeat_at");
            let (here, there) = (our_copy(tx, ours)?, their_copy(theirs_run)?);
            let (newer, older) = if their_heartbeat > our_heartbeat {
                (&there, &here)
            } else {
                (&here, &there)
            };
            if parted(newer, older) {
                summary
                    .parted
                    .push((RunId(their_id), RunId(ours), theirs_run.name.clone()));
                return Ok(());
            }
            if their_heartbeat <= our_heartbeat {
                let here = checkpoint_map(tx, &theirs_run.checkpoints, ours)?;
                summary.evaluations += copy_evaluations(tx, &theirs_run.evaluations, ours, &here)?;
                summary.unchanged += 1;
                return Ok(());
            }
            let links = refresh_run(tx, ours, run)?;
            summary
                .updated
                .push((RunId(their_id), RunId(ours), theirs_run.name.clone()));
            (ours, links)
        }
    };
    let metrics = read_rows(
        &other.conn,
        "SELECT * FROM metrics WHERE run_id = ?1 ORDER BY id",
        [their_id],
    )?;
    summary.metrics += insert_children(tx, "metrics", metrics, ours)?.len();
    let mut resumes = theirs_run.resumes.clone();
    for r in &mut resumes {
        relocate.apply(r, "log_before");
    }
    summary.resumes += insert_children(tx, "run_resumes", resumes, ours)?.len();
    let copied = insert_children(tx, "checkpoints", checkpoints, ours)?;
    summary.checkpoints += copied.len();
    relink_evaluations(tx, ours, &links)?;
    // Evaluations made here whose checkpoint's row had gone (a run replayed, or refreshed
    // before): the other lab's copy of those weights takes them back, as a checkpoint written
    // here would.
    super::checkpoints::relink_lost(tx, ours)?;
    summary.evaluations += copy_evaluations(tx, &theirs_run.evaluations, ours, &copied)?;
    Ok(())
}

/// One copy of a run as [`parted`] compares it: its resumes, its steps and its last heartbeat.
struct Copy {
    resumes: Vec<Resumed>,
    steps: i64,
    heartbeat: Option<f64>,
}

/// One resume of a copy: when it happened, the iteration it went back to, and the run's
/// heartbeat just before it (None where it was not recorded).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Resumed {
    at: f64,
    from: i64,
    heartbeat_before: Option<f64>,
}

/// Whether two copies of a run parted, so that keeping the `newer` would lose history of the
/// `older`: the older was resumed where the newer was not; or the newer went back (a resume
/// the older lacks, or fewer steps with no resume to say why) while the older trained on past
/// that point, beyond what the newer's lab knew of the run when it resumed it (its heartbeat
/// then; where that was not recorded, the resume's own time). A lab merged before its run was
/// resumed has trained on past the resume's iteration too, but no later than that heartbeat;
/// a lab copied before the run trained on, and resumed afterwards, knew less than the older.
fn parted(newer: &Copy, older: &Copy) -> bool {
    let resumed_apart = older.resumes.iter().any(|r| !newer.resumes.contains(r));
    let mut own = newer.resumes.iter().filter(|r| !older.resumes.contains(r));
    let older_went_on = own.clone().any(|r| {
        let known = r.heartbeat_before.unwrap_or(r.at);
        r.from < older.steps && older.heartbeat.is_some_and(|h| h > known)
    });
    let went_back_unsaid = newer.steps < older.steps && own.next().is_none();
    resumed_apart || older_went_on || went_back_unsaid
}

/// This lab's copy of run `ours`, for [`parted`].
fn our_copy(tx: &Connection, ours: i64) -> Result<Copy> {
    let resumes = tx
        .prepare(
            "SELECT resumed_at, from_iteration, heartbeat_before FROM run_resumes
              WHERE run_id = ?1",
        )?
        .query_map([ours], |r| {
            Ok(Resumed {
                at: r.get(0)?,
                from: r.get(1)?,
                heartbeat_before: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (steps, heartbeat) = tx.query_row(
        "SELECT last_iteration, heartbeat_at FROM runs WHERE id = ?1",
        [ours],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Copy {
        resumes,
        steps,
        heartbeat,
    })
}

/// The other lab's copy of a run, for [`parted`].
fn their_copy(theirs: &TheirRun) -> Result<Copy> {
    let resumes = theirs
        .resumes
        .iter()
        .map(|r| {
            let at = real(r, "resumed_at")
                .with_context(|| format!("a resume of run {} there has no time", theirs.id))?;
            Ok(Resumed {
                at,
                from: int(r, "from_iteration")?,
                heartbeat_before: real(r, "heartbeat_before"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Copy {
        resumes,
        steps: int(&theirs.row, "last_iteration")?,
        heartbeat: real(&theirs.row, "heartbeat_at"),
    })
}

/// Which checkpoint an evaluation made here evaluated: (evaluation id, iteration, kind, sha256).
type Link = (i64, i64, String, String);

/// Replaces a run's columns (but its notes, merged apart, and the runs it came from, once
/// known), metrics, checkpoints and resumes with the other lab's, and returns the checkpoint
/// each of its evaluations pointed at, for [`relink_evaluations`] (the deletion unlinks them).
fn refresh_run(tx: &Connection, ours: i64, mut run: Row) -> Result<Vec<Link>> {
    run.remove("notes");
    run.remove("notes_at");
    // A run's start does not change: the run its weights or settings came from, found here
    // once (by the file's sha256), stays when that checkpoint is no longer here to find.
    for column in ["init_run_id", "like_run_id"] {
        if run.get(column) == Some(&Value::Null) {
            run.remove(column);
        }
    }
    let sets: Vec<String> = run.keys().map(|c| format!("{} = ?", quoted(c))).collect();
    let sql = format!("UPDATE runs SET {} WHERE id = {ours}", sets.join(", "));
    tx.execute(&sql, params_from_iter(run.values()))?;
    let mut stmt = tx.prepare(
        "SELECT e.id, c.iteration, c.kind, c.sha256
           FROM evaluations e JOIN checkpoints c ON c.id = e.checkpoint_id
          WHERE e.run_id = ?1",
    )?;
    let links = stmt
        .query_map([ours], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<Link>>>()?;
    tx.execute("DELETE FROM metrics WHERE run_id = ?1", [ours])?;
    tx.execute("DELETE FROM checkpoints WHERE run_id = ?1", [ours])?;
    tx.execute("DELETE FROM run_resumes WHERE run_id = ?1", [ours])?;
    Ok(links)
}

/// Points each evaluation [`refresh_run`] unlinked at the run's checkpoint with the same
/// iteration, kind and sha256, where there is one (the checkpoint may be gone there too, when a
/// newer "best" replaced it: the evaluation keeps its `checkpoint_iteration`).
fn relink_evaluations(tx: &Connection, ours: i64, links: &[Link]) -> Result<()> {
    for (evaluation, iteration, kind, sha256) in links {
        tx.execute(
            "UPDATE evaluations SET checkpoint_id = (
                 SELECT id FROM checkpoints WHERE run_id = ?2 AND iteration = ?3 AND kind = ?4
                    AND sha256 = ?5 ORDER BY id DESC LIMIT 1)
              WHERE id = ?1",
            params![evaluation, ours, iteration, kind, sha256],
        )?;
    }
    Ok(())
}

fn read_rows<P: rusqlite::Params>(conn: &Connection, sql: &str, params: P) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let rows = stmt
        .query_map(params, |r| {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| Ok((n.clone(), r.get::<_, Value>(i)?)))
                .collect::<rusqlite::Result<Row>>()
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A number column of `row`, which SQLite may hand back as an integer.
fn real(row: &Row, col: &str) -> Option<f64> {
    match row.get(col) {
        Some(Value::Real(t)) => Some(*t),
        Some(Value::Integer(t)) => Some(*t as f64),
        _ => None,
    }
}

fn int(row: &Row, col: &str) -> Result<i64> {
    match row.get(col) {
        Some(Value::Integer(i)) => Ok(*i),
        other => bail!("expected an integer in column {col}, found {other:?}"),
    }
}

/// Inserts `row` into `table` and returns its id: the one it gives, or (no `id`) a new one.
fn insert_row(tx: &Connection, table: &str, row: &Row) -> Result<i64> {
    let cols: Vec<String> = row.keys().map(|c| quoted(c)).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        cols.join(", "),
        vec!["?"; cols.len()].join(", ")
    );
    tx.prepare_cached(&sql)?
        .execute(params_from_iter(row.values()))?;
    Ok(tx.last_insert_rowid())
}

/// A column name of the other lab's, as an SQL identifier: a file that names its columns oddly
/// makes the statement fail (and the merge roll back), never another statement.
fn quoted(column: &str) -> String {
    format!("\"{}\"", column.replace('"', "\"\""))
}

/// Inserts rows of `table` (metrics, checkpoints, evaluations, resumes) that belonged to a run there as
/// rows of run `ours`, in their order, and returns (id there, id here) of each.
fn insert_children(
    tx: &Connection,
    table: &str,
    rows: Vec<Row>,
    ours: i64,
) -> Result<Vec<(i64, i64)>> {
    let mut ids = Vec::with_capacity(rows.len());
    for mut row in rows {
        let old = int(&row, "id")?;
        row.remove("id");
        row.insert("run_id".into(), Value::Integer(ours));
        ids.push((old, insert_row(tx, table, &row)?));
    }
    Ok(ids)
}

/// Copies a run's evaluations with their metrics, pointing them at this lab's copies of their
/// checkpoints ((id there, id here) in `checkpoints`). Evaluations already here (merged before,
/// or made here) stay as they are.
fn copy_evaluations(
    tx: &Connection,
    evaluations: &[(Row, Vec<Row>)],
    ours: i64,
    checkpoints: &[(i64, i64)],
) -> Result<usize> {
    let mut copied = 0;
    for (row, metrics) in evaluations {
        let here: i64 = tx.query_row(
            "SELECT count(*) FROM evaluations WHERE run_id = ?1 AND created_at = ?2 AND protocol = ?3
               AND data_source = ?4",
            params![ours, row.get("created_at"), row.get("protocol"), row.get("data_source")],
            |r| r.get(0),
        )?;
        if here > 0 {
            continue;
        }
        let mut row = row.clone();
        if let Some(Value::Integer(c)) = row.get("checkpoint_id").cloned() {
            let here = checkpoints
                .iter()
                .find(|(o, _)| *o == c)
                .map_or(Value::Null, |(_, n)| Value::Integer(*n));
            row.insert("checkpoint_id".into(), here);
        }
        let [(_, new)] = insert_children(tx, "evaluations", vec![row], ours)?[..] else {
            bail!("copying an evaluation of run {ours} inserted no row");
        };
        for m in metrics {
            tx.execute(
                "INSERT INTO evaluation_metrics (evaluation_id, name, value) VALUES (?1, ?2, ?3)",
                params![new, m.get("name"), m.get("value")],
            )?;
        }
        copied += 1;
    }
    Ok(copied)
}

/// Rewrites the paths the other lab records relative to its own directory so that they name
/// the same files from this lab's: relative to this lab when they lie below it, else absolute.
struct Relocation {
    /// The other lab's directory; `None` when it is this lab's.
    from: Option<PathBuf>,
    /// This lab's directory.
    to: PathBuf,
}

impl Relocation {
    fn new(ours: &Lab, theirs: &Lab) -> Relocation {
        let (here, there) = (
            super::canonical(&ours.dir()),
            super::canonical(&theirs.dir()),
        );
        Relocation {
            from: (here != there).then_some(there),
            to: ours.dir(),
        }
    }

    fn apply(&self, row: &mut Row, col: &str) {
        let Some(from) = &self.from else { return };
        if let Some(Value::Text(p)) = row.get(col) {
            if Path::new(p).is_relative() {
                let moved = super::relative_to(&self.to, &from.join(p));
                row.insert(col.to_string(), Value::Text(moved));
            }
        }
    }
}

/// (id there, id here) of the checkpoints of a run that both labs hold (same iteration, kind
/// and sha256), so that evaluations merged later point at this lab's rows.
fn checkpoint_map(tx: &Connection, theirs: &[Row], ours: i64) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    for c in theirs {
        let here: Option<i64> = tx
            .query_row(
                "SELECT id FROM checkpoints WHERE run_id = ?1 AND iteration = ?2 AND kind = ?3
                   AND sha256 = ?4",
                params![ours, c.get("iteration"), c.get("kind"), c.get("sha256")],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(h) = here {
            out.push((int(c, "id")?, h));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy whose resumes (at, from iteration) did not record the heartbeat before them.
    fn copy(resumes: &[(f64, i64)], steps: i64, heartbeat: f64) -> Copy {
        let resumes = resumes.iter().map(|&(at, from)| (at, from, None));
        copy_knowing(&resumes.collect::<Vec<_>>(), steps, heartbeat)
    }

    /// A copy whose resumes are (at, from iteration, heartbeat before).
    fn copy_knowing(resumes: &[(f64, i64, Option<f64>)], steps: i64, heartbeat: f64) -> Copy {
        Copy {
            resumes: resumes
                .iter()
                .map(|&(at, from, heartbeat_before)| Resumed {
                    at,
                    from,
                    heartbeat_before,
                })
                .collect(),
            steps,
            heartbeat: Some(heartbeat),
        }
    }

    /// A run trains in lab A; lab B holds a copy of it merged at time 100, at step 50.
    #[test]
    fn copies_part_when_both_went_on_after_one_went_back() {
        let snapshot = copy(&[], 50, 100.0);
        // A went on, and was resumed from step 40 at time 200, after the snapshot: B is an
        // earlier state of A, not another history.
        let resumed_later = copy(&[(200.0, 40)], 90, 300.0);
        assert!(!parted(&resumed_later, &snapshot));
        // A went on without a resume: B is a prefix.
        assert!(!parted(&copy(&[], 90, 300.0), &snapshot));
        // The same copy twice.
        assert!(!parted(&snapshot, &copy(&[], 50, 100.0)));

        // B's copy was resumed from step 40 at time 150 while A trained on to time 300: each
        // holds steps the other lacks, whichever is newer.
        let resumed_in_b = copy(&[(150.0, 40)], 60, 250.0);
        let a_went_on = copy(&[], 90, 300.0);
        assert!(parted(&a_went_on, &resumed_in_b), "the older was resumed");
        let b_went_on = copy(&[(150.0, 40)], 60, 400.0);
        assert!(
            parted(&b_went_on, &a_went_on),
            "the newer went back, the older went on"
        );
        // Fewer steps and a later heartbeat, with no resume to say why.
        assert!(parted(&copy(&[], 30, 400.0), &a_went_on));
    }

    /// B is a copy of A's lab taken at time 100, at step 50. A trains on to step 90 by time 300;
    /// B's copy, which stopped at 100, is resumed later (time 350) from step 40.
    #[test]
    fn a_stale_copy_resumed_after_the_other_went_on_parted_from_it() {
        let a_went_on = copy(&[], 90, 300.0);
        let b = copy_knowing(&[(350.0, 40, Some(100.0))], 60, 400.0);
        assert!(parted(&b, &a_went_on), "A's steps 51 to 90 are not B's");
        // Without the heartbeat before the resume, the resume's own time could not tell.
        assert!(!parted(&copy(&[(350.0, 40)], 60, 400.0), &a_went_on));

        // A itself went on to time 300 and was resumed there at 350: B's copy is an earlier
        // state of it, however late the resume came.
        let snapshot = copy(&[], 50, 100.0);
        let a_resumed = copy_knowing(&[(350.0, 40, Some(300.0))], 60, 400.0);
        assert!(!parted(&a_resumed, &snapshot));
        // A copy that went on in time, but not past the resume's iteration: none of its steps
        // go.
        let b_stopped = copy(&[], 40, 320.0);
        assert!(!parted(&a_resumed, &b_stopped), "no step past 40 there");
    }
}
