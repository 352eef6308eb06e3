//! The comparison figure: the runs' dev accuracy by epoch, one figure per dataset, repeats of a
//! configuration as a mean ± std band, at most [`MAX_COMPARED`] curves of the best dev accuracy.

use crate::lab::{Run, SeriesPoint};

use super::curves::{
    band, curve_label, distinguishing_params, group_by_config, DataInfo, RunCurves,
};
use super::figure::{self, Chart, Line, Marks};
use super::run_charts::{accuracy_y_range, dev_chance, drawn_points};

/// The comparison figure's stem: of the recorded dataset most runs trained on; another dataset's adds
/// its name (`compare-dev-accuracy-lfw-disjoint`).
pub const COMPARISON_STEM: &str = "compare-dev-accuracy";
/// The most curves a comparison figure draws: one colour each, all solid. Past it, the curves
/// of the best dev accuracy, and a note of how to draw the others.
pub const MAX_COMPARED: usize = figure::DISTINCT_COLOURS;

/// A comparison figure: its file stem, the chart, and the markdown that says what it shows.
pub(super) struct Comparison {
    pub(super) stem: String,
    pub(super) chart: Chart,
    pub(super) caption: String,
}

/// One curve of a comparison figure before it is labelled: its runs (one, or repeats of one
/// configuration), its points and band, and its best dev accuracy.
struct Candidate<'a> {
    runs: Vec<&'a Run>,
    points: Vec<(f64, f64)>,
    band: Option<Vec<(f64, f64, f64)>>,
    /// What each drawn point is the mean of, for a curve too long to draw point by point.
    averaging: Option<String>,
    best: f64,
}

/// Dev accuracy against epochs (runs with other batch sizes take other numbers of iterations
/// per epoch), a figure per dataset: runs of other images, or other splits of them, are scored
/// on other dev sets with another chance, and never share an axis. The recorded dataset most runs
/// trained on (of those tied, the lowest id) comes first and has [`COMPARISON_STEM`]; the others
/// follow in the order of their ids, an unrecorded dataset last (first only where no run's
/// dataset is recorded).
/// Repeats of one configuration with different seeds, trained as many epochs, become their mean
/// with a ±1 std band. A figure draws at most [`MAX_COMPARED`] curves, those of the best dev
/// accuracy, best first, each labelled by [`curve_label`] with every hyperparameter that differs
/// among the runs drawn; its title says how many it leaves out, and its caption which runs.
pub(super) fn comparison_charts(curves: &[RunCurves], now: f64) -> Vec<Comparison> {
    // Groups never mix datasets: the dataset is one of the hyperparameters they share.
    let mut by_data: Vec<(Option<&DataInfo>, Vec<Vec<&RunCurves>>)> = Vec::new();
    for group in group_by_config(curves, now) {
        let group: Vec<&RunCurves> = group
            .into_iter()
            .filter(|c| !c.dev_acc.is_empty())
            .collect();
        let Some(first) = group.first() else {
            continue;
        };
        let data = first.data.as_ref();
        match by_data
            .iter_mut()
            .find(|(d, _)| d.map(|d| d.id) == data.map(|d| d.id))
        {
            Some((_, groups)) => groups.push(group),
            None => by_data.push((data, vec![group])),
        }
    }
    // By dataset id, an unrecorded dataset last; then the recorded dataset most runs trained
    // on (the lowest id of those tied) moved first.
    by_data.sort_by_key(|(d, _)| d.map_or(i64::MAX, |d| d.id));
    let runs_of = |groups: &[Vec<&RunCurves>]| groups.iter().map(Vec::len).sum::<usize>();
    let main = by_data
        .iter()
        .enumerate()
        .filter(|(_, (d, _))| d.is_some())
        // `max_by_key` keeps the last of equals: reversed, the first (lowest id).
        .rev()
        .max_by_key(|(_, (_, groups))| runs_of(groups))
        .map(|(k, _)| k);
    if let Some(k) = main {
        by_data[..=k].rotate_right(1);
    }
    let stems = comparison_stems(&by_data.iter().map(|(d, _)| *d).collect::<Vec<_>>());
    by_data
        .into_iter()
        .zip(stems)
        .enumerate()
        .filter_map(|(k, ((data, groups), stem))| {
            let (chart, caption) = comparison_chart(data, &groups, k > 0)?;
            Some(Comparison {
                stem,
                chart,
                caption,
            })
        })
        .collect()
}

/// The file stems of the comparison figures of `datasets`, the first [`COMPARISON_STEM`], each
/// other one with its dataset's name (`compare-dev-accuracy-lfw-disjoint`), and its id too where
/// two names read alike.
fn comparison_stems(datasets: &[Option<&DataInfo>]) -> Vec<String> {
    let slug = |d: Option<&DataInfo>| match d {
        Some(d) => {
            let s: String = d
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            s.trim_matches(['-', '.']).to_string()
        }
        None => "unrecorded-data".into(),
    };
    let slugs: Vec<String> = datasets.iter().map(|d| slug(*d)).collect();
    datasets
        .iter()
        .zip(&slugs)
        .enumerate()
        .map(|(k, (d, s))| {
            if k == 0 {
                return COMPARISON_STEM.to_string();
            }
            let alike = slugs.iter().filter(|t| *t == s).count() > 1 || s.is_empty();
            match d {
                Some(d) if alike => format!("{COMPARISON_STEM}-{s}-{}", d.id).replace("--", "-"),
                _ => format!("{COMPARISON_STEM}-{s}"),
            }
        })
        .collect()
}

/// The comparison chart of the seed groups `groups`, all of dataset `data`, and its caption;
/// `follows_another`: another dataset's figure comes first, and a recorded dataset's is not
/// comparable with it.
fn comparison_chart(
    data: Option<&DataInfo>,
    groups: &[Vec<&RunCurves>],
    follows_another: bool,
) -> Option<(Chart, String)> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for group in groups {
        let series: Vec<Vec<SeriesPoint>> = group.iter().map(|c| by_epoch(&c.dev_acc)).collect();
        let refs: Vec<&[SeriesPoint]> = series.iter().map(Vec::as_slice).collect();
        let stats = band(&refs);
        let runs: Vec<&Run> = group.iter().map(|c| &c.run).collect();
        if group.len() >= 2 && !stats.is_empty() {
            candidates.push(Candidate {
                best: stats.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max),
                points: stats.iter().map(|s| (s.0, s.1)).collect(),
                band: Some(stats.iter().map(|s| (s.0, s.1 - s.2, s.1 + s.2)).collect()),
                averaging: None,
                runs,
            });
        } else {
            // Repeats with no epoch in common are drawn apart.
            for (run, s) in runs.into_iter().zip(&series) {
                let (points, averaging) = drawn_points(s);
                candidates.push(Candidate {
                    best: s.iter().map(|p| p.value).fold(f64::NEG_INFINITY, f64::max),
                    points,
                    band: None,
                    averaging: averaging.map(|a| format!("({a})")),
                    runs: vec![run],
                });
            }
        }
    }
    if candidates.is_empty() {
        return None;
    }
    let total = candidates.len();
    // Best first; equal ones in the order of their runs.
    candidates.sort_by(|a, b| b.best.total_cmp(&a.best));
    let left_out: Vec<Candidate> = candidates.split_off(total.min(MAX_COMPARED));
    let drawn: Vec<&Run> = candidates.iter().flat_map(|c| c.runs.clone()).collect();
    let distinguishing = distinguishing_params(&drawn);
    let lines: Vec<Line> = candidates
        .into_iter()
        .map(|c| {
            let mut label = curve_label(&c.runs, &distinguishing);
            if c.band.is_some() {
                label.push_str(&format!(
                    " (mean ± std, {})",
                    crate::lab::params::repeats(&c.runs)
                ));
            }
            if let Some(averaging) = c.averaging {
                label.push_str(&format!(" {averaging}"));
            }
            Line {
                label,
                points: c.points,
                band: c.band,
                secondary: false,
            }
        })
        .collect();
    let on = match data {
        Some(d) => match d.dev_images() {
            Some(n) => format!(
                "{} ({} people, {})",
                d.name,
                d.n_identities,
                crate::format::count(n.max(0) as u64, "dev image", "dev images")
            ),
            None => format!("{} ({} people)", d.name, d.n_identities),
        },
        None => "dataset not recorded".into(),
    };
    let what = match data {
        Some(_) => format!("Dev accuracy on {on}"),
        None => format!("Dev accuracy, {on}"),
    };
    let mut title = what.clone();
    if !left_out.is_empty() {
        title.push_str(&format!(
            ": the {} best of {total} curves (report --runs or --tag draws others)",
            lines.len()
        ));
    }
    let mut caption = what;
    if let Some(d) = data {
        if let (Some(n), Some(chance)) = (d.gallery, d.chance()) {
            caption.push_str(&format!(
                ", where guessing among the {n} identities scores {chance:.3}"
            ));
        }
    }
    // Runs with no dataset recorded may have trained on any: nothing is known of their dev set.
    if follows_another && data.is_some() {
        caption.push_str(", a dev set of its own: not comparable with the figure above");
    }
    if left_out.is_empty() {
        caption.push('.');
    } else {
        let mut hidden: Vec<i64> = left_out
            .iter()
            .flat_map(|c| c.runs.iter().map(|r| r.id.0))
            .collect();
        hidden.sort_unstable();
        let ids: Vec<String> = hidden.iter().map(i64::to_string).collect();
        caption.push_str(&format!(
            ": the {} of its {total} curves that reach the highest dev accuracy. Not drawn: {} {}; \
             `facenet-lab report --runs ID,ID,...` or `--tag TAG` draws the runs named.",
            lines.len(),
            if hidden.len() == 1 { "run" } else { "runs" },
            ids.join(", "),
        ));
    }
    Some((
        Chart {
            title,
            x_label: "epoch".into(),
            y_label: "dev accuracy".into(),
            y_range: Some(accuracy_y_range(&lines)),
            lines,
            marks: Marks::Curves,
            log_x: false,
            equal_scale: false,
            guides: data.and_then(dev_chance).into_iter().collect(),
        },
        caption,
    ))
}

/// The series with its epochs in the place of iterations, for drawing against epochs.
fn by_epoch(series: &[SeriesPoint]) -> Vec<SeriesPoint> {
    series
        .iter()
        .map(|p| SeriesPoint {
            iteration: p.epoch,
            ..*p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::run_charts::tests::{dataset, dev_run};

    /// Runs 51, 53 and 57 pretrain on lfw-disjoint (281 people, scored on its own dev split);
    /// their curves shared the committed lab's comparison figure with 30-person runs, and a
    /// synthetic run's (12 people) would too.
    #[test]
    fn runs_of_other_datasets_are_compared_in_figures_of_their_own() {
        let seed = dataset(1, "lfw-20-30", 30, 62);
        let disjoint = dataset(2, "lfw-disjoint", 281, 468);
        let synthetic = dataset(3, "synthetic:12:24:0", 12, 24);
        let curves = vec![
            dev_run(51, "resnet18", 0.05, 5, Some(&disjoint)),
            dev_run(52, "resnet18", 0.45, 5, Some(&seed)),
            dev_run(53, "resnet152", 0.03, 5, Some(&disjoint)),
            dev_run(54, "alexnet", 0.3, 5, Some(&seed)),
            dev_run(55, "resnet152", 0.24, 5, Some(&seed)),
            dev_run(56, "resnet18", 0.9, 5, Some(&synthetic)),
            dev_run(57, "resnet18", 0.2, 5, None),
        ];
        let figures = comparison_charts(&curves, 0.0);
        let stems: Vec<&str> = figures.iter().map(|f| f.stem.as_str()).collect();
        // The dataset most runs trained on first, under the plain name; the rest by id, an
        // unrecorded dataset last.
        assert_eq!(
            stems,
            [
                "compare-dev-accuracy",
                "compare-dev-accuracy-lfw-disjoint",
                "compare-dev-accuracy-synthetic-12-24-0",
                "compare-dev-accuracy-unrecorded-data"
            ]
        );
        let ids = |f: &Comparison| -> Vec<String> {
            let mut ids: Vec<String> = f
                .chart
                .lines
                .iter()
                .map(|l| l.label.split(':').next().unwrap_or("").to_string())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&figures[0]), ["#52", "#54", "#55"]);
        assert_eq!(ids(&figures[1]), ["#51", "#53"]);
        assert_eq!(ids(&figures[2]), ["#56 run-56"]);
        assert_eq!(ids(&figures[3]), ["#57 run-57"]);
        // Each names its dataset and draws its own chance: 1 in as many identities as its
        // gallery holds.
        let titles: Vec<&str> = figures.iter().map(|f| f.chart.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Dev accuracy on lfw-20-30 (30 people, 62 dev images)",
                "Dev accuracy on lfw-disjoint (281 people, 468 dev images)",
                "Dev accuracy on synthetic:12:24:0 (12 people, 24 dev images)",
                "Dev accuracy, dataset not recorded"
            ]
        );
        let chance: Vec<Vec<f64>> = figures
            .iter()
            .map(|f| f.chart.guides.iter().map(|g| g.y).collect())
            .collect();
        assert_eq!(
            chance,
            [
                vec![1.0 / 30.0],
                vec![1.0 / 281.0],
                vec![1.0 / 12.0],
                vec![]
            ]
        );
        assert_eq!(
            figures[1].chart.guides[0].label,
            "dev chance (1 in 281 identities)"
        );
        // The captions say which is not comparable with the first.
        assert!(
            figures[0].caption.starts_with(
                "Dev accuracy on lfw-20-30 (30 people, 62 dev images), where guessing among \
                 the 30 identities scores 0.033."
            ),
            "{}",
            figures[0].caption
        );
        assert!(
            figures[1]
                .caption
                .contains("a dev set of its own: not comparable with the figure above"),
            "{}",
            figures[1].caption
        );
        // Of runs with no dataset recorded, nothing is known of their dev set.
        assert_eq!(figures[3].caption, "Dev accuracy, dataset not recorded.");
        // One dataset: one figure, with nothing said of others.
        let one = comparison_charts(&[curves[1].clone(), curves[3].clone()], 0.0);
        assert_eq!(one.len(), 1);
        assert!(
            !one[0].caption.contains("not comparable"),
            "{}",
            one[0].caption
        );
        // Two datasets of one name: their ids tell the files apart.
        let again = dataset(4, "lfw-disjoint", 100, 80);
        let twins = [
            curves[1].clone(),
            curves[0].clone(),
            dev_run(60, "resnet18", 0.1, 5, Some(&again)),
        ];
        let stems: Vec<String> = comparison_charts(&twins, 0.0)
            .into_iter()
            .map(|f| f.stem)
            .collect();
        assert_eq!(
            stems,
            [
                "compare-dev-accuracy",
                "compare-dev-accuracy-lfw-disjoint-2",
                "compare-dev-accuracy-lfw-disjoint-4"
            ]
        );
    }

    /// The figures were ordered by run count alone: an unrecorded dataset with more runs took
    /// the plain name, and the others did not follow in the order of their ids.
    #[test]
    fn the_most_run_recorded_dataset_comes_first_and_the_rest_by_id() {
        let a = dataset(1, "a", 30, 62);
        let b = dataset(2, "b", 30, 62);
        let c = dataset(3, "c", 30, 62);
        // Dataset 3 has the most runs, then 1, then 2; four runs record none.
        let mut curves = vec![
            dev_run(1, "resnet18", 0.1, 5, Some(&a)),
            dev_run(2, "resnet34", 0.1, 5, Some(&a)),
            dev_run(3, "resnet18", 0.1, 5, Some(&b)),
        ];
        for (id, model) in [(4, "resnet18"), (5, "resnet34"), (6, "resnet50")] {
            curves.push(dev_run(id, model, 0.1, 5, Some(&c)));
        }
        let stems = |curves: &[RunCurves]| -> Vec<String> {
            comparison_charts(curves, 0.0)
                .into_iter()
                .map(|f| f.stem)
                .collect()
        };
        assert_eq!(
            stems(&curves),
            [
                "compare-dev-accuracy",
                "compare-dev-accuracy-a",
                "compare-dev-accuracy-b"
            ]
        );
        let first = &comparison_charts(&curves, 0.0)[0];
        assert!(
            first.chart.title.starts_with("Dev accuracy on c "),
            "{}",
            first.chart.title
        );
        // More runs without a recorded dataset than any with one: still last.
        for (id, model) in [
            (7, "resnet18"),
            (8, "resnet34"),
            (9, "resnet50"),
            (10, "alexnet"),
        ] {
            curves.push(dev_run(id, model, 0.1, 5, None));
        }
        assert_eq!(
            stems(&curves),
            [
                "compare-dev-accuracy",
                "compare-dev-accuracy-a",
                "compare-dev-accuracy-b",
                "compare-dev-accuracy-unrecorded-data"
            ]
        );
        // A tie goes to the lower id.
        let tied = [curves[0].clone(), curves[2].clone(), curves[3].clone()];
        let figures = comparison_charts(&tied[1..], 0.0);
        assert!(figures[0].chart.title.starts_with("Dev accuracy on b "));
        let figures = comparison_charts(&[tied[2].clone(), tied[0].clone()], 0.0);
        assert!(figures[0].chart.title.starts_with("Dev accuracy on a "));
        // Only runs without one: they take the plain name.
        assert_eq!(stems(&curves[6..]), ["compare-dev-accuracy"]);
    }

    /// The committed lab's figure drew 47 curves in 10 colours, told apart by dashes alone.
    #[test]
    fn a_comparison_draws_the_best_curves_in_colours_of_their_own_and_names_the_rest() {
        let data = dataset(1, "lfw-20-30", 30, 62);
        // 14 runs, each its own configuration (lr), run k reaching 0.05 k.
        let curves: Vec<RunCurves> = (1..=14)
            .map(|k| {
                let mut c = dev_run(k, "resnet18", 0.05 * k as f64, 5, Some(&data));
                c.run.hyper.lr = 1e-4 * k as f64;
                c
            })
            .collect();
        let figures = comparison_charts(&curves, 0.0);
        assert_eq!(figures.len(), 1);
        let f = &figures[0];
        assert_eq!(f.chart.lines.len(), MAX_COMPARED);
        // Best first: runs 14 down to 5.
        let first: Vec<&str> = f
            .chart
            .lines
            .iter()
            .map(|l| l.label.split(':').next().unwrap_or(""))
            .collect();
        let want: Vec<String> = (5..=14).rev().map(|k| format!("#{k}")).collect();
        assert_eq!(first, want);
        assert!(
            f.chart
                .title
                .ends_with(": the 10 best of 14 curves (report --runs or --tag draws others)"),
            "{}",
            f.chart.title
        );
        assert!(
            f.caption
                .contains("Not drawn: runs 1, 2, 3, 4; `facenet-lab report --runs"),
            "{}",
            f.caption
        );
        // Deterministic: the same runs give the same figure.
        let again = comparison_charts(&curves, 0.0);
        assert_eq!(again[0].chart, f.chart);
        // As few as fit are all drawn, and nothing is said of others.
        let few = comparison_charts(&curves[..MAX_COMPARED], 0.0);
        assert_eq!(few[0].chart.lines.len(), MAX_COMPARED);
        assert!(
            !few[0].chart.title.contains("best"),
            "{}",
            few[0].chart.title
        );
        assert!(!few[0].caption.contains("Not drawn"), "{}", few[0].caption);
    }

    /// `--runs 1,2,3` labelled `dim 32 / dim 64 / dim 128`, but with several differences it
    /// labelled none: an AlexNet run at 64 px read as comparable to ResNet runs at 32 px.
    #[test]
    fn every_setting_that_differs_among_the_drawn_curves_is_named() {
        let data = dataset(1, "lfw-20-30", 30, 62);
        let mut alex = dev_run(8, "alexnet", 0.3, 5, Some(&data));
        alex.run.hyper.image_size = 64;
        alex.run.hyper.mining = "all".into();
        let mut r18 = dev_run(2, "resnet18", 0.5, 5, Some(&data));
        r18.run.hyper.image_size = 32;
        r18.run.hyper.zero_init_residual = true;
        let mut r18b = r18.clone();
        r18b.run.id = crate::lab::RunId(3);
        r18b.run.hyper.embedding_dim = 64;
        r18b.dev_acc.iter_mut().for_each(|p| p.value *= 0.9);
        let figures = comparison_charts(&[alex, r18, r18b], 0.0);
        let labels: Vec<&str> = figures[0]
            .chart
            .lines
            .iter()
            .map(|l| l.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "#2: resnet18 · zero-init · 32px · dim 128 · semihard triplets",
                "#3: resnet18 · zero-init · 32px · dim 64 · semihard triplets",
                "#8: alexnet · 64px · dim 128 · all triplets",
            ]
        );
    }
}
