//! Scenario files: a [`Workload`] written in TOML.
//!
//! ```toml
//! summary = "what this scenario shows"      # optional, one line
//! expect = { seed = 31, kind = "lost-write" } # optional: what a run shows
//! bugs = ["kip-101"]                        # optional: famous bugs switched back
//!                                           #   on (`kafkasim bugs` lists them)
//! hunt = true                               # optional: a bug hunt; a run's text
//!                                           #   does not name the bugs
//!
//! [cluster]
//! brokers = 3                               # 1 to 9; default 3
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
//! profile = "safe"                          # swarm: "safe" (default), "double", "wild",
//!                                           #   "network" or "replication"
//!
//! [[faults.schedule]]                       # mode = "schedule": one table a fault
//! at_ms = 5000                              # from the start of the safety phase
//! fault = "crash"                           # see below
//! node = "broker-1"                         # or a role: "leader of events-0"
//! for_ms = 4000                             # then it is undone (at the latest by the heal)
//!
//! [phases]
//! safety_ms = 60000                         # producing under faults; default 60000
//! liveness_ms = 60000                       # after the heal, to recover; default 60000
//! ```
//!
//! A scheduled fault is a `kafkasim_check::Fault` as serde writes it: `at_ms`,
//! `for_ms`, and `fault` with the keys that fault takes. A `node` is
//! `"controller"`, `"broker-N"`, or a role resolved when the fault starts:
//! `"leader of TOPIC-P"`, `"follower of TOPIC-P"`, `"coordinator of GROUP"`.
//!
//! ```toml
//! fault = "crash"                           # the process dies, restarts after for_ms
//! node = "controller"                       #   (the controller: metadata freezes)
//!
//! fault = "power-loss"                      # the machine restarts with only what
//! node = "broker-2"                         #   it flushed
//!
//! fault = "pause"                           # stop the world (a GC pause)
//! fault = "isolate"                         # cut off from every other server;
//! node = "leader of events-0"               #   clients still reach a broker
//!
//! fault = "link-cut"                        # both ways; "flaky-link" clogs and
//! nodes = ["broker-1", "broker-2"]          #   opens it over and over instead
//!
//! fault = "split"                           # the minority cut off from the other
//! nodes = ["broker-1"]                      #   brokers and the controller
//!
//! fault = "one-way"                         # messages from one server to another
//! from = "broker-1"                         #   stall; the other direction flows
//! to = "controller"
//!
//! fault = "slow-network"                    # every message takes extra_ms longer
//! extra_ms = 200                            #   (1 to 10000)
//!
//! fault = "lost-response"                   # the next Produce response from the
//! node = "leader of events-0"               #   node within for_ms is lost: the
//! api = "Produce"                           #   connection is reset instead
//!
//! fault = "stall-api"                       # every AlterPartition request from the
//! node = "broker-1"                         #   node stalls until the fault ends; its
//! api = "AlterPartition"                    #   other messages flow (heartbeats too)
//!
//! fault = "client-cut"                      # a client machine cut off from a broker
//! client = "producer-2"
//! node = "broker-3"
//!
//! fault = "client-pause"                    # a client stops the world: a consumer
//! client = "consumer-1"                     #   past its session comes back a zombie
//!
//! fault = "client-crash"                    # a client dies; it is not restarted
//! client = "consumer-1"
//! ```
//!
//! A split's minority must leave at least one broker on the controller's side.
//! With `mode = "swarm"`, `profile = "network"` draws the network faults too (one
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

use super::validate::Part;
use super::{FaultPlan, GroupSpec, ProducerSpec, TopicSpec, Workload};
use crate::nemesis::Profile;
use crate::scenario::worker::Commit;
use kafkasim::bugs::{Bug, Bugs};
use kafkasim_check::fault::{Fault, Schedule};
use kafkasim_check::Kind;
use kafkasim_sim::ClusterSpec;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Reads the scenario file at `path`: a workload that passed
/// [`Workload::validate`], or an error that names the file and, where it can,
/// the line and column.
pub fn read(path: &Path) -> Result<Workload, String> {
    let in_file = |e: String| format!("scenario file {}: {e}", path.display());
    let bytes = crate::input::read_bytes(path, FILE_BYTES_MAX).map_err(|e| {
        // input's "cannot read PATH: why", saying what the file is.
        e.replacen("cannot read ", "cannot read scenario file ", 1)
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).expect("valid up to there");
        in_file(format!("{}not UTF-8 text", at(valid, valid.len())))
    })?;
    parse(&text).map_err(in_file)
}

/// The largest scenario file read: the longest built-in one is a few
/// kilobytes, and a file is parsed whole.
pub const FILE_BYTES_MAX: u64 = 1 << 20;

/// Parses and checks a scenario file's text.
pub fn parse(text: &str) -> Result<Workload, String> {
    // Strings first: a later error may quote one (an unknown fault name).
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    refuse_control_characters(text, table)?;
    let file: File = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    file.into_workload(text)
}

/// toml's error as one line, with where it happened. Its message may take
/// several lines, and may quote the file.
fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let at = error.span().map(|s| at(text, s.start)).unwrap_or_default();
    let lines: Vec<&str> = error.message().lines().map(str::trim).collect();
    let message: String = (lines.join(": ").chars())
        .map(|c| match c.is_control() {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect();
    format!("{at}{message}")
}

/// Refuses a string that holds a control character (TOML lets `\u001b` and
/// `\n` escapes write them): names, ids and summaries are printed on the
/// terminal, where an escape sequence would clear the screen or forge a line.
fn refuse_control_characters(text: &str, table: toml::Table) -> Result<(), String> {
    let mut found = None;
    walk_strings(&toml::Value::Table(table), &mut |s: &str| {
        if found.is_none() {
            found = s.chars().find(|c| c.is_control());
        }
    });
    let Some(control) = found else {
        return Ok(());
    };
    // The line: the first that writes an escape of a control character.
    let line = text
        .lines()
        .position(writes_control_escape)
        .map(|i| format!("line {}: ", i + 1))
        .unwrap_or_default();
    Err(format!(
        "{line}a string holds the control character U+{:04X}; scenario files take printable text",
        control as u32
    ))
}

/// Calls `each` with every string of `value`, keys included.
fn walk_strings(value: &toml::Value, each: &mut impl FnMut(&str)) {
    match value {
        toml::Value::String(s) => each(s),
        toml::Value::Array(items) => items.iter().for_each(|v| walk_strings(v, each)),
        toml::Value::Table(table) => {
            for (key, v) in table {
                each(key);
                walk_strings(v, each);
            }
        }
        _ => {}
    }
}

/// Whether a line of TOML holds an escape that writes a control character:
/// `\b \t \n \f \r \e`, or `\u`/`\U` of one.
fn writes_control_escape(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'\\' => i += 2,
            b'b' | b't' | b'n' | b'f' | b'r' | b'e' => return true,
            b'u' | b'U' => {
                let digits = if bytes[i + 1] == b'u' { 4 } else { 8 };
                let hex = line.get(i + 2..i + 2 + digits).unwrap_or("");
                let code = u32::from_str_radix(hex, 16).ok();
                if code
                    .and_then(char::from_u32)
                    .is_some_and(|c| c.is_control())
                {
                    return true;
                }
                i += 2;
            }
            _ => i += 2,
        }
    }
    false
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
    bugs: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    hunt: Option<Spanned<bool>>,
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
    phases: Option<Spanned<FilePhases>>,
    #[serde(default, rename = "step")]
    steps: Vec<Spanned<toml::Table>>,
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
    /// Linux's page-cache writeback on every server machine (0 turns it off).
    #[serde(rename = "vm.dirty_expire_centisecs")]
    dirty_expire_centisecs: Option<u64>,
    #[serde(rename = "vm.dirty_writeback_centisecs")]
    dirty_writeback_centisecs: Option<u64>,
    /// The controller's KIP-966 feature level: 0 (off) or 1 (on).
    #[serde(rename = "eligible.leader.replicas.version")]
    eligible_leader_replicas_version: Option<u8>,
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
    count: Option<u32>,
    name: Option<String>,
    topic: Option<String>,
    rate: Option<u64>,
    keys: Option<u64>,
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
    schedule: Vec<Spanned<Fault>>,
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
            Some(c) => (c.get_ref().clone_spec(), Some(c.span().start)),
            None => (Ok(ClusterSpec::default()), None),
        };
        let mut cluster = cluster.map_err(|e| spanned(cluster_at.unwrap_or(0), e))?;
        if let Some(bugs) = self.bugs {
            let start = bugs.span().start;
            let names = bugs.into_inner();
            let parsed: Result<Vec<Bug>, String> = names.iter().map(|n| n.parse()).collect();
            let parsed = parsed.map_err(|e| spanned(start, format!("bugs: {e}")))?;
            cluster.bugs = parsed.into_iter().collect::<Bugs>();
        }
        let hunt =
            match self.hunt {
                Some(hunt) if *hunt.get_ref() && cluster.bugs.is_empty() => return Err(spanned(
                    hunt.span().start,
                    "hunt = true hides the bugs a file switches on, and this one switches on none"
                        .into(),
                )),
                Some(hunt) => hunt.into_inner(),
                None => false,
            };
        let expect = match self.expect {
            Some(expect) if expect.get_ref().kind.trim().is_empty() => {
                return Err(spanned(
                    expect.span().start,
                    "expect: kind must not be empty".into(),
                ))
            }
            Some(expect) => {
                let start = expect.span().start;
                let FileExpect { seed, kind } = expect.into_inner();
                let kind: Kind = kind
                    .parse()
                    .map_err(|e| spanned(start, format!("expect: {e}")))?;
                Some(super::Expectation { seed, kind })
            }
            None => None,
        };
        let phases_at = self.phases.as_ref().map(|p| p.span().start);
        let phases = self.phases.map(Spanned::into_inner).unwrap_or_default();
        let mut workload = Workload {
            summary: self.summary,
            expect,
            topics: Vec::new(),
            producers: Vec::new(),
            groups: Vec::new(),
            faults: FaultPlan::None,
            safety_ms: phases.safety_ms,
            liveness_ms: phases.liveness_ms,
            cluster,
            steps: Vec::new(),
            hunt,
        };
        let story = !self.steps.is_empty();
        if story {
            let not_in_a_story = |what: &str, start: usize| {
                Err(spanned(
                    start,
                    format!(
                        "{what} is not for a story: its [[step]] tables say what happens, and when"
                    ),
                ))
            };
            if let Some(group) = self.groups.first() {
                return not_in_a_story("[[group]]", group.span().start);
            }
            if let Some(faults) = &self.faults {
                return not_in_a_story("[faults]", faults.span().start);
            }
            if let Some(start) = phases_at {
                return not_in_a_story("[phases]", start);
            }
        }
        // Where each part was written, so a validation error names its line.
        let mut lines = Lines {
            cluster: cluster_at,
            phases: phases_at,
            ..Lines::default()
        };
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
            lines.topics.push(start);
        }
        for producer in self.producers {
            let start = producer.span().start;
            let mut producer = producer.into_inner();
            let configs = std::mem::take(&mut producer.configs);
            let settings = config_values(configs).map_err(|e| spanned(start, e))?;
            for spec in producer.into_specs(story, workload.producers.len(), settings) {
                lines.producers.push(start);
                workload
                    .producers
                    .push(spec.map_err(|e| spanned(start, e))?);
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
            if group.consumers as usize > super::CLIENTS_MAX {
                return Err(spanned(
                    start,
                    format!(
                        "consumers = {}: a workload has at most {} producers and consumers",
                        group.consumers,
                        super::CLIENTS_MAX
                    ),
                ));
            }
            let names = (0..group.consumers).map(|_| {
                consumers += 1;
                format!("consumer-{consumers}")
            });
            lines.groups.push(start);
            workload.groups.push(GroupSpec {
                id: group.id,
                topics: group.topics,
                consumers: names.collect(),
                commit,
                settings,
            });
        }
        let names = |all: Vec<&String>| all.into_iter().cloned().collect::<Vec<_>>();
        let defaults = steps::Defaults {
            producers: &names(workload.producers.iter().map(|p| &p.name).collect()),
            topics: &names(workload.topics.iter().map(|t| &t.name).collect()),
        };
        for step in self.steps {
            let start = step.span().start;
            let step = steps::step(step.into_inner(), &defaults).map_err(|e| spanned(start, e))?;
            workload.steps.push(step);
            lines.steps.push(start);
        }
        if let Some(faults) = self.faults {
            let start = faults.span().start;
            let into_plan = faults.into_inner().into_plan(workload.safety_ms);
            let (plan, starts) = into_plan.map_err(|e| spanned(start, e))?;
            workload.faults = plan;
            lines.faults = starts;
        }
        workload.validate().map_err(|e| {
            let start = lines.of(e.part);
            let line = start.map(|s| at(text, s)).unwrap_or_default();
            format!("{line}{e}")
        })?;
        Ok(workload)
    }
}

/// Where each part of a workload was written in its file (byte offsets).
#[derive(Default)]
struct Lines {
    cluster: Option<usize>,
    phases: Option<usize>,
    topics: Vec<usize>,
    producers: Vec<usize>,
    groups: Vec<usize>,
    faults: Vec<usize>,
    steps: Vec<usize>,
}

impl Lines {
    /// Where `part` was written; `None` when the file does not say (a default).
    fn of(&self, part: Part) -> Option<usize> {
        match part {
            Part::Workload => None,
            Part::Phases => self.phases,
            Part::Cluster => self.cluster,
            Part::Topic(i) => self.topics.get(i).copied(),
            Part::Producer(i) => self.producers.get(i).copied(),
            Part::Group(i) => self.groups.get(i).copied(),
            Part::Fault(i) => self.faults.get(i).copied(),
            Part::Step(i) => self.steps.get(i).copied(),
        }
    }
}

impl FileProducer {
    /// The producers this table declares (`count` of them, numbered from
    /// `before + 1`), or why it cannot. A story's producer is one, named or
    /// numbered, and sends only what the steps say.
    fn into_specs(
        self,
        story: bool,
        before: usize,
        settings: Vec<(String, String)>,
    ) -> Vec<Result<ProducerSpec, String>> {
        let numbered = |n: usize| format!("producer-{}", before + n);
        if story {
            let workload_only = [
                ("topic", self.topic.is_some()),
                ("rate", self.rate.is_some()),
                ("keys", self.keys.is_some()),
                ("count", self.count.is_some()),
            ];
            if let Some((key, _)) = workload_only.iter().find(|(_, given)| *given) {
                let why = format!(
                    "a story's [[producer]] sends only what its steps say: {key} is for workloads without steps"
                );
                return vec![Err(why)];
            }
            return vec![Ok(ProducerSpec {
                name: self.name.unwrap_or_else(|| numbered(1)),
                topic: String::new(),
                interval_ms: 0,
                keys: 0,
                settings,
            })];
        }
        let count = self.count.unwrap_or(1);
        let rate = self.rate.unwrap_or(20);
        let Some(topic) = self.topic else {
            return vec![Err("a [[producer]] needs the topic it sends to".into())];
        };
        if count == 0 || !(1..=super::RATE_PER_S_MAX).contains(&rate) {
            return vec![Err(format!(
                "a [[producer]] needs a count of at least 1 and a rate of 1 to {} records a second",
                super::RATE_PER_S_MAX
            ))];
        }
        if count as usize > super::CLIENTS_MAX {
            return vec![Err(format!(
                "count = {count}: a workload has at most {} producers and consumers",
                super::CLIENTS_MAX
            ))];
        }
        if self.name.is_some() && count > 1 {
            return vec![Err(
                "name is for one producer; with a count, producers are numbered".into(),
            )];
        }
        (1..=count as usize)
            .map(|n| {
                Ok(ProducerSpec {
                    name: self.name.clone().unwrap_or_else(|| numbered(n)),
                    topic: topic.clone(),
                    interval_ms: 1000 / rate,
                    keys: self.keys.unwrap_or(0),
                    settings: settings.clone(),
                })
            })
            .collect()
    }
}

impl FileCluster {
    fn clone_spec(&self) -> Result<ClusterSpec, String> {
        let mut spec = ClusterSpec::default();
        if let Some(brokers) = self.brokers {
            spec.brokers = brokers;
        }
        if let Some(truncation) = &self.truncation {
            // The old rule is a bug switch now, with the others.
            let instead = match truncation.as_str() {
                "high-watermark" => "bugs = [\"kip-101\"] at the top of the file",
                _ => "nothing: leader epochs are the rule",
            };
            return Err(format!(
                "cluster: truncation = \"{}\" is no longer a setting; write {instead}",
                truncation.escape_debug()
            ));
        }
        spec.log_flush_interval_messages = self.log_flush_interval_messages;
        spec.controller.eligible_leader_replicas = match self.eligible_leader_replicas_version {
            None | Some(0) => false,
            Some(1) => true,
            Some(other) => {
                return Err(format!(
                    "cluster: eligible.leader.replicas.version = {other}: Kafka knows 0 (off) and 1 (on)"
                ))
            }
        };
        if let Some(centisecs) = self.dirty_expire_centisecs {
            spec.page_cache.dirty_expire_ms =
                centisecs_to_ms("vm.dirty_expire_centisecs", centisecs)?;
        }
        if let Some(centisecs) = self.dirty_writeback_centisecs {
            spec.page_cache.dirty_writeback_ms =
                centisecs_to_ms("vm.dirty_writeback_centisecs", centisecs)?;
        }
        Ok(spec)
    }
}

/// A sysctl in hundredths of a second, as milliseconds; refused past a day
/// (Linux would take it, but no run lasts that long and the arithmetic must not
/// overflow).
fn centisecs_to_ms(key: &str, centisecs: u64) -> Result<u64, String> {
    const DAY_CENTISECS: u64 = 24 * 60 * 60 * 100;
    if centisecs > DAY_CENTISECS {
        return Err(format!(
            "cluster: {key} = {centisecs} is more than a day ({DAY_CENTISECS})"
        ));
    }
    Ok(centisecs * 10)
}

impl FileFaults {
    /// The plan, and where each scheduled fault was written (for errors), in
    /// the order the schedule runs them.
    fn into_plan(self, safety_ms: u64) -> Result<(FaultPlan, Vec<usize>), String> {
        let FileFaults {
            mode,
            profile,
            schedule,
        } = self;
        let only_for =
            |what: &str, mode: &str| Err(format!("faults: {what} is for mode = \"{mode}\" only"));
        match mode.as_str() {
            "none" | "swarm" if !schedule.is_empty() => only_for("[[faults.schedule]]", "schedule"),
            "none" if profile.is_some() => only_for("profile", "swarm"),
            "none" => Ok((FaultPlan::None, vec![])),
            "swarm" => {
                let name = profile.as_deref().unwrap_or("safe");
                let profile = Profile::named(name).ok_or_else(|| {
                    let names: Vec<String> = (Profile::ALL.iter())
                        .map(|p| format!("\"{}\"", p.name))
                        .collect();
                    format!(
                        "faults: profile must be one of {}, got \"{name}\"",
                        names.join(", ")
                    )
                })?;
                Ok((FaultPlan::Swarm(profile), vec![]))
            }
            "schedule" if profile.is_some() => only_for("profile", "swarm"),
            "schedule" => {
                let mut faults: Vec<(usize, Fault)> = (schedule.into_iter())
                    .map(|f| (f.span().start, f.into_inner()))
                    .collect();
                // A stable sort: faults written at one time keep their order.
                faults.sort_by_key(|(_, f)| f.at_ms);
                let (starts, faults) = faults.into_iter().unzip();
                let plan = FaultPlan::Schedule(Schedule {
                    phase_ms: safety_ms,
                    faults,
                });
                Ok((plan, starts))
            }
            other => Err(format!(
                "faults: mode must be \"none\", \"swarm\" or \"schedule\", got \"{other}\""
            )),
        }
    }
}

mod steps;
mod write;
pub use write::to_toml;

#[cfg(test)]
mod tests;
