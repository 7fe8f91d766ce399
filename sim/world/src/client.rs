//! Async client APIs for application code running on a simulated client machine.
//!
//! Each client starts a driver task that owns its sans-IO core and its
//! connections. An API call runs a method on the core with a fresh token and awaits
//! the completion the core later emits with that token. This is the only place
//! where the model's clients touch async Rust.
//!
//! The producer and the consumer record what they do in the run's history
//! (see `kafkasim_check::history`), under a process name of their own: their
//! client machine's name (`producer-1`), with `#2`, `#3`, … for a second and a
//! third client on one machine. Every run is judged from that one record, so no
//! application code records anything itself, but for what only the application
//! knows: that it processed a record ([`Consumer::processed`]).

use crate::cluster::Cluster;
use crate::driver::{run_node, Command, NodeCell};
use kafkasim::client::{Completion, Token};
use kafkasim::ids::NodeId;
use kafkasim::node::Node;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

mod admin;
mod consumer;
mod producer;

pub use admin::Admin;
pub use consumer::Consumer;
pub use producer::Producer;

type Waiters<T> = Arc<Mutex<BTreeMap<Token, oneshot::Sender<T>>>>;

/// The part every async client shares: a command channel to its driver task and
/// the calls waiting for their completion (`T` is the core's outcome type).
struct ClientHandle<N, T> {
    node: NodeId,
    /// The client's name in the history.
    process: String,
    commands: mpsc::UnboundedSender<Command<N>>,
    waiters: Waiters<T>,
    next_token: Mutex<Token>,
}

impl<N, T> ClientHandle<N, T>
where
    N: Node<Event = Completion<T>> + Send + 'static,
    T: std::fmt::Debug + std::hash::Hash + Send + 'static,
    Completion<T>: crate::trace::EventText,
{
    /// Starts `core` on the current client machine; `process` is its name in
    /// the history (the machine's name when `None`).
    fn start(cluster: &Cluster, core: N, process: Option<&str>) -> Self {
        let node = NodeId::Client(cluster.next_client_id());
        let machine = crate::cluster::current_machine();
        if cluster.trace().is_capturing() {
            if let Some(machine) = &machine {
                cluster.trace().name_machine(node, machine);
            }
        }
        let wanted = process.or(machine.as_deref()).unwrap_or("app");
        let process = cluster.process_name(wanted);
        let (commands, receiver) = mpsc::unbounded_channel();
        let waiters: Waiters<T> = Arc::default();
        let cell: NodeCell<N> = Arc::new(Mutex::new(Some(core)));
        let on_event = {
            let waiters = waiters.clone();
            move |_now, completion: Completion<T>| {
                let waiter = (waiters.lock().expect("waiters lock")).remove(&completion.token);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(completion.outcome);
                }
            }
        };
        madsim::task::spawn(run_node(
            node,
            cell,
            cluster.trace().clone(),
            cluster.driver_faults().clone(),
            on_event,
            Some(receiver),
        ));
        ClientHandle {
            node,
            process,
            commands,
            waiters,
            next_token: Mutex::new(0),
        }
    }

    /// Runs `call` on the core with a fresh token and waits for its completion.
    async fn call(&self, call: impl FnOnce(&mut N, u64, Token) + Send + 'static) -> T {
        let token = {
            let mut next = self.next_token.lock().expect("token lock");
            *next += 1;
            *next
        };
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().expect("waiters lock").insert(token, tx);
        let command: Command<N> = Box::new(move |core, now| call(core, now, token));
        self.commands
            .send(command)
            .expect("the client's driver runs as long as the client");
        rx.await.expect("every call completes")
    }

    /// Runs `action` on the core without waiting for a completion.
    fn tell(&self, action: impl FnOnce(&mut N, u64) + Send + 'static) {
        self.commands
            .send(Box::new(action))
            .expect("the client's driver runs as long as the client");
    }

    /// Runs `query` on the core and returns what it returns (for calls the core
    /// answers at once, without a completion).
    async fn query<R: Send + 'static>(
        &self,
        query: impl FnOnce(&mut N, u64) -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = oneshot::channel();
        self.tell(move |core, now| {
            let _ = tx.send(query(core, now));
        });
        rx.await.expect("the client's driver runs every command")
    }
}
