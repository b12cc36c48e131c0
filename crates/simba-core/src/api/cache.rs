//! The semantic cache's commands (the Cache page, `simba-tuner cache …`).

use super::Service;
pub use crate::engine::cache::conversation::question_in_scope;
use crate::engine::cache::conversation::Message;
use crate::engine::cache::types::{CacheSettings, EntryView, Lookup, Scope};
use crate::engine::cache::{CacheStats, CleanupReport};
use crate::engine::eval::{self, EvalReport};
use crate::engine::store::Invalidation;
use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheLookupRequest {
    pub scope: Scope,
    /// The question, when it is asked on its own or `scope.conversation` holds the chat before it.
    #[serde(default)]
    pub query: String,
    /// Or the whole chat, the last (user) message being the question.
    #[serde(default)]
    #[ts(optional)]
    pub messages: Option<Vec<Message>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheStoreRequest {
    pub scope: Scope,
    /// As in [`CacheLookupRequest`]: a question, or `messages` with the whole chat.
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    #[ts(optional)]
    pub messages: Option<Vec<Message>>,
    pub response: String,
    /// Overrides the namespace's TTL for this entry (0 = never expires).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub ttl_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheSearchRequest {
    pub scope: Scope,
    pub text: String,
    #[serde(default)]
    pub k: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheEntriesRequest {
    pub namespace: String,
    #[serde(default)]
    pub offset: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheSettingsRequest {
    /// A namespace id, or none for the defaults of every namespace without its own.
    #[serde(default)]
    pub namespace: Option<String>,
    pub settings: CacheSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheEvalRequest {
    /// The labelled pairs, as JSONL or CSV text (a, b, same_answer, category).
    pub content: String,
    #[serde(default)]
    pub threshold: Option<f32>,
    #[serde(default)]
    pub verify_candidates: Option<bool>,
    /// The judge's minimum score and floor (default: the settings' defaults; a score above 1
    /// turns the judge off).
    #[serde(default)]
    pub judge_min_score: Option<f32>,
    #[serde(default)]
    pub judge_floor: Option<f32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CacheWarmRequest {
    pub scope: Scope,
    /// Popular queries with their answers.
    pub pairs: Vec<WarmPair>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WarmPair {
    pub query: String,
    pub response: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Count {
    #[ts(type = "number")]
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StoredEntry {
    pub id: String,
}

/// A background job (warm-up) and its progress.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct JobView {
    #[ts(type = "number")]
    pub id: u64,
    pub kind: String,
    pub total: u32,
    pub done: u32,
    /// running, succeeded or failed
    pub state: String,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct JobId {
    #[ts(type = "number")]
    pub id: u64,
}

/// Background jobs of this process.
#[derive(Default)]
pub struct Jobs {
    next: AtomicU64,
    jobs: parking_lot::Mutex<HashMap<u64, JobView>>,
}

impl Jobs {
    fn start(&self, kind: &str, total: u32) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.jobs
            .lock()
            .insert(id, JobView { id, kind: kind.into(), total, done: 0, state: "running".into(), message: None });
        id
    }
    fn update(&self, id: u64, f: impl FnOnce(&mut JobView)) {
        if let Some(j) = self.jobs.lock().get_mut(&id) {
            f(j);
        }
    }
    pub fn get(&self, id: u64) -> ApiResult<JobView> {
        self.jobs.lock().get(&id).cloned().ok_or_else(|| ApiError::not_found(format!("no job {id}")))
    }
    pub fn list(&self) -> Vec<JobView> {
        let mut v: Vec<_> = self.jobs.lock().values().cloned().collect();
        v.sort_by_key(|j| std::cmp::Reverse(j.id));
        v
    }
}

fn parse_id(id: &str) -> ApiResult<u64> {
    id.parse().map_err(|_| ApiError::invalid(format!("'{id}' is not an entry id")))
}

impl Service {
    pub async fn cache_stats(&self) -> ApiResult<CacheStats> {
        self.engine().cache().await?.stats().await
    }

    pub async fn cache_lookup(&self, req: CacheLookupRequest) -> ApiResult<Lookup> {
        let (query, scope) = question_in_scope(req.query, req.messages, req.scope)?;
        self.engine().cache().await?.check_get_cache(&query, &scope).await
    }

    pub async fn cache_store(&self, req: CacheStoreRequest) -> ApiResult<StoredEntry> {
        let (query, scope) = question_in_scope(req.query, req.messages, req.scope)?;
        let id = self.engine().cache().await?.update_cache(&query, &req.response, &scope, req.ttl_seconds).await?;
        Ok(StoredEntry { id: id.to_string() })
    }

    pub async fn cache_search(&self, req: CacheSearchRequest) -> ApiResult<Vec<EntryView>> {
        self.engine().cache().await?.search(&req.scope, &req.text, req.k.unwrap_or(10) as usize).await
    }

    pub async fn cache_entries(&self, req: CacheEntriesRequest) -> ApiResult<Vec<EntryView>> {
        let cache = self.engine().cache().await?;
        cache.entries(&req.namespace, req.offset.unwrap_or(0) as usize, req.limit.unwrap_or(100) as usize).await
    }

    pub async fn cache_invalidate(&self, what: Invalidation) -> ApiResult<Count> {
        Ok(Count { count: self.engine().cache().await?.invalidate(&what).await? })
    }

    pub async fn cache_delete_entry(&self, id: &str) -> ApiResult<Count> {
        self.cache_invalidate(Invalidation::Entry { id: parse_id(id)? }).await
    }

    pub async fn cache_set_settings(&self, req: CacheSettingsRequest) -> ApiResult<CacheSettings> {
        let cache = self.engine().cache().await?;
        cache.set_settings(req.namespace.as_deref(), req.settings).await?;
        Ok(cache.settings_for(req.namespace.as_deref().unwrap_or("")))
    }

    pub async fn cache_cleanup(&self) -> ApiResult<CleanupReport> {
        self.engine().cache().await?.cleanup().await
    }

    pub async fn cache_eval(&self, req: CacheEvalRequest) -> ApiResult<EvalReport> {
        let pairs = eval::parse_pairs(&req.content)?;
        let embedder = self.engine().embedder().await?;
        let defaults = CacheSettings::default();
        let settings = CacheSettings {
            similarity_threshold: req.threshold.unwrap_or(defaults.similarity_threshold),
            verify_candidates: req.verify_candidates.unwrap_or(true),
            judge_min_score: req.judge_min_score.unwrap_or(defaults.judge_min_score),
            judge_floor: req.judge_floor.unwrap_or(defaults.judge_floor),
            ..defaults
        };
        let wants_judge = settings.verify_candidates && settings.judge_min_score <= 1.0;
        let (judge, problem) = match self.engine().judge().await {
            Ok(j) => (Some(j), None),
            Err(e) => (None, wants_judge.then_some(e)),
        };
        let mut report =
            tokio::task::spawn_blocking(move || eval::evaluate(embedder.as_ref(), judge.as_deref(), &pairs, &settings))
                .await
                .map_err(|e| ApiError::internal(format!("the evaluation stopped: {e}")))??;
        report.judge_problem = problem;
        Ok(report)
    }

    /// Warms the cache from popular queries in the background; poll `job_status` for progress.
    pub async fn cache_warm(&self, req: CacheWarmRequest) -> ApiResult<JobId> {
        if req.pairs.is_empty() {
            return Err(ApiError::invalid("no queries to warm the cache with"));
        }
        let cache = self.engine().cache().await?;
        let jobs: Arc<Jobs> = self.jobs().clone();
        let id = jobs.start("cache warm-up", req.pairs.len() as u32);
        tokio::spawn(async move {
            let mut failed = None;
            for (done_before, pair) in (0u32..).zip(&req.pairs) {
                // Only what is not already cached is stored (the platform's warm_cache does the same).
                match cache.check_get_cache(&pair.query, &req.scope).await {
                    Ok(l) if l.is_hit() => {}
                    _ => {
                        if let Err(e) = cache.update_cache(&pair.query, &pair.response, &req.scope, None).await {
                            failed =
                                Some(format!("\"{}\": {}", pair.query.chars().take(60).collect::<String>(), e.message));
                            break;
                        }
                    }
                }
                jobs.update(id, |j| j.done = done_before + 1);
            }
            jobs.update(id, |j| match failed {
                Some(m) => {
                    j.state = "failed".into();
                    j.message = Some(m);
                }
                None => j.state = "succeeded".into(),
            });
        });
        Ok(JobId { id })
    }
}
