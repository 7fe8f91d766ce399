//! Async client APIs for application code running on a simulated client machine.
//!
//! Each client starts a driver task that owns its sans-IO core and its
//! connections. An API call runs a method on the core with a fresh token and awaits
//! the completion the core later emits with that token. This is the only place
//! where the model's clients touch async Rust.

use crate::cluster::Cluster;
use crate::driver::{run_node, Command, NodeCell};
use kafkasim::client::admin::{AdminConfig, AdminCore, AdminOutcome, NewTopic};
use kafkasim::client::consumer::{
    CommitResult, ConsumerConfig, ConsumerCore, ConsumerOutcome, ConsumerRecord, RebalanceEvent,
    DEFAULT_CLOSE_TIMEOUT_MS,
};
use kafkasim::client::producer::{ProducerConfig, ProducerCore, ProducerRecord, RecordMetadata};
use kafkasim::client::{ClientError, Completion, Token};
use kafkasim::config::ConfigError;
use kafkasim::ids::{NodeId, Offset, TopicPartition};
use kafkasim::node::Node;
use kafkasim::protocol::{
    CreatableTopicResult, ElectionType, MetadataResponse, PartitionElectionResult,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

type Waiters<T> = Arc<Mutex<BTreeMap<Token, oneshot::Sender<T>>>>;

/// The part every async client shares: a command channel to its driver task and
/// the calls waiting for their completion (`T` is the core's outcome type).
struct ClientHandle<N, T> {
    node: NodeId,
    commands: mpsc::UnboundedSender<Command<N>>,
    waiters: Waiters<T>,
    next_token: Mutex<Token>,
}

impl<N, T> ClientHandle<N, T>
where
    N: Node<Event = Completion<T>> + Send + 'static,
    T: std::fmt::Debug + std::hash::Hash + Send + 'static,
{
    fn start(cluster: &Cluster, core: N) -> Self {
        let node = NodeId::Client(cluster.next_client_id());
        if cluster.trace().is_capturing() {
            if let Some(machine) = crate::cluster::current_machine() {
                cluster.trace().name_machine(node, &machine);
            }
        }
        let (commands, receiver) = mpsc::unbounded_channel();
        let waiters: Waiters<T> = Arc::default();
        let cell: NodeCell<N> = Arc::new(Mutex::new(Some(core)));
        let on_event = {
            let waiters = waiters.clone();
            move |_now, completion: Completion<T>| {
                if let Some(waiter) = waiters
                    .lock()
                    .expect("waiters lock")
                    .remove(&completion.token)
                {
                    let _ = waiter.send(completion.outcome);
                }
            }
        };
        madsim::task::spawn(run_node(
            node,
            cell,
            cluster.trace().clone(),
            cluster.faults().clone(),
            on_event,
            Some(receiver),
        ));
        ClientHandle {
            node,
            commands,
            waiters,
            next_token: Mutex::new(0),
        }
    }

    /// Runs `call` on the core with a fresh token and waits for its completion.
    async fn call(&self, call: impl FnOnce(&mut N, u64, Token) + Send + 'static) -> T {
        let token = {
            let mut next = self.next_token.lock().expect("token lock");
            *next += 1;
            *next
        };
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().expect("waiters lock").insert(token, tx);
        let command: Command<N> = Box::new(move |core, now| call(core, now, token));
        self.commands
            .send(command)
            .expect("the client's driver runs as long as the client");
        rx.await.expect("every call completes")
    }

    /// Runs `action` on the core without waiting for a completion.
    fn tell(&self, action: impl FnOnce(&mut N, u64) + Send + 'static) {
        self.commands
            .send(Box::new(action))
            .expect("the client's driver runs as long as the client");
    }

    /// Runs `query` on the core and returns what it returns (for calls the core
    /// answers at once, without a completion).
    async fn query<R: Send + 'static>(
        &self,
        query: impl FnOnce(&mut N, u64) -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = oneshot::channel();
        self.tell(move |core, now| {
            let _ = tx.send(query(core, now));
        });
        rx.await.expect("the client's driver runs every command")
    }
}

/// Kafka's `Admin` client.
pub struct Admin(ClientHandle<AdminCore, AdminOutcome>);

impl Admin {
    pub fn new(cluster: &Cluster, config: AdminConfig) -> Self {
        Admin(ClientHandle::start(cluster, AdminCore::new(config)))
    }

    pub fn node(&self) -> NodeId {
        self.0.node
    }

    /// Creates topics; each topic's own error (e.g. `TOPIC_ALREADY_EXISTS`) is in its result.
    pub async fn create_topics(
        &self,
        topics: Vec<NewTopic>,
    ) -> Result<Vec<CreatableTopicResult>, ClientError> {
        match self
            .0
            .call(move |core, now, token| core.create_topics(now, token, topics))
            .await
        {
            AdminOutcome::CreateTopics(result) => result,
            other => panic!("create_topics completed as {other:?}"),
        }
    }

    /// Waits until `count` brokers are registered and unfenced, as one waits for a
    /// freshly started cluster before using it.
    pub async fn wait_for_brokers(&self, count: usize) {
        loop {
            if self
                .describe(None)
                .await
                .is_ok_and(|m| m.brokers.len() >= count)
            {
                return;
            }
            madsim::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Brokers, topics and leaders, as a broker sees them (`None`: all topics).
    pub async fn describe(
        &self,
        topics: Option<Vec<String>>,
    ) -> Result<MetadataResponse, ClientError> {
        match self
            .0
            .call(move |core, now, token| core.describe(now, token, topics))
            .await
        {
            AdminOutcome::Describe(result) => result,
            other => panic!("describe completed as {other:?}"),
        }
    }

    /// Runs leader elections (`kafka-leader-election.sh`); `None`: every partition.
    pub async fn elect_leaders(
        &self,
        election_type: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<PartitionElectionResult>, ClientError> {
        match self
            .0
            .call(move |core, now, token| core.elect_leaders(now, token, election_type, partitions))
            .await
        {
            AdminOutcome::ElectLeaders(result) => result,
            other => panic!("elect_leaders completed as {other:?}"),
        }
    }
}

/// Kafka's `KafkaProducer`.
pub struct Producer(
    ClientHandle<ProducerCore, kafkasim::client::producer::SendOutcome>,
    kafkasim::protocol::Acks,
);

impl Producer {
    /// Starts a producer, or says which configuration Kafka would refuse and why
    /// (e.g. `enable.idempotence=true` with `acks=1`).
    pub fn new(cluster: &Cluster, config: ProducerConfig) -> Result<Self, ConfigError> {
        let acks = config.acks;
        let core = ProducerCore::new(config)?;
        Ok(Producer(ClientHandle::start(cluster, core), acks))
    }

    pub fn node(&self) -> NodeId {
        self.0.node
    }

    /// The `acks` this producer sends with.
    pub fn acks(&self) -> kafkasim::protocol::Acks {
        self.1
    }

    /// Sends a record and waits for the broker's acknowledgement.
    pub async fn send(&self, record: ProducerRecord) -> Result<RecordMetadata, ClientError> {
        self.0
            .call(move |core, now, token| core.send(now, token, record))
            .await
    }
}

/// Kafka's `KafkaConsumer`: manual assignment, or membership of a consumer group.
pub struct Consumer(ClientHandle<ConsumerCore, ConsumerOutcome>);

impl Consumer {
    /// Starts a consumer, or says which configuration Kafka would refuse and why
    /// (e.g. `heartbeat.interval.ms` not below `session.timeout.ms`).
    pub fn new(cluster: &Cluster, config: ConsumerConfig) -> Result<Self, ConfigError> {
        let core = ConsumerCore::new(config)?;
        Ok(Consumer(ClientHandle::start(cluster, core)))
    }

    pub fn node(&self) -> NodeId {
        self.0.node
    }

    /// Reads these partitions (manual assignment). Assigning after `subscribe`
    /// is a mistake in the application, as in Kafka (`IllegalStateException`).
    pub fn assign(&self, partitions: Vec<TopicPartition>) {
        self.0.tell(move |core, _now| {
            core.assign(partitions)
                .expect("assign and subscribe are mutually exclusive")
        });
    }

    /// Joins the consumer group (at the next poll) to read these topics.
    pub async fn subscribe(&self, topics: Vec<String>) -> Result<(), ClientError> {
        self.0
            .query(move |core, now| core.subscribe(now, topics))
            .await
    }

    /// Sets the next offset `poll` returns; an unassigned partition is ignored.
    pub fn seek(&self, tp: TopicPartition, offset: Offset) {
        self.0.tell(move |core, _now| {
            let _ = core.seek(&tp, offset);
        });
    }

    /// Waits up to `timeout_ms` of simulated time for records.
    pub async fn poll(&self, timeout_ms: u64) -> Result<Vec<ConsumerRecord>, ClientError> {
        match self
            .0
            .call(move |core, now, token| core.poll(now, token, timeout_ms))
            .await
        {
            ConsumerOutcome::Poll(result) => result,
            other => panic!("poll completed as {other:?}"),
        }
    }

    /// Commits `offsets` (`None`: the current positions) and waits for the answer,
    /// retrying retriable errors.
    pub async fn commit_sync(
        &self,
        offsets: Option<BTreeMap<TopicPartition, Offset>>,
    ) -> Result<(), ClientError> {
        match self
            .0
            .call(move |core, now, token| core.commit_sync(now, token, offsets))
            .await
        {
            ConsumerOutcome::Commit(result) => result,
            other => panic!("commit_sync completed as {other:?}"),
        }
    }

    /// Commits without waiting; the outcome shows in `commit_results`.
    pub fn commit_async(&self, offsets: Option<BTreeMap<TopicPartition, Offset>>) {
        self.0
            .tell(move |core, now| core.commit_async(now, offsets));
    }

    /// Outcomes of asynchronous and automatic commits since the last call.
    pub async fn commit_results(&self) -> Vec<CommitResult> {
        self.0.query(|core, _now| core.take_commit_results()).await
    }

    /// What the rebalance listener would have been told since the last call.
    pub async fn rebalance_events(&self) -> Vec<RebalanceEvent> {
        self.0
            .query(|core, _now| core.take_rebalance_events())
            .await
    }

    /// Commits (with auto-commit), leaves the group and waits for the coordinator
    /// to hear it, for at most Kafka's default close timeout (30 s).
    pub async fn close(&self) {
        match self
            .0
            .call(move |core, now, token| core.close(now, token, DEFAULT_CLOSE_TIMEOUT_MS))
            .await
        {
            ConsumerOutcome::Close => {}
            other => panic!("close completed as {other:?}"),
        }
    }
}
