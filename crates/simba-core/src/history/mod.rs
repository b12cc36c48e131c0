//! History: a sampler reads cheap figures from each open profile's Redis and PostgreSQL at an
//! interval and keeps them in a local SQLite file; series, charts and alerts are computed from
//! those raw samples. Raw counters are stored (not rates), so a rate can be recomputed over any
//! resolution, and a server restart (counters back to zero) never shows as a negative rate.

pub mod alerts;
pub mod chart;
pub mod collect;
pub mod series;
pub mod store;

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How often the sampler reads each profile, unless told otherwise.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 10;
/// How long samples are kept.
pub const DEFAULT_RETENTION_DAYS: u32 = 7;
/// The range a history request covers when it names none, and the bounds it is clamped to.
pub const DEFAULT_RANGE_SECONDS: u64 = 3600;
pub const MIN_RANGE_SECONDS: u64 = 900;
pub const MAX_RANGE_SECONDS: u64 = 7 * 24 * 3600;
/// Points per series at most: longer ranges are averaged into wider buckets.
pub const MAX_POINTS: i64 = 720;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HistoryRequest {
    /// Profile name (default `embedded`, as for `redis` and `db`).
    #[serde(default)]
    pub profile: Option<String>,
    /// `redis`, `postgres` or `celery`.
    pub source: String,
    /// How far back, seconds (default 3600, clamped to 900..=604800).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub range_seconds: Option<u64>,
    /// Metric names (default: every metric of the source).
    #[serde(default)]
    pub metrics: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HistoryReport {
    pub profile: String,
    pub source: String,
    #[ts(type = "number")]
    pub from_ms: i64,
    #[ts(type = "number")]
    pub to_ms: i64,
    /// The width each point covers (the sampling interval, or wider for long ranges).
    #[ts(type = "number")]
    pub interval_seconds: u64,
    pub series: Vec<MetricSeries>,
    pub gaps: Vec<SampleGap>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct MetricSeries {
    pub metric: String,
    pub label: String,
    /// `%`, `bytes`, `per_s`, `ms` or `count`.
    pub unit: String,
    pub points: Vec<SeriesPoint>,
}

/// One point; `value: None` is a break in the line (a failed sample, or no data for that time).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct SeriesPoint {
    #[ts(type = "number")]
    pub t_ms: i64,
    pub value: Option<f64>,
}

/// A stretch where sampling failed, with why (secrets redacted).
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct SampleGap {
    #[ts(type = "number")]
    pub from_ms: i64,
    #[ts(type = "number")]
    pub to_ms: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SamplerStatus {
    #[ts(type = "number")]
    pub interval_seconds: u64,
    pub retention_days: u32,
    pub profiles: Vec<SampledProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct SampledProfile {
    pub profile: String,
    /// `redis`, `postgres`.
    pub sources: Vec<String>,
    #[ts(type = "number | null")]
    pub last_sample_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Samples stored for this profile (all sources).
    #[ts(type = "number")]
    pub samples: u64,
}

/// The monitored systems with history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Redis,
    Postgres,
    /// The Celery broker (a Redis database): queue depths, messages in flight, workers.
    Celery,
    /// The Kubernetes API: pod usage against requests and limits, HPA replicas.
    Kubernetes,
}

impl Source {
    pub const ALL: [Source; 4] = [Source::Redis, Source::Postgres, Source::Celery, Source::Kubernetes];

    pub fn parse(s: &str) -> ApiResult<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "redis" => Ok(Source::Redis),
            "postgres" | "postgresql" => Ok(Source::Postgres),
            "celery" => Ok(Source::Celery),
            "kubernetes" | "k8s" => Ok(Source::Kubernetes),
            other => Err(ApiError::invalid(format!(
                "unknown source '{}': use 'redis', 'postgres', 'celery' or 'kubernetes'",
                other.escape_debug()
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Source::Redis => "redis",
            Source::Postgres => "postgres",
            Source::Celery => "celery",
            Source::Kubernetes => "kubernetes",
        }
    }
    pub fn service(self) -> crate::profiles::Service {
        match self {
            Source::Redis => crate::profiles::Service::Redis,
            Source::Postgres => crate::profiles::Service::Postgres,
            Source::Celery => crate::profiles::Service::CeleryBroker,
            Source::Kubernetes => crate::profiles::Service::Kubernetes,
        }
    }
}

/// `range_seconds` with its default and bounds applied.
pub fn clamp_range(range_seconds: Option<u64>) -> u64 {
    range_seconds.unwrap_or(DEFAULT_RANGE_SECONDS).clamp(MIN_RANGE_SECONDS, MAX_RANGE_SECONDS)
}

/// Parses `15m`, `1h`, `7d`, `90s` or a number of seconds.
pub fn parse_range(text: &str) -> ApiResult<u64> {
    let t = text.trim();
    let bad = || {
        ApiError::invalid(format!(
            "range '{}' is not understood: use a number with s, m, h or d, e.g. 15m, 1h, 7d (from 15m to 7d)",
            t.escape_debug()
        ))
    };
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if !(MIN_RANGE_SECONDS..=MAX_RANGE_SECONDS).contains(&secs) {
        return Err(ApiError::invalid(format!("range '{t}' is outside 15m..7d")));
    }
    Ok(secs)
}

/// `HH:MM:SS` UTC of a time in ms (for text output).
pub fn clock_utc(t_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(t_ms).map(|d| d.format("%H:%M:%S").to_string()).unwrap_or_default()
}

pub use crate::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_clamp() {
        assert_eq!(parse_range("15m").unwrap(), 900);
        assert_eq!(parse_range("1h").unwrap(), 3600);
        assert_eq!(parse_range("7d").unwrap(), 604_800);
        assert_eq!(parse_range("3600").unwrap(), 3600);
        for bad in ["", "1w", "5m", "8d", "h", "99999999999999999999d"] {
            let e = parse_range(bad).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidInput, "{bad}");
        }
        assert_eq!(clamp_range(None), 3600);
        assert_eq!(clamp_range(Some(1)), 900);
        assert_eq!(clamp_range(Some(u64::MAX)), 604_800);
        assert!(Source::parse("mysql").unwrap_err().message.contains("'celery' or 'kubernetes'"));
    }
}
