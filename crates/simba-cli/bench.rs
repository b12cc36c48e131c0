//! `simba-tuner bench cache`: the measurements recorded in docs/BENCHMARKS.md.

use clap::Args;
use simba_core::engine::bench::{chat_bench, embed_bench, index_bench, judge_bench, sample_questions};
use simba_core::engine::cache::SemanticCache;
use simba_core::engine::store::indexed::IndexedStore;
use simba_core::engine::store::sqlite::SqlitePersistence;
use simba_core::error::ApiError;
use simba_core::Service;
use std::process::ExitCode;

#[derive(Args)]
pub struct BenchArgs {
    /// Index sizes to measure (entries per namespace).
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// HNSW search efforts to measure at the sizes that use HNSW (one build, one line each).
    #[arg(long, value_delimiter = ',', default_value = "96")]
    ef: Vec<usize>,
    /// Lookups timed at each size.
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Texts for the embedding measurement (0 skips it).
    #[arg(long, default_value_t = 1024)]
    texts: usize,
    /// Entries for the chat lookup measurement (0 skips it), and its chats' length in messages.
    #[arg(long, default_value_t = 10000)]
    chat_entries: usize,
    #[arg(long, default_value_t = 20)]
    chat_turns: usize,
    #[arg(long)]
    json: bool,
}

pub async fn run(service: &Service, args: BenchArgs) -> anyhow::Result<ExitCode> {
    let mut report = serde_json::Map::new();
    let mut index = Vec::new();
    for &n in &args.sizes {
        let queries = args.queries;
        let efs = args.ef.clone();
        let rows = tokio::task::spawn_blocking(move || index_bench(n, queries, 42, &efs)).await?;
        for r in rows {
            if !args.json {
                let ef = r.ef_search.map(|e| format!(" ef {e:>3}")).unwrap_or_default();
                println!(
                    "index {:>9} entries ({:>5}{ef}): build {:>7.1} s, lookup p50 {:>7.1} µs p99 {:>7.1} µs, {:>8.0} lookups/s, recall@1 {:.4} (paraphrases {:.4}), {:.0} B/entry",
                    r.entries, r.kind, r.build_seconds, r.p50_us, r.p99_us, r.lookups_per_second, r.recall_at_1, r.recall_at_1_paraphrases, r.memory_bytes_per_entry
                );
            }
            index.push(r);
        }
    }
    report.insert("index".into(), serde_json::to_value(&index)?);
    if args.texts > 0 {
        // The model itself: the engine's exact-text cache would turn repeated texts into lookups.
        let dir = service.engine().model_dir().to_path_buf();
        let embedder = match tokio::task::spawn_blocking(move || simba_core::engine::embed::load_uncached(&dir)).await?
        {
            Ok(e) => e,
            Err(e) => return Ok(crate::report(&simba_core::engine::cache::embed_error(e), args.json)),
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
        // Without the judge the figures above still stand; say why it was skipped.
        match service.engine().judge().await {
            Ok(judge) => {
                let texts = sample_questions(args.texts.min(1001));
                let r = tokio::task::spawn_blocking(move || judge_bench(&judge, &texts)).await??;
                if !args.json {
                    println!(
                        "judge ({} pairs): one pair p50 {:.2} ms p99 {:.2} ms",
                        r.pairs, r.single_p50_ms, r.single_p99_ms
                    );
                }
                report.insert("judge".into(), serde_json::to_value(&r)?);
            }
            Err(e) => {
                eprintln!("skipping the judge: {}", crate::output::term(&e));
                report.insert("judge_skipped".into(), serde_json::Value::String(e));
            }
        }
    }
    if args.chat_entries > 0 {
        // A cache of its own in a temporary folder: the measurement writes entries.
        let dir = std::env::temp_dir().join(format!("simba-bench-chat-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let measured = async {
            let embedder = service.engine().embedder().await?;
            let persist =
                SqlitePersistence::open(&dir.join("cache.db")).await.map_err(|e| ApiError::internal(e.to_string()))?;
            let store =
                IndexedStore::open(persist, embedder.dims()).await.map_err(|e| ApiError::internal(e.to_string()))?;
            let judge = service.engine().judge().await.ok();
            let cache = SemanticCache::new(embedder, std::sync::Arc::new(store)).with_judge(judge);
            chat_bench(&cache, args.chat_entries, args.chat_turns, args.queries.min(500)).await
        }
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        let r = match measured {
            Ok(r) => r,
            Err(e) => return Ok(crate::report(&e, args.json)),
        };
        if !args.json {
            println!(
                "chat lookup ({} entries, {}-message chats, {} lookups): alone p50 {:.2} ms p99 {:.2} ms; in a chat p50 {:.2} ms p99 {:.2} ms",
                r.entries, r.turns, r.lookups, r.plain_p50_ms, r.plain_p99_ms, r.chat_p50_ms, r.chat_p99_ms
            );
        }
        report.insert("chat".into(), serde_json::to_value(&r)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
