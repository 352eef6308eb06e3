//! The results table: one markdown row per run, the columns of the seed repository's table and
//! what is needed to trust a number (device, wall time, figures).

use std::collections::BTreeMap;

use crate::format;
use crate::lab::{params, Run};

use super::curves::{self, DataInfo, RunCurves};

/// The figure files drawn for one run, as file names inside the report folder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFigures {
    pub accuracy: Option<String>,
    pub loss: Option<String>,
}

/// A comparison figure under the table: its file name inside the report folder, its alt text,
/// and the caption over it (what it shows, and which runs it leaves out).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComparisonFigure {
    pub file: String,
    pub alt: String,
    pub caption: String,
}

/// The settings that name a recipe, after the first column in this table and in the table of
/// repeated experiments ([`recipe_cells`]).
const RECIPE_HEADERS: [&str; 7] = [
    "architecture",
    "input",
    "batch",
    "dim",
    "mining",
    "sampler",
    "lr",
];

/// The settings (by [`params::params`] name) the table's columns show: the recipe's
/// ([`recipe_cells`]), the epochs, and the seed and the dataset in columns of their own where
/// those differ; and where checkpoints were written, which changes no number of it. Any other
/// setting the runs differ in is given a column of its own ([`RecipeColumns`]).
const SHOWN: [&str; 22] = [
    "model",
    "zero-init residual",
    "init",
    "fresh embedding",
    "dropout",
    "tf32",
    "image size",
    "crop",
    "imagenet norm",
    "batch",
    "dim",
    "mining",
    "sampler",
    "pk k",
    "lr",
    "lr schedule",
    "warmup",
    "weight decay",
    "epochs",
    "ckpt every",
    "seed",
    "dataset",
];

/// The recipe column each setting outside [`SHOWN`] follows when it has a column: the input's
/// augmentation after the input, the embedding's normalisation after its dimension, the
/// triplets' margin after their mining; any other after the learning rate.
const OTHER_AFTER: [(&str, &str); 3] = [
    ("augment", "input"),
    ("normalize", "dim"),
    ("margin", "mining"),
];

/// A recipe column: one of [`RECIPE_HEADERS`], by index, or a setting outside [`SHOWN`], by
/// [`params::params`] name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecipeColumn {
    Recipe(usize),
    Other(&'static str),
}

/// The recipe columns of a table: [`RECIPE_HEADERS`] and, for each setting those do not show
/// that the table's runs differ in (`--normalize`, `--augment`, `--margin`, `--eval-every`), a
/// column of its own after the column it belongs with ([`OTHER_AFTER`]). Runs alike but for
/// such a setting would otherwise read as one run twice; a setting all of them share takes no
/// room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RecipeColumns {
    columns: Vec<RecipeColumn>,
}

impl RecipeColumns {
    /// The recipe columns of a table of `runs`.
    pub(super) fn of(runs: &[&Run]) -> RecipeColumns {
        let mut columns: Vec<RecipeColumn> = (0..RECIPE_HEADERS.len())
            .map(RecipeColumn::Recipe)
            .collect();
        let others = params::differing(runs)
            .into_iter()
            .filter(|name| !SHOWN.contains(name));
        for name in others {
            let home = OTHER_AFTER
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("lr", |(_, home)| home);
            let at = Self::after(&columns, home);
            columns.insert(at, RecipeColumn::Other(name));
        }
        RecipeColumns { columns }
    }

    /// Where a column to follow the recipe column `home` goes among `columns`: after it and
    /// the settings' columns that already follow it; at the end for an unknown `home`.
    fn after(columns: &[RecipeColumn], home: &str) -> usize {
        let Some(mut at) = columns
            .iter()
            .position(|c| matches!(c, RecipeColumn::Recipe(i) if RECIPE_HEADERS[*i] == home))
        else {
            return columns.len();
        };
        at += 1;
        while matches!(columns.get(at), Some(RecipeColumn::Other(_))) {
            at += 1;
        }
        at
    }

    /// Where, counting from the first recipe column, a column of the table that follows the
    /// recipe column `home` goes (the data column after the input, the seed after the
    /// learning rate): after it and the settings' columns that follow it.
    pub(super) fn index_after(&self, home: &str) -> usize {
        Self::after(&self.columns, home)
    }

    /// The columns' headers: a setting's by its name (`normalize`).
    pub(super) fn headers(&self) -> Vec<&'static str> {
        self.columns
            .iter()
            .map(|c| match c {
                RecipeColumn::Recipe(i) => RECIPE_HEADERS[*i],
                RecipeColumn::Other(name) => *name,
            })
            .collect()
    }

    /// A run's cells under [`RecipeColumns::headers`]: a setting as `runs` shows it, a switch
    /// as `yes` or `no`.
    pub(super) fn cells(&self, r: &Run) -> Vec<String> {
        let recipe = recipe_cells(r);
        let settings = params::params(r);
        self.columns
            .iter()
            .map(|c| match c {
                RecipeColumn::Recipe(i) => recipe[*i].clone(),
                RecipeColumn::Other(name) => {
                    let value = settings
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("-", |(_, v)| v.as_str());
                    match value {
                        "true" => "yes".to_string(),
                        "false" => "no".to_string(),
                        v => plain(v),
                    }
                }
            })
            .collect()
    }
}

/// The columns after the recipe's.
const RESULT_HEADERS: [&str; 9] = [
    "epochs",
    "best dev acc (epoch)",
    "final train acc",
    "test acc (best ckpt)",
    "LFW pairs acc (best ckpt)",
    "median images/s",
    "device",
    "wall time",
    "figures",
];

/// The recipe column the data column follows, when there is one.
pub(super) const DATA_AFTER: &str = "input";

/// The recipe column the seed column follows, when there is one (as `runs` puts it).
const SEED_AFTER: &str = "lr";

/// A run's dataset as the data column shows it: its label, with `#id` where another dataset of
/// the table has the same label (one folder filtered or split two ways).
pub(super) fn data_cell(c: &RunCurves, datasets: &BTreeMap<i64, &DataInfo>) -> String {
    match &c.data {
        Some(d) => {
            let label = d.label();
            if datasets.values().filter(|o| o.label() == label).count() > 1 {
                format!("#{} {}", d.id, plain(&label))
            } else {
                plain(&label)
            }
        }
        None => "-".into(),
    }
}

/// What the evaluation and speed columns hold, printed under the table. LFW's ± is
/// `verification_accuracy_std`, the population std of the 10 folds' accuracies
/// ([`crate::eval::verification::kfold_accuracy`]).
const NOTE: &str = "Test and LFW columns: the newest evaluation of the run's best checkpoint \
(the one `eval` picks by default) without `--flip`, LFW over all 6,000 pairs of View 2's \
official pairs.txt (none left out by `--exclude-train-identities`), as mean ± standard deviation \
of the accuracies of its 10 folds (the population std, dividing by 10: the spread of one fold's \
accuracy, not a standard error of the mean); images/s: the median over the run's training steps; wall time: start to finish, less any pause between an interruption and its resume.";

/// Under the note, where an LFW cell is marked.
const GRAY_NOTE: &str = "LFW (gray): its images were all grayscale JPEGs, a grayscale copy of \
LFW; the official archive's are in colour, and View 2 accuracies published for it are measured \
on those.";

/// The table, a note on its columns and the comparison figures beneath it, in markdown. Links
/// are `link_prefix` + file name: `""` beside the figures, `"reports/"` from a README one folder
/// up. `now` tells a run that is training from one that crashed.
pub fn results_markdown(
    rows: &[(&RunCurves, &RunFigures)],
    comparisons: &[ComparisonFigure],
    link_prefix: &str,
    now: f64,
) -> String {
    // Runs trained on other images or splits are not comparable: where the table holds more
    // than one dataset, a column says which each run had; where it holds one, a line does.
    let datasets: BTreeMap<i64, &DataInfo> = rows
        .iter()
        .filter_map(|(c, _)| c.data.as_ref().map(|d| (d.id, d)))
        .collect();
    let data_column = datasets.len() > 1;
    // Runs that differ only in their seed would read as one run twice: where the table holds
    // more than one seed, a column says which each run had.
    let seeds: std::collections::BTreeSet<i64> =
        rows.iter().map(|(c, _)| c.run.hyper.seed).collect();
    let seed_column = seeds.len() > 1;
    // Runs that differ in a setting the recipe columns do not show (`--normalize`) get a
    // column of it.
    let runs: Vec<&Run> = rows.iter().map(|(c, _)| &c.run).collect();
    let recipe = RecipeColumns::of(&runs);
    // Counted from the run column; the seed goes in first, being further right, so that the
    // data column's place still holds.
    let seed_at = 1 + recipe.index_after(SEED_AFTER);
    let data_at = 1 + recipe.index_after(DATA_AFTER);
    let mut headers = [&["run"][..], &recipe.headers()[..], &RESULT_HEADERS].concat();
    if seed_column {
        headers.insert(seed_at, "seed");
    }
    if data_column {
        headers.insert(data_at, "data");
    }
    let mut out = String::new();
    out.push_str(&format!("| {} |\n", headers.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
    for (curves, figures) in rows {
        let mut cells = row(curves, figures, &recipe, link_prefix, now);
        if seed_column {
            cells.insert(seed_at, curves.run.hyper.seed.to_string());
        }
        if data_column {
            cells.insert(data_at, data_cell(curves, &datasets));
        }
        let cells: Vec<String> = cells.iter().map(|c| escape_cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push_str(&format!("\n{NOTE}\n"));
    if let Some(line) = data_line(rows, &datasets) {
        out.push_str(&format!("\n{line}\n"));
    }
    if rows
        .iter()
        .any(|(c, _)| c.run.lfw_acc.is_some() && c.run.lfw_grayscale)
    {
        out.push_str(&format!("\n{GRAY_NOTE}\n"));
    }
    let curves: Vec<&RunCurves> = rows.iter().map(|(c, _)| *c).collect();
    if let Some(table) = super::repeats::repeats_markdown(&curves, &datasets, data_column, now) {
        out.push_str(&format!("\n{table}"));
    }
    for f in comparisons {
        out.push_str(&format!(
            "\n{}\n\n![{}]({link_prefix}{})\n",
            escape_caption(&f.caption),
            plain(&f.alt.replace(['[', ']'], "")),
            f.file
        ));
    }
    out
}

/// Where the table has no data column (one dataset), the line that names it: `All runs:
/// lfw-20-30 (30 people, 713 images), split into 581 train, 62 dev and 70 test images.`, with
/// the runs that record none where some do not; `None` where the table has a data column or no
/// run records a dataset.
fn data_line(
    rows: &[(&RunCurves, &RunFigures)],
    datasets: &BTreeMap<i64, &DataInfo>,
) -> Option<String> {
    let [d] = datasets.values().collect::<Vec<_>>()[..] else {
        return None;
    };
    let mut line = plain(&d.label());
    if let Some(splits) = d.split_sizes() {
        line.push_str(&format!(", split into {splits}"));
    }
    let without: Vec<String> = rows
        .iter()
        .filter(|(c, _)| c.data.is_none())
        .map(|(c, _)| c.run.id.to_string())
        .collect();
    Some(match without.as_slice() {
        [] => format!("All runs: {line}."),
        [one] => format!("All runs but run {one}, which records no dataset: {line}."),
        many => format!(
            "All runs but runs {}, which record no dataset: {line}.",
            many.join(", ")
        ),
    })
}

/// A caption as written under the table: `plain` but for its code spans (`` `--tag TAG` ``),
/// which stay code.
fn escape_caption(caption: &str) -> String {
    caption
        .split('`')
        .enumerate()
        .map(|(k, part)| {
            if k % 2 == 1 {
                format!("`{part}`")
            } else {
                plain(part)
            }
        })
        .collect()
}

fn row(
    c: &RunCurves,
    figures: &RunFigures,
    recipe: &RecipeColumns,
    link_prefix: &str,
    now: f64,
) -> Vec<String> {
    let r = &c.run;
    let best = match (r.best_dev_acc, r.best_dev_epoch) {
        (Some(acc), Some(epoch)) => format!("{acc:.3} ({epoch})"),
        (Some(acc), None) => format!("{acc:.3}"),
        _ => "-".into(),
    };
    let mut links = Vec::new();
    if let Some(f) = &figures.accuracy {
        links.push(format!("[accuracy]({link_prefix}{f})"));
    }
    if let Some(f) = &figures.loss {
        links.push(format!("[loss]({link_prefix}{f})"));
    }
    let mut cells = vec![format!("{} {}", r.id, plain(&r.name))];
    cells.extend(recipe.cells(r));
    cells.extend([
        epochs(r, now),
        best,
        format::opt(r.final_train_acc, 3),
        format::opt(r.test_acc, 3),
        r.lfw_acc.zip(r.lfw_acc_std).map_or("-".into(), |(m, s)| {
            let gray = if r.lfw_grayscale { " (gray)" } else { "" };
            format!("{m:.3} ± {s:.3}{gray}")
        }),
        format::opt(c.images_per_sec, 1),
        // A run resumed on another device: each, in order (its speed is over all of them).
        c.devices.join(" → "),
        r.recorded_duration().map_or("-".into(), format::duration),
        if links.is_empty() {
            "-".into()
        } else {
            links.join(" ")
        },
    ]);
    cells
}

/// A run's cells under [`RECIPE_HEADERS`].
fn recipe_cells(r: &Run) -> Vec<String> {
    let h = &r.hyper;
    vec![
        architecture(r),
        input(h),
        h.batch_size.to_string(),
        h.embedding_dim.to_string(),
        h.mining.clone(),
        sampler(h),
        learning_rate(h),
    ]
}

/// `random`, or `pk (K=4)` for P×K batches of K images per identity.
fn sampler(h: &crate::lab::Hyperparams) -> String {
    match (h.sampler.as_str(), h.pk_k) {
        ("pk", Some(k)) => format!("pk (K={k})"),
        (s, _) => s.to_string(),
    }
}

/// `resnet152`, `resnet152, zero-init residual` when its blocks started as the identity,
/// `resnet18, from resnet18-f37072fd.pth` (or `from run 51's final.safetensors f33f93d18afb`)
/// when its weights started from a file, with ` (fresh embedding)` after it for
/// `--fresh-embedding`, or `alexnet, dropout 0` when AlexNet's dropout is not torchvision's
/// 0.5; `, TF32` where the matrix products ran in TF32.
fn architecture(r: &crate::lab::Run) -> String {
    let h = &r.hyper;
    let mut s = h.model.clone();
    if h.zero_init_residual {
        s.push_str(", zero-init residual");
    }
    if h.init.is_some() {
        s.push_str(&format!(", from {}", plain(&crate::lab::params::init(r))));
        if h.fresh_embedding {
            s.push_str(" (fresh embedding)");
        }
    }
    if let Some(p) = h
        .dropout
        .filter(|&p| p != f64::from(crate::model::alexnet::DROPOUT))
    {
        s.push_str(&format!(", dropout {p}"));
    }
    if h.tf32 {
        s.push_str(", TF32");
    }
    s
}

/// `224px`, or `64px, crop 0.5` when only the centre of each image was kept; `, ImageNet
/// norm` where the network normalised its input as torchvision's ImageNet weights expect.
fn input(h: &crate::lab::Hyperparams) -> String {
    let mut s = format!("{}px", h.image_size);
    if h.crop < 1.0 {
        s.push_str(&format!(", crop {}", h.crop));
    }
    if h.imagenet_norm {
        s.push_str(", ImageNet norm");
    }
    s
}

/// `0.0001`, or `0.0005 cosine, 2 warm-up` for a scheduled rate ([`curves::learning_rate`]),
/// with `wd 0.0005` when set; a rate below 1e-5 in powers of ten (`1e-12`, not twelve places).
fn learning_rate(h: &crate::lab::Hyperparams) -> String {
    let mut s = curves::learning_rate(h);
    if h.weight_decay != 0.0 {
        s.push_str(&format!(", wd {}", h.weight_decay));
    }
    s
}

/// `100`, `43/100 (stopped early)` for a run its --patience stopped, or `37/100 (crashed)`
/// (epochs done) for a run that did not complete: a run still marked running
/// whose heartbeat stopped at `now` reads as crashed, as `runs` and the dashboard show it.
fn epochs(r: &Run, now: f64) -> String {
    r.epochs_label(r.effective_status(now))
}

/// A `|` or a line break inside a cell would break the table.
pub(super) fn escape_cell(cell: &str) -> String {
    cell.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text a person wrote (a run's name, a file's or folder's), shown as written: markdown's
/// marks (`*bold*`, `[link]`, `&amp;`, `<!-- -->`, which would also hide the README's markers)
/// are escaped; an `_` inside a word (`resnet18_b16`) marks nothing and stays as it is, so the
/// name reads and greps the same in results.md.
fn plain(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let letter = |j: Option<usize>| {
        j.and_then(|j| chars.get(j))
            .is_some_and(|c| c.is_alphanumeric())
    };
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let marks = match c {
            '_' => !(letter(i.checked_sub(1)) && letter(Some(i + 1))),
            '\\' | '*' | '`' | '[' | ']' | '<' | '>' | '#' | '~' | '&' => true,
            _ => false,
        };
        if marks {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{run, NOW};
    use crate::lab::RunStatus;

    /// The settings named here are those [`params::params`] names: one renamed there would
    /// otherwise get a column of its own beside the column that shows it.
    #[test]
    fn the_settings_named_are_the_runs_settings() {
        let names: Vec<&str> = params::params(&run(1, "r", "resnet18"))
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        for name in SHOWN.iter().chain(OTHER_AFTER.iter().map(|(n, _)| n)) {
            assert!(names.contains(name), "{name} is no setting of {names:?}");
        }
        for (_, home) in OTHER_AFTER {
            assert!(RECIPE_HEADERS.contains(&home), "{home} is no recipe column");
        }
    }

    /// A dataset of `people` identities and `images` images, split 80/10/10, named `name`.
    fn dataset(id: i64, name: &str, people: i64, images: i64) -> DataInfo {
        DataInfo {
            id,
            name: name.into(),
            n_identities: people,
            n_images: images,
            splits: vec![
                ("train".into(), images - 2 * (images / 10)),
                ("dev".into(), images / 10),
                ("test".into(), images / 10),
            ],
            gallery: Some(people),
        }
    }

    #[test]
    fn the_start_and_input_settings_are_named() {
        let mut r = run(1, "r", "resnet18");
        assert_eq!(
            (architecture(&r), input(&r.hyper)),
            ("resnet18".into(), "64px".into())
        );
        r.hyper.init = Some("/w/resnet18-f37072fd.pth".into());
        r.hyper.init_sha256 = Some("f37072fd47e89c7d".into());
        r.hyper.fresh_embedding = true;
        r.hyper.imagenet_norm = true;
        r.hyper.crop = 0.5;
        assert_eq!(
            architecture(&r),
            "resnet18, from resnet18-f37072fd.pth (fresh embedding)"
        );
        assert_eq!(input(&r.hyper), "64px, crop 0.5, ImageNet norm");
    }

    /// Runs of other images or splits are told apart by a data column, which a table of one
    /// dataset does without; two datasets of one name are told apart by their ids.
    #[test]
    fn a_table_of_several_datasets_says_which_each_run_had() {
        let curves = |id: i64, data: Option<DataInfo>| RunCurves {
            data,
            ..RunCurves::bare(run(id, "r", "resnet18"))
        };
        let table = |cs: &[RunCurves]| {
            let figures = RunFigures::default();
            let rows: Vec<_> = cs.iter().map(|c| (c, &figures)).collect();
            results_markdown(&rows, &[], "", NOW)
        };
        let a = |id| dataset(id, "lfw-20-30", 30, 713);
        let one = table(&[curves(1, Some(a(1))), curves(2, Some(a(1)))]);
        assert!(!one.contains("| data |"), "{one}");
        let several = table(&[
            curves(1, Some(a(1))),
            curves(2, Some(dataset(2, "lfw-disjoint", 143, 2340))),
            curves(3, Some(a(3))),
            curves(4, None),
        ]);
        let lines: Vec<&str> = several.lines().collect();
        assert!(lines[0].starts_with("| run | architecture | input | data | batch |"));
        assert!(lines[2].contains("| 64px | #1 lfw-20-30 (30 people, 713 images) | 32 |"));
        assert!(lines[3].contains("| 64px | lfw-disjoint (143 people, 2340 images) | 32 |"));
        assert!(lines[4].contains("| #3 lfw-20-30"), "{several}");
        assert!(lines[5].contains("| 64px | - | 32 |"), "{several}");
        assert!(!several.contains("All runs"), "{several}");
    }

    /// With one dataset the data column is dropped, and results.md named the dataset nowhere.
    #[test]
    fn a_table_of_one_dataset_names_it_under_the_table() {
        let curves = |id: i64, data: Option<DataInfo>| RunCurves {
            data,
            ..RunCurves::bare(run(id, "r", "resnet18"))
        };
        let figures = RunFigures::default();
        let table = |cs: &[RunCurves]| {
            let rows: Vec<_> = cs.iter().map(|c| (c, &figures)).collect();
            results_markdown(&rows, &[], "", NOW)
        };
        let seed = dataset(1, "lfw-20-30", 30, 713);
        let md = table(&[curves(1, Some(seed.clone())), curves(2, Some(seed.clone()))]);
        assert!(
            md.contains(
                "\nAll runs: lfw-20-30 (30 people, 713 images), split into 571 train, 71 dev \
                 and 71 test images.\n"
            ),
            "{md}"
        );
        // A run that records none is named.
        let md = table(&[curves(1, Some(seed.clone())), curves(7, None)]);
        assert!(
            md.contains("All runs but run 7, which records no dataset: lfw-20-30"),
            "{md}"
        );
        // None recorded at all: no line.
        let md = table(&[curves(1, None)]);
        assert!(!md.contains("All runs"), "{md}");
    }

    /// Runs of one recipe on two seeds read as one run twice without their seeds: where the
    /// table holds more than one, a column after the learning rate gives each run's.
    #[test]
    fn a_table_of_several_seeds_says_each_runs() {
        let seeded = |id: i64, seed: i64| {
            let mut run = run(id, "r", "resnet18");
            run.hyper.seed = seed;
            RunCurves::bare(run)
        };
        let figures = RunFigures::default();
        let table = |cs: &[RunCurves]| {
            let rows: Vec<_> = cs.iter().map(|c| (c, &figures)).collect();
            results_markdown(&rows, &[], "", NOW)
        };
        let md = table(&[seeded(1, 0), seeded(2, 1)]);
        let lines: Vec<Vec<&str>> = md
            .lines()
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.split(" | ").collect())
            .collect();
        let at = lines[0]
            .iter()
            .position(|h| *h == "seed")
            .expect("a seed column");
        assert_eq!(lines[0][at - 1], "lr", "{md}");
        assert_eq!((lines[2][at], lines[3][at]), ("0", "1"), "{md}");
        assert!(
            [&lines[2], &lines[3]]
                .iter()
                .all(|l| l.len() == lines[0].len()),
            "{md}"
        );
        // One seed: nothing to tell apart.
        let md = table(&[seeded(1, 3), seeded(2, 3)]);
        assert!(
            !md.lines().next().unwrap_or_default().contains("seed"),
            "{md}"
        );
    }

    /// Runs that differ only in a setting the recipe columns do not show (`--normalize`) read
    /// as one run twice without it: a column of each such setting follows the column it
    /// belongs with, and a table whose runs share them has none.
    #[test]
    fn settings_the_runs_differ_in_each_get_a_column() {
        let with = |id: i64, normalize: bool, augment: bool, eval_every: i64| {
            let mut r = run(id, "r", "resnet18");
            (r.hyper.normalize, r.hyper.augment) = (normalize, augment);
            r.hyper.eval_every = eval_every;
            RunCurves::bare(r)
        };
        let figures = RunFigures::default();
        let table = |cs: &[RunCurves]| {
            let rows: Vec<_> = cs.iter().map(|c| (c, &figures)).collect();
            results_markdown(&rows, &[], "", NOW)
        };
        let rows = |md: &str| -> Vec<Vec<String>> {
            md.lines()
                .take_while(|l| l.starts_with('|'))
                .map(|l| l.split(" | ").map(str::to_string).collect())
                .collect()
        };
        let md = table(&[with(1, true, true, 1), with(2, false, true, 1)]);
        let lines = rows(&md);
        let at = lines[0]
            .iter()
            .position(|h| h == "normalize")
            .expect("a normalize column");
        assert_eq!(lines[0][at - 1], "dim", "{md}");
        assert_eq!(
            (lines[2][at].as_str(), lines[3][at].as_str()),
            ("yes", "no")
        );
        assert!(!lines[0].contains(&"augment".to_string()), "{md}");
        // Every row as wide as the header (the line under it aside).
        let aligned = |lines: &[Vec<String>]| lines[2..].iter().all(|l| l.len() == lines[0].len());
        assert!(aligned(&lines), "{md}");
        // Each setting after its own column; one the recipe's do not place after the rate,
        // and the data and seed columns after those.
        let mut cs = [with(1, true, true, 1), with(2, false, false, 5)];
        cs[1].run.hyper.seed = 1;
        cs[1].data = Some(dataset(2, "lfw-disjoint", 143, 2340));
        cs[0].data = Some(dataset(1, "lfw-20-30", 30, 713));
        let md = table(&cs);
        let lines = rows(&md);
        assert_eq!(
            lines[0][..13].join(" | "),
            "| run | architecture | input | augment | data | batch | dim | normalize | \
             mining | sampler | lr | eval every | seed",
            "{md}"
        );
        assert_eq!(
            lines[3][1..13].join(" | "),
            "resnet18 | 64px | no | lfw-disjoint (143 people, 2340 images) | 32 | 128 | no | \
             semihard | pk (K=4) | 0.001 | 5 | 1",
            "{md}"
        );
        assert!(aligned(&lines), "{md}");
        // Alike: the table is as wide as ever.
        let md = table(&[with(1, false, false, 1), with(2, false, false, 1)]);
        assert_eq!(
            rows(&md)[0].len(),
            1 + RECIPE_HEADERS.len() + RESULT_HEADERS.len()
        );
    }

    /// Each comparison figure comes with its caption, its code spans kept as code and the rest
    /// of it shown as written.
    #[test]
    fn comparison_figures_follow_the_table_with_their_captions() {
        let c = RunCurves::bare(run(1, "r", "resnet18"));
        let figures = RunFigures::default();
        let comparisons = [
            ComparisonFigure {
                file: "compare-dev-accuracy.png".into(),
                alt: "Dev accuracy on lfw-20-30 [30 people]".into(),
                caption: "Dev accuracy on lfw_20 *x*: run 3 not drawn; `report --runs 3` draws it."
                    .into(),
            },
            ComparisonFigure {
                file: "compare-dev-accuracy-lfw-disjoint.png".into(),
                alt: "Dev accuracy on lfw-disjoint".into(),
                caption: "Dev accuracy on lfw-disjoint, a dev set of its own.".into(),
            },
        ];
        let md = results_markdown(&[(&c, &figures)], &comparisons, "reports/", NOW);
        let tail = &md[md.find("Dev accuracy on lfw").expect("the first caption")..];
        assert_eq!(
            tail,
            "Dev accuracy on lfw_20 \\*x\\*: run 3 not drawn; `report --runs 3` draws it.\n\n\
             ![Dev accuracy on lfw-20-30 30 people](reports/compare-dev-accuracy.png)\n\n\
             Dev accuracy on lfw-disjoint, a dev set of its own.\n\n\
             ![Dev accuracy on lfw-disjoint](reports/compare-dev-accuracy-lfw-disjoint.png)\n"
        );
    }

    /// An LFW score measured on grayscale images is marked so, and the mark explained under
    /// the table; a table without one says nothing of it.
    #[test]
    fn an_lfw_score_on_grayscale_images_is_marked() {
        let curves = |id: i64, gray: bool| {
            RunCurves::bare(Run {
                lfw_acc: Some(0.78),
                lfw_acc_std: Some(0.014),
                lfw_grayscale: gray,
                ..run(id, "r", "resnet18")
            })
        };
        let figures = RunFigures::default();
        let (colour, gray) = (curves(1, false), curves(2, true));
        let md = results_markdown(&[(&colour, &figures), (&gray, &figures)], &[], "", NOW);
        let lines: Vec<&str> = md.lines().collect();
        assert!(lines[2].contains("| 0.780 ± 0.014 |"), "{md}");
        assert!(lines[3].contains("| 0.780 ± 0.014 (gray) |"), "{md}");
        assert!(
            md.contains("LFW (gray): its images were all grayscale JPEGs"),
            "{md}"
        );
        let md = results_markdown(&[(&colour, &figures)], &[], "", NOW);
        assert!(!md.contains("gray"), "{md}");
    }

    /// A run's name reads as written, whatever markdown would make of it, and cannot end the
    /// README's generated section early.
    #[test]
    fn a_name_s_markdown_is_shown_as_written() -> anyhow::Result<()> {
        let name = "a*b* [x](y) R&amp;D _lr_1e-4 <!-- results:end -->";
        let c = RunCurves::bare(run(1, name, "resnet18"));
        let figures = RunFigures::default();
        let table = results_markdown(&[(&c, &figures)], &[], "", NOW);
        assert!(
            table.contains(r"| 1 a\*b\* \[x\](y) R\&amp;D \_lr_1e-4 \<!-- results:end --\> |"),
            "{table}"
        );
        let readme = "intro\n<!-- results:start -->\n<!-- results:end -->\n";
        let once = crate::report::splice(readme, &table, "README.md")?;
        assert_eq!(crate::report::splice(&once, &table, "README.md")?, once);
        Ok(())
    }

    #[test]
    fn tiny_learning_rates_read_in_powers_of_ten() {
        let mut r = run(1, "r", "resnet18");
        let mut lr = |v: f64| {
            r.hyper.lr = v;
            learning_rate(&r.hyper)
        };
        assert_eq!(
            [lr(1e-12), lr(0.0001), lr(0.0005), lr(0.0)],
            ["1e-12", "0.0001", "0.0005", "0"]
        );
    }

    #[test]
    fn a_run_whose_heartbeat_stopped_reads_as_crashed() {
        let mut r = run(1, "r", "resnet18");
        r.hyper.epochs = 90;
        (r.iters_per_epoch, r.last_iteration, r.last_epoch) = (Some(10), 35, 4);
        r.status = RunStatus::Running;
        r.heartbeat_at = Some(NOW - 5.0);
        assert_eq!(epochs(&r, NOW), "3/90 (running)");
        assert_eq!(epochs(&r, NOW + 3600.0), "3/90 (crashed)");
        r.status = RunStatus::Interrupted;
        assert_eq!(epochs(&r, NOW), "3/90 (interrupted)");
        r.status = RunStatus::Completed;
        assert_eq!(epochs(&r, NOW), "90");
    }
}
