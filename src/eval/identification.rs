//! Closed-set identification: each query gets the identity of its nearest gallery embedding
//! (Euclidean distance). Galleries: the seed's (first training image per identity), centroids
//! (mean training embedding per identity), or any labelled set.

use std::collections::HashMap;

use anyhow::{bail, Result};
use candle_core::Device;

use super::embeddings::Embeddings;

/// How many distances one chunk of the query × gallery matrix holds: 16 Mi f32 = 64 MiB, which
/// fits any GPU and keeps 13,233 × 5,749 (LFW against one image per person) to five chunks.
const CHUNK_ELEMENTS: usize = 16 << 20;

/// Metric names as recorded in the lab.
pub mod metric {
    pub const TOP1_SEED_GALLERY: &str = "top1_seed_gallery";
    pub const TOP1_CENTROID_GALLERY: &str = "top1_centroid_gallery";
    pub const TOP5_SEED_GALLERY: &str = "top5_seed_gallery";
    pub const TOP5_CENTROID_GALLERY: &str = "top5_centroid_gallery";
    pub const N_QUERIES: &str = "n_queries";
}

/// Where each query's identity ranked among the gallery identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identification {
    /// 0-based rank of the true identity for each query, in query order. Identities are ranked
    /// by their nearest gallery embedding; a tie with another identity counts against the query
    /// (the rank is the number of *other* identities at a distance ≤ the true one's).
    pub ranks: Vec<usize>,
    /// The predicted (nearest) identity for each query; ties go to the earlier gallery entry.
    pub predicted: Vec<String>,
}

impl Identification {
    /// Share of queries whose identity is among the `k` nearest gallery identities.
    pub fn top_k(&self, k: usize) -> f64 {
        if self.ranks.is_empty() {
            return 0.0;
        }
        self.ranks.iter().filter(|&&r| r < k).count() as f64 / self.ranks.len() as f64
    }
}

/// The seed's gallery: each identity represented by its first image in `train`, in order of first
/// appearance. Splits list their members sorted by identity then file, so this is each person's
/// lowest-numbered training image.
pub fn seed_gallery(train: &Embeddings) -> Result<Embeddings> {
    let mut seen = HashMap::new();
    let (mut labels, mut vectors) = (Vec::new(), Vec::new());
    for (label, v) in train.labels().iter().zip(train.vectors()) {
        if seen.insert(label.as_str(), ()).is_none() {
            labels.push(label.clone());
            vectors.push(v.clone());
        }
    }
    Embeddings::new(labels, vectors)
}

/// A centroid gallery: the mean training embedding of each identity, in order of first
/// appearance. Means are accumulated in f64 and not re-normalised.
pub fn centroid_gallery(train: &Embeddings) -> Result<Embeddings> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut labels = Vec::new();
    let mut sums: Vec<(Vec<f64>, usize)> = Vec::new();
    for (label, v) in train.labels().iter().zip(train.vectors()) {
        let i = *index.entry(label.as_str()).or_insert_with(|| {
            labels.push(label.clone());
            sums.push((vec![0.0; train.dim()], 0));
            sums.len() - 1
        });
        let (sum, n) = &mut sums[i];
        for (s, &x) in sum.iter_mut().zip(v) {
            *s += f64::from(x);
        }
        *n += 1;
    }
    let vectors = sums
        .into_iter()
        .map(|(sum, n)| sum.into_iter().map(|s| (s / n as f64) as f32).collect())
        .collect();
    Embeddings::new(labels, vectors)
}

/// Open-set gallery and queries from one folder: the first image of each identity is its
/// gallery entry, the others are queries. Identities with a single image only add a distractor
/// to the gallery.
pub fn gallery_and_queries(all: &Embeddings) -> Result<(Embeddings, Embeddings)> {
    let gallery = seed_gallery(all)?;
    let mut seen = HashMap::new();
    let (mut labels, mut vectors) = (Vec::new(), Vec::new());
    for (label, v) in all.labels().iter().zip(all.vectors()) {
        if seen.insert(label.as_str(), ()).is_some() {
            labels.push(label.clone());
            vectors.push(v.clone());
        }
    }
    Ok((gallery, Embeddings::new(labels, vectors)?))
}

/// Ranks every query's identity against the gallery, computing distances on `device` in chunks
/// of queries.
pub fn identify(
    gallery: &Embeddings,
    queries: &Embeddings,
    device: &Device,
) -> Result<Identification> {
    identify_in_chunks(gallery, queries, device, CHUNK_ELEMENTS)
}

fn identify_in_chunks(
    gallery: &Embeddings,
    queries: &Embeddings,
    device: &Device,
    chunk_elements: usize,
) -> Result<Identification> {
    if gallery.is_empty() {
        bail!("the gallery is empty: there is nothing to identify queries against");
    }
    if !queries.is_empty() && queries.dim() != gallery.dim() {
        bail!(
            "queries have dimension {} but the gallery has {}: they come from different models",
            queries.dim(),
            gallery.dim()
        );
    }
    // Each gallery entry's identity, as an index into `identities`.
    let mut identities: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let entry_identity: Vec<usize> = gallery
        .labels()
        .iter()
        .map(|l| {
            *index.entry(l.as_str()).or_insert_with(|| {
                identities.push(l.as_str());
                identities.len() - 1
            })
        })
        .collect();
    let truth: Vec<usize> = queries
        .labels()
        .iter()
        .map(|l| match index.get(l.as_str()) {
            Some(&i) => Ok(i),
            None => bail!(
                "query identity '{l}' has no gallery image: closed-set identification needs every \
                 query's identity in the gallery"
            ),
        })
        .collect::<Result<_>>()?;

    let n_gallery = gallery.len();
    let g = gallery.tensor(0..n_gallery, device)?;
    let g_t = g.t()?.contiguous()?;
    let g_sq = g.sqr()?.sum_keepdim(1)?.t()?; // (1, n_gallery)
    let rows_per_chunk = (chunk_elements / n_gallery).max(1);

    let mut result = Identification {
        ranks: Vec::with_capacity(queries.len()),
        predicted: Vec::with_capacity(queries.len()),
    };
    let mut best = vec![f32::INFINITY; identities.len()];
    let mut start = 0;
    while start < queries.len() {
        let end = (start + rows_per_chunk).min(queries.len());
        let q = queries.tensor(start..end, device)?;
        let q_sq = q.sqr()?.sum_keepdim(1)?; // (rows, 1)
                                             // |q − g|² = |q|² + |g|² − 2 q·g
        let d2 = q_sq
            .broadcast_add(&g_sq)?
            .broadcast_sub(&(q.matmul(&g_t)? * 2.0)?)?;
        for (row, &true_id) in d2.to_vec2::<f32>()?.iter().zip(&truth[start..end]) {
            best.fill(f32::INFINITY);
            let mut nearest = 0;
            for (j, &d) in row.iter().enumerate() {
                let id = entry_identity[j];
                if d < best[id] {
                    best[id] = d;
                }
                if d < row[nearest] {
                    nearest = j;
                }
            }
            let own = best[true_id];
            let rank = best
                .iter()
                .enumerate()
                .filter(|&(id, &d)| id != true_id && d <= own)
                .count();
            result.ranks.push(rank);
            result
                .predicted
                .push(identities[entry_identity[nearest]].to_string());
        }
        start = end;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb(rows: &[(&str, [f32; 2])]) -> Result<Embeddings> {
        Embeddings::new(
            rows.iter().map(|(l, _)| l.to_string()).collect(),
            rows.iter().map(|(_, v)| v.to_vec()).collect(),
        )
    }

    /// Training images: A at (0,0) and (2,0); B at (10,0) and (4,0); C at (0,10).
    fn train() -> Result<Embeddings> {
        emb(&[
            ("A", [0.0, 0.0]),
            ("B", [10.0, 0.0]),
            ("A", [2.0, 0.0]),
            ("B", [4.0, 0.0]),
            ("C", [0.0, 10.0]),
        ])
    }

    #[test]
    fn galleries_from_training_embeddings() -> Result<()> {
        let seed = seed_gallery(&train()?)?;
        assert_eq!(seed.labels(), ["A", "B", "C"]);
        assert_eq!(
            seed.vectors(),
            [vec![0.0, 0.0], vec![10.0, 0.0], vec![0.0, 10.0]]
        );
        // Centroids by hand: A (0+2)/2 = 1, B (10+4)/2 = 7, C alone.
        let centroid = centroid_gallery(&train()?)?;
        assert_eq!(centroid.labels(), ["A", "B", "C"]);
        assert_eq!(
            centroid.vectors(),
            [vec![1.0, 0.0], vec![7.0, 0.0], vec![0.0, 10.0]]
        );
        Ok(())
    }

    #[test]
    fn top_k_by_hand() -> Result<()> {
        // Queries against the seed gallery A (0,0), B (10,0), C (0,10):
        //   B at (4,0): distances A 4, B 6, C √116 ≈ 10.8 → rank 1 (A is nearer): wrong at top-1.
        //   A at (1,1): A √2, B √82, C √82 → rank 0.
        //   C at (6,6): A √72 ≈ 8.5, B √52 ≈ 7.2, C √52 → the tie with B counts against: rank 1.
        let queries = emb(&[("B", [4.0, 0.0]), ("A", [1.0, 1.0]), ("C", [6.0, 6.0])])?;
        let seed = seed_gallery(&train()?)?;
        let id = identify(&seed, &queries, &Device::Cpu)?;
        assert_eq!(id.ranks, vec![1, 0, 1]);
        assert_eq!(id.predicted, vec!["A", "A", "B"]);
        assert!((id.top_k(1) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(id.top_k(2), 1.0);
        // The centroid gallery A (1,0), B (7,0), C (0,10): B at (4,0) is 3 from both A and B —
        // a tie, counted against it (rank 1); C at (6,6): B √37 < C √52 → rank 1.
        let id = identify(&centroid_gallery(&train()?)?, &queries, &Device::Cpu)?;
        assert_eq!(id.ranks, vec![1, 0, 1]);
        Ok(())
    }

    #[test]
    fn identities_rank_by_their_nearest_gallery_image() -> Result<()> {
        // A gallery with two images of A: the nearer one counts, and A is one identity, not two.
        let gallery = emb(&[("A", [10.0, 0.0]), ("B", [3.0, 0.0]), ("A", [1.0, 0.0])])?;
        let queries = emb(&[("A", [0.0, 0.0]), ("B", [20.0, 0.0])])?;
        let id = identify(&gallery, &queries, &Device::Cpu)?;
        // A query: A 1, B 3 → rank 0. B query: A 10, B 17 → rank 1 (only one other identity).
        assert_eq!(id.ranks, vec![0, 1]);
        Ok(())
    }

    #[test]
    fn chunking_does_not_change_the_answer() -> Result<()> {
        let mut rng = crate::rng::Rng::new(3);
        let mut point = |label: usize| -> (String, Vec<f32>) {
            let v = (0..8)
                .map(|d| (d == label % 8) as u8 as f32 * 2.0 + rng.normal() as f32)
                .collect();
            (format!("id{label}"), v)
        };
        let (gl, gv): (Vec<_>, Vec<_>) = (0..20).map(&mut point).unzip();
        let (ql, qv): (Vec<_>, Vec<_>) = (0..97).map(|i| point(i % 20)).unzip();
        let gallery = Embeddings::new(gl, gv)?;
        let queries = Embeddings::new(ql, qv)?;
        let whole = identify(&gallery, &queries, &Device::Cpu)?;
        // 20 gallery entries × 1 row per chunk, and 7 rows per chunk (97 = 13 × 7 + 6).
        for elements in [1, 140] {
            assert_eq!(
                identify_in_chunks(&gallery, &queries, &Device::Cpu, elements)?,
                whole
            );
        }
        // Brute force on the CPU in f64 agrees on the ranks.
        for (q, (label, v)) in queries.labels().iter().zip(queries.vectors()).enumerate() {
            let d: Vec<f64> = gallery
                .vectors()
                .iter()
                .map(|g| super::super::embeddings::euclidean(v, g))
                .collect();
            let own = gallery
                .labels()
                .iter()
                .position(|l| l == label)
                .map(|i| d[i]);
            let own = own.ok_or_else(|| anyhow::anyhow!("label {label} missing"))?;
            let rank = d.iter().filter(|&&x| x <= own).count() - 1;
            assert_eq!(whole.ranks[q], rank, "query {q}");
        }
        Ok(())
    }

    #[test]
    fn folder_gallery_takes_the_first_image_of_each_identity() -> Result<()> {
        let all = emb(&[
            ("A", [0.0, 0.0]),
            ("A", [1.0, 0.0]),
            ("B", [5.0, 0.0]),
            ("A", [2.0, 0.0]),
        ])?;
        let (g, q) = gallery_and_queries(&all)?;
        assert_eq!(g.labels(), ["A", "B"]);
        assert_eq!(q.labels(), ["A", "A"]);
        assert_eq!(q.vectors(), [vec![1.0, 0.0], vec![2.0, 0.0]]);
        Ok(())
    }

    #[test]
    fn a_query_identity_missing_from_the_gallery_is_an_error() -> Result<()> {
        let err = identify(
            &emb(&[("A", [0.0, 0.0])])?,
            &emb(&[("Z", [0.0, 0.0])])?,
            &Device::Cpu,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("'Z' has no gallery image"),
            "{err}"
        );
        Ok(())
    }
}
