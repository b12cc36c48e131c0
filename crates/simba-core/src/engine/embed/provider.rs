//! Provider (online) embeddings: any OpenAI-compatible `/v1/embeddings` API, Azure OpenAI and
//! Vertex AI. Chosen with `SIMBA_EMBEDDINGS` (see [`ProviderConfig::from_env`]); the local MiniLM
//! stays the default and a provider is only used when configured.
//!
//! Wire shapes, checked against the official references before this was written:
//! - OpenAI: `POST {base}/v1/embeddings`, `Authorization: Bearer KEY`, body
//!   `{"model": M, "input": [..], "dimensions"?: N}`; answer `{"object": "list", "data":
//!   [{"object": "embedding", "index": i, "embedding": [..]}], "model": .., "usage":
//!   {"prompt_tokens", "total_tokens"}}` (openai/openai-python `types/create_embedding_response.py`,
//!   generated from OpenAI's OpenAPI spec; the API reference allows at most 2048 inputs and 300k
//!   tokens per request). `data` is matched to the inputs by `index`, never by position.
//! - Azure OpenAI: `POST {endpoint}/openai/deployments/{deployment}/embeddings?api-version=V`,
//!   `api-key: KEY`, body `{"input": [..], "dimensions"?: N}`, the same answer; an input array
//!   of at most 2048 (learn.microsoft.com, "How to generate embeddings with Azure OpenAI", and
//!   the Azure Foundry embeddings reference).
//! - Vertex AI: `POST https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/
//!   {location}/publishers/google/models/{model}:predict`, `Authorization: Bearer TOKEN`, body
//!   `{"instances": [{"content": ..}], "parameters": {"autoTruncate": false, "outputDimensionality"?: N}}`;
//!   answer `{"predictions": [{"embeddings": {"values": [..], "statistics": {"token_count": n,
//!   "truncated": false}}}]}` in instance order (cloud.google.com "Text embeddings API" reference
//!   and `TextEmbeddingPredictionParams`). gemini-embedding-001 takes one instance per request;
//!   the text-embedding models up to 250 texts and 20k tokens.
//!
//! Threading: [`Embedder`] is a sync trait and the semantic cache calls `embed` straight from
//! async code, on a tokio worker. `reqwest::blocking` panics there (it runs and drops a runtime of
//! its own), and so does `Handle::block_on`. So each [`ProviderEmbedder`] owns one OS thread that
//! runs a current-thread tokio runtime with one async reqwest `Client` (one connection pool for
//! every call); `embed_batch` hands the texts to that thread and waits on a std channel. On a
//! multi-thread runtime the wait goes through `tokio::task::block_in_place`, so the worker's other
//! tasks move to another thread while the HTTP call runs; anywhere else (no runtime, a
//! blocking-pool thread, a current-thread runtime, where `block_in_place` would panic) it simply
//! blocks. Retries and their back-off sleep on the provider thread, never on the caller's runtime.
//!
//! Secrets: the key or token is a [`Secret`] and only leaves through one request header; errors
//! name the variable to fix, never the value, and a provider's own message is scrubbed of it.

use super::{check_text, normalise, EmbedError, Embedder};
use crate::engine::provider::http::{chain, provider_message, retry_after};
use crate::engine::provider::{whole_number, ProviderUse};
pub use crate::engine::provider::{ProviderEndpoint, ProviderKey, ProviderKind};
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt;
use std::time::Duration;
use url::Url;

/// What sets the embeddings' endpoint apart: `SIMBA_EMBEDDINGS` and its companions.
pub const EMBEDDINGS: ProviderUse = ProviderUse {
    prefix: "SIMBA_EMBEDDINGS",
    noun: "embedding",
    openai_example: "text-embedding-3-small",
    vertex_example: "text-embedding-005",
    openai_key_optional: false,
    timeout: Duration::from_secs(30),
    max_retries: 3,
};

/// The name of the API, for messages.
fn label(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenAi => "the OpenAI-compatible embeddings API",
        ProviderKind::Azure => "Azure OpenAI",
        ProviderKind::Vertex => "Vertex AI",
    }
}

/// One embeddings provider: its endpoint and the vectors asked of it. `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub endpoint: ProviderEndpoint,
    /// Asked of the provider (`dimensions` / `outputDimensionality`) and expected of every answer.
    /// When `None`, one probe request at connect time learns it.
    pub dimensions: Option<usize>,
    /// Texts per request; `None` takes the provider's documented limit.
    pub max_batch: Option<usize>,
}

const PROBE_TEXT: &str = "dimension probe";

impl From<ProviderEndpoint> for ProviderConfig {
    fn from(endpoint: ProviderEndpoint) -> Self {
        Self { endpoint, dimensions: None, max_batch: None }
    }
}

impl ProviderConfig {
    pub fn with_dimensions(mut self, dims: usize) -> Self {
        self.dimensions = Some(dims);
        self
    }
    pub fn with_max_batch(mut self, n: usize) -> Self {
        self.max_batch = Some(n.max(1));
        self
    }

    /// Reads the choice from the environment. `None` when `SIMBA_EMBEDDINGS` is unset or `local`.
    pub fn from_env() -> Result<Option<Self>, EmbedError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any variable source: the endpoint's variables
    /// ([`ProviderEndpoint::from_vars`]) and `SIMBA_EMBEDDINGS_DIMENSIONS`, `_BATCH`. Empty values
    /// count as unset.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, EmbedError> {
        let var = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let Some(endpoint) = ProviderEndpoint::from_vars(&EMBEDDINGS, &var).map_err(EmbedError::Config)? else {
            return Ok(None);
        };
        let number = |name: &str, max: u64| whole_number(&var, name, max).map_err(EmbedError::Config);
        Ok(Some(Self {
            endpoint,
            dimensions: number("SIMBA_EMBEDDINGS_DIMENSIONS", 65_536)?.map(|n| n as usize),
            max_batch: number("SIMBA_EMBEDDINGS_BATCH", 2048)?.map(|n| n as usize),
        }))
    }

    /// The provider's documented limits: (texts, bytes of text) per request.
    fn limits(&self) -> (usize, usize) {
        match self.endpoint.kind {
            // 2048 inputs and 300k tokens per request; ~600 kB stays under the tokens.
            ProviderKind::OpenAi | ProviderKind::Azure => (2048, 600_000),
            // gemini-embedding models take one instance per request.
            ProviderKind::Vertex if self.endpoint.model.starts_with("gemini-embedding") => (1, usize::MAX),
            // 250 texts and 20k tokens per request.
            ProviderKind::Vertex => (250, 60_000),
        }
    }

    /// The full request URL, checked.
    fn request_url(&self) -> Result<Url, EmbedError> {
        let bad = |why: String| EmbedError::Config(format!("SIMBA_EMBEDDINGS_URL {why}"));
        let mut url = self.endpoint.base_url(EMBEDDINGS.prefix).map_err(EmbedError::Config)?;
        let missing = |name: &str| EmbedError::Config(format!("{name} is not set"));
        {
            let mut path = url.path_segments_mut().map_err(|_| bad("cannot have a path".into()))?;
            path.pop_if_empty();
            match self.endpoint.kind {
                // Completed below: the base may or may not end in /v1.
                ProviderKind::OpenAi => {}
                ProviderKind::Azure => {
                    let deployment =
                        self.endpoint.deployment.as_deref().ok_or_else(|| missing("SIMBA_EMBEDDINGS_DEPLOYMENT"))?;
                    path.extend(["openai", "deployments", deployment, "embeddings"]);
                }
                ProviderKind::Vertex => {
                    let project =
                        self.endpoint.project.as_deref().ok_or_else(|| missing("SIMBA_EMBEDDINGS_PROJECT"))?;
                    let location =
                        self.endpoint.location.as_deref().ok_or_else(|| missing("SIMBA_EMBEDDINGS_LOCATION"))?;
                    path.extend(["v1", "projects", project, "locations", location, "publishers", "google", "models"]);
                    path.push(&format!("{}:predict", self.endpoint.model));
                }
            }
        }
        if self.endpoint.kind == ProviderKind::OpenAi {
            // Both `https://api.openai.com` and the SDKs' `https://api.openai.com/v1` work.
            let path = url.path().trim_end_matches("/embeddings").trim_end_matches('/').to_string();
            let base = path.strip_suffix("/v1").unwrap_or(&path);
            url.set_path(&format!("{base}/v1/embeddings"));
        }
        self.endpoint.add_api_version(&mut url);
        Ok(url)
    }

    /// The request body for these texts, in the provider's official shape.
    fn body(&self, texts: &[String]) -> Value {
        match self.endpoint.kind {
            ProviderKind::OpenAi => {
                let mut b = json!({ "model": self.endpoint.model, "input": texts });
                if let Some(d) = self.dimensions {
                    b["dimensions"] = json!(d);
                }
                b
            }
            ProviderKind::Azure => {
                let mut b = json!({ "input": texts });
                if let Some(d) = self.dimensions {
                    b["dimensions"] = json!(d);
                }
                b
            }
            ProviderKind::Vertex => {
                let instances: Vec<Value> = texts.iter().map(|t| json!({ "content": t })).collect();
                // Truncation would give two long texts with one prefix the same vector: refuse it.
                let mut parameters = json!({ "autoTruncate": false });
                if let Some(d) = self.dimensions {
                    parameters["outputDimensionality"] = json!(d);
                }
                json!({ "instances": instances, "parameters": parameters })
            }
        }
    }
}

// ---- answers --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct OpenAiAnswer {
    data: Vec<OpenAiItem>,
}
#[derive(Deserialize)]
struct OpenAiItem {
    index: usize,
    embedding: Vec<f32>,
}
#[derive(Deserialize)]
struct VertexAnswer {
    predictions: Vec<VertexPrediction>,
}
#[derive(Deserialize)]
struct VertexPrediction {
    embeddings: VertexEmbedding,
}
#[derive(Deserialize)]
struct VertexEmbedding {
    values: Vec<f32>,
    #[serde(default)]
    statistics: Option<VertexStatistics>,
}
#[derive(Deserialize)]
struct VertexStatistics {
    #[serde(default)]
    truncated: bool,
}

// ---- the provider thread --------------------------------------------------------------------

/// What the provider thread needs; lives there.
struct Client {
    config: ProviderConfig,
    endpoint: Url,
    /// The endpoint as errors show it.
    shown: String,
    http: reqwest::Client,
    max_batch: usize,
    max_bytes: usize,
}

type Reply = std::sync::mpsc::SyncSender<Result<Vec<Vec<f32>>, EmbedError>>;

struct Job {
    texts: Vec<String>,
    reply: Reply,
}

fn provider_error(message: String) -> EmbedError {
    EmbedError::Provider(message)
}

impl Client {
    fn new(config: ProviderConfig) -> Result<Self, EmbedError> {
        let endpoint = config.request_url()?;
        let shown = crate::profiles::redact_url(endpoint.as_str());
        let http = config.endpoint.http_client(&endpoint, EMBEDDINGS.prefix).map_err(EmbedError::Config)?;
        let (limit, max_bytes) = config.limits();
        let max_batch = config.max_batch.unwrap_or(limit).max(1);
        Ok(Self { config, endpoint, shown, http, max_batch, max_bytes })
    }

    async fn key(&self) -> Result<Secret, EmbedError> {
        self.config.endpoint.key.current(EMBEDDINGS.prefix).await.map_err(EmbedError::Config)
    }

    /// Every text, in provider-sized requests one after the other; vectors in input order,
    /// finite and normalised.
    async fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for range in batches(texts, self.max_batch, self.max_bytes) {
            out.extend(self.request(&texts[range]).await?);
        }
        Ok(out)
    }

    async fn request(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let key = self.key().await?;
        let body = self.config.body(texts);
        let kind = self.config.endpoint.kind;
        let mut retries = 0u32;
        loop {
            let req = self.http.post(self.endpoint.clone()).json(&body);
            let req = self.config.endpoint.authorize(req, &key, EMBEDDINGS.prefix).map_err(EmbedError::Config)?;
            let wait = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(resp.headers());
                    let bytes = match resp.bytes().await {
                        Ok(b) => b,
                        Err(e) if e.is_timeout() && retries < self.config.endpoint.max_retries => {
                            retries += 1;
                            tokio::time::sleep(self.backoff(retries, None)).await;
                            continue;
                        }
                        Err(e) => return Err(self.transport_error(e, retries)),
                    };
                    if status.is_success() {
                        return self.parse(&bytes, texts.len());
                    }
                    let transient = matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504);
                    if !transient || retries >= self.config.endpoint.max_retries {
                        return Err(self.status_error(status, &bytes, retries, key.expose()));
                    }
                    tracing::warn!(
                        provider = kind.name(),
                        "the embedding provider answered HTTP {}; retry {} of {}",
                        status.as_u16(),
                        retries + 1,
                        self.config.endpoint.max_retries
                    );
                    retry_after
                }
                // Nothing listens, or the name does not resolve: retrying will not help.
                Err(e) if e.is_connect() && !e.is_timeout() => return Err(self.transport_error(e, retries)),
                Err(e) if (e.is_timeout() || e.is_request()) && retries < self.config.endpoint.max_retries => {
                    tracing::warn!(
                        provider = kind.name(),
                        "the embedding request failed ({}); retrying",
                        chain(&e.without_url())
                    );
                    None
                }
                Err(e) => return Err(self.transport_error(e, retries)),
            };
            retries += 1;
            tokio::time::sleep(self.backoff(retries, wait)).await;
        }
    }

    /// Exponential with ±25% jitter, or what the provider asked for; both capped.
    fn backoff(&self, retry: u32, asked: Option<Duration>) -> Duration {
        crate::engine::provider::http::backoff(self.config.endpoint.retry_base, retry, asked)
    }

    fn parse(&self, bytes: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        let malformed = |e: serde_json::Error| {
            // Python servers write NaN/Infinity into JSON (which has no such numbers).
            let text = String::from_utf8_lossy(bytes);
            if text.contains("NaN") || text.contains("Infinity") {
                return provider_error(format!(
                    "{} at {} answered with NaN or infinite values; nothing was stored (the model or server is faulty)",
                    label(self.config.endpoint.kind),
                    self.shown
                ));
            }
            let hint = match self.config.endpoint.kind {
                ProviderKind::OpenAi => "is SIMBA_EMBEDDINGS_URL an OpenAI-compatible API?",
                ProviderKind::Azure => "is SIMBA_EMBEDDINGS_URL the Azure OpenAI endpoint?",
                ProviderKind::Vertex => "is SIMBA_EMBEDDINGS_URL the Vertex AI API?",
            };
            provider_error(format!(
                "{} at {} answered with JSON that is not an embeddings answer ({e}); {hint}",
                label(self.config.endpoint.kind),
                self.shown
            ))
        };
        let mut vectors: Vec<Vec<f32>> = match self.config.endpoint.kind {
            ProviderKind::OpenAi | ProviderKind::Azure => {
                let answer: OpenAiAnswer = serde_json::from_slice(bytes).map_err(malformed)?;
                if answer.data.len() != expected {
                    return Err(self.count_error(answer.data.len(), expected));
                }
                let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
                for item in answer.data {
                    match slots.get_mut(item.index) {
                        Some(slot @ None) => *slot = Some(item.embedding),
                        _ => {
                            return Err(provider_error(format!(
                                "{} at {} answered with a wrong or repeated index {} for {expected} texts",
                                label(self.config.endpoint.kind),
                                self.shown,
                                item.index
                            )))
                        }
                    }
                }
                slots.into_iter().map(|s| s.expect("every index was filled once")).collect()
            }
            ProviderKind::Vertex => {
                let answer: VertexAnswer = serde_json::from_slice(bytes).map_err(malformed)?;
                if answer.predictions.len() != expected {
                    return Err(self.count_error(answer.predictions.len(), expected));
                }
                let mut out = Vec::with_capacity(expected);
                for p in answer.predictions {
                    if p.embeddings.statistics.is_some_and(|s| s.truncated) {
                        return Err(EmbedError::InvalidInput(format!(
                            "the text is longer than {} takes; shorten it (a truncated text could share a vector with another)",
                            self.config.endpoint.model
                        )));
                    }
                    out.push(p.embeddings.values);
                }
                out
            }
        };
        for v in &mut vectors {
            if v.is_empty() {
                return Err(provider_error(format!(
                    "{} answered with an empty vector",
                    label(self.config.endpoint.kind)
                )));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(provider_error(format!(
                    "{} answered with a vector holding NaN or infinite values; nothing was stored",
                    label(self.config.endpoint.kind)
                )));
            }
            // Finite by now, so only an all-zero vector fails here.
            normalise(v).map_err(|_| {
                provider_error(format!(
                    "{} answered with an all-zero vector; nothing was stored",
                    label(self.config.endpoint.kind)
                ))
            })?;
        }
        Ok(vectors)
    }

    fn count_error(&self, got: usize, expected: usize) -> EmbedError {
        provider_error(format!(
            "{} at {} answered {got} vectors for {expected} texts; nothing was stored",
            label(self.config.endpoint.kind),
            self.shown
        ))
    }

    fn status_error(&self, status: reqwest::StatusCode, body: &[u8], retries: u32, key: &str) -> EmbedError {
        let c = &self.config;
        let what = label(c.endpoint.kind);
        let code = status.as_u16();
        let said = match provider_message(body, key) {
            Some(m) => format!(" (it said: {m})"),
            None => String::new(),
        };
        let url = &self.shown;
        let msg = match code {
            401 | 403 => {
                let cred = c.endpoint.kind.credential();
                let extra = match c.endpoint.kind {
                    ProviderKind::Vertex => " (tokens from `gcloud auth print-access-token` expire after an hour), and that the account may use Vertex AI in that project",
                    ProviderKind::Azure => " and that the key belongs to this Azure OpenAI resource",
                    ProviderKind::OpenAi => "",
                };
                format!("{what} at {url} refused the {cred} (HTTP {code}){said}: check SIMBA_EMBEDDINGS_KEY or SIMBA_EMBEDDINGS_KEY_FILE{extra}")
            }
            404 => match c.endpoint.kind {
                ProviderKind::OpenAi => format!(
                    "{what} at {url} has no model '{}' or no /v1/embeddings route (HTTP 404){said}: check SIMBA_EMBEDDINGS_MODEL and SIMBA_EMBEDDINGS_URL",
                    c.endpoint.model
                ),
                ProviderKind::Azure => format!(
                    "Azure OpenAI has no deployment '{}' at {url} (HTTP 404){said}: check SIMBA_EMBEDDINGS_DEPLOYMENT, SIMBA_EMBEDDINGS_URL (https://RESOURCE.openai.azure.com) and SIMBA_EMBEDDINGS_API_VERSION",
                    c.endpoint.deployment.as_deref().unwrap_or_default()
                ),
                ProviderKind::Vertex => format!(
                    "Vertex AI has no model '{}' in project '{}' at location '{}' (HTTP 404){said}: check SIMBA_EMBEDDINGS_MODEL, SIMBA_EMBEDDINGS_PROJECT and SIMBA_EMBEDDINGS_LOCATION",
                    c.endpoint.model,
                    c.endpoint.project.as_deref().unwrap_or_default(),
                    c.endpoint.location.as_deref().unwrap_or_default()
                ),
            },
            429 => format!(
                "{what} is rate-limiting the requests (HTTP 429) and still was after {retries} retries{said}: send fewer queries or raise the quota"
            ),
            400 | 422 => {
                let dims = if c.dimensions.is_some() { " and SIMBA_EMBEDDINGS_DIMENSIONS (not every model takes it)" } else { "" };
                format!("{what} refused the request (HTTP {code}){said}: check SIMBA_EMBEDDINGS_MODEL{dims}")
            }
            _ if status.is_server_error() || code == 408 => {
                format!("{what} at {url} failed (HTTP {code}) after {retries} retries{said}; try again later")
            }
            300..=399 => format!(
                "{what} at {url} answered with a redirect (HTTP {code}), which is not followed so that the key is \
                 never sent to another address: set SIMBA_EMBEDDINGS_URL to the address it redirects to"
            ),
            _ => format!("{what} at {url} answered HTTP {code}{said}"),
        };
        provider_error(msg)
    }

    fn transport_error(&self, e: reqwest::Error, retries: u32) -> EmbedError {
        let what = label(self.config.endpoint.kind);
        let url = &self.shown;
        let timeout = e.is_timeout();
        let connect = e.is_connect();
        let detail = chain(&e.without_url());
        provider_error(if timeout {
            format!(
                "{what} at {url} did not answer within {}s ({} attempts): check the network, or raise SIMBA_EMBEDDINGS_TIMEOUT_SECS",
                self.config.endpoint.timeout.as_secs_f64(),
                retries + 1
            )
        } else if connect {
            format!(
                "could not connect to {what} at {url} ({detail}): check SIMBA_EMBEDDINGS_URL and that the server is up"
            )
        } else {
            format!("the request to {what} at {url} failed ({detail})")
        })
    }
}

/// Splits texts into requests of at most `max_n` texts and about `max_bytes` bytes (a text
/// larger than that goes alone).
fn batches(texts: &[String], max_n: usize, max_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (i, t) in texts.iter().enumerate() {
        if i > start && (i - start >= max_n || bytes.saturating_add(t.len()) > max_bytes) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes = bytes.saturating_add(t.len());
    }
    if start < texts.len() {
        out.push(start..texts.len());
    }
    out
}

// ---- the embedder ---------------------------------------------------------------------------

/// Embeddings from an online provider. The model id names provider, model and dimension
/// (`openai:text-embedding-3-small@1536`), so its cache namespaces never mix with another
/// model's; an answer of any other dimension is an error and is never stored.
pub struct ProviderEmbedder {
    model_id: String,
    dims: usize,
    shown: String,
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl fmt::Debug for ProviderEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderEmbedder").field("model_id", &self.model_id).field("endpoint", &self.shown).finish()
    }
}

impl ProviderEmbedder {
    /// Starts the provider thread. Without configured dimensions, one short request learns them
    /// (so a wrong URL or key shows up here, not at the first query). Blocking.
    pub fn connect(config: ProviderConfig) -> Result<Self, EmbedError> {
        let dims = config.dimensions;
        let (kind, model) = (config.endpoint.kind, config.endpoint.model.clone());
        let client = Client::new(config)?;
        let shown = client.shown.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| provider_error(format!("could not start the embeddings runtime: {e}")))?;
        let (jobs, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("simba-embeddings".into())
            .spawn(move || {
                let client = std::sync::Arc::new(client);
                runtime.block_on(async move {
                    // Ends when the embedder (the only sender) is dropped.
                    while let Some(job) = rx.recv().await {
                        let client = client.clone();
                        tokio::spawn(async move {
                            let _ = job.reply.send(client.embed_all(&job.texts).await);
                        });
                    }
                });
            })
            .map_err(|e| provider_error(format!("could not start the embeddings thread: {e}")))?;
        let mut embedder = Self { model_id: String::new(), dims: dims.unwrap_or(0), shown, jobs };
        if dims.is_none() {
            let probe = embedder.call(vec![PROBE_TEXT.to_string()])?;
            embedder.dims = probe.first().map(Vec::len).unwrap_or(0);
        }
        embedder.model_id = format!("{}:{model}@{}", kind.name(), embedder.dims);
        Ok(embedder)
    }

    /// Runs one job on the provider thread and waits for it (see the module doc).
    fn call(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.jobs.send(Job { texts, reply }).map_err(|_| provider_error("the embeddings thread has stopped".into()))?;
        let wait =
            move || answer.recv().unwrap_or_else(|_| Err(provider_error("the embeddings thread has stopped".into())));
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }
}

impl Embedder for ProviderEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dims(&self) -> usize {
        self.dims
    }

    // No `overflow`: no provider cuts a text silently here. Vertex is asked not to
    // (`autoTruncate: false`) and a reply that says it cut is refused; OpenAI and Azure answer a text
    // over the model's limit with an error rather than a vector. Either way the text is refused,
    // never embedded from its beginning only.

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        for t in texts {
            check_text(t)?;
        }
        let vectors = self.call(texts.iter().map(|t| t.to_string()).collect())?;
        if vectors.len() != texts.len() {
            return Err(provider_error(format!(
                "the provider answered {} vectors for {} texts",
                vectors.len(),
                texts.len()
            )));
        }
        if let Some(v) = vectors.iter().find(|v| v.len() != self.dims) {
            return Err(provider_error(format!(
                "the provider answered {}-dimension vectors, but this cache uses {} ({}); a namespace never mixes dimensions, so nothing was stored: set SIMBA_EMBEDDINGS_DIMENSIONS to {}, or, if the model changed, restart so the cache starts namespaces for it",
                v.len(),
                self.dims,
                self.model_id,
                self.dims
            )));
        }
        Ok(vectors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::provider::DEFAULT_AZURE_API_VERSION;
    use std::collections::HashMap;

    /// `c` at another base URL.
    fn at(c: &ProviderConfig, url: &str) -> ProviderConfig {
        ProviderConfig { endpoint: c.endpoint.clone().with_url(url), ..c.clone() }
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn config_err(pairs: &[(&str, &str)]) -> String {
        match ProviderConfig::from_vars(vars(pairs)) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn local_is_the_default() {
        assert!(ProviderConfig::from_vars(vars(&[])).unwrap().is_none());
        assert!(ProviderConfig::from_vars(vars(&[("SIMBA_EMBEDDINGS", "local")])).unwrap().is_none());
        assert!(ProviderConfig::from_vars(vars(&[("SIMBA_EMBEDDINGS", " ")])).unwrap().is_none());
        assert!(config_err(&[("SIMBA_EMBEDDINGS", "cohere")]).contains("openai, azure or vertex"));
    }

    #[test]
    fn missing_variables_are_named() {
        let e = config_err(&[("SIMBA_EMBEDDINGS", "openai"), ("SIMBA_EMBEDDINGS_MODEL", "m")]);
        assert!(e.contains("SIMBA_EMBEDDINGS_KEY"), "{e}");
        let e = config_err(&[("SIMBA_EMBEDDINGS", "openai"), ("SIMBA_EMBEDDINGS_KEY", "k")]);
        assert!(e.contains("SIMBA_EMBEDDINGS_MODEL"), "{e}");
        let azure = [
            ("SIMBA_EMBEDDINGS", "azure"),
            ("SIMBA_EMBEDDINGS_KEY", "k"),
            ("SIMBA_EMBEDDINGS_URL", "https://r.openai.azure.com"),
        ];
        assert!(config_err(&azure).contains("SIMBA_EMBEDDINGS_DEPLOYMENT"));
        assert!(config_err(&azure[..2]).contains("SIMBA_EMBEDDINGS_URL"));
        let e = config_err(&[
            ("SIMBA_EMBEDDINGS", "vertex"),
            ("SIMBA_EMBEDDINGS_KEY", "t"),
            ("SIMBA_EMBEDDINGS_MODEL", "m"),
        ]);
        assert!(e.contains("SIMBA_EMBEDDINGS_PROJECT"), "{e}");
        let e = config_err(&[
            ("SIMBA_EMBEDDINGS", "vertex"),
            ("SIMBA_EMBEDDINGS_PROJECT", "p"),
            ("SIMBA_EMBEDDINGS_MODEL", "m"),
        ]);
        assert!(e.contains("SIMBA_EMBEDDINGS_KEY") && e.contains("gcloud"), "{e}");
        let e = config_err(&[
            ("SIMBA_EMBEDDINGS", "openai"),
            ("SIMBA_EMBEDDINGS_MODEL", "m"),
            ("SIMBA_EMBEDDINGS_KEY", "k"),
            ("SIMBA_EMBEDDINGS_DIMENSIONS", "lots"),
        ]);
        assert!(e.contains("SIMBA_EMBEDDINGS_DIMENSIONS"), "{e}");
        let e = config_err(&[
            ("SIMBA_EMBEDDINGS", "openai"),
            ("SIMBA_EMBEDDINGS_MODEL", "m"),
            ("SIMBA_EMBEDDINGS_KEY_FILE", "/nonexistent/key"),
        ]);
        assert!(e.contains("SIMBA_EMBEDDINGS_KEY_FILE"), "{e}");
    }

    #[test]
    fn full_configs_and_endpoints() {
        let c = ProviderConfig::from_vars(vars(&[
            ("SIMBA_EMBEDDINGS", "OpenAI"),
            ("SIMBA_EMBEDDINGS_MODEL", "text-embedding-3-small"),
            ("SIMBA_EMBEDDINGS_KEY", "sk-secret-value-123"),
            ("SIMBA_EMBEDDINGS_DIMENSIONS", "512"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.request_url().unwrap().as_str(), "https://api.openai.com/v1/embeddings");
        assert_eq!(c.dimensions, Some(512));
        assert_eq!(
            c.body(&["a".into()]),
            json!({"model": "text-embedding-3-small", "input": ["a"], "dimensions": 512})
        );
        assert!(!format!("{c:?}").contains("sk-secret"), "Debug must not show the key");
        for base in ["https://x.test/v1", "https://x.test/v1/", "https://x.test", "https://x.test/"] {
            assert_eq!(at(&c, base).request_url().unwrap().as_str(), "https://x.test/v1/embeddings", "{base}");
        }
        assert_eq!(at(&c, "http://h:8000/proxy").request_url().unwrap().as_str(), "http://h:8000/proxy/v1/embeddings");
        assert!(at(&c, "api.openai.com").request_url().unwrap_err().to_string().contains("SIMBA_EMBEDDINGS_URL"));
        assert!(at(&c, "ftp://x.test").request_url().unwrap_err().to_string().contains("http"));

        let a = ProviderConfig::from_vars(vars(&[
            ("SIMBA_EMBEDDINGS", "azure"),
            ("SIMBA_EMBEDDINGS_URL", "https://res.openai.azure.com/"),
            ("SIMBA_EMBEDDINGS_DEPLOYMENT", "emb"),
            ("SIMBA_EMBEDDINGS_KEY", "k"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            a.request_url().unwrap().as_str(),
            format!("https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version={DEFAULT_AZURE_API_VERSION}")
        );
        assert_eq!(a.endpoint.model, "emb");
        assert_eq!(a.body(&["a".into()]), json!({"input": ["a"]}));

        let v = ProviderConfig::from_vars(vars(&[
            ("SIMBA_EMBEDDINGS", "vertex"),
            ("SIMBA_EMBEDDINGS_PROJECT", "proj"),
            ("SIMBA_EMBEDDINGS_LOCATION", "europe-west4"),
            ("SIMBA_EMBEDDINGS_MODEL", "text-embedding-005"),
            ("SIMBA_EMBEDDINGS_KEY", "ya29.token"),
            ("SIMBA_EMBEDDINGS_DIMENSIONS", "256"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            v.request_url().unwrap().as_str(),
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4/publishers/google/models/text-embedding-005:predict"
        );
        assert_eq!(
            v.body(&["a".into()]),
            json!({"instances": [{"content": "a"}], "parameters": {"autoTruncate": false, "outputDimensionality": 256}})
        );
        assert_eq!(v.limits().0, 250);
        let gemini = ProviderConfig { endpoint: v.endpoint.clone().with_model("gemini-embedding-001"), ..v };
        assert_eq!(gemini.limits().0, 1);
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        let texts: Vec<String> = (0..7).map(|i| "x".repeat(10 + i)).collect();
        assert_eq!(batches(&texts, 3, usize::MAX), vec![0..3, 3..6, 6..7]);
        assert_eq!(batches(&texts, 100, 25), vec![0..2, 2..4, 4..5, 5..6, 6..7]);
        assert_eq!(batches(&texts[..1], 1, 1), vec![0..1]);
        assert!(batches(&[], 3, 10).is_empty());
    }
}
