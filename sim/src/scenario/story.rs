//! What the stories written as code share: start and end a fault, send a record
//! and tell how it went.

use kafkasim::client::producer::ProducerRecord;
use kafkasim::ids::{BrokerId, Offset};
use kafkasim_check::fault::{Action, Target};
use kafkasim_sim::faults::Started;
use kafkasim_sim::time::now_ms;
use kafkasim_sim::{Cluster, Producer};

/// Starts `action` now (a fault that names nobody says so on the timeline).
pub fn start(cluster: &Cluster, action: Action) -> Option<Started> {
    cluster.start_fault(&action)
}

/// Ends a fault `start` started, if it did.
pub fn end(cluster: &Cluster, started: Option<Started>) {
    if let Some(started) = started {
        cluster.end_fault(started);
    }
}

pub fn crash(broker: BrokerId) -> Action {
    Action::Crash {
        node: Target::Broker(broker),
    }
}

pub fn power_loss(broker: BrokerId) -> Action {
    Action::PowerLoss {
        node: Target::Broker(broker),
    }
}

pub fn link_cut(a: BrokerId, b: BrokerId) -> Action {
    Action::LinkCut {
        nodes: [Target::Broker(a), Target::Broker(b)],
    }
}

/// Sends `value` to partition 0 of `topic` and tells the timeline how it went
/// (the producer records it in the history itself). The offset, when acknowledged.
pub async fn send(
    cluster: &Cluster,
    producer: &Producer,
    topic: &str,
    value: &str,
) -> Option<Offset> {
    let record = ProducerRecord::new(topic, value).partition(0);
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
            Some(metadata.offset)
        }
        Err(error) => {
            let kind = match error.is_ambiguous() {
                true => "ambiguous: may or may not be written",
                false => "not written",
            };
            trace.timeline(now_ms(), who, format!("{value} failed ({kind}): {error}"));
            None
        }
    }
}
