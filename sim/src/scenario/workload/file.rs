//! Scenario files: a [`Workload`] written in TOML.
//!
//! ```toml
//! summary = "what this scenario shows"      # optional, one line
//! expect = { seed = 31, kind = "lost-write" } # optional: what a run shows
//!
//! [cluster]
//! brokers = 3                               # 1 to 9; default 3
//! truncation = "leader-epoch"               # or "high-watermark" (Kafka before 0.11)
//! "log.flush.interval.messages" = 1         # optional; unset: never flush
//!
//! [[topic]]                                 # one or more
//! name = "events"
//! partitions = 6                            # default 1
//! replication_factor = 3                    # default: min(3, brokers)
//! configs = { "min.insync.replicas" = 2, "unclean.leader.election.enable" = false }
//!
//! [[producer]]                              # one or more
//! count = 2                                 # default 1; named producer-1, producer-2, …
//! topic = "events"
//! rate = 20                                 # records a second, each; default 20
//! keys = 24                                 # keyed k0..k23; 0: no keys (round-robin)
//! configs = { acks = "all", "enable.idempotence" = true }
//!
//! [[group]]                                 # zero or more
//! id = "group-1"                            # the group.id
//! topics = ["events"]
//! consumers = 3                             # named consumer-1, consumer-2, …
//! commit = "after-processing"               # or "before-processing"
//! configs = { "partition.assignment.strategy" = "cooperative-sticky" }
//!
//! [faults]
//! mode = "swarm"                            # "none" (default), "swarm" or "schedule"
//! profile = "safe"                          # swarm: "safe" (default), "double", "wild" or "network"
//!
//! [[faults.schedule]]                       # mode = "schedule": one table a fault
//! at_ms = 5000                              # from the start of the safety phase
//! fault = "crash"                           # see below
//! broker = 1
//! for_ms = 4000                             # then it is undone (at the latest by the heal)
//!
//! [phases]
//! safety_ms = 60000                         # producing under faults; default 60000
//! liveness_ms = 60000                       # after the heal, to recover; default 60000
//! ```
//!
//! A scheduled `fault` is one of `crash` and `power-loss` (a broker restarts after
//! `for_ms`; a power loss keeps only what was flushed), `pause` and `isolate`
//! (`broker`), `link-cut` (`brokers = [a, b]`, both ways), `controller-crash`,
//! `client-cut` (`client` off from `broker`) and `client-pause` (`client` stops
//! the world: a consumer that stalls past its session returns a zombie), or one
//! of the network faults (see [`crate::nemesis`] for what each does exactly):
//!
//! ```toml
//! fault = "isolate-controller"              # the controller cut off from every broker
//!
//! fault = "isolate-leader"                  # whichever broker leads the partition
//! topic = "events"                          #   when the fault starts is isolated,
//! partition = 0                             #   and that broker healed at its end
//!
//! fault = "split"                           # the minority cut off from the other
//! brokers = [1]                             #   brokers and the controller
//!
//! fault = "one-way"                         # messages from one server to another
//! from = "broker-1"                         #   stall ("controller" or "broker-N");
//! to = "controller"                         #   the other direction flows
//!
//! fault = "slow-network"                    # every message takes extra_ms longer
//! extra_ms = 200                            #   (1 to 10000)
//!
//! fault = "flaky-link"                      # packet loss as TCP shows it: the link
//! brokers = [1, 2]                          #   clogs ~200 ms of every second, both
//!                                           #   ways; nothing is dropped
//! ```
//!
//! A split's minority must leave at least one broker on the controller's side.
//! With `mode = "swarm"`, `profile = "network"` draws these faults too (one
//! server fault at a time, no power loss).
//!
//! Producer and consumer names
//! count up across all `[[producer]]` and `[[group]]` tables.
//!
//! Configs take Kafka's keys; values may be strings, numbers or booleans.
//! Producers start from `request.timeout.ms=10000` and `delivery.timeout.ms=30000`
//! (see [`super::PRODUCER_DEFAULTS`]). A syntax error or a value of the wrong type
//! is reported with its line and column, an unknown key by name, and a workload
//! that cannot run (a replication factor above the brokers, `min.insync.replicas`
//! above the replication factor, a group without consumers, …) is refused
//! before anything runs, naming the line of the table at fault.

use super::{FaultPlan, GroupSpec, ProducerSpec, TopicSpec, Workload};
use crate::cluster::ClusterSpec;
use crate::nemesis::{Fault, Profile, Schedule, TimedFault};
use crate::scenario::worker::Commit;
use kafkasim::config::Truncation;
use kafkasim::disk::CrashKind;
use kafkasim::ids::{BrokerId, NodeId};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Reads the scenario file at `path`: a workload that passed
/// [`Workload::validate`], or an error that names the file and, where it can,
/// the line and column.
pub fn read(path: &Path) -> Result<Workload, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read scenario file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("scenario file {}: {e}", path.display()))
}

/// Parses and checks a scenario file's text.
pub fn parse(text: &str) -> Result<Workload, String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| at(text, s.start)).unwrap_or_default();
        format!("{at}{}", e.message().trim_end())
    })?;
    file.into_workload(text)
}

/// `line 3, column 7: ` for the byte `offset` of `text`.
fn at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: ")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    expect: Option<Spanned<FileExpect>>,
    #[serde(default)]
    cluster: Option<Spanned<FileCluster>>,
    #[serde(default, rename = "topic")]
    topics: Vec<Spanned<FileTopic>>,
    #[serde(default, rename = "producer")]
    producers: Vec<Spanned<FileProducer>>,
    #[serde(default, rename = "group")]
    groups: Vec<Spanned<FileGroup>>,
    #[serde(default)]
    faults: Option<Spanned<FileFaults>>,
    #[serde(default)]
    phases: FilePhases,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileExpect {
    seed: u64,
    kind: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileCluster {
    brokers: Option<u32>,
    truncation: Option<String>,
    #[serde(rename = "log.flush.interval.messages")]
    log_flush_interval_messages: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTopic {
    name: String,
    #[serde(default = "one")]
    partitions: i32,
    replication_factor: Option<i16>,
    #[serde(default)]
    configs: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProducer {
    #[serde(default = "one_u32")]
    count: u32,
    topic: String,
    #[serde(default = "twenty")]
    rate: u64,
    #[serde(default)]
    keys: u64,
    #[serde(default)]
    configs: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    id: String,
    topics: Vec<String>,
    consumers: u32,
    #[serde(default = "after_processing")]
    commit: String,
    #[serde(default)]
    configs: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileFaults {
    #[serde(default = "none")]
    mode: String,
    profile: Option<String>,
    #[serde(default)]
    schedule: Vec<Spanned<FileFault>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFault {
    at_ms: u64,
    fault: String,
    broker: Option<i32>,
    brokers: Option<Vec<i32>>,
    client: Option<String>,
    topic: Option<String>,
    partition: Option<i32>,
    from: Option<String>,
    to: Option<String>,
    extra_ms: Option<u64>,
    for_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePhases {
    #[serde(default = "sixty_seconds")]
    safety_ms: u64,
    #[serde(default = "sixty_seconds")]
    liveness_ms: u64,
}

impl Default for FilePhases {
    fn default() -> Self {
        FilePhases {
            safety_ms: sixty_seconds(),
            liveness_ms: sixty_seconds(),
        }
    }
}

fn one() -> i32 {
    1
}
fn one_u32() -> u32 {
    1
}
fn twenty() -> u64 {
    20
}
fn sixty_seconds() -> u64 {
    60_000
}
fn after_processing() -> String {
    "after-processing".into()
}
fn none() -> String {
    "none".into()
}

/// A config value as Kafka reads it: a string, a number or a boolean.
fn config_values(configs: BTreeMap<String, toml::Value>) -> Result<Vec<(String, String)>, String> {
    (configs.into_iter())
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(x) => x.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(format!(
                        "config {key} must be a string, a number or a boolean, not a {}",
                        other.type_str()
                    ))
                }
            };
            Ok((key, text))
        })
        .collect()
}

impl File {
    fn into_workload(self, text: &str) -> Result<Workload, String> {
        let spanned = |start: usize, e: String| format!("{}{e}", at(text, start));
        let (cluster, cluster_at) = match self.cluster {
            Some(c) => (c.get_ref().clone_spec(), c.span().start),
            None => (Ok(ClusterSpec::default()), 0),
        };
        let cluster = cluster.map_err(|e| spanned(cluster_at, e))?;
        let expect = match self.expect {
            Some(expect) if expect.get_ref().kind.trim().is_empty() => {
                return Err(spanned(
                    expect.span().start,
                    "expect: kind must not be empty".into(),
                ))
            }
            Some(expect) => {
                let FileExpect { seed, kind } = expect.into_inner();
                Some(super::Expectation { seed, kind })
            }
            None => None,
        };
        let mut workload = Workload {
            summary: self.summary,
            expect,
            topics: Vec::new(),
            producers: Vec::new(),
            groups: Vec::new(),
            faults: FaultPlan::None,
            safety_ms: self.phases.safety_ms,
            liveness_ms: self.phases.liveness_ms,
            cluster,
        };
        // Each part is checked as it is added, so an error names its table's line.
        let mut blame: Vec<(usize, String)> = Vec::new();
        for topic in self.topics {
            let start = topic.span().start;
            let topic = topic.into_inner();
            let configs = config_values(topic.configs).map_err(|e| spanned(start, e))?;
            workload.topics.push(TopicSpec {
                name: topic.name.clone(),
                partitions: topic.partitions,
                replication_factor: (topic.replication_factor)
                    .unwrap_or(workload.cluster.brokers.min(3) as i16),
                configs: configs.into_iter().collect(),
            });
            blame.push((start, format!("topic {}", topic.name)));
        }
        for producer in self.producers {
            let start = producer.span().start;
            let producer = producer.into_inner();
            let settings = config_values(producer.configs).map_err(|e| spanned(start, e))?;
            if producer.count == 0 || !(1..=super::RATE_PER_S_MAX).contains(&producer.rate) {
                return Err(spanned(start, format!(
                    "a [[producer]] needs a count of at least 1 and a rate of 1 to {} records a second",
                    super::RATE_PER_S_MAX
                )));
            }
            for _ in 0..producer.count {
                let name = format!("producer-{}", workload.producers.len() + 1);
                blame.push((start, name.clone()));
                workload.producers.push(ProducerSpec {
                    name,
                    topic: producer.topic.clone(),
                    interval_ms: 1000 / producer.rate,
                    keys: producer.keys,
                    settings: settings.clone(),
                });
            }
        }
        let mut consumers = 0;
        for group in self.groups {
            let start = group.span().start;
            let group = group.into_inner();
            let commit = match group.commit.as_str() {
                "after-processing" => Commit::AfterProcessing,
                "before-processing" => Commit::BeforeProcessing,
                other => {
                    return Err(spanned(start, format!(
                        "commit must be \"after-processing\" or \"before-processing\", got \"{other}\""
                    )))
                }
            };
            let settings = config_values(group.configs).map_err(|e| spanned(start, e))?;
            let names = (0..group.consumers).map(|_| {
                consumers += 1;
                format!("consumer-{consumers}")
            });
            blame.push((start, format!("group {}", group.id)));
            workload.groups.push(GroupSpec {
                id: group.id,
                topics: group.topics,
                consumers: names.collect(),
                commit,
                settings,
            });
        }
        if let Some(faults) = self.faults {
            let start = faults.span().start;
            let (plan, fault_blame) = faults.into_inner().into_plan(text, workload.safety_ms)?;
            workload.faults = plan;
            blame.push((start, "fault".into()));
            blame.extend(fault_blame);
        }
        workload.validate().map_err(|e| {
            // The line of the table the message names, if one does.
            let line = (blame.iter().rev())
                .find(|(_, who)| {
                    e.starts_with(&format!("{who}:")) || e.starts_with(&format!("{who} "))
                })
                .map(|(start, _)| at(text, *start))
                .unwrap_or_default();
            format!("{line}{e}")
        })?;
        Ok(workload)
    }
}

impl FileCluster {
    fn clone_spec(&self) -> Result<ClusterSpec, String> {
        let mut spec = ClusterSpec::default();
        if let Some(brokers) = self.brokers {
            spec.brokers = brokers;
        }
        if let Some(truncation) = &self.truncation {
            spec.truncation = Truncation::parse(truncation).map_err(|e| format!("cluster: {e}"))?;
        }
        spec.log_flush_interval_messages = self.log_flush_interval_messages;
        Ok(spec)
    }
}

impl FileFaults {
    /// The plan, and where each scheduled fault was written (for errors).
    fn into_plan(
        self,
        text: &str,
        safety_ms: u64,
    ) -> Result<(FaultPlan, Vec<(usize, String)>), String> {
        let FileFaults {
            mode,
            profile,
            schedule,
        } = self;
        let mut blame = Vec::new();
        let only_for =
            |what: &str, mode: &str| Err(format!("faults: {what} is for mode = \"{mode}\" only"));
        match mode.as_str() {
            "none" | "swarm" if !schedule.is_empty() => only_for("[[faults.schedule]]", "schedule"),
            "none" if profile.is_some() => only_for("profile", "swarm"),
            "none" => Ok((FaultPlan::None, blame)),
            "swarm" => {
                let profile = match profile.as_deref() {
                    None | Some("safe") => Profile::SAFE,
                    Some("double") => Profile::DOUBLE,
                    Some("wild") => Profile::WILD,
                    Some("network") => Profile::NETWORK,
                    Some(other) => {
                        return Err(format!(
                        "faults: profile must be \"safe\", \"double\", \"wild\" or \"network\", got \"{other}\""
                    ))
                    }
                };
                Ok((FaultPlan::Swarm(profile), blame))
            }
            "schedule" if profile.is_some() => only_for("profile", "swarm"),
            "schedule" => {
                let mut faults = Vec::new();
                for fault in schedule {
                    let start = fault.span().start;
                    let timed = fault
                        .into_inner()
                        .into_timed()
                        .map_err(|e| format!("{}{e}", at(text, start)))?;
                    blame.push((
                        start,
                        format!(
                            "fault at {} ms ({})",
                            timed.at_ms,
                            timed.fault.kind().name()
                        ),
                    ));
                    faults.push(timed);
                }
                faults.sort_by_key(|f| f.at_ms);
                let phase_ms = safety_ms;
                Ok((FaultPlan::Schedule(Schedule { phase_ms, faults }), blame))
            }
            other => Err(format!(
                "faults: mode must be \"none\", \"swarm\" or \"schedule\", got \"{other}\""
            )),
        }
    }
}

/// Every scheduled fault, by name, with the keys it takes besides `at_ms`,
/// `fault` and `for_ms`.
const FAULT_KEYS: [(&str, &[&str]); 14] = [
    ("crash", &["broker"]),
    ("power-loss", &["broker"]),
    ("pause", &["broker"]),
    ("isolate", &["broker"]),
    ("link-cut", &["brokers"]),
    ("controller-crash", &[]),
    ("client-cut", &["client", "broker"]),
    ("client-pause", &["client"]),
    ("isolate-controller", &[]),
    ("isolate-leader", &["topic", "partition"]),
    ("split", &["brokers"]),
    ("one-way", &["from", "to"]),
    ("slow-network", &["extra_ms"]),
    ("flaky-link", &["brokers"]),
];

/// `a` or `an`, as the fault's name sounds (`an isolate`, `a one-way`).
fn article(fault: &str) -> &'static str {
    match fault.starts_with(['a', 'e', 'i']) {
        true => "an",
        false => "a",
    }
}

/// `"controller"` or `"broker-N"`: a server, as the trace names it.
fn server(key: &str, name: &str) -> Result<NodeId, String> {
    if name == "controller" {
        return Ok(NodeId::Controller);
    }
    (name.strip_prefix("broker-"))
        .and_then(|id| id.parse::<BrokerId>().ok())
        .map(NodeId::Broker)
        .ok_or_else(|| format!("{key} must be \"controller\" or \"broker-N\", got \"{name}\""))
}

impl FileFault {
    fn into_timed(self) -> Result<TimedFault, String> {
        let FileFault {
            at_ms,
            fault,
            broker,
            brokers,
            client,
            topic,
            partition,
            from,
            to,
            extra_ms,
            for_ms,
        } = self;
        let Some((_, takes)) = FAULT_KEYS.iter().find(|(name, _)| *name == fault) else {
            let known: Vec<&str> = FAULT_KEYS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown fault \"{fault}\"; faults: {}",
                known.join(", ")
            ));
        };
        let given = [
            ("broker", broker.is_some()),
            ("brokers", brokers.is_some()),
            ("client", client.is_some()),
            ("topic", topic.is_some()),
            ("partition", partition.is_some()),
            ("from", from.is_some()),
            ("to", to.is_some()),
            ("extra_ms", extra_ms.is_some()),
        ];
        if let Some((key, _)) = given.iter().find(|(key, on)| *on && !takes.contains(key)) {
            let hint = match (*key, takes.first()) {
                ("brokers", Some(&"broker")) => " (use broker)",
                ("broker", Some(&"brokers")) => " (use brokers = [...])",
                _ => "",
            };
            return Err(format!(
                "{} {fault} fault takes no {key}{hint}",
                article(&fault)
            ));
        }
        let needs = |what: &str| format!("{} {fault} fault needs {what}", article(&fault));
        let one_broker = || broker.ok_or_else(|| needs("broker = N"));
        let client = || client.clone().ok_or_else(|| needs("client = \"name\""));
        let pair = || match brokers.as_deref() {
            Some(&[a, b]) => Ok((a.min(b), a.max(b))),
            _ => Err(needs("brokers = [a, b]")),
        };
        let fault = match fault.as_str() {
            "crash" => Fault::BrokerCrash {
                broker: one_broker()?,
                kind: CrashKind::ProcessCrash,
                down_ms: for_ms,
            },
            "power-loss" => Fault::BrokerCrash {
                broker: one_broker()?,
                kind: CrashKind::PowerLoss,
                down_ms: for_ms,
            },
            "pause" => Fault::BrokerPause {
                broker: one_broker()?,
                for_ms,
            },
            "isolate" => Fault::BrokerIsolation {
                broker: one_broker()?,
                for_ms,
            },
            "link-cut" => {
                let (a, b) = pair()?;
                Fault::LinkCut { a, b, for_ms }
            }
            "controller-crash" => Fault::ControllerCrash { down_ms: for_ms },
            "client-cut" => Fault::ClientCut {
                client: client()?,
                broker: one_broker()?,
                for_ms,
            },
            "client-pause" => Fault::ClientPause {
                client: client()?,
                for_ms,
            },
            "isolate-controller" => Fault::IsolateController { for_ms },
            "isolate-leader" => Fault::IsolateLeader {
                topic: topic.ok_or_else(|| needs("topic = \"name\""))?,
                partition: partition.ok_or_else(|| needs("partition = N"))?,
                for_ms,
            },
            "split" => {
                let mut minority =
                    brokers.ok_or_else(|| needs("brokers = [...] (its minority)"))?;
                minority.sort_unstable();
                Fault::Split { minority, for_ms }
            }
            "one-way" => {
                let from = from.ok_or_else(|| needs("from = \"broker-N\" or \"controller\""))?;
                let to = to.ok_or_else(|| needs("to = \"broker-N\" or \"controller\""))?;
                let server = |key: &str, name: &str| {
                    server(key, name)
                        .map_err(|e| format!("{} {fault} fault's {e}", article(&fault)))
                };
                Fault::OneWay {
                    from: server("from", &from)?,
                    to: server("to", &to)?,
                    for_ms,
                }
            }
            "slow-network" => Fault::SlowNetwork {
                extra_ms: extra_ms.ok_or_else(|| needs("extra_ms = N"))?,
                for_ms,
            },
            "flaky-link" => {
                let (a, b) = pair()?;
                Fault::FlakyLink { a, b, for_ms }
            }
            other => unreachable!("{other} is in FAULT_KEYS"),
        };
        Ok(TimedFault { at_ms, fault })
    }
}

mod write;
pub use write::to_toml;

#[cfg(test)]
mod tests;
