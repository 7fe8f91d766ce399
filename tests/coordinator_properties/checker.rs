//! The checker of `coordinator_properties`: what the consumers know, what the
//! properties remember, and the checks it runs after every handler of the
//! coordinator and on every answer, as an observer of the test network.

use super::{CLIENTS, COORDINATOR, GROUP, PARTITIONS, TOPIC};
use kafkasim::error::ErrorCode;
use kafkasim::group::assignor::{self, Assignor};
use kafkasim::group::coordinator::{GroupEvent, GroupSummary, RemovalReason};
use kafkasim::ids::{CorrelationId, NodeId, Offset, TopicPartition};
use kafkasim::protocol::*;
use kafkasim::testing::{CoordinatorNode, Envelope, Network, Observer};
use std::collections::BTreeMap;

/// What a consumer knows.
#[derive(Debug, Clone)]
pub(super) struct Client {
    pub(super) member_id: String,
    pub(super) generation_id: i32,
    /// Set when it leads its generation: the protocol and the members.
    pub(super) leads: Option<(String, Vec<JoinGroupResponseMember>)>,
    pub(super) next: Next,
    /// A request of its own is waiting for an answer.
    pub(super) waiting: bool,
}

/// What a well-behaved consumer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
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
pub(super) enum Asked {
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
pub(super) struct Reached {
    pub(super) generations: u32,
    pub(super) syncs_checked: u32,
    pub(super) commits_accepted: u32,
    pub(super) commits_refused: u32,
    pub(super) fetches_checked: u32,
    pub(super) failovers: u32,
    pub(super) session_expiries: u32,
}

impl Reached {
    pub(super) fn add(&mut self, other: Reached) {
        self.generations += other.generations;
        self.syncs_checked += other.syncs_checked;
        self.commits_accepted += other.commits_accepted;
        self.commits_refused += other.commits_refused;
        self.fetches_checked += other.fetches_checked;
        self.failovers += other.failovers;
        self.session_expiries += other.session_expiries;
    }
}

pub(super) type Checked = Result<(), String>;

/// What the consumers know and what the properties remember; it checks every
/// handler of the coordinator and every answer a client gets.
pub(super) struct Checker {
    pub(super) clients: Vec<Client>,
    /// Requests waiting for their answer, by client and correlation id.
    pub(super) asked: BTreeMap<(NodeId, CorrelationId), Asked>,
    // What the properties remember.
    /// Each generation's assignment, as the coordinator started it.
    pub(super) started: BTreeMap<i32, BTreeMap<String, Vec<TopicPartition>>>,
    /// The assignment each leader sent for a generation, by (generation, leader):
    /// a failover may hand out a generation number again, and a stale leader
    /// may still send its assignment for it.
    sent_by_leader: BTreeMap<(i32, String), BTreeMap<String, Vec<TopicPartition>>>,
    /// Who each SyncGroup answer made the owner of each partition, per generation.
    owners: BTreeMap<i32, BTreeMap<TopicPartition, String>>,
    /// Committed offsets, from the commits answered NONE.
    committed: BTreeMap<TopicPartition, Offset>,
    /// The highest generation the group has been seen in.
    pub(super) generation_high: i32,
    pub(super) reached: Reached,
}

/// The group as the coordinator has it.
pub(super) fn describe(network: &Network<CoordinatorNode>) -> Option<GroupSummary> {
    let node = network.node(COORDINATOR).expect("the coordinator runs");
    node.coordinator().describe(GROUP)
}

impl Checker {
    pub(super) fn new() -> Self {
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
    pub(super) fn assign(
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
                reason: RemovalReason::SessionTimeout,
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
