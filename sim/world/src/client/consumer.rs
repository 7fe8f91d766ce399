//! Kafka's `KafkaConsumer`: manual assignment, or membership of a consumer
//! group; recording each poll, commit and rebalance in the run's history.
//!
//! A poll goes into the history with the assignment the consumer knows when it
//! polls, and completes with the records it returned (or its error). Kafka runs
//! the rebalance listener inside `poll`, so a group member's rebalance events
//! (partitions assigned, revoked, lost) are taken from its core at the end of
//! each poll and recorded before that poll's completion: the poll's records
//! count as coming after them. Commits made with `commit_sync` go in too;
//! `commit_async` ones do not (their outcome comes later, in `commit_results`).

use super::ClientHandle;
use crate::cluster::Cluster;
use crate::time::now_ms;
use kafkasim::client::consumer::{
    CommitResult, ConsumerConfig, ConsumerCore, ConsumerOutcome, ConsumerRecord, RebalanceEvent,
    DEFAULT_CLOSE_TIMEOUT_MS,
};
use kafkasim::client::ClientError;
use kafkasim::config::ConfigError;
use kafkasim::ids::{NodeId, Offset, TopicPartition};
use kafkasim_check::history::{ClientEvent, History, Operation, Outcome, PolledRecord, Reply};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Kafka's `KafkaConsumer`.
pub struct Consumer {
    handle: ClientHandle<ConsumerCore, ConsumerOutcome>,
    history: History,
    group: Option<String>,
    state: Mutex<State>,
}

/// What the consumer knows of its own assignment, and the listener's events
/// not yet handed to the application.
#[derive(Default)]
struct State {
    subscribed: bool,
    assigned: BTreeSet<TopicPartition>,
    events: Vec<RebalanceEvent>,
}

impl Consumer {
    /// Starts a consumer, or says which configuration Kafka would refuse and why
    /// (e.g. `heartbeat.interval.ms` not below `session.timeout.ms`).
    pub fn new(cluster: &Cluster, config: ConsumerConfig) -> Result<Self, ConfigError> {
        Consumer::start(cluster, config, None)
    }

    /// A consumer named `process` in the history, whatever its machine.
    pub fn named(
        cluster: &Cluster,
        config: ConsumerConfig,
        process: &str,
    ) -> Result<Self, ConfigError> {
        Consumer::start(cluster, config, Some(process))
    }

    fn start(
        cluster: &Cluster,
        mut config: ConsumerConfig,
        process: Option<&str>,
    ) -> Result<Self, ConfigError> {
        config.bugs = config.bugs.union(cluster.bugs());
        // A client follows the rules of the cluster it is made on.
        config.rules = cluster.rules();
        let group = config.group_id.clone();
        let core = ConsumerCore::new(config)?;
        Ok(Consumer {
            handle: ClientHandle::start(cluster, core, process),
            history: cluster.history().clone(),
            group,
            state: Mutex::default(),
        })
    }

    pub fn node(&self) -> NodeId {
        self.handle.node
    }

    /// The consumer's name in the history.
    pub fn process(&self) -> &str {
        &self.handle.process
    }

    fn record(&self, event: ClientEvent) {
        self.history.event(now_ms(), self.process(), event);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("consumer state lock")
    }

    /// Reads these partitions (manual assignment). Assigning after `subscribe`
    /// is a mistake in the application, as in Kafka (`IllegalStateException`).
    pub fn assign(&self, partitions: Vec<TopicPartition>) {
        self.state().assigned = partitions.iter().cloned().collect();
        self.record(ClientEvent::Assigned {
            partitions: partitions.clone(),
        });
        self.handle.tell(move |core, _now| {
            core.assign(partitions)
                .expect("assign and subscribe are mutually exclusive")
        });
    }

    /// Joins the consumer group (at the next poll) to read these topics.
    pub async fn subscribe(&self, topics: Vec<String>) -> Result<(), ClientError> {
        let asked = topics.clone();
        let result = (self.handle)
            .query(move |core, now| core.subscribe(now, asked))
            .await;
        if result.is_ok() {
            self.state().subscribed = true;
            if let Some(group) = &self.group {
                let group = group.clone();
                self.record(ClientEvent::Subscribed { group, topics });
            }
        }
        result
    }

    /// Sets the next offset `poll` returns; an unassigned partition is ignored.
    pub fn seek(&self, tp: TopicPartition, offset: Offset) {
        let event = ClientEvent::Seek {
            partition: tp.clone(),
            offset,
        };
        self.record(event);
        self.handle.tell(move |core, _now| {
            let _ = core.seek(&tp, offset);
        });
    }

    /// How far the position in `tp` is behind the partition's high watermark,
    /// as the last fetch said (Kafka's `currentLag`); `None` before a fetch.
    pub async fn current_lag(&self, tp: TopicPartition) -> Option<i64> {
        (self.handle)
            .query(move |core, _now| core.current_lag(&tp))
            .await
    }

    /// The offset of the next record `poll` returns from `tp`, once known.
    pub async fn position(&self, tp: TopicPartition) -> Option<Offset> {
        (self.handle)
            .query(move |core, _now| core.position(&tp))
            .await
    }

    /// Records that this consumer read `partition` to its end, `end_offset`.
    pub fn read_to_end(&self, partition: TopicPartition, end_offset: Offset) {
        self.record(ClientEvent::ReadToEnd {
            partition,
            end_offset,
        });
    }

    /// Waits up to `timeout_ms` of simulated time for records.
    pub async fn poll(&self, timeout_ms: u64) -> Result<Vec<ConsumerRecord>, ClientError> {
        let partitions = self.state().assigned.iter().cloned().collect();
        let op = (self.history).invoke(now_ms(), self.process(), Operation::Poll { partitions });
        let call = move |core: &mut ConsumerCore, now, token| core.poll(now, token, timeout_ms);
        let polled = match self.handle.call(call).await {
            ConsumerOutcome::Poll(result) => result,
            other => panic!("poll completed as {other:?}"),
        };
        if self.state().subscribed {
            let events = (self.handle)
                .query(|core, _now| core.take_rebalance_events())
                .await;
            self.listened(events);
        }
        self.history
            .complete(op, now_ms(), Outcome::of_poll(&polled));
        polled
    }

    /// Records the rebalance listener's events and keeps them for the application.
    fn listened(&self, events: Vec<RebalanceEvent>) {
        for event in events {
            {
                let mut state = self.state();
                match &event {
                    RebalanceEvent::Assigned(p) => state.assigned.extend(p.iter().cloned()),
                    RebalanceEvent::Revoked(p) | RebalanceEvent::Lost(p) => {
                        p.iter().for_each(|tp| {
                            state.assigned.remove(tp);
                        });
                    }
                }
                state.events.push(event.clone());
            }
            self.record(ClientEvent::from(event));
        }
    }

    /// What the rebalance listener was told during the polls since the last
    /// call (Kafka calls the listener inside `poll`).
    pub fn rebalance_events(&self) -> Vec<RebalanceEvent> {
        std::mem::take(&mut self.state().events)
    }

    /// Tells the history when the application commits what it processes: the
    /// judge allows what that costs (a redelivery, or a skipped record).
    pub fn declare_delivery(&self, mode: kafkasim_check::DeliveryMode) {
        if let Some(group) = &self.group {
            let group = group.clone();
            self.record(ClientEvent::Delivery { group, mode });
        }
    }

    /// Tells the history that the application processed `record`: what the
    /// checkers compare with the acknowledged sends, for a group's work.
    pub fn processed(&self, record: &ConsumerRecord) {
        let record = PolledRecord::from(record);
        self.record(ClientEvent::Processed { record });
    }

    /// Commits `offsets` (`None`: the current positions) and waits for the answer,
    /// retrying retriable errors.
    pub async fn commit_sync(
        &self,
        offsets: Option<BTreeMap<TopicPartition, Offset>>,
    ) -> Result<(), ClientError> {
        let asked = offsets.as_ref().map(|o| o.clone().into_iter().collect());
        let operation = Operation::Commit { offsets: asked };
        let op = self.history.invoke(now_ms(), self.process(), operation);
        let call = move |core: &mut ConsumerCore, now, token| core.commit_sync(now, token, offsets);
        let result = match self.handle.call(call).await {
            ConsumerOutcome::Commit(result) => result,
            other => panic!("commit_sync completed as {other:?}"),
        };
        let outcome = match &result {
            Ok(()) => Outcome::Ok(Reply::Committed),
            Err(error) if error.is_ambiguous() => Outcome::Info {
                error: error.to_string(),
            },
            Err(error) => Outcome::Fail {
                error: error.to_string(),
            },
        };
        self.history.complete(op, now_ms(), outcome);
        result
    }

    /// Commits without waiting; the outcome shows in `commit_results`.
    pub fn commit_async(&self, offsets: Option<BTreeMap<TopicPartition, Offset>>) {
        self.handle
            .tell(move |core, now| core.commit_async(now, offsets));
    }

    /// Outcomes of asynchronous and automatic commits since the last call.
    pub async fn commit_results(&self) -> Vec<CommitResult> {
        (self.handle)
            .query(|core, _now| core.take_commit_results())
            .await
    }

    /// Commits (with auto-commit), leaves the group and waits for the coordinator
    /// to hear it, for at most Kafka's default close timeout (30 s).
    pub async fn close(&self) {
        let call = move |core: &mut ConsumerCore, now, token| {
            core.close(now, token, DEFAULT_CLOSE_TIMEOUT_MS)
        };
        match self.handle.call(call).await {
            ConsumerOutcome::Close => {}
            other => panic!("close completed as {other:?}"),
        }
    }
}
