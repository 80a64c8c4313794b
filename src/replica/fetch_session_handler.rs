//! FetchSessionHandler (clients' FetchSessionHandler.java) for the replica fetcher: one per
//! leader connection. The first request is full (epoch 0) and asks the leader for a session;
//! once it has one, requests list only partitions added or whose fetch position changed, and
//! name those to forget. Session errors fall back to a full request, as Kafka does.

use std::collections::{HashMap, HashSet};

use kafka_protocol::messages::fetch_request::FetchPartition;

use crate::log::TopicPartition;
use crate::network::fetch_metadata::{FetchMetadata, INVALID_SESSION_ID};
use crate::server::errors;

/// What one Fetch request carries.
pub(super) struct FetchRequestData {
    pub(super) meta: FetchMetadata,
    /// Full: every partition; incremental: the added and altered ones.
    pub(super) to_send: Vec<(TopicPartition, FetchPartition)>,
    pub(super) to_forget: Vec<TopicPartition>,
}

pub(super) struct FetchSessionHandler {
    next: FetchMetadata,
    /// What the leader's session holds for each partition, as we last sent it.
    session: HashMap<TopicPartition, FetchPartition>,
}

impl FetchSessionHandler {
    pub(super) fn new() -> FetchSessionHandler {
        FetchSessionHandler {
            next: FetchMetadata::INITIAL,
            session: HashMap::new(),
        }
    }

    /// The request for `wanted` (every partition to fetch now, in order).
    pub(super) fn build(
        &mut self,
        wanted: Vec<(TopicPartition, FetchPartition)>,
    ) -> FetchRequestData {
        if self.next.is_full() {
            self.session = wanted.iter().cloned().collect();
            return FetchRequestData {
                meta: self.next,
                to_send: wanted,
                to_forget: Vec::new(),
            };
        }
        let names: HashSet<&TopicPartition> = wanted.iter().map(|(tp, _)| tp).collect();
        let mut to_forget: Vec<TopicPartition> = Vec::new();
        self.session.retain(|tp, _| {
            let keep = names.contains(tp);
            if !keep {
                to_forget.push(tp.clone());
            }
            keep
        });
        let mut to_send = Vec::new();
        for (tp, data) in wanted {
            if self.session.get(&tp) != Some(&data) {
                self.session.insert(tp.clone(), data.clone());
                to_send.push((tp, data));
            }
        }
        FetchRequestData {
            meta: self.next,
            to_send,
            to_forget,
        }
    }

    /// The request when nothing changed since the last `build`: an incremental one listing
    /// nothing; None while the next request must be full.
    pub(super) fn unchanged(&self) -> Option<FetchRequestData> {
        (!self.next.is_full() && !self.session.is_empty()).then(|| FetchRequestData {
            meta: self.next,
            to_send: Vec::new(),
            to_forget: Vec::new(),
        })
    }

    /// What the leader's session holds for `tp`: (current leader epoch, fetch offset, log
    /// start offset), as last sent.
    pub(super) fn sent(&self, tp: &TopicPartition) -> Option<(i32, i64, i64)> {
        self.session
            .get(tp)
            .map(|d| (d.current_leader_epoch, d.fetch_offset, d.log_start_offset))
    }

    /// Nothing to fetch and nothing to tell the leader.
    pub(super) fn is_idle(&self, d: &FetchRequestData) -> bool {
        self.session.is_empty() && d.to_send.is_empty() && d.to_forget.is_empty()
    }

    /// FetchSessionHandler.handleResponse: whether the response's partitions may be used.
    pub(super) fn handle_response<'a>(
        &mut self,
        error_code: i16,
        session_id: i32,
        mut listed: impl Iterator<Item = &'a TopicPartition>,
    ) -> bool {
        if error_code != errors::NONE {
            self.next = match error_code {
                errors::FETCH_SESSION_ID_NOT_FOUND => FetchMetadata::INITIAL,
                _ => self.next.next_close_existing(),
            };
            return false;
        }
        if !self.next.is_full() && !listed.all(|tp| self.session.contains_key(tp)) {
            // An incremental answer naming a partition outside the session: start over.
            self.next = self.next.next_close_existing();
            return false;
        }
        self.next = match (session_id, self.next.is_full()) {
            (INVALID_SESSION_ID, _) => FetchMetadata::INITIAL,
            (id, true) => FetchMetadata::new_incremental(id),
            (_, false) => self.next.next_incremental(),
        };
        true
    }

    /// A failed exchange (connection lost): the next request closes the session and opens a
    /// new one.
    pub(super) fn handle_error(&mut self) {
        self.next = self.next.next_close_existing();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(offsets: &[(i32, i64)]) -> Vec<(TopicPartition, FetchPartition)> {
        offsets
            .iter()
            .map(|&(p, o)| {
                let data = FetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(o);
                (TopicPartition::new("t", p), data)
            })
            .collect()
    }

    fn sent(d: &FetchRequestData) -> Vec<i32> {
        d.to_send.iter().map(|(tp, _)| tp.partition).collect()
    }

    #[test]
    fn sends_everything_once_then_only_changes() {
        let mut h = FetchSessionHandler::new();
        let d = h.build(want(&[(0, 5), (1, 5), (2, 5)]));
        assert_eq!((d.meta, sent(&d)), (FetchMetadata::INITIAL, vec![0, 1, 2]));
        assert!(h.handle_response(errors::NONE, 77, std::iter::empty()));
        let d = h.build(want(&[(0, 5), (1, 9), (2, 5)]));
        assert_eq!(
            d.meta,
            FetchMetadata {
                session_id: 77,
                epoch: 1
            }
        );
        assert_eq!(sent(&d), vec![1]);
        let tp1 = TopicPartition::new("t", 1);
        assert!(h.handle_response(errors::NONE, 77, [&tp1].into_iter()));
        let d = h.build(want(&[(1, 9), (2, 5)]));
        assert_eq!(d.meta.epoch, 2);
        assert!(sent(&d).is_empty());
        assert_eq!(d.to_forget, vec![TopicPartition::new("t", 0)]);
    }

    #[test]
    fn session_errors_fall_back_to_full_requests() {
        let mut h = FetchSessionHandler::new();
        h.build(want(&[(0, 5)]));
        assert!(h.handle_response(errors::NONE, 77, std::iter::empty()));
        h.build(want(&[(0, 5)]));
        assert!(!h.handle_response(errors::INVALID_FETCH_SESSION_EPOCH, 0, std::iter::empty()));
        let d = h.build(want(&[(0, 5)]));
        assert_eq!(
            d.meta,
            FetchMetadata {
                session_id: 77,
                epoch: 0
            }
        );
        assert_eq!(sent(&d), vec![0], "a full request closing session 77");
        assert!(!h.handle_response(errors::FETCH_SESSION_ID_NOT_FOUND, 0, std::iter::empty()));
        assert_eq!(h.build(want(&[(0, 5)])).meta, FetchMetadata::INITIAL);
        // A leader without room answers sessionless: keep asking with full requests.
        assert!(h.handle_response(errors::NONE, 0, std::iter::empty()));
        assert_eq!(h.build(want(&[(0, 5)])).meta, FetchMetadata::INITIAL);
    }
}
