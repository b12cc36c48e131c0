//! Alert rules evaluated over the stored history: each gives `firing`, `ok` or
//! `not_enough_data` with its evidence (value, threshold, since when). Rules are editable per
//! profile; the changes live in `alert_rules.toml` beside the profiles.

use super::collect::{self, SLOW_STATEMENT_MIN_CALLS};
use super::series::{self, per_sample, Metric};
use super::store::Sample;
use super::Source;
use crate::error::{ApiError, ApiResult, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlertsRequest {
    /// Profile name (default `embedded`).
    #[serde(default)]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlertsReport {
    pub profile: String,
    #[ts(type = "number")]
    pub evaluated_ms: i64,
    pub alerts: Vec<AlertState>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct AlertState {
    pub rule: String,
    pub source: String,
    /// `firing`, `ok` or `not_enough_data`.
    pub state: String,
    /// `warning` or `critical`.
    pub severity: String,
    pub title: String,
    pub detail: String,
    /// Since when the rule is in this state (for `firing`: when the condition started).
    #[ts(type = "number | null")]
    pub since_ms: Option<i64>,
    pub value: Option<f64>,
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct AlertRules {
    pub profile: String,
    pub rules: Vec<AlertRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct AlertRule {
    pub id: String,
    /// `redis`, `postgres` or `celery` (ignored when saving).
    #[serde(default)]
    pub source: String,
    pub enabled: bool,
    pub threshold: f64,
    pub for_minutes: u32,
    /// What the rule checks, in words (ignored when saving).
    #[serde(default)]
    pub description: String,
}

/// One built-in rule: its default settings and what it watches.
struct RuleDef {
    id: &'static str,
    source: Source,
    threshold: f64,
    for_minutes: u32,
    severity: &'static str,
    /// The threshold's allowed values and its unit, for validation and words.
    bounds: (f64, f64),
    unit: &'static str,
}

const RULES: &[RuleDef] = &[
    RuleDef {
        id: "redis_hit_rate_low",
        source: Source::Redis,
        threshold: 80.0,
        for_minutes: 5,
        severity: "warning",
        bounds: (0.0, 100.0),
        unit: "%",
    },
    RuleDef {
        id: "redis_memory_high",
        source: Source::Redis,
        threshold: 80.0,
        for_minutes: 0,
        severity: "critical",
        bounds: (0.0, 100.0),
        unit: "% of maxmemory",
    },
    RuleDef {
        id: "redis_evictions_rising",
        source: Source::Redis,
        threshold: 0.0,
        for_minutes: 5,
        severity: "warning",
        bounds: (0.0, 1e9),
        unit: "evictions/s",
    },
    RuleDef {
        id: "postgres_connections_high",
        source: Source::Postgres,
        threshold: 80.0,
        for_minutes: 0,
        severity: "critical",
        bounds: (0.0, 100.0),
        unit: "% of max_connections",
    },
    RuleDef {
        id: "celery_backlog_high",
        source: Source::Celery,
        threshold: 1000.0,
        for_minutes: 5,
        severity: "warning",
        bounds: (0.0, 1e12),
        unit: "messages queued",
    },
    RuleDef {
        id: "celery_in_flight_old",
        source: Source::Celery,
        // Celery's default visibility_timeout on Redis: past it the message is delivered again.
        threshold: 3600.0,
        for_minutes: 0,
        severity: "critical",
        bounds: (1.0, 1e9),
        unit: "s in flight",
    },
    RuleDef {
        id: "celery_worker_lost",
        source: Source::Celery,
        threshold: 0.0,
        for_minutes: 0,
        severity: "critical",
        bounds: (0.0, 1e6),
        unit: "workers lost",
    },
    RuleDef {
        id: "celery_queue_growing",
        source: Source::Celery,
        threshold: 100.0,
        for_minutes: 10,
        severity: "warning",
        bounds: (1.0, 1e12),
        unit: "messages more",
    },
    RuleDef {
        id: "celery_queue_not_consumed",
        source: Source::Celery,
        threshold: 1.0,
        for_minutes: 5,
        severity: "warning",
        bounds: (1.0, 1e12),
        unit: "messages waiting",
    },
    RuleDef {
        id: "k8s_hpa_pinned_at_max",
        source: Source::Kubernetes,
        threshold: 0.0,
        for_minutes: 5,
        severity: "warning",
        bounds: (0.0, 1e6),
        unit: "HPAs at maxReplicas and over target",
    },
    RuleDef {
        id: "postgres_new_slow_statement",
        source: Source::Postgres,
        threshold: 100.0,
        for_minutes: 60,
        severity: "warning",
        bounds: (0.001, 1e9),
        unit: "ms",
    },
];

/// The longest `for_minutes` a rule takes (a week, the retention).
pub const MAX_FOR_MINUTES: u32 = 7 * 24 * 60;

fn describe(def: &RuleDef, threshold: f64, for_minutes: u32) -> String {
    let held = if for_minutes == 0 { String::new() } else { format!(" for {for_minutes} min") };
    match def.id {
        "redis_hit_rate_low" => format!("Redis hit rate below {threshold}%{held}"),
        "redis_memory_high" => format!("Redis memory above {threshold}% of maxmemory{held}"),
        "redis_evictions_rising" => format!("Redis evicting keys (above {threshold}/s{held}, not falling)"),
        "postgres_connections_high" => format!("PostgreSQL connections above {threshold}% of max_connections{held}"),
        "celery_backlog_high" => format!("More than {threshold} Celery messages waiting{held}"),
        "celery_in_flight_old" => format!(
            "A Celery message in flight for more than {threshold} s{held} (past the broker's visibility_timeout it \
             runs again)"
        ),
        "celery_worker_lost" => {
            format!("More than {threshold} Celery worker(s) stopped sending heartbeats without saying goodbye{held}")
        }
        "celery_queue_growing" => {
            format!("A Celery queue grew by {threshold} messages or more over {for_minutes} min, still rising")
        }
        "celery_queue_not_consumed" => format!(
            "A Celery queue held at least {threshold} message(s) for {for_minutes} min and never got shorter: \
             nothing seems to consume it"
        ),
        "k8s_hpa_pinned_at_max" => {
            format!("More than {threshold} HPA(s) at maxReplicas with a metric over its target{held}")
        }
        _ => format!(
            "A statement with a mean of {threshold} ms or more over at least {SLOW_STATEMENT_MIN_CALLS} calls that \
             was not that slow before (new within {for_minutes} min)"
        ),
    }
}

/// The rules of a profile: the defaults with the profile's saved changes.
fn rules_with(overrides: Option<&BTreeMap<String, Override>>) -> Vec<AlertRule> {
    RULES
        .iter()
        .map(|d| {
            let o = overrides.and_then(|m| m.get(d.id));
            let threshold = o.and_then(|o| o.threshold).unwrap_or(d.threshold);
            let for_minutes = o.and_then(|o| o.for_minutes).unwrap_or(d.for_minutes);
            AlertRule {
                id: d.id.into(),
                source: d.source.name().into(),
                enabled: o.and_then(|o| o.enabled).unwrap_or(true),
                threshold,
                for_minutes,
                description: describe(d, threshold, for_minutes),
            }
        })
        .collect()
}

/// On disk: `alert_rules.toml`, `[profile.rule_id] enabled = …, threshold = …, for_minutes = …`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Override {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    for_minutes: Option<u32>,
}

type RulesFile = BTreeMap<String, BTreeMap<String, Override>>;

/// The rules file in a config folder.
pub struct RuleStore {
    path: PathBuf,
}

impl RuleStore {
    pub fn new(config_dir: &Path) -> Self {
        Self { path: config_dir.join("alert_rules.toml") }
    }

    fn read(&self) -> ApiResult<RulesFile> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                ApiError::new(
                    ErrorCode::BadConfig,
                    format!("{} is not valid TOML: {}. Fix or remove the file.", self.path.display(), e.message()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RulesFile::default()),
            Err(e) => Err(ApiError::new(ErrorCode::BadConfig, format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    pub fn rules(&self, profile: &str) -> ApiResult<AlertRules> {
        Ok(AlertRules { profile: profile.into(), rules: rules_with(self.read()?.get(profile)) })
    }

    /// Validates every rule first (nothing is written on error), then saves the changes.
    pub fn save(&self, update: &AlertRules) -> ApiResult<AlertRules> {
        let mut seen = std::collections::BTreeSet::new();
        for rule in &update.rules {
            let def = RULES.iter().find(|d| d.id == rule.id).ok_or_else(|| {
                let known: Vec<_> = RULES.iter().map(|d| d.id).collect();
                ApiError::invalid(format!(
                    "unknown alert rule '{}'; known: {}",
                    rule.id.escape_debug(),
                    known.join(", ")
                ))
            })?;
            if !seen.insert(def.id) {
                return Err(ApiError::invalid(format!("rule '{}' is given twice", def.id)));
            }
            let (lo, hi) = def.bounds;
            if !rule.threshold.is_finite() || rule.threshold < lo || rule.threshold > hi {
                return Err(ApiError::invalid(format!(
                    "threshold {} for '{}' is out of range: use {lo} to {hi} ({})",
                    rule.threshold, def.id, def.unit
                )));
            }
            if rule.for_minutes > MAX_FOR_MINUTES {
                return Err(ApiError::invalid(format!(
                    "for_minutes {} for '{}' is too long: at most {MAX_FOR_MINUTES} (7 days, the history kept)",
                    rule.for_minutes, def.id
                )));
            }
        }
        let mut file = self.read()?;
        let entry = file.entry(update.profile.clone()).or_default();
        for rule in &update.rules {
            entry.insert(
                rule.id.clone(),
                Override {
                    enabled: Some(rule.enabled),
                    threshold: Some(rule.threshold),
                    for_minutes: Some(rule.for_minutes),
                },
            );
        }
        let text = toml::to_string(&file).map_err(|e| ApiError::internal(e.to_string()))?;
        crate::paths::write_file_atomic(&self.path, &text)
            .map_err(|e| ApiError::new(ErrorCode::BadConfig, format!("cannot write {}: {e}", self.path.display())))?;
        self.rules(&update.profile)
    }
}

/// How far back the rules of `rules` need samples: twice the longest `for`, and a margin.
pub fn lookback_ms(rules: &[AlertRule]) -> i64 {
    let longest = rules.iter().filter(|r| r.enabled).map(|r| r.for_minutes).max().unwrap_or(0) as i64;
    (2 * longest * 60_000 + 15 * 60_000).min(super::MAX_RANGE_SECONDS as i64 * 1000)
}

/// Evaluates one rule over its source's samples (oldest first) at `now_ms`.
pub fn evaluate(rule: &AlertRule, samples: &[Sample], now_ms: i64) -> AlertState {
    let def = RULES.iter().find(|d| d.id == rule.id).unwrap_or(&RULES[0]);
    let mut state = AlertState {
        rule: rule.id.clone(),
        source: def.source.name().into(),
        state: "not_enough_data".into(),
        severity: def.severity.into(),
        title: describe(def, rule.threshold, rule.for_minutes),
        detail: String::new(),
        since_ms: None,
        value: None,
        threshold: rule.threshold,
    };
    let Some(last) = samples.last() else {
        state.detail = "no samples yet: the sampler has not read this server".into();
        return state;
    };
    // Stale history (sampler stopped, or the server gone for long) says nothing about now.
    if now_ms - last.t_ms > 3 * last.interval_ms.max(1000) + 5_000 {
        state.detail = format!("the last sample is {} s old: is the sampler running?", (now_ms - last.t_ms) / 1000);
        return state;
    }
    if let Err(reason) = &last.outcome {
        state.detail = format!("the last sample failed: {reason}");
        state.since_ms = Some(last.t_ms);
        return state;
    }
    match def.id {
        "postgres_new_slow_statement" => new_slow_statement(state, rule, samples, now_ms),
        "celery_queue_growing" | "celery_queue_not_consumed" => per_queue(state, def, rule, samples),
        _ => sustained(state, def, rule, samples),
    }
}

/// The value a threshold rule watches at each sample: `None` for a failed sample (a break),
/// `Some(None)` where the sample has no value (e.g. no lookups in the interval).
fn watched_values(def: &RuleDef, samples: &[Sample]) -> Vec<(i64, Option<Option<f64>>)> {
    let share = |part: &str, whole: &str| -> Vec<(i64, Option<Option<f64>>)> {
        samples
            .iter()
            .map(|s| {
                let v = s.ok().map(|raw| match (raw.values.get(part), raw.values.get(whole)) {
                    (Some(p), Some(w)) if *w > 0.0 => Some(100.0 * p / w),
                    _ => None,
                });
                (s.t_ms, v)
            })
            .collect()
    };
    let metric_values = |name: &str| -> Vec<(i64, Option<Option<f64>>)> {
        let metric: &Metric = series::metrics_of(def.source).iter().find(|m| m.name == name).expect("a known metric");
        let mut points = per_sample(samples, metric).into_iter().peekable();
        samples
            .iter()
            .map(|s| match s.ok() {
                None => (s.t_ms, None),
                Some(_) => (s.t_ms, Some(points.next().and_then(|p| p.value))),
            })
            .collect()
    };
    match def.id {
        "redis_hit_rate_low" => metric_values("hit_rate"),
        "redis_memory_high" => share("used_memory", "maxmemory"),
        "redis_evictions_rising" => metric_values("evictions_per_s"),
        "celery_backlog_high" => metric_values("queued"),
        "celery_in_flight_old" => metric_values("oldest_in_flight_s"),
        "celery_worker_lost" => metric_values("workers_lost"),
        "k8s_hpa_pinned_at_max" => metric_values("hpas_pinned"),
        _ => share("connections", "max_connections"),
    }
}

fn sustained(mut state: AlertState, def: &RuleDef, rule: &AlertRule, samples: &[Sample]) -> AlertState {
    let above = def.id != "redis_hit_rate_low";
    let holds = |v: f64| if above { v > rule.threshold } else { v < rule.threshold };
    let values = watched_values(def, samples);
    // Walk back from the newest sample: the run of samples where the condition holds.
    let mut latest: Option<(i64, f64)> = None;
    let mut run: Vec<(i64, f64)> = vec![];
    for (t, v) in values.iter().rev() {
        match v {
            None => break,          // a failed sample ends the run
            Some(None) => continue, // nothing to judge in this one
            Some(Some(v)) => {
                latest.get_or_insert((*t, *v));
                if !holds(*v) {
                    break;
                }
                run.push((*t, *v));
            }
        }
    }
    let Some((_, value)) = latest else {
        state.detail = match def.id {
            "redis_memory_high" => "maxmemory is not set: Redis has no memory limit to compare with".into(),
            "redis_hit_rate_low" => "no lookups (GETs) in the sampled intervals".into(),
            "celery_worker_lost" => "the sampler has not listened to the workers' heartbeats long enough yet (it \
                                     listens while it runs: in the desktop app or `simba-tuner serve`)"
                .into(),
            _ => "not enough samples yet to compute a rate".into(),
        };
        return state;
    };
    state.value = Some(value);
    let fmt = |v: f64| format!("{v:.1}");
    if run.is_empty() {
        state.state = "ok".into();
        state.detail = format!("now {} {} (threshold {})", fmt(value), def.unit, rule.threshold);
        // Since the last time the condition held, or since the first sample judged.
        state.since_ms =
            values.iter().rev().take_while(|(_, v)| !matches!(v, Some(Some(x)) if holds(*x))).last().map(|(t, _)| *t);
        return state;
    }
    run.reverse();
    let since = run[0].0;
    let held_ms = run.last().unwrap().0 - since;
    let needed_ms = rule.for_minutes as i64 * 60_000;
    let rising = {
        let half = run.len() / 2;
        let mean = |s: &[(i64, f64)]| s.iter().map(|p| p.1).sum::<f64>() / s.len().max(1) as f64;
        half == 0 || mean(&run[half..]) >= mean(&run[..half])
    };
    if held_ms < needed_ms {
        state.state = "ok".into();
        state.detail = format!(
            "{} {} for {:.1} min; fires after {} min",
            fmt(value),
            def.unit,
            held_ms as f64 / 60_000.0,
            rule.for_minutes
        );
    } else if def.id == "redis_evictions_rising" && !rising {
        state.state = "ok".into();
        state.detail = format!("evicting {} keys/s, but falling", fmt(value));
    } else {
        state.state = "firing".into();
        state.since_ms = Some(since);
        state.detail = format!(
            "{} {} for {:.1} min (threshold {}){}",
            fmt(value),
            def.unit,
            held_ms as f64 / 60_000.0,
            rule.threshold,
            named_in(def, samples)
        );
    }
    state
}

/// ": w1@host, w2@host" for the rules whose samples name what they count (lost workers, pinned
/// HPAs), from the newest sample that succeeded.
fn named_in(def: &RuleDef, samples: &[Sample]) -> String {
    let prefix = match def.id {
        "celery_worker_lost" => collect::LOST_PREFIX,
        "k8s_hpa_pinned_at_max" => collect::PINNED_PREFIX,
        _ => return String::new(),
    };
    let Some(raw) = samples.iter().rev().find_map(Sample::ok) else { return String::new() };
    let names: Vec<&str> = raw.values.keys().filter_map(|k| k.strip_prefix(prefix)).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    }
}

/// The per-queue rules: over the window of `for_minutes` (from the newest sample that is at least
/// that old, to the newest), each queue's depth at every sample. `celery_queue_growing`: up by the
/// threshold or more, its later half higher than its earlier; `celery_queue_not_consumed`: at
/// least the threshold all along and never shorter from one sample to the next.
fn per_queue(mut state: AlertState, def: &RuleDef, rule: &AlertRule, samples: &[Sample]) -> AlertState {
    let window_ms = (rule.for_minutes as i64 * 60_000).max(1);
    let newest = samples.last().expect("evaluate checked").t_ms;
    let Some(start) = samples.iter().rposition(|s| newest - s.t_ms >= window_ms) else {
        let covered = (newest - samples[0].t_ms) as f64 / 60_000.0;
        state.detail = format!("{covered:.1} min of history so far; the rule looks at {} min", rule.for_minutes);
        return state;
    };
    let window = &samples[start..];
    let Some(raws) = window.iter().map(Sample::ok).collect::<Option<Vec<_>>>() else {
        state.detail = format!("a sample failed within the last {} min: no trend to judge", rule.for_minutes);
        return state;
    };
    let growing = def.id == "celery_queue_growing";
    let last = raws.last().expect("two samples or more");
    let mut hits: Vec<(String, f64, f64)> = vec![];
    let mut worst: f64 = 0.0;
    for (key, _) in last.values.iter().filter(|(k, _)| k.starts_with(collect::DEPTH_PREFIX)) {
        let depths: Vec<f64> = raws.iter().map(|r| r.values.get(key).copied().unwrap_or(0.0)).collect();
        let (first, now) = (depths[0], depths[depths.len() - 1]);
        let (fires, measure) = if growing {
            // Up by the threshold, and the later half of the window higher than the earlier half by
            // half of it: a queue that only happens to end on a peak of its usual swing is not growing.
            let half = depths.len() / 2;
            let mean = |d: &[f64]| d.iter().sum::<f64>() / d.len().max(1) as f64;
            let trend = mean(&depths[half..]) - mean(&depths[..half]);
            (now - first >= rule.threshold && trend >= rule.threshold / 2.0, now - first)
        } else {
            (depths.iter().all(|d| *d >= rule.threshold) && depths.windows(2).all(|w| w[1] >= w[0]), now)
        };
        worst = worst.max(measure);
        if fires {
            hits.push((key[collect::DEPTH_PREFIX.len()..].to_string(), first, now));
        }
    }
    state.value = Some(worst);
    if hits.is_empty() {
        state.state = "ok".into();
        state.detail = if growing {
            format!("no queue grew by {} or more in the last {} min", rule.threshold, rule.for_minutes)
        } else {
            format!("every queue holding messages got shorter at least once in the last {} min", rule.for_minutes)
        };
        return state;
    }
    hits.sort_by(|a, b| (b.2 - b.1).total_cmp(&(a.2 - a.1)).then_with(|| a.0.cmp(&b.0)));
    let listed: Vec<String> = hits.iter().map(|(q, a, b)| format!("{q} ({a:.0} → {b:.0})")).collect();
    state.state = "firing".into();
    state.since_ms = Some(window[0].t_ms);
    state.detail = format!(
        "{} in the last {} min: {}",
        if growing { "growing" } else { "not consumed" },
        rule.for_minutes,
        listed.join(", ")
    );
    state
}

fn new_slow_statement(mut state: AlertState, rule: &AlertRule, samples: &[Sample], now_ms: i64) -> AlertState {
    let ok: Vec<&Sample> = samples.iter().filter(|s| s.ok().is_some()).collect();
    let latest = ok.last().and_then(|s| s.ok()).expect("the last sample succeeded");
    if !latest.values.contains_key("slow_statement_mean_ms") {
        state.detail = "pg_stat_statements could not be read: install it (and preload it) to watch statements".into();
        return state;
    }
    if ok.len() < 2 {
        state.detail = "one sample so far: a statement is new only against an earlier one".into();
        return state;
    }
    let slow = |s: &Sample, id: &str| {
        s.ok().is_some_and(|r| r.statements.iter().any(|m| m.queryid == id && m.mean_ms >= rule.threshold))
    };
    let window_ms = rule.for_minutes as i64 * 60_000;
    let mut newest: Option<(i64, &super::store::StatementMark)> = None;
    for mark in latest.statements.iter().filter(|m| m.mean_ms >= rule.threshold && m.calls >= SLOW_STATEMENT_MIN_CALLS)
    {
        // The first sample of the run where it has been slow; new if a sample before it was not.
        let first = ok.iter().rposition(|s| !slow(s, &mark.queryid));
        let Some(before) = first else { continue }; // slow since the history starts: not new
        let since = ok[before + 1].t_ms;
        if now_ms - since <= window_ms && newest.is_none_or(|(t, _)| since > t) {
            newest = Some((since, mark));
        }
    }
    let top = latest.values.get("slow_statement_mean_ms").copied();
    match newest {
        Some((since, mark)) => {
            state.state = "firing".into();
            state.since_ms = Some(since);
            state.value = Some(mark.mean_ms);
            let text: String = mark.query.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = text.chars().take(120).collect();
            state.detail = format!(
                "new slow statement (queryid {}): mean {:.1} ms over {} calls: {}{}",
                mark.queryid,
                mark.mean_ms,
                mark.calls,
                short,
                if text.chars().count() > 120 { "…" } else { "" }
            );
        }
        None => {
            state.state = "ok".into();
            state.value = top;
            state.since_ms = ok.first().map(|s| s.t_ms);
            state.detail =
                format!("no statement became slow (>= {} ms) in the last {} min", rule.threshold, rule.for_minutes);
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::series::tests::{failed, ok};
    use crate::history::store::{RawValues, StatementMark};

    fn rule(id: &str) -> AlertRule {
        rules_with(None).into_iter().find(|r| r.id == id).unwrap()
    }

    /// Samples every 10 s for `minutes`, with hits and misses per interval from `hit_share`.
    fn hit_history(minutes: i64, hit_share: impl Fn(i64) -> f64) -> Vec<Sample> {
        let (mut h, mut m) = (0.0, 0.0);
        (0..=minutes * 6)
            .map(|i| {
                let share = hit_share(i);
                h += 100.0 * share;
                m += 100.0 * (1.0 - share);
                ok(i * 10_000, &[("keyspace_hits", h), ("keyspace_misses", m)])
            })
            .collect()
    }

    #[test]
    fn hit_rate_fires_after_its_minutes_and_clears() {
        let r = rule("redis_hit_rate_low");
        // 50% for 10 minutes: firing, since the first low interval.
        let low = hit_history(10, |_| 0.5);
        let now = low.last().unwrap().t_ms;
        let s = evaluate(&r, &low, now);
        assert_eq!(s.state, "firing", "{s:?}");
        assert_eq!(s.value, Some(50.0));
        assert_eq!(s.since_ms, Some(10_000));
        // Low only for the last 3 minutes: not yet.
        let recent = hit_history(10, |i| if i > 42 { 0.5 } else { 0.95 });
        let s = evaluate(&r, &recent, now);
        assert_eq!(s.state, "ok", "{s:?}");
        assert!(s.detail.contains("fires after 5 min"), "{}", s.detail);
        // Recovered: ok with the current value.
        let healed = hit_history(10, |i| if i > 50 { 0.9 } else { 0.5 });
        let s = evaluate(&r, &healed, now);
        assert_eq!((s.state.as_str(), s.value), ("ok", Some(90.0)));
        // Nothing sampled, or stale, or failing: not enough data.
        assert_eq!(evaluate(&r, &[], now).state, "not_enough_data");
        assert_eq!(evaluate(&r, &low, now + 3_600_000).state, "not_enough_data");
        let mut down = low.clone();
        down.push(failed(now + 10_000));
        let s = evaluate(&r, &down, now + 10_000);
        assert_eq!(s.state, "not_enough_data");
        assert!(s.detail.contains("is down"), "{}", s.detail);
    }

    #[test]
    fn memory_and_connections_compare_with_their_limits() {
        let mem = rule("redis_memory_high");
        let full = vec![ok(0, &[("used_memory", 85.0), ("maxmemory", 100.0)])];
        assert_eq!(evaluate(&mem, &full, 0).state, "firing");
        let fine = vec![ok(0, &[("used_memory", 50.0), ("maxmemory", 100.0)])];
        assert_eq!(evaluate(&mem, &fine, 0).state, "ok");
        let unlimited = vec![ok(0, &[("used_memory", 50.0), ("maxmemory", 0.0)])];
        let s = evaluate(&mem, &unlimited, 0);
        assert_eq!(s.state, "not_enough_data");
        assert!(s.detail.contains("maxmemory is not set"));
        let conn = rule("postgres_connections_high");
        let busy = vec![ok(0, &[("connections", 45.0), ("max_connections", 50.0)])];
        let s = evaluate(&conn, &busy, 0);
        assert_eq!((s.state.as_str(), s.value), ("firing", Some(90.0)));
        let calm = vec![ok(0, &[("connections", 5.0), ("max_connections", 50.0)])];
        assert_eq!(evaluate(&conn, &calm, 0).state, "ok");
    }

    #[test]
    fn evictions_fire_when_sustained_and_not_falling() {
        let r = rule("redis_evictions_rising");
        let history = |rate: &dyn Fn(i64) -> f64| {
            let mut total = 0.0;
            (0..=36)
                .map(|i| {
                    total += rate(i) * 10.0;
                    ok(i * 10_000, &[("evicted_keys", total)])
                })
                .collect::<Vec<_>>()
        };
        let rising = history(&|i| 1.0 + i as f64);
        assert_eq!(evaluate(&r, &rising, 360_000).state, "firing");
        let falling = history(&|i| 100.0 - i as f64);
        let s = evaluate(&r, &falling, 360_000);
        assert_eq!(s.state, "ok");
        assert!(s.detail.contains("falling"));
        let none = history(&|_| 0.0);
        assert_eq!(evaluate(&r, &none, 360_000).state, "ok");
    }

    fn pg(t_ms: i64, slow: &[(&str, f64)]) -> Sample {
        Sample {
            t_ms,
            interval_ms: 10_000,
            outcome: Ok(RawValues {
                values: [("slow_statement_mean_ms".to_string(), 1.0)].into_iter().collect(),
                statements: slow
                    .iter()
                    .map(|(id, mean)| StatementMark {
                        queryid: id.to_string(),
                        mean_ms: *mean,
                        calls: 500,
                        query: format!("SELECT {id}"),
                    })
                    .collect(),
            }),
        }
    }

    #[test]
    fn a_statement_that_turns_slow_fires_and_an_old_one_does_not() {
        let r = rule("postgres_new_slow_statement");
        let mut h: Vec<Sample> = (0..10).map(|i| pg(i * 10_000, &[("old", 250.0), ("q7", 20.0)])).collect();
        h.extend((10..20).map(|i| pg(i * 10_000, &[("old", 250.0), ("q7", 180.0)])));
        let s = evaluate(&r, &h, 190_000);
        assert_eq!(s.state, "firing", "{s:?}");
        assert_eq!(s.since_ms, Some(100_000));
        assert_eq!(s.value, Some(180.0));
        assert!(s.detail.contains("q7") && s.detail.contains("SELECT q7"), "{}", s.detail);
        // An hour later it is no longer new.
        let later: Vec<Sample> =
            h.iter().cloned().chain((20..400).map(|i| pg(i * 10_000, &[("old", 250.0), ("q7", 180.0)]))).collect();
        assert_eq!(evaluate(&r, &later, 3_990_000).state, "ok");
        // Slow since the history starts: not new.
        let old: Vec<Sample> = (0..10).map(|i| pg(i * 10_000, &[("old", 250.0)])).collect();
        assert_eq!(evaluate(&r, &old, 90_000).state, "ok");
    }

    /// Broker samples every 10 s for `minutes` with the depth of each queue from `depth(queue, i)`.
    fn broker_history(minutes: i64, depth: impl Fn(&str, i64) -> f64) -> Vec<Sample> {
        (0..=minutes * 6)
            .map(|i| {
                let d: Vec<(String, f64)> =
                    ["llm_queue", "data_queue", "orphan"].iter().map(|q| (format!("depth:{q}"), depth(q, i))).collect();
                let pairs: Vec<(&str, f64)> = d.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                ok(i * 10_000, &pairs)
            })
            .collect()
    }

    #[test]
    fn a_queue_growing_and_a_queue_not_consumed() {
        let growing = rule("celery_queue_growing");
        let idle = rule("celery_queue_not_consumed");
        // llm_queue consumed in bursts but gaining 3 a sample; orphan never consumed; data_queue
        // busy, up and down around 500.
        let h = broker_history(12, |q, i| match q {
            "llm_queue" => 50.0 + 3.0 * i as f64 - if i % 2 == 1 { 5.0 } else { 0.0 },
            "orphan" => 7.0 + (i / 20) as f64,
            _ => 500.0 + if i % 2 == 0 { 40.0 } else { -40.0 },
        });
        let now = h.last().unwrap().t_ms;
        let s = evaluate(&growing, &h, now);
        assert_eq!(s.state, "firing", "{s:?}");
        assert!(s.detail.contains("llm_queue") && !s.detail.contains("data_queue"), "{}", s.detail);
        assert!(!s.detail.contains("orphan"), "grew by 3 only: {}", s.detail);
        assert_eq!(s.since_ms, Some(now - 600_000));
        let s = evaluate(&idle, &h, now);
        assert_eq!(s.state, "firing", "{s:?}");
        assert!(s.detail.contains("orphan (9 → 10)"), "{}", s.detail);
        assert!(!s.detail.contains("llm_queue") && !s.detail.contains("data_queue"), "{}", s.detail);
        // Emptied once within the window: consumed after all.
        let h2 = broker_history(12, |q, i| if q == "orphan" && i != 70 { 9.0 } else { 0.0 });
        assert_eq!(evaluate(&idle, &h2, now).state, "ok");
        // Less history than the window: not enough data; a failed sample inside it: no judgement.
        let short = broker_history(3, |_, _| 100.0);
        let s = evaluate(&growing, &short, short.last().unwrap().t_ms);
        assert_eq!(s.state, "not_enough_data", "{s:?}");
        let mut broken = broker_history(12, |_, i| i as f64 * 10.0);
        broken[60] = failed(600_000);
        assert_eq!(evaluate(&growing, &broken, now).state, "not_enough_data");
        // At 0 minutes the rule compares the last two samples.
        let mut now_rule = growing.clone();
        now_rule.for_minutes = 0;
        let jump = broker_history(1, |q, i| if q == "orphan" && i == 6 { 500.0 } else { 0.0 });
        let s = evaluate(&now_rule, &jump, 60_000);
        assert_eq!(s.state, "firing", "{s:?}");
        assert!(s.detail.contains("orphan (0 → 500)"), "{}", s.detail);
    }

    #[test]
    fn lost_workers_and_pinned_hpas_are_named() {
        let lost = rule("celery_worker_lost");
        let h: Vec<Sample> = (0..6)
            .map(|i| {
                if i < 3 {
                    ok(i * 10_000, &[("workers_alive", 2.0), ("workers_lost", 0.0)])
                } else {
                    ok(i * 10_000, &[("workers_alive", 1.0), ("workers_lost", 1.0), ("lost:w2@node-b", 1.0)])
                }
            })
            .collect();
        let s = evaluate(&lost, &h, 50_000);
        assert_eq!(s.state, "firing", "{s:?}");
        assert_eq!(s.since_ms, Some(30_000));
        assert!(s.detail.ends_with(": w2@node-b"), "{}", s.detail);
        // Before the watch has listened long enough there is no figure: not enough data, said why.
        let s = evaluate(&lost, &[ok(0, &[("queued", 1.0)])], 0);
        assert_eq!(s.state, "not_enough_data");
        assert!(s.detail.contains("heartbeats"), "{}", s.detail);

        let pinned = rule("k8s_hpa_pinned_at_max");
        let k8s = |t: i64, n: f64| {
            if n > 0.0 {
                ok(t, &[("hpas_pinned", n), ("pinned:prod/api", 1.0)])
            } else {
                ok(t, &[("hpas_pinned", 0.0)])
            }
        };
        let h: Vec<Sample> = (0..=36).map(|i| k8s(i * 10_000, if i >= 6 { 1.0 } else { 0.0 })).collect();
        let s = evaluate(&pinned, &h, 360_000);
        assert_eq!(s.state, "firing", "{s:?}");
        assert!(s.detail.ends_with(": prod/api"), "{}", s.detail);
        let recent: Vec<Sample> = (0..=36).map(|i| k8s(i * 10_000, if i >= 30 { 1.0 } else { 0.0 })).collect();
        assert_eq!(evaluate(&pinned, &recent, 360_000).state, "ok", "pinned for one minute only");
    }

    #[test]
    fn rules_save_per_profile_and_refuse_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = RuleStore::new(dir.path());
        let mut rules = store.rules("p").unwrap();
        assert_eq!(rules.rules.len(), RULES.len());
        assert_eq!(rules.rules[0].threshold, 80.0);
        rules.rules[0].threshold = 95.0;
        rules.rules[0].for_minutes = 1;
        rules.rules[2].enabled = false;
        let saved = store.save(&rules).unwrap();
        assert_eq!(saved.rules[0].threshold, 95.0);
        assert!(saved.rules[0].description.contains("95% for 1 min"), "{}", saved.rules[0].description);
        assert!(!store.rules("p").unwrap().rules[2].enabled);
        assert_eq!(store.rules("q").unwrap().rules[0].threshold, 80.0);
        let mut bad = saved.clone();
        bad.rules[0].threshold = 120.0;
        assert!(store.save(&bad).unwrap_err().message.contains("out of range"));
        bad.rules[0].threshold = f64::NAN;
        assert!(store.save(&bad).is_err());
        bad.rules[0] = AlertRule { id: "nope".into(), ..saved.rules[0].clone() };
        assert!(store.save(&bad).unwrap_err().message.contains("unknown alert rule 'nope'"));
        assert_eq!(store.rules("p").unwrap(), saved, "a refused save wrote nothing");
    }
}
