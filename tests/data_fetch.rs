//! `fetch` against a tiny HTTP server on 127.0.0.1.
mod data_support;

use anyhow::Result;
use data_support::{dir_listing, err_text, not_found, ok_response, serve, truncated_response};
use facenet_lab::data::hash::sha256_hex;
use facenet_lab::data::{fetch, FetchSpec, RemoteFile};

fn spec(base: &str, files: &[(&str, &[u8])]) -> FetchSpec {
    FetchSpec {
        files: files
            .iter()
            .map(|(name, body)| RemoteFile {
                name: name.to_string(),
                url: format!("{base}/{name}"),
                size: Some(body.len() as u64),
                sha256: Some(sha256_hex(body)),
            })
            .collect(),
    }
}

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn downloads_verifies_and_then_skips() -> Result<()> {
    let tgz = body(200_000);
    let pairs = b"10\t300\n".to_vec();
    let (t, p) = (tgz.clone(), pairs.clone());
    // Exactly two requests are served; a second fetch must not ask again.
    let base = serve(2, move |path| match path {
        "/lfw.tgz" => ok_response(&t),
        "/pairs.txt" => ok_response(&p),
        _ => not_found(),
    })?;
    let dir = tempfile::tempdir()?;
    let dest = dir.path().join("sub");
    let s = spec(&base, &[("lfw.tgz", &tgz), ("pairs.txt", &pairs)]);
    let got = fetch(&dest, &s, false)?;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|f| f.downloaded));
    assert_eq!(std::fs::read(dest.join("lfw.tgz"))?, tgz);
    assert_eq!(std::fs::read(dest.join("pairs.txt"))?, pairs);
    assert_eq!(dir_listing(&dest)?, ["lfw.tgz", "pairs.txt"]);
    let again = fetch(&dest, &s, false)?;
    assert!(
        again.iter().all(|f| !f.downloaded),
        "verified files are kept"
    );
    Ok(())
}

#[test]
fn checksum_mismatch_leaves_nothing() -> Result<()> {
    let good = body(5_000);
    let mut bad = good.clone();
    bad[100] ^= 0xFF;
    let base = serve(1, move |_| ok_response(&bad))?;
    let dir = tempfile::tempdir()?;
    let err = err_text(fetch(
        dir.path(),
        &spec(&base, &[("lfw.tgz", &good)]),
        false,
    ));
    assert!(err.contains("sha256") && err.contains("expected"), "{err}");
    // All the server announced arrived: another file, not a network fault.
    assert!(
        err.contains(&format!(
            "lfw.tgz from {base}/lfw.tgz is not the official file"
        )) && !err.contains("check the network"),
        "{err}"
    );
    assert!(dir_listing(dir.path())?.is_empty(), "no half file left");
    Ok(())
}

/// A folder the fetch made for files that did not come is not left behind, empty; one that was
/// there stays.
#[test]
fn a_failed_fetch_leaves_no_folder_it_made() -> Result<()> {
    let base = serve(2, |_| not_found())?;
    let dir = tempfile::tempdir()?;
    let to = dir.path().join("new/lfw");
    let files = spec(&base, &[("lfw.tgz", &body(100))]);
    err_text(fetch(&to, &files, false));
    assert!(!to.exists(), "no empty folder made");
    err_text(fetch(dir.path(), &files, false));
    assert!(dir.path().is_dir(), "a folder that was there stays");
    Ok(())
}

#[test]
fn truncated_transfer_leaves_nothing() -> Result<()> {
    let good = body(50_000);
    let part = good[..20_000].to_vec();
    let base = serve(1, move |_| truncated_response(&part, 50_000))?;
    let dir = tempfile::tempdir()?;
    let err = err_text(fetch(
        dir.path(),
        &spec(&base, &[("lfw.tgz", &good)]),
        false,
    ));
    assert!(err.contains("downloading lfw.tgz"), "{err}");
    assert!(
        err.contains("transfer interrupted"),
        "the short body is caught: {err}"
    );
    assert!(dir_listing(dir.path())?.is_empty(), "no half file left");
    Ok(())
}

#[test]
fn failed_download_keeps_an_existing_file_and_reports_http_errors() -> Result<()> {
    let good = body(1_000);
    let base = serve(1, |_| not_found())?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("lfw.tgz"), b"old, unverified")?;
    let err = err_text(fetch(
        dir.path(),
        &spec(&base, &[("lfw.tgz", &good)]),
        false,
    ));
    assert!(err.contains("404"), "{err}");
    assert_eq!(dir_listing(dir.path())?, ["lfw.tgz"]);
    assert_eq!(
        std::fs::read(dir.path().join("lfw.tgz"))?,
        b"old, unverified"
    );
    Ok(())
}

/// The archive failing does not keep pairs.txt from landing, and the error names the archive
/// alone (the file that landed is said on stdout).
#[test]
fn one_failed_file_does_not_stop_the_others() -> Result<()> {
    let tgz = body(1_000);
    let pairs = b"10\t300\n".to_vec();
    let p = pairs.clone();
    let base = serve(2, move |path| match path {
        "/pairs.txt" => ok_response(&p),
        _ => not_found(),
    })?;
    let dir = tempfile::tempdir()?;
    let err = err_text(fetch(
        dir.path(),
        &spec(&base, &[("lfw.tgz", &tgz), ("pairs.txt", &pairs)]),
        false,
    ));
    assert!(err.contains("1 of 2 files could not be fetched"), "{err}");
    let failed = format!("\n  {}: ", dir.path().join("lfw.tgz").display());
    assert!(err.contains(&failed) && err.contains("404"), "{err}");
    assert!(
        err.contains("the server answered 404 Not Found, not the file") && !err.contains("network"),
        "a missing file is no network fault: {err}"
    );
    assert!(
        err.contains(&format!(
            "download it by hand into {}",
            dir.path().display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("pairs.txt"),
        "the error lists only the file that failed, not the one that landed: {err}"
    );
    assert_eq!(dir_listing(dir.path())?, ["pairs.txt"]);
    assert_eq!(std::fs::read(dir.path().join("pairs.txt"))?, pairs);
    Ok(())
}

/// A file there that is not the official one (a grayscale copy of LFW, say) is put aside when
/// the official one lands, not deleted; twice, under the next free name.
#[test]
fn a_replaced_file_is_kept_aside() -> Result<()> {
    let good = body(1_000);
    let g = good.clone();
    let base = serve(2, move |_| ok_response(&g))?;
    let dir = tempfile::tempdir()?;
    let s = spec(&base, &[("lfw.tgz", &good)]);
    for (mine, aside) in [
        (&b"my own copy"[..], "lfw.tgz.unverified"),
        (&b"another"[..], "lfw.tgz.unverified-2"),
    ] {
        std::fs::write(dir.path().join("lfw.tgz"), mine)?;
        let got = fetch(dir.path(), &s, false)?;
        assert!(got[0].downloaded);
        assert_eq!(std::fs::read(dir.path().join("lfw.tgz"))?, good);
        assert_eq!(std::fs::read(dir.path().join(aside))?, mine);
    }
    assert_eq!(
        dir_listing(dir.path())?,
        ["lfw.tgz", "lfw.tgz.unverified", "lfw.tgz.unverified-2"]
    );
    Ok(())
}

/// Only a `200 OK` is the file: another 2xx (a 202 with an empty body, as a bot challenge
/// answers) is named as such, and a reply longer than the file is cut off; neither leaves a
/// file behind.
#[test]
fn a_reply_that_is_not_the_file_is_named_and_leaves_nothing() -> Result<()> {
    let good = body(5_000);
    let accepted =
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
            .to_vec();
    let longer = body(9_000);
    let base = serve(2, move |path| match path {
        "/lfw.tgz" => accepted.clone(),
        _ => ok_response(&longer),
    })?;
    let dir = tempfile::tempdir()?;
    let err = err_text(fetch(
        dir.path(),
        &spec(&base, &[("lfw.tgz", &good)]),
        false,
    ));
    assert!(
        err.contains("the server answered 202 Accepted, text/html, not the file"),
        "{err}"
    );
    let err = err_text(fetch(
        dir.path(),
        &spec(&base, &[("pairs.txt", &good)]),
        false,
    ));
    assert!(
        err.contains("the server sent more than the file's 5000 bytes"),
        "{err}"
    );
    assert!(dir_listing(dir.path())?.is_empty(), "no half file left");
    Ok(())
}

/// A download killed mid-way (Ctrl-C runs no destructor) leaves its part file; the next fetch
/// removes it, but not one whose process is still downloading.
#[test]
fn a_killed_downloads_part_file_is_removed_by_the_next_fetch() -> Result<()> {
    let good = body(3_000);
    let g = good.clone();
    let base = serve(1, move |_| ok_response(&g))?;
    let dir = tempfile::tempdir()?;
    // No process has a pid above the kernel's limit (2^22); pid 1 always runs. A file written
    // a moment ago may be a live fetch's in another pid namespace.
    let (gone, live, recent) = (
        ".lfw.tgz.part-4999999",
        ".lfw.tgz.part-1",
        ".lfw.tgz.part-4999998",
    );
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for name in [gone, live, recent] {
        let file = std::fs::File::create(dir.path().join(name))?;
        if name != recent {
            file.set_modified(hour_ago)?;
        }
    }
    fetch(dir.path(), &spec(&base, &[("lfw.tgz", &good)]), false)?;
    assert_eq!(dir_listing(dir.path())?, [live, recent, "lfw.tgz"]);
    // Once the recent one is old, a fetch that finds the file whole and downloads nothing
    // removes it too.
    std::fs::File::options()
        .write(true)
        .open(dir.path().join(recent))?
        .set_modified(hour_ago)?;
    fetch(dir.path(), &spec(&base, &[("lfw.tgz", &good)]), false)?;
    assert_eq!(dir_listing(dir.path())?, [live, "lfw.tgz"]);
    Ok(())
}
