//! Merging another lab into this one: runs trained on other machines come back as their own lab
//! files, and `facenet-lab lab merge OTHER.db` brings them home.
//!
//! Rows are copied column by column as SQLite values (both labs are at this build's schema
//! version, so their columns agree): every column arrives, including ones added by later
//! migrations, without this file listing them. Ids are new; dataset ids are remapped through
//! [`Lab::ensure_dataset_in`], which stores an identical dataset once.
//!
//! A run is recognised across labs by (created_at, hostname, name, config_json): created_at has
//! sub-millisecond resolution and is set once, when the run is registered, so merging the same
//! file twice adds nothing. A run already here is refreshed when the other lab's copy has gone
//! further (a later heartbeat), e.g. when a lab was merged mid-run and again at the end.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{DatasetId, Lab, RunId};

/// What one merge did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergeSummary {
    /// (id in the other lab, id here, name) of each run added.
    pub added: Vec<(RunId, RunId, String)>,
    /// Runs already here that the other lab had further along, refreshed from it.
    pub updated: Vec<(RunId, RunId, String)>,
    /// Runs already here, identical or newer here.
    pub unchanged: usize,
    pub datasets_added: usize,
    pub datasets_reused: usize,
    pub metrics: usize,
    pub checkpoints: usize,
    pub evaluations: usize,
}

impl std::fmt::Display for MergeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (from, to, name) in &self.added {
            writeln!(f, "added run {to} '{name}' (run {from} there)")?;
        }
        for (from, to, name) in &self.updated {
            writeln!(f, "updated run {to} '{name}' from run {from} there")?;
        }
        writeln!(
            f,
            "{} runs added, {} updated, {} already here; {} datasets added, {} already here; \
             {} metric points, {} checkpoints and {} evaluations copied",
            self.added.len(),
            self.updated.len(),
            self.unchanged,
            self.datasets_added,
            self.datasets_reused,
            self.metrics,
            self.checkpoints,
            self.evaluations
        )
    }
}

/// One row as column name → value.
type Row = BTreeMap<String, Value>;

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
        let mut summary = MergeSummary::default();
        let tx = self.write_tx()?;

        let mut dataset_ids: BTreeMap<i64, i64> = BTreeMap::new();
        for theirs in read_rows(&other.conn, "SELECT * FROM datasets ORDER BY id", [])? {
            let their_id = int(&theirs, "id")?;
            let record = other
                .dataset(DatasetId(their_id))?
                .with_context(|| format!("dataset {their_id} vanished while merging"))?;
            let before: i64 = tx.query_row("SELECT count(*) FROM datasets", [], |r| r.get(0))?;
            let ours = Self::ensure_dataset_in(&tx, &record)
                .with_context(|| format!("merging dataset {their_id} ('{}')", record.source))?;
            let after: i64 = tx.query_row("SELECT count(*) FROM datasets", [], |r| r.get(0))?;
            if after > before {
                // Keep when it was first imported, not when it was merged.
                tx.execute(
                    "UPDATE datasets SET created_at = ?2 WHERE id = ?1",
                    params![ours.0, theirs.get("created_at")],
                )?;
                summary.datasets_added += 1;
            } else {
                summary.datasets_reused += 1;
            }
            dataset_ids.insert(their_id, ours.0);
        }

        for mut run in read_rows(&other.conn, "SELECT * FROM runs ORDER BY id", [])? {
            let their_id = int(&run, "id")?;
            let name = match run.get("name") {
                Some(Value::Text(t)) => t.clone(),
                _ => String::new(),
            };
            run.remove("id");
            relocator(self, other)(&mut run, "log_path");
            if let Some(Value::Integer(d)) = run.get("dataset_id") {
                let ours = dataset_ids.get(d).with_context(|| {
                    format!("run {their_id} names dataset {d}, which is missing")
                })?;
                run.insert("dataset_id".into(), Value::Integer(*ours));
            }
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
            let ours = match existing {
                None => {
                    let cols: Vec<&String> = run.keys().collect();
                    let sql = format!(
                        "INSERT INTO runs ({}) VALUES ({})",
                        cols.iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        vec!["?"; cols.len()].join(", ")
                    );
                    tx.execute(&sql, params_from_iter(run.values()))?;
                    let ours = tx.last_insert_rowid();
                    summary.added.push((RunId(their_id), RunId(ours), name));
                    ours
                }
                Some((ours, our_heartbeat)) => {
                    let their_heartbeat = match run.get("heartbeat_at") {
                        Some(Value::Real(h)) => Some(*h),
                        Some(Value::Integer(h)) => Some(*h as f64),
                        _ => None,
                    };
                    let same = same_run(&tx, ours, &run, other.conn(), their_id)?;
                    let theirs_further = their_heartbeat > our_heartbeat;
                    if same || !theirs_further {
                        copy_tags(&tx, other.conn(), their_id, ours)?;
                        let here = checkpoint_map(&tx, other.conn(), their_id, ours)?;
                        summary.evaluations +=
                            copy_evaluations(&tx, other.conn(), their_id, ours, &here)?;
                        summary.unchanged += 1;
                        continue;
                    }
                    let sets: Vec<String> = run.keys().map(|c| format!("{c} = ?")).collect();
                    let sql = format!("UPDATE runs SET {} WHERE id = {ours}", sets.join(", "));
                    tx.execute(&sql, params_from_iter(run.values()))?;
                    tx.execute("DELETE FROM metrics WHERE run_id = ?1", [ours])?;
                    tx.execute("DELETE FROM checkpoints WHERE run_id = ?1", [ours])?;
                    summary.updated.push((RunId(their_id), RunId(ours), name));
                    ours
                }
            };
            copy_tags(&tx, other.conn(), their_id, ours)?;
            summary.metrics +=
                copy_children(&tx, other.conn(), "metrics", their_id, ours, |_| Ok(true))?.len();
            let relocate = relocator(self, other);
            let checkpoints =
                copy_children(&tx, other.conn(), "checkpoints", their_id, ours, |row| {
                    relocate(row, "path");
                    Ok(true)
                })?;
            summary.checkpoints += checkpoints.len();
            summary.evaluations +=
                copy_evaluations(&tx, other.conn(), their_id, ours, &checkpoints)?;
        }
        tx.commit()?;
        Ok(summary)
    }
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

fn int(row: &Row, col: &str) -> Result<i64> {
    match row.get(col) {
        Some(Value::Integer(i)) => Ok(*i),
        other => bail!("expected an integer in column {col}, found {other:?}"),
    }
}

/// Whether the run here already holds everything the other lab's copy holds.
fn same_run(
    tx: &Connection,
    ours: i64,
    theirs: &Row,
    other: &Connection,
    their_id: i64,
) -> Result<bool> {
    let mine = read_rows(tx, "SELECT * FROM runs WHERE id = ?1", [ours])?;
    let Some(mut mine) = mine.into_iter().next() else {
        return Ok(false);
    };
    mine.remove("id");
    if &mine != theirs {
        return Ok(false);
    }
    for table in ["metrics", "checkpoints"] {
        let sql = format!("SELECT count(*) FROM {table} WHERE run_id = ?1");
        let here: i64 = tx.query_row(&sql, [ours], |r| r.get(0))?;
        let there: i64 = other.query_row(&sql, [their_id], |r| r.get(0))?;
        if here != there {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Tags are a set: the union of both labs' tags is kept.
fn copy_tags(tx: &Connection, other: &Connection, their_id: i64, ours: i64) -> Result<()> {
    let mut stmt = other.prepare("SELECT tag FROM run_tags WHERE run_id = ?1 ORDER BY tag")?;
    let tags = stmt
        .query_map([their_id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for tag in tags {
        tx.execute(
            "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?1, ?2)",
            params![ours, tag],
        )?;
    }
    Ok(())
}

/// Copies the rows of `table` (metrics, checkpoints) that belong to a run, in their order, and
/// returns (id there, id here) of each.
fn copy_children(
    tx: &Connection,
    other: &Connection,
    table: &str,
    their_id: i64,
    ours: i64,
    fix: impl Fn(&mut Row) -> Result<bool>,
) -> Result<Vec<(i64, i64)>> {
    let rows = read_rows(
        other,
        &format!("SELECT * FROM {table} WHERE run_id = ?1 ORDER BY id"),
        [their_id],
    )?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let cols: Vec<&String> = first.keys().filter(|c| *c != "id").collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        cols.iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        vec!["?"; cols.len()].join(", ")
    );
    let mut insert = tx.prepare(&sql)?;
    let mut ids = Vec::with_capacity(rows.len());
    for mut row in rows.iter().cloned() {
        let old = match row.remove("id") {
            Some(Value::Integer(i)) => i,
            _ => 0,
        };
        row.insert("run_id".into(), Value::Integer(ours));
        if !fix(&mut row)? {
            continue;
        }
        insert.execute(params_from_iter(row.values()))?;
        ids.push((old, tx.last_insert_rowid()));
    }
    Ok(ids)
}

/// Copies a run's evaluations with their metrics, pointing them at the copied checkpoints.
fn copy_evaluations(
    tx: &Connection,
    other: &Connection,
    their_id: i64,
    ours: i64,
    checkpoints: &[(i64, i64)],
) -> Result<usize> {
    // Evaluations already here (merged before, or made here) stay as they are.
    let remap = |row: &mut Row| -> Result<bool> {
        let here: i64 = tx.query_row(
            "SELECT count(*) FROM evaluations WHERE run_id = ?1 AND created_at = ?2 AND protocol = ?3
               AND data_source = ?4",
            params![ours, row.get("created_at"), row.get("protocol"), row.get("data_source")],
            |r| r.get(0),
        )?;
        if here > 0 {
            return Ok(false);
        }
        if let Some(Value::Integer(c)) = row.get("checkpoint_id").cloned() {
            let here = checkpoints
                .iter()
                .find(|(o, _)| *o == c)
                .map_or(Value::Null, |(_, n)| Value::Integer(*n));
            row.insert("checkpoint_id".into(), here);
        }
        Ok(true)
    };
    let evaluations = copy_children(tx, other, "evaluations", their_id, ours, remap)?;
    for &(old, new) in &evaluations {
        let metrics = read_rows(
            other,
            "SELECT name, value FROM evaluation_metrics WHERE evaluation_id = ?1 ORDER BY name",
            [old],
        )?;
        for m in metrics {
            let (Some(name), Some(value)) = (m.get("name"), m.get("value")) else {
                continue;
            };
            tx.execute(
                "INSERT INTO evaluation_metrics (evaluation_id, name, value) VALUES (?1, ?2, ?3)",
                params![new, name, value],
            )?;
        }
    }
    Ok(evaluations.len())
}

/// Rewrites a path the other lab recorded relative to its directory so that it names the
/// same file from this lab.
fn relocator<'a>(ours: &'a Lab, theirs: &'a Lab) -> impl Fn(&mut Row, &str) + 'a {
    move |row: &mut Row, col: &str| {
        if ours.dir() == theirs.dir() {
            return;
        }
        if let Some(Value::Text(p)) = row.get(col) {
            if std::path::Path::new(p).is_relative() {
                let moved = theirs.resolve(p).to_string_lossy().into_owned();
                row.insert(col.to_string(), Value::Text(moved));
            }
        }
    }
}

/// (id there, id here) of the checkpoints of a run that both labs hold (same iteration, kind
/// and sha256), so that evaluations merged later point at this lab's rows.
fn checkpoint_map(
    tx: &Connection,
    other: &Connection,
    their_id: i64,
    ours: i64,
) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    let theirs = read_rows(
        other,
        "SELECT id, iteration, kind, sha256 FROM checkpoints WHERE run_id = ?1",
        [their_id],
    )?;
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
            out.push((int(&c, "id")?, h));
        }
    }
    Ok(out)
}
