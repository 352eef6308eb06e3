//! The LFW data pipeline: import, filter, split, hash and load face images.
//!
//! # Sources
//! A [`DataSpec`] names either a path or an in-memory synthetic dataset:
//! * a directory in LFW's official layout `<root>/<Name>/<Name>_NNNN.jpg`, with or without the
//!   top `lfw/` folder (see [`source`]);
//! * the official tarball `lfw.tgz` / `*.tar.gz`, streamed with flate2 + tar and never extracted
//!   to disk: one pass lists the entries, a second pass reads only the wanted files;
//! * `synthetic[:IDS:PER[:SEED]]`, a small face-like dataset generated in memory (see
//!   [`synthetic`]).
//!
//! # Filter and corrupt images
//! An identity is a *candidate* when its raw number of `<Name>_NNNN.jpg` files lies in
//! `min_images..=max_images`. Only candidates are read and validate-decoded (full decode, plus a
//! check for the JPEG end-of-image marker so truncated files are caught). Corrupt files are
//! excluded and reported in [`Manifest::excluded`]; a candidate is then kept when it still has at
//! least `min_images` valid images. Exclusion therefore never adds identities, and identities
//! above `max_images` are never decoded. The result is deterministic.
//!
//! # Split
//! Per identity, see [`split::split_sizes`]: files sorted by name (or shuffled with
//! `split_seed`), train takes the first files, then dev, then test.
//!
//! # Hashes
//! See [`hash`]: every member carries the sha256 of its file's raw bytes; a split's hash is the
//! sha256 of its sorted `identity\tfile\tsha256\n` lines; the content hash is the same over all
//! kept members.
//!
//! # Pixels
//! Images are decoded to RGB (grayscale is replicated to R=G=B), cropped to their central
//! `crop` fraction (1 = whole image), resized to `image_size` x `image_size` with the bilinear
//! (triangle) filter, and normalised to `[-1, 1]` as
//! `x / 127.5 - 1`, laid out as an `(N, 3, S, S)` f32 tensor on the CPU.

pub mod decode;
pub mod fetch;
pub mod hash;
mod pipeline;
pub(crate) mod progress;
pub mod recorded;
pub mod source;
pub mod split;
pub mod synthetic;

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

pub use decode::Pixels;
pub use fetch::{default_data_dir, default_dataset_path, fetch, FetchSpec, Fetched, RemoteFile};
pub use pipeline::{decode_images, images_record, inspect, list_images, load, Colours, ImageStore};

/// Where a dataset comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSpec {
    /// An LFW directory or tarball.
    Path(PathBuf),
    /// Generated face-like images, deterministic from `seed`.
    Synthetic {
        identities: usize,
        per_identity: usize,
        seed: u64,
    },
}

impl DataSpec {
    /// The default synthetic dataset: 12 identities x 24 images, seed 0.
    pub fn synthetic_default() -> Self {
        DataSpec::Synthetic {
            identities: 12,
            per_identity: 24,
            seed: 0,
        }
    }

    /// Whether the images are on this machine: generated faces always are, a path when it
    /// exists (a folder called `synthetic_faces` is a path like any other).
    pub fn is_here(&self) -> bool {
        match self {
            DataSpec::Path(p) => p.exists(),
            DataSpec::Synthetic { .. } => true,
        }
    }

    /// The data a lab dataset was recorded from (its `source`), refused with what to do when
    /// the path is not on this machine: a lab merged from a GPU machine can hold the path the
    /// images had there.
    pub fn recorded(source: &str) -> Result<Self> {
        let spec: DataSpec = source.parse()?;
        if !spec.is_here() {
            bail!(
                "the dataset's images are recorded at '{source}', which does not exist on \
                     this machine (the lab got the dataset from another machine, or the images \
                     moved): name your copy with --split-data (eval, report --embeddings) or \
                     --data (run --resume), or put the same images there (e.g. `ln -s /your/copy \
                     '{source}'`)"
            );
        }
        Ok(spec)
    }
}

impl FromStr for DataSpec {
    type Err = anyhow::Error;

    /// `synthetic` → 12 identities x 24 images, seed 0; `synthetic:IDS:PER` and
    /// `synthetic:IDS:PER:SEED` choose the sizes (and seed); anything else is a path.
    fn from_str(s: &str) -> Result<Self> {
        if s == "synthetic" {
            return Ok(Self::synthetic_default());
        }
        let Some(rest) = s.strip_prefix("synthetic:") else {
            return Ok(DataSpec::Path(PathBuf::from(s)));
        };
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() != 2 && parts.len() != 3 {
            bail!(
                "cannot parse data spec {s:?}: write `synthetic`, `synthetic:IDS:PER` or \
                 `synthetic:IDS:PER:SEED` (e.g. synthetic:12:24:0), or a path"
            );
        }
        let num = |what: &str, v: &str| -> Result<u64> {
            v.parse::<u64>().with_context(|| {
                format!("cannot parse {what} {v:?} in data spec {s:?}: expected a whole number, e.g. synthetic:12:24:0")
            })
        };
        let identities = usize::try_from(num("identity count", parts[0])?)?;
        let per_identity = usize::try_from(num("images per identity", parts[1])?)?;
        let seed = match parts.get(2) {
            Some(v) => num("seed", v)?,
            None => 0,
        };
        Ok(DataSpec::Synthetic {
            identities,
            per_identity,
            seed,
        })
    }
}

impl std::fmt::Display for DataSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSpec::Path(p) => write!(f, "{}", p.display()),
            DataSpec::Synthetic {
                identities,
                per_identity,
                seed,
            } => write!(f, "synthetic:{identities}:{per_identity}:{seed}"),
        }
    }
}

/// How to import a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// Keep identities with at least this many (valid) images.
    pub min_images: usize,
    /// Keep identities with at most this many image files.
    pub max_images: usize,
    /// Shuffle each identity's files with this seed before splitting; `None` = sorted by name.
    pub split_seed: Option<u64>,
    /// Side of the square images handed to the model, in pixels.
    pub image_size: usize,
    /// The central fraction of each image's width and height kept before resizing.
    pub crop: f64,
    /// Show progress: bars on a terminal, a line every ten seconds in a log or pipe.
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            min_images: 20,
            max_images: 30,
            split_seed: None,
            image_size: 224,
            crop: 1.0,
            progress: false,
        }
    }
}

impl ImportOptions {
    /// Rejects options that cannot produce a train/dev/test split.
    pub fn validate(&self) -> Result<()> {
        if self.min_images < 3 {
            bail!(
                "--min-images is {} but every identity needs at least 3 images (one each for \
                 train, dev and test): pass --min-images 3 or more",
                self.min_images
            );
        }
        if self.max_images < self.min_images {
            bail!(
                "--max-images ({}) is below --min-images ({}): pass a maximum at least as large \
                 as the minimum",
                self.max_images,
                self.min_images
            );
        }
        decode::Pixels::new(self.image_size, self.crop)?;
        Ok(())
    }
}

/// What kind of source a dataset was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Dir,
    Tgz,
    Synthetic,
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Dir => "dir",
            SourceKind::Tgz => "tgz",
            SourceKind::Synthetic => "synthetic",
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitName {
    Train,
    Dev,
    Test,
}

impl SplitName {
    pub const ALL: [SplitName; 3] = [SplitName::Train, SplitName::Dev, SplitName::Test];

    pub fn as_str(&self) -> &'static str {
        match self {
            SplitName::Train => "train",
            SplitName::Dev => "dev",
            SplitName::Test => "test",
        }
    }
}

impl std::fmt::Display for SplitName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One image file of the dataset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    /// The identity (LFW folder name, e.g. `Amelie_Mauresmo`, or `id07` for synthetic data).
    pub identity: String,
    /// The bare file name, e.g. `Amelie_Mauresmo_0001.jpg` (no `lfw/` prefix).
    pub file: String,
    /// sha256 (lowercase hex) of the file's raw bytes (generated RGB bytes for synthetic data).
    pub sha256: String,
}

impl Member {
    /// The image this member refers to, without its hash.
    pub fn image_ref(&self) -> ImageRef {
        ImageRef {
            identity: self.identity.clone(),
            file: self.file.clone(),
        }
    }
}

/// An image named by identity and bare file name, e.g. for evaluation on pairs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    pub identity: String,
    pub file: String,
}

impl ImageRef {
    /// The LFW image `<identity>/<identity>_NNNN.jpg`, e.g. from a pairs.txt line.
    pub fn lfw(identity: &str, number: u32) -> Self {
        ImageRef {
            identity: identity.to_string(),
            file: format!("{identity}_{number:04}.jpg"),
        }
    }
}

/// One split: its members in order and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub name: SplitName,
    /// Identities in sorted order; within an identity, in split order.
    pub members: Vec<Member>,
    /// See [`hash::members_hash`].
    pub hash: String,
}

/// A file left out of the dataset, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    /// The file's path; inside a tarball `<archive>:<entry>`.
    pub path: String,
    pub reason: String,
}

/// Everything the lab records about a dataset; no pixels. Serialises to JSON with serde (enums
/// as their `as_str()` names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: SourceKind,
    /// Canonical path, or `synthetic:IDS:PER:SEED`.
    pub source: String,
    /// For synthetic data both bounds record the generated images per identity.
    pub min_images: usize,
    pub max_images: usize,
    pub split_seed: Option<u64>,
    /// Sorted; label `i` is `identities[i]`.
    pub identities: Vec<String>,
    pub train: Split,
    pub dev: Split,
    pub test: Split,
    /// [`hash::members_hash`] over all kept members.
    pub content_hash: String,
    pub excluded: Vec<Excluded>,
}

impl Manifest {
    pub fn n_images(&self) -> usize {
        self.splits().iter().map(|s| s.members.len()).sum()
    }

    pub fn splits(&self) -> [&Split; 3] {
        [&self.train, &self.dev, &self.test]
    }

    /// The label (index into [`Manifest::identities`]) of an identity.
    pub fn label_of(&self, identity: &str) -> Option<u32> {
        self.identities
            .binary_search_by(|i| i.as_str().cmp(identity))
            .ok()
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Every split's number of images for one identity: `[train, dev, test]`.
    pub fn counts_of(&self, identity: &str) -> [usize; 3] {
        self.splits()
            .map(|s| s.members.iter().filter(|m| m.identity == identity).count())
    }
}

/// Pixels and labels of one split.
#[derive(Debug, Clone)]
pub struct Images {
    /// `(N, 3, S, S)`, f32, CPU, values in `[-1, 1]`.
    pub pixels: Tensor,
    /// Index into [`Manifest::identities`], one per image.
    pub labels: Vec<u32>,
}

impl Images {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub manifest: Manifest,
    pub train: Images,
    pub dev: Images,
    pub test: Images,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_data_specs() -> Result<()> {
        assert_eq!(
            "synthetic".parse::<DataSpec>()?,
            DataSpec::Synthetic {
                identities: 12,
                per_identity: 24,
                seed: 0
            }
        );
        assert_eq!(
            "synthetic:5:7".parse::<DataSpec>()?,
            DataSpec::Synthetic {
                identities: 5,
                per_identity: 7,
                seed: 0
            }
        );
        assert_eq!(
            "synthetic:5:7:9".parse::<DataSpec>()?,
            DataSpec::Synthetic {
                identities: 5,
                per_identity: 7,
                seed: 9
            }
        );
        assert_eq!(
            "data/lfw.tgz".parse::<DataSpec>()?,
            DataSpec::Path(PathBuf::from("data/lfw.tgz"))
        );
        let err = "synthetic:x:3"
            .parse::<DataSpec>()
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("identity count")));
        assert!("synthetic:1".parse::<DataSpec>().is_err());
        assert_eq!(
            DataSpec::synthetic_default().to_string(),
            "synthetic:12:24:0"
        );
        Ok(())
    }

    #[test]
    fn a_recorded_source_missing_here_is_named_with_what_to_do() -> Result<()> {
        let err = DataSpec::recorded("/gpu-box/.device/lfw-20-30")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'/gpu-box/.device/lfw-20-30', which does not exist on this machine")
                && err.contains("ln -s"),
            "{err}"
        );
        let dir = tempfile::tempdir()?;
        let here = dir.path().to_string_lossy();
        assert_eq!(
            DataSpec::recorded(&here)?,
            DataSpec::Path(dir.path().into())
        );
        assert_eq!(
            DataSpec::recorded("synthetic:5:7:9")?,
            "synthetic:5:7:9".parse()?
        );
        Ok(())
    }

    #[test]
    fn default_options_match_the_spec() {
        let o = ImportOptions::default();
        assert_eq!(
            (
                o.min_images,
                o.max_images,
                o.split_seed,
                o.image_size,
                o.progress
            ),
            (20, 30, None, 224, false)
        );
        assert!(o.validate().is_ok());
        let bad = ImportOptions {
            min_images: 10,
            max_images: 5,
            ..o.clone()
        };
        assert!(bad.validate().is_err());
        let too_small = ImportOptions { min_images: 2, ..o };
        assert!(too_small.validate().is_err());
    }

    #[test]
    fn manifest_round_trips_through_json() -> Result<()> {
        let m = inspect(
            &DataSpec::Synthetic {
                identities: 3,
                per_identity: 5,
                seed: 1,
            },
            &ImportOptions::default(),
        )?;
        let json = serde_json::to_string(&m)?;
        assert!(json.contains(r#""kind":"synthetic""#) && json.contains(r#""name":"dev""#));
        let back: Manifest = serde_json::from_str(&json)?;
        assert_eq!(back, m);
        Ok(())
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(SourceKind::Tgz.as_str(), "tgz");
        assert_eq!(SourceKind::Dir.as_str(), "dir");
        assert_eq!(SourceKind::Synthetic.as_str(), "synthetic");
        assert_eq!(SplitName::ALL.map(|s| s.as_str()), ["train", "dev", "test"]);
        assert_eq!(ImageRef::lfw("A_B", 3).file, "A_B_0003.jpg");
    }
}
