//! A broker's conversation with the controller: register, heartbeat, pull metadata,
//! and forward CreateTopics and DeleteTopics.
//!
//! In KRaft a broker registers once per start (getting a new broker epoch), sends
//! `BrokerHeartbeat` every `broker.heartbeat.interval.ms`, and reads metadata changes
//! by fetching from the controller continuously. A request unanswered after
//! `request.timeout.ms` is given up and sent again, as Kafka's network client does
//! after closing a stalled connection.

use crate::config::BrokerConfig;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, CorrelationId, NodeId, TopicPartition};
use crate::metadata::MetadataImage;
use crate::node::{Effect, Peer};
use crate::protocol::*;
use std::collections::BTreeMap;

/// How long a broker waits before registering again after a failure.
const REGISTRATION_RETRY_BACKOFF_MS: u64 = 1_000;
/// How long a broker waits before re-sending a failed metadata fetch.
const METADATA_RETRY_BACKOFF_MS: u64 = 100;

type Effects = Vec<Effect<ClusterEvent>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Registration,
    Heartbeat,
    MetadataFetch,
    CreateTopics {
        from: Peer,
        correlation_id: CorrelationId,
        topics: Vec<String>,
    },
    ElectLeaders {
        from: Peer,
        correlation_id: CorrelationId,
    },
    DeleteTopics {
        from: Peer,
        correlation_id: CorrelationId,
        topics: Vec<String>,
    },
    /// The broker's own request (`__consumer_offsets`); nobody waits for it.
    CreateInternalTopic,
    AlterPartition {
        partitions: Vec<TopicPartition>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unregistered { retry_at_ms: u64 },
    Registering,
    Registered { broker_epoch: i64 },
}

/// What the broker must act on after a controller response or a timeout.
#[derive(Debug, Default)]
pub(super) struct LinkOutcome {
    pub image: Option<MetadataImage>,
}

/// How an `AlterPartition` the broker sent ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AlterPartitionOutcome {
    pub partitions: Vec<TopicPartition>,
    /// `None`: no answer (timeout or broken connection); the proposal may or may
    /// not have been applied, and the next metadata image will tell.
    pub response: Option<AlterPartitionResponse>,
}

#[derive(Debug)]
pub(super) struct ControllerLink {
    broker_id: BrokerId,
    incarnation_id: u64,
    /// `advertised.listeners`, sent in every registration.
    listener: String,
    heartbeat_interval_ms: u64,
    fetch_wait_ms: u64,
    request_timeout_ms: u64,
    state: State,
    next_correlation_id: CorrelationId,
    in_flight: BTreeMap<CorrelationId, (Call, u64)>,
    next_heartbeat_ms: u64,
    /// When to send the next metadata fetch; `None` while one is in flight.
    metadata_fetch_at_ms: Option<u64>,
    known_version: u64,
    alter_outcomes: Vec<AlterPartitionOutcome>,
}

impl ControllerLink {
    pub fn new(broker_id: BrokerId, incarnation_id: u64, config: &BrokerConfig) -> Self {
        ControllerLink {
            broker_id,
            incarnation_id,
            listener: config.advertised_listeners.clone(),
            heartbeat_interval_ms: config.broker_heartbeat_interval_ms,
            fetch_wait_ms: config.replica_fetch_wait_max_ms,
            request_timeout_ms: config.request_timeout_ms,
            state: State::Unregistered { retry_at_ms: 0 },
            next_correlation_id: 0,
            in_flight: BTreeMap::new(),
            next_heartbeat_ms: 0,
            metadata_fetch_at_ms: None,
            known_version: 0,
            alter_outcomes: Vec::new(),
        }
    }

    pub fn start(&mut self, now_ms: u64, effects: &mut Effects) {
        self.register(now_ms, effects);
    }

    fn send(&mut self, now_ms: u64, call: Call, request: Request, effects: &mut Effects) {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        self.in_flight.insert(correlation_id, (call, now_ms));
        let message = Message::Request {
            correlation_id,
            request,
        };
        effects.push(Effect::Send {
            to: NodeId::Controller,
            message,
        });
    }

    fn register(&mut self, now_ms: u64, effects: &mut Effects) {
        self.state = State::Registering;
        let request = Request::BrokerRegistration(BrokerRegistrationRequest {
            broker_id: self.broker_id,
            incarnation_id: self.incarnation_id,
            listener: self.listener.clone(),
        });
        self.send(now_ms, Call::Registration, request, effects);
    }

    pub fn incarnation_id(&self) -> u64 {
        self.incarnation_id
    }

    /// The broker epoch the controller gave this broker, once registered.
    pub fn broker_epoch(&self) -> Option<i64> {
        match self.state {
            State::Registered { broker_epoch } => Some(broker_epoch),
            _ => None,
        }
    }

    /// Proposes ISR changes for partitions this broker leads. Returns false when
    /// not registered (nothing sent).
    pub fn alter_partition(
        &mut self,
        now_ms: u64,
        partitions: Vec<AlterPartitionData>,
        effects: &mut Effects,
    ) -> bool {
        let Some(broker_epoch) = self.broker_epoch() else {
            return false;
        };
        let call = Call::AlterPartition {
            partitions: partitions.iter().map(|p| p.partition.clone()).collect(),
        };
        let request = Request::AlterPartition(AlterPartitionRequest {
            broker_id: self.broker_id,
            broker_epoch,
            partitions,
        });
        self.send(now_ms, call, request, effects);
        true
    }

    /// AlterPartition answers (or give-ups) since the last call.
    pub fn take_alter_outcomes(&mut self) -> Vec<AlterPartitionOutcome> {
        std::mem::take(&mut self.alter_outcomes)
    }

    /// Asks the controller to create an internal topic; the answer is not awaited
    /// (the broker sees the topic in its metadata once it exists).
    pub fn create_internal_topic(
        &mut self,
        now_ms: u64,
        topic: CreatableTopic,
        effects: &mut Effects,
    ) {
        let request = Request::CreateTopics(CreateTopicsRequest {
            topics: vec![topic],
            timeout_ms: self.request_timeout_ms,
        });
        self.send(now_ms, Call::CreateInternalTopic, request, effects);
    }

    /// Forwards a client's ElectLeaders to the controller.
    pub fn forward_elect_leaders(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: ElectLeadersRequest,
        effects: &mut Effects,
    ) {
        let call = Call::ElectLeaders {
            from,
            correlation_id,
        };
        self.send(now_ms, call, Request::ElectLeaders(req), effects);
    }

    /// Forwards a client's CreateTopics to the controller; the answer goes back to `from`.
    pub fn forward_create_topics(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: CreateTopicsRequest,
        effects: &mut Effects,
    ) {
        let topics = req.topics.iter().map(|t| t.name.clone()).collect();
        self.send(
            now_ms,
            Call::CreateTopics {
                from,
                correlation_id,
                topics,
            },
            Request::CreateTopics(req),
            effects,
        );
    }

    /// Forwards a client's DeleteTopics to the controller; the answer goes back to `from`.
    pub fn forward_delete_topics(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: DeleteTopicsRequest,
        effects: &mut Effects,
    ) {
        let call = Call::DeleteTopics {
            from,
            correlation_id,
            topics: req.topic_names.clone(),
        };
        self.send(now_ms, call, Request::DeleteTopics(req), effects);
    }

    pub fn on_response(
        &mut self,
        now_ms: u64,
        correlation_id: CorrelationId,
        response: Response,
        effects: &mut Effects,
    ) -> LinkOutcome {
        let mut outcome = LinkOutcome::default();
        let Some((call, _)) = self.in_flight.remove(&correlation_id) else {
            return outcome; // answer to a request already given up on
        };
        match (call, response) {
            (Call::Registration, Response::BrokerRegistration(r)) => {
                if r.error_code == ErrorCode::None {
                    self.state = State::Registered {
                        broker_epoch: r.broker_epoch,
                    };
                    self.next_heartbeat_ms = now_ms;
                    self.metadata_fetch_at_ms = Some(now_ms);
                } else {
                    self.state = State::Unregistered {
                        retry_at_ms: now_ms + REGISTRATION_RETRY_BACKOFF_MS,
                    };
                }
            }
            (Call::Heartbeat, Response::BrokerHeartbeat(r)) => {
                if matches!(
                    r.error_code,
                    ErrorCode::StaleBrokerEpoch | ErrorCode::BrokerIdNotRegistered
                ) {
                    self.state = State::Unregistered {
                        retry_at_ms: now_ms,
                    };
                }
            }
            (Call::MetadataFetch, Response::ClusterMetadataFetch(r)) => {
                if let Some(image) = &r.image {
                    self.known_version = self.known_version.max(image.version);
                }
                outcome.image = r.image;
                self.metadata_fetch_at_ms = Some(now_ms);
            }
            (
                Call::CreateTopics {
                    from,
                    correlation_id,
                    ..
                },
                Response::CreateTopics(r),
            ) => {
                let message = Message::Response {
                    correlation_id,
                    response: Response::CreateTopics(r),
                };
                effects.push(Effect::Reply { to: from, message });
            }
            (
                Call::ElectLeaders {
                    from,
                    correlation_id,
                },
                Response::ElectLeaders(r),
            ) => {
                let message = Message::Response {
                    correlation_id,
                    response: Response::ElectLeaders(r),
                };
                effects.push(Effect::Reply { to: from, message });
            }
            (
                Call::DeleteTopics {
                    from,
                    correlation_id,
                    ..
                },
                Response::DeleteTopics(r),
            ) => {
                let message = Message::Response {
                    correlation_id,
                    response: Response::DeleteTopics(r),
                };
                effects.push(Effect::Reply { to: from, message });
            }
            (Call::CreateInternalTopic, Response::CreateTopics(_)) => {}
            (Call::AlterPartition { partitions }, Response::AlterPartition(r)) => {
                if r.error_code == ErrorCode::StaleBrokerEpoch {
                    self.state = State::Unregistered {
                        retry_at_ms: now_ms,
                    };
                }
                self.alter_outcomes.push(AlterPartitionOutcome {
                    partitions,
                    response: Some(r),
                });
            }
            (call, response) => panic!("controller answered {call:?} with {}", response.api_name()),
        }
        self.on_tick(now_ms, self.known_version, effects);
        outcome
    }

    /// The connection to the controller broke: everything in flight is lost.
    pub fn on_disconnect(&mut self, now_ms: u64, effects: &mut Effects) {
        let lost: Vec<CorrelationId> = self.in_flight.keys().copied().collect();
        for correlation_id in lost {
            self.give_up(now_ms, correlation_id, effects);
        }
    }

    fn give_up(&mut self, now_ms: u64, correlation_id: CorrelationId, effects: &mut Effects) {
        let Some((call, _)) = self.in_flight.remove(&correlation_id) else {
            return;
        };
        match call {
            Call::Registration => {
                self.state = State::Unregistered {
                    retry_at_ms: now_ms + REGISTRATION_RETRY_BACKOFF_MS,
                }
            }
            Call::Heartbeat => {}
            Call::MetadataFetch => {
                self.metadata_fetch_at_ms = Some(now_ms + METADATA_RETRY_BACKOFF_MS)
            }
            Call::CreateTopics {
                from,
                correlation_id,
                topics,
            } => {
                // The controller may still create the topics: the client must not
                // assume they failed (Kafka answers REQUEST_TIMED_OUT here too).
                let topics = topics
                    .into_iter()
                    .map(|name| CreatableTopicResult {
                        name,
                        error_code: ErrorCode::RequestTimedOut,
                        error_message: Some("the controller did not answer in time".into()),
                    })
                    .collect();
                let response = Response::CreateTopics(CreateTopicsResponse { topics });
                let message = Message::Response {
                    correlation_id,
                    response,
                };
                effects.push(Effect::Reply { to: from, message });
            }
            Call::ElectLeaders {
                from,
                correlation_id,
            } => {
                let response = Response::ElectLeaders(ElectLeadersResponse {
                    error_code: ErrorCode::RequestTimedOut,
                    results: vec![],
                });
                let message = Message::Response {
                    correlation_id,
                    response,
                };
                effects.push(Effect::Reply { to: from, message });
            }
            Call::DeleteTopics {
                from,
                correlation_id,
                topics,
            } => {
                // As for CreateTopics: the controller may still delete them.
                let responses = topics
                    .into_iter()
                    .map(|name| DeletableTopicResult {
                        name,
                        error_code: ErrorCode::RequestTimedOut,
                        error_message: Some("the controller did not answer in time".into()),
                    })
                    .collect();
                let response = Response::DeleteTopics(DeleteTopicsResponse { responses });
                let message = Message::Response {
                    correlation_id,
                    response,
                };
                effects.push(Effect::Reply { to: from, message });
            }
            Call::CreateInternalTopic => {}
            Call::AlterPartition { partitions } => {
                self.alter_outcomes.push(AlterPartitionOutcome {
                    partitions,
                    response: None,
                })
            }
        }
    }

    pub fn on_tick(&mut self, now_ms: u64, known_version: u64, effects: &mut Effects) {
        self.known_version = self.known_version.max(known_version);
        let timed_out: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, (_, sent_ms))| now_ms >= sent_ms + self.request_timeout_ms)
            .map(|(&c, _)| c)
            .collect();
        for correlation_id in timed_out {
            self.give_up(now_ms, correlation_id, effects);
        }
        match self.state {
            State::Unregistered { retry_at_ms } if now_ms >= retry_at_ms => {
                self.register(now_ms, effects)
            }
            State::Registered { broker_epoch } => {
                let heartbeat_in_flight =
                    self.in_flight.values().any(|(c, _)| *c == Call::Heartbeat);
                if now_ms >= self.next_heartbeat_ms && !heartbeat_in_flight {
                    self.next_heartbeat_ms = now_ms + self.heartbeat_interval_ms;
                    let request = Request::BrokerHeartbeat(BrokerHeartbeatRequest {
                        broker_id: self.broker_id,
                        broker_epoch,
                        current_metadata_offset: self.known_version,
                    });
                    self.send(now_ms, Call::Heartbeat, request, effects);
                }
                if self.metadata_fetch_at_ms.is_some_and(|at| now_ms >= at) {
                    self.metadata_fetch_at_ms = None;
                    let request = Request::ClusterMetadataFetch(ClusterMetadataFetchRequest {
                        broker_id: self.broker_id,
                        known_version: self.known_version,
                        max_wait_ms: self.fetch_wait_ms,
                    });
                    self.send(now_ms, Call::MetadataFetch, request, effects);
                }
            }
            _ => {}
        }
    }

    pub fn next_deadline_ms(&self) -> Option<u64> {
        let timeouts = self
            .in_flight
            .values()
            .map(|(_, sent_ms)| sent_ms + self.request_timeout_ms);
        let own = match self.state {
            State::Unregistered { retry_at_ms } => Some(retry_at_ms),
            State::Registering => None,
            State::Registered { .. } => {
                let heartbeat_in_flight =
                    self.in_flight.values().any(|(c, _)| *c == Call::Heartbeat);
                let heartbeat = (!heartbeat_in_flight).then_some(self.next_heartbeat_ms);
                [heartbeat, self.metadata_fetch_at_ms]
                    .into_iter()
                    .flatten()
                    .min()
            }
        };
        timeouts.chain(own).min()
    }
}
