//! `kafkasim serve`: the model's controller and brokers behind real sockets,
//! speaking Kafka's wire protocol, so real Kafka clients (kafkajs, the Java
//! client, librdkafka) can talk to the model.
//!
//! - `alloc`: an allocator wrapper that keeps a peer's array counts from
//!   aborting the process while `kafka-protocol` decodes them.
//! - `hub`: the real-time driver; each node on a task, fed messages and ticks.
//! - `connection`: one client's TCP connection, one request at a time.
//! - `frame`: Kafka's size-prefixed frames, with `socket.request.max.bytes`.
//! - `wire`: translation between `kafka-protocol`'s types and the model's
//!   (`request`, `response`, `records`, the consumer protocol's `groups`
//!   bytes, and the `versions` this server speaks).
//! - `control`: faults started while serving (`crash broker-2`, `restart
//!   broker-2`, `isolate`, `split`, `slow-network 300`, `client-cut`,
//!   `heal`, each optionally timed with `for_ms=N`), from stdin or the
//!   control port. A down broker's port refuses connections (`Port`).
//! - `timeline`: the lines the server prints as the cluster changes.
//! - `end`: what the server can judge of itself when it stops: the
//!   partitions, the invariants and the replicas compared, by `kafkasim-check`.
//!
//! Architecture Invariant: this crate makes no protocol decision. Kafka's
//! behaviour is in `kafkasim` (`src/`); here are only sockets, timers and the
//! wire format. It depends on the real `tokio` and never on madsim, so it
//! runs in the same `--cfg madsim` build as the simulator.
//!
//! Simplifications: one process hosts every node, so the links between the
//! controller and the brokers are in-process channels, not sockets (`hub`);
//! nothing is persisted (each start is a new, empty cluster); only plaintext,
//! no SASL or TLS.

pub mod alloc;
mod connection;
pub mod control;
pub mod end;
pub mod frame;
mod hub;
pub mod timeline;
pub mod wire;

use control::Controls;
use end::End;
use hub::{run_server, Clock, Control, Events, Inbound, Routes};
pub use hub::{DriverEvent, Event};
use kafkasim::broker::Broker;
use kafkasim::config::{BrokerConfig, ControllerConfig};
use kafkasim::controller::Controller;
use kafkasim::ids::{BrokerId, NodeId};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

/// At most this many client connections at once, over all brokers (Kafka's
/// `max.connections` is unlimited by default; a bound keeps a flood of
/// connections from exhausting the process).
pub const CONNECTIONS_MAX: usize = 1024;

/// How to start a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    pub host: IpAddr,
    /// broker-1's port; broker-N listens on `port + N - 1`. 0: any free ports.
    pub port: u16,
    pub brokers: u32,
    /// The control port (`control`); `None`: `port + 100`, or any free
    /// port when `port` is 0.
    pub control_port: Option<u16>,
}

/// How far above broker-1's port the control port is, unless told.
pub const CONTROL_PORT_OFFSET: u16 = 100;

impl ServeConfig {
    /// The control port this configuration listens on, if it fits in 16 bits.
    pub fn control_port(&self) -> Option<u16> {
        match (self.control_port, self.port) {
            (Some(port), _) => Some(port),
            (None, 0) => Some(0),
            (None, port) => port.checked_add(CONTROL_PORT_OFFSET),
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 9092,
            brokers: 3,
            control_port: None,
        }
    }
}

/// Why a server could not start.
#[derive(Debug)]
pub enum ServeError {
    NoBrokers,
    /// The ports past 65535.
    PortRange {
        port: u16,
        brokers: u32,
    },
    /// `port + 100` is past 65535: name a control port.
    ControlPortRange {
        port: u16,
    },
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
    /// The tokio runtime could not start (no threads to be had).
    Runtime(std::io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::NoBrokers => write!(f, "--brokers must be at least 1"),
            ServeError::PortRange { port, brokers } => {
                write!(f, "ports {port}.. for {brokers} brokers go past 65535")
            }
            ServeError::ControlPortRange { port } => write!(
                f,
                "the control port {port} + {CONTROL_PORT_OFFSET} is past 65535: give --control-port"
            ),
            ServeError::Bind { addr, error } => write!(f, "cannot listen on {addr}: {error}"),
            ServeError::Runtime(error) => write!(f, "cannot start the runtime: {error}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// A running server. Dropping it does not stop it; its tasks live on the
/// tokio runtime it was started on. `stop` ends its nodes and judges them.
pub struct Server {
    addrs: BTreeMap<BrokerId, SocketAddr>,
    control_addr: SocketAddr,
    controls: Controls,
    events: mpsc::UnboundedReceiver<(u64, Event)>,
}

/// How a node task's answer to `Stop` is waited for: a node answers its
/// controls before anything else, so only a node that panicked (its task
/// gone, the answer dropped) or a runtime starved for seconds misses it.
const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Server {
    /// Binds every broker's listener, then starts the nodes. Call inside a
    /// tokio runtime.
    pub async fn start(config: &ServeConfig) -> Result<Server, ServeError> {
        let listeners = bind(config).await?;
        let control_port = config
            .control_port()
            .ok_or(ServeError::ControlPortRange { port: config.port })?;
        let control_addr = SocketAddr::new(config.host, control_port);
        let control_listener =
            TcpListener::bind(control_addr)
                .await
                .map_err(|error| ServeError::Bind {
                    addr: control_addr,
                    error,
                })?;
        let control_addr = control_listener.local_addr().expect("bound");
        let addrs: BTreeMap<BrokerId, SocketAddr> = listeners
            .iter()
            .map(|(&id, l)| (id, l.local_addr().expect("a bound listener has an address")))
            .collect();
        let clock = Clock::start();
        let (events_tx, events) = Events::new();
        let mut inboxes = BTreeMap::new();
        let mut receivers = BTreeMap::new();
        for node in
            std::iter::once(NodeId::Controller).chain(addrs.keys().map(|&b| NodeId::Broker(b)))
        {
            let (tx, rx) = mpsc::unbounded_channel::<Inbound>();
            inboxes.insert(node, tx);
            receivers.insert(node, rx);
        }
        let (routes, mut controls) = Routes::new(inboxes);
        let routes = Arc::new(routes);
        let mut take = |node: NodeId| {
            let inbox = receivers.remove(&node).expect("made above");
            let control = controls.remove(&node).expect("made above");
            (inbox, control)
        };
        let (inbox, control) = take(NodeId::Controller);
        tokio::spawn(run_server(
            NodeId::Controller,
            |disk, now, _| Controller::new(ControllerConfig::default(), disk, now),
            inbox,
            control,
            routes.clone(),
            clock,
            events_tx.clone(),
        ));
        for (&id, addr) in &addrs {
            let mut broker_config = BrokerConfig::new(id);
            broker_config.advertised_listeners = addr.to_string();
            // A sensible operator's setting: Kafka's 3, or fewer on a smaller cluster.
            broker_config.offsets_topic_replication_factor = addrs.len().min(3) as i16;
            let (inbox, control) = take(NodeId::Broker(id));
            tokio::spawn(run_server(
                NodeId::Broker(id),
                // Each start is a new incarnation (Kafka's IncarnationId):
                // unique over the brokers and over each one's restarts.
                move |disk, now, start| {
                    let incarnation = start * 1000 + id as u64;
                    Broker::new(broker_config.clone(), disk, now, incarnation)
                },
                inbox,
                control,
                routes.clone(),
                clock,
                events_tx.clone(),
            ));
        }
        let table = addrs.clone();
        let lookup: Lookup = Arc::new(move |id| {
            table
                .get(&id)
                .map(|a| (a.ip().to_string(), a.port() as i32))
        });
        let next_connection = Arc::new(AtomicU64::new(1));
        let permits = Arc::new(Semaphore::new(CONNECTIONS_MAX));
        for (id, listener) in listeners {
            let port = Port {
                broker: id,
                addr: addrs[&id],
                routes: routes.clone(),
                lookup: lookup.clone(),
                next_connection: next_connection.clone(),
                permits: permits.clone(),
                events: events_tx.clone(),
                clock,
            };
            tokio::spawn(port.serve(listener));
        }
        tokio::spawn(routes.clone().carry_in_flight());
        let controls = Controls::new(routes, events_tx, clock);
        tokio::spawn(controls.clone().serve(control_listener));
        Ok(Server {
            addrs,
            control_addr,
            controls,
            events,
        })
    }

    /// Each broker's listening address.
    pub fn addrs(&self) -> &BTreeMap<BrokerId, SocketAddr> {
        &self.addrs
    }

    /// The control port's address (`control`).
    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    /// The controls, as the control port uses them.
    pub fn controls(&self) -> Controls {
        self.controls.clone()
    }

    /// The next event a node emitted or a fault caused, with its time in ms
    /// since start.
    pub async fn next_event(&mut self) -> Option<(u64, Event)> {
        self.events.recv().await
    }

    /// Stops every node (their ports then close every connection) and judges
    /// what they hand over (`end`). A node that does not answer within
    /// `STOP_TIMEOUT` counts as down.
    pub async fn stop(self) -> End {
        let Controls {
            routes,
            events,
            clock,
            ..
        } = self.controls;
        let mut answers = Vec::new();
        for node in routes.nodes() {
            let (tx, rx) = oneshot::channel();
            let slot = routes.slot(node).expect("listed by the routes");
            let _ = slot.control.send(Control::Stop(tx));
            answers.push((node, rx));
        }
        let mut image = None;
        let mut disks = BTreeMap::new();
        for (node, rx) in answers {
            let stopped = tokio::time::timeout(STOP_TIMEOUT, rx).await;
            let disk = match stopped {
                Ok(Ok(stopped)) => {
                    image = image.or(stopped.image);
                    stopped.disk
                }
                _ => None,
            };
            disks.insert(node, disk);
        }
        end::build(clock.now_ms(), image.as_ref(), disks, events.violations())
    }
}

/// How often a restarted broker whose port was taken tries it again.
pub const RELISTEN_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A broker's port, as a real broker process has it: listening while the
/// broker is up, closed while it is down (a connection is refused, not
/// accepted and closed), bound again at its restart.
struct Port {
    broker: BrokerId,
    addr: SocketAddr,
    routes: Arc<Routes>,
    lookup: Lookup,
    next_connection: Arc<AtomicU64>,
    permits: Arc<Semaphore>,
    events: Events,
    clock: Clock,
}

/// Each broker's advertised host and port, by id.
type Lookup = Arc<dyn Fn(BrokerId) -> Option<(String, i32)> + Send + Sync>;

impl Port {
    /// Accepts connections on `listener` while the broker is up; closes it
    /// when the broker goes down and binds the port again when it is back.
    async fn serve(self, listener: TcpListener) {
        let slot = (self.routes.slot(NodeId::Broker(self.broker)))
            .expect("every listener belongs to a broker");
        let mut up = slot.up.subscribe();
        let mut listener = Some(listener);
        loop {
            let Some(bound) = &listener else {
                if up.wait_for(|up| *up).await.is_err() {
                    return;
                }
                listener = self.bind_again(&mut up).await;
                continue;
            };
            tokio::select! {
                down = up.wait_for(|up| !*up) => {
                    if down.is_err() {
                        return;
                    }
                    // The process is gone: its port refuses connections.
                    listener = None;
                }
                accepted = accept(bound, &self.permits) => {
                    let Some((stream, permit)) = accepted else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
                    let (routes, lookup) = (self.routes.clone(), self.lookup.clone());
                    let broker = self.broker;
                    tokio::spawn(async move {
                        connection::serve(stream, connection, broker, routes, lookup).await;
                        drop(permit);
                    });
                }
            }
        }
    }

    /// Binds the broker's port again after its restart, trying every
    /// `RELISTEN_EVERY` while it is taken (said once on the timeline);
    /// `None` if the broker goes down again first.
    async fn bind_again(&self, up: &mut watch::Receiver<bool>) -> Option<TcpListener> {
        let mut failed = false;
        loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    if failed {
                        let again = DriverEvent::ListeningAgain {
                            broker: self.broker,
                            addr: self.addr,
                        };
                        self.events.send(self.clock.now_ms(), Event::Driver(again));
                    }
                    return Some(listener);
                }
                Err(error) if !failed => {
                    failed = true;
                    let event = DriverEvent::ListenFailed {
                        broker: self.broker,
                        addr: self.addr,
                        error: error.kind(),
                    };
                    self.events.send(self.clock.now_ms(), Event::Driver(event));
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(RELISTEN_EVERY) => {}
                _ = up.wait_for(|up| !*up) => return None,
            }
        }
    }
}

/// The next connection on `listener`, with its permit; `None` when the
/// accept failed (a connection reset before it was taken, no descriptors
/// left) or the permits are gone.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = permits.clone().acquire_owned().await.ok()?;
    let (stream, _) = listener.accept().await.ok()?;
    Some((stream, permit))
}

async fn bind(config: &ServeConfig) -> Result<BTreeMap<BrokerId, TcpListener>, ServeError> {
    if config.brokers == 0 {
        return Err(ServeError::NoBrokers);
    }
    if config.port != 0 && config.port as u32 + config.brokers - 1 > u16::MAX as u32 {
        return Err(ServeError::PortRange {
            port: config.port,
            brokers: config.brokers,
        });
    }
    let mut listeners = BTreeMap::new();
    for i in 0..config.brokers {
        let port = if config.port == 0 {
            0
        } else {
            config.port + i as u16
        };
        let addr = SocketAddr::new(config.host, port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|error| ServeError::Bind { addr, error })?;
        listeners.insert(i as BrokerId + 1, listener);
    }
    Ok(listeners)
}

/// Starts a server on a runtime of its own and prints, through `print`, where
/// each broker and the control port listen, and then the timeline, until the
/// process is told to stop: SIGINT (Ctrl-C) or SIGTERM, or the end of stdin
/// when stdin is a pipe or a socket (a process feeding the server commands
/// closes it to stop the server; a terminal's Ctrl-D, `/dev/null` or a file
/// do not stop it, so `kafkasim serve &` keeps serving). Lines typed on stdin
/// are commands (`control`), answered on the timeline. Then it stops the
/// nodes, prints what it can judge of itself (`end`) and returns it.
pub fn run(config: &ServeConfig, mut print: impl FnMut(&str)) -> Result<End, ServeError> {
    // Two workers: the nodes and the connections are small tasks, and the
    // machines this runs on are laptops and CI boxes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async {
        let mut server = Server::start(config).await?;
        print(&format!(
            "kafkasim serve: a controller and {} broker(s), Kafka's wire protocol on {}",
            server.addrs().len(),
            config.host
        ));
        for (id, addr) in server.addrs() {
            print(&format!("broker-{id} listening on {addr}"));
        }
        // The examples name the last broker, which every cluster has.
        let last = server.addrs().keys().last().copied().unwrap_or(1);
        print(&format!(
            "faults: type `crash broker-{last}`, `restart broker-{last}`, \
             `isolate broker-{last} for_ms=5000`, `slow-network 300`, `heal`, `help` here, \
             or `kafkasim ctl --control-port {} COMMAND`; Ctrl-C stops and judges",
            server.control_addr().port()
        ));
        let stop = serve_until_stopped(&mut server, &mut print).await;
        print(&format!("stopping ({stop})"));
        let end = server.stop().await;
        for line in end.to_string().lines() {
            print(line);
        }
        Ok(end)
    })
}

/// Why `run` stopped serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupt,
    Terminate,
    StdinClosed,
    /// Every node's task ended (none does before `stop`, unless one panicked).
    NodesGone,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::StdinClosed => "stdin closed",
            Stop::NodesGone => "every node is gone",
        })
    }
}

/// Prints the timeline and carries out stdin's commands until a stop comes.
async fn serve_until_stopped(server: &mut Server, print: &mut impl FnMut(&str)) -> Stop {
    use tokio::signal::unix::{signal, SignalKind};
    // Without a handler the signal ends the process at once, as before.
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    let stdin_stops = stdin_is_a_pipe();
    let mut stdin = Some(stdin_lines());
    let controls = server.controls();
    loop {
        tokio::select! {
            event = server.next_event() => match event {
                Some((at_ms, event)) => {
                    if let Some(line) = timeline::line(at_ms, &event) {
                        print(&line);
                    }
                }
                None => return Stop::NodesGone,
            },
            Some(()) = recv_signal(&mut interrupt) => return Stop::Interrupt,
            Some(()) = recv_signal(&mut terminate) => return Stop::Terminate,
            line = recv_line(&mut stdin) => match line {
                Some(line) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    // A fault's own line comes on the timeline; only a refusal here.
                    if let Err(why) = controls.apply(&line).await {
                        print(&format!("error: {why}"));
                    }
                }
                None if stdin_stops => return Stop::StdinClosed,
                None => stdin = None,
            },
        }
    }
}

async fn recv_signal(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

/// The next line of stdin; `None` once it ended, then never again.
async fn recv_line(stdin: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match stdin {
        Some(lines) => lines.recv().await,
        None => std::future::pending().await,
    }
}

/// Whether stdin is a pipe or a socket, whose end means "stop".
fn stdin_is_a_pipe() -> bool {
    // SAFETY: fstat writes only into the struct it is given, which is
    // zeroed plain data, and fd 0 is only read.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(0, &mut stat) } != 0 {
        return false;
    }
    let kind = stat.st_mode & libc::S_IFMT;
    kind == libc::S_IFIFO || kind == libc::S_IFSOCK
}

/// Lines typed on stdin, read on a thread of their own (tokio's stdin is a
/// blocking read too). At most `CONTROL_LINE_BYTES_MAX` bytes of each are kept.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(mut line) = line else { return };
            if line.len() > control::CONTROL_LINE_BYTES_MAX {
                let kept = &line.as_bytes()[..control::CONTROL_LINE_BYTES_MAX];
                line = String::from_utf8_lossy(kept).into_owned();
            }
            if tx.blocking_send(line).is_err() {
                return;
            }
        }
    });
    rx
}
