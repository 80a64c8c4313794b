//! Log lines in Kafka's log4j layout, `[yyyy-MM-dd HH:mm:ss,SSS] LEVEL message (logger)`, so
//! that what a learner reads here looks like what a Kafka broker prints.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

struct KafkaLayout;

impl<S, N> FormatEvent<S, N> for KafkaLayout
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write!(
            w,
            "[{}] {} ",
            timestamp_utc(SystemTime::now()),
            meta.level()
        )?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w, " ({})", meta.target())
    }
}

/// Installs the subscriber. `ZKAFKA_LOG` (EnvFilter syntax) overrides the default `info`.
/// Colour only on a terminal: a log file (stdout redirected) gets no ANSI codes.
pub fn init() {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_env("ZKAFKA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(filter)
        .with_ansi(false) // structured fields would carry colour codes into log files
        .event_format(KafkaLayout)
        .try_init();
}

/// For the tools: nothing unless `ZKAFKA_LOG` is set, then Kafka's layout on stderr, so that
/// stdout stays the tool's output and no library's retry chatter reaches the user.
pub fn init_for_tool() {
    if let Ok(filter) = EnvFilter::try_from_env("ZKAFKA_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .with_ansi(false)
            .event_format(KafkaLayout)
            .try_init();
    }
}

/// One kind of log line caused by bad input (a malformed request, a refused batch): at most
/// one line per `interval_ms`, so a misbehaving client cannot flood the log; the next line
/// tells how many were left out.
pub struct RateLimit {
    interval_ms: u64,
    next_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimit {
    pub const fn new(interval_ms: u64) -> RateLimit {
        RateLimit {
            interval_ms,
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines suppressed since the last one)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        let won = now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + self.interval_ms,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if !won {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// " (N similar lines suppressed)" when N > 0.
pub struct Suppressed(pub u64);

impl fmt::Display for Suppressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " ({n} similar lines suppressed)"),
        }
    }
}

/// A client-supplied string (client id, topic name) made safe for one log line: control
/// characters, quotes and backslashes are escaped, so a client cannot forge log lines.
pub fn escape(s: &str) -> std::str::EscapeDebug<'_> {
    s.escape_debug()
}

/// `yyyy-MM-dd HH:mm:ss,SSS` in UTC.
fn timestamp_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, m, day) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{day:02} {:02}:{:02}:{:02},{:03}",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_limit_counts_what_it_suppresses() {
        let limit = RateLimit::new(60_000);
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), None);
        assert_eq!(limit.allow(), None);
        limit.next_ms.store(0, Ordering::Relaxed); // the interval has passed
        assert_eq!(limit.allow(), Some(2));
        assert_eq!(Suppressed(2).to_string(), " (2 similar lines suppressed)");
        assert_eq!(Suppressed(0).to_string(), "");
        assert_eq!(escape("a\nb\u{1b}[31m").to_string(), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn formats_like_log4j() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_314_011_854);
        assert_eq!(timestamp_utc(t), "2026-11-22 02:20:11,854");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
