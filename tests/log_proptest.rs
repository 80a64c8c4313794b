//! Property tests: random appends read back at every offset; index and time-index
//! entries agree with a linear scan of the segment files; rolls happen exactly at the
//! configured size / index limits.

mod common;

use std::fs;

use common::log_util::*;
use proptest::prelude::*;
use zkafka::log::batch::build_batch;
use zkafka::log::LogConfig;

const SEGMENT_BYTES: i32 = 1500;
const INDEX_BYTES: i32 = 48; // 6 offset entries; time index 4 entries (full at 3)
const INTERVAL: i32 = 120;

fn batch(n: usize, value_len: usize, ts: i64) -> Vec<u8> {
    let v = vec![b'x'; value_len];
    let recs: Vec<_> = (0..n)
        .map(|i| (ts + i as i64, Some(&b"key"[..]), Some(&v[..]), &[][..]))
        .collect();
    build_batch(0, -1, &recs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn appends_read_back_indexes_agree_and_rolls_are_exact(
        specs in prop::collection::vec((1usize..4, 0usize..200, 0i64..50), 1..60)
    ) {
        let d = tempfile::tempdir().unwrap();
        let cfg = LogConfig { segment_bytes: SEGMENT_BYTES, segment_index_bytes: INDEX_BYTES, index_interval_bytes: INTERVAL, ..LogConfig::default() };
        let log = open_log(d.path(), cfg);
        // Model of LogSegment.shouldRoll + sparse indexing.
        let (mut seg_size, mut since, mut oi, mut ti, mut last_ti, mut max_ts) = (0u64, 0u64, 0usize, 0usize, -1i64, -1i64);
        let mut expected_bases = vec![0i64];
        let mut ts = 1_000i64;
        let mut offsets = Vec::new(); // (first, last, first_ts) per batch
        for (n, vlen, dt) in specs {
            ts += dt;
            let b = batch(n, vlen, ts);
            let size = b.len() as u64;
            let first = log.log_end_offset();
            if seg_size > SEGMENT_BYTES as u64 - size || oi >= 6 || ti >= 3 {
                expected_bases.push(first);
                (seg_size, since, oi, ti, last_ti, max_ts) = (0, 0, 0, 0, -1, -1);
            }
            let bmax = ts + n as i64 - 1;
            max_ts = max_ts.max(bmax);
            if since > INTERVAL as u64 {
                oi += 1;
                if max_ts > last_ti { ti += 1; last_ti = max_ts; }
                since = 0;
            }
            since += size;
            seg_size += size;
            let info = log.append_as_leader(&b, 0).unwrap();
            prop_assert_eq!(info.first_offset, first);
            offsets.push((first, info.last_offset, ts));
        }
        prop_assert_eq!(log.segment_base_offsets(), expected_bases.clone());

        let leo = log.log_end_offset();
        for off in 0..leo {
            let got = log.read(off, 1 << 16, None, false).unwrap().records.to_vec().unwrap();
            let first = scan(&got)[0];
            prop_assert!(first.1 <= off && off <= first.2);
        }
        // Offset/time index entries vs. a linear scan of each segment file.
        for base in &expected_bases {
            let data = fs::read(d.path().join(format!("{base:020}.log"))).unwrap();
            let batches = scan(&data);
            let idx = fs::read(d.path().join(format!("{base:020}.index"))).unwrap();
            for e in idx.chunks_exact(8) {
                let (rel, pos) = (i32::from_be_bytes(e[..4].try_into().unwrap()), i32::from_be_bytes(e[4..].try_into().unwrap()));
                if rel == 0 && pos == 0 { break; } // unused preallocated slot of the active segment
                let b = batches.iter().find(|b| b.0 == pos as usize).expect("index points at a batch start");
                prop_assert_eq!(b.2, base + rel as i64);
            }
            let tidx = fs::read(d.path().join(format!("{base:020}.timeindex"))).unwrap();
            for e in tidx.chunks_exact(12) {
                let t = i64::from_be_bytes(e[..8].try_into().unwrap());
                if t == 0 { break; }
                let o = base + i32::from_be_bytes(e[8..].try_into().unwrap()) as i64;
                let upto_max = batches.iter().filter(|b| b.2 <= o).map(|b| b.3).max().unwrap();
                prop_assert_eq!(t, upto_max);
            }
        }
        // Linear scan: the first record (in offset order) whose timestamp >= target.
        let records: Vec<(i64, i64)> = offsets.iter().flat_map(|(f, l, t)| (*f..=*l).map(move |o| (o, t + (o - f)))).collect();
        for (_, _, t) in offsets.iter().step_by(3) {
            let expected = records.iter().find(|(_, rt)| rt >= t).copied().unwrap();
            let r = log.fetch_offset_by_timestamp(*t).unwrap().unwrap();
            prop_assert_eq!((r.offset, r.timestamp), expected);
        }
    }
}
