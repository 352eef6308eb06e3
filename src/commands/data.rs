//! `facenet-lab data fetch` and `facenet-lab data inspect`.
use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{Context, Result};

use crate::cli::{DataArgs, DataCommand};
use crate::data::{self, DataSpec, FetchSpec, ImportOptions, Manifest};

/// `data inspect`'s `--max-images` when not given, as its help says.
const DEFAULT_MAX_IMAGES: usize = 30;

pub fn run(args: DataArgs) -> Result<()> {
    match args.command {
        DataCommand::Fetch { to } => {
            let dir = match to {
                Some(dir) => dir,
                None => data::default_data_dir()?,
            };
            for f in data::fetch(&dir, &FetchSpec::from_env()?, true)? {
                crate::outln!("{}: {}", f.path.display(), f.what());
            }
            Ok(())
        }
        DataCommand::Inspect {
            path,
            min_images,
            max_images,
            split_seed,
        } => {
            let spec: DataSpec = match path {
                Some(p) => p.to_string_lossy().parse()?,
                None => DataSpec::Path(data::fetch::fetched_dataset_path("`data inspect PATH`")?),
            };
            // Said as `run` says it: a maximum the user never typed is named as the default.
            let max_images = match max_images {
                Some(n) => n,
                None if DEFAULT_MAX_IMAGES < min_images => anyhow::bail!(
                    "--max-images ({DEFAULT_MAX_IMAGES}) is below --min-images ({min_images}) \
                     (--max-images: the default): pass a maximum at least as large as the minimum"
                ),
                None => DEFAULT_MAX_IMAGES,
            };
            let opts = ImportOptions {
                min_images,
                max_images,
                split_seed,
                progress: true,
                ..ImportOptions::default()
            };
            let manifest = data::inspect(&spec, &opts)?;
            let mut out = std::io::stdout().lock();
            out.write_all(render(&manifest).as_bytes())
                .context("cannot write to stdout")?;
            Ok(())
        }
    }
}

/// The report printed by `data inspect`.
pub fn render(m: &Manifest) -> String {
    let mut s = String::new();
    let seed = m.split_seed.map_or_else(
        || "none (sorted by file name)".to_string(),
        |v| v.to_string(),
    );
    let _ = writeln!(s, "source      {} ({})", m.source, m.kind);
    let _ = writeln!(
        s,
        "filter      {}..={} images per identity, split seed {seed}",
        m.min_images, m.max_images
    );
    let _ = writeln!(
        s,
        "kept        {} identities, {} images",
        m.identities.len(),
        m.n_images()
    );
    let _ = writeln!(s);
    let width = m
        .identities
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        s,
        "{:<width$}  {:>5}  {:>5}  {:>5}  {:>5}",
        "identity", "train", "dev", "test", "total"
    );
    for id in &m.identities {
        let [a, b, c] = m.counts_of(id);
        let _ = writeln!(s, "{id:<width$}  {a:>5}  {b:>5}  {c:>5}  {:>5}", a + b + c);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<8} {:>6}  sha256", "split", "images");
    for split in m.splits() {
        let _ = writeln!(
            s,
            "{:<8} {:>6}  {}",
            split.name.as_str(),
            split.members.len(),
            split.hash
        );
    }
    let _ = writeln!(
        s,
        "{:<8} {:>6}  {}",
        "content",
        m.n_images(),
        m.content_hash
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "excluded    {} image(s)", m.excluded.len());
    for e in &m.excluded {
        let _ = writeln!(s, "  {}: {}", e.path, e.reason);
    }
    s
}
