//! Records the code version (git commit and whether the tree was dirty) so every run can say
//! exactly which code produced it.
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    // The lab and the reports it generates are data, not code: editing them does not make the
    // build dirty.
    let dirty = git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":!lab.db",
        ":!reports",
    ])
    .map(|s| !s.is_empty())
    .unwrap_or(false);
    println!("cargo:rustc-env=FACENET_LAB_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=FACENET_LAB_GIT_DIRTY={}",
        if dirty { "1" } else { "0" }
    );
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let described = match (commit.get(..7), dirty) {
        (Some(c), true) => format!("{version} ({c}, dirty)"),
        (Some(c), false) => format!("{version} ({c})"),
        (None, _) => version,
    };
    println!("cargo:rustc-env=FACENET_LAB_VERSION={described}");
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head_ref}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
