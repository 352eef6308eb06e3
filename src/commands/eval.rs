//! `facenet-lab eval RUN`: evaluate a run's checkpoint with one of the protocols of
//! [`crate::eval::protocol`], record the result in the lab, print it, and draw its ROC.

use std::path::Path;

use anyhow::{Context, Result};
use candle_core::Device;

use crate::cli::EvalArgs;
use crate::data::{DataSpec, ImageRef};
use crate::eval::embeddings::Embeddings;
use crate::eval::glossary;
use crate::eval::net::Net;
use crate::eval::protocol::{self, Inherited, Message, Subject};
use crate::eval::verification::VerificationReport;
use crate::lab::{CodeVersion, EvalMetric, EvaluationId, Lab, NewEvaluation, RanOn, RunId};
use crate::report::{roc_chart, roc_title, training_position, write_chart, FigureFormat};

pub fn execute(lab: &Lab, args: &EvalArgs) -> Result<()> {
    let run = lab.find_run(&args.run)?;
    let checkpoints = lab.checkpoints(run.id)?;
    let checkpoint = args.checkpoint.pick(&run.id.to_string(), &checkpoints)?;
    if let Some(pairs) = args.pairs.as_deref().filter(|p| !p.is_file()) {
        let state = if pairs.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        anyhow::bail!(
            "--pairs '{}' {state}: give LFW View 2's pairs.txt (`facenet-lab data fetch` \
             downloads it beside lfw.tgz)",
            pairs.display()
        );
    }
    // A path, or `synthetic:IDS:PER:SEED` (generated faces, as `run --data` takes them); with
    // --pairs alone, the LFW that `data fetch` downloaded. Found before the weights load.
    let data_spec = match (&args.data, &args.pairs) {
        // A folder recorded as given would name nothing once the lab is read elsewhere.
        (Some(d), _) => Some(match d.to_string_lossy().parse::<DataSpec>()? {
            DataSpec::Path(p) => DataSpec::Path(std::path::absolute(&p).unwrap_or(p)),
            synthetic => synthetic,
        }),
        (None, Some(_)) => Some(DataSpec::Path(
            crate::data::default_dataset_path().context(
                "--pairs without --data reads the LFW images `facenet-lab data fetch` downloads",
            )?,
        )),
        (None, None) if args.exclude_train_identities => anyhow::bail!(
            "--exclude-train-identities leaves out people of --pairs or --data; the run's own \
             test split holds only the people it trained on"
        ),
        (None, None) => None,
    };
    // Verification draws its ROC there: a folder that cannot be made is said before minutes of
    // embedding, not after.
    let out = args.out.clone().unwrap_or_else(|| lab.reports_dir());
    if data_spec.is_some() {
        std::fs::create_dir_all(&out).with_context(|| {
            format!(
                "creating '{}' for the ROC: pass --out with a writable folder",
                out.display()
            )
        })?;
    }
    let device = Device::cuda_if_available(0)?;
    let dataset = lab.run_dataset(&run)?;
    let inherited = Inherited::of(lab, &run)?;
    let net = Net::load(lab, &run, checkpoint, &device).map_err(|e| {
        // A run still training replaces its best file as it writes a new one: between the
        // pick above and this read, the file picked may have gone.
        let now = lab.checkpoints(run.id).ok().and_then(|cks| {
            let picked = args.checkpoint.pick(&run.id.to_string(), &cks).ok()?;
            (picked.id != checkpoint.id).then(|| picked.clone())
        });
        match now {
            Some(picked) => e.context(format!(
                "run {} wrote another checkpoint (at {}) in its place while eval read it: run \
                 eval again",
                run.id,
                position(&run, &picked)
            )),
            None => e,
        }
    })?;
    let embed = |spec: &DataSpec, items: &[ImageRef]| -> Result<Embeddings> {
        let vectors = net.embed(spec, items, args.flip, args.batch_size)?;
        Embeddings::new(items.iter().map(|i| i.identity.clone()).collect(), vectors)
    };
    let subject = Subject {
        run: &run,
        dataset: dataset.as_ref(),
        inherited: &inherited,
        embed: &embed,
        exclude_train_identities: args.exclude_train_identities,
        tell: &|message| match message {
            Message::Note(note) => crate::outln!("{note}"),
            Message::Warning(warning) => crate::say!("warning: {warning}"),
        },
    };
    let mut measured = match (&args.pairs, &data_spec) {
        (None, None) => protocol::test_split(&subject, args.split_data.as_deref())?,
        (Some(pairs), Some(spec)) => protocol::lfw_pairs(&subject, pairs, spec)?,
        (None, Some(spec)) => protocol::folder(&subject, spec)?,
        (Some(_), None) => unreachable!("--pairs alone takes the fetched LFW"),
    };
    measured.options.insert("flip".into(), args.flip.into());

    let id = lab.add_evaluation(&NewEvaluation {
        run: run.id,
        checkpoint_id: Some(checkpoint.id),
        checkpoint_iteration: Some(checkpoint.iteration),
        // Given, not left to the checkpoint's row: a run still training may replace that row
        // while the evaluation runs, and the evaluation still names the weights it measured.
        checkpoint_sha256: Some(checkpoint.sha256.clone()),
        protocol: measured.protocol,
        data_source: measured.source,
        options: serde_json::Value::Object(measured.options.clone()),
        metrics: measured.metrics.clone(),
        code: CodeVersion::current(),
        ran_on: RanOn::here(match device.is_cuda() {
            true => crate::train::device::gpu_name(&device).unwrap_or_else(|| "cuda".into()),
            false => "cpu".into(),
        }),
    })?;
    let mut how = Vec::new();
    if args.flip {
        how.push("with flipped images averaged in".to_string());
    }
    let dropped = |key: &str| measured.options.get(key).and_then(|v| v.as_u64());
    match (dropped("dropped_pairs"), dropped("dropped_images")) {
        (Some(0), _) => how.push("with every pair (none touch its training identities)".into()),
        (_, Some(0)) => how.push("with every image (none of its training identities)".into()),
        (Some(n), _) => how.push(format!(
            "without the {n} pairs that touch its training identities"
        )),
        (_, Some(n)) => how.push(format!("without the {n} images of its training identities")),
        (None, None) => {}
    }
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(", {}", how.join(", "))
    };
    crate::outln!(
        "evaluation {id}: run {} checkpoint '{}' at {}, {}{how}",
        run.id,
        checkpoint.kind,
        position(&run, checkpoint),
        measured.protocol
    );
    let linked = lab
        .evaluations(run.id)?
        .iter()
        .any(|e| e.id == id && e.checkpoint_id.is_some());
    if !linked {
        crate::outln!(
            "  (the run has since replaced or dropped this checkpoint, as a run still training \
             replaces its best: the evaluation keeps its iteration, not a link to it)"
        );
    }
    for line in metric_lines(&measured.metrics) {
        crate::outln!("{line}");
    }
    if let Some((report, on)) = measured.roc {
        let name = roc_name(run.id, id);
        let title = roc_title(
            &run,
            checkpoint,
            args.flip,
            &on,
            report.n_pairs,
            &measured.options,
        );
        write_roc(&report, &out, &name, &title)
            .with_context(|| format!("evaluation {id} is recorded, but its ROC is not"))?;
    }
    Ok(())
}

/// Where `checkpoint` lies in `run`'s training, as the console says it: `epoch 75 (iteration
/// 1425)`, or `10 iterations into epoch 8 (iteration 143)` ([`training_position`]), with the
/// iteration `--checkpoint` takes; `iteration 1425` where the run records no epoch length.
fn position(run: &crate::lab::Run, checkpoint: &crate::lab::Checkpoint) -> String {
    let at = training_position(run, checkpoint);
    let iteration = format!("iteration {}", checkpoint.iteration);
    match at == iteration {
        true => at,
        false => format!("{at} ({iteration})"),
    }
}

/// The file stem of an evaluation's ROC: one per evaluation, so evaluating a run again (another
/// checkpoint, `--flip`, other pairs) never overwrites an earlier figure.
fn roc_name(run: RunId, evaluation: EvaluationId) -> String {
    format!("roc-run-{run}-eval-{evaluation}")
}

/// The metrics as printed, a line each with what it measures, and then what guessing scores.
fn metric_lines(metrics: &[EvalMetric]) -> Vec<String> {
    let width = metrics.iter().map(|m| m.name.len()).max().unwrap_or(0);
    let values: Vec<String> = metrics
        .iter()
        .map(|m| metric_value(&m.name, m.value))
        .collect();
    let value_width = values.iter().map(String::len).max().unwrap_or(0);
    // The meanings start in one column, wrapped under it to LINE_WIDTH.
    let indent = 2 + width + 2 + value_width + 2;
    let mut lines = Vec::new();
    for (m, v) in metrics.iter().zip(&values) {
        let line = format!("  {:<width$}  {v:<value_width$}", m.name);
        match glossary::meaning(&m.name) {
            Some(meaning) => {
                let mut wrapped = wrap(meaning, LINE_WIDTH.saturating_sub(indent).max(30));
                lines.push(format!("{line}  {}", wrapped.remove(0)));
                lines.extend(wrapped.into_iter().map(|w| format!("{:indent$}{w}", "")));
            }
            None => lines.push(line.trim_end().to_string()),
        }
    }
    let metric = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| m.value);
    for chance in glossary::chance(metric) {
        lines.push(format!("  chance: {chance}"));
    }
    lines
}

/// The width `eval` wraps its explanations to: a terminal's narrowest usual width.
const LINE_WIDTH: usize = 80;

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line at least");
        if last.is_empty() {
            last.push_str(word);
        } else if last.chars().count() + 1 + word.chars().count() <= width {
            last.push(' ');
            last.push_str(word);
        } else {
            lines.push(word.to_string());
        }
    }
    lines
}

/// A metric as printed: counts (`n_...`) as whole numbers, rates to 4 decimals.
fn metric_value(name: &str, value: f64) -> String {
    if name.starts_with("n_") && value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.4}")
    }
}

/// The ROC as `DIR/NAME.csv` (every point) and `DIR/NAME.png`.
fn write_roc(report: &VerificationReport, dir: &Path, name: &str, title: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating '{}'", dir.display()))?;
    let csv = dir.join(format!("{name}.csv"));
    std::fs::write(&csv, report.roc.to_csv())
        .with_context(|| format!("writing ROC to '{}'", csv.display()))?;
    let png = write_chart(
        dir,
        name,
        &roc_chart(title, &report.roc, report.auc, report.far_target),
        FigureFormat::Png,
    )?;
    crate::outln!(
        "ROC written to {} and {}",
        csv.display(),
        png.path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::checkpoint_choice::CheckpointChoice;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: EvalArgs,
    }

    /// The console places a checkpoint by epoch and by the iteration `--checkpoint` takes, and
    /// names the iteration once where the run counts no epochs.
    #[test]
    fn a_checkpoint_is_placed_by_epoch_and_iteration() {
        let mut run = crate::lab::fixtures::run(41, "r", "resnet18");
        run.iters_per_epoch = Some(19);
        let mut ck = crate::lab::fixtures::checkpoint(run.id, "best", 1425, 75);
        assert_eq!(position(&run, &ck), "epoch 75 (iteration 1425)");
        (ck.iteration, ck.epoch) = (143, 8);
        assert_eq!(
            position(&run, &ck),
            "10 iterations into epoch 8 (iteration 143)"
        );
        run.iters_per_epoch = None;
        assert_eq!(position(&run, &ck), "iteration 143");
    }

    #[test]
    fn counts_print_whole_and_rates_to_four_decimals() {
        assert_eq!(metric_value("n_pairs", 6000.0), "6000");
        assert_eq!(metric_value("n_queries", 70.0), "70");
        assert_eq!(metric_value("top1_seed_gallery", 1.0), "1.0000");
        assert_eq!(metric_value("auc", 0.83912), "0.8391");
    }

    /// Each metric is named, valued and explained in aligned columns, and chance follows.
    #[test]
    fn metrics_print_with_their_meaning_and_chance() {
        let metrics = [
            EvalMetric::new("top1_seed_gallery", 0.61428),
            EvalMetric::new("n_queries", 70.0),
            EvalMetric::new("n_identities", 30.0),
            EvalMetric::new("made_up", 2.5),
        ];
        let lines = metric_lines(&metrics);
        assert_eq!(
            lines,
            [
                "  top1_seed_gallery  0.6143  nearest identity right, each identity its first",
                "                             training image: the seed's accuracy, `runs`' test",
                "                             column",
                "  n_queries          70      images identified, each given the identity nearest",
                "                             it",
                "  n_identities       30      identities in the gallery",
                "  made_up            2.5000",
                "  chance: guessing among 30 identities scores top-1 0.0333, top-5 0.1667",
            ]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= LINE_WIDTH));
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(wrap("abcdefgh ij", 4), ["abcdefgh", "ij"]);
    }

    #[test]
    fn arguments_parse() -> Result<()> {
        let w = Wrapper::try_parse_from(["eval", "7"])?;
        assert_eq!(w.args.checkpoint, CheckpointChoice::Best);
        assert_eq!((w.args.flip, w.args.batch_size), (false, 256));
        let w = Wrapper::try_parse_from([
            "eval",
            "r",
            "--checkpoint",
            "1200",
            "--pairs",
            "p.txt",
            "--data",
            "lfw",
            "--flip",
            "--exclude-train-identities",
        ])?;
        assert_eq!(w.args.checkpoint, CheckpointChoice::Iteration(1200));
        assert!(w.args.flip && w.args.exclude_train_identities);
        // --pairs alone takes the fetched LFW (tests/eval_cli.rs runs it).
        assert!(Wrapper::try_parse_from(["eval", "r", "--pairs", "p.txt"]).is_ok());
        assert!(Wrapper::try_parse_from(["eval", "r", "--checkpoint", "newest"]).is_err());
        Ok(())
    }
}
