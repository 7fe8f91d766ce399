//! The APIs this server speaks, each in the versions its translation handles.
//!
//! ApiVersions advertises exactly this table, and a request of any other API
//! or version closes its connection (Kafka does the same for a version it
//! cannot parse). The ranges stop below the versions whose fields the model
//! has no place for: topic ids (Metadata v10+, Fetch v13+, DeleteTopics v6),
//! Fetch sessions' incremental fetches are answered as full fetches (session
//! id 0, which KIP-227 allows), and the batched FindCoordinator of v4+.

use kafka_protocol::messages::ApiKey;

/// `(api, min_version, max_version)`.
pub const SUPPORTED: [(ApiKey, i16, i16); 15] = [
    (ApiKey::Produce, 3, 8),
    (ApiKey::Fetch, 4, 11),
    (ApiKey::ListOffsets, 1, 5),
    (ApiKey::Metadata, 1, 9),
    (ApiKey::OffsetCommit, 2, 7),
    (ApiKey::OffsetFetch, 1, 5),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 4, 5),
    (ApiKey::Heartbeat, 0, 3),
    (ApiKey::LeaveGroup, 0, 3),
    (ApiKey::SyncGroup, 0, 3),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 4),
    // v6 may name topics by id alone, which the model has no place for.
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::InitProducerId, 0, 1),
];

/// Whether `version` of `api` is one this server translates.
pub fn supports(api: ApiKey, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|&(a, min, max)| a == api && (min..=max).contains(&version))
}
