//! `standard`: the swarm scenario. A safe configuration under faults the seed
//! draws; every acknowledged record must be kept, and processed.
//!
//! It is a [`Workload`] (see [`Workload::standard`] for its shape, and the
//! `workload` module for its phases and how a run is judged): three brokers,
//! topic `events` with 6 partitions, RF 3 and `min.insync.replicas` 2; two
//! idempotent `acks=all` producers; a group of three committing after
//! processing; 60 s of faults drawn by the [`nemesis`](crate::nemesis) under
//! [`Profile::SAFE`](crate::nemesis::Profile::SAFE), printed first on the
//! timeline; then heal, and up to 60 s to recover.

use super::workload::Workload;
use super::{Body, Scenario};

pub const STANDARD: Scenario = Scenario {
    name: "standard",
    summary: "swarm: 6 partitions (RF 3, min ISR 2), 2 idempotent producers, a group of 3; 60 s of faults drawn from the seed, heal, then every acknowledged record must be kept and processed",
    body: Body::BuiltIn(Workload::standard),
};

pub const REPLICATED: Scenario = Scenario {
    name: "replicated",
    summary: "3 partitions (RF 3, min ISR 2), an idempotent producer, a group of 2; broker-1 crashes for 12 s: failover, ISR shrink, a new group coordinator, catch-up",
    body: Body::BuiltIn(Workload::replicated),
};

pub const GROUPS: Scenario = Scenario {
    name: "groups",
    summary: "a group of 3 shares 6 partitions; consumer-2 stalls past its session: rebalance, a zombie's refused commit, and back",
    body: Body::BuiltIn(Workload::groups),
};
