//! Carrying out a schedule on a running cluster: each fault at its time, each
//! undone when it ends or, at the latest, by the heal at the end of the phase.
//!
//! A schedule is data ([`Schedule`]): the same one drawn by a swarm, written in
//! a scenario file or shrunk runs the same way, step by step, through the one
//! fault entry point ([`Cluster::start_fault`]).

use crate::cluster::Cluster;
use crate::faults::Started;
use crate::time::{now_ms, sleep_until_ms};
use crate::trace::Tone;
use kafkasim_check::fault::{Fault, Schedule};
use std::collections::BTreeMap;

/// Runs `schedule` from now: each fault at its time, each undone when it ends.
/// At the end of the safety phase, the heal undoes every fault still on; when
/// this returns, every broker and the controller run and every link is whole.
pub async fn run_safety_phase(cluster: &Cluster, schedule: &Schedule) {
    let start_ms = now_ms();
    let text = "safety phase starts: the schedule's times count from here";
    cluster
        .trace()
        .timeline_toned(start_ms, "nemesis", Tone::Notice, text);
    let mut steps = steps(schedule);
    let heal_at = steps.partition_point(|s| s.at_ms < schedule.phase_ms);
    let healing = steps.split_off(heal_at);
    let mut on: BTreeMap<usize, Started> = BTreeMap::new();
    for step in &steps {
        sleep_until_ms(start_ms + step.at_ms).await;
        step.take(cluster, &mut on);
    }
    sleep_until_ms(start_ms + schedule.phase_ms).await;
    let still_on = (healing.iter())
        .filter(|s| s.turn == Turn::End && on.contains_key(&s.index))
        .count();
    cluster.trace().timeline_toned(
        now_ms(),
        "nemesis",
        Tone::Notice,
        format!("safety phase over; heal: undo the {still_on} fault(s) still on"),
    );
    for step in &healing {
        if step.turn == Turn::End {
            step.take(cluster, &mut on);
        }
    }
}

/// Starting or undoing a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Turn {
    /// Ends sort first: at equal times, what ends ends before what begins.
    End,
    Start,
}

#[derive(Debug)]
pub(crate) struct Step<'a> {
    pub(crate) at_ms: u64,
    pub(crate) turn: Turn,
    /// The fault's place in the schedule.
    index: usize,
    fault: &'a Fault,
}

/// The schedule as a list of steps in time order.
pub(crate) fn steps(schedule: &Schedule) -> Vec<Step<'_>> {
    let mut steps: Vec<Step<'_>> = Vec::new();
    for (index, fault) in schedule.faults.iter().enumerate() {
        let (at_ms, end_ms) = (fault.at_ms, fault.end_ms());
        steps.push(Step {
            at_ms,
            turn: Turn::Start,
            index,
            fault,
        });
        steps.push(Step {
            at_ms: end_ms,
            turn: Turn::End,
            index,
            fault,
        });
    }
    steps.sort_by_key(|s| (s.at_ms, s.turn, s.index));
    steps
}

impl Step<'_> {
    /// Starts the fault, or ends it if it started (a fault that named nobody
    /// has nothing to end).
    fn take(&self, cluster: &Cluster, on: &mut BTreeMap<usize, Started>) {
        match self.turn {
            Turn::Start => {
                if let Some(started) = cluster.start_fault(&self.fault.action) {
                    on.insert(self.index, started);
                }
            }
            Turn::End => {
                if let Some(started) = on.remove(&self.index) {
                    cluster.end_fault(started);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkasim_check::fault::{Action, Target};

    #[test]
    fn ends_come_before_starts_at_the_same_time_and_in_schedule_order() {
        let crash = |at_ms, for_ms| Fault {
            at_ms,
            action: Action::Crash {
                node: Target::Broker(1),
            },
            for_ms,
        };
        let schedule = Schedule {
            phase_ms: 60_000,
            faults: vec![crash(1_000, 2_000), crash(3_000, 1_000)],
        };
        let order: Vec<(u64, Turn, usize)> = (steps(&schedule).iter())
            .map(|s| (s.at_ms, s.turn, s.index))
            .collect();
        assert_eq!(
            order,
            [
                (1_000, Turn::Start, 0),
                (3_000, Turn::End, 0),
                (3_000, Turn::Start, 1),
                (4_000, Turn::End, 1)
            ]
        );
    }
}
