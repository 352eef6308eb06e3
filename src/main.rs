use clap::Parser;
use facenet_lab::cli::Cli;

fn main() {
    let cli = Cli::parse();
    if let Err(e) = facenet_lab::commands::dispatch(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
