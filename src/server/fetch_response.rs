//! FetchResponse v0–v12 encoded by hand, so record bytes go from the segment file to the socket
//! without a decode/re-encode: the frame is header fields interleaved with `FileSlice`s, which
//! the network layer sends with sendfile (see network::response).
//! Checked field-for-field against kafka-protocol's decoder in the tests below.

use std::io;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::ApiKey;

use crate::log::FileSlice;
use crate::network::response::{FrameBuilder, ResponseFrame, SENDFILE_MIN_BYTES};

/// One partition of the response.
#[derive(Debug)]
pub struct FetchedPartition {
    pub index: i32,
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// v12+: (epoch, end offset) where the follower's log diverges from ours.
    pub diverging_epoch: Option<(i32, i64)>,
    /// read_committed consumer fetches: the aborted transactions `(producer id, first
    /// offset)` overlapping the returned records (possibly none); others null.
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
    pub records: FileSlice,
}

#[derive(Debug)]
pub struct FetchedTopic {
    pub name: String,
    pub partitions: Vec<FetchedPartition>,
}

fn put_uvarint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn put_array_len(buf: &mut BytesMut, n: usize, flexible: bool) {
    if flexible {
        put_uvarint(buf, n as u32 + 1);
    } else {
        buf.put_i32(n as i32);
    }
}

fn put_string(buf: &mut BytesMut, s: &str, flexible: bool) {
    if flexible {
        put_uvarint(buf, s.len() as u32 + 1);
    } else {
        buf.put_i16(s.len() as i16);
    }
    buf.put_slice(s.as_bytes());
}

/// Encodes a whole response frame: the response header for `correlation_id`, then the body
/// at `version`.
pub fn encode(
    version: i16,
    correlation_id: i32,
    error_code: i16,
    session_id: i32,
    topics: &[FetchedTopic],
) -> io::Result<ResponseFrame> {
    let flexible = version >= 12;
    let overhead: usize = 64
        + topics
            .iter()
            .map(|t| 16 + t.name.len() + t.partitions.len() * 80)
            .sum::<usize>();
    // Short record ranges are copied into the frame's head (see FrameBuilder::put_file).
    let copied: u64 = topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| p.records.length)
        .filter(|&n| n < SENDFILE_MIN_BYTES)
        .sum();
    let mut frame = FrameBuilder::with_capacity(overhead + copied as usize);
    let buf = frame.buf();
    buf.put_i32(correlation_id);
    if ApiKey::Fetch.response_header_version(version) >= 1 {
        put_uvarint(buf, 0);
    }
    if version >= 1 {
        buf.put_i32(0); // throttle_time_ms: no quotas
    }
    if version >= 7 {
        buf.put_i16(error_code);
        buf.put_i32(session_id);
    }
    put_array_len(buf, topics.len(), flexible);
    for t in topics {
        put_string(frame.buf(), &t.name, flexible);
        put_array_len(frame.buf(), t.partitions.len(), flexible);
        for p in &t.partitions {
            encode_partition(&mut frame, version, p)?;
        }
        if flexible {
            put_uvarint(frame.buf(), 0);
        }
    }
    if flexible {
        put_uvarint(frame.buf(), 0);
    }
    Ok(frame.finish())
}

/// The answer to a consumer fetch that violated its quota (FetchContext.getThrottledResponse):
/// no records at all, only the throttle time (v1+) and the fetch session, if any.
pub fn encode_throttled(
    version: i16,
    correlation_id: i32,
    throttle_time_ms: i32,
    session_id: i32,
) -> io::Result<ResponseFrame> {
    let flexible = version >= 12;
    let mut frame = FrameBuilder::with_capacity(32);
    let buf = frame.buf();
    buf.put_i32(correlation_id);
    if ApiKey::Fetch.response_header_version(version) >= 1 {
        put_uvarint(buf, 0);
    }
    if version >= 1 {
        buf.put_i32(throttle_time_ms);
    }
    if version >= 7 {
        buf.put_i16(0);
        buf.put_i32(session_id);
    }
    put_array_len(buf, 0, flexible);
    if flexible {
        put_uvarint(buf, 0);
    }
    Ok(frame.finish())
}

fn encode_partition(
    frame: &mut FrameBuilder,
    version: i16,
    p: &FetchedPartition,
) -> io::Result<()> {
    let flexible = version >= 12;
    let buf = frame.buf();
    buf.put_i32(p.index);
    buf.put_i16(p.error_code);
    buf.put_i64(p.high_watermark);
    if version >= 4 {
        buf.put_i64(p.last_stable_offset);
    }
    if version >= 5 {
        buf.put_i64(p.log_start_offset);
    }
    if version >= 4 {
        match (&p.aborted_transactions, flexible) {
            (Some(list), _) => {
                put_array_len(buf, list.len(), flexible);
                for (producer_id, first_offset) in list {
                    buf.put_i64(*producer_id);
                    buf.put_i64(*first_offset);
                    if flexible {
                        put_uvarint(buf, 0);
                    }
                }
            }
            (None, true) => put_uvarint(buf, 0),
            (None, false) => buf.put_i32(-1),
        }
    }
    if version >= 11 {
        buf.put_i32(-1); // preferred_read_replica: always read from the leader
    }
    let len = p.records.length as usize;
    if flexible {
        put_uvarint(buf, len as u32 + 1);
    } else {
        buf.put_i32(len as i32);
    }
    frame.put_file(&p.records)?;
    let buf = frame.buf();
    if flexible {
        match p.diverging_epoch {
            Some((epoch, end_offset)) => {
                put_uvarint(buf, 1); // one tagged field
                put_uvarint(buf, 0); // tag 0: DivergingEpoch
                put_uvarint(buf, 4 + 8 + 1);
                buf.put_i32(epoch);
                buf.put_i64(end_offset);
                put_uvarint(buf, 0);
            }
            None => put_uvarint(buf, 0),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{FetchResponse, ResponseHeader};
    use kafka_protocol::protocol::Decodable;
    use std::io::Write;
    use std::sync::Arc;

    #[test]
    fn every_version_decodes_with_kafka_protocol() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"xxxxHELLO-RECORDSyyyy").unwrap();
        let file = Arc::new(f);
        for version in 0..=12i16 {
            let topics = vec![FetchedTopic {
                name: "topic-a".into(),
                partitions: vec![
                    FetchedPartition {
                        index: 3,
                        error_code: 0,
                        high_watermark: 42,
                        last_stable_offset: 42,
                        log_start_offset: 7,
                        diverging_epoch: Some((5, 40)),
                        aborted_transactions: None,
                        records: FileSlice {
                            file: Some(file.clone()),
                            path: Default::default(),
                            position: 4,
                            length: 13,
                        },
                    },
                    FetchedPartition {
                        index: 4,
                        error_code: 1,
                        high_watermark: -1,
                        last_stable_offset: -1,
                        log_start_offset: -1,
                        diverging_epoch: None,
                        aborted_transactions: Some(vec![(9, 30), (11, 35)]),
                        records: FileSlice::empty(),
                    },
                ],
            }];
            let frame = encode(version, 99, 0, 0, &topics).unwrap();
            let mut body = bytes::Bytes::from(frame.to_vec().unwrap()).slice(4..);
            let h =
                ResponseHeader::decode(&mut body, ApiKey::Fetch.response_header_version(version))
                    .unwrap();
            assert_eq!(h.correlation_id, 99);
            let r = FetchResponse::decode(&mut body, version).unwrap();
            assert!(body.is_empty(), "v{version}: trailing bytes");
            let p = &r.responses[0].partitions[0];
            assert_eq!(r.responses[0].topic.0.as_str(), "topic-a");
            assert_eq!(p.partition_index, 3);
            assert_eq!(p.high_watermark, 42);
            assert_eq!(p.records.as_deref(), Some(&b"HELLO-RECORDS"[..]));
            if version >= 5 {
                assert_eq!(p.log_start_offset, 7);
            }
            if version >= 12 {
                assert_eq!(p.diverging_epoch.epoch, 5);
                assert_eq!(p.diverging_epoch.end_offset, 40);
            }
            let q = &r.responses[0].partitions[1];
            assert_eq!(q.error_code, 1);
            assert_eq!(q.records.as_deref(), Some(&b""[..]));
        }
    }

    #[test]
    fn throttled_responses_decode_empty_with_the_throttle_time() {
        for version in 0..=12i16 {
            let frame = encode_throttled(version, 7, 1234, 0).unwrap();
            let mut body = bytes::Bytes::from(frame.to_vec().unwrap()).slice(4..);
            let h =
                ResponseHeader::decode(&mut body, ApiKey::Fetch.response_header_version(version))
                    .unwrap();
            assert_eq!(h.correlation_id, 7);
            let r = FetchResponse::decode(&mut body, version).unwrap();
            assert!(body.is_empty(), "v{version}: trailing bytes");
            assert!(r.responses.is_empty());
            assert_eq!(r.throttle_time_ms, if version >= 1 { 1234 } else { 0 });
        }
    }
}
