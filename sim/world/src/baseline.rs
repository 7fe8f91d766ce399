//! The yardstick `kafkasim bench` measures the model against: madsim alone.
//!
//! Two simulated machines, a client and a server, in a runtime made exactly as a
//! run's (`runtime::runtime`: the same seed, the same 1–5 ms latencies). The client
//! opens one connection with `Endpoint::connect1`, the reliable ordered channel the
//! driver's connections use, and sends requests one after the other; the server
//! answers each on the same connection. Each request and each response counts as
//! one delivered message, as the trace counts them in a run. Nothing else runs:
//! no nodes, no timers, no trace. So its wall time per message is what madsim
//! itself costs to deliver one message over such a connection.

use madsim::net::Endpoint;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)), 9092);
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 2, 1));

/// A request: what the client sends.
#[derive(Debug)]
struct Request {
    correlation_id: u64,
}

/// A response: what the server answers.
#[derive(Debug)]
struct Response {
    correlation_id: u64,
}

/// One baseline run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineRun {
    pub seed: u64,
    /// Messages delivered: requests plus responses.
    pub messages: u64,
    pub simulated_ms: u64,
    /// Real time, from starting the run's thread to joining it, as for a seed.
    pub wall: Duration,
}

/// Exchanges `messages` messages (rounded up to whole round trips) between two
/// simulated machines, in a fresh runtime for `seed` on a fresh thread, as
/// `run::run_seed` runs a seed.
pub fn run(seed: u64, messages: u64) -> BaselineRun {
    let round_trips = messages.div_ceil(2);
    let started = Instant::now();
    let worker = std::thread::Builder::new()
        .name(format!("baseline-{seed}"))
        .spawn(move || simulate(seed, round_trips))
        .expect("the OS can start a thread");
    let (messages, simulated_ms) = worker.join().expect("the baseline does not panic");
    BaselineRun {
        seed,
        messages,
        simulated_ms,
        wall: started.elapsed(),
    }
}

/// Returns the messages delivered and the simulated time it took.
fn simulate(seed: u64, round_trips: u64) -> (u64, u64) {
    crate::runtime::runtime(seed).block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let server = handle.create_node().name("server").ip(SERVER.ip()).build();
        let client = handle.create_node().name("client").ip(CLIENT_IP).build();
        let (listening, bound) = oneshot::channel();
        server.spawn(async move {
            let endpoint = Endpoint::bind(SERVER).await.expect("the server binds");
            let _ = listening.send(());
            let (sender, mut receiver, _) = endpoint.accept1().await.expect("a connection");
            while let Ok(payload) = receiver.recv().await {
                let request = payload.downcast::<Request>().expect("requests only");
                let response = Response {
                    correlation_id: request.correlation_id,
                };
                if sender.send(Box::new(response)).await.is_err() {
                    break;
                }
            }
        });
        let exchange = client.spawn(async move {
            bound.await.expect("the server says it listens");
            let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
            let endpoint = Endpoint::bind(any).await.expect("the client binds");
            let (sender, mut receiver) = endpoint.connect1(SERVER).await.expect("connects");
            let mut delivered = 0;
            for correlation_id in 0..round_trips {
                let request = Request { correlation_id };
                sender.send(Box::new(request)).await.expect("sends");
                let payload = receiver.recv().await.expect("an answer");
                let response = payload.downcast::<Response>().expect("responses only");
                assert_eq!(response.correlation_id, correlation_id, "in order");
                delivered += 2;
            }
            delivered
        });
        let delivered = exchange.await.expect("the client finishes");
        (delivered, crate::time::now_ms())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_delivers_every_message_of_its_round_trips_in_simulated_time() {
        let run = run(1, 99);
        assert_eq!(run.messages, 100, "50 round trips");
        // Each message takes 1 to 5 ms of simulated latency.
        assert!((100..=500).contains(&run.simulated_ms), "{run:?}");
    }

    #[test]
    fn the_baseline_is_deterministic_in_simulated_time() {
        assert_eq!(run(3, 40).simulated_ms, run(3, 40).simulated_ms);
    }
}
