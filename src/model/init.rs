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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    fn std_of(t: &candle_core::Tensor) -> Result<f64> {
        let t = t.flatten_all()?.to_dtype(DType::F64)?;
        let mean = t.mean_all()?.to_scalar::<f64>()?;
        (t - mean)?
            .sqr()?
            .mean_all()?
            .to_scalar::<f64>()
            .map(f64::sqrt)
    }

    #[test]
    fn kaiming_fan_out_std_matches_torch_formula() -> Result<()> {
        // torch: kaiming_normal_(w, mode="fan_out", nonlinearity="relu") on a (64, 3, 7, 7)
        // kernel has std sqrt(2) / sqrt(64 * 7 * 7) = 0.0252538.
        let w = KAIMING_NORMAL_FAN_OUT.var((64, 3, 7, 7), DType::F32, &Device::Cpu)?;
        let s = std_of(w.as_tensor())?;
        let expected = 2f64.sqrt() / ((64 * 7 * 7) as f64).sqrt();
        assert!(
            (s - expected).abs() < 0.05 * expected,
            "std {s} vs {expected}"
        );
        Ok(())
    }

    #[test]
    fn embedding_layer_is_n0_002_with_zero_bias() -> Result<()> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let lin = embedding_linear(512, 128, vb.pp("fc"))?;
        let s = std_of(lin.weight())?;
        assert!((s - 0.02).abs() < 0.001, "std {s}");
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
