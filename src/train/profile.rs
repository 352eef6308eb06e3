//! Where a training step's time goes, by layer kind (`bench --profile`): the layer ops one
//! forward pass runs ([`crate::model::trace`]) are timed one by one at their own shapes, forward
//! and backward apart, with the device synchronised around each, and summed per kind. What the
//! kinds leave of the whole step is the loss, Adam, the residual sums, dropout, pooling to the
//! embedding and the gaps between kernels. Timed alone, ops cost more than inside a step (fresh
//! inputs, no overlap), so the kinds can add up to more than the step.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::{Init, ModuleT, VarBuilder, VarMap};

use crate::model::batch_norm::BatchNorm2d;
use crate::model::conv::{Conv2d, ConvBackward, ConvSpec};
use crate::model::linear::Linear;
use crate::model::trace::{self, LayerOp};
use crate::model::{max_pool2d, relu, EmbeddingNet};
use crate::rng::Rng;
use crate::train::bench::{median, StepTiming};
use crate::train::params::Params;

/// One kind of layer op, summed over its calls in a forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct KindTiming {
    pub kind: &'static str,
    pub calls: usize,
    /// Seconds: the median time of each distinct op, times its calls, summed.
    pub forward: f64,
    pub backward: f64,
}

/// Times each layer op of the forward pass of the step `step` timed (its model, batch, image
/// size and embedding), `reps` times after one warm-up, kinds in order of their total time, the
/// largest first.
pub fn profile_layers(step: &StepTiming, reps: usize, device: &Device) -> Result<Vec<KindTiming>> {
    let params = Params::new(0);
    let model = EmbeddingNet::new(step.arch, step.dim, params.builder(device))?;
    let size = step.image_size;
    let x = Tensor::randn(0f32, 1.0, (step.batch, 3, size, size), device)?;
    let (emb, ops) = trace::record(|| model.forward_train(&x, &mut Rng::new(0)));
    emb?;
    let mut distinct: BTreeMap<LayerOp, usize> = BTreeMap::new();
    for op in ops {
        *distinct.entry(op).or_default() += 1;
    }
    let mut by_kind: BTreeMap<&'static str, KindTiming> = BTreeMap::new();
    for (op, calls) in distinct {
        let (forward, backward) = time_op(&op, reps, device)?;
        let k = by_kind.entry(op.kind()).or_insert(KindTiming {
            kind: op.kind(),
            calls: 0,
            forward: 0.0,
            backward: 0.0,
        });
        k.calls += calls;
        k.forward += calls as f64 * forward;
        k.backward += calls as f64 * backward;
    }
    let mut kinds: Vec<KindTiming> = by_kind.into_values().collect();
    kinds.sort_by(|a, b| (b.forward + b.backward).total_cmp(&(a.forward + a.backward)));
    Ok(kinds)
}

/// Median seconds of `op`'s forward and of its backward (the input's gradient where the network
/// needs it, and every weight's), over `reps` runs after one warm-up, on random inputs and
/// weights. The backward is less that of the loss driving it, timed alone on the same output.
fn time_op(op: &LayerOp, reps: usize, device: &Device) -> Result<(f64, f64)> {
    let randn = |dims: &[usize], std: f64| Tensor::randn(0f32, std as f32, dims, device);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let input = |dims: &[usize]| -> Result<Var> { Ok(Var::from_tensor(&randn(dims, 1.0)?)?) };
    let run: Box<dyn Fn() -> candle_core::Result<Tensor>> = match op {
        LayerOp::Conv {
            input: dims,
            kernel,
            padding,
            stride,
            bias,
            input_grad,
        } => {
            let x = if *input_grad {
                input(dims)?.as_tensor().clone()
            } else {
                randn(dims, 1.0)?
            };
            // The network's own layer, so that the op timed is the one it runs.
            let spec = ConvSpec::new(kernel[1], kernel[0], kernel[2], *stride, *padding);
            let normal = |stdev| Init::Randn { mean: 0.0, stdev };
            let bias = bias.then_some(normal(0.02));
            let layer = Conv2d::new(spec, normal(0.05), bias, ConvBackward::Conv, vb)?;
            Box::new(move || layer.forward(&x))
        }
        LayerOp::BatchNorm { input: dims, relu } => {
            let x = input(dims)?;
            let bn = BatchNorm2d::new(dims[1], vb)?;
            let relu = *relu;
            Box::new(move || {
                if relu {
                    bn.forward_relu(x.as_tensor(), true)
                } else {
                    bn.forward_t(x.as_tensor(), true)
                }
            })
        }
        LayerOp::MaxPool {
            input: dims,
            kernel,
            stride,
            padding,
        } => {
            let x = input(dims)?;
            let (kernel, stride, padding) = (*kernel, *stride, *padding);
            Box::new(move || max_pool2d(x.as_tensor(), kernel, stride, padding))
        }
        LayerOp::Relu { input: dims } => {
            let x = input(dims)?;
            Box::new(move || relu::relu(x.as_tensor()))
        }
        LayerOp::Linear { input: dims, out } => {
            let x = input(dims)?;
            let weight = Var::from_tensor(&randn(&[*out, dims[1]], 0.02)?)?;
            let bias = Var::from_tensor(&randn(&[*out], 0.02)?)?;
            let layer = Linear::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone()));
            Box::new(move || layer.forward(x.as_tensor()))
        }
    };
    let (mut forward, mut backward, mut probe) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..=reps {
        let t0 = Instant::now();
        let y = run()?;
        device.synchronize()?;
        let t1 = Instant::now();
        // A loss whose gradient reaches every output element with its own weight.
        let r = randn(y.dims(), 1.0)?;
        let loss = (&y * &r)?.sum_all()?;
        device.synchronize()?;
        let t2 = Instant::now();
        let grads = loss.backward()?;
        device.synchronize()?;
        let t3 = Instant::now();
        drop((grads, loss));
        // The same loss's own backward (two passes over the output), to take off.
        let alone = Var::from_tensor(&y.detach())?;
        let loss = (alone.as_tensor() * &r)?.sum_all()?;
        device.synchronize()?;
        let t4 = Instant::now();
        let grads = loss.backward()?;
        device.synchronize()?;
        let t5 = Instant::now();
        drop((grads, loss, y));
        if i > 0 {
            forward.push((t1 - t0).as_secs_f64());
            backward.push((t3 - t2).as_secs_f64());
            probe.push((t5 - t4).as_secs_f64());
        }
    }
    let backward = (median(backward) - median(probe)).max(0.0);
    Ok((median(forward), backward))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Arch;

    #[test]
    fn a_resnet18_profile_times_every_kind_of_its_layers() -> Result<()> {
        let step = crate::train::bench::time_steps(Arch::Resnet18, 4, 32, 8, 1, &Device::Cpu)?;
        let kinds = profile_layers(&step, 1, &Device::Cpu)?;
        let calls: BTreeMap<&str, usize> = kinds.iter().map(|k| (k.kind, k.calls)).collect();
        let expected: BTreeMap<&str, usize> = [
            ("conv", 20),
            ("batch norm + relu", 9),
            ("batch norm", 11),
            ("relu", 8),
            ("max pool", 1),
            ("linear", 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(calls, expected);
        let totals: Vec<f64> = kinds.iter().map(|k| k.forward + k.backward).collect();
        assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
        Ok(())
    }
}
