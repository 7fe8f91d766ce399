//! The leader's side of replication: follower progress, the ISR and the high
//! watermark.
//!
//! A leader learns each follower's log end offset from the follower's fetches
//! (the fetch offset *is* the follower's LEO). A follower is caught up when it has
//! fetched up to the leader's LEO, or when its LEO is the leader's LEO however
//! long ago it fetched; one that has not been caught up for
//! `replica.lag.time.max.ms` is dropped from the ISR, and one whose LEO reaches the
//! high watermark (and the start of the current leader epoch) is added back. Every
//! ISR change is a proposal to the controller (`AlterPartition`); the leader uses
//! the new ISR only once the controller accepted it, except that a pending
//! expansion already counts for the high watermark (Kafka's "maximal ISR").
//!
//! The high watermark is the minimum LEO over the (maximal) ISR and never moves
//! back on a leader.

use super::controller_link::AlterPartitionOutcome;
use super::Broker;
use crate::bugs::Bug;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::metadata::PartitionInfo;
use crate::protocol::AlterPartitionData;
use std::collections::BTreeMap;

/// What the leader knows about one follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FollowerProgress {
    /// `None` until the follower's first fetch in this leader epoch.
    pub log_end_offset: Option<Offset>,
    /// When the follower last had everything the leader had (`None`: not
    /// since this leader epoch began, for a follower outside the ISR).
    pub last_caught_up_ms: Option<u64>,
    /// The leader's LEO and the time at the follower's previous fetch.
    pub last_fetch_leader_leo: Offset,
    pub last_fetch_ms: Option<u64>,
    /// The broker epoch of the follower's last fetch (`-1`: it sent none).
    pub broker_epoch: Option<i64>,
}

/// What a broker knows about a partition it currently leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Leadership {
    pub leader_epoch: LeaderEpoch,
    /// The ISR the controller last confirmed, with the partition epoch it had.
    pub isr: Vec<BrokerId>,
    pub partition_epoch: i32,
    /// The ISR proposed in an `AlterPartition` still waiting for its answer.
    pub pending_isr: Option<Vec<BrokerId>>,
    /// The log end offset when this leader epoch began: a follower rejoins the
    /// ISR only once it has everything before it.
    pub epoch_start_offset: Offset,
    pub followers: BTreeMap<BrokerId, FollowerProgress>,
}

impl Leadership {
    fn new(p: &PartitionInfo, me: BrokerId, log_end_offset: Offset, now_ms: u64) -> Self {
        let followers = p
            .replicas
            .iter()
            .filter(|&&b| b != me)
            .map(|&b| {
                // Kafka's `Replica.resetReplicaState` for a new leader: an ISR
                // member counts as caught up now, any other replica not until
                // it fetches to the leader's end, so that it does not hold the
                // high watermark back.
                let progress = FollowerProgress {
                    log_end_offset: None,
                    last_caught_up_ms: p.isr.contains(&b).then_some(now_ms),
                    last_fetch_leader_leo: -1,
                    last_fetch_ms: None,
                    broker_epoch: None,
                };
                (b, progress)
            })
            .collect();
        Leadership {
            leader_epoch: p.leader_epoch,
            isr: p.isr.clone(),
            partition_epoch: p.partition_epoch,
            pending_isr: None,
            epoch_start_offset: log_end_offset,
            followers,
        }
    }

    /// The ISR the high watermark waits for: the confirmed one plus any member a
    /// pending expansion adds.
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut members = self.isr.clone();
        for b in self.pending_isr.iter().flatten() {
            if !members.contains(b) {
                members.push(*b);
            }
        }
        members
    }

    /// When the next ISR-shrink check is due: a follower at the leader's log
    /// end offset (`leader_leo`) is caught up however long ago it fetched.
    pub fn next_shrink_check_ms(&self, lag_max_ms: u64, leader_leo: Offset) -> Option<u64> {
        if self.pending_isr.is_some() {
            return None;
        }
        self.followers
            .iter()
            .filter(|(b, f)| self.isr.contains(b) && f.log_end_offset != Some(leader_leo))
            .map(|(_, f)| f.last_caught_up_ms.unwrap_or(0) + lag_max_ms + 1)
            .min()
    }
}

impl Broker {
    /// Starts leading `tp` in the epoch the metadata names.
    pub(super) fn become_leader(&mut self, now_ms: u64, tp: &TopicPartition, p: &PartitionInfo) {
        self.following.remove(tp);
        let log = self.disk.logs.entry(tp.clone()).or_default();
        log.begin_epoch(p.leader_epoch);
        let mut leadership = Leadership::new(p, self.broker_id, log.log_end_offset(), now_ms);
        // ANCHOR: follower_reset
        // Without the guard, a broker that led the partition before picks up
        // what it knew of the followers then: log end offsets they may have
        // since truncated below, and times they were caught up.
        if let Some(former) = self.former_followers.remove(tp) {
            for (broker, progress) in former {
                if let Some(follower) = leadership.followers.get_mut(&broker) {
                    follower.log_end_offset = progress.log_end_offset;
                    follower.last_caught_up_ms = progress.last_caught_up_ms;
                }
            }
        }
        // ANCHOR_END: follower_reset
        self.leading.insert(tp.clone(), leadership);
        self.emit(ClusterEvent::BecameLeader {
            broker: self.broker_id,
            partition: tp.clone(),
            leader_epoch: p.leader_epoch,
        });
        self.maybe_advance_high_watermark(now_ms, tp);
    }

    /// A newer image of a partition this broker still leads in the same epoch:
    /// adopt the controller's ISR if it is newer than the one known here.
    pub(super) fn refresh_leadership(
        &mut self,
        now_ms: u64,
        tp: &TopicPartition,
        p: &PartitionInfo,
    ) {
        let Some(leadership) = self.leading.get_mut(tp) else {
            return;
        };
        if p.partition_epoch > leadership.partition_epoch {
            leadership.isr = p.isr.clone();
            leadership.partition_epoch = p.partition_epoch;
            leadership.pending_isr = None;
        }
        self.maybe_advance_high_watermark(now_ms, tp);
    }

    /// A follower, with its broker epoch, fetched at `fetch_offset` (its LEO):
    /// update its progress, the high watermark, and propose adding it back to
    /// the ISR if it caught up.
    pub(super) fn record_follower_fetch(
        &mut self,
        now_ms: u64,
        tp: &TopicPartition,
        (follower, broker_epoch): (BrokerId, i64),
        fetch_offset: Offset,
    ) {
        let Some(leadership) = self.leading.get_mut(tp) else {
            return;
        };
        let log = &self.disk.logs[tp];
        let leader_leo = log.log_end_offset();
        let Some(progress) = leadership.followers.get_mut(&follower) else {
            return; // not a replica of this partition
        };
        if fetch_offset >= leader_leo {
            progress.last_caught_up_ms = Some(now_ms);
        } else if fetch_offset >= progress.last_fetch_leader_leo {
            progress.last_caught_up_ms = progress.last_caught_up_ms.max(progress.last_fetch_ms);
        }
        progress.log_end_offset = Some(fetch_offset);
        progress.last_fetch_leader_leo = leader_leo;
        progress.last_fetch_ms = Some(now_ms);
        progress.broker_epoch = Some(broker_epoch);
        // ANCHOR: isr_rejoin
        // Eligible: unfenced, and fetching as the incarnation the metadata has
        // registered (KIP-903; `-1` skips that check, as in Kafka).
        let registered_epoch = self.image.brokers.get(&follower).map(|b| b.broker_epoch);
        let bugs = self.config.bugs;
        let eligible = self.image.is_live(follower)
            && (broker_epoch == -1
                || registered_epoch == Some(broker_epoch)
                || bugs.on(Bug::Kip903));
        // Caught up: at the high watermark and past the start of this epoch
        // (the guard the `isr-expansion-guard` switch removes).
        let caught_up = (fetch_offset >= log.high_watermark()
            && fetch_offset >= leadership.epoch_start_offset)
            || bugs.on(Bug::IsrExpansionGuard);
        let rejoins = !leadership.isr.contains(&follower)
            && leadership.pending_isr.is_none()
            && caught_up
            && eligible;
        if rejoins {
            let mut new_isr = leadership.isr.clone();
            new_isr.push(follower);
            self.propose_isr(now_ms, tp, new_isr);
        }
        // ANCHOR_END: isr_rejoin
        self.maybe_advance_high_watermark(now_ms, tp);
    }

    // ANCHOR: isr_shrink
    /// Drops followers that have not caught up for `replica.lag.time.max.ms`.
    /// A follower whose log ends where the leader's does is caught up, however
    /// long ago it fetched (Kafka's `Replica.isCaughtUp`).
    ///
    /// Simplification: Kafka checks on a timer every `replica.lag.time.max.ms / 2`,
    /// so a late follower leaves 30 to 45 s after it was last caught up; the model
    /// checks at the exact millisecond the lag passes 30 s.
    pub(super) fn shrink_isrs(&mut self, now_ms: u64) {
        let lag_max_ms = self.config.replica_lag_time_max_ms;
        let proposals: Vec<(TopicPartition, Vec<BrokerId>)> = self
            .leading
            .iter()
            .filter(|(_, l)| l.pending_isr.is_none())
            .filter_map(|(tp, l)| {
                let leader_leo = self.disk.logs.get(tp).map(|log| log.log_end_offset());
                let lagging = |b: &BrokerId| {
                    l.followers.get(b).is_some_and(|f| {
                        let at_the_end =
                            f.log_end_offset.is_some() && f.log_end_offset == leader_leo;
                        !at_the_end && now_ms > f.last_caught_up_ms.unwrap_or(0) + lag_max_ms
                    })
                };
                let new_isr: Vec<BrokerId> =
                    l.isr.iter().copied().filter(|b| !lagging(b)).collect();
                (new_isr.len() < l.isr.len()).then(|| (tp.clone(), new_isr))
            })
            .collect();
        for (tp, new_isr) in proposals {
            self.propose_isr(now_ms, &tp, new_isr);
        }
    }
    // ANCHOR_END: isr_shrink

    fn propose_isr(&mut self, now_ms: u64, tp: &TopicPartition, new_isr: Vec<BrokerId>) {
        let Some(leadership) = self.leading.get_mut(tp) else {
            return;
        };
        let own_epoch = self.link.broker_epoch().unwrap_or(-1);
        let broker_epoch = |b: &BrokerId| match leadership.followers.get(b) {
            Some(f) => f.broker_epoch.unwrap_or(-1),
            None => own_epoch, // the leader itself
        };
        let data = AlterPartitionData {
            partition: tp.clone(),
            leader_epoch: leadership.leader_epoch,
            new_isr_broker_epochs: new_isr.iter().map(broker_epoch).collect(),
            new_isr: new_isr.clone(),
            partition_epoch: leadership.partition_epoch,
        };
        if self
            .link
            .alter_partition(now_ms, vec![data], &mut self.effects)
        {
            leadership.pending_isr = Some(new_isr);
        }
    }

    /// The controller answered (or did not answer) ISR proposals.
    pub(super) fn on_alter_partition_outcomes(
        &mut self,
        now_ms: u64,
        outcomes: Vec<AlterPartitionOutcome>,
    ) {
        for outcome in outcomes {
            for tp in &outcome.partitions {
                let answer = outcome
                    .response
                    .as_ref()
                    .and_then(|r| r.partitions.iter().find(|p| &p.partition == tp));
                let Some(leadership) = self.leading.get_mut(tp) else {
                    continue;
                };
                leadership.pending_isr = None;
                match answer {
                    Some(a)
                        if a.error_code == ErrorCode::None
                            && a.leader_epoch == leadership.leader_epoch
                            && a.partition_epoch > leadership.partition_epoch =>
                    {
                        leadership.isr = a.isr.clone();
                        leadership.partition_epoch = a.partition_epoch;
                    }
                    // Rejected or unanswered: the next metadata image brings the
                    // controller's view, and the checks propose again if needed.
                    _ => {}
                }
                self.maybe_advance_high_watermark(now_ms, tp);
            }
        }
        self.complete_parked(now_ms);
    }

    /// The ISR size below which a leader refuses `acks=all` writes and holds
    /// its high watermark still: `min.insync.replicas`, or the replica count
    /// when that is smaller (Kafka's effective min ISR, since 3.7).
    pub(super) fn effective_min_isr(&self, tp: &TopicPartition) -> i32 {
        let min_isr =
            (self.image.topics.get(&tp.topic)).map_or(1, |t| t.config.min_insync_replicas);
        let replicas = self
            .image
            .partition(tp)
            .map_or(1, |p| p.replicas.len() as i32);
        min_isr.min(replicas)
    }

    // ANCHOR: high_watermark
    /// HW = min LEO over the maximal ISR and over every caught-up replica that
    /// may join it; it never moves back on a leader, and it stays still while
    /// the ISR is below the effective min ISR (Kafka 3.7+, KAFKA-15583: a write
    /// then counts as committed only once enough replicas have it, whatever
    /// acks it was written with).
    pub(super) fn maybe_advance_high_watermark(&mut self, now_ms: u64, tp: &TopicPartition) {
        let Some(leadership) = self.leading.get(tp) else {
            return;
        };
        let below_min_isr = (leadership.isr.len() as i32) < self.effective_min_isr(tp);
        if below_min_isr && !self.config.bugs.on(Bug::Kafka15583) {
            return;
        }
        let lag_max_ms = self.config.replica_lag_time_max_ms;
        let log = self.disk.logs.get_mut(tp).expect("a leader has a log");
        let leader_leo = log.log_end_offset();
        let maximal_isr = leadership.maximal_isr();
        // Kafka's `shouldWaitForReplicaToJoinIsr`: a follower outside the ISR
        // that caught up within `replica.lag.time.max.ms` and is not fenced is
        // about to rejoin; the HW waits for it rather than run away from it.
        let about_to_join = |b: &BrokerId, f: &FollowerProgress| {
            !maximal_isr.contains(b)
                && (f.log_end_offset == Some(leader_leo)
                    || f.last_caught_up_ms
                        .is_some_and(|t| now_ms - t <= lag_max_ms))
                && self.image.is_live(*b)
        };
        // The replicas the HW waits for: every ISR member (an ISR member that
        // has not fetched in this epoch yet, `None`, holds the HW where it
        // is), and each follower about to join that has fetched.
        let waited_for: Vec<Option<Offset>> = (leadership.followers.iter())
            .filter_map(|(b, f)| match maximal_isr.contains(b) {
                true => Some(f.log_end_offset),
                false => f.log_end_offset.filter(|_| about_to_join(b, f)).map(Some),
            })
            .collect();
        let rule = self.config.rules.high_watermark;
        let high_watermark = rule(log.high_watermark(), leader_leo, &waited_for);
        if high_watermark != log.high_watermark() {
            log.set_high_watermark(high_watermark);
            let event = ClusterEvent::HighWatermark {
                broker: self.broker_id,
                partition: tp.clone(),
                high_watermark: log.high_watermark(),
            };
            self.emit(event);
        }
    }
    // ANCHOR_END: high_watermark
}
