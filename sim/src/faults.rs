//! Faults a scenario injects on purpose: network partitions (whole or one way),
//! latency spikes, flaky links, lost responses, stop-the-world pauses. Crashes
//! and restarts live in `cluster`.
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
//! ## One way, slow, flaky
//!
//! madsim clogs each direction of a link on its own, so a **one-way** cut stalls
//! the messages from one server to another and lets the others through. A new
//! connection is checked only in the direction it is opened: the stalled side
//! cannot connect, the other can, and its requests arrive while the answers stall.
//!
//! A **slow network** raises madsim's send latency, which it draws for every
//! message when it is sent, from 1–5 ms (`app::SEND_LATENCY`) to 1+extra to
//! 5+extra ms, through `NetSim::update_config` at run time; every link between
//! any two machines, clients included, slows down. Overlapping slow networks add
//! up. A connection still delivers in order, so what is sent after the end waits
//! behind what was sent during it.
//!
//! A **flaky link** is packet loss as a TCP user sees it: no message is dropped,
//! but the link between two servers clogs for a while, both ways, then opens,
//! again and again (a task draws each period from the seed's generator, see
//! `FLAKY_CLOGGED_MS` and `FLAKY_OPEN_MS`). A message sent into a clog stalls, as
//! a lost segment does until its retransmission, and everything behind it waits;
//! a connect during a clog is refused. Each clog and each opening is in the
//! trace; the timeline tells only when the link turns flaky and steady again.
//!
//! ## Lost responses
//!
//! `Cluster::drop_next_response` arms a `Faults` entry that the server's driver
//! consumes when it is about to send that response: it closes the connection on
//! both ends instead (see `driver`). The requester's core sees the broken
//! connection and fails its requests in flight with `NETWORK_EXCEPTION`, while the
//! server has already done the work: Kafka's classic "appended, but the ack was
//! lost".

use crate::cluster::{Cluster, WeakCluster};
use crate::driver::now_ms;
use crate::trace::{Captured, FaultEvent, FaultKind};
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use madsim::net::NetSim;
use madsim::rand::Rng;
use madsim::task::NodeId as MachineId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// At most this many lost responses may be armed and not yet triggered.
pub const LOST_RESPONSES_ARMED_MAX: usize = 64;

/// A flaky link stays clogged this long each time, from..=to in ms.
pub const FLAKY_CLOGGED_MS: (u64, u64) = (100, 300);
/// Then it stays open this long, from..=to in ms: clogged about a fifth of
/// the time, some 200 ms of every second.
pub const FLAKY_OPEN_MS: (u64, u64) = (600, 1_000);

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
    /// Servers cut off from every other server, with how many faults isolate
    /// each (an isolated leader may also be isolated by name).
    isolated: BTreeMap<NodeId, usize>,
    /// The minority of each split on: cut from every server outside it.
    splits: Vec<BTreeSet<NodeId>>,
    /// The directions that stall, `(from, to)`: one entry per one-way cut on.
    one_way: Vec<(NodeId, NodeId)>,
    /// The flaky links on, by the id their task checks.
    flaky: BTreeMap<u64, Flaky>,
    next_flaky: u64,
    /// The extra latency of each slow network on, in ms.
    slow: Vec<u64>,
    cut_clients: BTreeSet<(String, BrokerId)>,
}

/// A flaky link, in `NodeId` order, and whether it is clogged right now.
#[derive(Debug, Clone, Copy)]
struct Flaky {
    link: (NodeId, NodeId),
    clogged: bool,
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

    fn set_isolated(&mut self, node: NodeId, isolated: bool) {
        self.server_machine(node);
        if isolated {
            *self.isolated.entry(node).or_default() += 1;
        } else if let Some(count) = self.isolated.get_mut(&node) {
            *count -= 1;
            if *count == 0 {
                self.isolated.remove(&node);
            }
        }
        self.apply();
    }

    fn set_split(&mut self, minority: &[BrokerId], split: bool) {
        let minority: BTreeSet<NodeId> = minority.iter().map(|&b| NodeId::Broker(b)).collect();
        for &node in &minority {
            self.server_machine(node);
        }
        if split {
            self.splits.push(minority);
        } else if let Some(i) = self.splits.iter().position(|m| *m == minority) {
            self.splits.remove(i);
        }
        self.apply();
    }

    fn set_one_way(&mut self, from: NodeId, to: NodeId, cut: bool) {
        assert_ne!(from, to, "a link joins two different servers");
        self.server_machine(from);
        self.server_machine(to);
        if cut {
            self.one_way.push((from, to));
        } else if let Some(i) = self.one_way.iter().position(|&w| w == (from, to)) {
            self.one_way.remove(i);
        }
        self.apply();
    }

    /// A new flaky link, open for now; the id its task goes by.
    fn add_flaky(&mut self, a: NodeId, b: NodeId) -> u64 {
        assert_ne!(a, b, "a link joins two different servers");
        self.server_machine(a);
        self.server_machine(b);
        let id = self.next_flaky;
        self.next_flaky += 1;
        let link = ordered(a, b);
        self.flaky.insert(
            id,
            Flaky {
                link,
                clogged: false,
            },
        );
        id
    }

    /// Clogs or opens flaky link `id`; `false` once the link is steady again
    /// (its task then stops).
    fn set_flaky_clogged(&mut self, id: u64, clogged: bool) -> bool {
        let Some(flaky) = self.flaky.get_mut(&id) else {
            return false;
        };
        flaky.clogged = clogged;
        self.apply();
        true
    }

    /// Ends the oldest flaky link between `a` and `b`.
    fn remove_flaky(&mut self, a: NodeId, b: NodeId) {
        let link = ordered(a, b);
        let id = (self.flaky.iter())
            .find(|(_, f)| f.link == link)
            .map(|(&id, _)| id);
        if let Some(id) = id {
            self.flaky.remove(&id);
        }
        self.apply();
    }

    fn set_slow(&mut self, extra_ms: u64, slow: bool) {
        if slow {
            self.slow.push(extra_ms);
        } else if let Some(i) = self.slow.iter().position(|&e| e == extra_ms) {
            self.slow.remove(i);
        }
        let extra = Duration::from_millis(self.slow.iter().sum());
        let base = crate::app::SEND_LATENCY;
        NetSim::current().update_config(|config| {
            config.send_latency = base.start + extra..base.end + extra;
        });
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

    /// The other servers, in order: what isolating `node` cuts it from.
    fn others(&self, node: NodeId) -> Vec<NodeId> {
        self.servers
            .keys()
            .copied()
            .filter(|&n| n != node)
            .collect()
    }

    /// Every server, in order.
    fn server_ids(&self) -> Vec<NodeId> {
        self.servers.keys().copied().collect()
    }

    /// Whether messages from server `from` to server `to` stall.
    fn server_link_clogged(&self, from: NodeId, to: NodeId) -> bool {
        let link = ordered(from, to);
        let isolated = |n: NodeId| self.isolated.contains_key(&n);
        self.cut_links.contains(&link)
            || isolated(from)
            || isolated(to)
            || (self.splits.iter())
                .any(|minority| minority.contains(&from) != minority.contains(&to))
            || self.one_way.contains(&(from, to))
            || (self.flaky.values()).any(|f| f.clogged && f.link == link)
    }

    /// Sets every link madsim knows to what the faults say.
    fn apply(&self) {
        let net = NetSim::current();
        let set = |from: MachineId, to: MachineId, cut: bool| {
            if cut {
                net.clog_link(from, to);
            } else {
                net.unclog_link(from, to);
            }
        };
        for (&a, &machine_a) in &self.servers {
            for (&b, &machine_b) in self.servers.range(a..).skip(1) {
                set(machine_a, machine_b, self.server_link_clogged(a, b));
                set(machine_b, machine_a, self.server_link_clogged(b, a));
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
                    set(server, client, cut);
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

/// The servers in `minority`, and the others, each in order.
fn sides(servers: &[NodeId], minority: &[BrokerId]) -> (Vec<NodeId>, Vec<NodeId>) {
    servers
        .iter()
        .partition(|n| matches!(n, NodeId::Broker(b) if minority.contains(b)))
}

/// Clogs and opens flaky link `id` until it is steady again. It holds the
/// cluster only between two sleeps, so a run that ends meanwhile lets it go.
async fn flap(cluster: WeakCluster, id: u64, a: NodeId, b: NodeId) {
    let mut rng = madsim::rand::thread_rng();
    let mut clogged = true;
    loop {
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        if !cluster.partitions().set_flaky_clogged(id, clogged) {
            return;
        }
        let what = if clogged { "clogged" } else { "open" };
        (cluster.trace()).record(
            now_ms(),
            a,
            format_args!("fault network: flaky link {a} - {b} {what}"),
        );
        drop(cluster);
        let (from, to) = if clogged {
            FLAKY_CLOGGED_MS
        } else {
            FLAKY_OPEN_MS
        };
        let ms = rng.gen_range(from..=to);
        madsim::time::sleep(Duration::from_millis(ms)).await;
        clogged = !clogged;
    }
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
        self.isolate(NodeId::Broker(id), "");
    }

    /// Undoes `isolate_broker` (links cut on their own stay cut). Isolations of
    /// one broker nest: it is reconnected when the last of them is undone.
    pub fn heal_broker(&self, id: BrokerId) {
        self.heal(NodeId::Broker(id));
    }

    /// Cuts the controller off from every broker, both ways. The brokers keep
    /// serving clients with the metadata they have; nothing is elected and no
    /// ISR changes until the heal, and the controller fences the brokers whose
    /// heartbeats it stops hearing.
    pub fn isolate_controller(&self) {
        self.isolate(NodeId::Controller, "");
    }

    /// Undoes `isolate_controller`.
    pub fn heal_controller(&self) {
        self.heal(NodeId::Controller);
    }

    /// Isolates (as `isolate_broker`) whichever broker leads `partition` in the
    /// controller's metadata now, and returns it; heal it with `heal_broker`. A
    /// partition without a leader isolates nothing, which the timeline tells.
    pub fn isolate_leader(&self, partition: &TopicPartition) -> Option<BrokerId> {
        let leader = self.metadata().partition(partition).and_then(|p| p.leader);
        match leader {
            Some(id) => {
                self.isolate(NodeId::Broker(id), &format!(", the leader of {partition},"));
                Some(id)
            }
            None => {
                let now = now_ms();
                let text = format!("{partition} has no leader: no broker isolated");
                self.trace().record(
                    now,
                    NodeId::Controller,
                    format_args!("fault network: {text}"),
                );
                self.trace().timeline(now, "network", text);
                None
            }
        }
    }

    /// Cuts a server off from every other server; `what` follows its name.
    fn isolate(&self, node: NodeId, what: &str) {
        let mut partitions = self.partitions();
        partitions.set_isolated(node, true);
        let others = names(&partitions.others(node));
        drop(partitions);
        let clients = match node {
            NodeId::Broker(_) => " (clients still reach it)",
            _ => "",
        };
        let text = format!("{node}{what} cut off from {others}{clients}");
        self.note_fault(node, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::Isolate, &[node], text)
        });
    }

    fn heal(&self, node: NodeId) {
        let mut partitions = self.partitions();
        partitions.set_isolated(node, false);
        let others = names(&partitions.others(node));
        let still = partitions.isolated.contains_key(&node);
        drop(partitions);
        let text = match still {
            false => format!("{node} reconnected to {others}"),
            true => format!("{node}: one isolation undone, another still cuts it off"),
        };
        self.note_fault(node, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::Heal, &[node], text)
        });
    }

    /// Splits the cluster: the `minority` brokers are cut off from the other
    /// brokers and from the controller, which stays with the majority. Each side
    /// keeps its own links, and clients still reach every broker.
    pub fn split(&self, minority: &[BrokerId]) {
        let mut partitions = self.partitions();
        partitions.set_split(minority, true);
        let (inside, outside) = sides(&partitions.server_ids(), minority);
        drop(partitions);
        let text = format!(
            "split: {} cut off from {} (clients still reach everyone)",
            names(&inside),
            names(&outside)
        );
        self.note_fault(inside[0], "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::Split, &inside, text)
        });
    }

    /// Undoes `split` with the same minority.
    pub fn heal_split(&self, minority: &[BrokerId]) {
        let mut partitions = self.partitions();
        partitions.set_split(minority, false);
        let (inside, outside) = sides(&partitions.server_ids(), minority);
        drop(partitions);
        let text = format!(
            "split healed: {} reconnected to {}",
            names(&inside),
            names(&outside)
        );
        self.note_fault(inside[0], "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::HealSplit, &inside, text)
        });
    }

    /// Stalls the messages from server `from` to server `to` (a broker or the
    /// controller); messages from `to` to `from` still flow.
    pub fn cut_one_way(&self, from: NodeId, to: NodeId) {
        self.partitions().set_one_way(from, to, true);
        let text = format!("messages from {from} to {to} stall (the other way still flows)");
        self.note_fault(from, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::CutOneWay, &[from, to], text)
        });
    }

    /// Undoes `cut_one_way`; the stalled messages arrive in order.
    pub fn restore_one_way(&self, from: NodeId, to: NodeId) {
        self.partitions().set_one_way(from, to, false);
        let text = format!("messages from {from} to {to} flow again");
        self.note_fault(from, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::RestoreOneWay, &[from, to], text)
        });
    }

    /// Every message sent from now on, between any two machines, takes
    /// `extra_ms` longer to arrive (madsim's send latency, raised).
    pub fn slow_network(&self, extra_ms: u64) {
        let mut partitions = self.partitions();
        partitions.set_slow(extra_ms, true);
        let servers = partitions.server_ids();
        drop(partitions);
        let text = format!("every message takes {extra_ms} ms longer to arrive");
        self.note_fault(NodeId::Controller, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::SlowNetwork, &servers, text)
        });
    }

    /// Undoes `slow_network(extra_ms)`.
    pub fn restore_network_speed(&self, extra_ms: u64) {
        let mut partitions = self.partitions();
        partitions.set_slow(extra_ms, false);
        let servers = partitions.server_ids();
        drop(partitions);
        let text = format!("the {extra_ms} ms of extra latency are gone");
        self.note_fault(NodeId::Controller, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::RestoreSpeed, &servers, text)
        });
    }

    /// Makes the link between two brokers flaky until `steady_link`: it clogs
    /// (both ways) and opens again over and over, starting with a clog, each
    /// period drawn from the seed's generator. A task on the calling machine
    /// does the clogging.
    pub fn flaky_link(&self, a: BrokerId, b: BrokerId) {
        let (node_a, node_b) = (NodeId::Broker(a), NodeId::Broker(b));
        let id = self.partitions().add_flaky(node_a, node_b);
        let text = format!(
            "the link between {node_a} and {node_b} turns flaky (clogged for {}-{} ms, open for {}-{} ms, over and over)",
            FLAKY_CLOGGED_MS.0, FLAKY_CLOGGED_MS.1, FLAKY_OPEN_MS.0, FLAKY_OPEN_MS.1
        );
        self.note_fault(node_a, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::FlakyLink, &[node_a, node_b], text)
        });
        madsim::task::spawn(flap(self.downgrade(), id, node_a, node_b));
    }

    /// Undoes `flaky_link`: the link is open for good; stalled messages arrive.
    pub fn steady_link(&self, a: BrokerId, b: BrokerId) {
        let (node_a, node_b) = (NodeId::Broker(a), NodeId::Broker(b));
        self.partitions().remove_flaky(node_a, node_b);
        let text = format!("the link between {node_a} and {node_b} is steady again");
        self.note_fault(node_a, "network", text, |now, text| {
            FaultEvent::new(now, FaultKind::SteadyLink, &[node_a, node_b], text)
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

    use madsim::net::{Endpoint, NetSim, Receiver, Sender};
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

    /// Runs `test` on a client machine connected to a server machine that echoes
    /// every `u32` it receives back at once; `test` gets the two machines' ids.
    fn with_echo<F, Fut>(test: F)
    where
        F: FnOnce(madsim::task::NodeId, madsim::task::NodeId, Endpoint, SocketAddr) -> Fut
            + Send
            + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let worker = std::thread::spawn(|| {
            crate::app::runtime(1).block_on(async move {
                let handle = madsim::runtime::Handle::current();
                let server_addr: SocketAddr = "10.9.0.1:1".parse().expect("address");
                let server = handle.create_node().ip(server_addr.ip()).build();
                let client = handle
                    .create_node()
                    .ip("10.9.0.2".parse().expect("ip"))
                    .build();
                server.spawn(async move {
                    let endpoint = Endpoint::bind(server_addr).await.expect("bind");
                    let (tx, mut rx, _) = endpoint.accept1().await.expect("accept");
                    while let Ok(payload) = rx.recv().await {
                        let value = *payload.downcast::<u32>().expect("a u32");
                        if tx.send(Box::new(value)).await.is_err() {
                            break;
                        }
                    }
                });
                let (client_id, server_id) = (client.id(), server.id());
                client
                    .spawn(async move {
                        let endpoint = Endpoint::bind("0.0.0.0:0").await.expect("bind");
                        sleep(Duration::from_millis(10)).await;
                        test(client_id, server_id, endpoint, server_addr).await
                    })
                    .await
                    .expect("client task");
            })
        });
        worker.join().expect("the simulation runs");
    }

    #[test]
    fn madsim_clogs_one_direction_of_a_link_on_its_own() {
        with_echo(|client, server, endpoint, server_addr| async move {
            let (tx, mut rx) = endpoint.connect1(server_addr).await.expect("connect");
            // Answers stall; requests still arrive, and a new connection opens.
            NetSim::current().clog_link(server, client);
            tx.send(Box::new(1u32)).await.expect("sent");
            let sent = Instant::now();
            assert!(endpoint.connect1(server_addr).await.is_ok(), "the open way");
            sleep(Duration::from_secs(5)).await;
            let healed = Instant::now();
            NetSim::current().unclog_link(server, client);
            let echo = *rx
                .recv()
                .await
                .expect("never broken")
                .downcast::<u32>()
                .expect("u32");
            assert_eq!(echo, 1);
            assert!(Instant::now() >= healed, "the answer waited for the heal");
            assert!(healed >= sent + Duration::from_secs(5));
            // The other way round: requests stall, a new connection is refused.
            NetSim::current().clog_link(client, server);
            assert!(
                endpoint.connect1(server_addr).await.is_err(),
                "the clogged way"
            );
            NetSim::current().unclog_link(client, server);
        });
    }

    /// Sends a `u32` to the echo and waits for it to come back.
    async fn round_trip(tx: &Sender, rx: &mut Receiver) -> Duration {
        let start = Instant::now();
        tx.send(Box::new(7u32)).await.expect("sent");
        rx.recv().await.expect("echoed");
        start.elapsed()
    }

    #[test]
    fn madsim_takes_a_new_send_latency_at_run_time() {
        with_echo(|_, _, endpoint, server_addr| async move {
            let (tx, mut rx) = endpoint.connect1(server_addr).await.expect("connect");
            let fast = round_trip(&tx, &mut rx).await;
            assert!(
                fast <= Duration::from_millis(10),
                "1-5 ms each way: {fast:?}"
            );
            let base = crate::app::SEND_LATENCY;
            let extra = Duration::from_millis(300);
            NetSim::current()
                .update_config(|c| c.send_latency = base.start + extra..base.end + extra);
            let slow = round_trip(&tx, &mut rx).await;
            assert!(
                slow >= Duration::from_millis(602),
                "301-305 ms each way: {slow:?}"
            );
            assert!(slow <= Duration::from_millis(610), "{slow:?}");
            NetSim::current().update_config(|c| c.send_latency = base);
            assert!(
                round_trip(&tx, &mut rx).await <= Duration::from_millis(10),
                "back to normal"
            );
        });
    }
}
