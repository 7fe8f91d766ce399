//! A controller and brokers on a [`Network`], crashed and restarted with their
//! disks.
//!
//! This is what the madsim harness's `cluster` does, without machines. A
//! [`Cluster`] is a network of [`Server`]s: it starts the controller and one
//! broker per configuration at time 0 and lets them register. A crash takes a
//! broker off the network and leaves a [`Server::CrashedBroker`] in its place,
//! its configuration and what [`Disk::crash`] left of its disk, so that checkers
//! can still read it; a restart builds a new broker from that. The controller
//! never crashes here (the model has one controller, and the tests of
//! replication do not need it to).

use crate::broker::Broker;
use crate::config::{BrokerConfig, ControllerConfig};
use crate::controller::Controller;
use crate::disk::{CrashKind, Disk, PageCache};
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, NodeId};
use crate::node::{Effect, Node, Peer};
use crate::protocol::Message;
use crate::testing::network::Network;
use crate::testing::observer::{Observer, Quiet};

/// A server process: the controller, a broker, or what a crashed broker left.
pub enum Server {
    Controller(Controller),
    /// Boxed: a broker is several times the size of the other variants.
    Broker(Box<Broker>),
    /// A broker that crashed: how it was configured, what its disk kept, and
    /// which start of its process it was. The network never runs it (it keeps
    /// it with the stopped nodes).
    CrashedBroker {
        config: BrokerConfig,
        disk: Disk,
        incarnation_id: u64,
    },
}

/// The controller and the brokers, on one network.
pub type Cluster = Network<Server>;

impl Server {
    fn running(&self) -> Option<&dyn Node<Event = ClusterEvent>> {
        match self {
            Server::Controller(controller) => Some(controller),
            Server::Broker(broker) => Some(broker.as_ref()),
            Server::CrashedBroker { .. } => None,
        }
    }

    fn running_mut(&mut self) -> &mut dyn Node<Event = ClusterEvent> {
        match self {
            Server::Controller(controller) => controller,
            Server::Broker(broker) => broker.as_mut(),
            Server::CrashedBroker { .. } => panic!("the network runs no crashed broker"),
        }
    }
}

impl Node for Server {
    type Event = ClusterEvent;

    fn on_message(&mut self, now_ms: u64, from: Peer, message: Message) {
        self.running_mut().on_message(now_ms, from, message);
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) {
        self.running_mut().on_disconnect(now_ms, peer);
    }

    fn on_tick(&mut self, now_ms: u64) {
        self.running_mut().on_tick(now_ms);
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        self.running()?.next_deadline_ms()
    }

    fn take_effects(&mut self) -> Vec<Effect<ClusterEvent>> {
        self.running_mut().take_effects()
    }

    fn invariants(&self) {
        if let Some(node) = self.running() {
            node.invariants();
        }
    }
}

impl Network<Server> {
    /// Starts the controller (Kafka's default settings) and one broker per
    /// config at time 0, and lets them register.
    pub fn start(configs: Vec<BrokerConfig>) -> Cluster {
        let mut cluster = Network::new();
        let controller = Controller::new(ControllerConfig::default(), Disk::default(), 0);
        let Ok(()) = cluster.insert(
            NodeId::Controller,
            Server::Controller(controller),
            &mut Quiet,
        );
        let ids: Vec<BrokerId> = configs.iter().map(|c| c.node_id).collect();
        for config in configs {
            let id = NodeId::Broker(config.node_id);
            let broker = Server::Broker(Box::new(Broker::new(config, Disk::default(), 0, 1)));
            let Ok(()) = cluster.insert(id, broker, &mut Quiet);
        }
        let Ok(()) = cluster.settle(&mut Quiet);
        let mut live = cluster.controller().image().live_brokers();
        live.sort();
        let mut expected = ids;
        expected.sort();
        assert_eq!(live, expected, "every broker registered");
        cluster
    }

    pub fn controller(&self) -> &Controller {
        match self.node(NodeId::Controller) {
            Some(Server::Controller(controller)) => controller,
            _ => panic!("the controller runs as NodeId::Controller"),
        }
    }

    /// The broker `id`, if it is running.
    pub fn broker(&self, id: BrokerId) -> Option<&Broker> {
        match self.node(NodeId::Broker(id))? {
            Server::Broker(broker) => Some(broker),
            _ => panic!("NodeId::Broker({id}) runs something else"),
        }
    }

    /// What the crashed broker `id` left on its disk, until it restarts.
    pub fn crashed_disk(&self, id: BrokerId) -> Option<&Disk> {
        match self.stopped(NodeId::Broker(id))? {
            Server::CrashedBroker { disk, .. } => Some(disk),
            _ => panic!("a crashed broker leaves a CrashedBroker"),
        }
    }

    /// The crashed brokers, by id.
    pub fn crashed_brokers(&self) -> impl Iterator<Item = BrokerId> + '_ {
        self.crashed().filter_map(|id| match id {
            NodeId::Broker(broker) => Some(broker),
            _ => None,
        })
    }

    /// Broker `id` goes down with `kind`; every running node hears that its
    /// connection to it broke. See [`Network::crash`]. A power loss keeps what
    /// Linux's default page-cache writeback had written by now.
    pub fn crash_broker<O: Observer<Server>>(
        &mut self,
        id: BrokerId,
        kind: CrashKind,
        observer: &mut O,
    ) -> Result<(), O::Error> {
        let now_ms = self.now_ms();
        self.crash(NodeId::Broker(id), observer, |server| {
            let Server::Broker(broker) = server else {
                panic!("only a broker crashes with its disk");
            };
            let config = broker.config().clone();
            let incarnation_id = broker.incarnation_id();
            let mut disk = broker.into_disk();
            disk.crash(kind, now_ms, PageCache::default());
            Server::CrashedBroker {
                config,
                disk,
                incarnation_id,
            }
        })
    }

    /// Starts the crashed broker `id` again, on what its disk kept.
    pub fn restart_broker<O: Observer<Server>>(
        &mut self,
        id: BrokerId,
        observer: &mut O,
    ) -> Result<(), O::Error> {
        self.restart(NodeId::Broker(id), observer, |remains, now_ms| {
            let Server::CrashedBroker {
                config,
                disk,
                incarnation_id,
            } = remains
            else {
                panic!("a crashed broker leaves a CrashedBroker");
            };
            let broker = Broker::new(config, disk, now_ms, incarnation_id + 1);
            Server::Broker(Box::new(broker))
        })
    }
}
