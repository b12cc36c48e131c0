//! Approximate search for large partitions: an HNSW [`Graph`] over int8 codes, linked in batches
//! on all cores, with candidates re-scored exactly from the f32 vectors (kept by graph id). The
//! graph cannot unlink a node, so removed ids are tombstoned, left out of results, and the graph
//! is rebuilt from the live vectors when tombstones pass a quarter of it.

use super::exact::{dot, ExactIndex};
use super::graph::Graph;
use super::{check_vector, IndexError};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
pub struct HnswParams {
    /// Links per node (M; twice as many on the bottom layer).
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
    graph: Graph,
    dims: usize,
    /// f32 vectors by graph id (for exact re-scoring and rebuilds; a tombstoned id's stays until
    /// the next rebuild). Graph ids are positions in `internal_ids`.
    vectors: Vec<f32>,
    /// Live ids → graph id.
    internal_of: HashMap<u64, usize>,
    internal_ids: Vec<u64>,
    /// By graph id: removed, or replaced by a later graph id. A flag rather than a set: the graph
    /// search asks about every node it reaches.
    dead: Vec<bool>,
    /// How many `dead` flags are set.
    tombstones: usize,
    /// Whether passing the tombstone limit rebuilds the graph inside `remove`/`insert`. Off when
    /// the owner rebuilds it elsewhere (see `AutoIndex::deferred`).
    auto_rebuild: bool,
}

impl HnswIndex {
    pub fn new(dims: usize, params: HnswParams) -> Self {
        Self {
            params,
            graph: Graph::new(dims, params.max_connections, params.ef_construction),
            dims,
            vectors: Vec::new(),
            internal_of: HashMap::new(),
            internal_ids: Vec::new(),
            dead: Vec::new(),
            tombstones: 0,
            auto_rebuild: true,
        }
    }

    /// Leaves rebuilding without tombstones to the owner ([`Self::rebuild_due`]).
    pub fn without_auto_rebuild(mut self) -> Self {
        self.auto_rebuild = false;
        self
    }

    /// True when tombstones passed a quarter of the graph: it should be rebuilt from the live
    /// vectors.
    pub fn rebuild_due(&self) -> bool {
        self.tombstones * 4 > self.internal_ids.len() && self.internal_ids.len() > 1024
    }

    /// The live vector of `id`.
    pub fn get(&self, id: u64) -> Option<&[f32]> {
        self.internal_of.get(&id).map(|g| self.vector(*g))
    }

    /// The live entries, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[f32])> {
        self.live()
    }

    pub fn from_exact(exact: &ExactIndex, params: HnswParams) -> Self {
        let mut h = Self::new(exact.dims(), params);
        let items: Vec<(u64, &[f32])> = exact.iter().collect();
        h.insert_many(&items).expect("vectors from an index are valid");
        h
    }

    fn vector(&self, graph_id: usize) -> &[f32] {
        &self.vectors[graph_id * self.dims..(graph_id + 1) * self.dims]
    }

    /// The live entries, in the order they were added.
    fn live(&self) -> impl Iterator<Item = (u64, &[f32])> {
        self.internal_ids.iter().enumerate().filter(|(g, _)| !self.dead[*g]).map(|(g, id)| (*id, self.vector(g)))
    }

    /// Adds (or replaces) many vectors at once, linking them into the graph in batches on all
    /// cores: a bulk load or rebuild is several times faster than one insert after another.
    /// Nothing is added when any vector is invalid.
    pub fn insert_many(&mut self, items: &[(u64, &[f32])]) -> Result<(), IndexError> {
        for (_, v) in items {
            check_vector(v, self.dims)?;
        }
        for (id, v) in items {
            self.register(*id, v);
        }
        let vectors: Vec<&[f32]> = items.iter().map(|(_, v)| *v).collect();
        let ids = self.graph.add(&vectors);
        debug_assert_eq!(ids.end, self.internal_ids.len());
        self.maybe_rebuild();
        Ok(())
    }

    pub fn to_exact(&self) -> ExactIndex {
        let mut e = ExactIndex::new(self.dims);
        for (id, v) in self.live() {
            e.insert(id, v).expect("vectors from an index are valid");
        }
        e
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Search effort (candidates explored); more finds the true nearest more often, slower.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
    }

    pub fn len(&self) -> usize {
        self.internal_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.internal_of.is_empty()
    }

    pub fn memory_bytes(&self) -> usize {
        self.graph.memory_bytes()
            + self.vectors.capacity() * 4
            + self.internal_ids.capacity() * 8
            + self.internal_of.capacity() * 24
            + self.dead.capacity()
    }

    /// Gives `id` the next graph id (tombstoning the one it had) and keeps its vector; the
    /// caller adds the vector to the graph, in the same order.
    fn register(&mut self, id: u64, v: &[f32]) {
        if let Some(old) = self.internal_of.insert(id, self.internal_ids.len()) {
            self.bury(old);
        }
        self.internal_ids.push(id);
        self.dead.push(false);
        self.vectors.extend_from_slice(v);
    }

    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<(), IndexError> {
        self.insert_many(&[(id, v)])
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let Some(internal) = self.internal_of.remove(&id) else { return false };
        self.bury(internal);
        self.maybe_rebuild();
        true
    }

    fn bury(&mut self, graph_id: usize) {
        debug_assert!(!self.dead[graph_id]);
        self.dead[graph_id] = true;
        self.tombstones += 1;
    }

    /// Rebuilds the graph without tombstones when they pass a quarter; true if it did.
    fn maybe_rebuild(&mut self) -> bool {
        let due = self.auto_rebuild && self.rebuild_due();
        if due {
            let mut fresh = Self::new(self.dims, self.params);
            let items: Vec<(u64, &[f32])> = self.live().collect();
            fresh.insert_many(&items).expect("vectors from an index are valid");
            *self = fresh;
        }
        due
    }

    pub fn search(&self, q: &[f32], k: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        check_vector(q, self.dims)?;
        if k == 0 || self.is_empty() {
            return Ok(vec![]);
        }
        let ef = self.params.ef_search.max(k.saturating_mul(2)).max(10);
        // Graph candidates (leaving out removed and since-replaced entries), re-scored exactly.
        let mut out: Vec<(u64, f32)> = self
            .graph
            .search(q, ef, |g| self.dead[g as usize])
            .into_iter()
            .map(|(g, _)| (self.internal_ids[g as usize], dot(q, self.vector(g as usize))))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
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
        let mut h = HnswIndex::new(64, HnswParams::default());
        let mut e = ExactIndex::new(64);
        for (i, v) in data.iter().enumerate() {
            h.insert(i as u64, v).unwrap();
            e.insert(i as u64, v).unwrap();
        }
        let queries = clustered(300, 64, 100, 0.35, 99);
        // The queries come from other centres than the data: far from every stored vector, with
        // many near-ties for the nearest (the hard case; a cache's would-be hits are easier).
        // More search effort buys recall.
        let recall = |h: &HnswIndex| {
            queries.iter().filter(|q| h.search(q, 1).unwrap()[0].0 == e.search(q, 1).unwrap()[0].0).count()
        };
        let at_default = recall(&h);
        assert!(at_default >= 291, "recall@1 at ef 96: {at_default}/300");
        h.set_ef_search(200);
        let at_200 = recall(&h);
        assert!(at_200 >= 297 && at_200 >= at_default, "recall@1 at ef 200: {at_200}/300");
    }

    #[test]
    fn bulk_insert_equals_one_by_one() {
        let data = clustered(4000, 32, 80, 0.3, 21);
        let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
        let mut h = HnswIndex::new(32, HnswParams::default());
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
        let agree = (0..300)
            .filter(|i| {
                h.search(&data[i * 7 % 3000], 1).unwrap()[0].0 == e.search(&data[i * 7 % 3000], 1).unwrap()[0].0
            })
            .count();
        assert!(agree >= 297, "recall@1 {agree}/300");
        // An invalid vector anywhere in the batch adds nothing.
        let bad = [1.0f32; 31];
        assert!(h.insert_many(&[(9000, data[0].as_slice()), (9001, &bad)]).is_err());
        assert_eq!(h.len(), 3000);
    }

    #[test]
    fn additions_after_a_bulk_load_are_found_and_removals_never_return() {
        let data = clustered(6000, 32, 120, 0.3, 8);
        let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
        let mut h = HnswIndex::new(32, HnswParams::default());
        h.insert_many(&items[..5000]).unwrap();
        for (id, v) in &items[5000..5100] {
            h.insert(*id, v).unwrap();
        }
        for i in (5000..5100).step_by(7) {
            assert_eq!(h.search(&data[i], 1).unwrap()[0].0, i as u64, "a vector added after the bulk load");
        }
        // Removed entries never come back.
        for i in (0..5100u64).step_by(10) {
            assert!(h.remove(i));
        }
        for i in (0..5100usize).step_by(10) {
            assert!(h.search(&data[i], 10).unwrap().iter().all(|(id, _)| id % 10 != 0), "removed id {i} returned");
        }
        // Replaced: the new vector is found under the id, the old one is not.
        h.insert(3, &data[5500]).unwrap();
        assert_eq!(h.search(&data[5500], 1).unwrap()[0].0, 3);
        assert_ne!(h.search(&data[3], 1).unwrap()[0].0, 3);
    }

    #[test]
    fn a_removed_cluster_does_not_hide_the_live_entries_behind_it() {
        // 50 clusters of 120: a member's 119 nearest are its own cluster, more than ef (96).
        let data = clustered(6000, 32, 50, 0.3, 4);
        let mut h = HnswIndex::new(32, HnswParams::default());
        h.insert_many(&data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect::<Vec<_>>()).unwrap();
        // Remove all of cluster 0 (2% of the index: no rebuild).
        for i in (0..6000u64).step_by(50) {
            assert!(h.remove(i));
        }
        assert_eq!(h.tombstones, 120);
        for i in (0..6000usize).step_by(50).take(20) {
            let got = h.search(&data[i], 5).unwrap();
            assert_eq!(got.len(), 5, "query {i}: only {} results from 5880 live entries", got.len());
            assert!(got.iter().all(|(id, _)| id % 50 != 0));
        }
    }

    #[test]
    fn replacing_every_id_and_rebuilding_keeps_each_live_id_once_with_its_latest_vector() {
        let data = clustered(4000, 32, 80, 0.3, 12);
        let latest = |id: u64| data[2000 + id as usize].as_slice();
        let mut h = HnswIndex::new(32, HnswParams::default());
        h.insert_many(&(0..2000u64).map(|i| (i, data[i as usize].as_slice())).collect::<Vec<_>>()).unwrap();
        // Every id gets a new vector, one at a time: rebuilds happen on the way.
        for id in 0..2000u64 {
            h.insert(id, latest(id)).unwrap();
        }
        assert!(h.internal_ids.len() < 4000, "no rebuild happened");
        assert!(h.tombstones * 4 <= h.internal_ids.len());
        let check = |h: &HnswIndex, live: &dyn Fn(u64) -> bool| {
            let mut seen = std::collections::HashSet::new();
            for (id, v) in h.live() {
                assert!(live(id) && seen.insert(id), "id {id} live twice or when removed");
                assert_eq!(v, latest(id), "id {id} kept an old vector");
            }
            assert_eq!(seen.len(), h.len());
            assert_eq!(h.dead.iter().filter(|d| **d).count(), h.tombstones);
            let e = h.to_exact();
            assert_eq!(e.len(), h.len());
            for id in 0..2000u64 {
                assert_eq!(e.get(id), live(id).then(|| latest(id)));
            }
        };
        check(&h, &|_| true);
        assert_eq!(h.len(), 2000);
        for id in (0..2000u64).step_by(37) {
            assert_eq!(h.search(latest(id), 1).unwrap()[0].0, id);
        }
        // A third removed: a rebuild, after which none of them is ever returned.
        for id in (0..2000u64).step_by(3) {
            assert!(h.remove(id));
        }
        check(&h, &|id| id % 3 != 0);
        assert_eq!(h.len(), 2000 - 667);
        for id in (0..2000u64).step_by(3) {
            let got = h.search(latest(id), 10).unwrap();
            assert_eq!(got.len(), 10);
            assert!(got.iter().all(|(id, _)| id % 3 != 0), "removed id returned for {id}");
            assert!(!h.remove(id));
        }
    }

    #[test]
    fn edge_cases_of_search() {
        let mut h = HnswIndex::new(4, HnswParams::default());
        let q = [1.0f32, 0.0, 0.0, 0.0];
        assert!(h.search(&q, 5).unwrap().is_empty(), "empty index");
        assert_eq!(h.search(&[1.0], 1), Err(IndexError::Dimension { expected: 4, got: 1 }));
        assert_eq!(h.search(&[f32::NAN, 0.0, 0.0, 0.0], 1), Err(IndexError::NotFinite));
        assert!(h.insert(1, &[1.0, 2.0]).is_err());
        assert!(h.insert_many(&[]).is_ok());
        h.insert(7, &q).unwrap();
        // One node.
        assert!(h.search(&q, 0).unwrap().is_empty(), "k = 0");
        assert_eq!(h.search(&[0.0, 1.0, 0.0, 0.0], 10).unwrap(), vec![(7, 0.0)]);
        // k above the size, up to usize::MAX: everything there, once.
        h.insert(8, &[0.0, 0.0, 0.0, 0.0]).unwrap();
        h.insert(9, &[0.0, 0.6, 0.8, 0.0]).unwrap();
        for k in [3, 4, 1000, usize::MAX] {
            let got = h.search(&q, k).unwrap();
            assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), vec![7, 8, 9], "k = {k}");
        }
        // A zero query scores 0 against everything (no NaN).
        assert!(h.search(&[0.0; 4], 3).unwrap().iter().all(|r| r.1 == 0.0));
        assert!(h.remove(7) && h.remove(8) && h.remove(9));
        assert!(!h.remove(7));
        assert!(h.is_empty() && h.search(&q, 3).unwrap().is_empty());
    }

    #[test]
    fn tombstones_are_filtered_and_rebuilt() {
        let data = clustered(3000, 32, 50, 0.3, 5);
        let mut h = HnswIndex::new(32, HnswParams::default());
        for (i, v) in data.iter().enumerate() {
            h.insert(i as u64, v).unwrap();
        }
        for i in 0..500 {
            assert!(h.remove(i));
        }
        assert_eq!(h.tombstones, 500);
        for q in &data[..500] {
            let got = h.search(q, 5).unwrap();
            assert_eq!(got.len(), 5);
            assert!(got.iter().all(|(id, _)| *id >= 500), "a removed id came back");
        }
        for i in 500..1000 {
            h.remove(i);
        }
        // More than a quarter removed: the graph was rebuilt without tombstones.
        assert!(h.tombstones * 4 <= h.internal_ids.len());
        assert_eq!(h.len(), 2000);
        assert_eq!(h.search(&data[2500], 1).unwrap()[0].0, 2500);
        // Replacing an id keeps one live copy.
        h.insert(2500, &data[10]).unwrap();
        assert_eq!(h.search(&data[10], 1).unwrap()[0].0, 2500);
        assert_eq!(h.len(), 2000);
    }
}
