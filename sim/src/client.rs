//! Async client APIs for application code running on a simulated client machine.
//!
//! Each client starts a driver task that owns its sans-IO core and its
//! connections. An API call runs a method on the core with a fresh token and awaits
//! the completion the core later emits with that token. This is the only place
//! where the model's clients touch async Rust.

use crate::cluster::Cluster;
use crate::driver::{run_node, Command, NodeCell};
use kafkasim::client::admin::{AdminConfig, AdminCore, AdminOutcome, NewTopic};
use kafkasim::client::consumer::{ConsumerConfig, ConsumerCore, ConsumerRecord};
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
    T: std::fmt::Debug + Send + 'static,
{
    fn start(cluster: &Cluster, core: N) -> Self {
        let node = NodeId::Client(cluster.next_client_id());
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

/// Kafka's `KafkaConsumer` with manual assignment.
pub struct Consumer(ClientHandle<ConsumerCore, kafkasim::client::consumer::PollOutcome>);

impl Consumer {
    pub fn new(cluster: &Cluster, config: ConsumerConfig) -> Self {
        Consumer(ClientHandle::start(cluster, ConsumerCore::new(config)))
    }

    pub fn node(&self) -> NodeId {
        self.0.node
    }

    pub fn assign(&self, partitions: Vec<TopicPartition>) {
        self.0.tell(move |core, _now| core.assign(partitions));
    }

    /// Sets the next offset `poll` returns; an unassigned partition is ignored.
    pub fn seek(&self, tp: TopicPartition, offset: Offset) {
        self.0.tell(move |core, _now| {
            let _ = core.seek(&tp, offset);
        });
    }

    /// Waits up to `timeout_ms` of simulated time for records.
    pub async fn poll(&self, timeout_ms: u64) -> Result<Vec<ConsumerRecord>, ClientError> {
        self.0
            .call(move |core, now, token| core.poll(now, token, timeout_ms))
            .await
    }
}
