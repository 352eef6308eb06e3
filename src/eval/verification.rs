//! Face verification metrics: given a distance per pair and whether the pair is the same person,
//! the ROC, its AUC, the equal error rate, and VAL@FAR and accuracy over k folds (LFW View 2's
//! protocol: each fold tested with the threshold chosen on the others).
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
/// linear interpolation along the ROC polyline: the crossing davidsandberg/facenet's
/// `brentq(lambda x: 1. - x - interp1d(fpr, tpr)(x), 0., 1.)` finds, taken here on the exact
/// ROC of all pairs (facenet's on the mean of its folds' ROCs over a grid of thresholds, which
/// can differ in the third decimal).
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

/// VAL@FAR: the TAR of the most permissive threshold whose FAR is still ≤ `target`, measured on
/// the same pairs the threshold was chosen on.
///
/// The threshold is a ROC point, i.e. the largest pair distance at which the FAR is still within
/// the target; the reported FAR is the one achieved, which may be below `target`. There is no
/// interpolation: davidsandberg/facenet's `calculate_val` interpolates the threshold on a grid
/// (`interp1d(far, thresholds, kind='slinear')`), which can land past the next different-person
/// distance, so its FAR can exceed the target and its TAR differ from this step rule's.
pub fn val_at_far(roc: &Roc, target: f64) -> OperatingPoint {
    // fpr is non-decreasing, and point 0 has FAR 0 ≤ any target.
    let i = roc.fpr.partition_point(|&f| f <= target).max(1) - 1;
    OperatingPoint {
        threshold: roc.thresholds[i],
        val: roc.tpr[i],
        far: roc.fpr[i],
    }
}

/// VAL@FAR on one held-out fold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FoldVal {
    pub fold: usize,
    /// Chosen on the other folds by [`val_at_far`]'s rule.
    pub threshold: f64,
    /// TAR and FAR of this fold's pairs at that threshold.
    pub val: f64,
    pub far: f64,
}

/// VAL@FAR over folds, each fold measured at the threshold the other folds give for the target
/// FAR, as the FaceNet paper reports it on LFW (davidsandberg/facenet `calculate_val`).
#[derive(Clone, Debug, PartialEq)]
pub struct KFoldVal {
    pub folds: Vec<FoldVal>,
    pub val_mean: f64,
    /// Population standard deviation, as `np.std` in `calculate_val`.
    pub val_std: f64,
    /// The FAR the held-out folds actually had, averaged: the check that the target held out of
    /// sample.
    pub far_mean: f64,
}

/// k-fold VAL@FAR: for each fold, the threshold is [`val_at_far`]'s on the pairs of all other
/// folds (the largest distance whose FAR there is ≤ `target`), and VAL and FAR are measured on
/// this fold's pairs, accepting `distance <= threshold`. Folds are reported in increasing fold
/// id. Every fold needs both same-person and different-person pairs ([`fold_lacking_a_class`]).
pub fn kfold_val(scores: &Scores, target: f64) -> Result<KFoldVal> {
    let ids = fold_ids(scores)?;
    if let Some((fold, same, different)) = fold_lacking_a_class(scores) {
        bail!(
            "fold {fold} has {same} same-person and {different} different-person pairs: VAL@FAR \
             per fold needs both in every fold"
        );
    }
    let mut folds = Vec::with_capacity(ids.len());
    for &fold in &ids {
        let (train_d, train_s): (Vec<f64>, Vec<bool>) = (0..scores.len())
            .filter(|&i| scores.folds[i] != fold)
            .map(|i| (scores.distances[i], scores.same[i]))
            .unzip();
        let n_train = train_d.len();
        let train = roc(&Scores::new(train_d, train_s, vec![0; n_train])?)?;
        let threshold = val_at_far(&train, target).threshold;
        let (mut same, mut different, mut accepted_same, mut accepted_different) = (0, 0, 0, 0);
        for i in (0..scores.len()).filter(|&i| scores.folds[i] == fold) {
            let accepted = usize::from(scores.distances[i] <= threshold);
            if scores.same[i] {
                same += 1;
                accepted_same += accepted;
            } else {
                different += 1;
                accepted_different += accepted;
            }
        }
        folds.push(FoldVal {
            fold,
            threshold,
            val: accepted_same as f64 / same as f64,
            far: accepted_different as f64 / different as f64,
        });
    }
    let vals: Vec<f64> = folds.iter().map(|f| f.val).collect();
    let (val_mean, val_std) = mean_and_population_std(&vals);
    let far_mean = folds.iter().map(|f| f.far).sum::<f64>() / folds.len() as f64;
    Ok(KFoldVal {
        folds,
        val_mean,
        val_std,
        far_mean,
    })
}

/// The first fold (fold, its same-person count, its different-person count) that lacks one of
/// the two classes: LFW View 2's folds and a folder's sampled pairs never do (both kinds are
/// dealt alike, so a small folder fills fewer folds instead), the pairs left after
/// `--exclude-train-identities` can.
pub fn fold_lacking_a_class(scores: &Scores) -> Option<(usize, usize, usize)> {
    let mut counts: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
    for (&fold, &same) in scores.folds.iter().zip(&scores.same) {
        let c = counts.entry(fold).or_default();
        if same {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    }
    counts
        .into_iter()
        .find(|(_, (same, different))| *same == 0 || *different == 0)
        .map(|(fold, (same, different))| (fold, same, different))
}

/// The distinct fold ids in increasing order; at least two, or the k-fold protocols have
/// nothing to hold out.
fn fold_ids(scores: &Scores) -> Result<Vec<usize>> {
    let mut ids: Vec<usize> = scores.folds.clone();
    ids.sort_unstable();
    ids.dedup();
    ensure!(
        ids.len() >= 2,
        "k-fold verification needs at least 2 folds, got {}",
        ids.len()
    );
    Ok(ids)
}

/// Mean and population standard deviation (divides by the count) of a non-empty slice.
fn mean_and_population_std(xs: &[f64]) -> (f64, f64) {
    let k = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / k;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / k;
    (mean, var.sqrt())
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
    let ids = fold_ids(scores)?;
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
    let accuracies: Vec<f64> = folds.iter().map(|f| f.test_accuracy).collect();
    let (mean, std) = mean_and_population_std(&accuracies);
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
    /// VAL@FAR over the folds: the number to report. `None` when a fold lacks same-person or
    /// different-person pairs (a folder of few people), where it is undefined.
    pub val_kfold: Option<KFoldVal>,
    /// VAL@FAR with the threshold chosen on all pairs and measured on them (in-sample).
    pub val_pooled: OperatingPoint,
    pub auc: f64,
    pub eer: f64,
    pub roc: Roc,
}

/// Metric names as recorded in the lab. A name keeps its meaning for good: evaluations recorded
/// before the k-fold VAL existed hold only the pooled one, under `val_at_far`.
pub mod metric {
    pub const ACCURACY_MEAN: &str = "verification_accuracy_mean";
    pub const ACCURACY_STD: &str = "verification_accuracy_std";
    /// VAL@FAR over the folds ([`super::kfold_val`]): mean and population std of the held-out
    /// folds' VAL, and the mean of their achieved FAR.
    pub const VAL_KFOLD_MEAN: &str = "val_at_far_kfold_mean";
    pub const VAL_KFOLD_STD: &str = "val_at_far_kfold_std";
    pub const VAL_KFOLD_FAR_MEAN: &str = "val_achieved_far_kfold_mean";
    /// Pooled, in-sample VAL@FAR ([`super::val_at_far`] over all pairs), its achieved FAR and
    /// threshold.
    pub const VAL: &str = "val_at_far";
    pub const VAL_FAR: &str = "val_achieved_far";
    pub const VAL_THRESHOLD: &str = "val_threshold";
    pub const AUC: &str = "roc_auc";
    pub const EER: &str = "eer";
    pub const N_PAIRS: &str = "n_pairs";
    /// Of those, same-person and different-person pairs: a share of "different" far from one
    /// half makes the accuracy's chance level that share, not 0.5.
    pub const N_SAME: &str = "n_same_pairs";
    pub const N_DIFFERENT: &str = "n_different_pairs";
}

impl VerificationReport {
    /// (name, value) for the lab; the FAR target itself goes into the evaluation's options.
    /// The pooled VAL threshold is left out when no finite threshold keeps FAR under the target
    /// (then VAL is 0 and only "accept nothing" qualifies).
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        let mut m = vec![
            (metric::ACCURACY_MEAN, self.accuracy.mean),
            (metric::ACCURACY_STD, self.accuracy.std),
            (metric::VAL, self.val_pooled.val),
            (metric::VAL_FAR, self.val_pooled.far),
            (metric::VAL_THRESHOLD, self.val_pooled.threshold),
            (metric::AUC, self.auc),
            (metric::EER, self.eer),
            (metric::N_PAIRS, self.n_pairs as f64),
            (metric::N_SAME, self.n_same as f64),
            (metric::N_DIFFERENT, self.n_different as f64),
        ];
        if let Some(v) = &self.val_kfold {
            m.extend([
                (metric::VAL_KFOLD_MEAN, v.val_mean),
                (metric::VAL_KFOLD_STD, v.val_std),
                (metric::VAL_KFOLD_FAR_MEAN, v.far_mean),
            ]);
        }
        m.retain(|(_, v)| v.is_finite());
        m
    }

    /// The headline numbers in words: accuracy and VAL over the folds, then the pooled,
    /// in-sample VAL that the lab keeps under `val_at_far`.
    pub fn summary(&self) -> String {
        let k = self.accuracy.folds.len();
        // The different-person pairs a fold's threshold is chosen on: the other folds'.
        let others = self.n_different * k.saturating_sub(1) / k.max(1);
        let unresolved = if (others as f64) * self.far_target < 1.0 {
            format!(
                "; FAR ≤ {} is finer than the other folds' {others} different-person pairs \
                 can tell, so each threshold admits no false accept",
                self.far_target
            )
        } else {
            String::new()
        };
        let val = match &self.val_kfold {
            Some(v) => format!(
                "VAL {:.4} ± {:.4} at FAR ≤ {} (held-out FAR {:.4}{unresolved})",
                v.val_mean, v.val_std, self.far_target, v.far_mean
            ),
            None => "VAL per fold undefined (a fold lacks same- or different-person pairs)".into(),
        };
        format!(
            "of {} same- and {} different-person pairs in {k} folds: accuracy {:.4} ± {:.4}, \
             {val}; in-sample over all {} pairs: VAL {:.4} at FAR {:.4}",
            self.n_same,
            self.n_different,
            self.accuracy.mean,
            self.accuracy.std,
            self.n_pairs,
            self.val_pooled.val,
            self.val_pooled.far
        )
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
        val_kfold: match fold_lacking_a_class(scores) {
            None => Some(kfold_val(scores, far_target)?),
            Some(_) => None,
        },
        val_pooled: val_at_far(&roc, far_target),
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

    /// Three folds of 2 same + 2 different pairs (see `val_is_measured_on_held_out_folds`).
    fn three_folds() -> Result<Scores> {
        Scores::new(
            vec![1.0, 3.0, 2.0, 5.0, 1.5, 2.5, 4.0, 6.0, 0.5, 4.5, 3.5, 7.0],
            [true, true, false, false].repeat(3),
            vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2],
        )
    }

    #[test]
    fn val_is_measured_on_held_out_folds() -> Result<()> {
        //   fold 0: same 1.0, 3.0; different 2.0, 5.0
        //   fold 1: same 1.5, 2.5; different 4.0, 6.0
        //   fold 2: same 0.5, 4.5; different 3.5, 7.0
        // Target FAR 0.25: two training folds hold 4 different pairs, so one false accept is
        // allowed there; the threshold is the largest training distance before the second.
        // Fold 0 (train 1, 2): 0.5S 1.5S 2.5S 3.5D 4.0D ... → threshold 3.5. Fold 0 at 3.5:
        //   same 1.0, 3.0 accepted (VAL 1); different 2.0 accepted, 5.0 not (FAR 1/2).
        // Fold 1 (train 0, 2): 0.5S 1.0S 2.0D 3.0S 3.5D ... → threshold 3.0. Fold 1 at 3.0:
        //   same 1.5, 2.5 accepted (VAL 1); different 4.0, 6.0 not (FAR 0).
        // Fold 2 (train 0, 1): 1.0S 1.5S 2.0D 2.5S 3.0S 4.0D ... → threshold 3.0. Fold 2 at 3.0:
        //   same 0.5 accepted, 4.5 not (VAL 1/2); different 3.5, 7.0 not (FAR 0).
        let k = kfold_val(&three_folds()?, 0.25)?;
        assert_eq!(
            k.folds,
            vec![
                FoldVal {
                    fold: 0,
                    threshold: 3.5,
                    val: 1.0,
                    far: 0.5
                },
                FoldVal {
                    fold: 1,
                    threshold: 3.0,
                    val: 1.0,
                    far: 0.0
                },
                FoldVal {
                    fold: 2,
                    threshold: 3.0,
                    val: 0.5,
                    far: 0.0
                },
            ]
        );
        // mean (1 + 1 + 1/2)/3 = 5/6; population std: deviations 1/6, 1/6, −1/3 →
        // sqrt((1 + 1 + 4)/36/3) = sqrt(1/18). Held-out FAR (1/2 + 0 + 0)/3 = 1/6: above the
        // target in fold 0, which the in-sample number cannot show.
        assert!(close(k.val_mean, 5.0 / 6.0));
        assert!(close(k.val_std, (1.0f64 / 18.0).sqrt()));
        assert!(close(k.far_mean, 1.0 / 6.0));

        // FAR ≤ 0: each threshold stops before its training folds' first different-person pair.
        let strict = kfold_val(&three_folds()?, 0.0)?;
        let thresholds: Vec<f64> = strict.folds.iter().map(|f| f.threshold).collect();
        assert_eq!(thresholds, vec![2.5, 1.0, 1.5]);

        // When the nearest training pair is a different person, only "accept nothing" keeps
        // FAR at 0: VAL and FAR are 0 on the held-out fold.
        let s = Scores::new(
            vec![0.1, 0.5, 0.2, 0.6],
            vec![false, true, false, true],
            vec![0, 0, 1, 1],
        )?;
        let k = kfold_val(&s, 0.0)?;
        assert_eq!(k.folds[0].threshold, f64::NEG_INFINITY);
        assert_eq!((k.val_mean, k.far_mean), (0.0, 0.0));
        Ok(())
    }

    #[test]
    fn the_report_records_k_fold_and_pooled_val_under_their_own_names() -> Result<()> {
        // Pooled over all 12: 0.5S 1.0S 1.5S 2.0D 2.5S 3.0S 3.5D: 6 different pairs, FAR ≤ 0.25
        // allows one → threshold 3.0, VAL 5/6 at FAR 1/6 (in-sample).
        let r = evaluate(&three_folds()?, 0.25)?;
        let m: std::collections::HashMap<&str, f64> = r.metrics().into_iter().collect();
        assert_eq!(m[metric::VAL_THRESHOLD], 3.0);
        assert!(close(m[metric::VAL], 5.0 / 6.0));
        assert!(close(m[metric::VAL_FAR], 1.0 / 6.0));
        assert!(close(m[metric::VAL_KFOLD_MEAN], 5.0 / 6.0));
        assert!(close(m[metric::VAL_KFOLD_STD], (1.0f64 / 18.0).sqrt()));
        assert!(close(m[metric::VAL_KFOLD_FAR_MEAN], 1.0 / 6.0));
        assert_eq!((m[metric::N_SAME], m[metric::N_DIFFERENT]), (6.0, 6.0));
        let summary = r.summary();
        assert!(
            summary.contains("of 6 same- and 6 different-person pairs in 3 folds")
                && summary.contains("VAL 0.8333 ± 0.2357 at FAR ≤ 0.25 (held-out FAR 0.1667)")
                && summary.contains("in-sample over all 12 pairs: VAL 0.8333 at FAR 0.1667"),
            "{summary}"
        );
        assert!(!summary.contains("finer"), "{summary}");
        // A fold's threshold is chosen on the other folds' 4 different-person pairs: FAR 0.1
        // is finer than they tell.
        let fine = evaluate(&three_folds()?, 0.1)?.summary();
        assert!(
            fine.contains(
                "FAR ≤ 0.1 is finer than the other folds' 4 different-person pairs can tell"
            ),
            "{fine}"
        );
        Ok(())
    }

    #[test]
    fn val_per_fold_needs_both_classes_in_every_fold() -> Result<()> {
        // Fold 1 has no same-person pair: VAL there is undefined.
        let s = Scores::new(
            vec![0.1, 0.9, 0.8, 0.2, 0.7],
            vec![true, false, false, true, false],
            vec![0, 0, 1, 2, 2],
        )?;
        assert_eq!(fold_lacking_a_class(&s), Some((1, 0, 1)));
        let err = kfold_val(&s, 1e-3).unwrap_err().to_string();
        assert!(err.contains("fold 1 has 0 same-person"), "{err}");
        // The report keeps the rest and leaves the k-fold VAL out.
        let r = evaluate(&s, 1e-3)?;
        assert_eq!(r.val_kfold, None);
        let names: Vec<&str> = r.metrics().iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&metric::VAL) && !names.contains(&metric::VAL_KFOLD_MEAN));
        assert!(
            r.summary().contains("VAL per fold undefined"),
            "{}",
            r.summary()
        );
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
