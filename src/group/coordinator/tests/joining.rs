//! JoinGroup: member ids, the initial delay, generations, leaders, assignors, and
//! the requests refused before a group is even looked at.

use super::*;

#[test]
fn a_first_join_without_member_id_gets_member_id_required() {
    let mut sim = Sim::new();
    let cid = sim.join(1, UNKNOWN_MEMBER_ID);
    let answer = sim.join_answer(cid);
    assert_eq!(answer.error_code, ErrorCode::MemberIdRequired);
    assert_eq!(answer.member_id, "client-1-0");
    assert_eq!(answer.generation_id, NO_GENERATION);
    // The id is reserved, but the member is not in the group until it joins with it.
    assert_eq!(sim.state(), GroupState::Empty);
    assert!(sim.describe().members.is_empty());
}

#[test]
fn every_generated_member_id_is_new() {
    let mut sim = Sim::new();
    let ids: Vec<String> = [1, 1, 2].iter().map(|c| sim.member_id_for(*c)).collect();
    assert_eq!(ids, ["client-1-0", "client-1-1", "client-2-2"]);
}

#[test]
fn a_join_with_a_member_id_the_group_never_gave_gets_unknown_member_id() {
    let mut sim = Sim::new();
    let cid = sim.join(1, "client-1-77");
    assert_eq!(sim.join_answer(cid).error_code, ErrorCode::UnknownMemberId);
    sim.member_id_for(1);
    let cid = sim.join(1, "client-1-77");
    assert_eq!(sim.join_answer(cid).error_code, ErrorCode::UnknownMemberId);
}

#[test]
fn the_join_completes_only_after_the_initial_rebalance_delay() {
    let mut sim = Sim::new();
    let id = sim.member_id_for(1);
    let cid = sim.join(1, &id);
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
    sim.advance(INITIAL_DELAY_MS - 1);
    assert!(sim.answer(cid).is_none(), "parked during the initial delay");
    sim.advance(1);
    let answer = sim.join_answer(cid);
    assert_eq!(answer.error_code, ErrorCode::None);
    assert_eq!(answer.generation_id, 1);
    assert_eq!(answer.leader, id);
    assert_eq!(sim.state(), GroupState::CompletingRebalance);
}

#[test]
fn the_initial_delay_grows_while_members_keep_arriving_up_to_the_rebalance_timeout() {
    let mut sim = Sim::new();
    let mut request = join_request("", None, &["range"]);
    request.rebalance_timeout_ms = 7_000;
    let first = sim.send(1, Request::JoinGroup(request.clone()));
    request.member_id = sim.join_answer(first).member_id;
    let a = sim.send(1, Request::JoinGroup(request));
    // A joins at 0 and B at 2000: the delay is extended to 6000 …
    sim.advance(2_000);
    let b_id = sim.member_id_for(2);
    let b = sim.join(2, &b_id);
    sim.advance(3_999);
    assert!(sim.answer(a).is_none());
    // … C joins at 5999: extended once more, by what is left of the 7000 ms.
    let c_id = sim.member_id_for(3);
    let c = sim.join(3, &c_id);
    sim.advance(1);
    assert!(sim.answer(a).is_none());
    sim.advance(999);
    assert!(
        sim.answer(a).is_none(),
        "still within the rebalance timeout"
    );
    sim.advance(1);
    assert_eq!(sim.now_ms, 7_000);
    for cid in [a, b, c] {
        let answer = sim.join_answer(cid);
        assert_eq!(
            (answer.error_code, answer.generation_id),
            (ErrorCode::None, 1)
        );
    }
}

#[test]
fn two_members_join_into_one_generation_with_one_leader() {
    let mut sim = Sim::new();
    let (generation, answers) = sim.join_all(&[1, 2]);
    let (leader, follower) = (&answers[0], &answers[1]);
    assert_eq!(leader.member_id, "client-1-0");
    assert_eq!(follower.member_id, "client-2-1");
    for answer in &answers {
        assert_eq!(answer.error_code, ErrorCode::None);
        assert_eq!(answer.generation_id, 1);
        assert_eq!(answer.protocol_name.as_deref(), Some("range"));
        assert_eq!(
            answer.leader, "client-1-0",
            "the first member to join leads"
        );
    }
    // Only the leader learns the members and their subscriptions.
    let members: Vec<(&str, &Subscription)> = leader
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), &m.metadata))
        .collect();
    let wanted = subscription(&["orders"]);
    assert_eq!(members, [("client-1-0", &wanted), ("client-2-1", &wanted)]);
    assert!(follower.members.is_empty());
    assert_eq!(generation.leader, "client-1-0");
    assert!(sim.events.contains(&GroupEvent::JoinCompleted {
        group: GROUP.into(),
        generation_id: 1,
        protocol_name: Some("range".into()),
        leader: Some("client-1-0".into()),
        members: vec!["client-1-0".into(), "client-2-1".into()],
    }));
}

#[test]
fn the_assignor_is_the_one_most_members_prefer_among_those_all_support() {
    let mut sim = Sim::new();
    let preferences: [&[&str]; 3] = [
        &["roundrobin", "range", "sticky"],
        &["range", "roundrobin"],
        &["roundrobin", "range"],
    ];
    let mut cids = Vec::new();
    for (i, assignors) in preferences.iter().enumerate() {
        let client = i as u32 + 1;
        let first = sim.send(
            client,
            Request::JoinGroup(join_request("", None, assignors)),
        );
        let id = sim.join_answer(first).member_id;
        cids.push(sim.send(
            client,
            Request::JoinGroup(join_request(&id, None, assignors)),
        ));
    }
    // Members arrived during the initial delay, so it runs twice.
    sim.advance(2 * INITIAL_DELAY_MS);
    for cid in cids {
        assert_eq!(
            sim.join_answer(cid).protocol_name.as_deref(),
            Some("roundrobin")
        );
    }
}

#[test]
fn a_joiner_sharing_no_assignor_with_the_group_gets_inconsistent_group_protocol() {
    let mut sim = Sim::new();
    sim.stable_group(&[1]);
    let cid = sim.send(2, Request::JoinGroup(join_request("", None, &["sticky"])));
    let answer = sim.join_answer(cid);
    assert_eq!(answer.error_code, ErrorCode::InconsistentGroupProtocol);
    assert_eq!(answer.member_id, UNKNOWN_MEMBER_ID);
    assert_eq!(sim.state(), GroupState::Stable);
    // An empty group takes any consumer, but not one without an assignor.
    let mut request = join_request("", None, &[]);
    request.group_id = "other".into();
    let cid = sim.send(3, Request::JoinGroup(request));
    assert_eq!(
        sim.join_answer(cid).error_code,
        ErrorCode::InconsistentGroupProtocol
    );
}

#[test]
fn a_new_member_joining_a_stable_group_starts_a_rebalance() {
    let mut sim = Sim::new();
    let old = sim.stable_group(&[1, 2]);
    let id = sim.member_id_for(3);
    assert_eq!(
        sim.state(),
        GroupState::Stable,
        "a member id alone changes nothing"
    );
    let new = sim.join(3, &id);
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
    assert!(sim.events.iter().any(|e| matches!(e,
        GroupEvent::RebalanceStarted { generation_id: 1, reason, .. } if reason.contains(&id))));
    // The old members hear of it in their next heartbeat and rejoin; the join
    // completes as soon as every known member is back.
    let rejoins: Vec<CorrelationId> = old
        .members
        .iter()
        .map(|(c, m)| {
            assert_eq!(sim.heartbeat(*c, m, 1), ErrorCode::RebalanceInProgress);
            sim.join(*c, m)
        })
        .collect();
    for cid in rejoins.into_iter().chain([new]) {
        let answer = sim.join_answer(cid);
        assert_eq!(
            (answer.error_code, answer.generation_id),
            (ErrorCode::None, 2)
        );
        assert_eq!(
            answer.leader, old.leader,
            "the leader keeps leading if it rejoins"
        );
    }
}

#[test]
fn a_follower_rejoining_with_the_same_subscription_stays_in_its_generation() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let cid = sim.join(2, generation.member(2));
    let answer = sim.join_answer(cid);
    assert_eq!(
        (answer.error_code, answer.generation_id),
        (ErrorCode::None, 1)
    );
    assert!(answer.members.is_empty());
    assert_eq!(sim.state(), GroupState::Stable);
}

#[test]
fn the_leader_rejoining_a_stable_group_forces_a_rebalance() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    sim.join(1, generation.member(1));
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_member_rejoining_with_a_changed_subscription_starts_a_rebalance() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let mut request = join_request(generation.member(2), None, &["range"]);
    request.protocols[0].metadata = subscription(&["orders", "payments"]);
    let cid = sim.send(2, Request::JoinGroup(request));
    assert!(
        sim.answer(cid).is_none(),
        "parked until the rebalance completes"
    );
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_lost_join_answer_is_given_again_during_completing_rebalance() {
    let mut sim = Sim::new();
    let (generation, answers) = sim.join_all(&[1, 2]);
    let cid = sim.join(1, generation.member(1));
    assert_eq!(sim.join_answer(cid), answers[0]);
    assert_eq!(sim.state(), GroupState::CompletingRebalance);
}

#[test]
fn requests_for_groups_of_partitions_not_led_here_answer_not_coordinator() {
    let mut sim = Sim::leading(&[0, 2]);
    let cid = sim.join(1, UNKNOWN_MEMBER_ID);
    assert_eq!(sim.join_answer(cid).error_code, ErrorCode::NotCoordinator);
    let cid = sim.sync(1, "m", 1, &[]);
    assert_eq!(sim.sync_answer(cid).error_code, ErrorCode::NotCoordinator);
    assert_eq!(sim.heartbeat(1, "m", 1), ErrorCode::NotCoordinator);
    assert_eq!(sim.leave(1, "m"), ErrorCode::NotCoordinator);
    let cid = sim.commit(1, "", NO_GENERATION, &[(0, 5)]);
    assert_eq!(sim.commit_answer(cid), [ErrorCode::NotCoordinator]);
    assert_eq!(sim.fetch(GROUP, None).error_code, ErrorCode::NotCoordinator);
    assert!(sim.coordinator.describe(GROUP).is_none());
}

#[test]
fn an_empty_group_id_is_invalid_for_membership_but_not_for_offsets() {
    let mut sim = Sim::new();
    let mut request = join_request("", None, &["range"]);
    request.group_id = String::new();
    let cid = sim.send(1, Request::JoinGroup(request));
    assert_eq!(sim.join_answer(cid).error_code, ErrorCode::InvalidGroupId);
    let heartbeat = Request::Heartbeat(HeartbeatRequest {
        group_id: String::new(),
        generation_id: 1,
        member_id: "m".into(),
        group_instance_id: None,
    });
    let cid = sim.send(1, heartbeat);
    assert_eq!(
        sim.answer(cid),
        Some(Response::Heartbeat(HeartbeatResponse {
            error_code: ErrorCode::InvalidGroupId
        }))
    );
    // Kafka still takes offsets for the empty group id, for old clients.
    let cid = sim.commit_to("", 1, "", NO_GENERATION, &[(0, 5)]);
    sim.ack_appends();
    assert_eq!(sim.commit_answer(cid), [ErrorCode::None]);
    assert_eq!(sim.fetch("", Some(&[0])).partitions[0].committed_offset, 5);
}

#[test]
fn a_session_timeout_outside_the_brokers_bounds_is_refused() {
    let mut sim = Sim::new();
    for session_timeout_ms in [5_999, 1_800_001] {
        let mut request = join_request("", None, &["range"]);
        request.session_timeout_ms = session_timeout_ms;
        let cid = sim.send(1, Request::JoinGroup(request));
        assert_eq!(
            sim.join_answer(cid).error_code,
            ErrorCode::InvalidSessionTimeout
        );
    }
    assert!(sim.coordinator.describe(GROUP).is_none());
}
