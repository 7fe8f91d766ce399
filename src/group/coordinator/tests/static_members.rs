//! Static membership (`group.instance.id`, KIP-345): a restarted consumer takes its
//! old place back, and the instance's previous member id is fenced.

use super::*;

const INSTANCE: &str = "host-a";

fn static_join(sim: &mut Sim, from: u32, member_id: &str) -> CorrelationId {
    sim.send(
        from,
        Request::JoinGroup(join_request(member_id, Some(INSTANCE), &["range"])),
    )
}

/// Client 1 is static (and leads, having joined first), client 2 dynamic.
fn mixed_stable_group(sim: &mut Sim) -> Generation {
    let a = static_join(sim, 1, UNKNOWN_MEMBER_ID);
    let b_id = sim.member_id_for(2);
    let b = sim.join(2, &b_id);
    // B arrived during the initial delay, so it runs twice.
    sim.advance(2 * INITIAL_DELAY_MS);
    let answers = [sim.join_answer(a), sim.join_answer(b)];
    let generation = Generation {
        generation_id: answers[0].generation_id,
        leader: answers[0].leader.clone(),
        members: vec![(1, answers[0].member_id.clone()), (2, b_id)],
    };
    sim.sync_everyone(&generation);
    generation
}

fn commit_as(sim: &mut Sim, member_id: &str, generation_id: i32) -> Vec<ErrorCode> {
    let request = Request::OffsetCommit(OffsetCommitRequest {
        group_id: GROUP.into(),
        generation_id,
        member_id: member_id.into(),
        group_instance_id: Some(INSTANCE.into()),
        partitions: vec![OffsetCommitRequestPartition {
            partition: orders(0),
            committed_offset: 1,
            committed_leader_epoch: None,
            committed_metadata: None,
        }],
    });
    let cid = sim.send(1, request);
    sim.ack_appends();
    sim.commit_answer(cid)
}

#[test]
fn a_static_member_joins_without_member_id_required() {
    let mut sim = Sim::new();
    let cid = static_join(&mut sim, 1, UNKNOWN_MEMBER_ID);
    assert!(
        sim.answer(cid).is_none(),
        "parked like any join, no second round trip"
    );
    sim.advance(INITIAL_DELAY_MS);
    let answer = sim.join_answer(cid);
    assert_eq!(
        (answer.error_code, answer.generation_id),
        (ErrorCode::None, 1)
    );
    assert_eq!(answer.member_id, "host-a-0");
}

#[test]
fn a_static_member_rejoining_with_a_new_member_id_fences_the_old_one() {
    let mut sim = Sim::new();
    let generation = mixed_stable_group(&mut sim);
    let old = generation.member(1).to_string();
    assert_eq!(generation.leader, old);
    let summary = sim.describe();
    let assignment = summary
        .members
        .iter()
        .find(|m| m.member_id == old)
        .unwrap()
        .assignment
        .clone();
    assert!(!assignment.partitions.is_empty());

    // The consumer restarts and joins again with no member id.
    let cid = static_join(&mut sim, 1, UNKNOWN_MEMBER_ID);
    assert!(
        sim.answer(cid).is_none(),
        "answered once the new member id is persisted"
    );
    sim.ack_appends();
    let answer = sim.join_answer(cid);
    let new = answer.member_id.clone();
    assert_ne!(new, old);
    assert_eq!(
        (answer.error_code, answer.generation_id),
        (ErrorCode::None, 1)
    );
    assert_eq!(
        answer.leader, old,
        "the old leader id, so the new one does not assign"
    );
    assert!(answer.members.is_empty());
    assert_eq!(sim.state(), GroupState::Stable, "no rebalance");
    assert!(sim.events.contains(&GroupEvent::StaticMemberReplaced {
        group: GROUP.into(),
        group_instance_id: INSTANCE.into(),
        old_member_id: old.clone(),
        new_member_id: new.clone(),
    }));

    // The old incarnation, if it still runs, is fenced everywhere.
    assert_eq!(
        sim.heartbeat_as(1, &old, Some(INSTANCE), 1),
        ErrorCode::FencedInstanceId
    );
    assert_eq!(commit_as(&mut sim, &old, 1), [ErrorCode::FencedInstanceId]);
    // The new one takes over the old one's assignment.
    let cid = sim.sync(1, &new, 1, &[]);
    assert_eq!(sim.sync_answer(cid).assignment, assignment);
    assert_eq!(
        sim.heartbeat_as(1, &new, Some(INSTANCE), 1),
        ErrorCode::None
    );
    assert_eq!(commit_as(&mut sim, &new, 1), [ErrorCode::None]);
    let summary = sim.describe();
    assert_eq!(summary.leader.as_deref(), Some(new.as_str()));
    assert!(summary.members.iter().all(|m| m.member_id != old));
}

#[test]
fn a_static_replacement_that_cannot_be_persisted_is_undone() {
    let mut sim = Sim::new();
    let generation = mixed_stable_group(&mut sim);
    let old = generation.member(1);
    let cid = static_join(&mut sim, 1, UNKNOWN_MEMBER_ID);
    sim.fail_appends(ErrorCode::NotEnoughReplicas);
    assert_eq!(
        sim.join_answer(cid).error_code,
        ErrorCode::CoordinatorNotAvailable
    );
    assert_eq!(sim.heartbeat_as(1, old, Some(INSTANCE), 1), ErrorCode::None);
    assert_eq!(sim.describe().leader.as_deref(), Some(old));
}

#[test]
fn a_static_member_restarting_during_a_rebalance_fences_its_parked_join() {
    let mut sim = Sim::new();
    let generation = mixed_stable_group(&mut sim);
    let old = generation.member(1).to_string();
    let parked = static_join(&mut sim, 1, &old);
    assert_eq!(
        sim.state(),
        GroupState::PreparingRebalance,
        "the leader rejoined"
    );
    let cid = static_join(&mut sim, 1, UNKNOWN_MEMBER_ID);
    let fenced = sim.join_answer(parked);
    assert_eq!(
        (fenced.error_code, fenced.member_id.as_str()),
        (ErrorCode::FencedInstanceId, old.as_str())
    );
    let b = sim.join(2, generation.member(2));
    let answer = sim.join_answer(cid);
    assert_eq!(
        (answer.error_code, answer.generation_id),
        (ErrorCode::None, 2)
    );
    assert_eq!(sim.join_answer(b).leader, answer.member_id);
}

#[test]
fn a_static_member_that_does_not_rejoin_keeps_its_place_in_the_next_generation() {
    let mut sim = Sim::new();
    let generation = mixed_stable_group(&mut sim);
    let (a, b) = (
        generation.member(1).to_string(),
        generation.member(2).to_string(),
    );
    let mut request = join_request(&b, None, &["range"]);
    request.protocols[0].metadata = subscription(&["orders", "payments"]);
    let cid = sim.send(2, Request::JoinGroup(request));
    for _ in 0..(REBALANCE_TIMEOUT_MS / 5_000) {
        assert_eq!(
            sim.heartbeat_as(1, &a, Some(INSTANCE), 1),
            ErrorCode::RebalanceInProgress
        );
        sim.advance(5_000);
    }
    // Dynamic members that miss a rebalance are dropped; static ones stay.
    let answer = sim.join_answer(cid);
    assert_eq!(
        (answer.generation_id, answer.leader.as_str()),
        (2, b.as_str())
    );
    let members: BTreeSet<&str> = answer
        .members
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    assert_eq!(members, BTreeSet::from([a.as_str(), b.as_str()]));
    // The static member learns of generation 2 by rejoining with its id.
    assert_eq!(
        sim.heartbeat_as(1, &a, Some(INSTANCE), 1),
        ErrorCode::IllegalGeneration
    );
    let cid = static_join(&mut sim, 1, &a);
    assert_eq!(sim.join_answer(cid).generation_id, 2);
}

#[test]
fn leave_group_by_instance_id_removes_the_static_member() {
    let mut sim = Sim::new();
    let generation = mixed_stable_group(&mut sim);
    let request = Request::LeaveGroup(LeaveGroupRequest {
        group_id: GROUP.into(),
        members: vec![MemberIdentity {
            member_id: UNKNOWN_MEMBER_ID.into(),
            group_instance_id: Some(INSTANCE.into()),
        }],
    });
    let cid = sim.send(9, request);
    assert_eq!(
        sim.answer(cid),
        Some(Response::LeaveGroup(LeaveGroupResponse {
            error_code: ErrorCode::None
        }))
    );
    let members: Vec<String> = sim
        .describe()
        .members
        .into_iter()
        .map(|m| m.member_id)
        .collect();
    assert_eq!(members, [generation.member(2)]);
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_rebalance_no_static_member_rejoins_waits_for_them_instead_of_emptying_the_group() {
    let mut sim = Sim::new();
    let joins: Vec<CorrelationId> = [(1, "host-a"), (2, "host-b")]
        .iter()
        .map(|(c, instance)| {
            let request = join_request(UNKNOWN_MEMBER_ID, Some(instance), &["range"]);
            sim.send(*c, Request::JoinGroup(request))
        })
        .collect();
    sim.advance(2 * INITIAL_DELAY_MS);
    let answers: Vec<JoinGroupResponse> =
        joins.into_iter().map(|cid| sim.join_answer(cid)).collect();
    let generation = Generation {
        generation_id: 1,
        leader: answers[0].leader.clone(),
        members: vec![
            (1, answers[0].member_id.clone()),
            (2, answers[1].member_id.clone()),
        ],
    };
    sim.sync_everyone(&generation);
    let a = generation.member(1).to_string();
    assert_eq!(sim.leave(2, generation.member(2)), ErrorCode::None);
    // A heartbeats through the whole rebalance timeout but does not rejoin.
    for _ in 0..(REBALANCE_TIMEOUT_MS / 5_000) {
        assert_eq!(
            sim.heartbeat_as(1, &a, Some("host-a"), 1),
            ErrorCode::RebalanceInProgress
        );
        sim.advance(5_000);
    }
    let summary = sim.describe();
    assert_eq!(
        (summary.state, summary.generation_id),
        (GroupState::PreparingRebalance, 1)
    );
    assert_eq!(
        summary.members.len(),
        1,
        "the static member keeps its place"
    );
    let cid = sim.send(
        1,
        Request::JoinGroup(join_request(&a, Some("host-a"), &["range"])),
    );
    assert_eq!(sim.join_answer(cid).generation_id, 2);
}
