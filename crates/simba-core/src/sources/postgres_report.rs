//! PostgreSQL in depth: statements (pg_stat_statements), the settings that matter, connections
//! and locks, tables and indexes (unused, duplicate), and pgvector columns with their indexes.
//! Read-only: the session is READ ONLY and every statement runs under `statement_timeout`. A part
//! the user may not read says why in its `*_problem` field; the rest is still reported.

use super::host::{server_memory_limit, MemoryLimit};
use super::postgres::{connect, pg_error};
use super::{with_timeout, QUERY_TIMEOUT};
use crate::error::ApiResult;
use crate::profiles::Endpoint;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use ts_rs::TS;

/// The settings the report shows.
pub const SETTINGS: &[&str] = &[
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "max_connections",
    "random_page_cost",
    "log_min_duration_statement",
    "log_statement",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
];

#[derive(Debug, Clone, Copy)]
pub struct DbReportOptions {
    /// How many statements in each top list.
    pub top_n: i64,
    /// Active queries running at least this long are listed as long-running.
    pub long_query_seconds: f64,
}

impl Default for DbReportOptions {
    fn default() -> Self {
        Self { top_n: 10, long_query_seconds: 5.0 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DbReport {
    pub collected_at: String,
    pub version: String,
    pub database: String,
    pub user: String,
    pub superuser: bool,
    /// Whether the server listens on this machine (loopback or a socket).
    pub local: bool,
    /// The server's memory when readable: this machine's or container's limit when local.
    pub server_memory: Option<MemoryLimit>,
    pub settings: Vec<DbSetting>,
    pub settings_problem: Option<String>,
    pub statements: Option<StatementsReport>,
    /// Why `statements` is missing (extension not installed or not preloaded, no permission).
    pub statements_problem: Option<String>,
    pub connections: Connections,
    /// Active queries running at least `long_query_seconds`, longest first.
    pub long_running: Vec<Session>,
    /// Sessions waiting for a lock held by another (pg_blocking_pids).
    pub blocked: Vec<Session>,
    /// Sessions holding a lock others wait for.
    pub blocking: Vec<Session>,
    pub sessions_problem: Option<String>,
    /// User tables, largest first (at most 100).
    pub tables: Vec<TableStat>,
    /// User indexes, largest first (at most 200).
    pub indexes: Vec<IndexStat>,
    /// Indexes never scanned since stats were reset that enforce nothing (not unique, not primary).
    pub unused_indexes: Vec<IndexRef>,
    /// Groups of indexes on the same table with the same method, columns/expression and predicate.
    pub duplicate_indexes: Vec<DuplicateIndexes>,
    pub tables_problem: Option<String>,
    pub vector: Option<VectorReport>,
    /// Why `vector` is missing (pgvector not installed in this database).
    pub vector_problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct DbSetting {
    pub name: String,
    /// As SHOW prints it (`128MB`, `4`, `-1`, `none`).
    pub value: String,
    /// pg_settings' raw value and unit (`16384` in `8kB`); unit None for unitless settings.
    pub setting: String,
    pub unit: Option<String>,
    /// For memory settings: the value in bytes.
    #[ts(type = "number | null")]
    pub bytes: Option<i64>,
    /// Where it was set (default, configuration file, command line, database, user…).
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StatementsReport {
    /// When pg_stat_statements was last reset (RFC 3339).
    pub stats_reset: Option<String>,
    /// By mean planning + execution time, slowest first.
    pub by_mean: Vec<TopStatement>,
    /// By total planning + execution time.
    pub by_total: Vec<TopStatement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct TopStatement {
    pub queryid: String,
    pub query: String,
    #[ts(type = "number")]
    pub calls: i64,
    /// Planning + execution per call, ms.
    pub mean_ms: f64,
    pub mean_exec_ms: f64,
    pub mean_plan_ms: f64,
    /// Planning + execution over all calls, ms.
    pub total_ms: f64,
    #[ts(type = "number")]
    pub rows: i64,
    #[ts(type = "number")]
    pub shared_blks_hit: i64,
    #[ts(type = "number")]
    pub shared_blks_read: i64,
    /// shared_blks_hit / (hit + read); None without block reads.
    pub shared_hit_ratio: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Connections {
    #[ts(type = "number")]
    pub max_connections: i64,
    /// Client sessions other than this report's own.
    #[ts(type = "number")]
    pub total: i64,
    /// (total + this one) / max_connections.
    pub used_of_max: f64,
    /// Count per state (`active`, `idle`, `idle in transaction`, …; `unknown` when the user may
    /// not see another user's session).
    pub by_state: Vec<StateCount>,
    #[ts(type = "number")]
    pub idle_in_transaction: i64,
    /// How long the longest idle-in-transaction session has been so, s.
    pub oldest_idle_in_transaction_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct StateCount {
    pub state: String,
    #[ts(type = "number")]
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct Session {
    pub pid: i32,
    pub user: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub state: Option<String>,
    /// Since the query (or, for idle in transaction, the state) began, s.
    pub seconds: Option<f64>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    /// The query, shortened to 300 characters.
    pub query: Option<String>,
    /// The sessions it waits for.
    pub blocked_by: Vec<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct TableStat {
    pub schema: String,
    pub name: String,
    /// Table, indexes and TOAST.
    #[ts(type = "number")]
    pub total_bytes: i64,
    #[ts(type = "number")]
    pub table_bytes: i64,
    /// n_live_tup (an estimate kept by the statistics).
    #[ts(type = "number")]
    pub rows: i64,
    #[ts(type = "number")]
    pub dead_rows: i64,
    #[ts(type = "number")]
    pub seq_scan: i64,
    #[ts(type = "number")]
    pub seq_tup_read: i64,
    #[ts(type = "number | null")]
    pub idx_scan: Option<i64>,
    pub last_vacuum: Option<String>,
    pub last_autovacuum: Option<String>,
    pub last_analyze: Option<String>,
    pub last_autoanalyze: Option<String>,
    /// Rows inserted, updated or deleted since the table was last analyzed.
    #[ts(type = "number")]
    pub mod_since_analyze: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct IndexStat {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// btree, hash, gin, gist, ivfflat, hnsw…
    pub method: String,
    #[ts(type = "number")]
    pub bytes: i64,
    #[ts(type = "number")]
    pub scans: i64,
    pub unique: bool,
    pub primary: bool,
    pub definition: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct IndexRef {
    pub schema: String,
    pub table: String,
    pub name: String,
    #[ts(type = "number")]
    pub bytes: i64,
    pub definition: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct DuplicateIndexes {
    pub schema: String,
    pub table: String,
    /// The shared key: method and columns or expression (and predicate).
    pub key: String,
    pub indexes: Vec<IndexRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VectorReport {
    pub extension_version: String,
    /// This session's `ivfflat.probes` and `hnsw.ef_search` (server, database and user defaults).
    pub ivfflat_probes: Option<String>,
    pub hnsw_ef_search: Option<String>,
    pub columns: Vec<VectorColumn>,
    /// `schema.table.column` of vector columns with no ivfflat or hnsw index (exact scans only).
    pub columns_without_index: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct VectorColumn {
    pub schema: String,
    pub table: String,
    pub column: String,
    /// vector, halfvec or sparsevec.
    pub type_name: String,
    /// None when the column has no fixed dimension.
    pub dimension: Option<i32>,
    /// The table's n_live_tup.
    #[ts(type = "number")]
    pub rows: i64,
    pub indexes: Vec<VectorIndex>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct VectorIndex {
    pub name: String,
    /// ivfflat, hnsw, or another method (btree on a vector is not approximate).
    pub method: String,
    /// The operator class (vector_l2_ops, vector_cosine_ops…), which fixes the distance it serves.
    pub opclass: String,
    #[ts(type = "number")]
    pub bytes: i64,
    /// ivfflat `lists` (pgvector's default 100 when not given).
    pub lists: Option<i32>,
    /// hnsw `m` and `ef_construction` (defaults 16 and 64 when not given).
    pub m: Option<i32>,
    pub ef_construction: Option<i32>,
    /// The index's reloptions as written (`lists=100`).
    pub options: Vec<String>,
}

fn shorten(q: Option<String>) -> Option<String> {
    q.map(|q| {
        let q = q.split_whitespace().collect::<Vec<_>>().join(" ");
        if q.chars().count() > 300 {
            format!("{}…", q.chars().take(300).collect::<String>())
        } else {
            q
        }
    })
}

fn ts(v: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    v.map(|t| t.to_rfc3339())
}

struct Pg<'a> {
    conn: PgConnection,
    display: &'a str,
}

impl Pg<'_> {
    async fn rows(&mut self, sql: &str) -> Result<Vec<PgRow>, sqlx::Error> {
        sqlx::query(sql).fetch_all(&mut self.conn).await
    }

    /// The person-readable reason a part failed.
    fn problem(&self, what: &str, e: &sqlx::Error) -> String {
        if let sqlx::Error::Database(db) = e {
            match db.code().as_deref() {
                Some("42501") => {
                    return format!(
                        "this user may not read {what} ({}); GRANT pg_read_all_stats (or pg_monitor) to it, \
                         or the needed SELECT",
                        db.message()
                    )
                }
                Some("55000") => {
                    return format!("{what} is not loaded: add it to shared_preload_libraries and restart the server")
                }
                Some("57014") => {
                    return format!("reading {what} hit statement_timeout; try again when the server is less busy")
                }
                _ => {}
            }
        }
        format!("reading {what} failed: {}", pg_error(self.display, e).message)
    }
}

pub async fn collect(endpoint: &Endpoint, options: DbReportOptions) -> ApiResult<DbReport> {
    let conn = connect(endpoint).await?;
    let mut pg = Pg { conn, display: &endpoint.display };
    let what = format!("PostgreSQL at {}", endpoint.display);
    let local = is_local(endpoint);
    let report = with_timeout(&what, QUERY_TIMEOUT * 4, collect_on(&mut pg, local, options)).await;
    let _ = pg.conn.close().await;
    report
}

async fn collect_on(pg: &mut Pg<'_>, local: bool, options: DbReportOptions) -> ApiResult<DbReport> {
    let display = pg.display.to_string();
    let err = |e: sqlx::Error| pg_error(&display, &e);
    sqlx::query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").execute(&mut pg.conn).await.map_err(err)?;
    let row = sqlx::query(
        "SELECT current_setting('server_version'), current_database(), current_user::text, \
                coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false), pg_backend_pid()",
    )
    .fetch_one(&mut pg.conn)
    .await
    .map_err(err)?;
    // The backend is a child of the server's postmaster, in its cgroup.
    let backend_pid = row.try_get::<i32, _>(4).ok().map(|p| p as u32);
    let (settings, settings_problem) = settings(pg).await;
    let (statements, statements_problem) = match statements(pg, options.top_n).await {
        Ok(s) => (Some(s), None),
        Err(why) => (None, Some(why)),
    };
    let max_connections =
        settings.iter().find(|s| s.name == "max_connections").and_then(|s| s.setting.parse().ok()).unwrap_or_default();
    let (connections, long_running, blocked, blocking, sessions_problem) =
        match sessions(pg, max_connections, options.long_query_seconds).await {
            Ok((c, l, b, bb)) => (c, l, b, bb, None),
            Err(e) => (Connections { max_connections, ..Default::default() }, vec![], vec![], vec![], Some(e)),
        };
    let (tables, indexes, unused_indexes, duplicate_indexes, tables_problem) = match tables_and_indexes(pg).await {
        Ok((t, i, u, d)) => (t, i, u, d, None),
        Err(e) => (vec![], vec![], vec![], vec![], Some(e)),
    };
    let (vector, vector_problem) = match vectors(pg).await {
        Ok(v) => (Some(v), None),
        Err(why) => (None, Some(why)),
    };
    Ok(DbReport {
        collected_at: chrono::Utc::now().to_rfc3339(),
        version: row.get(0),
        database: row.get(1),
        user: row.get(2),
        superuser: row.get(3),
        local,
        server_memory: if local { server_memory_limit(backend_pid, "postgres") } else { None },
        settings,
        settings_problem,
        statements,
        statements_problem,
        connections,
        long_running,
        blocked,
        blocking,
        sessions_problem,
        tables,
        indexes,
        unused_indexes,
        duplicate_indexes,
        tables_problem,
        vector,
        vector_problem,
    })
}

fn is_local(endpoint: &Endpoint) -> bool {
    let Ok(url) = url::Url::parse(endpoint.url.expose()) else { return false };
    // A socket directory as host (?host=/run/postgresql) is this machine too.
    if url.query_pairs().any(|(k, v)| k == "host" && v.starts_with('/')) {
        return true;
    }
    // redis:// and postgres:// are not special schemes to the url crate: an IP comes back as text.
    match url.host_str() {
        Some(h) => {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => true,
    }
}

/// Bytes in one unit of a memory setting (pg_settings.unit), None for other units.
fn unit_bytes(unit: &str) -> Option<i64> {
    let (n, u) = unit.split_at(unit.find(|c: char| !c.is_ascii_digit()).unwrap_or(unit.len()));
    let n: i64 = if n.is_empty() { 1 } else { n.parse().ok()? };
    let scale = match u {
        "B" => 1,
        "kB" => 1024,
        "MB" => 1024 * 1024,
        "GB" => 1024 * 1024 * 1024,
        _ => return None,
    };
    Some(n * scale)
}

async fn settings(pg: &mut Pg<'_>) -> (Vec<DbSetting>, Option<String>) {
    let names: Vec<String> = SETTINGS.iter().map(|s| s.to_string()).collect();
    let got = sqlx::query(
        "SELECT name, current_setting(name), setting, unit, source FROM pg_settings WHERE name = ANY($1) ORDER BY name",
    )
    .bind(&names)
    .fetch_all(&mut pg.conn)
    .await;
    match got {
        Ok(rows) => {
            let mut out: Vec<DbSetting> = rows
                .iter()
                .map(|r| {
                    let setting: String = r.get(2);
                    let unit: Option<String> = r.get(3);
                    DbSetting {
                        name: r.get(0),
                        value: r.get(1),
                        bytes: unit
                            .as_deref()
                            .and_then(unit_bytes)
                            .and_then(|b| Some(setting.parse::<i64>().ok()? * b)),
                        setting,
                        unit,
                        source: r.get(4),
                    }
                })
                .collect();
            out.sort_by_key(|s| SETTINGS.iter().position(|n| *n == s.name));
            (out, None)
        }
        Err(e) => {
            let problem = pg.problem("pg_settings", &e);
            // current_setting() needs no privilege on pg_settings; only units and sources are lost.
            let mut out = vec![];
            for name in SETTINGS {
                if let Ok(Some(value)) = sqlx::query_scalar::<_, Option<String>>("SELECT current_setting($1, true)")
                    .bind(name)
                    .fetch_one(&mut pg.conn)
                    .await
                {
                    out.push(DbSetting {
                        name: name.to_string(),
                        setting: value.clone(),
                        value,
                        unit: None,
                        bytes: None,
                        source: None,
                    });
                }
            }
            (out, Some(format!("{problem}; values shown without units from current_setting()")))
        }
    }
}

/// Whether `library` is in shared_preload_libraries; None when the setting cannot be read (it
/// needs pg_read_all_settings).
pub(crate) async fn preloaded(conn: &mut PgConnection, library: &str) -> Option<bool> {
    sqlx::query_scalar::<_, String>("SELECT current_setting('shared_preload_libraries')")
        .fetch_one(&mut *conn)
        .await
        .ok()
        .map(|libs| libs.split(',').any(|l| l.trim().trim_matches('"') == library))
}

/// The start of `statements_problem` when pg_stat_statements is preloaded (or may be) but not
/// created in this database: the one case `CREATE EXTENSION` fixes alone.
pub const STATEMENTS_NOT_INSTALLED: &str =
    "pg_stat_statements is not installed in this database: run CREATE EXTENSION pg_stat_statements";

async fn statements(pg: &mut Pg<'_>, top_n: i64) -> Result<StatementsReport, String> {
    let installed: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'")
            .fetch_optional(&mut pg.conn)
            .await
            .map_err(|e| pg.problem("pg_extension", &e))?;
    // Without pg_read_all_settings, querying the view tells (SQLSTATE 55000 when not loaded).
    let preloaded = preloaded(&mut pg.conn, "pg_stat_statements").await;
    match (installed.is_some(), preloaded) {
        (false, Some(false)) => {
            return Err("pg_stat_statements is neither preloaded nor installed: add it to shared_preload_libraries, \
                        restart the server, then CREATE EXTENSION pg_stat_statements in this database"
                .into())
        }
        (false, _) => return Err(format!("{STATEMENTS_NOT_INSTALLED} (it must also be in shared_preload_libraries)")),
        (true, Some(false)) => {
            return Err("pg_stat_statements is installed but not preloaded: add it to shared_preload_libraries \
                        and restart the server"
                .into())
        }
        _ => {}
    }
    let query = |order: &str| {
        format!(
            "SELECT queryid::text, query, calls, \
                    (total_plan_time + total_exec_time) / greatest(calls, 1), mean_exec_time, mean_plan_time, \
                    total_plan_time + total_exec_time, rows, shared_blks_hit, shared_blks_read \
               FROM pg_stat_statements \
              WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
              ORDER BY {order} DESC LIMIT $1"
        )
    };
    let mut lists = vec![];
    for order in ["(total_plan_time + total_exec_time) / greatest(calls, 1)", "total_plan_time + total_exec_time"] {
        let rows = sqlx::query(&query(order))
            .bind(top_n)
            .fetch_all(&mut pg.conn)
            .await
            .map_err(|e| pg.problem("pg_stat_statements", &e))?;
        lists.push(
            rows.iter()
                .map(|r| {
                    let (hit, read): (i64, i64) = (r.get(8), r.get(9));
                    TopStatement {
                        queryid: r.get::<Option<String>, _>(0).unwrap_or_default(),
                        query: r.get::<Option<String>, _>(1).unwrap_or_else(|| "<insufficient privilege>".into()),
                        calls: r.get(2),
                        mean_ms: r.get(3),
                        mean_exec_ms: r.get(4),
                        mean_plan_ms: r.get(5),
                        total_ms: r.get(6),
                        rows: r.get(7),
                        shared_blks_hit: hit,
                        shared_blks_read: read,
                        shared_hit_ratio: (hit + read > 0).then(|| hit as f64 / (hit + read) as f64),
                    }
                })
                .collect::<Vec<_>>(),
        );
    }
    let stats_reset: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT stats_reset FROM pg_stat_statements_info")
            .fetch_optional(&mut pg.conn)
            .await
            .ok()
            .flatten();
    let by_total = lists.pop().unwrap_or_default();
    let by_mean = lists.pop().unwrap_or_default();
    Ok(StatementsReport { stats_reset: ts(stats_reset), by_mean, by_total })
}

fn session_of(r: &PgRow) -> Session {
    Session {
        pid: r.get("pid"),
        user: r.get("usename"),
        application_name: r.get("application_name"),
        client_addr: r.get("client_addr"),
        state: r.get("state"),
        seconds: r.get("seconds"),
        wait_event_type: r.get("wait_event_type"),
        wait_event: r.get("wait_event"),
        query: shorten(r.get("query")),
        blocked_by: r.get("blocked_by"),
    }
}

const SESSION_COLUMNS: &str = "pid, usename::text, application_name, client_addr::text, state, \
    extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END)::float8 AS seconds, \
    wait_event_type, wait_event, query, pg_blocking_pids(pid) AS blocked_by";

type SessionsOut = (Connections, Vec<Session>, Vec<Session>, Vec<Session>);

async fn sessions(pg: &mut Pg<'_>, max_connections: i64, long_seconds: f64) -> Result<SessionsOut, String> {
    let rows = pg
        .rows(
            "SELECT coalesce(state, 'unknown'), count(*), \
                    max(extract(epoch FROM now() - state_change))::float8 \
               FROM pg_stat_activity \
              WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
              GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .await
        .map_err(|e| pg.problem("pg_stat_activity", &e))?;
    let by_state: Vec<StateCount> = rows.iter().map(|r| StateCount { state: r.get(0), count: r.get(1) }).collect();
    let idle_tx = rows.iter().find(|r| r.get::<String, _>(0) == "idle in transaction");
    let total: i64 = by_state.iter().map(|s| s.count).sum();
    let connections = Connections {
        max_connections,
        total,
        used_of_max: if max_connections > 0 { (total + 1) as f64 / max_connections as f64 } else { 0.0 },
        idle_in_transaction: idle_tx.map(|r| r.get(1)).unwrap_or(0),
        oldest_idle_in_transaction_seconds: idle_tx.and_then(|r| r.get(2)),
        by_state,
    };
    let long = sqlx::query(&format!(
        "SELECT {SESSION_COLUMNS} FROM pg_stat_activity \
          WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid() \
            AND now() - query_start >= make_interval(secs => $1) \
          ORDER BY query_start LIMIT 50"
    ))
    .bind(long_seconds)
    .fetch_all(&mut pg.conn)
    .await
    .map_err(|e| pg.problem("pg_stat_activity", &e))?;
    let blocked = pg
        .rows(&format!(
            "SELECT {SESSION_COLUMNS} FROM pg_stat_activity \
              WHERE cardinality(pg_blocking_pids(pid)) > 0 ORDER BY query_start LIMIT 100"
        ))
        .await
        .map_err(|e| pg.problem("pg_stat_activity", &e))?;
    let blocked: Vec<Session> = blocked.iter().map(session_of).collect();
    let mut holders: Vec<i32> = blocked.iter().flat_map(|s| s.blocked_by.iter().copied()).collect();
    holders.sort_unstable();
    holders.dedup();
    let blocking = if holders.is_empty() {
        vec![]
    } else {
        sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM pg_stat_activity WHERE pid = ANY($1) ORDER BY pid"))
            .bind(&holders)
            .fetch_all(&mut pg.conn)
            .await
            .map_err(|e| pg.problem("pg_stat_activity", &e))?
            .iter()
            .map(session_of)
            .collect()
    };
    Ok((connections, long.iter().map(session_of).collect(), blocked, blocking))
}

type TablesOut = (Vec<TableStat>, Vec<IndexStat>, Vec<IndexRef>, Vec<DuplicateIndexes>);

async fn tables_and_indexes(pg: &mut Pg<'_>) -> Result<TablesOut, String> {
    let rows = pg
        .rows(
            "SELECT schemaname::text, relname::text, pg_total_relation_size(relid), pg_relation_size(relid), \
                    n_live_tup, n_dead_tup, coalesce(seq_scan, 0), coalesce(seq_tup_read, 0), idx_scan, \
                    last_vacuum, last_autovacuum, last_analyze, last_autoanalyze, n_mod_since_analyze \
               FROM pg_stat_user_tables ORDER BY 3 DESC, 1, 2 LIMIT 100",
        )
        .await
        .map_err(|e| pg.problem("pg_stat_user_tables", &e))?;
    let tables = rows
        .iter()
        .map(|r| TableStat {
            schema: r.get(0),
            name: r.get(1),
            total_bytes: r.get(2),
            table_bytes: r.get(3),
            rows: r.get(4),
            dead_rows: r.get(5),
            seq_scan: r.get(6),
            seq_tup_read: r.get(7),
            idx_scan: r.get(8),
            last_vacuum: ts(r.get(9)),
            last_autovacuum: ts(r.get(10)),
            last_analyze: ts(r.get(11)),
            last_autoanalyze: ts(r.get(12)),
            mod_since_analyze: r.get(13),
        })
        .collect();
    let rows = pg
        .rows(
            "SELECT s.schemaname::text, s.relname::text, s.indexrelname::text, am.amname::text, \
                    pg_relation_size(s.indexrelid), coalesce(s.idx_scan, 0), i.indisunique, i.indisprimary, \
                    pg_get_indexdef(s.indexrelid), \
                    am.amname::text || ' (' || i.indkey::text || ')' \
                      || coalesce(' ' || pg_get_expr(i.indexprs, i.indrelid), '') \
                      || coalesce(' WHERE ' || pg_get_expr(i.indpred, i.indrelid), ''), \
                    i.indisexclusion OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid) \
               FROM pg_stat_user_indexes s \
               JOIN pg_index i ON i.indexrelid = s.indexrelid \
               JOIN pg_class c ON c.oid = s.indexrelid \
               JOIN pg_am am ON am.oid = c.relam \
              ORDER BY 5 DESC, 1, 2, 3",
        )
        .await
        .map_err(|e| pg.problem("pg_stat_user_indexes", &e))?;
    let mut indexes = vec![];
    let mut unused = vec![];
    let mut groups: BTreeMap<(String, String, String), Vec<IndexRef>> = BTreeMap::new();
    for r in &rows {
        let ix = IndexStat {
            schema: r.get(0),
            table: r.get(1),
            name: r.get(2),
            method: r.get(3),
            bytes: r.get(4),
            scans: r.get(5),
            unique: r.get(6),
            primary: r.get(7),
            definition: r.get(8),
        };
        let backs_constraint: bool = r.get(10);
        let reference = IndexRef {
            schema: ix.schema.clone(),
            table: ix.table.clone(),
            name: ix.name.clone(),
            bytes: ix.bytes,
            definition: ix.definition.clone(),
        };
        if ix.scans == 0 && !ix.unique && !ix.primary && !backs_constraint {
            unused.push(reference.clone());
        }
        groups.entry((ix.schema.clone(), ix.table.clone(), r.get(9))).or_default().push(reference);
        if indexes.len() < 200 {
            indexes.push(ix);
        }
    }
    let duplicates = groups
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|((schema, table, key), mut indexes)| {
            indexes.sort_by(|a, b| a.name.cmp(&b.name));
            DuplicateIndexes { schema, table, key, indexes }
        })
        .collect();
    Ok((tables, indexes, unused, duplicates))
}

async fn vectors(pg: &mut Pg<'_>) -> Result<VectorReport, String> {
    let version: Option<String> = sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        .fetch_optional(&mut pg.conn)
        .await
        .map_err(|e| pg.problem("pg_extension", &e))?;
    let Some(extension_version) = version else {
        return Err("pgvector is not installed in this database (CREATE EXTENSION vector), so there are no vector \
                    columns to report"
            .into());
    };
    // The search settings exist once the library is loaded in this session; a cast loads it.
    let _ = sqlx::query("SELECT '[1]'::vector").execute(&mut pg.conn).await;
    let setting =
        |name: &'static str| sqlx::query_scalar::<_, Option<String>>("SELECT current_setting($1, true)").bind(name);
    let ivfflat_probes = setting("ivfflat.probes").fetch_one(&mut pg.conn).await.ok().flatten();
    let hnsw_ef_search = setting("hnsw.ef_search").fetch_one(&mut pg.conn).await.ok().flatten();
    let rows = pg
        .rows(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, t.typname::text, \
                    CASE WHEN a.atttypmod > 0 THEN a.atttypmod END, \
                    coalesce(s.n_live_tup, greatest(c.reltuples, 0)::int8), c.oid::int8, a.attnum::int4 \
               FROM pg_attribute a \
               JOIN pg_class c ON c.oid = a.attrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_type t ON t.oid = a.atttypid \
               LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
              WHERE t.typname IN ('vector', 'halfvec', 'sparsevec') AND c.relkind IN ('r', 'p', 'm') \
                AND a.attnum > 0 AND NOT a.attisdropped \
                AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
              ORDER BY 1, 2, 3",
        )
        .await
        .map_err(|e| pg.problem("the catalog", &e))?;
    let index_rows = pg
        .rows(
            "SELECT i.indrelid::int8, k.attnum::int4, ic.relname::text, am.amname::text, \
                    coalesce(opc.opcname::text, ''), pg_relation_size(i.indexrelid), \
                    coalesce(ic.reloptions, '{}'::text[]) \
               FROM pg_index i \
               JOIN pg_class ic ON ic.oid = i.indexrelid \
               JOIN pg_am am ON am.oid = ic.relam \
               CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[]) WITH ORDINALITY AS k(attnum, opclass, pos) \
               LEFT JOIN pg_opclass opc ON opc.oid = k.opclass \
              WHERE ic.relnamespace NOT IN \
                    (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast')) \
              ORDER BY 3",
        )
        .await
        .map_err(|e| pg.problem("the catalog", &e))?;
    let mut columns = vec![];
    let mut without = vec![];
    for r in &rows {
        let (oid, attnum): (i64, i32) = (r.get(6), r.get(7));
        let indexes: Vec<VectorIndex> = index_rows
            .iter()
            .filter(|ir| ir.get::<i64, _>(0) == oid && ir.get::<i32, _>(1) == attnum)
            .map(|ir| {
                let method: String = ir.get(3);
                let options: Vec<String> = ir.get(6);
                let opt = |k: &str| {
                    options.iter().find_map(|o| o.strip_prefix(&format!("{k}=")).and_then(|v| v.parse::<i32>().ok()))
                };
                let (lists, m, ef_construction) = match method.as_str() {
                    "ivfflat" => (Some(opt("lists").unwrap_or(100)), None, None),
                    "hnsw" => (None, Some(opt("m").unwrap_or(16)), Some(opt("ef_construction").unwrap_or(64))),
                    _ => (None, None, None),
                };
                VectorIndex {
                    name: ir.get(2),
                    method,
                    opclass: ir.get(4),
                    bytes: ir.get(5),
                    lists,
                    m,
                    ef_construction,
                    options,
                }
            })
            .collect();
        let col = VectorColumn {
            schema: r.get(0),
            table: r.get(1),
            column: r.get(2),
            type_name: r.get(3),
            dimension: r.get(4),
            rows: r.get(5),
            indexes,
        };
        if !col.indexes.iter().any(|i| i.method == "ivfflat" || i.method == "hnsw") {
            without.push(format!("{}.{}.{}", col.schema, col.table, col.column));
        }
        columns.push(col);
    }
    Ok(VectorReport { extension_version, ivfflat_probes, hnsw_ef_search, columns, columns_without_index: without })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(unit_bytes("8kB"), Some(8192));
        assert_eq!(unit_bytes("kB"), Some(1024));
        assert_eq!(unit_bytes("MB"), Some(1 << 20));
        assert_eq!(unit_bytes("ms"), None);
    }
}
