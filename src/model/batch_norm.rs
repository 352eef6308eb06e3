//! `BatchNorm2d` as torch has it (eps 1e-5, momentum 0.1, affine), on top of candle-nn's
//! `BatchNorm`.
//!
//! candle-nn 0.11.1's `BatchNorm` implements `ModuleT`: in training it normalises with the
//! batch statistics (biased variance) and updates `running_mean`/`running_var` in place with
//! `running = (1 - momentum) * running + momentum * batch_stat` (unbiased variance for the
//! running estimate), exactly torch's rule; in evaluation it uses the running statistics. The
//! running statistics are the `Var`s of the `VarMap` (`batch_norm` fetches them through the
//! `VarBuilder` and `Var::from_tensor` keeps the same storage), so `VarMap::save` writes them.
//! They never receive gradients, so candle's optimisers skip them. torch's
//! `num_batches_tracked` buffer has no counterpart (it only matters for momentum=None).
//!
//! On the CPU the normalisation is one op each way ([`super::cpu_batch_norm`]): in training
//! with the batch statistics, the running ones updated by the same rule; in evaluation a fixed
//! affine map per channel; [`BatchNorm2d::forward_relu`] applies the ReLU after it in the same
//! pass. On CUDA (f32, the `cuda` feature) the same ops run [`super::cuda_batch_norm`]'s
//! kernels. Elsewhere candle-nn's composition runs.
use candle_core::{bail, Result, Tensor, Var};
use candle_nn::{BatchNormConfig, ModuleT, VarBuilder};

use super::cpu_batch_norm;

/// torch's BatchNorm defaults.
pub const BN_CONFIG: BatchNormConfig = BatchNormConfig {
    eps: 1e-5,
    remove_mean: true,
    affine: true,
    momentum: 0.1,
};

#[derive(Clone, Debug)]
pub struct BatchNorm2d {
    inner: candle_nn::BatchNorm,
}

impl BatchNorm2d {
    /// Variables under `vb`: `weight` (1), `bias` (0), `running_mean` (0), `running_var` (1).
    pub fn new(channels: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            inner: candle_nn::batch_norm(channels, BN_CONFIG, vb)?,
        })
    }

    pub fn running_mean(&self) -> &Tensor {
        self.inner.running_mean()
    }

    pub fn running_var(&self) -> &Tensor {
        self.inner.running_var()
    }
}

impl ModuleT for BatchNorm2d {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        self.forward(xs, train, false)
    }
}

impl BatchNorm2d {
    /// `relu(self.forward_t(xs, train))`, in the same pass on the CPU.
    pub fn forward_relu(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        self.forward(xs, train, true)
    }

    fn forward(&self, xs: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        if train {
            super::trace::note(|| super::trace::LayerOp::BatchNorm {
                input: xs.dims().to_vec(),
                relu,
            });
            let (b, _, h, w) = xs.dims4()?;
            // torch raises the same error; candle would divide by zero in the running var.
            if b * h * w < 2 {
                bail!(
                    "BatchNorm2d in training mode needs more than one value per channel, got \
                     input {:?}; use a larger batch or larger images",
                    xs.dims()
                );
            }
        }
        let own = super::uses_own_kernels(xs) && xs.rank() == 4;
        let eps = self.inner.eps();
        match self.inner.weight_and_bias() {
            Some((weight, bias)) if train && own => {
                let (ys, stats) = cpu_batch_norm::batch_norm_train(xs, weight, bias, eps, relu)?;
                let (b, _, h, w) = xs.dims4()?;
                let (mean, var) = stats.mean_var(self.running_mean().device())?;
                self.update_running_stats(&mean, &var, b * h * w)?;
                Ok(ys)
            }
            Some((weight, bias)) if own => {
                // x·a + b with a = γ/√(running var + eps), b = β − running mean·a.
                let inv_std = (self.running_var().detach() + eps)?.sqrt()?.recip()?;
                let a = (weight * inv_std)?;
                let b = (bias - (self.running_mean().detach() * &a)?)?;
                cpu_batch_norm::channel_affine(xs, &a, &b, relu)
            }
            _ => {
                let ys = self.inner.forward_t(xs, train)?;
                if relu {
                    super::relu::unnoted(&ys)
                } else {
                    Ok(ys)
                }
            }
        }
    }
}

impl BatchNorm2d {
    /// torch's (and candle-nn's) rule: `running = (1 - momentum) * running + momentum * batch`,
    /// with the unbiased variance of the `n` values per channel (`var` is the biased one).
    fn update_running_stats(&self, mean: &Tensor, var: &Tensor, n: usize) -> Result<()> {
        let m = self.inner.momentum();
        let unbiased = n as f64 / (n as f64 - 1.0);
        for (running, batch, scale) in [
            (self.running_mean(), mean, m),
            (self.running_var(), var, m * unbiased),
        ] {
            let batch = batch.to_dtype(running.dtype())?;
            let updated = ((running * (1.0 - m))? + (batch * scale)?)?;
            Var::from_tensor(running)?.set(&updated)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    #[test]
    fn train_mode_uses_batch_stats_and_updates_running_stats_in_varmap() -> Result<()> {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        let bn = BatchNorm2d::new(2, vb.pp("bn"))?;
        // Channel 0 holds 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased var 5/3), channel 1
        // holds 10 everywhere (mean 10, var 0).
        let x = Tensor::new(&[[[[1f32, 2.], [3., 4.]], [[10., 10.], [10., 10.]]]], &dev)?;

        // Eval before any update: running mean 0, var 1 -> (x - 0) / sqrt(1 + 1e-5).
        let eval = bn.forward_t(&x, false)?;
        let expect = (&x / (1.0f64 + 1e-5).sqrt())?;
        let d = (&eval - &expect)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d < 1e-6);

        // Train: torch gives (x - 2.5) / sqrt(1.25 + 1e-5) for channel 0 and 0 for channel 1.
        let train = bn.forward_t(&x, true)?;
        let c0 = train.narrow(1, 0, 1)?.flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(c0.len(), 4);
        for (got, v) in c0.iter().zip([1f32, 2., 3., 4.]) {
            let want = (v - 2.5) / (1.25f32 + 1e-5).sqrt();
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        let c1 = train
            .narrow(1, 1, 1)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(c1 < 1e-6);

        // Running stats, torch's rule: mean = 0.9 * 0 + 0.1 * [2.5, 10] = [0.25, 1.0],
        // var = 0.9 * 1 + 0.1 * [5/3, 0] = [1.0666667, 0.9]; read back from the VarMap.
        let data = varmap
            .data()
            .lock()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let mean = data
            .get("bn.running_mean")
            .ok_or_else(|| candle_core::Error::Msg("no running_mean in varmap".into()))?
            .to_vec1::<f32>()?;
        let var = data
            .get("bn.running_var")
            .ok_or_else(|| candle_core::Error::Msg("no running_var in varmap".into()))?
            .to_vec1::<f32>()?;
        assert_eq!((mean.len(), var.len()), (2, 2));
        for (g, w) in mean.iter().zip([0.25f32, 1.0]) {
            assert!((g - w).abs() < 1e-6, "running mean {mean:?}");
        }
        for (g, w) in var.iter().zip([0.9f32 + 0.1 * 5.0 / 3.0, 0.9]) {
            assert!((g - w).abs() < 1e-6, "running var {var:?}");
        }
        drop(data);

        // Eval now uses the updated running stats, so it differs from the train output.
        let eval2 = bn.forward_t(&x, false)?;
        let d = (&eval2 - &train)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d > 0.1, "eval and train outputs should differ");
        let want = (1f32 - 0.25) / (0.9f32 + 0.1 * 5.0 / 3.0 + 1e-5).sqrt();
        let got = eval2.flatten_all()?.to_vec1::<f32>()?[0];
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        Ok(())
    }

    /// The CPU ops against candle-nn's composition, from the same weights and running
    /// statistics, in training and evaluation: outputs, the three gradients and the running
    /// statistics after the step. In f64, and in f32 as training runs them (lane sums); with a
    /// batch of one image, and with a channel that holds one value throughout (zero variance).
    #[test]
    fn the_cpu_ops_equal_candle_nn_forward_backward_and_running_stats() -> Result<()> {
        for (shape, threads, train, relu, constant) in [
            ((4, 3, 5, 6), 1, true, false, false),
            ((2, 5, 3, 3), 2, true, false, false),
            ((3, 2, 1, 1), 3, true, false, false),
            ((4, 3, 5, 6), 1, false, false, false),
            ((2, 5, 3, 3), 2, false, false, false),
            ((4, 3, 5, 6), 2, true, true, false),
            ((2, 5, 3, 3), 1, false, true, false),
            ((1, 3, 4, 4), 2, true, true, false),
            ((2, 3, 4, 4), 2, true, false, true),
        ] {
            for (dtype, tolerance) in [(DType::F64, 1e-9), (DType::F32, 2e-4)] {
                super::super::with_threads(threads, || {
                    compare_with_candle_nn(shape, train, relu, constant, dtype, tolerance)
                })?;
            }
        }
        Ok(())
    }

    /// One case of the test above: every output of the two within `tolerance`, relative to
    /// the larger of 1 and the value.
    fn compare_with_candle_nn(
        shape: (usize, usize, usize, usize),
        train: bool,
        relu: bool,
        constant: bool,
        dtype: DType,
        tolerance: f64,
    ) -> Result<()> {
        let dev = Device::Cpu;
        let c = shape.1;
        // forward_t takes the CPU ops for these inputs.
        assert!(super::super::uses_cpu_kernels(&Tensor::zeros(
            shape, dtype, &dev
        )?));
        let mut x = Tensor::randn(0f64, 1., shape, &dev)?.affine(3.0, 1.5)?;
        if constant {
            // Channel 0 holds 2.5 everywhere.
            let rest = x.narrow(1, 1, c - 1)?;
            let first = Tensor::full(2.5f64, (shape.0, 1, shape.2, shape.3), &dev)?;
            x = Tensor::cat(&[&first, &rest], 1)?;
        }
        let x = candle_core::Var::from_tensor(&x.to_dtype(dtype)?)?;
        let gamma = Tensor::randn(1f64, 0.3, c, &dev)?.to_dtype(dtype)?;
        let beta = Tensor::randn(0f64, 0.3, c, &dev)?.to_dtype(dtype)?;
        let up = Tensor::randn(0f64, 1., shape, &dev)?.to_dtype(dtype)?;
        let running_mean = Tensor::randn(0f64, 1., c, &dev)?.to_dtype(dtype)?;
        let running_var = Tensor::rand(0.5f64, 2., c, &dev)?.to_dtype(dtype)?;
        let mut results = Vec::new();
        for fused in [true, false] {
            let varmap = VarMap::new();
            let bn = BatchNorm2d::new(c, VarBuilder::from_varmap(&varmap, dtype, &dev))?;
            let (w, b) = bn.inner.weight_and_bias().expect("affine");
            Var::from_tensor(w)?.set(&gamma)?;
            Var::from_tensor(b)?.set(&beta)?;
            // Evaluation normalises with running statistics away from 0 and 1.
            Var::from_tensor(bn.running_mean())?.set(&running_mean)?;
            Var::from_tensor(bn.running_var())?.set(&running_var)?;
            let y = match (fused, relu) {
                (true, false) => bn.forward_t(x.as_tensor(), train)?,
                (true, true) => bn.forward_relu(x.as_tensor(), train)?,
                (false, false) => bn.inner.forward_t(x.as_tensor(), train)?,
                (false, true) => bn.inner.forward_t(x.as_tensor(), train)?.relu()?,
            };
            let grads = (&y * &up)?.sum_all()?.backward()?;
            let flat = |t: Option<&Tensor>| -> Result<Vec<f64>> {
                t.ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1::<f64>()
            };
            results.push([
                flat(Some(&y))?,
                flat(grads.get(x.as_tensor()))?,
                flat(grads.get(w))?,
                flat(grads.get(b))?,
                flat(Some(bn.running_mean()))?,
                flat(Some(bn.running_var()))?,
            ]);
        }
        let names = ["y", "dx", "dgamma", "dbeta", "running mean", "running var"];
        for ((ours, theirs), name) in results[0].iter().zip(&results[1]).zip(names) {
            assert_eq!(ours.len(), theirs.len(), "{name}");
            for (a, b) in ours.iter().zip(theirs) {
                assert!(
                    (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1.0),
                    "{shape:?} {dtype:?}, train {train}, relu {relu}, constant {constant}: \
                     {name} {a} vs {b}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn an_input_with_other_channels_is_an_error_in_both_modes() -> Result<()> {
        let varmap = VarMap::new();
        let bn = BatchNorm2d::new(
            4,
            VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
        )?;
        let x = Tensor::ones((2, 3, 2, 2), DType::F32, &Device::Cpu)?;
        for train in [true, false] {
            let err = bn.forward_t(&x, train).map(drop).unwrap_err().to_string();
            assert!(
                err.contains("has shape [4], the input [2, 3, 2, 2] has 3 channels"),
                "{err}"
            );
        }
        Ok(())
    }

    #[test]
    fn train_mode_rejects_single_value_per_channel() -> Result<()> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let bn = BatchNorm2d::new(4, vb)?;
        let x = Tensor::ones((1, 4, 1, 1), DType::F32, &Device::Cpu)?;
        let err = match bn.forward_t(&x, true) {
            Ok(_) => panic!("a single value per channel must be rejected in training"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("[1, 4, 1, 1]"), "{err}");
        // Evaluation takes it, through the running statistics (mean 0, variance 1).
        let y = bn.forward_t(&x, false)?.flatten_all()?.to_vec1::<f32>()?;
        let want = 1.0 / (1.0f32 + 1e-5).sqrt();
        assert!(
            y.len() == 4 && y.iter().all(|v| (v - want).abs() < 1e-6),
            "{y:?}"
        );
        Ok(())
    }
}
