//! An application that sends the same text twice: the history and the checkers
//! tell the two sends apart by their ids (the `send-id` header the simulator's
//! producer stamps on each record), not by their values.

use kafkasim::client::admin::NewTopic;
use kafkasim::client::producer::ProducerRecord;
use kafkasim::ids::TopicPartition;
use kafkasim_check::history::{send_id, Entry, OpId, Operation, PolledRecord, SEND_ID_HEADER};
use kafkasim_check::judge::Verdict;
use kafkasim_sim::time::now_ms;
use kafkasim_sim::{simulate, ClusterSpec, Options};

#[test]
fn two_sends_of_one_value_are_judged_as_two_sends() {
    let run = simulate(
        5,
        ClusterSpec::default(),
        &Options::default(),
        |cluster| async move {
            let users = TopicPartition::new("users", 0);
            cluster
                .create_topic_in_sync(NewTopic::new("users", 1, 3))
                .await
                .expect("created");
            let producer = cluster.producer(&[("acks", "all")]).expect("valid");
            for _ in 0..2 {
                let record = ProducerRecord::new("users", "Alice").partition(0);
                producer.send(record).await.expect("acked");
            }
            let consumer = cluster
                .consumer(&[("auto.offset.reset", "earliest")])
                .expect("valid");
            consumer.assign(vec![users]);
            let deadline_ms = now_ms() + 30_000;
            let mut polled = Vec::new();
            while polled.len() < 2 && now_ms() < deadline_ms {
                polled.extend(consumer.poll(1_000).await.unwrap_or_default());
            }
            polled
        },
    );
    let polled = run.value.clone().expect("the run finished");

    // Both records say "Alice"; each carries the id of its own send.
    let sends: Vec<OpId> = (run.history.iter())
        .filter_map(|entry| match entry {
            Entry::Invoke {
                op,
                operation: Operation::Send { value, .. },
                ..
            } if value == "Alice" => Some(*op),
            _ => None,
        })
        .collect();
    assert_eq!(sends.len(), 2);
    let ids: Vec<Option<OpId>> = polled.iter().map(|r| send_id(&r.headers)).collect();
    assert_eq!(ids, [Some(sends[0]), Some(sends[1])]);
    assert!(polled.iter().all(|r| r.value_text() == "Alice"));
    assert!(polled
        .iter()
        .all(|r| r.headers.iter().filter(|h| h.key == SEND_ID_HEADER).count() == 1));

    // The history's polled records name their sends, and the judge finds
    // neither a duplicate nor a lost write.
    let recorded: Vec<&PolledRecord> = (run.history.iter())
        .filter_map(|entry| match entry {
            Entry::Complete {
                outcome:
                    kafkasim_check::history::Outcome::Ok(kafkasim_check::history::Reply::Polled {
                        records,
                    }),
                ..
            } => Some(records),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(recorded.iter().any(|r| r.send == Some(sends[0])));
    assert!(recorded.iter().any(|r| r.send == Some(sends[1])));
    let judgement = run.judge();
    assert_eq!(judgement.verdict(), Verdict::Ok, "{:?}", judgement.findings);
    assert!(judgement.findings.is_empty(), "{:?}", judgement.findings);
}
