//! Progress of long work: a bar on a terminal, and off one (a log, a pipe) a plain line every
//! ten seconds, as a training run writes; nothing where the caller asks for none.
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Off a terminal, one progress line this often (a training run's too).
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// A progress bar drawn as `wanted` and stderr allow, in the style of `bar_template` on a
/// terminal and of `line_template` in a log.
fn bar(pb: ProgressBar, bar_template: &str, line_template: &str, wanted: bool) -> ProgressBar {
    if !wanted {
        pb.set_draw_target(ProgressDrawTarget::hidden());
        return pb;
    }
    let terminal = std::io::stderr().is_terminal();
    if !terminal {
        // Drawn at most once a second: a draw formats the line and takes the lock, and the
        // callers tick per image decoded or per 64 KiB downloaded; LogLines writes one line in
        // ten seconds of them anyway.
        pb.set_draw_target(ProgressDrawTarget::term_like_with_hz(
            Box::new(LogLines::new(LOG_EVERY, |line| crate::say!("{line}"))),
            1,
        ));
    }
    let template = if terminal {
        bar_template
    } else {
        line_template
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// A bar counting `len` items.
pub(crate) fn items(len: usize, msg: &str, wanted: bool) -> ProgressBar {
    let pb = bar(
        ProgressBar::new(len as u64),
        "{msg:>12} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})",
        "{msg} {pos}/{len} ({elapsed}, eta {eta})",
        wanted,
    );
    pb.set_message(msg.to_string());
    pb
}

/// A spinner for work of unknown length.
pub(crate) fn spinner(msg: &str, wanted: bool) -> ProgressBar {
    let pb = bar(
        ProgressBar::new_spinner(),
        "{spinner} {msg}",
        "{msg} ({elapsed})",
        wanted,
    );
    pb.set_message(msg.to_string());
    // A hidden spinner needs no ticking thread.
    if wanted {
        pb.enable_steady_tick(Duration::from_millis(120));
    }
    pb
}

/// A bar counting bytes, `len` when the size is known.
pub(crate) fn bytes(len: Option<u64>, msg: &str, wanted: bool) -> ProgressBar {
    let pb = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let pb = bar(
        pb,
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
        "{msg} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
        wanted,
    );
    pb.set_message(msg.to_string());
    pb
}

/// A "terminal" that is a log: the state the bar draws becomes a line once `every` has passed
/// since the work began or the last line, so that short work leaves the log alone; cursor moves
/// and clearing mean nothing in a log.
struct LogLines {
    every: Duration,
    out: fn(&str),
    /// The draw being written, and when the last line went out (or the work began).
    state: Mutex<(String, Instant)>,
}

impl LogLines {
    fn new(every: Duration, out: fn(&str)) -> LogLines {
        LogLines {
            every,
            out,
            state: Mutex::new((String::new(), Instant::now())),
        }
    }
}

impl std::fmt::Debug for LogLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogLines")
    }
}

impl indicatif::TermLike for LogLines {
    fn width(&self) -> u16 {
        200
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.write_str("\n")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        if let Ok(mut state) = self.state.lock() {
            state.0.push_str(s);
        }
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    /// The end of a draw: its text is a line, if one is due.
    fn flush(&self) -> std::io::Result<()> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        let (text, last) = &mut *state;
        let draw = std::mem::take(text);
        let line = draw.replace('\r', "");
        let line = line.trim();
        if !line.is_empty() && last.elapsed() >= self.every {
            (self.out)(line);
            *last = Instant::now();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;

    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// A draw is a line once `every` has passed since the start or the last line; the bar's
    /// padding and carriage returns do not reach the log.
    #[test]
    fn a_log_gets_a_draw_as_a_line_once_its_period_has_passed() -> std::io::Result<()> {
        let draw = |log: &LogLines, text: &str| -> std::io::Result<()> {
            log.write_str("\r")?;
            log.write_str(text)?;
            log.write_str("      ")?;
            log.flush()
        };
        // A period already over at every draw: each one is a line.
        let every_time = LogLines::new(Duration::ZERO, |l| SAID.lock().unwrap().push(l.into()));
        draw(&every_time, "embedding 10/100")?;
        draw(&every_time, "embedding 60/100")?;
        every_time.flush()?;
        // A period that never ends within the test: short work leaves the log alone.
        let never = LogLines::new(Duration::from_secs(3600), |l| {
            SAID.lock().unwrap().push(l.into())
        });
        draw(&never, "reading lfw.tgz")?;
        assert_eq!(
            *SAID.lock().unwrap(),
            ["embedding 10/100", "embedding 60/100"]
        );
        Ok(())
    }
}
