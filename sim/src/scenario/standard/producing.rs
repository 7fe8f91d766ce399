//! `standard`'s producers: each on its own client machine, sending a keyed
//! record at a steady rate, several sends waiting for their answers at once.
//!
//! Every send is kept with its place in the order the producer issued it: an
//! idempotent producer keeps that order within a partition, even for sends in
//! flight together, so the checks read each producer's acknowledged sends in
//! issue order against the log.

use super::{PRODUCERS, TOPIC};
use crate::client::Producer;
use crate::cluster::Cluster;
use crate::driver::now_ms;
use crate::scenario::toolkit::{pause, producer};
use crate::scenario::{FailedSend, ScenarioOutcome, SentRecord};
use crate::trace::Trace;
use kafkasim::client::producer::ProducerRecord;
use madsim::task::JoinHandle;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Each producer sends a record this often: 20 a second.
const SEND_INTERVAL_MS: u64 = 50;
/// A producer's application keeps at most this many sends waiting for an
/// answer, and skips its turn when full (as a full `buffer.memory` would block).
const SENDS_WAITING_MAX: usize = 20;
/// Records are keyed `k0` … `k23`; the key picks the partition (murmur2).
const KEYS: u64 = 24;

/// Starts the producers, each on its own machine, until `stop`.
pub(super) fn start_producers(
    cluster: &Cluster,
    stop: &Arc<AtomicBool>,
) -> (Vec<Sends>, Vec<JoinHandle<()>>) {
    let producers: Vec<Sends> = PRODUCERS.iter().map(|_| Sends::default()).collect();
    let mut producing = Vec::new();
    for (name, sends) in PRODUCERS.into_iter().zip(&producers) {
        let (task_cluster, stop, sends) = (cluster.clone(), stop.clone(), sends.clone());
        let task = produce(task_cluster, name, stop, sends);
        producing.push(cluster.spawn_client(name, task));
    }
    (producers, producing)
}

/// Waits for the producers to hear the answers to their last sends; says which
/// did not by `deadline_ms`.
pub(super) async fn wait_for_producers(
    producing: Vec<JoinHandle<()>>,
    deadline_ms: u64,
) -> Vec<String> {
    let mut stuck = Vec::new();
    for (name, task) in PRODUCERS.into_iter().zip(producing) {
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

    /// Moves the sends into `outcome` and returns the acknowledged ones in the
    /// order they were issued.
    pub(super) fn take(&self, outcome: &mut ScenarioOutcome) -> Vec<SentRecord> {
        let mut sends = std::mem::take(&mut *self.0.lock().expect("sends lock"));
        sends.sort_by_key(|issued| issued.order);
        let mut acknowledged = Vec::new();
        for Issued { result, .. } in sends {
            match result {
                Ok(sent) => acknowledged.push(sent),
                Err(failed) => outcome.failed.push(failed),
            }
        }
        outcome.sent.extend(acknowledged.iter().cloned());
        acknowledged
    }
}

/// Sends a keyed record every `SEND_INTERVAL_MS` until `stop`, then waits for
/// the answers still due. Each send waits for its answer in a task of its own,
/// so up to `max.in.flight.requests.per.connection` requests are in flight.
async fn produce(cluster: Cluster, name: &'static str, stop: Arc<AtomicBool>, sends: Sends) {
    let settings = [
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("request.timeout.ms", "10000"),
        ("delivery.timeout.ms", "30000"),
    ];
    let producer = Arc::new(producer(&cluster, &settings));
    let waiting = Arc::new(AtomicUsize::new(0));
    let short = name.replace("producer-", "p");
    let mut tasks = Vec::new();
    let mut order = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if waiting.load(Ordering::Relaxed) < SENDS_WAITING_MAX {
            let value = format!("{short}-{order}");
            let key = format!("k{}", order % KEYS);
            let record = ProducerRecord::new(TOPIC, value).key(key);
            let (producer, waiting, sends) = (producer.clone(), waiting.clone(), sends.clone());
            let trace = cluster.trace().clone();
            waiting.fetch_add(1, Ordering::Relaxed);
            // A spawned task runs before simulated time moves on, so each send
            // reaches the producer in the order it was issued.
            tasks.push(madsim::task::spawn(async move {
                let result = send(&producer, record, name, &trace).await;
                waiting.fetch_sub(1, Ordering::Relaxed);
                sends.record(order, result);
            }));
            order += 1;
        }
        pause(SEND_INTERVAL_MS).await;
    }
    for task in tasks {
        task.await.expect("a send task finishes");
    }
}

/// Sends one record as `who`; a failure is told on the timeline.
async fn send(
    producer: &Producer,
    record: ProducerRecord,
    who: &str,
    trace: &Trace,
) -> Result<SentRecord, FailedSend> {
    let value = record.value.clone();
    match producer.send(record).await {
        Ok(metadata) => Ok(SentRecord {
            time_ms: now_ms(),
            value,
            partition: metadata.partition,
            offset: metadata.offset,
            acks: producer.acks(),
        }),
        Err(error) => {
            let ambiguous = error.is_ambiguous();
            let kind = if ambiguous {
                "ambiguous"
            } else {
                "not written"
            };
            trace.timeline(now_ms(), who, format!("{value} failed ({kind}): {error}"));
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
