//! Long-form CSV: one line per metric point, with the run's identity and hyperparameters
//! repeated on each line so that a single `groupby` needs no join; and the short form, one line
//! per run with what it reached ([`to_runs_csv`]).
//!
//! Columns ([`CSV_HEADER`]): `run_id, run_name, model, batch_size, embedding_dim, lr,
//! weight_decay, lr_schedule, warmup_epochs, epochs, margin, image_size, crop, mining, sampler,
//! pk_k, normalize, augment, zero_init_residual, init, init_sha256, fresh_embedding,
//! imagenet_norm, dropout, tf32, seed, device, gpu_name, status, effective_status, tags,
//! init_run_id, like_run_id, dataset_id, metric, iteration, epoch, value, wall_time`.
//! `init_run_id` is the run whose checkpoint `init` is, `like_run_id` the run whose settings the
//! run started with (`run --like`), `dataset_id` the lab's dataset it trained on (the JSON
//! export holds each dataset, by that id). `status` is what the run recorded;
//! `effective_status` is the one to believe, as `runs` shows it (a "running" run whose
//! heartbeat went stale has crashed). Tags are joined with `;`; empty cells are missing values;
//! numbers are written in the shortest form that reads back to the same value; `wall_time` is
//! seconds since the Unix epoch (as TensorBoard's CSV has it). `device` and `gpu_name` are what
//! the run started on; a run resumed elsewhere says where in the JSON export's `resumes`. Rows
//! come in run order, then by metric name, then by iteration.
//! A run without metrics has no rows.
//!
//! The runs form ([`RUNS_CSV_HEADER`]) adds what each run reached, and its other settings and
//! provenance: `eval_every, checkpoint_every, git_commit, git_dirty, git_diff, crate_version,
//! hostname, cpu_model, cpu_threads, command_line, notes` (a run's resumes, datasets and splits
//! are the JSON export's).

use anyhow::Result;

use crate::lab::{Lab, Run};

/// The columns that say which run a row is about, shared by both CSV forms (a macro, so that
/// `concat!` can build both headers from it).
macro_rules! run_columns {
    () => {
        "run_id,run_name,model,batch_size,embedding_dim,lr,weight_decay,lr_schedule,\
         warmup_epochs,epochs,margin,image_size,crop,mining,sampler,pk_k,normalize,augment,\
         zero_init_residual,init,init_sha256,fresh_embedding,imagenet_norm,dropout,tf32,seed,\
         device,gpu_name,status,effective_status,tags,init_run_id,like_run_id,dataset_id"
    };
}

pub const CSV_HEADER: &str = concat!(run_columns!(), ",metric,iteration,epoch,value,wall_time");

/// [`to_runs_csv`]'s columns: the run's, then what it reached, as `runs` shows it, then its
/// other settings and where it came from (a table of runs stands alone in pandas; the long form
/// repeats only what tells its runs apart).
pub const RUNS_CSV_HEADER: &str = concat!(
    run_columns!(),
    ",epochs_done,best_dev_acc,best_dev_epoch,final_dev_acc,final_train_acc,test_acc,lfw_acc,\
     lfw_acc_std,last_loss,images_per_sec,started_at,finished_at,duration_s",
    ",eval_every,checkpoint_every,git_commit,git_dirty,git_diff,crate_version,hostname,\
     cpu_model,cpu_threads,command_line,notes"
);

/// The cells of the run columns for `run`, its status judged at `now`.
fn run_cells(run: &Run, now: f64) -> String {
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
    ]
    .join(",")
}

/// The CSV of `runs`, their statuses judged at `now` (seconds since the Unix epoch).
pub fn to_csv(lab: &Lab, runs: &[Run], now: f64) -> Result<String> {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for run in runs {
        let run_cells = run_cells(run, now);
        for name in lab.metric_names(run.id)? {
            let name_cell = field(&name);
            for p in lab.series(run.id, &name)? {
                out.push_str(&format!(
                    "{run_cells},{name_cell},{},{},{},{}\n",
                    p.iteration, p.epoch, p.value, p.wall_time
                ));
            }
        }
    }
    Ok(out)
}

/// One row per run: its settings and what it reached ([`RUNS_CSV_HEADER`]), the numbers `runs`
/// shows at full precision; `duration_s` is seconds of training (to `now` for a running run).
pub fn to_runs_csv(runs: &[Run], now: f64) -> String {
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
        out.push_str(&format!("{},{results},{origin}\n", run_cells(run, now)));
    }
    out
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
        let header: Vec<&str> = run_columns!().split(',').collect();
        let cells = run_cells(&r, crate::lab::fixtures::NOW);
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
                "dataset_id"
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
                "5"
            ]
        );
    }
}
