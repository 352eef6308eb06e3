//! A run's configuration: the seed's defaults, overridden by a TOML file, overridden by flags.
//!
//! One struct, [`Overrides`], is both the `run` flags and the `--config` file format, so the two
//! can never drift apart; unknown keys and wrong types in a file are errors.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::model::{Arch, EmbeddingNet};
use crate::train::schedule::LrSchedule;
use crate::train::triplet::Mining;

/// How batches are drawn from the training split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// The seed's shuffled minibatches.
    #[default]
    Random,
    /// P identities × K images per batch (K = `pk_k`), so every batch holds many positives.
    Pk,
}

impl Sampler {
    pub fn as_str(self) -> &'static str {
        match self {
            Sampler::Random => "random",
            Sampler::Pk => "pk",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The first CUDA GPU when this build has CUDA and one is present, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// The first CUDA GPU (`gpu` says the same).
    #[value(alias = "gpu")]
    #[serde(alias = "gpu")]
    Cuda,
}

/// Everything that defines a run. Serialised whole into the lab as the run's `config_json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub model: Arch,
    pub batch: usize,
    pub dim: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Absent from configs recorded before schedules existed: those runs were constant.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    #[serde(default)]
    pub warmup_epochs: usize,
    pub epochs: usize,
    pub margin: f64,
    pub image_size: usize,
    /// Absent from configs recorded before cropping existed: those runs used whole images.
    #[serde(default = "whole_image")]
    pub crop: f64,
    pub mining: Mining,
    pub sampler: Sampler,
    pub pk_k: usize,
    pub normalize: bool,
    pub augment: bool,
    /// Absent from configs recorded before it existed: those runs did not.
    #[serde(default)]
    pub zero_init_residual: bool,
    /// The weights the network starts from (`--init`), as an absolute path once the run
    /// starts; `None` is the seed's random draw. Absent from configs recorded before it
    /// existed: those runs started at random.
    #[serde(default)]
    pub init: Option<String>,
    /// The sha256 of the `--init` file, set when the run starts and reads it (not a setting);
    /// a run `--like` another carries the other's in, as the file it must find again.
    #[serde(default)]
    pub init_sha256: Option<String>,
    /// With `init`, the embedding layer keeps the seed's draw even where the file's fits.
    /// Absent from configs recorded before it existed: those runs took a layer that fit.
    #[serde(default)]
    pub fresh_embedding: bool,
    /// The network normalises its input by ImageNet's per-channel mean and deviation, as
    /// torchvision's ImageNet weights expect, instead of taking it in [-1, 1]. Absent from
    /// configs recorded before it existed: those runs took [-1, 1].
    #[serde(default)]
    pub imagenet_norm: bool,
    /// AlexNet's classifier dropout; `None` is torchvision's 0.5 ([`TrainConfig::dropout`]).
    /// Absent from configs recorded before it existed: those runs had 0.5.
    #[serde(default)]
    pub dropout: Option<f64>,
    /// cuBLAS multiplies f32 matrices in TF32 on the tensor cores (CUDA only). Absent from
    /// configs recorded before it existed: those runs multiplied in strict f32.
    #[serde(default)]
    pub tf32: bool,
    pub eval_every: usize,
    /// Stop once this many epochs have passed since the best dev accuracy without a better
    /// one (`--patience`); `None` trains every epoch. Absent from configs recorded before it
    /// existed: those runs trained every epoch.
    #[serde(default)]
    pub patience: Option<usize>,
    pub checkpoint_every: Option<usize>,
    /// How many of the checkpoints a resume starts from (periodic, stop and automatic ones)
    /// the run keeps, the newest; `None` keeps them all (but an automatic one, which the next
    /// checkpoint to resume from replaces). Absent from configs recorded before it existed:
    /// those runs kept them all.
    #[serde(default)]
    pub keep_checkpoints: Option<usize>,
    pub seed: u64,
    pub device: DeviceChoice,
    /// A dataset path (directory or .tgz) or `synthetic`; empty means the default location.
    pub data: String,
    pub min_images: usize,
    pub max_images: usize,
    pub split_seed: Option<u64>,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub note: String,
}

fn whole_image() -> f64 {
    1.0
}

impl Default for TrainConfig {
    /// The seed repository's settings.
    fn default() -> Self {
        TrainConfig {
            model: Arch::Resnet18,
            batch: 32,
            dim: 128,
            lr: 1e-4,
            weight_decay: 0.0,
            lr_schedule: LrSchedule::Constant,
            warmup_epochs: 0,
            epochs: 100,
            margin: 0.2,
            image_size: 224,
            crop: 1.0,
            mining: Mining::All,
            sampler: Sampler::Random,
            pk_k: 4,
            normalize: false,
            augment: false,
            zero_init_residual: false,
            init: None,
            init_sha256: None,
            fresh_embedding: false,
            imagenet_norm: false,
            dropout: None,
            tf32: false,
            eval_every: 1,
            patience: None,
            checkpoint_every: None,
            keep_checkpoints: None,
            seed: 0,
            device: DeviceChoice::Auto,
            data: String::new(),
            min_images: 20,
            max_images: 30,
            split_seed: None,
            name: None,
            tags: Vec::new(),
            note: String::new(),
        }
    }
}

/// The `run` flags, and the keys of a `--config` TOML file. Every field is optional; what is
/// given replaces the default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// The network: alexnet, resnet18 or resnet152.
    #[arg(value_enum)]
    pub model: Option<Arch>,
    /// Images per batch [default: 32].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub batch: Option<usize>,
    /// Embedding dimension [default: 128].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub dim: Option<usize>,
    /// Adam learning rate [default: 1e-4].
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Adam L2 weight decay [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// constant (the seed's) or cosine (decays to zero at the last step) [default: constant].
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Ramp the learning rate up linearly over the first N epochs [default: 0].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub warmup_epochs: Option<usize>,
    /// Passes over the training split [default: 100].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub epochs: Option<usize>,
    /// Triplet margin on squared distances [default: 0.2].
    #[arg(long, allow_negative_numbers = true)]
    pub margin: Option<f64>,
    /// Images are resized to this square size: at least 63 for alexnet, 16 for the resnets
    /// [default: 224].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub image_size: Option<usize>,
    /// Keep this central fraction of each image's width and height before resizing: LFW's
    /// faces fill the middle of the 250×250 frame, so 0.5 gives the face twice the pixels
    /// [default: 1, the whole image].
    #[arg(long, allow_negative_numbers = true)]
    pub crop: Option<f64>,
    /// Which triplets count: all (the seed's), semihard (FaceNet) or hard (batch-hard) [default: all].
    #[arg(long, value_enum)]
    pub mining: Option<Mining>,
    /// random (the seed's shuffled batches) or pk (P identities × K images) [default: random].
    #[arg(long, value_enum)]
    pub sampler: Option<Sampler>,
    /// Images per identity in a pk batch [default: 4].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub pk_k: Option<usize>,
    /// L2-normalise the embeddings (`--normalize`, or `--normalize=false`) [default: off].
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub normalize: Option<bool>,
    /// Random horizontal flips and small shifts of training images (`--augment`, or
    /// `--augment=false`) [default: off].
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub augment: Option<bool>,
    /// Start each residual block's last BatchNorm weight at zero (torchvision's
    /// zero_init_residual), so that every block begins as the identity and a deep ResNet
    /// trains from scratch like a shallow one at first (`--zero-init-residual`, or
    /// `--zero-init-residual=false`) [default: off; ResNets only].
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub zero_init_residual: Option<bool>,
    /// Start from the weights in FILE instead of the seed's random draw: torchvision's
    /// ImageNet state dict (the .pth file torchvision downloads, e.g. resnet18-f37072fd.pth),
    /// or a safetensors file under torchvision's names, such as another run's checkpoint. The
    /// embedding layer keeps the seed's draw unless FILE's has this --dim's shape (see
    /// --fresh-embedding). A relative path is read from the current directory; a .pth named
    /// NAME-HASH.pth must have a sha256 starting with HASH. Not with --zero-init-residual. The
    /// run records FILE's path and sha256. `none` is the seed's random draw, as without
    /// --init, where a --like run would take another's file, and drops the --fresh-embedding
    /// and --imagenet-norm that came with it unless given again (a file named none: ./none)
    /// [default: none, random weights].
    #[arg(long, value_name = "FILE")]
    pub init: Option<String>,
    /// With --init, draw the embedding layer from the seed even where FILE's has this --dim's
    /// shape, as when its embedding was trained for other people (`--fresh-embedding`, or
    /// `--fresh-embedding=false`) [default: off, FILE's layer where it fits].
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub fresh_embedding: Option<bool>,
    /// Normalise the network's input by ImageNet's per-channel mean and deviation, as
    /// torchvision does for its ImageNet weights (Normalize(mean=[0.485, 0.456, 0.406],
    /// std=[0.229, 0.224, 0.225])), instead of scaling pixels to [-1, 1]; for --init from
    /// those weights (`--imagenet-norm`, or `--imagenet-norm=false`) [default: off, [-1, 1]].
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub imagenet_norm: Option<bool>,
    /// Probability that AlexNet drops a classifier unit in training; 0 turns dropout off
    /// [default: 0.5, torchvision's; AlexNet only].
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Let cuBLAS multiply every f32 matrix product (convolutions, linear layers, pooling's) in
    /// TF32 on the tensor cores, as PyTorch's convolutions do by default: faster, with a 10-bit
    /// mantissa in the products (`--tf32`, or `--tf32=false`) [default: off, strict f32; CUDA
    /// only].
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tf32: Option<bool>,
    /// Evaluate train and dev accuracy every N epochs [default: 1].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub eval_every: Option<usize>,
    /// Stop early, as completed, once N epochs have passed since the best dev accuracy without
    /// a better one; the best checkpoint holds the best weights, and a final one is written
    /// where it stopped. Counted in epochs, so at least --eval-every; 0 trains every epoch,
    /// as where it is not given [default: 0, no early stop].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub patience: Option<usize>,
    /// Also write a full checkpoint every N epochs [default: none; the best (at each new best
    /// dev accuracy), the final one and one on Ctrl-C, --time-limit or --stop-after-epoch are
    /// always written, and so, after 30 minutes of training without a checkpoint to resume
    /// from, is an automatic one, which the next one but a best replaces: a crash loses at
    /// most about 30 minutes].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub checkpoint_every: Option<usize>,
    /// Keep only the newest N of the checkpoints a resume starts from (those of
    /// --checkpoint-every, of stops and the automatic ones), deleting older ones' files and
    /// rows as new ones come;
    /// a ResNet152's holds its weights and Adam's state, about 0.7 GB. The best and final
    /// checkpoints are kept regardless, and so is one another run started from (--init)
    /// [default: unset, every one kept but an automatic one, which the next replaces].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub keep_checkpoints: Option<usize>,
    /// Seed for weights, batch order and augmentation [default: 0].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<u64>)]
    pub seed: Option<u64>,
    /// auto, cpu or cuda [default: auto].
    #[arg(long, value_enum)]
    pub device: Option<DeviceChoice>,
    /// LFW as a directory or .tgz, or `synthetic[:IDS:PER[:SEED]]`: generated faces (12
    /// identities × 24 images, seed 0, when bare) [default: the `data fetch` location].
    #[arg(long)]
    pub data: Option<String>,
    /// Keep identities with at least this many images [default: 20].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub min_images: Option<usize>,
    /// Keep identities with at most this many images [default: 30].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub max_images: Option<usize>,
    /// Shuffle each identity's images with this seed before splitting [default: sorted by name].
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<u64>)]
    pub split_seed: Option<u64>,
    /// A name for the run [default: MODEL-bBATCH-dDIM-MINING].
    #[arg(long)]
    pub name: Option<String>,
    /// A tag for the run (repeatable).
    #[arg(long = "tag")]
    #[serde(default)]
    pub tags: Vec<String>,
    /// A free-text note stored with the run.
    #[arg(long)]
    pub note: Option<String>,
}

/// A count or a seed as a flag gives it. Clap reads `--batch -5` as a flag of its own and
/// suggests `-- -5`, which would make it the model, and says of `--batch=-5` only "invalid
/// digit found in string"; this says what is wanted.
fn whole_number<T: std::str::FromStr>(text: &str) -> std::result::Result<T, String> {
    text.parse()
        .map_err(|_| "not a whole number of 0 or more (e.g. 64)".to_string())
}

/// For serde's "unknown field `resume`, ..." where that names one of `run`'s flags that say how
/// this process runs, not what the run is: they are flags only.
fn flag_only_hint(message: &str) -> Option<String> {
    let key = message.split_once("unknown field `")?.1.split_once('`')?.0;
    const FLAGS_ONLY: [&str; 7] = [
        "resume",
        "like",
        "stop_after_epoch",
        "time_limit",
        "log_path",
        "quiet",
        "config",
    ];
    FLAGS_ONLY.contains(&key).then(|| {
        format!(
            "`{key}` says how to run, not what the run is, so it is a flag only: give --{} on \
             the command line",
            key.replace('_', "-")
        )
    })
}

impl Overrides {
    /// A `--config` file's settings from its `text`. Where more than one key is wrong (unknown,
    /// or of the wrong type), each is said, with its line and caret: serde stops at the first.
    fn from_toml(text: &str) -> Result<Overrides> {
        let said = |e: toml::de::Error| {
            let hint = flag_only_hint(e.message());
            crate::format::toml_error(e, hint)
        };
        let first = match toml::from_str(text) {
            Ok(o) => return Ok(o),
            Err(e) => e,
        };
        let wrong = Self::wrong_keys(text);
        if wrong.len() < 2 {
            return Err(said(first));
        }
        // As a sweep spec's problems: the words on a line of their own, the place under them.
        let mut msg = format!("{} mistakes:", wrong.len());
        for e in wrong {
            let hint = flag_only_hint(e.message());
            let problem = crate::format::toml_problem(e, hint);
            msg.push_str(&format!("\n  {}", problem.replace('\n', "\n  ")));
        }
        bail!(msg)
    }

    /// toml's error for each key of `text` that is wrong on its own, in file order; none where
    /// `text` is no TOML at all.
    fn wrong_keys(text: &str) -> Vec<toml::de::Error> {
        let Ok(root) = toml::de::DeTable::parse(text) else {
            return Vec::new();
        };
        let mut entries: Vec<_> = root.into_inner().into_iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        entries
            .iter()
            .filter_map(|(key, value)| Self::wrong_key(text, key, value))
            .collect()
    }

    /// toml's error for `key = value` of `text`, read alone as a setting, with its line and
    /// caret; none where it is a good one.
    pub fn wrong_key(
        text: &str,
        key: &toml::Spanned<toml::de::DeString<'_>>,
        value: &toml::Spanned<toml::de::DeValue<'_>>,
    ) -> Option<toml::de::Error> {
        use serde::Deserialize as _;
        // One key in a table of its own, its spans still those of `text`.
        let mut alone = toml::de::DeTable::new();
        alone.insert(key.clone(), value.clone());
        let one = toml::de::Deserializer::from(toml::Spanned::new(0..text.len(), alone));
        let mut e = Overrides::deserialize(one).err()?;
        e.set_input(Some(text));
        Some(e)
    }

    /// Reads a `--config` file.
    pub fn from_file(path: &Path) -> Result<Overrides> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file '{}'", path.display()))?;
        // A sweep spec's keys are no run's: its first is enough to say which command takes it.
        let read = if crate::sweep::is_spec_file(path) {
            toml::from_str(&text).map_err(|e| crate::format::toml_error(e, None))
        } else {
            Overrides::from_toml(&text)
        };
        read.with_context(|| {
            if crate::sweep::is_spec_file(path) {
                format!(
                    "'{}' is an experiment file of several runs, not one run's config: start \
                     it with `facenet-lab sweep {}`",
                    path.display(),
                    crate::format::shell_quote(&path.to_string_lossy())
                )
            } else {
                format!("in config file '{}'", path.display())
            }
        })
    }

    /// The settings given, as the flags that give them (`--lr`, `--pk-k`, `--tag`; the model
    /// as `MODEL`), by name. The names are clap's, so they are the ones `run --help` shows.
    pub fn given(&self) -> Vec<String> {
        use clap::Args as _;
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        let flags = Overrides::augment_args(clap::Command::new("run"));
        fields
            .into_iter()
            .filter(|(_, v)| !(v.is_null() || v.as_array().is_some_and(Vec::is_empty)))
            .map(|(field, _)| {
                let arg = flags.get_arguments().find(|a| a.get_id() == field.as_str());
                match (arg.and_then(|a| a.get_long()), arg) {
                    (Some(long), _) => format!("--{long}"),
                    (None, Some(a)) => a.get_id().as_str().to_uppercase(),
                    (None, None) => field,
                }
            })
            .collect()
    }
}

/// Whether a run named `name` would be read as a range of run ids (`2-4`, and `4-2`, which is
/// refused as one) where a list of runs is given: digits, a `-`, digits, as `report --runs`,
/// `export --runs` and `lab tag` read them.
pub fn reads_as_id_range(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    name.trim()
        .split_once('-')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// `--dim`'s rule, shared by `run` and `bench`.
pub fn dim_problem(dim: usize) -> Option<String> {
    (dim < 2).then(|| format!("--dim must be at least 2, got {dim}"))
}

/// The smallest `--image-size` `model` trains on, shared by `run` and `bench`.
pub fn image_size_problem(model: Arch, size: usize) -> Option<String> {
    let min = model.min_train_size();
    (size < min)
        .then(|| format!("--image-size {size} is too small for {model}: it needs at least {min}"))
}

/// The distinct `--flag` words of a message, in order.
fn flags_named(message: &str) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find("--") {
        let tail = &rest[at..];
        let end = tail[2..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .map_or(tail.len(), |i| i + 2);
        let flag = tail[..end].trim_end_matches('-');
        let word_start = !rest[..at].ends_with(|c: char| c.is_alphanumeric());
        if word_start && flag.len() > 2 && !found.contains(&flag) {
            found.push(flag);
        }
        rest = &tail[end.max(2)..];
    }
    found
}

/// An error naming every problem of a command's settings (one per line when there are
/// several), or `Ok` when there are none.
pub fn refuse(problems: &[String]) -> Result<()> {
    match problems {
        [] => Ok(()),
        [one] => bail!("{one}"),
        many => bail!(
            "{} problems with the settings:\n  {}",
            many.len(),
            many.join("\n  ")
        ),
    }
}

impl TrainConfig {
    /// The settings `run` recorded when it started.
    pub fn recorded(run: &crate::lab::Run) -> Result<TrainConfig> {
        serde_json::from_str(&run.config_json)
            .with_context(|| format!("reading the recorded config of run {}", run.id))
    }

    /// The run's network over the variables of `vb` (created there, or read from it): its
    /// architecture and embedding size, AlexNet's dropout, and its input normalisation.
    pub fn network(&self, vb: candle_nn::VarBuilder) -> Result<EmbeddingNet> {
        let mut net = EmbeddingNet::new(self.model, self.dim, vb)
            .with_context(|| format!("building {}", self.model))?;
        if let Some(p) = self.dropout {
            net.set_dropout(p as f32)?;
        }
        net.set_imagenet_norm(self.imagenet_norm);
        Ok(net)
    }

    /// Replaces every setting that `o` gives; tags accumulate.
    pub fn apply(&mut self, o: &Overrides) {
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = o.$field.clone() { self.$field = v; } )* };
        }
        set!(
            model,
            batch,
            dim,
            lr,
            weight_decay,
            lr_schedule,
            warmup_epochs,
            epochs,
            margin,
            image_size,
            crop,
            mining,
            sampler,
            pk_k
        );
        set!(
            normalize,
            augment,
            zero_init_residual,
            fresh_embedding,
            imagenet_norm,
            tf32,
            eval_every,
            seed,
            device,
            data
        );
        set!(min_images, max_images, note);
        if o.checkpoint_every.is_some() {
            self.checkpoint_every = o.checkpoint_every;
        }
        if o.keep_checkpoints.is_some() {
            self.keep_checkpoints = o.keep_checkpoints;
        }
        if o.dropout.is_some() {
            self.dropout = o.dropout;
        }
        if let Some(n) = o.patience {
            self.patience = (n > 0).then_some(n);
        }
        match o.init.as_deref() {
            // The random draw; what came with a file that --like brought went before the file
            // and the flags applied ([`TrainConfig::merged_with`]).
            Some("none") => {
                self.init = None;
                self.init_sha256 = None;
            }
            Some(path) => {
                self.init = Some(path.to_string());
                self.init_sha256 = None;
            }
            None => {}
        }
        if o.split_seed.is_some() {
            self.split_seed = o.split_seed;
        }
        if o.name.is_some() {
            self.name = o.name.clone();
        }
        for t in &o.tags {
            if !self.tags.contains(t) {
                self.tags.push(t.clone());
            }
        }
    }

    /// `run`'s settings: defaults, then the `--config` file at `path` if any, then the flags,
    /// checked; with the file's own settings, which `run` still asks about.
    pub fn resolve_from(
        path: Option<&Path>,
        flags: &Overrides,
    ) -> Result<(Option<Overrides>, TrainConfig)> {
        let file = path.map(Overrides::from_file).transpose()?;
        let cfg = TrainConfig::resolve(file.as_ref(), flags)?;
        Ok((file, cfg))
    }

    /// `run --like`'s settings: those of `like` (another run's, [`TrainConfig::as_a_start`]) in
    /// place of the defaults, then the `--config` file if any, then the flags, checked. Where
    /// they name another model, what only the other model takes is dropped first (unless they
    /// give it again), and said in the notes returned.
    /// A problem with a setting the flags do not give names it as `like_run`'s.
    pub fn resolve_like(
        mut like: TrainConfig,
        like_run: crate::lab::RunId,
        file: Option<&Overrides>,
        flags: &Overrides,
    ) -> Result<(TrainConfig, Vec<String>)> {
        let model = flags.model.or(file.and_then(|f| f.model));
        let mut notes = Vec::new();
        if let Some(model) = model.filter(|&m| m != like.model) {
            let mut dropped = Vec::new();
            if like.init.is_some() {
                dropped.push(if like.imagenet_norm {
                    "--init (weights of another network) with its --imagenet-norm"
                } else {
                    "--init (weights of another network)"
                });
                like.drop_init();
            }
            if model != Arch::Alexnet && like.dropout.take().is_some() {
                dropped.push("--dropout (AlexNet's)");
            }
            if model == Arch::Alexnet && std::mem::take(&mut like.zero_init_residual) {
                dropped.push("--zero-init-residual (a ResNet's)");
            }
            if !dropped.is_empty() {
                notes.push(format!(
                    "{} of the run this one is like {} not carry over to {model}",
                    dropped.join(" and "),
                    if dropped.len() == 1 { "does" } else { "do" }
                ));
            }
        }
        let cfg = like.merged_with(file, flags);
        let base = format!("run {like_run}'s, by --like");
        refuse(&cfg.sourced(cfg.problems(), file, flags, &base))?;
        Ok((cfg, notes))
    }

    /// Starts from the seed's random draw: no `--init` file, nor the layer choice and the input
    /// scale (`--imagenet-norm`, which torchvision's weights expect) that come with one.
    fn drop_init(&mut self) {
        self.init = None;
        self.init_sha256 = None;
        self.fresh_embedding = false;
        self.imagenet_norm = false;
    }

    /// A recorded run's settings as those of a new run: all but its name (a new run takes its
    /// own), its note and tags (what was said of that run: `gpu` of one trained there). The
    /// sha256 of its `--init` file stays, for the new run to check that it reads the same file
    /// ([`crate::train::session::like_init_unchanged`]).
    pub fn as_a_start(mut self) -> TrainConfig {
        self.name = None;
        self.note.clear();
        self.tags.clear();
        self
    }

    /// Defaults, then the file, then the flags, checked.
    pub fn resolve(file: Option<&Overrides>, flags: &Overrides) -> Result<TrainConfig> {
        let model_given = file.is_some_and(|f| f.model.is_some()) || flags.model.is_some();
        if !model_given {
            bail!("no model given: name one, e.g. `facenet-lab run resnet18`, set `model = \"resnet18\"` in the --config file, or start like another run with --like RUN");
        }
        let cfg = Self::merged(file, flags);
        refuse(&cfg.sourced(cfg.problems(), file, flags, "the default"))?;
        Ok(cfg)
    }

    /// Defaults, then the file, then the flags, unchecked (see [`TrainConfig::problems`]).
    pub fn merged(file: Option<&Overrides>, flags: &Overrides) -> TrainConfig {
        TrainConfig::default().merged_with(file, flags)
    }

    /// These settings, then the file, then the flags, unchecked. `--init none` in either drops
    /// the `--init` file these settings have (a `--like` run's) first, with the layer choice
    /// and input scale that came with it, so that what the file and flags give stays.
    fn merged_with(mut self, file: Option<&Overrides>, flags: &Overrides) -> TrainConfig {
        let none = |o: &Overrides| o.init.as_deref() == Some("none");
        if self.init.is_some() && (file.is_some_and(none) || none(flags)) {
            self.drop_init();
        }
        if let Some(f) = file {
            self.apply(f);
        }
        self.apply(flags);
        self
    }

    /// Checks the settings before anything is recorded, naming every problem at once.
    pub fn validate(&self) -> Result<()> {
        refuse(&self.problems())
    }

    /// `problems`, each followed by where the flags it names that these settings set got their
    /// values, for those not given as flags: from the `--config` file, or `base` (`the
    /// default`, `run 41's, by --like`). Otherwise a problem names a flag the user never
    /// typed, as if they had (`--max-images (30) is below --min-images (40)`).
    fn sourced(
        &self,
        problems: Vec<String>,
        file: Option<&Overrides>,
        flags: &Overrides,
        base: &str,
    ) -> Vec<String> {
        let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or_default();
        let (set, typed) = (
            json(serde_json::to_value(self)),
            json(serde_json::to_value(flags)),
        );
        let in_file = json(serde_json::to_value(file));
        // A key is given (or set) when present with a value: not null, false, nor empty.
        let has = |v: &serde_json::Value, key: &str| {
            v.get(key).is_some_and(|x| {
                !(x.is_null()
                    || *x == serde_json::Value::Bool(false)
                    || *x == ""
                    || x.as_array().is_some_and(|a| a.is_empty()))
            })
        };
        problems
            .into_iter()
            .map(|p| {
                // Each source once, after the flags it gave: `--a and --b: the default`.
                let mut whose: Vec<(&str, Vec<&str>)> = Vec::new();
                for flag in flags_named(&p) {
                    let key = flag[2..].replace('-', "_");
                    if has(&typed, &key) || !has(&set, &key) {
                        continue;
                    }
                    let from = if has(&in_file, &key) {
                        "the --config file's"
                    } else {
                        base
                    };
                    match whose.iter_mut().find(|(f, _)| *f == from) {
                        Some((_, flags)) => flags.push(flag),
                        None => whose.push((from, vec![flag])),
                    }
                }
                if whose.is_empty() {
                    return p;
                }
                let said: Vec<String> = whose
                    .iter()
                    .map(|(from, flags)| format!("{}: {from}", flags.join(" and ")))
                    .collect();
                format!("{p} ({})", said.join("; "))
            })
            .collect()
    }

    /// What is wrong with the settings, each as a sentence naming its flag.
    pub fn problems(&self) -> Vec<String> {
        let mut found = Vec::new();
        found.extend(dim_problem(self.dim));
        if self.batch < 3 {
            found.push(format!(
                "--batch must be at least 3 (a triplet needs two images of one identity and one \
                 of another), got {}",
                self.batch
            ));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            found.push(format!("--lr must be a positive number, got {}", self.lr));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            found.push(format!(
                "--weight-decay must be zero or positive, got {}",
                self.weight_decay
            ));
        }
        for (flag, seed) in [
            ("--seed", Some(self.seed)),
            ("--split-seed", self.split_seed),
        ] {
            if let Some(seed) = seed.filter(|&s| i64::try_from(s).is_err()) {
                found.push(format!(
                    "{flag} must be at most {} (the lab stores it as a signed 64-bit integer), \
                     got {seed}",
                    i64::MAX
                ));
            }
        }
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                found.push("--name must not be empty: leave it out for the default, MODEL-bBATCH-dDIM-MINING".to_string());
            }
            if name.parse::<i64>().is_ok() {
                found.push(format!(
                    "--name '{name}' is a number, and `eval`, `--resume` and the other commands \
                     read a number as a run id: give the run a name with a letter in it"
                ));
            }
            if name.contains(',') {
                found.push(format!(
                    "--name '{name}' holds a comma, and `report --runs` and `export --runs` read \
                     a comma as one between two runs: use '-' or '_'"
                ));
            }
            if reads_as_id_range(name) {
                found.push(format!(
                    "--name '{name}' is two numbers joined by '-', and `lab tag`, `report --runs` \
                     and `export --runs` read that as a range of run ids: give the run a name \
                     with a letter in it"
                ));
            }
        }
        found.extend(
            self.tags
                .iter()
                .filter_map(|t| crate::lab::tag_problem(t))
                .map(|why| format!("--tag: {why}")),
        );
        if self.epochs == 0 {
            found.push("--epochs must be at least 1".to_string());
        }
        if self.epochs > 0 && self.warmup_epochs >= self.epochs {
            found.push(format!(
                "--warmup-epochs ({}) must be fewer than --epochs ({})",
                self.warmup_epochs, self.epochs
            ));
        }
        if !(self.margin >= 0.0 && self.margin.is_finite()) {
            found.push(format!(
                "--margin must be zero or positive, got {}",
                self.margin
            ));
        }
        if self.eval_every == 0 {
            found.push("--eval-every must be at least 1 epoch".to_string());
        }
        if let Some(n) = self.patience.filter(|&n| n < self.eval_every) {
            found.push(format!(
                "--patience ({n}) is under --eval-every ({}): the dev accuracy is measured every \
                 {} epochs, so give a patience of at least that many",
                self.eval_every, self.eval_every
            ));
        }
        if self.checkpoint_every == Some(0) {
            found.push("--checkpoint-every must be at least 1 epoch".to_string());
        }
        if self.keep_checkpoints == Some(0) {
            found.push(
                "--keep-checkpoints must be at least 1: a resume starts from the newest"
                    .to_string(),
            );
        }
        found.extend(image_size_problem(self.model, self.image_size));
        if self.image_size > 1024 {
            found.push(format!(
                "--image-size {} is larger than 1024; faces in LFW are 250×250",
                self.image_size
            ));
        }
        if !(self.crop > 0.0 && self.crop <= 1.0) {
            found.push(format!(
                "--crop must be a fraction in (0, 1] of the image's side, got {}",
                self.crop
            ));
        }
        // Said so that a --tf32 from --like or a config file can be undone.
        const OFF: &str = "--tf32=false multiplies in strict f32";
        if self.tf32 && self.device == DeviceChoice::Cpu {
            found.push(format!(
                "--tf32 is for CUDA's tensor cores: --device cpu multiplies in f32 ({OFF})"
            ));
        } else if let Err(e) = crate::train::device::check_tf32(self.tf32) {
            found.push(format!("{e}; or {OFF} here"));
        }
        if self.zero_init_residual && self.model == Arch::Alexnet {
            found.push(
                "--zero-init-residual is for ResNets: alexnet has no residual blocks".to_string(),
            );
        }
        if self.zero_init_residual && self.init.is_some() {
            found.push(
                "--zero-init-residual and --init both set the starting weights: the file's \
                 would replace the zeroed ones, so give one"
                    .to_string(),
            );
        }
        if self.fresh_embedding && self.init.is_none() {
            found.push(
                "--fresh-embedding is for --init: a run without it draws every layer from its \
                 seed"
                    .to_string(),
            );
        }
        if let Some(p) = self.dropout {
            if self.model != Arch::Alexnet {
                found.push(format!(
                    "--dropout is for AlexNet: {} has no dropout layers",
                    self.model
                ));
            }
            if !(0.0..1.0).contains(&p) {
                found.push(format!(
                    "--dropout must be a probability in [0, 1), got {p}"
                ));
            }
        }
        if self.min_images < 3 {
            found.push("--min-images must be at least 3: every identity needs a train, a dev and a test image".to_string());
        }
        if self.max_images < self.min_images {
            found.push(format!(
                "--max-images ({}) is below --min-images ({})",
                self.max_images, self.min_images
            ));
        }
        if self.sampler == Sampler::Pk {
            if self.pk_k < 2 {
                found.push(format!(
                    "--pk-k must be at least 2 images per identity, got {}",
                    self.pk_k
                ));
            } else if !self.batch.is_multiple_of(self.pk_k) || self.batch / self.pk_k < 2 {
                // A batch is P identities of K images each, P at least 2.
                let k = self.pk_k;
                let down = self.batch / k * k;
                let up = self.batch.div_ceil(k).max(2) * k;
                let near = if down >= 2 * k && down != up {
                    format!("{down} or {up}")
                } else {
                    up.to_string()
                };
                found.push(format!(
                    "with --sampler pk, --batch ({}) must hold --pk-k ({k}) images of each of 2 \
                     identities or more: a multiple of {k}, at least {} (e.g. {near})",
                    self.batch,
                    2 * k
                ));
            }
        }
        found
    }

    /// The classifier dropout the network trains with: AlexNet's (0.5 unless set), none for
    /// the ResNets.
    pub fn dropout(&self) -> Option<f64> {
        (self.model == Arch::Alexnet).then(|| {
            self.dropout
                .unwrap_or(f64::from(crate::model::alexnet::DROPOUT))
        })
    }

    /// The run's name: given, or `resnet18-b32-d128-all`, with `-s3` for a seed other than the
    /// default 0, so that repeats on other seeds read apart.
    pub fn run_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let seed = match self.seed {
                0 => String::new(),
                s => format!("-s{s}"),
            };
            format!(
                "{}-b{}-d{}-{}{seed}",
                self.model,
                self.batch,
                self.dim,
                self.mining.as_str()
            )
        })
    }

    /// The typed columns of the lab's runs table.
    pub fn hyperparams(&self) -> crate::lab::Hyperparams {
        crate::lab::Hyperparams {
            model: self.model.to_string(),
            batch_size: self.batch as i64,
            embedding_dim: self.dim as i64,
            lr: self.lr,
            weight_decay: self.weight_decay,
            lr_schedule: self.lr_schedule.as_str().to_string(),
            warmup_epochs: self.warmup_epochs as i64,
            epochs: self.epochs as i64,
            margin: self.margin,
            image_size: self.image_size as i64,
            crop: self.crop,
            mining: self.mining.as_str().to_string(),
            sampler: self.sampler.as_str().to_string(),
            pk_k: (self.sampler == Sampler::Pk).then_some(self.pk_k as i64),
            normalize: self.normalize,
            augment: self.augment,
            zero_init_residual: self.zero_init_residual,
            init: self.init.clone(),
            init_sha256: self.init_sha256.clone(),
            fresh_embedding: self.fresh_embedding,
            imagenet_norm: self.imagenet_norm,
            dropout: self.dropout(),
            tf32: self.tf32,
            eval_every: self.eval_every as i64,
            patience: self.patience.map(|n| n as i64),
            checkpoint_every: self.checkpoint_every.map(|c| c as i64),
            seed: self.seed as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::RunId;

    /// As `report --runs` reads its entries: only digits on both sides of one `-` make a range.
    #[test]
    fn names_that_read_as_id_ranges() {
        for name in ["2-4", "4-2", " 10-12 ", "007-8"] {
            assert!(reads_as_id_range(name), "{name}");
        }
        for name in ["2-4-6", "a-4", "2-b", "-2", "2-", "2_4", "run-2-4", "2"] {
            assert!(!reads_as_id_range(name), "{name}");
        }
    }

    /// A problem with a setting the user did not type says where it came from: the defaults,
    /// the --config file, or the run --like took; one typed is left as it is.
    #[test]
    fn problems_name_where_untyped_settings_came_from() {
        let typed = Overrides {
            min_images: Some(40),
            ..flags(Arch::Resnet18)
        };
        let e = format!("{:#}", TrainConfig::resolve(None, &typed).unwrap_err());
        assert_eq!(
            e,
            "--max-images (30) is below --min-images (40) (--max-images: the default)"
        );
        let both = Overrides {
            max_images: Some(20),
            ..typed.clone()
        };
        let e = format!("{:#}", TrainConfig::resolve(None, &both).unwrap_err());
        assert_eq!(e, "--max-images (20) is below --min-images (40)");
        let file = Overrides {
            max_images: Some(25),
            ..Overrides::default()
        };
        let e = format!(
            "{:#}",
            TrainConfig::resolve(Some(&file), &typed).unwrap_err()
        );
        assert!(e.ends_with("(--max-images: the --config file's)"), "{e}");
        let both_in_file = Overrides {
            min_images: Some(40),
            ..file.clone()
        };
        let e = format!(
            "{:#}",
            TrainConfig::resolve(Some(&both_in_file), &flags(Arch::Resnet18)).unwrap_err()
        );
        assert!(
            e.ends_with("(--max-images and --min-images: the --config file's)"),
            "{e}"
        );
        // From the run it is like: its --tf32, against a --device cpu typed now.
        let gpu = TrainConfig {
            tf32: true,
            ..TrainConfig::default()
        };
        let cpu = Overrides {
            device: Some(DeviceChoice::Cpu),
            ..Overrides::default()
        };
        let e = format!(
            "{:#}",
            TrainConfig::resolve_like(gpu, RunId(41), None, &cpu).unwrap_err()
        );
        assert!(e.ends_with("(--tf32: run 41's, by --like)"), "{e}");
        // A flag named as advice, and not set, is not sourced.
        let fresh = Overrides {
            fresh_embedding: Some(true),
            ..flags(Arch::Resnet18)
        };
        let e = format!("{:#}", TrainConfig::resolve(None, &fresh).unwrap_err());
        assert!(!e.contains("(--init"), "{e}");
    }

    /// `--image-size`'s help gives each network's smallest size as the check has it.
    #[test]
    fn the_image_size_help_gives_the_smallest_sizes() {
        use clap::Args as _;
        let flags = Overrides::augment_args(clap::Command::new("run"));
        let help = flags
            .get_arguments()
            .find(|a| a.get_id() == "image_size")
            .and_then(|a| a.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let alexnet = format!("at least {} for alexnet", Arch::Alexnet.min_train_size());
        let resnets = format!(", {} for the resnets", Arch::Resnet18.min_train_size());
        assert!(help.contains(&alexnet) && help.contains(&resnets), "{help}");
        assert_eq!(
            Arch::Resnet18.min_train_size(),
            Arch::Resnet152.min_train_size()
        );
    }

    /// Every wrong key of a config file is said at once, each with its line and caret.
    #[test]
    fn every_wrong_key_of_a_config_file_is_said() {
        let text = "model = \"resnet18\"\naugment = \"yes\"\nbatch = 16.5\nimage_sise = 64\n";
        let e = format!("{:#}", Overrides::from_toml(text).unwrap_err());
        assert!(e.starts_with("3 mistakes:\n"), "{e}");
        // Each as a sweep spec's are: its words on a line, the place indented under them.
        assert!(
            e.contains(
                "\n  the value must be true or false, without quotes\n    TOML parse error at \
                 line 2, column 11\n      |\n    2 | augment = \"yes\"\n"
            ),
            "{e}"
        );
        for said in [
            "the value must be true or false, without quotes",
            "2 | augment = \"yes\"",
            "the value must be a whole number, not negative (e.g. 64)",
            "3 | batch = 16.5",
            "`image_sise` is no setting: did you mean `image_size`?",
            "4 | image_sise = 64",
        ] {
            assert!(e.contains(said), "{said}:\n{e}");
        }
        // One mistake is said as before, and a good file reads.
        let e = format!("{:#}", Overrides::from_toml("batch = 16.5").unwrap_err());
        assert!(!e.contains("mistakes"), "{e}");
        let o = Overrides::from_toml("model = \"alexnet\"\ntags = [\"a\"]").unwrap();
        assert_eq!(
            (o.model, o.tags),
            (Some(Arch::Alexnet), vec!["a".to_string()])
        );
    }

    #[test]
    fn a_flag_only_key_in_a_config_file_says_so() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "model = \"resnet18\"\ntime_limit = \"2h\"\n")?;
        let e = format!("{:#}", Overrides::from_file(&file).unwrap_err());
        assert!(
            e.contains(
                "`time_limit` says how to run, not what the run is, so it is a flag only: \
                        give --time-limit on the command line"
            ),
            "{e}"
        );
        assert_eq!(
            flag_only_hint("unknown field `image_sise`, expected one of"),
            None
        );
        Ok(())
    }

    #[test]
    fn flags_are_found_in_a_message_once_each() {
        assert_eq!(
            flags_named("--crop 0.1 at --image-size 64 (--crop-x), --, a--b --crop."),
            ["--crop", "--image-size", "--crop-x"]
        );
    }

    fn flags(model: Arch) -> Overrides {
        Overrides {
            model: Some(model),
            ..Default::default()
        }
    }

    /// A run like another of another model drops what only the other model takes, and says
    /// so; given again, it stays (and is checked).
    #[test]
    fn a_run_like_another_of_another_model_drops_what_that_model_alone_takes() -> Result<()> {
        let alexnet = TrainConfig {
            model: Arch::Alexnet,
            dropout: Some(0.3),
            init: Some("/w/alexnet.safetensors".into()),
            init_sha256: Some("ab".repeat(32)),
            fresh_embedding: true,
            image_size: 64,
            ..TrainConfig::default()
        };
        let (cfg, notes) =
            TrainConfig::resolve_like(alexnet.clone(), RunId(41), None, &flags(Arch::Resnet18))?;
        assert_eq!(
            (
                cfg.model,
                cfg.dropout,
                cfg.init,
                cfg.init_sha256,
                cfg.fresh_embedding
            ),
            (Arch::Resnet18, None, None, None, false)
        );
        assert_eq!(cfg.image_size, 64, "the rest carries over");
        assert_eq!(
            notes,
            ["--init (weights of another network) and --dropout (AlexNet's) of the run this one \
              is like do not carry over to resnet18"]
        );
        // The same model: nothing dropped, nothing said.
        let (same, notes) =
            TrainConfig::resolve_like(alexnet.clone(), RunId(41), None, &flags(Arch::Alexnet))?;
        assert_eq!((same.dropout, notes.len()), (Some(0.3), 0));
        // Given again by a flag, --dropout is checked as any other: not for a ResNet.
        let again = Overrides {
            dropout: Some(0.3),
            ..flags(Arch::Resnet18)
        };
        let e = TrainConfig::resolve_like(alexnet, RunId(41), None, &again)
            .map(|_| ())
            .unwrap_err();
        assert!(format!("{e:#}").contains("--dropout"), "{e:#}");
        Ok(())
    }

    /// The input scale torchvision's weights expect goes with their file: when a model change
    /// or `--init none` drops the file, `--imagenet-norm` goes too, unless it is given again.
    #[test]
    fn imagenet_norm_goes_with_the_init_file_it_came_with() -> Result<()> {
        let imagenet = TrainConfig {
            init: Some("/w/resnet18.safetensors".into()),
            init_sha256: Some("ab".repeat(32)),
            imagenet_norm: true,
            image_size: 64,
            ..TrainConfig::default()
        };
        let (cfg, notes) =
            TrainConfig::resolve_like(imagenet.clone(), RunId(41), None, &flags(Arch::Resnet152))?;
        assert_eq!((cfg.init, cfg.imagenet_norm), (None, false));
        assert_eq!(
            notes,
            [
                "--init (weights of another network) with its --imagenet-norm of the run this one \
              is like does not carry over to resnet152"
            ]
        );
        let none = Overrides {
            init: Some("none".into()),
            ..Overrides::default()
        };
        let (cfg, _) = TrainConfig::resolve_like(imagenet.clone(), RunId(41), None, &none)?;
        assert_eq!((cfg.init, cfg.imagenet_norm), (None, false));
        for again in [
            Overrides {
                imagenet_norm: Some(true),
                ..flags(Arch::Resnet152)
            },
            Overrides {
                imagenet_norm: Some(true),
                ..none.clone()
            },
        ] {
            let (cfg, _) = TrainConfig::resolve_like(imagenet.clone(), RunId(41), None, &again)?;
            assert_eq!((cfg.init, cfg.imagenet_norm), (None, true), "{again:?}");
        }
        // Given again by the --config file, it stays too.
        let file = Overrides {
            imagenet_norm: Some(true),
            ..Overrides::default()
        };
        let (cfg, _) = TrainConfig::resolve_like(imagenet.clone(), RunId(41), Some(&file), &none)?;
        assert_eq!((cfg.init, cfg.imagenet_norm), (None, true));
        // Chosen without a file, it has no file to go with.
        let random = TrainConfig {
            init: None,
            init_sha256: None,
            ..imagenet.clone()
        };
        let (cfg, notes) = TrainConfig::resolve_like(random.clone(), RunId(41), None, &none)?;
        assert_eq!((cfg.imagenet_norm, notes.len()), (true, 0));
        let (cfg, notes) =
            TrainConfig::resolve_like(random, RunId(41), None, &flags(Arch::Resnet152))?;
        assert_eq!((cfg.imagenet_norm, notes.len()), (true, 0));
        // With the file kept, so is its input scale.
        let (same, notes) =
            TrainConfig::resolve_like(imagenet, RunId(41), None, &flags(Arch::Resnet18))?;
        assert_eq!((same.imagenet_norm, notes.len()), (true, 0));
        Ok(())
    }

    #[test]
    fn given_settings_are_named_as_their_flags() {
        let o = Overrides {
            model: Some(Arch::Resnet18),
            lr: Some(0.1),
            pk_k: Some(4),
            tags: vec!["x".into()],
            ..Overrides::default()
        };
        assert_eq!(o.given(), ["--lr", "MODEL", "--pk-k", "--tag"]);
        assert!(Overrides::default().given().is_empty());
    }

    #[test]
    fn switches_take_a_value_only_after_an_equals_sign() {
        use clap::Parser as _;
        let parse = |args: &[&str]| {
            crate::cli::Cli::try_parse_from(["facenet-lab", "run"].iter().chain(args)).map(|cli| {
                match cli.command {
                    Some(crate::cli::Command::Run(r)) => r.overrides,
                    other => panic!("{other:?}"),
                }
            })
        };
        // Before the model, a bare switch leaves the model alone.
        let o = parse(&["--normalize", "resnet18", "--augment"]).expect("parses");
        assert_eq!(
            (o.model, o.normalize, o.augment),
            (Some(Arch::Resnet18), Some(true), Some(true))
        );
        let o =
            parse(&["resnet18", "--normalize=false", "--zero-init-residual=true"]).expect("parses");
        assert_eq!(
            (o.normalize, o.zero_init_residual),
            (Some(false), Some(true))
        );
        assert!(parse(&["resnet18", "--normalize", "false"]).is_err());
        // A negative count is its flag's value, refused with what is wanted, not taken for a
        // flag of its own; a negative crop reaches the check that names its range.
        for args in [
            &["resnet18", "--batch", "-5"][..],
            &["resnet18", "--batch=-5"],
        ] {
            let e = parse(args).expect_err("a negative batch").to_string();
            assert!(
                e.contains(
                    "invalid value '-5' for '--batch <BATCH>': not a whole number of 0 or \
                     more (e.g. 64)"
                ),
                "{e}"
            );
        }
        let o = parse(&["resnet18", "--crop", "-0.5", "--seed", "7"]).expect("parses");
        assert_eq!((o.crop, o.seed), (Some(-0.5), Some(7)));
    }

    #[test]
    fn every_given_setting_is_a_flag_that_run_accepts() -> Result<()> {
        // Every setting a config file can hold, each given once.
        let all: Overrides = toml::from_str(
            "model = \"alexnet\"\nbatch = 1\ndim = 1\nlr = 0.1\nweight_decay = 0.1\n\
             lr_schedule = \"cosine\"\nwarmup_epochs = 1\nepochs = 1\nmargin = 0.1\n\
             image_size = 8\ncrop = 0.5\nmining = \"hard\"\nsampler = \"pk\"\npk_k = 2\n\
             normalize = true\naugment = true\nzero_init_residual = true\ninit = \"w.pth\"\nfresh_embedding = true\nimagenet_norm = true\ndropout = 0.0\ntf32 = false\n\
             eval_every = 1\npatience = 1\ncheckpoint_every = 1\nkeep_checkpoints = 1\nseed = 1\ndevice = \"cpu\"\ndata = \"d\"\n\
             min_images = 1\nmax_images = 2\nsplit_seed = 1\nname = \"n\"\ntags = [\"t\"]\n\
             note = \"x\"\n",
        )?;
        let given = all.given();
        // Every setting of the struct: one added to Overrides must be added above too.
        use clap::Args as _;
        let settings = Overrides::augment_args(clap::Command::new("run"))
            .get_arguments()
            .count();
        assert_eq!(given.len(), settings, "{given:?}");
        assert!(given.contains(&"MODEL".to_string()), "{given:?}");
        // Each is a flag of the real `run` command.
        use clap::CommandFactory as _;
        let cli = crate::cli::Cli::command();
        let run = cli.find_subcommand("run").expect("a run command");
        for flag in given.iter().filter(|f| *f != "MODEL") {
            let long = flag.strip_prefix("--");
            assert!(
                long.is_some() && run.get_arguments().any(|a| a.get_long() == long),
                "{flag} is not a flag of run"
            );
        }
        Ok(())
    }

    #[test]
    fn defaults_are_the_seeds() -> Result<()> {
        let c = TrainConfig::resolve(None, &flags(Arch::Resnet152))?;
        assert_eq!(
            (c.batch, c.dim, c.lr, c.epochs, c.margin, c.image_size),
            (32, 128, 1e-4, 100, 0.2, 224)
        );
        assert_eq!(
            (c.mining, c.sampler, c.normalize, c.eval_every),
            (Mining::All, Sampler::Random, false, 1)
        );
        assert_eq!(c.run_name(), "resnet152-b32-d128-all");
        // Another seed reads apart; a given name is kept as given.
        let mut other = c.clone();
        other.seed = 3;
        assert_eq!(other.run_name(), "resnet152-b32-d128-all-s3");
        other.name = Some("mine".into());
        assert_eq!(other.run_name(), "mine");
        Ok(())
    }

    #[test]
    fn flags_win_over_the_file() -> Result<()> {
        let file: Overrides = toml::from_str(
            "model = \"alexnet\"\nbatch = 64\ndim = 64\nmining = \"semihard\"\nnormalize = true\ntags = [\"a\"]\n",
        )?;
        let cli = Overrides {
            batch: Some(16),
            tags: vec!["b".into()],
            ..Default::default()
        };
        let c = TrainConfig::resolve(Some(&file), &cli)?;
        assert_eq!(
            (c.model, c.batch, c.dim, c.mining, c.normalize),
            (Arch::Alexnet, 16, 64, Mining::Semihard, true)
        );
        assert_eq!(c.tags, vec!["a".to_string(), "b".to_string()]);
        Ok(())
    }

    #[test]
    fn schedules_come_from_files_and_flags_and_old_configs_read_as_constant() -> Result<()> {
        let file: Overrides =
            toml::from_str("model = \"resnet18\"\nlr_schedule = \"cosine\"\nwarmup_epochs = 2\n")?;
        let c = TrainConfig::resolve(Some(&file), &Overrides::default())?;
        assert_eq!((c.lr_schedule, c.warmup_epochs), (LrSchedule::Cosine, 2));
        let h = c.hyperparams();
        assert_eq!((h.lr_schedule.as_str(), h.warmup_epochs), ("cosine", 2));
        // A run recorded before schedules existed resumes as the constant rate it trained with.
        let mut old = serde_json::to_value(TrainConfig::default())?;
        let obj = old.as_object_mut().expect("an object");
        obj.remove("lr_schedule");
        obj.remove("warmup_epochs");
        let old: TrainConfig = serde_json::from_value(old)?;
        assert_eq!(
            (old.lr_schedule, old.warmup_epochs),
            (LrSchedule::Constant, 0)
        );
        Ok(())
    }

    #[test]
    fn crop_comes_from_files_and_flags_and_old_configs_read_as_whole_images() -> Result<()> {
        let file: Overrides = toml::from_str("model = \"resnet18\"\ncrop = 0.6\n")?;
        let c = TrainConfig::resolve(Some(&file), &Overrides::default())?;
        assert_eq!((c.crop, c.hyperparams().crop), (0.6, 0.6));
        let flags = Overrides {
            crop: Some(0.5),
            ..Default::default()
        };
        assert_eq!(TrainConfig::resolve(Some(&file), &flags)?.crop, 0.5);
        let mut old = serde_json::to_value(TrainConfig::default())?;
        old.as_object_mut().expect("an object").remove("crop");
        let old: TrainConfig = serde_json::from_value(old)?;
        assert_eq!(old.crop, 1.0);
        Ok(())
    }

    /// `--patience N` is kept as N epochs; 0 is no early stop, and undoes the patience of a
    /// run this one is like. It is counted in epochs but measured at evaluations, so one under
    /// `--eval-every` is refused, naming where that came from; configs recorded before it
    /// existed trained every epoch.
    #[test]
    fn patience_is_epochs_at_least_an_evaluation_apart_and_0_is_none() -> Result<()> {
        let with = |n: usize| Overrides {
            patience: Some(n),
            ..flags(Arch::Resnet18)
        };
        let c = TrainConfig::resolve(None, &with(5))?;
        assert_eq!((c.patience, c.hyperparams().patience), (Some(5), Some(5)));
        let (like, _) =
            TrainConfig::resolve_like(c.clone(), RunId(3), None, &Overrides::default())?;
        assert_eq!(like.patience, Some(5));
        let (undone, _) = TrainConfig::resolve_like(c.clone(), RunId(3), None, &with(0))?;
        assert_eq!(
            (undone.patience, undone.hyperparams().patience),
            (None, None)
        );
        let file: Overrides = toml::from_str("model = \"resnet18\"\neval_every = 4\n")?;
        let e = TrainConfig::resolve(Some(&file), &with(3)).unwrap_err();
        assert!(
            format!("{e:#}").contains(
                "--patience (3) is under --eval-every (4): the dev accuracy is measured every 4 \
                 epochs, so give a patience of at least that many (--eval-every: the --config \
                 file's)"
            ),
            "{e:#}"
        );
        assert_eq!(
            TrainConfig::resolve(Some(&file), &with(4))?.patience,
            Some(4)
        );
        let mut old = serde_json::to_value(&c)?;
        old.as_object_mut().expect("an object").remove("patience");
        assert_eq!(serde_json::from_value::<TrainConfig>(old)?.patience, None);
        Ok(())
    }

    #[test]
    fn alexnet_trains_with_torchvisions_dropout_unless_told_and_old_configs_had_it() -> Result<()> {
        let file: Overrides = toml::from_str("model = \"alexnet\"\n")?;
        let c = TrainConfig::resolve(Some(&file), &Overrides::default())?;
        assert_eq!((c.dropout, c.hyperparams().dropout), (None, Some(0.5)));
        let off: Overrides = toml::from_str("model = \"alexnet\"\ndropout = 0.0\n")?;
        let c = TrainConfig::resolve(Some(&off), &Overrides::default())?;
        assert_eq!((c.dropout, c.hyperparams().dropout), (Some(0.0), Some(0.0)));
        let r18 = TrainConfig::resolve(None, &flags(Arch::Resnet18))?;
        assert_eq!(r18.hyperparams().dropout, None);
        let mut old = serde_json::to_value(&c)?;
        old.as_object_mut().expect("an object").remove("dropout");
        let old: TrainConfig = serde_json::from_value(old)?;
        assert_eq!(old.dropout(), Some(0.5));
        Ok(())
    }

    #[test]
    fn bad_files_name_the_problem() {
        let unknown = toml::from_str::<Overrides>("model = \"resnet18\"\nbatchsize = 3\n")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("unknown field `batchsize`"), "{unknown}");
        let wrong = toml::from_str::<Overrides>("batch = \"big\"\n")
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("invalid type"), "{wrong}");
        let model = toml::from_str::<Overrides>("model = \"vgg16\"\n")
            .unwrap_err()
            .to_string();
        assert!(model.contains("vgg16"), "{model}");
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let o = Overrides {
            lr: Some(0.0),
            epochs: Some(0),
            sampler: Some(Sampler::Pk),
            pk_k: Some(0),
            ..flags(Arch::Resnet18)
        };
        let err = TrainConfig::resolve(None, &o).unwrap_err().to_string();
        assert_eq!(
            err,
            "3 problems with the settings:\n  --lr must be a positive number, got 0\n  \
             --epochs must be at least 1\n  --pk-k must be at least 2 images per identity, got 0"
        );
    }

    #[test]
    fn invalid_settings_are_refused() {
        let check = |o: Overrides, want: &str| {
            let err = TrainConfig::resolve(None, &o).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        };
        let base = flags(Arch::Resnet18);
        check(
            Overrides {
                zero_init_residual: Some(true),
                ..flags(Arch::Alexnet)
            },
            "no residual blocks",
        );
        check(
            Overrides {
                dropout: Some(0.2),
                ..flags(Arch::Resnet18)
            },
            "resnet18 has no dropout layers",
        );
        check(
            Overrides {
                tf32: Some(true),
                device: Some(DeviceChoice::Cpu),
                ..flags(Arch::Resnet18)
            },
            "--tf32 is for CUDA",
        );
        check(
            Overrides {
                fresh_embedding: Some(true),
                ..flags(Arch::Resnet18)
            },
            "--fresh-embedding is for --init",
        );
        check(
            Overrides {
                dropout: Some(1.0),
                ..flags(Arch::Alexnet)
            },
            "--dropout must be a probability in [0, 1)",
        );
        check(
            Overrides {
                dim: Some(1),
                ..base.clone()
            },
            "--dim",
        );
        check(
            Overrides {
                batch: Some(1),
                ..base.clone()
            },
            "--batch",
        );
        check(
            Overrides {
                lr: Some(0.0),
                ..base.clone()
            },
            "--lr",
        );
        check(
            Overrides {
                lr: Some(-1.0),
                ..base.clone()
            },
            "--lr",
        );
        check(
            Overrides {
                epochs: Some(0),
                ..base.clone()
            },
            "--epochs",
        );
        for wd in [-0.1, f64::NAN, f64::INFINITY] {
            check(
                Overrides {
                    weight_decay: Some(wd),
                    ..base.clone()
                },
                "--weight-decay must be zero or positive",
            );
        }
        check(
            Overrides {
                seed: Some(u64::MAX),
                ..base.clone()
            },
            "--seed must be at most 9223372036854775807",
        );
        check(
            Overrides {
                split_seed: Some(1 << 63),
                ..base.clone()
            },
            "--split-seed must be at most 9223372036854775807",
        );
        for (name, want) in [
            (" ", "--name must not be empty"),
            ("5", "is a number"),
            ("a,b", "holds a comma"),
            ("2-4", "read that as a range of run ids"),
            ("4-2", "read that as a range of run ids"),
        ] {
            check(
                Overrides {
                    name: Some(name.into()),
                    ..base.clone()
                },
                want,
            );
        }
        check(
            Overrides {
                epochs: Some(5),
                warmup_epochs: Some(5),
                ..base.clone()
            },
            "--warmup-epochs",
        );
        check(
            Overrides {
                image_size: Some(8),
                ..base.clone()
            },
            "--image-size",
        );
        for crop in [0.0, -0.5, 1.5, f64::NAN] {
            check(
                Overrides {
                    crop: Some(crop),
                    ..base.clone()
                },
                "--crop",
            );
        }
        check(
            Overrides {
                sampler: Some(Sampler::Pk),
                batch: Some(30),
                ..base.clone()
            },
            "--pk-k",
        );
        check(Overrides::default(), "no model given");
    }
}
