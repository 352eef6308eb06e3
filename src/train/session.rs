//! A run from start to finish: resolve the data, register the run in the lab, train with the
//! recorder and console attached, and close the run as completed, interrupted or failed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};

use crate::data::{self, DataSpec, Dataset, ImportOptions};
use crate::lab::{CodeVersion, Lab, Machine, NewRun, Resume, RunId, RunStatus};
use crate::train::checkpoint;
use crate::train::config::{DeviceChoice, Overrides, TrainConfig};
use crate::train::console::Console;
use crate::train::device;
use crate::train::events::{CheckpointKind, Outcome};
use crate::train::pretrained::{InitWeights, Plan};
use crate::train::recorder::{Heartbeat, Recorder};
use crate::train::trainer::{Control, Trainer};

/// How a run is started, beyond its configuration.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    pub command_line: String,
    /// Where this process's output goes, as given (relative to the working directory); the
    /// lab records it relative to itself.
    pub log_path: Option<PathBuf>,
    pub stop_after_epoch: Option<usize>,
    /// Stop after this much training time, as `stop_after_epoch` does.
    pub time_limit: Option<std::time::Duration>,
    /// No progress bars (loading, training): plain lines, as off a terminal.
    pub quiet: bool,
    /// Stop as Ctrl-C stops the run after this step: an interruption mid-epoch, reproduced
    /// (for tests and tools; `run` has no flag for it).
    pub stop_after_step: Option<u64>,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub run: RunId,
    pub outcome: Outcome,
    pub summary: String,
}

/// Whether a `data` setting names images that are here ([`DataSpec::is_here`]).
fn data_present(data: &str) -> bool {
    data.parse::<DataSpec>().is_ok_and(|s| s.is_here())
}

/// The `data` setting made concrete: a path, `synthetic…`, or the `data fetch` location.
pub fn resolve_data(data: &str) -> Result<String> {
    if data.is_empty() {
        return Ok(data::default_dataset_path()?.to_string_lossy().into_owned());
    }
    // A malformed `synthetic:` spec is reported by its parser.
    data.parse::<DataSpec>()?;
    if !data_present(data) {
        let from = crate::format::relative_path_note(Path::new(data));
        bail!("--data '{data}' does not exist{from}: give an LFW directory or lfw.tgz, `synthetic`, or run `facenet-lab data fetch`");
    }
    // A path as the run records it: absolute, so that `--like` and `--resume` from another
    // working directory read these images, not others at the same relative path there.
    Ok(match data.parse::<DataSpec>() {
        Ok(DataSpec::Path(p)) => p.canonicalize().map_or_else(
            |_| data.to_string(),
            |abs| abs.to_string_lossy().into_owned(),
        ),
        _ => data.to_string(),
    })
}

fn load_dataset(cfg: &TrainConfig, quiet: bool) -> Result<Dataset> {
    let spec: DataSpec = cfg.data.parse()?;
    let opts = ImportOptions {
        min_images: cfg.min_images,
        max_images: cfg.max_images,
        split_seed: cfg.split_seed,
        image_size: cfg.image_size,
        crop: cfg.crop,
        progress: !quiet,
    };
    data::load(&spec, &opts).with_context(|| format!("loading data from '{}'", cfg.data))
}

/// Refuses training images among which no triplet can form (two images of one person and one
/// of another): a split that gives no one two training images, or one person alone.
fn check_triplets_can_form(labels: &[u32], data: &str) -> Result<()> {
    // The rule a batch is held to, over the whole training split.
    if crate::train::trainer::has_triplet(labels) {
        return Ok(());
    }
    let people: std::collections::BTreeSet<u32> = labels.iter().copied().collect();
    // Generated faces come as many as asked; LFW's people are picked by their image counts.
    let synthetic = matches!(data.parse(), Ok(crate::data::DataSpec::Synthetic { .. }));
    let (why, hint) = match (people.len(), synthetic) {
        (0, _) => ("there are none", "other images"),
        (1, true) => (
            "they are all of one person",
            "more people, e.g. synthetic:12:20",
        ),
        (1, false) => (
            "they are all of one person",
            "images of more people, e.g. a lower --min-images",
        ),
        (_, true) => (
            "no person has two",
            "more images per person, e.g. synthetic:12:20, so that each keeps two or more for \
             training",
        ),
        (_, false) => (
            "no person has two",
            "more images per person, e.g. a higher --min-images, so that each keeps two or more \
             for training",
        ),
    };
    bail!(
        "no triplet can form among the training images of '{data}': {why}, and a triplet needs \
         two images of one person and one of another (give it {hint})"
    )
}

/// A warning where many of a run's batches will hold no triplet, and so be skipped, training
/// nothing, as its first epoch's batches show (a tenth or more): the seed's random batches of a
/// few images among many people often draw no two of one person. None where few do, as an
/// epoch's remainder batch may.
fn batches_without_triplets(cfg: &TrainConfig, labels: &[u32]) -> Option<String> {
    let batches =
        crate::train::sampler::epoch_batches(cfg.sampler, labels, cfg.batch, cfg.pk_k, cfg.seed, 1);
    let skipped = batches
        .iter()
        .filter(|b| {
            let of: Vec<u32> = b.iter().map(|&i| labels[i]).collect();
            !crate::train::trainer::has_triplet(&of)
        })
        .count();
    (skipped > 1 && skipped * 10 >= batches.len()).then(|| {
        format!(
            "warning: {skipped} of the first epoch's {} batches ({:.0}%) hold no triplet (two \
             images of one person and one of another) and will be skipped, training nothing: a \
             larger --batch, or --sampler pk, gives every batch some",
            batches.len(),
            100.0 * skipped as f64 / batches.len() as f64
        )
    })
}

/// A new run's checkpoint folder, created here: `checkpoints/<name>` ([`Lab::run_folder_name`]). A
/// folder that already exists (a deleted lab's run N, another lab's) is never shared: the next
/// free one of `-2`, `-3`, ... is taken.
fn new_checkpoint_dir(lab: &Lab, run: RunId) -> Result<PathBuf> {
    let root = lab.dir().join("checkpoints");
    std::fs::create_dir_all(&root)
        .with_context(|| format!("creating the checkpoint folder '{}'", root.display()))?;
    let name = lab.run_folder_name(run);
    for n in 1.. {
        let dir = root.join(if n == 1 {
            name.clone()
        } else {
            format!("{name}-{n}")
        });
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("creating '{}'", dir.display()));
            }
        }
    }
    unreachable!("an unbounded range ends only by returning")
}

/// The folder a resumed run writes its checkpoints to (and the only one it deletes from): the
/// folder of its latest checkpoint that this lab wrote for it; else its own empty folder (a run
/// that stopped before its first checkpoint); else a new one. A run merged from another lab
/// never writes into, or deletes from, the folder its checkpoints came in.
fn run_checkpoint_dir(lab: &Lab, run: RunId) -> Result<PathBuf> {
    let own = lab
        .checkpoints(run)?
        .into_iter()
        .rev()
        .filter_map(|c| lab.resolve(&c.path).parent().map(Path::to_path_buf))
        .find(|dir| lab.is_own_checkpoint_folder(run, dir));
    if let Some(dir) = own {
        checkpoint::remove_partial(&dir);
        return Ok(dir);
    }
    // Empty, or holding only a checkpoint half written when the run quit at once.
    let first = lab.dir().join("checkpoints").join(lab.run_folder_name(run));
    if first.is_dir() && checkpoint::remove_partial(&first) {
        return Ok(first);
    }
    new_checkpoint_dir(lab, run)
}

/// Refuses a `--stop-after-epoch` that could never stop the run: 0, one it has already trained
/// past (`done` epochs), or its last epoch or later, where it completes anyway.
fn check_stop_after(stop: Option<usize>, done: usize, epochs: usize) -> Result<()> {
    if stop == Some(0) {
        bail!("--stop-after-epoch must be at least 1: the run stops after that epoch");
    }
    let Some(n) = stop.filter(|&n| n <= done || n >= epochs) else {
        return Ok(());
    };
    let resumes = if done > 0 {
        format!("resumes after epoch {done} and ")
    } else {
        String::new()
    };
    let instead = if done + 2 == epochs {
        format!("only epoch {} can be given, or drop it", done + 1)
    } else if done + 1 < epochs {
        format!(
            "give an epoch from {} to {}, or drop it",
            done + 1,
            epochs - 1
        )
    } else {
        "it has no epoch left to stop after, so drop it".to_string()
    };
    bail!("--stop-after-epoch {n} would never stop this run: it {resumes}trains to epoch {epochs}; {instead}")
}

/// What a run trains on, as its first line says: `run 3 (name) on cpu: 581 train / 62 dev /
/// 70 test images of 30 identities` (`resumes on` for a resumed run).
fn headline(
    run: RunId,
    name: &str,
    on: &str,
    device: &candle_core::Device,
    device_name: &str,
    dataset: &Dataset,
) -> String {
    format!(
        "run {run} ({name}) {on} {device_name}{}: {} train / {} dev / {} test images of {} \
         identities",
        device::gpu_name(device)
            .map(|g| format!(" ({g})"))
            .unwrap_or_default(),
        dataset.train.len(),
        dataset.dev.len(),
        dataset.test.len(),
        dataset.manifest.identities.len()
    )
}

/// Removes the lab file at `db` (and SQLite's `-wal` and `-shm` beside it) that a run refused
/// before it recorded anything had created.
fn remove_empty_lab(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}

/// Starts a new run, recording `like` as the run whose settings it started with, if any.
pub fn start(
    db: &Path,
    mut cfg: TrainConfig,
    like: Option<RunId>,
    launch: &Launch,
    stop: &AtomicBool,
) -> Result<Finished> {
    cfg.validate()?;
    check_stop_after(launch.stop_after_epoch, 0, cfg.epochs)?;
    let (device, device_name) = device::select(cfg.device)?;
    device::set_tf32(&device, &device_name, cfg.tf32)?;
    let fetched = cfg.data.is_empty();
    cfg.data = resolve_data(&cfg.data)?;
    if let Some(warning) = fetched
        .then(|| data::fetch::unofficial_archive(Path::new(&cfg.data)))
        .flatten()
    {
        crate::say!("{warning}");
    }
    let init = match &cfg.init {
        Some(path) => {
            // A run like another carries in the sha256 of the file that run started from,
            // compared here with the file as read (once: its sha256 comes with it).
            let read = InitWeights::read(Path::new(path));
            if let (Some(like), Some(sha)) = (like, cfg.init_sha256.take()) {
                like_init_unchanged(like, path, &sha, read.as_ref().map(|w| w.sha256.as_str()))?;
            }
            let mut w = read?;
            let plan = w.check(cfg.model, cfg.dim, cfg.fresh_embedding)?;
            w.keep_only(&plan);
            cfg.init = Some(w.path.to_string_lossy().into_owned());
            cfg.init_sha256 = Some(w.sha256.clone());
            Some(w)
        }
        None => None,
    };
    // Opened before the data loads, so that a bad --db is said at once; a lab this run
    // created goes again if its data is refused, rather than stay behind empty.
    let created = !db.exists();
    let lab = Lab::open(db)?;
    let loaded = load_dataset(&cfg, launch.quiet).and_then(|dataset| {
        check_triplets_can_form(&dataset.train.labels, &cfg.data)?;
        Ok(dataset)
    });
    let dataset = match loaded {
        Ok(dataset) => {
            if let Some(warning) = batches_without_triplets(&cfg, &dataset.train.labels) {
                crate::say!("{warning}");
            }
            dataset
        }
        Err(e) => {
            if created && lab.list_runs().is_ok_and(|runs| runs.is_empty()) {
                drop(lab);
                remove_empty_lab(db);
            }
            return Err(e);
        }
    };
    let dataset_id = lab.ensure_dataset(&data::recorded::record(&dataset.manifest))?;
    // A run like another is compared with it: say where their dev splits are not the same.
    if let Some(other) = like.map(|l| lab.run(l)).transpose()?.flatten() {
        if let Some(theirs) = other.dataset_id.filter(|&d| d != dataset_id) {
            crate::say!(
                "note: these images or their split are not those run {} trained on (its dataset \
                 {}, this one {}): their dev accuracies are not over the same images",
                other.id,
                theirs.0,
                dataset_id.0
            );
        }
    }
    let run = lab.create_run(&NewRun {
        name: cfg.run_name(),
        hyper: cfg.hyperparams(),
        dataset_id: Some(dataset_id),
        device: device_name.clone(),
        gpu_name: device::gpu_name(&device),
        config_json: serde_json::to_string(&cfg)?,
        code: CodeVersion::current(),
        hostname: crate::lab::this_host(),
        machine: Machine::current(),
        command_line: launch.command_line.clone(),
        log_path: launch.log_path.as_deref().map(|p| lab.relative(p)),
        notes: cfg.note.clone(),
        tags: cfg.tags.clone(),
        like_run: like,
    })?;
    let _abandonable = Abandonable::register(&lab, run, None);
    if let Some(w) = &init {
        let parent = lab.run(run)?.and_then(|r| r.init_run);
        note_input_scale(&lab, parent, w, cfg.imagenet_norm)?;
        // The lab keeps the file from here on; before the run was recorded, the run that wrote
        // it may have replaced it (a new best while these images loaded). The weights are read
        // already: said, for `--like` and resume read the file again.
        if !w.path.exists() {
            crate::say!(
                "warning: '{}', which run {run} starts from, is gone since it was read (the run \
                 that wrote it replaced it meanwhile?): run {run} trains on, but `--like {run}` \
                 and its resume without a checkpoint cannot read it again",
                w.path.display()
            );
        }
    }
    crate::say!(
        "{}",
        headline(run, &cfg.run_name(), "on", &device, &device_name, &dataset)
    );
    if created {
        // A mistyped --db, or a relative FACENET_LAB_DB from another folder, would otherwise
        // record the run where nobody looks for it.
        crate::say!(
            "recorded in a new lab, '{}' (--db or FACENET_LAB_DB names another)",
            db.display()
        );
    }
    // A P×K batch takes K images of P people, never all of them.
    if cfg.batch > dataset.train.len() && cfg.sampler != crate::train::config::Sampler::Pk {
        crate::say!(
            "warning: --batch {} is more than the {} training images: each epoch is one step \
             over all of them",
            cfg.batch,
            dataset.train.len()
        );
    }
    let trainer = new_checkpoint_dir(&lab, run)
        .and_then(|dir| Trainer::new(cfg, device, device_name, &dataset.train, &dataset.dev, dir))
        .and_then(|mut t| {
            if let Some(w) = &init {
                say_started_from(w, &t.start_from(w)?);
            }
            Ok(t)
        });
    drop(init);
    let trainer = match trainer {
        Ok(t) => t,
        Err(e) => {
            // Registered but never started: say so, or it would stay queued forever.
            lab.finish_run(run, RunStatus::Failed, Some(&format!("{e:#}")))?;
            return Err(e.context(format!("run {run} failed before its first step")));
        }
    };
    lab.mark_running(run, trainer.iters_per_epoch() as i64, std::process::id())?;
    drive(&lab, run, trainer, launch, stop)
}

/// Says [`input_scale_note`] for a run that starts from `w`, the checkpoint of run `parent`
/// of `lab` if it is one.
fn note_input_scale(
    lab: &Lab,
    parent: Option<RunId>,
    w: &InitWeights,
    imagenet_norm: bool,
) -> Result<()> {
    let parent = match parent {
        Some(p) => lab.run(p)?.map(|p| (p.id, p.hyper.imagenet_norm)),
        None => None,
    };
    if let Some(note) = input_scale_note(parent, w.from_pytorch, imagenet_norm) {
        crate::say!("note: {note}");
    }
    Ok(())
}

/// Where a run's input scale (`imagenet_norm`) differs from the one its `--init` weights were
/// trained on: that of `parent`, the run whose checkpoint they are (its id and its setting),
/// or ImageNet's for a PyTorch file (`from_pytorch`, as torchvision's weights are). A note,
/// not an error: the seed's protocol, say, keeps [-1, 1] whatever the start.
fn input_scale_note(
    parent: Option<(RunId, bool)>,
    from_pytorch: bool,
    imagenet_norm: bool,
) -> Option<String> {
    let scale = |imagenet: bool| {
        if imagenet {
            "normalised by ImageNet's mean and deviation (--imagenet-norm)"
        } else {
            "in [-1, 1]"
        }
    };
    match parent {
        Some((id, theirs)) if theirs != imagenet_norm => Some(format!(
            "run {id}'s weights learned from images {}, and this run gives them images {}",
            scale(theirs),
            scale(imagenet_norm)
        )),
        None if from_pytorch && !imagenet_norm => Some(format!(
            "this run gives the network images {}; torchvision's ImageNet weights learned \
             from images {}",
            scale(false),
            scale(true)
        )),
        _ => None,
    }
}

/// Tells the user what an `--init` file set.
fn say_started_from(w: &InitWeights, plan: &Plan) {
    crate::say!("{}", started_from(w, plan));
}

/// `weights from 'FILE' (sha256 3f2a9c0d41e7…): PLAN`.
fn started_from(w: &InitWeights, plan: &Plan) -> String {
    format!(
        "weights from '{}' (sha256 {}…): {plan}",
        w.path.display(),
        crate::format::short_hash(&w.sha256)
    )
}

/// The `--init` file of run `run`, which started from `recorded` with `sha256`, read again
/// for a restart from step 0: from `given` (`--resume --init PATH`, for a file that moved) or
/// where it was; the same bytes, or an error.
pub(crate) fn init_again(
    run: RunId,
    recorded: &str,
    given: Option<&str>,
    sha256: Option<&str>,
) -> Result<InitWeights> {
    let Some(recorded_sha) = sha256 else {
        bail!(
            "run {run} started from --init '{recorded}' but records no sha256 for it, so no file \
             can be shown to be the same: start a new run instead"
        );
    };
    let w = match given {
        Some(path) => InitWeights::read(Path::new(path))?,
        None => InitWeights::read(Path::new(recorded)).with_context(|| {
            format!(
                "run {run} started from --init '{recorded}', which it reads again to start \
                 over: pass --resume {run} --init PATH naming the same file elsewhere (its \
                 sha256 is checked)"
            )
        })?,
    };
    if recorded_sha != w.sha256 {
        bail!(
            "run {run} started from --init '{recorded}' with sha256 {recorded_sha}, and '{}' has \
             {}: give the same file to start the run over",
            w.path.display(),
            w.sha256
        );
    }
    Ok(w)
}

/// Warns when a run resumes with other code than it last trained with (its latest resume's, or
/// the code it started with).
fn warn_if_other_code(lab: &Lab, run: &crate::lab::Run, now: &Resume) -> Result<()> {
    let resumes = lab.resumes(run.id)?;
    let last = resumes.last();
    let code = last.map_or(&run.code, |r| &r.code);
    if let Some(w) = other_code_warning(run.id, code, &now.code) {
        crate::say!("warning: {w}");
    }
    let (device, gpu, machine) = match last {
        Some(r) => (&r.device, r.gpu_name.as_deref(), &r.machine),
        None => (&run.device, run.gpu_name.as_deref(), &run.machine),
    };
    let there = hardware(device, gpu, machine);
    let here = hardware(&now.device, now.gpu_name.as_deref(), &now.machine);
    // A run recorded before the lab kept its CPU says nothing to compare.
    let known = gpu.is_some() || machine.cpu_model.is_some();
    if known && there != here {
        crate::say!(
            "note: run {} last trained on {there} and resumes on {here}: its resumed steps \
             are not bit for bit those it would have taken there (other kernels sum in another \
             order); the run's record keeps both",
            run.id
        );
    }
    Ok(())
}

/// What a run's steps were taken on, as far as it decides their rounding: the device, and the
/// GPU or the CPU's model, widest SIMD and threads.
fn hardware(device: &str, gpu: Option<&str>, machine: &Machine) -> String {
    let unknown = |v: Option<&str>| v.unwrap_or("unknown").to_string();
    match gpu {
        Some(gpu) => format!("{device} ({gpu})"),
        None => format!(
            "{device} ({}, {}, {})",
            unknown(machine.cpu_model.as_deref()),
            unknown(machine.cpu_simd.as_deref()),
            machine
                .cpu_threads
                .map_or("unknown threads".to_string(), |t| {
                    crate::format::count(t as u64, "thread", "threads")
                })
        ),
    }
}

/// What to tell a user who resumes run `run`, last trained by `last`, with `now`: the replay is
/// exact only with the same code. None when both are one clean commit, or one commit with the
/// same uncommitted changes.
fn other_code_warning(run: RunId, last: &CodeVersion, now: &CodeVersion) -> Option<String> {
    let same_changes = match (last.git_dirty, now.git_dirty) {
        (false, false) => true,
        (true, true) => last.git_diff.is_some() && last.git_diff == now.git_diff,
        _ => false,
    };
    if last.git_commit == now.git_commit && same_changes {
        return None;
    }
    use crate::tui::store::short_commit;
    let (last_s, now_s) = (short_commit(last), short_commit(now));
    let trained = if last.git_commit == now.git_commit && last.git_dirty && now.git_dirty {
        if last.git_diff.is_some() && now.git_diff.is_some() {
            format!(
                "run {run} last trained from commit {} with uncommitted changes ({last_s}), and \
                 this build has other uncommitted changes on it ({now_s})",
                crate::format::short_hash(&last.git_commit)
            )
        } else {
            format!(
                "run {run} last trained from commit {} with uncommitted changes, and this \
                 build has uncommitted changes on it too, which the lab cannot tell from those",
                crate::format::short_hash(&last.git_commit)
            )
        }
    } else {
        format!("run {run} last trained with code {last_s} and this is {now_s}")
    };
    Some(format!(
        "{trained}: the resumed steps replay it exactly only with the same code (batch order, \
         augmentation or kernels may have changed); the run's record keeps both"
    ))
}

/// Where a resumed run's images are: `data` when given; else the path its config recorded;
/// else, when the lab was moved or the run started elsewhere, the path the lab records for its
/// dataset. A relative path in the config (runs recorded before paths were made absolute) names
/// the images from a working directory that is not recorded: the dataset's absolute path is
/// read first, and the relative one from here only where that is gone. The split hashes are
/// checked after loading, so any of them must hold the same images.
pub(crate) fn resume_data(
    cfg_data: &str,
    data: Option<String>,
    recorded: Option<&str>,
) -> Result<String> {
    if let Some(d) = data {
        return resolve_data(&d);
    }
    let relative = matches!(cfg_data.parse(), Ok(DataSpec::Path(p)) if p.is_relative());
    if let Some(r) = recorded.filter(|r| relative && data_present(r)) {
        return Ok(r.to_string());
    }
    if cfg_data.is_empty() || data_present(cfg_data) {
        return resolve_data(cfg_data);
    }
    match recorded {
        Some(r) if data_present(r) => Ok(r.to_string()),
        _ => bail!(
            "the run's images were at '{cfg_data}'{}, which does not exist here: pass \
             --data PATH naming the same images (their hashes are checked)",
            recorded
                .filter(|r| *r != cfg_data)
                .map(|r| format!(" (the lab records '{r}')"))
                .unwrap_or_default()
        ),
    }
}

/// `run --like KEY`'s settings: those run `key` (id or name) of the lab at `db` recorded, as a
/// new run's ([`TrainConfig::as_a_start`]), then the `--config` file at `path`, then the flags
/// ([`TrainConfig::resolve_like`]); with the run's id, the file's settings and notes to say.
/// Unless the file or the flags name images, the run's are found where [`resume_data`] finds
/// them, or refused.
pub fn settings_like(db: &Path, key: &str, path: Option<&Path>, flags: &Overrides) -> Result<Like> {
    let lab = Lab::open_read_only(db)?;
    let run = lab.find_run(key)?;
    let mut like = TrainConfig::recorded(&run)?.as_a_start();
    let file = path.map(Overrides::from_file).transpose()?;
    if flags.data.is_none() && file.as_ref().is_none_or(|f| f.data.is_none()) {
        let dataset = lab.run_dataset(&run)?;
        let recorded = dataset.as_ref().map(|d| d.source.as_str());
        like.data = resume_data(&like.data, None, recorded).with_context(|| {
            format!(
                "starting a run like run {}: --data PATH names its images where they are now, \
                 or others",
                run.id
            )
        })?;
    }
    let (cfg, notes) = TrainConfig::resolve_like(like, run.id, file.as_ref(), flags)?;
    // The other run's device, where this build has none such: said as the run's, not as a
    // --device this command never gave.
    let device_given = flags.device.is_some() || file.as_ref().is_some_and(|f| f.device.is_some());
    if let Err(e) = device::check(cfg.device) {
        if device_given {
            return Err(e);
        }
        bail!(
            "run {} chose --device cuda, which this facenet-lab was built without: give \
             --device cpu (or auto) to start a run like it here, or rebuild with `cargo build \
             --release --features cuda`",
            run.id
        );
    }
    Ok(Like {
        run: run.id,
        file,
        cfg,
        notes,
    })
}

/// A run like run `like` takes its `--init` file at `path` only while the file's sha256 (`now`,
/// or the error reading it) is still the `recorded` one: another file under that name would
/// start the run from other weights.
pub fn like_init_unchanged(
    like: RunId,
    path: &str,
    recorded: &str,
    now: std::result::Result<&str, &anyhow::Error>,
) -> Result<()> {
    let now = now.map_err(|e| {
        anyhow::anyhow!(
            "run {like} started from --init '{path}': pass --init PATH naming that file where it \
             is now, another file, or none: {e:#}"
        )
    })?;
    if now != recorded {
        bail!(
            "run {like} started from --init '{path}' with sha256 {recorded}, and the file there \
             now has {now}: pass --init '{path}' to start from it as it is, or --init none"
        );
    }
    Ok(())
}

/// A new run's settings like another's ([`settings_like`]).
pub struct Like {
    /// The other run.
    pub run: RunId,
    /// The `--config` file's own settings.
    pub file: Option<Overrides>,
    pub cfg: TrainConfig,
    /// What was dropped on the way, to say.
    pub notes: Vec<String>,
}

/// Continues an interrupted, crashed or failed run from its latest resumable checkpoint. `data`
/// and `init` name the run's images and `--init` file where they are not where it recorded.
pub fn resume(
    db: &Path,
    key: &str,
    device: Option<DeviceChoice>,
    data: Option<String>,
    init: Option<String>,
    launch: &Launch,
    stop: &AtomicBool,
) -> Result<Finished> {
    let lab = Lab::open_existing(db)?;
    let run = lab.find_run_seen(key)?;
    let status = run.effective_status(crate::lab::now());
    if status == RunStatus::Completed {
        // Its final weights, where they are here: a new run can go on from them.
        let further = lab
            .checkpoints(run.id)?
            .iter()
            .rfind(|c| c.kind == CheckpointKind::Final.as_str())
            .and_then(|c| lab.checkpoint_file(&run, c).ok())
            .map(|path| {
                format!(
                    "; to train it further, add `--init {}` to start from its final weights \
                     (its learning-rate schedule starts over)",
                    path.display()
                )
            })
            .unwrap_or_default();
        bail!(
            "run {} ({}) is already completed; start a new run like it instead: `facenet-lab{} \
             run --like {}` with the settings to change (--epochs, --seed, ...){further}",
            run.id,
            run.name,
            crate::lab::db_flag(lab.path()),
            run.id
        );
    }
    if !status.is_resumable() {
        bail!(
            "run {} ({}) is {status}{}: only interrupted, crashed or failed runs can be resumed",
            run.id,
            run.name,
            run.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
        );
    }
    let mut cfg = TrainConfig::recorded(&run)?;
    if init.is_some() && cfg.init.is_none() {
        bail!(
            "run {} started from its seed's random draw, not from an --init file: drop --init",
            run.id
        );
    }
    let checkpoints = lab.checkpoints(run.id)?;
    let ck = checkpoints
        .iter()
        .rfind(|c| CheckpointKind::resumable(&c.kind))
        .cloned();
    // Whole epochs behind the checkpoint: one written on Ctrl-C mid-epoch is in that epoch.
    let done = match (&ck, run.iters_per_epoch) {
        (Some(c), Some(n)) if n > 0 => (c.iteration / n) as usize,
        _ => 0,
    };
    // Killed after its final checkpoint was recorded, before the run was closed: nothing is
    // left to train, whether it came at the last epoch or where --patience stopped it. Closed
    // as completed with that checkpoint as it is, where training on from it wrote another file
    // in its place (of other bytes where it held Adam's state, as finals once did, whose
    // evaluations then lost it); a final holds no Adam state to go on with.
    if let Some(c) = &ck {
        if c.kind == CheckpointKind::Final.as_str() {
            lab.finish_run(run.id, RunStatus::Completed, None)?;
            let summary = format!(
                "run {} had written its final checkpoint (iteration {}) when it stopped: \
                 nothing was left to train, and it is closed as completed",
                run.id, c.iteration
            );
            crate::say!("{summary}");
            return Ok(Finished {
                run: run.id,
                outcome: Outcome::Completed,
                summary,
            });
        }
    }
    check_stop_after(launch.stop_after_epoch, done, cfg.epochs)?;
    if let Some(d) = device {
        cfg.device = d;
    }
    let recorded = lab.run_dataset(&run)?;
    cfg.data = resume_data(
        &cfg.data,
        data,
        recorded.as_ref().map(|d| d.source.as_str()),
    )?;
    let (dev, device_name) = device::select(cfg.device)?;
    if cfg.tf32 && !dev.is_cuda() {
        bail!(
            "run {} multiplied its matrices in TF32 (--tf32), which only CUDA does; resume it on \
             a CUDA device, not {device_name}",
            run.id
        );
    }
    device::set_tf32(&dev, &device_name, cfg.tf32)?;
    let dataset = load_dataset(&cfg, launch.quiet).with_context(|| {
        format!(
            "--data '{}' must hold the images run {} trained on, with the filter it recorded",
            cfg.data, run.id
        )
    })?;
    if let Some(d) = &recorded {
        data::recorded::same_splits(&d.splits, &dataset.manifest, &cfg.data, run.id)?;
    }
    // Said once the run is claimed: a second resume of it is refused without first saying it
    // resumes.
    let resumes = headline(
        run.id,
        &run.name,
        "resumes on",
        &dev,
        &device_name,
        &dataset,
    );
    let dir = run_checkpoint_dir(&lab, run.id)?;
    let recorded_init = cfg.init.clone();
    let mut trainer = Trainer::new(
        cfg,
        dev,
        device_name,
        &dataset.train,
        &dataset.dev,
        dir.clone(),
    )?;
    // What it says of where it goes on from, once it has claimed the run: a second resume of
    // it, refused, says nothing of steps dropped.
    let mut notes = Vec::new();
    // Everything recorded after the checkpoint belongs to a timeline that is replayed now.
    let resume_at = match ck {
        Some(ck) => {
            let path = lab.checkpoint_file(&run, &ck)?;
            let loaded = checkpoint::load(&path, Some(&ck.sha256), &trainer.device)?;
            trainer.restore(&loaded)?;
            if init.is_some() {
                notes.push(format!(
                    "note: --init is not read: run {} resumes from its checkpoint",
                    run.id
                ));
            }
            ck.iteration
        }
        None => {
            if let Some(recorded) = &recorded_init {
                let sha256 = run.hyper.init_sha256.as_deref();
                let w = init_again(run.id, recorded, init.as_deref(), sha256)?;
                note_input_scale(&lab, run.init_run, &w, run.hyper.imagenet_norm)?;
                notes.push(started_from(&w, &trainer.start_from(&w)?));
            }
            if run.last_iteration > 0 {
                // No resumable checkpoint: whatever the run wrote are best checkpoints.
                let (why, and_checkpoints) = match checkpoints.len() as u64 {
                    0 => ("it stopped before writing one".to_string(), String::new()),
                    n => (
                        format!(
                            "its {} cannot be resumed from; `--checkpoint-every N` on a new \
                             run writes checkpoints that can",
                            crate::format::count(n, "best checkpoint", "best checkpoints")
                        ),
                        format!(
                            " and {}",
                            crate::format::count(n, "checkpoint", "checkpoints")
                        ),
                    ),
                };
                notes.push(format!(
                    "note: run {} has no checkpoint to resume from ({why}): it starts over from \
                     step 0, and its {}{and_checkpoints} recorded are dropped",
                    run.id,
                    crate::format::count(run.last_iteration as u64, "step", "steps")
                ));
            }
            0
        }
    };
    // Claimed before anything is dropped: a second resume of the run, or a live trainer whose
    // heartbeat only looked stale, is refused here instead of losing its newest checkpoints.
    let heartbeat_before =
        lab.mark_running(run.id, trainer.iters_per_epoch() as i64, std::process::id())?;
    crate::say!("{resumes}");
    for note in notes {
        crate::say!("{note}");
    }
    // Running from here: a quit at once while the run is rewound is abandon's to close too.
    let _abandonable = Abandonable::register(&lab, run.id, Some(dir.clone()));
    // A log of its own takes the run's `log_path`; the resume keeps the one it replaces.
    let mut log_before = None;
    if let Some(log) = &launch.log_path {
        let log = lab.relative(log);
        if run.log_path.as_deref() != Some(log.as_str()) {
            log_before = run.log_path.clone();
        }
        lab.set_log_path(run.id, &log)?;
    }
    let resume = Resume {
        at: crate::lab::now(),
        from_iteration: resume_at,
        device: trainer.device_name.clone(),
        gpu_name: device::gpu_name(&trainer.device),
        hostname: crate::lab::this_host(),
        machine: Machine::current(),
        code: CodeVersion::current(),
        command_line: launch.command_line.clone(),
        heartbeat_before,
        log_before,
    };
    if resume_at > 0 {
        warn_if_other_code(&lab, &run, &resume)?;
    }
    let dropped = lab.rewind_for_resume(run.id, &resume)?;
    if let Err(e) = lab.delete_checkpoint_files(&dropped, &dir) {
        crate::say!("warning: {e:#}");
    }
    drive(&lab, run.id, trainer, launch, stop)
}

/// The run this process is training (or has recorded and is starting), its checkpoint folder
/// once it has one, and a connection of its own to the lab, for a stop that cannot wait for the
/// step to end ([`abandon`]).
static TRAINING: std::sync::Mutex<Option<(Lab, RunId, Option<PathBuf>)>> =
    std::sync::Mutex::new(None);

/// `run` is [`abandon`]'s to close while this lives: from the moment the lab records it (a
/// new run) or marks it running (a resumed one), so that a quit at once before its first step
/// (a sweep's second Ctrl-C as a run loads) does not leave it queued for good, or running until
/// its heartbeat goes stale. Without a second connection, a quit at once leaves a running run
/// to its stale heartbeat.
struct Abandonable;

impl Abandonable {
    fn register(lab: &Lab, run: RunId, dir: Option<PathBuf>) -> Abandonable {
        if let (Ok(own), Ok(mut t)) = (Lab::open_existing(lab.path()), TRAINING.lock()) {
            *t = Some((own, run, dir));
        }
        Abandonable
    }
}

impl Drop for Abandonable {
    fn drop(&mut self) {
        if let Ok(mut t) = TRAINING.lock() {
            *t = None;
        }
    }
}

/// Quits at once, as a second Ctrl-C asks, exiting with 130. The run being trained is recorded
/// interrupted rather than left running until its heartbeat goes stale, so that `--resume`
/// takes it at once (from its latest resumable checkpoint: this session's last steps are lost),
/// and the checkpoint it was writing, if any, is removed.
pub fn abandon() -> ! {
    let training = TRAINING.lock().ok().and_then(|mut t| t.take());
    if let Some((lab, run, dir)) = training {
        // At once means not waiting long on another writer of the lab.
        let _ = lab.conn().busy_timeout(std::time::Duration::from_secs(2));
        // Not into a lab file that replaced the run's: its run of that number is another.
        // Only a run still running: one its trainer ended meanwhile stays as it recorded it.
        let recorded = match lab.ensure_unmoved() {
            Ok(()) => lab.interrupt_unless_ended(run).ok(),
            Err(_) => None,
        };
        let flag = crate::lab::db_flag(lab.path());
        match recorded {
            Some(true) => crate::say!(
                "run {run} is interrupted without a checkpoint of its last steps; continue with: \
                 facenet-lab{flag} run --resume {run}"
            ),
            Some(false) => crate::say!("run {run} had ended as it was stopped"),
            None => crate::say!(
                "run {run} could not be marked interrupted: it shows as crashed within a minute, \
                 and `facenet-lab{flag} run --resume {run}` continues it then"
            ),
        }
        if let Some(dir) = dir {
            checkpoint::remove_partial(&dir);
        }
    }
    std::process::exit(130)
}

/// Trains the run (which the caller marked running) with the lab recorder and the console
/// attached, then closes it.
fn drive(
    lab: &Lab,
    run: RunId,
    mut trainer: Trainer,
    launch: &Launch,
    stop: &AtomicBool,
) -> Result<Finished> {
    // A file at a checkpoint's path is kept where another run started from it.
    let db = lab.path().to_path_buf();
    trainer.keeps = Box::new(move |path| {
        let Ok(sha256) = checkpoint::sha256_file(path) else {
            return false;
        };
        Lab::open_read_only(&db)
            .and_then(|lab| lab.started_from(&sha256))
            .unwrap_or(true)
    });
    let heartbeat = Heartbeat::start(lab.path(), run)?;
    let mut recorder = Recorder::new(lab, run).keeping(trainer.cfg.keep_checkpoints);
    // A resumed run's summary so far (rebuilt after the truncation); a new run's is empty.
    let so_far = lab.run(run)?.context("run vanished from the lab")?;
    // The accuracy of the weights in the best checkpoint that survived the truncation, and
    // its epoch (where --patience counts from); none when a later best (now dropped) had
    // replaced it, so the next evaluation writes a best.
    let best = so_far
        .best_dev_acc
        .zip(so_far.best_dev_epoch)
        .map(|(acc, epoch)| (acc, epoch as usize));
    trainer.best_dev = best;
    trainer.best_seen = lab
        .best_dev_recorded(run)?
        .map(|(acc, epoch)| (acc, epoch as usize));
    let mut console = Console::new(trainer.cfg.epochs, launch.quiet).resuming(
        best,
        so_far.final_dev_acc,
        so_far.prior_seconds,
    );
    let ctl = Control {
        stop,
        stop_after_epoch: launch.stop_after_epoch,
        // A limit too far to represent is no limit.
        deadline: launch
            .time_limit
            .and_then(|t| Some((std::time::Instant::now().checked_add(t)?, t))),
        stop_after_step: launch.stop_after_step,
        resume_point_every: Some(crate::train::trainer::RESUME_POINT_EVERY),
    };
    let abandonable = Abandonable::register(lab, run, Some(trainer.checkpoint_dir.clone()));
    let result = catch_unwind(AssertUnwindSafe(|| {
        trainer.train(&mut [&mut recorder, &mut console], &ctl)
    }));
    drop(abandonable);
    let result = match result {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow::anyhow!("training panicked: {msg}"))
        }
    };
    // Stopped (and joined) before the run is closed, so that no beat lands after its finish.
    drop(heartbeat);
    // A lab file replaced under the run takes no end for it: the record went with the old file.
    lab.ensure_unmoved()?;
    match result {
        Ok(outcome) => {
            let status = match outcome {
                Outcome::Completed => RunStatus::Completed,
                Outcome::Interrupted => RunStatus::Interrupted,
            };
            // A run whose last records could not land is closed as failed, saying so, rather
            // than left running.
            if let Err(e) = recorder.finish() {
                let msg = format!("its last metrics and checkpoints were not recorded: {e:#}");
                return Err(close_failed(lab, run, e, &msg));
            }
            lab.landing("the run's end", || lab.finish_run(run, status, None))?;
            let mut summary = console.summary(&run.to_string(), recorder.overhead());
            if outcome == Outcome::Interrupted {
                summary.push_str(&format!(
                    "\n  continue with: facenet-lab{} run --resume {run}",
                    crate::lab::db_flag(lab.path())
                ));
            }
            crate::say!("{summary}");
            Ok(Finished {
                run,
                outcome,
                summary,
            })
        }
        Err(e) => {
            let msg = format!("{e:#}");
            recorder.drop_non_finite();
            let _ = recorder.finish();
            Err(close_failed(lab, run, e, &msg))
        }
    }
}

/// Records run `run` failed with `msg`, and returns `e`, the error that failed it, first: it is
/// what went wrong, also where the run could not be closed.
fn close_failed(lab: &Lab, run: RunId, e: anyhow::Error, msg: &str) -> anyhow::Error {
    match lab.landing("the run's failure", || {
        lab.finish_run(run, RunStatus::Failed, Some(msg))
    }) {
        Ok(_) => e.context(format!("run {run} failed")),
        Err(c) => e.context(format!("run {run} failed, and was not closed: {c:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Training images among which no triplet forms are refused with the remedy for their kind:
    /// more generated faces, or another LFW filter.
    #[test]
    fn too_few_training_images_are_refused_with_a_remedy_for_their_kind() {
        let said = |labels: &[u32], data: &str| {
            check_triplets_can_form(labels, data)
                .unwrap_err()
                .to_string()
        };
        let generated = said(&[0, 1, 2], "synthetic:3:3");
        assert!(
            generated.contains("no person has two")
                && generated.contains("synthetic:12:20")
                && !generated.contains("--min-images"),
            "{generated}"
        );
        let lfw = said(&[0, 1, 2], "/data/lfw");
        assert!(
            lfw.contains("a higher --min-images") && !lfw.contains("synthetic"),
            "{lfw}"
        );
        assert!(said(&[4, 4], "/data/lfw").contains("a lower --min-images"));
        assert!(check_triplets_can_form(&[0, 0, 1], "/data/lfw").is_ok());
    }
    use crate::lab::{fixtures, NewCheckpoint};

    /// A run that quit mid-write before its first checkpoint left only a half-written file in
    /// its folder: a resume takes that folder again, emptied, rather than a new `run-N-2`.
    #[test]
    fn a_resume_takes_back_a_folder_that_holds_only_a_half_written_checkpoint() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let run = lab.create_run(&fixtures::new_run("r"))?;
        let folder = new_checkpoint_dir(&lab, run)?;
        std::fs::write(folder.join(".tmpAb12Cd"), b"x")?;
        assert_eq!(run_checkpoint_dir(&lab, run)?, folder);
        assert_eq!(std::fs::read_dir(&folder)?.count(), 0);
        // A folder that holds anything else is not this run's to reuse.
        std::fs::write(folder.join("notes.txt"), b"x")?;
        assert_ne!(run_checkpoint_dir(&lab, run)?, folder);
        Ok(())
    }

    /// Random batches of 4 among 30 people mostly hold no two images of one: warned of, with
    /// the remedy; batches of 32, or pk batches of 4, all hold a triplet, and are not.
    #[test]
    fn batches_that_will_mostly_be_skipped_are_warned_of() {
        use crate::train::config::Sampler;
        let labels: Vec<u32> = (0..30).flat_map(|p| [p; 20]).collect();
        let cfg = |batch: usize, sampler| TrainConfig {
            batch,
            sampler,
            pk_k: 2,
            ..TrainConfig::default()
        };
        let small = batches_without_triplets(&cfg(4, Sampler::Random), &labels).unwrap_or_default();
        assert!(
            small.starts_with("warning: ")
                && small.contains(" of the first epoch's 150 batches (")
                && small.ends_with("a larger --batch, or --sampler pk, gives every batch some"),
            "{small}"
        );
        assert_eq!(
            batches_without_triplets(&cfg(32, Sampler::Random), &labels),
            None
        );
        assert_eq!(
            batches_without_triplets(&cfg(4, Sampler::Pk), &labels),
            None
        );
    }

    #[test]
    fn training_images_that_can_form_no_triplet_are_refused() {
        assert!(check_triplets_can_form(&[0, 0, 1], "d").is_ok());
        let said =
            |labels: &[u32]| format!("{:#}", check_triplets_can_form(labels, "d").unwrap_err());
        assert!(said(&[0, 1, 2]).contains("of 'd': no person has two,"));
        assert!(said(&[0, 1, 2]).contains("a higher --min-images"));
        assert!(said(&[4, 4, 4]).contains("of 'd': they are all of one person,"));
        assert!(said(&[4, 4, 4]).contains("images of more people"));
        assert!(said(&[]).contains("of 'd': there are none,"));
    }

    /// The note speaks where the input scale differs from the one the weights learned on,
    /// and only there: a parent run's setting decides; a PyTorch file is taken for ImageNet's.
    #[test]
    fn a_start_from_weights_that_learned_on_another_input_scale_is_noted() {
        let parent = |on| Some((RunId(3), on));
        assert_eq!(input_scale_note(parent(false), false, false), None);
        assert_eq!(input_scale_note(parent(true), false, true), None);
        assert_eq!(
            input_scale_note(parent(false), false, true).as_deref(),
            Some(
                "run 3's weights learned from images in [-1, 1], and this run gives them images \
                 normalised by ImageNet's mean and deviation (--imagenet-norm)"
            )
        );
        let n = input_scale_note(parent(true), false, false).expect("a note");
        assert!(
            n.starts_with("run 3's weights learned from images normalised"),
            "{n}"
        );
        // torchvision's file: [-1, 1] is noted, --imagenet-norm is what it expects.
        let n = input_scale_note(None, true, false).expect("a note");
        assert!(n.contains("torchvision's ImageNet weights learned from images normalised"));
        assert_eq!(input_scale_note(None, true, true), None);
        // A safetensors file of no run here: nothing is known of its input.
        assert_eq!(input_scale_note(None, false, false), None);
        assert_eq!(input_scale_note(None, false, true), None);
    }

    /// What decides a step's rounding names the hardware: a GPU by its name, a CPU by its
    /// model, SIMD and threads, so that a resume on other hardware is told apart.
    #[test]
    fn hardware_is_named_by_what_decides_the_rounding() {
        let cpu = |threads| Machine {
            cpu_model: Some("AMD EPYC 7B13".into()),
            cpu_threads: Some(threads),
            cpu_simd: Some("avx512f".into()),
            ..Machine::default()
        };
        assert_eq!(
            hardware("cpu", None, &cpu(2)),
            "cpu (AMD EPYC 7B13, avx512f, 2 threads)"
        );
        assert_ne!(
            hardware("cpu", None, &cpu(2)),
            hardware("cpu", None, &cpu(16))
        );
        assert_eq!(
            hardware("cpu", None, &cpu(1)),
            "cpu (AMD EPYC 7B13, avx512f, 1 thread)"
        );
        assert_eq!(
            hardware("cuda:0", Some("NVIDIA H200"), &cpu(16)),
            hardware("cuda:0", Some("NVIDIA H200"), &cpu(2)),
            "on a GPU the CPU does not count"
        );
    }

    #[test]
    fn resuming_with_other_code_is_said() {
        let code = |commit: &str, dirty: bool| CodeVersion {
            git_commit: commit.into(),
            git_dirty: dirty,
            git_diff: None,
            crate_version: "0.1.0".into(),
        };
        let changed = |diff: &str| CodeVersion {
            git_diff: Some(diff.into()),
            ..code("aaa", true)
        };
        let run = RunId(7);
        assert_eq!(
            other_code_warning(run, &code("aaa", false), &code("aaa", false)),
            None
        );
        let w = other_code_warning(run, &code("aaa", false), &code("bbb", false));
        let w = w.expect("a warning");
        assert!(
            w.starts_with("run 7 last trained with code aaa and this is bbb"),
            "{w}"
        );
        // A dirty tree may hold anything.
        let w = other_code_warning(run, &code("aaa", true), &code("aaa", true));
        let w = w.expect("a warning");
        assert!(
            w.starts_with(
                "run 7 last trained from commit aaa with uncommitted changes, and this \
                 build has uncommitted changes on it too, which the lab cannot tell from \
                 those: the resumed steps replay it exactly only with the same code"
            ),
            "{w}"
        );
        assert!(other_code_warning(run, &code("aaa", false), &code("aaa", true)).is_some());
        // The same commit with the same changes, as their ids say, is the same code; other
        // changes are said as such.
        assert_eq!(
            other_code_warning(run, &changed("d1"), &changed("d1")),
            None
        );
        let w = other_code_warning(run, &changed("d1"), &changed("d2")).expect("a warning");
        assert!(
            w.starts_with(
                "run 7 last trained from commit aaa with uncommitted changes (aaa-dirty-d1), \
                 and this build has other uncommitted changes on it (aaa-dirty-d2)"
            ),
            "{w}"
        );
        assert!(other_code_warning(run, &changed("d1"), &code("aaa", true)).is_some());
    }

    #[test]
    fn a_stop_after_epoch_that_could_never_stop_the_run_is_refused() -> Result<()> {
        check_stop_after(None, 0, 10)?;
        check_stop_after(Some(1), 0, 10)?;
        check_stop_after(Some(9), 4, 10)?;
        let err = check_stop_after(Some(0), 4, 10).unwrap_err().to_string();
        assert!(err.contains("must be at least 1"), "{err}");
        let err = check_stop_after(Some(1), 0, 1).unwrap_err().to_string();
        assert!(err.contains("no epoch left to stop after"), "{err}");
        let err = check_stop_after(Some(10), 0, 10).unwrap_err().to_string();
        assert!(
            err.contains("--stop-after-epoch 10 would never stop this run: it trains to epoch 10")
                && err.contains("from 1 to 9"),
            "{err}"
        );
        let err = check_stop_after(Some(3), 4, 10).unwrap_err().to_string();
        assert!(
            err.contains("it resumes after epoch 4 and trains to epoch 10")
                && err.contains("from 5 to 9"),
            "{err}"
        );
        let err = check_stop_after(Some(5), 0, 2).unwrap_err().to_string();
        assert!(
            err.ends_with("trains to epoch 2; only epoch 1 can be given, or drop it"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn labs_sharing_a_folder_never_share_a_checkpoint_folder() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("checkpoints");
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let other = Lab::open(&dir.path().join("gpu-lab.db"))?;
        assert_eq!(new_checkpoint_dir(&lab, RunId(1))?, root.join("run-1"));
        assert_eq!(
            new_checkpoint_dir(&other, RunId(1))?,
            root.join("gpu-lab-run-1")
        );
        // A lab started afresh beside the folders of a deleted one numbers its runs from 1.
        assert_eq!(new_checkpoint_dir(&lab, RunId(1))?, root.join("run-1-2"));
        assert_eq!(new_checkpoint_dir(&lab, RunId(1))?, root.join("run-1-3"));
        assert!(root.join("run-1-3").is_dir());
        Ok(())
    }

    #[test]
    fn a_resumed_run_writes_beside_its_own_checkpoints_only() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("checkpoints");
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let run = lab.create_run(&fixtures::new_run("r"))?;
        let add = |path: &str, iteration: i64| {
            lab.add_checkpoint(&NewCheckpoint {
                run,
                iteration,
                epoch: 1,
                kind: "interrupt".into(),
                path: path.into(),
                sha256: "0".repeat(64),
            })
        };
        // Stopped before its first checkpoint: the folder it started with, empty, again.
        let started = new_checkpoint_dir(&lab, run)?;
        assert_eq!(run_checkpoint_dir(&lab, run)?, started);
        // Merged from another lab: its checkpoints' folder (elsewhere, or another lab's beside
        // this one) is not this lab's to write to or delete from.
        std::fs::write(started.join("spare"), b"")?;
        add("gpu/checkpoints/gpu-lab-run-3/interrupt-5.safetensors", 5)?;
        add("checkpoints/gpu-lab-run-3/interrupt-6.safetensors", 6)?;
        assert_eq!(
            run_checkpoint_dir(&lab, run)?,
            root.join(format!("run-{run}-2"))
        );
        // Its own checkpoints, in a -K folder: that folder.
        add(
            &format!("checkpoints/run-{run}-2/interrupt-7.safetensors"),
            7,
        )?;
        add("/elsewhere/checkpoints/run-1/interrupt-8.safetensors", 8)?;
        assert_eq!(
            run_checkpoint_dir(&lab, run)?,
            root.join(format!("run-{run}-2"))
        );
        Ok(())
    }

    #[test]
    fn a_resumed_run_finds_its_images_where_they_are() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let here = dir.path().join("lfw-20-30");
        std::fs::create_dir(&here)?;
        let here_s = here.to_string_lossy().into_owned();
        let gone = "/no/such/lfw-20-30";
        // The config's path, when it still exists.
        assert_eq!(resume_data(&here_s, None, Some(gone))?, here_s);
        // The lab's record of the dataset, when the config's relative path broke (the lab or
        // the working directory moved).
        assert_eq!(resume_data(gone, None, Some(&here_s))?, here_s);
        assert_eq!(resume_data("synthetic:4:8", None, None)?, "synthetic:4:8");
        // A folder whose name starts like generated faces is a path like any other.
        assert_eq!(resume_data("synthetic_faces", None, Some(&here_s))?, here_s);
        // A relative path names images from a working directory that was not recorded: the
        // dataset's absolute path comes first, though `src` is a folder from here too.
        assert_eq!(resume_data("src", None, Some(&here_s))?, here_s);
        // Without a record, the relative path is read from here, and made absolute.
        let src = std::fs::canonicalize("src")?.to_string_lossy().into_owned();
        assert_eq!(resume_data("src", None, None)?, src);
        assert_eq!(resolve_data("src")?, src);
        // --data wins, and must exist.
        assert_eq!(resume_data(gone, Some(here_s.clone()), Some(gone))?, here_s);
        assert!(resume_data(&here_s, Some(gone.into()), None).is_err());
        let err = resume_data("../lfw", None, Some(gone))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'../lfw'") && err.contains(gone) && err.contains("pass --data PATH"),
            "{err}"
        );
        Ok(())
    }
}
