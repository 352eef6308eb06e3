//! Reports: per-run figures, a comparison figure, and the results table (in `results.md`, and
//! optionally spliced into a README), all regenerated from the lab. A run's files in the report
//! folder (its figures, its ROCs) go once the run is deleted from the lab (`lab delete`).
//!
//! Everything is a function of the lab's contents: no timestamps, stable ordering and stable
//! file names (`run-12-accuracy.png`), so an unchanged lab gives byte-identical files and a
//! clean `git diff`. The one exception is a run still marked running: whether its heartbeat is
//! older than [`crate::lab::STALE_HEARTBEAT_SECS`] decides whether it reads as running or
//! crashed, and which runs are grouped as repeats.

mod curves;
mod figure;
mod font;
mod readme;
mod repeats;
mod results;
mod select;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use crate::lab::{Lab, Run, RunId, SeriesPoint};

pub use curves::{band, curve_label, distinguishing_params, group_by_config, DataInfo, RunCurves};
pub use figure::{render, Chart, FigureFormat, Guide, Line, Marks, HEIGHT, WIDTH};

pub use crate::files::write_atomic;
pub use readme::{splice, END as README_END, START as README_START};
pub use results::{results_markdown, ComparisonFigure, RunFigures};
pub use select::select_runs;

/// The name of the results table inside the report folder.
pub const RESULTS_FILE: &str = "results.md";
/// The comparison figure's stem: of the recorded dataset most runs trained on; another dataset's adds
/// its name (`compare-dev-accuracy-lfw-disjoint`).
pub const COMPARISON_STEM: &str = "compare-dev-accuracy";
/// The most curves a comparison figure draws: one colour each, all solid. Past it, the curves
/// of the best dev accuracy, and a note of how to draw the others.
pub const MAX_COMPARED: usize = figure::DISTINCT_COLOURS;

/// A curve with more points than this is drawn as means over buckets (see [`thinned`]): 300
/// epochs of per-iteration losses would otherwise make a noisy band and a multi-megabyte SVG.
const MAX_DRAWN_POINTS: usize = 1000;
/// Means per epoch stand in for a long curve only when there are at least this many of them:
/// fewer would hide its shape (3 epochs of 400 iterations).
const MIN_EPOCH_MEANS: usize = 20;

#[derive(Clone, Debug)]
pub struct ReportOptions {
    pub out_dir: PathBuf,
    pub format: FigureFormat,
    /// A README whose results section is replaced.
    pub readme: Option<PathBuf>,
}

/// A file the report wrote, and whether its bytes changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub path: PathBuf,
    pub changed: bool,
}

/// Draws the figures and tables for `runs` and writes them. Bad README markers are found before
/// anything is drawn or written.
pub fn generate(lab: &Lab, runs: &[Run], opts: &ReportOptions) -> Result<Vec<Written>> {
    let readme = match &opts.readme {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "reading README '{}' (to start one, write a file with the two lines `{}` \
                     and `{}` where the results go)",
                    path.display(),
                    readme::START,
                    readme::END
                )
            })?;
            readme::splice(&text, "", &format!("'{}'", path.display()))?;
            Some((path.as_path(), text))
        }
        None => None,
    };
    write_report(lab, runs, opts, readme)
}

/// [`generate`] with the README (`opts.readme`) as it was read: its text is written into only
/// if the file still holds it.
fn write_report(
    lab: &Lab,
    runs: &[Run],
    opts: &ReportOptions,
    readme: Option<(&Path, String)>,
) -> Result<Vec<Written>> {
    let curves = RunCurves::load_all(lab, runs)?;
    let ext = opts.format.extension();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut figures = Vec::with_capacity(curves.len());
    for c in &curves {
        let mut f = RunFigures::default();
        if let Some(chart) = accuracy_chart(c) {
            let name = format!("run-{}-accuracy.{ext}", c.run.id);
            files.push((opts.out_dir.join(&name), render(&chart, opts.format)?));
            f.accuracy = Some(name);
        }
        if let Some(chart) = loss_chart(c) {
            let name = format!("run-{}-loss.{ext}", c.run.id);
            files.push((opts.out_dir.join(&name), render(&chart, opts.format)?));
            f.loss = Some(name);
        }
        figures.push(f);
    }
    let now = crate::lab::now();
    let mut comparisons = Vec::new();
    for c in comparison_charts(&curves, now) {
        let file = format!("{}.{ext}", c.stem);
        files.push((opts.out_dir.join(&file), render(&c.chart, opts.format)?));
        comparisons.push(ComparisonFigure {
            file,
            alt: c.chart.title.clone(),
            caption: c.caption,
        });
    }

    let rows: Vec<_> = curves.iter().zip(&figures).collect();
    let source = lab
        .path()
        .file_name()
        .map_or_else(|| "the lab".into(), |n| n.to_string_lossy().into_owned());
    let results = format!(
        "# Results\n\nGenerated by `facenet-lab report` from `{source}`; edit the lab, not this file.\n\n{}",
        results_markdown(&rows, &comparisons, "", now)
    );
    files.push((opts.out_dir.join(RESULTS_FILE), results.into_bytes()));

    let readme = match readme {
        Some((path, text)) => {
            let readme_dir = path.parent().unwrap_or(Path::new(""));
            let prefix = relative_link(readme_dir, &opts.out_dir)?;
            let block = results_markdown(&rows, &comparisons, &prefix, now);
            let spliced = readme::splice(&text, &block, &format!("'{}'", path.display()))?;
            Some((path, text, spliced))
        }
        None => None,
    };

    std::fs::create_dir_all(&opts.out_dir).with_context(|| {
        format!(
            "creating report folder '{}': pass --out with a writable folder",
            opts.out_dir.display()
        )
    })?;
    let mut written = files
        .into_iter()
        .map(|(path, bytes)| {
            let changed = write_atomic(&path, &bytes)?;
            Ok(Written { path, changed })
        })
        .collect::<Result<Vec<_>>>()?;
    remove_stale_comparisons(&opts.out_dir, &written)?;
    remove_deleted_runs_files(&opts.out_dir, &lab.deleted_run_ids()?)?;
    // The README last, and only as it was read: an edit made while the report was drawn and
    // written is not written over.
    if let Some((path, text, spliced)) = readme {
        if std::fs::read_to_string(path).ok() != Some(text) {
            anyhow::bail!(
                "README '{}' changed while the report was made; the figures and results.md are \
                 written, the README is not: run the report again",
                path.display()
            );
        }
        let changed = write_atomic(path, spliced.as_bytes())?;
        written.push(Written {
            path: path.to_path_buf(),
            changed,
        });
    }
    Ok(written)
}

/// Removes the comparison figures (`compare-dev-accuracy*.png` or `.svg`) directly in `out_dir`
/// that are not among `written`: an earlier report's figure of a dataset this one does not draw,
/// or draws under another name, would otherwise read as current. Subfolders (the reports of
/// `--runs` or `--tag`) are left alone.
fn remove_stale_comparisons(out_dir: &Path, written: &[Written]) -> Result<()> {
    let listing = || format!("listing report folder '{}'", out_dir.display());
    for entry in std::fs::read_dir(out_dir).with_context(listing)? {
        let entry = entry.with_context(listing)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let figure =
            name.starts_with(COMPARISON_STEM) && (name.ends_with(".png") || name.ends_with(".svg"));
        if !figure || !entry.file_type().with_context(listing)?.is_file() {
            continue;
        }
        let path = entry.path();
        if written.iter().all(|w| w.path != path) {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing stale figure '{}'", path.display()))?;
            crate::say!(
                "removed {}: an earlier report's figure this one does not draw",
                path.display()
            );
        }
    }
    Ok(())
}

/// The run a per-run file of a report folder belongs to, by its name: `run-N-accuracy` and
/// `run-N-loss` (`report`), `embeddings-run-N` and `embeddings-run-N-iter-K` (`report
/// --embeddings`), as `.png` or `.svg`, and `roc-run-N-eval-K` (`eval`), as `.png`, `.svg` or
/// `.csv`. None for any other name.
fn per_run_file(name: &str) -> Option<RunId> {
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (stem, ext) = name.rsplit_once('.')?;
    let figure = matches!(ext, "png" | "svg");
    let id = if let Some(rest) = stem.strip_prefix("run-") {
        let (id, what) = rest.split_once('-')?;
        (figure && matches!(what, "accuracy" | "loss")).then_some(id)?
    } else if let Some(rest) = stem.strip_prefix("embeddings-run-") {
        let id = match rest.split_once("-iter-") {
            Some((id, iteration)) => number(iteration).and(Some(id))?,
            None => rest,
        };
        figure.then_some(id)?
    } else if let Some(rest) = stem.strip_prefix("roc-run-") {
        let (id, evaluation) = rest.split_once("-eval-")?;
        number(evaluation)?;
        (figure || ext == "csv").then_some(id)?
    } else {
        return None;
    };
    number(id).map(RunId)
}

/// Removes the per-run files ([`per_run_file`]) directly in `out_dir` of runs deleted from the
/// lab (`deleted`, [`Lab::deleted_run_ids`]): a figure of a run that is gone would read as one
/// of the lab's. A run only left out of this report (`--runs`, `--tag`) keeps its files, as does
/// any file named otherwise; subfolders are left alone.
fn remove_deleted_runs_files(out_dir: &Path, deleted: &BTreeSet<RunId>) -> Result<()> {
    if deleted.is_empty() {
        return Ok(());
    }
    let listing = || format!("listing report folder '{}'", out_dir.display());
    for entry in std::fs::read_dir(out_dir).with_context(listing)? {
        let entry = entry.with_context(listing)?;
        let name = entry.file_name();
        let Some(run) = name.to_str().and_then(per_run_file) else {
            continue;
        };
        if !deleted.contains(&run) || !entry.file_type().with_context(listing)?.is_file() {
            continue;
        }
        let path = entry.path();
        std::fs::remove_file(&path)
            .with_context(|| format!("removing '{}' of deleted run {run}", path.display()))?;
        crate::say!(
            "removed {}: run {run} was deleted from the lab",
            path.display()
        );
    }
    Ok(())
}

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

/// Renders `chart` to `dir/name.EXT` (atomically, only when the bytes change).
pub fn write_chart(dir: &Path, name: &str, chart: &Chart, format: FigureFormat) -> Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating '{}'", dir.display()))?;
    let path = dir.join(format!("{name}.{}", format.extension()));
    let changed = write_atomic(&path, &render(chart, format)?)?;
    Ok(Written { path, changed })
}

/// A run's train and dev accuracy against epochs ([`in_epochs`]), with the mark of its best checkpoint (the
/// weights its test and LFW numbers measure) on the dev curve, and dev accuracy's chance.
fn accuracy_chart(c: &RunCurves) -> Option<Chart> {
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
fn dev_chance(data: &DataInfo) -> Option<Guide> {
    Some(Guide {
        label: format!(
            "dev chance (1 in {} identities)",
            data.gallery.filter(|&n| n > 0)?
        ),
        y: data.chance()?,
    })
}

fn loss_chart(c: &RunCurves) -> Option<Chart> {
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

/// A comparison figure: its file stem, the chart, and the markdown that says what it shows.
struct Comparison {
    stem: String,
    chart: Chart,
    caption: String,
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
fn comparison_charts(curves: &[RunCurves], now: f64) -> Vec<Comparison> {
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

/// The y axis of an accuracy chart: from 0 to the tenth at or above its highest value (band
/// included) with 3 % of room over it, so that curves between 0 and 0.13 fill the plot up to
/// 0.2 instead of its bottom eighth; never past 1 but for that room, so that a curve at 1 is
/// not drawn on the frame.
fn accuracy_y_range(lines: &[Line]) -> (f64, f64) {
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
fn drawn_points(series: &[SeriesPoint]) -> (Vec<(f64, f64)>, Option<String>) {
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

/// The markdown link prefix that leads from files in `from_dir` to files in `to_dir`:
/// `reports/` for a README beside the report folder, `""` for the same folder.
fn relative_link(from_dir: &Path, to_dir: &Path) -> Result<String> {
    let from = absolute(from_dir)?;
    let to = absolute(to_dir)?;
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = Vec::new();
    parts.extend(std::iter::repeat_n(
        "..".to_string(),
        from.components().count() - common,
    ));
    parts.extend(
        to.components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Ok(parts.iter().map(|p| format!("{p}/")).collect())
}

/// An absolute path with `.` and `..` resolved lexically (the folder may not exist yet).
fn absolute(path: &Path) -> Result<PathBuf> {
    let joined = std::path::absolute(if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    })
    .with_context(|| format!("resolving '{}'", path.display()))?;
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn links_are_relative_to_the_readme() -> Result<()> {
        assert_eq!(
            relative_link(Path::new(""), Path::new("reports"))?,
            "reports/"
        );
        assert_eq!(
            relative_link(Path::new("."), Path::new("./reports/"))?,
            "reports/"
        );
        assert_eq!(
            relative_link(Path::new("reports"), Path::new("reports"))?,
            ""
        );
        assert_eq!(
            relative_link(Path::new("docs"), Path::new("reports/v1"))?,
            "../reports/v1/"
        );
        assert_eq!(
            relative_link(Path::new("/a/b"), Path::new("/a/c/../d"))?,
            "../d/"
        );
        Ok(())
    }

    /// A README edited between its reading and the report's end is left as the person left
    /// it: the figures and results.md are written, the README is not, and the error says so.
    #[test]
    fn a_readme_edited_while_the_report_is_made_is_not_written_over() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let id = lab.create_run(&crate::lab::fixtures::new_run("r"))?;
        let runs = vec![lab.run(id)?.context("the run just made")?];
        let path = dir.path().join("README.md");
        let as_read = format!("# Lab\n\n{}\n{}\n", readme::START, readme::END);
        let edited = format!("{as_read}A line written meanwhile.\n");
        std::fs::write(&path, &edited)?;
        let opts = ReportOptions {
            out_dir: dir.path().join("reports"),
            format: FigureFormat::Svg,
            readme: Some(path.clone()),
        };
        let err = write_report(&lab, &runs, &opts, Some((&path, as_read.clone())))
            .expect_err("the README changed");
        assert!(
            format!("{err:#}").contains("changed while the report was made"),
            "{err:#}"
        );
        assert_eq!(std::fs::read_to_string(&path)?, edited);
        assert!(opts.out_dir.join(RESULTS_FILE).exists());
        // Unchanged since it was read, it takes the results.
        std::fs::write(&path, &as_read)?;
        write_report(&lab, &runs, &opts, Some((&path, as_read.clone())))?;
        let results = std::fs::read_to_string(&path)?;
        assert!(results.contains("| 1 r | resnet18 |"), "{results}");
        Ok(())
    }

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
    fn dev_run(id: i64, model: &str, top: f64, epochs: i64, data: Option<&DataInfo>) -> RunCurves {
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
    fn dataset(id: i64, name: &str, people: i64, dev: i64) -> DataInfo {
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
