//! The seed's accuracy, measured in eval mode: an image is right when its nearest identity is
//! its own, where each identity is represented by the embedding of its first training image.
//! Also the centroid variant: each identity is the mean of its training embeddings.

use candle_core::{DType, Result, Tensor, D};
use candle_nn::ModuleT;

use crate::eval::embeddings::Embeddings;
use crate::eval::identification::{centroid_gallery, identify, seed_gallery};

/// Rows scaled to unit length.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .affine(1.0, 1e-12)?
        .sqrt()?;
    x.broadcast_div(&norm)
}

/// Embeddings of `images` (N,3,S,S) in eval mode, `chunk` at a time, detached from the graph.
pub fn embed(
    model: &dyn ModuleT,
    images: &Tensor,
    normalize: bool,
    chunk: usize,
) -> Result<Tensor> {
    let n = images.dim(0)?;
    let mut parts = Vec::with_capacity(n.div_ceil(chunk.max(1)));
    let mut start = 0;
    while start < n {
        let len = chunk.max(1).min(n - start);
        let e = model
            .forward_t(&images.narrow(0, start, len)?, false)?
            .detach();
        parts.push(if normalize { l2_normalize(&e)? } else { e });
        start += len;
    }
    Tensor::cat(&parts, 0)
}

/// The seed's accuracies, (train, dev, dev against centroids): the share of images whose
/// nearest identity is their own, each identity represented by its first training image (or,
/// for the last, by the mean of its training embeddings). Galleries and ranking are those of
/// `eval`, so training and evaluation measure the same thing.
pub fn seed_accuracies(
    train: &Tensor,
    train_labels: &[u32],
    dev: &Tensor,
    dev_labels: &[u32],
) -> anyhow::Result<(f64, f64, f64)> {
    let host = |emb: &Tensor, labels: &[u32]| -> anyhow::Result<Embeddings> {
        let names = labels.iter().map(u32::to_string).collect();
        Embeddings::new(names, emb.to_dtype(DType::F32)?.to_vec2::<f32>()?)
    };
    let (train, dev) = (host(train, train_labels)?, host(dev, dev_labels)?);
    let seed = seed_gallery(&train)?;
    Ok((
        identify(&seed, &train)?.top_k(1),
        identify(&seed, &dev)?.top_k(1),
        identify(&centroid_gallery(&train)?, &dev)?.top_k(1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(rows: &[[f32; 2]]) -> Result<Tensor> {
        Tensor::from_vec(rows.concat(), (rows.len(), 2), &Device::Cpu)
    }

    // Identity 0 at x≈0, identity 1 at x≈10, but identity 1's first train image is an outlier at
    // x = 1. Seed gallery {0 → 0.0, 1 → 1.0}: train 0, 0.2 → 0 ✓; 1, 9, 10 → 1 ✓ (1.0); dev 0.6 is
    // nearer 1.0 than 0.0, so wrongly 1, and 9.5 → 1 ✓ (0.5). Centroids {0 → 0.1, 1 → 20/3}: both
    // dev images right (1.0).
    #[test]
    fn seed_and_centroid_accuracies_hand_computed() -> anyhow::Result<()> {
        let train = t(&[[0.0, 0.0], [0.2, 0.0], [1.0, 0.0], [9.0, 0.0], [10.0, 0.0]])?;
        let dev = t(&[[0.6, 0.0], [9.5, 0.0]])?;
        let acc = seed_accuracies(&train, &[0, 0, 1, 1, 1], &dev, &[0, 1])?;
        assert_eq!(acc, (1.0, 0.5, 1.0));
        Ok(())
    }

    #[test]
    fn normalised_rows_have_unit_length() -> Result<()> {
        let n = l2_normalize(&t(&[[3.0, 4.0], [0.0, 2.0]])?)?;
        assert_eq!(n.to_vec2::<f32>()?, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
        Ok(())
    }
}
