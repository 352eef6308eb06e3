//! The compare view's table: best and final metrics side by side, then only the
//! hyperparameters that differ, then where the runs came from when that differs (code, device,
//! host, CPU). The metrics come first: a short screen cuts the table from the bottom.
//! Runs that share a configuration, differ only in seed and trained as many epochs are one
//! column, their metrics given as mean ± std; a `trained` row says how long each column trained
//! where that differs. Runs on different datasets are said to be: their accuracies are on
//! different dev sets.

use crate::lab::mean_std;
use crate::lab::params::{differing, params, repeats, seed_groups};
use crate::lab::Run;

use super::datasets::{name_of, Datasets};

/// A column's header: the `#id` of its run (`#5,6,32`, those of a seed group's), and the run's
/// name or what the group repeats (`×3 seeds`). Kept apart, so that a narrow column cuts the label and
/// keeps the id.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub id: String,
    pub label: String,
}

impl std::fmt::Display for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.id, self.label)
    }
}

/// The compare table: a header per column (a run or a seed group), then rows of cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompareTable {
    pub headers: Vec<Header>,
    pub rows: Vec<(String, Vec<String>)>,
    /// Which runs each column stands for, as indices into the compared runs.
    pub columns: Vec<Vec<usize>>,
    /// By row, the columns that hold its best value (the highest accuracy or speed, the lowest
    /// loss): none in a row of settings, of one value, or of accuracies on different datasets.
    pub best: Vec<Vec<usize>>,
    /// What the person must know before reading the table: runs on different datasets.
    pub warning: Option<String>,
}

/// What the compare table says of runs on more than one dataset: a dev accuracy on 12
/// synthetic people is no rival to one on LFW.
pub const DIFFERENT_DATASETS: &str =
    "different datasets: accuracies on different dev sets, not comparable";

type MetricOf = fn(&Run) -> Option<f64>;

/// A metric's value as the compare table writes it.
type Shown = fn(f64) -> String;

/// An accuracy, as the runs table writes it: `0.412`.
fn accuracy(v: f64) -> String {
    format!("{v:.3}")
}

/// Images per second, whole: `2310`.
fn speed(v: f64) -> String {
    format!("{v:.0}")
}

/// Whether a metric's best value is its lowest (a loss) rather than its highest.
fn lowest_best(name: &str) -> bool {
    name == "last loss"
}

/// Whether a metric compares runs on different datasets: a speed does, an accuracy or a loss
/// measured on other images does not.
fn across_datasets(name: &str) -> bool {
    name == "img/s"
}

/// (name, value, how it is written, shown only where some compared run has it). What only
/// `eval` measures is left out where no run has it: on a small screen the training metrics
/// below would go for rows of dashes. Written as the runs table writes them: a diverged loss is
/// `7.77e27`, not thirty digits cut off.
const METRICS: [(&str, MetricOf, Shown, bool); 7] = [
    ("best dev", |r| r.best_dev_acc, accuracy, false),
    ("test", |r| r.test_acc, accuracy, true),
    ("lfw", |r| r.lfw_acc, accuracy, true),
    ("final dev", |r| r.final_dev_acc, accuracy, false),
    ("final train", |r| r.final_train_acc, accuracy, false),
    ("last loss", |r| r.last_loss, crate::format::loss, false),
    ("img/s", |r| r.images_per_sec, speed, false),
];

/// Hyperparameter `name`'s value of run `r` as the compare table writes it: as the runs table
/// writes its column where it has one (the learning rate in powers of ten, `1e-4` beside `1e6`,
/// not `0.0001`), else as [`params`] gives it.
/// The dataset is named as `runs` names it (`lfw-20-30`), not by its id alone.
fn param(r: &Run, name: &str, datasets: &Datasets) -> String {
    if name == "lr" {
        return format!("{:e}", r.hyper.lr);
    }
    if name == "dataset" {
        return name_of(r, datasets);
    }
    params(r)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

type ProvenanceOf = fn(&Run) -> String;

/// Where a run came from: not hyperparameters (runs that differ only here are repeats of one
/// experiment), but what explains two repeats that part in the last bits.
const PROVENANCE: [(&str, ProvenanceOf); 4] = [
    ("code", |r| super::store::short_commit(&r.code)),
    ("device", |r| match &r.gpu_name {
        Some(gpu) => format!("{} {gpu}", r.device),
        None => r.device.clone(),
    }),
    ("host", |r| r.hostname.clone()),
    ("cpu", |r| r.machine.cpu().unwrap_or_else(|| "-".into())),
];

/// Whether the table's row `name` is one of where the runs came from ([`PROVENANCE`]): long
/// values (a CPU's model) that a narrow screen cuts before the hyperparameters.
pub fn is_provenance(name: &str) -> bool {
    PROVENANCE.iter().any(|(n, _)| *n == name)
}

/// One metric of a column: the value, or over several seeds mean ± std. When only some of the
/// group's runs have the metric, says how many the figure is over: a lone value is not a
/// zero spread.
fn metric_cell(xs: &[f64], group: usize, shown: Shown) -> String {
    let Some((m, s)) = mean_std(xs) else {
        return "-".to_string();
    };
    let value = match xs.len() {
        1 => shown(m),
        // The spread in the mean's form: a mean in powers of ten (a diverged loss) has its
        // spread so too, not `1.20e4±500.0000`.
        _ => match shown(m) {
            mean if mean.contains('e') => format!("{mean}±{s:.2e}"),
            mean => format!("{mean}±{}", shown(s)),
        },
    };
    if xs.len() < group {
        format!("{value} (n={})", xs.len())
    } else {
        value
    }
}

/// The columns of a metric row whose value (`means`, by column, as `shown` writes it) is the
/// best: the highest, or the `lowest`; none where fewer than two columns have one or all
/// read the same.
fn best_of(means: &[Option<f64>], shown: Shown, lowest: bool) -> Vec<usize> {
    let values: Vec<(usize, f64)> = means
        .iter()
        .enumerate()
        .filter_map(|(i, m)| Some((i, (*m)?)))
        .filter(|(_, m)| m.is_finite())
        .collect();
    let best = values
        .iter()
        .map(|&(_, m)| m)
        .reduce(|a, b| if (b < a) == lowest { b } else { a });
    let Some(best) = best.map(shown) else {
        return Vec::new();
    };
    // Ties as written: 0.4121 and 0.4119 both read 0.412.
    let at_best: Vec<usize> = values
        .iter()
        .filter(|&&(_, m)| shown(m) == best)
        .map(|&(i, _)| i)
        .collect();
    if values.len() < 2 || at_best.len() == values.len() {
        return Vec::new();
    }
    at_best
}

pub fn table(runs: &[&Run], now: f64, datasets: &Datasets) -> CompareTable {
    let columns = seed_groups(runs, now);
    let headers = columns
        .iter()
        .map(|g| Header {
            id: format!(
                "#{}",
                g.iter()
                    .map(|&i| runs[i].id.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            label: match g.as_slice() {
                [one] => runs[*one].name.clone(),
                many => {
                    let members: Vec<&Run> = many.iter().map(|&i| runs[i]).collect();
                    format!("×{}", repeats(&members))
                }
            },
        })
        .collect();
    // A column's distinct values, in run order, joined by commas.
    let cells = |value: &dyn Fn(&Run) -> String| -> Vec<String> {
        columns
            .iter()
            .map(|g| {
                let mut vals: Vec<String> = Vec::new();
                for &i in g {
                    let v = value(runs[i]);
                    if !vals.contains(&v) {
                        vals.push(v);
                    }
                }
                vals.join(",")
            })
            .collect()
    };
    // A run that records no dataset may have trained on any: beside one that records its
    // own, their accuracies are not known to be comparable, as the runs table's data column
    // tells them apart.
    let on: std::collections::BTreeSet<Option<i64>> =
        runs.iter().map(|r| r.dataset_id.map(|d| d.0)).collect();
    let comparable = on.len() < 2;
    let mut rows = Vec::new();
    let mut best = Vec::new();
    for (name, get, shown, where_measured) in METRICS {
        if where_measured && runs.iter().all(|r| get(r).is_none()) {
            continue;
        }
        let values: Vec<Vec<f64>> = columns
            .iter()
            .map(|g| g.iter().filter_map(|&i| get(runs[i])).collect())
            .collect();
        let cells = values
            .iter()
            .zip(&columns)
            .map(|(xs, g)| metric_cell(xs, g.len(), shown))
            .collect();
        rows.push((name.to_string(), cells));
        best.push(if comparable || across_datasets(name) {
            let means: Vec<Option<f64>> =
                values.iter().map(|xs| mean_std(xs).map(|m| m.0)).collect();
            best_of(&means, shown, lowest_best(name))
        } else {
            Vec::new()
        });
    }
    for name in differing(runs) {
        rows.push((name.to_string(), cells(&|r: &Run| param(r, name, datasets))));
    }
    // How long each trained (what parts columns of one configuration), then where the runs
    // came from: each only where the runs differ in it.
    let mut where_they_differ = |name: &str, value: &dyn Fn(&Run) -> String| {
        let first = runs.first().map(|r| value(r));
        if runs.iter().any(|r| Some(value(r)) != first) {
            rows.push((name.to_string(), cells(value)));
        }
    };
    where_they_differ("trained", &|r| r.epochs_label(r.effective_status(now)));
    for (name, value) in PROVENANCE {
        where_they_differ(name, &value);
    }
    best.resize(rows.len(), Vec::new());
    CompareTable {
        headers,
        rows,
        columns,
        best,
        warning: (!comparable).then(|| DIFFERENT_DATASETS.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{run, NOW};

    fn header_texts(t: &CompareTable) -> Vec<String> {
        t.headers.iter().map(ToString::to_string).collect()
    }

    /// The cells of the row named `name`, if the table has one.
    fn cells_of(t: &CompareTable, name: &str) -> Option<Vec<String>> {
        t.rows
            .iter()
            .find(|(r, _)| r == name)
            .map(|(_, c)| c.clone())
    }

    #[test]
    fn a_run_without_a_recorded_dataset_is_not_comparable_with_one_with() {
        let a = run(1, "a", "resnet18");
        let mut b = run(2, "b", "resnet18");
        let datasets = Datasets::new();
        assert_eq!(
            table(&[&a, &b], NOW, &datasets).warning,
            None,
            "neither records one"
        );
        b.dataset_id = Some(crate::lab::DatasetId(3));
        assert_eq!(
            table(&[&a, &b], NOW, &datasets).warning.as_deref(),
            Some(DIFFERENT_DATASETS)
        );
    }

    #[test]
    fn only_differing_hyperparameters_are_listed() {
        let a = run(1, "a", "resnet18");
        let mut b = run(2, "b", "resnet18");
        b.hyper.batch_size = 64;
        b.hyper.mining = "hard".into();
        assert_eq!(differing(&[&a, &b]), vec!["batch", "mining"]);
        assert!(differing(&[&a]).is_empty());
        let t = table(&[&a, &b], NOW, &Datasets::new());
        let names: Vec<&str> = t.rows.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "best dev",
                "final dev",
                "final train",
                "last loss",
                "img/s",
                "batch",
                "mining",
            ]
        );
        assert_eq!(cells_of(&t, "batch"), Some(vec!["32".into(), "64".into()]));
    }

    #[test]
    fn where_runs_came_from_is_listed_only_where_it_differs() {
        let a = run(1, "a", "resnet18");
        let mut b = run(2, "b", "resnet18");
        b.hyper.batch_size = 64;
        b.code.git_commit = "fedcba9876543210".into();
        b.machine.cpu_model = None;
        b.machine.cpu_threads = None;
        b.machine.cpu_simd = None;
        let t = table(&[&a, &b], NOW, &Datasets::new());
        let row = |n: &str| cells_of(&t, n);
        assert_eq!(
            row("code"),
            Some(vec!["0123456789ab".into(), "fedcba987654".into()])
        );
        assert_eq!(
            row("cpu"),
            Some(vec![
                "Test CPU 9000 · 2 threads · avx2+fma".into(),
                "-".into()
            ])
        );
        assert_eq!((row("host"), row("device")), (None, None));
        // Repeats of one experiment share a column; its cell lists each value once.
        let mut c = a.clone();
        c.id = crate::lab::RunId(3);
        c.gpu_name = Some("NVIDIA H200".into());
        c.device = "cuda:0".into();
        let t = table(&[&a, &c], NOW, &Datasets::new());
        assert_eq!(header_texts(&t), ["#1,3 ×2 runs"]);
        assert_eq!(
            cells_of(&t, "device"),
            Some(vec!["cpu,cuda:0 NVIDIA H200".to_string()])
        );
    }

    #[test]
    fn seeds_of_one_config_become_mean_and_std() {
        let mut runs = Vec::new();
        for (id, seed, acc) in [(1, 1, 0.40), (2, 2, 0.44), (3, 3, 0.42)] {
            let mut r = run(id, "s", "resnet18");
            r.hyper.seed = seed;
            r.best_dev_acc = Some(acc);
            runs.push(r);
        }
        let mut other = run(4, "alex", "alexnet");
        other.best_dev_acc = Some(0.3);
        runs.push(other);
        let refs: Vec<&Run> = runs.iter().collect();
        assert_eq!(seed_groups(&refs, NOW), vec![vec![0, 1, 2], vec![3]]);
        let t = table(&refs, NOW, &Datasets::new());
        assert_eq!(header_texts(&t), ["#1,2,3 ×3 seeds", "#4 alex"]);
        let row = |n: &str| cells_of(&t, n);
        assert_eq!(
            row("model"),
            Some(vec!["resnet18".into(), "alexnet".into()])
        );
        assert_eq!(row("seed"), Some(vec!["1,2,3".into(), "7".into()]));
        // The same seed twice (a repeat on another machine) is two runs, not two seeds.
        let mut again = runs[0].clone();
        again.id = crate::lab::RunId(5);
        let twice = table(&[&runs[0], &again], NOW, &Datasets::new());
        assert_eq!(header_texts(&twice), ["#1,5 ×2 runs"]);
        // One that stopped after fewer epochs (cut off, or failed) stands alone.
        let mut short = runs[1].clone();
        short.id = crate::lab::RunId(6);
        short.status = crate::lab::RunStatus::Failed;
        short.last_iteration = 2 * short.iters_per_epoch.unwrap_or(1);
        short.last_epoch = 2;
        let cut = [&runs[0], &runs[1], &short];
        assert_ne!(runs[1].epochs_done(), short.epochs_done(), "the premise");
        assert_eq!(seed_groups(&cut, NOW), vec![vec![0, 1], vec![2]]);
        assert_eq!(
            cells_of(&table(&cut, NOW, &Datasets::new()), "trained"),
            Some(vec!["10".into(), "2/10 (failed)".into()])
        );
        assert_eq!(row("trained"), None, "all trained alike");
        // Repeats that --patience stopped after different epochs completed alike: one column,
        // which says how far they got.
        let mut patient = [runs[0].clone(), runs[1].clone()];
        for (r, epoch) in patient.iter_mut().zip([4, 7]) {
            r.hyper.patience = Some(3);
            r.last_epoch = epoch;
            r.last_iteration = epoch * r.iters_per_epoch.unwrap_or(1);
        }
        let early = [&patient[0], &patient[1], &runs[2]];
        assert_eq!(seed_groups(&early, NOW), vec![vec![0, 1], vec![2]]);
        let t = table(&early, NOW, &Datasets::new());
        assert_eq!(cells_of(&t, "patience"), Some(vec!["3".into(), "-".into()]));
        assert_eq!(
            cells_of(&t, "trained"),
            Some(vec![
                "4/10 (stopped early),7/10 (stopped early)".into(),
                "10".into()
            ])
        );
        // Seeds still training are one column while their epoch counts pass each other.
        let mut live = [runs[0].clone(), runs[1].clone()];
        for (r, steps) in live.iter_mut().zip([300, 500]) {
            r.status = crate::lab::RunStatus::Running;
            r.heartbeat_at = Some(NOW - 5.0);
            r.last_iteration = steps;
        }
        assert_eq!(seed_groups(&[&live[0], &live[1]], NOW), vec![vec![0, 1]]);
        // One whose process died unrecorded (its heartbeat stale) has stopped, as the status
        // column says: it no longer joins the live one, and the table says it crashed.
        live[1].heartbeat_at = Some(NOW - 3600.0);
        assert_eq!(
            seed_groups(&[&live[0], &live[1]], NOW),
            vec![vec![0], vec![1]]
        );
        assert_eq!(
            cells_of(
                &table(&[&live[0], &live[1]], NOW, &Datasets::new()),
                "trained"
            )
            .map(|c| c[1].clone()),
            Some(format!("{}/10 (crashed)", live[1].epochs_done()))
        );
        // mean 0.42, sample std 0.02
        assert_eq!(
            row("best dev"),
            Some(vec!["0.420±0.020".into(), "0.300".into()])
        );
        // What `eval` measured, over the seeds that have it; no row where none has it.
        assert_eq!(row("lfw"), None);
        runs[0].lfw_acc = Some(0.75);
        runs[1].lfw_acc = Some(0.76);
        let refs: Vec<&Run> = runs.iter().collect();
        assert_eq!(
            cells_of(&table(&refs, NOW, &Datasets::new()), "lfw"),
            Some(vec!["0.755±0.007 (n=2)".into(), "-".into()])
        );
    }

    /// Each row is written as the runs table writes its column: a diverged loss in powers of
    /// ten (mean and spread alike), not thirty digits cut off; the learning rate as `1e-4`
    /// beside `1e6`, not `0.0001`.
    #[test]
    fn huge_losses_and_learning_rates_read_as_in_the_runs_table() {
        use crate::tui::filter::Column;
        let mut small = run(1, "small", "resnet18");
        small.hyper.lr = 1e-4;
        small.last_loss = Some(0.0871);
        let mut huge = run(2, "huge", "resnet18");
        huge.hyper.lr = 1e6;
        huge.last_loss = Some(7_765_270_549_771_529_803_593_154_560.0);
        let t = table(&[&small, &huge], NOW, &Datasets::new());
        let row = |n: &str| cells_of(&t, n);
        assert_eq!(row("lr"), Some(vec!["1e-4".into(), "1e6".into()]));
        assert_eq!(
            row("last loss"),
            Some(vec!["0.0871".into(), "7.77e27".into()])
        );
        for (i, r) in [&small, &huge].into_iter().enumerate() {
            let loss = Column::LastLoss.text(r, NOW);
            assert_eq!(row("last loss").map(|c| c[i].clone()), Some(loss));
            // The runs table's lr adds the schedule, which has its own row here.
            assert_eq!(
                row("lr").map(|c| c[i].clone()),
                Some(Column::Lr.text(r, NOW))
            );
        }
        // Two seeds of a diverged run: mean and spread both in powers of ten.
        let mut again = huge.clone();
        again.id = crate::lab::RunId(3);
        again.hyper.seed = 8;
        again.last_loss = Some(5.0e27);
        let seeds = table(&[&huge, &again], NOW, &Datasets::new());
        assert_eq!(
            cells_of(&seeds, "last loss"),
            Some(vec!["6.38e27±1.96e27".into()])
        );
        // A spread far below its mean is still in the mean's form.
        again.last_loss = Some(1.2e4 + 707.1);
        let mut other = huge.clone();
        other.last_loss = Some(1.2e4 - 707.1);
        let close = table(&[&other, &again], NOW, &Datasets::new());
        assert_eq!(
            cells_of(&close, "last loss"),
            Some(vec!["1.20e4±1.00e3".into()])
        );
    }

    #[test]
    fn a_metric_only_some_seeds_have_says_how_many_it_is_over() {
        let mut runs = Vec::new();
        for (id, seed, train) in [(1, 1, Some(0.7)), (2, 2, None), (3, 3, Some(0.5))] {
            let mut r = run(id, "s", "resnet18");
            r.hyper.seed = seed;
            r.final_train_acc = train;
            r.final_dev_acc = (id == 2).then_some(0.25);
            runs.push(r);
        }
        let refs: Vec<&Run> = runs.iter().collect();
        let t = table(&refs, NOW, &Datasets::new());
        let row = |n: &str| cells_of(&t, n);
        // One value of three: no spread to show, and not a fake ±0.
        assert_eq!(row("final dev"), Some(vec!["0.250 (n=1)".into()]));
        // Two of three: mean ± sample std of those two.
        assert_eq!(row("final train"), Some(vec!["0.600±0.141 (n=2)".into()]));
        assert_eq!(row("best dev"), Some(vec!["-".into()]));
        assert_eq!(row("last loss"), Some(vec!["0.0500±0.0000".into()]));
        let one = table(&refs[..1], NOW, &Datasets::new());
        assert_eq!(
            one.rows.last().map(|(_, c)| c.clone()),
            Some(vec!["850".into()])
        );
    }
}
