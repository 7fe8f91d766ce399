//! The server's timeline: one line per cluster event a person starting a
//! server wants to see (brokers registering, topics created, leaders elected,
//! groups rebalancing). The other events (appends, high watermarks) are
//! left out: a produce would print several lines. Faults and the driver's
//! crashes and restarts are shown too.

use crate::hub::{DriverEvent, Event};
use kafkasim::disk::CrashKind;
use kafkasim::event::ClusterEvent;

/// The line for `event` at `at_ms` since start, if it is one worth showing.
pub fn line(at_ms: u64, event: &Event) -> Option<String> {
    let text = match event {
        Event::Cluster(event) => cluster(event)?,
        Event::Driver(DriverEvent::Crashed { node, kind }) => {
            let what = match kind {
                CrashKind::ProcessCrash => "a process crash: its page cache is kept",
                CrashKind::PowerLoss => "a power loss: what was not yet on disk is lost",
                CrashKind::DiskReplaced => "a disk replacement: every log is gone",
            };
            format!("{node} down ({what})")
        }
        Event::Driver(DriverEvent::Restarted { node, incarnation }) => {
            format!("{node} restarted from its disk (start {incarnation})")
        }
        Event::Fault(text) => text.clone(),
    };
    Some(format!("{:>7.3}s  {text}", at_ms as f64 / 1000.0))
}

fn cluster(event: &ClusterEvent) -> Option<String> {
    let text = match event {
        ClusterEvent::BrokerRegistered {
            broker,
            broker_epoch,
        } => format!("broker-{broker} registered (broker epoch {broker_epoch})"),
        ClusterEvent::BrokerFenced { broker } => format!("broker-{broker} fenced"),
        ClusterEvent::BrokerUnfenced { broker } => format!("broker-{broker} unfenced"),
        ClusterEvent::TopicCreated { topic, replicas } => {
            format!(
                "topic {topic} created, {} partition(s), replicas {replicas:?}",
                replicas.len()
            )
        }
        ClusterEvent::LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            ..
        } => match leader {
            Some(leader) => {
                format!("{partition}: leader broker-{leader}, epoch {leader_epoch}, isr {isr:?}")
            }
            None => format!("{partition}: no leader (epoch {leader_epoch})"),
        },
        ClusterEvent::Group(event) => format!("{event:?}"),
        _ => return None,
    };
    Some(text)
}
