//! Redis: memory, eviction policy, hit rate, keys, evictions, from `INFO` (no `CONFIG`, which
//! managed services often disable).

use super::{with_timeout, CONNECT_TIMEOUT, QUERY_TIMEOUT};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct RedisSnapshot {
    pub version: String,
    pub role: String,
    #[ts(type = "number")]
    pub uptime_seconds: u64,
    #[ts(type = "number")]
    pub connected_clients: u64,
    #[ts(type = "number")]
    pub used_memory_bytes: u64,
    #[ts(type = "number")]
    pub used_memory_peak_bytes: u64,
    /// 0 means no limit (Redis then grows until the OS or the container stops it).
    #[ts(type = "number")]
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    pub mem_fragmentation_ratio: Option<f64>,
    #[ts(type = "number")]
    pub keyspace_hits: u64,
    #[ts(type = "number")]
    pub keyspace_misses: u64,
    /// hits / (hits + misses) since the server started (or `CONFIG RESETSTAT`); None before any lookup.
    pub hit_rate_lifetime: Option<f64>,
    /// The same over the time since the previous sample (filled in by the service).
    pub hit_rate_interval: Option<f64>,
    #[ts(type = "number")]
    pub evicted_keys: u64,
    #[ts(type = "number")]
    pub expired_keys: u64,
    #[ts(type = "number")]
    pub keys_total: u64,
    pub databases: Vec<RedisDbKeys>,
    #[ts(type = "number")]
    pub total_commands_processed: u64,
    #[ts(type = "number")]
    pub instantaneous_ops_per_sec: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct RedisDbKeys {
    pub db: u32,
    #[ts(type = "number")]
    pub keys: u64,
    #[ts(type = "number")]
    pub expires: u64,
}

/// Opens a connection with timeouts and a message that says what to check.
pub async fn connect(endpoint: &Endpoint) -> ApiResult<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(endpoint.url.expose()).map_err(|e| {
        ApiError::invalid(format!("Redis URL {} is not usable: {}", endpoint.display, e.kind_description()))
    })?;
    with_timeout(&format!("Redis at {}", endpoint.display), CONNECT_TIMEOUT, async {
        client.get_multiplexed_async_connection().await.map_err(|e| redis_error(&endpoint.display, &e))
    })
    .await
}

/// One command with the query timeout and a message that names the server.
pub(crate) async fn cmd<T: redis::FromRedisValue>(
    con: &mut redis::aio::MultiplexedConnection,
    display: &str,
    c: &redis::Cmd,
) -> ApiResult<T> {
    with_timeout(&format!("Redis at {display}"), QUERY_TIMEOUT, async {
        c.query_async(con).await.map_err(|e| redis_error(display, &e))
    })
    .await
}

trait KindDescription {
    fn kind_description(&self) -> String;
}
impl KindDescription for redis::RedisError {
    fn kind_description(&self) -> String {
        // RedisError's Display can include the URL; keep only the kind and server detail.
        match self.detail() {
            Some(d) => format!("{:?}: {d}", self.kind()),
            None => format!("{:?}", self.kind()),
        }
    }
}

/// Maps a client error to what a person can act on.
pub fn redis_error(display: &str, e: &redis::RedisError) -> ApiError {
    let detail = e.kind_description();
    if e.is_io_error() || e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped() {
        ApiError::new(
            ErrorCode::Unreachable,
            format!("cannot reach Redis at {display} ({detail}); is it running and is the port right?"),
        )
    } else if matches!(e.kind(), redis::ErrorKind::AuthenticationFailed)
        || e.code() == Some("NOAUTH")
        || e.code() == Some("WRONGPASS")
    {
        ApiError::new(
            ErrorCode::Refused,
            format!("Redis at {display} refused the credentials ({detail}); check the password in the profile"),
        )
    } else if e.code() == Some("NOPERM") {
        ApiError::new(ErrorCode::Refused, format!("Redis at {display}: the ACL user lacks a permission ({detail})"))
    } else {
        ApiError::new(ErrorCode::Refused, format!("Redis at {display} answered with an error: {detail}"))
    }
}

pub async fn collect(endpoint: &Endpoint) -> ApiResult<RedisSnapshot> {
    let mut conn = connect(endpoint).await?;
    let info: String = with_timeout(&format!("Redis at {}", endpoint.display), QUERY_TIMEOUT, async {
        redis::cmd("INFO").query_async(&mut conn).await.map_err(|e| redis_error(&endpoint.display, &e))
    })
    .await?;
    parse_info(&info)
}

/// Parses `INFO` text into a snapshot. Missing fields read as 0; a reply that is not INFO is an error.
pub fn parse_info(text: &str) -> ApiResult<RedisSnapshot> {
    let mut fields: HashMap<&str, &str> = HashMap::new();
    let mut databases = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        if let Some(db) = key.strip_prefix("db").and_then(|n| n.parse::<u32>().ok()) {
            // db0:keys=3,expires=0,avg_ttl=0
            let kv: HashMap<&str, u64> = value
                .split(',')
                .filter_map(|p| p.split_once('='))
                .filter_map(|(k, v)| v.parse().ok().map(|v| (k, v)))
                .collect();
            databases.push(RedisDbKeys {
                db,
                keys: kv.get("keys").copied().unwrap_or(0),
                expires: kv.get("expires").copied().unwrap_or(0),
            });
        } else {
            fields.insert(key, value);
        }
    }
    if !fields.contains_key("redis_version") && !fields.contains_key("valkey_version") {
        return Err(ApiError::new(
            ErrorCode::Refused,
            "the server's INFO reply has no redis_version: is this a Redis server?",
        ));
    }
    let num = |k: &str| fields.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let hits = num("keyspace_hits");
    let misses = num("keyspace_misses");
    Ok(RedisSnapshot {
        version: fields.get("redis_version").or(fields.get("valkey_version")).unwrap_or(&"").to_string(),
        role: fields.get("role").unwrap_or(&"").to_string(),
        uptime_seconds: num("uptime_in_seconds"),
        connected_clients: num("connected_clients"),
        used_memory_bytes: num("used_memory"),
        used_memory_peak_bytes: num("used_memory_peak"),
        maxmemory_bytes: num("maxmemory"),
        maxmemory_policy: fields.get("maxmemory_policy").unwrap_or(&"").to_string(),
        mem_fragmentation_ratio: fields.get("mem_fragmentation_ratio").and_then(|v| v.parse().ok()),
        keyspace_hits: hits,
        keyspace_misses: misses,
        hit_rate_lifetime: ratio(hits, misses),
        hit_rate_interval: None,
        evicted_keys: num("evicted_keys"),
        expired_keys: num("expired_keys"),
        // The counters are the server's text: a hostile or broken reply must not overflow the sum.
        keys_total: databases.iter().fold(0u64, |sum, d| sum.saturating_add(d.keys)),
        databases,
        total_commands_processed: num("total_commands_processed"),
        instantaneous_ops_per_sec: num("instantaneous_ops_per_sec"),
    })
}

/// hits / (hits + misses), or None when there were no lookups.
pub fn ratio(hits: u64, misses: u64) -> Option<f64> {
    // In f64: two u64 counters from the server can overflow when added as integers.
    let total = hits as f64 + misses as f64;
    (total > 0.0).then(|| hits as f64 / total)
}

/// The hit rate between two samples of the same server; None if it restarted or nothing was looked up.
pub fn interval_hit_rate(previous: &RedisSnapshot, current: &RedisSnapshot) -> Option<f64> {
    if current.keyspace_hits < previous.keyspace_hits || current.keyspace_misses < previous.keyspace_misses {
        return None; // restarted or CONFIG RESETSTAT in between
    }
    ratio(current.keyspace_hits - previous.keyspace_hits, current.keyspace_misses - previous.keyspace_misses)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:42\r\n# Memory\r\nused_memory:1048576\r\nused_memory_peak:2097152\r\nmaxmemory:2147483648\r\nmaxmemory_policy:allkeys-lru\r\nmem_fragmentation_ratio:1.50\r\n# Stats\r\nkeyspace_hits:60\r\nkeyspace_misses:40\r\nevicted_keys:3\r\nexpired_keys:7\r\n# Replication\r\nrole:master\r\n# Keyspace\r\ndb0:keys=100,expires=10,avg_ttl=0\r\ndb1:keys=5,expires=0,avg_ttl=0\r\n";

    /// Found by hand while fuzzing (fuzz/corpus/redis_info/regression-overflow): counters near
    /// u64::MAX overflowed the hit rate and the key total (a panic with overflow checks on).
    #[test]
    fn huge_counters_do_not_overflow() {
        let text = "redis_version:7\nkeyspace_hits:18446744073709551615\nkeyspace_misses:1\ndb0:keys=18446744073709551615\ndb1:keys=1\n";
        let s = parse_info(text).unwrap();
        assert_eq!(s.keys_total, u64::MAX);
        let rate = s.hit_rate_lifetime.unwrap();
        assert!(rate > 0.99 && rate <= 1.0, "{rate}");
    }

    #[test]
    fn parses_info() {
        let s = parse_info(INFO).unwrap();
        assert_eq!(s.version, "7.0.15");
        assert_eq!(s.maxmemory_bytes, 2 << 30);
        assert_eq!(s.maxmemory_policy, "allkeys-lru");
        assert_eq!(s.hit_rate_lifetime, Some(0.6));
        assert_eq!(s.keys_total, 105);
        assert_eq!(s.databases[1], RedisDbKeys { db: 1, keys: 5, expires: 0 });
        assert_eq!(s.evicted_keys, 3);
        assert_eq!(s.mem_fragmentation_ratio, Some(1.5));
    }

    #[test]
    fn rejects_non_info_and_computes_interval() {
        assert!(parse_info("hello").is_err());
        let a = parse_info(INFO).unwrap();
        let mut b = a.clone();
        b.keyspace_hits += 9;
        b.keyspace_misses += 1;
        assert_eq!(interval_hit_rate(&a, &b), Some(0.9));
        assert_eq!(interval_hit_rate(&b, &a), None);
        assert_eq!(interval_hit_rate(&a, &a), None);
    }
}
