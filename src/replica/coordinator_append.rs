//! The coordinators' own leader appends (ReplicaManager.appendRecords with origin
//! Coordinator and acks=-1): append one batch, then wait until the ISR has it.

use std::time::Duration;

use super::purgatory::wait_until_complete;
use super::ReplicaManager;
use crate::log::{AppendOrigin, LogAppendInfo, TopicPartition};
use crate::server::errors;

impl ReplicaManager {
    /// Appends `batch` to our leader replica of `tp` as `origin` and waits up to `timeout`
    /// for the in-sync replicas; errors are the raw produce error codes.
    pub async fn append_and_wait_for_isr(
        &self,
        tp: &TopicPartition,
        batch: &[u8],
        origin: AppendOrigin,
        timeout: Duration,
    ) -> Result<LogAppendInfo, i16> {
        let leader = self.leader_partition(tp)?;
        let info = leader.append_records_to_leader_with_origin(batch, -1, origin)?;
        self.complete_delayed_requests(tp);
        let required = info.last_offset + 1;
        let waker = self.produce_purgatory.watch([tp]);
        wait_until_complete(
            &waker,
            timeout,
            || leader.check_enough_replicas_reached(required),
            || Err(errors::REQUEST_TIMED_OUT),
        )
        .await?;
        Ok(info)
    }
}
