//! Where the semantic cache keeps its entries. One trait, three backends, one behaviour suite:
//! - `embedded` (default): an in-process vector index over a local SQLite file (WAL, synchronous
//!   FULL), so every acknowledged update survives kill -9;
//! - `redis`: entries in Redis with native TTL and memory accounting, searched on the server with
//!   Redis 8 vector sets when it has them, else with an in-process index;
//! - `postgres`: a pgvector table with an HNSW index and expiry, searched in SQL.
//!
//! The partition is applied before similarity in every backend: a search only ever sees entries
//! of its own partition.

pub mod indexed;
pub mod postgres;
pub mod redis;
pub mod redis_vset;
pub mod sqlite;

use super::cache::types::{CacheEntry, Namespace, Partition};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the cache store is unavailable: {0}")]
    Unavailable(String),
    #[error("the cache store rejected the data: {0}")]
    Invalid(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What to invalidate.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Invalidation {
    Entry {
        #[ts(type = "string")]
        #[serde(with = "crate::engine::cache::types::id_as_string")]
        id: u64,
    },
    /// Every entry of one item (data source), in every user's namespace.
    Item {
        tenant: String,
        item: String,
    },
    /// Every entry of one user.
    User {
        tenant: String,
        user: String,
    },
    /// One namespace, by its id.
    Namespace {
        namespace: String,
    },
    All,
}

impl Invalidation {
    pub fn matches(&self, e: &CacheEntry) -> bool {
        let ns = &e.partition.namespace;
        match self {
            Invalidation::Entry { id } => e.id == *id,
            Invalidation::Item { tenant, item } => &ns.tenant == tenant && ns.item.as_deref() == Some(item.as_str()),
            Invalidation::User { tenant, user } => &ns.tenant == tenant && &ns.user == user,
            Invalidation::Namespace { namespace } => &ns.id() == namespace,
            Invalidation::All => true,
        }
    }
}

/// Size of one namespace as the store counts it.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct NamespaceUsage {
    pub namespace: Namespace,
    pub id: String,
    #[ts(type = "number")]
    pub entries: u64,
    #[ts(type = "number")]
    pub bytes: u64,
}

#[async_trait]
pub trait CacheStore: Send + Sync {
    fn kind(&self) -> &'static str;
    /// One line on how this store keeps and searches entries (shown with the cache's figures).
    fn describe(&self) -> String {
        self.kind().to_string()
    }
    /// Stores an entry (replacing one with the same id). Durable when it returns Ok.
    async fn insert(&self, entry: CacheEntry) -> StoreResult<()>;
    /// The `k` most similar live (unexpired) entries of `partition`, most similar first.
    async fn search(
        &self,
        partition: &Partition,
        vector: &[f32],
        k: usize,
        now_ms: i64,
    ) -> StoreResult<Vec<(CacheEntry, f32)>>;
    /// Marks a hit: last use time, hit count, and a new expiry when TTLs refresh on hits.
    /// Returns false when the entry is gone from the store (expired or evicted there meanwhile):
    /// the caller must not serve it.
    async fn record_hit(&self, id: u64, now_ms: i64, new_expiry_ms: Option<i64>) -> StoreResult<bool>;
    async fn get(&self, id: u64) -> StoreResult<Option<CacheEntry>>;
    /// Deletes what matches; returns how many entries went.
    async fn invalidate(&self, what: &Invalidation) -> StoreResult<u64>;
    /// Evicts the least recently used entries of `namespace` beyond `max_entries`; returns how many.
    async fn enforce_cap(&self, namespace: &Namespace, max_entries: u64) -> StoreResult<u64>;
    /// Removes expired entries; returns how many.
    async fn purge_expired(&self, now_ms: i64) -> StoreResult<u64>;
    async fn namespaces(&self) -> StoreResult<Vec<NamespaceUsage>>;
    /// Entries of one namespace, most recently used first.
    async fn entries(&self, namespace_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<CacheEntry>>;
    /// Durably keeps settings (JSON) under `key`: a namespace id, or "" for the defaults. Kept
    /// with the entries, so they outlive a restart and follow the cache to another instance.
    async fn save_settings(&self, key: &str, json: &str) -> StoreResult<()>;
    /// Every (key, JSON) that `save_settings` kept.
    async fn load_settings(&self) -> StoreResult<Vec<(String, String)>>;
}
