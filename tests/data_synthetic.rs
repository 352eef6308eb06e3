//! Synthetic data: deterministic, identities differ, loads like LFW.
use anyhow::Result;
use candle_core::IndexOp;
use facenet_lab::data::{self, DataSpec, ImportOptions, Pixels, SourceKind};

fn spec(seed: u64) -> DataSpec {
    DataSpec::Synthetic {
        identities: 12,
        per_identity: 24,
        seed,
    }
}

#[test]
fn synthetic_is_deterministic_per_seed() -> Result<()> {
    let o = ImportOptions::default();
    let a = data::inspect(&spec(0), &o)?;
    let b = data::inspect(&"synthetic".parse()?, &o)?;
    assert_eq!(a, b);
    assert_eq!(a.kind, SourceKind::Synthetic);
    assert_eq!(a.source, "synthetic:12:24:0");
    assert_eq!(a.identities.len(), 12);
    assert_eq!(a.identities[7], "id07");
    assert_eq!(a.splits().map(|s| s.members.len()), [240, 24, 24]);
    assert_eq!(a.train.members[0].file, "id00_0001.png");
    let c = data::inspect(&spec(1), &o)?;
    assert_ne!(a.content_hash, c.content_hash);
    assert_ne!(a.train.hash, c.train.hash);
    // Every generated image is distinct.
    let mut hashes: Vec<&str> = a
        .splits()
        .iter()
        .flat_map(|s| s.members.iter().map(|m| m.sha256.as_str()))
        .collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 288);
    Ok(())
}

#[test]
fn synthetic_identities_differ_more_than_images_of_one_identity() -> Result<()> {
    let o = ImportOptions {
        image_size: 32,
        ..ImportOptions::default()
    };
    let ds = data::load(&spec(3), &o)?;
    assert_eq!(ds.train.pixels.dims(), [240, 3, 32, 32]);
    let v = ds.train.pixels.flatten_all()?.to_vec1::<f32>()?;
    assert!(v.iter().all(|x| (-1.0..=1.0).contains(x)));
    // Mean distance between images of the same identity vs of different identities.
    let n = 240;
    let flat = ds.train.pixels.reshape((n, 3 * 32 * 32))?;
    let labels = &ds.train.labels;
    let (mut same, mut ns, mut diff, mut nd) = (0f32, 0, 0f32, 0);
    for i in (0..n).step_by(7) {
        for j in (i + 1..n).step_by(5) {
            let d = (flat.i(i)? - flat.i(j)?)?
                .sqr()?
                .mean_all()?
                .to_scalar::<f32>()?;
            if labels[i] == labels[j] {
                same += d;
                ns += 1;
            } else {
                diff += d;
                nd += 1;
            }
        }
    }
    let (same, diff) = (same / ns as f32, diff / nd as f32);
    assert!(
        same > 0.001,
        "images of an identity are not identical: {same}"
    );
    assert!(
        diff > 2.0 * same,
        "identities are distinct: {diff} vs {same}"
    );
    // decode_images regenerates the same pixels from names.
    let again = data::decode_images(
        &spec(3),
        &[ds.manifest.train.members[5].image_ref()],
        Pixels::whole(32),
        false,
    )?;
    let a = again.flatten_all()?.to_vec1::<f32>()?;
    let b = ds.train.pixels.i(5)?.flatten_all()?.to_vec1::<f32>()?;
    assert_eq!(a, b);
    Ok(())
}

#[test]
fn synthetic_rejects_too_small_datasets() {
    let o = ImportOptions::default();
    let one = DataSpec::Synthetic {
        identities: 1,
        per_identity: 24,
        seed: 0,
    };
    let err = data::inspect(&one, &o).unwrap_err();
    assert!(
        format!("{err:#}").contains("at least 2 identities"),
        "{err:#}"
    );
    let two = DataSpec::Synthetic {
        identities: 4,
        per_identity: 2,
        seed: 0,
    };
    let err = data::inspect(&two, &o).unwrap_err();
    assert!(format!("{err:#}").contains("at least 3 images"), "{err:#}");
}
