//! What a sweep says when it ends: how many runs finished, and for every other run what became
//! of it and the command that takes it on from there.

use std::path::Path;

use crate::lab::RunId;

use super::schedule::JobOutcome;

/// How one run of the sweep ended.
#[derive(Clone, Debug)]
pub struct RunEnd<'a> {
    pub name: &'a str,
    pub outcome: JobOutcome,
    /// Its generated configuration, which `run --config` starts afresh.
    pub config: &'a Path,
    pub log: &'a Path,
    /// The run the lab recorded for it, if it got that far.
    pub recorded: Option<RunId>,
    /// The lab's run it continues (`sweep --resume`), which a later start should continue
    /// too, not start anew.
    pub resumes: Option<RunId>,
    /// Whether the lab could be read for that: where it could not, no record says nothing.
    pub lab_read: bool,
}

/// How the sweep as a whole ended, which sets its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    AllFinished,
    /// At least one run failed.
    Failed,
    /// None failed, but some were stopped or never started: the status `run` exits with when
    /// stopped ([`super::EXIT_STOPPED`]).
    Incomplete,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub verdict: Verdict,
    pub text: String,
}

/// The summary of the sweep of spec file `spec`, tagged `tag`, in the lab that `db_flag` names
/// (see [`crate::lab::db_flag`]): a headline, then a line per run that did not finish, and the
/// command that finishes them all. A sweep started anew `beside_earlier` runs of its names
/// (the lab's runs of an earlier sweep of the spec) has none: `sweep --resume`, which finds its
/// runs by name, would take those for its own, and count one that completed there as done.
pub fn summarize(
    spec: &Path,
    tag: &str,
    db_flag: &str,
    runs: &[RunEnd],
    beside_earlier: bool,
) -> Summary {
    let n = runs.len();
    let count = |o: JobOutcome| runs.iter().filter(|r| r.outcome == o).count();
    let finished = count(JobOutcome::Finished);
    if finished == n {
        return Summary {
            verdict: Verdict::AllFinished,
            text: format!(
                "{} finished: `facenet-lab{db_flag} report --tag {tag}` draws {}",
                if n == 1 {
                    "the run".to_string()
                } else {
                    format!("all {n} runs")
                },
                if n == 1 { "it" } else { "them" },
            ),
        };
    }
    let mut parts = vec![format!(
        "{finished} of {} finished",
        crate::format::count(n as u64, "run", "runs")
    )];
    for (outcome, what) in [
        (JobOutcome::Failed, "failed"),
        (JobOutcome::Stopped, "stopped"),
        (JobOutcome::NotStarted, "not started"),
    ] {
        match count(outcome) {
            0 => {}
            k => parts.push(format!("{k} {what}")),
        }
    }
    let mut lines = vec![join_and(&parts)];
    lines.extend(runs.iter().filter_map(|r| what_next(r, db_flag)));
    let spec = crate::format::shell_quote(&spec.to_string_lossy());
    lines.push(if beside_earlier {
        format!(
            "take each run on as its line above says: this sweep started beside the lab's \
             earlier runs of its names, which `facenet-lab{db_flag} sweep {spec} --resume` would \
             take for its own"
        )
    } else {
        format!("`facenet-lab{db_flag} sweep {spec} --resume` takes them all on from here")
    });
    Summary {
        verdict: if count(JobOutcome::Failed) > 0 {
            Verdict::Failed
        } else {
            Verdict::Incomplete
        },
        text: lines.join("\n"),
    }
}

/// `a, b and c`.
fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The line for a run that did not finish: what became of it and how to take it on.
fn what_next(run: &RunEnd, db_flag: &str) -> Option<String> {
    let name = run.name;
    let start = || match run.resumes {
        Some(id) => format!("`facenet-lab{db_flag} run --resume {id}` continues it"),
        None => format!(
            "`facenet-lab{db_flag} run --config {}` starts it",
            crate::format::shell_quote(&run.config.to_string_lossy())
        ),
    };
    match (run.outcome, run.recorded.or(run.resumes)) {
        (JobOutcome::Finished, _) => None,
        (JobOutcome::Failed, _) if run.log.exists() => Some(format!(
            "  failed: {name}: its log says why: {}",
            run.log.display()
        )),
        // Its log could not even be created: the sweep's own line for it said why.
        (JobOutcome::Failed, _) => Some(format!(
            "  failed: {name}: it could not be started (the sweep's progress above says why); {}",
            start()
        )),
        (JobOutcome::Stopped, Some(id)) => Some(format!(
            "  stopped: {name} (run {id}): `facenet-lab{db_flag} run --resume {id}` continues it"
        )),
        // The lab holds no run of its log: stopped as it loaded, with nothing to resume.
        (JobOutcome::Stopped, None) if run.lab_read => Some(format!(
            "  stopped: {name} before the lab recorded it: {} (its log: {})",
            start(),
            run.log.display()
        )),
        (JobOutcome::Stopped, None) => Some(format!(
            "  stopped: {name}: its log says how to continue it: {}",
            run.log.display()
        )),
        (JobOutcome::NotStarted, _) => Some(format!("  not started: {name}: {}", start())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobOutcome::{Failed, Finished, NotStarted, Stopped};

    fn end(name: &str, outcome: JobOutcome, recorded: Option<i64>) -> RunEnd<'_> {
        RunEnd {
            name,
            outcome,
            config: Path::new("logs/s/2-t-2.toml"),
            log: Path::new("logs/s/2-t-2.log"),
            recorded: recorded.map(RunId),
            resumes: None,
            lab_read: true,
        }
    }

    #[test]
    fn all_finished_points_to_the_report() {
        let s = summarize(
            Path::new("s.toml"),
            "t",
            "",
            &[end("t-1", Finished, Some(1))],
            false,
        );
        assert_eq!(s.verdict, Verdict::AllFinished);
        assert_eq!(
            s.text,
            "the run finished: `facenet-lab report --tag t` draws it"
        );
        let two = [end("t-1", Finished, Some(1)), end("t-2", Finished, Some(2))];
        assert_eq!(
            summarize(Path::new("s.toml"), "t", "", &two, false).text,
            "all 2 runs finished: `facenet-lab report --tag t` draws them"
        );
    }

    #[test]
    fn a_stopped_sweep_says_how_to_continue_each_run_and_start_the_rest() {
        let s = summarize(
            Path::new("s.toml"),
            "t",
            " --db x.db",
            &[
                end("t-1", Finished, Some(4)),
                end("t-2", Stopped, Some(5)),
                end("t-3", NotStarted, None),
            ],
            false,
        );
        assert_eq!(s.verdict, Verdict::Incomplete);
        assert_eq!(
            s.text,
            "1 of 3 runs finished, 1 stopped and 1 not started\n  \
             stopped: t-2 (run 5): `facenet-lab --db x.db run --resume 5` continues it\n  \
             not started: t-3: `facenet-lab --db x.db run --config logs/s/2-t-2.toml` starts it\n\
             `facenet-lab --db x.db sweep s.toml --resume` takes them all on from here"
        );
        // Started anew beside an earlier sweep's runs of its names, it sends each run to its
        // own command: --resume would take those runs for its own.
        let beside = summarize(
            Path::new("s.toml"),
            "t",
            "",
            &[end("t-1", Finished, Some(4)), end("t-2", NotStarted, None)],
            true,
        );
        assert_eq!(
            beside.text,
            "1 of 2 runs finished and 1 not started\n  \
             not started: t-2: `facenet-lab run --config logs/s/2-t-2.toml` starts it\n\
             take each run on as its line above says: this sweep started beside the lab's \
             earlier runs of its names, which `facenet-lab sweep s.toml --resume` would take for \
             its own"
        );
        // A run the sweep was to resume, not reached, is continued, not started anew.
        let resumed = RunEnd {
            resumes: Some(RunId(9)),
            ..end("t-3", NotStarted, None)
        };
        let s = summarize(Path::new("s.toml"), "t", "", &[resumed], false);
        assert!(
            s.text
                .contains("not started: t-3: `facenet-lab run --resume 9` continues it"),
            "{}",
            s.text
        );
    }

    /// No record of a stopped run means it never got that far only where the lab was read.
    #[test]
    fn a_stopped_run_without_a_record_is_started_again_only_if_the_lab_was_read() {
        let unread = RunEnd {
            lab_read: false,
            ..end("t-1", Stopped, None)
        };
        assert_eq!(
            summarize(Path::new("s.toml"), "t", "", &[unread], false).text,
            "0 of 1 run finished and 1 stopped\n  \
             stopped: t-1: its log says how to continue it: logs/s/2-t-2.log\n\
             `facenet-lab sweep s.toml --resume` takes them all on from here"
        );
    }

    #[test]
    fn any_failure_fails_the_sweep_and_names_its_log() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("1-t-1.log");
        std::fs::write(&log, "error: out of memory\n")?;
        let failed = RunEnd {
            log: &log,
            ..end("t-1", Failed, Some(1))
        };
        let s = summarize(
            Path::new("s.toml"),
            "t",
            "",
            &[failed, end("t-2", Stopped, None)],
            false,
        );
        assert_eq!(s.verdict, Verdict::Failed);
        assert_eq!(
            s.text,
            format!(
                "0 of 2 runs finished, 1 failed and 1 stopped\n  \
                 failed: t-1: its log says why: {}\n  \
                 stopped: t-2 before the lab recorded it: `facenet-lab run --config \
                 logs/s/2-t-2.toml` starts it (its log: logs/s/2-t-2.log)\n\
                 `facenet-lab sweep s.toml --resume` takes them all on from here",
                log.display()
            )
        );
        // A run whose log could not be created is not sent to it.
        let s = summarize(
            Path::new("s.toml"),
            "t",
            "",
            &[end("t-1", Failed, None)],
            false,
        );
        assert_eq!(
            s.text,
            "0 of 1 run finished and 1 failed\n  \
             failed: t-1: it could not be started (the sweep's progress above says why); \
             `facenet-lab run --config logs/s/2-t-2.toml` starts it\n\
             `facenet-lab sweep s.toml --resume` takes them all on from here"
        );
        Ok(())
    }
}
