//! The words for each request: who asks, and for what, by Kafka's field names.

use super::{batch_values, brokers, counted, duration, listed, part, Told};
use kafkasim::ids::{LeaderEpoch, TopicPartition};
use kafkasim::protocol::{
    Acks, AlterPartitionRequest, CreateTopicsRequest, ElectLeadersRequest, ElectionType,
    FetchRequest, JoinGroupRequest, ListOffsetsRequest, OffsetCommitRequest,
    OffsetsForLeaderEpochRequest, ProduceRequest, Request, SyncGroupRequest, CONSUMER_REPLICA_ID,
    EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, NO_GENERATION, UNKNOWN_MEMBER_ID,
};

/// What `request` asks, after its API's name.
pub(crate) fn request(request: &Request) -> Told {
    match request {
        Request::Metadata(r) => Told::text(match &r.topics {
            None => "all topics".to_string(),
            Some(topics) if topics.is_empty() => "no topics".to_string(),
            Some(topics) => format!("topics {}", listed(topics.iter().cloned(), ", ")),
        }),
        Request::CreateTopics(r) => create_topics(r),
        Request::DeleteTopics(r) => Told::text(format!(
            "topics {}",
            listed(r.topic_names.iter().cloned(), ", ")
        )),
        Request::Produce(r) => produce(r),
        Request::Fetch(r) => fetch(r),
        Request::ListOffsets(r) => list_offsets(r),
        Request::OffsetsForLeaderEpoch(r) => offsets_for_leader_epoch(r),
        Request::InitProducerId(r) => Told::text(format!(
            "{}, transaction timeout {}",
            r.transactional_id
                .as_ref()
                .map_or("no transactional_id".to_string(), |id| format!(
                    "transactional_id {id}"
                )),
            duration(r.transaction_timeout_ms)
        )),
        Request::ElectLeaders(r) => elect_leaders(r),
        Request::AlterPartition(r) => alter_partition(r),
        Request::FindCoordinator(r) => Told::text(format!("group {}", r.key)),
        Request::JoinGroup(r) => join_group(r),
        Request::SyncGroup(r) => sync_group(r),
        Request::Heartbeat(r) => Told::text(format!(
            "group {}, generation {}, {}",
            r.group_id,
            r.generation_id,
            member(&r.member_id, r.group_instance_id.as_deref())
        )),
        Request::LeaveGroup(r) => Told::text(format!(
            "group {}, {}",
            r.group_id,
            listed(
                r.members
                    .iter()
                    .map(|m| member(&m.member_id, m.group_instance_id.as_deref())),
                ", "
            )
        )),
        Request::OffsetCommit(r) => offset_commit(r),
        Request::OffsetFetch(r) => match &r.partitions {
            None => Told::text(format!("group {}, every committed partition", r.group_id)),
            Some(parts) => Told::new(
                parts.clone(),
                format!(
                    "group {}, {}",
                    r.group_id,
                    listed(parts.iter().map(TopicPartition::to_string), ", ")
                ),
            ),
        },
        Request::BrokerRegistration(r) => Told::text(format!(
            "broker-{}, incarnation {}, listener {}",
            r.broker_id, r.incarnation_id, r.listener
        )),
        Request::BrokerHeartbeat(r) => Told::text(format!(
            "broker-{}, broker epoch {}, metadata offset {}",
            r.broker_id, r.broker_epoch, r.current_metadata_offset
        )),
        Request::ClusterMetadataFetch(r) => Told::text(format!(
            "broker-{} has image version {}, wait up to {}",
            r.broker_id,
            r.known_version,
            duration(r.max_wait_ms)
        )),
    }
}

/// A member as the group knows it: its member id (none yet on a first join),
/// and its `group.instance.id` if it is static.
fn member(member_id: &str, group_instance_id: Option<&str>) -> String {
    let id = if member_id == UNKNOWN_MEMBER_ID {
        "new member".to_string()
    } else {
        format!("member {member_id}")
    };
    match group_instance_id {
        Some(instance) => format!("{id} (group.instance.id {instance})"),
        None => id,
    }
}

/// `, current_leader_epoch 3`, or nothing when the sender skips the check.
fn current_epoch(epoch: Option<LeaderEpoch>) -> String {
    epoch.map_or(String::new(), |e| format!(", current_leader_epoch {e}"))
}

fn create_topics(r: &CreateTopicsRequest) -> Told {
    let topics = r.topics.iter().map(|t| {
        let configs: Vec<String> = (t.configs.iter())
            .map(|(key, value)| format!(", {key}={value}"))
            .collect();
        format!(
            "{} ({}, replication factor {}{})",
            t.name,
            counted(t.num_partitions.max(0) as usize, "partition"),
            t.replication_factor,
            configs.concat()
        )
    });
    Told::text(format!(
        "{}, timeout {}",
        listed(topics, ", "),
        duration(r.timeout_ms)
    ))
}

fn produce(r: &ProduceRequest) -> Told {
    let acks = match r.acks {
        Acks::None => "acks=0",
        Acks::Leader => "acks=1",
        Acks::All => "acks=all",
    };
    let partitions = r.partitions.iter().map(|p| {
        let producer = p.records.producer.map_or(String::new(), |id| {
            format!(
                ", base sequence {}, producer id {} epoch {}",
                id.base_sequence, id.producer_id, id.producer_epoch
            )
        });
        format!(
            "{}: 1 batch{producer}{}, {}",
            p.partition,
            current_epoch(p.current_leader_epoch),
            batch_values(&p.records)
        )
    });
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        format!(
            "{acks}, timeout {}, {}",
            duration(r.timeout_ms),
            listed(partitions, "; ")
        ),
    )
}

fn fetch(r: &FetchRequest) -> Told {
    let who = if r.replica_id == CONSUMER_REPLICA_ID {
        "consumer".to_string()
    } else {
        format!(
            "replica {} (broker epoch {})",
            r.replica_id, r.replica_epoch
        )
    };
    let max_bytes = if r.max_bytes == usize::MAX {
        String::new()
    } else {
        format!(", max_bytes {}", r.max_bytes)
    };
    let partitions = r.partitions.iter().map(|p| {
        format!(
            "{} fetch_offset {}{}",
            p.partition,
            p.fetch_offset,
            current_epoch(p.current_leader_epoch)
        )
    });
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        format!(
            "{who}, max wait {}, min_bytes {}{max_bytes}: {}",
            duration(r.max_wait_ms),
            r.min_bytes,
            listed(partitions, "; ")
        ),
    )
}

fn list_offsets(r: &ListOffsetsRequest) -> Told {
    let who = if r.replica_id == CONSUMER_REPLICA_ID {
        "consumer".to_string()
    } else {
        format!("replica {}", r.replica_id)
    };
    let partitions = r.partitions.iter().map(|p| {
        let which = match p.timestamp {
            EARLIEST_TIMESTAMP => "earliest".to_string(),
            LATEST_TIMESTAMP => "latest".to_string(),
            t => format!("timestamp {t}"),
        };
        format!(
            "{} {which}{}",
            p.partition,
            current_epoch(p.current_leader_epoch)
        )
    });
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        format!("{who}: {}", listed(partitions, "; ")),
    )
}

fn offsets_for_leader_epoch(r: &OffsetsForLeaderEpochRequest) -> Told {
    let partitions = r.partitions.iter().map(|p| {
        format!(
            "{} leader_epoch {}, current_leader_epoch {}",
            p.partition, p.leader_epoch, p.current_leader_epoch
        )
    });
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        format!("replica {}: {}", r.replica_id, listed(partitions, "; ")),
    )
}

fn elect_leaders(r: &ElectLeadersRequest) -> Told {
    let kind = match r.election_type {
        ElectionType::Preferred => "preferred",
        ElectionType::Unclean => "unclean",
    };
    let (partitions, which) = match &r.partitions {
        None => (vec![], "every partition".to_string()),
        Some(parts) => (
            parts.clone(),
            listed(parts.iter().map(TopicPartition::to_string), ", "),
        ),
    };
    Told::new(
        partitions,
        format!(
            "{kind} election of {which}, timeout {}",
            duration(r.timeout_ms)
        ),
    )
}

fn alter_partition(r: &AlterPartitionRequest) -> Told {
    let partitions = r.partitions.iter().map(|p| {
        format!(
            "{} ISR {} (broker epochs {}), leader_epoch {}, partition_epoch {}",
            p.partition,
            brokers(&p.new_isr),
            epochs(&p.new_isr_broker_epochs),
            p.leader_epoch,
            p.partition_epoch
        )
    });
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        format!(
            "leader broker-{} (broker epoch {}): {}",
            r.broker_id,
            r.broker_epoch,
            listed(partitions, "; ")
        ),
    )
}

fn epochs(epochs: &[i64]) -> String {
    let shown: Vec<String> = epochs.iter().map(i64::to_string).collect();
    format!("[{}]", shown.join(","))
}

fn join_group(r: &JoinGroupRequest) -> Told {
    let assignors = listed(r.protocols.iter().map(|p| p.name.clone()), ", ");
    let assignors = format!("[{assignors}]");
    // Every protocol carries the same subscription: the member's.
    let subscription = r.protocols.first().map_or(String::new(), |p| {
        let owned = if p.metadata.owned_partitions.is_empty() {
            String::new()
        } else {
            format!(
                ", owns [{}] (generation {})",
                listed(
                    p.metadata.owned_partitions.iter().map(|tp| tp.to_string()),
                    ", "
                ),
                p.metadata.generation_id
            )
        };
        format!(
            ", topics [{}]{owned}",
            listed(p.metadata.topics.iter().cloned(), ", ")
        )
    });
    Told::text(format!(
        "group {}, {}, session timeout {}, rebalance timeout {}, assignors {assignors}{subscription}",
        r.group_id,
        member(&r.member_id, r.group_instance_id.as_deref()),
        duration(r.session_timeout_ms),
        duration(r.rebalance_timeout_ms),
    ))
}

fn sync_group(r: &SyncGroupRequest) -> Told {
    let assignments = if r.assignments.is_empty() {
        "no assignments".to_string()
    } else {
        let each = r.assignments.iter().map(|a| {
            format!(
                "{} gets [{}]",
                a.member_id,
                listed(
                    a.assignment
                        .partitions
                        .iter()
                        .map(TopicPartition::to_string),
                    ", "
                )
            )
        });
        format!("assignments: {}", listed(each, "; "))
    };
    Told::new(
        (r.assignments.iter())
            .flat_map(|a| a.assignment.partitions.iter().cloned())
            .collect(),
        format!(
            "group {}, generation {}, {}, {assignments}",
            r.group_id,
            r.generation_id,
            member(&r.member_id, r.group_instance_id.as_deref())
        ),
    )
}

fn offset_commit(r: &OffsetCommitRequest) -> Told {
    let partitions = r.partitions.iter().map(|p| {
        let epoch = p
            .committed_leader_epoch
            .map_or(String::new(), |e| format!(", leader_epoch {e}"));
        let metadata = match p.committed_metadata.as_deref() {
            None | Some("") => String::new(),
            Some(m) => format!(", metadata {m}"),
        };
        part(
            &p.partition,
            &format!("committed_offset {}{epoch}{metadata}", p.committed_offset),
        )
    });
    let generation = if r.generation_id == NO_GENERATION {
        "outside any generation".to_string()
    } else {
        format!("generation {}", r.generation_id)
    };
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        format!(
            "group {}, {generation}, {}: {}",
            r.group_id,
            member(&r.member_id, r.group_instance_id.as_deref()),
            listed(partitions, "; ")
        ),
    )
}
