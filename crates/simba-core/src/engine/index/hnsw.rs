//! Approximate search for large partitions: an HNSW graph built by hnsw_rs (on all cores for bulk
//! loads) and searched through a flat copy of it ([`FrozenGraph`]); vectors added since the copy
//! are searched exactly beside it until there are enough to copy again. hnsw_rs cannot delete, so
//! removed ids are tombstoned, left out of results, and the graph is rebuilt from the live vectors
//! when tombstones pass a quarter of it. Candidates are re-scored exactly.

use super::exact::{dot, ExactIndex};
use super::frozen::FrozenGraph;
use super::{check_vector, IndexError};
use hnsw_rs::prelude::{Distance, Hnsw};
use std::collections::{HashMap, HashSet};

/// 1 − cosine for normalised vectors, with our SIMD dot product. Clamped at 0: rounding can push
/// the dot product of two equal vectors a hair above 1 (hnsw_rs's own DistDot asserts on that).
#[derive(Debug, Default, Clone, Copy)]
pub struct CosineDistance;

impl Distance<f32> for CosineDistance {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct HnswParams {
    /// Links per node (M).
    pub max_connections: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self { max_connections: 16, ef_construction: 128, ef_search: 96 }
    }
}

pub struct HnswIndex {
    params: HnswParams,
    graph: Hnsw<'static, f32, CosineDistance>,
    /// Live vectors (for exact re-scoring and rebuilds); the graph's internal ids are positions
    /// in `internal_ids`.
    live: ExactIndex,
    internal_of: HashMap<u64, usize>,
    internal_ids: Vec<u64>,
    tombstones: HashSet<usize>,
    /// The graph as of the last copy, and the vectors added since (searched exactly).
    frozen: FrozenGraph,
    recent: ExactIndex,
}

/// Vectors added since the last copy of the graph that trigger a new copy: at least this many,
/// and at least a twentieth of the graph (a copy costs about a second per million entries).
const RECOPY_MIN: usize = 2_000;

impl HnswIndex {
    pub fn new(dims: usize, params: HnswParams, capacity: usize) -> Self {
        Self {
            params,
            graph: Hnsw::new(params.max_connections, capacity.max(1024), 16, params.ef_construction, CosineDistance),
            live: ExactIndex::new(dims),
            internal_of: HashMap::new(),
            internal_ids: Vec::new(),
            tombstones: HashSet::new(),
            frozen: FrozenGraph::empty(dims),
            recent: ExactIndex::new(dims),
        }
    }

    /// Copies the graph for searching when enough vectors were added since the last copy.
    fn copy_due(&self, adding: usize) -> bool {
        self.recent.len() + adding >= RECOPY_MIN.max(self.frozen.len() / 20)
    }

    fn maybe_copy_graph(&mut self) {
        if self.copy_due(0) {
            self.copy_graph();
        }
    }

    fn copy_graph(&mut self) {
        let (live, ids, tombstones) = (&self.live, &self.internal_ids, &self.tombstones);
        self.frozen =
            FrozenGraph::copy(&self.graph, self.live.dims(), ids.len(), |g| if tombstones.contains(&g) { None } else { live.get(ids[g]) });
        self.recent = ExactIndex::new(self.live.dims());
    }

    pub fn from_exact(exact: &ExactIndex, params: HnswParams) -> Self {
        let mut h = Self::new(exact.dims(), params, exact.len() * 2);
        let items: Vec<(u64, &[f32])> = exact.iter().collect();
        h.insert_many(&items).expect("vectors from an index are valid");
        h
    }

    /// Adds (or replaces) many vectors at once, linking them into the graph on all cores
    /// (hnsw_rs inserts concurrently): a bulk load or rebuild is several times faster than
    /// one insert after another. Nothing is added when any vector is invalid.
    pub fn insert_many(&mut self, items: &[(u64, &[f32])]) -> Result<(), IndexError> {
        for (_, v) in items {
            check_vector(v, self.live.dims())?;
        }
        // A batch that will be copied at once skips the exact side list (at 1M entries that list
        // would briefly hold another 1.9 GB).
        let copy_after = self.copy_due(items.len());
        let mut batch: Vec<(&[f32], usize)> = Vec::with_capacity(items.len());
        for (id, v) in items {
            let internal = self.register(*id, v, !copy_after)?;
            batch.push((*v, internal));
        }
        // A later duplicate of an id in the same batch supersedes the earlier one.
        let batch: Vec<(&[f32], usize)> = batch.into_iter().filter(|(_, i)| !self.tombstones.contains(i)).collect();
        self.graph.parallel_insert_slice(&batch);
        if !self.maybe_rebuild() && copy_after {
            self.copy_graph();
        }
        Ok(())
    }

    pub fn to_exact(&self) -> ExactIndex {
        let mut e = ExactIndex::new(self.live.dims());
        for (id, v) in self.live.iter() {
            e.insert(id, v).expect("vectors from an index are valid");
        }
        e
    }

    pub fn dims(&self) -> usize {
        self.live.dims()
    }

    /// Search effort (candidates explored); more finds the true nearest more often, slower.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    pub fn memory_bytes(&self) -> usize {
        // hnsw_rs's vectors and links, the live copy, the flat copy and the recent additions.
        let graph = self.internal_ids.len() * (self.live.dims() * 4 + self.params.max_connections * 2 * 8 + 64);
        graph + self.live.memory_bytes() + self.frozen.memory_bytes() + self.recent.memory_bytes()
    }

    /// Gives `id` a new graph id (tombstoning the one it had) and keeps its vector; also in the
    /// exact side list when `to_recent`. The caller links the graph id into the graph.
    fn register(&mut self, id: u64, v: &[f32], to_recent: bool) -> Result<usize, IndexError> {
        if let Some(old) = self.internal_of.remove(&id) {
            self.tombstones.insert(old);
        }
        let internal = self.internal_ids.len();
        self.internal_ids.push(id);
        self.internal_of.insert(id, internal);
        self.live.insert(id, v)?;
        if to_recent {
            self.recent.insert(id, v)?;
        }
        Ok(internal)
    }

    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<(), IndexError> {
        check_vector(v, self.live.dims())?;
        let internal = self.register(id, v, true)?;
        self.graph.insert((v, internal));
        self.maybe_rebuild();
        self.maybe_copy_graph();
        Ok(())
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let Some(internal) = self.internal_of.remove(&id) else { return false };
        self.tombstones.insert(internal);
        self.live.remove(id);
        self.recent.remove(id);
        self.maybe_rebuild();
        true
    }

    /// Rebuilds (and copies) the graph without tombstones when they pass a quarter; true if it did.
    fn maybe_rebuild(&mut self) -> bool {
        let due = self.tombstones.len() * 4 > self.internal_ids.len() && self.internal_ids.len() > 1024;
        if due {
            *self = Self::from_exact(&self.live, self.params);
        }
        due
    }

    pub fn search(&self, q: &[f32], k: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        check_vector(q, self.live.dims())?;
        if k == 0 || self.live.is_empty() {
            return Ok(vec![]);
        }
        let ef = self.params.ef_search.max(k * 2).max(10);
        // The copied graph (leaving out removed and since-replaced entries), its candidates
        // re-scored exactly, then what was added since the copy (exact already).
        let mut out: Vec<(u64, f32)> = self
            .frozen
            .search(q, ef, |g| self.tombstones.contains(&(g as usize)))
            .into_iter()
            .filter_map(|(g, _)| {
                let id = self.internal_ids[g as usize];
                self.live.get(id).map(|v| (id, dot(q, v)))
            })
            .collect();
        out.extend(self.recent.search(q, k)?);
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.dedup_by_key(|x| x.0);
        out.truncate(k);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::index::testdata::clustered;

    #[test]
    fn recall_at_1_against_exact() {
        let data = clustered(5000, 64, 100, 0.35, 11);
        let mut h = HnswIndex::new(64, HnswParams::default(), 5000);
        let mut e = ExactIndex::new(64);
        for (i, v) in data.iter().enumerate() {
            h.insert(i as u64, v).unwrap();
            e.insert(i as u64, v).unwrap();
        }
        let queries = clustered(300, 64, 100, 0.35, 99);
        let agree = queries.iter().filter(|q| h.search(q, 1).unwrap()[0].0 == e.search(q, 1).unwrap()[0].0).count();
        assert!(agree as f64 / 300.0 >= 0.99, "recall@1 {agree}/300");
    }

    #[test]
    fn bulk_insert_equals_one_by_one() {
        let data = clustered(4000, 32, 80, 0.3, 21);
        let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
        let mut h = HnswIndex::new(32, HnswParams::default(), 4000);
        h.insert_many(&items[..3000]).unwrap();
        // Replacing ids in a batch keeps one live copy each.
        let replaced: Vec<(u64, &[f32])> = (0..10).map(|i| (i as u64, data[3000 + i].as_slice())).collect();
        h.insert_many(&replaced).unwrap();
        assert_eq!(h.len(), 3000);
        assert_eq!(h.search(&data[3005], 1).unwrap()[0].0, 5);
        let mut e = ExactIndex::new(32);
        for (id, v) in &items[..3000] {
            e.insert(*id, v).unwrap();
        }
        for (id, v) in &replaced {
            e.insert(*id, v).unwrap();
        }
        let agree = (0..300).filter(|i| h.search(&data[i * 7 % 3000], 1).unwrap()[0].0 == e.search(&data[i * 7 % 3000], 1).unwrap()[0].0).count();
        assert!(agree >= 297, "recall@1 {agree}/300");
        // An invalid vector anywhere in the batch adds nothing.
        let bad = [1.0f32; 31];
        assert!(h.insert_many(&[(9000, data[0].as_slice()), (9001, &bad)]).is_err());
        assert_eq!(h.len(), 3000);
    }

    #[test]
    fn additions_after_the_copy_are_found_and_removals_never_return() {
        let data = clustered(6000, 32, 120, 0.3, 8);
        let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
        let mut h = HnswIndex::new(32, HnswParams::default(), 6000);
        h.insert_many(&items[..5000]).unwrap();
        // The bulk load went straight into the copy; nothing waits in the side list.
        assert_eq!((h.frozen.len(), h.recent.len()), (5000, 0));
        for (id, v) in &items[5000..5100] {
            h.insert(*id, v).unwrap();
        }
        assert_eq!(h.recent.len(), 100);
        for i in (5000..5100).step_by(7) {
            assert_eq!(h.search(&data[i], 1).unwrap()[0].0, i as u64, "a vector added after the copy");
        }
        // Removed entries never come back, from the copy or from the side list.
        for i in (0..5100u64).step_by(10) {
            assert!(h.remove(i));
        }
        for i in (0..5100usize).step_by(10) {
            assert!(h.search(&data[i], 10).unwrap().iter().all(|(id, _)| id % 10 != 0), "removed id {i} returned");
        }
        // Replaced after the copy: the new vector is found under the id, the old one is not.
        h.insert(3, &data[5500]).unwrap();
        assert_eq!(h.search(&data[5500], 1).unwrap()[0].0, 3);
        assert_ne!(h.search(&data[3], 1).unwrap()[0].0, 3);
    }

    #[test]
    fn tombstones_are_filtered_and_rebuilt() {
        let data = clustered(3000, 32, 50, 0.3, 5);
        let mut h = HnswIndex::new(32, HnswParams::default(), 3000);
        for (i, v) in data.iter().enumerate() {
            h.insert(i as u64, v).unwrap();
        }
        for i in 0..500 {
            assert!(h.remove(i));
        }
        assert!(!h.tombstones.is_empty());
        for i in 0..500usize {
            let got = h.search(&data[i], 5).unwrap();
            assert_eq!(got.len(), 5);
            assert!(got.iter().all(|(id, _)| *id >= 500), "a removed id came back");
        }
        for i in 500..1000 {
            h.remove(i);
        }
        // More than a quarter removed: the graph was rebuilt without tombstones.
        assert!(h.tombstones.len() * 4 <= h.internal_ids.len());
        assert_eq!(h.len(), 2000);
        assert_eq!(h.search(&data[2500], 1).unwrap()[0].0, 2500);
        // Replacing an id keeps one live copy.
        h.insert(2500, &data[10]).unwrap();
        assert_eq!(h.search(&data[10], 1).unwrap()[0].0, 2500);
        assert_eq!(h.len(), 2000);
    }
}
