//! The trainable state of a model: a `VarMap` whose new variables are drawn from the project's
//! seeded generator, so a run's `--seed` fixes its initial weights on every device.

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::init::{Init, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{VarBuilder, VarMap};

use crate::rng::Rng;

/// Parameters (and BatchNorm statistics) of a model, keyed by their `vb.pp(...)` path.
#[derive(Clone)]
pub struct Params {
    map: VarMap,
    seed: u64,
}

impl Params {
    pub fn new(seed: u64) -> Params {
        Params {
            map: VarMap::new(),
            seed,
        }
    }

    /// A builder that creates missing variables from this seed; pass it to a model constructor.
    pub fn builder(&self, device: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self.clone()), DType::F32, device.clone())
    }

    pub fn var_map(&self) -> &VarMap {
        &self.map
    }

    /// All variables, sorted by name, so that optimiser state lines up across processes.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let data = self.map.data().lock().unwrap_or_else(|e| e.into_inner());
        let mut vars: Vec<_> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars
    }

    fn sample(&self, shape: &Shape, name: &str, init: Init) -> Vec<f32> {
        let n = shape.elem_count();
        let mut rng = Rng::derive(self.seed, name);
        let mut normal = |mean: f64, std: f64| -> Vec<f32> {
            (0..n).map(|_| (mean + std * rng.normal()) as f32).collect()
        };
        match init {
            Init::Const(c) => vec![c as f32; n],
            Init::Randn { mean, stdev } => normal(mean, stdev),
            Init::Uniform { lo, up } => {
                let mut rng = Rng::derive(self.seed, name);
                (0..n)
                    .map(|_| (lo + (up - lo) * rng.uniform()) as f32)
                    .collect()
            }
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => {
                let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
                match dist {
                    NormalOrUniform::Normal => normal(0.0, std),
                    NormalOrUniform::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        let mut rng = Rng::derive(self.seed, name);
                        (0..n)
                            .map(|_| (bound * (2.0 * rng.uniform() - 1.0)) as f32)
                            .collect()
                    }
                }
            }
        }
    }
}

impl SimpleBackend for Params {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut data = self.map.data().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(var) = data.get(name) {
            let t = var.as_tensor();
            if t.shape() != &shape {
                candle_core::bail!(
                    "variable '{name}' has shape {:?}, asked for {shape:?}",
                    t.shape()
                );
            }
            return Ok(t.clone());
        }
        let values = self.sample(&shape, name, init);
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, dev)?.to_dtype(dtype)?)?;
        let t = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let data = self.map.data().lock().unwrap_or_else(|e| e.into_inner());
        match data.get(name) {
            Some(v) => v.as_tensor().to_device(dev)?.to_dtype(dtype),
            None => candle_core::bail!("no variable '{name}'"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .map(|d| d.contains_key(name))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::Module;

    fn linear_weights(seed: u64) -> candle_core::Result<Vec<f32>> {
        let p = Params::new(seed);
        let lin = candle_nn::linear(8, 4, p.builder(&Device::Cpu).pp("fc"))?;
        let x = Tensor::ones((1, 8), DType::F32, &Device::Cpu)?;
        lin.forward(&x)?.flatten_all()?.to_vec1::<f32>()
    }

    #[test]
    fn the_same_seed_gives_the_same_weights() -> candle_core::Result<()> {
        assert_eq!(linear_weights(3)?, linear_weights(3)?);
        assert_ne!(linear_weights(3)?, linear_weights(4)?);
        Ok(())
    }

    #[test]
    fn init_statistics_follow_the_hint() -> candle_core::Result<()> {
        let p = Params::new(1);
        let vb = p.builder(&Device::Cpu);
        let w = vb.get_with_hints(
            (200, 100),
            "w",
            Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?;
        let std = w.sqr()?.mean_all()?.to_scalar::<f32>()?.sqrt();
        assert!((std - 0.02).abs() < 0.001, "std {std}");
        let c = vb.get_with_hints(5, "c", Init::Const(1.0))?;
        assert_eq!(c.to_vec1::<f32>()?, vec![1.0; 5]);
        // Asking again returns the same variable; names are sorted.
        let again = vb.get_with_hints((200, 100), "w", Init::Const(0.0))?;
        assert_eq!(
            again.sum_all()?.to_scalar::<f32>()?,
            w.sum_all()?.to_scalar::<f32>()?
        );
        let names: Vec<_> = p.named_vars().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["c", "w"]);
        Ok(())
    }

    /// The uniform branches: `Init::Uniform` over an interval not centred on 0, and
    /// `kaiming_uniform_(mode="fan_in", nonlinearity="relu")`, whose bound is
    /// gain * sqrt(3 / fan_in) = sqrt(6 / (50 * 3 * 3)) = 0.11547 for a (200, 50, 3, 3) kernel.
    #[test]
    fn uniform_hints_follow_their_interval() -> candle_core::Result<()> {
        use crate::model::init::checks::assert_symmetric_uniform;
        use candle_nn::init::{FanInOut, NonLinearity};
        let p = Params::new(9);
        let vb = p.builder(&Device::Cpu);
        let u = vb.get_with_hints(10_000, "u", Init::Uniform { lo: 2.0, up: 3.0 })?;
        // Shifted to U(-0.5, 0.5).
        assert_symmetric_uniform("u", &(u - 2.5)?, 0.5)?;
        let k = vb.get_with_hints(
            (200, 50, 3, 3),
            "k",
            Init::Kaiming {
                dist: NormalOrUniform::Uniform,
                fan: FanInOut::FanIn,
                non_linearity: NonLinearity::ReLU,
            },
        )?;
        assert_symmetric_uniform("k", &k, (6.0f64 / 450.0).sqrt())?;
        Ok(())
    }
}
