//! The cluster as the faults left it: which links between servers are cut
//! (whole or one way, by isolations, splits and flaky links), which client
//! machines are cut from which brokers, how slow every message is, and which
//! servers and clients are down or paused. madsim's clogs are set from this
//! after every change, and every hold is counted, so overlapping faults undo
//! cleanly in any order: a server two crashes took down restarts when the later
//! one ends. Starting and undoing faults is the `faults` module's business.
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
//! A lost response is not a clog: the server's driver closes the connection
//! instead of sending the response (see `driver::lost`).

use kafkasim::ids::{BrokerId, NodeId};
use madsim::net::NetSim;
use madsim::task::NodeId as MachineId;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

/// Simulated network latency between any two machines.
pub const SEND_LATENCY: Range<Duration> = Duration::from_millis(1)..Duration::from_millis(5);

/// A flaky link stays clogged this long each time, from..=to in ms.
pub const FLAKY_CLOGGED_MS: (u64, u64) = (100, 300);
/// Then it stays open this long, from..=to in ms: clogged about a fifth of
/// the time, some 200 ms of every second.
pub const FLAKY_OPEN_MS: (u64, u64) = (600, 1_000);

/// The network as the faults left it: which links are cut, and the simulated
/// machines they join. madsim's clogs are set from this after every change, so
/// overlapping faults (an isolated broker whose link to another was also cut)
/// undo cleanly in any order.
#[derive(Debug, Default)]
pub(crate) struct Network {
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
    /// How many faults hold each server down (crashed) or paused, and each
    /// client machine (by name) paused.
    down: Holds<NodeId>,
    paused: Holds<NodeId>,
    paused_clients: Holds<String>,
    /// Whether a broker lost power during the run.
    power_lost: bool,
    /// The id the next fault started gets.
    next_fault: u64,
}

/// How many faults hold each thing in some state.
#[derive(Debug)]
pub(crate) struct Holds<K>(BTreeMap<K, usize>);

impl<K> Default for Holds<K> {
    fn default() -> Self {
        Holds(BTreeMap::new())
    }
}

impl<K: Ord + Clone> Holds<K> {
    /// One more hold on `key`; `true` when it is the first.
    pub(crate) fn hold(&mut self, key: &K) -> bool {
        let count = self.0.entry(key.clone()).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// One hold fewer on `key`; `true` when it was the last.
    pub(crate) fn release(&mut self, key: &K) -> bool {
        let Some(count) = self.0.get_mut(key) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            self.0.remove(key);
            return true;
        }
        false
    }
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

impl Network {
    pub(crate) fn add_server(&mut self, node: NodeId, machine: MachineId) {
        assert!(!matches!(node, NodeId::Client(_)), "{node} is not a server");
        self.servers.insert(node, machine);
    }

    /// Every machine of the cluster: servers, then clients.
    pub(crate) fn machines(&self) -> Vec<MachineId> {
        let clients = self.clients.values().flatten();
        self.servers.values().chain(clients).copied().collect()
    }

    /// The machines of the clients named `name` (none when there is no such client).
    pub(crate) fn client_machines(&self, name: &str) -> Vec<MachineId> {
        self.clients.get(name).cloned().unwrap_or_default()
    }

    pub(crate) fn has_client(&self, name: &str) -> bool {
        self.clients.contains_key(name)
    }

    /// Servers held down by crash faults.
    pub(crate) fn down(&mut self) -> &mut Holds<NodeId> {
        &mut self.down
    }

    /// Servers held paused by pause faults.
    pub(crate) fn paused(&mut self) -> &mut Holds<NodeId> {
        &mut self.paused
    }

    /// Client machines (by name) held paused.
    pub(crate) fn paused_clients(&mut self) -> &mut Holds<String> {
        &mut self.paused_clients
    }

    pub(crate) fn note_power_loss(&mut self) {
        self.power_lost = true;
    }

    pub(crate) fn power_lost(&self) -> bool {
        self.power_lost
    }

    /// A new fault id: a fault's start and end carry the same one.
    pub(crate) fn next_fault_id(&mut self) -> u64 {
        self.next_fault += 1;
        self.next_fault
    }

    /// Records a client machine; it starts cut from whatever its name is cut from.
    pub(crate) fn add_client(&mut self, name: &str, machine: MachineId) {
        self.clients.entry(name.into()).or_default().push(machine);
        if self.cut_clients.iter().any(|(cut, _)| cut == name) {
            self.apply();
        }
    }

    pub(crate) fn server_machine(&self, node: NodeId) -> MachineId {
        *self.servers.get(&node).unwrap_or_else(|| {
            panic!("{node} is not a server of this cluster (cut clients with cut_client)")
        })
    }

    pub(crate) fn set_cut(&mut self, a: NodeId, b: NodeId, cut: bool) {
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

    pub(crate) fn set_isolated(&mut self, node: NodeId, isolated: bool) {
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

    pub(crate) fn set_split(&mut self, minority: &[BrokerId], split: bool) {
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

    pub(crate) fn set_one_way(&mut self, from: NodeId, to: NodeId, cut: bool) {
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
    pub(crate) fn add_flaky(&mut self, a: NodeId, b: NodeId) -> u64 {
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
    pub(crate) fn set_flaky_clogged(&mut self, id: u64, clogged: bool) -> bool {
        let Some(flaky) = self.flaky.get_mut(&id) else {
            return false;
        };
        flaky.clogged = clogged;
        self.apply();
        true
    }

    /// Ends flaky link `id`: the link is open for good (its task stops).
    pub(crate) fn remove_flaky(&mut self, id: u64) {
        self.flaky.remove(&id);
        self.apply();
    }

    /// Whether some isolation still cuts `node` off.
    pub(crate) fn is_isolated(&self, node: NodeId) -> bool {
        self.isolated.contains_key(&node)
    }

    pub(crate) fn set_slow(&mut self, extra_ms: u64, slow: bool) {
        if slow {
            self.slow.push(extra_ms);
        } else if let Some(i) = self.slow.iter().position(|&e| e == extra_ms) {
            self.slow.remove(i);
        }
        let extra = Duration::from_millis(self.slow.iter().sum());
        let base = SEND_LATENCY;
        NetSim::current().update_config(|config| {
            config.send_latency = base.start + extra..base.end + extra;
        });
    }

    pub(crate) fn set_client_cut(&mut self, name: &str, broker: BrokerId, cut: bool) {
        if cut {
            self.cut_clients.insert((name.into(), broker));
        } else {
            self.cut_clients.remove(&(name.into(), broker));
        }
        self.apply();
    }

    /// The other servers, in order: what isolating `node` cuts it from.
    pub(crate) fn others(&self, node: NodeId) -> Vec<NodeId> {
        self.servers
            .keys()
            .copied()
            .filter(|&n| n != node)
            .collect()
    }

    /// Every server, in order.
    pub(crate) fn server_ids(&self) -> Vec<NodeId> {
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
            crate::runtime::runtime(1).block_on(async {
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
            crate::runtime::runtime(1).block_on(async move {
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
            let base = super::SEND_LATENCY;
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
