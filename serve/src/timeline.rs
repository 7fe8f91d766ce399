//! The server's timeline: one line per cluster event a person starting a
//! server wants to see (brokers registering, topics created, leaders elected,
//! groups rebalancing). The other events (appends, high watermarks) are
//! left out: a produce would print several lines.

use kafkasim::event::ClusterEvent;

/// The line for `event` at `at_ms` since start, if it is one worth showing.
pub fn line(at_ms: u64, event: &ClusterEvent) -> Option<String> {
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
    Some(format!("{:>7.3}s  {text}", at_ms as f64 / 1000.0))
}
