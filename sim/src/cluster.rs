//! A simulated Kafka cluster: one controller and N brokers, each on its own
//! simulated machine, plus client machines for application code.
//!
//! The cluster keeps every server's state in a cell outside the machine, so that
//! after a kill the restarted machine can be rebuilt from what its disk kept: all
//! of it after a process crash, only the flushed part after a power loss.
//! Network partitions, latency spikes, flaky links, lost responses and pauses
//! are in `faults`.

use crate::driver::{ip_of, now_ms, run_node, NodeCell};
use crate::faults::{Faults, Partitions};
use crate::goals::goal_of;
use crate::narrate::narrate;
use crate::trace::{FaultEvent, FaultKind, NodeEvent, Trace};
use kafkasim::broker::Broker;
use kafkasim::config::{BrokerConfig, ControllerConfig, Truncation};
use kafkasim::controller::Controller;
use kafkasim::disk::{CrashKind, Disk};
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::MetadataImage;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The shape of a cluster.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub brokers: u32,
    pub controller: ControllerConfig,
    /// Applied to every broker's default configuration.
    pub log_flush_interval_messages: Option<u64>,
    /// How followers truncate when they meet a new leader (every broker).
    pub truncation: Truncation,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            brokers: 3,
            controller: ControllerConfig::default(),
            log_flush_interval_messages: None,
            truncation: Truncation::LeaderEpoch,
        }
    }
}

struct Server<N> {
    handle: madsim::runtime::NodeHandle,
    cell: NodeCell<N>,
    /// How the machine went down last; read by the next start.
    crash: Arc<Mutex<CrashKind>>,
}

struct Inner {
    trace: Trace,
    faults: Faults,
    partitions: Mutex<Partitions>,
    controller: Server<Controller>,
    brokers: BTreeMap<BrokerId, Server<Broker>>,
    next_client: Mutex<u32>,
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

fn start_server<N, M>(
    name: String,
    me: NodeId,
    trace: &Trace,
    faults: &Faults,
    make: M,
) -> Server<N>
where
    N: kafkasim::node::Node<Event = kafkasim::event::ClusterEvent> + Send + 'static,
    M: Fn(Disk, u64) -> N + Send + Sync + 'static,
    N: IntoDisk,
{
    let cell: NodeCell<N> = Arc::new(Mutex::new(None));
    let crash = Arc::new(Mutex::new(CrashKind::ProcessCrash));
    let make = Arc::new(make);
    let handle = madsim::runtime::Handle::current();
    let init = {
        let (cell, crash, trace, faults) =
            (cell.clone(), crash.clone(), trace.clone(), faults.clone());
        move || {
            let (cell, crash, trace, make) =
                (cell.clone(), crash.clone(), trace.clone(), make.clone());
            let faults = faults.clone();
            async move {
                let now = now_ms();
                let previous = cell.lock().expect("node lock").take();
                let restarted = previous.is_some();
                let mut disk = previous.map(IntoDisk::into_disk).unwrap_or_default();
                let kind = *crash.lock().expect("crash lock");
                disk.crash(kind);
                if restarted {
                    if let NodeId::Broker(broker) = me {
                        trace.broker_restarted(broker);
                    }
                    trace.record(now, me, format_args!("restart after {kind:?}"));
                    let text = format!("restarted after {}", describe_crash(kind));
                    trace.capture(|| FaultEvent::new(now, FaultKind::Restart, &[me], &text));
                    trace.timeline(now, me.to_string(), text);
                }
                *cell.lock().expect("node lock") = Some(make(disk, now));
                let timeline = trace.clone();
                let on_event = move |now, event| {
                    timeline.observe(now, &event);
                    timeline.capture(|| NodeEvent::new(now, me, &event));
                    if let Some(goal) = goal_of(&event) {
                        timeline.reach_goal(goal);
                    }
                    if let Some(text) = narrate(&event) {
                        timeline.timeline(now, me.to_string(), text);
                    }
                };
                run_node(me, cell, trace, faults, on_event, None).await;
            }
        }
    };
    let handle = handle
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

fn describe_crash(kind: CrashKind) -> &'static str {
    match kind {
        CrashKind::ProcessCrash => "a process crash (page cache kept)",
        CrashKind::PowerLoss => "a power loss (unflushed data lost)",
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

impl Cluster {
    /// Starts the controller and the brokers. Call inside the simulation.
    pub fn start(spec: &ClusterSpec, trace: Trace) -> Cluster {
        let faults = Faults::default();
        let controller_config = spec.controller.clone();
        let controller = start_server(
            "controller".into(),
            NodeId::Controller,
            &trace,
            &faults,
            move |disk, now| Controller::new(controller_config.clone(), disk, now),
        );
        let brokers = (1..=spec.brokers as BrokerId)
            .map(|id| {
                let mut config = BrokerConfig::new(id);
                config.log_flush_interval_messages = spec.log_flush_interval_messages;
                config.truncation = spec.truncation;
                // A sensible operator's setting: Kafka's 3, or fewer on a smaller cluster.
                config.offsets_topic_replication_factor = spec.brokers.min(3) as i16;
                let server = start_server(
                    format!("broker-{id}"),
                    NodeId::Broker(id),
                    &trace,
                    &faults,
                    move |disk, now| Broker::new(config.clone(), disk, now),
                );
                (id, server)
            })
            .collect::<BTreeMap<_, _>>();
        let mut partitions = Partitions::default();
        partitions.add_server(NodeId::Controller, controller.handle.id());
        for (&id, server) in &brokers {
            partitions.add_server(NodeId::Broker(id), server.handle.id());
        }
        Cluster(Arc::new(Inner {
            trace,
            faults,
            partitions: Mutex::new(partitions),
            controller,
            brokers,
            next_client: Mutex::new(0),
        }))
    }

    pub fn trace(&self) -> &Trace {
        &self.0.trace
    }

    /// The faults every driver of this cluster (servers and clients) carries out.
    pub fn faults(&self) -> &Faults {
        &self.0.faults
    }

    pub(crate) fn partitions(&self) -> MutexGuard<'_, Partitions> {
        self.0.partitions.lock().expect("partitions lock")
    }

    pub(crate) fn downgrade(&self) -> WeakCluster {
        WeakCluster(Arc::downgrade(&self.0))
    }

    /// `bootstrap.servers` for clients: every broker.
    pub fn bootstrap(&self) -> Vec<BrokerId> {
        self.0.brokers.keys().copied().collect()
    }

    /// A new client id, so each client's connections are its own.
    pub fn next_client_id(&self) -> u32 {
        let mut next = self.0.next_client.lock().expect("client lock");
        *next += 1;
        *next
    }

    /// Runs application code on a new simulated client machine.
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
        self.partitions().add_client(name, node.id());
        node.spawn(MACHINE.scope(name.to_string(), future))
    }

    fn broker(&self, id: BrokerId) -> &Server<Broker> {
        self.0
            .brokers
            .get(&id)
            .unwrap_or_else(|| panic!("no broker {id} in this cluster"))
    }

    /// Kills a server's machine; `kind` decides what its disk keeps at restart.
    fn crash<N>(&self, server: &Server<N>, node: NodeId, kind: CrashKind) {
        *server.crash.lock().expect("crash lock") = kind;
        let now = now_ms();
        self.0
            .trace
            .record(now, node, format_args!("crash {kind:?}"));
        let text = format!("crashed ({})", describe_crash(kind));
        (self.0.trace).capture(|| FaultEvent::new(now, FaultKind::Crash, &[node], &text));
        self.0.trace.timeline(now, node.to_string(), text);
        madsim::runtime::Handle::current().kill(server.handle.id());
    }

    /// Kills a broker's machine. `kind` decides what its disk keeps at restart.
    pub fn crash_broker(&self, id: BrokerId, kind: CrashKind) {
        self.crash(self.broker(id), NodeId::Broker(id), kind);
    }

    /// Restarts a crashed broker; it rebuilds itself from its disk.
    pub fn restart_broker(&self, id: BrokerId) {
        madsim::runtime::Handle::current().restart(self.broker(id).handle.id());
    }

    /// Kills the controller's process. Metadata freezes until it returns: no
    /// fencing, no elections (real KRaft would fail over to another voter).
    pub fn crash_controller(&self) {
        self.crash(
            &self.0.controller,
            NodeId::Controller,
            CrashKind::ProcessCrash,
        );
    }

    /// Restarts the crashed controller; it rebuilds the metadata from its disk and
    /// gives every registered broker a fresh session timeout.
    pub fn restart_controller(&self) {
        madsim::runtime::Handle::current().restart(self.0.controller.handle.id());
    }

    /// Kills every machine of the cluster, servers and clients, at the end of a run.
    /// Killing a machine drops the tasks on it. madsim does not drop pending tasks
    /// when its runtime is dropped (madsim issue #242), and a task holding a
    /// `Cluster` (which holds machine handles) would keep the whole run in memory:
    /// a sweep of many seeds would grow by every run's size.
    pub fn shut_down(&self) {
        // Collected first: the partitions lock is not held while tasks are dropped.
        let machines = self.partitions().machines();
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

    /// A broker's log of a partition, as it is now (for reports and tests).
    pub fn log(&self, broker: BrokerId, tp: &TopicPartition) -> Option<Log> {
        self.with_log(broker, tp, Log::clone)
    }

    /// Reads one replica's log in place: `None` when the broker is down or has
    /// no log of `tp`.
    pub fn with_log<R>(
        &self,
        broker: BrokerId,
        tp: &TopicPartition,
        read: impl FnOnce(&Log) -> R,
    ) -> Option<R> {
        let cell = self.broker(broker).cell.lock().expect("node lock");
        cell.as_ref().and_then(|b| b.log(tp)).map(read)
    }
}
