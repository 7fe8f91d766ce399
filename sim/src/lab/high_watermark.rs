//! Lab `high-watermark`: the leader's high watermark (`labs/src/high_watermark.rs`).

use super::{Lab, UnitTest};
use kafkasim::rules::Rules;

pub(super) static LAB: Lab = Lab {
    name: "high-watermark",
    rule: "the leader's high watermark: the smallest LEO of the replicas it waits for",
    kafka: "Partition.maybeIncrementLeaderHW",
    file: "labs/src/high_watermark.rs",
    function: "high_watermark",
    reference: "advance_high_watermark in src/replication.rs",
    learner: |rules| Rules {
        high_watermark: kafkasim_labs::high_watermark::high_watermark,
        ..rules
    },
    tests: &[
        UnitTest {
            name: "the_high_watermark_is_the_smallest_log_end_offset",
            run: the_high_watermark_is_the_smallest_log_end_offset,
        },
        UnitTest {
            name: "a_leader_alone_commits_its_whole_log",
            run: a_leader_alone_commits_its_whole_log,
        },
        UnitTest {
            name: "the_leader_counts_too",
            run: the_leader_counts_too,
        },
        UnitTest {
            name: "an_unknown_log_end_holds_the_high_watermark",
            run: an_unknown_log_end_holds_the_high_watermark,
        },
        UnitTest {
            name: "the_high_watermark_never_moves_back",
            run: the_high_watermark_never_moves_back,
        },
    ],
    scenario_path: "sim/scenarios/labs/high-watermark.toml",
    scenario_text: include_str!("../../scenarios/labs/high-watermark.toml"),
};

fn the_high_watermark_is_the_smallest_log_end_offset(rules: &Rules) {
    let hw = (rules.high_watermark)(0, 10, &[Some(7), Some(9)]);
    assert_eq!(hw, 7, "leader at 10, followers at 7 and 9, HW was 0");
}

fn a_leader_alone_commits_its_whole_log(rules: &Rules) {
    let hw = (rules.high_watermark)(3, 10, &[]);
    assert_eq!(hw, 10, "leader at 10 waiting for nobody, HW was 3");
}

fn the_leader_counts_too(rules: &Rules) {
    let hw = (rules.high_watermark)(0, 5, &[Some(9)]);
    assert_eq!(
        hw, 5,
        "leader at 5, a follower at 9 (a stale one), HW was 0"
    );
}

fn an_unknown_log_end_holds_the_high_watermark(rules: &Rules) {
    let hw = (rules.high_watermark)(4, 10, &[Some(9), None]);
    assert_eq!(
        hw, 4,
        "leader at 10, followers at 9 and not yet fetched (None), HW was 4"
    );
}

fn the_high_watermark_never_moves_back(rules: &Rules) {
    let hw = (rules.high_watermark)(8, 10, &[Some(5)]);
    assert_eq!(
        hw, 8,
        "leader at 10, a follower back at 5 (it rejoined), HW was 8"
    );
}
