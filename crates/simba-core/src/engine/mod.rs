//! The local query and cache engine: the laptop twin of the platform. Usable as a library on its
//! own; at scale the same code runs on Redis and PostgreSQL as its stores.

pub mod bench;
pub mod cache;
pub mod embed;
pub mod eval;
pub mod google_auth;
pub mod index;
pub mod judge;
pub mod lazy;
pub mod llm;
pub mod provider;
pub mod query;
pub mod store;
pub mod work;

use crate::error::{ApiError, ApiResult, ErrorCode};
use cache::SemanticCache;
use embed::Embedder;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::OnceCell;
use ts_rs::TS;

/// The local engine's figures for the overview.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EngineSnapshot {
    /// Embedding model in use, and whether its files were found.
    pub embedding_model: String,
    pub embedding_model_ready: bool,
    /// Why the engine is not ready, and what to do.
    pub embedding_model_problem: Option<String>,
    /// Whether the judge (which may overrule the candidate checks) is loaded, and if not why.
    pub judge_ready: bool,
    pub judge_problem: Option<String>,
    pub storage: String,
    #[ts(type = "number")]
    pub namespaces: u64,
    #[ts(type = "number")]
    pub entries: u64,
    #[ts(type = "number")]
    pub hits: u64,
    #[ts(type = "number")]
    pub misses: u64,
    pub hit_rate: Option<f64>,
    pub lookup_p99_us: Option<f64>,
}

/// Where the engine keeps its cache.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file with an in-process index (the default, in the data folder).
    Embedded { path: PathBuf },
    /// Entries in Redis, index in process.
    Redis { endpoint: crate::profiles::Endpoint, prefix: String },
    /// pgvector table, searched in SQL.
    Postgres { endpoint: crate::profiles::Endpoint },
}

/// Where the Redis backend keeps its keys unless told otherwise.
pub const DEFAULT_REDIS_PREFIX: &str = "simba:sc:";

impl Backend {
    /// Reads a store choice (`SIMBA_CACHE_STORE`, `--cache-store`): `embedded`, a `redis://`,
    /// `rediss://` or `postgres://` URL, or `redis@PROFILE` / `postgres@PROFILE` to use a saved
    /// profile's server (its password stays in the secrets file).
    pub fn parse(choice: &str, profiles: &crate::profiles::ProfileStore) -> ApiResult<Self> {
        use crate::profiles::{ResolvedProfile, Service};
        let choice = choice.trim();
        let from_profile = |service: Service, name: &str| -> ApiResult<crate::profiles::Endpoint> {
            let profile = profiles.resolve(name)?;
            if profile.read_only {
                return Err(ApiError::invalid(format!(
                    "profile '{name}' is read-only, and the cache writes its entries to the store; use a writable profile"
                )));
            }
            profile.endpoint(service).cloned().ok_or_else(|| {
                ApiError::invalid(format!(
                    "profile '{name}' has no {service:?} URL; add one with `simba-tuner profile add`"
                ))
            })
        };
        let ad_hoc = |service: Service| -> ApiResult<crate::profiles::Endpoint> {
            let profile = ResolvedProfile::ad_hoc(&[(service, choice)])?;
            Ok(profile.endpoint(service).cloned().expect("ad-hoc profile has the endpoint it was given"))
        };
        let lower = choice.to_ascii_lowercase();
        Ok(if lower == "embedded" {
            Backend::Embedded { path: crate::paths::data_dir().join("cache.db") }
        } else if let Some(name) = lower.strip_prefix("redis@").map(|_| &choice[6..]) {
            Backend::Redis { endpoint: from_profile(Service::Redis, name)?, prefix: DEFAULT_REDIS_PREFIX.into() }
        } else if let Some(name) = lower.strip_prefix("postgres@").map(|_| &choice[9..]) {
            Backend::Postgres { endpoint: from_profile(Service::Postgres, name)? }
        } else if lower.starts_with("redis://") || lower.starts_with("rediss://") {
            Backend::Redis { endpoint: ad_hoc(Service::Redis)?, prefix: DEFAULT_REDIS_PREFIX.into() }
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Backend::Postgres { endpoint: ad_hoc(Service::Postgres)? }
        } else {
            return Err(ApiError::invalid(
                "the cache store must be `embedded`, a redis:// or postgres:// URL, or redis@PROFILE / postgres@PROFILE",
            ));
        })
    }

    /// The saved profile a store choice names (`redis@NAME`, `postgres@NAME`), if any.
    pub fn profile_named(choice: &str) -> Option<&str> {
        let lower = choice.trim().to_ascii_lowercase();
        if lower.starts_with("redis@") || lower.starts_with("postgres@") {
            choice.trim().split_once('@').map(|(_, name)| name)
        } else {
            None
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Embedded { .. } => "embedded",
            Backend::Redis { .. } => "redis",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

pub const MODEL_DIR_NAME: &str = "all-MiniLM-L6-v2";

/// The engine as a whole. Cheap to clone; the model and store open on first use.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    model_dir: PathBuf,
    backend: Backend,
    cache: OnceCell<Arc<SemanticCache>>,
    /// Shared by every cache; the local model's weights load on its first text (see `lazy`).
    embedder: OnceCell<Arc<dyn Embedder>>,
    /// The judge (MiniLM + the built-in adapter), loaded on the first lookup that has a
    /// candidate, or why it could not load.
    judge: Arc<lazy::Lazy<judge::Judge>>,
    /// The query path (caches around the chat model), set up on the first query.
    query: OnceCell<Arc<query::QueryEngine>>,
    /// The in-process queues (model calls, embedding batches), set up on first use.
    work: parking_lot::Mutex<Option<Arc<work::LocalQueues>>>,
}

impl Engine {
    /// The embedded default: MiniLM from the models folder, SQLite in the data folder.
    pub fn open_default() -> ApiResult<Self> {
        Ok(Self::new(
            crate::paths::models_dir().join(MODEL_DIR_NAME),
            Backend::Embedded { path: crate::paths::data_dir().join("cache.db") },
        ))
    }

    /// The local model with the given store.
    pub fn with_backend(backend: Backend) -> Self {
        Self::new(crate::paths::models_dir().join(MODEL_DIR_NAME), backend)
    }

    pub fn new(model_dir: PathBuf, backend: Backend) -> Self {
        let dir = model_dir.clone();
        let judge = lazy::Lazy::new("the judge", lazy::configured_idle(), move || {
            // Tried once: a failure is kept, so this is logged once.
            judge::Judge::load(&dir).map(Arc::new).map_err(|e| {
                tracing::warn!("the judge is off, the candidate checks decide alone: {e}");
                e.to_string()
            })
        });
        Self {
            inner: Arc::new(EngineInner {
                model_dir,
                backend,
                cache: OnceCell::new(),
                embedder: OnceCell::new(),
                judge: Arc::new(judge),
                query: OnceCell::new(),
                work: parking_lot::Mutex::new(None),
            }),
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// Where the local model is read from.
    pub fn model_dir(&self) -> &std::path::Path {
        &self.inner.model_dir
    }

    /// The embedding model: MiniLM unless SIMBA_EMBEDDINGS names an online provider
    /// (embed::provider). MiniLM's files are checked here and its weights read on its first text,
    /// with the hit checks' WordNet, and dropped again after `SIMBA_MODEL_IDLE_SECONDS` unused; so
    /// the first lookup (and the first after an unload) pays for the load.
    pub async fn embedder(&self) -> ApiResult<Arc<dyn Embedder>> {
        self.inner
            .embedder
            .get_or_try_init(|| async {
                let dir = self.inner.model_dir.clone();
                let loaded = tokio::task::spawn_blocking(move || embed::open_configured(&dir, lazy::configured_idle()))
                    .await
                    .map_err(|e| ApiError::internal(format!("model loading stopped: {e}")))?;
                loaded.map_err(cache::embed_error)
            })
            .await
            .cloned()
    }

    /// The judge, loaded (off the async threads) from the local model's files whichever embedder
    /// is in use. Without them the checks decide alone; the reason is logged once and shown in the
    /// snapshot.
    pub async fn judge(&self) -> Result<Arc<judge::Judge>, String> {
        if let Some(settled) = self.inner.judge.get_if_settled() {
            return settled;
        }
        let slot = self.inner.judge.clone();
        tokio::task::spawn_blocking(move || slot.get())
            .await
            .unwrap_or_else(|e| Err(format!("judge loading stopped: {e}")))
    }

    /// Whether the judge can serve, without loading it: why it failed if a load was tried, else
    /// whether its files are there.
    fn judge_problem(&self) -> Option<String> {
        if let Some(failed) = self.inner.judge.failure() {
            return Some(failed);
        }
        judge::Judge::check_files(&self.inner.model_dir).err().map(|e| e.to_string())
    }

    /// The semantic cache on the configured backend (opened on first use).
    pub async fn cache(&self) -> ApiResult<Arc<SemanticCache>> {
        self.inner
            .cache
            .get_or_try_init(|| async {
                let embedder = self.embedder().await?;
                let dims = embedder.dims();
                let unavailable = |e: store::StoreError| ApiError::new(ErrorCode::Unreachable, e.to_string());
                let store: Arc<dyn store::CacheStore> = match &self.inner.backend {
                    Backend::Embedded { path } => {
                        let persist = store::sqlite::SqlitePersistence::open(path).await.map_err(unavailable)?;
                        Arc::new(store::indexed::IndexedStore::open(persist, dims).await.map_err(unavailable)?)
                    }
                    Backend::Redis { endpoint, prefix } => {
                        // Vector sets on the server when it has VSIM, else an in-process index kept in
                        // step with other instances by the change feed (SIMBA_REDIS_SEARCH=in-process forces it).
                        let mode = store::redis::RedisSearch::from_env()
                            .map_err(|e| ApiError::new(ErrorCode::BadConfig, e.to_string()))?;
                        store::redis::open_store(endpoint, prefix, dims, mode).await.map_err(unavailable)?
                    }
                    Backend::Postgres { endpoint } => Arc::new(
                        store::postgres::PostgresStore::open(endpoint.url.expose(), dims, 8)
                            .await
                            .map_err(unavailable)?,
                    ),
                };
                let cache = SemanticCache::new(embedder, store).with_judge_on_demand(self.inner.judge.clone());
                cache.load_settings().await?;
                Ok(Arc::new(cache))
            })
            .await
            .cloned()
    }

    /// The query path: the chat model `SIMBA_LLM` names (the local SmolLM2 when unset), prices
    /// from `prices.toml` in the config folder. The model itself loads on the first query.
    pub async fn query_engine(&self) -> ApiResult<Arc<query::QueryEngine>> {
        self.inner
            .query
            .get_or_try_init(|| async {
                let model = llm::configured_model()?;
                let prices = query::prices::PriceTable::load(&crate::paths::config_dir().join("prices.toml"))
                    .map_err(|e| ApiError::new(ErrorCode::BadConfig, e))?;
                Ok(Arc::new(query::QueryEngine::new(model, prices)))
            })
            .await
            .cloned()
    }

    /// The in-process queues, with `SIMBA_WORKER_CONCURRENCY` / `SIMBA_WORKER_PREFETCH` read on
    /// first use (see [`work::local`]).
    pub fn work(&self) -> ApiResult<Arc<work::LocalQueues>> {
        let mut slot = self.inner.work.lock();
        if let Some(queues) = &*slot {
            return Ok(queues.clone());
        }
        let queues = Arc::new(work::LocalQueues::from_vars(|name| std::env::var(name).ok())?);
        *slot = Some(queues.clone());
        Ok(queues)
    }

    /// Uses `queues` instead of the configured ones (tests, benchmarks).
    pub fn with_work_queues(self, queues: work::LocalQueues) -> Self {
        *self.inner.work.lock() = Some(Arc::new(queues));
        self
    }

    /// Embeds a batch of texts with the engine's embedder as a job on `vector_queue`, so embedding
    /// work shares that queue's worker and prefetch limits. One vector per text, in order.
    pub async fn embed_batch(&self, texts: Vec<String>) -> ApiResult<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let embedder = self.embedder().await?;
        let texts = Arc::new(texts);
        // The providers' clients retry on their own: only a dead worker's batch is retried here.
        let options = work::JobOptions { no_error_retries: true, ..Default::default() };
        self.work()?
            .run(work::TaskKind::Vector, "embed_batch", options, move |_| {
                let (embedder, texts) = (embedder.clone(), texts.clone());
                async move {
                    let embedded = tokio::task::spawn_blocking(move || {
                        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                        embedder.embed_batch(&refs)
                    })
                    .await;
                    match embedded {
                        Ok(vectors) => vectors.map_err(cache::embed_error),
                        // A panic in the model is the worker's death: its job is redelivered.
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(e) => Err(ApiError::internal(format!("the embedding batch stopped: {e}"))),
                    }
                }
            })
            .await
    }

    /// Answers one query through the caches and the chat model (see [`query`]).
    pub async fn ask(&self, req: query::QueryRequest) -> ApiResult<query::QueryAnswer> {
        self.query_engine().await?.ask(self, req).await
    }

    /// The overview's figures. Reads no model: what would load is checked on disk, so an app that
    /// only shows the overview keeps the models out of memory.
    pub async fn snapshot(&self) -> EngineSnapshot {
        let mut snap = EngineSnapshot {
            embedding_model: embed::MINILM_MODEL_ID.into(),
            storage: self.inner.backend.name().into(),
            ..Default::default()
        };
        match self.cache().await {
            Ok(cache) => {
                snap.embedding_model_ready = true;
                snap.embedding_model = cache.embedder().model_id().to_string();
                match self.judge_problem() {
                    None => snap.judge_ready = true,
                    Some(e) => snap.judge_problem = Some(e),
                }
                match cache.stats().await {
                    Ok(s) => {
                        snap.namespaces = s.namespaces.len() as u64;
                        snap.entries = s.entries;
                        snap.hits = s.hits;
                        snap.misses = s.misses;
                        snap.hit_rate = s.hit_rate;
                        snap.lookup_p99_us = s.lookup_latency.p99_us;
                    }
                    Err(e) => snap.embedding_model_problem = Some(e.message),
                }
            }
            Err(e) => snap.embedding_model_problem = Some(e.message),
        }
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_dir() -> PathBuf {
        crate::paths::models_dir().join(MODEL_DIR_NAME)
    }

    /// A lookup's outcome without what differs between two stores (entry ids, ages).
    fn outcome(lookup: &cache::types::Lookup) -> serde_json::Value {
        let mut v = serde_json::to_value(lookup).unwrap();
        let map = v.as_object_mut().unwrap();
        map.remove("entry_id");
        map.remove("entry_age_ms");
        v
    }

    /// The overview's figures load no model; the first lookup loads the embedding model and,
    /// with a candidate to judge, the judge; and the answers are the ones the models give loaded
    /// up front.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_overview_loads_no_model_and_lookups_answer_as_with_models_loaded_up_front() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = Engine::new(model_dir(), Backend::Embedded { path: tmp.path().join("lazy.db") });
        let snap = engine.snapshot().await;
        assert!(snap.embedding_model_ready && snap.judge_ready, "{snap:?} — run `bash .ci/setup test`");
        let lazy = engine.cache().await.unwrap();
        assert!(!lazy.embedder().loaded(), "the overview loaded the embedding model");
        assert_eq!(engine.inner.judge.loads(), 0, "the overview loaded the judge");

        let dims = lazy.embedder().dims();
        let persist = store::sqlite::SqlitePersistence::open(&tmp.path().join("eager.db")).await.unwrap();
        let eager = SemanticCache::new(
            Arc::new(embed::MiniLmEmbedder::load(&model_dir()).unwrap()),
            Arc::new(store::indexed::IndexedStore::open(persist, dims).await.unwrap()),
        )
        .with_judge(Some(Arc::new(judge::Judge::load(&model_dir()).unwrap())));
        eager.load_settings().await.unwrap();

        let scope: cache::types::Scope = serde_json::from_value(serde_json::json!({ "user": "u" })).unwrap();
        // An empty namespace: the embedding model loads, the judge has nothing to read.
        let empty = lazy.check_get_cache("How many orders shipped in week 3?", &scope).await.unwrap();
        assert_eq!(
            outcome(&empty),
            outcome(&eager.check_get_cache("How many orders shipped in week 3?", &scope).await.unwrap())
        );
        assert!(lazy.embedder().loaded());
        assert_eq!(engine.inner.judge.loads(), 0);

        for cache in [&lazy, &eager] {
            cache.update_cache("How many orders shipped in week 3?", "42", &scope, None).await.unwrap();
        }
        // A rewording served, and a trap the checks and the judge refuse.
        for query in ["number of orders shipped during week 3", "How many orders were returned in week 3?"] {
            let (a, b) = (
                lazy.check_get_cache(query, &scope).await.unwrap(),
                eager.check_get_cache(query, &scope).await.unwrap(),
            );
            assert_eq!(outcome(&a), outcome(&b), "{query}");
        }
        assert_eq!(engine.inner.judge.loads(), 1);
        assert!(engine.inner.judge.loaded().is_some());
    }

    /// An embedding batch is a job on vector_queue, and gives what the embedder gives.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedding_batches_run_on_the_vector_queue() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = Engine::new(model_dir(), Backend::Embedded { path: tmp.path().join("b.db") });
        let texts = vec!["orders shipped in week 3".to_string(), "the capital of France".to_string()];
        let vectors = engine.embed_batch(texts.clone()).await.unwrap();
        let direct = engine.embedder().await.unwrap().embed_batch(&[&texts[0], &texts[1]]).unwrap();
        assert_eq!(vectors.len(), 2);
        for (a, b) in vectors.iter().zip(&direct) {
            // The same model on the same text; summation order across threads may differ.
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            assert!(dot > 0.9999, "cosine {dot}");
        }
        let work = engine.work().unwrap();
        let vector = work.stats_of(work::TaskKind::Vector);
        assert_eq!((vector.done, vector.failed), (1, 0), "{vector:?}");
        assert_eq!(work.stats_of(work::TaskKind::Llm).done, 0);
        assert!(engine.embed_batch(vec![]).await.unwrap().is_empty());
        let e = engine.embed_batch(vec!["  ".into()]).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
        assert_eq!(work.stats_of(work::TaskKind::Vector).failed, 1);
    }
}
