//! Exact top-k by a dot-product scan over contiguous storage. The kernel uses AVX2+FMA when the
//! CPU has them (checked at run time) and a portable 8-lane loop otherwise.

use super::{check_vector, IndexError};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

pub struct ExactIndex {
    dims: usize,
    data: Vec<f32>,
    ids: Vec<u64>,
    slot_of: HashMap<u64, usize>,
}

/// Dot product of two equal-length slices.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    {
        if avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { dot_avx2(a, b) };
        }
    }
    dot_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// Eight independent accumulators, which LLVM turns into SIMD on any target.
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        for l in 0..8 {
            acc[l] += a[c * 8 + l] * b[c * 8 + l];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    // Four accumulators hide the FMA latency.
    let mut s0 = _mm256_setzero_ps();
    let mut s1 = _mm256_setzero_ps();
    let mut s2 = _mm256_setzero_ps();
    let mut s3 = _mm256_setzero_ps();
    let mut i = 0;
    while i + 32 <= n {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 16)), _mm256_loadu_ps(pb.add(i + 16)), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 24)), _mm256_loadu_ps(pb.add(i + 24)), s3);
        i += 32;
    }
    while i + 8 <= n {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
        i += 8;
    }
    let s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), s);
    let mut sum: f32 = lanes.iter().sum();
    while i < n {
        sum += *pa.add(i) * *pb.add(i);
        i += 1;
    }
    sum
}

/// Min-heap entry for top-k.
#[derive(PartialEq)]
struct Scored(f32, u64);
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap's top is the worst kept score.
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl ExactIndex {
    pub fn new(dims: usize) -> Self {
        Self { dims, data: Vec::new(), ids: Vec::new(), slot_of: HashMap::new() }
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn memory_bytes(&self) -> usize {
        self.data.capacity() * 4 + self.ids.capacity() * 8 + self.slot_of.capacity() * 24
    }

    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<(), IndexError> {
        check_vector(v, self.dims)?;
        match self.slot_of.get(&id) {
            Some(&slot) => self.data[slot * self.dims..(slot + 1) * self.dims].copy_from_slice(v),
            None => {
                self.slot_of.insert(id, self.ids.len());
                self.ids.push(id);
                self.data.extend_from_slice(v);
            }
        }
        Ok(())
    }

    /// O(1): the last vector moves into the freed slot.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(slot) = self.slot_of.remove(&id) else { return false };
        let last = self.ids.len() - 1;
        if slot != last {
            let moved = self.ids[last];
            self.ids[slot] = moved;
            self.slot_of.insert(moved, slot);
            let (d, src) = (self.dims, last * self.dims);
            self.data.copy_within(src..src + d, slot * d);
        }
        self.ids.pop();
        self.data.truncate(last * self.dims);
        true
    }

    pub fn get(&self, id: u64) -> Option<&[f32]> {
        self.slot_of.get(&id).map(|&s| &self.data[s * self.dims..(s + 1) * self.dims])
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &[f32])> {
        self.ids.iter().copied().zip(self.data.chunks_exact(self.dims.max(1)))
    }

    pub fn search(&self, q: &[f32], k: usize) -> Result<Vec<(u64, f32)>, IndexError> {
        check_vector(q, self.dims)?;
        if k == 0 {
            return Ok(vec![]);
        }
        let mut heap: BinaryHeap<Scored> = BinaryHeap::with_capacity(k + 1);
        for (slot, v) in self.data.chunks_exact(self.dims).enumerate() {
            let s = dot(q, v);
            if heap.len() < k {
                heap.push(Scored(s, self.ids[slot]));
            } else if s > heap.peek().map(|w| w.0).unwrap_or(f32::MIN) {
                heap.pop();
                heap.push(Scored(s, self.ids[slot]));
            }
        }
        let mut out: Vec<(u64, f32)> = heap.into_iter().map(|Scored(s, id)| (id, s)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::index::testdata::clustered;

    #[test]
    fn kernels_agree_with_a_scalar_reference() {
        for dims in [1, 7, 8, 31, 33, 384, 385] {
            let v = clustered(2, dims, 2, 0.5, dims as u64);
            let reference: f32 = v[0].iter().zip(&v[1]).map(|(a, b)| a * b).sum();
            assert!((dot(&v[0], &v[1]) - reference).abs() < 1e-5, "dims {dims}");
            assert!((dot_portable(&v[0], &v[1]) - reference).abs() < 1e-5, "dims {dims}");
        }
    }

    #[test]
    fn top_k_matches_naive_sort_and_removal_keeps_it_right() {
        let data = clustered(2000, 45, 30, 0.4, 3);
        let mut idx = ExactIndex::new(45);
        for (i, v) in data.iter().enumerate() {
            idx.insert(i as u64 * 10, v).unwrap();
        }
        for i in (0..2000).step_by(3) {
            assert!(idx.remove(i as u64 * 10));
        }
        let q = &data[1];
        let mut naive: Vec<(u64, f32)> = data
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(i, v)| (i as u64 * 10, v.iter().zip(q).map(|(a, b)| a * b).sum()))
            .collect();
        naive.sort_by(|a, b| b.1.total_cmp(&a.1));
        let got = idx.search(q, 10).unwrap();
        assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), naive[..10].iter().map(|x| x.0).collect::<Vec<_>>());
        assert_eq!(idx.len(), 2000 - 667);
        // Replace keeps one copy.
        idx.insert(10, &data[0]).unwrap();
        assert_eq!(idx.search(&data[0], 1).unwrap()[0].0, 10);
        assert_eq!(idx.len(), 2000 - 667);
        assert_eq!(idx.get(10).unwrap(), &data[0][..]);
    }
}
