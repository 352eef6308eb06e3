//! Downloading LFW (`lfw.tgz` and `pairs.txt`), verified, into a data directory.
//!
//! Each file is written to a temporary `.<name>.part-<pid>` in the destination directory and
//! renamed into place only after its size and sha256 match: a failed, truncated or mismatched
//! download leaves nothing where a good file belongs (and one whose process was killed is
//! removed by any later fetch, once ten minutes idle). Only a `200 OK` is taken, byte for byte as sent (ureq is built
//! without gzip decoding), and no more bytes than the file has. A file that is already present and
//! verifies is not downloaded again; one that does not is named, with what fails, and replaced
//! (kept if the download fails).
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::progress;

/// Environment variable naming a URL prefix to download from instead of the official URLs:
/// the files are then `<prefix>/lfw.tgz` and `<prefix>/pairs.txt`.
pub const MIRROR_ENV: &str = "FACENET_LAB_MIRROR";

/// One file to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name in the destination directory.
    pub name: String,
    pub url: String,
    /// Expected size in bytes, if known.
    pub size: Option<u64>,
    /// Expected sha256 (lowercase hex), if known.
    pub sha256: Option<String>,
}

/// What to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSpec {
    pub files: Vec<RemoteFile>,
}

impl FetchSpec {
    /// The official LFW archive and View 2 pairs, with their sizes and hashes.
    pub fn official() -> Self {
        FetchSpec {
            files: vec![
                RemoteFile {
                    name: "lfw.tgz".into(),
                    url: "https://ndownloader.figshare.com/files/5976018".into(),
                    size: Some(180_566_744),
                    sha256: Some(
                        "055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0".into(),
                    ),
                },
                RemoteFile {
                    name: "pairs.txt".into(),
                    url: "https://ndownloader.figshare.com/files/5976006".into(),
                    size: Some(155_335),
                    sha256: Some(crate::eval::pairs::VIEW2_SHA256.into()),
                },
            ],
        }
    }

    /// The official files and checks, downloaded from `<prefix>/<name>`.
    pub fn with_mirror(prefix: &str) -> Self {
        let prefix = prefix.trim_end_matches('/');
        let mut spec = Self::official();
        for f in &mut spec.files {
            f.url = format!("{prefix}/{}", f.name);
        }
        spec
    }

    /// [`FetchSpec::with_mirror`] when `FACENET_LAB_MIRROR` is set, else [`FetchSpec::official`];
    /// a mirror that is no http(s) address is refused before anything is downloaded.
    pub fn from_env() -> Result<Self> {
        match std::env::var(MIRROR_ENV) {
            Ok(prefix) if !prefix.trim().is_empty() => Self::mirror(prefix.trim()),
            _ => Ok(Self::official()),
        }
    }

    /// [`FetchSpec::with_mirror`] for a `prefix` that is an http:// or https:// address.
    fn mirror(prefix: &str) -> Result<Self> {
        let lower = prefix.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            bail!(
                "{MIRROR_ENV}='{prefix}' is not an http:// or https:// address: set it to the \
                 address of a folder that holds lfw.tgz and pairs.txt, such as \
                 http://127.0.0.1:8000/lfw, or unset it for the official mirror"
            );
        }
        Ok(Self::with_mirror(prefix))
    }
}

/// The outcome for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    /// False when a verified copy was already there.
    pub downloaded: bool,
}

impl Fetched {
    /// What happened to the file, as `data fetch` says it.
    pub fn what(&self) -> &'static str {
        if self.downloaded {
            "downloaded and verified"
        } else {
            "already present and verified"
        }
    }
}

/// Where the lab keeps downloaded data: `<data dir>/facenet-lab` (e.g.
/// `~/.local/share/facenet-lab` on Linux).
pub fn default_data_dir() -> Result<PathBuf> {
    let base = dirs::data_dir().context(
        "cannot find the user data directory (is HOME set?): pass a directory explicitly with \
         `facenet-lab data fetch --to DIR` and `--data DIR/lfw.tgz`",
    )?;
    Ok(base.join("facenet-lab"))
}

/// `<default_data_dir>/lfw.tgz` when it exists; otherwise an error that says how to get it,
/// or to name a copy with `--data PATH` (as `run` and `eval` take one).
pub fn default_dataset_path() -> Result<PathBuf> {
    fetched_dataset_path("`--data PATH`")
}

/// [`default_dataset_path`], whose error ends with `name_it`: how the command given names
/// images of the user's own (`--data PATH`, or `data inspect PATH`).
pub fn fetched_dataset_path(name_it: &str) -> Result<PathBuf> {
    let dir = default_data_dir()?;
    let path = dir.join("lfw.tgz");
    if path.is_file() {
        return Ok(path);
    }
    bail!(
        "no dataset found at {}: run `facenet-lab data fetch` to download LFW there, or name \
         your copy (an LFW directory or lfw.tgz): {name_it}",
        path.display()
    )
}

/// A one-line warning when the archive at `path`, which `data fetch` put in place, is not the
/// official `lfw.tgz`: its size differs (a copy the fetch refused and left in place when its
/// replacement failed). Only the size is read: hashing 180 MB on every run would cost seconds.
pub fn unofficial_archive(path: &Path) -> Option<String> {
    let official = FetchSpec::official();
    let size = official.files.iter().find(|f| f.name == "lfw.tgz")?.size?;
    let has = std::fs::metadata(path).ok()?.len();
    (has != size).then(|| {
        format!(
            "warning: {} has {has} bytes, not the {size} of the official lfw.tgz (`data fetch` \
             did not verify it); training on it as it is: `facenet-lab data fetch` replaces it, \
             or --data PATH names other images",
            path.display()
        )
    })
}

/// Downloads every file of `spec` into `to_dir` (created if needed), skipping files that are
/// already there and verify. Shows a progress bar when `progress` and stderr is a terminal.
/// Every file is tried even when one fails; the files that landed are then said on stdout, as
/// `data fetch` says them, and the error names each failure and only those.
pub fn fetch(to_dir: &Path, spec: &FetchSpec, progress: bool) -> Result<Vec<Fetched>> {
    let made = !to_dir.exists();
    std::fs::create_dir_all(to_dir).with_context(|| {
        format!(
            "cannot create {}: pick a writable directory with --to DIR",
            to_dir.display()
        )
    })?;
    let mut out = Vec::new();
    let mut failed = Vec::new();
    // One file failing does not stop the others: pairs.txt is still worth having when the
    // archive's download fails, and the user learns of every failure at once.
    for file in &spec.files {
        match fetch_one(to_dir, file, progress) {
            Ok(f) => out.push(f),
            Err(e) => failed.push((to_dir.join(&file.name), e)),
        }
    }
    if failed.is_empty() {
        return Ok(out);
    }
    if made && out.is_empty() {
        // Nothing landed: no empty folder is left of a fetch that failed (a folder that holds
        // anything, a download's torn part, stays).
        let _ = std::fs::remove_dir(to_dir);
    }
    if failed.len() == 1 && out.is_empty() {
        return Err(failed.remove(0).1);
    }
    let mut msg = format!(
        "{} of {} files could not be fetched into {}:",
        failed.len(),
        spec.files.len(),
        to_dir.display()
    );
    for (path, e) in &failed {
        msg.push_str(&format!("\n  {}: {e:#}", path.display()));
    }
    for f in &out {
        crate::outln!("{}: {}", f.path.display(), f.what());
    }
    bail!(msg)
}

/// Fetches one file of a spec into `to_dir`.
fn fetch_one(to_dir: &Path, file: &RemoteFile, progress: bool) -> Result<Fetched> {
    // Every fetch, not only one that downloads: after a kill and a fetch that completed
    // the file, no later fetch downloads it again.
    remove_stale_parts(to_dir, &file.name);
    let dest = to_dir.join(&file.name);
    let downloaded = match existing(&dest, file) {
        Existing::Verified => false,
        Existing::Missing => {
            download(file, &dest, false, progress)?;
            true
        }
        Existing::Unverified(why) => {
            replace(file, &dest, &why, progress)?;
            true
        }
    };
    Ok(Fetched {
        path: dest,
        downloaded,
    })
}

/// What is already at a file's destination.
#[derive(Debug)]
enum Existing {
    Missing,
    Verified,
    /// Present, but it fails verification, for this reason.
    Unverified(anyhow::Error),
}

fn existing(dest: &Path, file: &RemoteFile) -> Existing {
    if !dest.is_file() {
        return Existing::Missing;
    }
    match verify_file(dest, file) {
        Ok(()) => Existing::Verified,
        Err(why) => Existing::Unverified(why),
    }
}

/// Downloads over a file that fails verification, saying so first: the user learns why their
/// copy is not used, and a failed download leaves it in place and says that it is bad. A
/// download that lands puts their copy aside (`lfw.tgz.unverified`), never deleted: it may be
/// a copy of their own (a grayscale LFW), not a torn download. The first line promises neither:
/// the download may fail, and a mirror may serve another file.
fn replace(file: &RemoteFile, dest: &Path, why: &anyhow::Error, progress: bool) -> Result<()> {
    crate::say!(
        "{} fails verification: {why:#}; downloading a replacement from {} (this one is kept \
         as {}.unverified if the replacement verifies)",
        dest.display(),
        file.url,
        file.name
    );
    let kept = download(file, dest, true, progress).with_context(|| {
        format!(
            "{} fails verification: {why:#}; it was left as it is, and downloading a \
             replacement failed",
            dest.display()
        )
    })?;
    if let Some(k) =
        kept.filter(|k| k.file_name() != Some(format!("{}.unverified", file.name).as_ref()))
    {
        // The first name was taken (by an earlier replacement): say the one it has.
        crate::say!("{} was kept as {}", dest.display(), k.display());
    }
    Ok(())
}

/// Checks a file on disk against the expected size and hash.
pub fn verify_file(path: &Path, file: &RemoteFile) -> Result<()> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let n = std::io::copy(&mut BufReader::with_capacity(1 << 20, f), &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    check(file, n, &hex::encode(hasher.finalize()))
}

fn check(file: &RemoteFile, size: u64, sha256: &str) -> Result<()> {
    if let Some(expected) = file.size {
        if size != expected {
            bail!(
                "{} has {size} bytes, expected {expected} (incomplete or wrong file)",
                file.name
            );
        }
    }
    if let Some(expected) = &file.sha256 {
        if !sha256.eq_ignore_ascii_case(expected) {
            bail!(
                "{} has sha256 {sha256}, expected {expected} (corrupt or wrong file)",
                file.name
            );
        }
    }
    Ok(())
}

/// Removes the temporary file unless the download succeeded.
struct PartFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes the `.<name>.part-<pid>` files in `dir` whose process is gone (killed mid-download:
/// Ctrl-C runs no destructor) and that nothing wrote for ten minutes (a fetch writes at least
/// once a minute, or times out): a fetch still running, in another pid namespace too, keeps its
/// own.
fn remove_stale_parts(dir: &Path, name: &str) {
    let prefix = format!(".{name}.part-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let pid = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            let idle = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|idle| idle > Duration::from_secs(600));
            if idle && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Downloads `file` to `dest`, verified; with `keep`, a file already there is kept aside
/// ([`keep_aside`]), and where is returned.
fn download(
    file: &RemoteFile,
    dest: &Path,
    keep: bool,
    progress_bar: bool,
) -> Result<Option<PathBuf>> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut part = PartFile {
        path: dir.join(format!(".{}.part-{}", file.name, std::process::id())),
        keep: false,
    };
    let fail = |what: &str| {
        format!(
            "downloading {} from {} failed ({what}): check the network (or {MIRROR_ENV}) and run \
             `facenet-lab data fetch` again",
            file.name, file.url
        )
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        // A 404 is an answer, said below as one, not a network fault.
        .http_status_as_error(false)
        .build()
        .into();
    // Asked for as it is; and should a server label the archive gzip-encoded anyway, ureq,
    // built without gzip, hands over its bytes, not the tar inside.
    let response = agent
        .get(&file.url)
        .header("Accept-Encoding", "identity")
        .call()
        .with_context(|| fail("request"))?;
    // Another 2xx (a 202 with an empty body, as a bot challenge answers) is not the file.
    if response.status() != 200 {
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|t| format!(", {t}"))
            .unwrap_or_default();
        let what_now = if std::env::var_os(MIRROR_ENV).is_some() {
            format!(
                "check that {MIRROR_ENV} names a folder that serves {}",
                file.name
            )
        } else if response.status().is_server_error() {
            "try `facenet-lab data fetch` again later".to_string()
        } else {
            format!(
                "the file may have moved: download it by hand into {}, or name a server that \
                 has it with {MIRROR_ENV}=URL-PREFIX",
                dir.display()
            )
        };
        bail!(
            "downloading {} from {}: the server answered {}{kind}, not the file; {what_now}",
            file.name,
            file.url,
            response.status(),
        );
    }
    let body = response.into_body();
    let announced = body.content_length();
    let pb = progress::bytes(announced.or(file.size), &file.name, progress_bar);
    let mut reader = body.into_reader();
    let mut out = File::create(&part.path).with_context(|| {
        format!(
            "cannot write {}: pick a writable directory with --to DIR",
            part.path.display()
        )
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total: u64 = 0;
    loop {
        let n = reader
            .read(&mut buf)
            .with_context(|| fail("transfer interrupted"))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if let Some(size) = file.size.filter(|&size| total > size) {
            bail!(fail(&format!(
                "the server sent more than the file's {size} bytes"
            )));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}: is the disk full?", part.path.display()))?;
        pb.set_position(total);
    }
    pb.finish_and_clear();
    if let Some(len) = announced.filter(|&len| total < len) {
        bail!(fail(&format!(
            "the transfer ended after {total} of {len} bytes"
        )));
    }
    check(file, total, &hex::encode(hasher.finalize())).with_context(|| {
        // All the server announced arrived: it sent another file.
        let source = match std::env::var(MIRROR_ENV) {
            Ok(m) if !m.trim().is_empty() => format!(
                "{MIRROR_ENV} is {m}: check that it serves the official {}",
                file.name
            ),
            _ => format!(
                "the server may have changed the file; set {MIRROR_ENV} to a mirror that \
                 serves the official one"
            ),
        };
        format!(
            "{} from {} is not the official file ({source}); nothing was kept",
            file.name, file.url
        )
    })?;
    let kept = if keep && dest.exists() {
        Some(keep_aside(dest, &file.name)?)
    } else {
        None
    };
    // Synced before it takes the name, and the folder after: a power cut leaves no torn file.
    // The rename replaces the file there at once: it is never missing.
    let placed = crate::files::put_in_place(&out, &part.path, dest)
        .with_context(|| format!("cannot move {} to {}", part.path.display(), dest.display()));
    if placed.is_err() {
        // The file is still there, under its name: its second name goes.
        if let Some(k) = &kept {
            let _ = std::fs::remove_file(k);
        }
    }
    placed?;
    part.keep = true;
    Ok(kept)
}

/// A second name for the file at `dest`, the first free one of `NAME.unverified`,
/// `NAME.unverified-2`, ...: a hard link, which never takes a name another fetch took
/// meanwhile; a copy where the filesystem has no links.
fn keep_aside(dest: &Path, name: &str) -> Result<PathBuf> {
    for n in 1.. {
        let aside = dest.with_file_name(match n {
            1 => format!("{name}.unverified"),
            n => format!("{name}.unverified-{n}"),
        });
        let kept = std::fs::hard_link(dest, &aside).or_else(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                return Err(e);
            }
            let mut to = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&aside)?;
            std::io::copy(&mut File::open(dest)?, &mut to).map(|_| ())
        });
        match kept {
            Ok(()) => return Ok(aside),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot keep {} aside as {}",
                        dest.display(),
                        aside.display()
                    )
                })
            }
        }
    }
    unreachable!("a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_rewrites_urls_and_keeps_checks() {
        let m = FetchSpec::with_mirror("http://127.0.0.1:9/lfw/");
        let o = FetchSpec::official();
        assert_eq!(m.files[0].url, "http://127.0.0.1:9/lfw/lfw.tgz");
        assert_eq!(m.files[1].url, "http://127.0.0.1:9/lfw/pairs.txt");
        for bad in ["notaurl", "ftp://host/lfw", "127.0.0.1:8000"] {
            let err = FetchSpec::mirror(bad).err().map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains("is not an http:// or https:// address")),
                "{bad}: {err:?}"
            );
        }
        assert!(FetchSpec::mirror("HTTPS://mirror.example/lfw").is_ok());
        assert_eq!(m.files[0].sha256, o.files[0].sha256);
        assert_eq!(o.files[0].size, Some(180_566_744));
    }

    #[test]
    fn an_existing_file_is_verified_and_a_bad_one_says_why() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let dest = dir.path().join("x");
        let f = RemoteFile {
            name: "x".into(),
            url: String::new(),
            size: Some(3),
            sha256: Some(crate::data::hash::sha256_hex(b"abc")),
        };
        assert!(matches!(existing(&dest, &f), Existing::Missing));
        std::fs::write(&dest, b"abc")?;
        assert!(matches!(existing(&dest, &f), Existing::Verified));
        std::fs::write(&dest, b"abd")?;
        let Existing::Unverified(why) = existing(&dest, &f) else {
            bail!("a file with the wrong sha256 verified");
        };
        assert!(why.to_string().contains("has sha256 "), "{why}");
        Ok(())
    }

    #[test]
    fn check_reports_size_then_hash() {
        let f = RemoteFile {
            name: "x".into(),
            url: String::new(),
            size: Some(3),
            sha256: Some(crate::data::hash::sha256_hex(b"abc")),
        };
        assert!(check(&f, 3, &crate::data::hash::sha256_hex(b"abc")).is_ok());
        let size = check(&f, 2, "00")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(size.contains("2 bytes, expected 3"));
        let hash = check(&f, 3, "00")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(hash.contains("sha256 00"));
    }
}
