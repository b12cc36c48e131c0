//! The rule registry: one table, each rule a small typed unit (id, the figures it reads, its
//! thresholds with defaults, its source, and a check returning ok / findings / not enough data).
//! One generic test walks the table with a healthy example and a failing one per rule.

mod cache;
mod celery;
mod kubernetes;
mod postgres;
pub(crate) use postgres::ivfflat_lists_for;
mod redis;
#[cfg(test)]
mod tests;

use super::thresholds::{ThresholdDef, Thresholds};
use super::{Evidence, EvidenceChart, Finding, Fix, RuleRun, RuleState, Severity};
use crate::engine::cache::CacheStats;
use crate::history::Source;
use crate::sources::celery::QueuesReport;
use crate::sources::host::MemoryLimit;
use crate::sources::kubernetes::{DeploymentsReport, HpasReport};
use crate::sources::postgres_report::DbReport;
use crate::sources::redis_report::RedisReport;

/// What the rules read: the snapshots the collectors took for one profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub redis: Option<&'a RedisReport>,
    pub db: Option<&'a DbReport>,
    pub cache: Option<&'a CacheStats>,
    /// The Celery broker, with the workers' inspect answers.
    pub queues: Option<&'a QueuesReport>,
    pub hpas: Option<&'a HpasReport>,
    pub deployments: Option<&'a DeploymentsReport>,
    pub roles: RedisRoles,
}

/// The roles the profile's Redis plays; a policy fine for one role can lose another's data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisRoles {
    /// The profile's Celery broker URL points at the same server (host and port).
    pub celery_broker: bool,
    /// It holds the semantic cache's keys or most of its keys expire: it is used as a cache.
    pub cache: bool,
}

impl RedisRoles {
    pub fn names(&self) -> Vec<String> {
        let mut out = vec![];
        if self.cache {
            out.push("cache".to_string());
        }
        if self.celery_broker {
            out.push("celery_broker".to_string());
        }
        out
    }
}

/// The share of keys with a TTL at which a Redis counts as a cache.
pub const CACHE_TTL_SHARE: f64 = 0.5;

/// Which roles a Redis plays, from its report and whether the profile's broker is the same server.
pub fn redis_roles(report: &RedisReport, same_server_as_broker: bool) -> RedisRoles {
    let keys: u64 = report.keyspace.iter().map(|d| d.keys).sum();
    let expires: u64 = report.keyspace.iter().map(|d| d.expires).sum();
    let semantic = report
        .memory_by_prefix
        .as_ref()
        .is_some_and(|s| s.prefixes.iter().any(|p| p.name.as_deref().is_some_and(|n| n.starts_with("semantic cache"))));
    let kombu = report.memory_by_prefix.as_ref().is_some_and(|s| {
        s.biggest_keys.iter().any(|k| k.key.starts_with("_kombu.") || k.key == "unacked")
            || s.prefixes.iter().any(|p| p.prefix.starts_with("_kombu."))
    });
    RedisRoles {
        celery_broker: same_server_as_broker || kombu,
        cache: semantic || (keys > 0 && expires as f64 / keys as f64 >= CACHE_TTL_SHARE),
    }
}

/// A rule's conclusion.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Ok,
    Findings(Vec<Finding>),
    NotEnoughData(String),
}

pub type CheckFn = fn(&Rule, &Inputs, &Thresholds) -> Check;

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    /// The figures it reads, in the collectors' names.
    pub reads: &'static str,
    pub thresholds: &'static [ThresholdDef],
    /// Where the rule and its defaults come from (tool, formula and inputs).
    pub source: &'static str,
    pub check: CheckFn,
}

impl Rule {
    /// A finding of this rule; `object` tells apart several findings of one rule.
    pub fn finding(
        &self,
        object: Option<&str>,
        severity: Severity,
        title: impl Into<String>,
        evidence: Vec<Evidence>,
        why: &str,
        fix: Fix,
    ) -> Finding {
        Finding {
            id: match object {
                Some(o) => format!("{}:{o}", self.id),
                None => self.id.to_string(),
            },
            rule: self.id.into(),
            severity,
            title: title.into(),
            evidence,
            why: why.into(),
            source: self.source.into(),
            fix,
            chart: chart_of(self.id),
        }
    }

    pub fn threshold(&self, t: &Thresholds, name: &str) -> f64 {
        let def = self.thresholds.iter().find(|d| d.name.ends_with(name)).expect("rule reads a threshold it declares");
        t.get(def)
    }
}

/// Findings or Ok.
fn found(findings: Vec<Finding>) -> Check {
    if findings.is_empty() {
        Check::Ok
    } else {
        Check::Findings(findings)
    }
}

/// Every rule, in the order findings are listed within a severity.
pub static RULES: &[Rule] = &[
    redis::MAXMEMORY_UNSET,
    redis::MAXMEMORY_ABOVE_LIMIT,
    redis::ALLKEYS_ON_BROKER,
    redis::NOEVICTION_ON_CACHE,
    redis::MEMORY_NEAR_MAX,
    redis::EVICTIONS,
    redis::LOW_HIT_RATE,
    redis::TIMEOUT_UNSET,
    redis::TCP_KEEPALIVE_UNSET,
    redis::BIG_KEYS,
    redis::CACHE_KEYS_WITHOUT_TTL,
    postgres::STAT_STATEMENTS_MISSING,
    postgres::SLOW_LOG_OFF,
    postgres::LOG_STATEMENT_ALL,
    postgres::MEMORY_SETTINGS,
    postgres::WORK_MEM_OVERCOMMIT,
    postgres::CONNECTIONS_NEAR_MAX,
    postgres::IDLE_IN_TRANSACTION,
    postgres::SLOW_STATEMENTS,
    postgres::SEQ_SCANS,
    postgres::STALE_STATISTICS,
    postgres::UNUSED_INDEX,
    postgres::DUPLICATE_INDEX,
    postgres::VECTOR_WITHOUT_INDEX,
    postgres::IVFFLAT_LISTS,
    postgres::IVFFLAT_PROBES,
    cache::LOW_HIT_RATE,
    cache::EARLY_EVICTIONS,
    cache::THRESHOLD_RANGE,
    celery::UNCONSUMED_QUEUE,
    celery::VISIBILITY_TIMEOUT,
    celery::BACKLOG_GROWING,
    celery::PREFETCH_LONG_TASKS,
    kubernetes::HPA_PINNED,
    kubernetes::MEMORY_LIMIT_CLOSE,
    kubernetes::REQUESTS_ABOVE_USAGE,
];

/// Runs every rule; findings most severe first (registry order within a severity).
/// A server's memory: the profile's value of `given` when set (the person knows the server: a
/// container elsewhere, a remote host), else what was read from the server's own process on this
/// machine; with where the figure comes from.
fn server_memory(t: &Thresholds, given: &ThresholdDef, read: Option<&MemoryLimit>) -> Option<(u64, String)> {
    let set = t.get(given);
    if set > 0.0 {
        return Some((set as u64, format!("advisor.toml {}", given.name)));
    }
    read.map(|m| (m.bytes, m.source.clone()))
}

/// Which sampled series show each rule's figures over time (history::series's metric names).
const CHARTS: &[(&str, Source, &[&str])] = &[
    ("redis.maxmemory_unset", Source::Redis, &["memory_used"]),
    ("redis.maxmemory_above_limit", Source::Redis, &["memory_used", "maxmemory"]),
    ("redis.noeviction_on_cache", Source::Redis, &["memory_used", "maxmemory"]),
    ("redis.memory_near_max", Source::Redis, &["memory_used", "maxmemory"]),
    ("redis.allkeys_on_broker", Source::Redis, &["evictions_per_s"]),
    ("redis.evictions", Source::Redis, &["evictions_per_s", "expired_per_s"]),
    ("redis.low_hit_rate", Source::Redis, &["hit_rate"]),
    ("redis.big_keys", Source::Redis, &["memory_used"]),
    ("redis.cache_keys_without_ttl", Source::Redis, &["memory_used"]),
    ("redis.timeout_unset", Source::Redis, &["connected_clients"]),
    ("pg.connections_near_max", Source::Postgres, &["connections", "max_connections"]),
    ("pg.idle_in_transaction", Source::Postgres, &["idle_in_transaction"]),
    ("pg.slow_statements", Source::Postgres, &["slow_statement_mean_ms"]),
    ("pg.memory_settings", Source::Postgres, &["cache_hit_ratio"]),
    ("celery.backlog_growing", Source::Celery, &["queued", "largest_queue"]),
    ("celery.unconsumed_queue", Source::Celery, &["queued"]),
    ("celery.visibility_timeout", Source::Celery, &["oldest_in_flight_s"]),
];

fn chart_of(rule: &str) -> Option<EvidenceChart> {
    CHARTS.iter().find(|(id, ..)| *id == rule).map(|(_, source, metrics)| EvidenceChart {
        source: source.name().into(),
        metrics: metrics.iter().map(|m| m.to_string()).collect(),
    })
}

pub fn evaluate(inputs: &Inputs, thresholds: &Thresholds) -> (Vec<Finding>, Vec<RuleRun>) {
    let mut findings = vec![];
    let mut runs = vec![];
    for rule in RULES {
        let (state, note) = match (rule.check)(rule, inputs, thresholds) {
            Check::Ok => (RuleState::Ok, None),
            Check::Findings(f) => {
                findings.extend(f);
                (RuleState::Finding, None)
            }
            Check::NotEnoughData(why) => (RuleState::NotEnoughData, Some(why)),
        };
        runs.push(RuleRun { rule: rule.id.into(), state, note });
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    (findings, runs)
}
