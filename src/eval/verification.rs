//! Face verification metrics: given a distance per pair and whether the pair is the same person,
//! the ROC, its AUC, the equal error rate, VAL@FAR and k-fold accuracy.
//!
//! **Convention**: scores are *distances*; smaller means more alike. A pair is *accepted* (predicted
//! "same person") when its distance is **at most** the threshold: `distance <= threshold`.
//! TAR (= VAL, = TPR) is the share of same-person pairs accepted, FAR (= FPR) the share of
//! different-person pairs accepted.

use anyhow::{bail, ensure, Result};

/// Distances with their labels and folds, checked to be usable.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    distances: Vec<f64>,
    same: Vec<bool>,
    folds: Vec<usize>,
}

impl Scores {
    /// `distances[i]` belongs to a pair that is the same person when `same[i]`, in fold `folds[i]`.
    pub fn new(distances: Vec<f64>, same: Vec<bool>, folds: Vec<usize>) -> Result<Scores> {
        ensure!(
            distances.len() == same.len() && same.len() == folds.len(),
            "{} distances, {} labels and {} fold ids: each pair needs one of each",
            distances.len(),
            same.len(),
            folds.len()
        );
        if let Some(i) = distances.iter().position(|d| !d.is_finite()) {
            bail!(
                "pair {i} has distance {}: the embeddings contain NaN or infinity \
                 (a diverged checkpoint?)",
                distances[i]
            );
        }
        Ok(Scores {
            distances,
            same,
            folds,
        })
    }

    pub fn len(&self) -> usize {
        self.distances.len()
    }

    pub fn is_empty(&self) -> bool {
        self.distances.is_empty()
    }

    pub fn n_same(&self) -> usize {
        self.same.iter().filter(|&&s| s).count()
    }

    pub fn n_different(&self) -> usize {
        self.len() - self.n_same()
    }
}

/// A ROC curve with one point per distinct distance, in increasing threshold order.
///
/// Point 0 is threshold `-inf` (nothing accepted, FAR = TAR = 0); point `i > 0` accepts every pair
/// with distance ≤ `thresholds[i]`. Tied distances share one point, so a tie between a same and a
/// different pair is a diagonal segment and counts half in the AUC.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

impl Roc {
    /// `threshold,fpr,tpr` lines with a header, for plotting elsewhere.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("threshold,fpr,tpr\n");
        for ((t, f), p) in self.thresholds.iter().zip(&self.fpr).zip(&self.tpr) {
            out.push_str(&format!("{t},{f},{p}\n"));
        }
        out
    }
}

/// The exact ROC over all thresholds.
pub fn roc(scores: &Scores) -> Result<Roc> {
    let (n_pos, n_neg) = (scores.n_same(), scores.n_different());
    ensure!(
        n_pos > 0 && n_neg > 0,
        "a ROC needs both same-person and different-person pairs; got {n_pos} same and {n_neg} different"
    );
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores.distances[a].total_cmp(&scores.distances[b]));

    let mut roc = Roc {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::NEG_INFINITY],
    };
    let (mut tp, mut fp) = (0usize, 0usize);
    for (k, &i) in order.iter().enumerate() {
        if scores.same[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let d = scores.distances[i];
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores.distances[j] != d);
        if last_of_tie {
            roc.thresholds.push(d);
            roc.tpr.push(tp as f64 / n_pos as f64);
            roc.fpr.push(fp as f64 / n_neg as f64);
        }
    }
    Ok(roc)
}

/// Area under the ROC by the trapezoid rule: the probability that a random same-person pair is
/// closer than a random different-person pair, ties counting one half.
pub fn auc(roc: &Roc) -> f64 {
    roc.fpr
        .windows(2)
        .zip(roc.tpr.windows(2))
        .map(|(f, t)| (f[1] - f[0]) * (t[0] + t[1]) / 2.0)
        .sum()
}

/// Equal error rate: where the false accept rate equals the false reject rate (1 − TAR), found by
/// linear interpolation along the ROC polyline. This is what davidsandberg/facenet's
/// `brentq(lambda x: 1. - x - interp1d(fpr, tpr)(x), 0., 1.)` computes.
pub fn eer(roc: &Roc) -> f64 {
    // g = FRR − FAR falls from 1 at (0, 0) to −1 at (1, 1); find its first zero.
    let g = |i: usize| 1.0 - roc.tpr[i] - roc.fpr[i];
    for i in 0..roc.fpr.len().saturating_sub(1) {
        let (g0, g1) = (g(i), g(i + 1));
        if g0 >= 0.0 && g1 <= 0.0 {
            if g0 == g1 {
                return roc.fpr[i];
            }
            let alpha = g0 / (g0 - g1);
            return roc.fpr[i] + alpha * (roc.fpr[i + 1] - roc.fpr[i]);
        }
    }
    // Unreachable for a ROC from `roc()`, which ends at (1, 1).
    f64::NAN
}

/// An operating point of the ROC.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatingPoint {
    pub threshold: f64,
    /// TAR at this threshold.
    pub val: f64,
    pub far: f64,
}

/// VAL@FAR: the TAR of the most permissive threshold whose FAR is still ≤ `target`.
///
/// No interpolation between ROC points: every threshold between two distinct distances gives the
/// lower point's rates, so an interpolated threshold (davidsandberg/facenet `calculate_val`
/// interpolates the threshold with `interp1d(far, thresholds, kind='slinear')`, then measures the
/// rates at it) reports the same TAR as this step rule. The reported FAR is the one achieved,
/// which may be below `target`.
pub fn val_at_far(roc: &Roc, target: f64) -> OperatingPoint {
    // fpr is non-decreasing, and point 0 has FAR 0 ≤ any target.
    let i = roc.fpr.partition_point(|&f| f <= target).max(1) - 1;
    OperatingPoint {
        threshold: roc.thresholds[i],
        val: roc.tpr[i],
        far: roc.fpr[i],
    }
}

/// One fold of k-fold accuracy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FoldAccuracy {
    pub fold: usize,
    /// Chosen on the other folds.
    pub threshold: f64,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
}

/// Accuracy over folds, each tested with the threshold chosen on all the others.
#[derive(Clone, Debug, PartialEq)]
pub struct KFoldAccuracy {
    pub folds: Vec<FoldAccuracy>,
    pub mean: f64,
    /// Population standard deviation (divides by the number of folds), as `np.std` in
    /// insightface's and davidsandberg/facenet's LFW evaluation.
    pub std: f64,
}

/// The threshold with the best accuracy on `(distances, same)`.
///
/// The candidates are `-inf` (accept nothing), the midpoints between consecutive distinct
/// distances, and `+inf` (accept everything): midpoints leave the widest margin on both sides,
/// so test pairs that fall in the gap are split evenly. Among equally accurate candidates the
/// smallest wins: the strictest threshold, fewest false accepts (also what `np.argmax` over an
/// ascending threshold grid picks in insightface). Returns (threshold, accuracy).
pub fn best_threshold(distances: &[f64], same: &[bool]) -> (f64, f64) {
    let n = distances.len();
    if n == 0 {
        return (f64::NEG_INFINITY, 0.0);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]));
    // Accept nothing: the different-person pairs are right.
    let mut correct = same.iter().filter(|&&s| !s).count();
    let (mut best_correct, mut best_threshold) = (correct, f64::NEG_INFINITY);
    for (k, &i) in order.iter().enumerate() {
        // Moving the threshold past pair i accepts it.
        if same[i] {
            correct += 1;
        } else {
            correct -= 1;
        }
        let d = distances[i];
        let next = order.get(k + 1).map(|&j| distances[j]);
        if next == Some(d) {
            continue;
        }
        if correct > best_correct {
            best_correct = correct;
            best_threshold = match next {
                Some(e) => d + (e - d) / 2.0,
                None => f64::INFINITY,
            };
        }
    }
    (best_threshold, best_correct as f64 / n as f64)
}

/// k-fold accuracy: for each fold, the threshold is chosen ([`best_threshold`]) on the pairs of
/// all other folds and the accuracy measured on this fold's pairs. Folds are reported in
/// increasing fold id.
pub fn kfold_accuracy(scores: &Scores) -> Result<KFoldAccuracy> {
    let mut ids: Vec<usize> = scores.folds.clone();
    ids.sort_unstable();
    ids.dedup();
    ensure!(
        ids.len() >= 2,
        "k-fold accuracy needs at least 2 folds, got {}",
        ids.len()
    );
    let mut folds = Vec::with_capacity(ids.len());
    for &fold in &ids {
        let (mut train_d, mut train_s) = (Vec::new(), Vec::new());
        let (mut right, mut n_test) = (0usize, 0usize);
        for i in 0..scores.len() {
            if scores.folds[i] != fold {
                train_d.push(scores.distances[i]);
                train_s.push(scores.same[i]);
            }
        }
        let (threshold, train_accuracy) = best_threshold(&train_d, &train_s);
        for i in (0..scores.len()).filter(|&i| scores.folds[i] == fold) {
            n_test += 1;
            if (scores.distances[i] <= threshold) == scores.same[i] {
                right += 1;
            }
        }
        folds.push(FoldAccuracy {
            fold,
            threshold,
            train_accuracy,
            test_accuracy: right as f64 / n_test as f64,
        });
    }
    let k = folds.len() as f64;
    let mean = folds.iter().map(|f| f.test_accuracy).sum::<f64>() / k;
    let std = (folds
        .iter()
        .map(|f| (f.test_accuracy - mean).powi(2))
        .sum::<f64>()
        / k)
        .sqrt();
    Ok(KFoldAccuracy { folds, mean, std })
}

/// Every verification metric of one protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct VerificationReport {
    pub n_pairs: usize,
    pub n_same: usize,
    pub n_different: usize,
    pub accuracy: KFoldAccuracy,
    pub far_target: f64,
    pub val: OperatingPoint,
    pub auc: f64,
    pub eer: f64,
    pub roc: Roc,
}

/// Metric names as recorded in the lab.
pub mod metric {
    pub const ACCURACY_MEAN: &str = "verification_accuracy_mean";
    pub const ACCURACY_STD: &str = "verification_accuracy_std";
    pub const VAL: &str = "val_at_far";
    pub const VAL_FAR: &str = "val_achieved_far";
    pub const VAL_THRESHOLD: &str = "val_threshold";
    pub const AUC: &str = "roc_auc";
    pub const EER: &str = "eer";
    pub const N_PAIRS: &str = "n_pairs";
}

impl VerificationReport {
    /// (name, value) for the lab; the FAR target itself goes into the evaluation's options.
    /// The numbers to record. The VAL threshold is left out when no finite threshold keeps
    /// FAR under the target (then VAL is 0 and only "accept nothing" qualifies).
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        let mut m = vec![
            (metric::ACCURACY_MEAN, self.accuracy.mean),
            (metric::ACCURACY_STD, self.accuracy.std),
            (metric::VAL, self.val.val),
            (metric::VAL_FAR, self.val.far),
            (metric::VAL_THRESHOLD, self.val.threshold),
            (metric::AUC, self.auc),
            (metric::EER, self.eer),
            (metric::N_PAIRS, self.n_pairs as f64),
        ];
        m.retain(|(_, v)| v.is_finite());
        m
    }
}

/// All metrics at once; VAL is measured at FAR ≤ `far_target` (1e-3 in the LFW literature).
pub fn evaluate(scores: &Scores, far_target: f64) -> Result<VerificationReport> {
    let roc = roc(scores)?;
    Ok(VerificationReport {
        n_pairs: scores.len(),
        n_same: scores.n_same(),
        n_different: scores.n_different(),
        accuracy: kfold_accuracy(scores)?,
        far_target,
        val: val_at_far(&roc, far_target),
        auc: auc(&roc),
        eer: eer(&roc),
        roc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// 4 same pairs at 0.1, 0.2, 0.4, 0.6 and 4 different pairs at 0.3, 0.5, 0.7, 0.8.
    fn small() -> Result<Scores> {
        Scores::new(
            vec![0.1, 0.2, 0.4, 0.6, 0.3, 0.5, 0.7, 0.8],
            vec![true, true, true, true, false, false, false, false],
            vec![0; 8],
        )
    }

    #[test]
    fn roc_of_a_hand_computed_example() -> Result<()> {
        // Sorted: 0.1 S, 0.2 S, 0.3 D, 0.4 S, 0.5 D, 0.6 S, 0.7 D, 0.8 D. Accepting d <= t:
        //   t    -inf  0.1   0.2   0.3   0.4   0.5   0.6   0.7   0.8
        //   TPR  0     1/4   2/4   2/4   3/4   3/4   1     1     1
        //   FPR  0     0     0     1/4   1/4   2/4   2/4   3/4   1
        // AUC by trapezoids: the ROC is a staircase; area = sum over FPR steps of the TPR there:
        //   1/4 * (2/4) + 1/4 * (3/4) + 1/4 * 1 + 1/4 * 1 = 13/16.
        // Check by counting: of 16 (same, different) couples, same is closer in 13
        // (0.4 > 0.3, 0.6 > 0.3, 0.6 > 0.5 are the 3 exceptions).
        let r = roc(&small()?)?;
        assert_eq!(r.thresholds[1..], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
        assert_eq!(r.thresholds[0], f64::NEG_INFINITY);
        assert_eq!(r.tpr, vec![0.0, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0, 1.0]);
        assert_eq!(r.fpr, vec![0.0, 0.0, 0.0, 0.25, 0.25, 0.5, 0.5, 0.75, 1.0]);
        assert!(close(auc(&r), 13.0 / 16.0));
        // FRR − FAR: at t=0.4 it is 1/4 − 1/4 = 0 exactly, so EER = 1/4.
        assert!(close(eer(&r), 0.25));
        // FAR <= 0.3: the most permissive such threshold is 0.4 (FAR 1/4, TAR 3/4).
        assert_eq!(
            val_at_far(&r, 0.3),
            OperatingPoint {
                threshold: 0.4,
                val: 0.75,
                far: 0.25
            }
        );
        // FAR <= 0: threshold 0.2 still accepts no different pair and half the same ones.
        assert_eq!(val_at_far(&r, 0.0).val, 0.5);
        assert_eq!(r.to_csv().lines().nth(4), Some("0.3,0.25,0.5"));
        Ok(())
    }

    #[test]
    fn ties_share_a_point_and_count_half() -> Result<()> {
        // One same and one different pair at the same distance: the ROC goes straight from
        // (0,0) to (1,1), AUC = 1/2 (Mann–Whitney with ties counting 1/2).
        let s = Scores::new(vec![0.5, 0.5], vec![true, false], vec![0, 1])?;
        let r = roc(&s)?;
        assert_eq!(
            (r.fpr.clone(), r.tpr.clone()),
            (vec![0.0, 1.0], vec![0.0, 1.0])
        );
        assert!(close(auc(&r), 0.5));
        Ok(())
    }

    #[test]
    fn auc_is_one_when_separable_and_one_half_for_constant_scores() -> Result<()> {
        let sep = Scores::new(
            vec![0.1, 0.2, 0.3, 1.1, 1.2],
            vec![true, true, true, false, false],
            vec![0; 5],
        )?;
        let r = roc(&sep)?;
        assert!(close(auc(&r), 1.0));
        assert!(close(eer(&r), 0.0));
        assert_eq!(val_at_far(&r, 1e-3).val, 1.0);

        let constant = Scores::new(
            vec![0.7; 10],
            (0..10).map(|i| i % 3 == 0).collect(),
            vec![0; 10],
        )?;
        let r = roc(&constant)?;
        assert!(close(auc(&r), 0.5));
        assert!(close(eer(&r), 0.5));
        Ok(())
    }

    #[test]
    fn auc_matches_pairwise_counting_on_many_ties() -> Result<()> {
        // Distances on a coarse grid so that many ties happen; AUC must equal the Mann–Whitney
        // statistic P(d_same < d_diff) + P(d_same == d_diff) / 2 counted pair by pair.
        let mut rng = crate::rng::Rng::new(7);
        let d: Vec<f64> = (0..200).map(|_| rng.below(12) as f64 / 4.0).collect();
        let same: Vec<bool> = (0..200).map(|i| rng.below(10) < 3 + (i % 5)).collect();
        let s = Scores::new(d.clone(), same.clone(), vec![0; 200])?;
        let (mut wins, mut total) = (0.0, 0.0);
        for i in (0..200).filter(|&i| same[i]) {
            for j in (0..200).filter(|&j| !same[j]) {
                total += 1.0;
                wins += if d[i] < d[j] {
                    1.0
                } else if d[i] == d[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
        assert!((auc(&roc(&s)?) - wins / total).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn eer_of_a_symmetric_example_is_interpolated() -> Result<()> {
        // Same at 1, 2, 4; different at 3, 5, 6 (mirror images around 3.5).
        //   t    -inf 1    2    3    4    5    6
        //   TPR  0    1/3  2/3  2/3  1    1    1
        //   FPR  0    0    0    1/3  1/3  2/3  1
        // FRR − FAR: 1, 2/3, 1/3, 0, −1/3, ... → exactly 0 at t=3 with FAR = FRR = 1/3.
        let s = Scores::new(
            vec![1.0, 2.0, 4.0, 3.0, 5.0, 6.0],
            vec![true, true, true, false, false, false],
            vec![0; 6],
        )?;
        assert!(close(eer(&roc(&s)?), 1.0 / 3.0));
        // Same at 1, 3; different at 2, 4. Sorted 1S 2D 3S 4D:
        //   TPR 0 1/2 1/2 1 1;  FPR 0 0 1/2 1/2 1;  FRR − FAR: 1, 1/2, 0, ... → EER = 1/2 at t=2.
        let s = Scores::new(
            vec![1.0, 3.0, 2.0, 4.0],
            vec![true, true, false, false],
            vec![0; 4],
        )?;
        assert!(close(eer(&roc(&s)?), 0.5));
        // A crossing inside a segment, where interpolation matters: same at 1, 2; different at
        // 2, 3 (a tie at 2 gives a diagonal segment).
        //   t    -inf 1    2    3
        //   TPR  0    1/2  1    1
        //   FPR  0    0    1/2  1
        //   g    1    1/2  −1/2
        // On the segment (0, 1/2) → (1/2, 1): FPR = s/2, TPR = 1/2 + s/2; FRR = FPR at s = 1/2,
        // so EER = 1/4, a rate no single threshold achieves.
        let s = Scores::new(
            vec![1.0, 2.0, 2.0, 3.0],
            vec![true, true, false, false],
            vec![0; 4],
        )?;
        assert!(close(eer(&roc(&s)?), 0.25));
        Ok(())
    }

    #[test]
    fn the_threshold_is_chosen_per_fold_on_the_other_folds() -> Result<()> {
        // Three folds; in folds 0 and 1 same pairs sit below 1.0 and different ones above 1.0, in
        // fold 2 the boundary is at 2.0 instead (binary fractions, so midpoints are exact):
        //   fold 0: same 0.25, 0.75;  different 1.25, 1.75
        //   fold 1: same 0.375, 0.625; different 1.375, 1.625
        //   fold 2: same 0.5, 1.5;    different 2.5, 2.875
        // Testing fold 2 (train = folds 0, 1): 8/8 right first when accepting up to 0.75; the
        // midpoint to 1.25 is 1.0. Fold 2 at 1.0: 0.5 accepted (right), 1.5 rejected (wrong),
        // 2.5, 2.875 rejected (right) → 3/4.
        // Testing fold 0 (train = folds 1, 2): sorted 0.375S 0.5S 0.625S 1.375D 1.5S 1.625D 2.5D
        // 2.875D. Right after accepting up to 0.625: 7/8; up to 1.5: also 7/8 (a tie: the smaller
        // wins), so the threshold is (0.625 + 1.375)/2 = 1.0 and fold 0 is 4/4 right.
        // Testing fold 1 (train = folds 0, 2): likewise (0.75 + 1.25)/2 = 1.0, 7/8 on train, 4/4.
        let d = vec![
            0.25, 0.75, 1.25, 1.75, 0.375, 0.625, 1.375, 1.625, 0.5, 1.5, 2.5, 2.875,
        ];
        let same = [true, true, false, false].repeat(3);
        let folds = vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
        let k = kfold_accuracy(&Scores::new(d, same, folds)?)?;
        let got: Vec<(usize, f64, f64, f64)> = k
            .folds
            .iter()
            .map(|f| (f.fold, f.threshold, f.train_accuracy, f.test_accuracy))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 1.0, 0.875, 1.0),
                (1, 1.0, 0.875, 1.0),
                (2, 1.0, 1.0, 0.75)
            ]
        );
        // mean = (1 + 1 + 0.75)/3 = 11/12; population std = sqrt(((1/12)^2*2 + (2/12)^2)/3)
        //      = sqrt(6/144/3) = sqrt(1/72).
        assert!(close(k.mean, 11.0 / 12.0));
        assert!(close(k.std, (1.0f64 / 72.0).sqrt()));
        Ok(())
    }

    #[test]
    fn thresholds_differ_per_fold_when_the_folds_disagree() -> Result<()> {
        // Two folds with different boundaries: each fold gets the other fold's threshold.
        //   fold 0: same 1, 2; different 3, 4 → its best threshold is 2.5
        //   fold 1: same 5, 6; different 7, 8 → its best threshold is 6.5
        // Testing fold 0 uses 6.5: accepts all four → 2/4. Testing fold 1 uses 2.5: rejects all
        // → 2/4.
        let s = Scores::new(
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            [true, true, false, false].repeat(2),
            vec![0, 0, 0, 0, 1, 1, 1, 1],
        )?;
        let k = kfold_accuracy(&s)?;
        assert_eq!(k.folds[0].threshold, 6.5);
        assert_eq!(k.folds[1].threshold, 2.5);
        assert_eq!(
            (k.folds[0].test_accuracy, k.folds[1].test_accuracy),
            (0.5, 0.5)
        );
        assert_eq!((k.mean, k.std), (0.5, 0.0));
        Ok(())
    }

    #[test]
    fn best_threshold_edges() {
        // All different: accepting nothing is perfect and is the smallest candidate.
        assert_eq!(
            best_threshold(&[1.0, 2.0], &[false, false]),
            (f64::NEG_INFINITY, 1.0)
        );
        // All same: only accepting everything is perfect.
        assert_eq!(
            best_threshold(&[1.0, 2.0], &[true, true]),
            (f64::INFINITY, 1.0)
        );
    }

    #[test]
    fn unusable_input_is_refused_with_a_reason() {
        let e = Scores::new(vec![0.1, f64::NAN], vec![true, false], vec![0, 0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("pair 1") && e.contains("NaN"), "{e}");
        let e = Scores::new(vec![0.1], vec![true, false], vec![0, 0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 distances, 2 labels"), "{e}");
        let only_same = Scores::new(vec![0.1], vec![true], vec![0]).map(|s| roc(&s));
        assert!(matches!(only_same, Ok(Err(_))));
    }
}
