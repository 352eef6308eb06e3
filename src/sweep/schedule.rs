//! Running child processes at most N at a time, reporting each start and end as it happens.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How often running children are checked: short next to any training run, long enough not
/// to spin a core.
const POLL: Duration = Duration::from_millis(50);

/// The status `facenet-lab run` exits with when it was asked to stop (SIGINT or SIGTERM; the
/// dashboard's `X` sends SIGINT): the run is recorded as interrupted and continues from its
/// last checkpoint with `run --resume`. `tests/train_cli.rs` holds the trainer to it.
pub const EXIT_STOPPED: i32 = 130;

/// How one job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Finished,
    /// Asked to stop before the end ([`EXIT_STOPPED`]): not a failure, and resumable.
    Stopped,
    Failed,
}

impl JobOutcome {
    /// How a job that exited with `status` ended.
    pub fn of(status: ExitStatus) -> JobOutcome {
        match status.code() {
            Some(0) => JobOutcome::Finished,
            Some(EXIT_STOPPED) => JobOutcome::Stopped,
            // Another code, or killed by a signal.
            _ => JobOutcome::Failed,
        }
    }
}

/// What happened to one job.
#[derive(Debug)]
pub enum Event {
    Started {
        index: usize,
    },
    /// The process ended, or (`Err`) could not be started or waited for.
    Finished {
        index: usize,
        result: std::result::Result<ExitStatus, String>,
        elapsed: Duration,
    },
}

/// Starts job `0..jobs` through `launch`, keeping at most `parallel` alive, and calls `report`
/// with every start and end. Returns how each job ended, by index.
pub fn run_jobs(
    jobs: usize,
    parallel: usize,
    mut launch: impl FnMut(usize) -> Result<Child>,
    mut report: impl FnMut(&Event),
) -> Result<Vec<JobOutcome>> {
    if parallel == 0 {
        bail!("--parallel must be at least 1");
    }
    let mut outcomes = vec![JobOutcome::Failed; jobs];
    let mut running: Vec<(usize, Child, Instant)> = Vec::new();
    let mut next = 0;
    while next < jobs || !running.is_empty() {
        while running.len() < parallel && next < jobs {
            let index = next;
            next += 1;
            let started = Instant::now();
            match launch(index) {
                Ok(child) => {
                    report(&Event::Started { index });
                    running.push((index, child, started));
                }
                Err(e) => report(&Event::Finished {
                    index,
                    result: Err(format!("{e:#}")),
                    elapsed: started.elapsed(),
                }),
            }
        }
        let mut any_finished = false;
        let mut i = 0;
        while i < running.len() {
            let result = match running[i].1.try_wait() {
                Ok(None) => {
                    i += 1;
                    continue;
                }
                Ok(Some(status)) => Ok(status),
                Err(e) => Err(format!("waiting for the process: {e}")),
            };
            let (index, _, started) = running.swap_remove(i);
            outcomes[index] = result
                .as_ref()
                .map_or(JobOutcome::Failed, |s| JobOutcome::of(*s));
            report(&Event::Finished {
                index,
                result,
                elapsed: started.elapsed(),
            });
            any_finished = true;
        }
        if !any_finished && !running.is_empty() {
            std::thread::sleep(POLL);
        }
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn never_more_than_parallel_at_once_and_failures_are_reported() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("events");
        let launch = |i: usize| -> Result<Child> {
            // Job 1 stops as an interrupted trainer does; job 2 dies of a signal; job 3 fails.
            let end = match i {
                1 => format!("exit {EXIT_STOPPED}"),
                2 => "kill -KILL $$".to_string(),
                3 => "exit 7".to_string(),
                _ => "exit 0".to_string(),
            };
            let script = format!(
                "echo start >> '{0}'; sleep 0.2; echo end >> '{0}'; {end}",
                log.display()
            );
            Ok(Command::new("sh")
                .arg("-c")
                .arg(script)
                .stdout(Stdio::null())
                .spawn()?)
        };
        let mut events = Vec::new();
        let ended = run_jobs(5, 2, launch, |e| events.push(format!("{e:?}")))?;
        use JobOutcome::{Failed, Finished, Stopped};
        assert_eq!(ended, vec![Finished, Stopped, Failed, Failed, Finished]);
        assert_eq!(events.len(), 10, "a start and an end per job: {events:?}");

        let (mut now, mut peak) = (0i32, 0i32);
        for line in std::fs::read_to_string(&log)?.lines() {
            now += if line == "start" { 1 } else { -1 };
            peak = peak.max(now);
        }
        assert_eq!(peak, 2, "two ran together, never three");
        Ok(())
    }

    #[test]
    fn a_job_that_cannot_start_is_a_failure_not_an_abort() -> Result<()> {
        let launch = |i: usize| -> Result<Child> {
            if i == 0 {
                bail!("no such program");
            }
            Ok(Command::new("true").spawn()?)
        };
        let mut failed_to_start = String::new();
        let ended = run_jobs(2, 1, launch, |e| {
            if let Event::Finished {
                result: Err(msg), ..
            } = e
            {
                failed_to_start = msg.clone();
            }
        })?;
        assert_eq!(ended, vec![JobOutcome::Failed, JobOutcome::Finished]);
        assert_eq!(failed_to_start, "no such program");
        assert!(run_jobs(1, 0, launch, |_| {}).is_err());
        Ok(())
    }
}
