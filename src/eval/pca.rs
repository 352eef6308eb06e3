//! A deterministic 2-D PCA of embeddings, for plotting them coloured by identity.
//!
//! Power iteration on the covariance matrix from a fixed start vector, the second axis by
//! deflation; each axis is signed so that its largest-magnitude coordinate is positive (the rule
//! of sklearn's `svd_flip`, applied to the axes), so the same embeddings always give the same
//! picture, not a mirrored one.

use anyhow::{bail, Result};

/// Enough for axes whose eigenvalues differ by 1 % to converge to 1e-10.
const MAX_ITERATIONS: usize = 5_000;
const TOLERANCE: f64 = 1e-12;

/// Projects `points` onto their first two principal axes (centred on their mean). Fewer than two
/// points, or data with no variance along an axis, give zeros for that axis.
pub fn pca_2d(points: &[Vec<f32>]) -> Result<Vec<[f32; 2]>> {
    let Some(first) = points.first() else {
        return Ok(Vec::new());
    };
    let d = first.len();
    if let Some(i) = points.iter().position(|p| p.len() != d) {
        bail!(
            "point {i} has dimension {}, point 0 has {d}: PCA needs points of one dimension",
            points[i].len()
        );
    }
    let n = points.len() as f64;
    let mut mean = vec![0.0f64; d];
    for p in points {
        for (m, &x) in mean.iter_mut().zip(p) {
            *m += f64::from(x) / n;
        }
    }
    // Population covariance, upper triangle mirrored.
    let mut cov = vec![0.0f64; d * d];
    let mut centred = vec![0.0f64; d];
    for p in points {
        for (c, (&x, m)) in centred.iter_mut().zip(p.iter().zip(&mean)) {
            *c = f64::from(x) - m;
        }
        for i in 0..d {
            let ci = centred[i];
            for j in i..d {
                cov[i * d + j] += ci * centred[j] / n;
            }
        }
    }
    for i in 0..d {
        for j in 0..i {
            cov[i * d + j] = cov[j * d + i];
        }
    }

    let first_axis = principal_axis(&cov, d, None);
    let second_axis = principal_axis(&cov, d, first_axis.as_deref());
    let project = |axis: &Option<Vec<f64>>, c: &[f64]| -> f32 {
        axis.as_ref().map_or(0.0, |a| {
            a.iter().zip(c).map(|(x, y)| x * y).sum::<f64>() as f32
        })
    };
    Ok(points
        .iter()
        .map(|p| {
            let c: Vec<f64> = p
                .iter()
                .zip(&mean)
                .map(|(&x, m)| f64::from(x) - m)
                .collect();
            [project(&first_axis, &c), project(&second_axis, &c)]
        })
        .collect())
}

/// The unit eigenvector of the largest eigenvalue of `cov` (d × d, row-major), orthogonal to
/// `exclude` if given, signed so that its largest-magnitude coordinate is positive; `None` when
/// no variance is left.
fn principal_axis(cov: &[f64], d: usize, exclude: Option<&[f64]>) -> Option<Vec<f64>> {
    let mut v = power_iteration(cov, d, exclude)?;
    // Sign: the largest-magnitude coordinate is positive (the first of equals).
    let mut k = 0;
    for i in 1..d {
        if v[i].abs() > v[k].abs() {
            k = i;
        }
    }
    if v[k] < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    Some(v)
}

/// A fixed pseudo-random start for the power iteration: deterministic, and (unlike all-ones)
/// not orthogonal to the axis of any data that occurs in practice.
fn start_vector(d: usize) -> Vec<f64> {
    let mut rng = crate::rng::Rng::new(0x5eed_f9ca);
    (0..d).map(|_| rng.normal()).collect()
}

/// The unit eigenvector of the largest eigenvalue of `cov` orthogonal to `exclude`, with
/// whichever sign the iteration from [`start_vector`] ends on.
fn power_iteration(cov: &[f64], d: usize, exclude: Option<&[f64]>) -> Option<Vec<f64>> {
    let mut v = start_vector(d);
    let orthogonalise = |v: &mut Vec<f64>| {
        if let Some(e) = exclude {
            let dot: f64 = v.iter().zip(e).map(|(a, b)| a * b).sum();
            for (x, y) in v.iter_mut().zip(e) {
                *x -= dot * y;
            }
        }
    };
    orthogonalise(&mut v);
    normalise(&mut v)?;
    let scale = cov.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if scale == 0.0 {
        return None;
    }
    for _ in 0..MAX_ITERATIONS {
        let mut next: Vec<f64> = (0..d)
            .map(|i| (0..d).map(|j| cov[i * d + j] * v[j]).sum())
            .collect();
        orthogonalise(&mut next);
        let norm = norm(&next);
        if norm <= scale * 1e-12 {
            return None;
        }
        next.iter_mut().for_each(|x| *x /= norm);
        let change = next
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        v = next;
        if change < TOLERANCE {
            break;
        }
    }
    Some(v)
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn normalise(v: &mut [f64]) -> Option<()> {
    let n = norm(v);
    if n == 0.0 {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= n);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn recovers_a_known_principal_axis() -> Result<()> {
        // x = mean + t·a + s·b with a = (0.6, 0.8, 0), b = (0, 0, 1) orthonormal, and
        // t = (−3, −1, 1, 3), s = (1, −1, −1, 1): Σt = Σs = Σts = 0, var t = 5 > var s = 1, so the
        // first axis is a and the second b, and the projections are exactly (t, s). Signs: a's
        // largest coordinate 0.8 and b's 1 are positive, so no flip.
        let mean = [10.0f32, -5.0, 2.0];
        let (a, b) = ([0.6f32, 0.8, 0.0], [0.0f32, 0.0, 1.0]);
        let ts = [(-3.0f32, 1.0f32), (-1.0, -1.0), (1.0, -1.0), (3.0, 1.0)];
        let points: Vec<Vec<f32>> = ts
            .iter()
            .map(|&(t, s)| (0..3).map(|i| mean[i] + t * a[i] + s * b[i]).collect())
            .collect();
        let got = pca_2d(&points)?;
        assert_eq!(got.len(), ts.len(), "{got:?}");
        for (g, &(t, s)) in got.iter().zip(&ts) {
            assert!(
                (g[0] - t).abs() < 1e-4 && (g[1] - s).abs() < 1e-4,
                "{got:?} vs {ts:?}"
            );
        }
        Ok(())
    }

    /// Six dimensions, eight points, principal axes that are no coordinate axes and come in no
    /// particular order, and a top pair of eigenvalues only 1 % apart (4 and 3.96), the closest
    /// the iteration is documented to separate.
    ///
    /// The axes are the columns q_k = e_k - 2 v_k v / |v|^2 of the Householder reflection of
    /// v = (1, …, 6), an orthonormal basis. Point n is mean + Σ_k sqrt(λ_k) H[n][k+1] q_k with H
    /// the 8 × 8 Sylvester–Hadamard matrix (H[n][j] = (-1)^popcount(n & j)), whose columns
    /// 1..8 sum to 0 and are orthogonal: the population covariance is exactly Σ_k λ_k q_k q_kᵀ.
    /// With λ = (1, 0.5, 3.96, 0.25, 0.1, 4) the first axis is q_5, the second q_2, and the
    /// projections are ±2 H[n][6] and ±sqrt(3.96) H[n][3]. q_5 = (-12, -24, -36, -48, -60,
    /// 19) / 91 has its largest coordinate negative, so the first axis is -q_5; q_2 = (-6, -12,
    /// 73, -24, -30, -36) / 91 keeps its sign.
    #[test]
    fn recovers_close_eigenvalues_along_rotated_axes() -> Result<()> {
        let d = 6;
        let v: Vec<f64> = (1..=d).map(|i| i as f64).collect();
        let vv: f64 = v.iter().map(|x| x * x).sum();
        let q = |k: usize| -> Vec<f64> {
            (0..d)
                .map(|i| f64::from(u8::from(i == k)) - 2.0 * v[k] * v[i] / vv)
                .collect()
        };
        let hadamard = |n: usize, j: usize| {
            if (n & j).count_ones().is_multiple_of(2) {
                1.0
            } else {
                -1.0
            }
        };
        let lambda: [f64; 6] = [1.0, 0.5, 3.96, 0.25, 0.1, 4.0];
        let mean = [1.0, -2.0, 0.5, 3.0, -1.0, 2.0];
        let coefficient = |n: usize, k: usize| lambda[k].sqrt() * hadamard(n, k + 1);
        let points: Vec<Vec<f32>> = (0..8)
            .map(|n| {
                (0..d)
                    .map(|i| {
                        let x: f64 = (0..d).map(|k| coefficient(n, k) * q(k)[i]).sum();
                        (mean[i] + x) as f32
                    })
                    .collect()
            })
            .collect();
        // The signs the largest-coordinate rule gives, from the hand-worked columns above.
        let times_91 = |k: usize| -> Vec<f64> { q(k).iter().map(|x| (x * 91.0).round()).collect() };
        assert_eq!(times_91(5), [-12.0, -24.0, -36.0, -48.0, -60.0, 19.0]);
        assert_eq!(times_91(2), [-6.0, -12.0, 73.0, -24.0, -30.0, -36.0]);
        let want: Vec<[f64; 2]> = (0..8)
            .map(|n| [-coefficient(n, 5), coefficient(n, 2)])
            .collect();

        let got = pca_2d(&points)?;
        assert_eq!(got.len(), 8);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (f64::from(g[0]) - w[0]).abs() < 1e-4 && (f64::from(g[1]) - w[1]).abs() < 1e-4,
                "{got:?} vs {want:?}"
            );
        }
        // The explained variances, in order, and uncorrelated coordinates.
        let moment = |f: &dyn Fn(&[f32; 2]) -> f64| got.iter().map(f).sum::<f64>() / 8.0;
        let var_1 = moment(&|g| f64::from(g[0]).powi(2));
        let var_2 = moment(&|g| f64::from(g[1]).powi(2));
        let cross = moment(&|g| f64::from(g[0]) * f64::from(g[1]));
        assert!((var_1 - 4.0).abs() < 1e-4, "{var_1}");
        assert!((var_2 - 3.96).abs() < 1e-4, "{var_2}");
        assert!(cross.abs() < 1e-4, "{cross}");
        Ok(())
    }

    #[test]
    fn axes_are_signed_so_their_largest_coordinate_is_positive() -> Result<()> {
        // Data along two coordinate axes e_p (variance 5) and e_q (variance 1) that the fixed
        // start vector has negative components on, so the raw iteration ends on −e_p and −e_q.
        let d = 8;
        let start = start_vector(d);
        let negative: Vec<usize> = (0..d).filter(|&i| start[i] < 0.0).collect();
        let [p, q, ..] = negative[..] else {
            panic!("the start vector {start:?} needs two negative components here");
        };
        let (t, s) = ([-3.0f32, -1.0, 1.0, 3.0], [1.0f32, -1.0, -1.0, 1.0]);
        let points: Vec<Vec<f32>> = (0..4)
            .map(|n| {
                let mut x = vec![2.0f32; d];
                x[p] += t[n];
                x[q] += s[n];
                x
            })
            .collect();
        // Population covariance: diagonal, 5 at p and 1 at q.
        let mut cov = vec![0.0; d * d];
        cov[p * d + p] = 5.0;
        cov[q * d + q] = 1.0;
        let raw_first = power_iteration(&cov, d, None).context("first axis")?;
        assert!(raw_first[p] < -0.999_999, "raw {raw_first:?}");
        let first = principal_axis(&cov, d, None).context("first axis")?;
        assert!(first[p] > 0.999_999, "signed {first:?}");
        let raw_second = power_iteration(&cov, d, Some(&first)).context("second axis")?;
        assert!(raw_second[q] < -0.999_999, "raw {raw_second:?}");
        // So the projections are +t and +s, not their mirror images.
        let got = pca_2d(&points)?;
        assert_eq!(got.len(), t.len(), "{got:?}");
        for (g, (t, s)) in got.iter().zip(t.iter().zip(&s)) {
            assert!(
                (g[0] - t).abs() < 1e-5 && (g[1] - s).abs() < 1e-5,
                "{g:?} vs ({t}, {s})"
            );
        }
        Ok(())
    }

    #[test]
    fn degenerate_inputs() -> Result<()> {
        assert!(pca_2d(&[])?.is_empty());
        assert_eq!(pca_2d(&[vec![1.0, 2.0]])?, vec![[0.0, 0.0]]);
        // Points on a line: no second axis.
        let line = pca_2d(&[vec![0.0, 0.0], vec![3.0, 4.0]])?;
        assert!((line[0][0] + 2.5).abs() < 1e-5 && (line[1][0] - 2.5).abs() < 1e-5);
        assert_eq!((line[0][1], line[1][1]), (0.0, 0.0));
        let err = pca_2d(&[vec![1.0], vec![1.0, 2.0]]).unwrap_err();
        assert!(err.to_string().contains("point 1 has dimension 2"), "{err}");
        Ok(())
    }
}
