//! `simba-tuner cache …`: the local semantic cache from the terminal.

use crate::output::{term, term_lines};
use crate::report;
use clap::{Args, Subcommand};
use simba_core::api::cache::{CacheEvalRequest, CacheLookupRequest, CacheStoreRequest};
use simba_core::engine::cache::conversation::Message;
use simba_core::engine::cache::decide::JudgePolicy;
use simba_core::engine::cache::types::{Lookup, Scope};
use simba_core::engine::store::Invalidation;
use simba_core::error::ApiError;
use simba_core::Service;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CacheCommand {
    /// Entries, hit rates, evictions and latency per namespace.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Look a query up (check_get_cache) and show the decision.
    Lookup {
        /// The question (leave out with --conversation: its last message is the question).
        #[arg(required_unless_present = "conversation")]
        query: Option<String>,
        /// A chat as JSON messages ([{"role": "user", "content": "…"}, …], or {"messages": […]}),
        /// from a file or - for standard input; its last message is the question.
        #[arg(long, value_name = "FILE")]
        conversation: Option<PathBuf>,
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long)]
        json: bool,
    },
    /// Store an answer for a query (update_cache): QUERY RESPONSE, or RESPONSE with --conversation.
    Store {
        #[arg(num_args = 1..=2, value_names = ["QUERY", "RESPONSE"], required = true)]
        texts: Vec<String>,
        /// The chat the answer was given in (as for lookup); its last message is the question.
        #[arg(long, value_name = "FILE")]
        conversation: Option<PathBuf>,
        #[command(flatten)]
        scope: ScopeArgs,
        /// TTL for this entry in seconds (0 = never expires); default: the namespace's.
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Delete entries: one by id, an item's, a user's, or everything.
    Invalidate {
        #[arg(long, conflicts_with_all = ["item", "user", "all"])]
        entry: Option<String>,
        #[arg(long)]
        item: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// How the cache decides whether the answer cached for A serves B: similarity, tokens and
    /// facts the checks read, the rule that objects, the judge's score, the decision.
    Explain {
        /// The cached question (or a chat as JSON messages, see lookup --conversation).
        a: String,
        /// The incoming question (or a chat as JSON messages).
        b: String,
        #[arg(long)]
        json: bool,
    },
    /// Evaluate labelled query pairs (JSONL or CSV: a, b, same_answer, category).
    Eval {
        file: PathBuf,
        #[arg(long, default_value_t = 0.8)]
        threshold: f32,
        /// Raw cosine only, without the candidate checks (nor the judge).
        #[arg(long)]
        no_verify: bool,
        /// The judge's minimum score (default: the settings' default; above 1 turns the judge off).
        #[arg(long)]
        judge_min_score: Option<f32>,
        /// The lowest similarity the judge reads below the threshold (default: the settings').
        #[arg(long)]
        judge_floor: Option<f32>,
        /// Write the sweep chart (SVG) here.
        #[arg(long)]
        chart: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Clone)]
pub struct ScopeArgs {
    #[arg(long, default_value = "admin")]
    user: String,
    #[arg(long)]
    item: Option<String>,
    #[arg(long, default_value = "default")]
    tenant: String,
}

impl ScopeArgs {
    pub fn scope(&self) -> Scope {
        Scope { tenant: self.tenant.clone(), user: self.user.clone(), item: self.item.clone(), conversation: vec![] }
    }
}

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "–".into())
}

pub async fn run(service: &Service, cmd: CacheCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CacheCommand::Stats { json } => match service.cache_stats().await {
            Ok(s) if json => println!("{}", serde_json::to_string_pretty(&s)?),
            Ok(s) => {
                println!(
                    "{} backend, model {}, {} entries, hit rate {}, {} evictions, lookup p50 {} µs p99 {} µs",
                    term(&s.backend),
                    term(&s.embedding_model),
                    s.entries,
                    pct(s.hit_rate),
                    s.evictions,
                    s.lookup_latency.p50_us.map(|v| format!("{v:.0}")).unwrap_or("–".into()),
                    s.lookup_latency.p99_us.map(|v| format!("{v:.0}")).unwrap_or("–".into())
                );
                for n in &s.namespaces {
                    println!(
                        "  {:<50} {:>7} entries {:>10} bytes  hit rate {:>6} (recent {:>6})  evictions {}",
                        term(&n.id),
                        n.entries,
                        n.bytes,
                        pct(n.hit_rate),
                        pct(n.recent_hit_rate),
                        n.evictions
                    );
                }
            }
            Err(e) => return Ok(report(&e, json)),
        },
        CacheCommand::Lookup { query, conversation, scope, json } => {
            let messages = match conversation.as_deref().map(read_chat).transpose() {
                Ok(m) => m,
                Err(e) => return Ok(report(&e, json)),
            };
            let query = query.unwrap_or_default();
            match service.cache_lookup(CacheLookupRequest { scope: scope.scope(), query, messages }).await {
                Ok(l) if json => println!("{}", serde_json::to_string_pretty(&l)?),
                Ok(Lookup::Hit { response, similarity, matched_query, entry_age_ms, .. }) => {
                    println!(
                        "HIT  similarity {similarity:.3}, matched \"{}\", entry age {:.1} s",
                        term(&matched_query),
                        entry_age_ms as f64 / 1000.0
                    );
                    println!("{}", term_lines(&response));
                }
                Ok(Lookup::Miss { reason, .. }) => println!("MISS {}", term(&reason)),
                Err(e) => return Ok(report(&e, json)),
            }
        }
        CacheCommand::Store { mut texts, conversation, scope, ttl } => {
            let messages = match conversation.as_deref().map(read_chat).transpose() {
                Ok(m) => m,
                Err(e) => return Ok(report(&e, false)),
            };
            let expected = if messages.is_some() { 1 } else { 2 };
            if texts.len() != expected {
                let usage = if messages.is_some() {
                    "RESPONSE (the question is the chat's last message)"
                } else {
                    "QUERY RESPONSE"
                };
                return Ok(report(&ApiError::invalid(format!("cache store takes {usage}")), false));
            }
            let response = texts.pop().unwrap_or_default();
            let query = texts.pop().unwrap_or_default();
            match service
                .cache_store(CacheStoreRequest { scope: scope.scope(), query, messages, response, ttl_seconds: ttl })
                .await
            {
                Ok(s) => println!("stored entry {}", s.id),
                Err(e) => return Ok(report(&e, false)),
            }
        }
        CacheCommand::Explain { a, b, json } => {
            let side = |t: &str| -> serde_json::Value {
                // A chat is given as its JSON messages; anything else is a question.
                match simba_core::engine::cache::conversation::parse_chat(t) {
                    Ok(m) if t.trim_start().starts_with(['[', '{']) => serde_json::to_value(m).unwrap_or_default(),
                    _ => serde_json::Value::String(t.to_string()),
                }
            };
            let line = serde_json::json!({"a": side(&a), "b": side(&b), "same_answer": true});
            let req = CacheEvalRequest {
                content: line.to_string(),
                threshold: None,
                verify_candidates: None,
                judge_min_score: None,
                judge_floor: None,
            };
            let report_of = match service.cache_eval(req).await {
                Ok(r) => r,
                Err(e) => return Ok(report(&e, json)),
            };
            let Some(d) = report_of.details.first() else { return Ok(ExitCode::FAILURE) };
            let checks = simba_core::engine::cache::verify::explain(&d.b, &d.a);
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({"pair": d, "checks": checks}))?);
            } else {
                println!("cached   A: {}", term(&d.a));
                println!("incoming B: {}", term(&d.b));
                println!("similarity {:.3} (threshold {:.2})", d.similarity, report_of.threshold);
                println!("tokens A: {}", term(&checks.candidate_tokens.join(" ")));
                println!("tokens B: {}", term(&checks.query_tokens.join(" ")));
                println!("facts A:  {}", term(&checks.candidate_facts));
                println!("facts B:  {}", term(&checks.query_facts));
                let words = |w: &[String]| if w.is_empty() { "none".to_string() } else { w.join(", ") };
                println!("unmatched A: {}", term(&words(&checks.candidate_unmatched)));
                println!("unmatched B: {}", term(&words(&checks.query_unmatched)));
                match (&d.rule, &d.objection) {
                    (Some(rule), Some(why)) => println!(
                        "rule {rule}: {}{}",
                        term(why),
                        if d.objection_about_wording {
                            " (the judge may overrule)"
                        } else {
                            " (a fact: never overruled)"
                        }
                    ),
                    _ => println!("no rule objects"),
                }
                match d.judge {
                    Some(s) => {
                        let policy = report_of.judge_min_score.zip(report_of.judge_floor);
                        let policy = policy.map(|(min_score, floor)| JudgePolicy { min_score, floor });
                        println!("judge {s:.4} (needs {:.3})", policy.map_or(f32::NAN, |p| p.bar(d.checks())))
                    }
                    None => println!("judge not asked"),
                }
                println!("{}", if d.served { "SERVED" } else { "REFUSED" });
            }
        }
        CacheCommand::Invalidate { entry, item, user, all, tenant } => {
            let what = match (entry, item, user, all) {
                (Some(id), ..) => match id.parse() {
                    Ok(id) => Invalidation::Entry { id },
                    Err(_) => {
                        return Ok(report(&simba_core::ApiError::invalid(format!("'{id}' is not an entry id")), false))
                    }
                },
                (None, Some(item), None, false) => Invalidation::Item { tenant, item },
                (None, None, Some(user), false) => Invalidation::User { tenant, user },
                (None, None, None, true) => Invalidation::All,
                _ => {
                    return Ok(report(
                        &simba_core::ApiError::invalid(
                            "say exactly one of --entry ID, --item ID, --user NAME or --all",
                        ),
                        false,
                    ))
                }
            };
            match service.cache_invalidate(what).await {
                Ok(c) => println!("deleted {} entries", c.count),
                Err(e) => return Ok(report(&e, false)),
            }
        }
        CacheCommand::Eval { file, threshold, no_verify, judge_min_score, judge_floor, chart, json } => {
            let content = match std::fs::read(&file) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => s,
                    Err(_) => {
                        return Ok(report(
                            &simba_core::ApiError::invalid(format!("{} is not UTF-8 text", file.display())),
                            json,
                        ))
                    }
                },
                Err(e) => {
                    return Ok(report(
                        &simba_core::ApiError::invalid(format!("cannot read {}: {e}", file.display())),
                        json,
                    ))
                }
            };
            let req = CacheEvalRequest {
                content,
                threshold: Some(threshold),
                verify_candidates: Some(!no_verify),
                judge_min_score,
                judge_floor,
            };
            match service.cache_eval(req).await {
                Ok(r) => {
                    if let Some(path) = &chart {
                        std::fs::write(path, &r.chart_svg)?;
                    }
                    if json {
                        println!("{}", serde_json::to_string_pretty(&r)?);
                    } else {
                        print!("{}", crate::output::eval_text(&r));
                    }
                }
                Err(e) => return Ok(report(&e, json)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a chat from a JSON file (or standard input for `-`): an array of messages or an object
/// with a `messages` array (as chat APIs take them).
pub fn read_chat(path: &std::path::Path) -> Result<Vec<Message>, ApiError> {
    let text = read_text(path, "the conversation")?;
    simba_core::engine::cache::conversation::parse_chat(&text).map_err(ApiError::invalid)
}

/// A UTF-8 text file, or standard input for `-`; `what` names it in errors ("the conversation").
pub fn read_text(path: &std::path::Path, what: &str) -> Result<String, ApiError> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| ApiError::invalid(format!("could not read {what} from standard input: {e}")))?;
        b
    } else {
        std::fs::read(path)
            .map_err(|e| ApiError::invalid(format!("could not read {what} file {}: {e}", path.display())))?
    };
    String::from_utf8(bytes).map_err(|e| {
        ApiError::invalid(format!("{what} is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
    })
}
