//! The three evaluation protocols, from a run's embeddings to the metrics the lab records:
//! identification on the run's own test split, verification on LFW View 2 pairs, and open-set
//! verification and identification on any folder of identities.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::data::{self, DataSpec, ImageRef};
use crate::eval::embeddings::{euclidean, Embeddings};
use crate::eval::folder::{folder_pairs, DEFAULT_PAIRS_PER_CLASS, FOLDS};
use crate::eval::identification::{self, centroid_gallery, identify, seed_gallery};
use crate::eval::pairs::{exclude_identities, PairsFile, VIEW2_SHA256};
use crate::eval::verification::{self, Scores, VerificationReport};
use crate::lab::{DatasetRecord, EvalMetric, Protocol, Run, RunId, SplitRecord};

/// FAR at which VAL is reported, as in the FaceNet paper and the LFW literature.
pub const FAR_TARGET: f64 = 1e-3;

/// Seed of the folder protocol's pair sampling: fixed, so two runs see the same pairs.
const FOLDER_PAIRS_SEED: u64 = 0x001f_0a1d;

/// The run being evaluated, and how its checkpoint embeds images.
pub struct Subject<'a> {
    pub run: &'a Run,
    /// The dataset it trained on, where the lab has it.
    pub dataset: Option<&'a DatasetRecord>,
    pub embed: &'a dyn Fn(&DataSpec, &[ImageRef]) -> Result<Embeddings>,
    /// What its weights learned from before it, when it started from `--init`.
    pub inherited: &'a Inherited,
    /// Leave out the people the run trained on (`--exclude-train-identities`), and those its
    /// starting weights were trained on where the lab knows them.
    pub exclude_train_identities: bool,
    /// Tells the user something as it happens: what was left out before the long embedding,
    /// and the verification's summary.
    pub tell: &'a dyn Fn(Message),
}

/// What a run's weights learned from before the run: the datasets of the runs of this lab
/// whose checkpoints they started from, nearest first (see [`crate::lab::Lineage`]), and the
/// `--init` file where that chain leaves the lab.
#[derive(Clone, Debug, Default)]
pub struct Inherited {
    pub datasets: Vec<(RunId, DatasetRecord)>,
    /// Ancestors that record no dataset: whom they trained on is unknown.
    pub unknown: Vec<RunId>,
    pub outside: Option<String>,
}

impl Inherited {
    /// What `run`'s weights learned from before it, as `lab` knows ([`crate::lab::Lab::lineage`]).
    pub fn of(lab: &crate::lab::Lab, run: &Run) -> Result<Inherited> {
        let lineage = lab.lineage(run)?;
        let mut inherited = Inherited {
            outside: lineage.outside,
            ..Default::default()
        };
        for origin in lineage.ancestors {
            match lab.run_dataset(&origin.run)? {
                Some(d) => inherited.datasets.push((origin.run.id, d)),
                None => inherited.unknown.push(origin.run.id),
            }
        }
        Ok(inherited)
    }
}

/// What a protocol tells the user on the way.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// What was done: what was left out, the verification's summary.
    Note(String),
    /// What makes the numbers mean less than they seem.
    Warning(String),
}

/// What a protocol measured, ready to record.
#[derive(Debug)]
pub struct Measured {
    pub protocol: Protocol,
    /// The data it was measured on, as the lab records it.
    pub source: String,
    /// How it was measured: the settings that decide the numbers.
    pub options: serde_json::Map<String, serde_json::Value>,
    pub metrics: Vec<EvalMetric>,
    /// A verification's ROC, and what it was measured on (for the figure's title).
    pub roc: Option<(VerificationReport, String)>,
}

impl Measured {
    fn new(protocol: Protocol, source: String) -> Measured {
        Measured {
            protocol,
            source,
            options: serde_json::Map::new(),
            metrics: Vec::new(),
            roc: None,
        }
    }

    fn option(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.options.insert(key.to_string(), value.into());
    }

    /// How many images of `spec` were measured, their bytes (`images_sha256`, hashed as a
    /// split's members are) and their colours (`images_colour`: `grayscale`, `colour` or
    /// `mixed`); neither for generated faces, which their spec names exactly.
    fn record_images(&mut self, spec: &DataSpec, items: &[ImageRef]) -> Result<()> {
        self.option("n_images", items.len());
        if let Some((hash, colours)) = data::images_record(spec, items)? {
            self.option("images_sha256", hash);
            if let Some(kind) = colours.kind() {
                self.option("images_colour", kind);
            }
        }
        Ok(())
    }

    /// Records a verification (its metrics and its ROC) and tells its summary.
    /// Records a verification whose pairs were dealt into `planned` folds (a pairs file's
    /// own count, or a folder's 10).
    fn verified(&mut self, s: &Subject, report: VerificationReport, planned: usize, on: String) {
        (s.tell)(Message::Note(format!("verification {}", report.summary())));
        let folds = report.accuracy.folds.len();
        if folds < planned {
            (s.tell)(Message::Note(format!(
                "the {} pairs fill {folds} of the {planned} folds: the fold means and standard \
                 deviations are over {folds}",
                report.n_pairs
            )));
        }
        self.metrics.extend(to_metrics(report.metrics()));
        self.option("far_target", FAR_TARGET);
        self.option("folds", folds);
        self.roc = Some((report, on));
    }
}

/// Identification on the run's own test split against the seed's and a centroid gallery, the
/// images read where the lab recorded them or from `moved_to` (checked against the record).
pub fn test_split(s: &Subject, moved_to: Option<&Path>) -> Result<Measured> {
    let run = s.run.id;
    let d = s.dataset.with_context(|| {
        format!("run {run} has no recorded dataset, so it has no test split to evaluate on: pass --data DIR")
    })?;
    let spec = data::recorded::source(d, moved_to, run)
        .with_context(|| format!("evaluating run {run} on its test split"))?;
    let mut m = Measured::new(Protocol::TestSplit, d.source.clone());
    warn_of_seen_test_images(s, d, &mut m)?;
    let train = (s.embed)(&spec, &split_items(d, "train")?)?;
    let test = (s.embed)(&spec, &split_items(d, "test")?)?;
    m.metrics = test_split_metrics(&train, &test)?;
    Ok(m)
}

/// Warns, and records, when runs the weights descend from trained on images of this run's
/// test split (the same bytes, wherever they were): the split is then not unseen.
fn warn_of_seen_test_images(s: &Subject, d: &DatasetRecord, m: &mut Measured) -> Result<()> {
    let test: HashSet<&str> = split(d, "test")?
        .members
        .iter()
        .map(|x| x.sha256.as_str())
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut by = Vec::new();
    for (ancestor, a) in &s.inherited.datasets {
        let before = seen.len();
        seen.extend(
            split(a, "train")?
                .members
                .iter()
                .map(|x| x.sha256.as_str())
                .filter(|h| test.contains(h)),
        );
        if seen.len() > before {
            by.push(format!("run {ancestor}"));
        }
    }
    if !seen.is_empty() {
        (s.tell)(Message::Warning(format!(
            "{} of run {}'s {} test images were training images of {}, whose weights it \
             descends from: its test split is not unseen",
            seen.len(),
            s.run.id,
            test.len(),
            and_list(&by)
        )));
        m.option("test_images_seen_by_ancestors", seen.len());
    }
    Ok(())
}

/// LFW View 2: 10-fold verification over the pairs of `pairs_path`, the images read from `spec`.
pub fn lfw_pairs(s: &Subject, pairs_path: &Path, spec: &DataSpec) -> Result<Measured> {
    let file = PairsFile::read(pairs_path)?;
    // Recorded by absolute path, as `eval` records the images: said as given.
    let recorded = std::path::absolute(pairs_path).unwrap_or_else(|_| pairs_path.to_path_buf());
    let mut m = Measured::new(
        Protocol::LfwPairs,
        format!("{} + {}", recorded.display(), spec),
    );
    m.option("pairs_sha256", file.sha256.as_str());
    if file.sha256 != VIEW2_SHA256 {
        (s.tell)(Message::Note(format!(
            "'{}' is not LFW View 2's official pairs.txt (its sha256 is {}): the result is \
             recorded, but the runs table's LFW column shows only the official file's",
            pairs_path.display(),
            file.sha256
        )));
    }
    let mut pairs = file.pairs.clone();
    if s.exclude_train_identities {
        let trained = Trained::of(s, spec)?;
        let (kept, dropped) = exclude_identities(&pairs, &trained.people);
        (s.tell)(Message::Note(format!(
            "--exclude-train-identities: dropped {dropped} of {} pairs, of {}",
            pairs.len(),
            trained.whose(s)
        )));
        trained.record(&mut m);
        m.option("dropped_pairs", dropped);
        let same = kept.iter().filter(|p| p.same).count();
        if same == 0 || same == kept.len() {
            bail!(
                "{dropped} of the {} pairs touch {}, which leaves {same} same-person and {} \
                 different-person pairs: verification needs both; drop \
                 --exclude-train-identities or evaluate on a folder of other people",
                pairs.len(),
                trained.whose(s),
                kept.len() - same
            );
        }
        pairs = kept;
    } else if let Ok(trained) = Trained::of(s, spec) {
        let people: HashSet<&str> = pairs
            .iter()
            .flat_map(|p| [p.a.identity.as_str(), p.b.identity.as_str()])
            .collect();
        trained.warn_present(s, &mut m, &people, "LFW View 2's pairs");
    }
    let folds: HashSet<usize> = pairs.iter().map(|p| p.fold).collect();
    if folds.len() < 2 {
        bail!(
            "the pairs to verify lie in {} (after any exclusion): k-fold verification holds \
             one out at a time and needs two at least; use a pairs file of several folds, as \
             View 2's 10",
            crate::format::count(folds.len() as u64, "fold", "folds")
        );
    }
    let mut images: Vec<_> = pairs
        .iter()
        .flat_map(|p| [p.a.clone(), p.b.clone()])
        .collect();
    images.sort();
    images.dedup();
    let items: Vec<ImageRef> = images
        .iter()
        .map(|i| ImageRef::lfw(&i.identity, i.number))
        .collect();
    check_images_exist(spec, &items)?;
    warn_of_other_colours(s, spec, &items, &mut m);
    // Which images these were: a grayscale copy of LFW and the official colour archive give
    // other accuracies under one file name.
    m.record_images(spec, &items)?;
    if m.options.get("images_colour").and_then(|c| c.as_str()) == Some("grayscale") {
        (s.tell)(Message::Note(format!(
            "the {} images are all grayscale JPEGs, as in a grayscale copy of LFW: the \
             official archive's are in colour, and View 2 accuracies published for it are \
             measured on those; `runs` says so under its table, and the dashboard's run view \
             and the results table mark this score (gray)",
            items.len()
        )));
    }
    let emb = (s.embed)(spec, &items)?;
    let index: HashMap<_, _> = images.iter().enumerate().map(|(k, i)| (i, k)).collect();
    let indexed: Vec<_> = pairs
        .iter()
        .map(|p| (index[&p.a], index[&p.b], p.same, p.fold))
        .collect();
    m.option("pairs", pairs.len());
    m.verified(
        s,
        verify(&emb, &indexed)?,
        file.n_folds,
        "LFW View 2".to_string(),
    );
    Ok(m)
}

/// Any folder of identities in LFW layout: verification over balanced same/different pairs,
/// and identification with one gallery image per person.
pub fn folder(s: &Subject, spec: &DataSpec) -> Result<Measured> {
    let mut m = Measured::new(Protocol::Folder, spec.to_string());
    let mut items = data::list_images(spec)?;
    if items.is_empty() {
        bail!("no images in '{spec}': expected one folder per identity holding its .jpg files (LFW layout)");
    }
    // People are matched by name, which only means the same person within real photos,
    // or within generated faces of one seed.
    if s.exclude_train_identities {
        let trained = Trained::of(s, spec)?;
        let before = items.len();
        items.retain(|i| !trained.people.contains(&i.identity));
        if items.is_empty() {
            bail!(
                "all {before} images in '{spec}' are of {}: nothing is left for an open-set \
                 evaluation; point --data at other people",
                trained.whose(s)
            );
        }
        (s.tell)(Message::Note(format!(
            "--exclude-train-identities: dropped {} of {before} images, of {}",
            before - items.len(),
            trained.whose(s)
        )));
        trained.record(&mut m);
        m.option("dropped_images", before - items.len());
    } else if let Ok(trained) = Trained::of(s, spec) {
        let people: HashSet<&str> = items.iter().map(|i| i.identity.as_str()).collect();
        trained.warn_present(s, &mut m, &people, &format!("'{spec}'"));
    }
    let people: Vec<String> = items.iter().map(|i| i.identity.clone()).collect();
    let pairs = folder_pairs(&people, DEFAULT_PAIRS_PER_CLASS, FOLDER_PAIRS_SEED);
    if pairs.len() == 2 {
        bail!(
            "'{spec}' gives one same-person and one different-person pair (after any \
             exclusion): k-fold verification needs two of each at least; add people with two \
             photos or more"
        );
    }
    if pairs.is_empty() {
        let distinct: HashSet<&String> = people.iter().collect();
        if distinct.len() < 2 {
            bail!(
                "'{spec}' holds {} (after any exclusion), so there is no different-person pair \
                 to verify: the folder protocol needs two people or more",
                crate::format::count(distinct.len() as u64, "person", "people")
            );
        }
        bail!(
            "no person in '{spec}' has two images, so there is no same-person pair to verify: \
             the folder protocol needs people with at least two photos each"
        );
    }
    warn_of_other_colours(s, spec, &items, &mut m);
    // Which images these were: a folder's path says nothing of what it held then.
    let distinct: HashSet<&String> = people.iter().collect();
    m.record_images(spec, &items)?;
    m.option("n_people", distinct.len());
    let emb = (s.embed)(spec, &items)?;
    let indexed: Vec<_> = pairs.iter().map(|p| (p.a, p.b, p.same, p.fold)).collect();
    m.verified(s, verify(&emb, &indexed)?, FOLDS, spec.to_string());
    let (gallery, queries) = identification::gallery_and_queries(&emb)?;
    let id = identify(&gallery, &queries)?;
    use identification::metric::{N_IDENTITIES, TOP1_ONE_PER_IDENTITY, TOP5_ONE_PER_IDENTITY};
    m.metrics
        .push(EvalMetric::new(TOP1_ONE_PER_IDENTITY, id.top_k(1)));
    m.metrics
        .push(EvalMetric::new(TOP5_ONE_PER_IDENTITY, id.top_k(5)));
    m.metrics.push(EvalMetric::new(
        identification::metric::N_QUERIES,
        queries.len() as f64,
    ));
    m.metrics
        .push(EvalMetric::new(N_IDENTITIES, gallery.len() as f64));
    m.option("pairs_per_class", DEFAULT_PAIRS_PER_CLASS);
    m.option("pairs_seed", FOLDER_PAIRS_SEED);
    Ok(m)
}

/// Images looked at on each side of [`warn_of_other_colours`].
const COLOUR_SAMPLE: usize = 32;

/// Warns, and records, where the images evaluated are not in the colours the run trained on: a
/// network that saw only grayscale faces (as a grayscale copy of LFW gives) measured on colour
/// ones, or one that saw only colour measured on grayscale. Looks at up to [`COLOUR_SAMPLE`] of
/// each, spread over them, by their JPEG headers; says nothing where the run's images cannot
/// be read here.
fn warn_of_other_colours(s: &Subject, spec: &DataSpec, items: &[ImageRef], m: &mut Measured) {
    let Some(d) = s.dataset else { return };
    let Ok(trained_at) = DataSpec::recorded(&d.source) else {
        return;
    };
    // One source, one kind of image: the check would only read a large archive twice more.
    if let (DataSpec::Path(a), DataSpec::Path(b)) = (&trained_at, spec) {
        if a.canonicalize()
            .ok()
            .is_some_and(|a| b.canonicalize().ok() == Some(a))
        {
            return;
        }
    }
    // Every how many of `n` images one is looked at: COLOUR_SAMPLE at most, spread over them.
    let spread = |n: usize| n.div_ceil(COLOUR_SAMPLE).max(1);
    // The training images as the lab recorded them: other files may have taken their names
    // since (`data fetch` replacing a grayscale lfw.tgz with the colour one), whose colours
    // say nothing of the run's.
    let Ok(members) = split(d, "train").map(|sp| &sp.members) else {
        return;
    };
    let (train, sha256): (Vec<ImageRef>, Vec<&str>) = members
        .iter()
        .step_by(spread(members.len()))
        .map(|mm| (ImageRef::from(mm), mm.sha256.as_str()))
        .unzip();
    let Ok(trained) = data::ImageStore::open(&trained_at, &train, false) else {
        return;
    };
    if !trained.changed(&sha256).is_empty() {
        return;
    }
    let evaluated: Vec<ImageRef> = items.iter().step_by(spread(items.len())).cloned().collect();
    let Ok(evaluated) = data::ImageStore::open(spec, &evaluated, false) else {
        return;
    };
    let (t, e) = (trained.colours(), evaluated.colours());
    let (trained, looked, other, these) = if t.colour == 0 && t.gray > 0 && e.colour > 0 {
        ("grayscale", t.gray, e.colour, "in colour")
    } else if t.gray == 0 && t.colour > 0 && e.colour == 0 && e.gray > 0 {
        ("colour", t.colour, e.gray, "grayscale")
    } else {
        return;
    };
    (s.tell)(Message::Warning(format!(
        "run {} trained on {trained} images (all {looked} looked at, spread over its {} \
         training images), and {other} of the {} looked at of these {} are {these}: the \
         network is measured on colours it never saw, which can cost it accuracy; evaluate on \
         a copy in the colours it trained on",
        s.run.id,
        members.len(),
        e.gray + e.colour,
        items.len()
    )));
    m.option(
        "colour_mismatch",
        format!("trained on {trained}, evaluated {these}"),
    );
}

/// Verification over `(a, b, same, fold)` pairs of embedding indices.
fn verify(emb: &Embeddings, pairs: &[(usize, usize, bool, usize)]) -> Result<VerificationReport> {
    let v = emb.vectors();
    let scores = Scores::new(
        pairs
            .iter()
            .map(|&(a, b, _, _)| euclidean(&v[a], &v[b]))
            .collect(),
        pairs.iter().map(|p| p.2).collect(),
        pairs.iter().map(|p| p.3).collect(),
    )?;
    verification::evaluate(&scores, FAR_TARGET)
}

/// The run's test-split identification metrics against both galleries.
fn test_split_metrics(train: &Embeddings, test: &Embeddings) -> Result<Vec<EvalMetric>> {
    use identification::metric::*;
    let gallery = seed_gallery(train)?;
    let seed = identify(&gallery, test)?;
    let centroid = identify(&centroid_gallery(train)?, test)?;
    Ok(vec![
        EvalMetric::new(TOP1_SEED_GALLERY, seed.top_k(1)),
        EvalMetric::new(TOP5_SEED_GALLERY, seed.top_k(5)),
        EvalMetric::new(TOP1_CENTROID_GALLERY, centroid.top_k(1)),
        EvalMetric::new(TOP5_CENTROID_GALLERY, centroid.top_k(5)),
        EvalMetric::new(N_QUERIES, test.len() as f64),
        EvalMetric::new(N_IDENTITIES, gallery.len() as f64),
    ])
}

fn to_metrics(pairs: Vec<(&'static str, f64)>) -> Vec<EvalMetric> {
    pairs
        .into_iter()
        .map(|(n, v)| EvalMetric::new(n, v))
        .collect()
}

/// A split's members in the order the data pipeline gave them to training: by identity, and
/// within one by file name, or, with a split seed, in that seed's shuffled order. The seed's
/// gallery takes each identity's first training image, so the order matters.
pub fn split_items(d: &DatasetRecord, name: &str) -> Result<Vec<ImageRef>> {
    let mut items: Vec<ImageRef> = split(d, name)?.members.iter().map(ImageRef::from).collect();
    if let Some(seed) = d.split_seed {
        // Replay the pipeline's own split of each identity's files (sorted, then shuffled with
        // the seed) and take the order of this split's part.
        let part = data::SplitName::ALL
            .iter()
            .position(|s| s.as_str() == name)
            .with_context(|| format!("no split called '{name}'"))?;
        let mut by_identity: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for m in d.splits.iter().flat_map(|s| &s.members) {
            by_identity.entry(&m.identity).or_default().push(&m.file);
        }
        let mut position: HashMap<(&str, &str), usize> = HashMap::new();
        for (identity, mut files) in by_identity {
            files.sort_unstable();
            let (train, dev, test) =
                data::split::split_identity(files, Some(seed as u64), identity);
            for (k, &f) in [train, dev, test][part].iter().enumerate() {
                position.insert((identity, f), k);
            }
        }
        let mut keyed = Vec::with_capacity(items.len());
        for i in items {
            let Some(&k) = position.get(&(i.identity.as_str(), i.file.as_str())) else {
                bail!(
                    "{}/{} is in the recorded {name} split, where this build's split rule \
                     with split seed {seed} does not put it: the seed's gallery cannot be \
                     replayed",
                    i.identity,
                    i.file
                );
            };
            keyed.push(((i.identity.clone(), k), i));
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        items = keyed.into_iter().map(|(_, i)| i).collect();
    }
    Ok(items)
}

/// The dataset's split called `name`, in recorded (not training) order.
fn split<'a>(d: &'a DatasetRecord, name: &str) -> Result<&'a SplitRecord> {
    d.splits
        .iter()
        .find(|s| s.name == name)
        .with_context(|| format!("dataset '{}' has no {name} split", d.source))
}

/// Whether the people of `eval` can be people the run trained on, given that people are
/// matched by name: real photos (any paths) can, generated faces only when drawn from the same
/// seed (`id03` of another seed is another face), and never one kind with the other.
fn may_share_people(eval: &DataSpec, trained: &DatasetRecord) -> bool {
    match (eval, trained.source.parse::<DataSpec>().ok()) {
        (DataSpec::Path(_), Some(DataSpec::Path(_))) => true,
        (DataSpec::Synthetic { seed: a, .. }, Some(DataSpec::Synthetic { seed: b, .. })) => *a == b,
        _ => false,
    }
}

/// The people that a run's weights were trained on, as far as they can be the people of the
/// data evaluated on ([`may_share_people`]): those of its own training split and of its
/// ancestors' ([`Inherited`]).
struct Trained {
    people: HashSet<String>,
    /// The runs whose people these are: the run itself, then each ancestor that added some.
    runs: Vec<RunId>,
}

impl Trained {
    /// What `s`'s weights were trained on, of the people `eval` can hold. Warns, when the
    /// people are to be left out, of ancestors whose people the lab does not know.
    fn of(s: &Subject, eval: &DataSpec) -> Result<Trained> {
        let run = s.run.id;
        let d = s.dataset.with_context(|| {
            format!("run {run} has no recorded dataset, so its training identities are unknown: drop --exclude-train-identities")
        })?;
        let mut t = Trained {
            people: HashSet::new(),
            runs: vec![run],
        };
        if may_share_people(eval, d) {
            t.people.extend(train_people(d)?);
        }
        for (ancestor, d) in &s.inherited.datasets {
            if may_share_people(eval, d) {
                let before = t.people.len();
                t.people.extend(train_people(d)?);
                if t.people.len() > before {
                    t.runs.push(*ancestor);
                }
            }
        }
        if s.exclude_train_identities {
            for ancestor in &s.inherited.unknown {
                (s.tell)(Message::Warning(format!(
                    "run {run}'s weights descend from run {ancestor}, which records no dataset: \
                     its people are unknown, and not left out"
                )));
            }
            if let Some(file) = &s.inherited.outside {
                (s.tell)(Message::Warning(format!(
                    "run {run}'s weights go back to --init '{file}', which no run of this lab \
                     is known to have written: whom those weights were trained on is unknown, \
                     and not left out"
                )));
            }
        }
        Ok(t)
    }

    /// `people run 52 trained on`, or `people runs 52 and 51 trained on (run 52's weights
    /// descend from run 51's)`.
    fn whose(&self, s: &Subject) -> String {
        let own = s.run.id;
        match &self.runs[..] {
            [_, ancestors @ ..] if !ancestors.is_empty() => {
                let all: Vec<String> = self.runs.iter().map(|r| r.to_string()).collect();
                let before: Vec<String> = ancestors.iter().map(|r| format!("run {r}'s")).collect();
                format!(
                    "people runs {} trained on (run {own}'s weights descend from {})",
                    and_list(&all),
                    and_list(&before)
                )
            }
            _ => format!("people run {own} trained on"),
        }
    }

    /// Records that these people were left out, and whose they were.
    fn record(&self, m: &mut Measured) {
        m.option("exclude_train_identities", true);
        let runs: Vec<i64> = self.runs.iter().map(|r| r.0).collect();
        m.option("excluded_runs", runs);
    }

    /// Warns, and records, when `present` (the people `what` holds) includes people the
    /// weights were trained on: the numbers are then not open-set.
    fn warn_present(&self, s: &Subject, m: &mut Measured, present: &HashSet<&str>, what: &str) {
        let seen = present.iter().filter(|p| self.people.contains(**p)).count();
        if seen > 0 {
            (s.tell)(Message::Warning(format!(
                "{seen} of the {} people in {what} are {}, so these numbers are not open-set; \
                 --exclude-train-identities leaves them out",
                present.len(),
                self.whose(s)
            )));
            m.option("train_identities_present", seen);
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The people of a dataset's training split.
fn train_people(d: &DatasetRecord) -> Result<Vec<String>> {
    // Their order, which split_items replays, does not matter here.
    Ok(split(d, "train")?
        .members
        .iter()
        .map(|m| m.identity.clone())
        .collect())
}

fn check_images_exist(spec: &DataSpec, items: &[ImageRef]) -> Result<()> {
    let present: HashSet<(String, String)> = data::list_images(spec)?
        .into_iter()
        .map(|i| (i.identity, i.file))
        .collect();
    let missing: Vec<String> = items
        .iter()
        .filter(|i| !present.contains(&(i.identity.clone(), i.file.clone())))
        .map(|i| format!("{}/{}", i.identity, i.file))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} of the {} images the pairs name are missing from '{spec}' (first: {}): \
             pass --data with the full LFW (lfw.tgz, or the folder holding Name/Name_0001.jpg)",
            missing.len(),
            items.len(),
            missing
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::Lab;

    /// Each person's images at a point of their own: a perfect embedding.
    fn by_identity(_: &DataSpec, items: &[ImageRef]) -> Result<Embeddings> {
        let vectors = items
            .iter()
            .map(|i| vec![i.identity.bytes().map(f32::from).sum(), 0.0])
            .collect();
        Embeddings::new(items.iter().map(|i| i.identity.clone()).collect(), vectors)
    }

    /// What a protocol told, as the tests compare it.
    fn told(m: Message) -> String {
        match m {
            Message::Note(n) => format!("note: {n}"),
            Message::Warning(w) => format!("warning: {w}"),
        }
    }

    /// What `protocol` measures for run 9, trained on `own` from weights that `inherited`
    /// says where they came from, and what it told on the way.
    fn measure_run_9(
        own: &DatasetRecord,
        inherited: &Inherited,
        exclude_train_identities: bool,
        protocol: impl FnOnce(&Subject) -> Result<Measured>,
    ) -> Result<(Measured, Vec<String>)> {
        let run = crate::lab::fixtures::run(9, "r", "resnet18");
        let said = std::cell::RefCell::new(Vec::new());
        let subject = Subject {
            run: &run,
            dataset: Some(own),
            inherited,
            embed: &by_identity,
            exclude_train_identities,
            tell: &|m| said.borrow_mut().push(told(m)),
        };
        let m = protocol(&subject)?;
        Ok((m, said.into_inner()))
    }

    /// The dataset of generated faces `spec` as the lab records it.
    fn recorded(spec: &str) -> Result<DatasetRecord> {
        recorded_split(spec, None)
    }

    /// The same, split after shuffling each person's images with `split_seed`.
    fn recorded_split(spec: &str, split_seed: Option<u64>) -> Result<DatasetRecord> {
        let opts = crate::data::ImportOptions {
            min_images: 1,
            split_seed,
            ..Default::default()
        };
        let manifest = crate::data::inspect(&spec.parse()?, &opts)?;
        let lab = Lab::open_in_memory()?;
        let id = lab.ensure_dataset(&crate::data::recorded::record(&manifest))?;
        lab.dataset(id)?.context("the dataset")
    }

    #[test]
    fn the_people_its_starting_weights_were_trained_on_are_left_out_too() -> Result<()> {
        // The run trained on 4 generated people; the run whose checkpoint it started from, on
        // 6 of the same seed (the same 4 and 2 more); another seed's 8 people are others, though
        // named as the 8 evaluated on.
        let own = recorded("synthetic:4:6:3")?;
        let inherited = Inherited {
            datasets: vec![
                (RunId(7), recorded("synthetic:6:6:3")?),
                (RunId(8), recorded("synthetic:8:6:4")?),
            ],
            unknown: vec![RunId(5)],
            outside: Some("/w/resnet18-f37072fd.pth".into()),
        };
        let faces = "synthetic:8:6:3".parse()?;
        let (m, said) = measure_run_9(&own, &inherited, true, |s| folder(s, &faces))?;
        assert_eq!(
            said[..3],
            [
                "warning: run 9's weights descend from run 5, which records no dataset: its \
                 people are unknown, and not left out",
                "warning: run 9's weights go back to --init '/w/resnet18-f37072fd.pth', which no \
                 run of this lab is known to have written: whom those weights were trained on \
                 is unknown, and not left out",
                "note: --exclude-train-identities: dropped 36 of 48 images, of people runs 9 \
                 and 7 trained on (run 9's weights descend from run 7's)",
            ]
        );
        assert_eq!(m.options["excluded_runs"], serde_json::json!([9, 7]));
        assert_eq!(m.options["dropped_images"], 36);
        Ok(())
    }

    #[test]
    fn test_images_an_ancestor_trained_on_are_warned_of() -> Result<()> {
        // The run's own split of 4 people; an ancestor trained on 6 of the same seed split
        // another way, so that its training images include some of the run's test images;
        // another ancestor, on the same images split as the run's; a third, on other faces.
        let own = recorded("synthetic:4:6:3")?;
        let inherited = Inherited {
            datasets: vec![
                (RunId(7), recorded_split("synthetic:6:6:3", Some(11))?),
                (RunId(6), recorded("synthetic:6:6:3")?),
                (RunId(8), recorded("synthetic:6:6:4")?),
            ],
            ..Default::default()
        };
        let (m, said) = measure_run_9(&own, &inherited, false, |s| test_split(s, None))?;
        let test = split(&own, "test")?.members.len();
        let seen = m.options["test_images_seen_by_ancestors"]
            .as_u64()
            .context("recorded")?;
        assert!(seen > 0 && seen as usize <= test, "{seen} of {test}");
        assert_eq!(said.len(), 1, "{said:#?}");
        assert!(
            said[0].contains(&format!(
                "{seen} of run 9's {test} test images were training images of run 7, whose \
                 weights it descends from"
            )),
            "{said:#?}"
        );
        Ok(())
    }

    #[test]
    fn a_folder_of_trained_people_is_told_before_the_embedding_and_recorded() -> Result<()> {
        let faces = "synthetic:4:6:3";
        let record = recorded(faces)?;
        let run = crate::lab::fixtures::run(1, "r", "resnet18");
        let said = std::cell::RefCell::new(Vec::new());
        let embed = |spec: &DataSpec, items: &[ImageRef]| -> Result<Embeddings> {
            said.borrow_mut().push("embedded".to_string());
            by_identity(spec, items)
        };
        let subject = Subject {
            run: &run,
            dataset: Some(&record),
            inherited: &Inherited::default(),
            embed: &embed,
            exclude_train_identities: false,
            tell: &|m| said.borrow_mut().push(told(m)),
        };
        let m = folder(&subject, &faces.parse()?)?;
        let said = said.into_inner();
        assert_eq!(said.len(), 3, "{said:#?}");
        assert!(
            said[0].starts_with(
                "warning: 4 of the 4 people in 'synthetic:4:6:3' are people run 1 trained on"
            ),
            "{said:#?}"
        );
        assert_eq!(said[1], "embedded");
        assert!(
            said[2].starts_with(
                "note: verification of 60 same- and 60 different-person pairs in 10 folds"
            ),
            "{said:#?}"
        );
        assert_eq!(m.protocol, Protocol::Folder);
        assert_eq!(m.options["train_identities_present"], 4);
        let metric = |name: &str| m.metrics.iter().find(|x| x.name == name).map(|x| x.value);
        assert_eq!(metric("verification_accuracy_mean"), Some(1.0));
        assert_eq!(metric("top1_one_per_identity"), Some(1.0));
        assert!(m.roc.is_some());
        Ok(())
    }

    #[test]
    fn train_members_come_back_in_the_order_training_saw_them() -> Result<()> {
        for split_seed in [None, Some(5)] {
            let opts = crate::data::ImportOptions {
                split_seed,
                image_size: 16,
                ..Default::default()
            };
            let manifest = crate::data::inspect(&"synthetic:5:9".parse()?, &opts)?;
            // Through the lab, which keeps members sorted by name.
            let lab = Lab::open_in_memory()?;
            let id = lab.ensure_dataset(&crate::data::recorded::record(&manifest))?;
            let record = lab.dataset(id)?.context("dataset")?;
            let trained: Vec<(String, String)> = manifest
                .train
                .members
                .iter()
                .map(|m| (m.identity.clone(), m.file.clone()))
                .collect();
            let replayed: Vec<(String, String)> = split_items(&record, "train")?
                .into_iter()
                .map(|i| (i.identity, i.file))
                .collect();
            assert_eq!(replayed, trained, "split seed {split_seed:?}");
            if split_seed.is_some() {
                // A member recorded in a split where the rule would not put it (a lab from an
                // older rule): refused, not sorted first, which would change the seed's gallery.
                let mut moved = record.clone();
                let dev = moved
                    .splits
                    .iter()
                    .position(|s| s.name == "dev")
                    .context("dev")?;
                let member = moved.splits[dev].members.remove(0);
                let train = moved
                    .splits
                    .iter()
                    .position(|s| s.name == "train")
                    .context("train")?;
                moved.splits[train].members.push(member.clone());
                let err = split_items(&moved, "train").unwrap_err().to_string();
                assert!(
                    err.contains(&format!("{}/{}", member.identity, member.file))
                        && err.contains("does not put it"),
                    "{err}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn missing_pair_images_are_named() -> Result<()> {
        let dir = tempfile::tempdir()?;
        for (who, n) in [("Bob", 2), ("Ann", 1)] {
            std::fs::create_dir(dir.path().join(who))?;
            for k in 1..=n {
                std::fs::write(dir.path().join(who).join(format!("{who}_{k:04}.jpg")), b"")?;
            }
        }
        let spec = DataSpec::Path(dir.path().to_path_buf());
        let mut wanted = vec![ImageRef::lfw("Ann", 1), ImageRef::lfw("Bob", 2)];
        check_images_exist(&spec, &wanted)?;
        wanted.push(ImageRef::lfw("Cy", 1));
        let err = check_images_exist(&spec, &wanted).unwrap_err().to_string();
        assert!(
            err.contains("1 of the 3 images") && err.contains("Cy/Cy_0001.jpg"),
            "{err}"
        );
        Ok(())
    }
}
