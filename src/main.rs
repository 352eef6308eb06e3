use clap::Parser;
use facenet_lab::cli::Cli;

/// A training step allocates and frees the same large buffers (activations, gradients) every
/// step. glibc's allocator handed the large ones back to the OS and faulted them in afresh each
/// step; mimalloc, told to keep what it frees, reuses them (`facenet-lab bench` on 2 cores, with
/// the in-place Adam: AlexNet 21 to 37–47 images/s, ResNet-18 67–71 to 74–84, ResNet-152 12–13
/// to 13–14).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    keep_freed_memory();
    facenet_lab::model::short_candle_spin();
    ignore_empty_db_env();
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        if e.use_stderr() {
            let args: Vec<String> = std::env::args().collect();
            if let Some(hint) = facenet_lab::cli::switch_hint(&args) {
                facenet_lab::say!("\n{hint}");
            }
        }
        std::process::exit(e.exit_code());
    });
    if let Err(e) = facenet_lab::commands::dispatch(cli) {
        // `facenet-lab export | head`: the reader has what it wanted. Exit as a process killed
        // by SIGPIPE does (128 + 13), without an error message, as other Unix tools do.
        let broken_pipe = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if broken_pipe {
            std::process::exit(141);
        }
        facenet_lab::say!("error: {e:#}");
        std::process::exit(1);
    }
}

/// An empty FACENET_LAB_DB chooses no lab (as `lab::db_flag` reads it), so the default lab.db is
/// meant; clap would take it as an empty `--db` value and refuse it. Removed before parsing, while
/// no other thread can be reading the environment.
fn ignore_empty_db_env() {
    if std::env::var_os("FACENET_LAB_DB").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("FACENET_LAB_DB");
    }
}

/// Tells mimalloc never to return freed memory to the OS, unless MIMALLOC_PURGE_DELAY says
/// otherwise. The process stays at its peak footprint (14–21% above glibc's in a bench call).
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // `mi_option_purge_delay` in mimalloc's mimalloc.h (v3, and v2 alike): milliseconds before
    // freed memory is returned to the OS, -1 for never. libmimalloc-sys names no constant for it.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: `mi_option_set` is not thread-safe; this runs first in `main`, before any thread
    // of ours exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
