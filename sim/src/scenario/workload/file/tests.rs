use super::*;
use kafkasim::ids::TopicPartition;
use kafkasim_check::fault::{Action, Target};

const STANDARD_FILE: &str = include_str!("../../../../scenarios/standard.toml");

fn error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

const MINIMAL: &str = r#"
[[topic]]
name = "t"

[[producer]]
topic = "t"
"#;

#[test]
fn a_minimal_file_takes_the_defaults() {
    let workload = parse(MINIMAL).expect("parses");
    assert_eq!(workload.cluster.brokers, 3);
    assert_eq!(workload.topics[0].partitions, 1);
    assert_eq!(workload.topics[0].replication_factor, 3);
    assert_eq!(workload.producers[0].name, "producer-1");
    assert_eq!(workload.producers[0].interval_ms, 50);
    assert_eq!(workload.faults, FaultPlan::None);
    assert!(workload.groups.is_empty());
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let e = error("[[topic]]\nname = \"t\"\npartitions = = 3\n");
    assert!(e.starts_with("line 3, column 14: "), "{e}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_line() {
    let e = error("[[topic]]\nname = \"t\"\npartitions = \"six\"\n");
    assert!(e.starts_with("line 3, column 14: "), "{e}");
    assert!(e.contains("invalid type"), "{e}");
}

#[test]
fn an_unknown_key_is_named_with_its_place() {
    let e = error("[[topic]]\nname = \"t\"\nreplicas = 3\n");
    assert!(e.starts_with("line 3, column 1: "), "{e}");
    assert!(e.contains("unknown field `replicas`"), "{e}");
    assert!(
        e.contains("replication_factor"),
        "the expected keys are listed: {e}"
    );
    let e = error("brokers = 3\n");
    assert!(e.contains("unknown field `brokers`"), "{e}");
}

#[test]
fn a_replication_factor_above_the_brokers_is_refused_at_its_topic() {
    let text = "[cluster]\nbrokers = 2\n\n[[topic]]\nname = \"t\"\nreplication_factor = 3\n\n[[producer]]\ntopic = \"t\"\n";
    let e = error(text);
    assert!(e.starts_with("line 4, column 1: topic t: "), "{e}");
    assert!(
        e.contains("replication_factor 3 is impossible on 2 broker(s)"),
        "{e}"
    );
}

#[test]
fn min_insync_replicas_above_the_replication_factor_is_refused() {
    let text = "[[topic]]\nname = \"t\"\nreplication_factor = 2\nconfigs = { \"min.insync.replicas\" = 3 }\n[[producer]]\ntopic = \"t\"\n";
    let e = error(text);
    assert!(
        e.contains("min.insync.replicas 3 is above replication_factor 2"),
        "{e}"
    );
}

#[test]
fn a_group_without_consumers_is_refused() {
    let text = format!("{MINIMAL}\n[[group]]\nid = \"g\"\ntopics = [\"t\"]\nconsumers = 0\n");
    let e = error(&text);
    assert!(
        e.contains("group g: a group needs at least one consumer"),
        "{e}"
    );
    assert!(e.starts_with("line 8, column 1: "), "{e}");
}

#[test]
fn references_to_what_is_not_declared_are_refused() {
    let e = error("[[topic]]\nname = \"t\"\n[[producer]]\ntopic = \"u\"\n");
    assert!(
        e.contains("producer-1: sends to topic u, which the workload does not declare"),
        "{e}"
    );
    let text = format!("{MINIMAL}\n[[group]]\nid = \"g\"\ntopics = [\"u\"]\nconsumers = 1\n");
    assert!(error(&text).contains("subscribes to topic u"));
    assert!(error("summary = \"nothing\"\n").contains("at least one [[topic]]"));
    assert!(error("[[topic]]\nname = \"t\"\n").contains("at least one [[producer]]"));
}

#[test]
fn bad_configs_are_refused_with_kafka_s_words() {
    let text =
        "[[topic]]\nname = \"t\"\n[[producer]]\ntopic = \"t\"\nconfigs = { acks = \"most\" }\n";
    assert!(error(text).contains("acks"), "{}", error(text));
    let text = "[[topic]]\nname = \"t\"\nconfigs = { \"retention.ms\" = 5 }\n[[producer]]\ntopic = \"t\"\n";
    assert!(
        error(text).contains("unknown topic configuration"),
        "{}",
        error(text)
    );
    let text = "[[topic]]\nname = \"t\"\nconfigs = { \"min.insync.replicas\" = [1] }\n[[producer]]\ntopic = \"t\"\n";
    assert!(
        error(text).contains("must be a string, a number or a boolean"),
        "{}",
        error(text)
    );
    let text = format!("{MINIMAL}\n[[group]]\nid = \"g\"\ntopics = [\"t\"]\nconsumers = 1\nconfigs = {{ \"enable.auto.commit\" = true }}\n");
    assert!(
        error(&text).contains("enable.auto.commit is set by the workload"),
        "{}",
        error(&text)
    );
}

#[test]
fn what_kafka_refuses_is_refused_before_the_run() {
    let topic =
        |name: &str| format!("[[topic]]\nname = {name:?}\n[[producer]]\ntopic = {name:?}\n");
    for (name, why) in [
        ("a b", "contains a character other than ASCII alphanumerics"),
        ("a/b", "contains a character other than ASCII alphanumerics"),
        (".", "cannot be \".\" or \"..\""),
        ("", "can't be empty"),
    ] {
        assert!(
            error(&topic(name)).contains(why),
            "{name:?}: {}",
            error(&topic(name))
        );
    }
    let long = "t".repeat(250);
    assert!(error(&topic(&long)).contains("longer than 249 characters"));
    let group = |id: &str| format!("[[group]]\nid = {id:?}\ntopics = [\"t\"]\nconsumers = 1\n");
    let empty = format!("{MINIMAL}\n{}", group(" "));
    assert!(
        error(&empty).contains("group.id must not be empty"),
        "{}",
        error(&empty)
    );
    let twice = format!("{MINIMAL}\n{}\n{}", group("g"), group("g"));
    assert!(
        error(&twice).contains("group g: declared twice"),
        "{}",
        error(&twice)
    );
    let delivery = format!("{MINIMAL}configs = {{ \"delivery.timeout.ms\" = 100 }}\n");
    assert!(
        error(&delivery)
            .contains("should be equal to or larger than linger.ms + request.timeout.ms"),
        "{}",
        error(&delivery)
    );
    let longer_request = format!("{MINIMAL}configs = {{ \"request.timeout.ms\" = 60000 }}\n");
    assert!(
        parse(&longer_request).is_ok(),
        "the default delivery.timeout.ms gives way"
    );
}

#[test]
fn client_counts_are_capped_before_anything_is_built() {
    let many = "[[topic]]\nname = \"t\"\n[[producer]]\ntopic = \"t\"\ncount = 4000000000\n";
    assert!(
        error(many).contains("at most 1000 producers and consumers"),
        "{}",
        error(many)
    );
    let consumers =
        format!("{MINIMAL}\n[[group]]\nid = \"g\"\ntopics = [\"t\"]\nconsumers = 4000000000\n");
    assert!(
        error(&consumers).contains("at most 1000"),
        "{}",
        error(&consumers)
    );
    let together =
        format!("{MINIMAL}\n[[group]]\nid = \"g\"\ntopics = [\"t\"]\nconsumers = 1000\n");
    assert!(
        error(&together).contains("1001 producers and consumers in all"),
        "{}",
        error(&together)
    );
}

#[test]
fn a_schedule_is_read_in_time_order_and_checked_against_the_cluster() {
    let text = format!(
        "{MINIMAL}\n[faults]\nmode = \"schedule\"\n\n[[faults.schedule]]\nat_ms = 9000\nfault = \"link-cut\"\nnodes = [\"broker-3\", \"broker-1\"]\nfor_ms = 1000\n\n[[faults.schedule]]\nat_ms = 1000\nfault = \"crash\"\nnode = \"broker-2\"\nfor_ms = 5000\n"
    );
    let workload = parse(&text).expect("parses");
    let FaultPlan::Schedule(schedule) = workload.faults else {
        panic!("a schedule")
    };
    assert_eq!(schedule.phase_ms, 60_000);
    let shown: Vec<String> = schedule.faults.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "at 1.000 s: crash broker-2, restart after 5.000 s",
            "at 9.000 s: cut broker-3 and broker-1 apart for 1.000 s"
        ]
    );
    let bad = text.replace("node = \"broker-2\"", "node = \"broker-4\"");
    let e = error(&bad);
    assert!(e.contains("there is no broker-4"), "{e}");
    assert!(e.starts_with("line 17, column 1: "), "{e}");
    let late = text.replace("at_ms = 9000", "at_ms = 60000");
    assert!(error(&late).contains("starts after the safety phase"));
    let unknown = text.replace("\"crash\"", "\"meteor\"");
    let e = error(&unknown);
    assert!(e.contains("unknown variant `meteor`"), "{e}");
    assert!(e.starts_with("line 17, column 1: "), "{e}");
    let no_client = format!("{MINIMAL}\n[faults]\nmode = \"schedule\"\n[[faults.schedule]]\nat_ms = 0\nfault = \"client-cut\"\nclient = \"consumer-9\"\nnode = \"broker-1\"\nfor_ms = 10\n");
    assert!(
        error(&no_client).contains("there is no client consumer-9"),
        "{}",
        error(&no_client)
    );
}

#[test]
fn fault_modes_and_their_keys_must_agree() {
    let swarm_schedule = format!("{MINIMAL}\n[faults]\nmode = \"swarm\"\n[[faults.schedule]]\nat_ms = 0\nfault = \"crash\"\nnode = \"broker-1\"\nfor_ms = 10\n");
    assert!(error(&swarm_schedule).contains("is for mode = \"schedule\" only"));
    let profile = format!("{MINIMAL}\n[faults]\nprofile = \"wild\"\n");
    assert!(error(&profile).contains("profile is for mode = \"swarm\" only"));
    let wild = format!("{MINIMAL}\n[faults]\nmode = \"swarm\"\nprofile = \"wild\"\n");
    assert_eq!(
        parse(&wild).unwrap().faults,
        FaultPlan::Swarm(Profile::WILD)
    );
    let bad_mode = format!("{MINIMAL}\n[faults]\nmode = \"chaos\"\n");
    assert!(error(&bad_mode).contains("mode must be"));
}

#[test]
fn phases_must_fit_in_a_run() {
    let text = format!("{MINIMAL}\n[phases]\nsafety_ms = 0\n");
    assert!(error(&text).contains("safety_ms must be 1 to"));
    let text = format!("{MINIMAL}\n[phases]\nsafety_ms = 300000\nliveness_ms = 300000\n");
    assert!(error(&text).contains("at most 480000 ms"));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let e = read(Path::new("/nonexistent/kafkasim/scenario.toml")).unwrap_err();
    assert!(
        e.starts_with("cannot read scenario file /nonexistent/kafkasim/scenario.toml"),
        "{e}"
    );
}

#[test]
fn a_written_workload_reads_back_the_same() {
    let zombie = include_str!("../../../../scenarios/zombie-consumer.toml");
    let unclean = include_str!("../../../../scenarios/unclean-election.toml");
    let network = format!(
        "{MINIMAL}\n[faults]\nmode = \"schedule\"\n{}",
        [
            "fault = \"isolate\"\nnode = \"controller\"",
            "fault = \"isolate\"\nnode = \"leader of t-0\"",
            "fault = \"split\"\nnodes = [\"broker-2\"]",
            "fault = \"one-way\"\nfrom = \"controller\"\nto = \"broker-2\"",
            "fault = \"one-way\"\nfrom = \"broker-3\"\nto = \"broker-1\"",
            "fault = \"slow-network\"\nextra_ms = 300",
            "fault = \"flaky-link\"\nnodes = [\"broker-1\", \"broker-3\"]",
            "fault = \"lost-response\"\nnode = \"leader of t-0\"\napi = \"Produce\"",
            "fault = \"power-loss\"\nnode = \"follower of t-0\"",
            "fault = \"client-crash\"\nclient = \"producer-1\"",
        ]
        .iter()
        .enumerate()
        .map(|(i, fault)| format!(
            "\n[[faults.schedule]]\nat_ms = {}\n{fault}\nfor_ms = 1500\n",
            1000 * (i + 1)
        ))
        .collect::<String>()
    );
    let FaultPlan::Schedule(schedule) = parse(&network).expect("parses").faults else {
        panic!("a schedule")
    };
    assert_eq!(schedule.faults.len(), 10, "every fault is read");
    let no_writeback = format!(
        "{MINIMAL}\n[cluster]\n\"vm.dirty_expire_centisecs\" = 1000\n\"vm.dirty_writeback_centisecs\" = 0\n\"eligible.leader.replicas.version\" = 1\n"
    );
    assert!(
        parse(&no_writeback)
            .expect("parses")
            .cluster
            .controller
            .eligible_leader_replicas
    );
    let cache = parse(&no_writeback).expect("parses").cluster.page_cache;
    assert_eq!(
        (cache.dirty_expire_ms, cache.dirty_writeback_ms),
        (10_000, 0)
    );
    for text in [STANDARD_FILE, zombie, unclean, &network, &no_writeback] {
        let mut workload = parse(text).expect("parses");
        workload.expect = Some(super::super::Expectation {
            seed: 7,
            kind: Kind::LostWrite,
        });
        let header = vec!["a header line".to_string()];
        let notes = vec!["why the first fault matters".to_string()];
        let written = to_toml(&workload, &header, &notes);
        assert!(written.starts_with("# a header line\n"), "{written}");
        let again = parse(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(again, workload);
        assert_eq!(to_toml(&again, &header, &notes), written);
    }
}

/// `MINIMAL` on topic `t` (one partition, three brokers) with one scheduled
/// fault, written as `keys` (the lines after `fault = ...`).
fn one_fault(fault: &str, keys: &str) -> String {
    format!(
        "{MINIMAL}\n[faults]\nmode = \"schedule\"\n\n[[faults.schedule]]\nat_ms = 1000\nfault = \"{fault}\"\n{keys}\nfor_ms = 2000\n"
    )
}

/// The one fault `text` schedules.
fn the_action(text: &str) -> Action {
    let workload = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let FaultPlan::Schedule(schedule) = workload.faults else {
        panic!("a schedule")
    };
    assert_eq!(schedule.faults.len(), 1);
    assert_eq!(
        (schedule.faults[0].at_ms, schedule.faults[0].for_ms),
        (1000, 2000)
    );
    schedule.faults[0].action.clone()
}

/// A refused one-fault file's error, which must name the fault's line
/// (line 11: the `[[faults.schedule]]` table).
fn refused(fault: &str, keys: &str) -> String {
    let e = error(&one_fault(fault, keys));
    assert!(e.starts_with("line 11, column 1: "), "{e}");
    e
}

#[test]
fn a_fault_names_its_node_by_id_or_by_role() {
    assert_eq!(
        the_action(&one_fault("isolate", "node = \"controller\"")),
        Action::Isolate {
            node: Target::Controller
        }
    );
    assert_eq!(
        the_action(&one_fault("crash", "node = \"leader of t-0\"")),
        Action::Crash {
            node: Target::leader_of("t", 0)
        }
    );
    let e = refused("crash", "node = \"leader of t-1\"");
    assert!(
        e.contains("fault at 1000 ms (crash): there is no partition t-1"),
        "{e}"
    );
    let e = refused("crash", "node = \"leader of u-0\"");
    assert!(e.contains("there is no topic u"), "{e}");
    let e = refused("crash", "node = \"coordinator of g\"");
    assert!(e.contains("there is no group g"), "{e}");
    let e = refused("crash", "node = \"broker two\"");
    assert!(
        e.contains("a node must be \"controller\", \"broker-N\""),
        "{e}"
    );
    let e = refused("crash", "broker = 1");
    assert!(e.contains("unknown field `broker`, expected `node`"), "{e}");
}

#[test]
fn a_split_names_its_minority_and_leaves_a_majority() {
    let b = Target::Broker;
    assert_eq!(
        the_action(&one_fault("split", "nodes = [\"broker-3\", \"broker-1\"]")),
        Action::Split {
            nodes: vec![b(3), b(1)]
        }
    );
    let e = refused(
        "split",
        "nodes = [\"broker-1\", \"broker-2\", \"broker-3\"]",
    );
    assert!(
        e.contains("fault at 1000 ms (split): a split must leave a majority"),
        "{e}"
    );
    let e = refused("split", "nodes = []");
    assert!(e.contains("at least one broker in its minority"), "{e}");
    let e = refused("split", "nodes = [\"broker-4\"]");
    assert!(e.contains("there is no broker-4"), "{e}");
    let e = refused("split", "nodes = [\"broker-2\", \"broker-2\"]");
    assert!(e.contains("broker-2 is named twice"), "{e}");
    let e = refused("split", "nodes = [\"leader of t-0\"]");
    assert!(e.contains("names brokers by id"), "{e}");
}

#[test]
fn one_way_goes_from_one_server_to_another() {
    assert_eq!(
        the_action(&one_fault(
            "one-way",
            "from = \"controller\"\nto = \"broker-3\""
        )),
        Action::OneWay {
            from: Target::Controller,
            to: Target::Broker(3)
        }
    );
    let e = refused("one-way", "from = \"broker-1\"\nto = \"broker-1\"");
    assert!(e.contains("(one-way): stalls broker-1 from itself"), "{e}");
    let e = refused("one-way", "from = \"producer-1\"\nto = \"broker-1\"");
    assert!(e.contains("a node must be"), "{e}");
    let e = refused("one-way", "from = \"broker-1\"\nto = \"broker-7\"");
    assert!(e.contains("there is no broker-7"), "{e}");
    let e = refused("one-way", "from = \"broker-1\"");
    assert!(e.contains("missing field `to`"), "{e}");
}

#[test]
fn a_slow_network_says_how_much_slower() {
    assert_eq!(
        the_action(&one_fault("slow-network", "extra_ms = 200")),
        Action::SlowNetwork { extra_ms: 200 }
    );
    let e = refused("slow-network", "extra_ms = 0");
    assert!(
        e.contains("(slow-network): extra_ms must be 1 to 10000, got 0"),
        "{e}"
    );
    let e = refused("slow-network", "");
    assert!(e.contains("missing field `extra_ms`"), "{e}");
}

#[test]
fn a_link_joins_two_servers() {
    let e = refused(
        "flaky-link",
        "nodes = [\"broker-1\", \"broker-2\", \"broker-3\"]",
    );
    assert!(e.contains("invalid length 3"), "{e}");
    let e = refused("flaky-link", "nodes = [\"broker-2\", \"broker-2\"]");
    assert!(e.contains("(flaky-link): cuts broker-2 from itself"), "{e}");
    let e = refused(
        "flaky-link",
        "nodes = [\"broker-1\", \"broker-2\"]\nextra_ms = 5",
    );
    assert!(e.contains("unknown field `extra_ms`"), "{e}");
}

#[test]
fn a_lost_response_names_an_api_kafka_has() {
    let e = refused("lost-response", "node = \"broker-1\"\napi = \"Produse\"");
    assert!(e.contains("there is no API \"Produse\""), "{e}");
    assert!(e.contains("Produce"), "{e}");
}

#[test]
fn the_network_profile_is_read_and_written() {
    let text = format!("{MINIMAL}\n[faults]\nmode = \"swarm\"\nprofile = \"network\"\n");
    let workload = parse(&text).expect("parses");
    assert_eq!(workload.faults, FaultPlan::Swarm(Profile::NETWORK));
    let written = to_toml(&workload, &[], &[]);
    assert!(written.contains("profile = \"network\""), "{written}");
    assert_eq!(parse(&written).unwrap().faults, workload.faults);
    let bad = text.replace("\"network\"", "\"stormy\"");
    assert!(error(&bad).contains("\"network\", \"replication\", got \"stormy\""));
}

#[test]
fn the_network_file_is_the_standard_workload_under_the_network_profile() {
    let network = parse(include_str!("../../../../scenarios/network.toml")).expect("parses");
    let standard = parse(STANDARD_FILE).expect("parses");
    assert_eq!(network.faults, FaultPlan::Swarm(Profile::NETWORK));
    assert_eq!(network.topics, standard.topics);
    assert_eq!(network.producers, standard.producers);
    assert_eq!(network.groups, standard.groups);
    assert_eq!(
        (network.safety_ms, network.liveness_ms),
        (standard.safety_ms, standard.liveness_ms)
    );
}

// ---- stories -----------------------------------------------------------------------

const STORY: &str = r#"
[cluster]
brokers = 2

[[topic]]
name = "orders"
replication_factor = 2

[[producer]]
name = "producer"
configs = { acks = "all" }

[[step]]
send = ["m1", "m2"]

[[step]]
fault = "crash"
node = "leader of orders-0"
name = "down"

[[step]]
wait = "orders-0"
leader = "changed"

[[step]]
end = "down"

[[step]]
wait = "orders-0"
isr = ["broker-2", "broker-1"]

[[step]]
sleep_ms = 500

[[step]]
show = "orders"

[[step]]
read = "orders"

[[step]]
elect = "preferred"
"#;

#[test]
fn a_story_reads_its_steps_in_order_with_the_only_producer_and_topic_by_default() {
    use super::super::step::{Condition, Step};
    let story = parse(STORY).expect("parses");
    assert!(story.is_story());
    let orders = TopicPartition::new("orders", 0);
    assert_eq!(
        story.steps,
        [
            Step::Send {
                producer: "producer".into(),
                partition: orders.clone(),
                values: vec!["m1".into(), "m2".into()],
            },
            Step::Fault {
                name: Some("down".into()),
                action: Action::Crash {
                    node: Target::leader_of("orders", 0),
                },
            },
            Step::Wait {
                partition: orders.clone(),
                until: Condition::LeaderChanged,
            },
            Step::End {
                names: vec!["down".into()],
            },
            Step::Wait {
                partition: orders,
                until: Condition::Isr(vec![2, 1]),
            },
            Step::Sleep { ms: 500 },
            Step::Show {
                topic: "orders".into(),
                say: "orders".into(),
            },
            Step::Read {
                topic: "orders".into(),
            },
            Step::ElectPreferredLeaders,
        ]
    );
    let written = to_toml(&story, &[], &[]);
    assert_eq!(
        parse(&written).unwrap_or_else(|e| panic!("{e}\n{written}")),
        story
    );
}

/// The story with `from` replaced by `to`, refused: the error.
fn story_error(from: &str, to: &str) -> String {
    assert!(STORY.contains(from), "{from}");
    error(&STORY.replacen(from, to, 1))
}

#[test]
fn a_story_step_that_cannot_run_is_refused_at_its_line() {
    let cases = [
        (
            "sleep_ms = 500",
            "sleep_ms = 500\nsend = \"x\"",
            "line 32, column 1: a step does one thing: it has send and sleep_ms",
        ),
        (
            "sleep_ms = 500",
            "nap = 500",
            "line 32, column 1: a step needs one of send, fault, end, wait, sleep_ms, show, read, elect",
        ),
        (
            "end = \"down\"",
            "end = \"up\"",
            "line 25, column 1: end step: no fault step before it is named up",
        ),
        (
            "leader = \"changed\"",
            "leader = \"changed\"\nisr_size = 2",
            "line 21, column 1: wait step: say what to wait for with exactly one of leader, isr, isr_size",
        ),
        (
            "isr = [\"broker-2\", \"broker-1\"]",
            "isr = [\"broker-7\"]",
            "line 28, column 1: wait step: there is no broker-7",
        ),
        (
            "name = \"down\"",
            "name = \"down\"\nfor_ms = 100",
            "line 16, column 1: fault step: for_ms is for [[faults.schedule]]",
        ),
        (
            "send = [\"m1\", \"m2\"]",
            "send = [\"m1\", \"m1\"]",
            "line 13, column 1: send step: m1 is sent twice: values must be unique",
        ),
        (
            "node = \"leader of orders-0\"",
            "node = \"leader of orders-3\"",
            "there is no partition orders-3",
        ),
        (
            "show = \"orders\"",
            "show = \"users\"",
            "show step: there is no topic users",
        ),
        (
            "read = \"orders\"",
            "read = \"users\"",
            "read step: there is no topic users",
        ),
        (
            "name = \"producer\"",
            "name = \"producer\"\nrate = 5",
            "line 9, column 1: a story's [[producer]] sends only what its steps say: rate is for workloads without steps",
        ),
        (
            "[[step]]\nsend",
            "[[group]]\nid = \"g\"\ntopics = [\"orders\"]\nconsumers = 1\n\n[[step]]\nsend",
            "[[group]] is not for a story",
        ),
    ];
    for (from, to, expected) in cases {
        let error = story_error(from, to);
        assert!(error.contains(expected), "{to}: {error}");
        assert!(!error.contains('\n'), "{error}");
    }
}

#[test]
fn a_step_that_sends_must_name_its_producer_when_there_are_two() {
    let two = STORY.replace(
        "[[step]]\nsend",
        "[[producer]]\nname = \"other\"\n\n[[step]]\nsend",
    );
    let error = error(&two);
    assert!(
        error.contains(
            "send: the story has 2 producers (producer, other); name one with producer = \"…\""
        ),
        "{error}"
    );
}

#[test]
fn every_built_in_story_writes_back_as_itself() {
    for scenario in crate::scenario::builtins() {
        let Some(workload) = scenario.as_workload().filter(|w| w.is_story()) else {
            continue;
        };
        let written = to_toml(workload, &[], &[]);
        let again = parse(&written).unwrap_or_else(|e| panic!("{}: {e}\n{written}", scenario.name));
        assert_eq!(&again, workload, "{}", scenario.name);
    }
}

#[test]
fn group_settings_are_checked_as_the_workers_and_the_coordinator_would() {
    let group = |configs: &str, consumers: u32| {
        format!(
            "{MINIMAL}\n[[group]]\nid = \"g\"\ntopics = [\"t\"]\nconsumers = {consumers}\nconfigs = {{ {configs} }}\n"
        )
    };
    for (configs, consumers, why) in [
        (
            "\"session.timeout.ms\" = 1",
            1,
            "invalid value '1' for configuration 'session.timeout.ms': Heartbeat must be set lower than the session timeout (heartbeat.interval.ms=1000 by default)",
        ),
        (
            "\"heartbeat.interval.ms\" = 20000",
            1,
            "invalid value '20000' for configuration 'heartbeat.interval.ms'",
        ),
        (
            "\"session.timeout.ms\" = 2000",
            1,
            "session.timeout.ms = 2000 is outside the brokers' group.min.session.timeout.ms",
        ),
        (
            "\"group.instance.id\" = \"same\"",
            2,
            "group.instance.id = \"same\" would be shared by its 2 consumers",
        ),
    ] {
        let text = group(configs, consumers);
        let error = error(&text);
        assert!(error.contains(why), "{configs}: {error}");
        assert!(error.starts_with("line 8, column 1: group g: "), "{error}");
    }
    assert!(parse(&group("\"group.instance.id\" = \"solo\"", 1)).is_ok());
    assert!(parse(&group("\"session.timeout.ms\" = 6000", 2)).is_ok());
}

#[test]
fn control_characters_and_sizes_are_refused_with_their_line() {
    let escape = "summary = \"ok\"\n[[topic]]\nname = \"t\\u001b[2J\"\n";
    assert_eq!(
        error(escape),
        "line 3: a string holds the control character U+001B; scenario files take printable text"
    );
    let newline = format!("{MINIMAL}configs = {{ \"client.id\" = \"a\\nb\" }}\n");
    assert!(error(&newline).contains("U+000A"), "{}", error(&newline));

    let topics: String = (0..101)
        .map(|i| format!("[[topic]]\nname = \"t{i}\"\n"))
        .collect();
    let many = format!("{topics}[[producer]]\ntopic = \"t0\"\n");
    assert!(
        error(&many).contains("101 topics; a workload declares at most 100"),
        "{}",
        error(&many)
    );
    let fault =
        "[[faults.schedule]]\nat_ms = 1\nfault = \"pause\"\nnode = \"broker-1\"\nfor_ms = 1\n";
    let faults = format!(
        "{MINIMAL}[faults]\nmode = \"schedule\"\n{}",
        fault.repeat(1001)
    );
    assert!(
        error(&faults).contains("1001 scheduled faults; a schedule holds at most 1000"),
        "{}",
        error(&faults)
    );
}

#[test]
fn a_file_that_is_not_utf8_or_too_large_is_refused_with_where() {
    let dir = std::env::temp_dir().join(format!("kafkasim-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, b"summary = \"ok\"\n\n[[topic]]\nname = \"a\xff\"\n").unwrap();
    let error = super::read(&path).expect_err("refused");
    assert!(
        error.ends_with("line 4, column 10: not UTF-8 text"),
        "{error}"
    );
    std::fs::write(&path, vec![b'#'; (super::FILE_BYTES_MAX + 1) as usize]).unwrap();
    let error = super::read(&path).expect_err("refused");
    assert!(error.contains("larger than 1 MiB"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn overlapping_crashes_of_one_node_nest_and_the_run_is_judged_not_crashed() {
    let fault = |at: u64, kind: &str, node: &str, for_ms: u64| {
        format!(
            "[[faults.schedule]]\nat_ms = {at}\nfault = \"{kind}\"\nnode = \"{node}\"\nfor_ms = {for_ms}\n"
        )
    };
    let text = format!(
        "{MINIMAL}[faults]\nmode = \"schedule\"\n{}{}{}{}[phases]\nsafety_ms = 8000\nliveness_ms = 20000\n",
        fault(1000, "crash", "broker-1", 4000),
        fault(2000, "power-loss", "broker-1", 1000),
        fault(3000, "crash", "controller", 3000),
        fault(3500, "crash", "controller", 500),
    );
    let workload = parse(&text).expect("overlapping faults are taken: they nest");
    let scenario = crate::scenario::Scenario::workload("nested.toml", workload);
    let report = crate::run::run_seed(3, &scenario);
    assert!(
        !report
            .judgement
            .kinds()
            .contains(&kafkasim_check::Kind::Crash),
        "{}",
        report.judgement
    );
    assert_eq!(
        report.verdict(),
        kafkasim_check::Verdict::Ok,
        "{}",
        report.judgement
    );
    // The power loss inside the crash decides what the disk kept, and says so.
    let restarts: Vec<&str> = (report.run.timeline.iter())
        .filter(|e| e.node == "broker-1" && e.text.starts_with("restarted after"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        restarts,
        ["restarted after a power loss (what was not yet on disk is lost)"]
    );
}

#[test]
fn an_error_that_quotes_the_file_quotes_no_control_character() {
    // An unknown fault name is quoted by the error; written with an escape,
    // it is refused as a control character before that.
    let text = format!(
        "{MINIMAL}[faults]\nmode = \"schedule\"\n[[faults.schedule]]\nat_ms = 1\nfault = \"\\u001b[2J\"\nnode = \"broker-1\"\nfor_ms = 1\n"
    );
    let error = error(&text);
    assert!(!error.chars().any(char::is_control), "{error:?}");
    assert!(error.contains("control character U+001B"), "{error}");
}
