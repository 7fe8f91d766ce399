//! Findings keep their facts as fields; names read back; sentences are made last.

use super::*;

fn divergence() -> Finding {
    Finding::new(
        Kind::DivergentReplicas,
        Detail::Divergence(Divergence {
            partition: TopicPartition::new("orders", 0),
            leader: 2,
            replica: 1,
            offset: 1,
            replica_value: "m2".into(),
            leader_value: "m3".into(),
        }),
    )
}

#[test]
fn every_kind_reads_back_from_its_name_and_serde_agrees() {
    for kind in Kind::ALL {
        assert_eq!(kind.name().parse::<Kind>(), Ok(kind));
        let json = serde_json::to_string(&kind).expect("plain data");
        assert_eq!(json, format!("\"{}\"", kind.name()));
    }
    let unknown = "lost write".parse::<Kind>().expect_err("not a name");
    assert!(unknown.contains("lost-write"), "{unknown}");
}

#[test]
fn liveness_kinds_are_the_ones_that_wait_and_an_empty_history() {
    let liveness: Vec<Kind> = (Kind::ALL.into_iter())
        .filter(|k| k.class() == Class::Liveness)
        .collect();
    assert_eq!(
        liveness,
        [
            Kind::Unseen,
            Kind::NeverProcessed,
            Kind::NotInSync,
            Kind::ProducerStuck,
            Kind::WaitTimedOut,
            Kind::RunTimedOut,
            Kind::EmptyHistory,
            Kind::NothingAcknowledged
        ]
    );
    assert_eq!(Kind::Crash.class(), Class::Crash);
    assert_eq!(Kind::DivergentReplicas.class(), Class::Correctness);
}

#[test]
fn a_finding_names_its_partitions_offsets_values_and_nodes_from_its_detail() {
    let finding = divergence();
    assert_eq!(finding.partitions(), [TopicPartition::new("orders", 0)]);
    assert_eq!(finding.offsets(), [1]);
    assert_eq!(finding.values(), ["m2", "m3"]);
    assert_eq!(finding.nodes(), ["broker-1", "broker-2"]);
    assert_eq!(finding.span_ms(), None);
    assert_eq!(
        finding.to_string(),
        "divergent-replicas: broker-1 has m2 at orders-0@1, the leader broker-2 has m3"
    );
}

#[test]
fn a_finding_goes_to_json_and_back_unchanged() {
    let mut finding = divergence();
    finding.allowed = vec![Allowance::PowerLoss];
    let json = serde_json::to_string(&finding).expect("plain data");
    let back: Finding = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, finding);
    assert!(json.contains("\"kind\":\"divergent-replicas\""), "{json}");
    assert!(json.contains("\"allowed\":[\"power-loss\"]"), "{json}");
}

#[test]
fn an_allowed_finding_fails_nothing() {
    let mut finding = divergence();
    assert_eq!(finding.failure(), Some(Class::Correctness));
    finding.allowed.push(Allowance::UncleanElection);
    assert_eq!(finding.failure(), None);
}

#[test]
fn a_finding_read_back_without_sightings_still_reads_as_a_sentence() {
    let json = r#"{"kind":"int-nonmonotonic-send","detail":{"sightings":{"partition":{"topic":"orders","partition":0},"sightings":[]}},"allowed":[]}"#;
    let finding: Finding = serde_json::from_str(json).expect("a finding");
    assert_eq!(
        finding.to_string(),
        "int-nonmonotonic-send: orders-0: no sightings"
    );
}
