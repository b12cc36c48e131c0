//! The query engine's commands (the Query Lab, `simba-tuner query`, `simba-tuner replay`).

use super::Service;
use crate::engine::query::replay::{self, ReplayReport, ReplaySetup};
use crate::engine::query::results::{DataSchema, SqlAnswer, SqlRequest};
use crate::engine::query::{QueryAnswer, QueryEngine, QueryRequest, QueryStats};
use crate::engine::{Backend, Engine};
use crate::error::{ApiError, ApiResult};
use crate::profiles::{ResolvedProfile, Service as Svc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A query log replayed under one setup or two side by side.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReplayRequest {
    /// The log's text: CSV with a header, or JSON Lines.
    pub log: String,
    /// `true` for JSON Lines, `false` for CSV; guessed from the text when absent.
    #[serde(default)]
    #[ts(optional)]
    pub jsonl: Option<bool>,
    /// One setup, or two to compare; each runs on a fresh temporary store.
    pub setups: Vec<ReplaySetup>,
}

/// Drops cached results that read a table (all results when no table is named).
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SqlInvalidateRequest {
    #[serde(default)]
    pub table: Option<String>,
}

/// A data source's schema, from the metadata cache unless `refresh`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DataSchemaRequest {
    pub profile: String,
    #[serde(default)]
    pub refresh: bool,
}

/// One job: for the platform's Celery workers through a profile's broker, or, with no profile,
/// for the in-process queues (the tasks `embed` and `complete`).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TaskSendRequest {
    #[serde(default)]
    #[ts(optional)]
    pub profile: Option<String>,
    /// The task's registered name (`platform.tasks.embed_document`).
    pub task: String,
    pub kind: crate::engine::work::TaskKind,
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
    #[serde(default)]
    pub kwargs: serde_json::Map<String, serde_json::Value>,
    /// Seconds to wait for the result (0: return at once, status PENDING).
    #[serde(default)]
    pub wait_seconds: u32,
}

fn postgres_of(profile: &ResolvedProfile) -> ApiResult<&crate::profiles::Endpoint> {
    profile.endpoint(Svc::Postgres).ok_or_else(|| {
        ApiError::invalid(format!(
            "profile '{}' has no PostgreSQL URL; add one with `simba-tuner profile add`",
            profile.name
        ))
    })
}

impl Service {
    /// Runs one read-only statement on a profile's PostgreSQL through the query-results cache.
    pub async fn sql_query(&self, req: SqlRequest) -> ApiResult<SqlAnswer> {
        let profile = self.resolve_profile(&req.profile)?;
        let endpoint = postgres_of(&profile)?;
        let q = self.engine().query_engine().await?;
        q.results().query(&profile.name, endpoint, &req).await
    }

    pub async fn sql_invalidate(&self, req: SqlInvalidateRequest) -> ApiResult<super::cache::Count> {
        let q = self.engine().query_engine().await?;
        Ok(super::cache::Count { count: q.results().invalidate(req.table.as_deref()) })
    }

    /// Sends a job to the profile's Celery broker (Redis) on its kind's queue, then waits up to
    /// `wait_seconds` for its result in the Redis result backend.
    pub async fn task_send(&self, req: TaskSendRequest) -> ApiResult<crate::engine::work::TaskResult> {
        let Some(profile) = &req.profile else { return self.task_run_here(req).await };
        let profile = self.resolve_profile(profile)?;
        // Sending a job writes to the broker: never through a read-only profile.
        self.ensure_writable(&profile)?;
        let endpoint =
            profile.endpoint(Svc::CeleryBroker).or_else(|| profile.endpoint(Svc::Redis)).ok_or_else(|| {
                ApiError::invalid(format!("profile '{}' has no Celery broker or Redis URL", profile.name))
            })?;
        let client = crate::engine::work::CeleryClient::new(endpoint.clone());
        let id = client.send(&req.task, req.kind, &req.args, &req.kwargs).await?;
        let wait = std::time::Duration::from_secs(req.wait_seconds.min(600) as u64);
        client.result(&id, wait).await
    }

    /// Runs one of the in-process tasks on its queue: `embed` (vector: the arguments are the
    /// texts; the result their vectors) or `complete` (llm: the argument is the question; the
    /// result the model's completion). Waits up to `wait_seconds`; a job still running then is
    /// reported PENDING and finishes on its own.
    async fn task_run_here(&self, req: TaskSendRequest) -> ApiResult<crate::engine::work::TaskResult> {
        use crate::engine::llm::{ChatRequest, GenerationSettings};
        use crate::engine::work::{TaskKind, TaskResult};
        let texts = || -> ApiResult<Vec<String>> {
            req.args
                .iter()
                .map(|a| a.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(format!("task {}: give the texts as a JSON array of strings", req.task))
                })
        };
        let expect = |kind: TaskKind| {
            if req.kind == kind {
                Ok(())
            } else {
                Err(ApiError::invalid(format!("task {} runs on {}, not {}", req.task, kind.queue(), req.kind.queue())))
            }
        };
        let engine = self.engine().clone();
        let job: futures::future::BoxFuture<'static, ApiResult<serde_json::Value>> = match req.task.as_str() {
            "embed" => {
                expect(TaskKind::Vector)?;
                let texts = texts()?;
                if texts.len() > 4096 {
                    return Err(ApiError::invalid("task embed takes at most 4096 texts; split the batch"));
                }
                Box::pin(async move {
                    let vectors = engine.embed_batch(texts).await?;
                    Ok(serde_json::json!({ "dims": vectors.first().map_or(0, Vec::len), "vectors": vectors }))
                })
            }
            "complete" => {
                expect(TaskKind::Llm)?;
                let mut texts = texts()?;
                if texts.len() != 1 {
                    return Err(ApiError::invalid("task complete takes one argument, the question"));
                }
                let question = texts.remove(0);
                crate::engine::cache::validate_text("question", &question)?;
                Box::pin(async move {
                    let request = ChatRequest {
                        messages: vec![crate::engine::cache::conversation::Message::user(question)],
                        settings: GenerationSettings::default(),
                    };
                    let completion = engine.query_engine().await?.call_model(&engine, request, None).await?;
                    serde_json::to_value(completion).map_err(|e| ApiError::internal(e.to_string()))
                })
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "there is no in-process task '{other}' (they are `embed` on vector_queue and `complete` on llm_queue); name a profile to send it to the platform's Celery workers"
                )))
            }
        };
        let task_id = format!("local-{}", rand::random::<u64>());
        let running = tokio::spawn(job);
        let wait = std::time::Duration::from_secs(req.wait_seconds.min(600) as u64);
        match tokio::time::timeout(wait, running).await {
            Ok(Ok(done)) => Ok(TaskResult { task_id, status: "SUCCESS".into(), result: Some(done?), traceback: None }),
            Ok(Err(e)) => Err(ApiError::internal(format!("task {} stopped: {e}", req.task))),
            Err(_) => Ok(TaskResult { task_id, status: "PENDING".into(), result: None, traceback: None }),
        }
    }

    /// A profile's PostgreSQL tables and columns, through the metadata cache.
    pub async fn data_schema(&self, req: DataSchemaRequest) -> ApiResult<DataSchema> {
        let profile = self.resolve_profile(&req.profile)?;
        let endpoint = postgres_of(&profile)?;
        let q = self.engine().query_engine().await?;
        q.schemas().schema(&profile.name, endpoint, req.refresh).await
    }

    /// Answers one query through the session and semantic caches and the chat model.
    pub async fn query(&self, req: QueryRequest) -> ApiResult<QueryAnswer> {
        self.engine().ask(req).await
    }

    /// [`Self::query`], handing the answer's text to `on` as the model streams it.
    pub async fn query_streaming(
        &self,
        req: QueryRequest,
        on: crate::engine::query::OnStream<'_>,
    ) -> ApiResult<QueryAnswer> {
        self.engine().query_engine().await?.ask_streaming(self.engine(), req, on).await
    }

    /// Each cache level's hits and misses and the model's calls and cost since the start.
    pub async fn query_stats(&self) -> ApiResult<QueryStats> {
        Ok(self.engine().query_engine().await?.stats())
    }

    /// The in-process queues' depth, work in flight and outcomes, per queue.
    pub fn work_stats(&self) -> ApiResult<crate::engine::work::WorkStats> {
        Ok(self.engine().work()?.stats())
    }

    /// Replays a log once per setup, each on a fresh temporary store with the configured model.
    pub async fn replay(&self, req: ReplayRequest) -> ApiResult<Vec<ReplayReport>> {
        self.replay_with_progress(req, |_, _, _| {}).await
    }

    /// [`Self::replay`], calling `progress(setup index, rows done, rows)` after each row.
    pub async fn replay_with_progress(
        &self,
        req: ReplayRequest,
        mut progress: impl FnMut(usize, u64, u64),
    ) -> ApiResult<Vec<ReplayReport>> {
        if req.setups.is_empty() || req.setups.len() > 4 {
            return Err(ApiError::invalid("give one setup to replay, or two to four to compare"));
        }
        for s in &req.setups {
            if let Some(c) = &s.cache {
                c.validate().map_err(|e| ApiError::invalid(format!("setup '{}': {e}", s.label)))?;
            }
        }
        let jsonl = req.jsonl.unwrap_or_else(|| replay::looks_like_jsonl(&req.log));
        let (rows, bad) = replay::parse_log(&req.log, jsonl);
        if rows.is_empty() {
            let first = bad.first().map(|b| format!(" (line {}: {})", b.line, b.reason)).unwrap_or_default();
            return Err(ApiError::invalid(format!("the log has no rows that can be replayed{first}")));
        }
        let shared = self.engine().query_engine().await?;
        let mut reports = Vec::with_capacity(req.setups.len());
        for (i, setup) in req.setups.iter().enumerate() {
            let dir = tempfile::tempdir()
                .map_err(|e| ApiError::internal(format!("no temporary folder for the replay: {e}")))?;
            let engine = Engine::new(
                self.engine().model_dir().to_path_buf(),
                Backend::Embedded { path: dir.path().join("replay.db") },
            );
            let query = QueryEngine::new(shared.model().clone(), shared.prices().clone());
            reports.push(
                replay::replay(&engine, &query, &rows, &bad, setup, |done, total| progress(i, done, total)).await?,
            );
        }
        Ok(reports)
    }
}
