//! LFW on disk: a directory or a tarball in the official layout, listed and read.
//!
//! A file belongs to the dataset when its path ends in `<Name>/<Name>_NNNN.jpg` (NNNN: one or
//! more digits). A directory may hold the identity folders itself or inside a top `lfw/` folder.
//! In a tarball any prefix before `<Name>/` is accepted (`lfw/`, `./lfw/`, none). Other files
//! (READMEs, `.DS_Store`, ...) are ignored. The member's file name is always the bare
//! `<Name>_NNNN.jpg`, so the same images give the same hashes from every layout.
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;

use super::SourceKind;

/// An opened LFW source.
#[derive(Debug, Clone)]
pub enum Source {
    /// `root` holds the identity folders.
    Dir { root: PathBuf },
    /// A gzip-compressed tar archive.
    Tgz { path: PathBuf },
}

/// One `<Name>/<Name>_NNNN.jpg` file of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub identity: String,
    pub file: String,
    /// Path on disk, or the entry's path inside the archive.
    pub location: String,
}

/// True when `file` is `<identity>_<digits>.jpg`.
pub fn is_lfw_file(identity: &str, file: &str) -> bool {
    let Some(rest) = file.strip_prefix(identity) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('_') else {
        return false;
    };
    let Some(digits) = rest.strip_suffix(".jpg") else {
        return false;
    };
    !identity.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_tarball(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.ends_with(".tgz") || name.ends_with(".tar.gz")
}

impl Source {
    /// Opens a directory or a `.tgz`/`.tar.gz` file; checks only that it exists and its kind.
    pub fn open(path: &Path) -> Result<Source> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "dataset path {} does not exist: pass the LFW directory or lfw.tgz (or run \
                 `facenet-lab data fetch` to download LFW)",
                path.display()
            ),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot access dataset path {}: check its permissions",
                        path.display()
                    )
                })
            }
        };
        let canonical = path
            .canonicalize()
            .with_context(|| format!("cannot resolve dataset path {}", path.display()))?;
        if meta.is_dir() {
            Ok(Source::Dir { root: canonical })
        } else if is_tarball(path) {
            Ok(Source::Tgz { path: canonical })
        } else {
            bail!(
                "dataset path {} is neither a directory nor a .tgz/.tar.gz archive: pass the LFW \
                 directory (<Name>/<Name>_NNNN.jpg) or the lfw.tgz tarball",
                path.display()
            )
        }
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            Source::Dir { .. } => SourceKind::Dir,
            Source::Tgz { .. } => SourceKind::Tgz,
        }
    }

    /// The canonical path as given to [`Source::open`] (the directory, not its `lfw/` child).
    pub fn path(&self) -> &Path {
        match self {
            Source::Dir { root } => root,
            Source::Tgz { path } => path,
        }
    }

    /// How to show an entry to a human: its path on disk, or `<archive>:<entry>`.
    pub fn display(&self, entry: &Entry) -> String {
        match self {
            Source::Dir { .. } => entry.location.clone(),
            Source::Tgz { path } => format!("{}:{}", path.display(), entry.location),
        }
    }

    /// All LFW files, sorted by (identity, file). Fails when there are none.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let mut entries = match self {
            Source::Dir { root } => list_dir(root)?,
            Source::Tgz { path } => list_tgz(path)?,
        };
        entries.sort_by(|a, b| (&a.identity, &a.file).cmp(&(&b.identity, &b.file)));
        if let Some(w) = entries
            .windows(2)
            .find(|w| w[0].identity == w[1].identity && w[0].file == w[1].file)
        {
            bail!(
                "{} holds {}/{} twice ({} and {}): keep a single copy of LFW in it",
                self.path().display(),
                w[0].identity,
                w[0].file,
                w[0].location,
                w[1].location
            );
        }
        if entries.is_empty() {
            match self {
                Source::Dir { root } => bail!(
                    "no LFW identity folders found in {}: expected <Name>/<Name>_NNNN.jpg files \
                     (optionally under lfw/); pass the extracted LFW directory or lfw.tgz",
                    root.display()
                ),
                Source::Tgz { path } => bail!(
                    "{} is not an LFW archive: it has no <Name>/<Name>_NNNN.jpg entries; pass \
                     LFW's lfw.tgz (run `facenet-lab data fetch` to download it)",
                    path.display()
                ),
            }
        }
        Ok(entries)
    }

    /// Reads the raw bytes of `wanted` (in that order). A tarball is streamed once and only the
    /// wanted entries are kept in memory.
    pub fn read(&self, wanted: &[&Entry]) -> Result<Vec<Vec<u8>>> {
        match self {
            Source::Dir { .. } => wanted
                .iter()
                .map(|e| {
                    std::fs::read(&e.location).with_context(|| {
                        format!("cannot read {}: check that it is readable", e.location)
                    })
                })
                .collect(),
            Source::Tgz { path } => read_tgz(path, wanted),
        }
    }
}

fn dir_names(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot list directory {}: check its permissions",
            dir.display()
        )
    })?;
    for ent in rd {
        let ent = ent.with_context(|| format!("cannot list directory {}", dir.display()))?;
        let is_dir = ent.file_type().map(|t| t.is_dir()).unwrap_or(false) || ent.path().is_dir();
        if let Ok(name) = ent.file_name().into_string() {
            out.push((name, ent.path(), is_dir));
        }
    }
    Ok(out)
}

fn identity_files(root: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (identity, path, is_dir) in dir_names(root)? {
        if !is_dir {
            continue;
        }
        for (file, fpath, fdir) in dir_names(&path)? {
            if !fdir && is_lfw_file(&identity, &file) {
                entries.push(Entry {
                    identity: identity.clone(),
                    file,
                    location: fpath.to_string_lossy().into_owned(),
                });
            }
        }
    }
    Ok(entries)
}

fn list_dir(root: &Path) -> Result<Vec<Entry>> {
    let entries = identity_files(root)?;
    let lfw = root.join("lfw");
    if entries.is_empty() && lfw.is_dir() {
        return identity_files(&lfw);
    }
    Ok(entries)
}

fn open_tgz(path: &Path) -> Result<tar::Archive<GzDecoder<BufReader<File>>>> {
    let f = File::open(path)
        .with_context(|| format!("cannot open {}: check that it is readable", path.display()))?;
    Ok(tar::Archive::new(GzDecoder::new(BufReader::with_capacity(
        1 << 20,
        f,
    ))))
}

fn tgz_error(path: &Path) -> String {
    format!(
        "cannot read {} as a gzip-compressed tar archive (is it a complete .tgz such as LFW's \
         lfw.tgz? download it again with `facenet-lab data fetch`)",
        path.display()
    )
}

/// `(identity, file)` when an archive path ends in `<Name>/<Name>_NNNN.jpg`.
fn tar_lfw_name(entry_path: &str) -> Option<(String, String)> {
    let mut parts = entry_path.rsplit('/').filter(|p| !p.is_empty());
    let file = parts.next()?;
    let identity = parts.next()?;
    is_lfw_file(identity, file).then(|| (identity.to_string(), file.to_string()))
}

fn for_each_tgz_file(
    path: &Path,
    mut f: impl FnMut(&str, &mut dyn Read) -> Result<bool>,
) -> Result<()> {
    let mut archive = open_tgz(path)?;
    for entry in archive.entries().with_context(|| tgz_error(path))? {
        let mut entry = entry.with_context(|| tgz_error(path))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if !f(&name, &mut entry)? {
            break;
        }
    }
    Ok(())
}

fn list_tgz(path: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for_each_tgz_file(path, |name, _| {
        if let Some((identity, file)) = tar_lfw_name(name) {
            entries.push(Entry {
                identity,
                file,
                location: name.to_string(),
            });
        }
        Ok(true)
    })?;
    Ok(entries)
}

fn read_tgz(path: &Path, wanted: &[&Entry]) -> Result<Vec<Vec<u8>>> {
    // Every place an entry is wanted: one asked for twice gets its bytes twice.
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in wanted.iter().enumerate() {
        index.entry(e.location.as_str()).or_default().push(i);
    }
    let mut out: Vec<Option<Vec<u8>>> = vec![None; wanted.len()];
    let mut remaining = wanted.len();
    if remaining > 0 {
        for_each_tgz_file(path, |name, r| {
            if let Some(places) = index.get(name) {
                let mut buf = Vec::new();
                r.read_to_end(&mut buf).with_context(|| tgz_error(path))?;
                for &i in places {
                    if out[i].replace(buf.clone()).is_none() {
                        remaining -= 1;
                    }
                }
            }
            Ok(remaining > 0)
        })?;
    }
    out.into_iter()
        .zip(wanted)
        .map(|(b, e)| {
            b.with_context(|| {
                format!(
                    "{} no longer holds {}: did the archive change while it was read?",
                    path.display(),
                    e.location
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_lfw_names() {
        assert!(is_lfw_file("Amelie_Mauresmo", "Amelie_Mauresmo_0001.jpg"));
        assert!(is_lfw_file("A", "A_12345.jpg"));
        assert!(!is_lfw_file("A", "A_.jpg"));
        assert!(!is_lfw_file("A", "A_0001.png"));
        assert!(!is_lfw_file("A", "B_0001.jpg"));
        assert!(!is_lfw_file("A", "A_00x1.jpg"));
        assert!(!is_lfw_file("", "_0001.jpg"));
        assert_eq!(
            tar_lfw_name("lfw/A_B/A_B_0002.jpg"),
            Some(("A_B".into(), "A_B_0002.jpg".into()))
        );
        assert_eq!(
            tar_lfw_name("./A_B/A_B_0002.jpg"),
            Some(("A_B".into(), "A_B_0002.jpg".into()))
        );
        assert_eq!(tar_lfw_name("A_B_0002.jpg"), None);
        assert_eq!(tar_lfw_name("lfw/README"), None);
    }

    #[test]
    fn an_archive_entry_wanted_twice_is_read_for_both() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lfw.tgz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path)?,
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in [("lfw/A/A_0001.jpg", b"one"), ("lfw/B/B_0001.jpg", b"two")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, &bytes[..])?;
        }
        tar.into_inner()?.finish()?;
        let source = Source::open(&path)?;
        let entries = source.list()?;
        let [a, b] = [0, 1].map(|i| &entries[i]);
        assert_eq!(
            (a.file.as_str(), b.file.as_str()),
            ("A_0001.jpg", "B_0001.jpg")
        );
        let got = source.read(&[b, a, b])?;
        assert_eq!(got, [b"two".to_vec(), b"one".to_vec(), b"two".to_vec()]);
        Ok(())
    }
}
