//! `facenet-lab bench`: training images/s per model on this machine.

use anyhow::{bail, Context, Result};

use crate::cli::BenchArgs;
use crate::format;
use crate::lab::Machine;
use crate::train::bench::time_steps;
use crate::train::config;
use crate::train::device;
use crate::train::profile::{profile_layers, KindTiming};

pub fn execute(args: &BenchArgs) -> Result<()> {
    check(args)?;
    let (dev, name) = device::select(args.device)?;
    if !args.parity.is_empty() {
        return parity(&args.parity, &dev, &name);
    }
    if args.check {
        check_kernels(&dev)?;
    }
    device::set_tf32(&dev, &name, args.tf32)?;
    let gpu = device::gpu_name(&dev)
        .map(|g| format!(" ({g})"))
        .unwrap_or_default();
    crate::say!(
        "timing {} step(s) per model on {name}{gpu}, batch {}, {}×{} images",
        args.steps,
        args.batch,
        args.image_size,
        args.image_size
    );
    if dev.is_cuda() {
        crate::say!(
            "{}, matrix products in {}",
            kernels_label(),
            if args.tf32 { "TF32" } else { "strict f32" }
        );
    }
    if let Some(machine) = Machine::current().describe() {
        crate::say!("machine: {machine}");
    }
    let mut rows = Vec::new();
    let mut steps = Vec::new();
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
        crate::say!("  {arch}: {:.1} images/s", t.images_per_sec());
        steps.push(t);
    }
    crate::out!(
        "{}",
        format::table(
            &[
                "model", "device", "batch", "size", "fwd ms", "bwd ms", "adam ms", "step ms",
                "images/s"
            ],
            &rows
        )
    );
    // The profiles after the table, each as it is measured: a call cut short keeps the table.
    if args.profile {
        for t in &steps {
            let kinds = profile_layers(t, args.steps, &dev)?;
            crate::outln!(
                "\n{}: where a {:.1} ms step goes (each layer op timed alone, median of {})",
                t.arch,
                t.step * 1e3,
                args.steps
            );
            crate::out!("{}", profile_table(t.step, &kinds));
            std::io::Write::flush(&mut std::io::stdout())?;
        }
    }
    Ok(())
}

/// Which kernels a CUDA step runs, for the header.
fn kernels_label() -> String {
    #[cfg(feature = "cuda")]
    let own = crate::cuda::enabled();
    #[cfg(not(feature = "cuda"))]
    let own = false;
    if own {
        "facenet-lab's kernels for convolution, batch norm, max pooling, ReLU and Adam".into()
    } else {
        "candle's kernels throughout".into()
    }
}

/// The line with which `--check` says the kernels passed: `bench/gpu.sh` turns them off for
/// the rest of its call unless it reads this.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
const CHECK_VERDICT: &str = "the CUDA kernels agree with the CPU";

/// `--check`: the CUDA kernels against the CPU's ops ([`crate::cuda::check`]), as a table;
/// an error if any output is off.
#[cfg(feature = "cuda")]
fn check_kernels(dev: &candle_core::Device) -> Result<()> {
    use crate::cuda::check;
    if !dev.is_cuda() {
        bail!("--check compares the CUDA kernels with the CPU: it needs a CUDA device");
    }
    if !crate::cuda::enabled() {
        bail!(
            "--check: {}=candle turned facenet-lab's CUDA kernels off",
            crate::cuda::KERNELS_VAR
        );
    }
    let results = check::run(dev)?;
    crate::out!("{}", crate::agreement::table("op", &results, None));
    let failed = results.iter().filter(|c| !c.passed()).count();
    if failed > 0 {
        bail!(
            "{failed} of {} outputs of the CUDA kernels differ from the CPU's by more than \
             they may",
            results.len()
        );
    }
    crate::outln!(
        "{CHECK_VERDICT}: {} outputs, each within its bound\n",
        results.len()
    );
    Ok(())
}

#[cfg(not(feature = "cuda"))]
fn check_kernels(_: &candle_core::Device) -> Result<()> {
    bail!("--check compares facenet-lab's CUDA kernels with the CPU: build with --features cuda")
}

/// `--parity`: facenet-lab's step against PyTorch's from each reference file
/// ([`crate::train::parity`]), as a table.
fn parity(files: &[std::path::PathBuf], dev: &candle_core::Device, name: &str) -> Result<()> {
    crate::say!("replaying PyTorch's step on {name}");
    let mut results = Vec::new();
    for file in files {
        let replayed = crate::train::parity::replay(file, dev)
            .with_context(|| format!("replaying {}", file.display()))?;
        results.extend(replayed);
    }
    let (ours, pytorch): (Vec<_>, Vec<_>) =
        results.iter().map(|p| (p.ours.clone(), p.pytorch)).unzip();
    crate::outln!("relative error against PyTorch's step in f64, from the same weights and batch");
    let beside = Some(("PyTorch f32", pytorch.as_slice()));
    crate::out!(
        "{}",
        crate::agreement::table("network [input]", &ours, beside)
    );
    let failed = results.iter().filter(|p| !p.ours.passed()).count();
    if failed > 0 {
        bail!(
            "{failed} of {} outputs of facenet-lab's step are further from PyTorch's f64 step \
             than twice PyTorch's own f32 step (or 1e-5)",
            results.len()
        );
    }
    crate::outln!(
        "facenet-lab's step agrees with PyTorch's: {} outputs, each within its bound",
        results.len()
    );
    Ok(())
}

/// Per kind of layer: its calls, forward and backward milliseconds and share of the `step`
/// (seconds), then what the layers leave of the step.
fn profile_table(step: f64, kinds: &[KindTiming]) -> String {
    let ms = |s: f64| format!("{:.1}", s * 1e3);
    let share = |s: f64| format!("{:.0}%", 100.0 * s / step);
    let mut rows: Vec<Vec<String>> = kinds
        .iter()
        .map(|k| {
            let total = k.forward + k.backward;
            vec![
                k.kind.to_string(),
                k.calls.to_string(),
                ms(k.forward),
                ms(k.backward),
                ms(total),
                share(total),
            ]
        })
        .collect();
    let layers: f64 = kinds.iter().map(|k| k.forward + k.backward).sum();
    let rest = step - layers;
    rows.push(vec![
        "rest: loss, Adam, glue".to_string(),
        "-".to_string(),
        "-".to_string(),
        "-".to_string(),
        ms(rest),
        share(rest),
    ]);
    format::table(
        &[
            "layer kind",
            "calls",
            "fwd ms",
            "bwd ms",
            "total ms",
            "of step",
        ],
        &rows,
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The GPU script reads the check's verdict by its words: reworded on one side only, every
    /// GPU call would run on candle's kernels.
    #[test]
    fn the_gpu_script_looks_for_the_checks_own_verdict() -> Result<()> {
        let script = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gpu.sh"),
        )?;
        let grep = format!("grep -q \"^{CHECK_VERDICT}\"");
        assert!(script.contains(&grep), "bench/gpu.sh lacks {grep}");
        Ok(())
    }

    #[test]
    fn the_profile_says_what_the_layers_leave_of_the_step() {
        let kinds = [
            KindTiming {
                kind: "conv",
                calls: 20,
                forward: 0.010,
                backward: 0.030,
            },
            KindTiming {
                kind: "relu",
                calls: 8,
                forward: 0.002,
                backward: 0.003,
            },
        ];
        let table = profile_table(0.100, &kinds);
        let lines: Vec<Vec<&str>> = table
            .lines()
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(lines[1], ["conv", "20", "10.0", "30.0", "40.0", "40%"]);
        assert_eq!(lines[2], ["relu", "8", "2.0", "3.0", "5.0", "5%"]);
        assert_eq!(
            lines[3],
            ["rest: loss, Adam, glue", "-", "-", "-", "55.0", "55%"]
        );
    }
}
