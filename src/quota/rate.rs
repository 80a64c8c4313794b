//! Kafka's metrics `Rate` over a `SampledStat`: values are summed into `samples` windows of
//! `window_ms` each; the rate is the sum over the live windows divided by the elapsed time,
//! which counts at least `samples - 1` full windows so a fresh sensor does not report a burst
//! as a huge rate. Same arithmetic as Kafka, so throttle times match what clients expect.

/// How a quota's rate is sampled (`quota.window.num`, `quota.window.size.seconds` and their
/// `replication.` and `controller.` variants; Kafka's defaults are 11 windows of 1 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaWindow {
    pub samples: usize,
    pub window_ms: u64,
}

impl QuotaWindow {
    pub fn new(samples: i64, window_seconds: i64) -> QuotaWindow {
        QuotaWindow {
            samples: samples.clamp(2, 1_000) as usize,
            window_ms: (window_seconds.clamp(1, 3_600) as u64) * 1_000,
        }
    }
}

impl Default for QuotaWindow {
    fn default() -> QuotaWindow {
        QuotaWindow::new(11, 1)
    }
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    start_ms: u64,
    value: f64,
}

/// A rate in units per second over a sliding set of sample windows.
#[derive(Clone, Debug)]
pub struct Rate {
    window: QuotaWindow,
    samples: Vec<Option<Sample>>,
    current: usize,
}

impl Rate {
    pub fn new(window: QuotaWindow) -> Rate {
        Rate {
            window,
            samples: vec![None; window.samples],
            current: 0,
        }
    }

    pub fn window(&self) -> QuotaWindow {
        self.window
    }

    /// Adds `value` at `now_ms`, starting a new sample window when the current one is full.
    pub fn record(&mut self, value: f64, now_ms: u64) {
        let window_ms = self.window.window_ms;
        match self.samples[self.current] {
            Some(s) if now_ms.saturating_sub(s.start_ms) < window_ms => {}
            Some(_) => {
                self.current = (self.current + 1) % self.samples.len();
                self.samples[self.current] = Some(Sample {
                    start_ms: now_ms,
                    value: 0.0,
                });
            }
            None => {
                self.samples[self.current] = Some(Sample {
                    start_ms: now_ms,
                    value: 0.0,
                })
            }
        }
        if let Some(s) = self.samples[self.current].as_mut() {
            s.value += value;
        }
    }

    /// The rate per second at `now_ms` (Kafka's `Rate.measure`).
    pub fn measure(&mut self, now_ms: u64) -> f64 {
        self.purge_obsolete(now_ms);
        let total: f64 = self.samples.iter().flatten().map(|s| s.value).sum();
        total * 1_000.0 / self.window_size_ms(now_ms) as f64
    }

    /// The rate per second at `now_ms` as Kafka's `SimpleRate` measures it (replication
    /// quotas): over the time since the oldest live sample, but at least one window, so a
    /// quota reacts within a window instead of averaging over `samples - 1` empty ones.
    pub fn measure_simple(&mut self, now_ms: u64) -> f64 {
        self.purge_obsolete(now_ms);
        // A fold from +0.0: an empty f64 `sum()` is -0.0, which would print as "-0".
        let total = self.samples.iter().flatten().fold(0.0, |t, s| t + s.value);
        let oldest = self.samples.iter().flatten().map(|s| s.start_ms).min();
        let elapsed = oldest.map_or(0, |start| now_ms.saturating_sub(start));
        total * 1_000.0 / elapsed.max(self.window.window_ms).max(1) as f64
    }

    /// The elapsed time the rate divides by: since the oldest live sample, but at least
    /// `samples - 1` full windows (Kafka's `Rate.windowSize`).
    pub fn window_size_ms(&self, now_ms: u64) -> u64 {
        let oldest = self.samples.iter().flatten().map(|s| s.start_ms).min();
        let mut elapsed = oldest.map_or(0, |start| now_ms.saturating_sub(start));
        let window_ms = self.window.window_ms;
        let full_windows = elapsed / window_ms;
        let min_full_windows = (self.window.samples - 1) as u64;
        if full_windows < min_full_windows {
            elapsed += (min_full_windows - full_windows) * window_ms;
        }
        elapsed.max(1)
    }

    /// Samples older than the whole window no longer count (Kafka resets them in place).
    fn purge_obsolete(&mut self, now_ms: u64) {
        let expire_ms = self.window.samples as u64 * self.window.window_ms;
        for s in self.samples.iter_mut().flatten() {
            if now_ms.saturating_sub(s.start_ms) >= expire_ms {
                *s = Sample {
                    start_ms: now_ms,
                    value: 0.0,
                };
            }
        }
    }
}

/// How long a client that measured `observed` against `bound` must wait, in ms (Kafka's
/// `QuotaUtils.throttleTime`): `(observed - bound) / bound * window`. Zero when within bound.
pub fn throttle_time_ms(observed: f64, bound: f64, window_size_ms: u64) -> u64 {
    if bound <= 0.0 || observed <= bound {
        return 0;
    }
    ((observed - bound) / bound * window_size_ms as f64).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_rate_divides_by_at_least_samples_minus_one_windows() {
        let mut rate = Rate::new(QuotaWindow::new(11, 1));
        rate.record(10_000.0, 0);
        // 10,000 units over the minimum of 10 windows of 1 s.
        assert_eq!(rate.measure(0), 1_000.0);
        assert_eq!(rate.window_size_ms(500), 10_500);
    }

    #[test]
    fn a_steady_rate_measures_itself_and_old_samples_expire() {
        let mut rate = Rate::new(QuotaWindow::new(11, 1));
        for second in 0..30u64 {
            rate.record(1_000.0, second * 1_000);
        }
        let measured = rate.measure(29_999);
        assert!((measured - 1_000.0).abs() < 100.0, "{measured}");
        // 11 windows later nothing counts any more.
        assert_eq!(rate.measure(29_000 + 11_000), 0.0);
    }

    #[test]
    fn a_simple_rate_divides_by_at_least_one_window() {
        let mut rate = Rate::new(QuotaWindow::new(11, 1));
        rate.record(10_000.0, 0);
        assert_eq!(rate.measure_simple(0), 10_000.0);
        assert_eq!(rate.measure_simple(4_000), 2_500.0);
        assert_eq!(rate.measure_simple(11_000), 0.0, "expired");
    }

    #[test]
    fn throttle_time_is_the_excess_over_the_bound_times_the_window() {
        assert_eq!(throttle_time_ms(2_000.0, 1_000.0, 10_000), 10_000);
        assert_eq!(throttle_time_ms(1_100.0, 1_000.0, 10_000), 1_000);
        assert_eq!(throttle_time_ms(900.0, 1_000.0, 10_000), 0);
        assert_eq!(throttle_time_ms(900.0, 0.0, 10_000), 0);
    }
}
