//! `kafkasim bench`, as a user meets it: which figures it prints. Nothing here
//! depends on how fast the machine is.

mod common;
use common::kafkasim;

#[test]
fn a_bench_of_one_seed_prints_every_figure_and_every_target() {
    let output = kafkasim(&["bench", "--seeds", "1..=1"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "bench: scenario standard, seeds 1..2 (1 seed)\n",
        "machine: ",
        "verdicts: 1 ok, 0 correctness, 0 liveness, 0 crash; same verdicts and trace hashes with 1 and 2 jobs: yes\n",
        "1 job:\n",
        "  wall time per seed      mean ",
        "  simulated per seed      mean ",
        "  messages per seed       mean ",
        "  simulated/wall          ",
        "  messages/wall-second    ",
        "2 jobs:\n",
        "x 1 job)\n",
        "  cores busy              ",
        "baseline (madsim alone: request/response over one connect1 connection):\n",
        "  model per message       ",
        "peak memory: ",
        "targets:\n",
        "  simulated time per wall time, 1 job ",
        "  model cost per message over the baseline ",
        "  seeds/s with 2 jobs over 1 job ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let targets = text.lines().skip_while(|l| *l != "targets:").skip(1);
    assert_eq!(
        targets
            .filter(|l| l.ends_with(" met") || l.ends_with(" NOT MET"))
            .count(),
        3,
        "{text}"
    );
    for phase in [
        "bench: 1 job done in ",
        "bench: 2 jobs done in ",
        "bench: baseline",
    ] {
        assert!(err.contains(phase), "progress {phase:?} in {err}");
    }
}

#[test]
fn bench_json_is_one_object_and_the_help_is_pinned() {
    let output = kafkasim(&["bench", "--seeds", "2..3", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON object");
    assert_eq!(json["scenario"], "standard");
    assert_eq!(
        json["messages_per_seed"]["min"],
        json["messages_per_seed"]["max"]
    );
    assert_eq!(json["baseline"]["messages"].as_u64().unwrap() % 2, 0);
    assert_eq!(json["targets"].as_array().unwrap().len(), 3);
    insta::assert_snapshot!(
        "bench_help",
        String::from_utf8_lossy(&kafkasim(&["bench", "--help"]).stdout)
    );
}
