//! The `kafkasim` binary: see `kafkasim --help`.

use kafkasim_serve::alloc::ReserveLazily;
use kafkasim_tools::cli::{execute, finish_stdout, parse, EXIT_USAGE};

// A simulation allocates and frees small values (messages, records, events) at
// a high rate; mimalloc does that faster than the system allocator. Nothing in
// a run depends on where values are allocated, so runs are unchanged.
// `ReserveLazily` maps blocks of 1 GiB and more without reserving them, so that
// `kafkasim serve` survives a peer whose array count asks the decoder for one
// (see `kafkasim_serve::alloc`); no run allocates that much.
#[global_allocator]
static ALLOCATOR: ReserveLazily<mimalloc::MiMalloc> = ReserveLazily(mimalloc::MiMalloc);

fn main() {
    let code = match parse(std::env::args_os().skip(1)) {
        Ok(command) => execute(command),
        Err(error) => {
            kafkasim_tools::cli::stdout::error(&error.0);
            EXIT_USAGE
        }
    };
    std::process::exit(finish_stdout(code));
}
