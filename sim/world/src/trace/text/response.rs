//! The words for each response: what the answer gives, or the error it names.

use super::{brokers, counted, listed, part, record, records, values, with_error, Told};
use kafkasim::error::ErrorCode;
use kafkasim::ids::TopicPartition;
use kafkasim::metadata::MetadataImage;
use kafkasim::protocol::{
    AlterPartitionResponse, FetchResponse, FetchablePartitionResponse, JoinGroupResponse,
    MetadataResponse, OffsetFetchResponse, Response,
};

/// What `response` answers, after its API's name.
pub(crate) fn response(response: &Response) -> Told {
    match response {
        Response::Metadata(r) => metadata(r),
        Response::CreateTopics(r) => Told::text(listed(
            r.topics.iter().map(|t| {
                let message = t
                    .error_message
                    .as_ref()
                    .map_or(String::new(), |m| format!(" ({m})"));
                match t.error_code {
                    ErrorCode::None => format!("{} created", t.name),
                    code => format!("{} {}{message}", t.name, code.name()),
                }
            }),
            ", ",
        )),
        Response::DeleteTopics(r) => Told::text(listed(
            r.responses.iter().map(|t| match t.error_code {
                ErrorCode::None => format!("{} deleted", t.name),
                code => format!("{} {}", t.name, code.name()),
            }),
            ", ",
        )),
        Response::Produce(r) => Told::new(
            r.responses.iter().map(|p| p.partition.clone()).collect(),
            listed(
                r.responses.iter().map(|p| match p.error_code {
                    ErrorCode::None => format!(
                        "{} base_offset {}, log_start_offset {}",
                        p.partition, p.base_offset, p.log_start_offset
                    ),
                    code => format!("{} {}", p.partition, code.name()),
                }),
                "; ",
            ),
        ),
        Response::Fetch(r) => fetch(r),
        Response::ListOffsets(r) => Told::new(
            r.partitions.iter().map(|p| p.partition.clone()).collect(),
            listed(
                r.partitions.iter().map(|p| match p.error_code {
                    ErrorCode::None => format!(
                        "{} offset {}, leader_epoch {}",
                        p.partition, p.offset, p.leader_epoch
                    ),
                    code => format!("{} {}", p.partition, code.name()),
                }),
                "; ",
            ),
        ),
        Response::OffsetsForLeaderEpoch(r) => Told::new(
            r.partitions.iter().map(|p| p.partition.clone()).collect(),
            listed(
                r.partitions.iter().map(|p| match p.error_code {
                    ErrorCode::None => format!(
                        "{} leader_epoch {} ends at end_offset {}",
                        p.partition, p.leader_epoch, p.end_offset
                    ),
                    code => format!("{} {}", p.partition, code.name()),
                }),
                "; ",
            ),
        ),
        Response::InitProducerId(r) => Told::text(with_error(
            match r.error_code {
                ErrorCode::None => {
                    format!("producer id {} epoch {}", r.producer_id, r.producer_epoch)
                }
                _ => String::new(),
            },
            r.error_code,
        )),
        Response::ElectLeaders(r) => Told::new(
            r.results.iter().map(|p| p.partition.clone()).collect(),
            with_error(
                listed(
                    r.results.iter().map(|p| match p.error_code {
                        ErrorCode::None => format!("{} elected", p.partition),
                        code => format!("{} {}", p.partition, code.name()),
                    }),
                    ", ",
                ),
                r.error_code,
            ),
        ),
        Response::AlterPartition(r) => alter_partition(r),
        Response::FindCoordinator(r) => Told::text(match r.error_code {
            ErrorCode::None => format!("coordinator broker-{}", r.node_id),
            code => code.name().to_string(),
        }),
        Response::JoinGroup(r) => join_group(r),
        Response::SyncGroup(r) => Told::new(
            r.assignment.partitions.clone(),
            with_error(
                match r.error_code {
                    ErrorCode::None => format!(
                        "assigned [{}]",
                        listed(
                            r.assignment
                                .partitions
                                .iter()
                                .map(TopicPartition::to_string),
                            ", "
                        )
                    ),
                    _ => String::new(),
                },
                r.error_code,
            ),
        ),
        Response::Heartbeat(r) => Told::text(with_error("", r.error_code)),
        Response::LeaveGroup(r) => Told::text(with_error("", r.error_code)),
        Response::OffsetCommit(r) => Told::new(
            r.partitions.iter().map(|p| p.partition.clone()).collect(),
            listed(
                r.partitions.iter().map(|p| match p.error_code {
                    ErrorCode::None => format!("{} committed", p.partition),
                    code => format!("{} {}", p.partition, code.name()),
                }),
                ", ",
            ),
        ),
        Response::OffsetFetch(r) => offset_fetch(r),
        Response::BrokerRegistration(r) => Told::text(match r.error_code {
            ErrorCode::None => format!("broker epoch {}", r.broker_epoch),
            code => code.name().to_string(),
        }),
        Response::BrokerHeartbeat(r) => Told::text(with_error(
            if r.is_fenced { "fenced" } else { "unfenced" },
            r.error_code,
        )),
        Response::ClusterMetadataFetch(r) => Told::text(match &r.image {
            None => "no change within the wait".to_string(),
            Some(image) => image_summary(image),
        }),
    }
}

fn metadata(r: &MetadataResponse) -> Told {
    let ids: Vec<i32> = r.brokers.iter().map(|b| b.node_id).collect();
    let mut partitions = Vec::new();
    let topics = r.topics.iter().flat_map(|t| {
        if t.error_code != ErrorCode::None {
            return vec![format!("{} {}", t.name, t.error_code.name())];
        }
        t.partitions
            .iter()
            .map(|p| {
                let tp = TopicPartition::new(t.name.clone(), p.partition_index);
                let leader = p
                    .leader_id
                    .map_or("no leader".to_string(), |l| format!("leader {l}"));
                let text = with_error(
                    format!(
                        "{leader}, leader_epoch {}, replicas {}, ISR {}",
                        p.leader_epoch,
                        brokers(&p.replica_nodes),
                        brokers(&p.isr_nodes)
                    ),
                    p.error_code,
                );
                partitions.push(tp.clone());
                part(&tp, &text)
            })
            .collect()
    });
    let topics = listed(topics, "; ");
    let topics = if topics.is_empty() {
        "no topics".to_string()
    } else {
        topics
    };
    let brokers = if ids.is_empty() {
        "no brokers".to_string()
    } else {
        format!("brokers {}", brokers(&ids))
    };
    Told::new(
        partitions,
        format!(
            "metadata version {}, {brokers}, {topics}",
            r.metadata_version
        ),
    )
}

/// A whole metadata image in a few words: its version, its brokers (naming the
/// fenced ones) and its topics.
fn image_summary(image: &MetadataImage) -> String {
    let fenced: Vec<String> = (image.brokers.values())
        .filter(|b| b.fenced)
        .map(|b| format!("broker-{}", b.broker_id))
        .collect();
    let fenced = if fenced.is_empty() {
        String::new()
    } else {
        format!(" ({} fenced)", fenced.join(", "))
    };
    let topics = listed(
        image
            .topics
            .values()
            .map(|t| format!("{}: {}", t.name, counted(t.partitions.len(), "partition"))),
        ", ",
    );
    let topics = if topics.is_empty() {
        String::new()
    } else {
        format!(" ({topics})")
    };
    format!(
        "image version {}, {}{fenced}, {}{topics}",
        image.version,
        counted(image.brokers.len(), "broker"),
        counted(image.topics.len(), "topic")
    )
}

fn fetch(r: &FetchResponse) -> Told {
    let text = listed(r.responses.iter().map(fetched), "; ");
    Told::new(
        r.responses.iter().map(|p| p.partition.clone()).collect(),
        with_error(text, r.error_code),
    )
}

/// One partition of a Fetch response: its high watermark and log start, and
/// the records it carries (where the first one sits, in which leader epoch).
fn fetched(p: &FetchablePartitionResponse) -> String {
    if p.error_code != ErrorCode::None {
        return format!("{} {}", p.partition, p.error_code.name());
    }
    let count: usize = p.records.iter().map(|b| b.records.len()).sum();
    let carried = match p.records.first() {
        None => "no records".to_string(),
        Some(first) => {
            let mut epochs: Vec<i32> = p.records.iter().map(|b| b.partition_leader_epoch).collect();
            epochs.dedup();
            let epochs: Vec<String> = epochs.iter().map(i32::to_string).collect();
            let epochs = match epochs.len() {
                1 => format!("leader epoch {}", epochs[0]),
                _ => format!("leader epochs {}", epochs.join(", ")),
            };
            let all = (p.records.iter()).flat_map(|b| {
                b.records
                    .iter()
                    .map(|r| record(r.key.as_ref(), r.value.as_ref()))
            });
            format!(
                "{} from offset {} ({epochs}) {}",
                records(count),
                first.base_offset,
                values(all.collect::<Vec<_>>().into_iter())
            )
        }
    };
    format!(
        "{} high_watermark {}, log_start_offset {}, {carried}",
        p.partition, p.high_watermark, p.log_start_offset
    )
}

fn alter_partition(r: &AlterPartitionResponse) -> Told {
    let partitions = r.partitions.iter().map(|p| {
        let leader = p
            .leader_id
            .map_or("no leader".to_string(), |l| format!("leader {l}"));
        with_error(
            format!(
                "{} {leader}, leader_epoch {}, ISR {}, partition_epoch {}",
                p.partition,
                p.leader_epoch,
                brokers(&p.isr),
                p.partition_epoch
            ),
            p.error_code,
        )
    });
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        with_error(listed(partitions, "; "), r.error_code),
    )
}

fn join_group(r: &JoinGroupResponse) -> Told {
    if r.error_code != ErrorCode::None {
        // MEMBER_ID_REQUIRED hands out the id to join with.
        let id = if r.member_id.is_empty() {
            String::new()
        } else {
            format!("member {} ", r.member_id)
        };
        return Told::text(format!("{id}{}", r.error_code.name()));
    }
    let assignor = r
        .protocol_name
        .as_ref()
        .map_or(String::new(), |name| format!(", assignor {name}"));
    let members = if r.members.is_empty() {
        String::new()
    } else {
        let each = r.members.iter().map(|m| {
            format!(
                "{} (topics [{}])",
                m.member_id,
                listed(m.metadata.topics.iter().cloned(), ", ")
            )
        });
        format!(", members {}", listed(each, ", "))
    };
    Told::text(format!(
        "generation {}, member {}, leader {}{assignor}{members}",
        r.generation_id, r.member_id, r.leader
    ))
}

fn offset_fetch(r: &OffsetFetchResponse) -> Told {
    let partitions = r.partitions.iter().map(|p| {
        if p.error_code != ErrorCode::None {
            return format!("{} {}", p.partition, p.error_code.name());
        }
        if p.committed_offset < 0 {
            return format!("{} no committed offset", p.partition);
        }
        let epoch = p
            .committed_leader_epoch
            .map_or(String::new(), |e| format!(", leader_epoch {e}"));
        format!(
            "{} committed_offset {}{epoch}",
            p.partition, p.committed_offset
        )
    });
    let text = listed(partitions, "; ");
    let text = if text.is_empty() && r.error_code == ErrorCode::None {
        "no committed offsets".to_string()
    } else {
        text
    };
    Told::new(
        r.partitions.iter().map(|p| p.partition.clone()).collect(),
        with_error(text, r.error_code),
    )
}
