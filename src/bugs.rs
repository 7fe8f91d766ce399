//! Kafka's famous bugs, as switches that bring each one back.
//!
//! Each of Kafka's worst correctness bugs was one rule written slightly wrong,
//! found years later, and fixed by a KIP or a JIRA. The model follows the fixed
//! rules; a [`Bug`] switched on puts one rule back as it was before its fix, or
//! removes one guard that the public TLA+ specifications of Kafka's replication
//! mark as load-bearing. A run with a switch on shows what the rule protects:
//! the swarm finds the failure, `shrink` cuts it to its essential faults, and
//! the switch's doc comment says what Kafka did before and after.
//!
//! Switches are configuration, as a Kafka setting is: [`Bugs`] travels in
//! `BrokerConfig` and `ControllerConfig` (`config`), and each rule
//! that has a switch reads it where it decides (`config.bugs.on(Bug::…)`),
//! next to the fixed code. Off, a switch costs one bit test.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One historic bug (or one removed guard) that a run can switch back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// **KIP-101** (KAFKA-1211), fixed in 0.11. Before: a follower that meets a
    /// new leader (or restarts) truncates its log to its own high watermark,
    /// which lags the leader's; if it is then elected, the acknowledged tail
    /// it cut is gone from every replica. After: it asks the leader where its
    /// latest leader epoch ended (`OffsetsForLeaderEpoch`) and cuts only what
    /// diverges.
    Kip101,
    /// **KIP-320** (KAFKA-6880), fixed in 2.1. Before: a fetch carried no
    /// leader epoch, and the leader served any follower that named it. A
    /// follower that missed leader changes (its metadata stalled: a zombie)
    /// kept fetching from its old log, which diverged from the new leader's
    /// in an epoch it never heard of, was counted caught up, rejoined the ISR,
    /// and could be elected. After: a fetch carries `current_leader_epoch`,
    /// and one from an older epoch is answered `FENCED_LEADER_EPOCH`.
    Kip320,
    /// **KIP-903** (KAFKA-14139), fixed in 3.5. Before: the leader let a
    /// follower back into the ISR, and the controller accepted the
    /// AlterPartition, whatever incarnation of the broker had fetched: a
    /// proposal made for a broker that then lost its disk and registered
    /// again could put the empty replica in the ISR, and elect it. After:
    /// fetches carry the broker epoch, AlterPartition carries each new ISR
    /// member's, and a stale one is refused.
    Kip903,
    /// **KIP-966** eligible leader replicas, in 4.0 behind
    /// `eligible.leader.replicas.version` (on for new clusters in 4.1). Before:
    /// the last ISR member keeps its place when it goes down, and if it comes
    /// back having lost its unflushed tail (a power loss) it is elected and
    /// the others truncate to it. After: the ISR may become empty, the
    /// replicas that were in it stay *eligible*, and a leader is chosen among
    /// them. The switch turns the feature off even where a scenario sets it.
    Kip966,
    /// **KAFKA-15583**, fixed in 3.7. Before: the leader advanced the high
    /// watermark with the ISR below `min.insync.replicas`, so records only
    /// the leader had (written with `acks=1`, or with `acks=all` just before
    /// the ISR shrank) became visible to consumers, and counted as committed.
    /// With eligible leader replicas (KIP-966) that breaks the ELR's promise:
    /// a replica that left an ISR below the minimum is trusted to hold every
    /// committed record, is elected, and what consumers read is gone. After:
    /// the high watermark stays still while the ISR is below the (effective)
    /// minimum (`Partition.maybeIncrementLeaderHW`, `isUnderMinIsr`).
    Kafka15583,
    /// **ISR expansion guard** (the TLA+ specifications of Kafka's replication,
    /// `kafka-specification`). The rule: a follower rejoins the ISR only once
    /// its log end reaches the leader's high watermark *and* the start of the
    /// leader's current epoch. Without it, a follower that has not yet fetched
    /// the leader's committed records joins the ISR, the high watermark is
    /// computed over it, and it can be elected missing committed records.
    IsrExpansionGuard,
    /// **Stale fetch response guard** (the TLA+ specifications of Kafka's
    /// replication; Kafka's `AbstractFetcherThread.processFetchRequest`).
    /// The rule: a follower applies a fetch response only if the partition
    /// is still fetching from the offset, and in the leader epoch, that the
    /// request named. Without it, a response held up while the follower met
    /// a new leader epoch of the same broker is appended: its records may be
    /// ones that broker has since cut from its log, and the follower keeps
    /// them below the high watermark, diverging from every other replica.
    StaleFetchResponseGuard,
    /// **AlterPartition epoch guard** (the TLA+ specifications of Kafka's
    /// replication; the controller's `INVALID_UPDATE_VERSION`). The rule: an
    /// ISR proposal names the partition epoch it was made on, and the
    /// controller refuses it if the partition changed since. Without it, a
    /// proposal delayed on its way to the controller lands after the
    /// controller removed a fenced broker from the ISR and the leader
    /// committed records without it: the proposal, a whole new ISR, puts the
    /// broker back, missing those records, and it can be elected.
    AlterPartitionEpochGuard,
    /// **KIP-279** (KAFKA-6361), fixed in 2.0. Before: the leader answered
    /// `OffsetsForLeaderEpoch` with an end offset alone, and the follower cut
    /// its log to min(that offset, its own log end). After two quick
    /// failovers a follower can hold records of an epoch the leader never
    /// had; the leader's end offset for it then lies past where the two logs
    /// part, and the follower keeps its own records below it: the replicas
    /// diverge for good. After: the answer names the epoch it is the end of,
    /// and a follower that lacks that epoch cuts back to the end of its own
    /// epoch below it and asks again.
    Kip279,
    /// **KAFKA-7164**, fixed in 2.1. Before: a follower told of a new leader
    /// epoch whose leader was the broker it already followed kept fetching
    /// without truncating (`Partition.makeFollower` reported no change). A
    /// follower that missed the epochs between (its metadata was stale)
    /// keeps records that leader has since cut and rewritten: the replicas
    /// diverge. After: every new leader epoch makes a follower find where its
    /// log and the leader's part.
    Kafka7164,
    /// **Registration incarnation guard** (the TLA+ specifications of KIP-903
    /// and KIP-966; Kafka's `ClusterControlManager.registerBroker` and
    /// `ReplicationControlManager.handleBrokerUncleanShutdown`). The rule:
    /// the controller tells a restarted broker by its new incarnation id and
    /// takes it out of the eligible leader replicas, since nothing vouches
    /// for a log that came back from an unclean shutdown. Without it, a
    /// broker whose disk was replaced while it was an eligible leader
    /// replica stays eligible and can be elected, empty.
    RegistrationIncarnationGuard,
    /// **KIP-320, the consumer's half** (KAFKA-6880), fixed in 2.1. Before: a
    /// consumer told of a new leader fetched on from its position. After an
    /// unclean election the new leader's log can part from the one the
    /// consumer read below that position; once it grows past it, the
    /// consumer silently skips the records written there, and a committed
    /// position is believed. After: a consumer whose leader epoch changed
    /// asks the new leader where the epoch of its last record ended
    /// (`OffsetsForLeaderEpoch`), and a position past it is truncated back.
    Kip320Consumer,
    /// **KIP-106**, changed in 0.11: the default of
    /// `unclean.leader.election.enable`. Before: true. A partition whose ISR
    /// had shrunk to its leader (the followers lagged, or were cut off) kept
    /// acknowledging `acks=all` writes alone, and when that leader failed a
    /// lagging replica was elected: every write since it fell behind was
    /// gone (Jepsen's 2013 Kafka analysis). After: false; the partition
    /// waits for a replica of its ISR. The switch changes the default only:
    /// a topic that sets the key keeps its setting.
    Kip106,
    /// **KIP-341** (KAFKA-7026), fixed in 2.3. Before: the eager sticky
    /// assignor's user data carried no generation, so a member dropped from
    /// the group (a long pause) came back claiming the partitions it owned
    /// before, which the group had since given to another member, and the
    /// assignor left each such partition with both: two members consumed it.
    /// After: claims carry their generation; the newest wins.
    Kip341,
    /// **Follower state reset guard** (the TLA+ specifications of Kafka's
    /// replication; Kafka's `Partition.makeLeader`, which resets every remote
    /// replica's state). The rule: a broker that becomes leader forgets what
    /// it knew of its followers; their log end offsets are unknown until they
    /// fetch in the new leader epoch. Without it, a broker that led before
    /// picks up its old view: a follower that has since truncated still
    /// counts with the log end it had, the high watermark passes records the
    /// follower lacks, and an `acks=all` write is acknowledged on the leader
    /// alone. Elected next, the follower loses it.
    FollowerStateResetGuard,
}

/// What a user reads about a bug: `kafkasim bugs` prints one line each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// The name `--bug NAME` and `bugs = [...]` take.
    pub name: &'static str,
    /// Where Kafka tracked it: a KIP, a JIRA, or the specification.
    pub source: &'static str,
    /// The Kafka version whose rule the model follows when the switch is off;
    /// `None` for a guard Kafka always had, which the switch removes.
    pub fixed_in: Option<&'static str>,
    /// What goes wrong, in one line.
    pub summary: &'static str,
}

impl Bug {
    /// Every switch, in the order `kafkasim bugs` lists them.
    pub const ALL: [Bug; 15] = [
        Bug::Kip101,
        Bug::Kip106,
        Bug::Kip279,
        Bug::Kip320,
        Bug::Kip320Consumer,
        Bug::Kafka7164,
        Bug::Kip341,
        Bug::Kip903,
        Bug::Kip966,
        Bug::Kafka15583,
        Bug::IsrExpansionGuard,
        Bug::StaleFetchResponseGuard,
        Bug::AlterPartitionEpochGuard,
        Bug::RegistrationIncarnationGuard,
        Bug::FollowerStateResetGuard,
    ];

    pub fn about(self) -> About {
        let (name, source, fixed_in, summary) = match self {
            Bug::Kip101 => (
                "kip-101",
                "KIP-101, KAFKA-1211",
                "0.11",
                "a follower truncates to its high watermark; elected, it has lost acknowledged records",
            ),
            Bug::Kip320 => (
                "kip-320",
                "KIP-320, KAFKA-6880",
                "2.1",
                "a zombie follower of an old leader epoch keeps fetching, rejoins the ISR and is elected",
            ),
            Bug::Kip320Consumer => (
                "kip-320-consumer",
                "KIP-320, KAFKA-6880",
                "2.1",
                "after an unclean election a consumer fetches on from its position and skips records",
            ),
            Bug::Kip903 => (
                "kip-903",
                "KIP-903, KAFKA-14139",
                "3.5",
                "a broker back with an empty disk rejoins the ISR on a stale proposal and is elected",
            ),
            Bug::Kip966 => (
                "kip-966",
                "KIP-966",
                "4.0 (feature), 4.1 (default)",
                "the last ISR member loses its unflushed tail in a power loss and is elected anyway",
            ),
            Bug::Kafka15583 => (
                "kafka-15583",
                "KAFKA-15583",
                "3.7",
                "the high watermark advances while the ISR is below min.insync.replicas",
            ),
            Bug::Kip106 => (
                "kip-106",
                "KIP-106, KAFKA-4623",
                "0.11",
                "unclean leader election is on by default: a lagging replica is elected and acknowledged writes are lost",
            ),
            Bug::Kip341 => (
                "kip-341",
                "KIP-341, KAFKA-7026",
                "2.3",
                "the sticky assignor honours a returning member's stale claim: two members own one partition",
            ),
            Bug::IsrExpansionGuard => (
                "isr-expansion-guard",
                "TLA+ specifications of Kafka's replication",
                "",
                "a follower rejoins the ISR before it reaches the high watermark",
            ),
            Bug::StaleFetchResponseGuard => (
                "stale-fetch-response-guard",
                "TLA+ specifications of Kafka's replication",
                "",
                "a follower appends a fetch response from an earlier leader epoch; its records were cut",
            ),
            Bug::AlterPartitionEpochGuard => (
                "alter-partition-epoch-guard",
                "TLA+ specifications of Kafka's replication",
                "",
                "a stale ISR proposal lands after the ISR shrank and puts back a replica missing records",
            ),
            Bug::Kip279 => (
                "kip-279",
                "KIP-279, KAFKA-6361",
                "2.0",
                "after quick failovers a follower truncates to an end offset past where its log parts from the leader's",
            ),
            Bug::Kafka7164 => (
                "kafka-7164",
                "KAFKA-7164",
                "2.1",
                "a follower that missed leader epochs skips truncation because its leader is the same broker",
            ),
            Bug::FollowerStateResetGuard => (
                "follower-state-reset-guard",
                "TLA+ specifications of Kafka's replication",
                "",
                "a new leader trusts what it knew of its followers when it led before; an acks=all write is acknowledged alone",
            ),
            Bug::RegistrationIncarnationGuard => (
                "registration-incarnation-guard",
                "TLA+ specifications of KIP-903 and KIP-966",
                "",
                "a broker back with an empty disk stays an eligible leader replica and is elected",
            ),
        };
        About {
            name,
            source,
            fixed_in: (!fixed_in.is_empty()).then_some(fixed_in),
            summary,
        }
    }

    /// The name `--bug` and scenario files take.
    pub fn name(self) -> &'static str {
        self.about().name
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Bug {
    type Err = String;

    fn from_str(text: &str) -> Result<Bug, String> {
        Bug::ALL
            .into_iter()
            .find(|bug| bug.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                format!(
                    "unknown bug \"{}\"; bugs: {} (see `kafkasim bugs`)",
                    text.escape_debug(),
                    names.join(", ")
                )
            })
    }
}

/// Written by its name (`"kip-101"`), as `--bug` and scenario files take it.
impl Serialize for Bug {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Bug {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Bug, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The switches a run has on; none by default (every rule as fixed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Bugs(u32);

impl Bugs {
    /// Every rule as Kafka fixed it.
    pub const NONE: Bugs = Bugs(0);

    /// Whether `bug` is switched on.
    pub const fn on(self, bug: Bug) -> bool {
        self.0 & bug.bit() != 0
    }

    /// These switches and `bug`.
    #[must_use]
    pub const fn with(self, bug: Bug) -> Bugs {
        Bugs(self.0 | bug.bit())
    }

    /// These switches without `bug`.
    #[must_use]
    pub const fn without(self, bug: Bug) -> Bugs {
        Bugs(self.0 & !bug.bit())
    }

    /// The switches on in either.
    #[must_use]
    pub const fn union(self, other: Bugs) -> Bugs {
        Bugs(self.0 | other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The switches on, in `Bug::ALL` order.
    pub fn iter(self) -> impl Iterator<Item = Bug> {
        Bug::ALL.into_iter().filter(move |bug| self.on(*bug))
    }
}

impl FromIterator<Bug> for Bugs {
    fn from_iter<I: IntoIterator<Item = Bug>>(bugs: I) -> Bugs {
        bugs.into_iter().fold(Bugs::NONE, Bugs::with)
    }
}

/// `kip-101, kafka-15583`, or `none`.
impl fmt::Display for Bugs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.iter().map(Bug::name).collect();
        f.write_str(&names.join(", "))
    }
}

/// Written as the list of names, as scenario files write it.
impl Serialize for Bugs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Bugs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Bugs, D::Error> {
        Ok(Vec::<Bug>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for bug in Bug::ALL {
            assert_eq!(bug.name().parse::<Bug>(), Ok(bug));
            assert_eq!(
                Bug::ALL.iter().filter(|b| b.name() == bug.name()).count(),
                1
            );
            let about = bug.about();
            assert!(!about.summary.is_empty());
            assert!(about.fixed_in.is_none_or(|v| !v.is_empty()));
        }
        let unknown = "kip-1".parse::<Bug>().unwrap_err();
        assert!(unknown.contains("kip-101"), "{unknown}");
    }

    #[test]
    fn a_set_holds_what_was_switched_on_and_no_more() {
        let bugs: Bugs = [Bug::Kafka15583, Bug::Kip101].into_iter().collect();
        assert!(bugs.on(Bug::Kip101) && bugs.on(Bug::Kafka15583));
        assert!(!bugs.on(Bug::Kip903));
        assert_eq!(bugs.to_string(), "kip-101, kafka-15583");
        assert_eq!(Bugs::NONE.to_string(), "none");
        assert_eq!(
            bugs.iter().collect::<Vec<_>>(),
            [Bug::Kip101, Bug::Kafka15583]
        );
    }
}
