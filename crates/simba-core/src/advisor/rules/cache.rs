//! Semantic cache rules, read from the engine's `CacheStats`.

use super::redis::try_check;
use super::{found, Check, Inputs, Rule};
use crate::advisor::thresholds::ThresholdDef;
use crate::advisor::{Evidence, Fix, Severity};
use crate::engine::cache::CacheStats;

fn stats<'a>(i: &Inputs<'a>) -> Result<&'a CacheStats, Check> {
    i.cache.ok_or_else(|| Check::NotEnoughData("no semantic cache statistics for this profile".into()))
}

pub const LOW_HIT_RATE: Rule = Rule {
    id: "cache.low_hit_rate",
    title: "Semantic cache hit rate below target",
    reads: "cache hits, misses",
    thresholds: &[
        ThresholdDef { name: "cache.low_hit_rate.target", default: 0.3, unit: "hits / lookups" },
        ThresholdDef { name: "cache.low_hit_rate.min_lookups", default: 100.0, unit: "lookups" },
    ],
    source: "performance-tuning.md (the cache's hit-rate target); threshold judged with `cache eval` on labelled pairs",
    check: |rule, i, t| {
        let s = try_check!(stats(i));
        let lookups = s.hits + s.misses;
        if (lookups as f64) < rule.threshold(t, "min_lookups") {
            return Check::NotEnoughData(format!("only {lookups} lookups so far"));
        }
        let rate = s.hits as f64 / lookups as f64;
        let target = rule.threshold(t, "target");
        if rate >= target {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Warning,
            format!("Semantic cache hit rate {:.0}% (target {:.0}%)", rate * 100.0, target * 100.0),
            vec![
                Evidence::new("hit rate", format!("{rate:.3}"), None),
                Evidence::new("lookups", lookups, None),
                Evidence::new("similarity_threshold", s.defaults.similarity_threshold, None),
            ],
            "A cache that rarely hits costs an embedding per query and saves few model calls.",
            Fix::advice(
                "measure a lower threshold with `simba-tuner cache eval PAIRS` on labelled pairs before changing it; \
                 check TTL and max entries (evictions)",
            ),
        )])
    },
};

pub const EARLY_EVICTIONS: Rule = Rule {
    id: "cache.early_evictions",
    title: "Entries evicted by max_entries",
    reads: "per namespace: entries, evictions, max_entries",
    thresholds: &[ThresholdDef { name: "cache.early_evictions.share", default: 0.1, unit: "evictions / stored" }],
    source: "performance-tuning.md (cache sizing); evictions counted by the engine",
    check: |rule, i, t| {
        let s = try_check!(stats(i));
        // The engine counts evictions in the process that serves lookups: a process that has
        // served none (a one-shot CLI run) has nothing to judge by, which is not "ok".
        if s.hits + s.misses == 0 && s.evictions == 0 {
            return Check::NotEnoughData(
                "no lookups in this process yet: evictions are counted where the cache serves (the desktop app or \
                 `simba-tuner serve`); ask there"
                    .into(),
            );
        }
        let limit = rule.threshold(t, "share");
        let findings = s
            .namespaces
            .iter()
            .filter(|n| n.evictions > 0)
            .filter(|n| n.evictions as f64 / (n.evictions + n.entries) as f64 >= limit)
            .map(|n| {
                // Room for what was pushed out, at most four times the cap, in whole hundreds.
                let cap = n.settings.max_entries;
                let raised = (cap + n.evictions).min(cap.saturating_mul(4)).div_ceil(100) * 100;
                rule.finding(
                    Some(&n.id),
                    Severity::Warning,
                    format!("{} entries evicted from a namespace capped at {}", n.evictions, n.settings.max_entries),
                    vec![
                        Evidence::new("evictions", n.evictions, None),
                        Evidence::new("entries", n.entries, None),
                        Evidence::new("max_entries", n.settings.max_entries, None),
                    ],
                    "Entries pushed out by the cap before their TTL are answers paid for twice.",
                    Fix::action(
                        "cache.set_settings",
                        &[("namespace", &n.id), ("max_entries", &raised.to_string())],
                        format!("raise max_entries of namespace {} from {cap} to {raised} (if memory allows)", n.id),
                    ),
                )
            })
            .collect();
        found(findings)
    },
};

pub const THRESHOLD_RANGE: Rule = Rule {
    id: "cache.threshold_range",
    title: "Similarity threshold too loose or too strict",
    reads: "similarity_threshold (defaults and per namespace)",
    thresholds: &[
        ThresholdDef { name: "cache.threshold_range.min", default: 0.75, unit: "cosine" },
        ThresholdDef { name: "cache.threshold_range.max", default: 0.97, unit: "cosine" },
    ],
    source: "docs/BENCHMARKS.md and `cache eval` sweeps (outside 0.75–0.97 wrong answers or no hits dominate)",
    check: |rule, i, t| {
        let s = try_check!(stats(i));
        let (min, max) = (rule.threshold(t, ".min"), rule.threshold(t, ".max"));
        let th = s.defaults.similarity_threshold as f64;
        if (min..=max).contains(&th) {
            return Check::Ok;
        }
        let loose = th < min;
        found(vec![rule.finding(
            None,
            if loose { Severity::Critical } else { Severity::Info },
            format!("similarity_threshold {th:.2} is too {}", if loose { "loose" } else { "strict" }),
            vec![Evidence::new("similarity_threshold", format!("{th:.2}"), Some(&format!("range {min}–{max}")))],
            if loose {
                "A loose threshold serves cached answers to questions that only look alike: wrong answers."
            } else {
                "A strict threshold only matches near-identical text: the cache hardly ever hits."
            },
            {
                // Into the range at the engine's default when that is inside it, else at the nearest bound;
                // `cache eval` on labelled pairs finds the best value.
                let to = crate::engine::cache::types::CacheSettings::default().similarity_threshold.clamp(min as f32, max as f32);
                Fix::action(
                    "cache.set_settings",
                    &[("similarity_threshold", &format!("{to}"))],
                    format!(
                        "set similarity_threshold from {th:.2} to {to} (then measure with `simba-tuner cache eval PAIRS` \
                         on labelled pairs)"
                    ),
                )
            },
        )])
    },
};
