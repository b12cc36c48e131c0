//! The semantic cache: `check_get_cache` / `update_cache` as the platform uses them, with
//! per-user namespaces, item isolation, conversation context, TTL, a max-entries cap with LRU
//! eviction, shadow mode, statistics and checks on the best candidates before anything is served.

pub mod conversation;
pub mod decide;
pub mod stats;
pub mod types;
pub mod verify;

use crate::engine::embed::{EmbedError, Embedder, MAX_QUERY_BYTES};
use crate::engine::judge::Judge;
use crate::engine::lazy::Lazy;
use crate::engine::store::{CacheStore, Invalidation, NamespaceUsage};
use crate::error::{ApiError, ApiResult, ErrorCode};
use decide::{Checks, JudgePolicy, Step};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use stats::{CounterTable, LatencyHistogram, LatencySummary, NamespaceCounters, SCORE_BINS};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use ts_rs::TS;
use types::*;

/// How many nearest candidates a lookup weighs before it gives up.
const CANDIDATES: usize = 5;

pub struct SemanticCache {
    embedder: Arc<dyn Embedder>,
    /// Reads a candidate together with the query where `cache::decide` leaves it the decision
    /// (under the threshold down to its floor, or over an objection about wording). Loaded on
    /// the first lookup with a candidate; one that fails to load leaves the checks to decide alone.
    judge: Option<Arc<Lazy<Judge>>>,
    store: Arc<dyn CacheStore>,
    template_version: RwLock<String>,
    settings: RwLock<SettingsTable>,
    counters: Mutex<CounterTable>,
    latency: Mutex<LatencyHistogram>,
}

#[derive(Default)]
struct SettingsTable {
    defaults: CacheSettings,
    per_namespace: HashMap<String, CacheSettings>,
}

/// One namespace as the Cache page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NamespaceStats {
    pub id: String,
    pub namespace: Namespace,
    #[ts(type = "number")]
    pub entries: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub hits: u64,
    #[ts(type = "number")]
    pub misses: u64,
    pub hit_rate: Option<f64>,
    /// Over the last five minutes.
    pub recent_hit_rate: Option<f64>,
    #[ts(type = "number")]
    pub evictions: u64,
    #[ts(type = "number")]
    pub expirations: u64,
    #[ts(type = "number")]
    pub shadow_hits: u64,
    /// Best-candidate similarity of lookups, 20 bins over 0–1.
    #[ts(type = "Array<number>")]
    pub score_histogram: Vec<u64>,
    pub settings: CacheSettings,
}

/// The whole cache's figures.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheStats {
    pub backend: String,
    /// How the store searches, e.g. which server-side vector search a Redis offers.
    pub backend_detail: String,
    pub embedding_model: String,
    pub template_version: String,
    pub defaults: CacheSettings,
    #[ts(type = "number")]
    pub entries: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub hits: u64,
    #[ts(type = "number")]
    pub misses: u64,
    pub hit_rate: Option<f64>,
    #[ts(type = "number")]
    pub evictions: u64,
    #[ts(type = "number")]
    pub expirations: u64,
    pub lookup_latency: LatencySummary,
    pub namespaces: Vec<NamespaceStats>,
}

/// What cleanup removed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CleanupReport {
    #[ts(type = "number")]
    pub expired_removed: u64,
    #[ts(type = "number")]
    pub evicted_for_cap: u64,
}

/// How an embedding failure reaches the user (also when the model or provider is first loaded).
/// Where a lookup's time went, in microseconds. `judge_us` is 0 when no candidate needed the judge.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LookupTimings {
    #[ts(type = "number")]
    pub embed_us: u64,
    #[ts(type = "number")]
    pub search_us: u64,
    #[ts(type = "number")]
    pub judge_us: u64,
    /// The whole lookup: the above, the checks and the hit's bookkeeping.
    #[ts(type = "number")]
    pub total_us: u64,
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros().min(u64::MAX as u128) as u64
}

pub fn embed_error(e: EmbedError) -> ApiError {
    match e {
        EmbedError::InvalidInput(m) => ApiError::invalid(m),
        EmbedError::ModelMissing { .. } => ApiError::new(ErrorCode::MissingResource, e.to_string()),
        EmbedError::Config(_) => ApiError::new(ErrorCode::BadConfig, e.to_string()),
        EmbedError::Provider(_) => ApiError::new(ErrorCode::Unreachable, e.to_string()),
        other => ApiError::internal(other.to_string()),
    }
}

/// Rejects queries the cache must not take, with a message that says why.
pub fn validate_text(what: &str, text: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid(format!("the {what} is empty")));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(ApiError::invalid(format!(
            "the {what} is {} bytes; the cache takes at most {MAX_QUERY_BYTES} bytes",
            text.len()
        )));
    }
    if text.chars().any(|c| c == '\0') {
        return Err(ApiError::invalid(format!("the {what} contains a NUL character")));
    }
    Ok(())
}

/// Rejects a scope the cache must not take (see [`Scope::validate`]).
pub fn validate_scope(scope: &Scope) -> ApiResult<()> {
    scope.validate().map_err(|m| ApiError::invalid(format!("scope: {m}")))
}

/// The key the defaults are saved under (no namespace id is empty).
const DEFAULTS_KEY: &str = "";

/// Longest namespace id settings are kept for (its parts are at most `MAX_SCOPE_ID_BYTES` each,
/// escaped).
const MAX_NAMESPACE_ID_BYTES: usize = 4096;

fn new_id() -> u64 {
    // 63 bits: fits SQL BIGINT.
    rand::random::<u64>() >> 1
}

impl SemanticCache {
    pub fn new(embedder: Arc<dyn Embedder>, store: Arc<dyn CacheStore>) -> Self {
        Self {
            embedder,
            judge: None,
            store,
            template_version: RwLock::new("v1".into()),
            settings: RwLock::new(SettingsTable::default()),
            counters: Mutex::new(CounterTable::default()),
            latency: Mutex::new(LatencyHistogram::default()),
        }
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// Lets `judge` decide what the checks and the threshold leave to it (see `cache::decide`).
    pub fn with_judge(mut self, judge: Option<Arc<Judge>>) -> Self {
        self.judge = judge.map(|j| Arc::new(Lazy::new("the judge", None, move || Ok(j.clone()))));
        self
    }

    /// As [`Self::with_judge`], with a judge loaded when a lookup first needs it (see [`Lazy`]).
    pub fn with_judge_on_demand(mut self, judge: Arc<Lazy<Judge>>) -> Self {
        self.judge = Some(judge);
        self
    }

    /// The judge, loaded now (off the async threads) if it is not; `None` when there is none or
    /// it failed to load.
    async fn judge_now(&self) -> Option<Arc<Judge>> {
        let slot = self.judge.clone()?;
        let got = match slot.get_if_settled() {
            Some(got) => got,
            None => tokio::task::spawn_blocking(move || slot.get())
                .await
                .unwrap_or_else(|e| Err(format!("the judge's loading stopped: {e}"))),
        };
        got.ok()
    }

    /// For each of `n` candidates, why the judge will not vouch for it; only those in `asked`
    /// (index, the (incoming, cached) texts it must vouch for: the asked texts, and earlier turns
    /// only reworded) are read, in one batch, off the async threads (a pass takes milliseconds).
    /// A candidate's score is its lowest. A judge that fails refuses them all: a miss, never a
    /// wrong hit.
    async fn judge_refusals(
        &self,
        asked: Vec<JudgeAsked>,
        n: usize,
        judge: Option<Arc<Judge>>,
        policy: Option<JudgePolicy>,
    ) -> Vec<Option<String>> {
        let mut out = vec![Some("not asked".to_string()); n];
        let (Some(judge), Some(policy)) = (judge, policy) else {
            out.fill(Some("the judge is off".into()));
            return out;
        };
        let mut checks = vec![Checks::Agree; n];
        for (i, c, _) in &asked {
            checks[*i] = *c;
        }
        let owners: Vec<usize> = asked.iter().flat_map(|(i, _, pairs)| pairs.iter().map(move |_| *i)).collect();
        let texts: Vec<(String, String)> = asked.into_iter().flat_map(|(_, _, pairs)| pairs).collect();
        let scored = tokio::task::spawn_blocking(move || {
            let pairs: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            judge.score(&pairs).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("the judge failed: {e}")));
        match scored {
            Ok(scores) => {
                let mut lowest: Vec<Option<f32>> = vec![None; n];
                for (&i, s) in owners.iter().zip(scores) {
                    lowest[i] = Some(lowest[i].map_or(s, |l| decide::lowest_score(l, s)));
                }
                for (i, score) in lowest.into_iter().enumerate() {
                    if let Some(s) = score {
                        out[i] = (!policy.vouches(s, checks[i]))
                            .then(|| format!("the judge gives {s:.3} (needs {:.3})", policy.bar(checks[i])));
                    }
                }
            }
            Err(e) => {
                // `e` reads "the judge failed: …".
                tracing::warn!("refusing the judge's candidates: {e}");
                out.fill(Some(e));
            }
        }
        out
    }

    pub fn store(&self) -> &Arc<dyn CacheStore> {
        &self.store
    }

    /// The prompt/template version is part of every namespace: bumping it starts fresh namespaces.
    pub fn set_template_version(&self, version: &str) {
        *self.template_version.write() = version.to_string();
    }

    pub fn partition(&self, scope: &Scope) -> Partition {
        Partition::new(scope, self.embedder.model_id(), &self.template_version.read())
    }

    /// Whether `namespace_id` has settings of its own (else it follows the defaults).
    pub fn namespace_has_own_settings(&self, namespace_id: &str) -> bool {
        self.settings.read().per_namespace.contains_key(namespace_id)
    }

    pub fn settings_for(&self, namespace_id: &str) -> CacheSettings {
        let t = self.settings.read();
        t.per_namespace.get(namespace_id).cloned().unwrap_or_else(|| t.defaults.clone())
    }

    /// Changes the defaults (`namespace` None) or one namespace's settings, at run time. They are
    /// kept in the store before this returns, so they apply again after a restart.
    pub async fn set_settings(&self, namespace: Option<&str>, settings: CacheSettings) -> ApiResult<()> {
        settings.validate().map_err(ApiError::invalid)?;
        let key = namespace.unwrap_or(DEFAULTS_KEY);
        if namespace.is_some_and(|ns| ns.is_empty() || ns.len() > MAX_NAMESPACE_ID_BYTES) {
            return Err(ApiError::invalid(
                "the namespace id is empty or too long; use an id as the cache's figures show it (leave it out for the defaults)",
            ));
        }
        let json = serde_json::to_string(&settings).map_err(|e| ApiError::internal(e.to_string()))?;
        self.store.save_settings(key, &json).await.map_err(|e| {
            ApiError::new(ErrorCode::Unreachable, format!("could not keep the settings, nothing changed: {e}"))
        })?;
        let mut t = self.settings.write();
        match namespace {
            None => t.defaults = settings,
            Some(ns) => {
                t.per_namespace.insert(ns.to_string(), settings);
            }
        }
        Ok(())
    }

    /// Reads the settings the store kept (at open). Settings that no longer parse or validate are
    /// skipped with a warning: the defaults apply there.
    pub async fn load_settings(&self) -> ApiResult<()> {
        let kept = self.store.load_settings().await.map_err(|e| {
            ApiError::new(ErrorCode::Unreachable, format!("could not read the cache's saved settings: {e}"))
        })?;
        let mut t = self.settings.write();
        for (key, json) in kept {
            let parsed = serde_json::from_str::<CacheSettings>(&json)
                .map_err(|e| e.to_string())
                .and_then(|s| s.validate().map(|_| s));
            match parsed {
                Ok(s) if key == DEFAULTS_KEY => t.defaults = s,
                Ok(s) => {
                    t.per_namespace.insert(key, s);
                }
                Err(e) => tracing::warn!(namespace = %key, "ignoring saved cache settings that are not valid: {e}"),
            }
        }
        Ok(())
    }

    fn embed(&self, text: &str) -> ApiResult<Vec<f32>> {
        self.embedder.embed(text).map_err(embed_error)
    }

    /// Why a text cannot be matched by its vector: the model reads only its beginning (another
    /// text with the same beginning would get the same vector). `None` when the model reads it all.
    fn too_long(&self, text: &str) -> ApiResult<Option<String>> {
        Ok(self.embedder.overflow(text).map_err(embed_error)?.map(|o| format!("longer than the model reads ({o})")))
    }

    /// Refuses to store a text the model reads only part of: it could never be served safely.
    fn check_storable(&self, query: &str) -> ApiResult<()> {
        match self.too_long(query)? {
            Some(why) => Err(ApiError::invalid(format!(
                "the query \"{}\" is {why}; it is not cached, since any question starting the same way \
                 would match it. Shorten it, or answer it without the cache",
                clip(query, 60)
            ))),
            None => Ok(()),
        }
    }

    /// Looks `query` up in `scope`'s partition. A store failure is a miss with a warning, never a
    /// wrong hit; bad input is an error that says what is wrong.
    pub async fn check_get_cache(&self, query: &str, scope: &Scope) -> ApiResult<Lookup> {
        self.check_get_cache_timed(query, scope).await.map(|(lookup, _)| lookup)
    }

    /// [`Self::check_get_cache`], with where its time went (the query engine's trace shows it).
    pub async fn check_get_cache_timed(&self, query: &str, scope: &Scope) -> ApiResult<(Lookup, LookupTimings)> {
        let mut timings = LookupTimings::default();
        validate_text("query", query)?;
        validate_scope(scope)?;
        let started = Instant::now();
        let partition = self.partition(scope);
        let ns_id = partition.namespace.id();
        let settings = self.settings_for(&ns_id);
        let now = now_ms();
        let asked = conversation::asked(&scope.conversation, query);
        let beyond_reach = asked.beyond_reach.then(conversation::beyond_reach_reason);
        if let Some(why) = beyond_reach.or(self.too_long(&asked.text)?) {
            self.counters.lock().entry(&ns_id).record(now, false, None);
            self.latency.lock().record(started.elapsed().as_secs_f64() * 1e6);
            let miss = Lookup::Miss {
                namespace: ns_id,
                best_similarity: None,
                reason: format!("the query is {why}: never answered from the cache"),
                shadow_hit: None,
            };
            return Ok((miss, timings));
        }
        let query = asked.text.as_str();
        // Entries are found by their question (a follow-up is found in every chat it was asked
        // in), then decided on what each asks: the turns it depends on and the question.
        let step_started = Instant::now();
        let vector = self.embed(&asked.question)?;
        timings.embed_us = micros(step_started);
        let step_started = Instant::now();
        let searched = self.store.search(&partition, &vector, CANDIDATES, now).await;
        timings.search_us = micros(step_started);
        let found = match searched {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(namespace = %ns_id, "semantic cache lookup failed, answering as a miss: {e}");
                self.counters.lock().entry(&ns_id).record(now, false, None);
                let miss = Lookup::Miss {
                    namespace: ns_id,
                    best_similarity: None,
                    reason: format!("cache store unavailable: {e}"),
                    shadow_hit: None,
                };
                return Ok((miss, timings));
            }
        };
        let candidates = self.similarities_of_asked(&asked, &vector, found)?;
        let best_similarity = candidates.first().map(|f| f.similarity);
        let mut chosen = None;
        let mut reason = match best_similarity {
            None => "no entries in this namespace".to_string(),
            Some(s) => format!("best similarity {s:.3} is below the threshold {:.3}", settings.similarity_threshold),
        };
        // Settings are validated when set, so this only fails on a clock past the year 292 million:
        // then the entry keeps its expiry.
        let new_expiry =
            if settings.refresh_ttl_on_hit { expiry_after(now, settings.ttl_seconds).ok().flatten() } else { None };
        // No candidate, nothing to judge: an empty namespace never loads the judge.
        let judge = if candidates.is_empty() { None } else { self.judge_now().await };
        let judge_policy = JudgePolicy::from_settings(&settings, judge.is_some());
        let lowest = decide::lowest_served(settings.similarity_threshold, judge_policy);
        // The checks are cheap: run them on every candidate that could be served, so the judge,
        // if needed, reads all its candidates in one batch (one pass, not one per candidate).
        let considered: Vec<Considered> = candidates
            .iter()
            .take_while(|f| f.similarity.is_finite() && f.similarity >= lowest)
            .map(|Found { entry, theirs, similarity, unrelated_chats }| {
                // An entry stored before long texts were refused: its vector stands for its
                // beginning only, so it is never served.
                if let Ok(Some(why)) = self.too_long(&theirs.text) {
                    return Considered {
                        entry,
                        similarity: *similarity,
                        objection: Some(verify::Objection::new("too_long", format!("the cached query is {why}"))),
                        step: Step::Refuse,
                        judge_pairs: vec![],
                    };
                }
                let checks = if !settings.verify_candidates || *unrelated_chats {
                    decide::ChatChecks::default()
                } else {
                    decide::checks_for(&asked, theirs)
                };
                let step = decide::first_step(
                    *similarity,
                    settings.similarity_threshold,
                    Checks::of(checks.objection.as_ref()),
                    judge_policy,
                );
                let mut judge_pairs = vec![(query.to_string(), theirs.text.clone())];
                judge_pairs.extend(checks.reworded_turns);
                Considered { entry, similarity: *similarity, objection: checks.objection, step, judge_pairs }
            })
            .collect();
        let mut judged: Option<Vec<Option<String>>> = None;
        // A miss explains the closest candidate's refusal, not the last one's.
        let mut refused_closest = false;
        for (i, Considered { entry, similarity: sim, objection, step, .. }) in considered.iter().enumerate() {
            match step {
                Step::Serve => {}
                Step::Refuse => {
                    if let Some(why) = objection.as_ref().filter(|_| !refused_closest) {
                        reason = format!("closest match \"{}\" ({sim:.3}) refused: {why}", clip(&entry.query, 80));
                    }
                    refused_closest = true;
                    continue;
                }
                Step::AskJudge => {
                    if judged.is_none() {
                        let asked = considered
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| c.step == Step::AskJudge)
                            .map(|(j, c)| (j, Checks::of(c.objection.as_ref()), c.judge_pairs.clone()))
                            .collect();
                        let step_started = Instant::now();
                        judged = Some(self.judge_refusals(asked, considered.len(), judge.clone(), judge_policy).await);
                        timings.judge_us = micros(step_started);
                    }
                    if let Some(refusal) = judged.as_ref().and_then(|r| r[i].as_ref()) {
                        if !refused_closest {
                            let checks = objection.as_ref().map(|o| format!("{o}; ")).unwrap_or_default();
                            reason = format!(
                                "closest match \"{}\" ({sim:.3}) refused: {checks}{refusal}",
                                clip(&entry.query, 80)
                            );
                        }
                        refused_closest = true;
                        continue;
                    }
                }
            }
            if !settings.shadow_mode {
                // Confirm the entry still exists in the store (it may have expired or been evicted there).
                match self.store.record_hit(entry.id, now, new_expiry).await {
                    Ok(true) => {}
                    Ok(false) => {
                        reason = "the matching entry was evicted or expired in the store".into();
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(namespace = %ns_id, "could not confirm a cache hit, answering as a miss: {e}");
                        reason = format!("cache store unavailable: {e}");
                        break;
                    }
                }
            }
            chosen = Some(((*entry).clone(), *sim));
            break;
        }
        let hit = chosen.is_some() && !settings.shadow_mode;
        self.counters.lock().entry(&ns_id).record(now, hit, best_similarity);
        let result = match chosen {
            Some((entry, similarity)) if !settings.shadow_mode => Lookup::Hit {
                response: entry.response,
                similarity,
                matched_query: entry.query,
                entry_age_ms: now.saturating_sub(entry.created_at_ms).max(0),
                entry_id: entry.id,
                namespace: ns_id,
            },
            Some((entry, similarity)) => {
                self.counters.lock().entry(&ns_id).shadow_hits += 1;
                Lookup::Miss {
                    namespace: ns_id,
                    best_similarity,
                    reason: format!("shadow mode: would have served \"{}\" ({similarity:.3})", clip(&entry.query, 80)),
                    shadow_hit: Some(entry.query),
                }
            }
            None => Lookup::Miss { namespace: ns_id, best_similarity, reason, shadow_hit: None },
        };
        self.latency.lock().record(started.elapsed().as_secs_f64() * 1e6);
        timings.total_us = micros(started);
        Ok((result, timings))
    }

    /// Each found entry as what it asks, with the similarity it is decided at: for two questions
    /// asked on their own, their vectors' cosine (as found); where either depends on earlier
    /// turns, the cosine of the asked texts (the turns, then the question), or 1 for the same
    /// question after unrelated turns. Sorted closest first.
    fn similarities_of_asked(
        &self,
        asked: &conversation::Asked,
        question_vector: &[f32],
        found: Vec<(CacheEntry, f32)>,
    ) -> ApiResult<Vec<Found>> {
        let mut out: Vec<Found> = found
            .into_iter()
            .map(|(entry, similarity)| {
                let theirs = conversation::Asked::stored(&entry.query, entry.context.clone(), entry.background.clone());
                let unrelated_chats = conversation::same_question_in_unrelated_chats(&theirs, asked);
                Found { entry, theirs, similarity, unrelated_chats }
            })
            .collect();
        // Every entry whose similarity changes is embedded as what it asks, in one batch (stores
        // do not all return vectors, and a context-free entry's vector is its question's anyway).
        let reread = |f: &Found| !f.unrelated_chats && (!f.entry.context.is_empty() || !asked.context.is_empty());
        let texts: Vec<&str> = out.iter().filter(|f| reread(f)).map(|f| f.theirs.text.as_str()).collect();
        if texts.is_empty() && !out.iter().any(|f| f.unrelated_chats) {
            return Ok(out); // as found, in the store's order
        }
        if !texts.is_empty() {
            let asked_vector =
                if asked.context.is_empty() { question_vector.to_vec() } else { self.embed(&asked.text)? };
            let vectors = self.embedder.embed_batch(&texts).map_err(embed_error)?;
            let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
            for (f, v) in out.iter_mut().filter(|f| reread(f)).zip(vectors) {
                f.similarity = cosine(&asked_vector, &v);
            }
        }
        for f in out.iter_mut().filter(|f| f.unrelated_chats) {
            f.similarity = 1.0;
        }
        out.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        Ok(out)
    }

    /// Stores `response` for `query` in `scope`'s partition; `ttl_seconds` overrides the
    /// namespace's TTL (0 = no expiry). Returns the entry id once it is durable.
    pub async fn update_cache(
        &self,
        query: &str,
        response: &str,
        scope: &Scope,
        ttl_seconds: Option<u64>,
    ) -> ApiResult<u64> {
        validate_text("query", query)?;
        validate_scope(scope)?;
        if response.is_empty() {
            return Err(ApiError::invalid("the response is empty; nothing to cache"));
        }
        if let Some(ttl) = ttl_seconds {
            expiry_after(0, ttl).map_err(ApiError::invalid)?;
        }
        let asked = self.asked_storable(query, scope)?;
        // Found by its question; decided on what it asks (see `check_get_cache`).
        let vector = self.embed(query)?;
        self.insert_embedded(query, asked, response, scope, vector, ttl_seconds).await
    }

    /// What `query` asks in `scope`'s chat, refused when it could never be served safely.
    fn asked_storable(&self, query: &str, scope: &Scope) -> ApiResult<conversation::Asked> {
        let asked = conversation::asked(&scope.conversation, query);
        if asked.beyond_reach {
            return Err(ApiError::invalid(format!(
                "the query \"{}\" {}; it is not cached, since no lookup could tell what it means",
                clip(query, 60),
                conversation::beyond_reach_reason()
            )));
        }
        self.check_storable(&asked.text)?;
        Ok(asked)
    }

    async fn insert_embedded(
        &self,
        query: &str,
        asked: conversation::Asked,
        response: &str,
        scope: &Scope,
        embedding: Vec<f32>,
        ttl_seconds: Option<u64>,
    ) -> ApiResult<u64> {
        let partition = self.partition(scope);
        let ns = partition.namespace.clone();
        let ns_id = ns.id();
        let settings = self.settings_for(&ns_id);
        let now = now_ms();
        let ttl = ttl_seconds.unwrap_or(settings.ttl_seconds);
        let expires_at_ms = expiry_after(now, ttl).map_err(ApiError::invalid)?;
        let entry = CacheEntry {
            id: new_id(),
            partition,
            context: asked.context,
            background: asked.background,
            query: query.to_string(),
            response: response.to_string(),
            embedding,
            created_at_ms: now,
            expires_at_ms,
            last_hit_at_ms: now,
            hits: 0,
        };
        let id = entry.id;
        self.store
            .insert(entry)
            .await
            .map_err(|e| ApiError::new(ErrorCode::Unreachable, format!("could not store the cache entry: {e}")))?;
        // The cap holds whatever the TTLs: evict least recently used beyond max_entries.
        match self.store.enforce_cap(&ns, settings.max_entries).await {
            Ok(n) if n > 0 => self.counters.lock().entry(&ns_id).evictions += n,
            Ok(_) => {}
            Err(e) => tracing::warn!("could not enforce max_entries: {e}"),
        }
        Ok(id)
    }

    /// Stores many pairs with one batched embedding pass (warm-up, imports).
    pub async fn update_many(
        &self,
        pairs: &[(String, String)],
        scope: &Scope,
        mut progress: impl FnMut(usize),
    ) -> ApiResult<usize> {
        validate_scope(scope)?;
        let mut stored = 0;
        for chunk in pairs.chunks(32) {
            for (q, r) in chunk {
                validate_text("query", q)?;
                if r.is_empty() {
                    return Err(ApiError::invalid(format!("the response for \"{}\" is empty", clip(q, 60))));
                }
            }
            let asked = chunk.iter().map(|(q, _)| self.asked_storable(q, scope)).collect::<ApiResult<Vec<_>>>()?;
            let texts: Vec<&str> = chunk.iter().map(|(q, _)| q.as_str()).collect();
            let vectors = self.embedder.embed_batch(&texts).map_err(embed_error)?;
            for (((q, r), a), v) in chunk.iter().zip(asked).zip(vectors) {
                self.insert_embedded(q, a, r, scope, v, None).await?;
                stored += 1;
            }
            progress(stored);
        }
        Ok(stored)
    }

    pub async fn invalidate(&self, what: &Invalidation) -> ApiResult<u64> {
        self.store
            .invalidate(what)
            .await
            .map_err(|e| ApiError::new(ErrorCode::Unreachable, format!("could not invalidate: {e}")))
    }

    /// Bumping a data source's version invalidates every entry cached for it.
    pub async fn bump_item_version(&self, tenant: &str, item: &str) -> ApiResult<u64> {
        self.invalidate(&Invalidation::Item { tenant: tenant.into(), item: item.into() }).await
    }

    /// Smart cleanup: expired entries first, then least recently used beyond each namespace's cap.
    /// Only entries of this cache are touched, never other keys.
    pub async fn cleanup(&self) -> ApiResult<CleanupReport> {
        let store_err = |e: crate::engine::store::StoreError| ApiError::new(ErrorCode::Unreachable, e.to_string());
        let expired = self.store.purge_expired(now_ms()).await.map_err(store_err)?;
        let mut evicted = 0;
        for usage in self.store.namespaces().await.map_err(store_err)? {
            let cap = self.settings_for(&usage.id).max_entries;
            let n = self.store.enforce_cap(&usage.namespace, cap).await.map_err(store_err)?;
            if n > 0 {
                self.counters.lock().entry(&usage.id).evictions += n;
            }
            evicted += n;
        }
        if expired > 0 {
            // Expirations are not attributed per namespace by the store; count them on the total.
            self.counters.lock().entry("").expirations += expired;
        }
        Ok(CleanupReport { expired_removed: expired, evicted_for_cap: evicted })
    }

    /// Entries of a namespace nearest to `text`, with their similarity (for the Cache page).
    pub async fn search(&self, scope: &Scope, text: &str, k: usize) -> ApiResult<Vec<EntryView>> {
        validate_text("search text", text)?;
        validate_scope(scope)?;
        let partition = self.partition(scope);
        let vector = self.embed(text)?;
        let found = self
            .store
            .search(&partition, &vector, k.clamp(1, 100), now_ms())
            .await
            .map_err(|e| ApiError::new(ErrorCode::Unreachable, e.to_string()))?;
        Ok(found.iter().map(|(e, s)| EntryView::of(e, Some(*s))).collect())
    }

    pub async fn stats(&self) -> ApiResult<CacheStats> {
        let usage: Vec<NamespaceUsage> =
            self.store.namespaces().await.map_err(|e| ApiError::new(ErrorCode::Unreachable, e.to_string()))?;
        let now = now_ms();
        let counters = self.counters.lock();
        let mut namespaces = Vec::new();
        for u in &usage {
            let c = counters.get(&u.id).cloned().unwrap_or_default();
            namespaces.push(NamespaceStats {
                id: u.id.clone(),
                namespace: u.namespace.clone(),
                entries: u.entries,
                bytes: u.bytes,
                hits: c.hits,
                misses: c.misses,
                hit_rate: crate::sources::redis::ratio(c.hits, c.misses),
                recent_hit_rate: c.recent_hit_rate(now),
                evictions: c.evictions,
                expirations: c.expirations,
                shadow_hits: c.shadow_hits,
                score_histogram: c.scores.to_vec(),
                settings: self.settings_for(&u.id),
            });
        }
        let total = |f: fn(&NamespaceCounters) -> u64| counters.all().map(f).sum::<u64>();
        let (hits, misses) = (total(|c| c.hits), total(|c| c.misses));
        let _ = SCORE_BINS;
        Ok(CacheStats {
            backend: self.store.kind().to_string(),
            backend_detail: self.store.describe(),
            embedding_model: self.embedder.model_id().to_string(),
            template_version: self.template_version.read().clone(),
            defaults: self.settings.read().defaults.clone(),
            entries: usage.iter().map(|u| u.entries).sum(),
            bytes: usage.iter().map(|u| u.bytes).sum(),
            hits,
            misses,
            hit_rate: crate::sources::redis::ratio(hits, misses),
            evictions: total(|c| c.evictions),
            expirations: total(|c| c.expirations),
            lookup_latency: self.latency.lock().summary(),
            namespaces,
        })
    }

    /// Entries of one namespace, most recently used first.
    pub async fn entries(&self, namespace_id: &str, offset: usize, limit: usize) -> ApiResult<Vec<EntryView>> {
        let list = self
            .store
            .entries(namespace_id, offset, limit.clamp(1, 500))
            .await
            .map_err(|e| ApiError::new(ErrorCode::Unreachable, e.to_string()))?;
        Ok(list.iter().map(|e| EntryView::of(e, None)).collect())
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// An entry the search found, read as what it asks.
struct Found {
    entry: CacheEntry,
    theirs: conversation::Asked,
    similarity: f32,
    /// The same question as the lookup's, after unrelated turns (`conversation`).
    unrelated_chats: bool,
}

/// A candidate the judge must read: its index, what the checks said of it (which sets the bar),
/// and the pairs of texts to score (the asked texts, then any reworded earlier turns).
type JudgeAsked = (usize, Checks, Vec<(String, String)>);

/// A found entry as the decision sees it.
struct Considered<'a> {
    entry: &'a CacheEntry,
    similarity: f32,
    objection: Option<verify::Objection>,
    step: Step,
    /// The (incoming, cached) texts the judge must vouch for, if asked.
    judge_pairs: Vec<(String, String)>,
}
