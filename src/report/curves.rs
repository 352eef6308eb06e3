//! The series a report draws, read once per run, and runs
//! grouped by configuration so that repeats with different seeds become one mean ± std curve.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::lab::{median, metric, params, Lab, Run, SeriesPoint};

/// A legend lists the hyperparameters that tell the plotted curves apart only when there are at
/// most this many: more would not fit beside the figure (the results table has them all).
const MAX_LEGEND_PARAMS: usize = 3;

/// One run with the series its figures and table row need.
#[derive(Clone, Debug)]
pub struct RunCurves {
    pub run: Run,
    pub train_acc: Vec<SeriesPoint>,
    pub dev_acc: Vec<SeriesPoint>,
    /// Dev accuracy against identity centroids (the mean of each identity's training
    /// embeddings) instead of the seed's first training image.
    pub dev_acc_centroid: Vec<SeriesPoint>,
    pub train_loss: Vec<SeriesPoint>,
    /// Median training speed over the run's recorded steps: the last step alone can be a slow
    /// outlier (an evaluation or a checkpoint on the same cores).
    pub images_per_sec: Option<f64>,
    /// What it trained on, in order: where it started, then each resume's device (`cuda
    /// (NVIDIA H200)`), a device repeated only where another came between.
    pub devices: Vec<String>,
    /// The images it trained on and how they were split: `lfw-20-30 (30 people, 713 images)`,
    /// the last part of its source, with a `#id` where runs' datasets of one name differ.
    pub data: Option<(i64, String)>,
}

impl RunCurves {
    pub fn load(lab: &Lab, run: &Run) -> Result<RunCurves> {
        let speeds: Vec<f64> = lab
            .series(run.id, metric::IMAGES_PER_SEC)?
            .iter()
            .map(|p| p.value)
            .collect();
        let mut devices = vec![device_name(&run.device, run.gpu_name.as_deref())];
        for r in lab.resumes(run.id)? {
            let d = device_name(&r.device, r.gpu_name.as_deref());
            if devices.last() != Some(&d) {
                devices.push(d);
            }
        }
        let data = match run.dataset_id {
            Some(id) => lab.dataset_head(id)?.map(|d| {
                let name = std::path::Path::new(&d.source)
                    .file_name()
                    .map_or(d.source.clone(), |n| n.to_string_lossy().into_owned());
                let label = format!("{name} ({} people, {} images)", d.n_identities, d.n_images);
                (id.0, label)
            }),
            None => None,
        };
        Ok(RunCurves {
            devices,
            data,
            train_acc: lab.series(run.id, metric::TRAIN_ACC)?,
            dev_acc: lab.series(run.id, metric::DEV_ACC)?,
            dev_acc_centroid: lab.series(run.id, metric::DEV_ACC_CENTROID)?,
            train_loss: lab.series(run.id, metric::TRAIN_LOSS)?,
            images_per_sec: median(&speeds),
            run: run.clone(),
        })
    }

    /// `#12 best-recipe-64px`: the run's id and name, for figure titles.
    pub fn label(&self) -> String {
        format!("#{} {}", self.run.id, self.run.name)
    }
}

/// `cuda (NVIDIA H200)`, or `cpu`.
fn device_name(device: &str, gpu: Option<&str>) -> String {
    match gpu {
        Some(gpu) if !gpu.is_empty() => format!("{device} ({gpu})"),
        _ => device.to_string(),
    }
}

/// The hyperparameters (by [`params`] name) whose values differ among `runs`, seeds
/// aside: repeats with other seeds are drawn as one curve.
pub fn distinguishing_params(runs: &[&Run]) -> Vec<&'static str> {
    params::differing(runs)
        .into_iter()
        .filter(|&name| name != "seed")
        .collect()
}

/// A legend entry for the curve of `runs` (one run, or repeats of one configuration): their ids,
/// the name they share ([`shared_name`]), and the values of the `distinguishing`
/// hyperparameters when they are few enough to read: `#4 cosine-90: lr 0.0005, epochs 90`.
pub fn curve_label(runs: &[&Run], distinguishing: &[&str]) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    let ids: Vec<String> = runs.iter().map(|r| r.id.to_string()).collect();
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    // Spaced: at a legend's size, `#5,6` reads as `#5.6`.
    let mut label = format!("#{}", ids.join(", "));
    let name = shared_name(&names);
    if !name.is_empty() {
        label.push(' ');
        label.push_str(name);
    } else if let [first, rest @ ..] = names.as_slice() {
        // Repeats named apart: the first one's name and how many more, so that the curve
        // still says what it is (`#9, 15 remote +1 seed`).
        label.push(' ');
        label.push_str(&more_repeats(first, rest.len(), runs));
    }
    if !distinguishing.is_empty() && distinguishing.len() <= MAX_LEGEND_PARAMS {
        let values: Vec<String> = params::params(first)
            .into_iter()
            .filter(|(name, _)| distinguishing.contains(name))
            .map(|(name, value)| format!("{name} {value}"))
            .collect();
        label.push_str(&format!(": {}", values.join(", ")));
    }
    label
}

/// `remote +1 seed`: the first name of a group whose names share nothing and how many runs
/// follow it, as seeds when every run has its own seed (as
/// [`crate::lab::params::repeats`] counts them), else as runs.
fn more_repeats(first: &str, more: usize, runs: &[&Run]) -> String {
    if more == 0 {
        return first.to_string();
    }
    let mut seeds: Vec<i64> = runs.iter().map(|r| r.hyper.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let (one, many) = if seeds.len() == runs.len() {
        ("seed", "seeds")
    } else {
        ("run", "runs")
    };
    format!("{first} +{}", crate::format::count(more as u64, one, many))
}

/// What `names` share, in whole words (`-`, `_` or space between them): the first name where
/// the others are it or it with more words (`best-recipe` of `best-recipe` and
/// `best-recipe-s1`), the words they start with alike otherwise (`sweep-a` of `sweep-a-s1` and
/// `sweep-a-s2`), or nothing (`remote` and `away`): a repeat's own name is not the group's.
fn shared_name<'a>(names: &[&'a str]) -> &'a str {
    let Some((first, rest)) = names.split_first() else {
        return "";
    };
    let word_end =
        |name: &str, at: usize| name.len() == at || name[at..].starts_with(['-', '_', ' ']);
    let cuts = first
        .char_indices()
        .filter(|&(_, c)| matches!(c, '-' | '_' | ' '))
        .map(|(i, _)| i)
        .chain([first.len()]);
    cuts.rev()
        .find(|&at| {
            let prefix = &first[..at];
            rest.iter()
                .all(|n| n.starts_with(prefix) && word_end(n, at))
        })
        .map_or("", |at| &first[..at])
}

/// Runs grouped by experiment (all but the seed alike, and as many epochs trained,
/// [`crate::lab::params::seed_groups`] at `now`), groups in order of their first run, runs in
/// input order.
pub fn group_by_config(curves: &[RunCurves], now: f64) -> Vec<Vec<&RunCurves>> {
    let runs: Vec<&Run> = curves.iter().map(|c| &c.run).collect();
    crate::lab::params::seed_groups(&runs, now)
        .into_iter()
        .map(|g| g.into_iter().map(|i| &curves[i]).collect())
        .collect()
}

/// Mean and sample standard deviation across series, at the iterations every series has (a
/// series with a gap shortens the band instead of making the mean jump). Where a series holds
/// two values for one iteration (a resumed run), the later one counts.
pub fn mean_std(series: &[&[SeriesPoint]]) -> Vec<(f64, f64, f64)> {
    let mut by_iter: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for s in series {
        let mut last: BTreeMap<i64, f64> = BTreeMap::new();
        for p in s.iter() {
            last.insert(p.iteration, p.value);
        }
        for (it, v) in last {
            by_iter.entry(it).or_default().push(v);
        }
    }
    by_iter
        .into_iter()
        .filter(|(_, vs)| vs.len() == series.len())
        .map(|(it, vs)| {
            let n = vs.len() as f64;
            let mean = vs.iter().sum::<f64>() / n;
            let var = if vs.len() > 1 {
                vs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
            } else {
                0.0
            };
            (it as f64, mean, var.sqrt())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(values: &[(i64, f64)]) -> Vec<SeriesPoint> {
        values
            .iter()
            .map(|&(iteration, value)| SeriesPoint {
                iteration,
                epoch: 1,
                value,
                wall_time: 0.0,
            })
            .collect()
    }

    #[test]
    fn mean_std_uses_common_iterations_and_sample_std() {
        let a = pts(&[(10, 0.2), (20, 0.4), (30, 0.6)]);
        let b = pts(&[(10, 0.4), (20, 0.6)]);
        let got = mean_std(&[&a, &b]);
        assert_eq!(got.len(), 2, "iteration 30 is missing from b");
        assert_eq!(got[0].0, 10.0);
        assert!((got[0].1 - 0.3).abs() < 1e-12);
        // numpy: np.std([0.2, 0.4], ddof=1) -> 0.1414213562373095
        assert!((got[0].2 - 0.141_421_356_237_309_5).abs() < 1e-12);
    }

    #[test]
    fn images_per_sec_is_the_median_of_the_steps() -> Result<()> {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&crate::lab::fixtures::new_run("r"))?;
        // Steady at 4 images/s, then slowed to 1.5 for the last 25 steps (another job came).
        let mut speeds = vec![4.0; 30];
        speeds.extend([1.5; 25]);
        crate::lab::fixtures::record_speeds(&lab, id, &speeds)?;
        let run = lab.run(id)?.expect("run");
        assert_eq!(
            run.images_per_sec,
            Some(1.5),
            "the lab's summary of a live run is its recent steps'"
        );
        // The report takes the median of every step: 30 of the 55 ran at 4.
        assert_eq!(RunCurves::load(&lab, &run)?.images_per_sec, Some(4.0));
        Ok(())
    }

    /// A run started on the CPU and resumed on a GPU, then on it again, then on the CPU: the
    /// table names each device it trained on, in order.
    #[test]
    fn a_resumed_run_names_each_device_it_trained_on() -> Result<()> {
        use crate::lab::Resume;
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&crate::lab::fixtures::new_run("r"))?;
        for (at, device) in [(1.0, "cuda"), (2.0, "cuda"), (3.0, "cpu")] {
            lab.add_resume(
                id,
                &Resume {
                    device: device.into(),
                    gpu_name: (device == "cuda").then(|| "NVIDIA H200".into()),
                    ..crate::lab::fixtures::resume(at, 10, "gpu-box")
                },
            )?;
        }
        let run = lab.run(id)?.expect("run");
        assert_eq!(run.device, "cpu");
        assert_eq!(
            RunCurves::load(&lab, &run)?.devices,
            ["cpu", "cuda (NVIDIA H200)", "cpu"]
        );
        Ok(())
    }

    #[test]
    fn legends_name_runs_and_what_tells_them_apart() {
        use crate::lab::fixtures::run;
        let mut a = run(2, "best-recipe", "resnet18");
        a.hyper.lr = 3e-4;
        a.hyper.epochs = 30;
        let mut b = run(3, "best-recipe-cosine", "resnet18");
        b.hyper.lr = 5e-4;
        b.hyper.lr_schedule = "cosine".into();
        b.hyper.epochs = 50;
        let mut c = b.clone();
        c.id = crate::lab::RunId(4);
        c.name = "best-recipe-cosine-s1".into();
        c.hyper.seed = 1;
        let all = [&a, &b, &c];
        let differ = distinguishing_params(&all);
        assert_eq!(differ, vec!["lr", "lr schedule", "epochs"], "not the seed");
        assert_eq!(
            curve_label(&[&a], &differ),
            "#2 best-recipe: lr 0.0003, lr schedule constant, epochs 30"
        );
        assert_eq!(
            curve_label(&[&b, &c], &differ),
            "#3, 4 best-recipe-cosine: lr 0.0005, lr schedule cosine, epochs 50"
        );
        // Too many differences for a legend: ids and names only.
        let mut d = a.clone();
        d.id = crate::lab::RunId(5);
        d.name = "crop".into();
        d.hyper.crop = 0.5;
        let differ = distinguishing_params(&[&a, &b, &d]);
        assert_eq!(differ.len(), 4);
        assert_eq!(curve_label(&[&d], &differ), "#5 crop");
    }

    /// Repeats whose names share no word (`#9, 15` alone in the legend, its name lost): the
    /// first one's name says what they are, and the rest are counted.
    #[test]
    fn a_group_whose_names_share_nothing_is_named_by_its_first_run() {
        use crate::lab::fixtures::run;
        let d = run(9, "remote", "resnet18");
        let mut e = run(15, "away", "resnet18");
        e.hyper.seed = d.hyper.seed + 1;
        assert_eq!(curve_label(&[&d, &e], &[]), "#9, 15 remote +1 seed");
        // The same seed run again is a run more, not a seed.
        e.hyper.seed = d.hyper.seed;
        assert_eq!(curve_label(&[&d, &e], &[]), "#9, 15 remote +1 run");
        let mut f = run(16, "elsewhere", "resnet18");
        e.hyper.seed = d.hyper.seed + 1;
        f.hyper.seed = d.hyper.seed + 2;
        let mut lr = d.clone();
        lr.hyper.lr = 0.1;
        let differ = distinguishing_params(&[&d, &lr]);
        assert_eq!(
            curve_label(&[&d, &e, &f], &differ),
            "#9, 15, 16 remote +2 seeds: lr 0.001"
        );
        // A run alone keeps its own name.
        assert_eq!(curve_label(&[&e], &[]), "#15 away");
    }

    #[test]
    fn a_group_is_named_by_the_words_its_runs_share() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["best-recipe", "best-recipe-s1", "best-recipe-s2"],
                "best-recipe",
            ),
            (&["sweep-a-s1", "sweep-a-s2"], "sweep-a"),
            (&["crop0.5_s1", "crop0.5_s2"], "crop0.5"),
            (&["remote", "away"], ""),
            (&["run-10", "run-1"], "run"),
            (&["same", "same"], "same"),
        ];
        for (names, want) in cases {
            assert_eq!(shared_name(names), want, "{names:?}");
        }
    }

    #[test]
    fn a_resumed_run_counts_its_later_value() {
        let a = pts(&[(10, 0.1), (10, 0.5)]);
        assert_eq!(mean_std(&[&a]), vec![(10.0, 0.5, 0.0)]);
    }
}
