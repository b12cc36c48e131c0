//! `redis.config_set`: CONFIG SET of the settings the advisor tunes, read back with CONFIG GET.
//! CONFIG REWRITE is never run silently: the preview says whether it could persist the change.

use super::{Prepared, Ran};
use crate::advisor::audit::{Outcome, ValueChange};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::sources::redis::{connect, redis_error};
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

pub(super) async fn prepare(endpoint: &Endpoint, name: &str, value: &str, is_broker: bool) -> ApiResult<Prepared> {
    let after = canonical(name, value);
    // KNOWN-TRAPS.md #3: an instance-wide allkeys-* policy evicts the broker's queues.
    if name == "maxmemory-policy" && after.starts_with("allkeys-") && is_broker {
        return Err(ApiError::invalid(format!(
            "refused: this Redis is also the profile's Celery broker, and {after} is instance-wide: queued tasks and \
             the unacked hash could be evicted. Use volatile-lru (with TTLs on cache keys) or a separate Redis"
        )));
    }
    // KNOWN-TRAPS.md #2: a maxmemory above the container's limit is never reached before the OOM killer.
    if name == "maxmemory" && crate::sources::redis_report::is_local(endpoint) {
        if let (Some(limit), Ok(bytes)) = (crate::sources::host::memory_limit(), after.parse::<u64>()) {
            if bytes > limit.bytes {
                return Err(ApiError::invalid(format!(
                    "refused: maxmemory {} is above this machine's memory limit {} ({}): Redis would be OOM-killed \
                     before it evicts",
                    crate::advisor::human_bytes(bytes as f64),
                    crate::advisor::human_bytes(limit.bytes as f64),
                    limit.source
                )));
            }
        }
    }
    let mut conn = connect(endpoint).await?;
    let before = config_get(&mut conn, endpoint, name).await?;
    let info: String = with_timeout(&format!("Redis at {}", endpoint.display), QUERY_TIMEOUT, async {
        redis::cmd("INFO").arg("server").query_async(&mut conn).await.map_err(|e| redis_error(&endpoint.display, &e))
    })
    .await
    .unwrap_or_default();
    let config_file = info.lines().find_map(|l| l.trim().strip_prefix("config_file:")).unwrap_or("").trim().to_string();
    let mut notes = vec![if config_file.is_empty() {
        "the server was started without a config file, so CONFIG REWRITE cannot persist this: the change lasts \
         until Redis restarts; add it to the server's configuration to keep it"
            .to_string()
    } else {
        format!(
            "CONFIG REWRITE could persist this to {config_file}, but is not run: the change lasts until Redis \
             restarts unless you run CONFIG REWRITE or edit the file"
        )
    }];
    if before == after {
        notes.push(format!("{name} is already {after}: applying changes nothing"));
    }
    Ok(Prepared {
        statements: vec![format!("CONFIG SET {name} {after}")],
        changes: vec![ValueChange { name: name.to_string(), before, after }],
        notes,
    })
}

pub(super) async fn run(endpoint: &Endpoint, name: &str, value: &str, planned: &[ValueChange]) -> Ran {
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
        (Ok(()), Ok(now)) if now == after => Ran {
            changes: vec![ValueChange { name: name.into(), before, after: now }],
            outcome: Outcome::Applied,
            message: None,
        },
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
    }
}
