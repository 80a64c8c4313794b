//! Compression codecs in the exact framings Kafka's Java clients use, so legacy message sets
//! can be decompressed and the v2 batches made from them read by every client:
//!
//! * gzip: a plain gzip stream (GZIPOutputStream).
//! * snappy: xerial's SnappyOutputStream framing — an 8-byte magic, two big-endian ints
//!   (version 1, compatible version 1), then blocks of `int32 length` + raw snappy data.
//!   Raw (unframed) snappy is accepted on input, as xerial's reader does.
//! * lz4: an LZ4 frame (KafkaLZ4BlockOutputStream: independent 64 KiB blocks, no checksums
//!   besides the header's). Magic-0 producers compute the header checksum over the wrong
//!   bytes (KAFKA-3160), so the legacy reader does not check it; magic 2 is read strictly.
//! * zstd: a standard zstd frame (zstd-jni's ZstdOutputStream); magic 2 only.

use std::io::{Read, Write};

const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_BLOCK: usize = 32 * 1024;
const LZ4_MAGIC: u32 = 0x184D_2204;
/// Decompressed data larger than this is refused (a hostile "zip bomb" must not exhaust
/// memory); legacy messages are bounded by max.message.bytes far below it.
const MAX_DECOMPRESSED: usize = 256 * 1024 * 1024;

pub const GZIP: u8 = 1;
pub const SNAPPY: u8 = 2;
pub const LZ4: u8 = 3;
pub const ZSTD: u8 = 4;

pub fn decompress(codec: u8, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    decompress_into(codec, data, &mut out)?;
    Ok(out)
}

/// Decompresses a legacy (magic 0/1) wrapper's value: as `decompress`, but lz4 frames
/// are read without checking the header checksum that magic-0 producers got wrong.
pub fn decompress_legacy(codec: u8, data: &[u8]) -> Result<Vec<u8>, String> {
    if codec != LZ4 {
        return decompress(codec, data);
    }
    let mut out = Vec::new();
    lz4_decompress(data, &mut out)?;
    Ok(out)
}

/// Decompresses a magic-2 batch's records into `out` (cleared first), so a caller can
/// reuse one buffer.
pub fn decompress_into(codec: u8, data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    match codec {
        GZIP => {
            read_bounded(flate2::read::GzDecoder::new(data), out).map_err(|e| format!("gzip: {e}"))
        }
        SNAPPY => snappy_decompress(data, out),
        // A standard LZ4 frame decoder: every checksum is verified, as librdkafka and the
        // Java client do for magic 2, so nothing a consumer would refuse gets in.
        LZ4 => {
            lz4_frame_is_whole(data)?;
            read_bounded(lz4_flex::frame::FrameDecoder::new(data), out)
                .map_err(|e| format!("lz4: {e}"))
        }
        ZSTD => {
            let decoder =
                zstd::stream::read::Decoder::with_buffer(data).map_err(|e| format!("zstd: {e}"))?;
            read_bounded(decoder, out).map_err(|e| format!("zstd: {e}"))
        }
        c => Err(format!("unknown compression codec {c}")),
    }
}

/// Reads a whole decoder into `out`, refusing more than MAX_DECOMPRESSED bytes.
fn read_bounded(decoder: impl Read, out: &mut Vec<u8>) -> Result<(), String> {
    decoder
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(out)
        .map_err(|e| e.to_string())?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(format!(
            "decompressed size exceeds {MAX_DECOMPRESSED} bytes"
        ));
    }
    Ok(())
}

pub fn compress(codec: u8, data: &[u8]) -> Result<Vec<u8>, String> {
    match codec {
        GZIP => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).map_err(|e| e.to_string())?;
            enc.finish().map_err(|e| e.to_string())
        }
        SNAPPY => snappy_compress(data),
        LZ4 => Ok(lz4_compress(data)),
        // Level 3 is zstd's (and Kafka's producers') default.
        ZSTD => zstd::bulk::compress(data, 3).map_err(|e| format!("zstd: {e}")),
        c => Err(format!("cannot compress with codec {c}")),
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn snappy_decompress(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut raw = snap::raw::Decoder::new();
    if !data.starts_with(&XERIAL_MAGIC) {
        let n = snap::raw::decompress_len(data).map_err(|e| format!("snappy: {e}"))?;
        if n > MAX_DECOMPRESSED {
            return Err("snappy: decompressed size too large".into());
        }
        out.resize(n, 0);
        let n = raw
            .decompress(data, out)
            .map_err(|e| format!("snappy: {e}"))?;
        out.truncate(n);
        return Ok(());
    }
    let mut pos = XERIAL_MAGIC.len() + 8;
    while pos < data.len() {
        let len = be_u32(data, pos).ok_or("snappy: truncated block length")? as usize;
        pos += 4;
        let block = data
            .get(pos..pos + len)
            .ok_or("snappy: block runs past the data")?;
        let n = snap::raw::decompress_len(block).map_err(|e| format!("snappy: {e}"))?;
        if out.len() + n > MAX_DECOMPRESSED {
            return Err("snappy: decompressed size too large".into());
        }
        let start = out.len();
        out.resize(start + n, 0);
        raw.decompress(block, &mut out[start..])
            .map_err(|e| format!("snappy: {e}"))?;
        pos += len;
    }
    Ok(())
}

fn snappy_compress(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut enc = snap::raw::Encoder::new();
    let mut out = Vec::with_capacity(16 + data.len() / 2);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    for chunk in data.chunks(XERIAL_BLOCK) {
        let block = enc.compress_vec(chunk).map_err(|e| e.to_string())?;
        out.extend_from_slice(&(block.len() as i32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}

/// The frame ends where its structure says: an end mark, the content checksum if the
/// flags promise one, and nothing after. (A frame cut short at a block boundary decodes
/// with lenient readers but python-lz4 refuses it: found by the live bad-input test.)
fn lz4_frame_is_whole(data: &[u8]) -> Result<(), String> {
    let flg = *data.get(4).ok_or("lz4: truncated header")?;
    let mut pos = 7 + if flg & 0x08 != 0 { 8 } else { 0 };
    loop {
        let word = le_u32(data, pos).ok_or("lz4: the frame has no end mark")?;
        pos += 4;
        if word == 0 {
            break;
        }
        pos += (word & 0x7fff_ffff) as usize + if flg & 0x10 != 0 { 4 } else { 0 };
    }
    pos += if flg & 0x04 != 0 { 4 } else { 0 };
    if pos != data.len() {
        return Err(format!(
            "lz4: the frame is {pos} bytes but the payload {}",
            data.len()
        ));
    }
    Ok(())
}

/// Reads an LZ4 frame block by block (lz4 block format inside); checksums are skipped.
fn lz4_decompress(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if le_u32(data, 0) != Some(LZ4_MAGIC) {
        return Err("lz4: bad frame magic".into());
    }
    let flg = *data.get(4).ok_or("lz4: truncated header")?;
    let bd = *data.get(5).ok_or("lz4: truncated header")?;
    let block_checksum = flg & 0x10 != 0;
    let content_size = flg & 0x08 != 0;
    let max_block = match (bd >> 4) & 0x7 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        b => return Err(format!("lz4: bad block size id {b}")),
    };
    let mut pos = 6 + if content_size { 8 } else { 0 } + 1;
    loop {
        let word = le_u32(data, pos).ok_or("lz4: truncated block header")?;
        pos += 4;
        if word == 0 {
            break;
        }
        let len = (word & 0x7fff_ffff) as usize;
        let block = data
            .get(pos..pos + len)
            .ok_or("lz4: block runs past the data")?;
        if word & 0x8000_0000 != 0 {
            out.extend_from_slice(block);
        } else {
            let start = out.len();
            out.resize(start + max_block, 0);
            let n = lz4_flex::block::decompress_into(block, &mut out[start..])
                .map_err(|e| format!("lz4: {e}"))?;
            out.truncate(start + n);
        }
        if out.len() > MAX_DECOMPRESSED {
            return Err("lz4: decompressed size too large".into());
        }
        pos += len + if block_checksum { 4 } else { 0 };
    }
    Ok(())
}

/// KafkaLZ4BlockOutputStream's frame: FLG version 01 + independent blocks, BD 64 KiB, the
/// header checksum (xxhash32 of FLG..BD, second byte), blocks, end mark.
fn lz4_compress(data: &[u8]) -> Vec<u8> {
    let (flg, bd) = (0x60u8, 0x40u8);
    let mut out = Vec::with_capacity(16 + data.len());
    out.extend_from_slice(&LZ4_MAGIC.to_le_bytes());
    out.push(flg);
    out.push(bd);
    out.push((twox_hash::XxHash32::oneshot(0, &[flg, bd]) >> 8) as u8);
    for chunk in data.chunks(64 << 10) {
        let block = lz4_flex::block::compress(chunk);
        if block.len() < chunk.len() {
            out.extend_from_slice(&(block.len() as u32).to_le_bytes());
            out.extend_from_slice(&block);
        } else {
            out.extend_from_slice(&(chunk.len() as u32 | 0x8000_0000).to_le_bytes());
            out.extend_from_slice(chunk);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_round_trip() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            let c = compress(codec, &data).unwrap();
            assert!(c.len() < data.len(), "codec {codec} compresses");
            assert_eq!(decompress(codec, &c).unwrap(), data, "codec {codec}");
        }
        // Raw snappy (no xerial frame) is read too.
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"hello hello hello")
            .unwrap();
        assert_eq!(decompress(SNAPPY, &raw).unwrap(), b"hello hello hello");
    }

    #[test]
    fn lz4_frames_are_standard() {
        // Our frame must be readable by a standard LZ4 frame decoder (header checksum included).
        let data = b"standard frame standard frame standard frame".repeat(100);
        let framed = compress(LZ4, &data).unwrap();
        let mut out = Vec::new();
        lz4_flex::frame::FrameDecoder::new(&framed[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}
