//! Cache statistics: per-namespace counters, a recent window, shadow-mode score histograms and a
//! lookup-latency histogram.

use lru::LruCache;
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;
use ts_rs::TS;

/// How far back the "recent" hit rate looks.
pub const RECENT_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Score histogram: 20 bins over similarity 0–1.
pub const SCORE_BINS: usize = 20;
/// The recent window is kept as this many time slots (10 s each), so a namespace's counters have
/// a fixed size however many lookups it gets.
const RECENT_SLOTS: usize = 30;
const SLOT_MS: i64 = RECENT_WINDOW_MS / RECENT_SLOTS as i64;

#[derive(Debug, Clone, Default)]
pub struct NamespaceCounters {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub expirations: u64,
    pub shadow_hits: u64,
    /// Lookups of the recent window by 10-second slot: (slot number, hits, lookups).
    recent: [(i64, u64, u64); RECENT_SLOTS],
    /// Best-candidate similarity of every lookup (served or not): for tuning the threshold.
    pub scores: [u64; SCORE_BINS],
}

impl NamespaceCounters {
    pub fn record(&mut self, now_ms: i64, hit: bool, best_similarity: Option<f32>) {
        if hit {
            self.hits = self.hits.saturating_add(1);
        } else {
            self.misses = self.misses.saturating_add(1);
        }
        let slot_no = now_ms.div_euclid(SLOT_MS);
        let slot = &mut self.recent[slot_no.rem_euclid(RECENT_SLOTS as i64) as usize];
        if slot.0 != slot_no {
            *slot = (slot_no, 0, 0);
        }
        slot.1 += hit as u64;
        slot.2 += 1;
        if let Some(s) = best_similarity.filter(|s| s.is_finite()) {
            let bin = ((s.clamp(0.0, 1.0) * SCORE_BINS as f32) as usize).min(SCORE_BINS - 1);
            self.scores[bin] = self.scores[bin].saturating_add(1);
        }
    }

    /// Hit rate over the last five minutes (to the 10-second slot).
    pub fn recent_hit_rate(&self, now_ms: i64) -> Option<f64> {
        let newest = now_ms.div_euclid(SLOT_MS);
        let (mut h, mut n) = (0u64, 0u64);
        for (slot_no, hits, lookups) in &self.recent {
            if *lookups > 0 && *slot_no <= newest && newest - slot_no < RECENT_SLOTS as i64 {
                h += hits;
                n += lookups;
            }
        }
        (n > 0).then(|| h as f64 / n as f64)
    }

    /// Adds `other`'s totals (not its recent window) to these.
    fn absorb(&mut self, other: &NamespaceCounters) {
        self.hits = self.hits.saturating_add(other.hits);
        self.misses = self.misses.saturating_add(other.misses);
        self.evictions = self.evictions.saturating_add(other.evictions);
        self.expirations = self.expirations.saturating_add(other.expirations);
        self.shadow_hits = self.shadow_hits.saturating_add(other.shadow_hits);
        for (a, b) in self.scores.iter_mut().zip(other.scores) {
            *a = a.saturating_add(b);
        }
    }
}

/// How many namespaces keep counters of their own; the least recently used beyond it are folded
/// into one "other" bucket, so a stream of distinct users cannot grow memory without bound while
/// the totals stay right.
pub const MAX_TRACKED_NAMESPACES: usize = 4096;

/// Per-namespace counters, bounded (see [`MAX_TRACKED_NAMESPACES`]).
pub struct CounterTable {
    by_namespace: LruCache<String, NamespaceCounters>,
    /// What namespaces pushed out of the table had counted.
    other: NamespaceCounters,
}

impl Default for CounterTable {
    fn default() -> Self {
        Self::with_capacity(MAX_TRACKED_NAMESPACES)
    }
}

impl CounterTable {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            by_namespace: LruCache::new(NonZeroUsize::new(n.max(1)).expect("at least 1")),
            other: NamespaceCounters::default(),
        }
    }

    /// One namespace's counters, created when missing (folding the least recently used into
    /// "other" when the table is full).
    pub fn entry(&mut self, namespace_id: &str) -> &mut NamespaceCounters {
        if !self.by_namespace.contains(namespace_id) {
            if let Some((_, gone)) = self.by_namespace.push(namespace_id.to_string(), NamespaceCounters::default()) {
                self.other.absorb(&gone);
            }
        }
        self.by_namespace.get_mut(namespace_id).expect("inserted above")
    }

    pub fn get(&self, namespace_id: &str) -> Option<&NamespaceCounters> {
        self.by_namespace.peek(namespace_id)
    }

    pub fn len(&self) -> usize {
        self.by_namespace.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_namespace.is_empty()
    }

    /// Every namespace's counters and the "other" bucket: what totals add up.
    pub fn all(&self) -> impl Iterator<Item = &NamespaceCounters> {
        self.by_namespace.iter().map(|(_, c)| c).chain(std::iter::once(&self.other))
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

    /// For a Prometheus histogram: how many values fell at or below each bound (µs, ascending),
    /// counted by bucket (a bucket counts under a bound when its upper edge is within it), the
    /// count and the sum.
    pub fn cumulative(&self, bounds_us: &[f64]) -> (Vec<u64>, u64, f64) {
        let counts = bounds_us
            .iter()
            .map(|&b| {
                self.buckets.iter().enumerate().filter(|(i, _)| bucket_upper(*i) <= b * 1.000_001).map(|(_, n)| n).sum()
            })
            .collect();
        (counts, self.count, self.sum_us)
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
    fn distinct_namespaces_cannot_grow_the_counters_without_bound() {
        let mut t = CounterTable::with_capacity(100);
        for i in 0..10_000 {
            t.entry(&format!("default/user-{i}/*/m/v1")).record(i, i % 2 == 0, Some(0.5));
        }
        assert_eq!(t.len(), 100);
        let hits: u64 = t.all().map(|c| c.hits).sum();
        let misses: u64 = t.all().map(|c| c.misses).sum();
        assert_eq!((hits, misses), (5_000, 5_000), "the totals keep what left the table");
        assert_eq!(t.all().map(|c| c.scores[10]).sum::<u64>(), 10_000);
        // A namespace in use stays.
        t.entry("default/user-9999/*/m/v1").hits += 1;
        assert!(t.get("default/user-9999/*/m/v1").is_some());
        assert!(t.get("default/user-0/*/m/v1").is_none());
        // A busy namespace's counters have a fixed size: the recent window is slotted.
        let mut busy = NamespaceCounters::default();
        for i in 0..200_000 {
            busy.record(i, true, None);
        }
        assert_eq!(busy.recent_hit_rate(200_000), Some(1.0));
        assert_eq!(std::mem::size_of_val(&busy), std::mem::size_of::<NamespaceCounters>());
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
