//! A produced v2 batch through the leader's checks (check_batch, then the LogValidator) and,
//! when accepted, through every other reader of batches in the project — the record parser
//! of dumps and the cleaner, the cleaner's filter and rebuild — which must then succeed
//! (a batch the validator lets in must never be unreadable later). Legacy message sets go
//! through their conversion to v2, whose output must pass the validator.
//!
//! First input byte: bit 0 compacted topic, bit 1 LogAppendTime topic, bit 2 a one-hour
//! `message.timestamp.difference.max.ms`, bit 3 coordinator origin, bit 4 leave the batch
//! length and CRC as given (otherwise they are fixed, so mutations reach the records).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkafka::log::batch::{
    check_batch, compute_crc, parse_records, RecordView, CRC_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD,
    RECORD_BATCH_OVERHEAD,
};
use zkafka::log::clean_batch::{filter_batch, uncompressed_view, Filtered};
use zkafka::log::validator::{validate_batch, ValidationContext};
use zkafka::log::{LogConfig, TimestampType};
use zkafka::record::legacy;

const NOW: i64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let ctx = ValidationContext {
        now: NOW,
        compacted: flags & 1 != 0,
        timestamp_type: if flags & 2 != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        timestamp_difference_max_ms: if flags & 4 != 0 { 3_600_000 } else { i64::MAX },
        from_client: flags & 8 == 0,
    };
    let mut batch = rest.to_vec();
    if flags & 16 == 0 && batch.len() >= RECORD_BATCH_OVERHEAD {
        let len = (batch.len() - LOG_OVERHEAD) as i32;
        batch[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
        let crc = compute_crc(&batch);
        batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
    if let Ok(converted) = legacy::convert_to_v2(rest, &LogConfig::default()) {
        let h = check_batch(&converted).expect("a converted batch has a valid header and CRC");
        let legacy_ctx = ValidationContext {
            compacted: false,
            timestamp_difference_max_ms: i64::MAX,
            ..ctx
        };
        validate_batch(&converted, &h, &legacy_ctx).expect("a converted batch is valid");
    }
    let Ok(h) = check_batch(&batch) else {
        return;
    };
    if validate_batch(&batch, &h, &ctx).is_err() {
        return;
    }
    // Accepted: every other reader must read it.
    let batch = &batch[..h.size()];
    let plain = uncompressed_view(batch, &h).expect("an accepted batch decompresses");
    let plain = plain.as_deref().unwrap_or(batch);
    let records = parse_records(plain).expect("an accepted batch parses");
    assert_eq!(records.len(), h.record_count as usize);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.offset_delta, i as i32);
        assert!(!ctx.compacted || r.key.is_some());
    }
    let odd = |offset: i64, _: Option<&[u8]>, _: bool| offset % 2 == 1;
    let (filtered, _) = filter_batch(batch, &h, odd).expect("an accepted batch can be cleaned");
    if let Filtered::Rebuilt(rebuilt) = filtered {
        let rh = check_batch(&rebuilt).expect("a rebuilt batch has a valid CRC");
        let view = uncompressed_view(&rebuilt, &rh).expect("a rebuilt batch decompresses");
        let kept: Vec<RecordView<'_>> =
            parse_records(view.as_deref().unwrap_or(&rebuilt)).expect("a rebuilt batch parses");
        assert!(kept.iter().all(|r| r.offset_delta % 2 == 1));
    }
});
