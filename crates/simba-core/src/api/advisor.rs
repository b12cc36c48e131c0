//! The advisor's commands: `advise` (findings), `action_preview`, `action_apply`, `action_rollback`
//! and `audit_log`. Only `action_apply` and `action_rollback` write, and only through
//! `advisor::actions`.

use super::Service;
use crate::advisor::rules::{redis_roles, Inputs};
use crate::advisor::{evaluate, AdviceReport, Thresholds};
use crate::error::ApiResult;
use crate::profiles::{Endpoint, ResolvedProfile, Service as Svc};
use crate::sources::postgres_report::DbReportOptions;
use crate::sources::redis_report::SampleBudget;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AdviseRequest {
    /// Profile name (default `embedded`).
    #[serde(default)]
    pub profile: Option<String>,
}

/// `host:port` of a Redis URL, to tell whether two URLs name one server (databases aside).
fn server_of(endpoint: &Endpoint) -> Option<(String, u16)> {
    let url = url::Url::parse(endpoint.url.expose()).ok()?;
    Some((url.host_str()?.to_ascii_lowercase(), url.port().unwrap_or(6379)))
}

impl Service {
    pub async fn advise(&self, req: AdviseRequest) -> ApiResult<AdviceReport> {
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        self.advise_of(&profile).await
    }

    pub async fn advise_of(&self, profile: &ResolvedProfile) -> ApiResult<AdviceReport> {
        let thresholds = Thresholds::load(self.inner.profiles.dir(), &profile.name)?;
        let mut problems = vec![];
        let redis = match profile.endpoint(Svc::Redis) {
            Some(_) => match self.redis_report_of(profile, SampleBudget::default()).await {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!("Redis: {}", e.message));
                    None
                }
            },
            None => None,
        };
        let db = match profile.endpoint(Svc::Postgres) {
            Some(_) => match self.db_report_of(profile, DbReportOptions::default()).await {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!("PostgreSQL: {}", e.message));
                    None
                }
            },
            None => None,
        };
        // The engine's cache belongs to the profile whose server stores it (or to `embedded`).
        let owns_cache = match &self.inner.store_profile {
            Some(name) => *name == profile.name,
            None => profile.name == crate::profiles::EMBEDDED,
        };
        let cache = if owns_cache {
            match self.cache_stats().await {
                Ok(s) => Some(s),
                Err(e) => {
                    problems.push(format!("semantic cache: {}", e.message));
                    None
                }
            }
        } else {
            None
        };
        let same_server = match (profile.endpoint(Svc::Redis), profile.endpoint(Svc::CeleryBroker)) {
            (Some(r), Some(b)) => server_of(r).is_some() && server_of(r) == server_of(b),
            _ => false,
        };
        let mut roles = redis.as_ref().map(|r| redis_roles(r, same_server)).unwrap_or_default();
        if self.inner.store_profile.as_deref() == Some(profile.name.as_str()) && redis.is_some() {
            roles.cache = true;
        }
        let inputs = Inputs { redis: redis.as_ref(), db: db.as_ref(), cache: cache.as_ref(), roles };
        let (findings, rules) = evaluate(&inputs, &thresholds);
        Ok(AdviceReport {
            profile: profile.name.clone(),
            collected_at: chrono::Utc::now().to_rfc3339(),
            findings,
            rules,
            problems,
            redis_roles: roles.names(),
        })
    }
}
