//! Command-line definitions. Commands live in [`crate::commands`]; this file only parses.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// `eval`'s images per forward pass unless `--batch-size` says otherwise.
pub const EMBED_BATCH: usize = 256;

#[derive(Debug, Parser)]
#[command(
    name = "facenet-lab",
    version = crate::version::DESCRIBED,
    about,
    long_about = None,
    after_help = "Without a command: the dashboard over the lab (the runs table where stdout is not \
                  a terminal). `facenet-lab COMMAND --help` lists a command's flags."
)]
pub struct Cli {
    /// The lab database, for the commands that record or read runs (`data` and `bench` use
    /// none).
    #[arg(long, global = true, env = "FACENET_LAB_DB", default_value = crate::lab::DEFAULT_DB)]
    pub db: PathBuf,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum Command {
    /// Train an embedding network with triplet loss, recording everything in the lab.
    ///
    /// Defaults are the seed repository's: batch 32, dim 128, Adam lr 1e-4, 100 epochs,
    /// margin 0.2, 224×224 images, all triplets, random batches, no L2 normalisation.
    /// Settings come from the defaults, then --config FILE, then the flags.
    ///
    /// Ctrl-C (or SIGTERM, SIGHUP) stops the run after its step, with a checkpoint, recorded
    /// interrupted (`--resume` continues it); a second quits at once. SIGUSR1 asks as the first
    /// does, and nothing more of a run that is stopping already: a sweep and the dashboard stop
    /// runs so.
    ///
    /// Exits 0 when the run completed, 130 when it stopped before its end, resumable (a stop,
    /// --time-limit, --stop-after-epoch), and 1 on an error.
    #[command(
        after_help = "Examples:\n  facenet-lab run resnet18 --data ~/lfw.tgz --image-size 64 --epochs 3 --batch 16\n  facenet-lab run --config experiments/best-recipe-cpu-64.toml\n  facenet-lab sweep experiments/seed-table.toml\n  facenet-lab run --resume 12"
    )]
    Run(RunArgs),
    /// List the recorded runs.
    Runs(RunsArgs),
    /// Evaluate a run's checkpoint: its test split, the LFW pairs protocol, or any folder of faces.
    #[command(
        after_help = "Examples:\n  facenet-lab eval 12\n  facenet-lab eval 12 --pairs pairs.txt --data lfw.tgz --exclude-train-identities\n  facenet-lab eval 12 --data my-faces/ --flip"
    )]
    Eval(EvalArgs),
    /// Draw figures and the results table from the lab (optionally into a README).
    ///
    /// Writes, into the --out folder: results.md (a row per run: its settings, best dev
    /// accuracy, test and LFW accuracy from `eval`, images/s and wall time; then a row per
    /// experiment completed more than once, on several seeds or one seed again, its accuracies
    /// as mean ± std); for each run
    /// run-N-accuracy.png (train and dev accuracy by epoch, its best checkpoint and chance
    /// marked) and run-N-loss.png; and compare-dev-accuracy.png, the runs' dev accuracy by
    /// epoch, seeds of one recipe as a mean ± std band, at most the 10 best curves, one figure
    /// per dataset: that of the dataset most runs trained on, and compare-dev-accuracy-DATASET.png
    /// for each other (so the plain name moves to another dataset once that one has more
    /// runs). ROC figures are `eval`'s.
    #[command(
        after_help = "Examples:\n  facenet-lab report\n  facenet-lab report --tag seed-table\n  \
facenet-lab report --runs 5,6,32 --format svg\n  facenet-lab report --readme README.md\n  \
facenet-lab report --embeddings 41"
    )]
    Report(ReportArgs),
    /// Run a list or grid of configurations from a spec file, each as its own run.
    ///
    /// Exits 0 when every run finished, 1 when any failed, and 130 when some were stopped
    /// (recorded as interrupted, e.g. with X in the dashboard) and none failed.
    #[command(
        after_help = "The spec (TOML): `tag` (added to every run), an optional \
`description` (printed as the sweep starts; the spec is kept as spec.toml in the sweep's folder \
of configs and logs), an optional `time_limit` (each run's --time-limit, e.g. \"2h\"), `[base]` settings shared by every run, then `[[runs]]` entries and/or a `[grid]` \
of lists that are crossed. Settings are `run --config` keys (`model`, `batch`, `pk_k`, ...); a \
run's keys override `[base]`. The `[[runs]]` come first, in file order, then the grid's \
combinations, its keys sorted by name, the last varying fastest. Every run is checked before \
any starts.

  tag = \"my-sweep\"
  time_limit = \"2h\"
  [base]
  epochs = 100
  [[runs]]
  model = \"resnet18\"
  batch = 32
  [grid]
  model = [\"resnet18\", \"alexnet\"]
  dim = [64, 128]

Examples:
  facenet-lab sweep experiments/seed-table.toml --dry-run
  facenet-lab sweep experiments/seed-table.toml --parallel 2
  facenet-lab sweep experiments/seed-table.toml --resume"
    )]
    Sweep(SweepArgs),
    /// Write runs and their metrics as CSV (a row per metric point, or per run), or whole (with
    /// checkpoints, evaluations, resumes and datasets) as JSON, for other tools.
    Export(ExportArgs),
    /// Manage lab files.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Get and examine the LFW data: download it, or show its identities, splits and hashes.
    Data(DataArgs),
    /// Measure training throughput (images/s) per model on this machine.
    ///
    /// Prints a table and records nothing: the lab (--db) is not used.
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub overrides: crate::train::config::Overrides,
    /// A TOML file of the run's settings: the flags' names in snake_case (`pk_k = 4`,
    /// `image_size = 96`, `tags = ["a"]`, `model = "resnet18"`); flags on the command line win.
    /// Errors name the setting by its flag. It holds what the run is, not how this process runs
    /// it: --resume, --stop-after-epoch, --time-limit, --log-path and --quiet are flags only.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Continue an interrupted, crashed or failed run (id or name) from its last checkpoint.
    #[arg(long, value_name = "RUN", conflicts_with = "config")]
    pub resume: Option<String>,
    /// Start a new run with the settings another run (id or name) recorded, its model included,
    /// except its name, note and tags; --config and the flags change what they give (`--like 41
    /// --seed 1` is run 41 again on another seed; another model drops what only the other one
    /// takes, and the other's --init file with its --imagenet-norm). Its images are found where
    /// --resume finds them, and its --init file must be the same by sha256, unless --data or
    /// --init name others.
    #[arg(long, value_name = "RUN", conflicts_with = "resume")]
    pub like: Option<String>,
    /// Stop after this epoch as if interrupted (with a checkpoint); continue later with --resume.
    #[arg(long, value_name = "EPOCH")]
    pub stop_after_epoch: Option<usize>,
    /// Stop as if interrupted (with a checkpoint) once training has run this long, e.g. 90s,
    /// 5m, 1.5h or 1h30m (a bare number is seconds); continue later with --resume.
    #[arg(long, value_name = "DURATION", value_parser = crate::format::parse_duration)]
    pub time_limit: Option<std::time::Duration>,
    /// Record this file as the run's log, where its output goes: the dashboard and sweeps send
    /// a run's output there and pass it; the run writes nothing there itself.
    #[arg(long, value_name = "FILE")]
    pub log_path: Option<PathBuf>,
    /// No progress bars, even on a terminal: the run's id, a line every 10 s of training and
    /// one per evaluation, and the summary (a log also gets a line every 10 s of a long data
    /// load, which this leaves out).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Models to measure, separated by commas or spaces.
    #[arg(long, value_enum, num_args = 1.., value_delimiter = ',', default_values_t = [crate::model::Arch::Alexnet, crate::model::Arch::Resnet18, crate::model::Arch::Resnet152])]
    pub models: Vec<crate::model::Arch>,
    /// Images per batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Square image size.
    #[arg(long, default_value_t = 64)]
    pub image_size: usize,
    /// Embedding dimension.
    #[arg(long, default_value_t = 128)]
    pub dim: usize,
    /// Timed steps per model, after one warm-up step. The table gives each part's median and
    /// the median whole step (freeing its graph included), which images/s is from.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// auto, cpu or cuda.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: crate::train::config::DeviceChoice,
    /// Also say where each model's step goes: every layer op of its forward pass timed alone at
    /// its own shapes (forward, and backward to the input where the network needs it and to
    /// every weight), summed per kind of layer, against the whole step; the rest is the loss,
    /// Adam and the glue between layers. Printed after the throughput table.
    #[arg(long)]
    pub profile: bool,
    /// Before timing, compare facenet-lab's own CUDA kernels (convolution, batch norm, max
    /// pooling, ReLU, Adam) with the CPU's ops on random inputs, one op at a time and in a
    /// training pass of ResNet18 and AlexNet (ResNet152, chaotic in float32 at its initial
    /// weights, only op by op; shapes of its own: --models and --batch do not change it); print
    /// each output's relative error, and stop if any is over its bound (1e-5 for an op; a
    /// network's embeddings 1e-4, all its gradients 5e-2 and its worst parameter's 0.3, as a
    /// ReLU input within rounding of 0 may send them another way). Needs the CUDA build
    /// (`--features cuda`) and a GPU.
    #[arg(long)]
    pub check: bool,
    /// Compare facenet-lab's training step with PyTorch's instead of timing anything: each
    /// FILE is one step of a torchvision network written by `bench/torch_parity.py` (its
    /// weights, batch, embeddings, all-triplet loss, gradients, the weights after Adam, an
    /// evaluation pass, in f64 and in PyTorch's f32); facenet-lab's network of that
    /// architecture takes the same step from the same weights on --device. Each output's
    /// relative error from PyTorch's f64 step is printed next to PyTorch's own f32 step's, and
    /// passes within twice that (or within 1e-5, where that is more). Exits 1 if any is over.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["check", "profile", "tf32", "models"])]
    pub parity: Vec<std::path::PathBuf>,
    /// Let cuBLAS multiply every f32 matrix product of the step (convolutions, linear layers,
    /// pooling's) in TF32 on the tensor cores, as PyTorch's convolutions do by default; strict
    /// f32 otherwise. CUDA only.
    #[arg(long)]
    pub tf32: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Only the runs that match every term of the dashboard's `/` filter, e.g.
    /// `model=resnet152 'dev_acc>0.5' tag=seed-table`.
    #[arg(value_name = "FILTER", value_parser = filter_terms, long_help = format!(
        "Only the runs that match every term, as in the dashboard's `/` filter: `field=value` \
         comparisons (= != > < >= <=) and words found in the name, model, tags or notes, e.g. \
         model=resnet152 'dev_acc>0.5' tag=seed-table 'duration<1h30m'. Terms are split at \
         spaces, so a value cannot hold one; quote terms with < or > for the shell; = on names, \
         tags and notes is the whole value, where a bare word finds part of one; numbers \
         compare as `runs` prints them (accuracies to 3 decimals: lfw>=0.75 keeps 0.7498), but for \
         img_s, which compares as recorded.\n\
         Fields: {}", crate::tui::filter::FIELD_NAMES))]
    pub filter: Vec<String>,
    /// Order by this column (or filter field, then shown); runs without a value come last,
    /// with --desc or without.
    #[arg(long, value_name = "COLUMN", default_value = "id",
          value_parser = crate::tui::filter::SortKey::parse,
          long_help = format!("Order by this column; runs without a value come last, with \
                               --desc or without.\nColumns: {}, or a filter field's name for one (dev_acc, loss, img_s, ...), \
                               or any other filter field, which is then shown as with --show (seed, augment, wd, ...)",
                              crate::tui::filter::Column::cli_names()))]
    pub sort: crate::tui::filter::SortKey,
    /// Add a column for each of these filter fields, e.g. `--show augment,data,wd` (the table
    /// only: --json has every field); `dataset` is shown as its id and name (`1 lfw-20-30`).
    #[arg(long, value_name = "FIELD,...", value_delimiter = ',',
          value_parser = crate::tui::filter::FieldColumn::parse,
          long_help = format!("Add a column for each of these filter fields that no column \
                               shows, after the others, e.g. --show augment,data,wd (the table \
                               only: --json has every field). dataset is shown as the lab's id \
                               for it, which dataset= filters by, and its name (1 lfw-20-30). \
                               Where the runs listed trained on more than one dataset, a data \
                               column after the input names each run's, unless --show names \
                               data or dataset.\nFields: {}",
                              crate::tui::filter::FieldColumn::names()))]
    pub show: Vec<crate::tui::filter::FieldColumn>,
    /// Sort in descending order.
    #[arg(long)]
    pub desc: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Checks one `runs` argument as filter terms, so that a bad term is a usage error as a bad
/// `--sort` is.
fn filter_terms(arg: &str) -> Result<String, String> {
    crate::tui::filter::Filter::parse(arg).map(|_| arg.to_string())
}

#[derive(Debug, clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download LFW (lfw.tgz and pairs.txt), verify size and sha256, and keep it for later runs.
    ///
    /// Files already present and verified are not downloaded again. Set FACENET_LAB_MIRROR to a
    /// URL prefix to download <prefix>/lfw.tgz and <prefix>/pairs.txt instead of the official
    /// URLs.
    Fetch {
        /// Directory to download into [default: the user data directory, e.g.
        /// ~/.local/share/facenet-lab].
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
    /// Show the identities, split sizes, split hashes and content hash of a dataset, and the
    /// images excluded as corrupt.
    Inspect {
        /// An LFW directory (<Name>/<Name>_NNNN.jpg, optionally under lfw/), lfw.tgz, or
        /// `synthetic[:IDS:PER[:SEED]]`: generated faces (12 identities × 24 images, seed 0,
        /// when bare) [default: lfw.tgz in the user data directory].
        path: Option<PathBuf>,
        /// Keep identities with at least this many images.
        #[arg(long, value_name = "N", default_value_t = 20)]
        min_images: usize,
        /// Keep identities with at most this many images [default: 30].
        #[arg(long, value_name = "N")]
        max_images: Option<usize>,
        /// Shuffle each identity's images with this seed before splitting [default: split by
        /// sorted file name].
        #[arg(long, value_name = "N")]
        split_seed: Option<u64>,
    },
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The run to evaluate: its id or name.
    pub run: String,

    /// Which checkpoint: `best`, `last` (the latest of any kind), `final` (written when the run
    /// completed), or an iteration number.
    #[arg(long, default_value = "best")]
    pub checkpoint: crate::eval::checkpoint_choice::CheckpointChoice,

    /// LFW View 2 pairs file (pairs.txt): 10-fold verification on its 6,000 pairs, of the LFW
    /// images --data names (without it, the lfw.tgz `facenet-lab data fetch` downloaded).
    #[arg(long)]
    pub pairs: Option<PathBuf>,

    /// Images in LFW layout (Name/Name_0001.jpg), as a directory or a .tgz, or generated faces
    /// (`synthetic[:IDS:PER[:SEED]]`). With --pairs, the LFW images; alone, open-set verification
    /// and identification on these identities.
    #[arg(long)]
    pub data: Option<PathBuf>,

    /// Where the run's own dataset is now, for its test split, when its images are no longer
    /// at the path the lab recorded (a lab from another machine); its splits must hash as
    /// recorded.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["pairs", "data"])]
    pub split_data: Option<PathBuf>,

    /// Leave out pairs (or images, with --data alone) of people the run trained on, and say how
    /// many were dropped.
    #[arg(long)]
    pub exclude_train_identities: bool,

    /// Average each embedding with that of the mirrored image.
    #[arg(long)]
    pub flip: bool,

    /// The folder the ROC (CSV and PNG) goes to [default: reports/ beside the lab; reports/STEM/
    /// for a lab file not named lab.db].
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Images per forward pass (`--batch` as in `run` and `bench`).
    #[arg(long, visible_alias = "batch", default_value_t = EMBED_BATCH)]
    pub batch_size: usize,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The folder the figures and results.md go to [default: reports/ beside the lab, or
    /// reports/STEM/ for a lab file not named lab.db; for some runs, a folder in it,
    /// runs-LIST/ or tag-TAG/, so the whole lab's report stays whole].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Runs to report, by id, name or range of ids (`5-8`: those the lab has), comma-separated
    /// (default: all).
    #[arg(long, conflicts_with = "tag")]
    pub runs: Option<String>,
    /// Report only the runs with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Replace the results section of this README (between `<!-- results:start -->` and
    /// `<!-- results:end -->`) with every run of the lab.
    #[arg(long, conflicts_with_all = ["runs", "tag"])]
    pub readme: Option<PathBuf>,
    /// Figure format.
    #[arg(long, value_enum, default_value = "png")]
    pub format: crate::report::FigureFormat,
    /// Instead of the results, draw a 2-D PCA of this run's dev and test embeddings, one
    /// colour per identity.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["runs", "tag", "readme"])]
    pub embeddings: Option<String>,
    /// With --embeddings: which checkpoint, as for `eval`: `best`, `last`, `final` or an
    /// iteration number.
    // clap drops a requirement that a given argument conflicts with, so the conflicts are
    // spelled out too: `--runs 5 --checkpoint last` is refused, not silently ignored.
    #[arg(long, default_value = "best", requires = "embeddings", conflicts_with_all = ["runs", "tag", "readme"])]
    pub checkpoint: crate::eval::checkpoint_choice::CheckpointChoice,
    /// With --embeddings: where the run's dataset is now, when its images are no longer at the
    /// path the lab recorded; its splits must hash as recorded.
    #[arg(long, value_name = "PATH", requires = "embeddings", conflicts_with_all = ["runs", "tag", "readme"])]
    pub split_data: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Output format: csv (a row per metric point), runs-csv (a row per run) or json; `--help`
    /// names every CSV column and its unit.
    #[arg(long, value_enum, long_help = format!(
        "Output format.\n\n\
         csv columns: {}.\n\n\
         runs-csv columns: {}.\n\n\
         Units: wall_time (when a point was recorded), started_at and finished_at are seconds \
         since the Unix epoch, UTC (in pandas: pd.to_datetime(df.wall_time, unit=\"s\")). \
         elapsed_s (of a point, to the millisecond) and duration_s (of a run) are seconds spent \
         training, as `runs` counts a duration: from the run's start, less each pause between \
         a stop and its resume (steps a resume replays count again, as their time was spent \
         again; a resume from the start counts from itself), so a run's last elapsed_s comes \
         to about its duration_s. Accuracies (best_dev_acc, \
         final_dev_acc, final_train_acc, test_acc, lfw_acc and its standard deviation over the \
         10 folds lfw_acc_std, the value of a train_acc or dev_acc metric) are fractions of 1; \
         lfw_grayscale says whether lfw_acc was measured on grayscale images (empty without an \
         lfw_acc). image_size is in pixels, crop the central \
         fraction of each image's side kept before the resize, images_per_sec training images a \
         second, iteration the step (counted from 1), epoch the epoch that step is in, \
         best_dev_epoch the epoch of the best checkpoint, last_loss the mean triplet loss of \
         the trained steps of its latest epoch (a train_loss point is one step's); epochs is the epochs planned, \
         patience the epochs without a better dev accuracy that stop a run early (empty: none), \
         epochs_done those trained (fewer than planned for a completed run its patience \
         stopped). dataset is the name of the dataset a \
         run trained on (its folder's or archive's, or the synthetic spec: lfw-20-30, \
         synthetic:12:24:0), dataset_people and dataset_images how many people and images it \
         holds, dataset_id its id in the lab (and in the json export's datasets). Empty cells \
         are missing values.",
        crate::export::CSV_HEADER.replace(',', ", "),
        crate::export::RUNS_CSV_HEADER.replace(',', ", ")))]
    pub format: crate::export::ExportFormat,
    /// Runs to export, by id, name or range of ids (`5-8`: those the lab has), comma-separated
    /// (default: all).
    #[arg(long, conflicts_with = "tag")]
    pub runs: Option<String>,
    /// Export only the runs with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// With --format csv: only the points of these metrics, e.g. --metric dev_acc,train_acc
    /// (default: every metric the runs recorded).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub metric: Vec<String>,
    /// The file to write, or `-` for standard output.
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The sweep spec (TOML), e.g. experiments/seed-table.toml.
    pub spec: PathBuf,
    /// How many runs train at the same time.
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Print the generated run configurations without running them.
    #[arg(long)]
    pub dry_run: bool,
    /// Train every run on these images (an LFW folder or .tgz, or `synthetic`) instead of the
    /// data its spec names; each run still picks its identities as its settings say.
    #[arg(long, value_name = "PATH")]
    pub data: Option<String>,
    /// Finish the sweep the lab holds runs of (by name and the spec's tag, or by settings
    /// where a grown spec named them anew): a run that completed is left as it is, one that
    /// stopped (interrupted, crashed, failed) is resumed (`run --resume`, with its recorded
    /// settings), and one the lab has none of starts (so a spec given one more seed or value
    /// trains only the new runs). Without it, every run starts anew.
    #[arg(long)]
    pub resume: bool,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Import every run of another lab file (e.g. one brought back from a GPU machine).
    ///
    /// A run already here is refreshed when the other copy trained further, and kept as it is
    /// when the two copies parted (resumed in one lab and not the other). Notes and tags are
    /// merged edit by edit, the later of the two labs' winning: a tag removed here does not
    /// come back. Merging the same file twice adds nothing.
    Merge(MergeArgs),
    /// Add tags to runs, or remove them, as the dashboard's tag editor does: for scripts, and
    /// for `report --tag` or `export --tag` on runs tagged after they trained.
    #[command(after_help = "Examples:\n  facenet-lab lab tag 5,6,32 best-recipe\n  \
                            facenet-lab lab tag 1-5,41 seed-table\n  \
                            facenet-lab lab tag 12 baseline --remove")]
    Tag(TagArgs),
    /// Set a run's note, as the dashboard's note editor does ("" clears it).
    #[command(after_help = "Example:\n  facenet-lab lab note 41 \"best ResNet18 on the H200\"")]
    Note(NoteArgs),
    /// Delete runs launched by mistake, with their metrics, checkpoints (rows and files),
    /// evaluations and logs, as D in the dashboard does.
    ///
    /// Says first what each run takes with it, then asks (on a terminal; elsewhere --yes says
    /// it). Refused, deleting nothing: a run still training, and one that other runs started
    /// from (--init), whose lineage it would cut, unless they go with it. Runs that took only
    /// its settings (--like) keep them, and stop naming it. The lab keeps a tombstone of each
    /// (its name, model, status and when it was deleted), and gives its id to no other run.
    #[command(after_help = "Examples:\n  facenet-lab lab delete 35\n  \
                            facenet-lab lab delete 35 36 --yes")]
    Delete(DeleteArgs),
}

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The runs, by id (`facenet-lab runs` lists them), as `35 36` or `35,36`; not by name,
    /// so that what goes is never a guess.
    #[arg(required = true, value_name = "RUN", value_delimiter = ',', value_parser = run_id)]
    pub runs: Vec<crate::lab::RunId>,
    /// Delete without asking (needed where stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// A run id as `lab delete` takes it.
fn run_id(text: &str) -> Result<crate::lab::RunId, String> {
    text.trim()
        .parse::<i64>()
        .map(crate::lab::RunId)
        .map_err(|_| {
            "not a run id: `lab delete` takes runs by id only (`facenet-lab runs` lists them)"
                .to_string()
        })
}

#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// The runs, by id, name or range of ids (`5-8`: those the lab has), comma-separated
    /// (`5,6,32`, `1-5,41`).
    pub runs: String,
    /// The tags (words without spaces, commas or semicolons).
    #[arg(required = true)]
    pub tags: Vec<String>,
    /// Remove the tags instead of adding them.
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, clap::Args)]
pub struct NoteArgs {
    /// The run, by id or name.
    pub run: String,
    /// The note, in place of the one it has.
    pub text: String,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The lab file to import from; it is only read, never changed. The lab records
    /// checkpoints, not their weights: copy the runs' checkpoint folders too, to evaluate or
    /// resume them here.
    pub other: PathBuf,
}

/// For a command line clap refused: a hint when a switch that takes its value only after `=`
/// (`--normalize=false`, as clap's `require_equals` marks them) is followed by `true` or
/// `false` as a separate word, the form these switches took before they needed the `=`.
pub fn switch_hint(args: &[String]) -> Option<String> {
    use clap::Args as _;
    let switches: Vec<String> =
        crate::train::config::Overrides::augment_args(clap::Command::new("run"))
            .get_arguments()
            .filter(|a| a.is_require_equals_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
    args.windows(2).find_map(|w| {
        (switches.contains(&w[0]) && matches!(w[1].as_str(), "true" | "false")).then(|| {
            format!(
                "hint: write {}={} (a switch takes its value after '=')",
                w[0], w[1]
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_with_a_separate_value_gets_a_hint() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            switch_hint(&args(&[
                "facenet-lab",
                "run",
                "resnet18",
                "--augment",
                "false"
            ])),
            Some("hint: write --augment=false (a switch takes its value after '=')".into())
        );
        assert_eq!(
            switch_hint(&args(&["facenet-lab", "run", "--normalize", "resnet18"])),
            None
        );
        assert_eq!(
            switch_hint(&args(&["facenet-lab", "run", "--name", "false"])),
            None
        );
        // Every switch of `run` (a flag that may stand alone or take a value) gets the hint.
        use clap::Args as _;
        let command = crate::train::config::Overrides::augment_args(clap::Command::new("run"));
        let switches: Vec<String> = command
            .get_arguments()
            .filter(|a| {
                a.get_num_args()
                    .is_some_and(|n| n.min_values() == 0 && n.max_values() == 1)
            })
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        assert_eq!(
            switches,
            [
                "--normalize",
                "--augment",
                "--zero-init-residual",
                "--fresh-embedding",
                "--imagenet-norm",
                "--tf32"
            ]
        );
        for switch in &switches {
            assert!(
                switch_hint(&args(&["facenet-lab", "run", switch, "true"])).is_some(),
                "{switch}"
            );
        }
    }

    /// The long help of `facenet-lab SUB... --FLAG` (or of the positional `FLAG`), as one line.
    fn arg_help(path: &[&str], flag: &str) -> String {
        let mut command = <Cli as clap::CommandFactory>::command();
        command.build();
        let mut c = &command;
        for sub in path {
            c = c.find_subcommand(sub).expect("subcommand");
        }
        let arg = c
            .get_arguments()
            .find(|a| a.get_id() == flag)
            .expect("argument");
        let help = arg.get_long_help().or(arg.get_help()).expect("help");
        help.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What the help says of `--like` and of `lab tag`'s runs.
    #[test]
    fn help_says_what_like_takes_and_that_lab_tag_takes_ranges() {
        let like = arg_help(&["run"], "like");
        assert!(
            like.contains("its model included, except its name, note and tags;"),
            "{like}"
        );
        let runs = arg_help(&["lab", "tag"], "runs");
        assert!(runs.contains("range of ids (`5-8`"), "{runs}");
    }

    /// Help reads as written: a doc comment's quotes are plain (`\"` there is printed as is).
    #[test]
    fn help_texts_have_no_escaped_quotes() {
        fn walk(c: &mut clap::Command, path: &str, bad: &mut Vec<String>) {
            let help = c.render_long_help().to_string();
            if help.contains("\\\"") {
                bad.push(path.to_string());
            }
            for sub in c.get_subcommands_mut() {
                let name = format!("{path} {}", sub.get_name());
                walk(sub, &name, bad);
            }
        }
        let mut bad = Vec::new();
        let mut command = <Cli as clap::CommandFactory>::command();
        command.build();
        walk(&mut command, "facenet-lab", &mut bad);
        assert!(bad.is_empty(), "{bad:?}");
    }
}
