//! Carrying out a schedule on a running cluster: each fault at its time, each
//! undone when it ends or, at the latest, by the heal at the end of the phase.

use super::{Fault, Schedule};
use crate::cluster::Cluster;
use crate::driver::now_ms;
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use std::collections::BTreeMap;
use std::time::Duration;

/// Runs `schedule` from now: each fault at its time, each undone when it ends.
/// At the end of the safety phase, the heal undoes every fault still on; when
/// this returns, every broker and the controller run and every link is whole.
pub async fn run_safety_phase(cluster: &Cluster, schedule: &Schedule) {
    let start_ms = now_ms();
    let text = "safety phase starts: the schedule's times count from here";
    cluster.trace().timeline(start_ms, "nemesis", text);
    let mut steps = steps(schedule);
    let heal_at = steps.partition_point(|s| s.at_ms < schedule.phase_ms);
    let healing = steps.split_off(heal_at);
    let mut isolated = IsolatedLeaders::new();
    for step in &steps {
        sleep_until(start_ms + step.at_ms).await;
        step.carry_out(cluster, &mut isolated);
    }
    sleep_until(start_ms + schedule.phase_ms).await;
    let still_on = healing.len();
    cluster.trace().timeline(
        now_ms(),
        "nemesis",
        format!("safety phase over; heal: undo the {still_on} fault(s) still on"),
    );
    for step in &healing {
        step.carry_out(cluster, &mut isolated);
    }
}

/// The broker each `isolate-leader` fault isolated when it started, by the
/// fault's place in the schedule: its end heals that broker.
type IsolatedLeaders = BTreeMap<usize, BrokerId>;

/// Starting or undoing a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Action {
    /// Undoings sort first: at equal times, what ends ends before what begins.
    Undo,
    Start,
}

#[derive(Debug)]
pub(super) struct Step<'a> {
    pub(super) at_ms: u64,
    pub(super) action: Action,
    /// The fault's place in the schedule.
    index: usize,
    fault: &'a Fault,
}

/// The schedule as a list of steps in time order.
pub(super) fn steps(schedule: &Schedule) -> Vec<Step<'_>> {
    let mut steps: Vec<(u64, Action, usize, &Fault)> = Vec::new();
    for (index, timed) in schedule.faults.iter().enumerate() {
        steps.push((timed.at_ms, Action::Start, index, &timed.fault));
        steps.push((timed.end_ms(), Action::Undo, index, &timed.fault));
    }
    steps.sort_by_key(|&(at_ms, action, index, _)| (at_ms, action, index));
    (steps.into_iter())
        .map(|(at_ms, action, index, fault)| Step {
            at_ms,
            action,
            index,
            fault,
        })
        .collect()
}

impl Step<'_> {
    fn carry_out(&self, cluster: &Cluster, isolated: &mut IsolatedLeaders) {
        match (self.action, self.fault) {
            (Action::Start, Fault::BrokerCrash { broker, kind, .. }) => {
                cluster.crash_broker(*broker, *kind)
            }
            (Action::Undo, Fault::BrokerCrash { broker, .. }) => cluster.restart_broker(*broker),
            (Action::Start, Fault::BrokerPause { broker, .. }) => cluster.pause_broker(*broker),
            (Action::Undo, Fault::BrokerPause { broker, .. }) => cluster.resume_broker(*broker),
            (Action::Start, Fault::BrokerIsolation { broker, .. }) => {
                cluster.isolate_broker(*broker)
            }
            (Action::Undo, Fault::BrokerIsolation { broker, .. }) => cluster.heal_broker(*broker),
            (Action::Start, Fault::LinkCut { a, b, .. }) => {
                cluster.cut_link(NodeId::Broker(*a), NodeId::Broker(*b))
            }
            (Action::Undo, Fault::LinkCut { a, b, .. }) => {
                cluster.restore_link(NodeId::Broker(*a), NodeId::Broker(*b))
            }
            (Action::Start, Fault::ControllerCrash { .. }) => cluster.crash_controller(),
            (Action::Undo, Fault::ControllerCrash { .. }) => cluster.restart_controller(),
            (Action::Start, Fault::ClientCut { client, broker, .. }) => {
                cluster.cut_client(client, *broker)
            }
            (Action::Undo, Fault::ClientCut { client, broker, .. }) => {
                cluster.restore_client(client, *broker)
            }
            (Action::Start, Fault::ClientPause { client, .. }) => cluster.pause_client(client),
            (Action::Undo, Fault::ClientPause { client, .. }) => cluster.resume_client(client),
            (Action::Start, Fault::IsolateController { .. }) => cluster.isolate_controller(),
            (Action::Undo, Fault::IsolateController { .. }) => cluster.heal_controller(),
            (
                Action::Start,
                Fault::IsolateLeader {
                    topic, partition, ..
                },
            ) => {
                let partition = TopicPartition::new(topic.clone(), *partition);
                if let Some(leader) = cluster.isolate_leader(&partition) {
                    isolated.insert(self.index, leader);
                }
            }
            (Action::Undo, Fault::IsolateLeader { .. }) => {
                if let Some(leader) = isolated.remove(&self.index) {
                    cluster.heal_broker(leader);
                }
            }
            (Action::Start, Fault::Split { minority, .. }) => cluster.split(minority),
            (Action::Undo, Fault::Split { minority, .. }) => cluster.heal_split(minority),
            (Action::Start, Fault::OneWay { from, to, .. }) => cluster.cut_one_way(*from, *to),
            (Action::Undo, Fault::OneWay { from, to, .. }) => cluster.restore_one_way(*from, *to),
            (Action::Start, Fault::SlowNetwork { extra_ms, .. }) => cluster.slow_network(*extra_ms),
            (Action::Undo, Fault::SlowNetwork { extra_ms, .. }) => {
                cluster.restore_network_speed(*extra_ms)
            }
            (Action::Start, Fault::FlakyLink { a, b, .. }) => cluster.flaky_link(*a, *b),
            (Action::Undo, Fault::FlakyLink { a, b, .. }) => cluster.steady_link(*a, *b),
        }
    }
}

async fn sleep_until(at_ms: u64) {
    let now = now_ms();
    if at_ms > now {
        madsim::time::sleep(Duration::from_millis(at_ms - now)).await;
    }
}
