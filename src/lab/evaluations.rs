//! Evaluations: a run's checkpoint measured under one protocol, with the options used and the
//! metrics obtained, and the code version that measured it.

use anyhow::{bail, Context, Result};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{now, CodeVersion, Lab, Run, RunId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EvaluationId(pub i64);

impl std::fmt::Display for EvaluationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What was measured, and on what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// Identification on the run's own test split.
    #[serde(rename = "test-split")]
    TestSplit,
    /// Verification on LFW View 2's 6,000 pairs.
    #[serde(rename = "lfw-pairs")]
    LfwPairs,
    /// Verification and identification on any folder of identities.
    #[serde(rename = "folder")]
    Folder,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::TestSplit, Protocol::LfwPairs, Protocol::Folder];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::TestSplit => "test-split",
            Protocol::LfwPairs => "lfw-pairs",
            Protocol::Folder => "folder",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Protocol {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .with_context(|| format!("unknown evaluation protocol '{s}'"))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalMetric {
    pub name: String,
    pub value: f64,
}

impl EvalMetric {
    pub fn new(name: &str, value: f64) -> EvalMetric {
        EvalMetric {
            name: name.to_string(),
            value,
        }
    }
}

/// Where an evaluation ran: the host, the device that embedded the images (a GPU's rounding is
/// not a CPU's), and the command that asked for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RanOn {
    pub hostname: String,
    /// `cpu`, or the GPU's name.
    pub device: String,
    pub command_line: String,
}

impl RanOn {
    /// This host and this process's command line, on `device`.
    pub fn here(device: impl Into<String>) -> RanOn {
        RanOn {
            hostname: super::this_host(),
            device: device.into(),
            command_line: crate::format::this_command_line(),
        }
    }
}

/// An evaluation to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvaluation {
    pub run: RunId,
    /// The checkpoint evaluated; it must belong to `run`.
    pub checkpoint_id: Option<i64>,
    /// Its iteration and the sha256 of the weights evaluated; the checkpoint's, when not given.
    pub checkpoint_iteration: Option<i64>,
    pub checkpoint_sha256: Option<String>,
    pub protocol: Protocol,
    /// The pairs file and image folder, the folder, or the dataset the test split came from.
    pub data_source: String,
    /// Everything that changes the numbers: flip, excluded identities and dropped pairs,
    /// FAR target, pair sampling seed.
    pub options: serde_json::Value,
    pub metrics: Vec<EvalMetric>,
    pub code: CodeVersion,
    pub ran_on: RanOn,
}

/// A recorded evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub id: EvaluationId,
    pub run: RunId,
    pub checkpoint_id: Option<i64>,
    pub checkpoint_iteration: Option<i64>,
    /// Which weights were evaluated: the link and the iteration outlive a checkpoint's row,
    /// this tells whether a checkpoint written since at that iteration holds the same bytes.
    /// None for evaluations whose checkpoint was gone when the lab began to keep it.
    pub checkpoint_sha256: Option<String>,
    pub protocol: Protocol,
    pub data_source: String,
    pub options: serde_json::Value,
    /// Sorted by name.
    pub metrics: Vec<EvalMetric>,
    pub code: CodeVersion,
    /// None for evaluations recorded before the lab kept it (schema v24).
    #[serde(default)]
    pub ran_on: Option<RanOn>,
    pub created_at: f64,
}

impl Evaluation {
    /// The value of metric `name`, if it was recorded.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }

    /// How many pairs (LFW) or images (a folder) `--exclude-train-identities` left out, where
    /// it was given; none left out, it measured them all.
    pub fn dropped(&self) -> Option<u64> {
        let option = |name: &str| self.options.get(name).and_then(|v| v.as_u64());
        option("dropped_pairs").or_else(|| option("dropped_images"))
    }

    /// Whether `--exclude-train-identities` left someone out (one that dropped none measured
    /// them all).
    pub fn left_out(&self) -> bool {
        self.options.get("exclude_train_identities") == Some(&serde_json::Value::Bool(true))
            && self.dropped() != Some(0)
    }

    /// Whether every image it measured was a grayscale JPEG (`images_colour`; evaluations
    /// recorded before the lab kept it do not say).
    pub fn grayscale(&self) -> bool {
        self.options
            .as_object()
            .is_some_and(Evaluation::grayscale_options)
    }

    /// [`Evaluation::grayscale`] of an evaluation whose `options` are these: read here alone, so
    /// that a ROC's title and the results table's `(gray)` never disagree.
    pub fn grayscale_options(options: &serde_json::Map<String, serde_json::Value>) -> bool {
        options.get("images_colour").and_then(|c| c.as_str()) == Some("grayscale")
    }

    /// Whether the pairs were those of View 2's official pairs file: evaluations from before
    /// its sha256 was recorded all read that file.
    pub fn official_pairs(&self) -> bool {
        self.options
            .get("pairs_sha256")
            .is_none_or(|sha| sha.as_str() == Some(crate::eval::pairs::VIEW2_SHA256))
    }
}

impl Lab {
    /// Records an evaluation and its metrics in one transaction. A checkpoint whose row is no
    /// longer in the lab is linked to the run's row that holds the same weights (the sha256 the
    /// evaluation names, at its iteration: a merge refreshed the run, a replay wrote them
    /// again); where none does (a run still training replaced its best while the evaluation
    /// ran), it is recorded as one deleted afterwards would be: no link, its iteration kept. An
    /// id the lab never gave is refused.
    pub fn add_evaluation(&self, e: &NewEvaluation) -> Result<EvaluationId> {
        if let Some(m) = e.metrics.iter().find(|m| !m.value.is_finite()) {
            bail!(
                "metric '{}' is {}: only finite values can be recorded (the evaluation went wrong \
                 before this point)",
                m.name,
                m.value
            );
        }
        let mut names: Vec<&str> = e.metrics.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!("metric '{}' is given twice for one evaluation", w[0]);
        }
        let tx = self.write_tx()?;
        let mut checkpoint_id = e.checkpoint_id;
        let mut sha256 = e.checkpoint_sha256.clone();
        let mut iteration = e.checkpoint_iteration;
        if let Some(ck) = e.checkpoint_id {
            let owner: Option<(i64, String, i64)> = tx
                .query_row(
                    "SELECT run_id, sha256, iteration FROM checkpoints WHERE id = ?1",
                    [ck],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match owner {
                Some((r, sha, it)) if r == e.run.0 => {
                    sha256.get_or_insert(sha);
                    iteration.get_or_insert(it);
                }
                Some((r, ..)) => bail!(
                    "checkpoint {ck} belongs to run {r}, not to run {}: refusing to record a \
                     mislinked evaluation",
                    e.run
                ),
                // Ids are never reused (AUTOINCREMENT): one at or below the highest ever
                // given was there and is gone; any other never was.
                None => {
                    let highest: i64 = tx
                        .query_row(
                            "SELECT seq FROM sqlite_sequence WHERE name = 'checkpoints'",
                            [],
                            |r| r.get(0),
                        )
                        .optional()?
                        .unwrap_or(0);
                    if ck > highest {
                        bail!("no checkpoint with id {ck} in this lab");
                    }
                    checkpoint_id = None;
                }
            }
        }
        tx.execute(
            "INSERT INTO evaluations (run_id, checkpoint_id, checkpoint_iteration, protocol,
                data_source, options_json, git_commit, git_dirty, crate_version, created_at,
                checkpoint_sha256, git_diff, hostname, device, command_line)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                e.run.0,
                checkpoint_id,
                iteration,
                e.protocol.as_str(),
                e.data_source,
                serde_json::to_string(&e.options)?,
                e.code.git_commit,
                e.code.git_dirty,
                e.code.crate_version,
                now(),
                sha256,
                e.code.git_diff,
                e.ran_on.hostname,
                e.ran_on.device,
                e.ran_on.command_line,
            ],
        )
        .with_context(|| format!("recording an evaluation of run {}", e.run))?;
        let id = EvaluationId(tx.last_insert_rowid());
        // Gone from its row, not always from the run: a merge that refreshed the run meanwhile,
        // or a replay that wrote the same weights again, holds them under another id, found as
        // a checkpoint written later finds the evaluations of its weights.
        if e.checkpoint_id.is_some() && checkpoint_id.is_none() {
            super::checkpoints::relink_lost(&tx, e.run.0)?;
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO evaluation_metrics (evaluation_id, name, value) VALUES (?1, ?2, ?3)",
            )?;
            for m in &e.metrics {
                insert.execute(params![id.0, m.name, m.value])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// A run's evaluations, oldest first, with their metrics.
    pub fn evaluations(&self, run: RunId) -> Result<Vec<Evaluation>> {
        self.load_evaluations(Some(run))
    }

    /// The evaluations of `run`, or of every run, oldest first, with their metrics: two
    /// queries whatever their number.
    fn load_evaluations(&self, run: Option<RunId>) -> Result<Vec<Evaluation>> {
        let run = run.map(|r| r.0);
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, run_id, checkpoint_id, checkpoint_iteration, protocol, data_source,
                    options_json, git_commit, git_dirty, crate_version, created_at,
                    checkpoint_sha256, git_diff, hostname, device, command_line
             FROM evaluations WHERE ?1 IS NULL OR run_id = ?1 ORDER BY id",
        )?;
        let mut evals = stmt
            .query_map([run], |r| {
                let protocol: String = r.get(4)?;
                let options: String = r.get(6)?;
                let bad = |i, e: anyhow::Error| {
                    rusqlite::Error::FromSqlConversionFailure(
                        i,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                };
                Ok(Evaluation {
                    id: EvaluationId(r.get(0)?),
                    run: RunId(r.get(1)?),
                    checkpoint_id: r.get(2)?,
                    checkpoint_iteration: r.get(3)?,
                    checkpoint_sha256: r.get(11)?,
                    protocol: protocol.parse().map_err(|e| bad(4, e))?,
                    data_source: r.get(5)?,
                    options: serde_json::from_str(&options).map_err(|e| bad(6, e.into()))?,
                    metrics: Vec::new(),
                    code: CodeVersion::from_row(r)?,
                    ran_on: match (r.get(13)?, r.get(14)?, r.get(15)?) {
                        (Some(hostname), Some(device), Some(command_line)) => Some(RanOn {
                            hostname,
                            device,
                            command_line,
                        }),
                        _ => None,
                    },
                    created_at: r.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let index: std::collections::HashMap<i64, usize> =
            evals.iter().enumerate().map(|(i, e)| (e.id.0, i)).collect();
        let mut metrics = self.conn.prepare_cached(
            "SELECT m.evaluation_id, m.name, m.value FROM evaluation_metrics m
               JOIN evaluations e ON e.id = m.evaluation_id
             WHERE ?1 IS NULL OR e.run_id = ?1 ORDER BY m.evaluation_id, m.name",
        )?;
        let rows = metrics.query_map([run], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                EvalMetric {
                    name: r.get(1)?,
                    value: r.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (id, metric) = row?;
            if let Some(&i) = index.get(&id) {
                evals[i].metrics.push(metric);
            }
        }
        Ok(evals)
    }
}

/// The evaluation under `protocol` that a run's table row shows, so that the columns of one row
/// measure the same weights the same way: an evaluation of the run's best checkpoint (the one
/// `eval` picks by default), at its `(iteration, sha256)` (a best written again at that
/// iteration after a resume may hold other weights), without `--flip` and with every pair or
/// image ([`measured_whole`]: `--exclude-train-identities` drops some, which makes the numbers
/// incomparable across runs); the newest of those when there are several. `None` when the run has no best
/// checkpoint or no such evaluation.
pub fn table_evaluation<'a>(
    evaluations: &'a [Evaluation],
    best: Option<(i64, &str)>,
    protocol: Protocol,
) -> Option<&'a Evaluation> {
    let (iteration, sha256) = best?;
    evaluations
        .iter()
        .filter(|e| {
            e.protocol == protocol
                && e.checkpoint_iteration == Some(iteration)
                && e.checkpoint_sha256.as_deref() == Some(sha256)
                && !option_set(e, "flip")
                && measured_whole(e)
        })
        .max_by(|a, b| a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id)))
}

/// Whether the evaluation measured all its protocol has: on LFW, the 6,000 pairs of the official
/// View 2 file (evaluations from before its sha256 was recorded all read that file), whatever
/// `--exclude-train-identities` was given (one that dropped none, as for a run trained on
/// generated faces, measured them all).
fn measured_whole(e: &Evaluation) -> bool {
    // An older LFW evaluation that did not record its pairs read all of View 2's.
    let all_pairs = e.protocol != Protocol::LfwPairs
        || (e.official_pairs()
            && e.options
                .get("pairs")
                .is_none_or(|n| n.as_u64() == Some(6000)));
    !e.left_out() && all_pairs
}

/// Whether the evaluation was run with the boolean option `name` on (older evaluations that do
/// not record an option ran without it).
fn option_set(e: &Evaluation, name: &str) -> bool {
    e.options.get(name) == Some(&serde_json::Value::Bool(true))
}

impl Lab {
    /// Fills each run's headline numbers (`test_acc`, `lfw_acc`, `lfw_acc_std`) from the
    /// [`table_evaluation`]s of its best checkpoint (the `best` one at the highest iteration, as
    /// `eval` picks it): three queries, whatever the number of runs, since the dashboard lists
    /// them at every poll. `only`: the one run in `runs`, whose evaluations alone are read.
    pub(super) fn fill_headlines(&self, runs: &mut [Run], only: Option<RunId>) -> Result<()> {
        use crate::eval::identification::metric::TOP1_SEED_GALLERY;
        use crate::eval::verification::metric::{ACCURACY_MEAN, ACCURACY_STD};
        let evaluations = self.load_evaluations(only)?;
        if evaluations.is_empty() {
            return Ok(());
        }
        // With max(), SQLite takes the bare column (sha256) from the row holding the maximum.
        let best: std::collections::HashMap<i64, (i64, String)> = self
            .conn
            .prepare_cached(
                "SELECT run_id, max(iteration), sha256 FROM checkpoints
                 WHERE kind = 'best' AND (?1 IS NULL OR run_id = ?1) GROUP BY run_id",
            )?
            .query_map([only.map(|r| r.0)], |r| {
                Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut by_run: std::collections::HashMap<i64, Vec<Evaluation>> = Default::default();
        for e in evaluations {
            by_run.entry(e.run.0).or_default().push(e);
        }
        for run in runs.iter_mut() {
            let Some(evaluations) = by_run.get(&run.id.0) else {
                continue;
            };
            let at = best.get(&run.id.0).map(|(it, sha)| (*it, sha.as_str()));
            let chosen = |p| table_evaluation(evaluations, at, p);
            run.test_acc = chosen(Protocol::TestSplit).and_then(|e| e.metric(TOP1_SEED_GALLERY));
            let lfw = chosen(Protocol::LfwPairs);
            run.lfw_acc = lfw.and_then(|e| e.metric(ACCURACY_MEAN));
            run.lfw_acc_std = lfw.and_then(|e| e.metric(ACCURACY_STD));
            run.lfw_grayscale = lfw.is_some_and(Evaluation::grayscale);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::sample_run;
    use crate::lab::NewCheckpoint;

    fn checkpoint(lab: &Lab, run: RunId, iteration: i64) -> Result<i64> {
        lab.add_checkpoint(&NewCheckpoint {
            run,
            iteration,
            epoch: 1,
            kind: "best".into(),
            path: format!("ck/{iteration}.safetensors"),
            sha256: "cd".repeat(32),
        })
    }

    fn lfw_eval(run: RunId, checkpoint_id: Option<i64>) -> NewEvaluation {
        NewEvaluation {
            run,
            checkpoint_id,
            checkpoint_iteration: Some(400),
            checkpoint_sha256: None,
            protocol: Protocol::LfwPairs,
            data_source: "/data/pairs.txt + /data/lfw".into(),
            options: serde_json::json!({"flip": true, "exclude_train_identities": true, "dropped_pairs": 37}),
            metrics: vec![
                EvalMetric::new("verification_accuracy_mean", 0.81),
                EvalMetric::new("eer", 0.2),
            ],
            code: CodeVersion::current(),
            ran_on: crate::lab::RanOn::here("cpu"),
        }
    }

    #[test]
    fn evaluations_are_recorded_and_read_back_with_their_metrics() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&sample_run("r"))?;
        let other = lab.create_run(&sample_run("other"))?;
        let ck = checkpoint(&lab, run, 400)?;
        let id = lab.add_evaluation(&lfw_eval(run, Some(ck)))?;
        let test_split = NewEvaluation {
            protocol: Protocol::TestSplit,
            checkpoint_id: None,
            checkpoint_iteration: None,
            checkpoint_sha256: None,
            options: serde_json::json!({}),
            metrics: vec![EvalMetric::new("top1_seed_gallery", 0.5)],
            ..lfw_eval(run, None)
        };
        lab.add_evaluation(&test_split)?;
        lab.add_evaluation(&lfw_eval(other, None))?;

        let evals = lab.evaluations(run)?;
        assert_eq!(evals.len(), 2);
        let e = &evals[0];
        assert_eq!(
            (
                e.id,
                e.run,
                e.checkpoint_id,
                e.checkpoint_iteration,
                e.protocol
            ),
            (id, run, Some(ck), Some(400), Protocol::LfwPairs)
        );
        assert_eq!(e.options["dropped_pairs"], 37);
        assert_eq!(
            e.metrics,
            vec![
                EvalMetric::new("eer", 0.2),
                EvalMetric::new("verification_accuracy_mean", 0.81)
            ],
            "sorted by name"
        );
        assert_eq!(e.metric("eer"), Some(0.2));
        assert_eq!(e.code, CodeVersion::current());
        assert_eq!(evals[1].protocol, Protocol::TestSplit);
        assert_eq!(lab.evaluations(other)?.len(), 1);
        Ok(())
    }

    #[test]
    fn mislinked_or_unrecordable_evaluations_are_refused_whole() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&sample_run("r"))?;
        let other = lab.create_run(&sample_run("other"))?;
        let foreign = checkpoint(&lab, other, 10)?;
        let err = lab
            .add_evaluation(&lfw_eval(run, Some(foreign)))
            .unwrap_err();
        assert!(
            err.to_string().contains("belongs to run 2, not to run 1"),
            "{err}"
        );
        let err = lab.add_evaluation(&lfw_eval(run, Some(999))).unwrap_err();
        assert!(
            err.to_string().contains("no checkpoint with id 999"),
            "{err}"
        );
        let mut nan = lfw_eval(run, None);
        nan.metrics.push(EvalMetric::new("roc_auc", f64::NAN));
        let err = lab.add_evaluation(&nan).unwrap_err();
        assert!(err.to_string().contains("'roc_auc' is NaN"), "{err}");
        let mut twice = lfw_eval(run, None);
        twice.metrics.push(EvalMetric::new("eer", 0.3));
        let err = lab.add_evaluation(&twice).unwrap_err();
        assert!(err.to_string().contains("'eer' is given twice"), "{err}");
        assert!(
            lab.add_evaluation(&lfw_eval(RunId(42), None)).is_err(),
            "foreign key to runs is enforced"
        );
        assert!(lab.evaluations(run)?.is_empty(), "nothing half-written");
        Ok(())
    }

    #[test]
    fn deleting_a_checkpoint_row_keeps_the_evaluation_and_its_iteration() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&sample_run("r"))?;
        let ck = checkpoint(&lab, run, 400)?;
        lab.add_evaluation(&lfw_eval(run, Some(ck)))?;
        lab.conn()
            .execute("DELETE FROM checkpoints WHERE id = ?1", [ck])?;
        let e = &lab.evaluations(run)?[0];
        assert_eq!((e.checkpoint_id, e.checkpoint_iteration), (None, Some(400)));
        // Deleted before the evaluation is recorded (the run replaced it meanwhile): the same.
        lab.add_evaluation(&lfw_eval(run, Some(ck)))?;
        let e = &lab.evaluations(run)?[1];
        assert_eq!((e.checkpoint_id, e.checkpoint_iteration), (None, Some(400)));

        // The same weights under a new row (a merge refreshed the run while it was evaluated):
        // the first evaluation, which knew their sha256, follows them; one that names its row
        // alone cannot.
        let again = checkpoint(&lab, run, 400)?;
        let linked = |lab: &Lab| -> Result<Vec<Option<i64>>> {
            Ok(lab
                .evaluations(run)?
                .iter()
                .map(|e| e.checkpoint_id)
                .collect())
        };
        assert_eq!(linked(&lab)?, [Some(again), None]);
        let knowing = NewEvaluation {
            checkpoint_sha256: Some("cd".repeat(32)),
            ..lfw_eval(run, Some(ck))
        };
        lab.add_evaluation(&knowing)?;
        lab.add_evaluation(&lfw_eval(run, Some(ck)))?;
        assert_eq!(linked(&lab)?, [Some(again), None, Some(again), None]);
        // Other weights at that iteration are not these.
        let other = NewEvaluation {
            checkpoint_sha256: Some("ef".repeat(32)),
            ..lfw_eval(run, Some(ck))
        };
        lab.add_evaluation(&other)?;
        assert_eq!(linked(&lab)?.last(), Some(&None));
        Ok(())
    }

    #[test]
    fn the_table_shows_the_best_checkpoints_plain_evaluations_newest_first() -> Result<()> {
        use crate::eval::identification::metric::TOP1_SEED_GALLERY;
        use crate::eval::verification::metric::{ACCURACY_MEAN, ACCURACY_STD};
        use crate::lab::NewCheckpoint;
        use serde_json::json;
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&crate::lab::fixtures::new_run("r"))?;
        let checkpoint = |iteration: i64, kind: &str| -> Result<i64> {
            lab.add_checkpoint(&NewCheckpoint {
                run: id,
                iteration,
                epoch: iteration / 10,
                kind: kind.into(),
                path: format!("{kind}.safetensors"),
                sha256: format!("{iteration:064}"),
            })
        };
        let best = checkpoint(150, "best")?;
        let last = checkpoint(200, "final")?;
        let add = |ck: i64, iteration: i64, protocol: Protocol, value: f64, options| {
            let metrics = match protocol {
                Protocol::TestSplit => vec![EvalMetric::new(TOP1_SEED_GALLERY, value)],
                _ => vec![
                    EvalMetric::new(ACCURACY_MEAN, value),
                    EvalMetric::new(ACCURACY_STD, 0.01),
                ],
            };
            lab.add_evaluation(&NewEvaluation {
                run: id,
                checkpoint_id: Some(ck),
                checkpoint_iteration: Some(iteration),
                checkpoint_sha256: None,
                protocol,
                data_source: "fixture".into(),
                options,
                metrics,
                code: CodeVersion::current(),
                ran_on: crate::lab::RanOn::here("cpu"),
            })
        };
        // What `runs`, the dashboard and the results table show for the run.
        // Test accuracy, and LFW accuracy's mean and std.
        type Shown = (Option<f64>, Option<(f64, f64)>);
        let load = || -> Result<Shown> {
            let r = lab.run(id)?.expect("run");
            let listed = lab
                .list_runs()?
                .into_iter()
                .find(|l| l.id == id)
                .expect("listed");
            assert_eq!(
                (r.test_acc, r.lfw_acc, r.lfw_acc_std),
                (listed.test_acc, listed.lfw_acc, listed.lfw_acc_std),
                "one run read alone or with the others"
            );
            Ok((r.test_acc, r.lfw_acc.zip(r.lfw_acc_std)))
        };
        assert_eq!(load()?, (None, None));

        // Run 5's committed order: best, then the final checkpoint on the test split.
        add(
            best,
            150,
            Protocol::TestSplit,
            0.714,
            json!({"flip": false}),
        )?;
        add(
            last,
            200,
            Protocol::TestSplit,
            0.729,
            json!({"flip": false}),
        )?;
        // The best checkpoint on LFW, then its variants, each newer than the plain one.
        add(best, 150, Protocol::LfwPairs, 0.746, json!({"flip": false}))?;
        add(last, 200, Protocol::LfwPairs, 0.760, json!({"flip": false}))?;
        add(
            best,
            150,
            Protocol::LfwPairs,
            0.741,
            json!({"exclude_train_identities": true, "dropped_pairs": 136}),
        )?;
        add(best, 150, Protocol::LfwPairs, 0.747, json!({"flip": true}))?;
        // A pairs file of one's own, and the official one cut short.
        add(
            best,
            150,
            Protocol::LfwPairs,
            0.748,
            json!({"pairs": 6000, "pairs_sha256": "0".repeat(64)}),
        )?;
        add(best, 150, Protocol::LfwPairs, 0.749, json!({"pairs": 600}))?;
        let (test, lfw) = load()?;
        assert_eq!(test, Some(0.714), "not the later final-checkpoint eval");
        assert_eq!(
            lfw,
            Some((0.746, 0.01)),
            "not final, exclusion, flip or other pairs"
        );
        // An exclusion that dropped no pair (a run trained on generated faces) measured all.
        add(
            best,
            150,
            Protocol::LfwPairs,
            0.745,
            json!({"exclude_train_identities": true, "dropped_pairs": 0, "pairs": 6000,
                   "pairs_sha256": crate::eval::pairs::VIEW2_SHA256}),
        )?;
        assert_eq!(load()?.1, Some((0.745, 0.01)));

        // A newer plain evaluation of the best checkpoint replaces the older one; an
        // evaluation without recorded options counts as plain.
        add(best, 150, Protocol::TestSplit, 0.700, json!({}))?;
        add(best, 150, Protocol::LfwPairs, 0.750, json!({"flip": false}))?;
        assert_eq!(load()?, (Some(0.700), Some((0.750, 0.01))));
        let gray = || -> Result<(bool, bool)> {
            let listed = lab.list_runs()?.into_iter().find(|l| l.id == id);
            Ok((
                lab.run(id)?.expect("run").lfw_grayscale,
                listed.expect("listed").lfw_grayscale,
            ))
        };
        assert_eq!(gray()?, (false, false), "its images' colours not recorded");
        // One on grayscale images says so: read alone or listed.
        add(
            best,
            150,
            Protocol::LfwPairs,
            0.751,
            json!({"images_colour": "grayscale"}),
        )?;
        assert_eq!(gray()?, (true, true));
        add(
            best,
            150,
            Protocol::LfwPairs,
            0.750,
            json!({"images_colour": "colour"}),
        )?;
        assert_eq!((load()?.1, gray()?), (Some((0.750, 0.01)), (false, false)));

        // A run resumed to a new best: the evaluations of the old best no longer describe it.
        checkpoint(250, "best")?;
        assert_eq!(load()?, (None, None));

        // Resumed from before its best, a run writes a best at that iteration again (as the
        // recorder does, in place of the row): of other weights (another device), the
        // evaluations of the first are not its; of the same bytes, they are, linked again.
        let again = |sha: &str| {
            lab.replace_checkpoints(&NewCheckpoint {
                run: id,
                iteration: 150,
                epoch: 15,
                kind: "best".into(),
                path: "best.safetensors".into(),
                sha256: sha.into(),
            })
        };
        lab.conn()
            .execute("DELETE FROM checkpoints WHERE kind = 'best'", [])?;
        again(&"f".repeat(64))?;
        assert_eq!(load()?, (None, None));
        let (replayed, _) = again(&format!("{:064}", 150))?;
        assert_eq!(load()?, (Some(0.700), Some((0.750, 0.01))));
        let linked = lab.evaluations(id)?;
        assert!(linked
            .iter()
            .filter(|e| e.checkpoint_iteration == Some(150))
            .all(|e| e.checkpoint_id == Some(replayed)));
        Ok(())
    }
}
