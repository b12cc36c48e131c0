//! `simba-tuner advise`, `action preview|apply|rollback` and `audit`: findings and their
//! one-click fixes, each shown before it runs.

use crate::output::term;
use crate::report;
use clap::{Args, Subcommand};
use simba_core::advisor::{AdviceReport, Fix, RuleState};
use simba_core::api::advisor::AdviseRequest;
use simba_core::Service;
use std::fmt::Write;
use std::process::ExitCode;

#[derive(Args)]
pub struct AdviseArgs {
    /// Profile name (see `simba-tuner profile list`); default `embedded`.
    #[arg(long)]
    profile: Option<String>,
    /// Print JSON (schema: docs/advisor.md).
    #[arg(long)]
    json: bool,
}

pub async fn advise(service: &Service, args: AdviseArgs) -> anyhow::Result<ExitCode> {
    match service.advise(AdviseRequest { profile: args.profile }).await {
        Ok(r) if args.json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => print!("{}", advice_text(&r)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn advice_text(r: &AdviceReport) -> String {
    let mut o = String::new();
    let roles =
        if r.redis_roles.is_empty() { String::new() } else { format!("; Redis roles: {}", r.redis_roles.join(", ")) };
    let _ = writeln!(o, "advice for profile '{}' at {}{roles}", term(&r.profile), r.collected_at);
    for p in &r.problems {
        let _ = writeln!(o, "problem   {}", term(p));
    }
    if r.findings.is_empty() {
        let _ = writeln!(o, "no findings");
    }
    for f in &r.findings {
        let _ = writeln!(o, "\n[{:?}] {}  ({})", f.severity, term(&f.title), term(&f.id));
        for e in &f.evidence {
            let unit = e.unit.as_deref().map(|u| format!(" {}", term(u))).unwrap_or_default();
            let _ = writeln!(o, "  {}: {}{unit}", term(&e.name), term(&e.value));
        }
        let _ = writeln!(o, "  why: {}", term(&f.why));
        let _ = writeln!(o, "  source: {}", term(&f.source));
        match &f.fix {
            Fix::Action { action, params, summary } => {
                let params: String = params.iter().map(|(k, v)| format!(" --param {}={}", term(k), term(v))).collect();
                let _ = writeln!(o, "  fix: {}", term(summary));
                let _ =
                    writeln!(o, "       simba-tuner action preview {action}{params} --profile {}", term(&r.profile));
            }
            Fix::Advice { text } => {
                let _ = writeln!(o, "  advice: {}", term(text));
            }
        }
    }
    let count = |s: RuleState| r.rules.iter().filter(|x| x.state == s).count();
    let _ = writeln!(
        o,
        "\n{} rules: {} ok, {} with findings, {} without enough data",
        r.rules.len(),
        count(RuleState::Ok),
        count(RuleState::Finding),
        count(RuleState::NotEnoughData)
    );
    o
}
