//! The Kubernetes API, read only: metrics.k8s.io/v1beta1 pod and node usage (what `kubectl top`
//! reads), autoscaling/v2 HorizontalPodAutoscalers and apps/v1 Deployments with their containers'
//! requests and limits against the usage of their pods.
//!
//! Auth: the profile's URL and bearer token, or a kubeconfig's current context (server, token or
//! client certificate and key, CA, insecure-skip-tls-verify) from `KUBECONFIG` or `~/.kube/config`;
//! exec plugins and auth providers are refused (they would run commands). The token is a
//! [`Secret`]: it is sent in the Authorization header and nowhere else.
//! Errors: the API's `Status` objects are read, and a 403 names the permission that is missing.

use super::http::{client_builder, snippet, transport_error};
use super::quantity::parse_quantity;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::secret::Secret;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// Where and how to talk to one API server.
#[derive(Debug, Clone)]
pub struct KubeTarget {
    /// The server URL (no secrets in it).
    pub server: String,
    pub token: Option<Secret>,
    /// PEM of the cluster's CA.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate and its private key, PEM (the key makes it a secret).
    pub identity_pem: Option<Secret>,
    pub insecure: bool,
    /// How the target was chosen, for reports: `profile 'p'`, `kubeconfig /…/config, context 'c'`.
    pub via: String,
}

impl KubeTarget {
    pub fn from_endpoint(endpoint: &Endpoint, profile: &str) -> Self {
        Self {
            server: endpoint.url.expose().trim_end_matches('/').to_string(),
            token: endpoint.token.clone().filter(|t| !t.is_empty()),
            ca_pem: None,
            identity_pem: None,
            insecure: false,
            via: format!("profile '{profile}'"),
        }
    }

    /// The current context of the kubeconfig at `path`, else of `$KUBECONFIG` (its files merged,
    /// the first value of each name winning, as kubectl does), else of `~/.kube/config`.
    pub fn from_kubeconfig(path: Option<&Path>) -> ApiResult<Self> {
        let files: Vec<PathBuf> = match path {
            Some(p) => vec![p.to_path_buf()],
            None => match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
                Some(list) => std::env::split_paths(&list).collect(),
                None => vec![dirs::home_dir().unwrap_or_default().join(".kube/config")],
            },
        };
        let mut merged = KubeConfig::default();
        let mut read_any = false;
        for f in &files {
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && files.len() > 1 => continue,
                Err(e) => {
                    return Err(ApiError::new(
                        ErrorCode::BadConfig,
                        format!(
                        "cannot read the kubeconfig {}: {e}; give a profile with a Kubernetes URL, or set KUBECONFIG",
                        f.display()
                    ),
                    ))
                }
            };
            let cfg: KubeConfig = serde_yaml::from_str(&text).map_err(|e| {
                ApiError::new(ErrorCode::BadConfig, format!("the kubeconfig {} is not valid YAML: {e}", f.display()))
            })?;
            merged.merge(cfg);
            read_any = true;
        }
        if !read_any {
            return Err(ApiError::new(
                ErrorCode::BadConfig,
                "none of the kubeconfig files in KUBECONFIG exists; give a profile with a Kubernetes URL instead",
            ));
        }
        let where_ = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(":");
        merged.current(&where_)
    }
}

#[derive(Debug, Default, Deserialize)]
struct KubeConfig {
    #[serde(rename = "current-context", default)]
    current_context: Option<String>,
    #[serde(default)]
    contexts: Vec<Named<KContext>>,
    #[serde(default)]
    clusters: Vec<Named<KCluster>>,
    #[serde(default)]
    users: Vec<Named<KUser>>,
}

#[derive(Debug, Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "context", alias = "cluster", alias = "user")]
    item: Option<T>,
}

#[derive(Debug, Default, Deserialize)]
struct KContext {
    cluster: String,
    #[serde(default)]
    user: String,
}

#[derive(Debug, Default, Deserialize)]
struct KCluster {
    server: String,
    #[serde(rename = "certificate-authority-data", default)]
    ca_data: Option<String>,
    #[serde(rename = "certificate-authority", default)]
    ca_file: Option<PathBuf>,
    #[serde(rename = "insecure-skip-tls-verify", default)]
    insecure: bool,
}

#[derive(Debug, Default, Deserialize)]
struct KUser {
    #[serde(default)]
    token: Option<String>,
    #[serde(rename = "tokenFile", default)]
    token_file: Option<PathBuf>,
    #[serde(default)]
    exec: Option<serde_yaml::Value>,
    #[serde(rename = "auth-provider", default)]
    auth_provider: Option<serde_yaml::Value>,
    #[serde(rename = "client-certificate-data", default)]
    client_cert: Option<String>,
    #[serde(rename = "client-certificate", default)]
    client_cert_file: Option<PathBuf>,
    #[serde(rename = "client-key-data", default)]
    client_key: Option<String>,
    #[serde(rename = "client-key", default)]
    client_key_file: Option<PathBuf>,
}

impl KubeConfig {
    fn merge(&mut self, other: KubeConfig) {
        if self.current_context.is_none() {
            self.current_context = other.current_context;
        }
        fn add<T>(into: &mut Vec<Named<T>>, from: Vec<Named<T>>) {
            for n in from {
                if !into.iter().any(|m| m.name == n.name) {
                    into.push(n);
                }
            }
        }
        add(&mut self.contexts, other.contexts);
        add(&mut self.clusters, other.clusters);
        add(&mut self.users, other.users);
    }

    fn current(self, where_: &str) -> ApiResult<KubeTarget> {
        let bad = |m: String| ApiError::new(ErrorCode::BadConfig, format!("kubeconfig {where_}: {m}"));
        let name = self
            .current_context
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad("no current-context; choose one with `kubectl config use-context NAME`".into()))?;
        let ctx = self
            .contexts
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.item.as_ref())
            .ok_or_else(|| bad(format!("the current context '{name}' is not among its contexts")))?;
        let cluster =
            self.clusters.iter().find(|c| c.name == ctx.cluster).and_then(|c| c.item.as_ref()).ok_or_else(|| {
                bad(format!("context '{name}' names cluster '{}', which is not among its clusters", ctx.cluster))
            })?;
        let user = self.users.iter().find(|u| u.name == ctx.user).and_then(|u| u.item.as_ref());
        let token = match user {
            Some(KUser { token: Some(t), .. }) => Some(Secret::new(t.trim())),
            Some(KUser { token_file: Some(f), .. }) => Some(Secret::new(
                std::fs::read_to_string(f)
                    .map_err(|e| bad(format!("cannot read user '{}''s tokenFile {}: {e}", ctx.user, f.display())))?
                    .trim(),
            )),
            Some(u) if u.exec.is_some() || u.auth_provider.is_some() => {
                return Err(bad(format!(
                    "user '{}' gets its token from an exec plugin or auth provider, which Simba Tuner does not run; \
                     save a token in a profile instead (e.g. from `kubectl create token SERVICE_ACCOUNT`)",
                    ctx.user
                )))
            }
            _ => None,
        };
        let identity_pem = match user {
            Some(u) if u.client_cert.is_some() || u.client_cert_file.is_some() => {
                let pem = |data: &Option<String>, file: &Option<PathBuf>, what: &str| -> ApiResult<String> {
                    let bytes = match (data, file) {
                        (Some(b64), _) => base64::engine::general_purpose::STANDARD
                            .decode(b64.trim())
                            .map_err(|e| bad(format!("{what}-data of user '{}' is not base64: {e}", ctx.user)))?,
                        (None, Some(f)) => std::fs::read(f).map_err(|e| {
                            bad(format!("cannot read user '{}''s {what} {}: {e}", ctx.user, f.display()))
                        })?,
                        (None, None) => {
                            return Err(bad(format!(
                                "user '{}' has a client certificate but no {what}(-data)",
                                ctx.user
                            )))
                        }
                    };
                    String::from_utf8(bytes).map_err(|_| bad(format!("user '{}''s {what} is not PEM text", ctx.user)))
                };
                let cert = pem(&u.client_cert, &u.client_cert_file, "client-certificate")?;
                let key = pem(&u.client_key, &u.client_key_file, "client-key")?;
                Some(Secret::new(format!("{}\n{}", cert.trim_end(), key)))
            }
            _ => None,
        };
        let ca_pem = match (&cluster.ca_data, &cluster.ca_file) {
            (Some(b64), _) => Some(base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| {
                bad(format!("certificate-authority-data of cluster '{}' is not base64: {e}", ctx.cluster))
            })?),
            (None, Some(f)) => Some(std::fs::read(f).map_err(|e| bad(format!("cannot read CA {}: {e}", f.display())))?),
            _ => None,
        };
        let server = cluster.server.trim_end_matches('/').to_string();
        if url::Url::parse(&server).is_err() {
            return Err(bad(format!("cluster '{}' has no valid server URL", ctx.cluster)));
        }
        Ok(KubeTarget {
            server,
            token,
            ca_pem,
            identity_pem,
            insecure: cluster.insecure,
            via: format!("kubeconfig {where_}, context '{name}'"),
        })
    }
}

/// A namespace is a DNS label: it goes into the request path, so nothing else may pass.
pub fn check_namespace(ns: &str) -> ApiResult<&str> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if ok {
        Ok(ns)
    } else {
        Err(ApiError::invalid(format!(
            "'{}' is not a namespace name (lower-case letters, digits and '-', at most 63)",
            ns.escape_debug()
        )))
    }
}

/// What one request reads, for the messages of its errors (the permission a 403 lacks).
struct Resource<'a> {
    group: &'a str,
    resource: &'a str,
    namespace: Option<&'a str>,
    /// The RBAC verb the request needs: list, get, patch.
    verb: &'a str,
}

impl Resource<'_> {
    fn full(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// ` in namespace 'ns'` or ` in all namespaces`, for messages.
    fn where_ns(&self) -> String {
        self.namespace.map(|n| format!(" in namespace '{n}'")).unwrap_or_else(|| " in all namespaces".into())
    }

    fn path(&self, version: &str) -> String {
        let prefix =
            if self.group.is_empty() { format!("/api/{version}") } else { format!("/apis/{}/{version}", self.group) };
        match self.namespace {
            Some(ns) => format!("{prefix}/namespaces/{ns}/{}", self.resource),
            None => format!("{prefix}/{}", self.resource),
        }
    }
}

/// The objects the advisor's actions change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hpa,
    Deployment,
}

impl Kind {
    fn resource<'a>(self, namespace: &'a str, verb: &'a str) -> Resource<'a> {
        match self {
            Kind::Hpa => Resource {
                group: "autoscaling",
                resource: "horizontalpodautoscalers",
                namespace: Some(namespace),
                verb,
            },
            Kind::Deployment => Resource { group: "apps", resource: "deployments", namespace: Some(namespace), verb },
        }
    }

    fn version(self) -> &'static str {
        match self {
            Kind::Hpa => "v2",
            Kind::Deployment => "v1",
        }
    }

    /// The object's path on the API server, e.g. `/apis/apps/v1/namespaces/ns/deployments/web`.
    pub fn object_path(self, namespace: &str, name: &str) -> String {
        format!("{}/{name}", self.resource(namespace, "get").path(self.version()))
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Hpa => "HorizontalPodAutoscaler",
            Kind::Deployment => "Deployment",
        }
    }
}

/// An object name: a DNS subdomain (lowercase letters, digits, '-' and '.').
pub fn check_name(name: &str) -> ApiResult<&str> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(name)
    } else {
        Err(ApiError::invalid(format!(
            "'{name}' is not a Kubernetes object name (lowercase letters, digits, '-' and '.', starting and ending \
             with a letter or digit)"
        )))
    }
}

/// Objects asked for per list request: kubectl's default `--chunk-size`.
pub const PAGE_SIZE: usize = 500;
/// The most objects one list may hold (a cluster at Kubernetes' own limit of 150,000 pods still
/// fits per namespace); a bigger list is refused with what to do instead of being read without end.
pub const MAX_LIST_ITEMS: usize = 50_000;

/// A client for one API server.
pub struct Kube {
    http: reqwest::Client,
    target: KubeTarget,
    page_size: usize,
    max_items: usize,
}

impl Kube {
    pub fn new(target: KubeTarget) -> ApiResult<Self> {
        let mut b = client_builder();
        if let Some(pem) = &target.ca_pem {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                ApiError::new(ErrorCode::BadConfig, format!("the cluster's CA is not a PEM certificate: {e}"))
            })?;
            b = b.add_root_certificate(cert);
        }
        if target.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(pem) = &target.identity_pem {
            let identity = reqwest::Identity::from_pem(pem.expose().as_bytes()).map_err(|e| {
                ApiError::new(
                    ErrorCode::BadConfig,
                    format!(
                        "the kubeconfig's client certificate and key are not a PEM certificate with its private key \
                         (PKCS#8, RSA or EC): {e}"
                    ),
                )
            })?;
            b = b.identity(identity);
        }
        let http =
            b.build().map_err(|e| ApiError::internal(format!("cannot build the HTTP client: {}", e.without_url())))?;
        Ok(Self { http, target, page_size: PAGE_SIZE, max_items: MAX_LIST_ITEMS })
    }

    /// Other paging bounds than [`PAGE_SIZE`] and [`MAX_LIST_ITEMS`] (at least 1 each).
    pub fn with_paging(mut self, page_size: usize, max_items: usize) -> Self {
        self.page_size = page_size.max(1);
        self.max_items = max_items.max(1);
        self
    }

    fn scope(&self, namespace: Option<&str>) -> KubeScope {
        KubeScope {
            server: crate::profiles::redact_url(&self.target.server),
            namespace: namespace.map(str::to_string),
            via: self.target.via.clone(),
            authenticated: self.target.token.is_some(),
        }
    }

    /// GETs a whole list, as JSON (the first page's list object holding every page's items), or the
    /// error its answer means. Read in pages of `limit` objects, each next one asked for with the
    /// `continue` token of the one before (ListMeta), as kubectl and client-go's pager do; a token
    /// that expired meanwhile (410 Gone, reason Expired) starts the list over once.
    async fn list(&self, r: &Resource<'_>, version: &str) -> ApiResult<Json> {
        let url = format!("{}{}", self.target.server, r.path(version));
        let display = crate::profiles::redact_url(&self.target.server);
        let mut restarted = false;
        'list: loop {
            let mut first: Option<Json> = None;
            let mut items: Vec<Json> = vec![];
            let mut token: Option<String> = None;
            loop {
                let mut req = self.http.get(&url).query(&[("limit", self.page_size.to_string())]);
                if let Some(t) = &token {
                    req = req.query(&[("continue", t)]);
                }
                let (status, body) = self.fetch(req, r).await?;
                if status == 410 && token.is_some() {
                    if restarted {
                        return Err(ApiError::new(
                            ErrorCode::Unreachable,
                            format!(
                                "the Kubernetes API at {display} let the list of {}{} expire twice while it was read \
                                 in pages of {} (410 Gone: {}); the objects change faster than they can be listed: \
                                 try again, or choose a namespace",
                                r.full(),
                                r.where_ns(),
                                self.page_size,
                                status_message(&body)
                            ),
                        ));
                    }
                    restarted = true;
                    continue 'list;
                }
                let mut page = decode(&display, status, &body, r)?;
                let next = page["metadata"]["continue"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
                let remaining = page["metadata"]["remainingItemCount"].as_u64().unwrap_or(0) as usize;
                if let Json::Array(mut got) = page["items"].take() {
                    items.append(&mut got);
                }
                // remainingItemCount (when the server counts) fails a list too big before it is read.
                let announced = items.len() + if next.is_some() { remaining } else { 0 };
                if announced > self.max_items {
                    return Err(ApiError::new(
                        ErrorCode::Refused,
                        format!(
                            "the list of {}{} at {display} holds more than {} objects{}; Simba Tuner reads at most \
                             that many: choose a namespace",
                            r.full(),
                            r.where_ns(),
                            self.max_items,
                            if announced > items.len() { format!(" ({announced} announced)") } else { String::new() }
                        ),
                    ));
                }
                first.get_or_insert(page);
                match next {
                    // A server that hands back the token it was given would never end.
                    Some(t) if token.as_deref() != Some(t.as_str()) => token = Some(t),
                    Some(_) => {
                        return Err(ApiError::new(
                            ErrorCode::Refused,
                            format!(
                                "the Kubernetes API at {display} answered the list of {} with the same continue \
                                 token it was given; it is not paging as the API does",
                                r.full()
                            ),
                        ))
                    }
                    None => {
                        let mut list = first.unwrap_or_default();
                        if let Some(meta) = list["metadata"].as_object_mut() {
                            meta.remove("continue");
                            meta.remove("remainingItemCount");
                        }
                        list["items"] = Json::Array(items);
                        return Ok(list);
                    }
                }
            }
        }
    }

    /// Sends one request with the token; the JSON answer, or the error its status means.
    async fn send(&self, req: reqwest::RequestBuilder, r: &Resource<'_>) -> ApiResult<Json> {
        let (status, body) = self.fetch(req, r).await?;
        decode(&crate::profiles::redact_url(&self.target.server), status, &body, r)
    }

    /// Sends one request with the token; its status and body.
    async fn fetch(&self, mut req: reqwest::RequestBuilder, r: &Resource<'_>) -> ApiResult<(u16, String)> {
        if let Some(ns) = r.namespace {
            check_namespace(ns)?;
        }
        let display = crate::profiles::redact_url(&self.target.server);
        req = req.header(reqwest::header::ACCEPT, "application/json");
        if let Some(t) = &self.target.token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.map_err(|e| transport_error("the Kubernetes API", &display, e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| transport_error("the Kubernetes API", &display, e))?;
        Ok((status, body))
    }

    /// One named object of `kind`, as the API server has it now.
    pub async fn get_object(&self, kind: Kind, namespace: &str, name: &str) -> ApiResult<Json> {
        let r = kind.resource(namespace, "get");
        check_name(name)?;
        let req = self.http.get(format!("{}{}", self.target.server, kind.object_path(namespace, name)));
        self.send(req, &r).await
    }

    /// A JSON merge patch (RFC 7386, `kubectl patch --type merge`) of one named object. With
    /// `dry_run` the server validates and admits it without storing it (`dryRun=All`). A patch
    /// carrying `metadata.resourceVersion` is refused (409) when the object changed since.
    pub async fn merge_patch(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: &Json,
        dry_run: bool,
    ) -> ApiResult<Json> {
        let r = kind.resource(namespace, "patch");
        check_name(name)?;
        let mut req = self
            .http
            .patch(format!("{}{}", self.target.server, kind.object_path(namespace, name)))
            .header(reqwest::header::CONTENT_TYPE, "application/merge-patch+json")
            .body(patch.to_string());
        if dry_run {
            req = req.query(&[("dryRun", "All")]);
        }
        self.send(req, &r).await
    }

    /// Pod usage from metrics.k8s.io (`kubectl top pod`), in one namespace or all.
    pub async fn pods_usage(&self, namespace: Option<&str>) -> ApiResult<PodsUsage> {
        let r = Resource { group: "metrics.k8s.io", resource: "pods", namespace, verb: "list" };
        let list = self.list(&r, "v1beta1").await?;
        let mut warnings = vec![];
        let pods = items(&list).iter().map(|p| pod_usage(p, &mut warnings)).collect();
        Ok(PodsUsage { scope: self.scope(namespace), pods, warnings })
    }

    /// Node usage from metrics.k8s.io, with each node's allocatable from /api/v1/nodes when the
    /// token may list nodes (`kubectl top node`).
    pub async fn nodes_usage(&self) -> ApiResult<NodesUsage> {
        let r = Resource { group: "metrics.k8s.io", resource: "nodes", namespace: None, verb: "list" };
        let list = self.list(&r, "v1beta1").await?;
        let mut warnings = vec![];
        let allocatable: BTreeMap<String, (Option<f64>, Option<f64>)> = match self
            .list(&Resource { group: "", resource: "nodes", namespace: None, verb: "list" }, "v1")
            .await
        {
            Ok(nodes) => items(&nodes)
                .iter()
                .map(|n| {
                    let a = &n["status"]["allocatable"];
                    (
                        str_at(n, &["metadata", "name"]),
                        (quantity(&a["cpu"], "cpu", &mut warnings), quantity(&a["memory"], "memory", &mut warnings)),
                    )
                })
                .collect(),
            Err(e) => {
                warnings.push(format!("no allocatable figures: {}", e.message));
                BTreeMap::new()
            }
        };
        let nodes = items(&list)
            .iter()
            .map(|n| {
                let name = str_at(n, &["metadata", "name"]);
                let cpu = quantity(&n["usage"]["cpu"], "cpu", &mut warnings);
                let memory = quantity(&n["usage"]["memory"], "memory", &mut warnings);
                let (cpu_alloc, mem_alloc) = allocatable.get(&name).cloned().unwrap_or((None, None));
                NodeUsage {
                    timestamp: opt_str(&n["timestamp"]),
                    window_seconds: opt_str(&n["window"]).and_then(|w| super::prometheus::parse_duration(&w).ok()),
                    cpu_ratio: ratio(cpu, cpu_alloc),
                    memory_ratio: ratio(memory, mem_alloc),
                    name,
                    cpu_cores: cpu,
                    memory_bytes: memory,
                    cpu_allocatable_cores: cpu_alloc,
                    memory_allocatable_bytes: mem_alloc,
                }
            })
            .collect();
        Ok(NodesUsage { scope: self.scope(None), nodes, warnings })
    }

    /// autoscaling/v2 HorizontalPodAutoscalers.
    pub async fn hpas(&self, namespace: Option<&str>) -> ApiResult<HpasReport> {
        let r = Resource { group: "autoscaling", resource: "horizontalpodautoscalers", namespace, verb: "list" };
        let list = self.list(&r, "v2").await?;
        let hpas = items(&list).iter().map(hpa_info).collect();
        Ok(HpasReport { scope: self.scope(namespace), hpas })
    }

    /// apps/v1 Deployments, their pods' requests and limits against the pods' usage (pods matched
    /// to a Deployment by its selector over the labels metrics.k8s.io copies onto PodMetrics).
    pub async fn deployments(&self, namespace: Option<&str>) -> ApiResult<DeploymentsReport> {
        let r = Resource { group: "apps", resource: "deployments", namespace, verb: "list" };
        let list = self.list(&r, "v1").await?;
        let (usage, usage_error) = match self.pods_usage(namespace).await {
            Ok(u) => (u.pods, None),
            Err(e) => (vec![], Some(e)),
        };
        let deployments = items(&list).iter().map(|d| deployment_info(d, &usage)).collect();
        Ok(DeploymentsReport { scope: self.scope(namespace), deployments, usage_error })
    }
}

/// An answer's JSON when its status is 2xx, else the error the status means.
fn decode(display: &str, status: u16, body: &str, r: &Resource<'_>) -> ApiResult<Json> {
    if (200..300).contains(&status) {
        return serde_json::from_str(body).map_err(|_| {
            ApiError::new(
                ErrorCode::Refused,
                format!(
                    "the answer from {display} for {} is not JSON ({}); check that the URL is the API server's",
                    r.full(),
                    snippet(body, 100)
                ),
            )
        });
    }
    Err(status_error(display, status, body, r))
}

/// The `message` of a Status object, else the body's start.
fn status_message(body: &str) -> String {
    serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|j| j["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| snippet(body, 160))
}

/// The error an HTTP answer that is not 2xx means, from its `Status` object when it has one.
fn status_error(display: &str, status: u16, body: &str, r: &Resource<'_>) -> ApiError {
    let st: Option<Json> = serde_json::from_str(body).ok().filter(|j: &Json| j["kind"] == "Status");
    let message =
        st.as_ref().and_then(|s| s["message"].as_str()).map(str::to_string).unwrap_or_else(|| snippet(body, 160));
    let reason = st.as_ref().and_then(|s| s["reason"].as_str()).unwrap_or("");
    let where_ns = r.where_ns();
    let what = r.full();
    match status {
        401 => ApiError::new(
            ErrorCode::Refused,
            format!(
                "the Kubernetes API at {display} did not accept the token (401 Unauthorized: {message}); it is \
                 missing, expired or wrong: save a fresh token in the profile (SIMBA_KUBERNETES_TOKEN with \
                 `simba-tuner profile add NAME --kubernetes URL`) or use a kubeconfig"
            ),
        ),
        403 => {
            let group = if r.group.is_empty() { "\"\" (core)".to_string() } else { r.group.to_string() };
            ApiError::new(
                ErrorCode::Refused,
                format!(
                    "the Kubernetes API at {display} forbids this (403 Forbidden: {message}); the token needs \
                     permission to {} {what}{where_ns}: a Role or ClusterRole with apiGroups [{group}], resources \
                     [{}], verbs [{}], bound to its user or service account",
                    r.verb,
                    r.resource,
                    if r.verb == "patch" { "get, patch" } else { "get, list" }
                ),
            )
        }
        404 if r.group == "metrics.k8s.io" => ApiError::new(
            ErrorCode::NotFound,
            format!(
                "the Kubernetes API at {display} does not serve {what} (404 {reason}: {message}); install \
                 metrics-server (it provides metrics.k8s.io), or check the namespace"
            ),
        ),
        404 => ApiError::new(
            ErrorCode::NotFound,
            format!(
                "the Kubernetes API at {display} has no {what}{where_ns} (404 {reason}: {message}); check the \
                 namespace and that the URL is the API server's"
            ),
        ),
        409 => ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the Kubernetes API at {display} refused to {} {what}: it was changed by someone else since it was \
                 read (409 {reason}: {message}); read it again",
                r.verb
            ),
        ),
        422 | 400 => ApiError::new(
            ErrorCode::InvalidInput,
            format!(
                "the Kubernetes API at {display} found the {} of {what} invalid (HTTP {status} {reason}: {message})",
                r.verb
            ),
        ),
        s if s >= 500 => ApiError::new(
            ErrorCode::Unreachable,
            format!("the Kubernetes API at {display} failed (HTTP {s} {reason}: {message}); try again later"),
        ),
        s => ApiError::new(
            ErrorCode::Refused,
            format!("the Kubernetes API at {display} refused to {} {what} (HTTP {s} {reason}: {message})", r.verb),
        ),
    }
}

// ------------------------------------------------------------------------------------------------
// Reports

/// Which server and namespace a report covers, and how it was reached.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KubeScope {
    pub server: String,
    /// None: all namespaces.
    pub namespace: Option<String>,
    pub via: String,
    /// Whether a bearer token was sent.
    pub authenticated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PodsUsage {
    pub scope: KubeScope,
    pub pods: Vec<PodUsage>,
    /// Quantities that could not be read.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PodUsage {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub timestamp: Option<String>,
    pub window_seconds: Option<f64>,
    /// Sums over the containers.
    pub cpu_cores: f64,
    pub memory_bytes: f64,
    pub containers: Vec<ContainerUsage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ContainerUsage {
    pub name: String,
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NodesUsage {
    pub scope: KubeScope,
    pub nodes: Vec<NodeUsage>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NodeUsage {
    pub name: String,
    pub timestamp: Option<String>,
    pub window_seconds: Option<f64>,
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<f64>,
    pub cpu_allocatable_cores: Option<f64>,
    pub memory_allocatable_bytes: Option<f64>,
    /// Usage / allocatable.
    pub cpu_ratio: Option<f64>,
    pub memory_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HpasReport {
    pub scope: KubeScope,
    pub hpas: Vec<HpaInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HpaInfo {
    pub namespace: String,
    pub name: String,
    /// `Deployment/simba-intelligence-website`.
    pub target: String,
    pub min_replicas: Option<u32>,
    pub max_replicas: Option<u32>,
    pub current_replicas: Option<u32>,
    pub desired_replicas: Option<u32>,
    pub last_scale_time: Option<String>,
    pub metrics: Vec<HpaMetric>,
    pub conditions: Vec<Condition>,
    /// The AbleToScale and ScalingLimited conditions (None when absent).
    pub able_to_scale: Option<bool>,
    pub scaling_limited: Option<bool>,
    /// Current or desired replicas at maxReplicas.
    pub at_max_replicas: bool,
    /// At maxReplicas and wanting more: a metric over its target, or ScalingLimited for too many
    /// replicas. Load the HPA cannot absorb: raise maxReplicas or make pods cheaper.
    pub pinned_at_max: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HpaMetric {
    /// Resource, ContainerResource, Pods, Object or External.
    pub kind: String,
    /// `cpu`, `memory`, or the metric's name.
    pub name: String,
    /// Utilization (percent of requests) or the average value / value, in base units.
    pub target_utilization: Option<f64>,
    pub current_utilization: Option<f64>,
    pub target_value: Option<f64>,
    pub current_value: Option<f64>,
    /// Current above target (utilisation first, else value).
    pub over_target: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Condition {
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DeploymentsReport {
    pub scope: KubeScope,
    pub deployments: Vec<DeploymentInfo>,
    /// Why pod usage is missing (no metrics-server, no permission); requests and limits still show.
    pub usage_error: Option<ApiError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DeploymentInfo {
    pub namespace: String,
    pub name: String,
    pub replicas: Option<u32>,
    pub ready_replicas: u32,
    pub available_replicas: u32,
    pub updated_replicas: u32,
    pub containers: Vec<ContainerResources>,
    /// Per pod: sums over the containers, None when a container sets none.
    pub pod_cpu_request_cores: Option<f64>,
    pub pod_cpu_limit_cores: Option<f64>,
    pub pod_memory_request_bytes: Option<f64>,
    pub pod_memory_limit_bytes: Option<f64>,
    /// Pods of this Deployment found in metrics.k8s.io.
    pub pods_measured: u32,
    pub cpu_usage_avg_cores: Option<f64>,
    pub cpu_usage_max_cores: Option<f64>,
    pub memory_usage_avg_bytes: Option<f64>,
    pub memory_usage_max_bytes: Option<f64>,
    /// Average CPU usage / request (what a CPU Utilization HPA compares with its target).
    pub cpu_of_request: Option<f64>,
    /// Highest pod memory / limit (near 1: the next spike is an OOM kill).
    pub memory_of_limit: Option<f64>,
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ContainerResources {
    pub name: String,
    pub cpu_request_cores: Option<f64>,
    pub cpu_limit_cores: Option<f64>,
    pub memory_request_bytes: Option<f64>,
    pub memory_limit_bytes: Option<f64>,
}

// ------------------------------------------------------------------------------------------------
// Reading the official shapes

fn items(list: &Json) -> &[Json] {
    list["items"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn str_at(v: &Json, path: &[&str]) -> String {
    path.iter().fold(v, |v, k| &v[*k]).as_str().unwrap_or_default().to_string()
}

fn opt_str(v: &Json) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn u32_of(v: &Json) -> Option<u32> {
    v.as_u64().map(|n| n.min(u32::MAX as u64) as u32)
}

/// A quantity field; a missing one is None, a malformed one a warning too.
fn quantity(v: &Json, what: &str, warnings: &mut Vec<String>) -> Option<f64> {
    let text = v.as_str().map(str::to_string).or_else(|| v.as_f64().map(|n| n.to_string()))?;
    match parse_quantity(&text) {
        Ok(q) => Some(q),
        Err(e) => {
            warnings.push(format!("{what}: {e}"));
            None
        }
    }
}

fn ratio(part: Option<f64>, whole: Option<f64>) -> Option<f64> {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0.0 => Some(p / w),
        _ => None,
    }
}

fn labels_of(meta: &Json) -> BTreeMap<String, String> {
    meta["labels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

fn pod_usage(p: &Json, warnings: &mut Vec<String>) -> PodUsage {
    let name = str_at(p, &["metadata", "name"]);
    let containers: Vec<ContainerUsage> = p["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|c| ContainerUsage {
            name: str_at(c, &["name"]),
            cpu_cores: quantity(&c["usage"]["cpu"], &format!("pod {name} cpu"), warnings),
            memory_bytes: quantity(&c["usage"]["memory"], &format!("pod {name} memory"), warnings),
        })
        .collect();
    PodUsage {
        namespace: str_at(p, &["metadata", "namespace"]),
        labels: labels_of(&p["metadata"]),
        timestamp: opt_str(&p["timestamp"]),
        window_seconds: opt_str(&p["window"]).and_then(|w| super::prometheus::parse_duration(&w).ok()),
        // A fold from 0.0: an empty f64 sum is -0.0.
        cpu_cores: containers.iter().filter_map(|c| c.cpu_cores).fold(0.0, |a, b| a + b),
        memory_bytes: containers.iter().filter_map(|c| c.memory_bytes).fold(0.0, |a, b| a + b),
        containers,
        name,
    }
}

fn hpa_info(h: &Json) -> HpaInfo {
    let spec = &h["spec"];
    let status = &h["status"];
    let mut ignored = vec![];
    let currents = status["currentMetrics"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let metrics: Vec<HpaMetric> = spec["metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|m| {
            let kind = str_at(m, &["type"]);
            // The spec's own field for its type: resource, containerResource, pods, object, external.
            let field = match kind.as_str() {
                "ContainerResource" => "containerResource".to_string(),
                k => k.to_lowercase(),
            };
            let body = &m[&field];
            let name = body["name"].as_str().or_else(|| body["metric"]["name"].as_str()).unwrap_or("").to_string();
            let current = currents.iter().find(|c| {
                c["type"] == kind.as_str() && {
                    let b = &c[&field];
                    b["name"].as_str().or_else(|| b["metric"]["name"].as_str()).unwrap_or("") == name
                }
            });
            let cur = current.map(|c| &c[&field]["current"]).unwrap_or(&Json::Null);
            let target = &body["target"];
            let value_of = |v: &Json, ignored: &mut Vec<String>| {
                quantity(&v["averageValue"], "averageValue", ignored)
                    .or_else(|| quantity(&v["value"], "value", ignored))
            };
            let target_utilization = target["averageUtilization"].as_f64();
            let current_utilization = cur["averageUtilization"].as_f64();
            let target_value = value_of(target, &mut ignored);
            let current_value = value_of(cur, &mut ignored);
            let over_target = match (current_utilization, target_utilization, current_value, target_value) {
                (Some(c), Some(t), _, _) => c > t,
                (_, _, Some(c), Some(t)) => c > t,
                _ => false,
            };
            HpaMetric { kind, name, target_utilization, current_utilization, target_value, current_value, over_target }
        })
        .collect();
    let conditions: Vec<Condition> = status["conditions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|c| Condition {
            kind: str_at(c, &["type"]),
            status: str_at(c, &["status"]),
            reason: opt_str(&c["reason"]),
            message: opt_str(&c["message"]),
        })
        .collect();
    let cond = |t: &str| conditions.iter().find(|c| c.kind == t);
    let max = u32_of(&spec["maxReplicas"]);
    let current = u32_of(&status["currentReplicas"]);
    let desired = u32_of(&status["desiredReplicas"]);
    let at_max = max.is_some_and(|m| current.is_some_and(|c| c >= m) || desired.is_some_and(|d| d >= m));
    let limited_up =
        cond("ScalingLimited").is_some_and(|c| c.status == "True" && c.reason.as_deref() == Some("TooManyReplicas"));
    let target = &spec["scaleTargetRef"];
    HpaInfo {
        namespace: str_at(h, &["metadata", "namespace"]),
        name: str_at(h, &["metadata", "name"]),
        target: format!("{}/{}", str_at(target, &["kind"]), str_at(target, &["name"])),
        // minReplicas defaults to 1 in autoscaling/v2.
        min_replicas: u32_of(&spec["minReplicas"]).or(Some(1)),
        max_replicas: max,
        current_replicas: current,
        desired_replicas: desired,
        last_scale_time: opt_str(&status["lastScaleTime"]),
        able_to_scale: cond("AbleToScale").map(|c| c.status == "True"),
        scaling_limited: cond("ScalingLimited").map(|c| c.status == "True"),
        pinned_at_max: at_max && (limited_up || metrics.iter().any(|m| m.over_target)),
        at_max_replicas: at_max,
        metrics,
        conditions,
    }
}

/// Whether `labels` match a label selector (matchLabels and matchExpressions).
pub fn selector_matches(selector: &Json, labels: &BTreeMap<String, String>) -> bool {
    let exact = selector["matchLabels"]
        .as_object()
        .map(|m| m.iter().all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str()))
        .unwrap_or(true);
    let exprs = selector["matchExpressions"].as_array().map(Vec::as_slice).unwrap_or(&[]).iter().all(|e| {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> =
            e["values"].as_array().map(|v| v.iter().filter_map(Json::as_str).collect()).unwrap_or_default();
        let have = labels.get(key).map(String::as_str);
        match e["operator"].as_str().unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => !have.is_some_and(|h| values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    // An empty selector would match every pod: a Deployment always has one, so treat it as none.
    let empty = selector["matchLabels"].as_object().is_none_or(|m| m.is_empty())
        && selector["matchExpressions"].as_array().is_none_or(|a| a.is_empty());
    exact && exprs && !empty
}

fn sum_all(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.sum::<Option<f64>>()
}

fn deployment_info(d: &Json, usage: &[PodUsage]) -> DeploymentInfo {
    let namespace = str_at(d, &["metadata", "namespace"]);
    let name = str_at(d, &["metadata", "name"]);
    let mut ignored = vec![];
    let containers: Vec<ContainerResources> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|c| {
            let r = &c["resources"];
            ContainerResources {
                name: str_at(c, &["name"]),
                cpu_request_cores: quantity(&r["requests"]["cpu"], "cpu", &mut ignored),
                cpu_limit_cores: quantity(&r["limits"]["cpu"], "cpu", &mut ignored),
                // A limit without a request makes the request equal to the limit (Kubernetes' default).
                memory_request_bytes: quantity(&r["requests"]["memory"], "memory", &mut ignored)
                    .or_else(|| quantity(&r["limits"]["memory"], "memory", &mut ignored)),
                memory_limit_bytes: quantity(&r["limits"]["memory"], "memory", &mut ignored),
            }
        })
        .map(|mut c| {
            if c.cpu_request_cores.is_none() {
                c.cpu_request_cores = c.cpu_limit_cores;
            }
            c
        })
        .collect();
    let pod_cpu_request = sum_all(containers.iter().map(|c| c.cpu_request_cores));
    let pod_cpu_limit = sum_all(containers.iter().map(|c| c.cpu_limit_cores));
    let pod_mem_request = sum_all(containers.iter().map(|c| c.memory_request_bytes));
    let pod_mem_limit = sum_all(containers.iter().map(|c| c.memory_limit_bytes));
    let selector = &d["spec"]["selector"];
    let pods: Vec<&PodUsage> =
        usage.iter().filter(|p| p.namespace == namespace && selector_matches(selector, &p.labels)).collect();
    let n = pods.len();
    let avg = |f: fn(&PodUsage) -> f64| (n > 0).then(|| pods.iter().map(|p| f(p)).sum::<f64>() / n as f64);
    let max = |f: fn(&PodUsage) -> f64| pods.iter().map(|p| f(p)).reduce(f64::max);
    let cpu_avg = avg(|p| p.cpu_cores);
    let mem_max = max(|p| p.memory_bytes);
    let cpu_of_request = ratio(cpu_avg, pod_cpu_request);
    let memory_of_limit = ratio(mem_max, pod_mem_limit);
    let mut findings = vec![];
    if pod_cpu_request.is_none() {
        findings.push(
            "a container has no CPU request: the scheduler cannot place its pods well, and a CPU Utilization HPA \
             cannot scale it"
                .to_string(),
        );
    }
    if pod_mem_limit.is_none() {
        findings.push("a container has no memory limit: one leaking pod can starve its node".to_string());
    }
    if let Some(r) = memory_of_limit.filter(|r| *r >= 0.9) {
        findings.push(format!("a pod uses {:.0}% of its memory limit: the next spike is an OOM kill", r * 100.0));
    }
    if let Some(r) = cpu_of_request.filter(|r| *r > 1.0) {
        findings.push(format!("its pods use {:.0}% of their CPU request on average: raise the request", r * 100.0));
    }
    let status = &d["status"];
    DeploymentInfo {
        namespace,
        name,
        replicas: u32_of(&d["spec"]["replicas"]),
        ready_replicas: u32_of(&status["readyReplicas"]).unwrap_or(0),
        available_replicas: u32_of(&status["availableReplicas"]).unwrap_or(0),
        updated_replicas: u32_of(&status["updatedReplicas"]).unwrap_or(0),
        containers,
        pod_cpu_request_cores: pod_cpu_request,
        pod_cpu_limit_cores: pod_cpu_limit,
        pod_memory_request_bytes: pod_mem_request,
        pod_memory_limit_bytes: pod_mem_limit,
        pods_measured: n as u32,
        cpu_usage_avg_cores: cpu_avg,
        cpu_usage_max_cores: max(|p| p.cpu_cores),
        memory_usage_avg_bytes: avg(|p| p.memory_bytes),
        memory_usage_max_bytes: mem_max,
        cpu_of_request,
        memory_of_limit,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_hpa_at_max_with_cpu_over_target_is_pinned() {
        let h = json!({
            "metadata": {"name": "simba-intelligence-hpa", "namespace": "simba"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                                 {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}]},
            "status": {"currentReplicas": 10, "desiredReplicas": 10,
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 93, "averageValue": "465m"}}},
                                          {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "512Mi"}}}],
                       "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
                                      {"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas", "message": "the desired replica count is more than the maximum replica count"}]}
        });
        let i = hpa_info(&h);
        assert_eq!(i.target, "Deployment/web");
        assert!(i.at_max_replicas && i.pinned_at_max);
        assert_eq!(i.able_to_scale, Some(true));
        assert_eq!(i.scaling_limited, Some(true));
        assert_eq!(i.metrics[0].current_utilization, Some(93.0));
        assert!(i.metrics[0].over_target);
        assert_eq!(i.metrics[1].target_value, Some(1073741824.0));
        assert!(!i.metrics[1].over_target);
        // Below max: not pinned, whatever the metric says.
        let mut h2 = h.clone();
        h2["status"]["currentReplicas"] = json!(4);
        h2["status"]["desiredReplicas"] = json!(5);
        h2["status"]["conditions"] = json!([]);
        let i2 = hpa_info(&h2);
        assert!(!i2.at_max_replicas && !i2.pinned_at_max);
    }

    #[test]
    fn selectors_and_deployment_usage() {
        let labels: BTreeMap<String, String> =
            [("app".to_string(), "web".to_string()), ("tier".into(), "fe".into())].into();
        assert!(selector_matches(&json!({"matchLabels": {"app": "web"}}), &labels));
        assert!(!selector_matches(&json!({"matchLabels": {"app": "api"}}), &labels));
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "x"]}]}),
            &labels
        ));
        assert!(!selector_matches(
            &json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}),
            &labels
        ));
        assert!(!selector_matches(&json!({}), &labels));
        let d = json!({"metadata": {"name": "web", "namespace": "simba"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}}]}}},
            "status": {"readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 2}});
        let pod = |name: &str, cpu: f64, mem: f64| PodUsage {
            namespace: "simba".into(),
            name: name.into(),
            labels: labels.clone(),
            timestamp: None,
            window_seconds: None,
            cpu_cores: cpu,
            memory_bytes: mem,
            containers: vec![],
        };
        let gi = 1073741824.0;
        let info = deployment_info(&d, &[pod("a", 0.15, 0.5 * gi), pod("b", 0.05, 0.95 * gi)]);
        assert_eq!(info.pods_measured, 2);
        assert!((info.cpu_of_request.unwrap() - 1.0).abs() < 1e-9);
        assert!((info.memory_of_limit.unwrap() - 0.95).abs() < 1e-9);
        assert!(info.findings.iter().any(|f| f.contains("OOM")), "{:?}", info.findings);
    }

    #[test]
    fn status_errors_name_what_to_do() {
        let r = Resource { group: "metrics.k8s.io", resource: "pods", namespace: Some("simba"), verb: "list" };
        let forbidden = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods.metrics.k8s.io is forbidden: User \"system:serviceaccount:simba:viewer\" cannot list resource \"pods\" in API group \"metrics.k8s.io\" in the namespace \"simba\"","reason":"Forbidden","details":{"group":"metrics.k8s.io","kind":"pods"},"code":403}"#;
        let e = status_error("https://k:6443", 403, forbidden, &r);
        assert_eq!(e.code, ErrorCode::Refused);
        assert!(e.message.contains("list pods.metrics.k8s.io in namespace 'simba'"), "{}", e.message);
        assert!(e.message.contains("apiGroups [metrics.k8s.io]"), "{}", e.message);
        let e = status_error(
            "k",
            401,
            r#"{"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#,
            &r,
        );
        assert!(e.message.contains("401 Unauthorized"), "{}", e.message);
        let e = status_error("k", 404, "404 page not found", &r);
        assert!(e.message.contains("metrics-server"), "{}", e.message);
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(check_namespace("simba-prod").is_ok());
        for bad in ["../etc", "Simba", "a/b", "-x", "x-", &"a".repeat(64)] {
            assert!(check_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kubeconfig_current_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let ca = base64::engine::general_purpose::STANDARD
            .encode("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: prod\ncontexts:\n- name: prod\n  context:\n    cluster: c1\n    user: u1\n    namespace: simba\n- name: other\n  context: {{cluster: c2, user: u2}}\nclusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n    certificate-authority-data: {ca}\n- name: c2\n  cluster: {{server: 'http://x', insecure-skip-tls-verify: true}}\nusers:\n- name: u1\n  user:\n    token: tok-123\n- name: u2\n  user:\n    exec: {{command: gke-gcloud-auth-plugin}}\n"
            ),
        )
        .unwrap();
        let t = KubeTarget::from_kubeconfig(Some(&path)).unwrap();
        assert_eq!(t.server, "https://10.0.0.1:6443");
        assert_eq!(t.token.as_ref().unwrap().expose(), "tok-123");
        assert!(t.ca_pem.unwrap().starts_with(b"-----BEGIN"));
        assert!(!format!("{:?}", t.token).contains("tok-123"));
        let text = std::fs::read_to_string(&path).unwrap().replace("current-context: prod", "current-context: other");
        std::fs::write(&path, text).unwrap();
        let e = KubeTarget::from_kubeconfig(Some(&path)).unwrap_err();
        assert!(e.message.contains("exec plugin"), "{}", e.message);
        std::fs::write(&path, "current-context: [").unwrap();
        assert!(KubeTarget::from_kubeconfig(Some(&path)).unwrap_err().message.contains("not valid YAML"));
    }
}
