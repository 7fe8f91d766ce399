//! The `kafkasim` binary: see `kafkasim --help`.

use kafkasim_sim::cli::{execute, parse, EXIT_USAGE};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match parse(&args) {
        Ok(command) => execute(command),
        Err(error) => {
            eprintln!("error: {}", error.0);
            EXIT_USAGE
        }
    };
    std::process::exit(code);
}
