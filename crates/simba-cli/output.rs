//! Human-readable text for the terminal. JSON output is the serialised answer itself.

use simba_core::api::StatusReport;
use simba_core::profiles::ProfileView;
use simba_core::sources::SourceStatus;
use std::fmt::Write;

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

pub fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "–".into())
}

pub fn status_text(r: &StatusReport) -> String {
    let mut o = String::new();
    let _ =
        writeln!(o, "profile {}{}   at {}", r.profile, if r.read_only { " (read-only)" } else { "" }, r.collected_at);
    let h = &r.host;
    let _ = writeln!(
        o,
        "host      cpu {:.1}% of {} cores, load {:.2}; memory {} / {} used",
        h.cpu_percent,
        h.cpu_count,
        h.load_average_1m,
        bytes(h.memory_used_bytes),
        bytes(h.memory_total_bytes)
    );
    let e = &r.engine;
    let _ = writeln!(
        o,
        "engine    {} ({}), {} entries in {} namespaces, hit rate {}",
        e.embedding_model,
        if e.embedding_model_ready { "ready" } else { "not ready" },
        e.entries,
        e.namespaces,
        pct(e.hit_rate)
    );
    if let Some(p) = &e.embedding_model_problem {
        let _ = writeln!(o, "          ! {p}");
    }
    match &r.redis {
        SourceStatus::Ok { data: d } => {
            let _ = writeln!(
                o,
                "redis     {} {}: memory {} / {} ({}), hit rate {} lifetime, {} interval; {} keys, {} evicted, {} expired",
                d.version,
                d.role,
                bytes(d.used_memory_bytes),
                if d.maxmemory_bytes == 0 { "no limit".into() } else { bytes(d.maxmemory_bytes) },
                d.maxmemory_policy,
                pct(d.hit_rate_lifetime),
                pct(d.hit_rate_interval),
                d.keys_total,
                d.evicted_keys,
                d.expired_keys
            );
        }
        SourceStatus::Error { error } => {
            let _ = writeln!(o, "redis     error: {}", error.message);
        }
        SourceStatus::NotConfigured => {
            let _ = writeln!(o, "redis     not configured");
        }
    }
    match &r.postgres {
        SourceStatus::Ok { data: d } => {
            let _ = writeln!(
                o,
                "postgres  {} db {}: {} / {} connections, cache hit {}, size {}",
                d.version,
                d.database,
                d.connections,
                d.max_connections,
                pct(d.cache_hit_ratio),
                bytes(d.database_size_bytes.max(0) as u64)
            );
            if let Some(why) = &d.statements_unavailable {
                let _ = writeln!(o, "          ! {why}");
            }
            if !d.top_statements.is_empty() {
                let _ = writeln!(
                    o,
                    "          {:>10} {:>10} {:>10} {:>12}  query",
                    "calls", "mean ms", "plan ms", "total ms"
                );
                for s in &d.top_statements {
                    let q: String = s.query.split_whitespace().collect::<Vec<_>>().join(" ");
                    let q: String = q.chars().take(80).collect();
                    let _ = writeln!(
                        o,
                        "          {:>10} {:>10.2} {:>10.2} {:>12.1}  {}",
                        s.calls, s.mean_exec_ms, s.mean_plan_ms, s.total_ms, q
                    );
                }
            }
        }
        SourceStatus::Error { error } => {
            let _ = writeln!(o, "postgres  error: {}", error.message);
        }
        SourceStatus::NotConfigured => {
            let _ = writeln!(o, "postgres  not configured");
        }
    }
    o
}

pub fn profiles_text(list: &[ProfileView]) -> String {
    let mut o = String::new();
    for p in list {
        let _ = writeln!(o, "{} [{}]{}", p.name, p.origin, if p.read_only { " read-only" } else { "" });
        for e in &p.endpoints {
            let _ = writeln!(o, "  {:<14} {}", format!("{:?}", e.service).to_lowercase(), e.url);
        }
    }
    o
}

pub fn eval_text(r: &simba_core::engine::eval::EvalReport) -> String {
    use simba_core::engine::eval::ServeCounts;
    let line = |name: &str, c: &ServeCounts| {
        format!(
            "{:<18} {:>5}/{:<5} {:>7}   {:>4}/{:<4} {:>7} [{}]   {:>7}\n",
            name,
            c.same_served,
            c.same_total,
            pct(c.same_served_rate),
            c.different_served,
            c.different_total,
            pct(c.false_hit_rate),
            c.false_hit_ci95.map(|(a, b)| format!("{:.1}–{:.1}%", a * 100.0, b * 100.0)).unwrap_or_else(|| "–".into()),
            pct(c.precision)
        )
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} pairs, model {}, threshold {:.2}, candidate checks {}, judge {}",
        r.pairs,
        r.model,
        r.threshold,
        if r.verify_candidates { "on" } else { "off" },
        match (r.judge_min_score, r.judge_floor) {
            (Some(s), Some(f)) => format!("on (score ≥ {s:.3}, reads down to similarity {f:.2})"),
            _ => "off".into(),
        }
    );
    if let Some(p) = &r.judge_problem {
        let _ = writeln!(o, "warning: the judge could not load, the checks decided alone: {p}");
    }
    let _ = writeln!(
        o,
        "{:<18} {:>11} {:>7}   {:>9} {:>7} {:<15}   {:>7}",
        "", "same served", "", "false hits", "", "(95% CI)", "precision"
    );
    o.push_str(&line("overall", &r.overall));
    for (cat, c) in &r.by_category {
        o.push_str(&line(cat, c));
    }
    let _ = writeln!(o, "\nthreshold sweep (checks and judge | raw cosine): same served / false hits");
    for p in r.sweep.iter().step_by(5) {
        let _ = writeln!(
            o,
            "  {:.2}   {:>7} / {:>7}   |   {:>7} / {:>7}",
            p.threshold,
            pct(p.verified.same_served_rate),
            pct(p.verified.false_hit_rate),
            pct(p.raw.same_served_rate),
            pct(p.raw.false_hit_rate)
        );
    }
    match r.suggested_threshold {
        Some(t) => {
            let _ = writeln!(o, "lowest threshold with at most 2% false hits (verified): {t:.2}");
        }
        None => {
            let _ = writeln!(o, "no threshold in 0.50–1.00 keeps false hits at or below 2%");
        }
    }
    o
}
