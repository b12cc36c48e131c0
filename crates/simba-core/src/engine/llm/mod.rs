//! Chat models that answer what the caches miss: the local SmolLM2 (the offline default) and the
//! online providers (an OpenAI-compatible server, Azure OpenAI, Vertex AI Gemini).
//!
//! Every model takes the same [`ChatRequest`] (the conversation as messages with roles, and the
//! generation settings) and gives the same [`Completion`] (text, token counts, why it stopped).

pub mod breaker;
pub mod local;
pub mod remote;

use super::cache::conversation::Message;
use crate::error::ApiResult;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a chat model is asked.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChatRequest {
    /// The conversation, oldest first; the last message is the user's question.
    pub messages: Vec<Message>,
    pub settings: GenerationSettings,
}

/// How a model generates. The defaults match the spec's provider settings (a low temperature for
/// factual answers) and keep the local model quick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GenerationSettings {
    /// 0 picks the likeliest token every time (deterministic).
    pub temperature: f32,
    pub max_tokens: u32,
    /// Makes sampling repeatable where the model supports it (always, for the local model).
    #[ts(type = "number")]
    pub seed: u64,
}

impl Default for GenerationSettings {
    fn default() -> Self {
        Self { temperature: 0.0, max_tokens: 256, seed: 42 }
    }
}

impl GenerationSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !self.temperature.is_finite() || !(0.0..=2.0).contains(&self.temperature) {
            return Err(format!("temperature is {}; it must be from 0 to 2", self.temperature));
        }
        if self.max_tokens == 0 || self.max_tokens > 32_768 {
            return Err(format!("max_tokens is {}; it must be from 1 to 32768", self.max_tokens));
        }
        Ok(())
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum FinishReason {
    /// The model ended its answer.
    Stop,
    /// `max_tokens` was reached; the answer is cut.
    Length,
    /// The provider withheld or cut the answer (content filter, safety).
    Filtered,
    Other,
}

/// A model's answer.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Completion {
    pub text: String,
    /// The model that answered, as the provider names it.
    pub model: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub finish_reason: FinishReason,
}

/// Receives a streamed answer's text, piece by piece.
pub type OnDelta<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A chat model. Implementations are cheap to share; a call may run for seconds.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync {
    /// `provider:model`, as shown in traces and used for prices.
    fn id(&self) -> String;
    /// The provider's name (`local`, `openai`, `azure`, `vertex`).
    fn provider(&self) -> &'static str;
    async fn complete(&self, request: &ChatRequest) -> ApiResult<Completion>;
    /// [`Self::complete`], handing each piece of text to `on_delta` as the model produces it; the
    /// completion's text is the pieces joined. A stream that ends before the provider says it is
    /// finished is an error, never a shorter answer. A model that cannot stream hands over its
    /// whole text at once.
    async fn complete_streaming(&self, request: &ChatRequest, on_delta: OnDelta<'_>) -> ApiResult<Completion> {
        let completion = self.complete(request).await?;
        on_delta(&completion.text);
        Ok(completion)
    }
    /// Checks the model can answer without generating much.
    async fn probe(&self) -> ApiResult<()>;
    /// Whether the model can be called now, without calling it (health checks, which run every
    /// few seconds and must cost nothing): `Err` says why not.
    async fn ready(&self) -> Result<(), String>;
}

/// The chat model `SIMBA_LLM` and its companion variables name, or the local SmolLM2.
pub fn configured_model() -> ApiResult<std::sync::Arc<dyn ChatModel>> {
    Ok(match remote::config_from_vars(|name| std::env::var(name).ok())? {
        Some(config) => std::sync::Arc::new(remote::RemoteChat::connect(config)?),
        None => std::sync::Arc::new(local::LocalChat::new(local::default_model_path())),
    })
}
