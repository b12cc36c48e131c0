//! Cache statistics: per-namespace counters, a recent window, shadow-mode score histograms and a
//! lookup-latency histogram.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use ts_rs::TS;

/// How far back the "recent" hit rate looks.
pub const RECENT_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Score histogram: 20 bins over similarity 0–1.
pub const SCORE_BINS: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct NamespaceCounters {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub expirations: u64,
    pub shadow_hits: u64,
    /// (time, hit?) of recent lookups, oldest first.
    recent: VecDeque<(i64, bool)>,
    /// Best-candidate similarity of every lookup (served or not): for tuning the threshold.
    pub scores: [u64; SCORE_BINS],
}

impl NamespaceCounters {
    pub fn record(&mut self, now_ms: i64, hit: bool, best_similarity: Option<f32>) {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        self.recent.push_back((now_ms, hit));
        while self.recent.front().is_some_and(|(t, _)| *t < now_ms - RECENT_WINDOW_MS) || self.recent.len() > 100_000 {
            self.recent.pop_front();
        }
        if let Some(s) = best_similarity.filter(|s| s.is_finite()) {
            let bin = ((s.clamp(0.0, 1.0) * SCORE_BINS as f32) as usize).min(SCORE_BINS - 1);
            self.scores[bin] += 1;
        }
    }

    pub fn recent_hit_rate(&self, now_ms: i64) -> Option<f64> {
        let (mut h, mut n) = (0u64, 0u64);
        for (t, hit) in &self.recent {
            if *t >= now_ms - RECENT_WINDOW_MS {
                n += 1;
                h += *hit as u64;
            }
        }
        (n > 0).then(|| h as f64 / n as f64)
    }
}

/// Log-spaced latency histogram in microseconds (bucket i holds values below 2^(i/4) µs·…).
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    buckets: Vec<u64>,
    count: u64,
    sum_us: f64,
}

const LAT_BUCKETS: usize = 96;

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self { buckets: vec![0; LAT_BUCKETS], count: 0, sum_us: 0.0 }
    }
}

fn bucket_of(us: f64) -> usize {
    // Four buckets per doubling from 1 µs: ~19% resolution.
    if us <= 1.0 {
        0
    } else {
        ((us.log2() * 4.0).ceil() as usize).min(LAT_BUCKETS - 1)
    }
}

fn bucket_upper(i: usize) -> f64 {
    2f64.powf(i as f64 / 4.0)
}

impl LatencyHistogram {
    pub fn record(&mut self, us: f64) {
        self.buckets[bucket_of(us)] += 1;
        self.count += 1;
        self.sum_us += us;
    }

    /// The q-quantile (0–1) as a bucket's upper bound, µs.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let target = (q * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= target {
                return Some(bucket_upper(i));
            }
        }
        Some(bucket_upper(LAT_BUCKETS - 1))
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count,
            mean_us: (self.count > 0).then(|| self.sum_us / self.count as f64),
            p50_us: self.quantile(0.5),
            p90_us: self.quantile(0.9),
            p99_us: self.quantile(0.99),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
#[ts(export)]
pub struct LatencySummary {
    #[ts(type = "number")]
    pub count: u64,
    pub mean_us: Option<f64>,
    pub p50_us: Option<f64>,
    pub p90_us: Option<f64>,
    pub p99_us: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_bucket() {
        let mut h = LatencyHistogram::default();
        for v in 1..=1000 {
            h.record(v as f64);
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!((500.0..=600.0).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99).unwrap();
        assert!((990.0..=1200.0).contains(&p99), "{p99}");
        assert_eq!(h.summary().count, 1000);
    }

    #[test]
    fn recent_window_and_scores() {
        let mut c = NamespaceCounters::default();
        c.record(0, true, Some(0.95));
        c.record(RECENT_WINDOW_MS + 10, false, Some(0.42));
        assert_eq!(c.recent_hit_rate(RECENT_WINDOW_MS + 10), Some(0.0));
        assert_eq!(c.scores[19], 1);
        assert_eq!(c.scores[8], 1);
        assert_eq!((c.hits, c.misses), (1, 1));
    }
}
