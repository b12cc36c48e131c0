//! Redis actions. `redis.config_set`: CONFIG SET of the settings the advisor tunes, read back with
//! CONFIG GET, and CONFIG REWRITE when asked (`persist`): never silently, and refused up front when
//! the server has no config file to write. The preview says whether the change will outlive a
//! restart. `redis.cleanup`: UNLINK of the keys under one cache prefix that carry a TTL, and only
//! those (KNOWN-TRAPS #4: a key without a TTL, PTTL -1, is never a cleanup candidate), by a
//! bounded SCAN, never KEYS.

use super::{Prepared, Ran};
use crate::advisor::audit::{Outcome, ValueChange};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::sources::redis::{cmd, connect, redis_error};
use crate::sources::{with_timeout, QUERY_TIMEOUT};

const POLICIES: &[&str] = &[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
];

/// A size as CONFIG SET takes it (`268435456`, `256mb`, `1gb`) → bytes, as CONFIG GET answers.
fn size_bytes(value: &str) -> Option<u64> {
    let v = value.to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: u64 = n.parse().ok()?;
    let scale: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1_000_000,
        "mb" => 1024 * 1024,
        "g" => 1_000_000_000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// The value CONFIG GET will answer after a CONFIG SET of `value`.
fn canonical(name: &str, value: &str) -> String {
    match name {
        "maxmemory" => size_bytes(value).map(|b| b.to_string()).unwrap_or_else(|| value.to_string()),
        _ => value.to_ascii_lowercase(),
    }
}

pub(super) fn validate(name: &str, value: &str) -> ApiResult<()> {
    let ok = match name {
        "maxmemory" => size_bytes(value).is_some(),
        "maxmemory-policy" => POLICIES.contains(&value.to_ascii_lowercase().as_str()),
        "timeout" | "tcp-keepalive" => value.parse::<u32>().is_ok(),
        _ => {
            return Err(ApiError::invalid(format!(
                "redis.config_set changes maxmemory, maxmemory-policy, timeout or tcp-keepalive, not '{name}'"
            )))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(match name {
            "maxmemory" => format!("'{value}' is not a size: give bytes (268435456) or 256mb, 1gb"),
            "maxmemory-policy" => format!("'{value}' is not an eviction policy; one of {}", POLICIES.join(", ")),
            _ => format!("{name} takes whole seconds (0 turns it off), not '{value}'"),
        }))
    }
}

async fn config_get(
    conn: &mut redis::aio::MultiplexedConnection,
    endpoint: &Endpoint,
    name: &str,
) -> ApiResult<String> {
    let reply: Result<Vec<String>, ApiError> =
        with_timeout(&format!("Redis at {}", endpoint.display), QUERY_TIMEOUT, async {
            redis::cmd("CONFIG")
                .arg("GET")
                .arg(name)
                .query_async(conn)
                .await
                .map_err(|e| redis_error(&endpoint.display, &e))
        })
        .await;
    match reply {
        Ok(pair) if pair.len() == 2 => Ok(pair[1].clone()),
        Ok(_) => Err(ApiError::new(
            ErrorCode::Refused,
            format!("Redis at {} does not know the setting {name}", endpoint.display),
        )),
        Err(e) if e.code == ErrorCode::Unreachable => Err(e),
        Err(e) => Err(ApiError::new(
            ErrorCode::Refused,
            format!(
                "Redis at {} refuses CONFIG ({}): managed services (ElastiCache, Memorystore, Azure Cache) rename or \
                 disable it, and ACLs may deny it. Change {name} in the provider's console or parameter group; \
                 nothing was changed",
                endpoint.display, e.message
            ),
        )),
    }
}

pub(super) async fn prepare(
    endpoint: &Endpoint,
    name: &str,
    value: &str,
    persist: bool,
    is_broker: bool,
) -> ApiResult<Prepared> {
    let after = canonical(name, value);
    // KNOWN-TRAPS.md #3: an instance-wide allkeys-* policy evicts the broker's queues.
    if name == "maxmemory-policy" && after.starts_with("allkeys-") && is_broker {
        return Err(ApiError::invalid(format!(
            "refused: this Redis is also the profile's Celery broker, and {after} is instance-wide: queued tasks and \
             the unacked hash could be evicted. Use volatile-lru (with TTLs on cache keys) or a separate Redis"
        )));
    }
    let mut conn = connect(endpoint).await?;
    let before = config_get(&mut conn, endpoint, name).await?;
    let info: String = with_timeout(&format!("Redis at {}", endpoint.display), QUERY_TIMEOUT, async {
        redis::cmd("INFO").arg("server").query_async(&mut conn).await.map_err(|e| redis_error(&endpoint.display, &e))
    })
    .await
    .unwrap_or_default();
    // KNOWN-TRAPS.md #2: a maxmemory above the container's limit is never reached before the OOM killer.
    if name == "maxmemory" && crate::sources::redis_report::is_local(endpoint) {
        let pid = crate::sources::redis_report::process_id(&crate::sources::redis_report::parse_info_map(&info));
        if let (Some(limit), Ok(bytes)) =
            (crate::sources::host::server_memory_limit(pid, "redis-server"), after.parse::<u64>())
        {
            if bytes > limit.bytes {
                return Err(ApiError::invalid(format!(
                    "refused: maxmemory {} is above the memory limit of the Redis server {} ({}): Redis would be \
                     OOM-killed before it evicts",
                    crate::advisor::human_bytes(bytes as f64),
                    crate::advisor::human_bytes(limit.bytes as f64),
                    limit.source
                )));
            }
        }
    }
    let config_file = info.lines().find_map(|l| l.trim().strip_prefix("config_file:")).unwrap_or("").trim().to_string();
    let mut notes = vec![match (config_file.is_empty(), persist) {
        (true, true) => {
            return Err(ApiError::invalid(
                "the server was started without a config file, so CONFIG REWRITE has nothing to write: leave \
                 persist out (the change then lasts until Redis restarts) and add it to the server's configuration",
            ))
        }
        (true, false) => "the server was started without a config file, so CONFIG REWRITE cannot persist this: \
                          the change lasts until Redis restarts; add it to the server's configuration to keep it"
            .to_string(),
        (false, true) => format!(
            "CONFIG REWRITE writes the running configuration to {config_file}: the change outlives a restart (the \
             file's comments are kept, its options rewritten in place)"
        ),
        (false, false) => format!(
            "CONFIG REWRITE could persist this to {config_file}, but is not run (persist=yes would): the change \
             lasts until Redis restarts"
        ),
    }];
    if before == after {
        notes.push(format!("{name} is already {after}: applying changes nothing"));
    }
    let mut statements = vec![format!("CONFIG SET {name} {after}")];
    if persist {
        statements.push("CONFIG REWRITE".into());
    }
    Ok(Prepared { statements, changes: vec![ValueChange { name: name.to_string(), before, after }], notes })
}

pub(super) async fn run(endpoint: &Endpoint, name: &str, value: &str, persist: bool, planned: &[ValueChange]) -> Ran {
    let after = canonical(name, value);
    let before = planned.first().map(|c| c.before.clone()).unwrap_or_default();
    let failed = |message: String, now: String| Ran {
        changes: vec![ValueChange { name: name.to_string(), before: before.clone(), after: now }],
        outcome: Outcome::Failed,
        message: Some(message),
    };
    let mut conn = match connect(endpoint).await {
        Ok(c) => c,
        Err(e) => return failed(format!("{}; nothing was changed", e.message), before.clone()),
    };
    let set: ApiResult<()> = with_timeout(&format!("Redis at {}", endpoint.display), QUERY_TIMEOUT, async {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(&after)
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error(&endpoint.display, &e))
    })
    .await;
    let now = config_get(&mut conn, endpoint, name).await;
    match (set, now) {
        (Ok(()), Ok(now)) if now == after => {
            // Only a verified change is written to the file.
            let rewrite: ApiResult<()> = if persist {
                with_timeout(&format!("Redis at {}", endpoint.display), QUERY_TIMEOUT, async {
                    redis::cmd("CONFIG")
                        .arg("REWRITE")
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| redis_error(&endpoint.display, &e))
                })
                .await
            } else {
                Ok(())
            };
            Ran {
                changes: vec![ValueChange { name: name.into(), before, after: now }],
                outcome: Outcome::Applied,
                message: rewrite.err().map(|e| {
                    format!(
                        "{name} is set, but CONFIG REWRITE failed ({}): the change lasts until Redis restarts",
                        e.message
                    )
                }),
            }
        }
        (Ok(()), Ok(now)) => Ran {
            message: Some(format!("CONFIG SET ran but CONFIG GET {name} reads '{now}', not '{after}'")),
            changes: vec![ValueChange { name: name.into(), before, after: now }],
            outcome: Outcome::Unverified,
        },
        (Ok(()), Err(e)) => Ran {
            message: Some(format!("CONFIG SET ran but the value could not be read back ({}): check it", e.message)),
            changes: vec![ValueChange { name: name.into(), before, after: "unknown".into() }],
            outcome: Outcome::Unverified,
        },
        (Err(e), now) => {
            let now = now.unwrap_or_else(|_| "unknown".into());
            failed(format!("CONFIG SET failed: {}; {name} reads '{now}'", e.message), now)
        }
    }
}

/// Prefixes that belong to Celery (queues, results, the unacked hash, kombu bindings): a cache
/// cleanup never touches them, whatever their TTLs.
const BROKER_PREFIXES: &[&str] = &["_kombu", "celery", "unacked", "celeryev"];

/// How many keys one cleanup visits at most, and UNLINKs per round trip.
const SCAN_BUDGET: u64 = 1_000_000;
const UNLINK_BATCH: usize = 500;

pub(super) fn validate_prefix(prefix: &str) -> ApiResult<()> {
    if prefix.len() < 2 || prefix.len() > 200 {
        return Err(ApiError::invalid(format!(
            "'{prefix}' is too short or too long for a cache prefix: name one as the Redis page's memory by prefix \
             shows it (e.g. cache:)"
        )));
    }
    if prefix.chars().any(|c| matches!(c, '*' | '?' | '[' | ']' | '\\') || c.is_control()) {
        return Err(ApiError::invalid(format!(
            "'{prefix}' holds a glob character: the cleanup takes a literal key prefix, not a pattern"
        )));
    }
    if let Some(b) = BROKER_PREFIXES.iter().find(|b| prefix.to_ascii_lowercase().starts_with(*b)) {
        return Err(ApiError::invalid(format!(
            "refused: keys under '{b}' are the Celery broker's (queues, results, in-flight tasks), not a cache's"
        )));
    }
    Ok(())
}

/// The keys under `prefix` that carry a TTL, and how many are kept for having none.
async fn with_ttl(
    conn: &mut redis::aio::MultiplexedConnection,
    endpoint: &Endpoint,
    prefix: &str,
) -> ApiResult<(Vec<String>, u64)> {
    let pattern = format!("{prefix}*");
    let (mut cursor, mut visited, mut expiring, mut persistent) = (0u64, 0u64, vec![], 0u64);
    loop {
        let (next, keys): (u64, Vec<String>) = cmd(
            conn,
            &endpoint.display,
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000),
        )
        .await?;
        if !keys.is_empty() {
            let mut p = redis::pipe();
            for k in &keys {
                p.cmd("PTTL").arg(k);
            }
            let ttls: Vec<i64> = with_timeout(&format!("Redis at {}", endpoint.display), QUERY_TIMEOUT, async {
                p.query_async(conn).await.map_err(|e| redis_error(&endpoint.display, &e))
            })
            .await?;
            for (k, ttl) in keys.into_iter().zip(ttls) {
                match ttl {
                    t if t > 0 => expiring.push(k),
                    -1 => persistent += 1,
                    _ => {} // -2: expired or deleted since the SCAN saw it
                }
            }
        }
        visited += 1000;
        cursor = next;
        if cursor == 0 {
            return Ok((expiring, persistent));
        }
        if visited >= SCAN_BUDGET {
            return Err(ApiError::invalid(format!(
                "more than {SCAN_BUDGET} keys to look through under '{prefix}': clean up a narrower prefix"
            )));
        }
    }
}

pub(super) async fn prepare_cleanup(endpoint: &Endpoint, prefix: &str) -> ApiResult<Prepared> {
    let mut conn = connect(endpoint).await?;
    let (expiring, persistent) = with_ttl(&mut conn, endpoint, prefix).await?;
    if expiring.is_empty() {
        return Err(ApiError::not_found(format!(
            "no key under '{prefix}' carries a TTL ({persistent} without one, which a cleanup never touches): \
             nothing to clean up"
        )));
    }
    Ok(Prepared {
        statements: vec![
            format!("SCAN 0 MATCH {prefix}* COUNT 1000 … (PTTL of each key)"),
            format!("UNLINK <the {} keys with a TTL> (batches of {UNLINK_BATCH})", expiring.len()),
        ],
        changes: vec![ValueChange {
            name: format!("keys under '{prefix}' with a TTL"),
            before: expiring.len().to_string(),
            after: "0".into(),
        }],
        notes: vec![
            format!("{persistent} keys under '{prefix}' have no TTL and are kept (KNOWN-TRAPS #4)"),
            "no rollback: the keys are deleted; a cache refills as the questions come (each miss costs a model call)"
                .into(),
            "UNLINK frees the memory in the background: the server does not block".into(),
        ],
    })
}

pub(super) async fn run_cleanup(endpoint: &Endpoint, prefix: &str, planned: &[ValueChange]) -> Ran {
    let change = planned.first().cloned().unwrap_or(ValueChange {
        name: format!("keys under '{prefix}' with a TTL"),
        before: String::new(),
        after: "0".into(),
    });
    let not_run = |m: String| Ran {
        changes: vec![ValueChange { after: change.before.clone(), ..change.clone() }],
        outcome: Outcome::Failed,
        message: Some(format!("{m}; nothing was deleted")),
    };
    let mut conn = match connect(endpoint).await {
        Ok(c) => c,
        Err(e) => return not_run(e.message),
    };
    // Read again: only keys that still carry a TTL now are deleted.
    let expiring = match with_ttl(&mut conn, endpoint, prefix).await {
        Ok((keys, _)) => keys,
        Err(e) => return not_run(e.message),
    };
    let mut deleted = 0u64;
    let mut failure = None;
    for batch in expiring.chunks(UNLINK_BATCH) {
        match cmd::<u64>(&mut conn, &endpoint.display, redis::cmd("UNLINK").arg(batch)).await {
            Ok(n) => deleted += n,
            Err(e) => {
                failure = Some(e.message);
                break;
            }
        }
    }
    let left = with_ttl(&mut conn, endpoint, prefix).await.map(|(k, _)| k.len().to_string());
    let after = left.clone().unwrap_or_else(|_| "unknown".into());
    let (outcome, message) = match (failure, left) {
        (None, Ok(l)) if l == "0" => (Outcome::Applied, Some(format!("{deleted} keys deleted"))),
        (None, _) => (
            Outcome::Unverified,
            Some(format!("{deleted} keys deleted; {after} with a TTL under '{prefix}' now (written since?)")),
        ),
        (Some(e), _) => (Outcome::Failed, Some(format!("UNLINK failed after {deleted} keys: {e}; {after} left"))),
    };
    Ran { changes: vec![ValueChange { after, ..change }], outcome, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_redis_reads_them() {
        assert_eq!(size_bytes("256mb"), Some(268_435_456));
        assert_eq!(size_bytes("1GB"), Some(1 << 30));
        assert_eq!(size_bytes("100"), Some(100));
        assert_eq!(size_bytes("1k"), Some(1000));
        assert_eq!(size_bytes("12xb"), None);
        assert!(validate("maxmemory-policy", "volatile-lru").is_ok());
        assert!(validate("maxmemory-policy", "lru").is_err());
        assert!(validate("save", "").is_err());
        assert!(validate_prefix("cache:").is_ok());
        assert!(validate_prefix("cache:*").is_err());
        assert!(validate_prefix("celery-task-meta-").is_err());
        assert!(validate_prefix("_kombu.binding").is_err());
        assert!(validate_prefix("c").is_err());
    }
}
