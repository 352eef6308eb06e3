//! Whether a run recorded as running still has its process. Seen from the host it trains on, a
//! run whose process has ended without closing it (killed, out of memory) has crashed at once;
//! seen from anywhere else it has crashed when its heartbeat goes stale
//! ([`super::STALE_HEARTBEAT_SECS`]).

use std::collections::BTreeSet;

use anyhow::Result;

use super::{Lab, Run, RunId};

/// This host's name, as runs record it.
pub fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The runs recorded as running on this host whose process had ended when [`Lab::vanished`]
/// looked. A read of the runs made *after* that look which still finds one running has found a
/// run that died without closing; one made before could have caught a run that closed and
/// exited between the read and the look.
#[derive(Clone, Debug, Default)]
pub struct Vanished(BTreeSet<(RunId, i64)>);

impl Vanished {
    /// Whether `run`, as read after the look, died without closing: still recorded as running,
    /// by the process that had ended (a resume since records a process of its own).
    pub fn holds(&self, run: &Run) -> bool {
        run.status == super::RunStatus::Running
            && run.pid.is_some_and(|pid| self.0.contains(&(run.id, pid)))
    }

    /// The ended process of run `id`, if it had one.
    pub fn pid(&self, id: RunId) -> Option<i64> {
        self.0
            .range((id, i64::MIN)..=(id, i64::MAX))
            .next()
            .map(|&(_, pid)| pid)
    }

    /// Marks the runs that died without closing ([`Run::process_ended`]).
    pub fn mark(&self, runs: &mut [Run]) {
        for r in runs {
            r.process_ended = self.holds(r);
        }
    }
}

impl Lab {
    /// Looks at the processes of the runs recorded as running on this host (see [`Vanished`]).
    pub fn vanished(&self) -> Result<Vanished> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, pid FROM runs
             WHERE status = 'running' AND hostname = ?1 AND pid IS NOT NULL",
        )?;
        let running = stmt
            .query_map([this_host()], |r| {
                Ok((RunId(r.get(0)?), r.get::<_, i64>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Vanished(
            running
                .into_iter()
                .filter(|&(_, pid)| process_ended(pid))
                .collect(),
        ))
    }

    /// Every run, as [`Lab::list_runs`], with those that died without closing on this host
    /// marked.
    pub fn list_runs_seen(&self) -> Result<Vec<Run>> {
        let vanished = self.vanished()?;
        let mut runs = self.list_runs()?;
        vanished.mark(&mut runs);
        Ok(runs)
    }

    /// One run, as [`Lab::find_run`], marked if it died without closing on this host.
    pub fn find_run_seen(&self, key: &str) -> Result<Run> {
        let vanished = self.vanished()?;
        let mut run = self.find_run(key)?;
        run.process_ended = vanished.holds(&run);
        Ok(run)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures;
    use crate::lab::RunStatus;

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
    fn a_running_run_whose_process_ended_here_has_crashed_at_once() -> Result<()> {
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
        // The same dead process, recorded by a run of another host: nothing is known of it here.
        let mut elsewhere = fixtures::new_run("r");
        elsewhere.hostname = format!("{}-elsewhere", this_host());
        let far = lab.create_run(&elsewhere)?;
        lab.mark_running(far, 10, lab.run(dead)?.unwrap().pid.unwrap() as u32)?;

        let runs = lab.list_runs_seen()?;
        let now = crate::lab::now();
        let status = |id: RunId| {
            runs.iter()
                .find(|r| r.id == id)
                .unwrap()
                .effective_status(now)
        };
        assert_eq!(status(dead), RunStatus::Crashed);
        assert_eq!(status(live), RunStatus::Running);
        assert_eq!(status(far), RunStatus::Running);
        // The record is untouched: it still says running, and a plain read sees it so.
        assert_eq!(
            lab.run(dead)?.unwrap().effective_status(now),
            RunStatus::Running
        );
        assert!(lab.find_run_seen(&dead.0.to_string())?.process_ended);
        assert!(!lab.find_run_seen(&live.0.to_string())?.process_ended);

        // A look taken before the run was resumed by another process does not hold for it.
        let vanished = lab.vanished()?;
        lab.mark_running(dead, 10, std::process::id())?;
        let resumed = lab.run(dead)?.unwrap();
        assert!(!vanished.holds(&resumed));
        // Nor for one that closed after the look.
        lab.finish_run(dead, RunStatus::Completed, None)?;
        assert!(!vanished.holds(&lab.run(dead)?.unwrap()));
        Ok(())
    }
}
