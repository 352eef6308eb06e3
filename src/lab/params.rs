//! A run's hyperparameters as named, displayable values: what the dashboard's compare view
//! and the report's legends show, and how both tell runs apart.

use super::{Run, RunStatus};

/// Hyperparameters as (name, shown value) pairs.
pub type Params = Vec<(&'static str, String)>;

/// Every hyperparameter of a run, as (name, shown value). The dataset counts: the same config
/// on another split is another experiment.
pub fn params(r: &Run) -> Params {
    use crate::format::setting;
    let h = &r.hyper;
    let opt = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
    vec![
        ("model", h.model.clone()),
        ("batch", h.batch_size.to_string()),
        ("dim", h.embedding_dim.to_string()),
        ("lr", setting(h.lr)),
        ("lr schedule", h.lr_schedule.clone()),
        ("warmup", h.warmup_epochs.to_string()),
        ("weight decay", setting(h.weight_decay)),
        ("epochs", h.epochs.to_string()),
        ("patience", opt(h.patience)),
        ("margin", setting(h.margin)),
        ("image size", h.image_size.to_string()),
        ("crop", setting(h.crop)),
        ("mining", h.mining.clone()),
        ("sampler", h.sampler.clone()),
        ("pk k", opt(h.pk_k)),
        ("normalize", h.normalize.to_string()),
        ("augment", h.augment.to_string()),
        ("zero-init residual", h.zero_init_residual.to_string()),
        ("init", init(r)),
        ("fresh embedding", h.fresh_embedding.to_string()),
        ("imagenet norm", h.imagenet_norm.to_string()),
        ("dropout", h.dropout.map_or("-".into(), |p| p.to_string())),
        ("tf32", h.tf32.to_string()),
        ("eval every", h.eval_every.to_string()),
        ("ckpt every", opt(h.checkpoint_every)),
        ("dataset", opt(r.dataset_id.map(|d| d.0))),
        ("seed", h.seed.to_string()),
    ]
}

/// The images a run trained on as its `--data` gave them (a folder, an archive or `synthetic`);
/// `default` for the default location, `-` where its config cannot be read.
pub fn data(r: &Run) -> String {
    let Ok(config) = serde_json::from_str::<serde_json::Value>(&r.config_json) else {
        return "-".to_string();
    };
    match config.get("data").and_then(|d| d.as_str()) {
        Some("") => "default".to_string(),
        Some(d) => d.to_string(),
        None => "-".to_string(),
    }
}

/// A dataset as tables name it: the last part of its source, the folder or archive its images
/// came from (`lfw-20-30`, `lfw.tgz`), or the generated set (`synthetic:12:24:0`). Two
/// datasets can share a name (one folder filtered or split two ways): their ids tell them apart.
pub fn dataset_name(d: &super::DatasetRecord) -> String {
    std::path::Path::new(&d.source)
        .file_name()
        .map_or(d.source.clone(), |n| n.to_string_lossy().into_owned())
}

/// The `--init` file as its name and the start of its sha256 (`best-00001170.safetensors
/// 3f2a9c0d41e7`), which tells two files of one name apart, or its name alone where the name
/// holds the hash (`resnet18-f37072fd.pth`), after the run that wrote it where that is a run of
/// this lab (`run 51's final.safetensors f33f93d18afb`); `-` for random weights.
pub fn init(r: &Run) -> String {
    let h = &r.hyper;
    let Some(name) = init_file(h) else {
        return "-".to_string();
    };
    let file = match h.init_sha256.as_deref() {
        Some(sha) if !name.contains(&sha[..sha.len().min(8)]) => {
            format!("{name} {}", crate::format::short_hash(sha))
        }
        _ => name,
    };
    match r.init_run {
        Some(parent) => format!("run {parent}'s {file}"),
        None => file,
    }
}

/// The `--init` file's name without its folder (`resnet18-f37072fd.pth`); `None` for random
/// weights.
pub fn init_file(h: &super::Hyperparams) -> Option<String> {
    let path = h.init.as_ref()?;
    Some(
        std::path::Path::new(path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned()),
    )
}

/// Indices of `runs` grouped by experiment: every hyperparameter and the dataset alike, the seed
/// aside, and as many epochs trained, or all completed (repeats that `--patience` stopped after
/// different epochs are one experiment). A run that was cut off (or failed) is no repeat of
/// one that went on: averaged with it, its few epochs would stand for the whole group (the
/// comparison figure's mean covers only the epochs every repeat has). Runs still training group
/// among themselves, so that seeds training side by side stay one group while their epoch
/// counts pass each other; a run is training as [`Run::effective_status`] sees it at `now` (one
/// whose process died unrecorded has stopped). Groups come in order of their first run, runs in
/// input order.
pub fn seed_groups(runs: &[&Run], now: f64) -> Vec<Vec<usize>> {
    let key = |r: &Run| -> (Params, Trained) {
        let params = params(r)
            .into_iter()
            .filter(|(n, _)| *n != "seed")
            .collect();
        (params, Trained::of(r, now))
    };
    let mut groups: Vec<((Params, Trained), Vec<usize>)> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let k = key(r);
        match groups.iter_mut().find(|(gk, _)| *gk == k) {
            Some((_, members)) => members.push(i),
            None => groups.push((k, vec![i])),
        }
    }
    groups.into_iter().map(|(_, m)| m).collect()
}

/// How far a run trained, as [`seed_groups`] compares runs: still training, completed (every
/// epoch, or as many as its `--patience` allowed), or stopped after this many epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trained {
    Training,
    Completed,
    Stopped(i64),
}

impl Trained {
    fn of(r: &Run, now: f64) -> Trained {
        match r.effective_status(now) {
            RunStatus::Running => Trained::Training,
            RunStatus::Completed => Trained::Completed,
            _ => Trained::Stopped(r.epochs_done()),
        }
    }
}

/// How many runs a seed group holds, in words: "3 seeds" when their seeds all differ, else
/// "3 runs" (the same seed run again, e.g. on another machine).
pub fn repeats(runs: &[&Run]) -> String {
    let mut seeds: Vec<i64> = runs.iter().map(|r| r.hyper.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let kind = if seeds.len() == runs.len() {
        "seeds"
    } else {
        "runs"
    };
    format!("{} {kind}", runs.len())
}

/// The names of the hyperparameters whose values are not all equal.
pub fn differing(runs: &[&Run]) -> Vec<&'static str> {
    let all: Vec<Params> = runs.iter().map(|r| params(r)).collect();
    let Some(first) = all.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .filter(|(i, (_, v))| all.iter().any(|p| p[*i].1 != *v))
        .map(|(_, (name, _))| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::run;

    #[test]
    fn an_init_file_shows_as_its_name_with_its_hash_where_the_name_lacks_it() {
        let mut r = run(1, "r", "resnet18");
        assert_eq!(init(&r), "-");
        r.hyper.init = Some("/w/best-00001170.safetensors".into());
        r.hyper.init_sha256 = Some("3f2a9c0d41e7aa".into());
        assert_eq!(init(&r), "best-00001170.safetensors 3f2a9c0d41e7");
        r.init_run = Some(super::super::RunId(51));
        assert_eq!(init(&r), "run 51's best-00001170.safetensors 3f2a9c0d41e7");
        r.init_run = None;
        r.hyper.init = Some("/w/resnet18-3f2a9c0d.pth".into());
        assert_eq!(init(&r), "resnet18-3f2a9c0d.pth");
        let shown = params(&r);
        assert!(shown.contains(&("init", "resnet18-3f2a9c0d.pth".to_string())));
    }

    #[test]
    fn a_dataset_is_named_by_the_last_part_of_its_source() {
        let named = |source: &str| dataset_name(&super::super::fixtures::dataset(source));
        assert_eq!(named("/work/shared/data/lfw-20-30"), "lfw-20-30");
        assert_eq!(named("/data/lfw.tgz"), "lfw.tgz");
        assert_eq!(named("synthetic:12:24:0"), "synthetic:12:24:0");
        assert_eq!(named("/"), "/");
    }
}
