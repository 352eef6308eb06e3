//! BatchNorm2d on the CPU as one op each way.
//!
//! candle-nn's `BatchNorm` composes training-mode normalisation: a transposed copy of the
//! input, two means, a subtraction, a square, a square root, a division, a product and a sum,
//! each a pass over the map, and as many again (with the sums over broadcast dimensions) in the
//! backward; its output is a transposed view that the next convolution copies once more. Here
//! the forward takes each channel's mean and biased variance (summed in 16 lanes per plane,
//! the planes in f64) and writes
//! `y = (x − μ)·a + β` with `a = γ/σ`, in the input's layout; the backward sums `dy` and `dy·x̂`
//! per channel and writes `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂))`, with `dγ = Σ dy·x̂`
//! and `dβ = Σ dy`. Channels' sums go to threads, element-wise passes are split by
//! `(batch, channel)` plane.
//!
//! Evaluation normalises with the running statistics, a fixed affine map per channel:
//! [`channel_affine`] applies it in one pass (candle-nn: four broadcast passes).
//!
//! Both can apply the ReLU that follows most batch norms in the same pass; their backward then
//! masks the gradient first (a pass of its own), which saves the ReLU's forward pass and
//! buffer and candle's accumulation of the ReLU input's gradient.
//!
//! The same ops run on CUDA (f32, the `cuda` feature) with the same arithmetic through
//! [`super::cuda_batch_norm`]'s kernels; there the statistics stay on the device.

use std::sync::{Arc, OnceLock};

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, WithDType};
use rayon::prelude::*;

use super::cpu_conv::contiguous;

/// A `(batch, channels, h·w)` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Planes {
    pub batch: usize,
    pub channels: usize,
    pub pixels: usize,
}

/// What an op's argument holds: a whole map, or one value per channel.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "cuda"), allow(dead_code))] // the CUDA ops check their buffers
enum Arg {
    Map,
    Channel,
}

impl Planes {
    /// The planes of `(batch, channels, h, w)` `xs`, once `per_channel` (the per-channel
    /// arguments, by name) each hold one value per channel.
    fn of(xs: &Tensor, per_channel: [(&str, &Tensor); 2]) -> Result<Planes> {
        let (batch, channels, h, w) = xs.dims4()?;
        for (name, t) in per_channel {
            if t.dims() != [channels] {
                bail!(
                    "batch norm: {name} has shape {:?}, the input {:?} has {channels} channels",
                    t.dims(),
                    xs.dims()
                );
            }
        }
        Ok(Planes {
            batch,
            channels,
            pixels: h * w,
        })
    }

    /// Values per channel.
    pub fn count(&self) -> usize {
        self.batch * self.pixels
    }

    /// Values in the map.
    pub fn total(&self) -> usize {
        self.count() * self.channels
    }

    /// The elements an argument of this kind holds.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))] // the CUDA ops check their buffers
    fn len(&self, arg: Arg) -> usize {
        match arg {
            Arg::Map => self.total(),
            Arg::Channel => self.channels,
        }
    }

    /// Channel `c`'s planes of `data`, one per image.
    fn channel<'a, T>(
        &self,
        data: &'a [T],
        c: usize,
    ) -> impl Iterator<Item = &'a [T]> + use<'a, T> {
        let p = *self;
        (0..p.batch).map(move |b| {
            let start = (b * p.channels + c) * p.pixels;
            &data[start..start + p.pixels]
        })
    }

    /// Per channel, in parallel: `(Σ dy, Σ dy·(x − shift)·scale)` over the channel's values,
    /// `(shift, scale)` being `line(channel)`.
    fn grad_sums<T: WithDType>(
        &self,
        x: &[T],
        dy: &[T],
        line: impl Fn(usize) -> (T, T) + Sync,
    ) -> Vec<(f64, f64)> {
        (0..self.channels)
            .into_par_iter()
            .map(|c| {
                let (shift, scale) = line(c);
                self.channel(x, c).zip(self.channel(dy, c)).fold(
                    (0.0, 0.0),
                    |(sd, sdx), (x, dy)| {
                        (
                            sd + lane_sum(dy, dy, |d, _| d),
                            sdx + lane_sum(x, dy, |x, d| d * (x - shift) * scale),
                        )
                    },
                )
            })
            .collect()
    }

    /// A map the size of this one whose planes `f(channel, range, plane)` writes, `range` being
    /// the plane's place in the map.
    fn map<T: WithDType>(
        &self,
        f: impl Fn(usize, std::ops::Range<usize>, &mut [T]) + Sync,
    ) -> Vec<T> {
        let mut out = vec![T::zero(); self.total()];
        out.par_chunks_mut(self.pixels.max(1))
            .enumerate()
            .for_each(|(k, dst)| {
                f(
                    k % self.channels,
                    k * self.pixels..(k + 1) * self.pixels,
                    dst,
                )
            });
        out
    }

    /// `dx`, then the two per-channel gradients `(Σ dy·f, Σ dy)` from `sums`, as one vector.
    fn with_sums<T: WithDType>(mut dx: Vec<T>, sums: &[(f64, f64)]) -> Vec<T> {
        dx.extend(sums.iter().map(|&(_, sdx)| T::from_f64(sdx)));
        dx.extend(sums.iter().map(|&(sd, _)| T::from_f64(sd)));
        dx
    }
}

/// The three gradients of an op on `(x, per-channel, per-channel)` from the flat tensor
/// [`Planes::with_sums`] (or the CUDA backward) makes.
fn split_grads(
    all: &Tensor,
    x: &Tensor,
    channels: usize,
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let n = x.elem_count();
    Ok((
        Some(all.narrow(0, 0, n)?.reshape(x.shape())?),
        Some(all.narrow(0, n, channels)?),
        Some(all.narrow(0, n + channels, channels)?),
    ))
}

/// A kernel on three slices of one float type (and, with the `cuda` feature, on three f32
/// CUDA buffers), and what candle needs to run it as an op ([`Op3`]).
trait Kernel3: Send + Sync {
    /// The op's name for candle.
    const OP: &'static str;
    /// The op, then its three arguments, for errors.
    const NAMES: [&'static str; 4];
    /// What each argument holds, checked before `Kernel3::run_cuda`.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    const ARGS: [Arg; 3];
    /// The map the op works on.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    fn planes(&self) -> Planes;
    fn run<T: WithDType>(&self, a: &[T], b: &[T], c: &[T]) -> Result<Vec<T>>;
    /// The same on CUDA; none by default.
    #[cfg(feature = "cuda")]
    fn run_cuda(
        &self,
        _dev: &candle_core::CudaDevice,
        _args: [super::cuda_batch_norm::View<'_>; 3],
    ) -> Result<super::cuda_batch_norm::Buffer> {
        bail!("{} has no CUDA kernel", Self::OP)
    }
    /// The output's shape, from the first argument's layout.
    fn out_shape(&self, a: &Layout) -> Shape;
    /// The three arguments' gradients, as candle's `CustomOp3::bwd`; none by default (the
    /// backward kernels themselves are not differentiated).
    fn backward(
        &self,
        _args: [&Tensor; 3],
        _res: &Tensor,
        _grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        bail!("{}: no second-order gradients", Self::OP)
    }
}

/// A [`Kernel3`] as a candle op.
struct Op3<K>(K);

impl<K: Kernel3> CustomOp3 for Op3<K> {
    fn name(&self) -> &'static str {
        K::OP
    }

    fn cpu_fwd(
        &self,
        a: &CpuStorage,
        la: &Layout,
        b: &CpuStorage,
        lb: &Layout,
        c: &CpuStorage,
        lc: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        Ok((
            run3(&self.0, (a, la), (b, lb), (c, lc))?,
            self.0.out_shape(la),
        ))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        a: &candle_core::CudaStorage,
        la: &Layout,
        b: &candle_core::CudaStorage,
        lb: &Layout,
        c: &candle_core::CudaStorage,
        lc: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let [op, na, nb, nc] = K::NAMES;
        let planes = self.0.planes();
        let [ka, kb, kc] = K::ARGS.map(|arg| planes.len(arg));
        let views = [
            crate::cuda::sized_view(a, la, ka, &format!("{op}: {na}"))?,
            crate::cuda::sized_view(b, lb, kb, &format!("{op}: {nb}"))?,
            crate::cuda::sized_view(c, lc, kc, &format!("{op}: {nc}"))?,
        ];
        let dev = a.device();
        let out = self.0.run_cuda(dev, views)?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(out, dev.clone()),
            self.0.out_shape(la),
        ))
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

/// `k` on three contiguous f32 or three contiguous f64 storages.
fn run3<K: Kernel3>(
    k: &K,
    (a, la): (&CpuStorage, &Layout),
    (b, lb): (&CpuStorage, &Layout),
    (c, lc): (&CpuStorage, &Layout),
) -> Result<CpuStorage> {
    let [op, na, nb, nc] = K::NAMES;
    let what = |arg: &str| format!("{op}: {arg}");
    Ok(match (a, b, c) {
        (CpuStorage::F32(a), CpuStorage::F32(b), CpuStorage::F32(c)) => CpuStorage::F32(k.run(
            contiguous(a, la, &what(na))?,
            contiguous(b, lb, &what(nb))?,
            contiguous(c, lc, &what(nc))?,
        )?),
        (CpuStorage::F64(a), CpuStorage::F64(b), CpuStorage::F64(c)) => CpuStorage::F64(k.run(
            contiguous(a, la, &what(na))?,
            contiguous(b, lb, &what(nb))?,
            contiguous(c, lc, &what(nc))?,
        )?),
        _ => bail!(
            "{op} supports f32 and f64, got {:?}, {:?} and {:?}",
            a.dtype(),
            b.dtype(),
            c.dtype()
        ),
    })
}

/// `max(y, 0)` in place (NaN stays NaN), as [`super::relu::relu`].
fn relu_in_place<T: WithDType>(y: &mut [T]) {
    for v in y.iter_mut().filter(|v| **v < T::zero()) {
        *v = T::zero();
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

/// Per channel: the batch mean and the biased variance, as training normalises with them.
#[derive(Clone, Debug)]
pub(crate) enum BatchStats {
    /// Summed on the CPU, in f64.
    Host { mean: Vec<f64>, var: Vec<f64> },
    /// `[mean; biased var; γ/σ]` (f32, `3 · channels`) on the CUDA device that computed them.
    #[cfg(feature = "cuda")]
    Device(Tensor),
}

impl BatchStats {
    /// The mean and the biased variance as tensors on `dev`, for the running estimates.
    pub(crate) fn mean_var(&self, dev: &candle_core::Device) -> Result<(Tensor, Tensor)> {
        match self {
            BatchStats::Host { mean, var } => Ok((
                Tensor::new(mean.as_slice(), dev)?,
                Tensor::new(var.as_slice(), dev)?,
            )),
            #[cfg(feature = "cuda")]
            BatchStats::Device(stats) => {
                let c = stats.dim(0)? / 3;
                Ok((stats.narrow(0, 0, c)?, stats.narrow(0, c, c)?))
            }
        }
    }

    /// The CPU's statistics (the CPU kernels run on them); `op` names the op in the error.
    #[cfg_attr(not(feature = "cuda"), allow(unused_variables))]
    fn host(&self, op: &str) -> Result<(&[f64], &[f64])> {
        match self {
            BatchStats::Host { mean, var } => Ok((mean, var)),
            #[cfg(feature = "cuda")]
            BatchStats::Device(_) => bail!("{op}: statistics on a GPU for a CPU kernel"),
        }
    }
}

/// Per channel, the mean and the biased variance of `x`.
fn batch_stats<T: WithDType>(p: &Planes, x: &[T]) -> (Vec<f64>, Vec<f64>) {
    let n = p.count() as f64;
    let (mean, var) = (0..p.channels)
        .into_par_iter()
        .map(|c| {
            let sum: f64 = p.channel(x, c).map(|x| lane_sum(x, x, |v, _| v)).sum();
            let mean = sum / n;
            let m = T::from_f64(mean);
            let sq: f64 = p
                .channel(x, c)
                .map(|x| lane_sum(x, x, |v, _| (v - m) * (v - m)))
                .sum();
            (mean, sq / n)
        })
        .unzip();
    (mean, var)
}

/// `Σ f(a[i], b[i])` over two slices of one length: in `LANES` accumulators of `T`, which
/// the compiler makes vector adds (a plain running sum is one add at a time), then in f64.
fn lane_sum<T: WithDType>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> f64 {
    const LANES: usize = 16;
    let mut acc = [T::zero(); LANES];
    let (a_tail, b_tail) = (
        a.chunks_exact(LANES).remainder(),
        b.chunks_exact(LANES).remainder(),
    );
    for (a, b) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] += f(a[i], b[i]);
        }
    }
    let tail: f64 = a_tail
        .iter()
        .zip(b_tail)
        .map(|(&a, &b)| f(a, b).to_f64())
        .sum();
    acc.iter().map(|v| v.to_f64()).sum::<f64>() + tail
}

/// Normalises `(batch, channels, h, w)` `xs` with its batch statistics and applies `gamma` and
/// `beta` (each `(channels,)`), then a ReLU when `relu`, differentiably in all three; returns
/// the statistics too, for the running estimates. f32 or f64 on the CPU, f32 on CUDA.
pub(crate) fn batch_norm_train(
    xs: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<(Tensor, BatchStats)> {
    let planes = Planes::of(xs, [("weight", gamma), ("bias", beta)])?;
    let stats = Arc::new(OnceLock::new());
    let op = BatchNormOp {
        planes,
        eps,
        relu,
        stats: stats.clone(),
    };
    let ys = xs
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, Op3(op))?;
    let stats = match stats.get() {
        Some(s) => s.clone(),
        None => bail!("batch_norm: the forward kept no statistics"),
    };
    Ok((ys, stats))
}

/// The forward (backward: [`BatchNormGrad`]); keeps the statistics it normalised with.
struct BatchNormOp {
    planes: Planes,
    eps: f64,
    /// A ReLU follows, in the same pass (and its gradient mask first in the backward).
    relu: bool,
    stats: Arc<OnceLock<BatchStats>>,
}

impl BatchNormOp {
    /// Keeps the statistics the forward normalised with (once: an op runs once).
    fn keep(&self, stats: BatchStats) -> Result<()> {
        if self.stats.set(stats).is_err() {
            bail!("batch_norm: one op ran twice");
        }
        Ok(())
    }
}

impl Kernel3 for BatchNormOp {
    const OP: &'static str = "batch-norm";
    const NAMES: [&'static str; 4] = ["batch_norm", "input", "weight", "bias"];
    const ARGS: [Arg; 3] = [Arg::Map, Arg::Channel, Arg::Channel];

    fn planes(&self) -> Planes {
        self.planes
    }

    fn out_shape(&self, x: &Layout) -> Shape {
        x.shape().clone()
    }

    fn backward(
        &self,
        [x, gamma, _]: [&Tensor; 3],
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = through_relu(self.relu, res, grad)?;
        let Some(stats) = self.stats.get() else {
            bail!("batch_norm: backward before forward");
        };
        let op = Op3(BatchNormGrad {
            planes: self.planes,
            eps: self.eps,
            stats: stats.clone(),
        });
        let all = x.apply_op3_no_bwd(&grad, gamma, &op)?;
        split_grads(&all, x, self.planes.channels)
    }

    /// `y = (x − μ)·a + β` per channel, `a = γ/σ`: exact where `x == μ`.
    fn run<T: WithDType>(&self, x: &[T], gamma: &[T], beta: &[T]) -> Result<Vec<T>> {
        let (mean, var) = batch_stats(&self.planes, x);
        let coef: Vec<(T, T)> = (0..self.planes.channels)
            .map(|c| {
                let a = gamma[c].to_f64() / (var[c] + self.eps).sqrt();
                (T::from_f64(mean[c]), T::from_f64(a))
            })
            .collect();
        self.keep(BatchStats::Host { mean, var })?;
        Ok(self.planes.map(|c, range, y| {
            let (mean, a) = coef[c];
            for (y, &x) in y.iter_mut().zip(&x[range]) {
                *y = (x - mean) * a + beta[c];
            }
            if self.relu {
                relu_in_place(y);
            }
        }))
    }

    #[cfg(feature = "cuda")]
    fn run_cuda(
        &self,
        dev: &candle_core::CudaDevice,
        [x, gamma, beta]: [super::cuda_batch_norm::View<'_>; 3],
    ) -> Result<super::cuda_batch_norm::Buffer> {
        let (y, stats) = super::cuda_batch_norm::forward(
            dev,
            &self.planes,
            self.eps,
            self.relu,
            [x, gamma, beta],
        )?;
        self.keep(BatchStats::Device(stats))?;
        Ok(y)
    }
}

/// `(x, dy, γ)` → `dx`, `dγ` and `dβ` in one flat tensor.
struct BatchNormGrad {
    planes: Planes,
    eps: f64,
    stats: BatchStats,
}

impl Kernel3 for BatchNormGrad {
    const OP: &'static str = "batch-norm-grad";
    const NAMES: [&'static str; 4] = ["batch_norm", "input", "gradient", "weight"];
    const ARGS: [Arg; 3] = [Arg::Map, Arg::Map, Arg::Channel];

    fn planes(&self) -> Planes {
        self.planes
    }

    fn out_shape(&self, x: &Layout) -> Shape {
        Shape::from(x.shape().elem_count() + 2 * self.planes.channels)
    }

    fn run<T: WithDType>(&self, x: &[T], dy: &[T], gamma: &[T]) -> Result<Vec<T>> {
        let p = &self.planes;
        let (mean, var) = self.stats.host(Self::OP)?;
        let n = p.count() as f64;
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect();
        // Σ dy and Σ dy·x̂ per channel.
        let sums = p.grad_sums(x, dy, |c| (T::from_f64(mean[c]), T::from_f64(inv_std[c])));
        // dx = k·dy + m·(x − μ) + q, from γ/σ · (dy − Σdy/n − x̂ · Σdy·x̂/n).
        let coef: Vec<[T; 4]> = (0..p.channels)
            .map(|c| {
                let (sum_dy, sum_dyx) = sums[c];
                let k = gamma[c].to_f64() * inv_std[c];
                let m = -k * inv_std[c] * sum_dyx / n;
                let q = -k * sum_dy / n;
                [k, m, q, mean[c]].map(T::from_f64)
            })
            .collect();
        let dx = p.map(|c, range, dx| {
            let [k, m, q, mean] = coef[c];
            for ((dx, &x), &dy) in dx.iter_mut().zip(&x[range.clone()]).zip(&dy[range]) {
                *dx = k * dy + m * (x - mean) + q;
            }
        });
        Ok(Planes::with_sums(dx, &sums))
    }

    /// γ is in the statistics there (`γ/σ`).
    #[cfg(feature = "cuda")]
    fn run_cuda(
        &self,
        dev: &candle_core::CudaDevice,
        [x, dy, _]: [super::cuda_batch_norm::View<'_>; 3],
    ) -> Result<super::cuda_batch_norm::Buffer> {
        let BatchStats::Device(stats) = &self.stats else {
            bail!("{}: statistics on the CPU for a CUDA kernel", Self::OP);
        };
        super::cuda_batch_norm::backward(dev, &self.planes, self.eps, [x, dy], stats)
    }
}

/// `y = x·a + b`, `a` and `b` per channel (`(channels,)`), over a `(batch, channels, h, w)` map,
/// differentiable in all three. f32 or f64 on the CPU, f32 on CUDA.
pub(crate) fn channel_affine(xs: &Tensor, a: &Tensor, b: &Tensor, relu: bool) -> Result<Tensor> {
    let planes = Planes::of(xs, [("scale", a), ("shift", b)])?;
    xs.contiguous()?.apply_op3(
        &a.contiguous()?,
        &b.contiguous()?,
        Op3(ChannelAffine(planes, relu)),
    )
}

/// The forward of [`channel_affine`], with a ReLU after it when `.1`; backward:
/// [`ChannelAffineGrad`].
struct ChannelAffine(Planes, bool);

impl Kernel3 for ChannelAffine {
    const OP: &'static str = "channel-affine";
    const NAMES: [&'static str; 4] = ["channel affine", "input", "scale", "shift"];
    const ARGS: [Arg; 3] = [Arg::Map, Arg::Channel, Arg::Channel];

    fn planes(&self) -> Planes {
        self.0
    }

    fn out_shape(&self, x: &Layout) -> Shape {
        x.shape().clone()
    }

    fn backward(
        &self,
        [x, a, _]: [&Tensor; 3],
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = through_relu(self.1, res, grad)?;
        if !x.device().is_cpu() {
            // No kernel of its own there (evaluation seldom needs a backward): tensor ops.
            let per_channel = |t: &Tensor| t.sum_keepdim((0, 2, 3))?.flatten_all();
            let dx = grad.broadcast_mul(&a.detach().reshape((1, (), 1, 1))?)?;
            let da = per_channel(&(&grad * x.detach())?)?;
            return Ok((Some(dx), Some(da), Some(per_channel(&grad)?)));
        }
        let all = x.apply_op3_no_bwd(&grad, a, &Op3(ChannelAffineGrad(self.0)))?;
        split_grads(&all, x, self.0.channels)
    }

    fn run<T: WithDType>(&self, x: &[T], a: &[T], b: &[T]) -> Result<Vec<T>> {
        Ok(self.0.map(|c, range, y| {
            for (y, &x) in y.iter_mut().zip(&x[range]) {
                *y = x * a[c] + b[c];
            }
            if self.1 {
                relu_in_place(y);
            }
        }))
    }

    #[cfg(feature = "cuda")]
    fn run_cuda(
        &self,
        dev: &candle_core::CudaDevice,
        args: [super::cuda_batch_norm::View<'_>; 3],
    ) -> Result<super::cuda_batch_norm::Buffer> {
        super::cuda_batch_norm::channel_affine(dev, &self.0, self.1, args)
    }
}

/// `(x, dy, a)` → `dx = dy·a`, `da = Σ dy·x` and `db = Σ dy` in one flat tensor.
struct ChannelAffineGrad(Planes);

impl Kernel3 for ChannelAffineGrad {
    const OP: &'static str = "channel-affine-grad";
    const NAMES: [&'static str; 4] = ["channel affine", "input", "gradient", "scale"];
    const ARGS: [Arg; 3] = [Arg::Map, Arg::Map, Arg::Channel];

    fn planes(&self) -> Planes {
        self.0
    }

    fn out_shape(&self, x: &Layout) -> Shape {
        Shape::from(x.shape().elem_count() + 2 * self.0.channels)
    }

    fn run<T: WithDType>(&self, x: &[T], dy: &[T], a: &[T]) -> Result<Vec<T>> {
        let sums = self.0.grad_sums(x, dy, |_| (T::zero(), T::one()));
        let dx = self.0.map(|c, range, dx| {
            for (dx, &dy) in dx.iter_mut().zip(&dy[range]) {
                *dx = dy * a[c];
            }
        });
        Ok(Planes::with_sums(dx, &sums))
    }
}
