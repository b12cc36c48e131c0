//! PostgreSQL actions: ALTER SYSTEM + pg_reload_conf(), CREATE INDEX CONCURRENTLY (HNSW or
//! IVFFlat) on a vector column, DROP INDEX CONCURRENTLY, the re-creation of a dropped index on
//! rollback, CREATE / DROP EXTENSION pg_stat_statements, and ANALYZE of a table.
//! Every statement runs under statement_timeout and lock_timeout, shown in the preview.

use super::progress::Tracker;
use super::{Plan, Prepared, Ran};
use crate::advisor::audit::{Outcome, ValueChange};
use crate::advisor::rules::ivfflat_lists_for;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::sources::postgres::{connect, pg_error};
use crate::sources::postgres_report::preloaded;
use sqlx::{PgConnection, Row};
use std::time::Duration;

/// The settings `pg.alter_system` may change: memory, logging and session hygiene.
const SETTINGS: &[&str] = &[
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "random_page_cost",
    "log_min_duration_statement",
    "log_statement",
    "idle_in_transaction_session_timeout",
];
const MEMORY_SETTINGS: &[&str] = &["shared_buffers", "effective_cache_size", "work_mem", "maintenance_work_mem"];

pub(super) fn validate_setting(name: &str, value: &str) -> ApiResult<()> {
    if !SETTINGS.contains(&name) {
        return Err(ApiError::invalid(format!("pg.alter_system changes {}, not '{name}'", SETTINGS.join(", "))));
    }
    // Written into the statement as a literal: letters, digits, '.', '-' only ('768MB', '-1', '10min', 'ddl').
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
        return Err(ApiError::invalid(format!(
            "'{value}' is not a setting value this action writes: use digits, a unit and letters (768MB, 1000, ddl)"
        )));
    }
    Ok(())
}

/// The extensions `pg.create_extension` installs: the ones the tuning pages read.
const EXTENSIONS: &[&str] = &["pg_stat_statements"];

pub(super) fn validate_extension(name: &str) -> ApiResult<()> {
    if EXTENSIONS.contains(&name) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("pg.create_extension installs {}, not '{name}'", EXTENSIONS.join(", "))))
    }
}

pub(super) fn validate_index(ops: &str, method: &str, lists: Option<u32>) -> ApiResult<()> {
    match (method, lists) {
        ("hnsw", Some(_)) => Err(ApiError::invalid("lists is IVFFlat's parameter; HNSW takes none here")),
        ("hnsw" | "ivfflat", _) => validate_ops(ops),
        _ => Err(ApiError::invalid(format!("method must be hnsw or ivfflat, not '{method}'"))),
    }
}

fn validate_ops(ops: &str) -> ApiResult<()> {
    let ok = ["vector", "halfvec", "sparsevec"].iter().any(|t| {
        ops.strip_prefix(t)
            .and_then(|r| r.strip_prefix('_'))
            .is_some_and(|r| ["l2_ops", "ip_ops", "cosine_ops", "l1_ops"].contains(&r))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "'{ops}' is not a pgvector operator class; e.g. vector_cosine_ops, vector_l2_ops, halfvec_ip_ops"
        )))
    }
}

const SETTING_TIMEOUTS: [&str; 2] = ["SET statement_timeout = '30s'", "SET lock_timeout = '5s'"];
const INDEX_TIMEOUTS: [&str; 2] = ["SET statement_timeout = '1h'", "SET lock_timeout = '10s'"];

fn err(endpoint: &Endpoint) -> impl Fn(sqlx::Error) -> ApiError + '_ {
    move |e| pg_error(&endpoint.display, &e)
}

/// `schema.name` of an index, quoted, and its definition; None when absent.
async fn index_state(
    conn: &mut PgConnection,
    endpoint: &Endpoint,
    schema: &str,
    name: &str,
) -> ApiResult<Option<String>> {
    sqlx::query_scalar::<_, Option<String>>(
        "SELECT pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          JOIN pg_index i ON i.indexrelid = c.oid WHERE n.nspname = $1 AND c.relname = $2 AND i.indisvalid",
    )
    .bind(schema)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .map(Option::flatten)
    .map_err(err(endpoint))
}

async fn quote(conn: &mut PgConnection, endpoint: &Endpoint, schema: &str, name: &str) -> ApiResult<String> {
    sqlx::query_scalar("SELECT format('%I.%I', $1::text, $2::text)")
        .bind(schema)
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(err(endpoint))
}

/// One identifier quoted as PostgreSQL quotes it (`format('%I')`).
async fn quote_ident(conn: &mut PgConnection, endpoint: &Endpoint, name: &str) -> ApiResult<String> {
    sqlx::query_scalar("SELECT format('%I', $1::text)").bind(name).fetch_one(&mut *conn).await.map_err(err(endpoint))
}

/// The index name for a column: `<table>_<column>_<method>_idx`, within PostgreSQL's 63 bytes.
fn vector_index_name(table: &str, column: &str, method: &str) -> String {
    let mut name = format!("{table}_{column}_{method}_idx");
    while name.len() > 63 {
        name.remove(0);
    }
    name
}

/// A recorded definition as CREATE [UNIQUE] INDEX CONCURRENTLY.
fn concurrently(definition: &str) -> ApiResult<String> {
    for head in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] {
        if let Some(rest) = definition.strip_prefix(head) {
            if !definition.contains(';') {
                return Ok(format!("{head}CONCURRENTLY {rest}"));
            }
        }
    }
    Err(ApiError::invalid("the recorded definition is not a single CREATE INDEX statement; recreate the index by hand"))
}

pub(super) async fn prepare(endpoint: &Endpoint, plan: &Plan) -> ApiResult<Prepared> {
    let mut conn = connect(endpoint).await?;
    let out = prepare_on(&mut conn, endpoint, plan).await;
    let _ = sqlx::Connection::close(conn).await;
    out
}

async fn prepare_on(conn: &mut PgConnection, endpoint: &Endpoint, plan: &Plan) -> ApiResult<Prepared> {
    match plan {
        Plan::PgAlterSystem { name, value } => {
            let row = sqlx::query("SELECT current_setting(name), context, source FROM pg_settings WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *conn)
                .await
                .map_err(err(endpoint))?;
            let (before, context, source): (String, String, String) = (row.get(0), row.get(1), row.get(2));
            let mut notes = vec![];
            // postgresql.auto.conf ranks below the command line and below per-role/database settings.
            if matches!(source.as_str(), "command line" | "database" | "user" | "database user") {
                notes.push(format!(
                    "{name} is set by the server's {source} setting, which outranks ALTER SYSTEM: the value will not \
                     change until that is changed (the read-back will say so)"
                ));
            }
            if context == "postmaster" {
                notes.push(format!(
                    "{name} needs a server restart (pg_settings.context = 'postmaster'): pg_reload_conf() does not \
                     apply it; it stays pending until PostgreSQL restarts"
                ));
            } else {
                notes.push(format!("{name} takes effect on reload (context '{context}'): no restart needed"));
            }
            // KNOWN-TRAPS.md #5.
            if name == "log_statement" && value == "all" {
                let lmds: String = sqlx::query_scalar("SELECT current_setting('log_min_duration_statement')")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(err(endpoint))?;
                if lmds != "-1" {
                    return Err(ApiError::invalid(format!(
                        "refused: log_statement = 'all' logs every statement whatever its duration, which defeats \
                         log_min_duration_statement = {lmds} and floods the log; use 'ddl' or 'mod'"
                    )));
                }
            }
            if MEMORY_SETTINGS.contains(&name.as_str()) && crate::sources::redis_report::is_local(endpoint) {
                let bytes: Option<i64> =
                    sqlx::query_scalar("SELECT pg_size_bytes($1)").bind(value).fetch_one(&mut *conn).await.ok();
                let pid: Option<i32> = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.ok();
                let limit = crate::sources::host::server_memory_limit(pid.map(|p| p as u32), "postgres");
                if let (Some(bytes), Some(limit)) = (bytes, limit) {
                    if bytes as u64 > limit.bytes {
                        return Err(ApiError::invalid(format!(
                            "refused: {name} = {value} is more than the server's memory ({}, {})",
                            crate::advisor::human_bytes(limit.bytes as f64),
                            limit.source
                        )));
                    }
                }
            }
            notes.push("ALTER SYSTEM writes postgresql.auto.conf; it needs superuser or GRANT ALTER SYSTEM".into());
            let mut statements: Vec<String> = SETTING_TIMEOUTS.iter().map(|s| s.to_string()).collect();
            statements.push(format!("ALTER SYSTEM SET {name} = '{value}'"));
            statements.push("SELECT pg_reload_conf()".into());
            Ok(Prepared {
                statements,
                changes: vec![ValueChange { name: name.clone(), before, after: value.clone() }],
                notes,
            })
        }
        Plan::PgCreateVectorIndex { schema, table, column, ops, method, lists } => {
            let row = sqlx::query(
                "SELECT format('%I.%I', n.nspname, c.relname), format('%I', a.attname), t.typname::text, \
                        greatest(c.reltuples, 0)::int8 \
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                   JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
                  WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped",
            )
            .bind(schema)
            .bind(table)
            .bind(column)
            .fetch_optional(&mut *conn)
            .await
            .map_err(err(endpoint))?
            .ok_or_else(|| ApiError::not_found(format!("no column {column} in table {schema}.{table}")))?;
            let (qtable, qcolumn, type_name, rows): (String, String, String, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            if !ops.starts_with(&format!("{type_name}_")) {
                return Err(ApiError::invalid(format!(
                    "{schema}.{table}.{column} is of type {type_name}: use a {type_name}_*_ops operator class, not {ops}"
                )));
            }
            let index = vector_index_name(table, column, method);
            if index_state(conn, endpoint, schema, &index).await?.is_some()
                || sqlx::query_scalar::<_, bool>("SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL")
                    .bind(schema)
                    .bind(&index)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(err(endpoint))?
            {
                return Err(ApiError::new(ErrorCode::Conflict, format!("an index {schema}.{index} already exists")));
            }
            // CREATE INDEX takes an unqualified name: the index lives in its table's schema.
            let qindex = quote_ident(conn, endpoint, &index).await?;
            let lock_key = format!("simba-tuner index {schema}.{index}").replace('\'', "''");
            let lists = lists.unwrap_or_else(|| ivfflat_lists_for(rows).clamp(1, 32_768) as u32);
            let with = if method == "ivfflat" { format!(" WITH (lists = {lists})") } else { String::new() };
            let create =
                format!("CREATE INDEX CONCURRENTLY {qindex} ON {qtable} USING {method} ({qcolumn} {ops}){with}");
            let mut statements: Vec<String> = INDEX_TIMEOUTS.iter().map(|s| s.to_string()).collect();
            statements.push(format!("SELECT pg_try_advisory_lock(hashtext('{lock_key}'))"));
            statements.push(create.clone());
            statements.push(format!("SELECT pg_advisory_unlock(hashtext('{lock_key}'))"));
            Ok(Prepared {
                statements,
                changes: vec![ValueChange { name: format!("index {schema}.{index}"), before: "absent".into(), after: create }],
                notes: vec![
                    if method == "ivfflat" {
                        format!(
                            "IVFFlat with {lists} lists for about {rows} rows (pgvector's README: rows/1000 up to 1M \
                             rows, sqrt(rows) beyond). It trains on the rows present: build it after the data is \
                             loaded{}. Queries then need SET ivfflat.probes ≈ sqrt(lists) = {} for recall",
                            if rows < 1000 { " (this table holds fewer than 1000 rows)" } else { "" },
                            (lists as f64).sqrt().ceil()
                        )
                    } else {
                        format!(
                            "HNSW: pgvector's README gives it a better speed-recall trade-off than IVFFlat and it needs \
                             no training rows; about {rows} rows to index. The build reads the whole table and may take \
                             long"
                        )
                    },
                    "CONCURRENTLY does not block reads or writes; it waits for open transactions first".into(),
                    format!("{ops}: the queries must order by the matching operator (<=> cosine, <-> L2, <#> inner product)"),
                    "an advisory lock keeps two builds of this index from running at once".into(),
                ],
            })
        }
        Plan::PgDropIndex { schema, name } => {
            let row = sqlx::query(
                "SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(c.oid), i.indisunique, i.indisprimary, \
                        EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid), coalesce(s.idx_scan, 0), \
                        pg_relation_size(c.oid) \
                   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                   LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid \
                  WHERE n.nspname = $1 AND c.relname = $2",
            )
            .bind(schema)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(err(endpoint))?
            .ok_or_else(|| ApiError::not_found(format!("no index {schema}.{name}")))?;
            let (qindex, definition): (String, String) = (row.get(0), row.get(1));
            let (unique, primary, constraint): (bool, bool, bool) = (row.get(2), row.get(3), row.get(4));
            let (scans, bytes): (i64, i64) = (row.get(5), row.get(6));
            if unique || primary || constraint {
                return Err(ApiError::invalid(format!(
                    "refused: {schema}.{name} enforces a constraint (unique, primary key or exclusion): dropping it \
                     would change what the table accepts"
                )));
            }
            let mut statements: Vec<String> = INDEX_TIMEOUTS.iter().map(|s| s.to_string()).collect();
            statements.push(format!("DROP INDEX CONCURRENTLY {qindex}"));
            Ok(Prepared {
                statements,
                changes: vec![ValueChange {
                    name: format!("index {schema}.{name}"),
                    before: definition,
                    after: "absent".into(),
                }],
                notes: vec![
                    format!(
                        "scanned {scans} times since the statistics were reset; {}",
                        crate::advisor::human_bytes(bytes as f64)
                    ),
                    "rollback recreates it with CREATE INDEX CONCURRENTLY from the definition recorded here".into(),
                ],
            })
        }
        Plan::PgRecreateIndex { schema, name, definition } => {
            let exists: bool =
                sqlx::query_scalar("SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL")
                    .bind(schema)
                    .bind(name)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(err(endpoint))?;
            let current = if exists {
                index_state(conn, endpoint, schema, name).await?.unwrap_or_else(|| "invalid index".into())
            } else {
                "absent".into()
            };
            let create = concurrently(definition)?;
            let mut statements: Vec<String> = INDEX_TIMEOUTS.iter().map(|s| s.to_string()).collect();
            statements.push(create);
            Ok(Prepared {
                statements,
                changes: vec![ValueChange {
                    name: format!("index {schema}.{name}"),
                    before: current,
                    after: definition.clone(),
                }],
                notes: vec!["CONCURRENTLY does not block reads or writes; the build reads the whole table".into()],
            })
        }
        Plan::PgCreateExtension { name } | Plan::PgDropExtension { name } => {
            let create = matches!(plan, Plan::PgCreateExtension { .. });
            let row =
                sqlx::query("SELECT default_version, installed_version FROM pg_available_extensions WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(err(endpoint))?
                    .ok_or_else(|| {
                        ApiError::not_found(format!(
                    "{name} is not available on this server: install the PostgreSQL contrib package on its host"
                ))
                    })?;
            let installed: Option<String> = row.get(1);
            let before = if installed.is_some() { "installed" } else { "absent" };
            let after = if create { "installed" } else { "absent" };
            if before == after {
                let already = if create { "is already installed" } else { "is not installed: nothing to drop" };
                return Err(ApiError::new(ErrorCode::Conflict, format!("{name} {already}")));
            }
            let preloaded = preloaded(conn, name).await;
            let mut notes = vec![];
            if create {
                notes.push(format!("version {} in the profile's database only", row.get::<String, _>(0)));
                match preloaded {
                    Some(true) => notes.push(format!("{name} is preloaded: its statistics start at once")),
                    Some(false) => notes.push(format!(
                        "{name} is not in shared_preload_libraries: the view errors until it is added there and the \
                         server restarts"
                    )),
                    None => notes.push("shared_preload_libraries could not be read (pg_read_all_settings)".into()),
                }
                notes.push("needs CREATE on the database (a superuser, or a trusted extension)".into());
            } else {
                notes.push(format!("the statistics {name} gathered are lost; nothing else depends on them here"));
            }
            let mut statements: Vec<String> = SETTING_TIMEOUTS.iter().map(|s| s.to_string()).collect();
            let qname = quote_ident(conn, endpoint, name).await?;
            // No CASCADE: an object depending on it stops the drop, with the server's reason.
            statements.push(if create {
                format!("CREATE EXTENSION IF NOT EXISTS {qname}")
            } else {
                format!("DROP EXTENSION {qname}")
            });
            Ok(Prepared {
                statements,
                changes: vec![ValueChange {
                    name: format!("extension {name}"),
                    before: before.into(),
                    after: after.into(),
                }],
                notes,
            })
        }
        Plan::PgAnalyze { schema, table } => {
            let row = sqlx::query(
                "SELECT format('%I.%I', schemaname, relname), greatest(last_analyze, last_autoanalyze)::text, \
                        n_mod_since_analyze, n_live_tup \
                   FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2",
            )
            .bind(schema)
            .bind(table)
            .fetch_optional(&mut *conn)
            .await
            .map_err(err(endpoint))?
            .ok_or_else(|| ApiError::not_found(format!("no table {schema}.{table}")))?;
            let (qtable, last, changed, rows): (String, Option<String>, i64, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let mut statements: Vec<String> = INDEX_TIMEOUTS.iter().map(|s| s.to_string()).collect();
            statements.push(format!("ANALYZE {qtable}"));
            Ok(Prepared {
                statements,
                changes: vec![ValueChange {
                    name: format!("statistics of {schema}.{table}"),
                    before: last.map(|t| format!("analyzed {t}")).unwrap_or_else(|| "never analyzed".into()),
                    after: "analyzed now".into(),
                }],
                notes: vec![
                    format!("{changed} rows changed since the last analyze, of about {rows}"),
                    "ANALYZE reads a sample of the table (default_statistics_target) and takes only a light lock: \
                     reads and writes go on"
                        .into(),
                    "there is no rollback: the old statistics are replaced, as autovacuum would".into(),
                ],
            })
        }
        _ => Err(ApiError::internal("a plan for another server reached the PostgreSQL actions")),
    }
}

/// Through `Executor::execute`: `RawSql::execute` makes a future that is not `Send` for every lifetime.
async fn exec(conn: &mut PgConnection, endpoint: &Endpoint, sql: &str) -> ApiResult<()> {
    sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(sql)).await.map(|_| ()).map_err(err(endpoint))
}

pub(super) async fn run(endpoint: &Endpoint, plan: &Plan, planned: &[ValueChange], tracker: &Tracker) -> Ran {
    let change = planned.first().cloned().unwrap_or(ValueChange {
        name: String::new(),
        before: String::new(),
        after: String::new(),
    });
    let failed = |message: String, now: String| Ran {
        changes: vec![ValueChange { after: now, ..change.clone() }],
        outcome: Outcome::Failed,
        message: Some(message),
    };
    let mut conn = match connect(endpoint).await {
        Ok(c) => c,
        Err(e) => return failed(format!("{}; nothing was changed", e.message), change.before.clone()),
    };
    let prepared = match prepare_on(&mut conn, endpoint, plan).await {
        Ok(p) => p,
        Err(e) => return failed(format!("{}; nothing was changed", e.message), change.before.clone()),
    };
    let ran = match plan {
        Plan::PgAlterSystem { name, .. } => run_setting(&mut conn, endpoint, &prepared.statements, name, &change).await,
        Plan::PgCreateVectorIndex { schema, .. }
        | Plan::PgDropIndex { schema, .. }
        | Plan::PgRecreateIndex { schema, .. } => {
            let index = change
                .name
                .trim_start_matches("index ")
                .split_once('.')
                .map(|(_, n)| n.to_string())
                .unwrap_or_default();
            run_index(&mut conn, endpoint, &prepared.statements, schema, &index, &change, tracker).await
        }
        Plan::PgCreateExtension { name } | Plan::PgDropExtension { name } => {
            run_extension(&mut conn, endpoint, &prepared.statements, name, &change).await
        }
        Plan::PgAnalyze { schema, table } => {
            run_analyze(&mut conn, endpoint, &prepared.statements, schema, table, &change).await
        }
        _ => failed("a plan for another server reached the PostgreSQL actions".into(), change.before.clone()),
    };
    let _ = sqlx::Connection::close(conn).await;
    ran
}

async fn run_setting(
    conn: &mut PgConnection,
    endpoint: &Endpoint,
    statements: &[String],
    name: &str,
    change: &ValueChange,
) -> Ran {
    for (i, sql) in statements.iter().enumerate() {
        if let Err(e) = exec(conn, endpoint, sql).await {
            let left = if i <= SETTING_TIMEOUTS.len() {
                "nothing was changed"
            } else {
                "the setting was written but not reloaded: run SELECT pg_reload_conf()"
            };
            return Ran {
                changes: vec![change.clone()],
                outcome: Outcome::Failed,
                message: Some(format!("{sql} failed: {}; {left}", e.message)),
            };
        }
    }
    // Backends apply a reload when they next read from their client: poll until it shows.
    let mut now = change.before.clone();
    let mut pending = false;
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Ok(row) = sqlx::query("SELECT current_setting(name), pending_restart FROM pg_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
        {
            (now, pending) = (row.get(0), row.get(1));
            if now != change.before || pending {
                break;
            }
        }
    }
    let changed = now != change.before || change.before == change.after;
    let (outcome, message) = if pending {
        (Outcome::Applied, Some(format!("{name} is written and waits for a server restart (pending_restart)")))
    } else if changed {
        (Outcome::Applied, None)
    } else {
        (Outcome::Unverified, Some(format!("{name} still reads '{now}' after the reload; check the server log")))
    };
    Ran { changes: vec![ValueChange { after: now, ..change.clone() }], outcome, message }
}

/// Before reading back: a connection lost in the middle of an action (a restart, a terminated
/// backend, a network cut) is replaced by a fresh one, so what the server holds is still read.
async fn ensure_connected(conn: &mut PgConnection, endpoint: &Endpoint) {
    if sqlx::Connection::ping(&mut *conn).await.is_err() {
        if let Ok(fresh) = connect(endpoint).await {
            *conn = fresh;
        }
    }
}

/// Runs `statements` in order; on a failure, which one and why.
async fn run_all(conn: &mut PgConnection, endpoint: &Endpoint, statements: &[String]) -> Result<(), String> {
    for sql in statements {
        exec(conn, endpoint, sql).await.map_err(|e| format!("{sql} failed: {}", e.message))?;
    }
    Ok(())
}

async fn run_extension(
    conn: &mut PgConnection,
    endpoint: &Endpoint,
    statements: &[String],
    name: &str,
    change: &ValueChange,
) -> Ran {
    let sent = run_all(conn, endpoint, statements).await;
    ensure_connected(conn, endpoint).await;
    let now = sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map(|on| if on { "installed" } else { "absent" }.to_string())
        .map_err(|e| format!("unknown ({})", pg_error(&endpoint.display, &e).message));
    match (sent, now) {
        (Ok(()), Ok(now)) if now == change.after => Ran {
            changes: vec![ValueChange { after: now, ..change.clone() }],
            outcome: Outcome::Applied,
            message: None,
        },
        (Err(e), Ok(now)) if now == change.before => Ran {
            changes: vec![ValueChange { after: now, ..change.clone() }],
            outcome: Outcome::Failed,
            message: Some(format!("{e}; nothing was changed")),
        },
        (sent, now) => Ran {
            changes: vec![ValueChange { after: now.clone().unwrap_or_else(|_| "unknown".into()), ..change.clone() }],
            outcome: Outcome::Unverified,
            message: Some(format!(
                "{}; the extension reads back as {}",
                sent.err().unwrap_or_else(|| "the statements ran".into()),
                now.unwrap_or_else(|e| e)
            )),
        },
    }
}

async fn run_analyze(
    conn: &mut PgConnection,
    endpoint: &Endpoint,
    statements: &[String],
    schema: &str,
    table: &str,
    change: &ValueChange,
) -> Ran {
    let sent = run_all(conn, endpoint, statements).await;
    ensure_connected(conn, endpoint).await;
    // ANALYZE updates pg_stat_user_tables through the statistics system: read it from a fresh snapshot.
    let _ = exec(conn, endpoint, "SELECT pg_stat_clear_snapshot()").await;
    let last = sqlx::query_scalar::<_, Option<String>>(
        "SELECT greatest(last_analyze, last_autoanalyze)::text FROM pg_stat_user_tables \
          WHERE schemaname = $1 AND relname = $2",
    )
    .bind(schema)
    .bind(table)
    .fetch_one(&mut *conn)
    .await
    .ok()
    .flatten();
    let now = last.map(|t| format!("analyzed {t}")).unwrap_or_else(|| "never analyzed".into());
    let (outcome, message) = match sent {
        Ok(()) => (Outcome::Applied, None),
        Err(e) => (Outcome::Failed, Some(format!("{e}; the statistics are as they were"))),
    };
    Ran { changes: vec![ValueChange { after: now, ..change.clone() }], outcome, message }
}

/// A `pg_stat_progress_create_index` row: phase, then blocks, tuples and lockers (done, total).
type IndexBuildRow = (String, i64, i64, i64, i64, i64, i64);

/// Reads `pg_stat_progress_create_index` for the building backend every half second into
/// `tracker`, until dropped. Without a second connection the build still runs, shown as running.
async fn watch_index_build(endpoint: &Endpoint, pid: i32, tracker: &Tracker) {
    let every = std::time::Duration::from_millis(500);
    let mut watcher = match connect(endpoint).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracker.update(&format!("running (no progress: {})", e.message), None);
            None
        }
    };
    loop {
        if let Some(c) = watcher.as_mut() {
            let row: Result<Option<IndexBuildRow>, _> = sqlx::query_as(
                "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total, lockers_done, lockers_total \
                   FROM pg_stat_progress_create_index WHERE pid = $1",
            )
            .bind(pid)
            .fetch_optional(&mut *c)
            .await;
            if let Ok(Some((phase, bd, bt, td, tt, ld, lt))) = row {
                let count = super::progress::index_build_count(&phase, (bd, bt), (td, tt), (ld, lt));
                tracker.update(&phase, count);
            }
        }
        tokio::time::sleep(every).await;
    }
}

async fn run_index(
    conn: &mut PgConnection,
    endpoint: &Endpoint,
    statements: &[String],
    schema: &str,
    index: &str,
    change: &ValueChange,
    tracker: &Tracker,
) -> Ran {
    let mut failure = None;
    let backend: Option<i32> = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.ok();
    for sql in statements {
        if sql.starts_with("SELECT pg_try_advisory_lock") {
            match sqlx::query_scalar::<_, bool>(sql).fetch_one(&mut *conn).await {
                Ok(true) => continue,
                Ok(false) => {
                    failure = Some(
                        "another session is building this index (advisory lock held); nothing was changed".to_string(),
                    );
                    break;
                }
                Err(e) => {
                    failure = Some(format!("{sql} failed: {}", pg_error(&endpoint.display, &e).message));
                    break;
                }
            }
        }
        let ran = match (sql.starts_with("CREATE INDEX"), backend) {
            // The build blocks this connection: its progress is read on another until it ends.
            (true, Some(pid)) => tokio::select! {
                r = exec(conn, endpoint, sql) => r,
                _ = watch_index_build(endpoint, pid, tracker) => unreachable!("the watch never ends by itself"),
            },
            _ => exec(conn, endpoint, sql).await,
        };
        if let Err(e) = ran {
            failure = Some(format!("{sql} failed: {}", e.message));
            break;
        }
    }
    ensure_connected(conn, endpoint).await;
    let state = index_state(conn, endpoint, schema, index).await;
    // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind: remove it and say so.
    let invalid: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND NOT i.indisvalid)",
    )
    .bind(schema)
    .bind(index)
    .fetch_one(&mut *conn)
    .await
    .unwrap_or(false);
    let mut cleanup = None;
    if invalid && failure.is_some() {
        let drop = format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            quote(conn, endpoint, schema, index).await.unwrap_or_default()
        );
        cleanup = Some(match exec(conn, endpoint, &drop).await {
            Ok(()) => "the failed build left an invalid index, which was dropped".to_string(),
            Err(e) => format!("the failed build left an INVALID index {schema}.{index} that could not be dropped ({}); drop it by hand", e.message),
        });
    }
    let _ = sqlx::Executor::execute(&mut *conn, sqlx::raw_sql("SELECT pg_advisory_unlock_all()")).await;
    let now = match state {
        Ok(Some(def)) => def,
        Ok(None) => "absent".to_string(),
        Err(e) => {
            return Ran {
                changes: vec![ValueChange { after: "unknown".into(), ..change.clone() }],
                outcome: Outcome::Unverified,
                message: Some(format!(
                    "{}; the index could not be read back ({})",
                    failure.unwrap_or_default(),
                    e.message
                )),
            }
        }
    };
    let wanted_absent = change.after == "absent";
    let (outcome, message) = match (failure, wanted_absent, now == "absent") {
        (Some(f), _, _) => {
            (Outcome::Failed, Some([Some(f), cleanup].into_iter().flatten().collect::<Vec<_>>().join("; ")))
        }
        (None, true, true) | (None, false, false) => (Outcome::Applied, None),
        (None, _, _) => (Outcome::Unverified, Some(format!("the index reads back as '{now}'"))),
    };
    Ran { changes: vec![ValueChange { after: now, ..change.clone() }], outcome, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked_before_they_reach_sql() {
        assert!(validate_setting("work_mem", "64MB").is_ok());
        assert!(validate_setting("work_mem", "64MB'; DROP TABLE x; --").is_err());
        assert!(validate_setting("shared_preload_libraries", "x").is_err());
        assert!(validate_ops("vector_cosine_ops").is_ok());
        assert!(validate_ops("halfvec_l2_ops").is_ok());
        assert!(validate_ops("text_ops").is_err());
        assert!(validate_index("vector_l2_ops", "ivfflat", Some(100)).is_ok());
        assert!(validate_index("vector_l2_ops", "hnsw", Some(100)).is_err());
        assert!(validate_index("vector_l2_ops", "btree", None).is_err());
        assert!(validate_extension("pg_stat_statements").is_ok() && validate_extension("plpython3u").is_err());
        assert_eq!(
            concurrently("CREATE INDEX a ON public.t USING btree (k)").unwrap(),
            "CREATE INDEX CONCURRENTLY a ON public.t USING btree (k)"
        );
        assert!(concurrently("DROP TABLE t").is_err());
        assert_eq!(vector_index_name("docs", "embedding", "hnsw"), "docs_embedding_hnsw_idx");
        assert_eq!(vector_index_name(&"t".repeat(70), "c", "ivfflat").len(), 63);
    }
}
