//! `simba-tuner redis` and `simba-tuner db`: one server in depth.

use crate::output::{bytes, pct};
use crate::report;
use clap::Args;
use simba_core::api::monitor::{DbReportRequest, QueuesReportRequest, RedisReportRequest};
use simba_core::profiles::{ResolvedProfile, Service as Svc};
use simba_core::sources::celery::QueuesReport;
use simba_core::sources::explain::{ExplainReport, PlanNode};
use simba_core::sources::postgres_report::DbReport;
use simba_core::sources::redis_report::RedisReport;
use simba_core::{ApiResult, Service};
use std::fmt::Write;
use std::process::ExitCode;

#[derive(Args)]
pub struct RedisArgs {
    /// Profile name (see `simba-tuner profile list`).
    #[arg(long, conflicts_with = "redis")]
    profile: Option<String>,
    /// Redis URL to inspect without a profile, e.g. redis://user:pw@127.0.0.1:6379/0
    #[arg(long)]
    redis: Option<String>,
    /// How many keys the memory-by-prefix sample may read.
    #[arg(long, default_value_t = 20_000)]
    sample_keys: u32,
    /// How long the sample may take, ms.
    #[arg(long, default_value_t = 2_000)]
    sample_ms: u32,
    /// Take two reports this many seconds apart, so the interval rates are filled in.
    #[arg(long)]
    interval: Option<f64>,
    /// Print JSON (schema: docs/cli.md).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct QueuesArgs {
    /// Profile name (see `simba-tuner profile list`); its Celery broker URL is read.
    #[arg(long, conflicts_with = "broker")]
    profile: Option<String>,
    /// Celery broker URL to inspect without a profile, e.g. redis://127.0.0.1:6379/0
    #[arg(long)]
    broker: Option<String>,
    /// How long to listen for worker heartbeats, s.
    #[arg(long, default_value_t = 2.5)]
    listen: f64,
    /// The broker's visibility_timeout, s (in-flight messages older than this are redelivered).
    #[arg(long, default_value_t = 3600.0)]
    visibility_timeout: f64,
    /// Also ask the workers over the pidbox (ping, active, stats, active_queues); this publishes
    /// control messages.
    #[arg(long)]
    inspect: bool,
    /// Print JSON (schema: docs/cli.md).
    #[arg(long)]
    json: bool,
}

pub async fn queues(service: &Service, args: QueuesArgs) -> anyhow::Result<ExitCode> {
    let profile =
        match profile_for(service, args.profile.as_deref(), args.broker.as_deref().map(|u| (Svc::CeleryBroker, u))) {
            Ok(p) => p,
            Err(e) => return Ok(report(&e, args.json)),
        };
    let req = QueuesReportRequest {
        profile: None,
        listen_millis: Some((args.listen.clamp(0.001, 60.0) * 1000.0) as u32),
        visibility_timeout_seconds: Some(args.visibility_timeout),
        inspect: args.inspect,
    };
    match service.queues_report_of(&profile, &req.options()).await {
        Ok(r) if args.json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => print!("{}", queues_text(&r)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn queues_text(r: &QueuesReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "celery broker {} (db {})   at {}", r.broker, r.db, r.collected_at);
    let _ = writeln!(o, "{:<24} {:>8} {:>10} {:>10}  tasks", "queue", "depth", "rate/s", "wait s");
    for q in &r.queues {
        let tasks = q.task_names.iter().map(|t| format!("{} x{}", t.task, t.count)).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            o,
            "{:<24} {:>8} {:>10} {:>10}  {}",
            q.name,
            q.depth,
            q.net_rate_per_s.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into()),
            q.wait_estimate_seconds.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into()),
            tasks
        );
    }
    let f = &r.in_flight;
    let _ = writeln!(
        o,
        "in flight {} (oldest {} s, visibility_timeout {} s, {} past it)",
        f.count,
        f.oldest_age_seconds.map(|a| format!("{a:.0}")).unwrap_or_else(|| "-".into()),
        f.visibility_timeout_seconds,
        f.past_visibility_timeout
    );
    for w in &r.workers {
        let _ = writeln!(
            o,
            "worker {} {} ({}) active {} processed {} queues [{}]",
            w.hostname,
            if w.alive { "alive" } else { "DEAD" },
            w.state,
            w.active.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            w.processed.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            w.queues.join(", ")
        );
    }
    for f in &r.findings {
        let _ = writeln!(o, "{}: {}", f.severity, f.message);
    }
    o
}

#[derive(Args)]
pub struct DbArgs {
    /// Profile name (see `simba-tuner profile list`).
    #[arg(long, conflicts_with = "postgres")]
    profile: Option<String>,
    /// PostgreSQL URL to inspect without a profile, e.g. postgres://user@127.0.0.1/db
    #[arg(long)]
    postgres: Option<String>,
    /// How many statements in each top list.
    #[arg(long, default_value_t = 10)]
    top: u32,
    /// Active queries running at least this many seconds are listed as long-running.
    #[arg(long, default_value_t = 5.0)]
    long_query_seconds: f64,
    /// Print JSON (schema: docs/cli.md).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// Profile name (see `simba-tuner profile list`).
    #[arg(long, conflicts_with = "postgres")]
    profile: Option<String>,
    /// PostgreSQL URL to use without a profile.
    #[arg(long)]
    postgres: Option<String>,
    /// The statement: one SELECT, WITH, VALUES or TABLE (writes are refused).
    sql: String,
    /// statement_timeout for the run, ms.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u32,
    /// Print JSON (schema: docs/cli.md).
    #[arg(long)]
    json: bool,
}

pub(crate) fn profile_for(
    service: &Service,
    profile: Option<&str>,
    url: Option<(Svc, &str)>,
) -> ApiResult<ResolvedProfile> {
    match url {
        Some(u) => ResolvedProfile::ad_hoc(&[u]),
        None => service.resolve_profile(profile.unwrap_or(simba_core::profiles::EMBEDDED)),
    }
}

pub async fn redis(service: &Service, args: RedisArgs) -> anyhow::Result<ExitCode> {
    let profile = match profile_for(service, args.profile.as_deref(), args.redis.as_deref().map(|u| (Svc::Redis, u))) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e, args.json)),
    };
    let budget =
        RedisReportRequest { profile: None, sample_keys: Some(args.sample_keys), sample_millis: Some(args.sample_ms) }
            .budget();
    let mut result = service.redis_report_of(&profile, budget).await;
    if let (Some(secs), Ok(_)) = (args.interval, &result) {
        tokio::time::sleep(std::time::Duration::from_secs_f64(secs.clamp(0.1, 3600.0))).await;
        result = service.redis_report_of(&profile, budget).await;
    }
    match result {
        Ok(r) if args.json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => print!("{}", redis_text(&r)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn redis_text(r: &RedisReport) -> String {
    let mut o = String::new();
    let m = &r.memory;
    let rep = &r.replication;
    let _ = writeln!(
        o,
        "redis {} ({}, {}), up {} s   at {}",
        r.version, r.mode, rep.role, r.uptime_seconds, r.collected_at
    );
    let _ = writeln!(
        o,
        "memory    {} used, {} rss, peak {}; maxmemory {} ({}), {} of it{}",
        bytes(m.used_memory_bytes),
        bytes(m.used_memory_rss_bytes),
        bytes(m.used_memory_peak_bytes),
        if m.maxmemory_bytes == 0 { "none".into() } else { bytes(m.maxmemory_bytes) },
        m.maxmemory_policy,
        pct(m.used_of_maxmemory),
        match &m.host_limit {
            Some(l) => format!("; {} of this host's {} ({})", pct(m.used_of_host_limit), bytes(l.bytes), l.source),
            None => String::new(),
        }
    );
    let s = &r.stats;
    let _ = writeln!(
        o,
        "stats     hit rate {} lifetime ({} hits, {} misses); {} evicted, {} expired; {} ops/s now",
        pct(s.hit_rate_lifetime),
        s.keyspace_hits,
        s.keyspace_misses,
        s.evicted_keys,
        s.expired_keys,
        s.instantaneous_ops_per_sec
    );
    if let Some(i) = &s.interval {
        let _ = writeln!(
            o,
            "interval  {:.1} s: hit rate {} ({} hits, {} misses), {:.1} ops/s, {:.2} evictions/s, {:.2} expirations/s",
            i.seconds,
            pct(i.hit_rate),
            i.hits,
            i.misses,
            i.ops_per_sec,
            i.evictions_per_sec,
            i.expirations_per_sec
        );
    }
    for d in &r.keyspace {
        let _ =
            writeln!(o, "keyspace  db{}: {} keys, {} with a TTL (avg {} ms)", d.db, d.keys, d.expires, d.avg_ttl_ms);
    }
    let p = &r.persistence;
    let _ = writeln!(
        o,
        "persist   aof {}, {} changes since the last RDB save (status {})",
        if p.aof_enabled { "on" } else { "off" },
        p.rdb_changes_since_last_save,
        p.rdb_last_bgsave_status
    );
    if rep.role == "replica" {
        let _ = writeln!(
            o,
            "replica   of {}:{}, link {}, last contact {} s ago, lag {} bytes",
            rep.master_host.as_deref().unwrap_or("?"),
            rep.master_port.unwrap_or(0),
            rep.master_link_status.as_deref().unwrap_or("?"),
            rep.master_last_io_seconds_ago.unwrap_or(-1),
            rep.lag_bytes.unwrap_or(0)
        );
    }
    for x in &rep.replicas {
        let _ = writeln!(o, "replica   {} {}: lag {} bytes, {} s", x.addr, x.state, x.lag_bytes, x.lag_seconds);
    }
    let conf: Vec<String> = r.config.iter().map(|c| format!("{}={}", c.name, c.value)).collect();
    if !conf.is_empty() {
        let _ = writeln!(o, "config    {}", conf.join("  "));
    }
    for p in
        [&r.config_problem, &r.slowlog_problem, &r.latency_problem, &r.memory_by_prefix_problem].into_iter().flatten()
    {
        let _ = writeln!(o, "          ! {p}");
    }
    let c = &r.clients;
    let groups = |g: &[simba_core::sources::redis_report::ClientGroup]| {
        g.iter().take(5).map(|g| format!("{} ×{}", g.key, g.count)).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(
        o,
        "clients   {} connected (max {}), {} blocked; by name: {}; by host: {}",
        c.connected_clients,
        c.maxclients,
        c.blocked_clients,
        groups(&c.by_name),
        groups(&c.by_addr)
    );
    if let Some(x) = &c.oldest {
        let _ = writeln!(o, "          oldest {} ({}) {} s; ", x.addr, x.name, x.age_seconds);
    }
    if let Some(x) = &c.idlest {
        let _ = writeln!(o, "          idlest {} ({}) idle {} s", x.addr, x.name, x.idle_seconds);
    }
    if !r.slowlog.is_empty() {
        let _ = writeln!(o, "slowlog   {:>10}  command", "µs");
        for e in r.slowlog.iter().take(10) {
            let _ =
                writeln!(o, "          {:>10}  {}  [{} {}]", e.duration_us, e.command, e.client_addr, e.client_name);
        }
    }
    for l in &r.latency {
        let _ = writeln!(o, "latency   {}: latest {} ms, max {} ms", l.event, l.latest_ms, l.max_ms);
    }
    if let Some(k) = &r.memory_by_prefix {
        let _ = writeln!(
            o,
            "by prefix db{}: {} of {} keys sampled ({}, stopped by {}), ~{} in all",
            k.db,
            k.keys_sampled,
            k.keys_in_db,
            pct(Some(k.sample_fraction)),
            k.stopped_by,
            bytes(k.estimated_total_bytes as u64)
        );
        for p in k.prefixes.iter().take(20) {
            let _ = writeln!(
                o,
                "          {:<28} ~{:>10} ± {:<10} ~{:>9.0} keys, ~{:.0} without TTL{}",
                p.prefix,
                bytes(p.estimated_bytes as u64),
                bytes(p.standard_error_bytes as u64),
                p.estimated_keys,
                p.estimated_keys_without_ttl,
                p.name.as_deref().map(|n| format!("  ({n})")).unwrap_or_default()
            );
        }
        for b in k.biggest_keys.iter().take(5) {
            let _ = writeln!(o, "          biggest {} {}", bytes(b.bytes), b.key);
        }
    }
    o
}

pub async fn db(service: &Service, args: DbArgs) -> anyhow::Result<ExitCode> {
    let url = args.postgres.as_deref().map(|u| (Svc::Postgres, u));
    let profile = match profile_for(service, args.profile.as_deref(), url) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e, args.json)),
    };
    let options =
        DbReportRequest { profile: None, top: Some(args.top), long_query_seconds: Some(args.long_query_seconds) }
            .options();
    match service.db_report_of(&profile, options).await {
        Ok(r) if args.json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => print!("{}", db_text(&r)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn db_text(r: &DbReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "postgres {} db {} as {}{}   at {}",
        r.version,
        r.database,
        r.user,
        if r.superuser { " (superuser)" } else { "" },
        r.collected_at
    );
    if let Some(m) = &r.server_memory {
        let _ = writeln!(o, "memory    {} ({})", bytes(m.bytes), m.source);
    }
    let settings: Vec<String> = r.settings.iter().map(|s| format!("{}={}", s.name, s.value)).collect();
    let _ = writeln!(o, "settings  {}", settings.join("  "));
    let c = &r.connections;
    let states: Vec<String> = c.by_state.iter().map(|s| format!("{} {}", s.count, s.state)).collect();
    let _ = writeln!(
        o,
        "sessions  {} of max {} ({}): {}{}",
        c.total,
        c.max_connections,
        pct(Some(c.used_of_max)),
        states.join(", "),
        c.oldest_idle_in_transaction_seconds
            .map(|s| format!("; oldest idle in transaction {s:.0} s"))
            .unwrap_or_default()
    );
    for s in &r.long_running {
        let _ = writeln!(
            o,
            "long      pid {} {:.0} s: {}",
            s.pid,
            s.seconds.unwrap_or(0.0),
            s.query.as_deref().unwrap_or("")
        );
    }
    for s in &r.blocked {
        let _ = writeln!(o, "blocked   pid {} by {:?}: {}", s.pid, s.blocked_by, s.query.as_deref().unwrap_or(""));
    }
    for p in [&r.settings_problem, &r.statements_problem, &r.sessions_problem, &r.tables_problem, &r.vector_problem]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(o, "          ! {p}");
    }
    if let Some(st) = &r.statements {
        let _ = writeln!(o, "statements (since {}), by mean:", st.stats_reset.as_deref().unwrap_or("?"));
        let _ = writeln!(o, "          {:>10} {:>10} {:>12} {:>7}  query", "calls", "mean ms", "total ms", "hit");
        for s in &st.by_mean {
            let q: String = s.query.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(80).collect();
            let _ = writeln!(
                o,
                "          {:>10} {:>10.2} {:>12.1} {:>7}  {}",
                s.calls,
                s.mean_ms,
                s.total_ms,
                pct(s.shared_hit_ratio),
                q
            );
        }
    }
    for t in r.tables.iter().take(15) {
        let _ = writeln!(
            o,
            "table     {}.{}: {}, {} rows, {} dead, {} seq / {} index scans",
            t.schema,
            t.name,
            bytes(t.total_bytes.max(0) as u64),
            t.rows,
            t.dead_rows,
            t.seq_scan,
            t.idx_scan.unwrap_or(0)
        );
    }
    for i in &r.unused_indexes {
        let _ = writeln!(o, "unused    {}.{} ({}): {}", i.schema, i.name, bytes(i.bytes.max(0) as u64), i.definition);
    }
    for d in &r.duplicate_indexes {
        let names: Vec<&str> = d.indexes.iter().map(|i| i.name.as_str()).collect();
        let _ = writeln!(o, "duplicate {}.{}: {} share {}", d.schema, d.table, names.join(", "), d.key);
    }
    if let Some(v) = &r.vector {
        let _ = writeln!(
            o,
            "pgvector  {}: ivfflat.probes {}, hnsw.ef_search {}",
            v.extension_version,
            v.ivfflat_probes.as_deref().unwrap_or("?"),
            v.hnsw_ef_search.as_deref().unwrap_or("?")
        );
        for c in &v.columns {
            let ix: Vec<String> = c.indexes.iter().map(|i| format!("{} {}", i.name, i.method)).collect();
            let _ = writeln!(
                o,
                "          {}.{}.{} {}({}) {} rows; indexes: {}",
                c.schema,
                c.table,
                c.column,
                c.type_name,
                c.dimension.map(|d| d.to_string()).unwrap_or_else(|| "?".into()),
                c.rows,
                if ix.is_empty() { "none".into() } else { ix.join(", ") }
            );
        }
    }
    o
}

pub async fn explain(service: &Service, args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let url = args.postgres.as_deref().map(|u| (Svc::Postgres, u));
    let profile = match profile_for(service, args.profile.as_deref(), url) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e, args.json)),
    };
    let timeout = std::time::Duration::from_millis(args.timeout_ms.max(1) as u64);
    match service.explain_of(&profile, &args.sql, timeout).await {
        Ok(r) if args.json => println!("{}", serde_json::to_string_pretty(&r)?),
        Ok(r) => print!("{}", explain_text(&r)),
        Err(e) => return Ok(report(&e, args.json)),
    }
    Ok(ExitCode::SUCCESS)
}

fn explain_text(r: &ExplainReport) -> String {
    fn walk(o: &mut String, n: &PlanNode, depth: usize) {
        let target = match (&n.relation, &n.index) {
            (Some(rel), Some(ix)) => format!(" on {rel} using {ix}"),
            (Some(rel), None) => format!(" on {rel}"),
            (None, Some(ix)) => format!(" using {ix}"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            o,
            "{}{}{}  ({:.3} ms total, {:.3} ms self; rows {} of {} planned, {} loops; buffers hit {} read {}){}",
            "  ".repeat(depth),
            if depth > 0 { "-> " } else { "" },
            format_args!("{}{target}", n.node_type),
            n.total_ms,
            n.self_ms,
            n.actual_rows,
            n.plan_rows,
            n.loops,
            n.shared_hit_blocks,
            n.shared_read_blocks,
            if n.slowest { "   <- slowest" } else { "" }
        );
        for d in &n.details {
            let _ = writeln!(o, "{}     {d}", "  ".repeat(depth));
        }
        for c in &n.children {
            walk(o, c, depth + 1);
        }
    }
    let mut o = String::new();
    let _ = writeln!(o, "planning {:.3} ms, execution {:.3} ms (rolled back)", r.planning_ms, r.execution_ms);
    walk(&mut o, &r.plan, 0);
    o
}
