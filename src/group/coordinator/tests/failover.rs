//! Coordinator failover: a new leader of the partition rebuilds the groups from the
//! records; the old one gives up what it had parked.

use super::*;
use crate::group::offsets_topic::OffsetsRecord;

#[test]
fn a_coordinator_rebuilt_from_the_appended_records_has_the_same_generation_members_and_offsets() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let cid = sim.commit(1, generation.member(1), 1, &[(0, 40), (2, 41)]);
    let simple = sim.commit_to("manual-app", 3, "", NO_GENERATION, &[(5, 7)]);
    sim.ack_appends();
    sim.commit_answer(cid);
    sim.commit_answer(simple);

    let mut rebuilt = sim.rebuilt();
    assert_eq!(rebuilt.describe(), sim.describe());
    assert_eq!(rebuilt.describe().state, GroupState::Stable);
    assert_eq!(rebuilt.committed(&[0, 1, 2]), [40, -1, 41]);
    assert_eq!(
        rebuilt.fetch("manual-app", Some(&[5])).partitions[0].committed_offset,
        7
    );
    assert_eq!(
        rebuilt.coordinator.describe("manual-app").unwrap().state,
        GroupState::Empty
    );
    assert!(rebuilt.events.contains(&GroupEvent::PartitionLoaded {
        partition: 1,
        groups: vec![GROUP.into()],
    }));
    // The members carry on in their generation, without rejoining.
    for (c, m) in &generation.members {
        assert_eq!(rebuilt.heartbeat(*c, m, 1), ErrorCode::None);
        let cid = rebuilt.sync(*c, m, 1, &[]);
        assert_eq!(
            rebuilt.sync_answer(cid).assignment,
            sim.describe().members[(*c - 1) as usize].assignment
        );
    }
}

#[test]
fn rebuilt_members_must_heartbeat_within_their_session_timeout() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    sim.advance(60_000);
    assert_eq!(
        sim.state(),
        GroupState::Empty,
        "everyone timed out on the old coordinator"
    );
    // The log ends with generation 1 Stable: the Empty record was never committed.
    let mut rebuilt = Sim::leading(&[]);
    rebuilt.now_ms = 100_000;
    let records: Vec<Record> = sim.log[&1].clone();
    rebuilt
        .coordinator
        .on_partition_led(rebuilt.now_ms, 1, &records);
    rebuilt.collect();
    assert_eq!(rebuilt.state(), GroupState::Stable);
    rebuilt.advance(SESSION_TIMEOUT_MS - 1);
    assert_eq!(
        rebuilt.heartbeat(1, generation.member(1), 1),
        ErrorCode::None
    );
    rebuilt.advance(1);
    assert_eq!(
        rebuilt.describe().members.len(),
        1,
        "member 2 never came back"
    );
    assert_eq!(rebuilt.state(), GroupState::PreparingRebalance);
}

#[test]
fn an_empty_group_and_its_offsets_survive_a_rebuild() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    let cid = sim.commit(1, generation.member(1), 1, &[(0, 3)]);
    assert_eq!(sim.leave(1, generation.member(1)), ErrorCode::None);
    sim.ack_appends();
    assert_eq!(sim.commit_answer(cid), [ErrorCode::None]);
    let mut rebuilt = sim.rebuilt();
    let summary = rebuilt.describe();
    assert_eq!(
        (summary.state, summary.generation_id),
        (GroupState::Empty, 2)
    );
    assert_eq!(rebuilt.committed(&[0]), [3]);
    // A new member starts generation 3.
    let (next, _) = rebuilt.join_all(&[4]);
    assert_eq!(next.generation_id, 3);
}

#[test]
fn a_rebuilt_coordinator_never_hands_out_a_member_id_in_use() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let mut rebuilt = sim.rebuilt();
    let fresh = rebuilt.member_id_for(1);
    assert!(generation.members.iter().all(|(_, m)| *m != fresh));
    assert_eq!(fresh, "client-1-2");
}

#[test]
fn tombstones_remove_groups_and_offsets_on_rebuild() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    let cid = sim.commit(1, generation.member(1), 1, &[(0, 3), (1, 4)]);
    sim.ack_appends();
    sim.commit_answer(cid);
    let log = sim.log.get_mut(&1).expect("the group's partition");
    log.push(
        OffsetsRecord::GroupTombstone {
            group: GROUP.into(),
        }
        .to_record(0),
    );
    let removal = OffsetsRecord::OffsetTombstone {
        group: GROUP.into(),
        partition: orders(0),
    };
    log.push(removal.to_record(0));
    let mut rebuilt = sim.rebuilt();
    assert_eq!(
        rebuilt.describe().state,
        GroupState::Empty,
        "only offsets remain"
    );
    assert_eq!(rebuilt.describe().generation_id, 0);
    assert_eq!(rebuilt.committed(&[0, 1]), [-1, 4]);
}

#[test]
fn losing_the_partition_answers_parked_joins_not_coordinator() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let cid = sim.join(1, generation.member(1));
    assert!(sim.answer(cid).is_none());
    sim.coordinator.on_partition_lost(1);
    sim.collect();
    let answer = sim.join_answer(cid);
    assert_eq!(
        (answer.error_code, answer.member_id.as_str()),
        (ErrorCode::NotCoordinator, generation.member(1))
    );
    assert!(sim.coordinator.describe(GROUP).is_none());
    assert_eq!(
        sim.heartbeat(2, generation.member(2), 1),
        ErrorCode::NotCoordinator
    );
    assert!(sim.events.contains(&GroupEvent::PartitionUnloaded {
        partition: 1,
        groups: vec![GROUP.into()],
    }));
}

#[test]
fn losing_the_partition_answers_parked_syncs_and_commits_not_coordinator() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let commit = sim.commit(1, generation.member(1), 1, &[(0, 9)]);
    let rejoins = [
        sim.join(1, generation.member(1)),
        sim.join(2, generation.member(2)),
    ];
    for cid in rejoins {
        assert_eq!(sim.join_answer(cid).generation_id, 2);
    }
    let follower_sync = sim.sync(2, generation.member(2), 2, &[]);
    assert!(sim.answer(follower_sync).is_none());
    sim.coordinator.on_partition_lost(1);
    sim.collect();
    assert_eq!(
        sim.sync_answer(follower_sync).error_code,
        ErrorCode::NotCoordinator
    );
    assert_eq!(sim.commit_answer(commit), [ErrorCode::NotCoordinator]);
    // The broker may still report on the lost append: nothing happens.
    sim.ack_appends();
    assert!(sim.answers.is_empty());
    assert_eq!(sim.fetch(GROUP, None).error_code, ErrorCode::NotCoordinator);
}

#[test]
fn leading_the_partition_again_rebuilds_what_was_committed_meanwhile() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    sim.coordinator.on_partition_lost(1);
    sim.coordinator
        .on_partition_led(sim.now_ms, 1, &sim.log[&1].clone());
    sim.collect();
    assert_eq!(sim.describe().generation_id, generation.generation_id);
    assert_eq!(sim.heartbeat(1, generation.member(1), 1), ErrorCode::None);
}
