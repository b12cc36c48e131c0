//! An HNSW graph (Malkov & Yashunin, 2018) over int8 codes, built in batches on all cores.
//!
//! Why our own: hnsw_rs (used before) keeps each vector in its own heap allocation behind an `Arc`
//! and tracks visits in a hash map; profiled on a 100k build, 44% of the time went to chasing
//! those pointers and 42% to f32 dot products on scattered vectors, and a 1M build had not
//! finished after 30 minutes (10.6 GB resident). Here the vectors are int8 codes, contiguous by
//! graph id (a quarter of the bytes: traversal at 1M entries is bound by memory latency), layer-0
//! links sit in fixed slots next to each other, the few upper-layer nodes in maps, and visits in a
//! bitset. Scores are approximate; the owner re-scores candidates exactly.
//!
//! Building: new nodes are linked a batch at a time. For every node of a batch, in parallel and
//! reading only the graph as it was before the batch, the usual HNSW descent and beam search
//! (`ef_construction`) find candidates; the batch's other nodes are added to them by direct
//! comparison (so nodes of one batch still link to each other), and the neighbour-selection
//! heuristic picks at most M. Then the new lists are written, and every node that gained a
//! reverse link is trimmed back to its capacity with the same heuristic, again in parallel. A
//! batch of one is the textbook insert; batches start at one node and grow with the graph.

use super::exact::{dot_codes, dot_u8i8_one, encode_stored, quantise, QUERY_LIMIT};
use super::{Ranked, XorShift, BITS53};
use rayon::prelude::*;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Range;

/// (distance, graph id), ordered by distance then id.
type Near = Ranked<u32>;

/// Graph ids already seen by one search.
struct Visited(Vec<u64>);
impl Visited {
    fn new(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }
    /// Marks `id`; true if it was not marked before.
    fn mark(&mut self, id: u32) -> bool {
        let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }
    fn clear(&mut self) {
        self.0.fill(0);
    }
}

/// Largest batch linked at once; the batch is also at most an eighth of the graph linked so far,
/// so early nodes are linked one by one as in the textbook algorithm.
const MAX_BATCH: usize = 256;

pub struct Graph {
    dims: usize,
    /// Links kept per node on the upper layers (M); layer 0 keeps twice as many.
    m: usize,
    ef_construction: usize,
    /// Int8 codes by graph id (offset +128 into u8) and the factor each vector was scaled by.
    codes: Vec<u8>,
    scales: Vec<f32>,
    levels: Vec<u8>,
    /// Layer 0: node `i`'s slot is `links0[i * (2m + 1)..]`: a count, then up to 2m links.
    links0: Vec<u32>,
    /// Layers 1.. (about 1/M of the nodes each, fewer per layer): node → links.
    upper: Vec<HashMap<u32, Vec<u32>>>,
    entry: Option<u32>,
    rng: XorShift,
}

impl Graph {
    pub fn new(dims: usize, m: usize, ef_construction: usize) -> Self {
        Self {
            dims,
            m: m.max(2),
            ef_construction: ef_construction.max(m),
            codes: Vec::new(),
            scales: Vec::new(),
            levels: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            entry: None,
            rng: XorShift::new(0x9E37_79B9_7F4A_7C15),
        }
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn memory_bytes(&self) -> usize {
        self.codes.capacity()
            + self.scales.capacity() * 4
            + self.levels.capacity()
            + self.links0.capacity() * 4
            + self.upper.iter().map(|l| l.values().map(|v| v.capacity() * 4 + 48).sum::<usize>()).sum::<usize>()
    }

    fn slot(&self) -> usize {
        2 * self.m + 1
    }

    fn code(&self, id: u32) -> &[u8] {
        &self.codes[id as usize * self.dims..(id as usize + 1) * self.dims]
    }

    /// 1 − approximate cosine between two nodes.
    fn between(&self, a: u32, b: u32) -> f32 {
        1.0 - dot_codes(self.code(a), self.code(b)) as f32 / (self.scales[a as usize] * self.scales[b as usize])
    }

    fn links(&self, id: u32, layer: usize) -> &[u32] {
        if layer == 0 {
            let at = id as usize * self.slot();
            &self.links0[at + 1..at + 1 + self.links0[at] as usize]
        } else {
            self.upper.get(layer - 1).and_then(|l| l.get(&id)).map(Vec::as_slice).unwrap_or(&[])
        }
    }

    fn set_links(&mut self, id: u32, layer: usize, links: &[u32]) {
        if layer == 0 {
            let at = id as usize * self.slot();
            debug_assert!(links.len() < self.slot());
            self.links0[at] = links.len() as u32;
            self.links0[at + 1..at + 1 + links.len()].copy_from_slice(links);
        } else {
            self.upper[layer - 1].insert(id, links.to_vec());
        }
    }

    /// A level drawn from the geometric distribution of the HNSW paper (mL = 1/ln M).
    fn draw_level(&mut self) -> u8 {
        let u = (self.rng.next_bits53() as f64 + 1.0) / BITS53;
        ((-u.ln() / (self.m as f64).ln()) as u32).min(16) as u8
    }

    /// Appends vectors (graph ids `len()..`, in order) and links them in; returns their ids.
    pub fn add(&mut self, vectors: &[&[f32]]) -> Range<usize> {
        let first = self.len();
        for v in vectors {
            let level = self.draw_level();
            self.push(v, level);
        }
        self.link_from(first);
        first..self.len()
    }

    /// Appends one node on layers `0..=level`, not yet linked.
    fn push(&mut self, v: &[f32], level: u8) {
        debug_assert_eq!(v.len(), self.dims);
        let mut signed = Vec::with_capacity(self.dims);
        self.scales.push(encode_stored(v, &mut signed, &mut self.codes));
        self.levels.push(level);
        self.links0.extend(std::iter::repeat_n(0, self.slot()));
        if self.upper.len() < level as usize {
            self.upper.resize_with(level as usize, HashMap::new);
        }
    }

    /// Links the appended nodes `first..` in batches.
    fn link_from(&mut self, first: usize) {
        let mut next = first;
        while next < self.len() {
            let batch = (next / 8).clamp(1, MAX_BATCH).min(self.len() - next);
            self.link(next..next + batch);
            next += batch;
        }
    }

    /// Links the nodes of `batch` (appended, not yet linked) into the graph.
    fn link(&mut self, batch: Range<usize>) {
        let Some(entry) = self.entry else {
            // The very first node: nothing to link to.
            self.entry = Some(batch.start as u32);
            if batch.len() > 1 {
                self.link(batch.start + 1..batch.end);
            }
            return;
        };
        // Each new node's own links per layer, found reading only the graph before the batch.
        let chosen: Vec<Vec<Vec<u32>>> =
            batch.clone().into_par_iter().map(|x| self.choose_links(x as u32, entry, &batch)).collect();
        let mut reverse: HashMap<(usize, u32), Vec<u32>> = HashMap::new();
        for (x, layers) in batch.clone().zip(&chosen) {
            for (layer, links) in layers.iter().enumerate() {
                self.set_links(x as u32, layer, links);
                for &t in links {
                    reverse.entry((layer, t)).or_default().push(x as u32);
                }
            }
        }
        // Reverse links, each touched node trimmed back to its capacity (in parallel: each
        // task owns one node's list).
        let updated: Vec<((usize, u32), Vec<u32>)> = reverse
            .into_par_iter()
            .map(|((layer, t), sources)| {
                let mut list = self.links(t, layer).to_vec();
                for s in sources {
                    if s != t && !list.contains(&s) {
                        list.push(s);
                    }
                }
                let cap = if layer == 0 { 2 * self.m } else { self.m };
                if list.len() > cap {
                    let mut near: Vec<Near> = list.iter().map(|&n| Ranked(self.between(t, n), n)).collect();
                    near.sort_unstable();
                    list = self.select(&near, cap);
                }
                ((layer, t), list)
            })
            .collect();
        for ((layer, t), list) in updated {
            self.set_links(t, layer, &list);
        }
        let top = self.levels[entry as usize];
        if let Some(x) = batch.clone().filter(|&x| self.levels[x] > top).max_by_key(|&x| self.levels[x]) {
            self.entry = Some(x as u32);
        }
    }

    /// Node `x`'s links on each of its layers (index = layer): descent from the entry point,
    /// beam search per layer, the batch's other nodes compared directly, then the heuristic.
    fn choose_links(&self, x: u32, entry: u32, batch: &Range<usize>) -> Vec<Vec<u32>> {
        let level = self.levels[x as usize] as usize;
        let top = self.levels[entry as usize] as usize;
        let distance = |n: u32| self.between(x, n);
        let mut visited = Visited::new(batch.start);
        let mut nearest = vec![Ranked(distance(entry), entry)];
        for layer in (level + 1..=top).rev() {
            nearest = vec![self.greedy(&distance, nearest[0], layer)];
        }
        let mut out = vec![Vec::new(); level + 1];
        for layer in (0..=level).rev() {
            // Above the graph's top layer only the batch's other nodes are there to link to.
            let mut pool = if layer <= top {
                visited.clear();
                nearest = self.beam(&distance, &nearest, self.ef_construction, layer, &mut visited, &|_| false);
                nearest.clone()
            } else {
                Vec::new()
            };
            pool.extend(
                batch
                    .clone()
                    .filter(|&y| y != x as usize && self.levels[y] as usize >= layer)
                    .map(|y| Ranked(distance(y as u32), y as u32)),
            );
            pool.sort_unstable();
            out[layer] = self.select(&pool, self.m);
        }
        out
    }

    /// The HNSW neighbour heuristic: walking `near` (sorted by distance to the base node), keep a
    /// node only if it is closer to the base than to every node kept so far, up to `cap`. This
    /// spreads links across directions instead of spending them all inside one tight cluster.
    /// Slots left over go to the nearest of the skipped ones (the paper's "keep pruned
    /// connections"): more links, better recall on clustered data.
    fn select(&self, near: &[Near], cap: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(cap);
        let mut skipped: Vec<u32> = Vec::new();
        for &Ranked(d, n) in near {
            if kept.len() >= cap {
                break;
            }
            if kept.iter().all(|&k| self.between(n, k) > d) {
                kept.push(n);
            } else {
                skipped.push(n);
            }
        }
        let room = cap - kept.len();
        kept.extend(skipped.into_iter().take(room));
        kept
    }

    /// Greedy descent on one layer: move to the nearest link while it gets closer.
    fn greedy(&self, distance: &impl Fn(u32) -> f32, start: Near, layer: usize) -> Near {
        let mut best = start;
        loop {
            let mut moved = false;
            for &n in self.links(best.1, layer) {
                let d = distance(n);
                if d < best.0 {
                    best = Ranked(d, n);
                    moved = true;
                }
            }
            if !moved {
                return best;
            }
        }
    }

    /// Beam search on one layer from `starts`, keeping the `ef` nearest (sorted, nearest first)
    /// that `skip` does not name. Skipped nodes are still traversed but take no place among the
    /// `ef`: otherwise a run of removed entries (a whole topic expired) near the query would fill
    /// the beam and hide the live entries behind it.
    fn beam(
        &self,
        distance: &impl Fn(u32) -> f32,
        starts: &[Near],
        ef: usize,
        layer: usize,
        visited: &mut Visited,
        skip: &impl Fn(u32) -> bool,
    ) -> Vec<Near> {
        let ef = ef.max(1);
        let mut candidates: BinaryHeap<std::cmp::Reverse<Near>> = BinaryHeap::new();
        let mut kept: BinaryHeap<Near> = BinaryHeap::new(); // farthest kept on top
        for &s in starts {
            if visited.mark(s.1) {
                candidates.push(std::cmp::Reverse(s));
                if !skip(s.1) {
                    kept.push(s);
                }
            }
        }
        while kept.len() > ef {
            kept.pop();
        }
        while let Some(std::cmp::Reverse(Ranked(d, node))) = candidates.pop() {
            if kept.len() >= ef && d > kept.peek().map_or(f32::MAX, |f| f.0) {
                break;
            }
            for &n in self.links(node, layer) {
                if !visited.mark(n) {
                    continue;
                }
                let dn = distance(n);
                if kept.len() < ef || dn < kept.peek().map_or(f32::MAX, |f| f.0) {
                    candidates.push(std::cmp::Reverse(Ranked(dn, n)));
                    if !skip(n) {
                        kept.push(Ranked(dn, n));
                        if kept.len() > ef {
                            kept.pop();
                        }
                    }
                }
            }
        }
        kept.into_sorted_vec()
    }

    /// The `ef` nearest graph ids found for `q` with their approximate cosine similarity (best
    /// first), leaving out ids that `skip` names (they are still traversed, and do not count
    /// toward the `ef`).
    pub fn search(&self, q: &[f32], ef: usize, skip: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        let Some(entry) = self.entry else { return vec![] };
        let mut q_codes = Vec::with_capacity(self.dims);
        let q_scale = quantise(q, QUERY_LIMIT, &mut q_codes);
        let q_sum: i32 = q_codes.iter().map(|x| *x as i32).sum();
        let distance =
            |id: u32| 1.0 - dot_u8i8_one(self.code(id), &q_codes, q_sum) as f32 / (q_scale * self.scales[id as usize]);
        let mut nearest = Ranked(distance(entry), entry);
        for layer in (1..=self.levels[entry as usize] as usize).rev() {
            nearest = self.greedy(&distance, nearest, layer);
        }
        let mut visited = Visited::new(self.len());
        self.beam(&distance, &[nearest], ef, 0, &mut visited, &skip)
            .into_iter()
            .map(|Ranked(d, id)| (id, 1.0 - d))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::index::testdata::clustered;

    fn exact_top1(data: &[Vec<f32>], q: &[f32]) -> u32 {
        let score = |v: &Vec<f32>| v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>();
        (0..data.len()).max_by(|&a, &b| score(&data[a]).total_cmp(&score(&data[b]))).unwrap() as u32
    }

    #[test]
    fn batched_build_finds_the_true_nearest() {
        let data = clustered(6000, 48, 120, 0.3, 3);
        let mut g = Graph::new(48, 16, 128);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        // One bulk call (batches of up to MAX_BATCH) and some one-by-one adds afterwards.
        assert_eq!(g.add(&refs[..5000]), 0..5000);
        for (i, v) in refs[5000..].iter().enumerate() {
            assert_eq!(g.add(&[v]), 5000 + i..5001 + i);
        }
        // Every node is reachable with its own vector as the query.
        for i in (0..6000).step_by(13) {
            assert_eq!(g.search(&data[i], 32, |_| false)[0].0, i as u32, "node {i}");
        }
        let queries = clustered(300, 48, 120, 0.3, 77);
        // Queries from other centres than the data (far from it: the hard case). The true nearest
        // is among the first few by int8 score (the owner re-scores those).
        let found = queries
            .iter()
            .filter(|q| g.search(q, 128, |_| false).iter().take(5).any(|r| r.0 == exact_top1(&data, q)))
            .count();
        assert!(found >= 294, "true nearest in the top 5: {found}/300");
        check_invariants(&g);
    }

    /// On every layer: links point at other nodes of that layer (never the node itself, never an
    /// id past the end, never twice), within capacity (2M on layer 0, M above), and every node
    /// that shares the layer with another has at least one. The entry point is on the top layer.
    fn check_invariants(g: &Graph) {
        let n = g.len();
        let Some(entry) = g.entry else {
            assert_eq!(n, 0, "nodes but no entry point");
            return;
        };
        let top = g.levels[entry as usize] as usize;
        assert!(g.levels.iter().all(|&l| l as usize <= top), "the entry point is below the top layer");
        for layer in 0..=top {
            let on_layer: Vec<u32> = (0..n as u32).filter(|&i| g.levels[i as usize] as usize >= layer).collect();
            let cap = if layer == 0 { 2 * g.m } else { g.m };
            for &i in &on_layer {
                let links = g.links(i, layer);
                assert!(links.len() <= cap, "node {i} has {} links on layer {layer}", links.len());
                assert!(on_layer.len() == 1 || !links.is_empty(), "node {i} has no links on layer {layer}");
                let mut seen = std::collections::HashSet::new();
                for &t in links {
                    assert!((t as usize) < n && t != i && seen.insert(t), "node {i} links {t} on layer {layer}");
                    assert!(
                        g.levels[t as usize] as usize >= layer,
                        "node {i} links {t}, which is not on layer {layer}"
                    );
                }
            }
        }
        for (above, nodes) in g.upper.iter().enumerate() {
            assert!(
                nodes.keys().all(|&i| g.levels[i as usize] as usize > above),
                "links on a layer above a node's level"
            );
        }
    }

    #[test]
    fn an_empty_graph_then_single_inserts() {
        let data = clustered(60, 8, 6, 0.3, 2);
        let mut g = Graph::new(8, 4, 16);
        assert!(g.search(&data[0], 10, |_| false).is_empty());
        assert_eq!(g.add(&[]), 0..0);
        check_invariants(&g);
        // One node: every query finds it, at whatever distance.
        assert_eq!(g.add(&[&data[0]]), 0..1);
        check_invariants(&g);
        for q in &data {
            let got = g.search(q, 10, |_| false);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, 0);
        }
        assert!(g.search(&data[0], 10, |_| true).is_empty(), "the only node skipped");
        for (i, v) in data.iter().enumerate().skip(1) {
            assert_eq!(g.add(&[v]), i..i + 1);
            check_invariants(&g);
        }
        for (i, q) in data.iter().enumerate() {
            assert_eq!(g.search(q, 16, |_| false)[0].0, i as u32);
        }
        // An ef above the size returns every node once, best first.
        let all = g.search(&data[0], 1000, |_| false);
        let mut ids: Vec<u32> = all.iter().map(|r| r.0).collect();
        assert!(all.windows(2).all(|w| w[0].1 >= w[1].1));
        ids.sort_unstable();
        assert_eq!(ids, (0..60).collect::<Vec<u32>>());
    }

    #[test]
    fn identical_and_zero_vectors() {
        // All the same: every score ties. Nothing panics, the links keep their invariants, and
        // the search returns distinct nodes at similarity 1. (Not all of them can be reached:
        // ties go to the lower id, so trimming always drops the newest reverse link and only
        // the first couple of dozen copies keep any in-links. Exact duplicates under different
        // ids are rare in a cache; see the review notes.)
        let same = [0.25f32; 16];
        let mut g = Graph::new(16, 8, 32);
        g.add(&vec![same.as_slice(); 700]);
        check_invariants(&g);
        let got = g.search(&same, 10, |_| false);
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|(_, s)| (s - 1.0).abs() < 1e-3), "{got:?}");
        assert_eq!(got.iter().map(|r| r.0).collect::<std::collections::HashSet<_>>().len(), 10);
        // All-zero vectors quantise with scale 1 (codes all 0): scores are 0, not NaN, for them
        // and for a zero query.
        let mut data = clustered(200, 16, 10, 0.3, 4);
        for v in data.iter_mut().step_by(10) {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        let mut g = Graph::new(16, 8, 32);
        g.add(&data.iter().map(Vec::as_slice).collect::<Vec<_>>());
        check_invariants(&g);
        for q in [&data[0], &data[1], &vec![0.0; 16]] {
            let got = g.search(q, 50, |_| false);
            assert_eq!(got.len(), 50);
            assert!(got.iter().all(|(_, s)| s.is_finite()));
        }
        assert_eq!(g.search(&data[1], 10, |_| false)[0].0, 1);
    }

    #[test]
    fn a_batch_above_the_top_layer_links_its_own_nodes_there() {
        let data = clustered(4, 8, 4, 0.3, 6);
        let mut g = Graph::new(8, 4, 16);
        g.push(&data[0], 0);
        g.link_from(0);
        // Three nodes on layers 0..=2, linked as one batch while the graph is one layer high:
        // on layers 1 and 2 they have only each other.
        for v in &data[1..] {
            g.push(v, 2);
        }
        g.link(1..4);
        check_invariants(&g);
        assert_eq!(g.levels[g.entry.unwrap() as usize], 2);
        for x in 1..4u32 {
            for layer in 1..=2 {
                let mut links = g.links(x, layer).to_vec();
                links.sort_unstable();
                assert_eq!(links, (1..4).filter(|&y| y != x).collect::<Vec<u32>>(), "node {x}, layer {layer}");
            }
        }
        for (i, q) in data.iter().enumerate() {
            assert_eq!(g.search(q, 4, |_| false)[0].0, i as u32);
        }
    }

    #[test]
    fn skipped_ids_are_not_returned_but_still_traversed() {
        let data = clustered(2000, 16, 40, 0.3, 9);
        let mut g = Graph::new(16, 8, 64);
        g.add(&data.iter().map(Vec::as_slice).collect::<Vec<_>>());
        // Node 5's nearest are its own cluster (ids 5, 45, 85, …): skip the first half of the ids.
        let got = g.search(&data[5], 20, |id| id < 1000);
        assert!(!got.is_empty() && got.iter().all(|(id, _)| *id >= 1000));
        assert_eq!(got[0].0 % 40, 5, "the best unskipped node is in the query's cluster");
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
    }
}
