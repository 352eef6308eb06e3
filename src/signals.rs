//! Stop requests by signal. Ctrl-C (SIGINT), SIGTERM and SIGHUP call one handler, as the
//! `ctrlc` crate sets it up, with two amendments: a SIGHUP that was ignored when the process
//! started (`nohup`) stays ignored, so that logging out does not stop the work; and SIGINT,
//! which a sweep blocks in the runs it starts until they can take it, is unblocked once the
//! handler is in place (a SIGINT that came in meanwhile then reaches the handler).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A second signal this soon after the first is the same request arriving twice: `timeout` and
/// job schedulers signal a process and then its whole group, so a sweep hears one request
/// twice, and its run hears it directly and through the sweep.
pub const SAME_REQUEST: Duration = Duration::from_millis(500);

/// Stop requests counted as a person makes them: a signal within [`SAME_REQUEST`] of the
/// first is that request again.
pub struct Requests {
    first: OnceLock<Instant>,
    count: AtomicUsize,
}

impl Requests {
    pub const fn new() -> Requests {
        Requests {
            first: OnceLock::new(),
            count: AtomicUsize::new(0),
        }
    }

    /// Counts a signal that arrived now: which request it is (1 for the first), or None when
    /// it repeats the first.
    pub fn signal(&self) -> Option<usize> {
        self.signal_at(Instant::now())
    }

    fn signal_at(&self, at: Instant) -> Option<usize> {
        let first = *self.first.get_or_init(|| at);
        if self.count.load(Ordering::SeqCst) > 0 && at.duration_since(first) < SAME_REQUEST {
            return None;
        }
        Some(self.count.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

impl Default for Requests {
    fn default() -> Requests {
        Requests::new()
    }
}

/// Calls `handler` on every stop request from now on.
pub fn on_stop(handler: impl FnMut() + Send + 'static) -> Result<()> {
    let hup_ignored = hup_ignored();
    ctrlc::set_handler(handler).context("installing the Ctrl-C handler")?;
    if hup_ignored {
        // SAFETY: restores the disposition SIGHUP had; SIG_IGN runs no code.
        unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    }
    set_sigint_blocked(false).context("unblocking SIGINT")
}

/// Whether SIGHUP is ignored, as `nohup` leaves it.
fn hup_ignored() -> bool {
    // SAFETY: sigaction with no new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Blocks (or unblocks) SIGINT in the calling thread: a blocked SIGINT waits until it is
/// unblocked, and the block lasts across exec. Async-signal-safe, so it may run between a
/// fork and its exec.
pub fn set_sigint_blocked(blocked: bool) -> std::io::Result<()> {
    let how = if blocked {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: the set is initialised by sigemptyset before use; no memory is shared.
    let rc = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(how, &set, std::ptr::null_mut())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_soon_after_the_first_is_the_same_request() {
        let requests = Requests::new();
        let t = Instant::now();
        assert_eq!(requests.signal_at(t), Some(1));
        assert_eq!(requests.signal_at(t + Duration::from_millis(5)), None);
        assert_eq!(requests.signal_at(t + SAME_REQUEST / 2), None);
        assert_eq!(requests.signal_at(t + SAME_REQUEST), Some(2));
        assert_eq!(requests.signal_at(t + SAME_REQUEST * 2), Some(3));
    }
}
