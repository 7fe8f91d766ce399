//! Simulated time and tasks, for application code running in a simulation.
//!
//! Code outside this crate never names madsim: it reads the clock, sleeps,
//! bounds a wait and spawns a task through these. Every one of them is
//! simulated: a sleep of a minute takes no wall time, and the same seed gives
//! the same interleaving.

use std::future::Future;
use std::time::Duration;

pub use madsim::task::JoinHandle;

/// The seed of the run the calling code runs in.
pub fn seed() -> u64 {
    madsim::runtime::Handle::current().seed()
}

/// Simulated milliseconds since the run started.
pub fn now_ms() -> u64 {
    madsim::time::TimeHandle::current().elapsed().as_millis() as u64
}

/// Sleeps `ms` of simulated time.
pub async fn sleep_ms(ms: u64) {
    madsim::time::sleep(Duration::from_millis(ms)).await;
}

/// Sleeps until simulated time `at_ms` (at once when it has passed).
pub async fn sleep_until_ms(at_ms: u64) {
    let now = now_ms();
    if at_ms > now {
        sleep_ms(at_ms - now).await;
    }
}

/// Runs `future` for at most `ms` of simulated time: `None` when it did not finish.
pub async fn timeout_ms<F: Future>(ms: u64, future: F) -> Option<F::Output> {
    madsim::time::timeout(Duration::from_millis(ms), future)
        .await
        .ok()
}

/// Runs `future` as a task of its own on the current machine.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    madsim::task::spawn(future)
}
