//! The figures of a trained run's evaluation: the ROC `eval` draws of a verification, with the
//! title that says which weights and which pairs it measured, and `report --embeddings`' 2-D
//! PCA of a run's dev and test embeddings, one colour per identity.

use crate::lab::Run;

use super::figure::{Chart, Line, Marks};

/// The ROC of a verification: true accept rate against false accept rate on a log axis, as
/// verification papers draw it, so that the low-FAR end where VAL@FAR is read gets room; with
/// chance and a mark at `far_target`, the FAR of the VAL reported with it. Points at FAR 0 sit on the axis' left end
/// ([`far_axis_start`]): below the smallest FAR the pairs can measure, that TAR is what they show.
pub fn roc_chart(
    title: &str,
    roc: &crate::eval::verification::Roc,
    auc: f64,
    far_target: f64,
) -> Chart {
    let start = far_axis_start(&roc.fpr);
    let decades = (1.0 / start).log10().round() as i32;
    Chart {
        title: title.into(),
        x_label: "false accept rate".into(),
        y_label: "true accept rate".into(),
        y_range: Some((0.0, 1.0)),
        lines: vec![
            Line {
                label: format!("ROC (AUC {auc:.3})"),
                points: roc
                    .fpr
                    .iter()
                    .zip(&roc.tpr)
                    .filter(|(f, _)| f.is_finite())
                    .map(|(&f, &t)| (f.max(start), t))
                    .collect(),
                band: None,
                secondary: false,
            },
            Line {
                label: "chance".into(),
                // Ten points a decade: TAR = FAR is a curve on a log axis.
                points: (0..=10 * decades)
                    .map(|k| start * 10f64.powf(f64::from(k) / 10.0))
                    .map(|f| (f, f))
                    .collect(),
                band: None,
                secondary: false,
            },
            Line {
                label: format!("FAR = {far_target:e}"),
                points: vec![(far_target, 0.0), (far_target, 1.0)],
                band: None,
                secondary: false,
            },
        ],
        marks: Marks::Curves,
        log_x: true,
        equal_scale: false,
        guides: Vec::new(),
    }
}

/// The title of an evaluation's ROC: the run by its id and name, the checkpoint by its kind
/// and [`training_position`] (its epoch, as the run's other figures and the results table count),
/// `flipped` where flipped images were averaged in, what it was measured on
/// (`grayscale images` where they all were, as the `images_colour` an evaluation records says: a
/// grayscale copy of LFW is not the official archive), and how many pairs, with what
/// `--exclude-train-identities` left out (the `options` an evaluation records:
/// `exclude_train_identities`, `dropped_pairs`, `dropped_images`), so that a figure of 5,864 of
/// LFW's 6,000 pairs is not titled as one of all 6,000: `Run #41 best-recipe-224px, best
/// checkpoint (epoch 75): ROC on LFW View 2 (grayscale images), 5,864 of 6,000 pairs (train
/// identities excluded)`.
pub fn roc_title(
    run: &Run,
    checkpoint: &crate::lab::Checkpoint,
    flip: bool,
    on: &str,
    n_pairs: usize,
    options: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let flip = if flip { ", flipped" } else { "" };
    let measured = roc_measured(on, n_pairs, options);
    format!(
        "Run #{} {}, {} checkpoint ({}){flip}: {measured}",
        run.id,
        run.name,
        checkpoint.kind,
        training_position(run, checkpoint)
    )
}

/// How far `run` had trained when `checkpoint` was written, in the epochs the results table and
/// the run's figures count where the run records how many iterations an epoch takes: `epoch 75`
/// at an epoch's end; `10 iterations into epoch 8` for one written partway through an epoch (a
/// run stopped there), in the epoch the checkpoint records, as the dashboard's checkpoint list
/// shows it (`ep 8 it 143`); `iteration 1425` where the run records no epoch length, or where
/// the checkpoint's epoch does not hold its iteration.
pub fn training_position(run: &Run, checkpoint: &crate::lab::Checkpoint) -> String {
    let (epoch, iteration) = (checkpoint.epoch, checkpoint.iteration);
    let Some(per) = run.iters_per_epoch.filter(|&n| n > 0) else {
        return format!("iteration {iteration}");
    };
    // Iterations done of the epoch it records.
    let into = iteration - (epoch - 1) * per;
    if into == per {
        format!("epoch {epoch}")
    } else if (1..per).contains(&into) {
        let into = crate::format::count(into as u64, "iteration", "iterations");
        format!("{into} into epoch {epoch}")
    } else {
        format!("iteration {iteration}")
    }
}

/// The part of a ROC's title after its weights: `ROC on LFW View 2 (grayscale images), 5,864 of
/// 6,000 pairs (train identities excluded)`.
fn roc_measured(
    on: &str,
    n_pairs: usize,
    options: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let n = n_pairs as u64;
    let option = |key: &str| options.get(key).and_then(|v| v.as_u64());
    let excluded = options.get("exclude_train_identities") == Some(&serde_json::Value::Bool(true));
    let pairs = match (option("dropped_pairs"), option("dropped_images")) {
        (Some(d), _) if d > 0 => format!(
            "{} of {} pairs (train identities excluded)",
            thousands(n),
            thousands(n + d)
        ),
        (_, Some(d)) if d > 0 => format!(
            "{} pairs ({} {} of train identities excluded)",
            thousands(n),
            thousands(d),
            if d == 1 { "image" } else { "images" }
        ),
        _ if excluded => format!("{} pairs (none of train identities)", thousands(n)),
        _ => format!("{} pairs", thousands(n)),
    };
    let gray = match crate::lab::Evaluation::grayscale_options(options) {
        true => " (grayscale images)",
        false => "",
    };
    format!("ROC on {on}{gray}, {pairs}")
}

/// `6,000`: digits in groups of three.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The left end of a ROC's FAR axis: 10⁻⁴, or the power of ten at or below the smallest non-zero
/// FAR when that is lower (more different-person pairs measure lower FARs).
fn far_axis_start(fpr: &[f64]) -> f64 {
    let smallest = fpr
        .iter()
        .copied()
        .filter(|&f| f > 0.0)
        .fold(f64::INFINITY, f64::min);
    10f64.powf(smallest.log10().floor()).min(1e-4)
}

/// A projection's legend entry for its dev images, which also says what tells identities apart.
const IDENTITY_KEY: &str = "dev images (colour and shape: identity)";

/// A 2-D projection of the dev and test embeddings: one colour and shape per identity
/// (`labels[i]` of `points[i]`), filled markers for the dev images and hollow ones for the test
/// images (`is_test[i]`), which the legend says.
pub fn projection_chart(
    title: &str,
    points: &[[f32; 2]],
    labels: &[String],
    is_test: &[bool],
) -> Chart {
    debug_assert!(points.len() == labels.len() && labels.len() == is_test.len());
    // Per identity, its dev points and its test points.
    type Sets = [Vec<(f64, f64)>; 2];
    let mut groups: std::collections::BTreeMap<&str, Sets> = Default::default();
    for ((p, l), &test) in points.iter().zip(labels).zip(is_test) {
        groups.entry(l).or_default()[usize::from(test)].push((f64::from(p[0]), f64::from(p[1])));
    }
    // One legend entry per set that has points, on the first of its lines.
    let has = [is_test.contains(&false), is_test.contains(&true)];
    let lines = groups
        .into_values()
        .enumerate()
        .flat_map(|(k, sets)| {
            sets.into_iter()
                .zip([IDENTITY_KEY, "test images"])
                .zip(has)
                .map(move |((points, set), has)| Line {
                    label: if k == 0 && has {
                        set.into()
                    } else {
                        String::new()
                    },
                    points,
                    band: None,
                    secondary: false,
                })
        })
        .collect();
    Chart {
        title: title.into(),
        x_label: "first principal component".into(),
        y_label: "second principal component".into(),
        y_range: None,
        lines,
        marks: Marks::FilledAndHollow,
        log_x: false,
        // A unit of one component is as long as a unit of the other: the cloud keeps its shape.
        equal_scale: true,
        guides: Vec::new(),
    }
}

/// [`projection_chart`] of `vectors` projected on their first two principal components
/// (`points`, as [`crate::eval::pca::pca_2d`] gives them), each axis saying the share of the
/// embeddings' variance its component holds: `first principal component (62.1 % of the
/// variance)`.
pub fn pca_chart(
    title: &str,
    vectors: &[Vec<f32>],
    points: &[[f32; 2]],
    labels: &[String],
    is_test: &[bool],
) -> Chart {
    let mut chart = projection_chart(title, points, labels, is_test);
    if let Some([first, second]) = explained_variance(vectors, points) {
        chart.x_label = format!("first principal component ({})", variance_share(first));
        chart.y_label = format!("second principal component ({})", variance_share(second));
    }
    chart
}

/// The share of the total variance of `vectors` along each of the two coordinates of their
/// projections `points`; `None` for no vectors or no variance.
pub fn explained_variance(vectors: &[Vec<f32>], points: &[[f32; 2]]) -> Option<[f64; 2]> {
    let d = vectors.first()?.len();
    let n = vectors.len() as f64;
    let mut mean = vec![0.0f64; d];
    for v in vectors {
        for (m, &x) in mean.iter_mut().zip(v) {
            *m += f64::from(x) / n;
        }
    }
    let total = vectors
        .iter()
        .flat_map(|v| {
            v.iter()
                .zip(&mean)
                .map(|(&x, m)| (f64::from(x) - m).powi(2))
        })
        .sum::<f64>()
        / n;
    let along = |k: usize| {
        let m = points.iter().map(|p| f64::from(p[k])).sum::<f64>() / n;
        points
            .iter()
            .map(|p| (f64::from(p[k]) - m).powi(2))
            .sum::<f64>()
            / n
    };
    (total > 0.0).then(|| [along(0) / total, along(1) / total])
}

/// `62.1 % of the variance`; a share under 1 % with two decimals (`0.04 %`), not `0.0 %`.
fn variance_share(share: f64) -> String {
    let percent = share * 100.0;
    if percent < 1.0 {
        format!("{percent:.2} % of the variance")
    } else {
        format!("{percent:.1} % of the variance")
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Result;

    use super::*;

    #[test]
    fn a_projection_pairs_each_identitys_dev_and_test_points() {
        let points = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]];
        let labels: Vec<String> = ["bo", "al", "bo", "al", "al"].map(String::from).to_vec();
        let is_test = [false, false, true, true, false];
        let c = projection_chart("t", &points, &labels, &is_test);
        assert_eq!(c.marks, Marks::FilledAndHollow);
        let lines: Vec<(&str, &[(f64, f64)])> = c
            .lines
            .iter()
            .map(|l| (l.label.as_str(), l.points.as_slice()))
            .collect();
        // Identities in name order, each its dev line then its test line; one legend entry
        // per set.
        assert_eq!(
            lines,
            vec![
                (IDENTITY_KEY, &[(2.0, 3.0), (8.0, 9.0)][..]),
                ("test images", &[(6.0, 7.0)][..]),
                ("", &[(0.0, 1.0)][..]),
                ("", &[(4.0, 5.0)][..]),
            ]
        );
        // No test images, no test entry in the key.
        let dev_only = projection_chart("t", &points, &labels, &[false; 5]);
        let labelled: Vec<&str> = dev_only.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labelled, [IDENTITY_KEY, "", "", ""]);
        assert_eq!(IDENTITY_KEY, "dev images (colour and shape: identity)");
    }

    /// Run 2's embeddings figure fitted PC1 (about ±2) and PC2 (about ±0.01) apart and said
    /// neither's share of the variance.
    #[test]
    fn a_pca_figure_keeps_one_scale_and_says_each_components_variance() -> Result<()> {
        // Spread 2 along x, 1 along y, none along z: 4 / 5 and 1 / 5 of the variance.
        let vectors: Vec<Vec<f32>> = [
            [2.0, 1.0, 0.0],
            [-2.0, 1.0, 0.0],
            [2.0, -1.0, 0.0],
            [-2.0, -1.0, 0.0],
        ]
        .iter()
        .map(|v| v.to_vec())
        .collect();
        let points = crate::eval::pca::pca_2d(&vectors)?;
        let shares = explained_variance(&vectors, &points).expect("variance");
        assert!(
            (shares[0] - 0.8).abs() < 1e-6 && (shares[1] - 0.2).abs() < 1e-6,
            "{shares:?}"
        );
        let labels: Vec<String> = ["a", "a", "b", "b"].map(String::from).to_vec();
        let c = pca_chart("t", &vectors, &points, &labels, &[false; 4]);
        assert!(c.equal_scale);
        assert_eq!(
            c.x_label,
            "first principal component (80.0 % of the variance)"
        );
        assert_eq!(
            c.y_label,
            "second principal component (20.0 % of the variance)"
        );
        assert_eq!(variance_share(0.0004), "0.04 % of the variance");
        // Nothing to measure: the plain labels.
        assert_eq!(explained_variance(&[], &[]), None);
        let flat = vec![vec![1.0f32, 1.0]; 2];
        assert_eq!(explained_variance(&flat, &[[0.0, 0.0]; 2]), None);
        Ok(())
    }

    /// Run 2's ROC on 5,864 of LFW's 6,000 pairs (its training identities excluded) had the
    /// title of its ROC on all 6,000.
    #[test]
    fn a_roc_title_says_which_pairs_it_measured() {
        let options = |json: serde_json::Value| json.as_object().cloned().unwrap_or_default();
        // In the epoch it ends, or the one it was written partway through (a stop), as the
        // trainer records it.
        let checkpoint = |run: &Run, kind: &str, iteration: i64| {
            let per = run.iters_per_epoch.unwrap_or(1);
            crate::lab::fixtures::checkpoint(run.id, kind, iteration, (iteration + per - 1) / per)
        };
        let title = |id: i64, iteration: i64, flip, on: &str, n, options: &_| {
            let run = crate::lab::fixtures::run(id, "r", "resnet18");
            roc_title(
                &run,
                &checkpoint(&run, "best", iteration),
                flip,
                on,
                n,
                options,
            )
        };
        let all = options(serde_json::json!({"flip": false, "pairs": 6000}));
        assert_eq!(
            title(2, 2700, false, "LFW View 2", 6000, &all),
            "Run #2 r, best checkpoint (epoch 27): ROC on LFW View 2, 6,000 pairs"
        );
        let without = options(serde_json::json!({
            "flip": true, "exclude_train_identities": true, "dropped_pairs": 136, "pairs": 5864
        }));
        assert_eq!(
            title(2, 2700, true, "LFW View 2", 5864, &without),
            "Run #2 r, best checkpoint (epoch 27), flipped: ROC on LFW View 2, 5,864 of 6,000 \
             pairs (train identities excluded)"
        );
        let none_dropped = options(serde_json::json!({
            "exclude_train_identities": true, "dropped_pairs": 0
        }));
        assert_eq!(
            title(3, 500, false, "LFW View 2", 6000, &none_dropped),
            "Run #3 r, best checkpoint (epoch 5): ROC on LFW View 2, 6,000 pairs (none of train identities)"
        );
        let folder = options(serde_json::json!({
            "exclude_train_identities": true, "dropped_images": 1036
        }));
        assert_eq!(
            title(4, 700, false, "/data/faces", 12345, &folder),
            "Run #4 r, best checkpoint (epoch 7): ROC on /data/faces, 12,345 pairs (1,036 images of train \
             identities excluded)"
        );
        // Measured on a grayscale copy of LFW (as `eval` records it): the title says so.
        let gray = options(serde_json::json!({"images_colour": "grayscale"}));
        assert_eq!(
            title(3, 500, false, "LFW View 2", 6000, &gray),
            "Run #3 r, best checkpoint (epoch 5): ROC on LFW View 2 (grayscale images), 6,000 pairs"
        );
        let colour = options(serde_json::json!({"images_colour": "colour"}));
        assert!(!title(3, 500, false, "LFW View 2", 6000, &colour).contains("gray"));
        // Named: the run's name and which of its checkpoints, at the epoch its 19 iterations an
        // epoch make of iteration 1425, as its accuracy figure and the results table count.
        let mut run = crate::lab::fixtures::run(41, "best-recipe-224px-crop0.5", "resnet18");
        run.iters_per_epoch = Some(19);
        let named = |kind: &str, iteration: i64, run: &Run| {
            roc_title(
                run,
                &checkpoint(run, kind, iteration),
                true,
                "LFW View 2",
                6000,
                &gray,
            )
        };
        assert_eq!(
            named("best", 1425, &run),
            "Run #41 best-recipe-224px-crop0.5, best checkpoint (epoch 75), flipped: ROC on LFW \
             View 2 (grayscale images), 6,000 pairs"
        );
        // Stopped partway through epoch 8 (run 9's interrupt checkpoint, recorded in epoch 8).
        assert_eq!(
            named("interrupt", 143, &run),
            "Run #41 best-recipe-224px-crop0.5, interrupt checkpoint (10 iterations into epoch \
             8), flipped: ROC on LFW View 2 (grayscale images), 6,000 pairs"
        );
        // A run that records no epoch length keeps its iterations.
        run.iters_per_epoch = None;
        assert_eq!(
            named("final", 1425, &run),
            "Run #41 best-recipe-224px-crop0.5, final checkpoint (iteration 1425), flipped: ROC \
             on LFW View 2 (grayscale images), 6,000 pairs"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    /// A checkpoint named in a figure's title is where the run's other figures, the results
    /// table and the dashboard put it: at the end of its epoch, partway through the epoch it
    /// records, or at its iteration where the run records no epoch length.
    #[test]
    fn a_checkpoint_is_named_by_its_epoch_where_the_run_counts_them() {
        let mut run = crate::lab::fixtures::run(14, "r", "resnet18");
        run.iters_per_epoch = Some(19);
        let at = |epoch: i64, iteration: i64| {
            crate::lab::fixtures::checkpoint(run.id, "interrupt", iteration, epoch)
        };
        assert_eq!(training_position(&run, &at(77, 1463)), "epoch 77");
        assert_eq!(training_position(&run, &at(0, 0)), "epoch 0");
        assert_eq!(
            training_position(&run, &at(2, 20)),
            "1 iteration into epoch 2"
        );
        // Run 9's interrupt checkpoint: iteration 143 is 7 epochs of 19 and 10 iterations,
        // written in epoch 8, which the lab records and the dashboard shows (`ep 8 it 143`):
        // its epoch is the recorded one, not the 7 whole epochs the iteration holds.
        assert_eq!(
            training_position(&run, &at(8, 143)),
            "10 iterations into epoch 8"
        );
        assert_eq!(
            training_position(&run, &at(8, 152)),
            "epoch 8",
            "its end, the last step's stop"
        );
        // An epoch that does not hold the iteration says nothing of epochs.
        for epoch in [7, 9, 0] {
            assert_eq!(
                training_position(&run, &at(epoch, 143)),
                "iteration 143",
                "{epoch}"
            );
        }
        for none in [None, Some(0)] {
            run.iters_per_epoch = none;
            assert_eq!(
                training_position(&run, &at(77, 1463)),
                "iteration 1463",
                "{none:?}"
            );
        }
    }

    #[test]
    fn the_roc_has_a_log_far_axis_with_zero_far_on_its_left_end() {
        use crate::eval::verification::Roc;
        // LFW View 2: 3000 different-person pairs measure FARs down to 1/3000.
        let roc = Roc {
            fpr: vec![0.0, 0.0, 1.0 / 3000.0, 0.01, 1.0],
            tpr: vec![0.0, 0.02, 0.05, 0.4, 1.0],
            thresholds: vec![f64::NEG_INFINITY, 0.1, 0.2, 0.5, 2.0],
        };
        let chart = roc_chart("roc", &roc, 0.9, 1e-3);
        assert!(chart.log_x);
        let curve = &chart.lines[0].points;
        assert_eq!(
            &curve[..3],
            &[(1e-4, 0.0), (1e-4, 0.02), (1.0 / 3000.0, 0.05)]
        );
        // Chance spans the same axis, and the mark stands at VAL@FAR's FAR.
        let chance = &chart.lines[1].points;
        assert_eq!(
            (chance[0], chance[chance.len() - 1]),
            ((1e-4, 1e-4), (1.0, 1.0))
        );
        assert_eq!(chart.lines[2].points, [(1e-3, 0.0), (1e-3, 1.0)]);
        assert_eq!(chart.lines[2].label, "FAR = 1e-3");
        // More pairs measure lower FARs: the axis reaches the decade below the smallest.
        assert_eq!(far_axis_start(&[0.0, 2e-6, 1.0]), 1e-6);
        assert_eq!(far_axis_start(&[0.0, 0.1, 1.0]), 1e-4, "a tiny test set");
        assert_eq!(far_axis_start(&[0.0, 0.0]), 1e-4, "no FAR above 0");
    }
}
