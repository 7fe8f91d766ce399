//! Lab `range-assignor`: the range assignor's split (`labs/src/range_assignor.rs`).

use super::{Lab, UnitTest};
use kafkasim::rules::Rules;

pub(super) static LAB: Lab = Lab {
    name: "range-assignor",
    rule: "the range assignor: contiguous ranges, the first members one more",
    kafka: "RangeAssignor.assign",
    file: "labs/src/range_assignor.rs",
    function: "range_assign",
    reference: "range_assign in src/assignment.rs",
    learner: |rules| Rules {
        range_assign: kafkasim_labs::range_assignor::range_assign,
        ..rules
    },
    tests: &[
        UnitTest {
            name: "the_first_members_get_the_extra_partitions",
            run: the_first_members_get_the_extra_partitions,
        },
        UnitTest {
            name: "an_even_split_gives_each_member_as_many",
            run: an_even_split_gives_each_member_as_many,
        },
        UnitTest {
            name: "more_members_than_partitions_leaves_the_last_ones_empty",
            run: more_members_than_partitions_leaves_the_last_ones_empty,
        },
        UnitTest {
            name: "every_partition_goes_to_exactly_one_member",
            run: every_partition_goes_to_exactly_one_member,
        },
    ],
    scenario_path: "sim/scenarios/labs/range-assignor.toml",
    scenario_text: include_str!("../../scenarios/labs/range-assignor.toml"),
};

fn the_first_members_get_the_extra_partitions(rules: &Rules) {
    let split = (rules.range_assign)(7, 3);
    assert_eq!(
        split,
        vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]],
        "7 partitions over 3 members"
    );
}

fn an_even_split_gives_each_member_as_many(rules: &Rules) {
    let split = (rules.range_assign)(6, 3);
    assert_eq!(
        split,
        vec![vec![0, 1], vec![2, 3], vec![4, 5]],
        "6 partitions over 3 members"
    );
}

fn more_members_than_partitions_leaves_the_last_ones_empty(rules: &Rules) {
    let split = (rules.range_assign)(2, 3);
    assert_eq!(
        split,
        vec![vec![0], vec![1], vec![]],
        "2 partitions over 3 members"
    );
    let none = (rules.range_assign)(0, 2);
    assert_eq!(
        none,
        vec![Vec::<i32>::new(), vec![]],
        "0 partitions over 2 members"
    );
}

fn every_partition_goes_to_exactly_one_member(rules: &Rules) {
    for partitions in 0..=20 {
        for members in 1..=6 {
            let split = (rules.range_assign)(partitions, members);
            assert_eq!(
                split.len(),
                members,
                "{partitions} partitions over {members} members: one list per member"
            );
            let mut given: Vec<i32> = split.concat();
            given.sort();
            let all: Vec<i32> = (0..partitions).collect();
            assert_eq!(
                given, all,
                "{partitions} partitions over {members} members: each once"
            );
        }
    }
}
