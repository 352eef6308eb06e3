//! A fully connected layer whose weight gradient comes out in the weight's own layout.
//!
//! candle-nn's `Linear` computes `x · Wᵀ`. Its backward produces the gradient of the view `Wᵀ`
//! and transposes it, and candle's gradient store adds that transposed view into zeros: a
//! strided pass over the whole matrix every step (37.7M elements for AlexNet's first classifier
//! layer, where it took more time than all of AlexNet's convolutions). [`Linear`] computes
//! `(W · xᵀ)ᵀ`, the same products, so the weight's gradient `dyᵀ · x` is contiguous and the
//! transposed views are the activations', a batch wide.
use candle_core::{Module, Result, Tensor};

#[derive(Clone, Debug)]
pub struct Linear {
    /// `(out, in)`, as torch's.
    weight: Tensor,
    /// `(out,)`.
    bias: Option<Tensor>,
}

impl Linear {
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Linear {
        Linear { weight, bias }
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

impl Module for Linear {
    /// `(batch, in)` to `(batch, out)`; only two dimensions (candle-nn's also takes
    /// `(batch, seq, in)`). Without a bias the result is a transposed view, not contiguous.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        super::trace::note(|| super::trace::LayerOp::Linear {
            input: xs.dims().to_vec(),
            out: self.weight.dims().first().copied().unwrap_or(0),
        });
        let ys = self.weight.matmul(&xs.t()?)?.t()?;
        match &self.bias {
            None => Ok(ys),
            Some(bias) => ys.broadcast_add(bias),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candles_linear_forward_and_backward() -> Result<()> {
        let dev = Device::Cpu;
        let w = Var::from_tensor(&Tensor::randn(0f64, 1., (5, 7), &dev)?)?;
        let b = Var::from_tensor(&Tensor::randn(0f64, 1., 5, &dev)?)?;
        for batch in [1, 3] {
            let x = Var::from_tensor(&Tensor::randn(0f64, 1., (batch, 7), &dev)?)?;
            let up = Tensor::randn(0f64, 1., (batch, 5), &dev)?;
            let run = |m: &dyn Module| -> Result<Vec<Vec<f64>>> {
                let y = m.forward(x.as_tensor())?;
                assert_eq!(y.dims(), [batch, 5]);
                let grads = (&y * &up)?.sum_all()?.backward()?;
                let mut out = vec![y.flatten_all()?.to_vec1()?];
                for v in [&w, &b, &x] {
                    out.push(grads.get(v).expect("a gradient").flatten_all()?.to_vec1()?);
                }
                Ok(out)
            };
            let (w_t, b_t) = (w.as_tensor().clone(), b.as_tensor().clone());
            let ours = run(&Linear::new(w_t.clone(), Some(b_t.clone())))?;
            let theirs = run(&candle_nn::Linear::new(w_t, Some(b_t)))?;
            for (name, (a, e)) in ["output", "dW", "db", "dx"]
                .iter()
                .zip(ours.iter().zip(&theirs))
            {
                let worst = a
                    .iter()
                    .zip(e)
                    .map(|(a, e)| (a - e).abs())
                    .fold(0., f64::max);
                assert!(worst < 1e-12, "batch {batch}: {name} differs by {worst}");
            }
        }
        Ok(())
    }
}
