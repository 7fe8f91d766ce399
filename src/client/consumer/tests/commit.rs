//! Committed offsets: where positions start, and the three ways to commit.

use super::*;

fn commit_sync(h: &mut Harness, offsets: Option<BTreeMap<TopicPartition, Offset>>) -> Token {
    h.next_token += 1;
    h.core.commit_sync(h.now_ms, h.next_token, offsets);
    h.next_token
}

fn values(outcome: PollOutcome) -> Vec<String> {
    outcome
        .expect("records")
        .into_iter()
        .map(|r| r.value_text())
        .collect()
}

#[test]
fn positions_come_from_the_committed_offsets_and_fall_back_to_auto_offset_reset() {
    let mut h = Harness::new(&[("auto.offset.reset", "earliest")]);
    h.join_with(1, vec![tp(0), tp(1)]);
    h.no("ListOffsets"); // the group's committed offsets come first
    h.answer_offset_fetch(&[(0, 42), (1, -1)]);
    assert_eq!(h.core.position(&tp(0)), Some(42));
    let (id, request) = h.one("ListOffsets");
    let Request::ListOffsets(list) = request else {
        panic!("a ListOffsets");
    };
    let asked: Vec<(TopicPartition, i64)> = list
        .partitions
        .iter()
        .map(|p| (p.partition.clone(), p.timestamp))
        .collect();
    assert_eq!(asked, [(tp(1), EARLIEST_TIMESTAMP)]);
    let answer = ListOffsetsPartitionResponse {
        partition: tp(1),
        error_code: ErrorCode::None,
        offset: 0,
        leader_epoch: LEADER_EPOCH,
    };
    h.answer(
        id,
        Response::ListOffsets(ListOffsetsResponse {
            partitions: vec![answer],
        }),
    );
    let (_, fetch) = h.one("Fetch");
    let Request::Fetch(fetch) = fetch else {
        panic!("a Fetch");
    };
    let from: Vec<(i32, Offset)> = fetch
        .partitions
        .iter()
        .map(|p| (p.partition.partition, p.fetch_offset))
        .collect();
    assert_eq!(from, [(0, 42), (1, 0)]);
}

#[test]
fn auto_commit_commits_what_earlier_polls_returned_not_what_the_latest_poll_returns() {
    // The first poll, at 0 ms, started the auto-commit timer.
    let mut h = Harness::member_owning(&[("max.poll.records", "2")], &[(0, 0)]);
    h.answer_fetch(0, 0, &["a", "b", "c"]);
    h.tick_at(2_000);
    let poll = h.poll(1_000);
    assert_eq!(values(h.polled(poll)), ["a", "b"]);
    h.no("OffsetCommit"); // auto.commit.interval.ms (5 s) has not passed
    h.tick_at(5_000);
    let poll = h.poll(1_000);
    let (id, commit) = h.commit_request();
    assert_eq!(
        committed(&commit),
        [(0, 2)],
        "what the poll at 2 s returned"
    );
    assert_eq!(values(h.polled(poll)), ["c"]);
    h.answer_commit(id, &commit, ErrorCode::None);
    h.no("OffsetCommit"); // c is committed by a later poll, after its processing
    h.tick_at(10_000);
    h.poll(1_000);
    let (_, commit) = h.commit_request();
    assert_eq!(committed(&commit), [(0, 3)]);
    let results = h.core.take_commit_results();
    assert!(
        results.iter().all(|r| r.auto && r.outcome.is_ok()),
        "{results:?}"
    );
}

#[test]
fn illegal_generation_on_commit_sync_is_a_definite_failure_and_the_member_rejoins() {
    let mut h = Harness::member_owning(&[("enable.auto.commit", "false")], &[(0, 5)]);
    let token = commit_sync(&mut h, None);
    let (id, commit) = h.commit_request();
    assert_eq!(
        (
            commit.generation_id,
            commit.member_id.as_str(),
            committed(&commit)
        ),
        (1, ME, vec![(0, 5)])
    );
    h.answer_commit(id, &commit, ErrorCode::IllegalGeneration);
    let Some(ConsumerOutcome::Commit(Err(ClientError::Broker { code, message }))) =
        h.outcome(token)
    else {
        panic!("the commit failed");
    };
    assert_eq!(code, ErrorCode::IllegalGeneration);
    assert!(message.contains("already rebalanced"), "{message}");
    h.tick_at(10_000);
    h.no("OffsetCommit"); // not retried
    h.poll(1_000);
    assert_eq!(h.events(), [RebalanceEvent::Lost(vec![tp(0)])]);
    let (_, join) = h.join_request();
    assert_eq!(join.member_id, ME);
}

#[test]
fn commit_sync_retries_retriable_errors_and_finds_a_moved_coordinator() {
    let mut h = Harness::member_owning(&[("enable.auto.commit", "false")], &[(0, 5)]);
    let offsets = BTreeMap::from([(tp(0), 4)]);
    let token = commit_sync(&mut h, Some(offsets));
    let (id, commit) = h.commit_request();
    h.answer_commit(id, &commit, ErrorCode::CoordinatorLoadInProgress);
    h.no("OffsetCommit");
    h.tick_at(h.now_ms + 100); // retry.backoff.ms
    let (id, commit) = h.commit_request();
    h.answer_commit(id, &commit, ErrorCode::NotCoordinator);
    h.answer_find_coordinator();
    h.tick_at(h.now_ms + 100);
    let (id, commit) = h.commit_request();
    assert_eq!(committed(&commit), [(0, 4)]);
    assert!(h.outcome(token).is_none());
    h.answer_commit(id, &commit, ErrorCode::None);
    assert_eq!(h.outcome(token), Some(ConsumerOutcome::Commit(Ok(()))));
}

#[test]
fn commit_sync_during_a_rebalance_fails_at_once_with_rebalance_in_progress() {
    let mut h = Harness::member_owning(&[("enable.auto.commit", "false")], &[(0, 5)]);
    h.tick_at(3_000);
    h.answer_heartbeat(ErrorCode::RebalanceInProgress);
    h.poll(1_000);
    h.join_request(); // JoinGroup out: the member is rebalancing
    let token = commit_sync(&mut h, Some(BTreeMap::from([(tp(0), 5)])));
    h.no("OffsetCommit");
    let Some(ConsumerOutcome::Commit(Err(ClientError::Broker { code, .. }))) = h.outcome(token)
    else {
        panic!("refused");
    };
    assert_eq!(code, ErrorCode::RebalanceInProgress);
}

#[test]
fn commit_async_is_sent_once_and_its_outcome_is_queued() {
    let mut h = Harness::member_owning(&[("enable.auto.commit", "false")], &[(0, 5)]);
    h.core.commit_async(h.now_ms, None);
    let (id, commit) = h.commit_request();
    h.answer_commit(id, &commit, ErrorCode::CoordinatorLoadInProgress);
    h.tick_at(h.now_ms + 1_000);
    h.no("OffsetCommit");
    let results = h.core.take_commit_results();
    let [result] = &results[..] else {
        panic!("one result: {results:?}");
    };
    assert!(!result.auto);
    assert_eq!(result.offsets, BTreeMap::from([(tp(0), 5)]));
    assert!(matches!(
        &result.outcome,
        Err(ClientError::Broker {
            code: ErrorCode::CoordinatorLoadInProgress,
            ..
        })
    ));
}

#[test]
fn manual_assignment_with_a_group_id_reads_committed_offsets_and_commits_with_no_generation() {
    let mut h = Harness::new(&[("enable.auto.commit", "false")]);
    h.core.assign(vec![tp(0)]).expect("assigned");
    h.poll(1_000);
    h.answer_metadata();
    h.answer_find_coordinator();
    h.no("JoinGroup");
    h.answer_offset_fetch(&[(0, 9)]);
    assert_eq!(h.core.position(&tp(0)), Some(9));
    let token = commit_sync(&mut h, None);
    let (id, commit) = h.commit_request();
    let identity = (
        commit.generation_id,
        commit.member_id.as_str(),
        commit.group_instance_id.clone(),
    );
    assert_eq!(identity, (NO_GENERATION, "", None));
    h.answer_commit(id, &commit, ErrorCode::None);
    assert_eq!(h.outcome(token), Some(ConsumerOutcome::Commit(Ok(()))));
}

#[test]
fn commits_without_a_group_id_are_refused() {
    let mut h = Harness::with(&[]);
    h.core.assign(vec![tp(0)]).expect("assigned");
    let token = commit_sync(&mut h, None);
    let Some(ConsumerOutcome::Commit(Err(ClientError::Invalid { message }))) = h.outcome(token)
    else {
        panic!("refused");
    };
    assert!(message.contains("group.id"), "{message}");
}
