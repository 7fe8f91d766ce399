//! The crash course's kafkajs scripts (`tests/clients/`) against `kafkasim
//! serve`: admin.js creates `users`, producer.js sends Alice (partition 0) and
//! Zoe (partition 1), and consumer.js, in group `group-1`, receives both.
//! Skipped, with a message, where `node` or `tests/clients/node_modules` is
//! missing (`.ci/run` installs it with `npm ci`).
//!
//! What the scripts print is the book's excerpt
//! `book/src/generated/serve-kafkajs.txt` (kafkajs's own JSON log lines, which
//! carry timestamps, left out): the test fails when they differ, and with
//! `KAFKASIM_UPDATE_BOOK=1` rewrites the file instead.

use kafkasim_serve::{ServeConfig, Server};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one script may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs `node script args` until it exits, or has printed every one of `until`.
fn node(broker: &str, script: &str, args: &[&str], until: &[&str]) -> String {
    let mut child = Killed(
        Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(clients_dir())
            .env("KAFKA_BROKER", broker)
            .env("KAFKAJS_NO_PARTITIONER_WARNING", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts"),
    );
    let stdout = child.0.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let mut out = String::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        println!("{script}: {line}");
        out.push_str(&line);
        out.push('\n');
        if !until.is_empty() && until.iter().all(|u| out.contains(u)) {
            break;
        }
    }
    out
}

#[test]
fn the_crash_course_scripts_run_against_kafkasim_serve() {
    let has_node = Command::new("node").arg("--version").output().is_ok();
    if !has_node || !clients_dir().join("node_modules/kafkajs").exists() {
        eprintln!(
            "SKIPPED: needs node and serve/tests/clients/node_modules \
             (run `npm ci` in serve/tests/clients)"
        );
        return;
    }
    // The server runs in this process, on free loopback ports, on a runtime
    // of its own for the test's length.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let config = ServeConfig {
        port: 0,
        ..ServeConfig::default()
    };
    let server = runtime
        .block_on(Server::start(&config))
        .expect("port 0 binds");
    let broker = server.addrs()[&1].to_string();
    let admin = node(&broker, "admin.js", &[], &[]);
    assert!(admin.contains("topic created successfully"), "{admin}");
    let alice = node(&broker, "producer.js", &["Alice"], &[]);
    assert!(alice.contains(r#""partition":0,"errorCode":0"#), "{alice}");
    let zoe = node(&broker, "producer.js", &["Zoe"], &[]);
    assert!(zoe.contains(r#""partition":1,"errorCode":0"#), "{zoe}");
    let received = [
        "Received message Alice on partition 0",
        "Received message Zoe on partition 1",
    ];
    let consumer = node(&broker, "consumer.js", &[], &received);
    assert!(
        consumer.contains("Received message Alice on partition 0"),
        "{consumer}"
    );
    assert!(
        consumer.contains("Received message Zoe on partition 1"),
        "{consumer}"
    );
    let mut shown = String::new();
    for (command, out) in [
        ("node admin.js", &admin),
        ("node producer.js Alice", &alice),
        ("node producer.js Zoe", &zoe),
        ("node consumer.js", &consumer),
    ] {
        shown.push_str(&format!("$ {command}\n"));
        // Two partitions are fetched side by side, so the order of the
        // consumer's two messages varies from run to run: the excerpt sorts
        // them, and the book says so.
        let mut lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('{')).collect();
        lines.sort_by_key(|l| l.starts_with("Received message"));
        let received = lines.iter().position(|l| l.starts_with("Received message"));
        if let Some(from) = received {
            lines[from..].sort();
        }
        for line in lines {
            shown.push_str(line);
            shown.push('\n');
        }
    }
    book_excerpt("serve-kafkajs.txt", &shown);

    // The chapter's exercises, against the same server.
    let again = node(&broker, "admin.js", &[], &[]);
    assert_eq!(again, admin, "the script cannot tell an existing topic");
    book_excerpt(
        "serve-kafkajs-admin-again.txt",
        &excerpt("node admin.js", &again),
    );
    let lower = node(&broker, "producer.js", &["alice"], &[]);
    assert!(
        lower.contains(r#""partition":1,"errorCode":0,"baseOffset":"1""#),
        "{lower}"
    );
    let command = "node producer.js alice";
    book_excerpt(
        "serve-kafkajs-alice-lower-case.txt",
        &excerpt(command, &lower),
    );
    let twice = node(&broker, "producer.js", &["Alice"], &[]);
    assert!(
        twice.contains(r#""partition":0,"errorCode":0,"baseOffset":"1""#),
        "{twice}"
    );
    let command = "node producer.js Alice";
    book_excerpt("serve-kafkajs-alice-again.txt", &excerpt(command, &twice));
}

/// `$ command` and the lines it printed.
fn excerpt(command: &str, out: &str) -> String {
    format!("$ {command}\n{out}")
}

/// Compares `text` with the book's generated excerpt `name`, or rewrites the
/// excerpt under `KAFKASIM_UPDATE_BOOK=1`.
fn book_excerpt(name: &str, text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src/generated")
        .join(name);
    if std::env::var_os("KAFKASIM_UPDATE_BOOK").is_some() {
        std::fs::write(&path, text).expect("the excerpt is written");
        return;
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        kept,
        text,
        "{} differs from what the scripts print; if the change is intended, \
         run KAFKASIM_UPDATE_BOOK=1 cargo test -p kafkasim-serve --test kafkajs",
        path.display()
    );
}
