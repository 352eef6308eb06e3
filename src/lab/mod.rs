//! The lab database: every dataset, split, run, metric and checkpoint, in one SQLite file.
//!
//! Opening is careful: a file that is not a facenet-lab database is refused and left byte-for-byte
//! untouched, and a database written by a newer facenet-lab is refused rather than "upgraded".
//! Only [`Lab::open`] starts a lab where there is none; opening a lab that is already at this
//! build's schema writes nothing, so it never waits for a writer. Writers use WAL, immediate
//! transactions and a busy timeout, so several trainers and a dashboard can share one lab.

mod annotations;
pub use annotations::tag_problem;
mod checkpoints;
mod datasets;
mod deletion;
mod evaluations;
#[cfg(test)]
pub(crate) mod fixtures;
mod lineage;
mod liveness;
pub mod logs;
mod machine;
mod merge;
mod metrics;
pub mod params;
mod resumes;
mod runs;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OpenFlags};

pub use checkpoints::{Checkpoint, NewCheckpoint};
pub use datasets::{DatasetId, DatasetRecord, MemberRecord, SplitRecord, SplitSummary};
pub use deletion::{Deleted, DeletionPlan, PlannedFile, Removed, RunDeletion};
pub use evaluations::{
    table_evaluation, EvalMetric, Evaluation, EvaluationId, NewEvaluation, Protocol, RanOn,
};
pub use lineage::{Lineage, Origin};
pub use liveness::{this_host, Process, Processes, TRAINS_ON};
pub use machine::Machine;
pub use merge::MergeSummary;
pub use metrics::{
    mean_std, median, metric, MetricPoint, MetricRow, SeriesPoint, RECENT_SPEED_STEPS,
};
pub use resumes::Resume;
pub use runs::{CodeVersion, Hyperparams, NewRun, Run, RunId, RunStatus, RunSummaryUpdate};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};

/// A run whose heartbeat is older than this is shown as crashed: its process died without
/// saying so (on the run's own host, its process is looked at instead: [`Processes`]). Trainers beat every few seconds, so 30 s leaves room for a slow evaluation.
pub const STALE_HEARTBEAT_SECS: f64 = 30.0;

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`Lab::landing`] tries a write that must land, each try waiting the busy timeout.
pub const LANDING_TRIES: usize = 6;

#[cfg(not(test))]
fn busy_timeout() -> Duration {
    BUSY_TIMEOUT
}

#[cfg(test)]
thread_local! {
    /// A test's own busy timeout: zero makes any wait for a writer an error instead of a delay.
    static TEST_BUSY_TIMEOUT: std::cell::Cell<Duration> = const { std::cell::Cell::new(BUSY_TIMEOUT) };
}

#[cfg(test)]
fn busy_timeout() -> Duration {
    TEST_BUSY_TIMEOUT.get()
}

/// Runs `f` with connections opened on this thread waiting `wait` at most for another writer.
#[cfg(test)]
pub(crate) fn with_busy_timeout<T>(wait: Duration, f: impl FnOnce() -> T) -> T {
    TEST_BUSY_TIMEOUT.set(wait);
    let out = f();
    TEST_BUSY_TIMEOUT.set(BUSY_TIMEOUT);
    out
}

/// Whether `err` is another writer holding the lab past the busy timeout: a write that may
/// succeed when tried again later, unlike every other error.
pub fn is_busy(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<rusqlite::Error>().is_some_and(|e| {
            matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            )
        })
    })
}

/// An open lab database.
pub struct Lab {
    conn: Connection,
    path: PathBuf,
    /// The file this connection writes to, as it was when opened (none in memory).
    file: Option<OpenedFile>,
}

/// A file's identity (device and inode): another file put at the same path has another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId(u64, u64);

impl FileId {
    #[cfg(unix)]
    fn of(path: &Path) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| FileId(m.dev(), m.ino()))
    }

    #[cfg(not(unix))]
    fn of(_path: &Path) -> Option<FileId> {
        None
    }
}

/// The lab file a connection opened: its absolute path (a change of working directory is not
/// a move) and its identity then.
#[derive(Clone, Debug)]
struct OpenedFile {
    path: PathBuf,
    id: FileId,
}

impl OpenedFile {
    fn of(path: &Path) -> Option<OpenedFile> {
        let path = std::path::absolute(path).ok()?;
        FileId::of(&path).map(|id| OpenedFile { path, id })
    }

    /// Whether another file (or none) now stands at the path.
    fn moved(&self) -> bool {
        FileId::of(&self.path) != Some(self.id)
    }
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("path", &self.path).finish()
    }
}

/// Seconds since the Unix epoch, the unit of every timestamp in the lab.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The lab a command uses when it is given no `--db` (nor `FACENET_LAB_DB`).
pub const DEFAULT_DB: &str = "lab.db";

/// ` --db PATH` for the commands a message suggests, empty for the default lab, so that a
/// suggestion copied from the terminal acts on the lab the user was working with.
pub fn db_flag(path: &Path) -> String {
    // Without --db a command takes FACENET_LAB_DB, which may name another lab.
    let env_set = std::env::var_os("FACENET_LAB_DB").is_some_and(|v| !v.is_empty());
    if path == Path::new(DEFAULT_DB) && !env_set {
        String::new()
    } else {
        format!(
            " --db {}",
            crate::format::shell_quote(&path.to_string_lossy())
        )
    }
}

/// Whether the file at `path` is a lab: an SQLite database with a `runs` table. A lab without a
/// `-wal` file beside it is read as immutable, which takes no lock and leaves no `-wal` or
/// `-shm` file behind (a read-only open of a lab in WAL mode makes both, and keeps them); one
/// with a `-wal` file is open or was left so, and is read as usual, since its tables may be in
/// that file alone.
fn holds_a_lab(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let opened = if Path::new(&wal).exists() {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
    } else {
        // A URI names the file, so its `?`, `#` and `%` are escaped.
        let mut uri = String::from("file:");
        for c in path.to_string_lossy().chars() {
            match c {
                '?' | '#' | '%' => uri.push_str(&format!("%{:02X}", c as u32)),
                c => uri.push(c),
            }
        }
        uri.push_str("?immutable=1");
        Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
    };
    let Ok(conn) = opened else {
        return false;
    };
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .is_ok_and(|n| n == 1)
}

/// The names of the `.db` files in `dir`, sorted: the labs that may stand there.
fn db_files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".db"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The labs (`.db` files that hold one) in the folder of `path`, sorted: what a mistyped `--db`
/// may have meant. At most five entries, the last `and N more` where there are more.
fn labs_beside(path: &Path) -> Vec<String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut labs: Vec<String> = db_files_in(dir)
        .into_iter()
        .filter(|n| holds_a_lab(&dir.join(n)))
        .collect();
    if labs.len() > 5 {
        let more = labs.len() - 4;
        labs.truncate(4);
        labs.push(format!("and {more} more"));
    }
    labs
}

impl Lab {
    /// Opens the lab at `path`, creating it if it does not exist, and migrates it to the
    /// current schema (taking the write lock only when it is behind).
    pub fn open(path: &Path) -> Result<Lab> {
        Self::check_existing(path)?;
        Self::require_folder(
            path,
            "cannot start a lab at",
            "create it, or check the path",
        )?;
        let conn = Connection::open(path)
            .with_context(|| format!("opening lab database '{}'", path.display()))?;
        Self::configure(&conn)?;
        schema::migrate(&conn)
            .with_context(|| format!("migrating lab database '{}'", path.display()))?;
        let file = OpenedFile::of(path);
        if let Some(file) = file.clone() {
            // Once another file stands at the path (a `git checkout` or `git stash` of a lab
            // kept in git, a file moved over it), every commit is rolled back: this connection's
            // writes and checkpoints would go to the old file while the new one shares its
            // write-ahead log, which corrupts the new one.
            conn.commit_hook(Some(move || file.moved()));
        }
        Ok(Lab {
            conn,
            path: path.to_path_buf(),
            file,
        })
    }

    /// Refuses, saying what happened, when the lab file this connection opened is no longer
    /// the one at its path ([`Lab::open`] already makes every commit fail then). It first
    /// empties the write-ahead log, unless another process is reading it: the log is shared by
    /// name with the file now at the path, and holds the old file's pages, which SQLite would
    /// otherwise lay over the new file when it is next opened.
    pub fn ensure_unmoved(&self) -> Result<()> {
        if !self.file.as_ref().is_some_and(OpenedFile::moved) {
            return Ok(());
        }
        let emptied = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_ok_and(|busy| busy == 0);
        let path = self.path.display();
        let state = if emptied {
            "The write-ahead log it shared with the old file is emptied, so the lab now at \
             that path opens as it was put there"
                .to_string()
        } else {
            format!(
                "Another process is reading the write-ahead log it shares with the old file: \
                 stop the processes using the lab, then check it with `sqlite3 '{path}' \
                 'PRAGMA integrity_check'`"
            )
        };
        bail!(
            "the lab file '{path}' was replaced or removed while this process was writing to it \
             (a `git checkout` or `git stash` of it, or a file moved over it?), so nothing more is \
             written: what it wrote since went with the old file. {state}"
        )
    }

    /// Opens the lab at `path` for a command that reads or adds to a lab but never starts one
    /// (`runs`, `eval`): a path that holds no lab is refused, naming it, instead of becoming an
    /// empty lab. Migrates it like [`Lab::open`].
    pub fn open_existing(path: &Path) -> Result<Lab> {
        Self::require_lab(path)?;
        Self::open(path)
    }

    /// Opens an existing lab without writing to it (no migration, no file creation).
    pub fn open_read_only(path: &Path) -> Result<Lab> {
        Self::require_lab(path)?;
        Self::check_existing(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening lab database '{}'", path.display()))?;
        conn.busy_timeout(busy_timeout())?;
        let version = schema::user_version(&conn)?;
        if version < SCHEMA_VERSION {
            bail!(
                "lab database '{}' has schema version {version}, older than this build's \
                 {SCHEMA_VERSION}: migrate it once with `facenet-lab --db '{}' runs`, then run \
                 this command again",
                path.display(),
                path.display()
            );
        }
        Ok(Lab {
            conn,
            path: path.to_path_buf(),
            file: None,
        })
    }

    /// Refuses a path in a folder that does not exist, saying so (SQLite would only say it is
    /// "unable to open" the file).
    fn require_folder(path: &Path, what: &str, advice: &str) -> Result<()> {
        match path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(dir) if !dir.is_dir() => bail!(
                "{what} '{}': the folder '{}' does not exist ({advice})",
                path.display(),
                dir.display()
            ),
            _ => Ok(()),
        }
    }

    /// Refuses a path where no lab was ever written: a missing file (a typo in --db, most
    /// often) or an empty one.
    pub fn require_lab(path: &Path) -> Result<()> {
        Self::require_folder(path, "no lab database at", "check the path")?;
        let make_one = format!(
            "check the path, or record a run there to start a lab (`facenet-lab --db '{}' run ...`)",
            path.display()
        );
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let beside = labs_beside(path);
                let beside = if beside.is_empty() {
                    String::new()
                } else {
                    format!("; labs in that folder: {}", beside.join(", "))
                };
                bail!(
                    "no lab database at '{}': {make_one}{beside}",
                    path.display()
                )
            }
            Ok(m) if m.is_file() && m.len() == 0 => bail!(
                "'{}' is an empty file, not a lab database yet: {make_one}",
                path.display()
            ),
            _ => Ok(()),
        }
    }

    /// A fresh in-memory lab, for tests.
    pub fn open_in_memory() -> Result<Lab> {
        let conn = Connection::open_in_memory()?;
        Self::configure(&conn)?;
        schema::migrate(&conn)?;
        Ok(Lab {
            conn,
            path: PathBuf::from(":memory:"),
            file: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the lab. Files the lab points to (checkpoints, logs) live under it
    /// and are recorded relative to it, so a lab moved with its files keeps working.
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Where `report` and `eval` write their figures unless told otherwise: `reports/` beside
    /// the lab, as its logs and checkpoints are, for a lab file whose stem is `lab` (`lab.db`);
    /// `reports/<stem>/` for any other, so that two labs in one folder keep apart (as their
    /// checkpoints do, [`Lab::run_folder_name`]).
    pub fn reports_dir(&self) -> PathBuf {
        let reports = self.path.with_file_name("reports");
        match self.path.file_stem().and_then(|s| s.to_str()) {
            Some(stem) if stem != "lab" => reports.join(stem),
            _ => reports,
        }
    }

    /// A recorded path made usable: relative ones are taken from the lab's directory.
    pub fn resolve(&self, recorded: &str) -> PathBuf {
        self.dir().join(recorded)
    }

    /// A path (absolute, or relative to the working directory) as the lab records it: relative
    /// to the lab's directory when it lies below it, else absolute.
    pub fn relative(&self, path: &Path) -> String {
        relative_to(&self.dir(), path)
    }

    /// The raw connection, for modules that read the lab in their own way (reports, dashboard).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `write` (the end of a run, which must land) with the whole busy timeout, trying
    /// again while another writer holds the lab, [`LANDING_TRIES`] times in all; says once that
    /// it waits, and for what.
    pub fn landing<T>(&self, what: &str, mut write: impl FnMut() -> Result<T>) -> Result<T> {
        self.wait_briefly(false)?;
        let mut tries = 1;
        loop {
            match write() {
                Err(e) if is_busy(&e) && tries < LANDING_TRIES => {
                    if tries == 1 {
                        crate::say!(
                            "the lab is held by another writer (a lab merge?): waiting to record \
                             {what}…"
                        );
                    }
                    tries += 1;
                }
                done => return done,
            }
        }
    }

    /// Waits `BRIEFLY` at most for another writer (`true`), or the whole busy timeout, as a lab
    /// waits when opened: a writer already held back by another's long transaction tries again
    /// without stopping its work for long each time.
    pub fn wait_briefly(&self, briefly: bool) -> Result<()> {
        const BRIEFLY: Duration = Duration::from_millis(100);
        let wait = if briefly { BRIEFLY } else { busy_timeout() };
        self.conn.busy_timeout(wait.min(busy_timeout()))?;
        Ok(())
    }

    fn configure(conn: &Connection) -> Result<()> {
        conn.busy_timeout(busy_timeout())?;
        // WAL lets a dashboard read while trainers write; NORMAL is durable at every checkpoint
        // and fast enough to record each training step.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    /// Refuses, without writing a byte, any existing file that is not a facenet-lab database
    /// or that a newer facenet-lab wrote.
    fn check_existing(path: &Path) -> Result<()> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(e).with_context(|| format!("reading lab database '{}'", path.display()))
            }
        };
        if meta.is_dir() {
            bail!(
                "'{}' is a directory, not a lab database: name a lab file, such as lab.db",
                path.display()
            );
        }
        if meta.len() == 0 {
            return Ok(());
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening lab database '{}'", path.display()))?;
        conn.busy_timeout(busy_timeout())?;
        // SQLite itself tells a non-database apart. Reading the header with std::fs instead
        // would be a bug: closing any descriptor of the file drops this process's POSIX locks
        // on it, so another process could checkpoint and delete the WAL under a live trainer.
        let app_id: i64 = match conn.query_row("PRAGMA application_id", [], |r| r.get(0)) {
            Ok(id) => id,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                bail!(
                    "'{}' is not a facenet-lab database (not an SQLite file); it was left untouched: \
                     name another file, or move this one away",
                    path.display()
                )
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading lab database '{}'", path.display()))
            }
        };
        let version = schema::user_version(&conn)?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if app_id != APPLICATION_ID && !(app_id == 0 && version == 0 && tables == 0) {
            bail!(
                "'{}' is an SQLite database but not a facenet-lab lab; it was left untouched: \
                 name another file",
                path.display()
            );
        }
        if version > SCHEMA_VERSION {
            bail!(
                "lab database '{}' was written by a newer facenet-lab (schema version {version}; \
                 this build knows up to {SCHEMA_VERSION}). It was left untouched: upgrade facenet-lab to open it",
                path.display()
            );
        }
        Ok(())
    }
}

/// `path` relative to `dir` when it lies below it, else absolute; both may be relative to the
/// working directory, and neither needs to exist.
pub(crate) fn relative_to(dir: &Path, path: &Path) -> String {
    if let Ok(rest) = path.strip_prefix(dir) {
        return rest.to_string_lossy().into_owned();
    }
    let path = canonical(path);
    path.strip_prefix(canonical(dir))
        .unwrap_or(&path)
        .to_string_lossy()
        .into_owned()
}

/// The absolute form of `path`, symbolic links resolved as far as it exists: a file not written
/// yet (or not copied here) still compares equal to its directory's canonical path.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    if let Ok(c) = path.canonicalize() {
        return c;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            canonical(parent).join(name)
        }
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_sqlite_file_and_leaves_it_untouched() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("notes.db");
        let bytes = b"these are my notes, not a database\n".repeat(100);
        std::fs::write(&path, &bytes)?;
        let err = Lab::open(&path).unwrap_err().to_string();
        assert!(err.contains("not a facenet-lab database"), "{err}");
        assert_eq!(std::fs::read(&path)?, bytes);
        assert!(!dir.path().join("notes.db-wal").exists());
        Ok(())
    }

    #[test]
    fn refuses_foreign_sqlite_database_and_leaves_it_untouched() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("other.db");
        {
            let c = Connection::open(&path)?;
            c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;
        }
        let before = std::fs::read(&path)?;
        let err = Lab::open(&path).unwrap_err().to_string();
        assert!(err.contains("not a facenet-lab lab"), "{err}");
        assert_eq!(std::fs::read(&path)?, before);
        Ok(())
    }

    #[test]
    fn refuses_database_from_newer_version() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        drop(Lab::open(&path)?);
        {
            let c = Connection::open(&path)?;
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)?;
        }
        let before = std::fs::read(&path)?;
        let err = Lab::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer facenet-lab"), "{err}");
        assert_eq!(std::fs::read(&path)?, before);
        Ok(())
    }

    #[test]
    fn creates_and_reopens_a_lab() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        drop(Lab::open(&path)?);
        let lab = Lab::open(&path)?;
        let mode: String = lab
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        assert_eq!(mode, "wal");
        let fk: i64 = lab
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
        assert_eq!(fk, 1);
        drop(lab);
        let ro = Lab::open_read_only(&path)?;
        assert_eq!(ro.list_runs()?.len(), 0);
        Ok(())
    }

    #[test]
    fn recorded_paths_are_relative_to_the_lab() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let ck = dir.path().join("checkpoints/run-1/final.safetensors");
        assert_eq!(lab.relative(&ck), "checkpoints/run-1/final.safetensors");
        assert_eq!(lab.resolve("checkpoints/run-1/final.safetensors"), ck);
        assert_eq!(lab.relative(Path::new("/elsewhere/x")), "/elsewhere/x");
        Ok(())
    }

    #[test]
    fn opening_an_up_to_date_lab_does_not_wait_for_a_writer() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        drop(Lab::open(&path)?);
        let writer = Connection::open(&path)?;
        writer.execute_batch("BEGIN IMMEDIATE")?;
        // With no time to wait, a write (a migration, a pragma that writes) would fail with
        // "database is locked"; opening succeeds because it writes nothing.
        let opened = with_busy_timeout(Duration::ZERO, || {
            Lab::open(&path).and_then(|lab| lab.list_runs())
        });
        assert_eq!(opened?.len(), 0);
        // The check can fail: a write under the same conditions is refused at once.
        let other = Connection::open(&path)?;
        other.busy_timeout(Duration::ZERO)?;
        let err = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");
        writer.execute_batch("COMMIT")?;
        Ok(())
    }

    /// `git checkout lab.db` under a running trainer: the file at the path is another one. The
    /// trainer's connection must not go on committing into the old file, unseen.
    #[test]
    fn a_lab_file_replaced_under_a_writer_takes_no_more_commits() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        let lab = Lab::open(&path)?;
        let one = lab.create_run(&fixtures::new_run("one"))?;
        lab.ensure_unmoved()?;
        // The lab as it was with one run, put in place by a rename, as git does.
        let copy = dir.path().join("copy.db");
        lab.conn()
            .execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
        lab.create_run(&fixtures::new_run("two"))?;
        std::fs::rename(&copy, &path)?;

        let err = lab.ensure_unmoved().unwrap_err().to_string();
        assert!(err.contains("was replaced or removed"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(
            err.contains("write-ahead log it shared with the old file is emptied"),
            "{err}"
        );
        let refused = lab.create_run(&fixtures::new_run("three")).unwrap_err();
        assert!(
            format!("{refused:#}").contains("constraint failed"),
            "{refused:#}"
        );
        assert!(lab.heartbeat(one).is_err(), "autocommitted writes too");
        drop(lab);

        let now = Lab::open(&path)?;
        let check: String = now
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        assert_eq!(check, "ok");
        let names: Vec<String> = now.list_runs()?.into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["one"]);
        // A lab opened on the new file writes as usual.
        now.create_run(&fixtures::new_run("four"))?;
        Ok(())
    }

    #[test]
    fn commands_that_need_a_lab_refuse_a_missing_or_empty_file_and_name_it() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let typo = dir.path().join("lab.dbb");
        for open in [Lab::open_existing, Lab::open_read_only] {
            let err = open(&typo).unwrap_err().to_string();
            assert!(
                err.contains(&format!("no lab database at '{}'", typo.display())),
                "{err}"
            );
            assert!(!typo.exists(), "nothing created");
        }
        // A folder that is not there: said, rather than SQLite's "unable to open", also when
        // the command would start a lab.
        let nowhere = dir.path().join("no-such-dir").join("lab.db");
        for open in [Lab::open_existing, Lab::open_read_only, Lab::open] {
            let err = open(&nowhere).unwrap_err().to_string();
            assert!(
                err.contains(&format!(
                    "the folder '{}' does not exist",
                    dir.path().join("no-such-dir").display()
                )),
                "{err}"
            );
        }
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"")?;
        for open in [Lab::open_existing, Lab::open_read_only] {
            let err = open(&empty).unwrap_err().to_string();
            assert!(err.contains("is an empty file, not a lab"), "{err}");
            assert_eq!(std::fs::metadata(&empty)?.len(), 0, "left untouched");
        }
        Ok(())
    }

    #[test]
    fn an_older_lab_read_only_says_how_to_migrate_that_file() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gpu.db");
        {
            let conn = Connection::open(&path)?;
            schema::apply_up_to(&conn, 1)?;
        }
        let err = Lab::open_read_only(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("`facenet-lab --db '{}' runs`", path.display())),
            "{err}"
        );
        Lab::open_existing(&path)?;
        Lab::open_read_only(&path)?;
        Ok(())
    }

    #[test]
    fn paths_given_relative_to_the_working_directory_are_recorded_relative_to_the_lab() -> Result<()>
    {
        let dir = tempfile::tempdir()?;
        let labs = dir.path().join("labs");
        std::fs::create_dir(&labs)?;
        let lab = Lab::open(&labs.join("lab.db"))?;
        // Below the lab but spelled another way, the file not written yet.
        std::fs::create_dir(dir.path().join("other"))?;
        std::os::unix::fs::symlink(&labs, dir.path().join("alias"))?;
        for roundabout in ["other/../labs/logs/run.log", "alias/logs/run.log"] {
            assert_eq!(
                lab.relative(&dir.path().join(roundabout)),
                "logs/run.log",
                "{roundabout}"
            );
        }
        // Outside the lab: absolute, so that it reads the same from the lab's directory.
        let outside = lab.relative(&dir.path().join("other/run.log"));
        assert!(Path::new(&outside).is_absolute(), "{outside}");
        assert_eq!(
            lab.resolve(&outside),
            canonical(dir.path()).join("other/run.log")
        );
        // The working directory's own relative form.
        let here = std::env::current_dir()?;
        let in_cwd = Lab::open_in_memory()?;
        assert_eq!(in_cwd.relative(Path::new("logs/x.log")), "logs/x.log");
        assert_eq!(in_cwd.relative(&here.join("logs/x.log")), "logs/x.log");
        Ok(())
    }

    #[test]
    fn an_empty_file_becomes_a_lab() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        std::fs::write(&path, b"")?;
        let lab = Lab::open(&path)?;
        assert_eq!(schema::user_version(lab.conn())?, SCHEMA_VERSION);
        Ok(())
    }
}
