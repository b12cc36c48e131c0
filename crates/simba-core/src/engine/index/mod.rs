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
                if i.len() > self.hnsw_above {
                    self.inner = Inner::Hnsw(Box::new(HnswIndex::from_exact(i, self.params)));
                }
            }
            Inner::Hnsw(i) => i.insert(id, v)?,
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
                h.insert_many(&all)?;
                self.inner = Inner::Hnsw(Box::new(h));
            }
            Inner::Exact(i) => {
                for (id, v) in items {
                    i.insert(*id, v)?;
                }
            }
            Inner::Hnsw(h) => h.insert_many(items)?,
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
            Inner::Exact(i) => i.remove(id),
            Inner::Hnsw(h) => {
                let removed = h.remove(id);
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
    fn bad_vectors_are_errors() {
        let mut idx = AutoIndex::new(4);
        assert_eq!(idx.insert(1, &[1.0, 0.0]), Err(IndexError::Dimension { expected: 4, got: 2 }));
        assert_eq!(idx.insert(1, &[f32::NAN, 0.0, 0.0, 0.0]), Err(IndexError::NotFinite));
        assert!(idx.search(&[1.0], 1).is_err());
        assert!(idx.search(&[1.0, 0.0, 0.0, 0.0], 3).unwrap().is_empty());
    }
}
