//! The PostgreSQL + pgvector backend: entries in one table with a `vector(dims)` column and an HNSW
//! index (cosine), searched in SQL with the partition applied in the WHERE clause. pgvector's
//! iterative index scans (0.8+) keep filtered HNSW searches from coming back short.

use super::{CacheStore, Invalidation, NamespaceUsage, StoreError, StoreResult};
use crate::engine::cache::types::{context_from_text, context_to_text, CacheEntry, Namespace, Partition};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{ConnectOptions, Row};
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStore {
    pool: PgPool,
    table: String,
    dims: usize,
    /// host:port/database, for messages (never the password).
    server: String,
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("PostgreSQL: {e}"))
}

/// Every PostgreSQL call gives up after this long, as the Redis ones do: the server's own
/// `statement_timeout` (5 s) cannot fire when the server or the network stalls, and a lookup must
/// become a miss, not a hang. A little above the statement timeout, so a live server's own error
/// arrives first.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(6);
/// How long a call waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

type StoreFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<T>> + Send + 'a>>;

/// A client-side deadline on one call (see [`CALL_TIMEOUT`]).
trait Within<T>: std::future::Future<Output = Result<T, sqlx::Error>> + Sized {
    fn within<'a>(self, server: &'a str) -> StoreFuture<'a, T>
    where
        Self: Send + 'a,
        T: Send + 'a,
    {
        Box::pin(async move {
            match tokio::time::timeout(CALL_TIMEOUT, self).await {
                Ok(Err(sqlx::Error::PoolTimedOut)) => Err(StoreError::Unavailable(format!(
                    "PostgreSQL at {server} gave no connection within {ACQUIRE_TIMEOUT:?}: check that the server is \
                     up and accepts connections; the cache answers lookups as misses meanwhile"
                ))),
                Ok(r) => r.map_err(unavailable),
                Err(_) => Err(StoreError::Unavailable(format!(
                    "PostgreSQL at {server} did not answer within {CALL_TIMEOUT:?}: check that the server is up, \
                     reachable and not overloaded; the cache answers lookups as misses meanwhile"
                ))),
            }
        })
    }
}

impl<T, F: std::future::Future<Output = Result<T, sqlx::Error>>> Within<T> for F {}

/// pgvector's text form: `[0.1,0.2,…]`.
pub fn vector_literal(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 10 + 2);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{x}"));
    }
    s.push(']');
    s
}

/// Settings of every dimension's table (they are per namespace, and a namespace names its model).
const SETTINGS_TABLE: &str = "simba_semantic_cache_settings";

const COLUMNS: &str = "id, tenant, user_id, item, model, template_version, context, query, response, created_at_ms, expires_at_ms, last_hit_at_ms, hits";

fn entry_of(r: &PgRow) -> CacheEntry {
    let (context, background) = context_from_text(&r.get::<String, _>(6));
    CacheEntry {
        id: r.get::<i64, _>(0) as u64,
        partition: Partition {
            namespace: Namespace {
                tenant: r.get(1),
                user: r.get(2),
                item: r.get(3),
                model: r.get(4),
                template_version: r.get(5),
            },
        },
        context,
        background,
        query: r.get(7),
        response: r.get(8),
        embedding: Vec::new(),
        created_at_ms: r.get(9),
        expires_at_ms: r.get(10),
        last_hit_at_ms: r.get(11),
        hits: r.get::<i64, _>(12) as u64,
    }
}

impl PostgresStore {
    /// Connects (a small pool with timeouts) and creates the table and indexes if missing.
    pub async fn open(url: &str, dims: usize, max_connections: u32) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("PostgreSQL URL is not usable: {e}")))?
            .application_name("simba-tuner-cache")
            .options([("statement_timeout", "5000"), ("lock_timeout", "2000"), ("hnsw.iterative_scan", "strict_order")])
            .disable_statement_logging();
        let server = format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or(""));
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .within(&server)
            .await?;
        let table = format!("simba_semantic_cache_{dims}");
        let ddl = [
            "CREATE EXTENSION IF NOT EXISTS vector".to_string(),
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    id bigint PRIMARY KEY, tenant text NOT NULL, user_id text NOT NULL, item text,
                    model text NOT NULL, template_version text NOT NULL, context text NOT NULL,
                    query text NOT NULL, response text NOT NULL, embedding vector({dims}) NOT NULL,
                    created_at_ms bigint NOT NULL, expires_at_ms bigint, last_hit_at_ms bigint NOT NULL,
                    hits bigint NOT NULL DEFAULT 0)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} USING hnsw (embedding vector_cosine_ops)"),
            // Chats no longer split a namespace: the index of versions that searched by context goes.
            format!("DROP INDEX IF EXISTS {table}_partition"),
            format!("CREATE INDEX IF NOT EXISTS {table}_namespace ON {table} (tenant, user_id, item, model, template_version, last_hit_at_ms)"),
            format!("CREATE INDEX IF NOT EXISTS {table}_expiry ON {table} (expires_at_ms) WHERE expires_at_ms IS NOT NULL"),
            format!("CREATE TABLE IF NOT EXISTS {SETTINGS_TABLE} (key text PRIMARY KEY, settings text NOT NULL)"),
        ];
        for sql in ddl {
            let done = tokio::time::timeout(CALL_TIMEOUT, sqlx::query(&sql).execute(&pool)).await.map_err(|_| {
                StoreError::Unavailable(format!(
                    "PostgreSQL at {server} did not answer within {CALL_TIMEOUT:?} while creating the cache table: \
                     check that the server is up and that nothing holds a lock on {table}"
                ))
            })?;
            done.map_err(|e| match &e {
                sqlx::Error::Database(db) if db.message().contains("vector") => StoreError::Unavailable(format!(
                    "PostgreSQL: the pgvector extension is not available ({}); install pgvector on the server",
                    db.message()
                )),
                _ => unavailable(e),
            })?;
        }
        Ok(Self { pool, table, dims, server })
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl CacheStore for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn insert(&self, e: CacheEntry) -> StoreResult<()> {
        if e.embedding.len() != self.dims {
            return Err(StoreError::Invalid(format!(
                "embedding has {} dimensions, this store holds {}",
                e.embedding.len(),
                self.dims
            )));
        }
        let ns = &e.partition.namespace;
        let sql = format!(
            "INSERT INTO {} ({COLUMNS}, embedding) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14::vector) \
             ON CONFLICT (id) DO UPDATE SET query = EXCLUDED.query, response = EXCLUDED.response, \
             embedding = EXCLUDED.embedding, expires_at_ms = EXCLUDED.expires_at_ms, last_hit_at_ms = EXCLUDED.last_hit_at_ms",
            self.table
        );
        sqlx::query(&sql)
            .bind(e.id as i64)
            .bind(&ns.tenant)
            .bind(&ns.user)
            .bind(&ns.item)
            .bind(&ns.model)
            .bind(&ns.template_version)
            .bind(context_to_text(&e.context, &e.background))
            .bind(&e.query)
            .bind(&e.response)
            .bind(e.created_at_ms)
            .bind(e.expires_at_ms)
            .bind(e.last_hit_at_ms)
            .bind(e.hits as i64)
            .bind(vector_literal(&e.embedding))
            .execute(&self.pool)
            .within(&self.server)
            .await?;
        Ok(())
    }

    async fn search(
        &self,
        p: &Partition,
        vector: &[f32],
        k: usize,
        now_ms: i64,
    ) -> StoreResult<Vec<(CacheEntry, f32)>> {
        if vector.len() != self.dims {
            return Err(StoreError::Invalid(format!(
                "query vector has {} dimensions, this store holds {}",
                vector.len(),
                self.dims
            )));
        }
        let sql = format!(
            "SELECT {COLUMNS}, (1 - (embedding <=> $1::vector))::float4 AS similarity FROM {} \
             WHERE tenant = $2 AND user_id = $3 AND item IS NOT DISTINCT FROM $4 AND model = $5 \
               AND template_version = $6 AND (expires_at_ms IS NULL OR expires_at_ms > $7) \
             ORDER BY embedding <=> $1::vector LIMIT $8",
            self.table
        );
        let ns = &p.namespace;
        let rows = sqlx::query(&sql)
            .bind(vector_literal(vector))
            .bind(&ns.tenant)
            .bind(&ns.user)
            .bind(&ns.item)
            .bind(&ns.model)
            .bind(&ns.template_version)
            .bind(now_ms)
            .bind(k as i64)
            .fetch_all(&self.pool)
            .within(&self.server)
            .await?;
        Ok(rows.iter().map(|r| (entry_of(r), r.get::<f32, _>(13))).collect())
    }

    async fn record_hit(&self, id: u64, now_ms: i64, new_expiry_ms: Option<i64>) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE {} SET last_hit_at_ms = $2, hits = hits + 1, expires_at_ms = COALESCE($3, expires_at_ms) WHERE id = $1",
            self.table
        );
        let done = sqlx::query(&sql)
            .bind(id as i64)
            .bind(now_ms)
            .bind(new_expiry_ms)
            .execute(&self.pool)
            .within(&self.server)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get(&self, id: u64) -> StoreResult<Option<CacheEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM {} WHERE id = $1", self.table);
        let row = sqlx::query(&sql).bind(id as i64).fetch_optional(&self.pool).within(&self.server).await?;
        Ok(row.as_ref().map(entry_of))
    }

    async fn invalidate(&self, what: &Invalidation) -> StoreResult<u64> {
        let t = &self.table;
        let count =
            |filter: &str| format!("WITH d AS (DELETE FROM {t} WHERE {filter} RETURNING 1) SELECT count(*) FROM d");
        // Only this table's rows can match: keys and tables of others are never touched.
        let n: i64 = match what {
            Invalidation::Entry { id } => {
                sqlx::query_scalar(&count("id = $1")).bind(*id as i64).fetch_one(&self.pool).within(&self.server).await
            }
            Invalidation::Item { tenant, item } => {
                sqlx::query_scalar(&count("tenant = $1 AND item = $2"))
                    .bind(tenant)
                    .bind(item)
                    .fetch_one(&self.pool)
                    .within(&self.server)
                    .await
            }
            Invalidation::User { tenant, user } => {
                sqlx::query_scalar(&count("tenant = $1 AND user_id = $2"))
                    .bind(tenant)
                    .bind(user)
                    .fetch_one(&self.pool)
                    .within(&self.server)
                    .await
            }
            Invalidation::Namespace { namespace } => {
                // Namespace ids are computed in Rust; resolve to columns first.
                let Some(ns) = self.namespaces().await?.into_iter().find(|u| &u.id == namespace).map(|u| u.namespace)
                else {
                    return Ok(0);
                };
                return self.delete_namespace(&ns).await;
            }
            Invalidation::All => sqlx::query_scalar(&count("true")).fetch_one(&self.pool).within(&self.server).await,
        }?;
        Ok(n as u64)
    }

    async fn enforce_cap(&self, ns: &Namespace, max_entries: u64) -> StoreResult<u64> {
        let sql = format!(
            "WITH victims AS (SELECT id FROM {t} WHERE tenant = $1 AND user_id = $2 AND item IS NOT DISTINCT FROM $3 \
                AND model = $4 AND template_version = $5 ORDER BY last_hit_at_ms DESC, id DESC OFFSET $6), \
             d AS (DELETE FROM {t} WHERE id IN (SELECT id FROM victims) RETURNING 1) SELECT count(*) FROM d",
            t = self.table
        );
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(&ns.tenant)
            .bind(&ns.user)
            .bind(&ns.item)
            .bind(&ns.model)
            .bind(&ns.template_version)
            .bind(i64::try_from(max_entries).unwrap_or(i64::MAX))
            .fetch_one(&self.pool)
            .within(&self.server)
            .await?;
        Ok(n as u64)
    }

    async fn purge_expired(&self, now_ms: i64) -> StoreResult<u64> {
        let sql = format!(
            "WITH d AS (DELETE FROM {} WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= $1 RETURNING 1) SELECT count(*) FROM d",
            self.table
        );
        let n: i64 = sqlx::query_scalar(&sql).bind(now_ms).fetch_one(&self.pool).within(&self.server).await?;
        Ok(n as u64)
    }

    async fn namespaces(&self) -> StoreResult<Vec<NamespaceUsage>> {
        let sql = format!(
            "SELECT tenant, user_id, item, model, template_version, count(*)::int8, \
                    sum(octet_length(query) + octet_length(response) + 96 + $1)::int8 \
               FROM {} GROUP BY 1, 2, 3, 4, 5",
            self.table
        );
        let rows = sqlx::query(&sql).bind((self.dims * 8) as i32).fetch_all(&self.pool).within(&self.server).await?;
        let mut out: Vec<NamespaceUsage> = rows
            .iter()
            .map(|r| {
                let namespace = Namespace {
                    tenant: r.get(0),
                    user: r.get(1),
                    item: r.get(2),
                    model: r.get(3),
                    template_version: r.get(4),
                };
                NamespaceUsage {
                    id: namespace.id(),
                    namespace,
                    entries: r.get::<i64, _>(5) as u64,
                    bytes: r.get::<i64, _>(6) as u64,
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn save_settings(&self, key: &str, json: &str) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO {SETTINGS_TABLE} (key, settings) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET settings = EXCLUDED.settings"
        );
        sqlx::query(&sql).bind(key).bind(json).execute(&self.pool).within(&self.server).await?;
        Ok(())
    }

    async fn load_settings(&self) -> StoreResult<Vec<(String, String)>> {
        let sql = format!("SELECT key, settings FROM {SETTINGS_TABLE}");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).within(&self.server).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn entries(&self, namespace_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<CacheEntry>> {
        let Some(ns) = self.namespaces().await?.into_iter().find(|u| u.id == namespace_id).map(|u| u.namespace) else {
            return Ok(vec![]);
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE tenant = $1 AND user_id = $2 AND item IS NOT DISTINCT FROM $3 AND model = $4 \
               AND template_version = $5 ORDER BY last_hit_at_ms DESC, id DESC OFFSET $6 LIMIT $7",
            self.table
        );
        let rows = sqlx::query(&sql)
            .bind(&ns.tenant)
            .bind(&ns.user)
            .bind(&ns.item)
            .bind(&ns.model)
            .bind(&ns.template_version)
            .bind(offset as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .within(&self.server)
            .await?;
        Ok(rows.iter().map(entry_of).collect())
    }
}

impl PostgresStore {
    async fn delete_namespace(&self, ns: &Namespace) -> StoreResult<u64> {
        let sql = format!(
            "WITH d AS (DELETE FROM {} WHERE tenant = $1 AND user_id = $2 AND item IS NOT DISTINCT FROM $3 AND model = $4 \
               AND template_version = $5 RETURNING 1) SELECT count(*) FROM d",
            self.table
        );
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(&ns.tenant)
            .bind(&ns.user)
            .bind(&ns.item)
            .bind(&ns.model)
            .bind(&ns.template_version)
            .fetch_one(&self.pool)
            .within(&self.server)
            .await?;
        Ok(n as u64)
    }
}
