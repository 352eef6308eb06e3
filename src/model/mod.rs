//! The networks: torchvision's AlexNet, ResNet-18 and ResNet-152 with their classifier replaced
//! by a linear embedding layer of `dim` outputs (FaceNet style). The embeddings are raw; the
//! trainer L2-normalises them only with `--normalize` (off by default, as in the seed).
//!
//! Build one with a `VarBuilder::from_varmap(&varmap, DType::F32, &device)` (the trainer uses
//! [`crate::train::params::Params::builder`], which draws the initial weights from the run's
//! seed); all variables, including BatchNorm running statistics, live in the `VarMap` under
//! torchvision's names, so `VarMap::save` writes complete checkpoints. Running statistics never
//! receive gradients, and the project's [`crate::train::adam::Adam`] (like candle's
//! optimisers) updates only variables that have one, weight decay included, so passing all
//! variables to the optimiser is fine.
//!
//! Training passes go through [`EmbeddingNet::forward_train`], which takes the generator of
//! AlexNet's dropout masks ([`dropout`]); `ModuleT::forward_t` is for evaluation.
//!
//! * [`pool`]: differentiable max pooling with padding (candle has no backward for
//!   kernel != stride) and torch's adaptive average pooling.
//! * [`conv`]: conv2d with its own backward (candle's goes through `conv_transpose2d` and
//!   always computes the input gradient); on the CPU, [`cpu_conv`]'s im2col + GEMM kernels,
//!   on CUDA the same plan with cuBLAS ([`cuda_conv`]).
//!
//! Convolution, batch norm, max pooling and ReLU run on kernels of this crate on the CPU
//! (`cpu_*`, [`relu`]) and, with the `cuda` feature, on CUDA (`cuda_*`, `src/cuda`); candle's
//! ops run elsewhere and for what has no kernel here.
use std::fmt;
use std::str::FromStr;

use candle_core::{DType, ModuleT, Result, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::rng::Rng;

pub mod alexnet;
pub mod batch_norm;
pub mod conv;
pub mod cpu_batch_norm;
pub mod cpu_conv;
pub mod cpu_pool;
#[cfg(feature = "cuda")]
pub mod cuda_batch_norm;
pub mod cuda_conv;
pub mod dropout;
pub mod init;
pub mod linear;
pub mod pool;
pub mod relu;
pub mod resnet;
pub mod trace;

pub use alexnet::AlexNet;
pub use conv::ConvBackward;
pub use pool::{adaptive_avg_pool2d, max_pool2d, max_pool2d_3x3s2};
pub use resnet::ResNet;

/// The network architecture.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Alexnet,
    Resnet18,
    Resnet152,
}

impl Arch {
    pub const ALL: [Arch; 3] = [Arch::Alexnet, Arch::Resnet18, Arch::Resnet152];

    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Alexnet => "alexnet",
            Arch::Resnet18 => "resnet18",
            Arch::Resnet152 => "resnet152",
        }
    }

    /// Smallest square input (pixels) the network accepts.
    pub fn min_input_size(self) -> usize {
        match self {
            // 63 -> conv1 15 -> pool 7 -> pool 3 -> pool 1.
            Arch::Alexnet => 63,
            // Any size with a non-empty map after the stem; BatchNorm in training needs more
            // than one value per channel, i.e. batch >= 2 when layer4 is 1x1 (inputs <= 32).
            Arch::Resnet18 | Arch::Resnet152 => 1,
        }
    }

    /// Smallest square input (pixels) `run` and `bench` train on: 16 pixels leave ResNet a
    /// 1×1 map after layer3, and smaller inputs teach nothing.
    pub fn min_train_size(self) -> usize {
        self.min_input_size().max(16)
    }

    /// The linear embedding layer, where torchvision's network has its ImageNet classifier:
    /// its variables are `NAME.weight` and `NAME.bias`.
    pub fn embedding_layer(self) -> &'static str {
        match self {
            Arch::Alexnet => "classifier.6",
            Arch::Resnet18 | Arch::Resnet152 => "fc",
        }
    }

    /// The architecture whose torchvision variable names a set of weights holds (`has` says
    /// whether a name is there), if any: not VGG (whose second layer is a convolution, or in
    /// its BatchNorm variants a BatchNorm), nor ResNet-34, -50 or -101 (which have a third
    /// block in layer1, or not 36 in layer3).
    pub fn of_torchvision_names(has: impl Fn(&str) -> bool) -> Option<Arch> {
        if has("features.10.weight") && !has("features.1.weight") && !has("features.2.weight") {
            Some(Arch::Alexnet)
        } else if has("layer3.35.conv3.weight") && !has("layer3.36.conv3.weight") {
            Some(Arch::Resnet152)
        } else if has("layer4.1.conv2.weight")
            && !has("layer1.0.conv3.weight")
            && !has("layer1.2.conv1.weight")
        {
            Some(Arch::Resnet18)
        } else {
            None
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown architecture name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture {given:?}; choose one of: alexnet, resnet18, resnet152")]
pub struct UnknownArch {
    pub given: String,
}

impl FromStr for Arch {
    type Err = UnknownArch;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Arch::ALL
            .into_iter()
            .find(|a| a.as_str() == lower)
            .ok_or_else(|| UnknownArch {
                given: s.to_string(),
            })
    }
}

#[derive(Clone, Debug)]
enum Net {
    Alexnet(AlexNet),
    Resnet(ResNet),
}

/// An embedding network: `(B, 3, H, W)` f32 images in [-1, 1] to `(B, dim)` raw embeddings.
#[derive(Clone, Debug)]
pub struct EmbeddingNet {
    arch: Arch,
    dim: usize,
    net: Net,
    imagenet_norm: bool,
}

/// The per-channel mean and standard deviation of ImageNet's training images, for pixels in
/// [0, 1]: torchvision's `transforms.Normalize` for its ImageNet weights.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Images in [-1, 1] (the data pipeline's scale) as torchvision normalises ImageNet's inputs:
/// `(x01 - mean) / std` per channel, with `x01 = (x + 1) / 2`.
pub fn imagenet_normalise(xs: &Tensor) -> Result<Tensor> {
    let scale: Vec<f32> = IMAGENET_STD.iter().map(|s| 0.5 / s).collect();
    let shift: Vec<f32> = IMAGENET_MEAN
        .iter()
        .zip(IMAGENET_STD)
        .map(|(m, s)| (0.5 - m) / s)
        .collect();
    let scale = Tensor::from_vec(scale, (1, 3, 1, 1), xs.device())?;
    let shift = Tensor::from_vec(shift, (1, 3, 1, 1), xs.device())?;
    xs.broadcast_mul(&scale)?.broadcast_add(&shift)
}

impl EmbeddingNet {
    /// A randomly initialised network (torchvision's init; see [`init`]) whose variables are
    /// created in `vb` (or loaded from it, for a `VarBuilder` over a checkpoint).
    pub fn new(arch: Arch, dim: usize, vb: VarBuilder) -> Result<Self> {
        Self::with_conv_backward(arch, dim, ConvBackward::Conv, vb)
    }

    /// Like [`EmbeddingNet::new`], choosing the convolution backward (for benchmarks/tests).
    pub fn with_conv_backward(
        arch: Arch,
        dim: usize,
        backward: ConvBackward,
        vb: VarBuilder,
    ) -> Result<Self> {
        let net = match arch {
            Arch::Alexnet => Net::Alexnet(AlexNet::new(dim, backward, vb)?),
            Arch::Resnet18 => Net::Resnet(resnet::resnet18(dim, backward, vb)?),
            Arch::Resnet152 => Net::Resnet(resnet::resnet152(dim, backward, vb)?),
        };
        Ok(Self {
            arch,
            dim,
            net,
            imagenet_norm: false,
        })
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Sets AlexNet's classifier dropout probability (`0` turns it off). ResNets have no
    /// dropout and are refused.
    pub fn set_dropout(&mut self, p: f32) -> Result<()> {
        if !(0.0..1.0).contains(&p) {
            candle_core::bail!("dropout must be in [0, 1), got {p}");
        }
        match &mut self.net {
            Net::Alexnet(net) => {
                net.set_dropout(p);
                Ok(())
            }
            Net::Resnet(_) => candle_core::bail!("{} has no dropout layers", self.arch),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whether the network normalises its [-1, 1] input as torchvision does for ImageNet's
    /// weights ([`imagenet_normalise`]) before its first layer (`run --imagenet-norm`).
    pub fn set_imagenet_norm(&mut self, on: bool) {
        self.imagenet_norm = on;
    }
}

impl EmbeddingNet {
    /// A training pass: BatchNorm normalises with the batch's statistics and updates its
    /// running ones, and AlexNet's dropout layers draw their masks from `dropout`. The trainer
    /// derives that generator from the run's seed and the step, so a replayed step (a resumed
    /// run, or the same seed on another machine) drops the same units.
    pub fn forward_train(&self, xs: &Tensor, dropout: &mut Rng) -> Result<Tensor> {
        self.forward(xs, Some(dropout))
    }

    fn forward(&self, xs: &Tensor, train: Option<&mut Rng>) -> Result<Tensor> {
        let (_, c, h, w) = xs.dims4()?;
        if c != 3 {
            candle_core::bail!(
                "{} expects (B, 3, H, W) images, got {:?}",
                self.arch,
                xs.dims()
            );
        }
        let min = self.arch.min_input_size();
        if h < min || w < min {
            candle_core::bail!(
                "{} needs images of at least {min}x{min}, got {:?}",
                self.arch,
                xs.dims()
            );
        }
        let normalised;
        let xs = if self.imagenet_norm {
            normalised = imagenet_normalise(xs)?;
            &normalised
        } else {
            xs
        };
        match &self.net {
            Net::Alexnet(net) => net.forward(xs, train),
            Net::Resnet(net) => net.forward_t(xs, train.is_some()),
        }
    }
}

/// Evaluation passes (`train = false`). A training pass needs a generator for the dropout
/// masks, which this signature cannot carry: `train = true` is an error that points to
/// [`EmbeddingNet::forward_train`].
impl ModuleT for EmbeddingNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        if train {
            candle_core::bail!(
                "{}: a training pass needs a dropout generator; call EmbeddingNet::forward_train",
                self.arch
            );
        }
        self.forward(xs, None)
    }
}

/// torchvision's `zero_init_residual=True`: the weight of each residual block's last BatchNorm
/// set to zero ([`resnet::is_residual_gate`]). Returns how many blocks it gated; AlexNet has
/// none and is refused.
pub fn zero_init_residual(arch: Arch, vars: &[(String, Var)]) -> Result<usize> {
    let kind = match arch {
        Arch::Alexnet => candle_core::bail!("alexnet has no residual blocks to zero-initialise"),
        Arch::Resnet18 => resnet::BlockKind::Basic,
        Arch::Resnet152 => resnet::BlockKind::Bottleneck,
    };
    let mut n = 0;
    for (name, var) in vars {
        if resnet::is_residual_gate(kind, name) {
            var.set(&var.zeros_like()?)?;
            n += 1;
        }
    }
    Ok(n)
}

/// True for BatchNorm running statistics (`*.running_mean`, `*.running_var`): buffers in torch,
/// variables without gradients here.
pub fn is_buffer(name: &str) -> bool {
    name.ends_with(".running_mean") || name.ends_with(".running_var")
}

/// Number of trainable parameters in `varmap` (what torch's `parameters()` counts: everything
/// but the BatchNorm running statistics).
pub fn trainable_parameter_count(varmap: &VarMap) -> Result<usize> {
    let data = varmap
        .data()
        .lock()
        .map_err(|e| candle_core::Error::Msg(format!("varmap lock poisoned: {e}")))?;
    Ok(data
        .iter()
        .filter(|(name, _)| !is_buffer(name))
        .map(|(_, var)| var.elem_count())
        .sum())
}

/// Whether this module's CPU kernels (convolution, max pooling, batch norm) take `xs`: an f32
/// or f64 tensor on the CPU. Others go through candle's ops, as on CUDA.
pub(crate) fn uses_cpu_kernels(xs: &Tensor) -> bool {
    xs.device().is_cpu() && matches!(xs.dtype(), DType::F32 | DType::F64)
}

/// Whether this module's own kernels take `xs`: the CPU's ([`uses_cpu_kernels`]), or CUDA's
/// with the `cuda` feature (`uses_cuda_kernels`). The ops that have both (convolution, max
/// pooling, ReLU) dispatch inside one candle op by device.
pub(crate) fn uses_own_kernels(xs: &Tensor) -> bool {
    #[cfg(feature = "cuda")]
    if uses_cuda_kernels(xs) {
        return true;
    }
    uses_cpu_kernels(xs)
}

/// Whether this module's CUDA kernels (convolution, batch norm, max pooling, ReLU; `src/cuda`)
/// take `xs`: an f32 tensor on a CUDA device, unless `FACENET_LAB_KERNELS=candle` turned them
/// off.
#[cfg(feature = "cuda")]
pub(crate) fn uses_cuda_kernels(xs: &Tensor) -> bool {
    xs.device().is_cuda() && xs.dtype() == DType::F32 && crate::cuda::enabled()
}

/// Runs `f` on a rayon pool of `threads` threads, as the CPU kernels' tests vary it.
#[cfg(test)]
pub(crate) fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

/// candle's element-wise ops run on its own pool of worker threads, and each worker spins for
/// 25,000 rounds after every op before it sleeps (`CANDLE_BARRIER_POOL_SPIN_LIMIT`, read when
/// the pool starts, at the first such op). The convolutions, batch norms and Adam that come
/// next run on rayon's threads, so on a CPU with as many threads as cores the spinning worker
/// takes a core from them: 13% of a ResNet-18 step at 64×64 on 2 cores went to it. 1,000 rounds
/// keeps a short spin for ops that follow each other (`facenet-lab bench`, 64×64, two calls of
/// each alternating: AlexNet 64–95 to 104–105 images/s, ResNet-18 116–122 to 147–155,
/// ResNet-152 21.7–22.2 to 28.4–29.4; 224×224 and the embedding of `eval` unchanged). A value
/// the user set is kept; an empty one counts as unset.
///
/// Call it first in `main` (and in benchmarks), before any thread exists: it sets an
/// environment variable, which another thread could be reading.
pub fn short_candle_spin() {
    const VAR: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if let Some(limit) = spin_limit_to_set(std::env::var_os(VAR).as_deref()) {
        std::env::set_var(VAR, limit);
    }
}

/// The spin limit to set given the variable's value now: none when the user set one.
fn spin_limit_to_set(now: Option<&std::ffi::OsStr>) -> Option<&'static str> {
    now.is_none_or(|v| v.is_empty()).then_some("1000")
}

#[cfg(test)]
mod tests;
