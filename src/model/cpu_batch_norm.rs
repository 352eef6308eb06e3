//! BatchNorm2d's training-mode normalisation on the CPU as one op, forward and backward.
//!
//! candle-nn's `BatchNorm` composes it: a transposed copy of the input, two means, a
//! subtraction, a square, a square root, a division, a product and a sum, each a pass over the
//! map, and as many again (with the sums over broadcast dimensions) in the backward; its output
//! is a transposed view that the next convolution copies once more. Here the forward takes each
//! channel's mean and biased variance (summed in f64) and writes `y = x·a + b` per channel, in
//! the input's layout; the backward sums `dy` and `dy·x̂` per channel and writes
//! `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂))`, with `dγ = Σ dy·x̂` and `dβ = Σ dy`.
//! Channels' sums go to threads, element-wise passes are split by `(batch, channel)` plane.
//!
//! Evaluation normalises with the running statistics, a fixed affine map per channel:
//! [`channel_affine`] applies it in one pass (candle-nn: four broadcast passes).

use std::sync::{Arc, OnceLock};

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, WithDType};
use rayon::prelude::*;

use super::cpu_conv::contiguous;

/// A `(batch, channels, h·w)` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Planes {
    batch: usize,
    channels: usize,
    pixels: usize,
}

impl Planes {
    /// Values per channel.
    fn count(&self) -> usize {
        self.batch * self.pixels
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
}

/// Per channel: the batch mean and the biased variance, as training normalises with them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BatchStats {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
}

fn batch_stats<T: WithDType>(p: &Planes, x: &[T]) -> BatchStats {
    let n = p.count() as f64;
    let (mean, var) = (0..p.channels)
        .into_par_iter()
        .map(|c| {
            let sum: f64 = p.channel(x, c).flatten().map(|v| v.to_f64()).sum();
            let mean = sum / n;
            let sq: f64 = p
                .channel(x, c)
                .flatten()
                .map(|v| (v.to_f64() - mean).powi(2))
                .sum();
            (mean, sq / n)
        })
        .unzip();
    BatchStats { mean, var }
}

/// A map the size of `p` whose planes `f(channel, range, plane)` writes, `range` being the
/// plane's place in the map.
fn per_plane<T: WithDType>(
    p: &Planes,
    f: impl Fn(usize, std::ops::Range<usize>, &mut [T]) + Sync,
) -> Vec<T> {
    let mut out = vec![T::zero(); p.batch * p.channels * p.pixels];
    out.par_chunks_mut(p.pixels)
        .enumerate()
        .for_each(|(k, dst)| f(k % p.channels, k * p.pixels..(k + 1) * p.pixels, dst));
    out
}

/// `y = γ·(x − μ)/σ + β` with σ = √(var + eps).
fn forward<T: WithDType>(
    p: &Planes,
    x: &[T],
    gamma: &[T],
    beta: &[T],
    s: &BatchStats,
    eps: f64,
) -> Vec<T> {
    // y = x·a + b per channel.
    let (a, b): (Vec<T>, Vec<T>) = (0..p.channels)
        .map(|c| {
            let a = gamma[c].to_f64() / (s.var[c] + eps).sqrt();
            (
                T::from_f64(a),
                T::from_f64(beta[c].to_f64() - s.mean[c] * a),
            )
        })
        .unzip();
    per_plane(p, |c, range, y| {
        for (y, &x) in y.iter_mut().zip(&x[range]) {
            *y = x * a[c] + b[c];
        }
    })
}

/// `dx`, then `dγ` and `dβ`, all in one vector.
fn backward<T: WithDType>(
    p: &Planes,
    x: &[T],
    dy: &[T],
    gamma: &[T],
    s: &BatchStats,
    eps: f64,
) -> Vec<T> {
    let n = p.count() as f64;
    let inv_std: Vec<f64> = s.var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    // Σ dy and Σ dy·x̂ per channel.
    let sums: Vec<(f64, f64)> = (0..p.channels)
        .into_par_iter()
        .map(|c| {
            let (mean, istd) = (s.mean[c], inv_std[c]);
            p.channel(x, c)
                .zip(p.channel(dy, c))
                .flat_map(|(x, dy)| x.iter().zip(dy))
                .fold((0.0, 0.0), |(sd, sdx), (x, dy)| {
                    let dy = dy.to_f64();
                    (sd + dy, sdx + dy * (x.to_f64() - mean) * istd)
                })
        })
        .collect();
    // dx = k·dy + m·x + q per channel, from dx = γ/σ · (dy − Σdy/n − x̂ · Σdy·x̂/n).
    let coef: Vec<(T, T, T)> = (0..p.channels)
        .map(|c| {
            let (sum_dy, sum_dyx) = sums[c];
            let k = gamma[c].to_f64() * inv_std[c];
            let m = -k * inv_std[c] * sum_dyx / n;
            let q = k * (inv_std[c] * sum_dyx / n * s.mean[c] - sum_dy / n);
            (T::from_f64(k), T::from_f64(m), T::from_f64(q))
        })
        .collect();
    let mut out = per_plane(p, |c, range, dx| {
        let (k, m, q) = coef[c];
        for ((dx, &x), &dy) in dx.iter_mut().zip(&x[range.clone()]).zip(&dy[range]) {
            *dx = k * dy + m * x + q;
        }
    });
    out.extend(sums.iter().map(|&(_, sdx)| T::from_f64(sdx)));
    out.extend(sums.iter().map(|&(sd, _)| T::from_f64(sd)));
    out
}

/// Normalises `(batch, channels, h, w)` `xs` with its batch statistics and applies `gamma` and
/// `beta` (each `(channels,)`), differentiably in all three; returns the statistics too, for
/// the running estimates. f32 or f64 on the CPU.
pub(crate) fn batch_norm_train(
    xs: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<(Tensor, BatchStats)> {
    let (batch, channels, h, w) = xs.dims4()?;
    let planes = Planes {
        batch,
        channels,
        pixels: h * w,
    };
    let stats = Arc::new(OnceLock::new());
    let op = BatchNormOp {
        planes,
        eps,
        stats: stats.clone(),
    };
    let ys = xs
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    let stats = match stats.get() {
        Some(s) => s.clone(),
        None => bail!("cpu batch_norm: the forward kept no statistics"),
    };
    Ok((ys, stats))
}

/// The forward (backward: [`BatchNormGrad`]); keeps the statistics it normalised with.
struct BatchNormOp {
    planes: Planes,
    eps: f64,
    stats: Arc<OnceLock<BatchStats>>,
}

impl BatchNormOp {
    fn run<T: WithDType>(&self, x: &[T], gamma: &[T], beta: &[T]) -> Vec<T> {
        let s = self.stats.get_or_init(|| batch_stats(&self.planes, x));
        forward(&self.planes, x, gamma, beta, s, self.eps)
    }
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "cpu-batch-norm"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        lx: &Layout,
        g: &CpuStorage,
        lg: &Layout,
        b: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let what = [
            "cpu batch_norm: input",
            "cpu batch_norm: weight",
            "cpu batch_norm: bias",
        ];
        let out = match (x, g, b) {
            (CpuStorage::F32(x), CpuStorage::F32(g), CpuStorage::F32(b)) => {
                CpuStorage::F32(self.run(
                    contiguous(x, lx, what[0])?,
                    contiguous(g, lg, what[1])?,
                    contiguous(b, lb, what[2])?,
                ))
            }
            (CpuStorage::F64(x), CpuStorage::F64(g), CpuStorage::F64(b)) => {
                CpuStorage::F64(self.run(
                    contiguous(x, lx, what[0])?,
                    contiguous(g, lg, what[1])?,
                    contiguous(b, lb, what[2])?,
                ))
            }
            _ => bail!(
                "cpu batch_norm supports f32 and f64, got {:?}, {:?} and {:?}",
                x.dtype(),
                g.dtype(),
                b.dtype()
            ),
        };
        Ok((out, lx.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let Some(stats) = self.stats.get() else {
            bail!("cpu batch_norm: backward before forward");
        };
        let op = BatchNormGrad {
            planes: self.planes,
            eps: self.eps,
            stats: stats.clone(),
        };
        let all = x.apply_op3_no_bwd(&grad.contiguous()?, gamma, &op)?;
        let (n, c) = (x.elem_count(), self.planes.channels);
        let dx = all.narrow(0, 0, n)?.reshape(x.shape())?;
        let dgamma = all.narrow(0, n, c)?;
        let dbeta = all.narrow(0, n + c, c)?;
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

/// `(x, dy, γ)` → `dx`, `dγ` and `dβ` in one flat tensor.
struct BatchNormGrad {
    planes: Planes,
    eps: f64,
    stats: BatchStats,
}

impl CustomOp3 for BatchNormGrad {
    fn name(&self) -> &'static str {
        "cpu-batch-norm-grad"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        lx: &Layout,
        dy: &CpuStorage,
        ldy: &Layout,
        g: &CpuStorage,
        lg: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let what = [
            "cpu batch_norm: input",
            "cpu batch_norm: gradient",
            "cpu batch_norm: weight",
        ];
        let (p, s, eps) = (&self.planes, &self.stats, self.eps);
        let out = match (x, dy, g) {
            (CpuStorage::F32(x), CpuStorage::F32(dy), CpuStorage::F32(g)) => {
                CpuStorage::F32(backward(
                    p,
                    contiguous(x, lx, what[0])?,
                    contiguous(dy, ldy, what[1])?,
                    contiguous(g, lg, what[2])?,
                    s,
                    eps,
                ))
            }
            (CpuStorage::F64(x), CpuStorage::F64(dy), CpuStorage::F64(g)) => {
                CpuStorage::F64(backward(
                    p,
                    contiguous(x, lx, what[0])?,
                    contiguous(dy, ldy, what[1])?,
                    contiguous(g, lg, what[2])?,
                    s,
                    eps,
                ))
            }
            _ => bail!(
                "cpu batch_norm supports f32 and f64, got {:?}, {:?} and {:?}",
                x.dtype(),
                dy.dtype(),
                g.dtype()
            ),
        };
        Ok((out, Shape::from(lx.shape().elem_count() + 2 * p.channels)))
    }
}

/// `y = x·a + b`, `a` and `b` per channel (`(channels,)`), over a `(batch, channels, h, w)` map,
/// differentiable in all three. f32 or f64 on the CPU.
pub(crate) fn channel_affine(xs: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (batch, channels, h, w) = xs.dims4()?;
    let planes = Planes {
        batch,
        channels,
        pixels: h * w,
    };
    xs.contiguous()?
        .apply_op3(&a.contiguous()?, &b.contiguous()?, ChannelAffine(planes))
}

/// The forward of [`channel_affine`]; backward: [`ChannelAffineGrad`].
struct ChannelAffine(Planes);

impl ChannelAffine {
    fn run<T: WithDType>(&self, x: &[T], a: &[T], b: &[T]) -> Vec<T> {
        per_plane(&self.0, |c, range, y| {
            for (y, &x) in y.iter_mut().zip(&x[range]) {
                *y = x * a[c] + b[c];
            }
        })
    }
}

impl CustomOp3 for ChannelAffine {
    fn name(&self) -> &'static str {
        "cpu-channel-affine"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        lx: &Layout,
        a: &CpuStorage,
        la: &Layout,
        b: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let what = [
            "cpu channel affine: input",
            "cpu channel affine: scale",
            "cpu channel affine: shift",
        ];
        let out = match (x, a, b) {
            (CpuStorage::F32(x), CpuStorage::F32(a), CpuStorage::F32(b)) => {
                CpuStorage::F32(self.run(
                    contiguous(x, lx, what[0])?,
                    contiguous(a, la, what[1])?,
                    contiguous(b, lb, what[2])?,
                ))
            }
            (CpuStorage::F64(x), CpuStorage::F64(a), CpuStorage::F64(b)) => {
                CpuStorage::F64(self.run(
                    contiguous(x, lx, what[0])?,
                    contiguous(a, la, what[1])?,
                    contiguous(b, lb, what[2])?,
                ))
            }
            _ => bail!(
                "cpu channel affine supports f32 and f64, got {:?}, {:?} and {:?}",
                x.dtype(),
                a.dtype(),
                b.dtype()
            ),
        };
        Ok((out, lx.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        a: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let all = x.apply_op3_no_bwd(
            &grad.contiguous()?,
            &a.contiguous()?,
            &ChannelAffineGrad(self.0),
        )?;
        let (n, c) = (x.elem_count(), self.0.channels);
        let dx = all.narrow(0, 0, n)?.reshape(x.shape())?;
        Ok((
            Some(dx),
            Some(all.narrow(0, n, c)?),
            Some(all.narrow(0, n + c, c)?),
        ))
    }
}

/// `(x, dy, a)` → `dx = dy·a`, `da = Σ dy·x` and `db = Σ dy` in one flat tensor.
struct ChannelAffineGrad(Planes);

impl ChannelAffineGrad {
    fn run<T: WithDType>(&self, x: &[T], dy: &[T], a: &[T]) -> Vec<T> {
        let p = &self.0;
        let sums: Vec<(f64, f64)> = (0..p.channels)
            .into_par_iter()
            .map(|c| {
                p.channel(x, c)
                    .zip(p.channel(dy, c))
                    .flat_map(|(x, dy)| x.iter().zip(dy))
                    .fold((0.0, 0.0), |(sd, sdx), (x, dy)| {
                        let dy = dy.to_f64();
                        (sd + dy, sdx + dy * x.to_f64())
                    })
            })
            .collect();
        let mut out = per_plane(p, |c, range, dx| {
            for (dx, &dy) in dx.iter_mut().zip(&dy[range]) {
                *dx = dy * a[c];
            }
        });
        out.extend(sums.iter().map(|&(_, sdx)| T::from_f64(sdx)));
        out.extend(sums.iter().map(|&(sd, _)| T::from_f64(sd)));
        out
    }
}

impl CustomOp3 for ChannelAffineGrad {
    fn name(&self) -> &'static str {
        "cpu-channel-affine-grad"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        lx: &Layout,
        dy: &CpuStorage,
        ldy: &Layout,
        a: &CpuStorage,
        la: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let what = [
            "cpu channel affine: input",
            "cpu channel affine: gradient",
            "cpu channel affine: scale",
        ];
        let out = match (x, dy, a) {
            (CpuStorage::F32(x), CpuStorage::F32(dy), CpuStorage::F32(a)) => {
                CpuStorage::F32(self.run(
                    contiguous(x, lx, what[0])?,
                    contiguous(dy, ldy, what[1])?,
                    contiguous(a, la, what[2])?,
                ))
            }
            (CpuStorage::F64(x), CpuStorage::F64(dy), CpuStorage::F64(a)) => {
                CpuStorage::F64(self.run(
                    contiguous(x, lx, what[0])?,
                    contiguous(dy, ldy, what[1])?,
                    contiguous(a, la, what[2])?,
                ))
            }
            _ => bail!(
                "cpu channel affine supports f32 and f64, got {:?}, {:?} and {:?}",
                x.dtype(),
                dy.dtype(),
                a.dtype()
            ),
        };
        Ok((
            out,
            Shape::from(lx.shape().elem_count() + 2 * self.0.channels),
        ))
    }
}
