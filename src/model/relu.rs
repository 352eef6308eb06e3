//! ReLU, with its backward in one pass on the CPU.
//!
//! candle's backward of `relu` builds a zero tensor, compares the input with it, converts the
//! mask to floats and multiplies: four passes and three buffers per ReLU. On the CPU (f32,
//! f64) this op's backward writes `dx = dy` where the output is not `<= 0`, and 0 elsewhere, in
//! one pass: torch's rule (`threshold_backward`), under which an input of exactly 0 passes no
//! gradient and a NaN passes it; candle's passes both. Its forward keeps NaN, as torch does
//! (candle's CPU and CUDA kernels make it 0). On CUDA (f32, the `cuda` feature) the same rule
//! runs as the kernels `relu_fwd` and `relu_bwd` (`src/cuda/kernels.cu`). Elsewhere it is
//! candle's `relu`, so runs there may differ where a ReLU's input is exactly 0. ResNet fuses most of its ReLUs into the
//! batch norm before them ([`super::batch_norm::BatchNorm2d::forward_relu`]), with the same
//! rule; the one after each residual sum, and AlexNet's, are this op.

use candle_core::backend::BackendStorage;
use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, WithDType,
};
use rayon::prelude::*;

use super::cpu_conv::contiguous;

/// Elements per parallel task.
const CHUNK: usize = 1 << 15;

/// `max(x, 0)` element-wise (NaN stays NaN), differentiable.
pub fn relu(xs: &Tensor) -> Result<Tensor> {
    super::trace::note(|| super::trace::LayerOp::Relu {
        input: xs.dims().to_vec(),
    });
    unnoted(xs)
}

/// [`relu`], not noted by [`super::trace`]: the ReLU a batch norm runs as its own part.
pub(crate) fn unnoted(xs: &Tensor) -> Result<Tensor> {
    if super::uses_own_kernels(xs) {
        xs.contiguous()?.apply_op1(Relu)
    } else {
        xs.relu()
    }
}

/// The gradient of `relu`'s input from its output `y` and the output's gradient `dy`, on the
/// CPU or CUDA: `dy` where `y` is not `<= 0`, else 0.
pub(crate) fn backward_of(y: &Tensor, dy: &Tensor) -> Result<Tensor> {
    y.contiguous()?
        .apply_op2_no_bwd(&dy.contiguous()?, &ReluGrad)
}

fn forward<T: WithDType>(x: &[T]) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(y, x)| {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = if x < T::zero() { T::zero() } else { x };
            }
        });
    y
}

/// `dy` where `y` is not `<= 0`, else 0.
fn backward<T: WithDType>(y: &[T], dy: &[T]) -> Vec<T> {
    let mut dx = vec![T::zero(); y.len()];
    dx.par_chunks_mut(CHUNK)
        .zip(y.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK)))
        .for_each(|(dx, (y, dy))| {
            for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
                // Not `y > 0`: a NaN output (incomparable) passes its gradient, as in torch.
                if y.partial_cmp(&T::zero()) != Some(std::cmp::Ordering::Less) && y != T::zero() {
                    *dx = dy;
                }
            }
        });
    dx
}

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "cpu-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = match s {
            CpuStorage::F32(x) => CpuStorage::F32(forward(contiguous(x, l, "cpu relu: input")?)),
            CpuStorage::F64(x) => CpuStorage::F64(forward(contiguous(x, l, "cpu relu: input")?)),
            _ => bail!("cpu relu supports f32 and f64, got {:?}", s.dtype()),
        };
        Ok((out, l.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let x = crate::cuda::view(s, l, "relu input")?;
        Ok((launch(s, "relu_fwd", &[&x])?, l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(backward_of(res, grad)?))
    }
}

/// The CUDA side of both ops: `kernel(inputs..., out, total)` over f32 inputs of one length.
#[cfg(feature = "cuda")]
fn launch(
    like: &candle_core::CudaStorage,
    kernel: &str,
    inputs: &[&candle_core::cuda_backend::cudarc::driver::CudaView<'_, f32>],
) -> Result<candle_core::CudaStorage> {
    let dev = like.device();
    let total = inputs.first().map_or(0, |x| x.len());
    let n = crate::cuda::int(total, "relu elements")?;
    let out = crate::cuda::launch_sized(dev, kernel, inputs, &[n], total)?;
    Ok(candle_core::CudaStorage::wrap_cuda_slice(out, dev.clone()))
}

/// `(y, dy)` → `dx`.
struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "cpu-relu-grad"
    }

    fn cpu_fwd(
        &self,
        y: &CpuStorage,
        ly: &Layout,
        dy: &CpuStorage,
        ldy: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        if ly.shape() != ldy.shape() {
            bail!(
                "cpu relu: gradient {:?} for an output {:?}",
                ldy.shape(),
                ly.shape()
            );
        }
        let (wy, wdy) = ("cpu relu: output", "cpu relu: gradient");
        let out = match (y, dy) {
            (CpuStorage::F32(y), CpuStorage::F32(dy)) => {
                CpuStorage::F32(backward(contiguous(y, ly, wy)?, contiguous(dy, ldy, wdy)?))
            }
            (CpuStorage::F64(y), CpuStorage::F64(dy)) => {
                CpuStorage::F64(backward(contiguous(y, ly, wy)?, contiguous(dy, ldy, wdy)?))
            }
            _ => bail!(
                "cpu relu supports f32 and f64, got {:?} and {:?}",
                y.dtype(),
                dy.dtype()
            ),
        };
        Ok((out, ly.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        y: &candle_core::CudaStorage,
        ly: &Layout,
        dy: &candle_core::CudaStorage,
        ldy: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        if ly.shape() != ldy.shape() {
            bail!(
                "relu: gradient {:?} for an output {:?}",
                ldy.shape(),
                ly.shape()
            );
        }
        let (yv, dyv) = (
            crate::cuda::view(y, ly, "relu output")?,
            crate::cuda::view(dy, ldy, "relu gradient")?,
        );
        Ok((launch(y, "relu_bwd", &[&yv, &dyv])?, ly.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn values_and_gradients_are_torch_s() -> Result<()> {
        let dev = Device::Cpu;
        // Enough elements for several tasks; a few exact zeros, which pass no gradient.
        let n = 3 * CHUNK + 17;
        for threads in [1, 2, 3] {
            super::super::with_threads(threads, || -> Result<()> {
                let zeros = Tensor::zeros(3, candle_core::DType::F32, &dev)?;
                let x = Tensor::cat(&[&zeros, &Tensor::randn(0f32, 1., n - 3, &dev)?], 0)?;
                let x = Var::from_tensor(&x.reshape((n, 1))?)?;
                let y = relu(x.as_tensor())?;
                assert_eq!(
                    y.flatten_all()?.to_vec1::<f32>()?,
                    x.as_tensor().relu()?.flatten_all()?.to_vec1::<f32>()?
                );
                let up = Tensor::randn(0f32, 1., (n, 1), &dev)?;
                let grads = (y * &up)?.sum_all()?.backward()?;
                let dx = grads
                    .get(x.as_tensor())
                    .ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let xs = x.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                let ups = up.flatten_all()?.to_vec1::<f32>()?;
                for ((&d, &x), &u) in dx.iter().zip(&xs).zip(&ups) {
                    assert_eq!(d, if x > 0.0 { u } else { 0.0 }, "x = {x}");
                }
                Ok(())
            })?;
        }
        // torch: relu([nan, -1, 0, 2]) = [nan, 0, 0, 2], and the gradient passes at nan and 2.
        let x = Var::new(&[f64::NAN, -1., 0., 2.], &dev)?;
        let y = relu(x.as_tensor())?.to_vec1::<f64>()?;
        assert!(y[0].is_nan() && y[1..] == [0., 0., 2.], "{y:?}");
        let grads = relu(x.as_tensor())?.sum_all()?.backward()?;
        let dx = grads
            .get(x.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?
            .to_vec1::<f64>()?;
        assert_eq!(dx, [1., 0., 0., 1.]);
        assert!(super::super::uses_cpu_kernels(&Tensor::zeros(
            1,
            candle_core::DType::F32,
            &dev
        )?));
        Ok(())
    }
}
