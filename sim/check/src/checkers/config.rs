//! Which anomalies a configuration allows, and the verdict over all checkers.
//!
//! Kafka promises different things under different settings. `acks=1` promises
//! only that the leader has a write, so a failover may lose it; without
//! idempotence a retried send may land twice. An anomaly a configuration allows is
//! still reported, as "expected for this config", so a reader sees what the
//! setting cost; only the others fail the run. A safe configuration (`acks=all`,
//! `min.insync.replicas=2` of 3 replicas, idempotence, clean elections, no power
//! loss) allows nothing at all.
//!
//! Each rule below names the anomalies it allows and says why, in the words the
//! verdict prints.

use super::{
    aborted_read, duplicate, inconsistent_offsets, lost_write, nonmonotonic_poll,
    nonmonotonic_send, poll_skip, unseen, Anomaly, AnomalyKind, Facts,
};
use crate::history::History;
use kafkasim::protocol::Acks;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use AnomalyKind::{
    AbortedRead, Duplicate, InconsistentOffsets, LostWrite, NonmonotonicPoll, NonmonotonicSend,
    Unseen,
};

/// What the checkers must know of a run's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Config {
    /// The producers' `acks`.
    pub acks: Acks,
    /// The producers' `enable.idempotence`.
    pub idempotence: bool,
    /// The brokers' `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// Whether the run's faults include power losses, which lose what a broker
    /// had not flushed (Kafka does not fsync each write; it counts on replicas).
    pub power_loss: bool,
    /// How the run's consumer groups commit, if it has any.
    pub group: Option<DeliveryMode>,
}

impl Config {
    /// The configuration under which Kafka promises that no anomaly happens.
    /// (`min.insync.replicas=2` of 3 is a cluster setting; with clean elections
    /// and no power loss, `acks=all` loses nothing even below it, it only stops
    /// accepting writes sooner or later.)
    pub fn safe() -> Config {
        Config {
            acks: Acks::All,
            idempotence: true,
            unclean_leader_election: false,
            power_loss: false,
            group: None,
        }
    }
}

/// When a consumer group's application commits what it polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    /// Commit after processing: a crash in between redelivers (duplicates).
    AtLeastOnce,
    /// Commit before processing: a crash in between skips (losses).
    AtMostOnce,
}

/// A rule: a setting, the anomalies it allows, and why.
struct Rule {
    kinds: &'static [AnomalyKind],
    reason: &'static str,
}

/// `acks=1` (and `acks=0`): the leader acks a write only it has. If it fails
/// before a follower copies the write, the new leader never had it (lost, or
/// unseen when nothing was polled past it), hands its offset to the next write
/// (inconsistent offsets), and may give a later send a lower offset.
const LEADER_ONLY_ACKS: Rule = Rule {
    kinds: &[LostWrite, Unseen, InconsistentOffsets, NonmonotonicSend],
    reason: "acks=1 acknowledges a write only the leader has, and a failover can lose it",
};

/// `enable.idempotence=false`: a send whose response was lost is retried, and
/// the broker, which cannot recognise the retry, appends the value again.
const NO_IDEMPOTENCE: Rule = Rule {
    kinds: &[Duplicate],
    reason: "without idempotence a retried send can be appended twice",
};

/// `unclean.leader.election.enable=true`: a replica outside the ISR may lead,
/// truncating committed records a reader may already have polled. Their offsets
/// are reused, a consumer whose position falls off the end is reset to an
/// earlier offset, later sends may land lower, and a send whose first copy was
/// polled and then truncated may be retried to a new offset, or refused
/// (`OUT_OF_ORDER_SEQUENCE_NUMBER`: the new leader lacks the sequences before
/// it), so a refused send may have been polled.
const UNCLEAN_ELECTION: Rule = Rule {
    kinds: &[
        LostWrite,
        Unseen,
        InconsistentOffsets,
        NonmonotonicSend,
        NonmonotonicPoll,
        Duplicate,
        AbortedRead,
    ],
    reason: "an unclean election can elect a replica that lacks committed records",
};

/// Power losses: a broker that restarts keeps only what it flushed, so when
/// every replica of a write loses power the write is gone, with the same
/// consequences as an unclean election.
const POWER_LOSS: Rule = Rule {
    kinds: UNCLEAN_ELECTION.kinds,
    reason: "a power loss keeps only what a broker flushed, and Kafka does not flush each write",
};

/// Anomalies a configuration allows, each with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedAnomalies(BTreeMap<AnomalyKind, Vec<&'static str>>);

impl AllowedAnomalies {
    /// Nothing allowed: every anomaly fails.
    pub fn none() -> AllowedAnomalies {
        AllowedAnomalies::default()
    }

    /// What `config` allows, by the rules above.
    ///
    /// A consumer group adds no rule: a new owner re-polling from the committed
    /// offset, and an at-least-once redelivery, are not anomalies of these
    /// checkers at all (each consumer is compared only with itself, from its last
    /// reassignment; a redelivered record sits at its one offset). What a group's
    /// delivery mode allows is judged by the group checkers, over processing.
    pub fn for_config(config: &Config) -> AllowedAnomalies {
        let rules = [
            (config.acks != Acks::All, LEADER_ONLY_ACKS),
            (!config.idempotence, NO_IDEMPOTENCE),
            (config.unclean_leader_election, UNCLEAN_ELECTION),
            (config.power_loss, POWER_LOSS),
        ];
        let mut allowed = AllowedAnomalies::none();
        for (_, rule) in rules.iter().filter(|(applies, _)| *applies) {
            for &kind in rule.kinds {
                allowed.0.entry(kind).or_default().push(rule.reason);
            }
        }
        allowed
    }

    /// Why `kind` is allowed, or `None` when it fails the run.
    pub fn reason(&self, kind: AnomalyKind) -> Option<String> {
        self.0.get(&kind).map(|reasons| reasons.join("; "))
    }
}

/// An anomaly the configuration allows, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowedAnomaly {
    pub anomaly: Anomaly,
    pub reason: String,
}

/// What a failing anomaly says about the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Something the configuration promised did not hold.
    Correctness,
    /// Only unseen writes: they may be lost, or not delivered in time.
    Liveness,
}

/// Every checker's findings, split into the failing and the allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub failing: Vec<Anomaly>,
    pub allowed: Vec<AllowedAnomaly>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.failing.is_empty()
    }

    /// `None` when the run passed; `Liveness` when only unseen writes fail it.
    pub fn failure(&self) -> Option<FailureKind> {
        self.failing
            .iter()
            .map(|a| match a.kind {
                AnomalyKind::Unseen => FailureKind::Liveness,
                _ => FailureKind::Correctness,
            })
            .min()
    }
}

/// Runs every log and delivery checker over `history` and splits what they find.
pub fn check_all(history: &History, allowed: &AllowedAnomalies) -> CheckReport {
    let checkers: [fn(&Facts<'_>) -> Vec<Anomaly>; 8] = [
        inconsistent_offsets,
        duplicate,
        lost_write,
        unseen,
        poll_skip,
        nonmonotonic_poll,
        nonmonotonic_send,
        aborted_read,
    ];
    let mut report = CheckReport::default();
    let anomalies: Vec<Anomaly> = history.with_entries(|entries| {
        let facts = Facts::of(entries);
        checkers
            .iter()
            .flat_map(|checker| checker(&facts))
            .collect()
    });
    for anomaly in anomalies {
        match allowed.reason(anomaly.kind) {
            Some(reason) => report.allowed.push(AllowedAnomaly { anomaly, reason }),
            None => report.failing.push(anomaly),
        }
    }
    report
}

/// One line per anomaly, the failing first.
impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.failing.is_empty() && self.allowed.is_empty() {
            return writeln!(f, "no anomalies");
        }
        for anomaly in &self.failing {
            writeln!(f, "FAILS {anomaly}")?;
        }
        for AllowedAnomaly { anomaly, reason } in &self.allowed {
            writeln!(f, "expected for this config ({reason}): {anomaly}")?;
        }
        Ok(())
    }
}
