//! The two data-source caches of the platform's multi-level caching: query results of read-only
//! SQL run against a PostgreSQL data source, and data-source schemas (metadata).
//!
//! Results are keyed by the data source, the normalised statement (whitespace and a trailing `;`
//! set aside) and its parameters; they expire after a TTL and are dropped when a table they read is
//! invalidated. A statement that could write is refused here, before it reaches the server (the
//! same classifier as `explain`), and reads also run in a READ ONLY transaction with a statement
//! timeout, so what the classifier misses the server refuses.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::sources::explain::{classify, tables_named, Classified};
use crate::sources::postgres::{connect, pg_error};
use crate::sources::with_timeout;
use lru::LruCache;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor};
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};
use ts_rs::TS;

/// Rows kept of one result; a longer result is cut and says so.
pub const MAX_ROWS: usize = 10_000;
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
pub const DEFAULT_ENTRIES: usize = 512;
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// One read-only statement against a profile's PostgreSQL.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SqlRequest {
    pub profile: String,
    pub sql: String,
    /// Bound as text to `$1`, `$2`, … (cast in the statement where another type is meant: `$1::int`).
    #[serde(default)]
    pub params: Vec<String>,
    /// Run it on the server even when a fresh result is cached (the new result is cached).
    #[serde(default)]
    pub bypass_cache: bool,
}

/// A result and where it came from.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SqlAnswer {
    /// Rows as JSON objects (column name to value), as PostgreSQL's `row_to_json` writes them.
    pub rows: Vec<serde_json::Value>,
    #[ts(type = "number")]
    pub row_count: u64,
    /// More than [`MAX_ROWS`] rows: the rest were not read.
    pub truncated: bool,
    pub cached: bool,
    #[ts(type = "number")]
    pub age_ms: u64,
    /// The tables the statement names; invalidating one drops this result.
    pub tables: Vec<String>,
    pub elapsed_ms: f64,
}

/// A level's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LevelStats {
    #[ts(type = "number")]
    pub hits: u64,
    #[ts(type = "number")]
    pub misses: u64,
    #[ts(type = "number")]
    pub invalidated: u64,
    pub entries: u32,
}

struct Cached {
    rows: Vec<serde_json::Value>,
    truncated: bool,
    tables: Vec<String>,
    at: Instant,
}

pub struct ResultsCache {
    entries: Mutex<LruCache<[u8; 32], Cached>>,
    ttl: Duration,
    stats: Mutex<LevelStats>,
}

impl Default for ResultsCache {
    fn default() -> Self {
        Self::new(DEFAULT_ENTRIES, DEFAULT_TTL)
    }
}

/// Whitespace runs become one space outside quotes; a trailing `;` goes.
pub fn normalise_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut space = false;
    for c in sql.trim().trim_end_matches(';').trim().chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => space = true,
            None => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

impl ResultsCache {
    pub fn new(entries: usize, ttl: Duration) -> Self {
        let cap = NonZeroUsize::new(entries.max(1)).expect("at least one entry");
        Self { entries: Mutex::new(LruCache::new(cap)), ttl, stats: Mutex::default() }
    }

    fn key(source: &str, sql: &str, params: &[String]) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in std::iter::once(source).chain(std::iter::once(sql)).chain(params.iter().map(String::as_str)) {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }

    /// Runs `sql` on `endpoint` (named `source` in keys), or answers from the cache.
    pub async fn query(&self, source: &str, endpoint: &Endpoint, req: &SqlRequest) -> ApiResult<SqlAnswer> {
        let started = Instant::now();
        let sql = normalise_sql(&req.sql);
        if let Classified::Write(why) = classify(&sql) {
            return Err(ApiError::new(
                ErrorCode::ReadOnly,
                format!("not run: {why}. The results cache runs only reads (SELECT, WITH, VALUES, TABLE)"),
            ));
        }
        let key = Self::key(source, &sql, &req.params);
        if !req.bypass_cache {
            let mut entries = self.entries.lock();
            if let Some(c) = entries.get(&key).filter(|c| c.at.elapsed() <= self.ttl) {
                let answer = SqlAnswer {
                    rows: c.rows.clone(),
                    row_count: c.rows.len() as u64,
                    truncated: c.truncated,
                    cached: true,
                    age_ms: c.at.elapsed().as_millis() as u64,
                    tables: c.tables.clone(),
                    elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
                };
                drop(entries);
                self.stats.lock().hits += 1;
                return Ok(answer);
            }
        }
        self.stats.lock().misses += 1;
        let (rows, truncated) = run_read_only(endpoint, &sql, &req.params).await?;
        let tables = tables_named(&sql);
        self.entries
            .lock()
            .put(key, Cached { rows: rows.clone(), truncated, tables: tables.clone(), at: Instant::now() });
        Ok(SqlAnswer {
            row_count: rows.len() as u64,
            rows,
            truncated,
            cached: false,
            age_ms: 0,
            tables,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Drops every result that reads `table` (any schema), or all when `table` is `None`.
    pub fn invalidate(&self, table: Option<&str>) -> u64 {
        let mut entries = self.entries.lock();
        let doomed: Vec<[u8; 32]> = entries
            .iter()
            .filter(|(_, c)| {
                table.is_none_or(|t| {
                    let t = t.to_lowercase();
                    c.tables.iter().any(|n| *n == t || n.rsplit('.').next() == Some(t.as_str()))
                })
            })
            .map(|(k, _)| *k)
            .collect();
        for k in &doomed {
            entries.pop(k);
        }
        drop(entries);
        self.stats.lock().invalidated += doomed.len() as u64;
        doomed.len() as u64
    }

    pub fn stats(&self) -> LevelStats {
        let mut s = self.stats.lock().clone();
        s.entries = self.entries.lock().len() as u32;
        s
    }
}

/// The rows of `sql` as JSON, at most [`MAX_ROWS`] (and whether there were more), read in a READ
/// ONLY transaction under a statement timeout, then rolled back.
async fn run_read_only(endpoint: &Endpoint, sql: &str, params: &[String]) -> ApiResult<(Vec<serde_json::Value>, bool)> {
    let mut conn = connect(endpoint).await?;
    let display = endpoint.display.clone();
    let what = format!("PostgreSQL at {display}");
    let wrapped = format!("SELECT row_to_json(q) FROM ({sql}) AS q LIMIT {}", MAX_ROWS + 1);
    let result = with_timeout(&what, STATEMENT_TIMEOUT + Duration::from_secs(5), async {
        let err = |e: sqlx::Error| pg_error(&display, &e);
        conn.execute("BEGIN READ ONLY").await.map_err(err)?;
        conn.execute(format!("SET LOCAL statement_timeout = {}", STATEMENT_TIMEOUT.as_millis()).as_str())
            .await
            .map_err(err)?;
        let mut query = sqlx::query_scalar::<_, serde_json::Value>(&wrapped);
        for p in params {
            query = query.bind(p);
        }
        let rows = query.fetch_all(&mut conn).await;
        let _ = conn.execute("ROLLBACK").await;
        rows.map_err(err)
    })
    .await;
    let _ = conn.close().await;
    let mut rows = result?;
    let truncated = rows.len() > MAX_ROWS;
    rows.truncate(MAX_ROWS);
    Ok((rows, truncated))
}

/// A data source's tables and columns (the metadata cache), kept for the TTL.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DataSchema {
    pub tables: Vec<TableSchema>,
    pub cached: bool,
    #[ts(type = "number")]
    pub age_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TableSchema {
    pub schema: String,
    pub name: String,
    /// `name type`, in column order.
    pub columns: Vec<String>,
}

pub struct SchemaCache {
    entries: Mutex<std::collections::HashMap<String, (Vec<TableSchema>, Instant)>>,
    ttl: Duration,
    stats: Mutex<LevelStats>,
}

impl Default for SchemaCache {
    fn default() -> Self {
        Self { entries: Mutex::default(), ttl: DEFAULT_TTL, stats: Mutex::default() }
    }
}

impl SchemaCache {
    pub async fn schema(&self, source: &str, endpoint: &Endpoint, refresh: bool) -> ApiResult<DataSchema> {
        if !refresh {
            if let Some((tables, at)) = self.entries.lock().get(source).filter(|(_, at)| at.elapsed() <= self.ttl) {
                self.stats.lock().hits += 1;
                return Ok(DataSchema {
                    tables: tables.clone(),
                    cached: true,
                    age_ms: at.elapsed().as_millis() as u64,
                });
            }
        }
        self.stats.lock().misses += 1;
        let sql = "SELECT table_schema, table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
                   FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
                   GROUP BY table_schema, table_name ORDER BY table_schema, table_name";
        let mut conn = connect(endpoint).await?;
        let display = endpoint.display.clone();
        let rows: Vec<(String, String, String)> =
            sqlx::query_as(sql).fetch_all(&mut conn).await.map_err(|e| pg_error(&display, &e))?;
        let _ = conn.close().await;
        let tables: Vec<TableSchema> = rows
            .into_iter()
            .map(|(schema, name, columns)| TableSchema {
                schema,
                name,
                columns: columns.split(", ").map(str::to_string).collect(),
            })
            .collect();
        self.entries.lock().insert(source.to_string(), (tables.clone(), Instant::now()));
        Ok(DataSchema { tables, cached: false, age_ms: 0 })
    }

    pub fn invalidate(&self, source: Option<&str>) {
        let mut entries = self.entries.lock();
        match source {
            Some(s) => {
                entries.remove(s);
            }
            None => entries.clear(),
        }
    }

    pub fn stats(&self) -> LevelStats {
        let mut s = self.stats.lock().clone();
        s.entries = self.entries.lock().len() as u32;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_normalised_outside_quotes_only() {
        assert_eq!(normalise_sql("  SELECT  *\n FROM   t ;"), "SELECT * FROM t");
        assert_eq!(normalise_sql("select 'a   b' from t"), "select 'a   b' from t");
        assert_ne!(normalise_sql("select 'a b'"), normalise_sql("select 'a  b'"));
    }
}
