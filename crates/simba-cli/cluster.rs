//! `simba-tuner prom …` (Prometheus queries and panels) and `simba-tuner k8s …` (pod and node
//! usage, HPAs, Deployments). Text for a person, or with `--json` the facade's answer itself.

use crate::output::{pct, term};
use crate::report;
use clap::{Args, Subcommand, ValueEnum};
use simba_core::api::cluster::{check_namespace, kube_target, PromQueryRequest, PromRangeRequest};
use simba_core::profiles::{ResolvedProfile, Service as Svc};
use simba_core::secret::Secret;
use simba_core::sources::kubernetes::{DeploymentsReport, HpasReport, KubeTarget, NodesUsage, PodsUsage};
use simba_core::sources::panels::{Panel, PanelSet, PanelsReport};
use simba_core::sources::prometheus::{QueryResult, Sample};
use simba_core::sources::quantity::{format_bytes, format_cores};
use simba_core::{ApiError, ApiResult, Service};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct PromTarget {
    /// Profile name (see `simba-tuner profile list`); its Prometheus URL is queried.
    #[arg(long, conflicts_with = "prometheus")]
    profile: Option<String>,
    /// Prometheus URL to query without a profile, e.g. http://127.0.0.1:9090
    #[arg(long)]
    prometheus: Option<String>,
    /// Print JSON (schema: docs/cli.md). Non-finite values are `null` with `special` "NaN", "+Inf" or "-Inf".
    #[arg(long)]
    json: bool,
}

impl PromTarget {
    fn profile(&self, service: &Service) -> ApiResult<ResolvedProfile> {
        match &self.prometheus {
            Some(url) => ResolvedProfile::ad_hoc(&[(Svc::Prometheus, url.as_str())]),
            None => service.resolve_profile(self.profile.as_deref().unwrap_or(simba_core::profiles::EMBEDDED)),
        }
    }
}

#[derive(Subcommand)]
pub enum PromCommand {
    /// An instant query: `simba-tuner prom query 'rate(http_requests_total[5m])'`.
    Query {
        /// PromQL (may start with '-', e.g. -1/0).
        #[arg(allow_hyphen_values = true)]
        expr: String,
        /// Evaluation time: now, now-15m, Unix seconds or RFC 3339 (default: Prometheus's now).
        #[arg(long)]
        time: Option<String>,
        #[command(flatten)]
        target: PromTarget,
    },
    /// A range query: values from --start to --end every --step.
    Range {
        #[arg(allow_hyphen_values = true)]
        expr: String,
        /// now, now-1h, Unix seconds or RFC 3339.
        #[arg(long, default_value = "now-1h")]
        start: String,
        #[arg(long, default_value = "now")]
        end: String,
        /// 15s, 1m, 1h30m or seconds (default: about 120 points).
        #[arg(long)]
        step: Option<String>,
        #[command(flatten)]
        target: PromTarget,
    },
    /// The profile's panels (request rate and latency, cache hit rate, queue depth, pod CPU and
    /// memory, Redis, PostgreSQL and node basics) with their values now; or change them.
    Panels(PanelsArgs),
}

#[derive(Args)]
pub struct PanelsArgs {
    #[command(flatten)]
    target: PromTarget,
    /// The sparklines' window, minutes.
    #[arg(long, default_value_t = 30)]
    range_minutes: u32,
    /// List the panels' PromQL without querying.
    #[arg(long)]
    list: bool,
    /// Change a panel's PromQL, or add a panel of your own: ID=PROMQL (repeatable; saved profiles only).
    #[arg(long, value_name = "ID=PROMQL")]
    set: Vec<String>,
    /// Hide a panel (repeatable).
    #[arg(long, value_name = "ID")]
    disable: Vec<String>,
    /// Show a hidden panel again (repeatable).
    #[arg(long, value_name = "ID")]
    enable: Vec<String>,
    /// Forget the profile's changes: back to the defaults (before any --set).
    #[arg(long)]
    reset: bool,
}

pub async fn prom(service: &Service, cmd: PromCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PromCommand::Query { expr, time, target } => {
            let profile = match target.profile(service) {
                Ok(p) => p,
                Err(e) => return Ok(report(&e, target.json)),
            };
            let req = PromQueryRequest { profile: None, expr, time };
            print_result(service.prom_query_of(&profile, &req).await, target.json)
        }
        PromCommand::Range { expr, start, end, step, target } => {
            let profile = match target.profile(service) {
                Ok(p) => p,
                Err(e) => return Ok(report(&e, target.json)),
            };
            let req = PromRangeRequest { profile: None, expr, start: Some(start), end: Some(end), step };
            print_result(service.prom_range_of(&profile, &req).await, target.json)
        }
        PromCommand::Panels(args) => panels(service, args).await,
    }
}

fn print_result(r: ApiResult<QueryResult>, json: bool) -> anyhow::Result<ExitCode> {
    match r {
        Ok(r) if json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => print!("{}", result_text(&r)),
        Err(e) => return Ok(report(&e, json)),
    }
    Ok(ExitCode::SUCCESS)
}

async fn panels(service: &Service, args: PanelsArgs) -> anyhow::Result<ExitCode> {
    let json = args.target.json;
    let changes = !args.set.is_empty() || !args.disable.is_empty() || !args.enable.is_empty() || args.reset;
    if changes {
        return match change_panels(service, &args) {
            Ok(set) if json => {
                println!("{}", serde_json::to_string_pretty(&set)?);
                Ok(ExitCode::SUCCESS)
            }
            Ok(set) => {
                print!("saved\n{}", panel_list_text(&set));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&e, json)),
        };
    }
    if args.list {
        return match service.prom_panel_list(args.target.profile.as_deref()) {
            Ok(set) if json => {
                println!("{}", serde_json::to_string_pretty(&set)?);
                Ok(ExitCode::SUCCESS)
            }
            Ok(set) => {
                print!("{}", panel_list_text(&set));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&e, json)),
        };
    }
    let profile = match args.target.profile(service) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e, json)),
    };
    match service.prom_panels_of(&profile, Some(args.range_minutes)).await {
        Ok(r) if json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => print!("{}", panels_text(&r)),
        Err(e) => return Ok(report(&e, json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn change_panels(service: &Service, args: &PanelsArgs) -> ApiResult<PanelSet> {
    let name = match (&args.target.profile, &args.target.prometheus) {
        (Some(p), None) => p.clone(),
        _ => return Err(ApiError::invalid("changing panels needs --profile NAME (a saved profile), not --prometheus")),
    };
    let current = service.prom_panel_list(Some(&name))?;
    let find = |id: &str| current.panels.iter().find(|p| p.id == id).cloned();
    let unknown = |id: &str| {
        let known: Vec<_> = current.panels.iter().map(|p| p.id.as_str()).collect();
        ApiError::invalid(format!("no panel '{}'; known: {}", term(id), known.join(", ")))
    };
    let mut panels: Vec<Panel> = vec![];
    for s in &args.set {
        let (id, expr) =
            s.split_once('=').ok_or_else(|| ApiError::invalid(format!("--set wants ID=PROMQL, got '{}'", term(s))))?;
        let id = id.trim();
        let base = find(id).unwrap_or(Panel {
            id: id.to_string(),
            title: id.to_string(),
            unit: "count".into(),
            expr: String::new(),
            enabled: true,
            default: false,
        });
        panels.push(Panel { expr: expr.trim().to_string(), ..base });
    }
    for (ids, enabled) in [(&args.disable, false), (&args.enable, true)] {
        for id in ids {
            let p = find(id).ok_or_else(|| unknown(id))?;
            panels.push(Panel { enabled, ..p });
        }
    }
    service.prom_panels_set(simba_core::api::cluster::PanelsUpdate { profile: name, panels, reset: args.reset })
}

/// A sample's value as Prometheus writes it (NaN, +Inf, -Inf).
fn value_text(s: &Sample) -> String {
    match (s.value, s.special) {
        (Some(v), _) => format!("{v}"),
        (None, Some(sp)) => {
            serde_json::to_value(sp).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
        }
        (None, None) => "-".into(),
    }
}

fn result_text(r: &QueryResult) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "prometheus {}   {} ({})", r.prometheus, term(&r.expr), r.result_type);
    if let Some(t) = &r.text {
        let _ = writeln!(o, "{}", term(t));
    }
    if r.series.is_empty() && r.text.is_none() {
        let _ = writeln!(o, "no series");
    }
    for s in &r.series {
        match s.samples.as_slice() {
            [one] => {
                let _ = writeln!(o, "{}  {}", term(&s.display), value_text(one));
            }
            many => {
                let last = many.last().map(value_text).unwrap_or_else(|| "-".into());
                let _ = writeln!(o, "{}  {} points, last {}", term(&s.display), many.len(), last);
            }
        }
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {}", term(w));
    }
    o
}

fn panel_list_text(set: &PanelSet) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "panels of profile '{}'", set.profile);
    for p in &set.panels {
        let flags =
            format!("{}{}", if p.enabled { "" } else { " [hidden]" }, if p.default { "" } else { " [changed]" });
        let _ = writeln!(o, "{:<24} {:<6} {}{}\n    {}", p.id, p.unit, term(&p.title), flags, term(&p.expr));
    }
    o
}

fn unit_value(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "-".into(),
        Some(v) => match unit {
            "bytes" => format_bytes(v),
            "cores" => format_cores(v),
            "ratio" => pct(Some(v)),
            "s" => format!("{:.3} s", v),
            "req/s" => format!("{:.2}/s", v),
            _ => format!("{}", (v * 100.0).round() / 100.0),
        },
    }
}

fn panels_text(r: &PanelsReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "prometheus {} (profile {}), last {:.0} min", r.prometheus, r.profile, r.range_seconds / 60.0);
    for p in &r.panels {
        let _ = writeln!(o, "{} ({})", term(&p.panel.title), p.panel.id);
        if let Some(e) = &p.error {
            let _ = writeln!(o, "    error: {}", term(&e.message));
        }
        if let Some(res) = &p.result {
            if res.series.is_empty() {
                let _ = writeln!(o, "    no data");
            }
            for s in res.series.iter().take(10) {
                let last = s.samples.last();
                let shown = match last {
                    Some(l) if l.value.is_none() => value_text(l),
                    Some(l) => unit_value(l.value, &p.panel.unit),
                    None => "-".into(),
                };
                let _ = writeln!(o, "    {}  {}", term(&s.display), shown);
            }
            if res.series.len() > 10 {
                let _ = writeln!(o, "    … {} more series", res.series.len() - 10);
            }
        }
    }
    o
}

// ------------------------------------------------------------------------------------------------
// Kubernetes

#[derive(Args)]
pub struct KubeArgs {
    /// Profile name; its Kubernetes URL and token are used.
    #[arg(long, conflicts_with_all = ["kubernetes", "kubeconfig"])]
    profile: Option<String>,
    /// API server URL to read without a profile, e.g. https://10.0.0.1:6443 (token from --token or
    /// SIMBA_KUBERNETES_TOKEN).
    #[arg(long, conflicts_with = "kubeconfig")]
    kubernetes: Option<String>,
    /// Bearer token for --kubernetes; prefer the environment variable (a command line shows in `ps`).
    #[arg(long, env = "SIMBA_KUBERNETES_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A kubeconfig file (default: KUBECONFIG, else ~/.kube/config, when neither --profile nor
    /// --kubernetes is given); its current context is used.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// One namespace (default: all namespaces).
    #[arg(long, short = 'n')]
    namespace: Option<String>,
    /// Print JSON (schema: docs/cli.md).
    #[arg(long)]
    json: bool,
}

impl KubeArgs {
    fn target(&self, service: &Service) -> ApiResult<KubeTarget> {
        match (&self.profile, &self.kubernetes, &self.kubeconfig) {
            (Some(p), _, _) => kube_target(Some(&service.resolve_profile(p)?)),
            (None, Some(url), _) => {
                let mut profile = ResolvedProfile::ad_hoc(&[(Svc::Kubernetes, url.as_str())])?;
                for e in &mut profile.endpoints {
                    e.token = self.token.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(Secret::new);
                }
                let mut target = kube_target(Some(&profile))?;
                target.via = "--kubernetes".into();
                Ok(target)
            }
            (None, None, path) => KubeTarget::from_kubeconfig(path.as_deref()),
        }
    }

    fn namespace(&self) -> ApiResult<Option<&str>> {
        match self.namespace.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(ns) => check_namespace(ns).map(Some),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TopWhat {
    #[value(alias = "pod")]
    Pods,
    #[value(alias = "node")]
    Nodes,
}

#[derive(Subcommand)]
pub enum K8sCommand {
    /// CPU and memory in use from metrics.k8s.io, as `kubectl top`.
    Top {
        what: TopWhat,
        #[command(flatten)]
        args: KubeArgs,
    },
    /// HorizontalPodAutoscalers: replicas, utilisation against target, conditions; pinned at max flagged.
    Hpa(KubeArgs),
    /// Deployments: replicas, requests and limits against their pods' usage.
    Deployments(KubeArgs),
}

pub async fn k8s(service: &Service, cmd: K8sCommand) -> anyhow::Result<ExitCode> {
    let args = match &cmd {
        K8sCommand::Top { args, .. } | K8sCommand::Hpa(args) | K8sCommand::Deployments(args) => args,
    };
    let json = args.json;
    let (target, ns) = match args.target(service).and_then(|t| Ok((t, args.namespace()?))) {
        Ok(x) => x,
        Err(e) => return Ok(report(&e, json)),
    };
    // Each answer as JSON and as text; the one asked for is printed.
    let out: ApiResult<(serde_json::Result<serde_json::Value>, String)> = match cmd {
        K8sCommand::Top { what: TopWhat::Pods, .. } => {
            service.k8s_pods_of(target, ns).await.map(|r| (serde_json::to_value(&r), pods_text(&r)))
        }
        K8sCommand::Top { what: TopWhat::Nodes, .. } => {
            service.k8s_nodes_of(target).await.map(|r| (serde_json::to_value(&r), nodes_text(&r)))
        }
        K8sCommand::Hpa(_) => service.k8s_hpas_of(target, ns).await.map(|r| (serde_json::to_value(&r), hpas_text(&r))),
        K8sCommand::Deployments(_) => {
            service.k8s_deployments_of(target, ns).await.map(|r| (serde_json::to_value(&r), deployments_text(&r)))
        }
    };
    match out {
        Ok((j, _)) if json => println!("{}", serde_json::to_string_pretty(&j?)?),
        Ok((_, text)) => print!("{text}"),
        Err(e) => return Ok(report(&e, json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn scope_line(o: &mut String, s: &simba_core::sources::kubernetes::KubeScope) {
    let ns = s.namespace.as_deref().map(|n| format!("namespace {n}")).unwrap_or_else(|| "all namespaces".into());
    let _ = writeln!(o, "kubernetes {} ({}), {ns}{}", s.server, s.via, if s.authenticated { "" } else { ", no token" });
}

fn cores(v: Option<f64>) -> String {
    v.map(format_cores).unwrap_or_else(|| "-".into())
}

fn mem(v: Option<f64>) -> String {
    v.map(format_bytes).unwrap_or_else(|| "-".into())
}

fn pods_text(r: &PodsUsage) -> String {
    let mut o = String::new();
    scope_line(&mut o, &r.scope);
    let _ = writeln!(o, "{:<20} {:<48} {:>10} {:>12}", "NAMESPACE", "NAME", "CPU", "MEMORY");
    for p in &r.pods {
        let _ = writeln!(
            o,
            "{:<20} {:<48} {:>10} {:>12}",
            term(&p.namespace),
            term(&p.name),
            format_cores(p.cpu_cores),
            format_bytes(p.memory_bytes)
        );
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {}", term(w));
    }
    o
}

fn nodes_text(r: &NodesUsage) -> String {
    let mut o = String::new();
    scope_line(&mut o, &r.scope);
    let _ = writeln!(o, "{:<32} {:>10} {:>7} {:>12} {:>7}", "NAME", "CPU", "CPU%", "MEMORY", "MEM%");
    for n in &r.nodes {
        let _ = writeln!(
            o,
            "{:<32} {:>10} {:>7} {:>12} {:>7}",
            term(&n.name),
            cores(n.cpu_cores),
            pct(n.cpu_ratio),
            mem(n.memory_bytes),
            pct(n.memory_ratio)
        );
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {}", term(w));
    }
    o
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn hpas_text(r: &HpasReport) -> String {
    let mut o = String::new();
    scope_line(&mut o, &r.scope);
    for h in &r.hpas {
        let flag = if h.pinned_at_max {
            "  PINNED AT MAX"
        } else if h.at_max_replicas {
            "  at max"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "{}/{} -> {}  replicas {} (desired {}, min {}, max {}){flag}",
            term(&h.namespace),
            term(&h.name),
            term(&h.target),
            opt(h.current_replicas),
            opt(h.desired_replicas),
            opt(h.min_replicas),
            opt(h.max_replicas)
        );
        for m in &h.metrics {
            let (cur, target) = match (m.current_utilization, m.target_utilization) {
                (c, Some(t)) => (c.map(|c| format!("{c}%")).unwrap_or_else(|| "<unknown>".into()), format!("{t}%")),
                _ => (opt(m.current_value), opt(m.target_value)),
            };
            let over = if m.over_target { "  over target" } else { "" };
            let _ = writeln!(o, "    {} {}: {cur} / {target}{over}", m.kind, term(&m.name));
        }
        for c in &h.conditions {
            let _ = writeln!(
                o,
                "    {}={} {} {}",
                term(&c.kind),
                term(&c.status),
                term(c.reason.as_deref().unwrap_or("")),
                term(c.message.as_deref().unwrap_or(""))
            );
        }
    }
    if r.hpas.is_empty() {
        let _ = writeln!(o, "no HorizontalPodAutoscaler");
    }
    o
}

fn deployments_text(r: &DeploymentsReport) -> String {
    let mut o = String::new();
    scope_line(&mut o, &r.scope);
    if let Some(e) = &r.usage_error {
        let _ = writeln!(o, "no pod usage: {}", term(&e.message));
    }
    for d in &r.deployments {
        let _ = writeln!(
            o,
            "{}/{}  ready {}/{}  cpu req {} lim {} used avg {} ({} of request)  mem req {} lim {} used max {} ({} of limit)  {} pods measured",
            term(&d.namespace),
            term(&d.name),
            d.ready_replicas,
            opt(d.replicas),
            cores(d.pod_cpu_request_cores),
            cores(d.pod_cpu_limit_cores),
            cores(d.cpu_usage_avg_cores),
            pct(d.cpu_of_request),
            mem(d.pod_memory_request_bytes),
            mem(d.pod_memory_limit_bytes),
            mem(d.memory_usage_max_bytes),
            pct(d.memory_of_limit),
            d.pods_measured
        );
        for f in &d.findings {
            let _ = writeln!(o, "    warning: {f}");
        }
    }
    o
}
