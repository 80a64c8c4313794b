//! WriteTxnMarkers on a partition leader (KafkaApis.handleWriteTxnMarkersRequest): one
//! control batch per partition (COMMIT or ABORT, with the coordinator epoch), appended as
//! the coordinator with acks=all.

use std::time::Duration;

use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use crate::controller::now_ms;
use crate::coordinator::GROUP_METADATA_TOPIC_NAME;
use crate::log::batch::end_transaction_marker_batch;
use crate::log::{AppendOrigin, TopicPartition};
use crate::server::apis::KafkaApis;
use crate::server::errors;

impl KafkaApis {
    pub async fn handle_write_txn_markers(
        &self,
        req: &WriteTxnMarkersRequest,
    ) -> WriteTxnMarkersResponse {
        let timeout = Duration::from_millis(self.config.int("request.timeout.ms").max(1) as u64);
        let mut markers = Vec::new();
        for m in &req.markers {
            let batch = end_transaction_marker_batch(
                m.producer_id.0,
                m.producer_epoch,
                m.transaction_result,
                m.coordinator_epoch,
                now_ms(),
            );
            let mut topics = Vec::new();
            for t in &m.topics {
                // The partitions' appends wait for their ISRs together.
                let appends = t.partition_indexes.iter().map(|&p| {
                    let tp = TopicPartition::new(t.name.0.as_str(), p);
                    let batch = &batch;
                    async move {
                        let appended = self
                            .replica_manager
                            .append_and_wait_for_isr(&tp, batch, AppendOrigin::Coordinator, timeout)
                            .await;
                        (tp, appended.map_or_else(|code| code, |_| errors::NONE))
                    }
                });
                let mut partitions = Vec::new();
                for (tp, code) in futures::future::join_all(appends).await {
                    if code == errors::NONE && tp.topic == GROUP_METADATA_TOPIC_NAME {
                        self.group_coordinator.complete_pending_txn_offsets(
                            tp.partition,
                            m.producer_id.0,
                            m.transaction_result,
                        );
                    }
                    partitions.push(
                        WritableTxnMarkerPartitionResult::default()
                            .with_partition_index(tp.partition)
                            .with_error_code(code),
                    );
                }
                topics.push(
                    WritableTxnMarkerTopicResult::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions),
                );
            }
            markers.push(
                WritableTxnMarkerResult::default()
                    .with_producer_id(m.producer_id)
                    .with_topics(topics),
            );
        }
        WriteTxnMarkersResponse::default().with_markers(markers)
    }
}
