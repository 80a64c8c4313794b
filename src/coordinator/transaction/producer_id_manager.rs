//! ProducerIdManager (ProducerIdManager.scala): every broker claims a block of 1000 producer
//! ids from `/latest_producer_id_block` at startup and hands them out one by one; when the
//! block is used up it claims the next one. Claims are conditional writes on the znode's
//! version, so two brokers never own the same block; the ids of a block left unused at
//! shutdown are lost, as in Kafka.

use std::time::Duration;

use tokio::sync::Mutex;

use crate::zk::client::{KafkaZkClient, ZkError};
use crate::zk::codec::{DecodeError, ProducerIdBlock};
use crate::zk::paths::PRODUCER_ID_BLOCK;
use crate::zk::producer_id::BlockWrite;

/// Ids per block (ProducerIdManager.scala `PidBlockSize`).
pub const PID_BLOCK_SIZE: i64 = 1000;

/// Why no producer id could be handed out.
#[derive(Debug)]
pub enum ProducerIdError {
    Zk(ZkError),
    /// The znode holds something that is not a version-1 block.
    Corrupt(DecodeError),
    /// The last claimed block ends too close to `i64::MAX` for another one.
    Exhausted(i64),
}

impl std::fmt::Display for ProducerIdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProducerIdError::Zk(e) => write!(f, "{e}"),
            ProducerIdError::Corrupt(e) => write!(f, "{e}"),
            ProducerIdError::Exhausted(end) => write!(
                f,
                "producer ids are exhausted: the last block in {PRODUCER_ID_BLOCK} ends at {end}"
            ),
        }
    }
}

impl std::error::Error for ProducerIdError {}

impl From<ZkError> for ProducerIdError {
    fn from(e: ZkError) -> Self {
        ProducerIdError::Zk(e)
    }
}

impl From<DecodeError> for ProducerIdError {
    fn from(e: DecodeError) -> Self {
        ProducerIdError::Corrupt(e)
    }
}

/// The block this broker owns and the next id to hand out from it.
#[derive(Debug, Clone, Copy)]
struct Current {
    next: i64,
    end: i64,
}

pub struct ProducerIdManager {
    broker_id: i32,
    zk: KafkaZkClient,
    current: Mutex<Current>,
}

impl ProducerIdManager {
    /// Claims this broker's first block (Kafka does this while starting the transaction
    /// coordinator, whether or not the broker ever serves InitProducerId).
    pub async fn start(broker_id: i32, zk: KafkaZkClient) -> Result<Self, ProducerIdError> {
        let block = claim_next_block(&zk, broker_id).await?;
        Ok(ProducerIdManager {
            broker_id,
            zk,
            current: Mutex::new(Current {
                next: block.block_start,
                end: block.block_end,
            }),
        })
    }

    /// The next unused producer id, claiming a new block when this one is used up.
    pub async fn generate_producer_id(&self) -> Result<i64, ProducerIdError> {
        let mut current = self.current.lock().await;
        if current.next > current.end {
            let block = claim_next_block(&self.zk, self.broker_id).await?;
            *current = Current {
                next: block.block_start,
                end: block.block_end,
            };
        }
        let id = current.next;
        current.next += 1;
        Ok(id)
    }
}

/// The block after `last` (the first block `[0, 999]` when nothing was claimed yet).
pub fn next_block(
    last: Option<&ProducerIdBlock>,
    broker_id: i32,
) -> Result<ProducerIdBlock, ProducerIdError> {
    let start = match last {
        None => 0,
        Some(b) if b.block_end > i64::MAX - PID_BLOCK_SIZE => {
            return Err(ProducerIdError::Exhausted(b.block_end))
        }
        Some(b) => b.block_end + 1,
    };
    Ok(ProducerIdBlock {
        broker_id,
        block_start: start,
        block_end: start + PID_BLOCK_SIZE - 1,
    })
}

/// Read, compute the next block, write it conditionally on the version read; on a conflict
/// re-read, and accept the stored block if it is ours (a write whose answer was lost).
async fn claim_next_block(
    zk: &KafkaZkClient,
    broker_id: i32,
) -> Result<ProducerIdBlock, ProducerIdError> {
    loop {
        let stored = zk.get_producer_id_block().await?;
        let (last, version) = match &stored {
            None => (None, None),
            // An empty znode (created by an older zkafka) counts as "no block claimed yet".
            Some((data, v)) if data.is_empty() => (None, Some(*v)),
            Some((data, v)) => (
                Some(ProducerIdBlock::decode(PRODUCER_ID_BLOCK, data)?),
                Some(*v),
            ),
        };
        let block = next_block(last.as_ref(), broker_id)?;
        let data = block.encode();
        match zk.write_producer_id_block(data.as_bytes(), version).await? {
            BlockWrite::Written => return Ok(announce(block)),
            BlockWrite::Unknown => {
                if let Some((data, _)) = zk.get_producer_id_block().await? {
                    if ProducerIdBlock::decode(PRODUCER_ID_BLOCK, &data).ok() == Some(block) {
                        return Ok(announce(block));
                    }
                }
                tracing::debug!(target: "kafka.coordinator.transaction.ProducerIdManager",
                    "[ProducerId Manager {broker_id}]: lost the race for producer id block [{}, {}]; retrying",
                    block.block_start, block.block_end);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn announce(block: ProducerIdBlock) -> ProducerIdBlock {
    tracing::info!(target: "kafka.coordinator.transaction.ProducerIdManager",
        "[ProducerId Manager {}]: Acquired new producerId block (brokerId:{},blockStartProducerId:{},blockEndProducerId:{}) by writing to Zk with path version",
        block.broker_id, block.broker_id, block.block_start, block.block_end);
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_each_other_by_a_thousand() {
        let first = next_block(None, 1).unwrap();
        assert_eq!((first.block_start, first.block_end), (0, 999));
        let second = next_block(Some(&first), 2).unwrap();
        assert_eq!(
            (second.broker_id, second.block_start, second.block_end),
            (2, 1000, 1999)
        );
    }

    #[test]
    fn refuses_to_overflow() {
        let last = ProducerIdBlock {
            broker_id: 1,
            block_start: i64::MAX - 1500,
            block_end: i64::MAX - 500,
        };
        assert!(matches!(
            next_block(Some(&last), 1),
            Err(ProducerIdError::Exhausted(_))
        ));
    }
}
