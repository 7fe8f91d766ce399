//! Joining, syncing, heartbeating and leaving, as the member sees it.

use super::*;

fn member(id: &str) -> JoinGroupResponseMember {
    JoinGroupResponseMember {
        member_id: id.into(),
        group_instance_id: None,
        metadata: Subscription {
            topics: vec![TOPIC.into()],
            owned_partitions: vec![],
            generation_id: NO_GENERATION,
        },
    }
}

/// Answers every heartbeat due up to `until_ms`, tick by tick, with NONE.
fn heartbeat_until(h: &mut Harness, until_ms: u64) {
    let interval_ms = h.core.config.heartbeat_interval_ms;
    let mut at_ms = h.core.membership.next_heartbeat_ms;
    while at_ms <= until_ms {
        h.tick_at(at_ms);
        h.answer_heartbeat(ErrorCode::None);
        at_ms += interval_ms;
    }
}

#[test]
fn a_subscribed_consumer_finds_its_coordinator_in_poll_and_joins_again_with_the_member_id_it_is_given(
) {
    let mut h = Harness::new(&[]);
    h.subscribe();
    h.tick_at(0);
    h.no("FindCoordinator"); // Kafka joins from inside poll
    h.poll(1_000);
    h.answer_metadata();
    h.answer_find_coordinator();
    let (id, first) = h.join_request();
    let expected = JoinGroupRequest {
        group_id: GROUP.into(),
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 300_000,
        member_id: UNKNOWN_MEMBER_ID.into(),
        group_instance_id: None,
        protocol_type: "consumer".into(),
        protocols: ["range", "cooperative-sticky"]
            .map(|name| JoinGroupRequestProtocol {
                name: name.into(),
                metadata: Subscription {
                    topics: vec![TOPIC.into()],
                    owned_partitions: vec![],
                    generation_id: NO_GENERATION,
                },
            })
            .to_vec(),
    };
    assert_eq!(first, expected);
    h.answer_join(
        id,
        ErrorCode::MemberIdRequired,
        joined(NO_GENERATION, "", vec![]),
    );
    let (_, second) = h.join_request();
    assert_eq!(second.member_id, ME);
}

#[test]
fn the_leader_computes_every_members_assignment_from_their_subscriptions() {
    let mut h = Harness::new(&[]);
    let (_, id, _) = h.start_joining();
    h.answer_join(
        id,
        ErrorCode::None,
        joined(1, ME, vec![member(ME), member(OTHER)]),
    );
    let (sync, request) = h.sync_request();
    assert_eq!((request.generation_id, request.member_id.as_str()), (1, ME));
    let assignments: Vec<(String, Vec<TopicPartition>)> = request
        .assignments
        .into_iter()
        .map(|a| (a.member_id, a.assignment.partitions))
        .collect();
    let expected = vec![
        (ME.to_string(), vec![tp(0)]),
        (OTHER.to_string(), vec![tp(1)]),
    ];
    assert_eq!(assignments, expected);
    h.answer_sync(sync, ErrorCode::None, vec![tp(0)]);
    assert_eq!(h.events(), [RebalanceEvent::Assigned(vec![tp(0)])]);
    assert_eq!(h.core.assignment(), [tp(0)]);
}

#[test]
fn a_follower_sends_an_empty_sync_group_and_reads_what_it_is_given() {
    let mut h = Harness::new(&[]);
    let (_, id, _) = h.start_joining();
    h.answer_join(id, ErrorCode::None, joined(1, OTHER, vec![]));
    let (sync, request) = h.sync_request();
    assert!(request.assignments.is_empty(), "only the leader assigns");
    h.answer_sync(sync, ErrorCode::None, vec![tp(1)]);
    assert_eq!(h.events(), [RebalanceEvent::Assigned(vec![tp(1)])]);
    assert_eq!(
        h.core.group_metadata().expect("in a group").generation_id,
        1
    );
}

#[test]
fn an_assignment_that_arrives_between_polls_is_applied_by_the_next_poll() {
    let mut h = Harness::new(&[]);
    let (_, id, _) = h.start_joining();
    h.answer_join(id, ErrorCode::None, joined(1, OTHER, vec![]));
    let (sync, _) = h.sync_request();
    h.tick_at(1_000); // the poll ends before SyncGroup is answered
    h.answer_sync(sync, ErrorCode::None, vec![tp(1)]);
    assert!(h.events().is_empty(), "the listener runs inside poll");
    assert!(h.core.assignment().is_empty());
    h.poll(1_000);
    assert_eq!(h.events(), [RebalanceEvent::Assigned(vec![tp(1)])]);
}

#[test]
fn a_member_heartbeats_every_heartbeat_interval_once_joined() {
    let mut h = Harness::member_owning(&[], &[(0, 0)]);
    h.tick_at(2_999);
    h.no("Heartbeat");
    h.tick_at(3_000);
    let (id, request) = h.one("Heartbeat");
    let expected = HeartbeatRequest {
        group_id: GROUP.into(),
        generation_id: 1,
        member_id: ME.into(),
        group_instance_id: None,
    };
    assert_eq!(request, Request::Heartbeat(expected));
    h.answer(
        id,
        Response::Heartbeat(HeartbeatResponse {
            error_code: ErrorCode::None,
        }),
    );
    h.tick_at(5_999);
    h.no("Heartbeat");
    h.tick_at(6_000);
    h.answer_heartbeat(ErrorCode::None);
}

#[test]
fn rebalance_in_progress_makes_an_eager_member_commit_then_revoke_everything_then_rejoin() {
    let mut h = Harness::member_owning(&[], &[(0, 5)]);
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::RebalanceInProgress);
    h.no("JoinGroup"); // the rejoin waits for the application's next poll
    h.poll(1_000);
    let (id, commit) = h.commit_request();
    assert_eq!(committed(&commit), [(0, 5)]);
    assert_eq!((commit.generation_id, commit.member_id.as_str()), (1, ME));
    h.no("JoinGroup");
    assert!(h.events().is_empty(), "revocation comes after the commit");
    h.answer_commit(id, &commit, ErrorCode::None);
    assert_eq!(h.events(), [RebalanceEvent::Revoked(vec![tp(0)])]);
    assert!(h.core.assignment().is_empty());
    let (_, join) = h.join_request();
    assert_eq!(join.member_id, ME);
    assert!(join.protocols[0].metadata.owned_partitions.is_empty());
    let results = h.core.take_commit_results();
    assert_eq!(results.len(), 1);
    assert!(results[0].auto && results[0].outcome.is_ok());
}

#[test]
fn a_cooperative_member_keeps_its_partitions_while_rejoining_and_revokes_only_those_that_moved() {
    let settings = [
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("enable.auto.commit", "false"),
    ];
    let mut h = Harness::member_owning(&settings, &[(0, 5), (1, 7)]);
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::RebalanceInProgress);
    h.poll(5_000);
    let (id, join) = h.join_request();
    let subscription = &join.protocols[0].metadata;
    assert_eq!(
        (
            subscription.owned_partitions.clone(),
            subscription.generation_id
        ),
        (vec![tp(0), tp(1)], 1)
    );
    assert!(h.events().is_empty());
    let answer = JoinGroupResponse {
        protocol_name: Some("cooperative-sticky".into()),
        ..joined(2, OTHER, vec![])
    };
    h.answer_join(id, ErrorCode::None, answer);
    let (sync, _) = h.sync_request();
    h.answer_sync(sync, ErrorCode::None, vec![tp(0)]);
    let expected = [
        RebalanceEvent::Revoked(vec![tp(1)]),
        RebalanceEvent::Assigned(vec![]),
    ];
    assert_eq!(h.events(), expected);
    assert_eq!(
        h.core.position(&tp(0)),
        Some(5),
        "a kept partition keeps its position"
    );
    h.no("OffsetFetch");
    let (_, rejoin) = h.join_request(); // at once, so orders-1 can go to its new owner
    assert_eq!(rejoin.protocols[0].metadata.owned_partitions, [tp(0)]);
}

#[test]
fn a_join_group_held_by_a_coordinator_that_also_leads_a_partition_does_not_hold_its_fetches_back() {
    let settings = [
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("enable.auto.commit", "false"),
    ];
    let mut h = Harness::new(&settings);
    h.coordinator = LEADER;
    let poll = h.join_with(1, vec![tp(0)]);
    h.answer_offset_fetch(&[(0, 5)]);
    h.answer_fetch(0, 5, &["x"]);
    assert!(h.polled(poll).is_ok());
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::RebalanceInProgress);
    h.poll(1_000);
    h.join_request(); // held by broker 1 until the group has formed
    let (_, fetch) = h.one("Fetch");
    let Request::Fetch(fetch) = fetch else {
        panic!("a Fetch");
    };
    assert_eq!(fetch.partitions[0].fetch_offset, 6);
}

#[test]
fn unknown_member_id_on_a_heartbeat_loses_the_partitions_and_rejoins_without_a_member_id() {
    let mut h = Harness::member_owning(&[], &[(0, 5)]);
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::UnknownMemberId);
    h.tick_at(6_000);
    h.no("Heartbeat");
    h.poll(1_000);
    assert_eq!(h.events(), [RebalanceEvent::Lost(vec![tp(0)])]);
    h.no("OffsetCommit"); // nothing to commit for a member the group no longer knows
    let (_, join) = h.join_request();
    assert_eq!(join.member_id, UNKNOWN_MEMBER_ID);
}

#[test]
fn illegal_generation_on_a_heartbeat_loses_the_partitions_but_keeps_the_member_id() {
    let mut h = Harness::member_owning(&[], &[(0, 5)]);
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::IllegalGeneration);
    h.poll(1_000);
    assert_eq!(h.events(), [RebalanceEvent::Lost(vec![tp(0)])]);
    let (_, join) = h.join_request();
    assert_eq!(join.member_id, ME);
    assert_eq!(join.protocols[0].metadata.generation_id, NO_GENERATION);
}

#[test]
fn a_fenced_static_member_loses_its_partitions_and_its_next_poll_fails() {
    let mut h = Harness::member_owning(&[("group.instance.id", "billing-1")], &[(0, 5)]);
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::FencedInstanceId);
    let poll = h.poll(1_000);
    let Err(ClientError::Broker { code, .. }) = h.polled(poll) else {
        panic!("the poll fails");
    };
    assert_eq!(code, ErrorCode::FencedInstanceId);
}

#[test]
fn not_coordinator_and_a_lost_connection_send_the_member_to_find_its_coordinator_again() {
    let mut h = Harness::member_owning(&[], &[(0, 5)]);
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::NotCoordinator);
    h.answer_find_coordinator();
    h.tick_at(3_100);
    h.answer_heartbeat(ErrorCode::None);
    h.tick_at(6_100);
    h.one("Heartbeat");
    h.core.on_disconnect(h.now_ms, NodeId::Broker(COORDINATOR));
    h.answer_find_coordinator();
}

#[test]
fn a_member_that_stops_polling_for_max_poll_interval_leaves_and_its_next_poll_reports_the_partitions_lost(
) {
    let settings = [
        ("max.poll.interval.ms", "10000"),
        ("enable.auto.commit", "false"),
    ];
    let mut h = Harness::member_owning(&settings, &[(0, 5)]);
    heartbeat_until(&mut h, 10_999); // the last poll ended at 1 000 ms
    h.no("LeaveGroup");
    h.tick_at(11_000);
    let (_, leave) = h.one("LeaveGroup");
    let expected = LeaveGroupRequest {
        group_id: GROUP.into(),
        members: vec![MemberIdentity {
            member_id: ME.into(),
            group_instance_id: None,
        }],
    };
    assert_eq!(leave, Request::LeaveGroup(expected));
    h.tick_at(20_000);
    h.no("Heartbeat");
    assert!(h.events().is_empty(), "the listener runs in the next poll");
    h.poll(1_000);
    assert_eq!(h.events(), [RebalanceEvent::Lost(vec![tp(0)])]);
    let (_, join) = h.join_request();
    assert_eq!(join.member_id, UNKNOWN_MEMBER_ID);
}

#[test]
fn a_static_member_that_stops_polling_sends_no_leave_group() {
    let settings = [
        ("max.poll.interval.ms", "10000"),
        ("group.instance.id", "billing-1"),
    ];
    let mut h = Harness::member_owning(&settings, &[(0, 5)]);
    heartbeat_until(&mut h, 10_999);
    h.tick_at(11_000);
    h.no("LeaveGroup");
    h.tick_at(14_000);
    h.no("Heartbeat");
}

#[test]
fn a_poll_during_the_join_returns_nothing_until_its_timeout() {
    let mut h = Harness::new(&[]);
    let (poll, _, _) = h.start_joining();
    h.tick_at(999);
    assert!(h.outcome(poll).is_none());
    h.tick_at(1_000);
    assert_eq!(h.polled(poll), Ok(vec![]));
}

#[test]
fn close_revokes_the_partitions_leaves_and_completes_once_the_coordinator_answers() {
    let mut h = Harness::member_owning(&[("enable.auto.commit", "false")], &[(0, 5)]);
    h.core.close(h.now_ms, 77, DEFAULT_CLOSE_TIMEOUT_MS);
    assert_eq!(h.events(), [RebalanceEvent::Revoked(vec![tp(0)])]);
    let (id, _) = h.one("LeaveGroup");
    assert!(h.outcome(77).is_none(), "close waits for the coordinator");
    let response = LeaveGroupResponse {
        error_code: ErrorCode::None,
    };
    h.answer(id, Response::LeaveGroup(response));
    assert_eq!(h.outcome(77), Some(ConsumerOutcome::Close));
    let poll = h.poll(1_000);
    assert!(matches!(h.polled(poll), Err(ClientError::Invalid { .. })));
}
