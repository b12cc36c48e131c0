//! A store that searches with an in-process vector index (exact scan for small partitions, HNSW
//! for large ones) and keeps the entries durable in a [`Persistence`] (a SQLite file, or Redis).
//! Writes go to the persistence first: an entry is acknowledged only once it is durable.

use super::{CacheStore, Invalidation, NamespaceUsage, StoreError, StoreResult};
use crate::engine::cache::types::{CacheEntry, Namespace, Partition};
use crate::engine::index::AutoIndex;
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};

/// Durable storage under an [`IndexedStore`].
#[async_trait]
pub trait Persistence: Send + Sync {
    fn kind(&self) -> &'static str;
    fn describe(&self) -> String {
        format!("{} with an in-process vector index", self.kind())
    }
    async fn load_all(&self) -> StoreResult<Vec<CacheEntry>>;
    async fn put(&self, entry: &CacheEntry) -> StoreResult<()>;
    async fn delete(&self, ids: &[u64]) -> StoreResult<()>;
    /// Records a hit; returns false when the entry no longer exists in the persistence.
    async fn touch(&self, id: u64, last_hit_at_ms: i64, hits: u64, expires_at_ms: Option<i64>) -> StoreResult<bool>;
}

pub struct IndexedStore<P: Persistence> {
    persist: P,
    dims: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Entries without their embedding (the index holds the vectors).
    entries: HashMap<u64, CacheEntry>,
    partitions: HashMap<Partition, AutoIndex>,
    /// Per namespace, entries ordered by last use: the eviction order.
    lru: HashMap<Namespace, BTreeSet<(i64, u64)>>,
}

impl State {
    fn add(&mut self, entry: CacheEntry, dims: usize) -> StoreResult<()> {
        self.remove(entry.id);
        let index = self.partitions.entry(entry.partition.clone()).or_insert_with(|| AutoIndex::new(dims));
        index.insert(entry.id, &entry.embedding).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.track(entry);
        Ok(())
    }

    /// Records an entry whose vector is already in its partition's index.
    fn track(&mut self, mut entry: CacheEntry) {
        self.lru.entry(entry.partition.namespace.clone()).or_default().insert((entry.last_hit_at_ms, entry.id));
        entry.embedding = Vec::new();
        self.entries.insert(entry.id, entry);
    }

    fn remove(&mut self, id: u64) -> Option<CacheEntry> {
        let entry = self.entries.remove(&id)?;
        if let Some(index) = self.partitions.get_mut(&entry.partition) {
            index.remove(id);
            if index.is_empty() {
                self.partitions.remove(&entry.partition);
            }
        }
        if let Some(order) = self.lru.get_mut(&entry.partition.namespace) {
            order.remove(&(entry.last_hit_at_ms, id));
            if order.is_empty() {
                self.lru.remove(&entry.partition.namespace);
            }
        }
        Some(entry)
    }
}

impl<P: Persistence> IndexedStore<P> {
    /// Opens the store and rebuilds the index from everything the persistence holds.
    pub async fn open(persist: P, dims: usize) -> StoreResult<Self> {
        let state = Self::load(&persist, dims).await?;
        Ok(Self { persist, dims, state: Mutex::new(state) })
    }

    async fn load(persist: &P, dims: usize) -> StoreResult<State> {
        let all = persist.load_all().await?;
        // Grouped per partition and bulk-inserted: a large partition's graph is then built on
        // every core at once instead of one vector at a time. Ids are the persistence's keys, so
        // unique; a repeat would be a corrupt store and is skipped with a warning.
        let mut groups: HashMap<Partition, Vec<CacheEntry>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for entry in all {
            if let Err(e) = crate::engine::index::check_vector(&entry.embedding, dims) {
                tracing::warn!(id = entry.id, "skipping a stored entry whose embedding is unusable: {e}");
                continue;
            }
            if !seen.insert(entry.id) {
                tracing::warn!(id = entry.id, "skipping a second stored entry with the same id");
                continue;
            }
            groups.entry(entry.partition.clone()).or_default().push(entry);
        }
        let mut state = State::default();
        for (partition, entries) in groups {
            let mut index = AutoIndex::new(dims);
            let items: Vec<(u64, &[f32])> = entries.iter().map(|e| (e.id, e.embedding.as_slice())).collect();
            index.insert_many(&items).map_err(|e| StoreError::Invalid(e.to_string()))?;
            state.partitions.insert(partition, index);
            for entry in entries {
                state.track(entry);
            }
        }
        Ok(state)
    }

    /// Rebuilds the in-process index from the persistence (after losing track of other
    /// instances' changes).
    pub async fn reload(&self) -> StoreResult<()> {
        let state = Self::load(&self.persist, self.dims).await?;
        *self.state.lock() = state;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index kinds in use (for the overview): e.g. {"exact": 3, "hnsw": 1}.
    pub fn index_kinds(&self) -> HashMap<&'static str, usize> {
        let mut out = HashMap::new();
        for idx in self.state.lock().partitions.values() {
            *out.entry(idx.kind()).or_default() += 1;
        }
        out
    }

    /// Applies a change made by another instance (Redis change feed): no write to the persistence.
    pub fn apply_remote_put(&self, entry: CacheEntry) -> StoreResult<()> {
        self.state.lock().add(entry, self.dims)
    }

    pub fn apply_remote_delete(&self, id: u64) {
        self.state.lock().remove(id);
    }

    pub fn persistence(&self) -> &P {
        &self.persist
    }
}

#[async_trait]
impl<P: Persistence> CacheStore for IndexedStore<P> {
    fn kind(&self) -> &'static str {
        self.persist.kind()
    }

    fn describe(&self) -> String {
        self.persist.describe()
    }

    async fn insert(&self, entry: CacheEntry) -> StoreResult<()> {
        if entry.embedding.len() != self.dims {
            return Err(StoreError::Invalid(format!(
                "embedding has {} dimensions, this store holds {}",
                entry.embedding.len(),
                self.dims
            )));
        }
        self.persist.put(&entry).await?;
        self.state.lock().add(entry, self.dims)
    }

    async fn search(
        &self,
        partition: &Partition,
        vector: &[f32],
        k: usize,
        now_ms: i64,
    ) -> StoreResult<Vec<(CacheEntry, f32)>> {
        let state = self.state.lock();
        let Some(index) = state.partitions.get(partition) else { return Ok(vec![]) };
        // Ask for a few more than k: expired entries are skipped here and purged later.
        let found = index.search(vector, k + 4).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(found
            .into_iter()
            .filter_map(|(id, sim)| state.entries.get(&id).filter(|e| !e.expired_at(now_ms)).map(|e| (e.clone(), sim)))
            .take(k)
            .collect())
    }

    async fn record_hit(&self, id: u64, now_ms: i64, new_expiry_ms: Option<i64>) -> StoreResult<bool> {
        let (hits, expiry) = {
            let mut state = self.state.lock();
            let Some(entry) = state.entries.get_mut(&id) else { return Ok(false) };
            let old = (entry.last_hit_at_ms, id);
            entry.last_hit_at_ms = now_ms;
            entry.hits += 1;
            if new_expiry_ms.is_some() {
                entry.expires_at_ms = new_expiry_ms;
            }
            let (ns, hits, expiry) = (entry.partition.namespace.clone(), entry.hits, entry.expires_at_ms);
            if let Some(order) = state.lru.get_mut(&ns) {
                order.remove(&old);
                order.insert((now_ms, id));
            }
            (hits, expiry)
        };
        let exists = self.persist.touch(id, now_ms, hits, expiry).await?;
        if !exists {
            // Expired or evicted in the persistence (e.g. by Redis itself): drop our copy too.
            self.state.lock().remove(id);
        }
        Ok(exists)
    }

    async fn get(&self, id: u64) -> StoreResult<Option<CacheEntry>> {
        Ok(self.state.lock().entries.get(&id).cloned())
    }

    async fn invalidate(&self, what: &Invalidation) -> StoreResult<u64> {
        let ids: Vec<u64> = {
            let state = self.state.lock();
            match what {
                Invalidation::Entry { id } => state.entries.contains_key(id).then_some(*id).into_iter().collect(),
                _ => state.entries.values().filter(|e| what.matches(e)).map(|e| e.id).collect(),
            }
        };
        if ids.is_empty() {
            return Ok(0);
        }
        self.persist.delete(&ids).await?;
        let mut state = self.state.lock();
        for id in &ids {
            state.remove(*id);
        }
        Ok(ids.len() as u64)
    }

    async fn enforce_cap(&self, namespace: &Namespace, max_entries: u64) -> StoreResult<u64> {
        let victims: Vec<u64> = {
            let mut state = self.state.lock();
            let Some(order) = state.lru.get(namespace) else { return Ok(0) };
            let excess = order.len().saturating_sub(max_entries as usize);
            let ids: Vec<u64> = order.iter().take(excess).map(|(_, id)| *id).collect();
            for id in &ids {
                state.remove(*id);
            }
            ids
        };
        if !victims.is_empty() {
            self.persist.delete(&victims).await?;
        }
        Ok(victims.len() as u64)
    }

    async fn purge_expired(&self, now_ms: i64) -> StoreResult<u64> {
        let ids: Vec<u64> = self.state.lock().entries.values().filter(|e| e.expired_at(now_ms)).map(|e| e.id).collect();
        if ids.is_empty() {
            return Ok(0);
        }
        self.persist.delete(&ids).await?;
        let mut state = self.state.lock();
        for id in &ids {
            state.remove(*id);
        }
        Ok(ids.len() as u64)
    }

    async fn namespaces(&self) -> StoreResult<Vec<NamespaceUsage>> {
        let state = self.state.lock();
        let mut by_ns: HashMap<&Namespace, (u64, u64)> = HashMap::new();
        for e in state.entries.values() {
            let slot = by_ns.entry(&e.partition.namespace).or_default();
            slot.0 += 1;
            slot.1 += e.bytes() + (self.dims * 4) as u64;
        }
        let mut out: Vec<NamespaceUsage> = by_ns
            .into_iter()
            .map(|(ns, (entries, bytes))| NamespaceUsage { namespace: ns.clone(), id: ns.id(), entries, bytes })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn entries(&self, namespace_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<CacheEntry>> {
        let state = self.state.lock();
        let Some((_, order)) = state.lru.iter().find(|(ns, _)| ns.id() == namespace_id) else { return Ok(vec![]) };
        Ok(order.iter().rev().skip(offset).take(limit).filter_map(|(_, id)| state.entries.get(id).cloned()).collect())
    }
}
