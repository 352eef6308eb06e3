//! facenet-lab's own CUDA kernels (`kernels.cu`, compiled to PTX by build.rs with the `cuda`
//! feature) and what launching them takes.
//!
//! They do on the GPU what the CPU's own ops do ([`crate::model`]'s convolution, batch norm, max
//! pooling and ReLU, [`crate::train::adam`]'s fused update), with the same arithmetic, where
//! candle composes many kernels: its convolution unrolls into an NHWC matrix and copies the
//! output back (and our earlier backward added transposed copies and zero-dilated gradients),
//! candle-nn's training batch norm makes a transposed copy and about nine passes each way, max
//! pooling was a dozen strided views and `where_cond`s, the ReLU backward four passes, and Adam
//! fourteen element-wise kernels per tensor. They take contiguous f32 tensors; anything else
//! keeps candle's ops. [`check`] compares each with the CPU's on a GPU.
//!
//! `FACENET_LAB_KERNELS=candle` turns them off for the whole process, so that a benchmark can
//! set the two against each other on the same card ([`enabled`]).

use std::sync::{Arc, OnceLock};

use candle_core::cuda_backend::cudarc::driver::{
    CudaFunction, CudaSlice, CudaStream, CudaView, LaunchArgs, LaunchConfig, PushKernelArg,
};
use candle_core::cuda_backend::{CudaDevice, WrapErr};
use candle_core::{bail, CudaStorage, Layout, Result};

pub mod check;

/// The PTX of `kernels.cu`.
const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/facenet-kernels.ptx"));

/// The environment variable that chooses the kernels: `candle` for candle's ops alone.
pub const KERNELS_VAR: &str = "FACENET_LAB_KERNELS";

/// Threads per block, as `BLOCK` in `kernels.cu` (the reductions rely on it).
const BLOCK: u32 = 256;

/// Whether CUDA f32 tensors go through these kernels (unless `FACENET_LAB_KERNELS=candle`).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var(KERNELS_VAR).map_or(true, |v| v != "candle"))
}

/// A kernel of `kernels.cu` on a device's stream (candle's, so that it runs in order with
/// candle's own kernels).
pub(crate) struct Kernel {
    func: CudaFunction,
    stream: Arc<CudaStream>,
}

impl Kernel {
    /// The kernel `name`, its module loaded on `dev` once.
    pub(crate) fn new(dev: &CudaDevice, name: &str) -> Result<Kernel> {
        let func = dev
            .get_or_load_custom_func(name, "facenet-lab", PTX)?
            .into_cuda_function();
        Ok(Kernel {
            func,
            stream: dev.cuda_stream(),
        })
    }

    /// The launch, to which the caller pushes the kernel's arguments in order.
    pub(crate) fn builder(&self) -> LaunchArgs<'_> {
        self.stream.launch_builder(&self.func)
    }
}

/// Runs `name(inputs..., out, sizes...)` into a new buffer of `total` elements: the kernels
/// that take whole f32 inputs and their sizes as ints, and write each output element from one
/// thread (ReLU, im2col, col2im, max pooling). They index in 32 bits: every buffer must be
/// under 2^31 elements.
pub(crate) fn launch_sized(
    dev: &CudaDevice,
    name: &str,
    inputs: &[&CudaView<'_, f32>],
    sizes: &[i32],
    total: usize,
) -> Result<CudaSlice<f32>> {
    for len in inputs.iter().map(|x| x.len()).chain([total]) {
        int(len, &format!("{name}: elements"))?;
    }
    // SAFETY: every thread writes its own elements of `out`, `total` in all.
    let mut out = unsafe { dev.alloc::<f32>(total)? };
    let k = Kernel::new(dev, name)?;
    let mut b = k.builder();
    for x in inputs {
        b.arg(*x);
    }
    b.arg(&mut out);
    for v in sizes {
        b.arg(v);
    }
    // SAFETY: the caller names a kernel of this signature.
    unsafe { b.launch(elementwise(total)) }.w()?;
    Ok(out)
}

/// A grid-stride launch over `total` elements.
pub(crate) fn elementwise(total: usize) -> LaunchConfig {
    let blocks = total.div_ceil(BLOCK as usize).clamp(1, 1 << 16) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// One block per channel.
pub(crate) fn per_channel(channels: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (channels as u32, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// The f32 elements of a contiguous tensor's storage; `what` names it in errors.
pub(crate) fn view<'a>(s: &'a CudaStorage, l: &Layout, what: &str) -> Result<CudaView<'a, f32>> {
    let Some((start, end)) = l.contiguous_offsets() else {
        bail!("{what} is not contiguous ({l:?})");
    };
    Ok(s.as_cuda_slice::<f32>()?.slice(start..end))
}

/// [`view`], checked to hold the `len` elements the kernel will index: a kernel has no bounds
/// checks of its own.
pub(crate) fn sized_view<'a>(
    s: &'a CudaStorage,
    l: &Layout,
    len: usize,
    what: &str,
) -> Result<CudaView<'a, f32>> {
    let v = view(s, l, what)?;
    if v.len() != len {
        bail!("{what} has {} elements where {len} are expected", v.len());
    }
    Ok(v)
}

/// Sizes as the kernels' `int`s, or an error naming `what`.
pub(crate) fn ints<const N: usize>(sizes: [usize; N], what: &str) -> Result<[i32; N]> {
    let mut out = [0; N];
    for (o, n) in out.iter_mut().zip(sizes) {
        *o = int(n, what)?;
    }
    Ok(out)
}

/// `n` as the kernels' `int`, or an error naming `what`.
pub(crate) fn int(n: usize, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| candle_core::Error::Msg(format!("{what} ({n}) exceeds i32")))
}
