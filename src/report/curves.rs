//! The series a report draws, read once per run, and runs grouped by configuration so that
//! repeats with different seeds become one mean ± std curve.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::eval::identification::metric::TOP1_SEED_GALLERY;
use crate::eval::verification::metric::{ACCURACY_MEAN, ACCURACY_STD};
use crate::lab::{metric, Evaluation, Lab, Protocol, Run, SeriesPoint};

/// One run with the series its figures and table row need.
#[derive(Clone, Debug)]
pub struct RunCurves {
    pub run: Run,
    pub train_acc: Vec<SeriesPoint>,
    pub dev_acc: Vec<SeriesPoint>,
    pub train_loss: Vec<SeriesPoint>,
    /// Test-split accuracy (the seed's gallery) of the latest `eval` on the test split.
    pub test_acc: Option<f64>,
    /// LFW View 2 verification accuracy (mean, std) of the latest `eval --pairs` that kept every
    /// pair (not `--exclude-train-identities`, whose number is not comparable with others').
    pub lfw_pairs: Option<(f64, f64)>,
}

impl RunCurves {
    pub fn load(lab: &Lab, run: &Run) -> Result<RunCurves> {
        let evaluations = lab.evaluations(run.id)?;
        let latest = |p: Protocol| evaluations.iter().rev().find(|e| e.protocol == p);
        Ok(RunCurves {
            train_acc: lab.series(run.id, metric::TRAIN_ACC)?,
            dev_acc: lab.series(run.id, metric::DEV_ACC)?,
            train_loss: lab.series(run.id, metric::TRAIN_LOSS)?,
            test_acc: latest(Protocol::TestSplit).and_then(|e| e.metric(TOP1_SEED_GALLERY)),
            lfw_pairs: evaluations
                .iter()
                .rev()
                .find(|e| e.protocol == Protocol::LfwPairs && !excludes_pairs(e))
                .and_then(|e| Some((e.metric(ACCURACY_MEAN)?, e.metric(ACCURACY_STD)?))),
            run: run.clone(),
        })
    }

    /// `#12 resnet18 32/128`: short enough for a legend, enough to tell rows of the table apart.
    pub fn label(&self) -> String {
        format!("#{} {}", self.run.id, config_label(&self.run))
    }
}

/// Whether an LFW-pairs evaluation left out some of the protocol's pairs.
fn excludes_pairs(e: &Evaluation) -> bool {
    e.options.get("exclude_train_identities") == Some(&serde_json::Value::Bool(true))
}

/// `resnet18 32/128` (batch/embedding dimension), the seed repository's way of naming a row.
pub fn config_label(run: &Run) -> String {
    let h = &run.hyper;
    format!("{} {}/{}", h.model, h.batch_size, h.embedding_dim)
}

/// Everything that makes two runs the same experiment: all hyperparameters but the seed, and
/// the dataset.
fn config_key(run: &Run) -> String {
    let mut hyper = run.hyper.clone();
    hyper.seed = 0;
    // Hyperparams serialises field by field in declaration order: a stable key.
    let hyper = serde_json::to_string(&hyper).unwrap_or_default();
    format!("{hyper}|{:?}", run.dataset_id.map(|d| d.0))
}

/// Runs grouped by [`config_key`], groups in order of their first run, runs in input order.
pub fn group_by_config(curves: &[RunCurves]) -> Vec<Vec<&RunCurves>> {
    let mut groups: Vec<(String, Vec<&RunCurves>)> = Vec::new();
    for c in curves {
        let key = config_key(&c.run);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(c),
            None => groups.push((key, vec![c])),
        }
    }
    groups.into_iter().map(|(_, m)| m).collect()
}

/// Mean and sample standard deviation across series, at the iterations every series has
/// (a crashed repeat shortens the band instead of making the mean jump). Where a series holds
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
    fn the_table_takes_lfw_pairs_from_the_full_protocol_not_a_later_exclusion() -> Result<()> {
        use crate::lab::{CodeVersion, EvalMetric, NewEvaluation};
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&crate::tui::fixtures::new_run("r"))?;
        let lfw = |mean: f64, options: serde_json::Value| NewEvaluation {
            run: id,
            checkpoint_id: None,
            checkpoint_iteration: None,
            protocol: Protocol::LfwPairs,
            data_source: "pairs.txt + lfw.tgz".into(),
            options,
            metrics: vec![
                EvalMetric::new(ACCURACY_MEAN, mean),
                EvalMetric::new(ACCURACY_STD, 0.02),
            ],
            code: CodeVersion::current(),
        };
        let run = lab.run(id)?.expect("run");
        assert_eq!(RunCurves::load(&lab, &run)?.lfw_pairs, None);
        lab.add_evaluation(&lfw(0.70, serde_json::json!({"flip": false})))?;
        lab.add_evaluation(&lfw(
            0.69,
            serde_json::json!({"exclude_train_identities": true, "dropped_pairs": 136}),
        ))?;
        assert_eq!(RunCurves::load(&lab, &run)?.lfw_pairs, Some((0.70, 0.02)));
        lab.add_evaluation(&lfw(0.72, serde_json::json!({"flip": true})))?;
        assert_eq!(RunCurves::load(&lab, &run)?.lfw_pairs, Some((0.72, 0.02)));
        Ok(())
    }

    #[test]
    fn a_resumed_run_counts_its_later_value() {
        let a = pts(&[(10, 0.1), (10, 0.5)]);
        assert_eq!(mean_std(&[&a]), vec![(10.0, 0.5, 0.0)]);
    }
}
