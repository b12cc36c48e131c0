//! `simba-tuner`: the command-line surface. Every read command takes `--json` and prints what the
//! desktop app shows, computed by the same facade (`simba_core::Service`).

mod advisor;
mod bench;
mod bench_monitor;
mod bench_query;
mod cache;
mod cluster;
mod history;
mod judge;
mod monitor;
mod output;
mod query;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use simba_core::api::StatusRequest;
use simba_core::profiles::{ProfileInput, ResolvedProfile, Service as Svc};
use simba_core::{ApiError, Service};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "simba-tuner",
    version,
    about = "Monitor, tune and test an AI data platform's caches, databases and queues"
)]
struct Cli {
    /// Where the semantic cache keeps its entries: `embedded` (default), a redis:// or postgres://
    /// URL, or redis@PROFILE / postgres@PROFILE. Also read from SIMBA_CACHE_STORE.
    #[arg(long, global = true)]
    cache_store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Host, local engine, Redis and PostgreSQL figures for a profile (or for URLs given here).
    Status(StatusArgs),
    /// Redis in depth: memory, hit rates, slow log, clients, memory by key prefix.
    Redis(monitor::RedisArgs),
    /// Celery queues on the Redis broker: depths, task names, in-flight messages, workers.
    Queues(monitor::QueuesArgs),
    /// Prometheus: instant and range PromQL queries, and the profile's panels.
    #[command(subcommand)]
    Prom(cluster::PromCommand),
    /// Kubernetes: pod and node usage (metrics.k8s.io), HPAs, Deployments' requests and limits against usage.
    #[command(subcommand)]
    K8s(cluster::K8sCommand),
    /// PostgreSQL in depth: statements, settings, sessions and locks, tables, indexes, pgvector.
    Db(monitor::DbArgs),
    /// EXPLAIN (ANALYZE, BUFFERS) one read-only statement in a rolled-back READ ONLY transaction.
    Explain(monitor::ExplainArgs),
    /// Findings with evidence and a fix for a profile's Redis, PostgreSQL and semantic cache.
    Advise(advisor::AdviseArgs),
    /// One-click fixes: preview (exact commands, live before values), apply with its token, rollback.
    #[command(subcommand)]
    Action(advisor::ActionCommand),
    /// Fix one finding of `advise` with its own action: --dry-run shows what would run, --yes applies it.
    Apply(advisor::ApplyFindingArgs),
    /// Undo an applied action by its audit entry's id: --dry-run shows what would run, --yes rolls back.
    Rollback(advisor::RollbackEntryArgs),
    /// The audit log of applied actions and rollbacks.
    Audit(advisor::AuditArgs),
    /// History of a profile's Redis or PostgreSQL from the local store: last, min, avg, max.
    History(history::HistoryArgs),
    /// Export a history chart as SVG, PNG or CSV.
    Chart(history::ChartArgs),
    /// Alert rules evaluated over the stored history: firing, ok or not enough data.
    Alerts(history::AlertsArgs),
    /// Show a profile's alert rules, or change one with `alert-rules set`.
    AlertRules(history::AlertRulesArgs),
    /// Run the sampler that fills the history (every saved profile, or those named).
    Sample(history::SampleArgs),
    /// List, add or remove connection profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Serve the app's UI and API over HTTP on 127.0.0.1 (for a browser or a headless server).
    Serve(ServeArgs),
    /// The local semantic cache: stats, lookups, stores, invalidation, eval of labelled pairs.
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Ask one question as the platform would: session cache, semantic cache, then the chat model
    /// (the local SmolLM2 unless SIMBA_LLM names a provider), with the whole decision trace.
    Query(query::QueryArgs),
    /// Replay a query log (CSV or JSON Lines) through the engine: hit rate, false hits, latency,
    /// cost; give two thresholds to compare setups side by side.
    Replay(query::ReplayArgs),
    /// Run one read-only statement on a profile's PostgreSQL through the query-results cache.
    Sql(query::SqlArgs),
    /// Send one job to the platform's Celery workers (protocol 2 on llm/data/vector_queue) and wait for its result.
    Task(query::TaskArgs),
    /// Measure the engine (see docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The judge that reads a query and a cached question together: train its adapter, score pairs.
    #[command(subcommand)]
    Judge(judge::JudgeCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Vector lookup latency and recall at several sizes; embedding latency and throughput.
    Cache(bench::BenchArgs),
    /// The query path: the local model's speed (beside llama.cpp), a cached answer end to end, replay throughput.
    Query(bench_query::QueryBenchArgs),
    /// One refresh of the Redis and Database pages (time, commands sent); memory-by-prefix sampling of a large keyspace.
    Monitor(bench_monitor::MonitorBenchArgs),
}

#[derive(Args)]
struct StatusArgs {
    /// Profile name (see `simba-tuner profile list`); default `embedded`.
    #[arg(long, conflicts_with_all = ["redis", "postgres"])]
    profile: Option<String>,
    /// Redis URL to inspect without a profile, e.g. redis://127.0.0.1:6379/0
    #[arg(long)]
    redis: Option<String>,
    /// PostgreSQL URL to inspect without a profile, e.g. postgres://user@127.0.0.1/db
    #[arg(long)]
    postgres: Option<String>,
    /// How many top statements to list.
    #[arg(long, default_value_t = 10)]
    top: u32,
    /// Take two samples this many seconds apart, so rates over the interval are filled in.
    #[arg(long)]
    interval: Option<f64>,
    /// Print JSON (schema: docs/cli.md).
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ProfileCommand {
    /// List profiles (secrets redacted).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add or replace a profile. Passwords in URLs are moved to the private secrets file.
    Add(ProfileAddArgs),
    /// Remove a saved profile and its secrets.
    Remove { name: String },
}

#[derive(Args)]
struct ProfileAddArgs {
    name: String,
    #[arg(long)]
    read_only: bool,
    #[arg(long)]
    redis: Option<String>,
    #[arg(long)]
    postgres: Option<String>,
    #[arg(long)]
    prometheus: Option<String>,
    #[arg(long)]
    kubernetes: Option<String>,
    /// Kubernetes bearer token (read from this environment variable rather than the command line).
    #[arg(long, env = "SIMBA_KUBERNETES_TOKEN", hide_env_values = true)]
    kubernetes_token: Option<String>,
    #[arg(long)]
    celery_broker: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8650)]
    port: u16,
    /// Address to bind. Anything but loopback exposes the API to the network: think twice.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The built UI folder (default: $SIMBA_UI_DIR or the repository's ui/dist).
    #[arg(long)]
    ui_dir: Option<PathBuf>,
    /// Use this token instead of a random one (from the environment, so it stays out of `ps`);
    /// at least 32 characters, e.g. `openssl rand -hex 16`.
    #[arg(long, env = "SIMBA_SERVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Accept this Host header too (NAME on the bound port, or NAME:PORT), e.g. behind a reverse
    /// proxy or an SSH tunnel; by default only localhost, 127.0.0.1, [::1] and the bound address.
    #[arg(long, value_name = "NAME[:PORT]")]
    allow_host: Vec<String>,
    /// Connections served at once; more are answered 503.
    #[arg(long, default_value_t = simba_server::Limits::default().max_connections)]
    max_connections: usize,
    /// Seconds a client has to send a request's headers; also how long an idle connection stays open.
    #[arg(long, value_name = "SECS", default_value_t = simba_server::Limits::default().header_timeout.as_secs_f64())]
    header_timeout: f64,
    /// Refuse every command that writes (profiles, caches, monitored systems): a window to look, not to change.
    #[arg(long)]
    read_only: bool,
    /// Seconds a client has to send a request's body.
    #[arg(long, value_name = "SECS", default_value_t = simba_server::Limits::default().body_timeout.as_secs_f64())]
    body_timeout: f64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SIMBA_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", output::term_lines(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Prints an API error the way a person (or, with --json, a program) wants it.
fn report(e: &ApiError, json: bool) -> ExitCode {
    if json {
        println!("{}", serde_json::json!({ "error": e }));
    }
    eprintln!("error: {}", output::term_lines(&e.message));
    match e.code {
        simba_core::ErrorCode::InvalidInput | simba_core::ErrorCode::NotFound => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let store = cli.cache_store.clone().or_else(|| std::env::var("SIMBA_CACHE_STORE").ok());
    let service = Service::open_with_store(store.as_deref()).map_err(|e| anyhow::anyhow!(e.message))?;
    match cli.command {
        Command::Status(args) => {
            let profile = match (&args.redis, &args.postgres) {
                (None, None) => {
                    service.resolve_profile(args.profile.as_deref().unwrap_or(simba_core::profiles::EMBEDDED))
                }
                _ => {
                    let mut urls = vec![];
                    if let Some(u) = &args.redis {
                        urls.push((Svc::Redis, u.as_str()));
                    }
                    if let Some(u) = &args.postgres {
                        urls.push((Svc::Postgres, u.as_str()));
                    }
                    ResolvedProfile::ad_hoc(&urls)
                }
            };
            let profile = match profile {
                Ok(p) => p,
                Err(e) => return Ok(report(&e, args.json)),
            };
            let top = args.top.clamp(1, 100) as i64;
            let mut result = service.status_of(&profile, top).await;
            if let (Some(secs), Ok(_)) = (args.interval, &result) {
                tokio::time::sleep(std::time::Duration::from_secs_f64(secs.clamp(0.1, 3600.0))).await;
                result = service.status_of(&profile, top).await;
            }
            match result {
                Ok(report) if args.json => println!("{}", serde_json::to_string_pretty(&report)?),
                Ok(report) => print!("{}", output::status_text(&report)),
                Err(e) => return Ok(report(&e, args.json)),
            }
            let _ = StatusRequest::default();
        }
        Command::Profile(ProfileCommand::List { json }) => match service.list_profiles() {
            Ok(list) if json => println!("{}", serde_json::to_string_pretty(&list)?),
            Ok(list) => print!("{}", output::profiles_text(&list)),
            Err(e) => return Ok(report(&e, json)),
        },
        Command::Profile(ProfileCommand::Add(a)) => {
            let input = ProfileInput {
                name: a.name,
                read_only: a.read_only,
                redis_url: a.redis,
                postgres_url: a.postgres,
                prometheus_url: a.prometheus,
                kubernetes_url: a.kubernetes,
                kubernetes_token: a.kubernetes_token,
                celery_broker_url: a.celery_broker,
            };
            match service.save_profile(input) {
                Ok(view) => print!("saved\n{}", output::profiles_text(&[view])),
                Err(e) => return Ok(report(&e, false)),
            }
        }
        Command::Profile(ProfileCommand::Remove { name }) => match service.delete_profile(&name) {
            Ok(()) => println!("removed profile '{name}'"),
            Err(e) => return Ok(report(&e, false)),
        },
        Command::Advise(args) => return advisor::advise(&service, args).await,
        Command::Action(cmd) => return advisor::action(&service, cmd).await,
        Command::Apply(args) => return advisor::apply_finding(&service, args).await,
        Command::Rollback(args) => return advisor::rollback(&service, args).await,
        Command::Audit(args) => return advisor::audit(&service, args),
        Command::Cache(cmd) => return cache::run(&service, cmd).await,
        Command::Redis(args) => return monitor::redis(&service, args).await,
        Command::Queues(args) => return monitor::queues(&service, args).await,
        Command::Prom(cmd) => return cluster::prom(&service, cmd).await,
        Command::K8s(cmd) => return cluster::k8s(&service, cmd).await,
        Command::Db(args) => return monitor::db(&service, args).await,
        Command::Explain(args) => return monitor::explain(&service, args).await,
        Command::History(args) => return history::history(&service, args).await,
        Command::Chart(args) => return history::chart(&service, args).await,
        Command::Alerts(args) => return history::alerts(&service, args).await,
        Command::AlertRules(args) => return history::alert_rules(&service, args).await,
        Command::Sample(args) => return history::sample(&service, args).await,
        Command::Bench(BenchCommand::Cache(args)) => return bench::run(&service, args).await,
        Command::Bench(BenchCommand::Query(args)) => return bench_query::run(&service, args).await,
        Command::Bench(BenchCommand::Monitor(args)) => return bench_monitor::run(&service, args).await,
        Command::Judge(cmd) => return judge::run(cmd),
        Command::Query(args) => return query::query(&service, args).await,
        Command::Replay(args) => return query::replay(&service, args).await,
        Command::Sql(args) => return query::sql(&service, args).await,
        Command::Task(args) => return query::task(&service, args).await,
        Command::Serve(args) => {
            let token = args.token.unwrap_or_else(simba_server::new_token);
            if let Err(e) = simba_server::check_token(&token) {
                return Ok(report(&ApiError::invalid(e), false));
            }
            let secs = |name: &str, v: f64| match v {
                v if v.is_finite() && (0.1..=86_400.0).contains(&v) => Ok(std::time::Duration::from_secs_f64(v)),
                _ => Err(ApiError::invalid(format!("--{name} must be between 0.1 and 86400 seconds"))),
            };
            let limits = match (secs("header-timeout", args.header_timeout), secs("body-timeout", args.body_timeout)) {
                (Ok(header_timeout), Ok(body_timeout)) => simba_server::Limits {
                    max_connections: args.max_connections.max(1),
                    header_timeout,
                    body_timeout,
                    ..Default::default()
                },
                (Err(e), _) | (_, Err(e)) => return Ok(report(&e, false)),
            };
            if !args.bind.is_loopback() {
                eprintln!(
                    "warning: binding {} exposes the API beyond this machine over plain HTTP: the token and every \
                     answer cross the network unencrypted, and the token is the API's only guard. Prefer the \
                     default 127.0.0.1 with an SSH tunnel, or a TLS proxy in front.",
                    args.bind
                );
            }
            if args.read_only {
                service.make_read_only();
            }
            let ui_dir = args.ui_dir.or_else(simba_server::default_ui_dir);
            if ui_dir.is_none() {
                eprintln!("note: no built UI found (run `cd ui && npm ci && npm run build`); serving the API only");
            }
            let options = simba_server::ServeOptions {
                addr: SocketAddr::new(args.bind, args.port),
                ui_dir,
                token: token.clone(),
                limits,
                allowed_hosts: args.allow_host,
            };
            simba_server::serve(service, options, |addr| {
                println!("Simba Tuner is serving on http://{addr}/?token={token}");
                println!(
                    "API: POST http://{addr}/api/call/<command> with 'Authorization: Bearer <token>'. Ctrl-C stops."
                );
            })
            .await
            .context("serve")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
