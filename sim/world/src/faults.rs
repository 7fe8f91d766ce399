//! The one entry point for faults: [`Cluster::start_fault`] carries out a
//! [`Action`] now and [`Cluster::end_fault`] undoes it.
//!
//! Starting a fault resolves its targets (a role, such as `leader of
//! orders-0`, names the server that holds it now), does it, and records it:
//! in the trace (and its hash), on the timeline, and as a captured event for
//! reports. What it returns, a [`Started`], remembers whom it hit, so its end
//! undoes it on the same servers whoever holds the role by then.
//!
//! Faults nest: two crashes of one broker keep it down until the later one
//! ends, two isolations keep it cut off until both are healed. A fault that
//! names nobody (a role nobody holds, a broker or client the cluster does not
//! have) does nothing, and the timeline says why: a run never dies of a fault.

use crate::cluster::{Cluster, WeakCluster};
use crate::network::{FLAKY_CLOGGED_MS, FLAKY_OPEN_MS};
use crate::time::now_ms;
use crate::trace::{Captured, FaultEvent, Phase, Tone};
use kafkasim::disk::CrashKind;
use kafkasim::ids::{BrokerId, NodeId};
use kafkasim_check::fault::{Action, Target};
use madsim::rand::Rng;
use std::time::Duration;

/// A fault that started: what it does, whom it hit, and its id in the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub id: u64,
    pub action: Action,
    /// The servers it hit, in the order its action names them.
    pub nodes: Vec<NodeId>,
    /// The flaky link it runs, for a flaky link.
    flaky: Option<u64>,
}

impl Cluster {
    /// Starts `action` now. `None` when it names nobody: the timeline says why.
    pub fn start_fault(&self, action: &Action) -> Option<Started> {
        let nodes = match self.resolve(action) {
            Ok(nodes) => nodes,
            Err(why) => {
                let now = now_ms();
                let text = format!("{action}: {why}; nothing done");
                self.trace()
                    .record(now, NodeId::Controller, format_args!("fault: {text}"));
                self.trace()
                    .timeline_toned(now, "nemesis", Tone::Notice, text);
                return None;
            }
        };
        let id = self.network().next_fault_id();
        let mut started = Started {
            id,
            action: action.clone(),
            nodes,
            flaky: None,
        };
        let (who, text) = self.carry_out(&mut started);
        self.note(&started, Phase::Start, &who, text);
        Some(started)
    }

    /// Undoes a fault `start_fault` started, on the servers it hit.
    pub fn end_fault(&self, started: Started) {
        if let Some((who, text)) = self.undo(&started) {
            self.note(&started, Phase::End, &who, text);
        }
    }

    /// The servers `action` names now, or why it names none.
    fn resolve(&self, action: &Action) -> Result<Vec<NodeId>, String> {
        let image = self.metadata();
        let mut nodes = Vec::new();
        for target in action.targets() {
            let node = target.resolve(&image).map_err(|e| e.to_string())?;
            if !self.has_server(node) {
                return Err(format!("there is no {node} in this cluster"));
            }
            nodes.push(node);
        }
        let two_ends = matches!(
            action,
            Action::LinkCut { .. } | Action::FlakyLink { .. } | Action::OneWay { .. }
        );
        if two_ends && nodes[0] == nodes[1] {
            return Err(format!("both ends are {}", nodes[0]));
        }
        let brokers_only = matches!(action, Action::Split { .. } | Action::ClientCut { .. });
        if brokers_only && nodes.iter().any(|n| !matches!(n, NodeId::Broker(_))) {
            return Err("it takes brokers only".into());
        }
        if let Some(client) = action.client() {
            if !self.has_client(client) {
                return Err(format!("there is no client machine named {client}"));
            }
        }
        Ok(nodes)
    }

    /// Does a fault; says under whose name the timeline tells it, and what.
    fn carry_out(&self, started: &mut Started) -> (String, String) {
        let node = started.nodes.first().copied();
        let role = role_of(&started.action);
        match &started.action {
            Action::Crash { .. } | Action::PowerLoss { .. } | Action::ReplaceDisk { .. } => {
                let node = node.expect("a crash names a server");
                let kind = crash_kind(&started.action);
                self.take_down(node, kind);
                let text = format!("crashed ({}){role}", describe_crash(kind));
                (node.to_string(), text)
            }
            Action::Pause { .. } => {
                let node = node.expect("a pause names a server");
                if self.network().paused().hold(&node) {
                    self.pause_server(node, true);
                }
                let text = format!("paused (stop-the-world: no thread runs){role}");
                (node.to_string(), text)
            }
            Action::Isolate { .. } => {
                let node = node.expect("an isolation names a server");
                let others = self.isolate(node, true);
                let clients = match node {
                    NodeId::Broker(_) => " (clients still reach it)",
                    _ => "",
                };
                let role = role.replace(" as ", ", ");
                let role = if role.is_empty() { role } else { role + "," };
                let text = format!("{node}{role} cut off from {others}{clients}");
                ("network".into(), text)
            }
            Action::LinkCut { .. } => {
                let (a, b) = (started.nodes[0], started.nodes[1]);
                self.network().set_cut(a, b, true);
                (
                    "network".into(),
                    format!("{a} and {b} cut off from each other"),
                )
            }
            Action::Split { .. } => self.split(&started.nodes, true),
            Action::OneWay { .. } => {
                let (from, to) = (started.nodes[0], started.nodes[1]);
                self.network().set_one_way(from, to, true);
                let text = format!("messages from {from} to {to} stall (the other way flows)");
                ("network".into(), text)
            }
            Action::SlowNetwork { extra_ms } => {
                self.network().set_slow(*extra_ms, true);
                let text = format!("every message takes {extra_ms} ms longer to arrive");
                ("network".into(), text)
            }
            Action::FlakyLink { .. } => {
                let (a, b) = (started.nodes[0], started.nodes[1]);
                let flaky = self.network().add_flaky(a, b);
                started.flaky = Some(flaky);
                madsim::task::spawn(flap(self.downgrade(), flaky, a, b));
                let text = format!(
                    "the link between {a} and {b} turns flaky (clogged for {}-{} ms, open for {}-{} ms, over and over)",
                    FLAKY_CLOGGED_MS.0, FLAKY_CLOGGED_MS.1, FLAKY_OPEN_MS.0, FLAKY_OPEN_MS.1
                );
                ("network".into(), text)
            }
            Action::LostResponse { api, .. } => {
                let node = node.expect("a lost response names a server");
                let text = match self.driver_faults().lost.arm(started.id, node, api) {
                    true => format!("the next {api} response from {node} will be lost"),
                    false => format!("too many lost responses armed: the next {api} response from {node} is not lost"),
                };
                ("network".into(), text)
            }
            Action::StallApi { api, .. } => {
                let node = node.expect("a stall names a server");
                let text = match self.driver_faults().stalled.stall(started.id, node, api) {
                    true => format!("every {api} message from {node} stalls (its others flow)"),
                    false => format!("too many stalls on: {api} messages from {node} flow"),
                };
                ("network".into(), text)
            }
            Action::ClientCut { client, .. } => {
                let broker = broker_of(node.expect("a client cut names a broker"));
                self.network().set_client_cut(client, broker, true);
                (
                    "network".into(),
                    format!("{client} cut off from broker-{broker}"),
                )
            }
            Action::ClientPause { client } => {
                if self.network().paused_clients().hold(client) {
                    self.pause_client(client, true);
                }
                let text = "paused (stop-the-world: no thread runs)".to_string();
                (client.clone(), text)
            }
            Action::ClientCrash { client } => {
                self.kill_client(client);
                let text = "crashed (process gone, nothing closed)".to_string();
                (client.clone(), text)
            }
        }
    }

    /// Undoes a fault; `None` when its end has nothing to tell.
    fn undo(&self, started: &Started) -> Option<(String, String)> {
        let node = started.nodes.first().copied();
        Some(match &started.action {
            Action::Crash { .. } | Action::PowerLoss { .. } | Action::ReplaceDisk { .. } => {
                let node = node.expect("a crash names a server");
                match self.network().down().release(&node) {
                    true => self.restart_server(node),
                    false => return Some((node.to_string(), still("down", "crash"))),
                }
                // The worst of the crashes that kept it down decides what
                // its disk kept, whichever of them ended last.
                let kind = self.last_crash_kind(node);
                let text = format!("restarted after {}", describe_crash(kind));
                (node.to_string(), text)
            }
            Action::Pause { .. } => {
                let node = node.expect("a pause names a server");
                match self.network().paused().release(&node) {
                    true => self.pause_server(node, false),
                    false => return Some((node.to_string(), still("paused", "pause"))),
                }
                (node.to_string(), "resumed after the pause".to_string())
            }
            Action::Isolate { .. } => {
                let node = node.expect("an isolation names a server");
                let others = self.isolate(node, false);
                let text = match self.network().is_isolated(node) {
                    false => format!("{node} reconnected to {others}"),
                    true => format!("{node}: one isolation undone, another still cuts it off"),
                };
                ("network".into(), text)
            }
            Action::LinkCut { .. } => {
                let (a, b) = (started.nodes[0], started.nodes[1]);
                self.network().set_cut(a, b, false);
                ("network".into(), format!("{a} and {b} reconnected"))
            }
            Action::Split { .. } => self.split(&started.nodes, false),
            Action::OneWay { .. } => {
                let (from, to) = (started.nodes[0], started.nodes[1]);
                self.network().set_one_way(from, to, false);
                let text = format!("messages from {from} to {to} flow again");
                ("network".into(), text)
            }
            Action::SlowNetwork { extra_ms } => {
                self.network().set_slow(*extra_ms, false);
                let text = format!("the {extra_ms} ms of extra latency are gone");
                ("network".into(), text)
            }
            Action::FlakyLink { .. } => {
                let (a, b) = (started.nodes[0], started.nodes[1]);
                let flaky = started.flaky.expect("a flaky link runs one");
                self.network().remove_flaky(flaky);
                let text = format!("the link between {a} and {b} is steady again");
                ("network".into(), text)
            }
            Action::LostResponse { api, .. } => {
                let node = node.expect("a lost response names a server");
                if !self.driver_faults().lost.disarm(started.id) {
                    return None; // it hit its response, which the driver told
                }
                let text = format!("no {api} response from {node} came while its loss was armed");
                ("network".into(), text)
            }
            Action::StallApi { api, .. } => {
                let node = node.expect("a stall names a server");
                if !self.driver_faults().stalled.end(started.id) {
                    return None; // it never started: too many stalls were on
                }
                let text =
                    format!("{api} messages from {node} flow again; the stalled ones go now");
                ("network".into(), text)
            }
            Action::ClientCut { client, .. } => {
                let broker = broker_of(node.expect("a client cut names a broker"));
                self.network().set_client_cut(client, broker, false);
                (
                    "network".into(),
                    format!("{client} reconnected to broker-{broker}"),
                )
            }
            Action::ClientPause { client } => {
                if self.network().paused_clients().release(client) {
                    self.pause_client(client, false);
                }
                (client.clone(), "resumed after the pause".to_string())
            }
            Action::ClientCrash { .. } => return None, // client machines are not restarted
        })
    }

    /// Takes a server down (the first crash of several kills it; the one among
    /// them that takes most decides what its disk keeps). A replaced disk counts
    /// as a power loss for what the checkers allow: both take acknowledged data,
    /// but only from a broker that holds committed records for the cluster.
    fn take_down(&self, node: NodeId, kind: CrashKind) {
        let costs_data = kind != CrashKind::ProcessCrash && self.may_hold_committed(node);
        let first = {
            let mut network = self.network();
            if costs_data {
                network.note_power_loss();
            }
            network.down().hold(&node)
        };
        if first {
            self.kill_server(node, kind);
        } else if kind != CrashKind::ProcessCrash {
            self.worsen_crash_kind(node, kind); // it is down already; now its disk suffers too
        }
    }

    /// Whether the cluster may count on `node` for committed records now: a
    /// broker in some partition's ISR or ELR (or the controller). A broker
    /// outside all of them must fetch what it lacks before it rejoins one
    /// (and since KIP-903 a proposal made for its past incarnation is
    /// refused), so losing its disk costs no acknowledged write.
    fn may_hold_committed(&self, node: NodeId) -> bool {
        let NodeId::Broker(broker) = node else {
            return true;
        };
        let image = self.metadata();
        let mut partitions = image.partitions();
        partitions.any(|(_, p)| p.isr.contains(&broker) || p.elr.contains(&broker))
    }

    /// Cuts a server off from every other server (or reconnects it); the
    /// others' names, for the timeline.
    fn isolate(&self, node: NodeId, isolated: bool) -> String {
        let mut network = self.network();
        network.set_isolated(node, isolated);
        names(&network.others(node))
    }

    fn split(&self, minority: &[NodeId], split: bool) -> (String, String) {
        let minority: Vec<BrokerId> = minority.iter().map(|&n| broker_of(n)).collect();
        let mut network = self.network();
        network.set_split(&minority, split);
        let (inside, outside): (Vec<NodeId>, Vec<NodeId>) = (network.server_ids().into_iter())
            .partition(|n| matches!(n, NodeId::Broker(b) if minority.contains(b)));
        let text = match split {
            true => format!(
                "split: {} cut off from {} (clients still reach everyone)",
                names(&inside),
                names(&outside)
            ),
            false => format!(
                "split healed: {} reconnected to {}",
                names(&inside),
                names(&outside)
            ),
        };
        ("network".into(), text)
    }

    /// Writes a fault's start or end to the trace, its capture and the timeline.
    fn note(&self, started: &Started, phase: Phase, who: &str, text: String) {
        let now = now_ms();
        let node = started.nodes.first().copied().unwrap_or(NodeId::Controller);
        self.trace()
            .record(now, node, format_args!("fault {who}: {text}"));
        self.trace().capture(|| {
            Captured::Fault(FaultEvent {
                time_ms: now,
                id: started.id,
                phase,
                action: started.action.clone(),
                nodes: started.nodes.iter().map(NodeId::to_string).collect(),
                client: started.action.client().map(str::to_string),
                text: text.clone(),
            })
        });
        let tone = match phase {
            Phase::Start => Tone::Fault,
            Phase::End => Tone::Recovery,
        };
        self.trace().timeline_toned(now, who, tone, text);
    }
}

/// ` as the leader of orders-0` for a fault that named its server by a role.
fn role_of(action: &Action) -> String {
    match action.targets().first() {
        Some(role @ (Target::LeaderOf(_) | Target::FollowerOf(_) | Target::CoordinatorOf(_))) => {
            format!(" as the {role}")
        }
        _ => String::new(),
    }
}

fn still(state: &str, fault: &str) -> String {
    format!("one {fault} over; another keeps it {state}")
}

fn crash_kind(action: &Action) -> CrashKind {
    match action {
        Action::PowerLoss { .. } => CrashKind::PowerLoss,
        Action::ReplaceDisk { .. } => CrashKind::DiskReplaced,
        _ => CrashKind::ProcessCrash,
    }
}

fn describe_crash(kind: CrashKind) -> &'static str {
    match kind {
        CrashKind::ProcessCrash => "a process crash (page cache kept)",
        CrashKind::PowerLoss => "a power loss (what was not yet on disk is lost)",
        CrashKind::DiskReplaced => "a disk replacement (every log is gone)",
    }
}

fn broker_of(node: NodeId) -> BrokerId {
    match node {
        NodeId::Broker(id) => id,
        other => panic!("{other} is not a broker: resolve() lets brokers only through"),
    }
}

fn names(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(NodeId::to_string).collect();
    names.join(", ")
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
        if !cluster.network().set_flaky_clogged(id, clogged) {
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
