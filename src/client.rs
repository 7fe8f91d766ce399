//! The protocol cores of Kafka's clients: [`admin`], [`producer`], [`consumer`].
//!
//! Each core is a sans-IO state machine like the servers: the application calls
//! methods such as `send(now_ms, token, record)`, and the core later emits a
//! [`Completion`] carrying the same token. The simulation harness wraps each core
//! in an async API (`Producer::send(..).await`), as Kafka's Java client wraps its
//! `NetworkClient` and `Sender` thread.
//!
//! [`network`] holds what all three share: correlation ids, requests in flight with
//! their timeouts, and the client's cached cluster metadata with its refresh logic.

use crate::error::ErrorCode;
use std::fmt;

pub mod admin;
pub mod consumer;
pub mod network;
pub mod producer;

/// Names one pending call of the application, chosen by the caller.
pub type Token = u64;

/// A finished call: the token the application gave, and what came of it.
#[derive(Debug, Clone, PartialEq, Hash, Eq)]
pub struct Completion<T> {
    pub token: Token,
    pub outcome: T,
}

/// Why a client call failed.
#[derive(Debug, Clone, PartialEq, Hash, Eq)]
pub enum ClientError {
    /// A broker answered with this error and retrying could not help (or ran out of time).
    Broker { code: ErrorCode, message: String },
    /// No answer in time. The operation may or may not have taken effect.
    Timeout { message: String },
    /// The call was wrong in itself: a partition out of range, a bad argument.
    Invalid { message: String },
}

impl ClientError {
    // ANCHOR: ambiguous
    /// True when the operation might still have happened (Kafka's "ambiguous"
    /// outcome): the checkers must treat it as unknown, not as failed.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ClientError::Timeout { .. } => true,
            ClientError::Broker { code, .. } => {
                matches!(
                    code,
                    ErrorCode::RequestTimedOut
                        | ErrorCode::NetworkException
                        | ErrorCode::NotLeaderOrFollower
                        | ErrorCode::NotEnoughReplicasAfterAppend
                )
            }
            ClientError::Invalid { .. } => false,
        }
    }
    // ANCHOR_END: ambiguous
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Broker { code, message } if message.is_empty() => write!(f, "{code}"),
            ClientError::Broker { code, message } => write!(f, "{code}: {message}"),
            ClientError::Timeout { message } => write!(f, "timeout: {message}"),
            ClientError::Invalid { message } => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ClientError {}
