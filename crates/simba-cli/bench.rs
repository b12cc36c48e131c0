//! `simba-tuner bench cache`: the measurements recorded in docs/BENCHMARKS.md.

use clap::Args;
use simba_core::engine::bench::{embed_bench, index_bench, sample_questions};
use simba_core::Service;
use std::process::ExitCode;

#[derive(Args)]
pub struct BenchArgs {
    /// Index sizes to measure (entries per namespace).
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Lookups timed at each size.
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Texts for the embedding measurement (0 skips it).
    #[arg(long, default_value_t = 1024)]
    texts: usize,
    #[arg(long)]
    json: bool,
}

pub async fn run(service: &Service, args: BenchArgs) -> anyhow::Result<ExitCode> {
    let mut report = serde_json::Map::new();
    let mut index = Vec::new();
    for &n in &args.sizes {
        let queries = args.queries;
        let r = tokio::task::spawn_blocking(move || index_bench(n, queries, 42)).await?;
        if !args.json {
            println!(
                "index {:>9} entries ({:>5}): build {:>7.1} s, lookup p50 {:>7.1} µs p99 {:>7.1} µs, {:>8.0} lookups/s, recall@1 {:.4}, {:.0} B/entry",
                r.entries, r.kind, r.build_seconds, r.p50_us, r.p99_us, r.lookups_per_second, r.recall_at_1, r.memory_bytes_per_entry
            );
        }
        index.push(r);
    }
    report.insert("index".into(), serde_json::to_value(&index)?);
    if args.texts > 0 {
        let embedder = match service.engine().embedder().await {
            Ok(e) => e,
            Err(e) => return Ok(crate::report(&e, args.json)),
        };
        let texts = sample_questions(args.texts);
        let r = tokio::task::spawn_blocking(move || embed_bench(embedder.as_ref(), &texts)).await??;
        if !args.json {
            println!(
                "embedding {} ({} texts): single p50 {:.2} ms p99 {:.2} ms, batch 32: {:.0} sentences/s",
                r.model, r.texts, r.single_p50_ms, r.single_p99_ms, r.batch32_sentences_per_second
            );
        }
        report.insert("embedding".into(), serde_json::to_value(&r)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
