//! Online chat providers: any OpenAI-compatible `/v1/chat/completions` server (OpenAI, Ollama,
//! vLLM, llama.cpp's server), Azure OpenAI and Vertex AI Gemini. Chosen with `SIMBA_LLM` (see
//! [`config_from_vars`]); the local SmolLM2 stays the default.
//!
//! Wire shapes, as the official references give them:
//! - OpenAI: `POST {base}/v1/chat/completions`, `Authorization: Bearer KEY`, body `{"model",
//!   "messages": [{"role", "content"}], "temperature", "max_tokens", "seed"}`; answer
//!   `{"choices": [{"index", "message": {"role", "content"}, "finish_reason"}], "model",
//!   "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}`.
//! - Azure OpenAI: `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=V`,
//!   `api-key: KEY`, the same body without `model` and the same answer; a filtered answer has
//!   `finish_reason: "content_filter"`, a filtered prompt is HTTP 400 with
//!   `error.code: "content_filter"`.
//! - Vertex AI: `POST {base}/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`,
//!   `Authorization: Bearer TOKEN`, body `{"contents": [{"role": "user"|"model", "parts":
//!   [{"text"}]}], "systemInstruction": {"parts": [{"text"}]}, "generationConfig": {"temperature",
//!   "maxOutputTokens", "seed"}}`; answer `{"candidates": [{"content": {"parts": [{"text"}]},
//!   "finishReason": "STOP"|"MAX_TOKENS"|"SAFETY"|..}], "usageMetadata": {"promptTokenCount",
//!   "candidatesTokenCount"}, "modelVersion"}`.
//!
//! Every provider has a [`Breaker`]: after repeated failures it is not called for a while, and a
//! query fails at once with a message that says so, instead of waiting out timeouts.
//! Secrets: the key only leaves in one header; errors name the variable, never the value.

use super::breaker::{Breaker, BreakerState};
use super::{ChatModel, ChatRequest, Completion, FinishReason, OnDelta};
use crate::engine::cache::conversation::Role;
use crate::engine::provider::http::{backoff, chain, provider_message, retry_after};
use crate::engine::provider::{ProviderEndpoint, ProviderKey, ProviderKind, ProviderUse};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use url::Url;

/// What sets the chat models' endpoint apart: `SIMBA_LLM` and its companions.
pub const CHAT: ProviderUse = ProviderUse {
    prefix: "SIMBA_LLM",
    noun: "chat",
    openai_example: "gpt-4o-mini",
    vertex_example: "gemini-2.0-flash",
    openai_key_optional: true,
    timeout: Duration::from_secs(60),
    max_retries: 2,
};

/// A chat provider's endpoint; [`CHAT`] names its variables.
pub type LlmConfig = ProviderEndpoint;

fn config_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadConfig, message)
}

/// Reads `SIMBA_LLM` and its companions ([`ProviderEndpoint::from_vars`]); `None` means the local
/// model.
pub fn config_from_vars(get: impl Fn(&str) -> Option<String>) -> ApiResult<Option<LlmConfig>> {
    ProviderEndpoint::from_vars(&CHAT, &get).map_err(config_error)
}

/// The full request URL, checked.
fn endpoint(config: &LlmConfig) -> ApiResult<Url> {
    let mut url = config.base_url(CHAT.prefix).map_err(config_error)?;
    let base = url.path().trim_end_matches('/').to_string();
    let missing = |name: &str| config_error(format!("{name} is not set"));
    let path = match config.kind {
        ProviderKind::OpenAi => {
            let base = base.trim_end_matches("/chat/completions");
            format!("{}/v1/chat/completions", base.strip_suffix("/v1").unwrap_or(base))
        }
        ProviderKind::Azure => {
            let deployment = config.deployment.as_deref().ok_or_else(|| missing("SIMBA_LLM_DEPLOYMENT"))?;
            format!("{base}/openai/deployments/{deployment}/chat/completions")
        }
        ProviderKind::Vertex => {
            let project = config.project.as_deref().ok_or_else(|| missing("SIMBA_LLM_PROJECT"))?;
            let location = config.location.as_deref().ok_or_else(|| missing("SIMBA_LLM_LOCATION"))?;
            format!(
                "{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{}:generateContent",
                config.model
            )
        }
    };
    url.set_path(&path);
    config.add_api_version(&mut url);
    Ok(url)
}

/// Where a streamed answer is asked for: the same URL with `"stream": true` in the body for
/// OpenAI and Azure, `:streamGenerateContent?alt=sse` for Vertex.
fn stream_endpoint(config: &LlmConfig) -> ApiResult<Url> {
    let mut url = endpoint(config)?;
    if config.kind == ProviderKind::Vertex {
        let path = url.path().replace(":generateContent", ":streamGenerateContent");
        url.set_path(&path);
        url.query_pairs_mut().append_pair("alt", "sse");
    }
    Ok(url)
}

/// [`body`] asking for a stream (with the usage in the last chunk, where OpenAI and
/// Azure would otherwise leave it out).
fn stream_body(config: &LlmConfig, request: &ChatRequest) -> Value {
    let mut b = body(config, request);
    if config.kind != ProviderKind::Vertex {
        b["stream"] = json!(true);
        b["stream_options"] = json!({ "include_usage": true });
    }
    b
}

/// The request body in the provider's official shape.
fn body(config: &LlmConfig, request: &ChatRequest) -> Value {
    let s = &request.settings;
    match config.kind {
        ProviderKind::OpenAi | ProviderKind::Azure => {
            let messages: Vec<Value> =
                request.messages.iter().map(|m| json!({ "role": m.role, "content": m.content })).collect();
            let mut b = json!({
                "messages": messages,
                "temperature": s.temperature,
                "max_tokens": s.max_tokens,
                "seed": s.seed,
            });
            if config.kind == ProviderKind::OpenAi {
                b["model"] = json!(config.model);
            }
            b
        }
        ProviderKind::Vertex => {
            let system: Vec<Value> = request
                .messages
                .iter()
                .filter(|m| m.role == Role::System)
                .map(|m| json!({ "text": m.content }))
                .collect();
            let contents: Vec<Value> = request
                .messages
                .iter()
                .filter(|m| m.role != Role::System)
                .map(|m| {
                    let role = if m.role == Role::Assistant { "model" } else { "user" };
                    json!({ "role": role, "parts": [{ "text": m.content }] })
                })
                .collect();
            let mut b = json!({
                "contents": contents,
                "generationConfig": {
                    "temperature": s.temperature,
                    "maxOutputTokens": s.max_tokens,
                    "seed": s.seed,
                },
            });
            if !system.is_empty() {
                b["systemInstruction"] = json!({ "parts": system });
            }
            b
        }
    }
}

// ---- answers --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct OpenAiAnswer {
    choices: Vec<OpenAiChoice>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
}
#[derive(Deserialize)]
struct OpenAiChoice {
    message: OpenAiMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}
#[derive(Deserialize)]
struct OpenAiMessage {
    #[serde(default)]
    content: Option<String>,
}
#[derive(Deserialize)]
struct OpenAiUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VertexAnswer {
    #[serde(default)]
    candidates: Vec<VertexCandidate>,
    #[serde(default)]
    usage_metadata: Option<VertexUsage>,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    prompt_feedback: Option<Value>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VertexCandidate {
    #[serde(default)]
    content: Option<VertexContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}
#[derive(Deserialize)]
struct VertexContent {
    #[serde(default)]
    parts: Vec<VertexPart>,
}
#[derive(Deserialize)]
struct VertexPart {
    #[serde(default)]
    text: Option<String>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VertexUsage {
    #[serde(default)]
    prompt_token_count: u32,
    #[serde(default)]
    candidates_token_count: u32,
}

fn finish_reason(raw: Option<&str>) -> FinishReason {
    match raw.map(|r| r.to_ascii_lowercase()).as_deref() {
        Some("stop") | Some("end_turn") | None => FinishReason::Stop,
        Some("length") | Some("max_tokens") => FinishReason::Length,
        Some("content_filter")
        | Some("safety")
        | Some("recitation")
        | Some("blocklist")
        | Some("prohibited_content") => FinishReason::Filtered,
        Some(_) => FinishReason::Other,
    }
}

// ---- the client -----------------------------------------------------------------------------

/// What a stream has brought so far.
#[derive(Default)]
struct Streamed {
    text: String,
    model: Option<String>,
    prompt_tokens: u32,
    completion_tokens: u32,
    finish: Option<FinishReason>,
    /// OpenAI's and Azure's `data: [DONE]` came.
    done: bool,
}

/// A successful answer: read whole, or its response still streaming.
enum Sent {
    Whole(Vec<u8>),
    Stream(reqwest::Response),
}

/// A chat provider behind [`ChatModel`].
pub struct RemoteChat {
    config: LlmConfig,
    endpoint: Url,
    stream_endpoint: Url,
    /// The endpoint as errors show it.
    shown: String,
    http: reqwest::Client,
    breaker: Breaker,
}

impl RemoteChat {
    pub fn connect(config: LlmConfig) -> ApiResult<Self> {
        let endpoint = endpoint(&config)?;
        let shown = crate::profiles::redact_url(endpoint.as_str());
        let http = config.http_client(&endpoint, CHAT.prefix).map_err(config_error)?;
        let stream_endpoint = stream_endpoint(&config)?;
        Ok(Self { config, endpoint, stream_endpoint, shown, http, breaker: Breaker::default() })
    }

    pub fn with_breaker(mut self, breaker: Breaker) -> Self {
        self.breaker = breaker;
        self
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    fn label(&self) -> &'static str {
        match self.config.kind {
            ProviderKind::OpenAi => "the OpenAI-compatible chat API",
            ProviderKind::Azure => "Azure OpenAI",
            ProviderKind::Vertex => "Vertex AI",
        }
    }

    async fn key(&self) -> ApiResult<Secret> {
        match &self.config.key {
            // An empty key is allowed here: a local OpenAI-compatible server may want none.
            ProviderKey::Value(s) => Ok(s.clone()),
            other => other.current(CHAT.prefix).await.map_err(config_error),
        }
    }

    /// One request with retries, its answer read whole; the breaker counts the outcome.
    async fn call(&self, body: &Value) -> ApiResult<Vec<u8>> {
        self.guarded(async {
            match self.send_with_retries(&self.endpoint, body, true).await? {
                Sent::Whole(bytes) => Ok(bytes),
                // Never handed back when the whole answer is asked for; read it all the same.
                Sent::Stream(resp) => resp.bytes().await.map(|b| b.to_vec()).map_err(|e| self.transport_error(e, 0)),
            }
        })
        .await
    }

    /// Runs `attempt` unless the circuit is open, and counts its outcome.
    async fn guarded<T>(&self, attempt: impl std::future::Future<Output = ApiResult<T>>) -> ApiResult<T> {
        if let Err(wait) = self.breaker.allow() {
            return Err(ApiError::new(
                ErrorCode::Unreachable,
                format!(
                    "{} at {} failed several times in a row; it is not called for another {}s (circuit open), then one query tries it again",
                    self.label(),
                    self.shown,
                    wait.as_secs().max(1)
                ),
            ));
        }
        let result = attempt.await;
        match &result {
            Ok(_) => self.breaker.success(),
            // Only failures of the provider open the circuit, not a refused prompt or key.
            Err(e) if e.code == ErrorCode::Unreachable || e.code == ErrorCode::Internal => self.breaker.failure(),
            Err(_) => self.breaker.success(),
        }
        result
    }

    /// Sends until an answer comes or the retries are spent. With `whole` the answer's body is
    /// read here (a timeout while reading is retried too); else the response is handed back as
    /// soon as its status says success, for its body to be read as a stream.
    async fn send_with_retries(&self, url: &Url, body: &Value, whole: bool) -> ApiResult<Sent> {
        let key = self.key().await?;
        let mut retries = 0u32;
        loop {
            let req = self.http.post(url.clone()).json(body);
            let req = self.config.authorize(req, &key, CHAT.prefix).map_err(config_error)?;
            let asked = match req.send().await {
                Ok(resp) if !whole && resp.status().is_success() => return Ok(Sent::Stream(resp)),
                Ok(resp) => {
                    let status = resp.status();
                    let asked = retry_after(resp.headers());
                    match resp.bytes().await {
                        Ok(bytes) if status.is_success() => return Ok(Sent::Whole(bytes.to_vec())),
                        Ok(bytes) => {
                            let transient = matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504);
                            if !transient || retries >= self.config.max_retries {
                                if let (401, ProviderKey::ServiceAccount(account)) = (status.as_u16(), &self.config.key)
                                {
                                    // A token revoked before its hour: the next query asks for a new one.
                                    account.forget().await;
                                }
                                return Err(self.status_error(status, &bytes, retries, key.expose()));
                            }
                            asked
                        }
                        Err(e) if retries < self.config.max_retries && e.is_timeout() => None,
                        Err(e) => return Err(self.transport_error(e, retries)),
                    }
                }
                // Nothing listens, or the name does not resolve: retrying will not help.
                Err(e) if e.is_connect() && !e.is_timeout() => return Err(self.transport_error(e, retries)),
                Err(e) if (e.is_timeout() || e.is_request()) && retries < self.config.max_retries => None,
                Err(e) => return Err(self.transport_error(e, retries)),
            };
            retries += 1;
            tracing::warn!(provider = self.config.kind.name(), "the chat provider failed; retry {retries}");
            tokio::time::sleep(backoff(self.config.retry_base, retries, asked)).await;
        }
    }

    fn status_error(&self, status: reqwest::StatusCode, body: &[u8], retries: u32, key: &str) -> ApiError {
        let what = self.label();
        let url = &self.shown;
        let code = status.as_u16();
        let said = provider_message(body, key).map(|m| format!(" (it said: {m})")).unwrap_or_default();
        let filtered = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(|c| c == "content_filter"))
            .unwrap_or(false);
        match code {
            401 | 403 => ApiError::new(
                ErrorCode::Refused,
                format!("{what} at {url} refused the credentials (HTTP {code}){said}: check SIMBA_LLM_KEY or SIMBA_LLM_KEY_FILE"),
            ),
            404 => config_error(format!(
                "{what} at {url} has no such model or deployment (HTTP 404){said}: check SIMBA_LLM_MODEL, SIMBA_LLM_DEPLOYMENT and SIMBA_LLM_URL"
            )),
            400 | 422 if filtered => ApiError::invalid(format!("{what} refused the prompt by its content filter{said}")),
            400 | 422 => ApiError::invalid(format!("{what} refused the request (HTTP {code}){said}")),
            429 => ApiError::new(
                ErrorCode::Unreachable,
                format!("{what} is rate-limiting (HTTP 429) and still was after {retries} retries{said}: send fewer queries or raise the quota"),
            ),
            300..=399 => config_error(format!(
                "{what} at {url} answered with a redirect (HTTP {code}), which is not followed so the key never reaches another address; set SIMBA_LLM_URL to where it points"
            )),
            _ => ApiError::new(
                ErrorCode::Unreachable,
                format!("{what} at {url} failed (HTTP {code}) after {retries} retries{said}; try again later"),
            ),
        }
    }

    fn transport_error(&self, e: reqwest::Error, retries: u32) -> ApiError {
        let what = self.label();
        let url = &self.shown;
        let message = if e.is_timeout() {
            format!(
                "{what} at {url} did not answer within {}s ({} attempts): check the server, or raise SIMBA_LLM_TIMEOUT_SECS",
                self.config.timeout.as_secs_f64(),
                retries + 1
            )
        } else if e.is_connect() {
            format!(
                "could not connect to {what} at {url} ({}): check SIMBA_LLM_URL and that the server is up",
                chain(&e.without_url())
            )
        } else {
            format!("the request to {what} at {url} failed ({})", chain(&e.without_url()))
        };
        ApiError::new(ErrorCode::Unreachable, message)
    }

    /// Reads an answer sent as Server-Sent Events: events end with a blank line, and each
    /// `data:` line is a piece of the event's data. OpenAI and Azure send `chat.completion.chunk`
    /// objects (`choices[0].delta.content`; `finish_reason` on the last choice; `usage` in a last
    /// chunk of its own) and end with `data: [DONE]`; Vertex sends GenerateContentResponse objects
    /// (`finishReason` and `usageMetadata` on the last) and ends with the connection. A stream
    /// that ends before that is cut: an error, whatever text came.
    async fn read_stream(&self, mut resp: reqwest::Response, on_delta: OnDelta<'_>) -> ApiResult<Completion> {
        let key = self.key().await?;
        let mut state = Streamed::default();
        let mut pending: Vec<u8> = Vec::new();
        let mut data = String::new();
        let mut ended = false;
        while !state.done {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    ended = true;
                    break;
                }
                Err(e) => return Err(self.cut(&state, Some(e))),
            };
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                self.sse_line(line.trim_end_matches(['\n', '\r']), &mut data, &mut state, on_delta, key.expose())?;
            }
        }
        if ended {
            // The last event may end with the connection rather than a blank line; half an event
            // is a cut stream, not an answer.
            let rest = String::from_utf8_lossy(&pending).into_owned();
            let last = if rest.is_empty() {
                Ok(())
            } else {
                self.sse_line(&rest, &mut data, &mut state, on_delta, key.expose())
            };
            let flushed = last.and_then(|_| self.sse_line("", &mut data, &mut state, on_delta, key.expose()));
            if flushed.is_err() {
                return Err(self.cut(&state, None));
            }
        }
        let complete = match self.config.kind {
            ProviderKind::OpenAi | ProviderKind::Azure => state.done,
            ProviderKind::Vertex => state.finish.is_some(),
        };
        if !complete {
            return Err(self.cut(&state, None));
        }
        let finish = state.finish.unwrap_or(FinishReason::Stop);
        if state.text.trim().is_empty() && finish != FinishReason::Filtered {
            return Err(ApiError::internal(format!(
                "{} at {} streamed something that is not a chat answer (an empty message)",
                self.label(),
                self.shown
            )));
        }
        Ok(Completion {
            text: state.text,
            model: state.model.unwrap_or_else(|| self.config.model.clone()),
            prompt_tokens: state.prompt_tokens,
            completion_tokens: state.completion_tokens,
            finish_reason: finish,
        })
    }

    /// One line of an event stream; a blank line hands the gathered data on as one event.
    fn sse_line(
        &self,
        line: &str,
        data: &mut String,
        state: &mut Streamed,
        on_delta: OnDelta<'_>,
        key: &str,
    ) -> ApiResult<()> {
        if line.is_empty() {
            if !data.is_empty() {
                let event = std::mem::take(data);
                self.stream_event(&event, state, on_delta, key)?;
            }
        } else if let Some(piece) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(piece.strip_prefix(' ').unwrap_or(piece));
        }
        // Other fields (`event:`, `id:`, `retry:`) and `:` comments carry nothing for an answer.
        Ok(())
    }

    fn stream_event(&self, data: &str, state: &mut Streamed, on_delta: OnDelta<'_>, key: &str) -> ApiResult<()> {
        if data.trim() == "[DONE]" {
            state.done = true;
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ApiError::internal(format!(
                "{} at {} streamed something that is not a chat answer ({e})",
                self.label(),
                self.shown
            ))
        })?;
        if v.get("error").is_some_and(|e| !e.is_null()) {
            let said = provider_message(data.as_bytes(), key).unwrap_or_else(|| "no message".into());
            return Err(ApiError::new(
                ErrorCode::Unreachable,
                format!("{} at {} failed in the middle of its answer (it said: {said})", self.label(), self.shown),
            ));
        }
        let mut delta = |text: &str| {
            if !text.is_empty() {
                on_delta(text);
                state.text.push_str(text);
            }
        };
        match self.config.kind {
            ProviderKind::OpenAi | ProviderKind::Azure => {
                if let Some(choice) = v["choices"].get(0) {
                    if let Some(text) = choice["delta"]["content"].as_str() {
                        delta(text);
                    }
                    if let Some(reason) = choice["finish_reason"].as_str() {
                        state.finish = Some(finish_reason(Some(reason)));
                    }
                }
                if let Some(usage) = v.get("usage").filter(|u| !u.is_null()) {
                    state.prompt_tokens = usage["prompt_tokens"].as_u64().unwrap_or(0) as u32;
                    state.completion_tokens = usage["completion_tokens"].as_u64().unwrap_or(0) as u32;
                }
                if let Some(model) = v["model"].as_str() {
                    state.model = Some(model.to_string());
                }
            }
            ProviderKind::Vertex => {
                let candidate = &v["candidates"][0];
                if candidate.is_null() {
                    if let Some(reason) = v["promptFeedback"]["blockReason"].as_str() {
                        return Err(ApiError::invalid(format!("Vertex AI blocked the prompt ({reason})")));
                    }
                }
                for part in candidate["content"]["parts"].as_array().into_iter().flatten() {
                    if let Some(text) = part["text"].as_str() {
                        delta(text);
                    }
                }
                if let Some(reason) = candidate["finishReason"].as_str() {
                    state.finish = Some(finish_reason(Some(reason)));
                }
                if let Some(usage) = v.get("usageMetadata") {
                    state.prompt_tokens = usage["promptTokenCount"].as_u64().unwrap_or(0) as u32;
                    state.completion_tokens = usage["candidatesTokenCount"].as_u64().unwrap_or(0) as u32;
                }
                if let Some(model) = v["modelVersion"].as_str() {
                    state.model = Some(model.to_string());
                }
            }
        }
        Ok(())
    }

    /// A stream that stopped before the provider said the answer was complete.
    fn cut(&self, state: &Streamed, cause: Option<reqwest::Error>) -> ApiError {
        let why = cause.map(|e| format!(" ({})", chain(&e.without_url()))).unwrap_or_default();
        ApiError::new(
            ErrorCode::Unreachable,
            format!(
                "{} at {} stopped streaming before the end of its answer, after {} characters{why}; the partial answer is not used: try again",
                self.label(),
                self.shown,
                state.text.chars().count()
            ),
        )
    }

    /// Reads the provider's answer; anything that is not one is an error, never an empty answer.
    fn parse(&self, bytes: &[u8]) -> ApiResult<Completion> {
        let garbage = |why: String| {
            ApiError::internal(format!(
                "{} at {} answered with something that is not a chat answer ({why})",
                self.label(),
                self.shown
            ))
        };
        match self.config.kind {
            ProviderKind::OpenAi | ProviderKind::Azure => {
                let a: OpenAiAnswer = serde_json::from_slice(bytes).map_err(|e| garbage(e.to_string()))?;
                let choice = a.choices.into_iter().next().ok_or_else(|| garbage("no choices".into()))?;
                let finish = finish_reason(choice.finish_reason.as_deref());
                let text = choice.message.content.unwrap_or_default();
                if text.trim().is_empty() && finish != FinishReason::Filtered {
                    return Err(garbage("an empty message".into()));
                }
                let usage = a.usage.unwrap_or(OpenAiUsage { prompt_tokens: 0, completion_tokens: 0 });
                Ok(Completion {
                    text,
                    model: a.model.unwrap_or_else(|| self.config.model.clone()),
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                    finish_reason: finish,
                })
            }
            ProviderKind::Vertex => {
                let a: VertexAnswer = serde_json::from_slice(bytes).map_err(|e| garbage(e.to_string()))?;
                let usage =
                    a.usage_metadata.unwrap_or(VertexUsage { prompt_token_count: 0, candidates_token_count: 0 });
                let Some(candidate) = a.candidates.into_iter().next() else {
                    // A blocked prompt has no candidates, only promptFeedback.blockReason.
                    if let Some(reason) = a.prompt_feedback.as_ref().and_then(|f| f["blockReason"].as_str()) {
                        return Err(ApiError::invalid(format!("Vertex AI blocked the prompt ({reason})")));
                    }
                    return Err(garbage("no candidates".into()));
                };
                let finish = finish_reason(candidate.finish_reason.as_deref());
                let text: String =
                    candidate.content.map(|c| c.parts.into_iter().filter_map(|p| p.text).collect()).unwrap_or_default();
                if text.trim().is_empty() && finish != FinishReason::Filtered {
                    return Err(garbage("an empty candidate".into()));
                }
                Ok(Completion {
                    text,
                    model: a.model_version.unwrap_or_else(|| self.config.model.clone()),
                    prompt_tokens: usage.prompt_token_count,
                    completion_tokens: usage.candidates_token_count,
                    finish_reason: finish,
                })
            }
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for RemoteChat {
    fn id(&self) -> String {
        format!("{}:{}", self.config.kind.name(), self.config.model)
    }
    fn provider(&self) -> &'static str {
        self.config.kind.name()
    }
    async fn complete(&self, request: &ChatRequest) -> ApiResult<Completion> {
        request.settings.validate().map_err(ApiError::invalid)?;
        if request.messages.is_empty() {
            return Err(ApiError::invalid("the conversation has no messages"));
        }
        let bytes = self.call(&body(&self.config, request)).await?;
        self.parse(&bytes)
    }
    async fn complete_streaming(&self, request: &ChatRequest, on_delta: OnDelta<'_>) -> ApiResult<Completion> {
        request.settings.validate().map_err(ApiError::invalid)?;
        if request.messages.is_empty() {
            return Err(ApiError::invalid("the conversation has no messages"));
        }
        let body = stream_body(&self.config, request);
        self.guarded(async {
            match self.send_with_retries(&self.stream_endpoint, &body, false).await? {
                Sent::Stream(resp) => self.read_stream(resp, on_delta).await,
                // Never asked for; read as a whole answer all the same.
                Sent::Whole(bytes) => self.parse(&bytes),
            }
        })
        .await
    }
    async fn probe(&self) -> ApiResult<()> {
        let request = ChatRequest {
            messages: vec![crate::engine::cache::conversation::Message::user("ping")],
            settings: super::GenerationSettings { max_tokens: 1, ..Default::default() },
        };
        self.complete(&request).await.map(|_| ())
    }
    async fn ready(&self) -> Result<(), String> {
        match self.breaker.state() {
            BreakerState::Open => Err("the provider failed several times in a row (circuit open)".into()),
            BreakerState::Closed | BreakerState::HalfOpen => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn local_is_the_default_and_bad_choices_are_named() {
        assert!(config_from_vars(vars(&[])).unwrap().is_none());
        assert!(config_from_vars(vars(&[("SIMBA_LLM", "local")])).unwrap().is_none());
        let e = config_from_vars(vars(&[("SIMBA_LLM", "gpt")])).unwrap_err();
        assert!(e.message.contains("openai, azure or vertex"), "{e}");
        let e = config_from_vars(vars(&[("SIMBA_LLM", "azure"), ("SIMBA_LLM_KEY", "k")])).unwrap_err();
        assert!(e.message.contains("SIMBA_LLM_URL"), "{e}");
        let e = config_from_vars(vars(&[("SIMBA_LLM", "openai")])).unwrap_err();
        assert!(e.message.contains("SIMBA_LLM_MODEL"), "{e}");
    }

    #[test]
    fn endpoints_follow_each_provider() {
        let c = LlmConfig::openai("http://127.0.0.1:8080/v1", "m", Secret::default());
        assert_eq!(endpoint(&c).unwrap().as_str(), "http://127.0.0.1:8080/v1/chat/completions");
        let c = LlmConfig::azure("https://r.openai.azure.com/", "chat", "2024-10-21", Secret::new("k"));
        assert_eq!(
            endpoint(&c).unwrap().as_str(),
            "https://r.openai.azure.com/openai/deployments/chat/chat/completions?api-version=2024-10-21"
        );
        let c = LlmConfig::vertex("p", "europe-west4", "gemini-2.0-flash", Secret::new("t"));
        assert_eq!(
            endpoint(&c).unwrap().as_str(),
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.0-flash:generateContent"
        );
        assert_eq!(
            stream_endpoint(&c).unwrap().as_str(),
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
        let plain = LlmConfig::openai("http://example.com", "m", Secret::new("k"));
        assert!(RemoteChat::connect(plain).is_err(), "plain http off this machine carries the key in clear");
    }

    #[test]
    fn finish_reasons_are_read_for_every_provider() {
        assert_eq!(finish_reason(Some("stop")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("MAX_TOKENS")), FinishReason::Length);
        assert_eq!(finish_reason(Some("content_filter")), FinishReason::Filtered);
        assert_eq!(finish_reason(Some("SAFETY")), FinishReason::Filtered);
        assert_eq!(finish_reason(Some("tool_calls")), FinishReason::Other);
    }
}
