//! The embedded default's persistence: one SQLite file in WAL mode with `synchronous = FULL`, so
//! an entry acknowledged by `insert` survives a crash or kill -9.

use super::indexed::Persistence;
use super::{StoreError, StoreResult};
use crate::engine::cache::types::{context_from_text, context_to_text, CacheEntry, Namespace, Partition};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

pub struct SqlitePersistence {
    pool: SqlitePool,
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("local cache file: {e}"))
}

impl SqlitePersistence {
    pub async fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            crate::paths::create_private_dir(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        // It holds the users' questions and answers: this user only, WAL files included.
        crate::paths::make_private_file(path).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {} for this user only: {e}", path.display()))
        })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(|e| {
            StoreError::Unavailable(format!("cannot open the local cache file {}: {e}", path.display()))
        })?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS cache_entries (
                id INTEGER PRIMARY KEY,
                tenant TEXT NOT NULL, user_id TEXT NOT NULL, item TEXT, model TEXT NOT NULL,
                template_version TEXT NOT NULL, context TEXT NOT NULL,
                query TEXT NOT NULL, response TEXT NOT NULL, embedding BLOB NOT NULL,
                created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER, last_hit_at_ms INTEGER NOT NULL,
                hits INTEGER NOT NULL DEFAULT 0)",
        )
        .execute(&pool)
        .await
        .map_err(unavailable)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS cache_settings (key TEXT PRIMARY KEY, settings TEXT NOT NULL)")
            .execute(&pool)
            .await
            .map_err(unavailable)?;
        Ok(Self { pool })
    }
}

pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[async_trait]
impl Persistence for SqlitePersistence {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn load_all(&self) -> StoreResult<Vec<CacheEntry>> {
        let rows = sqlx::query(
            "SELECT id, tenant, user_id, item, model, template_version, context, query, response, embedding, \
                    created_at_ms, expires_at_ms, last_hit_at_ms, hits FROM cache_entries",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|r| {
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
                    embedding: blob_to_vector(&r.get::<Vec<u8>, _>(9)),
                    created_at_ms: r.get(10),
                    expires_at_ms: r.get(11),
                    last_hit_at_ms: r.get(12),
                    hits: r.get::<i64, _>(13) as u64,
                }
            })
            .collect())
    }

    async fn put(&self, e: &CacheEntry) -> StoreResult<()> {
        let ns = &e.partition.namespace;
        sqlx::query(
            "INSERT OR REPLACE INTO cache_entries (id, tenant, user_id, item, model, template_version, context, query, \
             response, embedding, created_at_ms, expires_at_ms, last_hit_at_ms, hits) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.id as i64)
        .bind(&ns.tenant)
        .bind(&ns.user)
        .bind(&ns.item)
        .bind(&ns.model)
        .bind(&ns.template_version)
        .bind(context_to_text(&e.context, &e.background))
        .bind(&e.query)
        .bind(&e.response)
        .bind(vector_to_blob(&e.embedding))
        .bind(e.created_at_ms)
        .bind(e.expires_at_ms)
        .bind(e.last_hit_at_ms)
        .bind(e.hits as i64)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn delete(&self, ids: &[u64]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        for chunk in ids.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(",");
            let sql = format!("DELETE FROM cache_entries WHERE id IN ({placeholders})");
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id as i64);
            }
            q.execute(&mut *tx).await.map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)
    }

    async fn save_settings(&self, key: &str, json: &str) -> StoreResult<()> {
        sqlx::query("INSERT OR REPLACE INTO cache_settings (key, settings) VALUES (?, ?)")
            .bind(key)
            .bind(json)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn load_settings(&self) -> StoreResult<Vec<(String, String)>> {
        let rows =
            sqlx::query("SELECT key, settings FROM cache_settings").fetch_all(&self.pool).await.map_err(unavailable)?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn touch(&self, id: u64, last_hit_at_ms: i64, hits: u64, expires_at_ms: Option<i64>) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE cache_entries SET last_hit_at_ms = ?, hits = ?, expires_at_ms = ? WHERE id = ?")
            .bind(last_hit_at_ms)
            .bind(hits as i64)
            .bind(expires_at_ms)
            .bind(id as i64)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn the_cache_file_and_its_wal_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("cache.db");
        let store = SqlitePersistence::open(&path).await.unwrap();
        sqlx::query("INSERT INTO cache_entries (id, tenant, user_id, model, template_version, context, query, response, embedding, created_at_ms, last_hit_at_ms) VALUES (1, 't', 'u', 'm', 'v', '', 'q', 'r', x'00', 0, 0)")
            .execute(&store.pool)
            .await
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        let wal = dir.path().join("data").join("cache.db-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600);
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        // A file made by an older version with a looser mode is tightened on open.
        drop(store);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _again = SqlitePersistence::open(&path).await.unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
