//! Stop requests by signal. Ctrl-C (SIGINT), SIGTERM, SIGHUP and [`STOP_ONCE`] (SIGUSR1) are
//! read on a thread of their own (`signal-hook`) and counted as a person makes them, in
//! [`on_requests`]. A SIGHUP that was ignored when the process started (`nohup`) stays ignored,
//! so that logging out does not stop the work; and SIGINT and [`STOP_ONCE`], which a sweep
//! blocks in the runs it starts until they can take them, are unblocked once their reader is in
//! place (one that came in meanwhile is read then).
//!
//! [`STOP_ONCE`] asks to stop as a first Ctrl-C does, and asks nothing more of work that is
//! stopping already, however often it comes. A sweep passes its first stop request on to its
//! runs so, and the dashboard stops runs and sweeps so: a run that the dashboard stopped alone a
//! moment before its sweep, or twice, would take a second SIGINT as "quit now" and lose its
//! checkpoint.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use signal_hook::iterator::Signals;

/// A second signal this soon after the first is the same request arriving twice: `timeout` and
/// job schedulers signal a process and then its whole group, so a sweep hears one request
/// twice, and its run hears it directly and through the sweep.
pub const SAME_REQUEST: Duration = Duration::from_millis(500);

/// Stop requests counted as a person makes them: a signal within [`SAME_REQUEST`] of the
/// first is that request again.
#[derive(Default)]
struct Requests {
    first: Option<Instant>,
    count: usize,
}

impl Requests {
    /// Counts a signal that arrived now: which request it is (1 for the first), or None when
    /// it repeats the first.
    fn signal(&mut self) -> Option<usize> {
        self.signal_at(Instant::now())
    }

    fn signal_at(&mut self, at: Instant) -> Option<usize> {
        let first = *self.first.get_or_insert(at);
        if self.count > 0 && at.saturating_duration_since(first) < SAME_REQUEST {
            return None;
        }
        self.count += 1;
        Some(self.count)
    }

    /// Counts a request that asks only that the work stop ([`STOP_ONCE`]): the first request
    /// when none came before it (true), and nothing new otherwise.
    fn first(&mut self) -> bool {
        self.first.get_or_insert_with(Instant::now);
        if self.count > 0 {
            return false;
        }
        self.count = 1;
        true
    }
}

/// "Stop, if you are not stopping already": a run finishes its step, checkpoints and is
/// recorded interrupted, a sweep stops its runs so and starts no other; a second one asks
/// nothing more. `kill -USR1` asks it of any run or sweep.
pub const STOP_ONCE: libc::c_int = libc::SIGUSR1;

/// Calls `on_request(n, signal)` for each stop request from now on, `n` being 1 for the first:
/// Ctrl-C, SIGTERM and SIGHUP are counted by [`Requests::signal`], [`STOP_ONCE`] by
/// [`Requests::first`] (so it calls with 1, or not at all). `on_request` runs on the thread
/// that reads the signals. Once per process: a second reader would count every signal again.
pub fn on_requests(mut on_request: impl FnMut(usize, libc::c_int) + Send + 'static) -> Result<()> {
    static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    anyhow::ensure!(
        !INSTALLED.swap(true, std::sync::atomic::Ordering::SeqCst),
        "the stop signals have a reader already"
    );
    let mut signals = vec![libc::SIGINT, libc::SIGTERM, STOP_ONCE];
    if !hup_ignored() {
        signals.push(libc::SIGHUP);
    }
    let mut signals = Signals::new(signals).context("installing the stop signals' handler")?;
    let mut requests = Requests::default();
    std::thread::Builder::new()
        .name("stop-requests".into())
        .spawn(move || {
            for signal in signals.forever() {
                let request = if signal == STOP_ONCE {
                    requests.first().then_some(1)
                } else {
                    requests.signal()
                };
                if let Some(n) = request {
                    on_request(n, signal);
                }
            }
        })
        .context("starting the stop signals' thread")?;
    set_blocked(&[libc::SIGINT, STOP_ONCE], false).context("unblocking the stop signals")
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

/// Blocks (or unblocks) `signals` in the calling thread: a blocked signal waits until it is
/// unblocked, and the block lasts across exec. Async-signal-safe, so it may run between a
/// fork and its exec.
pub fn set_blocked(signals: &[libc::c_int], blocked: bool) -> std::io::Result<()> {
    let how = if blocked {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: the set is initialised by sigemptyset before use; no memory is shared.
    let rc = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
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
        let mut requests = Requests::default();
        let t = Instant::now();
        assert_eq!(requests.signal_at(t), Some(1));
        assert_eq!(requests.signal_at(t + Duration::from_millis(5)), None);
        assert_eq!(requests.signal_at(t + SAME_REQUEST / 2), None);
        assert_eq!(requests.signal_at(t + SAME_REQUEST), Some(2));
        assert_eq!(requests.signal_at(t + SAME_REQUEST * 2), Some(3));
    }

    /// A sweep's "stop" is the first request where none came before it, and nothing new after
    /// one: the next Ctrl-C is then the second, "quit now".
    #[test]
    fn a_plain_stop_is_the_first_request_or_nothing() {
        let mut requests = Requests::default();
        assert!(requests.first());
        assert!(!requests.first());
        let later = Instant::now() + SAME_REQUEST;
        assert_eq!(requests.signal_at(later), Some(2));

        let mut stopping = Requests::default();
        let t = Instant::now();
        assert_eq!(stopping.signal_at(t), Some(1));
        assert!(
            !stopping.first(),
            "a run that is stopping hears nothing new"
        );
        assert_eq!(stopping.signal_at(t + SAME_REQUEST), Some(2));
    }
}
