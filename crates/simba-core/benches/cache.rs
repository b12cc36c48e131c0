//! Criterion benchmarks of the semantic cache's hot paths (`cargo bench -p simba-core --bench cache`):
//! vector lookup (exact scan and HNSW, top-5, half paraphrase / half fresh probes) at the sizes in
//! `SIMBA_BENCH_SIZES` (default 10000,100000), and MiniLM embedding of one query and of a batch of
//! 32 when the model is installed. `simba-tuner bench cache` measures the same paths with recall,
//! build time and memory; docs/BENCHMARKS.md records both.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use simba_core::engine::bench::{lookup_probes, sample_questions, EmbeddingLike};
use simba_core::engine::embed::{Embedder, MiniLmEmbedder};
use simba_core::engine::index::AutoIndex;
use std::hint::black_box;

const DIMS: usize = 384;

fn sizes() -> Vec<usize> {
    std::env::var("SIMBA_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup_top5");
    group.throughput(Throughput::Elements(1));
    for n in sizes() {
        let mut generator = EmbeddingLike::new(n, DIMS, 7);
        let data = generator.questions(n);
        let mut index = AutoIndex::new(DIMS);
        let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
        index.insert_many(&items).expect("valid vectors");
        let probes = lookup_probes(&data, 1000, &mut generator, 7);
        let mut i = 0usize;
        group.bench_with_input(BenchmarkId::new(index.kind(), n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % probes.len();
                black_box(index.search(&probes[i], 5).expect("valid query"))
            })
        });
    }
    group.finish();
}

fn embedding(c: &mut Criterion) {
    let dir = simba_core::paths::models_dir().join(simba_core::engine::MODEL_DIR_NAME);
    let model = match MiniLmEmbedder::load(&dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipping the embedding benchmarks: {e}");
            return;
        }
    };
    let texts = sample_questions(800);
    let mut group = c.benchmark_group("minilm");
    let mut i = 0usize;
    group.throughput(Throughput::Elements(1));
    group.bench_function("embed_one", |b| {
        b.iter(|| {
            i = (i + 1) % texts.len();
            black_box(model.embed(&texts[i]).expect("embeds"))
        })
    });
    group.throughput(Throughput::Elements(32));
    let batches: Vec<Vec<&str>> = texts.chunks(32).map(|c| c.iter().map(String::as_str).collect()).collect();
    let mut j = 0usize;
    group.bench_function("embed_batch32", |b| {
        b.iter(|| {
            j = (j + 1) % batches.len();
            black_box(model.embed_batch(&batches[j]).expect("embeds"))
        })
    });
    group.finish();
}

/// The judge's cost per candidate it decides (one query/candidate pair).
fn judge(c: &mut Criterion) {
    let dir = simba_core::paths::models_dir().join(simba_core::engine::MODEL_DIR_NAME);
    let judge = match simba_core::engine::judge::Judge::load(&dir) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("skipping the judge benchmark: {e}");
            return;
        }
    };
    let texts = sample_questions(400);
    let mut i = 0usize;
    c.benchmark_group("judge").bench_function("score_one_pair", |b| {
        b.iter(|| {
            i = (i + 1) % (texts.len() - 1);
            black_box(judge.score(&[(texts[i].as_str(), texts[i + 1].as_str())]).expect("scores"))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = lookup, embedding, judge
}
criterion_main!(benches);
