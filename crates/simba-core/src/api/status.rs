//! The overview figures: host, local engine, and each configured source of a profile.

use super::Service;
use crate::error::ApiResult;
use crate::profiles::{ResolvedProfile, Service as Svc};
use crate::sources::host::HostSnapshot;
use crate::sources::postgres::{self, PostgresSnapshot};
use crate::sources::redis::{self, RedisSnapshot};
use crate::sources::SourceStatus;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StatusRequest {
    /// Profile name; `embedded` when absent.
    #[serde(default)]
    pub profile: Option<String>,
    /// How many top statements to list (default 10, at most 100).
    #[serde(default)]
    pub top_statements: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StatusReport {
    pub profile: String,
    pub read_only: bool,
    /// RFC 3339 time the figures were collected.
    pub collected_at: String,
    pub host: HostSnapshot,
    pub engine: EngineSnapshot,
    pub redis: SourceStatus<RedisSnapshot>,
    pub postgres: SourceStatus<PostgresSnapshot>,
}

pub use crate::engine::EngineSnapshot;

impl Service {
    pub async fn status(&self, req: StatusRequest) -> ApiResult<StatusReport> {
        let name = req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED);
        let profile = self.resolve_profile(name)?;
        self.status_of(&profile, req.top_statements.unwrap_or(10).clamp(1, 100) as i64).await
    }

    /// Collects every source of `profile` concurrently; one failing source never hides the others.
    pub async fn status_of(&self, profile: &ResolvedProfile, top_n: i64) -> ApiResult<StatusReport> {
        let redis_fut = async {
            match profile.endpoint(Svc::Redis) {
                Some(ep) => SourceStatus::from_result(redis::collect(ep).await),
                None => SourceStatus::NotConfigured,
            }
        };
        let pg_fut = async {
            match profile.endpoint(Svc::Postgres) {
                Some(ep) => SourceStatus::from_result(postgres::collect(ep, top_n).await),
                None => SourceStatus::NotConfigured,
            }
        };
        let host_fut = async { self.inner.host.lock().await.sample().await };
        let (mut redis_status, postgres, host) = tokio::join!(redis_fut, pg_fut, host_fut);
        if let SourceStatus::Ok { data } = &mut redis_status {
            let mut last = self.inner.last_redis.lock().await;
            if let Some(prev) = last.get(&profile.name) {
                data.hit_rate_interval = redis::interval_hit_rate(prev, data);
            }
            last.insert(profile.name.clone(), data.clone());
        }
        Ok(StatusReport {
            profile: profile.name.clone(),
            read_only: profile.read_only,
            collected_at: chrono::Utc::now().to_rfc3339(),
            host,
            engine: self.engine().snapshot().await,
            redis: redis_status,
            postgres,
        })
    }
}
