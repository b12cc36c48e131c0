//! From raw samples to series: rates from consecutive counters (a counter that went down, or a
//! server that restarted in between, gives no rate rather than a negative one), gauges as they
//! were read, and long ranges averaged into at most [`MAX_POINTS`] buckets.

use super::store::{RawValues, Sample};
use super::{MetricSeries, SampleGap, SeriesPoint, Source, MAX_POINTS};
use crate::error::{ApiError, ApiResult};

/// How a metric is computed from raw figures.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A figure as read (averaged within a bucket).
    Gauge(&'static str),
    /// As [`Kind::Gauge`], with 0 read as "not set".
    GaugeUnsetAtZero(&'static str),
    /// A counter's increase per second.
    Rate(&'static str),
    /// hits / (hits + misses) over the interval, in %.
    Ratio { hits: &'static str, misses: &'static str },
}

#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub kind: Kind,
}

const fn m(name: &'static str, label: &'static str, unit: &'static str, kind: Kind) -> Metric {
    Metric { name, label, unit, kind }
}

pub const REDIS_METRICS: &[Metric] = &[
    m("hit_rate", "Hit rate", "%", Kind::Ratio { hits: "keyspace_hits", misses: "keyspace_misses" }),
    m("memory_used", "Memory used", "bytes", Kind::Gauge("used_memory")),
    m("maxmemory", "maxmemory", "bytes", Kind::GaugeUnsetAtZero("maxmemory")),
    m("evictions_per_s", "Evictions/s", "per_s", Kind::Rate("evicted_keys")),
    m("expired_per_s", "Expirations/s", "per_s", Kind::Rate("expired_keys")),
    m("ops_per_s", "Commands/s", "per_s", Kind::Rate("total_commands_processed")),
    m("connected_clients", "Connected clients", "count", Kind::Gauge("connected_clients")),
    m("blocked_clients", "Blocked clients", "count", Kind::Gauge("blocked_clients")),
];

pub const POSTGRES_METRICS: &[Metric] = &[
    m("connections", "Connections", "count", Kind::Gauge("connections")),
    m("max_connections", "max_connections", "count", Kind::Gauge("max_connections")),
    m("idle_in_transaction", "Idle in transaction", "count", Kind::Gauge("idle_in_transaction")),
    m("slow_statement_mean_ms", "Slowest statement, mean", "ms", Kind::Gauge("slow_statement_mean_ms")),
    m("cache_hit_ratio", "Buffer cache hit ratio", "%", Kind::Ratio { hits: "blks_hit", misses: "blks_read" }),
    m("transactions_per_s", "Transactions/s", "per_s", Kind::Rate("xact_total")),
];

pub const CELERY_METRICS: &[Metric] = &[
    m("queued", "Messages queued", "count", Kind::Gauge("queued")),
    m("largest_queue", "Deepest queue", "count", Kind::Gauge("largest_queue")),
    m("in_flight", "In flight (unacked)", "count", Kind::Gauge("in_flight")),
    m("oldest_in_flight_s", "Oldest in flight", "s", Kind::Gauge("oldest_in_flight_s")),
    // The platform's own queues (sources::celery::KNOWN_QUEUES); others count in `queued`.
    m("llm_queue", "llm_queue", "count", Kind::Gauge("depth:llm_queue")),
    m("data_queue", "data_queue", "count", Kind::Gauge("depth:data_queue")),
    m("vector_queue", "vector_queue", "count", Kind::Gauge("depth:vector_queue")),
    m("celery_queue", "celery (default)", "count", Kind::Gauge("depth:celery")),
    // From the sampler's heartbeat watch (absent until it has listened two heartbeats).
    m("workers_alive", "Workers alive", "count", Kind::Gauge("workers_alive")),
    m("workers_lost", "Workers lost", "count", Kind::Gauge("workers_lost")),
];

/// The pods of Deployments (their usage from metrics.k8s.io against their requests and limits)
/// and the HPAs' replicas, all namespaces the profile's token may list.
pub const KUBERNETES_METRICS: &[Metric] = &[
    m("cpu_used_cores", "Pod CPU used", "cores", Kind::Gauge("cpu_used_cores")),
    m("cpu_requests_cores", "Pod CPU requested", "cores", Kind::Gauge("cpu_requests_cores")),
    m("cpu_limits_cores", "Pod CPU limits", "cores", Kind::Gauge("cpu_limits_cores")),
    m("memory_used", "Pod memory used", "bytes", Kind::Gauge("memory_used_bytes")),
    m("memory_requests", "Pod memory requested", "bytes", Kind::Gauge("memory_requests_bytes")),
    m("memory_limits", "Pod memory limits", "bytes", Kind::Gauge("memory_limits_bytes")),
    m("memory_of_limit_max", "Tightest pod memory of its limit", "%", Kind::Gauge("memory_of_limit_max_pct")),
    m("pods_ready", "Pods ready", "count", Kind::Gauge("pods_ready")),
    m("hpa_replicas", "HPA replicas", "count", Kind::Gauge("hpa_replicas")),
    m("hpa_desired_replicas", "HPA desired replicas", "count", Kind::Gauge("hpa_desired_replicas")),
    m("hpa_max_replicas", "HPA max replicas", "count", Kind::Gauge("hpa_max_replicas")),
    m("hpas_pinned", "HPAs pinned at max", "count", Kind::Gauge("hpas_pinned")),
];

pub fn metrics_of(source: Source) -> &'static [Metric] {
    match source {
        Source::Redis => REDIS_METRICS,
        Source::Postgres => POSTGRES_METRICS,
        Source::Celery => CELERY_METRICS,
        Source::Kubernetes => KUBERNETES_METRICS,
    }
}

/// The named metrics of `source` (all when `names` is None or empty), or an error naming the known ones.
pub fn select(source: Source, names: Option<&[String]>) -> ApiResult<Vec<Metric>> {
    let all = metrics_of(source);
    let Some(names) = names.filter(|n| !n.is_empty()) else { return Ok(all.to_vec()) };
    names
        .iter()
        .map(|n| {
            all.iter().find(|m| m.name == n.trim()).copied().ok_or_else(|| {
                let known: Vec<_> = all.iter().map(|m| m.name).collect();
                ApiError::invalid(format!(
                    "unknown {} metric '{}'; known: {}",
                    source.name(),
                    n.escape_debug(),
                    known.join(", ")
                ))
            })
        })
        .collect()
}

/// Raw figures whose name starts with this identify one run of the server (its run id, its start
/// time, when its statistics were reset): when one differs, counters started again.
const EPOCH_PREFIX: &str = "epoch_";

fn same_epoch(a: &RawValues, b: &RawValues) -> bool {
    a.values.iter().filter(|(k, _)| k.starts_with(EPOCH_PREFIX)).all(|(k, v)| b.values.get(k) == Some(v))
        && b.values.keys().filter(|k| k.starts_with(EPOCH_PREFIX)).all(|k| a.values.contains_key(k))
}

/// The increase of `counter` from `prev` to `cur`, or None across a restart or a reset.
pub fn delta(prev: &RawValues, cur: &RawValues, counter: &str) -> Option<f64> {
    let (a, b) = (prev.values.get(counter)?, cur.values.get(counter)?);
    (same_epoch(prev, cur) && b >= a).then(|| b - a)
}

/// What a bucket has gathered for one metric.
#[derive(Default, Clone, Copy)]
struct Acc {
    sum: f64,
    n: u32,
    /// Rate: counter increase and seconds; Ratio: hits and lookups.
    num: f64,
    den: f64,
}

impl Acc {
    fn add(&mut self, kind: Kind, prev: Option<(&Sample, &RawValues)>, cur: (&Sample, &RawValues)) {
        match kind {
            Kind::Gauge(f) | Kind::GaugeUnsetAtZero(f) => {
                if let Some(v) = cur.1.values.get(f).filter(|v| v.is_finite()) {
                    if matches!(kind, Kind::GaugeUnsetAtZero(_)) && *v == 0.0 {
                        return;
                    }
                    self.sum += v;
                    self.n += 1;
                }
            }
            Kind::Rate(c) => {
                let Some((ps, pv)) = prev else { return };
                let secs = (cur.0.t_ms - ps.t_ms) as f64 / 1000.0;
                if let (Some(d), true) = (delta(pv, cur.1, c), secs > 0.0) {
                    self.num += d;
                    self.den += secs;
                }
            }
            Kind::Ratio { hits, misses } => {
                let Some((_, pv)) = prev else { return };
                if let (Some(h), Some(m)) = (delta(pv, cur.1, hits), delta(pv, cur.1, misses)) {
                    self.num += h;
                    self.den += h + m;
                }
            }
        }
    }

    fn value(&self, kind: Kind) -> Option<f64> {
        match kind {
            Kind::Gauge(_) | Kind::GaugeUnsetAtZero(_) => (self.n > 0).then(|| self.sum / self.n as f64),
            Kind::Rate(_) => (self.den > 0.0).then(|| self.num / self.den),
            Kind::Ratio { .. } => (self.den > 0.0).then(|| 100.0 * self.num / self.den),
        }
    }
}

/// Each sample with the one right before it when both succeeded (the pair a rate is taken over).
pub fn with_previous(samples: &[Sample]) -> impl Iterator<Item = (Option<(&Sample, &RawValues)>, &Sample)> {
    samples.iter().enumerate().map(|(i, s)| {
        let prev = i.checked_sub(1).map(|j| &samples[j]).and_then(|p| p.ok().map(|v| (p, v)));
        (prev, s)
    })
}

/// One metric's value at each successful sample (full resolution); None where it has none.
pub fn per_sample(samples: &[Sample], metric: &Metric) -> Vec<SeriesPoint> {
    with_previous(samples)
        .filter_map(|(prev, s)| {
            let cur = s.ok()?;
            let mut acc = Acc::default();
            acc.add(metric.kind, prev, (s, cur));
            Some(SeriesPoint { t_ms: s.t_ms, value: acc.value(metric.kind) })
        })
        .collect()
}

/// The width of each point for a range: the sampling interval, or wider so that at most
/// [`MAX_POINTS`] points cover the range.
pub fn bucket_ms(from_ms: i64, to_ms: i64, interval_ms: i64) -> i64 {
    let span = (to_ms - from_ms).max(1);
    interval_ms.max(1).max((span + MAX_POINTS - 1) / MAX_POINTS)
}

/// The series of `metrics` over `[from_ms, to_ms]` with one point per bucket that has samples.
/// `samples` may start before `from_ms` (the sample before the range gives the first rate).
/// A bucket with only failed samples, and a stretch with no samples at all, gives a None point.
pub fn build(samples: &[Sample], metrics: &[Metric], from_ms: i64, to_ms: i64, bucket_ms: i64) -> Vec<MetricSeries> {
    let buckets = ((to_ms - from_ms) / bucket_ms + 1).max(1) as usize;
    metrics
        .iter()
        .map(|metric| {
            let mut accs: Vec<Option<(Acc, i64)>> = vec![None; buckets];
            let mut last_t: Option<(i64, i64)> = None;
            let mut points_at_breaks: Vec<usize> = vec![];
            for (prev, s) in with_previous(samples) {
                if s.t_ms < from_ms || s.t_ms > to_ms {
                    continue;
                }
                let b = (((s.t_ms - from_ms) / bucket_ms) as usize).min(buckets - 1);
                // A silence longer than 2.5 expected steps (sampler stopped): break the line there.
                if let Some((t, interval)) = last_t {
                    let step = bucket_ms.max(interval).max(s.interval_ms);
                    if (s.t_ms - t) * 2 > step * 5 {
                        let mid = (((t + s.t_ms) / 2 - from_ms) / bucket_ms) as usize;
                        points_at_breaks.push(mid.min(buckets - 1));
                    }
                }
                last_t = Some((s.t_ms, s.interval_ms));
                let slot = accs[b].get_or_insert((Acc::default(), s.t_ms));
                slot.1 = s.t_ms;
                if let Some(cur) = s.ok() {
                    slot.0.add(metric.kind, prev, (s, cur));
                }
            }
            let mut points = Vec::new();
            for (i, acc) in accs.iter().enumerate() {
                match acc {
                    Some((acc, t)) => points.push(SeriesPoint { t_ms: *t, value: acc.value(metric.kind) }),
                    None if points_at_breaks.contains(&i) => {
                        points.push(SeriesPoint { t_ms: from_ms + i as i64 * bucket_ms + bucket_ms / 2, value: None })
                    }
                    None => {}
                }
            }
            MetricSeries {
                metric: metric.name.to_string(),
                label: metric.label.to_string(),
                unit: metric.unit.to_string(),
                points,
            }
        })
        .collect()
}

/// Runs of failed samples: from the first failure to the next success (or the last failure while
/// it lasts), with the first failure's reason.
pub fn gaps(samples: &[Sample]) -> Vec<SampleGap> {
    let mut out: Vec<SampleGap> = vec![];
    let mut open: Option<SampleGap> = None;
    for s in samples {
        match (&s.outcome, open.as_mut()) {
            (Err(reason), None) => open = Some(SampleGap { from_ms: s.t_ms, to_ms: s.t_ms, reason: reason.clone() }),
            (Err(_), Some(g)) => g.to_ms = s.t_ms,
            (Ok(_), Some(_)) => {
                let mut g = open.take().unwrap();
                g.to_ms = s.t_ms;
                out.push(g);
            }
            (Ok(_), None) => {}
        }
    }
    out.extend(open);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    pub fn raw(pairs: &[(&str, f64)]) -> RawValues {
        RawValues {
            values: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            statements: vec![],
        }
    }
    pub fn ok(t_ms: i64, pairs: &[(&str, f64)]) -> Sample {
        Sample { t_ms, interval_ms: 10_000, outcome: Ok(raw(pairs)) }
    }
    pub fn failed(t_ms: i64) -> Sample {
        Sample { t_ms, interval_ms: 10_000, outcome: Err("Redis at 127.0.0.1:1 is down".into()) }
    }

    fn values(series: &MetricSeries) -> Vec<Option<f64>> {
        series.points.iter().map(|p| p.value).collect()
    }

    #[test]
    fn rates_come_from_consecutive_counters_and_never_go_negative() {
        let samples = vec![
            ok(0, &[("epoch_run", 1.0), ("keyspace_hits", 100.0), ("keyspace_misses", 0.0), ("evicted_keys", 0.0)]),
            ok(
                10_000,
                &[("epoch_run", 1.0), ("keyspace_hits", 190.0), ("keyspace_misses", 10.0), ("evicted_keys", 50.0)],
            ),
            failed(20_000),
            // Restarted: counters back near zero, another run id.
            ok(30_000, &[("epoch_run", 2.0), ("keyspace_hits", 3.0), ("keyspace_misses", 1.0), ("evicted_keys", 0.0)]),
            ok(40_000, &[("epoch_run", 2.0), ("keyspace_hits", 6.0), ("keyspace_misses", 7.0), ("evicted_keys", 20.0)]),
        ];
        let metrics = select(Source::Redis, Some(&["hit_rate".into(), "evictions_per_s".into()])).unwrap();
        let series = build(&samples, &metrics, 0, 40_000, 10_000);
        assert_eq!(values(&series[0]), vec![None, Some(90.0), None, None, Some(100.0 * 3.0 / 9.0)]);
        assert_eq!(values(&series[1]), vec![None, Some(5.0), None, None, Some(2.0)]);
        // A counter that went down without a new run id (CONFIG RESETSTAT) gives no rate either.
        let reset = vec![ok(0, &[("evicted_keys", 50.0)]), ok(10_000, &[("evicted_keys", 5.0)])];
        assert_eq!(values(&build(&reset, &metrics[1..], 0, 10_000, 10_000)[0]), vec![None, None]);
        assert_eq!(
            gaps(&samples),
            vec![SampleGap { from_ms: 20_000, to_ms: 30_000, reason: "Redis at 127.0.0.1:1 is down".into() }]
        );
    }

    #[test]
    fn long_ranges_are_bucketed_with_exact_rates_per_bucket() {
        // A week at 10 s: 60,480 samples, 1 hit and 1 miss per sample, then 3 hits per sample.
        let n = 60_480i64;
        let mut hits = 0.0;
        let mut misses = 0.0;
        let samples: Vec<Sample> = (0..n)
            .map(|i| {
                if i < n / 2 {
                    hits += 1.0;
                    misses += 1.0;
                } else {
                    hits += 3.0;
                }
                ok(i * 10_000, &[("keyspace_hits", hits), ("keyspace_misses", misses), ("used_memory", i as f64)])
            })
            .collect();
        let to = (n - 1) * 10_000;
        let width = bucket_ms(0, to, 10_000);
        assert_eq!(width, (to + MAX_POINTS - 1) / MAX_POINTS);
        let metrics = select(Source::Redis, Some(&["hit_rate".into(), "memory_used".into()])).unwrap();
        let series = build(&samples, &metrics, 0, to, width);
        assert!(series[0].points.len() as i64 <= MAX_POINTS, "{}", series[0].points.len());
        assert!(series[0].points.len() >= 700);
        assert_eq!(series[0].points[1].value, Some(50.0));
        assert_eq!(series[0].points.last().unwrap().value, Some(100.0));
        // A gauge is the bucket's mean: samples 84..=167 in the second bucket.
        assert_eq!(series[1].points[1].value, Some((84.0 + 167.0) / 2.0));
    }

    #[test]
    fn a_silence_breaks_the_line_and_unknown_metrics_are_named() {
        let samples = vec![
            ok(0, &[("used_memory", 1.0)]),
            ok(10_000, &[("used_memory", 2.0)]),
            ok(100_000, &[("used_memory", 3.0)]),
        ];
        let metrics = select(Source::Redis, Some(&["memory_used".into()])).unwrap();
        let series = build(&samples, &metrics, 0, 100_000, 10_000);
        assert_eq!(values(&series[0]), vec![Some(1.0), Some(2.0), None, Some(3.0)]);
        let e = select(Source::Redis, Some(&["connections".into()])).unwrap_err();
        assert!(
            e.message.contains("unknown redis metric 'connections'") && e.message.contains("hit_rate"),
            "{}",
            e.message
        );
        assert_eq!(select(Source::Postgres, None).unwrap().len(), 6);
    }
}
