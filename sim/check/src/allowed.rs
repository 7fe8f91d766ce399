//! Which findings a run's settings allow, and why.
//!
//! Kafka promises different things under different settings. `acks=1` promises
//! only that the leader has a write, so a failover may lose it; without
//! idempotence a retried send may land twice. A finding a configuration allows
//! is still reported, as "expected for this config", so a reader sees what the
//! setting cost; only the others fail the run. A safe configuration (`acks=all`,
//! `min.insync.replicas=2` of 3 replicas, idempotence, clean elections, no power
//! loss) allows nothing at all.
//!
//! A finding about sends is judged by the settings of the producers whose sends
//! it is about, when the history names them: in a run that mixes `acks=1` and
//! `acks=all` producers, the `acks=1` producer's lost write is allowed and the
//! `acks=all` producer's is not. A lost or unseen write concerns its own send
//! only; the other findings concern every send they show (an offset holding
//! an `acks=1` record and an `acks=all` one may be the `acks=1` record's loss).
//! Without names (a history written by hand), the run's weakest settings judge.
//!
//! Replica divergence, the node-event invariants and crashes are never allowed:
//! Kafka keeps them under every setting, so a violation is a bug in the model.

use crate::finding::{Allowance, Detail, Finding, Kind};
pub use crate::history::DeliveryMode;
use crate::history::{ClientEvent, Entry};
use kafkasim::protocol::Acks;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use Kind::{
    AbortedRead, Duplicate, InconsistentOffsets, IntNonmonotonicSend, LostWrite, NeverProcessed,
    NonmonotonicPoll, NonmonotonicSend, ProcessedAgain, Unseen,
};

/// What the judge must know of a run's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The weakest `acks` of the run's producers.
    pub acks: Acks,
    /// Whether every producer is idempotent (`enable.idempotence`).
    pub idempotence: bool,
    /// Whether any topic has `unclean.leader.election.enable=true`.
    pub unclean_leader_election: bool,
    /// Whether a broker lost power during the run, losing what it had not
    /// flushed (Kafka does not fsync each write; it counts on replicas).
    pub power_loss: bool,
    /// Whether the cluster keeps eligible leader replicas (KIP-966): then a
    /// power loss costs no committed write, but a partition whose replicas
    /// all came back from unclean shutdowns stays offline.
    #[serde(default)]
    pub eligible_leader_replicas: bool,
    /// How each consumer group's application commits what it processes.
    pub groups: BTreeMap<String, DeliveryMode>,
    /// Each producer's settings, by process: what its own sends were promised.
    #[serde(default)]
    pub producers: BTreeMap<String, ProducerSettings>,
}

/// What a producer's acknowledgements promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerSettings {
    pub acks: Acks,
    pub idempotence: bool,
}

impl Config {
    /// The configuration under which Kafka promises that no anomaly happens.
    pub fn safe() -> Config {
        Config {
            acks: Acks::All,
            idempotence: true,
            unclean_leader_election: false,
            power_loss: false,
            eligible_leader_replicas: false,
            groups: BTreeMap::new(),
            producers: BTreeMap::new(),
        }
    }

    /// What the history itself says: the producers' settings (each one's, the
    /// weakest `acks`, whether all are idempotent), the groups its consumers joined and
    /// how their applications commit (at-least-once unless one said otherwise).
    /// Topic settings and power losses are not in a history: the driver sets those.
    pub fn of_history(entries: &[Entry]) -> Config {
        let mut config = Config::safe();
        for entry in entries {
            let Entry::Event { event, process, .. } = entry else {
                continue;
            };
            match event {
                ClientEvent::Producer { acks, idempotence } => {
                    config.acks = weakest(config.acks, *acks);
                    config.idempotence &= idempotence;
                    let settings = ProducerSettings {
                        acks: *acks,
                        idempotence: *idempotence,
                    };
                    config.producers.insert(process.clone(), settings);
                }
                ClientEvent::Subscribed { group, .. } => {
                    let mode = DeliveryMode::AtLeastOnce;
                    config.groups.entry(group.clone()).or_insert(mode);
                }
                ClientEvent::Delivery { group, mode } => {
                    config.groups.insert(group.clone(), *mode);
                }
                _ => {}
            }
        }
        config
    }

    /// Why this configuration allows `finding`; empty: it fails the run.
    pub fn allowances(&self, finding: &Finding) -> Vec<Allowance> {
        let kind = finding.kind;
        let promised = self.promised(finding);
        let mut why = Vec::new();
        let mut allow = |applies: bool, kinds: &[Kind], allowance: Allowance| {
            if applies && kinds.contains(&kind) {
                why.push(allowance);
            }
        };
        allow(
            promised.acks == Acks::Leader,
            LEADER_ONLY_ACKS,
            Allowance::LeaderOnlyAcks,
        );
        allow(promised.acks == Acks::None, NO_ACKS, Allowance::NoAcks);
        let no_idempotence = !promised.idempotence;
        allow(no_idempotence, NO_IDEMPOTENCE, Allowance::NoIdempotence);
        allow(
            self.unclean_leader_election,
            LOSSY,
            Allowance::UncleanElection,
        );
        let elr = self.eligible_leader_replicas;
        allow(self.power_loss && !elr, LOSSY, Allowance::PowerLoss);
        allow(self.power_loss && elr, OFFLINE, Allowance::PowerLossOffline);
        if let Detail::Processing { group, .. } = &finding.detail {
            let mode = self.groups.get(group).copied();
            let mode = mode.unwrap_or(DeliveryMode::AtLeastOnce);
            let at_least_once = mode == DeliveryMode::AtLeastOnce;
            allow(at_least_once, &[ProcessedAgain], Allowance::AtLeastOnce);
            allow(!at_least_once, &[ProcessedAgain], Allowance::FailedCommit);
            allow(!at_least_once, &[NeverProcessed], Allowance::AtMostOnce);
        }
        why
    }

    /// The promises the sends a finding is about were made with: the weakest
    /// `acks` of their producers, and whether all are idempotent; the run's
    /// own when the finding names no producer this configuration knows.
    fn promised(&self, finding: &Finding) -> ProducerSettings {
        let run = ProducerSettings {
            acks: self.acks,
            idempotence: self.idempotence,
        };
        let Detail::Sightings { sightings, .. } = &finding.detail else {
            return run;
        };
        // A lost or unseen write is its own send's (the first sighting); the
        // others are every send they show.
        let about = match finding.kind {
            LostWrite | Unseen => &sightings[..sightings.len().min(1)],
            _ => &sightings[..],
        };
        let producers: Vec<ProducerSettings> = (about.iter())
            .filter_map(|s| self.producers.get(s.producer.as_deref()?).copied())
            .collect();
        if producers.is_empty() {
            return run;
        }
        ProducerSettings {
            acks: (producers.iter()).fold(Acks::All, |acks, p| weakest(acks, p.acks)),
            idempotence: producers.iter().all(|p| p.idempotence),
        }
    }
}

/// Without idempotence the broker cannot tell a retry from a new record: a
/// retried send can land twice, and with `max.in.flight.requests.per.connection`
/// above 1 a retried batch can land behind a later one that was in flight with
/// it (Kafka's producer documentation of `retries` says so): the first request
/// fails, the second is appended, the first is retried and appended after it.
/// A send whose answer never came may still be appended after later ones, so
/// it counts as in flight with them.
///
/// An idempotent producer has at most 5 requests in flight (it refuses a
/// larger `max.in.flight.requests.per.connection`), numbers each partition's
/// batches, and the leader appends a batch only right after the one before
/// it (`OUT_OF_ORDER_SEQUENCE_NUMBER` otherwise), so its sends keep their
/// order: `int-nonmonotonic-send` fails a run whose producers are idempotent.
/// (With one request in flight a producer keeps its order even without
/// idempotence; a history does not record that setting, so the judge allows
/// the reordering to every producer without idempotence.)
const NO_IDEMPOTENCE: &[Kind] = &[Duplicate, IntNonmonotonicSend];

/// `acks=1` (and `acks=0`): the leader acks a write only it has. If it fails
/// before a follower copies the write, the new leader never had it (lost, or
/// unseen when nothing was polled past it), hands its offset to the next write
/// (inconsistent offsets), and may give a later send a lower offset, whether
/// it was sent after the lost one was acked or in flight with it.
const LEADER_ONLY_ACKS: &[Kind] = &[
    LostWrite,
    Unseen,
    InconsistentOffsets,
    NonmonotonicSend,
    IntNonmonotonicSend,
];

/// `acks=0`: what `acks=1` allows, and more: a send can be lost even with no
/// failover (the leader was down, or refused it), and without an answer a
/// reordering cannot be seen either.
const NO_ACKS: &[Kind] = &[
    LostWrite,
    Unseen,
    InconsistentOffsets,
    NonmonotonicSend,
    IntNonmonotonicSend,
];

/// An unclean election, or a power loss of every replica of a write: a replica
/// lacking committed records leads, truncating records a reader may already
/// have polled. Their offsets are reused, a consumer whose position falls off
/// the end is reset to an earlier offset, later sends may land lower, and a send
/// whose first copy was polled and then truncated may be retried to a new
/// offset, or refused (`OUT_OF_ORDER_SEQUENCE_NUMBER`: the new leader lacks the
/// sequences before it), so a refused send may have been polled.
const LOSSY: &[Kind] = &[
    LostWrite,
    Unseen,
    InconsistentOffsets,
    NonmonotonicSend,
    IntNonmonotonicSend,
    NonmonotonicPoll,
    Duplicate,
    AbortedRead,
];

/// With eligible leader replicas, what a partition whose replicas all came
/// back from unclean shutdowns shows while it waits offline (KIP-966 trades
/// availability for the committed writes): acknowledged records no one can
/// read or process, and replicas that cannot get back in sync.
const OFFLINE: &[Kind] = &[Unseen, NeverProcessed, Kind::NotInSync];

/// The weaker of two `acks`: the one that promises less.
pub fn weakest(a: Acks, b: Acks) -> Acks {
    let rank = |acks: Acks| match acks {
        Acks::None => 0,
        Acks::Leader => 1,
        Acks::All => 2,
    };
    if rank(b) < rank(a) {
        b
    } else {
        a
    }
}
