//! The advisor: pure functions from the collectors' snapshots to findings with evidence, and the
//! actions that fix them (the only code that writes to a monitored system).
//!
//! - [`rules`]: one registry of typed rules (id, figures read, thresholds, source, check).
//! - [`actions`]: plan → preview → apply → verify → rollback, every apply recorded by [`audit`].

pub mod actions;
pub mod audit;
pub mod rules;
pub mod thresholds;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

pub use rules::{evaluate, Inputs, RULES};
pub use thresholds::Thresholds;

/// How much a finding matters: `critical` loses data or availability, `warning` costs
/// performance or money, `info` is worth a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// One figure a finding rests on, with its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Evidence {
    pub name: String,
    /// As a person reads it (`512.0 MiB`, `0.42`, `300 s`).
    pub value: String,
    pub unit: Option<String>,
}

impl Evidence {
    pub fn new(name: &str, value: impl ToString, unit: Option<&str>) -> Self {
        Self { name: name.into(), value: value.to_string(), unit: unit.map(String::from) }
    }
}

/// How to fix a finding: a one-click action (previewed, confirmed, audited, reversible) or advice
/// when no safe one-click fix exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Fix {
    Action {
        /// An action id (`redis.config_set`, `pg.alter_system`, …) for `action_preview`.
        action: String,
        params: BTreeMap<String, String>,
        /// What it will do, in one line.
        summary: String,
    },
    Advice {
        text: String,
    },
}

impl Fix {
    pub fn action(action: &str, params: &[(&str, &str)], summary: impl Into<String>) -> Self {
        Fix::Action {
            action: action.into(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            summary: summary.into(),
        }
    }
    pub fn advice(text: impl Into<String>) -> Self {
        Fix::Advice { text: text.into() }
    }
}

/// The history behind a finding: series the sampler keeps (`history_series`/`history_chart` with
/// this source and these metrics), so the figure can be seen over time, not just now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EvidenceChart {
    /// `redis`, `postgres` or `celery`.
    pub source: String,
    pub metrics: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Finding {
    /// Unique in one report: the rule id, plus the object for rules that flag several
    /// (`pg.unused_index:public.events_kind_b`).
    pub id: String,
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    pub evidence: Vec<Evidence>,
    /// Why it matters, in one sentence.
    pub why: String,
    /// Where the rule and its threshold come from.
    pub source: String,
    pub fix: Fix,
    /// The history of the figures it rests on, when the sampler keeps them.
    #[serde(default)]
    pub chart: Option<EvidenceChart>,
}

/// What one rule concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RuleState {
    Ok,
    Finding,
    /// The figures it needs were not collected (no such server in the profile, no permission…).
    NotEnoughData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RuleRun {
    pub rule: String,
    pub state: RuleState,
    /// For `not_enough_data`: what is missing.
    pub note: Option<String>,
}

/// The answer of `advise`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AdviceReport {
    pub profile: String,
    pub collected_at: String,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// Every rule with its outcome, in registry order.
    pub rules: Vec<RuleRun>,
    /// What could not be collected (a server down, CONFIG refused), per source.
    pub problems: Vec<String>,
    /// The roles the profile's Redis plays (`cache`, `celery_broker`, `semantic_cache_store`).
    pub redis_roles: Vec<String>,
}

/// Bytes for people: `512.0 MiB`.
pub fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// A size as PostgreSQL and Redis both accept it, rounded down to whole MB (`768MB`).
pub fn pg_size_mb(bytes: f64) -> String {
    format!("{}MB", (bytes / (1024.0 * 1024.0)).floor().max(1.0) as u64)
}
