//! The readable text encoding of `__consumer_offsets` values.
//!
//! A value is one or more lines of `name=value` fields separated by single spaces,
//! always in the same order. A value is a number, `none`, a quoted string (with `\"`,
//! `\\`, `\n`, `\r`, `\t` and `\u{…}` escapes, so ids may hold any character) or a
//! bracketed list. Topic-partitions print as Kafka prints them (`orders-0`); a topic
//! name outside Kafka's legal characters is quoted (`"odd topic"-0`).
//!
//! An offset commit value:
//! `offset=42 leader_epoch=3 metadata=none`
//!
//! A group metadata value: a group line, then one line per member:
//! ```text
//! generation=2 protocol_type="consumer" protocol="range" leader="client-1-0"
//! member="client-1-0" instance=none session_timeout_ms=45000 rebalance_timeout_ms=300000 topics=["orders"] owned_partitions=[] owned_generation=-1 assignment=[orders-0,orders-1]
//! ```

use super::{StoredGroup, StoredMember};
use crate::ids::{LeaderEpoch, Offset, TopicPartition};
use crate::protocol::{Assignment, Subscription};
use std::fmt::Write;
use std::str::FromStr;

pub(super) fn offset_value(
    offset: Offset,
    leader_epoch: Option<LeaderEpoch>,
    metadata: Option<&str>,
) -> String {
    format!(
        "offset={offset} leader_epoch={} metadata={}",
        leader_epoch.map_or("none".to_string(), |e| e.to_string()),
        opt_quoted(metadata)
    )
}

pub(super) fn parse_offset_value(
    value: &str,
) -> Result<(Offset, Option<LeaderEpoch>, Option<String>), String> {
    let mut fields = Fields::of_line(value)?;
    let offset = number(fields.next("offset")?)?;
    let leader_epoch = opt_number(fields.next("leader_epoch")?)?;
    let metadata = opt_unquote(fields.next("metadata")?)?;
    fields.end()?;
    Ok((offset, leader_epoch, metadata))
}

pub(super) fn group_value(group: &StoredGroup) -> String {
    let mut out = format!(
        "generation={} protocol_type={} protocol={} leader={}",
        group.generation_id,
        opt_quoted(group.protocol_type.as_deref()),
        opt_quoted(group.protocol_name.as_deref()),
        opt_quoted(group.leader.as_deref()),
    );
    for m in &group.members {
        let topics: Vec<String> = m.subscription.topics.iter().map(|t| quoted(t)).collect();
        write!(
            out,
            "\nmember={} instance={} session_timeout_ms={} rebalance_timeout_ms={} \
             topics=[{}] owned_partitions={} owned_generation={} assignment={}",
            quoted(&m.member_id),
            opt_quoted(m.group_instance_id.as_deref()),
            m.session_timeout_ms,
            m.rebalance_timeout_ms,
            topics.join(","),
            partition_list(&m.subscription.owned_partitions),
            m.subscription.generation_id,
            partition_list(&m.assignment.partitions),
        )
        .expect("writing to a String cannot fail");
    }
    out
}

pub(super) fn parse_group_value(value: &str) -> Result<StoredGroup, String> {
    let mut lines = value.split('\n');
    let mut fields = Fields::of_line(lines.next().unwrap_or_default())?;
    let generation_id = number(fields.next("generation")?)?;
    let protocol_type = opt_unquote(fields.next("protocol_type")?)?;
    let protocol_name = opt_unquote(fields.next("protocol")?)?;
    let leader = opt_unquote(fields.next("leader")?)?;
    fields.end()?;
    let members = lines.map(parse_member).collect::<Result<Vec<_>, _>>()?;
    Ok(StoredGroup {
        protocol_type,
        generation_id,
        protocol_name,
        leader,
        members,
    })
}

fn parse_member(line: &str) -> Result<StoredMember, String> {
    let mut fields = Fields::of_line(line)?;
    let member_id = unquote(fields.next("member")?)?;
    let group_instance_id = opt_unquote(fields.next("instance")?)?;
    let session_timeout_ms = number(fields.next("session_timeout_ms")?)?;
    let rebalance_timeout_ms = number(fields.next("rebalance_timeout_ms")?)?;
    let topics = list_items(fields.next("topics")?)?
        .into_iter()
        .map(unquote)
        .collect::<Result<Vec<_>, _>>()?;
    let owned_partitions = parse_partition_list(fields.next("owned_partitions")?)?;
    let generation_id = number(fields.next("owned_generation")?)?;
    let partitions = parse_partition_list(fields.next("assignment")?)?;
    fields.end()?;
    Ok(StoredMember {
        member_id,
        group_instance_id,
        session_timeout_ms,
        rebalance_timeout_ms,
        subscription: Subscription {
            topics,
            owned_partitions,
            generation_id,
        },
        assignment: Assignment { partitions },
    })
}

// ---- Fields of a line -----------------------------------------------------------

/// The `name=value` fields of one line, read in order.
struct Fields<'a> {
    fields: std::vec::IntoIter<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn of_line(line: &'a str) -> Result<Self, String> {
        let mut fields = Vec::new();
        let mut rest = line;
        while !rest.is_empty() {
            let (name, after) = rest
                .split_once('=')
                .ok_or_else(|| format!("expected name=value in {rest:?}"))?;
            let end = value_end(after)?;
            fields.push((name, &after[..end]));
            rest = after[end..].strip_prefix(' ').unwrap_or(&after[end..]);
        }
        Ok(Fields {
            fields: fields.into_iter(),
        })
    }

    fn next(&mut self, name: &str) -> Result<&'a str, String> {
        match self.fields.next() {
            Some((found, value)) if found == name => Ok(value),
            Some((found, _)) => Err(format!("expected field {name}, found {found}")),
            None => Err(format!("missing field {name}")),
        }
    }

    fn end(&mut self) -> Result<(), String> {
        match self.fields.next() {
            None => Ok(()),
            Some((found, _)) => Err(format!("unexpected field {found}")),
        }
    }
}

/// Where the value at the start of `s` ends: a space outside quotes and brackets.
fn value_end(s: &str) -> Result<usize, String> {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut depth = 0u32;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '[' if !in_quotes => depth += 1,
            ']' if !in_quotes => depth = depth.checked_sub(1).ok_or("unbalanced ']'")?,
            ' ' if !in_quotes && depth == 0 => return Ok(i),
            _ => {}
        }
    }
    if in_quotes || depth > 0 {
        return Err(format!("unterminated value {s:?}"));
    }
    Ok(s.len())
}

// ---- Values ---------------------------------------------------------------------

fn number<T: FromStr>(raw: &str) -> Result<T, String> {
    raw.parse()
        .map_err(|_| format!("expected a number, found {raw:?}"))
}

fn opt_number<T: FromStr>(raw: &str) -> Result<Option<T>, String> {
    if raw == "none" {
        Ok(None)
    } else {
        number(raw).map(Some)
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                write!(out, "\\u{{{:x}}}", c as u32).expect("writing to a String cannot fail")
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt_quoted(s: Option<&str>) -> String {
    s.map_or("none".to_string(), quoted)
}

fn unquote(raw: &str) -> Result<String, String> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| raw.len() >= 2)
        .ok_or_else(|| format!("expected a quoted string, found {raw:?}"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let code = hex
                    .strip_prefix('{')
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad \\u escape in {raw:?}"))?;
                out.push(code);
            }
            _ => return Err(format!("bad escape in {raw:?}")),
        }
    }
    Ok(out)
}

fn opt_unquote(raw: &str) -> Result<Option<String>, String> {
    if raw == "none" {
        Ok(None)
    } else {
        unquote(raw).map(Some)
    }
}

/// The items of `[a,b,…]`, split at commas outside quotes.
fn list_items(raw: &str) -> Result<Vec<&str>, String> {
    let inner = raw
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| format!("expected a [list], found {raw:?}"))?;
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = Vec::new();
    let (mut start, mut in_quotes, mut escaped) = (0, false, false);
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    Ok(items)
}

/// Kafka's legal topic characters: such names print bare, others quoted.
fn is_plain_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn partition_list(partitions: &[TopicPartition]) -> String {
    let items: Vec<String> = partitions
        .iter()
        .map(|tp| {
            let topic = if is_plain_topic(&tp.topic) {
                tp.topic.clone()
            } else {
                quoted(&tp.topic)
            };
            format!("{topic}-{}", tp.partition)
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn parse_partition_list(raw: &str) -> Result<Vec<TopicPartition>, String> {
    list_items(raw)?
        .into_iter()
        .map(|item| {
            // The partition number follows the last '-' (a quoted topic ends in '"').
            let (topic, partition) = item
                .rsplit_once('-')
                .ok_or_else(|| format!("expected <topic>-<partition>, found {item:?}"))?;
            let topic = if topic.starts_with('"') {
                unquote(topic)?
            } else {
                topic.to_string()
            };
            Ok(TopicPartition::new(topic, number(partition)?))
        })
        .collect()
}
