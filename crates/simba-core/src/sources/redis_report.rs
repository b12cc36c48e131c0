//! Redis in depth: INFO sections, the settings that matter (CONFIG GET, when allowed), rates
//! between two reports, the slow log, latency events, clients, and memory by key prefix from a
//! bounded SCAN sample. Only reads: SCAN, MEMORY USAGE, PTTL, INFO, CONFIG GET, SLOWLOG GET,
//! LATENCY LATEST, CLIENT LIST.

use super::host::{server_memory_limit, MemoryLimit};
use super::redis::{connect, ratio, redis_error};
use super::{with_timeout, QUERY_TIMEOUT};
use crate::error::{ApiError, ApiResult};
use crate::profiles::Endpoint;
use redis::aio::MultiplexedConnection;
use redis::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use ts_rs::TS;

/// The settings read with CONFIG GET.
pub const CONFIG_NAMES: &[&str] = &["maxmemory", "maxmemory-policy", "timeout", "tcp-keepalive", "save", "appendonly"];

/// The semantic cache's own key namespaces under its default prefix, with what they hold.
const SEMANTIC_CACHE_PREFIX: &str = crate::engine::DEFAULT_REDIS_PREFIX;
const SEMANTIC_CACHE_PARTS: &[(&str, &str)] = &[
    ("e:", "semantic cache: entries"),
    ("vset:", "semantic cache: vector sets"),
    ("lru:", "semantic cache: LRU order per namespace"),
    ("exp", "semantic cache: expiry index"),
    ("ix", "semantic cache: entry index"),
    ("nsbytes", "semantic cache: bytes per namespace"),
    ("ns", "semantic cache: namespace settings"),
    ("feed", "semantic cache: invalidation feed"),
];

/// How much of the keyspace the memory-by-prefix estimate may read.
#[derive(Debug, Clone, Copy)]
pub struct SampleBudget {
    pub max_keys: u64,
    pub max_time: Duration,
}

impl Default for SampleBudget {
    fn default() -> Self {
        Self { max_keys: 20_000, max_time: Duration::from_secs(2) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RedisReport {
    /// RFC 3339 time the figures were collected.
    pub collected_at: String,
    pub version: String,
    /// `standalone`, `cluster` or `sentinel`.
    pub mode: String,
    #[ts(type = "number")]
    pub uptime_seconds: u64,
    /// Whether the server listens on this machine (loopback), so this host's memory limit applies.
    pub local: bool,
    pub memory: RedisMemory,
    pub stats: RedisStats,
    pub keyspace: Vec<RedisKeyspaceDb>,
    pub persistence: RedisPersistence,
    pub replication: RedisReplication,
    /// CONFIG GET of maxmemory, maxmemory-policy, timeout, tcp-keepalive, save, appendonly.
    pub config: Vec<RedisConfigValue>,
    /// Why `config` is empty or short (CONFIG refused or disabled), and what still holds.
    pub config_problem: Option<String>,
    pub clients: RedisClients,
    /// SLOWLOG GET, newest first.
    pub slowlog: Vec<SlowlogEntry>,
    pub slowlog_problem: Option<String>,
    /// LATENCY LATEST (empty unless `latency-monitor-threshold` is set).
    pub latency: Vec<LatencyEvent>,
    pub latency_problem: Option<String>,
    /// None with `memory_by_prefix_problem` set when sampling was refused.
    pub memory_by_prefix: Option<KeySample>,
    pub memory_by_prefix_problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RedisMemory {
    #[ts(type = "number")]
    pub used_memory_bytes: u64,
    #[ts(type = "number")]
    pub used_memory_rss_bytes: u64,
    #[ts(type = "number")]
    pub used_memory_peak_bytes: u64,
    /// 0 means no limit.
    #[ts(type = "number")]
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    pub mem_fragmentation_ratio: Option<f64>,
    /// used_memory / maxmemory; None without a limit.
    pub used_of_maxmemory: Option<f64>,
    /// This machine's or container's memory limit, when the server runs here.
    pub host_limit: Option<MemoryLimit>,
    /// used_memory_rss / host limit.
    pub used_of_host_limit: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RedisStats {
    #[ts(type = "number")]
    pub keyspace_hits: u64,
    #[ts(type = "number")]
    pub keyspace_misses: u64,
    /// Since the server started or CONFIG RESETSTAT.
    pub hit_rate_lifetime: Option<f64>,
    #[ts(type = "number")]
    pub evicted_keys: u64,
    #[ts(type = "number")]
    pub expired_keys: u64,
    #[ts(type = "number")]
    pub total_commands_processed: u64,
    #[ts(type = "number")]
    pub instantaneous_ops_per_sec: u64,
    #[ts(type = "number")]
    pub total_connections_received: u64,
    #[ts(type = "number")]
    pub rejected_connections: u64,
    /// Since the previous report of this server in this process; None on the first or after a
    /// restart.
    pub interval: Option<RedisInterval>,
}

/// Counters between the end of the previous report and the start of this one, so the report's
/// own reads (PTTL counts as a keyspace hit) stay out of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct RedisInterval {
    pub seconds: f64,
    #[ts(type = "number")]
    pub hits: u64,
    #[ts(type = "number")]
    pub misses: u64,
    pub hit_rate: Option<f64>,
    /// Commands per second (includes the report's own INFO and connection set-up: a handful).
    pub ops_per_sec: f64,
    #[ts(type = "number")]
    pub evicted_keys: u64,
    pub evictions_per_sec: f64,
    #[ts(type = "number")]
    pub expired_keys: u64,
    pub expirations_per_sec: f64,
}

/// What the service keeps of one report to compute the next one's interval.
#[derive(Debug, Clone)]
pub struct RedisCounters {
    pub at: Instant,
    pub run_id: String,
    pub hits: u64,
    pub misses: u64,
    pub commands: u64,
    pub evicted: u64,
    pub expired: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct RedisKeyspaceDb {
    pub db: u32,
    #[ts(type = "number")]
    pub keys: u64,
    #[ts(type = "number")]
    pub expires: u64,
    /// Average TTL of the keys with one, ms.
    #[ts(type = "number")]
    pub avg_ttl_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RedisPersistence {
    pub loading: bool,
    #[ts(type = "number")]
    pub rdb_changes_since_last_save: u64,
    /// Unix time of the last successful RDB save.
    #[ts(type = "number")]
    pub rdb_last_save_time: u64,
    pub rdb_last_bgsave_status: String,
    pub rdb_bgsave_in_progress: bool,
    pub aof_enabled: bool,
    pub aof_rewrite_in_progress: bool,
    pub aof_last_write_status: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RedisReplication {
    /// `master` or `replica`.
    pub role: String,
    /// On a replica: its primary.
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    /// `up` or `down`.
    pub master_link_status: Option<String>,
    /// Seconds since the primary last spoke to this replica.
    #[ts(type = "number | null")]
    pub master_last_io_seconds_ago: Option<i64>,
    pub master_sync_in_progress: bool,
    /// On a replica: how many bytes of the primary's stream it has not applied yet (as far as it
    /// knows).
    #[ts(type = "number | null")]
    pub lag_bytes: Option<i64>,
    #[ts(type = "number")]
    pub master_repl_offset: i64,
    /// On a primary: its replicas.
    pub replicas: Vec<RedisReplica>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct RedisReplica {
    pub addr: String,
    pub state: String,
    #[ts(type = "number")]
    pub offset: i64,
    /// master_repl_offset − this replica's offset.
    #[ts(type = "number")]
    pub lag_bytes: i64,
    /// Seconds since its last acknowledgement.
    #[ts(type = "number")]
    pub lag_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct RedisConfigValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RedisClients {
    #[ts(type = "number")]
    pub connected_clients: u64,
    #[ts(type = "number")]
    pub blocked_clients: u64,
    #[ts(type = "number")]
    pub maxclients: u64,
    /// From CLIENT LIST, without this app's own connection.
    pub by_name: Vec<ClientGroup>,
    /// By client host (the address without its port).
    pub by_addr: Vec<ClientGroup>,
    pub by_db: Vec<ClientGroup>,
    /// The longest-connected client.
    pub oldest: Option<ClientInfo>,
    /// The client idle the longest.
    pub idlest: Option<ClientInfo>,
    /// Clients waiting in a blocking command (BLPOP, XREAD BLOCK, WAIT…).
    pub blocked: Vec<ClientInfo>,
    /// Why the lists are empty (CLIENT LIST refused).
    pub list_problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct ClientGroup {
    pub key: String,
    #[ts(type = "number")]
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct ClientInfo {
    #[ts(type = "number")]
    pub id: u64,
    pub addr: String,
    pub name: String,
    pub user: String,
    pub db: u32,
    #[ts(type = "number")]
    pub age_seconds: u64,
    #[ts(type = "number")]
    pub idle_seconds: u64,
    pub flags: String,
    /// The last command it ran.
    pub cmd: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct SlowlogEntry {
    #[ts(type = "number")]
    pub id: u64,
    /// Unix time it started.
    #[ts(type = "number")]
    pub started_at: u64,
    #[ts(type = "number")]
    pub duration_us: u64,
    /// The command with its arguments, each shortened and binary bytes escaped.
    pub command: String,
    pub client_addr: String,
    pub client_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct LatencyEvent {
    pub event: String,
    /// Unix time of the latest spike.
    #[ts(type = "number")]
    pub latest_at: u64,
    #[ts(type = "number")]
    pub latest_ms: u64,
    #[ts(type = "number")]
    pub max_ms: u64,
}

/// Memory by key prefix, estimated from a bounded SCAN of the connected database.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KeySample {
    pub db: u32,
    /// DBSIZE when sampling started.
    #[ts(type = "number")]
    pub keys_in_db: u64,
    #[ts(type = "number")]
    pub keys_sampled: u64,
    /// keys_sampled / keys_in_db (1 when every key was read).
    pub sample_fraction: f64,
    /// `complete` (every key read), `key budget` or `time budget`.
    pub stopped_by: String,
    #[ts(type = "number")]
    pub elapsed_ms: u64,
    #[ts(type = "number")]
    pub sampled_bytes: u64,
    /// The sampled bytes extrapolated to keys_in_db.
    pub estimated_total_bytes: f64,
    /// Largest estimate first.
    pub prefixes: Vec<PrefixMemory>,
    /// The biggest keys seen, biggest first.
    pub biggest_keys: Vec<BigKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PrefixMemory {
    /// Up to two ':'-separated levels (`user:`, `app:session:`); `(no prefix)` for keys without ':'.
    pub prefix: String,
    /// What the keys are, when recognised (the semantic cache's own namespaces).
    pub name: Option<String>,
    #[ts(type = "number")]
    pub keys_sampled: u64,
    #[ts(type = "number")]
    pub bytes_sampled: u64,
    pub estimated_keys: f64,
    pub estimated_bytes: f64,
    /// Standard error of `estimated_bytes` (simple random sample without replacement); 0 when
    /// every key was read. About 95% of the time the true total is within two of these.
    pub standard_error_bytes: f64,
    #[ts(type = "number")]
    pub keys_without_ttl_sampled: u64,
    pub estimated_keys_without_ttl: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct BigKey {
    /// The key name, binary bytes escaped as \xNN.
    pub key: String,
    pub prefix: String,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Remaining time to live in ms; None when the key has none.
    #[ts(type = "number | null")]
    pub ttl_ms: Option<i64>,
}

pub(crate) type Info = HashMap<String, String>;

/// INFO server's `process_id`, to find the server's own cgroup when it runs on this machine.
pub(crate) fn process_id(info: &Info) -> Option<u32> {
    info.get("process_id")?.trim().parse().ok()
}

pub(crate) fn parse_info_map(text: &str) -> Info {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(info: &Info, key: &str) -> u64 {
    info.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn inum(info: &Info, key: &str) -> Option<i64> {
    info.get(key).and_then(|v| v.parse().ok())
}

fn text(info: &Info, key: &str) -> String {
    info.get(key).cloned().unwrap_or_default()
}

/// `a=1,b=x` → map.
fn kv_list(value: &str) -> HashMap<&str, &str> {
    value.split(',').filter_map(|p| p.split_once('=')).collect()
}

struct Ctx<'a> {
    conn: MultiplexedConnection,
    endpoint: &'a Endpoint,
}

impl Ctx<'_> {
    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> ApiResult<T> {
        let display = self.endpoint.display.clone();
        let conn = &mut self.conn;
        with_timeout(&format!("Redis at {display}"), QUERY_TIMEOUT, async {
            cmd.query_async(conn).await.map_err(|e| redis_error(&display, &e))
        })
        .await
    }
}

/// Collects a report; `previous` is what the last report of this server left, for the rates.
/// Returns the report and the counters to keep for the next one.
pub async fn collect(
    endpoint: &Endpoint,
    budget: SampleBudget,
    previous: Option<&RedisCounters>,
) -> ApiResult<(RedisReport, RedisCounters)> {
    let conn = connect(endpoint).await?;
    let mut ctx = Ctx { conn, endpoint };
    let info_text: String = ctx.query(&redis::cmd("INFO")).await?;
    let started = Instant::now();
    let info = parse_info_map(&info_text);
    if !info.contains_key("redis_version") && !info.contains_key("valkey_version") {
        return Err(ApiError::new(
            crate::ErrorCode::Refused,
            format!("the INFO reply of {} has no redis_version: is this a Redis server?", endpoint.display),
        ));
    }
    let counters_now = counters(&info, started);
    let interval = previous.and_then(|p| interval_between(p, &counters_now));

    let (config, config_problem) = read_config(&mut ctx).await;
    let local = is_local(endpoint);
    let memory = memory_of(&info, local.then(|| server_memory_limit(process_id(&info), "redis-server")).flatten());
    let clients = clients_of(&mut ctx, &info).await;
    let (slowlog, slowlog_problem) = match ctx.query::<Value>(redis::cmd("SLOWLOG").arg("GET").arg(128)).await {
        Ok(v) => (parse_slowlog(&v), None),
        Err(e) => (vec![], Some(format!("SLOWLOG GET failed: {}", e.message))),
    };
    let (latency, latency_problem) = match ctx.query::<Value>(redis::cmd("LATENCY").arg("LATEST")).await {
        Ok(v) => (parse_latency(&v), None),
        Err(e) => (vec![], Some(format!("LATENCY LATEST failed: {}", e.message))),
    };
    let db = db_of(endpoint);
    let (memory_by_prefix, memory_by_prefix_problem) = match sample_keys(&mut ctx, db, budget).await {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(format!("memory by prefix is unavailable: {}", e.message))),
    };

    // The baseline for the next interval is taken after this report's own reads.
    let end_info: String = ctx.query(redis::cmd("INFO").arg("stats")).await.unwrap_or_default();
    let end_counters = if end_info.is_empty() {
        counters_now.clone()
    } else {
        // INFO stats has no run_id; it is the same run unless the counters went back.
        RedisCounters { run_id: counters_now.run_id.clone(), ..counters(&parse_info_map(&end_info), Instant::now()) }
    };

    let hits = num(&info, "keyspace_hits");
    let misses = num(&info, "keyspace_misses");
    let report = RedisReport {
        collected_at: chrono::Utc::now().to_rfc3339(),
        version: info.get("redis_version").or(info.get("valkey_version")).cloned().unwrap_or_default(),
        mode: info.get("redis_mode").cloned().unwrap_or_else(|| "standalone".into()),
        uptime_seconds: num(&info, "uptime_in_seconds"),
        local,
        memory,
        stats: RedisStats {
            keyspace_hits: hits,
            keyspace_misses: misses,
            hit_rate_lifetime: ratio(hits, misses),
            evicted_keys: num(&info, "evicted_keys"),
            expired_keys: num(&info, "expired_keys"),
            total_commands_processed: num(&info, "total_commands_processed"),
            instantaneous_ops_per_sec: num(&info, "instantaneous_ops_per_sec"),
            total_connections_received: num(&info, "total_connections_received"),
            rejected_connections: num(&info, "rejected_connections"),
            interval,
        },
        keyspace: keyspace_of(&info),
        persistence: persistence_of(&info),
        replication: replication_of(&info),
        config,
        config_problem,
        clients,
        slowlog,
        slowlog_problem,
        latency,
        latency_problem,
        memory_by_prefix,
        memory_by_prefix_problem,
    };
    Ok((report, end_counters))
}

fn counters(info: &Info, at: Instant) -> RedisCounters {
    RedisCounters {
        at,
        run_id: text(info, "run_id"),
        hits: num(info, "keyspace_hits"),
        misses: num(info, "keyspace_misses"),
        commands: num(info, "total_commands_processed"),
        evicted: num(info, "evicted_keys"),
        expired: num(info, "expired_keys"),
    }
}

/// The rates between two samples of the same server run; None after a restart or a RESETSTAT.
pub fn interval_between(prev: &RedisCounters, now: &RedisCounters) -> Option<RedisInterval> {
    if prev.run_id != now.run_id
        || now.hits < prev.hits
        || now.misses < prev.misses
        || now.commands < prev.commands
        || now.evicted < prev.evicted
        || now.expired < prev.expired
    {
        return None;
    }
    let seconds = now.at.saturating_duration_since(prev.at).as_secs_f64();
    if seconds <= 0.0 {
        return None;
    }
    let (hits, misses) = (now.hits - prev.hits, now.misses - prev.misses);
    let (evicted, expired) = (now.evicted - prev.evicted, now.expired - prev.expired);
    Some(RedisInterval {
        seconds,
        hits,
        misses,
        hit_rate: ratio(hits, misses),
        ops_per_sec: (now.commands - prev.commands) as f64 / seconds,
        evicted_keys: evicted,
        evictions_per_sec: evicted as f64 / seconds,
        expired_keys: expired,
        expirations_per_sec: expired as f64 / seconds,
    })
}

fn memory_of(info: &Info, host_limit: Option<MemoryLimit>) -> RedisMemory {
    let used = num(info, "used_memory");
    let rss = num(info, "used_memory_rss");
    let maxmemory = num(info, "maxmemory");
    RedisMemory {
        used_memory_bytes: used,
        used_memory_rss_bytes: rss,
        used_memory_peak_bytes: num(info, "used_memory_peak"),
        maxmemory_bytes: maxmemory,
        maxmemory_policy: text(info, "maxmemory_policy"),
        mem_fragmentation_ratio: info.get("mem_fragmentation_ratio").and_then(|v| v.parse().ok()),
        used_of_maxmemory: (maxmemory > 0).then(|| used as f64 / maxmemory as f64),
        used_of_host_limit: host_limit.as_ref().map(|l| rss.max(used) as f64 / l.bytes as f64),
        host_limit,
    }
}

fn keyspace_of(info: &Info) -> Vec<RedisKeyspaceDb> {
    let mut dbs: Vec<RedisKeyspaceDb> = info
        .iter()
        .filter_map(|(k, v)| {
            let db = k.strip_prefix("db")?.parse::<u32>().ok()?;
            let kv = kv_list(v);
            let n = |f: &str| kv.get(f).and_then(|x| x.parse().ok()).unwrap_or(0);
            Some(RedisKeyspaceDb { db, keys: n("keys"), expires: n("expires"), avg_ttl_ms: n("avg_ttl") })
        })
        .collect();
    dbs.sort_by_key(|d| d.db);
    dbs
}

fn persistence_of(info: &Info) -> RedisPersistence {
    let flag = |k: &str| num(info, k) == 1;
    RedisPersistence {
        loading: flag("loading"),
        rdb_changes_since_last_save: num(info, "rdb_changes_since_last_save"),
        rdb_last_save_time: num(info, "rdb_last_save_time"),
        rdb_last_bgsave_status: text(info, "rdb_last_bgsave_status"),
        rdb_bgsave_in_progress: flag("rdb_bgsave_in_progress"),
        aof_enabled: flag("aof_enabled"),
        aof_rewrite_in_progress: flag("aof_rewrite_in_progress"),
        aof_last_write_status: text(info, "aof_last_write_status"),
    }
}

fn replication_of(info: &Info) -> RedisReplication {
    let role = match text(info, "role").as_str() {
        "slave" => "replica".to_string(),
        other => other.to_string(),
    };
    let master_offset = inum(info, "master_repl_offset").unwrap_or(0);
    let mut replicas: Vec<(u32, RedisReplica)> = info
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("slave")?.parse::<u32>().ok()?;
            let kv = kv_list(v);
            let offset = kv.get("offset").and_then(|x| x.parse().ok()).unwrap_or(0);
            Some((
                n,
                RedisReplica {
                    addr: format!("{}:{}", kv.get("ip").unwrap_or(&""), kv.get("port").unwrap_or(&"")),
                    state: kv.get("state").unwrap_or(&"").to_string(),
                    offset,
                    lag_bytes: (master_offset - offset).max(0),
                    lag_seconds: kv.get("lag").and_then(|x| x.parse().ok()).unwrap_or(0),
                },
            ))
        })
        .collect();
    replicas.sort_by_key(|(n, _)| *n);
    let is_replica = role == "replica";
    RedisReplication {
        master_host: is_replica.then(|| text(info, "master_host")),
        master_port: if is_replica { info.get("master_port").and_then(|p| p.parse().ok()) } else { None },
        master_link_status: is_replica.then(|| text(info, "master_link_status")),
        master_last_io_seconds_ago: if is_replica { inum(info, "master_last_io_seconds_ago") } else { None },
        master_sync_in_progress: num(info, "master_sync_in_progress") == 1,
        lag_bytes: if is_replica {
            inum(info, "slave_read_repl_offset")
                .or(inum(info, "slave_repl_offset"))
                .map(|applied| (master_offset - applied).max(0))
        } else {
            None
        },
        master_repl_offset: master_offset,
        replicas: replicas.into_iter().map(|(_, r)| r).collect(),
        role,
    }
}

/// CONFIG GET of the settings that matter; managed services refuse it, which is said, not fatal.
async fn read_config(ctx: &mut Ctx<'_>) -> (Vec<RedisConfigValue>, Option<String>) {
    let names = CONFIG_NAMES;
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET");
    for n in names {
        cmd.arg(*n);
    }
    let got: ApiResult<HashMap<String, String>> = match ctx.query(&cmd).await {
        // Redis 6 takes one name per CONFIG GET.
        Err(e) if e.message.contains("wrong number of arguments") => {
            let mut all = HashMap::new();
            let mut failed = None;
            for n in names {
                match ctx.query::<HashMap<String, String>>(redis::cmd("CONFIG").arg("GET").arg(*n)).await {
                    Ok(m) => all.extend(m),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            failed.map_or(Ok(all), Err)
        }
        other => other,
    };
    match got {
        Ok(map) => {
            let values = names
                .iter()
                .filter_map(|n| map.get(*n).map(|v| RedisConfigValue { name: n.to_string(), value: v.clone() }))
                .collect();
            (values, None)
        }
        Err(e) => {
            let why = if e.message.contains("unknown command") {
                "CONFIG is disabled on this server (renamed or removed, as managed services do)".to_string()
            } else if e.message.contains("NOPERM") || e.message.contains("lacks a permission") {
                "this user may not run CONFIG GET (ACL); grant +config|get to see the settings".to_string()
            } else {
                format!("CONFIG GET failed: {}", e.message)
            };
            (
                vec![],
                Some(format!(
                    "{why}. maxmemory and maxmemory-policy are still shown from INFO; timeout, tcp-keepalive, \
                     save and appendonly are not known (appendonly also shows as aof_enabled under persistence)"
                )),
            )
        }
    }
}

fn info_str(v: &Value) -> String {
    match v {
        Value::BulkString(b) => escape_bytes(b),
        Value::SimpleString(s) => s.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Okay => "OK".into(),
        _ => String::new(),
    }
}

fn value_u64(v: &Value) -> u64 {
    match v {
        Value::Int(i) => (*i).max(0) as u64,
        other => info_str(other).parse().unwrap_or(0),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) | Value::Push { data: a, .. } => a,
        _ => &[],
    }
}

/// SLOWLOG GET replies: `[id, unix time, µs, [args…], client addr, client name]` per entry.
fn parse_slowlog(v: &Value) -> Vec<SlowlogEntry> {
    items(v)
        .iter()
        .filter_map(|e| {
            let f = items(e);
            if f.len() < 4 {
                return None;
            }
            Some(SlowlogEntry {
                id: value_u64(&f[0]),
                started_at: value_u64(&f[1]),
                duration_us: value_u64(&f[2]),
                command: shorten_command(items(&f[3])),
                client_addr: f.get(4).map(info_str).unwrap_or_default(),
                client_name: f.get(5).map(info_str).unwrap_or_default(),
            })
        })
        .collect()
}

/// At most 8 arguments of at most 40 characters each, so a huge MSET stays one line.
fn shorten_command(args: &[Value]) -> String {
    const MAX_ARGS: usize = 8;
    const MAX_CHARS: usize = 40;
    let mut parts: Vec<String> = args
        .iter()
        .take(MAX_ARGS)
        .map(|a| {
            let s = info_str(a);
            if s.chars().count() > MAX_CHARS {
                format!("{}…", s.chars().take(MAX_CHARS).collect::<String>())
            } else {
                s
            }
        })
        .collect();
    if args.len() > MAX_ARGS {
        parts.push(format!("… ({} more)", args.len() - MAX_ARGS));
    }
    parts.join(" ")
}

fn parse_latency(v: &Value) -> Vec<LatencyEvent> {
    items(v)
        .iter()
        .filter_map(|e| {
            let f = items(e);
            (f.len() >= 4).then(|| LatencyEvent {
                event: info_str(&f[0]),
                latest_at: value_u64(&f[1]),
                latest_ms: value_u64(&f[2]),
                max_ms: value_u64(&f[3]),
            })
        })
        .collect()
}

async fn clients_of(ctx: &mut Ctx<'_>, info: &Info) -> RedisClients {
    let mut out = RedisClients {
        connected_clients: num(info, "connected_clients"),
        blocked_clients: num(info, "blocked_clients"),
        maxclients: num(info, "maxclients"),
        ..Default::default()
    };
    let own_id: Option<u64> = ctx.query(redis::cmd("CLIENT").arg("ID")).await.ok();
    let list: String = match ctx.query(redis::cmd("CLIENT").arg("LIST")).await {
        Ok(l) => l,
        Err(e) => {
            out.list_problem = Some(format!("CLIENT LIST failed: {}", e.message));
            return out;
        }
    };
    let clients: Vec<ClientInfo> = parse_client_list(&list).into_iter().filter(|c| Some(c.id) != own_id).collect();
    let group = |key: &dyn Fn(&ClientInfo) -> String| {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for c in &clients {
            *m.entry(key(c)).or_default() += 1;
        }
        let mut v: Vec<ClientGroup> = m.into_iter().map(|(key, count)| ClientGroup { key, count }).collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        v
    };
    out.by_name = group(&|c: &ClientInfo| if c.name.is_empty() { "(no name)".into() } else { c.name.clone() });
    out.by_addr =
        group(&|c: &ClientInfo| c.addr.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_else(|| c.addr.clone()));
    out.by_db = group(&|c: &ClientInfo| c.db.to_string());
    out.oldest = clients.iter().max_by_key(|c| (c.age_seconds, std::cmp::Reverse(c.id))).cloned();
    out.idlest = clients.iter().max_by_key(|c| (c.idle_seconds, std::cmp::Reverse(c.id))).cloned();
    out.blocked = clients.iter().filter(|c| c.flags.contains('b')).cloned().collect();
    out
}

/// CLIENT LIST: one client per line, `id=3 addr=127.0.0.1:5555 name= age=0 idle=0 flags=N db=0 … cmd=client|list`.
pub fn parse_client_list(text: &str) -> Vec<ClientInfo> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let kv: HashMap<&str, &str> = line.split(' ').filter_map(|p| p.split_once('=')).collect();
            let s = |k: &str| kv.get(k).copied().unwrap_or("").to_string();
            let n = |k: &str| kv.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            ClientInfo {
                id: n("id"),
                addr: s("addr"),
                name: s("name"),
                user: s("user"),
                db: n("db") as u32,
                age_seconds: n("age"),
                idle_seconds: n("idle"),
                flags: s("flags"),
                cmd: s("cmd"),
            }
        })
        .collect()
}

pub(crate) fn is_local(endpoint: &Endpoint) -> bool {
    let Ok(url) = url::Url::parse(endpoint.url.expose()) else { return false };
    if url.scheme().contains("unix") {
        return true;
    }
    // redis:// and postgres:// are not special schemes to the url crate: an IP comes back as text.
    match url.host_str() {
        Some(h) => {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// The database the URL selects (`redis://host/3` → 3).
fn db_of(endpoint: &Endpoint) -> u32 {
    url::Url::parse(endpoint.url.expose()).ok().and_then(|u| u.path().trim_start_matches('/').parse().ok()).unwrap_or(0)
}

/// A key name a person can read: printable text as is, other bytes as \xNN and '\' as "\\".
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    c if c.is_control() => {
                        let mut buf = [0u8; 4];
                        for b in c.encode_utf8(&mut buf).bytes() {
                            out.push_str(&format!("\\x{b:02x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
        }
        Err(_) => {
            for &b in bytes {
                match b {
                    b'\\' => out.push_str("\\\\"),
                    0x20..=0x7e => out.push(b as char),
                    _ => out.push_str(&format!("\\x{b:02x}")),
                }
            }
        }
    }
    out
}

/// A segment that names one object (a number, a hash, a UUID) rather than a kind of key.
fn looks_like_id(segment: &[u8]) -> bool {
    segment.len() > 24
        || (!segment.is_empty()
            && segment.iter().any(u8::is_ascii_digit)
            && segment.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-' || *b == b'_'))
}

/// The prefix a key is grouped under, and its name when it is one of the semantic cache's.
pub fn prefix_of(key: &[u8]) -> (String, Option<&'static str>) {
    if let Some(rest) = key.strip_prefix(SEMANTIC_CACHE_PREFIX.as_bytes()) {
        for (part, name) in SEMANTIC_CACHE_PARTS {
            let matches = if part.ends_with(':') { rest.starts_with(part.as_bytes()) } else { rest == part.as_bytes() };
            if matches {
                return (format!("{SEMANTIC_CACHE_PREFIX}{part}"), Some(*name));
            }
        }
        return (SEMANTIC_CACHE_PREFIX.to_string(), Some("semantic cache: other"));
    }
    let mut end = 0;
    for (level, segment) in key.split(|&b| b == b':').enumerate() {
        let segment_end = end + segment.len();
        if segment_end >= key.len() || level >= 2 || (level > 0 && looks_like_id(segment)) {
            break;
        }
        end = segment_end + 1; // through the ':'
    }
    if end == 0 {
        ("(no prefix)".into(), None)
    } else {
        (escape_bytes(&key[..end]), None)
    }
}

#[derive(Default)]
struct PrefixAcc {
    keys: u64,
    bytes: u64,
    bytes_sq: f64,
    no_ttl: u64,
    name: Option<&'static str>,
}

const MAX_PREFIXES: usize = 500;
const BIGGEST_KEYS: usize = 10;

async fn sample_keys(ctx: &mut Ctx<'_>, db: u32, budget: SampleBudget) -> ApiResult<KeySample> {
    let started = Instant::now();
    let keys_in_db: u64 = ctx.query(&redis::cmd("DBSIZE")).await?;
    let mut acc: HashMap<String, PrefixAcc> = HashMap::new();
    let mut biggest: Vec<(u64, Vec<u8>, String, Option<i64>)> = Vec::new();
    let mut cursor: u64 = 0;
    let mut sampled: u64 = 0;
    let mut sampled_bytes: u64 = 0;
    let stopped_by = loop {
        let (next, batch): (u64, Vec<Vec<u8>>) =
            ctx.query(redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000)).await?;
        let scanned = batch.len();
        let batch: Vec<Vec<u8>> = batch.into_iter().take((budget.max_keys - sampled) as usize).collect();
        // Keys of this batch left out by the key budget: the scan is not complete even when the
        // cursor is back at 0 (a small keyspace comes back in one batch).
        let cut = batch.len() < scanned;
        if !batch.is_empty() {
            let mut pipe = redis::pipe();
            for k in &batch {
                pipe.cmd("MEMORY").arg("USAGE").arg(k);
                pipe.cmd("PTTL").arg(k);
            }
            let display = ctx.endpoint.display.clone();
            let conn = &mut ctx.conn;
            let replies: Vec<Value> = with_timeout(&format!("Redis at {display}"), QUERY_TIMEOUT, async {
                pipe.query_async(conn).await.map_err(|e| redis_error(&display, &e))
            })
            .await?;
            for (key, pair) in batch.iter().zip(replies.chunks(2)) {
                let (Value::Int(bytes), Value::Int(ttl)) = (&pair[0], &pair[1]) else { continue }; // deleted meanwhile
                if *ttl == -2 {
                    continue;
                }
                let bytes = (*bytes).max(0) as u64;
                let (mut prefix, name) = prefix_of(key);
                if acc.len() >= MAX_PREFIXES && !acc.contains_key(&prefix) {
                    prefix = "(other prefixes)".into();
                }
                let a = acc.entry(prefix.clone()).or_default();
                a.keys += 1;
                a.bytes += bytes;
                a.bytes_sq += (bytes as f64) * (bytes as f64);
                a.name = name;
                if *ttl == -1 {
                    a.no_ttl += 1;
                }
                sampled += 1;
                sampled_bytes += bytes;
                if biggest.len() < BIGGEST_KEYS || bytes > biggest.last().map(|b| b.0).unwrap_or(0) {
                    biggest.push((bytes, key.clone(), prefix, (*ttl >= 0).then_some(*ttl)));
                    biggest.sort_by_key(|b| std::cmp::Reverse(b.0));
                    biggest.truncate(BIGGEST_KEYS);
                }
            }
        }
        cursor = next;
        if cursor == 0 && !cut {
            break "complete";
        }
        if sampled >= budget.max_keys || cut {
            break "key budget";
        }
        if started.elapsed() >= budget.max_time {
            break "time budget";
        }
    };
    let complete = stopped_by == "complete";
    // With every key read, the sums are the totals; else extrapolate from the DBSIZE at the start.
    let population = if complete { sampled } else { keys_in_db.max(sampled) };
    let n = sampled as f64;
    let scale = if sampled == 0 { 0.0 } else { population as f64 / n };
    let fpc = if population == 0 { 0.0 } else { 1.0 - n / population as f64 };
    let mut prefixes: Vec<PrefixMemory> = acc
        .into_iter()
        .map(|(prefix, a)| {
            // Each sampled key contributes its size to its own prefix and 0 to the others.
            let se = if complete || sampled < 2 {
                0.0
            } else {
                let mean = a.bytes as f64 / n;
                let var = ((a.bytes_sq - n * mean * mean) / (n - 1.0)).max(0.0);
                population as f64 * (fpc * var / n).sqrt()
            };
            PrefixMemory {
                prefix,
                name: a.name.map(String::from),
                keys_sampled: a.keys,
                bytes_sampled: a.bytes,
                estimated_keys: a.keys as f64 * scale,
                estimated_bytes: a.bytes as f64 * scale,
                standard_error_bytes: se,
                keys_without_ttl_sampled: a.no_ttl,
                estimated_keys_without_ttl: a.no_ttl as f64 * scale,
            }
        })
        .collect();
    prefixes.sort_by(|a, b| b.estimated_bytes.total_cmp(&a.estimated_bytes).then(a.prefix.cmp(&b.prefix)));
    Ok(KeySample {
        db,
        keys_in_db,
        keys_sampled: sampled,
        sample_fraction: if complete || keys_in_db == 0 { 1.0 } else { (n / keys_in_db as f64).min(1.0) },
        stopped_by: stopped_by.into(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        sampled_bytes,
        estimated_total_bytes: sampled_bytes as f64 * scale,
        prefixes,
        biggest_keys: biggest
            .into_iter()
            .map(|(bytes, key, prefix, ttl_ms)| BigKey { key: escape_bytes(&key), prefix, bytes, ttl_ms })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_group_kinds_not_ids() {
        assert_eq!(prefix_of(b"user:42").0, "user:");
        assert_eq!(prefix_of(b"app:session:9f2c").0, "app:session:");
        assert_eq!(prefix_of(b"app:session:9f2c:data").0, "app:session:");
        assert_eq!(prefix_of(b"session:1234abcd:data").0, "session:");
        assert_eq!(prefix_of(b"plain").0, "(no prefix)");
        assert_eq!(prefix_of(b"trailing:").0, "trailing:");
        assert_eq!(prefix_of(b"simba:sc:e:17"), ("simba:sc:e:".into(), Some("semantic cache: entries")));
        assert_eq!(prefix_of(b"simba:sc:nsbytes").1, Some("semantic cache: bytes per namespace"));
        assert_eq!(prefix_of(b"simba:sc:ns").1, Some("semantic cache: namespace settings"));
        assert_eq!(prefix_of(b"bin\xff:x").0, "bin\\xff:");
    }

    #[test]
    fn binary_names_are_escaped() {
        assert_eq!(escape_bytes(b"a\x00b\xff"), "a\\x00b\\xff");
        assert_eq!(escape_bytes("café\n".as_bytes()), "café\\x0a");
        assert_eq!(escape_bytes(b"back\\slash"), "back\\\\slash");
    }

    #[test]
    fn client_list_and_slowlog_parse() {
        let list = "id=3 addr=127.0.0.1:5555 laddr=127.0.0.1:6379 fd=8 name=worker age=100 idle=5 flags=b db=2 cmd=blpop user=default\n\
                    id=4 addr=10.0.0.2:6000 laddr=x fd=9 name= age=3 idle=3 flags=N db=0 cmd=get user=app\n";
        let c = parse_client_list(list);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].id, c[0].name.as_str(), c[0].db, c[0].age_seconds), (3, "worker", 2, 100));
        assert!(c[0].flags.contains('b'));
        let slow = Value::Array(vec![Value::Array(vec![
            Value::Int(7),
            Value::Int(1700000000),
            Value::Int(52000),
            Value::Array((0..12).map(|i| Value::BulkString(format!("arg{i}").into_bytes())).collect()),
            Value::BulkString(b"127.0.0.1:5000".to_vec()),
            Value::BulkString(b"".to_vec()),
        ])]);
        let s = parse_slowlog(&slow);
        assert_eq!(s[0].duration_us, 52000);
        assert_eq!(s[0].command, "arg0 arg1 arg2 arg3 arg4 arg5 arg6 arg7 … (4 more)");
    }

    #[test]
    fn intervals_need_the_same_run() {
        let at = Instant::now();
        let a = RedisCounters { at, run_id: "r".into(), hits: 10, misses: 10, commands: 100, evicted: 0, expired: 0 };
        let mut b = a.clone();
        b.at = at + Duration::from_secs(2);
        b.hits = 19;
        b.misses = 11;
        b.commands = 300;
        b.evicted = 4;
        let i = interval_between(&a, &b).unwrap();
        assert_eq!((i.hits, i.misses, i.hit_rate), (9, 1, Some(0.9)));
        assert_eq!((i.ops_per_sec, i.evictions_per_sec), (100.0, 2.0));
        b.run_id = "other".into();
        assert!(interval_between(&a, &b).is_none());
    }
}
