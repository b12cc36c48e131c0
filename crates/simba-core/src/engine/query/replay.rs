//! Replaying a query log: every row through the query path, at the recorded pace or as fast as it
//! goes, then the hit rate, the false hits where answers are known, latency percentiles, model
//! calls and cost. Two setups replayed on the same log side by side are the evidence for a
//! setting change (threshold, judge, TTL, max entries).
//!
//! Logs are CSV with a header (`user,item,query,timestamp,expected_answer`; only `query` is
//! required) or JSON Lines with the same field names. A row that cannot be read is reported with
//! its line number and the rest are replayed.

use super::{AnswerSource, QueryEngine, QueryRequest};
use crate::engine::cache::types::{CacheSettings, Scope};
use crate::engine::embed::Embedder;
use crate::engine::llm::GenerationSettings;
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use ts_rs::TS;

/// At most this many rows in one replay.
pub const MAX_ROWS: usize = 1_000_000;
/// Bad rows listed in a report (all are counted).
const LISTED_BAD_ROWS: usize = 100;
/// Answers at least this close (cosine of their embeddings) count as the same answer when the
/// texts differ; see [`same_answer`].
pub const SAME_ANSWER_COSINE: f32 = 0.9;

/// One row of a log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LogRow {
    /// 1-based line in the file (the header is line 1 of a CSV).
    #[ts(type = "number")]
    pub line: u64,
    pub user: String,
    pub item: Option<String>,
    pub query: String,
    /// When it was asked, in milliseconds since the epoch.
    #[ts(type = "number | null")]
    pub timestamp_ms: Option<i64>,
    pub expected_answer: Option<String>,
}

/// A row that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BadRow {
    #[ts(type = "number")]
    pub line: u64,
    pub reason: String,
}

/// How fast rows are sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ReplaySpeed {
    /// One after the other, without waiting.
    #[default]
    Max,
    /// At the pace of the timestamps, sped up by `factor` (rows without one are sent at once).
    Recorded { factor: f64 },
}

/// Where a miss gets its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum MissAnswers {
    /// The configured chat model (real tokens, real cost, real time).
    #[default]
    Model,
    /// The row's expected answer stands in for the model: measures the caches' decisions alone,
    /// quickly (rows without an expected answer are reported as bad).
    Log,
}

/// One replay's setup. Each replay runs on a fresh temporary store, so two setups never share
/// entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReplaySetup {
    /// A name for the report ("threshold 0.90").
    #[serde(default)]
    pub label: String,
    /// The cache settings for every namespace; the defaults when absent.
    #[serde(default)]
    #[ts(optional)]
    pub cache: Option<CacheSettings>,
    #[serde(default)]
    #[ts(optional)]
    pub generation: Option<GenerationSettings>,
    #[serde(default)]
    pub speed: ReplaySpeed,
    #[serde(default)]
    pub miss_answers: MissAnswers,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Percentiles {
    #[ts(type = "number")]
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// The hit rate so far, every `every` rows (for the chart).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HitRatePoint {
    #[ts(type = "number")]
    pub rows: u64,
    pub hit_rate: f64,
}

/// What a replay measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReplayReport {
    pub label: String,
    #[ts(type = "number")]
    pub rows: u64,
    #[ts(type = "number")]
    pub answered: u64,
    /// Rows whose query failed (the first errors are in `errors`).
    #[ts(type = "number")]
    pub failed: u64,
    pub errors: Vec<BadRow>,
    #[ts(type = "number")]
    pub bad_rows: u64,
    /// The first bad rows, with line numbers.
    pub bad_row_list: Vec<BadRow>,
    #[ts(type = "number")]
    pub session_hits: u64,
    #[ts(type = "number")]
    pub semantic_hits: u64,
    #[ts(type = "number")]
    pub misses: u64,
    pub hit_rate: Option<f64>,
    /// Hits whose row had an expected answer, and those whose served answer was not it.
    #[ts(type = "number")]
    pub hits_checked: u64,
    #[ts(type = "number")]
    pub false_hits: u64,
    pub false_hit_rate: Option<f64>,
    /// Up to 20 false hits: the row's query, what was served, and the query it was served for.
    pub false_hit_examples: Vec<FalseHit>,
    pub latency_hits: Percentiles,
    pub latency_misses: Percentiles,
    pub latency_all: Percentiles,
    #[ts(type = "number")]
    pub model_calls: u64,
    pub cost_usd: f64,
    pub saved_usd: f64,
    pub duration_s: f64,
    pub queries_per_second: f64,
    pub hit_rate_over_time: Vec<HitRatePoint>,
}

/// A hit that served another question's answer.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FalseHit {
    #[ts(type = "number")]
    pub line: u64,
    pub query: String,
    pub matched_query: Option<String>,
    pub served: String,
    pub expected: String,
}

/// Reads a log; `jsonl` picks JSON Lines, else CSV. Never fails as a whole: unreadable rows are
/// returned with their line numbers.
pub fn parse_log(text: &str, jsonl: bool) -> (Vec<LogRow>, Vec<BadRow>) {
    if jsonl {
        parse_jsonl(text)
    } else {
        parse_csv(text)
    }
}

/// Whether a log looks like JSON Lines (its first non-blank character opens an object).
pub fn looks_like_jsonl(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

#[derive(Deserialize)]
struct RawRow {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
    #[serde(default, alias = "expected")]
    expected_answer: Option<String>,
}

fn row_of(line: u64, raw: RawRow) -> Result<LogRow, String> {
    let query = raw.query.filter(|q| !q.trim().is_empty()).ok_or("the query is missing or empty")?;
    let timestamp_ms = match raw.timestamp {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(parse_timestamp(&v)?),
    };
    let blank_to_none = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    Ok(LogRow {
        line,
        user: blank_to_none(raw.user).unwrap_or_else(|| "replay".into()),
        item: blank_to_none(raw.item),
        query,
        timestamp_ms,
        expected_answer: blank_to_none(raw.expected_answer),
    })
}

/// Milliseconds since the epoch from RFC 3339 text, or a number of seconds (≤ 1e11) or
/// milliseconds.
fn parse_timestamp(v: &serde_json::Value) -> Result<i64, String> {
    let number = |n: f64| -> Result<i64, String> {
        if !n.is_finite() || n < 0.0 {
            return Err(format!("the timestamp {n} is not a time"));
        }
        Ok(if n <= 1e11 { (n * 1000.0) as i64 } else { n as i64 })
    };
    match v {
        serde_json::Value::Number(n) => number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) if s.trim().is_empty() => Err("the timestamp is empty".into()),
        serde_json::Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => number(n),
            Err(_) => chrono::DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.timestamp_millis())
                .map_err(|_| format!("the timestamp '{s}' is neither RFC 3339 (2026-12-06T10:00:00Z) nor a number")),
        },
        other => Err(format!("the timestamp {other} is neither RFC 3339 text nor a number")),
    }
}

fn parse_jsonl(text: &str) -> (Vec<LogRow>, Vec<BadRow>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RawRow>(line).map_err(|e| format!("not a JSON object with the log's fields: {e}"))
        {
            Ok(raw) => match row_of(n, raw) {
                Ok(r) => rows.push(r),
                Err(reason) => bad.push(BadRow { line: n, reason }),
            },
            Err(reason) => bad.push(BadRow { line: n, reason }),
        }
    }
    (rows, bad)
}

fn parse_csv(text: &str) -> (Vec<LogRow>, Vec<BadRow>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::Headers).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>(),
        Err(e) => {
            bad.push(BadRow { line: 1, reason: format!("the header could not be read: {e}") });
            return (rows, bad);
        }
    };
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let Some(query_col) = col(&["query", "question"]) else {
        bad.push(BadRow {
            line: 1,
            reason: format!("the header has no `query` column (it has: {})", headers.join(", ")),
        });
        return (rows, bad);
    };
    let (user_col, item_col) = (col(&["user", "user_id"]), col(&["item", "item_id"]));
    let (time_col, expected_col) = (col(&["timestamp", "time", "ts"]), col(&["expected_answer", "expected", "answer"]));
    for record in reader.records() {
        let (line, fields) = match record {
            Ok(r) => (r.position().map(|p| p.line()).unwrap_or(0), r),
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                bad.push(BadRow { line, reason: format!("not a CSV row: {e}") });
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| fields.get(c)).map(str::to_string);
        let raw = RawRow {
            user: get(user_col),
            item: get(item_col),
            query: get(Some(query_col)),
            timestamp: get(time_col).filter(|t| !t.trim().is_empty()).map(serde_json::Value::String),
            expected_answer: get(expected_col),
        };
        match row_of(line, raw) {
            Ok(r) => rows.push(r),
            Err(reason) => bad.push(BadRow { line, reason }),
        }
    }
    (rows, bad)
}

/// Whether `served` is the `expected` answer: the same text once case and spacing are set aside,
/// or embeddings at least [`SAME_ANSWER_COSINE`] apart. An estimate: two right answers worded
/// very differently count as a false hit.
pub fn same_answer(embedder: &dyn Embedder, served: &str, expected: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if norm(served) == norm(expected) {
        return true;
    }
    match embedder.embed_batch(&[served, expected]) {
        Ok(v) if v.len() == 2 => v[0].iter().zip(&v[1]).map(|(a, b)| a * b).sum::<f32>() >= SAME_ANSWER_COSINE,
        _ => false,
    }
}

/// The `q` quantile of sorted, non-empty `values` (nearest rank over `len - 1`).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn percentiles(mut values: Vec<f64>) -> Percentiles {
    if values.is_empty() {
        return Percentiles::default();
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| quantile(&values, q);
    Percentiles {
        count: values.len() as u64,
        p50_ms: Some(at(0.5)),
        p95_ms: Some(at(0.95)),
        p99_ms: Some(at(0.99)),
        max_ms: values.last().copied(),
    }
}

/// Replays `rows` with `setup` on a fresh engine around `query`'s model. `progress` is called
/// after each row with (done, total). `bad` rows from parsing are carried into the report.
pub async fn replay(
    engine: &Engine,
    query: &QueryEngine,
    rows: &[LogRow],
    bad: &[BadRow],
    setup: &ReplaySetup,
    mut progress: impl FnMut(u64, u64),
) -> ApiResult<ReplayReport> {
    if rows.len() > MAX_ROWS {
        return Err(ApiError::invalid(format!("the log has {} rows; replay at most {MAX_ROWS} at a time", rows.len())));
    }
    let cache = engine.cache().await?;
    if let Some(settings) = &setup.cache {
        cache.set_settings(None, settings.clone()).await?;
    }
    let embedder = cache.embedder().clone();
    let mut report = ReplayReport { label: setup.label.clone(), rows: rows.len() as u64, ..Default::default() };
    let mut bad_rows: Vec<BadRow> = bad.to_vec();
    let (mut hits_ms, mut misses_ms) = (Vec::new(), Vec::new());
    let every = (rows.len() / 50).max(1) as u64;
    let started = Instant::now();
    let first_ts = rows.iter().find_map(|r| r.timestamp_ms);
    let total = rows.len() as u64;
    for (i, row) in rows.iter().enumerate() {
        if let (ReplaySpeed::Recorded { factor }, Some(t0), Some(t)) = (setup.speed, first_ts, row.timestamp_ms) {
            let factor = if factor.is_finite() && factor > 0.0 { factor } else { 1.0 };
            let due = Duration::from_secs_f64(((t - t0).max(0) as f64 / 1000.0) / factor);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        let mut scope = Scope::user(row.user.clone());
        scope.item = row.item.clone();
        let req =
            QueryRequest { scope, query: row.query.clone(), settings: setup.generation.clone(), ..Default::default() };
        let answered = match setup.miss_answers {
            MissAnswers::Model => query.ask(engine, req).await,
            MissAnswers::Log => match &row.expected_answer {
                Some(expected) => query.ask_with_answer(engine, req, expected).await,
                None => {
                    bad_rows
                        .push(BadRow { line: row.line, reason: "no expected answer to stand in for the model".into() });
                    progress(i as u64 + 1, total);
                    continue;
                }
            },
        };
        match answered {
            Ok(a) => {
                report.answered += 1;
                let hit = matches!(a.source, AnswerSource::SessionCache | AnswerSource::SemanticCache);
                match a.source {
                    AnswerSource::SessionCache => report.session_hits += 1,
                    AnswerSource::SemanticCache => report.semantic_hits += 1,
                    _ => report.misses += 1,
                }
                // A stand-in answer from the log is not a model call.
                if a.source == AnswerSource::Model && setup.miss_answers == MissAnswers::Model {
                    report.model_calls += 1;
                }
                report.cost_usd += a.cost.cost_usd;
                report.saved_usd += a.cost.saved_usd;
                if hit {
                    hits_ms.push(a.timings.total_ms);
                    if let Some(expected) = &row.expected_answer {
                        report.hits_checked += 1;
                        if !same_answer(embedder.as_ref(), &a.answer, expected) {
                            report.false_hits += 1;
                            if report.false_hit_examples.len() < 20 {
                                let matched_query = match &a.lookup {
                                    Some(crate::engine::cache::types::Lookup::Hit { matched_query, .. }) => {
                                        Some(matched_query.clone())
                                    }
                                    _ => None,
                                };
                                report.false_hit_examples.push(FalseHit {
                                    line: row.line,
                                    query: row.query.clone(),
                                    matched_query,
                                    served: a.answer.clone(),
                                    expected: expected.clone(),
                                });
                            }
                        }
                    }
                } else {
                    misses_ms.push(a.timings.total_ms);
                }
            }
            Err(e) => {
                report.failed += 1;
                if report.errors.len() < LISTED_BAD_ROWS {
                    report.errors.push(BadRow { line: row.line, reason: e.message });
                }
            }
        }
        let done = i as u64 + 1;
        if done.is_multiple_of(every) || done == total {
            let hits = report.session_hits + report.semantic_hits;
            let answered = report.answered.max(1);
            report.hit_rate_over_time.push(HitRatePoint { rows: done, hit_rate: hits as f64 / answered as f64 });
        }
        progress(done, total);
    }
    report.duration_s = started.elapsed().as_secs_f64();
    report.queries_per_second = if report.duration_s > 0.0 { report.answered as f64 / report.duration_s } else { 0.0 };
    let hits = report.session_hits + report.semantic_hits;
    report.hit_rate = (report.answered > 0).then(|| hits as f64 / report.answered as f64);
    report.false_hit_rate = (report.hits_checked > 0).then(|| report.false_hits as f64 / report.hits_checked as f64);
    let mut all = hits_ms.clone();
    all.extend(&misses_ms);
    report.latency_hits = percentiles(hits_ms);
    report.latency_misses = percentiles(misses_ms);
    report.latency_all = percentiles(all);
    report.bad_rows = bad_rows.len() as u64;
    bad_rows.truncate(LISTED_BAD_ROWS);
    report.bad_row_list = bad_rows;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_read_and_bad_ones_named_by_line() {
        let log = "user,item,query,timestamp,expected_answer\n\
                   alice,,What is our refund policy?,2026-12-06T10:00:00Z,30 days\n\
                   bob,orders,\"How many orders, today?\",1765015200,\n\
                   carol,,,2026-12-06T10:00:01Z,x\n\
                   dave,,Is it up?,yesterday,\n\
                   erin,,Plain question\n";
        let (rows, bad) = parse_log(log, false);
        assert_eq!(rows.len(), 3, "{rows:?} {bad:?}");
        assert_eq!(rows[0].expected_answer.as_deref(), Some("30 days"));
        assert_eq!(rows[0].timestamp_ms, Some(1_796_551_200_000));
        assert_eq!(rows[1].query, "How many orders, today?");
        assert_eq!(rows[1].item.as_deref(), Some("orders"));
        assert_eq!(rows[1].timestamp_ms, Some(1_765_015_200_000));
        assert_eq!(rows[1].expected_answer, None);
        assert_eq!(rows[2].user, "erin");
        assert_eq!(rows[2].line, 6);
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![4, 5]);
        assert!(bad[0].reason.contains("query"));
        assert!(bad[1].reason.contains("RFC 3339"));
    }

    #[test]
    fn jsonl_rows_and_a_header_without_query() {
        let log = "{\"user\":\"a\",\"query\":\"q1\",\"timestamp\":1765015200123}\n\n not json\n{\"query\":\"\"}\n{\"query\":\"q2\",\"expected\":\"yes\"}\n";
        assert!(looks_like_jsonl(log));
        let (rows, bad) = parse_log(log, true);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(rows[0].timestamp_ms, Some(1_765_015_200_123));
        assert_eq!(rows[1].expected_answer.as_deref(), Some("yes"));
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![3, 4]);
        let (rows, bad) = parse_log("user,text\na,b\n", false);
        assert!(rows.is_empty());
        assert!(bad[0].reason.contains("no `query` column"));
    }

    #[test]
    fn percentiles_of_a_few_values() {
        let p = percentiles(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((p.count, p.p50_ms, p.max_ms), (5, Some(3.0), Some(5.0)));
        assert_eq!(percentiles(vec![]).p99_ms, None);
    }
}
