//! Long-form CSV: one line per metric point, with the run's identity and hyperparameters
//! repeated on each line so that a single `groupby` needs no join; and the short form, one line
//! per run with what it reached ([`to_runs_csv`]).
//!
//! Columns ([`CSV_HEADER`]): `run_id, run_name, model, batch_size, embedding_dim, lr,
//! weight_decay, lr_schedule, warmup_epochs, epochs, patience, margin, image_size, crop, mining,
//! sampler, pk_k, normalize, augment, zero_init_residual, init, init_sha256, fresh_embedding,
//! imagenet_norm, dropout, tf32, seed, device, gpu_name, status, effective_status, tags,
//! init_run_id, like_run_id, dataset_id, dataset, dataset_people, dataset_images, metric,
//! iteration, epoch, value, wall_time, elapsed_s`.
//! `init_run_id` is the run whose checkpoint `init` is, `like_run_id` the run whose settings the
//! run started with (`run --like`), `dataset_id` the lab's dataset it trained on (the JSON
//! export holds each dataset, by that id), `dataset` that dataset's name, the last part of
//! its source ([`params::dataset_name`]: `lfw-20-30`, `synthetic:12:24:0`; the id tells apart
//! two of one name), and `dataset_people` and `dataset_images` its counts: together, what the
//! results table's data column shows as `lfw-20-30 (30 people, 713 images)`. `status` is what
//! the run recorded; `effective_status` is the one to believe, as `runs` shows it (a "running"
//! run whose heartbeat went stale has crashed). Tags are joined with `;`; empty cells are
//! missing values; numbers are written in the shortest form that reads back to the same
//! value. `wall_time` is when the point was recorded, in seconds since the Unix epoch (as
//! TensorBoard's CSV has it, and the JSON export's series); `elapsed_s` is seconds of training
//! by then, as the run's duration counts them ([`Clock`]), to the millisecond: the x axis of a
//! curve against time.
//! `device` and `gpu_name` are what the run started on; a run resumed elsewhere says where in
//! the JSON export's `resumes`. Rows come in run order, then by metric name, then by iteration.
//! A run without metrics has no rows.
//!
//! The runs form ([`RUNS_CSV_HEADER`]) adds what each run reached (`lfw_grayscale` says whether
//! its LFW accuracy was measured on grayscale images, as `runs` and the results table mark it;
//! `started_at` and `finished_at` are seconds since the Unix epoch, `duration_s` seconds of
//! training), and its other settings and provenance: `eval_every, checkpoint_every, git_commit,
//! git_dirty, git_diff, crate_version, hostname, cpu_model, cpu_threads, command_line, notes` (a
//! run's resumes, datasets and splits are the JSON export's).

use anyhow::Result;

use crate::lab::{params, DatasetRecord, Lab, Resume, Run};

/// The columns that say which run a row is about, shared by both CSV forms (a macro, so that
/// `concat!` can build both headers from it).
macro_rules! run_columns {
    () => {
        "run_id,run_name,model,batch_size,embedding_dim,lr,weight_decay,lr_schedule,\
         warmup_epochs,epochs,patience,margin,image_size,crop,mining,sampler,pk_k,normalize,augment,\
         zero_init_residual,init,init_sha256,fresh_embedding,imagenet_norm,dropout,tf32,seed,\
         device,gpu_name,status,effective_status,tags,init_run_id,like_run_id,dataset_id,\
         dataset,dataset_people,dataset_images"
    };
}

pub const CSV_HEADER: &str = concat!(
    run_columns!(),
    ",metric,iteration,epoch,value,wall_time,elapsed_s"
);

/// [`to_runs_csv`]'s columns: the run's, then what it reached, as `runs` shows it, then its
/// other settings and where it came from (a table of runs stands alone in pandas; the long form
/// repeats only what tells its runs apart).
pub const RUNS_CSV_HEADER: &str = concat!(
    run_columns!(),
    ",epochs_done,best_dev_acc,best_dev_epoch,final_dev_acc,final_train_acc,test_acc,lfw_acc,\
     lfw_acc_std,lfw_grayscale,last_loss,images_per_sec,started_at,finished_at,duration_s",
    ",eval_every,checkpoint_every,git_commit,git_dirty,git_diff,crate_version,hostname,\
     cpu_model,cpu_threads,command_line,notes"
);

/// The cells of the run columns for `run`, its status judged at `now`, `dataset` the one it
/// trained on.
fn run_cells(run: &Run, now: f64, dataset: Option<&DatasetRecord>) -> String {
    let h = &run.hyper;
    [
        run.id.to_string(),
        field(&run.name),
        field(&h.model),
        h.batch_size.to_string(),
        h.embedding_dim.to_string(),
        h.lr.to_string(),
        h.weight_decay.to_string(),
        field(&h.lr_schedule),
        h.warmup_epochs.to_string(),
        h.epochs.to_string(),
        h.patience.map_or(String::new(), |n| n.to_string()),
        h.margin.to_string(),
        h.image_size.to_string(),
        h.crop.to_string(),
        field(&h.mining),
        field(&h.sampler),
        h.pk_k.map_or(String::new(), |k| k.to_string()),
        h.normalize.to_string(),
        h.augment.to_string(),
        h.zero_init_residual.to_string(),
        field(h.init.as_deref().unwrap_or("")),
        field(h.init_sha256.as_deref().unwrap_or("")),
        h.fresh_embedding.to_string(),
        h.imagenet_norm.to_string(),
        h.dropout.map_or(String::new(), |p| p.to_string()),
        h.tf32.to_string(),
        h.seed.to_string(),
        field(&run.device),
        field(run.gpu_name.as_deref().unwrap_or("")),
        run.status.to_string(),
        run.effective_status(now).to_string(),
        field(&run.tags.join(";")),
        run.init_run.map_or(String::new(), |r| r.to_string()),
        run.like_run.map_or(String::new(), |r| r.to_string()),
        run.dataset_id.map_or(String::new(), |d| d.0.to_string()),
        dataset.map_or(String::new(), |d| field(&params::dataset_name(d))),
        dataset.map_or(String::new(), |d| d.n_identities.to_string()),
        dataset.map_or(String::new(), |d| d.n_images.to_string()),
    ]
    .join(",")
}

/// Seconds of training at a moment of a run (`elapsed_s`), as its duration counts them
/// ([`Run::duration`]): from its start, or from the last resume that started over (its steps are
/// all that is kept, and all the duration counts), less each pause between the run's stop and
/// the resume after it. In its last span, since it was last resumed, that is the time the lab
/// records it trained before (`prior_seconds`) and the time since the resume, as its duration
/// counts them. Before, each earlier resume the lab records left out the time from the run's
/// stop, its last heartbeat before the resume (or its last point, where that came later or the
/// resume did not record the heartbeat), to the resume. Steps a resume replays count again, as
/// their time was spent again, so that the last point of a run comes to about its duration.
struct Clock {
    start: f64,
    /// (resumed at, seconds paused before), oldest first: the resumes before the last span.
    pauses: Vec<(f64, f64)>,
    /// When the last span began, and the seconds trained before it.
    last_span: Option<(f64, f64)>,
}

impl Clock {
    /// The clock of `run`, resumed as `resumes` say, whose points were recorded at `walls`
    /// (in order).
    fn new(run: &Run, resumes: &[Resume], walls: &[f64]) -> Clock {
        let last_span = run.resumed_at.map(|at| (at, run.prior_seconds));
        // The resume that began the last span is recorded just after it.
        let mut resumes: Vec<&Resume> = resumes
            .iter()
            .filter(|r| last_span.is_none_or(|(last, _)| r.at < last))
            .collect();
        resumes.sort_by(|a, b| a.at.total_cmp(&b.at));
        let restart = resumes
            .iter()
            .rev()
            .find(|r| r.from_iteration == 0)
            .map(|r| r.at);
        let start = match (run.started_at, restart) {
            (Some(s), Some(r)) => s.max(r),
            (s, r) => s.or(r).or(walls.first().copied()).unwrap_or(0.0),
        };
        let mut span_start = start;
        let mut pauses = Vec::new();
        for r in resumes.iter().filter(|r| r.at > start) {
            let before = walls.partition_point(|&w| w < r.at);
            let last_point = before.checked_sub(1).map(|i| walls[i]);
            let stop = [r.heartbeat_before, last_point]
                .into_iter()
                .flatten()
                .fold(span_start, f64::max)
                .min(r.at);
            pauses.push((r.at, r.at - stop));
            span_start = r.at;
        }
        Clock {
            start,
            pauses,
            last_span,
        }
    }

    /// Seconds trained at `wall` (seconds since the Unix epoch), to the millisecond.
    fn elapsed(&self, wall: f64) -> f64 {
        let trained = match self.last_span {
            Some((at, before)) if wall >= at => before + (wall - at),
            _ => {
                let paused: f64 = self
                    .pauses
                    .iter()
                    .take_while(|(at, _)| *at <= wall)
                    .map(|(_, p)| p)
                    .sum();
                wall - self.start - paused
            }
        };
        (trained.max(0.0) * 1000.0).round() / 1000.0
    }
}

/// The CSV of `runs`, their statuses judged at `now` (seconds since the Unix epoch).
pub fn to_csv(lab: &Lab, runs: &[Run], now: f64, metrics: &[String]) -> Result<String> {
    let datasets = lab.dataset_heads(runs)?;
    let mut recorded = std::collections::BTreeSet::new();
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for run in runs {
        let dataset = run.dataset_id.and_then(|d| datasets.get(&d.0));
        let run_cells = run_cells(run, now, dataset);
        let mut series = Vec::new();
        for name in lab.metric_names(run.id)? {
            let points = lab.series(run.id, &name)?;
            recorded.insert(name.clone());
            series.push((name, points));
        }
        let mut walls: Vec<f64> = series
            .iter()
            .flat_map(|(_, points)| points.iter().map(|p| p.wall_time))
            .collect();
        walls.sort_by(f64::total_cmp);
        let clock = Clock::new(run, &lab.resumes(run.id)?, &walls);
        // Every series still times the run's pauses, whichever are written.
        for (name, points) in &series {
            if !metrics.is_empty() && !metrics.contains(name) {
                continue;
            }
            let name_cell = field(name);
            for p in points {
                out.push_str(&format!(
                    "{run_cells},{name_cell},{},{},{},{},{}\n",
                    p.iteration,
                    p.epoch,
                    p.value,
                    p.wall_time,
                    clock.elapsed(p.wall_time)
                ));
            }
        }
    }
    check_metrics(metrics, &recorded)?;
    Ok(out)
}

/// Refuses a metric in `metrics` that no run exported `recorded`, naming those they did: a
/// misspelt one would otherwise give a CSV of no points.
fn check_metrics(metrics: &[String], recorded: &std::collections::BTreeSet<String>) -> Result<()> {
    let unknown: Vec<&str> = metrics
        .iter()
        .filter(|m| !recorded.contains(*m))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = recorded.iter().map(String::as_str).collect();
        anyhow::bail!(
            "--metric {}: no run exported recorded {}; they recorded {}",
            unknown.join(","),
            if unknown.len() == 1 { "it" } else { "them" },
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    Ok(())
}

/// One row per run: its settings and what it reached ([`RUNS_CSV_HEADER`]), the numbers `runs`
/// shows at full precision; `duration_s` is seconds of training (to `now` for a running run).
pub fn to_runs_csv(lab: &Lab, runs: &[Run], now: f64) -> Result<String> {
    let datasets = lab.dataset_heads(runs)?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    let mut out = String::from(RUNS_CSV_HEADER);
    out.push('\n');
    for run in runs {
        let results = [
            run.epochs_done().to_string(),
            opt(run.best_dev_acc),
            run.best_dev_epoch.map_or(String::new(), |e| e.to_string()),
            opt(run.final_dev_acc),
            opt(run.final_train_acc),
            opt(run.test_acc),
            opt(run.lfw_acc),
            opt(run.lfw_acc_std),
            // Said of a score only: no LFW accuracy, no images it was measured on.
            run.lfw_acc
                .map_or(String::new(), |_| run.lfw_grayscale.to_string()),
            opt(run.last_loss),
            opt(run.images_per_sec),
            opt(run.started_at),
            opt(run.finished_at),
            opt(run.duration(now)),
        ]
        .join(",");
        let (h, code) = (&run.hyper, &run.code);
        let origin = [
            h.eval_every.to_string(),
            h.checkpoint_every.map_or(String::new(), |n| n.to_string()),
            field(&code.git_commit),
            code.git_dirty.to_string(),
            field(code.git_diff.as_deref().unwrap_or("")),
            field(&code.crate_version),
            field(&run.hostname),
            field(run.machine.cpu_model.as_deref().unwrap_or("")),
            run.machine
                .cpu_threads
                .map_or(String::new(), |t| t.to_string()),
            field(&run.command_line),
            field(&run.notes),
        ]
        .join(",");
        let dataset = run.dataset_id.and_then(|d| datasets.get(&d.0));
        out.push_str(&format!(
            "{},{results},{origin}\n",
            run_cells(run, now, dataset)
        ));
    }
    Ok(out)
}

/// RFC 4180 quoting, only where needed.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("resnet18"), "resnet18");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    /// Each run cell sits under its own header: a run's settings, told apart where two
    /// neighbours are both booleans, read back by their column names.
    #[test]
    fn run_cells_line_up_with_the_header() {
        let mut r = crate::lab::fixtures::run(4, "r", "resnet18");
        r.hyper.init = Some("/w/start.safetensors".into());
        r.hyper.fresh_embedding = true;
        r.hyper.imagenet_norm = false;
        r.hyper.tf32 = true;
        r.init_run = Some(crate::lab::RunId(2));
        r.like_run = Some(crate::lab::RunId(3));
        r.dataset_id = Some(crate::lab::DatasetId(5));
        let dataset = crate::lab::fixtures::dataset("/data/lfw-20-30");
        let header: Vec<&str> = run_columns!().split(',').collect();
        let cells = run_cells(&r, crate::lab::fixtures::NOW, Some(&dataset));
        let cells: Vec<&str> = cells.split(',').collect();
        assert_eq!(header.len(), cells.len());
        let cell = |name: &str| cells[header.iter().position(|h| *h == name).expect(name)];
        assert_eq!(
            [
                "run_id",
                "init",
                "fresh_embedding",
                "imagenet_norm",
                "tf32",
                "zero_init_residual",
                "init_run_id",
                "like_run_id",
                "dataset_id",
                "dataset",
                "dataset_people",
                "dataset_images"
            ]
            .map(cell),
            [
                "4",
                "/w/start.safetensors",
                "true",
                "false",
                "true",
                "false",
                "2",
                "3",
                "5",
                "lfw-20-30",
                "30",
                "713"
            ]
        );
        // A run the lab records no dataset of: empty cells.
        let cells = run_cells(&r, crate::lab::fixtures::NOW, None);
        let cells: Vec<&str> = cells.split(',').collect();
        assert_eq!(cells[cells.len() - 3..], ["", "", ""]);
    }

    /// `elapsed_s` counts from the start, less each pause between a stop and its resume.
    #[test]
    fn elapsed_time_leaves_out_the_pauses_before_resumes() {
        use crate::lab::fixtures::resume;
        let mut r = crate::lab::fixtures::run(1, "r", "resnet18");
        r.started_at = Some(1000.0);
        // Never resumed: seconds since the start.
        let clock = Clock::new(&r, &[], &[1001.0, 1010.0]);
        assert_eq!([1001.0, 1010.5].map(|w| clock.elapsed(w)), [1.0, 10.5]);

        // Stopped at its last heartbeat, 1030 (its steps after its checkpoint at 1020 were
        // dropped), and resumed at 5000: the 3970 s between are no training.
        let walls = [1001.0, 1020.0, 5001.0, 5010.0];
        let stopped = |hb: Option<f64>| Resume {
            heartbeat_before: hb,
            ..resume(5000.0, 20, "h")
        };
        let clock = Clock::new(&r, &[stopped(Some(1030.0))], &walls);
        assert_eq!(walls.map(|w| clock.elapsed(w)), [1.0, 20.0, 31.0, 40.0]);
        // Without the heartbeat, from its last point; where the heartbeat came before its last
        // point, from the point: the time never runs back.
        for hb in [None, Some(1015.0)] {
            let clock = Clock::new(&r, &[stopped(hb)], &walls);
            assert_eq!(
                walls.map(|w| clock.elapsed(w)),
                [1.0, 20.0, 21.0, 30.0],
                "{hb:?}"
            );
        }

        // Two resumes; the second started over (from iteration 0), so only its steps count,
        // from the resume: what the run's duration counts then.
        let first = Resume {
            heartbeat_before: Some(1030.0),
            ..resume(2000.0, 20, "h")
        };
        let again = Resume {
            heartbeat_before: Some(2050.0),
            ..resume(3000.0, 0, "h")
        };
        let clock = Clock::new(&r, &[again.clone(), first.clone()], &[3001.0, 3002.5]);
        assert_eq!([3001.0, 3002.5].map(|w| clock.elapsed(w)), [1.0, 2.5]);
        // Two resumes that went on: both pauses left out, each at its resume.
        let second = Resume {
            heartbeat_before: Some(2050.0),
            ..resume(3000.0, 40, "h")
        };
        let walls = [1010.0, 2010.0, 3010.0];
        let clock = Clock::new(&r, &[first, second], &walls);
        assert_eq!(walls.map(|w| clock.elapsed(w)), [10.0, 40.0, 90.0]);
        // To the millisecond, not the float noise of a difference of two epoch times.
        let clock = Clock::new(&r, &[], &[]);
        assert_eq!(clock.elapsed(1000.0 + 832.019_999_980_926_5), 832.02);
        // Its last span as the lab records it: the time trained before and the time since;
        // the resume recorded just after it began is that span's. A resume the lab has no
        // record of (as older labs have) still splits the run's time at `resumed_at`.
        r.resumed_at = Some(5000.0);
        r.prior_seconds = 30.0;
        let walls = [1001.0, 1020.0, 5001.0, 5010.0];
        for resumes in [vec![stopped(Some(1030.0))], Vec::new()] {
            let clock = Clock::new(&r, &resumes, &walls);
            assert_eq!(walls.map(|w| clock.elapsed(w)), [1.0, 20.0, 31.0, 40.0]);
        }
        let late = Resume {
            heartbeat_before: Some(1030.0),
            ..resume(5000.2, 20, "h")
        };
        let clock = Clock::new(&r, &[late], &walls);
        assert_eq!(walls.map(|w| clock.elapsed(w)), [1.0, 20.0, 31.0, 40.0]);
        // An earlier resume, recorded, and the last one.
        r.resumed_at = Some(3000.0);
        r.prior_seconds = 80.0;
        let walls = [1010.0, 2010.0, 3010.0];
        let earlier = Resume {
            heartbeat_before: Some(1030.0),
            ..resume(2000.0, 20, "h")
        };
        let clock = Clock::new(&r, &[earlier], &walls);
        assert_eq!(walls.map(|w| clock.elapsed(w)), [10.0, 40.0, 90.0]);
        r.resumed_at = None;
        r.prior_seconds = 0.0;
        // A run with no start recorded counts from its first point.
        r.started_at = None;
        let clock = Clock::new(&r, &[], &[1500.0, 1600.0]);
        assert_eq!(clock.elapsed(1600.0), 100.0);
    }
}
