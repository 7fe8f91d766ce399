use super::*;

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
fn the_standard_file_is_the_built_in_standard_workload() {
    let file = parse(STANDARD_FILE).expect("the standard file parses");
    let built_in = Workload::standard();
    assert_eq!(file.topics, built_in.topics);
    assert_eq!(file.groups, built_in.groups);
    assert_eq!(file.faults, built_in.faults);
    assert_eq!((file.safety_ms, file.liveness_ms), (60_000, 60_000));
    assert_eq!(file.cluster.brokers, built_in.cluster.brokers);
    // Same producers, up to how the file writes config values.
    assert_eq!(file.producers.len(), 2);
    for (f, b) in file.producers.iter().zip(&built_in.producers) {
        assert_eq!(
            (&f.name, &f.topic, f.interval_ms, f.keys),
            (&b.name, &b.topic, b.interval_ms, b.keys)
        );
        let (fc, bc) = (
            file.producer_config(f).unwrap(),
            built_in.producer_config(b).unwrap(),
        );
        assert_eq!((fc.acks, fc.idempotent()), (bc.acks, bc.idempotent()));
    }
}

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
fn a_schedule_is_read_in_time_order_and_checked_against_the_cluster() {
    let text = format!(
        "{MINIMAL}\n[faults]\nmode = \"schedule\"\n\n[[faults.schedule]]\nat_ms = 9000\nfault = \"link-cut\"\nbrokers = [3, 1]\nfor_ms = 1000\n\n[[faults.schedule]]\nat_ms = 1000\nfault = \"crash\"\nbroker = 2\nfor_ms = 5000\n"
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
            "at 9.000 s: cut broker-1 and broker-3 apart for 1.000 s"
        ]
    );
    let bad = text.replace("broker = 2", "broker = 4");
    let e = error(&bad);
    assert!(e.contains("there is no broker-4"), "{e}");
    assert!(e.starts_with("line 17, column 1: "), "{e}");
    let late = text.replace("at_ms = 9000", "at_ms = 60000");
    assert!(error(&late).contains("starts after the safety phase"));
    let unknown = text.replace("\"crash\"", "\"meteor\"");
    assert!(error(&unknown).contains("unknown fault \"meteor\""));
    let no_client = format!("{MINIMAL}\n[faults]\nmode = \"schedule\"\n[[faults.schedule]]\nat_ms = 0\nfault = \"client-cut\"\nclient = \"consumer-9\"\nbroker = 1\nfor_ms = 10\n");
    assert!(
        error(&no_client).contains("there is no client consumer-9"),
        "{}",
        error(&no_client)
    );
}

#[test]
fn fault_modes_and_their_keys_must_agree() {
    let swarm_schedule = format!("{MINIMAL}\n[faults]\nmode = \"swarm\"\n[[faults.schedule]]\nat_ms = 0\nfault = \"crash\"\nbroker = 1\nfor_ms = 10\n");
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
    for text in [STANDARD_FILE, zombie, unclean] {
        let mut workload = parse(text).expect("parses");
        workload.expect = Some(super::super::Expectation {
            seed: 7,
            kind: "lost-write".into(),
        });
        let header = vec!["a header line".to_string()];
        let notes = vec!["why the first fault matters".to_string()];
        let written = to_toml(&workload, &header, &notes);
        assert!(written.starts_with("# a header line\n"), "{written}");
        let again = parse(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(again.topics, workload.topics);
        assert_eq!(again.producers, workload.producers);
        assert_eq!(again.groups, workload.groups);
        assert_eq!(again.faults, workload.faults);
        assert_eq!(again.expect, workload.expect);
        assert_eq!(to_toml(&again, &header, &notes), written);
    }
}
