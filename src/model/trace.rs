//! The layer ops a forward pass runs, with their shapes, for `bench --profile`: each op notes
//! itself while [`record`] runs on its thread. Otherwise noting costs one thread-local read.
use std::cell::RefCell;

/// One layer op as a forward pass called it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LayerOp {
    /// The project's `conv2d` of an input `(b, c_in, h, w)` with a kernel `(c_out, c_in, k, k)`,
    /// and its bias added where it has one; `input_grad` when the input needs a gradient (not
    /// the images a network starts from).
    Conv {
        input: Vec<usize>,
        kernel: Vec<usize>,
        padding: usize,
        stride: usize,
        bias: bool,
        input_grad: bool,
    },
    /// A training-mode batch norm of `(b, c, h, w)`, with the ReLU after it when `relu`.
    BatchNorm { input: Vec<usize>, relu: bool },
    /// Max pooling with a square window.
    MaxPool {
        input: Vec<usize>,
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// A ReLU of its own (not the one a batch norm runs).
    Relu { input: Vec<usize> },
    /// A linear layer of `(b, in)` to `(b, out)`.
    Linear { input: Vec<usize>, out: usize },
}

impl LayerOp {
    /// The op's kind, as a profile sums them.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerOp::Conv { .. } => "conv",
            LayerOp::BatchNorm { relu: false, .. } => "batch norm",
            LayerOp::BatchNorm { relu: true, .. } => "batch norm + relu",
            LayerOp::MaxPool { .. } => "max pool",
            LayerOp::Relu { .. } => "relu",
            LayerOp::Linear { .. } => "linear",
        }
    }
}

thread_local! {
    static SEEN: RefCell<Option<Vec<LayerOp>>> = const { RefCell::new(None) };
}

/// Notes `op()` when a [`record`] runs on this thread. `op` runs outside the borrow, so it may
/// itself run noted ops.
pub(crate) fn note(op: impl FnOnce() -> LayerOp) {
    if recording() {
        let op = op();
        SEEN.with(|seen| {
            if let Some(ops) = seen.borrow_mut().as_mut() {
                ops.push(op);
            }
        });
    }
}

/// Whether a [`record`] runs on this thread.
pub fn recording() -> bool {
    SEEN.with(|seen| seen.borrow().is_some())
}

/// Runs `f`; returns what it returned and the layer ops it ran on this thread, in order. A
/// `record` inside another gives its ops to both; a panic in `f` ends the recording.
pub fn record<R>(f: impl FnOnce() -> R) -> (R, Vec<LayerOp>) {
    /// The recording that was open before (none outside a record), put back however `f` ends,
    /// with the inner ops added to it.
    struct Restore(Option<Vec<LayerOp>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let inner = SEEN.with(|seen| seen.replace(self.0.take()));
            SEEN.with(|seen| {
                if let (Some(outer), Some(inner)) = (seen.borrow_mut().as_mut(), inner) {
                    outer.extend(inner);
                }
            });
        }
    }
    let restore = Restore(SEEN.with(|seen| seen.replace(Some(Vec::new()))));
    let out = f();
    let ops = SEEN.with(|seen| seen.borrow().clone()).unwrap_or_default();
    drop(restore);
    (out, ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, EmbeddingNet};
    use crate::rng::Rng;
    use candle_core::{DType, Device, Result, Tensor};
    use candle_nn::{VarBuilder, VarMap};

    /// The embedding's dims and the layer ops of one training forward pass of `arch` at 2 ×
    /// `size`² images, checking that the recording is open only while the pass runs.
    fn forward_ops(arch: Arch, size: usize) -> Result<(Vec<usize>, Vec<LayerOp>)> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let net = EmbeddingNet::new(arch, 8, vb)?;
        let x = Tensor::randn(0f32, 1., (2, 3, size, size), &Device::Cpu)?;
        assert!(!recording());
        let (emb, ops) = record(|| net.forward_train(&x, &mut Rng::new(0)));
        assert!(!recording(), "the recording ends with the record");
        Ok((emb?.dims().to_vec(), ops))
    }

    /// Kinds and their calls among `ops`.
    fn kinds(ops: &[LayerOp]) -> Vec<(&'static str, usize)> {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for op in ops {
            *counts.entry(op.kind()).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    #[test]
    fn a_resnet18_forward_runs_its_layers_once_each() -> Result<()> {
        let (emb, ops) = forward_ops(Arch::Resnet18, 32)?;
        assert_eq!(emb, [2, 8]);
        // A stem convolution, 16 in the 8 basic blocks and 3 downsampling ones, each with its
        // batch norm; the stem's and each block's first with their ReLU; a ReLU after each
        // residual sum; one max pool; the embedding layer.
        assert_eq!(
            kinds(&ops),
            [
                ("batch norm", 11),
                ("batch norm + relu", 9),
                ("conv", 20),
                ("linear", 1),
                ("max pool", 1),
                ("relu", 8)
            ]
        );
        assert_eq!(
            ops.first(),
            Some(&LayerOp::Conv {
                input: vec![2, 3, 32, 32],
                kernel: vec![64, 3, 7, 7],
                padding: 3,
                stride: 2,
                bias: false,
                input_grad: false
            })
        );
        assert_eq!(
            ops.last(),
            Some(&LayerOp::Linear {
                input: vec![2, 512],
                out: 8
            })
        );
        Ok(())
    }

    #[test]
    fn alexnet_and_resnet152_passes_note_their_layers() -> Result<()> {
        // Five convolutions (with biases), each with its ReLU, and two more ReLUs in the
        // classifier; three max pools; three linear layers; no batch norm.
        assert_eq!(
            kinds(&forward_ops(Arch::Alexnet, 64)?.1),
            [("conv", 5), ("linear", 3), ("max pool", 3), ("relu", 7)]
        );
        // 50 bottlenecks of three convolutions, 4 downsampling ones and the stem; the first two
        // batch norms of each block and the stem's with their ReLU.
        assert_eq!(
            kinds(&forward_ops(Arch::Resnet152, 64)?.1),
            [
                ("batch norm", 54),
                ("batch norm + relu", 101),
                ("conv", 155),
                ("linear", 1),
                ("max pool", 1),
                ("relu", 50)
            ]
        );
        Ok(())
    }

    #[test]
    fn a_record_inside_another_gives_its_ops_to_both() {
        let relu = || LayerOp::Relu { input: vec![1] };
        let (inner, outer) = record(|| {
            note(relu);
            let ((), inner) = record(|| note(relu));
            inner
        });
        assert_eq!(inner, vec![relu()]);
        assert_eq!(outer, vec![relu(), relu()]);
        // A panic inside ends the recording.
        let panicked = std::panic::catch_unwind(|| record(|| panic!("in f")));
        assert!(panicked.is_err());
        assert!(!recording());
    }
}
