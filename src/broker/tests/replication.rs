//! Replication between real brokers: followers copying the leader, the ISR and the
//! high watermark, `acks=all`, an isolated leader, and the truncation a follower
//! does when it meets a new leader.
//!
//! Each test runs one controller and two or three brokers through the relay in
//! `relay.rs` and expects Kafka's exact numbers: offsets, epochs, ISRs, error codes
//! and the millisecond a follower leaves the ISR.

mod relay;

use crate::bugs::{Bug, Bugs};
use crate::disk::CrashKind;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, NodeId, Offset};
use crate::metadata::PartitionInfo;
use crate::protocol::*;
use relay::{orders_0, Relay, PRODUCE_TIMEOUT_MS};

/// `replica.lag.time.max.ms`, Kafka's default.
const REPLICA_LAG_TIME_MAX_MS: u64 = 30_000;
/// `replica.fetch.wait.max.ms`: how long a caught-up follower's fetch is parked.
const REPLICA_FETCH_WAIT_MAX_MS: u64 = 500;
/// `broker.session.timeout.ms`: the controller fences a silent broker after it.
const BROKER_SESSION_TIMEOUT_MS: u64 = 9_000;
/// `request.timeout.ms` of the broker's own requests.
const REQUEST_TIMEOUT_MS: u64 = 30_000;

fn broker(id: BrokerId) -> NodeId {
    NodeId::Broker(id)
}

fn records(values: &[(Offset, &str)]) -> Vec<(Offset, String)> {
    values.iter().map(|&(o, v)| (o, v.to_string())).collect()
}

/// `orders-0` as the controller should have it.
fn partition(
    replicas: &[BrokerId],
    isr: &[BrokerId],
    leader: BrokerId,
    leader_epoch: i32,
    partition_epoch: i32,
) -> PartitionInfo {
    PartitionInfo {
        partition: 0,
        replicas: replicas.to_vec(),
        isr: isr.to_vec(),
        elr: vec![],
        leader: Some(leader),
        leader_epoch,
        partition_epoch,
    }
}

/// The millisecond `leader` drops a silent `follower` from the ISR: the follower
/// was last caught up at its last fetch, and Kafka drops it once the lag
/// *exceeds* `replica.lag.time.max.ms`.
fn isr_shrink_ms(relay: &Relay, leader: BrokerId, follower: BrokerId) -> u64 {
    relay.last_heard_ms(broker(leader), broker(follower)) + REPLICA_LAG_TIME_MAX_MS + 1
}

/// Cuts `follower` off from `leader`, appends `values` on the leader with acks=1
/// so the follower falls behind, and waits until it has left the ISR. (A
/// follower that is cut off but has everything the leader has stays in sync:
/// see the ISR tests below.)
fn fall_behind(relay: &mut Relay, leader: BrokerId, follower: BrokerId, values: &[&str]) {
    relay.cut(broker(leader), broker(follower));
    let shrink_ms = isr_shrink_ms(relay, leader, follower);
    let first_offset = relay.log_end_offset(leader);
    assert_eq!(
        relay.produce_acks_1(leader, values),
        (ErrorCode::None, first_offset)
    );
    relay.advance_to(shrink_ms);
    assert!(!relay.partition().isr.contains(&follower));
}

// ---- Followers and the high watermark ---------------------------------------------

#[test]
fn a_follower_copies_the_leaders_records_and_learns_the_high_watermark_one_fetch_later() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[]);
    let produced_ms = relay.now_ms();
    assert_eq!(relay.produce_acks_1(1, &["a", "b"]), (ErrorCode::None, 0));

    // The follower's parked fetch was answered with the batch at once, and its
    // next fetch (from offset 2) told the leader it has both records.
    assert_eq!(relay.log(2).batches(), relay.log(1).batches());
    assert_eq!(relay.high_watermark(1), 2);
    // The answer that carried the records said HW 0: min(0, own LEO 2) = 0.
    assert_eq!(relay.high_watermark(2), 0);

    // The next answer comes when that fetch's long poll ends, and carries HW 2.
    relay.advance_to(produced_ms + REPLICA_FETCH_WAIT_MAX_MS - 1);
    assert_eq!(relay.high_watermark(2), 0);
    relay.advance_to(produced_ms + REPLICA_FETCH_WAIT_MAX_MS);
    assert_eq!(relay.high_watermark(2), 2);
}

#[test]
fn the_leaders_high_watermark_is_the_smallest_log_end_offset_in_the_isr() {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    relay.produce_acks_1(1, &["a"]);
    assert_eq!(relay.high_watermark(1), 1);

    relay.cut(broker(1), broker(3));
    let shrink_ms = isr_shrink_ms(&relay, 1, 3);
    assert_eq!(relay.produce_acks_1(1, &["b", "c"]), (ErrorCode::None, 1));
    let leos = [1, 2, 3].map(|b| relay.log_end_offset(b));
    assert_eq!(leos, [3, 3, 1]);
    assert_eq!(relay.high_watermark(1), 1);

    // Broker 3 stays in the ISR without fetching: the HW waits for it ...
    relay.advance_to(shrink_ms - 1);
    assert_eq!(relay.partition().isr, vec![1, 2, 3]);
    assert_eq!(relay.high_watermark(1), 1);
    // ... until it leaves, and then covers what the remaining ISR has.
    relay.advance_to(shrink_ms);
    assert_eq!(relay.partition().isr, vec![1, 2]);
    assert_eq!(relay.high_watermark(1), 3);
}

// ---- The ISR ------------------------------------------------------------------------

#[test]
fn a_follower_that_stops_fetching_leaves_the_isr_after_replica_lag_time_max_ms() {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    relay.cut(broker(1), broker(3));
    let shrink_ms = isr_shrink_ms(&relay, 1, 3);
    assert_eq!(relay.produce_acks_1(1, &["a"]), (ErrorCode::None, 0));

    relay.advance_to(shrink_ms - 1);
    assert_eq!(
        relay.partition(),
        partition(&[1, 2, 3], &[1, 2, 3], 1, 0, 0)
    );
    relay.advance_to(shrink_ms);
    assert_eq!(relay.partition(), partition(&[1, 2, 3], &[1, 2], 1, 0, 1));
    assert_eq!(relay.isr_changes(), vec![(vec![1, 2], 1)]);
}

/// Kafka's `Replica.isCaughtUp`: a follower whose log ends where the leader's
/// does is in sync, however long ago it fetched. So a silent follower of a
/// partition nobody writes to stays in the ISR; the first record it misses
/// makes it late, and it leaves at once.
#[test]
fn a_silent_follower_that_has_everything_stays_in_the_isr_until_a_record_arrives() {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    relay.cut(broker(1), broker(3));
    let shrink_ms = isr_shrink_ms(&relay, 1, 3);

    relay.advance_to(shrink_ms + 10 * REPLICA_LAG_TIME_MAX_MS);
    assert_eq!(relay.partition().isr, vec![1, 2, 3]);
    assert_eq!(relay.isr_changes(), vec![]);

    assert_eq!(relay.produce_acks_1(1, &["a"]), (ErrorCode::None, 0));
    relay.advance_by(1);
    assert_eq!(relay.partition().isr, vec![1, 2]);
    assert_eq!(relay.isr_changes(), vec![(vec![1, 2], 1)]);
}

#[test]
fn an_acks_all_produce_waits_for_a_silent_isr_member_and_completes_once_it_leaves() {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    relay.cut(broker(1), broker(3));
    let shrink_ms = isr_shrink_ms(&relay, 1, 3);
    let acks_all = relay.produce(1, Acks::All, &["a"]);
    assert_eq!(relay.log_end_offset(2), 1, "broker 2 fetched the record");

    relay.advance_to(shrink_ms - 1);
    assert_eq!(relay.produce_answer(acks_all), None);
    assert_eq!(relay.high_watermark(1), 0);
    relay.advance_to(shrink_ms);
    assert_eq!(relay.high_watermark(1), 1);
    assert_eq!(relay.produce_answer(acks_all), Some((ErrorCode::None, 0)));
}

#[test]
fn a_follower_that_catches_up_again_rejoins_the_isr() {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    fall_behind(&mut relay, 1, 3, &["a"]);
    assert_eq!(relay.high_watermark(1), 1);

    relay.heal(broker(1), broker(3));
    // Broker 3's fetcher gives up the request the cut swallowed, backs off and
    // fetches again: first up to the HW, then from it, which earns its place back.
    relay.advance_by(REQUEST_TIMEOUT_MS + 5_000);
    assert_eq!(
        relay.partition(),
        partition(&[1, 2, 3], &[1, 2, 3], 1, 0, 2)
    );
    assert_eq!(
        relay.isr_changes(),
        vec![(vec![1, 2], 1), (vec![1, 2, 3], 2)]
    );
    assert_eq!(relay.records(3), records(&[(0, "a")]));
}

#[test]
fn a_replica_fetch_past_the_leaders_log_end_is_out_of_range_and_earns_no_isr_place() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[]);
    fall_behind(&mut relay, 1, 2, &["a"]);

    // A fetch as replica 2 from offset 5, past the leader's end (1).
    let fetch = replica_fetch_request(2, -1, 5);
    let correlation_id = relay.send(broker(1), fetch);
    let Some(Response::Fetch(r)) = relay.answer(correlation_id) else {
        panic!("a fetch that cannot be served is answered at once");
    };
    assert_eq!(r.responses[0].error_code, ErrorCode::OffsetOutOfRange);
    // The leader could not serve it, so it says nothing about replica 2's log.
    assert_eq!(relay.partition().isr, vec![1]);
    assert_eq!(relay.isr_changes(), vec![(vec![1], 1)]);
}

/// A fetch as replica `replica` (under broker epoch `replica_epoch`, `-1`:
/// unknown) of `orders-0` from `fetch_offset`, in leader epoch 0, not held.
fn replica_fetch_request(replica: BrokerId, replica_epoch: i64, fetch_offset: Offset) -> Request {
    Request::Fetch(FetchRequest {
        replica_id: replica,
        replica_epoch,
        max_wait_ms: 0,
        min_bytes: 1,
        max_bytes: usize::MAX,
        partitions: vec![FetchPartition {
            partition: orders_0(),
            current_leader_epoch: Some(0),
            fetch_offset,
            partition_max_bytes: usize::MAX,
        }],
    })
}

/// A fetch as replica `replica` of `orders-0` from `fetch_offset`, answered at once.
fn replica_fetch(relay: &mut Relay, leader: BrokerId, replica: BrokerId, fetch_offset: Offset) {
    let fetch = replica_fetch_request(replica, -1, fetch_offset);
    let correlation_id = relay.send(broker(leader), fetch);
    let Some(Response::Fetch(r)) = relay.answer(correlation_id) else {
        panic!("a fetch with max_wait_ms 0 is answered at once");
    };
    assert_eq!(r.responses[0].error_code, ErrorCode::None);
}

/// Kafka's `Partition.maybeIncrementLeaderHW` waits for a replica outside the
/// ISR that caught up within `replica.lag.time.max.ms` (it fetched up to where
/// the leader's log ended at its previous fetch). Without that, a leader that
/// keeps writing runs its HW ahead of a follower that is keeping pace, and the
/// follower, whose fetches never reach the HW, never gets back into the ISR.
#[test]
fn the_high_watermark_waits_for_a_caught_up_replica_so_it_can_rejoin_the_isr() {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    fall_behind(&mut relay, 1, 3, &["a"]);
    assert_eq!(relay.partition().isr, vec![1, 2]);
    assert_eq!(relay.high_watermark(1), 1);

    // Replica 3's fetches, forged here (the real broker 3 is still cut off):
    // the first is from 0, behind the leader's end (1).
    replica_fetch(&mut relay, 1, 3, 0);
    assert_eq!(relay.produce_acks_1(1, &["b"]), (ErrorCode::None, 1));
    relay.advance_by(1);
    assert_eq!(relay.high_watermark(1), 2, "broker 2 has b");
    // The second reaches 1, where the leader ended at the first: replica 3 was
    // caught up then. It is below the HW, so it cannot rejoin yet ...
    replica_fetch(&mut relay, 1, 3, 1);
    assert_eq!(relay.partition().isr, vec![1, 2]);
    // ... but the HW waits for it: c is on brokers 1 and 2, and the HW stays.
    assert_eq!(relay.produce_acks_1(1, &["c"]), (ErrorCode::None, 2));
    relay.advance_by(1);
    assert_eq!(relay.log_end_offset(2), 3);
    assert_eq!(relay.high_watermark(1), 2);
    // So its next fetch, from 2, reaches the HW and earns its place back.
    replica_fetch(&mut relay, 1, 3, 2);
    relay.advance_by(1);
    assert_eq!(relay.partition().isr, vec![1, 2, 3]);
}

// ---- acks=all and min.insync.replicas --------------------------------------------------

#[test]
fn acks_all_below_min_insync_replicas_answers_not_enough_replicas_and_appends_nothing() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[("min.insync.replicas", "2")]);
    fall_behind(&mut relay, 1, 2, &["a"]);
    assert_eq!(relay.partition().isr, vec![1]);

    let acks_all = relay.produce(1, Acks::All, &["b"]);
    assert_eq!(
        relay.produce_answer(acks_all),
        Some((ErrorCode::NotEnoughReplicas, -1))
    );
    assert_eq!(relay.log_end_offset(1), 1);
    // acks=1 does not look at the ISR.
    assert_eq!(relay.produce_acks_1(1, &["c"]), (ErrorCode::None, 1));
}

#[test]
fn an_acks_all_write_the_isr_shrinks_under_is_not_committed_until_the_isr_grows_back() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[("min.insync.replicas", "2")]);
    relay.cut(broker(1), broker(2));
    let shrink_ms = isr_shrink_ms(&relay, 1, 2);
    // The ISR still has two members: the batch is appended and waits.
    let acks_all = relay.produce(1, Acks::All, &["a"]);
    relay.advance_to(shrink_ms - 1);
    assert_eq!(relay.produce_answer(acks_all), None);

    // The ISR shrinks to {1}, below min.insync.replicas: since Kafka 3.7 the
    // high watermark stays where it is, so the batch is not committed, and the
    // producer waits until its request times out.
    relay.advance_to(shrink_ms);
    assert_eq!(relay.partition().isr, vec![1]);
    assert_eq!(relay.high_watermark(1), 0);
    relay.advance_by(PRODUCE_TIMEOUT_MS);
    let (error_code, _) = relay.produce_answer(acks_all).expect("answered");
    assert_eq!(error_code, ErrorCode::RequestTimedOut);
    assert_eq!(
        relay.records(1),
        records(&[(0, "a")]),
        "appended, not committed"
    );

    // Broker 2 catches up and rejoins: two in-sync replicas have `a`.
    relay.heal(broker(1), broker(2));
    relay.advance_by(REQUEST_TIMEOUT_MS + 5_000);
    assert_eq!(relay.partition().isr, vec![1, 2]);
    assert_eq!(relay.high_watermark(1), 1);
}

#[test]
fn a_leader_cut_off_from_the_controller_cannot_shrink_its_isr_so_acks_all_times_out() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[]);
    let isolated_ms = relay.now_ms();
    relay.isolate(1);
    let shrink_ms = isr_shrink_ms(&relay, 1, 2);
    let acks_all = relay.produce(1, Acks::All, &["a"]);
    // acks=1 needs nothing but the leader's own append.
    assert_eq!(relay.produce_acks_1(1, &["b"]), (ErrorCode::None, 1));

    // The controller fenced the silent broker 1 and moved leadership to broker 2.
    relay.advance_to(shrink_ms);
    assert_eq!(relay.partition(), partition(&[1, 2], &[2], 2, 1, 1));
    // Broker 1 proposed ISR {1}; the controller never heard it.
    let broker_epoch = relay.controller().image().brokers[&1].broker_epoch;
    let proposal = Request::AlterPartition(AlterPartitionRequest {
        broker_id: 1,
        broker_epoch,
        partitions: vec![AlterPartitionData {
            partition: orders_0(),
            leader_epoch: 0,
            new_isr: vec![1],
            new_isr_broker_epochs: vec![broker_epoch],
            partition_epoch: 0,
        }],
    });
    let proposals: Vec<&Request> = relay
        .dropped_requests(broker(1), NodeId::Controller)
        .into_iter()
        .filter(|r| matches!(r, Request::AlterPartition(_)))
        .collect();
    assert_eq!(proposals, vec![&proposal]);
    assert_eq!(relay.isr_changes(), vec![]);

    // So broker 1 keeps waiting for broker 2: its HW is frozen.
    relay.advance_to(isolated_ms + PRODUCE_TIMEOUT_MS - 1);
    assert_eq!(relay.produce_answer(acks_all), None);
    relay.advance_to(isolated_ms + PRODUCE_TIMEOUT_MS);
    let (error_code, _) = relay.produce_answer(acks_all).expect("answered");
    assert_eq!(error_code, ErrorCode::RequestTimedOut);
    assert_eq!((relay.log_end_offset(1), relay.high_watermark(1)), (2, 0));
}

#[test]
fn the_high_watermark_stays_while_the_isr_is_below_min_insync_replicas() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[("min.insync.replicas", "2")]);
    fall_behind(&mut relay, 1, 2, &["a"]);
    assert_eq!(relay.partition().isr, vec![1]);
    assert_eq!((relay.log_end_offset(1), relay.high_watermark(1)), (1, 0));

    relay.heal(broker(1), broker(2));
    relay.advance_by(REQUEST_TIMEOUT_MS + 5_000);
    assert_eq!(relay.partition().isr, vec![1, 2]);
    assert_eq!(relay.high_watermark(1), 1);
}

#[test]
fn with_min_insync_replicas_1_a_lone_leader_advances_the_high_watermark_by_itself() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[]);
    fall_behind(&mut relay, 1, 2, &["a"]);
    assert_eq!(relay.partition().isr, vec![1]);
    assert_eq!(relay.high_watermark(1), 1);
}

/// Broker 2 is elected while its high watermark still trails the old
/// leader's: it has `a` and `b` but was told only HW 0, and its epoch starts at
/// offset 2. Until its high watermark gets there, it cannot tell where the
/// committed log ends, and says so to a consumer asking for the latest offset.
#[test]
fn a_new_leader_whose_high_watermark_trails_its_epoch_start_answers_offset_not_available() {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    assert_eq!(relay.produce_acks_1(1, &["a", "b"]), (ErrorCode::None, 0));
    assert_eq!(relay.high_watermark(1), 2);
    assert_eq!([2, 3].map(|b| relay.high_watermark(b)), [0, 0]);
    relay.crash(1, CrashKind::ProcessCrash);
    relay.cut(broker(2), broker(3));
    relay.advance_by(BROKER_SESSION_TIMEOUT_MS);
    assert_eq!(relay.partition(), partition(&[1, 2, 3], &[2, 3], 2, 1, 1));
    assert_eq!(relay.high_watermark(2), 0);

    assert_eq!(
        relay.list_offsets(2, LATEST_TIMESTAMP),
        (ErrorCode::OffsetNotAvailable, -1)
    );
    assert_eq!(
        relay.list_offsets(2, EARLIEST_TIMESTAMP),
        (ErrorCode::None, 0)
    );
    // A new leader knows nothing of its followers' logs until they fetch
    // (Kafka resets their state), so the silent broker 3 does not count as
    // caught up: it leaves the ISR after replica.lag.time.max.ms, and the HW,
    // now over broker 2 alone, reaches the epoch start.
    relay.advance_by(REPLICA_LAG_TIME_MAX_MS);
    assert_eq!(relay.partition().isr, vec![2]);
    assert_eq!(relay.high_watermark(2), 2);
    assert_eq!(
        relay.list_offsets(2, LATEST_TIMESTAMP),
        (ErrorCode::None, 2)
    );
}

// ---- Truncation when a follower meets a new leader ----------------------------------------

/// Three brokers. Broker 1 led epoch 0: `a`, `b` are committed on all three;
/// then, its followers cut off, it appended `c`, `d` with acks=1 and crashed.
/// Broker 2 leads epoch 1 and appended `x` at offset 2. Broker 1 restarted and
/// follows broker 2.
fn divergent_tail_after_a_failover() -> Relay {
    let mut relay = Relay::with_brokers(3);
    relay.create_orders(3, &[]);
    let committed = relay.produce(1, Acks::All, &["a", "b"]);
    assert_eq!(relay.produce_answer(committed), Some((ErrorCode::None, 0)));
    relay.cut(broker(1), broker(2));
    relay.cut(broker(1), broker(3));
    assert_eq!(relay.produce_acks_1(1, &["c", "d"]), (ErrorCode::None, 2));
    relay.crash(1, CrashKind::ProcessCrash);

    relay.advance_by(BROKER_SESSION_TIMEOUT_MS);
    assert_eq!(relay.partition(), partition(&[1, 2, 3], &[2, 3], 2, 1, 1));
    assert_eq!(relay.produce_acks_1(2, &["x"]), (ErrorCode::None, 2));
    relay.heal_all();
    relay.restart(1);
    relay.advance_by(5_000);
    relay
}

#[test]
fn a_follower_with_a_divergent_tail_truncates_to_the_new_leaders_end_of_that_epoch() {
    let relay = divergent_tail_after_a_failover();
    // Broker 2's epoch 0 ends at offset 2, where its epoch 1 starts.
    assert_eq!(relay.truncations(), vec![(1, 2, 2)]);
    let expected = records(&[(0, "a"), (1, "b"), (2, "x")]);
    assert_eq!(relay.records(1), expected);
    assert_eq!(relay.log(1).epoch_starts(), &[(0, 0), (1, 2)]);
    assert_eq!(relay.log(1).batches(), relay.log(2).batches());
    assert_eq!(relay.partition().isr, vec![2, 3, 1]);
}

#[test]
fn a_follower_without_a_divergent_tail_keeps_everything_when_a_new_leader_is_elected() {
    let relay = divergent_tail_after_a_failover();
    let truncated: Vec<BrokerId> = relay.truncations().iter().map(|t| t.0).collect();
    assert_eq!(truncated, vec![1], "broker 3 kept its log");
    assert_eq!(relay.records(3), records(&[(0, "a"), (1, "b"), (2, "x")]));
    assert_eq!(relay.log(3).epoch_starts(), &[(0, 0), (1, 2)]);
}

#[test]
fn after_an_unclean_election_the_old_leader_truncates_to_match_the_new_leader() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[("unclean.leader.election.enable", "true")]);
    fall_behind(&mut relay, 1, 2, &["a", "b"]);
    assert_eq!(relay.high_watermark(1), 2);
    relay.crash(1, CrashKind::ProcessCrash);

    // Broker 2 has nothing of epoch 0, yet it is elected: unclean. (Partition
    // epoch 1 was the ISR shrink, 2 is the election.)
    relay.advance_by(BROKER_SESSION_TIMEOUT_MS);
    assert_eq!(relay.partition(), partition(&[1, 2], &[2], 2, 1, 2));
    assert_eq!(relay.produce_acks_1(2, &["x"]), (ErrorCode::None, 0));
    relay.heal_all();
    relay.restart(1);
    relay.advance_by(5_000);

    // The acknowledged a, b are lost (that is what unclean means), but the two
    // replicas agree again: broker 1 dropped its whole epoch-0 tail.
    assert_eq!(relay.truncations(), vec![(1, 0, 2)]);
    assert_eq!(relay.records(1), records(&[(0, "x")]));
    assert_eq!(relay.log(1).batches(), relay.log(2).batches());
}

/// Two brokers lead `orders-0` uncleanly in turn, each in epochs the other never
/// had: broker 1 ends with epochs 0 and 2, broker 2 with 0, 1 and 3. Broker 1,
/// back as a follower, asks where its epoch 2 ends; broker 2 answers with epoch
/// 1, which broker 1 never had. Cutting to min(the answer, its own end of epoch
/// ≤ 1) would keep its epoch-0 `b` at offset 1, where the leader has epoch 1's `x`:
/// the replicas would diverge below the high watermark for good. Kafka 2.0
/// (KIP-279) instead cuts to its own end of epoch 0 and asks again, for epoch 0.
#[test]
fn a_follower_asks_again_until_it_and_the_leader_name_the_same_epoch() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[("unclean.leader.election.enable", "true")]);
    assert_eq!(relay.produce_acks_1(1, &["a"]), (ErrorCode::None, 0));
    relay.advance_by(1_000);
    fall_behind(&mut relay, 1, 2, &["b", "c"]);
    relay.crash(1, CrashKind::ProcessCrash);
    relay.advance_by(BROKER_SESSION_TIMEOUT_MS);
    assert_eq!(relay.partition().leader, Some(2), "epoch 1: unclean");
    assert_eq!(relay.produce_acks_1(2, &["x"]), (ErrorCode::None, 1));

    // Broker 1 comes back, still cut off from broker 2, and broker 2 crashes.
    relay.restart(1);
    relay.advance_by(1_000);
    relay.crash(2, CrashKind::ProcessCrash);
    relay.advance_by(BROKER_SESSION_TIMEOUT_MS);
    assert_eq!(relay.partition().leader, Some(1), "epoch 2: unclean");
    assert_eq!(relay.produce_acks_1(1, &["y"]), (ErrorCode::None, 3));
    assert_eq!(relay.log(1).epoch_starts(), &[(0, 0), (2, 3)]);
    relay.crash(1, CrashKind::ProcessCrash);
    relay.restart(2);
    relay.advance_by(BROKER_SESSION_TIMEOUT_MS);
    assert_eq!(relay.partition().leader, Some(2), "epoch 3: unclean");
    assert_eq!(relay.produce_acks_1(2, &["z"]), (ErrorCode::None, 2));
    assert_eq!(relay.log(2).epoch_starts(), &[(0, 0), (1, 1), (3, 2)]);

    relay.heal_all();
    relay.restart(1);
    relay.advance_by(5_000);
    // First to offset 3 (its own end of epoch 0), then to 1 (epoch 0's end on
    // the leader): then it copies x and z.
    assert_eq!(relay.truncations(), vec![(1, 3, 1), (1, 1, 2)]);
    assert_eq!(relay.records(1), records(&[(0, "a"), (1, "x"), (2, "z")]));
    assert_eq!(relay.log(1).batches(), relay.log(2).batches());
}

/// Two brokers; broker 1 has just appended `a`, `b` with acks=1 and broker 2 has
/// copied them but not yet learned that they are committed. Then broker 2
/// restarts (a process crash keeps its records).
fn restarted_follower_behind_its_high_watermark(bugs: Bugs) -> Relay {
    let mut relay = Relay::with_brokers_configured(2, |c| c.bugs = bugs);
    relay.create_orders(2, &[]);
    relay.produce_acks_1(1, &["a", "b"]);
    assert_eq!(relay.high_watermark(1), 2);
    assert_eq!((relay.log_end_offset(2), relay.high_watermark(2)), (2, 0));
    relay.crash(2, CrashKind::ProcessCrash);
    relay.restart(2);
    relay
}

#[test]
fn with_high_watermark_truncation_a_new_follower_truncates_to_its_own_high_watermark_at_once() {
    let relay = restarted_follower_behind_its_high_watermark(Bugs::NONE.with(Bug::Kip101));
    let events = relay.events();
    let became_follower = events
        .iter()
        .rposition(|e| matches!(e, ClusterEvent::BecameFollower { broker: 2, .. }))
        .expect("broker 2 follows again");
    // Before any fetch: the pre-0.11 rule that loses committed records (KIP-101).
    assert_eq!(
        events[became_follower + 1],
        ClusterEvent::Truncated {
            broker: 2,
            partition: orders_0(),
            log_end_offset: 0,
            records: 2,
        }
    );
    assert_eq!(relay.truncations(), vec![(2, 0, 2)]);
    // It fetched them back from the leader, which still has them.
    assert_eq!(relay.records(2), records(&[(0, "a"), (1, "b")]));
}

#[test]
fn with_leader_epoch_truncation_a_new_follower_keeps_what_the_leader_has() {
    let relay = restarted_follower_behind_its_high_watermark(Bugs::NONE);
    assert_eq!(relay.truncations(), vec![]);
    assert_eq!(relay.records(2), records(&[(0, "a"), (1, "b")]));
}

// ---- OffsetsForLeaderEpoch ---------------------------------------------------------------

fn epoch_end(error_code: ErrorCode, leader_epoch: i32, end_offset: Offset) -> EpochEndOffset {
    EpochEndOffset {
        partition: orders_0(),
        error_code,
        leader_epoch,
        end_offset,
    }
}

#[test]
fn offsets_for_leader_epoch_answers_where_an_epoch_ends_in_the_leaders_log() {
    let mut relay = divergent_tail_after_a_failover();
    // Broker 2 leads epoch 1; its log: epoch 0 at 0..2, epoch 1 from 2, LEO 3.
    assert_eq!(
        relay.offsets_for_leader_epoch(2, 1, 0),
        epoch_end(ErrorCode::None, 0, 2)
    );
    assert_eq!(
        relay.offsets_for_leader_epoch(2, 1, 1),
        epoch_end(ErrorCode::None, 1, 3)
    );
}

#[test]
fn offsets_for_leader_epoch_for_an_epoch_older_than_the_log_answers_the_start_of_its_first_epoch() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[]);
    relay.crash(1, CrashKind::ProcessCrash);
    relay.advance_by(BROKER_SESSION_TIMEOUT_MS);
    assert_eq!(relay.produce_acks_1(2, &["x", "y"]), (ErrorCode::None, 0));
    assert_eq!(relay.log(2).epoch_starts(), &[(1, 0)]);
    // Kafka answers the requested epoch with the start offset of the first epoch
    // the log knows, so a follower drops everything it has from that epoch on.
    assert_eq!(
        relay.offsets_for_leader_epoch(2, 1, 0),
        epoch_end(ErrorCode::None, 0, 0)
    );
}

#[test]
fn offsets_for_leader_epoch_checks_the_current_leader_epoch_and_the_leadership() {
    let mut relay = divergent_tail_after_a_failover();
    let undefined = |code| epoch_end(code, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
    assert_eq!(
        relay.offsets_for_leader_epoch(2, 0, 0),
        undefined(ErrorCode::FencedLeaderEpoch)
    );
    assert_eq!(
        relay.offsets_for_leader_epoch(2, 2, 0),
        undefined(ErrorCode::UnknownLeaderEpoch)
    );
    assert_eq!(
        relay.offsets_for_leader_epoch(3, 1, 0),
        undefined(ErrorCode::NotLeaderOrFollower)
    );
}

/// KIP-903 (Kafka 3.5+): a fetch sent by a follower's previous incarnation
/// arrives after the follower came back with a new, empty disk. It claims the
/// follower has everything; believing it would put an empty replica in the
/// ISR. The fetch carries the broker epoch it was sent under, older than the
/// one the follower registered since, so the leader refuses it.
#[test]
fn a_fetch_from_before_a_disk_replacement_does_not_put_the_empty_replica_in_the_isr() {
    let mut relay = Relay::with_brokers(2);
    relay.create_orders(2, &[]);
    let old_epoch = relay.controller().image().brokers[&2].broker_epoch;
    fall_behind(&mut relay, 1, 2, &["a"]);
    relay.crash(2, CrashKind::DiskReplaced);
    relay.restart(2);
    relay.advance_by(1_000); // broker 1's metadata names broker 2's new epoch
    let new_epoch = relay.controller().image().brokers[&2].broker_epoch;
    assert!(new_epoch > old_epoch);
    assert_eq!(relay.log_end_offset(2), 0, "the new disk is empty");

    let stale = replica_fetch_request(2, old_epoch, relay.log_end_offset(1));
    let correlation_id = relay.send(broker(1), stale);
    let Some(Response::Fetch(r)) = relay.answer(correlation_id) else {
        panic!("a stale fetch is answered at once");
    };
    assert_eq!(r.responses[0].error_code, ErrorCode::NotLeaderOrFollower);
    relay.advance_by(1_000);
    assert_eq!(
        relay.partition().isr,
        vec![1],
        "the empty replica stays out"
    );
}
