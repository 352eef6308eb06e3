//! Running child processes at most N at a time, reporting each start and end as it happens,
//! and stopping them all as Ctrl-C stops one when asked to.

use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How often running children (and the stop request) are checked: short next to any training
/// run, long enough not to spin a core.
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
    /// Never started: the jobs were asked to stop first.
    NotStarted,
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

/// What happened to one job, or to all of them.
#[derive(Debug)]
pub enum Event {
    Started {
        index: usize,
    },
    /// Asked to stop: each of the `running` jobs was sent SIGINT, and no other will start.
    Stopping {
        running: Vec<usize>,
    },
    /// The process ended, or (`Err`) could not be started or waited for.
    Finished {
        index: usize,
        result: std::result::Result<ExitStatus, String>,
        elapsed: Duration,
    },
}

/// A job that was started and has not been seen to end.
struct Running {
    index: usize,
    child: Child,
    started: Instant,
}

/// Starts job `0..jobs` through `launch`, keeping at most `parallel` alive, and calls `report`
/// with every start and end. Once `stop` is set, each running job gets one SIGINT (the
/// trainer's graceful stop; a second would make it quit without its checkpoint), no more are
/// started, and the running ones are waited for. Returns how each job ended, by index.
pub fn run_jobs(
    jobs: usize,
    parallel: usize,
    stop: &AtomicBool,
    mut launch: impl FnMut(usize) -> Result<Child>,
    mut report: impl FnMut(&Event),
) -> Result<Vec<JobOutcome>> {
    if parallel == 0 {
        bail!("--parallel must be at least 1");
    }
    let mut outcomes = vec![JobOutcome::NotStarted; jobs];
    let mut running: Vec<Running> = Vec::new();
    let mut next = 0;
    let mut stopping = false;
    loop {
        if !stopping && stop.load(Ordering::SeqCst) {
            stopping = true;
            running.iter().for_each(|r| interrupt(&r.child));
            report(&Event::Stopping {
                running: running.iter().map(|r| r.index).collect(),
            });
        }
        while !stopping && running.len() < parallel && next < jobs {
            let index = next;
            next += 1;
            let started = Instant::now();
            match launch(index) {
                Ok(child) => {
                    report(&Event::Started { index });
                    running.push(Running {
                        index,
                        child,
                        started,
                    });
                }
                Err(e) => {
                    outcomes[index] = JobOutcome::Failed;
                    report(&Event::Finished {
                        index,
                        result: Err(format!("{e:#}")),
                        elapsed: started.elapsed(),
                    });
                }
            }
        }
        if running.is_empty() && (stopping || next == jobs) {
            return Ok(outcomes);
        }
        if !reap(&mut running, &mut outcomes, &mut report) {
            std::thread::sleep(POLL);
        }
    }
}

/// Reports and removes the jobs that have ended, recording how; whether any had.
fn reap(
    running: &mut Vec<Running>,
    outcomes: &mut [JobOutcome],
    report: &mut impl FnMut(&Event),
) -> bool {
    let mut any = false;
    let mut i = 0;
    while i < running.len() {
        let result = match running[i].child.try_wait() {
            Ok(None) => {
                i += 1;
                continue;
            }
            Ok(Some(status)) => Ok(status),
            Err(e) => Err(format!("waiting for the process: {e}")),
        };
        let Running { index, started, .. } = running.swap_remove(i);
        outcomes[index] = result
            .as_ref()
            .map_or(JobOutcome::Failed, |s| JobOutcome::of(*s));
        report(&Event::Finished {
            index,
            result,
            elapsed: started.elapsed(),
        });
        any = true;
    }
    any
}

/// Asks a job to stop as Ctrl-C does: the trainer finishes its step, checkpoints, records the
/// run interrupted and exits [`EXIT_STOPPED`]. A job that has just ended is reaped as usual.
fn interrupt(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects, and the child is not reaped yet, so its pid
        // cannot belong to another process.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
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
        let ended = run_jobs(5, 2, &AtomicBool::new(false), launch, |e| {
            events.push(format!("{e:?}"))
        })?;
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

    /// A job standing in for the trainer: on its first SIGINT it notes the signal, takes a
    /// moment (its checkpoint) and exits as stopped; it writes `ready` once it listens.
    fn stoppable_job(dir: &Path) -> Result<Child> {
        let (ready, signals) = (dir.join("ready"), dir.join("signals"));
        let script = format!(
            "trap 'echo INT >> \"{}\"; sleep 0.2; exit {EXIT_STOPPED}' INT; touch \"{}\"; \
             while :; do sleep 0.02; done",
            signals.display(),
            ready.display()
        );
        let child = Command::new("sh").arg("-c").arg(script).spawn()?;
        while !ready.exists() {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(child)
    }

    #[test]
    fn asked_to_stop_the_running_job_gets_one_sigint_and_no_other_starts() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let stop = AtomicBool::new(false);
        let mut events = Vec::new();
        let ended = run_jobs(
            3,
            1,
            &stop,
            |_| stoppable_job(dir.path()),
            |e| {
                if matches!(e, Event::Started { index: 0 }) {
                    stop.store(true, Ordering::SeqCst);
                }
                events.push(format!("{e:?}"));
            },
        )?;
        use JobOutcome::{NotStarted, Stopped};
        assert_eq!(ended, vec![Stopped, NotStarted, NotStarted]);
        assert_eq!(events[1], "Stopping { running: [0] }", "{events:?}");
        assert_eq!(events.len(), 3, "{events:?}");
        let signals = std::fs::read_to_string(dir.path().join("signals"))?;
        assert_eq!(signals, "INT\n", "exactly one SIGINT");
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
        let ended = run_jobs(2, 1, &AtomicBool::new(false), launch, |e| {
            if let Event::Finished {
                result: Err(msg), ..
            } = e
            {
                failed_to_start = msg.clone();
            }
        })?;
        assert_eq!(ended, vec![JobOutcome::Failed, JobOutcome::Finished]);
        assert_eq!(failed_to_start, "no such program");
        assert!(run_jobs(1, 0, &AtomicBool::new(false), launch, |_| {}).is_err());
        Ok(())
    }
}
