//! Schema and migrations. Each migration runs in its own immediate transaction together with the
//! `user_version` bump, so a lab is always at exactly one version.
//!
//! Foreign keys are off while a migration runs, as SQLite's procedure for rebuilding a table
//! requires (dropping a referenced table would otherwise null or delete its referrers), and
//! checked before it commits.

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior};

/// `PRAGMA application_id` of every facenet-lab database: "FNLB".
pub const APPLICATION_ID: i64 = 0x464E_4C42;

type Migration = fn(&Transaction) -> rusqlite::Result<()>;

/// The ordered migrations: entry `i` takes a lab from version `i` to version `i + 1`.
const MIGRATIONS: &[(u32, Migration)] = &[
    (1, v1_initial),
    (2, v2_evaluations),
    (3, v3_optimiser_columns),
    (4, v4_crop),
    (5, v5_ids_never_reused),
    (6, v6_datasets_by_content),
    (7, v7_training_spans),
    (8, v8_zero_init_residual),
    (9, v9_machine),
    (10, v10_median_speed),
    (11, v11_dropout),
    (12, v12_resumes),
    (13, v13_tf32),
    (14, v14_init),
    (15, v15_init_run),
    (16, v16_imagenet_norm),
    (17, v17_fresh_embedding),
    (18, v18_like_run),
    (19, v19_annotation_times),
    (20, v20_evaluated_sha256),
    (21, v21_datasets_of_any_kind),
    (22, v22_heartbeat_before_resume),
    (23, v23_git_diff),
    (24, v24_where_evaluated_and_logs_before),
    (25, v25_deleted_runs),
    (26, v26_automatic_checkpoints),
    (27, v27_patience),
    (28, v28_epoch_loss),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

pub fn user_version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the lab up to [`SCHEMA_VERSION`].
pub fn migrate(conn: &Connection) -> Result<()> {
    apply(conn, MIGRATIONS)
}

/// Brings a lab up to `version` only: an older lab, for tests.
#[cfg(test)]
pub fn apply_up_to(conn: &Connection, version: u32) -> Result<()> {
    let n = MIGRATIONS.iter().take_while(|m| m.0 <= version).count();
    apply(conn, &MIGRATIONS[..n])
}

fn apply(conn: &Connection, migrations: &[(u32, Migration)]) -> Result<()> {
    let Some(&(latest, _)) = migrations.last() else {
        return Ok(());
    };
    // A lab already up to date is only read: opening it must not queue behind a writer.
    if user_version(conn)? >= latest {
        return Ok(());
    }
    let foreign_keys: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let applied = apply_each(conn, migrations);
    conn.pragma_update(None, "foreign_keys", foreign_keys)?;
    applied
}

fn apply_each(conn: &Connection, migrations: &[(u32, Migration)]) -> Result<()> {
    for &(version, migration) in migrations {
        // Re-read inside the transaction: another process may have migrated meanwhile.
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        if user_version(&tx)? >= version {
            continue;
        }
        let broken_before = dangling(&tx)?;
        migration(&tx).with_context(|| format!("applying lab migration {version}"))?;
        let broken = dangling(&tx)? - broken_before;
        if broken > 0 {
            bail!("lab migration {version} would leave {broken} rows pointing at missing rows");
        }
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// Rows whose foreign key names a missing row.
fn dangling(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?,
    )
}

fn v1_initial(tx: &Transaction) -> rusqlite::Result<()> {
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.execute_batch(
        r#"
        CREATE TABLE datasets (
            id            INTEGER PRIMARY KEY,
            kind          TEXT    NOT NULL CHECK (kind IN ('dir', 'tgz', 'synthetic')),
            source        TEXT    NOT NULL,
            min_images    INTEGER NOT NULL,
            max_images    INTEGER NOT NULL,
            split_seed    INTEGER,
            n_identities  INTEGER NOT NULL,
            n_images      INTEGER NOT NULL,
            content_hash  TEXT    NOT NULL,
            created_at    REAL    NOT NULL
        );
        CREATE UNIQUE INDEX datasets_identity
            ON datasets (kind, source, min_images, max_images, ifnull(split_seed, -1), content_hash);

        CREATE TABLE splits (
            id          INTEGER PRIMARY KEY,
            dataset_id  INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
            name        TEXT    NOT NULL CHECK (name IN ('train', 'dev', 'test')),
            n_images    INTEGER NOT NULL,
            hash        TEXT    NOT NULL,
            UNIQUE (dataset_id, name)
        );

        CREATE TABLE split_members (
            split_id  INTEGER NOT NULL REFERENCES splits (id) ON DELETE CASCADE,
            identity  TEXT    NOT NULL,
            file      TEXT    NOT NULL,
            sha256    TEXT    NOT NULL,
            PRIMARY KEY (split_id, identity, file)
        ) WITHOUT ROWID;

        CREATE TABLE runs (
            id                INTEGER PRIMARY KEY,
            name              TEXT    NOT NULL,
            model             TEXT    NOT NULL,
            dataset_id        INTEGER REFERENCES datasets (id),
            batch_size        INTEGER NOT NULL,
            embedding_dim     INTEGER NOT NULL,
            lr                REAL    NOT NULL,
            epochs            INTEGER NOT NULL,
            margin            REAL    NOT NULL,
            image_size        INTEGER NOT NULL,
            mining            TEXT    NOT NULL,
            sampler           TEXT    NOT NULL,
            pk_k              INTEGER,
            normalize         INTEGER NOT NULL,
            augment           INTEGER NOT NULL,
            eval_every        INTEGER NOT NULL,
            checkpoint_every  INTEGER,
            seed              INTEGER NOT NULL,
            device            TEXT    NOT NULL,
            config_json       TEXT    NOT NULL,
            status            TEXT    NOT NULL CHECK (status IN
                                ('queued', 'running', 'completed', 'failed', 'interrupted', 'crashed')),
            error             TEXT,
            created_at        REAL    NOT NULL,
            started_at        REAL,
            finished_at       REAL,
            heartbeat_at      REAL,
            git_commit        TEXT    NOT NULL,
            git_dirty         INTEGER NOT NULL,
            crate_version     TEXT    NOT NULL,
            hostname          TEXT    NOT NULL,
            gpu_name          TEXT,
            command_line      TEXT    NOT NULL,
            pid               INTEGER,
            log_path          TEXT,
            notes             TEXT    NOT NULL DEFAULT '',
            -- Kept current by the recorder so that listing 500 runs never scans their metrics.
            iters_per_epoch   INTEGER,
            last_iteration    INTEGER NOT NULL DEFAULT 0,
            last_epoch        INTEGER NOT NULL DEFAULT 0,
            last_loss         REAL,
            images_per_sec    REAL,
            best_dev_acc      REAL,
            best_dev_epoch    INTEGER,
            final_train_acc   REAL,
            final_dev_acc     REAL
        );
        CREATE INDEX runs_status ON runs (status);

        CREATE TABLE run_tags (
            run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            tag     TEXT    NOT NULL,
            PRIMARY KEY (run_id, tag)
        ) WITHOUT ROWID;

        CREATE TABLE metrics (
            id         INTEGER PRIMARY KEY,
            run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            iteration  INTEGER NOT NULL,
            epoch      INTEGER NOT NULL,
            name       TEXT    NOT NULL,
            value      REAL    NOT NULL,
            wall_time  REAL    NOT NULL
        );
        -- One run's series in iteration order, read straight off the index.
        CREATE INDEX metrics_series ON metrics (run_id, name, iteration);

        CREATE TABLE checkpoints (
            id          INTEGER PRIMARY KEY,
            run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            iteration   INTEGER NOT NULL,
            epoch       INTEGER NOT NULL,
            kind        TEXT    NOT NULL,
            path        TEXT    NOT NULL,
            sha256      TEXT    NOT NULL,
            created_at  REAL    NOT NULL
        );
        CREATE INDEX checkpoints_run ON checkpoints (run_id, iteration);
        "#,
    )
}

/// Evaluations of a run's checkpoints (`facenet-lab eval`), with their metrics as (name, value)
/// rows so that SQL can compare one metric across runs.
fn v2_evaluations(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE evaluations (
            id                    INTEGER PRIMARY KEY,
            run_id                INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            checkpoint_id         INTEGER REFERENCES checkpoints (id) ON DELETE SET NULL,
            -- Kept even if the checkpoint row goes: which weights were evaluated.
            checkpoint_iteration  INTEGER,
            protocol              TEXT    NOT NULL CHECK (protocol IN ('test-split', 'lfw-pairs', 'folder')),
            data_source           TEXT    NOT NULL,
            options_json          TEXT    NOT NULL,
            git_commit            TEXT    NOT NULL,
            git_dirty             INTEGER NOT NULL,
            crate_version         TEXT    NOT NULL,
            created_at            REAL    NOT NULL
        );
        CREATE INDEX evaluations_run ON evaluations (run_id, id);

        CREATE TABLE evaluation_metrics (
            evaluation_id  INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
            name           TEXT    NOT NULL,
            value          REAL    NOT NULL,
            PRIMARY KEY (evaluation_id, name)
        ) WITHOUT ROWID;
        "#,
    )
}

/// Weight decay and the learning-rate schedule get typed columns like every other
/// hyperparameter. Runs recorded before keep the weight decay they had in their config and the
/// constant schedule they trained with.
fn v3_optimiser_columns(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        ALTER TABLE runs ADD COLUMN weight_decay  REAL    NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN lr_schedule   TEXT    NOT NULL DEFAULT 'constant';
        ALTER TABLE runs ADD COLUMN warmup_epochs INTEGER NOT NULL DEFAULT 0;
        UPDATE runs SET weight_decay = json_extract(config_json, '$.weight_decay')
            WHERE json_valid(config_json)
              AND json_type(config_json, '$.weight_decay') IN ('real', 'integer');
        "#,
    )
}

/// The central crop kept before resizing (`--crop`), as a typed column. Runs recorded before
/// used whole images: 1.
fn v4_crop(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE runs ADD COLUMN crop REAL NOT NULL DEFAULT 1;")
}

/// Metric and checkpoint ids are never reused (`AUTOINCREMENT`): a resume deletes the newest
/// rows, and a reader that remembers ids (the dashboard reads metrics "after the last id it saw";
/// an evaluation names the checkpoint it loaded minutes earlier) must not take new rows for the
/// deleted ones. The tables are rebuilt with the same columns, rows, ids and indexes.
fn v5_ids_never_reused(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE metrics_v5 (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            iteration  INTEGER NOT NULL,
            epoch      INTEGER NOT NULL,
            name       TEXT    NOT NULL,
            value      REAL    NOT NULL,
            wall_time  REAL    NOT NULL
        );
        INSERT INTO metrics_v5 (id, run_id, iteration, epoch, name, value, wall_time)
            SELECT id, run_id, iteration, epoch, name, value, wall_time FROM metrics;
        DROP TABLE metrics;
        ALTER TABLE metrics_v5 RENAME TO metrics;
        CREATE INDEX metrics_series ON metrics (run_id, name, iteration);

        CREATE TABLE checkpoints_v5 (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            iteration   INTEGER NOT NULL,
            epoch       INTEGER NOT NULL,
            kind        TEXT    NOT NULL,
            path        TEXT    NOT NULL,
            sha256      TEXT    NOT NULL,
            created_at  REAL    NOT NULL
        );
        INSERT INTO checkpoints_v5 (id, run_id, iteration, epoch, kind, path, sha256, created_at)
            SELECT id, run_id, iteration, epoch, kind, path, sha256, created_at FROM checkpoints;
        DROP TABLE checkpoints;
        ALTER TABLE checkpoints_v5 RENAME TO checkpoints;
        CREATE INDEX checkpoints_run ON checkpoints (run_id, iteration);
        "#,
    )
}

/// A dataset is its content (kind, filter, split seed, content hash), not the path it was read
/// from: the same images imported from another folder or on another machine are the same
/// dataset. Rows recorded twice under different paths are folded into the first one when their
/// splits agree (runs move with them); rows whose splits differ stay apart, as they were.
fn v6_datasets_by_content(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        DROP INDEX datasets_identity;
        CREATE INDEX datasets_content
            ON datasets (kind, content_hash, min_images, max_images, ifnull(split_seed, -1));
        "#,
    )?;
    fold_same_content(tx, true)
}

/// Folds each dataset row into the first with the same content, filter and split seed (and,
/// with `same_kind`, read from the same kind of source) when their splits agree, moving its
/// runs; rows whose splits differ stay apart.
fn fold_same_content(tx: &Transaction, same_kind: bool) -> rusqlite::Result<()> {
    let kind = if same_kind {
        "first.kind = later.kind AND "
    } else {
        ""
    };
    let splits = |id: i64| -> rusqlite::Result<Vec<(String, String)>> {
        let mut stmt =
            tx.prepare_cached("SELECT name, hash FROM splits WHERE dataset_id = ?1 ORDER BY name")?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    };
    let pairs: Vec<(i64, i64)> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT first.id, later.id FROM datasets later JOIN datasets first
               ON {}first.content_hash = later.content_hash
              AND first.min_images = later.min_images AND first.max_images = later.max_images
              AND ifnull(first.split_seed, -1) = ifnull(later.split_seed, -1)
             WHERE later.id > first.id ORDER BY later.id, first.id",
            kind,
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    // Each row into the earliest that is still there and whose splits agree: not only the
    // first of its content, which may be split otherwise.
    let mut folded = std::collections::HashSet::new();
    for (first, later) in pairs {
        if folded.contains(&later) || folded.contains(&first) {
            continue;
        }
        if splits(first)? == splits(later)? {
            folded.insert(later);
            tx.execute(
                "UPDATE runs SET dataset_id = ?1 WHERE dataset_id = ?2",
                [first, later],
            )?;
            // Foreign keys are off here, so nothing cascades: its splits and members go by hand.
            tx.execute(
                "DELETE FROM split_members
                  WHERE split_id IN (SELECT id FROM splits WHERE dataset_id = ?1)",
                [later],
            )?;
            tx.execute("DELETE FROM splits WHERE dataset_id = ?1", [later])?;
            tx.execute("DELETE FROM datasets WHERE id = ?1", [later])?;
        }
    }
    Ok(())
}

/// A run's duration counts the time it trained, not the pauses between an interruption and its
/// resume: `resumed_at` is when the current span began (NULL while the run never resumed), and
/// `prior_seconds` sums the spans before it. Resumes recorded before this version cannot be told
/// apart from training: their runs count from start to finish.
fn v7_training_spans(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        ALTER TABLE runs ADD COLUMN prior_seconds REAL NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN resumed_at    REAL;
        "#,
    )
}

/// `--zero-init-residual` as a typed column. Runs recorded before started every BatchNorm
/// weight at one: 0.
fn v8_zero_init_residual(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE runs ADD COLUMN zero_init_residual INTEGER NOT NULL DEFAULT 0;")
}

/// The machine beyond its host name ([`super::Machine`]). Runs recorded before did not keep it:
/// NULL, never a guess.
fn v9_machine(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN cpu_model   TEXT;
         ALTER TABLE runs ADD COLUMN cpu_threads INTEGER;
         ALTER TABLE runs ADD COLUMN cpu_simd    TEXT;
         ALTER TABLE runs ADD COLUMN cpu_cache   TEXT;
         ALTER TABLE runs ADD COLUMN os          TEXT;",
    )
}

/// An ended run's `images_per_sec` is the median of its steps' ([`super::Lab::finish_run`]);
/// before, it was its last step's.
fn v10_median_speed(tx: &Transaction) -> rusqlite::Result<()> {
    let ended: Vec<i64> = tx
        .prepare("SELECT id FROM runs WHERE finished_at IS NOT NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ended {
        if let Some(speed) = super::metrics::median_speed(tx, id, None)? {
            tx.execute(
                "UPDATE runs SET images_per_sec = ?2 WHERE id = ?1",
                rusqlite::params![id, speed],
            )?;
        }
    }
    Ok(())
}

/// `--tf32` as a typed column: whether cuBLAS multiplied f32 matrices in TF32 on the tensor
/// cores (CUDA runs only). Every run recorded before used strict f32: 0.
fn v13_tf32(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE runs ADD COLUMN tf32 INTEGER NOT NULL DEFAULT 0;")
}

/// `--init` as typed columns: the file a run's weights started from, and its sha256. Every
/// run recorded before started from its seed's random draw: NULL.
fn v14_init(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN init        TEXT;
         ALTER TABLE runs ADD COLUMN init_sha256 TEXT;",
    )
}

/// `--imagenet-norm` as a typed column: whether the network normalised its input by ImageNet's
/// per-channel mean and deviation. Every run recorded before took its input in [-1, 1]: 0.
fn v16_imagenet_norm(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE runs ADD COLUMN imagenet_norm INTEGER NOT NULL DEFAULT 0;")
}

/// `--fresh-embedding` as a typed column: whether a run started from an `--init` file drew its
/// embedding layer from its seed even where the file's fit. Every run recorded before took a
/// layer that fit: 0.
fn v17_fresh_embedding(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE runs ADD COLUMN fresh_embedding INTEGER NOT NULL DEFAULT 0;")
}

/// The sha256 of the weights each evaluation measured, so that the results table shows an
/// evaluation only beside the checkpoint that holds those weights; taken from the checkpoint
/// each is linked to (NULL for one whose checkpoint was already gone).
fn v20_evaluated_sha256(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE evaluations ADD COLUMN checkpoint_sha256 TEXT;
         UPDATE evaluations SET checkpoint_sha256 =
             (SELECT sha256 FROM checkpoints WHERE id = evaluations.checkpoint_id);",
    )
}

/// A dataset is its content, whatever kind of source it was read from: the same images read
/// from lfw.tgz and from an extracted folder were two datasets (runs like another were told
/// they trained on other images, reports split them); rows that differ only so are folded into
/// the first, as v6 folded rows that differed only in their path.
fn v21_datasets_of_any_kind(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        DROP INDEX datasets_content;
        CREATE INDEX datasets_content
            ON datasets (content_hash, min_images, max_images, ifnull(split_seed, -1));
        "#,
    )?;
    fold_same_content(tx, false)
}

/// Where each evaluation ran (host, device, command line), and each resume's log of the run
/// before it (the resume's own log becomes the run's `log_path`): NULL for those recorded before.
fn v24_where_evaluated_and_logs_before(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE evaluations ADD COLUMN hostname TEXT;
         ALTER TABLE evaluations ADD COLUMN device TEXT;
         ALTER TABLE evaluations ADD COLUMN command_line TEXT;
         ALTER TABLE run_resumes ADD COLUMN log_before TEXT;",
    )
}

/// A tombstone for each run deleted (`lab delete`, `D` in the dashboard): what it was, when it
/// went and from which host. Its id is never given to another run ([`super::Lab::create_run`]
/// and a merge take ids past both tables), so that an id written down once (in a note, a
/// figure's name, the README) names that run or none; and a merge does not bring a deleted run
/// back. Labs from before had deleted none.
fn v25_deleted_runs(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE deleted_runs (
            id          INTEGER PRIMARY KEY,
            name        TEXT    NOT NULL,
            model       TEXT    NOT NULL,
            -- As shown when it was deleted: a run recorded running whose trainer was gone
            -- reads crashed.
            status      TEXT    NOT NULL,
            created_at  REAL    NOT NULL,
            -- The host it was registered on: with name and created_at, how a merge knows it.
            hostname    TEXT    NOT NULL,
            deleted_at  REAL    NOT NULL,
            -- The host that deleted it.
            deleted_on  TEXT    NOT NULL
         );",
    )
}

/// Checkpoints may be of kind 'auto' (written after 30 minutes of training without one to
/// resume from). The tables are as they were: the version is what changes, so that a build
/// from before, which would not resume from such a checkpoint but start the run over and drop
/// it, refuses the lab instead.
fn v26_automatic_checkpoints(_: &Transaction) -> rusqlite::Result<()> {
    Ok(())
}

/// Early stopping as a typed column (`run --patience`); NULL for a run that trains every epoch,
/// as every run recorded before did.
fn v27_patience(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE runs ADD COLUMN patience INTEGER;")
}

/// A run's `last_loss` is the mean loss of its latest epoch's trained steps
/// ([`super::metrics::epoch_loss`]); before, it was its last step's, at a run's end the loss of
/// an epoch's remainder batch, often 0 or a spike.
fn v28_epoch_loss(tx: &Transaction) -> rusqlite::Result<()> {
    let runs: Vec<i64> = tx
        .prepare("SELECT id FROM runs")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in runs {
        if let Some(loss) = super::metrics::epoch_loss(tx, id)? {
            tx.execute(
                "UPDATE runs SET last_loss = ?2 WHERE id = ?1",
                rusqlite::params![id, loss],
            )?;
        }
    }
    Ok(())
}

/// What a dirty tree's uncommitted changes were (the git blob id of its diff against the
/// commit), wherever the code is recorded: runs, resumes and evaluations. NULL for code
/// recorded before, and for clean trees.
fn v23_git_diff(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN git_diff TEXT;
         ALTER TABLE run_resumes ADD COLUMN git_diff TEXT;
         ALTER TABLE evaluations ADD COLUMN git_diff TEXT;",
    )
}

/// Each resume's run heartbeat just before it: how far the lab that resumed the run knew it had
/// gone, which tells a merge a copy taken from that lab before the resume from one that trained
/// on apart ([`super::merge`]). NULL for resumes recorded before.
fn v22_heartbeat_before_resume(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE run_resumes ADD COLUMN heartbeat_before REAL;")
}

/// When a run's notes were last written and each of its tags added or removed, so that a merge
/// keeps the later of two labs' edits ([`super::annotations`]); NULL where that was before.
fn v19_annotation_times(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN notes_at REAL;
         ALTER TABLE run_tags ADD COLUMN added_at REAL;
         CREATE TABLE removed_tags (
            run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            tag         TEXT    NOT NULL,
            removed_at  REAL    NOT NULL,
            PRIMARY KEY (run_id, tag)
         ) WITHOUT ROWID;",
    )
}

/// The run whose settings a run started with (`run --like`); runs recorded before started
/// like none.
fn v18_like_run(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN like_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL;",
    )
}

/// The run of this lab whose checkpoint an `--init` file was, when the run started (a later
/// best replaces that checkpoint's row, and the sha256 no longer finds it), and an index to
/// find a checkpoint by its sha256. Runs recorded before take the run whose checkpoint has
/// their file's sha256 now, if any.
fn v15_init_run(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN init_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL;
         CREATE INDEX checkpoints_sha256 ON checkpoints (sha256);
         UPDATE runs SET init_run_id = (
             SELECT c.run_id FROM checkpoints c
             WHERE c.sha256 = runs.init_sha256 AND c.run_id != runs.id
             ORDER BY c.id LIMIT 1)
         WHERE init_sha256 IS NOT NULL;",
    )
}

/// Each resume of a run, with what it ran on ([`super::Resume`]); runs resumed before kept
/// only the time of their latest resume (`resumed_at`).
fn v12_resumes(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE run_resumes (
            id              INTEGER PRIMARY KEY,
            run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            resumed_at      REAL    NOT NULL,
            from_iteration  INTEGER NOT NULL,
            device          TEXT    NOT NULL,
            gpu_name        TEXT,
            hostname        TEXT    NOT NULL,
            cpu_model       TEXT,
            cpu_threads     INTEGER,
            cpu_simd        TEXT,
            cpu_cache       TEXT,
            os              TEXT,
            git_commit      TEXT    NOT NULL,
            git_dirty       INTEGER NOT NULL,
            crate_version   TEXT    NOT NULL,
            command_line    TEXT    NOT NULL
         );
         CREATE INDEX run_resumes_run ON run_resumes (run_id);",
    )
}

/// AlexNet's classifier dropout as a typed column (`run --dropout`); NULL for networks without
/// dropout. AlexNet runs recorded before had torchvision's 0.5.
fn v11_dropout(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN dropout REAL;
         UPDATE runs SET dropout = 0.5 WHERE model = 'alexnet';",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Result<Vec<String>> {
        let mut stmt =
            conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(names)
    }

    #[test]
    fn each_migration_applies_in_memory() -> Result<()> {
        for n in 1..=MIGRATIONS.len() {
            let conn = Connection::open_in_memory()?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            apply(&conn, &MIGRATIONS[..n])?;
            assert_eq!(user_version(&conn)?, MIGRATIONS[n - 1].0);
            let fk_errors: i64 =
                conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
            assert_eq!(fk_errors, 0);
        }
        Ok(())
    }

    #[test]
    fn migrate_reaches_latest_and_is_idempotent() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = crate::lab::Lab::open(&dir.path().join("lab.db"))?;
        let id = lab.create_run(&crate::lab::fixtures::sample_run("kept"))?;
        crate::lab::fixtures::record_speeds(&lab, id, &[10.0, 12.0, 11.0])?;
        let conn = lab.conn();
        // The schema and every row, as text.
        let dump = || -> Result<Vec<String>> {
            let mut out: Vec<String> = conn
                .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for table in tables(conn)? {
                let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
                let width = stmt.column_count();
                let rows = stmt.query_map([], |r| {
                    (0..width)
                        .map(|i| r.get_ref(i).map(|v| format!("{v:?}")))
                        .collect::<rusqlite::Result<Vec<_>>>()
                })?;
                for row in rows {
                    out.push(format!("{table}: {}", row?.join(", ")));
                }
            }
            Ok(out)
        };
        let before = dump()?;
        assert!(before.iter().any(|l| l.starts_with("runs: ")), "{before:?}");
        assert!(
            before.iter().any(|l| l.starts_with("metrics: ")),
            "{before:?}"
        );
        migrate(conn)?;
        assert_eq!(dump()?, before, "a second migration changes nothing");
        assert_eq!(user_version(conn)?, SCHEMA_VERSION);
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        assert_eq!(app, APPLICATION_ID);
        let t = tables(conn)?;
        for want in [
            "checkpoints",
            "datasets",
            "deleted_runs",
            "evaluation_metrics",
            "evaluations",
            "metrics",
            "run_resumes",
            "run_tags",
            "runs",
            "split_members",
            "splits",
        ] {
            assert!(t.iter().any(|n| n == want), "missing table {want} in {t:?}");
        }
        Ok(())
    }

    #[test]
    fn v2_adds_evaluations_to_a_v1_lab_with_runs() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        apply(&conn, &MIGRATIONS[..1])?;
        conn.execute_batch(
            "INSERT INTO runs (id, name, model, batch_size, embedding_dim, lr, epochs, margin,
                image_size, mining, sampler, normalize, augment, eval_every, seed, device,
                config_json, status, created_at, git_commit, git_dirty, crate_version, hostname,
                command_line)
             VALUES (7, 'old', 'resnet18', 32, 128, 0.001, 1, 0.2, 64, 'all', 'random', 1, 0, 1,
                0, 'cpu', '{}', 'completed', 0, 'abc', 0, '0.1.0', 'h', 'facenet-lab run');
             INSERT INTO checkpoints (id, run_id, iteration, epoch, kind, path, sha256, created_at)
             VALUES (3, 7, 100, 1, 'final', 'ck.safetensors', 'ff', 0);",
        )?;
        apply(&conn, &MIGRATIONS[..2])?;
        assert_eq!(user_version(&conn)?, 2);
        conn.execute_batch(
            "INSERT INTO evaluations (id, run_id, checkpoint_id, checkpoint_iteration, protocol,
                data_source, options_json, git_commit, git_dirty, crate_version, created_at)
             VALUES (1, 7, 3, 100, 'lfw-pairs', 'pairs.txt', '{}', 'abc', 0, '0.1.0', 0);
             INSERT INTO evaluation_metrics VALUES (1, 'eer', 0.25);",
        )?;
        let bad_protocol = conn.execute(
            "INSERT INTO evaluations (run_id, protocol, data_source, options_json, git_commit,
                git_dirty, crate_version, created_at)
             VALUES (7, 'guesswork', 'x', '{}', 'abc', 0, '0.1.0', 0)",
            [],
        );
        assert!(bad_protocol.is_err(), "protocol is checked");
        // Deleting the run takes its evaluations and their metrics with it.
        conn.execute("DELETE FROM runs WHERE id = 7", [])?;
        let left: i64 = conn.query_row(
            "SELECT (SELECT count(*) FROM evaluations) + (SELECT count(*) FROM evaluation_metrics)",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(left, 0);
        Ok(())
    }

    #[test]
    fn v3_and_v4_give_old_runs_their_recorded_weight_decay_and_whole_images() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply(&conn, &MIGRATIONS[..2])?;
        for (id, config) in [
            (1, r#"{"weight_decay":0.0005,"lr":0.0003}"#),
            (2, r#"{"lr":0.0001}"#),
            (3, "not json"),
        ] {
            conn.execute(
                "INSERT INTO runs (id, name, model, batch_size, embedding_dim, lr, epochs, margin,
                    image_size, mining, sampler, normalize, augment, eval_every, seed, device,
                    config_json, status, created_at, git_commit, git_dirty, crate_version,
                    hostname, command_line)
                 VALUES (?1, 'old', 'resnet18', 32, 128, 0.001, 1, 0.2, 64, 'all', 'random', 1,
                    0, 1, 0, 'cpu', ?2, 'completed', 0, 'abc', 0, '0.1.0', 'h', 'run')",
                rusqlite::params![id, config],
            )?;
        }
        migrate(&conn)?;
        assert_eq!(user_version(&conn)?, SCHEMA_VERSION);
        let mut stmt = conn.prepare(
            "SELECT weight_decay, lr_schedule, warmup_epochs, crop FROM runs ORDER BY id",
        )?;
        let rows: Vec<(f64, String, i64, f64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // Constant schedule, no warm-up and whole images (v4) for runs from before.
        let old = |wd: f64| (wd, "constant".to_string(), 0, 1.0);
        assert_eq!(rows, vec![old(0.0005), old(0.0), old(0.0)]);
        Ok(())
    }

    #[test]
    fn v9_leaves_the_machine_of_older_runs_unknown() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 8)?;
        insert_run(&conn, 1, None)?;
        migrate(&conn)?;
        let run = conn.query_row(
            "SELECT * FROM runs WHERE id = 1",
            [],
            super::super::Run::from_row,
        )?;
        assert_eq!(run.machine, super::super::Machine::default());
        assert_eq!(run.machine.describe(), None);
        Ok(())
    }

    #[test]
    fn v10_gives_ended_runs_their_median_speed_and_leaves_live_ones() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 9)?;
        for id in [1, 2] {
            insert_run(&conn, id, None)?;
            for (it, v) in [(1, 50.0), (2, 60.0), (3, 55.0), (4, 5.0)] {
                conn.execute(
                    "INSERT INTO metrics (run_id, iteration, epoch, name, value, wall_time)
                     VALUES (?1, ?2, 1, 'images_per_sec', ?3, 0)",
                    rusqlite::params![id, it, v],
                )?;
            }
        }
        conn.execute_batch(
            "UPDATE runs SET images_per_sec = 5.0;
             UPDATE runs SET finished_at = 100 WHERE id = 1;
             UPDATE runs SET status = 'running', finished_at = NULL WHERE id = 2;",
        )?;
        migrate(&conn)?;
        let speeds: Vec<f64> = conn
            .prepare("SELECT images_per_sec FROM runs ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(speeds, vec![52.5, 5.0]);
        Ok(())
    }

    /// A run's loss becomes its latest epoch's mean, skipped batches (no point) aside; a run
    /// with no loss recorded keeps none.
    #[test]
    fn v28_gives_every_run_the_mean_loss_of_its_latest_epoch() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 27)?;
        for id in [1, 2] {
            insert_run(&conn, id, None)?;
        }
        for (it, epoch, v) in [
            (1, 1, 9.0),
            (2, 1, 7.0),
            (3, 2, 1.0),
            (4, 2, 2.0),
            (6, 2, 0.0),
        ] {
            conn.execute(
                "INSERT INTO metrics (run_id, iteration, epoch, name, value, wall_time)
                 VALUES (1, ?1, ?2, 'train_loss', ?3, 0)",
                rusqlite::params![it, epoch, v],
            )?;
        }
        conn.execute("UPDATE runs SET last_loss = 0.0 WHERE id = 1", [])?;
        migrate(&conn)?;
        let losses: Vec<Option<f64>> = conn
            .prepare("SELECT last_loss FROM runs ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(losses, vec![Some(1.0), None]);
        Ok(())
    }

    #[test]
    fn v11_gives_older_alexnet_runs_torchvisions_dropout_and_resnets_none() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 10)?;
        insert_run(&conn, 1, None)?;
        insert_run(&conn, 2, None)?;
        conn.execute("UPDATE runs SET model = 'alexnet' WHERE id = 2", [])?;
        migrate(&conn)?;
        let dropout: Vec<Option<f64>> = conn
            .prepare("SELECT dropout FROM runs ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(dropout, vec![None, Some(0.5)]);
        Ok(())
    }

    #[test]
    fn v13_records_every_older_run_as_strict_f32() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 12)?;
        insert_run(&conn, 1, None)?;
        migrate(&conn)?;
        let tf32: bool = conn.query_row("SELECT tf32 FROM runs WHERE id = 1", [], |r| r.get(0))?;
        assert!(!tf32);
        Ok(())
    }

    #[test]
    fn v14_records_every_older_run_as_started_at_random() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 13)?;
        insert_run(&conn, 1, None)?;
        migrate(&conn)?;
        let init: (Option<String>, Option<String>) =
            conn.query_row("SELECT init, init_sha256 FROM runs WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        assert_eq!(init, (None, None));
        Ok(())
    }

    #[test]
    fn v15_links_a_run_to_the_run_whose_checkpoint_it_started_from() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 14)?;
        for id in 1..=3 {
            insert_run(&conn, id, None)?;
        }
        conn.execute_batch(
            "INSERT INTO checkpoints (run_id, iteration, epoch, kind, path, sha256, created_at)
                 VALUES (1, 10, 1, 'final', 'a', 'aaaa', 0);
             UPDATE runs SET init = '/x/a', init_sha256 = 'aaaa' WHERE id = 2;
             UPDATE runs SET init = '/w/resnet18.pth', init_sha256 = 'ffff' WHERE id = 3;",
        )?;
        migrate(&conn)?;
        let parents: Vec<Option<i64>> = conn
            .prepare("SELECT init_run_id FROM runs ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(parents, [None, Some(1), None]);
        Ok(())
    }

    #[test]
    fn v16_records_every_older_run_as_taking_its_input_in_minus_one_to_one() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 15)?;
        insert_run(&conn, 1, None)?;
        migrate(&conn)?;
        let on: bool = conn.query_row("SELECT imagenet_norm FROM runs WHERE id = 1", [], |r| {
            r.get(0)
        })?;
        assert!(!on);
        Ok(())
    }

    #[test]
    fn v17_records_every_older_run_as_taking_an_embedding_layer_that_fit() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 16)?;
        insert_run(&conn, 1, None)?;
        migrate(&conn)?;
        let fresh: bool =
            conn.query_row("SELECT fresh_embedding FROM runs WHERE id = 1", [], |r| {
                r.get(0)
            })?;
        assert!(!fresh);
        Ok(())
    }

    #[test]
    fn v20_records_the_weights_each_linked_evaluation_measured() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        apply_up_to(&conn, 19)?;
        insert_run(&conn, 1, None)?;
        conn.execute_batch(
            "INSERT INTO checkpoints (id, run_id, iteration, epoch, kind, path, sha256, created_at)
                 VALUES (4, 1, 10, 1, 'best', 'a', 'aaaa', 0);
             INSERT INTO evaluations (id, run_id, checkpoint_id, checkpoint_iteration, protocol,
                 data_source, options_json, git_commit, git_dirty, crate_version, created_at)
                 VALUES (1, 1, 4, 10, 'test-split', 'd', '{}', 'abc', 0, '0.1.0', 0),
                        (2, 1, NULL, 5, 'test-split', 'd', '{}', 'abc', 0, '0.1.0', 0);",
        )?;
        migrate(&conn)?;
        let shas: Vec<Option<String>> = conn
            .prepare("SELECT checkpoint_sha256 FROM evaluations ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(shas, [Some("aaaa".to_string()), None]);
        Ok(())
    }

    /// A lab from before deletions migrates with its runs as they were and no tombstone; its
    /// newest run, deleted then, leaves its id to no later run.
    #[test]
    fn v25_gives_an_older_lab_an_empty_tombstone_table_and_keeps_its_runs() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lab.db");
        {
            let conn = Connection::open(&path)?;
            apply_up_to(&conn, 24)?;
            insert_run(&conn, 1, None)?;
            insert_run(&conn, 2, None)?;
            conn.execute_batch(
                "INSERT INTO metrics (run_id, iteration, epoch, name, value, wall_time)
                 VALUES (2, 1, 1, 'train_loss', 0.5, 10);",
            )?;
        }
        let lab = crate::lab::Lab::open(&path)?;
        let conn = lab.conn();
        assert_eq!(user_version(conn)?, SCHEMA_VERSION);
        assert!(tables(conn)?.iter().any(|t| t == "deleted_runs"));
        assert_eq!(count(conn, "SELECT count(*) FROM deleted_runs")?, 0);
        assert_eq!(count(conn, "SELECT count(*) FROM runs")?, 2);
        assert_eq!(count(conn, "SELECT count(*) FROM metrics")?, 1);
        let plan = lab.plan_deletion(&[crate::lab::RunId(2)])?;
        lab.delete_runs(&plan)?;
        assert_eq!(count(conn, "SELECT count(*) FROM metrics")?, 0);
        let next = lab.create_run(&crate::lab::fixtures::new_run("next"))?;
        assert_eq!(next, crate::lab::RunId(3), "run 2's id stays its own");
        Ok(())
    }

    /// A run with the columns every version has, for labs built at an older version.
    fn insert_run(conn: &Connection, id: i64, dataset: Option<i64>) -> Result<()> {
        conn.execute(
            "INSERT INTO runs (id, name, model, dataset_id, batch_size, embedding_dim, lr, epochs,
                margin, image_size, mining, sampler, normalize, augment, eval_every, seed, device,
                config_json, status, created_at, git_commit, git_dirty, crate_version, hostname,
                command_line)
             VALUES (?1, 'old', 'resnet18', ?2, 32, 128, 0.001, 1, 0.2, 64, 'all', 'random', 1,
                0, 1, 0, 'cpu', '{}', 'completed', 0, 'abc', 0, '0.1.0', 'h', 'run')",
            rusqlite::params![id, dataset],
        )?;
        Ok(())
    }

    fn count(conn: &Connection, sql: &str) -> Result<i64> {
        Ok(conn.query_row(sql, [], |r| r.get(0))?)
    }

    #[test]
    fn v5_keeps_every_row_and_link_and_never_reuses_an_id() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        apply(&conn, &MIGRATIONS[..4])?;
        insert_run(&conn, 1, None)?;
        conn.execute_batch(
            "INSERT INTO metrics (id, run_id, iteration, epoch, name, value, wall_time)
             VALUES (1, 1, 1, 1, 'train_loss', 0.5, 10), (2, 1, 2, 1, 'train_loss', 0.4, 11),
                    (3, 1, 3, 1, 'train_loss', 0.3, 12);
             INSERT INTO checkpoints (id, run_id, iteration, epoch, kind, path, sha256, created_at)
             VALUES (1, 1, 2, 1, 'periodic', 'a', 'aa', 0), (2, 1, 3, 1, 'best', 'b', 'bb', 0);
             INSERT INTO evaluations (id, run_id, checkpoint_id, checkpoint_iteration, protocol,
                data_source, options_json, git_commit, git_dirty, crate_version, created_at)
             VALUES (1, 1, 2, 3, 'test-split', 'x', '{}', 'abc', 0, '0.1.0', 0);",
        )?;
        let metrics = "SELECT group_concat(id || ':' || iteration || ':' || value) FROM metrics";
        let before: String = conn.query_row(metrics, [], |r| r.get(0))?;
        migrate(&conn)?;
        let after: String = conn.query_row(metrics, [], |r| r.get(0))?;
        assert_eq!(after, before, "rows and ids kept");
        assert_eq!(
            count(&conn, "SELECT checkpoint_id FROM evaluations WHERE id = 1")?,
            2,
            "the evaluation still points at its checkpoint"
        );
        let indexes = count(
            &conn,
            "SELECT count(*) FROM sqlite_schema
              WHERE name IN ('metrics_series', 'checkpoints_run') AND type = 'index'",
        )?;
        assert_eq!(indexes, 2);
        // The foreign keys still act: deleting the checkpoint unlinks, deleting the run cascades.
        conn.execute("DELETE FROM checkpoints WHERE id = 2", [])?;
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM evaluations WHERE checkpoint_id IS NULL"
            )?,
            1
        );

        // A resume drops the newest rows; what comes next gets new ids, not theirs.
        conn.execute("DELETE FROM metrics WHERE id = 3", [])?;
        conn.execute(
            "INSERT INTO metrics (run_id, iteration, epoch, name, value, wall_time)
             VALUES (1, 3, 1, 'train_loss', 0.35, 13)",
            [],
        )?;
        assert_eq!(count(&conn, "SELECT max(id) FROM metrics")?, 4);
        conn.execute(
            "INSERT INTO checkpoints (run_id, iteration, epoch, kind, path, sha256, created_at)
             VALUES (1, 3, 1, 'best', 'c', 'cc', 0)",
            [],
        )?;
        assert_eq!(count(&conn, "SELECT max(id) FROM checkpoints")?, 3);
        conn.execute("DELETE FROM runs WHERE id = 1", [])?;
        assert_eq!(
            count(
                &conn,
                "SELECT (SELECT count(*) FROM metrics) + (SELECT count(*) FROM checkpoints)"
            )?,
            0
        );
        Ok(())
    }

    /// Dataset `id` (filter 20..=30) of `content`, with a train and a dev split of one image
    /// each (the dev split's hash `dev_hash`), and a run `id` on it.
    fn insert_dataset(
        conn: &Connection,
        id: i64,
        kind: &str,
        source: &str,
        content: &str,
        dev_hash: &str,
    ) -> Result<()> {
        conn.execute(
            "INSERT INTO datasets (id, kind, source, min_images, max_images, n_identities,
                n_images, content_hash, created_at)
             VALUES (?1, ?2, ?3, 20, 30, 1, 2, ?4, ?1)",
            rusqlite::params![id, kind, source, content],
        )?;
        for (k, (name, hash)) in [("train", "t"), ("dev", dev_hash)].into_iter().enumerate() {
            let split = id * 10 + k as i64;
            conn.execute(
                "INSERT INTO splits (id, dataset_id, name, n_images, hash)
                 VALUES (?1, ?2, ?3, 1, ?4)",
                rusqlite::params![split, id, name, hash],
            )?;
            conn.execute(
                "INSERT INTO split_members (split_id, identity, file, sha256)
                 VALUES (?1, 'A', ?2, 's')",
                rusqlite::params![split, format!("A_{k}.jpg")],
            )?;
        }
        insert_run(conn, id, Some(id))
    }

    #[test]
    fn v6_folds_a_dataset_recorded_under_two_paths_into_the_first() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        apply(&conn, &MIGRATIONS[..5])?;
        // 1 and 2: the same images at two paths; 3: the same images split by another rule;
        // 4: other images.
        for (id, source, content, dev_hash) in [
            (1, "/data/lfw-20-30", "c", "d"),
            (2, "/gpu/.device/lfw-20-30", "c", "d"),
            (3, "/old/lfw-20-30", "c", "other rule"),
            (4, "/data/lfw-10-20", "c2", "d"),
        ] {
            insert_dataset(&conn, id, "dir", source, content, dev_hash)?;
        }
        migrate(&conn)?;
        let datasets: Vec<(i64, String)> = conn
            .prepare("SELECT id, source FROM datasets ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let ids: Vec<i64> = datasets.iter().map(|d| d.0).collect();
        assert_eq!(
            ids,
            [1, 3, 4],
            "2 folded into 1; 3 split otherwise, 4 other images"
        );
        assert_eq!(datasets[0].1, "/data/lfw-20-30", "the first source is kept");
        let runs: Vec<i64> = conn
            .prepare("SELECT dataset_id FROM runs ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(runs, [1, 1, 3, 4], "run 2 moved with its dataset");
        assert_eq!(count(&conn, "SELECT count(*) FROM splits")?, 6);
        assert_eq!(count(&conn, "SELECT count(*) FROM split_members")?, 6);
        Ok(())
    }

    /// The same images read from a folder and from the archive, recorded as two datasets
    /// before v21, are one from it on; other content, or the same split otherwise, stays apart.
    #[test]
    fn v21_folds_a_dataset_read_from_a_folder_and_an_archive_into_the_first() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        apply(&conn, &MIGRATIONS[..20])?;
        for (id, kind, source, content, dev_hash) in [
            (1, "dir", "/data/lfw-20-30", "c", "d"),
            (2, "tgz", "/data/lfw.tgz", "c", "d"),
            (3, "tgz", "/old/lfw.tgz", "c", "other rule"),
            (4, "synthetic", "synthetic:4:8:0", "c2", "d"),
            // Split as 3 is, not as 1: folded into 3, the first it agrees with.
            (5, "dir", "/old/lfw-20-30", "c", "other rule"),
        ] {
            insert_dataset(&conn, id, kind, source, content, dev_hash)?;
        }
        migrate(&conn)?;
        let datasets: Vec<(i64, String)> = conn
            .prepare("SELECT id, kind FROM datasets ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(
            datasets,
            [
                (1, "dir".into()),
                (3, "tgz".into()),
                (4, "synthetic".into())
            ]
        );
        let runs: Vec<i64> = conn
            .prepare("SELECT dataset_id FROM runs ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(
            runs,
            [1, 1, 3, 4, 3],
            "runs 2 and 5 moved with their datasets"
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM split_members")?, 6);
        Ok(())
    }

    #[test]
    fn a_migration_that_strands_rows_is_rolled_back() -> Result<()> {
        // Foreign keys are off during a migration: dropping a run cascades nothing.
        fn strands(tx: &Transaction) -> rusqlite::Result<()> {
            tx.execute_batch("DELETE FROM runs")
        }
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&conn)?;
        insert_run(&conn, 1, None)?;
        conn.execute(
            "INSERT INTO metrics (run_id, iteration, epoch, name, value, wall_time)
             VALUES (1, 1, 1, 'train_loss', 0.5, 0)",
            [],
        )?;
        let next = SCHEMA_VERSION + 1;
        let err = apply(&conn, &[(next, strands)]).unwrap_err();
        assert!(
            format!("{err:#}").contains(&format!("migration {next} would leave 1 rows")),
            "{err:#}"
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM runs")?, 1);
        assert_eq!(user_version(&conn)?, SCHEMA_VERSION);
        let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
        assert!(fk, "foreign keys are back on");
        Ok(())
    }

    #[test]
    fn a_failing_migration_rolls_back_whole_and_keeps_the_version() -> Result<()> {
        fn broken(tx: &Transaction) -> rusqlite::Result<()> {
            tx.execute_batch("CREATE TABLE half_done (x); CREATE TABLE half_done (x);")
        }
        let conn = Connection::open_in_memory()?;
        let err = apply(&conn, &[(1, v1_initial), (2, broken)]).unwrap_err();
        assert!(format!("{err:#}").contains("migration 2"), "{err:#}");
        assert_eq!(user_version(&conn)?, 1);
        assert!(!tables(&conn)?.iter().any(|t| t == "half_done"));
        Ok(())
    }
}
