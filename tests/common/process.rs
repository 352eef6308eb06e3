//! Processes a test starts (a trainer, a sweep): signalling them, waiting on them with a
//! deadline, and never leaving one behind when the test fails.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Sends `signal` to `pid` (a negative pid names a process group), as `kill(1)` does.
pub fn kill(pid: i64, signal: libc::c_int) -> Result<()> {
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: kill(2) reads no memory of ours.
    let sent = unsafe { libc::kill(pid, signal) };
    anyhow::ensure!(
        sent == 0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

/// Sends `signal` to a child process that has not been reaped.
pub fn signal(child: &Child, signal: libc::c_int) -> Result<()> {
    kill(i64::from(child.id()), signal)
}

/// Whether a process with this pid (a process, not a group: positive) exists, a zombie
/// included. The tests' processes are all their user's, so kill(2) is never refused.
pub fn is_alive(pid: i64) -> bool {
    pid > 0 && kill(pid, 0).is_ok()
}

/// Calls `ready` every 50 ms until it gives a value, or fails with `what` after `within`.
pub fn poll<T>(
    within: Duration,
    what: &str,
    mut ready: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = ready()? {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for `child` to exit; one still running after `within` is killed and the wait fails.
pub fn exits_within(child: &mut Child, within: Duration) -> Result<ExitStatus> {
    let waited = poll(within, "the process did not exit", || Ok(child.try_wait()?));
    if waited.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    waited
}

/// Waits (at most `within`, as [`exits_within`]) for `child` to exit, and gives its exit code
/// and what it wrote to its piped stderr; a child that had to be killed is an error that
/// carries that stderr.
pub fn output_within(mut child: Child, within: Duration) -> Result<(Option<i32>, String)> {
    let exited = exits_within(&mut child, within);
    let out = child.wait_with_output()?;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    exited.with_context(|| err.clone())?;
    Ok((out.status.code(), err))
}

/// Kills the process (SIGKILL) when dropped while it is still alive: a trainer a test started
/// indirectly (through a sweep) does not outlive a failing test. A pid read from a lab under
/// test that is not positive (a group, or every process) is never signalled.
pub struct KillOnDrop(pub i64);

impl KillOnDrop {
    /// The process was reaped: its pid may be another's now, so it must not be killed.
    pub fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if is_alive(self.0) {
            let _ = kill(self.0, libc::SIGKILL);
        }
    }
}

/// A signal mask line of `/proc/PID/status` (`SigBlk`, `SigPnd`, `ShdPnd`): bit `n - 1` is
/// signal `n`.
pub fn signal_mask(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(u64::from_str_radix(hex.trim(), 16)?)
}

/// Waits until the kernel reports `child` stopped (by a SIGSTOP it sent itself, say).
pub fn stopped(child: &Child) -> Result<()> {
    let stat = format!("/proc/{}/stat", child.id());
    poll(Duration::from_secs(10), "the process did not stop", || {
        let s = std::fs::read_to_string(&stat)?;
        let state = facenet_lab::tui::process::stat_fields(&s).and_then(|mut f| f.next());
        Ok((state == Some("T")).then_some(()))
    })
}
