//! Random initialisation, following torchvision's choices.
//!
//! * ResNet convolutions: `kaiming_normal_(mode="fan_out", nonlinearity="relu")`, i.e.
//!   N(0, sqrt(2 / (c_out * k_h * k_w))).
//! * AlexNet convolutions and linear layers: PyTorch's layer defaults,
//!   `kaiming_uniform_(a=sqrt(5))` for weights (= U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and
//!   U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for biases. torchvision's AlexNet does no custom init.
//! * BatchNorm: weight 1, bias 0, running mean 0, running var 1 (candle-nn's `batch_norm`).
//! * The embedding layer that replaces the classifier: weight N(0, 0.02), bias 0.
use candle_core::Result;
use candle_nn::init::{FanInOut, NonLinearity, NormalOrUniform};
use candle_nn::{Init, VarBuilder};

use super::linear::Linear;

/// `kaiming_normal_(mode="fan_out", nonlinearity="relu")`: candle's fan-out for a conv kernel
/// `(c_out, c_in, k_h, k_w)` is `c_out * k_h * k_w`, the same as torch's.
pub const KAIMING_NORMAL_FAN_OUT: Init = Init::Kaiming {
    dist: NormalOrUniform::Normal,
    fan: FanInOut::FanOut,
    non_linearity: NonLinearity::ReLU,
};

/// Standard deviation of the embedding layer's weights.
pub const EMBEDDING_STD: f64 = 0.02;

/// PyTorch's default for `Conv2d`/`Linear` weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub fn torch_default_uniform(fan_in: usize) -> Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// A linear layer with PyTorch's default initialisation (torchvision's AlexNet classifier).
pub fn torch_linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let init = torch_default_uniform(in_dim);
    let weight = vb.get_with_hints((out_dim, in_dim), "weight", init)?;
    let bias = vb.get_with_hints(out_dim, "bias", init)?;
    Ok(Linear::new(weight, Some(bias)))
}

/// The embedding layer that replaces a network's classifier: weight N(0, 0.02), bias 0.
pub fn embedding_linear(in_dim: usize, dim: usize, vb: VarBuilder) -> Result<Linear> {
    if dim == 0 {
        candle_core::bail!("embedding dimension must be positive, got 0");
    }
    let weight = vb.get_with_hints(
        (dim, in_dim),
        "weight",
        Init::Randn {
            mean: 0.0,
            stdev: EMBEDDING_STD,
        },
    )?;
    let bias = vb.get_with_hints(dim, "bias", Init::Const(0.0))?;
    Ok(Linear::new(weight, Some(bias)))
}

/// Checks that sampled weights follow torch's initialisations, for this module's tests and the
/// networks' ([`super::tests`]). The bounds are five standard errors of the statistic for the
/// tensor's size, so a correct sampler fails them about once in a million draws while a wrong
/// scale (fan-in for fan-out, a missing gain) or a wrong distribution misses them by far.
#[cfg(test)]
pub(crate) mod checks {
    use candle_core::{DType, Result, Tensor};

    fn values(t: &Tensor) -> Result<Vec<f64>> {
        t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()
    }

    /// `kaiming_normal_(mode="fan_out", nonlinearity="relu")`: N(0, sqrt(2 / fan_out)), where
    /// the caller works out torch's `fan_out = c_out * k_h * k_w` for itself.
    pub fn assert_kaiming_normal_fan_out(name: &str, w: &Tensor, fan_out: usize) -> Result<()> {
        let xs = values(w)?;
        let n = xs.len() as f64;
        let std = (2.0 / fan_out as f64).sqrt();
        let mean = xs.iter().sum::<f64>() / n;
        assert!(
            mean.abs() < 5.0 * std / n.sqrt(),
            "{name}: mean {mean}, std {std}, n {n}"
        );
        let s = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(
            (s - std).abs() < 5.0 * std / (2.0 * n).sqrt(),
            "{name}: std {s}, torch's {std} (fan_out {fan_out}, n {n})"
        );
        // Normal, not uniform: P(|x| < std) is 0.6827 for a normal, 1/sqrt(3) = 0.5774 for a
        // uniform of that std.
        let p = 0.682_689;
        let inside = xs.iter().filter(|x| x.abs() < std).count() as f64 / n;
        assert!(
            (inside - p).abs() < 5.0 * (p * (1.0 - p) / n).sqrt(),
            "{name}: {inside} of the values within one std"
        );
        Ok(())
    }

    /// PyTorch's `Conv2d`/`Linear` default for a weight or bias: U(-bound, bound) with
    /// bound = 1/sqrt(fan_in), where the caller works out `fan_in = c_in * k_h * k_w`.
    pub fn assert_torch_default_uniform(name: &str, w: &Tensor, fan_in: usize) -> Result<()> {
        assert_symmetric_uniform(name, w, 1.0 / (fan_in as f64).sqrt())
    }

    /// U(-bound, bound): within the bound and reaching it, mean 0, variance bound^2/3, and half
    /// of the values within bound/2.
    pub fn assert_symmetric_uniform(name: &str, w: &Tensor, bound: f64) -> Result<()> {
        let xs = values(w)?;
        let n = xs.len() as f64;
        // The values are f32: allow the rounding of the bound itself.
        let widest = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            widest <= bound * (1.0 + 1e-6),
            "{name}: |x| up to {widest}, bound {bound}"
        );
        // P(max |x| < bound (1 - 20/n)) = (1 - 20/n)^n < e^-20: the bound is reached.
        assert!(
            widest > bound * (1.0 - 20.0 / n),
            "{name}: |x| only up to {widest}, bound {bound} (n {n})"
        );
        let mean = xs.iter().sum::<f64>() / n;
        let var = bound * bound / 3.0;
        assert!(mean.abs() < 5.0 * (var / n).sqrt(), "{name}: mean {mean}");
        // E x^2 = bound^2/3, Var x^2 = bound^4 (1/5 - 1/9).
        let mean_sq = xs.iter().map(|x| x * x).sum::<f64>() / n;
        let se = bound * bound * (1.0f64 / 5.0 - 1.0 / 9.0).sqrt() / n.sqrt();
        assert!(
            (mean_sq - var).abs() < 5.0 * se,
            "{name}: E x^2 = {mean_sq}, bound^2/3 = {var}"
        );
        // Uniform, not peaked: half of the values lie within bound/2.
        let inside = xs.iter().filter(|x| x.abs() < bound / 2.0).count() as f64 / n;
        assert!(
            (inside - 0.5).abs() < 5.0 * 0.5 / n.sqrt(),
            "{name}: {inside} of the values within bound/2"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::checks::{assert_kaiming_normal_fan_out, assert_torch_default_uniform};
    use super::*;
    use crate::train::params::Params;
    use candle_core::{DType, Device};

    fn std_of(t: &candle_core::Tensor) -> Result<f64> {
        let t = t.flatten_all()?.to_dtype(DType::F64)?;
        let mean = t.mean_all()?.to_scalar::<f64>()?;
        (t - mean)?
            .sqr()?
            .mean_all()?
            .to_scalar::<f64>()
            .map(f64::sqrt)
    }

    /// Through [`Params`], which draws every weight of a training run: torch's
    /// `kaiming_normal_(mode="fan_out", nonlinearity="relu")` on ResNet's stem, a 3x3 and a 1x1
    /// kernel, whose fan-in and fan-out differ. For the stem the std is
    /// sqrt(2) / sqrt(64 * 7 * 7) = 0.0252538 (its fan-in would give 0.1166).
    #[test]
    fn kaiming_fan_out_through_params_matches_torch_formula() -> Result<()> {
        for seed in [0, 1] {
            let vb = Params::new(seed).builder(&Device::Cpu);
            for (shape, name, fan_out) in [
                ((64, 3, 7, 7), "conv1.weight", 64 * 7 * 7),
                ((128, 64, 3, 3), "layer2.0.conv1.weight", 128 * 3 * 3),
                ((256, 64, 1, 1), "layer1.0.conv3.weight", 256),
            ] {
                let w = vb.get_with_hints(shape, name, KAIMING_NORMAL_FAN_OUT)?;
                assert_eq!(w.dtype(), DType::F32);
                assert_kaiming_normal_fan_out(name, &w, fan_out)?;
            }
            let stem = vb.get_with_hints((64, 3, 7, 7), "conv1.weight", KAIMING_NORMAL_FAN_OUT)?;
            let s = std_of(&stem)?;
            assert!((s - 0.025_253_8).abs() < 0.001, "seed {seed}: std {s}");
        }
        Ok(())
    }

    /// [`torch_linear`] built through [`Params`]: weight and bias U(-1/sqrt(in), 1/sqrt(in))
    /// (torch's `Linear.reset_parameters`), drawn independently of each other.
    #[test]
    fn torch_linear_through_params_is_torchs_default_uniform() -> Result<()> {
        let p = Params::new(5);
        let lin = torch_linear(400, 300, p.builder(&Device::Cpu).pp("classifier.1"))?;
        assert_eq!(lin.weight().dims(), [300, 400]);
        assert_torch_default_uniform("weight", lin.weight(), 400)?;
        let bias = lin
            .bias()
            .ok_or_else(|| candle_core::Error::Msg("no bias".into()))?;
        assert_eq!(bias.dims(), [300]);
        assert_torch_default_uniform("bias", bias, 400)?;
        // The bias is not the first row of the weight drawn again.
        let row = lin.weight().get(0)?.narrow(0, 0, 300)?;
        assert_ne!(row.to_vec1::<f32>()?, bias.to_vec1::<f32>()?);
        Ok(())
    }

    /// The embedding layer built through [`Params`], as the trainer builds it.
    #[test]
    fn embedding_layer_is_n0_002_with_zero_bias() -> Result<()> {
        let p = Params::new(2);
        let vb = p.builder(&Device::Cpu);
        let lin = embedding_linear(512, 128, vb.pp("fc"))?;
        assert_eq!(lin.weight().dims(), [128, 512]);
        let s = std_of(lin.weight())?;
        // 65,536 values: the std's standard error is 0.02 / sqrt(2 * 65536) = 5.5e-5.
        assert!((s - 0.02).abs() < 5.0 * 5.6e-5, "std {s}");
        let mean = lin.weight().mean_all()?.to_scalar::<f32>()?;
        assert!(mean.abs() < 5.0 * 0.02 / 256.0, "mean {mean}");
        let bias = lin.bias().map(|b| b.abs()?.sum_all()?.to_scalar::<f32>());
        assert_eq!(bias.transpose()?, Some(0.0));
        assert!(embedding_linear(512, 0, vb.pp("bad")).is_err());
        Ok(())
    }

    #[test]
    fn torch_default_bound_is_one_over_sqrt_fan_in() -> Result<()> {
        // torch: kaiming_uniform_(a=sqrt(5)) gives bound gain*sqrt(3/fan_in) with
        // gain = sqrt(2/(1+5)), i.e. 1/sqrt(fan_in); fan_in = 9216 -> 1/96.
        match torch_default_uniform(9216) {
            Init::Uniform { lo, up } => {
                assert!((up - 1.0 / 96.0).abs() < 1e-12);
                assert!((lo + 1.0 / 96.0).abs() < 1e-12);
            }
            other => panic!("unexpected init {other:?}"),
        }
        Ok(())
    }
}
