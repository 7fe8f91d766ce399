//! A fault's serde form is the scenario file's `[[faults.schedule]]` table.

use super::*;

fn parse(table: &str) -> Result<Fault, String> {
    toml::from_str::<Fault>(table).map_err(|e| e.message().to_string())
}

#[test]
fn a_fault_reads_and_writes_as_the_table_a_scenario_file_holds() {
    let text = "at_ms = 5000\nfault = \"crash\"\nnode = \"leader of orders-0\"\nfor_ms = 4000\n";
    let fault = parse(text).expect("a valid fault");
    assert_eq!(
        fault,
        Fault {
            at_ms: 5000,
            action: Action::Crash {
                node: Target::leader_of("orders", 0)
            },
            for_ms: 4000,
        }
    );
    assert_eq!(toml::to_string(&fault).expect("plain data"), text);
}

#[test]
fn every_target_form_reads_back_as_it_is_written() {
    for text in [
        "controller",
        "broker-3",
        "leader of my-topic-12",
        "follower of orders-0",
        "coordinator of group-1",
    ] {
        let target: Target = text.parse().expect(text);
        assert_eq!(target.to_string(), text);
    }
    assert_eq!(
        "leader of my-topic-12".parse::<Target>(),
        Ok(Target::LeaderOf(TopicPartition::new("my-topic", 12)))
    );
}

#[test]
fn a_bad_target_says_what_a_node_may_be() {
    for bad in [
        "broker-0",
        "broker-+2",
        "broker- 2",
        "broker-x",
        "leader of orders",
        "leader of -1",
        "coordinator of ",
        "the controller",
        "",
    ] {
        let error = bad.parse::<Target>().expect_err(bad);
        assert!(error.contains("\"broker-N\""), "{bad}: {error}");
    }
}

#[test]
fn an_unknown_key_or_fault_is_refused_by_name() {
    let unknown_key = parse("at_ms = 1\nfault = \"crash\"\nnod = \"broker-1\"\nfor_ms = 5\n");
    assert_eq!(
        unknown_key,
        Err("unknown field `nod`, expected `node`".into())
    );
    let unknown_fault = parse("at_ms = 1\nfault = \"crsh\"\nnode = \"broker-1\"\nfor_ms = 5\n");
    assert!(unknown_fault
        .expect_err("refused")
        .starts_with("unknown variant `crsh`, expected one of `crash`, `power-loss`"));
    let two_nodes = parse("at_ms = 1\nfault = \"link-cut\"\nnodes = [\"broker-1\"]\nfor_ms = 5\n");
    assert!(two_nodes.is_err());
}

#[test]
fn every_kind_has_the_name_its_fault_tag_has() {
    let actions = [
        Action::Crash {
            node: Target::Controller,
        },
        Action::PowerLoss {
            node: Target::Broker(1),
        },
        Action::ReplaceDisk {
            node: Target::Broker(1),
        },
        Action::Pause {
            node: Target::Broker(1),
        },
        Action::Isolate {
            node: Target::Broker(1),
        },
        Action::LinkCut {
            nodes: [Target::Broker(1), Target::Broker(2)],
        },
        Action::Split {
            nodes: vec![Target::Broker(1)],
        },
        Action::OneWay {
            from: Target::Broker(1),
            to: Target::Controller,
        },
        Action::SlowNetwork { extra_ms: 50 },
        Action::FlakyLink {
            nodes: [Target::Broker(1), Target::Broker(2)],
        },
        Action::LostResponse {
            node: Target::Broker(1),
            api: "Produce".into(),
        },
        Action::StallApi {
            node: Target::Broker(1),
            api: "AlterPartition".into(),
        },
        Action::ClientCut {
            client: "producer-1".into(),
            node: Target::Broker(1),
        },
        Action::ClientPause {
            client: "consumer-1".into(),
        },
        Action::ClientCrash {
            client: "consumer-1".into(),
        },
    ];
    assert_eq!(actions.len(), FaultKind::ALL.len());
    for (action, kind) in actions.iter().zip(FaultKind::ALL) {
        assert_eq!(action.kind(), kind);
        let fault = Fault {
            at_ms: 0,
            action: action.clone(),
            for_ms: 1,
        };
        let text = toml::to_string(&fault).expect("plain data");
        assert!(text.contains(&format!("fault = \"{kind}\"")), "{text}");
        assert_eq!(parse(&text), Ok(fault));
    }
}

#[test]
fn a_role_names_the_server_that_holds_it_when_asked() {
    use kafkasim::config::TopicConfig;
    use kafkasim::metadata::{PartitionInfo, TopicInfo};
    let tp = TopicPartition::new("orders", 0);
    let mut image = MetadataImage::default();
    image.topics.insert(
        "orders".into(),
        TopicInfo {
            name: "orders".into(),
            config: TopicConfig::default(),
            partitions: vec![PartitionInfo {
                partition: 0,
                replicas: vec![2, 3, 1],
                isr: vec![2, 3, 1],
                elr: vec![],
                leader: Some(3),
                leader_epoch: 1,
                partition_epoch: 1,
            }],
        },
    );
    assert_eq!(
        Target::LeaderOf(tp.clone()).resolve(&image),
        Ok(NodeId::Broker(3))
    );
    assert_eq!(
        Target::FollowerOf(tp.clone()).resolve(&image),
        Ok(NodeId::Broker(2))
    );
    let gone = TopicPartition::new("orders", 7);
    assert_eq!(
        Target::LeaderOf(gone.clone()).resolve(&image),
        Err(Unresolved::NoSuchPartition(gone))
    );
    assert_eq!(
        Target::CoordinatorOf("group-1".into()).resolve(&image),
        Err(Unresolved::NoCoordinator("group-1".into()))
    );
}

#[test]
fn a_fault_on_a_role_takes_out_every_broker_it_might_name() {
    let brokers = [1, 2, 3];
    let isolate_leader = Action::Isolate {
        node: Target::leader_of("orders", 0),
    };
    assert_eq!(
        isolate_leader.servers(&brokers),
        vec![NodeId::Broker(1), NodeId::Broker(2), NodeId::Broker(3)]
    );
    let crash_2 = Action::Crash {
        node: Target::Broker(2),
    };
    assert!(crash_2.collides_with(&isolate_leader, &brokers));
    let pause_client = Action::ClientPause {
        client: "consumer-1".into(),
    };
    assert!(pause_client.servers(&brokers).is_empty());
    assert!(!pause_client.collides_with(&crash_2, &brokers));
    assert!(pause_client.collides_with(
        &Action::ClientCrash {
            client: "consumer-1".into()
        },
        &brokers
    ));
}
