//! Deleting runs (`lab delete`, `D` in the dashboard): a run launched by mistake (a typo in its
//! flags, a run that failed after three seconds) goes from the lab with its metrics, checkpoints,
//! evaluations, resumes and tags, and its checkpoint files and log go from the disk. It leaves a
//! tombstone in `deleted_runs` (what it was, when it went and from which host), and its id is
//! never given to another run ([`super::runs::next_run_id`]).
//!
//! A deletion is planned first ([`Lab::plan_deletion`]): what each run takes with it, or why it
//! may not go. An id the lab does not have, a run still training (or queued, its trainer perhaps
//! still loading: [`super::Run::is_live`]) and a run that others started from (`--init`), whose
//! lineage it would cut, are refused, each said, and nothing is deleted. A run others took only
//! the settings of (`--like`) goes: their configs hold every setting, and the plan says that
//! their records stop naming it.
//! [`Lab::delete_runs`] plans again in its write transaction and deletes only what the plan
//! shown said; the files go once the rows have, and one that cannot be removed is a warning, as
//! the lab no longer names it. Only files this lab wrote for the run go: checkpoints in the
//! run's own folders ([`Lab::is_own_checkpoint_folder`]) and logs in the lab's `logs/`, none that
//! a run that stays records too, nor a checkpoint another run started from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use rusqlite::{params, Transaction, TransactionBehavior};

use super::{now, Lab, Processes, RunId, RunStatus};
use crate::format::count;

/// A file a deletion removes, as it was found when the deletion was planned.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedFile {
    /// Where it is.
    pub path: PathBuf,
    /// As messages show it: relative to the lab's folder where it lies below it.
    pub shown: String,
    /// Its size then.
    pub bytes: u64,
}

/// What deleting one run takes away.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDeletion {
    /// The run as the lab records it.
    pub run: super::Run,
    /// Its status as it reads now ([`super::Run::effective_status`]): a run recorded running
    /// whose trainer is gone has crashed.
    pub status: RunStatus,
    pub metric_points: u64,
    /// Its checkpoint rows.
    pub checkpoints: u64,
    pub evaluations: u64,
    /// Its checkpoint files on disk that go with it, each once.
    pub checkpoint_files: Vec<PlannedFile>,
    /// Its logs on disk that go with it: the current one and those its resumes replaced.
    pub logs: Vec<PlannedFile>,
    /// Checkpoint files it records that are not on disk (a lab copied without them).
    pub missing_files: usize,
    /// Files it records that stay on disk, as shown, and why.
    pub kept: Vec<(String, String)>,
    /// The runs that stay that took its settings (`--like`), id and name: they keep them (their
    /// config holds every one), and their records stop naming it.
    pub liked_by: Vec<(i64, String)>,
}

/// What deleting some runs takes away, run by run, or why they may not go
/// ([`Lab::plan_deletion`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeletionPlan {
    /// The runs found, in the order asked for.
    pub runs: Vec<RunDeletion>,
    /// Why the runs may not go, one line each: while there is one, nothing is deleted.
    pub problems: Vec<String>,
}

/// What became of one run's files.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Removed {
    pub checkpoint_files: usize,
    /// The bytes of the checkpoint files removed.
    pub bytes: u64,
    pub logs: usize,
}

/// What [`Lab::delete_runs`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deleted {
    /// Each run deleted, as planned in the deleting transaction, and what of its files went.
    pub runs: Vec<(RunDeletion, Removed)>,
    /// Files that could not be removed, a line each, after the lab had let the runs go.
    pub warnings: Vec<String>,
}

impl RunDeletion {
    /// `run 35 (seed-resnet18-b32-d128): failed, 0/100 epochs; 212 metric points, 1 checkpoint
    /// (45.2 MB on disk), 0 evaluations`, then a line for its logs and for each file kept.
    pub fn lines(&self) -> Vec<String> {
        let on_disk: u64 = self.checkpoint_files.iter().map(|f| f.bytes).sum();
        let checkpoints = match (self.checkpoints, self.checkpoint_files.is_empty()) {
            (0, _) => "0 checkpoints".to_string(),
            (n, false) => format!(
                "{} ({} on disk)",
                count(n, "checkpoint", "checkpoints"),
                crate::format::bytes(on_disk)
            ),
            // None on disk (a lab copied without them), or each kept, with why, below.
            (n, true) => format!(
                "{} (no file of {} {})",
                count(n, "checkpoint", "checkpoints"),
                if n == 1 { "it" } else { "them" },
                if self.missing_files as u64 >= n {
                    "on disk"
                } else {
                    "to remove: see below"
                }
            ),
        };
        let mut lines = vec![format!(
            "run {} ({}): {}, {}/{} epochs; {}, {}, {}",
            self.run.id,
            self.run.name,
            self.status,
            self.run.epochs_done(),
            self.run.hyper.epochs,
            count(self.metric_points, "metric point", "metric points"),
            checkpoints,
            count(self.evaluations, "evaluation", "evaluations"),
        )];
        if !self.logs.is_empty() {
            let logs: Vec<&str> = self.logs.iter().map(|f| f.shown.as_str()).collect();
            let its = if logs.len() == 1 {
                "its log"
            } else {
                "its logs"
            };
            lines.push(format!("  {its}: {}", logs.join(", ")));
        }
        for (file, why) in &self.kept {
            lines.push(format!("  kept on disk: {file} ({why})"));
        }
        if !self.liked_by.is_empty() {
            let them = match self.liked_by.len() {
                1 => "it keeps them, and its record stops",
                _ => "they keep them, and their records stop",
            };
            lines.push(format!(
                "  {} took its settings (--like): {them} naming run {}",
                runs_named(&self.liked_by),
                self.run.id
            ));
        }
        lines
    }

    /// `deleted run 35 (seed-resnet18-b32-d128): 212 metric points, 1 checkpoint (45.2 MB)
    /// removed`: what went, once `removed` of its files went (`2 checkpoint records` where no
    /// file of them did).
    pub fn deleted_line(&self, removed: &Removed) -> String {
        let mut parts = vec![count(self.metric_points, "metric point", "metric points")];
        match (self.checkpoints, removed.checkpoint_files) {
            (0, _) => {}
            // Their files were kept, or were never here: only the lab's records of them went.
            (n, 0) => parts.push(count(n, "checkpoint record", "checkpoint records")),
            (n, _) => parts.push(format!(
                "{} ({})",
                count(n, "checkpoint", "checkpoints"),
                crate::format::bytes(removed.bytes)
            )),
        }
        if self.evaluations > 0 {
            parts.push(count(self.evaluations, "evaluation", "evaluations"));
        }
        match removed.logs {
            0 => {}
            1 => parts.push("its log".into()),
            n => parts.push(format!("its {n} logs")),
        }
        format!(
            "deleted run {} ({}): {} removed",
            self.run.id,
            self.run.name,
            parts.join(", ")
        )
    }
}

impl DeletionPlan {
    /// Why nothing may be deleted, said whole: `nothing was deleted: …`, a problem a line where
    /// there are several; None when the runs may go.
    pub fn refusal(&self) -> Option<String> {
        match self.problems.as_slice() {
            [] => None,
            [one] => Some(format!("nothing was deleted: {one}")),
            many => Some(format!("nothing was deleted:\n  {}", many.join("\n  "))),
        }
    }

    /// What goes, run by run ([`RunDeletion::lines`]).
    pub fn lines(&self) -> Vec<String> {
        self.runs.iter().flat_map(RunDeletion::lines).collect()
    }

    /// `delete run 35?`, `delete 2 runs?`
    pub fn question(&self) -> String {
        match self.runs.as_slice() {
            [one] => format!("delete run {}?", one.run.id),
            runs => format!("delete {}?", count(runs.len() as u64, "run", "runs")),
        }
    }

    pub fn ids(&self) -> Vec<RunId> {
        self.runs.iter().map(|r| r.run.id).collect()
    }

    /// Whether `other` deletes what this plan said: the same runs, with as many rows of each
    /// kind and the same files. Sizes may differ; what the person agreed to may not grow.
    fn deletes_the_same(&self, other: &DeletionPlan) -> bool {
        fn key(p: &DeletionPlan) -> Vec<(RunId, u64, u64, u64, Vec<&PathBuf>)> {
            p.runs
                .iter()
                .map(|r| {
                    let files = r
                        .checkpoint_files
                        .iter()
                        .chain(&r.logs)
                        .map(|f| &f.path)
                        .collect();
                    (
                        r.run.id,
                        r.metric_points,
                        r.checkpoints,
                        r.evaluations,
                        files,
                    )
                })
                .collect()
        }
        key(self) == key(other)
    }
}

impl Deleted {
    /// A line per run deleted ([`RunDeletion::deleted_line`]).
    pub fn lines(&self) -> Vec<String> {
        self.runs
            .iter()
            .map(|(run, removed)| run.deleted_line(removed))
            .collect()
    }
}

/// `run 14 (a)`, `runs 14 (a), 15 (b)`
fn runs_named(runs: &[(i64, String)]) -> String {
    let named: Vec<String> = runs
        .iter()
        .map(|(id, name)| format!("{id} ({name})"))
        .collect();
    let noun = if runs.len() == 1 { "run" } else { "runs" };
    format!("{noun} {}", named.join(", "))
}

impl Lab {
    /// What deleting runs `ids` would take away, or why they may not go, as the lab is now
    /// (one read snapshot). Deletes nothing: [`Lab::delete_runs`] does, given the plan.
    pub fn plan_deletion(&self, ids: &[RunId]) -> Result<DeletionPlan> {
        // Looked at before the snapshot, as [`Lab::list_runs_seen`] does.
        let processes = self.look()?;
        // Rolled back (it only read) when dropped.
        let _snapshot = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)?;
        self.plan_with(ids, &processes, now())
    }

    /// Deletes the runs of `plan` in one transaction, once planned again there and found to
    /// delete what `plan` said (a run that started training since, or was evaluated, is
    /// refused); writes each one's tombstone; then removes their files. The rows go by the
    /// schema's `ON DELETE CASCADE`.
    pub fn delete_runs(&self, plan: &DeletionPlan) -> Result<Deleted> {
        if let Some(refusal) = plan.refusal() {
            bail!(refusal);
        }
        let ids = plan.ids();
        if ids.is_empty() {
            bail!("no run to delete");
        }
        let processes = self.look()?;
        let tx = self.write_tx()?;
        // Without them the runs' metrics, checkpoints and evaluations would stay behind.
        let enforced: bool = tx.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
        if !enforced {
            bail!(
                "nothing was deleted: this connection to the lab does not enforce foreign keys, \
                 so the runs' metrics and checkpoints would stay behind them"
            );
        }
        let now_plan = self.plan_with(&ids, &processes, now())?;
        if let Some(refusal) = now_plan.refusal() {
            bail!(refusal);
        }
        if !plan.deletes_the_same(&now_plan) {
            let (runs, their) = if ids.len() == 1 {
                ("the run", "its")
            } else {
                ("the runs", "their")
            };
            bail!(
                "nothing was deleted: {runs} changed since {their} summary was read (a resume, \
                 an evaluation, another deletion meanwhile): look again"
            );
        }
        let (at, host) = (now(), super::this_host());
        for r in &now_plan.runs {
            tx.execute(
                "INSERT INTO deleted_runs (id, name, model, status, created_at, hostname,
                    deleted_at, deleted_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    r.run.id.0,
                    r.run.name,
                    r.run.hyper.model,
                    r.status.as_str(),
                    r.run.created_at,
                    r.run.hostname,
                    at,
                    host
                ],
            )?;
            tx.execute("DELETE FROM runs WHERE id = ?1", [r.run.id.0])?;
        }
        tx.commit()?;
        let mut deleted = Deleted::default();
        for run in now_plan.runs {
            let removed = self.remove_files(&run, &mut deleted.warnings);
            deleted.runs.push((run, removed));
        }
        Ok(deleted)
    }

    /// The `(id, name)` rows `sql` selects with `p`, less the runs in `deleting`: the runs that
    /// stay and would lose something of a run deleted.
    fn others<P: rusqlite::Params>(
        &self,
        sql: &str,
        p: P,
        deleting: &[RunId],
    ) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<(i64, String)>>>()?;
        Ok(rows
            .into_iter()
            .filter(|(other, _)| !deleting.contains(&RunId(*other)))
            .collect())
    }

    fn plan_with(&self, ids: &[RunId], processes: &Processes, now: f64) -> Result<DeletionPlan> {
        let mut asked: Vec<RunId> = Vec::new();
        for &id in ids {
            if !asked.contains(&id) {
                asked.push(id);
            }
        }
        let mut plan = DeletionPlan::default();
        let mut unknown = Vec::new();
        let mut found = Vec::new();
        for &id in &asked {
            match self.run(id)? {
                Some(mut run) => {
                    run.process = processes.of(&run);
                    found.push(run);
                }
                None => match self.tombstone(id)? {
                    Some((name, at)) => plan.problems.push(format!(
                        "run {id} ({name}) was deleted already, on {} UTC",
                        crate::format::timestamp(at)
                    )),
                    None => unknown.push(id.to_string()),
                },
            }
        }
        if !unknown.is_empty() {
            plan.problems.push(format!(
                "no {} {} in lab '{}' (`facenet-lab runs{}` lists the runs with their ids)",
                if unknown.len() == 1 { "run" } else { "runs" },
                unknown.join(", "),
                self.path.display(),
                super::db_flag(&self.path)
            ));
        }
        // Read once for all the runs: each other lab in the folder is opened once.
        let beside = self.logs_of_labs_beside();
        for run in &found {
            let status = run.effective_status(now);
            if run.is_live(now) {
                let what = match status {
                    RunStatus::Queued if run.process == super::Process::Alive => format!(
                        "is queued, its trainer (pid {}) still loading",
                        run.pid.unwrap_or_default()
                    ),
                    RunStatus::Queued => format!(
                        "is queued, its trainer perhaps still loading (registered {} s ago)",
                        (now - run.created_at).max(0.0) as u64
                    ),
                    _ if run.hostname != super::this_host() => {
                        format!("is running on host '{}'", run.hostname)
                    }
                    _ => match run.pid {
                        Some(pid) => format!("is running (pid {pid})"),
                        None => "is running".to_string(),
                    },
                };
                plan.problems.push(format!(
                    "run {} ({}) {what}: stop it first (Ctrl-C where it trains, or X in the \
                     dashboard)",
                    run.id, run.name
                ));
            }
            // The runs whose lineage ([`Lab::lineage`]) goes through it: by the link recorded
            // when they started, or, where none was, by the sha256 of their --init file. Runs
            // that took only its settings (--like) are no lineage: their config holds them all,
            // and the plan says they stop naming it.
            let by_init = self.others(
                "SELECT id, name FROM runs WHERE id != ?1 AND (init_run_id = ?1 OR (
                     init_run_id IS NULL AND init_sha256 IN (
                         SELECT sha256 FROM checkpoints WHERE run_id = ?1)))
                  ORDER BY id",
                [run.id.0],
                &asked,
            )?;
            if !by_init.is_empty() {
                let them = if by_init.len() == 1 { "it" } else { "them" };
                // What was asked for, and the runs that started from it.
                let mut with: Vec<i64> = asked.iter().map(|r| r.0).collect();
                with.extend(by_init.iter().map(|(id, _)| *id));
                with.sort_unstable();
                with.dedup();
                let with: Vec<String> = with.iter().map(i64::to_string).collect();
                plan.problems.push(format!(
                    "run {} ({}) is in the lineage of other runs: {} started from its weights \
                     (--init); deleting it would cut {} lineage (`eval \
                     --exclude-train-identities` leaves out the people a run's ancestors trained \
                     on): keep it, or delete {them} with it (`facenet-lab{} lab delete {}`)",
                    run.id,
                    run.name,
                    runs_named(&by_init),
                    if them == "it" { "that run's" } else { "their" },
                    super::db_flag(&self.path),
                    with.join(" "),
                ));
            }
            let mut what = self.what_goes(run, status, &asked, &beside)?;
            what.liked_by = self.others(
                "SELECT id, name FROM runs WHERE id != ?1 AND like_run_id = ?1 ORDER BY id",
                [run.id.0],
                &asked,
            )?;
            plan.runs.push(what);
        }
        Ok(plan)
    }

    /// What deleting `run` takes away (`deleting`: the runs deleted with it; `beside`: the logs
    /// other labs in its folder record, [`Lab::logs_of_labs_beside`]).
    fn what_goes(
        &self,
        run: &super::Run,
        status: RunStatus,
        deleting: &[RunId],
        beside: &BTreeMap<PathBuf, String>,
    ) -> Result<RunDeletion> {
        let id = run.id;
        let rows = |table: &str| -> Result<u64> {
            Ok(self.conn.query_row(
                &format!("SELECT count(*) FROM {table} WHERE run_id = ?1"),
                [id.0],
                |r| r.get(0),
            )?)
        };
        let checkpoints = self.checkpoints(id)?;
        let mut what = RunDeletion {
            run: run.clone(),
            status,
            metric_points: rows("metrics")?,
            checkpoints: checkpoints.len() as u64,
            evaluations: rows("evaluations")?,
            checkpoint_files: Vec::new(),
            logs: Vec::new(),
            missing_files: 0,
            kept: Vec::new(),
            liked_by: Vec::new(),
        };
        let mut seen = BTreeSet::new();
        for ck in &checkpoints {
            let Ok(path) = self.find_checkpoint(ck) else {
                what.missing_files += 1;
                continue;
            };
            if !seen.insert(path.clone()) {
                continue;
            }
            let shown = shown(&self.relative(&path));
            let own = path
                .parent()
                .is_some_and(|dir| self.is_own_checkpoint_folder(id, dir));
            if !own {
                what.kept.push((
                    shown,
                    "not in this lab's folder for the run: the lab it came from may still \
                     record it"
                        .into(),
                ));
                continue;
            }
            // Recorded there by a run that stays, as the lab records it or as found here.
            let shared = self.others(
                "SELECT DISTINCT run_id, '' FROM checkpoints WHERE run_id != ?1
                  AND path IN (?2, ?3) ORDER BY run_id",
                params![id.0, ck.path, self.relative(&path)],
                deleting,
            )?;
            if let Some((other, _)) = shared.first() {
                what.kept.push((
                    shown,
                    format!("run {other}'s checkpoint is recorded there too"),
                ));
                continue;
            }
            let pinned = self.others(
                "SELECT id, name FROM runs WHERE id != ?1 AND init_sha256 = ?2 ORDER BY id",
                params![id.0, ck.sha256],
                deleting,
            )?;
            if let Some((other, _)) = pinned.first() {
                what.kept
                    .push((shown, format!("run {other} started from it (--init)")));
                continue;
            }
            let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
            what.checkpoint_files
                .push(PlannedFile { path, shown, bytes });
        }
        self.plan_logs(run, deleting, beside, &mut what)?;
        Ok(what)
    }

    /// The logs of `run` that go with it: its current one and those its resumes replaced, where
    /// they are files in the lab's `logs/` that no run that stays, nor another lab beside this
    /// one (`beside`), records.
    fn plan_logs(
        &self,
        run: &super::Run,
        deleting: &[RunId],
        beside: &BTreeMap<PathBuf, String>,
        what: &mut RunDeletion,
    ) -> Result<()> {
        let mut recorded: Vec<String> = run.log_path.iter().cloned().collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT log_before FROM run_resumes WHERE run_id = ?1 AND log_before IS NOT NULL
              ORDER BY id",
        )?;
        recorded.extend(
            stmt.query_map([run.id.0], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        );
        let logs_dir = self.dir().join("logs");
        let mut seen = BTreeSet::new();
        for p in recorded {
            if !seen.insert(p.clone()) {
                continue;
            }
            let path = self.resolve(&p);
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let shown = shown(&p);
            if !meta.is_file() {
                what.kept.push((shown, "not a regular file".into()));
                continue;
            }
            // Where it really is: `logs/../x.log`, or a link in `logs/`, may lead anywhere.
            if !super::canonical(&path).starts_with(super::canonical(&logs_dir)) {
                what.kept.push((
                    shown,
                    "a log given with --log-path outside the lab's logs folder: not the lab's \
                     to remove"
                        .into(),
                ));
                continue;
            }
            let shared = self.others(
                "SELECT id, name FROM runs WHERE id != ?1 AND log_path = ?2
                 UNION SELECT run_id, '' FROM run_resumes WHERE run_id != ?1 AND log_before = ?2",
                params![run.id.0, p],
                deleting,
            )?;
            if let Some((other, _)) = shared.first() {
                what.kept
                    .push((shown, format!("run {other} records it as its log too")));
                continue;
            }
            if let Some(lab) = beside.get(&super::canonical(&path)) {
                what.kept
                    .push((shown, format!("lab '{lab}' beside this one records it too")));
                continue;
            }
            let bytes = meta.len();
            what.logs.push(PlannedFile { path, shown, bytes });
        }
        Ok(())
    }

    /// The logs the other labs in this lab's folder (`*.db` files) record, as a run's log or
    /// one a resume replaced, each by its real path, with the first such lab's name. They share
    /// its `logs/` folder: a lab merged from, or a copy (`cp lab.db scratch.db`), records the
    /// very same files. A file that holds no lab, or cannot be read, records nothing.
    fn logs_of_labs_beside(&self) -> BTreeMap<PathBuf, String> {
        let here = super::canonical(&self.path);
        let dir = self.dir();
        let mut logs = BTreeMap::new();
        for name in super::db_files_in(&dir) {
            let path = dir.join(&name);
            if super::canonical(&path) == here {
                continue;
            }
            let Ok(conn) = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            ) else {
                continue;
            };
            let recorded = |sql: &str| -> Vec<String> {
                conn.prepare(sql)
                    .and_then(|mut stmt| {
                        stmt.query_map([], |r| r.get::<_, String>(0))?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .unwrap_or_default()
            };
            let mut theirs = recorded("SELECT log_path FROM runs WHERE log_path IS NOT NULL");
            theirs.extend(recorded(
                "SELECT log_before FROM run_resumes WHERE log_before IS NOT NULL",
            ));
            for log in theirs {
                // Relative to that lab's folder, which is this one.
                logs.entry(super::canonical(&dir.join(log)))
                    .or_insert_with(|| name.clone());
            }
        }
        logs
    }

    /// The name of run `id` and when it was deleted, where it was.
    pub(super) fn tombstone(&self, id: RunId) -> Result<Option<(String, f64)>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT name, deleted_at FROM deleted_runs WHERE id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The ids of the runs deleted from this lab ([`Lab::delete_runs`]): ids no run has, or
    /// will have, whose files (a report's figures) belong to no run.
    pub fn deleted_run_ids(&self) -> Result<BTreeSet<RunId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM deleted_runs WHERE id NOT IN (SELECT id FROM runs) ORDER BY id",
        )?;
        let ids = stmt
            .query_map([], |r| Ok(RunId(r.get(0)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Removes what `run` planned to take from the disk, once the lab no longer records it,
    /// and its own checkpoint folders left empty; what cannot be removed is a warning.
    fn remove_files(&self, run: &RunDeletion, warnings: &mut Vec<String>) -> Removed {
        let mut removed = Removed::default();
        let mut remove = |f: &PlannedFile, what: &str| -> bool {
            match std::fs::remove_file(&f.path) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => {
                    warnings.push(format!(
                        "run {}'s {what} '{}' could not be removed ({e}); the lab no longer \
                         records it: remove it by hand",
                        run.run.id, f.shown
                    ));
                    false
                }
            }
        };
        for f in &run.checkpoint_files {
            if remove(f, "checkpoint") {
                removed.checkpoint_files += 1;
                removed.bytes += f.bytes;
            }
        }
        for f in &run.logs {
            if remove(f, "log") {
                removed.logs += 1;
            }
        }
        // Its own folders: those its files were in, and any other of its name (a run that
        // stopped before its first checkpoint has an empty one).
        let mut folders: BTreeSet<PathBuf> = run
            .checkpoint_files
            .iter()
            .filter_map(|f| f.path.parent().map(Path::to_path_buf))
            .collect();
        if let Ok(entries) = std::fs::read_dir(self.checkpoints_dir()) {
            folders.extend(
                entries
                    .flatten()
                    .map(|e| self.checkpoints_dir().join(e.file_name()))
                    .filter(|p| self.is_own_checkpoint_folder(run.run.id, p)),
            );
        }
        for dir in folders {
            let empty = std::fs::read_dir(&dir).is_ok_and(|mut e| e.next().is_none());
            if empty {
                if let Err(e) = std::fs::remove_dir(&dir) {
                    warnings.push(format!(
                        "run {}'s empty checkpoint folder '{}' could not be removed ({e})",
                        run.run.id,
                        shown(&self.relative(&dir))
                    ));
                }
            }
        }
        removed
    }
}

/// A recorded path as messages show it, without a leading `./`.
fn shown(path: &str) -> String {
    path.strip_prefix("./").unwrap_or(path).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{new_checkpoint, new_run, resume};
    use crate::lab::{
        metric, CodeVersion, EvalMetric, MetricPoint, NewEvaluation, NewRun, Protocol, RanOn,
        RunSummaryUpdate,
    };
    use anyhow::Context;

    /// Rows of `table` that belong to run `id` (`column` names the run).
    fn rows(lab: &Lab, table: &str, column: &str, id: RunId) -> Result<i64> {
        Ok(lab.conn().query_row(
            &format!("SELECT count(*) FROM {table} WHERE {column} = ?1"),
            [id.0],
            |r| r.get(0),
        )?)
    }

    /// Every run of `lab` failed, registered an hour ago: none is live, so each may go.
    fn failed_an_hour_ago(lab: &Lab) -> Result<()> {
        lab.conn().execute(
            "UPDATE runs SET status = 'failed', created_at = created_at - 3600",
            [],
        )?;
        Ok(())
    }

    /// Writes `bytes` bytes at `path` (relative to the lab), its folders too.
    fn write(lab: &Lab, path: &str, bytes: usize) -> Result<PathBuf> {
        let path = lab.resolve(path);
        std::fs::create_dir_all(path.parent().context("a folder")?)?;
        std::fs::write(&path, vec![7u8; bytes])?;
        Ok(path)
    }

    /// A completed run of `new` as a trainer leaves it: 12 metric points, a best checkpoint of
    /// 2000 bytes in its own folder (sha256 `{id}` padded), an evaluation of it, tags, a note,
    /// a resume whose log it replaced and a log of its own, both in `logs/`.
    fn trained(lab: &Lab, new: NewRun) -> Result<RunId> {
        let id = lab.create_run(&NewRun {
            tags: vec!["typo".into()],
            notes: "wrong flags".into(),
            ..new
        })?;
        lab.mark_running(id, 10, 1)?;
        let points: Vec<MetricPoint> = (1..=10)
            .map(|i| MetricPoint::new(i, 1, metric::TRAIN_LOSS, 0.5))
            .chain([
                MetricPoint::new(10, 1, metric::TRAIN_ACC, 0.4),
                MetricPoint::new(10, 1, metric::DEV_ACC, 0.3),
            ])
            .collect();
        lab.record(id, &points, &RunSummaryUpdate::default())?;
        let path = format!("checkpoints/{}/best.safetensors", lab.run_folder_name(id));
        write(lab, &path, 2000)?;
        let ck = lab.add_checkpoint(&new_checkpoint(
            id,
            "best",
            10,
            path,
            format!("{:064}", id.0),
        ))?;
        lab.add_evaluation(&NewEvaluation {
            run: id,
            checkpoint_id: Some(ck),
            checkpoint_iteration: Some(10),
            checkpoint_sha256: Some(format!("{:064}", id.0)),
            protocol: Protocol::TestSplit,
            data_source: "synthetic".into(),
            options: serde_json::json!({}),
            metrics: vec![EvalMetric::new("top1_seed_gallery", 0.5)],
            code: CodeVersion::current(),
            ran_on: RanOn::here("cpu"),
        })?;
        let before = format!("logs/run-{id}-first.log");
        let log = format!("logs/run-{id}-resumed.log");
        write(lab, &before, 10)?;
        write(lab, &log, 20)?;
        lab.add_resume(
            id,
            &Resume {
                log_before: Some(before),
                ..resume(now(), 0, "testhost")
            },
        )?;
        lab.set_log_path(id, &log)?;
        lab.remove_tags(id, &["typo".into()])?;
        lab.set_tags(id, &["keep".into()])?;
        lab.finish_run(id, RunStatus::Failed, Some("wrong flags"))?;
        Ok(id)
    }

    use crate::lab::Resume;

    /// Every row a run has goes by the schema's cascade, its files and folder from the disk,
    /// and a tombstone says what it was; the run beside it keeps everything.
    #[test]
    fn a_deleted_run_leaves_no_row_nor_file_and_a_tombstone() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let kept = trained(&lab, new_run("kept"))?;
        let gone = trained(&lab, new_run("seed-resnet18-b32-d128"))?;
        let folder = lab.brought_dir(gone);
        let plan = lab.plan_deletion(&[gone])?;
        assert_eq!(plan.problems, Vec::<String>::new());
        let r = &plan.runs[0];
        assert_eq!(
            (
                r.metric_points,
                r.checkpoints,
                r.evaluations,
                r.missing_files
            ),
            (12, 1, 1, 0)
        );
        assert_eq!(
            r.checkpoint_files
                .iter()
                .map(|f| (f.shown.as_str(), f.bytes))
                .collect::<Vec<_>>(),
            [("checkpoints/run-2/best.safetensors", 2000)]
        );
        assert_eq!(
            plan.lines(),
            [
                "run 2 (seed-resnet18-b32-d128): failed, 0/10 epochs; 12 metric points, \
                 1 checkpoint (2.00 kB on disk), 1 evaluation",
                "  its logs: logs/run-2-resumed.log, logs/run-2-first.log",
            ]
        );
        assert_eq!(plan.question(), "delete run 2?");

        let deleted = lab.delete_runs(&plan)?;
        assert_eq!(
            deleted.lines(),
            [
                "deleted run 2 (seed-resnet18-b32-d128): 12 metric points, 1 checkpoint \
              (2.00 kB), 1 evaluation, its 2 logs removed"
            ]
        );
        assert_eq!(deleted.warnings, Vec::<String>::new());
        assert!(lab.run(gone)?.is_none());
        for (table, column) in [
            ("metrics", "run_id"),
            ("checkpoints", "run_id"),
            ("evaluations", "run_id"),
            ("run_tags", "run_id"),
            ("removed_tags", "run_id"),
            ("run_resumes", "run_id"),
        ] {
            assert_eq!(rows(&lab, table, column, gone)?, 0, "{table}");
            assert!(
                rows(&lab, table, column, kept)? > 0,
                "{table} of the run kept"
            );
        }
        let orphans: i64 = lab.conn().query_row(
            "SELECT count(*) FROM evaluation_metrics
              WHERE evaluation_id NOT IN (SELECT id FROM evaluations)",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(orphans, 0);
        assert!(!folder.exists(), "its emptied folder goes too");
        assert!(!dir.path().join("logs/run-2-first.log").exists());
        assert!(!dir.path().join("logs/run-2-resumed.log").exists());
        assert!(lab.brought_dir(kept).join("best.safetensors").is_file());
        assert!(dir.path().join("logs/run-1-resumed.log").is_file());

        let tombstone: (String, String, String, f64, String, String) = lab.conn().query_row(
            "SELECT name, model, status, created_at, hostname, deleted_on FROM deleted_runs
              WHERE id = ?1",
            [gone.0],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )?;
        assert_eq!(
            (&tombstone.0[..], &tombstone.1[..], &tombstone.2[..]),
            ("seed-resnet18-b32-d128", "resnet18", "failed")
        );
        assert!(tombstone.3 > 0.0);
        assert_eq!(tombstone.4, "testhost");
        assert_eq!(tombstone.5, crate::lab::this_host());
        assert_eq!(lab.deleted_run_ids()?, BTreeSet::from([gone]));
        Ok(())
    }

    /// SQLite gives a new row max(id) + 1: the newest run deleted, its id would name the next
    /// run. Neither a run registered nor one merged takes it.
    #[test]
    fn the_newest_run_deleted_leaves_its_id_to_no_other() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let first = lab.create_run(&new_run("first"))?;
        let newest = lab.create_run(&new_run("newest"))?;
        failed_an_hour_ago(&lab)?;
        lab.delete_runs(&lab.plan_deletion(&[newest])?)?;
        let next = lab.create_run(&new_run("next"))?;
        assert_eq!((first.0, newest.0, next.0), (1, 2, 3));
        let again = lab.plan_deletion(&[newest])?.refusal().context("refused")?;
        assert!(
            again.starts_with("nothing was deleted: run 2 (newest) was deleted already, on 20"),
            "{again}"
        );

        // A run merged in comes after it too, and one deleted here is not merged back.
        let other = dir.path().join("gpu.db");
        {
            let there = Lab::open(&other)?;
            let mut away = new_run("away");
            away.hostname = "gpu-box".into();
            there.create_run(&away)?;
            there.create_run(&new_run("typo"))?;
        }
        let summary = lab.merge_from(&Lab::open_read_only(&other)?)?;
        let added: Vec<(i64, i64)> = summary.added.iter().map(|a| (a.0 .0, a.1 .0)).collect();
        assert_eq!(added, [(1, 4), (2, 5)]);
        lab.conn()
            .execute("UPDATE runs SET status = 'failed' WHERE id = 5", [])?;
        lab.delete_runs(&lab.plan_deletion(&[RunId(5)])?)?;
        let again = lab.merge_from(&Lab::open_read_only(&other)?)?;
        assert_eq!(again.added, vec![]);
        assert_eq!(
            again.deleted,
            vec![(RunId(2), RunId(5), "typo".to_string())]
        );
        assert!(
            again
                .to_string()
                .contains("left out run 2 'typo' there: it is run 5, deleted from this lab"),
            "{again}"
        );
        // A run there like the one deleted here comes in with its lineage cut, and says so.
        Lab::open(&other)?.create_run(&NewRun {
            like_run: Some(RunId(2)),
            ..new_run("child")
        })?;
        let child = lab.merge_from(&Lab::open_read_only(&other)?)?;
        assert_eq!(
            child.cut,
            vec![(RunId(6), "child".to_string(), "--like", RunId(5))]
        );
        assert!(
            child.to_string().contains(
                "warning: run 6 'child' started from run 5 (--like), deleted from this lab: its \
                 lineage here ends with it"
            ),
            "{child}"
        );
        assert_eq!(lab.run(RunId(6))?.context("run 6")?.like_run, None);
        assert_eq!(lab.create_run(&new_run("after"))?, RunId(7));
        Ok(())
    }

    /// A run still training, or queued as its trainer loads, is refused with how to stop it;
    /// one whose trainer is gone (crashed) or that was queued long ago may go.
    #[test]
    fn a_live_run_is_refused_and_a_dead_one_may_go() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let mut elsewhere = new_run("training");
        elsewhere.hostname = format!("{}-elsewhere", crate::lab::this_host());
        let training = lab.create_run(&elsewhere)?;
        lab.mark_running(training, 10, 1)?;
        let queued = lab.create_run(&new_run("loading"))?;
        // Registered by this process on this host: its trainer, seen there, however long ago.
        let mut here = new_run("loading here");
        here.hostname = crate::lab::this_host();
        let loading = lab.create_run(&here)?;
        let plan = lab.plan_deletion(&[training, queued, loading])?;
        let refusal = plan.refusal().context("refused")?;
        assert!(
            refusal.starts_with("nothing was deleted:\n  run 1 (training) is running on host '"),
            "{refusal}"
        );
        assert!(
            refusal.contains(
                "-elsewhere': stop it first (Ctrl-C where it trains, or X in the dashboard)"
            ),
            "{refusal}"
        );
        assert!(
            refusal.contains("\n  run 2 (loading) is queued, its trainer perhaps still loading"),
            "{refusal}"
        );
        let pid = std::process::id();
        assert!(
            refusal.contains(&format!(
                "\n  run 3 (loading here) is queued, its trainer (pid {pid}) still loading"
            )),
            "{refusal}"
        );
        let err = lab.delete_runs(&plan).unwrap_err().to_string();
        assert_eq!(err, refusal);
        assert!(lab.run(training)?.is_some() && lab.run(queued)?.is_some());

        // Its heartbeat stale: crashed. Queued an hour ago: a trainer killed as it loaded. The
        // one whose trainer is there is refused still.
        lab.conn().execute(
            "UPDATE runs SET heartbeat_at = heartbeat_at - 3600, created_at = created_at - 3600
             WHERE id IN (?1, ?2)",
            [training.0, queued.0],
        )?;
        let plan = lab.plan_deletion(&[training, queued, loading])?;
        assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
        assert!(plan.problems[0].starts_with("run 3 (loading here) is queued, its trainer (pid"));
        let plan = lab.plan_deletion(&[training, queued])?;
        assert_eq!(plan.problems, Vec::<String>::new());
        assert_eq!(
            plan.runs.iter().map(|r| r.status).collect::<Vec<_>>(),
            [RunStatus::Crashed, RunStatus::Queued]
        );
        assert_eq!(plan.question(), "delete 2 runs?");
        lab.delete_runs(&plan)?;
        assert_eq!(
            lab.list_runs()?.iter().map(|r| r.id).collect::<Vec<_>>(),
            [loading]
        );
        let status: String = lab.conn().query_row(
            "SELECT status FROM deleted_runs WHERE id = ?1",
            [training.0],
            |r| r.get(0),
        )?;
        assert_eq!(status, "crashed", "as it read");
        Ok(())
    }

    /// A run that others started from (`--init`, by the link or by the file's sha256) is
    /// refused with them named, unless they go with it; one that others only took the settings
    /// of (`--like`) goes, the plan saying that they stop naming it.
    #[test]
    fn a_run_in_others_lineage_goes_only_with_them() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let parent = trained(&lab, new_run("parent"))?;
        let sha = format!("{:064}", parent.0);
        let child = |name: &str| -> Result<RunId> {
            let mut new = new_run(name);
            new.hyper.init = Some(
                lab.resolve("checkpoints/run-1/best.safetensors")
                    .display()
                    .to_string(),
            );
            new.hyper.init_sha256 = Some(sha.clone());
            lab.create_run(&new)
        };
        let linked = child("linked")?;
        assert_eq!(lab.run(linked)?.context("run")?.init_run, Some(parent));
        let by_hash = child("by-hash")?;
        lab.conn().execute(
            "UPDATE runs SET init_run_id = NULL WHERE id = ?1",
            [by_hash.0],
        )?;
        let like = lab.create_run(&NewRun {
            like_run: Some(parent),
            ..new_run("like")
        })?;
        failed_an_hour_ago(&lab)?;
        let plan = lab.plan_deletion(&[parent])?;
        assert_eq!(
            plan.refusal(),
            Some(format!(
                "nothing was deleted: run 1 (parent) is in the lineage of other runs: runs \
                 2 (linked), 3 (by-hash) started from its weights (--init); deleting it would \
                 cut their lineage (`eval --exclude-train-identities` leaves out the people a \
                 run's ancestors trained on): keep it, or delete them with it (`facenet-lab{} \
                 lab delete 1 2 3`)",
                crate::lab::db_flag(lab.path())
            ))
        );
        // With them, it goes; the run like it stays, and is told of.
        let plan = lab.plan_deletion(&[linked, parent, by_hash])?;
        assert_eq!(plan.problems, Vec::<String>::new());
        let said = plan.runs[1].lines();
        assert_eq!(
            said.last().map(String::as_str),
            Some("  run 4 (like) took its settings (--like): it keeps them, and its record stops naming run 1"),
            "{said:?}"
        );
        assert!(plan.runs[0].liked_by.is_empty());
        let plan = lab.plan_deletion(&[linked, parent, by_hash, like, parent])?;
        assert!(plan.runs[1].liked_by.is_empty(), "deleted with it");
        assert_eq!(plan.problems, Vec::<String>::new());
        assert_eq!(plan.ids(), [linked, parent, by_hash, like], "each once");
        lab.delete_runs(&plan)?;
        assert_eq!(lab.list_runs()?.len(), 0);
        Ok(())
    }

    /// Ids the lab lacks are named, and the runs asked for with them stay.
    #[test]
    fn unknown_ids_are_named_and_nothing_goes() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&new_run("r"))?;
        lab.finish_run(id, RunStatus::Failed, None)?;
        let plan = lab.plan_deletion(&[RunId(99), id, RunId(98)])?;
        let refusal = plan.refusal().context("refused")?;
        assert!(
            refusal.starts_with("nothing was deleted: no runs 99, 98 in lab ':memory:'"),
            "{refusal}"
        );
        assert!(lab.delete_runs(&plan).is_err());
        assert!(lab.run(id)?.is_some());
        Ok(())
    }

    /// A file the run records but this lab did not write for it stays: one in another lab's
    /// folder, one another run's checkpoint is recorded at, one another run started from, and
    /// a log given with --log-path outside `logs/`. A file already gone is no matter.
    #[test]
    fn files_that_are_not_the_runs_own_stay() -> Result<()> {
        let dir = tempfile::tempdir()?;
        // Another lab's folder beside this lab's.
        std::fs::create_dir(dir.path().join("here"))?;
        let lab = Lab::open(&dir.path().join("here/lab.db"))?;
        let run = lab.create_run(&new_run("merged"))?;
        let other = lab.create_run(&new_run("other"))?;
        let pinning = lab.create_run(&new_run("pinning"))?;
        let at = |run: RunId, kind: &str, path: &str, sha: &str| {
            lab.add_checkpoint(&new_checkpoint(run, kind, 10, path, sha))
        };
        let elsewhere = write(&lab, "../gpu/checkpoints/run-7/best.safetensors", 5)?;
        at(run, "best", &lab.relative(&elsewhere), "a")?;
        let shared = write(&lab, "checkpoints/run-1/final.safetensors", 5)?;
        at(run, "final", "checkpoints/run-1/final.safetensors", "b")?;
        at(other, "final", "checkpoints/run-1/final.safetensors", "b")?;
        let pinned = write(&lab, "checkpoints/run-1/periodic.safetensors", 5)?;
        at(
            run,
            "periodic",
            "checkpoints/run-1/periodic.safetensors",
            "c",
        )?;
        // It started from run 2's copy of the file: run 1 is not in its lineage, but the file
        // is what its --like and resume read again.
        lab.conn().execute(
            "UPDATE runs SET init_sha256 = 'c', init_run_id = ?2 WHERE id = ?1",
            [pinning.0, other.0],
        )?;
        at(run, "interrupt", "checkpoints/run-1/gone.safetensors", "d")?;
        let own_log = write(&lab, "mine.log", 5)?;
        lab.set_log_path(run, "mine.log")?;
        failed_an_hour_ago(&lab)?;
        let plan = lab.plan_deletion(&[run])?;
        let r = &plan.runs[0];
        assert_eq!((r.checkpoint_files.len(), r.missing_files), (0, 1));
        let kept: Vec<&str> = r.kept.iter().map(|(_, why)| why.as_str()).collect();
        assert_eq!(
            kept,
            [
                "not in this lab's folder for the run: the lab it came from may still record it",
                "run 2's checkpoint is recorded there too",
                "run 3 started from it (--init)",
                "a log given with --log-path outside the lab's logs folder: not the lab's to \
                 remove",
            ]
        );
        assert!(
            plan.lines()[0].contains("4 checkpoints (no file of them to remove: see below)"),
            "{:?}",
            plan.lines()
        );
        let deleted = lab.delete_runs(&plan)?;
        assert_eq!(
            deleted.lines(),
            ["deleted run 1 (merged): 0 metric points, 4 checkpoint records removed"]
        );
        for stays in [elsewhere, shared, pinned, own_log] {
            assert!(stays.is_file(), "{}", stays.display());
        }
        assert!(lab.brought_dir(run).is_dir(), "not empty: it stays");
        Ok(())
    }

    /// The summary says whether a run's checkpoint files are all gone already (a lab copied
    /// without them) or kept, each with why, on the lines below.
    #[test]
    fn a_plan_says_whether_checkpoint_files_are_missing_or_kept() {
        let mut what = RunDeletion {
            run: crate::lab::fixtures::run(35, "seed", "resnet18"),
            status: RunStatus::Failed,
            metric_points: 2,
            checkpoints: 2,
            evaluations: 0,
            checkpoint_files: Vec::new(),
            logs: Vec::new(),
            missing_files: 2,
            kept: Vec::new(),
            liked_by: Vec::new(),
        };
        assert_eq!(
            what.lines(),
            [
                "run 35 (seed): failed, 10/10 epochs; 2 metric points, 2 checkpoints (no file of \
              them on disk), 0 evaluations"
            ]
        );
        what.missing_files = 1;
        what.kept = vec![("checkpoints/run-35/best.safetensors".into(), "why".into())];
        assert_eq!(
            what.lines(),
            [
                "run 35 (seed): failed, 10/10 epochs; 2 metric points, 2 checkpoints (no file \
                 of them to remove: see below), 0 evaluations",
                "  kept on disk: checkpoints/run-35/best.safetensors (why)",
            ]
        );
    }

    /// A log goes only where it is the lab's alone: not one another lab in its folder records
    /// (the lab a run was merged from, a copy of the lab), which shares its `logs/`, nor one
    /// whose path leads out of `logs/` (`logs/../outside.log`).
    #[test]
    fn a_log_another_lab_records_or_one_outside_logs_stays() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let shared = lab.create_run(&new_run("shared"))?;
        write(&lab, "logs/shared.log", 5)?;
        lab.set_log_path(shared, "logs/shared.log")?;
        let escaping = lab.create_run(&new_run("escaping"))?;
        std::fs::write(dir.path().join("outside.log"), "x")?;
        lab.set_log_path(escaping, "logs/../outside.log")?;
        failed_an_hour_ago(&lab)?;
        let other = Lab::open(&dir.path().join("other.db"))?;
        let theirs = other.create_run(&new_run("theirs"))?;
        other.set_log_path(theirs, "./logs/shared.log")?;
        let plan = lab.plan_deletion(&[shared, escaping])?;
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let kept: Vec<(&str, &str)> = plan
            .runs
            .iter()
            .flat_map(|r| r.kept.iter().map(|(f, why)| (f.as_str(), why.as_str())))
            .collect();
        assert_eq!(
            kept,
            [
                (
                    "logs/shared.log",
                    "lab 'other.db' beside this one records it too"
                ),
                (
                    "logs/../outside.log",
                    "a log given with --log-path outside the lab's logs folder: not the lab's \
                     to remove"
                ),
            ]
        );
        assert!(plan.runs.iter().all(|r| r.logs.is_empty()), "{plan:?}");
        lab.delete_runs(&plan)?;
        assert!(dir.path().join("logs/shared.log").is_file());
        assert!(dir.path().join("outside.log").is_file());
        // Once the other lab records it no more, a run of this one that has it lets it go.
        other.set_log_path(theirs, "logs/theirs.log")?;
        let mine = lab.create_run(&new_run("mine"))?;
        lab.set_log_path(mine, "logs/shared.log")?;
        failed_an_hour_ago(&lab)?;
        let plan = lab.plan_deletion(&[mine])?;
        assert_eq!(plan.runs[0].logs.len(), 1, "{plan:?}");
        lab.delete_runs(&plan)?;
        assert!(!dir.path().join("logs/shared.log").exists());
        Ok(())
    }

    /// A file that cannot be removed is said after the rows went, not an error: the lab no
    /// longer records it. (A folder where the checkpoint file was stands in: even root cannot
    /// remove it as a file.)
    #[test]
    fn a_file_that_cannot_be_removed_is_a_warning() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let run = lab.create_run(&new_run("r"))?;
        std::fs::create_dir_all(lab.brought_dir(run).join("best.safetensors"))?;
        lab.add_checkpoint(&new_checkpoint(
            run,
            "best",
            10,
            "checkpoints/run-1/best.safetensors",
            "a",
        ))?;
        failed_an_hour_ago(&lab)?;
        let deleted = lab.delete_runs(&lab.plan_deletion(&[run])?)?;
        assert!(lab.run(run)?.is_none());
        assert_eq!(deleted.warnings.len(), 1, "{deleted:?}");
        assert!(
            deleted.warnings[0].starts_with(
                "run 1's checkpoint 'checkpoints/run-1/best.safetensors' could not be removed ("
            ) && deleted.warnings[0]
                .ends_with("); the lab no longer records it: remove it by hand"),
            "{}",
            deleted.warnings[0]
        );
        Ok(())
    }

    /// What the person agreed to may not grow: a run evaluated since its plan was read is not
    /// deleted; nor is anything where the connection does not enforce foreign keys, which
    /// would leave its rows behind.
    #[test]
    fn a_plan_that_no_longer_holds_deletes_nothing() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let run = trained(&lab, new_run("r"))?;
        let plan = lab.plan_deletion(&[run])?;
        lab.record(
            run,
            &[MetricPoint::new(11, 2, metric::TRAIN_LOSS, 0.4)],
            &RunSummaryUpdate::default(),
        )?;
        let err = lab.delete_runs(&plan).unwrap_err().to_string();
        assert_eq!(
            err,
            "nothing was deleted: the run changed since its summary was read (a resume, an \
             evaluation, another deletion meanwhile): look again"
        );
        assert!(lab.run(run)?.is_some());
        assert!(lab.brought_dir(run).join("best.safetensors").is_file());

        let plan = lab.plan_deletion(&[run])?;
        lab.conn().pragma_update(None, "foreign_keys", false)?;
        let err = lab.delete_runs(&plan).unwrap_err().to_string();
        assert!(err.contains("does not enforce foreign keys"), "{err}");
        assert_eq!(rows(&lab, "metrics", "run_id", run)?, 13);
        lab.conn().pragma_update(None, "foreign_keys", true)?;
        lab.delete_runs(&plan)?;
        assert_eq!(rows(&lab, "metrics", "run_id", run)?, 0);
        Ok(())
    }
}
