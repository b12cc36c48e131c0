//! The cluster on the facade (the Cluster page, `simba-tuner prom …` and `simba-tuner k8s …`):
//! Prometheus queries and panels, Kubernetes usage, HPAs and Deployments. Only reads from the
//! monitored systems; `prom_panels_set` writes the app's own panel settings.

use super::Service;
use crate::clock::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::profiles::{ResolvedProfile, Service as Svc};
pub use crate::sources::kubernetes::check_namespace;
use crate::sources::kubernetes::{DeploymentsReport, HpasReport, Kube, KubeTarget, NodesUsage, PodsUsage};
use crate::sources::panels::{self, PanelSet, PanelStore, PanelsReport};
use crate::sources::prometheus::{parse_duration, parse_time, Prometheus, QueryResult};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PromQueryRequest {
    /// Profile name (default `embedded`); its Prometheus URL is queried.
    #[serde(default)]
    pub profile: Option<String>,
    pub expr: String,
    /// Evaluation time: `now`, `now-15m`, Unix seconds or RFC 3339 (default: Prometheus's now).
    #[serde(default)]
    pub time: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PromRangeRequest {
    #[serde(default)]
    pub profile: Option<String>,
    pub expr: String,
    /// Times as for [`PromQueryRequest::time`]; default the last hour.
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    /// `15s`, `1m`, or seconds (default: about 120 points over the range, at least 1 s).
    #[serde(default)]
    pub step: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PromPanelsRequest {
    #[serde(default)]
    pub profile: Option<String>,
    /// The sparklines' window, minutes (default 30, at most 7 days).
    #[serde(default)]
    pub range_minutes: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PanelsUpdate {
    pub profile: String,
    pub panels: Vec<panels::Panel>,
    /// Forget the profile's changes first (an empty `panels` then brings the defaults back).
    #[serde(default)]
    pub reset: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KubeRequest {
    /// Profile name; its Kubernetes URL and token are used.
    #[serde(default)]
    pub profile: Option<String>,
    /// Without a profile: use the kubeconfig's current context (`KUBECONFIG` or `~/.kube/config`).
    /// Asked for explicitly, so that a call without a profile never reaches whatever cluster the
    /// machine's kubeconfig happens to name.
    #[serde(default)]
    pub kubeconfig: bool,
    /// One namespace; all when absent or empty.
    #[serde(default)]
    pub namespace: Option<String>,
}

impl KubeRequest {
    pub fn namespace(&self) -> ApiResult<Option<&str>> {
        match self.namespace.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(ns) => check_namespace(ns).map(Some),
        }
    }
}

fn prometheus_of(profile: &ResolvedProfile) -> ApiResult<Prometheus> {
    let endpoint = profile.endpoint(Svc::Prometheus).ok_or_else(|| {
        if profile.name == crate::profiles::EMBEDDED {
            return ApiError::invalid(
                "no Prometheus to query: name a profile with a Prometheus URL (--profile NAME), or pass --prometheus URL",
            );
        }
        ApiError::invalid(format!(
            "profile '{}' has no Prometheus URL: add one with `simba-tuner profile add {} --prometheus URL`, or pass \
             --prometheus URL",
            profile.name, profile.name
        ))
    })?;
    Prometheus::new(endpoint)
}

/// The API server of `profile`, or the kubeconfig's current context when no profile is named.
pub fn kube_target(profile: Option<&ResolvedProfile>) -> ApiResult<KubeTarget> {
    match profile {
        Some(p) => match p.endpoint(Svc::Kubernetes) {
            Some(e) => Ok(KubeTarget::from_endpoint(e, &p.name)),
            None => Err(ApiError::invalid(format!(
                "profile '{}' has no Kubernetes URL: add one with `simba-tuner profile add {} --kubernetes URL` (the \
                 token from SIMBA_KUBERNETES_TOKEN), or name no profile to use the kubeconfig's current context",
                p.name, p.name
            ))),
        },
        None => KubeTarget::from_kubeconfig(None),
    }
}

impl Service {
    fn profile_or_embedded(&self, name: Option<&str>) -> ApiResult<ResolvedProfile> {
        self.resolve_profile(name.unwrap_or(crate::profiles::EMBEDDED))
    }

    pub async fn prom_query(&self, req: PromQueryRequest) -> ApiResult<QueryResult> {
        let profile = self.profile_or_embedded(req.profile.as_deref())?;
        self.prom_query_of(&profile, &req).await
    }

    pub async fn prom_query_of(&self, profile: &ResolvedProfile, req: &PromQueryRequest) -> ApiResult<QueryResult> {
        let time = req.time.as_deref().map(|t| parse_time(t, now_secs())).transpose()?;
        prometheus_of(profile)?.instant(&req.expr, time).await
    }

    pub async fn prom_range(&self, req: PromRangeRequest) -> ApiResult<QueryResult> {
        let profile = self.profile_or_embedded(req.profile.as_deref())?;
        self.prom_range_of(&profile, &req).await
    }

    pub async fn prom_range_of(&self, profile: &ResolvedProfile, req: &PromRangeRequest) -> ApiResult<QueryResult> {
        let now = now_secs();
        let end = req.end.as_deref().map(|t| parse_time(t, now)).transpose()?.unwrap_or(now);
        let start = req.start.as_deref().map(|t| parse_time(t, now)).transpose()?.unwrap_or(end - 3600.0);
        let step = match req.step.as_deref() {
            Some(s) => parse_duration(s)?,
            None => ((end - start) / 120.0).max(1.0).round(),
        };
        prometheus_of(profile)?.range(&req.expr, start, end, step).await
    }

    fn panel_store(&self) -> PanelStore {
        PanelStore::new(self.inner.profiles.dir())
    }

    /// A profile's panels (the defaults with its changes).
    pub fn prom_panel_list(&self, profile: Option<&str>) -> ApiResult<PanelSet> {
        let profile = self.profile_or_embedded(profile)?;
        self.panel_store().panels(&profile.name)
    }

    pub fn prom_panels_set(&self, update: PanelsUpdate) -> ApiResult<PanelSet> {
        self.resolve_profile(&update.profile)?;
        self.panel_store().save(&PanelSet { profile: update.profile, panels: update.panels }, update.reset)
    }

    pub async fn prom_panels(&self, req: PromPanelsRequest) -> ApiResult<PanelsReport> {
        let profile = self.profile_or_embedded(req.profile.as_deref())?;
        self.prom_panels_of(&profile, req.range_minutes).await
    }

    /// Every enabled panel of the profile over the last `range_minutes`; a failing panel carries
    /// its error and the others still show.
    pub async fn prom_panels_of(
        &self,
        profile: &ResolvedProfile,
        range_minutes: Option<u32>,
    ) -> ApiResult<PanelsReport> {
        let prom = prometheus_of(profile)?;
        let list = self.panel_store().panels(&profile.name)?.panels;
        let range = range_minutes.unwrap_or(30).clamp(1, 7 * 24 * 60) as f64 * 60.0;
        Ok(panels::collect(&prom, &profile.name, list, range, now_secs()).await)
    }

    /// The target of a request: its profile's API server, or the kubeconfig's current context when
    /// it asks for that.
    pub fn kube_target_for(&self, req: &KubeRequest) -> ApiResult<KubeTarget> {
        match (&req.profile, req.kubeconfig) {
            (Some(p), _) => kube_target(Some(&self.resolve_profile(p)?)),
            (None, true) => kube_target(None),
            (None, false) => Err(ApiError::invalid(
                "name a profile with a Kubernetes URL, or ask for the kubeconfig's current context (kubeconfig: true)",
            )),
        }
    }

    pub async fn k8s_pods(&self, req: KubeRequest) -> ApiResult<PodsUsage> {
        self.k8s_pods_of(self.kube_target_for(&req)?, req.namespace()?).await
    }

    pub async fn k8s_pods_of(&self, target: KubeTarget, namespace: Option<&str>) -> ApiResult<PodsUsage> {
        Kube::new(target)?.pods_usage(namespace).await
    }

    pub async fn k8s_nodes(&self, req: KubeRequest) -> ApiResult<NodesUsage> {
        self.k8s_nodes_of(self.kube_target_for(&req)?).await
    }

    pub async fn k8s_nodes_of(&self, target: KubeTarget) -> ApiResult<NodesUsage> {
        Kube::new(target)?.nodes_usage().await
    }

    pub async fn k8s_hpas(&self, req: KubeRequest) -> ApiResult<HpasReport> {
        self.k8s_hpas_of(self.kube_target_for(&req)?, req.namespace()?).await
    }

    pub async fn k8s_hpas_of(&self, target: KubeTarget, namespace: Option<&str>) -> ApiResult<HpasReport> {
        Kube::new(target)?.hpas(namespace).await
    }

    pub async fn k8s_deployments(&self, req: KubeRequest) -> ApiResult<DeploymentsReport> {
        self.k8s_deployments_of(self.kube_target_for(&req)?, req.namespace()?).await
    }

    pub async fn k8s_deployments_of(
        &self,
        target: KubeTarget,
        namespace: Option<&str>,
    ) -> ApiResult<DeploymentsReport> {
        Kube::new(target)?.deployments(namespace).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_profile_the_kubeconfig_is_used_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let engine = crate::engine::Engine::new(
            dir.path().join("no-model"),
            crate::engine::Backend::Embedded { path: dir.path().join("cache.db") },
        );
        let service = Service::open(crate::profiles::ProfileStore::new(dir.path().join("cfg")), engine).unwrap();
        let err = service.k8s_pods(KubeRequest::default()).await.unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidInput);
        assert!(err.message.contains("kubeconfig: true"), "{}", err.message);
        let err = service.prom_query(PromQueryRequest { expr: "up".into(), ..Default::default() }).await.unwrap_err();
        assert!(err.message.contains("--prometheus URL"), "{}", err.message);
    }
}
