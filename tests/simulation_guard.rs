//! Fails loudly when the simulator is off.
//!
//! madsim replaces the async runtime, the network and the clock only when the code
//! is compiled with `--cfg madsim`, which `.cargo/config.toml` sets. Setting the
//! `RUSTFLAGS` environment variable replaces those flags and silently builds the
//! real runtime: every "deterministic" test would then be nothing of the sort.

// The assertion is constant for a build: which build it runs in is the point.
#[allow(clippy::assertions_on_constants)]
#[test]
fn the_simulator_is_compiled_in() {
    assert!(
        cfg!(madsim),
        "kafkasim must be built with `--cfg madsim`. Did you set RUSTFLAGS? It replaces \
         the flags in .cargo/config.toml; use RUSTFLAGS=\"--cfg madsim ...\" or unset it."
    );
}
