//! `simba-tuner history`, `chart`, `alerts`, `alert-rules` and `sample`: history from the local
//! store the sampler fills.

use crate::output::term;
use crate::report;
use clap::{Args, Subcommand};
use simba_core::charts::format_value;
use simba_core::history::alerts::{AlertRules, AlertsRequest};
use simba_core::history::chart::ChartRequest;
use simba_core::history::{clock_utc, parse_range, HistoryRequest, DEFAULT_INTERVAL_SECONDS};
use simba_core::{ApiError, Service};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct HistoryArgs {
    /// Profile name (see `simba-tuner profile list`).
    #[arg(long)]
    profile: Option<String>,
    /// `redis`, `postgres` or `celery`.
    #[arg(long)]
    source: String,
    /// How far back: 15m to 7d (e.g. 15m, 1h, 7d).
    #[arg(long, default_value = "1h")]
    range: String,
    /// Only these metrics (repeat the flag); default all of the source.
    #[arg(long = "metric")]
    metrics: Vec<String>,
    /// Print JSON (schema: docs/cli.md).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ChartArgs {
    #[arg(long)]
    profile: Option<String>,
    /// `redis`, `postgres` or `celery`.
    #[arg(long)]
    source: String,
    /// A metric to draw (repeat to draw several of one unit together).
    #[arg(long = "metric", required = true)]
    metrics: Vec<String>,
    #[arg(long, default_value = "1h")]
    range: String,
    /// `svg`, `png` or `csv`.
    #[arg(long)]
    format: String,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    width: Option<u32>,
    #[arg(long)]
    height: Option<u32>,
}

#[derive(Args)]
pub struct AlertsArgs {
    #[arg(long)]
    profile: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AlertRulesArgs {
    #[command(subcommand)]
    command: Option<AlertRulesCommand>,
    #[arg(long)]
    profile: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AlertRulesCommand {
    /// Change one rule of a profile (the others keep their settings).
    Set {
        #[arg(long)]
        profile: String,
        /// The rule's id (see `simba-tuner alert-rules`).
        #[arg(long)]
        rule: String,
        #[arg(long)]
        threshold: Option<f64>,
        #[arg(long)]
        for_minutes: Option<u32>,
        /// true or false.
        #[arg(long)]
        enabled: Option<bool>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct SampleArgs {
    /// Profiles to sample (repeat); default every saved profile with Redis or PostgreSQL.
    #[arg(long = "profile")]
    profiles: Vec<String>,
    /// Seconds between samples.
    #[arg(long, default_value_t = DEFAULT_INTERVAL_SECONDS)]
    interval: u64,
    /// Take one sample of each profile and exit.
    #[arg(long)]
    once: bool,
    #[arg(long)]
    json: bool,
}

fn range_of(text: &str, json: bool) -> Result<u64, ExitCode> {
    parse_range(text).map_err(|e| report(&e, json))
}

pub async fn history(service: &Service, a: HistoryArgs) -> anyhow::Result<ExitCode> {
    let range = match range_of(&a.range, a.json) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let req = HistoryRequest {
        profile: a.profile,
        source: a.source,
        range_seconds: Some(range),
        metrics: (!a.metrics.is_empty()).then_some(a.metrics),
    };
    let r = match service.history_series(req).await {
        Ok(r) => r,
        Err(e) => return Ok(report(&e, a.json)),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {}: last {} min, one point per {} s, {} gap(s)",
        term(&r.profile),
        r.source,
        (r.to_ms - r.from_ms) / 60_000,
        r.interval_seconds,
        r.gaps.len()
    );
    let _ = writeln!(o, "{:<24} {:>14} {:>14} {:>14} {:>14} {:>6}", "metric", "last", "min", "avg", "max", "gaps");
    for s in &r.series {
        let vals: Vec<f64> = s.points.iter().filter_map(|p| p.value).collect();
        let breaks = s.points.iter().filter(|p| p.value.is_none()).count();
        let f = |v: Option<f64>| v.map(|v| format_value(&s.unit, v)).unwrap_or_else(|| "-".into());
        let min = vals.iter().copied().reduce(f64::min);
        let max = vals.iter().copied().reduce(f64::max);
        let avg = (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64);
        let last = s.points.iter().rev().find_map(|p| p.value);
        let _ =
            writeln!(o, "{:<24} {:>14} {:>14} {:>14} {:>14} {:>6}", s.metric, f(last), f(min), f(avg), f(max), breaks);
    }
    for g in &r.gaps {
        let _ = writeln!(o, "gap {} - {}: {}", clock_utc(g.from_ms), clock_utc(g.to_ms), term(&g.reason));
    }
    if r.series.iter().all(|s| s.points.is_empty()) {
        let _ =
            writeln!(o, "no samples in this range: run `simba-tuner sample` (or `serve`, or the app) to collect them");
    }
    print!("{o}");
    Ok(ExitCode::SUCCESS)
}

pub async fn chart(service: &Service, a: ChartArgs) -> anyhow::Result<ExitCode> {
    let range = match range_of(&a.range, false) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let req = ChartRequest {
        profile: a.profile,
        source: a.source,
        metrics: a.metrics,
        range_seconds: Some(range),
        format: a.format,
        width: a.width,
        height: a.height,
    };
    let export = match service.history_chart(req).await {
        Ok(x) => x,
        Err(e) => return Ok(report(&e, false)),
    };
    let bytes = match export.bytes() {
        Ok(b) => b,
        Err(e) => return Ok(report(&e, false)),
    };
    if let Err(e) = std::fs::write(&a.out, &bytes) {
        return Ok(report(&ApiError::invalid(format!("cannot write {}: {e}", a.out.display())), false));
    }
    println!("wrote {} ({}, {} bytes)", a.out.display(), export.mime, bytes.len());
    Ok(ExitCode::SUCCESS)
}

pub async fn alerts(service: &Service, a: AlertsArgs) -> anyhow::Result<ExitCode> {
    let r = match service.alerts(AlertsRequest { profile: a.profile }).await {
        Ok(r) => r,
        Err(e) => return Ok(report(&e, a.json)),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = String::new();
    let _ = writeln!(o, "alerts of {}", term(&r.profile));
    if r.alerts.is_empty() {
        let _ = writeln!(o, "no rules apply: the profile has neither Redis nor PostgreSQL (or every rule is off)");
    }
    for s in &r.alerts {
        let mark = match s.state.as_str() {
            "firing" => "FIRING",
            "ok" => "ok",
            _ => "no data",
        };
        let _ = writeln!(o, "{mark:<8} {:<8} {:<28} {}", s.severity, s.rule, term(&s.detail));
    }
    print!("{o}");
    Ok(ExitCode::SUCCESS)
}

fn rules_text(r: &AlertRules) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "alert rules of {}", term(&r.profile));
    let _ =
        writeln!(o, "{:<28} {:<9} {:<8} {:>10} {:>6}  description", "rule", "source", "enabled", "threshold", "min");
    for rule in &r.rules {
        let _ = writeln!(
            o,
            "{:<28} {:<9} {:<8} {:>10} {:>6}  {}",
            rule.id, rule.source, rule.enabled, rule.threshold, rule.for_minutes, rule.description
        );
    }
    o
}

pub async fn alert_rules(service: &Service, a: AlertRulesArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        None => match service.alert_rules(a.profile.as_deref()) {
            Ok(r) if a.json => println!("{}", serde_json::to_string_pretty(&r)?),
            Ok(r) => print!("{}", rules_text(&r)),
            Err(e) => return Ok(report(&e, a.json)),
        },
        Some(AlertRulesCommand::Set { profile, rule, threshold, for_minutes, enabled, json }) => {
            let current = match service.alert_rules(Some(&profile)) {
                Ok(r) => r,
                Err(e) => return Ok(report(&e, json)),
            };
            let Some(mut changed) = current.rules.into_iter().find(|r| r.id == rule) else {
                let e = ApiError::invalid(format!(
                    "unknown alert rule '{}': see `simba-tuner alert-rules --profile {profile}`",
                    rule.escape_debug()
                ));
                return Ok(report(&e, json));
            };
            changed.threshold = threshold.unwrap_or(changed.threshold);
            changed.for_minutes = for_minutes.unwrap_or(changed.for_minutes);
            changed.enabled = enabled.unwrap_or(changed.enabled);
            let update = AlertRules { profile, rules: vec![changed] };
            // Through dispatch, as the app and `serve` do, so its write checks apply here too.
            let answer = simba_core::api::dispatch(service, "alert_rules_set", serde_json::to_value(&update)?).await;
            match answer
                .and_then(|v| serde_json::from_value::<AlertRules>(v).map_err(|e| ApiError::internal(e.to_string())))
            {
                Ok(r) if json => println!("{}", serde_json::to_string_pretty(&r)?),
                Ok(r) => print!("saved\n{}", rules_text(&r)),
                Err(e) => return Ok(report(&e, json)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn sample(service: &Service, a: SampleArgs) -> anyhow::Result<ExitCode> {
    if a.interval == 0 || a.interval > 86_400 {
        return Ok(report(&ApiError::invalid("--interval must be 1 to 86400 seconds"), a.json));
    }
    let names = (!a.profiles.is_empty()).then_some(a.profiles);
    if !a.once {
        eprintln!("sampling every {} s into the history file; Ctrl-C stops", a.interval);
        tokio::select! {
            _ = service.run_sampler(Duration::from_secs(a.interval), names, false) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        return Ok(ExitCode::SUCCESS);
    }
    let interval = Duration::from_secs(a.interval);
    service.run_sampler(interval, names, true).await;
    let status = match service.sampler_status().await {
        Ok(s) => s,
        Err(e) => return Ok(report(&e, a.json)),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        for p in &status.profiles {
            match &p.last_error {
                None => {
                    println!("{}: sampled {} ({} samples stored)", term(&p.profile), p.sources.join(", "), p.samples)
                }
                Some(e) => println!("{}: {} ({} samples stored)", term(&p.profile), term(e), p.samples),
            }
        }
        if status.profiles.is_empty() {
            println!("nothing to sample: no saved profile has a Redis or PostgreSQL URL");
        }
    }
    let failed = status.profiles.iter().any(|p| p.last_error.is_some());
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
