//! The query engine's commands (the Query Lab, `simba-tuner query`, `simba-tuner replay`).

use super::Service;
use crate::engine::query::{QueryAnswer, QueryRequest, QueryStats};
use crate::error::ApiResult;

impl Service {
    /// Answers one query through the session and semantic caches and the chat model.
    pub async fn query(&self, req: QueryRequest) -> ApiResult<QueryAnswer> {
        self.engine().ask(req).await
    }

    /// Each cache level's hits and misses and the model's calls and cost since the start.
    pub async fn query_stats(&self) -> ApiResult<QueryStats> {
        Ok(self.engine().query_engine().await?.stats())
    }
}
