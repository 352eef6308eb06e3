//! A run's own figures: its train, dev and centroid-gallery accuracy with its best checkpoint
//! and chance marked, and its train loss, drawn against epochs where the run counts them; and
//! how a long series is drawn (means over buckets), which the comparison figure shares.

use crate::lab::{Run, SeriesPoint};

use super::curves::{DataInfo, RunCurves};
use super::figure::{Chart, Guide, Line, Marks};

/// A curve with more points than this is drawn as means over buckets (see [`thinned`]): 300
/// epochs of per-iteration losses would otherwise make a noisy band and a multi-megabyte SVG.
const MAX_DRAWN_POINTS: usize = 1000;
/// Means per epoch stand in for a long curve only when there are at least this many of them:
/// fewer would hide its shape (3 epochs of 400 iterations).
const MIN_EPOCH_MEANS: usize = 20;

/// A run's train and dev accuracy against epochs ([`in_epochs`]), with the mark of its best checkpoint (the
/// weights its test and LFW numbers measure) on the dev curve, and dev accuracy's chance.
pub(super) fn accuracy_chart(c: &RunCurves) -> Option<Chart> {
    let mut lines = Vec::new();
    // The centroid gallery's dev accuracy often equals the seed images' (both 1.0): it is drawn
    // over that curve, dashed, so that both show.
    for (label, series, secondary) in [
        ("train", &c.train_acc, false),
        ("dev", &c.dev_acc, false),
        ("dev, centroid gallery", &c.dev_acc_centroid, true),
    ] {
        if !series.is_empty() {
            lines.push(Line {
                secondary,
                ..plain_line(label, series)
            });
        }
    }
    if lines.is_empty() {
        return None;
    }
    if let Some(mark) = best_checkpoint_mark(c) {
        lines.push(mark);
    }
    let chart = Chart {
        title: format!("Run {}: accuracy", c.label()),
        x_label: "iteration".into(),
        y_label: "accuracy".into(),
        y_range: Some(accuracy_y_range(&lines)),
        lines,
        marks: Marks::Curves,
        log_x: false,
        equal_scale: false,
        guides: c.data.iter().filter_map(dev_chance).collect(),
    };
    Some(in_epochs(chart, &c.run))
}

/// `chart`, drawn against iterations, drawn against epochs where `run` records how many
/// iterations an epoch takes: the epochs the results table and the best checkpoint's label
/// count, each evaluation at its whole epoch and the steps between at fractions of one.
fn in_epochs(mut chart: Chart, run: &Run) -> Chart {
    let Some(per) = run.iters_per_epoch.filter(|&n| n > 0).map(|n| n as f64) else {
        return chart;
    };
    for line in &mut chart.lines {
        for p in &mut line.points {
            p.0 /= per;
        }
        for b in line.band.iter_mut().flatten() {
            b.0 /= per;
        }
    }
    chart.x_label = "epoch".into();
    chart
}

/// A ring on the dev curve where the run's best checkpoint was written, the weights that `eval`
/// measures by default and whose test and LFW numbers the results table shows: `best checkpoint
/// (epoch 69, dev 0.412, test and LFW measured here)`, naming those of the two that are recorded.
/// `None` for a run without one, or whose dev curve has no point there.
fn best_checkpoint_mark(c: &RunCurves) -> Option<Line> {
    let iteration = c.best_iteration?;
    // A resumed run can hold two points of one iteration: the later is the one kept.
    let at = c.dev_acc.iter().rev().find(|p| p.iteration == iteration)?;
    let measured = match (c.run.test_acc.is_some(), c.run.lfw_acc.is_some()) {
        (true, true) => ", test and LFW measured here",
        (true, false) => ", test measured here",
        (false, true) => ", LFW measured here",
        (false, false) => "",
    };
    Some(Line {
        label: format!(
            "best checkpoint (epoch {}, dev {:.3}{measured})",
            at.epoch, at.value
        ),
        points: vec![(at.iteration as f64, at.value)],
        band: None,
        // A ring around the dev point, which stays visible inside it.
        secondary: true,
    })
}

/// Dev accuracy's chance on `data`: one identity of its gallery at random, `dev chance (1 in 30
/// identities)`.
pub(super) fn dev_chance(data: &DataInfo) -> Option<Guide> {
    Some(Guide {
        label: format!(
            "dev chance (1 in {} identities)",
            data.gallery.filter(|&n| n > 0)?
        ),
        y: data.chance()?,
    })
}

pub(super) fn loss_chart(c: &RunCurves) -> Option<Chart> {
    let chart = (!c.train_loss.is_empty()).then(|| Chart {
        title: format!("Run {}: train loss", c.label()),
        x_label: "iteration".into(),
        y_label: "triplet loss".into(),
        y_range: None,
        lines: vec![plain_line("train loss", &c.train_loss)],
        marks: Marks::Curves,
        log_x: false,
        equal_scale: false,
        guides: Vec::new(),
    });
    chart.map(|chart| in_epochs(chart, &c.run))
}

/// The y axis of an accuracy chart: from 0 to the tenth at or above its highest value (band
/// included) with 3 % of room over it, so that curves between 0 and 0.13 fill the plot up to
/// 0.2 instead of its bottom eighth; never past 1 but for that room, so that a curve at 1 is
/// not drawn on the frame.
pub(super) fn accuracy_y_range(lines: &[Line]) -> (f64, f64) {
    let top = lines
        .iter()
        .flat_map(|l| {
            let band = l.band.iter().flatten().map(|b| b.2);
            l.points.iter().map(|p| p.1).chain(band)
        })
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let room = 1.03;
    // In tenths, less a hair, so that 0.5 × 1.03 rounds up to 0.6 and not a rounding error more.
    let tenths = (top * room * 10.0 - 1e-9).ceil().clamp(1.0, 10.0);
    if tenths >= 10.0 {
        (0.0, room)
    } else {
        (0.0, tenths / 10.0)
    }
}

/// A line of `series` labelled `label`, and what its points average where it is [`thinned`].
fn plain_line(label: &str, series: &[SeriesPoint]) -> Line {
    let (points, averaging) = drawn_points(series);
    let label = match averaging {
        Some(averaging) => format!("{label} ({averaging})"),
        None => label.to_string(),
    };
    Line {
        label,
        points,
        band: None,
        secondary: false,
    }
}

/// The points `series` is drawn as: its own, or where there are too many, [`thinned`] means and
/// what each averages (`mean per epoch`).
pub(super) fn drawn_points(series: &[SeriesPoint]) -> (Vec<(f64, f64)>, Option<String>) {
    if series.len() <= MAX_DRAWN_POINTS {
        let points = series.iter().map(|p| (p.iteration as f64, p.value));
        (points.collect(), None)
    } else {
        let (points, averaging) = thinned(series);
        (points, Some(averaging))
    }
}

/// At most [`MAX_DRAWN_POINTS`] means of `series`, and what each is the mean of: whole epochs
/// when there are enough of them to show the curve's shape, else equal runs of iterations.
fn thinned(series: &[SeriesPoint]) -> (Vec<(f64, f64)>, String) {
    let epochs = series.chunk_by(|a, b| a.epoch == b.epoch).count();
    if epochs >= MIN_EPOCH_MEANS {
        let per = epochs.div_ceil(MAX_DRAWN_POINTS) as i64;
        let bucket = |p: &SeriesPoint| (p.epoch - 1).div_euclid(per);
        let points = means(series.chunk_by(|a, b| bucket(a) == bucket(b)));
        let averaging = match per {
            1 => "mean per epoch".to_string(),
            _ => format!("mean per {per} epochs"),
        };
        (points, averaging)
    } else {
        let per = series.len().div_ceil(MAX_DRAWN_POINTS);
        let points = means(series.chunks(per));
        (points, format!("mean of every {per} iterations"))
    }
}

/// Each bucket's mean iteration and mean value.
fn means<'a>(buckets: impl Iterator<Item = &'a [SeriesPoint]>) -> Vec<(f64, f64)> {
    buckets
        .map(|b| {
            let n = b.len() as f64;
            (
                b.iter().map(|p| p.iteration as f64).sum::<f64>() / n,
                b.iter().map(|p| p.value).sum::<f64>() / n,
            )
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::report::comparison::comparison_charts;
    use crate::report::figure::{render, FigureFormat};

    fn steps(n: i64, per_epoch: i64) -> Vec<SeriesPoint> {
        (1..=n)
            .map(|i| SeriesPoint {
                iteration: i,
                epoch: (i - 1) / per_epoch + 1,
                value: (i % 2) as f64,
                wall_time: 0.0,
            })
            .collect()
    }

    /// Run `id` of `model` with a dev curve of `epochs` epochs (one point each) climbing to
    /// `top`, trained on `data`.
    pub(in crate::report) fn dev_run(
        id: i64,
        model: &str,
        top: f64,
        epochs: i64,
        data: Option<&DataInfo>,
    ) -> RunCurves {
        let mut run = crate::lab::fixtures::run(id, &format!("run-{id}"), model);
        run.dataset_id = data.map(|d| crate::lab::DatasetId(d.id));
        run.iters_per_epoch = Some(10);
        RunCurves {
            dev_acc: (1..=epochs)
                .map(|e| SeriesPoint {
                    iteration: 10 * e,
                    epoch: e,
                    value: top * e as f64 / epochs as f64,
                    wall_time: 0.0,
                })
                .collect(),
            data: data.cloned(),
            ..RunCurves::bare(run)
        }
    }

    /// A dataset of `people` identities, all in its train split, and `dev` dev images.
    pub(in crate::report) fn dataset(id: i64, name: &str, people: i64, dev: i64) -> DataInfo {
        DataInfo {
            id,
            name: name.into(),
            n_identities: people,
            n_images: 20 * people,
            splits: vec![
                ("train".into(), 20 * people - 2 * dev),
                ("dev".into(), dev),
                ("test".into(), dev),
            ],
            gallery: Some(people),
        }
    }

    #[test]
    fn a_runs_accuracy_figure_has_its_train_dev_and_centroid_curves() {
        let mut c = RunCurves {
            train_acc: steps(4, 1),
            dev_acc: steps(4, 1),
            dev_acc_centroid: steps(4, 1),
            ..RunCurves::bare(crate::lab::fixtures::run(1, "r", "resnet18"))
        };
        let labels = |c: &RunCurves| -> Vec<String> {
            accuracy_chart(c)
                .map(|chart| chart.lines.into_iter().map(|l| l.label).collect())
                .unwrap_or_default()
        };
        assert_eq!(labels(&c), ["train", "dev", "dev, centroid gallery"]);
        // The centroid curve, drawn over the dev one, is dashed so that the dev one shows.
        let secondary: Vec<bool> = accuracy_chart(&c)
            .map(|chart| chart.lines.iter().map(|l| l.secondary).collect())
            .unwrap_or_default();
        assert_eq!(secondary, [false, false, true]);
        // Runs recorded before the centroid accuracy existed have two curves.
        c.dev_acc_centroid.clear();
        assert_eq!(labels(&c), ["train", "dev"]);
        // No dataset recorded: no chance line, for want of a gallery to guess among.
        assert_eq!(accuracy_chart(&c).map(|c| c.guides), Some(Vec::new()));
        // Against epochs where the run records their length, its losses too; against
        // iterations where it does not.
        c.train_loss = steps(200, 100);
        let loss = loss_chart(&c).expect("losses");
        assert_eq!(loss.x_label, "epoch");
        assert_eq!(
            (loss.lines[0].points[0], loss.lines[0].points[199]),
            ((0.01, 1.0), (2.0, 0.0))
        );
        c.run.iters_per_epoch = None;
        let chart = accuracy_chart(&c).expect("curves");
        assert_eq!(chart.x_label, "iteration");
        assert_eq!(chart.lines[0].points[3], (4.0, 0.0));
        assert_eq!(loss_chart(&c).map(|l| l.x_label), Some("iteration".into()));
    }

    /// A run's accuracy figure did not say which of its points the test and LFW numbers
    /// measure, nor where guessing would be.
    #[test]
    fn a_runs_accuracy_figure_marks_its_best_checkpoint_and_chance() {
        let data = dataset(1, "lfw-20-30", 30, 62);
        let mut c = dev_run(5, "resnet18", 0.6, 6, Some(&data));
        // The best checkpoint at epoch 4 (iteration 40); test measured, LFW not.
        c.best_iteration = Some(40);
        c.run.test_acc = Some(0.5);
        let chart = accuracy_chart(&c).expect("a dev curve");
        let mark = chart.lines.last().expect("the mark");
        assert_eq!(
            mark.label,
            "best checkpoint (epoch 4, dev 0.400, test measured here)"
        );
        // Drawn against epochs, as its label and the results table count them.
        assert_eq!(chart.x_label, "epoch");
        assert_eq!(mark.points, [(4.0, 0.6 * 4.0 / 6.0)]);
        assert_eq!(chart.lines[0].points[5], (6.0, 0.6));
        assert!(
            mark.secondary,
            "a ring around the dev point, which shows inside it"
        );
        assert_eq!(
            chart.guides,
            [Guide {
                label: "dev chance (1 in 30 identities)".into(),
                y: 1.0 / 30.0
            }]
        );
        c.run.lfw_acc = Some(0.7);
        let chart = accuracy_chart(&c).expect("a dev curve");
        assert!(chart.lines[1..]
            .iter()
            .any(|l| l.label.ends_with(", test and LFW measured here)")));
        // A best checkpoint with no dev point at its iteration (its curve cut short), or none
        // at all: nothing marked.
        c.best_iteration = Some(45);
        assert_eq!(accuracy_chart(&c).map(|c| c.lines.len()), Some(1));
        c.best_iteration = None;
        assert_eq!(accuracy_chart(&c).map(|c| c.lines.len()), Some(1));
        // It renders, the mark a wide ring and the chance line in its grey.
        c.best_iteration = Some(40);
        let chart = accuracy_chart(&c).expect("a dev curve");
        let svg =
            String::from_utf8(render(&chart, FigureFormat::Svg).expect("renders")).expect("utf-8");
        assert!(svg.contains("dev chance (1 in 30 identities)"), "{svg}");
        assert!(svg.contains("best checkpoint (epoch 4"), "{svg}");
    }

    /// Dev accuracies between 0 and 0.13 were drawn on a 0..1 axis, in its bottom eighth.
    #[test]
    fn an_accuracy_axis_fits_its_curves() {
        let line = |top: f64| Line {
            label: "dev".into(),
            points: vec![(1.0, 0.0), (2.0, top)],
            band: None,
            secondary: false,
        };
        let range =
            |tops: &[f64]| accuracy_y_range(&tops.iter().map(|&t| line(t)).collect::<Vec<_>>());
        assert_eq!(range(&[0.13, 0.05]), (0.0, 0.2));
        assert_eq!(range(&[0.095]), (0.0, 0.1), "3 % of room fits under 0.1");
        assert_eq!(range(&[0.099]), (0.0, 0.2), "too close to 0.1");
        assert_eq!(range(&[0.62, 0.3]), (0.0, 0.7));
        assert_eq!(range(&[0.0]), (0.0, 0.1), "a flat zero still has an axis");
        // A curve at 1 keeps room above it, and the axis goes no further.
        assert_eq!(range(&[1.0]), (0.0, 1.03));
        assert_eq!(range(&[0.98]), (0.0, 1.03));
        // A band counts: its top edge is drawn too.
        let mut banded = line(0.3);
        banded.band = Some(vec![(1.0, 0.0, 0.1), (2.0, 0.2, 0.45)]);
        assert_eq!(accuracy_y_range(&[banded]), (0.0, 0.5));
        // The charts use it.
        let c = RunCurves {
            dev_acc: steps(4, 1)
                .into_iter()
                .map(|p| SeriesPoint {
                    value: p.value * 0.13,
                    ..p
                })
                .collect(),
            ..RunCurves::bare(crate::lab::fixtures::run(1, "r", "resnet18"))
        };
        let accuracy = accuracy_chart(&c).expect("a dev curve");
        assert_eq!(accuracy.y_range, Some((0.0, 0.2)));
        let compare = comparison_charts(std::slice::from_ref(&c), 0.0);
        assert_eq!(compare[0].chart.y_range, Some((0.0, 0.2)));
    }

    #[test]
    fn long_series_are_drawn_as_means_that_say_what_they_average() {
        // Run 5's losses: 90 epochs of 19 iterations.
        let line = plain_line("train loss", &steps(1710, 19));
        assert_eq!(line.label, "train loss (mean per epoch)");
        assert_eq!(line.points.len(), 90);
        // Epoch 1 is iterations 1..=19: ten odd ones at loss 1.
        assert_eq!(line.points[0], (10.0, 10.0 / 19.0));
        // 2500 epochs of 10 iterations: two epochs a point would leave 1250.
        let line = plain_line("train loss", &steps(25_000, 10));
        assert_eq!(line.label, "train loss (mean per 3 epochs)");
        assert_eq!(line.points.len(), 834);
        assert_eq!(line.points[0], (15.5, 0.5), "epochs 1 to 3");
        // 3 long epochs: three means would hide the curve.
        let line = plain_line("loss", &steps(2500, 1000));
        assert_eq!(line.label, "loss (mean of every 3 iterations)");
        assert_eq!(line.points.len(), 834);
        assert_eq!(line.points[0], (2.0, 2.0 / 3.0));
        // Short series are drawn as they are, under their own name.
        let line = plain_line("dev", &steps(570, 19));
        assert_eq!((line.label.as_str(), line.points.len()), ("dev", 570));
    }
}
