//! Heartbeat, LeaveGroup, and members removed for going silent.

use super::*;

fn removed(sim: &Sim) -> Vec<(String, RemovalReason)> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            GroupEvent::MemberRemoved {
                member_id, reason, ..
            } => Some((member_id.clone(), *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_heartbeat_during_preparing_rebalance_gets_rebalance_in_progress() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    assert_eq!(sim.heartbeat(2, generation.member(2), 1), ErrorCode::None);
    sim.join(1, generation.member(1));
    assert_eq!(
        sim.heartbeat(2, generation.member(2), 1),
        ErrorCode::RebalanceInProgress
    );
}

#[test]
fn a_heartbeat_during_completing_rebalance_is_accepted() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    assert_eq!(sim.state(), GroupState::CompletingRebalance);
    assert_eq!(sim.heartbeat(2, generation.member(2), 1), ErrorCode::None);
}

#[test]
fn a_heartbeat_from_a_stale_generation_or_an_unknown_member_is_fenced() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    assert_eq!(
        sim.heartbeat(2, generation.member(2), 0),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        sim.heartbeat(3, "client-3-7", 1),
        ErrorCode::UnknownMemberId
    );
    let request = Request::Heartbeat(HeartbeatRequest {
        group_id: "no-such-group".into(),
        generation_id: 1,
        member_id: "client-3-7".into(),
        group_instance_id: None,
    });
    let cid = sim.send(3, request);
    let answer = Some(Response::Heartbeat(HeartbeatResponse {
        error_code: ErrorCode::UnknownMemberId,
    }));
    assert_eq!(sim.answer(cid), answer);
}

#[test]
fn heartbeats_keep_a_member_alive_past_its_session_timeout() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    for _ in 0..12 {
        sim.advance(SESSION_TIMEOUT_MS / 2);
        for (c, m) in &generation.members {
            assert_eq!(sim.heartbeat(*c, m, 1), ErrorCode::None);
        }
    }
    assert_eq!(sim.state(), GroupState::Stable);
    assert_eq!(sim.describe().members.len(), 2);
}

#[test]
fn session_expiry_removes_a_member_and_rebalances() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let (survivor, silent) = (
        generation.member(1).to_string(),
        generation.member(2).to_string(),
    );
    sim.advance(SESSION_TIMEOUT_MS - 1_000);
    assert_eq!(sim.heartbeat(1, &survivor, 1), ErrorCode::None);
    sim.advance(999);
    assert_eq!(sim.state(), GroupState::Stable);
    sim.advance(1);
    assert_eq!(
        removed(&sim),
        [(silent.clone(), RemovalReason::SessionTimeout)]
    );
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
    // The silent member is gone: it must join from scratch.
    assert_eq!(sim.heartbeat(2, &silent, 1), ErrorCode::UnknownMemberId);
    assert_eq!(
        sim.heartbeat(1, &survivor, 1),
        ErrorCode::RebalanceInProgress
    );
    let cid = sim.join(1, &survivor);
    let answer = sim.join_answer(cid);
    assert_eq!((answer.generation_id, answer.members.len()), (2, 1));
}

#[test]
fn a_member_expiring_during_preparing_rebalance_is_just_removed() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2, 3]);
    sim.join(1, generation.member(1));
    sim.join(2, generation.member(2));
    // Member 3 never rejoins and stops heartbeating: its session runs out before
    // the rebalance timeout, and the join completes without it at once.
    sim.advance(SESSION_TIMEOUT_MS);
    assert_eq!(
        removed(&sim),
        [(
            generation.member(3).to_string(),
            RemovalReason::SessionTimeout
        )]
    );
    assert_eq!(sim.state(), GroupState::CompletingRebalance);
    assert_eq!(sim.describe().generation_id, 2);
}

#[test]
fn a_member_that_does_not_rejoin_within_the_rebalance_timeout_is_removed() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let cid = sim.join(1, generation.member(1));
    // Member 2 keeps heartbeating (its poll loop is stuck) but never rejoins.
    for _ in 0..(REBALANCE_TIMEOUT_MS / 5_000) {
        assert!(sim.answer(cid).is_none());
        assert_eq!(
            sim.heartbeat(2, generation.member(2), 1),
            ErrorCode::RebalanceInProgress
        );
        sim.advance(5_000);
    }
    assert_eq!(
        removed(&sim),
        [(
            generation.member(2).to_string(),
            RemovalReason::RebalanceTimeout
        )]
    );
    let answer = sim.join_answer(cid);
    assert_eq!((answer.generation_id, answer.members.len()), (2, 1));
}

#[test]
fn the_leadership_passes_to_a_member_that_rejoined_when_the_leader_did_not() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    assert_eq!(generation.leader, generation.member(1));
    let mut request = join_request(generation.member(2), None, &["range"]);
    request.protocols[0].metadata = subscription(&["orders", "payments"]);
    let cid = sim.send(2, Request::JoinGroup(request));
    sim.advance(REBALANCE_TIMEOUT_MS);
    let answer = sim.join_answer(cid);
    assert_eq!(answer.leader, generation.member(2));
    assert_eq!(
        answer.members.len(),
        1,
        "the new leader gets the member list"
    );
}

#[test]
fn a_member_that_does_not_sync_within_the_rebalance_timeout_is_removed() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    let leader = generation.member(1).to_string();
    let cid = sim.sync(1, &leader, 1, &[(&leader, &[0, 1, 2, 3, 4, 5])]);
    sim.ack_appends();
    assert_eq!(sim.sync_answer(cid).error_code, ErrorCode::None);
    assert_eq!(sim.state(), GroupState::Stable);
    // Member 2 heartbeats but never syncs, so it never learns its assignment.
    for _ in 0..(REBALANCE_TIMEOUT_MS / 5_000) {
        assert_eq!(sim.heartbeat(2, generation.member(2), 1), ErrorCode::None);
        assert_eq!(sim.heartbeat(1, &leader, 1), ErrorCode::None);
        sim.advance(5_000);
    }
    assert_eq!(
        removed(&sim),
        [(generation.member(2).to_string(), RemovalReason::SyncTimeout)]
    );
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
}

#[test]
fn leave_group_removes_the_member_and_rebalances_the_rest() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    assert_eq!(sim.leave(2, generation.member(2)), ErrorCode::None);
    assert_eq!(
        removed(&sim),
        [(generation.member(2).to_string(), RemovalReason::LeaveGroup)]
    );
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
    assert_eq!(
        sim.heartbeat(1, generation.member(1), 1),
        ErrorCode::RebalanceInProgress
    );
    let cid = sim.join(1, generation.member(1));
    assert_eq!(sim.join_answer(cid).generation_id, 2);
    assert_eq!(
        sim.leave(2, generation.member(2)),
        ErrorCode::UnknownMemberId
    );
}

#[test]
fn the_last_member_leaving_empties_the_group_and_persists_it() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    assert_eq!(sim.leave(1, generation.member(1)), ErrorCode::None);
    let summary = sim.describe();
    assert_eq!(
        (summary.state, summary.generation_id),
        (GroupState::Empty, 2)
    );
    let (_, records) = sim
        .in_flight
        .values()
        .next()
        .expect("the empty group is appended");
    let decoded = crate::group::offsets_topic::OffsetsRecord::parse(&records[0]).unwrap();
    let crate::group::offsets_topic::OffsetsRecord::GroupMetadata { state, .. } = decoded else {
        panic!("expected group metadata, got {decoded:?}");
    };
    assert_eq!((state.generation_id, state.members.len()), (2, 0));
}

#[test]
fn a_member_id_that_is_never_used_stops_holding_up_the_rebalance() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    sim.member_id_for(2);
    let cid = sim.join(1, generation.member(1));
    // Every member has rejoined, but the id handed to client 2 is still pending.
    sim.advance(SESSION_TIMEOUT_MS - 1);
    assert!(sim.answer(cid).is_none());
    sim.advance(1);
    assert_eq!(sim.join_answer(cid).generation_id, 2);
}

#[test]
fn a_new_member_whose_join_stays_parked_expires_after_five_minutes() {
    let mut sim = Sim::new();
    let mut request = join_request("", None, &["range"]);
    request.rebalance_timeout_ms = 600_000;
    let first = sim.send(1, Request::JoinGroup(request.clone()));
    request.member_id = sim.join_answer(first).member_id;
    let old = request.member_id.clone();
    let cid = sim.send(1, Request::JoinGroup(request));
    sim.advance(INITIAL_DELAY_MS);
    assert_eq!(sim.join_answer(cid).generation_id, 1);
    let cid = sim.sync(1, &old, 1, &[]);
    sim.ack_appends();
    assert_eq!(sim.sync_answer(cid).error_code, ErrorCode::None);
    // A new member joins; the old one heartbeats but takes its time to rejoin.
    let new = sim.member_id_for(2);
    let cid = sim.join(2, &new);
    for _ in 0..(5 * 60_000 / 5_000) {
        assert!(sim.answer(cid).is_none());
        assert_eq!(sim.heartbeat(1, &old, 1), ErrorCode::RebalanceInProgress);
        sim.advance(5_000);
    }
    let answer = sim.join_answer(cid);
    assert_eq!(
        (answer.error_code, answer.member_id.as_str()),
        (ErrorCode::UnknownMemberId, "")
    );
    assert_eq!(removed(&sim), [(new, RemovalReason::SessionTimeout)]);
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
}
