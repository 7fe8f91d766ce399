//! Faults started by a person while the server runs: `crash broker-2`,
//! `restart broker-2`, `isolate broker-3 for_ms=5000`, `slow-network 300`,
//! `heal`.
//!
//! The commands speak the simulator's fault vocabulary (`kafkasim_check`'s
//! `Action` and `Target`, as scenario files write them), and the hub carries
//! them out as the simulator does (see `hub`). They come as lines, from the
//! serving terminal's stdin or over the control port: a loopback TCP port
//! (broker-1's port + 100 unless told otherwise) where each line sent is
//! answered by one line, `ok: …` or `error: …`. `kafkasim ctl` is its client.
//! Every fault's start and end is a line on the serving terminal's timeline.
//!
//! Which faults:
//! - `crash`, `power-loss` and `replace-disk` take a server down until
//!   `restart`; a down broker's port refuses connections, as a dead
//!   process's does, and listens again at the restart (`Port` in `lib`).
//! - `pause` stops a server's world (no message handled, no timer fired).
//! - `isolate` cuts a server off from the other servers (clients still
//!   reach it).
//! - `link-cut broker-1 broker-2` holds what crosses one link, both ways,
//!   and `one-way broker-1 broker-2` only what broker-1 sends broker-2.
//! - `split broker-2 broker-3` cuts a minority of brokers off from the other
//!   brokers and the controller; each side keeps its own links and clients
//!   reach every broker.
//! - `flaky-link broker-1 broker-2` clogs one link, both ways, for
//!   `FLAKY_CLOGGED`, then opens it for `FLAKY_OPEN`, over and over,
//!   starting clogged: packet loss as TCP shows it, nothing dropped. The
//!   simulator draws each period from its seed (100-300 ms clogged, 600-1000
//!   ms open); real time has no seed, so here they are fixed, at the middle
//!   of those ranges.
//! - `slow-network 300` (or `extra_ms=300`, as scenario files write it)
//!   makes every message, between servers and between a client and its
//!   broker, arrive 300 ms later than sent; slow networks on at once add up,
//!   and each link keeps its order (see `hub`).
//! - `client-cut client-7 broker-1` holds one client connection's traffic to
//!   its broker, both ways (the simulator's client machines are here TCP
//!   connections, named by the number `clients` lists).
//!
//! Two servers of a link, and a split's brokers, are named (`broker-2`,
//! `controller`), so that the line splits into them unambiguously; any other
//! target is a server or a role resolved against the controller's metadata
//! now (`leader of users-0`, `coordinator of group-1`).
//!
//! A fault lasts until it is undone by hand: `restart TARGET` undoes every
//! crash of a server, `heal` every other fault on, `heal TARGET` those that
//! name the server (a slow network names none). Or it is timed, as in
//! scenario files: `for_ms=5000` as the command's last word undoes it after
//! that many milliseconds of real time (a crash restarts, the rest heal).
//! Each fault is undone on its own: two isolations of one broker must both
//! end, two crashes keep a server down until both have ended (or a restart),
//! and a timed fault already healed by hand does nothing when its time is up.
//!
//! Refused with a message: `lost-response` and `stall-api` (not carried out
//! live), and `client-pause` and `client-crash` (a client of this server is
//! another process, which the server can neither stop nor kill).

use crate::hub::{Control, Event, Events, Routes};
use kafkasim::disk::CrashKind;
use kafkasim::ids::NodeId;
use kafkasim_check::fault::{seconds, Action, FaultKind, Target};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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

/// The longest a timed fault lasts: a day.
pub const FOR_MS_MAX: u64 = 86_400_000;

/// The most a slow network adds to every message: a minute, twice Kafka's
/// `request.timeout.ms`.
pub const EXTRA_MS_MAX: u64 = 60_000;

/// How long a flaky link stays clogged each time.
pub const FLAKY_CLOGGED: Duration = Duration::from_millis(200);

/// How long a flaky link stays open between its clogs.
pub const FLAKY_OPEN: Duration = Duration::from_millis(800);

/// A command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start a fault of the vocabulary; with `for_ms`, it undoes itself
    /// after that many milliseconds.
    Start {
        action: Action,
        for_ms: Option<u64>,
    },
    /// Undo the crashes of a server: it starts again from its disk.
    Restart(Target),
    /// Undo every fault on but crashes, or those that name a server.
    Heal(Option<Target>),
    /// List the open client connections.
    Clients,
    Help,
}

pub const HELP: &str = "commands: crash|power-loss|replace-disk|pause|isolate TARGET, \
link-cut SERVER SERVER, one-way FROM TO, split BROKER [BROKER...], \
flaky-link SERVER SERVER, slow-network EXTRA_MS, client-cut client-N TARGET, \
each optionally ending in for_ms=N (undone after N ms); \
restart TARGET, heal [TARGET], clients, help; \
TARGET: controller, broker-N, leader of TOPIC-P, follower of TOPIC-P, \
coordinator of GROUP";

/// Parses one command line.
pub fn parse(line: &str) -> Result<Command, String> {
    let (line, for_ms) = split_for_ms(line.trim())?;
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let target = || rest.trim().parse::<Target>();
    if for_ms.is_some() && matches!(word, "help" | "clients" | "restart" | "heal") {
        return Err(format!("for_ms= times a fault; `{word}` takes none"));
    }
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
                Some(FaultKind::FlakyLink) => {
                    let [a, b] = two_servers(rest, "flaky-link")?;
                    Action::FlakyLink { nodes: [a, b] }
                }
                Some(FaultKind::Split) => Action::Split {
                    nodes: brokers(rest)?,
                },
                Some(FaultKind::SlowNetwork) => Action::SlowNetwork {
                    extra_ms: extra_ms(rest)?,
                },
                Some(kind @ (FaultKind::ClientPause | FaultKind::ClientCrash)) => {
                    return Err(format!(
                        "{kind} acts on a client machine: a client of this server is a \
                         process of yours, which it can neither stop nor kill"
                    ))
                }
                Some(kind) => return Err(format!("{kind} is not carried out live; {HELP}")),
                None => return Err(format!("unknown command {word:?}; {HELP}")),
            };
            Ok(Command::Start { action, for_ms })
        }
    }
}

/// The line without its `for_ms=N`, its last word if it has one, and N.
fn split_for_ms(line: &str) -> Result<(&str, Option<u64>), String> {
    let (head, last) = match line.rsplit_once(char::is_whitespace) {
        Some((head, last)) => (head.trim_end(), last),
        None => ("", line),
    };
    let Some(value) = last.strip_prefix("for_ms=") else {
        if line.contains("for_ms") {
            return Err("for_ms comes last, as one word: e.g. `crash broker-2 for_ms=5000`".into());
        }
        return Ok((line, None));
    };
    match millis(value, FOR_MS_MAX) {
        Some(ms) => Ok((head, Some(ms))),
        None => Err(format!(
            "for_ms must be a whole number of milliseconds from 1 to {FOR_MS_MAX}, got {value:?}"
        )),
    }
}

/// `text` as a whole number of milliseconds from 1 to `max`.
fn millis(text: &str, max: u64) -> Option<u64> {
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let ms: u64 = plain.then(|| text.parse().ok()).flatten()?;
    (1..=max).contains(&ms).then_some(ms)
}

/// A slow network's extra delay: `300` or `extra_ms=300`.
fn extra_ms(rest: &str) -> Result<u64, String> {
    let rest = rest.trim();
    let value = rest.strip_prefix("extra_ms=").unwrap_or(rest);
    millis(value, EXTRA_MS_MAX).ok_or_else(|| {
        format!(
            "slow-network needs the extra delay of every message, from 1 to {EXTRA_MS_MAX} ms: \
             e.g. `slow-network 300`, got {rest:?}"
        )
    })
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

/// A split's minority: brokers by name, each once.
fn brokers(rest: &str) -> Result<Vec<Target>, String> {
    let usage = || {
        "split needs brokers by name, e.g. `split broker-3` or `split broker-2 broker-3`; the controller stays with the majority".to_string()
    };
    let mut brokers = Vec::new();
    for word in rest.split_whitespace() {
        let broker = word.parse::<Target>().map_err(|_| usage())?;
        if !matches!(broker, Target::Broker(_)) {
            return Err(usage());
        }
        if brokers.contains(&broker) {
            return Err(format!("split names {broker} twice"));
        }
        brokers.push(broker);
    }
    match brokers.is_empty() {
        true => Err(usage()),
        false => Ok(brokers),
    }
}

/// The connection a client's name (`client-7`) stands for.
fn client_connection(name: &str) -> Result<u64, String> {
    let number = name.strip_prefix("client-").and_then(|n| n.parse().ok());
    number.ok_or_else(|| format!("a client is client-N, as `clients` lists them, got {name:?}"))
}

/// What a fault on did to the hub, with its servers resolved, so that its
/// end undoes exactly that, whoever holds its role by then.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Done {
    Crash(NodeId),
    Pause(NodeId),
    Isolate(NodeId),
    /// Cut directions, `(from, to)`: both of a link for `link-cut`.
    Cut(Vec<(NodeId, NodeId)>),
    Split(Vec<NodeId>),
    /// A flaky link by its id in the hub, and its two ends.
    Flaky {
        id: u64,
        nodes: [NodeId; 2],
    },
    Slow(u64),
    ClientCut {
        connection: u64,
        broker: NodeId,
    },
}

impl Done {
    /// The servers the fault names: what `heal TARGET` matches.
    fn nodes(&self) -> Vec<NodeId> {
        match self {
            Done::Crash(node) | Done::Pause(node) | Done::Isolate(node) => vec![*node],
            Done::Cut(directions) => directions.iter().flat_map(|&(a, b)| [a, b]).collect(),
            Done::Split(nodes) => nodes.clone(),
            Done::Flaky { nodes, .. } => nodes.to_vec(),
            Done::Slow(_) => vec![],
            Done::ClientCut { broker, .. } => vec![*broker],
        }
    }
}

/// A fault on, started through the controls.
#[derive(Debug, Clone)]
struct Live {
    action: Action,
    done: Done,
}

/// The faults on, by the order they started in.
#[derive(Debug, Default)]
struct Faults {
    next: u64,
    on: BTreeMap<u64, Live>,
}

/// The server's end of the controls. Cheap to clone.
#[derive(Clone)]
pub struct Controls {
    pub(crate) routes: Arc<Routes>,
    pub(crate) events: Events,
    pub(crate) clock: crate::hub::Clock,
    /// A std Mutex: nothing awaits while it is held.
    faults: Arc<Mutex<Faults>>,
}

impl Controls {
    pub(crate) fn new(routes: Arc<Routes>, events: Events, clock: crate::hub::Clock) -> Controls {
        Controls {
            routes,
            events,
            clock,
            faults: Arc::default(),
        }
    }

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
            Command::Start { action, for_ms } => {
                let (done, effect) = self.start(&action).await?;
                let lasting = match (&done, for_ms) {
                    (Done::Crash(_), None) => String::new(),
                    (Done::Crash(_), Some(ms)) => format!(", restart after {}", seconds(ms)),
                    (_, None) => " until `heal`".to_string(),
                    (_, Some(ms)) => format!(" for {}", seconds(ms)),
                };
                let id = {
                    let mut faults = self.faults.lock().expect("no task panics holding it");
                    faults.next += 1;
                    let id = faults.next;
                    let live = Live {
                        action: action.clone(),
                        done,
                    };
                    faults.on.insert(id, live);
                    id
                };
                let text = self.note(format!("{action}{lasting}{effect}"));
                if let Some(ms) = for_ms {
                    let controls = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        controls.time_up(id, ms);
                    });
                }
                Ok(text)
            }
            Command::Restart(target) => {
                let node = self.resolve(&target).await?;
                let slot = self.routes.slot(node).expect("resolve checks it");
                if *slot.up.borrow() {
                    return Err(format!("{node} is up"));
                }
                self.control(node, Control::Restart)?;
                let mut faults = self.faults.lock().expect("no task panics holding it");
                faults.on.retain(|_, live| live.done != Done::Crash(node));
                drop(faults);
                Ok(self.note(format!("restart {node}")))
            }
            Command::Heal(target) => {
                let node = match &target {
                    Some(target) => Some(self.resolve(target).await?),
                    None => None,
                };
                let healed: Vec<Live> = {
                    let mut faults = self.faults.lock().expect("no task panics holding it");
                    let ids: Vec<u64> = (faults.on.iter())
                        .filter(|(_, live)| !matches!(live.done, Done::Crash(_)))
                        .filter(|(_, live)| node.is_none_or(|n| live.done.nodes().contains(&n)))
                        .map(|(&id, _)| id)
                        .collect();
                    let on = &mut faults.on;
                    (ids.iter()).filter_map(|id| on.remove(id)).collect()
                };
                if healed.is_empty() {
                    return Err("nothing is paused, isolated, cut, flaky or slow".into());
                }
                let undone: Vec<String> = healed.iter().map(|live| self.undo(live)).collect();
                let text = format!("heal {}: its links flow again", undone.join(", "));
                Ok(self.note(text))
            }
        }
    }

    /// Carries out `action`: what it did, and the effect to tell after its
    /// name.
    async fn start(&self, action: &Action) -> Result<(Done, String), String> {
        let targets = action.targets();
        let mut nodes = Vec::new();
        for target in &targets {
            nodes.push(self.resolve(target).await?);
        }
        let done = match action {
            Action::Crash { .. } | Action::PowerLoss { .. } | Action::ReplaceDisk { .. } => {
                let node = nodes[0];
                let kind = match action {
                    Action::PowerLoss { .. } => CrashKind::PowerLoss,
                    Action::ReplaceDisk { .. } => CrashKind::DiskReplaced,
                    _ => CrashKind::ProcessCrash,
                };
                let at_ms = self.clock.now_ms();
                self.control(node, Control::Crash { kind, at_ms })?;
                // A crash ends a pause: the new process runs.
                let mut faults = self.faults.lock().expect("no task panics holding it");
                faults.on.retain(|_, live| live.done != Done::Pause(node));
                return Ok((Done::Crash(node), String::new()));
            }
            Action::Pause { .. } => {
                let node = nodes[0];
                if !*self.routes.slot(node).expect("resolved").up.borrow() {
                    return Err(format!("{node} is down"));
                }
                if !self.routes.set_paused(node, true) {
                    return Err(format!("{node} is paused already"));
                }
                self.control(node, Control::Pause)?;
                (
                    Done::Pause(node),
                    "its timers and messages wait".to_string(),
                )
            }
            Action::Isolate { .. } => {
                let node = nodes[0];
                self.routes.set_isolated(node, true);
                let effect = format!("{node} cut off from every other server, both ways");
                (Done::Isolate(node), effect)
            }
            Action::LinkCut { .. } | Action::OneWay { .. } => {
                let (from, to) = (nodes[0], nodes[1]);
                let mut cut = vec![(from, to)];
                if let Action::LinkCut { .. } = action {
                    cut.push((to, from));
                }
                for &(from, to) in &cut {
                    self.routes.set_direction_cut(from, to, true);
                }
                (Done::Cut(cut), "what crosses it waits".to_string())
            }
            Action::Split { .. } => {
                self.routes.set_split(&nodes, true);
                let effect = "clients still reach every broker".to_string();
                (Done::Split(nodes), effect)
            }
            Action::FlakyLink { .. } => {
                let (a, b) = (nodes[0], nodes[1]);
                let id = self.routes.add_flaky(a, b);
                tokio::spawn(flap(self.routes.clone(), id));
                let effect = format!(
                    "clogged for {} ms, then open for {} ms, over and over",
                    FLAKY_CLOGGED.as_millis(),
                    FLAKY_OPEN.as_millis()
                );
                (Done::Flaky { id, nodes: [a, b] }, effect)
            }
            Action::SlowNetwork { extra_ms } => {
                self.routes.set_slow(*extra_ms, true);
                let effect = "each link keeps its order".to_string();
                (Done::Slow(*extra_ms), effect)
            }
            Action::ClientCut { client, .. } => {
                let node = nodes[0];
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
                let done = Done::ClientCut {
                    connection,
                    broker: node,
                };
                (done, "its requests and answers wait".to_string())
            }
            other => return Err(format!("{} is not carried out live", other.kind())),
        };
        Ok((done.0, format!(": {}", done.1)))
    }

    /// Undoes a fault healed (not a crash); what it undid, for the heal's line.
    fn undo(&self, live: &Live) -> String {
        match &live.done {
            Done::Crash(node) => format!("{node} (still down: `restart` it)"),
            Done::Pause(node) => {
                if self.routes.set_paused(*node, false) {
                    let _ = self.control(*node, Control::Resume);
                }
                format!("{node} (resumed)")
            }
            Done::Isolate(node) => {
                self.routes.set_isolated(*node, false);
                node.to_string()
            }
            Done::Cut(directions) => {
                let each: Vec<String> = (directions.iter())
                    .map(|&(from, to)| {
                        self.routes.set_direction_cut(from, to, false);
                        format!("{from} → {to}")
                    })
                    .collect();
                each.join(", ")
            }
            Done::Split(nodes) => {
                self.routes.set_split(nodes, false);
                let names: Vec<String> = nodes.iter().map(NodeId::to_string).collect();
                format!("the split of {}", names.join(" and "))
            }
            Done::Flaky { id, nodes: [a, b] } => {
                self.routes.remove_flaky(*id);
                format!("the flaky link {a} - {b}")
            }
            Done::Slow(extra_ms) => {
                self.routes.set_slow(*extra_ms, false);
                format!("the slow network (+{extra_ms} ms)")
            }
            Done::ClientCut { connection, .. } => {
                let faults = self.faults.lock().expect("no task panics holding it");
                let cut_again = (faults.on.values()).any(|live| {
                    matches!(live.done, Done::ClientCut { connection: c, .. } if c == *connection)
                });
                drop(faults);
                if !cut_again {
                    self.routes.set_client_cut(*connection, false);
                }
                format!("client-{connection}")
            }
        }
    }

    /// Timed fault `id`, of `ms`, is over: undone unless it was by hand.
    fn time_up(&self, id: u64, ms: u64) {
        let (live, still_down) = {
            let mut faults = self.faults.lock().expect("no task panics holding it");
            let Some(live) = faults.on.remove(&id) else {
                return;
            };
            let still_down = (faults.on.values()).any(|other| other.done == live.done);
            (live, still_down)
        };
        let over = format!("over after {} ({})", seconds(ms), live.action);
        let text = match live.done {
            Done::Crash(node) if still_down => {
                format!("{over}; another crash keeps {node} down")
            }
            Done::Crash(node) => match self.control(node, Control::Restart) {
                Ok(()) => format!("{over}: restart {node}"),
                Err(why) => format!("{over}: {why}"),
            },
            _ => format!("{over}: heal {}", self.undo(&live)),
        };
        self.note(text);
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

/// Runs flaky link `id`: clogged (as it starts) for `FLAKY_CLOGGED`, then
/// open for `FLAKY_OPEN`, over and over, until it is removed.
async fn flap(routes: Arc<Routes>, id: u64) {
    let mut clogged = true;
    loop {
        let period = if clogged { FLAKY_CLOGGED } else { FLAKY_OPEN };
        tokio::time::sleep(period).await;
        clogged = !clogged;
        if !routes.set_flaky_clogged(id, clogged) {
            return;
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

#[cfg(test)]
mod tests;
