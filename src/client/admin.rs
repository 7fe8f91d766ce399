//! The admin client's core: create topics, describe the cluster, elect leaders.
//!
//! Any broker can take an admin request (brokers forward CreateTopics to the
//! controller). A call whose request is lost (broken connection, no answer within
//! `request.timeout.ms`) is retried on another broker after `retry.backoff.ms`, until
//! `default.api.timeout.ms` has passed.

use super::network::NetworkClient;
use super::{ClientError, Completion, Token};
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, TopicPartition};
use crate::node::{Effect, Node, Peer};
use crate::protocol::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// `bootstrap.servers`, as broker ids.
    pub bootstrap: Vec<BrokerId>,
    /// `request.timeout.ms` (default 30000).
    pub request_timeout_ms: u64,
    /// `default.api.timeout.ms` (default 60000): how long a call may take in all.
    pub default_api_timeout_ms: u64,
    /// `retry.backoff.ms` (default 100).
    pub retry_backoff_ms: u64,
}

impl AdminConfig {
    pub fn new(bootstrap: Vec<BrokerId>) -> Self {
        AdminConfig {
            bootstrap,
            request_timeout_ms: 30_000,
            default_api_timeout_ms: 60_000,
            retry_backoff_ms: 100,
        }
    }
}

/// A topic to create (Kafka's `NewTopic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, num_partitions: i32, replication_factor: i16) -> Self {
        NewTopic {
            name: name.into(),
            num_partitions,
            replication_factor,
            configs: BTreeMap::new(),
        }
    }

    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Hash, Eq)]
pub enum AdminOutcome {
    /// One result per topic; a topic's error is in its `error_code`.
    CreateTopics(Result<Vec<CreatableTopicResult>, ClientError>),
    Describe(Result<MetadataResponse, ClientError>),
    /// One result per partition; `ELECTION_NOT_NEEDED` when nothing had to move.
    ElectLeaders(Result<Vec<PartitionElectionResult>, ClientError>),
}

#[derive(Debug, Clone)]
struct Call {
    request: Request,
    deadline_ms: u64,
    /// When to (re)send; `None` while a request is in flight.
    send_at_ms: Option<u64>,
}

#[derive(Debug)]
pub struct AdminCore {
    config: AdminConfig,
    network: NetworkClient<Token>,
    calls: BTreeMap<Token, Call>,
    effects: Vec<Effect<Completion<AdminOutcome>>>,
}

impl AdminCore {
    pub fn new(config: AdminConfig) -> Self {
        let network = NetworkClient::new(
            config.bootstrap.clone(),
            config.request_timeout_ms,
            config.retry_backoff_ms,
        );
        AdminCore {
            config,
            network,
            calls: BTreeMap::new(),
            effects: Vec::new(),
        }
    }

    pub fn create_topics(&mut self, now_ms: u64, token: Token, topics: Vec<NewTopic>) {
        let topics = topics
            .into_iter()
            .map(|t| CreatableTopic {
                name: t.name,
                num_partitions: t.num_partitions,
                replication_factor: t.replication_factor,
                configs: t.configs,
            })
            .collect();
        let timeout_ms = self.config.request_timeout_ms;
        self.start(
            now_ms,
            token,
            Request::CreateTopics(CreateTopicsRequest { topics, timeout_ms }),
        );
    }

    /// Describes the cluster and the named topics (all topics when `None`).
    pub fn describe(&mut self, now_ms: u64, token: Token, topics: Option<Vec<String>>) {
        self.start(now_ms, token, Request::Metadata(MetadataRequest { topics }));
    }

    /// Runs leader elections (`Admin.electLeaders`); `None` asks for every partition.
    pub fn elect_leaders(
        &mut self,
        now_ms: u64,
        token: Token,
        election_type: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) {
        let request = ElectLeadersRequest {
            election_type,
            partitions,
            timeout_ms: self.config.request_timeout_ms,
        };
        self.start(now_ms, token, Request::ElectLeaders(request));
    }

    fn start(&mut self, now_ms: u64, token: Token, request: Request) {
        let deadline_ms = now_ms + self.config.default_api_timeout_ms;
        self.calls.insert(
            token,
            Call {
                request,
                deadline_ms,
                send_at_ms: Some(now_ms),
            },
        );
        self.on_tick(now_ms);
    }

    fn finish(&mut self, token: Token, outcome: AdminOutcome) {
        self.calls.remove(&token);
        self.effects
            .push(Effect::Emit(Completion { token, outcome }));
    }

    fn retry_or_fail(&mut self, now_ms: u64, token: Token, reason: String) {
        let Some(call) = self.calls.get_mut(&token) else {
            return;
        };
        if now_ms + self.config.retry_backoff_ms < call.deadline_ms {
            call.send_at_ms = Some(now_ms + self.config.retry_backoff_ms);
            return;
        }
        let error = ClientError::Timeout {
            message: format!("{reason}; gave up after default.api.timeout.ms"),
        };
        let outcome = match call.request {
            Request::CreateTopics(_) => AdminOutcome::CreateTopics(Err(error)),
            Request::ElectLeaders(_) => AdminOutcome::ElectLeaders(Err(error)),
            _ => AdminOutcome::Describe(Err(error)),
        };
        self.finish(token, outcome);
    }
}

impl Node for AdminCore {
    type Event = Completion<AdminOutcome>;

    fn on_message(&mut self, now_ms: u64, _from: Peer, message: Message) {
        let Message::Response {
            correlation_id,
            response,
        } = message
        else {
            return;
        };
        let Some(token) = self.network.complete(correlation_id) else {
            return;
        };
        match response {
            Response::CreateTopics(r) => {
                self.finish(token, AdminOutcome::CreateTopics(Ok(r.topics)))
            }
            Response::ElectLeaders(r) if r.error_code.is_retriable() => {
                let reason = format!("the controller answered {}", r.error_code);
                self.retry_or_fail(now_ms, token, reason);
            }
            Response::ElectLeaders(r) => {
                let outcome = if r.error_code == ErrorCode::None {
                    Ok(r.results)
                } else {
                    Err(ClientError::Broker {
                        code: r.error_code,
                        message: String::new(),
                    })
                };
                self.finish(token, AdminOutcome::ElectLeaders(outcome));
            }
            Response::Metadata(r) => {
                self.network.on_metadata_response(correlation_id, &r);
                self.finish(token, AdminOutcome::Describe(Ok(r)));
            }
            other => panic!("admin got an unexpected {} response", other.api_name()),
        }
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) {
        for failed in self.network.on_disconnect(peer) {
            self.retry_or_fail(now_ms, failed.purpose, format!("connection to {peer} lost"));
        }
    }

    fn on_tick(&mut self, now_ms: u64) {
        for failed in self.network.expire(now_ms) {
            self.retry_or_fail(
                now_ms,
                failed.purpose,
                format!("no answer from {}", failed.to),
            );
        }
        let due: Vec<Token> = self
            .calls
            .iter()
            .filter(|(_, c)| c.send_at_ms.is_some_and(|t| t <= now_ms))
            .map(|(&t, _)| t)
            .collect();
        for token in due {
            let call = self.calls.get_mut(&token).expect("listed");
            call.send_at_ms = None;
            let request = call.request.clone();
            let to = self.network.any_broker();
            self.network
                .send(now_ms, to, request, token, &mut self.effects);
        }
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let sends = self.calls.values().filter_map(|c| c.send_at_ms);
        sends.chain(self.network.next_timeout_ms()).min()
    }

    fn take_effects(&mut self) -> Vec<Effect<Self::Event>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        let in_flight: Vec<&Token> = self.network.in_flight().collect();
        for (token, call) in &self.calls {
            let sent = in_flight.contains(&token);
            assert!(
                sent != call.send_at_ms.is_some(),
                "a call is either in flight or waiting to be sent"
            );
        }
    }
}
