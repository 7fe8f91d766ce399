//! librdkafka's idempotent producer (`enable.idempotence=true`, `acks=all`)
//! against a 3-broker server, on a topic of replication factor 3 and
//! `min.insync.replicas` 2, while broker-2 is crashed and restarted through
//! the control port (`clients/confluent_idempotent.py`): every acknowledged
//! record is then read back exactly once by a fresh consumer. Skipped, with
//! a message, where confluent-kafka is not installed.

mod common;

use common::{python, python_has, start};

#[test]
fn an_idempotent_producer_loses_and_repeats_nothing_across_a_broker_crash() {
    if !python_has("confluent_kafka") {
        return;
    }
    let (_runtime, server) = start(3);
    let broker = server.addrs()[&1].to_string();
    let control_port = server.control_addr().port().to_string();
    let out = python(
        &broker,
        "confluent_idempotent.py",
        &["idempotent", &control_port],
    );
    assert!(
        out.contains("control: crash broker-2 -> ok: crash broker-2"),
        "{out}"
    );
    assert!(
        out.contains("control: restart broker-2 -> ok: restart broker-2"),
        "{out}"
    );
    assert!(out.contains("checked"), "the script ran to its end: {out}");
    let acked: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("acked "))
        .and_then(|n| n.parse().ok())
        .expect("an acked line");
    assert!(acked > 0, "{out}");
    let wrong: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("missing ") || l.starts_with("duplicate "))
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}\n{out}");
}
