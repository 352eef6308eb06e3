//! 2-D convolution on CUDA with the CPU's plan ([`super::cpu_conv`]): each image unrolled in
//! NCHW order, `(c_in·k·k) × pixels`, by the kernel `im2col` (not at all for a 1x1, stride-1,
//! unpadded convolution, whose image already is that matrix), and the three products as
//! cuBLAS strided-batched GEMMs over the images, the kernel shared by all (stride 0):
//!
//! * forward: `y[n] = W · col(x[n])`, written in place in the NCHW output;
//! * input gradient: `dcol[n] = Wᵀ · dy[n]`, added back onto the input's pixels by `col2im`
//!   (or written as `dx` itself, where there is no unrolling);
//! * kernel gradient: `dW[n] = dy[n] · col(x[n])ᵀ`, summed over the images by `batch_sum`.
//!
//! candle's CUDA `conv2d` unrolls into an NHWC matrix and copies its output back to NCHW, and
//! its backward (or ours before this, [`super::conv`]'s portable one) adds transposed copies, a
//! zero-dilated gradient for strided layers and a convolution whose kernel is the whole
//! gradient. The products follow candle's TF32 setting
//! (`candle_core::cuda::set_gemm_reduced_precision_f32`), as its own matmuls do.
//!
//! The GEMMs' parameters ([`Gemm`]) are plain data, tested on the CPU against the CPU's
//! convolution through a column-major reference GEMM; the kernels are checked on a GPU by
//! `bench --check` ([`crate::cuda::check`]).

use super::cpu_conv::ConvGeometry;

/// One strided-batched GEMM in cuBLAS's column-major terms: for each of `batch` entries,
/// `C (m×n) = op(A) (m×k) · op(B) (k×n)`, `op` transposing where `trans_*`; matrix `i` of each
/// operand starts `stride_*·i` elements in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "cuda"), allow(dead_code))] // built for its tests without the feature
pub(crate) struct Gemm {
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub lda: usize,
    pub ldb: usize,
    pub ldc: usize,
    pub stride_a: usize,
    pub stride_b: usize,
    pub stride_c: usize,
    pub batch: usize,
}

// A row-major `r × c` matrix is, to cuBLAS, its column-major transpose (`c × r`, leading
// dimension `c`), so each row-major product `C = A · B` below is asked for as `Cᵀ = Bᵀ · Aᵀ`.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
impl Gemm {
    /// `y[n] (c_out × pixels) = W (c_out × patch) · col[n] (patch × pixels)`: A is `col`, B is
    /// the kernel, C is `y`.
    pub(crate) fn forward(g: &ConvGeometry) -> Gemm {
        let (pixels, patch) = (g.pixels(), g.patch_len());
        Gemm {
            trans_a: false,
            trans_b: false,
            m: pixels,
            n: g.c_out,
            k: patch,
            lda: pixels,
            ldb: patch,
            ldc: pixels,
            stride_a: patch * pixels,
            stride_b: 0,
            stride_c: g.c_out * pixels,
            batch: g.batch,
        }
    }

    /// `dcol[n] (patch × pixels) = Wᵀ (patch × c_out) · dy[n] (c_out × pixels)`: A is `dy`, B
    /// the kernel, C `dcol`.
    pub(crate) fn input_grad(g: &ConvGeometry) -> Gemm {
        let (pixels, patch) = (g.pixels(), g.patch_len());
        Gemm {
            trans_a: false,
            trans_b: true,
            m: pixels,
            n: patch,
            k: g.c_out,
            lda: pixels,
            ldb: patch,
            ldc: pixels,
            stride_a: g.c_out * pixels,
            stride_b: 0,
            stride_c: patch * pixels,
            batch: g.batch,
        }
    }

    /// `dW[n] (c_out × patch) = dy[n] (c_out × pixels) · col[n]ᵀ (pixels × patch)`, one per
    /// image (summed afterwards): A is `col`, B is `dy`, C the per-image gradients.
    pub(crate) fn kernel_grad(g: &ConvGeometry) -> Gemm {
        let (pixels, patch) = (g.pixels(), g.patch_len());
        Gemm {
            trans_a: true,
            trans_b: false,
            m: patch,
            n: g.c_out,
            k: pixels,
            lda: pixels,
            ldb: pixels,
            ldc: patch,
            stride_a: patch * pixels,
            stride_b: g.c_out * pixels,
            stride_c: g.c_out * patch,
            batch: g.batch,
        }
    }
}

#[cfg(feature = "cuda")]
pub(crate) use device::{forward, input_grad, kernel_grad};

#[cfg(feature = "cuda")]
mod device {
    use candle_core::cuda_backend::cudarc::cublas::sys;
    use candle_core::cuda_backend::cudarc::driver::{
        CudaSlice, CudaView, DevicePtr, DevicePtrMut, PushKernelArg,
    };
    use candle_core::cuda_backend::{CudaDevice, WrapErr};
    use candle_core::Result;

    use super::{ConvGeometry, Gemm};
    use crate::cuda::{elementwise, int, ints, launch_sized, Kernel};

    /// `C = op(A) · op(B)` (β = 0) on `dev`'s cuBLAS handle, in TF32 where candle's setting
    /// asks for it.
    fn gemm(
        dev: &CudaDevice,
        p: &Gemm,
        a: &CudaView<'_, f32>,
        b: &CudaView<'_, f32>,
        c: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let op = |t: bool| {
            if t {
                sys::cublasOperation_t::CUBLAS_OP_T
            } else {
                sys::cublasOperation_t::CUBLAS_OP_N
            }
        };
        let compute = if candle_core::cuda::gemm_reduced_precision_f32() {
            sys::cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32
        } else {
            sys::cublasComputeType_t::CUBLAS_COMPUTE_32F
        };
        let (alpha, beta) = (1f32, 0f32);
        let blas = dev.cublas_handle();
        let stream = dev.cuda_stream();
        let (a_ptr, _a) = a.device_ptr(&stream);
        let (b_ptr, _b) = b.device_ptr(&stream);
        let (c_ptr, _c) = c.device_ptr_mut(&stream);
        let i = |n: usize, what: &str| int(n, what);
        // SAFETY: the plans of `Gemm` keep every matrix inside its buffer (tested on the CPU),
        // and the buffers live until the stream has run the product (candle frees in order).
        unsafe {
            candle_core::cuda_backend::cudarc::cublas::result::gemm_strided_batched_ex(
                *blas.handle(),
                op(p.trans_a),
                op(p.trans_b),
                i(p.m, "gemm m")?,
                i(p.n, "gemm n")?,
                i(p.k, "gemm k")?,
                &alpha as *const f32 as *const _,
                a_ptr as *const _,
                sys::cudaDataType_t::CUDA_R_32F,
                i(p.lda, "gemm lda")?,
                p.stride_a as i64,
                b_ptr as *const _,
                sys::cudaDataType_t::CUDA_R_32F,
                i(p.ldb, "gemm ldb")?,
                p.stride_b as i64,
                &beta as *const f32 as *const _,
                c_ptr as *mut _,
                sys::cudaDataType_t::CUDA_R_32F,
                i(p.ldc, "gemm ldc")?,
                p.stride_c as i64,
                i(p.batch, "gemm batch")?,
                compute,
                sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT_TENSOR_OP,
            )
        }
        .w()
    }

    /// The geometry as the kernels' ints: batch, c_in, h, w, k, stride, padding, out_h, out_w.
    fn dims(g: &ConvGeometry) -> Result<[i32; 9]> {
        let [k, stride, pad] = [g.kernel, g.stride, g.padding];
        let d = [
            g.batch,
            g.c_in,
            g.h,
            g.w,
            k,
            stride,
            pad,
            g.out_h(),
            g.out_w(),
        ];
        ints(d, "convolution size")
    }

    /// The unrolled images `(batch, patch, pixels)`, or `None` where `x` is already that.
    fn unrolled(
        dev: &CudaDevice,
        g: &ConvGeometry,
        x: &CudaView<'_, f32>,
    ) -> Result<Option<CudaSlice<f32>>> {
        if g.is_pointwise() {
            return Ok(None);
        }
        let len = g.batch * g.patch_len() * g.pixels();
        Ok(Some(launch_sized(dev, "im2col", &[x], &dims(g)?, len)?))
    }

    /// `y = conv2d(x, w)`, `(batch, c_out, out_h, out_w)`.
    pub(crate) fn forward(
        dev: &CudaDevice,
        g: &ConvGeometry,
        x: &CudaView<'_, f32>,
        w: &CudaView<'_, f32>,
    ) -> Result<CudaSlice<f32>> {
        let col = unrolled(dev, g, x)?;
        // SAFETY: the GEMM writes every element.
        let mut y = unsafe { dev.alloc::<f32>(g.batch * g.c_out * g.pixels())? };
        let a = col.as_ref().map(|c| c.as_view());
        gemm(dev, &Gemm::forward(g), a.as_ref().unwrap_or(x), w, &mut y)?;
        Ok(y)
    }

    /// `dx`, `(batch, c_in, h, w)`, from `dy` and the kernel.
    pub(crate) fn input_grad(
        dev: &CudaDevice,
        g: &ConvGeometry,
        dy: &CudaView<'_, f32>,
        w: &CudaView<'_, f32>,
    ) -> Result<CudaSlice<f32>> {
        let len = g.batch * g.patch_len() * g.pixels();
        // col2im indexes the columns in 32 bits.
        int(len, "unrolled elements")?;
        // SAFETY: the GEMM writes every element.
        let mut dcol = unsafe { dev.alloc::<f32>(len)? };
        gemm(dev, &Gemm::input_grad(g), dy, w, &mut dcol)?;
        if g.is_pointwise() {
            return Ok(dcol);
        }
        // Each input pixel the sum of the entries read from it.
        let total = g.batch * g.input_len();
        launch_sized(dev, "col2im", &[&dcol.as_view()], &dims(g)?, total)
    }

    /// `dW`, `(c_out, c_in, k, k)`, from `x` and `dy`.
    pub(crate) fn kernel_grad(
        dev: &CudaDevice,
        g: &ConvGeometry,
        x: &CudaView<'_, f32>,
        dy: &CudaView<'_, f32>,
    ) -> Result<CudaSlice<f32>> {
        let col = unrolled(dev, g, x)?;
        let a = col.as_ref().map(|c| c.as_view());
        let len = g.c_out * g.patch_len();
        // SAFETY: the GEMM writes every element of each image's gradient.
        let mut per_image = unsafe { dev.alloc::<f32>(g.batch * len)? };
        gemm(
            dev,
            &Gemm::kernel_grad(g),
            a.as_ref().unwrap_or(x),
            dy,
            &mut per_image,
        )?;
        if g.batch == 1 {
            return Ok(per_image);
        }
        // SAFETY: batch_sum writes all `len` elements.
        let mut dw = unsafe { dev.alloc::<f32>(len)? };
        let k = Kernel::new(dev, "batch_sum")?;
        let (batch, n) = (int(g.batch, "batch")?, len as i64);
        let mut b = k.builder();
        b.arg(&per_image).arg(&mut dw).arg(&batch).arg(&n);
        // SAFETY: batch_sum takes (src, dst, batch, len).
        unsafe { b.launch(elementwise(len)) }.w()?;
        Ok(dw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cpu_conv;
    use crate::rng::symmetric_values as values;

    /// cuBLAS's strided-batched GEMM (β = 0) by its definition, column-major.
    fn reference_gemm(p: &Gemm, a: &[f64], b: &[f64], c: &mut [f64]) {
        for i in 0..p.batch {
            let (a, b) = (&a[i * p.stride_a..], &b[i * p.stride_b..]);
            let c = &mut c[i * p.stride_c..];
            for col in 0..p.n {
                for row in 0..p.m {
                    let mut sum = 0.0;
                    for q in 0..p.k {
                        let x = if p.trans_a {
                            a[q + row * p.lda]
                        } else {
                            a[row + q * p.lda]
                        };
                        let y = if p.trans_b {
                            b[col + q * p.ldb]
                        } else {
                            b[q + col * p.ldb]
                        };
                        sum += x * y;
                    }
                    c[row + col * p.ldc] = sum;
                }
            }
        }
    }

    /// The last element each operand of `p` touches, plus one: must fit the buffers.
    fn extent(p: &Gemm) -> [usize; 3] {
        let span = |rows: usize, cols: usize, ld: usize, stride: usize| {
            (p.batch - 1) * stride + (cols - 1) * ld + rows
        };
        let (ar, ac) = if p.trans_a { (p.k, p.m) } else { (p.m, p.k) };
        let (br, bc) = if p.trans_b { (p.n, p.k) } else { (p.k, p.n) };
        [
            span(ar, ac, p.lda, p.stride_a),
            span(br, bc, p.ldb, p.stride_b),
            span(p.m, p.n, p.ldc, p.stride_c),
        ]
    }

    /// The unrolled images, `(batch, patch, pixels)`, as the `im2col` kernel writes them.
    fn unroll(g: &ConvGeometry, x: &[f64]) -> Vec<f64> {
        if g.is_pointwise() {
            return x.to_vec();
        }
        let per = g.patch_len() * g.pixels();
        let mut col = vec![0.0; g.batch * per];
        for (image, c) in x.chunks_exact(g.input_len()).zip(col.chunks_exact_mut(per)) {
            cpu_conv::im2col(g, image, c, g.pixels());
        }
        col
    }

    fn close(a: &[f64], b: &[f64], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-9, "{what}[{i}]: {x} against {y}");
        }
    }

    #[test]
    fn the_gemm_plans_compute_the_cpu_convolution() {
        let cases = [
            // (batch, c_in, h, w, c_out, k, stride, padding)
            (2, 3, 7, 5, 4, 3, 1, 1),
            (3, 2, 9, 8, 5, 3, 2, 1),
            (2, 4, 6, 6, 3, 1, 1, 0),
            (2, 4, 7, 7, 6, 1, 2, 0),
            (1, 3, 11, 11, 2, 7, 2, 3),
            (2, 2, 5, 5, 3, 5, 1, 0),
        ];
        for (seed, &(batch, c_in, h, w, c_out, kernel, stride, padding)) in cases.iter().enumerate()
        {
            let g = ConvGeometry {
                batch,
                c_in,
                h,
                w,
                c_out,
                kernel,
                stride,
                padding,
            };
            let x = values(batch * g.input_len(), 3 * seed as u64);
            let wt = values(c_out * g.patch_len(), 3 * seed as u64 + 1);
            let dy = values(batch * c_out * g.pixels(), 3 * seed as u64 + 2);
            let col = unroll(&g, &x);

            let p = Gemm::forward(&g);
            let y_len = batch * c_out * g.pixels();
            assert!(extent(&p)[0] <= col.len() && extent(&p)[1] <= wt.len());
            assert!(extent(&p)[2] <= y_len);
            let mut y = vec![f64::NAN; y_len];
            reference_gemm(&p, &col, &wt, &mut y);
            close(
                &y,
                &cpu_conv::forward(&g, &x, &wt),
                &format!("{g:?} forward"),
            );

            let p = Gemm::input_grad(&g);
            let mut dcol = vec![f64::NAN; col.len()];
            assert!(extent(&p)[0] <= dy.len() && extent(&p)[2] <= dcol.len());
            reference_gemm(&p, &dy, &wt, &mut dcol);
            let dx = if g.is_pointwise() {
                dcol
            } else {
                let mut dx = vec![0.0; x.len()];
                let per = g.patch_len() * g.pixels();
                for (image, c) in dx
                    .chunks_exact_mut(g.input_len())
                    .zip(dcol.chunks_exact(per))
                {
                    cpu_conv::col2im(&g, c, g.pixels(), image);
                }
                dx
            };
            close(
                &dx,
                &cpu_conv::input_grad(&g, &dy, &wt),
                &format!("{g:?} input grad"),
            );

            let p = Gemm::kernel_grad(&g);
            let len = c_out * g.patch_len();
            let mut per_image = vec![f64::NAN; batch * len];
            assert!(extent(&p)[0] <= col.len() && extent(&p)[1] <= dy.len());
            assert!(extent(&p)[2] <= per_image.len());
            reference_gemm(&p, &col, &dy, &mut per_image);
            let dw: Vec<f64> = (0..len)
                .map(|i| (0..batch).map(|n| per_image[n * len + i]).sum())
                .collect();
            close(
                &dw,
                &cpu_conv::kernel_grad(&g, &x, &dy),
                &format!("{g:?} kernel grad"),
            );
        }
    }
}
