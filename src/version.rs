//! The code version a binary was built from, recorded with every run.

/// Git commit of the checkout this binary was built from (empty outside a checkout).
pub const GIT_COMMIT: &str = env!("FACENET_LAB_GIT_COMMIT");
/// Whether tracked files differed from that commit at build time, or src/ held files git
/// neither tracks nor ignores.
pub const GIT_DIRTY: bool = matches!(env!("FACENET_LAB_GIT_DIRTY").as_bytes(), b"1");
/// The git blob id of the uncommitted changes (`git diff HEAD`, then each untracked file of
/// src/ by name and blob id) when the tree was dirty; empty for a clean one.
pub const GIT_DIFF: &str = env!("FACENET_LAB_GIT_DIFF");
/// The crate version from Cargo.toml.
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `0.1.0 (abc1234, dirty)`: for `--version` and log lines.
pub const DESCRIBED: &str = env!("FACENET_LAB_VERSION");
