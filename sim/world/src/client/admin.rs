//! Kafka's `Admin` client: topics, brokers, leader elections. What it does is
//! not part of the history: the checkers judge what producers and consumers saw.

use super::ClientHandle;
use crate::cluster::Cluster;
use kafkasim::client::admin::{AdminConfig, AdminCore, AdminOutcome, NewTopic};
use kafkasim::client::ClientError;
use kafkasim::ids::{NodeId, TopicPartition};
use kafkasim::protocol::{
    CreatableTopicResult, ElectionType, MetadataResponse, PartitionElectionResult,
};

/// Kafka's `Admin` client.
pub struct Admin(ClientHandle<AdminCore, AdminOutcome>);

impl Admin {
    pub fn new(cluster: &Cluster, config: AdminConfig) -> Self {
        Admin(ClientHandle::start(cluster, AdminCore::new(config), None))
    }

    pub fn node(&self) -> NodeId {
        self.0.node
    }

    /// Creates topics; each topic's own error (e.g. `TOPIC_ALREADY_EXISTS`) is in its result.
    pub async fn create_topics(
        &self,
        topics: Vec<NewTopic>,
    ) -> Result<Vec<CreatableTopicResult>, ClientError> {
        let call = move |core: &mut AdminCore, now, token| core.create_topics(now, token, topics);
        match self.0.call(call).await {
            AdminOutcome::CreateTopics(result) => result,
            other => panic!("create_topics completed as {other:?}"),
        }
    }

    /// Waits until `count` brokers are registered and unfenced, as one waits for a
    /// freshly started cluster before using it.
    pub async fn wait_for_brokers(&self, count: usize) {
        loop {
            let described = self.describe(None).await;
            if described.is_ok_and(|m| m.brokers.len() >= count) {
                return;
            }
            crate::time::sleep_ms(100).await;
        }
    }

    /// Brokers, topics and leaders, as a broker sees them (`None`: all topics).
    pub async fn describe(
        &self,
        topics: Option<Vec<String>>,
    ) -> Result<MetadataResponse, ClientError> {
        let call = move |core: &mut AdminCore, now, token| core.describe(now, token, topics);
        match self.0.call(call).await {
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
        let call = move |core: &mut AdminCore, now, token| {
            core.elect_leaders(now, token, election_type, partitions)
        };
        match self.0.call(call).await {
            AdminOutcome::ElectLeaders(result) => result,
            other => panic!("elect_leaders completed as {other:?}"),
        }
    }
}
