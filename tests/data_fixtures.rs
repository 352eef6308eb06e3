//! The data pipeline on small generated fixtures.
mod data_support;

use anyhow::Result;
use candle_core::IndexOp;
use data_support::{err_text, jpeg, write_lfw, write_tgz, write_tgz_entries};
use facenet_lab::data::{self, DataSpec, ImportOptions, Manifest};

fn opts(min: usize, max: usize) -> ImportOptions {
    ImportOptions {
        min_images: min,
        max_images: max,
        image_size: 16,
        ..ImportOptions::default()
    }
}

const IDS: [(&str, u32); 3] = [("Ann_A", 5), ("Bob_B", 5), ("Cid_C", 6)];

#[test]
fn directory_with_or_without_lfw_folder_and_tarball_agree() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let flat = tmp.path().join("flat");
    write_lfw(&flat, &IDS, false)?;
    let nested = tmp.path().join("nested");
    write_lfw(&nested.join("lfw"), &IDS, false)?;
    let with_prefix = tmp.path().join("a.tgz");
    write_tgz(&flat, &with_prefix, "lfw")?;
    let no_prefix = tmp.path().join("b.tar.gz");
    write_tgz(&flat, &no_prefix, ".")?;
    let o = opts(3, 10);
    let manifests: Vec<Manifest> = [&flat, &nested, &with_prefix, &no_prefix]
        .iter()
        .map(|p| data::inspect(&DataSpec::Path(p.to_path_buf()), &o))
        .collect::<Result<_>>()?;
    for m in &manifests {
        assert_eq!(m.identities, ["Ann_A", "Bob_B", "Cid_C"]);
        assert_eq!(m.splits().map(|s| s.members.len()), [3 + 3 + 4, 3, 3]);
        assert_eq!(m.content_hash, manifests[0].content_hash);
        assert_eq!(m.train.hash, manifests[0].train.hash);
        assert_eq!(m.dev.hash, manifests[0].dev.hash);
        assert_eq!(m.test.hash, manifests[0].test.hash);
    }
    assert_eq!(manifests[0].train.members[0].file, "Ann_A_0001.jpg");
    Ok(())
}

/// Changes one byte of a JPEG's JFIF header (the horizontal density), keeping it valid.
fn flip_density_byte(path: &std::path::Path) -> Result<()> {
    let mut bytes = std::fs::read(path)?;
    anyhow::ensure!(&bytes[6..11] == b"JFIF\0", "fixture has no JFIF header");
    bytes[15] ^= 0x01;
    std::fs::write(path, bytes)?;
    Ok(())
}

#[test]
fn one_byte_change_changes_only_the_split_holding_it() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("lfw");
    write_lfw(&root, &IDS, false)?;
    let spec = DataSpec::Path(root.clone());
    let o = opts(3, 10);
    let before = data::inspect(&spec, &o)?;
    // n = 5 gives train 3, dev 1, test 1: Bob_B_0004 is in dev.
    flip_density_byte(&root.join("Bob_B/Bob_B_0004.jpg"))?;
    let after = data::inspect(&spec, &o)?;
    assert!(
        after.excluded.is_empty(),
        "the changed image is still valid"
    );
    assert_eq!(after.train.hash, before.train.hash);
    assert_ne!(after.dev.hash, before.dev.hash);
    assert_eq!(after.test.hash, before.test.hash);
    assert_ne!(after.content_hash, before.content_hash);
    // Now a train image.
    flip_density_byte(&root.join("Cid_C/Cid_C_0002.jpg"))?;
    let third = data::inspect(&spec, &o)?;
    assert_ne!(third.train.hash, after.train.hash);
    assert_eq!(third.dev.hash, after.dev.hash);
    assert_eq!(third.test.hash, after.test.hash);
    Ok(())
}

#[test]
fn corrupt_images_are_excluded_and_listed() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("lfw");
    write_lfw(&root, &[("Ann_A", 6), ("Bob_B", 6), ("Cid_C", 6)], true)?;
    let good = std::fs::read(root.join("Ann_A/Ann_A_0002.jpg"))?;
    std::fs::write(root.join("Ann_A/Ann_A_0002.jpg"), &good[..good.len() / 2])?;
    std::fs::write(root.join("Bob_B/Bob_B_0006.jpg"), "this is not a picture\n")?;
    let spec = DataSpec::Path(root.clone());
    let m = data::inspect(&spec, &opts(3, 10))?;
    assert_eq!(m.identities.len(), 3);
    assert_eq!(m.n_images(), 16);
    let mut listed: Vec<(String, String)> = m
        .excluded
        .iter()
        .map(|e| (e.path.clone(), e.reason.clone()))
        .collect();
    listed.sort();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].0.ends_with("Ann_A/Ann_A_0002.jpg"));
    assert!(listed[0].1.contains("truncated"), "{}", listed[0].1);
    assert!(listed[1].0.ends_with("Bob_B/Bob_B_0006.jpg"));
    assert!(listed[1].1.contains("not a JPEG"), "{}", listed[1].1);
    let all: Vec<&str> = m
        .splits()
        .iter()
        .flat_map(|s| s.members.iter().map(|x| x.file.as_str()))
        .collect();
    assert!(!all.contains(&"Ann_A_0002.jpg") && !all.contains(&"Bob_B_0006.jpg"));
    // Exclusion happens before the lower bound: Ann_A keeps 5 >= 5, Bob_B too; at 6 both drop.
    assert_eq!(data::inspect(&spec, &opts(5, 10))?.identities.len(), 3);
    let msg = err_text(data::inspect(&spec, &opts(6, 10)));
    assert!(
        msg.contains("after excluding 2 corrupt image(s) only 1 identity"),
        "{msg}"
    );
    // With a fourth person, Ann_A and Bob_B fall below 6 and leave; each is named with its
    // bad image.
    write_lfw(&root, &[("Dee_D", 6)], true)?;
    let m = data::inspect(&spec, &opts(6, 10))?;
    assert_eq!(m.identities.len(), 2);
    let mut reasons: Vec<&str> = m.excluded.iter().map(|e| e.reason.as_str()).collect();
    reasons.sort();
    assert!(
        reasons[0]
            .ends_with("; Bob_B is left out with it: 5 good images, fewer than --min-images 6")
            && reasons[1].contains("; Ann_A is left out with it: 5 good images"),
        "{reasons:?}"
    );
    // Kept, they are not said to leave.
    let m = data::inspect(&spec, &opts(5, 10))?;
    assert!(m.excluded.iter().all(|e| !e.reason.contains("left out")));
    std::fs::remove_dir_all(root.join("Dee_D"))?;
    // load skips them too.
    let ds = data::load(&spec, &opts(3, 10))?;
    assert_eq!(ds.train.len() + ds.dev.len() + ds.test.len(), 16);
    Ok(())
}

#[test]
fn corrupt_images_in_a_tarball_are_listed_with_the_archive_path() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let tgz = tmp.path().join("lfw.tgz");
    let mut owned = Vec::new();
    for (k, name) in ["Ann_A", "Bob_B"].iter().enumerate() {
        for i in 1..=4u32 {
            owned.push((
                format!("lfw/{name}/{name}_{i:04}.jpg"),
                jpeg(k as u32, i, true)?,
            ));
        }
    }
    let cut = owned[1].1.len() - 10;
    owned[1].1.truncate(cut);
    let entries: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    write_tgz_entries(&tgz, &entries)?;
    let m = data::inspect(&DataSpec::Path(tgz.clone()), &opts(3, 10))?;
    assert_eq!(m.n_images(), 7);
    assert_eq!(m.excluded.len(), 1);
    assert!(
        m.excluded[0]
            .path
            .ends_with("lfw.tgz:lfw/Ann_A/Ann_A_0002.jpg"),
        "{}",
        m.excluded[0].path
    );
    Ok(())
}

#[test]
fn gray_and_color_jpegs_load_as_rgb_in_range() -> Result<()> {
    for color in [false, true] {
        let tmp = tempfile::tempdir()?;
        write_lfw(tmp.path(), &IDS, color)?;
        let ds = data::load(&DataSpec::Path(tmp.path().to_path_buf()), &opts(3, 10))?;
        assert_eq!(ds.train.pixels.dims(), [10, 3, 16, 16]);
        assert_eq!(ds.train.labels, [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
        let v = ds.train.pixels.flatten_all()?.to_vec1::<f32>()?;
        assert!(v.iter().all(|x| (-1.0..=1.0).contains(x)));
        let img = ds.train.pixels.i(1)?;
        let (r, g, b) = (
            img.i(0)?.to_vec2::<f32>()?,
            img.i(1)?.to_vec2::<f32>()?,
            img.i(2)?.to_vec2::<f32>()?,
        );
        assert_eq!(r == g && g == b, !color, "gray gives R=G=B, color does not");
    }
    Ok(())
}

#[test]
fn bad_inputs_are_errors_that_say_what_to_do() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let o = opts(3, 10);
    let missing = err_text(data::inspect(&DataSpec::Path(tmp.path().join("nope")), &o));
    assert!(
        missing.contains("does not exist") && missing.contains("data fetch"),
        "{missing}"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(empty.join("not_a_person"))?;
    std::fs::write(empty.join("README.txt"), "hi")?;
    let msg = err_text(data::inspect(&DataSpec::Path(empty), &o));
    assert!(msg.contains("no LFW identity folders"), "{msg}");

    let root = tmp.path().join("small");
    write_lfw(&root, &IDS, false)?;
    let msg = err_text(data::inspect(&DataSpec::Path(root.clone()), &opts(6, 10)));
    assert!(
        msg.contains("keeps 1 of 3 identities") && msg.contains("--min-images"),
        "{msg}"
    );

    let not_lfw = tmp.path().join("other.tgz");
    write_tgz_entries(
        &not_lfw,
        &[("docs/readme.txt", b"hello"), ("photo.jpg", b"x")],
    )?;
    let msg = err_text(data::inspect(&DataSpec::Path(not_lfw), &o));
    assert!(msg.contains("is not an LFW archive"), "{msg}");

    let not_gzip = tmp.path().join("fake.tgz");
    std::fs::write(&not_gzip, "plain text")?;
    let msg = err_text(data::inspect(&DataSpec::Path(not_gzip), &o));
    assert!(msg.contains("gzip-compressed tar archive"), "{msg}");

    let plain_file = tmp.path().join("x.txt");
    std::fs::write(&plain_file, "x")?;
    let msg = err_text(data::inspect(&DataSpec::Path(plain_file), &o));
    assert!(msg.contains("neither a directory nor a .tgz"), "{msg}");
    Ok(())
}
