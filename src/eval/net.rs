//! A run's network restored from one of its checkpoints, embedding images a batch at a time
//! on whatever device it was loaded to.

use anyhow::{Context, Result};
use candle_core::{DType, Device};
use candle_nn::{ModuleT, VarBuilder};

use crate::data::{DataSpec, ImageRef, ImageStore, Pixels};
use crate::eval::batches::embed_in_batches;
use crate::lab::{Checkpoint, Lab, Run};
use crate::model::EmbeddingNet;
use crate::train::checkpoint;
use crate::train::config::TrainConfig;
use crate::train::evaluate::l2_normalize;

/// A run's network restored from one of its checkpoints.
pub struct Net {
    model: EmbeddingNet,
    /// The run's recorded configuration (image size, crop, normalisation).
    pub cfg: TrainConfig,
    device: Device,
}

impl Net {
    pub fn load(lab: &Lab, run: &Run, ck: &Checkpoint, device: &Device) -> Result<Net> {
        let cfg = TrainConfig::recorded(run)?;
        let path = lab.checkpoint_file(run, ck)?;
        let loaded = checkpoint::load(&path, Some(&ck.sha256), device)
            .with_context(|| format!("loading run {}'s checkpoint", run.id))?;
        // The weights as plain tensors, not the trainer's variables: candle records every op on
        // a variable for a backward pass, so a forward pass kept all of a batch's activations
        // alive (4 GB for 256 ResNet18 images at 96 px, twice that with --flip).
        let model = frozen(&cfg, loaded.tensors, device).with_context(|| {
            format!(
                "run {}'s checkpoint does not fit its {} with {}-d embeddings: was it written \
                 for another model?",
                run.id, cfg.model, cfg.dim
            )
        })?;
        Ok(Net {
            model,
            cfg,
            device: device.clone(),
        })
    }

    /// `cfg`'s network as a run with seed `seed` starts it, untrained and frozen: the
    /// embedding path without a checkpoint, for benchmarks (`cargo bench --bench embed`).
    pub fn initialised(cfg: TrainConfig, seed: u64, device: &Device) -> Result<Net> {
        let params = crate::train::params::Params::new(seed);
        EmbeddingNet::new(cfg.model, cfg.dim, params.builder(device))?;
        let weights = params
            .named_vars()
            .into_iter()
            .map(|(name, var)| Ok((name, var.as_tensor().copy()?)))
            .collect::<Result<_>>()?;
        Ok(Net {
            model: frozen(&cfg, weights, device)?,
            cfg,
            device: device.clone(),
        })
    }

    /// The embeddings of `items`, in order, decoded at the run's image size and crop, and
    /// embedded in eval mode a batch at a time, on the model's device.
    pub fn embed(
        &self,
        spec: &DataSpec,
        items: &[ImageRef],
        flip: bool,
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let store = ImageStore::open(spec, items, true)?;
        let bar = crate::data::progress::items(items.len(), "embedding", true);
        let device = &self.device;
        let pixels = Pixels::new(self.cfg.image_size, self.cfg.crop)?;
        let out = embed_in_batches(
            items.len(),
            batch_size,
            flip,
            |range| {
                let n = range.len() as u64;
                let x = store.decode(range, pixels)?.to_device(device)?;
                bar.inc(n);
                Ok(x)
            },
            |x| {
                let e = self.model.forward_t(x, false)?;
                Ok(if self.cfg.normalize {
                    l2_normalize(&e)?
                } else {
                    e
                })
            },
        );
        bar.finish_and_clear();
        out
    }
}

/// `cfg`'s network with `weights` as constants, for inference only.
fn frozen(
    cfg: &TrainConfig,
    weights: std::collections::HashMap<String, candle_core::Tensor>,
    device: &Device,
) -> Result<EmbeddingNet> {
    // Detached: a tensor copied from a variable still leads back to it.
    let weights = weights.into_iter().map(|(k, t)| (k, t.detach())).collect();
    cfg.network(VarBuilder::from_tensors(weights, DType::F32, device))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frozen network computes what the trained one does, input normalisation included, and
    /// records no graph: a backward pass from its output reaches nothing but the output itself.
    #[test]
    fn frozen_weights_embed_alike_without_a_graph() -> Result<()> {
        let cfg = TrainConfig {
            image_size: 32,
            dim: 8,
            imagenet_norm: true,
            ..TrainConfig::default()
        };
        let params = crate::train::params::Params::new(3);
        let trained = cfg.network(params.builder(&Device::Cpu))?;
        let weights: std::collections::HashMap<_, _> = params
            .named_vars()
            .into_iter()
            .map(|(name, var)| Ok((name, var.as_tensor().copy()?)))
            .collect::<Result<_>>()?;
        let net = frozen(&cfg, weights.clone(), &Device::Cpu)?;
        let x = candle_core::Tensor::randn(0f32, 1.0, (2, 3, 32, 32), &Device::Cpu)?;
        let (a, b) = (trained.forward_t(&x, false)?, net.forward_t(&x, false)?);
        assert_eq!(a.to_vec2::<f32>()?, b.to_vec2::<f32>()?);
        let unnormalised = TrainConfig {
            imagenet_norm: false,
            ..cfg
        };
        let c = frozen(&unnormalised, weights, &Device::Cpu)?.forward_t(&x, false)?;
        assert_ne!(a.to_vec2::<f32>()?, c.to_vec2::<f32>()?);
        let reached = |t: &candle_core::Tensor| -> Result<usize> {
            Ok(t.sum_all()?.backward()?.get_ids().count())
        };
        assert!(reached(&a)? > 10, "the trained network records its graph");
        assert_eq!(reached(&b)?, 1);
        Ok(())
    }
}
