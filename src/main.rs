use clap::Parser;
use facenet_lab::cli::Cli;

fn main() {
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
