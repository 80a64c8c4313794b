//! The idempotent producer: InitProducerId and `/latest_producer_id_block`, the partition
//! leader's duplicate / out-of-order / fenced-epoch answers over raw Produce requests, the
//! producer state surviving clean and kill -9 restarts (`.snapshot` + replay), and real
//! clients with idempotence on producing to an RF=3 topic.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::data_util::*;
use common::*;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{InitProducerIdRequest, ProduceRequest, TransactionalId};
use kafka_protocol::protocol::StrBytes;
use zkafka::log::batch::{
    build_batch, compute_crc, BASE_SEQUENCE_OFFSET, CRC_OFFSET, PRODUCER_EPOCH_OFFSET,
    PRODUCER_ID_OFFSET,
};
use zkafka::network::client::BrokerClient;

/// An idempotent batch of `n` records with values `v<seq+i>`.
fn idempotent_batch(pid: i64, epoch: i16, seq: i32, n: usize) -> Bytes {
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("v{}", seq as usize + i).into_bytes())
        .collect();
    let recs: Vec<_> = values
        .iter()
        .map(|v| (1_700_000_000_000i64, None, Some(&v[..]), &[][..]))
        .collect();
    let mut b = build_batch(0, -1, &recs);
    b[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8].copy_from_slice(&pid.to_be_bytes());
    b[PRODUCER_EPOCH_OFFSET..PRODUCER_EPOCH_OFFSET + 2].copy_from_slice(&epoch.to_be_bytes());
    b[BASE_SEQUENCE_OFFSET..BASE_SEQUENCE_OFFSET + 4].copy_from_slice(&seq.to_be_bytes());
    let crc = compute_crc(&b);
    b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

/// Produce v8, acks=all, partition 0: (error code, base offset).
async fn produce(c: &mut BrokerClient, topic: &str, records: Bytes) -> (i16, i64) {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let r = c.send(&req, 8).await.expect("Produce");
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Produce after a restart: retries (on fresh connections) while the partition has no
/// leader yet (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION).
async fn produce_when_led(broker: &Broker, topic: &str, records: Bytes) -> (i16, i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut c) = BrokerClient::connect(
            &broker.bootstrap(),
            "idempotence-test",
            Duration::from_secs(5),
            Duration::from_secs(30),
        )
        .await
        {
            let r = produce(&mut c, topic, records.clone()).await;
            if !matches!(r.0, 3 | 5 | 6) || Instant::now() > deadline {
                return r;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no leader for {topic} after restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn init_producer_id(
    c: &mut BrokerClient,
    txn_id: Option<&str>,
    expected: (i64, i16),
    version: i16,
) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(txn_id.map(|t| TransactionalId(StrBytes::from_string(t.into()))))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(expected.0.into())
        .with_producer_epoch(expected.1);
    let r = c.send(&req, version).await.expect("InitProducerId");
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

async fn producer_id_block(connect: &str) -> serde_json::Value {
    let zk = zk_client(connect).await;
    let (data, _) = zk
        .get_data("/latest_producer_id_block")
        .await
        .expect("/latest_producer_id_block exists");
    serde_json::from_slice(&data).expect("the block znode holds JSON, never empty data")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_producer_id_hands_out_ids_from_the_claimed_block() {
    let (zk, broker) = single_broker(&[]);
    let mut c = client(&broker).await;
    let block = producer_id_block(&zk.connect_string()).await;
    assert_eq!(
        block,
        serde_json::json!({"version":1,"broker":1,"block_start":"0","block_end":"999"}),
        "the broker claimed the first block at startup, in Kafka's format"
    );
    let mut ids = Vec::new();
    for v in 0..=4 {
        let (err, pid, epoch) = init_producer_id(&mut c, None, (-1, -1), v).await;
        assert_eq!((err, epoch), (0, 0), "InitProducerId v{v}");
        ids.push(pid);
    }
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "sequential ids {ids:?}"
    );
    assert!(
        ids.iter().all(|id| (0..=999).contains(id)),
        "ids from the block {ids:?}"
    );
    // KIP-360 fields must come as a pair.
    let (err, pid, _) = init_producer_id(&mut c, None, (5, -1), 4).await;
    assert_eq!((err, pid), (42, -1), "INVALID_REQUEST with no producer id");
    // Transactional ids wait for the transaction coordinator.
    let (err, pid, epoch) = init_producer_id(&mut c, Some("txn-a"), (-1, -1), 4).await;
    assert_eq!((err, pid, epoch), (15, -1, -1), "COORDINATOR_NOT_AVAILABLE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_answers_duplicates_gaps_and_old_epochs_as_kafka_2_8() {
    let (zk, mut broker) = single_broker(&[]);
    let topic = "idem";
    create_topic(
        &zk.connect_string(),
        &broker.bootstrap(),
        topic,
        1,
        &[1],
        &[],
    )
    .await;
    let mut c = client(&broker).await;
    let (_, pid, _) = init_producer_id(&mut c, None, (-1, -1), 4).await;

    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 0, 0, 3)).await,
        (0, 0)
    );
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 0, 3, 2)).await,
        (0, 3)
    );
    // A retried batch: NONE with its original offset, nothing written.
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 0, 0, 3)).await,
        (0, 0)
    );
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 0, 3, 2)).await,
        (0, 3)
    );
    // A gap in the sequence.
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 0, 7, 1))
            .await
            .0,
        45
    );
    assert_eq!(
        list_offset(&mut c, topic, 0, -1).await.1,
        5,
        "nothing appended"
    );
    // A bumped epoch restarts at sequence 0; the old epoch is fenced.
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 1, 0, 1)).await,
        (0, 5)
    );
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 0, 5, 1))
            .await
            .0,
        47
    );
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid, 2, 4, 1))
            .await
            .0,
        45
    );
    // A producer this partition never saw may start at any sequence (no UNKNOWN_PRODUCER_ID).
    assert_eq!(
        produce(&mut c, topic, idempotent_batch(pid + 1, 0, 17, 1)).await,
        (0, 6)
    );
    assert_eq!(list_offset(&mut c, topic, 0, -1).await.1, 7);

    // Clean restart: the state comes back from the snapshot written at shutdown.
    broker.sigterm();
    broker
        .wait_exit(Duration::from_secs(30))
        .expect("clean shutdown");
    let dir = broker.log_dir().join(format!("{topic}-0"));
    let snapshot = dir.join("00000000000000000007.snapshot");
    assert!(
        snapshot.exists(),
        "snapshot at the log end offset in {}",
        dir.display()
    );
    assert_eq!(std::fs::metadata(&snapshot).unwrap().len(), 10 + 2 * 46);
    broker.restart();
    broker.wait_listening(Duration::from_secs(30));
    let dup = produce_when_led(&broker, topic, idempotent_batch(pid, 1, 0, 1)).await;
    assert_eq!(dup, (0, 5), "duplicate detected after a clean restart");
    let next = produce_when_led(&broker, topic, idempotent_batch(pid, 1, 1, 2)).await;
    assert_eq!(next, (0, 7));

    // kill -9: the batches after the last snapshot are replayed from the log.
    broker.kill9();
    broker.restart();
    broker.wait_listening(Duration::from_secs(30));
    let dup = produce_when_led(&broker, topic, idempotent_batch(pid, 1, 1, 2)).await;
    assert_eq!(dup, (0, 7), "duplicate detected after kill -9");
    let gap = produce_when_led(&broker, topic, idempotent_batch(pid, 1, 9, 1)).await;
    assert_eq!(gap.0, 45, "sequence state survived kill -9");
    let mut c = client(&broker).await;
    assert_eq!(list_offset(&mut c, topic, 0, -1).await.1, 9);
}
