//! Training throughput: one step (forward, triplet loss, backward, Adam) timed in its parts,
//! on random images, so that changes to models or kernels can be compared.

use std::time::Instant;

use anyhow::Result;
use candle_core::{DType, Device, Tensor};

use crate::model::{Arch, EmbeddingNet};
use crate::rng::Rng;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::params::Params;
use crate::train::triplet::{triplet_loss, Mining};

#[derive(Clone, Debug, PartialEq)]
pub struct StepTiming {
    pub arch: Arch,
    pub batch: usize,
    pub image_size: usize,
    /// The embedding's width.
    pub dim: usize,
    /// Median seconds of each part over the timed steps. A step that grows the heap can stall
    /// for hundreds of milliseconds while the kernel zeroes the new memory (AlexNet's second
    /// backward at 64×64 took 0.2–0.75 s in some calls, 70 ms after; `perf` put 73–79% of such
    /// a call in `clear_page_erms`), and one such step moved a 5-step mean twofold.
    pub forward: f64,
    pub backward: f64,
    pub optimizer: f64,
    /// Median seconds of a whole step, freeing its graph and gradients included, as PyTorch's
    /// side of the comparison (`bench/torch_step.py`) measures its steps. The parts' medians
    /// need not add up to it.
    pub step: f64,
}

impl StepTiming {
    pub fn images_per_sec(&self) -> f64 {
        self.batch as f64 / self.step
    }
}

/// Times `steps` training steps after one warm-up step.
pub fn time_steps(
    arch: Arch,
    batch: usize,
    image_size: usize,
    dim: usize,
    steps: usize,
    device: &Device,
) -> Result<StepTiming> {
    let params = Params::new(0);
    let model = EmbeddingNet::new(arch, dim, params.builder(device))?;
    let mut adam = Adam::new(params.named_vars(), AdamConfig::with_lr(1e-4))?;
    let x = Tensor::randn(0f32, 1.0, (batch, 3, image_size, image_size), device)?;
    let y = Tensor::new(labels(batch).as_slice(), device)?;
    let (mut f, mut b, mut o, mut whole) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // New dropout masks every step, as in training.
    let mut dropout = Rng::new(0);
    for i in 0..=steps {
        let t0 = Instant::now();
        let emb = model.forward_train(&x, &mut dropout)?;
        let out = triplet_loss(&emb, &y, 0.2, Mining::All)?
            .ok_or_else(|| anyhow::anyhow!("the bench batch has no triplet"))?;
        out.loss.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let t1 = Instant::now();
        let grads = out.loss.backward()?;
        device.synchronize()?;
        let t2 = Instant::now();
        adam.step(&grads)?;
        device.synchronize()?;
        let t3 = Instant::now();
        drop((grads, out, emb));
        let t4 = Instant::now();
        if i > 0 {
            f.push((t1 - t0).as_secs_f64());
            b.push((t2 - t1).as_secs_f64());
            o.push((t3 - t2).as_secs_f64());
            whole.push((t4 - t0).as_secs_f64());
        }
    }
    Ok(StepTiming {
        arch,
        batch,
        image_size,
        dim,
        forward: median(f),
        backward: median(b),
        optimizer: median(o),
        step: median(whole),
    })
}

/// The bench batch's identities: four images each, as a P×K batch would hold; fewer in a batch
/// under 8, so that it still holds two identities (a batch of 4 holds 2 × 2).
fn labels(batch: usize) -> Vec<u32> {
    let k = (batch as u32 / 2).clamp(1, 4);
    (0..batch as u32).map(|i| i / k).collect()
}

/// The middle value, or the mean of the two middle values of an even count; NaN for none.
pub(crate) fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_step_does_not_move_the_median() {
        assert_eq!(median(vec![0.07, 0.75, 0.068, 0.074, 0.071]), 0.071);
        assert_eq!(median(vec![0.3, 0.1, 0.2, 0.9]), 0.25);
        assert_eq!(median(vec![0.5]), 0.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn every_batch_the_command_allows_holds_a_triplet() -> Result<()> {
        // bench refuses batches under 4; from there on each batch must hold two identities,
        // one of them with a positive, or the step has no loss to time.
        for batch in 4..=128 {
            let labels = labels(batch);
            assert_eq!(labels.len(), batch);
            let mut counts = std::collections::BTreeMap::new();
            for l in &labels {
                *counts.entry(*l).or_insert(0) += 1;
            }
            assert!(counts.len() >= 2, "batch {batch}: {labels:?}");
            assert!(
                counts.values().any(|&n| n >= 2),
                "batch {batch}: {labels:?}"
            );
            let emb = Tensor::randn(0f32, 1.0, (batch, 8), &Device::Cpu)?;
            let y = Tensor::new(labels.as_slice(), &Device::Cpu)?;
            assert!(
                triplet_loss(&emb, &y, 0.2, Mining::All)?.is_some(),
                "batch {batch}"
            );
        }
        Ok(())
    }
}
