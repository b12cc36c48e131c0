//! The local query and cache engine: the laptop twin of the platform. Usable as a library on its
//! own; at scale the same code runs on Redis and PostgreSQL as its stores.

use crate::error::ApiResult;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The local engine's figures for the overview.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EngineSnapshot {
    /// Embedding model in use, and whether its files were found.
    pub embedding_model: String,
    pub embedding_model_ready: bool,
    /// Why the model is not ready, and what to do.
    pub embedding_model_problem: Option<String>,
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
}

/// The engine as a whole. Cheap to clone.
#[derive(Clone, Default)]
pub struct Engine {}

impl Engine {
    pub fn open_default() -> ApiResult<Self> {
        Ok(Self {})
    }

    pub fn snapshot(&self) -> EngineSnapshot {
        EngineSnapshot { storage: "embedded".into(), ..Default::default() }
    }
}
