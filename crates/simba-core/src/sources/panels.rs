//! The Prometheus panels of the Cluster page: PromQL per panel, with the platform's defaults in
//! [`DEFAULT_PANELS`] (the one place they live) and a profile's changes in `prom_panels.toml`
//! (`[profile.panel_id] expr = …, title = …, unit = …, enabled = …`; an id the defaults do not
//! know is a panel of the profile's own). Each panel is one range query ending now: its last
//! sample is the current value, the rest draws the sparkline.

use super::prometheus::{Prometheus, QueryResult};
use crate::error::{ApiError, ApiResult, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// `(id, title, unit, PromQL)`. Units: `req/s`, `s`, `ratio`, `bytes`, `cores`, `count`.
/// Metric names are the usual exporters' (prometheus_client/starlette-exporter for the app,
/// celery-exporter, cAdvisor via the kubelet, redis_exporter, postgres_exporter, node_exporter).
pub const DEFAULT_PANELS: &[(&str, &str, &str, &str)] = &[
    ("request_rate", "Request rate", "req/s", "sum by (job) (rate(http_requests_total[5m]))"),
    (
        "request_latency_p95",
        "Request latency p95",
        "s",
        "histogram_quantile(0.95, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "error_ratio",
        "5xx ratio",
        "ratio",
        "sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) / sum by (job) (rate(http_requests_total[5m]))",
    ),
    (
        "cache_hit_rate",
        "Redis cache hit rate",
        "ratio",
        "sum by (instance) (rate(redis_keyspace_hits_total[5m])) / (sum by (instance) \
         (rate(redis_keyspace_hits_total[5m])) + sum by (instance) (rate(redis_keyspace_misses_total[5m])))",
    ),
    ("queue_depth", "Celery queue depth", "count", "sum by (queue_name) (celery_queue_length)"),
    (
        "pod_cpu",
        "Pod CPU",
        "cores",
        "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=\"\", container!=\"POD\"}[5m]))",
    ),
    (
        "pod_memory",
        "Pod memory (working set)",
        "bytes",
        "sum by (namespace, pod) (container_memory_working_set_bytes{container!=\"\", container!=\"POD\"})",
    ),
    ("redis_up", "Redis up", "count", "redis_up"),
    ("redis_clients", "Redis connected clients", "count", "redis_connected_clients"),
    ("redis_memory", "Redis memory used", "bytes", "redis_memory_used_bytes"),
    ("pg_up", "PostgreSQL up", "count", "pg_up"),
    ("pg_connections", "PostgreSQL connections", "count", "sum by (instance, datname) (pg_stat_activity_count)"),
    ("node_cpu", "Node CPU busy", "ratio", "1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))"),
    (
        "node_memory_available",
        "Node memory available",
        "ratio",
        "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
    ),
    ("node_load1", "Node load (1 min)", "count", "node_load1"),
];

/// One panel as it is shown: the default with the profile's changes, or the profile's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Panel {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub expr: String,
    pub enabled: bool,
    /// Whether the PromQL is the default's (false for a changed or added panel).
    pub default: bool,
}

/// A profile's panels, as saved or to save.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PanelSet {
    pub profile: String,
    pub panels: Vec<Panel>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PanelsReport {
    pub prometheus: String,
    pub profile: String,
    /// The window the sparklines cover, s, and their step.
    pub range_seconds: f64,
    pub step_seconds: f64,
    pub panels: Vec<PanelResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PanelResult {
    pub panel: Panel,
    /// The range result; each series' last sample is the value now.
    pub result: Option<QueryResult>,
    /// Why there is none (a bad expression, a failed query): the other panels still show.
    pub error: Option<ApiError>,
}

/// On disk, per profile and panel id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Override {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
}

type PanelsFile = BTreeMap<String, BTreeMap<String, Override>>;

fn panels_with(overrides: Option<&BTreeMap<String, Override>>) -> Vec<Panel> {
    let get = |id: &str| overrides.and_then(|m| m.get(id));
    let mut out: Vec<Panel> = DEFAULT_PANELS
        .iter()
        .map(|(id, title, unit, expr)| {
            let o = get(id);
            let e = o.and_then(|o| o.expr.clone()).unwrap_or_else(|| expr.to_string());
            Panel {
                id: id.to_string(),
                title: o.and_then(|o| o.title.clone()).unwrap_or_else(|| title.to_string()),
                unit: o.and_then(|o| o.unit.clone()).unwrap_or_else(|| unit.to_string()),
                default: e == *expr,
                expr: e,
                enabled: o.and_then(|o| o.enabled).unwrap_or(true),
            }
        })
        .collect();
    for (id, o) in overrides.into_iter().flatten() {
        if DEFAULT_PANELS.iter().any(|d| d.0 == id) {
            continue;
        }
        if let Some(expr) = &o.expr {
            out.push(Panel {
                id: id.clone(),
                title: o.title.clone().unwrap_or_else(|| id.clone()),
                unit: o.unit.clone().unwrap_or_else(|| "count".into()),
                expr: expr.clone(),
                enabled: o.enabled.unwrap_or(true),
                default: false,
            });
        }
    }
    out
}

/// The panels file in a config folder.
pub struct PanelStore {
    path: PathBuf,
}

impl PanelStore {
    pub fn new(config_dir: &Path) -> Self {
        Self { path: config_dir.join("prom_panels.toml") }
    }

    fn read(&self) -> ApiResult<PanelsFile> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                ApiError::new(
                    ErrorCode::BadConfig,
                    format!("{} is not valid TOML: {}. Fix or remove the file.", self.path.display(), e.message()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PanelsFile::default()),
            Err(e) => Err(ApiError::new(ErrorCode::BadConfig, format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    pub fn panels(&self, profile: &str) -> ApiResult<PanelSet> {
        Ok(PanelSet { profile: profile.into(), panels: panels_with(self.read()?.get(profile)) })
    }

    /// Saves the panels given (the others keep theirs). A panel equal to its default is stored as
    /// no change; `reset` forgets every change of the profile first.
    pub fn save(&self, update: &PanelSet, reset: bool) -> ApiResult<PanelSet> {
        for p in &update.panels {
            if p.id.is_empty() || !p.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(ApiError::invalid(format!(
                    "panel id '{}' must be letters, digits, '_' or '-'",
                    p.id.escape_debug()
                )));
            }
            if p.expr.trim().is_empty() {
                return Err(ApiError::invalid(format!("panel '{}' needs a PromQL expression", p.id)));
            }
        }
        let mut file = self.read()?;
        if reset {
            file.remove(&update.profile);
        }
        let entry = file.entry(update.profile.clone()).or_default();
        for p in &update.panels {
            let d = DEFAULT_PANELS.iter().find(|d| d.0 == p.id);
            let differs = |v: &str, dv: Option<&str>| (Some(v) != dv).then(|| v.to_string());
            let o = Override {
                title: differs(&p.title, d.map(|d| d.1)),
                unit: differs(&p.unit, d.map(|d| d.2)),
                expr: differs(p.expr.trim(), d.map(|d| d.3)),
                enabled: (!p.enabled).then_some(false),
            };
            if o == Override::default() {
                entry.remove(&p.id);
            } else {
                entry.insert(p.id.clone(), o);
            }
        }
        if entry.is_empty() {
            file.remove(&update.profile);
        }
        let text = toml::to_string(&file).map_err(|e| ApiError::internal(e.to_string()))?;
        crate::paths::write_file_atomic(&self.path, &text)
            .map_err(|e| ApiError::new(ErrorCode::BadConfig, format!("cannot write {}: {e}", self.path.display())))?;
        self.panels(&update.profile)
    }
}

/// Runs every enabled panel as a range query over the last `range_seconds` ending `now`, at once.
pub async fn collect(
    prom: &Prometheus,
    profile: &str,
    panels: Vec<Panel>,
    range_seconds: f64,
    now: f64,
) -> PanelsReport {
    // About 60 points per sparkline, never finer than Prometheus's usual 15 s scrape.
    let step = (range_seconds / 60.0).max(15.0).round();
    let start = now - step * (range_seconds / step).floor();
    let runs = panels.into_iter().filter(|p| p.enabled).map(|panel| async move {
        match prom.range(&panel.expr, start, now, step).await {
            Ok(r) => PanelResult { panel, result: Some(r), error: None },
            Err(e) => PanelResult { panel, result: None, error: Some(e) },
        }
    });
    PanelsReport {
        prometheus: prom.display().to_string(),
        profile: profile.to_string(),
        range_seconds: now - start,
        step_seconds: step,
        panels: futures::future::join_all(runs).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_changes_and_own_panels() {
        let dir = tempfile::tempdir().unwrap();
        let store = PanelStore::new(dir.path());
        let d = store.panels("p").unwrap();
        assert_eq!(d.panels.len(), DEFAULT_PANELS.len());
        assert!(d.panels.iter().all(|p| p.enabled && p.default));
        let mut changed = d.panels[0].clone();
        changed.expr = "sum(rate(flask_http_request_total[5m]))".into();
        let mut off = d.panels[1].clone();
        off.enabled = false;
        let own = Panel {
            id: "llm_tokens".into(),
            title: "LLM tokens/s".into(),
            unit: "count".into(),
            expr: "sum(rate(llm_tokens_total[5m]))".into(),
            enabled: true,
            default: false,
        };
        let saved = store.save(&PanelSet { profile: "p".into(), panels: vec![changed, off, own] }, false).unwrap();
        assert_eq!(saved.panels[0].expr, "sum(rate(flask_http_request_total[5m]))");
        assert!(!saved.panels[0].default);
        assert!(!saved.panels[1].enabled);
        assert_eq!(saved.panels.last().unwrap().id, "llm_tokens");
        // Other profiles keep the defaults; a reset brings them back.
        assert!(store.panels("q").unwrap().panels.iter().all(|p| p.default));
        let back = store.save(&PanelSet { profile: "p".into(), panels: vec![] }, true).unwrap();
        assert_eq!(back.panels, d.panels);
        let bad = Panel { id: "a b".into(), ..d.panels[0].clone() };
        assert!(store.save(&PanelSet { profile: "p".into(), panels: vec![bad] }, false).is_err());
    }
}
