//! Measurements of the query path for docs/BENCHMARKS.md (`simba-tuner bench query`): the local
//! model's speed in both weight formats, a cached answer end to end at a given number of entries,
//! and replay throughput with the model stood in for by the log's answers.

use super::replay::{self, quantile, LogRow, MissAnswers, ReplaySetup};
use super::{prices::PriceTable, AnswerSource, QueryEngine, QueryRequest};
use crate::engine::bench::distinct_questions;
use crate::engine::cache::types::Scope;
use crate::engine::llm::local::{LocalChat, LocalModel};
use crate::engine::llm::{ChatRequest, GenerationSettings};
use crate::engine::{Backend, Engine};
use crate::error::{ApiError, ApiResult};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub const STORY_PROMPT: &str = "Write a long story about a lighthouse keeper and a storm.";

#[derive(Debug, Clone, Serialize)]
pub struct ModelBench {
    pub weights: String,
    pub load_seconds: f64,
    pub prompt_tokens: u32,
    /// Reading the prompt (time to the first token).
    pub prompt_seconds: f64,
    pub generated_tokens: u32,
    pub tokens_per_second: f64,
}

/// Loads the model (requantized or as in the file), then times the prompt alone and a long answer.
pub fn model_bench(path: &Path, requantize: bool, max_tokens: u32) -> ApiResult<ModelBench> {
    let t = Instant::now();
    let model = LocalModel::load_as(path, requantize)?;
    let load_seconds = t.elapsed().as_secs_f64();
    let ask = |n: u32| ChatRequest {
        messages: vec![crate::engine::cache::conversation::Message::user(STORY_PROMPT)],
        settings: GenerationSettings { max_tokens: n, ..Default::default() },
    };
    model.generate(&ask(1))?; // warm
    let t = Instant::now();
    let first = model.generate(&ask(1))?;
    let prompt_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let long = model.generate(&ask(max_tokens))?;
    let total = t.elapsed().as_secs_f64();
    let generated = long.completion_tokens.saturating_sub(1).max(1);
    Ok(ModelBench {
        weights: if requantize { "Q8_0 (requantized at load)".into() } else { "Q4_1 (as in the file)".into() },
        load_seconds,
        prompt_tokens: first.prompt_tokens,
        prompt_seconds,
        generated_tokens: long.completion_tokens,
        tokens_per_second: generated as f64 / (total - prompt_seconds).max(1e-9),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct CachedAnswerBench {
    pub entries: usize,
    pub probes: usize,
    pub hits: usize,
    pub hit_p50_ms: f64,
    pub hit_p99_ms: f64,
    pub miss_p50_ms: Option<f64>,
    pub judge_asked: usize,
}

/// The cached-answer workload: `entries` stored questions with their answers, and `probes`
/// rewordings of stored ones (lower case, no question mark, a polite prefix).
pub fn cached_answer_workload(entries: usize, probes: usize) -> (Vec<(String, String)>, Vec<String>) {
    let questions = distinct_questions(entries);
    let pairs: Vec<(String, String)> =
        questions.iter().enumerate().map(|(i, q)| (q.clone(), format!("answer {i}"))).collect();
    let step = (entries / probes.max(1)).max(1);
    let asked = (0..entries)
        .step_by(step)
        .take(probes)
        .map(|i| format!("please tell me: {}", questions[i].trim_end_matches('?').to_lowercase()))
        .collect();
    (pairs, asked)
}

/// Fills a temporary store with the [`cached_answer_workload`], then asks its probes through the
/// whole query path: the session cache misses, the semantic cache answers (embedding, search,
/// checks, judge when needed).
pub async fn cached_answer_bench(model_dir: &Path, entries: usize, probes: usize) -> ApiResult<CachedAnswerBench> {
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(e.to_string()))?;
    let engine = Engine::new(model_dir.to_path_buf(), Backend::Embedded { path: dir.path().join("bench.db") });
    let cache = engine.cache().await?;
    let (pairs, asked) = cached_answer_workload(entries, probes);
    let scope = Scope::user("bench");
    cache.update_many(&pairs, &scope, |_| {}).await?;
    let query = QueryEngine::new(Arc::new(LocalChat::new(model_dir.join("unused"))), PriceTable::default());
    let (mut hits, mut misses) = (Vec::new(), Vec::new());
    let mut judge_asked = 0;
    for probe in asked {
        let req = QueryRequest { scope: scope.clone(), query: probe, ..Default::default() };
        let a = query.ask_with_answer(&engine, req, "stand-in").await?;
        if a.timings.judge_ms > 0.0 {
            judge_asked += 1;
        }
        if a.source == AnswerSource::SemanticCache {
            hits.push(a.timings.total_ms);
        } else {
            misses.push(a.timings.total_ms);
        }
    }
    hits.sort_by(f64::total_cmp);
    misses.sort_by(f64::total_cmp);
    if hits.is_empty() {
        return Err(ApiError::internal("no probe was a cache hit; the benchmark measured nothing"));
    }
    Ok(CachedAnswerBench {
        entries,
        probes: hits.len() + misses.len(),
        hits: hits.len(),
        hit_p50_ms: quantile(&hits, 0.5),
        hit_p99_ms: quantile(&hits, 0.99),
        miss_p50_ms: (!misses.is_empty()).then(|| quantile(&misses, 0.5)),
        judge_asked,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplayBench {
    pub rows: usize,
    pub distinct_questions: usize,
    pub hit_rate: Option<f64>,
    /// Hits whose answer was not the log's answer for that question, of the hits.
    pub false_hit_rate: Option<f64>,
    pub seconds: f64,
    pub queries_per_second: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// A log of `rows` queries drawn from `distinct` questions (the most asked first, as real logs
/// are skewed) by 50 users, each with its answer.
pub fn replay_workload(rows: usize, distinct: usize) -> Vec<LogRow> {
    let questions = distinct_questions(distinct.max(1));
    let mut x: u64 = 0x9E3779B97F4A7C15;
    (0..rows)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Skewed: the square of a uniform draw favours the first questions.
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let k = ((u * u) * questions.len() as f64) as usize;
            LogRow {
                line: i as u64 + 2,
                user: format!("user{}", i % 50),
                item: None,
                query: questions[k.min(questions.len() - 1)].clone(),
                timestamp_ms: None,
                expected_answer: Some(format!("answer {k}")),
            }
        })
        .collect()
}

/// Replays the [`replay_workload`], misses answered from the log.
pub async fn replay_bench(model_dir: &Path, rows: usize, distinct: usize) -> ApiResult<ReplayBench> {
    let log = replay_workload(rows, distinct);
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(e.to_string()))?;
    let engine = Engine::new(model_dir.to_path_buf(), Backend::Embedded { path: dir.path().join("replay.db") });
    let query = QueryEngine::new(Arc::new(LocalChat::new(model_dir.join("unused"))), PriceTable::default());
    let setup = ReplaySetup { label: "bench".into(), miss_answers: MissAnswers::Log, ..Default::default() };
    let report = replay::replay(&engine, &query, &log, &[], &setup, |_, _| {}).await?;
    Ok(ReplayBench {
        rows,
        distinct_questions: distinct,
        hit_rate: report.hit_rate,
        false_hit_rate: report.false_hit_rate,
        seconds: report.duration_s,
        queries_per_second: report.queries_per_second,
        p50_ms: report.latency_all.p50_ms,
        p99_ms: report.latency_all.p99_ms,
    })
}

/// Writes both workloads as JSON lines into `dir` (`entries.jsonl`: `{question, answer}`;
/// `probes.jsonl`: `{query}`; `replay.jsonl`: log rows), for a peer to run the same ones.
pub fn write_workloads(dir: &Path, entries: usize, probes: usize, rows: usize, distinct: usize) -> ApiResult<()> {
    use std::io::Write;
    let write = |name: &str, lines: Vec<serde_json::Value>| -> ApiResult<()> {
        let path = dir.join(name);
        let failed = |e: std::io::Error| ApiError::internal(format!("could not write {}: {e}", path.display()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(failed)?);
        for line in lines {
            writeln!(out, "{line}").map_err(failed)?;
        }
        out.flush().map_err(failed)
    };
    std::fs::create_dir_all(dir).map_err(|e| ApiError::internal(format!("could not create {}: {e}", dir.display())))?;
    let (pairs, asked) = cached_answer_workload(entries, probes);
    write("entries.jsonl", pairs.into_iter().map(|(q, a)| serde_json::json!({"question": q, "answer": a})).collect())?;
    write("probes.jsonl", asked.into_iter().map(|q| serde_json::json!({"query": q})).collect())?;
    let log = replay_workload(rows, distinct);
    write("replay.jsonl", log.into_iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect())
}
