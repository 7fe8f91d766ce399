//! Every bug switch has a replay that fails with the switch on and passes with
//! it off: the switch changes what it says, and the fixed rule holds.

use kafkasim::bugs::Bug;
use kafkasim_check::Verdict;
use kafkasim_tools::bugs::{replay, REPLAYS};
use kafkasim_tools::run::run_seed;

#[test]
fn every_switch_has_a_replay() {
    let missing: Vec<Bug> = (Bug::ALL.into_iter())
        .filter(|bug| replay(*bug).is_none())
        .collect();
    assert!(missing.is_empty(), "switches without a replay: {missing:?}");
    assert_eq!(REPLAYS.len(), Bug::ALL.len(), "one replay each");
}

#[test]
fn each_replay_fails_with_its_switch_on_and_passes_with_it_off() {
    for replay in REPLAYS {
        let scenario = replay.scenario.load().expect("the replay's scenario");
        let on = run_seed(
            replay.seed,
            &scenario
                .clone()
                .with_bugs([replay.bug].into_iter().collect()),
        );
        assert_ne!(
            on.verdict(),
            Verdict::Ok,
            "{}: with the switch on, {} seed {} passed",
            replay.bug,
            replay.scenario.name(),
            replay.seed
        );
        assert!(on.bugs.on(replay.bug));
        let off = run_seed(replay.seed, &scenario.without_bug(replay.bug));
        assert!(!off.bugs.on(replay.bug));
        assert_eq!(
            off.verdict(),
            Verdict::Ok,
            "{}: with the switch off, {} seed {} fails:\n{}",
            replay.bug,
            replay.scenario.name(),
            replay.seed,
            off.judgement
        );
    }
}
