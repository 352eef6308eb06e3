//! A dataset as the lab records it, and back: the record of a manifest (its members and split
//! hashes), and where a recorded run's images can be read again, checked against that record.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::{DataSpec, ImportOptions, Manifest};
use crate::lab::{DatasetRecord, MemberRecord, RunId, SplitRecord};

/// The image a recorded member is, without its hash.
impl From<&MemberRecord> for super::ImageRef {
    fn from(m: &MemberRecord) -> Self {
        super::ImageRef {
            identity: m.identity.clone(),
            file: m.file.clone(),
        }
    }
}

/// The dataset record the lab keeps for a manifest.
pub fn record(m: &Manifest) -> DatasetRecord {
    DatasetRecord {
        kind: m.kind.as_str().to_string(),
        source: m.source.clone(),
        min_images: m.min_images as i64,
        max_images: m.max_images as i64,
        split_seed: m.split_seed.map(|s| s as i64),
        n_identities: m.identities.len() as i64,
        n_images: m.n_images() as i64,
        content_hash: m.content_hash.clone(),
        splits: m
            .splits()
            .iter()
            .map(|s| SplitRecord {
                name: s.name.as_str().to_string(),
                hash: s.hash.clone(),
                members: s
                    .members
                    .iter()
                    .map(|mm| MemberRecord {
                        identity: mm.identity.clone(),
                        file: mm.file.clone(),
                        sha256: mm.sha256.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Where run `run`'s dataset `d` is read from to evaluate it: where the lab recorded it, or
/// `moved_to` when the images are elsewhere now (the lab came from another machine, or they
/// moved), which is refused unless its splits hash as the lab recorded them. At the recorded
/// path, each of the run's images must still have the bytes the lab recorded: other files may
/// have taken their names since (`data fetch` replacing a grayscale lfw.tgz with the colour one),
/// while images added beside them change nothing.
pub fn source(d: &DatasetRecord, moved_to: Option<&Path>, run: RunId) -> Result<DataSpec> {
    let Some(path) = moved_to else {
        let spec = DataSpec::recorded(&d.source)?;
        let recorded: Vec<(super::ImageRef, &str)> = d
            .splits
            .iter()
            .flat_map(|s| &s.members)
            .map(|m| (super::ImageRef::from(m), m.sha256.as_str()))
            .collect();
        let changed = super::pipeline::changed_images(&spec, &recorded, true)
            .with_context(|| format!("reading run {run}'s images at '{}'", d.source))?;
        if let Some(first) = changed.first() {
            bail!(
                "{} of run {run}'s {} images at '{}' are not the ones it trained on (first: \
                 {first}): other files took their names; --split-data PATH names the images it \
                 trained on where they are now",
                changed.len(),
                recorded.len(),
                d.source
            );
        }
        return Ok(spec);
    };
    let data = path.to_string_lossy();
    if matches!(
        DataSpec::recorded(&d.source),
        Ok(DataSpec::Synthetic { .. })
    ) {
        bail!(
            "run {run} trained on generated faces ('{}'), which are made again, not read from \
             files: leave out --split-data",
            d.source
        );
    }
    let spec: DataSpec = data.parse()?;
    let opts = ImportOptions {
        min_images: d.min_images as usize,
        max_images: d.max_images as usize,
        split_seed: d.split_seed.map(|s| s as u64),
        progress: true,
        ..ImportOptions::default()
    };
    let manifest = super::inspect(&spec, &opts)
        .with_context(|| format!("reading run {run}'s dataset from '{data}'"))?;
    same_splits(&d.splits, &manifest, &data, run)?;
    Ok(spec)
}

/// Refuses images whose splits are not the `recorded` ones run `run` trained on.
pub fn same_splits(
    recorded: &[SplitRecord],
    manifest: &Manifest,
    data: &str,
    run: RunId,
) -> Result<()> {
    for split in manifest.splits() {
        let same = recorded
            .iter()
            .any(|r| r.name == split.name.as_str() && r.hash == split.hash);
        if !same {
            bail!(
                "the {} split of '{data}' is not the one run {run} trained on (its hash \
                 differs): these are other images, or the same ones modified; give the images it \
                 trained on",
                split.name.as_str(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_splits_are_accepted_and_any_other_refused() -> Result<()> {
        let spec: DataSpec = "synthetic:4:10".parse()?;
        let opts = ImportOptions {
            min_images: 1,
            max_images: 100,
            progress: false,
            ..ImportOptions::default()
        };
        let manifest = super::super::inspect(&spec, &opts)?;
        let mut rec = record(&manifest);
        assert_eq!((rec.n_identities, rec.n_images), (4, 40));
        assert_eq!(rec.splits.len(), 3);
        same_splits(&rec.splits, &manifest, "synthetic:4:10", RunId(7))?;
        rec.splits[2].hash = "0".repeat(64);
        let err = same_splits(&rec.splits, &manifest, "here", RunId(7)).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("the test split of 'here' is not the one run 7 trained on"),
            "{msg}"
        );
        Ok(())
    }
}
