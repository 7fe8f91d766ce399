//! Faults a scenario injects on purpose: network partitions, lost responses,
//! stop-the-world pauses. Crashes and restarts live in `cluster`.
//!
//! Every fault is written to the trace and told on the timeline, so a run's story
//! shows what was done to the cluster next to what the cluster did about it.
//!
//! ## What a cut link does to a connection
//!
//! A cut is madsim's clog of a link, in both directions. madsim 0.2.34 treats its
//! reliable channels (`Endpoint::connect1`, which the driver uses) like TCP under
//! a partition, and never drops a message on them:
//! - Each message is stamped when it is sent with the link's state: open (then it
//!   arrives after the usual latency, even if the link is cut meanwhile) or clogged.
//! - The receiving end takes messages strictly in order. A message sent into a
//!   clogged link stalls there, and everything behind it waits too. The receiver
//!   probes the link again after 1 ms, 2 ms, 4 ms, … up to every 10 s, forever: the
//!   connection never breaks by itself, and after a heal the stalled messages
//!   arrive in order at the next probe, up to 10 s later (much like TCP's
//!   retransmission backoff).
//! - Opening a new connection over a cut link fails at once ("connection
//!   refused"): the driver reports it to the node as a broken connection, and the
//!   node retries after its own backoff.
//! - A crashed peer's connections close across a cut too: the end-of-stream is
//!   not subject to the clog (it only comes after messages stalled ahead of it).
//!
//! So nodes see only what TCP would show them: stalls, refused connects, and
//! connections that break; never a lost or reordered message. Kafka's own
//! answer to a stalled connection is `request.timeout.ms`: the client and broker
//! cores give up on the request and send it again. Simplification: Kafka also
//! closes the connection then and opens a new one, but nodes have no effect to
//! close a connection, so here the retry queues behind the stalled messages on the
//! same connection. A real kernel would also give up on a connection after many
//! minutes of retransmissions (`tcp_retries2`); no scenario runs that long.
//!
//! ## Lost responses
//!
//! `Cluster::drop_next_response` arms a `Faults` entry that the server's driver
//! consumes when it is about to send that response: it closes the connection on
//! both ends instead (see `driver`). The requester's core sees the broken
//! connection and fails its requests in flight with `NETWORK_EXCEPTION`, while the
//! server has already done the work: Kafka's classic "appended, but the ack was
//! lost".

use crate::cluster::Cluster;
use crate::driver::now_ms;
use crate::trace::{Captured, FaultEvent, FaultKind};
use kafkasim::ids::{BrokerId, NodeId};
use madsim::net::NetSim;
use madsim::task::NodeId as MachineId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// At most this many lost responses may be armed and not yet triggered.
pub const LOST_RESPONSES_ARMED_MAX: usize = 64;

/// The next `api` response `from` sends is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LostResponse {
    from: NodeId,
    api: &'static str,
}

/// Faults the drivers carry out themselves: the cluster arms them, the driver of
/// the node concerned triggers them. Cheap to clone into every driver.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<LostResponse>>>);

impl Faults {
    fn arm_lost_response(&self, from: NodeId, api: &'static str) {
        let mut armed = self.0.lock().expect("faults lock");
        assert!(
            armed.len() < LOST_RESPONSES_ARMED_MAX,
            "more than {LOST_RESPONSES_ARMED_MAX} lost responses armed at once"
        );
        armed.push(LostResponse { from, api });
    }

    /// Whether the `api` response `from` is about to send must be lost. A `true`
    /// consumes the fault: each armed loss hits exactly one response.
    pub fn take_lost_response(&self, from: NodeId, api: &str) -> bool {
        let mut armed = self.0.lock().expect("faults lock");
        let position = armed.iter().position(|l| l.from == from && l.api == api);
        position.map(|i| armed.remove(i)).is_some()
    }

    /// How many armed losses have not hit a response yet.
    pub fn lost_responses_armed(&self) -> usize {
        self.0.lock().expect("faults lock").len()
    }
}

/// The network as the faults left it: which links are cut, and the simulated
/// machines they join. madsim's clogs are set from this after every change, so
/// overlapping faults (an isolated broker whose link to another was also cut)
/// undo cleanly in any order.
#[derive(Debug, Default)]
pub(crate) struct Partitions {
    servers: BTreeMap<NodeId, MachineId>,
    clients: BTreeMap<String, Vec<MachineId>>,
    /// Cut server links, each pair in `NodeId` order.
    cut_links: BTreeSet<(NodeId, NodeId)>,
    isolated: BTreeSet<BrokerId>,
    cut_clients: BTreeSet<(String, BrokerId)>,
}

fn ordered(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

impl Partitions {
    pub(crate) fn add_server(&mut self, node: NodeId, machine: MachineId) {
        assert!(!matches!(node, NodeId::Client(_)), "{node} is not a server");
        self.servers.insert(node, machine);
    }

    /// Every machine of the cluster: servers, then clients.
    pub(crate) fn machines(&self) -> Vec<MachineId> {
        let clients = self.clients.values().flatten();
        self.servers.values().chain(clients).copied().collect()
    }

    /// The machines of the clients named `name`.
    pub(crate) fn client_machines(&self, name: &str) -> Vec<MachineId> {
        let machines = self.clients.get(name);
        assert!(
            machines.is_some(),
            "no client machine named {name:?} (spawn_client names them)"
        );
        machines.cloned().unwrap_or_default()
    }

    /// Records a client machine; it starts cut from whatever its name is cut from.
    pub(crate) fn add_client(&mut self, name: &str, machine: MachineId) {
        self.clients.entry(name.into()).or_default().push(machine);
        if self.cut_clients.iter().any(|(cut, _)| cut == name) {
            self.apply();
        }
    }

    fn server_machine(&self, node: NodeId) -> MachineId {
        *self.servers.get(&node).unwrap_or_else(|| {
            panic!("{node} is not a server of this cluster (cut clients with cut_client)")
        })
    }

    fn set_cut(&mut self, a: NodeId, b: NodeId, cut: bool) {
        assert_ne!(a, b, "a link joins two different servers");
        self.server_machine(a);
        self.server_machine(b);
        if cut {
            self.cut_links.insert(ordered(a, b));
        } else {
            self.cut_links.remove(&ordered(a, b));
        }
        self.apply();
    }

    fn set_isolated(&mut self, broker: BrokerId, isolated: bool) {
        self.server_machine(NodeId::Broker(broker));
        if isolated {
            self.isolated.insert(broker);
        } else {
            self.isolated.remove(&broker);
        }
        self.apply();
    }

    fn set_client_cut(&mut self, name: &str, broker: BrokerId, cut: bool) {
        assert!(
            self.clients.contains_key(name),
            "no client machine named {name:?} (spawn_client names them)"
        );
        self.server_machine(NodeId::Broker(broker));
        if cut {
            self.cut_clients.insert((name.into(), broker));
        } else {
            self.cut_clients.remove(&(name.into(), broker));
        }
        self.apply();
    }

    /// The other servers, in order: what isolating `broker` cuts it from.
    fn others(&self, broker: BrokerId) -> Vec<NodeId> {
        let me = NodeId::Broker(broker);
        self.servers.keys().copied().filter(|&n| n != me).collect()
    }

    fn server_link_cut(&self, a: NodeId, b: NodeId) -> bool {
        let isolated = |n: NodeId| matches!(n, NodeId::Broker(id) if self.isolated.contains(&id));
        self.cut_links.contains(&ordered(a, b)) || isolated(a) || isolated(b)
    }

    /// Sets every link madsim knows to what the faults say.
    fn apply(&self) {
        let net = NetSim::current();
        let set = |a: MachineId, b: MachineId, cut: bool| {
            for (from, to) in [(a, b), (b, a)] {
                if cut {
                    net.clog_link(from, to);
                } else {
                    net.unclog_link(from, to);
                }
            }
        };
        for (&a, &machine_a) in &self.servers {
            for (&b, &machine_b) in self.servers.range(a..).skip(1) {
                set(machine_a, machine_b, self.server_link_cut(a, b));
            }
        }
        for (name, machines) in &self.clients {
            for (&node, &server) in &self.servers {
                let NodeId::Broker(broker) = node else {
                    continue;
                };
                let cut = self.cut_clients.contains(&(name.clone(), broker));
                for &client in machines {
                    set(client, server, cut);
                }
            }
        }
    }
}

/// A captured fault of the client machines named `client` (and `nodes`).
fn client_fault(now: u64, kind: FaultKind, client: &str, nodes: &[NodeId], text: &str) -> Captured {
    let mut event = FaultEvent::new(now, kind, nodes, text);
    if let Captured::Fault(fault) = &mut event {
        fault.client = Some(client.to_string());
    }
    event
}

fn names(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(NodeId::to_string).collect();
    names.join(", ")
}

/// The fault-injection API of a running cluster (the "nemesis" of a scenario).
impl Cluster {
    /// Writes a fault to the trace and to the timeline under `who`; a trace that
    /// captures events gets it typed, as `capture` makes it.
    fn note_fault(
        &self,
        node: NodeId,
        who: &str,
        text: String,
        capture: impl FnOnce(u64, &str) -> Captured,
    ) {
        let now = now_ms();
        self.trace()
            .record(now, node, format_args!("fault {who}: {text}"));
        self.trace().capture(|| capture(now, &text));
        self.trace().timeline(now, who, text);
    }

    /// Cuts the link between two servers (controller or brokers), both ways:
    /// messages on their connections stall and new connections are refused.
    pub fn cut_link(&self, a: NodeId, b: NodeId) {
        self.partitions().set_cut(a, b, true);
        let text = format!("{a} and {b} cut off from each other");
        self.note_fault(a, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::CutLink, &[a, b], text)
        });
    }

    /// Restores a link cut by `cut_link`; stalled messages arrive in order.
    pub fn restore_link(&self, a: NodeId, b: NodeId) {
        self.partitions().set_cut(a, b, false);
        let text = format!("{a} and {b} reconnected");
        self.note_fault(a, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::RestoreLink, &[a, b], text)
        });
    }

    /// Cuts a broker off from the controller and every other broker, but not from
    /// client machines: a client with stale metadata still reaches it.
    pub fn isolate_broker(&self, id: BrokerId) {
        let mut partitions = self.partitions();
        partitions.set_isolated(id, true);
        let others = names(&partitions.others(id));
        drop(partitions);
        let text = format!("broker-{id} cut off from {others} (clients still reach it)");
        let node = NodeId::Broker(id);
        self.note_fault(node, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::Isolate, &[node], text)
        });
    }

    /// Undoes `isolate_broker` (links cut on their own stay cut).
    pub fn heal_broker(&self, id: BrokerId) {
        let mut partitions = self.partitions();
        partitions.set_isolated(id, false);
        let others = names(&partitions.others(id));
        drop(partitions);
        let text = format!("broker-{id} reconnected to {others}");
        let node = NodeId::Broker(id);
        self.note_fault(node, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::Heal, &[node], text)
        });
    }

    /// Cuts every client machine named `name` off from a broker, both ways.
    pub fn cut_client(&self, name: &str, broker: BrokerId) {
        self.partitions().set_client_cut(name, broker, true);
        let text = format!("{name} cut off from broker-{broker}");
        let node = NodeId::Broker(broker);
        self.note_fault(node, "network", text, |now, text| {
            client_fault(now, FaultKind::CutClient, name, &[node], text)
        });
    }

    /// Restores what `cut_client` cut.
    pub fn restore_client(&self, name: &str, broker: BrokerId) {
        self.partitions().set_client_cut(name, broker, false);
        let text = format!("{name} reconnected to broker-{broker}");
        let node = NodeId::Broker(broker);
        self.note_fault(node, "network", text, |now, text| {
            client_fault(now, FaultKind::RestoreClient, name, &[node], text)
        });
    }

    /// The next `api` response `from` sends (`api` as `Response::api_name`, e.g.
    /// `"Produce"`) is lost: the connection it would travel on is reset instead.
    /// The server did the work; the requester sees a broken connection.
    pub fn drop_next_response(&self, api: &'static str, from: NodeId) {
        self.faults().arm_lost_response(from, api);
        let text = format!("the next {api} response from {from} will be lost");
        self.note_fault(from, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::LostResponse, &[from], text)
        });
    }

    /// Stops every thread of a broker's process, as a long GC pause or a stalled
    /// VM: its timers and connections wait, nothing is lost. The controller fences
    /// it once `broker.session.timeout.ms` passes without a heartbeat.
    pub fn pause_broker(&self, id: BrokerId) {
        let machine = self.partitions().server_machine(NodeId::Broker(id));
        madsim::runtime::Handle::current().pause(machine);
        let text = "paused (stop-the-world: no thread runs)".to_string();
        let node = NodeId::Broker(id);
        self.note_fault(node, &format!("broker-{id}"), text, |now, text| {
            FaultEvent::new(now, FaultKind::Pause, &[node], text)
        });
    }

    /// Kills every client machine named `name`: its application code and its
    /// clients stop at once, without closing anything (a crashed consumer sends
    /// no LeaveGroup). Client machines are not restarted; start a new one.
    pub fn crash_client(&self, name: &str) {
        for machine in self.partitions().client_machines(name) {
            madsim::runtime::Handle::current().kill(machine);
        }
        self.note_client_fault(
            name,
            FaultKind::ClientCrash,
            "crashed (process gone, nothing closed)",
        );
    }

    /// Pauses every client machine named `name` (a long GC pause, a stopped VM):
    /// it neither polls nor heartbeats, then carries on as if no time had passed.
    pub fn pause_client(&self, name: &str) {
        for machine in self.partitions().client_machines(name) {
            madsim::runtime::Handle::current().pause(machine);
        }
        self.note_client_fault(
            name,
            FaultKind::ClientPause,
            "paused (stop-the-world: no thread runs)",
        );
    }

    /// Lets paused client machines named `name` run again.
    pub fn resume_client(&self, name: &str) {
        for machine in self.partitions().client_machines(name) {
            madsim::runtime::Handle::current().resume(machine);
        }
        self.note_client_fault(name, FaultKind::ClientResume, "resumed after the pause");
    }

    /// A client fault goes on the timeline, which is part of the trace too.
    fn note_client_fault(&self, name: &str, kind: FaultKind, text: &str) {
        let now = now_ms();
        self.trace()
            .capture(|| client_fault(now, kind, name, &[], text));
        self.trace().timeline(now, name, text);
    }

    /// Lets a paused broker run again; it carries on where it stopped.
    pub fn resume_broker(&self, id: BrokerId) {
        let machine = self.partitions().server_machine(NodeId::Broker(id));
        madsim::runtime::Handle::current().resume(machine);
        let text = "resumed after the pause".to_string();
        let node = NodeId::Broker(id);
        self.note_fault(node, &format!("broker-{id}"), text, |now, text| {
            FaultEvent::new(now, FaultKind::Resume, &[node], text)
        });
    }
}

#[cfg(test)]
mod tests {
    //! The module doc's claims about madsim, checked: the driver relies on them.

    use madsim::net::{Endpoint, NetSim};
    use madsim::time::{sleep, Instant};
    use std::net::SocketAddr;
    use std::time::Duration;

    #[test]
    fn madsim_stalls_a_clogged_connection_in_order_and_never_drops_or_breaks_it() {
        let worker = std::thread::spawn(|| {
            crate::app::runtime(1).block_on(async {
                let handle = madsim::runtime::Handle::current();
                let server_addr: SocketAddr = "10.9.0.1:1".parse().expect("address");
                let server = handle.create_node().ip(server_addr.ip()).build();
                let client = handle
                    .create_node()
                    .ip("10.9.0.2".parse().expect("ip"))
                    .build();
                let received = server.spawn(async move {
                    let endpoint = Endpoint::bind(server_addr).await.expect("bind");
                    let (_tx, mut rx, _) = endpoint.accept1().await.expect("accept");
                    let mut arrivals = Vec::new();
                    for _ in 0..3 {
                        let payload = rx.recv().await.expect("never broken by a clog");
                        let value = *payload.downcast::<u32>().expect("a u32");
                        arrivals.push((value, Instant::now()));
                    }
                    arrivals
                });
                let (client_id, server_id) = (client.id(), server.id());
                let sent = client.spawn(async move {
                    let endpoint = Endpoint::bind("0.0.0.0:0").await.expect("bind");
                    sleep(Duration::from_millis(10)).await;
                    let (tx, _rx) = endpoint.connect1(server_addr).await.expect("connect");
                    NetSim::current().clog_link(client_id, server_id);
                    for value in 0..3u32 {
                        tx.send(Box::new(value))
                            .await
                            .expect("a clog never fails a send");
                    }
                    let refused = endpoint.connect1(server_addr).await.is_err();
                    sleep(Duration::from_secs(30)).await;
                    let healed = Instant::now();
                    NetSim::current().unclog_link(client_id, server_id);
                    sleep(Duration::from_secs(60)).await; // keeps the connection open
                    (refused, healed)
                });
                let arrivals = received.await.expect("server task");
                let (refused, healed) = sent.await.expect("client task");
                assert!(refused, "a new connection over a clogged link is refused");
                let values: Vec<u32> = arrivals.iter().map(|(v, _)| *v).collect();
                assert_eq!(values, vec![0, 1, 2], "all arrive, in order");
                for (_, at) in &arrivals {
                    assert!(*at >= healed, "nothing crosses the clog");
                    assert!(*at <= healed + Duration::from_secs(11), "at the next probe");
                }
            })
        });
        worker.join().expect("the simulation runs");
    }
}
