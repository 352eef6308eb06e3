//! The runs table's filter (`/`) and sort order: text terms and field comparisons such as
//! `model=resnet18 dev_acc>0.4 status=running`.

use std::cmp::Ordering;

use super::datasets::Datasets;
use crate::format;
use crate::lab::{Hyperparams, Run};

/// The runs table's columns, in display order; each is also a sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Column {
    #[default]
    Id,
    Name,
    Model,
    /// Image size, and the central crop when there is one.
    Input,
    Batch,
    Dim,
    Mining,
    /// Learning rate, and its schedule when it is not constant.
    Lr,
    /// The seed: a column of the dashboard's table only, where its runs have more than one (as
    /// `runs` adds one); `runs --sort seed` sorts by the field.
    Seed,
    /// The dataset, by name: likewise the dashboard's only, where its runs trained on more
    /// than one.
    Data,
    Status,
    Progress,
    BestDev,
    /// Test-split accuracy, once `eval` measured it.
    Test,
    /// LFW View 2 accuracy, likewise.
    Lfw,
    LastLoss,
    ImagesPerSec,
    Started,
    Duration,
}

impl Column {
    pub const ALL: [Column; 17] = [
        Column::Id,
        Column::Name,
        Column::Model,
        Column::Input,
        Column::Batch,
        Column::Dim,
        Column::Mining,
        Column::Lr,
        Column::Status,
        Column::Progress,
        Column::BestDev,
        Column::Test,
        Column::Lfw,
        Column::LastLoss,
        Column::ImagesPerSec,
        Column::Started,
        Column::Duration,
    ];

    /// The dashboard's columns, in display order: [`Column::ALL`] with the seed after the
    /// learning rate and the data after the input, where `runs` puts them.
    pub const DASHBOARD: [Column; 19] = [
        Column::Id,
        Column::Name,
        Column::Model,
        Column::Input,
        Column::Data,
        Column::Batch,
        Column::Dim,
        Column::Mining,
        Column::Lr,
        Column::Seed,
        Column::Status,
        Column::Progress,
        Column::BestDev,
        Column::Test,
        Column::Lfw,
        Column::LastLoss,
        Column::ImagesPerSec,
        Column::Started,
        Column::Duration,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Name => "name",
            Column::Model => "model",
            Column::Input => "input",
            Column::Batch => "batch",
            Column::Dim => "dim",
            Column::Mining => "mining",
            Column::Lr => "lr",
            Column::Seed => "seed",
            Column::Data => "data",
            Column::Status => "status",
            Column::Progress => "epoch",
            Column::BestDev => "best dev",
            Column::Test => "test",
            Column::Lfw => "lfw",
            Column::LastLoss => "last loss",
            Column::ImagesPerSec => "img/s",
            Column::Started => "started",
            Column::Duration => "duration",
        }
    }

    /// The name `runs --sort` takes: the title with `_` for spaces and `/` (`best_dev`, `img_s`).
    pub fn cli_name(self) -> String {
        self.title().replace([' ', '/'], "_")
    }

    /// Every column's `cli_name`, for help and error messages.
    pub fn cli_names() -> String {
        Column::ALL.map(Column::cli_name).join(", ")
    }

    /// The column a name given on the command line (`runs --sort`) means: its `cli_name`, or
    /// any spelling of the filter field it shows (`dev`, `dev_acc`, `loss`, `ips`, ...).
    pub fn parse(name: &str) -> Result<Column, String> {
        let key = name
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '/', '-'], "_");
        Column::ALL
            .into_iter()
            .find(|c| c.cli_name() == key)
            .or_else(|| Field::parse(&key).and_then(Field::column))
            .ok_or_else(|| {
                format!(
                    "no column '{name}'; one of: {} (or a filter field's name for one, e.g. dev)",
                    Column::cli_names()
                )
            })
    }

    /// The dashboard's next column ([`Column::DASHBOARD`]), the first after the last.
    pub fn next(self) -> Column {
        let i = Column::DASHBOARD
            .iter()
            .position(|c| *c == self)
            .unwrap_or(0);
        Column::DASHBOARD[(i + 1) % Column::DASHBOARD.len()]
    }

    /// Run `r`'s value in this column as text, as `runs` prints it (the dashboard adds a
    /// spinner to a running status and marks to ids, cuts names, and rounds images/s to whole
    /// numbers for its narrower column).
    pub fn text(self, r: &Run, now: f64) -> String {
        let h = &r.hyper;
        match self {
            Column::Id => r.id.to_string(),
            Column::Name => r.name.clone(),
            Column::Model => h.model.clone(),
            Column::Input => input_text(h),
            Column::Batch => h.batch_size.to_string(),
            Column::Dim => h.embedding_dim.to_string(),
            Column::Mining => h.mining.clone(),
            Column::Lr => lr_text(h),
            Column::Seed => h.seed.to_string(),
            // Its id: the dashboard names it from the lab's datasets.
            Column::Data => r.dataset_id.map_or("-".into(), |d| format!("#{}", d.0)),
            Column::Status => r.effective_status(now).to_string(),
            Column::Progress => format!("{}/{}", r.epochs_done(), h.epochs),
            Column::BestDev => format::opt(r.best_dev_acc, 3),
            Column::Test => format::opt(r.test_acc, 3),
            Column::Lfw => format::opt(r.lfw_acc, 3),
            Column::LastLoss => r.last_loss.map_or("-".into(), format::loss),
            Column::ImagesPerSec => format::opt(r.images_per_sec, 1),
            Column::Started => r.started_at.map_or("-".into(), format::timestamp),
            Column::Duration => r.duration(now).map_or("-".into(), format::duration),
        }
    }

    /// Orders two runs by this column, `descending` or not, with the runs that have no value
    /// in it last either way: a list sorted by LFW accuracy, lowest first, starts at the lowest
    /// accuracy, not at the runs never evaluated; one sorted by data, at the first dataset, not
    /// at the runs of none.
    pub fn order(self, a: &Run, b: &Run, now: f64, descending: bool) -> Ordering {
        self.order_by(a, b, now, descending, |a, b| self.compare(a, b, now))
    }

    /// [`Column::order`] as the dashboard's table sorts: the data column by the dataset names
    /// it shows, read from `datasets` (`lfw-20-30` before `synthetic:12:24:0`), a dataset's id
    /// parting two of one name (`#2 lfw-20-30`), then the runs' ids. A dataset the lab does not
    /// name (`#2`) sorts before the named ones ascending, after them descending; the runs of no
    /// dataset (`-`) are last either way, as in [`Column::order`]. The other columns as
    /// [`Column::order`] sorts them.
    pub fn order_as_shown(
        self,
        a: &Run,
        b: &Run,
        now: f64,
        descending: bool,
        datasets: &Datasets,
    ) -> Ordering {
        if self != Column::Data {
            return self.order(a, b, now, descending);
        }
        let shown = |r: &Run| {
            r.dataset_id
                .map(|d| (datasets.get(&d.0).map(|d| d.name.as_str()), d.0))
        };
        self.order_by(a, b, now, descending, |a, b| {
            shown(a).cmp(&shown(b)).then(a.id.cmp(&b.id))
        })
    }

    /// Orders two runs by `compare`, `descending` or not, with the runs that have no value in
    /// this column last either way: [`Column::order`]'s skeleton, whatever compares the values.
    fn order_by(
        self,
        a: &Run,
        b: &Run,
        now: f64,
        descending: bool,
        compare: impl Fn(&Run, &Run) -> Ordering,
    ) -> Ordering {
        let directed = |o: Ordering| if descending { o.reverse() } else { o };
        let missing = |r: &Run| self.missing(r, now);
        missing(a)
            .cmp(&missing(b))
            .then_with(|| directed(compare(a, b)))
    }

    /// Whether run `r` has no value in this column (`-`): a number it lacks, or no dataset.
    fn missing(self, r: &Run, now: f64) -> bool {
        match self {
            Column::Data => r.dataset_id.is_none(),
            _ => matches!(self.number(r, now), Some(None)),
        }
    }

    /// Run `r`'s value in this column where it is a number that a run may lack (None: `-`);
    /// None for the other columns.
    fn number(self, r: &Run, now: f64) -> Option<Option<f64>> {
        Some(match self {
            Column::BestDev => r.best_dev_acc,
            Column::Test => r.test_acc,
            Column::Lfw => r.lfw_acc,
            Column::LastLoss => r.last_loss,
            Column::ImagesPerSec => r.images_per_sec,
            Column::Started => r.started_at,
            Column::Duration => r.duration(now),
            _ => return None,
        })
    }

    /// Orders two runs by this column; missing values sort before present ones.
    pub fn compare(self, a: &Run, b: &Run, now: f64) -> Ordering {
        let num = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        };
        let ord = match self {
            Column::Id => a.id.cmp(&b.id),
            Column::Name => a.name.cmp(&b.name),
            Column::Model => a.hyper.model.cmp(&b.hyper.model),
            Column::Input => a
                .hyper
                .image_size
                .cmp(&b.hyper.image_size)
                .then(a.hyper.crop.total_cmp(&b.hyper.crop))
                .then(a.hyper.imagenet_norm.cmp(&b.hyper.imagenet_norm)),
            Column::Batch => a.hyper.batch_size.cmp(&b.hyper.batch_size),
            Column::Dim => a.hyper.embedding_dim.cmp(&b.hyper.embedding_dim),
            Column::Mining => a.hyper.mining.cmp(&b.hyper.mining),
            Column::Lr => a
                .hyper
                .lr
                .total_cmp(&b.hyper.lr)
                .then(a.hyper.lr_schedule.cmp(&b.hyper.lr_schedule)),
            Column::Seed => a.hyper.seed.cmp(&b.hyper.seed),
            // By id: the dashboard sorts by the names it shows ([`Column::order_as_shown`]).
            Column::Data => a.dataset_id.map(|d| d.0).cmp(&b.dataset_id.map(|d| d.0)),
            Column::Status => a
                .effective_status(now)
                .as_str()
                .cmp(b.effective_status(now).as_str()),
            // Epochs trained, then planned: 8/30 sorts after 3/3, and 2/30 before 2/90.
            Column::Progress => a
                .epochs_done()
                .cmp(&b.epochs_done())
                .then(a.hyper.epochs.cmp(&b.hyper.epochs)),
            Column::BestDev
            | Column::Test
            | Column::Lfw
            | Column::LastLoss
            | Column::ImagesPerSec
            | Column::Started
            | Column::Duration => num(self.number(a, now).flatten(), self.number(b, now).flatten()),
        };
        ord.then(a.id.cmp(&b.id))
    }
}

/// `64`, or `64 c0.5` for a run that crops the central half before the resize; `224 inet`
/// (or `224 c0.5 inet`) for one that normalises its input as ImageNet's weights expect.
fn input_text(h: &Hyperparams) -> String {
    let mut s = h.image_size.to_string();
    if h.crop < 1.0 {
        s.push_str(&format!(" c{}", h.crop));
    }
    if h.imagenet_norm {
        s.push_str(" inet");
    }
    s
}

/// `5e-4`, or `5e-4 cos` when the rate follows a schedule (its first three letters).
fn lr_text(h: &Hyperparams) -> String {
    let lr = format!("{:e}", h.lr);
    match h.lr_schedule.as_str() {
        "constant" => lr,
        other => format!("{lr} {}", other.chars().take(3).collect::<String>()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Gt => ord == Ordering::Greater,
            Op::Lt => ord == Ordering::Less,
            Op::Ge => ord != Ordering::Less,
            Op::Le => ord != Ordering::Greater,
        }
    }
}

/// A field a comparison can name. Several spellings lead to one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Id,
    Name,
    Model,
    Batch,
    Dim,
    Mining,
    Sampler,
    Status,
    Epoch,
    Epochs,
    BestDev,
    FinalDev,
    TrainAcc,
    TestAcc,
    LfwAcc,
    Loss,
    ImagesPerSec,
    Lr,
    Schedule,
    Warmup,
    WeightDecay,
    Margin,
    ImageSize,
    Crop,
    Init,
    /// The images (`--data`) as given, or their folder's or archive's name.
    Data,
    /// The lab's record of the dataset and its split, by id (`data inspect`'s, compare's).
    Dataset,
    Augment,
    Normalize,
    ImagenetNorm,
    ZeroInit,
    Tf32,
    /// The run whose checkpoint `--init` named.
    InitRun,
    /// The run whose settings `run --like` started with.
    Like,
    Seed,
    Tag,
    Notes,
    Host,
    Duration,
}

/// The names `field op value` accepts, for the help screen and error messages.
pub const FIELD_NAMES: &str = "id name model batch dim mining sampler status epoch epochs \
dev_acc final_dev train_acc test lfw loss img_s lr schedule warmup wd margin image_size crop init init_run like seed \
data dataset augment normalize imagenet_norm zero_init tf32 tag notes host duration";

/// Every spelling of every field, lower case.
const SPELLINGS: &[(&str, Field)] = &[
    ("id", Field::Id),
    ("name", Field::Name),
    ("model", Field::Model),
    ("batch", Field::Batch),
    ("batch_size", Field::Batch),
    ("dim", Field::Dim),
    ("embedding_dim", Field::Dim),
    ("mining", Field::Mining),
    ("sampler", Field::Sampler),
    ("status", Field::Status),
    ("epoch", Field::Epoch),
    ("progress", Field::Epoch),
    ("epochs", Field::Epochs),
    ("dev_acc", Field::BestDev),
    ("best_dev", Field::BestDev),
    ("best_dev_acc", Field::BestDev),
    ("dev", Field::BestDev),
    ("final_dev", Field::FinalDev),
    ("final_dev_acc", Field::FinalDev),
    ("train_acc", Field::TrainAcc),
    ("final_train_acc", Field::TrainAcc),
    ("test", Field::TestAcc),
    ("test_acc", Field::TestAcc),
    ("lfw", Field::LfwAcc),
    ("lfw_acc", Field::LfwAcc),
    ("loss", Field::Loss),
    ("last_loss", Field::Loss),
    ("img_s", Field::ImagesPerSec),
    ("images_per_sec", Field::ImagesPerSec),
    ("ips", Field::ImagesPerSec),
    ("lr", Field::Lr),
    ("schedule", Field::Schedule),
    ("lr_schedule", Field::Schedule),
    ("warmup", Field::Warmup),
    ("warmup_epochs", Field::Warmup),
    ("wd", Field::WeightDecay),
    ("weight_decay", Field::WeightDecay),
    ("margin", Field::Margin),
    ("image_size", Field::ImageSize),
    ("size", Field::ImageSize),
    ("crop", Field::Crop),
    ("init", Field::Init),
    ("init_run", Field::InitRun),
    ("data", Field::Data),
    ("dataset", Field::Dataset),
    ("dataset_id", Field::Dataset),
    ("augment", Field::Augment),
    ("normalize", Field::Normalize),
    ("imagenet_norm", Field::ImagenetNorm),
    ("zero_init", Field::ZeroInit),
    ("zero_init_residual", Field::ZeroInit),
    ("tf32", Field::Tf32),
    ("like", Field::Like),
    ("like_run", Field::Like),
    ("seed", Field::Seed),
    ("tag", Field::Tag),
    ("tags", Field::Tag),
    ("notes", Field::Notes),
    ("note", Field::Notes),
    ("host", Field::Host),
    ("hostname", Field::Host),
    ("duration", Field::Duration),
];

impl Field {
    /// The runs table's column that shows this field, if one does.
    fn column(self) -> Option<Column> {
        Some(match self {
            Field::Id => Column::Id,
            Field::Name => Column::Name,
            Field::Model => Column::Model,
            Field::ImageSize | Field::Crop => Column::Input,
            Field::Batch => Column::Batch,
            Field::Dim => Column::Dim,
            Field::Mining => Column::Mining,
            Field::Lr | Field::Schedule => Column::Lr,
            Field::Status => Column::Status,
            Field::Epoch => Column::Progress,
            Field::BestDev => Column::BestDev,
            Field::TestAcc => Column::Test,
            Field::LfwAcc => Column::Lfw,
            Field::Loss => Column::LastLoss,
            Field::ImagesPerSec => Column::ImagesPerSec,
            Field::Duration => Column::Duration,
            Field::Sampler
            | Field::Epochs
            | Field::FinalDev
            | Field::TrainAcc
            | Field::Warmup
            | Field::WeightDecay
            | Field::Margin
            | Field::Init
            | Field::Data
            | Field::Dataset
            | Field::Augment
            | Field::Normalize
            | Field::ImagenetNorm
            | Field::ZeroInit
            | Field::Tf32
            | Field::InitRun
            | Field::Like
            | Field::Seed
            | Field::Tag
            | Field::Notes
            | Field::Host => return None,
        })
    }

    fn parse(s: &str) -> Option<Field> {
        let s = s.to_ascii_lowercase();
        SPELLINGS.iter().find(|(n, _)| *n == s).map(|&(_, f)| f)
    }

    /// The values a field can take when they are a closed set (`model=vgg` can match nothing,
    /// and is more likely a slip than a question).
    fn closed_values(self) -> Option<Vec<&'static str>> {
        use clap::ValueEnum;
        let names = |all: &[&'static str]| Some(all.to_vec());
        match self {
            Field::Model => names(&crate::model::Arch::ALL.map(|a| a.as_str())),
            Field::Status => names(&crate::lab::RunStatus::ALL.map(|s| s.as_str())),
            Field::Mining => Some(
                crate::train::triplet::Mining::value_variants()
                    .iter()
                    .map(|m| m.as_str())
                    .collect(),
            ),
            Field::Sampler => Some(
                crate::train::config::Sampler::value_variants()
                    .iter()
                    .map(|m| m.as_str())
                    .collect(),
            ),
            Field::Schedule => Some(
                crate::train::schedule::LrSchedule::value_variants()
                    .iter()
                    .map(|m| m.as_str())
                    .collect(),
            ),
            f if f.is_switch() => names(&["true", "false"]),
            _ => None,
        }
    }

    /// A setting that is on or off, as the compare view shows it: `true` or `false`.
    fn is_switch(self) -> bool {
        matches!(
            self,
            Field::Augment | Field::Normalize | Field::ImagenetNorm | Field::ZeroInit | Field::Tf32
        )
    }

    fn is_numeric(self) -> bool {
        !self.is_switch()
            && !matches!(
                self,
                Field::Name
                    | Field::Model
                    | Field::Mining
                    | Field::Sampler
                    | Field::Schedule
                    | Field::Status
                    | Field::Tag
                    | Field::Notes
                    | Field::Host
                    | Field::Init
                    | Field::Data
            )
    }

    fn number(self, r: &Run, now: f64) -> Option<f64> {
        let h = &r.hyper;
        match self {
            Field::Id => Some(r.id.0 as f64),
            Field::Batch => Some(h.batch_size as f64),
            Field::Dim => Some(h.embedding_dim as f64),
            Field::Epoch => Some(r.epochs_done() as f64),
            Field::Epochs => Some(h.epochs as f64),
            Field::BestDev => r.best_dev_acc,
            Field::FinalDev => r.final_dev_acc,
            Field::TrainAcc => r.final_train_acc,
            Field::TestAcc => r.test_acc,
            Field::LfwAcc => r.lfw_acc,
            Field::Loss => r.last_loss,
            Field::ImagesPerSec => r.images_per_sec,
            Field::Lr => Some(h.lr),
            Field::Warmup => Some(h.warmup_epochs as f64),
            Field::WeightDecay => Some(h.weight_decay),
            Field::Margin => Some(h.margin),
            Field::ImageSize => Some(h.image_size as f64),
            Field::Crop => Some(h.crop),
            Field::Seed => Some(h.seed as f64),
            Field::InitRun => r.init_run.map(|id| id.0 as f64),
            Field::Dataset => r.dataset_id.map(|id| id.0 as f64),
            Field::Like => r.like_run.map(|id| id.0 as f64),
            Field::Duration => r.duration(now),
            _ => None,
        }
    }

    /// `x` as the tables show this field's values, where every table shows them alike: a filter
    /// compares what the person sees. Accuracies to three places (`dev_acc=0.645` finds the run
    /// showing 0.645), a loss as [`format::loss`] writes it, a duration to the second under an
    /// hour and to the minute past one (`duration=1h31m` finds the run showing 1h31m). img/s
    /// is shown whole on the dashboard and to a tenth by `runs`, so it compares as recorded.
    fn shown(self, x: f64) -> Option<String> {
        match self {
            Field::BestDev | Field::FinalDev | Field::TrainAcc | Field::TestAcc | Field::LfwAcc => {
                Some(format!("{x:.3}"))
            }
            Field::Loss => Some(format::loss(x)),
            Field::Duration => Some(format::duration(x)),
            _ => None,
        }
    }

    /// [`Field::number`] read back from what [`Field::shown`] writes (the printed digits:
    /// 0.6475 prints 0.647, where rounding 647.5 would give 0.648).
    fn shown_number(self, r: &Run, now: f64) -> Option<f64> {
        let x = self.number(r, now)?;
        let read_back = |shown: String| match self {
            Field::Duration => format::parse_duration(&shown).ok().map(|d| d.as_secs_f64()),
            _ => shown.parse().ok(),
        };
        Some(self.shown(x).and_then(read_back).unwrap_or(x))
    }

    fn texts(self, r: &Run, now: f64) -> Vec<String> {
        match self {
            Field::Name => vec![r.name.clone()],
            Field::Model => vec![r.hyper.model.clone()],
            Field::Mining => vec![r.hyper.mining.clone()],
            Field::Sampler => vec![r.hyper.sampler.clone()],
            Field::Schedule => vec![r.hyper.lr_schedule.clone()],
            Field::Status => vec![r.effective_status(now).to_string()],
            Field::Tag => r.tags.clone(),
            Field::Notes => vec![r.notes.clone()],
            Field::Host => vec![r.hostname.clone()],
            // The --init file by its name (`init=resnet18-f37072fd.pth`) or its path as given;
            // a run at random weights is `none`, as `--init none` asks for them.
            Field::Init => match &r.hyper.init {
                Some(path) => crate::lab::params::init_file(&r.hyper)
                    .into_iter()
                    .chain([path.clone()])
                    .collect(),
                None => vec!["none".to_string()],
            },
            // The folder's or archive's name (`data=lfw-20-30`) or the path as given; any
            // synthetic set is `synthetic`, whatever its size (`synthetic:6:10`).
            Field::Data => {
                let data = crate::lab::params::data(r);
                let name = match data.split_once(':') {
                    Some(("synthetic", _)) => Some("synthetic".to_string()),
                    _ => std::path::Path::new(&data)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned()),
                };
                name.into_iter().chain([data]).collect()
            }
            Field::Augment => vec![r.hyper.augment.to_string()],
            Field::Normalize => vec![r.hyper.normalize.to_string()],
            Field::ImagenetNorm => vec![r.hyper.imagenet_norm.to_string()],
            Field::ZeroInit => vec![r.hyper.zero_init_residual.to_string()],
            Field::Tf32 => vec![r.hyper.tf32.to_string()],
            _ => Vec::new(),
        }
    }
}

/// A filter field shown as a column of its own (`runs --show augment,data`): one no column of
/// the table shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldColumn {
    field: Field,
    title: &'static str,
}

impl FieldColumn {
    /// The field of this name (any of its spellings); an error says why none is shown.
    pub fn parse(name: &str) -> Result<FieldColumn, String> {
        // As the flags spell them (`weight-decay`), and as `Column::parse` takes them.
        let lower = name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        if lower.is_empty() {
            return Err("an empty field name: a comma too many?".into());
        }
        let (title, field) = SPELLINGS
            .iter()
            .find(|(n, _)| *n == lower)
            .copied()
            .ok_or_else(|| format!("unknown field '{name}' (fields: {})", Self::names()))?;
        if let Some(column) = field.column() {
            return Err(format!(
                "'{name}' is shown by the {} column already",
                column.title()
            ));
        }
        Ok(FieldColumn { field, title })
    }

    pub fn title(self) -> &'static str {
        self.title
    }

    /// Whether the two name one field (`wd` and `weight_decay` do).
    pub fn same_field(self, other: FieldColumn) -> bool {
        self.field == other.field
    }

    /// Whether this is the seed, which `runs` shows on its own where runs differ in it.
    pub fn is_seed(self) -> bool {
        self.field == Field::Seed
    }

    /// Whether this is the lab's dataset, which `runs` names beside its id.
    pub fn is_dataset(self) -> bool {
        self.field == Field::Dataset
    }

    /// Whether this says which images a run trained on (`data` or `dataset`), as the data
    /// column `runs` adds where the runs listed trained on more than one dataset does.
    pub fn is_data(self) -> bool {
        matches!(self.field, Field::Data | Field::Dataset)
    }

    /// The run's value, as the compare view shows it, on one line of at most
    /// [`FieldColumn::WIDTH`] characters (a path keeps its end, where the names that tell
    /// two apart are, other text its start, with `…` for what is cut); `-` for none.
    pub fn text(self, r: &Run, now: f64) -> String {
        let full = self.full_text(r, now);
        let line = full.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            return "-".into();
        }
        let chars: Vec<char> = line.chars().collect();
        if chars.len() <= Self::WIDTH {
            return line;
        }
        let keep = Self::WIDTH - 1;
        if matches!(self.field, Field::Data | Field::Init) {
            format!(
                "…{}",
                chars[chars.len() - keep..].iter().collect::<String>()
            )
        } else {
            format!("{}…", chars[..keep].iter().collect::<String>())
        }
    }

    /// The names `--show` takes: the filter fields no column shows.
    pub fn names() -> String {
        let mut names: Vec<&str> = Vec::new();
        for &(name, field) in SPELLINGS {
            let first = !SPELLINGS
                .iter()
                .take_while(|(n, _)| *n != name)
                .any(|&(_, f)| f == field);
            if first && field.column().is_none() {
                names.push(name);
            }
        }
        names.join(" ")
    }

    /// The widest a value is shown (a note can be a paragraph).
    pub const WIDTH: usize = 40;

    fn full_text(self, r: &Run, now: f64) -> String {
        let f = self.field;
        let h = &r.hyper;
        match f {
            // As the filter names random weights (`init=none`).
            Field::Init if h.init.is_none() => "none".into(),
            Field::Init => crate::lab::params::init(r),
            Field::Data => crate::lab::params::data(r),
            Field::Tag => r.tags.join(","),
            // Exactly: a seed past 2^53 is not an f64.
            Field::Seed => h.seed.to_string(),
            Field::Lr | Field::WeightDecay | Field::Margin | Field::Crop => {
                f.number(r, now).map_or("-".into(), format::setting)
            }
            _ if f.is_numeric() => f
                .number(r, now)
                .map_or("-".into(), |x| f.shown(x).unwrap_or_else(|| format!("{x}"))),
            _ => f.texts(r, now).into_iter().next().unwrap_or_default(),
        }
    }

    /// Orders two runs by this field, `descending` or not, runs without a value last either
    /// way, then by id.
    pub fn order(self, a: &Run, b: &Run, now: f64, descending: bool) -> Ordering {
        let f = self.field;
        let directed = |o: Ordering| if descending { o.reverse() } else { o };
        let ord = if f == Field::Seed {
            directed(a.hyper.seed.cmp(&b.hyper.seed))
        } else if f.is_numeric() {
            let (x, y) = (f.number(a, now), f.number(b, now));
            x.is_none().cmp(&y.is_none()).then_with(|| match (x, y) {
                (Some(x), Some(y)) => directed(x.total_cmp(&y)),
                _ => Ordering::Equal,
            })
        } else {
            // Each value read once: a run's data is read from its config.
            let (x, y) = (self.full_text(a, now), self.full_text(b, now));
            let missing = |t: &str| t.trim().is_empty() || t == "-";
            missing(&x)
                .cmp(&missing(&y))
                .then_with(|| directed(x.cmp(&y)))
        };
        ord.then(a.id.cmp(&b.id))
    }
}

/// What `runs --sort` orders by: a column, or a field no column shows (which `runs` then
/// shows).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SortKey {
    Column(Column),
    Field(FieldColumn),
}

impl SortKey {
    pub fn parse(name: &str) -> Result<SortKey, String> {
        Column::parse(name)
            .map(SortKey::Column)
            .or_else(|_| FieldColumn::parse(name).map(SortKey::Field))
            .map_err(|_| {
                format!(
                    "no column '{name}'; one of: {} (or a filter field's name, e.g. dev or \
                     augment)",
                    Column::cli_names()
                )
            })
    }

    pub fn order(self, a: &Run, b: &Run, now: f64, descending: bool) -> Ordering {
        match self {
            SortKey::Column(c) => c.order(a, b, now, descending),
            SortKey::Field(f) => f.order(a, b, now, descending),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Term {
    /// Case-insensitive substring of the name, model, tags or notes; a number (`id`, read once
    /// here, not per run and redraw) is the id, or in a name or tag (`runs 4` shows run 4, not
    /// every run whose notes or model hold a 4: `152` would be every ResNet152).
    Text {
        text: String,
        id: Option<u64>,
    },
    Number(Field, Op, f64),
    /// The seed, compared as the integer it is: as f64 the seeds past 2^53 run together.
    Seed(Op, i128),
    Str(Field, Op, String),
}

/// A parsed filter: every term must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
    /// The terms as typed, one space apart: what the screen shows as the filter in use.
    text: String,
}

impl Filter {
    /// Parses `model=resnet18 dev_acc>0.4 baseline`; the error says which term is wrong and why.
    pub fn parse(input: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for token in input.split_whitespace() {
            let Some(pos) = token.find(['<', '>', '=', '!']) else {
                let text = token.to_lowercase();
                let id = text.parse::<u64>().ok();
                terms.push(Term::Text { text, id });
                continue;
            };
            let (field_s, rest) = token.split_at(pos);
            let (op, value) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("!=", Op::Ne),
                ("=", Op::Eq),
                (">", Op::Gt),
                ("<", Op::Lt),
            ]
            .iter()
            .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v)))
            .ok_or_else(|| format!("'{token}': expected one of = != > < >= <= after the field"))?;
            let field = Field::parse(field_s).ok_or_else(|| {
                format!("'{token}': unknown field '{field_s}' (fields: {FIELD_NAMES})")
            })?;
            if value.is_empty() {
                return Err(format!("'{token}': missing a value after the operator"));
            }
            if let Some(known) = field.closed_values() {
                if !known.iter().any(|k| k.eq_ignore_ascii_case(value)) {
                    return Err(format!(
                        "'{token}': no {field_s} is '{value}'; one of: {}",
                        known.join(", ")
                    ));
                }
            }
            if field == Field::Duration {
                // As the table shows it (`1h31m`) or `--time-limit` takes it; a bare number is
                // seconds.
                let v =
                    crate::format::parse_duration(value).map_err(|e| format!("'{token}': {e}"))?;
                terms.push(Term::Number(field, op, v.as_secs_f64()));
            } else if let (Field::Seed, Ok(seed)) = (field, value.parse::<i128>()) {
                terms.push(Term::Seed(op, seed));
            } else if field.is_numeric() {
                let v: f64 = value
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| format!("'{token}': {field_s} needs a number, got '{value}'"))?;
                terms.push(Term::Number(field, op, v));
            } else if value.starts_with(['=', '<', '>']) {
                // `tag==seed-table`: the text field would be compared with "=seed-table".
                return Err(format!(
                    "'{token}': one operator between {field_s} and its value, e.g. \
                     {field_s}=value"
                ));
            } else {
                terms.push(Term::Str(field, op, value.to_lowercase()));
            }
        }
        let text = input.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Filter { terms, text })
    }

    /// Parses text still being typed. A last word that is a field's name, or the start of one,
    /// waits for its operator: on the way to `dev_acc>0.4` the list is not first filtered on
    /// the text "dev_acc".
    pub fn parse_typing(input: &str) -> Result<Filter, String> {
        match Self::pending_field(input) {
            Some(word) => Self::parse(&input[..input.len() - word.len()]),
            None => Self::parse(input),
        }
    }

    /// The last word of `input`, when it is still being typed (no space after it), has no
    /// operator and is a field's name or the start of one.
    pub fn pending_field(input: &str) -> Option<&str> {
        if input.ends_with(char::is_whitespace) {
            return None;
        }
        let word = input.split_whitespace().last()?;
        let lower = word.to_ascii_lowercase();
        let names_a_field = SPELLINGS.iter().any(|(n, _)| n.starts_with(&lower));
        (!word.contains(['<', '>', '=', '!']) && names_a_field).then_some(word)
    }

    /// What to say of the first bare word among the terms that is exactly a field's name: what
    /// is left of `dev_acc>0.5` when a shell took `>0.5` as a redirection, or a field named
    /// alone (`augment`, meant as `augment=true`).
    pub fn bare_field_hint(&self) -> Option<String> {
        self.terms.iter().find_map(|t| match t {
            Term::Text { text, .. } => {
                let field = Field::parse(text)?;
                let alone = format!("'{text}' alone is a word to find, not a comparison");
                Some(if field.is_switch() {
                    format!("{alone}, as {text}=true is")
                } else if field.is_numeric() {
                    format!(
                        "{alone}: a shell takes > and < as redirections, so quote the term \
                         ('{text}>0.5')"
                    )
                } else {
                    format!("{alone}, as {text}=VALUE is")
                })
            }
            _ => None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The text this filter was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, r: &Run, now: f64) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Text { text: s, id } => {
                id.is_some_and(|id| u64::try_from(r.id.0) == Ok(id))
                    || r.name.to_lowercase().contains(s)
                    || r.tags.iter().any(|t| t.to_lowercase().contains(s))
                    || (id.is_none()
                        && (r.hyper.model.to_lowercase().contains(s)
                            || r.notes.to_lowercase().contains(s)))
            }
            Term::Number(f, op, v) => f
                .shown_number(r, now)
                .is_some_and(|x| op.holds(x.total_cmp(v))),
            Term::Seed(op, v) => op.holds(i128::from(r.hyper.seed).cmp(v)),
            Term::Str(f, op, v) => {
                let texts = f.texts(r, now);
                match op {
                    // A run with tags [a, b] is `tag!=c`, and is not `tag!=a`.
                    Op::Ne => texts.iter().all(|t| t.to_lowercase() != *v),
                    _ => texts
                        .iter()
                        .any(|t| op.holds(t.to_lowercase().as_str().cmp(v))),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard shows every column `runs` has, in its order, with the seed and data
    /// columns where `runs` puts them: a column added to one list and not the other would
    /// never show.
    #[test]
    fn the_dashboard_has_every_column_of_all_in_order() {
        let others: Vec<Column> = Column::DASHBOARD
            .into_iter()
            .filter(|c| !matches!(c, Column::Seed | Column::Data))
            .collect();
        assert_eq!(others, Column::ALL);
        let at = |c| Column::DASHBOARD.iter().position(|&d| d == c);
        assert_eq!(at(Column::Data), at(Column::Input).map(|i| i + 1));
        assert_eq!(at(Column::Seed), at(Column::Lr).map(|i| i + 1));
    }
    use crate::lab::fixtures::{run, NOW};
    use crate::lab::RunId;

    /// A field named alone is told how to compare it, in its own kind of term.
    #[test]
    fn a_field_named_alone_gets_a_term_of_its_kind() {
        let hint = |q: &str| {
            Filter::parse(q)
                .unwrap()
                .bare_field_hint()
                .unwrap_or_default()
        };
        assert!(hint("augment").ends_with("not a comparison, as augment=true is"));
        assert!(hint("data").ends_with("not a comparison, as data=VALUE is"));
        assert!(hint("resnet dev_acc").ends_with("so quote the term ('dev_acc>0.5')"));
        assert_eq!(hint("resnet"), "");
    }

    /// Seeds compare exactly, past 2^53 too, where f64s that far apart are one number; a seed
    /// written as a fraction still compares as a number.
    #[test]
    fn seeds_compare_as_the_integers_they_are() {
        let big = (1i64 << 60) + 1;
        let mut a = run(1, "a", "resnet18");
        a.hyper.seed = big;
        let mut b = run(2, "b", "resnet18");
        b.hyper.seed = big - 1;
        let runs = [a, b];
        let ids = |q: &str| -> Vec<i64> {
            let f = Filter::parse(q).unwrap();
            runs.iter()
                .filter(|r| f.matches(r, NOW))
                .map(|r| r.id.0)
                .collect()
        };
        assert_eq!(ids(&format!("seed={big}")), [1]);
        assert_eq!(ids(&format!("seed<{big}")), [2]);
        assert_eq!(ids(&format!("seed!={}", big - 1)), [1]);
        assert_eq!(ids("seed>1.5"), [1, 2]);
    }

    /// The settings with no column are found by name: on/off ones as `true`/`false`, the
    /// images by their folder's name or path as given, the dataset by its id.
    #[test]
    fn switches_and_the_data_are_fields() {
        let mut a = run(1, "a", "resnet18");
        a.hyper.augment = true;
        a.hyper.normalize = false;
        a.hyper.imagenet_norm = true;
        a.dataset_id = Some(crate::lab::DatasetId(2));
        a.config_json = r#"{"data":"../shared/data/lfw-20-30"}"#.into();
        let mut b = run(2, "b", "resnet18");
        b.hyper.normalize = true;
        b.hyper.tf32 = true;
        b.hyper.zero_init_residual = true;
        b.config_json = r#"{"data":"synthetic"}"#.into();
        let mut runs = [a, b];
        let ids = |runs: &[Run], q: &str| -> Vec<i64> {
            let f = Filter::parse(q).unwrap();
            runs.iter()
                .filter(|r| f.matches(r, NOW))
                .map(|r| r.id.0)
                .collect()
        };
        assert_eq!(ids(&runs, "augment=true"), [1]);
        assert_eq!(ids(&runs, "augment=false"), [2]);
        assert_eq!(ids(&runs, "normalize=TRUE"), [2]);
        assert_eq!(ids(&runs, "imagenet_norm=true tf32=false"), [1]);
        assert_eq!(ids(&runs, "zero_init=true tf32=true"), [2]);
        assert_eq!(ids(&runs, "data=lfw-20-30"), [1]);
        assert_eq!(ids(&runs, "data=../shared/data/lfw-20-30"), [1]);
        assert_eq!(ids(&runs, "data!=synthetic"), [1]);
        assert_eq!(ids(&runs, "data=synthetic:6:10"), [0i64; 0]);
        runs[1].config_json = r#"{"data":"synthetic:6:10"}"#.into();
        assert_eq!(ids(&runs, "data=synthetic"), [2], "any synthetic set");
        assert_eq!(ids(&runs, "data=synthetic:6:10"), [2]);
        assert_eq!(ids(&runs, "dataset=2"), [1]);
        let err = Filter::parse("augment=yes").unwrap_err();
        assert!(err.contains("one of: true, false"), "{err}");
    }

    #[test]
    fn the_input_column_shows_the_crop_and_imagenet_normalisation() {
        let mut r = run(1, "r", "resnet18");
        assert_eq!(input_text(&r.hyper), "64");
        r.hyper.imagenet_norm = true;
        assert_eq!(input_text(&r.hyper), "64 inet");
        r.hyper.crop = 0.5;
        assert_eq!(input_text(&r.hyper), "64 c0.5 inet");
    }

    /// `tag==seed-table` would compare the tag with "=seed-table" and match nothing, unsaid.
    #[test]
    fn a_doubled_operator_on_a_text_field_is_refused() {
        for typo in ["tag==seed-table", "name=>alex", "notes=<x"] {
            let err = Filter::parse(typo).err().unwrap_or_default();
            assert!(err.contains("one operator between"), "{typo}: {err}");
        }
        assert!(Filter::parse("tag=seed-table").is_ok());
    }

    #[test]
    fn every_column_is_named_on_the_command_line_by_its_title() {
        for c in Column::ALL {
            assert_eq!(Column::parse(&c.cli_name()), Ok(c), "{c:?}");
            assert_eq!(Column::parse(&c.title().to_uppercase()), Ok(c), "{c:?}");
        }
        assert_eq!(Column::parse("img/s"), Ok(Column::ImagesPerSec));
        assert_eq!(Column::parse("dev"), Ok(Column::BestDev));
        assert_eq!(Column::parse("loss"), Ok(Column::LastLoss));
        assert_eq!(Column::parse("best_dev_acc"), Ok(Column::BestDev));
        assert_eq!(Column::parse("ips"), Ok(Column::ImagesPerSec));
        // Any spelling of a shown field names its column; a field the table does not show, none.
        assert_eq!(Column::parse("batch_size"), Ok(Column::Batch));
        assert_eq!(Column::parse("progress"), Ok(Column::Progress));
        assert_eq!(Column::parse("crop"), Ok(Column::Input));
        assert!(Column::parse("seed").is_err());
        let err = Column::parse("accuracy").unwrap_err();
        assert!(
            err.contains("'accuracy'") && err.contains("best_dev, test, lfw, last_loss, img_s"),
            "{err}"
        );
    }

    #[test]
    fn comparisons_and_text_terms_combine() {
        let mut a = run(1, "r18-base", "resnet18");
        a.best_dev_acc = Some(0.45);
        a.tags = vec!["baseline".into()];
        let mut b = run(2, "alex", "alexnet");
        b.best_dev_acc = Some(0.30);
        b.notes = "run 3 went further".into();
        let mut c = run(3, "r18-fresh", "resnet18");
        c.hyper.lr_schedule = "cosine".into();
        c.hyper.warmup_epochs = 2;
        c.hyper.weight_decay = 5e-4;
        c.hyper.crop = 0.5;
        c.hyper.init = Some("/weights/resnet18-f37072fd.pth".into());
        b.like_run = Some(RunId(1));
        c.like_run = Some(RunId(2));
        c.init_run = Some(RunId(1));
        let keep = |q: &str| -> Vec<i64> {
            let f = Filter::parse(q).unwrap();
            [&a, &b, &c]
                .iter()
                .filter(|r| f.matches(r, NOW))
                .map(|r| r.id.0)
                .collect()
        };
        assert_eq!(keep(""), vec![1, 2, 3]);
        assert_eq!(keep("model=resnet18"), vec![1, 3]);
        assert_eq!(keep("model!=resnet18"), vec![2]);
        assert_eq!(keep("model=resnet18 dev_acc>0.4"), vec![1]);
        assert_eq!(
            keep("dev_acc<=0.3"),
            vec![2],
            "a missing value never matches"
        );
        assert_eq!(keep("BASE"), vec![1], "text matches name and tags");
        assert_eq!(keep("2"), vec![2], "a number is the id");
        assert_eq!(keep("18"), vec![1, 3], "or in a name");
        assert_eq!(keep("3"), vec![3], "not in a note");
        assert_eq!(keep("tag=baseline"), vec![1]);
        assert_eq!(keep("id>=2 batch=32"), vec![2, 3]);
        assert_eq!(keep("status=completed"), vec![1, 2, 3]);
        assert_eq!(keep("schedule=cosine"), vec![3]);
        assert_eq!(keep("warmup>0 wd>0"), vec![3]);
        assert_eq!(keep("crop<1"), vec![3]);
        assert_eq!(keep("lr_schedule=constant"), vec![1, 2]);
        // The --init file by its name; runs that started at random have none.
        assert_eq!(keep("init=resnet18-f37072fd.pth"), vec![3]);
        assert_eq!(keep("init!=resnet18-f37072fd.pth"), vec![1, 2]);
        assert_eq!(
            keep("init=/weights/resnet18-f37072fd.pth"),
            vec![3],
            "or its path"
        );
        assert_eq!(
            keep("init=none"),
            vec![1, 2],
            "as --init none names random weights"
        );
        assert_eq!(keep("init!=none"), vec![3]);
        // The runs another run's settings or weights came from, by id.
        assert_eq!(keep("like=1"), vec![2]);
        assert_eq!(keep("like_run>0"), vec![2, 3]);
        assert_eq!(keep("init_run=1 like=2"), vec![3]);
        // Durations as the table shows them (each run trained 50 minutes) or in seconds.
        assert_eq!(keep("duration>49m duration<0h51m"), vec![1, 2, 3]);
        assert_eq!(keep("duration>=3000 duration<=3000s"), vec![1, 2, 3]);
        assert_eq!(keep("duration>1h"), Vec::<i64>::new());
    }

    /// `duration=1h31m` finds the run the table shows as 1h31m (it trained 1h31m10s).
    #[test]
    fn a_duration_compares_as_the_table_shows_it() {
        let mut r = crate::lab::fixtures::run(1, "r", "resnet18");
        (r.started_at, r.finished_at) = (Some(NOW - 5470.0), Some(NOW));
        assert_eq!(r.duration(NOW), Some(5470.0));
        let keeps = |f: &str| Filter::parse(f).expect(f).matches(&r, NOW);
        assert!(keeps("duration=1h31m") && keeps("duration>=1h31m"));
        assert!(!keeps("duration=1h32m") && !keeps("duration!=1h31m"));
    }

    /// A loss compares as shown: to four places, or in powers of ten when it diverged.
    #[test]
    fn a_loss_compares_as_the_table_shows_it() {
        let mut r = crate::lab::fixtures::run(1, "r", "resnet18");
        let keeps = |r: &Run, f: &str| Filter::parse(f).expect(f).matches(r, NOW);
        r.last_loss = Some(1.5034e10);
        assert_eq!(Column::LastLoss.text(&r, NOW), "1.50e10");
        assert!(keeps(&r, "loss=1.50e10") && !keeps(&r, "loss=1.5034e10"));
        r.last_loss = Some(0.08712);
        assert!(keeps(&r, "loss=0.0871"));
    }

    #[test]
    fn bad_terms_say_what_is_wrong() {
        for not_a_number in ["dev_acc<nan", "loss>inf", "lr=-inf"] {
            let e = Filter::parse(not_a_number).unwrap_err();
            assert!(e.contains("needs a number"), "{e}");
        }
        let e = Filter::parse("colour=red").unwrap_err();
        assert!(e.contains("unknown field 'colour'"), "{e}");
        let e = Filter::parse("dev_acc>high").unwrap_err();
        assert!(e.contains("needs a number"), "{e}");
        let e = Filter::parse("model=").unwrap_err();
        assert!(e.contains("missing a value"), "{e}");
        let e = Filter::parse("model!x").unwrap_err();
        assert!(e.contains("expected one of"), "{e}");
        let e = Filter::parse("duration>long").unwrap_err();
        assert!(
            e.contains("'long' is not a duration: write e.g. 90s"),
            "{e}"
        );
    }

    #[test]
    fn fields_with_a_closed_set_of_values_reject_others_and_list_them() {
        let e = Filter::parse("model=vgg").unwrap_err();
        assert!(e.contains("alexnet, resnet18, resnet152"), "{e}");
        let e = Filter::parse("status=runing").unwrap_err();
        assert!(e.contains("running"), "{e}");
        assert!(e.contains("completed"), "{e}");
        let e = Filter::parse("mining!=semi").unwrap_err();
        assert!(e.contains("all, semihard, hard"), "{e}");
        let e = Filter::parse("sampler=pq").unwrap_err();
        assert!(e.contains("random, pk"), "{e}");
        let e = Filter::parse("schedule=cos").unwrap_err();
        assert!(e.contains("constant, cosine"), "{e}");
        for ok in [
            "model=ResNet18",
            "status=crashed",
            "mining=hard",
            "sampler=pk",
            "schedule=cosine",
        ] {
            assert!(Filter::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_field_name_being_typed_waits_for_its_operator() {
        let typing = |q: &str| Filter::parse_typing(q).map(|f| f.text().to_string());
        assert_eq!(typing("model=resnet18 dev_a"), Ok("model=resnet18".into()));
        assert_eq!(
            typing("model=resnet18 dev_acc"),
            Ok("model=resnet18".into())
        );
        assert_eq!(typing("dev_acc>0.4"), Ok("dev_acc>0.4".into()));
        assert!(typing("dev_acc>").is_err());
        // Not a field, or finished with a space: a text term.
        assert_eq!(typing("alex"), Ok("alex".into()));
        assert_eq!(typing("dev "), Ok("dev".into()));
        assert_eq!(Filter::pending_field("x mod"), Some("mod"));
        assert_eq!(Filter::pending_field("x mod "), None);
    }

    #[test]
    fn a_filter_keeps_the_text_it_was_parsed_from() {
        let f = Filter::parse("  model=resnet18   dev_acc>0.4 ").unwrap();
        assert_eq!(f.text(), "model=resnet18 dev_acc>0.4");
        assert!(!f.is_empty());
        assert_eq!(Filter::parse(" ").unwrap().text(), "");
        assert!(Filter::parse(" ").unwrap().is_empty());
    }

    #[test]
    fn columns_cycle_and_sort() {
        assert_eq!(Column::Id.next(), Column::Name);
        assert_eq!(Column::Duration.next(), Column::Id);
        let mut a = run(1, "a", "m");
        a.best_dev_acc = Some(0.5);
        let b = run(2, "b", "m");
        assert_eq!(Column::BestDev.compare(&a, &b, NOW), Ordering::Greater);
        // Input: size first, then crop, then ImageNet normalisation; lr: rate first, then
        // schedule.
        let mut small = run(3, "c", "m");
        small.hyper.image_size = 32;
        let mut cropped = run(4, "d", "m");
        cropped.hyper.crop = 0.5;
        let mut imagenet = run(7, "g", "m");
        imagenet.hyper.imagenet_norm = true;
        assert_eq!(Column::Input.compare(&small, &a, NOW), Ordering::Less);
        assert_eq!(Column::Input.compare(&cropped, &a, NOW), Ordering::Less);
        assert_eq!(Column::Input.compare(&imagenet, &a, NOW), Ordering::Greater);
        assert_eq!(
            Column::Input.compare(&small, &imagenet, NOW),
            Ordering::Less
        );
        assert_eq!(
            Column::Input.compare(&cropped, &small, NOW),
            Ordering::Greater
        );
        let mut slow = run(5, "e", "m");
        slow.hyper.lr = 1e-4;
        let mut cosine = run(6, "f", "m");
        cosine.hyper.lr_schedule = "cosine".into();
        assert_eq!(Column::Lr.compare(&slow, &a, NOW), Ordering::Less);
        assert_eq!(Column::Lr.compare(&a, &cosine, NOW), Ordering::Less);
    }

    /// Run 30's LFW accuracy is 0.74983, shown 0.750; run 5's best dev 0.64516, shown 0.645.
    #[test]
    fn numbers_compare_as_the_table_shows_them() {
        let mut r = run(1, "r", "m");
        r.lfw_acc = Some(0.749_83);
        r.best_dev_acc = Some(0.645_16);
        r.last_loss = Some(0.012_345_6);
        r.images_per_sec = Some(191.63);
        r.hyper.lr = 0.000_123_4;
        // 0.6475 prints as 0.647, where x * 1000 rounds to 648.
        r.test_acc = Some(259.0 / 400.0);
        let holds = |f: &str| Filter::parse(f).unwrap().matches(&r, NOW);
        assert!(holds("lfw>=0.75") && holds("lfw=0.750") && !holds("lfw<0.75"));
        assert!(holds("dev_acc=0.645") && !holds("dev_acc>0.645"));
        assert!(holds("loss=0.0123") && !holds("loss>0.0123"));
        assert!(holds("img_s>191.5") && holds("img_s<192") && !holds("img_s=191.6"));
        assert!(holds("test=0.647") && !holds("test>0.647"));
        // Hyperparameters are shown as given: no rounding.
        assert!(holds("lr=0.0001234") && !holds("lr>0.0001234") && !holds("lr=0.0001"));
    }

    /// `runs --sort data` puts the runs of no dataset last either way, as the other columns
    /// put runs without a value and the dashboard puts them; the others by dataset id.
    #[test]
    fn runs_of_no_dataset_sort_last_by_data_either_way() {
        let runs: Vec<Run> = [(1, Some(2)), (2, None), (3, Some(1)), (4, Some(2))]
            .into_iter()
            .map(|(id, dataset)| {
                let mut r = run(id, "r", "m");
                r.dataset_id = dataset.map(crate::lab::DatasetId);
                r
            })
            .collect();
        let sorted = |descending: bool| {
            let mut sorted: Vec<&Run> = runs.iter().collect();
            sorted.sort_by(|a, b| Column::Data.order(a, b, NOW, descending));
            sorted.iter().map(|r| r.id.0).collect::<Vec<_>>()
        };
        assert_eq!(sorted(false), [3, 1, 4, 2]);
        assert_eq!(sorted(true), [4, 1, 3, 2]);
    }

    #[test]
    fn the_epoch_column_sorts_by_epochs_trained_then_planned() {
        let runs: Vec<Run> = [(1, 2, 2), (2, 90, 90), (3, 3, 3), (4, 8, 30), (5, 2, 30)]
            .into_iter()
            .map(|(id, done, planned)| {
                let mut r = run(id, "r", "m");
                r.status = crate::lab::RunStatus::Interrupted;
                (r.iters_per_epoch, r.last_iteration) = (Some(10), done * 10 + 3);
                r.hyper.epochs = planned;
                r
            })
            .collect();
        let mut sorted: Vec<&Run> = runs.iter().collect();
        sorted.sort_by(|a, b| Column::Progress.compare(a, b, NOW));
        let shown: Vec<String> = sorted
            .iter()
            .map(|r| Column::Progress.text(r, NOW))
            .collect();
        assert_eq!(shown, ["2/2", "2/30", "3/3", "8/30", "90/90"]);
    }
}
