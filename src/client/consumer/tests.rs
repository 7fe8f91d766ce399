//! The consumer core driven by hand: the test plays the brokers (a partition
//! leader and the group's coordinator), answering each request the core sends,
//! and reads what it completes and reports.

use super::*;
use crate::error::ErrorCode;
use crate::ids::CorrelationId;
use crate::record::RecordBatch;

mod commit;
mod config;
mod group;

const TOPIC: &str = "orders";
const GROUP: &str = "billing";
/// Leads every partition of `TOPIC`.
const LEADER: BrokerId = 1;
/// The group's coordinator.
const COORDINATOR: BrokerId = 2;
const LEADER_EPOCH: i32 = 3;
const ME: &str = "member-1";
const OTHER: &str = "member-2";

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new(TOPIC, partition)
}

/// One consumer core, the simulated clock, and what the core has sent and
/// completed so far.
struct Harness {
    core: ConsumerCore,
    now_ms: u64,
    next_token: Token,
    /// Requests sent and not yet looked at by the test, with their destination.
    outbox: Vec<(NodeId, CorrelationId, Request)>,
    completions: Vec<Completion<ConsumerOutcome>>,
    /// Partitions of `TOPIC` in the metadata the harness answers with.
    partitions: i32,
    /// The broker FindCoordinator names.
    coordinator: BrokerId,
}

impl Harness {
    /// A consumer in group `GROUP` with the given extra settings.
    fn new(settings: &[(&str, &str)]) -> Self {
        Self::with(&[&[("group.id", GROUP)], settings].concat())
    }

    /// A consumer with exactly these settings (no `group.id` unless given).
    fn with(settings: &[(&str, &str)]) -> Self {
        let mut config = ConsumerConfig::new(vec![LEADER]);
        for (key, value) in settings {
            config.set(key, value).expect("valid");
        }
        Harness {
            core: ConsumerCore::new(config).expect("a valid configuration"),
            now_ms: 0,
            next_token: 0,
            outbox: Vec::new(),
            completions: Vec::new(),
            partitions: 2,
            coordinator: COORDINATOR,
        }
    }

    /// Moves what the core did into the outbox and the completions.
    fn collect(&mut self) {
        self.core.invariants();
        for effect in self.core.take_effects() {
            match effect {
                Effect::Send {
                    to,
                    message:
                        Message::Request {
                            correlation_id,
                            request,
                        },
                } => self.outbox.push((to, correlation_id, request)),
                Effect::Emit(completion) => self.completions.push(completion),
                other => panic!("a consumer does not {other:?}"),
            }
        }
    }

    /// Takes the requests of this kind sent and not yet taken.
    fn all(&mut self, api: &str) -> Vec<(NodeId, CorrelationId, Request)> {
        self.collect();
        let (matching, rest) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|(_, _, r)| r.api_name() == api);
        self.outbox = rest;
        matching
    }

    /// Takes the one request of this kind sent and not yet taken.
    fn one(&mut self, api: &str) -> (CorrelationId, Request) {
        let mut matching = self.all(api);
        assert_eq!(
            matching.len(),
            1,
            "expected one {api} request, got {matching:?}"
        );
        let (to, id, request) = matching.pop().expect("one");
        let expected = match api {
            "Metadata" | "FindCoordinator" | "Fetch" | "ListOffsets" | "OffsetsForLeaderEpoch" => {
                to
            }
            _ => NodeId::Broker(self.coordinator),
        };
        assert_eq!(to, expected, "{api} goes to the coordinator");
        (id, request)
    }

    fn no(&mut self, api: &str) {
        let sent = self.all(api);
        assert!(sent.is_empty(), "expected no {api} request, got {sent:?}");
    }

    fn tick_at(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.core.on_tick(now_ms);
    }

    fn answer(&mut self, correlation_id: CorrelationId, response: Response) {
        let from = Peer {
            node: NodeId::Broker(COORDINATOR),
            connection: 0,
        };
        let message = Message::Response {
            correlation_id,
            response,
        };
        self.core.on_message(self.now_ms, from, message);
    }

    fn poll(&mut self, timeout_ms: u64) -> Token {
        self.next_token += 1;
        self.core.poll(self.now_ms, self.next_token, timeout_ms);
        self.next_token
    }

    /// The outcome of a finished call, if it has finished.
    fn outcome(&mut self, token: Token) -> Option<ConsumerOutcome> {
        self.collect();
        let completion = self.completions.iter().find(|c| c.token == token);
        completion.map(|c| c.outcome.clone())
    }

    fn polled(&mut self, token: Token) -> PollOutcome {
        match self.outcome(token) {
            Some(ConsumerOutcome::Poll(outcome)) => outcome,
            other => panic!("the poll has not completed: {other:?}"),
        }
    }

    fn subscribe(&mut self) {
        self.core
            .subscribe(self.now_ms, vec![TOPIC.into()])
            .expect("subscribed");
    }

    fn events(&mut self) -> Vec<RebalanceEvent> {
        self.core.take_rebalance_events()
    }

    /// Answers the pending Metadata request: `TOPIC` led by `LEADER`.
    fn answer_metadata(&mut self) {
        self.answer_metadata_in(LEADER_EPOCH);
    }

    /// Answers the pending Metadata request: `TOPIC` led by `LEADER` in `epoch`.
    fn answer_metadata_in(&mut self, leader_epoch: i32) {
        let (id, _) = self.one("Metadata");
        let partitions = (0..self.partitions)
            .map(|i| MetadataResponsePartition {
                error_code: ErrorCode::None,
                partition_index: i,
                leader_id: Some(LEADER),
                leader_epoch,
                replica_nodes: vec![LEADER],
                isr_nodes: vec![LEADER],
            })
            .collect();
        let topic = MetadataResponseTopic {
            error_code: ErrorCode::None,
            name: TOPIC.into(),
            partitions,
        };
        let brokers = [LEADER, COORDINATOR]
            .map(|node_id| MetadataResponseBroker {
                node_id,
                listener: format!("broker-{node_id}:9092"),
            })
            .to_vec();
        let response = MetadataResponse {
            brokers,
            topics: vec![topic],
            metadata_version: 1,
        };
        self.answer(id, Response::Metadata(response));
    }

    fn answer_find_coordinator(&mut self) {
        let (id, request) = self.one("FindCoordinator");
        let expected = FindCoordinatorRequest { key: GROUP.into() };
        assert_eq!(request, Request::FindCoordinator(expected));
        let response = FindCoordinatorResponse {
            error_code: ErrorCode::None,
            error_message: None,
            node_id: self.coordinator,
        };
        self.answer(id, Response::FindCoordinator(response));
    }

    /// Takes the pending JoinGroup request.
    fn join_request(&mut self) -> (CorrelationId, JoinGroupRequest) {
        match self.one("JoinGroup") {
            (id, Request::JoinGroup(request)) => (id, request),
            other => panic!("not a JoinGroup: {other:?}"),
        }
    }

    fn answer_join(&mut self, id: CorrelationId, code: ErrorCode, response: JoinGroupResponse) {
        let response = JoinGroupResponse {
            error_code: code,
            ..response
        };
        self.answer(id, Response::JoinGroup(response));
    }

    /// Takes the pending SyncGroup request.
    fn sync_request(&mut self) -> (CorrelationId, SyncGroupRequest) {
        match self.one("SyncGroup") {
            (id, Request::SyncGroup(request)) => (id, request),
            other => panic!("not a SyncGroup: {other:?}"),
        }
    }

    fn answer_sync(&mut self, id: CorrelationId, code: ErrorCode, partitions: Vec<TopicPartition>) {
        let response = SyncGroupResponse {
            error_code: code,
            assignment: Assignment { partitions },
        };
        self.answer(id, Response::SyncGroup(response));
    }

    /// Subscribes and polls until the JoinGroup with a member id is out: metadata
    /// and coordinator known, first join answered `MEMBER_ID_REQUIRED`.
    fn start_joining(&mut self) -> (Token, CorrelationId, JoinGroupRequest) {
        self.subscribe();
        let poll = self.poll(1_000);
        self.answer_metadata();
        self.answer_find_coordinator();
        let (id, first) = self.join_request();
        assert_eq!(first.member_id, UNKNOWN_MEMBER_ID);
        self.answer_join(id, ErrorCode::MemberIdRequired, joined(1, OTHER, vec![]));
        let (id, request) = self.join_request();
        (poll, id, request)
    }

    /// Joins generation `generation` as a follower and is given `partitions`;
    /// the poll under way applies the assignment.
    fn join_with(&mut self, generation: i32, partitions: Vec<TopicPartition>) -> Token {
        let (poll, id, _) = self.start_joining();
        self.answer_join(id, ErrorCode::None, joined(generation, OTHER, vec![]));
        let (sync, _) = self.sync_request();
        self.answer_sync(sync, ErrorCode::None, partitions);
        poll
    }

    /// Answers the pending OffsetFetch: `committed` per partition (-1: none).
    fn answer_offset_fetch(&mut self, committed: &[(i32, Offset)]) {
        let (id, _) = self.one("OffsetFetch");
        let partitions = committed
            .iter()
            .map(|&(p, offset)| OffsetFetchResponsePartition {
                partition: tp(p),
                committed_offset: offset,
                committed_leader_epoch: None,
                metadata: None,
                error_code: ErrorCode::None,
            })
            .collect();
        let response = OffsetFetchResponse {
            error_code: ErrorCode::None,
            partitions,
        };
        self.answer(id, Response::OffsetFetch(response));
    }

    /// A member of generation 1 owning `partitions`, with their positions at
    /// `committed`, and no poll under way.
    fn member_owning(settings: &[(&str, &str)], committed: &[(i32, Offset)]) -> Self {
        let mut h = Harness::new(settings);
        let partitions = committed.iter().map(|&(p, _)| tp(p)).collect();
        let poll = h.join_with(1, partitions);
        h.answer_offset_fetch(committed);
        h.tick_at(1_000);
        assert_eq!(h.polled(poll), Ok(vec![]));
        h.events();
        h
    }

    /// Answers the Fetch sent for partition `p` with these records from `base`.
    fn answer_fetch(&mut self, p: i32, base: Offset, values: &[&str]) {
        let fetches = self.all("Fetch");
        let (_, id, _) = fetches
            .into_iter()
            .find(|(_, _, r)| matches!(r, Request::Fetch(f) if f.partitions.iter().any(|x| x.partition == tp(p))))
            .expect("a Fetch for the partition");
        let mut batch = RecordBatch::from_values(values);
        batch.base_offset = base;
        batch.partition_leader_epoch = LEADER_EPOCH;
        let response = FetchResponse {
            error_code: ErrorCode::None,
            responses: vec![FetchablePartitionResponse {
                partition: tp(p),
                error_code: ErrorCode::None,
                high_watermark: batch.next_offset(),
                log_start_offset: 0,
                records: vec![batch],
            }],
        };
        self.answer(id, Response::Fetch(response));
    }

    fn answer_heartbeat(&mut self, code: ErrorCode) {
        let (id, _) = self.one("Heartbeat");
        let response = HeartbeatResponse { error_code: code };
        self.answer(id, Response::Heartbeat(response));
    }

    /// Takes the pending OffsetCommit: its id and offsets.
    fn commit_request(&mut self) -> (CorrelationId, OffsetCommitRequest) {
        match self.one("OffsetCommit") {
            (id, Request::OffsetCommit(request)) => (id, request),
            other => panic!("not an OffsetCommit: {other:?}"),
        }
    }

    fn answer_commit(&mut self, id: CorrelationId, request: &OffsetCommitRequest, code: ErrorCode) {
        let partitions = request
            .partitions
            .iter()
            .map(|p| OffsetCommitResponsePartition {
                partition: p.partition.clone(),
                error_code: code,
            })
            .collect();
        let response = OffsetCommitResponse { partitions };
        self.answer(id, Response::OffsetCommit(response));
    }
}

/// A successful JoinGroup answer for `ME` in `generation` (fields a test does
/// not set are filled by the harness).
fn joined(
    generation: i32,
    leader: &str,
    members: Vec<JoinGroupResponseMember>,
) -> JoinGroupResponse {
    JoinGroupResponse {
        error_code: ErrorCode::None,
        generation_id: generation,
        protocol_name: Some("range".into()),
        leader: leader.into(),
        member_id: ME.into(),
        members,
    }
}

/// The offsets of an OffsetCommit request, by partition number.
fn committed(request: &OffsetCommitRequest) -> Vec<(i32, Offset)> {
    request
        .partitions
        .iter()
        .map(|p| (p.partition.partition, p.committed_offset))
        .collect()
}

#[test]
fn manual_assignment_without_a_group_reads_from_auto_offset_reset_and_never_finds_a_coordinator() {
    let mut h = Harness::with(&[("auto.offset.reset", "earliest")]);
    h.core.assign(vec![tp(0)]).expect("assigned");
    let poll = h.poll(1_000);
    h.answer_metadata();
    let (id, request) = h.one("ListOffsets");
    let Request::ListOffsets(list) = request else {
        panic!("a ListOffsets");
    };
    assert_eq!(list.partitions[0].timestamp, EARLIEST_TIMESTAMP);
    let answer = ListOffsetsPartitionResponse {
        partition: tp(0),
        error_code: ErrorCode::None,
        offset: 0,
        leader_epoch: LEADER_EPOCH,
    };
    let response = ListOffsetsResponse {
        partitions: vec![answer],
    };
    h.answer(id, Response::ListOffsets(response));
    assert_eq!(
        h.core.current_lag(&tp(0)),
        None,
        "no fetch has answered yet"
    );
    h.answer_fetch(0, 0, &["a", "b"]);
    let values: Vec<String> = h
        .polled(poll)
        .expect("records")
        .into_iter()
        .map(|r| r.value_text())
        .collect();
    assert_eq!(values, ["a", "b"]);
    assert_eq!(h.core.position(&tp(0)), Some(2));
    assert_eq!(
        h.core.current_lag(&tp(0)),
        Some(0),
        "read to the high watermark"
    );
    h.tick_at(60_000);
    h.no("FindCoordinator");
    h.no("OffsetFetch");
}

/// A consumer that read `a`, `b`, `c` (offsets 0-2, leader epoch `LEADER_EPOCH`)
/// from partition 0, then saw its leader's epoch move on; `reset` is its
/// `auto.offset.reset`. Returns the harness and the OffsetsForLeaderEpoch it sent.
fn after_a_leader_change(reset: &str) -> (Harness, (CorrelationId, Request)) {
    let mut h = Harness::with(&[("auto.offset.reset", reset)]);
    h.core.assign(vec![tp(0)]).expect("assigned");
    h.core.seek(&tp(0), 0).expect("assigned");
    let poll = h.poll(1_000);
    h.answer_metadata();
    h.answer_fetch(0, 0, &["a", "b", "c"]);
    assert_eq!(h.polled(poll).expect("records").len(), 3);
    // The next fetch hears that the leader changed; the metadata names epoch +1.
    let poll = h.poll(1_000);
    let (id, _) = h.one("Fetch");
    let response = FetchResponse {
        error_code: ErrorCode::None,
        responses: vec![FetchablePartitionResponse {
            partition: tp(0),
            error_code: ErrorCode::NotLeaderOrFollower,
            high_watermark: -1,
            log_start_offset: -1,
            records: vec![],
        }],
    };
    h.answer(id, Response::Fetch(response));
    h.tick_at(h.now_ms + 1_000);
    assert_eq!(h.polled(poll), Ok(vec![]));
    h.answer_metadata_in(LEADER_EPOCH + 1);
    h.poll(1_000);
    let validation = h.one("OffsetsForLeaderEpoch");
    h.no("Fetch");
    (h, validation)
}

#[test]
fn after_a_leader_change_the_position_is_checked_and_moves_back_to_where_the_new_log_diverges() {
    let (mut h, (id, request)) = after_a_leader_change("earliest");
    let Request::OffsetsForLeaderEpoch(asked) = request else {
        panic!("an OffsetsForLeaderEpoch");
    };
    assert_eq!(asked.partitions[0].current_leader_epoch, LEADER_EPOCH + 1);
    assert_eq!(
        asked.partitions[0].leader_epoch, LEADER_EPOCH,
        "the epoch of c"
    );
    // The new leader's log ends epoch LEADER_EPOCH at 1: b and c are gone.
    let answer = OffsetsForLeaderEpochResponse {
        partitions: vec![EpochEndOffset {
            partition: tp(0),
            error_code: ErrorCode::None,
            leader_epoch: LEADER_EPOCH,
            end_offset: 1,
        }],
    };
    h.answer(id, Response::OffsetsForLeaderEpoch(answer));
    assert_eq!(h.core.position(&tp(0)), Some(1), "not 0: KIP-320");
    h.tick_at(h.now_ms + 1);
    let (_, fetch) = h.one("Fetch");
    let Request::Fetch(fetch) = fetch else {
        panic!("a Fetch");
    };
    assert_eq!(fetch.partitions[0].fetch_offset, 1);
}

#[test]
fn with_auto_offset_reset_none_a_truncation_fails_the_poll() {
    let (mut h, (id, _)) = after_a_leader_change("none");
    let poll = h.next_token;
    let answer = OffsetsForLeaderEpochResponse {
        partitions: vec![EpochEndOffset {
            partition: tp(0),
            error_code: ErrorCode::None,
            leader_epoch: LEADER_EPOCH,
            end_offset: 1,
        }],
    };
    h.answer(id, Response::OffsetsForLeaderEpoch(answer));
    let error = h.polled(poll).expect_err("a truncation");
    assert!(
        error
            .to_string()
            .contains("Truncated partition(s): orders-0"),
        "{error}"
    );
    assert_eq!(h.core.position(&tp(0)), Some(3), "the application decides");
}

#[test]
fn a_poll_of_a_consumer_with_nothing_to_read_fails_at_once() {
    let mut h = Harness::new(&[]);
    let poll = h.poll(1_000);
    let Err(ClientError::Invalid { message }) = h.polled(poll) else {
        panic!("refused");
    };
    assert!(message.contains("not subscribed"), "{message}");
}
