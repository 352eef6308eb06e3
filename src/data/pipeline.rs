//! inspect / load / decode: from a [`DataSpec`] to a [`Manifest`] and pixels.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use image::RgbImage;

use super::decode::{
    crop_and_resize, decode_jpeg, jpeg_is_gray, normalise_into, to_rgb_resized, Pixels,
};
use super::hash::{members_hash, sha256_hex};
use super::source::{Entry, Source};
use super::split::split_identity;
use super::{
    progress, synthetic, DataSpec, Dataset, Excluded, ImageRef, Images, ImportOptions, Manifest,
    Member, SourceKind, Split, SplitName,
};

/// Reads, validates, filters, splits and hashes a dataset. Images are decoded to check them but
/// never resized.
pub fn inspect(spec: &DataSpec, opts: &ImportOptions) -> Result<Manifest> {
    Ok(import(spec, opts, None)?.0)
}

/// Like [`inspect`], then every kept image cropped to `opts.crop`, resized to
/// `opts.image_size` and normalised. Prints a warning to stderr for each excluded (corrupt)
/// image.
pub fn load(spec: &DataSpec, opts: &ImportOptions) -> Result<Dataset> {
    let px = Pixels::new(opts.image_size, opts.crop)?;
    let size = px.size;
    let (manifest, pixels) = import(spec, opts, Some(px))?;
    for e in &manifest.excluded {
        crate::say!("warning: excluded {}: {}", e.path, e.reason);
    }
    let [train, dev, test] = pixels.context("internal error: load produced no pixels")?;
    let images = |split: &Split, imgs: Vec<RgbImage>| -> Result<Images> {
        let labels = split
            .members
            .iter()
            .map(|m| {
                manifest
                    .label_of(&m.identity)
                    .context("internal error: member of an unknown identity")
            })
            .collect::<Result<Vec<u32>>>()?;
        Ok(Images {
            pixels: to_tensor(&imgs, size)?,
            labels,
        })
    };
    Ok(Dataset {
        train: images(&manifest.train, train)?,
        dev: images(&manifest.dev, dev)?,
        test: images(&manifest.test, test)?,
        manifest,
    })
}

/// Every image of a source (all identities, no filter, no validation), sorted.
pub fn list_images(spec: &DataSpec) -> Result<Vec<ImageRef>> {
    match spec {
        DataSpec::Path(path) => Ok(Source::open(path)?
            .list()?
            .into_iter()
            .map(|e| ImageRef {
                identity: e.identity,
                file: e.file,
            })
            .collect()),
        DataSpec::Synthetic {
            identities,
            per_identity,
            ..
        } => {
            synthetic::check(*identities, *per_identity)?;
            Ok((0..*identities)
                .flat_map(|i| {
                    let id = synthetic::identity_name(i, *identities);
                    (0..*per_identity).map(move |j| ImageRef {
                        file: synthetic::file_name(&id, j),
                        identity: id.clone(),
                    })
                })
                .collect())
        }
    }
}

/// Decodes `images` from `spec`, in order, into one (N,3,S,S) tensor in [-1, 1]. A missing
/// or corrupt image is an error that names it.
pub fn decode_images(
    spec: &DataSpec,
    images: &[ImageRef],
    pixels: Pixels,
    progress_bar: bool,
) -> Result<Tensor> {
    ImageStore::open(spec, images, progress_bar)?.decode(0..images.len(), pixels)
}

/// Grayscale and colour images counted ([`ImageStore::colours`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Colours {
    pub gray: usize,
    pub colour: usize,
}

impl Colours {
    /// The colours of the images, for the record: `grayscale` or `colour` where all are (of
    /// those whose header says), `mixed` where both are there; None for none known.
    pub fn kind(&self) -> Option<&'static str> {
        match (self.gray, self.colour) {
            (0, 0) => None,
            (_, 0) => Some("grayscale"),
            (0, _) => Some("colour"),
            _ => Some("mixed"),
        }
    }

    fn of(bytes: &[Vec<u8>]) -> Colours {
        bytes
            .iter()
            .fold(Colours::default(), |c, b| match jpeg_is_gray(b) {
                Some(true) => Colours {
                    gray: c.gray + 1,
                    ..c
                },
                Some(false) => Colours {
                    colour: c.colour + 1,
                    ..c
                },
                None => c,
            })
    }
}

/// Images looked up and read once, then decoded a batch at a time: thousands of images at 224
/// pixels do not fit in memory decoded all at once, and a tarball should be read only once.
pub struct ImageStore {
    items: StoreItems,
}

enum StoreItems {
    /// The raw file bytes, with the name to show when one fails to decode.
    Encoded {
        bytes: Vec<Vec<u8>>,
        names: Vec<String>,
    },
    Synthetic {
        seed: u64,
        index: Vec<(usize, usize)>,
    },
}

impl ImageStore {
    pub fn open(spec: &DataSpec, images: &[ImageRef], progress_bar: bool) -> Result<ImageStore> {
        let items = match spec {
            DataSpec::Path(path) => {
                let (bytes, names) = read_named(path, images, progress_bar)?;
                StoreItems::Encoded { bytes, names }
            }
            DataSpec::Synthetic {
                identities,
                per_identity,
                seed,
            } => {
                synthetic::check(*identities, *per_identity)?;
                let index = images
                    .iter()
                    .map(|r| {
                        let (i, j) = synthetic::parse_names(&r.identity, &r.file)?;
                        if i >= *identities || j >= *per_identity {
                            bail!("{}/{} is not in {spec}", r.identity, r.file);
                        }
                        Ok((i, j))
                    })
                    .collect::<Result<Vec<_>>>()?;
                StoreItems::Synthetic { seed: *seed, index }
            }
        };
        Ok(ImageStore { items })
    }

    pub fn len(&self) -> usize {
        match &self.items {
            StoreItems::Encoded { bytes, .. } => bytes.len(),
            StoreItems::Synthetic { index, .. } => index.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of those images whose bytes do not have the sha256 given for each, in order;
    /// generated faces are what their spec makes them.
    pub fn changed(&self, sha256: &[&str]) -> Vec<String> {
        match &self.items {
            StoreItems::Encoded { bytes, names } => bytes
                .iter()
                .zip(names)
                .zip(sha256)
                .filter(|((b, _), want)| !sha256_hex(b).eq_ignore_ascii_case(want))
                .map(|((_, name), _)| name.clone())
                .collect(),
            StoreItems::Synthetic { .. } => Vec::new(),
        }
    }

    /// How many of the images are grayscale JPEGs, and how many colour ones (by their headers;
    /// generated faces are in colour). A JPEG without a readable header counts as neither.
    pub fn colours(&self) -> Colours {
        match &self.items {
            StoreItems::Encoded { bytes, .. } => Colours::of(bytes),
            StoreItems::Synthetic { index, .. } => Colours {
                gray: 0,
                colour: index.len(),
            },
        }
    }

    /// Images `range`, cropped and resized as `pixels` says, as a (N,3,S,S) tensor in [-1, 1].
    pub fn decode(&self, range: std::ops::Range<usize>, pixels: Pixels) -> Result<Tensor> {
        if range.end > self.len() {
            bail!("images {range:?} asked of a store of {}", self.len());
        }
        let rgb: Vec<RgbImage> = match &self.items {
            StoreItems::Encoded { bytes, names } => par_map(&bytes[range.clone()], |b| {
                decode_jpeg(b).map(|img| to_rgb_resized(&img, pixels))
            })
            .into_iter()
            .zip(&names[range])
            .map(|(r, name)| r.with_context(|| format!("cannot decode {name}")))
            .collect::<Result<_>>()?,
            StoreItems::Synthetic { seed, index } => par_map(&index[range], |&(i, j)| {
                crop_and_resize(synthetic::render(*seed, i, j), pixels)
            }),
        };
        to_tensor(&rgb, pixels.size)
    }
}

fn to_tensor(images: &[RgbImage], size: u32) -> Result<Tensor> {
    let s = size as usize;
    let per = 3 * s * s;
    let mut data = vec![0f32; images.len() * per];
    for (img, out) in images.iter().zip(data.chunks_exact_mut(per)) {
        normalise_into(img, out);
    }
    Tensor::from_vec(data, (images.len(), 3, s, s), &Device::Cpu)
        .context("cannot build the image tensor")
}

/// Maps `f` over `items` on up to 8 threads, keeping the order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
        .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    local.push((i, f(item)));
                }
                if let Ok(mut all) = results.lock() {
                    all.extend(local);
                }
            });
        }
    });
    let mut all = results.into_inner().unwrap_or_else(|p| p.into_inner());
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// The hash of `images` of `spec` as a dataset's splits hash their members (identity, file and
/// the sha256 of each file's bytes, [`members_hash`]), and their colours: which bytes an
/// evaluation on a folder ran on. `None` for generated faces, which their spec names exactly.
pub fn images_record(spec: &DataSpec, images: &[ImageRef]) -> Result<Option<(String, Colours)>> {
    let DataSpec::Path(path) = spec else {
        return Ok(None);
    };
    let (bytes, _) = read_named(path, images, false)?;
    let members: Vec<Member> = images
        .iter()
        .zip(&bytes)
        .map(|(r, b)| Member {
            identity: r.identity.clone(),
            file: r.file.clone(),
            sha256: sha256_hex(b),
        })
        .collect();
    Ok(Some((members_hash(&members), Colours::of(&bytes))))
}

/// The bytes of `images` in the folder or tarball at `path`, in their order, with the names to
/// show for them; a name that is not there is an error.
fn read_named(
    path: &Path,
    images: &[ImageRef],
    progress_bar: bool,
) -> Result<(Vec<Vec<u8>>, Vec<String>)> {
    let source = Source::open(path)?;
    let entries = source.list()?;
    let index: BTreeMap<(&str, &str), &Entry> = entries
        .iter()
        .map(|e| ((e.identity.as_str(), e.file.as_str()), e))
        .collect();
    let wanted = images
        .iter()
        .map(|r| {
            index
                .get(&(r.identity.as_str(), r.file.as_str()))
                .copied()
                .with_context(|| {
                    format!(
                        "{}/{} is not in {}: check the name (LFW files are \
                         <Name>/<Name>_NNNN.jpg)",
                        r.identity,
                        r.file,
                        source.path().display()
                    )
                })
        })
        .collect::<Result<Vec<&Entry>>>()?;
    let bytes = read_with_spinner(&source, &wanted, progress_bar)?;
    let names = wanted.iter().map(|e| source.display(e)).collect();
    Ok((bytes, names))
}

/// Those of `recorded` (images, each with the sha256 it was recorded with) whose bytes at `spec`
/// are others now, by name: files that took a recorded image's name since. Generated images are
/// what their spec makes them.
pub fn changed_images(
    spec: &DataSpec,
    recorded: &[(ImageRef, &str)],
    progress_bar: bool,
) -> Result<Vec<String>> {
    let (images, sha256): (Vec<ImageRef>, Vec<&str>) = recorded.iter().cloned().unzip();
    Ok(ImageStore::open(spec, &images, progress_bar)?.changed(&sha256))
}

fn read_with_spinner(
    source: &Source,
    wanted: &[&Entry],
    progress_bar: bool,
) -> Result<Vec<Vec<u8>>> {
    let name = source
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sp = progress::spinner(&format!("reading {name}"), progress_bar);
    let bytes = source.read(wanted);
    sp.finish_and_clear();
    bytes
}

/// One validated image: its member and, when loading, its resized pixels.
struct Valid {
    member: Member,
    pixels: Option<RgbImage>,
}

type SplitPixels = [Vec<RgbImage>; 3];

fn import(
    spec: &DataSpec,
    opts: &ImportOptions,
    size: Option<Pixels>,
) -> Result<(Manifest, Option<SplitPixels>)> {
    match spec {
        DataSpec::Path(path) => import_path(path, opts, size),
        DataSpec::Synthetic {
            identities,
            per_identity,
            seed,
        } => import_synthetic(*identities, *per_identity, *seed, opts, size),
    }
}

fn import_path(
    path: &std::path::Path,
    opts: &ImportOptions,
    size: Option<Pixels>,
) -> Result<(Manifest, Option<SplitPixels>)> {
    opts.validate()?;
    let source = Source::open(path)?;
    let sp = progress::spinner("listing images", opts.progress);
    let entries = source.list();
    sp.finish_and_clear();
    let entries = entries?;
    let mut by_identity: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in &entries {
        by_identity.entry(e.identity.as_str()).or_default().push(e);
    }
    let range = opts.min_images..=opts.max_images;
    let candidates: Vec<&Entry> = by_identity
        .values()
        .filter(|files| range.contains(&files.len()))
        .flatten()
        .copied()
        .collect();
    let n_candidates = by_identity
        .values()
        .filter(|f| range.contains(&f.len()))
        .count();
    if n_candidates < 2 {
        let most = by_identity.values().map(Vec::len).max().unwrap_or(0);
        let least = by_identity.values().map(Vec::len).min().unwrap_or(0);
        bail!(
            "the filter {}..={} images per identity keeps {n_candidates} of {} identities in {} \
             (at least 2 are needed; identities there have {least}..={most} images; \
             --min-images and --max-images set the filter)",
            opts.min_images,
            opts.max_images,
            by_identity.len(),
            source.path().display()
        );
    }

    let bytes = read_with_spinner(&source, &candidates, opts.progress)?;
    let pb = progress::items(
        candidates.len(),
        if size.is_some() {
            "decoding"
        } else {
            "validating"
        },
        opts.progress,
    );
    let checked = par_map(&bytes, |b| {
        let sha = sha256_hex(b);
        let r = decode_jpeg(b).map(|img| (sha, size.map(|px| to_rgb_resized(&img, px))));
        pb.inc(1);
        r
    });
    pb.finish_and_clear();
    drop(bytes);

    let mut excluded = Vec::new();
    let mut valid: BTreeMap<String, Vec<Valid>> = BTreeMap::new();
    for (entry, result) in candidates.iter().zip(checked) {
        match result {
            Ok((sha256, pixels)) => valid
                .entry(entry.identity.clone())
                .or_default()
                .push(Valid {
                    member: Member {
                        identity: entry.identity.clone(),
                        file: entry.file.clone(),
                        sha256,
                    },
                    pixels,
                }),
            Err(e) => excluded.push((
                &entry.identity,
                Excluded {
                    path: source.display(entry),
                    reason: format!("{e:#}"),
                },
            )),
        }
    }
    // An identity whose good images fall below the filter goes with its bad ones: said with
    // each of those, or it would leave the split unnamed.
    let good = |identity: &str| valid.get(identity).map_or(0, Vec::len);
    let excluded: Vec<Excluded> = excluded
        .into_iter()
        .map(|(identity, mut e)| {
            let left = good(identity);
            if left < opts.min_images {
                e.reason = format!(
                    "{}; {identity} is left out with it: {left} good images, fewer than \
                     --min-images {}",
                    e.reason, opts.min_images
                );
            }
            e
        })
        .collect();
    valid.retain(|_, files| files.len() >= opts.min_images);
    if valid.len() < 2 {
        bail!(
            "after excluding {} corrupt image(s) only {} identit{} in {} still ha{} at least {} \
             images (2 are needed): replace the corrupt files ({}) or lower --min-images",
            excluded.len(),
            valid.len(),
            if valid.len() == 1 { "y" } else { "ies" },
            source.path().display(),
            if valid.len() == 1 { "s" } else { "ve" },
            opts.min_images,
            excluded
                .iter()
                .map(|e| e.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (manifest, pixels) = assemble(
        source.kind(),
        source.path().to_string_lossy().into_owned(),
        opts.min_images,
        opts.max_images,
        opts.split_seed,
        valid,
        excluded,
    );
    Ok((manifest, size.map(|_| pixels)))
}

fn import_synthetic(
    identities: usize,
    per_identity: usize,
    seed: u64,
    opts: &ImportOptions,
    size: Option<Pixels>,
) -> Result<(Manifest, Option<SplitPixels>)> {
    synthetic::check(identities, per_identity)?;
    let pb = progress::items(identities, "generating", opts.progress);
    let ids: Vec<usize> = (0..identities).collect();
    let generated = par_map(&ids, |&i| {
        let name = synthetic::identity_name(i, identities);
        let files: Vec<Valid> = synthetic::render_identity(seed, i, per_identity)
            .into_iter()
            .enumerate()
            .map(|(j, img)| Valid {
                member: Member {
                    identity: name.clone(),
                    file: synthetic::file_name(&name, j),
                    sha256: sha256_hex(img.as_raw()),
                },
                pixels: size.map(|px| crop_and_resize(img, px)),
            })
            .collect();
        pb.inc(1);
        (name, files)
    });
    pb.finish_and_clear();
    let (manifest, pixels) = assemble(
        SourceKind::Synthetic,
        DataSpec::Synthetic {
            identities,
            per_identity,
            seed,
        }
        .to_string(),
        per_identity,
        per_identity,
        opts.split_seed,
        generated.into_iter().collect(),
        Vec::new(),
    );
    Ok((manifest, size.map(|_| pixels)))
}

/// Splits each identity's valid files (sorted by file name) and builds the manifest.
fn assemble(
    kind: SourceKind,
    source: String,
    min_images: usize,
    max_images: usize,
    split_seed: Option<u64>,
    valid: BTreeMap<String, Vec<Valid>>,
    excluded: Vec<Excluded>,
) -> (Manifest, SplitPixels) {
    let identities: Vec<String> = valid.keys().cloned().collect();
    let mut members: [Vec<Member>; 3] = Default::default();
    let mut pixels: SplitPixels = Default::default();
    for (identity, mut files) in valid {
        files.sort_by(|a, b| a.member.file.cmp(&b.member.file));
        let (train, dev, test) = split_identity(files, split_seed, &identity);
        for (k, part) in [train, dev, test].into_iter().enumerate() {
            for v in part {
                members[k].push(v.member);
                if let Some(p) = v.pixels {
                    pixels[k].push(p);
                }
            }
        }
    }
    let content_hash = members_hash(members.iter().flatten());
    let [train, dev, test] = SplitName::ALL;
    let [m_train, m_dev, m_test] = members;
    let split = |name, members: Vec<Member>| Split {
        name,
        hash: members_hash(&members),
        members,
    };
    let manifest = Manifest {
        kind,
        source,
        min_images,
        max_images,
        split_seed,
        identities,
        train: split(train, m_train),
        dev: split(dev, m_dev),
        test: split(test, m_test),
        content_hash,
        excluded,
    };
    (manifest, pixels)
}
