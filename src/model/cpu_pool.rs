//! Max pooling on the CPU as one op, forward and backward.
//!
//! [`super::pool::max_pool2d`] builds its gradient out of tensor ops (padding by `cat`, a
//! strided view per window offset by `index_select`, a `where_cond` chain), which runs on any
//! device but on the CPU costs a dozen passes over the map each way, and single-threaded
//! `index_add`s in the backward. Here the forward takes each window's maximum in one pass and
//! the backward finds the same element again and adds the window's gradient to it, one
//! `(batch, channel)` plane per task. The winner is the first maximum in row-major order within
//! the window, the tie rule of the composed op (and of torch's CPU kernel); padding is never a
//! winner, as the caller ensures every window holds a real element. On CUDA (f32, the `cuda`
//! feature) the same two ops run as the kernels `max_pool_fwd` and `max_pool_bwd`; the backward
//! there gathers instead of scattering: each input element adds the gradients of the windows
//! it wins, in the same order.

use candle_core::{
    backend::BackendStorage, bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor,
    WithDType,
};
use rayon::prelude::*;

use super::cpu_conv::{contiguous, window_positions};

/// A square window sliding over `(batch, channels, h, w)` with implicit -inf padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolGeometry {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl PoolGeometry {
    pub fn out_h(&self) -> usize {
        window_positions(self.h, self.kernel, self.stride, self.padding)
    }

    pub fn out_w(&self) -> usize {
        window_positions(self.w, self.kernel, self.stride, self.padding)
    }

    /// Elements of the input map.
    #[cfg(feature = "cuda")]
    fn input_len(&self) -> usize {
        self.batch * self.channels * self.h * self.w
    }

    /// The CUDA kernels' sizes: batch, channels, h, w, kernel, stride, padding, out_h, out_w.
    #[cfg(feature = "cuda")]
    fn sizes(&self) -> Result<[i32; 9]> {
        let [k, stride, pad] = [self.kernel, self.stride, self.padding];
        let (h, w, oh, ow) = (self.h, self.w, self.out_h(), self.out_w());
        let sizes = [self.batch, self.channels, h, w, k, stride, pad, oh, ow];
        crate::cuda::ints(sizes, "max_pool2d size")
    }

    /// The rows (or columns) of the input window `o` covers: `[start, end)` clipped to the map.
    fn span(&self, o: usize, size: usize) -> (usize, usize) {
        let first = (o * self.stride) as isize - self.padding as isize;
        let start = first.max(0) as usize;
        let end = ((first + self.kernel as isize) as usize).min(size);
        // pool::max_pool2d's checks (padding at most half the kernel, the padded map at least
        // the kernel) leave a real element in every window.
        debug_assert!(start < end, "empty window {o} of {self:?}");
        (start, end)
    }

    /// The index in `plane` of the first maximum of output element `(oy, ox)`'s window; of its
    /// first NaN where it holds one, as torch's kernel takes a NaN for the maximum (a diverging
    /// run shows NaN at once rather than pooled away).
    fn winner<T: WithDType>(&self, plane: &[T], oy: usize, ox: usize) -> usize {
        #[allow(clippy::eq_op)] // x != x holds for NaN alone
        let nan = |v: T| v != v;
        let (y0, y1) = self.span(oy, self.h);
        let (x0, x1) = self.span(ox, self.w);
        let mut best = y0 * self.w + x0;
        for y in y0..y1 {
            for x in x0..x1 {
                let i = y * self.w + x;
                if plane[i] > plane[best] || (nan(plane[i]) && !nan(plane[best])) {
                    best = i;
                }
            }
        }
        best
    }
}

/// The pooled map of `x`.
pub(crate) fn forward<T: WithDType>(g: &PoolGeometry, x: &[T]) -> Vec<T> {
    let (ho, wo) = (g.out_h(), g.out_w());
    let mut y = vec![T::zero(); g.batch * g.channels * ho * wo];
    y.par_chunks_mut(ho * wo)
        .zip(x.par_chunks(g.h * g.w))
        .for_each(|(out, plane)| {
            for oy in 0..ho {
                for ox in 0..wo {
                    out[oy * wo + ox] = plane[g.winner(plane, oy, ox)];
                }
            }
        });
    y
}

/// The gradient with respect to `x` of the pooled map whose gradient is `dy`.
pub(crate) fn backward<T: WithDType>(g: &PoolGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    let (ho, wo) = (g.out_h(), g.out_w());
    let mut dx = vec![T::zero(); x.len()];
    dx.par_chunks_mut(g.h * g.w)
        .zip(x.par_chunks(g.h * g.w))
        .zip(dy.par_chunks(ho * wo))
        .for_each(|((grad, plane), up)| {
            for oy in 0..ho {
                for ox in 0..wo {
                    let i = g.winner(plane, oy, ox);
                    grad[i] += up[oy * wo + ox];
                }
            }
        });
    dx
}

/// Max pooling of a contiguous f32 or f64 CPU tensor, differentiable.
pub(crate) fn max_pool2d(xs: &Tensor, g: PoolGeometry) -> Result<Tensor> {
    xs.contiguous()?.apply_op1(MaxPool(g))
}

/// The forward op; its backward is [`MaxPoolGrad`].
struct MaxPool(PoolGeometry);

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "cpu-max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = &self.0;
        let out = match s {
            CpuStorage::F32(x) => {
                CpuStorage::F32(forward(g, contiguous(x, l, "cpu max_pool2d: input")?))
            }
            CpuStorage::F64(x) => {
                CpuStorage::F64(forward(g, contiguous(x, l, "cpu max_pool2d: input")?))
            }
            _ => bail!("cpu max_pool2d supports f32 and f64, got {:?}", s.dtype()),
        };
        Ok((
            out,
            Shape::from((g.batch, g.channels, g.out_h(), g.out_w())),
        ))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let g = &self.0;
        let x = crate::cuda::sized_view(s, l, g.input_len(), "max_pool2d: input")?;
        let len = g.batch * g.channels * g.out_h() * g.out_w();
        let dev = s.device();
        let y = crate::cuda::launch_sized(dev, "max_pool_fwd", &[&x], &g.sizes()?, len)?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(y, dev.clone()),
            Shape::from((g.batch, g.channels, g.out_h(), g.out_w())),
        ))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2_no_bwd(
            &grad.contiguous()?,
            &MaxPoolGrad(self.0),
        )?))
    }
}

/// `dx` from `(x, dy)`.
struct MaxPoolGrad(PoolGeometry);

impl CustomOp2 for MaxPoolGrad {
    fn name(&self) -> &'static str {
        "cpu-max-pool2d-grad"
    }

    fn cpu_fwd(
        &self,
        a: &CpuStorage,
        la: &Layout,
        b: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = &self.0;
        let out = match (a, b) {
            (CpuStorage::F32(x), CpuStorage::F32(dy)) => CpuStorage::F32(backward(
                g,
                contiguous(x, la, "cpu max_pool2d: input")?,
                contiguous(dy, lb, "cpu max_pool2d: gradient")?,
            )),
            (CpuStorage::F64(x), CpuStorage::F64(dy)) => CpuStorage::F64(backward(
                g,
                contiguous(x, la, "cpu max_pool2d: input")?,
                contiguous(dy, lb, "cpu max_pool2d: gradient")?,
            )),
            _ => bail!(
                "cpu max_pool2d supports f32 and f64, got {:?} and {:?}",
                a.dtype(),
                b.dtype()
            ),
        };
        Ok((out, Shape::from((g.batch, g.channels, g.h, g.w))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        a: &candle_core::CudaStorage,
        la: &Layout,
        b: &candle_core::CudaStorage,
        lb: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let g = &self.0;
        let x = crate::cuda::sized_view(a, la, g.input_len(), "max_pool2d: input")?;
        let out = g.batch * g.channels * g.out_h() * g.out_w();
        let dy = crate::cuda::sized_view(b, lb, out, "max_pool2d: gradient")?;
        let dev = a.device();
        let dx = crate::cuda::launch_sized(dev, "max_pool_bwd", &[&x, &dy], &g.sizes()?, x.len())?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(dx, dev.clone()),
            Shape::from((g.batch, g.channels, g.h, g.w)),
        ))
    }
}
