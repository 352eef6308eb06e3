//! facenet-lab: train face-embedding networks with triplet loss on LFW, record every run in a
//! SQLite lab, and compare runs in the terminal.
//!
//! Data flow: `run` → [`data`] (imported, split, hashed) → run registered in the [`lab`] →
//! [`train`] events → recorder (batched transactions) → `lab.db`.

/// `eprintln!` that ignores a closed stderr: a run whose output was piped into a reader that
/// left (`| head`) trains on and records everything, where `eprintln!` would panic.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `println!` for a command's output: where its reader left (`sweep --dry-run | head`), the
/// process ends as other Unix tools do on SIGPIPE (exit 141, silently), where `println!` would
/// panic; any other failure to write (a full disk under `> plan.txt`) ends it with exit 1 and
/// says so. Not for a trainer, which trains on whoever reads it ([`say!`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        $crate::output_written(write!(std::io::stdout(), $($arg)*));
    }};
}

/// [`out!`] with a newline, as `println!`.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        $crate::output_written(writeln!(std::io::stdout(), $($arg)*));
    }};
}

/// What [`out!`] does with the result of a write.
#[doc(hidden)]
pub fn output_written(result: std::io::Result<()>) {
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        say!("error: writing the output failed: {e}");
        std::process::exit(1);
    }
}

pub mod agreement;
pub mod cli;
pub mod commands;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod data;
pub mod eval;
pub mod export;
pub mod files;
pub mod format;
pub mod lab;
pub mod model;
pub mod report;
pub mod rng;
pub mod signals;
pub mod sweep;
pub mod train;
pub mod tui;
pub mod version;
