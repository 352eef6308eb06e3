//! Picking the device a run trains on, and naming it for the record.

use anyhow::{bail, Result};
use candle_core::Device;

use crate::train::config::DeviceChoice;

/// `--device cuda` as a message names it: `gpu` says the same, and the choice does not keep
/// which of the two was typed (or written in a `--config` file).
const CUDA_FLAG: &str = "--device cuda or gpu";

/// The chosen device and a human name for it ("cpu", "cuda:0").
pub fn select(choice: DeviceChoice) -> Result<(Device, String)> {
    check(choice)?;
    match choice {
        DeviceChoice::Cpu => Ok((Device::Cpu, "cpu".into())),
        DeviceChoice::Cuda => match Device::new_cuda(0) {
            Ok(d) => Ok((d, "cuda:0".into())),
            Err(e) => bail!(
                "{CUDA_FLAG}: no usable CUDA GPU ({}). Use --device cpu or --device auto",
                without_backtrace(e)
            ),
        },
        DeviceChoice::Auto => {
            if cfg!(feature = "cuda") {
                match Device::new_cuda(0) {
                    Ok(d) => return Ok((d, "cuda:0".into())),
                    // Said, for a build with CUDA is built to use a GPU: its user expects one.
                    Err(e) => crate::say!(
                        "note: this facenet-lab was built with CUDA, but found no usable GPU \
                         ({}); it uses the CPU (--device cuda would refuse instead)",
                        without_backtrace(e)
                    ),
                }
            }
            Ok((Device::Cpu, "cpu".into()))
        }
    }
}

/// A candle error without the backtrace it carries when `RUST_BACKTRACE` is set: for a
/// missing GPU, fifty lines of candle's frames say nothing more.
fn without_backtrace(e: candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => inner.to_string(),
        e => e.to_string(),
    }
}

/// What can be told of `--tf32` without opening a device: asked of a build without CUDA.
pub fn check_tf32(tf32: bool) -> Result<()> {
    if tf32 && !cfg!(feature = "cuda") {
        bail!(
            "--tf32 is for CUDA's tensor cores, and this facenet-lab was built without CUDA: \
             rebuild with `cargo build --release --features cuda` on a machine with a GPU"
        );
    }
    Ok(())
}

/// What can be told of `choice` without opening a device: CUDA asked of a build without it.
pub fn check(choice: DeviceChoice) -> Result<()> {
    if choice == DeviceChoice::Cuda && !cfg!(feature = "cuda") {
        bail!(
            "{CUDA_FLAG}: this facenet-lab was built without CUDA. Rebuild with \
             `cargo build --release --features cuda`, or use --device cpu"
        );
    }
    Ok(())
}

/// Sets how cuBLAS multiplies f32 matrices for the rest of the process: in TF32 on the tensor
/// cores (`tf32`), or in strict f32. TF32 needs a CUDA device; `name` names the device in the
/// error.
pub fn set_tf32(device: &Device, name: &str, tf32: bool) -> Result<()> {
    if tf32 && !device.is_cuda() {
        bail!("--tf32 is for CUDA's tensor cores; this runs on {name}, which multiplies in f32");
    }
    candle_core::cuda::set_gemm_reduced_precision_f32(tf32);
    Ok(())
}

/// The GPU's marketing name, asked of nvidia-smi (candle does not expose it).
pub fn gpu_name(device: &Device) -> Option<String> {
    if !device.is_cuda() {
        return None;
    }
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader", "-i", "0"])
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Some(if name.is_empty() {
        "CUDA device 0".to_string()
    } else {
        name
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_there_and_cuda_is_refused_without_the_feature() {
        let (d, name) = select(DeviceChoice::Cpu).expect("cpu");
        assert!(d.is_cpu() && name == "cpu");
        if !cfg!(feature = "cuda") {
            let err = select(DeviceChoice::Cuda).unwrap_err().to_string();
            // Either word may have been typed: the message names both, not only `cuda`.
            assert!(
                err.starts_with("--device cuda or gpu: this facenet-lab was built without CUDA"),
                "{err}"
            );
            assert!(select(DeviceChoice::Auto).expect("auto").0.is_cpu());
        }
    }

    #[test]
    fn a_device_error_is_said_without_its_backtrace() {
        let plain = candle_core::Error::Msg("CUDA_ERROR_NO_DEVICE".into());
        let traced = candle_core::Error::WithBacktrace {
            inner: Box::new(plain),
            backtrace: Box::new(std::backtrace::Backtrace::force_capture()),
        };
        assert_eq!(without_backtrace(traced), "CUDA_ERROR_NO_DEVICE");
        let plain = candle_core::Error::Msg("no GPU".into());
        assert_eq!(without_backtrace(plain), "no GPU");
    }
}
