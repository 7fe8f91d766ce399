//! A finding in words: `kind: what happened`, made from its fields when shown.

use super::{Detail, Finding, Kind, PartitionState, Sighting, Source};
use std::fmt;

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.kind)?;
        match &self.detail {
            Detail::Sightings {
                partition,
                sightings,
            } => describe_sightings(f, self.kind, &partition.to_string(), sightings),
            Detail::Processing {
                group,
                partition,
                offset,
                value,
                times,
                ..
            } => match times {
                0 => write!(
                    f,
                    "{value} ({partition}@{offset}) was acknowledged, but group {group} never processed it"
                ),
                n => write!(f, "group {group} processed {value} ({partition}@{offset}) {n} times"),
            },
            Detail::Divergence(d) => write!(
                f,
                "broker-{} has {} at {}@{}, the leader broker-{} has {}",
                d.replica, d.replica_value, d.partition, d.offset, d.leader, d.leader_value
            ),
            Detail::LeaderTwice {
                partition,
                leader_epoch,
                first,
                first_ms,
                second,
                second_ms,
            } => write!(
                f,
                "{partition} leader epoch {leader_epoch} was led by broker-{first} (from {first_ms} ms) and by broker-{second} (from {second_ms} ms)"
            ),
            Detail::HighWatermarkBack {
                broker,
                partition,
                leader_epoch,
                before,
                after,
                time_ms,
            } => write!(
                f,
                "broker-{broker}, leading {partition} in epoch {leader_epoch}, moved its high watermark back from {before} to {after} at {time_ms} ms"
            ),
            Detail::AssignedTwice {
                group,
                generation,
                partition,
                members: [a, b],
                time_ms,
            } => write!(
                f,
                "group {group} generation {generation} (at {time_ms} ms) gave {partition} to both {a} and {b}"
            ),
            Detail::GenerationRestarted {
                group,
                generation,
                time_ms,
            } => write!(
                f,
                "group {group} generation {generation} started again at {time_ms} ms with another assignment"
            ),
            Detail::UnfencedCommit {
                group,
                member,
                generation,
                partition,
                offset,
                time_ms,
            } => write!(
                f,
                "group {group} persisted a commit of {partition}@{offset} at {time_ms} ms from {member}, which is not a member of generation {generation}"
            ),
            Detail::NotInSync {
                partitions,
                bound_ms,
                ..
            } => {
                let lagging: Vec<String> = partitions.iter().map(describe_state).collect();
                write!(
                    f,
                    "not every replica back in sync {} s after the heal: {}",
                    bound_ms / 1000,
                    lagging.join(", ")
                )
            }
            Detail::ProducerStuck { producer, .. } => {
                write!(f, "{producer} still waited for answers to its sends")
            }
            Detail::WaitTimedOut {
                what, waited_ms, ..
            } => write!(f, "gave up waiting for {what} after {} s", waited_ms / 1000),
            Detail::RunTimedOut { limit_ms } => write!(
                f,
                "the scenario did not finish within {} s of simulated time",
                limit_ms / 1000
            ),
            Detail::SetupFailed { what, .. } => f.write_str(what),
            Detail::Crash { message } => f.write_str(message),
            Detail::EmptyHistory { entries: 0 } => {
                f.write_str("the history is empty: the checkers had nothing to judge")
            }
            Detail::EmptyHistory { entries: 1 } => f.write_str(
                "the history holds no send and no poll, one other entry: the checkers had nothing to judge",
            ),
            Detail::EmptyHistory { entries } => write!(
                f,
                "the history holds no send and no poll, {entries} other entries: the checkers had nothing to judge"
            ),
            Detail::NothingAcknowledged { sends, polls } => write!(
                f,
                "{} and {}, but no send was acknowledged and no poll returned a record: the checkers had nothing to check",
                plural(*sends, "send"),
                plural(*polls, "poll")
            ),
        }
    }
}

fn describe_state(state: &PartitionState) -> String {
    let leader = state
        .leader
        .map_or("none".to_string(), |b| format!("broker-{b}"));
    format!("{} (leader {leader}, ISR {:?})", state.partition, state.isr)
}

/// The sentence of a log or delivery anomaly, from its sightings in the order
/// each checker gives them.
fn describe_sightings(
    f: &mut fmt::Formatter<'_>,
    kind: Kind,
    partition: &str,
    sightings: &[Sighting],
) -> fmt::Result {
    let (Some(first), Some(last)) = (sightings.first(), sightings.last()) else {
        return write!(f, "{partition}: no sightings"); // a finding read from a broken file
    };
    match kind {
        Kind::InconsistentOffsets => {
            let seen: Vec<String> = (sightings.iter())
                .map(|s| format!("{} ({})", s.value, s.how()))
                .collect();
            write!(
                f,
                "{partition}@{} was seen holding {} values: {}",
                first.at(),
                sightings.len(),
                seen.join(", ")
            )
        }
        Kind::Duplicate => {
            let seen: Vec<String> = (sightings.iter())
                .map(|s| format!("{partition}@{} ({})", s.at(), s.how()))
                .collect();
            write!(
                f,
                "{} is at {} offsets: {}",
                first.value,
                sightings.len(),
                seen.join(", ")
            )
        }
        Kind::LostWrite if first.at() < 0 => write!(
            f,
            "{} sent with acks=0 by {} at {} ms was never polled, and {} read {partition} to its end at {} ms (offset {}) without it",
            first.value,
            first.process,
            first.time_ms,
            last.process,
            last.time_ms,
            last.at()
        ),
        Kind::Unseen if first.at() < 0 => write!(
            f,
            "{} sent with acks=0 by {} at {} ms was never polled, and no read reached the end of {partition} (lost, or not consumed yet)",
            first.value, first.process, first.time_ms
        ),
        Kind::LostWrite if sightings.len() == 3 && last.source == Source::End => write!(
            f,
            "{} acked at {partition}@{} by {} at {} ms was polled by {} at {} ms, yet {} read {partition} to its end at {} ms: the log ends at offset {}",
            first.value,
            first.at(),
            first.process,
            first.time_ms,
            sightings[1].process,
            sightings[1].time_ms,
            last.process,
            last.time_ms,
            last.at()
        ),
        Kind::LostWrite if last.source == Source::End => write!(
            f,
            "{} acked at {partition}@{} by {} at {} ms was never polled, and {} read {partition} to its end at {} ms: the log ends at offset {}",
            first.value,
            first.at(),
            first.process,
            first.time_ms,
            last.process,
            last.time_ms,
            last.at()
        ),
        Kind::LostWrite => write!(
            f,
            "{} acked at {partition}@{} by {} at {} ms was never polled, though {} polled {partition} up to offset {} at {} ms",
            first.value,
            first.at(),
            first.process,
            first.time_ms,
            last.process,
            last.at(),
            last.time_ms
        ),
        Kind::Unseen => {
            let polls = match sightings.get(1) {
                Some(h) => format!(
                    "{} polled {partition} only up to offset {} at {} ms",
                    h.process,
                    h.at(),
                    h.time_ms
                ),
                None => format!("no consumer polled {partition} at all"),
            };
            write!(
                f,
                "{} acked at {partition}@{} by {} at {} ms was never polled; {polls} (lost, or not consumed yet)",
                first.value,
                first.at(),
                first.process,
                first.time_ms
            )
        }
        Kind::AbortedRead => write!(
            f,
            "{} was refused to {} at {} ms ({}), yet {} polled it at {partition}@{} at {} ms",
            first.value,
            first.process,
            first.time_ms,
            first.error.as_deref().unwrap_or("an error"),
            last.process,
            last.at(),
            last.time_ms
        ),
        Kind::PollSkip => {
            let skipped = &sightings[1..sightings.len() - 1];
            let offsets: Vec<String> = skipped.iter().map(|s| s.at().to_string()).collect();
            let values: Vec<&str> = skipped.iter().map(|s| s.value.as_str()).collect();
            write!(
                f,
                "{} polled {partition}@{} at {} ms, then {partition}@{} at {} ms, skipping offsets {} ({}) with no seek or reassignment between",
                first.process,
                first.at(),
                first.time_ms,
                last.at(),
                last.time_ms,
                offsets.join(", "),
                values.join(", ")
            )
        }
        Kind::NonmonotonicPoll => write!(
            f,
            "{} polled {partition}@{} at {} ms, then {partition}@{} at {} ms, with no seek or reassignment between",
            first.process,
            first.at(),
            first.time_ms,
            last.at(),
            last.time_ms
        ),
        Kind::NonmonotonicSend if last.source == Source::Ambiguous => write!(
            f,
            "{} sent {} after {} was acked at {partition}@{} at {} ms, yet {} ({}) was polled at the lower offset {partition}@{}",
            last.process,
            last.value,
            first.value,
            first.at(),
            first.time_ms,
            last.value,
            last.how(),
            last.at()
        ),
        Kind::NonmonotonicSend => write!(
            f,
            "{} sent {} after {} was acked at {partition}@{} at {} ms, yet {} was acked at the lower offset {partition}@{} at {} ms",
            last.process,
            last.value,
            first.value,
            first.at(),
            first.time_ms,
            last.value,
            last.at(),
            last.time_ms
        ),
        Kind::IntNonmonotonicSend => write!(
            f,
            "{} sent {} and then {} before {} was acknowledged, yet {} landed at {partition}@{} ({}), below {} at {partition}@{} ({})",
            last.process,
            first.value,
            last.value,
            first.value,
            last.value,
            last.at(),
            last.how(),
            first.value,
            first.at(),
            first.how()
        ),
        _ => {
            let seen: Vec<String> = (sightings.iter())
                .map(|s| format!("{} ({})", s.value, s.how()))
                .collect();
            write!(f, "{partition}: {}", seen.join(", "))
        }
    }
}

/// `1 send`, `3 sends`.
fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}
