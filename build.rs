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
    let untracked = untracked_sources();
    let dirty = dirty || !untracked.is_empty();
    // What the uncommitted changes are, as git names content: the blob id of the diff against
    // the commit, so that two builds of one dirty commit tell whether they are the same code.
    let diff = if dirty {
        diff_id(&untracked).unwrap_or_default()
    } else {
        String::new()
    };
    println!("cargo:rustc-env=FACENET_LAB_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=FACENET_LAB_GIT_DIFF={diff}");
    println!(
        "cargo:rustc-env=FACENET_LAB_GIT_DIRTY={}",
        if dirty { "1" } else { "0" }
    );
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let described = match (commit.get(..7), dirty) {
        (Some(c), true) => match diff.get(..8) {
            Some(d) => format!("{version} ({c}, dirty {d})"),
            None => format!("{version} ({c}, dirty)"),
        },
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
    // The tree's files, for the dirty flag and the diff's id: a file edited and not staged
    // changes neither HEAD nor the index.
    for path in ["src", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        compile_cuda_kernels();
    }
}

/// The files under src/ that git neither tracks nor ignores: a new module is compiled in though
/// no diff against the commit shows it. Other untracked files (notes, outputs) are not code.
fn untracked_sources() -> Vec<String> {
    // Untrimmed, unlike `git()`: a name may start with a space. A nested repository is listed
    // as its folder (`src/x/`), which is not a file to hash.
    let listed = Command::new("git")
        .args([
            "ls-files",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
            "src",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| o.stdout)
        .unwrap_or_default();
    let mut files: Vec<String> = listed
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty() && !f.ends_with(b"/"))
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    files.sort();
    files
}

/// The git blob id of `git diff HEAD` over the tree the dirty flag looks at (tracked files, the
/// lab and its reports aside), followed by a line per untracked source file with its own blob
/// id, so that two builds with different new files are told apart.
fn diff_id(untracked: &[String]) -> Option<String> {
    use std::io::Write;
    use std::process::Stdio;
    // The same bytes for the same changes on any machine: none of the user's diff settings
    // (prefixes, algorithm, renames, external or textconv drivers, colour) apply.
    let diff = Command::new("git")
        .args([
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            "--no-renames",
            "--diff-algorithm=myers",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--binary",
            "HEAD",
            "--",
            ".",
            ":!lab.db",
            ":!reports",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?
        .stdout;
    let mut diff = diff;
    for file in untracked {
        // One file that cannot be hashed (gone since it was listed, a name that is not UTF-8)
        // is said as such, not the whole id lost.
        let blob = git(&["hash-object", "--", file]).unwrap_or_else(|| "unreadable".into());
        diff.extend(format!("untracked {file} {blob}\n").into_bytes());
    }
    let mut hash = Command::new("git")
        .args(["hash-object", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    hash.stdin.take()?.write_all(&diff).ok()?;
    let out = hash.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// With the `cuda` feature: src/cuda/kernels.cu to PTX in OUT_DIR (src/cuda/mod.rs includes
/// it), for the compute capability in CUDA_COMPUTE_CAP (90, the H100/H200, by default), with
/// the nvcc on PATH (../shared/gpu/README.md sets up both).
fn compile_cuda_kernels() {
    const SRC: &str = "src/cuda/kernels.cu";
    println!("cargo:rerun-if-changed={SRC}");
    println!("cargo:rerun-if-env-changed=CUDA_COMPUTE_CAP");
    let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into());
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let ptx = std::path::Path::new(&out_dir).join("facenet-kernels.ptx");
    // The script reruns on any change under src/ (for the code version): nvcc runs only when
    // the kernels or the compute capability changed since it last did.
    let stamp = ptx.with_extension("cap");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let built = modified(&ptx);
    let current = built.is_some()
        && built >= modified(std::path::Path::new(SRC))
        && std::fs::read_to_string(&stamp).is_ok_and(|c| c == cap);
    if current {
        return;
    }
    let status = Command::new("nvcc")
        // No fused multiply-adds: the kernels do the CPU ops' float operations, rounded as
        // they are (bench --check compares the two).
        .args([
            "--ptx",
            "-O3",
            "--fmad=false",
            &format!("-arch=compute_{cap}"),
            SRC,
            "-o",
        ])
        .arg(&ptx)
        .status();
    match status {
        Ok(s) if s.success() => {
            let _ = std::fs::write(&stamp, &cap);
        }
        Ok(s) => panic!("nvcc failed on {SRC} ({s})"),
        Err(e) => panic!("the cuda feature needs nvcc on PATH to compile {SRC}: {e}"),
    }
}
