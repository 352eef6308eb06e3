//! `facenet-lab bench`: training images/s per model on this machine.

use anyhow::Result;

use crate::cli::BenchArgs;
use crate::format;
use crate::lab::Machine;
use crate::train::bench::time_steps;
use crate::train::config;
use crate::train::device;

pub fn execute(args: &BenchArgs) -> Result<()> {
    check(args)?;
    let (dev, name) = device::select(args.device)?;
    let gpu = device::gpu_name(&dev)
        .map(|g| format!(" ({g})"))
        .unwrap_or_default();
    eprintln!(
        "timing {} step(s) per model on {name}{gpu}, batch {}, {}×{} images",
        args.steps, args.batch, args.image_size, args.image_size
    );
    if let Some(machine) = Machine::current().describe() {
        eprintln!("machine: {machine}");
    }
    let mut rows = Vec::new();
    for &arch in &args.models {
        let t = time_steps(
            arch,
            args.batch,
            args.image_size,
            args.dim,
            args.steps,
            &dev,
        )?;
        rows.push(vec![
            arch.to_string(),
            name.clone(),
            args.batch.to_string(),
            args.image_size.to_string(),
            format!("{:.1}", t.forward * 1e3),
            format!("{:.1}", t.backward * 1e3),
            format!("{:.1}", t.optimizer * 1e3),
            format!("{:.1}", t.step * 1e3),
            format!("{:.1}", t.images_per_sec()),
        ]);
        eprintln!("  {arch}: {:.1} images/s", t.images_per_sec());
    }
    print!(
        "{}",
        format::table(
            &[
                "model", "device", "batch", "size", "fwd ms", "bwd ms", "adam ms", "step ms",
                "images/s"
            ],
            &rows
        )
    );
    Ok(())
}

/// Refuses settings some model cannot be timed with, before anything is printed or measured,
/// naming every problem, as `run` does.
fn check(args: &BenchArgs) -> Result<()> {
    let mut found = Vec::new();
    if args.batch < 4 {
        found.push(format!(
            "--batch must be at least 4 for bench (the timed step needs triplets), got {}",
            args.batch
        ));
    }
    if args.steps == 0 {
        found.push("--steps must be at least 1".to_string());
    }
    found.extend(config::dim_problem(args.dim));
    found.extend(
        args.models
            .iter()
            .filter_map(|&arch| config::image_size_problem(arch, args.image_size)),
    );
    config::refuse(&found)
}
