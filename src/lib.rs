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
