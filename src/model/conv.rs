//! 2-D convolution layer with a fast backward.
//!
//! candle 0.11 back-propagates `conv2d` to its input through `conv_transpose2d`, and it
//! computes that input gradient even when the input needs none (e.g. the images entering the
//! first layer). [`conv2d`] supplies its own backward, in two ways:
//!
//! * on the CPU (f32, f64), [`super::cpu_conv`]: im2col + GEMM kernels for the forward pass
//!   and both gradients; on CUDA (f32, the `cuda` feature) the same plan with cuBLAS
//!   ([`super::cuda_conv`]);
//! * elsewhere (CUDA with `FACENET_LAB_KERNELS=candle`, Metal, other dtypes), candle's forward
//!   kernel and a backward built from ordinary tensor ops:
//!   * input gradient: a regular `conv2d` of the zero-dilated, padded upstream gradient with
//!     the spatially flipped kernel whose in/out channels are swapped (for 1x1 kernels, the 1x1
//!     convolution runs first and the result is dilated, which skips the zeros);
//!   * kernel gradient: candle's own formula (a `conv2d` of the transposed input with the
//!     transposed upstream gradient).
//!
//! Neither computes an input gradient when the input does not track gradients.
use candle_core::backend::BackendStorage;
use candle_core::{
    bail, CpuStorage, CudaStorage, CustomOp3, Layout, MetalStorage, Module, Result, Shape, Tensor,
};
use candle_nn::{Init, VarBuilder};

use super::cpu_conv;

/// Which backward a [`Conv2d`] uses. Both give the same gradients (see the tests); they differ
/// only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvBackward {
    /// candle's built-in backward (input gradient through `conv_transpose2d`).
    Candle,
    /// [`conv2d`]: input gradient as a regular convolution (the default).
    Conv,
}

/// A `torch.nn.Conv2d` with square kernel, stride and zero padding, no dilation or groups.
/// Parameters are `weight` `(c_out, c_in, k, k)` and optionally `bias` `(c_out,)`.
#[derive(Clone, Debug)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
    backward: ConvBackward,
}

/// Shape and hyper-parameters of a [`Conv2d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub c_in: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl ConvSpec {
    pub fn new(c_in: usize, c_out: usize, kernel: usize, stride: usize, padding: usize) -> Self {
        Self {
            c_in,
            c_out,
            kernel,
            stride,
            padding,
        }
    }
}

impl Conv2d {
    /// Creates the layer's variables under `vb` (`weight`, and `bias` when `bias_init` is set).
    pub fn new(
        spec: ConvSpec,
        weight_init: Init,
        bias_init: Option<Init>,
        backward: ConvBackward,
        vb: VarBuilder,
    ) -> Result<Self> {
        let ConvSpec {
            c_in,
            c_out,
            kernel,
            stride,
            padding,
        } = spec;
        if kernel == 0 || stride == 0 {
            bail!("conv2d: kernel ({kernel}) and stride ({stride}) must be positive");
        }
        let weight = vb.get_with_hints((c_out, c_in, kernel, kernel), "weight", weight_init)?;
        let bias = match bias_init {
            Some(init) => Some(vb.get_with_hints(c_out, "bias", init)?),
            None => None,
        };
        Ok(Self {
            weight,
            bias,
            stride,
            padding,
            backward,
        })
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl Module for Conv2d {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        super::trace::note(|| super::trace::LayerOp::Conv {
            input: xs.dims().to_vec(),
            kernel: self.weight.dims().to_vec(),
            padding: self.padding,
            stride: self.stride,
            bias: self.bias.is_some(),
            input_grad: xs.track_op(),
        });
        let ys = match self.backward {
            ConvBackward::Candle => xs.conv2d(&self.weight, self.padding, self.stride, 1, 1)?,
            ConvBackward::Conv => conv2d(xs, &self.weight, self.padding, self.stride)?,
        };
        match &self.bias {
            None => Ok(ys),
            Some(bias) => ys.broadcast_add(&bias.reshape((1, (), 1, 1))?),
        }
    }
}

/// `conv2d(xs, kernel)` with padding and stride (dilation 1, groups 1) whose backward computes
/// the input gradient as a regular convolution. Same forward result as `Tensor::conv2d`.
pub fn conv2d(xs: &Tensor, kernel: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    let (_, c_in, h, w) = xs.dims4()?;
    let (_, k_c_in, k_h, k_w) = kernel.dims4()?;
    if c_in != k_c_in {
        bail!(
            "conv2d: input {:?} has {c_in} channels but kernel {:?} expects {k_c_in}",
            xs.dims(),
            kernel.dims()
        );
    }
    if h + 2 * padding < k_h || w + 2 * padding < k_w {
        bail!(
            "conv2d: input {:?} with padding {padding} is smaller than kernel {:?}",
            xs.dims(),
            kernel.dims()
        );
    }
    if super::uses_own_kernels(xs) && k_h == k_w {
        return cpu_conv::conv2d(xs, kernel, padding, stride);
    }
    portable_conv2d(xs, kernel, padding, stride)
}

/// [`conv2d`] on any device: candle's forward kernel, and a backward built from tensor ops.
fn portable_conv2d(xs: &Tensor, kernel: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    // Forward with candle's kernel, outside the graph; the custom op passes the result through
    // and attaches our backward to (xs, kernel).
    let ys = xs
        .detach()
        .conv2d(&kernel.detach(), padding, stride, 1, 1)?;
    if !xs.track_op() && !kernel.track_op() {
        return Ok(ys);
    }
    xs.apply_op3(kernel, &ys, ConvOp { padding, stride })
}

/// The custom op: forward returns its third argument (candle's conv2d output) unchanged, the
/// backward differentiates the convolution of the first two.
#[derive(Clone, Copy, Debug)]
struct ConvOp {
    padding: usize,
    stride: usize,
}

fn pass_through<S: BackendStorage>(s: &S, l: &Layout) -> Result<(S, Shape)> {
    if !l.is_contiguous() || l.start_offset() != 0 {
        bail!("conv2d pass-through expects a fresh contiguous result, got {l:?}");
    }
    Ok((s.try_clone(l)?, l.shape().clone()))
}

impl CustomOp3 for ConvOp {
    fn name(&self) -> &'static str {
        "conv2d-conv-backward"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        pass_through(s3, l3)
    }

    fn cuda_fwd(
        &self,
        _: &CudaStorage,
        _: &Layout,
        _: &CudaStorage,
        _: &Layout,
        s3: &CudaStorage,
        l3: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        pass_through(s3, l3)
    }

    fn metal_fwd(
        &self,
        _: &MetalStorage,
        _: &Layout,
        _: &MetalStorage,
        _: &Layout,
        s3: &MetalStorage,
        l3: &Layout,
    ) -> Result<(MetalStorage, Shape)> {
        pass_through(s3, l3)
    }

    fn bwd(
        &self,
        xs: &Tensor,
        kernel: &Tensor,
        _ys: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Detached copies keep the backward ops out of the graph (no second-order gradients).
        let (xs_d, kernel_d) = (xs.detach(), kernel.detach());
        let grad_xs = if xs.track_op() {
            let (_, _, h, w) = xs.dims4()?;
            Some(conv2d_input_grad(
                grad,
                &kernel_d,
                (h, w),
                self.padding,
                self.stride,
            )?)
        } else {
            None
        };
        let grad_kernel = if kernel.track_op() {
            Some(conv2d_kernel_grad(
                &xs_d,
                grad,
                kernel.dims4()?,
                self.padding,
                self.stride,
            )?)
        } else {
            None
        };
        Ok((grad_xs, grad_kernel, None))
    }
}

/// Places the rows of `t` along `dim` at positions `left + i * stride` of a zero tensor of
/// length `total` along `dim` (zero-dilation, padding and cropping in one step).
fn dilate_into(t: &Tensor, dim: usize, stride: usize, left: usize, total: usize) -> Result<Tensor> {
    let n = t.dim(dim)?;
    let t = if stride > 1 {
        // (.., n, ..) -> (.., n, stride, ..) with zeros in slots 1.. -> (.., n * stride, ..)
        let mut dims = t.dims().to_vec();
        dims[dim] = n * stride;
        t.unsqueeze(dim + 1)?
            .pad_with_zeros(dim + 1, 0, stride - 1)?
            .reshape(dims)?
    } else {
        t.clone()
    };
    let len = t.dim(dim)?;
    let used = total.saturating_sub(left);
    let t = if len > used {
        t.narrow(dim, 0, used)?
    } else {
        t.pad_with_zeros(dim, 0, used - len)?
    };
    t.pad_with_zeros(dim, left, 0)
}

/// d(loss)/d(xs) for `ys = conv2d(xs, kernel, padding, stride)`, given `grad` = d(loss)/d(ys).
fn conv2d_input_grad(
    grad: &Tensor,
    kernel: &Tensor,
    (h, w): (usize, usize),
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    let (c_out, c_in, k_h, k_w) = kernel.dims4()?;
    // (c_out, c_in, kh, kw) -> (c_in, c_out, kh, kw), flipped in space. Flipping both spatial
    // axes reverses the flattened kh * kw axis: one gather instead of two.
    let kernel_t = if k_h * k_w > 1 {
        let rev: Vec<u32> = (0..(k_h * k_w) as u32).rev().collect();
        let rev = Tensor::from_vec(rev, k_h * k_w, kernel.device())?;
        kernel
            .reshape((c_out, c_in, k_h * k_w))?
            .index_select(&rev, 2)?
            .reshape((c_out, c_in, k_h, k_w))?
    } else {
        kernel.clone()
    };
    let kernel_t = kernel_t.transpose(0, 1)?.contiguous()?;
    let grad = grad.contiguous()?;
    if k_h == 1 && k_w == 1 {
        // A 1x1 convolution commutes with the zero-dilation: convolve the small map, then
        // scatter it to the strided positions (offset by -padding) of the input grid.
        let g = grad.conv2d(&kernel_t, 0, 1, 1, 1)?;
        if padding > 0 {
            let g = dilate_into(&g, 2, stride, 0, h + 2 * padding)?;
            let g = dilate_into(&g, 3, stride, 0, w + 2 * padding)?;
            return g.narrow(2, padding, h)?.narrow(3, padding, w);
        }
        let g = dilate_into(&g, 2, stride, 0, h)?;
        return dilate_into(&g, 3, stride, 0, w);
    }
    if padding + 1 > k_h || padding + 1 > k_w {
        bail!(
            "conv2d backward: padding {padding} >= kernel {:?} is not supported",
            kernel.dims()
        );
    }
    // Full correlation: pad the dilated gradient by k - 1 - padding on the left and enough on
    // the right that a valid convolution returns exactly h x w.
    let (left_h, left_w) = (k_h - 1 - padding, k_w - 1 - padding);
    let g = dilate_into(&grad, 2, stride, left_h, h + k_h - 1)?;
    let g = dilate_into(&g, 3, stride, left_w, w + k_w - 1)?;
    g.conv2d(&kernel_t, 0, 1, 1, 1)
}

/// d(loss)/d(kernel) for `ys = conv2d(xs, kernel, padding, stride)` (candle's formula).
fn conv2d_kernel_grad(
    xs: &Tensor,
    grad: &Tensor,
    (_, _, k_h, k_w): (usize, usize, usize, usize),
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    let gk = xs
        .transpose(0, 1)?
        .conv2d(&grad.transpose(0, 1)?, padding, 1, stride, 1)?
        .transpose(0, 1)?;
    let (_, _, g_h, g_w) = gk.dims4()?;
    if g_h != k_h || g_w != k_w {
        gk.narrow(2, 0, k_h)?.narrow(3, 0, k_w)?.contiguous()
    } else {
        gk.contiguous()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    type Conv = fn(&Tensor, &Tensor, usize, usize) -> Result<Tensor>;

    /// `conv`'s forward against candle's, and its backward against candle's built-in conv2d
    /// backward (when `vs_candle`) and against central finite differences, in f64.
    fn check(
        conv: Conv,
        x_shape: (usize, usize, usize, usize),
        k_shape: (usize, usize, usize, usize),
        padding: usize,
        stride: usize,
        vs_candle: bool,
    ) -> Result<()> {
        let dev = Device::Cpu;
        let x = Var::randn(0f64, 1., x_shape, &dev)?;
        let k = Var::randn(0f64, 1., k_shape, &dev)?;
        let ours = conv(x.as_tensor(), k.as_tensor(), padding, stride)?;
        let reference = x.as_tensor().conv2d(k.as_tensor(), padding, stride, 1, 1)?;
        assert_eq!(ours.dims(), reference.dims());
        let fwd_diff = (&ours - &reference)?.abs()?.max_all()?.to_scalar::<f64>()?;
        assert!(
            fwd_diff < 1e-10,
            "forward differs from candle's by {fwd_diff}"
        );
        let up = Tensor::randn(0f64, 1., ours.shape(), &dev)?;
        let g_ours = (&ours * &up)?.sum_all()?.backward()?;
        let missing = || candle_core::Error::Msg("missing gradient".into());
        let g_ref = if vs_candle {
            Some((&reference * &up)?.sum_all()?.backward()?)
        } else {
            None
        };
        for (var, g_ref) in [&x, &k].into_iter().zip(std::iter::repeat(g_ref.as_ref())) {
            let Some(g_ref) = g_ref else { break };
            let a = g_ours.get(var.as_tensor()).ok_or_else(missing)?;
            let b = g_ref.get(var.as_tensor()).ok_or_else(missing)?;
            assert_eq!(a.dims(), b.dims());
            let d = (a - b)?.abs()?.max_all()?.to_scalar::<f64>()?;
            assert!(
                d < 1e-10,
                "{x_shape:?} {k_shape:?} p{padding} s{stride}: diff {d}"
            );
        }
        // Finite differences on a few input and kernel elements.
        let loss = |xt: &Tensor, kt: &Tensor| -> Result<f64> {
            (conv(xt, kt, padding, stride)? * &up)?
                .sum_all()?
                .to_scalar::<f64>()
        };
        let eps = 1e-5;
        let gx = g_ours
            .get(x.as_tensor())
            .ok_or_else(missing)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let xv = x.as_tensor().flatten_all()?.to_vec1::<f64>()?;
        for i in (0..xv.len()).step_by(7) {
            let (mut p, mut m) = (xv.clone(), xv.clone());
            p[i] += eps;
            m[i] -= eps;
            let num = (loss(&Tensor::from_vec(p, x_shape, &dev)?, k.as_tensor())?
                - loss(&Tensor::from_vec(m, x_shape, &dev)?, k.as_tensor())?)
                / (2.0 * eps);
            assert!((num - gx[i]).abs() < 1e-6, "x[{i}]: {num} vs {}", gx[i]);
        }
        let gk = g_ours
            .get(k.as_tensor())
            .ok_or_else(missing)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let kv = k.as_tensor().flatten_all()?.to_vec1::<f64>()?;
        for i in (0..kv.len()).step_by(5) {
            let (mut p, mut m) = (kv.clone(), kv.clone());
            p[i] += eps;
            m[i] -= eps;
            let num = (loss(x.as_tensor(), &Tensor::from_vec(p, k_shape, &dev)?)?
                - loss(x.as_tensor(), &Tensor::from_vec(m, k_shape, &dev)?)?)
                / (2.0 * eps);
            assert!((num - gk[i]).abs() < 1e-6, "k[{i}]: {num} vs {}", gk[i]);
        }
        Ok(())
    }

    /// The layer shapes of ResNet and AlexNet, shrunk: 3x3 s1 p1, 3x3 s2 p1 (even and odd
    /// sizes), 7x7 s2 p3 (stem), 1x1 s1 and s2 (bottleneck, downsample), 11x11 s4 p2 and 5x5
    /// s1 p2 (AlexNet), a batch of 5 (more images than threads, or fewer), an input smaller
    /// than the kernel's reach.
    fn check_layer_shapes(conv: Conv) -> Result<()> {
        check(conv, (2, 3, 6, 6), (4, 3, 3, 3), 1, 1, true)?;
        check(conv, (2, 3, 8, 8), (4, 3, 3, 3), 1, 2, true)?;
        check(conv, (1, 2, 7, 9), (3, 2, 3, 3), 1, 2, true)?;
        check(conv, (1, 3, 13, 13), (4, 3, 7, 7), 3, 2, true)?;
        check(conv, (2, 4, 5, 5), (3, 4, 1, 1), 0, 1, true)?;
        check(conv, (2, 4, 7, 7), (3, 4, 1, 1), 0, 2, true)?;
        check(conv, (1, 3, 23, 23), (2, 3, 11, 11), 2, 4, true)?;
        check(conv, (1, 2, 5, 5), (3, 2, 5, 5), 2, 1, true)?;
        check(conv, (5, 3, 6, 6), (4, 3, 3, 3), 1, 1, true)?;
        check(conv, (2, 2, 2, 2), (3, 2, 3, 3), 1, 1, true)?;
        // Non-square inputs whose height and width need different output paddings: candle's
        // own backward fails on these, because it derives the conv_transpose2d output padding
        // from the height only and applies it to the width too (first case: 7 -> 0, while 6
        // needs 1: "shape mismatch in add, lhs: [2, 4, 7, 6], rhs: [2, 4, 7, 5]"). Finite
        // differences only.
        check(conv, (2, 4, 7, 6), (3, 4, 1, 1), 0, 2, false)?;
        check(conv, (1, 2, 9, 8), (3, 2, 3, 3), 1, 2, false)?;
        check(conv, (2, 2, 6, 7), (3, 2, 3, 3), 1, 2, false)?;
        Ok(())
    }

    #[test]
    fn cpu_conv_matches_candle_and_finite_differences() -> Result<()> {
        check_layer_shapes(conv2d)
    }

    #[test]
    fn portable_conv_matches_candle_and_finite_differences() -> Result<()> {
        check_layer_shapes(portable_conv2d)
    }

    #[test]
    fn cpu_conv_runs_images_across_threads_and_products_across_threads_alike() -> Result<()> {
        // On 3 threads, a batch of 1 runs one image with multi-threaded products and a batch of
        // 8 (5x5 outputs: 3 groups of up to 3 images) spreads the groups over the threads; the
        // same image must give the same output and gradients either way.
        rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .map_err(candle_core::Error::wrap)?
            .install(one_image_or_eight)
    }

    fn one_image_or_eight() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (8, 6, 9, 9), &dev)?;
        let k = Var::randn(0f32, 1., (5, 6, 3, 3), &dev)?;
        let x1 = Var::from_tensor(&x.narrow(0, 0, 1)?)?;
        let x8 = Var::from_tensor(&x)?;
        let y1 = conv2d(x1.as_tensor(), k.as_tensor(), 1, 2)?;
        let y8 = conv2d(x8.as_tensor(), k.as_tensor(), 1, 2)?;
        let diff = (&y1 - y8.narrow(0, 0, 1)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-5, "forward differs by {diff}");
        let g1 = y1.sum_all()?.backward()?;
        let g8 = y8.narrow(0, 0, 1)?.sum_all()?.backward()?;
        let missing = || candle_core::Error::Msg("missing gradient".into());
        let dx1 = g1.get(x1.as_tensor()).ok_or_else(missing)?;
        let dx8 = g8
            .get(x8.as_tensor())
            .ok_or_else(missing)?
            .narrow(0, 0, 1)?;
        let diff = (dx1 - dx8)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "input gradient differs by {diff}");
        let dk1 = g1.get(k.as_tensor()).ok_or_else(missing)?;
        let dk8 = g8.get(k.as_tensor()).ok_or_else(missing)?;
        let diff = (dk1 - dk8)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-4, "kernel gradient differs by {diff}");
        Ok(())
    }

    #[test]
    fn conv_skips_input_gradient_for_plain_inputs() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (1, 3, 8, 8), &dev)?;
        let k = Var::randn(0f32, 1., (2, 3, 3, 3), &dev)?;
        let grads = conv2d(&x, k.as_tensor(), 1, 2)?.sum_all()?.backward()?;
        assert!(grads.get(&x).is_none());
        assert!(grads.get(k.as_tensor()).is_some());
        // No variable at all: plain forward, no graph.
        let y = conv2d(&x, &k.as_tensor().detach(), 1, 1)?;
        assert!(!y.track_op());
        assert_eq!(y.dtype(), DType::F32);
        Ok(())
    }

    #[test]
    fn conv_rejects_channel_mismatch_naming_shapes() -> Result<()> {
        let x = Tensor::zeros((1, 3, 8, 8), DType::F32, &Device::Cpu)?;
        let k = Tensor::zeros((2, 4, 3, 3), DType::F32, &Device::Cpu)?;
        let err = match conv2d(&x, &k, 1, 1) {
            Ok(_) => panic!("channel mismatch must fail"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("[1, 3, 8, 8]") && err.contains("[2, 4, 3, 3]"),
            "{err}"
        );
        Ok(())
    }
}
