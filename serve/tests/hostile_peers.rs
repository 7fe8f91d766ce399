//! Peer input never takes the server down: random bytes, wrong sizes, huge
//! sizes, truncated frames, unknown APIs and versions, and random bodies for
//! the APIs the server speaks each close at most the connection that sent
//! them, and another client still gets answers.
//!
//! A random body for a supported API often announces an array of a billion
//! elements in a few bytes, which `kafka-protocol` 0.18 turns into one
//! allocation of that many elements before decoding any. The binary and this
//! test run under `kafkasim_serve::alloc::ReserveLazily`, which maps such a
//! block without reserving it; without it the process aborts
//! ("memory allocation of 172302722032 bytes failed").

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, MetadataRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafkasim_serve::alloc::ReserveLazily;
use kafkasim_serve::wire::versions::SUPPORTED;
use kafkasim_serve::{frame::SOCKET_REQUEST_MAX_BYTES, ServeConfig, Server};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[global_allocator]
static ALLOCATOR: ReserveLazily<std::alloc::System> = ReserveLazily(std::alloc::System);

/// How many hostile connections the test opens.
const HOSTILE_CONNECTIONS: usize = 300;
/// The longest any one answer may take before the test fails.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

fn request(api: ApiKey, version: i16, correlation_id: i32, body: &impl Encodable) -> Vec<u8> {
    let mut header = RequestHeader::default();
    header.request_api_key = api as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_static_str("fuzz"));
    let mut buf = bytes::BytesMut::new();
    header
        .encode(&mut buf, api.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    kafkasim_serve::frame::frame(&buf)
}

/// Sends one well-formed request on a fresh connection and reads the answer's
/// correlation id.
async fn answered(addr: SocketAddr, api: ApiKey, version: i16, body: &impl Encodable) -> i32 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&request(api, version, 77, body))
        .await
        .unwrap();
    let mut size = [0u8; 4];
    tokio::time::timeout(ANSWER_TIMEOUT, stream.read_exact(&mut size))
        .await
        .expect("answered in time")
        .expect("answered");
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).await.unwrap();
    i32::from_be_bytes([body[0], body[1], body[2], body[3]])
}

/// One hostile frame, drawn from `rng`.
fn hostile_bytes(rng: &mut SmallRng) -> Vec<u8> {
    let body: Vec<u8> = (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect();
    match rng.gen_range(0..7) {
        // Pure noise, no framing.
        0 => body,
        // A size far above socket.request.max.bytes, or negative.
        1 => {
            let size = [i32::MAX, -1, i32::MIN, SOCKET_REQUEST_MAX_BYTES as i32 + 1];
            size[rng.gen_range(0..size.len())].to_be_bytes().to_vec()
        }
        // A size larger than what follows: a truncated frame.
        2 => {
            let mut out = ((body.len() + 1000) as u32).to_be_bytes().to_vec();
            out.extend(body);
            out
        }
        // An unknown API key.
        3 => {
            let mut frame = vec![0x7f, 0x00, 0, 0, 0, 0, 0, 1];
            frame.extend(body);
            kafkasim_serve::frame::frame(&frame)
        }
        // A frame too short to hold a request header.
        4 => kafkasim_serve::frame::frame(&body[..body.len().min(3)]),
        // A random body for an API and version the server speaks: its
        // array counts are whatever the bytes say.
        5 => {
            let (api, min, max) = SUPPORTED[rng.gen_range(0..SUPPORTED.len())];
            let version = rng.gen_range(min..=max);
            let mut frame = Vec::new();
            frame.extend((api as i16).to_be_bytes());
            frame.extend(version.to_be_bytes());
            frame.extend(1i32.to_be_bytes());
            frame.extend((-1i16).to_be_bytes()); // no client id
            if api.request_header_version(version) >= 2 {
                frame.push(0); // no tagged fields
            }
            // A count of about a billion first, then noise.
            frame.extend([0x3f, 0xff, 0xff, 0xff]);
            frame.extend(body);
            kafkasim_serve::frame::frame(&frame)
        }
        // A known API in a version out of range.
        _ => {
            let mut frame = vec![0, 3, 0x7f, 0x7f, 0, 0, 0, 1];
            frame.extend(body);
            kafkasim_serve::frame::frame(&frame)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_close_only_their_connection_and_others_get_answers() {
    let config = ServeConfig {
        port: 0,
        brokers: 1,
        ..ServeConfig::default()
    };
    let server = Server::start(&config).await.expect("port 0 always binds");
    let addr = server.addrs()[&1];
    let mut rng = SmallRng::seed_from_u64(20_240_427);
    for i in 0..HOSTILE_CONNECTIONS {
        let bytes = hostile_bytes(&mut rng);
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
        // Whatever the server does with it, it answers or closes: reading
        // ends within the timeout.
        let mut sink = Vec::new();
        let read = tokio::time::timeout(ANSWER_TIMEOUT, stream.read_to_end(&mut sink)).await;
        assert!(read.is_ok(), "connection {i} neither answered nor closed");
        if i % 50 == 0 {
            let body = ApiVersionsRequest::default();
            assert_eq!(answered(addr, ApiKey::ApiVersions, 3, &body).await, 77);
        }
    }
    let metadata = MetadataRequest::default();
    assert_eq!(answered(addr, ApiKey::Metadata, 9, &metadata).await, 77);
}

#[tokio::test]
async fn an_api_versions_in_an_unknown_version_is_answered_with_unsupported_version() {
    let config = ServeConfig {
        port: 0,
        brokers: 1,
        ..ServeConfig::default()
    };
    let server = Server::start(&config).await.unwrap();
    let addr = server.addrs()[&1];
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // ApiVersions v99: header v1 (key, version, correlation id, client id).
    let frame = kafkasim_serve::frame::frame(&[0, 18, 0, 99, 0, 0, 0, 5, 0xff, 0xff]);
    stream.write_all(&frame).await.unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await.unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).await.unwrap();
    assert_eq!(&body[0..4], &5i32.to_be_bytes(), "correlation id");
    assert_eq!(&body[4..6], &35i16.to_be_bytes(), "UNSUPPORTED_VERSION");
}
