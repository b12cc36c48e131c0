//! Exact top-k by a dot-product scan over contiguous storage, in two passes:
//! 1. an int8 scan (a quarter of the memory traffic of f32) keeps the best few dozen candidates;
//! 2. those are rescored with the f32 vectors.
//!
//! The int8 score is off by at most a bound computed per query (see [`ExactIndex::search`]); every
//! vector whose int8 score comes within that bound of the k-th exact score is rescored too, so
//! results always equal the plain f32 scan. Kernels use AVX-512 VNNI or AVX2(+FMA) when the CPU
//! has them (checked at run time; `SIMBA_KERNELS=avx2` keeps to AVX2) and portable loops otherwise.

use super::{check_vector, IndexError, Ranked};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

pub struct ExactIndex {
    dims: usize,
    data: Vec<f32>,
    /// Per vector: `dims` int8 codes (component × scale, rounded), stored +128 as u8.
    codes: Vec<u8>,
    /// Per vector: the factor its codes were scaled by.
    scales: Vec<f32>,
    /// The largest L2 norm and rounding residual ever stored (never lowered on removal, which
    /// keeps the exactness bound safe).
    max_norm: f32,
    max_residual: f32,
    ids: Vec<u64>,
    slot_of: HashMap<u64, usize>,
}

/// Candidates the int8 pass keeps for rescoring (at least; more for a large k).
const PREFILTER_MIN: usize = 32;

/// Scales a vector into codes in ±`limit`: the largest component maps to ±limit.
pub(super) fn quantise(v: &[f32], limit: f32, out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { limit / max } else { 1.0 };
    out.extend(v.iter().map(|x| (x * scale).round().clamp(-limit, limit) as i8));
    scale
}

/// A stored vector's codes as the scan kernels read them: int8 at `STORED_LIMIT`, offset +128 into
/// u8, appended to `codes`. Returns the scale; the signed codes are left in `signed`.
pub(super) fn encode_stored(v: &[f32], signed: &mut Vec<i8>, codes: &mut Vec<u8>) -> f32 {
    signed.clear();
    let scale = quantise(v, STORED_LIMIT, signed);
    codes.extend(signed.iter().map(|c| (*c as i16 + 128) as u8));
    scale
}

/// Stored vectors use the full int8 range; queries use ±63 so that the AVX2 kernel's pairwise
/// u8×i8 sums (at most 2·255·63) never saturate 16 bits.
const STORED_LIMIT: f32 = 127.0;
pub(super) const QUERY_LIMIT: f32 = 63.0;

/// Scans with at least this many rows are split across the cores: it buys one lookup's latency
/// (a 10k scan runs in about half the time on 2 cores), at no cost in total work.
const PARALLEL_ROWS: usize = 8192;

/// For every stored vector (codes offset by +128 into u8), the integer dot product with the
/// query's codes, written to `out`.
pub fn dot_u8i8_all(codes: &[u8], dims: usize, q: &[i8], out: &mut [i32]) {
    debug_assert_eq!(q.len(), dims);
    debug_assert_eq!(codes.len(), out.len() * dims);
    let threads = rayon::current_num_threads();
    if out.len() >= PARALLEL_ROWS && threads > 1 {
        use rayon::prelude::*;
        let rows_per_task = out.len().div_ceil(threads);
        out.par_chunks_mut(rows_per_task)
            .zip(codes.par_chunks(rows_per_task * dims))
            .for_each(|(o, c)| dot_u8i8_rows(c, dims, q, o));
    } else {
        dot_u8i8_rows(codes, dims, q, out);
    }
}

/// One stored vector's codes (u8, offset +128) against the query's; `q_sum` is the sum of the
/// query codes (to undo the offset), computed once per query.
pub fn dot_u8i8_one(row: &[u8], q: &[i8], q_sum: i32) -> i32 {
    debug_assert_eq!(row.len(), q.len());
    let scalar = |r: &[u8], x: &[i8]| r.iter().zip(x).map(|(c, x)| *c as i32 * *x as i32).sum::<i32>();
    #[cfg(target_arch = "x86_64")]
    {
        if avx512_vnni() {
            // SAFETY: the CPU has AVX-512F/BW and VNNI (checked just above); equal lengths.
            return unsafe { dot_u8i8_one_vnni(row, q) } - 128 * q_sum;
        }
        if avx2_fma() {
            // Whole 32-byte blocks in AVX2, the rest (if dims is not a multiple of 32) in scalar.
            let body = row.len() / 32 * 32;
            // SAFETY: the CPU supports AVX2 (checked just above); both slices are `body` long,
            // a multiple of 32.
            let head = unsafe { dot_u8i8_one_avx2(&row[..body], &q[..body]) };
            return head + scalar(&row[body..], &q[body..]) - 128 * q_sum;
        }
    }
    scalar(row, q) - 128 * q_sum
}

/// AVX-512 VNNI: one `vpdpbusd` multiplies 64 code pairs and adds them in fours into 32-bit sums
/// (no 16-bit step to saturate); the tail is a masked load.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn dot_u8i8_one_vnni(row: &[u8], q: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = row.len().min(q.len());
    let (pc, pq) = (row.as_ptr(), q.as_ptr());
    let (mut a, mut b) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let mut i = 0;
    while i + 128 <= n {
        a = _mm512_dpbusd_epi32(
            a,
            _mm512_loadu_si512(pc.add(i) as *const _),
            _mm512_loadu_si512(pq.add(i) as *const _),
        );
        b = _mm512_dpbusd_epi32(
            b,
            _mm512_loadu_si512(pc.add(i + 64) as *const _),
            _mm512_loadu_si512(pq.add(i + 64) as *const _),
        );
        i += 128;
    }
    while i < n {
        let left = (n - i).min(64);
        let mask: __mmask64 = if left == 64 { u64::MAX } else { (1u64 << left) - 1 };
        let x = _mm512_maskz_loadu_epi8(mask, pc.add(i) as *const i8);
        let y = _mm512_maskz_loadu_epi8(mask, pq.add(i));
        a = _mm512_dpbusd_epi32(a, x, y);
        i += left;
    }
    _mm512_reduce_add_epi32(_mm512_add_epi32(a, b))
}

/// The VNNI kernel over every row in one function: no per-row dispatch or call.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dot_u8i8_rows_vnni(codes: &[u8], dims: usize, q: &[i8], out: &mut [i32]) {
    for (row, o) in codes.chunks_exact(dims).zip(out.iter_mut()) {
        *o = dot_u8i8_one_vnni(row, q);
    }
}

#[cfg(target_arch = "x86_64")]
fn avx512_vnni() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    // The encoder's choice (`SIMBA_KERNELS` read in one place) decides whether AVX-512 is used.
    *HAS.get_or_init(|| {
        crate::engine::embed::kernels::Isa::best() == crate::engine::embed::kernels::Isa::Avx512
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_u8i8_one_avx2(row: &[u8], q: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let (pc, pq) = (row.as_ptr(), q.as_ptr());
    let (mut a, mut b) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    while i + 64 <= row.len() {
        let x = _mm256_maddubs_epi16(
            _mm256_loadu_si256(pc.add(i) as *const __m256i),
            _mm256_loadu_si256(pq.add(i) as *const __m256i),
        );
        let y = _mm256_maddubs_epi16(
            _mm256_loadu_si256(pc.add(i + 32) as *const __m256i),
            _mm256_loadu_si256(pq.add(i + 32) as *const __m256i),
        );
        a = _mm256_add_epi32(a, _mm256_madd_epi16(x, ones));
        b = _mm256_add_epi32(b, _mm256_madd_epi16(y, ones));
        i += 64;
    }
    if i < row.len() {
        let x = _mm256_maddubs_epi16(
            _mm256_loadu_si256(pc.add(i) as *const __m256i),
            _mm256_loadu_si256(pq.add(i) as *const __m256i),
        );
        a = _mm256_add_epi32(a, _mm256_madd_epi16(x, ones));
    }
    let s = _mm256_add_epi32(a, b);
    let h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
    let h = _mm_add_epi32(h, _mm_shuffle_epi32::<0b01_00_11_10>(h));
    let h = _mm_add_epi32(h, _mm_shuffle_epi32::<0b10_11_00_01>(h));
    _mm_cvtsi128_si32(h)
}

/// Two stored vectors' codes (both u8, offset +128) against each other, for building the graph.
/// Both sides use the full int8 range, too wide for the u8×i8 kernel, so this one widens to 16
/// bits first.
pub fn dot_codes(a: &[u8], b: &[u8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    let scalar = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| (*x as i32 - 128) * (*y as i32 - 128)).sum::<i32>();
    #[cfg(target_arch = "x86_64")]
    {
        if avx2_fma() {
            let body = a.len() / 16 * 16;
            // SAFETY: the CPU supports AVX2 (checked just above); both slices are `body` long,
            // a multiple of 16.
            let head = unsafe { dot_codes_avx2(&a[..body], &b[..body]) };
            return head + scalar(&a[body..], &b[body..]);
        }
    }
    scalar(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_codes_avx2(a: &[u8], b: &[u8]) -> i32 {
    use std::arch::x86_64::*;
    let offset = _mm256_set1_epi16(128);
    let mut sum = _mm256_setzero_si256();
    let mut i = 0;
    while i < a.len() {
        let x = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(a.as_ptr().add(i) as *const __m128i)), offset);
        let y = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(b.as_ptr().add(i) as *const __m128i)), offset);
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(x, y));
        i += 16;
    }
    let h = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256::<1>(sum));
    let h = _mm_add_epi32(h, _mm_shuffle_epi32::<0b01_00_11_10>(h));
    let h = _mm_add_epi32(h, _mm_shuffle_epi32::<0b10_11_00_01>(h));
    _mm_cvtsi128_si32(h)
}

/// One row at a time: the scan is bound by memory bandwidth (measured: blocking four rows together
/// was slower, 221 µs against 180 µs for 10k rows).
fn dot_u8i8_rows(codes: &[u8], dims: usize, q: &[i8], out: &mut [i32]) {
    let q_sum: i32 = q.iter().map(|x| *x as i32).sum();
    #[cfg(target_arch = "x86_64")]
    if avx512_vnni() {
        // SAFETY: the CPU has AVX-512F/BW and VNNI (checked); `codes` holds `out.len()` rows.
        unsafe { dot_u8i8_rows_vnni(codes, dims, q, out) };
        out.iter_mut().for_each(|o| *o -= 128 * q_sum);
        return;
    }
    for (row, o) in codes.chunks_exact(dims).zip(out.iter_mut()) {
        *o = dot_u8i8_one(row, q, q_sum);
    }
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

/// Top-k heap entry: reversed, so the heap's top is the worst score kept.
type Kept = Reverse<Ranked<u64>>;

impl ExactIndex {
    pub fn new(dims: usize) -> Self {
        Self {
            dims,
            data: Vec::new(),
            codes: Vec::new(),
            scales: Vec::new(),
            max_norm: 0.0,
            max_residual: 0.0,
            ids: Vec::new(),
            slot_of: HashMap::new(),
        }
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
        self.data.capacity() * 4
            + self.codes.capacity()
            + self.scales.capacity() * 4
            + self.ids.capacity() * 8
            + self.slot_of.capacity() * 24
    }

    pub fn insert(&mut self, id: u64, v: &[f32]) -> Result<(), IndexError> {
        check_vector(v, self.dims)?;
        let (mut signed, mut codes) = (Vec::with_capacity(self.dims), Vec::with_capacity(self.dims));
        let scale = encode_stored(v, &mut signed, &mut codes);
        let residual = v.iter().zip(&signed).map(|(x, c)| (x - *c as f32 / scale).powi(2)).sum::<f32>().sqrt();
        // A hair of slack for the f32 rounding in these sums.
        self.max_norm = self.max_norm.max(dot(v, v).sqrt() * 1.001);
        self.max_residual = self.max_residual.max(residual * 1.01 + 1e-6);
        match self.slot_of.get(&id) {
            Some(&slot) => {
                let d = self.dims;
                self.data[slot * d..(slot + 1) * d].copy_from_slice(v);
                self.codes[slot * d..(slot + 1) * d].copy_from_slice(&codes);
                self.scales[slot] = scale;
            }
            None => {
                self.slot_of.insert(id, self.ids.len());
                self.ids.push(id);
                self.data.extend_from_slice(v);
                self.codes.extend_from_slice(&codes);
                self.scales.push(scale);
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
            self.codes.copy_within(src..src + d, slot * d);
            self.scales[slot] = self.scales[last];
        }
        self.ids.pop();
        self.data.truncate(last * self.dims);
        self.codes.truncate(last * self.dims);
        self.scales.pop();
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
        if k == 0 || self.ids.is_empty() {
            return Ok(vec![]);
        }
        let keep = (k * 4).max(PREFILTER_MIN);
        if self.ids.len() <= keep * 2 {
            return Ok(self.scan_f32(q, k));
        }
        let d = self.dims;
        // Pass 1: int8 codes against the query's own (7-bit) codes.
        let mut q_codes = Vec::with_capacity(d);
        let q_scale = quantise(q, QUERY_LIMIT, &mut q_codes);
        let mut dots = vec![0i32; self.ids.len()];
        dot_u8i8_all(&self.codes, d, &q_codes, &mut dots);
        let approx: Vec<f32> = dots.iter().zip(&self.scales).map(|(x, scale)| *x as f32 / (q_scale * scale)).collect();
        let mut best: BinaryHeap<Kept> = BinaryHeap::with_capacity(keep + 1);
        for (slot, &s) in approx.iter().enumerate() {
            if best.len() < keep {
                best.push(Reverse(Ranked(s, slot as u64)));
            } else if s > best.peek().map(|w| w.0 .0).unwrap_or(f32::MIN) {
                best.pop();
                best.push(Reverse(Ranked(s, slot as u64)));
            }
        }
        // Pass 2: exact scores of the kept candidates.
        let exact_at = |slot: usize| (slot, dot(q, &self.data[slot * d..(slot + 1) * d]));
        let mut rescored: Vec<(usize, f32)> =
            best.into_iter().map(|Reverse(Ranked(_, slot))| exact_at(slot as usize)).collect();
        rescored.sort_by(|a, b| b.1.total_cmp(&a.1));
        // Exactness. By Cauchy–Schwarz the int8 score of v differs from q·v by at most
        // ‖q‖·r_v + r_q·‖v̂‖, where r are the rounding residuals (‖v − v̂‖) measured at insert and
        // for the query here. Any vector whose int8 score is within that of our k-th exact score
        // could still belong in the top k: rescore those too (usually none).
        let q_norm = dot(q, q).sqrt();
        let q_residual = q.iter().zip(&q_codes).map(|(x, c)| (x - *c as f32 / q_scale).powi(2)).sum::<f32>().sqrt();
        let bound = q_norm * self.max_residual + q_residual * (self.max_norm + self.max_residual) + 1e-5;
        let kth = rescored.get(k - 1).map(|x| x.1).unwrap_or(f32::MIN);
        let mut seen = vec![false; self.ids.len()];
        rescored.iter().for_each(|(slot, _)| seen[*slot] = true);
        for (slot, &a) in approx.iter().enumerate() {
            if a + bound >= kth && !seen[slot] {
                rescored.push(exact_at(slot));
            }
        }
        let mut out: Vec<(u64, f32)> = rescored.into_iter().map(|(slot, s)| (self.ids[slot], s)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        Ok(out)
    }

    /// Plain f32 scan: the reference result.
    fn scan_f32(&self, q: &[f32], k: usize) -> Vec<(u64, f32)> {
        let mut heap: BinaryHeap<Kept> = BinaryHeap::with_capacity(k + 1);
        for (slot, v) in self.data.chunks_exact(self.dims).enumerate() {
            let s = dot(q, v);
            if heap.len() < k {
                heap.push(Reverse(Ranked(s, self.ids[slot])));
            } else if s > heap.peek().map(|w| w.0 .0).unwrap_or(f32::MIN) {
                heap.pop();
                heap.push(Reverse(Ranked(s, self.ids[slot])));
            }
        }
        let mut out: Vec<(u64, f32)> = heap.into_iter().map(|Reverse(Ranked(s, id))| (id, s)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
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
    fn two_pass_search_equals_the_plain_f32_scan() {
        // Dense clusters (many near-ties) and a sparse spread; normalised and unnormalised data.
        for (noise, normalise) in [(0.05, true), (0.6, true), (0.3, false)] {
            let mut data = clustered(5000, 384, 20, noise, 11);
            if !normalise {
                for (i, v) in data.iter_mut().enumerate() {
                    v.iter_mut().for_each(|x| *x *= 1.0 + (i % 7) as f32);
                }
            }
            let mut idx = ExactIndex::new(384);
            for (i, v) in data.iter().enumerate() {
                idx.insert(i as u64, v).unwrap();
            }
            for probe in clustered(50, 384, 20, noise, 99).iter() {
                for k in [1, 5, 40] {
                    let got: Vec<u64> = idx.search(probe, k).unwrap().iter().map(|x| x.0).collect();
                    let want: Vec<u64> = idx.scan_f32(probe, k).iter().map(|x| x.0).collect();
                    assert_eq!(got, want, "noise {noise} k {k}");
                }
            }
        }
    }

    #[test]
    fn int8_kernel_agrees_with_scalar() {
        // Several row counts and widths, and one past the parallel split.
        for (dims, rows) in [(1, 5), (31, 7), (32, 4), (389, 5), (384, PARALLEL_ROWS + 3)] {
            let signed: Vec<Vec<i8>> = (0..rows)
                .map(|r| (0..dims).map(|i| (((i + r) * 37) % 255) as i32 - 127).map(|x| x as i8).collect())
                .collect();
            let codes: Vec<u8> = signed.iter().flatten().map(|c| (*c as i16 + 128) as u8).collect();
            let q: Vec<i8> = (0..dims).map(|i| ((i * 53) % 127) as i32 - 63).map(|x| x as i8).collect();
            let mut got = vec![0; rows];
            dot_u8i8_all(&codes, dims, &q, &mut got);
            let q_sum: i32 = q.iter().map(|x| *x as i32).sum();
            for (r, g) in got.iter().enumerate().take(9) {
                assert_eq!(dot_u8i8_one(&codes[r * dims..(r + 1) * dims], &q, q_sum), *g, "one row, dims {dims}");
            }
            for (row, g) in signed.iter().zip(&got) {
                assert_eq!(*g, row.iter().zip(&q).map(|(a, b)| *a as i32 * *b as i32).sum::<i32>(), "dims {dims}");
            }
            // Stored against stored (full range on both sides, including -128 after rounding).
            for r in 1..rows.min(6) {
                let (a, b) = (&codes[..dims], &codes[r * dims..(r + 1) * dims]);
                let want: i32 = signed[0].iter().zip(&signed[r]).map(|(x, y)| *x as i32 * *y as i32).sum();
                assert_eq!(dot_codes(a, b), want, "codes, dims {dims}");
            }
        }
        #[cfg(target_arch = "x86_64")]
        if avx512_vnni() {
            // The VNNI kernel beside the AVX2 one, when the default path is VNNI.
            for dims in [1usize, 63, 64, 65, 127, 128, 384, 389] {
                let row: Vec<u8> = (0..dims).map(|i| ((i * 91) % 256) as u8).collect();
                let q: Vec<i8> = (0..dims).map(|i| ((i * 53) % 127) as i32 - 63).map(|x| x as i8).collect();
                let want: i32 = row.iter().zip(&q).map(|(c, x)| *c as i32 * *x as i32).sum();
                assert_eq!(unsafe { dot_u8i8_one_vnni(&row, &q) }, want, "vnni, dims {dims}");
                let body = dims / 32 * 32;
                let tail: i32 = row[body..].iter().zip(&q[body..]).map(|(c, x)| *c as i32 * *x as i32).sum();
                assert_eq!(unsafe { dot_u8i8_one_avx2(&row[..body], &q[..body]) } + tail, want, "avx2, dims {dims}");
            }
        }
        let extremes = [0u8, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255];
        assert_eq!(dot_codes(&extremes, &extremes), 8 * 128 * 128 + 8 * 127 * 127);
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
