//! A simulated Kafka cluster: one controller and N brokers, each on its own
//! simulated machine, plus client machines for application code.
//!
//! The cluster keeps every server's state in a cell outside the machine, so that
//! after a kill the restarted machine can be rebuilt from what its disk kept: all
//! of it after a process crash, only the flushed and written-back part after a
//! power loss (the spec's `PageCache`).
//! Faults are started and undone by the `faults` module; the cluster offers
//! them the primitives (kill, restart, pause a machine; the network's state).
//!
//! The cluster also holds the run's one [`History`]: every client made on it
//! records its operations there, under a process name of its own.

use crate::driver::{ip_of, run_node, DriverFaults, NodeCell};
use crate::goals::goal_of;
use crate::narrate::{narrate, tone};
use crate::network::Network;
use crate::time::now_ms;
use crate::trace::{NodeEvent, Trace};
use kafkasim::broker::Broker;
use kafkasim::bugs::Bugs;
use kafkasim::config::{BrokerConfig, ControllerConfig};
use kafkasim::controller::Controller;
use kafkasim::disk::{CrashKind, Disk, PageCache};
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::MetadataImage;
use kafkasim::rules::Rules;
use kafkasim_check::history::History;
use madsim::task::NodeId as MachineId;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The shape of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    pub brokers: u32,
    pub controller: ControllerConfig,
    /// Applied to every broker's default configuration.
    pub log_flush_interval_messages: Option<u64>,
    /// The famous bugs switched back on, on every server (`kafkasim bugs`).
    pub bugs: Bugs,
    /// Every server machine's operating-system writeback.
    pub page_cache: PageCache,
    /// The rules every server and every client made on the cluster follows:
    /// Kafka's, unless a lab put a learner's version of one in.
    pub rules: Rules,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            brokers: 3,
            controller: ControllerConfig::default(),
            log_flush_interval_messages: None,
            bugs: Bugs::NONE,
            page_cache: PageCache::default(),
            rules: Rules::KAFKA,
        }
    }
}

struct Server<N> {
    handle: madsim::runtime::NodeHandle,
    cell: NodeCell<N>,
    /// How the machine went down last and when; read by the next start.
    crash: Arc<Mutex<LastCrash>>,
}

/// How a machine went down, and when (for a power loss, when the power went).
#[derive(Debug, Clone, Copy)]
struct LastCrash {
    kind: CrashKind,
    at_ms: u64,
}

struct Inner {
    trace: Trace,
    history: History,
    /// The faults the drivers carry out themselves (lost responses, stalls).
    driver_faults: DriverFaults,
    network: Mutex<Network>,
    controller: Server<Controller>,
    brokers: BTreeMap<BrokerId, Server<Broker>>,
    next_client: Mutex<u32>,
    /// The rules clients made on the cluster follow (`ClusterSpec::rules`).
    rules: Rules,
    /// The process names clients have taken, each once.
    processes: Mutex<BTreeSet<String>>,
    /// The famous bugs switched on: every node and client runs with them.
    bugs: Bugs,
}

tokio::task_local! {
    /// The name of the client machine the current task's application code runs on.
    static MACHINE: String;
}

/// The name of the client machine running the current application code
/// (`spawn_client`'s name), if any.
pub(crate) fn current_machine() -> Option<String> {
    MACHINE.try_with(Clone::clone).ok()
}

/// A handle to the running cluster; cheap to clone into client code.
#[derive(Clone)]
pub struct Cluster(Arc<Inner>);

/// A handle that does not keep the cluster alive: for a task that may be left
/// pending when a run ends (see `Cluster::shut_down`).
#[derive(Clone)]
pub(crate) struct WeakCluster(Weak<Inner>);

impl WeakCluster {
    /// The cluster, while anything else still holds it.
    pub(crate) fn upgrade(&self) -> Option<Cluster> {
        self.0.upgrade().map(Cluster)
    }
}

/// Servers give their disk back when their machine goes away.
pub trait IntoDisk {
    fn into_disk(self) -> Disk;
}

impl IntoDisk for Broker {
    fn into_disk(self) -> Disk {
        Broker::into_disk(self)
    }
}

impl IntoDisk for Controller {
    fn into_disk(self) -> Disk {
        Controller::into_disk(self)
    }
}

fn start_server<N, M>(
    name: String,
    me: NodeId,
    page_cache: PageCache,
    trace: &Trace,
    faults: &DriverFaults,
    make: M,
) -> Server<N>
where
    N: kafkasim::node::Node<Event = kafkasim::event::ClusterEvent> + IntoDisk + Send + 'static,
    M: Fn(Disk, u64, u64) -> N + Send + Sync + 'static,
{
    let cell: NodeCell<N> = Arc::new(Mutex::new(None));
    // Every start of the node's process is a new incarnation (Kafka draws a
    // random UUID for each; counting starts is as unique, and deterministic).
    let starts = Arc::new(AtomicU64::new(0));
    let crash = Arc::new(Mutex::new(LastCrash {
        kind: CrashKind::ProcessCrash,
        at_ms: 0,
    }));
    let make = Arc::new(make);
    let init = {
        let (cell, crash, trace, faults) =
            (cell.clone(), crash.clone(), trace.clone(), faults.clone());
        move || {
            let (cell, crash, trace, make) =
                (cell.clone(), crash.clone(), trace.clone(), make.clone());
            let faults = faults.clone();
            let incarnation = starts.fetch_add(1, Ordering::Relaxed) + 1;
            async move {
                let now = now_ms();
                let previous = cell.lock().expect("node lock").take();
                if previous.is_some() {
                    if let NodeId::Broker(broker) = me {
                        trace.broker_restarted(broker);
                    }
                }
                let mut disk = previous.map(IntoDisk::into_disk).unwrap_or_default();
                let LastCrash { kind, at_ms } = *crash.lock().expect("crash lock");
                disk.crash(kind, at_ms, page_cache);
                *cell.lock().expect("node lock") = Some(make(disk, now, incarnation));
                let timeline = trace.clone();
                let on_event = move |now, event| {
                    timeline.observe(now, &event);
                    timeline.capture(|| NodeEvent::captured(now, me, &event));
                    if let Some(goal) = goal_of(&event) {
                        timeline.reach_goal(goal);
                    }
                    if let Some(text) = narrate(&event) {
                        timeline.timeline_toned(now, me.to_string(), tone(&event), text);
                    }
                };
                run_node(me, cell, trace, faults, on_event, None).await;
            }
        }
    };
    let handle = madsim::runtime::Handle::current()
        .create_node()
        .name(name)
        .ip(ip_of(me))
        .init(init)
        .build();
    Server {
        handle,
        cell,
        crash,
    }
}

impl Cluster {
    /// Starts the controller and the brokers. Call inside the simulation.
    pub fn start(spec: &ClusterSpec, trace: Trace, history: History) -> Cluster {
        let driver_faults = DriverFaults::default();
        let controller_config = ControllerConfig {
            bugs: spec.bugs,
            ..spec.controller.clone()
        };
        let controller = start_server(
            "controller".into(),
            NodeId::Controller,
            spec.page_cache,
            &trace,
            &driver_faults,
            move |disk, now, _| Controller::new(controller_config.clone(), disk, now),
        );
        let brokers = (1..=spec.brokers as BrokerId)
            .map(|id| {
                let mut config = BrokerConfig::new(id);
                config.log_flush_interval_messages = spec.log_flush_interval_messages;
                config.bugs = spec.bugs;
                config.rules = spec.rules;
                // A sensible operator's setting: Kafka's 3, or fewer on a smaller cluster.
                config.offsets_topic_replication_factor = spec.brokers.min(3) as i16;
                let server = start_server(
                    format!("broker-{id}"),
                    NodeId::Broker(id),
                    spec.page_cache,
                    &trace,
                    &driver_faults,
                    move |disk, now, incarnation| {
                        Broker::new(config.clone(), disk, now, incarnation)
                    },
                );
                (id, server)
            })
            .collect::<BTreeMap<_, _>>();
        let mut network = Network::default();
        network.add_server(NodeId::Controller, controller.handle.id());
        for (&id, server) in &brokers {
            network.add_server(NodeId::Broker(id), server.handle.id());
        }
        Cluster(Arc::new(Inner {
            trace,
            history,
            driver_faults,
            network: Mutex::new(network),
            controller,
            brokers,
            next_client: Mutex::new(0),
            rules: spec.rules,
            processes: Mutex::new(BTreeSet::new()),
            bugs: spec.bugs,
        }))
    }

    pub fn trace(&self) -> &Trace {
        &self.0.trace
    }

    /// The run's history: every client operation, in the order it happened.
    pub fn history(&self) -> &History {
        &self.0.history
    }

    pub(crate) fn driver_faults(&self) -> &DriverFaults {
        &self.0.driver_faults
    }

    pub(crate) fn network(&self) -> MutexGuard<'_, Network> {
        self.0.network.lock().expect("network lock")
    }

    pub(crate) fn downgrade(&self) -> WeakCluster {
        WeakCluster(Arc::downgrade(&self.0))
    }

    /// The famous bugs switched on in this run (see `kafkasim::bugs`).
    pub fn bugs(&self) -> Bugs {
        self.0.bugs
    }

    /// The rules the cluster's servers follow, and clients made on it too.
    pub fn rules(&self) -> Rules {
        self.0.rules
    }

    /// `bootstrap.servers` for clients: every broker.
    pub fn bootstrap(&self) -> Vec<BrokerId> {
        self.0.brokers.keys().copied().collect()
    }

    /// A new client id, so each client's connections are its own.
    pub(crate) fn next_client_id(&self) -> u32 {
        let mut next = self.0.next_client.lock().expect("client lock");
        *next += 1;
        *next
    }

    /// A process name for the history, `wanted` unless a client took it
    /// already: then `wanted#2`, `wanted#3`, … so each client is its own.
    pub(crate) fn process_name(&self, wanted: &str) -> String {
        let mut taken = self.0.processes.lock().expect("processes lock");
        let name = (1..)
            .map(|n| match n {
                1 => wanted.to_string(),
                n => format!("{wanted}#{n}"),
            })
            .find(|name| !taken.contains(name))
            .expect("an unused name");
        taken.insert(name.clone());
        name
    }

    /// Runs application code on a new simulated client machine named `name`.
    pub fn spawn_client<F>(&self, name: &str, future: F) -> madsim::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = self.next_client_id();
        let node = madsim::runtime::Handle::current()
            .create_node()
            .name(name)
            .ip(ip_of(NodeId::Client(id)))
            .build();
        self.network().add_client(name, node.id());
        node.spawn(MACHINE.scope(name.to_string(), future))
    }

    fn server_machine(&self, node: NodeId) -> Option<(MachineId, &Arc<Mutex<LastCrash>>)> {
        match node {
            NodeId::Controller => {
                let server = &self.0.controller;
                Some((server.handle.id(), &server.crash))
            }
            NodeId::Broker(id) => (self.0.brokers.get(&id)).map(|s| (s.handle.id(), &s.crash)),
            NodeId::Client(_) => None,
        }
    }

    /// Whether `node` is a server of this cluster.
    pub fn has_server(&self, node: NodeId) -> bool {
        self.server_machine(node).is_some()
    }

    /// Kills a server's machine; `kind` decides what its disk keeps at restart.
    pub(crate) fn kill_server(&self, node: NodeId, kind: CrashKind) {
        self.set_crash_kind(node, kind);
        let (machine, _) = self.server_machine(node).expect("a server of this cluster");
        madsim::runtime::Handle::current().kill(machine);
    }

    /// Decides what a server's disk keeps when it restarts next.
    pub(crate) fn set_crash_kind(&self, node: NodeId, kind: CrashKind) {
        let (_, crash) = self.server_machine(node).expect("a server of this cluster");
        *crash.lock().expect("crash lock") = LastCrash {
            kind,
            at_ms: now_ms(),
        };
    }

    /// A server already down suffers a further crash of `kind`: its disk keeps
    /// the lesser of what the two would leave (a power loss after a process
    /// crash takes the page cache; nothing brings a replaced disk back).
    pub(crate) fn worsen_crash_kind(&self, node: NodeId, kind: CrashKind) {
        let (_, crash) = self.server_machine(node).expect("a server of this cluster");
        let mut last = crash.lock().expect("crash lock");
        if kind > last.kind {
            *last = LastCrash {
                kind,
                at_ms: now_ms(),
            };
        }
    }

    /// How the server went down last: the worst of the crashes that overlap.
    pub(crate) fn last_crash_kind(&self, node: NodeId) -> CrashKind {
        let (_, crash) = self.server_machine(node).expect("a server of this cluster");
        let last = crash.lock().expect("crash lock");
        last.kind
    }

    /// Restarts a killed server; it rebuilds itself from its disk.
    pub(crate) fn restart_server(&self, node: NodeId) {
        let (machine, _) = self.server_machine(node).expect("a server of this cluster");
        madsim::runtime::Handle::current().restart(machine);
    }

    /// Stops (`true`) or resumes every thread of a server's process.
    pub(crate) fn pause_server(&self, node: NodeId, paused: bool) {
        let (machine, _) = self.server_machine(node).expect("a server of this cluster");
        let handle = madsim::runtime::Handle::current();
        match paused {
            true => handle.pause(machine),
            false => handle.resume(machine),
        }
    }

    /// Stops (`true`) or resumes every client machine named `name`.
    pub(crate) fn pause_client(&self, name: &str, paused: bool) {
        let handle = madsim::runtime::Handle::current();
        for machine in self.network().client_machines(name) {
            match paused {
                true => handle.pause(machine),
                false => handle.resume(machine),
            }
        }
    }

    /// Kills every client machine named `name`: its clients stop at once,
    /// without closing anything. Client machines are not restarted.
    pub(crate) fn kill_client(&self, name: &str) {
        for machine in self.network().client_machines(name) {
            madsim::runtime::Handle::current().kill(machine);
        }
    }

    /// Whether a client machine named `name` was started.
    pub fn has_client(&self, name: &str) -> bool {
        self.network().has_client(name)
    }

    /// Kills every machine of the cluster, servers and clients, at the end of a run.
    /// Killing a machine drops the tasks on it. madsim does not drop pending tasks
    /// when its runtime is dropped (madsim issue #242), and a task holding a
    /// `Cluster` (which holds machine handles) would keep the whole run in memory:
    /// a sweep of many seeds would grow by every run's size.
    pub fn shut_down(&self) {
        // Collected first: the network lock is not held while tasks are dropped.
        let machines = self.network().machines();
        let handle = madsim::runtime::Handle::current();
        for machine in machines {
            handle.kill(machine);
        }
    }

    /// The controller's current metadata image.
    pub fn metadata(&self) -> MetadataImage {
        let cell = self.0.controller.cell.lock().expect("node lock");
        cell.as_ref().map(|c| c.image().clone()).unwrap_or_default()
    }

    /// Whether a topic allows unclean leader elections by its own setting, in
    /// the controller's metadata. One that allows them only by Kafka's
    /// pre-0.11 default (the `kip-106` switch) does not count: the run is
    /// judged by what the topic chose.
    pub fn allows_unclean_election(&self) -> bool {
        let image = self.metadata();
        let mut topics = image.topics.values();
        topics.any(|t| t.config.unclean_leader_election_enable && !t.config.unclean_by_old_default)
    }

    /// Whether a broker lost power during the run.
    pub fn lost_power(&self) -> bool {
        self.network().power_lost()
    }

    /// A broker's log of a partition, as it is now (for reports and tests).
    pub fn log(&self, broker: BrokerId, tp: &TopicPartition) -> Option<Log> {
        self.with_log(broker, tp, Log::clone)
    }

    /// Reads one replica's log in place: `None` when the broker is down, unknown
    /// or has no log of `tp`.
    pub fn with_log<R>(
        &self,
        broker: BrokerId,
        tp: &TopicPartition,
        read: impl FnOnce(&Log) -> R,
    ) -> Option<R> {
        let server = self.0.brokers.get(&broker)?;
        let cell = server.cell.lock().expect("node lock");
        cell.as_ref().and_then(|b| b.log(tp)).map(read)
    }
}
