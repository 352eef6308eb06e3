//! The seed's accuracy, measured in eval mode: an image is right when its nearest identity is
//! its own, where each identity is represented by the embedding of its first training image.
//! Also the centroid variant: each identity is the mean of its training embeddings.

use candle_core::{DType, Result, Tensor, D};
use candle_nn::ModuleT;

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

/// Gallery of the first image of each identity, in label order. `labels` must be grouped
/// by identity in split order (as the data pipeline lays them out).
pub fn first_image_gallery(emb: &Tensor, labels: &[u32]) -> Result<(Tensor, Vec<u32>)> {
    let mut seen = std::collections::BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        seen.entry(l).or_insert(i as u32);
    }
    let idx: Vec<u32> = seen.values().copied().collect();
    let gallery = emb.index_select(&Tensor::new(idx.as_slice(), emb.device())?, 0)?;
    Ok((gallery, seen.keys().copied().collect()))
}

/// Gallery of the mean embedding of each identity.
pub fn centroid_gallery(emb: &Tensor, labels: &[u32]) -> Result<(Tensor, Vec<u32>)> {
    let ids: Vec<u32> = labels
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut onehot = vec![0f32; ids.len() * labels.len()];
    for (i, l) in labels.iter().enumerate() {
        if let Ok(c) = ids.binary_search(l) {
            onehot[c * labels.len() + i] = 1.0;
        }
    }
    let onehot = Tensor::from_vec(onehot, (ids.len(), labels.len()), emb.device())?;
    let counts = onehot.sum_keepdim(1)?;
    let gallery = onehot
        .matmul(&emb.to_dtype(DType::F32)?)?
        .broadcast_div(&counts)?;
    Ok((gallery, ids))
}

/// Share of `queries` whose nearest gallery entry (Euclidean) carries their label.
pub fn nearest_accuracy(
    gallery: &Tensor,
    gallery_labels: &[u32],
    queries: &Tensor,
    query_labels: &[u32],
) -> Result<f64> {
    if query_labels.is_empty() {
        return Ok(0.0);
    }
    let q2 = queries.sqr()?.sum_keepdim(1)?;
    let g2 = gallery.sqr()?.sum_keepdim(1)?.t()?;
    let d = q2
        .broadcast_add(&g2)?
        .broadcast_sub(&queries.matmul(&gallery.t()?)?.affine(2.0, 0.0)?)?;
    let nearest = d.argmin(1)?.to_vec1::<u32>()?;
    let right = nearest
        .iter()
        .zip(query_labels)
        .filter(|(&g, &q)| gallery_labels.get(g as usize) == Some(&q))
        .count();
    Ok(right as f64 / query_labels.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(rows: &[[f32; 2]]) -> Result<Tensor> {
        Tensor::from_vec(rows.concat(), (rows.len(), 2), &Device::Cpu)
    }

    // Identity 0 at x≈0, identity 1 at x≈10. The first train image of identity 1 is an outlier
    // at x = 1, so with the seed's gallery the second image of identity 1 (x = 9) is nearer to
    // identity 1 (|9−1| = 8 vs |9−0| = 9) but a dev image at x = 0.6 goes to identity 1 wrongly.
    #[test]
    fn seed_and_centroid_galleries_hand_computed() -> Result<()> {
        let train = t(&[[0.0, 0.0], [0.2, 0.0], [1.0, 0.0], [9.0, 0.0], [10.0, 0.0]])?;
        let labels = [0, 0, 1, 1, 1];
        let (g, gl) = first_image_gallery(&train, &labels)?;
        assert_eq!(g.to_vec2::<f32>()?, vec![vec![0.0, 0.0], vec![1.0, 0.0]]);
        assert_eq!(gl, vec![0, 1]);
        let dev = t(&[[0.6, 0.0], [9.5, 0.0]])?;
        // 0.6 is nearer 1.0 (identity 1) than 0.0: wrong; 9.5 → identity 1: right.
        assert_eq!(nearest_accuracy(&g, &gl, &dev, &[0, 1])?, 0.5);
        // Centroids: identity 0 at 0.1, identity 1 at 20/3 ≈ 6.67: 0.6 → 0 right, 9.5 → 1 right.
        let (c, cl) = centroid_gallery(&train, &labels)?;
        let cx: Vec<f32> = c.to_vec2::<f32>()?.iter().map(|r| r[0]).collect();
        assert!((cx[0] - 0.1).abs() < 1e-6 && (cx[1] - 20.0 / 3.0).abs() < 1e-5);
        assert_eq!(nearest_accuracy(&c, &cl, &dev, &[0, 1])?, 1.0);
        // Train accuracy with the seed gallery: 0, 0.2 → 0 ✓; 1 → 1 ✓; 9, 10 → 1 ✓.
        assert_eq!(nearest_accuracy(&g, &gl, &train, &labels)?, 1.0);
        Ok(())
    }

    #[test]
    fn normalised_rows_have_unit_length() -> Result<()> {
        let n = l2_normalize(&t(&[[3.0, 4.0], [0.0, 2.0]])?)?;
        assert_eq!(n.to_vec2::<f32>()?, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
        Ok(())
    }
}
