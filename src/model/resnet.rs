//! torchvision's ResNet (v1.5: in a Bottleneck the stride sits on the 3x3 conv) with the final
//! `fc` replaced by a `Linear(512 * expansion, dim)` embedding layer. Variable names follow
//! torchvision (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, ..., `fc`).
//!
//! Init as torchvision: convs kaiming_normal (fan_out, relu), BatchNorm weight 1 bias 0,
//! `zero_init_residual=False` unless asked for ([`is_residual_gate`]); the `fc` embedding is
//! N(0, 0.02), bias 0.
use candle_core::{Module, ModuleT, Result, Tensor};
use candle_nn::VarBuilder;

use super::batch_norm::BatchNorm2d;
use super::conv::{Conv2d, ConvBackward, ConvSpec};
use super::init::{embedding_linear, KAIMING_NORMAL_FAN_OUT};
use super::linear::Linear;
use super::pool::max_pool2d_3x3s2;
use super::relu::relu;

/// Residual block type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// Two 3x3 convs, expansion 1 (ResNet-18/34).
    Basic,
    /// 1x1, 3x3 (strided), 1x1 convs, expansion 4 (ResNet-50/101/152).
    Bottleneck,
}

impl BlockKind {
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

fn conv(spec: ConvSpec, backward: ConvBackward, vb: VarBuilder) -> Result<Conv2d> {
    // torchvision ResNet convs have no bias.
    Conv2d::new(spec, KAIMING_NORMAL_FAN_OUT, None, backward, vb)
}

/// Whether `name` is the weight of a residual block's last BatchNorm (`layerI.J.bn2.weight` in
/// a BasicBlock, `bn3` in a Bottleneck): what torchvision's `zero_init_residual=True` starts at
/// zero, so that every block begins as the identity and a deep network trains like a shallow
/// one at first (Goyal et al., 2017).
pub fn is_residual_gate(kind: BlockKind, name: &str) -> bool {
    let last = match kind {
        BlockKind::Basic => "bn2",
        BlockKind::Bottleneck => "bn3",
    };
    match name.split('.').collect::<Vec<_>>()[..] {
        [layer, block, bn, "weight"] => {
            layer.starts_with("layer") && block.parse::<usize>().is_ok() && bn == last
        }
        _ => false,
    }
}

#[derive(Clone, Debug)]
struct ConvBn {
    conv: Conv2d,
    bn: BatchNorm2d,
}

impl ConvBn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        self.bn.forward_t(&self.conv.forward(xs)?, train)
    }

    /// `relu(self.forward_t(xs, train))`.
    fn forward_relu(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        self.bn.forward_relu(&self.conv.forward(xs)?, train)
    }
}

/// One residual block: `relu(convs(x) + shortcut(x))`.
#[derive(Clone, Debug)]
struct Block {
    /// (conv, bn) pairs named conv1/bn1, conv2/bn2[, conv3/bn3]; ReLU between them.
    layers: Vec<ConvBn>,
    /// `downsample.0` (1x1 conv, strided) and `downsample.1` (BN) when shapes change.
    downsample: Option<ConvBn>,
}

impl Block {
    fn new(
        kind: BlockKind,
        in_planes: usize,
        planes: usize,
        stride: usize,
        backward: ConvBackward,
        vb: VarBuilder,
    ) -> Result<Self> {
        let out_planes = planes * kind.expansion();
        let specs = match kind {
            BlockKind::Basic => vec![
                ConvSpec::new(in_planes, planes, 3, stride, 1),
                ConvSpec::new(planes, planes, 3, 1, 1),
            ],
            BlockKind::Bottleneck => vec![
                ConvSpec::new(in_planes, planes, 1, 1, 0),
                ConvSpec::new(planes, planes, 3, stride, 1),
                ConvSpec::new(planes, out_planes, 1, 1, 0),
            ],
        };
        let layers = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                Ok(ConvBn {
                    conv: conv(spec, backward, vb.pp(format!("conv{}", i + 1)))?,
                    bn: BatchNorm2d::new(spec.c_out, vb.pp(format!("bn{}", i + 1)))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let downsample = if stride != 1 || in_planes != out_planes {
            let vb = vb.pp("downsample");
            Some(ConvBn {
                conv: conv(
                    ConvSpec::new(in_planes, out_planes, 1, stride, 0),
                    backward,
                    vb.pp("0"),
                )?,
                bn: BatchNorm2d::new(out_planes, vb.pp("1"))?,
            })
        } else {
            None
        };
        Ok(Self { layers, downsample })
    }

    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let mut ys = xs.clone();
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            ys = if i < last {
                layer.forward_relu(&ys, train)?
            } else {
                layer.forward_t(&ys, train)?
            };
        }
        let shortcut = match &self.downsample {
            Some(ds) => ds.forward_t(xs, train)?,
            None => xs.clone(),
        };
        relu(&(ys + shortcut)?)
    }
}

/// A ResNet embedding network: input `(B, 3, H, W)`, output `(B, dim)`.
#[derive(Clone, Debug)]
pub struct ResNet {
    stem: ConvBn,
    layers: Vec<Vec<Block>>,
    fc: Linear,
}

impl ResNet {
    /// torchvision's `ResNet(block, layers)` with `fc = Linear(512 * expansion, dim)`.
    pub fn new(
        kind: BlockKind,
        blocks: [usize; 4],
        dim: usize,
        backward: ConvBackward,
        vb: VarBuilder,
    ) -> Result<Self> {
        let stem = ConvBn {
            conv: conv(ConvSpec::new(3, 64, 7, 2, 3), backward, vb.pp("conv1"))?,
            bn: BatchNorm2d::new(64, vb.pp("bn1"))?,
        };
        let mut in_planes = 64;
        let mut layers = Vec::with_capacity(4);
        for (i, (&n, planes)) in blocks.iter().zip([64, 128, 256, 512]).enumerate() {
            let vb_layer = vb.pp(format!("layer{}", i + 1));
            let stride = if i == 0 { 1 } else { 2 };
            let mut layer = Vec::with_capacity(n);
            for j in 0..n {
                let s = if j == 0 { stride } else { 1 };
                layer.push(Block::new(
                    kind,
                    in_planes,
                    planes,
                    s,
                    backward,
                    vb_layer.pp(j.to_string()),
                )?);
                in_planes = planes * kind.expansion();
            }
            layers.push(layer);
        }
        let fc = embedding_linear(in_planes, dim, vb.pp("fc"))?;
        Ok(Self { stem, layers, fc })
    }
}

/// ResNet-18: BasicBlock, [2, 2, 2, 2].
pub fn resnet18(dim: usize, backward: ConvBackward, vb: VarBuilder) -> Result<ResNet> {
    ResNet::new(BlockKind::Basic, [2, 2, 2, 2], dim, backward, vb)
}

/// ResNet-152: Bottleneck, [3, 8, 36, 3].
pub fn resnet152(dim: usize, backward: ConvBackward, vb: VarBuilder) -> Result<ResNet> {
    ResNet::new(BlockKind::Bottleneck, [3, 8, 36, 3], dim, backward, vb)
}

impl ModuleT for ResNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let mut ys = self.stem.forward_relu(xs, train)?;
        ys = max_pool2d_3x3s2(&ys, 1)?;
        for layer in &self.layers {
            for block in layer {
                ys = block.forward_t(&ys, train)?;
            }
        }
        // AdaptiveAvgPool2d((1, 1)) + flatten.
        let ys = ys.mean((2, 3))?;
        self.fc.forward(&ys)
    }
}
