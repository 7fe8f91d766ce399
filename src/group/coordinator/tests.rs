//! Scenarios for the group coordinator, each through `Sim`: a coordinator, a clock,
//! and a stand-in broker that keeps the appended records as the partition's log and
//! acknowledges appends only when a test says so.

use super::*;
use crate::group::offsets_topic::partition_for_group;
use crate::ids::NodeId;
use crate::protocol::*;

mod failover;
mod joining;
mod liveness;
mod offsets;
mod static_members;
mod syncing;

/// The group most scenarios use; it lives on partition 1 of 3.
const GROUP: &str = "orders-app";
const SESSION_TIMEOUT_MS: u64 = 10_000;
const REBALANCE_TIMEOUT_MS: u64 = 30_000;
const INITIAL_DELAY_MS: u64 = 3_000;

fn client(n: u32) -> Peer {
    Peer {
        node: NodeId::Client(n),
        connection: 100 + u64::from(n),
    }
}

fn orders(partition: i32) -> TopicPartition {
    TopicPartition::new("orders", partition)
}

fn subscription(topics: &[&str]) -> Subscription {
    Subscription {
        topics: topics.iter().map(|t| t.to_string()).collect(),
        owned_partitions: Vec::new(),
        generation_id: NO_GENERATION,
    }
}

/// A JoinGroup subscribing to `orders` with these assignors, in this order.
fn join_request(member_id: &str, instance: Option<&str>, assignors: &[&str]) -> JoinGroupRequest {
    JoinGroupRequest {
        group_id: GROUP.into(),
        session_timeout_ms: SESSION_TIMEOUT_MS,
        rebalance_timeout_ms: REBALANCE_TIMEOUT_MS,
        member_id: member_id.into(),
        group_instance_id: instance.map(str::to_string),
        protocol_type: "consumer".into(),
        protocols: assignors
            .iter()
            .map(|name| JoinGroupRequestProtocol {
                name: name.to_string(),
                metadata: subscription(&["orders"]),
            })
            .collect(),
    }
}

/// A generation as its members learnt it.
#[derive(Debug, Clone)]
struct Generation {
    generation_id: i32,
    leader: String,
    /// (client, member id), in the order the clients were given.
    members: Vec<(u32, String)>,
}

impl Generation {
    fn member(&self, client: u32) -> &str {
        &self
            .members
            .iter()
            .find(|(c, _)| *c == client)
            .expect("a member")
            .1
    }
}

struct Sim {
    now_ms: u64,
    coordinator: GroupCoordinator,
    next_correlation_id: CorrelationId,
    /// Answers the test has not read yet.
    answers: BTreeMap<CorrelationId, Response>,
    /// Appends not acknowledged yet: token → (partition, records).
    in_flight: BTreeMap<u64, (i32, Vec<Record>)>,
    /// Acknowledged records per `__consumer_offsets` partition.
    log: BTreeMap<i32, Vec<Record>>,
    events: Vec<GroupEvent>,
}

impl Sim {
    /// A coordinator leading every partition of `__consumer_offsets`.
    fn new() -> Self {
        let mut sim = Sim::leading(&[0, 1, 2]);
        sim.events.clear();
        sim
    }

    fn leading(partitions: &[i32]) -> Self {
        let config = GroupCoordinatorConfig {
            group_initial_rebalance_delay_ms: INITIAL_DELAY_MS,
            ..GroupCoordinatorConfig::default()
        };
        assert_eq!(
            partition_for_group(GROUP, config.offsets_topic_num_partitions),
            1
        );
        let mut sim = Sim {
            now_ms: 0,
            coordinator: GroupCoordinator::new(config),
            next_correlation_id: 0,
            answers: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            log: BTreeMap::new(),
            events: Vec::new(),
        };
        for &p in partitions {
            sim.coordinator.on_partition_led(0, p, &[]);
        }
        sim.collect();
        sim
    }

    /// A new coordinator, at the same time, that takes over every partition from
    /// the records this one had acknowledged.
    fn rebuilt(&self) -> Sim {
        let mut sim = Sim::leading(&[]);
        sim.now_ms = self.now_ms;
        sim.next_correlation_id = self.next_correlation_id;
        for p in 0..3 {
            let records = self.log.get(&p).cloned().unwrap_or_default();
            sim.coordinator.on_partition_led(sim.now_ms, p, &records);
            sim.log.insert(p, records);
        }
        sim.collect();
        sim
    }

    /// Checks invariants and files the coordinator's effects.
    fn collect(&mut self) {
        self.coordinator.invariants();
        for effect in self.coordinator.take_effects() {
            match effect {
                CoordinatorEffect::Reply {
                    correlation_id,
                    response,
                    ..
                } => {
                    let previous = self.answers.insert(correlation_id, response);
                    assert!(previous.is_none(), "one answer per request");
                }
                CoordinatorEffect::Append {
                    partition,
                    records,
                    token,
                } => {
                    self.in_flight.insert(token, (partition, records));
                }
                CoordinatorEffect::Emit(event) => self.events.push(event),
            }
        }
    }

    fn send(&mut self, from: u32, request: Request) -> CorrelationId {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        self.coordinator
            .on_request(self.now_ms, client(from), correlation_id, request);
        self.collect();
        correlation_id
    }

    fn answer(&mut self, correlation_id: CorrelationId) -> Option<Response> {
        self.answers.remove(&correlation_id)
    }

    fn join_answer(&mut self, correlation_id: CorrelationId) -> JoinGroupResponse {
        match self.answer(correlation_id) {
            Some(Response::JoinGroup(r)) => r,
            other => panic!("expected a JoinGroup answer, got {other:?}"),
        }
    }

    fn sync_answer(&mut self, correlation_id: CorrelationId) -> SyncGroupResponse {
        match self.answer(correlation_id) {
            Some(Response::SyncGroup(r)) => r,
            other => panic!("expected a SyncGroup answer, got {other:?}"),
        }
    }

    fn commit_answer(&mut self, correlation_id: CorrelationId) -> Vec<ErrorCode> {
        match self.answer(correlation_id) {
            Some(Response::OffsetCommit(r)) => r.partitions.iter().map(|p| p.error_code).collect(),
            other => panic!("expected an OffsetCommit answer, got {other:?}"),
        }
    }

    /// The broker reports every append in flight as committed.
    fn ack_appends(&mut self) {
        for (token, (partition, records)) in std::mem::take(&mut self.in_flight) {
            self.log.entry(partition).or_default().extend(records);
            self.coordinator.on_append_done(self.now_ms, token, Ok(()));
            self.collect();
        }
    }

    /// The broker reports every append in flight as failed.
    fn fail_appends(&mut self, error: ErrorCode) {
        for token in std::mem::take(&mut self.in_flight).into_keys() {
            self.coordinator
                .on_append_done(self.now_ms, token, Err(error));
            self.collect();
        }
    }

    /// Moves the clock forward, running every timer that falls due on the way.
    fn advance(&mut self, ms: u64) {
        let until = self.now_ms + ms;
        while let Some(deadline) = self.coordinator.next_deadline_ms().filter(|d| *d <= until) {
            assert!(
                deadline >= self.now_ms,
                "a deadline in the past was not run"
            );
            self.now_ms = deadline;
            self.coordinator.on_tick(self.now_ms);
            self.collect();
        }
        self.now_ms = until;
    }

    fn join(&mut self, from: u32, member_id: &str) -> CorrelationId {
        self.send(
            from,
            Request::JoinGroup(join_request(member_id, None, &["range"])),
        )
    }

    /// A first join: the coordinator's MEMBER_ID_REQUIRED answer names the id.
    fn member_id_for(&mut self, from: u32) -> String {
        let cid = self.join(from, UNKNOWN_MEMBER_ID);
        let answer = self.join_answer(cid);
        assert_eq!(answer.error_code, ErrorCode::MemberIdRequired);
        answer.member_id
    }

    fn sync(
        &mut self,
        from: u32,
        member_id: &str,
        generation_id: i32,
        assignments: &[(&str, &[i32])],
    ) -> CorrelationId {
        let assignments = assignments
            .iter()
            .map(|(member, partitions)| SyncGroupRequestAssignment {
                member_id: member.to_string(),
                assignment: Assignment {
                    partitions: partitions.iter().map(|p| orders(*p)).collect(),
                },
            })
            .collect();
        self.send(
            from,
            Request::SyncGroup(SyncGroupRequest {
                group_id: GROUP.into(),
                generation_id,
                member_id: member_id.into(),
                group_instance_id: None,
                assignments,
            }),
        )
    }

    fn heartbeat(&mut self, from: u32, member_id: &str, generation_id: i32) -> ErrorCode {
        self.heartbeat_as(from, member_id, None, generation_id)
    }

    fn heartbeat_as(
        &mut self,
        from: u32,
        member_id: &str,
        instance: Option<&str>,
        generation_id: i32,
    ) -> ErrorCode {
        let request = Request::Heartbeat(HeartbeatRequest {
            group_id: GROUP.into(),
            generation_id,
            member_id: member_id.into(),
            group_instance_id: instance.map(str::to_string),
        });
        let cid = self.send(from, request);
        match self.answer(cid) {
            Some(Response::Heartbeat(r)) => r.error_code,
            other => panic!("expected a Heartbeat answer, got {other:?}"),
        }
    }

    fn leave(&mut self, from: u32, member_id: &str) -> ErrorCode {
        let request = Request::LeaveGroup(LeaveGroupRequest {
            group_id: GROUP.into(),
            members: vec![MemberIdentity {
                member_id: member_id.into(),
                group_instance_id: None,
            }],
        });
        let cid = self.send(from, request);
        match self.answer(cid) {
            Some(Response::LeaveGroup(r)) => r.error_code,
            other => panic!("expected a LeaveGroup answer, got {other:?}"),
        }
    }

    /// Commits `offset` for each `orders` partition given.
    fn commit(
        &mut self,
        from: u32,
        member_id: &str,
        generation_id: i32,
        offsets: &[(i32, Offset)],
    ) -> CorrelationId {
        self.commit_to(GROUP, from, member_id, generation_id, offsets)
    }

    fn commit_to(
        &mut self,
        group: &str,
        from: u32,
        member_id: &str,
        generation_id: i32,
        offsets: &[(i32, Offset)],
    ) -> CorrelationId {
        let partitions = offsets
            .iter()
            .map(|(p, offset)| OffsetCommitRequestPartition {
                partition: orders(*p),
                committed_offset: *offset,
                committed_leader_epoch: Some(0),
                committed_metadata: None,
            })
            .collect();
        self.send(
            from,
            Request::OffsetCommit(OffsetCommitRequest {
                group_id: group.into(),
                generation_id,
                member_id: member_id.into(),
                group_instance_id: None,
                partitions,
            }),
        )
    }

    /// The committed offsets of these `orders` partitions (`None`: all of them).
    fn fetch(&mut self, group: &str, partitions: Option<&[i32]>) -> OffsetFetchResponse {
        let request = Request::OffsetFetch(OffsetFetchRequest {
            group_id: group.into(),
            partitions: partitions.map(|ps| ps.iter().map(|p| orders(*p)).collect()),
        });
        let cid = self.send(99, request);
        match self.answer(cid) {
            Some(Response::OffsetFetch(r)) => r,
            other => panic!("expected an OffsetFetch answer, got {other:?}"),
        }
    }

    /// The committed offset of each `orders` partition asked for (`-1`: none).
    fn committed(&mut self, partitions: &[i32]) -> Vec<Offset> {
        let answer = self.fetch(GROUP, Some(partitions));
        assert_eq!(answer.error_code, ErrorCode::None);
        answer
            .partitions
            .iter()
            .map(|p| p.committed_offset)
            .collect()
    }

    fn describe(&self) -> GroupSummary {
        self.coordinator.describe(GROUP).expect("the group exists")
    }

    fn state(&self) -> GroupState {
        self.describe().state
    }

    /// These clients join (MEMBER_ID_REQUIRED, then the real join) and wait out
    /// the initial delay (extended once for each delay in which members arrived);
    /// returns the generation and each client's join answer.
    fn join_all(&mut self, clients: &[u32]) -> (Generation, Vec<JoinGroupResponse>) {
        let ids: Vec<String> = clients.iter().map(|c| self.member_id_for(*c)).collect();
        let cids: Vec<CorrelationId> = clients
            .iter()
            .zip(&ids)
            .map(|(c, id)| self.join(*c, id))
            .collect();
        for _ in 0..REBALANCE_TIMEOUT_MS / INITIAL_DELAY_MS {
            if cids.iter().all(|cid| self.answers.contains_key(cid)) {
                break;
            }
            self.advance(INITIAL_DELAY_MS);
        }
        let answers: Vec<JoinGroupResponse> =
            cids.iter().map(|cid| self.join_answer(*cid)).collect();
        let generation = Generation {
            generation_id: answers[0].generation_id,
            leader: answers[0].leader.clone(),
            members: clients.iter().copied().zip(ids).collect(),
        };
        (generation, answers)
    }

    /// A Stable group of these clients: they join, the leader assigns `orders`
    /// partitions 0..6 round-robin, everyone syncs, the append is acknowledged.
    fn stable_group(&mut self, clients: &[u32]) -> Generation {
        let (generation, _) = self.join_all(clients);
        self.sync_everyone(&generation);
        generation
    }

    fn sync_everyone(&mut self, generation: &Generation) {
        let plan = round_robin(generation);
        let plan: Vec<(&str, &[i32])> = plan
            .iter()
            .map(|(m, ps)| (m.as_str(), ps.as_slice()))
            .collect();
        let mut cids = Vec::new();
        for (c, id) in &generation.members {
            let assignments: &[(&str, &[i32])] = if *id == generation.leader { &plan } else { &[] };
            cids.push(self.sync(*c, id, generation.generation_id, assignments));
        }
        self.ack_appends();
        for cid in cids {
            assert_eq!(self.sync_answer(cid).error_code, ErrorCode::None);
        }
        assert_eq!(self.state(), GroupState::Stable);
    }
}

/// `orders` partitions 0..6 dealt round-robin over the members, by member id.
fn round_robin(generation: &Generation) -> Vec<(String, Vec<i32>)> {
    let mut ids: Vec<String> = generation
        .members
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    ids.sort();
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.clone(),
                (0..6).filter(|p| *p as usize % ids.len() == i).collect(),
            )
        })
        .collect()
}
