//! Incremental fetch sessions on the leader (FetchSession.scala, KIP-227): FetchSessionCache
//! and FetchManager.newContext.
//!
//! A full fetch with epoch 0 opens a session caching each partition's request (offset, max
//! bytes, epochs) and what the last response said (high watermark, log start offset). Later
//! requests name the session and the next epoch and list only partitions that changed or
//! should be forgotten; the answer lists only partitions with records, a moved high watermark
//! or log start offset, an error or a diverging epoch. An idle follower then exchanges empty
//! requests and responses instead of thousands of partitions every `replica.fetch.wait.max.ms`,
//! and once an answer listed nothing, its session is quiet (`FetchContext::Quiet`) until
//! something changes: the leader reads none of it meanwhile.
//!
//! At most `max.incremental.fetch.session.cache.slots` sessions; when full, a new one may
//! evict a session unused for 2 minutes, or (followers' sessions are privileged) the least
//! valuable one as Kafka's tryEvict decides. A request without a session slot is answered
//! sessionless (session id 0), which every client accepts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use super::errors;
use super::fetch_response::{FetchedPartition, FetchedTopic};
use crate::log::TopicPartition;
use crate::network::fetch_metadata::{next_epoch, FetchMetadata, FINAL_EPOCH, INVALID_SESSION_ID};

/// KafkaServer.MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS: a session unused this long may be
/// evicted by anyone; a younger one only by a privileged session, and only if not privileged.
pub const EVICTION_MS: i64 = 120_000;

/// One partition of a fetch request (FetchRequest.PartitionData).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionData {
    pub fetch_offset: i64,
    /// The fetcher's own log start offset (followers).
    pub log_start_offset: i64,
    pub max_bytes: i32,
    pub current_leader_epoch: Option<i32>,
    pub last_fetched_epoch: Option<i32>,
}

/// A partition's request and what its last response said (CachedPartition).
#[derive(Debug)]
struct CachedPartition {
    req: PartitionData,
    high_watermark: i64,
    local_log_start_offset: i64,
    /// Scratch: listed in the response being committed.
    listed: bool,
}

impl CachedPartition {
    /// CachedPartition.maybeUpdateResponseData: whether the response must list it.
    fn must_respond(&self, r: &FetchedPartition) -> bool {
        r.records.length > 0
            || self.high_watermark != r.high_watermark
            || self.local_log_start_offset != r.log_start_offset
            || r.error_code != errors::NONE
            || r.diverging_epoch.is_some()
    }

    /// Remembers what was sent; after an error the high watermark is forgotten (-1) so the
    /// partition is listed again once the error is gone.
    fn update(&mut self, r: &FetchedPartition) {
        self.high_watermark = match r.error_code {
            errors::NONE => r.high_watermark,
            _ => -1,
        };
        self.local_log_start_offset = r.log_start_offset;
    }
}

#[derive(Debug)]
struct FetchSession {
    privileged: bool,
    /// In fetch order: partitions listed in a response move to the end, so that a response
    /// filled up to `max_bytes` by the first partitions does not starve the others.
    partitions: IndexMap<TopicPartition, CachedPartition>,
    creation_ms: i64,
    last_used_ms: i64,
    /// The epoch the next request must carry.
    epoch: i32,
    /// The change count (fetch.rs `change_count`) at which the last answer was read and listed
    /// nothing: while it is unchanged, no partition of the session can have anything to say.
    quiet_at: Option<u64>,
    /// When the session was last used: the follower states' `fetch_clock`.
    clock: Arc<AtomicI64>,
}

impl FetchSession {
    /// FetchSession.update: adds or updates the listed partitions, drops the forgotten ones.
    fn update(&mut self, data: Vec<(TopicPartition, PartitionData)>, to_forget: &[TopicPartition]) {
        for (tp, req) in data {
            match self.partitions.get_mut(&tp) {
                Some(cached) => cached.req = req,
                None => {
                    let cached = CachedPartition {
                        req,
                        high_watermark: -1,
                        local_log_start_offset: -1,
                        listed: false,
                    };
                    self.partitions.insert(tp, cached);
                }
            }
        }
        for tp in to_forget {
            self.partitions.shift_remove(tp);
        }
    }

    /// The (privileged, size, id) key sessions are evicted by, smallest first.
    fn evictable_key(&self, id: i32) -> (bool, usize, i32) {
        (self.privileged, self.partitions.len(), id)
    }
}

/// How a fetch request relates to the session cache (FetchContext).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchContext {
    /// A session error: the response carries `code` and no partitions.
    Error { code: i16, session_id: i32 },
    /// No session (epoch -1, or an incremental session emptied by its forgotten partitions).
    Sessionless,
    /// A full request that asks for a new session (epoch 0).
    Full { privileged: bool },
    /// An incremental request of a live session, whose epoch is now `epoch`.
    Incremental { session_id: i32, epoch: i32 },
    /// An incremental follower request changing nothing, of a session quiet since its last
    /// answer: nothing to read until something changes (fetch.rs `quiet_fetch`).
    Quiet { session_id: i32, epoch: i32 },
}

pub struct FetchSessionCache {
    max_entries: usize,
    eviction_ms: i64,
    sessions: Mutex<HashMap<i32, FetchSession>>,
}

impl FetchSessionCache {
    pub fn new(max_entries: usize, eviction_ms: i64) -> FetchSessionCache {
        FetchSessionCache {
            max_entries,
            eviction_ms,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// (sessions, cached partitions): NumIncrementalFetchSessions and
    /// NumIncrementalFetchPartitionsCached.
    pub fn sizes(&self) -> (usize, usize) {
        sizes(&self.sessions.lock().expect("fetch sessions"))
    }

    /// FetchManager.newContext: what kind of fetch this is, and the partitions to read (the
    /// request's own for a full fetch, the whole session's for an incremental one, none for
    /// a quiet one). `changes`: the change count now.
    pub fn new_context(
        &self,
        meta: FetchMetadata,
        data: Vec<(TopicPartition, PartitionData)>,
        to_forget: &[TopicPartition],
        follower: bool,
        now: i64,
        changes: u64,
    ) -> (FetchContext, Vec<(TopicPartition, PartitionData)>) {
        let mut sessions = self.sessions.lock().expect("fetch sessions");
        if meta.is_full() {
            // Any session named in a full request is closed.
            if meta.session_id != INVALID_SESSION_ID {
                sessions.remove(&meta.session_id);
                publish(&sessions);
            }
            let ctx = match meta.epoch {
                FINAL_EPOCH => FetchContext::Sessionless,
                _ => FetchContext::Full {
                    privileged: follower,
                },
            };
            return (ctx, data);
        }
        let Some(session) = sessions.get_mut(&meta.session_id) else {
            let code = errors::FETCH_SESSION_ID_NOT_FOUND;
            return (error(code, INVALID_SESSION_ID), Vec::new());
        };
        if session.epoch != meta.epoch {
            let code = errors::INVALID_FETCH_SESSION_EPOCH;
            return (error(code, INVALID_SESSION_ID), Vec::new());
        }
        let changed = !data.is_empty() || !to_forget.is_empty();
        session.last_used_ms = now;
        session.clock.store(now, Ordering::SeqCst);
        if follower && !changed && session.quiet_at == Some(changes) {
            session.epoch = next_epoch(session.epoch);
            let ctx = FetchContext::Quiet {
                session_id: meta.session_id,
                epoch: session.epoch,
            };
            return (ctx, Vec::new());
        }
        session.quiet_at = None;
        session.update(data, to_forget);
        if session.partitions.is_empty() {
            sessions.remove(&meta.session_id);
            publish(&sessions);
            return (FetchContext::Sessionless, Vec::new());
        }
        session.epoch = next_epoch(session.epoch);
        let all = session
            .partitions
            .iter()
            .map(|(tp, c)| (tp.clone(), c.req.clone()))
            .collect();
        let ctx = FetchContext::Incremental {
            session_id: meta.session_id,
            epoch: session.epoch,
        };
        if changed {
            publish(&sessions);
        }
        (ctx, all)
    }

    /// The partitions of a quiet fetch's session to read after all, once something changed
    /// while it waited: those of `Incremental { session_id, epoch }`; None if the session
    /// moved on meanwhile.
    pub fn wake_quiet(
        &self,
        session_id: i32,
        epoch: i32,
    ) -> Option<(FetchContext, Vec<(TopicPartition, PartitionData)>)> {
        let sessions = self.sessions.lock().expect("fetch sessions");
        let session = sessions.get(&session_id).filter(|s| s.epoch == epoch)?;
        let all = session
            .partitions
            .iter()
            .map(|(tp, c)| (tp.clone(), c.req.clone()))
            .collect();
        Some((FetchContext::Incremental { session_id, epoch }, all))
    }

    /// The clock of an incremental fetch's session (followers' `fetch_clock`).
    pub fn clock(&self, ctx: &FetchContext) -> Option<Arc<AtomicI64>> {
        let FetchContext::Incremental { session_id, .. } = *ctx else {
            return None;
        };
        let sessions = self.sessions.lock().expect("fetch sessions");
        sessions.get(&session_id).map(|s| s.clock.clone())
    }

    /// The answer to an incremental fetch listed nothing, read at change count `changes`
    /// (unchanged since): the next requests of the session that change nothing are quiet.
    pub fn mark_quiet(&self, ctx: &FetchContext, changes: u64) {
        let FetchContext::Incremental { session_id, epoch } = *ctx else {
            return;
        };
        let mut sessions = self.sessions.lock().expect("fetch sessions");
        if let Some(s) = sessions.get_mut(&session_id).filter(|s| s.epoch == epoch) {
            s.quiet_at = Some(changes);
        }
    }

    /// Which partitions the response lists (all but unchanged ones of an incremental fetch),
    /// or INVALID_FETCH_SESSION_EPOCH if another request of the session came in between.
    pub fn select<'a>(
        &self,
        ctx: &FetchContext,
        tps: impl Iterator<Item = &'a TopicPartition>,
        results: &[FetchedPartition],
    ) -> Result<Vec<bool>, i16> {
        let FetchContext::Incremental { session_id, epoch } = *ctx else {
            return Ok(vec![true; results.len()]);
        };
        let sessions = self.sessions.lock().expect("fetch sessions");
        let session = sessions
            .get(&session_id)
            .filter(|s| s.epoch == epoch)
            .ok_or(errors::INVALID_FETCH_SESSION_EPOCH)?;
        let mask = tps
            .zip(results)
            .map(|(tp, r)| session.partitions.get(tp).is_none_or(|c| c.must_respond(r)))
            .collect();
        Ok(mask)
    }

    /// FullFetchContext's session creation (maybeCreateSession): the new session's id, or 0
    /// when the cache is full and nothing may be evicted.
    pub fn create<'a>(
        &self,
        privileged: bool,
        data: impl Iterator<Item = (&'a TopicPartition, &'a PartitionData)>,
        results: &[FetchedPartition],
        now: i64,
    ) -> i32 {
        let mut sessions = self.sessions.lock().expect("fetch sessions");
        if sessions.len() >= self.max_entries
            && !self.try_evict(&mut sessions, privileged, results.len(), now)
        {
            return INVALID_SESSION_ID;
        }
        let partitions = data
            .zip(results)
            .map(|((tp, req), r)| {
                let cached = CachedPartition {
                    req: req.clone(),
                    high_watermark: r.high_watermark,
                    local_log_start_offset: r.log_start_offset,
                    listed: false,
                };
                (tp.clone(), cached)
            })
            .collect();
        let id = new_session_id(&sessions);
        let session = FetchSession {
            privileged,
            partitions,
            creation_ms: now,
            last_used_ms: now,
            epoch: next_epoch(0),
            quiet_at: None,
            clock: Arc::new(AtomicI64::new(now)),
        };
        sessions.insert(id, session);
        publish(&sessions);
        id
    }

    /// After an incremental response went out: remembers what its partitions said, and moves
    /// them to the end of the session's order.
    pub fn commit(&self, ctx: &FetchContext, listed: &[FetchedTopic]) {
        let FetchContext::Incremental { session_id, epoch } = *ctx else {
            return;
        };
        let mut sessions = self.sessions.lock().expect("fetch sessions");
        let Some(session) = sessions.get_mut(&session_id).filter(|s| s.epoch == epoch) else {
            return;
        };
        let mut any = false;
        for t in listed {
            for r in &t.partitions {
                let tp = TopicPartition::new(t.name.as_str(), r.index);
                if let Some(c) = session.partitions.get_mut(&tp) {
                    c.update(r);
                    c.listed = true;
                    any = true;
                }
            }
        }
        if any {
            // One stable sort instead of a removal per partition: unlisted first, in order.
            session
                .partitions
                .sort_by(|_, a, _, b| a.listed.cmp(&b.listed));
            session
                .partitions
                .values_mut()
                .for_each(|c| c.listed = false);
        }
    }

    pub fn remove(&self, session_id: i32) {
        let mut sessions = self.sessions.lock().expect("fetch sessions");
        sessions.remove(&session_id);
        publish(&sessions);
    }

    /// FetchSessionCache.tryEvict: the least recently used session if stale; otherwise the
    /// smallest evictable one, if the new session is worth more.
    fn try_evict(
        &self,
        sessions: &mut HashMap<i32, FetchSession>,
        privileged: bool,
        size: usize,
        now: i64,
    ) -> bool {
        let Some((&oldest, s)) = sessions.iter().min_by_key(|(id, s)| (s.last_used_ms, **id))
        else {
            return false;
        };
        if now - s.last_used_ms > self.eviction_ms {
            sessions.remove(&oldest);
            return true;
        }
        let mature = |s: &FetchSession| now - s.creation_ms > self.eviction_ms;
        let victim = sessions
            .iter()
            .filter(|(_, s)| mature(s) || (privileged && !s.privileged))
            .map(|(id, s)| s.evictable_key(*id))
            .min();
        match victim {
            Some(key) if (privileged, size, 0) >= key => {
                sessions.remove(&key.2);
                true
            }
            _ => false,
        }
    }
}

fn sizes(sessions: &HashMap<i32, FetchSession>) -> (usize, usize) {
    let partitions = sessions.values().map(|s| s.partitions.len()).sum();
    (sessions.len(), partitions)
}

/// The broker's gauges follow the cache (the test caches of unit tests share them; harmless).
fn publish(sessions: &HashMap<i32, FetchSession>) {
    let (n, partitions) = sizes(sessions);
    crate::metrics::METRICS.fetch_sessions.set(n as i64);
    crate::metrics::METRICS
        .fetch_session_partitions
        .set(partitions as i64);
}

fn error(code: i16, session_id: i32) -> FetchContext {
    FetchContext::Error { code, session_id }
}

/// A random positive id no live session has.
fn new_session_id(sessions: &HashMap<i32, FetchSession>) -> i32 {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    (0u64..)
        .map(|i| (state.hash_one(i) as u32 & i32::MAX as u32) as i32)
        .find(|id| *id != INVALID_SESSION_ID && !sessions.contains_key(id))
        .unwrap_or(1)
}

#[cfg(test)]
#[path = "fetch_session_tests.rs"]
mod tests;
