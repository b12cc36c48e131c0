//! A store that searches with an in-process vector index (exact scan for small partitions, HNSW
//! for large ones) and keeps the entries durable in a [`Persistence`] (a SQLite file, or Redis).
//! Writes go to the persistence first: an entry is acknowledged only once it is durable.

use super::{CacheStore, Invalidation, NamespaceUsage, StoreError, StoreResult};
use crate::engine::cache::types::{CacheEntry, Namespace, Partition};
use crate::engine::index::{apply_catch_up, AutoIndex, GraphJob, HnswParams, EXACT_BELOW, HNSW_ABOVE};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// Where a partition switches between the exact scan and an HNSW graph.
#[derive(Debug, Clone, Copy)]
pub struct IndexThresholds {
    /// Above this many entries a partition gets a graph, built in the background.
    pub hnsw_above: usize,
    /// Below this many it goes back to the exact scan.
    pub exact_below: usize,
}

impl Default for IndexThresholds {
    fn default() -> Self {
        Self { hnsw_above: HNSW_ABOVE, exact_below: EXACT_BELOW }
    }
}

/// Once a graph built off the lock has this few changes left to take, they are applied under the
/// lock and the graph is swapped in (a few milliseconds); more are applied off the lock first.
const SWAP_WHEN_CHANGES_AT_MOST: usize = 64;

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
    /// See [`CacheStore::save_settings`].
    async fn save_settings(&self, key: &str, json: &str) -> StoreResult<()>;
    async fn load_settings(&self) -> StoreResult<Vec<(String, String)>>;
}

pub struct IndexedStore<P: Persistence> {
    persist: P,
    dims: usize,
    thresholds: IndexThresholds,
    state: Arc<Mutex<State>>,
    /// Graph builds running in the background.
    building: Arc<AtomicUsize>,
    /// Full reloads from the persistence since open.
    reloads: AtomicUsize,
}

#[derive(Default)]
struct State {
    thresholds: IndexThresholds,
    /// Entries without their embedding (the index holds the vectors).
    entries: HashMap<u64, CacheEntry>,
    partitions: HashMap<Partition, AutoIndex>,
    /// Per namespace, entries ordered by last use: the eviction order.
    lru: HashMap<Namespace, BTreeSet<(i64, u64)>>,
    /// Graph builds handed out by changes, for the store to start once it lets go of the lock.
    jobs: Vec<(Partition, GraphJob)>,
}

impl State {
    /// Adds an entry. A partition that passes the exact-scan limit leaves a graph build in `jobs`.
    fn add(&mut self, entry: CacheEntry, dims: usize) -> StoreResult<()> {
        self.remove(entry.id);
        let t = self.thresholds;
        let index = self.partitions.entry(entry.partition.clone()).or_insert_with(|| new_index(dims, t));
        index.insert(entry.id, &entry.embedding).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if let Some(job) = index.start_graph_build() {
            self.jobs.push((entry.partition.clone(), job));
        }
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
            } else if let Some(job) = index.start_graph_build() {
                // A graph holding too many removed entries is rebuilt in the background.
                self.jobs.push((entry.partition.clone(), job));
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

fn new_index(dims: usize, t: IndexThresholds) -> AutoIndex {
    AutoIndex::with_thresholds(dims, t.hnsw_above, t.exact_below, HnswParams::default()).deferred()
}

/// Builds `job`'s graph, catches it up with what changed meanwhile and swaps it in: the build and
/// most of the catching up happen without the lock, so lookups of every partition go on.
fn build_graph(state: Weak<Mutex<State>>, partition: Partition, job: GraphJob) {
    let mut graph = job.build();
    loop {
        let Some(state) = state.upgrade() else { return };
        let mut st = state.lock();
        let Some(index) = st.partitions.get_mut(&partition) else { return };
        let Some(changes) = index.catch_up(job.token) else { return };
        if changes.len() <= SWAP_WHEN_CHANGES_AT_MOST {
            apply_catch_up(&mut graph, &changes);
            index.finish_graph_build(job.token, graph);
            return;
        }
        drop(st);
        drop(state);
        apply_catch_up(&mut graph, &changes);
    }
}

fn index_all(all: Vec<CacheEntry>, dims: usize, thresholds: IndexThresholds) -> StoreResult<State> {
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
    let mut state = State { thresholds, ..State::default() };
    for (partition, entries) in groups {
        let mut index = new_index(dims, thresholds);
        let items: Vec<(u64, &[f32])> = entries.iter().map(|e| (e.id, e.embedding.as_slice())).collect();
        index.insert_many(&items).map_err(|e| StoreError::Invalid(e.to_string()))?;
        state.partitions.insert(partition, index);
        for entry in entries {
            state.track(entry);
        }
    }
    Ok(state)
}

impl<P: Persistence> IndexedStore<P> {
    /// Opens the store and rebuilds the index from everything the persistence holds.
    pub async fn open(persist: P, dims: usize) -> StoreResult<Self> {
        Self::open_with(persist, dims, IndexThresholds::default()).await
    }

    /// [`Self::open`] with other switch points between the exact scan and HNSW (tests, tuning).
    pub async fn open_with(persist: P, dims: usize, thresholds: IndexThresholds) -> StoreResult<Self> {
        let state = Self::load(&persist, dims, thresholds).await?;
        Ok(Self {
            persist,
            dims,
            thresholds,
            state: Arc::new(Mutex::new(state)),
            building: Arc::new(AtomicUsize::new(0)),
            reloads: AtomicUsize::new(0),
        })
    }

    /// Graph builds running in the background now.
    pub fn graph_builds_running(&self) -> usize {
        self.building.load(Ordering::SeqCst)
    }

    /// Runs a graph build on the blocking pool (never on an async thread, never under the lock).
    fn spawn_build(&self, partition: Partition, job: GraphJob) {
        let state = Arc::downgrade(&self.state);
        let building = self.building.clone();
        let token = job.token;
        building.fetch_add(1, Ordering::SeqCst);
        let run = move || {
            let weak = state.clone();
            let p = partition.clone();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build_graph(weak, p, job)));
            if outcome.is_err() {
                tracing::error!("building a partition's search graph failed; it keeps the exact scan");
                if let Some(state) = state.upgrade() {
                    if let Some(index) = state.lock().partitions.get_mut(&partition) {
                        index.abandon_graph_build(token);
                    }
                }
            }
            building.fetch_sub(1, Ordering::SeqCst);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(run)),
            Err(_) => drop(std::thread::spawn(run)),
        }
    }

    async fn load(persist: &P, dims: usize, thresholds: IndexThresholds) -> StoreResult<State> {
        let all = persist.load_all().await?;
        // Building large partitions' graphs takes a while: on the blocking pool, so the async
        // threads (other lookups, the change feed) go on meanwhile.
        tokio::task::spawn_blocking(move || index_all(all, dims, thresholds))
            .await
            .map_err(|e| StoreError::Invalid(format!("indexing the stored entries stopped: {e}")))?
    }

    /// Rebuilds the in-process index from the persistence (after losing track of other
    /// instances' changes).
    pub async fn reload(&self) -> StoreResult<()> {
        let state = Self::load(&self.persist, self.dims, self.thresholds).await?;
        *self.state.lock() = state;
        self.reloads.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// How many times [`Self::reload`] replaced everything since open.
    pub fn reloads(&self) -> usize {
        self.reloads.load(Ordering::SeqCst)
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
        self.index_entry(entry)
    }

    /// Adds an entry to the in-process index; a partition that passes the exact-scan limit gets
    /// its graph built in the background.
    fn index_entry(&self, entry: CacheEntry) -> StoreResult<()> {
        let added = self.state.lock().add(entry, self.dims);
        self.start_builds();
        added
    }

    /// Starts the graph builds that changes handed out (after the lock is let go).
    fn start_builds(&self) {
        let jobs = std::mem::take(&mut self.state.lock().jobs);
        for (partition, job) in jobs {
            self.spawn_build(partition, job);
        }
    }

    /// Removes entries from the in-process index.
    fn forget(&self, ids: &[u64]) {
        {
            let mut state = self.state.lock();
            for id in ids {
                state.remove(*id);
            }
        }
        self.start_builds();
    }

    pub fn apply_remote_delete(&self, id: u64) {
        self.forget(&[id]);
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
        self.index_entry(entry)
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
            self.forget(&[id]);
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
        self.forget(&ids);
        Ok(ids.len() as u64)
    }

    async fn enforce_cap(&self, namespace: &Namespace, max_entries: u64) -> StoreResult<u64> {
        let victims: Vec<u64> = {
            let state = self.state.lock();
            let Some(order) = state.lru.get(namespace) else { return Ok(0) };
            let excess = order.len().saturating_sub(usize::try_from(max_entries).unwrap_or(usize::MAX));
            order.iter().take(excess).map(|(_, id)| *id).collect()
        };
        self.forget(&victims);
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
        self.forget(&ids);
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

    async fn save_settings(&self, key: &str, json: &str) -> StoreResult<()> {
        self.persist.save_settings(key, json).await
    }

    async fn load_settings(&self) -> StoreResult<Vec<(String, String)>> {
        self.persist.load_settings().await
    }

    async fn entries(&self, namespace_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<CacheEntry>> {
        let state = self.state.lock();
        let Some((_, order)) = state.lru.iter().find(|(ns, _)| ns.id() == namespace_id) else { return Ok(vec![]) };
        Ok(order.iter().rev().skip(offset).take(limit).filter_map(|(_, id)| state.entries.get(id).cloned()).collect())
    }
}
