//! FetchSessionCache: sessions opened by full fetches, incremental answers listing only what
//! changed, epochs, forgetting, and eviction.

use super::*;
use crate::log::FileSlice;

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

fn data(offset: i64) -> PartitionData {
    PartitionData {
        fetch_offset: offset,
        log_start_offset: 0,
        max_bytes: 1 << 20,
        current_leader_epoch: Some(0),
        last_fetched_epoch: None,
    }
}

fn result(p: i32, hw: i64) -> FetchedPartition {
    FetchedPartition {
        index: p,
        error_code: errors::NONE,
        high_watermark: hw,
        last_stable_offset: hw,
        log_start_offset: 0,
        diverging_epoch: None,
        aborted_transactions: None,
        records: FileSlice::empty(),
    }
}

fn meta(session_id: i32, epoch: i32) -> FetchMetadata {
    FetchMetadata { session_id, epoch }
}

/// A follower session over partitions 0..n, all at offset 5 with high watermark 5.
fn open(cache: &FetchSessionCache, n: i32, now: i64) -> i32 {
    let req: Vec<_> = (0..n).map(|p| (tp(p), data(5))).collect();
    let (ctx, req) = cache.new_context(FetchMetadata::INITIAL, req, &[], true, now, 0);
    assert_eq!(ctx, FetchContext::Full { privileged: true });
    let results: Vec<_> = (0..n).map(|p| result(p, 5)).collect();
    cache.create(true, req.iter().map(|(t, d)| (t, d)), &results, now)
}

#[test]
fn incremental_fetches_read_the_whole_session_and_list_only_changes() {
    let cache = FetchSessionCache::new(10, EVICTION_MS);
    let id = open(&cache, 3, 0);
    assert_ne!(id, INVALID_SESSION_ID);
    // Nothing listed: all three are read, none changed.
    let (ctx, all) = cache.new_context(meta(id, 1), Vec::new(), &[], true, 1, 0);
    assert_eq!(
        ctx,
        FetchContext::Incremental {
            session_id: id,
            epoch: 2
        }
    );
    assert_eq!(all.len(), 3);
    let same: Vec<_> = (0..3).map(|p| result(p, 5)).collect();
    let mask = cache
        .select(&ctx, all.iter().map(|(t, _)| t), &same)
        .unwrap();
    assert_eq!(mask, vec![false, false, false]);
    // Partition 1's high watermark moves: only it is listed, then it goes last.
    let (ctx, all) = cache.new_context(meta(id, 2), vec![(tp(1), data(9))], &[], true, 2, 0);
    assert_eq!(
        all[1].1.fetch_offset, 9,
        "the listed partition's request is updated"
    );
    let moved = vec![result(0, 5), result(1, 9), result(2, 5)];
    let mask = cache
        .select(&ctx, all.iter().map(|(t, _)| t), &moved)
        .unwrap();
    assert_eq!(mask, vec![false, true, false]);
    let listed = vec![FetchedTopic {
        name: "t".into(),
        partitions: vec![result(1, 9)],
    }];
    cache.commit(&ctx, &listed);
    let (_, all) = cache.new_context(meta(id, 3), Vec::new(), &[tp(0)], true, 3, 0);
    let order: Vec<_> = all.iter().map(|(t, _)| t.partition).collect();
    assert_eq!(
        order,
        vec![2, 1],
        "partition 0 forgotten, 1 moved to the end"
    );
    assert_eq!(cache.sizes(), (1, 2));
}

#[test]
fn wrong_epochs_and_unknown_sessions_are_errors() {
    let cache = FetchSessionCache::new(10, EVICTION_MS);
    let id = open(&cache, 2, 0);
    let (ctx, _) = cache.new_context(meta(id, 7), Vec::new(), &[], true, 1, 0);
    assert!(matches!(
        ctx,
        FetchContext::Error {
            code: errors::INVALID_FETCH_SESSION_EPOCH,
            ..
        }
    ));
    let (ctx, _) = cache.new_context(meta(id + 1, 1), Vec::new(), &[], true, 1, 0);
    assert!(matches!(
        ctx,
        FetchContext::Error {
            code: errors::FETCH_SESSION_ID_NOT_FOUND,
            ..
        }
    ));
    // A full request naming the session closes it; epoch -1 opens none.
    let (ctx, _) = cache.new_context(meta(id, FINAL_EPOCH), Vec::new(), &[], true, 1, 0);
    assert_eq!(ctx, FetchContext::Sessionless);
    assert_eq!(cache.sizes(), (0, 0));
}

#[test]
fn forgetting_every_partition_closes_the_session() {
    let cache = FetchSessionCache::new(10, EVICTION_MS);
    let id = open(&cache, 2, 0);
    let (ctx, all) = cache.new_context(meta(id, 1), Vec::new(), &[tp(0), tp(1)], true, 1, 0);
    assert_eq!((ctx, all.len()), (FetchContext::Sessionless, 0));
    assert_eq!(cache.sizes().0, 0);
}

#[test]
fn a_full_cache_evicts_stale_then_less_valuable_sessions() {
    let cache = FetchSessionCache::new(1, EVICTION_MS);
    let consumer: Vec<_> = (0..3).map(|p| (tp(p), data(0))).collect();
    let results: Vec<_> = (0..3).map(|p| result(p, 5)).collect();
    let first = cache.create(false, consumer.iter().map(|(t, d)| (t, d)), &results, 0);
    assert_ne!(first, INVALID_SESSION_ID);
    // A young consumer session is safe from another consumer...
    let second = cache.create(false, consumer.iter().map(|(t, d)| (t, d)), &results, 10);
    assert_eq!(second, INVALID_SESSION_ID);
    // ...but not from a follower (privileged).
    let follower = open(&cache, 1, 20);
    assert_ne!(follower, INVALID_SESSION_ID);
    assert_eq!(cache.sizes(), (1, 1));
    // Unused for longer than the eviction time, anyone may take its slot.
    let late = EVICTION_MS + 100;
    let third = cache.create(false, consumer.iter().map(|(t, d)| (t, d)), &results, late);
    assert_ne!(third, INVALID_SESSION_ID);
    assert_eq!(cache.sizes(), (1, 3));
}

#[test]
fn a_session_answered_with_nothing_stays_quiet_until_a_change() {
    let cache = FetchSessionCache::new(10, EVICTION_MS);
    let id = open(&cache, 3, 0);
    let (ctx, all) = cache.new_context(meta(id, 1), Vec::new(), &[], true, 1, 7);
    assert_eq!(all.len(), 3, "not quiet before an answer listed nothing");
    cache.mark_quiet(&ctx, 7);
    let (ctx, all) = cache.new_context(meta(id, 2), Vec::new(), &[], true, 2, 7);
    assert_eq!(
        (ctx, all.len()),
        (
            FetchContext::Quiet {
                session_id: id,
                epoch: 3
            },
            0
        )
    );
    assert_eq!(
        cache
            .clock(&FetchContext::Incremental {
                session_id: id,
                epoch: 3
            })
            .map(|c| c.load(Ordering::SeqCst)),
        Some(2),
        "a quiet fetch still counts as the follower's fetch"
    );
    // Woken by a change while waiting: the whole session is read after all.
    let (woken, all) = cache.wake_quiet(id, 3).expect("session unchanged");
    assert_eq!(
        (woken, all.len()),
        (
            FetchContext::Incremental {
                session_id: id,
                epoch: 3
            },
            3
        )
    );
    // Another change count, or a request changing something, reads the session again.
    let (ctx, all) = cache.new_context(meta(id, 3), Vec::new(), &[], true, 3, 8);
    assert!(matches!(ctx, FetchContext::Incremental { .. }) && all.len() == 3);
    cache.mark_quiet(&ctx, 8);
    let (ctx, all) = cache.new_context(meta(id, 4), vec![(tp(1), data(6))], &[], true, 4, 8);
    assert!(matches!(ctx, FetchContext::Incremental { .. }) && all.len() == 3);
    let (ctx, _) = cache.new_context(meta(id, 5), Vec::new(), &[], true, 5, 8);
    assert!(
        matches!(ctx, FetchContext::Incremental { .. }),
        "quiet again only after an answer says so"
    );
    // Consumers' sessions are never quiet.
    cache.mark_quiet(&ctx, 8);
    let (ctx, _) = cache.new_context(meta(id, 6), Vec::new(), &[], false, 6, 8);
    assert!(matches!(ctx, FetchContext::Incremental { .. }));
}
