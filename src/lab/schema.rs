//! Schema and migrations. Each migration runs in its own immediate transaction together with the
//! `user_version` bump, so a lab is always at exactly one version.

use anyhow::{Context, Result};
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

fn apply(conn: &Connection, migrations: &[(u32, Migration)]) -> Result<()> {
    for &(version, migration) in migrations {
        // Re-read inside the transaction: another process may have migrated meanwhile.
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        if user_version(&tx)? >= version {
            continue;
        }
        migration(&tx).with_context(|| format!("applying lab migration {version}"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
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
        let conn = Connection::open_in_memory()?;
        migrate(&conn)?;
        migrate(&conn)?;
        assert_eq!(user_version(&conn)?, SCHEMA_VERSION);
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        assert_eq!(app, APPLICATION_ID);
        let t = tables(&conn)?;
        for want in [
            "checkpoints",
            "datasets",
            "evaluation_metrics",
            "evaluations",
            "metrics",
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
