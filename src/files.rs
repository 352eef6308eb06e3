//! Writing files so that a reader never sees half of one: a temporary file beside the target,
//! synced, then a rename over it (reports, the README, exports, checkpoints).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Writes `bytes` to `path` atomically. Returns whether the file changed: an identical file is
/// left alone (its modification time too), so regenerating an unchanged report touches nothing.
/// A file replaced keeps its permissions, and a link (a README kept elsewhere) stays a link:
/// the file it names is replaced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    if let Ok(existing) = std::fs::read(path) {
        if existing == bytes {
            return Ok(false);
        }
    }
    let linked;
    let path = if path.is_symlink() {
        linked = std::fs::canonicalize(path)
            .with_context(|| format!("following the link '{}'", path.display()))?;
        linked.as_path()
    } else {
        path
    };
    let metadata = std::fs::metadata(path).ok();
    if metadata.as_ref().is_some_and(|m| m.is_dir()) {
        bail!(
            "'{}' is a folder: give the path of a file to write",
            path.display()
        );
    }
    let permissions = metadata.map(|m| m.permissions());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("'{}' is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        // Named by the file it becomes: the temporary name is nothing the user chose.
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing '{}'", path.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing '{}'", tmp.display()))?;
        if let Some(p) = permissions {
            f.set_permissions(p)
                .with_context(|| format!("setting the permissions of '{}'", tmp.display()))?;
        }
        put_in_place(&f, &tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| true)
}

/// Gives the whole file at `tmp` (open as `file`, which is synced: a file the writer may not
/// read again, as a README kept write-only, still is) the name `path`, on disk before it takes
/// the name: a file at `path` is whole even after a power cut. The rename is the folder's to
/// keep, and is synced too where the folder can be (some filesystems refuse; the file is kept
/// all the same).
pub fn put_in_place(file: &std::fs::File, tmp: &Path, path: &Path) -> Result<()> {
    file.sync_all()
        .with_context(|| format!("flushing '{}' to disk", tmp.display()))?;
    std::fs::rename(tmp, path)
        .with_context(|| format!("moving '{}' into place", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_skips_identical_content() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("a.txt");
        assert!(write_atomic(&path, b"one")?);
        assert!(!write_atomic(&path, b"one")?);
        assert!(write_atomic(&path, b"two")?);
        assert_eq!(std::fs::read(&path)?, b"two");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())?.collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        // A folder that is not there is said of the file asked for, not the temporary one.
        let nowhere = dir.path().join("no/such/x.csv");
        let err = format!("{:#}", write_atomic(&nowhere, b"x").unwrap_err());
        assert!(
            err.starts_with(&format!("writing '{}': ", nowhere.display()))
                && !err.contains(".x.csv.tmp"),
            "{err}"
        );
        // A folder is not written over, and is named as one.
        let folder = dir.path().join("reports");
        std::fs::create_dir(&folder)?;
        let err = format!("{:#}", write_atomic(&folder, b"x").unwrap_err());
        assert_eq!(
            err,
            format!(
                "'{}' is a folder: give the path of a file to write",
                folder.display()
            )
        );
        assert!(folder.is_dir());
        Ok(())
    }

    #[test]
    fn a_link_stays_a_link_and_a_file_keeps_its_permissions() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("docs-README.md");
        std::fs::write(&target, "old")?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640))?;
        let link = dir.path().join("README.md");
        std::os::unix::fs::symlink(&target, &link)?;
        assert!(write_atomic(&link, b"new")?);
        assert!(link.is_symlink(), "the link is not replaced by a file");
        assert_eq!(std::fs::read(&target)?, b"new");
        let mode = std::fs::metadata(&target)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        Ok(())
    }
}
