//! Properties of the group coordinator state machine over random sequences of
//! joins, syncs, heartbeats, leaves, commits, session timeouts, append outcomes
//! and coordinator failovers.
//!
//! The coordinator (the real `GroupCoordinator`, through its public API) leads the
//! three `__consumer_offsets` partitions. It runs as a `CoordinatorNode` on the
//! shared test network (`kafkasim::testing`), which stands in for the broker
//! around it: appends are acknowledged in order or fail when a step says so, and
//! a failover builds a new coordinator from the acknowledged records. The test
//! plays four consumers of group
//! `orders-app`, which subscribe to topic `orders` (6 partitions). A consumer keeps
//! what the coordinator told it (member id, generation, whether it leads) and acts
//! on it as a client would; the group's leader computes the assignment with the
//! real assignor the coordinator chose. Some steps misbehave on purpose: commits
//! with a stale generation, another member's id, a made-up id, or from outside the
//! group (generation -1).
//!
//! After every call the coordinator's own invariants hold, and the test checks:
//! - **one owner per partition per generation**: each generation starts once, with
//!   the assignment its own leader sent, in which no partition has two owners;
//!   every SyncGroup answer hands a member exactly its share of what its
//!   generation's leader sent, and no two answers of one generation hand out the
//!   same partition;
//! - **fenced commits**: a commit is accepted only from a member of the current
//!   generation, in Stable or PreparingRebalance (or from outside the group when
//!   it is Empty), and otherwise refused with Kafka's code: UNKNOWN_MEMBER_ID,
//!   ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS;
//! - **committed offsets**: OffsetFetch answers exactly the offsets of the commits
//!   that were answered NONE, the latest per partition, before and after failovers;
//! - **generations never go back** on one coordinator, and a failover keeps every
//!   generation that started. (A generation whose assignment was not yet persisted
//!   is lost with its coordinator, and its number is handed out again: Kafka
//!   persists a group only once the leader's assignment is in.)
//!
//! Cases: 128 by default (CI); `PROPTEST_CASES=5000 cargo test -p kafkasim --test
//! coordinator_properties` searches deeper. Failing cases are saved to
//! `tests/coordinator_properties.proptest-regressions` and replayed first.

use kafkasim::error::ErrorCode;
use kafkasim::group::assignor::{self, Assignor};
use kafkasim::group::coordinator::{GroupCoordinatorConfig, GroupEvent, GroupState, GroupSummary};
use kafkasim::ids::{CorrelationId, NodeId, Offset, TopicPartition};
use kafkasim::protocol::*;
use kafkasim::testing::coordinator::OffsetsLog;
use kafkasim::testing::{CoordinatorNode, Envelope, Network, Observer};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::collections::BTreeMap;

const GROUP: &str = "orders-app";
const TOPIC: &str = "orders";
const PARTITIONS: i32 = 6;
const CLIENTS: u8 = 4;
const OFFSETS_PARTITIONS: i32 = 3;
const SESSION_TIMEOUT_MS: u64 = 10_000;
const REBALANCE_TIMEOUT_MS: u64 = 30_000;
/// Offsets fetched by this client id, which never joins.
const ADMIN: u32 = 99;
/// Where the coordinator runs: in the broker leading `__consumer_offsets`.
const COORDINATOR: NodeId = NodeId::Broker(1);

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn orders(partition: i32) -> TopicPartition {
    TopicPartition::new(TOPIC, partition)
}

// ---- Steps ----------------------------------------------------------------------------

/// Whose name a commit goes out under.
#[derive(Debug, Clone, Copy)]
enum CommitAs {
    /// The client's own member id and generation.
    Itself,
    /// Its own member id, the generation before its own.
    StaleGeneration,
    /// Another client's member id and generation.
    Other(u8),
    /// A member id the coordinator never gave, with the client's generation.
    MadeUp,
    /// From outside group management: no member id, generation -1.
    Outside,
}

#[derive(Debug, Clone)]
enum Step {
    /// The client does what a consumer would do next: join (again) when it has
    /// no generation or was told to rejoin, sync after a join, heartbeat once it
    /// has its assignment; nothing while an answer is outstanding.
    Poll {
        client: u8,
    },
    /// JoinGroup with the member id the client has (none at first).
    Join {
        client: u8,
    },
    /// SyncGroup in the client's generation; a leader sends the assignment.
    Sync {
        client: u8,
    },
    Heartbeat {
        client: u8,
    },
    Leave {
        client: u8,
    },
    Commit {
        client: u8,
        name: CommitAs,
        partition: u8,
    },
    /// OffsetFetch of every partition, checked against the model.
    Fetch,
    /// The client restarts: it forgets its member id and generation.
    Forget {
        client: u8,
    },
    Advance {
        ms: u32,
    },
    /// The broker acknowledges the oldest `count` appends in flight.
    AckAppends {
        count: u8,
    },
    /// Every append in flight fails (the partition's leader lost its ISR, say).
    FailAppends,
    /// The broker leading `__consumer_offsets` fails over: a new coordinator
    /// rebuilds the groups from the acknowledged records; requests and appends in
    /// flight are lost.
    Failover,
}

fn client() -> impl Strategy<Value = u8> {
    0..CLIENTS
}

fn commit_as() -> impl Strategy<Value = CommitAs> {
    prop_oneof![
        4 => Just(CommitAs::Itself),
        1 => Just(CommitAs::StaleGeneration),
        1 => client().prop_map(CommitAs::Other),
        1 => Just(CommitAs::MadeUp),
        1 => Just(CommitAs::Outside),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        40 => client().prop_map(|client| Step::Poll { client }),
        1 => client().prop_map(|client| Step::Join { client }),
        1 => client().prop_map(|client| Step::Sync { client }),
        1 => client().prop_map(|client| Step::Heartbeat { client }),
        1 => client().prop_map(|client| Step::Leave { client }),
        8 => (client(), commit_as(), 0..PARTITIONS as u8)
            .prop_map(|(client, name, partition)| Step::Commit { client, name, partition }),
        3 => Just(Step::Fetch),
        1 => client().prop_map(|client| Step::Forget { client }),
        10 => prop_oneof![
            8 => 1..2_000u32,
            2 => 2_000..6_000u32,
            1 => 10_000..40_000u32,
        ]
        .prop_map(|ms| Step::Advance { ms }),
        8 => (1..4u8).prop_map(|count| Step::AckAppends { count }),
        1 => Just(Step::FailAppends),
        1 => Just(Step::Failover),
    ]
}

// ---- The world around the coordinator -----------------------------------------------------

/// What a consumer knows.
#[derive(Debug, Clone)]
struct Client {
    member_id: String,
    generation_id: i32,
    /// Set when it leads its generation: the protocol and the members.
    leads: Option<(String, Vec<JoinGroupResponseMember>)>,
    next: Next,
    /// A request of its own is waiting for an answer.
    waiting: bool,
}

/// What a well-behaved consumer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Join,
    Sync,
    Heartbeat,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            member_id: UNKNOWN_MEMBER_ID.into(),
            generation_id: NO_GENERATION,
            leads: None,
            next: Next::Join,
            waiting: false,
        }
    }
}

/// A request waiting for its answer.
#[derive(Debug, Clone)]
enum Asked {
    Join {
        client: u8,
    },
    Sync {
        client: u8,
        member_id: String,
        generation_id: i32,
    },
    Heartbeat {
        client: u8,
    },
    Leave {
        client: u8,
    },
    Commit {
        partition: TopicPartition,
        offset: Offset,
    },
    Fetch,
}

/// What a case got to exercise.
#[derive(Debug, Clone, Copy, Default)]
struct Reached {
    generations: u32,
    syncs_checked: u32,
    commits_accepted: u32,
    commits_refused: u32,
    fetches_checked: u32,
    failovers: u32,
    session_expiries: u32,
}

impl Reached {
    fn add(&mut self, other: Reached) {
        self.generations += other.generations;
        self.syncs_checked += other.syncs_checked;
        self.commits_accepted += other.commits_accepted;
        self.commits_refused += other.commits_refused;
        self.fetches_checked += other.fetches_checked;
        self.failovers += other.failovers;
        self.session_expiries += other.session_expiries;
    }
}

type Checked = Result<(), String>;

/// The coordinator on the network, and the checker that watches it.
struct World {
    network: Network<CoordinatorNode>,
    checker: Checker,
    next_offset: Offset,
}

/// What the consumers know and what the properties remember; it checks every
/// handler of the coordinator and every answer a client gets.
struct Checker {
    clients: Vec<Client>,
    /// Requests waiting for their answer, by client and correlation id.
    asked: BTreeMap<(NodeId, CorrelationId), Asked>,
    // What the properties remember.
    /// Each generation's assignment, as the coordinator started it.
    started: BTreeMap<i32, BTreeMap<String, Vec<TopicPartition>>>,
    /// The assignment each leader sent for a generation, by (generation, leader):
    /// a failover may hand out a generation number again, and a stale leader
    /// may still send its assignment for it.
    sent_by_leader: BTreeMap<(i32, String), BTreeMap<String, Vec<TopicPartition>>>,
    /// Who each SyncGroup answer made the owner of each partition, per generation.
    owners: BTreeMap<i32, BTreeMap<TopicPartition, String>>,
    /// Committed offsets, from the commits answered NONE.
    committed: BTreeMap<TopicPartition, Offset>,
    /// The highest generation the group has been seen in.
    generation_high: i32,
    reached: Reached,
}

fn config() -> GroupCoordinatorConfig {
    GroupCoordinatorConfig {
        offsets_topic_num_partitions: OFFSETS_PARTITIONS,
        ..GroupCoordinatorConfig::default()
    }
}

/// The group as the coordinator has it.
fn describe(network: &Network<CoordinatorNode>) -> Option<GroupSummary> {
    let node = network.node(COORDINATOR).expect("the coordinator runs");
    node.coordinator().describe(GROUP)
}

impl World {
    fn new() -> Result<Self, String> {
        let mut world = World {
            network: Network::new(),
            checker: Checker::new(),
            next_offset: 0,
        };
        let node = CoordinatorNode::new(config(), OffsetsLog::new(), 0);
        world
            .network
            .insert(COORDINATOR, node, &mut world.checker)?;
        Ok(world)
    }

    fn now_ms(&self) -> u64 {
        self.network.now_ms()
    }

    fn describe(&self) -> Option<GroupSummary> {
        describe(&self.network)
    }

    fn appends_in_flight(&self) -> usize {
        let node = self
            .network
            .node(COORDINATOR)
            .expect("the coordinator runs");
        node.appends().count()
    }

    /// Sends a request from `client` and carries what follows. Returns its
    /// correlation id.
    fn send(
        &mut self,
        client: u32,
        request: Request,
        asked: Asked,
    ) -> Result<CorrelationId, String> {
        let client = NodeId::Client(client);
        let correlation_id = self.network.send(client, COORDINATOR, request);
        self.checker.asked.insert((client, correlation_id), asked);
        self.network.settle(&mut self.checker)?;
        Ok(correlation_id)
    }

    /// Runs `action` on the coordinator's node and carries what follows.
    fn act(
        &mut self,
        action: impl FnOnce(&mut CoordinatorNode, u64) -> bool,
    ) -> Result<bool, String> {
        let done = self.network.act(COORDINATOR, &mut self.checker, action)?;
        self.network.settle(&mut self.checker)?;
        Ok(done)
    }

    // ---- Steps --------------------------------------------------------------------------------

    fn run_step(&mut self, step: &Step) -> Checked {
        match *step {
            Step::Poll { client } => {
                let me = &self.checker.clients[client as usize];
                if !me.waiting {
                    let next = match me.next {
                        Next::Join => Step::Join { client },
                        Next::Sync => Step::Sync { client },
                        Next::Heartbeat => Step::Heartbeat { client },
                    };
                    self.run_step(&next)?;
                }
            }
            Step::Join { client } => {
                self.checker.clients[client as usize].waiting = true;
                let protocols = ["range", "roundrobin"]
                    .iter()
                    .map(|name| JoinGroupRequestProtocol {
                        name: name.to_string(),
                        metadata: Subscription {
                            topics: vec![TOPIC.into()],
                            owned_partitions: Vec::new(),
                            generation_id: NO_GENERATION,
                        },
                    })
                    .collect();
                let request = Request::JoinGroup(JoinGroupRequest {
                    group_id: GROUP.into(),
                    session_timeout_ms: SESSION_TIMEOUT_MS,
                    rebalance_timeout_ms: REBALANCE_TIMEOUT_MS,
                    member_id: self.checker.clients[client as usize].member_id.clone(),
                    group_instance_id: None,
                    protocol_type: "consumer".into(),
                    protocols,
                });
                self.send(client.into(), request, Asked::Join { client })?;
            }
            Step::Sync { client } => {
                self.checker.clients[client as usize].waiting = true;
                let me = self.checker.clients[client as usize].clone();
                let assignments = match &me.leads {
                    Some((protocol, members)) => {
                        let key = (me.generation_id, me.member_id.clone());
                        self.checker.assign(key, protocol, members)?
                    }
                    None => Vec::new(),
                };
                let request = Request::SyncGroup(SyncGroupRequest {
                    group_id: GROUP.into(),
                    generation_id: me.generation_id,
                    member_id: me.member_id.clone(),
                    group_instance_id: None,
                    assignments,
                });
                let asked = Asked::Sync {
                    client,
                    member_id: me.member_id,
                    generation_id: me.generation_id,
                };
                self.send(client.into(), request, asked)?;
            }
            Step::Heartbeat { client } => {
                self.checker.clients[client as usize].waiting = true;
                let me = &self.checker.clients[client as usize];
                let request = Request::Heartbeat(HeartbeatRequest {
                    group_id: GROUP.into(),
                    generation_id: me.generation_id,
                    member_id: me.member_id.clone(),
                    group_instance_id: None,
                });
                self.send(client.into(), request, Asked::Heartbeat { client })?;
            }
            Step::Leave { client } => {
                let request = Request::LeaveGroup(LeaveGroupRequest {
                    group_id: GROUP.into(),
                    members: vec![MemberIdentity {
                        member_id: self.checker.clients[client as usize].member_id.clone(),
                        group_instance_id: None,
                    }],
                });
                self.send(client.into(), request, Asked::Leave { client })?;
            }
            Step::Commit {
                client,
                name,
                partition,
            } => self.commit(client, name, partition)?,
            Step::Fetch => {
                let request = Request::OffsetFetch(OffsetFetchRequest {
                    group_id: GROUP.into(),
                    partitions: Some((0..PARTITIONS).map(orders).collect()),
                });
                self.send(ADMIN, request, Asked::Fetch)?;
            }
            Step::Forget { client } => {
                self.checker.clients[client as usize] = Client::default();
            }
            Step::Advance { ms } => {
                // Time moves on until a timer answers a client (a join completes, say):
                // then the clients get to act on it, as real ones would at once.
                let until = self.now_ms() + ms as u64;
                let waiting = self.checker.asked.len();
                while self.network.wake_next(until, &mut self.checker)? {
                    if self.checker.asked.len() < waiting {
                        return Ok(());
                    }
                }
                self.network.advance_to(until, &mut self.checker)?;
            }
            Step::AckAppends { count } => {
                for _ in 0..count {
                    if !self.act(|node, now_ms| node.ack_oldest_append(now_ms))? {
                        break;
                    }
                }
            }
            Step::FailAppends => {
                let error = ErrorCode::NotEnoughReplicas;
                while self.act(|node, now_ms| node.fail_oldest_append(now_ms, error))? {}
            }
            Step::Failover => {
                self.checker.reached.failovers += 1;
                let before = self.describe();
                self.checker.asked.clear();
                for client in &mut self.checker.clients {
                    client.waiting = false; // the connection broke: ask again
                }
                self.checker.generation_high = 0;
                self.network
                    .crash(COORDINATOR, &mut self.checker, |node| node)?;
                self.network
                    .restart(COORDINATOR, &mut self.checker, |old, now_ms| {
                        CoordinatorNode::new(config(), old.into_log(), now_ms)
                    })?;
                self.network.settle(&mut self.checker)?;
                let after = self.describe();
                let last_started = self.checker.started.keys().last().copied().unwrap_or(0);
                if after.as_ref().map_or(0, |g| g.generation_id) < last_started {
                    return Err(format!(
                        "the rebuilt coordinator lost generation {last_started}, which had \
                         started: {before:?} became {after:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Sends a commit and checks, from the group as it was, that it was accepted
    /// or refused as Kafka's rules say.
    fn commit(&mut self, client: u8, name: CommitAs, partition: u8) -> Checked {
        let me = self.checker.clients[client as usize].clone();
        let (member_id, generation_id) = match name {
            CommitAs::Itself => (me.member_id, me.generation_id),
            CommitAs::StaleGeneration => (me.member_id, me.generation_id - 1),
            CommitAs::Other(other) => {
                let other = &self.checker.clients[other as usize];
                (other.member_id.clone(), other.generation_id)
            }
            CommitAs::MadeUp => ("intruder-7".to_string(), me.generation_id),
            CommitAs::Outside => (UNKNOWN_MEMBER_ID.to_string(), NO_GENERATION),
        };
        let group = self.describe();
        let expected = expected_commit_error(group.as_ref(), &member_id, generation_id);
        let partition = orders(partition as i32);
        let offset = self.next_offset;
        self.next_offset += 1;
        let request = Request::OffsetCommit(OffsetCommitRequest {
            group_id: GROUP.into(),
            generation_id,
            member_id: member_id.clone(),
            group_instance_id: None,
            partitions: vec![OffsetCommitRequestPartition {
                partition: partition.clone(),
                committed_offset: offset,
                committed_leader_epoch: None,
                committed_metadata: None,
            }],
        });
        let appends = self.appends_in_flight();
        let asked = Asked::Commit { partition, offset };
        let correlation_id = self.send(client.into(), request, asked)?;
        let accepted = self.appends_in_flight() > appends;
        // A refusal is answered at once; an accepted commit waits for its append.
        let key = (NodeId::Client(client.into()), correlation_id);
        let refused = !accepted && !self.checker.asked.contains_key(&key);
        match expected {
            None if !accepted => Err(format!(
                "a commit by {member_id:?} in generation {generation_id} was refused, but the \
                 group was {group:?}"
            )),
            Some(error) if !refused => Err(format!(
                "a commit by {member_id:?} in generation {generation_id} was accepted, but the \
                 group was {group:?} and Kafka answers {error:?}"
            )),
            _ => Ok(()),
        }
    }
}

impl Checker {
    fn new() -> Self {
        Checker {
            clients: vec![Client::default(); CLIENTS as usize],
            asked: BTreeMap::new(),
            started: BTreeMap::new(),
            sent_by_leader: BTreeMap::new(),
            owners: BTreeMap::new(),
            committed: BTreeMap::new(),
            generation_high: 0,
            reached: Reached::default(),
        }
    }

    /// The leader's assignment, with the assignor the coordinator chose.
    fn assign(
        &mut self,
        sender: (i32, String),
        protocol: &str,
        members: &[JoinGroupResponseMember],
    ) -> Result<Vec<SyncGroupRequestAssignment>, String> {
        let assignor = Assignor::from_name(protocol)
            .ok_or_else(|| format!("the coordinator chose an unknown assignor {protocol}"))?;
        let members: BTreeMap<String, assignor::Member> = members
            .iter()
            .map(|m| {
                let member = assignor::Member {
                    group_instance_id: m.group_instance_id.clone(),
                    subscription: m.metadata.clone(),
                };
                (m.member_id.clone(), member)
            })
            .collect();
        let plan = assignor.assign(&members, &[(TOPIC.to_string(), PARTITIONS)].into());
        self.sent_by_leader.insert(sender, plan.clone());
        Ok(plan
            .into_iter()
            .map(|(member_id, partitions)| SyncGroupRequestAssignment {
                member_id,
                assignment: Assignment { partitions },
            })
            .collect())
    }

    // ---- Answers and events -------------------------------------------------------------------

    fn on_answer(
        &mut self,
        network: &Network<CoordinatorNode>,
        asked: Asked,
        response: Response,
    ) -> Checked {
        match (asked, response) {
            (Asked::Join { client }, Response::JoinGroup(r)) => {
                let me = &mut self.clients[client as usize];
                me.waiting = false;
                match r.error_code {
                    ErrorCode::None => {
                        me.member_id = r.member_id.clone();
                        me.generation_id = r.generation_id;
                        me.leads = (r.leader == r.member_id).then(|| {
                            (
                                r.protocol_name.clone().unwrap_or_default(),
                                r.members.clone(),
                            )
                        });
                        me.next = Next::Sync;
                    }
                    ErrorCode::MemberIdRequired => {
                        me.member_id = r.member_id;
                        me.next = Next::Join;
                    }
                    ErrorCode::UnknownMemberId => *me = Client::default(),
                    _ => me.next = Next::Join,
                }
            }
            (
                Asked::Sync {
                    client,
                    member_id,
                    generation_id,
                },
                Response::SyncGroup(r),
            ) => {
                let me = &mut self.clients[client as usize];
                me.waiting = false;
                me.next = match r.error_code {
                    ErrorCode::None => Next::Heartbeat,
                    _ => Next::Join,
                };
                if r.error_code == ErrorCode::UnknownMemberId {
                    *me = Client::default();
                }
                if r.error_code == ErrorCode::None {
                    self.reached.syncs_checked += 1;
                    let leader = describe(network).and_then(|g| g.leader).unwrap_or_default();
                    let Some(plan) = self.sent_by_leader.get(&(generation_id, leader.clone()))
                    else {
                        return Err(format!(
                            "{member_id} got an assignment in generation {generation_id}, \
                             whose leader {leader} never sent one"
                        ));
                    };
                    let share = plan.get(&member_id).cloned().unwrap_or_default();
                    if r.assignment.partitions != share {
                        return Err(format!(
                            "{member_id} got {:?} in generation {generation_id}, whose \
                             leader gave it {share:?}",
                            r.assignment.partitions
                        ));
                    }
                    let owners = self.owners.entry(generation_id).or_default();
                    for p in share {
                        match owners.get(&p) {
                            Some(owner) if *owner != member_id => {
                                return Err(format!(
                                    "{p} was handed to {owner} and to {member_id} in \
                                     generation {generation_id}"
                                ));
                            }
                            _ => {
                                owners.insert(p, member_id.clone());
                            }
                        }
                    }
                } else if matches!(
                    r.error_code,
                    ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration
                ) {
                    self.clients[client as usize].leads = None;
                }
            }
            (Asked::Heartbeat { client }, Response::Heartbeat(r)) => {
                let me = &mut self.clients[client as usize];
                me.waiting = false;
                match r.error_code {
                    ErrorCode::None => {}
                    ErrorCode::UnknownMemberId => *me = Client::default(),
                    _ => me.next = Next::Join,
                }
            }
            (Asked::Leave { client }, Response::LeaveGroup(_)) => {
                self.clients[client as usize] = Client::default();
            }
            (Asked::Commit { partition, offset }, Response::OffsetCommit(r)) => {
                let code = r.partitions.first().map(|p| p.error_code);
                if code == Some(ErrorCode::None) {
                    self.reached.commits_accepted += 1;
                    self.committed.insert(partition, offset);
                } else {
                    self.reached.commits_refused += 1;
                }
            }
            (Asked::Fetch, Response::OffsetFetch(r)) => {
                self.reached.fetches_checked += 1;
                if r.error_code != ErrorCode::None {
                    return Err(format!("OffsetFetch answered {:?}", r.error_code));
                }
                for p in r.partitions {
                    let expected = self.committed.get(&p.partition).copied().unwrap_or(-1);
                    if p.committed_offset != expected {
                        return Err(format!(
                            "OffsetFetch says {} is committed at {}, but the last commit \
                             answered NONE was {expected}",
                            p.partition, p.committed_offset
                        ));
                    }
                }
            }
            (asked, response) => {
                return Err(format!("{asked:?} was answered with {response:?}"));
            }
        }
        Ok(())
    }

    fn on_event(&mut self, event: GroupEvent) -> Checked {
        match event {
            GroupEvent::GenerationStarted {
                generation_id,
                members,
                leader,
                ..
            } => {
                self.reached.generations += 1;
                if let Some(earlier) = self.started.get(&generation_id) {
                    return Err(format!(
                        "generation {generation_id} started twice: {earlier:?}, then {members:?}"
                    ));
                }
                let mut owners: BTreeMap<&TopicPartition, &String> = BTreeMap::new();
                for (member, partitions) in &members {
                    for p in partitions {
                        if let Some(other) = owners.insert(p, member) {
                            return Err(format!(
                                "generation {generation_id} gives {p} to {other} and {member}"
                            ));
                        }
                    }
                }
                let sent = self.sent_by_leader.get(&(generation_id, leader.clone()));
                let nonempty = |plan: &BTreeMap<String, Vec<TopicPartition>>| {
                    plan.iter()
                        .filter(|(_, ps)| !ps.is_empty())
                        .map(|(m, ps)| (m.clone(), ps.clone()))
                        .collect::<BTreeMap<_, _>>()
                };
                if sent.map(nonempty) != Some(nonempty(&members)) {
                    return Err(format!(
                        "generation {generation_id} started with {members:?}, but its leader \
                         {leader} sent {sent:?}"
                    ));
                }
                self.started.insert(generation_id, members);
            }
            GroupEvent::MemberRemoved {
                reason: kafkasim::group::coordinator::RemovalReason::SessionTimeout,
                ..
            } => self.reached.session_expiries += 1,
            _ => {}
        }
        Ok(())
    }
}

impl Observer<CoordinatorNode> for Checker {
    type Error = String;

    /// The events of a call first: they say what its answers rest on (a
    /// generation starts, and its syncs are answered). Then the generation, which
    /// never goes back on one coordinator.
    fn after(
        &mut self,
        network: &Network<CoordinatorNode>,
        _node: NodeId,
        events: &[GroupEvent],
    ) -> Checked {
        for event in events {
            self.on_event(event.clone())?;
        }
        if let Some(group) = describe(network) {
            if group.generation_id < self.generation_high {
                return Err(format!(
                    "the generation went back from {} to {}",
                    self.generation_high, group.generation_id
                ));
            }
            self.generation_high = group.generation_id;
        }
        Ok(())
    }

    /// An answer reaches its client, which acts on it.
    fn on_delivery(&mut self, network: &Network<CoordinatorNode>, envelope: &Envelope) -> Checked {
        let Message::Response {
            correlation_id,
            response,
        } = &envelope.message
        else {
            return Ok(());
        };
        let asked = self
            .asked
            .remove(&(envelope.to, *correlation_id))
            .ok_or_else(|| format!("an answer to {correlation_id}, twice or unasked"))?;
        self.on_answer(network, asked, response.clone())
    }
}

/// (`handleCommitOffsets` / `validateOffsetCommit` of the classic protocol).
fn expected_commit_error(
    group: Option<&GroupSummary>,
    member_id: &str,
    generation_id: i32,
) -> Option<ErrorCode> {
    let Some(group) = group else {
        // No group: only a commit from outside group management creates one.
        return (generation_id >= 0).then_some(ErrorCode::IllegalGeneration);
    };
    let is_member = group.members.iter().any(|m| m.member_id == member_id);
    if generation_id < 0 && group.state == GroupState::Empty {
        None
    } else if generation_id >= 0 || !member_id.is_empty() {
        if !is_member {
            Some(ErrorCode::UnknownMemberId)
        } else if generation_id != group.generation_id {
            Some(ErrorCode::IllegalGeneration)
        } else if group.state == GroupState::CompletingRebalance {
            Some(ErrorCode::RebalanceInProgress)
        } else {
            None
        }
    } else {
        Some(ErrorCode::UnknownMemberId)
    }
}

fn run(steps: &[Step]) -> Result<Reached, String> {
    let mut world = World::new()?;
    for (i, step) in steps.iter().enumerate() {
        world
            .run_step(step)
            .map_err(|e| format!("at step {i} ({step:?}), {} ms: {e}", world.now_ms()))?;
    }
    Ok(world.checker.reached)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(128),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn generations_have_one_owner_per_partition_and_only_current_members_commit(
        steps in proptest::collection::vec(step(), 1..200),
    ) {
        if let Err(why) = run(&steps) {
            return Err(TestCaseError::fail(why));
        }
    }
}

/// The random sequences must reach generations, syncs, accepted and refused
/// commits, failovers and session expiries: 64 cases from a fixed seed do.
#[test]
fn the_random_sequences_reach_generations_commits_failovers_and_expiries() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let case = proptest::collection::vec(step(), 1..200);
    let mut total = Reached::default();
    for _ in 0..64 {
        let steps = case.new_tree(&mut runner).expect("a case").current();
        total.add(run(&steps).expect("the properties hold"));
    }
    eprintln!("reached over 64 cases: {total:?}");
    assert!(total.generations >= 15, "{total:?}");
    assert!(total.syncs_checked >= 30, "{total:?}");
    assert!(total.commits_accepted >= 30, "{total:?}");
    assert!(total.commits_refused >= 30, "{total:?}");
    assert!(total.fetches_checked >= 30, "{total:?}");
    assert!(total.failovers >= 10, "{total:?}");
    assert!(total.session_expiries >= 10, "{total:?}");
}

/// Every rule of `expected_commit_error` is reached by a hand-made group.
#[test]
fn the_commit_oracle_follows_kafka_s_order_of_checks() {
    let group = |state, generation_id| GroupSummary {
        group_id: GROUP.into(),
        state,
        generation_id,
        protocol_name: None,
        leader: None,
        members: vec![kafkasim::group::coordinator::MemberSummary {
            member_id: "m-1".into(),
            group_instance_id: None,
            assignment: Assignment::default(),
        }],
    };
    let stable = group(GroupState::Stable, 3);
    let cases: [(Option<&GroupSummary>, &str, i32, Option<ErrorCode>); 7] = [
        (None, "", -1, None),
        (None, "m-1", 2, Some(ErrorCode::IllegalGeneration)),
        (Some(&stable), "m-1", 3, None),
        (Some(&stable), "m-1", 2, Some(ErrorCode::IllegalGeneration)),
        (Some(&stable), "m-2", 3, Some(ErrorCode::UnknownMemberId)),
        (Some(&stable), "", -1, Some(ErrorCode::UnknownMemberId)),
        (
            Some(&group(GroupState::CompletingRebalance, 3)),
            "m-1",
            3,
            Some(ErrorCode::RebalanceInProgress),
        ),
    ];
    for (group, member, generation, expected) in cases {
        assert_eq!(
            expected_commit_error(group, member, generation),
            expected,
            "{member} {generation} {group:?}"
        );
    }
}
