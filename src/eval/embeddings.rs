//! Embeddings with the identity of each image: what every evaluation protocol consumes.

use anyhow::{bail, ensure, Result};

/// One embedding per image, with its identity, all of one dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    labels: Vec<String>,
    vectors: Vec<Vec<f32>>,
    dim: usize,
}

impl Embeddings {
    /// Checks that there is one label per vector, that all vectors have the same dimension and
    /// that every value is finite.
    pub fn new(labels: Vec<String>, vectors: Vec<Vec<f32>>) -> Result<Embeddings> {
        ensure!(
            labels.len() == vectors.len(),
            "{} labels for {} embeddings: each embedding needs its identity",
            labels.len(),
            vectors.len()
        );
        let dim = vectors.first().map_or(0, Vec::len);
        for (i, v) in vectors.iter().enumerate() {
            if v.len() != dim {
                bail!(
                    "embedding {i} (of identity '{}') has dimension {}, embedding 0 has {dim}",
                    labels[i],
                    v.len()
                );
            }
            if v.iter().any(|x| !x.is_finite()) {
                bail!(
                    "embedding {i} (of identity '{}') contains NaN or infinity: the network's weights have \
                     diverged (in training, a lower --lr helps)",
                    labels[i]
                );
            }
        }
        Ok(Embeddings {
            labels,
            vectors,
            dim,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn vectors(&self) -> &[Vec<f32>] {
        &self.vectors
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}

/// Euclidean distance between two embeddings of the same dimension, accumulated in f64.
pub fn euclidean(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inconsistent_embeddings_are_refused() {
        let e = Embeddings::new(vec!["A".into()], vec![]).unwrap_err();
        assert!(e.to_string().contains("1 labels for 0"), "{e}");
        let e = Embeddings::new(
            vec!["A".into(), "B".into()],
            vec![vec![0.0, 1.0], vec![0.0]],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("embedding 1 (of identity 'B') has dimension 1"),
            "{e}"
        );
        let e = Embeddings::new(vec!["A".into()], vec![vec![f32::NAN]]).unwrap_err();
        assert!(e.to_string().contains("NaN"), "{e}");
    }

    #[test]
    fn euclidean_of_a_3_4_5_triangle() {
        assert_eq!(euclidean(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
    }
}
