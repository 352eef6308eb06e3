//! Stop requests by signal. Ctrl-C (SIGINT), SIGTERM and SIGHUP call one handler, as the
//! `ctrlc` crate sets it up, with two amendments: a SIGHUP that was ignored when the process
//! started (`nohup`) stays ignored, so that logging out does not stop the work; and SIGINT,
//! which a sweep blocks in the runs it starts until they can take it, is unblocked once the
//! handler is in place (a SIGINT that came in meanwhile then reaches the handler).
//!
//! [`STOP_ONCE`] (SIGUSR1) asks to stop as a first Ctrl-C does, and asks nothing more of work
//! that is stopping already, however often it comes. A sweep passes its first stop request on
//! to its runs so, and the dashboard stops runs and sweeps so: a run that the dashboard stopped
//! alone a moment before its sweep, or twice, would take a second SIGINT as "quit now" and
//! lose its checkpoint.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
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
        // One count for one read: a stop that [`Requests::first`] counts meanwhile makes this
        // the second request, not the first counted twice.
        let mut count = self.count.load(Ordering::SeqCst);
        loop {
            if count > 0 && at.saturating_duration_since(first) < SAME_REQUEST {
                return None;
            }
            match self
                .count
                .compare_exchange(count, count + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return Some(count + 1),
                Err(now) => count = now,
            }
        }
    }

    /// Counts a request that asks only that the work stop ([`STOP_ONCE`]): the first request
    /// when none came before it (true), and nothing new otherwise.
    pub fn first(&self) -> bool {
        self.first.get_or_init(Instant::now);
        self.count
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
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
    set_blocked(&[libc::SIGINT], false).context("unblocking SIGINT")
}

/// "Stop, if you are not stopping already": a run finishes its step, checkpoints and is
/// recorded interrupted, a sweep stops its runs so and starts no other; a second one asks
/// nothing more. `kill -USR1` asks it of any run or sweep.
pub const STOP_ONCE: libc::c_int = libc::SIGUSR1;

/// The write end of the pipe through which [`STOP_ONCE`]'s handler wakes its thread.
static STOP_ONCE_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn stop_once_arrived(_: libc::c_int) {
    let fd = STOP_ONCE_PIPE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe, the byte lives through the call, and errno is
        // given back as it was to the code the signal interrupted. The write end does not
        // block: a full pipe drops the byte, and requests are waiting to be handled already.
        unsafe {
            let errno = *libc::__errno_location();
            libc::write(fd, [0u8].as_ptr().cast(), 1);
            *libc::__errno_location() = errno;
        }
    }
}

/// Calls `handler` on every [`STOP_ONCE`] from now on, on a thread of its own (as `ctrlc`
/// calls its handler), then unblocks the signal, which a sweep's runs start with blocked.
/// Once only.
pub fn on_stop_once(mut handler: impl FnMut() + Send + 'static) -> Result<()> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given; fcntl only changes the
    // flags of the write end it was given.
    let made = unsafe {
        libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) == 0
            && libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK) == 0
    };
    if !made {
        return Err(std::io::Error::last_os_error()).context("making the stop signal's pipe");
    }
    let [read, write] = fds;
    anyhow::ensure!(
        STOP_ONCE_PIPE
            .compare_exchange(-1, write, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok(),
        "the stop signal has a handler already"
    );
    std::thread::Builder::new()
        .name("stop-once".into())
        .spawn(move || {
            let mut byte = [0u8];
            loop {
                // SAFETY: reads at most one byte into `byte`, from the pipe this thread owns.
                match unsafe { libc::read(read, byte.as_mut_ptr().cast(), 1) } {
                    1 => handler(),
                    n if n < 0
                        && std::io::Error::last_os_error().kind()
                            == std::io::ErrorKind::Interrupted => {}
                    _ => break,
                }
            }
        })
        .context("starting the stop signal's thread")?;
    // SAFETY: the action is zeroed and then filled in; its handler only loads an atomic and
    // writes to a pipe, both async-signal-safe.
    let rc = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = stop_once_arrived as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(STOP_ONCE, &action, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .context("installing the stop signal's handler");
    }
    set_blocked(&[STOP_ONCE], false).context("unblocking the stop signal")
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
        let requests = Requests::new();
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
        let requests = Requests::new();
        assert!(requests.first());
        assert!(!requests.first());
        let later = Instant::now() + SAME_REQUEST;
        assert_eq!(requests.signal_at(later), Some(2));

        let stopping = Requests::new();
        let t = Instant::now();
        assert_eq!(stopping.signal_at(t), Some(1));
        assert!(
            !stopping.first(),
            "a run that is stopping hears nothing new"
        );
        assert_eq!(stopping.signal_at(t + SAME_REQUEST), Some(2));
    }
}
