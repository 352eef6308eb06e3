//! BatchNorm2d in training on CUDA as one op each way (f32), the GPU side of
//! [`super::cpu_batch_norm::batch_norm_train`], with the same arithmetic: per channel the mean
//! and the biased variance (summed in double, two passes), then `y = (x − μ)·a + β` with
//! `a = γ/σ` and the ReLU after it when asked; the backward sums `dy` and `dy·x̂` per channel and
//! writes `dx = k·dy + m·(x − μ) + q` from them. Kernels: `bn_stats`, `bn_apply`,
//! `bn_grad_sums` and `bn_grad_dx` in `src/cuda/kernels.cu`.
//!
//! The statistics stay on the device: the forward hands them back as a tensor
//! `[mean; var; a]`, from which the layer updates its running estimates with tensor ops, and
//! which the backward reads.

use std::sync::{Arc, OnceLock};

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::PushKernelArg;
use candle_core::cuda_backend::WrapErr;
use candle_core::op::BackpropOp;
use candle_core::{
    bail, CpuStorage, CudaStorage, CustomOp3, Layout, Result, Shape, Storage, Tensor,
};

use crate::cuda::{self, Kernel};

/// A `(batch, channels, h·w)` map.
#[derive(Clone, Copy, Debug)]
struct Planes {
    batch: usize,
    channels: usize,
    pixels: usize,
}

impl Planes {
    fn total(&self) -> usize {
        self.batch * self.channels * self.pixels
    }

    /// `(batch, channels, pixels)` as the kernels' ints; the kernels index the map in 32
    /// bits, so it must hold under 2^31 elements.
    fn ints(&self) -> Result<(i32, i32, i32)> {
        cuda::int(self.total(), "batch norm elements")?;
        Ok((
            cuda::int(self.batch, "batch")?,
            cuda::int(self.channels, "channels")?,
            cuda::int(self.pixels, "pixels")?,
        ))
    }
}

/// Normalises `(batch, channels, h, w)` `xs` with its batch statistics and applies `gamma` and
/// `beta`, then a ReLU when `relu`, differentiably in all three; returns the output and the
/// statistics, `[mean; biased var; γ/σ]` (`3 · channels`), on the device.
pub(crate) fn batch_norm_train(
    xs: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<(Tensor, Tensor)> {
    let (batch, channels, h, w) = xs.dims4()?;
    for (name, t) in [("weight", gamma), ("bias", beta)] {
        if t.dims() != [channels] {
            bail!(
                "batch norm: {name} has shape {:?}, the input {:?} has {channels} channels",
                t.dims(),
                xs.dims()
            );
        }
    }
    let stats = Arc::new(OnceLock::new());
    let op = BatchNormOp {
        planes: Planes {
            batch,
            channels,
            pixels: h * w,
        },
        eps: eps as f32,
        relu,
        stats: stats.clone(),
    };
    let ys = xs
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    match stats.get() {
        Some(s) => Ok((ys, s.clone())),
        None => bail!("cuda batch_norm: the forward kept no statistics"),
    }
}

/// `y = x·a + b` per channel over `(batch, channels, h, w)` `xs`, then a ReLU when `relu`:
/// evaluation's batch norm, as [`super::cpu_batch_norm::channel_affine`], in one pass. Its
/// backward (which evaluation seldom needs) is tensor ops.
pub(crate) fn channel_affine(xs: &Tensor, a: &Tensor, b: &Tensor, relu: bool) -> Result<Tensor> {
    let (batch, channels, h, w) = xs.dims4()?;
    let op = ChannelAffine {
        planes: Planes {
            batch,
            channels,
            pixels: h * w,
        },
        relu,
    };
    xs.contiguous()?
        .apply_op3(&a.contiguous()?, &b.contiguous()?, op)
}

struct ChannelAffine {
    planes: Planes,
    relu: bool,
}

impl CustomOp3 for ChannelAffine {
    fn name(&self) -> &'static str {
        "cuda-channel-affine"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cpu_refused(self.name())
    }

    fn cuda_fwd(
        &self,
        x: &CudaStorage,
        lx: &Layout,
        a: &CudaStorage,
        la: &Layout,
        b: &CudaStorage,
        lb: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dev = x.device();
        let p = self.planes;
        let (x_v, a_v, b_v) = (
            cuda::sized_view(x, lx, p.total(), "batch norm input")?,
            cuda::sized_view(a, la, p.channels, "batch norm scale")?,
            cuda::sized_view(b, lb, p.channels, "batch norm shift")?,
        );
        let (_, channels, pixels) = p.ints()?;
        let (total, relu) = (p.total() as i64, i32::from(self.relu));
        // SAFETY: the kernel writes all of y.
        let mut y = unsafe { dev.alloc::<f32>(p.total())? };
        let k = Kernel::new(dev, "channel_affine")?;
        let mut builder = k.builder();
        builder
            .arg(&x_v)
            .arg(&a_v)
            .arg(&b_v)
            .arg(&mut y)
            .arg(&total)
            .arg(&channels)
            .arg(&pixels)
            .arg(&relu);
        // SAFETY: the arguments match the kernel's signature.
        unsafe { builder.launch(cuda::elementwise(p.total())) }.w()?;
        Ok((
            CudaStorage::wrap_cuda_slice(y, dev.clone()),
            lx.shape().clone(),
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        a: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = if self.relu {
            super::relu::backward_of(res, grad)?
        } else {
            grad.clone()
        };
        let per_channel = |t: &Tensor| t.sum_keepdim((0, 2, 3))?.flatten_all();
        let dx = dy.broadcast_mul(&a.detach().reshape((1, (), 1, 1))?)?;
        let da = per_channel(&(&dy * x.detach())?)?;
        Ok((Some(dx), Some(da), Some(per_channel(&dy)?)))
    }
}

/// The forward; keeps the statistics it normalised with.
struct BatchNormOp {
    planes: Planes,
    eps: f32,
    relu: bool,
    stats: Arc<OnceLock<Tensor>>,
}

fn cpu_refused(op: &str) -> Result<(CpuStorage, Shape)> {
    bail!("{op} runs on CUDA only")
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "cuda-batch-norm"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cpu_refused(self.name())
    }

    fn cuda_fwd(
        &self,
        x: &CudaStorage,
        lx: &Layout,
        gamma: &CudaStorage,
        lg: &Layout,
        beta: &CudaStorage,
        lb: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dev = x.device();
        let p = self.planes;
        let (x_v, gamma_v, beta_v) = (
            cuda::sized_view(x, lx, p.total(), "batch norm input")?,
            cuda::sized_view(gamma, lg, p.channels, "batch norm weight")?,
            cuda::sized_view(beta, lb, p.channels, "batch norm bias")?,
        );
        let (batch, channels, pixels) = p.ints()?;
        let total = p.total() as i64;
        // SAFETY: bn_stats writes all 3 · channels values, bn_apply all of y.
        let mut stats = unsafe { dev.alloc::<f32>(3 * p.channels)? };
        let mut y = unsafe { dev.alloc::<f32>(p.total())? };
        let k = Kernel::new(dev, "bn_stats")?;
        let mut b = k.builder();
        b.arg(&x_v)
            .arg(&gamma_v)
            .arg(&mut stats)
            .arg(&batch)
            .arg(&channels)
            .arg(&pixels)
            .arg(&self.eps);
        // SAFETY: the arguments match the kernel's signature.
        unsafe { b.launch(cuda::per_channel(p.channels)) }.w()?;
        let relu = i32::from(self.relu);
        let k = Kernel::new(dev, "bn_apply")?;
        let mut b = k.builder();
        b.arg(&x_v)
            .arg(&stats)
            .arg(&beta_v)
            .arg(&mut y)
            .arg(&total)
            .arg(&channels)
            .arg(&pixels)
            .arg(&relu);
        // SAFETY: as above.
        unsafe { b.launch(cuda::elementwise(p.total())) }.w()?;
        let stats = Storage::Cuda(CudaStorage::wrap_cuda_slice(stats, dev.clone()));
        let stats = Tensor::from_storage(stats, 3 * p.channels, BackpropOp::none(), false);
        if self.stats.set(stats).is_err() {
            bail!("cuda batch_norm: one op ran twice");
        }
        Ok((
            CudaStorage::wrap_cuda_slice(y, dev.clone()),
            lx.shape().clone(),
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _gamma: &Tensor,
        _beta: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = if self.relu {
            super::relu::backward_of(res, grad)?
        } else {
            grad.contiguous()?
        };
        let Some(stats) = self.stats.get() else {
            bail!("cuda batch_norm: backward before forward");
        };
        let op = BatchNormGrad {
            planes: self.planes,
            eps: self.eps,
        };
        let all = x.apply_op3_no_bwd(&grad, stats, &op)?;
        super::cpu_batch_norm::split_grads(&all, x, self.planes.channels)
    }
}

/// `(x, dy, stats)` → `dx`, `dγ` and `dβ` in one flat tensor, as the CPU's backward lays
/// them out.
struct BatchNormGrad {
    planes: Planes,
    eps: f32,
}

impl CustomOp3 for BatchNormGrad {
    fn name(&self) -> &'static str {
        "cuda-batch-norm-grad"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cpu_refused(self.name())
    }

    fn cuda_fwd(
        &self,
        x: &CudaStorage,
        lx: &Layout,
        dy: &CudaStorage,
        ldy: &Layout,
        stats: &CudaStorage,
        ls: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dev = x.device();
        let p = self.planes;
        let (x_v, dy_v, stats_v) = (
            cuda::sized_view(x, lx, p.total(), "batch norm input")?,
            cuda::sized_view(dy, ldy, p.total(), "batch norm gradient")?,
            cuda::sized_view(stats, ls, 3 * p.channels, "batch norm statistics")?,
        );
        let (batch, channels, pixels) = p.ints()?;
        let total = p.total() as i64;
        let len = p.total() + 2 * p.channels;
        // SAFETY: bn_grad_sums writes the 2 · channels sums after dx and all of coef,
        // bn_grad_dx all of dx.
        let mut out = unsafe { dev.alloc::<f32>(len)? };
        let mut coef = unsafe { dev.alloc::<f32>(3 * p.channels)? };
        let k = Kernel::new(dev, "bn_grad_sums")?;
        let mut b = k.builder();
        b.arg(&x_v)
            .arg(&dy_v)
            .arg(&stats_v)
            .arg(&mut out)
            .arg(&mut coef)
            .arg(&batch)
            .arg(&channels)
            .arg(&pixels)
            .arg(&self.eps);
        // SAFETY: the arguments match the kernel's signature.
        unsafe { b.launch(cuda::per_channel(p.channels)) }.w()?;
        let k = Kernel::new(dev, "bn_grad_dx")?;
        let mut b = k.builder();
        b.arg(&x_v)
            .arg(&dy_v)
            .arg(&stats_v)
            .arg(&coef)
            .arg(&mut out)
            .arg(&total)
            .arg(&channels)
            .arg(&pixels);
        // SAFETY: as above.
        unsafe { b.launch(cuda::elementwise(p.total())) }.w()?;
        Ok((
            CudaStorage::wrap_cuda_slice(out, dev.clone()),
            Shape::from(len),
        ))
    }
}
