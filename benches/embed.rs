//! Embedding all of LFW for `eval`: every image of `$FACENET_LAB_DATA/lfw.tgz` (13,233 in the
//! official archive) read from the tarball, decoded, resized and embedded in batches of 256 by
//! an untrained, frozen network, as `eval --data lfw.tgz` embeds them. Prints a table; asserts
//! nothing.
//!
//! `cargo bench --bench embed` (BENCH_MODELS=resnet18,alexnet to choose, BENCH_SIZE=64,
//! BENCH_LIMIT=N for the first N images only).

use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Device;
use facenet_lab::cli::EMBED_BATCH;
use facenet_lab::data::{self, DataSpec};
use facenet_lab::eval::net::Net;
use facenet_lab::model::Arch;
use facenet_lab::train::config::TrainConfig;

fn main() -> Result<()> {
    // As the binary runs (src/main.rs).
    facenet_lab::model::short_candle_spin();
    let root = std::env::var("FACENET_LAB_DATA")
        .context("set FACENET_LAB_DATA to the folder holding lfw.tgz (e.g. ../shared/data)")?;
    let spec: DataSpec = format!("{root}/lfw.tgz").parse()?;
    let size: usize = std::env::var("BENCH_SIZE").map_or(Ok(64), |v| v.parse())?;
    let models = std::env::var("BENCH_MODELS").unwrap_or_else(|_| "resnet18".into());
    let mut items = data::list_images(&spec)?;
    if let Ok(limit) = std::env::var("BENCH_LIMIT") {
        items.truncate(limit.parse()?);
    }
    let device = Device::cuda_if_available(0)?;
    println!("model      device  size  batch  images  seconds  images/s");
    for name in models.split(',') {
        let model: Arch = name.trim().parse().map_err(anyhow::Error::msg)?;
        let cfg = TrainConfig {
            model,
            image_size: size,
            ..TrainConfig::default()
        };
        let net = Net::initialised(cfg, 0, &device)?;
        let t = Instant::now();
        let vectors = net.embed(&spec, &items, false, EMBED_BATCH)?;
        let secs = t.elapsed().as_secs_f64();
        anyhow::ensure!(vectors.len() == items.len(), "an image was not embedded");
        println!(
            "{:<10} {:<6} {:>5} {:>6} {:>7} {:>8.1} {:>9.1}",
            name.trim(),
            if device.is_cuda() { "cuda" } else { "cpu" },
            size,
            EMBED_BATCH,
            items.len(),
            secs,
            items.len() as f64 / secs
        );
    }
    Ok(())
}
