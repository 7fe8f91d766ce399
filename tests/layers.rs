//! The workspace's layers, as its dependency graph shows them: the model and
//! the checking crate know no runtime (a driver on real TCP can judge its
//! histories with them), and `kafkasim-sim` is the only crate that knows madsim.
//!
//! Read from `cargo tree`, normal dependencies only (a crate's tests may use
//! what its library must not).

use std::collections::BTreeSet;
use std::process::Command;

/// The names of the packages `package` depends on (normal dependencies),
/// transitively or, with `depth` 1, directly.
fn dependencies(package: &str, depth: Option<u32>) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args([
        "tree",
        "--offline",
        "-e",
        "normal",
        "--prefix",
        "none",
        "-p",
        package,
    ]);
    if let Some(depth) = depth {
        command.args(["--depth", &depth.to_string()]);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("cargo prints UTF-8");
    (text.lines())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_string)
        .collect()
}

fn runtimes(deps: &BTreeSet<String>) -> Vec<&String> {
    (deps.iter())
        .filter(|name| name.contains("madsim") || name.contains("tokio"))
        .collect()
}

#[test]
fn the_model_and_the_checking_crate_know_no_runtime() {
    for package in ["kafkasim", "kafkasim-check"] {
        let deps = dependencies(package, None);
        assert!(
            deps.contains("serde"),
            "{package}: {deps:?}: the tree was read"
        );
        assert_eq!(runtimes(&deps), Vec::<&String>::new(), "{package}");
    }
    let check = dependencies("kafkasim-check", None);
    assert!(!check.contains("kafkasim-sim"), "{check:?}");
}

#[test]
fn only_the_simulated_world_depends_on_madsim() {
    let world = dependencies("kafkasim-sim", Some(1));
    assert!(world.contains("madsim"), "{world:?}");
    let tools = dependencies("kafkasim-tools", Some(1));
    assert!(tools.contains("kafkasim-sim"), "{tools:?}");
    // The tools reach madsim only through kafkasim-sim, whose name holds
    // neither word.
    assert_eq!(runtimes(&tools), Vec::<&String>::new(), "{tools:?}");
}

#[test]
fn the_real_network_driver_never_reaches_madsim() {
    let serve = dependencies("kafkasim-serve", None);
    assert!(serve.contains("tokio"), "{serve:?}: the tree was read");
    let madsim: Vec<&String> = serve.iter().filter(|n| n.contains("madsim")).collect();
    assert_eq!(madsim, Vec::<&String>::new());
    assert!(!serve.contains("kafkasim-sim"), "{serve:?}");
}
