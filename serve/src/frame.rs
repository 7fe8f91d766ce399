//! Kafka's framing: every request and response is a 4-byte big-endian size
//! followed by that many bytes.
//!
//! A peer's size is untrusted: a negative one, or one above
//! `socket.request.max.bytes`, closes the connection before anything is
//! allocated for it, as Kafka's `NetworkReceive` does (it logs the size and
//! drops the connection). A stream that ends inside a frame is a truncated
//! frame: the connection closes with nothing answered.

use bytes::{Bytes, BytesMut};
use std::fmt;
use tokio::io::{AsyncRead, AsyncReadExt};

/// `socket.request.max.bytes`: Kafka's default, 100 MiB.
pub const SOCKET_REQUEST_MAX_BYTES: usize = 104_857_600;

/// Why a connection's stream of frames ended or broke.
#[derive(Debug)]
pub enum FrameError {
    /// The peer sent a size below zero or above `socket.request.max.bytes`.
    InvalidSize(i32),
    /// The stream ended in the middle of a frame.
    Truncated {
        expected: usize,
        got: usize,
    },
    Io(std::io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::InvalidSize(size) => write!(
                f,
                "invalid frame size {size} (socket.request.max.bytes is {SOCKET_REQUEST_MAX_BYTES})"
            ),
            FrameError::Truncated { expected, got } => {
                write!(f, "stream ended {got} bytes into a {expected}-byte frame")
            }
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Reads one frame's body. `Ok(None)`: the peer closed between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<Bytes>, FrameError> {
    let mut size = [0u8; 4];
    let mut got = 0;
    while got < size.len() {
        match reader
            .read(&mut size[got..])
            .await
            .map_err(FrameError::Io)?
        {
            0 if got == 0 => return Ok(None),
            0 => return Err(FrameError::Truncated { expected: 4, got }),
            n => got += n,
        }
    }
    let size = i32::from_be_bytes(size);
    let len = usize::try_from(size).map_err(|_| FrameError::InvalidSize(size))?;
    if len > SOCKET_REQUEST_MAX_BYTES {
        return Err(FrameError::InvalidSize(size));
    }
    // Read in chunks so that a peer announcing a large frame and sending
    // little makes the server hold only what it actually sent.
    let mut body = BytesMut::with_capacity(len.min(64 * 1024));
    while body.len() < len {
        let want = (len - body.len()).min(64 * 1024);
        let start = body.len();
        body.resize(start + want, 0);
        let n = reader
            .read(&mut body[start..])
            .await
            .map_err(FrameError::Io)?;
        body.truncate(start + n);
        if n == 0 {
            return Err(FrameError::Truncated {
                expected: len,
                got: body.len(),
            });
        }
    }
    Ok(Some(body.freeze()))
}

/// Prefixes `body` with its size.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}
