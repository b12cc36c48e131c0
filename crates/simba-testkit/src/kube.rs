//! A local Kubernetes API server with the official JSON shapes, for tests: discovery (`/api`,
//! `/apis`, APIResourceLists), metrics.k8s.io NodeMetricsList and PodMetricsList, v1 NodeList and
//! NamespaceList, autoscaling/v2 HorizontalPodAutoscalerList, apps/v1 DeploymentList, merge-patch
//! PATCHes of HPAs and Deployments (409 on a stale resourceVersion, 422 on invalid bounds,
//! `dryRun=All`), and Status errors (401, 403, 404, 405, 415). A real kubectl reads it the same way
//! (tests/prom_k8s.rs checks that), so what the app reads here is what it would read from a cluster.
//!
//! Lists come in pages as `limit` and `continue` ask (ListMeta `continue`, `remainingItemCount`,
//! 410 Expired on demand), v1 Pods are derived from the pod metrics, and [`start_tls`] serves the
//! same over TLS with client-certificate authentication ([`TestPki`] makes the certificates).
//!
//! The cluster's numbers can be changed while it serves ([`Fake::set_hpa`], [`Fake::set_pod_usage`],
//! [`Fake::add_pod`]), so that a test can watch a page follow them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

pub struct Fake {
    pub admin_token: String,
    /// May read HPAs and Deployments but not metrics.k8s.io.
    pub viewer_token: String,
    /// Who a request without a token is: kubectl sends no bearer token over plain http://, so
    /// its checks switch this to "admin" or "viewer"; None answers 401 as an API server does.
    pub anonymous: Mutex<Option<&'static str>>,
    pub nodes: Mutex<Value>,
    pub node_metrics: Mutex<Value>,
    pub pod_metrics: Mutex<Value>,
    pub hpas: Mutex<Value>,
    pub deployments: Mutex<Value>,
    /// Every PATCH that reached an object: `[dry run] PATH BODY`, in order.
    pub patches: Mutex<Vec<String>>,
    /// Another writer's change lands just before the next PATCH (its resourceVersion moves on).
    pub race_next_patch: Mutex<bool>,
    /// Every list GET that was answered with a list (or a 410), `PATH?QUERY`, in order.
    pub lists: Mutex<Vec<String>>,
    /// This many of the next list requests that carry a `continue` token are answered 410 Gone,
    /// reason Expired, as when the token outlives etcd's compaction.
    pub expire_continues: Mutex<u32>,
    next_version: Mutex<u64>,
}

const TS: &str = "2026-12-06T04:00:00Z";

fn meta(name: &str, ns: Option<&str>, labels: Value) -> Value {
    let mut m = json!({"name": name, "creationTimestamp": TS, "labels": labels, "uid": format!("uid-{name}"),
                       "resourceVersion": "100", "generation": 1});
    if let Some(ns) = ns {
        m["namespace"] = json!(ns);
    }
    m
}

fn pod(ns: &str, name: &str, app: &str, cpu: &str, mem: &str) -> Value {
    json!({"metadata": meta(name, Some(ns), json!({"app": app})), "timestamp": TS, "window": "20.043s",
           "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": mem}}]})
}

/// An HPA on the Deployment `target`: replicas `[min, max, current, desired]`, CPU `[now, target]` %.
fn hpa(name: &str, target: &str, [min, max, current, desired]: [u32; 4], [cpu_now, cpu_target]: [u32; 2]) -> Value {
    let limited = desired >= max;
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": meta(name, Some("simba"), json!({})),
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                 "minReplicas": min, "maxReplicas": max,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu_target}}}]},
        "status": {"currentReplicas": current, "desiredReplicas": desired, "lastScaleTime": TS,
                   "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu_now, "averageValue": "465m"}}}],
                   "conditions": [
                       {"type": "AbleToScale", "status": "True", "lastTransitionTime": TS, "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
                       {"type": "ScalingActive", "status": "True", "lastTransitionTime": TS, "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},
                       scaling_limited(limited)]}})
}

/// The ScalingLimited condition as the HPA controller writes it: True (TooManyReplicas) when the
/// replicas it wants reach maxReplicas.
fn scaling_limited(limited: bool) -> Value {
    json!({"type": "ScalingLimited", "status": if limited {"True"} else {"False"}, "lastTransitionTime": TS,
           "reason": if limited {"TooManyReplicas"} else {"DesiredWithinRange"},
           "message": if limited {"the desired replica count is more than the maximum replica count"} else {"the desired count is within the acceptable range"}})
}

fn deployment(name: &str, replicas: u32, resources: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, Some("simba"), json!({"app": name})),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": format!("simba/{name}:1"), "resources": resources}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas}})
}

impl Fake {
    pub fn new(admin_token: String, viewer_token: String) -> Self {
        let node = |name: &str| {
            json!({"apiVersion": "v1", "kind": "Node", "metadata": meta(name, None, json!({"kubernetes.io/hostname": name})),
            "status": {"capacity": {"cpu": "4", "memory": "16393252Ki", "pods": "110"},
                       "allocatable": {"cpu": "3920m", "memory": "15242276Ki", "pods": "110"}}})
        };
        let node_metric = |name: &str, cpu: &str, mem: &str| json!({"metadata": meta(name, None, json!({})), "timestamp": TS, "window": "20.043s", "usage": {"cpu": cpu, "memory": mem}});
        Self {
            admin_token,
            viewer_token,
            anonymous: Mutex::new(None),
            nodes: Mutex::new(json!([node("node-a"), node("node-b")])),
            node_metrics: Mutex::new(json!([
                node_metric("node-a", "487558164n", "732212Ki"),
                node_metric("node-b", "1.5", "2Gi")
            ])),
            pod_metrics: Mutex::new(json!([
                pod("simba", "web-7d4b9-abcde", "web", "250m", "512Mi"),
                pod("simba", "web-7d4b9-fghij", "web", "150m", "972Mi"),
                pod("simba", "worker-5c8f-klmno", "worker", "1", "1.5Gi"),
                pod("other", "other-1", "other", "12u", "64Mi"),
            ])),
            hpas: Mutex::new(json!([
                hpa("simba-intelligence-hpa", "web", [2, 10, 10, 10], [93, 70]),
                hpa("worker-hpa", "worker", [1, 6, 2, 2], [40, 80]),
            ])),
            deployments: Mutex::new(json!([
                deployment(
                    "web",
                    2,
                    json!({"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}})
                ),
                deployment("worker", 1, json!({"requests": {"memory": "1Gi"}})),
            ])),
            patches: Mutex::new(vec![]),
            race_next_patch: Mutex::new(false),
            lists: Mutex::new(vec![]),
            expire_continues: Mutex::new(0),
            next_version: Mutex::new(100),
        }
    }
}

impl Fake {
    /// One stored object by namespace and name, changed by `change`; panics when there is none (a
    /// test naming an object the fake does not hold is a mistake in the test).
    fn change(&self, store: &Mutex<Value>, ns: &str, name: &str, change: impl FnOnce(&mut Value)) {
        let mut items = store.lock().unwrap();
        let item = items
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|i| i["metadata"]["namespace"] == ns && i["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("the fake cluster has no {ns}/{name}"));
        change(item);
        // A status write moves resourceVersion on, as on a real API server.
        let mut version = self.next_version.lock().unwrap();
        *version += 1;
        item["metadata"]["resourceVersion"] = json!(version.to_string());
    }

    /// What the HPA controller writes after a reconcile: the replicas it runs and wants, the CPU
    /// utilisation (% of request) it measured, and ScalingLimited from desired against maxReplicas.
    pub fn set_hpa(&self, ns: &str, name: &str, current: u32, desired: u32, cpu_utilization: u32) {
        self.change(&self.hpas, ns, name, |h| {
            let max = h["spec"]["maxReplicas"].as_u64().unwrap_or(u64::MAX);
            let status = &mut h["status"];
            status["currentReplicas"] = json!(current);
            status["desiredReplicas"] = json!(desired);
            status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] = json!(cpu_utilization);
            let limited = u64::from(desired) >= max;
            for c in status["conditions"].as_array_mut().unwrap() {
                if c["type"] == "ScalingLimited" {
                    *c = scaling_limited(limited);
                }
            }
        });
    }

    /// A pod's usage as metrics-server reports it (quantities: `"250m"`, `"512Mi"`), in every container.
    pub fn set_pod_usage(&self, ns: &str, name: &str, cpu: &str, memory: &str) {
        self.change(&self.pod_metrics, ns, name, |p| {
            for c in p["containers"].as_array_mut().unwrap() {
                c["usage"] = json!({"cpu": cpu, "memory": memory});
            }
        });
    }

    /// Adds a pod's metrics (one container, label `app`), as when a Deployment scales out.
    pub fn add_pod(&self, ns: &str, name: &str, app: &str, cpu: &str, memory: &str) {
        self.pod_metrics.lock().unwrap().as_array_mut().unwrap().push(pod(ns, name, app, cpu, memory));
    }

    /// Serves on a free loopback port from a thread of its own; returns the URL, `http://127.0.0.1:PORT`.
    pub fn serve(self: &Arc<Self>) -> String {
        format!("http://127.0.0.1:{}", start(self.clone()))
    }
}

fn status(code: u16, reason: &str, message: &str, details: Value) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "details": details, "code": code});
    (StatusCode::from_u16(code).unwrap(), [("content-type", "application/json")], body.to_string()).into_response()
}

fn ok(body: Value) -> Response {
    ([("content-type", "application/json")], body.to_string()).into_response()
}

fn resources(gv: &str, list: &[(&str, &str, bool)]) -> Response {
    let short = |name: &str| -> Vec<&str> {
        match name {
            "horizontalpodautoscalers" => vec!["hpa"],
            "deployments" => vec!["deploy"],
            "nodes" => vec!["no"],
            "pods" => vec!["po"],
            _ => vec![],
        }
    };
    let rs: Vec<Value> = list
        .iter()
        .map(|(name, kind, namespaced)| json!({"name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced,
                                              "kind": kind, "verbs": if kind.ends_with("Metrics") { json!(["get", "list"]) } else { json!(["get", "list", "watch", "patch", "update"]) }, "shortNames": short(name)}))
        .collect();
    ok(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs}))
}

fn group(name: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v})).collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs[0]})
}

const NAMESPACES: ListOf = ("namespaces", "", "NamespaceList", "v1");

/// What a list is of: the resource, its API group, the list's kind and apiVersion.
type ListOf<'a> = (&'a str, &'a str, &'a str, &'a str);

/// One query parameter, percent-decoded.
fn query_param(query: &str, key: &str) -> Option<String> {
    let raw = query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(hex.unwrap_or(b'%'));
                i += if hex.is_some() { 3 } else { 1 };
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// An object's key in the store, the order lists come in: `namespace/name`, or `name` when
/// cluster-scoped.
fn key_of(item: &Value) -> String {
    let m = &item["metadata"];
    match m["namespace"].as_str() {
        Some(ns) => format!("{ns}/{}", m["name"].as_str().unwrap_or("")),
        None => m["name"].as_str().unwrap_or("").to_string(),
    }
}

/// A continue token as the API server makes one: base64url (no padding) of
/// `{"v":"meta.k8s.io/v1","rv":RV,"start":"KEY\u0000"}`, where KEY is the last key returned.
fn continue_token(last_key: &str) -> String {
    let body = json!({"v": "meta.k8s.io/v1", "rv": 12345, "start": format!("{last_key}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

/// The key a continue token starts after, or None when it is not one of ours.
fn continue_start(token: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let body: Value = serde_json::from_slice(&raw).ok()?;
    if body["v"] != "meta.k8s.io/v1" {
        return None;
    }
    body["start"].as_str()?.strip_suffix('\u{0}').map(str::to_string)
}

/// A list, or one named item, of `items` as the API server answers `rest` (the path after the
/// group version): `[res]`, `[res, name]`, `["namespaces", ns, res]`, `["namespaces", ns, res, name]`.
/// Lists come in key order and in pages as `limit` and `continue` ask (ListMeta `continue` and
/// `remainingItemCount` while more remain); see [`Fake::expire_continues`] for 410 Expired.
fn collection(
    f: &Fake,
    uri: &Uri,
    items: &Value,
    rest: &[&str],
    (res, group, list_kind, api_version): ListOf,
) -> Response {
    let (ns, tail) = match rest {
        ["namespaces", ns, tail @ ..] if res != "namespaces" => (Some(*ns), tail),
        tail => (None, tail),
    };
    let mut items: Vec<Value> = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| ns.is_none_or(|ns| i["metadata"]["namespace"] == ns))
        .cloned()
        .collect();
    let qualified = if group.is_empty() { res.to_string() } else { format!("{res}.{group}") };
    match tail {
        [r] if *r == res => {
            let query = uri.query().unwrap_or("");
            f.lists.lock().unwrap().push(format!("{}?{query}", uri.path()));
            items.sort_by_cached_key(key_of);
            let mut from = 0;
            if let Some(token) = query_param(query, "continue").filter(|t| !t.is_empty()) {
                let Some(start) = continue_start(&token) else {
                    let msg =
                        "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)";
                    return status(400, "BadRequest", msg, json!({}));
                };
                let expire = {
                    let mut n = f.expire_continues.lock().unwrap();
                    let expire = *n > 0;
                    *n = n.saturating_sub(1);
                    expire
                };
                if expire {
                    let body = json!({"kind": "Status", "apiVersion": "v1",
                        "metadata": {"continue": continue_token(&start)}, "status": "Failure",
                        "message": "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                        "reason": "Expired", "code": 410});
                    return (StatusCode::GONE, [("content-type", "application/json")], body.to_string())
                        .into_response();
                }
                from = items.partition_point(|i| key_of(i) <= start);
            }
            let limit = query_param(query, "limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
            let to = limit.map_or(items.len(), |l| (from + l).min(items.len()));
            let page: Vec<Value> = items[from..to].to_vec();
            let mut metadata = json!({"resourceVersion": "12345"});
            if to < items.len() {
                metadata["continue"] = json!(continue_token(&key_of(&items[to - 1])));
                metadata["remainingItemCount"] = json!(items.len() - to);
            }
            ok(json!({"kind": list_kind, "apiVersion": api_version, "metadata": metadata, "items": page}))
        }
        [r, name] if *r == res => match items.iter().find(|i| i["metadata"]["name"] == *name) {
            Some(i) => ok(i.clone()),
            None => status(
                404,
                "NotFound",
                &format!("{qualified} \"{name}\" not found"),
                json!({"name": name, "group": group, "kind": res}),
            ),
        },
        _ => not_found(),
    }
}

/// The v1 Pods behind the pod metrics: one Running container each, ready, on node-a.
fn v1_pods(metrics: &Value) -> Value {
    metrics
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let app = m["metadata"]["labels"]["app"].as_str().unwrap_or("app");
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": m["metadata"],
                "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": format!("simba/{app}:1")}]},
                "status": {"phase": "Running", "podIP": "10.0.0.7", "startTime": TS,
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": TS}],
                    "containerStatuses": [{"name": "app", "ready": true, "started": true, "restartCount": 0,
                        "image": format!("simba/{app}:1"), "imageID": "", "state": {"running": {"startedAt": TS}}}]}})
        })
        .collect()
}

/// RFC 7386 JSON merge patch: objects merged key by key, null removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// What the API server checks of an HPA or a Deployment before it stores it (the 422 cases).
fn invalid(kind: &str, obj: &Value) -> Option<(String, String)> {
    let spec = &obj["spec"];
    match kind {
        "HorizontalPodAutoscaler" => {
            let min = spec["minReplicas"].as_i64().unwrap_or(1);
            let max = spec["maxReplicas"].as_i64().unwrap_or(0);
            if min < 1 {
                Some(("spec.minReplicas".into(), format!("Invalid value: {min}: must be greater than or equal to 1")))
            } else if max < min {
                Some((
                    "spec.maxReplicas".into(),
                    format!("Invalid value: {max}: must be greater than or equal to `minReplicas`"),
                ))
            } else {
                None
            }
        }
        _ => match spec["replicas"].as_i64() {
            Some(n) if n < 0 => {
                Some(("spec.replicas".into(), format!("Invalid value: {n}: must be greater than or equal to 0")))
            }
            _ => None,
        },
    }
}

/// A PATCH of one named HPA or Deployment as the API server answers it: merge patches only,
/// `metadata.resourceVersion` in the patch checked against the stored one (409), the result
/// validated (422), and with `dryRun=All` answered without being stored.
#[allow(clippy::too_many_arguments)]
fn patch(
    f: &Fake,
    store: &Mutex<Value>,
    rest: &[&str],
    (res, group, kind): (&str, &str, &str),
    viewer: bool,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let ["namespaces", ns, r, name] = rest else { return not_found() };
    if *r != res {
        return not_found();
    }
    let qualified = format!("{res}.{group}");
    let details = json!({"name": name, "group": group, "kind": res});
    if viewer {
        let msg = format!("{qualified} \"{name}\" is forbidden: User \"system:serviceaccount:simba:viewer\" cannot patch resource \"{res}\" in API group \"{group}\" in the namespace \"{ns}\"");
        return status(403, "Forbidden", &msg, details);
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type != "application/merge-patch+json" {
        return status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml", json!({}));
    }
    let Ok(patch_body) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "error decoding patch: invalid character", json!({}));
    };
    let dry_run = query.split('&').any(|kv| kv == "dryRun=All");
    f.patches.lock().unwrap().push(format!(
        "{}/{} {}",
        if dry_run { "dry-run " } else { "" },
        rest.join("/"),
        patch_body
    ));
    let mut items = store.lock().unwrap();
    let Some(item) = items
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["metadata"]["namespace"] == *ns && i["metadata"]["name"] == *name)
    else {
        return status(404, "NotFound", &format!("{qualified} \"{name}\" not found"), details);
    };
    let mut version = f.next_version.lock().unwrap();
    if std::mem::take(&mut *f.race_next_patch.lock().unwrap()) {
        *version += 1;
        item["metadata"]["resourceVersion"] = json!(version.to_string());
    }
    if let Some(rv) = patch_body["metadata"]["resourceVersion"].as_str() {
        if rv != item["metadata"]["resourceVersion"] {
            let msg = format!("Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            return status(409, "Conflict", &msg, details);
        }
    }
    let mut merged = item.clone();
    merge(&mut merged, &patch_body);
    if let Some((field, why)) = invalid(kind, &merged) {
        let msg = format!("{kind}.{group} \"{name}\" is invalid: {field}: {why}");
        let causes = json!([{"reason": "FieldValueInvalid", "message": why, "field": field}]);
        return status(422, "Invalid", &msg, json!({"name": name, "group": group, "kind": kind, "causes": causes}));
    }
    if !dry_run {
        *version += 1;
        merged["metadata"]["resourceVersion"] = json!(version.to_string());
        merged["metadata"]["generation"] = json!(merged["metadata"]["generation"].as_i64().unwrap_or(1) + 1);
        *item = merged.clone();
    }
    ok(merged)
}

fn not_found() -> Response {
    status(404, "NotFound", "the server could not find the requested resource", json!({}))
}

pub async fn api(State(f): State<Arc<Fake>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let anonymous = *f.anonymous.lock().unwrap();
    let viewer = match (token, anonymous) {
        (Some(t), _) if t == f.admin_token => false,
        (Some(t), _) if t == f.viewer_token => true,
        (None, Some(who)) => who == "viewer",
        _ => return status(401, "Unauthorized", "Unauthorized", json!({})),
    };
    let segs: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    if method == Method::PATCH {
        let query = uri.query().unwrap_or("");
        return match segs.as_slice() {
            ["apis", "autoscaling", "v2", rest @ ..] => patch(
                &f,
                &f.hpas,
                rest,
                ("horizontalpodautoscalers", "autoscaling", "HorizontalPodAutoscaler"),
                viewer,
                query,
                &headers,
                &body,
            ),
            ["apis", "apps", "v1", rest @ ..] => {
                patch(&f, &f.deployments, rest, ("deployments", "apps", "Deployment"), viewer, query, &headers, &body)
            }
            _ => status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                json!({}),
            ),
        };
    }
    if method != Method::GET {
        return status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            json!({}),
        );
    }
    match segs.as_slice() {
        ["version"] => ok(json!({"major": "1", "minor": "34", "gitVersion": "v1.34.0", "platform": "linux/amd64"})),
        ["api"] => ok(
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
        ),
        ["apis"] => ok(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            group("apps", &["v1"]), group("autoscaling", &["v2", "v1"]), group("metrics.k8s.io", &["v1beta1"])]})),
        ["api", "v1"] => resources(
            "v1",
            &[
                ("nodes", "Node", false),
                ("pods", "Pod", true),
                ("events", "Event", true),
                ("namespaces", "Namespace", false),
            ],
        ),
        ["apis", "apps", "v1"] => resources("apps/v1", &[("deployments", "Deployment", true)]),
        ["apis", "autoscaling", "v2"] => {
            resources("autoscaling/v2", &[("horizontalpodautoscalers", "HorizontalPodAutoscaler", true)])
        }
        ["apis", "autoscaling", "v1"] => {
            resources("autoscaling/v1", &[("horizontalpodautoscalers", "HorizontalPodAutoscaler", true)])
        }
        ["apis", "metrics.k8s.io", "v1beta1"] => {
            resources("metrics.k8s.io/v1beta1", &[("nodes", "NodeMetrics", false), ("pods", "PodMetrics", true)])
        }
        ["apis", "metrics.k8s.io", "v1beta1", rest @ ..] => {
            let res = if rest.contains(&"pods") { "pods" } else { "nodes" };
            if viewer {
                let ns = match rest {
                    ["namespaces", ns, ..] => format!(" in the namespace \"{ns}\""),
                    _ => " at the cluster scope".into(),
                };
                let msg = format!("{res}.metrics.k8s.io is forbidden: User \"system:serviceaccount:simba:viewer\" cannot list resource \"{res}\" in API group \"metrics.k8s.io\"{ns}");
                return status(403, "Forbidden", &msg, json!({"group": "metrics.k8s.io", "kind": res}));
            }
            if res == "pods" {
                let list = ("pods", "metrics.k8s.io", "PodMetricsList", "metrics.k8s.io/v1beta1");
                collection(&f, &uri, &f.pod_metrics.lock().unwrap(), rest, list)
            } else {
                let list = ("nodes", "metrics.k8s.io", "NodeMetricsList", "metrics.k8s.io/v1beta1");
                collection(&f, &uri, &f.node_metrics.lock().unwrap(), rest, list)
            }
        }
        ["api", "v1", "nodes", ..] => {
            collection(&f, &uri, &f.nodes.lock().unwrap(), &segs[2..], ("nodes", "", "NodeList", "v1"))
        }
        ["api", "v1", "pods"] | ["api", "v1", "namespaces", _, "pods", ..] => {
            let pods = v1_pods(&f.pod_metrics.lock().unwrap());
            collection(&f, &uri, &pods, &segs[2..], ("pods", "", "PodList", "v1"))
        }
        ["api", "v1", "namespaces", ..] if segs.len() <= 4 => {
            let namespaces: Value = ["simba", "other", "default"]
                .iter()
                .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(n, None, json!({})), "status": {"phase": "Active"}}))
                .collect();
            // Cluster-scoped: `namespaces/NAME` is a name here, not a namespace prefix.
            match segs.get(3) {
                Some(name) => collection(&f, &uri, &namespaces, &["namespaces", name][..], NAMESPACES),
                None => collection(&f, &uri, &namespaces, &["namespaces"][..], NAMESPACES),
            }
        }
        ["api", "v1", "namespaces", _, "events"] => {
            ok(json!({"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": []}))
        }
        ["apis", "autoscaling", "v2", rest @ ..] => {
            let list = ("horizontalpodautoscalers", "autoscaling", "HorizontalPodAutoscalerList", "autoscaling/v2");
            collection(&f, &uri, &f.hpas.lock().unwrap(), rest, list)
        }
        ["apis", "apps", "v1", rest @ ..] => collection(
            &f,
            &uri,
            &f.deployments.lock().unwrap(),
            rest,
            ("deployments", "apps", "DeploymentList", "apps/v1"),
        ),
        _ => not_found(),
    }
}

/// Serves on a free loopback port from a thread of its own; returns the port.
pub fn start(fake: Arc<Fake>) -> u16 {
    on_own_thread(fake, |listener, app| async move { axum::serve(listener, app).await.unwrap() }).unwrap()
}

/// Runs `serve` with a listener on a free loopback port and the fake's router, on a thread and a
/// runtime of its own; the port, once it listens.
fn on_own_thread<F, Fut>(fake: Arc<Fake>, serve: F) -> Result<u16, std::sync::mpsc::RecvError>
where
    F: FnOnce(tokio::net::TcpListener, axum::Router) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            serve(listener, axum::Router::new().fallback(api).with_state(fake)).await;
        });
    });
    rx.recv()
}

/// A throwaway PKI made with the openssl CLI in a folder: a CA, the server's certificate for
/// 127.0.0.1 and a client certificate (CN admin, O system:masters, as kubeadm's admin.conf) for it.
pub struct TestPki {
    pub ca_crt: PathBuf,
    pub server_crt: PathBuf,
    pub server_key: PathBuf,
    pub client_crt: PathBuf,
    pub client_key: PathBuf,
}

impl TestPki {
    pub fn generate(dir: &Path) -> crate::Result<Self> {
        let openssl = |args: &[&str]| -> crate::Result<()> {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .map_err(|e| crate::HarnessError::Missing(format!("the openssl CLI ({e})")))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(crate::HarnessError::Failed(format!(
                    "openssl {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                )))
            }
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        let mut ca =
            vec!["req", "-x509", "-days", "2", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=simba-test-ca"];
        ca.extend(ec);
        ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        openssl(&ca)?;
        for (name, subject, ext) in [
            ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
            ("client", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth\n"),
        ] {
            let ext_file = format!("{name}.ext");
            std::fs::write(
                dir.join(&ext_file),
                format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{ext}"),
            )
            .map_err(|e| crate::HarnessError::Failed(format!("{ext_file}: {e}")))?;
            let (key, csr, crt) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"));
            let mut req = vec!["req", "-keyout", &key, "-out", &csr, "-subj", subject];
            req.extend(ec);
            openssl(&req)?;
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &crt,
                "-extfile",
                &ext_file,
            ])?;
        }
        Ok(Self {
            ca_crt: dir.join("ca.crt"),
            server_crt: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_crt: dir.join("client.crt"),
            client_key: dir.join("client.key"),
        })
    }

    /// A kubeconfig for `server` whose user signs in with the client certificate: inline
    /// (`certificate-authority-data`, `client-certificate-data`, `client-key-data`) or as file paths.
    pub fn kubeconfig(&self, server: &str, inline: bool) -> String {
        let b64 = |p: &Path| base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap());
        let (ca, cert, key) = if inline {
            (
                format!("certificate-authority-data: {}", b64(&self.ca_crt)),
                format!("client-certificate-data: {}", b64(&self.client_crt)),
                format!("client-key-data: {}", b64(&self.client_key)),
            )
        } else {
            (
                format!("certificate-authority: {}", self.ca_crt.display()),
                format!("client-certificate: {}", self.client_crt.display()),
                format!("client-key: {}", self.client_key.display()),
            )
        };
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: tls\nclusters:\n- name: tls\n  cluster:\n    server: {server}\n    {ca}\n\
             contexts:\n- name: tls\n  context:\n    cluster: tls\n    user: admin\n\
             users:\n- name: admin\n  user:\n    {cert}\n    {key}\n"
        )
    }
}

/// Serves `fake` over TLS on a free loopback port, asking every client for a certificate signed by
/// the PKI's CA (a handshake without one fails, as on an API server with client-cert auth only);
/// returns the URL, `https://127.0.0.1:PORT`. Requests that get through carry a verified
/// certificate, so set [`Fake::anonymous`] to the identity they stand for.
pub fn start_tls(fake: Arc<Fake>, pki: &TestPki) -> crate::Result<String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, e: &dyn std::fmt::Display| crate::HarnessError::Failed(format!("{what}: {e}"));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.server_crt)
        .map_err(|e| bad("server certificate", &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("server certificate", &e))?;
    let key = PrivateKeyDer::from_pem_file(&pki.server_key).map_err(|e| bad("server key", &e))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&pki.ca_crt).map_err(|e| bad("CA", &e))? {
        roots.add(c.map_err(|e| bad("CA", &e))?).map_err(|e| bad("CA", &e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| bad("client verifier", &e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS versions", &e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| bad("server certificate", &e))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let port = on_own_thread(fake, |listener, app| async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client without a valid certificate ends here, in the handshake.
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    })
    .map_err(|e| bad("the TLS server thread", &e))?;
    Ok(format!("https://127.0.0.1:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(port: u16, path: &str) -> Value {
        let (code, body) = crate::http_get_as(port, path, Some("admin")).unwrap();
        assert_eq!(code, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    #[test]
    fn the_cluster_numbers_change_while_it_serves() {
        let fake = Arc::new(Fake::new("admin".into(), "viewer".into()));
        let port = start(fake.clone());
        let hpa_path = "/apis/autoscaling/v2/namespaces/simba/horizontalpodautoscalers/worker-hpa";
        let before = get(port, hpa_path);
        assert_eq!(before["status"]["currentReplicas"], 2);
        assert_eq!(before["status"]["conditions"][2]["status"], "False");

        fake.set_hpa("simba", "worker-hpa", 6, 6, 97);
        let after = get(port, hpa_path);
        assert_eq!(
            (after["status"]["currentReplicas"].clone(), after["status"]["desiredReplicas"].clone()),
            (json!(6), json!(6))
        );
        assert_eq!(after["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 97);
        assert_eq!(after["status"]["conditions"][2]["reason"], "TooManyReplicas");
        assert_ne!(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);

        fake.set_pod_usage("simba", "worker-5c8f-klmno", "3500m", "3Gi");
        fake.add_pod("simba", "worker-5c8f-pqrst", "worker", "2", "1Gi");
        let pods = get(port, "/apis/metrics.k8s.io/v1beta1/namespaces/simba/pods");
        assert_eq!(pods["kind"], "PodMetricsList");
        let items = pods["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        let worker = items.iter().find(|p| p["metadata"]["name"] == "worker-5c8f-klmno").unwrap();
        assert_eq!(worker["containers"][0]["usage"], json!({"cpu": "3500m", "memory": "3Gi"}));
        let (code, body) = crate::http_get_as(port, hpa_path, Some("nobody")).unwrap();
        assert_eq!(code, 401, "{body}");
    }
}
