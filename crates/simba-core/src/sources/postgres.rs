//! PostgreSQL: top statements from pg_stat_statements, connections, cache hit ratio and the
//! settings the advisor looks at. Every statement runs with `statement_timeout` set.

use super::{with_timeout, CONNECT_TIMEOUT, QUERY_TIMEOUT};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use std::str::FromStr;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PostgresSnapshot {
    pub version: String,
    pub database: String,
    #[ts(type = "number")]
    pub connections: i64,
    #[ts(type = "number")]
    pub max_connections: i64,
    /// shared buffer hits / (hits + reads) for this database since stats were reset.
    pub cache_hit_ratio: Option<f64>,
    #[ts(type = "number")]
    pub database_size_bytes: i64,
    /// Selected settings (name → value with unit), as `SHOW` prints them.
    pub settings: Vec<PgSetting>,
    /// Top statements by mean (planning + execution) time; empty when pg_stat_statements is missing.
    pub top_statements: Vec<StatementStat>,
    /// Why `top_statements` is empty, when it is, and what to do about it.
    pub statements_unavailable: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct PgSetting {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct StatementStat {
    pub queryid: String,
    pub query: String,
    #[ts(type = "number")]
    pub calls: i64,
    /// Mean execution time, ms.
    pub mean_exec_ms: f64,
    /// Mean planning time, ms (0 unless pg_stat_statements.track_planning is on).
    pub mean_plan_ms: f64,
    /// Total execution + planning time, ms.
    pub total_ms: f64,
    #[ts(type = "number")]
    pub rows: i64,
    /// Share of this statement's block reads served from shared buffers.
    pub cache_hit_ratio: Option<f64>,
}

const SETTINGS: &[&str] = &[
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "max_connections",
    "log_statement",
    "log_min_duration_statement",
    "statement_timeout",
    "random_page_cost",
    "shared_preload_libraries",
];

/// Opens one connection with a timeout, `application_name` and a statement timeout.
pub async fn connect(endpoint: &Endpoint) -> ApiResult<PgConnection> {
    let options = PgConnectOptions::from_str(endpoint.url.expose())
        .map_err(|_| {
            ApiError::invalid(format!(
                "PostgreSQL URL {} is not usable; expected postgres://user@host:port/dbname",
                endpoint.display
            ))
        })?
        .application_name("simba-tuner")
        .options([("statement_timeout", "5000"), ("lock_timeout", "2000")])
        .disable_statement_logging();
    with_timeout(&format!("PostgreSQL at {}", endpoint.display), CONNECT_TIMEOUT, async {
        PgConnection::connect_with(&options).await.map_err(|e| pg_error(&endpoint.display, &e))
    })
    .await
}

/// Maps a driver error to what a person can act on (the URL shown is the redacted one).
pub fn pg_error(display: &str, e: &sqlx::Error) -> ApiError {
    match e {
        sqlx::Error::Io(io) => ApiError::new(
            ErrorCode::Unreachable,
            format!("cannot reach PostgreSQL at {display} ({io}); is it running and is the port right?"),
        ),
        sqlx::Error::PoolTimedOut => {
            ApiError::new(ErrorCode::Unreachable, format!("PostgreSQL at {display} did not answer in time"))
        }
        sqlx::Error::Tls(t) => {
            ApiError::new(ErrorCode::Refused, format!("TLS with PostgreSQL at {display} failed: {t}"))
        }
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let hint = match code.as_str() {
                "28P01" | "28000" => "check the user and password in the profile",
                "3D000" => "the database does not exist; check the database name at the end of the URL",
                "42501" => "the user lacks a privilege; grant pg_read_all_stats (or pg_monitor) to it",
                "57014" => "the statement hit statement_timeout",
                _ => "see the server's message",
            };
            ApiError::new(
                ErrorCode::Refused,
                format!("PostgreSQL at {display} refused: {} [{code}]; {hint}", db.message()),
            )
        }
        other => ApiError::new(ErrorCode::Refused, format!("PostgreSQL at {display}: {other}")),
    }
}

pub async fn collect(endpoint: &Endpoint, top_n: i64) -> ApiResult<PostgresSnapshot> {
    let mut conn = connect(endpoint).await?;
    let what = format!("PostgreSQL at {}", endpoint.display);
    let snapshot = with_timeout(&what, QUERY_TIMEOUT * 2, collect_on(&mut conn, &endpoint.display, top_n)).await;
    let _ = conn.close().await;
    snapshot
}

async fn collect_on(conn: &mut PgConnection, display: &str, top_n: i64) -> ApiResult<PostgresSnapshot> {
    let err = |e: sqlx::Error| pg_error(display, &e);
    let row = sqlx::query(
        "SELECT current_setting('server_version'), current_database(), \
                (SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL)::int8, \
                current_setting('max_connections')::int8, \
                pg_database_size(current_database())::int8, \
                (SELECT CASE WHEN blks_hit + blks_read = 0 THEN NULL \
                             ELSE blks_hit::float8 / (blks_hit + blks_read) END \
                   FROM pg_stat_database WHERE datname = current_database())",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(err)?;
    let mut settings = Vec::new();
    for name in SETTINGS {
        let value: Option<String> = sqlx::query_scalar("SELECT current_setting($1, true)")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
        if let Some(value) = value {
            settings.push(PgSetting { name: name.to_string(), value });
        }
    }
    let (top_statements, statements_unavailable) = match top_statements(conn, top_n).await {
        Ok(list) => (list, None),
        Err(reason) => (vec![], Some(reason)),
    };
    Ok(PostgresSnapshot {
        version: row.get(0),
        database: row.get(1),
        connections: row.get(2),
        max_connections: row.get(3),
        database_size_bytes: row.get(4),
        cache_hit_ratio: row.get(5),
        settings,
        top_statements,
        statements_unavailable,
    })
}

/// Top statements of this database by mean planning + execution time.
async fn top_statements(conn: &mut PgConnection, top_n: i64) -> Result<Vec<StatementStat>, String> {
    let installed: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'")
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
    if installed.is_none() {
        return Err("pg_stat_statements is not installed in this database: run CREATE EXTENSION pg_stat_statements \
                    (the server also needs shared_preload_libraries = 'pg_stat_statements' and a restart)"
            .into());
    }
    let rows = sqlx::query(
        "SELECT queryid::text, query, calls, mean_exec_time, mean_plan_time, \
                total_exec_time + total_plan_time, rows, \
                CASE WHEN shared_blks_hit + shared_blks_read = 0 THEN NULL \
                     ELSE shared_blks_hit::float8 / (shared_blks_hit + shared_blks_read) END \
           FROM pg_stat_statements \
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
          ORDER BY mean_exec_time + mean_plan_time DESC \
          LIMIT $1",
    )
    .bind(top_n)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("55000") => {
            "pg_stat_statements must be loaded via shared_preload_libraries (then restart the server)".to_string()
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42501") => {
            "this user may not read pg_stat_statements: GRANT pg_read_all_stats TO the profile's user".to_string()
        }
        _ => format!("reading pg_stat_statements failed: {e}"),
    })?;
    Ok(rows
        .into_iter()
        .map(|r| StatementStat {
            queryid: r.get::<Option<String>, _>(0).unwrap_or_default(),
            query: r.get::<Option<String>, _>(1).unwrap_or_else(|| "<insufficient privilege>".into()),
            calls: r.get(2),
            mean_exec_ms: r.get(3),
            mean_plan_ms: r.get(4),
            total_ms: r.get(5),
            rows: r.get(6),
            cache_hit_ratio: r.get(7),
        })
        .collect())
}
