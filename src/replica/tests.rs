//! Unit tests of the partition's replication rules on a real log in a temp dir: the leader's
//! high watermark, ISR shrink and expansion decisions, acks=all, and the follower's
//! stale-epoch guards.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::partition::{LeaderAndIsr, Partition};
use crate::log::batch::build_batch;
use crate::log::{FileDeleter, LoadParams, Log, LogConfig, TopicPartition};
use crate::server::errors;

const LAG_MS: i64 = 3_000;

fn open_log(dir: &std::path::Path) -> Arc<Log> {
    let config = LogConfig {
        min_insync_replicas: 2,
        ..LogConfig::default()
    };
    Arc::new(
        Log::open(
            dir,
            TopicPartition::new("t", 0),
            config,
            LoadParams::default(),
            Arc::new(FileDeleter::new()),
        )
        .expect("open log"),
    )
}

fn batch(n: usize) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n).map(|i| format!("v{i}").into_bytes()).collect();
    let recs: Vec<_> = values
        .iter()
        .map(|v| (1_000, None, Some(v.as_slice()), &[][..]))
        .collect();
    build_batch(0, -1, &recs)
}

fn state(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
    LeaderAndIsr {
        leader,
        leader_epoch: epoch,
        isr: isr.to_vec(),
        replicas: vec![1, 2, 3],
        zk_version: 7,
        controller_epoch: 3,
    }
}

#[test]
fn leader_hw_shrink_expand_and_acks_all() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let p = Partition::with_isr_updates(TopicPartition::new("t", 0), 1, Some(tx), LAG_MS);
    let now = crate::controller::now_ms();
    p.make_leader(state(1, 0, &[1, 2, 3]), open_log(dir.path()), now)
        .unwrap();
    let log = p.log().unwrap();
    p.append_records_to_leader(&batch(4), -1).unwrap();
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(log.high_watermark(), 0, "followers have nothing yet");
    assert_eq!(p.check_enough_replicas_reached(4), None, "acks=all waits");

    // Follower 2 reaches the end, follower 3 stays at 0: HW held by 3 (in the ISR).
    p.update_follower_fetch_state(2, 4, 0, now, None);
    p.update_follower_fetch_state(3, 0, 0, now, None);
    assert_eq!(log.high_watermark(), 0);
    assert!(
        p.maybe_shrink_isr(now + 1_000).is_none(),
        "3 is within the lag time"
    );

    // 3 is stuck past replica.lag.time.max.ms: the leader proposes ISR [1,2] and, once
    // "written", the HW moves to 4 and acks=all succeeds with ISR 2 = min.insync.replicas.
    let proposal = p.maybe_shrink_isr(now + LAG_MS + 1).expect("shrink");
    assert_eq!(proposal.new_isr, vec![1, 2]);
    assert_eq!(
        (
            proposal.leader_epoch,
            proposal.controller_epoch,
            proposal.zk_version
        ),
        (0, 3, 7)
    );
    assert!(
        p.maybe_shrink_isr(now + LAG_MS + 2).is_none(),
        "one change in flight at a time"
    );
    assert!(p.complete_isr_change(&proposal, Some(8)));
    assert_eq!(p.lock().state.isr, vec![1, 2]);
    // Out of the ISR and not caught up within the lag time: 3 no longer holds the HW.
    assert_eq!(
        log.high_watermark(),
        0,
        "3 still counts: it caught up at `now`"
    );
    p.lock()
        .followers
        .get_mut(&3)
        .unwrap()
        .last_caught_up_time_ms = now - 2 * LAG_MS;
    p.maybe_increment_high_watermark();
    assert_eq!(log.high_watermark(), 4);
    assert_eq!(p.check_enough_replicas_reached(4), Some(Ok(())));

    // 3 catches up to the HW: an expansion is proposed through the ISR channel.
    p.update_follower_fetch_state(3, 4, 0, now + 10, None);
    let expand = rx.try_recv().expect("expansion proposed");
    assert_eq!(expand.new_isr, vec![1, 2, 3]);
    assert!(p.complete_isr_change(&expand, Some(9)));

    // Two followers dead: ISR [1]; the write is acknowledged "after append" only.
    let shrink = IsrLike::shrink_to_leader(&p);
    assert!(p.complete_isr_change(&shrink, Some(10)));
    for f in p.lock().followers.values_mut() {
        f.last_caught_up_time_ms = now - 2 * LAG_MS;
    }
    p.append_records_to_leader(&batch(1), 1).unwrap();
    p.maybe_increment_high_watermark();
    assert_eq!(
        p.check_enough_replicas_reached(5),
        Some(Err(errors::NOT_ENOUGH_REPLICAS_AFTER_APPEND))
    );
    assert_eq!(
        p.append_records_to_leader(&batch(1), -1)
            .unwrap_err()
            .error_code(),
        errors::NOT_ENOUGH_REPLICAS
    );
    assert_eq!(log.log_end_offset(), 5, "nothing appended");
}

/// Builds an ISR change to just the leader (as if both followers lagged).
struct IsrLike;
impl IsrLike {
    fn shrink_to_leader(p: &Partition) -> super::isr::IsrProposal {
        let mut inner = p.lock();
        inner.isr_change_in_flight = true;
        super::isr::IsrProposal::new(&p.tp, &inner.state, vec![1], "test".into())
    }
}

#[test]
fn follower_ignores_fetches_for_an_old_epoch_and_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let p = Partition::new(TopicPartition::new("t", 0), 2);
    let log = open_log(dir.path());
    p.make_follower(state(1, 5, &[1, 2]), log.clone()).unwrap();
    let mut leader_batch = batch(3);
    // As the leader stamped it: offsets 0..2 at leader epoch 5.
    leader_batch[12..16].copy_from_slice(&5i32.to_be_bytes());
    let crc = crate::log::batch::compute_crc(&leader_batch);
    leader_batch[17..21].copy_from_slice(&crc.to_be_bytes());
    assert!(p
        .append_records_as_follower(4, &leader_batch, 3, 0)
        .unwrap()
        .is_none());
    assert_eq!(log.log_end_offset(), 0, "stale epoch: nothing written");
    p.append_records_as_follower(5, &leader_batch, 2, 0)
        .unwrap()
        .expect("appended");
    assert_eq!((log.log_end_offset(), log.high_watermark()), (3, 2));
    assert_eq!(log.latest_epoch(), Some(5));
    assert_eq!(p.truncate_as_follower(4, 1, "test").unwrap(), None);
    assert_eq!(p.truncate_as_follower(5, 1, "test").unwrap(), Some(0));
    assert_eq!(
        log.log_end_offset(),
        0,
        "whole batches only: truncated to its base"
    );
}

#[test]
fn a_leader_epoch_that_is_not_newer_is_refused_not_asserted() {
    let dir = tempfile::tempdir().unwrap();
    let p = Partition::new(TopicPartition::new("t", 0), 1);
    let log = open_log(dir.path());
    let now = crate::controller::now_ms();
    assert_eq!(p.leader_epoch(), -1, "Kafka's initial epoch: 0 is newer");
    p.make_leader(state(1, 0, &[1, 2]), log.clone(), now)
        .unwrap();
    // The same LeaderAndIsr again (the controller re-sent it), and an older one.
    let stale = crate::server::errors::STALE_CONTROLLER_EPOCH;
    assert_eq!(
        p.make_leader(state(1, 0, &[1, 2]), log.clone(), now),
        Err(stale)
    );
    assert_eq!(
        p.make_follower(state(2, 0, &[1, 2]), log.clone()),
        Err(stale)
    );
    assert!(p.is_leader(), "a refused state changes nothing");
    assert_eq!(p.make_follower(state(2, 1, &[1, 2]), log.clone()), Ok(true));
    assert_eq!(p.make_leader(state(1, 1, &[1, 2]), log, now), Err(stale));
    assert!(!p.is_leader());
}

/// Brokers 1..=3 alive, as the metadata cache lists them.
fn alive(ids: &[i32]) -> std::collections::BTreeMap<i32, crate::cluster::Broker> {
    ids.iter()
        .map(|id| {
            let b = crate::cluster::Broker {
                id: *id,
                endpoints: Vec::new(),
                rack: None,
            };
            (*id, b)
        })
        .collect()
}

#[test]
fn delete_records_moves_the_log_start_and_waits_for_live_followers() {
    let dir = tempfile::tempdir().unwrap();
    let p = Partition::new(TopicPartition::new("t", 0), 1);
    let now = crate::controller::now_ms();
    p.make_leader(state(1, 0, &[1, 2, 3]), open_log(dir.path()), now)
        .unwrap();
    p.append_records_to_leader(&batch(10), 1).unwrap();
    assert_eq!(
        p.delete_records_on_leader(3),
        Err(errors::OFFSET_OUT_OF_RANGE),
        "above the high watermark (0: followers have nothing yet)"
    );
    p.update_follower_fetch_state(2, 10, 0, now, None);
    p.update_follower_fetch_state(3, 10, 0, now, None);
    assert_eq!(p.log().unwrap().high_watermark(), 10);
    assert_eq!(
        p.delete_records_on_leader(-2),
        Err(errors::OFFSET_OUT_OF_RANGE)
    );
    assert_eq!(
        p.delete_records_on_leader(11),
        Err(errors::OFFSET_OUT_OF_RANGE)
    );
    assert_eq!(p.delete_records_on_leader(4), Ok(4));
    assert_eq!(p.log().unwrap().log_start_offset(), 4);
    assert_eq!(p.delete_records_on_leader(2), Ok(2), "never moves back");
    assert_eq!(p.log().unwrap().log_start_offset(), 4);
    // Low watermark: the followers are still at 0 until their next fetch says otherwise.
    assert_eq!(p.low_watermark_if_leader(&alive(&[1, 2, 3])), Ok(0));
    p.update_follower_fetch_state(2, 10, 4, now, None);
    assert_eq!(p.low_watermark_if_leader(&alive(&[1, 2, 3])), Ok(0));
    assert_eq!(
        p.low_watermark_if_leader(&alive(&[1, 2])),
        Ok(4),
        "dead broker 3 ignored"
    );
    p.update_follower_fetch_state(3, 10, 4, now, None);
    assert_eq!(p.low_watermark_if_leader(&alive(&[1, 2, 3])), Ok(4));
    // -1: up to the high watermark.
    assert_eq!(p.delete_records_on_leader(super::HIGH_WATERMARK), Ok(10));
    // A follower refuses.
    let f = Partition::new(TopicPartition::new("t", 0), 2);
    let follower_dir = tempfile::tempdir().unwrap();
    f.make_follower(state(1, 0, &[1, 2, 3]), open_log(follower_dir.path()))
        .unwrap();
    assert_eq!(
        f.delete_records_on_leader(0),
        Err(errors::NOT_LEADER_OR_FOLLOWER)
    );
    assert_eq!(
        f.low_watermark_if_leader(&alive(&[1])),
        Err(errors::NOT_LEADER_OR_FOLLOWER)
    );
}

#[test]
fn delete_records_refused_on_compact_only_topics() {
    let dir = tempfile::tempdir().unwrap();
    let p = Partition::new(TopicPartition::new("t", 0), 1);
    let log = open_log(dir.path());
    let mut config = (*log.config()).clone();
    config.cleanup_policy.delete = false;
    config.cleanup_policy.compact = true;
    log.update_config(config);
    p.make_leader(state(1, 0, &[1]), log, crate::controller::now_ms())
        .unwrap();
    assert_eq!(p.delete_records_on_leader(0), Err(errors::POLICY_VIOLATION));
}

/// The isr-expiration task looks only at listed partitions: a leader is listed when it
/// becomes leader or appends, leaves the list once every ISR follower is at its log end,
/// and a follower that stops fetching after an append is still dropped from the ISR.
#[test]
fn isr_expiration_looks_only_at_partitions_with_a_follower_behind() {
    use super::isr::{expire_listed, ExpiryCandidates};
    let dir = tempfile::tempdir().unwrap();
    let list = Arc::new(ExpiryCandidates::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let p = Arc::new(
        Partition::with_isr_updates(TopicPartition::new("t", 0), 1, Some(tx), LAG_MS)
            .with_expiry_candidates(list.clone()),
    );
    let lookup = |_: &TopicPartition| Some(p.clone());
    let now = crate::controller::now_ms();
    p.make_leader(state(1, 0, &[1, 2, 3]), open_log(dir.path()), now)
        .unwrap();
    assert_eq!(list.len(), 1, "a new leader is listed");
    p.update_follower_fetch_state(2, 0, 0, now, None);
    p.update_follower_fetch_state(3, 0, 0, now, None);
    expire_listed(&list, lookup, now + 1);
    assert!(list.is_empty(), "every follower at the log end: idle");
    expire_listed(&list, lookup, now + 2 * LAG_MS);
    assert!(
        rx.try_recv().is_err(),
        "an idle partition is not even looked at"
    );

    p.append_records_to_leader(&batch(2), 1).unwrap();
    assert_eq!(list.len(), 1, "an append lists the partition");
    p.update_follower_fetch_state(2, 2, 0, now + 10, None);
    expire_listed(&list, lookup, now + 20);
    assert_eq!(list.len(), 1, "3 is behind: stays listed");
    assert!(rx.try_recv().is_err(), "3 is within the lag time");
    expire_listed(&list, lookup, now + LAG_MS + 1);
    let shrink = rx
        .try_recv()
        .expect("3 dropped after replica.lag.time.max.ms");
    assert_eq!(shrink.new_isr, vec![1, 2]);
    assert!(p.complete_isr_change(&shrink, Some(8)));
    expire_listed(&list, lookup, now + LAG_MS + 2);
    assert!(list.is_empty(), "the ISR [1,2] is at the log end");
}

#[test]
fn quiet_session_fetches_keep_caught_up_followers_in_sync() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let p = Partition::with_isr_updates(TopicPartition::new("t", 0), 1, None, LAG_MS);
    let t0 = crate::controller::now_ms() - 10 * LAG_MS;
    p.make_leader(state(1, 0, &[1, 2, 3]), open_log(dir.path()), t0)
        .unwrap();
    let clock = Arc::new(AtomicI64::new(t0));
    p.update_follower_fetch_state(2, 0, 0, t0, Some(&clock));
    p.update_follower_fetch_state(3, 0, 0, t0, Some(&clock));
    // Ten lag times of quiet fetches (fetch.rs): only the session clock moved.
    let now = t0 + 10 * LAG_MS;
    clock.store(now, Ordering::SeqCst);
    p.append_records_to_leader(&batch(2), 1).unwrap();
    assert!(
        p.maybe_shrink_isr(now + 100).is_none(),
        "caught up at every quiet fetch before the append"
    );
    let shrink = p.maybe_shrink_isr(now + LAG_MS + 1).expect("silent since");
    assert_eq!(shrink.new_isr, vec![1]);
}
