//! The CUDA kernels of [`super::cpu_batch_norm`]'s ops (f32), with the CPU's arithmetic, its
//! sums added in another order (they agree to rounding, not to the bit). In training: per
//! channel the mean and the biased variance (summed in double, two passes), then
//! `y = (x − μ)·a + β` with `a = γ/σ` and the ReLU after it when asked; the backward sums `dy`
//! and `dy·x̂` per channel and writes `dx = k·dy + m·(x − μ) + q` from them. In evaluation:
//! the fixed map `x·a + b` per channel. Kernels: `bn_stats`, `bn_apply`, `bn_grad_sums`,
//! `bn_grad_dx` and `channel_affine` in `src/cuda/kernels.cu`.
//!
//! The statistics stay on the device: the forward hands them back as a tensor
//! `[mean; var; a]`, from which the layer updates its running estimates with tensor ops, and
//! which the backward reads.

use candle_core::cuda_backend::cudarc::driver::{CudaSlice, CudaView, PushKernelArg};
use candle_core::cuda_backend::{CudaDevice, WrapErr};
use candle_core::op::BackpropOp;
use candle_core::{bail, CudaStorage, Result, Storage, Tensor};

use super::cpu_batch_norm::Planes;
use crate::cuda::{self, Kernel};

/// One of an op's arguments on the device.
pub(super) type View<'a> = CudaView<'a, f32>;
/// An op's output.
pub(super) type Buffer = CudaSlice<f32>;

/// `(batch, channels, pixels)` as the kernels' ints; the kernels index the map in 32 bits, so
/// it must hold under 2^31 elements.
fn ints(p: &Planes) -> Result<(i32, i32, i32)> {
    cuda::int(p.total(), "batch norm elements")?;
    Ok((
        cuda::int(p.batch, "batch")?,
        cuda::int(p.channels, "channels")?,
        cuda::int(p.pixels, "pixels")?,
    ))
}

/// Training's forward: `y`, and the statistics `[mean; biased var; γ/σ]` (`3 · channels`) as
/// a tensor on the device.
pub(super) fn forward(
    dev: &CudaDevice,
    p: &Planes,
    eps: f64,
    relu: bool,
    [x, gamma, beta]: [View<'_>; 3],
) -> Result<(Buffer, Tensor)> {
    let (batch, channels, pixels) = ints(p)?;
    let (eps, total, relu) = (eps as f32, p.total() as i64, i32::from(relu));
    // SAFETY: bn_stats writes all 3 · channels values, bn_apply all of y.
    let mut stats = unsafe { dev.alloc::<f32>(3 * p.channels)? };
    let mut y = unsafe { dev.alloc::<f32>(p.total())? };
    let k = Kernel::new(dev, "bn_stats")?;
    let mut b = k.builder();
    b.arg(&x)
        .arg(&gamma)
        .arg(&mut stats)
        .arg(&batch)
        .arg(&channels)
        .arg(&pixels)
        .arg(&eps);
    // SAFETY: the arguments match the kernel's signature.
    unsafe { b.launch(cuda::per_channel(p.channels)) }.w()?;
    let k = Kernel::new(dev, "bn_apply")?;
    let mut b = k.builder();
    b.arg(&x)
        .arg(&stats)
        .arg(&beta)
        .arg(&mut y)
        .arg(&total)
        .arg(&channels)
        .arg(&pixels)
        .arg(&relu);
    // SAFETY: as above.
    unsafe { b.launch(cuda::elementwise(p.total())) }.w()?;
    let stats = Storage::Cuda(CudaStorage::wrap_cuda_slice(stats, dev.clone()));
    let stats = Tensor::from_storage(stats, 3 * p.channels, BackpropOp::none(), false);
    Ok((y, stats))
}

/// Training's backward: `dx`, `dγ` and `dβ` in one buffer, as the CPU's lays them out, from
/// `x`, `dy` and [`forward`]'s statistics (γ is in them, as `γ/σ`).
pub(super) fn backward(
    dev: &CudaDevice,
    p: &Planes,
    eps: f64,
    [x, dy]: [View<'_>; 2],
    stats: &Tensor,
) -> Result<Buffer> {
    let (storage, layout) = stats.storage_and_layout();
    let Storage::Cuda(storage) = &*storage else {
        bail!("batch norm: the statistics are not on a CUDA device");
    };
    let stats = cuda::sized_view(storage, layout, 3 * p.channels, "batch norm statistics")?;
    let (batch, channels, pixels) = ints(p)?;
    let (eps, total) = (eps as f32, p.total() as i64);
    // SAFETY: bn_grad_sums writes the 2 · channels sums after dx and all of coef, bn_grad_dx
    // all of dx.
    let mut out = unsafe { dev.alloc::<f32>(p.total() + 2 * p.channels)? };
    let mut coef = unsafe { dev.alloc::<f32>(3 * p.channels)? };
    let k = Kernel::new(dev, "bn_grad_sums")?;
    let mut b = k.builder();
    b.arg(&x)
        .arg(&dy)
        .arg(&stats)
        .arg(&mut out)
        .arg(&mut coef)
        .arg(&batch)
        .arg(&channels)
        .arg(&pixels)
        .arg(&eps);
    // SAFETY: the arguments match the kernel's signature.
    unsafe { b.launch(cuda::per_channel(p.channels)) }.w()?;
    let k = Kernel::new(dev, "bn_grad_dx")?;
    let mut b = k.builder();
    b.arg(&x)
        .arg(&dy)
        .arg(&stats)
        .arg(&coef)
        .arg(&mut out)
        .arg(&total)
        .arg(&channels)
        .arg(&pixels);
    // SAFETY: as above.
    unsafe { b.launch(cuda::elementwise(p.total())) }.w()?;
    Ok(out)
}

/// Evaluation's `y = x·a + b` per channel, then a ReLU when `relu`.
pub(super) fn channel_affine(
    dev: &CudaDevice,
    p: &Planes,
    relu: bool,
    [x, a, b]: [View<'_>; 3],
) -> Result<Buffer> {
    let (_, channels, pixels) = ints(p)?;
    let (total, relu) = (p.total() as i64, i32::from(relu));
    // SAFETY: the kernel writes all of y.
    let mut y = unsafe { dev.alloc::<f32>(p.total())? };
    let k = Kernel::new(dev, "channel_affine")?;
    let mut builder = k.builder();
    builder
        .arg(&x)
        .arg(&a)
        .arg(&b)
        .arg(&mut y)
        .arg(&total)
        .arg(&channels)
        .arg(&pixels)
        .arg(&relu);
    // SAFETY: the arguments match the kernel's signature.
    unsafe { builder.launch(cuda::elementwise(p.total())) }.w()?;
    Ok(y)
}
