//! Closed-set identification: each query gets the identity of its nearest gallery embedding
//! (Euclidean distance). Galleries: the seed's (first training image per identity), centroids
//! (mean training embedding per identity), or any labelled set.

use std::collections::HashMap;

use anyhow::{bail, Result};
use rayon::prelude::*;

use super::embeddings::Embeddings;

/// Metric names as recorded in the lab.
pub mod metric {
    pub const TOP1_SEED_GALLERY: &str = "top1_seed_gallery";
    pub const TOP1_CENTROID_GALLERY: &str = "top1_centroid_gallery";
    pub const TOP5_SEED_GALLERY: &str = "top5_seed_gallery";
    pub const TOP5_CENTROID_GALLERY: &str = "top5_centroid_gallery";
    pub const N_QUERIES: &str = "n_queries";
    /// Identities in the gallery: guessing scores top-1 one in this many.
    pub const N_IDENTITIES: &str = "n_identities";
    /// A folder's: each person's first image the gallery, their others the queries.
    pub const TOP1_ONE_PER_IDENTITY: &str = "top1_one_per_identity";
    pub const TOP5_ONE_PER_IDENTITY: &str = "top5_one_per_identity";
}

/// Where each query's identity ranked among the gallery identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identification {
    /// 0-based rank of the true identity for each query, in query order. Identities are ranked
    /// by their nearest gallery embedding; a tie with another identity counts against the query
    /// (the rank is the number of *other* identities at a distance ≤ the true one's).
    pub ranks: Vec<usize>,
    /// The predicted (nearest) identity for each query; ties go to the earlier gallery entry,
    /// where [`Self::ranks`] counts a tie against the query: a query tied between its own
    /// identity and another can be predicted right and still miss the top-1.
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
/// appearance. Training order lists each identity's files sorted by name, so this is each
/// person's lowest-numbered training image; with a split seed, the first of that seed's shuffled
/// order.
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

/// Ranks every query's identity against the gallery.
///
/// Distances are summed in f64 from coordinate differences, on the CPU's threads. The expansion
/// |q|² + |g|² − 2 q·g in f32 (one matrix product) loses everything below 1/2²⁴ of the norms:
/// raw embeddings with norms in the hundreds turn near-ties into ties or swaps, and ties count
/// against the query. The cost stays small: LFW's 7,484 queries against 5,749 people at 128
/// dimensions (5.5 G multiply-adds) take 1.9 s on the 2-core development machine, beside the
/// minute the embedding takes.
pub fn identify(gallery: &Embeddings, queries: &Embeddings) -> Result<Identification> {
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

    let wide = |e: &Embeddings| -> Vec<Vec<f64>> {
        e.vectors()
            .iter()
            .map(|v| v.iter().map(|&x| f64::from(x)).collect())
            .collect()
    };
    let gallery_rows = wide(gallery);
    let ranked: Vec<(usize, usize)> = wide(queries)
        .par_iter()
        .zip(truth.par_iter())
        .map_init(
            || vec![f64::INFINITY; identities.len()],
            |best, (q, &true_id)| {
                best.fill(f64::INFINITY);
                let (mut nearest, mut nearest_d) = (0, f64::INFINITY);
                for (j, g) in gallery_rows.iter().enumerate() {
                    let d = squared_distance(q, g);
                    let id = entry_identity[j];
                    if d < best[id] {
                        best[id] = d;
                    }
                    if d < nearest_d {
                        (nearest, nearest_d) = (j, d);
                    }
                }
                let own = best[true_id];
                let rank = best
                    .iter()
                    .enumerate()
                    .filter(|&(id, &d)| id != true_id && d <= own)
                    .count();
                (rank, nearest)
            },
        )
        .collect();
    Ok(Identification {
        ranks: ranked.iter().map(|&(rank, _)| rank).collect(),
        predicted: ranked
            .iter()
            .map(|&(_, j)| identities[entry_identity[j]].to_string())
            .collect(),
    })
}

/// |a − b|², summed in four interleaved partial sums (the additions of one sum wait on each
/// other; four keep the CPU's adders busy).
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            let d = x[k] - y[k];
            acc[k] += d * d;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
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
        let id = identify(&seed, &queries)?;
        assert_eq!(id.ranks, vec![1, 0, 1]);
        assert_eq!(id.predicted, vec!["A", "A", "B"]);
        assert!((id.top_k(1) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(id.top_k(2), 1.0);
        // The centroid gallery A (1,0), B (7,0), C (0,10): B at (4,0) is 3 from both A and B —
        // a tie, counted against it (rank 1); C at (6,6): B √37 < C √52 → rank 1.
        let id = identify(&centroid_gallery(&train()?)?, &queries)?;
        assert_eq!(id.ranks, vec![1, 0, 1]);
        Ok(())
    }

    #[test]
    fn identities_rank_by_their_nearest_gallery_image() -> Result<()> {
        // A gallery with two images of A: the nearer one counts, and A is one identity, not two.
        let gallery = emb(&[("A", [10.0, 0.0]), ("B", [3.0, 0.0]), ("A", [1.0, 0.0])])?;
        let queries = emb(&[("A", [0.0, 0.0]), ("B", [20.0, 0.0])])?;
        let id = identify(&gallery, &queries)?;
        // A query: A 1, B 3 → rank 0. B query: A 10, B 17 → rank 1 (only one other identity).
        assert_eq!(id.ranks, vec![0, 1]);
        Ok(())
    }

    #[test]
    fn ranks_match_brute_force_distances() -> Result<()> {
        let mut rng = crate::rng::Rng::new(3);
        let mut point = |label: usize| -> (String, Vec<f32>) {
            let v = (0..9)
                .map(|d| (d == label % 9) as u8 as f32 * 2.0 + rng.normal() as f32)
                .collect();
            (format!("id{label}"), v)
        };
        let (gl, gv): (Vec<_>, Vec<_>) = (0..20).map(&mut point).unzip();
        let (ql, qv): (Vec<_>, Vec<_>) = (0..97).map(|i| point(i % 20)).unzip();
        let gallery = Embeddings::new(gl, gv)?;
        let queries = Embeddings::new(ql, qv)?;
        let whole = identify(&gallery, &queries)?;
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
    fn large_norms_do_not_turn_near_neighbours_into_ties() -> Result<()> {
        // Raw embeddings far from the origin: the query at (4096, 0), its own identity 0.5 away,
        // another 0.9 away. In f32, |q|² = |g|² = q·g = 2²⁴ for both (0.25 and 0.81 are below
        // half the spacing of f32 there, 2), so the expansion gives 0 for both: a tie, counted
        // against the query.
        let (q, own, other) = ([4096.0f32, 0.0], [4096.0f32, 0.5], [4096.0f32, 0.9]);
        let expanded = |g: [f32; 2]| {
            let dot = |a: [f32; 2], b: [f32; 2]| a[0] * b[0] + a[1] * b[1];
            dot(q, q) + dot(g, g) - 2.0 * dot(q, g)
        };
        assert_eq!((expanded(own), expanded(other)), (0.0, 0.0));
        let gallery = emb(&[("B", other), ("A", own)])?;
        let id = identify(&gallery, &emb(&[("A", q)])?)?;
        assert_eq!(id.ranks, vec![0]);
        assert_eq!(id.predicted, vec!["A"]);
        Ok(())
    }

    #[test]
    fn squared_distance_sums_every_coordinate() {
        // 4 + 1 coordinates: the interleaved sums and the remainder.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(squared_distance(&a, &b), 55.0);
        assert_eq!(squared_distance(&a[..3], &b[..3]), 14.0);
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
        let err = identify(&emb(&[("A", [0.0, 0.0])])?, &emb(&[("Z", [0.0, 0.0])])?).unwrap_err();
        assert!(
            err.to_string().contains("'Z' has no gallery image"),
            "{err}"
        );
        Ok(())
    }
}
