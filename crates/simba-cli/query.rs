//! `simba-tuner query`: one query through the caches and the chat model, with its trace.

use crate::cache::{read_chat, ScopeArgs};
use crate::output::term;
use crate::report;
use clap::Args;
use simba_core::engine::llm::GenerationSettings;
use simba_core::engine::query::{AnswerSource, QueryAnswer, QueryRequest};
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
    match service.query(req).await {
        Ok(a) if args.json => println!("{}", serde_json::to_string_pretty(&a)?),
        Ok(a) => print!("{}", answer_text(&a)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn answer_text(a: &QueryAnswer) -> String {
    let t = &a.timings;
    let source = match a.source {
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
    };
    let mut out = format!("{source}\n\n{}\n\n", term(&a.answer));
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
