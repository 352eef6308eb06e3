//! 2-D convolution on the CPU: im2col + GEMM for the forward pass, the input gradient and the
//! kernel gradient, as one candle op with its own backward.
//!
//! candle 0.11's CPU `conv2d` gathers its im2col tiles element by element through an NHWC copy
//! of the input, and its kernel gradient is a convolution whose "batch" is the input channels
//! and whose "kernel" is the whole upstream gradient. Profiling a ResNet-18 training step
//! (batch 32, 64x64, 2 cores) put a fifth of the time in those gathers. Here every image is
//! unrolled in NCHW order with whole-row copies (stride 1) and the three products go to `gemm`:
//!
//! * forward: `y[n] = W · col(x[n])`, `W` as `(c_out, c_in·k·k)`;
//! * input gradient: `dx[n] = col2im(Wᵀ · dy[n])`;
//! * kernel gradient: `dW = Σₙ dy[n] · col(x[n])ᵀ`, summed per thread, then across threads.
//!
//! Images go through the products in groups, so that the 4x4 and 2x2 maps of the deep layers
//! still make matrices wide enough for the SIMD kernels ([`Plan`]). Groups go to threads when
//! there are at least as many groups as threads; otherwise they run one after another and each
//! product uses every thread. f32 and f64 only (what `gemm` and the networks use). The same
//! op runs on CUDA (f32, the `cuda` feature) with the same plan through
//! [`super::cuda_conv`]; [`super::conv`] keeps candle's kernels for other devices.
use candle_core::{
    backend::BackendStorage, bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, WithDType,
};
use gemm::Parallelism;
use rayon::prelude::*;

/// The shapes of one convolution: input `(batch, c_in, h, w)`, kernel `(c_out, c_in, k, k)`,
/// zero padding on every side, the same stride in both directions, no dilation or groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

/// How many positions a `kernel` window takes along `size` values padded by `padding` on each
/// side, `stride` apart (torch's floor rule); the caller has checked the window fits.
pub(super) fn window_positions(size: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    (size + 2 * padding - kernel) / stride + 1
}

impl ConvGeometry {
    pub fn out_h(&self) -> usize {
        window_positions(self.h, self.kernel, self.stride, self.padding)
    }

    pub fn out_w(&self) -> usize {
        window_positions(self.w, self.kernel, self.stride, self.padding)
    }

    /// Rows of the unrolled image: `c_in · k · k`.
    pub(crate) fn patch_len(&self) -> usize {
        self.c_in * self.kernel * self.kernel
    }

    /// Output pixels per channel: `out_h · out_w`.
    pub(crate) fn pixels(&self) -> usize {
        self.out_h() * self.out_w()
    }

    pub(crate) fn input_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// A 1x1, stride-1, unpadded convolution: the image already is its own unrolled matrix.
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.padding == 0
    }
}

/// The output columns `ox` whose input column `ox·stride + kx − padding` lies inside `0..w`,
/// as a range `lo..hi` of `0..out_w`.
fn valid_columns(g: &ConvGeometry, kx: usize) -> (usize, usize) {
    let ow = g.out_w();
    let lo = g.padding.saturating_sub(kx).div_ceil(g.stride).min(ow);
    let hi = (g.w + g.padding)
        .saturating_sub(kx)
        .div_ceil(g.stride)
        .min(ow);
    (lo, hi.max(lo))
}

/// Unrolls one image `(c_in, h, w)` into the `(c_in·k·k) × pixels` block of `col` whose rows
/// are `row_stride` apart: row `(c, ky, kx)` holds the input pixel under kernel tap `(ky, kx)`
/// for every output pixel.
pub(super) fn im2col<T: WithDType>(
    g: &ConvGeometry,
    image: &[T],
    col: &mut [T],
    row_stride: usize,
) {
    let (ow, k, pixels) = (g.out_w(), g.kernel, g.pixels());
    for (c, plane) in image.chunks_exact(g.h * g.w).enumerate() {
        for ky in 0..k {
            for kx in 0..k {
                let row = &mut col[((c * k + ky) * k + kx) * row_stride..][..pixels];
                let (lo, hi) = valid_columns(g, kx);
                for (oy, out) in row.chunks_exact_mut(ow).enumerate() {
                    let iy = (oy * g.stride + ky).wrapping_sub(g.padding);
                    if iy >= g.h {
                        out.fill(T::zero());
                        continue;
                    }
                    let src = &plane[iy * g.w..][..g.w];
                    out[..lo].fill(T::zero());
                    out[hi..].fill(T::zero());
                    if lo == hi {
                        // No output column reads inside the row (a tap beyond a tiny input).
                        continue;
                    }
                    let first = lo * g.stride + kx - g.padding;
                    if g.stride == 1 {
                        out[lo..hi].copy_from_slice(&src[first..first + hi - lo]);
                    } else {
                        let src = src[first..].iter().step_by(g.stride);
                        for (o, s) in out[lo..hi].iter_mut().zip(src) {
                            *o = *s;
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every entry of the block of `col` to the input pixel it was
/// read from. `image` must start zeroed.
pub(super) fn col2im<T: WithDType>(
    g: &ConvGeometry,
    col: &[T],
    row_stride: usize,
    image: &mut [T],
) {
    let (ow, k, pixels) = (g.out_w(), g.kernel, g.pixels());
    for (c, plane) in image.chunks_exact_mut(g.h * g.w).enumerate() {
        for ky in 0..k {
            for kx in 0..k {
                let row = &col[((c * k + ky) * k + kx) * row_stride..][..pixels];
                let (lo, hi) = valid_columns(g, kx);
                for (oy, out) in row.chunks_exact(ow).enumerate() {
                    let iy = (oy * g.stride + ky).wrapping_sub(g.padding);
                    if iy >= g.h || lo == hi {
                        continue;
                    }
                    let dst = &mut plane[iy * g.w..][..g.w];
                    let first = lo * g.stride + kx - g.padding;
                    let dst = dst[first..].iter_mut().step_by(g.stride);
                    for (d, o) in dst.zip(&out[lo..hi]) {
                        *d += *o;
                    }
                }
            }
        }
    }
}

/// Lays the images of an NCHW `block` (`rows × pixels` values each) side by side as one
/// `rows × (images·pixels)` matrix in `mat`.
fn gather<T: WithDType>(block: &[T], rows: usize, pixels: usize, mat: &mut [T]) {
    let cols = block.len() / rows;
    for (i, image) in block.chunks_exact(rows * pixels).enumerate() {
        for (r, src) in image.chunks_exact(pixels).enumerate() {
            mat[r * cols + i * pixels..][..pixels].copy_from_slice(src);
        }
    }
}

/// The inverse of [`gather`].
fn scatter<T: WithDType>(mat: &[T], rows: usize, pixels: usize, block: &mut [T]) {
    let cols = block.len() / rows;
    for (i, image) in block.chunks_exact_mut(rows * pixels).enumerate() {
        for (r, dst) in image.chunks_exact_mut(pixels).enumerate() {
            dst.copy_from_slice(&mat[r * cols + i * pixels..][..pixels]);
        }
    }
}

/// `block` as a [`gather`]ed matrix: itself when it holds one image, else gathered into `buf`.
fn as_matrix<'a, T: WithDType>(
    block: &'a [T],
    rows: usize,
    pixels: usize,
    buf: &'a mut [T],
) -> &'a [T] {
    if block.len() == rows * pixels {
        block
    } else {
        gather(block, rows, pixels, &mut buf[..block.len()]);
        &buf[..block.len()]
    }
}

/// The unrolled matrix `(c_in·k·k) × (images·pixels)` of the images in `block`.
fn unroll<'a, T: WithDType>(g: &ConvGeometry, block: &'a [T], col: &'a mut [T]) -> &'a [T] {
    if g.is_pointwise() {
        return as_matrix(block, g.c_in, g.pixels(), col);
    }
    let images = block.len() / g.input_len();
    let cols = images * g.pixels();
    for (i, image) in block.chunks_exact(g.input_len()).enumerate() {
        im2col(g, image, &mut col[i * g.pixels()..], cols);
    }
    &col[..g.patch_len() * cols]
}

/// A row-major or transposed view of a matrix for [`matmul`]: `(data, row stride, column
/// stride)`.
type View<'a, T> = (&'a [T], isize, isize);

/// `dst (m×n, row-major) = [dst +] lhs (m×k) · rhs (k×n)`.
fn matmul<T: WithDType>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    accumulate: bool,
    (lhs, lhs_rs, lhs_cs): View<T>,
    (rhs, rhs_rs, rhs_cs): View<T>,
    parallelism: Parallelism,
) {
    let span = |rs: isize, cs: isize, rows: usize, cols: usize| {
        (rows.saturating_sub(1) as isize * rs + cols.saturating_sub(1) as isize * cs) as usize + 1
    };
    debug_assert!(lhs_rs >= 0 && lhs_cs >= 0 && rhs_rs >= 0 && rhs_cs >= 0);
    assert!(dst.len() >= m * n, "matmul: dst too short");
    assert!(
        lhs.len() >= span(lhs_rs, lhs_cs, m, k),
        "matmul: lhs too short"
    );
    assert!(
        rhs.len() >= span(rhs_rs, rhs_cs, k, n),
        "matmul: rhs too short"
    );
    // SAFETY: the asserts above keep every element gemm addresses (row i, column j at
    // i·rs + j·cs, strides non-negative) inside the three slices; dst is borrowed mutably and
    // does not alias lhs or rhs. gemm supports f32 and f64, the only types our callers pass.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Images go through the products in groups whose matrices are about this many columns wide,
/// so that the small maps of the deep layers (4x4, 2x2 at 64x64 input) still make GEMMs wide
/// enough for the SIMD kernels.
const GROUP_COLUMNS: usize = 128;

/// How a batch is spread over the threads.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Images per group (the last group may have fewer).
    group: usize,
    /// Groups on separate threads, each product single-threaded; otherwise one group at a time
    /// with multi-threaded products.
    across_groups: bool,
    parallelism: Parallelism,
}

impl Plan {
    fn new(g: &ConvGeometry, threads: usize) -> Self {
        let per_thread = g.batch.div_ceil(threads).max(1);
        let group = GROUP_COLUMNS.div_ceil(g.pixels()).clamp(1, per_thread);
        let across_groups = threads > 1 && g.batch.div_ceil(group) >= threads;
        let parallelism = if threads > 1 && !across_groups {
            Parallelism::Rayon(threads)
        } else {
            Parallelism::None
        };
        Self {
            group,
            across_groups,
            parallelism,
        }
    }
}

/// One worker's buffers: the unrolled matrix, and a `c_out`-row matrix for gathered outputs or
/// gradients. A buffer the plan never uses stays empty: a single image is its own matrix when
/// the convolution is pointwise, and needs no gathering.
struct Scratch<T> {
    col: Vec<T>,
    out: Vec<T>,
}

impl<T: WithDType> Scratch<T> {
    fn new(g: &ConvGeometry, plan: &Plan) -> Self {
        let cols = plan.group * g.pixels();
        let single = plan.group == 1;
        let col = if single && g.is_pointwise() {
            0
        } else {
            g.patch_len() * cols
        };
        let out = if single { 0 } else { g.c_out * cols };
        Self {
            col: vec![T::zero(); col],
            out: vec![T::zero(); out],
        }
    }
}

/// Runs `f(input group, output group, scratch, parallelism)` over the groups of images:
/// `input` and `output` hold `in_len` and `out_len` values per image.
fn for_each_group<T: WithDType>(
    g: &ConvGeometry,
    (input, in_len): (&[T], usize),
    (output, out_len): (&mut [T], usize),
    f: impl Fn(&[T], &mut [T], &mut Scratch<T>, Parallelism) + Sync,
) {
    let threads = rayon::current_num_threads();
    let plan = Plan::new(g, threads);
    let (in_chunk, out_chunk) = (plan.group * in_len, plan.group * out_len);
    if plan.across_groups {
        // At most one task (and one set of buffers) per thread.
        let per_task = g.batch.div_ceil(plan.group).div_ceil(threads);
        input
            .par_chunks(in_chunk)
            .zip(output.par_chunks_mut(out_chunk))
            .with_min_len(per_task)
            .for_each_init(
                || Scratch::new(g, &plan),
                |scratch, (x, y)| f(x, y, scratch, plan.parallelism),
            );
    } else {
        let mut scratch = Scratch::new(g, &plan);
        for (x, y) in input.chunks(in_chunk).zip(output.chunks_mut(out_chunk)) {
            f(x, y, &mut scratch, plan.parallelism);
        }
    }
}

/// `conv2d(x, w)`: `x` is `(batch, c_in, h, w)`, `w` is `(c_out, c_in, k, k)`, both contiguous;
/// returns `(batch, c_out, out_h, out_w)`.
pub fn forward<T: WithDType>(g: &ConvGeometry, x: &[T], w: &[T]) -> Vec<T> {
    let (pixels, patch) = (g.pixels(), g.patch_len());
    let mut y = vec![T::zero(); g.batch * g.c_out * pixels];
    let input = (x, g.input_len());
    let output = (y.as_mut_slice(), g.c_out * pixels);
    for_each_group(g, input, output, |x, y, scratch, par| {
        let cols = y.len() / g.c_out;
        let col = unroll(g, x, &mut scratch.col);
        let (w, col) = ((w, patch as isize, 1), (col, cols as isize, 1));
        if cols == pixels {
            matmul((g.c_out, cols, patch), y, false, w, col, par);
        } else {
            matmul((g.c_out, cols, patch), &mut scratch.out, false, w, col, par);
            scatter(&scratch.out, g.c_out, pixels, y);
        }
    });
    y
}

/// The gradient of [`forward`] with respect to `x`, given `dy` = d(loss)/d(y).
pub fn input_grad<T: WithDType>(g: &ConvGeometry, dy: &[T], w: &[T]) -> Vec<T> {
    let (pixels, patch) = (g.pixels(), g.patch_len());
    let mut dx = vec![T::zero(); g.batch * g.input_len()];
    let input = (dy, g.c_out * pixels);
    let output = (dx.as_mut_slice(), g.input_len());
    for_each_group(g, input, output, |dy, dx, scratch, par| {
        let cols = dy.len() / g.c_out;
        let Scratch { col, out } = scratch;
        let dy = (as_matrix(dy, g.c_out, pixels, out), cols as isize, 1);
        // Wᵀ: element (row r, column o) of the (patch × c_out) matrix is w[o·patch + r].
        let wt = (w, 1, patch as isize);
        if g.is_pointwise() && cols == pixels {
            matmul((patch, cols, g.c_out), dx, false, wt, dy, par);
            return;
        }
        let col = &mut col[..patch * cols];
        matmul((patch, cols, g.c_out), col, false, wt, dy, par);
        if g.is_pointwise() {
            scatter(col, g.c_in, pixels, dx);
        } else {
            for (i, image) in dx.chunks_exact_mut(g.input_len()).enumerate() {
                col2im(g, &col[i * pixels..], cols, image);
            }
        }
    });
    dx
}

/// The gradient of [`forward`] with respect to `w`, given `dy` = d(loss)/d(y).
pub fn kernel_grad<T: WithDType>(g: &ConvGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    let (pixels, patch) = (g.pixels(), g.patch_len());
    let plan = Plan::new(g, rayon::current_num_threads());
    let groups: Vec<(&[T], &[T])> = x
        .chunks(plan.group * g.input_len())
        .zip(dy.chunks(plan.group * g.c_out * pixels))
        .collect();
    let workers = if plan.across_groups {
        rayon::current_num_threads().min(groups.len())
    } else {
        1
    };
    // Worker j sums the groups j, j + workers, ... into its own (c_out × patch) matrix.
    let partial = |j: usize| -> Vec<T> {
        let mut dw = vec![T::zero(); g.c_out * patch];
        let Scratch { mut col, mut out } = Scratch::new(g, &plan);
        for (step, (x, dy)) in groups.iter().skip(j).step_by(workers).enumerate() {
            let cols = dy.len() / g.c_out;
            let col = unroll(g, x, &mut col);
            let dy = (as_matrix(dy, g.c_out, pixels, &mut out), cols as isize, 1);
            // col(x)ᵀ: element (column c, row r) of the (cols × patch) matrix is col[r·cols + c].
            let colt = (col, 1, cols as isize);
            let dims = (g.c_out, patch, cols);
            matmul(dims, &mut dw, step > 0, dy, colt, plan.parallelism);
        }
        dw
    };
    let mut partials = (0..workers)
        .into_par_iter()
        .map(partial)
        .collect::<Vec<_>>();
    let mut dw = partials
        .pop()
        .unwrap_or_else(|| vec![T::zero(); g.c_out * patch]);
    for p in partials {
        for (a, b) in dw.iter_mut().zip(p) {
            *a += b;
        }
    }
    dw
}

/// `conv2d(xs, kernel)` on the CPU with the kernels above, forward and backward. `xs` is
/// `(batch, c_in, h, w)`, `kernel` `(c_out, c_in, k, k)` with a square `k`; the caller
/// ([`super::conv::conv2d`]) has checked that the channels agree, that the padded input covers
/// the kernel and that the stride is positive.
pub(crate) fn conv2d(
    xs: &Tensor,
    kernel: &Tensor,
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    let (batch, c_in, h, w) = xs.dims4()?;
    let (c_out, _, k_h, k_w) = kernel.dims4()?;
    if k_h != k_w {
        bail!("cpu conv2d: kernel {:?} is not square", kernel.dims());
    }
    let g = ConvGeometry {
        batch,
        c_in,
        h,
        w,
        c_out,
        kernel: k_h,
        stride,
        padding,
    };
    let op = ConvOp {
        product: Product::Forward,
        g,
    };
    xs.contiguous()?.apply_op2(&kernel.contiguous()?, op)
}

/// Which of the three kernels a [`ConvOp`] runs, and on which two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Product {
    /// `y` from `(x, w)`; its backward applies the other two.
    Forward,
    /// `dx` from `(dy, w)`.
    InputGrad,
    /// `dw` from `(x, dy)`.
    KernelGrad,
}

/// One of the kernels as a candle op on two f32 or two f64 storages.
#[derive(Clone, Copy, Debug)]
struct ConvOp {
    product: Product,
    g: ConvGeometry,
}

impl ConvOp {
    fn run<T: WithDType>(&self, a: &[T], b: &[T]) -> Vec<T> {
        match self.product {
            Product::Forward => forward(&self.g, a, b),
            Product::InputGrad => input_grad(&self.g, a, b),
            Product::KernelGrad => kernel_grad(&self.g, a, b),
        }
    }

    /// The two arguments' names, for errors.
    fn arguments(&self) -> [&'static str; 2] {
        match self.product {
            Product::Forward => ["input", "kernel"],
            Product::InputGrad => ["gradient", "kernel"],
            Product::KernelGrad => ["input", "gradient"],
        }
    }

    /// The two arguments' element counts.
    #[cfg(feature = "cuda")]
    fn argument_lens(&self) -> [usize; 2] {
        let g = &self.g;
        let (x, w, y) = (
            g.batch * g.input_len(),
            g.c_out * g.patch_len(),
            g.batch * g.c_out * g.pixels(),
        );
        match self.product {
            Product::Forward => [x, w],
            Product::InputGrad => [y, w],
            Product::KernelGrad => [x, y],
        }
    }

    fn shape(&self) -> Shape {
        let g = &self.g;
        match self.product {
            Product::Forward => Shape::from((g.batch, g.c_out, g.out_h(), g.out_w())),
            Product::InputGrad => Shape::from((g.batch, g.c_in, g.h, g.w)),
            Product::KernelGrad => Shape::from((g.c_out, g.c_in, g.kernel, g.kernel)),
        }
    }

    /// The same geometry, another kernel.
    fn with(self, product: Product) -> Self {
        Self { product, ..self }
    }
}

/// The storage of a contiguous tensor as a slice; `what` names it in the error (`op: argument`).
pub(super) fn contiguous<'a, T>(data: &'a [T], layout: &Layout, what: &str) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("{what} must be contiguous, got {layout:?}"),
    }
}

impl CustomOp2 for ConvOp {
    fn name(&self) -> &'static str {
        match self.product {
            Product::Forward => "cpu-conv2d",
            Product::InputGrad => "cpu-conv2d-input-grad",
            Product::KernelGrad => "cpu-conv2d-kernel-grad",
        }
    }

    fn cpu_fwd(
        &self,
        a: &CpuStorage,
        la: &Layout,
        b: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let [a_is, b_is] = self.arguments();
        let (name_a, name_b) = (
            &format!("cpu conv2d: {a_is}"),
            &format!("cpu conv2d: {b_is}"),
        );
        let out = match (a, b) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                CpuStorage::F32(self.run(contiguous(a, la, name_a)?, contiguous(b, lb, name_b)?))
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                CpuStorage::F64(self.run(contiguous(a, la, name_a)?, contiguous(b, lb, name_b)?))
            }
            _ => bail!(
                "cpu conv2d supports f32 and f64, got {:?} and {:?}",
                a.dtype(),
                b.dtype()
            ),
        };
        Ok((out, self.shape()))
    }

    /// The same products on CUDA ([`super::cuda_conv`]), f32.
    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        a: &candle_core::CudaStorage,
        la: &Layout,
        b: &candle_core::CudaStorage,
        lb: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use super::cuda_conv;
        let [a_is, b_is] = self.arguments();
        let [a_len, b_len] = self.argument_lens();
        let a_v = crate::cuda::sized_view(a, la, a_len, &format!("conv2d: {a_is}"))?;
        let b_v = crate::cuda::sized_view(b, lb, b_len, &format!("conv2d: {b_is}"))?;
        let dev = a.device();
        let out = match self.product {
            Product::Forward => cuda_conv::forward(dev, &self.g, &a_v, &b_v)?,
            Product::InputGrad => cuda_conv::input_grad(dev, &self.g, &a_v, &b_v)?,
            Product::KernelGrad => cuda_conv::kernel_grad(dev, &self.g, &a_v, &b_v)?,
        };
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(out, dev.clone()),
            self.shape(),
        ))
    }

    fn bwd(
        &self,
        xs: &Tensor,
        kernel: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if self.product != Product::Forward {
            bail!("cpu conv2d: no second-order gradients ({})", self.name());
        }
        let grad = grad.contiguous()?;
        let dx = if xs.track_op() {
            Some(grad.apply_op2_no_bwd(kernel, &self.with(Product::InputGrad))?)
        } else {
            None
        };
        let dw = if kernel.track_op() {
            Some(xs.apply_op2_no_bwd(&grad, &self.with(Product::KernelGrad))?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::symmetric_values as values;

    /// Direct loops over the convolution's definition: `(y, dx, dw)` for `x`, `w` and `dy`.
    fn reference(g: &ConvGeometry, x: &[f64], w: &[f64], dy: &[f64]) -> [Vec<f64>; 3] {
        let (oh, ow, k) = (g.out_h(), g.out_w(), g.kernel);
        let mut y = vec![0.0; g.batch * g.c_out * oh * ow];
        let mut dx = vec![0.0; x.len()];
        let mut dw = vec![0.0; w.len()];
        for n in 0..g.batch {
            for o in 0..g.c_out {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let yi = ((n * g.c_out + o) * oh + oy) * ow + ox;
                        for c in 0..g.c_in {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * g.stride + ky) as isize - g.padding as isize;
                                    let ix = (ox * g.stride + kx) as isize - g.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize
                                    {
                                        continue;
                                    }
                                    let (iy, ix) = (iy as usize, ix as usize);
                                    let xi = ((n * g.c_in + c) * g.h + iy) * g.w + ix;
                                    let wi = ((o * g.c_in + c) * k + ky) * k + kx;
                                    y[yi] += x[xi] * w[wi];
                                    dx[xi] += dy[yi] * w[wi];
                                    dw[wi] += dy[yi] * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        [y, dx, dw]
    }

    fn max_diff(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn kernels_match_the_definition_for_any_thread_count() {
        // (batch, c_in, size, c_out, kernel, stride, padding): small maps that get grouped
        // (2x2, 4x4 outputs), a pointwise layer, strided and padded layers, a 7x7 stem, an
        // uneven last group.
        let cases = [
            (7, 3, 4, 5, 3, 1, 1),
            (9, 4, 4, 3, 3, 2, 1),
            (7, 6, 3, 4, 1, 1, 0),
            (5, 4, 5, 3, 1, 2, 0),
            (3, 2, 11, 4, 7, 2, 3),
            (2, 3, 9, 2, 5, 1, 2),
            // One image per group (156 pixels), 7 groups: kernel-gradient workers sum several.
            (7, 2, 12, 3, 3, 1, 1),
            // Taps that reach past a tiny input: the stem at 1-2 px, AlexNet's 5x5 at 1 px.
            (2, 3, 1, 4, 7, 2, 3),
            (2, 3, 2, 4, 7, 2, 3),
            (2, 2, 1, 3, 5, 1, 2),
        ];
        for ((batch, c_in, size, c_out, kernel, stride, padding), extra) in
            cases.into_iter().flat_map(|c| [(c, 0), (c, 1)])
        {
            let g = ConvGeometry {
                batch,
                c_in,
                h: size,
                w: size + extra,
                c_out,
                kernel,
                stride,
                padding,
            };
            let x = values(batch * c_in * g.h * g.w, 1);
            let w = values(c_out * c_in * kernel * kernel, 2);
            let dy = values(batch * c_out * g.out_h() * g.out_w(), 3);
            let [y_ref, dx_ref, dw_ref] = reference(&g, &x, &w, &dy);
            for threads in [1, 2, 3] {
                let (y, dx, dw) = super::super::with_threads(threads, || {
                    (
                        forward(&g, &x, &w),
                        input_grad(&g, &dy, &w),
                        kernel_grad(&g, &x, &dy),
                    )
                });
                for (name, ours, truth) in
                    [("y", y, &y_ref), ("dx", dx, &dx_ref), ("dw", dw, &dw_ref)]
                {
                    let d = max_diff(&ours, truth);
                    assert!(d < 1e-12, "{g:?}, {threads} threads: {name} differs by {d}");
                }
            }
        }
    }

    #[test]
    fn plan_groups_small_maps_and_spreads_groups_over_threads() {
        let geometry = |batch, size| ConvGeometry {
            batch,
            c_in: 8,
            h: size,
            w: size,
            c_out: 8,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        let plan = |batch, size, threads| {
            let p = Plan::new(&geometry(batch, size), threads);
            (p.group, p.across_groups)
        };
        // 2x2 maps: 32 images per 128 columns, but at most half the batch per thread.
        assert_eq!(plan(32, 2, 2), (16, true));
        assert_eq!(plan(32, 2, 1), (32, false));
        // 16x16 maps are wide enough alone.
        assert_eq!(plan(32, 16, 2), (1, true));
        // 4x4 maps on 16 threads: 2 images per group, 16 groups.
        assert_eq!(plan(32, 4, 16), (2, true));
        // One image: multi-threaded products.
        assert_eq!(plan(1, 2, 2), (1, false));
        assert!(matches!(
            Plan::new(&geometry(1, 2), 2).parallelism,
            Parallelism::Rayon(2)
        ));
    }
}
