//! Adam with its state in the open: candle's `AdamW` keeps its moments private and
//! `VarMap::save` drops them, so a resumed run would restart the optimiser. This one can be
//! checkpointed and restored exactly.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// L2 penalty added to the gradient, as `torch.optim.Adam(weight_decay=...)`.
    pub weight_decay: f64,
}

impl AdamConfig {
    /// PyTorch's defaults with the given learning rate.
    pub fn with_lr(lr: f64) -> AdamConfig {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
}

pub struct Adam {
    cfg: AdamConfig,
    slots: Vec<Slot>,
    step: u64,
}

const STEP_KEY: &str = "adam.step";

impl Adam {
    /// An optimiser over named variables; variables that never get a gradient (BatchNorm
    /// running statistics) are left alone.
    pub fn new(vars: Vec<(String, Var)>, cfg: AdamConfig) -> Result<Adam> {
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                let z = var.as_tensor().zeros_like()?;
                Ok(Slot {
                    name,
                    m: z.clone(),
                    v: z,
                    var,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Adam {
            cfg,
            slots,
            step: 0,
        })
    }

    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The rate for the next steps (a schedule sets it before each step).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.cfg;
        let bc1 = 1.0 - beta1.powi(self.step as i32);
        let bc2 = 1.0 - beta2.powi(self.step as i32);
        for slot in &mut self.slots {
            let Some(g) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let g = if weight_decay != 0.0 {
                (g + slot.var.as_tensor().affine(weight_decay, 0.0)?)?
            } else {
                g.clone()
            };
            slot.m = ((&slot.m * beta1)? + (&g * (1.0 - beta1))?)?;
            slot.v = ((&slot.v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
            // torch: denom = sqrt(v) / sqrt(bc2) + eps; p -= lr / bc1 * m / denom
            let denom = ((slot.v.sqrt()? / bc2.sqrt())? + eps)?;
            let update = ((&slot.m / denom)? * (lr / bc1))?;
            slot.var.set(&slot.var.as_tensor().sub(&update)?)?;
        }
        Ok(())
    }

    /// The moments and step count, keyed for a safetensors checkpoint.
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        for s in &self.slots {
            out.insert(format!("adam.m.{}", s.name), s.m.clone());
            out.insert(format!("adam.v.{}", s.name), s.v.clone());
        }
        let dev = self
            .slots
            .first()
            .map(|s| s.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        out.insert(
            STEP_KEY.to_string(),
            Tensor::new(&[self.step as i64], &dev)?,
        );
        Ok(out)
    }

    /// Restores what [`Adam::state`] saved; every variable must have its moments.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        for s in &mut self.slots {
            let get = |kind: &str| -> Result<Tensor> {
                let key = format!("adam.{kind}.{}", s.name);
                let t = state
                    .get(&key)
                    .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks '{key}'")))?;
                if t.shape() != s.var.shape() {
                    candle_core::bail!(
                        "checkpoint '{key}' has shape {:?}, the model needs {:?}",
                        t.shape(),
                        s.var.shape()
                    );
                }
                t.to_device(s.var.device())?.to_dtype(s.var.dtype())
            };
            s.m = get("m")?;
            s.v = get("v")?;
        }
        let step = state
            .get(STEP_KEY)
            .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks '{STEP_KEY}'")))?;
        self.step = step
            .flatten_all()?
            .to_vec1::<i64>()?
            .first()
            .copied()
            .unwrap_or(0) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn matches_torch_adam_on_a_quadratic() -> Result<()> {
        // torch.optim.Adam's update (torch/optim/adam.py, _single_tensor_adam) replayed in Python
        // for p = [1, -2], lr = 0.1, loss = (p**2).sum(), 3 steps -> [0.70158627, -1.70062339]
        let p = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
        let mut opt = Adam::new(vec![("p".into(), p.clone())], AdamConfig::with_lr(0.1))?;
        for _ in 0..3 {
            let loss = p.as_tensor().sqr()?.sum_all()?;
            opt.step(&loss.backward()?)?;
        }
        let got = p.as_tensor().to_vec1::<f32>()?;
        assert!(
            (got[0] - 0.701_586_27).abs() < 1e-5 && (got[1] + 1.700_623_4).abs() < 1e-5,
            "{got:?}"
        );
        assert_eq!(opt.step_count(), 3);
        Ok(())
    }

    #[test]
    fn saved_state_resumes_exactly() -> Result<()> {
        let run = |steps: usize, p: &Var, opt: &mut Adam| -> Result<()> {
            for _ in 0..steps {
                let loss = (p.as_tensor().sqr()?.sum_all()? + p.as_tensor().sum_all()?)?;
                opt.step(&loss.backward()?)?;
            }
            Ok(())
        };
        let a = Var::new(&[0.5f32, 3.0, -1.0], &Device::Cpu)?;
        let mut opt_a = Adam::new(vec![("w".into(), a.clone())], AdamConfig::with_lr(0.05))?;
        run(6, &a, &mut opt_a)?;

        let b = Var::new(&[0.5f32, 3.0, -1.0], &Device::Cpu)?;
        let mut opt_b = Adam::new(vec![("w".into(), b.clone())], AdamConfig::with_lr(0.05))?;
        run(3, &b, &mut opt_b)?;
        let state = opt_b.state()?;
        let mut opt_c = Adam::new(vec![("w".into(), b.clone())], AdamConfig::with_lr(0.05))?;
        opt_c.load_state(&state)?;
        run(3, &b, &mut opt_c)?;
        assert_eq!(
            a.as_tensor().to_vec1::<f32>()?,
            b.as_tensor().to_vec1::<f32>()?
        );

        let mut missing = state.clone();
        missing.remove("adam.m.w");
        let err = opt_c.load_state(&missing).unwrap_err().to_string();
        assert!(err.contains("adam.m.w"), "{err}");
        Ok(())
    }
}
