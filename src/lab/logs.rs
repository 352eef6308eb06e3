//! Where work started in the background writes its output: `<lab dir>/logs/`, beside the lab
//! that records it, so that the logs move with the lab and outlive a reboot.

use std::path::{Path, PathBuf};

/// The log of a run started from the dashboard: `<lab dir>/logs/<YYYYmmdd-HHMMSS>-<label>.log`.
pub fn log_path(db: &Path, label: &str, t: f64) -> PathBuf {
    logs_dir(db).join(format!("{}-{}.log", stamp(t), sanitize(label)))
}

/// The folder of a sweep's configs and logs: `<lab dir>/logs/<YYYYmmdd-HHMMSS>-sweep-<tag>/`.
pub fn sweep_dir(db: &Path, tag: &str, t: f64) -> PathBuf {
    logs_dir(db).join(sweep_name(tag, t))
}

/// Creates a new folder for a sweep started at `t`: [`sweep_dir`], or the same name with `-2`,
/// `-3`… after it when another sweep of the tag took that name in the same second.
pub fn create_sweep_dir(db: &Path, tag: &str, t: f64) -> std::io::Result<PathBuf> {
    let logs = logs_dir(db);
    std::fs::create_dir_all(&logs)?;
    let name = sweep_name(tag, t);
    first_free(|n| {
        let dir = logs.join(numbered(&name, n));
        std::fs::create_dir(&dir).map(|()| dir)
    })
}

/// Creates the log of a run started at `t` from the dashboard, empty: [`log_path`], or the same
/// name with `-2`, `-3`… before `.log` when another took that name in the same second (two runs
/// of one name started at once), so that no two processes write one log.
pub fn create_log(db: &Path, label: &str, t: f64) -> std::io::Result<(PathBuf, std::fs::File)> {
    let logs = logs_dir(db);
    std::fs::create_dir_all(&logs)?;
    let name = format!("{}-{}", stamp(t), sanitize(label));
    first_free(|n| {
        let path = logs.join(format!("{}.log", numbered(&name, n)));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map(|file| (path, file))
    })
}

/// `name`, then `name-2`, `name-3`…
fn numbered(name: &str, n: u32) -> String {
    match n {
        1 => name.to_string(),
        n => format!("{name}-{n}"),
    }
}

/// What `create` makes of the first of its names (1, 2, 3…) not taken already.
fn first_free<T>(mut create: impl FnMut(u32) -> std::io::Result<T>) -> std::io::Result<T> {
    let mut n = 1;
    loop {
        match create(n) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            done => return done,
        }
    }
}

fn sweep_name(tag: &str, t: f64) -> String {
    format!("{}-sweep-{}", stamp(t), sanitize(tag))
}

fn logs_dir(db: &Path) -> PathBuf {
    match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join("logs"),
        _ => PathBuf::from("logs"),
    }
}

/// `YYYYmmdd-HHMMSS` in UTC.
fn stamp(t: f64) -> String {
    let minutes = crate::format::timestamp(t)
        .replace(['-', ':'], "")
        .replace(' ', "-");
    format!("{minutes}{:02}", (t.max(0.0) as i64) % 60)
}

/// Letters, digits, `-` and `_` pass; anything else (a `/` above all) becomes `_`.
fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::NOW;

    #[test]
    fn logs_live_beside_the_lab_named_by_time_and_label() {
        assert_eq!(
            log_path(Path::new("/w/lab.db"), "resnet18 b32/d128", NOW),
            Path::new("/w/logs/20261128-071300-resnet18_b32_d128.log")
        );
        assert_eq!(
            log_path(Path::new("lab.db"), "x", NOW + 59.0),
            Path::new("logs/20261128-071359-x.log")
        );
        assert_eq!(
            sweep_dir(Path::new("runs/lab.db"), "../seed", NOW),
            Path::new("runs/logs/20261128-071300-sweep-___seed")
        );
    }

    #[test]
    fn two_runs_of_a_name_in_one_second_get_logs_of_their_own() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        let db = root.path().join("lab.db");
        let (first, _) = create_log(&db, "r", NOW)?;
        let (second, _) = create_log(&db, "r", NOW)?;
        assert_eq!(first, log_path(&db, "r", NOW));
        assert_eq!(second, root.path().join("logs/20261128-071300-r-2.log"));
        assert!(first.is_file() && second.is_file());
        Ok(())
    }

    #[test]
    fn two_sweeps_of_a_tag_in_one_second_get_folders_of_their_own() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        let db = root.path().join("lab.db");
        let first = create_sweep_dir(&db, "seed", NOW)?;
        let second = create_sweep_dir(&db, "seed", NOW)?;
        assert_eq!(first, sweep_dir(&db, "seed", NOW));
        assert_eq!(
            second,
            root.path().join("logs/20261128-071300-sweep-seed-2")
        );
        assert!(first.is_dir() && second.is_dir());
        Ok(())
    }
}
