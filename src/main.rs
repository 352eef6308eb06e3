use clap::Parser;
use facenet_lab::cli::Cli;

fn main() {
    ignore_empty_db_env();
    let cli = Cli::parse();
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
        eprintln!("error: {e:#}");
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
