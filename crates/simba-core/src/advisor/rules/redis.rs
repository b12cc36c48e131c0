//! Redis rules, read from `RedisReport` (INFO, CONFIG GET, the key sample).

use super::{found, Check, Inputs, Rule};
use crate::advisor::thresholds::{ThresholdDef, Thresholds};
use crate::advisor::{human_bytes, Evidence, Fix, Severity};
use crate::sources::redis_report::RedisReport;

fn redis<'a>(i: &Inputs<'a>) -> Result<&'a RedisReport, Check> {
    i.redis.ok_or_else(|| Check::NotEnoughData("no Redis report (none in the profile, or it did not answer)".into()))
}

fn config<'a>(r: &'a RedisReport, name: &str) -> Result<&'a str, Check> {
    r.config.iter().find(|c| c.name == name).map(|c| c.value.as_str()).ok_or_else(|| {
        Check::NotEnoughData(r.config_problem.clone().unwrap_or_else(|| format!("CONFIG GET {name} gave nothing")))
    })
}

/// maxmemory to set: a share of the memory limit, rounded down to whole MiB.
fn maxmemory_for(limit: u64, share: f64) -> u64 {
    let mib = 1024 * 1024;
    ((limit as f64 * share) as u64 / mib).max(1) * mib
}

macro_rules! try_check {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(check) => return check,
        }
    };
}
pub(super) use try_check;

/// The memory the Redis server may use as the profile gives it (0: unset).
const MEMORY_LIMIT: ThresholdDef = ThresholdDef {
    name: "redis.memory_limit_bytes",
    default: 0.0,
    unit: "bytes (0: read from the server's process when it runs on this machine)",
};

/// The memory limit the server lives under (see [`super::server_memory`]).
fn memory_limit(r: &RedisReport, t: &Thresholds) -> Option<(u64, String)> {
    super::server_memory(t, &MEMORY_LIMIT, r.memory.host_limit.as_ref())
}

const MAXMEMORY_SHARE: ThresholdDef =
    ThresholdDef { name: "redis.maxmemory.share_of_limit", default: 0.75, unit: "share of the memory limit" };

pub const MAXMEMORY_UNSET: Rule = Rule {
    id: "redis.maxmemory_unset",
    title: "Redis has no maxmemory",
    reads: "INFO maxmemory, the host or container memory limit",
    thresholds: &[MAXMEMORY_SHARE, MEMORY_LIMIT],
    source: "Redis docs, 'Key eviction': without maxmemory Redis grows until the OS or container kills it; \
             RedisInsight memory recommendations (leave room for fork and fragmentation: 75% of the limit)",
    check: |rule, i, t| {
        let r = try_check!(redis(i));
        if r.memory.maxmemory_bytes > 0 {
            return Check::Ok;
        }
        let mut evidence = vec![Evidence::new("maxmemory", 0, Some("bytes (no limit)"))];
        evidence.push(Evidence::new("used_memory", human_bytes(r.memory.used_memory_bytes as f64), None));
        let fix = match memory_limit(r, t) {
            Some((limit, source)) => {
                evidence.push(Evidence::new("memory limit", human_bytes(limit as f64), Some(&source)));
                let value = maxmemory_for(limit, rule.threshold(t, "share_of_limit"));
                Fix::action(
                    "redis.config_set",
                    &[("name", "maxmemory"), ("value", &value.to_string())],
                    format!("CONFIG SET maxmemory {value} ({})", human_bytes(value as f64)),
                )
            }
            None => Fix::advice(
                "set maxmemory to about 75% of the memory the Redis server (or its container) may use: \
                 simba-tuner action preview redis.config_set --param name=maxmemory --param value=BYTES",
            ),
        };
        found(vec![rule.finding(
            None,
            Severity::Warning,
            "Redis has no memory limit (maxmemory 0)",
            evidence,
            "Without maxmemory Redis never evicts: it grows until the kernel or the container's OOM killer stops it.",
            fix,
        )])
    },
};

pub const MAXMEMORY_ABOVE_LIMIT: Rule = Rule {
    id: "redis.maxmemory_above_limit",
    title: "maxmemory above the container or host memory limit",
    reads: "INFO maxmemory, the server process's cgroup memory.max / MemTotal (server on this machine)",
    thresholds: &[MAXMEMORY_SHARE, MEMORY_LIMIT],
    source: "KNOWN-TRAPS.md #2 (maxmemory 2gb in a 512m container); Redis docs 'Key eviction'",
    check: |rule, i, t| {
        let r = try_check!(redis(i));
        if r.memory.maxmemory_bytes == 0 {
            return Check::Ok; // redis.maxmemory_unset says it
        }
        let Some((limit, source)) = memory_limit(r, t) else {
            return Check::NotEnoughData(
                "the server is not on this machine: its memory limit is unknown (set redis.memory_limit_bytes for \
                 this profile in advisor.toml)"
                    .into(),
            );
        };
        if r.memory.maxmemory_bytes <= limit {
            return Check::Ok;
        }
        let value = maxmemory_for(limit, rule.threshold(t, "share_of_limit"));
        found(vec![rule.finding(
            None,
            Severity::Critical,
            "maxmemory is above the memory the server may use",
            vec![
                Evidence::new("maxmemory", human_bytes(r.memory.maxmemory_bytes as f64), None),
                Evidence::new("memory limit", human_bytes(limit as f64), Some(&source)),
            ],
            "The container is OOM-killed long before Redis starts evicting, losing every key at once.",
            Fix::action(
                "redis.config_set",
                &[("name", "maxmemory"), ("value", &value.to_string())],
                format!("CONFIG SET maxmemory {value} ({})", human_bytes(value as f64)),
            ),
        )])
    },
};

pub const ALLKEYS_ON_BROKER: Rule = Rule {
    id: "redis.allkeys_on_broker",
    title: "allkeys-* eviction on the Celery broker",
    reads: "INFO maxmemory_policy, the profile's Celery broker URL, kombu keys in the sample",
    thresholds: &[],
    source: "KNOWN-TRAPS.md #3; Redis docs 'Key eviction' (the policy is instance-wide); Celery docs, Redis broker",
    check: |rule, i, _| {
        let r = try_check!(redis(i));
        if !i.roles.celery_broker || !r.memory.maxmemory_policy.starts_with("allkeys-") {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Critical,
            format!("{} on the Redis that is also the Celery broker", r.memory.maxmemory_policy),
            vec![
                Evidence::new("maxmemory-policy", &r.memory.maxmemory_policy, None),
                Evidence::new("roles", i.roles.names().join(", "), None),
            ],
            "The policy is instance-wide: queued tasks and the unacked hash can be evicted, which loses work.",
            Fix::action(
                "redis.config_set",
                &[("name", "maxmemory-policy"), ("value", "volatile-lru")],
                "CONFIG SET maxmemory-policy volatile-lru (only keys with a TTL are evicted; better still, \
                 a separate Redis for the cache)",
            ),
        )])
    },
};

pub const NOEVICTION_ON_CACHE: Rule = Rule {
    id: "redis.noeviction_on_cache",
    title: "noeviction on a Redis used as a cache",
    reads: "INFO maxmemory_policy, keyspace keys/expires, semantic cache keys in the sample",
    thresholds: &[],
    source: "Redis docs 'Key eviction' (noeviction: writes fail when full); RedisInsight recommendations",
    check: |rule, i, _| {
        let r = try_check!(redis(i));
        if !i.roles.cache || r.memory.maxmemory_policy != "noeviction" {
            return Check::Ok;
        }
        // allkeys-* would evict a co-located broker's queues (KNOWN-TRAPS.md #3).
        let policy = if i.roles.celery_broker { "volatile-lru" } else { "allkeys-lru" };
        let keys: u64 = r.keyspace.iter().map(|d| d.keys).sum();
        let expires: u64 = r.keyspace.iter().map(|d| d.expires).sum();
        found(vec![rule.finding(
            None,
            Severity::Warning,
            "A cache that fails writes when full (maxmemory-policy noeviction)",
            vec![
                Evidence::new("maxmemory-policy", "noeviction", None),
                Evidence::new("keys with a TTL", format!("{expires} of {keys}"), Some("keys")),
                Evidence::new("roles", i.roles.names().join(", "), None),
            ],
            "With noeviction a full cache answers every write with an OOM error instead of dropping old entries.",
            Fix::action(
                "redis.config_set",
                &[("name", "maxmemory-policy"), ("value", policy)],
                format!("CONFIG SET maxmemory-policy {policy}"),
            ),
        )])
    },
};

pub const MEMORY_NEAR_MAX: Rule = Rule {
    id: "redis.memory_near_max",
    title: "Memory near maxmemory",
    reads: "INFO used_memory, maxmemory",
    thresholds: &[ThresholdDef { name: "redis.memory_near_max.share", default: 0.9, unit: "used / maxmemory" }],
    source: "RedisInsight memory analysis; Redis docs 'Key eviction'",
    check: |rule, i, t| {
        let r = try_check!(redis(i));
        let Some(share) = r.memory.used_of_maxmemory else { return Check::Ok };
        let limit = rule.threshold(t, "share");
        if share < limit {
            return Check::Ok;
        }
        let severity = if r.memory.maxmemory_policy == "noeviction" { Severity::Critical } else { Severity::Warning };
        found(vec![rule.finding(
            None,
            severity,
            format!("Redis uses {:.0}% of maxmemory", share * 100.0),
            vec![
                Evidence::new("used_memory", human_bytes(r.memory.used_memory_bytes as f64), None),
                Evidence::new("maxmemory", human_bytes(r.memory.maxmemory_bytes as f64), None),
                Evidence::new("used / maxmemory", format!("{share:.3}"), Some(&format!("threshold {limit}"))),
            ],
            "Near the limit Redis evicts (or, with noeviction, refuses writes) on every new key.",
            Fix::advice(
                "raise maxmemory if the host has room (redis.config_set), shorten TTLs, or find what grew with \
                 `simba-tuner redis` (memory by prefix)",
            ),
        )])
    },
};

pub const EVICTIONS: Rule = Rule {
    id: "redis.evictions",
    title: "High eviction rate",
    reads: "INFO evicted_keys over the interval (or since start), uptime",
    thresholds: &[ThresholdDef { name: "redis.evictions.per_second", default: 1.0, unit: "keys/s" }],
    source: "RedisInsight (evicted keys); Redis docs 'Key eviction'",
    check: |rule, i, t| {
        let r = try_check!(redis(i));
        let (rate, over) = match &r.stats.interval {
            Some(iv) => (iv.evictions_per_sec, format!("the last {:.0} s", iv.seconds)),
            None if r.uptime_seconds > 0 => {
                (r.stats.evicted_keys as f64 / r.uptime_seconds as f64, format!("{} s since start", r.uptime_seconds))
            }
            None => return Check::NotEnoughData("the server just started".into()),
        };
        let limit = rule.threshold(t, "per_second");
        if rate <= limit {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Warning,
            format!("Redis evicts {rate:.1} keys/s"),
            vec![
                Evidence::new("evictions", format!("{rate:.2}"), Some(&format!("keys/s over {over}"))),
                Evidence::new("maxmemory", human_bytes(r.memory.maxmemory_bytes as f64), None),
            ],
            "Keys evicted before they are read again are work recomputed and misses served.",
            Fix::advice("give the cache more memory (maxmemory) or store less per entry; check the hit rate"),
        )])
    },
};

pub const LOW_HIT_RATE: Rule = Rule {
    id: "redis.low_hit_rate",
    title: "Low keyspace hit rate",
    reads: "INFO keyspace_hits, keyspace_misses (interval, else since start)",
    thresholds: &[
        ThresholdDef { name: "redis.low_hit_rate.min", default: 0.8, unit: "hits / lookups" },
        ThresholdDef { name: "redis.low_hit_rate.min_lookups", default: 1000.0, unit: "lookups" },
    ],
    source: "RedisInsight (keyspace hit ratio); Redis docs INFO stats",
    check: |rule, i, t| {
        let r = try_check!(redis(i));
        if !i.roles.cache {
            return Check::Ok; // a store or a queue is not meant to miss less
        }
        let (hits, misses) = match &r.stats.interval {
            Some(iv) => (iv.hits, iv.misses),
            None => (r.stats.keyspace_hits, r.stats.keyspace_misses),
        };
        let lookups = hits + misses;
        if (lookups as f64) < rule.threshold(t, "min_lookups") {
            return Check::NotEnoughData(format!("only {lookups} lookups so far"));
        }
        let rate = hits as f64 / lookups as f64;
        let min = rule.threshold(t, ".min");
        if rate >= min {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Warning,
            format!("Cache hit rate {:.0}%", rate * 100.0),
            vec![
                Evidence::new("hit rate", format!("{rate:.3}"), Some(&format!("threshold {min}"))),
                Evidence::new("lookups", lookups, None),
            ],
            "A cache that mostly misses costs a round trip on every request and saves little.",
            Fix::advice("check key TTLs and evictions; for the semantic cache, tune its threshold with `cache eval`"),
        )])
    },
};

fn unset_setting(rule: &Rule, i: &Inputs, name: &str, value: &str, severity: Severity, why: &str) -> Check {
    let r = try_check!(redis(i));
    let current = try_check!(config(r, name));
    if current != "0" {
        return Check::Ok;
    }
    found(vec![rule.finding(
        None,
        severity,
        format!("{name} is 0 (off)"),
        vec![Evidence::new(name, current, Some("s"))],
        why,
        Fix::action("redis.config_set", &[("name", name), ("value", value)], format!("CONFIG SET {name} {value}")),
    )])
}

pub const TIMEOUT_UNSET: Rule = Rule {
    id: "redis.timeout_unset",
    title: "Idle clients never closed (timeout 0)",
    reads: "CONFIG GET timeout",
    thresholds: &[],
    source: "redis.conf 'timeout' (blocked and pub/sub clients are exempt); RedisInsight recommendations",
    check: |rule, i, _| {
        unset_setting(
            rule,
            i,
            "timeout",
            "300",
            Severity::Info,
            "Clients that vanished without closing keep their connection and memory forever.",
        )
    },
};

pub const TCP_KEEPALIVE_UNSET: Rule = Rule {
    id: "redis.tcp_keepalive_unset",
    title: "TCP keepalive off",
    reads: "CONFIG GET tcp-keepalive",
    thresholds: &[],
    source: "redis.conf 'tcp-keepalive' (default 300 since Redis 3.2.1)",
    check: |rule, i, _| {
        unset_setting(
            rule,
            i,
            "tcp-keepalive",
            "300",
            Severity::Warning,
            "Without keepalives dead peers (a node gone, a NAT timeout) are never detected.",
        )
    },
};

pub const BIG_KEYS: Rule = Rule {
    id: "redis.big_keys",
    title: "Big keys",
    reads: "MEMORY USAGE of the sampled keys (the biggest ten)",
    thresholds: &[ThresholdDef { name: "redis.big_keys.min_bytes", default: 1_048_576.0, unit: "bytes" }],
    source: "RedisInsight Database Analysis (top keys by memory: big keys block the server on DEL, \
             migration and replication)",
    check: |rule, i, t| {
        let r = try_check!(redis(i));
        let Some(sample) = &r.memory_by_prefix else {
            return Check::NotEnoughData(r.memory_by_prefix_problem.clone().unwrap_or_else(|| "no key sample".into()));
        };
        let min = rule.threshold(t, "min_bytes");
        let big: Vec<_> = sample.biggest_keys.iter().filter(|k| k.bytes as f64 >= min).collect();
        if big.is_empty() {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Info,
            format!("{} key(s) of {} or more", big.len(), human_bytes(min)),
            big.iter().take(5).map(|k| Evidence::new(&k.key, human_bytes(k.bytes as f64), None)).collect(),
            "One big key is read, copied and freed in one go, stalling every other client meanwhile.",
            Fix::advice("split big values into smaller keys (hash buckets, chunks); delete them with UNLINK, not DEL"),
        )])
    },
};

pub const CACHE_KEYS_WITHOUT_TTL: Rule = Rule {
    id: "redis.cache_keys_without_ttl",
    title: "Keys without TTL in cache prefixes",
    reads: "PTTL of the sampled keys by prefix",
    thresholds: &[ThresholdDef { name: "redis.cache_keys_without_ttl.share", default: 0.1, unit: "share of keys" }],
    source: "RedisInsight recommendations (keys without TTL); KNOWN-TRAPS.md #4 (never delete keys by TTL <= 0)",
    check: |rule, i, t| {
        let r = try_check!(redis(i));
        let Some(sample) = &r.memory_by_prefix else {
            return Check::NotEnoughData(r.memory_by_prefix_problem.clone().unwrap_or_else(|| "no key sample".into()));
        };
        let limit = rule.threshold(t, "share");
        let findings = sample
            .prefixes
            .iter()
            // The semantic cache keeps its own expiry index; user prefixes named like a cache are meant to expire.
            .filter(|p| p.name.is_none() && p.prefix.to_ascii_lowercase().contains("cache") && p.keys_sampled > 0)
            .filter(|p| p.keys_without_ttl_sampled as f64 / p.keys_sampled as f64 >= limit)
            .map(|p| {
                let share = p.keys_without_ttl_sampled as f64 / p.keys_sampled as f64;
                rule.finding(
                    Some(&p.prefix),
                    Severity::Warning,
                    format!("{:.0}% of the keys under {} never expire", share * 100.0, p.prefix),
                    vec![
                        Evidence::new("keys without TTL", format!("{:.0}", p.estimated_keys_without_ttl), Some("keys")),
                        Evidence::new("keys under the prefix", format!("{:.0}", p.estimated_keys), Some("keys")),
                    ],
                    "Cache keys without a TTL are never refreshed and, under volatile-* policies, never evicted.",
                    Fix::advice(
                        "give the writer of these keys a TTL (SET … EX); never clean up by 'TTL <= 0', which also \
                         matches persistent keys (-1)",
                    ),
                )
            })
            .collect();
        found(findings)
    },
};
