//! A workload's producers: each on its own client machine, sending a record at a
//! steady rate, several sends waiting for their answers at once.
//!
//! Each send goes into the history when it is issued (the partition it is for:
//! the key's, by murmur2 as the client's partitioner picks it, or the one the
//! application picked for a keyless record) and again when its answer comes:
//! acked at an offset, refused (`fail`), or unknown (`info`: a timeout, or an
//! error after the append, after which the record may be in the log).

use super::ProducerSpec;
use crate::client::Producer;
use crate::cluster::Cluster;
use crate::driver::now_ms;
use crate::scenario::toolkit::pause;
use crate::scenario::{FailedSend, ScenarioOutcome, SentRecord};
use crate::trace::Trace;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::TopicPartition;
use kafkasim::partitioner::partition_for_key;
use kafkasim_check::history::{History, Operation, Outcome};
use madsim::task::JoinHandle;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A producer's application keeps at most this many sends waiting for an
/// answer, and skips its turn when full (as a full `buffer.memory` would block).
const SENDS_WAITING_MAX: usize = 20;

/// One producer to start: what it is, its configuration, and its topic's size.
pub(super) struct Start {
    pub spec: ProducerSpec,
    pub config: ProducerConfig,
    pub partitions: i32,
}

/// Starts the producers, each on its own machine, until `stop`.
pub(super) fn start_producers(
    cluster: &Cluster,
    producers: Vec<Start>,
    stop: &Arc<AtomicBool>,
    history: &History,
) -> (Vec<Sends>, Vec<(String, JoinHandle<()>)>) {
    let sends: Vec<Sends> = producers.iter().map(|_| Sends::default()).collect();
    let mut producing = Vec::new();
    for (start, sends) in producers.into_iter().zip(&sends) {
        let name = start.spec.name.clone();
        let context = Context {
            cluster: cluster.clone(),
            stop: stop.clone(),
            sends: sends.clone(),
            history: history.clone(),
        };
        producing.push((
            name.clone(),
            cluster.spawn_client(&name, produce(context, start)),
        ));
    }
    (sends, producing)
}

/// Waits for the producers to hear the answers to their last sends; says which
/// did not by `deadline_ms`.
pub(super) async fn wait_for_producers(
    producing: Vec<(String, JoinHandle<()>)>,
    deadline_ms: u64,
) -> Vec<String> {
    let mut stuck = Vec::new();
    for (name, task) in producing {
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms()));
        if madsim::time::timeout(left, task).await.is_err() {
            stuck.push(format!("{name} still waited for answers to its sends"));
        }
    }
    stuck
}

/// How one send ended, and its place in the order the producer issued them.
#[derive(Debug, Clone)]
struct Issued {
    order: u64,
    result: Result<SentRecord, FailedSend>,
}

/// One producer's sends, shared by the tasks that wait for their answers.
#[derive(Debug, Clone, Default)]
pub(super) struct Sends(Arc<Mutex<Vec<Issued>>>);

impl Sends {
    fn record(&self, order: u64, result: Result<SentRecord, FailedSend>) {
        let issued = Issued { order, result };
        self.0.lock().expect("sends lock").push(issued);
    }

    /// Moves the sends into `outcome`, in the order they were issued.
    pub(super) fn take(&self, outcome: &mut ScenarioOutcome) {
        let mut sends = std::mem::take(&mut *self.0.lock().expect("sends lock"));
        sends.sort_by_key(|issued| issued.order);
        for Issued { result, .. } in sends {
            match result {
                Ok(sent) => outcome.sent.push(sent),
                Err(failed) => outcome.failed.push(failed),
            }
        }
    }
}

/// What a producer task shares with the rest of the run.
struct Context {
    cluster: Cluster,
    stop: Arc<AtomicBool>,
    sends: Sends,
    history: History,
}

/// Sends a record every `interval_ms` until `stop`, then waits for the answers
/// still due. Each send waits for its answer in a task of its own, so up to
/// `max.in.flight.requests.per.connection` requests are in flight.
async fn produce(context: Context, start: Start) {
    let Start {
        spec,
        mut config,
        partitions,
    } = start;
    let cluster = &context.cluster;
    config.bootstrap = cluster.bootstrap();
    let producer = Producer::new(cluster, config)
        .unwrap_or_else(|e| panic!("a validated producer config is consistent: {e}"));
    let producer = Arc::new(producer);
    let waiting = Arc::new(AtomicUsize::new(0));
    let short = spec.name.replace("producer-", "p");
    let name: Arc<str> = spec.name.as_str().into();
    let mut tasks = Vec::new();
    let mut order = 0u64;
    while !context.stop.load(Ordering::Relaxed) {
        if waiting.load(Ordering::Relaxed) < SENDS_WAITING_MAX {
            let value = format!("{short}-{order}");
            let (record, partition) = if spec.keys > 0 {
                let key = format!("k{}", order % spec.keys);
                let partition = partition_for_key(&key, partitions);
                (ProducerRecord::new(&spec.topic, value).key(key), partition)
            } else {
                let partition = (order % partitions as u64) as i32;
                let record = ProducerRecord::new(&spec.topic, value).partition(partition);
                (record, partition)
            };
            let tp = TopicPartition::new(&spec.topic, partition);
            let (producer, waiting, sends) =
                (producer.clone(), waiting.clone(), context.sends.clone());
            let (trace, history, name) = (
                cluster.trace().clone(),
                context.history.clone(),
                name.clone(),
            );
            waiting.fetch_add(1, Ordering::Relaxed);
            // A spawned task runs before simulated time moves on, so each send
            // reaches the producer in the order it was issued.
            tasks.push(madsim::task::spawn(async move {
                let who = Who {
                    name: &name,
                    trace: &trace,
                    history: &history,
                };
                let result = send(&producer, record, tp, who).await;
                waiting.fetch_sub(1, Ordering::Relaxed);
                sends.record(order, result);
            }));
            order += 1;
        }
        pause(spec.interval_ms).await;
    }
    for task in tasks {
        task.await.expect("a send task finishes");
    }
}

/// Who sends, and where it tells what happened.
struct Who<'a> {
    name: &'a str,
    trace: &'a Trace,
    history: &'a History,
}

/// Sends one record to `partition`; records it in the history, and tells a
/// failure on the timeline.
async fn send(
    producer: &Producer,
    record: ProducerRecord,
    partition: TopicPartition,
    who: Who<'_>,
) -> Result<SentRecord, FailedSend> {
    let value = record.value.clone();
    let operation = Operation::Send {
        partition,
        value: value.clone(),
    };
    let op = who.history.invoke(now_ms(), who.name, operation);
    match producer.send(record).await {
        Ok(metadata) => {
            who.history
                .complete(op, now_ms(), Outcome::sent(metadata.offset));
            Ok(SentRecord {
                time_ms: now_ms(),
                value,
                partition: metadata.partition,
                offset: metadata.offset,
                acks: producer.acks(),
            })
        }
        Err(error) => {
            let ambiguous = error.is_ambiguous();
            let (kind, outcome) = if ambiguous {
                let error = error.to_string();
                ("ambiguous", Outcome::Info { error })
            } else {
                let error = error.to_string();
                ("not written", Outcome::Fail { error })
            };
            who.history.complete(op, now_ms(), outcome);
            let text = format!("{value} failed ({kind}): {error}");
            who.trace.timeline(now_ms(), who.name, text);
            Err(FailedSend {
                time_ms: now_ms(),
                value,
                error: error.to_string(),
                ambiguous,
            })
        }
    }
}

/// Tells how the producers' sends ended, in all.
pub(super) fn tell_sends(cluster: &Cluster, outcome: &ScenarioOutcome) {
    let ambiguous = outcome.failed.iter().filter(|f| f.ambiguous).count();
    let text = format!(
        "producers stopped: {} acknowledged, {} failed ({ambiguous} ambiguous)",
        outcome.sent.len(),
        outcome.failed.len()
    );
    cluster.trace().timeline(now_ms(), "app", text);
}
