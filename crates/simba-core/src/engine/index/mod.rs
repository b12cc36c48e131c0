//! Vector search for one cache partition: an exact SIMD scan while the partition is small, an
//! HNSW graph (our own, over int8 codes: `graph`) once it is large, switched automatically.
//! Vectors are L2-normalised, so similarity is the dot product.

mod exact;
mod graph;
mod hnsw;

pub use exact::{dot, ExactIndex};
pub use hnsw::{HnswIndex, HnswParams};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IndexError {
    #[error("the vector has {got} dimensions; this index holds {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("the vector holds NaN or infinite values")]
    NotFinite,
}

/// A score or distance with its id, ordered by the value (a total order: NaN-safe) then the id,
/// for the heaps of top-k and graph searches.
#[derive(PartialEq, Clone, Copy, Debug)]
pub(crate) struct Ranked<I>(pub f32, pub I);
impl<I: Ord> Eq for Ranked<I> {}
impl<I: Ord> PartialOrd for Ranked<I> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<I: Ord> Ord for Ranked<I> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

pub fn check_vector(v: &[f32], dims: usize) -> Result<(), IndexError> {
    if v.len() != dims {
        return Err(IndexError::Dimension { expected: dims, got: v.len() });
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(IndexError::NotFinite);
    }
    Ok(())
}

/// Above this many entries a partition moves to HNSW; below `EXACT_BELOW` it moves back.
pub const HNSW_ABOVE: usize = 20_000;
pub const EXACT_BELOW: usize = 10_000;

/// The index one partition uses, chosen by its size.
pub struct AutoIndex {
    inner: Inner,
    hnsw_above: usize,
    exact_below: usize,
    params: HnswParams,
    /// Whether the switch to HNSW is left to the owner (`start_graph_build`, built off the lock
    /// and off the async threads) instead of being built inside `insert`.
    deferred: bool,
    /// The graph build in progress, if any.
    build: Option<Build>,
}

struct Build {
    token: u64,
    /// Ids inserted, replaced or removed since the build's snapshot: the graph catches up on them
    /// (from the exact index, which stays the truth) before it is swapped in.
    touched: Vec<u64>,
}

/// A graph build handed out by [`AutoIndex::start_graph_build`]: the partition's vectors as they
/// were. [`GraphJob::build`] is the slow part, to run where no lock is held and no async thread
/// waits; [`AutoIndex::catch_up`] and [`AutoIndex::finish_graph_build`] then swap it in.
pub struct GraphJob {
    pub token: u64,
    dims: usize,
    params: HnswParams,
    items: Vec<(u64, Vec<f32>)>,
}

impl GraphJob {
    pub fn build(&self) -> HnswIndex {
        let mut h = HnswIndex::new(self.dims, self.params).without_auto_rebuild();
        let items: Vec<(u64, &[f32])> = self.items.iter().map(|(id, v)| (*id, v.as_slice())).collect();
        h.insert_many(&items).expect("vectors from an index are valid");
        h
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Changes a graph built off the lock still has to take: each id with its vector now, or None
/// when it was removed.
pub type CatchUp = Vec<(u64, Option<Vec<f32>>)>;

/// Applies changes gathered by [`AutoIndex::catch_up`] to a graph being built.
pub fn apply_catch_up(graph: &mut HnswIndex, changes: &CatchUp) {
    for (id, v) in changes {
        match v {
            Some(v) => graph.insert(*id, v).expect("vectors from an index are valid"),
            None => {
                graph.remove(*id);
            }
        }
    }
}

enum Inner {
    Exact(ExactIndex),
    Hnsw(Box<HnswIndex>),
}

impl AutoIndex {
    pub fn new(dims: usize) -> Self {
        Self::with_thresholds(dims, HNSW_ABOVE, EXACT_BELOW, HnswParams::default())
    }

    /// Custom switch points (`exact_below` < `hnsw_above` keeps it from flapping).
    pub fn with_thresholds(dims: usize, hnsw_above: usize, exact_below: usize, params: HnswParams) -> Self {
        Self {
            inner: Inner::Exact(ExactIndex::new(dims)),
            hnsw_above,
            exact_below: exact_below.min(hnsw_above),
            params,
            deferred: false,
            build: None,
        }
    }

    /// Leaves the switch to HNSW to the owner: past `hnsw_above`, `insert` keeps the exact scan
    /// and [`Self::graph_build_due`] says a graph should be built (see [`GraphJob`]).
    pub fn deferred(mut self) -> Self {
        self.deferred = true;
        self
    }

    /// True when no graph build is under way and one is wanted: the partition passed the
    /// exact-scan limit, or its graph holds too many removed entries and should be rebuilt.
    pub fn graph_build_due(&self) -> bool {
        self.build.is_none()
            && match &self.inner {
                Inner::Exact(i) => i.len() > self.hnsw_above,
                Inner::Hnsw(h) => h.rebuild_due(),
            }
    }

    /// Hands out a snapshot to build the graph from; changes from now on are tracked.
    pub fn start_graph_build(&mut self) -> Option<GraphJob> {
        if !self.graph_build_due() {
            return None;
        }
        let items = match &self.inner {
            Inner::Exact(i) => i.iter().map(|(id, v)| (id, v.to_vec())).collect(),
            Inner::Hnsw(h) => h.iter().map(|(id, v)| (id, v.to_vec())).collect(),
        };
        let token = rand::random::<u64>();
        self.build = Some(Build { token, touched: Vec::new() });
        Some(GraphJob { token, dims: self.dims(), params: self.params, items })
    }

    fn vector(&self, id: u64) -> Option<&[f32]> {
        match &self.inner {
            Inner::Exact(i) => i.get(id),
            Inner::Hnsw(h) => h.get(id),
        }
    }

    /// The changes since the snapshot (or since the last catch-up), with the vectors as they are
    /// now; None when the build is no longer wanted (replaced, or the partition shrank).
    pub fn catch_up(&mut self, token: u64) -> Option<CatchUp> {
        let build = self.build.as_mut().filter(|b| b.token == token)?;
        let mut ids = std::mem::take(&mut build.touched);
        ids.sort_unstable();
        ids.dedup();
        Some(ids.into_iter().map(|id| (id, self.vector(id).map(<[f32]>::to_vec))).collect())
    }

    /// Swaps the built graph in, after applying the last changes (few, under the caller's lock).
    /// Returns false, dropping the graph, when the build is no longer wanted.
    pub fn finish_graph_build(&mut self, token: u64, mut graph: HnswIndex) -> bool {
        let Some(changes) = self.catch_up(token) else { return false };
        self.build = None;
        if matches!(&self.inner, Inner::Exact(i) if i.len() <= self.exact_below) {
            return false;
        }
        apply_catch_up(&mut graph, &changes);
        graph.set_ef_search(self.params.ef_search);
        self.inner = Inner::Hnsw(Box::new(graph));
        true
    }

    /// Gives up a build (it failed): the next insert may start another.
    pub fn abandon_graph_build(&mut self, token: u64) {
        if self.build.as_ref().is_some_and(|b| b.token == token) {
            self.build = None;
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.inner {
            Inner::Exact(_) => "exact",
            Inner::Hnsw(_) => "hnsw",
        }
    }

    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Exact(i) => i.len(),
            Inner::Hnsw(i) => i.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn memory_bytes(&self) -> usize {
        match &self.inner {
            Inner::Exact(i) => i.memory_bytes(),
            Inner::Hnsw(i) => i.memory_bytes(),
        }
    }

    /// Adds (or replaces) `id`.
    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<(), IndexError> {
        match &mut self.inner {
            Inner::Exact(i) => {
                i.insert(id, v)?;
                if let Some(b) = &mut self.build {
                    b.touched.push(id);
                } else if i.len() > self.hnsw_above && !self.deferred {
                    self.inner = Inner::Hnsw(Box::new(HnswIndex::from_exact(i, self.params)));
                }
            }
            Inner::Hnsw(i) => {
                i.insert(id, v)?;
                if let Some(b) = &mut self.build {
                    b.touched.push(id);
                }
            }
        }
        Ok(())
    }

    /// Adds (or replaces) many vectors at once: a store loading its entries, a warm-up. Large
    /// batches go straight into an HNSW graph built on all cores.
    pub fn insert_many(&mut self, items: &[(u64, &[f32])]) -> Result<(), IndexError> {
        for (_, v) in items {
            check_vector(v, self.dims())?;
        }
        match &mut self.inner {
            Inner::Exact(i) if i.len() + items.len() > self.hnsw_above => {
                // One batch (what is there, then the new ones, which replace any same id), so the
                // graph is built in one bulk load.
                let all: Vec<(u64, &[f32])> = i.iter().chain(items.iter().copied()).collect();
                let mut h = HnswIndex::new(i.dims(), self.params);
                if self.deferred {
                    h = h.without_auto_rebuild();
                }
                h.insert_many(&all)?;
                self.inner = Inner::Hnsw(Box::new(h));
                self.build = None;
            }
            Inner::Exact(i) => {
                for (id, v) in items {
                    i.insert(*id, v)?;
                    if let Some(b) = &mut self.build {
                        b.touched.push(*id);
                    }
                }
            }
            Inner::Hnsw(h) => {
                h.insert_many(items)?;
                if let Some(b) = &mut self.build {
                    b.touched.extend(items.iter().map(|(id, _)| *id));
                }
            }
        }
        Ok(())
    }

    /// The HNSW search effort, now and after a later switch to HNSW.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
        if let Inner::Hnsw(h) = &mut self.inner {
            h.set_ef_search(ef);
        }
    }

    pub fn dims(&self) -> usize {
        match &self.inner {
            Inner::Exact(i) => i.dims(),
            Inner::Hnsw(i) => i.dims(),
        }
    }

    pub fn remove(&mut self, id: u64) -> bool {
        match &mut self.inner {
            Inner::Exact(i) => {
                let removed = i.remove(id);
                if let Some(b) = self.build.as_mut().filter(|_| removed) {
                    b.touched.push(id);
                }
                removed
            }
            Inner::Hnsw(h) => {
                let removed = h.remove(id);
                if let Some(b) = self.build.as_mut().filter(|_| removed) {
                    b.touched.push(id);
                }
                if h.len() < self.exact_below {
                    self.inner = Inner::Exact(h.to_exact());
                }
                removed
            }
        }
    }

    /// The `k` most similar ids, most similar first.
    pub fn search(&self, v: &[f32], k: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        match &self.inner {
            Inner::Exact(i) => i.search(v, k),
            Inner::Hnsw(i) => i.search(v, k),
        }
    }
}

/// A small deterministic xorshift generator: the graph's levels and the synthetic vectors need
/// repeatable draws, not statistical quality.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next 53 random bits (what an f64 fraction holds).
    pub fn next_bits53(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 >> 11
    }
}

/// 2^53, to scale `XorShift::next_bits53` into [0, 1).
pub const BITS53: f64 = (1u64 << 53) as f64;

/// Synthetic data for tests and benchmarks.
pub mod testdata {
    use super::{XorShift, BITS53};

    /// Deterministic clustered unit vectors: `n` points around `centres` random centres.
    pub fn clustered(n: usize, dims: usize, centres: usize, noise: f32, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = XorShift::new(seed);
        let mut next = move || (rng.next_bits53() as f64 / BITS53 * 2.0 - 1.0) as f32;
        let norm = |v: &mut Vec<f32>| {
            let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.iter_mut().for_each(|a| *a /= n);
        };
        let cs: Vec<Vec<f32>> = (0..centres)
            .map(|_| {
                let mut c: Vec<f32> = (0..dims).map(|_| next()).collect();
                norm(&mut c);
                c
            })
            .collect();
        (0..n)
            .map(|i| {
                let c = &cs[i % centres];
                let mut v: Vec<f32> = c.iter().map(|a| a + noise * next()).collect();
                norm(&mut v);
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_to_hnsw_and_back() {
        let (above, below) = (3000, 1500);
        let data = testdata::clustered(above + 50, 16, 200, 0.3, 7);
        let mut idx = AutoIndex::with_thresholds(16, above, below, HnswParams::default());
        for (i, v) in data.iter().enumerate() {
            idx.insert(i as u64, v).unwrap();
        }
        assert_eq!(idx.kind(), "hnsw");
        assert_eq!(idx.len(), above + 50);
        assert_eq!(idx.search(&data[123], 1).unwrap()[0].0, 123);
        for i in 0..(above + 50 - below + 1) {
            assert!(idx.remove(i as u64));
        }
        assert_eq!(idx.kind(), "exact");
        let last = data.len() - 1;
        assert_eq!(idx.search(&data[last], 1).unwrap()[0].0, last as u64);
        assert!(!idx.remove(0));
    }

    #[test]
    fn deferred_graph_builds_catch_up_and_rebuild_outside_remove() {
        let (above, below) = (2000, 500);
        let data = testdata::clustered(above + 400, 16, 100, 0.3, 5);
        let mut idx = AutoIndex::with_thresholds(16, above, below, HnswParams::default()).deferred();
        for (i, v) in data.iter().take(above + 1).enumerate() {
            idx.insert(i as u64, v).unwrap();
        }
        assert_eq!(idx.kind(), "exact", "a deferred index never builds inside insert");
        let job = idx.start_graph_build().expect("due past the limit");
        assert!(idx.start_graph_build().is_none(), "one build at a time");
        let mut graph = job.build();
        // Changes while the graph is built: added, replaced and removed entries.
        for (i, v) in data.iter().enumerate().skip(above + 1) {
            idx.insert(i as u64, v).unwrap();
        }
        idx.insert(7, &data[8]).unwrap();
        assert!(idx.remove(9));
        apply_catch_up(&mut graph, &idx.catch_up(job.token).unwrap());
        assert!(idx.finish_graph_build(job.token, graph));
        assert_eq!(idx.kind(), "hnsw");
        assert_eq!(idx.len(), above + 400 - 1);
        assert_eq!(idx.search(&data[above + 300], 1).unwrap()[0].0, (above + 300) as u64);
        assert!(idx.search(&data[9], 3).unwrap().iter().all(|(id, _)| *id != 9));
        // Removing a third leaves the graph as it is (no rebuild inside remove) and asks for one.
        for i in 1000..1800u64 {
            assert!(idx.remove(i));
        }
        assert_eq!(idx.kind(), "hnsw");
        let job = idx.start_graph_build().expect("a rebuild is due");
        let graph = job.build();
        assert!(!idx.finish_graph_build(job.token ^ 1, job.build()), "a stale build is dropped");
        assert!(idx.finish_graph_build(job.token, graph));
        assert!(!idx.graph_build_due());
        assert_eq!(idx.search(&data[above + 300], 1).unwrap()[0].0, (above + 300) as u64);
    }

    #[test]
    fn bad_vectors_are_errors() {
        let mut idx = AutoIndex::new(4);
        assert_eq!(idx.insert(1, &[1.0, 0.0]), Err(IndexError::Dimension { expected: 4, got: 2 }));
        assert_eq!(idx.insert(1, &[f32::NAN, 0.0, 0.0, 0.0]), Err(IndexError::NotFinite));
        assert!(idx.search(&[1.0], 1).is_err());
        assert!(idx.search(&[1.0, 0.0, 0.0, 0.0], 3).unwrap().is_empty());
    }
}
