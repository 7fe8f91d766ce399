//! Faults started by a person while the server runs: `crash broker-2`,
//! `restart broker-2`, `isolate broker-3`, `heal`.
//!
//! The commands speak the simulator's fault vocabulary (`kafkasim_check`'s
//! `Action` and `Target`, as scenario files write them), and the hub carries
//! them out as the simulator does (see `hub`). They come as lines, from the
//! serving terminal's stdin or over the control port: a loopback TCP port
//! (broker-1's port + 100 unless told otherwise) where each line sent is
//! answered by one line, `ok: …` or `error: …`. `kafkasim ctl` is its client.
//!
//! Which faults: `crash`, `power-loss` and `replace-disk` take a server down
//! until `restart`; `pause` stops its world (no message handled, no timer
//! fired) until `heal`; `isolate` cuts it off from the other servers until `heal`
//! (clients still reach it); `link-cut broker-1 broker-2` holds what crosses
//! one link, both ways, and `one-way broker-1 broker-2` only what broker-1
//! sends broker-2 (both name servers, not roles, so that the line splits
//! unambiguously); `client-cut client-7 broker-1` holds one client
//! connection's traffic to its broker, both ways, until `heal` (the
//! simulator's client machines are here TCP connections, named by the
//! number `clients` lists). A target is a server (`broker-2`,
//! `controller`) or a role resolved against the controller's metadata now
//! (`leader of users-0`, `coordinator of group-1`). Left out, each refused
//! with a message: the other actions of the vocabulary (splits,
//! slow networks, …), and timed faults (`for_ms`): a fault here lasts until
//! it is undone by hand. Two crashes of one server are undone by one restart.

use crate::hub::{Control, Event, Events, Routes};
use kafkasim::disk::CrashKind;
use kafkasim::ids::NodeId;
use kafkasim_check::fault::{Action, FaultKind, Target};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The longest command line the control port reads; a longer one closes
/// the connection.
pub const CONTROL_LINE_BYTES_MAX: usize = 1024;

/// How long `ctl` waits for the server's answer.
pub const CTL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a role waits for the controller's metadata.
const IMAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// A command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start a fault of the vocabulary.
    Start(Action),
    /// Undo the crashes of a server: it starts again from its disk.
    Restart(Target),
    /// Undo an isolation of a server, or every isolation and client cut.
    Heal(Option<Target>),
    /// List the open client connections.
    Clients,
    Help,
}

pub const HELP: &str = "commands: crash|power-loss|replace-disk|pause|isolate TARGET, \
link-cut SERVER SERVER, one-way FROM TO, client-cut client-N TARGET, \
restart TARGET, heal [TARGET], clients, help; \
TARGET: controller, broker-N, leader of TOPIC-P, follower of TOPIC-P, \
coordinator of GROUP";

/// Parses one command line.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let target = || rest.trim().parse::<Target>();
    match word {
        "" => Err(format!("no command; {HELP}")),
        "help" => Ok(Command::Help),
        "clients" => Ok(Command::Clients),
        "restart" => Ok(Command::Restart(target()?)),
        "heal" if rest.trim().is_empty() => Ok(Command::Heal(None)),
        "heal" => Ok(Command::Heal(Some(target()?))),
        word => {
            let kind = FaultKind::ALL.iter().find(|k| k.name() == word);
            let node = target;
            let action = match kind {
                Some(FaultKind::Crash) => Action::Crash { node: node()? },
                Some(FaultKind::PowerLoss) => Action::PowerLoss { node: node()? },
                Some(FaultKind::ReplaceDisk) => Action::ReplaceDisk { node: node()? },
                Some(FaultKind::Isolate) => Action::Isolate { node: node()? },
                Some(FaultKind::ClientCut) => {
                    let usage = || format!("client-cut needs a client and a server; {HELP}");
                    let (client, node) = rest.trim().split_once(' ').ok_or_else(usage)?;
                    client_connection(client)?;
                    let node = node.trim().parse::<Target>()?;
                    let client = client.to_string();
                    Action::ClientCut { client, node }
                }
                Some(FaultKind::Pause) => Action::Pause { node: node()? },
                Some(FaultKind::LinkCut) => {
                    let [a, b] = two_servers(rest, "link-cut")?;
                    Action::LinkCut { nodes: [a, b] }
                }
                Some(FaultKind::OneWay) => {
                    let [from, to] = two_servers(rest, "one-way")?;
                    Action::OneWay { from, to }
                }
                Some(kind) => return Err(format!("{kind} is not carried out live yet; {HELP}")),
                None => return Err(format!("unknown command {word:?}; {HELP}")),
            };
            Ok(Command::Start(action))
        }
    }
}

/// The two servers of a link (`broker-1 broker-2`): named, not by role, so
/// that the line splits into them unambiguously.
fn two_servers(rest: &str, command: &str) -> Result<[Target; 2], String> {
    let usage = || format!("{command} needs two servers, e.g. `{command} broker-1 broker-2`");
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [a, b] = words[..] else {
        return Err(usage());
    };
    let server = |word: &str| {
        let target = word.parse::<Target>()?;
        match target.node() {
            Some(_) => Ok(target),
            None => Err(usage()),
        }
    };
    let (a, b) = (server(a)?, server(b)?);
    if a == b {
        return Err(format!("{command} needs two different servers"));
    }
    Ok([a, b])
}

/// The connection a client's name (`client-7`) stands for.
fn client_connection(name: &str) -> Result<u64, String> {
    let number = name.strip_prefix("client-").and_then(|n| n.parse().ok());
    number.ok_or_else(|| format!("a client is client-N, as `clients` lists them, got {name:?}"))
}

/// Whether a heal of `node` (every cut: `None`) takes in the cut from
/// `from` to `to`.
fn nodes_or_all(node: &Option<NodeId>, from: NodeId, to: NodeId) -> bool {
    node.is_none_or(|n| n == from || n == to)
}

/// The server's end of the controls. Cheap to clone.
#[derive(Clone)]
pub struct Controls {
    pub(crate) routes: Arc<Routes>,
    pub(crate) events: Events,
    pub(crate) clock: crate::hub::Clock,
}

impl Controls {
    /// Carries out one command line; the answer's text.
    pub async fn apply(&self, line: &str) -> Result<String, String> {
        match parse(line)? {
            Command::Help => Ok(HELP.to_string()),
            Command::Clients => {
                let clients = self.routes.clients();
                if clients.is_empty() {
                    return Ok("no client connections".into());
                }
                let each: Vec<String> = (clients.iter())
                    .map(|c| {
                        let from = c.peer.map_or("?".to_string(), |a| a.to_string());
                        let cut = if c.cut { " (cut)" } else { "" };
                        format!(
                            "client-{} → broker-{} from {from}{cut}",
                            c.connection, c.broker
                        )
                    })
                    .collect();
                Ok(each.join("; "))
            }
            Command::Start(action) => {
                let target = action.targets()[0].clone();
                let node = self.resolve(&target).await?;
                let text = match &action {
                    Action::Isolate { .. } => {
                        self.routes.set_isolated(node, true);
                        format!("{action}: {node} cut off from every other server, both ways")
                    }
                    Action::Pause { .. } => {
                        if !*self.routes.slot(node).expect("resolved").up.borrow() {
                            return Err(format!("{node} is down"));
                        }
                        if !self.routes.set_paused(node, true) {
                            return Err(format!("{node} is paused already"));
                        }
                        self.control(node, Control::Pause)?;
                        format!("{action}: its timers and messages wait until `heal`")
                    }
                    Action::LinkCut { nodes: [_, other] } | Action::OneWay { to: other, .. } => {
                        let other = self.resolve(other).await?;
                        self.routes.set_direction_cut(node, other, true);
                        if let Action::LinkCut { .. } = action {
                            self.routes.set_direction_cut(other, node, true);
                        }
                        format!("{action}: what crosses it waits until `heal`")
                    }
                    Action::ClientCut { client, .. } => {
                        let connection = client_connection(client)?;
                        let listed = self.routes.clients();
                        let link = (listed.iter())
                            .find(|c| c.connection == connection)
                            .ok_or(format!("no open connection {client}"))?;
                        if NodeId::Broker(link.broker) != node {
                            return Err(format!(
                                "{client} is connected to broker-{}, not to {node}",
                                link.broker
                            ));
                        }
                        self.routes.set_client_cut(connection, true);
                        format!("{action}: its requests and answers wait until `heal`")
                    }
                    _ => {
                        let kind = match action {
                            Action::PowerLoss { .. } => CrashKind::PowerLoss,
                            Action::ReplaceDisk { .. } => CrashKind::DiskReplaced,
                            _ => CrashKind::ProcessCrash,
                        };
                        let at_ms = self.clock.now_ms();
                        self.control(node, Control::Crash { kind, at_ms })?;
                        format!("{action}")
                    }
                };
                Ok(self.note(text))
            }
            Command::Restart(target) => {
                let node = self.resolve(&target).await?;
                let slot = self.routes.slot(node).expect("resolve checks it");
                if *slot.up.borrow() {
                    return Err(format!("{node} is up"));
                }
                self.control(node, Control::Restart)?;
                Ok(self.note(format!("restart {node}")))
            }
            Command::Heal(target) => {
                let target_node = match &target {
                    Some(target) => Some(self.resolve(target).await?),
                    None => None,
                };
                let (nodes, clients) = match target_node {
                    Some(node) => (vec![node], vec![]),
                    None => {
                        let cut = self.routes.clients().into_iter().filter(|c| c.cut);
                        (self.routes.isolated(), cut.collect())
                    }
                };
                let mut healed: Vec<String> = (nodes.into_iter())
                    .filter(|&n| self.routes.set_isolated(n, false))
                    .map(|n| n.to_string())
                    .collect();
                for paused in self.routes.paused() {
                    if target_node.is_some_and(|n| n != paused) {
                        continue;
                    }
                    if self.routes.set_paused(paused, false) {
                        self.control(paused, Control::Resume)?;
                        healed.push(format!("{paused} (resumed)"));
                    }
                }
                for (from, to) in self.routes.cut_directions() {
                    if !nodes_or_all(&target_node, from, to) {
                        continue;
                    }
                    while self.routes.set_direction_cut(from, to, false) {}
                    healed.push(format!("{from} → {to}"));
                }
                for client in clients {
                    if self
                        .routes
                        .set_client_cut(client.connection, false)
                        .is_some()
                    {
                        healed.push(format!("client-{}", client.connection));
                    }
                }
                if healed.is_empty() {
                    return Err("nothing is isolated or cut".into());
                }
                let text = format!("heal {}: its links flow again", healed.join(", "));
                Ok(self.note(text))
            }
        }
    }

    /// The server a target names now.
    async fn resolve(&self, target: &Target) -> Result<NodeId, String> {
        let node = match target.node() {
            Some(node) => node,
            None => {
                let (tx, rx) = oneshot::channel();
                self.control(NodeId::Controller, Control::Image(tx))?;
                let image = match tokio::time::timeout(IMAGE_TIMEOUT, rx).await {
                    Ok(Ok(image)) => image,
                    _ => return Err(format!("{target}: the controller is down")),
                };
                target.resolve(&image).map_err(|e| e.to_string())?
            }
        };
        match self.routes.slot(node) {
            Some(_) => Ok(node),
            None => Err(format!("there is no {node} in this cluster")),
        }
    }

    fn control(&self, node: NodeId, control: Control) -> Result<(), String> {
        let slot = self.routes.slot(node).ok_or(format!("no {node}"))?;
        slot.control
            .send(control)
            .map_err(|_| "the server is stopping".to_string())
    }

    /// Puts a fault's line on the timeline, and gives it back.
    fn note(&self, text: String) -> String {
        (self.events).send(self.clock.now_ms(), Event::Fault(format!("fault: {text}")));
        text
    }

    /// Answers the control port's connections until the server stops.
    pub(crate) async fn serve(self, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let controls = self.clone();
            tokio::spawn(async move {
                let (reader, mut writer) = stream.into_split();
                let mut reader = tokio::io::BufReader::new(reader);
                loop {
                    let mut line = Vec::new();
                    let limit = CONTROL_LINE_BYTES_MAX as u64 + 1;
                    match (&mut reader).take(limit).read_until(b'\n', &mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let answer = match std::str::from_utf8(&line) {
                        _ if line.len() > CONTROL_LINE_BYTES_MAX => {
                            let _ = writer.write_all(b"error: line too long\n").await;
                            return;
                        }
                        Ok(text) => controls.apply(text).await,
                        Err(_) => Err("not UTF-8".to_string()),
                    };
                    let answer = match answer {
                        Ok(text) => format!("ok: {text}\n"),
                        Err(text) => format!("error: {text}\n"),
                    };
                    if writer.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    }
}

/// Why `ctl` got no answer.
#[derive(Debug)]
pub enum CtlError {
    Connect {
        addr: SocketAddr,
        error: std::io::Error,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for CtlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CtlError::Connect { addr, error } => write!(
                f,
                "cannot reach a server's control port at {addr}: {error} \
                 (is `kafkasim serve` running, with this --port?)"
            ),
            CtlError::Io(error) => write!(f, "the control port broke off: {error}"),
        }
    }
}

impl std::error::Error for CtlError {}

/// Sends one command line to the control port at `addr`; its answer line
/// (`ok: …` or `error: …`). Blocking: for the command line.
pub fn ctl(addr: SocketAddr, command: &str) -> Result<String, CtlError> {
    let connect = |error| CtlError::Connect { addr, error };
    let mut stream = std::net::TcpStream::connect_timeout(&addr, CTL_TIMEOUT).map_err(connect)?;
    stream
        .set_read_timeout(Some(CTL_TIMEOUT))
        .map_err(CtlError::Io)?;
    let line = format!("{}\n", command.replace('\n', " "));
    stream.write_all(line.as_bytes()).map_err(CtlError::Io)?;
    let mut answer = String::new();
    let bound = CONTROL_LINE_BYTES_MAX as u64 * 4;
    BufReader::new(std::io::Read::take(stream, bound))
        .read_line(&mut answer)
        .map_err(CtlError::Io)?;
    Ok(answer.trim_end().to_string())
}
