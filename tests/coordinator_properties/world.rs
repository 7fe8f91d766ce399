//! The world of `coordinator_properties`: the coordinator on the test network,
//! and how each step runs on it.

use super::checker::{describe, Asked, Checked, Checker, Client, Next};
use super::{
    expected_commit_error, orders, CommitAs, Step, ADMIN, COORDINATOR, GROUP, OFFSETS_PARTITIONS,
    PARTITIONS, REBALANCE_TIMEOUT_MS, SESSION_TIMEOUT_MS, TOPIC,
};
use kafkasim::error::ErrorCode;
use kafkasim::group::coordinator::{GroupCoordinatorConfig, GroupSummary};
use kafkasim::ids::{CorrelationId, NodeId, Offset};
use kafkasim::protocol::*;
use kafkasim::testing::coordinator::OffsetsLog;
use kafkasim::testing::{CoordinatorNode, Network};

/// The coordinator on the network, and the checker that watches it.
pub(super) struct World {
    network: Network<CoordinatorNode>,
    pub(super) checker: Checker,
    next_offset: Offset,
}

fn config() -> GroupCoordinatorConfig {
    GroupCoordinatorConfig {
        offsets_topic_num_partitions: OFFSETS_PARTITIONS,
        ..GroupCoordinatorConfig::default()
    }
}

impl World {
    pub(super) fn new() -> Result<Self, String> {
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

    pub(super) fn now_ms(&self) -> u64 {
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

    pub(super) fn run_step(&mut self, step: &Step) -> Checked {
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
