//! `simba-tuner bench monitor`: what one refresh of the Redis and Database pages costs (time, and
//! commands or transactions sent to the server), and the memory-by-prefix sample on a large
//! keyspace against its budget, beside `redis-cli --memkeys` (a full scan with MEMORY USAGE, what
//! RedisInsight's analysis does) on the same keyspace. Only reads. Figures go to docs/BENCHMARKS.md.

use crate::monitor::profile_for;
use anyhow::Context;
use clap::Args;
use simba_core::profiles::Service as Svc;
use simba_core::sources::postgres_report::DbReportOptions;
use simba_core::sources::redis_report::SampleBudget;
use simba_core::Service;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct MonitorBenchArgs {
    /// Redis to refresh (a harness server: nothing is written).
    #[arg(long)]
    redis: Option<String>,
    /// PostgreSQL to refresh.
    #[arg(long)]
    postgres: Option<String>,
    /// Refreshes measured per server (after one to warm up).
    #[arg(long, default_value_t = 30)]
    refreshes: u32,
    /// A Redis with a large keyspace for the memory-by-prefix sample (e.g. 1M keys in db 0).
    #[arg(long)]
    sample_redis: Option<String>,
    /// Also time `redis-cli --memkeys` on --sample-redis (a full scan).
    #[arg(long)]
    peer: bool,
    /// A saved profile whose Celery broker, Prometheus and Kubernetes API to refresh as the
    /// sampler and the Cluster page do (each part it has).
    #[arg(long)]
    cluster_profile: Option<String>,
    #[arg(long)]
    json: bool,
}

/// Milliseconds at the given quantile of sorted samples.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn summary(mut ms: Vec<f64>, per_refresh: Vec<f64>, unit: &str) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let mut sent = per_refresh;
    sent.sort_by(f64::total_cmp);
    serde_json::json!({
        "refreshes": ms.len(),
        "p50_ms": quantile(&ms, 0.5),
        "p95_ms": quantile(&ms, 0.95),
        "max_ms": ms.last().copied().unwrap_or(f64::NAN),
        unit: { "min": sent.first(), "max": sent.last() },
    })
}

/// A server-side counter read on a connection of the bench's own (INFO stats / pg_stat_database).
async fn redis_commands(url: &str) -> anyhow::Result<f64> {
    let client = redis::Client::open(url)?;
    let mut c = client.get_multiplexed_async_connection().await?;
    let info: String = redis::cmd("INFO").arg("stats").query_async(&mut c).await?;
    info.lines()
        .find_map(|l| l.trim().strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .context("INFO stats has no total_commands_processed")
}

async fn pg_transactions(url: &str) -> anyhow::Result<f64> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await?;
    let n: i64 = sqlx::query_scalar("SELECT sum(xact_commit + xact_rollback)::bigint FROM pg_stat_database")
        .fetch_one(&mut c)
        .await?;
    let _ = c.close().await;
    Ok(n as f64)
}

/// One warm-up refresh, then `n` timed ones, each between two reads of the server's own counter;
/// `own` is what those reads add themselves.
async fn measure<R, RF, C, CF>(
    n: u32,
    own: f64,
    unit: &str,
    refresh: R,
    counter: C,
) -> anyhow::Result<serde_json::Value>
where
    R: Fn() -> RF,
    RF: std::future::Future<Output = simba_core::ApiResult<()>>,
    C: Fn() -> CF,
    CF: std::future::Future<Output = anyhow::Result<f64>>,
{
    refresh().await.map_err(|e| anyhow::anyhow!(e.message))?;
    let (mut ms, mut sent) = (vec![], vec![]);
    for _ in 0..n {
        let before = counter().await?;
        let t = Instant::now();
        refresh().await.map_err(|e| anyhow::anyhow!(e.message))?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        sent.push(counter().await? - before - own);
    }
    Ok(summary(ms, sent, unit))
}

pub async fn run(service: &Service, args: MonitorBenchArgs) -> anyhow::Result<ExitCode> {
    let mut report = serde_json::Map::new();
    if let Some(url) = &args.redis {
        let profile = profile_for(service, None, Some((Svc::Redis, url))).map_err(|e| anyhow::anyhow!(e.message))?;
        let refresh = || async { service.redis_report_of(&profile, SampleBudget::default()).await.map(|_| ()) };
        // Not the page's: the first read's INFO (counted once it has run) and the second read's
        // new connection (CLIENT SETINFO lib-name and lib-ver).
        let row = measure(args.refreshes, 3.0, "commands", refresh, || redis_commands(url)).await?;
        report.insert("redis_refresh".into(), row);
    }
    if let Some(url) = &args.postgres {
        let profile = profile_for(service, None, Some((Svc::Postgres, url))).map_err(|e| anyhow::anyhow!(e.message))?;
        let refresh = || async { service.db_report_of(&profile, DbReportOptions::default()).await.map(|_| ()) };
        // The first read's own statement is counted; the second's is still running.
        let row = measure(args.refreshes, 1.0, "transactions", refresh, || pg_transactions(url)).await?;
        report.insert("postgres_refresh".into(), row);
    }
    if let Some(name) = &args.cluster_profile {
        let profile = service.resolve_profile(name).map_err(|e| anyhow::anyhow!(e.message))?;
        report.insert("cluster_refresh".into(), cluster_refresh(service, &profile, args.refreshes).await?);
    }
    if let Some(url) = &args.sample_redis {
        let profile = profile_for(service, None, Some((Svc::Redis, url))).map_err(|e| anyhow::anyhow!(e.message))?;
        let budget = SampleBudget::default();
        let t = Instant::now();
        let r = service.redis_report_of(&profile, budget).await.map_err(|e| anyhow::anyhow!(e.message))?;
        let whole_ms = t.elapsed().as_secs_f64() * 1e3;
        let sample = r.memory_by_prefix.as_ref().context("the report has no key sample")?;
        let mut row = serde_json::json!({
            "keys_in_db": sample.keys_in_db,
            "keys_sampled": sample.keys_sampled,
            "stopped_by": sample.stopped_by,
            "sample_ms": sample.elapsed_ms,
            "report_ms": whole_ms,
            "budget": { "keys": budget.max_keys, "ms": budget.max_time.as_millis() as u64 },
            "prefixes": sample.prefixes.iter().map(|p| serde_json::json!({
                "prefix": p.prefix, "estimated_keys": p.estimated_keys, "estimated_bytes": p.estimated_bytes,
            })).collect::<Vec<_>>(),
        });
        if args.peer {
            row["redis_cli_memkeys"] = memkeys(url)?;
        }
        report.insert("prefix_sample".into(), row);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::Value::Object(report))?);
    } else {
        for (k, v) in &report {
            println!("{k}: {}", serde_json::to_string_pretty(v)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One refresh of the cluster's sources, all at once as the sampler and the page run them: the
/// broker's sample (SCAN, one LLEN pipeline, HLEN, ZRANGE), the Kubernetes sample (HPAs,
/// Deployments, pod metrics) and the Prometheus panels (one range query each). Times per part and
/// for the whole.
async fn cluster_refresh(
    service: &Service,
    profile: &simba_core::profiles::ResolvedProfile,
    n: u32,
) -> anyhow::Result<serde_json::Value> {
    use simba_core::history::collect;
    let limit = Duration::from_secs(5);
    let once = || async {
        let t = Instant::now();
        let broker = profile.endpoint(Svc::CeleryBroker);
        let kube = profile.endpoint(Svc::Kubernetes);
        let has_prom = profile.endpoint(Svc::Prometheus).is_some();
        let (b, k, p) = tokio::join!(
            timed(broker.map(|e| async move { collect::celery(e, limit, None).await.map(drop) })),
            timed(kube.map(|e| async move { collect::kubernetes(e, &profile.name, limit).await.map(drop) })),
            timed(has_prom.then_some(async { service.prom_panels_of(profile, None).await.map(drop) })),
        );
        let whole = t.elapsed().as_secs_f64() * 1e3;
        let part = |r: Option<simba_core::ApiResult<f64>>| r.transpose().map_err(|e| anyhow::anyhow!(e.message));
        anyhow::Ok([Some(whole), part(b)?, part(k)?, part(p)?])
    };
    once().await?;
    // Per refresh: the whole, then the broker, Kubernetes and Prometheus parts (None: not in the profile).
    let mut rows: Vec<[Option<f64>; 4]> = vec![];
    for _ in 0..n {
        rows.push(once().await?);
    }
    let stats = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        serde_json::json!({ "p50_ms": quantile(&v, 0.5), "p95_ms": quantile(&v, 0.95), "max_ms": v.last() })
    };
    let column = |i: usize| -> Option<serde_json::Value> {
        let v: Vec<f64> = rows.iter().filter_map(|r| r[i]).collect();
        (!v.is_empty()).then(|| stats(v))
    };
    Ok(serde_json::json!({
        "refreshes": rows.len(),
        "whole": column(0),
        "broker": column(1),
        "kubernetes": column(2),
        "prometheus_panels": column(3),
    }))
}

/// How long `part` takes, when there is one.
async fn timed(
    part: Option<impl std::future::Future<Output = simba_core::ApiResult<()>>>,
) -> Option<simba_core::ApiResult<f64>> {
    let t = Instant::now();
    Some(part?.await.map(|_| t.elapsed().as_secs_f64() * 1e3))
}

/// `redis-cli --memkeys` on the same server: its wall time (it reads every key).
fn memkeys(url: &str) -> anyhow::Result<serde_json::Value> {
    let t = Instant::now();
    let out = std::process::Command::new("redis-cli")
        .args(["-u", url, "--memkeys"])
        .output()
        .context("redis-cli not found (needed for --peer)")?;
    let took = t.elapsed();
    anyhow::ensure!(out.status.success(), "redis-cli --memkeys failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let scanned = text.lines().find(|l| l.contains("Sampled") && l.contains("keys")).unwrap_or("").trim().to_string();
    Ok(serde_json::json!({ "seconds": Duration::as_secs_f64(&took), "summary": scanned }))
}
