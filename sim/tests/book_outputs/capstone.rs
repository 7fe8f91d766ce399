//! The capstone chapter's outputs: `replicated`, the default scenario, run whole and
//! read through its failover, from the `kafkasim` binary itself like the failure
//! chapters' runs (and with their seed, so a reader repeats each run as shown).

use crate::failures::{replay_excerpt, whole_run, ReplayFilter, Window};

/// The scenario the capstone walks through: what `kafkasim run` runs by default.
const SCENARIO: &str = "replicated";

/// `kafkasim run --seed 1 --scenario replicated`, whole.
pub(crate) fn replicated_run() -> String {
    whole_run(SCENARIO)
}

/// `orders-1` while broker-1, one of its followers, is down: its leader keeps
/// appending, but the high watermark waits for the dead follower until the
/// controller fences it and the ISR shrinks; then the producer hears back.
pub(crate) fn replicated_isr_wait() -> String {
    const ORDERS_1: &str = "orders-1";
    const CRASH: &[&str] = &["fault broker-1: crashed"];
    replay_excerpt(
        SCENARIO,
        ReplayFilter {
            // From the crash to the first write to orders-1 acknowledged after it.
            window: Some(Window {
                after: CRASH,
                from: CRASH,
                until: &["acknowledged: orders-1 offset"],
            }),
            any_of: &[
                "broker-2 event",
                "controller event: orders-1: ISR now",
                "acknowledged",
            ],
            all_of: &[ORDERS_1],
            ..ReplayFilter::default()
        },
    )
}
