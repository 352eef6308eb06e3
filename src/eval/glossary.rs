//! What each recorded metric measures, in words: `eval` prints them beside the numbers, whose
//! names alone say little to a reader who did not write them.

use super::identification::metric::*;
use super::verification::metric::*;

/// What the metric of this name measures; `None` for a name this version does not know.
pub fn meaning(name: &str) -> Option<&'static str> {
    Some(match name {
        TOP1_SEED_GALLERY => {
            "nearest identity right, each identity its first training image: the seed's \
             accuracy, `runs`' test column"
        }
        TOP5_SEED_GALLERY => "right identity among the 5 nearest, the same gallery",
        TOP1_CENTROID_GALLERY => {
            "nearest identity right, each identity the mean of its training images"
        }
        TOP5_CENTROID_GALLERY => "right identity among the 5 nearest, the same gallery",
        N_QUERIES => "images identified, each given the identity nearest it",
        N_IDENTITIES => "identities in the gallery",
        TOP1_ONE_PER_IDENTITY => {
            "nearest person right, each person their first image, their others the queries"
        }
        TOP5_ONE_PER_IDENTITY => "right person among the 5 nearest, the same gallery",
        ACCURACY_MEAN => {
            "pairs judged same or different right, at the threshold best on the other folds; \
             mean over the folds (`runs`' lfw column, for LFW's pairs)"
        }
        ACCURACY_STD => "its standard deviation over the folds",
        VAL_KFOLD_MEAN => {
            "same-person pairs accepted (VAL) at the threshold that lets the target share of \
             different-person pairs through (FAR) on the other folds; mean over the folds"
        }
        VAL_KFOLD_STD => "its standard deviation over the folds",
        VAL_KFOLD_FAR_MEAN => "the share of different-person pairs those thresholds let through",
        VAL => "VAL at the target FAR, its threshold chosen on all the pairs (in-sample)",
        VAL_FAR => "the FAR that threshold achieves",
        VAL_THRESHOLD => "that threshold, a distance between embeddings",
        AUC => "area under the ROC curve: 1 separates every pair, 0.5 is chance",
        EER => "equal error rate: where false accepts and false rejects are as many",
        N_PAIRS => "pairs judged",
        N_SAME => "of them, same-person pairs",
        N_DIFFERENT => "of them, different-person pairs",
        _ => return None,
    })
}

/// What guessing would score, from the metrics of one evaluation: top-1 and top-5 among the
/// gallery's identities, and the verification accuracy of always giving the commoner answer,
/// for those of the two it measured.
pub fn chance(metric: impl Fn(&str) -> Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = metric(N_IDENTITIES).filter(|n| *n > 0.0) {
        out.push(format!(
            "guessing among {n:.0} identities scores top-1 {:.4}, top-5 {:.4}",
            1.0 / n,
            (5.0 / n).min(1.0)
        ));
    }
    if let (Some(same), Some(different)) = (metric(N_SAME), metric(N_DIFFERENT)) {
        let (answer, most) = if different >= same {
            ("different", different)
        } else {
            ("same", same)
        };
        if same + different > 0.0 {
            out.push(format!(
                "always answering \"{answer}\" scores accuracy {:.4}",
                most / (same + different)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_the_protocols_record_has_a_meaning() {
        for name in [
            TOP1_SEED_GALLERY,
            TOP5_SEED_GALLERY,
            TOP1_CENTROID_GALLERY,
            TOP5_CENTROID_GALLERY,
            N_QUERIES,
            N_IDENTITIES,
            TOP1_ONE_PER_IDENTITY,
            TOP5_ONE_PER_IDENTITY,
            ACCURACY_MEAN,
            ACCURACY_STD,
            VAL_KFOLD_MEAN,
            VAL_KFOLD_STD,
            VAL_KFOLD_FAR_MEAN,
            VAL,
            VAL_FAR,
            VAL_THRESHOLD,
            AUC,
            EER,
            N_PAIRS,
            N_SAME,
            N_DIFFERENT,
        ] {
            assert!(meaning(name).is_some(), "{name}");
        }
        assert_eq!(meaning("top1_made_up"), None);
    }

    #[test]
    fn chance_is_one_identity_in_the_gallery_or_the_commoner_answer() {
        let of = |pairs: &'static [(&'static str, f64)]| {
            move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|p| p.1)
        };
        assert_eq!(
            chance(of(&[(N_IDENTITIES, 30.0)])),
            ["guessing among 30 identities scores top-1 0.0333, top-5 0.1667"]
        );
        assert_eq!(
            chance(of(&[(N_SAME, 100.0), (N_DIFFERENT, 300.0)])),
            ["always answering \"different\" scores accuracy 0.7500"]
        );
        // A folder measures both.
        assert_eq!(
            chance(of(&[
                (N_SAME, 3.0),
                (N_DIFFERENT, 2.0),
                (N_IDENTITIES, 4.0)
            ])),
            [
                "guessing among 4 identities scores top-1 0.2500, top-5 1.0000",
                "always answering \"same\" scores accuracy 0.6000"
            ]
        );
        assert!(chance(of(&[(N_PAIRS, 10.0)])).is_empty());
    }
}
