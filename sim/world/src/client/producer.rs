//! Kafka's `KafkaProducer`, recording each send in the run's history.
//!
//! A send goes into the history when it is issued (its topic and value) and
//! again when its answer comes: acked at an offset of a partition, refused
//! (`fail`: the write definitely did not happen), or unknown (`info`: a
//! timeout, or an error after the append, after which the record may be in the
//! log). Each record is stamped with its send's id (a `send-id` header), so
//! the checkers tell its sends apart even when two carry the same value. The producer's settings go in first, when it starts: what its
//! acknowledgements promise decides what the judge allows.

use super::ClientHandle;
use crate::cluster::Cluster;
use crate::time::now_ms;
use kafkasim::client::producer::{
    ProducerConfig, ProducerCore, ProducerRecord, RecordMetadata, SendOutcome,
};
use kafkasim::client::ClientError;
use kafkasim::config::ConfigError;
use kafkasim::ids::NodeId;
use kafkasim::protocol::Acks;
use kafkasim_check::history::{send_id_header, ClientEvent, History, Operation, Outcome, Value};

/// Kafka's `KafkaProducer`.
pub struct Producer {
    handle: ClientHandle<ProducerCore, SendOutcome>,
    acks: Acks,
    history: History,
}

impl Producer {
    /// Starts a producer, or says which configuration Kafka would refuse and why
    /// (e.g. `enable.idempotence=true` with `acks=1`).
    pub fn new(cluster: &Cluster, config: ProducerConfig) -> Result<Self, ConfigError> {
        Producer::start(cluster, config, None)
    }

    /// A producer named `process` in the history, whatever its machine.
    pub fn named(
        cluster: &Cluster,
        config: ProducerConfig,
        process: &str,
    ) -> Result<Self, ConfigError> {
        Producer::start(cluster, config, Some(process))
    }

    fn start(
        cluster: &Cluster,
        mut config: ProducerConfig,
        process: Option<&str>,
    ) -> Result<Self, ConfigError> {
        // A client follows the rules of the cluster it is made on.
        config.rules = cluster.rules();
        let (acks, idempotence) = (config.acks, config.idempotent());
        let core = ProducerCore::new(config)?;
        let handle = ClientHandle::start(cluster, core, process);
        let history = cluster.history().clone();
        let settings = ClientEvent::Producer { acks, idempotence };
        history.event(now_ms(), &handle.process, settings);
        Ok(Producer {
            handle,
            acks,
            history,
        })
    }

    pub fn node(&self) -> NodeId {
        self.handle.node
    }

    /// The producer's name in the history.
    pub fn process(&self) -> &str {
        &self.handle.process
    }

    /// The `acks` this producer sends with.
    pub fn acks(&self) -> Acks {
        self.acks
    }

    /// Sends a record and waits for the broker's acknowledgement.
    pub async fn send(&self, record: ProducerRecord) -> Result<RecordMetadata, ClientError> {
        let operation = Operation::Send {
            topic: record.topic.clone(),
            value: Value::from(&record.value),
        };
        let op = self.history.invoke(now_ms(), self.process(), operation);
        let mut record = record;
        record.headers.push(send_id_header(op));
        let call = move |core: &mut ProducerCore, now, token| core.send(now, token, record);
        let result = self.handle.call(call).await;
        let outcome = match &result {
            Ok(metadata) => Outcome::sent(metadata.partition.clone(), metadata.offset),
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
}
