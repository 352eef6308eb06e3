//! The triplet loss and its miners, computed on the device with masks over the batch's
//! distance matrix: no per-triplet loop ever runs on the host.
//!
//! Distances in the loss are squared Euclidean, as in the seed and FaceNet:
//! `relu(‖a−p‖² − ‖a−n‖² + margin)`.

use candle_core::{DType, Result, Tensor, D};
use serde::{Deserialize, Serialize};

/// Which triplets of a batch contribute to the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mining {
    /// Every valid (anchor, positive, negative), averaged: the seed's loss.
    #[default]
    All,
    /// FaceNet's rule: per (anchor, positive), the closest negative farther than the positive;
    /// the farthest negative when there is none (as TensorFlow Addons does).
    Semihard,
    /// Batch-hard: per anchor, its farthest positive and closest negative.
    Hard,
}

impl Mining {
    pub fn as_str(self) -> &'static str {
        match self {
            Mining::All => "all",
            Mining::Semihard => "semihard",
            Mining::Hard => "hard",
        }
    }
}

/// The loss of one batch and what it says about the embedding.
pub struct TripletOutput {
    /// Scalar, differentiable.
    pub loss: Tensor,
    /// What the loss averages over: (anchor, positive, negative) triplets for all, (anchor,
    /// positive) pairs for semihard (one negative each), anchors for batch-hard.
    pub n_triplets: usize,
    /// Share of those with a non-zero loss.
    pub active_fraction: f64,
    /// Mean Euclidean anchor–positive distance over the batch's positive pairs.
    pub mean_ap: f64,
    /// Mean Euclidean anchor–negative distance over the batch's negative pairs.
    pub mean_an: f64,
}

/// A distance that no real pair reaches, for masking minima.
const FAR: f64 = 1e12;

#[derive(Clone, Copy)]
enum Pick {
    Min,
    Max,
}

/// The smallest (or largest) entry of `t` along `dim`, kept as a dimension of size 1, taken by
/// index so that its gradient goes to that one entry: candle's min and max give the whole
/// gradient to every entry that ties, and equal distances (duplicate images, a collapsed
/// network) would multiply it. One of tied entries is taken.
fn pick(t: &Tensor, dim: usize, which: Pick) -> Result<Tensor> {
    let index = match which {
        Pick::Min => t.argmin_keepdim(dim)?,
        Pick::Max => t.argmax_keepdim(dim)?,
    };
    t.gather(&index, dim)
}

/// Squared Euclidean distances between all rows of `e` (B, D) → (B, B), computed from the
/// differences (not ‖a‖²+‖b‖²−2ab) so that they are never negative.
pub fn pairwise_sq_dists(e: &Tensor) -> Result<Tensor> {
    let (b, _) = e.dims2()?;
    let diff = e.unsqueeze(1)?.broadcast_sub(&e.unsqueeze(0)?)?;
    let d = diff.sqr()?.sum(D::Minus1)?;
    debug_assert_eq!(d.dims(), &[b, b]);
    Ok(d)
}

/// The loss over a batch of embeddings `emb` (B, D) with integer `labels` (B,), or `None`
/// when the batch holds no valid triplet (every image of one identity, or all different).
pub fn triplet_loss(
    emb: &Tensor,
    labels: &Tensor,
    margin: f64,
    mining: Mining,
) -> Result<Option<TripletOutput>> {
    let (b, _) = emb.dims2()?;
    if labels.dims() != [b] {
        candle_core::bail!(
            "embeddings {:?} and labels {:?} differ in batch size",
            emb.dims(),
            labels.dims()
        );
    }
    let dev = emb.device();
    let d = pairwise_sq_dists(emb)?;
    let same = labels
        .unsqueeze(1)?
        .broadcast_eq(&labels.unsqueeze(0)?)?
        .to_dtype(DType::F32)?;
    let pos = (&same - Tensor::eye(b, DType::F32, dev)?)?; // same identity, not the anchor itself
    let neg = same.affine(-1.0, 1.0)?;

    let has = |m: &Tensor| -> Result<Tensor> { m.sum_keepdim(1)?.gt(0.0)?.to_dtype(DType::F32) };
    let (per, weight) = match mining {
        Mining::All => {
            // t[a, p, n] = d[a, p] − d[a, n] + margin
            let t = d
                .unsqueeze(2)?
                .broadcast_sub(&d.unsqueeze(1)?)?
                .affine(1.0, margin)?;
            let w = pos.unsqueeze(2)?.broadcast_mul(&neg.unsqueeze(1)?)?;
            (t.relu()?, w)
        }
        Mining::Hard => {
            let hardest_pos = pick(&(&d * &pos)?, 1, Pick::Max)?; // d ≥ 0, masked entries are 0
            let hardest_neg = pick(&(&d + neg.affine(-FAR, FAR)?)?, 1, Pick::Min)?;
            let valid = (has(&pos)? * has(&neg)?)?;
            (
                (hardest_pos - hardest_neg)?.affine(1.0, margin)?.relu()?,
                valid,
            )
        }
        Mining::Semihard => {
            let d_an = d.unsqueeze(1)?; // [a, _, n]
            let d_ap = d.unsqueeze(2)?; // [a, p, _]
            let farther = d_an.broadcast_gt(&d_ap)?.to_dtype(DType::F32)?;
            let cand = farther.broadcast_mul(&neg.unsqueeze(1)?)?; // [a, p, n]
            let masked = d_an.broadcast_add(&cand.affine(-FAR, FAR)?)?;
            let semihard = pick(&masked, 2, Pick::Min)?.squeeze(2)?; // [a, p]
            let has_cand = cand.sum(2)?.gt(0.0)?.to_dtype(DType::F32)?;
            let farthest = pick(&(&d * &neg)?, 1, Pick::Max)?; // [a, 1]
            let chosen = ((&has_cand * semihard)?
                + has_cand.affine(-1.0, 1.0)?.broadcast_mul(&farthest)?)?;
            // A pair counts only when its anchor has a negative at all.
            (
                (&d - chosen)?.affine(1.0, margin)?.relu()?,
                pos.broadcast_mul(&has(&neg)?)?,
            )
        }
    };
    let per = (per * &weight)?;
    let active = per.gt(0.0)?.to_dtype(DType::F32)?;
    let dist = d.sqrt()?;
    // One device→host copy for all the statistics.
    let stats = Tensor::stack(
        &[
            weight.sum_all()?,
            active.sum_all()?,
            (&dist * &pos)?.sum_all()?,
            pos.sum_all()?,
            (&dist * &neg)?.sum_all()?,
            neg.sum_all()?,
        ],
        0,
    )?
    .to_dtype(DType::F64)?
    .to_vec1::<f64>()?;
    let [n, n_active, sum_ap, n_ap, sum_an, n_an] = stats[..] else {
        candle_core::bail!("expected 6 triplet statistics, got {}", stats.len())
    };
    if n < 0.5 {
        return Ok(None);
    }
    let loss = (per.sum_all()? / n)?;
    Ok(Some(TripletOutput {
        loss,
        n_triplets: n.round() as usize,
        active_fraction: n_active / n,
        mean_ap: if n_ap > 0.0 { sum_ap / n_ap } else { 0.0 },
        mean_an: if n_an > 0.0 { sum_an / n_an } else { 0.0 },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn batch(points: &[f32], labels: &[u32]) -> Result<(Var, Tensor)> {
        let e = Var::from_tensor(&Tensor::from_slice(
            points,
            (points.len(), 1),
            &Device::Cpu,
        )?)?;
        Ok((e, Tensor::new(labels, &Device::Cpu)?))
    }

    fn loss_of(points: &[f32], labels: &[u32], mining: Mining) -> Result<TripletOutput> {
        let (e, l) = batch(points, labels)?;
        triplet_loss(e.as_tensor(), &l, 0.2, mining)?
            .ok_or_else(|| candle_core::Error::Msg("no triplet".into()))
    }

    fn scalar(t: &Tensor) -> Result<f64> {
        t.to_dtype(DType::F64)?.to_scalar::<f64>()
    }

    // Hand computation, 1-D embeddings 0, 1 (identity 0) and 3, 5 (identity 1), margin 0.2.
    // Squared distances: d01=1 d02=9 d03=25 d12=4 d13=16 d23=4.
    // All 8 valid triplets are inactive except (a=2, p=3, n=1): 4 − 4 + 0.2 = 0.2.
    #[test]
    fn all_triplets_hand_computed() -> Result<()> {
        let out = loss_of(&[0.0, 1.0, 3.0, 5.0], &[0, 0, 1, 1], Mining::All)?;
        assert!((scalar(&out.loss)? - 0.2 / 8.0).abs() < 1e-6);
        assert_eq!(out.n_triplets, 8);
        assert!((out.active_fraction - 1.0 / 8.0).abs() < 1e-9);
        // Euclidean: positives |0−1| = 1, |3−5| = 2 (each twice) → 1.5; negatives 3,5,2,4 → 3.5.
        assert!((out.mean_ap - 1.5).abs() < 1e-6 && (out.mean_an - 3.5).abs() < 1e-6);
        Ok(())
    }

    /// The loss's gradient with respect to the embeddings, flattened.
    fn gradient(out: &TripletOutput, e: &Var) -> Result<Vec<f32>> {
        let g = out
            .loss
            .backward()?
            .get(e.as_tensor())
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("no grad".into()))?;
        g.flatten_all()?.to_vec1::<f32>()
    }

    // The only active term is ((e2−e3)² − (e2−e1)² + 0.2) / 8, so
    // ∂/∂e1 = 2(e2−e1)/8 = 0.5, ∂/∂e2 = (2(e2−e3) − 2(e2−e1))/8 = −1, ∂/∂e3 = −2(e2−e3)/8 = 0.5.
    #[test]
    fn all_triplets_gradient_hand_computed() -> Result<()> {
        let (e, l) = batch(&[0.0, 1.0, 3.0, 5.0], &[0, 0, 1, 1])?;
        let out = triplet_loss(e.as_tensor(), &l, 0.2, Mining::All)?
            .ok_or_else(|| candle_core::Error::Msg("none".into()))?;
        let g = gradient(&out, &e)?;
        assert_eq!(g.len(), 4, "{g:?}");
        for (got, want) in g.iter().zip([0.0, 0.5, -1.0, 0.5]) {
            assert!((got - want).abs() < 1e-5, "{g:?}");
        }
        Ok(())
    }

    /// Two negatives at exactly the distance of the closest (a duplicate image) pass the
    /// gradient of one, as a negative a hair farther away lets through: candle's min gave it
    /// to both, twice the pull on the anchor.
    #[test]
    fn a_tie_between_negatives_passes_one_gradient() -> Result<()> {
        for mining in [Mining::Hard, Mining::Semihard] {
            // Anchor 0, its positive at 0.3; negatives at −1 and 1 (a tie), or −1 and 1.0001.
            let grad = |far: f32| -> Result<Vec<f32>> {
                let (e, l) = batch(&[0.0, 0.3, -1.0, far], &[0, 0, 1, 1])?;
                let out = triplet_loss(e.as_tensor(), &l, 2.0, mining)?
                    .ok_or_else(|| candle_core::Error::Msg("none".into()))?;
                gradient(&out, &e)
            };
            let (tie, apart) = (grad(1.0)?, grad(1.0001)?);
            for (a, b) in tie.iter().zip(&apart) {
                assert!(
                    (a - b).abs() < 1e-2,
                    "{}: {tie:?} vs {apart:?}",
                    mining.as_str()
                );
            }
        }
        Ok(())
    }

    // Batch-hard on the same batch: anchors 0..3 have (hardest p, closest n) = (1, 9), (1, 4),
    // (4, 4), (4, 16); only anchor 2 is active with 4 − 4 + 0.2 = 0.2, so the loss is 0.2 / 4.
    #[test]
    fn batch_hard_hand_computed() -> Result<()> {
        let out = loss_of(&[0.0, 1.0, 3.0, 5.0], &[0, 0, 1, 1], Mining::Hard)?;
        assert!((scalar(&out.loss)? - 0.05).abs() < 1e-6);
        assert_eq!(out.n_triplets, 4);
        assert!((out.active_fraction - 0.25).abs() < 1e-9);
        Ok(())
    }

    // Semi-hard: for (2, 3) with d_ap = 4 the negatives are at 9 and 4; only 9 is farther than
    // the positive, so it is chosen (not the harder 4): loss 0. Every pair is inactive.
    #[test]
    fn semihard_picks_the_closest_farther_negative() -> Result<()> {
        let out = loss_of(&[0.0, 1.0, 3.0, 5.0], &[0, 0, 1, 1], Mining::Semihard)?;
        assert!(scalar(&out.loss)?.abs() < 1e-9);
        assert_eq!(out.n_triplets, 4, "one term per (anchor, positive) pair");
        Ok(())
    }

    // Semi-hard with a negative in the margin band. Embeddings 0, 1 (identity 0) and one
    // negative each of identities 1, 2, 3 at −0.5, −1.05 and 3. For (0, 1), d_ap = 1 and the
    // negatives lie at 0.25 (closer than the positive), 1.1025 (in the band 1 < d < 1.2) and 9:
    // semi-hard takes 1.1025 → 1 − 1.1025 + 0.2 = 0.0975 (the closest negative would give
    // 0.95, the farthest 0). For (1, 0) the negatives lie at 2.25, 4.2025 and 4, all beyond the
    // margin → 0. Loss 0.0975 / 2 = 0.04875, so
    // ∂/∂e0 = ((e0−e1) − (e0−e3)) = −2.05, ∂/∂e1 = (e1−e0) = 1, ∂/∂e3 = (e0−e3) = 1.05.
    #[test]
    fn semihard_takes_the_negative_in_the_margin_band() -> Result<()> {
        let (e, l) = batch(&[0.0, 1.0, -0.5, -1.05, 3.0], &[0, 0, 1, 2, 3])?;
        let out = triplet_loss(e.as_tensor(), &l, 0.2, Mining::Semihard)?
            .ok_or_else(|| candle_core::Error::Msg("none".into()))?;
        assert!((scalar(&out.loss)? - 0.04875).abs() < 1e-6, "{}", out.loss);
        assert_eq!(out.n_triplets, 2);
        assert_eq!(out.active_fraction, 0.5);
        let g = gradient(&out, &e)?;
        assert_eq!(g.len(), 5, "{g:?}");
        for (got, want) in g.iter().zip([-2.05, 1.0, 0.0, 1.05, 0.0]) {
            assert!((got - want).abs() < 1e-5, "{g:?}");
        }
        Ok(())
    }

    // Embeddings 0, 4 (identity 0) and 1 (identity 1): d01 = 16, d02 = 1, d12 = 9. No negative is
    // farther than its positive, so semi-hard falls back to the farthest negative:
    // (0, 1): 16 − 1 + 0.2 = 15.2 and (1, 0): 16 − 9 + 0.2 = 7.2 → mean 11.2. All and hard agree.
    #[test]
    fn every_miner_agrees_when_each_anchor_has_one_choice() -> Result<()> {
        for mining in [Mining::All, Mining::Semihard, Mining::Hard] {
            let out = loss_of(&[0.0, 4.0, 1.0], &[0, 0, 1], mining)?;
            assert!((scalar(&out.loss)? - 11.2).abs() < 1e-4, "{mining:?}");
            assert_eq!(out.active_fraction, 1.0);
        }
        Ok(())
    }

    // Anchor 0 and its positive 1 (d_ap = 1) each have a negative at exactly d_ap (−1 from 0,
    // 2 from 1) and one farther (4 away). A negative as far as the positive is not semi-hard:
    // the farther one is taken, loss 0 (taking the tie would give 0.2 per pair).
    #[test]
    fn a_negative_as_far_as_the_positive_is_not_semihard() -> Result<()> {
        let out = loss_of(&[0.0, 1.0, -1.0, 2.0], &[0, 0, 1, 2], Mining::Semihard)?;
        assert_eq!(scalar(&out.loss)?, 0.0);
        assert_eq!(out.active_fraction, 0.0);
        Ok(())
    }

    /// What [`triplet_loss`] reports, by its fields' definitions, a triplet at a time in f64.
    struct Expected {
        loss: f64,
        /// Terms the loss averages over.
        n: usize,
        /// Of those, the ones with a loss above zero.
        active: usize,
        mean_ap: f64,
        mean_an: f64,
    }

    /// `mining`'s loss and statistics by their definitions.
    fn brute_force(e: &[Vec<f64>], labels: &[u32], margin: f64, mining: Mining) -> Expected {
        let d = |i: usize, j: usize| -> f64 {
            e[i].iter().zip(&e[j]).map(|(x, y)| (x - y).powi(2)).sum()
        };
        let b = e.len();
        let positives = |a: usize| (0..b).filter(move |&p| p != a && labels[p] == labels[a]);
        let negatives = |a: usize| (0..b).filter(move |&n| labels[n] != labels[a]);
        let hinge = |x: f64| (x + margin).max(0.0);
        let (mut sum, mut count, mut active) = (0.0, 0usize, 0usize);
        let mut term = |l: f64| {
            sum += l;
            count += 1;
            active += usize::from(l > 0.0);
        };
        for a in 0..b {
            if negatives(a).next().is_none() {
                continue;
            }
            match mining {
                Mining::All => {
                    for p in positives(a) {
                        for n in negatives(a) {
                            term(hinge(d(a, p) - d(a, n)));
                        }
                    }
                }
                Mining::Hard => {
                    if positives(a).next().is_none() {
                        continue;
                    }
                    let far_p = positives(a).map(|p| d(a, p)).fold(f64::MIN, f64::max);
                    let near_n = negatives(a).map(|n| d(a, n)).fold(f64::MAX, f64::min);
                    term(hinge(far_p - near_n));
                }
                Mining::Semihard => {
                    for p in positives(a) {
                        let ap = d(a, p);
                        let farther = negatives(a).map(|n| d(a, n)).filter(|&an| an > ap);
                        let chosen = match farther.fold(f64::MAX, f64::min) {
                            f64::MAX => negatives(a).map(|n| d(a, n)).fold(f64::MIN, f64::max),
                            closest => closest,
                        };
                        term(hinge(ap - chosen));
                    }
                }
            }
        }
        // The distances are Euclidean over every ordered pair of the batch, whatever is mined.
        let mean = |pairs: Vec<(usize, usize)>| {
            pairs.iter().map(|&(i, j)| d(i, j).sqrt()).sum::<f64>() / pairs.len() as f64
        };
        let pairs = |same: bool| -> Vec<(usize, usize)> {
            (0..b)
                .flat_map(|i| (0..b).map(move |j| (i, j)))
                .filter(|&(i, j)| i != j && (labels[i] == labels[j]) == same)
                .collect()
        };
        Expected {
            loss: sum / count as f64,
            n: count,
            active,
            mean_ap: mean(pairs(true)),
            mean_an: mean(pairs(false)),
        }
    }

    /// Random 3-D embeddings of 12 images: each miner's loss and statistics are its
    /// definition's, with 4 people of 3 images each and with people of 1 to 5 images (an
    /// anchor without a positive counts for no miner, yet is a negative to the others).
    #[test]
    fn every_miner_matches_its_definition_in_three_dimensions() -> Result<()> {
        let mut rng = crate::rng::Rng::new(7);
        let even: Vec<u32> = (0..12).map(|i| i % 4).collect();
        let uneven = vec![2, 0, 1, 0, 3, 2, 0, 4, 2, 0, 2, 0];
        // Whether some trial of each miner had active and inactive terms both.
        let mut mixed = [false; 3];
        for labels in [even, uneven] {
            for trial in 0..5 {
                let e: Vec<Vec<f64>> = (0..12)
                    .map(|_| (0..3).map(|_| rng.normal() * 0.5).collect())
                    .collect();
                let flat: Vec<f32> = e.iter().flatten().map(|&x| x as f32).collect();
                let t = Tensor::from_slice(&flat, (12, 3), &Device::Cpu)?;
                let l = Tensor::new(labels.as_slice(), &Device::Cpu)?;
                for (m, mining) in [Mining::All, Mining::Semihard, Mining::Hard]
                    .into_iter()
                    .enumerate()
                {
                    let at = format!("{labels:?}, trial {trial}, {mining:?}");
                    let want = brute_force(&e, &labels, 0.3, mining);
                    let out = triplet_loss(&t, &l, 0.3, mining)?
                        .ok_or_else(|| candle_core::Error::Msg("none".into()))?;
                    let got = scalar(&out.loss)?;
                    assert!(
                        (got - want.loss).abs() < 1e-4 * want.loss.max(1.0),
                        "{at}: {got} vs {}",
                        want.loss
                    );
                    assert!(want.loss > 0.0, "{at}: a loss of 0 tests little");
                    assert_eq!(out.n_triplets, want.n, "{at}");
                    let fraction = want.active as f64 / want.n as f64;
                    assert!(
                        (out.active_fraction - fraction).abs() < 1e-12,
                        "{at}: active {} vs {fraction}",
                        out.active_fraction
                    );
                    mixed[m] |= want.active > 0 && want.active < want.n;
                    for (what, got, want) in [
                        ("anchor-positive", out.mean_ap, want.mean_ap),
                        ("anchor-negative", out.mean_an, want.mean_an),
                    ] {
                        assert!(
                            (got - want).abs() < 1e-5 * want,
                            "{at}: mean {what} distance {got} vs {want}"
                        );
                    }
                }
            }
        }
        assert_eq!(
            mixed, [true; 3],
            "every miner's active share must be tested between 0 and 1"
        );
        Ok(())
    }

    #[test]
    fn a_batch_without_triplets_is_none() -> Result<()> {
        for labels in [[3u32, 3, 3], [0, 1, 2]] {
            for mining in [Mining::All, Mining::Semihard, Mining::Hard] {
                let (e, l) = batch(&[0.0, 1.0, 2.0], &labels)?;
                assert!(triplet_loss(e.as_tensor(), &l, 0.2, mining)?.is_none());
            }
        }
        let (e, _) = batch(&[0.0, 1.0], &[0, 0])?;
        assert!(triplet_loss(
            e.as_tensor(),
            &Tensor::new(&[0u32, 0, 1], &Device::Cpu)?,
            0.2,
            Mining::All
        )
        .is_err());
        Ok(())
    }
}
