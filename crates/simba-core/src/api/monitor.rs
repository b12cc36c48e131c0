//! Monitoring in depth: one report per server (the Redis and Database pages,
//! `simba-tuner redis`, `simba-tuner db`). Only reads from the monitored servers.

use super::Service;
use crate::error::{ApiError, ApiResult};
use crate::profiles::{Endpoint, ResolvedProfile, Service as Svc};
use crate::sources::celery::{self, QueuesOptions, QueuesReport};
use crate::sources::explain::{self, ExplainReport};
use crate::sources::postgres_report::{self, DbReport, DbReportOptions};
use crate::sources::redis_report::{self, RedisReport, SampleBudget};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RedisReportRequest {
    /// Profile name; `env` or `embedded` rules as for `status` (default `embedded`).
    #[serde(default)]
    pub profile: Option<String>,
    /// How many keys the memory-by-prefix sample may read (default 20,000).
    #[serde(default)]
    pub sample_keys: Option<u32>,
    /// How long it may take, ms (default 2,000).
    #[serde(default)]
    pub sample_millis: Option<u32>,
}

impl RedisReportRequest {
    pub fn budget(&self) -> SampleBudget {
        let d = SampleBudget::default();
        SampleBudget {
            max_keys: self.sample_keys.map(|k| k.max(1) as u64).unwrap_or(d.max_keys),
            max_time: self.sample_millis.map(|ms| Duration::from_millis(ms.max(1) as u64)).unwrap_or(d.max_time),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DbReportRequest {
    /// Profile name (default `embedded`).
    #[serde(default)]
    pub profile: Option<String>,
    /// How many statements in each top list (default 10, at most 100).
    #[serde(default)]
    pub top: Option<u32>,
    /// Active queries running at least this many seconds are long-running (default 5).
    #[serde(default)]
    pub long_query_seconds: Option<f64>,
}

impl DbReportRequest {
    pub fn options(&self) -> DbReportOptions {
        let d = DbReportOptions::default();
        DbReportOptions {
            top_n: self.top.map(|t| t.clamp(1, 100) as i64).unwrap_or(d.top_n),
            long_query_seconds: self.long_query_seconds.map(|s| s.max(0.0)).unwrap_or(d.long_query_seconds),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ExplainRequest {
    /// Profile name (default `embedded`).
    #[serde(default)]
    pub profile: Option<String>,
    /// One read-only statement (SELECT, WITH, VALUES, TABLE).
    pub sql: String,
    /// statement_timeout for the run, ms (default 30,000).
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

/// The profile's endpoint for `service`, or an error that says how to add one.
fn endpoint_of(profile: &ResolvedProfile, service: Svc) -> ApiResult<&Endpoint> {
    profile.endpoint(service).ok_or_else(|| {
        let (flag, add_flag) = match service {
            Svc::Redis => ("--redis", "--redis"),
            Svc::CeleryBroker => ("--broker", "--celery-broker"),
            _ => ("--postgres", "--postgres"),
        };
        ApiError::invalid(format!(
            "profile '{}' has no {} URL: add one with `simba-tuner profile add {} {add_flag} URL`, or pass {flag} URL",
            profile.name,
            service.label(),
            profile.name
        ))
    })
}

impl Service {
    pub async fn redis_report(&self, req: RedisReportRequest) -> ApiResult<RedisReport> {
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        self.redis_report_of(&profile, req.budget()).await
    }

    /// A Redis report; the interval figures cover the time since the previous report of the same
    /// server in this process.
    pub async fn redis_report_of(&self, profile: &ResolvedProfile, budget: SampleBudget) -> ApiResult<RedisReport> {
        let endpoint = endpoint_of(profile, Svc::Redis)?;
        let key = format!("{}\n{}", profile.name, endpoint.display);
        let previous = self.inner.last_redis_counters.lock().await.get(&key).cloned();
        let (report, counters) = redis_report::collect(endpoint, budget, previous.as_ref()).await?;
        self.inner.last_redis_counters.lock().await.insert(key, counters);
        Ok(report)
    }
}

impl Service {
    pub async fn db_report(&self, req: DbReportRequest) -> ApiResult<DbReport> {
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        self.db_report_of(&profile, req.options()).await
    }

    pub async fn db_report_of(&self, profile: &ResolvedProfile, options: DbReportOptions) -> ApiResult<DbReport> {
        postgres_report::collect(endpoint_of(profile, Svc::Postgres)?, options).await
    }
}

impl Service {
    pub async fn explain(&self, req: ExplainRequest) -> ApiResult<ExplainReport> {
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        let timeout = Duration::from_millis(req.timeout_ms.unwrap_or(30_000).max(1) as u64);
        self.explain_of(&profile, &req.sql, timeout).await
    }

    /// EXPLAIN ANALYZE in a rolled-back READ ONLY transaction; writes are refused before sending.
    pub async fn explain_of(
        &self,
        profile: &ResolvedProfile,
        sql: &str,
        timeout: Duration,
    ) -> ApiResult<ExplainReport> {
        explain::explain(endpoint_of(profile, Svc::Postgres)?, sql, timeout).await
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueuesReportRequest {
    /// Profile name (default `embedded`); its Celery broker URL is read.
    #[serde(default)]
    pub profile: Option<String>,
    /// How long to listen for worker events, ms (default 2,500).
    #[serde(default)]
    pub listen_millis: Option<u32>,
    /// The broker's visibility_timeout, s (default 3,600).
    #[serde(default)]
    pub visibility_timeout_seconds: Option<f64>,
    /// Ask the workers over the pidbox (ping, active, stats, active_queues): publishes one control
    /// message per method.
    #[serde(default)]
    pub inspect: bool,
}

impl QueuesReportRequest {
    pub fn options(&self) -> QueuesOptions {
        let d = QueuesOptions::default();
        QueuesOptions {
            listen: self.listen_millis.map(|ms| Duration::from_millis(ms.clamp(1, 60_000) as u64)).unwrap_or(d.listen),
            visibility_timeout: self
                .visibility_timeout_seconds
                .map(|s| Duration::from_secs_f64(s.clamp(1.0, 1e9)))
                .unwrap_or(d.visibility_timeout),
            inspect: self.inspect,
            ..d
        }
    }
}

impl Service {
    pub async fn queues_report(&self, req: QueuesReportRequest) -> ApiResult<QueuesReport> {
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        self.queues_report_of(&profile, &req.options()).await
    }

    /// Celery queues, in-flight messages and workers from the profile's broker.
    pub async fn queues_report_of(
        &self,
        profile: &ResolvedProfile,
        options: &QueuesOptions,
    ) -> ApiResult<QueuesReport> {
        celery::collect(endpoint_of(profile, Svc::CeleryBroker)?, options).await
    }
}
