//! Progress bars that are drawn only when asked for and stderr is a terminal.
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

fn enabled(wanted: bool) -> bool {
    wanted && std::io::stderr().is_terminal()
}

/// A bar counting `len` items.
pub(crate) fn items(len: usize, msg: &str, wanted: bool) -> ProgressBar {
    if !enabled(wanted) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}

/// A spinner for work of unknown length.
pub(crate) fn spinner(msg: &str, wanted: bool) -> ProgressBar {
    if !enabled(wanted) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// A bar counting bytes, `len` when the size is known.
pub(crate) fn bytes(len: Option<u64>, msg: &str, wanted: bool) -> ProgressBar {
    if !enabled(wanted) {
        return ProgressBar::hidden();
    }
    let pb = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}
