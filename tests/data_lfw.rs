//! The data pipeline on the shared LFW copy (needs FACENET_LAB_DATA).
mod data_support;

use anyhow::Result;
use candle_core::IndexOp;
use data_support::{err_text, shared_data};
use facenet_lab::data::{self, DataSpec, ImageRef, ImportOptions, Pixels, SourceKind};

#[test]
fn lfw_20_30_dir_gives_30_identities_and_581_62_70() -> Result<()> {
    let spec = DataSpec::Path(shared_data()?.join("lfw-20-30"));
    let m = data::inspect(&spec, &ImportOptions::default())?;
    assert_eq!(m.kind, SourceKind::Dir);
    assert_eq!(m.identities.len(), 30);
    assert_eq!(m.n_images(), 713);
    assert_eq!(
        m.splits().map(|s| s.members.len()),
        [581, 62, 70],
        "train/dev/test sizes"
    );
    assert!(m.excluded.is_empty());
    let mut sorted = m.identities.clone();
    sorted.sort();
    assert_eq!(sorted, m.identities);
    // The seed's split: an identity with 21 images gives 17/2/2, sorted by file name.
    assert_eq!(m.counts_of("Amelie_Mauresmo"), [17, 2, 2]);
    let amelie: Vec<&str> = m
        .dev
        .members
        .iter()
        .filter(|x| x.identity == "Amelie_Mauresmo")
        .map(|x| x.file.as_str())
        .collect();
    assert_eq!(
        amelie,
        ["Amelie_Mauresmo_0018.jpg", "Amelie_Mauresmo_0019.jpg"]
    );
    for split in m.splits() {
        assert_eq!(split.hash, data::hash::members_hash(&split.members));
        assert_eq!(split.hash.len(), 64);
    }
    Ok(())
}

#[test]
fn tarball_and_directory_give_identical_hashes() -> Result<()> {
    let shared = shared_data()?;
    let opts = ImportOptions::default();
    let dir = data::inspect(&DataSpec::Path(shared.join("lfw-20-30")), &opts)?;
    let tgz = data::inspect(&DataSpec::Path(shared.join("lfw.tgz")), &opts)?;
    assert_eq!(tgz.kind, SourceKind::Tgz);
    assert_eq!(tgz.identities, dir.identities);
    assert_eq!(tgz.splits().map(|s| s.members.len()), [581, 62, 70]);
    for (a, b) in tgz.splits().iter().zip(dir.splits()) {
        assert_eq!(a.members, b.members);
        assert_eq!(a.hash, b.hash, "{} hash", a.name);
    }
    assert_eq!(tgz.content_hash, dir.content_hash);
    // The whole archive is listed: 13,233 images of 5,749 people.
    let all = data::list_images(&DataSpec::Path(shared.join("lfw.tgz")))?;
    assert_eq!(all.len(), 13_233);
    let mut people: Vec<&str> = all.iter().map(|r| r.identity.as_str()).collect();
    people.dedup();
    assert_eq!(people.len(), 5_749);
    Ok(())
}

#[test]
fn split_seed_reshuffles_within_identities_only() -> Result<()> {
    let spec = DataSpec::Path(shared_data()?.join("lfw-20-30"));
    let base = data::inspect(&spec, &ImportOptions::default())?;
    let opts = ImportOptions {
        split_seed: Some(42),
        ..ImportOptions::default()
    };
    let a = data::inspect(&spec, &opts)?;
    let b = data::inspect(&spec, &opts)?;
    assert_eq!(a, b, "same seed, same split");
    assert_eq!(a.splits().map(|s| s.members.len()), [581, 62, 70]);
    assert_ne!(a.train.hash, base.train.hash);
    assert_eq!(a.content_hash, base.content_hash);
    for id in &a.identities {
        assert_eq!(a.counts_of(id), base.counts_of(id));
    }
    Ok(())
}

#[test]
fn loads_lfw_as_normalised_rgb_tensors() -> Result<()> {
    let spec = DataSpec::Path(shared_data()?.join("lfw-20-30"));
    let opts = ImportOptions {
        image_size: 64,
        ..ImportOptions::default()
    };
    let ds = data::load(&spec, &opts)?;
    assert_eq!(ds.train.pixels.dims(), [581, 3, 64, 64]);
    assert_eq!(ds.dev.pixels.dims(), [62, 3, 64, 64]);
    assert_eq!(ds.test.pixels.dims(), [70, 3, 64, 64]);
    assert_eq!(ds.train.labels.len(), 581);
    assert_eq!(ds.train.labels[0], 0);
    assert_eq!(ds.test.labels.last().copied(), Some(29));
    let min = ds.train.pixels.min_all()?.to_scalar::<f32>()?;
    let max = ds.train.pixels.max_all()?.to_scalar::<f32>()?;
    assert!((-1.0..=1.0).contains(&min) && (-1.0..=1.0).contains(&max));
    assert!(max - min > 1.0, "real images use the range: {min}..{max}");
    // This copy of LFW is grayscale: R = G = B.
    let first = ds.train.pixels.i(0)?;
    let r = first.i(0)?.to_vec2::<f32>()?;
    assert_eq!(r, first.i(1)?.to_vec2::<f32>()?);
    assert_eq!(r, first.i(2)?.to_vec2::<f32>()?);
    // decode_images gives the same pixels for the same image.
    let one = data::decode_images(
        &spec,
        &[ds.manifest.train.members[0].image_ref()],
        Pixels::whole(64),
        false,
    )?;
    assert_eq!(one.i(0)?.i(0)?.to_vec2::<f32>()?, r);
    Ok(())
}

#[test]
fn crop_is_the_same_for_training_and_evaluation() -> Result<()> {
    let spec = DataSpec::Path(shared_data()?.join("lfw-20-30"));
    let cropped = Pixels::new(32, 0.5)?;
    let opts = ImportOptions {
        image_size: 32,
        crop: 0.5,
        ..ImportOptions::default()
    };
    let ds = data::load(&spec, &opts)?;
    let first = [ds.manifest.train.members[0].image_ref()];
    let trained_on = ds.train.pixels.i(0)?.flatten_all()?.to_vec1::<f32>()?;
    // `eval` decodes through the store with the run's size and crop: the same pixels.
    let evaluated = data::decode_images(&spec, &first, cropped, false)?;
    assert_eq!(evaluated.i(0)?.flatten_all()?.to_vec1::<f32>()?, trained_on);
    // And not those of the whole image.
    let whole = data::decode_images(&spec, &first, Pixels::whole(32), false)?;
    assert_ne!(whole.i(0)?.flatten_all()?.to_vec1::<f32>()?, trained_on);
    Ok(())
}

#[test]
fn decodes_arbitrary_images_from_the_tarball() -> Result<()> {
    let spec = DataSpec::Path(shared_data()?.join("lfw.tgz"));
    let refs = [
        ImageRef::lfw("Abel_Pacheco", 1),
        ImageRef::lfw("Akhmed_Zakayev", 3),
    ];
    let t = data::decode_images(&spec, &refs, Pixels::whole(32), false)?;
    assert_eq!(t.dims(), [2, 3, 32, 32]);
    let missing = data::decode_images(
        &spec,
        &[ImageRef::lfw("Nobody_Here", 1)],
        Pixels::whole(32),
        false,
    );
    let msg = err_text(missing);
    assert!(
        msg.contains("Nobody_Here/Nobody_Here_0001.jpg is not in"),
        "{msg}"
    );
    Ok(())
}
