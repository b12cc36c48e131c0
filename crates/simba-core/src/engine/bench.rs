//! Measurements behind `simba-tuner bench cache` and docs/BENCHMARKS.md: lookup latency and
//! recall of the vector index at a given size, and embedding latency and throughput.

use super::embed::Embedder;
use super::index::testdata::clustered;
use super::index::{AutoIndex, ExactIndex};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct IndexBench {
    pub entries: u32,
    pub dims: u32,
    pub kind: String,
    /// The HNSW search effort measured (none for the exact scan).
    pub ef_search: Option<u32>,
    pub build_seconds: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub lookups_per_second: f64,
    /// Share of queries whose top hit equals the exact scan's.
    pub recall_at_1: f64,
    /// The same over the probes that rephrase a stored entry (the would-be cache hits).
    pub recall_at_1_paraphrases: f64,
    pub memory_bytes_per_entry: f64,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Spread of the benchmark's vectors around their topic centre: each vector has cosine about 0.6
/// with its centre and 0.35 with another member of its topic, like MiniLM embeddings of different
/// questions on one subject.
pub const BENCH_TOPIC_NOISE: f32 = 0.12;
/// How far a "paraphrase" probe moves from the stored vector it rephrases: a random orthogonal-ish
/// step of this length gives cosine 1/√(1+0.4²) ≈ 0.93.
const PARAPHRASE_STEP: f32 = 0.4;

/// Probes for the lookup benchmark: half rephrase a stored entry (a would-be hit), half are new
/// questions on a known topic (a miss).
pub fn lookup_probes(data: &[Vec<f32>], queries: usize, centres: usize, seed: u64) -> Vec<Vec<f32>> {
    let dims = data[0].len();
    let fresh = clustered(queries / 2 + 1, dims, centres, BENCH_TOPIC_NOISE, seed ^ 0xABCDEF);
    // Random directions: "clustered" around one centre with a huge spread is uniform on the sphere.
    let steps = clustered(queries / 2 + 1, dims, 1, 1e3, seed ^ 0x5151);
    (0..queries)
        .map(|i| {
            if i % 2 == 1 {
                return fresh[i / 2].clone();
            }
            let base = &data[(i.wrapping_mul(2_654_435_761) ^ seed as usize) % data.len()];
            let mut v: Vec<f32> = base.iter().zip(&steps[i / 2]).map(|(b, r)| b + PARAPHRASE_STEP * r).collect();
            let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.iter_mut().for_each(|a| *a /= n);
            v
        })
        .collect()
}

/// Builds an automatically chosen index of `entries` clustered 384-d vectors (MiniLM-like:
/// points around many topic centres) and times `queries` top-5 lookups on one thread, once per
/// HNSW search effort in `efs` (the exact scan has none: measured once).
pub fn index_bench(entries: usize, queries: usize, seed: u64, efs: &[usize]) -> Vec<IndexBench> {
    let dims = 384;
    let centres = (entries / 50).max(10);
    let data = clustered(entries, dims, centres, BENCH_TOPIC_NOISE, seed);
    let started = Instant::now();
    let mut index = AutoIndex::new(dims);
    let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
    index.insert_many(&items).expect("valid vectors");
    drop(items);
    let build_seconds = started.elapsed().as_secs_f64();
    let probes = lookup_probes(&data, queries, centres, seed);
    // The exact answers, for recall (only needed when the index is approximate).
    let truth: Option<Vec<Option<u64>>> = (index.kind() != "exact").then(|| {
        let mut exact = ExactIndex::new(dims);
        for (i, v) in data.iter().enumerate() {
            exact.insert(i as u64, v).expect("valid vectors");
        }
        probes.iter().map(|q| exact.search(q, 1).expect("valid").first().map(|x| x.0)).collect()
    });
    let efs: Vec<Option<usize>> = if index.kind() == "exact" || efs.is_empty() { vec![None] } else { efs.iter().map(|e| Some(*e)).collect() };
    let mut out = Vec::new();
    for ef in efs {
        if let Some(ef) = ef {
            index.set_ef_search(ef);
        }
        let mut times = Vec::with_capacity(queries);
        let mut results = Vec::with_capacity(queries);
        let all = Instant::now();
        for q in &probes {
            let t = Instant::now();
            let r = index.search(q, 5).expect("valid query");
            times.push(t.elapsed().as_secs_f64() * 1e6);
            results.push(r.first().map(|x| x.0));
        }
        let total = all.elapsed().as_secs_f64();
        // Even probes rephrase a stored entry, odd ones are fresh questions (see `lookup_probes`).
        let share = |pick: &dyn Fn(usize) -> bool| match &truth {
            None => 1.0,
            Some(truth) => {
                let chosen: Vec<usize> = (0..probes.len()).filter(|i| pick(*i)).collect();
                chosen.iter().filter(|i| truth[**i] == results[**i]).count() as f64 / chosen.len().max(1) as f64
            }
        };
        times.sort_by(f64::total_cmp);
        out.push(IndexBench {
            entries: entries as u32,
            dims: dims as u32,
            kind: index.kind().into(),
            ef_search: ef.map(|e| e as u32),
            build_seconds,
            p50_us: percentile(&times, 0.5),
            p99_us: percentile(&times, 0.99),
            lookups_per_second: queries as f64 / total,
            recall_at_1: share(&|_| true),
            recall_at_1_paraphrases: share(&|i| i % 2 == 0),
            memory_bytes_per_entry: index.memory_bytes() as f64 / entries as f64,
        });
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EmbedBench {
    pub model: String,
    pub texts: u32,
    pub single_p50_ms: f64,
    pub single_p99_ms: f64,
    pub batch32_sentences_per_second: f64,
}

/// Embedding latency one text at a time, and throughput in batches of 32.
/// Pass the model itself, not the exact-text cache in front of it (`embed::load_uncached`), and
/// the same texts as the Python reference (`.ci/tools/make_minilm_reference.py`).
pub fn embed_bench(embedder: &dyn Embedder, texts: &[String]) -> Result<EmbedBench, super::embed::EmbedError> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // Warm-up, as the Python reference does.
    for chunk in refs[..refs.len().min(64)].chunks(32) {
        embedder.embed_batch(chunk)?;
    }
    let singles = texts.len().min(200);
    let mut times = Vec::with_capacity(singles);
    for t in &texts[..singles] {
        let s = Instant::now();
        embedder.embed(t)?;
        times.push(s.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let s = Instant::now();
    for chunk in refs.chunks(32) {
        embedder.embed_batch(chunk)?;
    }
    let throughput = texts.len() as f64 / s.elapsed().as_secs_f64();
    Ok(EmbedBench {
        model: embedder.model_id().into(),
        texts: texts.len() as u32,
        single_p50_ms: percentile(&times, 0.5),
        single_p99_ms: percentile(&times, 0.99),
        batch32_sentences_per_second: throughput,
    })
}

/// Short analytics-style questions for embedding benchmarks (built from parts, deterministic).
pub fn sample_questions(n: usize) -> Vec<String> {
    const STARTS: &[&str] = &["What was the", "Show me the", "How many", "List the", "Compare the", "Which region had the highest", "Give me the weekly", "Break down the"];
    const METRICS: &[&str] = &["total revenue", "open support tickets", "active customers", "average order value", "refund rate", "warehouse stock", "churned accounts", "marketing spend", "new signups", "late shipments"];
    const TAILS: &[&str] = &["last month", "in 2023", "by region", "for the Berlin store", "this quarter", "per sales rep", "year over year", "since January", "for enterprise plans", "on weekends"];
    (0..n)
        .map(|i| {
            format!(
                "{} {} {}?",
                STARTS[i % STARTS.len()],
                METRICS[(i / STARTS.len()) % METRICS.len()],
                TAILS[(i / (STARTS.len() * METRICS.len())) % TAILS.len()]
            )
        })
        .collect()
}
