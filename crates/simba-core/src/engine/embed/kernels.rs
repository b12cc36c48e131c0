//! CPU kernels of the MiniLM encoder (embedder and judge), chosen at run time for the machine's
//! widest instructions: AVX-512F, AVX2 with FMA, or portable code. One binary serves every x86-64
//! CPU; nothing depends on the target features it was built with.
//!
//! Why not a general matrix library: the encoder's matrices are small (a question is ~15 word
//! pieces) and its weights never change. candle/gemm packed the weight matrix again on every
//! product (`perf`: 37% of an embedding in packing, 30% in the multiply); here each weight matrix
//! is packed once, at load, into panels the multiply streams through, and the tokens of every text
//! of a batch are multiplied together without padding.
//!
//! The vector paths keep the packed weights as IEEE half floats and widen them in registers
//! (`vcvtph2ps`): a question's products read each weight only a few times, so they wait on memory
//! more than on arithmetic, and half the bytes is half the wait. Sums stay in f32; the rounding
//! (2^-11 relative, per weight) keeps the vectors within cosine 0.9999 of sentence-transformers,
//! which the agreement test checks on every path.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The instruction set the kernels run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
    Portable,
}

impl Isa {
    /// The widest this CPU has; `SIMBA_KERNELS=avx2|portable` asks for a narrower one (to measure
    /// or test the fallbacks on a machine that has more).
    pub fn best() -> Isa {
        static BEST: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            let asked = std::env::var("SIMBA_KERNELS").ok().and_then(|v| Isa::from_name(&v));
            let have = Isa::available();
            match asked {
                Some(a) if have.contains(&a) => a,
                _ => have[0],
            }
        })
    }

    /// Every instruction set this CPU can run, widest first (portable code always).
    pub fn available() -> Vec<Isa> {
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                out.push(Isa::Avx512);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
                out.push(Isa::Avx2);
            }
        }
        out.push(Isa::Portable);
        out
    }

    pub fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "avx512" | "avx-512" => Some(Isa::Avx512),
            "avx2" => Some(Isa::Avx2),
            "portable" | "scalar" => Some(Isa::Portable),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }

    /// Rows of the input multiplied together against one panel, 2 accumulator registers a row:
    /// 12 rows fill 24 of AVX-512's 32 registers, 6 rows 12 of AVX2's 16, leaving room for the
    /// weights and the broadcast. More rows a panel load, fewer loads and widenings per multiply.
    fn tile_rows(self) -> usize {
        match self {
            Isa::Avx512 => 12,
            Isa::Avx2 | Isa::Portable => 6,
        }
    }

    /// Output columns per panel: two vector registers' worth.
    fn panel_width(self) -> usize {
        match self {
            Isa::Avx512 => 32,
            Isa::Avx2 => 16,
            Isa::Portable => 8,
        }
    }
}

/// How a linear layer rounds what it multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 inputs; weights as half floats on the vector paths.
    Full,
    /// Inputs and weights as bfloat16, sums in f32, where the CPU multiplies bfloat16 pairs in
    /// one instruction (AVX512_BF16: twice the products of an f32 multiply-add); `Full`
    /// elsewhere. Both models use it: the judge's scores move by about 0.01 in logit, the
    /// embedder's vectors stay within cosine 0.9999 of sentence-transformers (worst 0.99997),
    /// and decisions on the labelled sets were unchanged (docs/NOTES.md, sessions 16 and 17).
    Bf16,
}

fn has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Below this many multiply-adds a product runs on the calling thread: waking the other core
/// costs more than it saves. A question's products (15 rows: 6-9M) measured faster on one core
/// (2.4 ms against 2.9 ms p50 on the Xeon): they wait on memory, which a second core shares.
const PARALLEL_MIN_MACS: usize = 1 << 24;

/// `y = x · Wᵀ + b` for a fixed weight matrix W (outputs × inputs, row-major, as PyTorch stores a
/// linear layer), packed at construction.
pub struct Linear {
    isa: Isa,
    inputs: usize,
    outputs: usize,
    /// Panels of `panel_width` output columns: `[panel][input][column]`, the last one padded with 0.
    panels: Panels,
    /// The bias padded to whole panels.
    bias: Vec<f32>,
}

impl Linear {
    pub fn new(
        isa: Isa,
        precision: Precision,
        weight: &[f32],
        bias: &[f32],
        outputs: usize,
        inputs: usize,
    ) -> Result<Self, String> {
        if !Isa::available().contains(&isa) {
            return Err(format!("this CPU cannot run the {} kernels", isa.name()));
        }
        if weight.len() != outputs * inputs || bias.len() != outputs {
            return Err(format!(
                "a linear layer of {outputs} × {inputs} needs that many weights and {outputs} biases, not {} and {}",
                weight.len(),
                bias.len()
            ));
        }
        let nr = isa.panel_width();
        let count = outputs.div_ceil(nr);
        let mut packed = vec![0f32; count * inputs * nr];
        for (o, row) in weight.chunks_exact(inputs).enumerate() {
            let (p, c) = (o / nr, o % nr);
            let base = p * inputs * nr;
            for (i, &w) in row.iter().enumerate() {
                packed[base + i * nr + c] = w;
            }
        }
        let panels = match isa {
            Isa::Portable => Panels::F32(packed),
            Isa::Avx512 if precision == Precision::Bf16 && has_bf16() => {
                Panels::Bf16(pack_bf16_pairs(&packed, inputs, nr))
            }
            Isa::Avx512 | Isa::Avx2 => Panels::F16(packed.iter().map(|&w| half::f16::from_f32(w).to_bits()).collect()),
        };
        let mut padded = bias.to_vec();
        padded.resize(count * nr, 0.0);
        Ok(Self { isa, inputs, outputs, panels, bias: padded })
    }

    /// The address of panel `p`'s first value, for the tile of the panels' kind.
    fn panel(&self, p: usize) -> *const u8 {
        let nr = self.isa.panel_width();
        match &self.panels {
            Panels::F32(v) => v[p * self.inputs * nr..].as_ptr() as *const u8,
            Panels::F16(v) => v[p * self.inputs * nr..].as_ptr() as *const u8,
            Panels::Bf16(v) => v[p * self.inputs.div_ceil(2) * 2 * nr..].as_ptr() as *const u8,
        }
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `x` is `rows × inputs`; the result is `rows × outputs`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.inputs, "input of a linear layer has the wrong size");
        let mut out = vec![0f32; rows * self.outputs];
        let (nr, tile_rows) = (self.isa.panel_width(), self.isa.tile_rows());
        let panels = self.outputs.div_ceil(nr);
        let out_ptr = SendPtr(out.as_mut_ptr());
        // The bfloat16 kernel reads the inputs as bfloat16 pairs, rows padded to whole pairs.
        let pairs = self.inputs.div_ceil(2);
        let x_bf16 = matches!(self.panels, Panels::Bf16(_)).then(|| to_bf16_rows(x, rows, self.inputs));
        let (x_at, x_stride) = match &x_bf16 {
            Some(b) => (b.as_ptr() as *const u8, pairs * 4),
            None => (x.as_ptr() as *const u8, self.inputs * 4),
        };
        let x_at = SendPtr(x_at as *mut f32);
        let kind = match self.panels {
            Panels::Bf16(_) => Kind::Bf16Pairs,
            _ => Kind::Isa(self.isa),
        };
        // Work items: a run of rows × a run of panels; items write disjoint parts of `out`.
        let run = |rows_from: usize, rows_to: usize, panel_from: usize, panel_to: usize| {
            for p in panel_from..panel_to {
                let cols = nr.min(self.outputs - p * nr);
                let panel = self.panel(p);
                let bias = &self.bias[p * nr..(p + 1) * nr];
                let mut r = rows_from;
                while r < rows_to {
                    let n = tile_rows.min(rows_to - r);
                    // SAFETY: rows r..r+n and columns p*nr..p*nr+cols are inside `out` and
                    // written by this item only; `x` holds rows × inputs values.
                    unsafe {
                        tile(
                            kind,
                            n,
                            (x_at.get() as *const u8).add(r * x_stride),
                            self.inputs,
                            panel,
                            bias.as_ptr(),
                            out_ptr.get().add(r * self.outputs + p * nr),
                            self.outputs,
                            cols,
                        )
                    };
                    r += n;
                }
            }
        };
        let macs = rows * self.inputs * self.outputs;
        let threads = rayon::current_num_threads();
        if macs < PARALLEL_MIN_MACS || threads < 2 {
            run(0, rows, 0, panels);
            return out;
        }
        use rayon::prelude::*;
        if rows >= tile_rows * 4 * threads {
            // Many tokens (a batch): split by rows, every item through every panel.
            let chunk = rows.div_ceil(threads * 4).next_multiple_of(tile_rows);
            (0..rows.div_ceil(chunk))
                .into_par_iter()
                .for_each(|c| run(c * chunk, rows.min((c + 1) * chunk), 0, panels));
        } else {
            // A few tokens (one question): split the output columns.
            let chunk = panels.div_ceil(threads * 2);
            (0..panels.div_ceil(chunk))
                .into_par_iter()
                .for_each(|c| run(0, rows, c * chunk, panels.min((c + 1) * chunk)));
        }
        out
    }
}

enum Panels {
    F32(Vec<f32>),
    /// IEEE half floats, as bits.
    F16(Vec<u16>),
    /// bfloat16, as bits: `[panel][input pair][column][2]`.
    Bf16(Vec<u16>),
}

/// f32 panels `[panel][input][column]` as bfloat16 pairs `[panel][input pair][column][2]` (an odd
/// last input paired with 0), the order `vdpbf16ps` multiplies in.
fn pack_bf16_pairs(packed: &[f32], inputs: usize, nr: usize) -> Vec<u16> {
    let pairs = inputs.div_ceil(2);
    let panels = packed.len() / (inputs * nr);
    let mut out = vec![0u16; panels * pairs * nr * 2];
    for p in 0..panels {
        for i in 0..inputs {
            for c in 0..nr {
                let w = packed[(p * inputs + i) * nr + c];
                out[((p * pairs + i / 2) * nr + c) * 2 + i % 2] = half::bf16::from_f32(w).to_bits();
            }
        }
    }
    out
}

/// Rows of f32 as bfloat16 (rounded to nearest even), each padded to whole pairs.
fn to_bf16_rows(x: &[f32], rows: usize, inputs: usize) -> Vec<u16> {
    let width = inputs.div_ceil(2) * 2;
    let mut out = vec![0u16; rows * width];
    for (src, dst) in x.chunks_exact(inputs).zip(out.chunks_exact_mut(width)) {
        #[cfg(target_arch = "x86_64")]
        if has_bf16() {
            // SAFETY: the CPU has AVX512_BF16 (checked); both slices hold `inputs` values.
            unsafe { to_bf16_avx512(src, &mut dst[..inputs]) };
            continue;
        }
        for (d, s) in dst.iter_mut().zip(src) {
            *d = half::bf16::from_f32(*s).to_bits();
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn to_bf16_avx512(src: &[f32], dst: &mut [u16]) {
    let mut i = 0;
    while i + 16 <= src.len() {
        let b: __m256bh = _mm512_cvtneps_pbh(_mm512_loadu_ps(src.as_ptr().add(i)));
        _mm256_storeu_si256(dst.as_mut_ptr().add(i) as *mut __m256i, std::mem::transmute::<__m256bh, __m256i>(b));
        i += 16;
    }
    for (d, s) in dst[i..].iter_mut().zip(&src[i..]) {
        *d = half::bf16::from_f32(*s).to_bits();
    }
}

/// Which tile kernel a product runs.
#[derive(Clone, Copy)]
enum Kind {
    Isa(Isa),
    Bf16Pairs,
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: the items that share it write disjoint parts of one buffer that outlives them.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// One tile: `rows` (≤ the ISA's `tile_rows`) rows of x against one panel, written to `cols` columns of out.
///
/// SAFETY: x has `rows` rows of `k` values; the panel is `k × panel_width` values (f16 for the
/// vector paths, f32 for the portable one);
/// bias is `panel_width` values; out has `rows` rows `ldo` apart with `cols` writable values each.
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    kind: Kind,
    rows: usize,
    x: *const u8,
    k: usize,
    panel: *const u8,
    bias: *const f32,
    out: *mut f32,
    ldo: usize,
    cols: usize,
) {
    macro_rules! by_rows {
        ($f:ident, $x:expr, $panel:expr) => {{
            let (x, panel) = ($x, $panel);
            match rows {
                12 => $f::<12>(x, k, panel, bias, out, ldo, cols),
                11 => $f::<11>(x, k, panel, bias, out, ldo, cols),
                10 => $f::<10>(x, k, panel, bias, out, ldo, cols),
                9 => $f::<9>(x, k, panel, bias, out, ldo, cols),
                8 => $f::<8>(x, k, panel, bias, out, ldo, cols),
                7 => $f::<7>(x, k, panel, bias, out, ldo, cols),
                6 => $f::<6>(x, k, panel, bias, out, ldo, cols),
                5 => $f::<5>(x, k, panel, bias, out, ldo, cols),
                4 => $f::<4>(x, k, panel, bias, out, ldo, cols),
                3 => $f::<3>(x, k, panel, bias, out, ldo, cols),
                2 => $f::<2>(x, k, panel, bias, out, ldo, cols),
                _ => $f::<1>(x, k, panel, bias, out, ldo, cols),
            }
        }};
    }
    match kind {
        #[cfg(target_arch = "x86_64")]
        Kind::Bf16Pairs => by_rows!(tile_bf16, x as *const u32, panel as *const u32),
        #[cfg(target_arch = "x86_64")]
        Kind::Isa(Isa::Avx512) => by_rows!(tile_avx512, x as *const f32, panel as *const u16),
        #[cfg(target_arch = "x86_64")]
        Kind::Isa(Isa::Avx2) => by_rows!(tile_avx2, x as *const f32, panel as *const u16),
        _ => by_rows!(tile_portable, x as *const f32, panel as *const f32),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512<const R: usize>(
    x: *const f32,
    k: usize,
    panel: *const u16,
    bias: *const f32,
    out: *mut f32,
    ldo: usize,
    cols: usize,
) {
    const W: usize = 16;
    let mut acc = [[_mm512_loadu_ps(bias), _mm512_loadu_ps(bias.add(W))]; R];
    for i in 0..k {
        let w0 = _mm512_cvtph_ps(_mm256_loadu_si256(panel.add(i * 2 * W) as *const __m256i));
        let w1 = _mm512_cvtph_ps(_mm256_loadu_si256(panel.add(i * 2 * W + W) as *const __m256i));
        for (r, a) in acc.iter_mut().enumerate() {
            let v = _mm512_set1_ps(*x.add(r * k + i));
            a[0] = _mm512_fmadd_ps(v, w0, a[0]);
            a[1] = _mm512_fmadd_ps(v, w1, a[1]);
        }
    }
    store_tile_avx512(&acc, out, ldo, cols);
}

/// The bfloat16 tile: `x` is rows of `k / 2` input pairs, the panel `[pair][32 columns][2]`; one
/// `vdpbf16ps` adds two products per column.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn tile_bf16<const R: usize>(
    x: *const u32,
    k: usize,
    panel: *const u32,
    bias: *const f32,
    out: *mut f32,
    ldo: usize,
    cols: usize,
) {
    const W: usize = 16;
    let pairs = k.div_ceil(2);
    let mut acc = [[_mm512_loadu_ps(bias), _mm512_loadu_ps(bias.add(W))]; R];
    for t in 0..pairs {
        let w0: __m512bh = std::mem::transmute(_mm512_loadu_si512(panel.add(t * 2 * W) as *const _));
        let w1: __m512bh = std::mem::transmute(_mm512_loadu_si512(panel.add(t * 2 * W + W) as *const _));
        for (r, a) in acc.iter_mut().enumerate() {
            let v: __m512bh = std::mem::transmute(_mm512_set1_epi32(*x.add(r * pairs + t) as i32));
            a[0] = _mm512_dpbf16_ps(a[0], v, w0);
            a[1] = _mm512_dpbf16_ps(a[1], v, w1);
        }
    }
    store_tile_avx512(&acc, out, ldo, cols);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn store_tile_avx512<const R: usize>(acc: &[[__m512; 2]; R], out: *mut f32, ldo: usize, cols: usize) {
    const W: usize = 16;
    for (r, a) in acc.iter().enumerate() {
        let dst = out.add(r * ldo);
        if cols == 2 * W {
            _mm512_storeu_ps(dst, a[0]);
            _mm512_storeu_ps(dst.add(W), a[1]);
        } else {
            let mut tmp = [0f32; 2 * W];
            _mm512_storeu_ps(tmp.as_mut_ptr(), a[0]);
            _mm512_storeu_ps(tmp.as_mut_ptr().add(W), a[1]);
            std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, cols);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_avx2<const R: usize>(
    x: *const f32,
    k: usize,
    panel: *const u16,
    bias: *const f32,
    out: *mut f32,
    ldo: usize,
    cols: usize,
) {
    const W: usize = 8;
    let mut acc = [[_mm256_loadu_ps(bias), _mm256_loadu_ps(bias.add(W))]; R];
    for i in 0..k {
        let w0 = _mm256_cvtph_ps(_mm_loadu_si128(panel.add(i * 2 * W) as *const __m128i));
        let w1 = _mm256_cvtph_ps(_mm_loadu_si128(panel.add(i * 2 * W + W) as *const __m128i));
        for (r, a) in acc.iter_mut().enumerate() {
            let v = _mm256_set1_ps(*x.add(r * k + i));
            a[0] = _mm256_fmadd_ps(v, w0, a[0]);
            a[1] = _mm256_fmadd_ps(v, w1, a[1]);
        }
    }
    for (r, a) in acc.iter().enumerate() {
        let dst = out.add(r * ldo);
        if cols == 2 * W {
            _mm256_storeu_ps(dst, a[0]);
            _mm256_storeu_ps(dst.add(W), a[1]);
        } else {
            let mut tmp = [0f32; 2 * W];
            _mm256_storeu_ps(tmp.as_mut_ptr(), a[0]);
            _mm256_storeu_ps(tmp.as_mut_ptr().add(W), a[1]);
            std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, cols);
        }
    }
}

unsafe fn tile_portable<const R: usize>(
    x: *const f32,
    k: usize,
    panel: *const f32,
    bias: *const f32,
    out: *mut f32,
    ldo: usize,
    cols: usize,
) {
    const NR: usize = 8;
    let mut acc = [[0f32; NR]; R];
    for a in acc.iter_mut() {
        a.copy_from_slice(std::slice::from_raw_parts(bias, NR));
    }
    for i in 0..k {
        let w = std::slice::from_raw_parts(panel.add(i * NR), NR);
        for (r, a) in acc.iter_mut().enumerate() {
            let v = *x.add(r * k + i);
            for (a, &w) in a.iter_mut().zip(w) {
                *a += v * w;
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        std::ptr::copy_nonoverlapping(a.as_ptr(), out.add(r * ldo), cols);
    }
}

/// Defines `pub fn NAME(args)` whose body is compiled three times, for AVX-512, for AVX2 with FMA
/// and for the baseline, and runs the one [`Isa::best`] picks. The passes between the products
/// (layer norm, GELU, attention) are plain loops the compiler vectorises: built for the baseline
/// alone they ran 4 lanes wide and were a fifth of the judge's time (`perf`).
macro_rules! widest {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c")]
                unsafe fn avx512($($arg: $ty),*) { body($($arg),*) }
                #[target_feature(enable = "avx2,fma,f16c")]
                unsafe fn avx2($($arg: $ty),*) { body($($arg),*) }
                match Isa::best() {
                    // SAFETY: `Isa::best` is always one this CPU runs.
                    Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    Isa::Portable => {}
                }
            }
            body($($arg),*)
        }
    };
}

/// Lanes of the sums below: independent accumulators, so a sum vectorises (a single running f32
/// sum must be added in order, one value at a time).
const LANES: usize = 16;

#[inline(always)]
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += f(v);
    }
    acc.iter().sum()
}

widest! {
    /// Layer normalisation of each `gamma.len()`-wide row of `x`, in place, after adding `residual`
    /// (same shape) when given: BERT's `LayerNorm(x + residual)`.
    fn add_layer_norm(x: &mut [f32], residual: Option<&[f32]>, gamma: &[f32], beta: &[f32], eps: f32) {
        let width = gamma.len();
        if let Some(res) = residual {
            for (a, b) in x.iter_mut().zip(res) {
                *a += b;
            }
        }
        for row in x.chunks_exact_mut(width) {
            let mean = lane_sum(row, |v| v) / width as f32;
            let var = lane_sum(row, |v| (v - mean) * (v - mean)) / width as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

widest! {
    /// GELU with the exact (erf) form BERT was trained with, in place.
    fn gelu(x: &mut [f32]) {
        for v in x {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

/// Softmax of a row, in place (inlined into `attend`, compiled as it is).
#[inline(always)]
fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v = exp_neg(max - *v);
    }
    let inv = 1.0 / lane_sum(row, |v| v);
    for v in row.iter_mut() {
        *v *= inv;
    }
}

widest! {
    /// Self-attention of one text over its own tokens, every head: `qkv` holds the text's `len`
    /// rows of (query, key, value), each `3 × hidden` wide, queries already scaled by 1/√head
    /// size; `out` (len × hidden, zeroed) receives the attended values. `scratch` is reused.
    fn attend(qkv: &[f32], len: usize, heads: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
        let hidden = out.len() / len;
        let head_size = hidden / heads;
        // A short text's keys are padded to SHORT_TEXT tokens, so its scores are a fixed-size
        // sum the compiler keeps in registers.
        let stride = if len <= SHORT_TEXT { SHORT_TEXT } else { len };
        scratch.clear();
        scratch.resize(len + head_size * stride, 0.0);
        let (scores, keys_t) = scratch.split_at_mut(len);
        let at = |token: usize, part: usize, head: usize| {
            let base = token * 3 * hidden + part * hidden + head * head_size;
            &qkv[base..base + head_size]
        };
        for head in 0..heads {
            // The head's keys transposed (dimension × token), so a query's scores are sums of
            // whole rows, vectorised across tokens rather than one short dot product each.
            for j in 0..len {
                for (d, &k) in at(j, 1, head).iter().enumerate() {
                    keys_t[d * stride + j] = k;
                }
            }
            for i in 0..len {
                let rows = at(i, 0, head).iter().zip(keys_t.chunks_exact(stride));
                if stride == SHORT_TEXT {
                    let mut acc = [0f32; SHORT_TEXT];
                    for (&q, keys) in rows {
                        let keys: &[f32; SHORT_TEXT] = keys.try_into().expect("padded keys");
                        for (a, &k) in acc.iter_mut().zip(keys) {
                            *a += q * k;
                        }
                    }
                    scores.copy_from_slice(&acc[..len]);
                } else {
                    scores.fill(0.0);
                    for (&q, keys) in rows {
                        for (s, &k) in scores.iter_mut().zip(keys) {
                            *s += q * k;
                        }
                    }
                }
                softmax_in_place(scores);
                let dst = &mut out[i * hidden + head * head_size..i * hidden + (head + 1) * head_size];
                if head_size == MINILM_HEAD {
                    // A fixed width keeps the sum in registers across the tokens.
                    let mut acc = [0f32; MINILM_HEAD];
                    for (j, &w) in scores.iter().enumerate() {
                        let v: &[f32; MINILM_HEAD] = at(j, 2, head).try_into().expect("head width");
                        for (a, &v) in acc.iter_mut().zip(v) {
                            *a += w * v;
                        }
                    }
                    dst.copy_from_slice(&acc);
                } else {
                    for (j, &w) in scores.iter().enumerate() {
                        for (d, &v) in dst.iter_mut().zip(at(j, 2, head)) {
                            *d += w * v;
                        }
                    }
                }
            }
        }
    }
}

/// MiniLM's attention head width (384 / 12).
const MINILM_HEAD: usize = 32;

/// Texts up to this many tokens (a question, or a pair of them for the judge) take attention's
/// fixed-size path.
const SHORT_TEXT: usize = 64;

/// erf with absolute error below 1e-6 in f32 (Abramowitz & Stegun 7.1.26), branch-free so a loop
/// of it vectorises.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp_neg(a * a);
    y.copysign(x)
}

/// e^(−z) for z ≥ 0 (relative error ~1e-7; held at e^(−87) ≈ 2e-38 beyond z = 87), branch-free:
/// 2^k × a polynomial of the remainder.
#[inline(always)]
fn exp_neg(z: f32) -> f32 {
    let x = (-z).max(-87.0);
    // Round to nearest by adding and subtracting 1.5 × 2^23 (`round()` is a libm call, which
    // would keep the loop from vectorising).
    const ROUND: f32 = 12_582_912.0;
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    // k as an integer, read from the low bits of `shifted` (whose last place is 1): `k as i32`
    // saturates, one element at a time, and kept the loops around it from vectorising.
    let k_int = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = x - k * 0.693_145_75 - k * 1.428_606_8e-6; // ln 2 split in two for precision
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((k_int + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(x: &[f32], w: &[f32], b: &[f32], rows: usize, outputs: usize, inputs: usize) -> Vec<f64> {
        let mut out = vec![0f64; rows * outputs];
        for r in 0..rows {
            for o in 0..outputs {
                out[r * outputs + o] =
                    b[o] as f64 + (0..inputs).map(|i| x[r * inputs + i] as f64 * w[o * inputs + i] as f64).sum::<f64>();
            }
        }
        out
    }

    /// Every instruction set this machine has, at sizes with partial tiles and panels, serial and
    /// split across threads, against a plain f64 product.
    #[test]
    fn linear_agrees_with_the_plain_product_on_every_path() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        for isa in Isa::available() {
            for (rows, outputs, inputs) in [(1, 5, 3), (7, 33, 17), (15, 384, 384), (13, 1152, 384), (300, 40, 64)] {
                let x: Vec<f32> = (0..rows * inputs).map(|_| next()).collect();
                let w: Vec<f32> = (0..outputs * inputs).map(|_| next()).collect();
                let b: Vec<f32> = (0..outputs).map(|_| next()).collect();
                let want = reference(&x, &w, &b, rows, outputs, inputs);
                for precision in [Precision::Full, Precision::Bf16] {
                    let got = Linear::new(isa, precision, &w, &b, outputs, inputs).unwrap().forward(&x, rows);
                    // Half-float weights (2^-11 relative) on the vector paths; bfloat16 inputs
                    // and weights (2^-8 each) where the CPU multiplies them. A misplaced weight
                    // would be off by about 0.3 √inputs.
                    let relative = match (isa, precision) {
                        (Isa::Avx512, Precision::Bf16) if has_bf16() => 1e-2,
                        _ => 1e-4,
                    };
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (*g as f64 - w).abs() < relative * (inputs as f64).sqrt(),
                            "{isa:?} {precision:?} {rows}×{outputs}×{inputs}: {g} vs {w}"
                        );
                    }
                }
            }
        }
        assert!(Linear::new(Isa::Portable, Precision::Full, &[1.0; 5], &[0.0; 2], 2, 3).is_err());
    }

    #[test]
    fn fast_erf_and_gelu_match_the_reference() {
        let mut worst = 0f64;
        for i in -6000..=6000 {
            let x = i as f32 / 1000.0;
            worst = worst.max((erf(x) as f64 - libm::erf(x as f64)).abs());
        }
        // 1.5e-7 in exact arithmetic; f32 rounding adds a few 1e-7.
        assert!(worst < 1e-6, "worst erf error {worst}");
        for z in [0.0f32, 0.3, 0.5, 1.0, 2.7, 10.0, 50.0, 80.0] {
            let reference = (-z as f64).exp();
            assert!(((exp_neg(z) as f64) - reference).abs() <= reference * 1e-6, "exp(-{z})");
        }
        assert!(exp_neg(200.0) < 1e-37);
        let xs: Vec<f32> = (0..40).map(|i| (i as f32 - 20.0) / 4.0).collect();
        let mut g = xs.clone();
        gelu(&mut g);
        for (g, &x) in g.iter().zip(&xs) {
            let want = 0.5 * x as f64 * (1.0 + libm::erf(x as f64 / std::f64::consts::SQRT_2));
            assert!((*g as f64 - want).abs() < 1e-5, "gelu({x}) = {g}, want {want}");
        }
    }

    /// Attention against a plain f64 reference, for a text on the fixed-size path (≤ 64 tokens)
    /// and one past it, MiniLM's head width and another, on the instruction set this CPU picks.
    #[test]
    fn attention_agrees_with_the_plain_formula() {
        let mut seed = 11u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        for (len, heads, hidden) in [(5, 12, 384), (64, 12, 384), (70, 12, 384), (9, 4, 64)] {
            let head_size = hidden / heads;
            let qkv: Vec<f32> = (0..len * 3 * hidden).map(|_| next()).collect();
            let mut got = vec![0f32; len * hidden];
            attend(&qkv, len, heads, &mut got, &mut Vec::new());
            let at = |t: usize, part: usize, h: usize, d: usize| {
                qkv[t * 3 * hidden + part * hidden + h * head_size + d] as f64
            };
            for h in 0..heads {
                for i in 0..len {
                    let scores: Vec<f64> =
                        (0..len).map(|j| (0..head_size).map(|d| at(i, 0, h, d) * at(j, 1, h, d)).sum()).collect();
                    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f64 = e.iter().sum();
                    for d in 0..head_size {
                        let want: f64 = (0..len).map(|j| e[j] / total * at(j, 2, h, d)).sum();
                        let g = got[i * hidden + h * head_size + d] as f64;
                        assert!((g - want).abs() < 1e-5, "len {len}, head {h}, token {i}, dim {d}: {g} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn softmax_and_layer_norm() {
        let mut row = [1.0f32, 2.0, 3.0, -1e30];
        softmax_in_place(&mut row);
        let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let s: f64 = e.iter().sum();
        for (g, w) in row.iter().zip(&e) {
            assert!((*g as f64 - w / s).abs() < 1e-6);
        }
        assert!(row[3] < 1e-30, "{row:?}");
        let mut x = vec![1.0f32, 2.0, 3.0, 4.0];
        add_layer_norm(&mut x, Some(&[1.0, 1.0, 1.0, 1.0]), &[1.0; 4], &[0.5; 4], 0.0);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        assert!((mean - 0.5).abs() < 1e-6, "{x:?}");
        assert!((x[3] - x[0] - 2.0 * 3.0 / 5f32.sqrt()).abs() < 1e-5, "{x:?}");
    }
}
