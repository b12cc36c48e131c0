//! One cheap sample of a server: Redis `INFO` (plus `CONFIG GET maxmemory` only when INFO lacks
//! it), PostgreSQL one statistics query and pg_stat_statements' slowest statements. A fresh
//! connection each time, so a server that comes back is sampled again with no reconnect logic.

use super::store::{RawValues, StatementMark};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::sources::kubernetes::{DeploymentsReport, HpasReport, Kube, KubeTarget};
use crate::sources::worker_watch::WorkerWatch;
use crate::sources::{postgres, redis as redis_source, with_timeout};
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::time::Duration;

/// A statement counts as slow only with at least this many calls (a one-off is not a trend).
pub const SLOW_STATEMENT_MIN_CALLS: i64 = 100;
/// How many of the slowest statements each sample keeps (for the new-slow-statement alert).
const STATEMENTS_KEPT: i64 = 10;

/// Figures read from Redis INFO, under the names [`super::series`] uses.
const REDIS_FIELDS: &[&str] = &[
    "keyspace_hits",
    "keyspace_misses",
    "used_memory",
    "maxmemory",
    "evicted_keys",
    "expired_keys",
    "total_commands_processed",
    "connected_clients",
    "blocked_clients",
];

pub async fn redis(endpoint: &Endpoint, limit: Duration) -> ApiResult<RawValues> {
    let what = format!("Redis at {}", endpoint.display);
    with_timeout(&what, limit, async {
        let mut conn = redis_source::connect(endpoint).await?;
        let info: String = redis::cmd("INFO")
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_source::redis_error(&endpoint.display, &e))?;
        let mut raw = parse_redis_info(&info)?;
        if !raw.values.contains_key("maxmemory") {
            // Very old servers: ask CONFIG (managed services may refuse it; then it stays unknown).
            let reply: Result<Vec<String>, _> =
                redis::cmd("CONFIG").arg("GET").arg("maxmemory").query_async(&mut conn).await;
            if let Some(v) = reply.ok().and_then(|r| r.get(1).and_then(|v| v.parse::<f64>().ok())) {
                raw.values.insert("maxmemory".into(), v);
            }
        }
        Ok(raw)
    })
    .await
}

/// The sampled figures from an INFO reply; `run_id` becomes the epoch that tells a restart.
pub fn parse_redis_info(text: &str) -> ApiResult<RawValues> {
    let fields: BTreeMap<&str, &str> =
        text.lines().filter_map(|l| l.trim().split_once(':')).filter(|(k, _)| !k.starts_with('#')).collect();
    if !fields.contains_key("redis_version") && !fields.contains_key("valkey_version") {
        return Err(ApiError::new(ErrorCode::Refused, "the INFO reply has no redis_version: is this a Redis server?"));
    }
    let mut values = BTreeMap::new();
    for name in REDIS_FIELDS {
        if let Some(v) = fields.get(name).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite()) {
            values.insert(name.to_string(), v);
        }
    }
    // 12 hex digits (48 bits) are exact in an f64 and tell two runs apart.
    if let Some(run) = fields.get("run_id").and_then(|id| u64::from_str_radix(id.get(..12)?, 16).ok()) {
        values.insert("epoch_run".into(), run as f64);
    }
    Ok(RawValues { values, statements: vec![] })
}

pub async fn postgres(endpoint: &Endpoint, limit: Duration) -> ApiResult<RawValues> {
    let what = format!("PostgreSQL at {}", endpoint.display);
    with_timeout(&what, limit, async {
        let mut conn = postgres::connect(endpoint).await?;
        let raw = postgres_on(&mut conn, &endpoint.display).await;
        let _ = conn.close().await;
        raw
    })
    .await
}

/// The broker's figures; with a [`WorkerWatch`] that has listened long enough, the workers too.
pub async fn celery(endpoint: &Endpoint, limit: Duration, watch: Option<&WorkerWatch>) -> ApiResult<RawValues> {
    let what = format!("the Celery broker at {}", endpoint.display);
    let s = with_timeout(&what, limit, crate::sources::celery::sample(endpoint)).await?;
    let mut values: BTreeMap<String, f64> = [
        ("queued", s.queued as f64),
        ("largest_queue", s.largest_queue as f64),
        ("in_flight", s.in_flight as f64),
        ("oldest_in_flight_s", s.oldest_in_flight_seconds),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), *v))
    .collect();
    for (name, depth) in crate::sources::celery::KNOWN_QUEUES.iter().zip(s.known) {
        values.insert(format!("{DEPTH_PREFIX}{name}"), depth as f64);
    }
    for (name, depth) in &s.queues {
        values.insert(format!("{DEPTH_PREFIX}{name}"), *depth as f64);
    }
    if let Some(workers) = watch.and_then(WorkerWatch::counts) {
        values.insert("workers_alive".into(), workers.alive.len() as f64);
        values.insert("workers_lost".into(), workers.lost.len() as f64);
        for host in workers.lost.iter().take(NAMES_KEPT) {
            values.insert(format!("{LOST_PREFIX}{host}"), 1.0);
        }
    }
    Ok(RawValues { values, statements: vec![] })
}

/// Raw figures named after one queue (`depth:llm_queue`), one lost worker (`lost:w1@host`), one
/// HPA pinned at its maximum (`pinned:ns/name`) or one HPA's replicas (`replicas:ns/name`).
pub const DEPTH_PREFIX: &str = "depth:";
pub const LOST_PREFIX: &str = "lost:";
pub const PINNED_PREFIX: &str = "pinned:";
pub const REPLICAS_PREFIX: &str = "replicas:";
/// Named figures a sample keeps per kind (workers, HPAs): enough to name them in an alert.
const NAMES_KEPT: usize = 50;

/// The cluster's figures from the Kubernetes API: the pods of Deployments against their requests
/// and limits (metrics.k8s.io usage), and the HPAs' replicas. Three lists, read at once.
pub async fn kubernetes(endpoint: &Endpoint, profile: &str, limit: Duration) -> ApiResult<RawValues> {
    let what = format!("the Kubernetes API at {}", endpoint.display);
    let kube = Kube::new(KubeTarget::from_endpoint(endpoint, profile))?;
    let (hpas, deployments) =
        with_timeout(&what, limit, async { Ok(tokio::join!(kube.hpas(None), kube.deployments(None))) }).await?;
    Ok(cluster_values(&hpas?, &deployments?))
}

/// The sampled figures of a cluster from its HPAs and Deployments (usage missing when metrics.k8s.io
/// is not there: requests and limits are still kept).
pub fn cluster_values(hpas: &HpasReport, deployments: &DeploymentsReport) -> RawValues {
    let mut values: BTreeMap<String, f64> = BTreeMap::new();
    fn add(values: &mut BTreeMap<String, f64>, name: &str, v: f64) {
        *values.entry(name.to_string()).or_insert(0.0) += v;
    }
    for d in &deployments.deployments {
        let ready = d.ready_replicas as f64;
        add(&mut values, "pods_ready", ready);
        for (name, per_pod) in [
            ("cpu_requests_cores", d.pod_cpu_request_cores),
            ("cpu_limits_cores", d.pod_cpu_limit_cores),
            ("memory_requests_bytes", d.pod_memory_request_bytes),
            ("memory_limits_bytes", d.pod_memory_limit_bytes),
        ] {
            add(&mut values, name, per_pod.unwrap_or(0.0) * ready);
        }
        if deployments.usage_error.is_none() {
            let measured = d.pods_measured as f64;
            add(&mut values, "cpu_used_cores", d.cpu_usage_avg_cores.unwrap_or(0.0) * measured);
            add(&mut values, "memory_used_bytes", d.memory_usage_avg_bytes.unwrap_or(0.0) * measured);
        }
    }
    if let Some(t) = deployments.deployments.iter().filter_map(|d| d.memory_of_limit).reduce(f64::max) {
        values.insert("memory_of_limit_max_pct".into(), 100.0 * t);
    }
    for k in ["hpas", "hpas_pinned", "hpa_replicas", "hpa_desired_replicas", "hpa_max_replicas"] {
        add(&mut values, k, 0.0);
    }
    for h in &hpas.hpas {
        add(&mut values, "hpas", 1.0);
        add(&mut values, "hpa_replicas", h.current_replicas.unwrap_or(0) as f64);
        add(&mut values, "hpa_desired_replicas", h.desired_replicas.unwrap_or(0) as f64);
        add(&mut values, "hpa_max_replicas", h.max_replicas.unwrap_or(0) as f64);
        if h.pinned_at_max {
            add(&mut values, "hpas_pinned", 1.0);
        }
    }
    for h in hpas.hpas.iter().take(NAMES_KEPT) {
        let name = format!("{}/{}", h.namespace, h.name);
        values.insert(format!("{REPLICAS_PREFIX}{name}"), h.current_replicas.unwrap_or(0) as f64);
        if h.pinned_at_max {
            values.insert(format!("{PINNED_PREFIX}{name}"), 1.0);
        }
    }
    RawValues { values, statements: vec![] }
}

async fn postgres_on(conn: &mut sqlx::PgConnection, display: &str) -> ApiResult<RawValues> {
    let row = sqlx::query(
        "SELECT extract(epoch FROM pg_postmaster_start_time())::float8, \
                coalesce(extract(epoch FROM d.stats_reset), 0)::float8, \
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8, \
                (SELECT count(*) FROM pg_stat_activity \
                  WHERE backend_type = 'client backend' AND state LIKE 'idle in transaction%')::float8, \
                current_setting('max_connections')::float8, \
                (d.xact_commit + d.xact_rollback)::float8, d.blks_hit::float8, d.blks_read::float8 \
           FROM pg_stat_database d WHERE d.datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| postgres::pg_error(display, &e))?;
    let names = [
        "epoch_start",
        "epoch_stats_reset",
        "connections",
        "idle_in_transaction",
        "max_connections",
        "xact_total",
        "blks_hit",
        "blks_read",
    ];
    let mut values: BTreeMap<String, f64> =
        names.iter().enumerate().map(|(i, n)| (n.to_string(), row.get::<f64, _>(i))).collect();
    // Without pg_stat_statements (or the right to read it) the other figures are still sampled.
    let statements = sqlx::query(
        "SELECT queryid::text, left(query, 300), calls, mean_exec_time + mean_plan_time \
           FROM pg_stat_statements \
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
          ORDER BY calls >= $1 DESC, mean_exec_time + mean_plan_time DESC LIMIT $2",
    )
    .bind(SLOW_STATEMENT_MIN_CALLS)
    .bind(STATEMENTS_KEPT)
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    let marks: Vec<StatementMark> = statements
        .iter()
        .map(|r| StatementMark {
            queryid: r.get::<Option<String>, _>(0).unwrap_or_default(),
            query: r.get::<Option<String>, _>(1).unwrap_or_else(|| "<insufficient privilege>".into()),
            calls: r.get(2),
            mean_ms: r.get(3),
        })
        .collect();
    // The slowest by mean among the frequent ones, else the slowest of all.
    if let Some(top) = marks.first() {
        values.insert("slow_statement_mean_ms".into(), top.mean_ms);
    }
    let statements = marks.into_iter().filter(|s| s.calls >= SLOW_STATEMENT_MIN_CALLS).collect();
    Ok(RawValues { values, statements })
}

/// A failure's reason as stored: the error's message (URLs in it are already redacted), with the
/// endpoint's password and full URL removed should a server ever echo them.
pub fn redacted_reason(error: &ApiError, endpoint: &Endpoint) -> String {
    let mut text = error.message.clone();
    let url = endpoint.url.expose();
    if !url.is_empty() {
        text = text.replace(url, &endpoint.display);
    }
    if let Ok(parsed) = url::Url::parse(url) {
        let mut secrets: Vec<String> = vec![];
        if let Some(pw) = parsed.password() {
            secrets.push(pw.to_string());
            if let Ok(decoded) = urlencoding_decode(pw) {
                secrets.push(decoded);
            }
        }
        for (k, v) in parsed.query_pairs() {
            if k.to_ascii_lowercase().contains("password") && !v.is_empty() {
                secrets.push(v.into_owned());
            }
        }
        for s in secrets.iter().filter(|s| s.len() >= 3) {
            text = text.replace(s.as_str(), "***");
        }
    }
    text
}

fn urlencoding_decode(s: &str) -> Result<String, std::str::Utf8Error> {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| Ok(v.into_owned()))
        .unwrap_or_else(|| Ok(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn info_gives_the_sampled_figures_and_the_run() {
        let raw = parse_redis_info(
            "# Server\r\nredis_version:7.2.4\r\nrun_id:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432\r\n# Stats\r\n\
             keyspace_hits:12\r\nkeyspace_misses:3\r\nevicted_keys:0\r\nused_memory:1024\r\nmaxmemory:0\r\n",
        )
        .unwrap();
        assert_eq!(raw.values["keyspace_hits"], 12.0);
        assert_eq!(raw.values["maxmemory"], 0.0);
        assert_eq!(raw.values["epoch_run"], 0x9f8e7d6c5b4a_u64 as f64);
        assert!(!raw.values.contains_key("blocked_clients"));
        assert!(parse_redis_info("hello").is_err());
    }

    #[test]
    fn reasons_lose_the_password() {
        let endpoint = Endpoint {
            service: crate::profiles::Service::Redis,
            url: Secret::new("redis://:p%40ss-word@127.0.0.1:1/0"),
            display: "redis://:***@127.0.0.1:1/0".into(),
            token: None,
        };
        let e = ApiError::invalid("server said: p@ss-word and p%40ss-word at redis://:p%40ss-word@127.0.0.1:1/0");
        let text = redacted_reason(&e, &endpoint);
        assert!(!text.contains("ss-word"), "{text}");
        assert!(text.contains("redis://:***@127.0.0.1:1/0"), "{text}");
    }
}
