//! Under the results table, each experiment completed more than once as one row: its best dev, test
//! and LFW accuracy as mean ± standard deviation over its runs, so that a recipe is read from
//! all of its seeds and not from its luckiest.

use std::collections::BTreeMap;

use crate::lab::params::{repeats, seed_groups};
use crate::lab::{mean_std, Run, RunStatus};

use super::curves::{DataInfo, RunCurves};
use super::results::{data_cell, escape_cell, RecipeColumns, DATA_AFTER};

/// The columns after the recipe's ([`RecipeColumns`], as the results table has them).
const RESULT_HEADERS: [&str; 5] = [
    "epochs",
    "repeats",
    "best dev acc",
    "test acc (best ckpt)",
    "LFW pairs acc (best ckpt)",
];

/// The line over the table.
const INTRO: &str = "Experiments completed more than once (on several seeds, or one seed again), \
one row each: the completed runs whose settings and dataset are all alike but the seed. Each \
accuracy is the mean ± the sample standard deviation (dividing by n − 1) over the runs, then the \
lowest and highest run; a count says how many of the runs were evaluated where not all were. A \
row whose runs were trained by different commits of the code says how many (`3 seeds (0, 1, 2), \
2 commits`): its spread can hold a change of the code as well as the seed's (`runs --json` and \
`export --format runs-csv` give each run's commit). Each run's own numbers are in the table \
above.";

/// The experiments of `rows` that completed more than once, as a markdown table with the line
/// over it; `None` where no experiment did. `data_column`: the results table says each run's
/// dataset in a column, so this one does too.
pub(super) fn repeats_markdown(
    rows: &[&RunCurves],
    datasets: &BTreeMap<i64, &DataInfo>,
    data_column: bool,
    now: f64,
) -> Option<String> {
    let completed: Vec<&RunCurves> = rows
        .iter()
        .copied()
        .filter(|c| c.run.effective_status(now) == RunStatus::Completed)
        .collect();
    let runs: Vec<&Run> = completed.iter().map(|c| &c.run).collect();
    let groups: Vec<Vec<&RunCurves>> = seed_groups(&runs, now)
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|g| g.into_iter().map(|i| completed[i]).collect())
        .collect();
    if groups.is_empty() {
        return None;
    }
    // A column for each setting the experiments differ in that the recipe's do not show
    // (`--normalize`): their runs share all settings but the seed, so their first runs say it.
    let firsts: Vec<&Run> = groups.iter().map(|g| &g[0].run).collect();
    let recipe = RecipeColumns::of(&firsts);
    let data_at = 1 + recipe.index_after(DATA_AFTER);
    let mut headers = [&["runs"][..], &recipe.headers()[..], &RESULT_HEADERS].concat();
    if data_column {
        headers.insert(data_at, "data");
    }
    let mut out = format!("{INTRO}\n\n| {} |\n", headers.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
    for group in groups {
        let mut cells = row(&group, &recipe);
        if data_column {
            cells.insert(data_at, data_cell(group[0], datasets));
        }
        let cells: Vec<String> = cells.iter().map(|c| escape_cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    Some(out)
}

/// One experiment's cells: the settings of its first run (all but the seed are its others'),
/// then its accuracies over its runs.
fn row(group: &[&RunCurves], recipe: &RecipeColumns) -> Vec<String> {
    let runs: Vec<&Run> = group.iter().map(|c| &c.run).collect();
    let first = runs[0];
    let ids: Vec<String> = runs.iter().map(|r| r.id.to_string()).collect();
    let mut seeds: Vec<i64> = runs.iter().map(|r| r.hyper.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let counted = repeats(&runs);
    let seeds = match seeds.as_slice() {
        // `3 seeds (0, 1, 2)`, or the same seed run again: `3 runs (seed 0)`.
        _ if counted.ends_with("seeds") => format!("{counted} ({})", list(&seeds)),
        [one] => format!("{counted} (seed {one})"),
        many => format!("{counted} (seeds {})", list(many)),
    };
    let seeds = format!("{seeds}{}", commits(&runs));
    let mut cells = vec![ids.join(", ")];
    cells.extend(recipe.cells(first));
    cells.extend([
        // `4–7 of 10 epochs` where --patience stopped them early.
        super::curves::epochs_trained(&runs).unwrap_or_else(|| first.hyper.epochs.to_string()),
        seeds,
        spread(&runs, |r| r.best_dev_acc),
        spread(&runs, |r| r.test_acc),
        lfw_spread(&runs),
    ]);
    cells
}

/// `, 2 commits` where `runs` were trained by more than one commit of the code (as each run
/// records it when it starts, `git_commit`); nothing where one commit trained them all.
fn commits(runs: &[&Run]) -> String {
    let commits: std::collections::BTreeSet<&str> =
        runs.iter().map(|r| r.code.git_commit.as_str()).collect();
    match commits.len() {
        0 | 1 => String::new(),
        n => format!(", {n} commits"),
    }
}

/// `0, 1, 2`.
fn list(xs: &[i64]) -> String {
    xs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// [`spread`] of the runs' LFW accuracies, `(gray)` where all were measured on grayscale
/// images, as the results table marks each; runs measured on grayscale and colour images are
/// not averaged together.
fn lfw_spread(runs: &[&Run]) -> String {
    let gray: Vec<bool> = runs
        .iter()
        .filter(|r| r.lfw_acc.is_some())
        .map(|r| r.lfw_grayscale)
        .collect();
    match (gray.contains(&true), gray.contains(&false)) {
        (true, true) => "- (grayscale and colour LFW)".into(),
        (true, false) => format!("{} (gray)", spread(runs, |r| r.lfw_acc)),
        _ => spread(runs, |r| r.lfw_acc),
    }
}

/// `0.629 ± 0.016 (0.613–0.645)` over the runs that have the value, with `, 2 of 3 runs` where
/// some have none; `0.700 (1 of 3 runs)` for one; `-` for none.
fn spread(runs: &[&Run], value: impl Fn(&Run) -> Option<f64>) -> String {
    let xs: Vec<f64> = runs.iter().filter_map(|&r| value(r)).collect();
    let Some((mean, std)) = mean_std(&xs) else {
        return "-".into();
    };
    let of = format!("{} of {} runs", xs.len(), runs.len());
    if xs.len() == 1 {
        return format!("{mean:.3} ({of})");
    }
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let count = if xs.len() < runs.len() {
        format!(", {of}")
    } else {
        String::new()
    };
    format!("{mean:.3} ± {std:.3} ({lo:.3}–{hi:.3}{count})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{run, NOW};

    /// A completed run of seed `seed` that reached these accuracies.
    fn scored(id: i64, seed: i64, dev: f64, test: Option<f64>, lfw: Option<f64>) -> RunCurves {
        let mut r = run(id, &format!("recipe-s{seed}"), "resnet18");
        r.hyper.seed = seed;
        r.best_dev_acc = Some(dev);
        r.test_acc = test;
        r.lfw_acc = lfw;
        RunCurves::bare(r)
    }

    fn table(cs: &[RunCurves]) -> Option<String> {
        let rows: Vec<&RunCurves> = cs.iter().collect();
        repeats_markdown(&rows, &BTreeMap::new(), false, NOW)
    }

    /// Runs alike but for the seed are one row, their accuracies as mean ± sample std and
    /// range; a run of other settings, and one cut off before its epochs were done, are none of
    /// it.
    #[test]
    fn runs_alike_but_the_seed_are_one_row_of_mean_and_spread() {
        let mut other = scored(7, 0, 0.9, None, None);
        other.run.hyper.lr = 0.1;
        let mut cut_off = scored(8, 3, 0.1, None, None);
        cut_off.run.status = RunStatus::Interrupted;
        let cs = [
            scored(5, 0, 0.645, Some(0.714), Some(0.746)),
            scored(6, 1, 0.629, Some(0.700), None),
            other,
            cut_off,
            scored(32, 2, 0.613, Some(0.757), Some(0.744)),
        ];
        let out = table(&cs).expect("one experiment ran three times");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("Experiments completed more than once"),
            "{out}"
        );
        assert!(
            lines[2].starts_with("| runs | architecture | input | batch |"),
            "{out}"
        );
        assert_eq!(lines.len(), 5, "one row: {out}");
        let cells: Vec<&str> = lines[4].split(" | ").collect();
        assert_eq!(cells[0], "| 5, 6, 32");
        assert_eq!(cells[6], "pk (K=4)");
        assert_eq!(cells[9], "3 seeds (0, 1, 2)");
        // mean 0.629; sample std sqrt((0.016² + 0 + 0.016²) / 2) = 0.016.
        assert_eq!(cells[10], "0.629 ± 0.016 (0.613–0.645)");
        // test: mean 0.7237, deviations -0.0097, -0.0237, 0.0333: std 0.0297.
        assert_eq!(cells[11], "0.724 ± 0.030 (0.700–0.757)");
        assert_eq!(cells[12], "0.745 ± 0.001 (0.744–0.746, 2 of 3 runs) |");
    }

    /// A row whose runs came from different commits of the code says how many, as the caption
    /// explains; a row of runs of one commit says nothing of it.
    #[test]
    fn a_row_of_runs_from_different_commits_says_how_many() {
        let commit = |mut c: RunCurves, commit: &str| {
            c.run.code.git_commit = commit.repeat(40);
            c
        };
        let other = |mut c: RunCurves| {
            c.run.hyper.lr = 0.1;
            c
        };
        let cs = [
            commit(scored(1, 0, 0.4, None, None), "a"),
            commit(scored(2, 1, 0.5, None, None), "a"),
            commit(other(scored(3, 0, 0.6, None, None)), "a"),
            commit(other(scored(4, 1, 0.7, None, None)), "b"),
            commit(other(scored(5, 2, 0.8, None, None)), "a"),
        ];
        let out = table(&cs).expect("two experiments, each run more than once");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].contains("different commits of the code says how many"),
            "{out}"
        );
        let repeats = |row: &str| row.split(" | ").nth(9).map(str::to_string);
        assert_eq!(lines.len(), 6, "two rows: {out}");
        assert_eq!(
            repeats(lines[4]).as_deref(),
            Some("2 seeds (0, 1)"),
            "{out}"
        );
        assert_eq!(
            repeats(lines[5]).as_deref(),
            Some("3 seeds (0, 1, 2), 2 commits"),
            "{out}"
        );
    }

    /// LFW measured on grayscale images is marked so, as in the results table; grayscale and
    /// colour scores are not averaged together.
    #[test]
    fn lfw_on_grayscale_is_marked_and_never_averaged_with_colour() {
        let gray = |id, seed, lfw| {
            let mut c = scored(id, seed, 0.5, None, Some(lfw));
            c.run.lfw_grayscale = true;
            c
        };
        let lfw = |cs: &[RunCurves]| -> String {
            let out = table(cs).unwrap();
            let row = out.lines().last().unwrap();
            row.rsplit(" | ")
                .next()
                .unwrap()
                .trim_end_matches(" |")
                .to_string()
        };
        assert_eq!(
            lfw(&[gray(1, 0, 0.75), gray(2, 1, 0.77)]),
            "0.760 ± 0.014 (0.750–0.770) (gray)"
        );
        let colour = scored(2, 1, 0.5, None, Some(0.77));
        assert_eq!(
            lfw(&[gray(1, 0, 0.75), colour]),
            "- (grayscale and colour LFW)"
        );
    }

    /// Where the results table has a data column, so does this one, in the same place.
    #[test]
    fn a_table_of_several_datasets_names_each_experiments() {
        let data = DataInfo {
            id: 4,
            name: "lfw-20-30".into(),
            n_identities: 30,
            n_images: 713,
            splits: Vec::new(),
            gallery: Some(30),
        };
        let mut cs = [scored(1, 0, 0.4, None, None), scored(2, 1, 0.5, None, None)];
        for c in &mut cs {
            c.data = Some(data.clone());
        }
        let rows: Vec<&RunCurves> = cs.iter().collect();
        let datasets = BTreeMap::from([(4, &data)]);
        let out = repeats_markdown(&rows, &datasets, true, NOW).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[2].starts_with("| runs | architecture | input | data | batch |"),
            "{out}"
        );
        assert!(
            lines[4]
                .starts_with("| 1, 2 | resnet18 | 64px | lfw-20-30 (30 people, 713 images) | 32 |"),
            "{out}"
        );
    }

    /// Two experiments alike but for `--normalize` are told apart by a column of it, as in the
    /// results table; experiments that share it have none.
    #[test]
    fn experiments_that_differ_in_an_unshown_setting_say_it() {
        let raw = |mut c: RunCurves| {
            c.run.hyper.normalize = false;
            c
        };
        let cs = [
            scored(1, 0, 0.4, None, None),
            scored(2, 1, 0.5, None, None),
            raw(scored(3, 0, 0.6, None, None)),
            raw(scored(4, 1, 0.7, None, None)),
        ];
        let out = table(&cs).expect("two experiments, each run twice");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[2].starts_with("| runs | architecture | input | batch | dim | normalize |"),
            "{out}"
        );
        assert!(
            lines[4].starts_with("| 1, 2 | resnet18 | 64px | 32 | 128 | yes |"),
            "{out}"
        );
        assert!(
            lines[5].starts_with("| 3, 4 | resnet18 | 64px | 32 | 128 | no |"),
            "{out}"
        );
        let alike = table(&cs[..2]).expect("one experiment run twice");
        assert!(!alike.contains("normalize"), "{alike}");
    }

    /// One seed run again is counted as runs, not seeds; a value only one run has is that
    /// run's, said so, not a spread of zero.
    #[test]
    fn a_seed_run_again_is_counted_as_runs_and_a_lone_value_says_so() {
        let cs = [
            scored(12, 0, 0.306, None, None),
            scored(13, 0, 0.340, Some(0.243), None),
        ];
        let out = table(&cs).unwrap();
        let row = out.lines().last().unwrap();
        assert!(
            row.contains("| 2 runs (seed 0) | 0.323 ± 0.024 (0.306–0.340) |"),
            "{row}"
        );
        assert!(row.ends_with("| 0.243 (1 of 2 runs) | - |"), "{row}");
    }

    /// Without an experiment run twice there is no table; and the results table under which it
    /// goes holds it only then.
    #[test]
    fn no_repeated_experiment_means_no_table() {
        let mut b = scored(2, 1, 0.5, None, None);
        b.run.hyper.embedding_dim = 64;
        let cs = [scored(1, 0, 0.4, None, None), b];
        assert_eq!(table(&cs), None);
        let figures = super::super::RunFigures::default();
        let rows: Vec<_> = cs.iter().map(|c| (c, &figures)).collect();
        let md = super::super::results_markdown(&rows, &[], "", NOW);
        assert!(!md.contains("completed more than once"), "{md}");
        let again = [scored(1, 0, 0.4, None, None), scored(2, 1, 0.5, None, None)];
        let rows: Vec<_> = again.iter().map(|c| (c, &figures)).collect();
        let md = super::super::results_markdown(&rows, &[], "", NOW);
        assert!(md.contains("| 1, 2 | resnet18 |"), "{md}");
    }
}
