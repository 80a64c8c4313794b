//! FetchMetadata (clients' requests/FetchMetadata.java): the `session_id` and `session_epoch`
//! of a Fetch request (KIP-227 incremental fetch sessions), shared by the leader's session
//! cache and the replica fetcher's session handler.

/// No session: a sessionless request or response.
pub const INVALID_SESSION_ID: i32 = 0;
/// A full request that asks for a new session.
pub const INITIAL_EPOCH: i32 = 0;
/// A full request that wants no session (and closes the one named, if any).
pub const FINAL_EPOCH: i32 = -1;

/// The epoch after `epoch`: FINAL stays FINAL; it wraps to 1, never back to INITIAL.
pub fn next_epoch(epoch: i32) -> i32 {
    match epoch {
        e if e < 0 => FINAL_EPOCH,
        i32::MAX => 1,
        e => e + 1,
    }
}

/// Where a fetcher stands with one leader: the session and epoch its next request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchMetadata {
    pub session_id: i32,
    pub epoch: i32,
}

impl FetchMetadata {
    /// No session yet: the next request is full and asks for one.
    pub const INITIAL: FetchMetadata = FetchMetadata {
        session_id: INVALID_SESSION_ID,
        epoch: INITIAL_EPOCH,
    };

    /// A full request lists every partition; an incremental one only what changed.
    pub fn is_full(&self) -> bool {
        self.epoch == INITIAL_EPOCH || self.epoch == FINAL_EPOCH
    }

    /// The first incremental request of a session the leader just created.
    pub fn new_incremental(session_id: i32) -> FetchMetadata {
        FetchMetadata {
            session_id,
            epoch: next_epoch(INITIAL_EPOCH),
        }
    }

    pub fn next_incremental(&self) -> FetchMetadata {
        FetchMetadata {
            session_id: self.session_id,
            epoch: next_epoch(self.epoch),
        }
    }

    /// A full request that closes the current session and asks for a new one.
    pub fn next_close_existing(&self) -> FetchMetadata {
        FetchMetadata {
            session_id: self.session_id,
            epoch: INITIAL_EPOCH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_wrap_to_one_and_final_stays_final() {
        assert_eq!(next_epoch(INITIAL_EPOCH), 1);
        assert_eq!(next_epoch(41), 42);
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(FINAL_EPOCH), FINAL_EPOCH);
        assert!(FetchMetadata::INITIAL.is_full());
        assert!(!FetchMetadata::new_incremental(7).is_full());
        assert_eq!(
            FetchMetadata::new_incremental(7)
                .next_close_existing()
                .epoch,
            0
        );
    }
}
