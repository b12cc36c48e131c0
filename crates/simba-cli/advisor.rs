//! `simba-tuner advise`, `action preview|apply|rollback` and `audit`: findings and their
//! one-click fixes, each shown before it runs.

use crate::output::term;
use crate::report;
use clap::{Args, Subcommand};
use simba_core::advisor::actions::ActionPreview;
use simba_core::advisor::audit::{AuditEntry, Outcome};
use simba_core::advisor::{AdviceReport, Fix, RuleState};
use simba_core::api::advisor::{ActionRequest, AdviseRequest, AuditLogRequest, RollbackRequest};
use simba_core::{ApiError, Service};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::IsTerminal;
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

#[derive(Subcommand)]
pub enum ActionCommand {
    /// Show exactly what an action would run, with the current values read live and a confirm token.
    Preview(PreviewArgs),
    /// Run a previewed action (`--confirm TOKEN`; without it, shows the preview and asks on a terminal).
    Apply(ApplyArgs),
    /// Undo an applied action from its audit entry (previewed and confirmed the same way).
    Rollback(RollbackArgs),
}

#[derive(Args)]
pub struct PreviewArgs {
    /// Action id: redis.config_set, pg.alter_system, pg.create_vector_index, pg.drop_index.
    #[arg(required_unless_present = "rollback_of")]
    action: Option<String>,
    /// Preview the rollback of this audit entry instead (its token is what `action rollback --confirm` takes).
    #[arg(long, conflicts_with_all = ["action", "params"])]
    rollback_of: Option<String>,
    /// Profile name.
    #[arg(long)]
    profile: String,
    /// A parameter as key=value (repeatable), e.g. --param name=maxmemory --param value=256mb.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ApplyArgs {
    action: String,
    #[arg(long)]
    profile: String,
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// The preview's confirm token.
    #[arg(long)]
    confirm: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RollbackArgs {
    /// The audit entry's id (see `simba-tuner audit`).
    audit_id: String,
    /// Profile name (default: the entry's).
    #[arg(long)]
    profile: Option<String>,
    /// The rollback preview's confirm token.
    #[arg(long)]
    confirm: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AuditArgs {
    /// Only this profile's entries.
    #[arg(long)]
    profile: Option<String>,
    #[arg(long)]
    json: bool,
}

fn parse_params(raw: &[String]) -> Result<BTreeMap<String, String>, ApiError> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| ApiError::invalid(format!("--param '{p}' is not KEY=VALUE")))
        })
        .collect()
}

fn preview_text(p: &ActionPreview) -> String {
    let mut o = String::new();
    let what = match &p.rollback_of {
        Some(id) => format!("rollback of {} ({})", term(id), term(&p.action)),
        None => term(&p.action).into_owned(),
    };
    let _ = writeln!(o, "{what} on profile '{}' at {}", term(&p.profile), term(&p.target));
    let _ = writeln!(o, "will run:");
    for s in &p.statements {
        let _ = writeln!(o, "  {}", term(s));
    }
    for c in &p.changes {
        let _ = writeln!(o, "{}: now {}  ->  {}", term(&c.name), term(&c.before), term(&c.after));
    }
    for n in &p.notes {
        let _ = writeln!(o, "note: {}", term(n));
    }
    let _ = writeln!(o, "confirm token: {}", p.confirm_token);
    o
}

fn entry_text(e: &AuditEntry) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}  {}  {:?}  {} on '{}' ({}){}{}",
        e.id,
        e.at,
        e.outcome,
        term(&e.action),
        term(&e.profile),
        term(&e.target),
        e.rollback_of.as_deref().map(|r| format!(", rollback of {r}")).unwrap_or_default(),
        e.rolled_back_by.as_deref().map(|r| format!(", rolled back by {r}")).unwrap_or_default(),
    );
    for s in &e.statements {
        let _ = writeln!(o, "    ran: {}", term(s));
    }
    for c in &e.changes {
        let _ = writeln!(o, "    {}: {}  ->  {}", term(&c.name), term(&c.before), term(&c.after));
    }
    if let Some(m) = &e.message {
        let _ = writeln!(o, "    {}", term(m));
    }
    o
}

/// Asks y/N on a terminal; refuses without one (a script must pass --confirm).
fn ask(preview: &ActionPreview) -> Result<bool, ApiError> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(ApiError::invalid(format!(
            "no terminal to confirm on: pass --confirm {} after reading the preview (simba-tuner action preview …)",
            preview.confirm_token
        )));
    }
    eprint!("{}apply this? [y/N] ", preview_text(preview));
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn print_entry(e: &AuditEntry, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(e)?);
    } else {
        print!("{}", entry_text(e));
    }
    Ok(if e.outcome == Outcome::Applied { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub async fn action(service: &Service, cmd: ActionCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ActionCommand::Preview(a) => {
            let params = match parse_params(&a.params) {
                Ok(p) => p,
                Err(e) => return Ok(report(&e, a.json)),
            };
            let req = ActionRequest {
                profile: a.profile,
                action: a.action.unwrap_or_default(),
                params,
                rollback_of: a.rollback_of,
                confirm: None,
            };
            match service.action_preview(req).await {
                Ok(p) if a.json => println!("{}", serde_json::to_string_pretty(&p)?),
                Ok(p) => print!("{}", preview_text(&p)),
                Err(e) => return Ok(report(&e, a.json)),
            }
            Ok(ExitCode::SUCCESS)
        }
        ActionCommand::Apply(a) => {
            let params = match parse_params(&a.params) {
                Ok(p) => p,
                Err(e) => return Ok(report(&e, a.json)),
            };
            let req = ActionRequest { profile: a.profile, action: a.action, params, ..Default::default() };
            let how = a.confirm.map(Confirm::Token).unwrap_or(Confirm::Ask);
            apply_request(service, req, how, a.json).await
        }
        ActionCommand::Rollback(a) => {
            let how = a.confirm.map(Confirm::Token).unwrap_or(Confirm::Ask);
            rollback_entry(service, a.profile, a.audit_id, how, a.json).await
        }
    }
}

/// How a change is confirmed.
enum Confirm {
    /// A preview's token, read by a person or a script beforehand.
    Token(String),
    /// `--yes`: preview now and apply what was previewed.
    Yes,
    /// `--dry-run`: show the preview, change nothing.
    DryRun,
    /// Ask on the terminal (refused without one).
    Ask,
}

impl Confirm {
    /// `--dry-run`, `--yes`, or neither (ask); clap keeps the two apart.
    fn from_flags(dry_run: bool, yes: bool) -> Confirm {
        if dry_run {
            Confirm::DryRun
        } else if yes {
            Confirm::Yes
        } else {
            Confirm::Ask
        }
    }
}

/// After the preview: run with this token, or stop here.
enum Next {
    Run(String),
    Stop(ExitCode),
}

fn confirmed(preview: &ActionPreview, how: Confirm, json: bool) -> anyhow::Result<Next> {
    Ok(match how {
        Confirm::Token(t) => Next::Run(t),
        Confirm::Yes => Next::Run(preview.confirm_token.clone()),
        Confirm::DryRun => {
            if json {
                println!("{}", serde_json::to_string_pretty(preview)?);
            } else {
                print!("{}", preview_text(preview));
            }
            Next::Stop(ExitCode::SUCCESS)
        }
        Confirm::Ask => match ask(preview) {
            Ok(true) => Next::Run(preview.confirm_token.clone()),
            Ok(false) => {
                eprintln!("nothing changed");
                Next::Stop(ExitCode::FAILURE)
            }
            Err(e) => Next::Stop(report(&e, json)),
        },
    })
}

/// The token to run `req` with: the one given, or the preview's once `how` confirms it. Read-only
/// profiles are refused before anything is shown or asked (a dry run may look).
async fn token(service: &Service, req: ActionRequest, how: Confirm, json: bool) -> anyhow::Result<Next> {
    if let Confirm::Token(t) = how {
        return Ok(Next::Run(t));
    }
    if !matches!(how, Confirm::DryRun) {
        if let Err(e) = service.resolve_profile(&req.profile).and_then(|p| service.ensure_writable(&p)) {
            return Ok(Next::Stop(report(&e, json)));
        }
    }
    match service.action_preview(req).await {
        Ok(preview) => confirmed(&preview, how, json),
        Err(e) => Ok(Next::Stop(report(&e, json))),
    }
}

async fn apply_request(
    service: &Service,
    mut req: ActionRequest,
    how: Confirm,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let confirm = match token(service, req.clone(), how, json).await? {
        Next::Run(token) => token,
        Next::Stop(code) => return Ok(code),
    };
    req.confirm = Some(confirm);
    let progress = show_progress(req.profile.clone());
    let applied = service.action_apply(req).await;
    progress.abort();
    match applied {
        Ok(e) => print_entry(&e, json),
        Err(e) => Ok(report(&e, json)),
    }
}

/// Prints on stderr what a running action of `profile` is doing whenever that changes (an index
/// build's phase and share done), after the first second: quick actions print nothing.
fn show_progress(profile: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            for p in simba_core::advisor::actions::progress::running(Some(&profile)) {
                if p.elapsed_seconds < 1.0 {
                    continue;
                }
                let counted = match (p.done, p.total, &p.unit, p.percent) {
                    (Some(d), Some(t), Some(u), Some(pc)) => format!(" {pc:.0}% ({d} of {t} {u})"),
                    _ => String::new(),
                };
                let line = format!("{}: {}{counted}", p.action, p.phase);
                if line != last {
                    eprintln!("  {line}, {:.0} s", p.elapsed_seconds);
                    last = line;
                }
            }
        }
    })
}

async fn rollback_entry(
    service: &Service,
    profile: Option<String>,
    audit_id: String,
    how: Confirm,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let profile = match profile {
        Some(p) => p,
        None => match service.audit_log(AuditLogRequest::default()) {
            Ok(list) => match list.into_iter().find(|e| e.id == audit_id) {
                Some(e) => e.profile,
                None => return Ok(report(&ApiError::not_found(format!("no audit entry '{audit_id}'")), json)),
            },
            Err(e) => return Ok(report(&e, json)),
        },
    };
    let req = ActionRequest { profile: profile.clone(), rollback_of: Some(audit_id.clone()), ..Default::default() };
    let confirm = match token(service, req, how, json).await? {
        Next::Run(token) => token,
        Next::Stop(code) => return Ok(code),
    };
    let progress = show_progress(profile.clone());
    let rolled_back = service.action_rollback(RollbackRequest { profile, audit_id, confirm }).await;
    progress.abort();
    match rolled_back {
        Ok(e) => print_entry(&e, json),
        Err(e) => Ok(report(&e, json)),
    }
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("how").args(["dry_run", "yes"]))]
pub struct ApplyFindingArgs {
    /// The finding's id, as `simba-tuner advise` gives it (e.g. redis.maxmemory_unset).
    finding_id: String,
    #[arg(long)]
    profile: String,
    /// Show exactly what would run, with the live before values; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply what the preview shows without asking (the preview is made and checked in the same run).
    #[arg(long)]
    yes: bool,
    /// Print JSON: the preview (--dry-run) or the audit entry, whose `id` rollback takes.
    #[arg(long)]
    json: bool,
}

/// `simba-tuner apply FINDING_ID`: the finding's own fix, previewed, then applied.
pub async fn apply_finding(service: &Service, args: ApplyFindingArgs) -> anyhow::Result<ExitCode> {
    let req = match service.finding_action(&args.profile, &args.finding_id).await {
        Ok(r) => r,
        Err(e) => return Ok(report(&e, args.json)),
    };
    apply_request(service, req, Confirm::from_flags(args.dry_run, args.yes), args.json).await
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("how").args(["dry_run", "yes"]))]
pub struct RollbackEntryArgs {
    /// The audit entry's id (see `simba-tuner audit`).
    audit_id: String,
    /// Profile name (default: the entry's).
    #[arg(long)]
    profile: Option<String>,
    /// Show the rollback's statements and values; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Roll back without asking.
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

/// `simba-tuner rollback AUDIT_ID`: the entry's before values restored, previewed first.
pub async fn rollback(service: &Service, args: RollbackEntryArgs) -> anyhow::Result<ExitCode> {
    let how = Confirm::from_flags(args.dry_run, args.yes);
    rollback_entry(service, args.profile, args.audit_id, how, args.json).await
}

pub fn audit(service: &Service, args: AuditArgs) -> anyhow::Result<ExitCode> {
    match service.audit_log(AuditLogRequest { profile: args.profile }) {
        Ok(list) if args.json => println!("{}", serde_json::to_string_pretty(&list)?),
        Ok(list) if list.is_empty() => println!("no audit entries"),
        Ok(list) => list.iter().for_each(|e| print!("{}", entry_text(e))),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}
