use super::*;

/// Every request in these tests carries this correlation id; replies must echo it.
const CID: CorrelationId = 7;
const ADMIN: Peer = Peer {
    node: NodeId::Client(1),
    connection: 100,
};
const SESSION_TIMEOUT_MS: u64 = 9_000;
const FETCH_MAX_WAIT_MS: u64 = 500;

type Effects = Vec<Effect<ClusterEvent>>;

fn broker(id: BrokerId) -> Peer {
    Peer {
        node: NodeId::Broker(id),
        connection: id as u64,
    }
}

fn new_controller() -> Controller {
    let config = ControllerConfig::default();
    assert_eq!(config.broker_session_timeout_ms, SESSION_TIMEOUT_MS);
    assert_eq!(config.metadata_fetch_max_wait_ms, FETCH_MAX_WAIT_MS);
    Controller::new(config, Disk::default(), 0)
}

/// Delivers one request and returns everything the controller did about it.
fn handle(c: &mut Controller, now_ms: u64, from: Peer, request: Request) -> Effects {
    let message = Message::Request {
        correlation_id: CID,
        request,
    };
    c.on_message(now_ms, from, message);
    c.invariants();
    c.take_effects()
}

fn tick(c: &mut Controller, now_ms: u64) -> Effects {
    c.on_tick(now_ms);
    c.invariants();
    c.take_effects()
}

/// The single reply in `effects` that goes to `to`.
fn reply_to(to: Peer, effects: &Effects) -> Response {
    let replies: Vec<&Response> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply {
                to: peer,
                message:
                    Message::Response {
                        correlation_id,
                        response,
                    },
            } if *peer == to => {
                assert_eq!(*correlation_id, CID, "a reply echoes the correlation id");
                Some(response)
            }
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 1, "one reply to {to:?} in {effects:?}");
    replies[0].clone()
}

fn events(effects: &Effects) -> Vec<ClusterEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Emit(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// Registers broker `id` (its first start); returns its broker epoch. A
/// second call is a retried registration of the same process.
fn register(c: &mut Controller, now_ms: u64, id: BrokerId) -> i64 {
    let r = register_incarnation(c, now_ms, id, 1);
    assert_eq!(r.error_code, ErrorCode::None);
    r.broker_epoch
}

/// Broker `id`'s process, start number `incarnation_id`, registers.
fn register_incarnation(
    c: &mut Controller,
    now_ms: u64,
    id: BrokerId,
    incarnation_id: u64,
) -> BrokerRegistrationResponse {
    let request = Request::BrokerRegistration(BrokerRegistrationRequest {
        broker_id: id,
        incarnation_id,
        listener: format!("broker-{id}:9092"),
    });
    let effects = handle(c, now_ms, broker(id), request);
    let Response::BrokerRegistration(r) = reply_to(broker(id), &effects) else {
        panic!("not a registration response: {effects:?}");
    };
    r
}

fn heartbeat(c: &mut Controller, now_ms: u64, id: BrokerId, epoch: i64) -> BrokerHeartbeatResponse {
    let request = Request::BrokerHeartbeat(BrokerHeartbeatRequest {
        broker_id: id,
        broker_epoch: epoch,
        current_metadata_offset: 0,
    });
    let effects = handle(c, now_ms, broker(id), request);
    let Response::BrokerHeartbeat(r) = reply_to(broker(id), &effects) else {
        panic!("not a heartbeat response: {effects:?}");
    };
    r
}

/// Registers each broker and heartbeats it once at time 0, so all are live.
fn controller_with_live_brokers(ids: &[BrokerId]) -> Controller {
    let mut c = new_controller();
    for &id in ids {
        let epoch = register(&mut c, 0, id);
        assert_eq!(heartbeat(&mut c, 0, id, epoch).error_code, ErrorCode::None);
    }
    assert_eq!(c.image().live_brokers(), ids);
    c
}

fn topic(name: &str, num_partitions: i32, replication_factor: i16) -> CreatableTopic {
    CreatableTopic {
        name: name.into(),
        num_partitions,
        replication_factor,
        configs: BTreeMap::new(),
    }
}

fn with_config(mut topic: CreatableTopic, key: &str, value: &str) -> CreatableTopic {
    topic.configs.insert(key.into(), value.into());
    topic
}

fn create(c: &mut Controller, now_ms: u64, topic: CreatableTopic) -> CreatableTopicResult {
    let request = Request::CreateTopics(CreateTopicsRequest {
        topics: vec![topic],
        timeout_ms: 30_000,
    });
    let effects = handle(c, now_ms, ADMIN, request);
    let Response::CreateTopics(mut r) = reply_to(ADMIN, &effects) else {
        panic!("not a CreateTopics response: {effects:?}");
    };
    assert_eq!(r.topics.len(), 1);
    r.topics.remove(0)
}

/// Creating `topic` fails with `code` and changes nothing.
fn assert_create_fails(c: &mut Controller, topic: CreatableTopic, code: ErrorCode) {
    let before = c.image().clone();
    let result = create(c, 0, topic);
    assert_eq!(result.error_code, code, "{:?}", result.error_message);
    assert!(result.error_message.is_some());
    assert_eq!(c.image(), &before, "a failed CreateTopics commits nothing");
}

fn metadata_fetch(c: &mut Controller, now_ms: u64, id: BrokerId, known_version: u64) -> Effects {
    let request = Request::ClusterMetadataFetch(ClusterMetadataFetchRequest {
        broker_id: id,
        known_version,
        max_wait_ms: 10_000,
    });
    handle(c, now_ms, broker(id), request)
}

fn fetched_image(to: Peer, effects: &Effects) -> Option<MetadataImage> {
    let Response::ClusterMetadataFetch(r) = reply_to(to, effects) else {
        panic!("not a metadata fetch response: {effects:?}");
    };
    r.image
}

fn partition<'a>(c: &'a Controller, topic: &str, index: i32) -> &'a PartitionInfo {
    c.image()
        .partition(&TopicPartition::new(topic, index))
        .expect("partition exists")
}

// ---- Registration and heartbeats ------------------------------------------------

#[test]
fn a_registering_broker_gets_a_new_epoch_and_starts_fenced() {
    let mut c = new_controller();
    let request = Request::BrokerRegistration(BrokerRegistrationRequest {
        broker_id: 1,
        incarnation_id: 1,
        listener: "broker-1:9092".into(),
    });
    let effects = handle(&mut c, 0, broker(1), request);
    assert_eq!(
        reply_to(broker(1), &effects),
        Response::BrokerRegistration(BrokerRegistrationResponse {
            error_code: ErrorCode::None,
            broker_epoch: 1,
        })
    );
    assert_eq!(
        events(&effects),
        vec![ClusterEvent::BrokerRegistered {
            broker: 1,
            broker_epoch: 1
        }]
    );
    assert_eq!(
        c.image().brokers[&1],
        BrokerInfo {
            broker_id: 1,
            broker_epoch: 1,
            incarnation_id: 1,
            listener: "broker-1:9092".into(),
            fenced: true,
        }
    );
    assert!(c.image().live_brokers().is_empty());
    // The next registration (of any broker) gets a later epoch.
    assert_eq!(register(&mut c, 0, 2), 2);
}

#[test]
fn the_first_heartbeat_unfences_a_broker() {
    let mut c = new_controller();
    let epoch = register(&mut c, 0, 1);
    let request = Request::BrokerHeartbeat(BrokerHeartbeatRequest {
        broker_id: 1,
        broker_epoch: epoch,
        current_metadata_offset: 1,
    });
    let effects = handle(&mut c, 10, broker(1), request);
    assert_eq!(
        reply_to(broker(1), &effects),
        Response::BrokerHeartbeat(BrokerHeartbeatResponse {
            error_code: ErrorCode::None,
            is_fenced: false,
        })
    );
    assert_eq!(
        events(&effects),
        vec![ClusterEvent::BrokerUnfenced { broker: 1 }]
    );
    assert_eq!(c.image().live_brokers(), vec![1]);
}

#[test]
fn a_heartbeat_with_a_stale_broker_epoch_is_rejected() {
    let mut c = new_controller();
    let old_epoch = register(&mut c, 0, 1);
    // The broker restarted before its first heartbeat: fenced, it has no
    // session, so its new incarnation is welcome at once.
    let restarted = register_incarnation(&mut c, 0, 1, 2);
    assert_eq!(restarted.error_code, ErrorCode::None);
    let new_epoch = restarted.broker_epoch;
    assert!(new_epoch > old_epoch);
    let response = heartbeat(&mut c, 0, 1, old_epoch);
    assert_eq!(
        response,
        BrokerHeartbeatResponse {
            error_code: ErrorCode::StaleBrokerEpoch,
            is_fenced: true,
        }
    );
    assert!(!c.image().is_live(1), "a stale heartbeat unfences nothing");
    assert_eq!(
        heartbeat(&mut c, 0, 1, new_epoch).error_code,
        ErrorCode::None
    );
}

#[test]
fn a_heartbeat_from_an_unregistered_broker_is_rejected() {
    let mut c = new_controller();
    let response = heartbeat(&mut c, 0, 3, 1);
    assert_eq!(
        response,
        BrokerHeartbeatResponse {
            error_code: ErrorCode::BrokerIdNotRegistered,
            is_fenced: true,
        }
    );
    assert!(c.image().brokers.is_empty());
    assert_eq!(c.image().version, 0);
}

#[test]
fn a_broker_silent_for_the_session_timeout_is_fenced_and_loses_leadership() {
    let mut c = controller_with_live_brokers(&[1]);
    assert_eq!(
        create(&mut c, 0, topic("orders", 1, 1)).error_code,
        ErrorCode::None
    );
    assert_eq!(partition(&c, "orders", 0).leader, Some(1));
    assert_eq!(c.next_deadline_ms(), Some(SESSION_TIMEOUT_MS));

    assert!(tick(&mut c, SESSION_TIMEOUT_MS - 1).is_empty());
    assert!(c.image().is_live(1));

    let effects = tick(&mut c, SESSION_TIMEOUT_MS);
    assert!(!c.image().is_live(1));
    let p = partition(&c, "orders", 0);
    assert_eq!(p.leader, None, "the only replica is gone: no leader");
    assert_eq!(p.isr, vec![1], "the last ISR member stays");
    assert_eq!(p.leader_epoch, 1, "going offline is a leader change");
    assert_eq!(
        events(&effects),
        vec![
            ClusterEvent::BrokerFenced { broker: 1 },
            ClusterEvent::LeaderElected {
                partition: TopicPartition::new("orders", 0),
                leader: None,
                leader_epoch: 1,
                isr: vec![1],
                elr: vec![],
                unclean: false,
            },
        ]
    );
    assert_eq!(c.next_deadline_ms(), None, "fenced brokers have no session");
}

#[test]
fn heartbeats_keep_a_broker_alive_past_the_session_timeout() {
    let mut c = controller_with_live_brokers(&[1]);
    let epoch = c.image().brokers[&1].broker_epoch;
    assert_eq!(
        heartbeat(&mut c, 5_000, 1, epoch).error_code,
        ErrorCode::None
    );
    assert_eq!(c.next_deadline_ms(), Some(5_000 + SESSION_TIMEOUT_MS));
    assert!(tick(&mut c, SESSION_TIMEOUT_MS).is_empty());
    assert!(c.image().is_live(1));
}

#[test]
fn a_fenced_broker_that_heartbeats_again_leads_its_partitions_in_a_new_epoch() {
    let mut c = controller_with_live_brokers(&[1]);
    create(&mut c, 0, topic("orders", 1, 1));
    tick(&mut c, SESSION_TIMEOUT_MS);
    assert_eq!(partition(&c, "orders", 0).leader, None);

    let epoch = c.image().brokers[&1].broker_epoch;
    let response = heartbeat(&mut c, SESSION_TIMEOUT_MS + 1, 1, epoch);
    assert!(!response.is_fenced);
    let p = partition(&c, "orders", 0);
    assert_eq!((p.leader, p.leader_epoch), (Some(1), 2));
}

// ---- CreateTopics ---------------------------------------------------------------

#[test]
fn creating_an_existing_topic_fails_with_topic_already_exists() {
    let mut c = controller_with_live_brokers(&[1]);
    assert_eq!(
        create(&mut c, 0, topic("orders", 1, 1)).error_code,
        ErrorCode::None
    );
    assert_create_fails(&mut c, topic("orders", 3, 1), ErrorCode::TopicAlreadyExists);
    assert_eq!(c.image().topics["orders"].partitions.len(), 1);
}

#[test]
fn a_topic_with_no_partitions_fails_with_invalid_partitions() {
    let mut c = controller_with_live_brokers(&[1]);
    assert_create_fails(&mut c, topic("orders", 0, 1), ErrorCode::InvalidPartitions);
}

#[test]
fn a_replication_factor_above_the_live_broker_count_fails() {
    let mut c = controller_with_live_brokers(&[1]);
    assert_create_fails(
        &mut c,
        topic("orders", 1, 2),
        ErrorCode::InvalidReplicationFactor,
    );
    // A registered but fenced broker does not count as live.
    let mut c = new_controller();
    register(&mut c, 0, 1);
    assert_create_fails(
        &mut c,
        topic("orders", 1, 1),
        ErrorCode::InvalidReplicationFactor,
    );
}

#[test]
fn min_insync_replicas_above_the_replication_factor_fails_with_invalid_config() {
    let mut c = controller_with_live_brokers(&[1]);
    let t = with_config(topic("orders", 1, 1), "min.insync.replicas", "2");
    assert_create_fails(&mut c, t, ErrorCode::InvalidConfig);
}

#[test]
fn an_unknown_topic_config_key_fails_with_invalid_config() {
    let mut c = controller_with_live_brokers(&[1]);
    let t = with_config(topic("orders", 1, 1), "retention.bytes.typo", "1");
    assert_create_fails(&mut c, t, ErrorCode::InvalidConfig);
}

#[test]
fn replicas_are_placed_round_robin_over_live_brokers_and_the_first_leads() {
    let mut c = controller_with_live_brokers(&[1, 2, 3]);
    let result = create(&mut c, 0, topic("orders", 4, 1));
    assert_eq!(
        (result.error_code, result.error_message),
        (ErrorCode::None, None)
    );
    let placed = |c: &Controller, name: &str| -> Vec<(Vec<BrokerId>, Option<BrokerId>)> {
        c.image().topics[name]
            .partitions
            .iter()
            .map(|p| {
                assert_eq!(
                    p.isr, p.replicas,
                    "a new partition's ISR is all its replicas"
                );
                assert_eq!((p.leader_epoch, p.partition_epoch), (0, 0));
                (p.replicas.clone(), p.leader)
            })
            .collect()
    };
    assert_eq!(
        placed(&c, "orders"),
        vec![
            (vec![1], Some(1)),
            (vec![2], Some(2)),
            (vec![3], Some(3)),
            (vec![1], Some(1)),
        ]
    );
    // The next topic starts one broker further, so small topics spread out.
    create(&mut c, 0, topic("payments", 2, 1));
    assert_eq!(
        placed(&c, "payments"),
        vec![(vec![2], Some(2)), (vec![3], Some(3))]
    );
}

#[test]
fn creating_a_topic_emits_its_placement() {
    let mut c = controller_with_live_brokers(&[1, 2]);
    let request = Request::CreateTopics(CreateTopicsRequest {
        topics: vec![topic("orders", 2, 1)],
        timeout_ms: 30_000,
    });
    let effects = handle(&mut c, 0, ADMIN, request);
    assert_eq!(
        events(&effects),
        vec![ClusterEvent::TopicCreated {
            topic: "orders".into(),
            replicas: vec![vec![1], vec![2]],
        }]
    );
}

// ---- Metadata versions and fetches ----------------------------------------------

fn delete(c: &mut Controller, now_ms: u64, names: &[&str]) -> (Vec<DeletableTopicResult>, Effects) {
    let request = Request::DeleteTopics(DeleteTopicsRequest {
        topic_names: names.iter().map(|n| n.to_string()).collect(),
        timeout_ms: 30_000,
    });
    let effects = handle(c, now_ms, ADMIN, request);
    let Response::DeleteTopics(r) = reply_to(ADMIN, &effects) else {
        panic!("not a DeleteTopics response: {effects:?}");
    };
    (r.responses, effects)
}

#[test]
fn deleting_a_topic_removes_its_partitions_from_the_metadata_and_tells_waiting_brokers() {
    let mut c = controller_with_live_brokers(&[1, 2]);
    assert_eq!(
        create(&mut c, 0, topic("orders", 2, 2)).error_code,
        ErrorCode::None
    );
    assert_eq!(
        create(&mut c, 0, topic("payments", 1, 1)).error_code,
        ErrorCode::None
    );
    let version = c.image().version;
    assert!(metadata_fetch(&mut c, 100, 1, version).is_empty(), "parked");

    let (results, effects) = delete(&mut c, 200, &["orders"]);
    assert_eq!(
        results,
        vec![DeletableTopicResult {
            name: "orders".into(),
            error_code: ErrorCode::None,
            error_message: None,
        }]
    );
    assert_eq!(
        events(&effects),
        vec![ClusterEvent::TopicDeleted {
            topic: "orders".into(),
            partitions: 2,
        }]
    );
    let image = fetched_image(broker(1), &effects).expect("the change is sent");
    assert_eq!(image.version, version + 1);
    assert!(!image.topics.contains_key("orders"));
    assert!(image.topics.contains_key("payments"), "other topics stay");
    assert_eq!(c.image(), &image);
}

#[test]
fn deleting_an_unknown_topic_fails_with_unknown_topic_or_partition_and_changes_nothing() {
    let mut c = controller_with_live_brokers(&[1]);
    assert_eq!(
        create(&mut c, 0, topic("orders", 1, 1)).error_code,
        ErrorCode::None
    );
    let before = c.image().clone();
    let (results, effects) = delete(&mut c, 0, &["payments"]);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].error_code, ErrorCode::UnknownTopicOrPartition);
    assert!(events(&effects).is_empty());
    assert_eq!(c.image(), &before, "a failed DeleteTopics commits nothing");
}

#[test]
fn each_topic_of_a_delete_topics_is_answered_on_its_own() {
    let mut c = controller_with_live_brokers(&[1]);
    assert_eq!(
        create(&mut c, 0, topic("orders", 1, 1)).error_code,
        ErrorCode::None
    );
    let (results, _) = delete(&mut c, 0, &["payments", "orders"]);
    let codes: Vec<(String, ErrorCode)> = (results.into_iter())
        .map(|r| (r.name, r.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("payments".into(), ErrorCode::UnknownTopicOrPartition),
            ("orders".into(), ErrorCode::None),
        ]
    );
    assert!(c.image().topics.is_empty());
}

#[test]
fn a_deleted_topic_can_be_created_again_with_epochs_from_the_start() {
    let mut c = controller_with_live_brokers(&[1, 2]);
    assert_eq!(
        create(&mut c, 0, topic("orders", 1, 2)).error_code,
        ErrorCode::None
    );
    let (results, _) = delete(&mut c, 0, &["orders"]);
    assert_eq!(results[0].error_code, ErrorCode::None);
    assert_eq!(
        create(&mut c, 0, topic("orders", 1, 2)).error_code,
        ErrorCode::None
    );
    assert_eq!(partition(&c, "orders", 0).leader_epoch, 0);
}

#[test]
fn the_offsets_topic_is_deleted_like_any_other() {
    let mut c = controller_with_live_brokers(&[1]);
    let offsets = crate::group::offsets_topic::OFFSETS_TOPIC;
    assert_eq!(
        create(&mut c, 0, topic(offsets, 1, 1)).error_code,
        ErrorCode::None
    );
    let (results, _) = delete(&mut c, 0, &[offsets]);
    assert_eq!(results[0].error_code, ErrorCode::None);
    assert!(!c.image().topics.contains_key(offsets));
}

#[test]
fn every_metadata_change_gets_a_strictly_higher_version() {
    let mut c = new_controller();
    let mut versions = vec![c.image().version];
    let epoch = register(&mut c, 0, 1);
    versions.push(c.image().version);
    heartbeat(&mut c, 0, 1, epoch);
    versions.push(c.image().version);
    create(&mut c, 0, topic("orders", 1, 1));
    versions.push(c.image().version);
    tick(&mut c, SESSION_TIMEOUT_MS);
    versions.push(c.image().version);
    assert_eq!(versions, vec![0, 1, 2, 3, 4]);

    // Requests that change nothing leave the version alone.
    create(&mut c, 0, topic("orders", 1, 1));
    tick(&mut c, SESSION_TIMEOUT_MS + 1);
    assert_eq!(c.image().version, 4);
}

#[test]
fn a_metadata_fetch_behind_the_current_version_is_answered_at_once() {
    let mut c = controller_with_live_brokers(&[1]);
    create(&mut c, 0, topic("orders", 1, 1));
    let effects = metadata_fetch(&mut c, 0, 1, 1);
    assert_eq!(fetched_image(broker(1), &effects).as_ref(), Some(c.image()));
    assert_eq!(
        c.next_deadline_ms(),
        Some(SESSION_TIMEOUT_MS),
        "nothing parked"
    );
}

#[test]
fn a_metadata_fetch_at_the_current_version_waits_for_the_next_change() {
    let mut c = controller_with_live_brokers(&[1]);
    let version = c.image().version;
    assert!(metadata_fetch(&mut c, 100, 1, version).is_empty());
    assert_eq!(c.next_deadline_ms(), Some(100 + FETCH_MAX_WAIT_MS));

    let effects = handle(&mut c, 200, ADMIN, {
        Request::CreateTopics(CreateTopicsRequest {
            topics: vec![topic("orders", 1, 1)],
            timeout_ms: 30_000,
        })
    });
    let image = fetched_image(broker(1), &effects).expect("the change is sent");
    assert_eq!(image.version, version + 1);
    assert!(image.topics.contains_key("orders"));
    assert!(
        tick(&mut c, 100 + FETCH_MAX_WAIT_MS).is_empty(),
        "answered once"
    );
}

#[test]
fn a_metadata_fetch_at_the_current_version_is_answered_empty_at_its_deadline() {
    let mut c = controller_with_live_brokers(&[1]);
    let version = c.image().version;
    assert!(metadata_fetch(&mut c, 100, 1, version).is_empty());
    assert!(tick(&mut c, 100 + FETCH_MAX_WAIT_MS - 1).is_empty());
    let effects = tick(&mut c, 100 + FETCH_MAX_WAIT_MS);
    assert_eq!(fetched_image(broker(1), &effects), None);
    assert_eq!(c.next_deadline_ms(), Some(SESSION_TIMEOUT_MS));
}

#[test]
fn a_parked_metadata_fetch_is_dropped_when_its_broker_disconnects() {
    let mut c = controller_with_live_brokers(&[1]);
    let version = c.image().version;
    metadata_fetch(&mut c, 0, 1, version);
    c.on_disconnect(10, NodeId::Broker(1));
    c.invariants();
    let effects = handle(&mut c, 20, ADMIN, {
        Request::CreateTopics(CreateTopicsRequest {
            topics: vec![topic("orders", 1, 1)],
            timeout_ms: 30_000,
        })
    });
    assert!(
        effects
            .iter()
            .all(|e| !matches!(e, Effect::Reply { to, .. } if *to == broker(1))),
        "{effects:?}"
    );
}

// ---- AlterPartition -------------------------------------------------------------

/// Broker `from` proposes `new_isr` for `orders-0`, based on the given epochs.
fn alter_partition(
    c: &mut Controller,
    from: BrokerId,
    broker_epoch: i64,
    (leader_epoch, partition_epoch): (i32, i32),
    new_isr: &[BrokerId],
) -> AlterPartitionResponse {
    let request = Request::AlterPartition(AlterPartitionRequest {
        broker_id: from,
        broker_epoch,
        partitions: vec![AlterPartitionData {
            partition: TopicPartition::new("orders", 0),
            leader_epoch,
            new_isr: new_isr.to_vec(),
            new_isr_broker_epochs: vec![-1; new_isr.len()],
            partition_epoch,
        }],
    });
    let effects = handle(c, 0, broker(from), request);
    let Response::AlterPartition(r) = reply_to(broker(from), &effects) else {
        panic!("not an AlterPartition response: {effects:?}");
    };
    r
}

/// The error code of the single partition in an AlterPartition answer.
fn partition_error(response: &AlterPartitionResponse) -> ErrorCode {
    assert_eq!(response.error_code, ErrorCode::None);
    assert_eq!(response.partitions.len(), 1);
    response.partitions[0].error_code
}

/// Brokers 1, 2, 3 live; `orders-0` on all three, led by broker 1 in epoch 0.
fn controller_with_orders_on_three_brokers() -> Controller {
    let mut c = controller_with_live_brokers(&[1, 2, 3]);
    assert_eq!(
        create(&mut c, 0, topic("orders", 1, 3)).error_code,
        ErrorCode::None
    );
    let p = partition(&c, "orders", 0);
    assert_eq!(
        (p.leader, p.leader_epoch, p.partition_epoch),
        (Some(1), 0, 0)
    );
    c
}

#[test]
fn an_alter_partition_from_the_leader_changes_the_isr_and_bumps_the_partition_epoch() {
    let mut c = controller_with_orders_on_three_brokers();
    let epoch = c.image().brokers[&1].broker_epoch;
    let response = alter_partition(&mut c, 1, epoch, (0, 0), &[1, 2]);
    assert_eq!(
        response.partitions,
        vec![AlterPartitionResult {
            partition: TopicPartition::new("orders", 0),
            error_code: ErrorCode::None,
            leader_id: Some(1),
            leader_epoch: 0,
            isr: vec![1, 2],
            partition_epoch: 1,
        }]
    );
    assert_eq!(partition(&c, "orders", 0).isr, vec![1, 2]);
}

#[test]
fn an_alter_partition_from_a_stale_broker_epoch_is_rejected_with_stale_broker_epoch() {
    let mut c = controller_with_orders_on_three_brokers();
    let old_epoch = c.image().brokers[&1].broker_epoch;
    let new_epoch = register(&mut c, 0, 1); // broker 1 registered again
    assert!(new_epoch > old_epoch);
    let before = c.image().clone();

    let response = alter_partition(&mut c, 1, old_epoch, (0, 0), &[1]);
    assert_eq!(
        response,
        AlterPartitionResponse {
            error_code: ErrorCode::StaleBrokerEpoch,
            partitions: vec![],
        }
    );
    assert_eq!(c.image(), &before, "a rejected proposal commits nothing");
}

#[test]
fn an_alter_partition_from_a_deposed_leader_is_fenced_by_its_leader_epoch() {
    let mut c = controller_with_orders_on_three_brokers();
    // Broker 1 falls silent and is fenced: leadership moves to broker 2 in epoch 1.
    let new_epoch = c.image().brokers[&1].broker_epoch;
    for id in [2, 3] {
        let epoch = c.image().brokers[&id].broker_epoch;
        heartbeat(&mut c, 8_000, id, epoch);
    }
    tick(&mut c, 9_000);
    assert_eq!(partition(&c, "orders", 0).leader, Some(2));
    assert_eq!(partition(&c, "orders", 0).leader_epoch, 1);
    let before = c.image().clone();

    // The old leader, still in epoch 0, proposes a shrink.
    let response = alter_partition(&mut c, 1, new_epoch, (0, 0), &[1]);
    assert_eq!(partition_error(&response), ErrorCode::FencedLeaderEpoch);
    assert_eq!(c.image(), &before);
}

#[test]
fn an_alter_partition_from_a_replica_that_is_not_the_leader_is_an_invalid_request() {
    let mut c = controller_with_orders_on_three_brokers();
    let before = c.image().clone();
    let epoch = c.image().brokers[&2].broker_epoch;
    // Broker 2 is a follower in the current epochs: only the leader may propose.
    let response = alter_partition(&mut c, 2, epoch, (0, 0), &[1, 2]);
    assert_eq!(partition_error(&response), ErrorCode::InvalidRequest);
    assert_eq!(c.image(), &before);
}

// ---- Restart --------------------------------------------------------------------

#[test]
fn a_new_incarnation_is_refused_while_the_old_session_is_valid() {
    let mut c = controller_with_orders_on_three_brokers();
    let before = c.image().clone();
    // Broker 1, the leader, crashed and restarted within its session.
    let refused = register_incarnation(&mut c, 1_000, 1, 2);
    assert_eq!(refused.error_code, ErrorCode::DuplicateBrokerRegistration);
    assert_eq!(c.image(), &before, "nothing changes");
    // The same process registering again is a retry, not a second broker.
    assert_eq!(
        register_incarnation(&mut c, 1_000, 1, 1).error_code,
        ErrorCode::None
    );
}

#[test]
fn once_its_session_expired_a_restarted_broker_registers_fenced_and_outside_the_isr() {
    let mut c = controller_with_orders_on_three_brokers();
    for id in [2, 3] {
        let epoch = c.image().brokers[&id].broker_epoch;
        heartbeat(&mut c, 8_000, id, epoch);
    }
    tick(&mut c, 9_000);
    let p = partition(&c, "orders", 0);
    assert_eq!((p.leader, p.isr.clone()), (Some(2), vec![2, 3]), "fenced");
    let accepted = register_incarnation(&mut c, 9_500, 1, 2);
    assert_eq!(accepted.error_code, ErrorCode::None);
    heartbeat(&mut c, 9_500, 1, accepted.broker_epoch);
    assert!(c.image().is_live(1));
    let p = partition(&c, "orders", 0);
    assert_eq!(
        (p.leader, p.isr.clone()),
        (Some(2), vec![2, 3]),
        "it rejoins the ISR only by catching up with the leader"
    );
}

#[test]
fn a_restart_the_controller_has_not_fenced_yet_leaves_the_isr_and_leadership_at_registration() {
    let mut c = controller_with_orders_on_three_brokers();
    // 9 s without a heartbeat: the session is over, but no tick fenced it.
    let accepted = register_incarnation(&mut c, 9_001, 1, 2);
    assert_eq!(accepted.error_code, ErrorCode::None);
    let p = partition(&c, "orders", 0);
    assert_eq!(p.isr, vec![2, 3]);
    assert_eq!(p.leader, Some(2));
}

#[test]
fn the_last_isr_member_keeps_its_place_when_it_restarts() {
    let mut c = controller_with_live_brokers(&[1, 2]);
    create(&mut c, 0, topic("orders", 1, 2));
    // Broker 2 is fenced; broker 1 is the ISR alone.
    let epoch = c.image().brokers[&1].broker_epoch;
    heartbeat(&mut c, 8_000, 1, epoch);
    tick(&mut c, 9_000);
    assert_eq!(partition(&c, "orders", 0).isr, vec![1]);
    // Then broker 1 restarts too, past its session.
    tick(&mut c, 17_001);
    let accepted = register_incarnation(&mut c, 17_001, 1, 2);
    assert_eq!(accepted.error_code, ErrorCode::None);
    let p = partition(&c, "orders", 0);
    assert_eq!(
        p.isr,
        vec![1],
        "the controller remembers who may hold the records"
    );
    assert_eq!(p.leader, None);
}

#[test]
fn a_restarted_controller_keeps_topics_and_brokers() {
    let mut c = controller_with_live_brokers(&[1, 2]);
    create(&mut c, 0, topic("orders", 2, 1));
    let before = c.image().clone();
    let epoch = before.brokers[&1].broker_epoch;

    let mut c = Controller::new(ControllerConfig::default(), c.into_disk(), 5_000);
    c.invariants();
    assert_eq!(c.image(), &before);
    // Every broker gets a fresh session from the restart.
    assert_eq!(c.next_deadline_ms(), Some(5_000 + SESSION_TIMEOUT_MS));
    assert!(tick(&mut c, 5_000 + SESSION_TIMEOUT_MS - 1).is_empty());
    // Brokers keep their epochs, so their heartbeats are still accepted.
    assert_eq!(
        heartbeat(&mut c, 6_000, 1, epoch).error_code,
        ErrorCode::None
    );
    // And the next change continues from the persisted version.
    create(&mut c, 6_000, topic("payments", 1, 1));
    assert_eq!(c.image().version, before.version + 1);
}
