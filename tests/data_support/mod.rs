//! Helpers shared by the `data_*` integration tests: the shared LFW copy, generated fixtures
//! and a tiny HTTP server.
#![allow(dead_code)]

use std::io::{Cursor, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage};

/// The error of `r` with its causes, for a test that expects one: an `Ok` fails the test.
pub fn err_text<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => format!("{e:#}"),
    }
}

/// The directory holding `lfw.tgz` and `lfw-20-30/` (env `FACENET_LAB_DATA`).
pub fn shared_data() -> Result<PathBuf> {
    let dir = std::env::var_os("FACENET_LAB_DATA").context(
        "FACENET_LAB_DATA is not set: point it at the directory holding lfw.tgz and lfw-20-30 \
         (e.g. FACENET_LAB_DATA=/work/shared/data cargo test)",
    )?;
    let dir = PathBuf::from(dir);
    anyhow::ensure!(
        dir.join("lfw.tgz").is_file() && dir.join("lfw-20-30").is_dir(),
        "FACENET_LAB_DATA={} does not hold lfw.tgz and lfw-20-30/",
        dir.display()
    );
    Ok(dir)
}

/// A small JPEG whose pixels depend on `(seed, index)`; gray or color.
pub fn jpeg(seed: u32, index: u32, color: bool) -> Result<Vec<u8>> {
    let img = if color {
        DynamicImage::ImageRgb8(RgbImage::from_fn(24, 24, |x, y| {
            Rgb([
                (x * 9 + seed * 40) as u8,
                (y * 7 + index * 30) as u8,
                ((x + y) * 3 + seed * index) as u8,
            ])
        }))
    } else {
        DynamicImage::ImageLuma8(GrayImage::from_fn(24, 24, |x, y| {
            Luma([(x * 5 + y * 3 + seed * 40 + index * 17) as u8])
        }))
    };
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, ImageFormat::Jpeg)?;
    Ok(buf.into_inner())
}

/// Writes `<root>/<Name>/<Name>_NNNN.jpg` for each `(name, count)` (numbered from 1).
pub fn write_lfw(root: &Path, identities: &[(&str, u32)], color: bool) -> Result<()> {
    for (k, (name, count)) in identities.iter().enumerate() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        for i in 1..=*count {
            std::fs::write(
                dir.join(format!("{name}_{i:04}.jpg")),
                jpeg(k as u32, i, color)?,
            )?;
        }
    }
    Ok(())
}

/// Packs `src` (a directory) into a gzip tarball, entries under `prefix/` (or none).
pub fn write_tgz(src: &Path, tgz: &Path, prefix: &str) -> Result<()> {
    let f = std::fs::File::create(tgz)?;
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(prefix, src)?;
    tar.into_inner()?.finish()?;
    Ok(())
}

/// A tarball with arbitrary `(path, bytes)` entries.
pub fn write_tgz_entries(tgz: &Path, entries: &[(&str, &[u8])]) -> Result<()> {
    let f = std::fs::File::create(tgz)?;
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, *bytes)?;
    }
    tar.into_inner()?.finish()?;
    Ok(())
}

/// Serves at most `max_requests` requests on 127.0.0.1 from a thread; `respond(path)` gives
/// the raw HTTP response bytes. Returns the base URL `http://127.0.0.1:PORT`.
pub fn serve(
    max_requests: usize,
    respond: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for _ in 0..max_requests {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
            let _ = stream.write_all(&respond(&path));
            let _ = stream.flush();
        }
    });
    Ok(base)
}

/// A complete `200 OK` response with `body`.
pub fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A response announcing `announced` bytes but carrying only `body` before closing.
pub fn truncated_response(body: &[u8], announced: usize) -> Vec<u8> {
    let mut r =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n")
            .into_bytes();
    r.extend_from_slice(body);
    r
}

pub fn not_found() -> Vec<u8> {
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
}

/// Names of the files in `dir` (sorted), to check nothing was left behind.
pub fn dir_listing(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    Ok(names)
}
