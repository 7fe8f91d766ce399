//! One client's TCP connection to one broker.
//!
//! Requests on a connection are handled one at a time, in order: the next
//! frame is read only once the previous request is answered, as Kafka mutes a
//! connection while a request from it is being handled. So a connection holds
//! at most one request, and a slow or hostile client holds up only itself.
//! Anything wrong with a frame closes this connection and nothing else, with
//! one line on stderr saying why. A connection to a broker that crashes
//! closes, as the dead process's sockets do. A `client-cut` (`control`)
//! holds the connection's traffic both ways until `heal`, as a stalled TCP
//! link does: the request read is not passed on and no answer is written
//! while it lasts; what the client sends meanwhile waits in the socket. A
//! slow network delays the request on its way to the broker and the answer
//! on its way back, in the hub (`Routes::client_sends`).

use crate::frame::{read_frame, FrameError};
use crate::hub::Routes;
use crate::wire::request::{decode, Decoded};
use crate::wire::response::{self, Context};
use crate::wire::{model_correlation_id, wire_correlation_id};
use kafkasim::ids::{BrokerId, NodeId};
use kafkasim::protocol::Message;
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Serves `stream` until the client closes it or sends something wrong.
pub(crate) async fn serve(
    stream: TcpStream,
    connection: u64,
    broker: BrokerId,
    routes: Arc<Routes>,
    listeners: Arc<dyn Fn(BrokerId) -> Option<(String, i32)> + Send + Sync>,
) {
    let peer_addr = stream.peer_addr().ok();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let (replies_tx, mut replies) = mpsc::unbounded_channel();
    let mut cut = routes.add_client(connection, broker, peer_addr, replies_tx);
    let cx = Context {
        broker,
        listeners: &*listeners,
    };
    let mut up = routes
        .slot(NodeId::Broker(broker))
        .expect("every listener belongs to a broker")
        .up
        .subscribe();
    let requests = async {
        loop {
            let frame = match read_frame(&mut reader).await {
                Ok(Some(frame)) => frame,
                Ok(None) => break None,
                Err(FrameError::Io(e)) => break Some(e.to_string()),
                Err(e) => break Some(e.to_string()),
            };
            let answer = match decode(frame) {
                Err(refusal) => break Some(refusal.to_string()),
                Ok(Decoded::Answer { response, pending }) => response::encode(&pending, &response),
                Ok(Decoded::Model { request, pending }) => {
                    let message = Message::Request {
                        correlation_id: model_correlation_id(pending.correlation_id),
                        request,
                    };
                    if cut.wait_for(|cut| !*cut).await.is_err() {
                        break Some("the server stopped".into());
                    }
                    if !routes.client_sends(connection, broker, message) {
                        break Some("the broker stopped".into());
                    }
                    if !pending.expects_response {
                        continue;
                    }
                    let Some(reply) = replies.recv().await else {
                        break Some("the broker stopped".into());
                    };
                    let Message::Response {
                        correlation_id,
                        response: model_response,
                    } = reply
                    else {
                        unreachable!("brokers send clients only responses");
                    };
                    assert_eq!(
                        wire_correlation_id(correlation_id),
                        pending.correlation_id,
                        "one request at a time: the answer is to the last request"
                    );
                    let kind = response::from_model(model_response, &pending, &cx);
                    response::encode(&pending, &kind)
                }
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => break Some(format!("cannot encode the answer: {e}")),
            };
            if cut.wait_for(|cut| !*cut).await.is_err() {
                break Some("the server stopped".into());
            }
            if let Err(e) = writer.write_all(&answer).await {
                break Some(e.to_string());
            }
        }
    };
    let why = tokio::select! {
        why = requests => why,
        _ = up.wait_for(|up| !*up) => None,
    };
    if let Some(why) = why {
        eprintln!("broker-{broker}: closing connection from {peer_addr:?}: {why}");
    }
    routes.remove_client(connection);
    routes.client_closed(connection, broker);
}
