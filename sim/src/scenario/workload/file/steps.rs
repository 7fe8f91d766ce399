//! A story's `[[step]]` tables, read into [`Step`]s.
//!
//! ```toml
//! [[step]]
//! send = ["m1", "m2"]            # each sent and waited for, in order
//! producer = "producer"          # optional when the story has one producer
//! topic = "orders"               # optional when it has one topic
//! partition = 0                  # default 0
//!
//! [[step]]
//! fault = "crash"                # any fault, written as in [[faults.schedule]],
//! node = "leader of orders-0"    #   without at_ms and for_ms: it starts now
//! name = "leader-down"           # optional: how a later step ends it
//!
//! [[step]]
//! end = "leader-down"            # or a list: ["cut-1", "cut-2"]
//!
//! [[step]]
//! wait = "orders-0"              # until exactly one of:
//! leader = "changed"             #   "changed", "none" or "broker-N"
//! # isr = ["broker-1"]           #   the ISR, in any order
//! # isr_size = 3                 #   how many replicas the ISR holds
//!
//! [[step]]
//! sleep_ms = 1000
//!
//! [[step]]
//! show = "orders"                # each partition's leader and ISR, on the timeline,
//! say = "leaders now"            #   after these words (default: the topic's name)
//!
//! [[step]]
//! read = "orders"                # a fresh consumer reads the topic to its high
//!                                #   watermark now (what a consumer may see)
//!
//! [[step]]
//! elect = "preferred"            # a preferred leader election of every partition
//! ```

use crate::scenario::workload::step::{Condition, Step};
use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim_check::fault::{Action, Target};
use serde::Deserialize;

/// The keys a step may start with: exactly one of them says what it does.
const STEP_KEYS: [&str; 8] = [
    "send", "fault", "end", "wait", "sleep_ms", "show", "read", "elect",
];

/// What a story's steps may refer to without naming it: the story's only
/// producer and only topic.
pub(super) struct Defaults<'a> {
    pub producers: &'a [String],
    pub topics: &'a [String],
}

/// Reads one `[[step]]` table.
pub(super) fn step(table: toml::Table, defaults: &Defaults<'_>) -> Result<Step, String> {
    let keys: Vec<&str> = (STEP_KEYS.iter().copied())
        .filter(|k| table.contains_key(*k))
        .collect();
    let key = match keys[..] {
        [key] => key,
        [] => {
            return Err(format!(
                "a step needs one of {} to say what it does",
                STEP_KEYS.join(", ")
            ))
        }
        _ => {
            return Err(format!(
                "a step does one thing: it has {}",
                keys.join(" and ")
            ))
        }
    };
    match key {
        "send" => send(table, defaults),
        "fault" => fault(table),
        "end" => end(table),
        "wait" => wait(table),
        "sleep_ms" => {
            let sleep: SleepStep = typed(table, "sleep_ms")?;
            Ok(Step::Sleep { ms: sleep.sleep_ms })
        }
        "show" => {
            let show: ShowStep = typed(table, "show")?;
            let say = show.say.unwrap_or_else(|| show.show.clone());
            Ok(Step::Show {
                topic: show.show,
                say,
            })
        }
        "read" => {
            let read: ReadStep = typed(table, "read")?;
            Ok(Step::Read { topic: read.read })
        }
        "elect" => {
            let elect: ElectStep = typed(table, "elect")?;
            match elect.elect.as_str() {
                "preferred" => Ok(Step::ElectPreferredLeaders),
                other => Err(format!(
                    "elect: only \"preferred\" elections are asked for by steps, got \"{other}\""
                )),
            }
        }
        _ => unreachable!("one of STEP_KEYS"),
    }
}

/// The table as a step of a known shape; an unknown key is named.
fn typed<'de, T: Deserialize<'de>>(table: toml::Table, key: &str) -> Result<T, String> {
    T::deserialize(toml::Value::Table(table)).map_err(|e| format!("{key} step: {}", e.message()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendStep {
    send: OneOrMany,
    producer: Option<String>,
    topic: Option<String>,
    #[serde(default)]
    partition: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndStep {
    end: OneOrMany,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitStep {
    wait: String,
    leader: Option<String>,
    isr: Option<Vec<String>>,
    isr_size: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SleepStep {
    sleep_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowStep {
    show: String,
    say: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadStep {
    read: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElectStep {
    elect: String,
}

/// A string, or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

fn send(table: toml::Table, defaults: &Defaults<'_>) -> Result<Step, String> {
    let send: SendStep = typed(table, "send")?;
    let only = |named: Option<String>, all: &[String], what: &str| match (named, all) {
        (Some(name), _) => Ok(name),
        (None, [only]) => Ok(only.clone()),
        (None, []) => Err(format!("send: the story has no {what}")),
        (None, _) => Err(format!(
            "send: the story has {} {what}s ({}); name one with {what} = \"…\"",
            all.len(),
            all.join(", ")
        )),
    };
    let producer = only(send.producer, defaults.producers, "producer")?;
    let topic = only(send.topic, defaults.topics, "topic")?;
    Ok(Step::Send {
        producer,
        partition: TopicPartition::new(topic, send.partition),
        values: send.send.into_vec(),
    })
}

fn fault(mut table: toml::Table) -> Result<Step, String> {
    let name = match table.remove("name") {
        None => None,
        Some(toml::Value::String(name)) => Some(name),
        Some(other) => {
            return Err(format!(
                "fault step: name must be a string, not a {}",
                other.type_str()
            ))
        }
    };
    for timed in ["at_ms", "for_ms"] {
        if table.contains_key(timed) {
            return Err(format!(
                "fault step: {timed} is for [[faults.schedule]]; a step's fault starts when the step before it ends, and ends at an end step"
            ));
        }
    }
    let action: Action = typed(table, "fault")?;
    Ok(Step::Fault { name, action })
}

fn end(table: toml::Table) -> Result<Step, String> {
    let end: EndStep = typed(table, "end")?;
    Ok(Step::End {
        names: end.end.into_vec(),
    })
}

fn wait(table: toml::Table) -> Result<Step, String> {
    let wait: WaitStep = typed(table, "wait")?;
    let partition = partition(&wait.wait)?;
    let until = match (wait.leader, wait.isr, wait.isr_size) {
        (Some(leader), None, None) => match leader.as_str() {
            "changed" => Condition::LeaderChanged,
            "none" => Condition::Leader(None),
            broker => Condition::Leader(Some(broker_id(broker)?)),
        },
        (None, Some(isr), None) => {
            let ids = isr.iter().map(|b| broker_id(b));
            Condition::Isr(ids.collect::<Result<_, _>>()?)
        }
        (None, None, Some(size)) => Condition::IsrSize(size),
        _ => {
            return Err(
                "wait step: say what to wait for with exactly one of leader, isr, isr_size".into(),
            )
        }
    };
    Ok(Step::Wait { partition, until })
}

/// `orders-0` as a partition.
fn partition(text: &str) -> Result<TopicPartition, String> {
    let parsed = text
        .rsplit_once('-')
        .and_then(|(topic, p)| Some((topic, p.parse::<i32>().ok()?)));
    match parsed {
        Some((topic, p)) if !topic.is_empty() => Ok(TopicPartition::new(topic, p)),
        _ => Err(format!(
            "wait: \"{text}\" is not a partition; write TOPIC-N, e.g. \"orders-0\""
        )),
    }
}

/// `broker-2` as a broker id.
fn broker_id(text: &str) -> Result<BrokerId, String> {
    match text.parse::<Target>() {
        Ok(Target::Broker(id)) => Ok(id),
        _ => Err(format!(
            "wait: \"{text}\" is not a broker; write broker-N, e.g. \"broker-2\""
        )),
    }
}
