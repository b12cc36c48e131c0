//! One query, as the platform runs it: the session cache, then the semantic cache
//! (`check_get_cache` in the query's scope), then the chat model, then both caches are updated
//! (`update_cache`). Every answer carries its whole trace: which level answered, the cache's
//! decision, where the time went, tokens and cost.
//!
//! Degradation: a cache that cannot be reached never stops a query; the answer comes from the
//! model and says it was not cached, and why. A model that fails is an error, unless the query
//! allows a stale answer and the session cache still holds one (marked stale).

pub mod bench;
pub mod prices;
pub mod replay;
pub mod results;
pub mod session;

use super::cache::conversation::{question_in_scope, Message};
use super::cache::types::{Lookup, Scope};
use super::cache::{validate_text, LookupTimings};
use super::llm::{ChatModel, ChatRequest, Completion, FinishReason, GenerationSettings};
use super::work::{JobOptions, TaskKind};
use super::Engine;
use crate::error::{ApiError, ApiResult};
use parking_lot::Mutex;
use prices::PriceTable;
use serde::{Deserialize, Serialize};
use session::SessionCache;
use std::sync::Arc;
use std::time::Instant;
use ts_rs::TS;

/// One query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueryRequest {
    /// User, item and the chat before the question (as for `cache_lookup`).
    pub scope: Scope,
    /// The question, or empty when `messages` holds the whole chat.
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    #[ts(optional)]
    pub messages: Option<Vec<Message>>,
    /// Generation settings; the engine's defaults when absent.
    #[serde(default)]
    #[ts(optional)]
    pub settings: Option<GenerationSettings>,
    /// Skip both caches (answer from the model, store nothing).
    #[serde(default)]
    pub bypass_cache: bool,
    /// When the model fails, answer with the session cache's expired answer, marked stale.
    #[serde(default)]
    pub allow_stale: bool,
}

/// Which level gave the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum AnswerSource {
    SessionCache,
    SemanticCache,
    Model,
    /// The model failed and an expired session answer was allowed.
    StaleSessionCache,
}

/// Hit or miss, as `cache lookup` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum QueryOutcome {
    Hit,
    Miss,
}

/// Where an answer's time went, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueryTimings {
    pub session_ms: f64,
    pub embed_ms: f64,
    pub search_ms: f64,
    pub judge_ms: f64,
    /// The semantic lookup as a whole (embedding, search, checks, judge).
    pub lookup_ms: f64,
    pub model_ms: f64,
    pub store_ms: f64,
    pub total_ms: f64,
}

/// Tokens and what they cost, in US dollars from the price table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueryCost {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cost_usd: f64,
    /// On a cache hit: what the model call would have cost (tokens estimated from the texts).
    pub saved_usd: f64,
    /// Whether the token counts are estimates (a hit) or the model's own (a model answer).
    pub estimated: bool,
}

/// An answer and its trace.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueryAnswer {
    pub answer: String,
    pub outcome: QueryOutcome,
    pub source: AnswerSource,
    /// The semantic cache's decision (similarity, matched query, namespace, or why the closest
    /// candidate was refused); absent when the session cache answered or the cache was skipped.
    pub lookup: Option<Lookup>,
    /// Whether the answer is now in the caches; when not, `not_cached_reason` says why.
    pub cached: bool,
    pub not_cached_reason: Option<String>,
    /// The model that answered or would have answered (`provider:model`).
    pub model: String,
    pub finish_reason: Option<FinishReason>,
    pub timings: QueryTimings,
    pub cost: QueryCost,
    /// Set when the answer is stale: why the model could not answer.
    pub stale_because: Option<String>,
}

/// Each level's hits and misses, and the model's calls, since the engine started.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueryStats {
    #[ts(type = "number")]
    pub queries: u64,
    #[ts(type = "number")]
    pub session_hits: u64,
    #[ts(type = "number")]
    pub semantic_hits: u64,
    #[ts(type = "number")]
    pub semantic_misses: u64,
    /// Queries answered without the cache since it could not be reached.
    #[ts(type = "number")]
    pub uncached: u64,
    #[ts(type = "number")]
    pub model_calls: u64,
    #[ts(type = "number")]
    pub model_errors: u64,
    #[ts(type = "number")]
    pub stale_answers: u64,
    #[ts(type = "number")]
    pub prompt_tokens: u64,
    #[ts(type = "number")]
    pub completion_tokens: u64,
    pub cost_usd: f64,
    pub saved_usd: f64,
    pub session_entries: u32,
    /// The query-results cache (read-only SQL on a data source) and the schema cache.
    pub results: results::LevelStats,
    pub schemas: results::LevelStats,
}

/// A piece of a streamed answer ([`QueryEngine::ask_streaming`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    Text(&'a str),
    /// The text so far is void and the answer starts again: the model call was run again after
    /// its worker died, or the model failed and the session cache's stale answer follows.
    Restart,
}

/// Receives a streamed answer.
pub type OnStream<'a> = &'a mut (dyn FnMut(StreamEvent<'_>) + Send);

/// The engine's query path: the caches around a chat model.
pub struct QueryEngine {
    model: Arc<dyn ChatModel>,
    session: SessionCache,
    results: results::ResultsCache,
    schemas: results::SchemaCache,
    prices: PriceTable,
    defaults: GenerationSettings,
    stats: Mutex<QueryStats>,
    /// Every answered query's total time, for /metrics.
    latency: Mutex<crate::engine::cache::stats::LatencyHistogram>,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl QueryEngine {
    pub fn new(model: Arc<dyn ChatModel>, prices: PriceTable) -> Self {
        Self {
            model,
            session: SessionCache::default(),
            results: results::ResultsCache::default(),
            schemas: results::SchemaCache::default(),
            prices,
            defaults: GenerationSettings::default(),
            stats: Mutex::new(QueryStats::default()),
            latency: Mutex::default(),
        }
    }

    pub fn with_session_cache(mut self, session: SessionCache) -> Self {
        self.session = session;
        self
    }

    pub fn model(&self) -> &Arc<dyn ChatModel> {
        &self.model
    }

    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    pub fn stats(&self) -> QueryStats {
        let mut s = self.stats.lock().clone();
        s.session_entries = self.session.len() as u32;
        s.results = self.results.stats();
        s.schemas = self.schemas.stats();
        s
    }

    /// The query-results cache for read-only SQL on data sources.
    pub fn results(&self) -> &results::ResultsCache {
        &self.results
    }

    /// The data-source schema (metadata) cache.
    pub fn schemas(&self) -> &results::SchemaCache {
        &self.schemas
    }

    /// Answers one query with `engine`'s semantic cache (see the module note for the order of the
    /// levels). The cache is asked for on every query, so a store that comes back is used again.
    pub async fn ask(&self, engine: &Engine, req: QueryRequest) -> ApiResult<QueryAnswer> {
        self.answer(engine, req, None, None).await
    }

    /// [`Self::ask`], handing the answer's text to `on` as the model streams it (a cache's
    /// answer comes as one piece). The answer returned is the same as `ask`'s; a stream that was
    /// cut is an error and nothing of it is cached.
    pub async fn ask_streaming(&self, engine: &Engine, req: QueryRequest, on: OnStream<'_>) -> ApiResult<QueryAnswer> {
        let mut streamed = false;
        let mut relay = |event: StreamEvent<'_>| {
            streamed |= matches!(event, StreamEvent::Text(_));
            on(event)
        };
        let answered = self.answer(engine, req, None, Some(&mut relay)).await;
        if let Ok(a) = &answered {
            match a.source {
                AnswerSource::Model => {}
                AnswerSource::StaleSessionCache => {
                    if streamed {
                        on(StreamEvent::Restart);
                    }
                    on(StreamEvent::Text(&a.answer));
                }
                AnswerSource::SessionCache | AnswerSource::SemanticCache => on(StreamEvent::Text(&a.answer)),
            }
        }
        answered
    }

    /// Answered queries' latency: (count at or below each bound in µs, count, sum µs).
    pub fn latency(&self, bounds_us: &[f64]) -> (Vec<u64>, u64, f64) {
        self.latency.lock().cumulative(bounds_us)
    }

    /// [`Self::ask`] with `stand_in` as the model's answer on a miss (replays that measure the
    /// caches alone). Its tokens are estimated from the texts.
    pub async fn ask_with_answer(&self, engine: &Engine, req: QueryRequest, stand_in: &str) -> ApiResult<QueryAnswer> {
        self.answer(engine, req, Some(stand_in), None).await
    }

    async fn answer(
        &self,
        engine: &Engine,
        req: QueryRequest,
        stand_in: Option<&str>,
        stream: Option<OnStream<'_>>,
    ) -> ApiResult<QueryAnswer> {
        let answered = self.answer_untimed(engine, req, stand_in, stream).await;
        if let Ok(a) = &answered {
            self.latency.lock().record(a.timings.total_ms * 1000.0);
        }
        answered
    }

    async fn answer_untimed(
        &self,
        engine: &Engine,
        req: QueryRequest,
        stand_in: Option<&str>,
        stream: Option<OnStream<'_>>,
    ) -> ApiResult<QueryAnswer> {
        let started = Instant::now();
        let (question, scope) = question_in_scope(req.query.clone(), req.messages.clone(), req.scope.clone())?;
        validate_text("query", &question)?;
        scope.validate().map_err(ApiError::invalid)?;
        let settings = req.settings.clone().unwrap_or_else(|| self.defaults.clone());
        settings.validate().map_err(ApiError::invalid)?;
        let model_id = self.model.id();
        let mut timings = QueryTimings::default();
        self.stats.lock().queries += 1;

        // 1. The session cache: this user's exact question, in this chat, lately.
        let session_key = SessionCache::key(&scope, &question, &model_id, &settings);
        if !req.bypass_cache {
            let t = Instant::now();
            let fresh = self.session.get(&session_key);
            timings.session_ms = ms(t);
            if let Some(answer) = fresh {
                timings.total_ms = ms(started);
                return Ok(self.hit(AnswerSource::SessionCache, answer, None, &scope, &question, model_id, timings));
            }
        }

        // 2. The semantic cache. An unreachable store or a missing model is an uncached answer.
        let mut not_cached_reason = req.bypass_cache.then(|| "the query asked to bypass the caches".to_string());
        let mut lookup = None;
        let mut cache = None;
        if !req.bypass_cache {
            let t = Instant::now();
            match engine.cache().await {
                Ok(c) => match c.check_get_cache_timed(&question, &scope).await {
                    Ok((found, lt)) => {
                        add_lookup_timings(&mut timings, &lt);
                        lookup = Some(found);
                        cache = Some(c);
                    }
                    Err(e) if e.code == crate::error::ErrorCode::InvalidInput => return Err(e),
                    Err(e) => not_cached_reason = Some(format!("the semantic cache failed: {}", e.message)),
                },
                Err(e) => not_cached_reason = Some(format!("the semantic cache is unavailable: {}", e.message)),
            }
            timings.lookup_ms = ms(t);
            if let Some(Lookup::Miss { reason, .. }) = &lookup {
                if reason.starts_with("cache store unavailable") {
                    not_cached_reason = Some(reason.clone());
                }
            }
        }
        if let Some(Lookup::Hit { response, .. }) = &lookup {
            let answer = response.clone();
            self.session.put(session_key, answer.clone());
            timings.total_ms = ms(started);
            return Ok(self.hit(AnswerSource::SemanticCache, answer, lookup, &scope, &question, model_id, timings));
        }
        {
            let mut stats = self.stats.lock();
            if lookup.is_some() {
                stats.semantic_misses += 1;
            }
            if not_cached_reason.is_some() && !req.bypass_cache {
                stats.uncached += 1;
            }
        }

        // 3. The model.
        let mut messages = scope.conversation.clone();
        messages.push(Message::user(question.clone()));
        let t = Instant::now();
        if stand_in.is_none() {
            self.stats.lock().model_calls += 1;
        }
        let called = match stand_in {
            Some(text) => Ok(Completion {
                text: text.to_string(),
                model: model_id.clone(),
                prompt_tokens: prices::estimate_tokens(messages.iter().map(|m| m.content.len()).sum()),
                completion_tokens: prices::estimate_tokens(text.len()),
                finish_reason: FinishReason::Stop,
            }),
            None => self.call_model(engine, ChatRequest { messages, settings: settings.clone() }, stream).await,
        };
        let completion = match called {
            Ok(c) => c,
            Err(e) => {
                self.stats.lock().model_errors += 1;
                let stale = if req.allow_stale { self.session.get_stale(&session_key) } else { None };
                let Some(answer) = stale else { return Err(e) };
                self.stats.lock().stale_answers += 1;
                timings.model_ms = ms(t);
                timings.total_ms = ms(started);
                return Ok(QueryAnswer {
                    answer,
                    outcome: QueryOutcome::Miss,
                    source: AnswerSource::StaleSessionCache,
                    lookup,
                    cached: false,
                    not_cached_reason: Some("a stale answer is not stored again".into()),
                    model: model_id,
                    finish_reason: None,
                    timings,
                    cost: QueryCost::default(),
                    stale_because: Some(e.message),
                });
            }
        };
        timings.model_ms = ms(t);
        let price = self.prices.price_of(&model_id);
        let cost = QueryCost {
            prompt_tokens: completion.prompt_tokens,
            completion_tokens: completion.completion_tokens,
            cost_usd: price.cost(completion.prompt_tokens, completion.completion_tokens),
            saved_usd: 0.0,
            estimated: stand_in.is_some(),
        };
        {
            let mut stats = self.stats.lock();
            stats.prompt_tokens += completion.prompt_tokens as u64;
            stats.completion_tokens += completion.completion_tokens as u64;
            stats.cost_usd += cost.cost_usd;
        }

        // 4. Update the caches, but only with a whole answer.
        let mut cached = false;
        if not_cached_reason.is_none() {
            if completion.finish_reason != FinishReason::Stop {
                not_cached_reason = Some(format!(
                    "the answer ended with {:?}, not a full stop; only whole answers are cached",
                    completion.finish_reason
                ));
            } else if let Some(cache) = &cache {
                let t = Instant::now();
                match cache.update_cache(&question, &completion.text, &scope, None).await {
                    Ok(_) => cached = true,
                    Err(e) => not_cached_reason = Some(format!("the answer could not be cached: {}", e.message)),
                }
                timings.store_ms = ms(t);
                self.session.put(session_key, completion.text.clone());
            }
        }
        timings.total_ms = ms(started);
        Ok(QueryAnswer {
            answer: completion.text,
            outcome: QueryOutcome::Miss,
            source: AnswerSource::Model,
            lookup,
            cached,
            not_cached_reason,
            model: model_id,
            finish_reason: Some(completion.finish_reason),
            timings,
            cost,
            stale_because: None,
        })
    }

    /// The model call as a job on `llm_queue`, so its worker and prefetch limits bound how many
    /// model calls run at once. The providers' clients retry on their own; a call whose worker
    /// died is run again (streamed, with a [`StreamEvent::Restart`] before its new text).
    pub async fn call_model(
        &self,
        engine: &Engine,
        request: ChatRequest,
        stream: Option<OnStream<'_>>,
    ) -> ApiResult<Completion> {
        let model = self.model.clone();
        let request = Arc::new(request);
        let options = JobOptions { no_error_retries: true, ..Default::default() };
        let queues = engine.work()?;
        let Some(on) = stream else {
            return queues
                .run(TaskKind::Llm, "llm.complete", options, move |_| {
                    let (model, request) = (model.clone(), request.clone());
                    async move { model.complete(&request).await }
                })
                .await;
        };
        // The job runs on a worker: its text comes back over a channel, tagged by run so a
        // redelivered call's text is told from the first's.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u32, String)>();
        let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let handle = queues.submit(TaskKind::Llm, "llm.complete_streaming", options, move |_| {
            let (model, request, tx) = (model.clone(), request.clone(), tx.clone());
            let run = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                let send = move |text: &str| {
                    let _ = tx.send((run, text.to_string()));
                };
                model.complete_streaming(&request, &send).await
            }
        });
        let mut current = None;
        let mut forward = |(run, text): (u32, String)| {
            if current.is_some_and(|c| c != run) {
                on(StreamEvent::Restart);
            }
            current = Some(run);
            on(StreamEvent::Text(&text));
        };
        let wait = handle.wait();
        tokio::pin!(wait);
        let finished = loop {
            tokio::select! {
                Some(piece) = rx.recv() => forward(piece),
                finished = &mut wait => break finished,
            }
        };
        // Pieces sent before the job ended and not yet read.
        while let Ok(piece) = rx.try_recv() {
            forward(piece);
        }
        finished
    }

    /// A cache level's answer, counted in the stats with what it saved.
    #[allow(clippy::too_many_arguments)]
    fn hit(
        &self,
        source: AnswerSource,
        answer: String,
        lookup: Option<Lookup>,
        scope: &Scope,
        question: &str,
        model: String,
        timings: QueryTimings,
    ) -> QueryAnswer {
        let cost = self.saved(scope, question, &answer);
        let mut stats = self.stats.lock();
        match source {
            AnswerSource::SessionCache => stats.session_hits += 1,
            _ => stats.semantic_hits += 1,
        }
        stats.saved_usd += cost.saved_usd;
        drop(stats);
        QueryAnswer {
            answer,
            outcome: QueryOutcome::Hit,
            source,
            lookup,
            cached: true,
            not_cached_reason: None,
            model,
            finish_reason: None,
            timings,
            cost,
            stale_because: None,
        }
    }

    /// What a model call for this question would have cost; tokens estimated at four characters each.
    fn saved(&self, scope: &Scope, question: &str, answer: &str) -> QueryCost {
        let prompt_chars: usize = scope.conversation.iter().map(|m| m.content.len()).sum::<usize>() + question.len();
        let prompt_tokens = prices::estimate_tokens(prompt_chars);
        let completion_tokens = prices::estimate_tokens(answer.len());
        let saved = self.prices.price_of(&self.model.id()).cost(prompt_tokens, completion_tokens);
        QueryCost { prompt_tokens, completion_tokens, cost_usd: 0.0, saved_usd: saved, estimated: true }
    }
}

fn add_lookup_timings(timings: &mut QueryTimings, lt: &LookupTimings) {
    timings.embed_ms = us_to_ms(lt.embed_us);
    timings.search_ms = us_to_ms(lt.search_us);
    timings.judge_ms = us_to_ms(lt.judge_us);
}
