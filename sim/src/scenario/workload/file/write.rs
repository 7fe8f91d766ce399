//! Writing a workload back as a scenario file, as `kafkasim shrink` prints its
//! minimal counterexample. What is written reads back as the same workload.

use super::super::step::{Condition, Step};
use super::super::{FaultPlan, Workload};
use crate::scenario::worker::Commit;
use kafkasim::disk::PageCache;
use std::fmt::Write as _;

/// The scenario file of `workload`: `header` lines first, as comments, and
/// `notes[i]` as a comment above the i-th scheduled fault.
pub fn to_toml(workload: &Workload, header: &[String], notes: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    if !workload.summary.is_empty() {
        let _ = writeln!(out, "summary = {}", quoted(&workload.summary));
    }
    if let Some(expect) = &workload.expect {
        let _ = writeln!(
            out,
            "expect = {{ seed = {}, kind = {} }}",
            expect.seed,
            quoted(expect.kind.name())
        );
    }
    if !workload.cluster.bugs.is_empty() {
        let names: Vec<String> = workload
            .cluster
            .bugs
            .iter()
            .map(|b| quoted(b.name()))
            .collect();
        let _ = writeln!(out, "bugs = [{}]", names.join(", "));
    }
    if workload.hunt {
        let _ = writeln!(out, "hunt = true");
    }
    write_cluster(&mut out, workload);
    for topic in &workload.topics {
        let _ = writeln!(out, "\n[[topic]]");
        let _ = writeln!(out, "name = {}", quoted(&topic.name));
        let _ = writeln!(out, "partitions = {}", topic.partitions);
        let _ = writeln!(out, "replication_factor = {}", topic.replication_factor);
        let configs: Vec<(String, String)> = topic.configs.clone().into_iter().collect();
        write_configs(&mut out, &configs);
    }
    if workload.is_story() {
        write_story(&mut out, workload);
        return out;
    }
    for producer in &workload.producers {
        let _ = writeln!(out, "\n[[producer]]  # {}", producer.name);
        let _ = writeln!(out, "topic = {}", quoted(&producer.topic));
        let _ = writeln!(out, "rate = {}", 1000 / producer.interval_ms.max(1));
        let _ = writeln!(out, "keys = {}", producer.keys);
        write_configs(&mut out, &producer.settings);
    }
    for group in &workload.groups {
        let _ = writeln!(out, "\n[[group]]  # {}", group.consumers.join(", "));
        let _ = writeln!(out, "id = {}", quoted(&group.id));
        let topics: Vec<String> = group.topics.iter().map(|t| quoted(t)).collect();
        let _ = writeln!(out, "topics = [{}]", topics.join(", "));
        let _ = writeln!(out, "consumers = {}", group.consumers.len());
        let commit = match group.commit {
            Commit::AfterProcessing => "after-processing",
            Commit::BeforeProcessing => "before-processing",
        };
        let _ = writeln!(out, "commit = \"{commit}\"");
        write_configs(&mut out, &group.settings);
    }
    write_faults(&mut out, &workload.faults, notes);
    let _ = writeln!(out, "\n[phases]");
    let _ = writeln!(out, "safety_ms = {}", workload.safety_ms);
    let _ = writeln!(out, "liveness_ms = {}", workload.liveness_ms);
    out
}

/// A story's producers and steps (it has no groups, faults or phases).
fn write_story(out: &mut String, workload: &Workload) {
    for producer in &workload.producers {
        let _ = writeln!(out, "\n[[producer]]");
        let _ = writeln!(out, "name = {}", quoted(&producer.name));
        write_configs(out, &producer.settings);
    }
    for step in &workload.steps {
        let _ = writeln!(out, "\n[[step]]");
        write_step(out, step);
    }
}

fn write_step(out: &mut String, step: &Step) {
    let list = |names: &[String]| {
        let quoted: Vec<String> = names.iter().map(|n| quoted(n)).collect();
        format!("[{}]", quoted.join(", "))
    };
    match step {
        Step::Send {
            producer,
            partition,
            values,
        } => {
            let _ = writeln!(out, "send = {}", list(values));
            let _ = writeln!(out, "producer = {}", quoted(producer));
            let _ = writeln!(out, "topic = {}", quoted(&partition.topic));
            let _ = writeln!(out, "partition = {}", partition.partition);
        }
        Step::Fault { name, action } => {
            // An action's table is its serde form: what the file reads back.
            out.push_str(&toml::to_string(action).expect("a fault is plain data"));
            if let Some(name) = name {
                let _ = writeln!(out, "name = {}", quoted(name));
            }
        }
        Step::End { names } => {
            let _ = writeln!(out, "end = {}", list(names));
        }
        Step::Wait { partition, until } => {
            let _ = writeln!(out, "wait = {}", quoted(&partition.to_string()));
            let broker = |b: &i32| quoted(&format!("broker-{b}"));
            let _ = match until {
                Condition::Leader(Some(b)) => writeln!(out, "leader = {}", broker(b)),
                Condition::Leader(None) => writeln!(out, "leader = \"none\""),
                Condition::LeaderChanged => writeln!(out, "leader = \"changed\""),
                Condition::Isr(isr) => {
                    let isr: Vec<String> = isr.iter().map(broker).collect();
                    writeln!(out, "isr = [{}]", isr.join(", "))
                }
                Condition::IsrSize(n) => writeln!(out, "isr_size = {n}"),
            };
        }
        Step::Sleep { ms } => {
            let _ = writeln!(out, "sleep_ms = {ms}");
        }
        Step::Show { topic, say } => {
            let _ = writeln!(out, "show = {}", quoted(topic));
            let _ = writeln!(out, "say = {}", quoted(say));
        }
        Step::Read { topic } => {
            let _ = writeln!(out, "read = {}", quoted(topic));
        }
        Step::ElectPreferredLeaders => {
            let _ = writeln!(out, "elect = \"preferred\"");
        }
    }
}

fn write_cluster(out: &mut String, workload: &Workload) {
    let cluster = &workload.cluster;
    let _ = writeln!(out, "\n[cluster]");
    let _ = writeln!(out, "brokers = {}", cluster.brokers);
    if let Some(every) = cluster.log_flush_interval_messages {
        let _ = writeln!(out, "\"log.flush.interval.messages\" = {every}");
    }
    if cluster.controller.eligible_leader_replicas {
        let _ = writeln!(out, "\"eligible.leader.replicas.version\" = 1");
    }
    let cache = cluster.page_cache;
    if cache != PageCache::default() {
        let centisecs = |ms: u64| ms / 10;
        let (expire, writeback) = (cache.dirty_expire_ms, cache.dirty_writeback_ms);
        let _ = writeln!(out, "\"vm.dirty_expire_centisecs\" = {}", centisecs(expire));
        let _ = writeln!(
            out,
            "\"vm.dirty_writeback_centisecs\" = {}",
            centisecs(writeback)
        );
    }
}

fn write_configs(out: &mut String, configs: &[(String, String)]) {
    if configs.is_empty() {
        return;
    }
    let pairs: Vec<String> = (configs.iter())
        .map(|(k, v)| format!("{} = {}", quoted(k), quoted(v)))
        .collect();
    let _ = writeln!(out, "configs = {{ {} }}", pairs.join(", "));
}

fn write_faults(out: &mut String, faults: &FaultPlan, notes: &[String]) {
    let _ = writeln!(out, "\n[faults]");
    let schedule = match faults {
        FaultPlan::None => {
            let _ = writeln!(out, "mode = \"none\"");
            return;
        }
        FaultPlan::Swarm(profile) => {
            let _ = writeln!(out, "mode = \"swarm\"");
            let _ = writeln!(out, "profile = \"{}\"", profile.name);
            return;
        }
        FaultPlan::Schedule(schedule) => schedule,
    };
    let _ = writeln!(out, "mode = \"schedule\"");
    for (i, fault) in schedule.faults.iter().enumerate() {
        let _ = writeln!(out);
        if let Some(note) = notes.get(i) {
            for line in note.lines() {
                let _ = writeln!(out, "# {line}");
            }
        }
        let _ = writeln!(out, "[[faults.schedule]]");
        // A fault's table is its serde form: what the file reads back.
        let table = toml::to_string(fault).expect("a fault is plain data");
        out.push_str(&table);
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
