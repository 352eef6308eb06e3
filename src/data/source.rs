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
use flate2::read::MultiGzDecoder;

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

    /// All LFW files, sorted by (identity, file). Fails when there are none. Images and
    /// identity folders whose names are not UTF-8 cannot be LFW's: they are skipped, and said.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let Listing {
            mut entries,
            not_utf8,
            links,
        } = match self {
            Source::Dir { root } => list_dir(root)?,
            Source::Tgz { path } => list_tgz(path)?,
        };
        // Said once a process for a source: eval lists one source more than once.
        static SAID: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
        let first_time = || {
            SAID.lock().is_ok_and(|mut said| {
                let new = !said.iter().any(|p| p == self.path());
                if new {
                    said.push(self.path().to_path_buf());
                }
                new
            })
        };
        let say = !(not_utf8.is_empty() && links.is_empty()) && first_time();
        if let Some(first) = not_utf8.first().filter(|_| say) {
            crate::say!(
                "warning: {} skips {} whose names are not UTF-8 (LFW's names are ASCII), such \
                 as '{first}'",
                self.path().display(),
                crate::format::count(
                    not_utf8.len() as u64,
                    "image or folder",
                    "images or folders"
                )
            );
        }
        if let Some(first) = links.first().filter(|_| say) {
            crate::say!(
                "warning: {} skips {} stored as links in the archive (a folder packed with its \
                 hard or symbolic links), such as '{first}': the same images as a folder would \
                 count; pack them as files (tar --hard-dereference --dereference) or pass the \
                 folder",
                self.path().display(),
                crate::format::count(links.len() as u64, "image", "images")
            );
        }
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

/// What a source lists: its LFW files, and the (lossily shown) names skipped for not being
/// UTF-8 that would otherwise have been looked at: identity folders and `.jpg` files; and, in
/// an archive, the LFW images stored as links, which are skipped.
#[derive(Default)]
struct Listing {
    entries: Vec<Entry>,
    not_utf8: Vec<String>,
    links: Vec<String>,
}

/// Whether a name that is not UTF-8 is one a listing would have looked at: an image, or (at the
/// top, `identities`) a folder.
fn worth_saying(name: &[u8], is_dir: bool, identities: bool) -> bool {
    if identities {
        is_dir
    } else {
        !is_dir && name.ends_with(b".jpg")
    }
}

/// The UTF-8 names in `dir` (name, path, whether a folder); the others are added to `not_utf8`
/// when [`worth_saying`] in a folder of `identities` or of images.
fn dir_names(
    dir: &Path,
    identities: bool,
    not_utf8: &mut Vec<String>,
) -> Result<Vec<(String, PathBuf, bool)>> {
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
        match ent.file_name().into_string() {
            Ok(name) => out.push((name, ent.path(), is_dir)),
            Err(name) => {
                if worth_saying(name.as_encoded_bytes(), is_dir, identities) {
                    not_utf8.push(ent.path().to_string_lossy().into_owned());
                }
            }
        }
    }
    Ok(out)
}

fn identity_files(root: &Path) -> Result<Listing> {
    let (mut entries, mut not_utf8) = (Vec::new(), Vec::new());
    for (identity, path, is_dir) in dir_names(root, true, &mut not_utf8)? {
        if !is_dir {
            continue;
        }
        for (file, fpath, fdir) in dir_names(&path, false, &mut not_utf8)? {
            if !fdir && is_lfw_file(&identity, &file) {
                entries.push(Entry {
                    identity: identity.clone(),
                    file,
                    location: fpath.to_string_lossy().into_owned(),
                });
            }
        }
    }
    Ok(Listing {
        entries,
        not_utf8,
        links: Vec::new(),
    })
}

fn list_dir(root: &Path) -> Result<Listing> {
    let listing = identity_files(root)?;
    let lfw = root.join("lfw");
    if listing.entries.is_empty() && lfw.is_dir() {
        return identity_files(&lfw);
    }
    Ok(listing)
}

/// A gzip file of several members (bgzip's, or gzip files put end to end) is read whole.
fn open_tgz(path: &Path) -> Result<tar::Archive<MultiGzDecoder<BufReader<File>>>> {
    let f = File::open(path)
        .with_context(|| format!("cannot open {}: check that it is readable", path.display()))?;
    Ok(tar::Archive::new(MultiGzDecoder::new(
        BufReader::with_capacity(1 << 20, f),
    )))
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

/// Calls `f` with each file of the archive whose name is UTF-8, until it returns false;
/// returns what was skipped: the (lossily shown) names of the others that are
/// [`worth_saying`], and the LFW images stored as links.
fn for_each_tgz_file(
    path: &Path,
    mut f: impl FnMut(&str, &mut dyn Read) -> Result<bool>,
) -> Result<Listing> {
    let mut archive = open_tgz(path)?;
    let mut skipped = Listing::default();
    for entry in archive.entries().with_context(|| tgz_error(path))? {
        let mut entry = entry.with_context(|| tgz_error(path))?;
        let kind = entry.header().entry_type();
        if kind.is_hard_link() || kind.is_symlink() {
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if tar_lfw_name(&name).is_some() {
                skipped.links.push(name);
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let bytes = entry.path_bytes();
        let Ok(name) = std::str::from_utf8(&bytes).map(str::to_string) else {
            if worth_saying(&bytes, false, false) {
                skipped
                    .not_utf8
                    .push(String::from_utf8_lossy(&bytes).into_owned());
            }
            continue;
        };
        drop(bytes);
        if !f(&name, &mut entry)? {
            break;
        }
    }
    Ok(skipped)
}

fn list_tgz(path: &Path) -> Result<Listing> {
    let mut entries = Vec::new();
    let skipped = for_each_tgz_file(path, |name, _| {
        if let Some((identity, file)) = tar_lfw_name(name) {
            entries.push(Entry {
                identity,
                file,
                location: name.to_string(),
            });
        }
        Ok(true)
    })?;
    Ok(Listing { entries, ..skipped })
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

    use std::os::unix::ffi::OsStrExt;

    /// A tar archive of files with these names (any bytes) and contents.
    fn tar_of(files: &[(&[u8], &[u8])]) -> Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, std::ffi::OsStr::from_bytes(name), *bytes)?;
        }
        Ok(tar.into_inner()?)
    }

    /// `bytes` gzipped as one member per piece, the pieces cut at `cuts`.
    fn gzip_members(bytes: &[u8], cuts: &[usize]) -> Result<Vec<u8>> {
        use std::io::Write;
        let mut out = Vec::new();
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(cuts.iter().copied())
            .chain([bytes.len()])
            .collect();
        for w in bounds.windows(2) {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&bytes[w[0]..w[1]])?;
            out.extend(gz.finish()?);
        }
        Ok(out)
    }

    #[test]
    fn an_archive_entry_wanted_twice_is_read_for_both() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lfw.tgz");
        let tar = tar_of(&[(b"lfw/A/A_0001.jpg", b"one"), (b"lfw/B/B_0001.jpg", b"two")])?;
        std::fs::write(&path, gzip_members(&tar, &[])?)?;
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

    /// bgzip, or gzip files put end to end: with only the first member read, the archive
    /// would end quietly after its first image.
    #[test]
    fn an_archive_gzipped_in_several_members_is_read_whole() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lfw.tgz");
        let tar = tar_of(&[(b"lfw/A/A_0001.jpg", b"one"), (b"lfw/B/B_0001.jpg", b"two")])?;
        // The first file is its 512-byte header and its content padded to 512 bytes.
        std::fs::write(&path, gzip_members(&tar, &[1024, 1500])?)?;
        let source = Source::open(&path)?;
        let entries = source.list()?;
        let names: Vec<&str> = entries.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(names, ["A_0001.jpg", "B_0001.jpg"]);
        assert_eq!(source.read(&[&entries[1]])?, [b"two".to_vec()]);
        Ok(())
    }

    #[test]
    fn names_that_are_not_utf8_are_skipped_and_counted() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("lfw");
        let name = |bytes: &[u8]| std::ffi::OsStr::from_bytes(bytes).to_owned();
        std::fs::create_dir_all(root.join("A"))?;
        std::fs::write(root.join("A/A_0001.jpg"), b"one")?;
        std::fs::write(root.join("A").join(name(b"A_\xff001.jpg")), b"x")?;
        std::fs::write(root.join("A").join(name(b"notes\xff.txt")), b"x")?;
        std::fs::create_dir(root.join(name(b"B\xff")))?;
        // Neither would be looked at: a folder among images, an image among identities.
        std::fs::create_dir(root.join("A").join(name(b"sub\xff.jpg")))?;
        std::fs::write(root.join(name(b"C_\xff001.jpg")), b"x")?;
        let listed = list_dir(&root)?;
        let files: Vec<&str> = listed.entries.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["A_0001.jpg"]);
        let mut skipped = listed.not_utf8.clone();
        skipped.sort();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].ends_with("A/A_\u{fffd}001.jpg"), "{skipped:?}");
        assert!(skipped[1].ends_with("lfw/B\u{fffd}"), "{skipped:?}");

        let tgz = dir.path().join("lfw.tgz");
        let tar = tar_of(&[
            (b"lfw/A/A_0001.jpg", b"one"),
            (b"lfw/A/A_\xff001.jpg", b"x"),
            (b"lfw/README\xff", b"x"),
        ])?;
        std::fs::write(&tgz, gzip_members(&tar, &[])?)?;
        let listed = list_tgz(&tgz)?;
        assert_eq!(listed.entries.len(), 1);
        assert_eq!(listed.not_utf8, ["lfw/A/A_\u{fffd}001.jpg"]);
        Ok(())
    }

    /// A folder packed with its links (`cp -al`, then `tar czf`) stores repeated images as
    /// link entries, which are skipped and counted, where a folder would read them.
    #[test]
    fn images_stored_as_links_in_an_archive_are_counted() -> Result<()> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "lfw/A/A_0001.jpg", &b"one"[..])?;
        for (kind, name) in [
            (tar::EntryType::Link, "lfw/A/A_0002.jpg"),
            (tar::EntryType::Symlink, "lfw/B/B_0001.jpg"),
            (tar::EntryType::Symlink, "lfw/README"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_size(0);
            tar.append_link(&mut header, name, "lfw/A/A_0001.jpg")?;
        }
        let dir = tempfile::tempdir()?;
        let tgz = dir.path().join("lfw.tgz");
        std::fs::write(&tgz, gzip_members(&tar.into_inner()?, &[])?)?;
        let listed = list_tgz(&tgz)?;
        assert_eq!(listed.entries.len(), 1);
        assert_eq!(listed.links, ["lfw/A/A_0002.jpg", "lfw/B/B_0001.jpg"]);
        Ok(())
    }
}
