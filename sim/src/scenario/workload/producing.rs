//! A workload's producers: each on its own client machine, sending a record at a
//! steady rate, several sends waiting for their answers at once. Each producer
//! records its sends in the run's history itself.

use super::{ProducerSpec, Workload};
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim_check::history::{value_text, Entry, Operation, Outcome};
use kafkasim_check::{Detail, Finding, Kind};
use kafkasim_sim::time::{now_ms, sleep_ms, spawn, timeout_ms, JoinHandle};
use kafkasim_sim::{Cluster, Producer};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

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
) -> Vec<(String, JoinHandle<()>)> {
    let mut producing = Vec::new();
    for start in producers {
        let name = start.spec.name.clone();
        let task = cluster.spawn_client(&name, produce(cluster.clone(), stop.clone(), start));
        producing.push((name, task));
    }
    producing
}

/// Waits for the producers to hear the answers to their last sends; reports
/// each that did not by `deadline_ms`.
pub(super) async fn wait_for_producers(
    cluster: &Cluster,
    producing: Vec<(String, JoinHandle<()>)>,
    deadline_ms: u64,
) {
    for (name, task) in producing {
        let left = deadline_ms.saturating_sub(now_ms());
        if timeout_ms(left, task).await.is_none() {
            let detail = Detail::ProducerStuck {
                producer: name,
                time_ms: now_ms(),
            };
            cluster.report(Finding::new(Kind::ProducerStuck, detail));
        }
    }
}

/// Sends a record every `interval_ms` until `stop`, then waits for the answers
/// still due. Each send waits for its answer in a task of its own, so up to
/// `max.in.flight.requests.per.connection` requests are in flight.
async fn produce(cluster: Cluster, stop: Arc<AtomicBool>, start: Start) {
    let Start {
        spec,
        mut config,
        partitions,
    } = start;
    config.bootstrap = cluster.bootstrap();
    let producer = Producer::new(&cluster, config)
        .unwrap_or_else(|e| panic!("a validated producer config is consistent: {e}"));
    let producer = Arc::new(producer);
    let waiting = Arc::new(AtomicUsize::new(0));
    let short = spec.name.replace("producer-", "p");
    let mut tasks = Vec::new();
    let mut order = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if waiting.load(Ordering::Relaxed) < SENDS_WAITING_MAX {
            let value = format!("{short}-{order}");
            // Keyed records go where murmur2 puts their key; keyless ones where
            // the application picks, round-robin.
            let record = match spec.keys {
                0 => {
                    let partition = (order % partitions as u64) as i32;
                    ProducerRecord::new(&spec.topic, value).partition(partition)
                }
                keys => ProducerRecord::new(&spec.topic, value).key(format!("k{}", order % keys)),
            };
            let (producer, waiting, trace) =
                (producer.clone(), waiting.clone(), cluster.trace().clone());
            waiting.fetch_add(1, Ordering::Relaxed);
            // A spawned task runs before simulated time moves on, so each send
            // reaches the producer in the order it was issued.
            tasks.push(spawn(async move {
                let value = value_text(&record.value);
                if let Err(error) = producer.send(record).await {
                    let kind = match error.is_ambiguous() {
                        true => "ambiguous",
                        false => "not written",
                    };
                    let text = format!("{value} failed ({kind}): {error}");
                    trace.timeline(now_ms(), producer.process(), text);
                }
                waiting.fetch_sub(1, Ordering::Relaxed);
            }));
            order += 1;
        }
        sleep_ms(spec.interval_ms).await;
    }
    for task in tasks {
        task.await.expect("a send task finishes");
    }
}

/// Tells how the producers' sends ended, in all, as the history has them.
pub(super) fn tell_sends(cluster: &Cluster, workload: &Workload) {
    let producers: Vec<&str> = workload.producers.iter().map(|p| p.name.as_str()).collect();
    let (mut acked, mut failed, mut ambiguous) = (0, 0, 0);
    cluster.history().with_entries(|entries| {
        for entry in entries {
            let Entry::Complete {
                op,
                process,
                outcome,
                ..
            } = entry
            else {
                continue;
            };
            let is_send = matches!(
                &entries[op.index()],
                Entry::Invoke {
                    operation: Operation::Send { .. },
                    ..
                }
            );
            if !is_send || !producers.contains(&process.as_str()) {
                continue;
            }
            match outcome {
                Outcome::Ok(_) => acked += 1,
                Outcome::Fail { .. } => failed += 1,
                Outcome::Info { .. } => {
                    failed += 1;
                    ambiguous += 1;
                }
            }
        }
    });
    let text =
        format!("producers stopped: {acked} acknowledged, {failed} failed ({ambiguous} ambiguous)");
    cluster.trace().timeline(now_ms(), "app", text);
}
