//! Kubernetes rules, read from the HPA and Deployment reports (autoscaling/v2, apps/v1 and
//! metrics.k8s.io usage).

use super::redis::try_check;
use super::{found, Check, Inputs, Rule};
use crate::advisor::thresholds::ThresholdDef;
use crate::advisor::{human_bytes, Evidence, Fix, Severity};
use crate::sources::kubernetes::{DeploymentsReport, HpasReport};

fn hpas<'a>(i: &Inputs<'a>) -> Result<&'a HpasReport, Check> {
    i.hpas.ok_or_else(|| {
        Check::NotEnoughData("no HPA report (no Kubernetes URL in the profile, or it did not answer)".into())
    })
}

fn deployments<'a>(i: &Inputs<'a>) -> Result<&'a DeploymentsReport, Check> {
    i.deployments.ok_or_else(|| {
        Check::NotEnoughData("no Deployment report (no Kubernetes URL in the profile, or it did not answer)".into())
    })
}

pub const HPA_PINNED: Rule = Rule {
    id: "k8s.hpa_pinned",
    title: "An HPA is pinned at maxReplicas with utilisation over target",
    reads: "per HPA: current/desired/max replicas, current vs target utilisation, ScalingLimited",
    thresholds: &[ThresholdDef { name: "k8s.hpa_pinned.max_growth", default: 2.0, unit: "× maxReplicas at most" }],
    source: "Kubernetes HPA docs (desiredReplicas = ceil(current × currentMetric / target)); performance-tuning.md \
             (Kubernetes HPA)",
    check: |rule, i, t| {
        let h = try_check!(hpas(i));
        let growth = rule.threshold(t, "max_growth");
        let findings = h
            .hpas
            .iter()
            .filter(|x| x.pinned_at_max)
            .filter_map(|x| {
                let max = x.max_replicas?;
                let current = x.current_replicas.unwrap_or(max).max(1);
                // The HPA's own formula, for the replicas the load asks for.
                let ratio = x
                    .metrics
                    .iter()
                    .filter_map(|m| match (m.current_utilization, m.target_utilization) {
                        (Some(c), Some(t)) if t > 0.0 => Some(c / t),
                        _ => match (m.current_value, m.target_value) {
                            (Some(c), Some(t)) if t > 0.0 => Some(c / t),
                            _ => None,
                        },
                    })
                    .fold(1.0_f64, f64::max);
                let wanted = (current as f64 * ratio).ceil() as u32;
                let new_max = wanted.max(max + 1).min((max as f64 * growth).ceil() as u32).max(max + 1);
                let object = format!("{}/{}", x.namespace, x.name);
                let metrics: Vec<String> = x
                    .metrics
                    .iter()
                    .map(|m| match (m.current_utilization, m.target_utilization) {
                        (Some(c), Some(t)) => format!("{} {c:.0}% of {t:.0}%", m.name),
                        _ => format!(
                            "{} {} of {}",
                            m.name,
                            m.current_value.map(|v| format!("{v}")).unwrap_or("?".into()),
                            m.target_value.map(|v| format!("{v}")).unwrap_or("?".into())
                        ),
                    })
                    .collect();
                Some(rule.finding(
                    Some(&object),
                    Severity::Warning,
                    format!("HPA {object} is at maxReplicas {max} and the load asks for {wanted}"),
                    vec![
                        Evidence::new("replicas", format!("{current} of max {max}"), None),
                        Evidence::new("metrics", metrics.join(", "), None),
                        Evidence::new("replicas the load asks for", wanted, None),
                        Evidence::new(
                            "ScalingLimited",
                            x.scaling_limited.map(|b| b.to_string()).unwrap_or_else(|| "not reported".into()),
                            None,
                        ),
                    ],
                    "The autoscaler cannot add pods: requests queue up and latency grows with the load.",
                    Fix::action(
                        "k8s.patch_hpa",
                        &[("namespace", &x.namespace), ("name", &x.name), ("max_replicas", &new_max.to_string())],
                        format!("raise maxReplicas of {object} from {max} to {new_max} (check the nodes have room)"),
                    ),
                ))
            })
            .collect();
        found(findings)
    },
};

pub const MEMORY_LIMIT_CLOSE: Rule = Rule {
    id: "k8s.memory_limit_close",
    title: "Pods use nearly all of their memory limit",
    reads: "per Deployment: the highest pod memory usage (metrics.k8s.io) against the pod's memory limit",
    thresholds: &[ThresholdDef { name: "k8s.memory_limit_close.share", default: 0.9, unit: "usage / limit" }],
    source: "Kubernetes docs, 'Resource Management for Pods' (a container over its memory limit is OOM-killed)",
    check: |rule, i, t| {
        let d = try_check!(deployments(i));
        let share = rule.threshold(t, "share");
        let findings = d
            .deployments
            .iter()
            .filter(|x| x.memory_of_limit.is_some_and(|m| m >= share))
            .map(|x| {
                let object = format!("{}/{}", x.namespace, x.name);
                let used = x.memory_of_limit.unwrap_or(0.0);
                rule.finding(
                    Some(&object),
                    Severity::Critical,
                    format!("Deployment {object}: a pod uses {:.0}% of its memory limit", used * 100.0),
                    vec![
                        Evidence::new("highest pod memory", human_bytes(x.memory_usage_max_bytes.unwrap_or(0.0)), None),
                        Evidence::new("pod memory limit", human_bytes(x.pod_memory_limit_bytes.unwrap_or(0.0)), None),
                        Evidence::new("usage / limit", format!("{used:.2}"), None),
                    ],
                    "The next spike is an OOM kill and a restart, with the pod's in-flight work lost or redone.",
                    Fix::advice(format!(
                        "raise the memory limit of {object}'s containers (and the request with it), or find what \
                         grows; a limit is part of the pod template, so changing it rolls the pods"
                    )),
                )
            })
            .collect();
        found(findings)
    },
};

pub const REQUESTS_ABOVE_USAGE: Rule = Rule {
    id: "k8s.requests_above_usage",
    title: "CPU requests far above what the pods use",
    reads: "per Deployment: average pod CPU usage against the pod's CPU request",
    thresholds: &[ThresholdDef { name: "k8s.requests_above_usage.share", default: 0.25, unit: "usage / request" }],
    source: "Kubernetes docs, 'Resource Management for Pods'; the Vertical Pod Autoscaler's recommender (requests \
             follow usage)",
    check: |rule, i, t| {
        let d = try_check!(deployments(i));
        let share = rule.threshold(t, "share");
        let findings = d
            .deployments
            .iter()
            .filter(|x| x.pods_measured > 0 && x.cpu_of_request.is_some_and(|c| c < share))
            .map(|x| {
                let object = format!("{}/{}", x.namespace, x.name);
                let used = x.cpu_of_request.unwrap_or(0.0);
                rule.finding(
                    Some(&object),
                    Severity::Info,
                    format!("Deployment {object} uses {:.0}% of the CPU it requests", used * 100.0),
                    vec![
                        Evidence::new(
                            "average pod CPU",
                            format!("{:.3}", x.cpu_usage_avg_cores.unwrap_or(0.0)),
                            Some("cores"),
                        ),
                        Evidence::new(
                            "pod CPU request",
                            format!("{:.3}", x.pod_cpu_request_cores.unwrap_or(0.0)),
                            Some("cores"),
                        ),
                        Evidence::new("pods measured", x.pods_measured, None),
                    ],
                    "Requested CPU is reserved on the nodes whether used or not, and a CPU-utilisation HPA measures \
                     against the request, so it scales late.",
                    Fix::advice(format!(
                        "lower the CPU request of {object}'s containers towards its usage plus headroom (about 2× the \
                         average); mind the HPA's target, which is a share of the request"
                    )),
                )
            })
            .collect();
        found(findings)
    },
};
