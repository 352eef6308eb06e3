//! The CUDA kernels against the CPU's ops, on fresh random inputs: batch norm in training (with
//! and without its ReLU, through the layer, so the running statistics too) and in evaluation,
//! convolution (forward and both gradients), max pooling, ReLU, Adam's fused update over a few
//! steps, and a training pass of each network with all of them in place. `facenet-lab bench
//! --check` runs this on the GPU machine before it times anything; with the `cuda` feature, an
//! ignored test runs it on a GPU, and another runs its harness on the CPU against itself. CI
//! builds no `cuda` feature (`tests/cuda_kernels.rs` runs the kernels' source on the CPU
//! instead).
//!
//! Each comparison is the relative error `‖cuda − cpu‖ / ‖cpu‖` of one output: f32 arithmetic
//! in another order lands near 1e-7, a wrong index near 1.

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{ModuleT, VarBuilder, VarMap};

use crate::agreement::{rel_err, Comparison};
use crate::model::batch_norm::BatchNorm2d;
use crate::model::{Arch, EmbeddingNet};
use crate::rng::Rng;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::params::Params;

/// Above this relative error an op's output fails.
pub const TOLERANCE: f64 = 1e-5;

/// Bounds on a whole network's training pass, where a wrong kernel is still off by order 1.
/// Measured on the CPU against the same pass in float64, ten draws each: ResNet18's embeddings
/// differ by 2.3–2.5e-6 and AlexNet's by 5e-7, but the gradients by up to 4e-3 (one parameter
/// by up to 6e-3), because a ReLU input within rounding of 0 takes either side on either
/// device and sends the gradient another way.
pub const NETWORK_TOLERANCE: NetworkTolerance = NetworkTolerance {
    embeddings: 1e-4,
    gradients: 5e-2,
    parameter: 0.3,
};

/// See [`NETWORK_TOLERANCE`].
#[derive(Clone, Copy, Debug)]
pub struct NetworkTolerance {
    /// The forward pass's output.
    pub embeddings: f64,
    /// Every trainable parameter's gradient, as one vector.
    pub gradients: f64,
    /// The parameter whose gradient differs most.
    pub parameter: f64,
}

/// The gradients of `Σ y·up` with respect to `wrt`, `up` moved to `y`'s device.
fn gradients<const N: usize>(y: &Tensor, up: &Tensor, wrt: [&Tensor; N]) -> Result<[Tensor; N]> {
    let grads = (y * up.to_device(y.device())?)?.sum_all()?.backward()?;
    let mut out = Vec::with_capacity(N);
    for t in wrt {
        let g = grads.get(t).cloned();
        out.push(g.ok_or_else(|| candle_core::Error::Msg("missing gradient".into()))?);
    }
    out.try_into()
        .map_err(|_| candle_core::Error::Msg("gradient count".into()))
}

/// One comparison per named output of `case`: CUDA's (`results[1]`) against the CPU's
/// (`results[0]`), within [`TOLERANCE`].
fn compare<const N: usize>(
    case: &str,
    outputs: [&'static str; N],
    results: &[[Tensor; N]],
    out: &mut Vec<Comparison>,
) -> Result<()> {
    let [cpu, cuda] = results else {
        candle_core::bail!("{case}: expected the CPU's results and CUDA's");
    };
    for (i, output) in outputs.into_iter().enumerate() {
        out.push(Comparison {
            case: case.to_string(),
            output: output.to_string(),
            rel_err: rel_err(&cuda[i], &cpu[i])?,
            tolerance: TOLERANCE,
        });
    }
    Ok(())
}

/// Every comparison on `cuda` (a CUDA device), the CPU as the reference.
pub fn run(cuda: &Device) -> Result<Vec<Comparison>> {
    let mut out = Vec::new();
    // Planes below and above a block's 256 threads; one pixel per plane (16 images: with two,
    // dx is the rounding noise of a near-cancellation on either device); odd sizes.
    for shape in [
        (4, 3, 5, 7),
        (16, 8, 1, 1),
        (8, 16, 7, 7),
        (3, 5, 33, 31),
        (32, 64, 14, 14),
    ] {
        for relu in [false, true] {
            batch_norm(shape, relu, cuda, &mut out)?;
            batch_norm_eval(shape, relu, cuda, &mut out)?;
        }
    }
    // (input, kernel, stride, padding): ResNet's and AlexNet's kinds of layer.
    for (x, k, stride, padding) in [
        ((2, 3, 5, 7), (4, 3, 3, 3), 1, 1),
        ((4, 16, 14, 14), (32, 16, 3, 3), 1, 1),
        ((4, 16, 15, 15), (32, 16, 3, 3), 2, 1),
        ((4, 64, 7, 7), (128, 64, 1, 1), 1, 0),
        ((4, 32, 14, 14), (64, 32, 1, 1), 2, 0),
        ((2, 3, 35, 35), (16, 3, 7, 7), 2, 3),
        ((3, 8, 27, 27), (12, 8, 5, 5), 1, 2),
    ] {
        conv(x, k, stride, padding, cuda, &mut out)?;
    }
    // (input, kernel, stride, padding): ResNet's stem pool, AlexNet's, odd and tiny maps.
    for (x, k, stride, padding) in [
        ((4, 8, 16, 16), 3, 2, 1),
        ((2, 16, 27, 27), 3, 2, 0),
        ((3, 5, 9, 7), 3, 2, 1),
        ((2, 3, 2, 2), 3, 2, 1),
    ] {
        max_pool(x, k, stride, padding, cuda, &mut out)?;
    }
    for n in [1, 1000, 1 << 20] {
        relu(n, cuda, &mut out)?;
    }
    adam(cuda, &mut out)?;
    // Every op in place: ResNet18's blocks, AlexNet's large kernels, pools and dropout.
    // ResNet152 at its initial weights is chaotic in float32 (its gradients differ from
    // float64's by 9e-2 whatever the size and batch tried), so a comparison of it could not
    // tell a wrong kernel from rounding; its bottleneck layers' ops are checked above.
    for (arch, size, batch) in [(Arch::Resnet18, 64, 8), (Arch::Alexnet, 96, 8)] {
        network(arch, size, batch, cuda, &mut out)?;
    }
    Ok(out)
}

/// A random f32 tensor on the CPU with a few exact zeros.
fn random(shape: impl Into<candle_core::Shape>) -> Result<Tensor> {
    let t = Tensor::randn(0f32, 1., shape, &Device::Cpu)?;
    let keep = t.abs()?.ge(0.01)?.to_dtype(DType::F32)?;
    t * keep
}

/// A `BatchNorm2d` layer on `dev` whose weight and bias are `gamma` and `beta`, and those two
/// variables.
fn batch_norm_layer(
    gamma: &Tensor,
    beta: &Tensor,
    dev: &Device,
) -> Result<(BatchNorm2d, [Var; 2])> {
    let varmap = VarMap::new();
    let bn = BatchNorm2d::new(
        gamma.dim(0)?,
        VarBuilder::from_varmap(&varmap, DType::F32, dev),
    )?;
    let vars = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("lock".into()))?
        .clone();
    let mut set = Vec::new();
    for (name, value) in [("weight", gamma), ("bias", beta)] {
        let var = vars
            .get(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("no batch norm {name}")))?;
        var.set(&value.to_device(dev)?)?;
        set.push(var.clone());
    }
    let [weight, bias]: [Var; 2] = set
        .try_into()
        .map_err(|_| candle_core::Error::Msg("batch norm variables".into()))?;
    Ok((bn, [weight, bias]))
}

/// `bn` (in training when `train`) on `x`, with its ReLU when `relu`.
fn through(bn: &BatchNorm2d, x: &Tensor, relu: bool, train: bool) -> Result<Tensor> {
    if relu {
        bn.forward_relu(x, train)
    } else {
        bn.forward_t(x, train)
    }
}

/// `up` with no gradient where `y`, a batch norm's value before its ReLU, is within 1e-3 of 0:
/// the devices' statistics differ in their last bits, so the two ReLUs may disagree there, and
/// what is compared is then the same function on both.
fn away_from_the_kink(up: &Tensor, y: &Tensor) -> Result<Tensor> {
    up * y.abs()?.ge(1e-3)?.to_dtype(DType::F32)?
}

/// A `BatchNorm2d` layer in training, its weight and bias set from `gamma` and `beta`, on
/// both devices: outputs, the three gradients and the running statistics.
fn batch_norm(
    shape: (usize, usize, usize, usize),
    relu: bool,
    cuda: &Device,
    out: &mut Vec<Comparison>,
) -> Result<()> {
    let c = shape.1;
    let (x, gamma, beta) = (random(shape)?, random(c)?, random(c)?);
    let mut up = random(shape)?;
    if relu {
        let eps = crate::model::batch_norm::BN_CONFIG.eps;
        let (y, _) = crate::model::cpu_batch_norm::batch_norm_train(&x, &gamma, &beta, eps, false)?;
        up = away_from_the_kink(&up, &y)?;
    }
    let mut results = Vec::new();
    for dev in [&Device::Cpu, cuda] {
        let (bn, [weight, bias]) = batch_norm_layer(&gamma, &beta, dev)?;
        let xv = Var::from_tensor(&x.to_device(dev)?)?;
        let y = through(&bn, xv.as_tensor(), relu, true)?;
        let [dx, dw, db] = gradients(
            &y,
            &up,
            [xv.as_tensor(), weight.as_tensor(), bias.as_tensor()],
        )?;
        results.push([
            y,
            dx,
            dw,
            db,
            bn.running_mean().clone(),
            bn.running_var().clone(),
        ]);
    }
    let case = format!("batch norm{} {shape:?}", if relu { " + ReLU" } else { "" });
    let outputs = ["y", "dx", "dweight", "dbias", "running mean", "running var"];
    compare(&case, outputs, &results, out)
}

/// A `BatchNorm2d` layer in evaluation, its weight and bias random and its running statistics
/// moved by one training pass, on both devices: the output and the input's gradient.
fn batch_norm_eval(
    shape: (usize, usize, usize, usize),
    relu: bool,
    cuda: &Device,
    out: &mut Vec<Comparison>,
) -> Result<()> {
    let c = shape.1;
    let (x, train_x, gamma, beta) = (random(shape)?, random(shape)?, random(c)?, random(c)?);
    let mut up = random(shape)?;
    let mut results = Vec::new();
    for dev in [&Device::Cpu, cuda] {
        let (bn, _) = batch_norm_layer(&gamma, &beta, dev)?;
        bn.forward_t(&train_x.to_device(dev)?, true)?;
        if relu && dev.is_cpu() {
            up = away_from_the_kink(&up, &bn.forward_t(&x, false)?)?;
        }
        let xv = Var::from_tensor(&x.to_device(dev)?)?;
        let y = through(&bn, xv.as_tensor(), relu, false)?;
        let [dx] = gradients(&y, &up, [xv.as_tensor()])?;
        results.push([y, dx]);
    }
    let case = format!(
        "batch norm, evaluation{} {shape:?}",
        if relu { " + ReLU" } else { "" }
    );
    compare(&case, ["y", "dx"], &results, out)
}

/// [`crate::model::conv::conv2d`] forward, and backward to the input and the kernel.
fn conv(
    x_shape: (usize, usize, usize, usize),
    k_shape: (usize, usize, usize, usize),
    stride: usize,
    padding: usize,
    cuda: &Device,
    out: &mut Vec<Comparison>,
) -> Result<()> {
    let (x, k) = (random(x_shape)?, random(k_shape)?);
    let up = random(x.conv2d(&k, padding, stride, 1, 1)?.shape())?;
    let mut results = Vec::new();
    for dev in [&Device::Cpu, cuda] {
        let xv = Var::from_tensor(&x.to_device(dev)?)?;
        let kv = Var::from_tensor(&k.to_device(dev)?)?;
        let y = crate::model::conv::conv2d(xv.as_tensor(), kv.as_tensor(), padding, stride)?;
        let [dx, dk] = gradients(&y, &up, [xv.as_tensor(), kv.as_tensor()])?;
        results.push([y, dx, dk]);
    }
    let case = format!("conv2d {x_shape:?} * {k_shape:?} s{stride} p{padding}");
    compare(&case, ["y", "dx", "dkernel"], &results, out)
}

/// [`crate::model::pool::max_pool2d`] forward and backward, on values with ties (rounded to
/// tenths) so that the tie rule is checked too.
fn max_pool(
    x_shape: (usize, usize, usize, usize),
    kernel: usize,
    stride: usize,
    padding: usize,
    cuda: &Device,
    out: &mut Vec<Comparison>,
) -> Result<()> {
    let x = (random(x_shape)? * 10.)?.round()?;
    let y = crate::model::pool::max_pool2d(&x, kernel, stride, padding)?;
    let up = random(y.shape())?;
    let mut results = Vec::new();
    for dev in [&Device::Cpu, cuda] {
        let xv = Var::from_tensor(&x.to_device(dev)?)?;
        let y = crate::model::pool::max_pool2d(xv.as_tensor(), kernel, stride, padding)?;
        let [dx] = gradients(&y, &up, [xv.as_tensor()])?;
        results.push([y, dx]);
    }
    let case = format!("max pool {x_shape:?} k{kernel} s{stride} p{padding}");
    compare(&case, ["y", "dx"], &results, out)
}

/// `relu` forward and backward over `n` values.
fn relu(n: usize, cuda: &Device, out: &mut Vec<Comparison>) -> Result<()> {
    let (x, up) = (random(n)?, random(n)?);
    let mut results = Vec::new();
    for dev in [&Device::Cpu, cuda] {
        let xv = Var::from_tensor(&x.to_device(dev)?)?;
        let y = crate::model::relu::relu(xv.as_tensor())?;
        let [dx] = gradients(&y, &up, [xv.as_tensor()])?;
        results.push([y, dx]);
    }
    compare(&format!("relu ({n})"), ["y", "dx"], &results, out)
}

/// One training pass of a whole network from the same seeded weights on both devices: the
/// embeddings, every trainable parameter's gradient as one vector, and the parameter whose
/// gradient differs most (a wrong small layer hides in the whole).
fn network(
    arch: Arch,
    size: usize,
    batch: usize,
    cuda: &Device,
    out: &mut Vec<Comparison>,
) -> Result<()> {
    const DIM: usize = 32;
    let (x, up) = (random((batch, 3, size, size))?, random((batch, DIM))?);
    let mut results = Vec::new();
    let mut per_parameter: Vec<Vec<(String, Tensor)>> = Vec::new();
    for dev in [&Device::Cpu, cuda] {
        let params = Params::new(7);
        let net = EmbeddingNet::new(arch, DIM, params.builder(dev))?;
        let emb = net.forward_train(&x.to_device(dev)?, &mut Rng::new(11))?;
        let vars: Vec<_> = params
            .named_vars()
            .into_iter()
            .filter(|(name, _)| !crate::model::is_buffer(name))
            .collect();
        let grads = (&emb * up.to_device(dev)?)?.sum_all()?.backward()?;
        let named = vars
            .iter()
            .map(|(name, v)| {
                let g = grads.get(v.as_tensor()).cloned();
                let g = g.ok_or_else(|| candle_core::Error::Msg(format!("no gradient: {name}")))?;
                Ok((name.clone(), g.flatten_all()?))
            })
            .collect::<Result<Vec<_>>>()?;
        let flat: Vec<Tensor> = named.iter().map(|(_, g)| g.clone()).collect();
        results.push([emb, Tensor::cat(&flat, 0)?]);
        per_parameter.push(named);
    }
    let case = format!("{arch} training pass ({batch}, 3, {size}, {size})");
    let [cpu, cuda] = results.as_slice() else {
        candle_core::bail!("{case}: expected the CPU's results and CUDA's");
    };
    let bounds = NETWORK_TOLERANCE;
    for (i, (output, tolerance)) in [
        ("embeddings", bounds.embeddings),
        ("gradients", bounds.gradients),
    ]
    .into_iter()
    .enumerate()
    {
        out.push(Comparison {
            case: case.clone(),
            output: output.into(),
            rel_err: rel_err(&cuda[i], &cpu[i])?,
            tolerance,
        });
    }
    let [cpu, cuda] = per_parameter.as_slice() else {
        candle_core::bail!("{case}: expected the CPU's gradients and CUDA's");
    };
    let mut worst = (String::new(), 0.0);
    for ((name, a), (_, b)) in cpu.iter().zip(cuda) {
        let err = rel_err(b, a)?;
        if err > worst.1 || worst.0.is_empty() {
            worst = (name.clone(), err);
        }
    }
    out.push(Comparison {
        case,
        output: format!("worst: {}", worst.0),
        rel_err: worst.1,
        tolerance: bounds.parameter,
    });
    Ok(())
}

/// Five steps of Adam with weight decay, each with the same gradient on both devices: the
/// loss `Σ w·g` has exactly `g` for gradient, so that only the update is compared (a gradient
/// computed on each device could differ in sign where it is within rounding of 0, and Adam
/// moves every weight by about the learning rate whatever its gradient's size).
fn adam(cuda: &Device, out: &mut Vec<Comparison>) -> Result<()> {
    let w0 = random((300, 200))?;
    let grads: Vec<Tensor> = (0..5).map(|_| random((300, 200))).collect::<Result<_>>()?;
    let cfg = AdamConfig {
        weight_decay: 0.01,
        ..AdamConfig::with_lr(1e-2)
    };
    let mut results = Vec::new();
    for dev in [&Device::Cpu, cuda] {
        let w = Var::from_tensor(&w0.to_device(dev)?)?;
        let mut opt = Adam::new(vec![("w".into(), w.clone())], cfg)?;
        for g in &grads {
            let loss = (w.as_tensor() * g.to_device(dev)?)?.sum_all()?;
            opt.step(&loss.backward()?)?;
        }
        results.push([w.as_tensor().clone()]);
    }
    compare("adam, 5 steps (300, 200)", ["weights"], &results, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ops x outputs: batch norm in training and evaluation, convolutions, pools, ReLUs, Adam,
    /// networks.
    const OUTPUTS: usize = 5 * 2 * (6 + 2) + 7 * 3 + 4 * 2 + 3 * 2 + 1 + 2 * 3;

    /// Needs a CUDA device: `cargo test --features cuda -- --include-ignored` where there is
    /// one (CI builds no `cuda` feature and has none; `bench --check` runs the same on a GPU
    /// machine).
    #[test]
    #[ignore = "needs a CUDA GPU"]
    fn the_cuda_kernels_agree_with_the_cpu() -> Result<()> {
        let cuda = Device::new_cuda(0)?;
        let results = run(&cuda)?;
        assert_eq!(results.len(), OUTPUTS);
        let failed: Vec<_> = results.iter().filter(|c| !c.passed()).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        Ok(())
    }

    /// The harness itself, without a GPU (the `cuda` feature's build, on the CPU): compared
    /// with itself every output agrees to the bit, and every case ran.
    #[test]
    fn the_cpu_against_itself_agrees_exactly() -> Result<()> {
        let results = run(&Device::Cpu)?;
        assert_eq!(results.len(), OUTPUTS);
        for c in &results {
            assert_eq!(c.rel_err, 0.0, "{c:?}");
        }
        Ok(())
    }
}
