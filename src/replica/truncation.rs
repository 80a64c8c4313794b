//! Follower truncation before fetching from a (new) leader, KIP-101 with KIP-279's loop
//! (AbstractFetcherThread.getOffsetTruncationState; replication-and-storage.md §9.10).
//! Pure decision logic: given the leader's OffsetsForLeaderEpoch answer and the follower's
//! own epoch cache, where to truncate and whether to ask again.

/// Sentinels of the OffsetsForLeaderEpoch answer.
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// Where to truncate, and whether the follower may start fetching afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncationDecision {
    pub offset: i64,
    /// False: the leader answered with an epoch this follower does not know; truncate to the
    /// end of our largest smaller epoch and ask again with our (new) latest epoch (KIP-279).
    pub completed: bool,
    pub why: String,
}

/// Decides the truncation offset.
/// * `leader_epoch`, `leader_end_offset`: the leader's answer for our latest epoch;
/// * `local_end_for`: our own `(epoch, end offset)` for an epoch (epoch cache lookup);
/// * `high_watermark`, `log_end_offset`: our HW (the fallback) and LEO.
pub fn decide(
    leader_epoch: i32,
    leader_end_offset: i64,
    local_end_for: impl Fn(i32) -> (i32, i64),
    high_watermark: i64,
    log_end_offset: i64,
) -> TruncationDecision {
    if leader_end_offset == UNDEFINED_EPOCH_OFFSET {
        return TruncationDecision {
            offset: high_watermark.min(log_end_offset),
            completed: true,
            why: "the leader has no end offset for our latest epoch; falling back to the high watermark".into(),
        };
    }
    if leader_epoch == UNDEFINED_EPOCH {
        return TruncationDecision {
            offset: leader_end_offset.min(log_end_offset),
            completed: true,
            why: format!("the leader returned end offset {leader_end_offset} without an epoch"),
        };
    }
    let (local_epoch, local_end) = local_end_for(leader_epoch);
    if local_end == UNDEFINED_EPOCH_OFFSET {
        // We did not track epochs that far back: trust the leader's end offset.
        return TruncationDecision {
            offset: leader_end_offset.min(log_end_offset),
            completed: true,
            why: format!(
                "leader's epoch {leader_epoch} ends at {leader_end_offset}; no local epoch at or below it"
            ),
        };
    }
    if local_epoch != leader_epoch {
        return TruncationDecision {
            offset: local_end.min(log_end_offset),
            completed: false,
            why: format!(
                "leader's latest epoch at or below ours is {leader_epoch}, which we do not have; truncating to the end {local_end} of our epoch {local_epoch} and asking again"
            ),
        };
    }
    TruncationDecision {
        offset: local_end.min(leader_end_offset).min(log_end_offset),
        completed: true,
        why: format!(
            "leader's epoch {leader_epoch} ends at {leader_end_offset}, ours at {local_end}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower epoch cache as (epoch, start offset) entries, with end offsets per the
    /// OffsetsForLeaderEpoch table.
    fn cache(entries: &'static [(i32, i64)], leo: i64) -> impl Fn(i32) -> (i32, i64) {
        move |e| {
            if entries.last().is_some_and(|l| l.0 == e) {
                return (e, leo);
            }
            let Some(higher) = entries.iter().find(|x| x.0 > e) else {
                return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
            };
            match entries.iter().rev().find(|x| x.0 <= e) {
                None => (e, higher.1),
                Some(f) => (f.0, higher.1),
            }
        }
    }

    #[test]
    fn same_epoch_truncates_to_the_smaller_end() {
        // Follower: epoch 1 from 0, epoch 2 from 10, LEO 20. Leader: epoch 2 ends at 15.
        let d = decide(2, 15, cache(&[(1, 0), (2, 10)], 20), 12, 20);
        assert_eq!((d.offset, d.completed), (15, true));
        // Leader has more: nothing to truncate beyond our LEO.
        let d = decide(2, 30, cache(&[(1, 0), (2, 10)], 20), 12, 20);
        assert_eq!((d.offset, d.completed), (20, true));
    }

    #[test]
    fn unknown_leader_epoch_iterates_kip_279() {
        // Follower has epochs 1 and 3; the leader answers epoch 2 ending at 14.
        let d = decide(2, 14, cache(&[(1, 0), (3, 10)], 20), 5, 20);
        assert_eq!((d.offset, d.completed), (10, false));
        // After truncating to 10 our latest epoch is 1; the leader says epoch 1 ends at 8.
        let d = decide(1, 8, cache(&[(1, 0)], 10), 5, 10);
        assert_eq!((d.offset, d.completed), (8, true));
    }

    #[test]
    fn fallbacks() {
        let d = decide(
            UNDEFINED_EPOCH,
            UNDEFINED_EPOCH_OFFSET,
            cache(&[(1, 0)], 9),
            4,
            9,
        );
        assert_eq!((d.offset, d.completed), (4, true), "no epoch info: HW");
        let d = decide(UNDEFINED_EPOCH, 6, cache(&[(1, 0)], 9), 4, 9);
        assert_eq!((d.offset, d.completed), (6, true), "v0 answer");
        let d = decide(0, 3, cache(&[(2, 5)], 9), 4, 9);
        assert_eq!((d.offset, d.completed), (3, true), "below our first epoch");
    }
}
