//! Whether a run recorded as running still has its process. Seen from the host it trains on, a
//! run whose process has ended without closing it (killed, out of memory) has crashed at once,
//! and one whose process is there is running, though its heartbeat be stale (the process paused,
//! or busy); seen from anywhere else, it has crashed when its heartbeat goes stale
//! ([`super::STALE_HEARTBEAT_SECS`]).

use std::collections::BTreeMap;

use anyhow::Result;

use super::{Lab, Run, RunId};

/// This host's name, as runs record it.
pub fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// SQL for the host a run of `runs` trains on now: its last resume's, else the one it started
/// on (`runs.hostname` stays the first host, which a merge knows the run by).
pub const TRAINS_ON: &str = "coalesce((SELECT r.hostname FROM run_resumes r
     WHERE r.run_id = runs.id ORDER BY r.resumed_at DESC, r.id DESC LIMIT 1), runs.hostname)";

/// What this host saw of the process recorded as training a run ([`Lab::look`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Process {
    /// Not looked at (the run is not running, trains on another host, or was read without a
    /// look), or nothing sure was seen: its heartbeat says.
    #[default]
    Unknown,
    /// No such process: the run died without closing.
    Ended,
    /// The trainer itself, there, though its heartbeat may be stale (paused, or busy).
    Alive,
}

/// The processes of the runs recorded as running (or queued) on this host, as [`Lab::look`]
/// saw them. A read of the runs made *after* the look which still finds one running, by the
/// same process, finds it as the look did; one made before could have caught a run that closed
/// and exited between the read and the look, and taken it for dead.
#[derive(Clone, Debug, Default)]
pub struct Processes(BTreeMap<RunId, (i64, Process)>);

impl Processes {
    /// What was seen of the process of `run`, as read after the look: still recorded as
    /// running, or as queued (its trainer loading), by the process looked at (a resume since
    /// records a process of its own).
    pub fn of(&self, run: &Run) -> Process {
        use super::RunStatus::{Queued, Running};
        match (run.status, run.pid, self.0.get(&run.id)) {
            (Running | Queued, Some(pid), Some(&(seen, process))) if pid == seen => process,
            _ => Process::Unknown,
        }
    }

    /// The process of run `id`, where it was seen as `process`.
    pub fn pid_seen(&self, id: RunId, process: Process) -> Option<i64> {
        self.0
            .get(&id)
            .filter(|&&(_, seen)| seen == process)
            .map(|&(pid, _)| pid)
    }

    /// Sets what was seen on each run ([`Run::process`]).
    pub fn mark(&self, runs: &mut [Run]) {
        for r in runs {
            r.process = self.of(r);
        }
    }
}

impl Lab {
    /// Looks at the processes of the runs recorded as running, or queued, on this host (see
    /// [`Processes`]). A queued run has no heartbeat yet: its trainer started before it was
    /// registered.
    pub fn look(&self) -> Result<Processes> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT id, pid, coalesce(heartbeat_at, created_at) FROM runs
             WHERE status IN ('running', 'queued') AND {TRAINS_ON} = ?1 AND pid IS NOT NULL"
        ))?;
        let running = stmt
            .query_map([this_host()], |r| {
                Ok((
                    RunId(r.get(0)?),
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Processes(
            running
                .into_iter()
                .map(|(id, pid, heartbeat)| (id, (pid, seen(pid, heartbeat))))
                .collect(),
        ))
    }

    /// Every run, as [`Lab::list_runs`], with what this host sees of their processes.
    pub fn list_runs_seen(&self) -> Result<Vec<Run>> {
        let processes = self.look()?;
        let mut runs = self.list_runs()?;
        processes.mark(&mut runs);
        Ok(runs)
    }

    /// One run, as [`Lab::find_run`], with what this host sees of its process.
    pub fn find_run_seen(&self, key: &str) -> Result<Run> {
        let processes = self.look()?;
        let mut run = self.find_run(key)?;
        run.process = processes.of(&run);
        Ok(run)
    }
}

/// How much later than a run's last heartbeat the process of its pid may have started and
/// still be taken for its trainer: the clocks compared (the kernel's boot time and the
/// wall clock) agree to about a second. A later one has the pid of a trainer that ended.
const START_SLACK_SECS: f64 = 2.0;

/// What is seen of process `pid`, recorded by a run whose last heartbeat was `heartbeat`.
fn seen(pid: i64, heartbeat: Option<f64>) -> Process {
    if process_ended(pid) {
        return Process::Ended;
    }
    let stat = stat(pid);
    // A zombie has ended; only its parent's wait is missing (one that never waits, a
    // container's init that reaps nothing, would leave it running forever).
    if stat.is_some_and(|(state, _)| matches!(state, 'Z' | 'X')) {
        return Process::Ended;
    }
    match (stat.map(|(_, start)| start), heartbeat) {
        (Some(start), Some(beat)) if start <= beat + START_SLACK_SECS => Process::Alive,
        // Its pid taken by a process started since, or not to be told: the heartbeat says.
        _ => Process::Unknown,
    }
}

/// Whether this host has no process `pid`. One of another user's (which may not be signalled)
/// exists; so does a zombie, until its parent reaps it.
pub fn process_ended(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // Signal 0 sends nothing: it asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Process `pid`'s state (`R`, `S`, `T`, `Z`, ...) and when it started, in seconds since the
/// epoch, where /proc tells (Linux).
fn stat(pid: i64) -> Option<(char, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name in parentheses may hold spaces; the fields after it start at the third (the
    // state), and the 22nd is the start, in clock ticks after boot.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ticks: f64 = fields.nth(18)?.parse().ok()?;
    let boot: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| (state, boot + ticks / hz as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures;
    use crate::lab::RunStatus;
    use anyhow::Context;

    /// A child process that has exited and been reaped: its pid names no process (until the
    /// system hands it out again, which takes a wrap of the pid space).
    fn ended_pid() -> i64 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id() as i64;
        child.wait().expect("wait");
        pid
    }

    #[test]
    fn a_process_is_ended_once_it_exits_and_is_reaped() {
        assert!(!process_ended(std::process::id() as i64), "this process");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i64;
        assert!(!process_ended(pid), "a live child");
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(process_ended(pid), "a killed and reaped child");
        assert!(!process_ended(0) && !process_ended(-1) && !process_ended(i64::MAX));
    }

    #[test]
    fn a_trainers_process_is_told_from_one_that_took_its_pid() {
        let me = std::process::id() as i64;
        let start = stat(me)
            .map(|s| s.1)
            .expect("this process's start, from /proc");
        let now = crate::lab::now();
        assert!(
            start <= now && start > now - 3600.0,
            "{start} against {now}"
        );
        // A run that beat its heartbeat since this process started is this process's.
        assert_eq!(seen(me, Some(now)), Process::Alive);
        // One whose last heartbeat came before this process started had a process that ended,
        // and whose pid this one took: not seen, so its heartbeat says.
        assert_eq!(seen(me, Some(start - 60.0)), Process::Unknown);
        assert_eq!(seen(me, None), Process::Unknown);
        assert_eq!(seen(ended_pid(), Some(now)), Process::Ended);
        // A killed child not yet reaped (a zombie) has ended all the same.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i64;
        child.kill().expect("kill");
        let zombie = (0..200).find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            stat(pid).filter(|(state, _)| *state == 'Z')
        });
        assert!(zombie.is_some(), "the child became a zombie");
        assert_eq!(seen(pid, Some(now)), Process::Ended);
        child.wait().expect("wait");
    }

    #[test]
    fn a_queued_run_is_live_while_its_trainer_is_there() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let mut new = fixtures::new_run("loading");
        new.hostname = this_host();
        let id = lab.create_run(&new)?;
        let key = id.0.to_string();
        let (now, later) = (crate::lab::now(), crate::lab::now() + 3600.0);
        // Registered by this process, its trainer, which is there: live however long it loads.
        let run = lab.find_run_seen(&key)?;
        assert_eq!(run.pid, Some(i64::from(std::process::id())));
        assert_eq!(run.process, Process::Alive);
        assert!(run.is_live(now) && run.is_live(later));
        // Read without a look, or on another host, the time since it was registered says.
        let unseen = lab.run(id)?.context("run")?;
        assert!(unseen.is_live(now) && !unseen.is_live(later));
        // Its trainer gone: left queued by a trainer killed as it loaded, at once.
        lab.conn().execute(
            "UPDATE runs SET pid = ?2 WHERE id = ?1",
            rusqlite::params![id.0, ended_pid()],
        )?;
        let run = lab.find_run_seen(&key)?;
        assert_eq!(run.process, Process::Ended);
        assert!(!run.is_live(now));
        assert_eq!(run.effective_status(now), RunStatus::Queued);
        Ok(())
    }

    #[test]
    fn a_running_run_is_as_its_process_on_this_host_shows_it() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let here = |pid: i64| -> Result<RunId> {
            let mut new = fixtures::new_run("r");
            new.hostname = this_host();
            let id = lab.create_run(&new)?;
            lab.mark_running(id, 10, pid as u32)?;
            Ok(id)
        };
        let dead = here(ended_pid())?;
        let live = here(std::process::id() as i64)?;
        let dead_pid = lab.run(dead)?.context("run")?.pid.context("pid")?;
        // The same dead process, recorded by a run of another host: nothing is known of it here.
        let mut elsewhere = fixtures::new_run("r");
        elsewhere.hostname = format!("{}-elsewhere", this_host());
        let far = lab.create_run(&elsewhere)?;
        lab.mark_running(far, 10, dead_pid as u32)?;

        let now = crate::lab::now();
        let status = |runs: &[Run], id: RunId| {
            runs.iter()
                .find(|r| r.id == id)
                .map(|r| r.effective_status(now))
        };
        let runs = lab.list_runs_seen()?;
        assert_eq!(status(&runs, dead), Some(RunStatus::Crashed));
        assert_eq!(status(&runs, live), Some(RunStatus::Running));
        assert_eq!(status(&runs, far), Some(RunStatus::Running));
        // A second resume of a run training here, its heartbeat fresh, is refused as such.
        let err = lab.mark_running(live, 10, 1).unwrap_err().to_string();
        assert!(
            err.contains("is already running in another process: stop it first"),
            "{err}"
        );

        // Where a run trains is where it was last resumed: the run of the other host resumed
        // here is looked at here, and one of this host resumed elsewhere is not.
        let resumed_on = |run: RunId, host: &str| {
            lab.add_resume(run, &fixtures::resume(crate::lab::now(), 0, host))
        };
        resumed_on(far, &this_host())?;
        assert_eq!(
            lab.find_run_seen(&far.0.to_string())?.process,
            Process::Ended
        );
        resumed_on(dead, "elsewhere")?;
        assert_eq!(
            lab.find_run_seen(&dead.0.to_string())?.process,
            Process::Unknown
        );
        resumed_on(dead, &this_host())?;
        // The record is untouched: it still says running, and a plain read sees it so.
        assert_eq!(status(&lab.list_runs()?, dead), Some(RunStatus::Running));
        assert_eq!(
            lab.find_run_seen(&dead.0.to_string())?.process,
            Process::Ended
        );

        // A live process whose heartbeat went stale (paused, or busy) is still running here,
        // and is not resumed by another; elsewhere its heartbeat would say crashed. Process 1
        // stands for it, its heartbeat beaten after it started and stale now. It started long
        // before where the tests were built first; in a container started just to run them, the
        // test waits until it is old enough for that.
        let paused = here(1)?;
        let init = stat(1).map(|s| s.1).context("process 1's start")?;
        let stale_after = crate::lab::STALE_HEARTBEAT_SECS + 1.0;
        let young = init + stale_after + 1.0 - crate::lab::now();
        if young > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(young));
        }
        let now = crate::lab::now();
        let beat = now - stale_after;
        assert!(init < beat, "process 1 started {}s ago", now - init);
        lab.conn().execute(
            "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1",
            rusqlite::params![paused.0, beat],
        )?;
        let stale = lab.find_run_seen(&paused.0.to_string())?;
        assert_eq!(stale.process, Process::Alive);
        assert_eq!(stale.effective_status(now), RunStatus::Running);
        assert_eq!(
            lab.run(paused)?.context("run")?.effective_status(now),
            RunStatus::Crashed
        );
        let err = lab.mark_running(paused, 10, 2).unwrap_err().to_string();
        assert!(
            err.contains("(process 1 of this host, its heartbeat stale: paused, or busy)"),
            "{err}"
        );
        // Its heartbeat from before process 1 started: the pid is another's now.
        lab.conn().execute(
            "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1",
            rusqlite::params![paused.0, init - 60.0],
        )?;
        let reused = lab.find_run_seen(&paused.0.to_string())?;
        assert_eq!(reused.process, Process::Unknown);
        assert_eq!(reused.effective_status(now), RunStatus::Crashed);

        // A look taken before the run was resumed by another process does not hold for it.
        let processes = lab.look()?;
        lab.mark_running(dead, 10, std::process::id())?;
        let resumed = lab.run(dead)?.context("run")?;
        assert_eq!(processes.of(&resumed), Process::Unknown);
        // Nor for one that closed after the look.
        lab.finish_run(dead, RunStatus::Completed, None)?;
        assert_eq!(
            processes.of(&lab.run(dead)?.context("run")?),
            Process::Unknown
        );
        Ok(())
    }
}
