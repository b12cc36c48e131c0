//! PostgreSQL rules, read from `DbReport` (pg_settings, pg_stat_statements, pg_stat_activity,
//! pg_stat_user_tables/indexes, the pgvector catalog).

use super::redis::try_check;
use super::{found, Check, Inputs, Rule};
use crate::advisor::thresholds::{ThresholdDef, Thresholds};
use crate::advisor::{human_bytes, pg_size_mb, Evidence, Fix, Severity};
use crate::sources::postgres_report::{DbReport, DbSetting};

fn db<'a>(i: &Inputs<'a>) -> Result<&'a DbReport, Check> {
    i.db.ok_or_else(|| Check::NotEnoughData("no PostgreSQL report (none in the profile, or it did not answer)".into()))
}

fn setting<'a>(d: &'a DbReport, name: &str) -> Result<&'a DbSetting, Check> {
    d.settings.iter().find(|s| s.name == name).ok_or_else(|| {
        Check::NotEnoughData(d.settings_problem.clone().unwrap_or_else(|| format!("the setting {name} was not read")))
    })
}

/// The server's memory as the profile gives it (0: unset), for a server this app cannot read.
const SERVER_MEMORY: ThresholdDef = ThresholdDef {
    name: "pg.server_memory_bytes",
    default: 0.0,
    unit: "bytes (0: read from the server's process when it runs on this machine)",
};

/// The memory PGTune's formulas start from (see [`super::server_memory`]).
fn ram(d: &DbReport, t: &Thresholds) -> Result<(u64, String), Check> {
    super::server_memory(t, &SERVER_MEMORY, d.server_memory.as_ref()).ok_or_else(|| {
        Check::NotEnoughData(
            "the server is not on this machine: its memory is unknown, so PGTune has no input (set \
             pg.server_memory_bytes for this profile in advisor.toml)"
                .into(),
        )
    })
}

fn alter_system(name: &str, value: &str) -> Fix {
    Fix::action(
        "pg.alter_system",
        &[("name", name), ("value", value)],
        format!("ALTER SYSTEM SET {name} = '{value}'; SELECT pg_reload_conf()"),
    )
}

pub const STAT_STATEMENTS_MISSING: Rule = Rule {
    id: "pg.stat_statements_missing",
    title: "pg_stat_statements missing or not preloaded",
    reads: "pg_extension, shared_preload_libraries, pg_stat_statements",
    thresholds: &[],
    source: "PgHero and pganalyze both need pg_stat_statements for query statistics; PostgreSQL docs F.30",
    check: |rule, i, _| {
        let d = try_check!(db(i));
        let Some(problem) = &d.statements_problem else { return Check::Ok };
        found(vec![rule.finding(
            None,
            Severity::Warning,
            "No statement statistics (pg_stat_statements)",
            vec![Evidence::new("pg_stat_statements", problem, None)],
            "Without it no tool can tell which statements cost the most time.",
            if problem.starts_with(crate::sources::postgres_report::STATEMENTS_NOT_INSTALLED) {
                Fix::action(
                    "pg.create_extension",
                    &[("name", "pg_stat_statements")],
                    "CREATE EXTENSION pg_stat_statements in this database",
                )
            } else {
                Fix::advice(problem.clone())
            },
        )])
    },
};

pub const SLOW_LOG_OFF: Rule = Rule {
    id: "pg.slow_log_off",
    title: "Slow statements are not logged",
    reads: "log_min_duration_statement",
    thresholds: &[ThresholdDef { name: "pg.slow_log_off.log_ms", default: 1000.0, unit: "ms" }],
    source: "PostgreSQL docs 'log_min_duration_statement'; pganalyze log insights (1000 ms as the spec sets)",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        let s = try_check!(setting(d, "log_min_duration_statement"));
        if s.setting != "-1" {
            return Check::Ok;
        }
        let ms = format!("{}", rule.threshold(t, "log_ms") as i64);
        found(vec![rule.finding(
            None,
            Severity::Info,
            "log_min_duration_statement is off",
            vec![Evidence::new("log_min_duration_statement", &s.value, None)],
            "Slow statements leave no trace in the server log, so an incident cannot be traced afterwards.",
            alter_system("log_min_duration_statement", &ms),
        )])
    },
};

pub const LOG_STATEMENT_ALL: Rule = Rule {
    id: "pg.log_statement_all",
    title: "log_statement = 'all'",
    reads: "log_statement, log_min_duration_statement",
    thresholds: &[],
    source: "KNOWN-TRAPS.md #5; PostgreSQL docs 'log_statement' ('all' logs every statement whatever its duration)",
    check: |rule, i, _| {
        let d = try_check!(db(i));
        let s = try_check!(setting(d, "log_statement"));
        if s.setting != "all" {
            return Check::Ok;
        }
        let lmds = setting(d, "log_min_duration_statement").map(|s| s.value.clone()).unwrap_or_default();
        found(vec![rule.finding(
            None,
            Severity::Warning,
            "Every statement is logged (log_statement = 'all')",
            vec![Evidence::new("log_statement", "all", None), Evidence::new("log_min_duration_statement", lmds, None)],
            "'all' logs every statement whatever its duration: it defeats log_min_duration_statement and floods the log.",
            alter_system("log_statement", "ddl"),
        )])
    },
};

pub const MEMORY_SETTINGS: Rule = Rule {
    id: "pg.memory_settings",
    title: "Memory settings far from the server's RAM",
    reads: "shared_buffers, effective_cache_size, maintenance_work_mem, the server's memory (local servers)",
    thresholds: &[
        ThresholdDef { name: "pg.memory_settings.tolerance", default: 1.25, unit: "factor off the target" },
        SERVER_MEMORY,
    ],
    source: "PGTune (web profile): shared_buffers = RAM/4, effective_cache_size = RAM*3/4, \
             maintenance_work_mem = RAM/16 (at most 2 GB); KNOWN-TRAPS.md #1",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        let (ram, ram_source) = try_check!(ram(d, t));
        let tolerance = rule.threshold(t, "tolerance").max(1.0);
        let targets = [
            ("shared_buffers", ram as f64 / 4.0, "RAM/4"),
            ("effective_cache_size", ram as f64 * 3.0 / 4.0, "RAM*3/4"),
            ("maintenance_work_mem", (ram as f64 / 16.0).min(2.0 * 1024.0 * 1024.0 * 1024.0), "RAM/16, at most 2 GB"),
        ];
        let mut findings = vec![];
        for (name, target, formula) in targets {
            let Some(bytes) = d.settings.iter().find(|s| s.name == name).and_then(|s| s.bytes) else { continue };
            let ratio = bytes as f64 / target;
            if ratio <= tolerance && ratio >= 1.0 / tolerance {
                continue;
            }
            let severity = if ratio > tolerance { Severity::Warning } else { Severity::Info };
            findings.push(rule.finding(
                Some(name),
                severity,
                format!("{name} is {} where PGTune gives {}", human_bytes(bytes as f64), human_bytes(target)),
                vec![
                    Evidence::new(name, human_bytes(bytes as f64), None),
                    Evidence::new("server memory", human_bytes(ram as f64), Some(&ram_source)),
                    Evidence::new("PGTune target", human_bytes(target), Some(formula)),
                ],
                if ratio > tolerance {
                    "Set above what the server has, PostgreSQL plans for memory it cannot get (or runs out of it)."
                } else {
                    "Set far below the server's memory, PostgreSQL reads from disk what could stay cached."
                },
                alter_system(name, &pg_size_mb(target)),
            ));
        }
        found(findings)
    },
};

pub const WORK_MEM_OVERCOMMIT: Rule = Rule {
    id: "pg.work_mem_overcommit",
    title: "work_mem × max_connections above RAM",
    reads: "work_mem, max_connections, shared_buffers, the server's memory",
    thresholds: &[SERVER_MEMORY],
    source: "PGTune (web profile): work_mem = (RAM - shared_buffers) / (3 * max_connections)",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        let (ram, ram_source) = try_check!(ram(d, t));
        let (Some(work_mem), Ok(max_conn), Some(shared)) = (
            d.settings.iter().find(|s| s.name == "work_mem").and_then(|s| s.bytes),
            setting(d, "max_connections").map(|s| s.setting.parse::<f64>().unwrap_or(100.0)),
            d.settings.iter().find(|s| s.name == "shared_buffers").and_then(|s| s.bytes),
        ) else {
            return Check::NotEnoughData("work_mem, max_connections or shared_buffers was not read".into());
        };
        if work_mem as f64 * max_conn <= ram as f64 {
            return Check::Ok;
        }
        let target = ((ram as f64 - shared as f64) / (3.0 * max_conn)).max(64.0 * 1024.0);
        let value = format!("{}kB", (target / 1024.0).floor() as u64);
        found(vec![rule.finding(
            None,
            Severity::Warning,
            "work_mem can exhaust the server's memory",
            vec![
                Evidence::new("work_mem", human_bytes(work_mem as f64), None),
                Evidence::new("max_connections", max_conn, None),
                Evidence::new("server memory", human_bytes(ram as f64), Some(&ram_source)),
            ],
            "Each sort or hash of each connection may use work_mem: together they can exceed RAM and hit the OOM killer.",
            alter_system("work_mem", &value),
        )])
    },
};

pub const CONNECTIONS_NEAR_MAX: Rule = Rule {
    id: "pg.connections_near_max",
    title: "Connections near max_connections",
    reads: "pg_stat_activity client backends, max_connections",
    thresholds: &[ThresholdDef { name: "pg.connections_near_max.share", default: 0.8, unit: "used / max" }],
    source: "PgHero (connections check); PostgreSQL docs 'max_connections'",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        if let Some(p) = &d.sessions_problem {
            return Check::NotEnoughData(p.clone());
        }
        let share = d.connections.used_of_max;
        let limit = rule.threshold(t, "share");
        if share < limit {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Warning,
            format!("{:.0}% of max_connections in use", share * 100.0),
            vec![
                Evidence::new("connections", d.connections.total + 1, None),
                Evidence::new("max_connections", d.connections.max_connections, None),
            ],
            "At the limit new connections are refused; the application sees errors, not slowness.",
            Fix::advice("put a pooler (PgBouncer) in front or shrink the application's pools; raising max_connections costs memory per connection"),
        )])
    },
};

pub const IDLE_IN_TRANSACTION: Rule = Rule {
    id: "pg.idle_in_transaction",
    title: "Sessions idle in transaction",
    reads: "pg_stat_activity state, state_change",
    thresholds: &[ThresholdDef { name: "pg.idle_in_transaction.seconds", default: 60.0, unit: "s" }],
    source: "PgHero (idle-in-transaction queries); PostgreSQL docs 'idle_in_transaction_session_timeout'",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        if let Some(p) = &d.sessions_problem {
            return Check::NotEnoughData(p.clone());
        }
        let limit = rule.threshold(t, "seconds");
        let oldest = d.connections.oldest_idle_in_transaction_seconds.unwrap_or(0.0);
        if d.connections.idle_in_transaction == 0 || oldest < limit {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Warning,
            format!(
                "{} session(s) idle in transaction, the oldest for {oldest:.0} s",
                d.connections.idle_in_transaction
            ),
            vec![
                Evidence::new("idle in transaction", d.connections.idle_in_transaction, Some("sessions")),
                Evidence::new("oldest", format!("{oldest:.0}"), Some("s")),
            ],
            "An open transaction holds its locks and stops VACUUM from removing dead rows.",
            alter_system("idle_in_transaction_session_timeout", "10min"),
        )])
    },
};

pub const SLOW_STATEMENTS: Rule = Rule {
    id: "pg.slow_statements",
    title: "Slow statements",
    reads: "pg_stat_statements calls, planning + execution time",
    thresholds: &[
        ThresholdDef { name: "pg.slow_statements.min_calls", default: 100.0, unit: "calls" },
        ThresholdDef { name: "pg.slow_statements.mean_ms", default: 20.0, unit: "ms (planning + execution)" },
    ],
    source: "PgHero slow queries (>= 100 calls and >= 20 ms mean); KNOWN-TRAPS.md #7",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        let Some(s) = &d.statements else {
            return Check::NotEnoughData(d.statements_problem.clone().unwrap_or_else(|| "no statements".into()));
        };
        let (min_calls, mean_ms) = (rule.threshold(t, "min_calls"), rule.threshold(t, "mean_ms"));
        let findings = s
            .by_mean
            .iter()
            .filter(|st| st.calls as f64 >= min_calls && st.mean_ms >= mean_ms)
            .take(5)
            .map(|st| {
                rule.finding(
                    Some(&st.queryid),
                    Severity::Warning,
                    format!("{:.1} ms per call over {} calls", st.mean_ms, st.calls),
                    vec![
                        Evidence::new("query", &st.query, None),
                        Evidence::new("calls", st.calls, None),
                        Evidence::new("mean", format!("{:.2}", st.mean_ms), Some("ms (plan + exec)")),
                        Evidence::new("total", format!("{:.0}", st.total_ms), Some("ms")),
                    ],
                    "A statement both frequent and slow is where time goes; its plan shows why.",
                    Fix::advice("see its plan with `simba-tuner explain` and add the index or rewrite it suggests"),
                )
            })
            .collect();
        found(findings)
    },
};

pub const SEQ_SCANS: Rule = Rule {
    id: "pg.seq_scans",
    title: "Heavy sequential scans on large tables",
    reads: "pg_stat_user_tables seq_scan, idx_scan, n_live_tup",
    thresholds: &[
        ThresholdDef { name: "pg.seq_scans.min_rows", default: 10_000.0, unit: "rows" },
        ThresholdDef { name: "pg.seq_scans.index_share", default: 0.95, unit: "idx_scan / all scans" },
    ],
    source: "PgHero (index used < 95% of the time on tables >= 10,000 rows); KNOWN-TRAPS.md #6 \
             (not the n_distinct/correlation heuristic)",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        if let Some(p) = &d.tables_problem {
            return Check::NotEnoughData(p.clone());
        }
        let (min_rows, share) = (rule.threshold(t, "min_rows"), rule.threshold(t, "index_share"));
        let findings = d
            .tables
            .iter()
            .filter(|tb| tb.rows as f64 >= min_rows && tb.seq_scan > 0)
            .filter_map(|tb| {
                let idx = tb.idx_scan.unwrap_or(0);
                let used = idx as f64 / (idx + tb.seq_scan) as f64;
                (used < share).then(|| {
                    rule.finding(
                        Some(&format!("{}.{}", tb.schema, tb.name)),
                        Severity::Warning,
                        format!("{}.{} is read by index only {:.0}% of the time", tb.schema, tb.name, used * 100.0),
                        vec![
                            Evidence::new("rows", tb.rows, None),
                            Evidence::new("seq_scan", tb.seq_scan, None),
                            Evidence::new("idx_scan", idx, None),
                            Evidence::new("rows read by seq scans", tb.seq_tup_read, None),
                        ],
                        "Each sequential scan of a large table reads all of it; an index would read a few pages.",
                        Fix::advice(
                            "find the statements that scan it (slow statements, `simba-tuner explain`) and index the \
                             columns they filter on",
                        ),
                    )
                })
            })
            .collect();
        found(findings)
    },
};

pub const STALE_STATISTICS: Rule = Rule {
    id: "pg.stale_statistics",
    title: "Planner statistics left behind by the changes to a table",
    reads: "pg_stat_user_tables n_mod_since_analyze, n_live_tup, last (auto)analyze; autovacuum_analyze_threshold \
            and _scale_factor",
    thresholds: &[
        ThresholdDef { name: "pg.stale_statistics.min_rows", default: 10_000.0, unit: "rows" },
        ThresholdDef { name: "pg.stale_statistics.factor", default: 2.0, unit: "× autovacuum's analyze trigger" },
    ],
    source: "PostgreSQL docs 'The Autovacuum Daemon' (analyze after threshold + scale_factor × rows changes); \
             pganalyze's VACUUM advisor",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        if let Some(p) = &d.tables_problem {
            return Check::NotEnoughData(p.clone());
        }
        let number = |name: &str, default: f64| {
            d.settings.iter().find(|s| s.name == name).and_then(|s| s.setting.parse::<f64>().ok()).unwrap_or(default)
        };
        let (base, scale) =
            (number("autovacuum_analyze_threshold", 50.0), number("autovacuum_analyze_scale_factor", 0.1));
        let (min_rows, factor) = (rule.threshold(t, "min_rows"), rule.threshold(t, "factor"));
        let findings = d
            .tables
            .iter()
            .filter(|tb| tb.rows as f64 >= min_rows)
            .filter_map(|tb| {
                let trigger = base + scale * tb.rows as f64;
                (tb.mod_since_analyze as f64 > factor * trigger).then(|| {
                    let table = format!("{}.{}", tb.schema, tb.name);
                    let last = tb.last_analyze.iter().chain(&tb.last_autoanalyze).max().cloned();
                    rule.finding(
                        Some(&table),
                        Severity::Warning,
                        format!("{table}: {} rows changed since it was last analyzed", tb.mod_since_analyze),
                        vec![
                            Evidence::new("rows changed since analyze", tb.mod_since_analyze, None),
                            Evidence::new("rows", tb.rows, None),
                            Evidence::new("autovacuum analyzes after", format!("{trigger:.0}"), Some("changes")),
                            Evidence::new("last analyze", last.unwrap_or_else(|| "never".into()), None),
                        ],
                        "The planner estimates from statistics that no longer describe the table: plans pick the wrong \
                         join or scan. Autovacuum is not keeping up (or is off for this table).",
                        Fix::action("pg.analyze", &[("table", &table)], format!("ANALYZE {table}")),
                    )
                })
            })
            .collect();
        found(findings)
    },
};

pub const UNUSED_INDEX: Rule = Rule {
    id: "pg.unused_index",
    title: "Unused indexes",
    reads: "pg_stat_user_indexes idx_scan, pg_index (unique, constraints), pg_relation_size",
    thresholds: &[ThresholdDef { name: "pg.unused_index.min_bytes", default: 10_485_760.0, unit: "bytes" }],
    source: "PgHero unused indexes (0 scans, not unique, >= 10 MB)",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        if let Some(p) = &d.tables_problem {
            return Check::NotEnoughData(p.clone());
        }
        let min = rule.threshold(t, "min_bytes");
        let findings = d
            .unused_indexes
            .iter()
            .filter(|ix| ix.bytes as f64 >= min)
            .map(|ix| {
                let qualified = format!("{}.{}", ix.schema, ix.name);
                rule.finding(
                    Some(&qualified),
                    Severity::Info,
                    format!("Index {qualified} was never scanned"),
                    vec![
                        Evidence::new("scans", 0, Some("since the statistics were reset")),
                        Evidence::new("size", human_bytes(ix.bytes as f64), None),
                        Evidence::new("definition", &ix.definition, None),
                    ],
                    "An index nobody reads still slows every write to its table and takes disk and cache.",
                    Fix::action(
                        "pg.drop_index",
                        &[("index", &qualified)],
                        format!("DROP INDEX CONCURRENTLY {qualified} (rollback recreates it from its definition)"),
                    ),
                )
            })
            .collect();
        found(findings)
    },
};

pub const DUPLICATE_INDEX: Rule = Rule {
    id: "pg.duplicate_index",
    title: "Duplicate indexes",
    reads: "pg_index (method, columns, expression, predicate)",
    thresholds: &[],
    source: "PgHero duplicate indexes",
    check: |rule, i, _| {
        let d = try_check!(db(i));
        if let Some(p) = &d.tables_problem {
            return Check::NotEnoughData(p.clone());
        }
        let findings = d
            .duplicate_indexes
            .iter()
            .map(|g| {
                // Drop one that enforces nothing, the least scanned; keep the rest.
                let droppable = g
                    .indexes
                    .iter()
                    .filter_map(|r| {
                        let stat = d.indexes.iter().find(|s| s.schema == r.schema && s.name == r.name);
                        match stat {
                            Some(s) if s.unique || s.primary => None,
                            Some(s) => Some((s.scans, r)),
                            None => Some((0, r)),
                        }
                    })
                    .min_by_key(|(scans, r)| (*scans, std::cmp::Reverse(r.name.clone())));
                let names: Vec<String> = g.indexes.iter().map(|r| r.name.clone()).collect();
                let fix = match droppable {
                    Some((_, r)) => {
                        let qualified = format!("{}.{}", r.schema, r.name);
                        Fix::action(
                            "pg.drop_index",
                            &[("index", &qualified)],
                            format!("DROP INDEX CONCURRENTLY {qualified}, keeping the others"),
                        )
                    }
                    None => Fix::advice("every copy enforces a constraint: drop the constraint's duplicate by hand"),
                };
                rule.finding(
                    Some(&format!("{}.{}", g.schema, names.join("+"))),
                    Severity::Warning,
                    format!("{} indexes on {}.{} with the same key", g.indexes.len(), g.schema, g.table),
                    vec![
                        Evidence::new("indexes", names.join(", "), None),
                        Evidence::new("shared key", &g.key, None),
                        Evidence::new(
                            "size",
                            human_bytes(g.indexes.iter().map(|r| r.bytes as f64).sum()),
                            Some("together"),
                        ),
                    ],
                    "Two indexes with the same key double the write cost for the same reads.",
                    fix,
                )
            })
            .collect();
        found(findings)
    },
};

pub const VECTOR_WITHOUT_INDEX: Rule = Rule {
    id: "pg.vector_without_index",
    title: "Vector columns without an approximate index",
    reads: "pgvector columns (pg_attribute), their ivfflat/hnsw indexes, n_live_tup",
    thresholds: &[ThresholdDef { name: "pg.vector_without_index.min_rows", default: 10_000.0, unit: "rows" }],
    source: "pgvector README ('By default, pgvector performs exact nearest neighbor search'; HNSW: better \
             speed-recall trade-off than IVFFlat and needs no training data)",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        let Some(v) = &d.vector else {
            return Check::NotEnoughData(d.vector_problem.clone().unwrap_or_else(|| "no pgvector report".into()));
        };
        let min_rows = rule.threshold(t, "min_rows");
        let findings = v
            .columns
            .iter()
            .filter(|c| !c.indexes.iter().any(|ix| ix.method == "ivfflat" || ix.method == "hnsw"))
            .filter(|c| c.rows as f64 >= min_rows)
            .map(|c| {
                let qualified = format!("{}.{}.{}", c.schema, c.table, c.column);
                let table = format!("{}.{}", c.schema, c.table);
                let ops = format!("{}_cosine_ops", c.type_name);
                let fix = match c.dimension {
                    Some(_) => Fix::action(
                        "pg.create_vector_index",
                        &[("table", &table), ("column", &c.column), ("ops", &ops)],
                        format!(
                            "CREATE INDEX CONCURRENTLY … USING hnsw ({} {ops}); use the _l2_ops or _ip_ops class \
                             instead when the queries order by <-> or <#>",
                            c.column
                        ),
                    ),
                    None => Fix::advice("the column has no fixed dimension: give it one (vector(N)) before indexing"),
                };
                rule.finding(
                    Some(&qualified),
                    Severity::Warning,
                    format!("{qualified} has no approximate index: every search scans the table"),
                    vec![
                        Evidence::new("rows", c.rows, None),
                        Evidence::new("type", format!("{}({})", c.type_name, c.dimension.unwrap_or(0)), None),
                        Evidence::new("approximate indexes", 0, None),
                    ],
                    "Without HNSW or IVFFlat a nearest-neighbour query compares the query with every row.",
                    fix,
                )
            })
            .collect();
        found(findings)
    },
};

/// pgvector's advice for IVFFlat `lists`: rows/1000 up to 1M rows, sqrt(rows) beyond.
pub fn ivfflat_lists_for(rows: i64) -> i64 {
    if rows <= 1_000_000 {
        (rows / 1000).max(1)
    } else {
        (rows as f64).sqrt().round() as i64
    }
}

pub const IVFFLAT_LISTS: Rule = Rule {
    id: "pg.ivfflat_lists",
    title: "IVFFlat lists not matched to the row count",
    reads: "ivfflat index reloptions (lists), n_live_tup",
    thresholds: &[
        ThresholdDef { name: "pg.ivfflat_lists.min_rows", default: 10_000.0, unit: "rows" },
        ThresholdDef { name: "pg.ivfflat_lists.tolerance", default: 2.0, unit: "factor off rows/1000 or sqrt(rows)" },
    ],
    source: "pgvector README (lists = rows/1000 up to 1M rows, sqrt(rows) beyond); KNOWN-TRAPS.md #8",
    check: |rule, i, t| {
        let d = try_check!(db(i));
        let Some(v) = &d.vector else {
            return Check::NotEnoughData(d.vector_problem.clone().unwrap_or_else(|| "no pgvector report".into()));
        };
        let (min_rows, tolerance) = (rule.threshold(t, "min_rows"), rule.threshold(t, "tolerance").max(1.0));
        let mut findings = vec![];
        for c in v.columns.iter().filter(|c| c.rows as f64 >= min_rows) {
            for ix in c.indexes.iter().filter(|ix| ix.method == "ivfflat") {
                let lists = ix.lists.unwrap_or(100) as f64;
                let target = ivfflat_lists_for(c.rows);
                let ratio = lists / target as f64;
                if ratio <= tolerance && ratio >= 1.0 / tolerance {
                    continue;
                }
                findings.push(rule.finding(
                    Some(&format!("{}.{}", c.schema, ix.name)),
                    Severity::Warning,
                    format!("{} has lists = {lists} where {} rows want {target}", ix.name, c.rows),
                    vec![
                        Evidence::new("lists", lists, None),
                        Evidence::new("rows", c.rows, None),
                        Evidence::new("pgvector's lists", target, Some("rows/1000 up to 1M rows, sqrt(rows) beyond")),
                    ],
                    "Too few lists make each probe scan a large share of the table; too many lose recall.",
                    Fix::advice(format!(
                        "build a new index CONCURRENTLY WITH (lists = {target}), then drop {} (or switch to hnsw)",
                        ix.name
                    )),
                ));
            }
        }
        found(findings)
    },
};

pub const IVFFLAT_PROBES: Rule = Rule {
    id: "pg.ivfflat_probes",
    title: "ivfflat.probes too low",
    reads: "ivfflat.probes, ivfflat index lists",
    thresholds: &[],
    source: "pgvector README (probes: start at sqrt(lists)); KNOWN-TRAPS.md #8 (the spec sets no probes)",
    check: |rule, i, _| {
        let d = try_check!(db(i));
        let Some(v) = &d.vector else {
            return Check::NotEnoughData(d.vector_problem.clone().unwrap_or_else(|| "no pgvector report".into()));
        };
        let probes: f64 = v.ivfflat_probes.as_deref().and_then(|p| p.parse().ok()).unwrap_or(1.0);
        let mut findings = vec![];
        for c in &v.columns {
            for ix in c.indexes.iter().filter(|ix| ix.method == "ivfflat") {
                let want = (ix.lists.unwrap_or(100) as f64).sqrt().ceil();
                if probes >= want {
                    continue;
                }
                findings.push(rule.finding(
                    Some(&format!("{}.{}", c.schema, ix.name)),
                    Severity::Warning,
                    format!("ivfflat.probes = {probes} for {} with {} lists", ix.name, ix.lists.unwrap_or(100)),
                    vec![
                        Evidence::new("ivfflat.probes", probes, None),
                        Evidence::new("lists", ix.lists.unwrap_or(100), None),
                        Evidence::new("sqrt(lists)", want, None),
                    ],
                    "With one probe of many lists a search reads one cluster and misses most true neighbours.",
                    Fix::advice(format!(
                        "SET ivfflat.probes = {want} in the application's session (or ALTER DATABASE {} SET \
                         ivfflat.probes = {want}); measure recall against an exact search",
                        d.database
                    )),
                ));
            }
        }
        found(findings)
    },
};
