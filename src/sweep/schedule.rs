//! Running child processes at most N at a time, reporting each start and end as it happens,
//! and stopping them all as Ctrl-C stops one when asked to.

use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::signals::{SAME_REQUEST, STOP_ONCE};

/// How often running children (and the stop request) are checked: short next to any training
/// run, long enough not to spin a core.
const POLL: Duration = Duration::from_millis(50);

/// The status `facenet-lab run` exits with when the run stopped before its end: asked to
/// (SIGINT, SIGTERM, SIGHUP, or [`STOP_ONCE`], which the dashboard's `X` and a sweep send), or
/// at its --time-limit or --stop-after-epoch. The run is recorded as interrupted and continues
/// from its last checkpoint with `run --resume`. `tests/train_cli.rs` holds the trainer to it.
pub const EXIT_STOPPED: i32 = 130;

/// How one job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Finished,
    /// Stopped before the end ([`EXIT_STOPPED`]: asked to, or at its time limit): not a
    /// failure, and resumable.
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
#[derive(Clone, Debug)]
pub enum Event {
    Started {
        index: usize,
    },
    /// Asked to stop: each of the `running` jobs was sent the sweep's stop (SIGUSR1), and no
    /// other will start.
    Stopping {
        running: Vec<usize>,
    },
    /// Asked again: the `running` jobs were sent SIGINT, which makes a trainer quit at once,
    /// without its checkpoint.
    QuittingNow {
        running: Vec<usize>,
    },
    /// A while has passed since the last start, end or progress: the jobs `running`, each with
    /// how long it has run.
    Progress {
        running: Vec<(usize, Duration)>,
    },
    /// The process ended, or (`Err`) could not be started or waited for.
    Finished {
        index: usize,
        result: std::result::Result<ExitStatus, String>,
        elapsed: Duration,
    },
}

impl Event {
    /// The event with each job index `j` as `index[j]`: jobs run from a list that leaves some
    /// out, named by their place in the whole.
    pub fn renumbered(&self, index: &[usize]) -> Event {
        let at = |j: &usize| index[*j];
        match self {
            Event::Started { index: j } => Event::Started { index: at(j) },
            Event::Stopping { running } => Event::Stopping {
                running: running.iter().map(at).collect(),
            },
            Event::QuittingNow { running } => Event::QuittingNow {
                running: running.iter().map(at).collect(),
            },
            Event::Progress { running } => Event::Progress {
                running: running.iter().map(|(j, t)| (at(j), *t)).collect(),
            },
            Event::Finished {
                index: j,
                result,
                elapsed,
            } => Event::Finished {
                index: at(j),
                result: result.clone(),
                elapsed: *elapsed,
            },
        }
    }
}

/// A job that was started and has not been seen to end.
struct Running {
    index: usize,
    child: Child,
    started: Instant,
}

/// Starts job `0..jobs` through `launch`, keeping at most `parallel` alive, and calls `report`
/// with every start and end, and with the progress of those running `every` so long without
/// either. `stop` counts stop requests: after the first, each running job
/// gets one [`STOP_ONCE`] (the trainer's graceful stop, or nothing new to a trainer that is
/// stopping already), no more are started, and the running ones are waited for; after a
/// second, they get a SIGINT, which makes a trainer that is stopping quit at once.
/// Returns how each job ended, by index.
pub fn run_jobs(
    jobs: usize,
    parallel: usize,
    stop: &AtomicUsize,
    every: Option<Duration>,
    mut launch: impl FnMut(usize) -> Result<Child>,
    mut report: impl FnMut(&Event),
) -> Result<Vec<JobOutcome>> {
    if parallel == 0 {
        bail!("--parallel must be at least 1");
    }
    let mut outcomes = vec![JobOutcome::NotStarted; jobs];
    let mut running: Vec<Running> = Vec::new();
    let mut next = 0;
    // Stop requests passed on so far: one signal each to the running jobs, two at the most,
    // and one a pass; the second no sooner than a trainer takes it for a second request
    // (within SAME_REQUEST of the first it is the first heard twice, and dropped).
    let mut passed = 0;
    let mut first_passed: Option<Instant> = None;
    // Every report restarts the wait for the next progress.
    let said = std::cell::Cell::new(Instant::now());
    let mut report = |e: &Event| {
        said.set(Instant::now());
        report(e);
    };
    loop {
        let second_heard = first_passed.is_none_or(|t| t.elapsed() > SAME_REQUEST + POLL);
        if passed < stop.load(Ordering::SeqCst).min(2) && second_heard {
            passed += 1;
            first_passed.get_or_insert_with(Instant::now);
            let signal = if passed == 1 { STOP_ONCE } else { libc::SIGINT };
            running.iter().for_each(|r| interrupt(&r.child, signal));
            let running = running.iter().map(|r| r.index).collect();
            report(&if passed == 1 {
                Event::Stopping { running }
            } else {
                Event::QuittingNow { running }
            });
        }
        // A stop asked while the last job started waits for the top of the loop.
        while stop.load(Ordering::SeqCst) == 0 && running.len() < parallel && next < jobs {
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
        if running.is_empty() && (passed > 0 || next == jobs) {
            return Ok(outcomes);
        }
        if !reap(&mut running, &mut outcomes, &mut report) {
            std::thread::sleep(POLL);
        }
        if every.is_some_and(|e| said.get().elapsed() >= e) && !running.is_empty() {
            report(&Event::Progress {
                running: running
                    .iter()
                    .map(|r| (r.index, r.started.elapsed()))
                    .collect(),
            });
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

/// Signals a job to stop: the trainer finishes its step, checkpoints, records the run
/// interrupted and exits [`EXIT_STOPPED`], or quits at once on a second request. A job that has
/// just ended is reaped as usual.
fn interrupt(child: &Child, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects, and the child is not reaped yet, so its pid
        // cannot belong to another process.
        unsafe { libc::kill(pid, signal) };
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
        let ended = run_jobs(5, 2, &AtomicUsize::new(0), None, launch, |e| {
            events.push(format!("{e:?}"))
        })?;
        use JobOutcome::{Failed, Finished, Stopped};
        assert_eq!(ended, vec![Finished, Stopped, Failed, Failed, Finished]);
        assert_eq!(events.len(), 10, "a start and an end per job: {events:?}");

        // The scheduler had two jobs out at once and never three, by its own events (the
        // processes' log cannot show the two: on a loaded machine the first job may end before
        // the second's shell writes its start) ...
        let (mut out, mut peak) = (0i32, 0i32);
        for e in &events {
            out += if e.starts_with("Started") { 1 } else { -1 };
            peak = peak.max(out);
        }
        assert_eq!(peak, 2, "two out together, never three: {events:?}");
        // ... and no three processes ever ran at once.
        let (mut now, mut most) = (0i32, 0i32);
        for line in std::fs::read_to_string(&log)?.lines() {
            now += if line == "start" { 1 } else { -1 };
            most = most.max(now);
        }
        assert!((1..=2).contains(&most), "{most} ran together");
        Ok(())
    }

    /// A shell job standing in for the trainer: on each SIGINT or SIGUSR1 (the sweep's stop)
    /// it notes the signal's name in `DIR/signals`, then runs `on_stop` (with `n` counting the
    /// signals); it touches `DIR/ready` once it listens, and is returned then.
    fn job(dir: &Path, on_stop: &str) -> Result<Child> {
        use std::os::unix::process::CommandExt as _;
        let (ready, signals) = (dir.join("ready"), dir.join("signals"));
        let trap = |name: &str| {
            format!(
                "trap 'echo {name} >> \"{}\"; n=$((n+1)); {on_stop}' {name}; ",
                signals.display()
            )
        };
        let script = format!(
            "n=0; {}{}touch \"{}\"; while :; do sleep 0.02; done",
            trap("INT"),
            trap("USR1"),
            ready.display()
        );
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        // A non-interactive shell starts its background jobs with SIGINT ignored (`cargo test
        // &`), every process below inherits that, and a shell cannot trap a signal ignored when
        // it started: the job would never hear the stop. So it starts with SIGINT at its
        // default. (The trainer's handler takes SIGINT whatever it inherited.)
        // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("the stand-in job did not start within 30 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(child)
    }

    /// Stops as the trainer does when first asked: a moment (its checkpoint), then exits as
    /// stopped.
    fn stoppable_job(dir: &Path) -> Result<Child> {
        job(dir, &format!("sleep 0.2; exit {EXIT_STOPPED}"))
    }

    #[test]
    fn asked_to_stop_the_running_job_gets_one_signal_and_no_other_starts() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let stop = AtomicUsize::new(0);
        let mut events = Vec::new();
        let ended = run_jobs(
            3,
            1,
            &stop,
            None,
            |_| stoppable_job(dir.path()),
            |e| {
                if matches!(e, Event::Started { index: 0 }) {
                    stop.store(1, Ordering::SeqCst);
                }
                events.push(format!("{e:?}"));
            },
        )?;
        use JobOutcome::{NotStarted, Stopped};
        assert_eq!(ended, vec![Stopped, NotStarted, NotStarted]);
        assert_eq!(events[1], "Stopping { running: [0] }", "{events:?}");
        assert_eq!(events.len(), 3, "{events:?}");
        let signals = std::fs::read_to_string(dir.path().join("signals"))?;
        assert_eq!(signals, "USR1\n", "exactly one stop, the sweep's");
        Ok(())
    }

    /// A stop asked while a job is being started lets that one start (it gets its signal at
    /// once) and no other, though a second slot is free.
    #[test]
    fn a_stop_asked_as_a_job_starts_starts_no_other() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let stop = AtomicUsize::new(0);
        let launch = |i: usize| {
            let child = stoppable_job(dir.path());
            if i == 0 {
                stop.store(1, Ordering::SeqCst);
            }
            child
        };
        let ended = run_jobs(3, 2, &stop, None, launch, |_| {})?;
        use JobOutcome::{NotStarted, Stopped};
        assert_eq!(ended, vec![Stopped, NotStarted, NotStarted]);
        Ok(())
    }

    /// Asked twice, the running jobs get a SIGINT after the sweep's stop: to a trainer that is
    /// stopping, "quit now".
    #[test]
    fn asked_again_the_running_job_gets_a_sigint() -> Result<()> {
        let dir = tempfile::tempdir()?;
        // Exits only on its second signal, as the trainer quits at once then.
        let launch = |_| job(dir.path(), &format!("[ $n -ge 2 ] && exit {EXIT_STOPPED}"));
        let stop = AtomicUsize::new(0);
        let mut events = Vec::new();
        let heard = dir.path().join("signals");
        let mut passed_at = Vec::new();
        let ended = run_jobs(1, 1, &stop, None, launch, |e| {
            match e {
                Event::Started { .. } => stop.store(1, Ordering::SeqCst),
                Event::Stopping { .. } => {
                    passed_at.push(Instant::now());
                    // Asked again once the job has heard the first: a shell that finds two
                    // signals pending runs their traps in signal order, SIGINT first.
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while !std::fs::read_to_string(&heard).is_ok_and(|s| s.contains("USR1"))
                        && Instant::now() < deadline
                    {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    stop.store(2, Ordering::SeqCst)
                }
                Event::QuittingNow { .. } => passed_at.push(Instant::now()),
                _ => {}
            }
            events.push(format!("{e:?}"));
        })?;
        assert_eq!(ended, vec![JobOutcome::Stopped]);
        assert_eq!(events[2], "QuittingNow { running: [0] }", "{events:?}");
        // A trainer hears the second as a second request only SAME_REQUEST after the first.
        assert!(passed_at[1] - passed_at[0] > SAME_REQUEST, "{passed_at:?}");
        let signals = std::fs::read_to_string(dir.path().join("signals"))?;
        assert_eq!(signals, "USR1\nINT\n");
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
        let ended = run_jobs(2, 1, &AtomicUsize::new(0), None, launch, |e| {
            if let Event::Finished {
                result: Err(msg), ..
            } = e
            {
                failed_to_start = msg.clone();
            }
        })?;
        assert_eq!(ended, vec![JobOutcome::Failed, JobOutcome::Finished]);
        assert_eq!(failed_to_start, "no such program");
        assert!(run_jobs(1, 0, &AtomicUsize::new(0), None, launch, |_| {}).is_err());
        Ok(())
    }

    /// Between starts and ends, a progress of the running jobs comes every so long; none
    /// without `every`, and none once nothing runs.
    #[test]
    fn a_long_quiet_spell_gets_a_progress_of_the_running_jobs() -> Result<()> {
        // The job runs until the test has seen two progresses, however slow the machine; it
        // gives up (and fails the run) after a minute, so a sweep that never says one fails
        // this test instead of hanging it.
        let dir = tempfile::tempdir()?;
        let done = dir.path().join("done");
        let launch = |_| -> Result<Child> {
            Ok(Command::new("sh")
                .arg("-c")
                .arg("for _ in $(seq 3000); do [ -e \"$1\" ] && exit 0; sleep 0.02; done; exit 1")
                .arg("sh")
                .arg(&done)
                .spawn()?)
        };
        let mut events = Vec::new();
        run_jobs(
            1,
            1,
            &AtomicUsize::new(0),
            Some(Duration::from_millis(100)),
            launch,
            |e| {
                events.push(e.clone());
                let seen = events
                    .iter()
                    .filter(|e| matches!(e, Event::Progress { .. }));
                if seen.count() == 2 {
                    std::fs::write(&done, "").expect("end the job");
                }
            },
        )?;
        let progresses: Vec<&Vec<(usize, Duration)>> = events
            .iter()
            .filter_map(|e| match e {
                Event::Progress { running } => Some(running),
                _ => None,
            })
            .collect();
        assert!(progresses.len() >= 2, "{events:?}");
        for running in &progresses {
            assert_eq!(running.len(), 1);
            assert_eq!(running[0].0, 0);
            assert!(running[0].1 >= Duration::from_millis(100));
        }
        assert!(
            matches!(events.last(), Some(Event::Finished { result: Ok(s), .. }) if s.success()),
            "{events:?}"
        );
        let mut quiet = Vec::new();
        let nap = |_| -> Result<Child> { Ok(Command::new("sleep").arg("0.3").spawn()?) };
        run_jobs(1, 1, &AtomicUsize::new(0), None, nap, |e| {
            quiet.push(e.clone())
        })?;
        assert_eq!(quiet.len(), 2, "{quiet:?}");
        Ok(())
    }
}
