//! Running a story: a workload with steps (see [`super::step`]).
//!
//! Its topics are created and waited for until every replica is in sync, its
//! producers start on the `app` machine (from Kafka's defaults and the
//! story's own settings), then the steps run one after the other. A wait that
//! does not come ends the story: its `wait-timed-out` finding says what did
//! not happen. At the end every fault still on is undone, in the order they
//! started, and the reader reads every partition back.

use super::step::{Condition, Step};
use super::Workload;
use kafkasim::client::admin::NewTopic;
use kafkasim::client::producer::ProducerRecord;
use kafkasim::ids::TopicPartition;
use kafkasim::protocol::ElectionType;
use kafkasim_check::Finding;
use kafkasim_sim::faults::Started;
use kafkasim_sim::time::{now_ms, sleep_ms};
use kafkasim_sim::{Cluster, Producer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Runs `workload`'s story on `cluster`.
pub async fn run(cluster: Cluster, workload: Arc<Workload>) {
    let Ok(producers) = set_up(&cluster, &workload).await else {
        return; // the finding says why
    };
    let mut story = Story {
        cluster: &cluster,
        producers,
        named: BTreeMap::new(),
        on: Vec::new(),
    };
    for step in &workload.steps {
        if story.take(step).await.is_err() {
            return; // the finding says why
        }
    }
    for (_, started) in story.on.drain(..) {
        cluster.end_fault(started);
    }
    cluster.read_back().await;
}

/// Creates the topics, each in sync, and starts the producers.
async fn set_up(
    cluster: &Cluster,
    workload: &Workload,
) -> Result<BTreeMap<String, Producer>, Finding> {
    for topic in &workload.topics {
        let mut new = NewTopic::new(&topic.name, topic.partitions, topic.replication_factor);
        for (key, value) in &topic.configs {
            new = new.config(key, value);
        }
        cluster.create_topic_in_sync(new).await?;
    }
    let mut producers = BTreeMap::new();
    for spec in &workload.producers {
        let settings: Vec<(&str, &str)> = (spec.settings.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let producer = (cluster.producer_named(&spec.name, &settings))
            .unwrap_or_else(|e| panic!("validated: {}: {e}", spec.name));
        producers.insert(spec.name.clone(), producer);
    }
    Ok(producers)
}

/// A story under way: its producers, and the faults it started.
struct Story<'a> {
    cluster: &'a Cluster,
    producers: BTreeMap<String, Producer>,
    /// The faults still on, by the name their step gave them.
    named: BTreeMap<String, u64>,
    /// Every fault still on, with the index of the step that started it.
    on: Vec<(u64, Started)>,
}

impl Story<'_> {
    async fn take(&mut self, step: &Step) -> Result<(), Finding> {
        let cluster = self.cluster;
        match step {
            Step::Send {
                producer,
                partition,
                values,
            } => {
                let producer = &self.producers[producer];
                for value in values {
                    send(cluster, producer, partition, value).await;
                }
            }
            Step::Fault { name, action } => {
                if let Some(started) = cluster.start_fault(action) {
                    let id = started.id;
                    if let Some(name) = name {
                        self.named.insert(name.clone(), id);
                    }
                    self.on.push((id, started));
                }
            }
            Step::End { names } => {
                for name in names {
                    // A fault that named nobody never started: nothing to end.
                    let Some(id) = self.named.remove(name) else {
                        continue;
                    };
                    if let Some(at) = self.on.iter().position(|(i, _)| *i == id) {
                        let (_, started) = self.on.remove(at);
                        cluster.end_fault(started);
                    }
                }
            }
            Step::Wait { partition, until } => {
                wait(cluster, partition, until).await?;
            }
            Step::Sleep { ms } => sleep_ms(*ms).await,
            Step::Show { topic, say } => show(cluster, topic, say),
            Step::Read { topic } => {
                let partitions = (cluster.metadata().partitions())
                    .map(|(tp, _)| tp)
                    .filter(|tp| tp.topic == *topic)
                    .collect();
                cluster.read_now(partitions).await;
            }
            Step::ElectPreferredLeaders => elect_preferred_leaders(cluster).await,
        }
        Ok(())
    }
}

async fn wait(cluster: &Cluster, tp: &TopicPartition, until: &Condition) -> Result<(), Finding> {
    let before = cluster.partition(tp).and_then(|p| p.leader);
    let what = until.to_string();
    (cluster.wait_for(tp, &what, |p| until.holds(p, before)))
        .await
        .map(|_| ())
}

/// Tells the timeline each partition of `topic`: its leader and ISR.
fn show(cluster: &Cluster, topic: &str, say: &str) {
    let image = cluster.metadata();
    let Some(partitions) = image.topics.get(topic).map(|t| t.partitions.len()) else {
        return; // validated: the topic was created before any step ran
    };
    let shown: Vec<String> = (0..partitions as i32)
        .filter_map(|p| {
            let tp = TopicPartition::new(topic, p);
            let info = image.partition(&tp)?;
            let leader = info
                .leader
                .map_or("without a leader".into(), |l| format!("led by broker-{l}"));
            let isr = super::step::brokers(&info.isr);
            let elr = match &info.elr[..] {
                [] => String::new(),
                elr => format!(", ELR {}", super::step::brokers(elr)),
            };
            Some(format!("{tp} {leader}, ISR {isr}{elr}"))
        })
        .collect();
    let text = format!("{say}: {}", shown.join("; "));
    cluster.trace().timeline(now_ms(), "app", text);
}

/// Asks for a preferred leader election of every partition, and tells what
/// each partition's answer was.
async fn elect_preferred_leaders(cluster: &Cluster) {
    // ANCHOR: preferred_election
    let admin = cluster.admin();
    let results = admin.elect_leaders(ElectionType::Preferred, None).await;
    // ANCHOR_END: preferred_election
    for r in results.unwrap_or_default() {
        let answer = r.error_message.unwrap_or_else(|| "leader moved".into());
        let text = format!("preferred election of {}: {answer}", r.partition);
        cluster.trace().timeline(now_ms(), "admin", text);
    }
}

/// Sends `value` to `partition` and tells the timeline how it went (the
/// producer records it in the history itself).
async fn send(cluster: &Cluster, producer: &Producer, partition: &TopicPartition, value: &str) {
    let record = ProducerRecord::new(&partition.topic, value).partition(partition.partition);
    let who = producer.process().to_string();
    let trace = cluster.trace();
    match producer.send(record).await {
        Ok(metadata) => {
            let acks = match producer.acks().as_i16() {
                -1 => "all".to_string(),
                n => n.to_string(),
            };
            let text = format!(
                "{value} acknowledged (acks={acks}) at {}@{}",
                metadata.partition, metadata.offset
            );
            trace.timeline(now_ms(), who, text);
        }
        Err(error) => {
            let kind = match error.is_ambiguous() {
                true => "ambiguous: may or may not be written",
                false => "not written",
            };
            trace.timeline(now_ms(), who, format!("{value} failed ({kind}): {error}"));
        }
    }
}
