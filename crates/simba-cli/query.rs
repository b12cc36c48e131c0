//! `simba-tuner query`: one query through the caches and the chat model, with its trace.

use crate::cache::{read_chat, read_text, ScopeArgs};
use crate::output::term;
use crate::report;
use clap::Args;
use simba_core::engine::llm::GenerationSettings;
use simba_core::engine::query::{AnswerSource, QueryAnswer, QueryRequest, StreamEvent};
use simba_core::Service;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct QueryArgs {
    /// The question (leave out with --conversation: its last message is the question).
    #[arg(required_unless_present = "conversation")]
    query: Option<String>,
    /// A JSON chat (a list of {role, content}, or {"messages": [...]}); `-` reads standard input.
    #[arg(long)]
    conversation: Option<PathBuf>,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Answer from the model only; store nothing.
    #[arg(long)]
    no_cache: bool,
    /// When the model fails, answer with an expired session answer, marked stale.
    #[arg(long)]
    allow_stale: bool,
    #[arg(long, default_value_t = GenerationSettings::default().max_tokens)]
    max_tokens: u32,
    #[arg(long, default_value_t = GenerationSettings::default().temperature)]
    temperature: f32,
    #[arg(long, default_value_t = GenerationSettings::default().seed)]
    seed: u64,
    #[arg(long)]
    json: bool,
    /// Print the answer as the model writes it (the trace follows).
    #[arg(long, conflicts_with = "json")]
    stream: bool,
}

pub async fn query(service: &Service, args: QueryArgs) -> anyhow::Result<ExitCode> {
    let messages = match args.conversation.as_deref().map(read_chat).transpose() {
        Ok(m) => m,
        Err(e) => return Ok(report(&e, args.json)),
    };
    let req = QueryRequest {
        scope: args.scope.scope(),
        query: args.query.unwrap_or_default(),
        messages,
        settings: Some(GenerationSettings {
            temperature: args.temperature,
            max_tokens: args.max_tokens,
            seed: args.seed,
        }),
        bypass_cache: args.no_cache,
        allow_stale: args.allow_stale,
    };
    if args.stream {
        return stream(service, req).await;
    }
    match service.query(req).await {
        Ok(a) if args.json => println!("{}", serde_json::to_string_pretty(&a)?),
        Ok(a) => print!("{}\n\n{}\n\n{}", source_line(&a), term(&a.answer), trace_text(&a)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The answer's text as it comes, then the level that answered and the trace.
async fn stream(service: &Service, req: QueryRequest) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut on = |event: StreamEvent<'_>| {
        let mut out = std::io::stdout().lock();
        let _ = match event {
            StreamEvent::Text(text) => write!(out, "{}", term(text)),
            StreamEvent::Restart => write!(out, "\n[the model call is run again; its answer starts over]\n"),
        };
        let _ = out.flush();
    };
    let answered = service.query_streaming(req, &mut on).await;
    println!();
    match answered {
        Ok(a) => print!("\n{}\n{}", source_line(&a), trace_text(&a)),
        Err(e) => return Ok(report(&e, false)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Which level answered, and why the cache did not.
fn source_line(a: &QueryAnswer) -> String {
    match a.source {
        AnswerSource::SessionCache => "HIT  session cache".to_string(),
        AnswerSource::SemanticCache => match &a.lookup {
            Some(simba_core::engine::cache::types::Lookup::Hit { similarity, matched_query, .. }) => {
                format!("HIT  semantic cache, similarity {similarity:.3}, matched \"{}\"", term(matched_query))
            }
            _ => "HIT  semantic cache".into(),
        },
        AnswerSource::Model => {
            let why = match &a.lookup {
                Some(simba_core::engine::cache::types::Lookup::Miss { reason, .. }) => format!(" ({})", term(reason)),
                _ => String::new(),
            };
            format!("MISS answered by {}{why}", term(&a.model))
        }
        AnswerSource::StaleSessionCache => format!(
            "STALE the model failed ({}); an expired session answer is shown",
            term(a.stale_because.as_deref().unwrap_or("unknown"))
        ),
    }
}

/// Time, tokens and cost, and whether the answer was cached.
fn trace_text(a: &QueryAnswer) -> String {
    let t = &a.timings;
    let mut out = String::new();
    out.push_str(&format!(
        "time {:.1} ms (embed {:.1}, search {:.1}, judge {:.1}, lookup {:.1}, model {:.1}, store {:.1})\n",
        t.total_ms, t.embed_ms, t.search_ms, t.judge_ms, t.lookup_ms, t.model_ms, t.store_ms
    ));
    let c = &a.cost;
    let est = if c.estimated { " (estimated)" } else { "" };
    out.push_str(&format!(
        "tokens {} prompt + {} completion{est}, cost ${:.6}, saved ${:.6}\n",
        c.prompt_tokens, c.completion_tokens, c.cost_usd, c.saved_usd
    ));
    match (&a.cached, &a.not_cached_reason) {
        (true, _) => out.push_str("cached: yes\n"),
        (false, Some(why)) => out.push_str(&format!("cached: no, {}\n", term(why))),
        (false, None) => {}
    }
    out
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The log: CSV with a header (user,item,query,timestamp,expected_answer; only query is
    /// required) or JSON Lines with the same fields. `-` reads standard input.
    log: PathBuf,
    /// Read the log as JSON Lines (guessed from its first character when not given).
    #[arg(long)]
    jsonl: bool,
    /// Send rows at the pace of their timestamps, sped up this many times (default: at once).
    #[arg(long)]
    recorded_speed: Option<f64>,
    /// Answer misses with the log's expected answers instead of the model (measures the caches
    /// alone, quickly).
    #[arg(long)]
    answers_from_log: bool,
    /// The similarity threshold of the setup; give two, comma-separated, to compare (0.85,0.92).
    #[arg(long, value_delimiter = ',')]
    threshold: Vec<f32>,
    /// Turn the judge off (with --threshold a,b: off in both).
    #[arg(long)]
    no_judge: bool,
    #[arg(long, default_value_t = GenerationSettings::default().max_tokens)]
    max_tokens: u32,
    #[arg(long)]
    json: bool,
}

pub async fn replay(service: &Service, args: ReplayArgs) -> anyhow::Result<ExitCode> {
    use simba_core::api::query::ReplayRequest;
    use simba_core::engine::query::replay::{MissAnswers, ReplaySetup, ReplaySpeed};
    let log = match read_text(&args.log, "the log") {
        Ok(t) => t,
        Err(e) => return Ok(report(&e, args.json)),
    };
    let base = ReplaySetup {
        generation: Some(GenerationSettings { max_tokens: args.max_tokens, ..Default::default() }),
        speed: match args.recorded_speed {
            Some(factor) => ReplaySpeed::Recorded { factor },
            None => ReplaySpeed::Max,
        },
        miss_answers: if args.answers_from_log { MissAnswers::Log } else { MissAnswers::Model },
        ..Default::default()
    };
    let with = |threshold: Option<f32>| {
        let mut s = base.clone();
        let mut cache = simba_core::engine::cache::types::CacheSettings::default();
        if let Some(t) = threshold {
            cache.similarity_threshold = t;
        }
        if args.no_judge {
            cache.judge_min_score = 2.0; // above 1: the judge is off
        }
        s.label = match threshold {
            Some(t) => format!("threshold {t:.2}{}", if args.no_judge { ", judge off" } else { "" }),
            None => format!("defaults{}", if args.no_judge { ", judge off" } else { "" }),
        };
        s.cache = Some(cache);
        s
    };
    let setups = if args.threshold.is_empty() {
        vec![with(None)]
    } else {
        args.threshold.iter().map(|t| with(Some(*t))).collect()
    };
    let n = setups.len();
    let req = ReplayRequest { log, jsonl: args.jsonl.then_some(true), setups };
    let show_progress = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let result = service
        .replay_with_progress(req, |setup, done, total| {
            if show_progress && (done == total || done.is_multiple_of(10)) {
                let width = 30usize;
                let filled = (done as usize * width) / total.max(1) as usize;
                eprint!(
                    "\rsetup {}/{n} [{}{}] {done}/{total}",
                    setup + 1,
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                );
                if done == total {
                    eprintln!();
                }
            }
        })
        .await;
    match result {
        Ok(reports) if args.json => println!("{}", serde_json::to_string_pretty(&reports)?),
        Ok(reports) => print!("{}", replay_text(&reports)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn replay_text(reports: &[simba_core::engine::query::replay::ReplayReport]) -> String {
    let pct = |r: Option<f64>| r.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "–".into());
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("== {} ==\n", term(&r.label)));
        out.push_str(&format!(
            "rows {} answered {} failed {} bad {}\nhit rate {} (session {}, semantic {}), misses {}\n",
            r.rows,
            r.answered,
            r.failed,
            r.bad_rows,
            pct(r.hit_rate),
            r.session_hits,
            r.semantic_hits,
            r.misses
        ));
        out.push_str(&format!(
            "false hits {} of {} checked ({})\n",
            r.false_hits,
            r.hits_checked,
            pct(r.false_hit_rate)
        ));
        for (name, p) in [("hits", &r.latency_hits), ("misses", &r.latency_misses), ("all", &r.latency_all)] {
            out.push_str(&format!(
                "latency {name}: p50 {} p95 {} p99 {} ms ({} queries)\n",
                ms(p.p50_ms),
                ms(p.p95_ms),
                ms(p.p99_ms),
                p.count
            ));
        }
        out.push_str(&format!(
            "model calls {}, cost ${:.4}, saved ${:.4}, {:.1} s, {:.1} queries/s\n",
            r.model_calls, r.cost_usd, r.saved_usd, r.duration_s, r.queries_per_second
        ));
        for b in r.bad_row_list.iter().take(10) {
            out.push_str(&format!("  line {}: {}\n", b.line, term(&b.reason)));
        }
        for e in r.errors.iter().take(10) {
            out.push_str(&format!("  line {} failed: {}\n", e.line, term(&e.reason)));
        }
        out.push('\n');
    }
    out
}

#[derive(Args)]
pub struct SqlArgs {
    /// One read-only statement (SELECT, WITH, VALUES, TABLE); writes are refused before they run.
    sql: String,
    /// The profile whose PostgreSQL is the data source.
    #[arg(long)]
    profile: String,
    /// A parameter for $1, $2, … (bound as text; cast in the statement, `$1::int`).
    #[arg(long = "param")]
    params: Vec<String>,
    /// Run it on the server even when a fresh result is cached.
    #[arg(long)]
    no_cache: bool,
    #[arg(long)]
    json: bool,
}

pub async fn sql(service: &Service, args: SqlArgs) -> anyhow::Result<ExitCode> {
    use simba_core::engine::query::results::SqlRequest;
    let req = SqlRequest { profile: args.profile, sql: args.sql, params: args.params, bypass_cache: args.no_cache };
    match service.sql_query(req).await {
        Ok(a) if args.json => println!("{}", serde_json::to_string_pretty(&a)?),
        Ok(a) => {
            for row in &a.rows {
                println!("{}", term(&row.to_string()));
            }
            let source = if a.cached {
                format!("from the results cache, {} ms old", a.age_ms)
            } else {
                "from the server".into()
            };
            let cut = if a.truncated { " (cut: more rows were not read)" } else { "" };
            println!("{} rows{cut}, {source}, {:.1} ms; tables: {}", a.row_count, a.elapsed_ms, a.tables.join(", "));
        }
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct TaskArgs {
    /// The task's registered name.
    task: String,
    /// Its kind, which picks the queue: llm (llm_queue), data (data_queue), vector (vector_queue).
    #[arg(long, default_value = "llm")]
    kind: String,
    /// The positional arguments as a JSON array.
    #[arg(long, default_value = "[]")]
    args: String,
    /// The keyword arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    kwargs: String,
    /// The profile whose Celery broker (or Redis) takes the job; it must not be read-only.
    /// Without one the job runs on the in-process queues: `embed` (--kind vector, the texts as
    /// --args) or `complete` (--kind llm, the question as --args).
    #[arg(long)]
    profile: Option<String>,
    /// Seconds to wait for the result.
    #[arg(long, default_value_t = 30)]
    wait: u32,
    #[arg(long)]
    json: bool,
}

pub async fn task(service: &Service, args: TaskArgs) -> anyhow::Result<ExitCode> {
    use simba_core::api::query::TaskSendRequest;
    use simba_core::engine::work::TaskKind;
    let bad = |m: String| simba_core::ApiError::invalid(m);
    let kind = match args.kind.as_str() {
        "llm" => TaskKind::Llm,
        "data" => TaskKind::Data,
        "vector" => TaskKind::Vector,
        other => return Ok(report(&bad(format!("--kind is '{other}'; it must be llm, data or vector")), args.json)),
    };
    let parsed_args: Vec<serde_json::Value> = match serde_json::from_str(&args.args) {
        Ok(v) => v,
        Err(e) => return Ok(report(&bad(format!("--args is not a JSON array: {e}")), args.json)),
    };
    let kwargs: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(&args.kwargs) {
        Ok(v) => v,
        Err(e) => return Ok(report(&bad(format!("--kwargs is not a JSON object: {e}")), args.json)),
    };
    let req = TaskSendRequest {
        profile: args.profile,
        task: args.task,
        kind,
        args: parsed_args,
        kwargs,
        wait_seconds: args.wait,
    };
    match service.task_send(req).await {
        Ok(r) if args.json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => {
            let result = r.result.map(|v| v.to_string()).unwrap_or_default();
            println!("task {} {} {}", r.task_id, r.status, term(&result));
        }
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}
