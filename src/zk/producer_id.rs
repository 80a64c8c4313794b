//! `/latest_producer_id_block` reads and conditional writes, as ProducerIdManager.scala uses
//! KafkaZkClient (`getDataAndVersion`, `conditionalUpdatePath`).

use zookeeper_client as zkc;

use super::client::{KafkaZkClient, ZkError, ZkResult, OPEN};
use super::paths::PRODUCER_ID_BLOCK;

/// What a conditional write of the block znode did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockWrite {
    Written,
    /// Another broker wrote first (bad version / node exists), or the answer was lost with
    /// the connection: the caller re-reads and checks whether the stored block is its own.
    Unknown,
}

impl KafkaZkClient {
    /// The block znode's data and zkVersion, `None` when the znode does not exist.
    pub async fn get_producer_id_block(&self) -> ZkResult<Option<(Vec<u8>, i32)>> {
        Ok(self
            .get_data(PRODUCER_ID_BLOCK)
            .await?
            .map(|(data, stat)| (data, stat.version)))
    }

    /// Writes `data` if the znode is still at `expected_version`, or creates it when
    /// `expected_version` is `None` (so it never exists with empty data).
    pub async fn write_producer_id_block(
        &self,
        data: &[u8],
        expected_version: Option<i32>,
    ) -> ZkResult<BlockWrite> {
        let client = self.client().await?;
        let result = match expected_version {
            Some(v) => {
                let set = || client.set_data(PRODUCER_ID_BLOCK, data, Some(v));
                self.in_flight(set).await.map(|_| ())
            }
            None => {
                let create = || client.create(PRODUCER_ID_BLOCK, data, &OPEN);
                self.in_flight(create).await.map(|_| ())
            }
        };
        match result {
            Ok(()) => Ok(BlockWrite::Written),
            Err(zkc::Error::BadVersion | zkc::Error::NodeExists | zkc::Error::NoNode) => {
                Ok(BlockWrite::Unknown)
            }
            Err(e) => {
                let e = ZkError::op(PRODUCER_ID_BLOCK, e);
                if e.is_connection_loss() {
                    Ok(BlockWrite::Unknown)
                } else {
                    Err(e)
                }
            }
        }
    }
}
