//! The advisor's commands: `advise` (findings), `action_preview`, `action_apply`, `action_rollback`
//! and `audit_log`. Only `action_apply` and `action_rollback` write, and only through
//! `advisor::actions`.

use super::Service;
use crate::advisor::actions::progress::ActionProgress;
use crate::advisor::actions::{self, ActionPreview, Scope};
use crate::advisor::audit::{AuditEntry, AuditLog};
use crate::advisor::rules::{redis_roles, Inputs};
use crate::advisor::{evaluate, AdviceReport, Thresholds};
use crate::error::{ApiError, ApiResult};
use crate::profiles::{Endpoint, ResolvedProfile, Service as Svc};
use crate::sources::celery::QueuesOptions;
use crate::sources::postgres_report::DbReportOptions;
use crate::sources::redis_report::SampleBudget;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// A source's report, or None with its failure added to `problems`.
fn keep<T>(problems: &mut Vec<String>, what: &str, r: Option<ApiResult<T>>) -> Option<T> {
    match r? {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("{what}: {}", e.message));
            None
        }
    }
}

impl Service {
    pub async fn advise(&self, req: AdviseRequest) -> ApiResult<AdviceReport> {
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        self.advise_of(&profile).await
    }

    pub async fn advise_of(&self, profile: &ResolvedProfile) -> ApiResult<AdviceReport> {
        let thresholds = Thresholds::load(self.inner.profiles.dir(), &profile.name)?;
        let has = |svc| profile.endpoint(svc).is_some();
        // Each source on its own: one that is down or refuses is a problem, the others still count.
        let (redis, db, queues, kube) = tokio::join!(
            async {
                if has(Svc::Redis) {
                    Some(self.redis_report_of(profile, SampleBudget::default()).await)
                } else {
                    None
                }
            },
            async {
                if has(Svc::Postgres) {
                    Some(self.db_report_of(profile, DbReportOptions::default()).await)
                } else {
                    None
                }
            },
            async {
                if !has(Svc::CeleryBroker) {
                    return None;
                }
                let options = QueuesOptions { inspect: true, ..QueuesOptions::default() };
                Some(self.queues_report_of(profile, &options).await)
            },
            async {
                if !has(Svc::Kubernetes) {
                    return None;
                }
                let target = match super::cluster::kube_target(Some(profile)) {
                    Ok(t) => t,
                    Err(e) => return Some((Err(e.clone()), Err(e))),
                };
                Some(tokio::join!(self.k8s_hpas_of(target.clone(), None), self.k8s_deployments_of(target, None)))
            },
        );
        let mut problems = vec![];
        let redis = keep(&mut problems, "Redis", redis);
        let db = keep(&mut problems, "PostgreSQL", db);
        let queues = keep(&mut problems, "Celery broker", queues);
        let (hpas, deployments) = match kube {
            Some((h, d)) => (
                keep(&mut problems, "Kubernetes HPAs", Some(h)),
                keep(&mut problems, "Kubernetes Deployments", Some(d)),
            ),
            None => (None, None),
        };
        let cache = if self.owns_cache(profile) {
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
        let inputs = Inputs {
            redis: redis.as_ref(),
            db: db.as_ref(),
            cache: cache.as_ref(),
            queues: queues.as_ref(),
            hpas: hpas.as_ref(),
            deployments: deployments.as_ref(),
            roles,
        };
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

/// An action to preview or apply, or (with `rollback_of`) the rollback of an audit entry to preview.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActionRequest {
    /// The profile whose server the action changes (read-only profiles refuse apply).
    pub profile: String,
    /// An action id (see `ACTIONS`: `redis.config_set`, `pg.alter_system`, `cache.set_settings`, …).
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Preview the rollback of this audit entry instead of an action.
    #[serde(default)]
    pub rollback_of: Option<String>,
    /// For apply: the preview's `confirm_token`.
    #[serde(default)]
    pub confirm: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RollbackRequest {
    pub profile: String,
    pub audit_id: String,
    /// The `confirm_token` of the rollback's preview (`action_preview` with `rollback_of`).
    pub confirm: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditLogRequest {
    /// Only this profile's entries (default: all).
    #[serde(default)]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActionProgressRequest {
    /// Only this profile's actions (default: all).
    #[serde(default)]
    pub profile: Option<String>,
}

impl Service {
    /// The actions running now in this process, with an index build's phase and counts.
    pub fn action_progress(&self, req: ActionProgressRequest) -> Vec<ActionProgress> {
        actions::progress::running(req.profile.as_deref())
    }

    fn audit(&self) -> AuditLog {
        AuditLog::default_location()
    }

    /// The engine's cache belongs to the profile whose server stores it (or to `embedded`).
    fn owns_cache(&self, profile: &ResolvedProfile) -> bool {
        match &self.inner.store_profile {
            Some(name) => *name == profile.name,
            None => profile.name == crate::profiles::EMBEDDED,
        }
    }

    /// What `action` may act on for `profile`: the engine's cache is opened only for a cache action.
    async fn action_scope<'a>(&self, profile: &'a ResolvedProfile, action: &str) -> ApiResult<Scope<'a>> {
        let cache = if action.starts_with("cache.") && self.owns_cache(profile) {
            Some(self.engine().cache().await?)
        } else {
            None
        };
        Ok(Scope { profile, cache })
    }

    pub async fn action_preview(&self, req: ActionRequest) -> ApiResult<ActionPreview> {
        let profile = self.resolve_profile(&req.profile)?;
        match &req.rollback_of {
            Some(id) => {
                let entry = self.audit().find(id)?;
                actions::preview_rollback(&self.action_scope(&profile, &entry.action).await?, &entry).await
            }
            None => actions::preview(&self.action_scope(&profile, &req.action).await?, &req.action, &req.params).await,
        }
    }

    /// Applies a previewed action; refused on a read-only profile or when the preview is stale.
    pub async fn action_apply(&self, req: ActionRequest) -> ApiResult<AuditEntry> {
        let profile = self.resolve_profile(&req.profile)?;
        self.ensure_writable(&profile)?;
        let confirm = req.confirm.as_deref().filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            ApiError::invalid("apply needs the preview's confirm_token: preview the action first and pass its token")
        })?;
        if req.rollback_of.is_some() {
            return Err(ApiError::invalid("to roll back, use action_rollback with the audit entry's id"));
        }
        let scope = self.action_scope(&profile, &req.action).await?;
        actions::apply(&scope, &req.action, &req.params, confirm, &self.audit()).await
    }

    pub async fn action_rollback(&self, req: RollbackRequest) -> ApiResult<AuditEntry> {
        let profile = self.resolve_profile(&req.profile)?;
        self.ensure_writable(&profile)?;
        let audit = self.audit();
        let entry = audit.find(&req.audit_id)?;
        actions::rollback(&self.action_scope(&profile, &entry.action).await?, &entry, &req.confirm, &audit).await
    }

    /// The action that fixes a finding of a fresh `advise`, as a request to preview (the finding's
    /// id as `advise` gives it). A finding whose fix is advice only has no action: that is an error
    /// that quotes the advice.
    pub async fn finding_action(&self, profile: &str, finding_id: &str) -> ApiResult<ActionRequest> {
        let report = self.advise(AdviseRequest { profile: Some(profile.to_string()) }).await?;
        let Some(finding) = report.findings.iter().find(|f| f.id == finding_id) else {
            let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
            return Err(ApiError::not_found(format!(
                "no finding '{finding_id}' on profile '{profile}' now (open findings: {})",
                if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
            )));
        };
        match &finding.fix {
            crate::advisor::Fix::Action { action, params, .. } => Ok(ActionRequest {
                profile: profile.to_string(),
                action: action.clone(),
                params: params.clone(),
                ..Default::default()
            }),
            crate::advisor::Fix::Advice { text } => {
                Err(ApiError::invalid(format!("finding '{finding_id}' has no one-click fix; the advice is: {text}")))
            }
        }
    }

    pub fn audit_log(&self, req: AuditLogRequest) -> ApiResult<Vec<AuditEntry>> {
        let mut entries = self.audit().list()?;
        if let Some(p) = &req.profile {
            entries.retain(|e| e.profile == *p);
        }
        Ok(entries)
    }
}
