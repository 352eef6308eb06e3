//! The series a report draws, read once per run, and runs
//! grouped by configuration so that repeats with different seeds become one mean ± std curve.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::lab::{median, metric, params, Lab, Run, SeriesPoint};

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
    /// The images it trained on and how they were split; `None` where the lab records none.
    pub data: Option<DataInfo>,
    /// The iteration of its `best` checkpoint, the one its test and LFW numbers measure (the
    /// latest, where a resume wrote another); `None` where it has none.
    pub best_iteration: Option<i64>,
}

/// A dataset as the report names it: what it holds, how it was split, and what guessing scores
/// on its dev split.
#[derive(Clone, Debug, PartialEq)]
pub struct DataInfo {
    pub id: i64,
    /// The last part of its source: `lfw-20-30`, `synthetic:12:24:0`.
    pub name: String,
    pub n_identities: i64,
    pub n_images: i64,
    /// Each split's name and number of images, train, dev, test.
    pub splits: Vec<(String, i64)>,
    /// The identities of its train split: dev accuracy's gallery, each identity its first
    /// training image, so that guessing scores 1 in this many.
    pub gallery: Option<i64>,
}

impl DataInfo {
    /// Dataset `id` as the lab records it; `None` where it records no such dataset.
    pub fn load(lab: &Lab, id: crate::lab::DatasetId) -> Result<Option<DataInfo>> {
        let Some(d) = lab.dataset(id)? else {
            return Ok(None);
        };
        let gallery = d.splits.iter().find(|s| s.name == "train").map(|s| {
            let ids: std::collections::BTreeSet<&str> =
                s.members.iter().map(|m| m.identity.as_str()).collect();
            ids.len() as i64
        });
        Ok(Some(DataInfo {
            id: id.0,
            name: params::dataset_name(&d),
            n_identities: d.n_identities,
            n_images: d.n_images,
            splits: d
                .splits
                .iter()
                .map(|s| (s.name.clone(), s.members.len() as i64))
                .collect(),
            gallery,
        }))
    }

    /// `lfw-20-30 (30 people, 713 images)`.
    pub fn label(&self) -> String {
        format!(
            "{} ({} people, {} images)",
            self.name, self.n_identities, self.n_images
        )
    }

    /// `581 train, 62 dev and 70 test images`; `None` for a dataset recorded without splits.
    pub fn split_sizes(&self) -> Option<String> {
        let parts: Vec<String> = self
            .splits
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect();
        match parts.as_slice() {
            [] => None,
            [one] => Some(format!("{one} images")),
            [init @ .., last] => Some(format!("{} and {last} images", init.join(", "))),
        }
    }

    /// How many images its dev split holds, where it has one.
    pub fn dev_images(&self) -> Option<i64> {
        self.splits.iter().find(|(n, _)| n == "dev").map(|s| s.1)
    }

    /// What guessing scores in dev accuracy: one identity of the gallery's, at random.
    pub fn chance(&self) -> Option<f64> {
        self.gallery.filter(|&n| n > 0).map(|n| 1.0 / n as f64)
    }
}

impl RunCurves {
    /// `run` with no curves, trained on the CPU, of no recorded dataset: for tests to fill in.
    #[cfg(test)]
    pub(crate) fn bare(run: Run) -> RunCurves {
        RunCurves {
            run,
            train_acc: Vec::new(),
            dev_acc: Vec::new(),
            dev_acc_centroid: Vec::new(),
            train_loss: Vec::new(),
            images_per_sec: None,
            devices: vec!["cpu".into()],
            data: None,
            best_iteration: None,
        }
    }

    /// The curves and what the report shows of each of `runs`, in order, reading each dataset
    /// once.
    pub fn load_all(lab: &Lab, runs: &[Run]) -> Result<Vec<RunCurves>> {
        let datasets = lab.datasets_of(runs, DataInfo::load)?;
        runs.iter()
            .map(|run| {
                let data = run.dataset_id.and_then(|id| datasets.get(&id.0).cloned());
                Self::load_with(lab, run, data)
            })
            .collect()
    }

    fn load_with(lab: &Lab, run: &Run, data: Option<DataInfo>) -> Result<RunCurves> {
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
        // The latest best, as the lab's headline numbers take it.
        let best_iteration = lab
            .checkpoints(run.id)?
            .iter()
            .filter(|c| c.kind == "best")
            .map(|c| c.iteration)
            .max();
        Ok(RunCurves {
            devices,
            data,
            best_iteration,
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

/// A legend entry for the curve of `runs` (one run, or repeats of one configuration): their ids
/// and, compactly, each of the `distinguishing` hyperparameters, however many, so that no two
/// curves read as alike where their settings are not: `#4: lr 0.0005 cosine, 2 warm-up · 90
/// epochs` ([`settings_of`]). Where no setting tells the curves apart, the name the runs share
/// ([`shared_name`]) does: `#3, 4 best-recipe`. Runs that did not all finish their epochs say
/// how far they got ([`epochs_trained`]: `77 of 300 epochs`), in the place of the epochs
/// planned where those differ, else after the settings or the name.
pub fn curve_label(runs: &[&Run], distinguishing: &[&str]) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = runs.iter().map(|r| r.id.to_string()).collect();
    // Spaced: at a legend's size, `#5,6` reads as `#5.6`.
    let mut label = format!("#{}", ids.join(", "));
    // How far they got, where no setting said it already.
    let cut_short = epochs_trained(runs).filter(|_| !distinguishing.contains(&"epochs"));
    let mut settings = settings_of(runs, distinguishing);
    if !settings.is_empty() {
        settings.extend(cut_short);
        label.push_str(&format!(": {}", settings.join(" · ")));
        return label;
    }
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
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
    if let Some(trained) = cut_short {
        label.push_str(&format!(" · {trained}"));
    }
    label
}

/// How far `runs` (one run, or repeats of one experiment, all planned as many epochs as the
/// first) trained where any of them did not finish its epochs (stopped early, or still
/// training): `77 of 300 epochs`, as [`Run::epochs_done`] counts them; `77–120 of 300 epochs`
/// for repeats still training, one further on than another, or completed, their --patience
/// stopping them after different epochs (the only runs of different epochs that
/// [`crate::lab::params::seed_groups`] puts in one group: it parts runs cut off by the epochs
/// they trained); `None` where every one trained every epoch.
pub(super) fn epochs_trained(runs: &[&Run]) -> Option<String> {
    let planned = runs.first()?.hyper.epochs;
    let done: Vec<i64> = runs.iter().map(|r| r.epochs_done().min(planned)).collect();
    let lo = *done.iter().min()?;
    let hi = *done.iter().max()?;
    if lo >= planned {
        return None;
    }
    let done = match lo == hi {
        true => lo.to_string(),
        false => format!("{lo}–{hi}"),
    };
    Some(format!("{done} of {planned} epochs"))
}

/// The order a legend names settings in, as the results table's columns do: the network, its
/// input, its batches and loss, how it learns and for how long; then any other, as
/// [`params::params`] lists them.
const SETTING_ORDER: [&str; 25] = [
    "model",
    "zero-init residual",
    "init",
    "fresh embedding",
    "dropout",
    "tf32",
    "image size",
    "crop",
    "imagenet norm",
    "augment",
    "batch",
    "sampler",
    "pk k",
    "dim",
    "normalize",
    "mining",
    "margin",
    "lr",
    "lr schedule",
    "warmup",
    "weight decay",
    "epochs",
    "patience",
    "eval every",
    "dataset",
];

/// The settings of `runs` (one run, or repeats of one experiment) among `names`, each as a
/// legend says it, in [`SETTING_ORDER`]: values as the results table writes them (`resnet152`,
/// `64px`, `crop 0.5`, `batch 32`, `pk (K=4) batches`, `semihard triplets`, `lr 0.0005 cosine,
/// 2 warm-up`, `90 epochs`) and a switch by its name where it is on (`zero-init`, `augment`,
/// `from run 51's final.safetensors f33f93d18afb`), as the table's architecture, init and input
/// columns name them. A run with every one of them off says so (`no augment`), so that no
/// entry is left without its settings. Where the checkpoints were written is left out: it
/// changes nothing that is drawn. The settings are the first run's (repeats share them); the
/// epochs say how far the runs got where they did not all finish ([`epochs_trained`]).
pub fn settings_of(runs: &[&Run], names: &[&str]) -> Vec<String> {
    let Some(&run) = runs.first() else {
        return Vec::new();
    };
    let rank = |name: &str| {
        SETTING_ORDER
            .iter()
            .position(|n| *n == name)
            .unwrap_or(SETTING_ORDER.len())
    };
    let mut chosen: Vec<(usize, usize, &str, String)> = params::params(run)
        .into_iter()
        .enumerate()
        .filter(|(_, (name, _))| names.contains(name) && *name != "ckpt every")
        .map(|(i, (name, value))| (rank(name), i, name, value))
        .collect();
    chosen.sort_unstable();
    let h = &run.hyper;
    let mut on = Vec::new();
    let mut off = Vec::new();
    for (_, _, name, value) in &chosen {
        // K is a setting of pk batches only: of others' it changes nothing.
        if *name == "pk k" && h.sampler != "pk" {
            continue;
        }
        let value = value.as_str();
        let switch = |word: &str, is_on: bool| match is_on {
            true => Some(word.to_string()),
            false => None,
        };
        let token = match *name {
            "model" => Some(value.to_string()),
            "zero-init residual" => switch("zero-init", h.zero_init_residual),
            // The file as the table's init column names it, its run's and the start of its
            // sha256 with it: run 51's best and final weights are not one init.
            "init" => params::init_file(h).map(|_| format!("from {}", params::init(run))),
            "fresh embedding" => switch("fresh embedding", h.fresh_embedding),
            "dropout" => h
                .dropout
                .filter(|&p| h.model != "alexnet" || p != f64::from(crate::model::alexnet::DROPOUT))
                .map(|p| format!("dropout {p}")),
            "tf32" => switch("TF32", h.tf32),
            "imagenet norm" => switch("ImageNet norm", h.imagenet_norm),
            "augment" => switch("augment", h.augment),
            "normalize" => switch("normalized", h.normalize),
            "image size" => Some(format!("{value}px")),
            "crop" => Some(format!("crop {value}")),
            "batch" => Some(format!("batch {value}")),
            "sampler" | "pk k" => Some(match (h.sampler.as_str(), h.pk_k) {
                ("pk", Some(k)) => format!("pk (K={k}) batches"),
                (s, _) => format!("{s} batches"),
            }),
            "dim" => Some(format!("dim {value}")),
            "mining" => Some(format!("{value} triplets")),
            "margin" => Some(format!("margin {value}")),
            // The rate as the table's lr column writes it, whichever of its parts differs.
            "lr" | "lr schedule" | "warmup" => Some(format!("lr {}", learning_rate(h))),
            "weight decay" => Some(format!("wd {value}")),
            "epochs" => Some(epochs_trained(runs).unwrap_or_else(|| format!("{value} epochs"))),
            "eval every" => Some(format!("dev every {value} epochs")),
            "patience" => h.patience.map(|n| format!("patience {n}")),
            _ => Some(format!("{name} {value}")),
        };
        match token {
            // The learning rate's parts say one token between them.
            Some(t) if on.contains(&t) => {}
            Some(t) => on.push(t),
            None => off.push(match *name {
                "zero-init residual" => "no zero-init".to_string(),
                "init" => "random init".into(),
                "dropout" => "default dropout".into(),
                "fresh embedding" => "kept embedding".into(),
                "normalize" => "raw embeddings".into(),
                "patience" => "no early stop".into(),
                other => format!("no {other}"),
            }),
        }
    }
    if on.is_empty() {
        return off;
    }
    on
}

/// `0.0001`, or `0.0005 cosine, 2 warm-up` for a scheduled rate, as the results table's lr
/// column writes it (which adds the weight decay, here a setting of its own).
pub(super) fn learning_rate(h: &crate::lab::Hyperparams) -> String {
    let mut s = crate::format::setting(h.lr);
    if h.lr_schedule != "constant" {
        s.push_str(&format!(" {}", h.lr_schedule));
    }
    if h.warmup_epochs > 0 {
        s.push_str(&format!(", {} warm-up", h.warmup_epochs));
    }
    s
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
pub fn band(series: &[&[SeriesPoint]]) -> Vec<(f64, f64, f64)> {
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
        .filter_map(|(it, vs)| {
            let (mean, std) = crate::lab::mean_std(&vs)?;
            Some((it as f64, mean, std))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order names only settings [`params::params`] names, each once: one renamed there
    /// would otherwise fall to the end of every legend.
    #[test]
    fn the_order_names_the_runs_settings() {
        let names: Vec<&str> = params::params(&crate::lab::fixtures::run(1, "r", "resnet18"))
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        for (i, name) in SETTING_ORDER.iter().enumerate() {
            assert!(names.contains(name), "{name} is no setting of {names:?}");
            assert!(!SETTING_ORDER[..i].contains(name), "{name} twice");
        }
    }

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
    fn band_uses_common_iterations_and_sample_std() {
        let a = pts(&[(10, 0.2), (20, 0.4), (30, 0.6)]);
        let b = pts(&[(10, 0.4), (20, 0.6)]);
        let got = band(&[&a, &b]);
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
        assert_eq!(
            RunCurves::load_all(&lab, std::slice::from_ref(&run))?[0].images_per_sec,
            Some(4.0)
        );
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
            RunCurves::load_all(&lab, std::slice::from_ref(&run))?[0].devices,
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
        // The rate as the table writes it, its schedule with it.
        assert_eq!(curve_label(&[&a], &differ), "#2: lr 0.0003 · 30 epochs");
        assert_eq!(
            curve_label(&[&b, &c], &differ),
            "#3, 4: lr 0.0005 cosine · 50 epochs"
        );
        // However many differ, each is named: the model and the input as well.
        let mut d = a.clone();
        d.id = crate::lab::RunId(5);
        d.name = "crop".into();
        d.hyper.crop = 0.5;
        d.hyper.model = "alexnet".into();
        d.hyper.image_size = 128;
        d.hyper.dropout = Some(0.0);
        let differ = distinguishing_params(&[&a, &b, &d]);
        assert_eq!(differ.len(), 7, "{differ:?}");
        assert_eq!(
            curve_label(&[&d], &differ),
            "#5: alexnet · dropout 0 · 128px · crop 0.5 · lr 0.0003 · 30 epochs"
        );
        assert_eq!(
            curve_label(&[&a], &differ),
            "#2: resnet18 · 64px · crop 1 · lr 0.0003 · 30 epochs"
        );
        // No setting differs: the name the runs share says what the curve is.
        assert_eq!(curve_label(&[&b, &c], &[]), "#3, 4 best-recipe-cosine");
    }

    /// Run 41 was interrupted after 77 of its 300 epochs: its legend said `300 epochs`. Runs
    /// that did not all finish say how far they got, where the epochs planned tell curves apart
    /// and where they do not; runs that finished say what they planned.
    #[test]
    fn a_curve_of_runs_that_stopped_short_says_how_far_they_got() {
        use crate::lab::{fixtures::run, RunStatus};
        let mut cut = run(41, "best-recipe-224px-crop0.5", "resnet18");
        cut.hyper.epochs = 300;
        cut.status = RunStatus::Interrupted;
        (cut.iters_per_epoch, cut.last_iteration) = (Some(19), 1463);
        let mut done = run(26, "best-recipe-128px-crop0.5", "resnet18");
        done.hyper.epochs = 90;
        let differ = distinguishing_params(&[&cut, &done]);
        assert!(differ.contains(&"epochs"), "{differ:?}");
        assert_eq!(curve_label(&[&cut], &differ), "#41: 77 of 300 epochs");
        assert_eq!(curve_label(&[&done], &differ), "#26: 90 epochs");
        // Repeats still training, one further on than the other: how far the least and the
        // furthest got.
        let mut a = cut.clone();
        a.status = RunStatus::Running;
        let mut b = a.clone();
        (b.id, b.hyper.seed, b.last_iteration) = (crate::lab::RunId(42), 1, 19 * 120 + 5);
        assert_eq!(
            curve_label(&[&a, &b], &differ),
            "#41, 42: 77–120 of 300 epochs"
        );
        // Where the epochs planned are alike, the run cut short still says so, after its other
        // settings or its name; one that finished says nothing of them.
        let mut full = cut.clone();
        (full.id, full.status, full.hyper.lr) = (crate::lab::RunId(44), RunStatus::Completed, 0.1);
        let differ = distinguishing_params(&[&cut, &full]);
        assert_eq!(differ, ["lr"]);
        assert_eq!(
            curve_label(&[&cut], &differ),
            "#41: lr 0.001 · 77 of 300 epochs"
        );
        assert_eq!(curve_label(&[&full], &differ), "#44: lr 0.1");
        assert_eq!(
            curve_label(&[&cut], &[]),
            "#41 best-recipe-224px-crop0.5 · 77 of 300 epochs"
        );
    }

    /// A switch is named where it is on, as the table's columns name it; a run with all of the
    /// differing ones off says so rather than nothing.
    #[test]
    fn switches_are_named_where_on_and_a_run_with_none_on_says_so() {
        use crate::lab::fixtures::run;
        let plain = run(1, "plain", "resnet18");
        let mut tuned = run(2, "tuned", "resnet18");
        tuned.hyper.augment = true;
        tuned.hyper.zero_init_residual = true;
        tuned.hyper.init = Some("/w/final.safetensors".into());
        tuned.init_run = Some(crate::lab::RunId(51));
        let differ = distinguishing_params(&[&plain, &tuned]);
        assert_eq!(
            curve_label(&[&tuned], &differ),
            "#2: zero-init · from run 51's final.safetensors · augment"
        );
        // Run 51's best and final weights: two inits, named apart by file and hash.
        let mut best = tuned.clone();
        best.id = crate::lab::RunId(3);
        best.hyper.init = Some("/w/best-00001170.safetensors".into());
        best.hyper.init_sha256 = Some(format!("3f2a9c0d41e7{}", "0".repeat(52)));
        let mut last = best.clone();
        last.id = crate::lab::RunId(4);
        last.hyper.init = Some("/w/final.safetensors".into());
        last.hyper.init_sha256 = Some(format!("f33f93d18afb{}", "0".repeat(52)));
        let inits = distinguishing_params(&[&best, &last]);
        assert_eq!(
            [curve_label(&[&best], &inits), curve_label(&[&last], &inits)],
            [
                "#3: from run 51's best-00001170.safetensors 3f2a9c0d41e7",
                "#4: from run 51's final.safetensors f33f93d18afb"
            ]
        );
        assert_eq!(
            curve_label(&[&plain], &differ),
            "#1: no zero-init · random init · no augment"
        );
        // Batches: the sampler with its K; where the checkpoints went is not a setting drawn.
        let mut random = plain.clone();
        random.hyper.sampler = "random".into();
        random.hyper.pk_k = None;
        random.hyper.checkpoint_every = Some(5);
        let differ = distinguishing_params(&[&plain, &random]);
        assert_eq!(curve_label(&[&random], &differ), "#1: random batches");
        assert_eq!(curve_label(&[&plain], &differ), "#1: pk (K=4) batches");
        // Random batches whose unused K differs: no K, and no batches token where the sampler
        // is alike.
        let mut other_k = random.clone();
        other_k.id = crate::lab::RunId(2);
        other_k.hyper.pk_k = Some(8);
        other_k.hyper.lr = 1.0;
        let differ = distinguishing_params(&[&random, &other_k]);
        assert!(differ.contains(&"pk k"), "{differ:?}");
        assert_eq!(curve_label(&[&other_k], &differ), "#2: lr 1");
        // Pk batches whose K differs are told apart by it.
        let mut k8 = plain.clone();
        k8.id = crate::lab::RunId(2);
        k8.hyper.pk_k = Some(8);
        let differ = distinguishing_params(&[&plain, &k8]);
        assert_eq!(curve_label(&[&k8], &differ), "#2: pk (K=8) batches");
    }

    /// What the report knows of a dataset: its splits' sizes and the identities dev accuracy
    /// guesses among.
    #[test]
    fn a_dataset_is_read_with_its_splits_and_gallery() -> Result<()> {
        use crate::lab::{DatasetRecord, MemberRecord, SplitRecord};
        let lab = Lab::open_in_memory()?;
        let member = |id: &str, f: &str| MemberRecord {
            identity: id.into(),
            file: f.into(),
            sha256: format!("sha-{f}"),
        };
        let split = |name: &str, members: Vec<MemberRecord>| SplitRecord {
            name: name.into(),
            hash: name.into(),
            members,
        };
        let id = lab.ensure_dataset(&DatasetRecord {
            kind: "dir".into(),
            source: "/data/faces-3".into(),
            min_images: 1,
            max_images: 9,
            split_seed: None,
            n_identities: 3,
            n_images: 7,
            content_hash: "c".into(),
            splits: vec![
                split(
                    "train",
                    vec![member("a", "a1"), member("a", "a2"), member("b", "b1")],
                ),
                split("dev", vec![member("a", "a3"), member("b", "b2")]),
                split("test", vec![member("c", "c1"), member("b", "b3")]),
            ],
        })?;
        let d = DataInfo::load(&lab, id)?.expect("recorded");
        assert_eq!(d.label(), "faces-3 (3 people, 7 images)");
        assert_eq!(
            d.split_sizes().as_deref(),
            Some("3 train, 2 dev and 2 test images")
        );
        assert_eq!(d.dev_images(), Some(2));
        // Identity c has no training image: the gallery holds 2.
        assert_eq!(d.gallery, Some(2));
        assert_eq!(d.chance(), Some(0.5));
        assert_eq!(DataInfo::load(&lab, crate::lab::DatasetId(99))?, None);
        // Runs of it read it once, and each carries it.
        let mut new = crate::lab::fixtures::new_run("r");
        new.dataset_id = Some(id);
        let run = lab.create_run(&new)?;
        let runs = vec![lab.run(run)?.expect("run"), lab.run(run)?.expect("run")];
        let curves = RunCurves::load_all(&lab, &runs)?;
        assert!(curves.iter().all(|c| c.data.as_ref() == Some(&d)));
        Ok(())
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
            curve_label(&[&d, &e, &f], &[]),
            "#9, 15, 16 remote +2 seeds"
        );
        // Where a setting tells the curves apart, it does instead.
        assert_eq!(curve_label(&[&d, &e, &f], &differ), "#9, 15, 16: lr 0.001");
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
        assert_eq!(band(&[&a]), vec![(10.0, 0.5, 0.0)]);
    }
}
