//! Pooling layers with correct gradients on every device.
//!
//! candle 0.11 has no backward for `max_pool2d` when kernel != stride, and none of its pooling
//! ops take a padding. [`max_pool2d`] composes differentiable tensor ops instead, so it runs on
//! CPU and CUDA alike.
use candle_core::{bail, DType, Device, Result, Tensor};

/// Indices `start, start + step, ..., start + (n - 1) * step` as a u32 tensor.
fn strided_indices(start: usize, n: usize, step: usize, device: &Device) -> Result<Tensor> {
    let idx: Vec<u32> = (0..n).map(|i| (start + i * step) as u32).collect();
    Tensor::from_vec(idx, n, device)
}

/// Pads dimension `dim` with `pad` values of -inf on both sides.
fn pad_neg_inf(xs: &Tensor, dim: usize, pad: usize) -> Result<Tensor> {
    if pad == 0 {
        return Ok(xs.clone());
    }
    let mut dims = xs.dims().to_vec();
    dims[dim] = pad;
    let fill = Tensor::full(f32::NEG_INFINITY, dims, xs.device())?.to_dtype(xs.dtype())?;
    Tensor::cat(&[&fill, xs, &fill], dim)
}

/// Differentiable 2-D max pooling over `(B, C, H, W)` with a square `kernel`, `stride` and
/// implicit -inf `padding`, floor output size (torch's `nn.MaxPool2d(kernel, stride, padding)`
/// with `ceil_mode=False`, `dilation=1`).
///
/// On the CPU (f32, f64) it is one op each way ([`super::cpu_pool`]). Elsewhere the forward
/// value comes from candle's own `max_pool2d` kernel on the padded input, and the gradient is
/// routed through the `kernel * kernel` strided views of the padded input: the
/// output is rebuilt as a chain of `where_cond` selections, so each output element passes its
/// whole upstream gradient to exactly one input element.
///
/// **Tie rule**: when several elements of a window share the maximum (common after a ReLU,
/// where whole windows are 0), the winner is the first one in row-major order within the window
/// (smallest row offset, then smallest column offset); this is what torch's CPU kernel does. The
/// gradient is therefore a valid subgradient: for every window, the gradients it sends to its
/// input elements sum to its upstream gradient. Padding is never a winner because torch's rule
/// `padding <= kernel / 2` (enforced here) leaves a real element in every window.
pub fn max_pool2d(xs: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
    let (batch, channels, h, w) = xs.dims4()?;
    if kernel == 0 || stride == 0 {
        bail!("max_pool2d: kernel ({kernel}) and stride ({stride}) must be positive");
    }
    if padding > kernel / 2 {
        bail!("max_pool2d: padding {padding} must be at most half the kernel size {kernel}");
    }
    let (hp, wp) = (h + 2 * padding, w + 2 * padding);
    if hp < kernel || wp < kernel {
        bail!(
            "max_pool2d: input {:?} (padded to {hp}x{wp}) is smaller than the {kernel}x{kernel} \
             kernel; the input image is too small for this network",
            xs.dims()
        );
    }
    super::trace::note(|| super::trace::LayerOp::MaxPool {
        input: xs.dims().to_vec(),
        kernel,
        stride,
        padding,
    });
    if super::uses_own_kernels(xs) {
        let g = super::cpu_pool::PoolGeometry {
            batch,
            channels,
            h,
            w,
            kernel,
            stride,
            padding,
        };
        return super::cpu_pool::max_pool2d(xs, g);
    }
    composed(xs, kernel, stride, padding)
}

/// [`max_pool2d`] out of tensor ops, for any device; its arguments are checked.
fn composed(xs: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
    let (_b, _c, h, w) = xs.dims4()?;
    let positions = |size| super::cpu_conv::window_positions(size, kernel, stride, padding);
    let (ho, wo) = (positions(h), positions(w));
    let padded = pad_neg_inf(&pad_neg_inf(xs, 2, padding)?, 3, padding)?;
    let max = padded
        .detach()
        .max_pool2d_with_stride((kernel, kernel), (stride, stride))?;

    let device = xs.device();
    let mut views = Vec::with_capacity(kernel * kernel);
    for dy in 0..kernel {
        let rows = padded.index_select(&strided_indices(dy, ho, stride, device)?, 2)?;
        for dx in 0..kernel {
            views.push(rows.index_select(&strided_indices(dx, wo, stride, device)?, 3)?);
        }
    }
    // Walk the views from last to first; an earlier view equal to the max overrides, so the
    // first maximum in row-major order wins.
    let Some((last, earlier)) = views.split_last() else {
        bail!("max_pool2d: empty kernel");
    };
    let mut out = last.clone();
    for view in earlier.iter().rev() {
        out = view.eq(&max)?.where_cond(view, &out)?;
    }
    Ok(out)
}

/// torchvision's stem/feature pooling: 3x3 window, stride 2, the given padding (ResNet: 1,
/// AlexNet: 0). See [`max_pool2d`] for the gradient and tie rule.
pub fn max_pool2d_3x3s2(xs: &Tensor, padding: usize) -> Result<Tensor> {
    max_pool2d(xs, 3, 2, padding)
}

/// `(out, in)` matrix whose row `i` averages torch's adaptive-pooling window
/// `[floor(i * in / out), ceil((i + 1) * in / out))`.
fn adaptive_average_matrix(
    in_size: usize,
    out_size: usize,
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    let mut m = vec![0f32; out_size * in_size];
    for i in 0..out_size {
        let start = i * in_size / out_size;
        let end = ((i + 1) * in_size).div_ceil(out_size);
        let weight = 1.0 / (end - start) as f32;
        for j in start..end {
            m[i * in_size + j] = weight;
        }
    }
    Tensor::from_vec(m, (out_size, in_size), device)?.to_dtype(dtype)
}

/// torch's `AdaptiveAvgPool2d((out_h, out_w))` on `(B, C, H, W)`, any `H, W >= 1`. Windows
/// may overlap or repeat an element (a 1x1 map pooled to 6x6 is replicated, like torch).
/// Implemented as two matrix products with averaging matrices, so it is differentiable on
/// every device.
pub fn adaptive_avg_pool2d(xs: &Tensor, out_h: usize, out_w: usize) -> Result<Tensor> {
    let (b, c, h, w) = xs.dims4()?;
    if out_h == 0 || out_w == 0 || h == 0 || w == 0 {
        bail!(
            "adaptive_avg_pool2d: cannot pool input {:?} to {out_h}x{out_w}",
            xs.dims()
        );
    }
    if (h, w) == (out_h, out_w) {
        return Ok(xs.clone());
    }
    let a_w = adaptive_average_matrix(w, out_w, xs.dtype(), xs.device())?;
    let a_h = adaptive_average_matrix(h, out_h, xs.dtype(), xs.device())?;
    // (B*C*H, W) x (W, out_w) -> (B, C, H, out_w)
    let ys = xs
        .reshape((b * c * h, w))?
        .matmul(&a_w.t()?)?
        .reshape((b, c, h, out_w))?;
    // (B*C*out_w, H) x (H, out_h) -> (B, C, out_w, out_h) -> (B, C, out_h, out_w)
    ys.transpose(2, 3)?
        .contiguous()?
        .reshape((b * c * out_w, h))?
        .matmul(&a_h.t()?)?
        .reshape((b, c, out_w, out_h))?
        .transpose(2, 3)?
        .contiguous()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    #[test]
    fn max_pool_matches_torch_on_small_example() -> Result<()> {
        // torch: F.max_pool2d(torch.arange(16.).view(1,1,4,4), 3, 2, 1) = [[5, 7], [13, 15]]
        //        F.max_pool2d(torch.arange(25.).view(1,1,5,5), 3, 2, 0) = [[12, 14], [22, 24]]
        let x = Tensor::arange(0f32, 16., &Device::Cpu)?.reshape((1, 1, 4, 4))?;
        let y = max_pool2d_3x3s2(&x, 1)?;
        assert_eq!(
            y.squeeze(0)?.squeeze(0)?.to_vec2::<f32>()?,
            [[5., 7.], [13., 15.]]
        );
        let x = Tensor::arange(0f32, 25., &Device::Cpu)?.reshape((1, 1, 5, 5))?;
        let y = max_pool2d_3x3s2(&x, 0)?;
        assert_eq!(
            y.squeeze(0)?.squeeze(0)?.to_vec2::<f32>()?,
            [[12., 14.], [22., 24.]]
        );
        Ok(())
    }

    #[test]
    fn max_pool_forward_matches_candle_max_pool2d() -> Result<()> {
        // Without padding our op must equal candle's kernel exactly, odd and even sizes.
        for (h, w) in [(9, 9), (8, 11), (3, 3)] {
            let x = Tensor::randn(0f32, 1., (2, 3, h, w), &Device::Cpu)?;
            let ours = max_pool2d_3x3s2(&x, 0)?;
            let candle = x.max_pool2d_with_stride(3, 2)?;
            assert_eq!(ours.dims(), candle.dims());
            let diff = (ours - candle)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert_eq!(diff, 0.0, "{h}x{w}");
        }
        // With padding 1 it equals candle's kernel on an input padded with -inf by hand, and
        // keeps torch's output size floor((H + 2 - 3) / 2) + 1.
        let x = Tensor::randn(0f32, 1., (2, 3, 7, 6), &Device::Cpu)?;
        let ours = max_pool2d_3x3s2(&x, 1)?;
        assert_eq!(ours.dims(), [2, 3, 4, 3]);
        let padded = pad_neg_inf(&pad_neg_inf(&x, 2, 1)?, 3, 1)?;
        let candle = padded.max_pool2d_with_stride(3, 2)?;
        let diff = (ours - candle)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert_eq!(diff, 0.0);
        Ok(())
    }

    #[test]
    fn max_pool_rejects_too_small_inputs_with_shapes() -> Result<()> {
        let x = Tensor::zeros((1, 2, 1, 1), DType::F32, &Device::Cpu)?;
        let err = match max_pool2d_3x3s2(&x, 0) {
            Ok(_) => panic!("pooling a 1x1 map with a 3x3 kernel must fail"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("[1, 2, 1, 1]"), "{err}");
        assert!(max_pool2d(&x, 3, 2, 2).is_err());
        Ok(())
    }

    /// Central finite differences of `sum(pool(x) * w)` against candle's backward, in f64.
    fn check_pool_gradient(shape: (usize, usize, usize, usize), padding: usize) -> Result<()> {
        let dev = Device::Cpu;
        let x = Var::randn(0f64, 1., shape, &dev)?;
        let upstream_shape = max_pool2d_3x3s2(x.as_tensor(), padding)?.shape().clone();
        let w = Tensor::randn(0f64, 1., upstream_shape, &dev)?;
        let loss = |t: &Tensor| -> Result<f64> {
            (max_pool2d_3x3s2(t, padding)? * &w)?
                .sum_all()?
                .to_scalar::<f64>()
        };
        let grads = (max_pool2d_3x3s2(x.as_tensor(), padding)? * &w)?
            .sum_all()?
            .backward()?;
        let analytic = grads
            .get(x.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg("no gradient for x".into()))?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let base = x.as_tensor().flatten_all()?.to_vec1::<f64>()?;
        let eps = 1e-6;
        for (i, &a) in analytic.iter().enumerate() {
            let mut plus = base.clone();
            plus[i] += eps;
            let mut minus = base.clone();
            minus[i] -= eps;
            let fp = loss(&Tensor::from_vec(plus, shape, &dev)?)?;
            let fm = loss(&Tensor::from_vec(minus, shape, &dev)?)?;
            let numeric = (fp - fm) / (2.0 * eps);
            assert!(
                (numeric - a).abs() < 1e-6,
                "element {i}: numeric {numeric} vs backward {a}"
            );
        }
        Ok(())
    }

    #[test]
    fn max_pool_gradient_matches_finite_differences() -> Result<()> {
        // Random normal inputs have no ties, so the max is locally linear and the central
        // difference is exact up to rounding. Overlapping windows (3x3, stride 2) share rows
        // and columns, so elements can receive gradient from several windows.
        check_pool_gradient((2, 2, 7, 7), 0)?;
        check_pool_gradient((1, 3, 6, 5), 1)?;
        Ok(())
    }

    #[test]
    fn max_pool_ties_send_gradient_to_first_element_only() -> Result<()> {
        // An all-zero 5x5 map (e.g. after ReLU): 3x3/2 windows start at rows/cols 0 and 2, so
        // by the first-in-row-major rule the winners are (0,0), (0,2), (2,0), (2,2); each
        // receives exactly its window's upstream gradient (1), all other elements 0.
        let x = Var::zeros((1, 1, 5, 5), DType::F64, &Device::Cpu)?;
        let grads = max_pool2d_3x3s2(x.as_tensor(), 0)?.sum_all()?.backward()?;
        let g = grads
            .get(x.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg("no gradient for x".into()))?
            .squeeze(0)?
            .squeeze(0)?
            .to_vec2::<f64>()?;
        let mut expected = vec![vec![0f64; 5]; 5];
        for (r, c) in [(0, 0), (0, 2), (2, 0), (2, 2)] {
            expected[r][c] = 1.0;
        }
        assert_eq!(g, expected);

        // With padding 1 on a 4x4 zero map, windows start at padded rows/cols 0 and 2, i.e.
        // original -1 and 1; padding never wins, so winners are (0,0), (0,1), (1,0), (1,1).
        let x = Var::zeros((1, 1, 4, 4), DType::F64, &Device::Cpu)?;
        let up = Tensor::new(&[[[[1f64, 2.], [3., 4.]]]], &Device::Cpu)?;
        let grads = (max_pool2d_3x3s2(x.as_tensor(), 1)? * &up)?
            .sum_all()?
            .backward()?;
        let g = grads
            .get(x.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg("no gradient for x".into()))?;
        assert_eq!(
            g.squeeze(0)?.squeeze(0)?.to_vec2::<f64>()?,
            [
                [1., 2., 0., 0.],
                [3., 4., 0., 0.],
                [0., 0., 0., 0.],
                [0., 0., 0., 0.]
            ]
        );
        // Sum of input gradient = sum of upstream gradient (no duplication on ties).
        assert_eq!(g.sum_all()?.to_scalar::<f64>()?, 10.0);
        Ok(())
    }

    #[test]
    fn the_cpu_op_equals_the_composed_one_forward_and_backward() -> Result<()> {
        // Values rounded to a few integers, about half of them zeroed by a ReLU: most windows
        // hold their maximum twice or more, so both must pick the same (first) winner. Random
        // upstream gradients tell any two winners apart.
        let dev = Device::Cpu;
        for (shape, kernel, stride, padding) in [
            ((2, 3, 9, 9), 3, 2, 0),
            ((2, 3, 8, 11), 3, 2, 1),
            ((1, 2, 7, 6), 3, 2, 1),
            ((3, 1, 6, 6), 2, 2, 0),
            ((2, 2, 5, 7), 2, 2, 1),
            ((1, 4, 5, 5), 3, 1, 1),
            ((2, 2, 8, 8), 2, 3, 0),
        ] {
            for threads in [1, 2, 3] {
                super::super::with_threads(threads, || -> Result<()> {
                    let x = (Tensor::randn(0f32, 1.5, shape, &dev)?.round()?).relu()?;
                    let x = Var::from_tensor(&x)?;
                    let (b, c, h, w) = shape;
                    let g = super::super::cpu_pool::PoolGeometry {
                        batch: b,
                        channels: c,
                        h,
                        w,
                        kernel,
                        stride,
                        padding,
                    };
                    let ours = super::super::cpu_pool::max_pool2d(x.as_tensor(), g)?;
                    let theirs = composed(x.as_tensor(), kernel, stride, padding)?;
                    assert_eq!(ours.dims(), theirs.dims());
                    assert_eq!(
                        ours.flatten_all()?.to_vec1::<f32>()?,
                        theirs.flatten_all()?.to_vec1::<f32>()?
                    );
                    let up = Tensor::randn(0f32, 1., ours.shape(), &dev)?;
                    let grad = |y: Tensor| -> Result<Vec<f32>> {
                        let g = (y * &up)?.sum_all()?.backward()?;
                        g.get(x.as_tensor())
                            .ok_or_else(|| candle_core::Error::Msg("no gradient for x".into()))?
                            .flatten_all()?
                            .to_vec1::<f32>()
                    };
                    // The same winners; an element that wins two overlapping windows sums
                    // their gradients in another order, so the last bit may differ.
                    let (a, b) = (grad(ours)?, grad(theirs)?);
                    let worst = a
                        .iter()
                        .zip(&b)
                        .map(|(p, q)| (p - q).abs())
                        .fold(0f32, f32::max);
                    assert!(
                        worst < 1e-5,
                        "{shape:?} k{kernel} s{stride} p{padding}, {threads} threads: {worst}"
                    );
                    Ok(())
                })?;
            }
        }
        // max_pool2d takes this op for f32 on the CPU.
        assert!(super::super::uses_cpu_kernels(&Tensor::zeros(
            1,
            DType::F32,
            &dev
        )?));
        Ok(())
    }

    /// torch's max pool takes a NaN for its window's maximum; a NaN after the first element
    /// of a window was pooled away here.
    #[test]
    fn a_nan_in_a_window_is_its_maximum() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[[[0f32, f32::NAN], [1., 2.]]]], &dev)?;
        let g = super::super::cpu_pool::PoolGeometry {
            batch: 1,
            channels: 1,
            h: 2,
            w: 2,
            kernel: 2,
            stride: 2,
            padding: 0,
        };
        let y = super::super::cpu_pool::max_pool2d(&x, g)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        assert!(y[0].is_nan(), "{y:?}");
        Ok(())
    }

    #[test]
    fn adaptive_avg_pool_matches_torch() -> Result<()> {
        // torch: F.adaptive_avg_pool2d(torch.arange(16.).view(1,1,4,4), (3,3))
        //   windows rows/cols [0,2), [1,3), [2,4) -> [[2.5, 3.5, 4.5], [6.5, 7.5, 8.5],
        //   [10.5, 11.5, 12.5]]
        let x = Tensor::arange(0f32, 16., &Device::Cpu)?.reshape((1, 1, 4, 4))?;
        let y = adaptive_avg_pool2d(&x, 3, 3)?;
        assert_eq!(
            y.squeeze(0)?.squeeze(0)?.to_vec2::<f32>()?,
            [[2.5, 3.5, 4.5], [6.5, 7.5, 8.5], [10.5, 11.5, 12.5]]
        );
        // torch: a 1x1 map pooled to (6,6) replicates the value.
        let x = Tensor::new(&[[[[3f32]], [[-1f32]]]], &Device::Cpu)?;
        let y = adaptive_avg_pool2d(&x, 6, 6)?;
        assert_eq!(y.dims(), [1, 2, 6, 6]);
        let vals = y.flatten_from(2)?.squeeze(0)?.to_vec2::<f32>()?;
        assert!(vals[0].iter().all(|&v| v == 3.0), "{vals:?}");
        assert!(vals[1].iter().all(|&v| v == -1.0), "{vals:?}");
        // 7x5 -> (2, 3): rows [0,4), [3,7); cols [0,2), [1,4), [3,5); value 5r + c, so the
        // window mean is 5 * mean(r) + mean(c) with mean(r) in {1.5, 4.5}, mean(c) in {0.5, 2, 3.5}.
        let x = Tensor::arange(0f32, 35., &Device::Cpu)?.reshape((1, 1, 7, 5))?;
        let y = adaptive_avg_pool2d(&x, 2, 3)?;
        let expected = [[8.0, 9.5, 11.0], [23.0, 24.5, 26.0]];
        let got = y.squeeze(0)?.squeeze(0)?.to_vec2::<f32>()?;
        for (g, e) in got.iter().flatten().zip(expected.iter().flatten()) {
            assert!((g - e).abs() < 1e-5, "{got:?} vs {expected:?}");
        }
        Ok(())
    }
}
