//! `facenet-lab data inspect` / `data fetch` at the command line, including bad input.
mod common;
mod data_support;

use anyhow::Result;
use assert_cmd::Command;
use data_support::{ok_response, serve, shared_data, write_lfw, write_tgz_entries};
use predicates::prelude::*;

fn cli() -> Result<Command> {
    let mut cmd = Command::cargo_bin("facenet-lab")?;
    cmd.env_remove("FACENET_LAB_MIRROR");
    Ok(cmd)
}

/// The split/content hash lines of an inspect report.
fn hash_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| {
            ["train ", "dev ", "test ", "content "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn inspect_tarball_and_directory_print_identical_hashes() -> Result<()> {
    let shared = shared_data()?;
    let mut outs = Vec::new();
    for path in [shared.join("lfw.tgz"), shared.join("lfw-20-30")] {
        let out = cli()?.args(["data", "inspect"]).arg(&path).output()?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout)?;
        assert!(
            text.contains("kept        30 identities, 713 images"),
            "{text}"
        );
        assert!(
            text.contains("Amelie_Mauresmo          17      2      2     21"),
            "{text}"
        );
        outs.push(hash_lines(&text));
    }
    assert_eq!(outs[0].len(), 4);
    assert!(outs[0][0].starts_with("train       581  "));
    assert!(outs[0][1].starts_with("dev          62  "));
    assert!(outs[0][2].starts_with("test         70  "));
    assert!(outs[0][3].starts_with("content     713  "));
    assert_eq!(outs[0], outs[1]);
    Ok(())
}

#[test]
fn inspect_lists_excluded_images() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write_lfw(tmp.path(), &[("Ann_A", 4), ("Bob_B", 4)], false)?;
    std::fs::write(tmp.path().join("Bob_B/Bob_B_0005.jpg"), "not a jpeg")?;
    cli()?
        .args(["data", "inspect", "--min-images", "3", "--max-images", "5"])
        .arg(tmp.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("excluded    1 image(s)"))
        .stdout(predicate::str::contains("Bob_B_0005.jpg: not a JPEG"));
    Ok(())
}

#[test]
fn inspect_synthetic() -> Result<()> {
    cli()?
        .args(["data", "inspect", "synthetic:4:10"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "source      synthetic:4:10:0 (synthetic)",
        ))
        .stdout(predicate::str::contains(
            "kept        4 identities, 40 images",
        ));
    Ok(())
}

#[test]
fn inspect_missing_path() -> Result<()> {
    common::fails_with(
        cli()?.args(["data", "inspect", "/definitely/not/here/lfw.tgz"]),
        &["does not exist", "facenet-lab data fetch"],
    );
    Ok(())
}

#[test]
fn inspect_directory_without_identity_folders() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    std::fs::create_dir(tmp.path().join("photos"))?;
    std::fs::write(tmp.path().join("photos/cat.jpg"), "x")?;
    common::fails_with(
        cli()?.args(["data", "inspect"]).arg(tmp.path()),
        &["no LFW identity folders", "<Name>/<Name>_NNNN.jpg"],
    );
    Ok(())
}

#[test]
fn inspect_filter_leaving_fewer_than_two_identities() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write_lfw(tmp.path(), &[("Ann_A", 4), ("Bob_B", 8)], false)?;
    common::fails_with(
        cli()?.args(["data", "inspect"]).arg(tmp.path()),
        &[
            "keeps 0 of 2 identities",
            "--min-images and --max-images set the filter",
        ],
    );
    common::fails_with(
        cli()?
            .args(["data", "inspect", "--min-images", "5", "--max-images", "10"])
            .arg(tmp.path()),
        &["keeps 1 of 2 identities"],
    );
    common::fails_with(
        cli()?
            .args(["data", "inspect", "--min-images", "9", "--max-images", "5"])
            .arg(tmp.path()),
        &["--max-images (5) is below --min-images (9)"],
    );
    Ok(())
}

#[test]
fn inspect_too_many_corrupt_images() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write_lfw(tmp.path(), &[("Ann_A", 3), ("Bob_B", 3)], false)?;
    let good = std::fs::read(tmp.path().join("Ann_A/Ann_A_0001.jpg"))?;
    std::fs::write(
        tmp.path().join("Ann_A/Ann_A_0001.jpg"),
        &good[..good.len() - 40],
    )?;
    common::fails_with(
        cli()?
            .args(["data", "inspect", "--min-images", "3"])
            .arg(tmp.path()),
        &["after excluding 1 corrupt image(s)", "Ann_A_0001.jpg"],
    );
    Ok(())
}

#[test]
fn inspect_tarball_that_is_not_lfw() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let tgz = tmp.path().join("photos.tgz");
    write_tgz_entries(&tgz, &[("photos/cat.jpg", b"meow"), ("notes.txt", b"hi")])?;
    common::fails_with(
        cli()?.args(["data", "inspect"]).arg(&tgz),
        &["is not an LFW archive", "lfw.tgz"],
    );
    let broken = tmp.path().join("broken.tgz");
    std::fs::write(&broken, "not gzip")?;
    common::fails_with(
        cli()?.args(["data", "inspect"]).arg(&broken),
        &["gzip-compressed tar archive"],
    );
    Ok(())
}

/// A maximum the user did not give is named as the default, as `run` names it.
#[test]
fn inspect_names_a_default_maximum_below_the_minimum_as_the_default() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write_lfw(tmp.path(), &[("Ann_A", 4), ("Bob_B", 4)], false)?;
    common::fails_with(
        cli()?
            .args(["data", "inspect"])
            .arg(tmp.path())
            .args(["--min-images", "40"]),
        &["--max-images (30) is below --min-images (40) (--max-images: the default)"],
    );
    let out = cli()?
        .args(["data", "inspect"])
        .arg(tmp.path())
        .args(["--min-images", "40", "--max-images", "30"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--max-images (30) is below --min-images (40)") && !err.contains("default"),
        "{err}"
    );
    Ok(())
}

#[test]
fn inspect_without_a_path_explains_how_to_get_the_data() -> Result<()> {
    let home = tempfile::tempdir()?;
    common::fails_with(
        cli()?
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("share"))
            .args(["data", "inspect"]),
        &[
            "no dataset found",
            "facenet-lab data fetch",
            "`data inspect PATH`",
        ],
    );
    Ok(())
}

#[test]
fn fetch_from_a_bad_mirror_fails_cleanly_and_leaves_nothing() -> Result<()> {
    let base = serve(1, |_| ok_response(b"this is not the LFW archive"))?;
    let to = tempfile::tempdir()?;
    common::fails_with(
        cli()?
            .env("FACENET_LAB_MIRROR", format!("{base}/"))
            .args(["data", "fetch", "--to"])
            .arg(to.path()),
        &[
            "is not the official file (FACENET_LAB_MIRROR is",
            "check that it serves the official lfw.tgz",
            "expected 180566744",
        ],
    );
    assert!(data_support::dir_listing(to.path())?.is_empty());
    Ok(())
}

#[test]
fn fetch_over_a_bad_local_file_says_why_and_keeps_it_when_the_download_fails() -> Result<()> {
    let base = serve(1, |_| data_support::not_found())?;
    let to = tempfile::tempdir()?;
    let tgz = to.path().join("lfw.tgz");
    std::fs::write(&tgz, "not the archive")?;
    let out = cli()?
        .env("FACENET_LAB_MIRROR", &base)
        .args(["data", "fetch", "--to"])
        .arg(to.path())
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr)?;
    let notice = format!(
        "{} fails verification: lfw.tgz has 15 bytes, expected 180566744",
        tgz.display()
    );
    let (before, failure) = err.split_once("error: ").unwrap_or_default();
    // Where it downloads from (the mirror, not the official address), and no promise to keep
    // the file aside that a failed download would break.
    let from = format!("downloading a replacement from {base}/lfw.tgz (this one is kept as ");
    assert!(
        before.contains(&notice)
            && before.contains(&from)
            && before.contains("lfw.tgz.unverified if the replacement verifies)"),
        "the bad file is named before downloading: {err}"
    );
    assert!(
        failure.contains(&notice) && failure.contains("left as it is"),
        "the failure still names the bad file: {err}"
    );
    assert!(failure.contains("404"), "{err}");
    assert_eq!(std::fs::read(&tgz)?, b"not the archive");
    Ok(())
}
