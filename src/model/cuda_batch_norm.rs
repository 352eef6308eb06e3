//! BatchNorm2d on CUDA as one op each way (f32), the GPU side of [`super::cpu_batch_norm`],
//! with the same arithmetic. In training: per channel the mean and the biased variance (summed
//! in double, two passes), then `y = (x − μ)·a + β` with `a = γ/σ` and the ReLU after it when
//! asked; the backward sums `dy` and `dy·x̂` per channel and writes `dx = k·dy + m·(x − μ) + q`
//! from them. In evaluation: the fixed map `x·a + b` per channel. Kernels: `bn_stats`,
//! `bn_apply`, `bn_grad_sums`, `bn_grad_dx` and `channel_affine` in `src/cuda/kernels.cu`.
//!
//! The statistics stay on the device: the forward hands them back as a tensor
//! `[mean; var; a]`, from which the layer updates its running estimates with tensor ops, and
//! which the backward reads.

use std::sync::{Arc, OnceLock};

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::{CudaSlice, CudaView, PushKernelArg};
use candle_core::cuda_backend::{CudaDevice, WrapErr};
use candle_core::op::BackpropOp;
use candle_core::{
    bail, CpuStorage, CudaStorage, CustomOp3, Layout, Result, Shape, Storage, Tensor,
};

use crate::cuda::{self, Kernel};

/// A `(batch, channels, h, w)` map.
#[derive(Clone, Copy, Debug)]
struct Planes {
    batch: usize,
    channels: usize,
    h: usize,
    w: usize,
}

impl Planes {
    /// The planes of `(batch, channels, h, w)` `xs`, once `per_channel` (the per-channel
    /// arguments, by name) each hold one value per channel.
    fn of(xs: &Tensor, per_channel: [(&str, &Tensor); 2]) -> Result<Planes> {
        let (batch, channels, h, w) = super::cpu_batch_norm::dims_per_channel(xs, per_channel)?;
        Ok(Planes {
            batch,
            channels,
            h,
            w,
        })
    }

    fn pixels(&self) -> usize {
        self.h * self.w
    }

    fn total(&self) -> usize {
        self.batch * self.channels * self.pixels()
    }

    fn shape(&self) -> Shape {
        Shape::from((self.batch, self.channels, self.h, self.w))
    }

    /// `(batch, channels, pixels)` as the kernels' ints; the kernels index the map in 32
    /// bits, so it must hold under 2^31 elements.
    fn ints(&self) -> Result<(i32, i32, i32)> {
        cuda::int(self.total(), "batch norm elements")?;
        Ok((
            cuda::int(self.batch, "batch")?,
            cuda::int(self.channels, "channels")?,
            cuda::int(self.pixels(), "pixels")?,
        ))
    }
}

/// An op on three f32 CUDA tensors; [`Op3`] makes it a candle op (refused on the CPU).
trait Kernel3: Send + Sync {
    /// The op's name for candle and errors.
    const NAME: &'static str;
    /// Each argument's name and element count, checked before [`Kernel3::run`].
    fn arguments(&self) -> [(&'static str, usize); 3];
    fn run(
        &self,
        dev: &CudaDevice,
        args: [CudaView<'_, f32>; 3],
    ) -> Result<(CudaSlice<f32>, Shape)>;
    /// The three arguments' gradients, as candle's `CustomOp3::bwd`; none by default (the
    /// backward ops themselves are not differentiated).
    fn backward(
        &self,
        _args: [&Tensor; 3],
        _res: &Tensor,
        _grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        bail!("{}: no second-order gradients", Self::NAME)
    }
}

struct Op3<K>(K);

impl<K: Kernel3> CustomOp3 for Op3<K> {
    fn name(&self) -> &'static str {
        K::NAME
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
        bail!("{} runs on CUDA only", K::NAME)
    }

    fn cuda_fwd(
        &self,
        a: &CudaStorage,
        la: &Layout,
        b: &CudaStorage,
        lb: &Layout,
        c: &CudaStorage,
        lc: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let [(na, a_len), (nb, b_len), (nc, c_len)] = self.0.arguments();
        let what = |arg: &str| format!("{}: {arg}", K::NAME);
        let args = [
            cuda::sized_view(a, la, a_len, &what(na))?,
            cuda::sized_view(b, lb, b_len, &what(nb))?,
            cuda::sized_view(c, lc, c_len, &what(nc))?,
        ];
        let dev = a.device();
        let (out, shape) = self.0.run(dev, args)?;
        Ok((CudaStorage::wrap_cuda_slice(out, dev.clone()), shape))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        self.0.backward([a, b, c], res, grad)
    }
}

/// The gradient that reaches the op's own output: `grad` through the fused ReLU (zero where
/// the output `res` is not positive) when there is one.
fn through_relu(relu: bool, res: &Tensor, grad: &Tensor) -> Result<Tensor> {
    if relu {
        super::relu::backward_of(res, grad)
    } else {
        grad.contiguous()
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
    let planes = Planes::of(xs, [("weight", gamma), ("bias", beta)])?;
    let stats = Arc::new(OnceLock::new());
    let op = BatchNormOp {
        planes,
        eps: eps as f32,
        relu,
        stats: stats.clone(),
    };
    let ys = xs
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, Op3(op))?;
    match stats.get() {
        Some(s) => Ok((ys, s.clone())),
        None => bail!("cuda batch_norm: the forward kept no statistics"),
    }
}

/// The forward in training (backward: [`BatchNormGrad`]); keeps the statistics it normalised
/// with.
struct BatchNormOp {
    planes: Planes,
    eps: f32,
    relu: bool,
    stats: Arc<OnceLock<Tensor>>,
}

impl Kernel3 for BatchNormOp {
    const NAME: &'static str = "cuda-batch-norm";

    fn arguments(&self) -> [(&'static str, usize); 3] {
        let (n, c) = (self.planes.total(), self.planes.channels);
        [("input", n), ("weight", c), ("bias", c)]
    }

    fn run(
        &self,
        dev: &CudaDevice,
        [x, gamma, beta]: [CudaView<'_, f32>; 3],
    ) -> Result<(CudaSlice<f32>, Shape)> {
        let p = self.planes;
        let (batch, channels, pixels) = p.ints()?;
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
            .arg(&self.eps);
        // SAFETY: the arguments match the kernel's signature.
        unsafe { b.launch(cuda::per_channel(p.channels)) }.w()?;
        let (total, relu) = (p.total() as i64, i32::from(self.relu));
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
        if self.stats.set(stats).is_err() {
            bail!("cuda batch_norm: one op ran twice");
        }
        Ok((y, p.shape()))
    }

    fn backward(
        &self,
        [x, _, _]: [&Tensor; 3],
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = through_relu(self.relu, res, grad)?;
        let Some(stats) = self.stats.get() else {
            bail!("cuda batch_norm: backward before forward");
        };
        let op = Op3(BatchNormGrad {
            planes: self.planes,
            eps: self.eps,
        });
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

impl Kernel3 for BatchNormGrad {
    const NAME: &'static str = "cuda-batch-norm-grad";

    fn arguments(&self) -> [(&'static str, usize); 3] {
        let (n, c) = (self.planes.total(), self.planes.channels);
        [("input", n), ("gradient", n), ("statistics", 3 * c)]
    }

    fn run(
        &self,
        dev: &CudaDevice,
        [x, dy, stats]: [CudaView<'_, f32>; 3],
    ) -> Result<(CudaSlice<f32>, Shape)> {
        let p = self.planes;
        let (batch, channels, pixels) = p.ints()?;
        let total = p.total() as i64;
        let len = p.total() + 2 * p.channels;
        // SAFETY: bn_grad_sums writes the 2 · channels sums after dx and all of coef,
        // bn_grad_dx all of dx.
        let mut out = unsafe { dev.alloc::<f32>(len)? };
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
            .arg(&self.eps);
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
        Ok((out, Shape::from(len)))
    }
}

/// `y = x·a + b` per channel over `(batch, channels, h, w)` `xs`, then a ReLU when `relu`:
/// evaluation's batch norm, as [`super::cpu_batch_norm::channel_affine`], in one pass. Its
/// backward (which evaluation seldom needs) is tensor ops.
pub(crate) fn channel_affine(xs: &Tensor, a: &Tensor, b: &Tensor, relu: bool) -> Result<Tensor> {
    let planes = Planes::of(xs, [("scale", a), ("shift", b)])?;
    xs.contiguous()?.apply_op3(
        &a.contiguous()?,
        &b.contiguous()?,
        Op3(ChannelAffine { planes, relu }),
    )
}

struct ChannelAffine {
    planes: Planes,
    relu: bool,
}

impl Kernel3 for ChannelAffine {
    const NAME: &'static str = "cuda-channel-affine";

    fn arguments(&self) -> [(&'static str, usize); 3] {
        let (n, c) = (self.planes.total(), self.planes.channels);
        [("input", n), ("scale", c), ("shift", c)]
    }

    fn run(
        &self,
        dev: &CudaDevice,
        [x, a, b]: [CudaView<'_, f32>; 3],
    ) -> Result<(CudaSlice<f32>, Shape)> {
        let p = self.planes;
        let (_, channels, pixels) = p.ints()?;
        let (total, relu) = (p.total() as i64, i32::from(self.relu));
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
        Ok((y, p.shape()))
    }

    fn backward(
        &self,
        [x, a, _]: [&Tensor; 3],
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = through_relu(self.relu, res, grad)?;
        let per_channel = |t: &Tensor| t.sum_keepdim((0, 2, 3))?.flatten_all();
        let dx = dy.broadcast_mul(&a.detach().reshape((1, (), 1, 1))?)?;
        let da = per_channel(&(&dy * x.detach())?)?;
        Ok((Some(dx), Some(da), Some(per_channel(&dy)?)))
    }
}
