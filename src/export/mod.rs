//! Export: runs and their metrics for other tools (pandas, R, a spreadsheet), as long-form CSV,
//! a CSV of one row per run, or as JSON with each run's configuration, series, checkpoints,
//! evaluations and resumes, and the runs' datasets.

mod csv;
mod json;

use anyhow::Result;

use crate::lab::{now, Lab, Run};

pub use csv::{to_csv, to_runs_csv, CSV_HEADER, RUNS_CSV_HEADER};
pub use json::{to_json, Export, ExportedRun, EXPORT_FORMAT, EXPORT_VERSION};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One row per metric point, each with the run's hyperparameters and dataset; its time
    /// both as `wall_time` (when it was recorded) and `elapsed_s` (seconds of training by then).
    Csv,
    /// One row per run: its hyperparameters, dataset and what it reached (best and final
    /// accuracies, test and LFW accuracy, whether LFW was grayscale, speed, times), as `runs`
    /// shows them, at full precision.
    RunsCsv,
    /// Each run whole: its record, config (parsed), resumes, metrics, checkpoints and
    /// evaluations, and the datasets (splits, hashes, members) the runs trained on.
    Json,
}

/// The export of `runs` in `format`, as the bytes to write; `metrics`, where not empty, the
/// only metrics whose points the CSV of points holds.
pub fn export(
    lab: &Lab,
    runs: &[Run],
    format: ExportFormat,
    metrics: &[String],
) -> Result<Vec<u8>> {
    let now = now();
    if !metrics.is_empty() && format != ExportFormat::Csv {
        anyhow::bail!(
            "--metric picks points of --format csv; runs-csv has no points, and json keeps each \
             run whole"
        );
    }
    match format {
        ExportFormat::Csv => Ok(to_csv(lab, runs, now, metrics)?.into_bytes()),
        ExportFormat::RunsCsv => Ok(to_runs_csv(lab, runs, now)?.into_bytes()),
        ExportFormat::Json => Ok(to_json(lab, runs, now)?.into_bytes()),
    }
}
