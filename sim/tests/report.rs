//! `kafkasim run --report DIR`: the files a report holds, their documented shape,
//! and what happens with a directory that is taken, a path that cannot be
//! written and a report file that is corrupt.

mod common;
use common::{kafkasim, stderr, stdout};

use kafkasim_check::FaultKind;
use kafkasim_tools::render::render;
use kafkasim_tools::run::{run_scenario, run_seed, RunOptions};
use kafkasim_tools::scenario;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A fresh directory of this test's own under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kafkasim-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes the report of a seed-1 run of `scenario` into `dir`; returns the run.
fn report(scenario: &str, dir: &Path) -> Output {
    let dir = dir.to_str().expect("a UTF-8 path");
    let output = kafkasim(&[
        "run",
        "--seed",
        "1",
        "--scenario",
        scenario,
        "--report",
        dir,
    ]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    output
}

// ---- the documented shape, checked field by field ---------------------------------

fn get<'a>(v: &'a Value, key: &str, at: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("{at}: no field {key:?} in {v}"))
}

fn int(v: &Value, key: &str, at: &str) -> i64 {
    get(v, key, at)
        .as_i64()
        .unwrap_or_else(|| panic!("{at}: {key:?} is not an integer in {v}"))
}

fn string<'a>(v: &'a Value, key: &str, at: &str) -> &'a str {
    get(v, key, at)
        .as_str()
        .unwrap_or_else(|| panic!("{at}: {key:?} is not a string in {v}"))
}

fn array<'a>(v: &'a Value, key: &str, at: &str) -> &'a Vec<Value> {
    get(v, key, at)
        .as_array()
        .unwrap_or_else(|| panic!("{at}: {key:?} is not an array in {v}"))
}

fn strings(v: &Value, key: &str, at: &str) -> Vec<String> {
    array(v, key, at)
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("{at}: {key:?} holds a non-string"))
                .to_string()
        })
        .collect()
}

fn opt_string(v: &Value, key: &str, at: &str) {
    let value = get(v, key, at);
    assert!(value.is_null() || value.is_string(), "{at}: {key:?} in {v}");
}

/// Checks every line of `trace.jsonl`; returns the lines.
fn check_trace(text: &str) -> Vec<Value> {
    let mut last_ms = 0;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    let nodes = ["controller", "broker-", "client-"];
    let node = |name: &str, at: &str| {
        assert!(
            nodes.iter().any(|n| name.starts_with(n)),
            "{at}: node {name:?}"
        );
    };
    for (i, line) in lines.iter().enumerate() {
        let at = format!("trace.jsonl line {}", i + 1);
        assert_eq!(int(line, "seq", &at), i as i64, "{at}");
        let time = int(line, "time_ms", &at);
        assert!(time >= last_ms, "{at}: time goes back");
        last_ms = time;
        match string(line, "type", &at) {
            "message" => {
                assert!(
                    int(line, "sent_ms", &at) <= time,
                    "{at}: sent after delivery"
                );
                node(string(line, "from", &at), &at);
                node(string(line, "to", &at), &at);
                assert!(!string(line, "kind", &at).is_empty());
                let dir = string(line, "dir", &at);
                assert!(dir == "request" || dir == "response", "{at}: dir {dir}");
                int(line, "correlation_id", &at);
                strings(line, "partitions", &at);
                string(line, "text", &at);
                if line.get("records").is_some() {
                    for r in array(line, "records", &at) {
                        string(r, "partition", &at);
                        int(r, "offset", &at);
                        int(r, "epoch", &at);
                        string(r, "value", &at);
                    }
                }
            }
            "node" => {
                node(string(line, "node", &at), &at);
                string(line, "kind", &at);
                strings(line, "partitions", &at);
                string(line, "text", &at);
                assert!(get(line, "event", &at).is_object(), "{at}: event");
            }
            "fault" => {
                int(line, "id", &at);
                let phase = string(line, "phase", &at);
                assert!(phase == "start" || phase == "end", "{at}: phase {phase}");
                let action = get(line, "action", &at);
                fault_kind(string(action, "fault", &at), &at);
                strings(line, "nodes", &at);
                if line.get("client").is_some() {
                    string(line, "client", &at);
                }
                string(line, "text", &at);
            }
            "timeline" => {
                string(line, "node", &at);
                string(line, "text", &at);
            }
            other => panic!("{at}: type {other:?}"),
        }
    }
    lines
}

/// A fault kind's name, as scenario files write it.
fn fault_kind(name: &str, at: &str) {
    assert!(
        FaultKind::ALL.iter().any(|kind| kind.name() == name),
        "{at}: fault kind {name:?}"
    );
}

fn check_history(text: &str) -> Vec<Value> {
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    for (i, line) in lines.iter().enumerate() {
        let at = format!("history.jsonl line {}", i + 1);
        int(line, "time_ms", &at);
        let kind = string(line, "kind", &at);
        if kind != "operation" {
            string(line, "value", &at);
        }
        match kind {
            "operation" => {
                string(line, "process", &at);
                let entry = get(line, "entry", &at);
                let keys: Vec<&String> = entry.as_object().expect("an object").keys().collect();
                assert!(
                    matches!(keys[..], [k] if ["invoke", "complete", "event"].contains(&k.as_str())),
                    "{at}: entry {entry}"
                );
            }
            "sent" => {
                string(line, "partition", &at);
                int(line, "offset", &at);
                assert!(["0", "1", "all"].contains(&string(line, "acks", &at)));
            }
            "send_failed" => {
                string(line, "error", &at);
                assert!(get(line, "ambiguous", &at).is_boolean());
            }
            "consumed" => {
                string(line, "partition", &at);
                int(line, "offset", &at);
            }
            other => panic!("{at}: kind {other:?}"),
        }
    }
    lines
}

fn check_summary(summary: &Value, trace_lines: usize, history_lines: usize) {
    let at = "summary.json";
    assert_eq!(string(summary, "format", at), "kafkasim-report/1");
    int(summary, "seed", at);
    string(summary, "scenario", at);
    int(summary, "brokers", at);
    let verdict = get(summary, "verdict", at);
    assert!(["ok", "correctness", "liveness", "crash"].contains(&string(verdict, "kind", at)));
    strings(verdict, "failing_kinds", at);
    int(verdict, "exit_code", at);
    assert!(string(summary, "replay", at).starts_with("cargo run --release -- run --seed"));
    for key in ["messages", "trace_events", "simulated_ms"] {
        int(summary, key, at);
    }
    assert_eq!(string(summary, "trace_hash", at).len(), 16);
    assert_eq!(int(summary, "trace_lines", at), trace_lines as i64);
    assert_eq!(int(summary, "history_lines", at), history_lines as i64);
    assert!(get(summary, "goals", at).is_object());
    for n in array(summary, "nodes", at) {
        string(n, "id", at);
        assert!(["controller", "broker", "client"].contains(&string(n, "kind", at)));
        opt_string(n, "machine", at);
    }
    for f in array(summary, "faults", at) {
        fault_kind(string(f, "kind", at), at);
        strings(f, "nodes", at);
        opt_string(f, "client", at);
        int(f, "start_ms", at);
        int(f, "start_seq", at);
        let end = get(f, "end_ms", at);
        assert!(end.is_null() || end.is_u64());
        string(f, "text", at);
    }
    for a in array(summary, "anomalies", at) {
        string(a, "kind", at);
        assert!(get(a, "allowed", at).is_boolean());
        string(a, "text", at);
        strings(a, "values", at);
        strings(a, "partitions", at);
        let (start, end) = (int(a, "start_ms", at), int(a, "end_ms", at));
        let (from, to) = (int(a, "focus_start_ms", at), int(a, "focus_end_ms", at));
        assert!(start <= from && from <= to && to <= end, "{a}");
        for seq in array(a, "events", at) {
            let seq = seq.as_u64().expect("a seq");
            assert!((seq as usize) < trace_lines, "{a}");
        }
    }
    for p in array(summary, "partitions", at) {
        string(p, "partition", at);
        for key in ["leader_epoch", "high_watermark", "log_end_offset"] {
            int(p, key, at);
        }
        strings(p, "divergence", at);
        for log in array(p, "logs", at) {
            int(log, "broker", at);
            assert!(get(log, "present", at).is_boolean());
            for key in ["log_start_offset", "log_end_offset", "high_watermark"] {
                int(log, key, at);
            }
            for r in array(log, "records", at) {
                int(r, "offset", at);
                int(r, "epoch", at);
                string(r, "value", at);
            }
            for r in array(log, "removed", at) {
                int(r, "offset", at);
                string(r, "value", at);
                let t = get(r, "time_ms", at);
                assert!(t.is_null() || t.is_u64());
            }
            for hw in array(log, "high_watermarks", at) {
                let pair = hw.as_array().expect("[time_ms, offset]");
                assert!(pair.len() == 2 && pair[0].is_u64() && pair[1].is_i64());
            }
        }
    }
    for g in array(summary, "groups", at) {
        string(g, "group", at);
        for gen in array(g, "generations", at) {
            int(gen, "generation_id", at);
            string(gen, "leader", at);
            assert!(get(gen, "members", at).is_object());
            int(gen, "start_ms", at);
            int(gen, "seq", at);
        }
        for c in array(g, "commits", at) {
            int(c, "time_ms", at);
            string(c, "member_id", at);
            string(c, "partition", at);
            int(c, "offset", at);
        }
    }
    for t in array(summary, "timeline", at) {
        int(t, "time_ms", at);
        string(t, "node", at);
        string(t, "text", at);
    }
}

/// The JSON inside `<script type="application/json" ATTRIBUTES>`.
fn embedded_at(page: &str, attributes: &str) -> Value {
    let open = format!("<script type=\"application/json\" {attributes}>");
    let start = page
        .find(&open)
        .unwrap_or_else(|| panic!("no {attributes}"))
        + open.len();
    let end = start + page[start..].find("</script>").expect("closed");
    serde_json::from_str(&page[start..end]).unwrap_or_else(|e| panic!("{attributes}: {e}"))
}

/// The JSON inside `<script type="application/json" id="ID">`.
fn embedded(page: &str, id: &str) -> Value {
    embedded_at(page, &format!("id=\"{id}\""))
}

/// The data a file `KEY.js` beside the page hands over:
/// `kafkasimLoaded("KEY", DATA);`.
fn loaded(dir: &Path, key: &str) -> Value {
    let file = text(&dir.join(format!("{key}.js")));
    let data = file
        .strip_prefix(&format!("kafkasimLoaded(\"{key}\", "))
        .and_then(|rest| rest.strip_suffix(");\n"))
        .unwrap_or_else(|| panic!("{key}.js: not kafkasimLoaded(\"{key}\", …);"));
    assert!(!data.contains('<'), "{key}.js: every < is escaped");
    serde_json::from_str(data).unwrap_or_else(|e| panic!("{key}.js: {e}"))
}

/// The chunk files' trace lines, checked against the overview's table of
/// chunks: each continues where the one before ended.
fn chunked_trace(dir: &Path, overview: &Value) -> Vec<Value> {
    let mut lines = Vec::new();
    for (n, chunk) in array(overview, "chunks", "overview").iter().enumerate() {
        let key = format!("chunks/{n:04}");
        let Value::Array(events) = loaded(dir, &key) else {
            panic!("{key}: not an array");
        };
        assert_eq!(int(chunk, "first_seq", &key), lines.len() as i64, "{key}");
        assert_eq!(int(chunk, "lines", &key), events.len() as i64, "{key}");
        let times: Vec<i64> = events.iter().map(|e| int(e, "time_ms", &key)).collect();
        assert_eq!(times.first().copied(), Some(int(chunk, "start_ms", &key)));
        assert_eq!(times.last().copied(), Some(int(chunk, "end_ms", &key)));
        lines.extend(events);
    }
    let next = dir.join(format!(
        "chunks/{:04}.js",
        array(overview, "chunks", "").len()
    ));
    assert!(!next.exists(), "a chunk file the overview does not list");
    lines
}

/// The summary as the page holds it: the logs' records and the groups'
/// commits are in their detail files.
fn without_details(summary: &Value) -> Value {
    let mut page = summary.clone();
    for p in page["partitions"].as_array_mut().expect("partitions") {
        for log in p["logs"].as_array_mut().expect("logs") {
            for bulky in ["records", "removed", "high_watermarks"] {
                log[bulky] = Value::Array(vec![]);
            }
        }
    }
    for g in page["groups"].as_array_mut().expect("groups") {
        g["commits"] = Value::Array(vec![]);
    }
    page
}

#[test]
fn a_report_s_files_have_their_documented_shape_and_the_page_embeds_them() {
    let dir = scratch("shape").join("kip-101");
    let output = report("kip-101-high-watermark-truncation", &dir);
    assert_eq!(output.status.code(), Some(1), "the lost write is a failure");
    let index = dir.join("index.html");
    assert!(
        stdout(&output).ends_with(&format!("report: {}\n", index.display())),
        "{}",
        stdout(&output)
    );
    let trace = check_trace(&text(&dir.join("trace.jsonl")));
    let history = check_history(&text(&dir.join("history.jsonl")));
    let summary: Value = serde_json::from_str(&text(&dir.join("summary.json"))).expect("JSON");
    check_summary(&summary, trace.len(), history.len());

    // The run's story is there: the crash, the truncation, the lost write.
    let has = |kind: &str, what: &str| {
        trace
            .iter()
            .any(|l| l["type"] == kind && l["text"].as_str().is_some_and(|t| t.contains(what)))
    };
    assert!(has("fault", "crashed"), "a crash fault");
    assert!(
        has("node", "truncated orders-0 to offset 1"),
        "the truncation"
    );
    assert!(
        has(
            "message",
            "Produce request (correlation 2): acks=all, timeout 30000 ms, orders-0: 1 batch, \
             current_leader_epoch 0, [m2]"
        ),
        "the produce of m2"
    );
    assert_eq!(
        summary["verdict"]["failing_kinds"],
        serde_json::json!(["inconsistent-offsets", "lost-write", "divergent-replicas"])
    );
    let anomalies = summary["anomalies"].as_array().unwrap();
    let anomaly = (anomalies.iter())
        .find(|a| a["kind"] == "lost-write")
        .expect("the lost write is an anomaly");
    assert_eq!(anomaly["allowed"], false);
    assert!(anomaly["values"]
        .as_array()
        .unwrap()
        .contains(&Value::from("m2")));
    let linked: Vec<&Value> = (anomaly["events"].as_array().unwrap().iter())
        .map(|s| &trace[s.as_u64().unwrap() as usize])
        .collect();
    assert!(
        linked.iter().any(|l| l["kind"] == "Truncated"),
        "the lost write links the truncation: {linked:?}"
    );
    // broker-3 truncated m2 away when it followed the new leader, broker-2.
    let broker_3 = &summary["partitions"][0]["logs"][2];
    assert_eq!(broker_3["broker"], 3);
    assert_eq!(
        broker_3["removed"][0],
        serde_json::json!({"offset": 1, "epoch": 0, "value": "m2", "time_ms": 9014})
    );

    // The page refers to no network and holds the same data as the files: a
    // short run's trace is one chunk, and its details fit inside the page.
    let page = text(&index);
    for forbidden in ["http://", "https://", "<link", "src=\"", "@import"] {
        assert!(
            !page.contains(forbidden),
            "the page refers outside: {forbidden}"
        );
    }
    assert_eq!(
        embedded(&page, "kafkasim-summary"),
        without_details(&summary)
    );
    let overview = embedded(&page, "kafkasim-overview");
    assert_eq!(chunked_trace(&dir, &overview), trace);
    let inline = |key: &str| {
        embedded_at(
            &page,
            &format!("class=\"kafkasim-inline\" data-key=\"{key}\""),
        )
    };
    assert_eq!(inline("chunks/0000"), Value::Array(trace.clone()));
    let partition = inline("partitions/0000");
    assert_eq!(partition, loaded(&dir, "partitions/0000"));
    assert_eq!(
        partition["logs"][2]["removed"],
        summary["partitions"][0]["logs"][2]["removed"]
    );
    assert!(
        (partition["acked"].as_array().unwrap()).contains(&Value::from("m2")),
        "m2 was acknowledged: {partition}"
    );
    let linked = &overview["linked"];
    for seq in anomaly["events"].as_array().unwrap() {
        let event = &linked[seq.as_u64().unwrap().to_string()];
        assert_eq!(event["seq"], *seq, "the overview holds each linked event");
        assert!(event.get("records").is_none(), "without its records");
    }

    let check = kafkasim(&["report-check", dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(stdout(&check).contains("verdict correctness"));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn a_report_of_a_group_scenario_has_generations_and_commits() {
    let dir = scratch("groups");
    report("consumer-crash", &dir);
    let summary: Value = serde_json::from_str(&text(&dir.join("summary.json"))).expect("JSON");
    let group = &summary["groups"][0];
    assert_eq!(group["group"], "group-1");
    assert!(group["generations"].as_array().unwrap().len() >= 2);
    assert!(!group["commits"].as_array().unwrap().is_empty());
    let faults = summary["faults"].as_array().unwrap();
    assert!(
        faults
            .iter()
            .any(|f| f["kind"] == "client-crash" && f["client"] == "consumer-2"),
        "{faults:?}"
    );
    let nodes = summary["nodes"].as_array().unwrap();
    assert!(
        nodes.iter().any(|n| n["machine"] == "consumer-2"),
        "{nodes:?}"
    );
    let page = text(&dir.join("index.html"));
    let overview = embedded(&page, "kafkasim-overview");
    assert!(overview["partitions"]
        .as_array()
        .unwrap()
        .contains(&Value::from("__consumer_offsets-0")));
    assert_eq!(
        loaded(&dir, "groups/0000")["commits"],
        group["commits"],
        "the page loads the commits from their file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The standard workload with a 150 s safety phase: a trace of about 30 MB,
/// long enough for many chunks and quick enough for a debug build.
#[test]
fn a_long_run_s_page_stays_small_and_its_chunks_hold_the_trace_once_in_order() {
    let dir = scratch("long");
    let path = dir.to_str().unwrap();
    let args = ["run", "--seed", "29", "--scenario", "standard"];
    let output = kafkasim(&[&args[..], &["--safety-phase-s", "150", "--report", path]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let trace_text = text(&dir.join("trace.jsonl"));
    let trace: Vec<Value> = (trace_text.lines())
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let page_bytes = std::fs::metadata(dir.join("index.html")).unwrap().len();
    assert!(
        page_bytes < 50 << 20 && page_bytes < trace_text.len() as u64 / 4,
        "index.html is {page_bytes} bytes for a trace of {} bytes",
        trace_text.len()
    );
    let page = text(&dir.join("index.html"));
    let overview = embedded(&page, "kafkasim-overview");
    let chunks = array(&overview, "chunks", "overview").len();
    assert!(chunks >= 5, "{chunks} chunk(s)");
    assert_eq!(
        chunked_trace(&dir, &overview),
        trace,
        "each line once, in order"
    );
    assert!(
        !page.contains("data-key=\"chunks/0001\""),
        "only the first chunk is inside the page"
    );
    let messages: u64 = (array(&overview, "messages", "overview").iter())
        .map(|n| n.as_u64().unwrap())
        .sum();
    let summary: Value = serde_json::from_str(&text(&dir.join("summary.json"))).expect("JSON");
    assert_eq!(Some(messages), summary["messages"].as_u64());

    let check = kafkasim(&["report-check", path]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn capturing_changes_neither_the_trace_hash_nor_the_printed_run() {
    for name in ["quickstart", "split-brain-old-leader", "zombie-consumer"] {
        let scenario = scenario::builtin(name).expect("built in");
        let plain = run_seed(3, &scenario);
        let options = RunOptions {
            capture: true,
            ..RunOptions::default()
        };
        let captured = run_scenario(3, &scenario, &options);
        assert_eq!(plain.run.trace_hash, captured.run.trace_hash, "{name}");
        assert_eq!(plain.run.trace_events, captured.run.trace_events, "{name}");
        assert_eq!(render(&plain), render(&captured), "{name}");
        assert!(plain.run.capture.is_none());
        let capture = captured.run.capture.as_ref().expect("captured");
        let messages = (capture.events.iter())
            .filter(|e| matches!(e, kafkasim_sim::trace::Captured::Message(_)))
            .count();
        let delivered = captured.run.messages;
        assert_eq!(messages as u64, delivered, "{name}: every delivery");
    }
}

#[test]
fn a_report_directory_that_holds_files_is_refused_unless_forced() {
    let dir = scratch("taken");
    std::fs::write(dir.join("notes.txt"), "mine").expect("a file");
    let path = dir.to_str().unwrap();
    let refused = kafkasim(&["run", "--seed", "7", "--report", path]);
    assert_eq!(refused.status.code(), Some(2));
    let err = stderr(&refused);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("exists and is not empty") && err.contains("--force"),
        "{err}"
    );
    assert!(stdout(&refused).is_empty(), "refused before running");
    assert!(!dir.join("index.html").exists());

    let forced = kafkasim(&["run", "--seed", "7", "--report", path, "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    for file in [
        "index.html",
        "trace.jsonl",
        "history.jsonl",
        "summary.json",
        "notes.txt",
    ] {
        assert!(dir.join(file).exists(), "{file}");
    }

    let sweep = kafkasim(&["sweep", "--seeds", "1..2", "--report", path]);
    assert_eq!(sweep.status.code(), Some(2), "sweep refuses it too");
    assert!(stderr(&sweep).contains("--force"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_report_path_that_cannot_be_written_is_a_clear_error() {
    let dir = scratch("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a directory").expect("a file");
    for target in [file.join("report"), file.clone()] {
        let output = kafkasim(&["run", "--seed", "7", "--report", target.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{}", target.display());
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: cannot write the report at "),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_or_truncated_report_file_is_named_with_its_line() {
    let dir = scratch("corrupt");
    report("leader-crash-acks-all", &dir);
    let path = dir.to_str().unwrap();
    let trace_path = dir.join("trace.jsonl");
    let good = text(&trace_path);
    let lines: Vec<&str> = good.lines().collect();
    assert!(lines.len() > 40);
    let check = |expected: &str| {
        let output = kafkasim(&["report-check", path]);
        assert_eq!(output.status.code(), Some(2), "{expected}");
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expected), "expected {expected:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };

    // A line that is not JSON.
    let mut corrupt = lines.clone();
    corrupt[16] = "{\"seq\":16,\"type\":\"message\",garbage";
    std::fs::write(&trace_path, corrupt.join("\n") + "\n").unwrap();
    check("trace.jsonl line 17: ");
    // A line of JSON without a field the shape requires.
    let mut corrupt = lines.clone();
    corrupt[16] = r#"{"seq":16,"type":"timeline","node":"x","text":"no time"}"#;
    std::fs::write(&trace_path, corrupt.join("\n") + "\n").unwrap();
    check("trace.jsonl line 17: missing field `time_ms`");
    // A file cut in the middle of a line.
    std::fs::write(&trace_path, &good[..good.len() - 25]).unwrap();
    check(&format!("trace.jsonl line {}: ", lines.len()));
    // A file cut at a line's end: the summary's count gives it away.
    std::fs::write(&trace_path, lines[..30].join("\n") + "\n").unwrap();
    check("trace.jsonl: 30 line(s), but summary.json says");
    std::fs::write(&trace_path, &good).unwrap();

    // A chunk that skips a line, or is cut short.
    let chunk_path = dir.join("chunks/0000.js");
    let chunk = text(&chunk_path);
    let chunk_lines: Vec<&str> = chunk.lines().collect();
    let skipped = [&chunk_lines[..5], &chunk_lines[6..]].concat().join("\n");
    std::fs::write(&chunk_path, skipped).unwrap();
    check("chunks/0000.js line 6: seq is 5, expected 4");
    std::fs::write(&chunk_path, &chunk[..chunk.len() / 2]).unwrap();
    check("chunks/0000.js");
    std::fs::remove_file(&chunk_path).unwrap();
    check("no chunk file");
    std::fs::write(&chunk_path, &chunk).unwrap();

    let history_path = dir.join("history.jsonl");
    let history = text(&history_path);
    std::fs::write(&history_path, format!("[1,2]\n{history}")).unwrap();
    check("history.jsonl line 1: ");
    std::fs::write(&history_path, &history).unwrap();

    std::fs::write(dir.join("summary.json"), "{\"format\":").unwrap();
    check("summary.json: ");
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    check("summary.json: ");

    let missing = kafkasim(&["report-check", dir.join("nowhere").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_writes_one_report_per_failing_seed() {
    let dir = scratch("sweep");
    let output = kafkasim(&[
        "sweep",
        "--seeds",
        "1..=2",
        "--scenario",
        "kip-101-high-watermark-truncation",
        "--report",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    serde_json::from_str::<Value>(&stdout(&output)).expect("stdout stays one JSON object");
    for seed in [1, 2] {
        let seed_dir = dir.join(format!("seed-{seed}"));
        assert!(seed_dir.join("index.html").exists(), "seed {seed}");
        let check = kafkasim(&["report-check", seed_dir.to_str().unwrap()]);
        assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn piped_output_has_no_colours() {
    let output = kafkasim(&["run", "--seed", "1", "--scenario", "leader-crash-acks-all"]);
    assert!(
        !stdout(&output).contains('\u{1b}'),
        "no escape codes in a pipe"
    );
}

#[test]
fn report_check_has_its_help() {
    for args in [
        &["report-check", "--help"][..],
        &["help", "report-check"][..],
    ] {
        let output = kafkasim(args);
        assert_eq!(output.status.code(), Some(0));
        assert!(stdout(&output).contains("Usage: kafkasim report-check <DIR>"));
    }
}

#[test]
fn a_longer_safety_phase_is_only_for_workloads() {
    let output = kafkasim(&[
        "run",
        "--seed",
        "1",
        "--scenario",
        "quickstart",
        "--safety-phase-s",
        "120",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("applies only to workloads"));
    let output = kafkasim(&["run", "--seed", "7", "--safety-phase-s", "40"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("safety phase 40.000 s, 1 fault(s)"),
        "{}",
        stdout(&output)
    );
}

/// Runs `kafkasim report-check DIR`, which must refuse with exit code 2 and
/// one line on stderr that contains `expected`.
fn check_refuses(dir: &Path, expected: &str) {
    let output = kafkasim(&["report-check", dir.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{expected}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn every_summary_field_is_checked_for_its_type_and_range() {
    let dir = scratch("fields");
    report("kip-101-high-watermark-truncation", &dir);
    let path = dir.join("summary.json");
    let good = text(&path);
    let summary: Value = serde_json::from_str(&good).unwrap();
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str); 9] = [
        (
            |s| s["verdict"]["kind"] = "maybe".into(),
            "summary.json: verdict.kind is \"maybe\", not a verdict",
        ),
        (
            |s| s["verdict"]["exit_code"] = 99.into(),
            "verdict.exit_code is 99, but a run with verdict correctness exits with 1",
        ),
        (
            |s| s["verdict"]["failing_kinds"][0] = "lost-sock".into(),
            "verdict.failing_kinds: unknown finding kind \"lost-sock\"",
        ),
        (
            |s| s["verdict"]["kind"] = "ok".into(),
            "verdict.exit_code is 1, but a run with verdict ok exits with 0",
        ),
        (
            |s| s["trace_hash"] = "not a hash at al".into(),
            "trace_hash is \"not a hash at al\", not 16 lowercase hex digits",
        ),
        (|s| s["extra"] = true.into(), "unknown field `extra`"),
        (
            |s| s["timeline"][0]["colour"] = "red".into(),
            "unknown field `timeline[0].colour`",
        ),
        (
            |s| s["faults"][0]["kind"] = "meteor".into(),
            "faults[0].kind is \"meteor\", not a fault kind",
        ),
        (
            |s| s["anomalies"][0]["events"][0] = 1_000_000_000.into(),
            "links trace event 1000000000, past the trace's end",
        ),
    ];
    for (edit, expected) in cases {
        let mut bad = summary.clone();
        edit(&mut bad);
        std::fs::write(&path, bad.to_string()).unwrap();
        check_refuses(&dir, expected);
    }
    std::fs::write(&path, &good).unwrap();

    let trace_path = dir.join("trace.jsonl");
    let trace = text(&trace_path);
    let mut lines: Vec<Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[2]["colour"] = "red".into();
    let edited: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&trace_path, edited.join("\n") + "\n").unwrap();
    check_refuses(&dir, "trace.jsonl line 3: unknown field `colour`");
    std::fs::write(&trace_path, &trace).unwrap();

    let history_path = dir.join("history.jsonl");
    let history = text(&history_path);
    let mut lines: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let operation = (lines.iter())
        .position(|l| l["kind"] == "operation")
        .expect("an operation line");
    let variant = (lines[operation]["entry"].as_object().unwrap().keys().next())
        .expect("invoke, complete or event")
        .clone();
    lines[operation]["entry"][&variant]["note"] = 1.into();
    let edited: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&history_path, edited.join("\n") + "\n").unwrap();
    check_refuses(
        &dir,
        &format!(
            "history.jsonl line {}: unknown field `entry.{variant}.note`",
            operation + 1
        ),
    );
    std::fs::write(&history_path, &history).unwrap();

    let check = kafkasim(&["report-check", dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_fifo_a_device_or_an_endless_line_is_refused_without_hanging() {
    let dir = scratch("not-files");
    report("quickstart", &dir);
    let trace_path = dir.join("trace.jsonl");
    let trace = text(&trace_path);
    std::fs::remove_file(&trace_path).unwrap();

    let made = std::process::Command::new("mkfifo")
        .arg(&trace_path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    check_refuses(
        &dir,
        &format!(
            "cannot read {}: it is a FIFO, not a regular file",
            trace_path.display()
        ),
    );
    std::fs::remove_file(&trace_path).unwrap();

    std::os::unix::fs::symlink("/dev/zero", &trace_path).unwrap();
    check_refuses(&dir, "trace.jsonl: it is a device, not a regular file");
    std::fs::remove_file(&trace_path).unwrap();

    std::fs::create_dir(&trace_path).unwrap();
    check_refuses(&dir, "trace.jsonl: it is a directory, not a regular file");
    std::fs::remove_dir(&trace_path).unwrap();

    // A line past 16 MiB is refused by its number, however it goes on.
    let long = format!(
        "{}\n{}\n",
        trace.lines().next().unwrap(),
        "x".repeat(17 << 20)
    );
    std::fs::write(&trace_path, long).unwrap();
    check_refuses(&dir, "trace.jsonl line 2: it is longer than 16 MiB");

    // A link to a regular file is followed.
    let elsewhere = dir.join("trace-elsewhere.jsonl");
    std::fs::write(&elsewhere, &trace).unwrap();
    std::fs::remove_file(&trace_path).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &trace_path).unwrap();
    let check = kafkasim(&["report-check", dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_report_says_which_bug_switches_were_on_and_replays_them() {
    let dir = scratch("bugs");
    let path = dir.join("r");
    let out = kafkasim(&[
        "run",
        "--seed",
        "1",
        "--scenario",
        "kip-101-high-watermark-truncation",
        "--bug",
        "kafka-15583",
        "--report",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value = serde_json::from_str(&text(&path.join("summary.json"))).unwrap();
    assert_eq!(
        strings(&summary, "bugs", "summary"),
        ["kip-101", "kafka-15583"]
    );
    assert_eq!(strings(&summary, "added_bugs", "summary"), ["kafka-15583"]);
    assert!(
        string(&summary, "replay", "summary").ends_with(" --bug kafka-15583"),
        "{summary}"
    );
    let checked = kafkasim(&["report-check", path.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));

    // A summary that says the command line added a switch the run did not have.
    let edited = text(&path.join("summary.json")).replacen(
        "\"added_bugs\":[\"kafka-15583\"]",
        "\"added_bugs\":[\"kip-903\"]",
        1,
    );
    std::fs::write(path.join("summary.json"), edited).unwrap();
    let refused = kafkasim(&["report-check", path.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("added_bugs holds kip-903"),
        "{}",
        stderr(&refused)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
