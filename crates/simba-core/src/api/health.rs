//! Health, readiness and metrics of the local engine, for `simba-tuner serve`'s probes
//! (`/api/v1/healthz`, `/api/v1/ready`) and Prometheus (`/metrics`).
//!
//! Probes call these every few seconds without a token, so they cost nothing (no model call, no
//! query on a monitored system) and say nothing a stranger could use: each check has a state, a
//! latency and a fixed sentence, never a URL, a host or an error text from a server.

use super::Service;
use crate::engine::Backend;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};
use ts_rs::TS;

/// A probe never waits longer than this on one check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Opening the cache or loading the chat model, once per process.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CheckState {
    Ok,
    Down,
    /// Not part of this setup (a Redis check when the cache is in SQLite).
    NotConfigured,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct HealthCheck {
    pub state: CheckState,
    pub latency_ms: Option<f64>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct HealthReport {
    /// No configured check is down.
    pub healthy: bool,
    /// Queries can be answered (the chat model can be called; a cache that is down only makes
    /// answers uncached).
    pub ready: bool,
    pub checks: BTreeMap<String, HealthCheck>,
}

fn check(state: CheckState, started: Option<Instant>, detail: &str) -> HealthCheck {
    HealthCheck { state, latency_ms: started.map(|t| t.elapsed().as_secs_f64() * 1000.0), detail: detail.into() }
}

impl Service {
    /// Each part the engine answers with: the cache's store (`database` for SQLite or
    /// PostgreSQL, `redis` for Redis), the chat model, and the background workers.
    pub async fn health(&self) -> HealthReport {
        let engine = self.engine();
        let started = Instant::now();
        // Opening the cache opens its store and index once (the models load on the first lookup,
        // not here); on a large store that is warming up, not a failure, so it has a bound of its
        // own; the store's answer then has 2 s.
        let store = match tokio::time::timeout(OPEN_TIMEOUT, engine.cache()).await {
            Ok(Ok(cache)) => tokio::time::timeout(CHECK_TIMEOUT, cache.store().get(0))
                .await
                .map_err(|_| "the cache store did not answer within 2 s")
                .and_then(|r| r.map(|_| ()).map_err(|_| "the cache store does not answer")),
            Ok(Err(_)) => Err("the cache could not be opened"),
            Err(_) => Err("the cache did not open within 60 s"),
        };
        let store_check = match store {
            Ok(()) => check(CheckState::Ok, Some(started), "the semantic cache's store answers"),
            Err(why) => check(CheckState::Down, Some(started), why),
        };
        let not_here = |what: &str| check(CheckState::NotConfigured, None, what);
        let mut checks = BTreeMap::new();
        match engine.backend() {
            Backend::Embedded { .. } | Backend::Postgres { .. } => {
                checks.insert("database".to_string(), store_check);
                checks.insert("redis".to_string(), not_here("the cache is not on Redis"));
            }
            Backend::Redis { .. } => {
                checks.insert("redis".to_string(), store_check);
                checks.insert("database".to_string(), not_here("the cache is not on PostgreSQL"));
            }
        }
        let model = self.model_check().await;
        let ready = model.state == CheckState::Ok;
        checks.insert("llm_providers".to_string(), model);
        checks.insert(
            "workers".to_string(),
            not_here("queries are answered in process; there are no background workers"),
        );
        let healthy = checks.values().all(|c| c.state != CheckState::Down);
        HealthReport { healthy, ready, checks }
    }

    /// Whether queries can be answered: the chat model can be called (the readiness probe; the
    /// cache's store is not asked, since a cache that is down only makes answers uncached).
    pub async fn ready(&self) -> bool {
        self.model_check().await.state == CheckState::Ok
    }

    async fn model_check(&self) -> HealthCheck {
        let started = Instant::now();
        match self.engine().query_engine().await {
            Ok(q) => match tokio::time::timeout(OPEN_TIMEOUT, q.model().ready()).await {
                Ok(Ok(())) => check(CheckState::Ok, Some(started), "the chat model can be called"),
                Ok(Err(why)) => check(CheckState::Down, Some(started), &why),
                Err(_) => check(CheckState::Down, Some(started), "the chat model did not load within 60 s"),
            },
            Err(_) => check(CheckState::Down, Some(started), "the chat model is not configured correctly"),
        }
    }

    /// The engine's own figures in Prometheus' text exposition format (version 0.0.4).
    pub async fn metrics_text(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {}", prometheus_number(*value));
            }
        };
        if let Ok(cache) = self.engine().cache().await {
            if let Ok(s) = cache.stats().await {
                metric(
                    "simba_cache_hits_total",
                    "counter",
                    "Semantic cache lookups that served an entry.",
                    &[(String::new(), s.hits as f64)],
                );
                metric(
                    "simba_cache_misses_total",
                    "counter",
                    "Semantic cache lookups that served nothing.",
                    &[(String::new(), s.misses as f64)],
                );
                metric(
                    "simba_cache_lookups_total",
                    "counter",
                    "Semantic cache lookups.",
                    &[(String::new(), (s.hits + s.misses) as f64)],
                );
                metric(
                    "simba_cache_entries",
                    "gauge",
                    "Entries in the semantic cache.",
                    &[(String::new(), s.entries as f64)],
                );
                metric(
                    "simba_cache_evictions_total",
                    "counter",
                    "Entries evicted by max_entries.",
                    &[(String::new(), s.evictions as f64)],
                );
                let quantiles: Vec<(String, f64)> = [
                    ("0.5", s.lookup_latency.p50_us),
                    ("0.9", s.lookup_latency.p90_us),
                    ("0.99", s.lookup_latency.p99_us),
                ]
                .into_iter()
                .filter_map(|(q, v)| v.map(|v| (format!("{{quantile=\"{q}\"}}"), v / 1e6)))
                .collect();
                metric("simba_cache_lookup_latency_seconds", "summary", "Semantic cache lookup time.", &quantiles);
            }
        }
        if let Ok(q) = self.engine().query_engine().await {
            let s = q.stats();
            let by_source = [
                ("session_cache", s.session_hits),
                ("semantic_cache", s.semantic_hits),
                ("model", s.model_calls.saturating_sub(s.model_errors)),
                ("stale_session_cache", s.stale_answers),
            ];
            let samples: Vec<(String, f64)> =
                by_source.iter().map(|(k, v)| (format!("{{source=\"{k}\"}}"), *v as f64)).collect();
            metric(
                "simba_queries_answered_total",
                "counter",
                "Queries answered, by the level that answered.",
                &samples,
            );
            metric("simba_queries_total", "counter", "Queries asked.", &[(String::new(), s.queries as f64)]);
            metric(
                "simba_queries_uncached_total",
                "counter",
                "Queries answered without the cache, which could not be reached.",
                &[(String::new(), s.uncached as f64)],
            );
            metric(
                "simba_model_calls_total",
                "counter",
                "Calls to the chat model.",
                &[(String::new(), s.model_calls as f64)],
            );
            metric(
                "simba_model_errors_total",
                "counter",
                "Failed calls to the chat model.",
                &[(String::new(), s.model_errors as f64)],
            );
            let tokens = [("prompt", s.prompt_tokens), ("completion", s.completion_tokens)];
            let samples: Vec<(String, f64)> =
                tokens.iter().map(|(k, v)| (format!("{{kind=\"{k}\"}}"), *v as f64)).collect();
            metric("simba_model_tokens_total", "counter", "Tokens the chat model read and wrote.", &samples);
            metric(
                "simba_model_cost_usd_total",
                "counter",
                "What the chat model's calls cost, from the price table.",
                &[(String::new(), s.cost_usd)],
            );
            metric(
                "simba_cache_saved_usd_total",
                "counter",
                "What the cache hits saved, estimated.",
                &[(String::new(), s.saved_usd)],
            );
            let bounds_s = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
            let bounds_us: Vec<f64> = bounds_s.iter().map(|b| b * 1e6).collect();
            let (counts, count, sum_us) = q.latency(&bounds_us);
            let mut samples: Vec<(String, f64)> =
                bounds_s.iter().zip(&counts).map(|(b, n)| (format!("_bucket{{le=\"{b}\"}}"), *n as f64)).collect();
            samples.push(("_bucket{le=\"+Inf\"}".into(), count as f64));
            samples.push(("_sum".into(), sum_us / 1e6));
            samples.push(("_count".into(), count as f64));
            metric("simba_query_latency_seconds", "histogram", "Time to answer a query, end to end.", &samples);
        }
        out
    }
}

/// A sample value as the exposition format writes it (`NaN`, `+Inf`, `-Inf` included).
fn prometheus_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}
