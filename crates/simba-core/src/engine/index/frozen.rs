//! A flat, read-only copy of an hnsw_rs graph, and the HNSW search over it.
//!
//! hnsw_rs builds good graphs (concurrently), but its search allocates an `Arc` per visited node
//! and tracks visits in a SipHash map, which made a 100k lookup cost milliseconds. The copy keeps
//! links in plain arrays (layer 0 as offsets + targets, the few upper-layer nodes in a map) and the
//! vectors contiguous by graph id as int8 codes (a quarter of the bytes of f32: traversal at 1M
//! entries is bound by memory latency), so a lookup only reads memory and computes integer dot
//! products. The scores it returns are approximate; the owner re-scores the candidates exactly.
//! [`super::hnsw::HnswIndex`] takes a copy after a bulk load and again when enough vectors were
//! added since; vectors added in between are searched exactly beside it.

use super::exact::{dot_u8i8_one, quantise, QUERY_LIMIT, STORED_LIMIT};
use super::hnsw::CosineDistance;
use hnsw_rs::prelude::Hnsw;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

pub struct FrozenGraph {
    dims: usize,
    /// Graph ids `0..len` are covered (hnsw_rs's data ids: positions in the owner's id table).
    len: usize,
    /// Int8 codes by graph id (offset +128 into u8; zeros for ids that had none, which are never
    /// reported), and the factor each vector was scaled by.
    codes: Vec<u8>,
    scales: Vec<f32>,
    present: Vec<bool>,
    /// Layer 0: the links of graph id `i` are `targets[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
    /// Layers 1.. (few nodes each): node → links.
    upper: Vec<HashMap<u32, Vec<u32>>>,
    entry: Option<u32>,
}

/// (distance, graph id), ordered by distance then id.
#[derive(PartialEq, Clone, Copy)]
struct Near(f32, u32);
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

impl FrozenGraph {
    pub fn empty(dims: usize) -> Self {
        Self { dims, len: 0, codes: Vec::new(), scales: Vec::new(), present: Vec::new(), offsets: vec![0], targets: Vec::new(), upper: Vec::new(), entry: None }
    }

    /// Copies `graph` (graph ids `0..len`); `vector_of(id)` gives each id's vector, None for ids
    /// no longer live (they are traversed but never returned).
    pub fn copy<'v>(graph: &Hnsw<'static, f32, CosineDistance>, dims: usize, len: usize, vector_of: impl Fn(usize) -> Option<&'v [f32]>) -> Self {
        let mut layer0: Vec<Vec<u32>> = vec![Vec::new(); len];
        let mut upper: Vec<HashMap<u32, Vec<u32>>> = Vec::new();
        let mut entry: Option<(u8, u32)> = None;
        for point in graph.get_point_indexation() {
            let id = point.get_origin_id();
            if id >= len {
                continue;
            }
            let level = point.get_point_id().0;
            if entry.is_none_or(|(l, _)| level > l) {
                entry = Some((level, id as u32));
            }
            for (layer, links) in point.get_neighborhood_id().into_iter().enumerate().take(level as usize + 1) {
                let links: Vec<u32> = links.iter().map(|n| n.d_id as u32).filter(|t| (*t as usize) < len).collect();
                if layer == 0 {
                    layer0[id] = links;
                } else {
                    if upper.len() < layer {
                        upper.resize_with(layer, HashMap::new);
                    }
                    upper[layer - 1].insert(id as u32, links);
                }
            }
        }
        let mut offsets = Vec::with_capacity(len + 1);
        let mut targets = Vec::with_capacity(layer0.iter().map(Vec::len).sum());
        offsets.push(0u32);
        for links in &layer0 {
            targets.extend_from_slice(links);
            offsets.push(targets.len() as u32);
        }
        drop(layer0);
        let mut codes = vec![128u8; len * dims];
        let mut scales = vec![1f32; len];
        let mut present = vec![false; len];
        let mut signed = Vec::with_capacity(dims);
        for id in 0..len {
            if let Some(v) = vector_of(id) {
                signed.clear();
                scales[id] = quantise(v, STORED_LIMIT, &mut signed);
                for (c, s) in codes[id * dims..(id + 1) * dims].iter_mut().zip(&signed) {
                    *c = (*s as i16 + 128) as u8;
                }
                present[id] = true;
            }
        }
        Self { dims, len, codes, scales, present, offsets, targets, upper, entry: entry.map(|(_, id)| id) }
    }

    /// Graph ids covered: `0..len()`.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn memory_bytes(&self) -> usize {
        self.codes.capacity()
            + self.scales.capacity() * 4
            + self.present.capacity()
            + self.offsets.capacity() * 4
            + self.targets.capacity() * 4
            + self.upper.iter().map(|l| l.values().map(|v| v.capacity() * 4 + 32).sum::<usize>()).sum::<usize>()
    }

    /// The `ef` nearest graph ids found for `q` with their approximate cosine similarity (best
    /// first), leaving out ids that are not live or that `skip` names.
    pub fn search(&self, q: &[f32], ef: usize, skip: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        let Some(mut current) = self.entry else { return vec![] };
        let mut q_codes = Vec::with_capacity(self.dims);
        let q_scale = quantise(q, QUERY_LIMIT, &mut q_codes);
        let q_sum: i32 = q_codes.iter().map(|x| *x as i32).sum();
        let distance = |id: u32| {
            let i = id as usize;
            let d = dot_u8i8_one(&self.codes[i * self.dims..(i + 1) * self.dims], &q_codes, q_sum);
            1.0 - d as f32 / (q_scale * self.scales[i])
        };
        let mut best = distance(current);
        // Upper layers: greedy descent.
        for layer in self.upper.iter().rev() {
            loop {
                let mut moved = false;
                for &n in layer.get(&current).map(Vec::as_slice).unwrap_or(&[]) {
                    let d = distance(n);
                    if d < best {
                        (best, current, moved) = (d, n, true);
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        // Layer 0: beam search keeping the `ef` nearest.
        let ef = ef.max(1);
        let mut visited = vec![0u64; self.len.div_ceil(64)];
        let mut mark = |id: u32| {
            let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
            let fresh = visited[word] & bit == 0;
            visited[word] |= bit;
            fresh
        };
        mark(current);
        let mut candidates = BinaryHeap::new(); // nearest first (distances negated through Reverse)
        let mut kept: BinaryHeap<Near> = BinaryHeap::new(); // farthest kept on top
        candidates.push(std::cmp::Reverse(Near(best, current)));
        kept.push(Near(best, current));
        while let Some(std::cmp::Reverse(Near(d, node))) = candidates.pop() {
            if kept.len() >= ef && d > kept.peek().map_or(f32::MAX, |f| f.0) {
                break;
            }
            let (from, to) = (self.offsets[node as usize] as usize, self.offsets[node as usize + 1] as usize);
            for &n in &self.targets[from..to] {
                if !mark(n) {
                    continue;
                }
                let dn = distance(n);
                if kept.len() < ef || dn < kept.peek().map_or(f32::MAX, |f| f.0) {
                    candidates.push(std::cmp::Reverse(Near(dn, n)));
                    kept.push(Near(dn, n));
                    if kept.len() > ef {
                        kept.pop();
                    }
                }
            }
        }
        let mut out: Vec<(u32, f32)> =
            kept.into_iter().filter(|Near(_, id)| self.present[*id as usize] && !skip(*id)).map(|Near(d, id)| (id, 1.0 - d)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}
