//! Small helpers: file naming, atomic writes, clocks, randomness.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::errors::{IoContext, LogError};

pub const LOG_FILE_SUFFIX: &str = ".log";
pub const INDEX_FILE_SUFFIX: &str = ".index";
pub const TIME_INDEX_FILE_SUFFIX: &str = ".timeindex";
pub const DELETED_FILE_SUFFIX: &str = ".deleted";
pub const CLEANED_FILE_SUFFIX: &str = ".cleaned";
pub const SWAP_FILE_SUFFIX: &str = ".swap";
pub const DELETE_DIR_SUFFIX: &str = "-delete";
pub const FUTURE_DIR_SUFFIX: &str = "-future";

/// Wall clock in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Non-cryptographic randomness (jitter, unique dir suffixes) without an extra dependency.
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A random UUID with the dashes removed (Kafka's `-delete` / `-future` dir suffix).
pub fn random_uuid_hex() -> String {
    let a = random_u64();
    let b = random_u64();
    // Version-4 / variant bits as java.util.UUID.randomUUID sets them.
    let a = (a & !0xF000) | 0x4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!("{a:016x}{b:016x}")
}

/// `<20-digit zero padded offset><suffix>` (Log.scala `filenamePrefixFromOffset`).
pub fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}{suffix}")
}

pub fn segment_path(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(file_name(base_offset, suffix))
}

/// Parses the base offset out of `00000000000000000042.log` style names.
pub fn offset_from_file_name(name: &str) -> Option<i64> {
    let prefix = name.split('.').next()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    prefix.parse().ok()
}

/// fsync a directory so that renames/creates inside it are durable.
pub fn fsync_dir(dir: &Path) -> Result<(), LogError> {
    match File::open(dir) {
        Ok(f) => f.sync_all().ctx(|| format!("fsync dir {}", dir.display())),
        // Not every platform allows opening a directory; durability is then best effort.
        Err(_) => Ok(()),
    }
}

/// Writes `content` to `<path>.tmp`, fsyncs, renames over `path`, fsyncs the directory.
pub fn atomic_write(path: &Path, content: &[u8]) -> Result<(), LogError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .ctx(|| format!("create {}", tmp.display()))?;
        f.write_all(content)
            .ctx(|| format!("write {}", tmp.display()))?;
        f.sync_all().ctx(|| format!("fsync {}", tmp.display()))?;
    }
    fs::rename(&tmp, path).ctx(|| format!("rename {} to {}", tmp.display(), path.display()))?;
    if let Some(parent) = path.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Appends `suffix` to the file name: `a.log` -> `a.log.deleted`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `java.util.Date.toString()` for a UTC instant: `Sun Nov 22 02:20:12 UTC 2026`.
pub fn java_date_string(epoch_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let dow = DAYS[days.rem_euclid(7) as usize];
    format!(
        "{dow} {} {d:02} {:02}:{:02}:{:02} UTC {y}",
        MONTHS[(m - 1) as usize],
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dates() {
        assert_eq!(file_name(368769, ".log"), "00000000000000368769.log");
        assert_eq!(
            offset_from_file_name("00000000000000368769.log"),
            Some(368769)
        );
        assert_eq!(offset_from_file_name("leader-epoch-checkpoint"), None);
        // 2026-11-22T02:20:12Z was a Sunday (observed meta.properties).
        assert_eq!(
            java_date_string(1_795_314_012_000),
            "Sun Nov 22 02:20:12 UTC 2026"
        );
        assert_eq!(java_date_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        let u = random_uuid_hex();
        assert_eq!(u.len(), 32);
        assert!(u.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
