//! Writing files so that a reader never sees half of one: a temporary file beside the target,
//! then a rename over it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically. Returns whether the file changed: an identical file is
/// left alone (its modification time too), so regenerating an unchanged report touches nothing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    if let Ok(existing) = std::fs::read(path) {
        if existing == bytes {
            return Ok(false);
        }
    }
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
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating '{}'", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing '{}'", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("flushing '{}'", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing '{}'", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| true)
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
        Ok(())
    }
}
