//! Long-form metrics: one row per (run, iteration, name). Writers batch many points into one
//! transaction; readers take one run's series off an index, or only the rows added since they
//! last looked.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{now, Lab, RunId, RunSummaryUpdate};

/// The middle value (the mean of the two middle ones for an even count) of the finite values;
/// `None` when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Mean and sample standard deviation (dividing by n - 1; 0 for one value); `None` for none.
pub fn mean_std(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Some((mean, var.sqrt()))
}

/// While a run trains, its speed is the median of its last this many steps: one step slowed by
/// an evaluation or a checkpoint does not show, and a run that crashes keeps a fair figure.
pub const RECENT_SPEED_STEPS: usize = 25;

/// The median of a run's per-step speeds, of its `last` steps or of all of them: its
/// `images_per_sec` while it trains ([`RECENT_SPEED_STEPS`]) and once it has ended (all).
/// Migration v10 runs it on labs of every earlier schema: it may read only the columns the
/// metrics table has had since v1.
pub(crate) fn median_speed(
    conn: &rusqlite::Connection,
    run: i64,
    last: Option<usize>,
) -> rusqlite::Result<Option<f64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT value FROM metrics WHERE run_id = ?1 AND name = 'images_per_sec'
         ORDER BY iteration DESC LIMIT ?2",
    )?;
    // SQLite reads a negative LIMIT as none.
    let limit = last.map_or(-1, |n| n as i64);
    let speeds = stmt
        .query_map(params![run, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<f64>>>()?;
    Ok(median(&speeds))
}

/// The losses of a run's latest epoch that has any (steps whose batch held no triplet record
/// none): that epoch, their sum and their count. A run's `last_loss` is their mean, so that it
/// reads as the epoch's loss rather than as one batch's, the last of an epoch often a small
/// remainder whose loss is 0 or a spike. Migration v28 runs it on labs of every earlier schema:
/// it may read only the columns the metrics table has had since v1.
pub(crate) fn epoch_losses(
    conn: &rusqlite::Connection,
    run: i64,
) -> rusqlite::Result<Option<(i64, f64, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT epoch, total(value), count(*) FROM metrics
         WHERE run_id = ?1 AND name = 'train_loss' AND epoch =
             (SELECT max(epoch) FROM metrics WHERE run_id = ?1 AND name = 'train_loss')
         GROUP BY epoch",
    )?;
    stmt.query_row([run], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
    })
    .optional()
}

/// The mean of [`epoch_losses`].
pub(crate) fn epoch_loss(conn: &rusqlite::Connection, run: i64) -> rusqlite::Result<Option<f64>> {
    Ok(epoch_losses(conn, run)?.map(|(_, sum, n)| sum / n as f64))
}

/// The names the trainer records.
pub mod metric {
    /// Mean triplet loss of the step's batch.
    pub const TRAIN_LOSS: &str = "train_loss";
    /// Fraction of the mined triplets with a non-zero loss.
    pub const ACTIVE_TRIPLETS: &str = "active_triplets";
    /// Mean anchor–positive distance over the batch's valid pairs.
    pub const DIST_AP: &str = "dist_ap";
    /// Mean anchor–negative distance over the batch's valid pairs.
    pub const DIST_AN: &str = "dist_an";
    pub const IMAGES_PER_SEC: &str = "images_per_sec";
    /// The learning rate of each trained step.
    pub const LR: &str = "lr";
    /// Batches with no valid triplet, counted since the start of the run.
    pub const SKIPPED_BATCHES: &str = "skipped_batches";
    /// The seed's accuracy: nearest identity, each identity represented by its first train image.
    pub const TRAIN_ACC: &str = "train_acc";
    pub const DEV_ACC: &str = "dev_acc";
    /// Dev accuracy against the mean train embedding of each identity.
    pub const DEV_ACC_CENTROID: &str = "dev_acc_centroid";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub iteration: i64,
    pub epoch: i64,
    pub name: String,
    pub value: f64,
    pub wall_time: f64,
}

impl MetricPoint {
    pub fn new(iteration: i64, epoch: i64, name: &str, value: f64) -> MetricPoint {
        MetricPoint {
            iteration,
            epoch,
            name: name.to_string(),
            value,
            wall_time: now(),
        }
    }
}

/// A metric row with its id, for incremental readers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub id: i64,
    pub run_id: RunId,
    pub iteration: i64,
    pub epoch: i64,
    pub name: String,
    pub value: f64,
    pub wall_time: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub iteration: i64,
    pub epoch: i64,
    pub value: f64,
    pub wall_time: f64,
}

impl Lab {
    /// Writes a batch of points, the run's summary and its heartbeat in one transaction.
    ///
    /// Every value must be finite (SQLite would store NaN as NULL): a batch holding NaN or an
    /// infinity is refused whole, before anything is written, with an error naming the metric
    /// and the step, which the trainer records as the reason its run failed.
    pub fn record(
        &self,
        run: RunId,
        points: &[MetricPoint],
        summary: &RunSummaryUpdate,
    ) -> Result<()> {
        if let Some(p) = points.iter().find(|p| !p.value.is_finite()) {
            anyhow::bail!(
                "metric '{}' of run {run} became {} at iteration {} (epoch {}): the training \
                 diverged (lower --lr, or try --normalize); only finite values are recorded",
                p.name,
                p.value,
                p.iteration,
                p.epoch
            );
        }
        let tx = self.write_tx()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO metrics (run_id, iteration, epoch, name, value, wall_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for p in points {
                insert.execute(params![
                    run.0,
                    p.iteration,
                    p.epoch,
                    p.name,
                    p.value,
                    p.wall_time
                ])?;
            }
            let mut update = tx.prepare_cached(
                "UPDATE runs SET heartbeat_at = ?2,
                    last_iteration = ifnull(?3, last_iteration),
                    last_epoch = ifnull(?4, last_epoch),
                    last_loss = ifnull(?5, last_loss),
                    images_per_sec = ifnull(?6, images_per_sec),
                    final_train_acc = ifnull(?7, final_train_acc),
                    final_dev_acc = ifnull(?8, final_dev_acc),
                    best_dev_epoch = CASE WHEN ?10 IS NOT NULL AND (best_dev_acc IS NULL OR ?10 > best_dev_acc)
                                          THEN ?11 ELSE best_dev_epoch END,
                    best_dev_acc = CASE WHEN ?10 IS NOT NULL AND (best_dev_acc IS NULL OR ?10 > best_dev_acc)
                                        THEN ?10 ELSE best_dev_acc END
                 WHERE id = ?1",
            )?;
            let (train_acc, dev_acc, eval_epoch) = match summary.evaluation {
                Some((t, d, e)) => (Some(t), Some(d), Some(e)),
                None => (None, None, None),
            };
            // The best of the dev accuracies recorded with it (several, where evaluations waited
            // for a busy lab; the first on a tie), else the evaluation's.
            let best_point = points.iter().filter(|p| p.name == metric::DEV_ACC).fold(
                None,
                |best: Option<&MetricPoint>, p| match best {
                    Some(b) if b.value >= p.value => Some(b),
                    _ => Some(p),
                },
            );
            let (best_dev, best_epoch) = best_point
                .map(|p| (p.value, p.epoch))
                .or(summary.evaluation.map(|(_, d, e)| (d, e)))
                .unzip();
            let n = update.execute(params![
                run.0,
                now(),
                summary.last_iteration,
                summary.last_epoch,
                summary.last_loss,
                summary.images_per_sec,
                train_acc,
                dev_acc,
                eval_epoch,
                best_dev,
                best_epoch,
            ])?;
            if n == 0 {
                anyhow::bail!("no run with id {run} in this lab");
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The losses of the run's latest epoch that has any: that epoch, their sum and count
    /// ([`epoch_losses`]), from which a resumed run's recorder goes on.
    pub fn epoch_losses(&self, run: RunId) -> Result<Option<(i64, f64, u64)>> {
        Ok(epoch_losses(&self.conn, run.0)?)
    }

    /// The run's best dev accuracy of those recorded, and its epoch (the first, on a tie):
    /// where a resumed run's `--patience` counts from, whether or not its best checkpoint
    /// stayed.
    pub fn best_dev_recorded(&self, run: RunId) -> Result<Option<(f64, i64)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value, epoch FROM metrics WHERE run_id = ?1 AND name = 'dev_acc'
                 ORDER BY value DESC, iteration LIMIT 1",
                [run.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// One run's series of one metric, in iteration order.
    pub fn series(&self, run: RunId, name: &str) -> Result<Vec<SeriesPoint>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT iteration, epoch, value, wall_time FROM metrics
             WHERE run_id = ?1 AND name = ?2 ORDER BY iteration, id",
        )?;
        let rows = stmt
            .query_map(params![run.0, name], |r| {
                Ok(SeriesPoint {
                    iteration: r.get(0)?,
                    epoch: r.get(1)?,
                    value: r.get(2)?,
                    wall_time: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The metric names a run has recorded.
    pub fn metric_names(&self, run: RunId) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT name FROM metrics WHERE run_id = ?1 ORDER BY name")?;
        let names = stmt
            .query_map([run.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(names)
    }

    /// Rows added after `after_id` (all runs), oldest first, at most `limit`: how a live reader
    /// keeps up without reading the whole lab again. Ids are never reused, so rows written after
    /// others were deleted (a resumed run replaying its last steps) are still "after".
    pub fn metrics_after(&self, after_id: i64, limit: usize) -> Result<Vec<MetricRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, run_id, iteration, epoch, name, value, wall_time FROM metrics
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![after_id, limit as i64], |r| {
                Ok(MetricRow {
                    id: r.get(0)?,
                    run_id: RunId(r.get(1)?),
                    iteration: r.get(2)?,
                    epoch: r.get(3)?,
                    name: r.get(4)?,
                    value: r.get(5)?,
                    wall_time: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// Drops what a run recorded after `iteration`: a resumed run continues from its checkpoint,
/// and the steps it repeats must not be counted twice ([`Lab::rewind`]).
pub(super) fn truncate_after(conn: &Connection, run: RunId, iteration: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM metrics WHERE run_id = ?1 AND iteration > ?2",
        params![run.0, iteration],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::sample_run;
    use anyhow::Context;

    #[test]
    fn record_writes_points_and_summary_in_one_go() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        let points: Vec<_> = (1..=5)
            .map(|i| MetricPoint::new(i, 1, metric::TRAIN_LOSS, 1.0 / i as f64))
            .collect();
        let summary = RunSummaryUpdate {
            last_iteration: Some(5),
            last_epoch: Some(1),
            last_loss: Some(0.2),
            images_per_sec: Some(100.0),
            evaluation: Some((0.5, 0.25, 1)),
        };
        lab.record(id, &points, &summary)?;
        let s = lab.series(id, metric::TRAIN_LOSS)?;
        assert_eq!(
            s.iter().map(|p| p.iteration).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(s[1].value, 0.5);
        let r = lab.run(id)?.context("run")?;
        assert_eq!(
            (
                r.last_iteration,
                r.last_loss,
                r.best_dev_acc,
                r.best_dev_epoch
            ),
            (5, Some(0.2), Some(0.25), Some(1))
        );

        // A worse evaluation keeps the best; a better one replaces it.
        let worse = RunSummaryUpdate {
            evaluation: Some((0.6, 0.2, 2)),
            ..Default::default()
        };
        lab.record(id, &[], &worse)?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!(
            (r.best_dev_acc, r.best_dev_epoch, r.final_dev_acc),
            (Some(0.25), Some(1), Some(0.2))
        );
        assert_eq!(r.last_iteration, 5, "fields not given are kept");
        let better = RunSummaryUpdate {
            evaluation: Some((0.7, 0.4, 3)),
            ..Default::default()
        };
        lab.record(id, &[], &better)?;
        let r = lab.run(id)?.context("run")?;
        assert_eq!((r.best_dev_acc, r.best_dev_epoch), (Some(0.4), Some(3)));
        Ok(())
    }

    /// The best dev accuracy recorded, at its first epoch on a tie; none before an evaluation.
    #[test]
    fn the_best_dev_accuracy_recorded_is_the_first_highest() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        assert_eq!(lab.best_dev_recorded(id)?, None);
        let points: Vec<MetricPoint> = [(10, 1, 0.3), (20, 2, 0.5), (30, 3, 0.5), (40, 4, 0.4)]
            .into_iter()
            .map(|(it, ep, v)| MetricPoint::new(it, ep, metric::DEV_ACC, v))
            .chain([MetricPoint::new(40, 4, metric::TRAIN_ACC, 0.9)])
            .collect();
        lab.record(id, &points, &RunSummaryUpdate::default())?;
        assert_eq!(lab.best_dev_recorded(id)?, Some((0.5, 2)));
        Ok(())
    }

    #[test]
    fn incremental_reads_see_only_new_rows() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let a = lab.create_run(&sample_run("a"))?;
        let b = lab.create_run(&sample_run("b"))?;
        lab.record(
            a,
            &[MetricPoint::new(1, 1, metric::TRAIN_LOSS, 1.0)],
            &Default::default(),
        )?;
        let first = lab.metrics_after(0, 100)?;
        assert_eq!(first.len(), 1);
        let cursor = first[0].id;
        lab.record(
            b,
            &[MetricPoint::new(1, 1, metric::DEV_ACC, 0.3)],
            &Default::default(),
        )?;
        lab.record(
            a,
            &[MetricPoint::new(2, 1, metric::TRAIN_LOSS, 0.9)],
            &Default::default(),
        )?;
        let new = lab.metrics_after(cursor, 100)?;
        assert_eq!(
            new.iter()
                .map(|m| (m.run_id, m.name.as_str()))
                .collect::<Vec<_>>(),
            vec![(b, metric::DEV_ACC), (a, metric::TRAIN_LOSS)]
        );
        assert_eq!(lab.metrics_after(cursor, 1)?.len(), 1);
        assert_eq!(lab.metric_names(a)?, vec![metric::TRAIN_LOSS.to_string()]);
        Ok(())
    }

    #[test]
    fn truncation_drops_only_later_iterations_of_that_run() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let a = lab.create_run(&sample_run("a"))?;
        let b = lab.create_run(&sample_run("b"))?;
        for run in [a, b] {
            let pts: Vec<_> = (1..=10)
                .map(|i| MetricPoint::new(i, 1, metric::TRAIN_LOSS, 0.0))
                .collect();
            lab.record(run, &pts, &Default::default())?;
        }
        lab.rewind(a, 6)?;
        assert_eq!(lab.series(a, metric::TRAIN_LOSS)?.len(), 6);
        assert_eq!(lab.series(b, metric::TRAIN_LOSS)?.len(), 10);
        Ok(())
    }

    #[test]
    fn a_non_finite_value_is_refused_whole_with_its_metric_and_step() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&sample_run("r"))?;
        for bad in [f64::NAN, f64::INFINITY] {
            let points = [
                MetricPoint::new(7, 2, metric::TRAIN_LOSS, 0.5),
                MetricPoint::new(7, 2, metric::DIST_AP, bad),
            ];
            let summary = RunSummaryUpdate {
                last_iteration: Some(7),
                ..Default::default()
            };
            let err = lab.record(id, &points, &summary).unwrap_err().to_string();
            assert!(
                err.contains(&format!(
                    "metric 'dist_ap' of run {id} became {bad} at iteration 7"
                )) && err.contains("diverged"),
                "{err}"
            );
        }
        assert!(lab.metrics_after(0, 10)?.is_empty(), "nothing written");
        assert_eq!(lab.run(id)?.context("run")?.last_iteration, 0);
        Ok(())
    }

    #[test]
    fn record_for_a_missing_run_fails_without_writing() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let err = lab.record(
            RunId(9),
            &[MetricPoint::new(1, 1, "x", 1.0)],
            &Default::default(),
        );
        let err = err.unwrap_err();
        assert!(format!("{err:#}").contains("FOREIGN KEY"), "{err:#}");
        assert!(lab.metrics_after(0, 10)?.is_empty());
        Ok(())
    }
}
