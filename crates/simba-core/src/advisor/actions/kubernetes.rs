//! Kubernetes actions on the API server: an HPA's replica bounds and utilisation targets
//! (`k8s.patch_hpa`) and a Deployment's replicas (`k8s.scale`). Each is one JSON merge patch (what
//! `kubectl patch --type merge` sends), sent first as a server-side dry run (`dryRun=All`: the
//! server validates and admits it without storing it), then for real carrying the object's
//! `resourceVersion`, so a change made in between is refused by the server itself (409); then the
//! object is read back.

use super::{field_of, Plan, Prepared, Ran};
use crate::advisor::audit::{Outcome, ValueChange};
use crate::api::cluster::kube_target;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::ResolvedProfile;
use crate::sources::kubernetes::{check_name, check_namespace, Kind, Kube};
use serde_json::{json, Value as Json};

/// What `k8s.patch_hpa` may set, as its parameters name them.
pub(super) const HPA_FIELDS: [&str; 4] = ["min_replicas", "max_replicas", "cpu_target", "memory_target"];

/// Checks one `k8s.patch_hpa` value: replicas 1..=10000, a utilisation target 1..=1000 % or `none`
/// (the metric removed). Returns it normalised.
pub(super) fn validate_hpa_value(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim().trim_end_matches('%').to_ascii_lowercase();
    let (range, what) = if field.ends_with("_replicas") { (1..=10_000, "replicas") } else { (1..=1000, "percent") };
    if field.ends_with("_target") && v == "none" {
        return Ok(v);
    }
    match v.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n.to_string()),
        _ => Err(ApiError::invalid(format!(
            "{field} must be a whole number of {what} from {} to {}{}, not '{value}'",
            range.start(),
            range.end(),
            if field.ends_with("_target") { " (or none to remove the metric)" } else { "" }
        ))),
    }
}

pub(super) fn validate_object(namespace: &str, name: &str) -> ApiResult<()> {
    check_namespace(namespace)?;
    check_name(name)?;
    Ok(())
}

fn target_of(plan: &Plan) -> (Kind, &str, &str) {
    match plan {
        Plan::K8sPatchHpa { namespace, name, .. } => (Kind::Hpa, namespace, name),
        Plan::K8sScale { namespace, name, .. } => (Kind::Deployment, namespace, name),
        _ => unreachable!("not a Kubernetes plan"),
    }
}

/// The HPA's `Resource` metric for `resource` (cpu or memory), if it has one.
fn resource_metric<'a>(hpa: &'a Json, resource: &str) -> Option<&'a Json> {
    hpa["spec"]["metrics"].as_array()?.iter().find(|m| m["type"] == "Resource" && m["resource"]["name"] == resource)
}

/// The value one field has now on the object, as the change shows it.
fn current(kind: Kind, obj: &Json, field: &str) -> ApiResult<String> {
    let spec = &obj["spec"];
    Ok(match (kind, field) {
        // Both default to 1 when unset (autoscaling/v2 minReplicas, apps/v1 replicas).
        (Kind::Hpa, "min_replicas") => spec["minReplicas"].as_u64().unwrap_or(1).to_string(),
        (Kind::Hpa, "max_replicas") => spec["maxReplicas"].as_u64().map(|n| n.to_string()).unwrap_or_default(),
        (Kind::Deployment, "replicas") => spec["replicas"].as_u64().unwrap_or(1).to_string(),
        (Kind::Hpa, target) => {
            let resource = target.trim_end_matches("_target");
            match resource_metric(obj, resource) {
                None => "none".to_string(),
                Some(m) => match m["resource"]["target"]["averageUtilization"].as_u64() {
                    Some(n) if m["resource"]["target"]["type"] == "Utilization" => n.to_string(),
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "the HPA's {resource} target is not a utilisation ({}): this action sets utilisation \
                             targets only; change it with kubectl",
                            m["resource"]["target"]
                        )))
                    }
                },
            }
        }
        _ => unreachable!("no field {field} on a {kind:?}"),
    })
}

/// What a plan sets: (field, value).
fn settings(plan: &Plan) -> Vec<(String, String)> {
    match plan {
        Plan::K8sPatchHpa { set, .. } => set.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Plan::K8sScale { replicas, .. } => vec![("replicas".to_string(), replicas.to_string())],
        _ => unreachable!("not a Kubernetes plan"),
    }
}

/// The merge patch that sets `plan`'s values on `obj` (its metrics list is replaced whole, as a
/// merge patch replaces arrays, with only the changed targets differing).
fn patch_for(plan: &Plan, obj: &Json) -> Json {
    let mut spec = serde_json::Map::new();
    match plan {
        Plan::K8sScale { replicas, .. } => {
            spec.insert("replicas".into(), json!(replicas));
        }
        Plan::K8sPatchHpa { set, .. } => {
            let mut metrics = obj["spec"]["metrics"].as_array().cloned().unwrap_or_default();
            let mut metrics_changed = false;
            for (field, value) in set {
                match field.as_str() {
                    "min_replicas" | "max_replicas" => {
                        let key = if field == "min_replicas" { "minReplicas" } else { "maxReplicas" };
                        spec.insert(key.into(), json!(value.parse::<u32>().unwrap_or(1)));
                    }
                    target => {
                        let resource = target.trim_end_matches("_target");
                        let at =
                            metrics.iter().position(|m| m["type"] == "Resource" && m["resource"]["name"] == resource);
                        metrics_changed = true;
                        match (value.parse::<u32>().ok(), at) {
                            (None, Some(i)) => {
                                metrics.remove(i);
                            }
                            (None, None) => {}
                            (Some(n), Some(i)) => {
                                metrics[i]["resource"]["target"] =
                                    json!({"type": "Utilization", "averageUtilization": n})
                            }
                            (Some(n), None) => metrics.push(json!({"type": "Resource", "resource": {"name": resource,
                                "target": {"type": "Utilization", "averageUtilization": n}}})),
                        }
                    }
                }
            }
            if metrics_changed {
                spec.insert("metrics".into(), Json::Array(metrics));
            }
        }
        _ => unreachable!("not a Kubernetes plan"),
    }
    json!({ "spec": spec })
}

fn change_name(kind: Kind, namespace: &str, name: &str, field: &str) -> String {
    format!("{field} of {} {namespace}/{name}", kind.label())
}

fn client(profile: &ResolvedProfile) -> ApiResult<Kube> {
    Kube::new(kube_target(Some(profile))?)
}

pub(super) async fn prepare(profile: &ResolvedProfile, plan: &Plan) -> ApiResult<Prepared> {
    let kube = client(profile)?;
    let (kind, namespace, name) = target_of(plan);
    let obj = kube.get_object(kind, namespace, name).await?;
    let mut changes = vec![];
    for (field, value) in settings(plan) {
        changes.push(ValueChange {
            name: change_name(kind, namespace, name, &field),
            before: current(kind, &obj, &field)?,
            after: value,
        });
    }
    let mut notes =
        vec!["each PATCH carries the object's resourceVersion as read just before it: a change made in between is \
         refused by the API server (409) and nothing is changed"
            .to_string()];
    match plan {
        Plan::K8sPatchHpa { set, .. } => {
            let now = |f: &str| current(kind, &obj, f).ok().and_then(|v| v.parse::<u32>().ok());
            let value = |f: &str| set.get(f).and_then(|v| v.parse::<u32>().ok()).or_else(|| now(f));
            if let (Some(min), Some(max)) = (value("min_replicas"), value("max_replicas")) {
                if min > max {
                    return Err(ApiError::invalid(format!(
                        "minReplicas {min} would be above maxReplicas {max}: the API server refuses that"
                    )));
                }
            }
            if value("max_replicas") > now("max_replicas") {
                notes.push(
                    "more replicas need room on the nodes: check their allocatable CPU and memory on the Cluster page"
                        .into(),
                );
            }
            let targets_left = ["cpu_target", "memory_target"]
                .iter()
                .any(|f| set.get(*f).map(|v| v != "none").unwrap_or_else(|| now(f).is_some()));
            let other_metrics = obj["spec"]["metrics"].as_array().is_some_and(|m| {
                m.iter().any(|m| {
                    m["type"] != "Resource" || !matches!(m["resource"]["name"].as_str(), Some("cpu" | "memory"))
                })
            });
            if !targets_left && !other_metrics {
                notes.push("with no metric left the HPA falls back to its default, 80% CPU utilisation".into());
            }
        }
        Plan::K8sScale { .. } => {
            // An HPA on this Deployment sets its replicas back within its bounds at its next sync.
            if let Ok(hpas) = kube.hpas(Some(namespace)).await {
                for h in hpas.hpas.iter().filter(|h| h.target == format!("Deployment/{name}")) {
                    notes.push(format!(
                        "HPA {} manages these replicas between {} and {}: it will move them back into that range; \
                         change its bounds (k8s.patch_hpa) to keep a new size",
                        h.name,
                        h.min_replicas.unwrap_or(1),
                        h.max_replicas.unwrap_or(0)
                    ));
                }
            }
        }
        _ => {}
    }
    let patch = patch_for(plan, &obj);
    let path = kind.object_path(namespace, name);
    let statements = vec![
        format!("PATCH {path}?dryRun=All (application/merge-patch+json) {patch}"),
        format!("PATCH {path} (application/merge-patch+json) {patch}"),
    ];
    Ok(Prepared { statements, changes, notes })
}

/// Each planned change with the value the object has now as its `after`.
fn read_values(kind: Kind, obj: &Json, planned: &[ValueChange]) -> Vec<ValueChange> {
    planned
        .iter()
        .map(|c| ValueChange { after: current(kind, obj, field_of(c)).unwrap_or_else(|e| e.message), ..c.clone() })
        .collect()
}

pub(super) async fn run(profile: &ResolvedProfile, plan: &Plan, planned: &[ValueChange]) -> Ran {
    let (kind, namespace, name) = target_of(plan);
    let kube = match client(profile) {
        Ok(k) => k,
        Err(e) => return Ran::not_run(planned, format!("nothing was sent: {}", e.message)),
    };
    let obj = match kube.get_object(kind, namespace, name).await {
        Ok(o) => o,
        Err(e) => return Ran::not_run(planned, format!("nothing was sent: {}", e.message)),
    };
    let mut patch = patch_for(plan, &obj);
    patch["metadata"] = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
    if let Err(e) = kube.merge_patch(kind, namespace, name, &patch, true).await {
        return Ran::not_run(
            planned,
            format!("the server-side dry run refused it, so nothing was changed: {}", e.message),
        );
    }
    let sent = kube.merge_patch(kind, namespace, name, &patch, false).await;
    let back = kube.get_object(kind, namespace, name).await;
    match back {
        Ok(obj) => {
            let changes = read_values(kind, &obj, planned);
            let as_planned = changes.iter().zip(planned).all(|(now, want)| now.after == want.after);
            let unchanged = changes.iter().all(|c| c.after == c.before);
            let now = changes.iter().map(|c| format!("{} = {}", c.name, c.after)).collect::<Vec<_>>().join(", ");
            let (outcome, message) = match (sent, as_planned) {
                (Ok(_), true) => (Outcome::Applied, None),
                (Ok(_), false) => {
                    (Outcome::Unverified, Some(format!("the API server accepted the patch but now reports {now}")))
                }
                (Err(e), _) if unchanged => (Outcome::Failed, Some(format!("{}; nothing changed", e.message))),
                (Err(e), _) => (Outcome::Unverified, Some(format!("{}; the object now has {now}", e.message))),
            };
            Ran { changes, outcome, message }
        }
        Err(read) => {
            let (outcome, what) = match &sent {
                Ok(_) => (Outcome::Unverified, "the API server accepted the patch".to_string()),
                Err(e) if e.code == ErrorCode::Conflict || e.code == ErrorCode::InvalidInput => {
                    return Ran::not_run(planned, e.message.clone());
                }
                Err(e) => (Outcome::Unverified, format!("the patch may not have arrived ({})", e.message)),
            };
            Ran {
                changes: planned.to_vec(),
                outcome,
                message: Some(format!(
                    "{what}, but the object could not be read back: {}; check it on the Cluster page",
                    read.message
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn hpa() -> Json {
        json!({"metadata": {"name": "web", "namespace": "simba", "resourceVersion": "7"},
               "spec": {"minReplicas": 2, "maxReplicas": 10, "metrics": [
                   {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                   {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}]}})
    }

    fn plan(set: &[(&str, &str)]) -> Plan {
        Plan::K8sPatchHpa {
            namespace: "simba".into(),
            name: "web".into(),
            set: set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn current_values_and_patches() {
        let h = hpa();
        assert_eq!(current(Kind::Hpa, &h, "min_replicas").unwrap(), "2");
        assert_eq!(current(Kind::Hpa, &h, "cpu_target").unwrap(), "70");
        assert_eq!(current(Kind::Hpa, &h, "memory_target").unwrap(), "none");
        assert_eq!(patch_for(&plan(&[("max_replicas", "14")]), &h), json!({"spec": {"maxReplicas": 14}}));
        // Targets: the metrics list whole, other metrics kept in place.
        let p = patch_for(&plan(&[("cpu_target", "60"), ("memory_target", "80")]), &h);
        let m = p["spec"]["metrics"].as_array().unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0]["resource"]["target"]["averageUtilization"], 60);
        assert_eq!(m[1]["type"], "Pods");
        assert_eq!(m[2]["resource"]["name"], "memory");
        let p = patch_for(&plan(&[("cpu_target", "none")]), &h);
        assert_eq!(p["spec"]["metrics"].as_array().unwrap().len(), 1);
        let scale = Plan::K8sScale { namespace: "simba".into(), name: "web".into(), replicas: 3 };
        assert_eq!(patch_for(&scale, &json!({"spec": {}})), json!({"spec": {"replicas": 3}}));
        assert_eq!(current(Kind::Deployment, &json!({"spec": {}}), "replicas").unwrap(), "1");
    }

    #[test]
    fn values_checked() {
        assert_eq!(validate_hpa_value("max_replicas", " 12 ").unwrap(), "12");
        assert_eq!(validate_hpa_value("cpu_target", "65%").unwrap(), "65");
        assert_eq!(validate_hpa_value("cpu_target", "None").unwrap(), "none");
        assert!(validate_hpa_value("max_replicas", "none").is_err());
        assert!(validate_hpa_value("min_replicas", "0").is_err());
        assert!(validate_hpa_value("cpu_target", "2000").is_err());
        let value_target = json!({"spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "AverageValue", "averageValue": "500m"}}}]}});
        assert!(current(Kind::Hpa, &value_target, "cpu_target").unwrap_err().message.contains("utilisation"));
        let c = ValueChange {
            name: change_name(Kind::Hpa, "simba", "web", "max_replicas"),
            before: "10".into(),
            after: "14".into(),
        };
        assert_eq!(field_of(&c), "max_replicas");
        assert_eq!(super::super::fields_back(&[c]), BTreeMap::from([("max_replicas".to_string(), "10".to_string())]));
    }
}
