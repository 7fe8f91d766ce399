//! What the serve tests share: a server in this process on free loopback
//! ports, a client script run to its end (or to a line), and waiting for the
//! server's events.

#![allow(dead_code)] // each test file uses its own part of it

pub mod wire;

use kafkasim_serve::{Event, ServeConfig, Server};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one script may take: generous, for slow CI machines.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// A child process killed when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Whether `python3` can import `module`; if not, prints why the test skips.
pub fn python_has(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED: python3 cannot import {module} \
             (pip install -r serve/tests/clients/requirements.txt)"
        );
    }
    ok
}

/// A server with `brokers` brokers on free loopback ports, on a runtime the
/// caller keeps for the test's length.
pub fn start(brokers: u32) -> (tokio::runtime::Runtime, Server) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let config = ServeConfig {
        port: 0,
        brokers,
        ..ServeConfig::default()
    };
    let server = runtime
        .block_on(Server::start(&config))
        .expect("port 0 binds");
    (runtime, server)
}

/// Starts `python3 script args` with `KAFKA_BROKER` set; its stdout lines
/// arrive on the returned channel (each also printed, as its stderr's are,
/// for a failing test's output).
pub fn spawn_python(
    broker: &str,
    script: &str,
    args: &[&str],
) -> (Killed, std::sync::mpsc::Receiver<String>) {
    let mut child = Killed(
        Command::new("python3")
            .arg(script)
            .args(args)
            .current_dir(clients_dir())
            .env("KAFKA_BROKER", broker)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let stdout = child.0.stdout.take().expect("piped");
    // librdkafka logs broken connections on stderr: kept in the test's
    // captured output, shown only when it fails.
    let stderr = child.0.stderr.take().expect("piped");
    let name = script.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            println!("{name} (stderr): {line}");
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let name = script.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{name}: {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Runs `python3 script args` until it exits or `SCRIPT_TIMEOUT` passes;
/// its stdout.
pub fn python(broker: &str, script: &str, args: &[&str]) -> String {
    let (_child, lines) = spawn_python(broker, script, args);
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let mut out = String::new();
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The longest a test waits for one event of the server: past the
/// controller's broker session timeout, which a restarted broker's
/// registration may wait out.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits for the first event `wanted` accepts; fails the test, naming `what`,
/// after [`EVENT_TIMEOUT`] or if the server stops first.
pub async fn wait_for(server: &mut Server, what: &str, mut wanted: impl FnMut(&Event) -> bool) {
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, server.next_event()).await {
            Ok(Some((_, event))) if wanted(&event) => return,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the server stopped before {what}"),
            Err(_) => panic!("no {what} within {EVENT_TIMEOUT:?}"),
        }
    }
}
