//! JSON export: every run as the lab records it, with its effective status, its configuration
//! parsed, its metric series by name, its checkpoints and its evaluations (test split, LFW
//! View 2, folders) with their metrics; and the datasets the runs trained on, each with its
//! splits, their hashes and every member's sha256. Every metric value is a number: the lab
//! records only finite ones (see [`Lab::record`]).

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::lab::{Checkpoint, DatasetRecord, Evaluation, Lab, Resume, Run, RunStatus, SeriesPoint};

/// Identifies the document, so that readers can check what they were given.
pub const EXPORT_FORMAT: &str = "facenet-lab-export";
/// 2: runs carry their checkpoints and evaluations. 3: their resumes, and the datasets they
/// trained on. 4: their epochs done. 5: each code version's `git_diff`, and each resume's
/// `heartbeat_before`. 6: each evaluation's `ran_on` (host, device, command line), each
/// resume's `log_before`. 7: each run's `duration_secs`.
pub const EXPORT_VERSION: u32 = 7;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub version: u32,
    pub runs: Vec<ExportedRun>,
    /// The datasets of the runs, by the `dataset_id` they give; absent before version 3.
    #[serde(default)]
    pub datasets: BTreeMap<i64, DatasetRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedRun {
    #[serde(flatten)]
    pub run: Run,
    /// The status to believe, as `runs --json` gives it: a "running" run whose heartbeat went
    /// stale has crashed.
    pub effective_status: RunStatus,
    /// Whole epochs trained, as `runs` counts them (`last_epoch` is the epoch of the last
    /// step, the one in progress); absent before version 4 (read as 0).
    #[serde(default)]
    pub epochs_done: i64,
    /// Seconds trained, pauses between a stop and its resume left out (to the export for a
    /// run still training), as `runs --json` gives it; None for a run that never started, and
    /// absent before version 7.
    #[serde(default)]
    pub duration_secs: Option<f64>,
    /// `config_json`, parsed (or kept as a string if it is not JSON).
    pub config: serde_json::Value,
    /// Metric name → points in iteration order.
    pub metrics: BTreeMap<String, Vec<SeriesPoint>>,
    /// In iteration order; absent from version 1 documents.
    #[serde(default)]
    pub checkpoints: Vec<Checkpoint>,
    /// Oldest first, each with its checkpoint, options and metrics; absent from version 1.
    #[serde(default)]
    pub evaluations: Vec<Evaluation>,
    /// Each time the run was resumed, oldest first, with what it ran on; absent before
    /// version 3.
    #[serde(default)]
    pub resumes: Vec<Resume>,
}

/// The JSON of `runs`, their statuses judged at `now` (seconds since the Unix epoch).
pub fn to_json(lab: &Lab, runs: &[Run], now: f64) -> Result<String> {
    let mut out = Export {
        format: EXPORT_FORMAT.into(),
        version: EXPORT_VERSION,
        runs: Vec::with_capacity(runs.len()),
        datasets: BTreeMap::new(),
    };
    for run in runs {
        if let Some(id) = run.dataset_id {
            if let std::collections::btree_map::Entry::Vacant(e) = out.datasets.entry(id.0) {
                if let Some(d) = lab.dataset(id)? {
                    e.insert(d);
                }
            }
        }
        let mut metrics = BTreeMap::new();
        for name in lab.metric_names(run.id)? {
            let series = lab.series(run.id, &name)?;
            metrics.insert(name, series);
        }
        out.runs.push(ExportedRun {
            config: serde_json::from_str(&run.config_json)
                .unwrap_or_else(|_| serde_json::Value::String(run.config_json.clone())),
            effective_status: run.effective_status(now),
            epochs_done: run.epochs_done(),
            duration_secs: run.duration(now),
            run: run.clone(),
            metrics,
            checkpoints: lab.checkpoints(run.id)?,
            evaluations: lab.evaluations(run.id)?,
            resumes: lab.resumes(run.id)?,
        });
    }
    let mut text = serde_json::to_string_pretty(&out)?;
    text.push('\n');
    Ok(text)
}
