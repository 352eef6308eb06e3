//! torchvision's AlexNet with the last classifier layer (`classifier.6`) replaced by a
//! `Linear(4096, dim)` embedding layer. Variable names follow torchvision (`features.0`,
//! `features.3`, ..., `classifier.1`, `classifier.4`, `classifier.6`).
//!
//! Init: torchvision's AlexNet uses PyTorch's layer defaults, which we reproduce
//! (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases); `classifier.6` is N(0, 0.02),
//! bias 0.
//!
//! Minimum input size: 63x63 (the third 3x3/2 max-pool needs a 3x3 map); smaller inputs fail
//! with an error naming the shape, as in torch.
//!
//! Dropout draws its masks from a generator the caller passes (see [`super::dropout`]), so a
//! training step is reproducible; there is no `ModuleT` impl, whose `train` flag has no room
//! for one.
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::conv::{Conv2d, ConvBackward, ConvSpec};
use super::dropout::dropout;
use super::init::{embedding_linear, torch_default_uniform, torch_linear};
use super::linear::Linear;
use super::pool::{adaptive_avg_pool2d, max_pool2d_3x3s2};
use super::relu::relu;
use crate::rng::Rng;

/// Dropout probability of the classifier (torchvision's); `run --dropout` sets another.
pub const DROPOUT: f32 = 0.5;

#[derive(Clone, Debug)]
pub struct AlexNet {
    /// Probability that a classifier unit is dropped in a training pass.
    dropout: f32,
    convs: Vec<Conv2d>,
    fc1: Linear,
    fc2: Linear,
    embedding: Linear,
}

/// `(features index, spec)` of the five convolutions.
const CONVS: [(usize, ConvSpec); 5] = [
    (
        0,
        ConvSpec {
            c_in: 3,
            c_out: 64,
            kernel: 11,
            stride: 4,
            padding: 2,
        },
    ),
    (
        3,
        ConvSpec {
            c_in: 64,
            c_out: 192,
            kernel: 5,
            stride: 1,
            padding: 2,
        },
    ),
    (
        6,
        ConvSpec {
            c_in: 192,
            c_out: 384,
            kernel: 3,
            stride: 1,
            padding: 1,
        },
    ),
    (
        8,
        ConvSpec {
            c_in: 384,
            c_out: 256,
            kernel: 3,
            stride: 1,
            padding: 1,
        },
    ),
    (
        10,
        ConvSpec {
            c_in: 256,
            c_out: 256,
            kernel: 3,
            stride: 1,
            padding: 1,
        },
    ),
];

impl AlexNet {
    pub fn new(dim: usize, backward: ConvBackward, vb: VarBuilder) -> Result<Self> {
        let features = vb.pp("features");
        let convs = CONVS
            .iter()
            .map(|&(idx, spec)| {
                let init = torch_default_uniform(spec.c_in * spec.kernel * spec.kernel);
                Conv2d::new(
                    spec,
                    init,
                    Some(init),
                    backward,
                    features.pp(idx.to_string()),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let classifier = vb.pp("classifier");
        Ok(Self {
            dropout: DROPOUT,
            convs,
            fc1: torch_linear(256 * 6 * 6, 4096, classifier.pp("1"))?,
            fc2: torch_linear(4096, 4096, classifier.pp("4"))?,
            embedding: embedding_linear(4096, dim, classifier.pp("6"))?,
        })
    }

    /// Sets the classifier's dropout probability (`0` turns dropout off).
    pub fn set_dropout(&mut self, p: f32) {
        self.dropout = p;
    }

    /// Embeddings of `xs`. With a generator it is a training pass: both dropout layers draw
    /// their masks from it, in order; without one it is an evaluation pass (no dropout).
    pub fn forward(&self, xs: &Tensor, mut train: Option<&mut Rng>) -> Result<Tensor> {
        let mut drop_units = |ys: Tensor| -> Result<Tensor> {
            match train.as_deref_mut() {
                Some(rng) if self.dropout > 0.0 => dropout(&ys, self.dropout, rng),
                Some(_) => Ok(ys),
                None => Ok(ys),
            }
        };
        let mut ys = xs.clone();
        for (i, conv) in self.convs.iter().enumerate() {
            ys = relu(&conv.forward(&ys)?)?;
            // MaxPool2d(3, 2) after features.1, features.4 and features.11.
            if matches!(i, 0 | 1 | 4) {
                ys = max_pool2d_3x3s2(&ys, 0)?;
            }
        }
        let ys = adaptive_avg_pool2d(&ys, 6, 6)?.flatten_from(1)?;
        let ys = drop_units(ys)?;
        let ys = relu(&self.fc1.forward(&ys)?)?;
        let ys = drop_units(ys)?;
        let ys = relu(&self.fc2.forward(&ys)?)?;
        self.embedding.forward(&ys)
    }
}
