//! The edge between Kafka's wire protocol (the `kafka-protocol` crate's types)
//! and the model's own requests and responses.
//!
//! Everything here is translation: field by field, with Kafka's names on both
//! sides. What the model lacks is refused with the error code Kafka uses for
//! it, never answered by a rule of the edge's own; the few answers the edge
//! gives itself (ApiVersions, the wire-format errors) are about the wire
//! format, which the model does not know.

pub mod groups;
pub mod records;
pub mod request;
pub mod response;
pub mod versions;

/// Kafka's error codes for wire-format problems, which only the edge can see
/// (the model's `ErrorCode` lists the codes the model itself produces).
pub mod codes {
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const INVALID_REQUEST: i16 = 42;
    pub const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
    pub const INVALID_RECORD: i16 = 87;
}

/// The model's correlation ids are `u64`; Kafka's are `i32`. The bits are
/// kept, so the answer carries exactly the id the client sent.
pub fn model_correlation_id(wire: i32) -> u64 {
    wire as u32 as u64
}

pub fn wire_correlation_id(model: u64) -> i32 {
    model as u32 as i32
}
